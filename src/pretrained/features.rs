//! The pre-trained parts of a model's input: frozen static vectors and a frozen encoder's
//! layer stack per word, looked up for the sentences of a batch and laid out in packed order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tch::{Device, Kind, Tensor};

use super::cache::{self, FeatureCache};
use super::encoder::{Encoder, Pooling, Precision};
use super::inputs::{ContextualInput, Inputs, WordInput};
use super::resources::{locate, PretrainedError};
use super::vectors::StaticVectors;
use crate::embed::Batch;

pub struct Contextual {
    pub encoder: Arc<Encoder>,
    pub pooling: Pooling,
    /// None for an encoder being fine-tuned: its features change with every step.
    pub cache: Option<Arc<FeatureCache>>,
}

pub struct Featurizer {
    pub vectors: Option<Arc<StaticVectors>>,
    pub contextual: Option<Contextual>,
}

/// Whether encoder features go through the cache (corpora, training) or are computed and
/// forgotten (text typed live: new at nearly every keystroke, so a cache entry would only
/// cost a disk write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    Use,
    Skip,
}

/// Loaded resources, shared by every model of the process (folds, trials, the app's models):
/// an encoder is read once, and its cache serves them all.
#[derive(Default)]
struct Registry {
    vectors: HashMap<PathBuf, Arc<StaticVectors>>,
    encoders: HashMap<(PathBuf, String), Arc<Encoder>>,
    caches: HashMap<String, Arc<FeatureCache>>,
}

impl Registry {
    /// Frozen word vectors, read once per file; their dimension checked against the input.
    fn vectors_for(&mut self, w: &WordInput) -> Result<Arc<StaticVectors>, PretrainedError> {
        let name = w.source.clone().unwrap_or_else(|| "glove-6b-50d".into());
        let path = locate(&name)?;
        let v = match self.vectors.get(&path) {
            Some(v) => v.clone(),
            None => {
                let v = Arc::new(StaticVectors::load(&path)?);
                self.vectors.insert(path.clone(), v.clone());
                v
            }
        };
        if v.dim != w.dim {
            return Err(PretrainedError::bad(
                &path,
                format!("vectors are {}-d, the model configuration says {}", v.dim, w.dim),
            ));
        }
        Ok(v)
    }

    /// An encoder, loaded once per folder and device, with the feature cache of its namespace.
    fn contextual_for(&mut self, c: &ContextualInput, device: Device) -> Result<Contextual, PretrainedError> {
        let path = locate(&c.encoder)?;
        let key = (path.clone(), format!("{device:?}"));
        let enc = match self.encoders.get(&key) {
            Some(e) => e.clone(),
            None => {
                let e = Arc::new(Encoder::load(&path, device)?);
                self.encoders.insert(key, e.clone());
                e
            }
        };
        enc.check_fits(c)?;
        let ns = namespace(&enc, c.pooling);
        let cache = self
            .caches
            .entry(ns.clone())
            .or_insert_with(|| Arc::new(FeatureCache::new(cache::default_dir(), &ns)))
            .clone();
        Ok(Contextual {
            encoder: enc,
            pooling: c.pooling,
            cache: Some(cache),
        })
    }
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// What identifies an encoder's features: its files (configuration, tokenizer, weight size),
/// the pooling, the window and the precision of its arithmetic. "Alone": each sentence runs
/// through the encoder by itself (see `Encoder::encode`); caches written before that depended
/// on the batches they were computed in, and are not read.
fn namespace(enc: &Encoder, pooling: Pooling) -> String {
    let precision = match enc.precision() {
        Precision::Float32 => String::new(),
        p => format!(", {}", p.name()),
    };
    format!(
        "{} {}, pooling {:?}, window {}{precision}, alone",
        enc.name,
        enc.files_identity(),
        pooling,
        enc.window()
    )
}

impl Featurizer {
    /// What `inputs` asks for, loaded once per process; `None` when it needs nothing
    /// pre-trained. Dimensions are checked against the configuration.
    pub fn for_inputs(inputs: &Inputs, device: Device) -> Result<Option<Arc<Featurizer>>, PretrainedError> {
        let frozen_words = inputs.word.as_ref().filter(|w| !w.trainable);
        if frozen_words.is_none() && inputs.contextual.is_none() {
            return Ok(None);
        }
        let mut reg = registry().lock().expect("registry lock");
        let vectors = frozen_words.map(|w| reg.vectors_for(w)).transpose()?;
        let contextual = inputs
            .contextual
            .as_ref()
            .map(|c| reg.contextual_for(c, device))
            .transpose()?;
        Ok(Some(Arc::new(Featurizer { vectors, contextual })))
    }

