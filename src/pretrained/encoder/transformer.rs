//! The BERT family (BERT, BioBERT, PubMedBERT, SciBERT, MiniLM; RoBERTa's offset positions)
//! and MPNet (relative position bias) over Hugging Face weights: frozen (inference only), or
//! with its weights as variables of a `VarStore`, its top layers (or all) trainable, for
//! fine-tuning.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tch::{nn, Device, Kind, Tensor};

use super::precision::Precision;
use crate::model::random;
use crate::pretrained::PretrainedError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Bert,
    /// BERT with position ids counted from `pad_token_id + 1`.
    Roberta,
    Mpnet,
}

/// The fields of a Hugging Face `config.json` these networks use.
#[derive(Clone, Debug, Deserialize)]
pub struct HfConfig {
    pub model_type: String,
    pub hidden_size: i64,
    pub num_hidden_layers: usize,
    pub num_attention_heads: i64,
    pub max_position_embeddings: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: Option<i64>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: i64,
    /// Sizes a network is built from without its weights (`Transformer::skeleton`).
    #[serde(default)]
    pub vocab_size: i64,
    #[serde(default)]
    pub intermediate_size: i64,
    /// 0: no token type embeddings (MPNet).
    #[serde(default)]
    pub type_vocab_size: i64,
    /// Dropout on hidden states and on attention probabilities while fine-tuning.
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
}

fn default_dropout() -> f64 {
    0.1
}

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_buckets() -> i64 {
    32
}

impl HfConfig {
    /// `config.json` of a checkpoint folder.
    pub fn read(dir: &Path) -> Result<HfConfig, PretrainedError> {
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(PretrainedError::io(&cfg_path))?;
        serde_json::from_str(&text).map_err(|e| {
            PretrainedError::bad(&cfg_path, format!("not a Hugging Face model configuration: {e}"))
        })
    }

    pub fn arch(&self) -> Option<Arch> {
        match self.model_type.as_str() {
            "bert" => Some(Arch::Bert),
            "roberta" | "xlm-roberta" | "camembert" => Some(Arch::Roberta),
            "mpnet" => Some(Arch::Mpnet),
            _ => None,
        }
    }

    /// Position ids of real tokens start here.
    pub fn position_offset(&self) -> i64 {
        match self.arch() {
            Some(Arch::Bert) | None => 0,
            _ => self.pad_token_id.unwrap_or(1) + 1,
        }
    }

    /// Most sub-words in one input, special tokens included.
    pub fn max_input(&self) -> i64 {
        self.max_position_embeddings - self.position_offset()
    }
}

struct Linear {
    w: Tensor,
    b: Tensor,
    products: Products,
}

/// How a linear layer multiplies.
enum Products {
    Float32,
    /// In bfloat16, from a copy of the weights made once: a frozen encoder's.
    BFloat16Copy(Tensor, Tensor),
    /// In bfloat16, from the float32 weights rounded in every call: weights that train (or
    /// are filled after building) have no lasting copy, and their gradients reach the
    /// float32 weights through the rounding (mixed precision).
    BFloat16Rounded,
}

impl Products {
    fn for_precision(precision: Precision) -> Products {
        match precision {
            Precision::Float32 => Products::Float32,
            Precision::BFloat16 => Products::BFloat16Rounded,
        }
    }
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = Kind::BFloat16;
        let in_bf16 = |w: &Tensor, b: &Tensor| x.to_kind(h).linear(w, Some(b)).to_kind(Kind::Float);
        match &self.products {
            Products::Float32 => x.linear(&self.w, Some(&self.b)),
            Products::BFloat16Copy(w, b) => in_bf16(w, b),
            Products::BFloat16Rounded => in_bf16(&self.w.to_kind(h), &self.b.to_kind(h)),
        }
    }
}

struct Norm {
    w: Tensor,
    b: Tensor,
    eps: f64,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let d = self.w.size()[0];
        x.layer_norm([d], Some(&self.w), Some(&self.b), self.eps, false)
    }
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

