//! The app's state and every change to it, free of egui so it can be tested directly. The
//! view reads this state and sends `Command`s; edits go through `History` so each can be
//! undone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::command::{Command, ViewMode};
use super::errors::{order_by, sentence_errors, uncertainty, ErrorKind};
use crate::corpus::formats::spert;
use crate::corpus::stats::{self, Stats};
use crate::corpus::{Corpus, Entity, Format, Provenance, Relation, Sentence};

/// The demo corpus shipped with the app, shown at the first start.
pub const DEMO: &str = include_str!("../../assets/demo.json");

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    /// Tokens between `anchor` and `cursor`, both included.
    Tokens {
        anchor: usize,
        cursor: usize,
    },
    Entity(usize),
    Relation(usize),
}

impl Selection {
    pub fn token_range(&self) -> Option<(usize, usize)> {
        match *self {
            Selection::Tokens { anchor, cursor } => Some((anchor.min(cursor), anchor.max(cursor) + 1)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EditState {
    #[default]
    All,
    Edited,
    Unedited,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    pub entity_type: Option<String>,
    pub relation_type: Option<String>,
    pub edit_state: EditState,
    /// Only sentences whose prediction has errors (of this kind, about this type).
    pub errors_only: bool,
    pub error_kind: Option<ErrorKind>,
    pub error_type: Option<String>,
    pub order: Order,
}

/// How the sentence list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Corpus,
    /// Most prediction errors first.
    Errors,
    /// Least certain predictions first.
    Uncertainty,
}

/// One undoable edit: a sentence before and after.
#[derive(Clone, Debug)]
struct Step {
    sentence: usize,
    before: Sentence,
    after: Sentence,
}

#[derive(Default)]
pub struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
}

impl History {
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

/// What the UI must do after a command: things the state cannot do itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    ShowOpenDialog,
    ShowSaveDialog,
    FocusSearch,
    TogglePalette,
    ToggleStats,
    ToggleMetrics,
    LoadModel,
    Quit,
}

/// Unsaved edits found from an earlier session.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryOffer {
    pub path: PathBuf,
    pub sentences: usize,
}

pub struct AppState {
    pub corpus: Corpus,
    /// The file the corpus was read from and is saved to; None for the demo or a new corpus.
    pub path: Option<PathBuf>,
    pub format: Format,
    pub current: usize,
    pub selection: Selection,
    /// Head (and then tail) of a relation being made.
    pub relation_head: Option<usize>,
    pub relation_tail: Option<usize>,
    pub history: History,
    pub dirty: bool,
    /// Bumped by every change of the corpus, so caches know when to refresh.
    pub generation: u64,
    pub status: Option<(String, bool)>,
    pub filter: Filter,
    filtered: Vec<usize>,
    filtered_for: Option<(Filter, u64)>,
    stats: Option<(u64, Stats)>,
    pub recent: Vec<PathBuf>,
    pub recovery: Option<RecoveryOffer>,
    /// Where recovery files of corpora without a path go.
    pub recovery_dir: PathBuf,
    last_autosave: Option<Instant>,
    /// The model's annotations of each sentence, where it has predicted them.
    pub predictions: Vec<Option<Sentence>>,
    pub view_mode: ViewMode,
    /// θr of the model that made the predictions, for the uncertainty order.
    pub threshold: f64,
    report: Option<(u64, crate::eval::Report)>,
}

/// How an annotation compares with the other side in the diff view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// In gold and predicted.
    Correct,
    /// Predicted, not in gold.
    Spurious,
    /// In gold, not predicted.
    Missed,
}

/// Gold and predictions merged into one sentence for the diff view.
#[derive(Clone, Debug)]
pub struct Diff {
    pub sentence: Sentence,
    pub entity_marks: Vec<Mark>,
    pub relation_marks: Vec<Mark>,
    /// Index of each shown entity / relation among the predictions, if it is predicted.
    pub entity_pred: Vec<Option<usize>>,
    pub relation_pred: Vec<Option<usize>>,
}

