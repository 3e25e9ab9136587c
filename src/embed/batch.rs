//! Sentences to tensors. A batch is sorted by length (longest first) once, and every
//! token-level input is laid out in packed-sequence order: time step by time step, the
//! sentences still running at that step. BiRNN layers then run on packed data, so padding can
//! never leak into a sentence's outputs, in either direction.

use tch::{Device, Tensor};

use super::casing::casing;
use super::vocab::{Vocabulary, PAD};
use crate::corpus::bio::{encode, OverlapError};
use crate::corpus::Sentence;

/// Longer tokens keep their first and last `MAX_CHARS / 2` characters.
pub const MAX_CHARS: usize = 64;

/// One sentence to put in a batch, with its gold annotations when training.
#[derive(Clone, Copy)]
pub struct BatchInput<'a> {
    pub tokens: &'a [String],
    pub gold: Option<&'a Sentence>,
}

impl<'a> From<&'a Sentence> for BatchInput<'a> {
    fn from(s: &'a Sentence) -> Self {
        BatchInput {
            tokens: &s.tokens,
            gold: Some(s),
        }
    }
}

/// An entity as the RE head sees it: where its last token sits in packed order, the BIO tag
/// id at that token, and its token span in its sentence (for the context between two entities).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityEnd {
    pub packed: i64,
    pub tag: i64,
    pub start: usize,
    pub end: usize,
}

pub struct Batch {
    pub size: usize,
    /// `order[k]`: index in the input of the k-th sentence of the batch.
    pub order: Vec<usize>,
    /// Sentence lengths in batch order (non-increasing).
    pub lengths: Vec<i64>,
    /// Sentences still running at each time step (CPU, for the packed RNN calls).
    pub batch_sizes: Tensor,
    /// Packed index of time step `t` of sentence 0.
    pub offsets: Vec<i64>,
    pub max_len: i64,
    /// Packed: word ids, casing classes.
    pub words: Tensor,
    pub casings: Tensor,
    /// Character ids `[N, C]` of the packed tokens, sorted by character count (longest first).
    pub chars: Tensor,
    pub char_lengths: Tensor,
    /// Row of the character-sorted order holding each packed token.
    pub char_unsort: Tensor,
    /// `[B, T]`, true at real tokens.
    pub mask: Tensor,
    /// Gold BIO tag ids `[B, T]` (0 at padding), when every sentence has gold annotations.
    pub gold_tags: Option<Tensor>,
    /// Per sentence in batch order: its gold entities (RE view) and relations
    /// (head, tail, relation id).
    pub gold_entities: Vec<Vec<EntityEnd>>,
    pub gold_relations: Vec<Vec<(usize, usize, i64)>>,
    /// Frozen contextual layers for the packed tokens, `[N, L, D]`, when the model uses them.
    pub contextual: Option<Tensor>,
    /// Frozen pre-trained word vectors for the packed tokens, `[N, D]`, when the model uses them.
    pub static_vectors: Option<Tensor>,
    pub device: Device,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("sentence {index} has no tokens")]
    Empty { index: usize },
    #[error("sentence {index}: {source}")]
    Overlap {
        index: usize,
        #[source]
        source: OverlapError,
    },
    #[error("sentence {index}: entity type {label:?} is not one the model knows")]
    UnknownEntityType { index: usize, label: String },
    #[error("sentence {index}: relation type {label:?} is not one the model knows")]
    UnknownRelationType { index: usize, label: String },
}

fn char_ids(vocab: &Vocabulary, token: &str) -> Vec<i64> {
    let chars: Vec<char> = token.chars().collect();
    let keep: Vec<char> = if chars.len() > MAX_CHARS {
        chars[..MAX_CHARS / 2]
            .iter()
            .chain(&chars[chars.len() - MAX_CHARS / 2..])
            .copied()
            .collect()
    } else {
        chars
    };
    let mut buf = [0u8; 4];
    keep.iter()
        .map(|c| vocab.chars.id(c.encode_utf8(&mut buf)))
        .collect()
}

