//! The machine-readable record every training run writes next to its checkpoint.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::run::EpochRecord;
use crate::eval::Report;
use crate::model::ModelConfig;

#[derive(Clone, Debug, Serialize)]
pub struct DataFile {
    pub role: String,
    pub path: String,
    pub sha256: String,
    pub sentences: usize,
}

impl DataFile {
    pub fn new(role: &str, path: &Path, sentences: usize) -> DataFile {
        DataFile {
            role: role.into(),
            path: path.display().to_string(),
            sha256: sha256_file(path),
            sentences,
        }
    }
}

/// Hex SHA-256 of a file, or of every file of a folder in name order ("" if unreadable).
pub fn sha256_file(path: &Path) -> String {
    let mut h = Sha256::new();
    let mut files = vec![path.to_path_buf()];
    if path.is_dir() {
        files = std::fs::read_dir(path)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
    }
    for f in files {
        match std::fs::read(&f) {
            Ok(bytes) => h.update(&bytes),
            Err(_) => return String::new(),
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub command: String,
    pub relarc_version: String,
    pub date: String,
    pub device: String,
    pub config: ModelConfig,
    pub epochs: usize,
    /// None when the run had no dev set: nothing was evaluated, so patience played no part.
    pub patience: Option<usize>,
    pub seed: u64,
    pub data: Vec<DataFile>,
    pub removed_overlapping_entities: super::run::OverlapsRemoved,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub seconds: f64,
    pub history: Vec<EpochRecord>,
    /// Dev scores of the final model (with θr as chosen on dev).
    pub dev: Option<Report>,
    /// θr chosen on dev after training.
    pub threshold: Option<super::threshold::ThresholdChoice>,
    pub test: Option<Report>,
}

impl RunReport {
    /// The record of a finished run of `command`.
    pub fn from_outcome(
        command: &str,
        opts: &super::TrainOptions,
        outcome: &super::TrainOutcome,
        data: Vec<DataFile>,
        test: Option<Report>,
    ) -> RunReport {
        RunReport {
            command: command.into(),
            relarc_version: env!("CARGO_PKG_VERSION").into(),
            date: utc_now(),
            device: format!("{:?}", opts.device),
            config: outcome.model.config.clone(),
            epochs: opts.epochs,
            patience: (outcome.history.iter())
                .any(|epoch| epoch.dev_score.is_some())
                .then_some(opts.patience),
            seed: opts.seed,
            data,
            removed_overlapping_entities: outcome.removed_overlaps,
            best_epoch: outcome.best_epoch,
            stopped_early: outcome.stopped_early,
            seconds: outcome.seconds,
            history: outcome.history.clone(),
            dev: outcome.dev_report.clone(),
            threshold: outcome.threshold.clone(),
            test,
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::fsio::atomic_write_bytes(
            path,
            serde_json::to_string_pretty(self)
                .expect("serialisable")
                .as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_iso() {
        let d = super::utc_now();
        assert_eq!(d.len(), 20);
        assert!(d.starts_with("20") && d.ends_with('Z') && d.as_bytes()[10] == b'T');
    }
}
