//! k-fold cross-validation over `split_K_train.json` / `split_K_test.json` files, with a
//! seeded dev part of each training fold for early stopping (the ADE protocol).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use super::resume::{self, Fingerprint};
use super::{
    run_jobs, warm_shared_features, write_json, Progress, ProgressSink, ProtocolError, Runner, Summary,
};
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::{split, Corpus};
use crate::eval::Report;
use crate::model::ModelConfig;
use crate::train::report::{utc_now, DataFile, RunReport};
use crate::train::run::evaluate_model;
use crate::train::{TrainJob, TrainOptions};

#[derive(Clone)]
pub struct CvPlan {
    pub config: ModelConfig,
    /// Fold `i` trains with seed `options.seed + i`.
    pub options: TrainOptions,
    /// The folder holding the fold files.
    pub folds: PathBuf,
    /// Fraction of each training fold held out for early stopping.
    pub dev_fraction: f64,
    pub max_folds: Option<usize>,
    /// Train and report only these folds (0-based), e.g. to share one cv among machines:
    /// each run into the same `out` keeps the folds another has finished.
    pub only_folds: Option<Vec<usize>>,
    /// Folds trained at once, each on its share of the threads.
    pub jobs: usize,
    /// Each fold's model and report go to `out/fold_K`; the whole report to `out/cv_report.json`.
    pub out: PathBuf,
    /// The command that asked for the run, for the reports.
    pub command: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct FoldResult {
    pub fold: usize,
    pub best_epoch: usize,
    pub seconds: f64,
    pub test: Report,
}

#[derive(Clone, Debug, Serialize)]
pub struct CvReport {
    pub command: String,
    pub date: String,
    pub device: String,
    pub seconds: f64,
    pub folds: Vec<FoldResult>,
    pub summary: Summary,
}

/// Trains and scores each fold (`plan.jobs` at once), writing its report as it finishes,
/// then the summary.
pub fn cross_validate(
    plan: &CvPlan,
    run: &Runner,
    progress: &mut ProgressSink,
) -> Result<CvReport, ProtocolError> {
    let started = Instant::now();
    let folds = split::load_fold_files(&plan.folds)?;
    fingerprint("cv", plan, folds.len()).claim(&plan.out)?;
    let chosen = chosen_folds(plan, folds.len())?;
    let k = chosen.len();
    let folds: Vec<Mutex<Option<(Corpus, Corpus)>>> = (folds.into_iter().enumerate())
        .map(|(i, f)| Mutex::new(chosen.contains(&i).then_some(f)))
        .collect();
    let progress = Mutex::new(progress);
    if plan.jobs > 1 {
        let all = folds.iter().map(|f| f.lock().unwrap_or_else(|e| e.into_inner()));
        let all: Vec<_> = all.collect();
        let tokens: Vec<&[String]> = all
            .iter()
            .filter_map(|f| f.as_ref())
            .flat_map(|(train, test)| train.sentences.iter().chain(&test.sentences))
            .map(|s| s.tokens.as_slice())
            .collect();
        warm_shared_features((&plan.config, plan.options.device), &tokens, &progress)?;
    }
    let done = AtomicUsize::new(0);
    let results = run_jobs(k, plan.jobs, &|j, threads| {
        let i = chosen[j];
        let (result, resumed) = match finished_fold(plan, i) {
            Some(result) => (result, true),
            None => {
                let (train, test) = take(&folds[i]);
                (run_fold(plan, i, train, test, threads, run)?, false)
            }
        };
        (progress.lock().unwrap_or_else(|e| e.into_inner()))(Progress::Scored {
            label: &format!("fold {i}"),
            best_epoch: result.best_epoch,
            seconds: result.seconds,
            test: &result.test,
            resumed,
            done: done.fetch_add(1, Ordering::SeqCst) + 1,
            total: k,
        });
        Ok(result)
    })?;
    let tests: Vec<Report> = results.iter().map(|r| r.test.clone()).collect();
    let report = CvReport {
        command: plan.command.clone(),
        date: utc_now(),
        device: format!("{:?}", plan.options.device),
        seconds: started.elapsed().as_secs_f64(),
        folds: results,
        summary: Summary::of(&tests),
    };
    write_json(&plan.out.join(super::CV_REPORT), &report)?;
    Ok(report)
}

/// What makes a run into `plan.out` this run (see `resume`), for `n` folds.
pub(super) fn fingerprint(protocol: &str, plan: &CvPlan, n: usize) -> Fingerprint {
    let files: Vec<PathBuf> = (0..n)
        .flat_map(|i| ["train", "test"].map(|role| plan.folds.join(format!("split_{i}_{role}.json"))))
        .collect();
    let mut fingerprint = Fingerprint::new(protocol, &plan.config, &plan.options, &files);
    fingerprint.dev_fraction = Some(plan.dev_fraction);
    fingerprint
}

/// The fold indices this run trains, in order: `only_folds`, else the first `max_folds`.
fn chosen_folds(plan: &CvPlan, n: usize) -> Result<Vec<usize>, ProtocolError> {
    let Some(only) = &plan.only_folds else {
        return Ok((0..plan.max_folds.unwrap_or(n).min(n)).collect());
    };
    if let Some(bad) = only.iter().find(|&&i| i >= n) {
        return Err(ProtocolError::Study(format!(
            "--only-folds: there is no fold {bad} in {} (folds 0 to {})",
            plan.folds.display(),
            n - 1
        )));
    }
    let mut chosen = only.clone();
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}

/// Fold `i` as an earlier run into the same folder finished it.
fn finished_fold(plan: &CvPlan, i: usize) -> Option<FoldResult> {
    let f = resume::finished(&plan.out.join(format!("fold_{i}")), true)?;
    Some(FoldResult {
        fold: i,
        best_epoch: f.best_epoch,
        seconds: f.seconds,
        test: f.test?,
    })
}

/// A fold's corpora, taken by the one job that trains it.
fn take(fold: &Mutex<Option<(Corpus, Corpus)>>) -> (Corpus, Corpus) {
    let mut slot = fold.lock().unwrap_or_else(|e| e.into_inner());
    slot.take().expect("each fold is trained once")
}

fn run_fold(
    plan: &CvPlan,
    i: usize,
    train: Corpus,
    mut test: Corpus,
    threads: Option<usize>,
    run: &Runner,
) -> Result<FoldResult, ProtocolError> {
    // The trainer removes (and counts) the overlapping entities of the training part and dev.
    let removed_from_test = remove_overlaps_all(&mut test.sentences).entities;
    let seed = plan.options.seed + i as u64;
    let (dev, fit) = split::holdout(&train, plan.dev_fraction, seed);
    let options = TrainOptions {
        seed,
        threads,
        ..plan.options.clone()
    };
    let out = plan.out.join(format!("fold_{i}"));
    let job = TrainJob {
        config: plan.config.clone(),
        options: options.clone(),
        train: fit.sentences,
        dev: dev.sentences,
        out: Some(out.clone()),
        init: None,
    };
    let outcome = run(job, &format!("fold {i}"))?;
    let scored = evaluate_model(&outcome.model, &test.sentences)?;
    let data = vec![
        fold_file("train", &plan.folds, i, train.sentences.len()),
        fold_file("test", &plan.folds, i, test.sentences.len()),
    ];
    let mut report = RunReport::from_outcome(&plan.command, &options, &outcome, data, Some(scored.clone()));
    report.removed_overlapping_entities.test = Some(removed_from_test);
    write_json(&out.join(crate::model::RUN_REPORT), &report)?;
    Ok(FoldResult {
        fold: i,
        best_epoch: outcome.best_epoch,
        seconds: outcome.seconds,
        test: scored,
    })
}

fn fold_file(role: &str, dir: &Path, i: usize, sentences: usize) -> DataFile {
    DataFile::new(role, &dir.join(format!("split_{i}_{role}.json")), sentences)
}
