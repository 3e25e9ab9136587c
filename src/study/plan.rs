//! A study's plan: every job with its configuration, seed, data and folder, as JSON that
//! `relarc job` and `relarc collect` read (on this machine or on a cluster's nodes).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{io_error, write_json, StudyError};
use crate::model::ModelConfig;
use crate::train::report::sha256_file;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StudyKind {
    Ablate,
    Search,
}

/// How a search spends its trainings: every configuration to the end, or successive
/// halving (all configurations a few epochs, the better half twice as many, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    Grid,
    Halving,
}

/// What every job's training shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyOptions {
    pub patience: usize,
    /// auto, cpu or cuda: resolved where the job runs.
    pub device: String,
    /// Choose θr on dev after training.
    pub choose_threshold: bool,
}

/// A data file and its SHA-256 when the plan was written, so a job refuses changed data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    pub path: PathBuf,
    pub sha256: String,
}

impl DataRef {
    pub fn new(path: &Path) -> Result<DataRef, StudyError> {
        let path = std::path::absolute(path).map_err(io_error(path))?;
        std::fs::metadata(&path).map_err(io_error(&path))?;
        Ok(DataRef {
            sha256: sha256_file(&path),
            path,
        })
    }

    pub fn check(&self) -> Result<(), StudyError> {
        std::fs::metadata(&self.path).map_err(io_error(&self.path))?;
        match sha256_file(&self.path) == self.sha256 {
            true => Ok(()),
            false => Err(StudyError::DataChanged {
                path: self.path.clone(),
            }),
        }
    }
}

/// Where a job trains and is scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobData {
    /// Train on `train`; early stopping on `dev`, which also scores the job.
    Split { train: DataRef, dev: DataRef },
    /// A cross-validation fold's training file, of which a seeded `fraction` is held out
    /// as dev (the same part `relarc cv` holds out for early stopping).
    /// The held-out part depends on `seed` only, so every configuration and trial of a fold
    /// is scored on the same sentences.
    Holdout {
        train: DataRef,
        fold: usize,
        fraction: f64,
        seed: u64,
    },
}

impl JobData {
    pub fn files(&self) -> Vec<&DataRef> {
        match self {
            JobData::Split { train, dev } => vec![train, dev],
            JobData::Holdout { train, .. } => vec![train],
        }
    }

    pub fn fold(&self) -> Option<usize> {
        match self {
            JobData::Split { .. } => None,
            JobData::Holdout { fold, .. } => Some(*fold),
        }
    }
}

/// One configuration of a study: a row of its table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub shared: usize,
    pub ner: usize,
    pub re: usize,
    /// Trainable parameters of the model on this study's training data.
    pub parameters: usize,
    pub config: ModelConfig,
}

/// One training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyJob {
    pub index: usize,
    /// The group trained; None for a halving rung's job, whose group is the one ranked
    /// `pick` in the rung before.
    pub group: Option<String>,
    pub pick: Option<usize>,
    pub rung: usize,
    pub trial: usize,
    pub seed: u64,
    pub epochs: usize,
    pub data: JobData,
    pub out: PathBuf,
}