/// The packed order: sentences sorted longest first, then time step by time step.
struct Packing {
    order: Vec<usize>,
    lengths: Vec<i64>,
    max_len: i64,
    /// Sentences still running at each time step, and where the step starts in packed order.
    batch_sizes: Vec<i64>,
    offsets: Vec<i64>,
    total: i64,
}

impl Packing {
    fn new(inputs: &[BatchInput]) -> Packing {
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        // Stable: equal lengths keep their input order, so a batch is deterministic.
        order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].tokens.len()));
        let lengths: Vec<i64> = order.iter().map(|&i| inputs[i].tokens.len() as i64).collect();
        let max_len = lengths.first().copied().unwrap_or(0);
        let mut batch_sizes = Vec::with_capacity(max_len as usize);
        let mut offsets = Vec::with_capacity(max_len as usize);
        let mut total = 0i64;
        for t in 0..max_len {
            let running = lengths.iter().take_while(|&&l| l > t).count() as i64;
            offsets.push(total);
            batch_sizes.push(running);
            total += running;
        }
        Packing {
            order,
            lengths,
            max_len,
            batch_sizes,
            offsets,
            total,
        }
    }

    /// `[B, T]` row-major: true at real tokens.
    fn mask(&self) -> Vec<bool> {
        let t = self.max_len as usize;
        let mut mask = vec![false; self.lengths.len() * t];
        for (k, &l) in self.lengths.iter().enumerate() {
            mask[k * t..k * t + l as usize].fill(true);
        }
        mask
    }
}

/// Word, casing and character ids of every token, in packed order.
struct TokenIds {
    words: Vec<i64>,
    casings: Vec<i64>,
    chars: Vec<Vec<i64>>,
}

impl TokenIds {
    fn new(vocab: &Vocabulary, inputs: &[BatchInput], p: &Packing) -> TokenIds {
        let n = p.total as usize;
        let mut ids = TokenIds {
            words: Vec::with_capacity(n),
            casings: Vec::with_capacity(n),
            chars: Vec::with_capacity(n),
        };
        for (t, &running) in p.batch_sizes.iter().enumerate() {
            for &i in p.order.iter().take(running as usize) {
                let tok = &inputs[i].tokens[t];
                ids.words.push(vocab.word_id(tok));
                ids.casings.push(casing(tok) as i64);
                ids.chars.push(char_ids(vocab, tok));
            }
        }
        ids
    }
}

/// Tokens' characters padded into rows sorted longest first, for the packed character BiRNN.
struct CharRows {
    ids: Vec<i64>,
    width: usize,
    lengths: Vec<i64>,
    /// Row of each token.
    unsort: Vec<i64>,
}

impl CharRows {
    fn new(token_chars: &[Vec<i64>]) -> CharRows {
        let mut order: Vec<usize> = (0..token_chars.len()).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(token_chars[k].len()));
        let width = order.first().map_or(1, |&k| token_chars[k].len().max(1));
        let mut rows = CharRows {
            ids: vec![PAD; token_chars.len() * width],
            width,
            lengths: Vec::with_capacity(token_chars.len()),
            unsort: vec![0i64; token_chars.len()],
        };
        for (row, &k) in order.iter().enumerate() {
            let ids = &token_chars[k];
            rows.ids[row * width..row * width + ids.len()].copy_from_slice(ids);
            rows.lengths.push(ids.len().max(1) as i64);
            rows.unsort[k] = row as i64;
        }
        rows
    }
}

/// Gold BIO tags `[B, T]`, entity ends and relations of a training batch.
struct Gold {
    tags: Vec<i64>,
    entities: Vec<Vec<EntityEnd>>,
    relations: Vec<Vec<(usize, usize, i64)>>,
}

