//! Several models predicting as one, and the decoding every prediction goes through.
//!
//! Members vote through their scores, not their outputs: NER decodes the members' mean CRF
//! potentials (emissions, transitions, start and end), whose best path is the one that
//! maximises the product of the members' tag-sequence probabilities; each member then scores
//! relations between those shared entities, and a relation is kept when the members' mean
//! probability exceeds θr (by default the members' mean θr). Members may weigh unequally:
//! every mean is then the weighted one (NER's best path maximises the product of the members'
//! probabilities each raised to its weight). One model is the one-member case: its means are
//! its own scores, so it predicts exactly as alone.

use tch::Tensor;

use super::crf::{to_vec, CrfWeights};
use super::joint::Encoded;
use super::pairs::{batch_pairs, decode_pairs, Pair};
use super::predict::{Model, PredictError, PredictedEntity, PredictedRelation, Prediction};
use crate::corpus::bio::{decode, Tag};
use crate::embed::batch::EntityEnd;
use crate::embed::{Batch, BatchInput};
use crate::pretrained::encoder::shared_states::sharing_states;
use crate::pretrained::{Caching, Featurizer};

/// Why models cannot predict together.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error("an ensemble needs at least one model")]
    Empty,
    /// `index` counts from 0; the message counts models from 1, as a user lists them.
    #[error("model {} of the ensemble has {what} {theirs:?}, model 1 has {ours:?}: members must be trained on the same types", .index + 1)]
    Mismatch {
        index: usize,
        what: &'static str,
        ours: Vec<String>,
        theirs: Vec<String>,
    },
    #[error("{given} weights for {members} models: give one weight per model")]
    WeightCount { given: usize, members: usize },
    #[error("weight {value} of model {} is not a positive number", .index + 1)]
    Weight { index: usize, value: f64 },
}

pub struct Ensemble {
    pub members: Vec<Model>,
    /// How much each member weighs in every mean, in the members' order (only their ratios
    /// count).
    weights: Vec<f64>,
    /// θr applied to the members' mean relation probability.
    pub re_threshold: f64,
}

/// Whether every member weighs the same (as with no weights given).
pub fn equal_weights(weights: &[f64]) -> bool {
    weights.iter().all(|w| *w == weights[0])
}

/// Checks that `weights` holds one positive number per member.
pub fn check_weights(weights: &[f64], members: usize) -> Result<(), EnsembleError> {
    if weights.len() != members {
        return Err(EnsembleError::WeightCount {
            given: weights.len(),
            members,
        });
    }
    match (weights.iter().enumerate()).find(|(_, w)| !(w.is_finite() && **w > 0.0)) {
        Some((index, &value)) => Err(EnsembleError::Weight { index, value }),
        None => Ok(()),
    }
}

impl Ensemble {
    /// Models with the same entity and relation types, in the order given, weighing equally.
    pub fn new(members: Vec<Model>) -> Result<Ensemble, EnsembleError> {
        let equal = vec![1.0; members.len()];
        Ensemble::weighted(members, &equal)
    }

    /// `new` with each member weighing as much as its weight (any positive numbers: only
    /// their ratios count); θr is by default the members' weighted mean θr.
    pub fn weighted(members: Vec<Model>, weights: &[f64]) -> Result<Ensemble, EnsembleError> {
        let first = members.first().ok_or(EnsembleError::Empty)?;
        for (index, m) in members.iter().enumerate().skip(1) {
            let same = |what, ours: &Vec<String>, theirs: &Vec<String>| {
                if ours == theirs {
                    Ok(())
                } else {
                    Err(EnsembleError::Mismatch {
                        index,
                        what,
                        ours: ours.clone(),
                        theirs: theirs.clone(),
                    })
                }
            };
            same("entity types", &first.vocab.entity_types, &m.vocab.entity_types)?;
            same(
                "relation types",
                &first.vocab.relation_types,
                &m.vocab.relation_types,
            )?;
        }
        check_weights(weights, members.len())?;
        let weighted_sum = (members.iter().zip(weights)).map(|(m, w)| m.config.re_threshold * w);
        let re_threshold = weighted_sum.sum::<f64>() / weights.iter().sum::<f64>();
        Ok(Ensemble {
            members,
            weights: weights.to_vec(),
            re_threshold,
        })
    }

    /// How much each member weighs, in the members' order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Whether some member weighs more than another.
    pub fn is_weighted(&self) -> bool {
        !equal_weights(&self.weights)
    }

