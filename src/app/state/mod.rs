//! The app's state and every change to it, free of egui so it can be tested directly. The
//! view reads this state and sends commands; `apply` carries them out, edits go through
//! `History` so each can be undone. The parts: `apply` (the command matches), `select`
//! (selection, relation mode, moving), `edit` (changes and undo), `filter` (the sentence
//! list, statistics and metrics).

mod apply;
mod edit;
mod filter;
mod select;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use edit::History;
pub use filter::{list_row, match_ranges, search_hits, EditState, Filter, Order};
pub use select::{Mode, Selection};

use super::command::ViewMode;
use super::status::Status;
use crate::corpus::formats::spert;
use crate::corpus::stats::Stats;
use crate::corpus::{Corpus, Format, Sentence};
use crate::model::trained_on::TrainedOn;

/// The demo corpus shipped with the app, shown at the first start.
pub const DEMO: &str = include_str!("../../../assets/demo.json");

/// Unsaved edits found from an earlier session.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryOffer {
    pub path: PathBuf,
    pub sentences: usize,
}

/// What the metrics by part were computed for: the corpus generation and the split's length.
type PartsKey = (u64, Option<usize>);

/// Metrics over one part of the corpus.
#[derive(Clone, Debug)]
pub struct MetricsPart {
    pub name: &'static str,
    pub sentences: usize,
    pub report: crate::eval::Report,
    /// The model was trained on these sentences: their scores overstate it.
    pub seen_in_training: bool,
}

pub struct AppState {
    pub corpus: Corpus,
    /// The file the corpus was read from and is saved to; None for the demo or a new corpus.
    pub path: Option<PathBuf>,
    pub format: Format,
    pub current: usize,
    pub selection: Selection,
    /// Whether a relation is being made, and how far.
    pub mode: Mode,
    pub history: History,
    pub dirty: bool,
    /// Depth of the undo history at the last save or open, while undo and redo can still
    /// return to it (None once an edit outside the history, or a new branch, made that
    /// impossible): back at that depth, nothing is unsaved.
    saved_depth: Option<usize>,
    /// Bumped by every change of the corpus, so caches know when to refresh.
    pub generation: u64,
    /// Bumped by every edit of the corpus (not by predictions): a save or open that ran in
    /// the background knows whether the corpus was edited meanwhile.
    pub edits: u64,
    pub status: Option<Status>,
    pub filter: Filter,
    filtered: Vec<usize>,
    filtered_for: Option<(Filter, u64)>,
    stats: Option<(u64, Stats)>,
    pub recent: Vec<PathBuf>,
    pub recovery: Option<RecoveryOffer>,
    /// Where recovery files of corpora without a path go.
    pub recovery_dir: PathBuf,
    last_autosave: Option<Instant>,
    /// The recovery file being written off the UI thread (a large corpus takes a noticeable
    /// part of a second to write).
    autosaving: Option<std::thread::JoinHandle<Result<(), String>>>,
    /// The model's annotations of each sentence, where it has predicted them.
    pub predictions: Vec<Option<Sentence>>,
    pub view_mode: ViewMode,
    /// Show each token's BIO tag under it (gold, and predicted in the diff), as the paper's
    /// Figure 1 and the model's CRF see them.
    pub show_bio: bool,
    /// θr of the model that made the predictions, for the uncertainty order.
    pub threshold: f64,
    /// For the model trained in this session: which sentences (by index at training time)
    /// were its held-out dev part (true) and which it was trained on (false).
    pub trained_split: Option<Vec<bool>>,
    /// The sentences the model that made the predictions was trained on, where it recorded
    /// them (see `set_trained_sentences`).
    trained_sentences: Option<Arc<TrainedOn>>,
    parts: Option<(PartsKey, Vec<MetricsPart>)>,
}

/// The corpus as a save started writing it: the edit count and the undo depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavePoint {
    edits: u64,
    depth: usize,
    sentences: usize,
}

pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(20);

/// `x.json` → `x.json.relarc-recovery.json`, beside the file.
pub fn recovery_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".relarc-recovery.json");
    path.with_file_name(name)
}

