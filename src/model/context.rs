//! The context between two entities for the relation head: the RE layer's states of the
//! tokens between them, projected and max-pooled (SpERT's "localized context"; not in the
//! paper, whose scorer sees the two entities' last tokens only). Off unless `re_context`
//! names its size.

use std::ops::Range;

use tch::{nn, nn::Module, Kind, Tensor};

use super::pairs::Pair;
use crate::embed::batch::EntityEnd;

#[derive(Debug)]
pub struct BetweenContext {
    proj: nn::Linear,
    pub size: i64,
}

/// The packed rows of the tokens between each pair's two entities, padded to the widest
/// pair: `index` and `mask` are row-major `[pairs, width]`.
#[derive(Debug, PartialEq)]
pub struct BetweenRows {
    pub index: Vec<i64>,
    pub mask: Vec<f32>,
    pub width: usize,
    pub pairs: usize,
}

/// The tokens strictly between two entities of a sentence, whichever comes first; none when
/// they touch or overlap.
pub fn between(a: &EntityEnd, b: &EntityEnd) -> Range<usize> {
    if a.end <= b.start {
        a.end..b.start
    } else if b.end <= a.start {
        b.end..a.start
    } else {
        0..0
    }
}

/// `BetweenRows` of some pairs; `steps[t]` is where time step `t` starts in packed order, so
/// token `t` of the k-th sentence of the batch is packed row `steps[t] + k`.
pub fn between_rows(pairs: &[Pair], entities: &[Vec<EntityEnd>], steps: &[i64]) -> BetweenRows {
    let spans: Vec<(usize, Range<usize>)> = pairs
        .iter()
        .map(|p| {
            let ents = &entities[p.sentence];
            (p.sentence, between(&ents[p.head], &ents[p.tail]))
        })
        .collect();
    let width = spans.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    let mut index = vec![0i64; pairs.len() * width];
    let mut mask = vec![0f32; pairs.len() * width];
    for (q, (k, span)) in spans.into_iter().enumerate() {
        for (j, t) in span.enumerate() {
            index[q * width + j] = steps[t] + k as i64;
            mask[q * width + j] = 1.0;
        }
    }
    BetweenRows {
        index,
        mask,
        width,
        pairs: pairs.len(),
    }
}

impl BetweenContext {
    pub fn new(p: nn::Path, input: i64, size: i64) -> BetweenContext {
        BetweenContext {
            proj: nn::linear(&p / "proj", input, size, Default::default()),
            size,
        }
    }

    /// `[pairs, size]`: the element-wise maximum of `relu(W h_t)` over the tokens between
    /// each pair's entities, zeros where there are none (relu's outputs are never negative,
    /// so the padding's zeros never win).
    pub fn forward(&self, states: &Tensor, rows: &BetweenRows) -> Tensor {
        let q = rows.pairs as i64;
        let options = (Kind::Float, states.device());
        if rows.width == 0 {
            return Tensor::zeros([q, self.size], options);
        }
        let w = rows.width as i64;
        let index = Tensor::from_slice(&rows.index).to(options.1);
        let mask = Tensor::from_slice(&rows.mask).to(options.1).view([q, w, 1]);
        let projected = self.proj.forward(states).relu();
        let gathered = projected.index_select(0, &index).view([q, w, self.size]);
        (gathered.to_kind(Kind::Float) * mask).amax([1i64].as_slice(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(start: usize, end: usize) -> EntityEnd {
        EntityEnd {
            packed: 0,
            tag: 0,
            start,
            end,
        }
    }

    #[test]
    fn the_span_between_two_entities_is_the_same_both_ways_and_empty_when_they_touch() {
        let (a, b, c) = (entity(0, 2), entity(5, 6), entity(6, 8));
        assert_eq!(between(&a, &b), 2..5);
        assert_eq!(between(&b, &a), 2..5);
        assert_eq!(between(&b, &c), 6..6);
        assert_eq!(between(&a, &entity(1, 3)), 0..0);
    }

    #[test]
    fn between_rows_are_packed_rows_of_each_sentence_padded_and_masked() {
        // Two sentences, lengths 4 and 3: packed steps start at 0, 2, 4, 6.
        let steps = [0, 2, 4, 6];
        let entities = vec![vec![entity(0, 1), entity(3, 4)], vec![entity(0, 1), entity(1, 3)]];
        let pairs = [
            Pair {
                sentence: 0,
                head: 1,
                tail: 0,
            },
            Pair {
                sentence: 1,
                head: 0,
                tail: 1,
            },
        ];
        let rows = between_rows(&pairs, &entities, &steps);
        assert_eq!(rows.width, 2);
        assert_eq!(rows.index, [2, 4, 0, 0]);
        assert_eq!(rows.mask, [1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn the_context_is_the_maximum_over_the_tokens_between_and_zero_with_none() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let mut ctx = BetweenContext::new(vs.root() / "c", 2, 2);
        tch::no_grad(|| {
            ctx.proj
                .ws
                .copy_(&Tensor::eye(2, (Kind::Float, tch::Device::Cpu)));
            if let Some(b) = ctx.proj.bs.as_mut() {
                let _ = b.zero_();
            }
        });
        let states = Tensor::from_slice(&[1f32, -1., 3., 0., -2., 5., 9., 9.]).view([4, 2]);
        let rows = BetweenRows {
            index: vec![0, 1, 2, 0],
            mask: vec![1.0, 1.0, 1.0, 0.0],
            width: 2,
            pairs: 2,
        };
        let out: Vec<f32> = ctx.forward(&states, &rows).flatten(0, -1).try_into().unwrap();
        // Pair 0: max(relu([1,-1]), relu([3,0])) = [3,0]; pair 1: relu([-2,5]) = [0,5]; row 3
        // (9, 9) is never between.
        assert_eq!(out, [3.0, 0.0, 0.0, 5.0]);
    }
}
