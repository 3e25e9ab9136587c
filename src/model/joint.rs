//! The joint model: token inputs → shared BiRNN layers → NER-specific layers → CRF, and
//! RE-specific layers → relation head (paper §3, Figure 2).

use tch::{nn, Kind, Reduction, Tensor};

use super::birnn::BiRnn;
use super::config::ModelConfig;
use super::context::between_rows;
use super::crf::Crf;
use super::heads::{NerHead, ReHead};
use super::inputs::TokenInputs;
use super::pairs::{batch_pairs, Pair};
use crate::embed::batch::EntityEnd;
use crate::embed::{Batch, Vocabulary};

#[derive(Debug)]
pub struct JointModel {
    pub inputs: TokenInputs,
    shared: Vec<BiRnn>,
    ner_rnn: Vec<BiRnn>,
    re_rnn: Vec<BiRnn>,
    pub ner: NerHead,
    pub crf: Crf,
    pub re: ReHead,
    rnn_dropout: f64,
    pub re_weight: f64,
    pub ner_weight: f64,
    pub num_relations: i64,
}

/// Outputs of the BiRNN stacks, packed, and where each time step starts in packed order.
pub struct Encoded {
    pub ner: Tensor,
    pub re: Tensor,
    pub steps: Vec<i64>,
}

/// The loss of a batch and its parts.
pub struct Loss {
    pub total: Tensor,
    pub ner: Tensor,
    pub re: Tensor,
}

fn stack(p: nn::Path, n: usize, input: i64, cfg: &ModelConfig) -> (Vec<BiRnn>, i64) {
    let mut layers = Vec::new();
    let mut dim = input;
    for i in 0..n {
        let layer = BiRnn::new(&p / i, dim, cfg.rnn_size, cfg.rnn);
        dim = layer.output_size();
        layers.push(layer);
    }
    (layers, dim)
}

impl JointModel {
    pub fn new(p: &nn::Path, cfg: &ModelConfig, vocab: &Vocabulary) -> JointModel {
        let inputs = TokenInputs::new(
            p / "inputs",
            cfg,
            vocab.words.len() as i64,
            vocab.chars.len() as i64,
        );
        let (shared, shared_dim) = stack(p / "shared", cfg.shared_layers.max(1), inputs.dim, cfg);
        let (ner_rnn, ner_dim) = stack(p / "ner" / "rnn", cfg.ner_layers, shared_dim, cfg);
        let (re_rnn, re_dim) = stack(p / "re" / "rnn", cfg.re_layers, shared_dim, cfg);
        let num_tags = vocab.num_tags();
        let num_relations = vocab.relation_types.len() as i64;
        JointModel {
            ner: NerHead::new(p / "ner", ner_dim, cfg, num_tags),
            crf: Crf::new(p / "ner" / "crf", num_tags),
            re: ReHead::new(p / "re", re_dim, cfg, num_tags, num_relations),
            inputs,
            shared,
            ner_rnn,
            re_rnn,
            rnn_dropout: cfg.rnn_dropout,
            re_weight: cfg.re_weight,
            ner_weight: cfg.ner_weight,
            num_relations,
        }
    }

    fn run(&self, layers: &[BiRnn], x: Tensor, batch: &Batch, train: bool) -> Tensor {
        layers.iter().fold(x, |x, layer| {
            layer
                .forward_packed(
                    &super::random::dropout(&x, self.rnn_dropout, train),
                    &batch.batch_sizes,
                    batch.size as i64,
                    train,
                )
                .0
        })
    }

    /// The output of every shared BiRNN layer (packed tokens × features), in evaluation mode:
    /// what `relarc affinity` compares between single-task models.
    pub fn shared_outputs(&self, batch: &Batch) -> Vec<Tensor> {
        let mut x = self.inputs.forward(batch, false);
        let mut outputs = Vec::with_capacity(self.shared.len());
        for layer in &self.shared {
            x = self.run(std::slice::from_ref(layer), x, batch, false);
            outputs.push(x.shallow_clone());
        }
        outputs
    }

    pub fn encode(&self, batch: &Batch, train: bool) -> Encoded {
        let v = self.inputs.forward(batch, train);
        let shared = self.run(&self.shared, v, batch, train);
        Encoded {
            ner: self.run(&self.ner_rnn, shared.shallow_clone(), batch, train),
            re: self.run(&self.re_rnn, shared, batch, train),
            steps: batch.offsets.clone(),
        }
    }

    /// NER emission scores `[B, T, K]` (zeros at padding).
    pub fn emissions(&self, enc: &Encoded, batch: &Batch) -> Tensor {
        batch.unpack(&self.ner.forward(&enc.ner))
    }

