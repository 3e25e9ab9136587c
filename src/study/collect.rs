//! The study's table from whatever jobs have finished, and what is missing.

use std::fmt::Write as _;

use serde::Serialize;

use super::job::{finished, JobResult};
use super::plan::{Strategy, Study, StudyKind};
use super::search::{halving_pick, rank};
use super::{write_json, StudyError};
use crate::eval::Report;
use crate::train::protocol::{MeanStd, Summary};

/// A configuration's figures over its finished runs (of its last rung, for halving).
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    pub name: String,
    pub shared: usize,
    pub ner: usize,
    pub re: usize,
    pub parameters: usize,
    pub rung: usize,
    pub runs: usize,
    /// The early-stopping criterion on dev at the best epoch.
    pub score: MeanStd,
    pub best_epoch: MeanStd,
    pub seconds: f64,
    pub dev: Summary,
}

/// Successive halving replayed on a full grid's runs, one seed (and fold) at a time.
#[derive(Clone, Debug, Serialize)]
pub struct HalvingCheck {
    /// Seeds (× folds) with every configuration finished.
    pub replays: usize,
    /// Of those, how many picked the configuration the full grid ranks first on that seed.
    pub agreed: usize,
    /// Each replay: "seed S[, fold F]: halving picks X, the grid's best is Y".
    pub picks: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Collected {
    pub kind: StudyKind,
    pub command: String,
    pub finished: usize,
    pub planned: usize,
    /// "job K (label)" of every job without a result.
    pub missing: Vec<String>,
    /// Ablation rows in the paper's order; search rows ranked, best first.
    pub rows: Vec<GroupRow>,
    /// The search's best configuration (the last rung's, for halving).
    pub winner: Option<String>,
    pub halving: Option<HalvingCheck>,
    /// θr was chosen on dev after each training (no `--threshold`).
    pub threshold_chosen: bool,
    /// The θr every configuration trains with (early stopping's score is at it); None when
    /// they differ.
    pub training_threshold: Option<f64>,
}

pub fn collect(study: &Study) -> Result<Collected, StudyError> {
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for job in &study.jobs {
        match finished(job)? {
            Some(r) => results.push(r),
            None => missing.push(format!("job {} ({})", job.index, job.label())),
        }
    }
    let rows = rows(study, &results);
    let finished_all = missing.is_empty();
    let winner = match study.kind {
        StudyKind::Search if finished_all => rows.first().map(|r| r.name.clone()),
        _ => None,
    };
    let halving = match (study.kind, study.strategy) {
        (StudyKind::Search, Strategy::Grid) => halving_check(study, &results),
        _ => None,
    };
    Ok(Collected {
        kind: study.kind,
        command: study.command.clone(),
        finished: results.len(),
        planned: study.jobs.len(),
        missing,
        rows,
        winner,
        halving,
        threshold_chosen: study.options.choose_threshold,
        training_threshold: shared_threshold(study),
    })
}

/// One row per group with results, from the highest rung it reached.
fn rows(study: &Study, results: &[JobResult]) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = study
        .groups
        .iter()
        .filter_map(|g| {
            let rung = results
                .iter()
                .filter(|r| r.group == g.name)
                .map(|r| r.job.rung)
                .max()?;
            let runs: Vec<&JobResult> = results
                .iter()
                .filter(|r| r.group == g.name && r.job.rung == rung)
                .collect();
            let reports: Vec<Report> = runs.iter().map(|r| r.dev.clone()).collect();
            Some(GroupRow {
                name: g.name.clone(),
                shared: g.shared,
                ner: g.ner,
                re: g.re,
                parameters: g.parameters,
                rung,
                runs: runs.len(),
                score: MeanStd::of(runs.iter().map(|r| r.best_score).collect()),
                best_epoch: MeanStd::of(runs.iter().map(|r| r.best_epoch as f64).collect()),
                seconds: runs.iter().map(|r| r.seconds).sum(),
                dev: Summary::of(&reports),
            })
        })
        .collect();
    if study.kind == StudyKind::Search {
        rows.sort_by(|a, b| b.rung.cmp(&a.rung).then(b.score.mean.total_cmp(&a.score.mean)));
    }
    rows
}

