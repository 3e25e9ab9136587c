//! θr chosen on dev (the paper treats the relation threshold as a hyperparameter): after
//! training, every candidate relation of the dev sentences is scored once, and the threshold
//! that maximises strict relation micro F1 there is kept in the model.

use serde::Serialize;

use crate::corpus::Sentence;
use crate::eval::{evaluate, relation_keys, RelationKey, Report, SpanKey};
use crate::model::{Prediction, Predictor};
use crate::train::TrainError;

/// The threshold chosen on dev, and what it did there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdChoice {
    pub threshold: f64,
    /// Dev relation micro F1 with the chosen threshold.
    pub dev_re_f1: f64,
    /// The threshold before, and dev relation micro F1 with it.
    pub previous: f64,
    pub previous_dev_re_f1: f64,
}

/// A candidate relation: its probability, and whether gold has it.
pub type Candidate = (f32, bool);

/// The threshold with the best micro F1 over `candidates` against `gold` gold relations, and
/// that F1; relations are kept when their probability exceeds it (as in decoding). Among
/// equal F1s the highest threshold wins. None without gold relations or candidates.
pub fn best_threshold(candidates: &[Candidate], gold: usize) -> Option<(f64, f64)> {
    if gold == 0 || candidates.is_empty() {
        return None;
    }
    let mut sorted = candidates.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut best) = (0usize, (f64::from(sorted[0].0), 0.0));
    for (i, &(p, correct)) in sorted.iter().enumerate() {
        tp += correct as usize;
        // Ties are kept or dropped together: score only after the last of a run.
        let next = sorted.get(i + 1).map(|c| c.0);
        if next == Some(p) {
            continue;
        }
        let f1 = 2.0 * tp as f64 / ((i + 1) + gold) as f64;
        if f1 > best.1 {
            // Just below p (halfway to the next lower probability), so that p is kept.
            let below = next.map_or(0.0, f64::from);
            best = ((f64::from(p) + below) / 2.0, f1);
        }
    }
    Some(best)
}

/// Dev relation micro F1 if only candidates above `threshold` are kept.
pub fn f1_at(candidates: &[Candidate], gold: usize, threshold: f64) -> f64 {
    let kept: Vec<&Candidate> = candidates.iter().filter(|c| f64::from(c.0) > threshold).collect();
    let tp = kept.iter().filter(|c| c.1).count();
    if kept.is_empty() && gold == 0 {
        return 0.0;
    }
    2.0 * tp as f64 / (kept.len() + gold) as f64
}

/// Chooses θr on `dev` and sets it in `model`: the best threshold when it beats the model's
/// own on dev, else the model's own; with the model's dev scores at that threshold (read
/// from the same predictions, not predicted again). None (nothing considered) when dev has
/// no relations or the model finds no candidate.
pub fn choose_on_dev(
    model: &mut impl Predictor,
    dev: &[Sentence],
) -> Result<Option<(ThresholdChoice, Report)>, TrainError> {
    let previous = *model.re_threshold();
    // Every candidate pair of the predicted entities, whatever its probability.
    *model.re_threshold() = -1.0;
    let tokens: Vec<&[String]> = dev.iter().map(|s| s.tokens.as_slice()).collect();
    let predicted = model.predict_tokens(&tokens);
    *model.re_threshold() = previous;
    let mut predicted = predicted.map_err(TrainError::Dev)?;
    let (candidates, gold) = candidates(&predicted, dev);
    let Some((best, best_f1)) = best_threshold(&candidates, gold) else {
        return Ok(None);
    };
    let previous_dev_re_f1 = f1_at(&candidates, gold, previous);
    // Only a better dev F1 moves θr (a model that finds no relation right keeps its own).
    let (threshold, dev_re_f1) = if best_f1 > previous_dev_re_f1 {
        (best, best_f1)
    } else {
        (previous, previous_dev_re_f1)
    };
    *model.re_threshold() = threshold;
    // Decoding keeps a relation when its probability exceeds θr: the same filter here.
    for p in &mut predicted {
        p.relations.retain(|r| f64::from(r.probability) > threshold);
    }
    let sentences: Vec<Sentence> = predicted.iter().zip(dev).map(|(p, s)| p.to_sentence(s)).collect();
    let report = evaluate(dev, &sentences)?;
    let choice = ThresholdChoice {
        threshold,
        dev_re_f1,
        previous,
        previous_dev_re_f1,
    };
    Ok(Some((choice, report)))
}

/// The candidates of the predictions, marked right when gold has the same relation (type,
/// and both arguments' spans and types), and the number of gold relations.
fn candidates(predicted: &[Prediction], dev: &[Sentence]) -> (Vec<Candidate>, usize) {
    let mut out = Vec::new();
    let mut gold = 0;
    for (p, s) in predicted.iter().zip(dev) {
        let keys = relation_keys(s, true);
        gold += keys.len();
        let span = |i: usize| SpanKey {
            label: p.entities[i].label.clone(),
            start: p.entities[i].start,
            end: p.entities[i].end,
        };
        for r in &p.relations {
            let key = RelationKey {
                label: r.label.clone(),
                head: span(r.head),
                tail: span(r.tail),
            };
            out.push((r.probability, keys.contains(&key)));
        }
    }
    (out, gold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_maximising_f1_is_chosen() {
        // 4 gold relations. Sorted: 0.95 ✓, 0.9 ✓, 0.8 ✗, 0.7 ✓, 0.6 ✓, 0.3 ✗, 0.2 ✗.
        // Keeping the top k: F1 = 2·tp / (k + 4): k=2 → 0.667, k=4 → 0.75, k=5 → 0.889,
        // k=7 → 0.727. Best: the top 5, so θ between 0.6 and 0.3.
        let c = [
            (0.3, false),
            (0.95, true),
            (0.6, true),
            (0.8, false),
            (0.2, false),
            (0.9, true),
            (0.7, true),
        ];
        let (t, f1) = best_threshold(&c, 4).unwrap();
        assert!((t - 0.45).abs() < 1e-6, "{t}");
        assert!((f1 - 8.0 / 9.0).abs() < 1e-9, "{f1}");
        assert!((f1_at(&c, 4, t) - f1).abs() < 1e-9);
        for other in [0.1, 0.25, 0.5, 0.65, 0.85, 0.92] {
            assert!(f1_at(&c, 4, other) <= f1, "θ {other} beats the choice");
        }
        // Tied probabilities stay together: both 0.5s are kept or neither.
        let tied = [(0.5, true), (0.5, false), (0.4, true)];
        let (t, _) = best_threshold(&tied, 2).unwrap();
        assert!(t < 0.4, "{t}: keeping all three (F1 0.8) beats nothing");
        assert_eq!(best_threshold(&c, 0), None);
        assert_eq!(best_threshold(&[], 3), None);
    }
}
