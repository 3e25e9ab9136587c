//! Cross-validation with several seeds predicting together. Each seed's run is an ordinary
//! cross-validation in `out/seed_S` (so it resumes, and can be run on its own elsewhere and
//! moved in); each test fold is then scored by the seeds' models of that fold predicting as
//! one (`model::Ensemble`). On ADE one seed moves a fold's RE F1 by about two points, so
//! several seeds together are insurance against an unlucky one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::cv::{cross_validate, fingerprint, CvPlan};
use super::together::score_fold;
use super::{write_json, Progress, ProgressSink, ProtocolError, Runner, Summary};
use crate::corpus::split;
use crate::eval::Report;
use crate::train::report::utc_now;

#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    /// The seed's own cross-validation (its `cv_report.json` and `fold_K` models).
    pub out: PathBuf,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize)]
pub struct TogetherFold {
    pub fold: usize,
    /// θr the seeds' models used together: the mean of theirs.
    pub re_threshold: f64,
    pub test: Report,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeedsReport {
    pub command: String,
    pub date: String,
    pub device: String,
    pub seconds: f64,
    pub seeds: Vec<SeedRun>,
    /// Each test fold scored by all the seeds' models together.
    pub folds: Vec<TogetherFold>,
    pub summary: Summary,
}

/// Runs the cross-validation `plan` with seeds `plan.options.seed` to `+ seeds - 1`, one
/// after the other, then scores each fold with the seeds' models together, writing
/// `out/cv_report.json`.
pub fn cross_validate_seeds(
    plan: &CvPlan,
    seeds: usize,
    run: &Runner,
    progress: &mut ProgressSink,
) -> Result<SeedsReport, ProtocolError> {
    let started = Instant::now();
    if seeds == 0 {
        return Err(ProtocolError::Study(
            "a cross-validation needs at least one seed".into(),
        ));
    }
    let folds = split::load_fold_files(&plan.folds)?;
    // A single-seed run's folder (or one with another configuration) is refused, not mixed in.
    fingerprint("cv --seeds", plan, folds.len()).claim(&plan.out)?;
    let mut runs = Vec::with_capacity(seeds);
    for m in 0..seeds {
        let seed = plan.options.seed + m as u64;
        let member = member_plan(plan, seed);
        let mut relabelled = relabel(progress, seed, m, seeds);
        let report = cross_validate(&member, run, &mut relabelled)?;
        runs.push((seed, member.out, report));
    }
    let mut together = Vec::new();
    let dirs: Vec<&Path> = runs.iter().map(|(_, out, _)| out.as_path()).collect();
    for fold in runs[0].2.folds.iter().map(|f| f.fold) {
        let test = folds[fold].1.clone();
        let scored = score_fold(plan.options.device, &dirs, &vec![1.0; dirs.len()], fold, test)?;
        progress(Progress::Together {
            fold,
            seeds,
            test: &scored.test,
        });
        together.push(scored);
    }
    let tests: Vec<Report> = together.iter().map(|f| f.test.clone()).collect();
    let report = SeedsReport {
        command: plan.command.clone(),
        date: utc_now(),
        device: format!("{:?}", plan.options.device),
        seconds: started.elapsed().as_secs_f64(),
        seeds: runs
            .into_iter()
            .map(|(seed, out, report)| SeedRun {
                seed,
                out,
                summary: report.summary,
            })
            .collect(),
        folds: together,
        summary: Summary::of(&tests),
    };
    write_json(&plan.out.join(super::CV_REPORT), &report)?;
    Ok(report)
}

/// The plain cross-validation of one seed, in `out/seed_S`.
fn member_plan(plan: &CvPlan, seed: u64) -> CvPlan {
    let mut member = plan.clone();
    member.options.seed = seed;
    member.out = plan.out.join(format!("seed_{seed}"));
    member
}

/// Passes `progress` on with runs named by their seed and counted over all the seeds.
fn relabel<'a, 'b: 'a>(
    progress: &'a mut ProgressSink<'b>,
    seed: u64,
    member: usize,
    seeds: usize,
) -> impl FnMut(Progress) + Send + use<'a, 'b> {
    move |p| match p {
        Progress::Scored {
            label,
            best_epoch,
            seconds,
            test,
            resumed,
            done,
            total,
        } => progress(Progress::Scored {
            label: &format!("seed {seed}, {label}"),
            best_epoch,
            seconds,
            test,
            resumed,
            done: member * total + done,
            total: seeds * total,
        }),
        other => progress(other),
    }
}