impl StudyJob {
    /// "baseline, trial 1" or "rung 1, rank 0, fold 2".
    pub fn label(&self) -> String {
        let mut label = match (&self.group, self.pick) {
            (Some(g), _) => g.clone(),
            (None, Some(k)) => format!("rung {}, rank {k}", self.rung),
            (None, None) => "job".into(),
        };
        if let Some(f) = self.data.fold() {
            label += &format!(", fold {f}");
        }
        label + &format!(", trial {}", self.trial)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub kind: StudyKind,
    pub strategy: Strategy,
    pub command: String,
    /// Every job's folder is under `out/jobs`; the table goes to `out`.
    pub out: PathBuf,
    pub options: StudyOptions,
    pub groups: Vec<Group>,
    pub jobs: Vec<StudyJob>,
}

impl Study {
    pub fn read(path: &Path) -> Result<Study, StudyError> {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        serde_json::from_str(&text).map_err(|e| StudyError::BadPlan {
            path: path.into(),
            message: e.to_string(),
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), StudyError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        write_json(path, self)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The number of halving rungs (1 for a grid or an ablation).
    pub fn rungs(&self) -> usize {
        self.jobs.iter().map(|j| j.rung + 1).max().unwrap_or(1)
    }

    /// Writes `out/study.json`, or checks that the plan there is this one: a different
    /// study is refused rather than mixed into the same folders.
    pub fn claim(&self) -> Result<PathBuf, StudyError> {
        let path = self.out.join("study.json");
        if path.exists() {
            let there = Study::read(&path)?;
            if let Some(what) = self.difference(&there) {
                return Err(StudyError::DifferentStudy { path, what });
            }
            return Ok(path);
        }
        self.write(&path)?;
        Ok(path)
    }

    fn difference(&self, other: &Study) -> Option<String> {
        let differs = [
            (self.kind != other.kind, "the kind of study"),
            (self.strategy != other.strategy, "--strategy"),
            (self.options != other.options, "the training options"),
            (self.groups != other.groups, "the configurations"),
            (
                self.jobs != other.jobs,
                "the jobs (seeds, epochs, data or trials)",
            ),
        ];
        differs.iter().find(|(d, _)| *d).map(|(_, w)| w.to_string())
    }
}

/// Every training of a study: trial-major, so that a partial study already covers every
/// configuration; with halving, rung after rung (`rungs`: configurations kept and epochs).
/// Trial `t` trains with seed `seed + t`; each job gets a folder of its own under `out/jobs`.
pub fn job_list(
    groups: &[Group],
    data: &[JobData],
    (trials, seed): (usize, u64),
    rungs: &[(usize, usize)],
    out: &Path,
) -> Vec<StudyJob> {
    let mut jobs = Vec::new();
    for (rung, &(keep, epochs)) in rungs.iter().enumerate() {
        for trial in 0..trials {
            for d in data {
                for (k, g) in groups.iter().enumerate().take(keep) {
                    let (group, pick) = match rung {
                        0 => (Some(g.name.clone()), None),
                        _ => (None, Some(k)),
                    };
                    let mut job = StudyJob {
                        index: jobs.len(),
                        group,
                        pick,
                        rung,
                        trial,
                        seed: seed + trial as u64,
                        epochs,
                        data: d.clone(),
                        out: PathBuf::new(),
                    };
                    job.out = out
                        .join("jobs")
                        .join(format!("{:03}-{}", job.index, slug(&job.label())));
                    jobs.push(job);
                }
            }
        }
    }
    jobs
}

/// `name` as a folder name: letters and digits, the rest as dashes.
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Parses a layer-count range: `2`, `1..3` (both ends included) or `0,2,3`.
pub fn parse_counts(text: &str) -> Result<Vec<usize>, String> {
    let counts = parse_numbers(text, "a layer count")?;
    match counts.iter().find(|&&c| c > 16) {
        Some(c) => Err(format!("{c} layers: at most 16")),
        None => Ok(counts),
    }
}

/// `2`, `1..3` (inclusive) or `1,3` as numbers; `what` names one in errors ("a fold number").
pub fn parse_numbers(text: &str, what: &str) -> Result<Vec<usize>, String> {
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("{s:?} is not {what}"))
    };
    if let Some((a, b)) = text.split_once("..") {
        let (a, b) = (number(a)?, number(b.trim_start_matches('='))?);
        if a > b {
            return Err(format!("{text:?}: the range is empty"));
        }
        return Ok((a..=b).collect());
    }
    text.split(',').map(number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_counts_parse_as_ranges_lists_and_single_numbers() {
        assert_eq!(parse_counts("1..3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_counts("0..=2").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_counts("0,2").unwrap(), vec![0, 2]);
        assert_eq!(parse_counts("2").unwrap(), vec![2]);
        assert!(parse_counts("3..1").is_err());
        assert!(parse_counts("a").is_err());
        assert!(parse_counts("1..40").is_err());
    }

    #[test]
    fn slugs_are_folder_names() {
        assert_eq!(slug("no NER-specific"), "no-ner-specific");
        assert_eq!(slug("shared 2, NER 0, RE 1"), "shared-2-ner-0-re-1");
    }
}
