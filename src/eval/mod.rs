//! Strict evaluation of entities and relations, as the field reports it: an entity is correct
//! when its span and type match; a relation when its type and both arguments' spans and types
//! match (`re`), or its type and both spans (`re_boundaries`). Predictions and gold are sets:
//! a duplicate prediction counts once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde::Serialize;

use crate::corpus::Sentence;

pub mod breakdown;
pub mod compare;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct TypeScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold instances of the type.
    pub support: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Metrics {
    pub micro: Prf,
    /// Mean over the types that occur in gold or prediction of each type's figures.
    #[serde(rename = "macro")]
    pub macro_: Prf,
    pub per_type: BTreeMap<String, TypeScore>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn prf(c: Counts) -> Prf {
    let p = if c.tp + c.fp == 0 {
        0.0
    } else {
        c.tp as f64 / (c.tp + c.fp) as f64
    };
    let r = if c.tp + c.fn_ == 0 {
        0.0
    } else {
        c.tp as f64 / (c.tp + c.fn_) as f64
    };
    let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    Prf {
        precision: p,
        recall: r,
        f1,
    }
}

fn metrics(counts: &BTreeMap<String, Counts>) -> Metrics {
    let mut total = Counts::default();
    let mut per_type = BTreeMap::new();
    let mut sums = Prf::default();
    for (label, c) in counts {
        total.tp += c.tp;
        total.fp += c.fp;
        total.fn_ += c.fn_;
        let x = prf(*c);
        sums.precision += x.precision;
        sums.recall += x.recall;
        sums.f1 += x.f1;
        per_type.insert(
            label.clone(),
            TypeScore {
                precision: x.precision,
                recall: x.recall,
                f1: x.f1,
                support: c.tp + c.fn_,
            },
        );
    }
    let n = counts.len().max(1) as f64;
    Metrics {
        micro: prf(total),
        macro_: Prf {
            precision: sums.precision / n,
            recall: sums.recall / n,
            f1: sums.f1 / n,
        },
        per_type,
    }
}

/// An entity as evaluation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SpanKey {
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// A relation as evaluation sees it (argument types empty for the boundaries-only view).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RelationKey {
    pub label: String,
    pub head: SpanKey,
    pub tail: SpanKey,
}

pub fn entity_keys(s: &Sentence) -> BTreeSet<SpanKey> {
    s.entities
        .iter()
        .map(|e| SpanKey {
            label: e.label.clone(),
            start: e.start,
            end: e.end,
        })
        .collect()
}

