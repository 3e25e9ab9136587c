//! A frozen transformer encoder loaded from a Hugging Face checkpoint folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`), turning tokenized sentences into one vector per
//! word and layer.

pub mod frozen_states;
pub mod precision;
pub mod shared_states;
pub mod transformer;
pub mod windows;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};
use tokenizers::Tokenizer;

use super::PretrainedError;
use frozen_states::FrozenStates;
pub use precision::Precision;
use transformer::Transformer;

/// How a word's sub-words become one vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The first sub-word's vector.
    #[default]
    First,
    /// The mean over the word's sub-words.
    Mean,
    /// The first sub-word's vector and the mean side by side: twice the encoder's width.
    Both,
}

impl Pooling {
    pub const ALL: [Pooling; 3] = [Pooling::First, Pooling::Mean, Pooling::Both];

    /// As `--pooling` and a model's `config.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::First => "first",
            Pooling::Mean => "mean",
            Pooling::Both => "both",
        }
    }

    /// How many encoder-wide vectors a word's features hold side by side.
    pub fn width(self) -> i64 {
        match self {
            Pooling::First | Pooling::Mean => 1,
            Pooling::Both => 2,
        }
    }
}

impl std::fmt::Display for Pooling {
    /// As a model card names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pooling::First => "First sub-word",
            Pooling::Mean => "Mean sub-word",
            Pooling::Both => "First and mean sub-word side by side",
        })
    }
}

impl std::str::FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        (Pooling::ALL.into_iter())
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown pooling {s:?}; use first, mean or both"))
    }
}

/// A sentence as sub-words: ids without special tokens, and for each word the range of its
/// sub-words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubWords {
    pub ids: Vec<i64>,
    pub words: Vec<(usize, usize)>,
}

pub struct Encoder {
    pub name: String,
    pub dir: PathBuf,
    tokenizer: Tokenizer,
    net: Transformer,
    cls: i64,
    sep: i64,
    unk: i64,
    pad: i64,
    /// Most sub-words per window, special tokens excluded.
    window: usize,
    sentences_encoded: AtomicUsize,
    /// What identifies the checkpoint's files (see `files_identity`).
    files: String,
    /// Its weights are variables of a model being fine-tuned (see `trainable`).
    tuned: bool,
    /// The frozen bottom layers' states of training windows, when only the top ones learn.
    frozen_states: FrozenStates,
}

/// A hash of `config.json` and `tokenizer.json` and the size of the weights: what the
/// feature cache keys an encoder's files by, read once when the encoder loads.
fn files_identity(dir: &Path) -> String {
    let mut h = Sha256::new();
    for f in ["config.json", "tokenizer.json"] {
        h.update(std::fs::read(dir.join(f)).unwrap_or_default());
    }
    let weights = std::fs::metadata(dir.join("model.safetensors")).map_or(0, |m| m.len());
    let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("config+tokenizer {digest} weights {weights} bytes")
}

impl Encoder {
    /// Loads a checkpoint folder, multiplying in the precision `Precision::for_device` picks.
    pub fn load(dir: &Path, device: Device) -> Result<Encoder, PretrainedError> {
        Encoder::load_with(dir, device, Precision::for_device(device)?)
    }

    pub fn load_with(dir: &Path, device: Device, precision: Precision) -> Result<Encoder, PretrainedError> {
        let net = Transformer::load(dir, device, precision)?;
        Encoder::around(dir, net, false)
    }

    /// An encoder to fine-tune: the checkpoint's weights become variables of `p`, the top
    /// `top_layers` (all when None) trainable. Its weights stay float32; it multiplies in
    /// the precision `Precision::for_fine_tuning` picks, with gradients when asked
    /// (`encode_tuned`).
    pub fn trainable(
        dir: &Path,
        p: &tch::nn::Path,
        top_layers: Option<usize>,
    ) -> Result<Encoder, PretrainedError> {
        let precision = Precision::for_fine_tuning(p.device())?;
        let net = Transformer::load_trainable(dir, p, top_layers, precision)?;
        Encoder::around(dir, net, true)
    }

    /// A fine-tuned encoder to be filled from a model's weights: `dir` needs only
    /// `config.json` and `tokenizer.json`. It multiplies in the precision
    /// `Precision::for_tuned_model` picks for a model trained in `trained_in`.
    pub fn skeleton(
        dir: &Path,
        p: &tch::nn::Path,
        top_layers: Option<usize>,
        trained_in: Option<Precision>,
    ) -> Result<Encoder, PretrainedError> {
        let precision = Precision::for_tuned_model(p.device(), trained_in)?;
        let net = Transformer::skeleton(dir, p, top_layers, precision)?;
        Encoder::around(dir, net, true)
    }

