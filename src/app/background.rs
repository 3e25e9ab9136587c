//! One-shot work off the UI thread: opening a corpus, saving it, exporting the predictions.
//! Each runs on a thread of its own (a `poll_promise::Promise`) while the window keeps
//! drawing, and its outcome goes to the state when it comes. The model and the trainer are
//! long-lived threads with channels of their own (see `controller`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use poll_promise::Promise;

use super::state::{AppState, SavePoint};
use crate::corpus::{formats, Corpus, Format, LoadStage, Result};

/// A corpus being read.
pub struct Opening {
    pub path: PathBuf,
    /// The file's size (None for a brat folder).
    pub bytes: Option<u64>,
    pub started: Instant,
    /// The state's edit count when it started: edits made since are asked about first.
    edits: u64,
    stage: Arc<Mutex<LoadStage>>,
    promise: Promise<Result<Corpus>>,
}

impl Opening {
    /// "opening big.json (19.4 MB): checking 42,720 sentences, 3 s".
    pub fn describe(&self) -> String {
        let name = short_name(&self.path);
        let size = self
            .bytes
            .map(|b| format!(" ({:.1} MB)", b as f64 / 1e6))
            .unwrap_or_default();
        let stage = match *self.stage.lock().unwrap_or_else(|e| e.into_inner()) {
            LoadStage::Reading => "reading".to_string(),
            LoadStage::Checking { sentences } => format!("checking {sentences} sentences"),
        };
        let secs = self.started.elapsed().as_secs();
        format!("opening {name}{size}: {stage}, {secs} s")
    }
}

/// A copy of the corpus being written to its file.
struct Saving {
    path: PathBuf,
    format: Format,
    point: SavePoint,
    promise: Promise<Result<Vec<String>>>,
}

/// The predictions being written.
struct Exporting {
    path: PathBuf,
    sentences: usize,
    promise: Promise<Result<Vec<String>>>,
}

/// What came back that the app has to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// The corpus was edited while another was being read: ask before replacing it.
    OpenedOverEdits(PathBuf),
    /// A save ended (true: written).
    Saved(bool),
}

#[derive(Default)]
pub struct Background {
    pub opening: Option<Opening>,
    saving: Option<Saving>,
    /// A save asked for while another was being written: started when that one ends, with
    /// the corpus as it is then.
    save_next: Option<(PathBuf, Format)>,
    exporting: Option<Exporting>,
}

impl Background {
    pub fn busy(&self) -> bool {
        self.opening.is_some() || self.saving.is_some() || self.exporting.is_some()
    }

    /// A save or an export is being written (quitting waits for it).
    pub fn writing(&self) -> bool {
        self.saving.is_some() || self.exporting.is_some()
    }

    /// Starts reading `path`; one being read already is given up.
    pub fn open(&mut self, ctx: &egui::Context, path: PathBuf, state: &mut AppState) {
        let stage = Arc::new(Mutex::new(LoadStage::Reading));
        let (shown, repaint, file) = (stage.clone(), ctx.clone(), path.clone());
        let promise = Promise::spawn_thread("open corpus", move || {
            let read = Format::detect_input(&file).and_then(|f| {
                Corpus::load_observed(&file, f, &formats::Options::default(), |s| {
                    *shown.lock().unwrap_or_else(|e| e.into_inner()) = s;
                    repaint.request_repaint();
                })
            });
            repaint.request_repaint();
            read
        });
        let bytes = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let opening = Opening {
            path,
            bytes,
            started: Instant::now(),
            edits: state.edits,
            stage,
            promise,
        };
        state.status = Some(super::status::Status::info(format!(
            "opening {}",
            opening.path.display()
        )));
        self.opening = Some(opening);
    }

    /// Stops waiting for the corpus being read (its thread ends on its own).
    pub fn cancel_open(&mut self, state: &mut AppState) {
        if let Some(o) = self.opening.take() {
            state.status = Some(super::status::Status::info(format!(
                "stopped opening {}",
                o.path.display()
            )));
        }
    }

    /// Starts writing a copy of the corpus to `path`, or queues it behind the one being
    /// written (two writers of one file would race).
    pub fn save(&mut self, ctx: &egui::Context, path: PathBuf, format: Format, state: &mut AppState) {
        if self.saving.is_some() {
            self.save_next = Some((path, format));
            return;
        }
        let corpus = state.corpus.clone();
        let point = state.save_point();
        let target = path.clone();
        let promise = spawn(ctx, "save corpus", move || corpus.save_as(&target, format));
        state.status = Some(super::status::Status::info(format!(
            "saving to {}",
            path.display()
        )));
        self.saving = Some(Saving {
            path,
            format,
            point,
            promise,
        });
    }

    /// Starts writing the predictions to `path`, in the format its name implies.
    pub fn export(&mut self, ctx: &egui::Context, path: PathBuf, state: &mut AppState) {
        let (corpus, sentences) = state.predictions_corpus();
        let target = path.clone();
        let promise = spawn(ctx, "export predictions", move || {
            Format::detect_output(&target).and_then(|f| corpus.save_as(&target, f))
        });
        state.status = Some(super::status::Status::info(format!(
            "exporting the predictions to {}",
            path.display()
        )));
        self.exporting = Some(Exporting {
            path,
            sentences,
            promise,
        });
    }

    /// Hands whatever has finished to the state; what the app must act on is returned.
    pub fn poll(&mut self, ctx: &egui::Context, state: &mut AppState) -> Vec<Finished> {
        let mut finished = Vec::new();
        if let Some(o) = take_ready(&mut self.opening, |o| &o.promise) {
            let read = o.promise.block_and_take();
            if state.dirty && state.edits != o.edits && read.is_ok() {
                finished.push(Finished::OpenedOverEdits(o.path));
            } else {
                state.opened(&o.path, read);
            }
        }
        if let Some(s) = take_ready(&mut self.saving, |s| &s.promise) {
            let written = s.promise.block_and_take();
            finished.push(Finished::Saved(state.saved(&s.path, s.format, s.point, written)));
            if let Some((path, format)) = self.save_next.take() {
                self.save(ctx, path, format, state);
            }
        }
        if let Some(e) = take_ready(&mut self.exporting, |e| &e.promise) {
            state.exported(&e.path, e.sentences, e.promise.block_and_take());
        }
        finished
    }
}

/// Runs `work` on a thread of its own; the window redraws when it ends.
fn spawn<T: Send + 'static>(
    ctx: &egui::Context,
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Promise<T> {
    let repaint = ctx.clone();
    Promise::spawn_thread(name, move || {
        let out = work();
        repaint.request_repaint();
        out
    })
}

/// The job in `slot` once its promise has its answer.
fn take_ready<J, T: Send + 'static>(slot: &mut Option<J>, promise: impl Fn(&J) -> &Promise<T>) -> Option<J> {
    slot.as_ref().and_then(|j| promise(j).ready())?;
    slot.take()
}

/// The name a path is shown by in questions ("opening big.json").
pub fn short_name(path: &Path) -> String {
    path.file_name()
        .map_or(path.display().to_string(), |n| n.to_string_lossy().to_string())
}