pub struct Transformer {
    pub config: HfConfig,
    pub arch: Arch,
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    relative_bias: Option<Tensor>,
    pub precision: Precision,
    /// Layers from the bottom whose weights never change, embeddings included (all of them
    /// in a frozen transformer, 0 when the embeddings train too).
    frozen_layers: usize,
}

impl Transformer {
    /// Where the weights are now (a model's `VarStore::set_device` moves them).
    pub fn device(&self) -> Device {
        self.word.device()
    }
}

// Safety: a frozen transformer's weights are never written after loading and every forward
// pass runs under no_grad, creating its own tensors; libtorch's read-only use of shared tensors
// from several threads is safe. A trainable one is owned by one model, whose training steps
// run on one thread.
unsafe impl Sync for Transformer {}

/// A weight made a variable of `p` named `name`: trainable (gradients, optimizer steps) or
/// not (saved and loaded with the rest, never stepped).
fn adopt(p: &nn::Path, name: &str, t: &mut Tensor, trainable: bool) {
    *t = if trainable {
        p.var_copy(name, t)
    } else {
        let v = p.zeros_no_train(name, &t.size());
        tch::no_grad(|| v.shallow_clone().copy_(t));
        v
    };
}

impl Linear {
    fn adopt(&mut self, p: &nn::Path, trainable: bool, precision: Precision) {
        adopt(p, "weight", &mut self.w, trainable);
        adopt(p, "bias", &mut self.b, trainable);
        self.products = Products::for_precision(precision);
    }
}

impl Norm {
    fn adopt(&mut self, p: &nn::Path, trainable: bool) {
        adopt(p, "weight", &mut self.w, trainable);
        adopt(p, "bias", &mut self.b, trainable);
    }
}

impl Layer {
    fn adopt(&mut self, p: &nn::Path, trainable: bool, precision: Precision) {
        for (name, l) in [
            ("q", &mut self.q),
            ("k", &mut self.k),
            ("v", &mut self.v),
            ("o", &mut self.o),
            ("up", &mut self.up),
            ("down", &mut self.down),
        ] {
            l.adopt(&(p / name), trainable, precision);
        }
        self.attn_norm.adopt(&(p / "attn_norm"), trainable);
        self.out_norm.adopt(&(p / "out_norm"), trainable);
    }
}

/// Weights by name with the model's prefix (`bert.`, `roberta.`, `mpnet.` or none) removed.
struct Weights {
    path: std::path::PathBuf,
    map: HashMap<String, Tensor>,
    device: Device,
    precision: Precision,
}

/// The architecture of a checkpoint relarc can run.
fn check_config(config: &HfConfig, cfg_path: &Path) -> Result<Arch, PretrainedError> {
    let arch = config.arch().ok_or_else(|| {
        PretrainedError::bad(
            cfg_path,
            format!(
                "model_type {:?} is not one relarc runs (bert, roberta, mpnet)",
                config.model_type
            ),
        )
    })?;
    if !config.hidden_act.starts_with("gelu") {
        return Err(PretrainedError::bad(
            cfg_path,
            format!("hidden_act {:?}: only gelu is supported", config.hidden_act),
        ));
    }
    if config.hidden_size % config.num_attention_heads != 0 {
        return Err(PretrainedError::bad(
            cfg_path,
            "hidden_size is not a multiple of num_attention_heads",
        ));
    }
    Ok(arch)
}

impl Weights {
    /// The checkpoint's tensors, named without the prefix before `embeddings.` (a checkpoint
    /// saved from a task model has one, such as `bert.`).
    fn read(path: &Path, device: Device, precision: Precision) -> Result<Weights, PretrainedError> {
        if !path.exists() {
            return Err(PretrainedError::bad(
                path,
                "missing (relarc reads safetensors weights; convert pytorch_model.bin with the Hugging Face tools)",
            ));
        }
        let raw = Tensor::read_safetensors(path)
            .map_err(|e| PretrainedError::bad(path, format!("unreadable weights: {e}")))?;
        let prefix = raw
            .iter()
            .find_map(|(k, _)| {
                k.strip_suffix("embeddings.word_embeddings.weight")
                    .map(String::from)
            })
            .ok_or_else(|| PretrainedError::bad(path, "has no embeddings.word_embeddings.weight"))?;
        let map = raw
            .into_iter()
            .filter_map(|(k, t)| k.strip_prefix(prefix.as_str()).map(|k| (k.to_string(), t)))
            .collect();
        Ok(Weights {
            path: path.to_path_buf(),
            map,
            device,
            precision,
        })
    }

