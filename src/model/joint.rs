//! The joint model: token inputs → shared BiRNN layers → NER-specific layers → CRF, and
//! RE-specific layers → relation head (paper §3, Figure 2).

use tch::{nn, Kind, Reduction, Tensor};

use super::birnn::BiRnn;
use super::config::ModelConfig;
use super::crf::Crf;
use super::heads::{ordered_pairs, NerHead, ReHead};
use super::inputs::TokenInputs;
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
    pub num_relations: i64,
}

/// Outputs of the BiRNN stacks, packed.
pub struct Encoded {
    pub ner: Tensor,
    pub re: Tensor,
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
            num_relations,
        }
    }

    fn run(&self, layers: &[BiRnn], x: Tensor, batch: &Batch, train: bool) -> Tensor {
        layers.iter().fold(x, |x, layer| {
            layer
                .forward_packed(
                    &x.dropout(self.rnn_dropout, train),
                    &batch.batch_sizes,
                    batch.size as i64,
                    train,
                )
                .0
        })
    }

    pub fn encode(&self, batch: &Batch, train: bool) -> Encoded {
        let v = self.inputs.forward(batch, train);
        let shared = self.run(&self.shared, v, batch, train);
        Encoded {
            ner: self.run(&self.ner_rnn, shared.shallow_clone(), batch, train),
            re: self.run(&self.re_rnn, shared, batch, train),
        }
    }

    /// NER emission scores `[B, T, K]` (zeros at padding).
    pub fn emissions(&self, enc: &Encoded, batch: &Batch) -> Tensor {
        batch.unpack(&self.ner.forward(&enc.ner))
    }

    /// Relation logits for every ordered pair of the given entities of each sentence (batch
    /// order). Returns `[Q, R]` with pairs in sentence order, then (head, tail) order.
    pub fn relation_logits(&self, enc: &Encoded, entities: &[Vec<EntityEnd>], train: bool) -> Option<Tensor> {
        let ends: Vec<&EntityEnd> = entities.iter().flatten().collect();
        let (mut heads, mut tails) = (Vec::new(), Vec::new());
        let mut base = 0;
        for ents in entities {
            ordered_pairs(ents.len(), base, &mut heads, &mut tails);
            base += ents.len();
        }
        if heads.is_empty() {
            return None;
        }
        let device = enc.re.device();
        let packed = Tensor::from_slice(&ends.iter().map(|e| e.packed).collect::<Vec<_>>()).to(device);
        let tags = Tensor::from_slice(&ends.iter().map(|e| e.tag).collect::<Vec<_>>()).to(device);
        let g = self
            .re
            .entity_vectors(&enc.re.index_select(0, &packed), &tags, train);
        Some(self.re.forward(
            &g,
            &Tensor::from_slice(&heads).to(device),
            &Tensor::from_slice(&tails).to(device),
        ))
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
            total: &ner + &re * self.re_weight,
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
    let mut rows = Vec::new();
    for (ents, rels) in entities.iter().zip(relations) {
        let n = ents.len();
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let mut row = vec![0f32; r];
                for &(h, t, k) in rels {
                    if h == i && t == j {
                        row[k as usize] = 1.0;
                    }
                }
                rows.extend(row);
            }
        }
    }
    let q = (rows.len() / r.max(1)) as i64;
    Tensor::from_slice(&rows).view([q, num_relations])
}