impl Gold {
    fn new(vocab: &Vocabulary, inputs: &[BatchInput], p: &Packing) -> Result<Gold, BatchError> {
        let t_max = p.max_len as usize;
        let mut gold = Gold {
            tags: vec![0i64; inputs.len() * t_max],
            entities: Vec::new(),
            relations: Vec::new(),
        };
        for (k, &i) in p.order.iter().enumerate() {
            let s = inputs[i].gold.expect("all gold");
            let bio = encode(s.tokens.len(), &s.entities)
                .map_err(|source| BatchError::Overlap { index: i, source })?;
            let row = &mut gold.tags[k * t_max..(k + 1) * t_max];
            for (t, tag) in bio.iter().enumerate() {
                row[t] = vocab.tag_id(tag).ok_or_else(|| BatchError::UnknownEntityType {
                    index: i,
                    label: tag.label().unwrap_or_default().to_string(),
                })?;
            }
            let ends = s.entities.iter().map(|e| EntityEnd {
                packed: p.offsets[e.end - 1] + k as i64,
                tag: row[e.end - 1],
                start: e.start,
                end: e.end,
            });
            gold.entities.push(ends.collect());
            gold.relations.push(relation_ids(vocab, s, i)?);
        }
        Ok(gold)
    }
}

fn relation_ids(
    vocab: &Vocabulary,
    s: &Sentence,
    index: usize,
) -> Result<Vec<(usize, usize, i64)>, BatchError> {
    s.relations
        .iter()
        .map(|r| {
            vocab
                .relation_id(&r.label)
                .map(|id| (r.head, r.tail, id as i64))
                .ok_or_else(|| BatchError::UnknownRelationType {
                    index,
                    label: r.label.clone(),
                })
        })
        .collect()
}

impl Batch {
    pub fn new(vocab: &Vocabulary, inputs: &[BatchInput], device: Device) -> Result<Batch, BatchError> {
        let b = inputs.len();
        if let Some(index) = inputs.iter().position(|s| s.tokens.is_empty()) {
            return Err(BatchError::Empty { index });
        }
        let p = Packing::new(inputs);
        let ids = TokenIds::new(vocab, inputs, &p);
        let chars = CharRows::new(&ids.chars);
        let gold = if b > 0 && inputs.iter().all(|s| s.gold.is_some()) {
            Some(Gold::new(vocab, inputs, &p)?)
        } else {
            None
        };
        let (gold_tags, gold_entities, gold_relations) = match gold {
            Some(g) => (
                Some(Tensor::from_slice(&g.tags).view([b as i64, p.max_len]).to(device)),
                g.entities,
                g.relations,
            ),
            None => (None, Vec::new(), Vec::new()),
        };
        Ok(Batch {
            size: b,
            mask: Tensor::from_slice(&p.mask())
                .view([b as i64, p.max_len])
                .to(device),
            batch_sizes: Tensor::from_slice(&p.batch_sizes),
            words: Tensor::from_slice(&ids.words).to(device),
            casings: Tensor::from_slice(&ids.casings).to(device),
            chars: Tensor::from_slice(&chars.ids)
                .view([ids.chars.len() as i64, chars.width as i64])
                .to(device),
            char_lengths: Tensor::from_slice(&chars.lengths),
            char_unsort: Tensor::from_slice(&chars.unsort).to(device),
            order: p.order,
            lengths: p.lengths,
            offsets: p.offsets,
            max_len: p.max_len,
            gold_tags,
            gold_entities,
            gold_relations,
            contextual: None,
            static_vectors: None,
            device,
        })
    }

    /// Number of real tokens.
    pub fn num_tokens(&self) -> i64 {
        self.lengths.iter().sum()
    }

    /// Packed index of token `t` of the k-th sentence of the batch.
    pub fn packed_index(&self, k: usize, t: usize) -> i64 {
        self.offsets[t] + k as i64
    }

    /// Turns `[B, T, ...]` padded per-sentence rows into packed order `[N, ...]`.
    pub fn pack(&self, padded: &Tensor) -> Tensor {
        let (data, _) = padded.internal_pack_padded_sequence(&Tensor::from_slice(&self.lengths), true);
        data
    }

    /// Turns packed `[N, D]` into padded `[B, T, D]` (zeros at padding).
    pub fn unpack(&self, packed: &Tensor) -> Tensor {
        Tensor::internal_pad_packed_sequence(packed, &self.batch_sizes, true, 0.0, self.max_len).0
    }
}
