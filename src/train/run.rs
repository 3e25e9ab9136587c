//! The training loop: shuffled mini-batches, clipped gradients, evaluation on dev after every
//! epoch, early stopping with patience on the mean of strict NER and RE F1, best weights kept
//! (and saved when an output folder is given).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::optim::Optimizer;
use super::trainer::Event;
use crate::corpus::overlap::{remove_overlaps_all, Removed};
use crate::corpus::split::SplitRng;
use crate::corpus::{Schema, Sentence};
use crate::embed::{BatchInput, Vocabulary};
use crate::eval::{evaluate, Report};
use crate::model::{Model, ModelConfig, ModelError};

#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Most epochs to run.
    pub epochs: usize,
    /// Stop after this many epochs without a better dev score.
    pub patience: usize,
    /// Largest global gradient norm.
    pub clip_norm: f64,
    pub seed: u64,
    pub device: Device,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 50,
            patience: 5,
            clip_norm: 5.0,
            seed: 42,
            device: Device::Cpu,
        }
    }
}

pub struct TrainJob {
    pub config: ModelConfig,
    pub options: TrainOptions,
    pub train: Vec<Sentence>,
    /// Early stopping follows this set; empty means train every epoch and keep the last.
    pub dev: Vec<Sentence>,
    /// Where to save the best model as it improves.
    pub out: Option<PathBuf>,
    /// Continue training this model instead of starting from scratch.
    pub init: Option<Model>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub loss: f64,
    pub ner_loss: f64,
    pub re_loss: f64,
    pub dev_ner_f1: Option<f64>,
    pub dev_re_f1: Option<f64>,
    pub dev_score: Option<f64>,
    pub seconds: f64,
}

pub struct TrainOutcome {
    /// The model with the best dev weights.
    pub model: Model,
    pub best_epoch: usize,
    pub best_score: Option<f64>,
    pub dev_report: Option<Report>,
    pub history: Vec<EpochRecord>,
    pub seconds: f64,
    pub stopped_early: bool,
    pub removed_overlaps: Removed,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cancelled")]
    Cancelled,
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

type Snapshot = HashMap<String, Tensor>;

fn snapshot(model: &Model) -> Snapshot {
    model
        .vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().copy()))
        .collect()
}

fn restore(model: &Model, snap: &Snapshot) {
    tch::no_grad(|| {
        for (name, mut var) in model.vs.variables() {
            var.copy_(&snap[&name]);
        }
    });
}

/// Predicts `dev` and scores it against its gold annotations.
pub fn evaluate_model(model: &Model, dev: &[Sentence]) -> Result<Report, TrainError> {
    let tokens: Vec<&[String]> = dev.iter().map(|s| s.tokens.as_slice()).collect();
    let preds = model
        .predict(&tokens)
        .map_err(|e| TrainError::Data(format!("dev {e}")))?;
    let predicted: Vec<Sentence> = preds.iter().zip(dev).map(|(p, s)| p.to_sentence(s)).collect();
    evaluate(dev, &predicted).map_err(TrainError::Data)
}

