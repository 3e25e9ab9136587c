//! The training loop: shuffled mini-batches, clipped gradients, evaluation on dev after every
//! epoch, early stopping with patience on the mean of strict NER and RE F1, best weights kept
//! (and saved when an output folder is given).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::average::WeightAverage;
use super::optim::{warmup_then_decay, Optimizer};
use super::threshold::{choose_on_dev, ThresholdChoice};
use super::trainer::Event;
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::split::SplitRng;
use crate::corpus::{Schema, Sentence};
use crate::embed::{BatchInput, Vocabulary};
use crate::eval::{evaluate, EvalError, Report};
use crate::model::config::InvalidConfig;
use crate::model::config::Optimizer as OptimizerKind;
use crate::model::predict::PredictError;
use crate::model::predict::ENCODER;
use crate::model::{Model, ModelConfig, ModelError, Predictor};
use crate::pretrained::inputs::FineTune;
use crate::pretrained::PretrainedError;

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
    /// Most threads this run may use: its share when several run in one process (`cv
    /// --jobs`); None lets it use the process's thread policy.
    pub threads: Option<usize>,
    /// Choose θr on dev after training (the configuration's θr is kept when off).
    pub choose_threshold: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 50,
            patience: 5,
            clip_norm: 5.0,
            seed: 42,
            device: Device::Cpu,
            threads: None,
            choose_threshold: true,
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

