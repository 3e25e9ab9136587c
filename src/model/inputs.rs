//! The token representation `v_i = contextual_i ◦ word_i ◦ char_i ◦ casing_i` (paper eq. 1),
//! computed in packed order.

use tch::{nn, nn::Module, Kind, Tensor};

use super::birnn::BiRnn;
use super::config::ModelConfig;
use crate::embed::casing::NUM_CASINGS;
use crate::embed::Batch;

/// The learned weighted average of a frozen encoder's layers: softmax-normalised scalar
/// weights times a learned scale.
#[derive(Debug)]
pub struct LayerMix {
    pub weights: Tensor,
    pub scale: Tensor,
}

impl LayerMix {
    pub fn new(p: nn::Path, layers: i64) -> LayerMix {
        LayerMix {
            weights: p.var("weights", &[layers], nn::Init::Const(0.0)),
            scale: p.var("scale", &[1], nn::Init::Const(1.0)),
        }
    }

    /// `[N, L, D]` → `[N, D]`.
    pub fn forward(&self, layers: &Tensor) -> Tensor {
        let w = self
            .weights
            .softmax(0, Kind::Float)
            .to_kind(layers.kind())
            .view([1, -1, 1]);
        (layers * w).sum_dim_intlist(1, false, None) * &self.scale
    }
}

#[derive(Debug)]
enum WordTable {
    Learned(nn::Embedding),
    /// Frozen pre-trained vectors, looked up outside the model and brought in by the batch
    /// (they are not weights of the model, so a checkpoint does not carry them).
    Frozen,
}

#[derive(Debug)]
pub struct TokenInputs {
    word: Option<WordTable>,
    chars: Option<(nn::Embedding, BiRnn)>,
    casing: bool,
    mix: Option<LayerMix>,
    pub dim: i64,
}

impl TokenInputs {
    pub fn new(p: nn::Path, cfg: &ModelConfig, num_words: i64, num_chars: i64) -> TokenInputs {
        let mut dim = 0;
        let word = cfg.inputs.word.as_ref().map(|w| {
            dim += w.dim;
            if w.trainable {
                WordTable::Learned(nn::embedding(&p / "word", num_words, w.dim, Default::default()))
            } else {
                WordTable::Frozen
            }
        });
        let chars = cfg.inputs.char.then(|| {
            dim += 2 * cfg.char_rnn_size;
            (
                nn::embedding(
                    &p / "char_embedding",
                    num_chars,
                    cfg.char_embedding,
                    Default::default(),
                ),
                BiRnn::new(&p / "char_rnn", cfg.char_embedding, cfg.char_rnn_size, cfg.rnn),
            )
        });
        if cfg.inputs.casing {
            dim += NUM_CASINGS;
        }
        let mix = cfg.inputs.contextual.as_ref().map(|c| {
            dim += c.dim * c.pooling.width();
            LayerMix::new(&p / "mix", c.layers)
        });
        TokenInputs {
            word,
            chars,
            casing: cfg.inputs.casing,
            mix,
            dim,
        }
    }

    /// `[N, dim]` in packed order.
    pub fn forward(&self, batch: &Batch, train: bool) -> Tensor {
        let mut parts = Vec::new();
        if let Some(mix) = &self.mix {
            let layers = batch
                .contextual
                .as_ref()
                .expect("this model needs contextual features in its batches");
            parts.push(mix.forward(layers));
        }
        match &self.word {
            Some(WordTable::Learned(e)) => parts.push(e.forward(&batch.words)),
            Some(WordTable::Frozen) => parts.push(
                batch
                    .static_vectors
                    .as_ref()
                    .expect("this model needs pre-trained word vectors in its batches")
                    .shallow_clone(),
            ),
            None => {}
        }
        if let Some((emb, rnn)) = &self.chars {
            let x = emb.forward(&batch.chars);
            let (data, sizes) = x.internal_pack_padded_sequence(&batch.char_lengths, true);
            let (_, last) = rnn.forward_packed(&data, &sizes, batch.chars.size()[0], train);
            parts.push(last.index_select(0, &batch.char_unsort));
        }
        if self.casing {
            parts.push(batch.casings.one_hot(NUM_CASINGS).to_kind(Kind::Float));
        }
        Tensor::cat(&parts, 1)
    }
}
