//! The trainer thread: it owns the model while training, takes commands through one channel
//! and reports through another, so neither the CLI nor the GUI ever blocks on training.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use super::run::{train, EpochRecord, OverlapsRemoved, TrainError, TrainJob, TrainOutcome};

pub enum Command {
    Start(Box<TrainJob>),
    Cancel,
    Shutdown,
}

pub enum Event {
    Started {
        device: String,
        epochs: usize,
        steps_per_epoch: usize,
        train_sentences: usize,
        dev_sentences: usize,
        parameters: i64,
        removed_overlaps: OverlapsRemoved,
    },
    /// Frozen encoder features being computed ahead of the first epoch (cached ones skipped).
    Preparing {
        done: usize,
        total: usize,
    },
    EpochStarted {
        epoch: usize,
        epochs: usize,
    },
    Step {
        epoch: usize,
        step: usize,
        steps: usize,
        loss: f64,
        ner_loss: f64,
        re_loss: f64,
    },
    DevEvaluated {
        epoch: usize,
        ner_f1: f64,
        re_f1: f64,
        score: f64,
    },
    NewBest {
        epoch: usize,
        score: f64,
        saved_to: Option<PathBuf>,
    },
    EpochFinished(EpochRecord),
    Finished(Box<TrainOutcome>),
    Failed(Failure),
    Cancelled,
}

/// Why a run ended without a model.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Error(#[from] TrainError),
    /// libtorch panicked (out of memory, say); the reason is its message, made readable.
    #[error("{0}")]
    Panicked(String),
    #[error("a training run is already going; cancel it first")]
    Busy,
}

pub struct Trainer {
    commands: Sender<Command>,
    pub events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

/// A readable reason for a panic inside libtorch, naming memory exhaustion as such.
fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown error".into());
    if text.contains("out of memory") {
        let first = text.lines().next().unwrap_or_default();
        format!("ran out of GPU memory; try a smaller batch size or the CPU ({first})")
    } else {
        format!("training failed: {text}")
    }
}

impl Trainer {
    /// Starts the thread. `notify` is called after every event (the app asks for a repaint).
    pub fn spawn(notify: Option<Box<dyn Fn() + Send>>) -> Trainer {
        let (commands, command_rx) = channel::<Command>();
        let (event_tx, events) = channel::<Event>();
        let thread = std::thread::Builder::new()
            .name("relarc-trainer".into())
            .spawn(move || {
                let send = |e: Event| {
                    let _ = event_tx.send(e);
                    if let Some(n) = &notify {
                        n();
                    }
                };
                while let Ok(cmd) = command_rx.recv() {
                    let job = match cmd {
                        Command::Start(job) => job,
                        Command::Cancel => continue,
                        Command::Shutdown => break,
                    };
                    let mut shutdown = false;
                    let mut cancelled = || loop {
                        match command_rx.try_recv() {
                            Ok(Command::Cancel) => return true,
                            Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => {
                                shutdown = true;
                                return true;
                            }
                            Ok(Command::Start(_)) => send(Event::Failed(Failure::Busy)),
                            Err(TryRecvError::Empty) => return false,
                        }
                    };
                    let mut emit = |e: Event| send(e);
                    let result = catch_unwind(AssertUnwindSafe(|| train(*job, &mut cancelled, &mut emit)));
                    send(match result {
                        Ok(Ok(outcome)) => Event::Finished(Box::new(outcome)),
                        Ok(Err(TrainError::Cancelled)) => Event::Cancelled,
                        Ok(Err(e)) => Event::Failed(Failure::Error(e)),
                        Err(payload) => Event::Failed(Failure::Panicked(panic_reason(payload))),
                    });
                    if shutdown {
                        break;
                    }
                }
            })
            .expect("the trainer thread starts");
        Trainer {
            commands,
            events,
            thread: Some(thread),
        }
    }

    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    pub fn start(&self, job: TrainJob) {
        self.send(Command::Start(Box::new(job)));
    }

    pub fn cancel(&self) {
        self.send(Command::Cancel);
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
