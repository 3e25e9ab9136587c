//! Cross-validation runs made apart (other seeds, poolings or configurations) scored together:
//! each fold that every run finished has its test corpus (overlaps removed, as `cv` scores it)
//! predicted by the runs' models of that fold as one (`model::Ensemble`), as `cv --seeds`
//! scores its seeds. Each run must have been trained on the same fold files: its `plan.json`
//! records them with their SHA-256, so models are never scored on a fold they trained on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tch::Device;

use super::resume::{finished, Fingerprint};
use super::{warm_frozen_features, write_json, ProtocolError, Summary};
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::{split, Corpus};
use crate::eval::Report;
use crate::model::ensemble::{check_weights, equal_weights};
use crate::model::{Ensemble, Model};
use crate::pretrained::inputs::Inputs;
use crate::train::report::{sha256_file, utc_now};
use crate::train::run::evaluate_model;
use crate::train::TrainError;

pub use super::seeds::TogetherFold;

pub struct TogetherPlan {
    /// Cross-validation output folders (each with `plan.json` and `fold_K/`).
    pub runs: Vec<PathBuf>,
    /// How much each run's models weigh, in the runs' order; empty: equally.
    pub weights: Vec<f64>,
    /// The folder of `split_K_train.json` and `split_K_test.json` the runs were trained on.
    pub folds: PathBuf,
    pub device: Device,
    /// Where `cv_report.json` goes, if anywhere.
    pub out: Option<PathBuf>,
    pub command: String,
}

/// A fold left out because some runs have not finished it.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedFold {
    pub fold: usize,
    pub unfinished_in: Vec<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TogetherReport {
    pub command: String,
    pub date: String,
    pub device: String,
    pub seconds: f64,
    pub runs: Vec<PathBuf>,
    /// The runs' weights, when they weigh unequally.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    pub folds: Vec<TogetherFold>,
    pub skipped: Vec<SkippedFold>,
    pub summary: Summary,
}

/// What `score_runs_together` reports as it goes.
pub enum TogetherProgress<'a> {
    /// Frozen encoder features of the test folds computed ahead (`done` of `total` sentences
    /// not cached before), once for all the folds; `encoder` names the encoder and pooling.
    Preparing {
        encoder: &'a str,
        done: usize,
        total: usize,
    },
    Scored(&'a TogetherFold),
}

/// Scores every fold that all of `plan.runs` finished with their models together, telling
/// `progress` of each fold as it is done; writes `out/cv_report.json` when `plan.out` is given.
pub fn score_runs_together(
    plan: &TogetherPlan,
    progress: &mut dyn FnMut(TogetherProgress),
) -> Result<TogetherReport, ProtocolError> {
    let started = Instant::now();
    if plan.runs.is_empty() {
        return Err(ProtocolError::Study("no cross-validation run to score".into()));
    }
    let weights = match plan.weights.as_slice() {
        [] => vec![1.0; plan.runs.len()],
        given => given.to_vec(),
    };
    check_weights(&weights, plan.runs.len()).map_err(|e| ProtocolError::Study(format!("weights: {e}")))?;
    let folds = split::load_fold_files(&plan.folds)?;
    let mut tests = Vec::new();
    let mut skipped = Vec::new();
    for (fold, (_, test)) in folds.into_iter().enumerate() {
        let unfinished_in: Vec<PathBuf> = (plan.runs.iter())
            .filter(|run| finished(&run.join(format!("fold_{fold}")), true).is_none())
            .cloned()
            .collect();
        if unfinished_in.is_empty() {
            tests.push((fold, test));
        } else {
            skipped.push(SkippedFold { fold, unfinished_in });
        }
    }
    if tests.is_empty() {
        return Err(ProtocolError::Study(format!(
            "no fold of {} is finished in every run",
            plan.folds.display()
        )));
    }
    let recorded = (plan.runs.iter())
        .map(|run| recorded_plan(run))
        .collect::<Result<Vec<_>, _>>()?;
    for (fold, _) in &tests {
        check_trained_on(&plan.runs, &recorded, &plan.folds, *fold)?;
    }
    warm_features(plan.device, &recorded, &tests, progress)?;
    let dirs: Vec<&Path> = plan.runs.iter().map(PathBuf::as_path).collect();
    let mut together = Vec::new();
    for (fold, test) in tests {
        let result = score_fold(plan.device, &dirs, &weights, fold, test)?;
        progress(TogetherProgress::Scored(&result));
        together.push(result);
    }
    let tests: Vec<Report> = together.iter().map(|f| f.test.clone()).collect();
    let report = TogetherReport {
        command: plan.command.clone(),
        date: utc_now(),
        device: format!("{:?}", plan.device),
        seconds: started.elapsed().as_secs_f64(),
        runs: plan.runs.clone(),
        weights: match equal_weights(&weights) {
            true => Vec::new(),
            false => weights.clone(),
        },
        folds: together,
        skipped,
        summary: Summary::of(&tests),
    };
    if let Some(out) = &plan.out {
        std::fs::create_dir_all(out).map_err(|source| ProtocolError::Write {
            path: out.clone(),
            source,
        })?;
        write_json(&out.join(super::CV_REPORT), &report)?;
    }
    Ok(report)
}