/// Trains to the end, `cancelled` being asked between steps and `emit` told of progress.
pub fn train(
    mut job: TrainJob,
    cancelled: &mut dyn FnMut() -> bool,
    emit: &mut dyn FnMut(Event),
) -> Result<TrainOutcome, TrainError> {
    let started = Instant::now();
    let opts = job.options.clone();
    if job.train.is_empty() {
        return Err(TrainError::Data("the training set is empty".into()));
    }
    if let Some(i) = job.train.iter().chain(&job.dev).position(|s| s.tokens.is_empty()) {
        return Err(TrainError::Data(format!("sentence {} has no tokens", i + 1)));
    }
    // BIO tags cannot hold overlapping entities: keep the longer span (paper §4).
    let removed = remove_overlaps_all(&mut job.train);
    let schema = Schema::infer(job.train.iter().chain(&job.dev));
    let mut model = match job.init.take() {
        Some(mut m) => {
            m.check_labels(&schema)?;
            m.vs.set_device(opts.device);
            m.config.learning_rate = job.config.learning_rate;
            m
        }
        None => {
            tch::manual_seed(opts.seed as i64);
            let min_count = job.config.inputs.word.as_ref().map_or(1, |w| w.min_count);
            let vocab = Vocabulary::build(&job.train, &schema, min_count);
            Model::new(job.config.clone(), vocab, opts.device)
        }
    };
    model
        .attach_inputs()
        .map_err(|e| TrainError::Data(e.to_string()))?;
    if let Some(f) = &model.features {
        // The encoder is frozen: its features are computed once here and cached, so epochs
        // (and later runs, folds, trials) only read them.
        let all: Vec<&[String]> = job
            .train
            .iter()
            .chain(&job.dev)
            .map(|s| s.tokens.as_slice())
            .collect();
        let mut stop = false;
        f.warm(&all, &mut |done, total| {
            stop = stop || cancelled();
            emit(Event::Preparing { done, total });
        })
        .map_err(|e| TrainError::Data(e.to_string()))?;
        if stop || cancelled() {
            return Err(TrainError::Cancelled);
        }
    }
    let batch_size = model.config.batch_size.max(1);
    let steps_per_epoch = job.train.len().div_ceil(batch_size);
    emit(Event::Started {
        device: format!("{:?}", opts.device),
        epochs: opts.epochs,
        steps_per_epoch,
        train_sentences: job.train.len(),
        dev_sentences: job.dev.len(),
        parameters: model.num_trainable_parameters(),
        removed_overlaps: removed.entities,
    });
    let mut opt = Optimizer::new(&model.vs, model.config.optimizer, model.config.learning_rate);
    let mut rng = SplitRng::new(opts.seed);
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Snapshot, Report)> = None;
    let mut stale = 0;
    let mut stopped_early = false;
    let mut order: Vec<usize> = (0..job.train.len()).collect();

    for epoch in 1..=opts.epochs {
        let epoch_start = Instant::now();
        emit(Event::EpochStarted {
            epoch,
            epochs: opts.epochs,
        });
        rng.shuffle(&mut order);
        let (mut sum, mut sum_ner, mut sum_re) = (0.0, 0.0, 0.0);
        for (step, chunk) in order.chunks(batch_size).enumerate() {
            if cancelled() {
                return Err(TrainError::Cancelled);
            }
            let inputs: Vec<BatchInput> = chunk.iter().map(|&i| BatchInput::from(&job.train[i])).collect();
            let batch = model
                .batch(&inputs)
                .map_err(|e| TrainError::Data(format!("training {e}")))?;
            opt.zero_grad();
            let loss = model.net.loss(&batch, true);
            loss.total.backward();
            let norm = opt.clip_grad_norm(opts.clip_norm);
            opt.step();
            // One read back to the host per step: the losses and the gradient norm together.
            let read = Tensor::stack(
                &[
                    loss.total.detach(),
                    loss.ner.detach(),
                    loss.re.detach(),
                    norm.to_kind(loss.total.kind()),
                ],
                0,
            );
            let [value, ner, re, norm] = <[f64; 4]>::try_from(
                Vec::<f64>::try_from(read.to_kind(Kind::Double).to_device(Device::Cpu))
                    .expect("four scalars"),
            )
            .expect("four scalars");
            if !value.is_finite() || value > 1e7 {
                return Err(TrainError::Diverged(format!(
                    "the loss became {value} at epoch {epoch}, step {}; try a lower learning rate (now {})",
                    step + 1,
                    opt.learning_rate()
                )));
            }
            if !norm.is_finite() {
                return Err(TrainError::Diverged(format!(
                    "the gradient norm became {norm} at epoch {epoch}, step {}",
                    step + 1
                )));
            }
            sum += value;
            sum_ner += ner;
            sum_re += re;
            emit(Event::Step {
                epoch,
                step: step + 1,
                steps: steps_per_epoch,
                loss: value,
                ner_loss: ner,
                re_loss: re,
            });
        }
        let n = steps_per_epoch as f64;
        let mut record = EpochRecord {
            epoch,
            loss: sum / n,
            ner_loss: sum_ner / n,
            re_loss: sum_re / n,
            dev_ner_f1: None,
            dev_re_f1: None,
            dev_score: None,
            seconds: 0.0,
        };
        if !job.dev.is_empty() {
            let report = evaluate_model(&model, &job.dev)?;
            let score = report.score();
            record.dev_ner_f1 = Some(report.ner.micro.f1);
            record.dev_re_f1 = Some(report.re.micro.f1);
            record.dev_score = Some(score);
            emit(Event::DevEvaluated {
                epoch,
                ner_f1: report.ner.micro.f1,
                re_f1: report.re.micro.f1,
                score,
            });
            // A tie keeps the later weights (they have seen more training), but only a strict
            // improvement resets the patience.
            let improved = best.as_ref().is_none_or(|b| score > b.0);
            if improved || best.as_ref().is_some_and(|b| score == b.0) {
                best = Some((score, epoch, snapshot(&model), report));
                if improved {
                    stale = 0;
                } else {
                    stale += 1;
                }
                if let Some(dir) = &job.out {
                    model.save(dir)?;
                }
                emit(Event::NewBest {
                    epoch,
                    score,
                    saved_to: job.out.clone(),
                });
            } else {
                stale += 1;
            }
        }
        record.seconds = epoch_start.elapsed().as_secs_f64();
        history.push(record.clone());
        emit(Event::EpochFinished(record));
        if !job.dev.is_empty() && stale >= opts.patience {
            stopped_early = true;
            break;
        }
    }

    let (best_score, best_epoch, dev_report) = match best {
        Some((score, epoch, snap, report)) => {
            restore(&model, &snap);
            (Some(score), epoch, Some(report))
        }
        None => {
            if let Some(dir) = &job.out {
                model.save(dir)?;
            }
            (None, history.len(), None)
        }
    };
    Ok(TrainOutcome {
        model,
        best_epoch,
        best_score,
        dev_report,
        history,
        seconds: started.elapsed().as_secs_f64(),
        stopped_early,
        removed_overlaps: removed,
    })
}
