//! The layer-count search of the paper's §4: every combination of shared, NER-specific and
//! RE-specific BiRNN layers, ranked on dev by the early-stopping criterion; optionally by
//! successive halving.

use std::collections::BTreeMap;

use super::plan::{Group, Study};
use super::{job, StudyError};
use crate::embed::Vocabulary;
use crate::model::ModelConfig;

/// The layer counts of every configuration of the grid, shared first.
pub fn grid(shared: &[usize], ner: &[usize], re: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut cells = Vec::new();
    for &s in shared {
        for &n in ner {
            for &r in re {
                cells.push((s, n, r));
            }
        }
    }
    cells
}

/// A group of `base` with these layer counts, its parameters counted with `vocab`.
pub fn group(
    base: &ModelConfig,
    (s, n, r): (usize, usize, usize),
    vocab: &Vocabulary,
    name: Option<&str>,
) -> Group {
    let config = ModelConfig {
        shared_layers: s,
        ner_layers: n,
        re_layers: r,
        ..base.clone()
    };
    Group {
        name: name.map_or_else(|| format!("shared {s}, NER {n}, RE {r}"), str::to_string),
        shared: s,
        ner: n,
        re: r,
        parameters: super::ablate::parameters(&config, vocab),
        config,
    }
}

/// Successive halving's rungs for `n` configurations and `epochs` at most: (configurations
/// kept, epochs) per rung; the last rung trains one configuration for all `epochs`.
pub fn rungs(n: usize, epochs: usize) -> Vec<(usize, usize)> {
    let mut kept = vec![n.max(1)];
    while *kept.last().unwrap() > 1 {
        kept.push(kept.last().unwrap().div_ceil(2));
    }
    let last = kept.len() - 1;
    kept.iter()
        .enumerate()
        .map(|(r, &k)| {
            let e = (epochs as f64 / 2f64.powi((last - r) as i32)).round() as usize;
            (k, e.clamp(1, epochs.max(1)))
        })
        .collect()
}

/// Groups ranked by their mean best dev score over `results` (best first; ties keep the
/// order of first appearance).
pub fn rank<'a>(results: impl IntoIterator<Item = (&'a str, f64)>) -> Vec<(String, f64)> {
    let mut order: Vec<String> = Vec::new();
    let mut scores: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (name, score) in results {
        if !scores.contains_key(name) {
            order.push(name.to_string());
        }
        scores.entry(name.to_string()).or_default().push(score);
    }
    let mut ranked: Vec<(String, f64)> = order
        .into_iter()
        .map(|name| {
            let s = &scores[&name];
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            (name, mean)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// The group ranked `place` (0 = best) by rung `rung - 1`, all of whose jobs must have finished.
pub fn picked(study: &Study, rung: usize, place: usize) -> Result<String, StudyError> {
    let previous = rung.checked_sub(1).ok_or(StudyError::Invalid {
        what: "rung 0".into(),
        message: "a pick needs a rung before it".into(),
    })?;
    let mut results = Vec::new();
    let mut missing = 0;
    for j in study.jobs.iter().filter(|j| j.rung == previous) {
        match job::finished(j)? {
            Some(r) => results.push(r),
            None => missing += 1,
        }
    }
    if missing > 0 {
        return Err(StudyError::RungUnfinished {
            rung,
            previous,
            missing,
        });
    }
    let ranked = rank(results.iter().map(|r| (r.group.as_str(), r.best_score)));
    ranked
        .get(place)
        .map(|(name, _)| name.clone())
        .ok_or(StudyError::Invalid {
            what: format!("rung {rung}"),
            message: format!("rank {place} asked of {} configurations", ranked.len()),
        })
}

/// The best dev score of a run cut off after `epochs` epochs, with the same early stopping
/// as training (stop after `patience` epochs without a better score).
pub fn best_within(scores: &[f64], epochs: usize, patience: usize) -> f64 {
    let mut best = f64::NEG_INFINITY;
    let mut since = 0;
    for &s in scores.iter().take(epochs) {
        if s > best {
            best = s;
            since = 0;
        } else {
            since += 1;
            if since >= patience {
                break;
            }
        }
    }
    best
}

/// What successive halving would pick from full-length runs' dev histories (one per
/// group): a run of e epochs with the same seed repeats the first e epochs of the longer one,
/// so each rung's scores are read off the histories instead of trained again.
pub fn halving_pick(histories: &[(String, Vec<f64>)], epochs: usize, patience: usize) -> Option<String> {
    let mut alive: Vec<&(String, Vec<f64>)> = histories.iter().collect();
    let rungs = rungs(histories.len(), epochs);
    for (r, &(_, e)) in rungs.iter().enumerate() {
        // Those trained e epochs in this rung; the next rung's count goes on, ranked by what
        // this rung scored (never by epochs they were not yet trained for).
        alive.sort_by(|a, b| best_within(&b.1, e, patience).total_cmp(&best_within(&a.1, e, patience)));
        alive.truncate(rungs.get(r + 1).map_or(1, |&(keep, _)| keep));
    }
    alive.first().map(|(name, _)| name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_rungs_halve_configurations_and_double_epochs() {
        assert_eq!(rungs(8, 16), vec![(8, 2), (4, 4), (2, 8), (1, 16)]);
        assert_eq!(rungs(3, 10), vec![(3, 3), (2, 5), (1, 10)]);
        assert_eq!(rungs(1, 5), vec![(1, 5)]);
        // Never fewer than one epoch.
        assert_eq!(rungs(48, 4)[0], (48, 1));
    }

    #[test]
    fn ranking_is_by_mean_score_over_runs() {
        let ranked = rank([("a", 0.5), ("b", 0.7), ("a", 0.9), ("b", 0.6)]);
        assert_eq!(ranked[0].0, "a");
        assert!((ranked[0].1 - 0.7).abs() < 1e-12);
        assert_eq!(ranked[1].0, "b");
    }

    #[test]
    fn halving_follows_early_scores_and_can_miss_a_late_starter() {
        let runs = vec![
            ("steady".to_string(), vec![0.5, 0.6, 0.65, 0.66]),
            ("late".to_string(), vec![0.1, 0.2, 0.5, 0.9]),
            ("poor".to_string(), vec![0.2, 0.3, 0.35, 0.4]),
        ];
        // Rungs (3, 1), (2, 2), (1, 4): "late" is dropped after one epoch.
        assert_eq!(halving_pick(&runs, 4, 10).as_deref(), Some("steady"));
        assert_eq!(best_within(&runs[1].1, 4, 10), 0.9);
        // Patience 1 stops "steady" at its first non-improving epoch.
        assert_eq!(best_within(&[0.5, 0.4, 0.9], 3, 1), 0.5);
    }

    #[test]
    fn halving_keeps_for_the_next_rung_what_this_rung_ranked_first() {
        let runs: Vec<(String, Vec<f64>)> = [
            ("fast", vec![0.6, 0.6, 0.6, 0.6]),
            ("steady", vec![0.5, 0.55, 0.7, 0.8]),
            ("slow", vec![0.1, 0.9, 0.9, 0.9]),
            ("poor", vec![0.2, 0.3, 0.3, 0.3]),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
        // Rungs (4, 1), (2, 2), (1, 4): after one epoch "fast" and "steady" go on and "slow"
        // is dropped, though its second epoch would have been the best; after two epochs
        // "fast" leads "steady".
        assert_eq!(rungs(4, 4), vec![(4, 1), (2, 2), (1, 4)]);
        assert_eq!(halving_pick(&runs, 4, 10).as_deref(), Some("fast"));
    }
}
