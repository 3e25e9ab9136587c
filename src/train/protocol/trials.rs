//! The CoNLL04 protocol: the number of epochs is chosen on dev, then `n` runs with different
//! seeds train on train + dev for that many epochs and are scored on test.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use super::resume::{self, Fingerprint};
use super::{run_jobs, write_json, Progress, ProgressSink, ProtocolError, Runner, Summary};
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::{Corpus, Sentence};
use crate::eval::Report;
use crate::model::ModelConfig;
use crate::train::report::{utc_now, DataFile, RunReport};
use crate::train::run::evaluate_model;
use crate::train::{TrainJob, TrainOptions};

#[derive(Clone)]
pub struct TrialsPlan {
    pub config: ModelConfig,
    /// The dev run uses `options.seed`; trial `t` uses `options.seed + 1 + t`.
    pub options: TrainOptions,
    pub train: PathBuf,
    pub dev: PathBuf,
    pub test: PathBuf,
    pub n: usize,
    /// Trials trained at once (after the dev run), each on its share of the threads.
    pub jobs: usize,
    /// `out/dev_run`, `out/trial_T` and `out/trials_report.json`.
    pub out: PathBuf,
    pub command: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrialResult {
    pub trial: usize,
    pub seed: u64,
    pub seconds: f64,
    pub test: Report,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrialsReport {
    pub command: String,
    pub date: String,
    pub device: String,
    pub epochs: usize,
    pub seconds: f64,
    pub trials: Vec<TrialResult>,
    pub summary: Summary,
}

/// The three corpora; test with its overlapping entities removed as the trainer removes those
/// of train and dev.
struct Data {
    train: Corpus,
    dev: Corpus,
    test: Corpus,
    removed_from_test: usize,
}

impl Data {
    fn load(plan: &TrialsPlan) -> Result<Data, ProtocolError> {
        let mut test = Corpus::load(&plan.test)?;
        Ok(Data {
            train: Corpus::load(&plan.train)?,
            dev: Corpus::load(&plan.dev)?,
            removed_from_test: remove_overlaps_all(&mut test.sentences).entities,
            test,
        })
    }

    fn files(&self, plan: &TrialsPlan) -> Vec<DataFile> {
        vec![
            DataFile::new("train", &plan.train, self.train.sentences.len()),
            DataFile::new("dev", &plan.dev, self.dev.sentences.len()),
            DataFile::new("test", &plan.test, self.test.sentences.len()),
        ]
    }
}

pub fn run_trials(
    plan: &TrialsPlan,
    run: &Runner,
    progress: &mut ProgressSink,
) -> Result<TrialsReport, ProtocolError> {
    let started = Instant::now();
    let data = Data::load(plan)?;
    let files = [plan.train.clone(), plan.dev.clone(), plan.test.clone()];
    Fingerprint::new("trials", &plan.config, &plan.options, &files).claim(&plan.out)?;
    let (epochs, threshold) = dev_run(plan, &data, run)?;
    progress(Progress::ChosenOnDev { epochs, threshold });
    // The trials train on train + dev: θr is the dev run's.
    let plan = &TrialsPlan {
        config: ModelConfig {
            re_threshold: threshold,
            ..plan.config.clone()
        },
        ..plan.clone()
    };
    let both: Vec<Sentence> = data
        .train
        .sentences
        .iter()
        .chain(&data.dev.sentences)
        .cloned()
        .collect();
    let progress = Mutex::new(progress);
    let done = AtomicUsize::new(0);
    let trials = run_jobs(plan.n, plan.jobs, &|t, threads| {
        let (result, resumed) = match finished_trial(plan, t) {
            Some(result) => (result, true),
            None => (run_trial(plan, &data, &both, (epochs, threads), t, run)?, false),
        };
        (progress.lock().unwrap_or_else(|e| e.into_inner()))(Progress::Scored {
            label: &format!("trial {t}"),
            best_epoch: epochs,
            seconds: result.seconds,
            test: &result.test,
            resumed,
            done: done.fetch_add(1, Ordering::SeqCst) + 1,
            total: plan.n,
        });
        Ok(result)
    })?;
    let tests: Vec<Report> = trials.iter().map(|r| r.test.clone()).collect();
    let report = TrialsReport {
        command: plan.command.clone(),
        date: utc_now(),
        device: format!("{:?}", plan.options.device),
        epochs,
        seconds: started.elapsed().as_secs_f64(),
        trials,
        summary: Summary::of(&tests),
    };
    write_json(&plan.out.join("trials_report.json"), &report)?;
    Ok(report)
}

/// Trains on train with early stopping on dev: its best epoch is the trials' epoch count,
/// its θr (chosen on dev) theirs.
fn dev_run(plan: &TrialsPlan, data: &Data, run: &Runner) -> Result<(usize, f64), ProtocolError> {
    let out = plan.out.join("dev_run");
    if let Some(f) = resume::finished(&out, false) {
        return Ok((f.best_epoch.max(1), f.threshold));
    }
    let job = TrainJob {
        config: plan.config.clone(),
        options: plan.options.clone(),
        train: data.train.sentences.clone(),
        dev: data.dev.sentences.clone(),
        out: Some(out.clone()),
        init: None,
    };
    let outcome = run(job, "epochs on dev")?;
    let report = RunReport::from_outcome(&plan.command, &plan.options, &outcome, data.files(plan), None);
    write_json(&out.join(crate::model::RUN_REPORT), &report)?;
    Ok((outcome.best_epoch.max(1), outcome.model.config.re_threshold))
}

/// Trial `t` as an earlier run into the same folder finished it.
fn finished_trial(plan: &TrialsPlan, t: usize) -> Option<TrialResult> {
    let f = resume::finished(&plan.out.join(format!("trial_{t}")), true)?;
    Some(TrialResult {
        trial: t,
        seed: plan.options.seed + 1 + t as u64,
        seconds: f.seconds,
        test: f.test?,
    })
}

fn run_trial(
    plan: &TrialsPlan,
    data: &Data,
    both: &[Sentence],
    (epochs, threads): (usize, Option<usize>),
    t: usize,
    run: &Runner,
) -> Result<TrialResult, ProtocolError> {
    let seed = plan.options.seed + 1 + t as u64;
    let options = TrainOptions {
        epochs,
        seed,
        threads,
        ..plan.options.clone()
    };
    let out = plan.out.join(format!("trial_{t}"));
    let job = TrainJob {
        config: plan.config.clone(),
        options: options.clone(),
        train: both.to_vec(),
        dev: Vec::new(),
        out: Some(out.clone()),
        init: None,
    };
    let outcome = run(job, &format!("trial {t}"))?;
    let test = evaluate_model(&outcome.model, &data.test.sentences)?;
    let mut report = RunReport::from_outcome(
        &plan.command,
        &options,
        &outcome,
        data.files(plan),
        Some(test.clone()),
    );
    report.removed_overlapping_entities.test = Some(data.removed_from_test);
    write_json(&out.join(crate::model::RUN_REPORT), &report)?;
    Ok(TrialResult {
        trial: t,
        seed,
        seconds: outcome.seconds,
        test,
    })
}