    pub fn is_tuned(&self) -> bool {
        self.tuned
    }

    /// Fails unless it has the layers and width the model configuration `c` was built for.
    pub fn check_fits(&self, c: &crate::pretrained::inputs::ContextualInput) -> Result<(), PretrainedError> {
        if self.layers() == c.layers && self.dim() == c.dim {
            return Ok(());
        }
        Err(PretrainedError::bad(
            &self.dir,
            format!(
                "the encoder has {} layers of {}, the model configuration says {} of {}",
                self.layers(),
                self.dim(),
                c.layers,
                c.dim
            ),
        ))
    }

    /// The encoder of network `net`, with the tokenizer of `dir`.
    fn around(dir: &Path, net: Transformer, tuned: bool) -> Result<Encoder, PretrainedError> {
        let tok_path = dir.join("tokenizer.json");
        if !tok_path.exists() {
            return Err(PretrainedError::bad(
                &tok_path,
                "missing (relarc needs the fast tokenizer file)",
            ));
        }
        let mut tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| PretrainedError::bad(&tok_path, format!("unreadable tokenizer: {e}")))?;
        // Long sentences are windowed here, never truncated, and batches are padded here.
        tokenizer
            .with_truncation(None)
            .map_err(|e| PretrainedError::bad(&tok_path, e.to_string()))?;
        tokenizer.with_padding(None);
        let probe = tokenizer
            .encode(vec!["a"], true)
            .map_err(|e| PretrainedError::bad(&tok_path, e.to_string()))?;
        let (ids, special) = (probe.get_ids(), probe.get_special_tokens_mask());
        if ids.len() < 3 || special[0] != 1 || special[ids.len() - 1] != 1 {
            return Err(PretrainedError::bad(
                &tok_path,
                "its post-processor does not add a start and an end token around a sentence",
            ));
        }
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| tokenizer.token_to_id(n))
                .map(|i| i as i64)
        };
        let unk = find(&["[UNK]", "<unk>"]).unwrap_or(ids[1] as i64);
        let pad = find(&["[PAD]", "<pad>"]).unwrap_or(net.config.pad_token_id.unwrap_or(0));
        let window = (net.config.max_input() - 2).max(1) as usize;
        Ok(Encoder {
            name: dir
                .file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned()),
            dir: dir.to_path_buf(),
            cls: ids[0] as i64,
            sep: ids[ids.len() - 1] as i64,
            unk,
            pad,
            window,
            tokenizer,
            net,
            sentences_encoded: AtomicUsize::new(0),
            files: files_identity(dir),
            tuned,
            frozen_states: FrozenStates::default(),
        })
    }

    /// Number of layers the model mixes: the embedding output and every hidden layer.
    pub fn layers(&self) -> i64 {
        self.net.num_layers() as i64 + 1
    }

    pub fn dim(&self) -> i64 {
        self.net.hidden_size()
    }

    pub fn window(&self) -> usize {
        self.window
    }

    /// Uses windows of at most `window` sub-words (at most the model's own limit).
    pub fn set_window(&mut self, window: usize) {
        self.window = window.clamp(1, (self.net.config.max_input() - 2).max(1) as usize);
    }

    pub fn device(&self) -> Device {
        self.net.device()
    }

    /// Sub-words per forward pass, padding included (bounds memory). From where the weights
    /// are now, as a model's variables can move after the encoder was built.
    fn budget(&self) -> usize {
        if self.device().is_cuda() {
            32_768
        } else {
            4_096
        }
    }

    pub fn precision(&self) -> Precision {
        self.net.precision
    }

    /// A hash of the checkpoint's configuration and tokenizer and the size of its weights.
    pub fn files_identity(&self) -> &str {
        &self.files
    }

    /// Sentences run through the network so far (cache hits do not count).
    pub fn sentences_encoded(&self) -> usize {
        self.sentences_encoded.load(Ordering::Relaxed)
    }

    /// The sub-words of pre-tokenized words. A word the tokenizer turns into nothing (a
    /// control character, say) becomes the unknown token, so every word has a vector.
    pub fn subwords(&self, words: &[String]) -> Result<SubWords, PretrainedError> {
        let enc = self
            .tokenizer
            .encode(words.to_vec(), false)
            .map_err(|e| PretrainedError::bad(&self.dir, format!("tokenizer failed: {e}")))?;
        let mut per_word: Vec<Vec<i64>> = vec![Vec::new(); words.len()];
        for (&id, w) in enc.get_ids().iter().zip(enc.get_word_ids()) {
            if let Some(w) = w {
                if let Some(slot) = per_word.get_mut(*w as usize) {
                    slot.push(id as i64);
                }
            }
        }
        let mut ids = Vec::with_capacity(enc.get_ids().len());
        let mut spans = Vec::with_capacity(words.len());
        for mut w in per_word {
            if w.is_empty() {
                w.push(self.unk);
            }
            spans.push((ids.len(), ids.len() + w.len()));
            ids.extend(w);
        }
        Ok(SubWords { ids, words: spans })
    }

    /// `[B, L, S, D]` hidden states of sub-word sequences (at most a window each) with the
    /// start and end tokens added, right-padded to the longest.
    fn forward_padded(&self, seqs: &[&[i64]], train: bool) -> Tensor {
        let (ids, mask) = self.padded(seqs);
        let hidden = if !self.tuned {
            self.net.forward(&ids, &mask)
        } else if train && self.net.frozen_layers() > 0 {
            self.forward_top(seqs, &mask)
        } else {
            self.net.forward_t(&ids, &mask, train)
        };
        Tensor::stack(&hidden, 1)
    }

    /// Ids `[B, S]` with the start and end tokens, right-padded, and the mask of real tokens.
    fn padded(&self, seqs: &[&[i64]]) -> (Tensor, Tensor) {
        let (b, s) = (seqs.len(), seqs.iter().map(|q| q.len()).max().unwrap_or(0) + 2);
        let mut ids = vec![self.pad; b * s];
        let mut mask = vec![false; b * s];
        for (row, src) in seqs.iter().enumerate() {
            let dst = &mut ids[row * s..];
            dst[0] = self.cls;
            dst[1..1 + src.len()].copy_from_slice(src);
            dst[1 + src.len()] = self.sep;
            mask[row * s..row * s + src.len() + 2].fill(true);
        }
        let dev = self.device();
        let ids = Tensor::from_slice(&ids).view([b as i64, s as i64]).to(dev);
        let mask = Tensor::from_slice(&mask).view([b as i64, s as i64]).to(dev);
        (ids, mask)
    }

    /// A training step's hidden states when only the top layers learn: the frozen layers'
    /// states as kept (computed the first time a window is seen), the top layers run on them.
    fn forward_top(&self, seqs: &[&[i64]], mask: &Tensor) -> Vec<Tensor> {
        let s = mask.size()[1];
        let lower: Vec<Tensor> = self
            .frozen_states_of(seqs)
            .into_iter()
            .map(|t| t.constant_pad_nd([0, 0, 0, s - t.size()[1]]))
            .collect();
        let lower = Tensor::stack(&lower, 0); // [B, frozen + 1, S, D]
        let frozen = self.net.frozen_layers() as i64;
        let mut hidden: Vec<Tensor> = (0..=frozen).map(|l| lower.select(1, l)).collect();
        let top = self.net.forward_trained(&hidden[frozen as usize], mask, true);
        hidden.extend(top);
        hidden
    }

    /// `[frozen + 1, n + 2, D]` per window: kept ones, the others computed in one batch.
    fn frozen_states_of(&self, seqs: &[&[i64]]) -> Vec<Tensor> {
        let mut states: Vec<Option<Tensor>> = seqs.iter().map(|q| self.frozen_states.get(q)).collect();
        let missing: Vec<usize> = (0..seqs.len()).filter(|&i| states[i].is_none()).collect();
        if !missing.is_empty() {
            let todo: Vec<&[i64]> = missing.iter().map(|&i| seqs[i]).collect();
            let (ids, mask) = self.padded(&todo);
            let computed = Tensor::stack(&self.net.forward_frozen(&ids, &mask), 1);
            for (row, &i) in missing.iter().enumerate() {
                let mine = computed.get(row as i64).narrow(1, 0, seqs[i].len() as i64 + 2);
                states[i] = Some(self.frozen_states.keep(seqs[i], &mine));
            }
        }
        states.into_iter().map(|t| t.expect("kept or computed")).collect()
    }

    /// Bytes of frozen-layer states kept for training steps (see `frozen_states`).
    pub fn frozen_state_bytes(&self) -> usize {
        self.frozen_states.bytes()
    }

    /// Frees the frozen-layer states kept for training steps.
    pub fn forget_frozen_states(&self) {
        self.frozen_states.clear();
    }

    /// `[L, n + 2, D]` per input, start and end tokens included, all in one padded batch;
    /// for comparing with reference implementations. Inputs must fit in one window.
    pub fn subword_states_with_specials(&self, inputs: &[&[i64]]) -> Vec<Tensor> {
        let hidden = self.forward_padded(inputs, false);
        inputs
            .iter()
            .enumerate()
            .map(|(i, q)| hidden.get(i as i64).narrow(1, 0, q.len() as i64 + 2))
            .collect()
    }

    /// Sub-word hidden states of every layer, `[L, n, D]` for each input, long inputs windowed.
    pub fn subword_states(&self, inputs: &[&[i64]]) -> Vec<Tensor> {
        self.subword_states_t(inputs, false)
    }

    /// `subword_states`, in training mode (dropout) when `train` and the encoder is tuned.
    fn subword_states_t(&self, inputs: &[&[i64]], train: bool) -> Vec<Tensor> {
        let mut pieces = Vec::new();
        let mut plans = Vec::with_capacity(inputs.len());
        for (i, ids) in inputs.iter().enumerate() {
            let plan = windows::plan(ids.len(), self.window);
            pieces.extend(plan.iter().map(|&(start, end)| Piece { input: i, start, end }));
            plans.push(plan);
        }
        let outputs = self.run_pieces(inputs, &pieces, train);
        let mut by_input: Vec<Vec<(usize, Tensor)>> = (0..inputs.len()).map(|_| Vec::new()).collect();
        for (p, out) in pieces.iter().zip(outputs) {
            by_input[p.input].push((p.start, out));
        }
        self.sentences_encoded.fetch_add(inputs.len(), Ordering::Relaxed);
        by_input
            .into_iter()
            .zip(plans)
            .zip(inputs)
            .map(|((wins, plan), ids)| join_windows(wins, &plan, ids.len()))
            .collect()
    }

    /// Runs every window, longest first: in training as many in a padded batch as the budget
    /// allows, otherwise each alone. Returns each window's states without the start and end
    /// tokens, in `pieces` order.
    ///
    /// Alone because a padded batch's shape changes how the products are blocked, so a
    /// sentence's features would depend on the sentences beside it (MiniLM's by 1.7e-6 in
    /// float32): cached features, and every run that reads them, would then depend on what
    /// was computed before. Measured on the 2-core CPU, alone is no slower (121 s against 128
    /// s for 3,845 ADE sentences with MPNet).
    fn run_pieces(&self, inputs: &[&[i64]], pieces: &[Piece], train: bool) -> Vec<Tensor> {
        let budget = if train { self.budget() } else { 0 };
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        order.sort_by_key(|&p| std::cmp::Reverse(pieces[p].end - pieces[p].start));
        let mut outputs: Vec<Option<Tensor>> = (0..pieces.len()).map(|_| None).collect();
        let mut k = 0;
        while k < order.len() {
            let longest = pieces[order[k]].end - pieces[order[k]].start + 2;
            let take = (budget / longest).max(1).min(order.len() - k);
            let group = &order[k..k + take];
            let seqs: Vec<&[i64]> = group
                .iter()
                .map(|&p| &inputs[pieces[p].input][pieces[p].start..pieces[p].end])
                .collect();
            let hidden = self.forward_padded(&seqs, train);
            for (row, &p) in group.iter().enumerate() {
                let n = (pieces[p].end - pieces[p].start) as i64;
                outputs[p] = Some(hidden.get(row as i64).narrow(1, 1, n));
            }
            k += take;
        }
        outputs
            .into_iter()
            .map(|o| o.expect("every window ran"))
            .collect()
    }

    /// Per sentence, `[words, L, D]` float32 on the CPU: every layer's vector for every word.
    /// Each sentence runs alone, so its features do not depend on the others passed with it.
    pub fn encode(&self, sentences: &[&[String]], pooling: Pooling) -> Result<Vec<Tensor>, PretrainedError> {
        let mut pooled = self.encode_pooled(sentences, &[pooling])?;
        Ok(pooled.pop().expect("one pooling asked for"))
    }

    /// `encode` for several poolings at once (`[pooling][sentence]`): the sub-word states are
    /// computed once and pooled each way, so each pooling's features are what `encode` gives.
    pub fn encode_pooled(
        &self,
        sentences: &[&[String]],
        poolings: &[Pooling],
    ) -> Result<Vec<Vec<Tensor>>, PretrainedError> {
        let subs = sentences
            .iter()
            .map(|s| self.subwords(s))
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&[i64]> = subs.iter().map(|s| s.ids.as_slice()).collect();
        let owner = self as *const Encoder as usize;
        let states = tch::no_grad(|| shared_states::states(owner, &ids, |ids| self.subword_states(ids)));
        Ok(poolings
            .iter()
            .map(|&pooling| {
                subs.iter()
                    .zip(&states)
                    .map(|(sub, st)| tch::no_grad(|| pool(st, &sub.words, pooling)).to_device(Device::Cpu))
                    .collect()
            })
            .collect())
    }
}

