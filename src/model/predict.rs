//! A model with its vocabulary and weights, and the prediction API: tokens in, entity spans
//! with scores and relations with probabilities out.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tch::{nn, Device};

use super::config::ModelConfig;
use super::joint::JointModel;
use crate::corpus::bio::Tag;
use crate::corpus::{Entity, Provenance, Relation, Sentence};
use crate::embed::batch::BatchError;
use crate::embed::{Batch, BatchInput, Vocabulary};
use crate::pretrained::{Caching, Encoder, Featurizer, PretrainedError};

/// The folder of a fine-tuned model that holds its encoder's configuration and tokenizer,
/// and the prefix of the encoder's weights among the model's.
pub const ENCODER: &str = "encoder";

/// Candidate relation pairs scored at once at inference (about 1 KB each on the device).
pub const PAIR_CHUNK: usize = 8192;

/// Why a model could not make a batch or predict.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error("pre-trained inputs: {0}")]
    Pretrained(#[from] PretrainedError),
    #[error("the model's pre-trained inputs are not loaded (Model::attach_inputs)")]
    InputsNotAttached,
}

pub struct Model {
    pub config: ModelConfig,
    pub vocab: Vocabulary,
    pub vs: nn::VarStore,
    pub net: JointModel,
    /// The frozen pre-trained inputs the configuration names (see `attach_inputs`).
    pub features: Option<Arc<Featurizer>>,
    /// The sentences it was trained on; None for a model saved before relarc kept them.
    pub trained_on: Option<super::trained_on::TrainedOn>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PredictedEntity {
    pub label: String,
    pub start: usize,
    pub end: usize,
    /// The smallest marginal probability of the predicted tag over the span's tokens.
    pub score: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PredictedRelation {
    pub label: String,
    /// Indices into `Prediction::entities`.
    pub head: usize,
    pub tail: usize,
    pub probability: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub tags: Vec<Tag>,
    pub entities: Vec<PredictedEntity>,
    /// Relations whose probability exceeds θr.
    pub relations: Vec<PredictedRelation>,
    /// Per token, the probability of its predicted tag.
    pub tag_probabilities: Vec<f32>,
}

impl Prediction {
    /// The prediction as annotations marked `predicted`, for a sentence with these tokens.
    pub fn to_annotations(&self) -> (Vec<Entity>, Vec<Relation>) {
        let entities = self
            .entities
            .iter()
            .map(|e| Entity {
                provenance: Provenance::Predicted,
                score: Some(e.score as f64),
                ..Entity::new(e.label.clone(), e.start, e.end)
            })
            .collect();
        let relations = self
            .relations
            .iter()
            .map(|r| Relation {
                provenance: Provenance::Predicted,
                score: Some(r.probability as f64),
                ..Relation::new(r.label.clone(), r.head, r.tail)
            })
            .collect();
        (entities, relations)
    }

    /// A copy of `sentence` whose annotations are this prediction.
    pub fn to_sentence(&self, sentence: &Sentence) -> Sentence {
        let (entities, relations) = self.to_annotations();
        Sentence {
            entities,
            relations,
            ..sentence.clone()
        }
    }
}

impl Model {
    /// A freshly initialised model for this configuration and vocabulary. Its weights are
    /// drawn while no other run draws (`random::exclusive`); `random::seeded` around this
    /// makes them the seed's.
    pub fn new(config: ModelConfig, vocab: Vocabulary, device: Device) -> Model {
        let vs = nn::VarStore::new(device);
        let net = super::random::exclusive(|| JointModel::new(&vs.root(), &config, &vocab));
        Model {
            config,
            vocab,
            vs,
            net,
            features: None,
            trained_on: Some(Default::default()),
        }
    }

    /// Loads the pre-trained inputs the configuration names (once per process; later models
    /// share them). Needed before batches can be made for such a model. An encoder to
    /// fine-tune is the model's own: its weights become the model's variables.
    pub fn attach_inputs(&mut self) -> Result<(), PretrainedError> {
        self.attach_inputs_from(None)
    }

    /// `attach_inputs` for a model read from `saved`: a fine-tuned encoder is rebuilt from
    /// the folder's `encoder/` (configuration and tokenizer), its weights then read with the
    /// model's.
    pub fn attach_inputs_from(&mut self, saved: Option<&Path>) -> Result<(), PretrainedError> {
        let tuned = self.config.inputs.contextual.clone();
        let Some((c, tune)) = tuned.and_then(|c| c.fine_tune.clone().map(|t| (c, t))) else {
            self.features = Featurizer::for_inputs(&self.config.inputs, self.device())?;
            return Ok(());
        };
        if self.tuned_encoder().is_some() {
            // Its variables exist already (a model continued): never make them twice.
            return Ok(());
        }
        let p = self.vs.root() / ENCODER;
        let enc = match saved
            .map(|d| d.join(ENCODER))
            .filter(|d| d.join("config.json").exists())
        {
            Some(dir) => Encoder::skeleton(&dir, &p, tune.top_layers, tune.trained_in)?,
            None => Encoder::trainable(
                &crate::pretrained::resources::locate(&c.encoder)?,
                &p,
                tune.top_layers,
            )?,
        };
        enc.check_fits(&c)?;
        self.features = Some(Arc::new(Featurizer::tuned(&self.config.inputs, Arc::new(enc))?));
        Ok(())
    }

    /// Records in the configuration what a fine-tuned encoder multiplies in while it trains,
    /// so that the saved model predicts as its training report measured.
    pub fn record_training_precision(&mut self) {
        let Some(precision) = self.tuned_encoder().map(Encoder::precision) else {
            return;
        };
        let contextual = self.config.inputs.contextual.as_mut();
        if let Some(t) = contextual.and_then(|c| c.fine_tune.as_mut()) {
            t.trained_in = Some(precision);
        }
    }

    /// The encoder this model fine-tunes, when it does.
    pub fn tuned_encoder(&self) -> Option<&Encoder> {
        let c = self.features.as_ref()?.contextual.as_ref()?;
        c.encoder.is_tuned().then_some(&*c.encoder)
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    pub fn batch(&self, inputs: &[BatchInput]) -> Result<Batch, PredictError> {
        self.batch_with(inputs, Caching::Use, false)
    }

    /// A batch for a training step: a fine-tuned encoder runs with gradients and dropout.
    pub fn training_batch(&self, inputs: &[BatchInput]) -> Result<Batch, PredictError> {
        self.batch_with(inputs, Caching::Use, true)
    }

    pub(super) fn batch_with(
        &self,
        inputs: &[BatchInput],
        caching: Caching,
        train: bool,
    ) -> Result<Batch, PredictError> {
        let mut batch = Batch::new(&self.vocab, inputs, self.device())?;
        if self.config.inputs.needs_resources() {
            let features = self.features.as_ref().ok_or(PredictError::InputsNotAttached)?;
            let tokens: Vec<&[String]> = inputs.iter().map(|i| i.tokens).collect();
            features.fill_t(&mut batch, &tokens, caching, train)?;
        }
        Ok(batch)
    }

    /// Predicts for tokenized sentences, in batches of the configured size (at least 64).
    pub fn predict(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        self.predict_with(sentences, Caching::Use)
    }

    /// `predict` for text typed live: the encoder's features are computed and not cached
    /// (a new variant at nearly every keystroke; storing each would cost a disk write).
    pub fn predict_uncached(&self, sentences: &[&[String]]) -> Result<Vec<Prediction>, PredictError> {
        self.predict_with(sentences, Caching::Skip)
    }

    fn predict_with(
        &self,
        sentences: &[&[String]],
        caching: Caching,
    ) -> Result<Vec<Prediction>, PredictError> {
        let alone = super::ensemble::Voter::alone(self);
        super::ensemble::predict_sentences(&alone, self.config.re_threshold, sentences, caching)
    }

    /// Predictions for a prepared batch, in the batch's input order.
    pub fn predict_batch(&self, batch: &Batch) -> Vec<Prediction> {
        self.predict_batch_chunked(batch, PAIR_CHUNK)
    }

    /// `predict_batch` scoring `pair_chunk` candidate relation pairs at a time.
    pub fn predict_batch_chunked(&self, batch: &Batch, pair_chunk: usize) -> Vec<Prediction> {
        super::ensemble::predict_batches(
            &super::ensemble::Voter::alone(self),
            std::slice::from_ref(batch),
            self.config.re_threshold,
            pair_chunk,
        )
    }

    /// Trainable parameters, by part of the model (the first two levels of variable names).
    pub fn trainable_parameters(&self) -> BTreeMap<String, i64> {
        let mut parts = BTreeMap::new();
        for (name, t) in self.vs.variables() {
            if !t.requires_grad() {
                continue;
            }
            let part: Vec<&str> = name.split('.').take(2).collect();
            *parts.entry(part.join(".")).or_insert(0) += t.numel() as i64;
        }
        parts
    }

    pub fn num_trainable_parameters(&self) -> i64 {
        self.trainable_parameters().values().sum()
    }
}
