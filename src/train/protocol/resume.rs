//! Resuming a protocol run. `out/plan.json` records what the run is (configuration, training
//! options, data), so running the same command into the same folder again keeps the runs
//! that finished (a run has finished when its `report.json` is written, after its model) and
//! trains the rest; a half-finished run starts over. A folder holding a different run is
//! refused rather than mixed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{write_json, ProtocolError};
use crate::eval::Report;
use crate::model::ModelConfig;
use crate::train::report::sha256_file;
use crate::train::TrainOptions;

/// What makes two runs of a protocol the same run (the number of folds or trials and the
/// jobs at once do not: a run can be extended, and resumed with other jobs).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub protocol: String,
    pub config: ModelConfig,
    pub epochs: usize,
    pub patience: usize,
    pub seed: u64,
    pub choose_threshold: bool,
    /// Each data file and its SHA-256.
    pub data: Vec<(String, String)>,
    /// The held-out fraction of each fold (cv).
    pub dev_fraction: Option<f64>,
}

impl Fingerprint {
    pub fn new(
        protocol: &str,
        config: &ModelConfig,
        options: &TrainOptions,
        files: &[PathBuf],
    ) -> Fingerprint {
        Fingerprint {
            protocol: protocol.into(),
            config: config.clone(),
            epochs: options.epochs,
            patience: options.patience,
            seed: options.seed,
            choose_threshold: options.choose_threshold,
            data: files
                .iter()
                .map(|f| (f.display().to_string(), sha256_file(f)))
                .collect(),
            dev_fraction: None,
        }
    }

    /// The first thing that differs from `other`, in words.
    fn difference(&self, other: &Fingerprint) -> Option<&'static str> {
        // Without a dev part nothing stops early, so patience cannot change a run.
        let patience_applies = self.dev_fraction != Some(0.0);
        let differs = [
            (self.protocol != other.protocol, "protocol"),
            (self.config != other.config, "model configuration"),
            (self.epochs != other.epochs, "--epochs"),
            (patience_applies && self.patience != other.patience, "--patience"),
            (self.seed != other.seed, "--seed"),
            (self.choose_threshold != other.choose_threshold, "--threshold"),
            (self.data != other.data, "data files or their content"),
            (self.dev_fraction != other.dev_fraction, "--dev-fraction"),
        ];
        differs.iter().find(|(d, _)| *d).map(|(_, what)| *what)
    }

    /// Writes `out/plan.json`, or checks that the one there is this run's.
    pub fn claim(&self, out: &Path) -> Result<(), ProtocolError> {
        let path = out.join("plan.json");
        std::fs::create_dir_all(out).map_err(|source| ProtocolError::Write {
            path: out.into(),
            source,
        })?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return write_json(&path, self),
            Err(source) => return Err(ProtocolError::Write { path, source }),
        };
        let what = match serde_json::from_str::<Fingerprint>(&text) {
            Ok(there) => self.difference(&there),
            Err(_) => Some("plan.json (unreadable)"),
        };
        match what {
            None => Ok(()),
            Some(what) => Err(ProtocolError::DifferentRun { path, what }),
        }
    }
}

/// What a finished run left in its `report.json`.
pub struct Finished {
    pub best_epoch: usize,
    pub seconds: f64,
    /// θr of its model.
    pub threshold: f64,
    pub test: Option<Report>,
}

#[derive(Deserialize)]
struct Written {
    best_epoch: usize,
    seconds: f64,
    config: ModelConfig,
    test: Option<Report>,
}

/// The run in `dir`, if it finished (and, with `scored`, was scored on its test data).
pub fn finished(dir: &Path, scored: bool) -> Option<Finished> {
    let text = std::fs::read_to_string(dir.join(crate::model::RUN_REPORT)).ok()?;
    let w: Written = serde_json::from_str(&text).ok()?;
    if scored && w.test.is_none() {
        return None;
    }
    Some(Finished {
        best_epoch: w.best_epoch,
        seconds: w.seconds,
        threshold: w.config.re_threshold,
        test: w.test,
    })
}