impl Encoder {
    /// Per sentence `[words, L, D]` float32 on the encoder's device, with gradients through
    /// a tuned encoder's weights (and its dropout when `train`).
    pub fn encode_tuned(
        &self,
        sentences: &[&[String]],
        pooling: Pooling,
        train: bool,
    ) -> Result<Vec<Tensor>, PretrainedError> {
        let subs = sentences
            .iter()
            .map(|s| self.subwords(s))
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&[i64]> = subs.iter().map(|s| s.ids.as_slice()).collect();
        let states = self.subword_states_t(&ids, train);
        Ok(subs
            .iter()
            .zip(states)
            .map(|(sub, st)| pool(&st, &sub.words, pooling))
            .collect())
    }
}

/// `[L, n, D]` sub-word states → `[words, L, D × pooling.width()]`.
pub fn pool(states: &Tensor, words: &[(usize, usize)], pooling: Pooling) -> Tensor {
    let per_word = match pooling {
        Pooling::First => first_subwords(states, words),
        Pooling::Mean => mean_subwords(states, words),
        Pooling::Both => Tensor::cat(&[first_subwords(states, words), mean_subwords(states, words)], 2),
    };
    per_word.transpose(0, 1).to_kind(Kind::Float).contiguous()
}

/// `[L, words, D]`: each word's first sub-word.
fn first_subwords(states: &Tensor, words: &[(usize, usize)]) -> Tensor {
    let first: Vec<i64> = words.iter().map(|&(s, _)| s as i64).collect();
    states.index_select(1, &Tensor::from_slice(&first).to(states.device()))
}