/// Fold `fold`'s test corpus, overlaps removed, predicted by the models in `runs/fold_K`
/// together, weighing `weights`.
pub(super) fn score_fold(
    device: Device,
    runs: &[&Path],
    weights: &[f64],
    fold: usize,
    mut test: Corpus,
) -> Result<TogetherFold, ProtocolError> {
    remove_overlaps_all(&mut test.sentences);
    let models = runs
        .iter()
        .map(|run| Model::load(&run.join(format!("fold_{fold}")), device))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TrainError::from)?;
    let ensemble =
        Ensemble::weighted(models, weights).map_err(|e| ProtocolError::Study(format!("fold {fold}: {e}")))?;
    Ok(TogetherFold {
        fold,
        re_threshold: ensemble.re_threshold,
        test: evaluate_model(&ensemble, &test.sentences)?,
    })
}

/// The run's `plan.json`: what it was trained with.
fn recorded_plan(run: &Path) -> Result<Fingerprint, ProtocolError> {
    let path = run.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ProtocolError::Study(format!(
            "{}: {e} (not a cross-validation run's folder?)",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| ProtocolError::Study(format!("{}: {e}", path.display())))
}

/// That every run (whose plan is in `recorded`, in the same order) trained fold `fold` on
/// the fold files in `folds`, by the SHA-256 its plan records for them.
fn check_trained_on(
    runs: &[PathBuf],
    recorded: &[Fingerprint],
    folds: &Path,
    fold: usize,
) -> Result<(), ProtocolError> {
    for (i, role) in ["train", "test"].into_iter().enumerate() {
        let file = folds.join(format!("split_{fold}_{role}.json"));
        let ours = sha256_file(&file);
        for (run, fp) in runs.iter().zip(recorded) {
            let theirs = fp.data.get(2 * fold + i).map(|(_, sha)| sha.as_str());
            if theirs != Some(ours.as_str()) {
                return Err(ProtocolError::Study(format!(
                    "{}: fold {fold} was not trained with {} (plan.json records other data): \
                     its models cannot be scored on this fold",
                    run.display(),
                    file.display()
                )));
            }
        }
    }
    Ok(())
}

/// Computes the frozen encoder features of every test sentence once per encoder (its
/// poolings from one run of it), ahead of scoring, so that the time they take is shown
/// (later folds and runs of the same inputs read them from the cache).
fn warm_features(
    device: Device,
    recorded: &[Fingerprint],
    tests: &[(usize, Corpus)],
    progress: &mut dyn FnMut(TogetherProgress),
) -> Result<(), ProtocolError> {
    let sentences: Vec<&[String]> = (tests.iter())
        .flat_map(|(_, c)| c.sentences.iter().map(|s| s.tokens.as_slice()))
        .collect();
    // Per encoder: its inputs, and the poolings they ask for.
    let mut encoders: Vec<(&str, Vec<&Inputs>, Vec<&str>)> = Vec::new();
    for inputs in recorded.iter().map(|fp| &fp.config.inputs) {
        let Some(c) = &inputs.contextual else { continue };
        let pooling = c.pooling.name();
        match encoders.iter_mut().find(|(name, _, _)| *name == c.encoder) {
            Some((_, all, poolings)) => {
                all.push(inputs);
                if !poolings.contains(&pooling) {
                    poolings.push(pooling);
                }
            }
            None => encoders.push((&c.encoder, vec![inputs], vec![pooling])),
        }
    }
    for (name, inputs, poolings) in encoders {
        let encoder = format!("{name}, {} pooling", poolings.join(" and "));
        warm_frozen_features(&inputs, device, &sentences, &mut |done, total| {
            progress(TogetherProgress::Preparing {
                encoder: &encoder,
                done,
                total,
            })
        })?;
    }
    Ok(())
}
