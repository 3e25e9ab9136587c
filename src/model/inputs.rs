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
    Frozen(Tensor),
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
                WordTable::Frozen(p.zeros_no_train("word_vectors", &[num_words, w.dim]))
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
            dim += c.dim;
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

    /// Replaces the frozen word vectors (rows in vocabulary order).
    pub fn set_word_vectors(&mut self, matrix: &Tensor) -> Result<(), String> {
        match &mut self.word {
            Some(WordTable::Frozen(table)) => {
                if table.size() != matrix.size() {
                    return Err(format!(
                        "word vectors are {:?}, the model expects {:?}",
                        matrix.size(),
                        table.size()
                    ));
                }
                tch::no_grad(|| table.copy_(matrix));
                Ok(())
            }
            _ => Err("this model learns its word vectors; it has no frozen ones to set".into()),
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
            Some(WordTable::Frozen(t)) => parts.push(t.index_select(0, &batch.words)),
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