    /// Relation logits for every ordered pair of the given entities of each sentence (batch
    /// order). Returns `[Q, R]` with pairs in sentence order, then (head, tail) order.
    pub fn relation_logits(&self, enc: &Encoded, entities: &[Vec<EntityEnd>], train: bool) -> Option<Tensor> {
        let pairs: Vec<Pair> = batch_pairs(&counts(entities)).collect();
        if pairs.is_empty() {
            return None;
        }
        let g = self.entity_vectors(enc, entities, train);
        Some(self.pair_logits(enc, entities, &g, &pairs, train))
    }

    /// `g_i` of every given entity, sentence after sentence: `[E, G]`.
    pub fn entity_vectors(&self, enc: &Encoded, entities: &[Vec<EntityEnd>], train: bool) -> Tensor {
        let ends: Vec<&EntityEnd> = entities.iter().flatten().collect();
        let device = enc.re.device();
        let packed = Tensor::from_slice(&ends.iter().map(|e| e.packed).collect::<Vec<_>>()).to(device);
        let tags = Tensor::from_slice(&ends.iter().map(|e| e.tag).collect::<Vec<_>>()).to(device);
        self.re
            .entity_vectors(&enc.re.index_select(0, &packed), &tags, train)
    }

    /// Logits `[pairs, R]` of some pairs of `entities`, whose vectors `g` holds sentence after
    /// sentence (`entity_vectors`).
    pub fn pair_logits(
        &self,
        enc: &Encoded,
        entities: &[Vec<EntityEnd>],
        g: &Tensor,
        pairs: &[Pair],
        train: bool,
    ) -> Tensor {
        let offsets = entity_offsets(entities);
        let (heads, tails): (Vec<i64>, Vec<i64>) = pairs
            .iter()
            .map(|p| {
                let base = offsets[p.sentence];
                ((base + p.head) as i64, (base + p.tail) as i64)
            })
            .unzip();
        let context = self.re.context.as_ref().and_then(|_| {
            let rows = between_rows(pairs, entities, &enc.steps);
            self.re.context_vectors(&enc.re, &rows, train)
        });
        let device = g.device();
        self.re.forward(
            g,
            &Tensor::from_slice(&heads).to(device),
            &Tensor::from_slice(&tails).to(device),
            context.as_ref(),
        )
    }

    /// `L = L_NER + λr · L_RE` on gold spans and tags: the CRF negative log-likelihood averaged
    /// over sentences, and the binary cross-entropy summed over pairs × relation types, per
    /// sentence.
    pub fn loss(&self, batch: &Batch, train: bool) -> Loss {
        let gold = batch.gold_tags.as_ref().expect("a training batch has gold tags");
        let enc = self.encode(batch, train);
        let em = self.emissions(&enc, batch);
        let ner = self.crf.nll(&em, gold, &batch.mask).mean(Kind::Float);
        let re = match self.relation_logits(&enc, &batch.gold_entities, train) {
            None => Tensor::zeros([], (Kind::Float, batch.device)),
            Some(logits) => {
                let labels = relation_labels(&batch.gold_entities, &batch.gold_relations, self.num_relations);
                let target = labels.to(batch.device);
                logits.binary_cross_entropy_with_logits::<Tensor>(&target, None, None, Reduction::Sum)
                    / batch.size as f64
            }
        };
        Loss {
            total: &ner * self.ner_weight + &re * self.re_weight,
            ner,
            re,
        }
    }
}

/// 0/1 targets `[Q, R]` for the pairs `relation_logits` makes.
pub fn relation_labels(
    entities: &[Vec<EntityEnd>],
    relations: &[Vec<(usize, usize, i64)>],
    num_relations: i64,
) -> Tensor {
    let r = num_relations as usize;
    let counts: Vec<usize> = entities.iter().map(Vec::len).collect();
    let mut rows = Vec::new();
    for pair in batch_pairs(&counts) {
        let mut row = vec![0f32; r];
        for &(h, t, k) in &relations[pair.sentence] {
            if (h, t) == (pair.head, pair.tail) {
                row[k as usize] = 1.0;
            }
        }
        rows.extend(row);
    }
    let q = (rows.len() / r.max(1)) as i64;
    Tensor::from_slice(&rows).view([q, num_relations])
}

fn counts(entities: &[Vec<EntityEnd>]) -> Vec<usize> {
    entities.iter().map(Vec::len).collect()
}

/// Where each sentence's entities start among the batch's entity vectors.
pub fn entity_offsets(entities: &[Vec<EntityEnd>]) -> Vec<usize> {
    entities
        .iter()
        .scan(0, |acc, e| Some(std::mem::replace(acc, *acc + e.len())))
        .collect()
}
