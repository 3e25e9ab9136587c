//! Running a study's jobs: one (`relarc job`), or all of them here (`--jobs N` at once,
//! halving rungs one after the other).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::plan::{Group, JobData, Study, StudyJob};
use super::{io_error, search, write_json, StudyError};
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::{split, Corpus, Sentence};
use crate::eval::Report;
use crate::train::protocol::{run_jobs, warm_shared_features, Progress, ProgressSink, Runner};
use crate::train::report::utc_now;
use crate::train::{TrainJob, TrainOptions};

/// What a finished job leaves in `result.json`, written after everything else it writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobResult {
    /// The job as planned: a result is only taken for the job it was trained for.
    pub job: StudyJob,
    pub group: String,
    pub parameters: usize,
    pub best_epoch: usize,
    /// The early-stopping criterion (mean of strict NER and RE micro F1 on dev) at the best
    /// epoch: what ranks configurations.
    pub best_score: f64,
    /// The criterion after every epoch, for successive halving's rungs.
    pub scores: Vec<f64>,
    /// Dev scored with the best weights and the θr chosen on dev.
    pub dev: Report,
    pub threshold: f64,
    pub seconds: f64,
    pub device: String,
    pub date: String,
}

/// A job's result, and whether this call trained it.
pub enum Ran {
    Trained(JobResult),
    Kept(JobResult),
}

impl Ran {
    pub fn result(&self) -> &JobResult {
        match self {
            Ran::Trained(r) | Ran::Kept(r) => r,
        }
    }
}

/// The job's result, if it finished; a finished job of a different plan in its folder is an
/// error (never overwritten).
pub fn finished(job: &StudyJob) -> Result<Option<JobResult>, StudyError> {
    let path = job.out.join("result.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(result) = serde_json::from_str::<JobResult>(&text) else {
        return Ok(None);
    };
    match result.job == *job {
        true => Ok(Some(result)),
        false => Err(StudyError::OtherJob {
            path,
            what: "configuration, seed, epochs or data",
        }),
    }
}

/// Runs job `index` unless it finished before. A half-finished job's folder is emptied first.
pub fn run_one(study: &Study, index: usize, threads: Option<usize>, run: &Runner) -> Result<Ran, StudyError> {
    let job = study.jobs.get(index).ok_or(StudyError::NoSuchJob {
        index,
        last: study.jobs.len().saturating_sub(1),
    })?;
    if let Some(result) = finished(job)? {
        return Ok(Ran::Kept(result));
    }
    job.data.files().into_iter().try_for_each(|f| f.check())?;
    let group = job_group(study, job)?;
    start_clean(study, job)?;
    let (train, dev) = load_data(&job.data)?;
    let options = TrainOptions {
        epochs: job.epochs,
        patience: study.options.patience,
        seed: job.seed,
        device: crate::train::device_named(&study.options.device)?,
        threads,
        choose_threshold: study.options.choose_threshold,
        ..Default::default()
    };
    let device_name = format!("{:?}", options.device);
    let train_job = TrainJob {
        config: group.config.clone(),
        options,
        train,
        dev,
        out: Some(job.out.join("model")),
        init: None,
    };
    let outcome = run(train_job, &job.label())?;
    let result = JobResult {
        job: job.clone(),
        group: group.name.clone(),
        parameters: outcome.model.num_trainable_parameters() as usize,
        best_epoch: outcome.best_epoch,
        best_score: outcome.best_score.unwrap_or(0.0),
        scores: outcome.history.iter().filter_map(|e| e.dev_score).collect(),
        dev: outcome.dev_report.unwrap_or_default(),
        threshold: outcome.model.config.re_threshold,
        seconds: outcome.seconds,
        device: device_name,
        date: utc_now(),
    };
    write_json(&job.out.join("result.json"), &result)?;
    Ok(Ran::Trained(result))
}

/// The configuration a job trains: its own, or for a halving rung the one ranked `pick`
/// by the rung before (which must have finished).
fn job_group<'a>(study: &'a Study, job: &StudyJob) -> Result<&'a Group, StudyError> {
    let name = match (&job.group, job.pick) {
        (Some(name), _) => name.clone(),
        (None, Some(rank)) => search::picked(study, job.rung, rank)?,
        (None, None) => return Err(invalid(job, "names neither a group nor a pick")),
    };
    study
        .group(&name)
        .ok_or_else(|| invalid(job, &format!("names the group {name:?}, which the plan lacks")))
}