/// `[L, words, D]`: each word's mean over its sub-words.
fn mean_subwords(states: &Tensor, words: &[(usize, usize)]) -> Tensor {
    let n = states.size()[1];
    let mut avg = vec![0f32; words.len() * n as usize];
    for (w, &(s, e)) in words.iter().enumerate() {
        for j in s..e {
            avg[w * n as usize + j] = 1.0 / (e - s) as f32;
        }
    }
    let avg = Tensor::from_slice(&avg)
        .view([words.len() as i64, n])
        .to(states.device());
    avg.matmul(states)
}

/// A window of an input's sub-words.
struct Piece {
    input: usize,
    start: usize,
    end: usize,
}

/// One input's windows put back together: each sub-word takes the window where it is farthest
/// from an edge (`windows::assign`).
fn join_windows(wins: Vec<(usize, Tensor)>, plan: &[(usize, usize)], n: usize) -> Tensor {
    if wins.len() == 1 {
        return wins.into_iter().next().expect("one").1;
    }
    let owner = windows::assign(n, plan);
    // Column of sub-word j in the windows laid side by side.
    let mut base = Vec::with_capacity(wins.len());
    let mut total = 0;
    for (start, t) in &wins {
        base.push((*start, total));
        total += t.size()[1] as usize;
    }
    let cols: Vec<i64> = owner
        .iter()
        .enumerate()
        .map(|(j, &w)| (base[w].1 + j - base[w].0) as i64)
        .collect();
    let all = Tensor::cat(
        &wins.iter().map(|(_, t)| t.shallow_clone()).collect::<Vec<_>>(),
        1,
    );
    all.index_select(1, &Tensor::from_slice(&cols).to(all.device()))
}

#[cfg(test)]
mod tests {
    use super::Pooling;

    /// `--pooling`, a model's `config.json` and `cv-together`'s progress must name a pooling
    /// alike, or a saved model would not be read back with the pooling it was trained with.
    #[test]
    fn a_pooling_is_spelt_alike_on_the_command_line_and_in_config_json() {
        for pooling in Pooling::ALL {
            let json = serde_json::to_string(&pooling).unwrap();
            assert_eq!(json, format!("\"{}\"", pooling.name()));
            assert_eq!(pooling.name().parse::<Pooling>(), Ok(pooling));
        }
        assert!("First"
            .parse::<Pooling>()
            .unwrap_err()
            .contains("first, mean or both"));
    }
}
