//! The research protocols, as library code with typed reports: k-fold cross-validation (the
//! ADE protocol) and trials (the CoNLL04 protocol: epochs chosen on dev, then several seeds
//! on train + dev, scored on test). Each training goes through a `Runner`, so the command
//! line can show a progress bar and the app (or a test) can run jobs its own way.

pub mod cv;
pub mod eta;
pub mod resume;
pub mod seeds;
pub mod summary;
pub mod together;
pub mod trials;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The report a cross-validation (or models scored together fold by fold) writes in its folder.
pub const CV_REPORT: &str = "cv_report.json";

pub use cv::{cross_validate, CvPlan, CvReport, FoldResult};
pub use seeds::{cross_validate_seeds, SeedRun, SeedsReport, TogetherFold};
pub use summary::{MeanStd, Summary};
pub use together::{score_runs_together, SkippedFold, TogetherPlan, TogetherProgress, TogetherReport};
pub use trials::{run_trials, TrialResult, TrialsPlan, TrialsReport};

use super::{Failure, TrainError, TrainJob, TrainOutcome};
use crate::corpus::CorpusError;
use crate::eval::Report;
use crate::model::ModelConfig;
use crate::pretrained::features::Featurizer;
use crate::pretrained::inputs::Inputs;

/// Runs one training to its end; the label names it ("fold 3", "trial 1"). Several may run
/// at once (`jobs` in the plans), each from its own thread.
pub type Runner<'a> = dyn Fn(TrainJob, &str) -> Result<TrainOutcome, Failure> + Sync + 'a;

/// What a protocol reports as it goes (from whichever job's thread finished).
pub type ProgressSink<'a> = dyn FnMut(Progress) + Send + 'a;

/// What a protocol reports as it goes, for a progress display.
pub enum Progress<'a> {
    /// A run finished (or had finished before: `resumed`) and was scored on its test data;
    /// `done` of the protocol's `total` runs are now finished.
    Scored {
        label: &'a str,
        best_epoch: usize,
        seconds: f64,
        test: &'a Report,
        resumed: bool,
        done: usize,
        total: usize,
    },
    /// Frozen encoder features computed ahead of jobs that run at once (`done` of `total`
    /// sentences).
    Preparing { done: usize, total: usize },
    /// A test fold scored by the models of `seeds` seeds predicting together.
    Together {
        fold: usize,
        seeds: usize,
        test: &'a Report,
    },
    /// The trials protocol's dev run chose the epochs and θr of the trials.
    ChosenOnDev { epochs: usize, threshold: f64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Failed(#[from] Failure),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("{}: this folder holds a different run (its {what} differs); give another --out, or delete the folder to start over", path.display())]
    DifferentRun { path: PathBuf, what: &'static str },
    /// A study's own error, carried through `run_jobs`.
    #[error("{0}")]
    Study(String),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `work(i, threads)` for `i` in `0..n`, up to `jobs` at once, and returns the results
/// in index order. One job runs in the calling thread with the process's threads (`None`);
/// several run on threads of their own, each limited to its share of the thread policy,
/// which `work` passes on to its training. After a failure no further job starts, and the
/// failure of the lowest index is returned.
pub(crate) fn run_jobs<T: Send>(
    n: usize,
    jobs: usize,
    work: &(dyn Fn(usize, Option<usize>) -> Result<T, ProtocolError> + Sync),
) -> Result<Vec<T>, ProtocolError> {
    if jobs <= 1 || n <= 1 {
        return (0..n).map(|i| work(i, None)).collect();
    }
    let total = crate::threads::ThreadPolicy::detect().map_or(1, |p| p.threads);
    let share = crate::threads::share(total, jobs);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<T, ProtocolError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(n) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n || failed.load(Ordering::SeqCst) {
                    break;
                }
                let result = crate::threads::with_threads(share, || work(i, Some(share)));
                failed.fetch_or(result.is_err(), Ordering::SeqCst);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Computes the frozen encoder's features of `sentences` once, with all the process's
/// threads, before several jobs start at once: each would otherwise miss the cache and
/// compute the same features beside the others.
pub(crate) fn warm_shared_features(
    plan: (&ModelConfig, tch::Device),
    sentences: &[&[String]],
    progress: &Mutex<&mut ProgressSink>,
) -> Result<(), ProtocolError> {
    let (config, device) = plan;
    warm_frozen_features(&[&config.inputs], device, sentences, &mut |done, total| {
        (progress.lock().unwrap_or_else(|e| e.into_inner()))(Progress::Preparing { done, total })
    })
}

/// Computes and caches the features of `sentences` for each of `inputs`' frozen encoders,
/// telling `report(done, total)` as it goes, with one encoder run per sentence for inputs that
/// differ only in pooling; nothing for inputs without one, or whose encoder is fine-tuned
/// (each run's encoder is its own and changes as it learns: nothing to cache).
pub(crate) fn warm_frozen_features(
    inputs: &[&Inputs],
    device: tch::Device,
    sentences: &[&[String]],
    report: &mut dyn FnMut(usize, usize),
) -> Result<(), ProtocolError> {
    let mut featurizers = Vec::new();
    for i in inputs.iter().filter(|i| !i.fine_tunes()) {
        featurizers.extend(Featurizer::for_inputs(i, device).map_err(TrainError::from)?);
    }
    let all: Vec<&Featurizer> = featurizers.iter().map(|f| f.as_ref()).collect();
    Featurizer::warm_together(&all, sentences, report).map_err(TrainError::from)?;
    Ok(())
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), ProtocolError> {
    let text = serde_json::to_string_pretty(value).expect("reports serialise");
    crate::fsio::atomic_write_bytes(path, text.as_bytes()).map_err(|source| ProtocolError::Write {
        path: path.into(),
        source,
    })
}
