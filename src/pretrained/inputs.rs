//! What makes up the token representation `v_i` and which pre-trained files it needs: the
//! input part of a model configuration. It lives here, beside the code that loads those
//! files, so that `pretrained` does not depend on `model` (the model reads it from here).

use serde::{Deserialize, Serialize};

use super::Pooling;

/// Word vectors: learned from scratch, or a frozen pre-trained matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordInput {
    pub dim: i64,
    /// Trained with the model (true) or frozen pre-trained vectors (false).
    pub trainable: bool,
    /// Words seen fewer times in training are unknown (learned vectors only).
    #[serde(default = "one")]
    pub min_count: usize,
    /// Where frozen vectors come from: a resource name or a path to a converted folder or a
    /// GloVe / word2vec / fastText text file.
    #[serde(default)]
    pub source: Option<String>,
}

fn one() -> usize {
    1
}

/// Frozen contextual vectors with `layers` layers of `dim` each, mixed by learned softmax
/// weights and a scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContextualInput {
    pub layers: i64,
    pub dim: i64,
    /// The encoder that makes them: a resource name (a folder of the resource folder) or a
    /// path to a Hugging Face checkpoint folder.
    #[serde(default)]
    pub encoder: String,
    /// How a word's sub-words become one vector.
    #[serde(default)]
    pub pooling: Pooling,
    /// Train the encoder with the model (None: frozen, its features cached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_tune: Option<FineTune>,
}

/// How an encoder is fine-tuned with the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FineTune {
    /// The encoder's top layers that learn (None: all of it, embeddings included).
    #[serde(default)]
    pub top_layers: Option<usize>,
    /// The encoder's own peak learning rate (the rest of the model keeps the paper's).
    pub learning_rate: f64,
    /// Share of the training steps over which it rises to the peak, before falling linearly
    /// to 0 at the last step.
    pub warmup: f64,
    /// What the encoder's products were in when it last trained (recorded by training, not
    /// a setting): under `RELARC_ENCODER_PRECISION=auto` the saved model predicts in it
    /// where the device has instructions for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_in: Option<super::encoder::Precision>,
}

impl Default for FineTune {
    /// BERT's fine-tuning recipe: 3e-5, a tenth of the steps warming up, every layer.
    fn default() -> FineTune {
        FineTune {
            top_layers: None,
            learning_rate: 3e-5,
            warmup: 0.1,
            trained_in: None,
        }
    }
}

/// Which sources make up the token representation `v_i` (each can be switched off).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub contextual: Option<ContextualInput>,
    pub word: Option<WordInput>,
    /// Character BiRNN (size per direction in `ModelConfig::char_rnn_size`).
    pub char: bool,
    pub casing: bool,
}

impl ContextualInput {
    /// all-mpnet-base-v2: embeddings + 12 layers of 768.
    pub fn mpnet() -> Self {
        ContextualInput {
            layers: 13,
            dim: 768,
            encoder: "all-mpnet-base-v2".into(),
            pooling: Pooling::First,
            fine_tune: None,
        }
    }

    /// all-MiniLM-L6-v2: embeddings + 6 layers of 384.
    pub fn minilm() -> Self {
        ContextualInput {
            layers: 7,
            dim: 384,
            encoder: "all-minilm-l6-v2".into(),
            pooling: Pooling::First,
            fine_tune: None,
        }
    }
}

impl Inputs {
    /// A frozen encoder's layer mix, frozen GloVe 6B 50-d vectors, characters and casing.
    pub fn pretrained(contextual: ContextualInput) -> Self {
        Inputs {
            contextual: Some(contextual),
            word: Some(WordInput {
                dim: 50,
                trainable: false,
                min_count: 1,
                source: Some("glove-6b-50d".into()),
            }),
            char: true,
            casing: true,
        }
    }

    /// The pre-trained files these inputs name: the encoder, then the frozen word vectors.
    pub fn resource_names(&self) -> Vec<&str> {
        let encoder = self.contextual.as_ref().map(|c| c.encoder.as_str());
        let words = self
            .word
            .as_ref()
            .filter(|w| !w.trainable)
            .and_then(|w| w.source.as_deref());
        encoder.into_iter().chain(words).collect()
    }

    /// Whether the encoder is fine-tuned with the model.
    pub fn fine_tunes(&self) -> bool {
        self.contextual.as_ref().is_some_and(|c| c.fine_tune.is_some())
    }

    /// Whether any input needs pre-trained files.
    pub fn needs_resources(&self) -> bool {
        self.contextual.is_some() || self.word.as_ref().is_some_and(|w| !w.trainable)
    }

    /// What exists without pre-trained resources: learned word vectors, characters, casing.
    pub fn learned() -> Self {
        Inputs {
            contextual: None,
            word: Some(WordInput {
                dim: 100,
                trainable: true,
                min_count: 1,
                source: None,
            }),
            char: true,
            casing: true,
        }
    }
}