    /// Transformer layer `i`: attention names differ between MPNet and the BERT family.
    fn layer(&mut self, i: usize, arch: Arch, eps: f64) -> Result<Layer, PretrainedError> {
        let p = format!("encoder.layer.{i}");
        let (q, k, v, o, norm) = match arch {
            Arch::Mpnet => (
                "attention.attn.q",
                "attention.attn.k",
                "attention.attn.v",
                "attention.attn.o",
                "attention.LayerNorm",
            ),
            _ => (
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
                "attention.output.LayerNorm",
            ),
        };
        Ok(Layer {
            q: self.linear(&format!("{p}.{q}"))?,
            k: self.linear(&format!("{p}.{k}"))?,
            v: self.linear(&format!("{p}.{v}"))?,
            o: self.linear(&format!("{p}.{o}"))?,
            attn_norm: self.norm(&format!("{p}.{norm}"), eps)?,
            up: self.linear(&format!("{p}.intermediate.dense"))?,
            down: self.linear(&format!("{p}.output.dense"))?,
            out_norm: self.norm(&format!("{p}.output.LayerNorm"), eps)?,
        })
    }

    fn take(&mut self, name: &str) -> Result<Tensor, PretrainedError> {
        self.try_take(name).ok_or_else(|| {
            PretrainedError::bad(
                &self.path,
                format!("has no tensor {name:?} (is this the architecture config.json names?)"),
            )
        })
    }

    fn try_take(&mut self, name: &str) -> Option<Tensor> {
        self.map
            .remove(name)
            .map(|t| t.to_kind(Kind::Float).to_device(self.device))
    }

    fn linear(&mut self, name: &str) -> Result<Linear, PretrainedError> {
        let w = self.take(&format!("{name}.weight"))?;
        let b = self.take(&format!("{name}.bias"))?;
        let products = match self.precision {
            Precision::Float32 => Products::Float32,
            Precision::BFloat16 => {
                Products::BFloat16Copy(w.to_kind(Kind::BFloat16), b.to_kind(Kind::BFloat16))
            }
        };
        Ok(Linear { w, b, products })
    }

    /// Old TensorFlow-converted checkpoints call the LayerNorm parameters gamma and beta.
    fn norm(&mut self, name: &str, eps: f64) -> Result<Norm, PretrainedError> {
        let w = match self.try_take(&format!("{name}.weight")) {
            Some(w) => w,
            None => self.take(&format!("{name}.gamma"))?,
        };
        let b = match self.try_take(&format!("{name}.bias")) {
            Some(b) => b,
            None => self.take(&format!("{name}.beta"))?,
        };
        Ok(Norm { w, b, eps })
    }
}

