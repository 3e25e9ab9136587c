//! Studies: ablate, search, job, collect.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use relarc::corpus::Corpus;
use relarc::embed::Vocabulary;
use relarc::model::ModelConfig;
use relarc::study::plan::{job_list, DataRef, Group, Strategy};
use relarc::study::{
    ablate, collect, run_all, run_one, search, slurm, JobData, Ran, Study, StudyJob, StudyKind, StudyOptions,
};

use super::progress::{progress_printer, run_job};
use super::train_cmds::{command_line, config, load_flat, TrainingArgs};
use super::{checks, CliResult};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Args, Debug)]
pub struct StudyArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    /// Training corpus (with --dev), unless --folds.
    #[arg(long, required_unless_present = "folds", requires = "dev")]
    pub train: Option<PathBuf>,
    /// Dev corpus: early stopping and the study's scores.
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Instead of --train/--dev: a folder of split_K_train.json files, each fold trained on
    /// all but a seeded --dev-fraction of its training file and scored on that part.
    #[arg(long, conflicts_with_all = ["train", "dev"])]
    pub folds: Option<PathBuf>,
    /// How many folds (from fold 0).
    #[arg(long, default_value_t = 1)]
    pub fold_count: usize,
    #[arg(long, default_value_t = 0.1)]
    pub dev_fraction: f64,
    /// Runs of each configuration, with seeds --seed, --seed + 1, …
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Folder for the jobs' folders and the table.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Jobs trained at once here, each on its share of the threads.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Write the plan to this file and stop: run its jobs with `relarc job PLAN --index K`,
    /// then `relarc collect PLAN`.
    #[arg(long)]
    pub plan_only: Option<PathBuf>,
    /// Print a scheduler script for the plan instead of running it (slurm).
    #[arg(long, value_parser = ["slurm"])]
    pub emit: Option<String>,
    /// Slurm: CPUs per job.
    #[arg(long, default_value_t = 2)]
    pub cpus: usize,
    /// Slurm: memory per job.
    #[arg(long, default_value = "8G")]
    pub mem: String,
    /// Slurm: time limit per job.
    #[arg(long, default_value = "12:00:00")]
    pub time: String,
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: GPUs per job.
    #[arg(long, default_value_t = 0)]
    pub gpus: usize,
}

#[derive(Args, Debug)]
pub struct AblateArgs {
    #[command(flatten)]
    pub study: StudyArgs,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Shared BiRNN layers to try: 2, 1..3 or 1,3.
    #[arg(long, default_value = "1..3")]
    pub shared: String,
    /// NER-specific layers to try.
    #[arg(long, default_value = "0..3")]
    pub ner: String,
    /// RE-specific layers to try.
    #[arg(long, default_value = "0..3")]
    pub re: String,
    /// grid: every configuration for all epochs; halving: all for a few epochs, the better
    /// half for twice as many, and so on.
    #[arg(long, value_enum, default_value_t = Strategy::Grid)]
    pub strategy: Strategy,
}

#[derive(Args, Debug)]
pub struct JobArgs {
    /// The study plan (from --plan-only, or OUT/study.json).
    pub plan: PathBuf,
    /// The job to run; default SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
    #[arg(long)]
    pub index: Option<usize>,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    pub plan: PathBuf,
}

pub fn ablate(a: AblateArgs) -> CliResult {
    let study = plan(&a.study, StudyKind::Ablate, Strategy::Grid, &ablate::variants)?;
    for g in &study.groups {
        eprintln!(
            "{:<17} shared {}, NER-specific {}, RE-specific {}: {} trainable parameters",
            g.name, g.shared, g.ner, g.re, g.parameters
        );
    }
    carry_out(&a.study, &study)
}