    fn voters(&self) -> Vec<Voter<'_>> {
        (self.members.iter().zip(&self.weights))
            .map(|(model, &weight)| Voter { model, weight })
            .collect()
    }

    /// Predicts for tokenized sentences, in batches of the first member's size (at least 64).
    pub fn predict(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        predict_sentences(&self.voters(), self.re_threshold, sentences, Caching::Use)
    }

    /// The sentences any member was trained on; None when a member's training was not
    /// recorded (any sentence could then be one it learned).
    pub fn trained_on(&self) -> Option<super::trained_on::TrainedOn> {
        self.members
            .iter()
            .try_fold(super::trained_on::TrainedOn::default(), |all, m| {
                m.trained_on.as_ref().map(|t| all.union(t))
            })
    }

    /// `predict` for text typed live: features computed and not cached (see `Model`'s).
    pub fn predict_uncached(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        predict_sentences(&self.voters(), self.re_threshold, sentences, Caching::Skip)
    }
}

/// What predicts with a relation threshold θr: one model, or several together (whose θr, the
/// mean of theirs by default, is as much a decision made after training). Evaluation and the
/// choice of θr on dev take either.
pub trait Predictor {
    fn re_threshold(&mut self) -> &mut f64;
    fn predict_tokens(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError>;
}

impl Predictor for Model {
    fn re_threshold(&mut self) -> &mut f64 {
        &mut self.config.re_threshold
    }

    fn predict_tokens(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        self.predict(sentences)
    }
}

impl Predictor for Ensemble {
    fn re_threshold(&mut self) -> &mut f64 {
        &mut self.re_threshold
    }

    fn predict_tokens(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        self.predict(sentences)
    }
}

/// A member and how much it weighs in the means.
#[derive(Clone, Copy)]
pub(super) struct Voter<'a> {
    pub model: &'a Model,
    pub weight: f64,
}

impl<'a> Voter<'a> {
    /// A model predicting alone.
    pub fn alone(model: &'a Model) -> [Voter<'a>; 1] {
        [Voter { model, weight: 1.0 }]
    }
}

/// Predictions of the members together for tokenized sentences, batch by batch.
pub(super) fn predict_sentences(
    members: &[Voter],
    threshold: f64,
    sentences: &[&[String]],
    caching: Caching,
) -> Result<Vec<Prediction>, PredictError> {
    if caching == Caching::Use {
        // The whole set first, sorted by length in large batches (measured on the CPU: about
        // twice the sentences per second of encoding batch by batch), and once for members
        // that share an encoder; batches made afterwards read the cache.
        let features: Vec<&Featurizer> = members
            .iter()
            .filter_map(|v| v.model.features.as_deref())
            .collect();
        Featurizer::warm_together(&features, sentences, &mut |_, _| {})?;
    }
    let mut out = Vec::with_capacity(sentences.len());
    for chunk in sentences.chunks(members[0].model.config.batch_size.max(64)) {
        let inputs: Vec<BatchInput> = chunk
            .iter()
            .map(|t| BatchInput {
                tokens: t,
                gold: None,
            })
            .collect();
        // Members reading one encoder (other poolings) run it once per uncached sentence.
        let batches = sharing_states(|| {
            (members.iter())
                .map(|v| v.model.batch_with(&inputs, caching, false))
                .collect::<Result<Vec<Batch>, _>>()
        })?;
        out.extend(predict_batches(
            members,
            &batches,
            threshold,
            super::predict::PAIR_CHUNK,
        ));
    }
    Ok(out)
}

/// Element-wise weighted mean of equally long vectors, one per member. Equal weights count
/// as 1 each, so that the result is the plain mean, summed then divided, as relarc computed
/// it before members had weights.
fn mean(members: &[Voter], rows: Vec<Vec<f32>>) -> Vec<f32> {
    let given: Vec<f64> = members.iter().map(|v| v.weight).collect();
    let weights: Vec<f32> = match equal_weights(&given) {
        true => vec![1.0; given.len()],
        false => given.iter().map(|&w| w as f32).collect(),
    };
    let total: f32 = weights.iter().sum();
    let mut sum = vec![0.0f32; rows[0].len()];
    for (row, w) in rows.into_iter().zip(weights) {
        sum.iter_mut().zip(row).for_each(|(s, x)| *s += w * x);
    }
    sum.iter_mut().for_each(|s| *s /= total);
    sum
}

fn mean_crf(members: &[Voter]) -> CrfWeights {
    let weights: Vec<CrfWeights> = members.iter().map(|v| v.model.net.crf.weights()).collect();
    let k = weights[0].k;
    let (mut t, mut s, mut e) = (Vec::new(), Vec::new(), Vec::new());
    for w in weights {
        t.push(w.transitions);
        s.push(w.start);
        e.push(w.end);
    }
    CrfWeights {
        k,
        transitions: mean(members, t),
        start: mean(members, s),
        end: mean(members, e),
    }
}