impl Transformer {
    pub fn load(dir: &Path, device: Device, precision: Precision) -> Result<Transformer, PretrainedError> {
        let config = HfConfig::read(dir)?;
        let arch = check_config(&config, &dir.join("config.json"))?;
        let mut w = Weights::read(&dir.join("model.safetensors"), device, precision)?;
        let eps = config.layer_norm_eps;
        let layers = (0..config.num_hidden_layers)
            .map(|i| w.layer(i, arch, eps))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Transformer {
            word: w.take("embeddings.word_embeddings.weight")?,
            position: w.take("embeddings.position_embeddings.weight")?,
            token_type: w.try_take("embeddings.token_type_embeddings.weight"),
            emb_norm: w.norm("embeddings.LayerNorm", eps)?,
            relative_bias: match arch {
                Arch::Mpnet => Some(w.take("encoder.relative_attention_bias.weight")?),
                _ => None,
            },
            frozen_layers: layers.len(),
            layers,
            arch,
            config,
            precision,
        })
    }

    /// A transformer whose weights are variables of `p` (its device is `p`'s), for
    /// fine-tuning: the top `top_layers` layers trainable (all of it, embeddings included,
    /// when None), the rest frozen but saved with the model all the same. It multiplies in
    /// `precision`, its weights float32 all the same.
    pub fn load_trainable(
        dir: &Path,
        p: &nn::Path,
        top_layers: Option<usize>,
        precision: Precision,
    ) -> Result<Transformer, PretrainedError> {
        let mut t = Transformer::load(dir, p.device(), Precision::Float32)?;
        t.precision = precision;
        t.adopt(p, top_layers);
        Ok(t)
    }

    /// A trainable transformer of `dir`'s configuration with zero weights, to be filled by
    /// loading the `VarStore` it lives in: a fine-tuned encoder is read back from a model
    /// folder without the checkpoint it started from.
    pub fn skeleton(
        dir: &Path,
        p: &nn::Path,
        top_layers: Option<usize>,
        precision: Precision,
    ) -> Result<Transformer, PretrainedError> {
        let config = HfConfig::read(dir)?;
        let arch = check_config(&config, &dir.join("config.json"))?;
        if config.vocab_size <= 0 || config.intermediate_size <= 0 {
            return Err(PretrainedError::bad(
                &dir.join("config.json"),
                "has no vocab_size or intermediate_size",
            ));
        }
        let dev = p.device();
        let zeros = |dims: &[i64]| Tensor::zeros(dims, (Kind::Float, dev));
        let (d, i) = (config.hidden_size, config.intermediate_size);
        let eps = config.layer_norm_eps;
        let linear = |out: i64, inp: i64| Linear {
            w: zeros(&[out, inp]),
            b: zeros(&[out]),
            products: Products::Float32,
        };
        let norm = || Norm {
            w: zeros(&[d]),
            b: zeros(&[d]),
            eps,
        };
        let layers = (0..config.num_hidden_layers)
            .map(|_| Layer {
                q: linear(d, d),
                k: linear(d, d),
                v: linear(d, d),
                o: linear(d, d),
                attn_norm: norm(),
                up: linear(i, d),
                down: linear(d, i),
                out_norm: norm(),
            })
            .collect();
        let mut t = Transformer {
            word: zeros(&[config.vocab_size, d]),
            position: zeros(&[config.max_position_embeddings, d]),
            token_type: (config.type_vocab_size > 0).then(|| zeros(&[config.type_vocab_size, d])),
            emb_norm: norm(),
            relative_bias: (arch == Arch::Mpnet)
                .then(|| zeros(&[config.relative_attention_num_buckets, config.num_attention_heads])),
            frozen_layers: config.num_hidden_layers,
            layers,
            arch,
            config,
            precision,
        };
        t.adopt(p, top_layers);
        Ok(t)
    }

    /// Makes every weight a variable of `p`, trainable from layer `n - top_layers` on (all,
    /// embeddings included, when None).
    fn adopt(&mut self, p: &nn::Path, top_layers: Option<usize>) {
        let t = self;
        let n = t.layers.len();
        let everything = top_layers.is_none();
        let first_trained = n - top_layers.unwrap_or(n).min(n);
        t.frozen_layers = if everything { 0 } else { first_trained };
        let emb = p / "embeddings";
        adopt(&emb, "word", &mut t.word, everything);
        adopt(&emb, "position", &mut t.position, everything);
        if let Some(tt) = t.token_type.as_mut() {
            adopt(&emb, "token_type", tt, everything);
        }
        t.emb_norm.adopt(&(&emb / "norm"), everything);
        if let Some(bias) = t.relative_bias.as_mut() {
            adopt(&(p / "relative"), "bias", bias, everything);
        }
        for (i, layer) in t.layers.iter_mut().enumerate() {
            layer.adopt(&(p / "layer" / i), i >= first_trained, t.precision);
        }
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    /// MPNet's bucketed relative positions (T5-style, bidirectional), `[S, S]`.
    fn relative_buckets(&self, s: i64) -> Tensor {
        let num_buckets = self.config.relative_attention_num_buckets / 2;
        let max_distance = 128.0f64;
        let pos = Tensor::arange(s, (Kind::Int64, self.device()));
        // relative = memory - context; n = -relative.
        let n = pos.unsqueeze(1) - pos.unsqueeze(0);
        let ret = n.lt(0).to_kind(Kind::Int64) * num_buckets;
        let n = n.abs();
        let max_exact = num_buckets / 2;
        let is_small = n.lt(max_exact);
        let large = ((n.to_kind(Kind::Float) / max_exact as f64).log()
            / (max_distance / max_exact as f64).ln()
            * (num_buckets - max_exact) as f64)
            .to_kind(Kind::Int64)
            + max_exact;
        let large = large.clamp_max(num_buckets - 1);
        ret + n.where_self(&is_small, &large)
    }

    /// Hidden states of every layer, embedding output first: `num_layers + 1` tensors
    /// `[B, S, D]`. `ids` `[B, S]` are right-padded; `mask` `[B, S]` is true at real tokens.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Vec<Tensor> {
        tch::no_grad(|| self.run(ids, mask, false))
    }

    /// `forward` with gradients, and with the configuration's dropout when `train`.
    pub fn forward_t(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Vec<Tensor> {
        self.run(ids, mask, train)
    }

    fn run(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Vec<Tensor> {
        let x = self.embed(ids, mask, train);
        let attn_mask = self.attention_mask(mask);
        let mut hidden = vec![x.shallow_clone()];
        hidden.extend(self.layers_from(x, &attn_mask, 0, train));
        hidden
    }

    /// Layers below this one are frozen, and so are the embeddings (0 when they train too).
    pub fn frozen_layers(&self) -> usize {
        self.frozen_layers
    }

    /// The embedding output and the states after each frozen layer (`frozen_layers() + 1`
    /// tensors `[B, S, D]`), without dropout or gradients: the same at every training step.
    pub fn forward_frozen(&self, ids: &Tensor, mask: &Tensor) -> Vec<Tensor> {
        tch::no_grad(|| {
            let x = self.embed(ids, mask, false);
            let attn_mask = self.attention_mask(mask);
            let mut hidden = vec![x.shallow_clone()];
            let frozen = self.layers_below(x, &attn_mask, self.frozen_layers);
            hidden.extend(frozen);
            hidden
        })
    }

    /// The states after each trainable layer, from `below` `[B, S, D]`, the output of the
    /// last frozen one (`forward_frozen`'s last), with gradients and, when `train`, dropout.
    pub fn forward_trained(&self, below: &Tensor, mask: &Tensor, train: bool) -> Vec<Tensor> {
        let attn_mask = self.attention_mask(mask);
        self.layers_from(below.shallow_clone(), &attn_mask, self.frozen_layers, train)
    }

    /// Word, position (and token type) embeddings, normalised; dropout when `train`.
    fn embed(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (b, s) = (ids.size()[0], ids.size()[1]);
        let positions = match self.arch {
            Arch::Bert => Tensor::arange(s, (Kind::Int64, self.device()))
                .unsqueeze(0)
                .expand([b, s], true),
            _ => {
                let m = mask.to_kind(Kind::Int64);
                m.cumsum(1, Kind::Int64) * &m + self.config.pad_token_id.unwrap_or(1)
            }
        };
        let mut x = self.word.index_select(0, &ids.view([-1])).view([b, s, -1])
            + self
                .position
                .index_select(0, &positions.reshape([-1]))
                .view([b, s, -1]);
        if let Some(tt) = &self.token_type {
            x += tt.get(0);
        }
        random::dropout(&self.emb_norm.forward(&x), self.hidden_dropout(train), train)
    }

    /// Additive `[B, heads or 1, S, S or 1]` mask: 0 where attended, a large negative at
    /// padding, plus MPNet's relative position bias.
    fn attention_mask(&self, mask: &Tensor) -> Tensor {
        let (b, s) = (mask.size()[0], mask.size()[1]);
        let pad = (mask.logical_not().to_kind(Kind::Float) * f32::MIN as f64).view([b, 1, 1, s]);
        match &self.relative_bias {
            Some(bias) => {
                let buckets = self.relative_buckets(s);
                let values = bias.index_select(0, &buckets.view([-1])).view([s, s, -1]);
                values.permute([2, 0, 1]).unsqueeze(0) + pad
            }
            None => pad,
        }
    }

    fn hidden_dropout(&self, train: bool) -> f64 {
        if train {
            self.config.hidden_dropout_prob
        } else {
            0.0
        }
    }

    /// The states after layers `from..` of input `x`.
    fn layers_from(&self, x: Tensor, attn_mask: &Tensor, from: usize, train: bool) -> Vec<Tensor> {
        self.run_layers(x, attn_mask, from..self.layers.len(), train)
    }

    /// The states after layers `..end`, without dropout.
    fn layers_below(&self, x: Tensor, attn_mask: &Tensor, end: usize) -> Vec<Tensor> {
        self.run_layers(x, attn_mask, 0..end, false)
    }

    fn run_layers(
        &self,
        mut x: Tensor,
        attn_mask: &Tensor,
        which: std::ops::Range<usize>,
        train: bool,
    ) -> Vec<Tensor> {
        let hidden_dropout = self.hidden_dropout(train);
        let attention_dropout = if train {
            self.config.attention_probs_dropout_prob
        } else {
            0.0
        };
        let (b, s) = (x.size()[0], x.size()[1]);
        let heads = self.config.num_attention_heads;
        let split = |t: Tensor| t.view([b, s, heads, -1]).transpose(1, 2);
        let mut hidden = Vec::with_capacity(which.len());
        for layer in &self.layers[which] {
            let q = split(layer.q.forward(&x));
            let k = split(layer.k.forward(&x));
            let v = split(layer.v.forward(&x));
            let ctx = attend(&q, &k, &v, attn_mask, attention_dropout)
                .transpose(1, 2)
                .reshape([b, s, -1]);
            let attended = random::dropout(&layer.o.forward(&ctx), hidden_dropout, train) + &x;
            let a = layer.attn_norm.forward(&attended);
            let up = layer.up.forward(&a).gelu("none");
            let out = random::dropout(&layer.down.forward(&up), hidden_dropout, train) + &a;
            x = layer.out_norm.forward(&out);
            hidden.push(x.shallow_clone());
        }
        hidden
    }
}

/// Scaled dot-product attention. With dropout (fine-tuning) it is spelled out, so that the
/// mask comes from the run's own stream (`model::random`) as every other dropout mask does:
/// libtorch's fused kernel draws from the process's generator, which parallel runs share.
fn attend(q: &Tensor, k: &Tensor, v: &Tensor, attn_mask: &Tensor, p: f64) -> Tensor {
    if p <= 0.0 {
        return Tensor::scaled_dot_product_attention(q, k, v, Some(attn_mask), 0.0, false, None, false);
    }
    let scale = 1.0 / (q.size()[3] as f64).sqrt();
    let scores = q.matmul(&k.transpose(-2, -1)) * scale + attn_mask;
    let probs = scores.softmax(-1, q.kind());
    random::dropout(&probs, p, true).matmul(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spelled-out attention (fine-tuning) computes what the fused kernel computes, padding
    /// and relative bias included: with a vanishing dropout nothing is dropped.
    #[test]
    fn spelled_out_attention_equals_the_fused_kernel() {
        let opts = (Kind::Float, tch::Device::Cpu);
        let (q, k, v, bias) = crate::model::random::seeded(1, || {
            let r = |s: &[i64]| Tensor::randn(s, opts);
            (
                r(&[2, 3, 5, 4]),
                r(&[2, 3, 5, 4]),
                r(&[2, 3, 5, 4]),
                r(&[1, 3, 5, 5]),
            )
        });
        let padding = Tensor::from_slice(&[0.0f32, 0.0, 0.0, f32::MIN, f32::MIN]).view([1, 1, 1, 5]);
        let mask = bias + padding;
        let fused = attend(&q, &k, &v, &mask, 0.0);
        let spelled = attend(&q, &k, &v, &mask, 1e-12);
        let diff = (&fused - &spelled).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "differ by {diff}");
    }
}