fn same_entity(a: &Entity, b: &Entity) -> bool {
    a.start == b.start && a.end == b.end && a.label == b.label
}

/// Index of the relation of `s` with the same type and the same argument spans and types as
/// relation `r` of `other`.
fn find_relation(s: &Sentence, other: &Sentence, r: &Relation) -> Option<usize> {
    let (h, t) = (&other.entities[r.head], &other.entities[r.tail]);
    s.relations.iter().position(|x| {
        x.label == r.label && same_entity(&s.entities[x.head], h) && same_entity(&s.entities[x.tail], t)
    })
}

pub fn diff(gold: &Sentence, pred: &Sentence) -> Diff {
    let mut sentence = Sentence {
        entities: Vec::new(),
        relations: Vec::new(),
        ..gold.clone()
    };
    let (mut entity_marks, mut entity_pred) = (Vec::new(), Vec::new());
    let mut gold_at = Vec::new();
    for g in &gold.entities {
        let p = pred.entities.iter().position(|p| same_entity(p, g));
        gold_at.push(sentence.entities.len());
        sentence.entities.push(g.clone());
        entity_marks.push(if p.is_some() { Mark::Correct } else { Mark::Missed });
        entity_pred.push(p);
    }
    let mut pred_at = Vec::new();
    for (i, p) in pred.entities.iter().enumerate() {
        match gold.entities.iter().position(|g| same_entity(p, g)) {
            Some(g) => pred_at.push(gold_at[g]),
            None => {
                pred_at.push(sentence.entities.len());
                sentence.entities.push(p.clone());
                entity_marks.push(Mark::Spurious);
                entity_pred.push(Some(i));
            }
        }
    }
    let (mut relation_marks, mut relation_pred) = (Vec::new(), Vec::new());
    for g in &gold.relations {
        let p = find_relation(pred, gold, g);
        sentence.relations.push(Relation {
            head: gold_at[g.head],
            tail: gold_at[g.tail],
            ..g.clone()
        });
        relation_marks.push(if p.is_some() { Mark::Correct } else { Mark::Missed });
        relation_pred.push(p);
    }
    for (i, p) in pred.relations.iter().enumerate() {
        if find_relation(gold, pred, p).is_none() {
            sentence.relations.push(Relation {
                head: pred_at[p.head],
                tail: pred_at[p.tail],
                ..p.clone()
            });
            relation_marks.push(Mark::Spurious);
            relation_pred.push(Some(i));
        }
    }
    Diff {
        sentence,
        entity_marks,
        relation_marks,
        entity_pred,
        relation_pred,
    }
}

pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(20);

/// `x.json` → `x.json.relarc-recovery.json`, beside the file.
pub fn recovery_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".relarc-recovery.json");
    path.with_file_name(name)
}

/// Adds a predicted entity to gold (marked accepted), or marks the same gold one accepted.
/// Returns its index in gold.
fn accept_entity(s: &mut Sentence, p: &Entity) -> usize {
    match s.entities.iter().position(|g| same_entity(g, p)) {
        Some(i) => {
            if s.entities[i].provenance == Provenance::Gold
                || s.entities[i].provenance == Provenance::Predicted
            {
                s.entities[i].provenance = Provenance::Accepted;
            }
            i
        }
        None => {
            s.entities.push(Entity {
                provenance: Provenance::Accepted,
                ..p.clone()
            });
            s.entities.len() - 1
        }
    }
}

