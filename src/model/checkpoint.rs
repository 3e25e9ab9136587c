//! Models on disk: a folder with `config.json` (format version and hyperparameters),
//! `vocab.json` and `model.safetensors`. Loading checks all three and says what is wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::config::ModelConfig;
use super::predict::Model;
use crate::corpus::Schema;
use crate::embed::Vocabulary;
use crate::fsio::atomic_write_bytes;

pub const FORMAT: &str = "relarc-model";
pub const FORMAT_VERSION: u32 = 1;
/// A fine-tuned encoder's trained weights are stored in float16, half the size of float32 (a
/// fine-tuned MPNet is 438 MB in float32); training rounds them to it before it scores and saves
/// the best weights, so that the model it reports on is the one saved and loaded. Its frozen
/// layers stay float32, as they came.
const STORED_ENCODER: Kind = Kind::Half;

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
    Version { path: PathBuf, found: String },
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
        if super::combined::is_combined(dir) {
            return Err(ModelError::Mismatch {
                path: dir.to_path_buf(),
                reason: "holds a combined model (members.json); save this model to another folder".into(),
            });
        }
        // The folder is replaced as a whole: a failed or interrupted save leaves the previous
        // model loadable.
        let mut failure = None;
        let written = crate::fsio::write_dir_atomically(dir, |tmp| {
            self.write_files(tmp).map_err(|e| {
                failure = Some(e);
                std::io::Error::other("model not written")
            })
        });
        match (failure, written) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(ModelError::Io {
                path: dir.to_path_buf(),
                source: e,
            }),
            (None, Ok(())) => Ok(()),
        }
    }

    fn write_files(&self, dir: &Path) -> Result<(), ModelError> {
        let config = ConfigFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            relarc_version: env!("CARGO_PKG_VERSION").into(),
            model: self.config.clone(),
        };
        let cfg_path = dir.join("config.json");
        let text = serde_json::to_string_pretty(&config).expect("serialisable");
        atomic_write_bytes(&cfg_path, text.as_bytes()).map_err(io(&cfg_path))?;
        let vocab_path = dir.join("vocab.json");
        let text = serde_json::to_string(&self.vocab).expect("serialisable");
        atomic_write_bytes(&vocab_path, text.as_bytes()).map_err(io(&vocab_path))?;
        if let Some(t) = &self.trained_on {
            t.write(dir)?;
        }
        if let Some(enc) = self.tuned_encoder() {
            // What rebuilds the fine-tuned encoder without the checkpoint it started from.
            let to = dir.join(super::predict::ENCODER);
            std::fs::create_dir_all(&to).map_err(io(&to))?;
            for f in ["config.json", "tokenizer.json"] {
                let target = to.join(f);
                std::fs::copy(enc.dir.join(f), &target).map_err(io(&target))?;
            }
        }
        let weights = dir.join("model.safetensors");
        self.write_weights(&weights).map_err(|e| ModelError::Damaged {
            path: weights.clone(),
            reason: format!("could not write the weights: {e}"),
        })?;
        std::fs::File::open(&weights)
            .and_then(|f| f.sync_all())
            .map_err(io(&weights))?;
        // In `sha256sum` form, so `sha256sum -c model.sha256` checks it too.
        let sum = sha256_hex(&std::fs::read(&weights).map_err(io(&weights))?);
        let sum_path = dir.join(CHECKSUM);
        atomic_write_bytes(&sum_path, format!("{sum}  model.safetensors\n").as_bytes()).map_err(io(&sum_path))
    }

    fn write_weights(&self, path: &Path) -> Result<(), tch::TchError> {
        let mut named: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, t) in named.iter_mut().filter(|(name, t)| stored_smaller(name, t)) {
            *t = t.to_kind(STORED_ENCODER);
        }
        Tensor::write_safetensors(&named, path)
    }

    /// Rounds a fine-tuned encoder's weights to the precision they are stored in (nothing
    /// to do for other models).
    pub fn round_to_stored_precision(&self) {
        tch::no_grad(|| {
            for (name, mut var) in self.vs.variables() {
                if stored_smaller(&name, &var) {
                    var.copy_(&var.to_kind(STORED_ENCODER).to_kind(Kind::Float));
                }
            }
        });
    }

    /// Reads a model folder onto `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Model, ModelError> {
        if super::combined::is_combined(dir) {
            let members = super::combined::member_dirs(dir)?;
            let names: Vec<String> = members.iter().map(|m| m.display().to_string()).collect();
            return Err(ModelError::Mismatch {
                path: dir.to_path_buf(),
                reason: format!(
                    "holds {} models that predict together (members.json), where one model is needed here: give one of them ({})",
                    names.len(),
                    names.join(", ")
                ),
            });
        }
        let config = read_config(&dir.join("config.json"))?;
        let vocab_path = dir.join("vocab.json");
        let mut vocab: Vocabulary =
            serde_json::from_str(&read(&vocab_path)?).map_err(|e| ModelError::Damaged {
                path: vocab_path.clone(),
                reason: format!("unreadable vocabulary: {e}"),
            })?;
        vocab.rebuild();
        let mut model = Model::new(config.model, vocab, device);
        model.trained_on = super::trained_on::TrainedOn::read(dir)?;
        model
            .attach_inputs_from(Some(dir))
            .map_err(|e| ModelError::Inputs {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        let weights = dir.join("model.safetensors");
        let stored = read_weights(&weights)?;
        let mut expected = model.vs.variables();
        check_tensors(&weights, &expected, &stored)?;
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

/// `config.json`: a relarc model configuration of this format version.
fn read_config(cfg_path: &Path) -> Result<ConfigFile, ModelError> {
    let text = read(cfg_path)?;
    let damaged = |reason: String| ModelError::Damaged {
        path: cfg_path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| damaged(format!("not valid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(damaged(
            "not a relarc model configuration (no \"format\": \"relarc-model\")".into(),
        ));
    }
    let version = value.get("format_version");
    if version.and_then(|v| v.as_u64()) != Some(FORMAT_VERSION as u64) {
        return Err(ModelError::Version {
            path: cfg_path.to_path_buf(),
            // As written: `"1"` (a string) is not version 1.
            found: version.map_or("none".into(), |v| v.to_string()),
        });
    }
    let config: ConfigFile =
        serde_json::from_value(value).map_err(|e| damaged(format!("unreadable configuration: {e}")))?;
    config.model.validate().map_err(|e| damaged(e.to_string()))?;
    Ok(config)
}

/// The weights' checksum beside them (models saved before it existed have none).
const CHECKSUM: &str = "model.sha256";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares the weights with `model.sha256` where there is one.
fn verify_checksum(weights: &Path) -> Result<(), ModelError> {
    let sum_path = weights.with_file_name(CHECKSUM);
    let Ok(text) = std::fs::read_to_string(&sum_path) else {
        return Ok(());
    };
    let expected = text.split_whitespace().next().unwrap_or_default();
    let actual = sha256_hex(&std::fs::read(weights).map_err(io(weights))?);
    if actual == expected {
        return Ok(());
    }
    Err(ModelError::Damaged {
        path: weights.to_path_buf(),
        reason: format!(
            "its SHA-256 is not the one in {CHECKSUM}: the file was changed or damaged after it was saved"
        ),
    })
}

/// A trained weight of a fine-tuned encoder, which is stored in `STORED_ENCODER`.
fn stored_smaller(name: &str, t: &Tensor) -> bool {
    is_encoder(name) && t.kind() == Kind::Float && t.requires_grad()
}

/// A fine-tuned encoder's weight, as opposed to the rest of the model.
fn is_encoder(name: &str) -> bool {
    name.strip_prefix(super::predict::ENCODER)
        .is_some_and(|rest| rest.starts_with('.'))
}

fn read_weights(weights: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    if !weights.exists() {
        return Err(ModelError::Io {
            path: weights.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
        });
    }
    let stored = Tensor::read_safetensors(weights).map_err(|e| ModelError::Damaged {
        path: weights.to_path_buf(),
        reason: format!("unreadable weights (truncated or not safetensors): {e}"),
    })?;
    verify_checksum(weights)?;
    Ok(stored.into_iter().collect())
}

/// Every tensor the configuration makes is stored with its shape, and nothing else is.
fn check_tensors(
    weights: &Path,
    expected: &HashMap<String, Tensor>,
    stored: &HashMap<String, Tensor>,
) -> Result<(), ModelError> {
    let mismatch = |reason: String| ModelError::Mismatch {
        path: weights.to_path_buf(),
        reason,
    };
    let mut names: Vec<&String> = expected.keys().collect();
    names.sort();
    for name in names {
        let want = expected[name].size();
        match stored.get(name) {
            None => return Err(mismatch(format!("has no tensor {name}; the weights were saved from a model of another shape than config.json and vocab.json describe"))),
            Some(t) if t.size() != want => {
                return Err(mismatch(format!(
                    "tensor {name} has shape {:?}, but config.json and vocab.json make it {want:?}",
                    t.size()
                )))
            }
            Some(t) if t.kind() != expected[name].kind() && !(is_encoder(name) && t.kind() == STORED_ENCODER) => {
                return Err(mismatch(format!(
                    "tensor {name} holds {:?} values; the model needs {:?}",
                    t.kind(),
                    expected[name].kind()
                )))
            }
            Some(t) if t.numel() > 0 && t.isfinite().all().int64_value(&[]) == 0 => {
                return Err(ModelError::Damaged {
                    path: weights.to_path_buf(),
                    reason: format!("tensor {name} has values that are not finite (NaN or infinite)"),
                })
            }
            Some(_) => {}
        }
    }
    match stored.keys().find(|k| !expected.contains_key(*k)) {
        Some(extra) => Err(mismatch(format!(
            "has a tensor {extra} that this configuration does not use"
        ))),
        None => Ok(()),
    }
}