fn invalid(job: &StudyJob, message: &str) -> StudyError {
    StudyError::Invalid {
        what: format!("job {}", job.index),
        message: message.into(),
    }
}

/// Empties the job's folder: what a killed run left is not mixed into the new one. Only
/// folders under the study's `jobs` folder are touched.
fn start_clean(study: &Study, job: &StudyJob) -> Result<(), StudyError> {
    if !job.out.starts_with(study.out.join("jobs")) {
        return Err(invalid(job, "has a folder outside the study's jobs folder"));
    }
    if job.out.exists() {
        std::fs::remove_dir_all(&job.out).map_err(io_error(&job.out))?;
    }
    std::fs::create_dir_all(&job.out).map_err(io_error(&job.out))
}

/// Training and dev sentences, overlapping entities removed as in training.
fn load_data(data: &JobData) -> Result<(Vec<Sentence>, Vec<Sentence>), StudyError> {
    let (mut train, mut dev) = match data {
        JobData::Split { train, dev } => (Corpus::load(&train.path)?, Corpus::load(&dev.path)?),
        JobData::Holdout {
            train,
            fraction,
            seed,
            ..
        } => {
            let (dev, fit) = split::holdout(&Corpus::load(&train.path)?, *fraction, *seed);
            (fit, dev)
        }
    };
    remove_overlaps_all(&mut train.sentences);
    remove_overlaps_all(&mut dev.sentences);
    Ok((train.sentences, dev.sentences))
}

/// Runs every job of the study here, `jobs` at once, rung after rung; finished jobs are kept.
pub fn run_all(
    study: &Study,
    jobs: usize,
    run: &Runner,
    progress: &mut ProgressSink,
) -> Result<Vec<JobResult>, StudyError> {
    let progress = Mutex::new(progress);
    if jobs > 1 {
        warm_features(study, &progress)?;
    }
    let done = AtomicUsize::new(0);
    let total = study.jobs.len();
    let mut results = Vec::new();
    for rung in 0..study.rungs() {
        let indices: Vec<usize> = study
            .jobs
            .iter()
            .filter(|j| j.rung == rung)
            .map(|j| j.index)
            .collect();
        let ran = run_jobs(indices.len(), jobs, &|i, threads| {
            let ran = run_one(study, indices[i], threads, run).map_err(protocol_error)?;
            let r = ran.result();
            (progress.lock().unwrap_or_else(|e| e.into_inner()))(Progress::Scored {
                label: &r.job.label(),
                best_epoch: r.best_epoch,
                seconds: r.seconds,
                test: &r.dev,
                resumed: matches!(ran, Ran::Kept(_)),
                done: done.fetch_add(1, Ordering::SeqCst) + 1,
                total,
            });
            Ok(ran)
        })
        .map_err(study_error)?;
        results.extend(ran.into_iter().map(|r| r.result().clone()));
    }
    Ok(results)
}

/// The frozen encoder's features of every sentence, computed once before jobs run at once.
fn warm_features(study: &Study, progress: &Mutex<&mut ProgressSink>) -> Result<(), StudyError> {
    let Some(group) = study.groups.first() else {
        return Ok(());
    };
    let mut corpora = Vec::new();
    for job in &study.jobs {
        for file in job.data.files() {
            if !corpora
                .iter()
                .any(|(p, _): &(std::path::PathBuf, Corpus)| *p == file.path)
            {
                corpora.push((file.path.clone(), Corpus::load(&file.path)?));
            }
        }
    }
    let tokens: Vec<&[String]> = corpora
        .iter()
        .flat_map(|(_, c)| &c.sentences)
        .map(|s| s.tokens.as_slice())
        .collect();
    let device = crate::train::device_named(&study.options.device)?;
    warm_shared_features((&group.config, device), &tokens, progress)?;
    Ok(())
}

// `run_jobs` carries protocol errors; a study's own errors travel inside one as text.
fn protocol_error(e: StudyError) -> crate::train::protocol::ProtocolError {
    match e {
        StudyError::Protocol(p) => p,
        StudyError::Failed(f) => f.into(),
        StudyError::Train(t) => t.into(),
        StudyError::Corpus(c) => c.into(),
        other => crate::train::protocol::ProtocolError::Study(other.to_string()),
    }
}

fn study_error(e: crate::train::protocol::ProtocolError) -> StudyError {
    StudyError::Protocol(e)
}
