//! Where a corpus's errors come from, for `relarc eval`: entity errors by kind and type (the
//! kinds of the app's error filter), and relation errors split by whether their arguments
//! were found. A relation whose two arguments are right on both sides was missed or invented
//! by the relation decision itself; any other relation error follows from an entity error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::compare::{sentence_errors, ErrorKind};
use super::{entity_keys, prf, relation_keys, Counts, EvalError, RelationKey, SpanKey};
use crate::corpus::Sentence;

/// Relation errors of one side (missing or spurious), by what happened to their arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RelationErrors {
    /// Both arguments (span and type) are on the other side too: the relation decision erred.
    pub arguments_right: usize,
    /// An argument is not on the other side: an entity error carried over.
    pub argument_wrong: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Breakdown {
    /// Entity type → error kind name → count (wrong span, wrong type, spurious, missed).
    pub entities: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Gold relations not predicted.
    pub missing_relations: RelationErrors,
    /// Predicted relations not in gold.
    pub spurious_relations: RelationErrors,
    /// Strict RE micro F1 as it is.
    pub re_f1: f64,
    /// Strict RE micro F1 had every relation between right arguments been decided right,
    /// the entities left as predicted: how much the relation decision costs.
    pub re_f1_relations_decided_right: f64,
}

/// The breakdown of `pred`'s errors against `gold` (aligned as `evaluate` wants them).
pub fn breakdown(gold: &[Sentence], pred: &[Sentence]) -> Result<Breakdown, EvalError> {
    super::check_aligned(gold, pred)?;
    let mut out = Breakdown::default();
    let mut counts = Counts::default();
    for (g, p) in gold.iter().zip(pred) {
        for (kind, label) in sentence_errors(g, p) {
            if !matches!(kind, ErrorKind::MissingRelation | ErrorKind::SpuriousRelation) {
                *out.entities
                    .entry(label)
                    .or_default()
                    .entry(kind.name())
                    .or_default() += 1;
            }
        }
        let (gold_rel, pred_rel) = (relation_keys(g, true), relation_keys(p, true));
        counts.tp += gold_rel.intersection(&pred_rel).count();
        count_side(&gold_rel, &pred_rel, &entity_keys(p), &mut out.missing_relations);
        count_side(&pred_rel, &gold_rel, &entity_keys(g), &mut out.spurious_relations);
    }
    counts.fn_ = out.missing_relations.arguments_right + out.missing_relations.argument_wrong;
    counts.fp = out.spurious_relations.arguments_right + out.spurious_relations.argument_wrong;
    out.re_f1 = prf(counts).f1;
    let decided_right = Counts {
        tp: counts.tp + out.missing_relations.arguments_right,
        fp: out.spurious_relations.argument_wrong,
        fn_: out.missing_relations.argument_wrong,
    };
    out.re_f1_relations_decided_right = prf(decided_right).f1;
    Ok(out)
}

/// Counts the relations of `mine` not in `theirs`, by whether `their_entities` hold both
/// arguments.
fn count_side(
    mine: &BTreeSet<RelationKey>,
    theirs: &BTreeSet<RelationKey>,
    their_entities: &BTreeSet<SpanKey>,
    errors: &mut RelationErrors,
) {
    for r in mine.difference(theirs) {
        if their_entities.contains(&r.head) && their_entities.contains(&r.tail) {
            errors.arguments_right += 1;
        } else {
            errors.argument_wrong += 1;
        }
    }
}

const ENTITY_KINDS: [ErrorKind; 4] = [
    ErrorKind::WrongSpan,
    ErrorKind::WrongType,
    ErrorKind::SpuriousEntity,
    ErrorKind::MissedEntity,
];

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Entity errors")?;
        write!(f, "  {:<24}", "")?;
        for k in ENTITY_KINDS {
            write!(f, " {:>15}", k.name())?;
        }
        writeln!(f)?;
        for (label, kinds) in &self.entities {
            write!(f, "  {label:<24}")?;
            for k in ENTITY_KINDS {
                write!(f, " {:>15}", kinds.get(k.name()).copied().unwrap_or(0))?;
            }
            writeln!(f)?;
        }
        writeln!(f, "Relation errors")?;
        writeln!(
            f,
            "  {:<24} {:>15} {:>15}",
            "", "arguments right", "argument wrong"
        )?;
        for (name, e) in [
            ("missing", self.missing_relations),
            ("spurious", self.spurious_relations),
        ] {
            writeln!(
                f,
                "  {name:<24} {:>15} {:>15}",
                e.arguments_right, e.argument_wrong
            )?;
        }
        writeln!(
            f,
            "  RE micro F1 {:.2}; {:.2} had every relation between right arguments been decided right",
            100.0 * self.re_f1,
            100.0 * self.re_f1_relations_decided_right
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::sent;

    #[test]
    fn relation_errors_are_split_by_their_arguments() {
        let gold = vec![sent(
            &[("Drug", 0, 1), ("AE", 2, 4), ("AE", 6, 7)],
            &[("ADE", 1, 0), ("ADE", 2, 0)],
        )];
        // The AE at 2..4 is found as 2..3 (its relation is lost with it, and the one
        // predicted on 2..3 is wrong); the relation of the AE at 6..7 is predicted reversed
        // (Drug → AE): missed and invented though both its arguments are right.
        let pred = vec![sent(
            &[("Drug", 0, 1), ("AE", 2, 3), ("AE", 6, 7)],
            &[("ADE", 1, 0), ("ADE", 0, 2)],
        )];
        let b = breakdown(&gold, &pred).unwrap();
        let missing = RelationErrors {
            arguments_right: 1,
            argument_wrong: 1,
        };
        assert_eq!(b.missing_relations, missing);
        let spurious = RelationErrors {
            arguments_right: 1,
            argument_wrong: 1,
        };
        assert_eq!(b.spurious_relations, spurious);
        assert_eq!(b.entities["AE"]["wrong span"], 1);
        assert_eq!(b.entities.len(), 1, "{:?}", b.entities);
        // As is: no relation right. Decided right: the missed one found, the invented one
        // gone, the one on the wrong span still wrong (tp 1, fp 1, fn 1).
        assert_eq!(b.re_f1, 0.0);
        assert!((b.re_f1_relations_decided_right - 0.5).abs() < 1e-12);
        let text = b.to_string();
        assert!(
            text.contains("Relation errors") && text.contains("wrong span"),
            "{text}"
        );
    }

    #[test]
    fn agrees_with_evaluate_on_the_relation_f1() {
        let gold = vec![
            sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Live_In", 0, 1)]),
            sent(&[("Org", 1, 2), ("Loc", 3, 4)], &[("OrgBased_In", 0, 1)]),
        ];
        let pred = vec![
            sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Live_In", 0, 1)]),
            sent(&[("Peop", 1, 2), ("Loc", 3, 4)], &[("OrgBased_In", 0, 1)]),
        ];
        let b = breakdown(&gold, &pred).unwrap();
        let r = super::super::evaluate(&gold, &pred).unwrap();
        assert!((b.re_f1 - r.re.micro.f1).abs() < 1e-12);
        assert_eq!(b.entities["Peop"]["wrong type"], 1);
        // Perfect predictions have nothing to break down.
        let b = breakdown(&gold, &gold).unwrap();
        assert!(b.entities.is_empty() && b.re_f1 == 1.0 && b.re_f1_relations_decided_right == 1.0);
    }
}
