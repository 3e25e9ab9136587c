//! Every change of the corpus: one undoable step per edit (entities, relations, accepting
//! and rejecting predictions, added sentences), and undo and redo.

use super::select::{Mode, Selection};
use super::AppState;
use crate::corpus::{Entity, Provenance, Relation, Schema, Sentence};
use crate::eval::compare::same_entity;

/// An edit refused, said in the status bar.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("a relation joins two different spans of this sentence")]
    NotTwoSpans,
    #[error("that {label} relation is already there")]
    Duplicate { label: String },
    #[error("the predicted {predicted} overlaps the gold {gold}: fix that span in the Gold view (G), then accept the relation")]
    OverlapsGold { predicted: String, gold: String },
}

/// One undoable edit: a sentence before and after.
#[derive(Clone, Debug)]
pub(super) struct Step {
    sentence: usize,
    before: Sentence,
    after: Sentence,
    /// The sentence's prediction before and after, for a reject (gold stays as it is).
    prediction: Option<(Sentence, Sentence)>,
}

impl Step {
    fn changes_gold(&self) -> bool {
        self.prediction.is_none()
    }
}

#[derive(Default)]
pub struct History {
    pub(super) undo: Vec<Step>,
    pub(super) redo: Vec<Step>,
}

impl History {
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
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

/// The gold entity a predicted relation argument goes to: the same one, else a gold entity of
/// its type that overlaps it (a boundary error: the relation goes onto gold's span), else it
/// is accepted as a new span, unless it overlaps a gold entity of another type.
fn argument(s: &mut Sentence, p: &Entity) -> Result<usize, EditError> {
    if s.entities.iter().any(|g| same_entity(g, p)) {
        return Ok(accept_entity(s, p));
    }
    let overlapping: Vec<usize> = (0..s.entities.len())
        .filter(|&g| s.entities[g].overlaps(p))
        .collect();
    if let Some(&g) = overlapping.iter().find(|&&g| s.entities[g].label == p.label) {
        return Ok(g);
    }
    match overlapping.first() {
        Some(&g) => Err(EditError::OverlapsGold {
            predicted: describe(s, p),
            gold: describe(s, &s.entities[g]),
        }),
        None => Ok(accept_entity(s, p)),
    }
}

fn describe(s: &Sentence, e: &Entity) -> String {
    format!(
        "{} \"{}\"",
        e.label,
        s.tokens[e.start..e.end.min(s.tokens.len())].join(" ")
    )
}

/// Adds predicted relation `r` of `pred` to gold with its arguments (see `argument`).
fn accept_relation(s: &mut Sentence, pred: &Sentence, r: usize) -> Result<(), EditError> {
    let rel = &pred.relations[r];
    let h = argument(s, &pred.entities[rel.head])?;
    let t = argument(s, &pred.entities[rel.tail])?;
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
    Ok(())
}

impl AppState {
    /// Relation types whose argument types fit the relation being made or the one selected.
    pub fn relation_choices(&self) -> Vec<String> {
        let Some(s) = self.sentence() else {
            return Vec::new();
        };
        let (h, t) = match (self.mode, &self.selection) {
            (Mode::RelationType { head, tail }, _) => (head, tail),
            (_, Selection::Relation(r)) => (s.relations[*r].head, s.relations[*r].tail),
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

    pub(super) fn start_relation(&mut self) {
        match self.selection {
            Selection::Entity(e) => {
                self.mode = Mode::RelationFrom { head: e };
                self.info("relation: click the tail span");
            }
            _ => self.error("select the head span first"),
        }
    }

    /// A relation from `head` to `tail` at once, as a drag between two type tags makes it.
    pub(super) fn connect(&mut self, head: usize, tail: usize) {
        if self.sentence().is_some_and(|s| head < s.entities.len()) {
            self.selection = Selection::Entity(head);
            self.relation_tail_chosen(head, tail);
        }
    }

    /// The tail is chosen: the relation is made when one type fits, else the types are offered.
    pub(super) fn relation_tail_chosen(&mut self, head: usize, tail: usize) {
        if head == tail {
            self.error("a relation joins two different spans");
            return;
        }
        self.mode = Mode::RelationType { head, tail };
        let choices = self.relation_choices();
        match choices.len() {
            0 => {
                self.error("no relation type of the schema joins these two entity types");
                self.mode = Mode::Normal;
            }
            1 => self.create_relation(head, tail, choices[0].clone()),
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

    /// A number key: a relation type when a relation is selected or being typed, else the
    /// entity type with that number in the legend (`entity_types`).
    pub(super) fn type_number(&mut self, n: usize) {
        let relation = matches!(self.mode, Mode::RelationType { .. })
            || matches!(self.selection, Selection::Relation(_));
        let types = if relation {
            self.relation_choices()
        } else {
            self.entity_types()
        };
        match (types.get(n.wrapping_sub(1)).cloned(), relation) {
            (Some(label), true) => self.set_relation_type(label),
            (Some(label), false) => self.set_entity_type(label),
            (None, true) => self.error(format!("no relation type {n} fits these spans")),
            (None, false) => self.error(format!("no entity type {n}; the corpus has {}", types.len())),
        }
    }

    pub(super) fn set_relation_type(&mut self, label: String) {
        match (self.mode, &self.selection) {
            (Mode::RelationType { head, tail }, _) => self.create_relation(head, tail, label),
            (_, Selection::Relation(r)) => {
                let r = *r;
                self.edit(|s| {
                    let rel = &mut s.relations[r];
                    rel.label = label;
                    rel.provenance = Provenance::Edited;
                    Ok(())
                });
            }
            _ => self.error("select a relation, or make one with R"),
        }
    }

    pub(super) fn reverse_relation(&mut self) {
        if let Selection::Relation(r) = self.selection {
            self.edit(|s| {
                let rel = &mut s.relations[r];
                std::mem::swap(&mut rel.head, &mut rel.tail);
                rel.provenance = Provenance::Edited;
                Ok(())
            });
        }
    }

    fn create_relation(&mut self, head: usize, tail: usize, label: String) {
        self.mode = Mode::Normal;
        let ok = self.edit(|s| {
            if head >= s.entities.len() || tail >= s.entities.len() || head == tail {
                return Err(EditError::NotTwoSpans);
            }
            if s.relations
                .iter()
                .any(|r| r.head == head && r.tail == tail && r.label == label)
            {
                return Err(EditError::Duplicate { label: label.clone() });
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

    pub(super) fn set_entity_type(&mut self, label: String) {
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

    pub(super) fn delete_selected(&mut self) {
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
    pub(super) fn edit(&mut self, f: impl FnOnce(&mut Sentence) -> Result<(), EditError>) -> bool {
        let i = self.current;
        let Some(s) = self.corpus.sentences.get_mut(i) else {
            return false;
        };
        let before = s.clone();
        if let Err(e) = f(s) {
            *s = before;
            self.error(e.to_string());
            return false;
        }
        if *s == before {
            return false;
        }
        let after = s.clone();
        if self.saved_depth.is_some_and(|d| self.history.undo.len() < d) {
            // A new branch below the saved point: that point cannot come back.
            self.saved_depth = None;
        }
        self.history.undo.push(Step {
            sentence: i,
            before,
            after,
            prediction: None,
        });
        self.history.redo.clear();
        self.changed();
        true
    }

    /// Changes the current sentence's prediction as one undoable step (a reject).
    fn edit_prediction(&mut self, f: impl FnOnce(&mut Sentence)) {
        let i = self.current;
        let (Some(Some(p)), Some(gold)) = (self.predictions.get_mut(i), self.corpus.sentences.get(i)) else {
            return;
        };
        let before = p.clone();
        f(p);
        if *p == before {
            return;
        }
        let after = p.clone();
        if self.saved_depth.is_some_and(|d| self.history.undo.len() < d) {
            self.saved_depth = None;
        }
        self.history.undo.push(Step {
            sentence: i,
            before: gold.clone(),
            after: gold.clone(),
            prediction: Some((before, after)),
        });
        self.history.redo.clear();
        self.generation += 1;
        self.recompute_dirty();
    }

    /// Unsaved edits are the gold changes between the saved point and now; rejects alone
    /// change no file.
    fn recompute_dirty(&mut self) {
        let n = self.history.undo.len();
        self.dirty = match self.saved_depth {
            None => true,
            Some(d) if n >= d => self.history.undo[d..].iter().any(Step::changes_gold),
            Some(d) => {
                let undone = d - n;
                let r = &self.history.redo;
                r.len() < undone || r[r.len() - undone..].iter().any(Step::changes_gold)
            }
        };
    }

    /// Sets sentence `i`'s prediction from `from` to `to`, unless the model has predicted it
    /// anew since (then the newer prediction stays: false).
    fn restore_prediction(&mut self, i: usize, from: &Sentence, to: &Sentence) -> bool {
        let Some(slot) = self.predictions.get_mut(i) else {
            return false;
        };
        let unchanged = slot.as_ref() == Some(from);
        if unchanged {
            *slot = Some(to.clone());
        }
        unchanged
    }

    fn say_if_kept(&mut self, kept: bool) {
        if kept {
            self.info("the model has predicted this sentence again since: its new prediction stays");
        }
    }

    pub(super) fn undo(&mut self) {
        let Some(step) = self.history.undo.pop() else {
            self.info("nothing to undo");
            return;
        };
        self.corpus.sentences[step.sentence] = step.before.clone();
        let kept = match &step.prediction {
            Some((before, after)) => !self.restore_prediction(step.sentence, after, before),
            None => false,
        };
        self.current = step.sentence;
        self.history.redo.push(step);
        self.selection = Selection::None;
        self.changed();
        self.recompute_dirty();
        self.say_if_kept(kept);
    }

    pub(super) fn redo(&mut self) {
        let Some(step) = self.history.redo.pop() else {
            self.info("nothing to redo");
            return;
        };
        self.corpus.sentences[step.sentence] = step.after.clone();
        let kept = match &step.prediction {
            Some((before, after)) => !self.restore_prediction(step.sentence, before, after),
            None => false,
        };
        self.current = step.sentence;
        self.history.undo.push(step);
        self.selection = Selection::None;
        self.changed();
        self.recompute_dirty();
        self.say_if_kept(kept);
    }

    pub(super) fn accept_entity(&mut self, i: usize) {
        if let Some(p) = self.prediction().and_then(|p| p.entities.get(i).cloned()) {
            self.edit(|s| {
                accept_entity(s, &p);
                Ok(())
            });
        }
    }

    pub(super) fn accept_relation(&mut self, i: usize) {
        let Some(pred) = self.prediction().cloned().filter(|p| i < p.relations.len()) else {
            return;
        };
        self.edit(|s| accept_relation(s, &pred, i));
    }

    pub(super) fn accept_all(&mut self) {
        let Some(pred) = self.prediction().cloned() else {
            self.error("this sentence has no predictions");
            return;
        };
        self.edit(|s| {
            for e in &pred.entities {
                accept_entity(s, e);
            }
            // Every predicted span is gold now, so each relation finds its own arguments.
            for r in 0..pred.relations.len() {
                accept_relation(s, &pred, r)?;
            }
            Ok(())
        });
    }

    pub(super) fn reject_entity(&mut self, i: usize) {
        self.edit_prediction(|p| {
            if i < p.entities.len() {
                let mut drop = vec![false; p.entities.len()];
                drop[i] = true;
                p.remove_entities(&drop);
            }
        });
    }

    pub(super) fn reject_relation(&mut self, i: usize) {
        self.edit_prediction(|p| {
            if i < p.relations.len() {
                p.relations.remove(i);
            }
        });
    }

    pub(super) fn add_sentence(&mut self, sentence: Sentence) {
        self.corpus.sentences.push(sentence);
        self.predictions.resize(self.corpus.sentences.len(), None);
        self.current = self.corpus.sentences.len() - 1;
        self.selection = Selection::None;
        let schema = Schema::infer(&self.corpus.sentences);
        self.corpus.schema.merge(&schema);
        // Not in the undo history: undo cannot return to the saved corpus any more.
        self.saved_depth = None;
        self.changed();
    }
}