impl AppState {
    pub fn demo(recovery_dir: PathBuf) -> AppState {
        let sentences =
            spert::parse_json(Path::new("assets/demo.json"), DEMO).expect("the demo corpus is valid");
        let mut state = AppState::with_corpus(Corpus::new(sentences), None, Format::Json, recovery_dir);
        state.check_recovery();
        state
    }

    pub fn with_corpus(
        corpus: Corpus,
        path: Option<PathBuf>,
        format: Format,
        recovery_dir: PathBuf,
    ) -> AppState {
        AppState {
            corpus,
            path,
            format,
            current: 0,
            selection: Selection::None,
            mode: Mode::Normal,
            history: History::default(),
            dirty: false,
            saved_depth: Some(0),
            generation: 0,
            edits: 0,
            status: None,
            filter: Filter::default(),
            filtered: Vec::new(),
            filtered_for: None,
            stats: None,
            recent: Vec::new(),
            recovery: None,
            recovery_dir,
            last_autosave: None,
            autosaving: None,
            predictions: Vec::new(),
            view_mode: ViewMode::Gold,
            show_bio: false,
            threshold: 0.9,
            trained_split: None,
            trained_sentences: None,
            parts: None,
        }
    }

    pub fn sentence(&self) -> Option<&Sentence> {
        self.corpus.sentences.get(self.current)
    }

    pub fn title(&self) -> String {
        let name = self
            .path
            .as_ref()
            .map_or("demo corpus".into(), |p| p.display().to_string());
        format!("{}{name} — relarc", if self.dirty { "• " } else { "" })
    }

    pub(super) fn info(&mut self, msg: impl Into<String>) {
        self.status = Some(Status::info(msg));
    }

    pub(super) fn error(&mut self, msg: impl Into<String>) {
        self.status = Some(Status::error(msg));
    }

    pub fn recovery_path(&self) -> PathBuf {
        match &self.path {
            Some(p) => recovery_path_for(p),
            None => self.recovery_dir.join("demo.relarc-recovery.json"),
        }
    }

    /// Offers the recovery file when one exists that is newer than the corpus file.
    pub fn check_recovery(&mut self) {
        let rec = self.recovery_path();
        let Ok(meta) = std::fs::metadata(&rec) else { return };
        let newer = match self.path.as_ref().and_then(|p| std::fs::metadata(p).ok()) {
            Some(src) => meta.modified().ok() >= src.modified().ok(),
            None => true,
        };
        if newer {
            if let Ok(c) = Corpus::load_as(&rec, Format::Json) {
                self.recovery = Some(RecoveryOffer {
                    path: rec,
                    sentences: c.sentences.len(),
                });
            }
        }
    }

    /// Starts writing the recovery file, in the background, when there are unsaved edits and
    /// the last one is old enough; reports how the previous write ended.
    pub fn autosave(&mut self, now: Instant) {
        if self.autosaving.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        self.finish_autosave();
        if !self.dirty
            || self
                .last_autosave
                .is_some_and(|t| now.duration_since(t) < AUTOSAVE_EVERY)
        {
            return;
        }
        self.last_autosave = Some(now);
        let path = self.recovery_path();
        let corpus = self.corpus.clone();
        self.autosaving = Some(std::thread::spawn(move || {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            corpus
                .save_as(&path, Format::Json)
                .map(|_notes| ())
                .map_err(|e| e.to_string())
        }));
    }

