//! `relarc cv-together`: cross-validation runs made apart, scored with their models together.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use relarc::train::protocol::{score_runs_together, TogetherPlan, TogetherProgress};

use super::train_cmds::{command_line, device, print_metrics};
use super::CliResult;

#[derive(Args, Debug)]
pub struct CvTogetherArgs {
    /// Cross-validation output folders (`relarc cv --out`), all trained on --folds (one alone
    /// is scored again as `cv` scored it).
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
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
    let plan = TogetherPlan {
        runs: a.runs,
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
        eprintln!("report in {}", out.join("cv_report.json").display());
    }
    Ok(ExitCode::SUCCESS)
}