/// Predictions for one batch per member (the same sentences, so the same order), in the
/// batch's input order.
pub(super) fn predict_batches(
    members: &[Voter],
    batches: &[Batch],
    threshold: f64,
    pair_chunk: usize,
) -> Vec<Prediction> {
    let batch = &batches[0];
    assert!(
        batches.iter().all(|b| b.order == batch.order),
        "members' batches hold the same sentences"
    );
    tch::no_grad(|| {
        let encoded: Vec<Encoded> = members
            .iter()
            .zip(batches)
            .map(|(v, b)| v.model.net.encode(b, false))
            .collect();
        let em = mean(
            members,
            members
                .iter()
                .zip(batches)
                .zip(&encoded)
                .map(|((v, b), enc)| to_vec(&v.model.net.emissions(enc, b)))
                .collect(),
        );
        let crf = mean_crf(members);
        let (t_max, k) = (batch.max_len as usize, crf.k);
        let mut preds = Vec::with_capacity(batch.size);
        let mut ends = Vec::with_capacity(batch.size);
        for (b, &len) in batch.lengths.iter().enumerate() {
            let (len, row) = (len as usize, b * t_max * k);
            let emissions = &em[row..row + len * k];
            let path = crf.viterbi(emissions, len);
            let pred = entities(members[0].model, &path, &crf.marginals(emissions, len), k);
            ends.push(
                pred.entities
                    .iter()
                    .map(|e| EntityEnd {
                        packed: batch.packed_index(b, e.end - 1),
                        tag: path[e.end - 1],
                        start: e.start,
                        end: e.end,
                    })
                    .collect::<Vec<_>>(),
            );
            preds.push(pred);
        }
        add_relations(members, &encoded, &ends, &mut preds, threshold, pair_chunk);
        let mut ordered: Vec<Option<Prediction>> = vec![None; batch.size];
        for (pred, &input) in preds.into_iter().zip(&batch.order) {
            ordered[input] = Some(pred);
        }
        ordered
            .into_iter()
            .map(|p| p.expect("every input predicted"))
            .collect()
    })
}

/// A sentence's entities from its best tag path; an entity's score is the smallest
/// marginal probability of its tags.
fn entities(model: &Model, path: &[i64], marginals: &[f32], k: usize) -> Prediction {
    let probs: Vec<f32> = path
        .iter()
        .enumerate()
        .map(|(t, &tag)| marginals[t * k + tag as usize])
        .collect();
    let tags: Vec<Tag> = path.iter().map(|&id| model.vocab.tag(id)).collect();
    let entities: Vec<PredictedEntity> = decode(&tags)
        .into_iter()
        .map(|s| PredictedEntity {
            score: probs[s.start..s.end].iter().copied().fold(1.0, f32::min),
            label: s.label,
            start: s.start,
            end: s.end,
        })
        .collect();
    Prediction {
        tags,
        entities,
        relations: Vec::new(),
        tag_probabilities: probs,
    }
}

/// Relations whose mean probability exceeds θr. Candidate pairs grow with the square of the
/// entities, so they are scored `chunk` at a time: memory stays linear in the number of
/// entities.
fn add_relations(
    members: &[Voter],
    encoded: &[Encoded],
    ends: &[Vec<EntityEnd>],
    preds: &mut [Prediction],
    threshold: f64,
    chunk: usize,
) {
    let counts: Vec<usize> = ends.iter().map(Vec::len).collect();
    let mut pairs = batch_pairs(&counts).peekable();
    if pairs.peek().is_none() {
        return;
    }
    let vectors: Vec<Tensor> = members
        .iter()
        .zip(encoded)
        .map(|(v, enc)| v.model.net.entity_vectors(enc, ends, false))
        .collect();
    let types = &members[0].model.vocab.relation_types;
    loop {
        let some: Vec<Pair> = pairs.by_ref().take(chunk.max(1)).collect();
        if some.is_empty() {
            break;
        }
        let probs = mean(
            members,
            members
                .iter()
                .zip(encoded)
                .zip(&vectors)
                .map(|((v, enc), g)| to_vec(&v.model.net.pair_logits(enc, ends, g, &some, false).sigmoid()))
                .collect(),
        );
        for d in decode_pairs(&probs, &some, types.len(), threshold) {
            preds[d.pair.sentence].relations.push(PredictedRelation {
                label: types[d.kind].clone(),
                head: d.pair.head,
                tail: d.pair.tail,
                probability: d.probability,
            });
        }
    }
}