/// Overlapping entities removed (the shorter span, paper §4) from each part of a run's data:
/// the trainer counts train and dev, a protocol that scores a test set adds its count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OverlapsRemoved {
    pub train: usize,
    pub dev: usize,
    /// None when the run scored no test set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<usize>,
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
    pub removed_overlaps: OverlapsRemoved,
    /// θr as chosen on dev after training (None when not chosen: no dev relations, or
    /// `TrainOptions::choose_threshold` off).
    pub threshold: Option<ThresholdChoice>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cancelled")]
    Cancelled,
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("the training set is empty")]
    EmptyTrainingSet,
    #[error("model configuration: {0}")]
    Config(#[from] InvalidConfig),
    #[error("sentence {index} has no tokens")]
    EmptySentence { index: usize },
    #[error("training {0}")]
    Batch(#[source] PredictError),
    #[error("dev {0}")]
    Dev(#[source] PredictError),
    #[error(transparent)]
    Pretrained(#[from] PretrainedError),
    #[error(transparent)]
    Eval(#[from] EvalError),
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

/// Predicts `dev` (with one model or several together) and scores it against its gold
/// annotations.
pub fn evaluate_model(model: &impl Predictor, dev: &[Sentence]) -> Result<Report, TrainError> {
    let tokens: Vec<&[String]> = dev.iter().map(|s| s.tokens.as_slice()).collect();
    let preds = model.predict_tokens(&tokens).map_err(TrainError::Dev)?;
    let predicted: Vec<Sentence> = preds.iter().zip(dev).map(|(p, s)| p.to_sentence(s)).collect();
    Ok(evaluate(dev, &predicted)?)
}

/// Trains to the end, `cancelled` being asked between steps and `emit` told of progress.
pub fn train(
    job: TrainJob,
    cancelled: &mut dyn FnMut() -> bool,
    emit: &mut dyn FnMut(Event),
) -> Result<TrainOutcome, TrainError> {
    match job.options.threads {
        Some(share) => crate::threads::with_threads(share, || train_all(job, cancelled, emit)),
        None => train_all(job, cancelled, emit),
    }
}

fn train_all(
    mut job: TrainJob,
    cancelled: &mut dyn FnMut() -> bool,
    emit: &mut dyn FnMut(Event),
) -> Result<TrainOutcome, TrainError> {
    let started = Instant::now();
    check_job(&job)?;
    // BIO tags cannot hold overlapping entities: keep the longer span (paper §4). Dev too, so
    // that it is scored against annotations the model can produce.
    let removed = OverlapsRemoved {
        train: remove_overlaps_all(&mut job.train).entities,
        dev: remove_overlaps_all(&mut job.dev).entities,
        test: None,
    };
    let model = prepare_model(&mut job)?;
    warm_features(&model, &job, cancelled, emit)?;
    let opts = job.options.clone();
    let steps_per_epoch = job.train.len().div_ceil(model.config.batch_size.max(1));
    emit(Event::Started {
        device: format!("{:?}", opts.device),
        epochs: opts.epochs,
        steps_per_epoch,
        train_sentences: job.train.len(),
        dev_sentences: job.dev.len(),
        parameters: model.num_trainable_parameters(),
        removed_overlaps: removed,
    });
    let step_threads = crate::threads::ThreadPolicy::detect()
        .map_or(crate::threads::current(), |p| {
            p.for_training(model.config.batch_size)
        })
        .min(opts.threads.unwrap_or(usize::MAX));
    let _held = crate::threads::hold(step_threads);
    let (opt, encoder_opt) = optimizers(&model);
    let average = model
        .config
        .average_epochs
        .map(|e| WeightAverage::new(&model.vs, e * steps_per_epoch as f64));
    let mut run = Run {
        opt,
        encoder_opt,
        average,
        steps: (0, opts.epochs * steps_per_epoch),
        step_threads,
        model,
        job: &job,
        cancelled,
        emit,
    };
    let (history, stopping) = crate::model::random::with_stream(opts.seed, || run.epochs())?;
    let mut average = run.average.take();
    let mut model = run.model;
    if let Some(c) = model.features.as_ref().and_then(|f| f.contextual.as_ref()) {
        c.encoder.forget_frozen_states();
    }
    let (best_score, best_epoch, mut dev_report) = match stopping.best {
        Some(best) => {
            restore(&model, &best.weights);
            (Some(best.score), best.epoch, Some(best.report))
        }
        None => {
            if let Some(a) = average.as_mut() {
                a.keep_averaged();
            }
            (None, history.len(), None)
        }
    };
    model.round_to_stored_precision();
    let mut threshold = None;
    if opts.choose_threshold && !job.dev.is_empty() {
        if let Some((choice, report)) = choose_on_dev(&mut model, &job.dev)? {
            dev_report = Some(report);
            threshold = Some(choice);
        }
    }
    let moved = threshold.as_ref().is_some_and(|c| c.threshold != c.previous);
    // The best checkpoint was saved as it improved; saved again when θr moved, or at the end
    // when there was no dev set to choose a best epoch.
    if let Some(dir) = job.out.as_ref().filter(|_| best_score.is_none() || moved) {
        model.save(dir)?;
    }
    Ok(TrainOutcome {
        model,
        threshold,
        best_epoch,
        best_score,
        dev_report,
        history,
        seconds: started.elapsed().as_secs_f64(),
        stopped_early: stopping.stopped,
        removed_overlaps: removed,
    })
}

fn check_job(job: &TrainJob) -> Result<(), TrainError> {
    job.config.validate()?;
    if job.train.is_empty() {
        return Err(TrainError::EmptyTrainingSet);
    }
    match job.train.iter().chain(&job.dev).position(|s| s.tokens.is_empty()) {
        Some(i) => Err(TrainError::EmptySentence { index: i + 1 }),
        None => Ok(()),
    }
}

/// The model to train: the one to continue (its labels checked), or a fresh one seeded with the
/// job's seed, with its pre-trained inputs attached.
fn prepare_model(job: &mut TrainJob) -> Result<Model, TrainError> {
    let opts = &job.options;
    let schema = Schema::infer(job.train.iter().chain(&job.dev));
    let mut model = match job.init.take() {
        Some(mut m) => {
            m.check_labels(&schema)?;
            m.vs.set_device(opts.device);
            m.config.learning_rate = job.config.learning_rate;
            m
        }
        None => {
            let min_count = job.config.inputs.word.as_ref().map_or(1, |w| w.min_count);
            let vocab = Vocabulary::build(&job.train, &schema, min_count);
            crate::model::random::seeded(opts.seed, || Model::new(job.config.clone(), vocab, opts.device))
        }
    };
    model.attach_inputs()?;
    model.record_training_precision();
    // A continued model whose earlier training was not recorded stays unrecorded: a partial
    // record would call sentences it learned unseen.
    if let Some(t) = model.trained_on.as_mut() {
        t.add(&job.train);
    }
    Ok(model)
}

/// The encoder is frozen: its features are computed once here and cached, so epochs (and
/// later runs, folds, trials) only read them.
fn warm_features(
    model: &Model,
    job: &TrainJob,
    cancelled: &mut dyn FnMut() -> bool,
    emit: &mut dyn FnMut(Event),
) -> Result<(), TrainError> {
    let Some(f) = model.features.as_ref().filter(|f| f.caches()) else {
        return Ok(());
    };
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
    })?;
    if stop || cancelled() {
        return Err(TrainError::Cancelled);
    }
    Ok(())
}

/// The best dev score so far, with the weights and report that gave it.
struct Best {
    score: f64,
    epoch: usize,
    weights: Snapshot,
    report: Report,
}

/// Early stopping on the dev score with patience.
#[derive(Default)]
struct Stopping {
    best: Option<Best>,
    /// Epochs since the last strict improvement.
    stale: usize,
    stopped: bool,
}

impl Stopping {
    /// Takes an epoch's dev score; true when its weights are the new best. A tie keeps the
    /// later weights (they have seen more training), but only a strict improvement resets the
    /// patience.
    fn observe(&mut self, score: f64, epoch: usize, model: &Model, report: Report) -> bool {
        let improved = self.best.as_ref().is_none_or(|b| score > b.score);
        let tied = self.best.as_ref().is_some_and(|b| score == b.score);
        self.stale = if improved { 0 } else { self.stale + 1 };
        if improved || tied {
            self.best = Some(Best {
                score,
                epoch,
                weights: snapshot(model),
                report,
            });
        }
        improved || tied
    }
}

/// Mean losses of an epoch's steps.
#[derive(Default)]
struct Losses {
    total: f64,
    ner: f64,
    re: f64,
}

/// The training loop's state, shared by its phases.
/// The model's optimizer (the paper's), and a fine-tuned encoder's own, with the encoder's
/// peak learning rate, warm-up share and schedule.
fn optimizers(model: &Model) -> (Optimizer, Option<(Optimizer, FineTune)>) {
    let cfg = &model.config;
    let tune = cfg.inputs.contextual.as_ref().and_then(|c| c.fine_tune.clone());
    match tune.filter(|_| model.tuned_encoder().is_some()) {
        None => (Optimizer::new(&model.vs, cfg.optimizer, cfg.learning_rate), None),
        Some(t) => {
            let prefix = format!("{ENCODER}.");
            let rest = Optimizer::for_part(&model.vs, &prefix, false, cfg.optimizer, cfg.learning_rate);
            // Adam for the encoder, as BERT is fine-tuned; its rate set by the schedule.
            let encoder = Optimizer::for_part(&model.vs, &prefix, true, OptimizerKind::Adam, 0.0);
            (rest, Some((encoder, t)))
        }
    }
}

struct Run<'a> {
    model: Model,
    opt: Optimizer,
    encoder_opt: Option<(Optimizer, FineTune)>,
    /// The weights' moving average, when the configuration asks for one.
    average: Option<WeightAverage>,
    /// Steps taken so far and in all (the encoder's learning-rate schedule needs both).
    steps: (usize, usize),
    /// Threads for the training steps (`ThreadPolicy::for_training`); dev evaluation keeps
    /// the process's count.
    step_threads: usize,
    job: &'a TrainJob,
    cancelled: &'a mut dyn FnMut() -> bool,
    emit: &'a mut dyn FnMut(Event),
}

impl Run<'_> {
    fn epochs(&mut self) -> Result<(Vec<EpochRecord>, Stopping), TrainError> {
        let opts = self.job.options.clone();
        let mut rng = SplitRng::new(opts.seed);
        let mut order: Vec<usize> = (0..self.job.train.len()).collect();
        let mut history = Vec::new();
        let mut stopping = Stopping::default();
        for epoch in 1..=opts.epochs {
            let started = Instant::now();
            (self.emit)(Event::EpochStarted {
                epoch,
                epochs: opts.epochs,
            });
            rng.shuffle(&mut order);
            let threads = self.step_threads;
            let losses = crate::threads::with_threads(threads, || self.epoch(epoch, &order))?;
            let mut record = EpochRecord {
                epoch,
                loss: losses.total,
                ner_loss: losses.ner,
                re_loss: losses.re,
                dev_ner_f1: None,
                dev_re_f1: None,
                dev_score: None,
                seconds: 0.0,
            };
            if !self.job.dev.is_empty() {
                self.evaluate(epoch, &mut record, &mut stopping)?;
            }
            record.seconds = started.elapsed().as_secs_f64();
            history.push(record.clone());
            (self.emit)(Event::EpochFinished(record));
            if !self.job.dev.is_empty() && stopping.stale >= opts.patience {
                // Patience running out at the last epoch skipped nothing: not "stopped early".
                stopping.stopped = epoch < opts.epochs;
                break;
            }
        }
        Ok((history, stopping))
    }

    fn epoch(&mut self, epoch: usize, order: &[usize]) -> Result<Losses, TrainError> {
        let batch_size = self.model.config.batch_size.max(1);
        let steps = order.len().div_ceil(batch_size);
        let mut sum = Losses::default();
        for (step, chunk) in order.chunks(batch_size).enumerate() {
            if (self.cancelled)() {
                return Err(TrainError::Cancelled);
            }
            let [total, ner, re] = self.step(chunk).map_err(|e| e.at(epoch, step + 1))?;
            sum.total += total;
            sum.ner += ner;
            sum.re += re;
            (self.emit)(Event::Step {
                epoch,
                step: step + 1,
                steps,
                loss: total,
                ner_loss: ner,
                re_loss: re,
            });
        }
        let n = steps as f64;
        Ok(Losses {
            total: sum.total / n,
            ner: sum.ner / n,
            re: sum.re / n,
        })
    }

    /// One optimizer step on the sentences `chunk`; returns the total, NER and RE losses.
    fn step(&mut self, chunk: &[usize]) -> Result<[f64; 3], StepError> {
        let inputs: Vec<BatchInput> = chunk
            .iter()
            .map(|&i| BatchInput::from(&self.job.train[i]))
            .collect();
        let batch = self.model.training_batch(&inputs).map_err(StepError::Batch)?;
        self.opt.zero_grad();
        if let Some((e, _)) = self.encoder_opt.as_mut() {
            e.zero_grad();
        }
        let loss = self.model.net.loss(&batch, true);
        loss.total.backward();
        let clip = self.job.options.clip_norm;
        let mut norm = self.opt.clip_grad_norm(clip);
        self.opt.step();
        self.steps.0 += 1;
        if let Some((e, tune)) = self.encoder_opt.as_mut() {
            // Summed, so that either part's norm going bad is seen below.
            norm += e.clip_grad_norm(clip);
            let (done, total) = self.steps;
            e.set_lr(warmup_then_decay(done, total, tune.warmup, tune.learning_rate));
            e.step();
        }
        if let Some(a) = self.average.as_mut() {
            a.update();
        }
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
        let values =
            Vec::<f64>::try_from(read.to_kind(Kind::Double).to_device(Device::Cpu)).expect("four scalars");
        let [value, ner, re, norm] = <[f64; 4]>::try_from(values).expect("four scalars");
        if !value.is_finite() || value > 1e7 {
            return Err(StepError::Loss {
                value,
                learning_rate: self.opt.learning_rate(),
            });
        }
        if !norm.is_finite() {
            return Err(StepError::Norm(norm));
        }
        Ok([value, ner, re])
    }

    fn evaluate(
        &mut self,
        epoch: usize,
        record: &mut EpochRecord,
        stopping: &mut Stopping,
    ) -> Result<(), TrainError> {
        let (model, job) = (&self.model, self.job);
        let judged = match self.average.as_mut() {
            Some(a) => a.with_averaged(|| judge(model, job, epoch, stopping)),
            None => judge(model, job, epoch, stopping),
        }?;
        record.dev_ner_f1 = Some(judged.ner_f1);
        record.dev_re_f1 = Some(judged.re_f1);
        record.dev_score = Some(judged.score);
        (self.emit)(Event::DevEvaluated {
            epoch,
            ner_f1: judged.ner_f1,
            re_f1: judged.re_f1,
            score: judged.score,
        });
        if judged.best {
            (self.emit)(Event::NewBest {
                epoch,
                score: judged.score,
                saved_to: self.job.out.clone(),
            });
        }
        Ok(())
    }
}

/// An epoch's dev figures, and whether its weights are the best so far.
struct Judged {
    ner_f1: f64,
    re_f1: f64,
    score: f64,
    best: bool,
}

/// Scores the model's weights as they are on dev; keeps them (and saves them) when they are
/// the best so far.
fn judge(model: &Model, job: &TrainJob, epoch: usize, stopping: &mut Stopping) -> Result<Judged, TrainError> {
    let report = evaluate_model(model, &job.dev)?;
    let (ner_f1, re_f1, score) = (report.ner.micro.f1, report.re.micro.f1, report.score());
    let best = stopping.observe(score, epoch, model, report);
    if best {
        if let Some(dir) = &job.out {
            model.save(dir)?;
        }
    }
    Ok(Judged {
        ner_f1,
        re_f1,
        score,
        best,
    })
}

/// What can go wrong in one step, before the epoch and step are known to it.
enum StepError {
    Batch(PredictError),
    Loss { value: f64, learning_rate: f64 },
    Norm(f64),
}

impl StepError {
    fn at(self, epoch: usize, step: usize) -> TrainError {
        match self {
            StepError::Batch(e) => TrainError::Batch(e),
            StepError::Loss { value, learning_rate } => TrainError::Diverged(format!(
                "the loss became {value} at epoch {epoch}, step {step}; try a lower learning rate (now {learning_rate})"
            )),
            StepError::Norm(norm) => {
                TrainError::Diverged(format!("the gradient norm became {norm} at epoch {epoch}, step {step}"))
            }
        }
    }
}
