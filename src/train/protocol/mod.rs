//! The research protocols, as library code with typed reports: k-fold cross-validation (the
//! ADE protocol) and trials (the CoNLL04 protocol: epochs chosen on dev, then several seeds
//! on train + dev, scored on test). Each training goes through a `Runner`, so the command
//! line can show a progress bar and the app (or a test) can run jobs its own way.

pub mod cv;
pub mod summary;
pub mod trials;

use std::path::PathBuf;

pub use cv::{cross_validate, CvPlan, CvReport, FoldResult};
pub use summary::{MeanStd, Summary};
pub use trials::{run_trials, TrialResult, TrialsPlan, TrialsReport};

use super::{Failure, TrainError, TrainJob, TrainOutcome};
use crate::corpus::CorpusError;
use crate::eval::Report;

/// Runs one training to its end; the label names it ("fold 3", "trial 1").
pub type Runner<'a> = dyn FnMut(TrainJob, &str) -> Result<TrainOutcome, Failure> + 'a;

/// What a protocol reports as it goes, for a progress display.
pub enum Progress<'a> {
    /// A run finished and was scored on its test data.
    Scored {
        label: &'a str,
        best_epoch: usize,
        seconds: f64,
        test: &'a Report,
    },
    /// The trials protocol chose this many epochs on dev.
    EpochsChosen(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Failed(#[from] Failure),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), ProtocolError> {
    let text = serde_json::to_string_pretty(value).expect("reports serialise");
    crate::fsio::atomic_write_bytes(path, text.as_bytes()).map_err(|source| ProtocolError::Write {
        path: path.into(),
        source,
    })
}