    /// The inputs of a model whose encoder it fine-tunes: the frozen word vectors shared as
    /// usual, the encoder its own (its weights live in the model).
    pub fn tuned(inputs: &Inputs, encoder: Arc<Encoder>) -> Result<Featurizer, PretrainedError> {
        let frozen_words = inputs.word.as_ref().filter(|w| !w.trainable);
        let vectors = frozen_words
            .map(|w| registry().lock().expect("registry lock").vectors_for(w))
            .transpose()?;
        let pooling = inputs.contextual.as_ref().map_or(Pooling::First, |c| c.pooling);
        Ok(Featurizer {
            vectors,
            contextual: Some(Contextual {
                encoder,
                pooling,
                cache: None,
            }),
        })
    }

    /// Whether its encoder's features are cached (and so worth computing ahead).
    pub fn caches(&self) -> bool {
        self.contextual.as_ref().is_some_and(|c| c.cache.is_some())
    }

    /// Per sentence `[words, L, D]` float16 CPU features, from the cache where present; the
    /// rest computed (longest first) and cached. `progress(done, total)` is told
    /// after each batch that runs the encoder.
    pub fn contextual_features(
        &self,
        sentences: &[&[String]],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Option<Tensor>>, PretrainedError> {
        self.contextual_features_with(sentences, Caching::Use, progress)
    }

    /// `contextual_features`, with the cache or without it.
    pub fn contextual_features_with(
        &self,
        sentences: &[&[String]],
        caching: Caching,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Option<Tensor>>, PretrainedError> {
        let Some(c) = &self.contextual else {
            return Ok(sentences.iter().map(|_| None).collect());
        };
        let Some(cache) = c.cache.as_ref().filter(|_| caching == Caching::Use) else {
            let feats = c.encoder.encode(sentences, c.pooling)?;
            // The same precision as cached features, so results do not depend on the cache.
            return Ok(feats.into_iter().map(|f| Some(f.to_kind(Kind::Half))).collect());
        };
        let keys: Vec<cache::Key> = sentences.iter().map(|s| FeatureCache::key(s)).collect();
        // Features whose word count is not the sentence's are never used (recomputed).
        let mut out: Vec<Option<Tensor>> = keys
            .iter()
            .zip(sentences)
            .map(|(k, s)| {
                cache
                    .get(k)
                    .filter(|t| t.size().first() == Some(&(s.len() as i64)))
            })
            .collect();
        let mut missing: Vec<usize> = (0..sentences.len()).filter(|&i| out[i].is_none()).collect();
        // The same sentence twice in one call is computed once.
        let mut first_of: HashMap<cache::Key, usize> = HashMap::new();
        missing.retain(|&i| first_of.insert(keys[i], i).is_none());
        encode_in_calls(
            &c.encoder,
            &[c.pooling],
            sentences,
            missing,
            progress,
            |i, _, f| {
                out[i] = Some(cache.put(keys[i], f));
            },
        )?;
        for i in 0..sentences.len() {
            if out[i].is_none() {
                out[i] = out[first_of[&keys[i]]].as_ref().map(|t| t.shallow_clone());
            }
        }
        Ok(out)
    }

    /// Computes and caches features for these sentences ahead of training.
    pub fn warm(
        &self,
        sentences: &[&[String]],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), PretrainedError> {
        Featurizer::warm_together(&[self], sentences, progress)
    }

    /// `warm` for several featurizers at once (the members of an ensemble): those whose cached
    /// features come from the same encoder (other poolings) share one encoder run per
    /// sentence, so two poolings cost about one. Each cache ends as its own `warm` leaves it.
    pub fn warm_together(
        featurizers: &[&Featurizer],
        sentences: &[&[String]],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), PretrainedError> {
        let cached: Vec<&Contextual> = featurizers
            .iter()
            .filter_map(|f| f.contextual.as_ref())
            .filter(|c| c.cache.is_some())
            .collect();
        let mut groups: Vec<Vec<&Contextual>> = Vec::new();
        for c in cached {
            match groups.iter_mut().find(|g| Arc::ptr_eq(&g[0].encoder, &c.encoder)) {
                Some(g) if !g.iter().any(|o| o.pooling == c.pooling) => g.push(c),
                Some(_) => {}
                None => groups.push(vec![c]),
            }
        }
        for group in groups {
            warm_group(&group, sentences, progress)?;
        }
        Ok(())
    }

    /// Sets `batch.static_vectors` and `batch.contextual` for the batch's sentences
    /// (`tokens[i]` is input `i` of the batch).
    pub fn fill(
        &self,
        batch: &mut Batch,
        tokens: &[&[String]],
        caching: Caching,
    ) -> Result<(), PretrainedError> {
        self.fill_t(batch, tokens, caching, false)
    }

    /// `fill`; a fine-tuned encoder runs with gradients (and dropout) when `train`, without
    /// them otherwise.
    pub fn fill_t(
        &self,
        batch: &mut Batch,
        tokens: &[&[String]],
        caching: Caching,
        train: bool,
    ) -> Result<(), PretrainedError> {
        // Packed position p holds token t of input order[k]; as a row of the sentences laid
        // end to end (input order) that is offset[order[k]] + t.
        let mut offset = Vec::with_capacity(tokens.len());
        let mut total = 0i64;
        for t in tokens {
            offset.push(total);
            total += t.len() as i64;
        }
        let mut rows = Vec::with_capacity(total as usize);
        for t in 0..batch.max_len as usize {
            for (k, &i) in batch.order.iter().enumerate() {
                if (batch.lengths[k] as usize) > t {
                    rows.push(offset[i] + t as i64);
                }
            }
        }
        let device = batch.device;
        if let Some(v) = &self.vectors {
            let flat = v.rows(tokens.iter().flat_map(|t| t.iter()));
            let packed: Vec<i64> = rows.iter().map(|&r| flat[r as usize]).collect();
            batch.static_vectors = Some(v.lookup(&packed, device));
        }
        if let Some(c) = &self.contextual {
            let feats = if c.encoder.is_tuned() {
                let run = || c.encoder.encode_tuned(tokens, c.pooling, train);
                if train {
                    run()?
                } else {
                    tch::no_grad(run)?
                }
            } else {
                self.contextual_features_with(tokens, caching, &mut |_, _| {})?
                    .into_iter()
                    .map(|f| f.expect("computed"))
                    .collect()
            };
            let all = Tensor::cat(&feats, 0);
            let rows = Tensor::from_slice(&rows).to_device(all.device());
            batch.contextual = Some(all.index_select(0, &rows).to_device(device).to_kind(Kind::Float));
        }
        Ok(())
    }
}

/// Features of `sentences` missing from any of `group`'s caches (one encoder, one pooling
/// each), computed with one encoder run per sentence and cached where missing.
fn warm_group(
    group: &[&Contextual],
    sentences: &[&[String]],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), PretrainedError> {
    let poolings: Vec<Pooling> = group.iter().map(|c| c.pooling).collect();
    let caches: Vec<&FeatureCache> = group.iter().filter_map(|c| c.cache.as_deref()).collect();
    let keys: Vec<cache::Key> = sentences.iter().map(|s| FeatureCache::key(s)).collect();
    let mut seen = std::collections::HashSet::new();
    // Per sentence, which caches lack it (None: computed for none, being there or a repeat).
    let mut lacks: Vec<Option<Vec<bool>>> = vec![None; sentences.len()];
    for (i, s) in sentences.iter().enumerate() {
        if !seen.insert(keys[i]) {
            continue;
        }
        let lacking: Vec<bool> = caches
            .iter()
            .map(|c| {
                c.get(&keys[i])
                    .filter(|t| t.size().first() == Some(&(s.len() as i64)))
                    .is_none()
            })
            .collect();
        if lacking.contains(&true) {
            lacks[i] = Some(lacking);
        }
    }
    let missing: Vec<usize> = (0..sentences.len()).filter(|&i| lacks[i].is_some()).collect();
    let encoder = &group[0].encoder;
    encode_in_calls(encoder, &poolings, sentences, missing, progress, |i, p, f| {
        if lacks[i].as_ref().is_some_and(|l| l[p]) {
            let _ = caches[p].put(keys[i], f);
        }
    })
}

/// Runs `encoder` over `sentences[i]` for each `i` of `todo`, longest first, in calls of a few
/// hundred (each sentence still runs alone) for `progress`, pooled each of `poolings` ways;
/// `store(i, pooling index, features)` takes each result.
fn encode_in_calls(
    encoder: &Encoder,
    poolings: &[Pooling],
    sentences: &[&[String]],
    mut todo: Vec<usize>,
    progress: &mut dyn FnMut(usize, usize),
    mut store: impl FnMut(usize, usize, &Tensor),
) -> Result<(), PretrainedError> {
    todo.sort_by_key(|&i| std::cmp::Reverse(sentences[i].len()));
    let (total, per_call) = (todo.len(), 256);
    for (done, chunk) in todo.chunks(per_call).enumerate() {
        let batch: Vec<&[String]> = chunk.iter().map(|&i| sentences[i]).collect();
        let pooled = encoder.encode_pooled(&batch, poolings)?;
        for (p, feats) in pooled.iter().enumerate() {
            for (&i, f) in chunk.iter().zip(feats) {
                store(i, p, f);
            }
        }
        progress((done * per_call + chunk.len()).min(total), total);
    }
    Ok(())
}
