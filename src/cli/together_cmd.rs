//! Models that predict together: `relarc cv-together` scores cross-validation runs made apart
//! with their models together; `relarc combine` keeps trained models as one combined model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use relarc::train::protocol::{score_runs_together, TogetherPlan, TogetherProgress};

use relarc::model::combined;
use relarc::model::ensemble::check_weights;

use super::predict_cmds::threshold_on_dev;
use super::progress::print_metrics;
use super::train_cmds::{command_line, device};
use super::{checks, CliResult};

#[derive(Args, Debug)]
pub struct CvTogetherArgs {
    /// Cross-validation output folders (`relarc cv --out`), all trained on --folds (one alone
    /// is scored again as `cv` scored it).
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// How much each run's models weigh in the means, one positive number per run in the
    /// order given, comma-separated (`--weights 2,1,1`); θr is then the weighted mean of
    /// theirs. Default: equal.
    #[arg(long, value_delimiter = ',')]
    pub weights: Vec<f64>,
    /// Folder with split_K_train.json and split_K_test.json, as the runs were given it.
    #[arg(long)]
    pub folds: PathBuf,
    /// Folder for cv_report.json (nothing is written without it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn cv_together(a: CvTogetherArgs) -> CliResult {
    if !a.weights.is_empty() {
        check_weights(&a.weights, a.runs.len()).map_err(|e| format!("--weights: {e}"))?;
    }
    let plan = TogetherPlan {
        runs: a.runs,
        weights: a.weights,
        folds: a.folds,
        device: device(&a.device)?,
        out: a.out,
        command: command_line(),
    };
    let n = plan.runs.len();
    let mut show = |p: TogetherProgress| match p {
        TogetherProgress::Preparing { encoder, done, total } if done == total => {
            eprintln!("{encoder}: features of {total} test sentences ready (cached for next time)")
        }
        TogetherProgress::Preparing { encoder, done, total } if done <= 256 => {
            eprintln!("{encoder}: computing the features of {total} test sentences not cached yet…")
        }
        TogetherProgress::Preparing { .. } => {}
        TogetherProgress::Scored(f) => {
            eprintln!(
                "fold {}, the {n} runs' models together (θr {:.3}):",
                f.fold, f.re_threshold
            );
            print_metrics("NER", &f.test.ner);
            print_metrics("RE", &f.test.re);
        }
    };
    let report = score_runs_together(&plan, &mut show)?;
    for s in &report.skipped {
        let runs: Vec<String> = s.unfinished_in.iter().map(|p| p.display().to_string()).collect();
        eprintln!("fold {}: not scored, unfinished in {}", s.fold, runs.join(", "));
    }
    let folds: Vec<String> = report.folds.iter().map(|f| f.fold.to_string()).collect();
    eprint!(
        "folds {}, the {n} runs' models together (mean ± standard deviation over folds, %):\n{}",
        folds.join(", "),
        report.summary
    );
    if let Some(out) = &plan.out {
        eprintln!(
            "report in {}",
            out.join(relarc::train::protocol::CV_REPORT).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct CombineArgs {
    /// Trained model folders (a combined one counts its members), trained on the same types.
    #[arg(required = true, num_args = 1..)]
    pub models: Vec<PathBuf>,
    /// How much each model weighs in the means, one positive number per model in the order
    /// given, comma-separated (`--weights 2,1,1`; a combined model counts its members), kept in
    /// the combined folder. Default: equal, or a combined model's own weights.
    #[arg(long, value_delimiter = ',')]
    pub weights: Vec<f64>,
    /// The new folder for the combined model (missing or empty).
    #[arg(long)]
    pub out: PathBuf,
    /// θr on the members' mean relation probability (default: the weighted mean of their θr).
    #[arg(long, conflicts_with = "choose_threshold")]
    pub threshold: Option<f64>,
    /// Choose θr on this annotated corpus instead (the one with the best relation F1 there).
    #[arg(long)]
    pub choose_threshold: Option<PathBuf>,
    /// auto (CUDA when present), cpu or cuda: where --choose-threshold predicts.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn combine(a: CombineArgs) -> CliResult {
    let dev = device(&a.device)?;
    if let Some(t) = a.threshold {
        checks::fraction("--threshold", t)?;
    }
    combined::check_new_folder(&a.out)?;
    let singles = super::predict_cmds::weighted_members(&a.models, &a.weights)?;
    if singles.dirs.len() < 2 {
        return Err("give two or more models to combine".into());
    }
    // Loading them checks that they load here and share their types.
    let mut models = combined::load_together(&singles, dev)?;
    if let Some(t) = a.threshold {
        models.re_threshold = t;
    }
    if let Some(path) = &a.choose_threshold {
        threshold_on_dev(&mut models, path)?;
    }
    combined::write_combined(&singles, models.re_threshold, &a.out)?;
    let weighted = match models.is_weighted() {
        true => format!(
            " (weights {})",
            relarc::model::card::weights_ratio(models.weights())
        ),
        false => String::new(),
    };
    eprintln!(
        "{}: {} models predicting together{weighted} at θr {:.3} (load it wherever a model folder goes)",
        a.out.display(),
        singles.dirs.len(),
        models.re_threshold
    );
    Ok(ExitCode::SUCCESS)
}