/// For each seed (and fold) on which every configuration finished: does halving, replayed on
/// the runs' dev histories, pick that seed's best configuration?
fn halving_check(study: &Study, results: &[JobResult]) -> Option<HalvingCheck> {
    let mut keys: Vec<(usize, Option<usize>)> =
        results.iter().map(|r| (r.job.trial, r.job.data.fold())).collect();
    keys.sort();
    keys.dedup();
    let epochs = study.jobs.iter().map(|j| j.epochs).max()?;
    let (mut replays, mut agreed, mut picks) = (0, 0, Vec::new());
    for key in keys {
        let runs: Vec<&JobResult> = results
            .iter()
            .filter(|r| (r.job.trial, r.job.data.fold()) == key)
            .collect();
        if runs.len() < study.groups.len() || runs.len() < 2 {
            continue;
        }
        let best = rank(runs.iter().map(|r| (r.group.as_str(), r.best_score)));
        let histories: Vec<(String, Vec<f64>)> =
            runs.iter().map(|r| (r.group.clone(), r.scores.clone())).collect();
        replays += 1;
        let picked = halving_pick(&histories, epochs, study.options.patience).unwrap_or_default();
        if picked == best[0].0 {
            agreed += 1;
        }
        let fold = key.1.map_or(String::new(), |f| format!(", fold {f}"));
        picks.push(format!(
            "seed {}{fold}: halving picks {picked}, the grid's best is {}",
            runs[0].job.seed, best[0].0
        ));
    }
    (replays > 0).then_some(HalvingCheck {
        replays,
        agreed,
        picks,
    })
}

/// The θr of every group's configuration, when they agree.
fn shared_threshold(study: &Study) -> Option<f64> {
    let first = study.groups.first()?.config.re_threshold;
    let same = study.groups.iter().all(|g| g.config.re_threshold == first);
    same.then_some(first)
}

fn pct(m: &MeanStd) -> String {
    match m.runs.len() {
        1 => format!("{:.2}", 100.0 * m.mean),
        _ => format!("{:.2} ± {:.2}", 100.0 * m.mean, 100.0 * m.std),
    }
}

impl Collected {
    /// The table in Markdown, with what is missing below it.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        match self.kind {
            StudyKind::Ablate => {
                md += "| variant | shared / NER / RE layers | parameters | NER micro F1 | NER macro F1 | RE micro F1 | RE macro F1 | runs |\n";
                md += "|---|---|---|---|---|---|---|---|\n";
                for r in &self.rows {
                    let _ = writeln!(
                        md,
                        "| {} | {} / {} / {} | {} | {} | {} | {} | {} | {} |",
                        r.name,
                        r.shared,
                        r.ner,
                        r.re,
                        r.parameters,
                        pct(&r.dev.ner.micro.f1),
                        pct(&r.dev.ner.macro_.f1),
                        pct(&r.dev.re.micro.f1),
                        pct(&r.dev.re.macro_.f1),
                        r.runs
                    );
                }
            }
            StudyKind::Search => {
                md += "| rank | shared | NER | RE | parameters | dev score | NER micro F1 | RE micro F1 | best epoch | rung | runs |\n";
                md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
                for (i, r) in self.rows.iter().enumerate() {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |",
                        i + 1,
                        r.shared,
                        r.ner,
                        r.re,
                        r.parameters,
                        pct(&r.score),
                        pct(&r.dev.ner.micro.f1),
                        pct(&r.dev.re.micro.f1),
                        r.best_epoch.mean,
                        r.rung,
                        r.runs
                    );
                }
            }
        }
        md += "\nFigures are strict F1 on dev (%, mean ± sample standard deviation over the runs)";
        md += match self.threshold_chosen {
            true => ", after the relation threshold θr was chosen on dev.",
            false => ", at the relation threshold θr given.",
        };
        if self.kind == StudyKind::Search {
            md += " The dev score is what early stopping follows: the mean of NER and RE micro F1";
            if self.threshold_chosen {
                md += &match self.training_threshold {
                    Some(t) => format!(" at the θr the configurations train with ({t})"),
                    None => " at the θr each configuration trains with".into(),
                };
                md += ", so after a few epochs it can be well below the F1 columns";
            }
            md += ".";
        }
        md += "\n";
        if let Some(w) = &self.winner {
            let _ = writeln!(md, "\nBest configuration: {w}.");
        }
        if let Some(h) = &self.halving {
            let _ = writeln!(
                md,
                "\nSuccessive halving, replayed on these runs' dev histories, picks each seed's best configuration in {} of {} cases ({}).",
                h.agreed,
                h.replays,
                h.picks.join("; ")
            );
        }
        if !self.missing.is_empty() {
            let _ = writeln!(
                md,
                "\n{} of {} jobs finished; missing: {}.",
                self.finished,
                self.planned,
                self.missing.join(", ")
            );
        }
        md
    }

    /// Writes `out/study_report.json`, `out/study_table.md` and, when the search is complete,
    /// `out/best_config.json` (a configuration `relarc train --config` takes).
    pub fn write(&self, study: &Study) -> Result<(), StudyError> {
        std::fs::create_dir_all(&study.out).map_err(super::io_error(&study.out))?;
        write_json(&study.out.join("study_report.json"), self)?;
        if let Some(group) = self.winner.as_deref().and_then(|w| study.group(w)) {
            write_json(&study.out.join("best_config.json"), &group.config)?;
        }
        let path = study.out.join("study_table.md");
        crate::fsio::atomic_write_bytes(&path, self.markdown().as_bytes()).map_err(super::io_error(&path))
    }
}
