//! Hyperparameters of the model and its training (paper Table 1), with the two presets.

use serde::{Deserialize, Serialize};

use crate::pretrained::Pooling;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RnnKind {
    Gru,
    Lstm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Linear,
}

impl Activation {
    pub fn apply(self, x: &tch::Tensor) -> tch::Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Linear => x.shallow_clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Adam,
    /// Nesterov Adam (Dozat 2016), as Keras implements it.
    Nadam,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ffnn {
    pub activation: Activation,
    pub size: i64,
}

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub rnn: RnnKind,
    /// Per direction.
    pub char_rnn_size: i64,
    pub char_embedding: i64,
    /// Per direction, for every non-character BiRNN.
    pub rnn_size: i64,
    pub shared_layers: usize,
    pub ner_layers: usize,
    pub re_layers: usize,
    /// FFNN(e1).
    pub ner_ffnn: Ffnn,
    /// FFNN(r1).
    pub re_ffnn: Ffnn,
    pub label_embedding: i64,
    /// Dropout before every BiRNN layer except the character one.
    pub rnn_dropout: f64,
    /// Dropout before RE scoring.
    pub re_dropout: f64,
    /// θr: a relation is predicted where its probability exceeds this.
    pub re_threshold: f64,
    /// λr in `L = L_NER + λr · L_RE`.
    pub re_weight: f64,
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub inputs: Inputs,
}

impl ModelConfig {
    /// Table 1, ADE column.
    pub fn ade() -> Self {
        ModelConfig {
            rnn: RnnKind::Gru,
            char_rnn_size: 32,
            char_embedding: 25,
            rnn_size: 128,
            shared_layers: 1,
            ner_layers: 1,
            re_layers: 1,
            ner_ffnn: Ffnn {
                activation: Activation::Relu,
                size: 64,
            },
            re_ffnn: Ffnn {
                activation: Activation::Relu,
                size: 128,
            },
            label_embedding: 25,
            rnn_dropout: 0.5,
            re_dropout: 0.5,
            re_threshold: 0.9,
            re_weight: 5.0,
            optimizer: Optimizer::Adam,
            learning_rate: 5e-4,
            batch_size: 16,
            inputs: Inputs::learned(),
        }
    }

    /// Table 1, CoNLL04 column.
    pub fn conll04() -> Self {
        ModelConfig {
            rnn_size: 256,
            re_layers: 2,
            ner_ffnn: Ffnn {
                activation: Activation::Tanh,
                size: 64,
            },
            rnn_dropout: 0.35,
            optimizer: Optimizer::Nadam,
            batch_size: 2,
            ..ModelConfig::ade()
        }
    }

    /// A named configuration: `conll04` and `ade` are Table 1 with the pre-trained inputs
    /// relarc can fetch (MPNet layer mix + GloVe 50-d + characters + casing); `-minilm` swaps
    /// in the smaller MiniLM-L6 encoder; `-learned` needs no pre-trained files at all.
    pub fn preset(name: &str) -> Option<Self> {
        let (base, inputs) = name.rsplit_once('-').map_or((name, ""), |(b, i)| (b, i));
        let mut cfg = match base {
            "ade" => Self::ade(),
            "conll04" => Self::conll04(),
            _ => return None,
        };
        cfg.inputs = match inputs {
            "" => Inputs::pretrained(ContextualInput::mpnet()),
            "minilm" => Inputs::pretrained(ContextualInput::minilm()),
            "learned" => Inputs::learned(),
            _ => return None,
        };
        Some(cfg)
    }

    pub const PRESETS: [&'static str; 6] = [
        "conll04",
        "conll04-minilm",
        "conll04-learned",
        "ade",
        "ade-minilm",
        "ade-learned",
    ];
}

impl ContextualInput {
    /// all-mpnet-base-v2: embeddings + 12 layers of 768.
    pub fn mpnet() -> Self {
        ContextualInput {
            layers: 13,
            dim: 768,
            encoder: "all-mpnet-base-v2".into(),
            pooling: Pooling::First,
        }
    }

    /// all-MiniLM-L6-v2: embeddings + 6 layers of 384.
    pub fn minilm() -> Self {
        ContextualInput {
            layers: 7,
            dim: 384,
            encoder: "all-minilm-l6-v2".into(),
            pooling: Pooling::First,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_table_one() {
        let a = ModelConfig::ade();
        let c = ModelConfig::conll04();
        assert_eq!((a.rnn, c.rnn), (RnnKind::Gru, RnnKind::Gru));
        assert_eq!((a.char_rnn_size, c.char_rnn_size), (32, 32));
        assert_eq!((a.rnn_size, c.rnn_size), (128, 256));
        assert_eq!((a.shared_layers, a.ner_layers, a.re_layers), (1, 1, 1));
        assert_eq!((c.shared_layers, c.ner_layers, c.re_layers), (1, 1, 2));
        assert_eq!(
            a.ner_ffnn,
            Ffnn {
                activation: Activation::Relu,
                size: 64
            }
        );
        assert_eq!(
            c.ner_ffnn,
            Ffnn {
                activation: Activation::Tanh,
                size: 64
            }
        );
        assert_eq!(
            (a.re_ffnn, c.re_ffnn),
            (
                Ffnn {
                    activation: Activation::Relu,
                    size: 128
                },
                Ffnn {
                    activation: Activation::Relu,
                    size: 128
                }
            )
        );
        assert_eq!((a.label_embedding, c.label_embedding), (25, 25));
        assert_eq!((a.rnn_dropout, c.rnn_dropout), (0.5, 0.35));
        assert_eq!((a.re_dropout, c.re_dropout), (0.5, 0.5));
        assert_eq!((a.re_threshold, c.re_threshold), (0.9, 0.9));
        assert_eq!((a.re_weight, c.re_weight), (5.0, 5.0));
        assert_eq!((a.optimizer, c.optimizer), (Optimizer::Adam, Optimizer::Nadam));
        assert_eq!((a.batch_size, c.batch_size), (16, 2));
        assert_eq!((a.learning_rate, c.learning_rate), (5e-4, 5e-4));
    }

    #[test]
    fn preset_names_choose_inputs() {
        for name in ModelConfig::PRESETS {
            assert!(ModelConfig::preset(name).is_some(), "{name}");
        }
        let c = ModelConfig::preset("conll04").unwrap();
        assert_eq!(c.batch_size, 2);
        assert_eq!(c.inputs.contextual.as_ref().unwrap().encoder, "all-mpnet-base-v2");
        assert_eq!(
            c.inputs.word.as_ref().unwrap().source.as_deref(),
            Some("glove-6b-50d")
        );
        assert!(c.inputs.needs_resources());
        let a = ModelConfig::preset("ade-minilm").unwrap();
        assert_eq!((a.batch_size, a.inputs.contextual.unwrap().dim), (16, 384));
        assert!(!ModelConfig::preset("ade-learned")
            .unwrap()
            .inputs
            .needs_resources());
        assert!(ModelConfig::preset("bert").is_none());
        assert!(ModelConfig::preset("ade-elmo").is_none());
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = ModelConfig::conll04();
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"optimizer\":\"nadam\""));
        assert_eq!(serde_json::from_str::<ModelConfig>(&text).unwrap(), c);
    }
}