pub fn relation_keys(s: &Sentence, with_types: bool) -> BTreeSet<RelationKey> {
    let arg = |i: usize| {
        s.entities.get(i).map(|e| SpanKey {
            label: if with_types {
                e.label.clone()
            } else {
                String::new()
            },
            start: e.start,
            end: e.end,
        })
    };
    s.relations
        .iter()
        .filter_map(|r| {
            Some(RelationKey {
                label: r.label.clone(),
                head: arg(r.head)?,
                tail: arg(r.tail)?,
            })
        })
        .collect()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SentenceErrors {
    pub sentence: usize,
    pub entity_fp: Vec<SpanKey>,
    pub entity_fn: Vec<SpanKey>,
    pub relation_fp: Vec<RelationKey>,
    pub relation_fn: Vec<RelationKey>,
}

impl SentenceErrors {
    pub fn count(&self) -> usize {
        self.entity_fp.len() + self.entity_fn.len() + self.relation_fp.len() + self.relation_fn.len()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Report {
    pub ner: Metrics,
    pub re: Metrics,
    pub re_boundaries: Metrics,
}

fn tally<K: Ord + Clone + std::hash::Hash>(
    gold: &BTreeSet<K>,
    pred: &BTreeSet<K>,
    label: impl Fn(&K) -> &str,
    counts: &mut BTreeMap<String, Counts>,
) {
    let gold_set: HashSet<&K> = gold.iter().collect();
    for p in pred {
        let c = counts.entry(label(p).to_string()).or_default();
        if gold_set.contains(p) {
            c.tp += 1;
        } else {
            c.fp += 1;
        }
    }
    for g in gold {
        if !pred.contains(g) {
            counts.entry(label(g).to_string()).or_default().fn_ += 1;
        }
    }
}

/// Why gold and predictions cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvalError {
    #[error("gold has {gold} sentences, predictions have {pred}")]
    SentenceCount { gold: usize, pred: usize },
    #[error("sentence {sentence} has other tokens in gold and predictions; the files do not align")]
    TokensDiffer { sentence: usize },
}

/// Gold and predictions have the same number of sentences with the same tokens.
fn check_aligned(gold: &[Sentence], pred: &[Sentence]) -> Result<(), EvalError> {
    if gold.len() != pred.len() {
        return Err(EvalError::SentenceCount {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    match gold.iter().zip(pred).position(|(g, p)| g.tokens != p.tokens) {
        Some(i) => Err(EvalError::TokensDiffer { sentence: i + 1 }),
        None => Ok(()),
    }
}

/// Compares predictions with gold, sentence by sentence (same order, same tokens).
pub fn evaluate(gold: &[Sentence], pred: &[Sentence]) -> Result<Report, EvalError> {
    check_aligned(gold, pred)?;
    let mut ner = BTreeMap::new();
    let mut re = BTreeMap::new();
    let mut reb = BTreeMap::new();
    for (g, p) in gold.iter().zip(pred) {
        tally(&entity_keys(g), &entity_keys(p), |k| &k.label, &mut ner);
        tally(
            &relation_keys(g, true),
            &relation_keys(p, true),
            |k| &k.label,
            &mut re,
        );
        tally(
            &relation_keys(g, false),
            &relation_keys(p, false),
            |k| &k.label,
            &mut reb,
        );
    }
    Ok(Report {
        ner: metrics(&ner),
        re: metrics(&re),
        re_boundaries: metrics(&reb),
    })
}

impl Report {
    /// The mean of strict NER and RE micro F1, the figure early stopping follows.
    pub fn score(&self) -> f64 {
        (self.ner.micro.f1 + self.re.micro.f1) / 2.0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, m) in [
            ("NER (strict)", &self.ner),
            ("RE (strict)", &self.re),
            ("RE (boundaries)", &self.re_boundaries),
        ] {
            writeln!(f, "{name}")?;
            writeln!(
                f,
                "  {:<24} {:>9} {:>9} {:>9} {:>8}",
                "", "precision", "recall", "F1", "support"
            )?;
            for (t, s) in &m.per_type {
                writeln!(
                    f,
                    "  {t:<24} {:>9.2} {:>9.2} {:>9.2} {:>8}",
                    100.0 * s.precision,
                    100.0 * s.recall,
                    100.0 * s.f1,
                    s.support
                )?;
            }
            for (label, x) in [("micro", m.micro), ("macro", m.macro_)] {
                writeln!(
                    f,
                    "  {label:<24} {:>9.2} {:>9.2} {:>9.2}",
                    100.0 * x.precision,
                    100.0 * x.recall,
                    100.0 * x.f1
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::compare::{diff, sentence_errors, ErrorKind, Mark};
    use super::*;
    use crate::corpus::{Entity, Relation};

    fn missed_entities(gold: &Sentence, pred: &Sentence) -> Vec<(String, usize, usize)> {
        let d = diff(gold, pred);
        d.sentence
            .entities
            .iter()
            .zip(&d.entity_marks)
            .filter(|(_, m)| **m == Mark::Missed)
            .map(|(e, _)| (e.label.clone(), e.start, e.end))
            .collect()
    }

    /// A ten-token sentence with these entities and relations.
    pub(super) fn sent(ents: &[(&str, usize, usize)], rels: &[(&str, usize, usize)]) -> Sentence {
        let mut s = Sentence::new((0..10).map(|i| format!("w{i}")).collect());
        s.entities = ents.iter().map(|&(l, a, b)| Entity::new(l, a, b)).collect();
        s.relations = rels.iter().map(|&(l, h, t)| Relation::new(l, h, t)).collect();
        s
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn strict_entities_and_relations() {
        let gold = vec![sent(
            &[("Peop", 0, 2), ("Loc", 5, 6), ("Org", 7, 8)],
            &[("Live_In", 0, 1), ("Work_For", 0, 2)],
        )];
        // Loc right, Peop with a wrong end, Org right, one spurious Loc.
        let pred = vec![sent(
            &[("Peop", 0, 1), ("Loc", 5, 6), ("Org", 7, 8), ("Loc", 9, 10)],
            &[("Live_In", 0, 1), ("Work_For", 0, 2)],
        )];
        let r = evaluate(&gold, &pred).unwrap();
        // NER: tp 2 (Loc, Org), fp 2 (Peop 0..1, Loc 9..10), fn 1 (Peop 0..2).
        close(r.ner.micro.precision, 0.5);
        close(r.ner.micro.recall, 2.0 / 3.0);
        assert_eq!(r.ner.per_type["Peop"].support, 1);
        close(r.ner.per_type["Loc"].precision, 0.5);
        close(r.ner.per_type["Peop"].f1, 0.0);
        // Macro is the mean of per-type figures over Loc, Org, Peop.
        close(r.ner.macro_.f1, (2.0 / 3.0 + 1.0 + 0.0) / 3.0);
        // Both relations have a wrong head span: no relation is right.
        close(r.re.micro.f1, 0.0);
        let kinds: Vec<ErrorKind> = sentence_errors(&gold[0], &pred[0])
            .into_iter()
            .map(|e| e.0)
            .collect();
        let count = |k| kinds.iter().filter(|&&x| x == k).count();
        assert_eq!(count(ErrorKind::SpuriousRelation), 2);
        assert_eq!(count(ErrorKind::MissingRelation), 2);
    }

    #[test]
    fn right_spans_with_a_wrong_argument_type_count_only_for_boundaries() {
        let gold = vec![sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Live_In", 0, 1)])];
        let pred = vec![sent(&[("Org", 0, 2), ("Loc", 5, 6)], &[("Live_In", 0, 1)])];
        let r = evaluate(&gold, &pred).unwrap();
        close(r.re.micro.f1, 0.0);
        close(r.re_boundaries.micro.f1, 1.0);
        // A wrong relation type is wrong in both views.
        let pred = vec![sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Work_For", 0, 1)])];
        let r = evaluate(&gold, &pred).unwrap();
        close(r.re_boundaries.micro.f1, 0.0);
        // Reversed direction is wrong.
        let pred = vec![sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Live_In", 1, 0)])];
        close(evaluate(&gold, &pred).unwrap().re.micro.f1, 0.0);
    }

    #[test]
    fn empty_predictions_and_empty_gold() {
        let gold = vec![sent(&[("Peop", 0, 2)], &[])];
        let none = vec![sent(&[], &[])];
        let r = evaluate(&gold, &none).unwrap();
        assert_eq!(
            r.ner.micro,
            Prf {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0
            }
        );
        assert_eq!(r.ner.per_type["Peop"].support, 1);
        let r = evaluate(&none, &gold).unwrap();
        assert_eq!(r.ner.micro, Prf::default());
        assert_eq!(r.ner.per_type["Peop"].support, 0);
        // Nothing anywhere: all zeros, no types, no errors.
        let r = evaluate(&none, &none).unwrap();
        assert!(r.ner.per_type.is_empty() && sentence_errors(&none[0], &none[0]).is_empty());
        assert_eq!(r.re.macro_, Prf::default());
    }

    #[test]
    fn nested_gold_spans_are_separate_entities() {
        let gold = vec![sent(
            &[("Adverse-Effect", 0, 3), ("Drug", 0, 1)],
            &[("Adverse-Effect", 0, 1)],
        )];
        let pred = vec![sent(&[("Adverse-Effect", 0, 3)], &[])];
        let r = evaluate(&gold, &pred).unwrap();
        close(r.ner.micro.precision, 1.0);
        close(r.ner.micro.recall, 0.5);
        assert_eq!(
            missed_entities(&gold[0], &pred[0]),
            vec![("Drug".to_string(), 0, 1)]
        );
    }

    #[test]
    fn duplicate_predictions_count_once() {
        let gold = vec![sent(&[("Peop", 0, 2), ("Loc", 5, 6)], &[("Live_In", 0, 1)])];
        let pred = vec![sent(
            &[("Peop", 0, 2), ("Peop", 0, 2), ("Loc", 5, 6)],
            &[("Live_In", 0, 2), ("Live_In", 1, 2)],
        )];
        let r = evaluate(&gold, &pred).unwrap();
        close(r.ner.micro.f1, 1.0);
        close(r.re.micro.f1, 1.0);
    }

    #[test]
    fn misaligned_files_are_refused() {
        let a = vec![sent(&[], &[])];
        assert_eq!(
            evaluate(&a, &[]).unwrap_err(),
            EvalError::SentenceCount { gold: 1, pred: 0 }
        );
        assert!(evaluate(&a, &[]).unwrap_err().to_string().contains("1 sentences"));
        let mut b = a.clone();
        b[0].tokens[3] = "other".into();
        assert_eq!(
            evaluate(&a, &b).unwrap_err(),
            EvalError::TokensDiffer { sentence: 1 }
        );
    }

    #[test]
    fn json_has_the_documented_shape() {
        let gold = vec![sent(&[("Peop", 0, 2)], &[])];
        let v = serde_json::to_value(evaluate(&gold, &gold).unwrap()).unwrap();
        assert_eq!(v["ner"]["micro"]["f1"], 1.0);
        assert_eq!(v["ner"]["macro"]["precision"], 1.0);
        assert_eq!(v["ner"]["per_type"]["Peop"]["support"], 1);
        assert!(v["re"]["per_type"].as_object().unwrap().is_empty());
        assert!(v.get("re_boundaries").is_some());
    }
}