/// Adds predicted relation `r` of `pred` to gold with both its arguments.
fn accept_relation(s: &mut Sentence, pred: &Sentence, r: usize) {
    let rel = &pred.relations[r];
    let h = accept_entity(s, &pred.entities[rel.head]);
    let t = accept_entity(s, &pred.entities[rel.tail]);
    match s
        .relations
        .iter()
        .position(|x| x.head == h && x.tail == t && x.label == rel.label)
    {
        Some(i) => s.relations[i].provenance = Provenance::Accepted,
        None => s.relations.push(Relation {
            head: h,
            tail: t,
            provenance: Provenance::Accepted,
            ..rel.clone()
        }),
    }
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
            relation_head: None,
            relation_tail: None,
            history: History::default(),
            dirty: false,
            generation: 0,
            status: None,
            filter: Filter::default(),
            filtered: Vec::new(),
            filtered_for: None,
            stats: None,
            recent: Vec::new(),
            recovery: None,
            recovery_dir,
            last_autosave: None,
            predictions: Vec::new(),
            view_mode: ViewMode::Gold,
            threshold: 0.9,
            report: None,
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

    fn info(&mut self, msg: impl Into<String>) {
        self.status = Some((msg.into(), false));
    }

    fn error(&mut self, msg: impl Into<String>) {
        self.status = Some((msg.into(), true));
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

    /// Writes the recovery file when there are unsaved edits and the last one is old enough.
    pub fn autosave(&mut self, now: Instant) {
        if !self.dirty
            || self
                .last_autosave
                .is_some_and(|t| now.duration_since(t) < AUTOSAVE_EVERY)
        {
            return;
        }
        self.last_autosave = Some(now);
        let path = self.recovery_path();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = self.corpus.save_as(&path, Format::Json) {
            self.error(format!("could not write the recovery file: {e}"));
        }
    }

    fn remove_recovery(&self) {
        let _ = std::fs::remove_file(self.recovery_path());
    }

    /// Replaces the corpus with one read from `path` (unsaved edits are the caller's concern).
    pub fn open(&mut self, path: &Path) -> bool {
        match Corpus::load(path) {
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
        match self.corpus.save_as(path, format) {
            Ok(notes) => {
                self.remove_recovery();
                self.path = Some(path.to_path_buf());
                self.format = format;
                self.dirty = false;
                self.remember(path);
                let mut msg = format!(
                    "saved {} sentences to {} ({format})",
                    self.corpus.sentences.len(),
                    path.display()
                );
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

    // ---- filtering and statistics --------------------------------------------------------

    fn errors_match(&self, i: usize) -> bool {
        let f = &self.filter;
        if !f.errors_only && f.error_kind.is_none() && f.error_type.is_none() {
            return true;
        }
        let Some(Some(pred)) = self.predictions.get(i) else {
            return false;
        };
        sentence_errors(&self.corpus.sentences[i], pred)
            .iter()
            .any(|(kind, label)| {
                f.error_kind.is_none_or(|k| k == *kind) && f.error_type.as_ref().is_none_or(|t| t == label)
            })
    }

    fn matches(&self, s: &Sentence, needle: &str) -> bool {
        let f = &self.filter;
        if let Some(t) = &f.entity_type {
            if !s.entities.iter().any(|e| &e.label == t) {
                return false;
            }
        }
        if let Some(t) = &f.relation_type {
            if !s.relations.iter().any(|r| &r.label == t) {
                return false;
            }
        }
        let edited = s
            .entities
            .iter()
            .map(|e| e.provenance)
            .chain(s.relations.iter().map(|r| r.provenance))
            .any(|p| p != Provenance::Gold && p != Provenance::Predicted);
        match f.edit_state {
            EditState::Edited if !edited => return false,
            EditState::Unedited if edited => return false,
            _ => {}
        }
        needle.is_empty()
            || s.tokens.iter().any(|t| t.to_lowercase().contains(needle))
            || s.text().to_lowercase().contains(needle)
    }

    /// Indices of the sentences that pass the filter, cached until the filter or the corpus
    /// changes.
    pub fn filtered(&mut self) -> &[usize] {
        let key = (self.filter.clone(), self.generation);
        if self.filtered_for.as_ref() != Some(&key) {
            let needle = self.filter.text.to_lowercase();
            let mut list: Vec<usize> = (0..self.corpus.sentences.len())
                .filter(|&i| self.matches(&self.corpus.sentences[i], &needle) && self.errors_match(i))
                .collect();
            let pred = |i: usize| self.predictions.get(i).and_then(|p| p.as_ref());
            match self.filter.order {
                Order::Corpus => {}
                Order::Errors => order_by(&mut list, |i| {
                    pred(i).map_or(-1.0, |p| {
                        sentence_errors(&self.corpus.sentences[i], p).len() as f64
                    })
                }),
                Order::Uncertainty => order_by(&mut list, |i| {
                    pred(i).map_or(-1.0, |p| uncertainty(p, self.threshold))
                }),
            }
            self.filtered = list;
            self.filtered_for = Some(key);
        }
        &self.filtered
    }

    /// Strict scores of the predictions against gold, over the sentences that have them.
    pub fn metrics(&mut self) -> Option<&crate::eval::Report> {
        if self.report.as_ref().is_none_or(|r| r.0 != self.generation) {
            let (gold, pred): (Vec<Sentence>, Vec<Sentence>) = self
                .predictions
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((self.corpus.sentences.get(i)?.clone(), p.clone()?)))
                .unzip();
            if gold.is_empty() {
                return None;
            }
            let report = crate::eval::evaluate(&gold, &pred).ok()?;
            self.report = Some((self.generation, report));
        }
        self.report.as_ref().map(|r| &r.1)
    }

    pub fn stats(&mut self) -> &Stats {
        if self.stats.as_ref().is_none_or(|s| s.0 != self.generation) {
            self.stats = Some((self.generation, stats::compute(&self.corpus.sentences)));
        }
        &self.stats.as_ref().expect("just computed").1
    }

    // ---- commands ------------------------------------------------------------------------

    pub fn apply(&mut self, cmd: Command) -> Effect {
        use Command::*;
        match cmd {
            Open => return Effect::ShowOpenDialog,
            OpenPath(p) => {
                self.open(&p);
            }
            Save => match self.path.clone() {
                Some(p) => {
                    self.save_to(&p, self.format);
                }
                None => return Effect::ShowSaveDialog,
            },
            SaveAs => return Effect::ShowSaveDialog,
            SaveTo(p, f) => {
                self.save_to(&p, f);
            }
            RestoreRecovery => self.restore_recovery(),
            DiscardRecovery => {
                if let Some(r) = self.recovery.take() {
                    let _ = std::fs::remove_file(r.path);
                }
            }
            Quit => return Effect::Quit,
            Undo => self.undo(),
            Redo => self.redo(),
            NextSentence => self.step_sentence(1),
            PrevSentence => self.step_sentence(-1),
            GoTo(i) => self.go_to(i),
            FocusSearch => return Effect::FocusSearch,
            TogglePalette => return Effect::TogglePalette,
            ToggleStats => return Effect::ToggleStats,
            ToggleMetrics => return Effect::ToggleMetrics,
            LoadModel => return Effect::LoadModel,
            SelectTokens { start, end } => {
                let n = self.sentence().map_or(0, |s| s.tokens.len());
                if start < end && end <= n {
                    self.selection = Selection::Tokens {
                        anchor: start,
                        cursor: end - 1,
                    };
                }
            }
            MoveCursor(d) => self.move_cursor(d, false),
            ExtendSelection(d) => self.move_cursor(d, true),
            SelectEntity(e) => {
                if self.relation_head.is_some() && self.relation_head != Some(e) {
                    return self.apply(RelationTail(e));
                }
                if self.sentence().is_some_and(|s| e < s.entities.len()) {
                    self.selection = Selection::Entity(e);
                }
            }
            SelectRelation(r) => {
                if self.sentence().is_some_and(|s| r < s.relations.len()) {
                    self.selection = Selection::Relation(r);
                    self.relation_head = None;
                    self.relation_tail = None;
                }
            }
            ClearSelection => {
                self.selection = Selection::None;
                self.relation_head = None;
                self.relation_tail = None;
            }
            EntityTypeNumber(n) => {
                if self.relation_tail.is_some() || matches!(self.selection, Selection::Relation(_)) {
                    return self.apply(RelationTypeNumber(n));
                }
                match self.corpus.schema.entity_types.get(n.wrapping_sub(1)).cloned() {
                    Some(label) => return self.apply(SetEntityType(label)),
                    None => self.error(format!(
                        "no entity type {n}; the corpus has {}",
                        self.corpus.schema.entity_types.len()
                    )),
                }
            }
            SetEntityType(label) => self.set_entity_type(label),
            DeleteSelected => self.delete_selected(),
            StartRelation => match self.selection {
                Selection::Entity(e) => {
                    self.relation_head = Some(e);
                    self.relation_tail = None;
                    self.info("relation: click the tail span");
                }
                _ => self.error("select the head span first"),
            },
            RelationTail(t) => self.relation_tail_chosen(t),
            CreateRelation { head, tail, label } => self.create_relation(head, tail, label),
            RelationTypeNumber(n) => {
                let types = self.relation_choices();
                match types.get(n.wrapping_sub(1)).cloned() {
                    Some(label) => return self.apply(SetRelationType(label)),
                    None => self.error(format!("no relation type {n} fits these spans")),
                }
            }
            SetRelationType(label) => match (self.relation_head, self.relation_tail, &self.selection) {
                (Some(h), Some(t), _) => self.create_relation(h, t, label),
                (_, _, Selection::Relation(r)) => {
                    let r = *r;
                    self.edit(|s| {
                        let rel = &mut s.relations[r];
                        rel.label = label;
                        rel.provenance = Provenance::Edited;
                        Ok(())
                    });
                }
                _ => self.error("select a relation, or make one with R"),
            },
            SetViewMode(m) => self.view_mode = m,
            AcceptEntity(i) => {
                let Some(p) = self.prediction().and_then(|p| p.entities.get(i).cloned()) else {
                    return Effect::None;
                };
                self.edit(|s| {
                    accept_entity(s, &p);
                    Ok(())
                });
            }
            AcceptRelation(i) => {
                let Some(pred) = self.prediction().cloned() else {
                    return Effect::None;
                };
                if i >= pred.relations.len() {
                    return Effect::None;
                }
                self.edit(|s| {
                    accept_relation(s, &pred, i);
                    Ok(())
                });
            }
            AcceptAll => {
                let Some(pred) = self.prediction().cloned() else {
                    self.error("this sentence has no predictions");
                    return Effect::None;
                };
                self.edit(|s| {
                    for e in &pred.entities {
                        accept_entity(s, e);
                    }
                    for r in 0..pred.relations.len() {
                        accept_relation(s, &pred, r);
                    }
                    Ok(())
                });
            }
            RejectEntity(i) => {
                if let Some(Some(p)) = self.predictions.get_mut(self.current) {
                    if i < p.entities.len() {
                        let mut drop = vec![false; p.entities.len()];
                        drop[i] = true;
                        p.remove_entities(&drop);
                    }
                }
                self.generation += 1;
            }
            RejectRelation(i) => {
                if let Some(Some(p)) = self.predictions.get_mut(self.current) {
                    if i < p.relations.len() {
                        p.relations.remove(i);
                    }
                }
                self.generation += 1;
            }
            AddSentence(sentence) => {
                self.corpus.sentences.push(sentence);
                self.predictions.resize(self.corpus.sentences.len(), None);
                self.current = self.corpus.sentences.len() - 1;
                self.selection = Selection::None;
                let schema = crate::corpus::Schema::infer(&self.corpus.sentences);
                self.corpus.schema.merge(&schema);
                self.changed();
            }
            ReverseRelation => {
                if let Selection::Relation(r) = self.selection {
                    self.edit(|s| {
                        let rel = &mut s.relations[r];
                        std::mem::swap(&mut rel.head, &mut rel.tail);
                        rel.provenance = Provenance::Edited;
                        Ok(())
                    });
                }
            }
        }
        Effect::None
    }

    /// Relation types whose argument types fit the relation being made or the one selected.
    pub fn relation_choices(&self) -> Vec<String> {
        let Some(s) = self.sentence() else {
            return Vec::new();
        };
        let (h, t) = match (self.relation_head, self.relation_tail, &self.selection) {
            (Some(h), Some(t), _) => (h, t),
            (_, _, Selection::Relation(r)) => (s.relations[*r].head, s.relations[*r].tail),
            _ => return Vec::new(),
        };
        let (Some(he), Some(te)) = (s.entities.get(h), s.entities.get(t)) else {
            return Vec::new();
        };
        self.corpus
            .schema
            .relations_between(&he.label, &te.label)
            .map(String::from)
            .collect()
    }

    fn relation_tail_chosen(&mut self, t: usize) {
        let Some(h) = self.relation_head else { return };
        if h == t {
            self.error("a relation joins two different spans");
            return;
        }
        self.relation_tail = Some(t);
        let choices = self.relation_choices();
        match choices.len() {
            0 => {
                self.error("no relation type of the schema joins these two entity types");
                self.relation_head = None;
                self.relation_tail = None;
            }
            1 => self.create_relation(h, t, choices[0].clone()),
            _ => {
                let list: Vec<String> = choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{} {c}", i + 1))
                    .collect();
                self.info(format!("relation type: {}", list.join(", ")));
            }
        }
    }

    fn create_relation(&mut self, head: usize, tail: usize, label: String) {
        self.relation_head = None;
        self.relation_tail = None;
        let ok = self.edit(|s| {
            if head >= s.entities.len() || tail >= s.entities.len() || head == tail {
                return Err("a relation joins two different spans of this sentence".into());
            }
            if s.relations
                .iter()
                .any(|r| r.head == head && r.tail == tail && r.label == label)
            {
                return Err(format!("that {label} relation is already there"));
            }
            s.relations.push(Relation {
                provenance: Provenance::Edited,
                ..Relation::new(label, head, tail)
            });
            Ok(())
        });
        if ok {
            let r = self.sentence().map_or(0, |s| s.relations.len() - 1);
            self.selection = Selection::Relation(r);
        }
    }

    fn set_entity_type(&mut self, label: String) {
        match self.selection.clone() {
            Selection::Tokens { .. } => {
                let (start, end) = self.selection.token_range().expect("tokens");
                let mut created = None;
                self.edit(|s| {
                    if let Some(i) = s.entities.iter().position(|e| e.start == start && e.end == end) {
                        s.entities[i].label = label;
                        s.entities[i].provenance = Provenance::Edited;
                        created = Some(i);
                    } else {
                        s.entities.push(Entity {
                            provenance: Provenance::Edited,
                            ..Entity::new(label, start, end)
                        });
                        created = Some(s.entities.len() - 1);
                    }
                    Ok(())
                });
                if let Some(i) = created {
                    self.selection = Selection::Entity(i);
                }
            }
            Selection::Entity(e) => {
                self.edit(|s| {
                    s.entities[e].label = label;
                    s.entities[e].provenance = Provenance::Edited;
                    Ok(())
                });
            }
            _ => self.error("select tokens or a span first"),
        }
    }

    fn delete_selected(&mut self) {
        match self.selection {
            Selection::Entity(e) => {
                self.edit(|s| {
                    let mut drop = vec![false; s.entities.len()];
                    drop[e] = true;
                    s.remove_entities(&drop);
                    Ok(())
                });
                self.selection = Selection::None;
            }
            Selection::Relation(r) => {
                self.edit(|s| {
                    s.relations.remove(r);
                    Ok(())
                });
                self.selection = Selection::None;
            }
            _ => self.error("select a span or a relation to delete"),
        }
    }

    /// Applies an edit to the current sentence as one undoable step.
    fn edit(&mut self, f: impl FnOnce(&mut Sentence) -> Result<(), String>) -> bool {
        let i = self.current;
        let Some(s) = self.corpus.sentences.get_mut(i) else {
            return false;
        };
        let before = s.clone();
        if let Err(msg) = f(s) {
            *s = before;
            self.error(msg);
            return false;
        }
        if *s == before {
            return false;
        }
        let after = s.clone();
        self.history.undo.push(Step {
            sentence: i,
            before,
            after,
        });
        self.history.redo.clear();
        self.changed();
        true
    }

    /// Writes the predictions (sentences without one keep no annotations) in the format the
    /// path implies; returns how many sentences had predictions.
    pub fn export_predictions(&mut self, path: &Path) -> bool {
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
        let corpus = Corpus::new(sentences);
        let result = Format::detect_output(path).and_then(|f| corpus.save_as(path, f));
        match result {
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

    fn changed(&mut self) {
        self.dirty = true;
        self.generation += 1;
        self.status = None;
    }

    fn undo(&mut self) {
        let Some(step) = self.history.undo.pop() else {
            self.info("nothing to undo");
            return;
        };
        self.corpus.sentences[step.sentence] = step.before.clone();
        self.current = step.sentence;
        self.history.redo.push(step);
        self.selection = Selection::None;
        self.changed();
    }

    fn redo(&mut self) {
        let Some(step) = self.history.redo.pop() else {
            self.info("nothing to redo");
            return;
        };
        self.corpus.sentences[step.sentence] = step.after.clone();
        self.current = step.sentence;
        self.history.undo.push(step);
        self.selection = Selection::None;
        self.changed();
    }

    fn restore_recovery(&mut self) {
        let Some(offer) = self.recovery.take() else { return };
        match Corpus::load_as(&offer.path, Format::Json) {
            Ok(c) => {
                self.corpus = c;
                self.current = 0;
                self.selection = Selection::None;
                self.history = History::default();
                self.changed();
                self.info(format!(
                    "restored {} sentences with unsaved edits; save to keep them",
                    offer.sentences
                ));
            }
            Err(e) => self.error(format!("could not read the recovery file: {e}")),
        }
    }

    fn go_to(&mut self, i: usize) {
        if i < self.corpus.sentences.len() {
            self.current = i;
            self.selection = Selection::None;
            self.relation_head = None;
            self.relation_tail = None;
        }
    }

    fn step_sentence(&mut self, d: isize) {
        let current = self.current;
        let list = self.filtered().to_vec();
        let pos = list.iter().position(|&i| i == current);
        let next = match pos {
            Some(p) => list.get((p as isize + d).max(0) as usize).copied(),
            None => list
                .iter()
                .copied()
                .find(|&i| if d > 0 { i > current } else { i < current }),
        };
        if let Some(n) = next {
            self.go_to(n);
        }
    }

    fn move_cursor(&mut self, d: isize, extend: bool) {
        let n = self.sentence().map_or(0, |s| s.tokens.len());
        if n == 0 {
            return;
        }
        let (anchor, cursor) = match self.selection {
            Selection::Tokens { anchor, cursor } => (anchor, cursor),
            Selection::Entity(e) => {
                let en = &self.sentence().expect("sentence").entities[e];
                (en.start, en.end - 1)
            }
            _ => (0, if d > 0 { 0 } else { n - 1 }),
        };
        let moved = (cursor as isize + d).clamp(0, n as isize - 1) as usize;
        let fresh = !matches!(self.selection, Selection::Tokens { .. });
        self.selection = if extend {
            Selection::Tokens {
                anchor,
                cursor: moved,
            }
        } else if fresh {
            Selection::Tokens {
                anchor: cursor,
                cursor,
            }
        } else {
            Selection::Tokens {
                anchor: moved,
                cursor: moved,
            }
        };
    }

    /// Entity and relation types used, for the legend and filters.
    pub fn entity_types(&self) -> Vec<String> {
        let set: BTreeSet<String> = self.corpus.schema.entity_types.iter().cloned().collect();
        set.into_iter().collect()
    }

    /// Titles of the recent files that still exist.
    pub fn recent_files(&self) -> Vec<PathBuf> {
        self.recent.iter().filter(|p| p.exists()).cloned().collect()
    }
}
