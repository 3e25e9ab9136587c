//! The one comparison of a gold sentence with its prediction, used by `evaluate`'s callers, the
//! app's diff view, its error filters and its orders: marks for each annotation (right,
//! spurious, missed), the kinds of mistake a sentence has, and how unsure the model was.

use crate::corpus::{Entity, Provenance, Relation, Sentence};

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

pub fn same_entity(a: &Entity, b: &Entity) -> bool {
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

/// Kinds of error between a gold sentence and its prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A predicted entity overlaps a gold one of the same type but with other boundaries.
    WrongSpan,
    /// A predicted entity has the span of a gold one but another type.
    WrongType,
    /// A predicted entity that matches no gold entity at all.
    SpuriousEntity,
    /// A gold entity no prediction overlaps.
    MissedEntity,
    /// A gold relation that is not predicted (strictly).
    MissingRelation,
    /// A predicted relation that is not gold (strictly).
    SpuriousRelation,
}

pub const ALL_KINDS: [ErrorKind; 6] = [
    ErrorKind::WrongSpan,
    ErrorKind::WrongType,
    ErrorKind::SpuriousEntity,
    ErrorKind::MissedEntity,
    ErrorKind::MissingRelation,
    ErrorKind::SpuriousRelation,
];

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::WrongSpan => "wrong span",
            ErrorKind::WrongType => "wrong type",
            ErrorKind::SpuriousEntity => "spurious entity",
            ErrorKind::MissedEntity => "missed entity",
            ErrorKind::MissingRelation => "missing relation",
            ErrorKind::SpuriousRelation => "spurious relation",
        }
    }
}

/// The errors of one sentence, each with the entity or relation type it is about.
pub fn sentence_errors(gold: &Sentence, pred: &Sentence) -> Vec<(ErrorKind, String)> {
    let mut out = Vec::new();
    let overlaps = |a: &crate::corpus::Entity, b: &crate::corpus::Entity| a.start < b.end && b.start < a.end;
    for p in &pred.entities {
        if gold.entities.iter().any(|g| g.same_span(p) && g.label == p.label) {
            continue;
        }
        let kind = if gold.entities.iter().any(|g| g.same_span(p)) {
            ErrorKind::WrongType
        } else if gold.entities.iter().any(|g| overlaps(g, p) && g.label == p.label) {
            ErrorKind::WrongSpan
        } else {
            ErrorKind::SpuriousEntity
        };
        out.push((kind, p.label.clone()));
    }
    for g in &gold.entities {
        if !pred.entities.iter().any(|p| overlaps(g, p)) {
            out.push((ErrorKind::MissedEntity, g.label.clone()));
        }
    }
    let gold_rel = super::relation_keys(gold, true);
    let pred_rel = super::relation_keys(pred, true);
    for r in gold_rel.difference(&pred_rel) {
        out.push((ErrorKind::MissingRelation, r.label.clone()));
    }
    for r in pred_rel.difference(&gold_rel) {
        out.push((ErrorKind::SpuriousRelation, r.label.clone()));
    }
    out
}

/// How unsure the model is about a sentence, in [0, 1]: the largest of (1 − entity score) over
/// its predicted entities, and of how close each predicted relation's probability is to θr.
pub fn uncertainty(pred: &Sentence, threshold: f64) -> f64 {
    let entities = pred
        .entities
        .iter()
        .filter(|e| e.provenance == Provenance::Predicted)
        .filter_map(|e| e.score)
        .map(|s| 1.0 - s);
    let relations = pred
        .relations
        .iter()
        .filter(|r| r.provenance == Provenance::Predicted)
        .filter_map(|r| r.score)
        .map(|p| {
            if threshold < 1.0 {
                1.0 - ((p - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        });
    entities.chain(relations).fold(0.0, f64::max)
}

/// Sentence indices sorted by a key, largest first; ties keep corpus order.
pub fn order_by(indices: &mut [usize], key: impl Fn(usize) -> f64) {
    indices.sort_by(|&a, &b| {
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
}
