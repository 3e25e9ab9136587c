//! A configuration as a user asks for it: a preset, or a configuration file, and what the user
//! changed in it (word vectors, encoder, pooling, sizes). Every command builds its
//! configuration here, so `train`, `cv`, `trials` and `info` agree on what a flag means.

use std::path::{Path, PathBuf};

use super::config::{ContextualInput, InvalidConfig, ModelConfig, WordInput};
use crate::pretrained::encoder::transformer::HfConfig;
use crate::pretrained::{resources, Pooling, PretrainedError, StaticVectors};

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown preset {name:?}; use one of {:?}", ModelConfig::PRESETS)]
    UnknownPreset { name: String },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a model configuration: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Pretrained(#[from] PretrainedError),
    #[error("{}: {source}", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: InvalidConfig,
    },
    #[error("preset {name}: {source}")]
    InvalidPreset {
        name: String,
        #[source]
        source: InvalidConfig,
    },
}

/// A preset plus overrides. Files named here are read for their dimensions only.
#[derive(Clone, Debug, Default)]
pub struct Recipe {
    pub preset: String,
    /// A full configuration (JSON) that replaces the preset's.
    pub config_file: Option<PathBuf>,
    /// Frozen word vectors: a resource name, a converted folder or a text file.
    pub word_vectors: Option<String>,
    /// A frozen encoder: a resource name or a Hugging Face checkpoint folder.
    pub encoder: Option<String>,
    pub pooling: Option<Pooling>,
    /// Sizes alone, for counting parameters without the files (`relarc info`).
    pub sizes: Sizes,
}

/// Input sizes given as numbers, without files behind them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sizes {
    /// Frozen contextual vectors: (layers, dimension).
    pub contextual: Option<(i64, i64)>,
    /// Frozen word vectors of this dimension.
    pub word_dim: Option<i64>,
}

impl Recipe {
    pub fn preset(name: &str) -> Recipe {
        Recipe {
            preset: name.into(),
            ..Recipe::default()
        }
    }

    pub fn build(&self) -> Result<ModelConfig, ConfigError> {
        let mut cfg = match &self.config_file {
            Some(path) => read_config(path)?,
            None => ModelConfig::preset(&self.preset).ok_or_else(|| ConfigError::UnknownPreset {
                name: self.preset.clone(),
            })?,
        };
        if let Some(v) = &self.word_vectors {
            cfg.inputs.word = Some(frozen_words(v)?);
        }
        if let Some(e) = &self.encoder {
            cfg.inputs.contextual = Some(encoder_input(e)?);
        }
        if let (Some(p), Some(c)) = (self.pooling, cfg.inputs.contextual.as_mut()) {
            c.pooling = p;
        }
        self.sizes.apply(&mut cfg);
        cfg.validate().map_err(|source| match &self.config_file {
            Some(path) => ConfigError::Invalid {
                path: path.clone(),
                source,
            },
            None => ConfigError::InvalidPreset {
                name: self.preset.clone(),
                source,
            },
        })?;
        Ok(cfg)
    }
}

impl Sizes {
    fn apply(&self, cfg: &mut ModelConfig) {
        if let Some((layers, dim)) = self.contextual {
            cfg.inputs.contextual = Some(ContextualInput {
                layers,
                dim,
                encoder: "given on the command line".into(),
                pooling: Default::default(),
                fine_tune: None,
            });
        }
        if let Some(dim) = self.word_dim {
            cfg.inputs.word = Some(WordInput {
                dim,
                trainable: false,
                min_count: 1,
                source: None,
            });
        }
    }
}

fn read_config(path: &Path) -> Result<ModelConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })
}

fn frozen_words(name: &str) -> Result<WordInput, PretrainedError> {
    let path = resources::locate(name)?;
    Ok(WordInput {
        dim: StaticVectors::peek_dim(&path)?,
        trainable: false,
        min_count: 1,
        source: Some(path.display().to_string()),
    })
}

fn encoder_input(name: &str) -> Result<ContextualInput, PretrainedError> {
    let path = resources::locate(name)?;
    let hf = HfConfig::read(&path)?;
    Ok(ContextualInput {
        layers: hf.num_hidden_layers as i64 + 1,
        dim: hf.hidden_size,
        encoder: path.display().to_string(),
        pooling: Default::default(),
        fine_tune: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_with_sizes_takes_them() {
        let r = Recipe {
            sizes: Sizes {
                contextual: Some((3, 1024)),
                word_dim: Some(300),
            },
            ..Recipe::preset("conll04")
        };
        let cfg = r.build().unwrap();
        let c = cfg.inputs.contextual.unwrap();
        assert_eq!((c.layers, c.dim), (3, 1024));
        let w = cfg.inputs.word.unwrap();
        assert_eq!((w.dim, w.trainable), (300, false));
    }

    #[test]
    fn a_configuration_file_with_a_bad_value_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut cfg = ModelConfig::ade();
        cfg.rnn_size = 0;
        std::fs::write(&path, serde_json::to_string(&cfg).unwrap()).unwrap();
        let r = Recipe {
            config_file: Some(path.clone()),
            ..Recipe::preset("ade")
        };
        let err = r.build().unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("`rnn_size` is 0"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_preset_and_a_bad_file_say_what_is_wrong() {
        let err = Recipe::preset("bert").build().unwrap_err().to_string();
        assert!(
            err.contains("unknown preset \"bert\"") && err.contains("conll04"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, "{\"rnn\": 3}").unwrap();
        let r = Recipe {
            config_file: Some(path.clone()),
            ..Recipe::preset("ade")
        };
        let err = r.build().unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("not a model configuration"), "{err}");
    }
}