pub fn search(a: SearchArgs) -> CliResult {
    let counts =
        |flag: &str, text: &str| relarc::study::plan::parse_counts(text).map_err(|e| format!("{flag}: {e}"));
    let shared = counts("--shared", &a.shared)?;
    if shared.contains(&0) {
        return Err("--shared: at least one shared layer".into());
    }
    let cells = search::grid(&shared, &counts("--ner", &a.ner)?, &counts("--re", &a.re)?);
    let study = plan(&a.study, StudyKind::Search, a.strategy, &|base, vocab| {
        cells
            .iter()
            .map(|&c| search::group(base, c, vocab, None))
            .collect()
    })?;
    eprintln!(
        "{} configurations, {} jobs ({:?})",
        study.groups.len(),
        study.jobs.len(),
        a.strategy
    );
    carry_out(&a.study, &study)
}

type Groups<'a> = dyn Fn(&ModelConfig, &Vocabulary) -> Vec<Group> + 'a;

fn plan(a: &StudyArgs, kind: StudyKind, strategy: Strategy, groups: &Groups) -> Res<Study> {
    a.common.check()?;
    checks::at_least_one("--trials", a.trials)?;
    checks::at_least_one("--jobs", a.jobs)?;
    checks::at_least_one("--fold-count", a.fold_count)?;
    checks::fraction("--dev-fraction", a.dev_fraction)?;
    let base = config(&a.common)?;
    let data = job_data(a)?;
    let first_train = match &data[0] {
        JobData::Split { train, .. } | JobData::Holdout { train, .. } => train.path.clone(),
    };
    let groups = groups(&base, &ablate::vocabulary(&base, &Corpus::load(&first_train)?));
    let default_out = format!("runs/{}", format!("{kind:?}").to_lowercase());
    let out = std::path::absolute(a.out.clone().unwrap_or(default_out.into()))?;
    let jobs = jobs(a, &groups, &data, &out, strategy);
    Ok(Study {
        kind,
        strategy,
        command: command_line(),
        out,
        options: StudyOptions {
            patience: a.common.patience,
            device: a.common.device.clone(),
            choose_threshold: a.common.threshold.is_none(),
        },
        groups,
        jobs,
    })
}

/// One entry per fold, or the train/dev pair.
fn job_data(a: &StudyArgs) -> Res<Vec<JobData>> {
    match (&a.folds, &a.train, &a.dev) {
        (Some(dir), _, _) => (0..a.fold_count)
            .map(|fold| {
                Ok(JobData::Holdout {
                    train: DataRef::new(&dir.join(format!("split_{fold}_train.json")))?,
                    fold,
                    fraction: a.dev_fraction,
                    seed: a.common.seed + fold as u64,
                })
            })
            .collect(),
        (None, Some(train), Some(dev)) => Ok(vec![JobData::Split {
            train: DataRef::new(train)?,
            dev: DataRef::new(dev)?,
        }]),
        _ => Err("give --train and --dev, or --folds".into()),
    }
}

fn jobs(a: &StudyArgs, groups: &[Group], data: &[JobData], out: &Path, strategy: Strategy) -> Vec<StudyJob> {
    let rungs = match strategy {
        Strategy::Grid => vec![(groups.len(), a.common.epochs)],
        Strategy::Halving => search::rungs(groups.len(), a.common.epochs),
    };
    job_list(groups, data, (a.trials, a.common.seed), &rungs, out)
}

