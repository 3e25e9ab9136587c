//! Models on disk: a folder with `config.json` (format version and hyperparameters),
//! `vocab.json` and `model.safetensors`. Loading checks all three and says what is wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::config::ModelConfig;
use super::predict::Model;
use crate::corpus::Schema;
use crate::embed::Vocabulary;
use crate::fsio::atomic_write_bytes;

pub const FORMAT: &str = "relarc-model";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ConfigFile {
    format: String,
    format_version: u32,
    relarc_version: String,
    model: ModelConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("{}: this model has format version {found}; this relarc reads version {FORMAT_VERSION}", path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("{}: {reason}", path.display())]
    Mismatch { path: PathBuf, reason: String },
    #[error("{}: this model's pre-trained inputs cannot be loaded: {reason}", path.display())]
    Inputs { path: PathBuf, reason: String },
    #[error("the model does not know these labels of the data: {0}")]
    Labels(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Model {
    /// Writes the folder; each file is replaced atomically.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let config = ConfigFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            relarc_version: env!("CARGO_PKG_VERSION").into(),
            model: self.config.clone(),
        };
        let cfg_path = dir.join("config.json");
        atomic_write_bytes(
            &cfg_path,
            serde_json::to_string_pretty(&config)
                .expect("serialisable")
                .as_bytes(),
        )
        .map_err(io(&cfg_path))?;
        let vocab_path = dir.join("vocab.json");
        atomic_write_bytes(
            &vocab_path,
            serde_json::to_string(&self.vocab)
                .expect("serialisable")
                .as_bytes(),
        )
        .map_err(io(&vocab_path))?;
        let weights = dir.join("model.safetensors");
        let tmp = dir.join(".partial.model.safetensors");
        self.vs.save(&tmp).map_err(|e| ModelError::Damaged {
            path: tmp.clone(),
            reason: format!("could not write the weights: {e}"),
        })?;
        std::fs::rename(&tmp, &weights).map_err(io(&weights))?;
        Ok(())
    }

    /// Reads a model folder onto `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Model, ModelError> {
        let cfg_path = dir.join("config.json");
        let text = read(&cfg_path)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ModelError::Damaged {
            path: cfg_path.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(ModelError::Damaged {
                path: cfg_path,
                reason: "not a relarc model configuration (no \"format\": \"relarc-model\")".into(),
            });
        }
        let found = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        if found != FORMAT_VERSION {
            return Err(ModelError::Version {
                path: cfg_path,
                found,
            });
        }
        let config: ConfigFile = serde_json::from_value(value).map_err(|e| ModelError::Damaged {
            path: cfg_path.clone(),
            reason: format!("unreadable configuration: {e}"),
        })?;

        let vocab_path = dir.join("vocab.json");
        let mut vocab: Vocabulary =
            serde_json::from_str(&read(&vocab_path)?).map_err(|e| ModelError::Damaged {
                path: vocab_path.clone(),
                reason: format!("unreadable vocabulary: {e}"),
            })?;
        vocab.rebuild();

        let mut model = Model::new(config.model, vocab, device);
        model.attach_inputs().map_err(|e| ModelError::Inputs {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(ModelError::Io {
                path: weights,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
            });
        }
        let stored: HashMap<String, Tensor> = Tensor::read_safetensors(&weights)
            .map_err(|e| ModelError::Damaged {
                path: weights.clone(),
                reason: format!("unreadable weights (truncated or not safetensors): {e}"),
            })?
            .into_iter()
            .collect();
        let mut expected = model.vs.variables();
        let mut names: Vec<&String> = expected.keys().collect();
        names.sort();
        for name in names {
            let want = expected[name].size();
            match stored.get(name) {
                None => {
                    return Err(ModelError::Mismatch {
                        path: weights,
                        reason: format!("has no tensor {name}; the weights were saved from a model of another shape than config.json and vocab.json describe"),
                    })
                }
                Some(t) if t.size() != want => {
                    return Err(ModelError::Mismatch {
                        path: weights,
                        reason: format!("tensor {name} has shape {:?}, but config.json and vocab.json make it {want:?}", t.size()),
                    })
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = stored.keys().find(|k| !expected.contains_key(*k)) {
            return Err(ModelError::Mismatch {
                path: weights,
                reason: format!("has a tensor {extra} that this configuration does not use"),
            });
        }
        tch::no_grad(|| {
            for (name, var) in expected.iter_mut() {
                var.copy_(&stored[name]);
            }
        });
        Ok(model)
    }

    /// Fails when the data uses entity or relation types the model was not trained on.
    pub fn check_labels(&self, schema: &Schema) -> Result<(), ModelError> {
        let mut unknown: Vec<String> = schema
            .entity_types
            .iter()
            .filter(|t| !self.vocab.entity_types.contains(t))
            .map(|t| format!("entity type {t:?}"))
            .collect();
        unknown.extend(
            schema
                .relation_types
                .iter()
                .filter(|r| !self.vocab.relation_types.contains(&r.name))
                .map(|r| format!("relation type {:?}", r.name)),
        );
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Labels(format!(
                "{} (the model knows entities {:?} and relations {:?})",
                unknown.join(", "),
                self.vocab.entity_types,
                self.vocab.relation_types
            )))
        }
    }
}