    /// Waits for the recovery file being written, if any, and says when writing it failed.
    pub fn finish_autosave(&mut self) {
        let Some(handle) = self.autosaving.take() else {
            return;
        };
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.error(format!("could not write the recovery file: {e}")),
            Err(_) => self.error("could not write the recovery file: its writer failed"),
        }
    }

    /// After a save: a recovery file still being written would otherwise land after this.
    fn remove_recovery(&mut self) {
        self.finish_autosave();
        let _ = std::fs::remove_file(self.recovery_path());
    }

    /// Replaces the corpus with one read from `path` (unsaved edits are the caller's concern).
    pub fn open(&mut self, path: &Path) -> bool {
        self.opened(path, Corpus::load(path))
    }

    /// Takes the corpus read from `path` (here or in the background), or says why it could not
    /// be read.
    pub fn opened(&mut self, path: &Path, read: crate::corpus::Result<Corpus>) -> bool {
        match read {
            Ok(corpus) => {
                let format = corpus.source.as_ref().map_or(Format::Json, |s| s.1);
                let recent = std::mem::take(&mut self.recent);
                let dir = self.recovery_dir.clone();
                *self = AppState::with_corpus(corpus, Some(path.to_path_buf()), format, dir);
                self.recent = recent;
                self.remember(path);
                self.info(format!(
                    "opened {} ({} sentences, {format})",
                    path.display(),
                    self.corpus.sentences.len()
                ));
                self.check_recovery();
                true
            }
            Err(e) => {
                self.error(e.to_string());
                false
            }
        }
    }

    fn remember(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(10);
    }

    /// Saves to `path` in `format`. On failure the edits stay and the status says why.
    pub fn save_to(&mut self, path: &Path, format: Format) -> bool {
        let point = self.save_point();
        let written = self.corpus.save_as(path, format);
        self.saved(path, format, point, written)
    }

    /// Where the corpus is now, for a save that writes a copy of it in the background.
    pub fn save_point(&self) -> SavePoint {
        SavePoint {
            edits: self.edits,
            depth: self.history.undo.len(),
            sentences: self.corpus.sentences.len(),
        }
    }

    /// Takes the outcome of writing the corpus as it was at `point` to `path`. Edits made
    /// since stay unsaved; on failure every edit stays and the status says why.
    pub fn saved(
        &mut self,
        path: &Path,
        format: Format,
        point: SavePoint,
        written: crate::corpus::Result<Vec<String>>,
    ) -> bool {
        match written {
            Ok(notes) => {
                self.path = Some(path.to_path_buf());
                self.format = format;
                let edited_since = self.edits != point.edits;
                if edited_since {
                    // Undo cannot tell when it is back at the saved point.
                    self.saved_depth = None;
                } else {
                    self.remove_recovery();
                    self.dirty = false;
                    self.saved_depth = Some(point.depth);
                }
                self.remember(path);
                let mut msg = format!(
                    "saved {} sentences to {} ({format})",
                    point.sentences,
                    path.display()
                );
                if edited_since {
                    msg.push_str("; the edits made while it was written are not saved yet");
                }
                for n in notes {
                    msg.push_str("; ");
                    msg.push_str(&n);
                }
                self.info(msg);
                true
            }
            Err(e) => {
                self.error(format!("not saved, your edits are kept: {e}"));
                false
            }
        }
    }

    /// Writes the predictions (sentences without one keep no annotations) in the format the
    /// path implies; false when it could not.
    pub fn export_predictions(&mut self, path: &Path) -> bool {
        let (corpus, n) = self.predictions_corpus();
        let written = Format::detect_output(path).and_then(|f| corpus.save_as(path, f));
        self.exported(path, n, written)
    }

    /// The corpus's sentences with the model's annotations (none where it has not predicted),
    /// and how many sentences have predictions.
    pub fn predictions_corpus(&self) -> (Corpus, usize) {
        let sentences: Vec<Sentence> = self
            .corpus
            .sentences
            .iter()
            .enumerate()
            .map(|(i, s)| match self.predictions.get(i).and_then(|p| p.clone()) {
                Some(p) => p,
                None => Sentence {
                    entities: Vec::new(),
                    relations: Vec::new(),
                    ..s.clone()
                },
            })
            .collect();
        let n = self.predictions.iter().flatten().count();
        (Corpus::new(sentences), n)
    }

    /// Takes the outcome of exporting the predictions of `n` sentences to `path`.
    pub fn exported(&mut self, path: &Path, n: usize, written: crate::corpus::Result<Vec<String>>) -> bool {
        match written {
            Ok(_) => {
                self.info(format!(
                    "exported the predictions of {n} sentences to {}",
                    path.display()
                ));
                true
            }
            Err(e) => {
                self.error(format!("predictions not exported: {e}"));
                false
            }
        }
    }

    /// The model's annotations of the current sentence.
    pub fn prediction(&self) -> Option<&Sentence> {
        self.predictions.get(self.current).and_then(|p| p.as_ref())
    }

    /// Stores predictions `(sentence index, predicted sentence)`.
    pub fn set_predictions(&mut self, items: impl IntoIterator<Item = (usize, Sentence)>) {
        self.predictions.resize(self.corpus.sentences.len(), None);
        for (i, p) in items {
            if i < self.predictions.len() && self.corpus.sentences[i].tokens == p.tokens {
                self.predictions[i] = Some(p);
            }
        }
        self.generation += 1;
    }

    /// Says which sentences the model that predicts (from now on) was trained on; the
    /// metrics then score those apart.
    pub fn set_trained_sentences(&mut self, t: Option<Arc<TrainedOn>>) {
        let same = match (&self.trained_sentences, &t) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if !same {
            self.trained_sentences = t;
            self.parts = None;
        }
    }

    /// How many of the corpus's sentences the predicting model was trained on, where it
    /// recorded them.
    pub fn sentences_trained_on(&self) -> Option<usize> {
        Some(self.trained_sentences.as_ref()?.count_in(&self.corpus.sentences))
    }

    pub(super) fn changed(&mut self) {
        self.dirty = true;
        self.edits += 1;
        self.generation += 1;
        self.status = None;
    }

    pub(super) fn restore_recovery(&mut self) {
        let Some(offer) = self.recovery.take() else { return };
        match Corpus::load_as(&offer.path, Format::Json) {
            Ok(c) => {
                self.corpus = c;
                self.current = 0;
                self.selection = Selection::None;
                self.history = History::default();
                self.saved_depth = None;
                self.changed();
                self.info(format!(
                    "restored {} sentences with unsaved edits; save to keep them",
                    offer.sentences
                ));
            }
            Err(e) => self.error(format!("could not read the recovery file: {e}")),
        }
    }

    /// Entity and relation types used, for the legend and filters.
    pub fn entity_types(&self) -> Vec<String> {
        let set: BTreeSet<String> = self.corpus.schema.entity_types.iter().cloned().collect();
        set.into_iter().collect()
    }

    /// Adds an entity type to the schema: its number key gives it to the selected tokens.
    pub fn add_entity_type(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return self.error("an entity type is one word (letters, digits, - and _)");
        }
        if self.corpus.schema.entity_types.iter().any(|t| t == name) {
            return self.info(format!("{name} is already an entity type"));
        }
        self.corpus.schema.entity_types.push(name.to_string());
        // Not in the undo history: undo cannot return to the saved corpus any more.
        self.saved_depth = None;
        self.changed();
        let n = self
            .entity_types()
            .iter()
            .position(|t| t == name)
            .map_or(0, |i| i + 1);
        self.info(format!("added the entity type {name} (key {n})"));
    }

    /// Adds a relation type from `head` to `tail` entities (or that pair to an existing one).
    pub fn add_relation_type(&mut self, name: &str, head: &str, tail: &str) {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return self.error("a relation type is one word (letters, digits, - and _)");
        }
        let types = &self.corpus.schema.entity_types;
        if !types.iter().any(|t| t == head) || !types.iter().any(|t| t == tail) {
            return self.error(format!("{head} and {tail} must both be entity types"));
        }
        let pair = (head.to_string(), tail.to_string());
        let relations = &mut self.corpus.schema.relation_types;
        match relations.iter_mut().find(|r| r.name == name) {
            Some(r) if r.signatures.contains(&pair) => {
                return self.info(format!("{name} from {head} to {tail} is already there"));
            }
            Some(r) => r.signatures.push(pair),
            None => relations.push(crate::corpus::schema::RelationType {
                name: name.to_string(),
                signatures: vec![pair],
            }),
        }
        self.saved_depth = None;
        self.changed();
        self.info(format!("added the relation type {name} from {head} to {tail}"));
    }

    /// Titles of the recent files that still exist.
    pub fn recent_files(&self) -> Vec<PathBuf> {
        self.recent.iter().filter(|p| p.exists()).cloned().collect()
    }
}