/// Runs the study here, writes its plan, or prints a scheduler script for it.
fn carry_out(a: &StudyArgs, study: &Study) -> CliResult {
    if a.emit.is_some() {
        let plan = match &a.plan_only {
            Some(p) => std::path::absolute(p)?,
            None => study.out.join("study.json"),
        };
        study.write(&plan)?;
        std::fs::create_dir_all(study.out.join("logs"))?;
        let resources = slurm::Resources {
            cpus: a.cpus,
            mem: a.mem.clone(),
            time: a.time.clone(),
            partition: a.partition.clone(),
            gpus: a.gpus,
        };
        let exe = std::env::current_exe()?;
        print!(
            "{}",
            slurm::script(study, &plan, &exe, &std::env::current_dir()?, &resources)
        );
        eprintln!("plan in {}; submit the script with sbatch", plan.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(plan) = &a.plan_only {
        study.write(plan)?;
        eprintln!(
            "{} jobs planned in {}: run `relarc job {} --index K` for K from 0 to {}, then `relarc collect {}`",
            study.jobs.len(),
            plan.display(),
            plan.display(),
            study.jobs.len() - 1,
            plan.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    study.claim()?;
    run_all(study, a.jobs, &run_job, &mut progress_printer(a.jobs))?;
    report(study)
}

pub fn job(a: JobArgs) -> CliResult {
    let study = Study::read(&a.plan)?;
    let index = match a.index {
        Some(k) => k,
        None => index_from_environment()?,
    };
    let ran = run_one(&study, index, None, &run_job)?;
    let r = ran.result();
    let kept = if matches!(ran, Ran::Kept(_)) {
        " (finished before: kept)"
    } else {
        ""
    };
    eprintln!(
        "job {index} ({}): best epoch {}, dev score {:.2}, {:.0} s{kept}",
        r.job.label(),
        r.best_epoch,
        100.0 * r.best_score,
        r.seconds
    );
    Ok(ExitCode::SUCCESS)
}

fn index_from_environment() -> Res<usize> {
    for variable in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(value) = std::env::var(variable) {
            return value.trim().parse().map_err(|_| {
                relarc::study::StudyError::BadIndex {
                    variable: variable.into(),
                    value,
                }
                .into()
            });
        }
    }
    Err(relarc::study::StudyError::NoIndex.into())
}

pub fn collect_cmd(a: CollectArgs) -> CliResult {
    report(&Study::read(&a.plan)?)
}

/// Prints the table (stdout) and what is missing (stderr), and writes them beside the jobs.
fn report(study: &Study) -> CliResult {
    let collected = collect(study)?;
    collected.write(study)?;
    print!("{}", collected.markdown());
    if let Some(w) = &collected.winner {
        eprintln!(
            "best configuration ({w}) in {} for `relarc train --config`",
            study.out.join("best_config.json").display()
        );
    }
    eprintln!("table in {}", study.out.join("study_table.md").display());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct AffinityArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    #[arg(long)]
    pub train: PathBuf,
    /// Dev sentences whose tokens the two models' layers are compared on.
    #[arg(long)]
    pub dev: PathBuf,
    /// BiRNN layers of the single-task models (default: the preset's shared layers plus its
    /// deeper task-specific stack).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Dev tokens compared (the dissimilarity matrices grow with its square).
    #[arg(long, default_value_t = 400)]
    pub tokens: usize,
    #[arg(long, default_value = "runs/affinity")]
    pub out: PathBuf,
}

pub fn affinity(a: AffinityArgs) -> CliResult {
    use relarc::study::affinity::{measure, AffinityPlan};
    a.common.check()?;
    checks::at_least_one("--tokens", a.tokens)?;
    let base = config(&a.common)?;
    let depth = a
        .depth
        .unwrap_or(base.shared_layers + base.ner_layers.max(base.re_layers));
    checks::at_least_one("--depth", depth)?;
    let plan = AffinityPlan {
        base,
        depth,
        options: super::train_cmds::options(&a.common, a.common.seed)?,
        train: load_flat(&a.train)?.sentences,
        dev: load_flat(&a.dev)?.sentences,
        max_tokens: a.tokens,
        command: command_line(),
    };
    let report = measure(&plan, &run_job)?;
    println!("| layer | affinity (RSA, Spearman) |\n|---|---|");
    for (l, x) in report.layers.iter().enumerate() {
        println!("| {} | {x:.3} |", l + 1);
    }
    let (s, n, r) = report.suggested;
    println!(
        "\nSuggested: share {s} of {depth} layers (shared {s}, NER-specific {n}, RE-specific {r}), compared on {} dev tokens after {} epochs.",
        report.tokens, report.epochs
    );
    std::fs::create_dir_all(&a.out)?;
    let path = a.out.join("affinity.json");
    relarc::fsio::atomic_write_bytes(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    eprintln!("report in {}", path.display());
    Ok(ExitCode::SUCCESS)
}
