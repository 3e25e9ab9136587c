//! Means and standard deviations of strict scores over the runs of a protocol (folds, trials).

use std::fmt;

use serde::Serialize;

use crate::eval::{Metrics, Prf, Report};

/// One figure over several runs: mean, sample standard deviation and each run's value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
    pub runs: Vec<f64>,
}

impl MeanStd {
    pub fn of(runs: Vec<f64>) -> MeanStd {
        let n = runs.len() as f64;
        let mean = runs.iter().sum::<f64>() / n;
        let var = if runs.len() > 1 {
            runs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        MeanStd {
            mean,
            std: var.sqrt(),
            runs,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrfSummary {
    pub precision: MeanStd,
    pub recall: MeanStd,
    pub f1: MeanStd,
}

impl PrfSummary {
    fn of(prfs: &[Prf]) -> PrfSummary {
        let pick = |f: fn(&Prf) -> f64| MeanStd::of(prfs.iter().map(f).collect());
        PrfSummary {
            precision: pick(|p| p.precision),
            recall: pick(|p| p.recall),
            f1: pick(|p| p.f1),
        }
    }
}

/// Micro and macro averages of one task over the runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskSummary {
    pub micro: PrfSummary,
    #[serde(rename = "macro")]
    pub macro_: PrfSummary,
}

impl TaskSummary {
    fn of(metrics: &[&Metrics]) -> TaskSummary {
        let micro: Vec<Prf> = metrics.iter().map(|m| m.micro).collect();
        let macro_: Vec<Prf> = metrics.iter().map(|m| m.macro_).collect();
        TaskSummary {
            micro: PrfSummary::of(&micro),
            macro_: PrfSummary::of(&macro_),
        }
    }
}

/// NER and RE over the runs of a protocol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub ner: TaskSummary,
    pub re: TaskSummary,
    #[serde(skip)]
    pub runs: usize,
}

impl Summary {
    pub fn of(reports: &[Report]) -> Summary {
        let ner: Vec<&Metrics> = reports.iter().map(|r| &r.ner).collect();
        let re: Vec<&Metrics> = reports.iter().map(|r| &r.re).collect();
        Summary {
            ner: TaskSummary::of(&ner),
            re: TaskSummary::of(&re),
            runs: reports.len(),
        }
    }
}

/// Lines of percentages, as the command line prints them.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (task, t) in [("NER", &self.ner), ("RE", &self.re)] {
            for (avg, p) in [("micro", &t.micro), ("macro", &t.macro_)] {
                write!(f, "  {task:<3} {avg:<5}")?;
                for (name, x) in [("precision", &p.precision), ("recall", &p.recall), ("f1", &p.f1)] {
                    write!(f, " {name} {:.2} ± {:.2}", 100.0 * x.mean, 100.0 * x.std)?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_standard_deviation() {
        let m = MeanStd::of(vec![0.5, 0.7, 0.9]);
        assert!((m.mean - 0.7).abs() < 1e-12);
        assert!((m.std - 0.2).abs() < 1e-12);
        assert_eq!(MeanStd::of(vec![0.4]).std, 0.0);
    }
}
