//! The order of candidate relation pairs, which three places must agree on: the relation head
//! scores pairs in it (`JointModel::relation_logits`), training targets are laid out in it
//! (`relation_labels`) and decoding reads probabilities back in it (`decode_pairs`). All
//! three walk `batch_pairs`.

/// Every ordered pair (head, tail), head ≠ tail, of `n` entities, head-major.
pub fn ordered_pairs(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).flat_map(move |i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
}

/// A candidate pair of a batch: the sentence (in batch order) and its head and tail entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    pub sentence: usize,
    pub head: usize,
    pub tail: usize,
}

/// The rows of a batch's relation logits, for sentences with these entity counts: sentence by
/// sentence, then `ordered_pairs`.
pub fn batch_pairs(entity_counts: &[usize]) -> impl Iterator<Item = Pair> + '_ {
    entity_counts
        .iter()
        .enumerate()
        .flat_map(|(sentence, &n)| ordered_pairs(n).map(move |(head, tail)| Pair { sentence, head, tail }))
}

/// A relation read back from pair probabilities: its pair, its type index and probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decoded {
    pub pair: Pair,
    pub kind: usize,
    pub probability: f32,
}

/// The relations whose probability exceeds `threshold`: `probs` is row-major `[pairs, R]`,
/// a row for each of `pairs`.
pub fn decode_pairs(probs: &[f32], pairs: &[Pair], num_relations: usize, threshold: f64) -> Vec<Decoded> {
    let mut out = Vec::new();
    for (q, &pair) in pairs.iter().enumerate() {
        for kind in 0..num_relations {
            let probability = probs[q * num_relations + kind];
            if probability as f64 > threshold {
                out.push(Decoded {
                    pair,
                    kind,
                    probability,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_ordered_and_never_reflexive() {
        let pairs: Vec<(usize, usize)> = ordered_pairs(3).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]);
        assert_eq!(ordered_pairs(1).count(), 0);
        let batch: Vec<Pair> = batch_pairs(&[2, 0, 2]).collect();
        assert_eq!(batch.len(), 4);
        assert_eq!(
            batch[2],
            Pair {
                sentence: 2,
                head: 0,
                tail: 1
            }
        );
    }

    #[test]
    fn a_training_target_decodes_to_the_relations_it_was_made_from() {
        use crate::embed::batch::EntityEnd;
        use crate::model::joint::relation_labels;
        let end = |packed| EntityEnd {
            packed,
            tag: 0,
            start: 0,
            end: 1,
        };
        let entities = vec![vec![end(0), end(1), end(2)], vec![], vec![end(3), end(4)]];
        // (head, tail, type) per sentence.
        let relations = vec![vec![(2, 0, 1), (0, 1, 0), (0, 1, 2)], vec![], vec![(1, 0, 2)]];
        let target = relation_labels(&entities, &relations, 3);
        let probs: Vec<f32> = target.flatten(0, -1).try_into().unwrap();
        let counts: Vec<usize> = entities.iter().map(Vec::len).collect();
        let pairs: Vec<Pair> = batch_pairs(&counts).collect();
        let mut decoded: Vec<(usize, usize, usize, i64)> = decode_pairs(&probs, &pairs, 3, 0.5)
            .into_iter()
            .map(|d| (d.pair.sentence, d.pair.head, d.pair.tail, d.kind as i64))
            .collect();
        let mut expected: Vec<(usize, usize, usize, i64)> = relations
            .iter()
            .enumerate()
            .flat_map(|(s, rels)| rels.iter().map(move |&(h, t, k)| (s, h, t, k)))
            .collect();
        decoded.sort();
        expected.sort();
        assert_eq!(decoded, expected);
    }
}
