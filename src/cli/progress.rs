//! Training progress on the terminal: a bar per run, a line per epoch, and a protocol's
//! progress with the time left.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use relarc::eval::Metrics;
use relarc::train::protocol::Progress;
use relarc::train::{EpochRecord, Event, Failure, TrainError, TrainJob, TrainOutcome, Trainer};

/// Runs a job on the trainer thread with a progress bar; returns the outcome.
pub(super) fn run_job(job: TrainJob, label: &str) -> Result<TrainOutcome, Failure> {
    let trainer = Trainer::spawn(None);
    trainer.start(job);
    let mut progress = JobProgress::new(label);
    loop {
        let event = trainer
            .events
            .recv()
            .map_err(|_| Failure::Panicked("the trainer stopped unexpectedly".into()))?;
        if let Some(end) = progress.show(event) {
            return end;
        }
    }
}

/// The terminal's progress bars: one per training running (several with `--jobs`).
fn bars() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// A training run on the terminal: a progress bar, and a line per epoch.
struct JobProgress {
    bar: ProgressBar,
    label: String,
    last_dev: String,
}

impl JobProgress {
    fn new(label: &str) -> JobProgress {
        let bar = bars().add(ProgressBar::new(0));
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        JobProgress {
            bar,
            label: label.into(),
            last_dev: String::new(),
        }
    }

    /// Shows an event; returns how the run ended once it has.
    fn show(&mut self, event: Event) -> Option<Result<TrainOutcome, Failure>> {
        let label = &self.label;
        match event {
            Event::Started {
                device,
                epochs,
                steps_per_epoch,
                train_sentences,
                dev_sentences,
                parameters,
                removed_overlaps,
            } => {
                self.bar.set_length((epochs * steps_per_epoch) as u64);
                bars().suspend(|| {
                    eprintln!(
                        "{label}: training on {device}: {train_sentences} training sentences, {dev_sentences} dev, {parameters} trainable parameters, at most {epochs} epochs"
                    );
                    let (train, dev) = (removed_overlaps.train, removed_overlaps.dev);
                    if train + dev > 0 {
                        eprintln!("{label}: removed {train} overlapping entities from the training data and {dev} from the dev data (the longer span is kept)");
                    }
                });
            }
            Event::Step {
                epoch,
                step,
                steps,
                loss,
                ..
            } => {
                self.bar.inc(1);
                let dev = &self.last_dev;
                self.bar
                    .set_message(format!("epoch {epoch} step {step}/{steps} loss {loss:.3}{dev}"));
            }
            Event::Preparing { done, total } => self.preparing(done, total),
            Event::DevEvaluated { ner_f1, re_f1, .. } => {
                self.last_dev = format!(", dev NER {:.1} RE {:.1}", 100.0 * ner_f1, 100.0 * re_f1);
            }
            Event::EpochFinished(r) => self.epoch_finished(&r),
            Event::Finished(outcome) => {
                self.bar.finish_and_clear();
                return Some(Ok(*outcome));
            }
            Event::Failed(why) => {
                self.bar.abandon();
                return Some(Err(why));
            }
            Event::Cancelled => return Some(Err(Failure::Error(TrainError::Cancelled))),
            Event::EpochStarted { .. } | Event::NewBest { .. } => {}
        }
        None
    }

    fn preparing(&self, done: usize, total: usize) {
        self.bar
            .set_message(format!("frozen encoder features {done}/{total} sentences"));
        if done == total {
            let label = &self.label;
            bars().suspend(|| {
                eprintln!("{label}: computed encoder features for {total} sentences (cached for later runs)")
            });
        }
    }

    fn epoch_finished(&self, r: &EpochRecord) {
        let dev = match (r.dev_ner_f1, r.dev_re_f1) {
            (Some(n), Some(e)) => format!(", dev F1 NER {:.2} RE {:.2}", 100.0 * n, 100.0 * e),
            _ => String::new(),
        };
        let label = &self.label;
        bars().suspend(|| {
            eprintln!(
                "{label}: epoch {} loss {:.4}{dev} ({:.1} s)",
                r.epoch, r.loss, r.seconds
            )
        });
    }
}

pub(super) fn print_metrics(what: &str, m: &Metrics) {
    eprintln!(
        "  {what:<4} micro P {:.2} R {:.2} F1 {:.2} | macro P {:.2} R {:.2} F1 {:.2}",
        100.0 * m.micro.precision,
        100.0 * m.micro.recall,
        100.0 * m.micro.f1,
        100.0 * m.macro_.precision,
        100.0 * m.macro_.recall,
        100.0 * m.macro_.f1
    );
}

/// Prints a protocol's progress on stderr, with the time left at the pace of the runs trained
/// so far by this command (runs kept from an earlier one took no time here), `jobs` at once.
pub(super) fn progress_printer(jobs: usize) -> impl FnMut(Progress) + Send {
    let mut started = std::time::Instant::now();
    let mut trained: Vec<f64> = Vec::new();
    move |p| {
        match p {
            Progress::Scored {
                resumed: false,
                seconds,
                ..
            } => trained.push(seconds),
            // Jobs start at once when the shared features are ready, or after the trials' dev run.
            Progress::Preparing { done, total } if done == total => started = std::time::Instant::now(),
            Progress::ChosenOnDev { .. } => started = std::time::Instant::now(),
            _ => {}
        }
        let elapsed = started.elapsed().as_secs_f64();
        let left = |done: usize, total: usize| match relarc::train::protocol::eta::seconds_left(
            elapsed,
            &trained,
            total - done,
            jobs,
        ) {
            Some(s) if done < total => format!(", about {:.0} min left", s / 60.0),
            _ => String::new(),
        };
        bars().suspend(|| show_progress_line(p, &left))
    }
}

fn show_progress_line(p: Progress, left: &dyn Fn(usize, usize) -> String) {
    match p {
        Progress::Scored {
            label,
            best_epoch,
            seconds,
            test,
            resumed,
            done,
            total,
        } => {
            let earlier = if resumed { " (finished before: kept)" } else { "" };
            eprintln!("{label}: best epoch {best_epoch}, {seconds:.0} s{earlier}");
            print_metrics("NER", &test.ner);
            print_metrics("RE", &test.re);
            eprintln!("{done} of {total} runs finished{}", left(done, total));
        }
        Progress::Preparing { done, total } if done == total => {
            eprintln!("encoder features of {total} sentences ready (computed once for all jobs)")
        }
        Progress::Preparing { .. } => {}
        Progress::Together { fold, seeds, test } => {
            eprintln!("fold {fold}, the {seeds} seeds' models together:");
            print_metrics("NER", &test.ner);
            print_metrics("RE", &test.re);
        }
        Progress::ChosenOnDev { epochs, threshold } => {
            eprintln!("chose {epochs} epochs on dev, and θr {threshold:.3}")
        }
    }
}
