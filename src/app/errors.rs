//! What the model gets wrong, sentence by sentence, and how unsure it is: the orders that put
//! the most useful corrections first.

use crate::corpus::{Provenance, Sentence};

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
    let gold_rel = crate::eval::relation_keys(gold, true);
    let pred_rel = crate::eval::relation_keys(pred, true);
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
