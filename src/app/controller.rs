//! The model side of the app without egui: it owns the model worker and the trainer thread,
//! starts training from a snapshot of the corpus, follows its progress and curves, predicts
//! the corpus and live text, and writes what happened to the app's status. Tested like
//! `AppState`; the panel (`panels::model`) only draws it and sends commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tch::Device;

use super::command::ViewMode;
use super::state::AppState;
use super::status::Status;
use super::worker::{Reply, Request, Tag, Worker};
use crate::corpus::{split, Corpus, Sentence};
use crate::model::{Model, ModelConfig};
use crate::text::split_sentences;
use crate::train::report::{DataFile, RunReport};
use crate::train::{Event, TrainJob, TrainOptions, TrainOutcome, Trainer};

/// What the Train button trains with.
#[derive(Clone, Debug)]
pub struct TrainSettings {
    pub preset: String,
    /// Replaces the preset's configuration (tests use small ones).
    pub config_override: Option<ModelConfig>,
    pub dev_fraction: f64,
    /// A dev file to stop on, instead of a fraction of the corpus.
    pub dev_file: Option<PathBuf>,
    pub epochs: usize,
    pub patience: usize,
    pub seed: u64,
    pub continue_training: bool,
    /// The user picked the preset: it no longer follows the corpus's types.
    pub preset_chosen: bool,
}

impl Default for TrainSettings {
    fn default() -> TrainSettings {
        TrainSettings {
            preset: default_preset().into(),
            config_override: None,
            dev_fraction: 0.1,
            dev_file: None,
            epochs: 20,
            patience: 5,
            seed: 42,
            continue_training: false,
            preset_chosen: false,
        }
    }
}

/// The preset whose dataset's entity types the corpus shares most (Table 1 has a column per
/// dataset; CoNLL04's when none is shared), with pre-trained inputs when they are fetched.
pub fn preset_for(entity_types: &[String]) -> String {
    const ADE: [&str; 2] = ["Adverse-Effect", "Drug"];
    const CONLL04: [&str; 4] = ["Loc", "Org", "Other", "Peop"];
    let shared = |of: &[&str]| entity_types.iter().filter(|t| of.contains(&t.as_str())).count();
    let family = if shared(&ADE) > shared(&CONLL04) {
        "ade"
    } else {
        "conll04"
    };
    default_preset().replacen("conll04", family, 1)
}

/// The paper's preset with pre-trained inputs when they are fetched, else the one that needs
/// no files, so training works either way. Looked up once: the model panel asks every frame.
fn default_preset() -> &'static str {
    static PRESET: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    PRESET.get_or_init(|| {
        let present = ModelConfig::preset("conll04").is_some_and(|c| {
            c.inputs
                .resource_names()
                .into_iter()
                .all(|n| crate::pretrained::resources::locate(n).is_ok())
        });
        if present {
            "conll04"
        } else {
            "conll04-learned"
        }
    })
}

/// Loss by fractional epoch, dev F1 by epoch.
#[derive(Default)]
pub struct Curves {
    pub loss: Vec<[f64; 2]>,
    pub dev_ner: Vec<[f64; 2]>,
    pub dev_re: Vec<[f64; 2]>,
}

/// Where a training run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps: usize,
}

/// A training run in progress.
pub struct TrainingRun {
    pub progress: Option<Progress>,
    started: Instant,
    steps_done: usize,
    steps_total: usize,
}

impl TrainingRun {
    /// Done so far, in [0, 1].
    pub fn fraction(&self) -> f32 {
        if self.steps_total == 0 {
            return 0.0;
        }
        self.steps_done as f32 / self.steps_total as f32
    }

    /// Seconds left at the pace so far (an upper bound: early stopping may end sooner).
    pub fn seconds_left(&self) -> Option<f64> {
        (self.steps_done > 0).then(|| {
            let per = self.started.elapsed().as_secs_f64() / self.steps_done as f64;
            per * self.steps_total.saturating_sub(self.steps_done) as f64
        })
    }
}

/// Text typed for live extraction, split into sentences, and their latest predictions.
#[derive(Default)]
pub struct Live {
    pub text: String,
    /// The number of the latest request: older replies are dropped.
    sent: u64,
    /// The latest request's sentences, filled as replies come in.
    pending: Vec<Option<Sentence>>,
    tokens: Vec<Vec<String>>,
    /// The predicted sentences of the latest text whose replies are all in.
    pub sentences: Vec<Sentence>,
}

/// Why training could not start.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown preset {0}")]
    UnknownPreset(String),
    #[error("cannot read the dev file: {0}")]
    DevFile(#[source] crate::corpus::CorpusError),
    #[error("cannot continue: {0}")]
    Continue(#[source] crate::model::ModelError),
}

pub struct ModelController {
    worker: Worker,
    trainer: Trainer,
    pub settings: TrainSettings,
    /// A description of the model the worker holds.
    pub model_info: Option<String>,
    /// Folder of the current model on disk (loaded from, or where training saved it).
    pub model_dir: Option<PathBuf>,
    /// Its entity types, read from its folder (to tell whether it fits the corpus).
    pub model_types: Option<Vec<String>>,
    pub training: Option<TrainingRun>,
    pub curves: Curves,
    pub events_seen: usize,
    pub last_outcome: Option<String>,
    /// Sentences predicted of the corpus so far, while it is predicted.
    pub predicting: Option<(usize, usize)>,
    /// A model is being loaded (from `model_dir`).
    pub loading: bool,
    /// The corpus's train/dev split of the last training no longer describes the model.
    forget_split: bool,
    /// What the status bar says before "predicted N sentences" when the corpus prediction
    /// ends (the training summary, after training).
    predicted_prefix: String,
    pub live: Live,
    pub device: String,
    /// What the report of the training under way records: its folder, options and data.
    report_for: Option<PendingReport>,
}

/// The parts of a training's `report.json` known when it starts.
struct PendingReport {
    out: PathBuf,
    options: TrainOptions,
    data: Vec<DataFile>,
}

impl ModelController {
    /// Starts the worker and trainer threads; `notify` asks the UI to redraw.
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> ModelController {
        let n2 = notify.clone();
        ModelController {
            worker: Worker::spawn(notify),
            trainer: Trainer::spawn(Some(Box::new(move || n2()))),
            settings: TrainSettings::default(),
            model_info: None,
            model_dir: None,
            model_types: None,
            training: None,
            curves: Curves::default(),
            events_seen: 0,
            last_outcome: None,
            predicting: None,
            loading: false,
            forget_split: false,
            predicted_prefix: String::new(),
            live: Live::default(),
            device: format!("{:?}", Device::cuda_if_available()),
            report_for: None,
        }
    }

    /// When the model's entity types share none with the corpus's: both lists.
    pub fn type_mismatch(&self, corpus_types: &[String]) -> Option<(Vec<String>, Vec<String>)> {
        let model = self.model_types.as_ref()?;
        let shared = model.iter().any(|t| corpus_types.contains(t));
        (!shared && !corpus_types.is_empty()).then(|| (model.clone(), corpus_types.to_vec()))
    }

    pub fn is_training(&self) -> bool {
        self.training.is_some()
    }

    pub fn progress(&self) -> Option<Progress> {
        self.training.as_ref().and_then(|t| t.progress)
    }

    pub fn load(&mut self, dir: PathBuf) {
        self.model_types = crate::model::shipped::entity_types(&dir);
        self.model_dir = Some(dir.clone());
        self.loading = true;
        self.forget_split = true;
        // The last training's summary and curves were another model's.
        self.last_outcome = None;
        self.curves = Curves::default();
        self.worker.send(Request::Load(dir));
    }

    pub fn save(&mut self, dir: PathBuf) {
        self.worker.send(Request::Save {
            to: dir,
            report_from: self.model_dir.clone(),
        });
    }

    pub fn predict_corpus(&mut self, state: &mut AppState) {
        let total = state.corpus.sentences.len();
        state.status = Some(Status::info(format!(
            "{}predicting the corpus ({total} sentences)",
            self.predicted_prefix
        )));
        let items: Vec<(usize, Vec<String>)> = state
            .corpus
            .sentences
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.tokens.clone()))
            .collect();
        self.predicting = Some((0, items.len()));
        self.worker.send(Request::Predict {
            tag: Tag::Corpus,
            items,
        });
    }

    /// Starts training on a snapshot of the corpus: editing while it runs is safe.
    pub fn start_training(&mut self, state: &mut AppState, models_dir: &Path) {
        if self.is_training() {
            return;
        }
        let job = match self.training_job(state, models_dir) {
            Ok(job) => job,
            Err(why) => {
                state.status = Some(Status::error(why.to_string()));
                return;
            }
        };
        self.model_dir = job.out.clone();
        self.model_types = job.out.as_deref().and_then(crate::model::shipped::entity_types);
        self.report_for = job.out.clone().map(|out| PendingReport {
            out,
            options: job.options.clone(),
            data: training_data(state, &job, self.settings.dev_file.as_deref()),
        });
        let n = state.corpus.sentences.len();
        state.trained_split = Some(match &self.settings.dev_file {
            Some(_) => vec![false; n],
            None => split::holdout_mask(n, self.settings.dev_fraction, self.settings.seed),
        });
        self.curves = Curves::default();
        self.last_outcome = None;
        self.training = Some(TrainingRun {
            progress: None,
            started: Instant::now(),
            steps_done: 0,
            steps_total: 0,
        });
        self.trainer.start(job);
        state.status = Some(Status::info("training started"));
    }

    fn training_job(&self, state: &AppState, models_dir: &Path) -> Result<TrainJob, String> {
        let s = &self.settings;
        let config = s
            .config_override
            .clone()
            .or_else(|| ModelConfig::preset(&s.preset))
            .ok_or_else(|| format!("unknown preset {}", s.preset))?;
        let (dev, train) = match &s.dev_file {
            Some(path) => {
                let dev = Corpus::load(path).map_err(|e| format!("cannot read the dev file: {e}"))?;
                (dev, state.corpus.clone())
            }
            None => split::holdout(&state.corpus, s.dev_fraction, s.seed),
        };
        let init = match (&self.model_dir, s.continue_training) {
            (Some(d), true) => Some(
                Model::load(d, Device::cuda_if_available()).map_err(|e| format!("cannot continue: {e}"))?,
            ),
            _ => None,
        };
        let stamp = crate::train::report::utc_now().replace(':', "-");
        Ok(TrainJob {
            config,
            options: TrainOptions {
                epochs: s.epochs,
                patience: s.patience,
                seed: s.seed,
                device: Device::cuda_if_available(),
                ..Default::default()
            },
            train: train.sentences,
            dev: dev.sentences,
            out: Some(models_dir.join(format!("trained-{stamp}"))),
            init,
        })
    }

    pub fn cancel(&self) {
        self.trainer.cancel();
    }

    /// Takes in what the threads reported.
    pub fn poll(&mut self, state: &mut AppState) {
        if std::mem::take(&mut self.forget_split) {
            state.trained_split = None;
        }
        while let Ok(e) = self.trainer.events.try_recv() {
            self.events_seen += 1;
            self.on_event(e, state);
        }
        while let Ok(r) = self.worker.replies.try_recv() {
            self.on_reply(r, state);
        }
    }

    fn on_event(&mut self, e: Event, state: &mut AppState) {
        match e {
            Event::Started {
                device,
                epochs,
                steps_per_epoch,
                ..
            } => {
                self.device = device;
                if let Some(run) = self.training.as_mut() {
                    run.steps_total = epochs * steps_per_epoch;
                }
            }
            Event::Step {
                epoch,
                step,
                steps,
                loss,
                ..
            } => self.on_step(epoch, step, steps, loss),
            Event::Preparing { done, total } => {
                state.status = Some(Status::info(format!(
                    "computing frozen encoder features: {done} of {total} sentences (once; cached)"
                )));
            }
            Event::DevEvaluated {
                epoch, ner_f1, re_f1, ..
            } => {
                self.curves.dev_ner.push([epoch as f64, ner_f1]);
                self.curves.dev_re.push([epoch as f64, re_f1]);
            }
            Event::Finished(outcome) => self.on_finished(*outcome, state),
            Event::Failed(why) => {
                self.training = None;
                state.status = Some(Status::error(format!(
                    "training stopped: {why}; your corpus is unchanged"
                )));
            }
            Event::Cancelled => {
                self.training = None;
                state.status = Some(Status::info("training cancelled; your corpus is unchanged"));
            }
            Event::EpochStarted { .. } | Event::NewBest { .. } | Event::EpochFinished(_) => {}
        }
    }

    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f64) {
        let epochs = self.settings.epochs;
        let Some(run) = self.training.as_mut() else { return };
        run.steps_done += 1;
        self.curves
            .loss
            .push([run.steps_done as f64 / steps as f64, loss]);
        run.progress = Some(Progress {
            epoch,
            epochs,
            step,
            steps,
        });
    }

    fn on_finished(&mut self, outcome: TrainOutcome, state: &mut AppState) {
        self.training = None;
        let report_error = self.write_report(&outcome).err();
        let best = outcome
            .best_score
            .map(|s| format!(", dev score {:.1}", 100.0 * s))
            .unwrap_or_default();
        let summary = format!(
            "trained {} epochs in {:.0} s; best epoch {}{best}",
            outcome.history.len(),
            outcome.seconds,
            outcome.best_epoch,
        );
        let summary = match report_error {
            Some(e) => format!("{summary} (report.json not written: {e})"),
            None => summary,
        };
        self.predicted_prefix = format!("{summary}; ");
        self.last_outcome = Some(summary);
        self.worker.send(Request::Set(Box::new(outcome.model)));
        self.predict_corpus(state);
    }

    /// Writes `report.json` beside the trained model, as `relarc train` does, so the model
    /// card says when and on what it was trained when the model is loaded again.
    fn write_report(&mut self, outcome: &TrainOutcome) -> std::io::Result<()> {
        let Some(p) = self.report_for.take() else {
            return Ok(());
        };
        if !p.out.join("config.json").exists() {
            return Ok(());
        }
        let command = format!("relarc app: Train, preset {}", self.settings.preset);
        RunReport::from_outcome(&command, &p.options, outcome, p.data, None)
            .write(&p.out.join(crate::model::RUN_REPORT))
    }

    fn on_reply(&mut self, r: Reply, state: &mut AppState) {
        match r {
            Reply::Loaded {
                description,
                threshold,
                dir,
            } => {
                self.model_info = Some(description);
                // An earlier load finishing while a later one is on its way is not the end.
                if dir.is_none() || dir == self.model_dir {
                    self.loading = false;
                }
                state.threshold = threshold;
            }
            Reply::Predicted {
                tag: Tag::Corpus,
                results,
                done,
                total,
                trained_on,
            } => {
                let items: Vec<(usize, Sentence)> = results
                    .into_iter()
                    .filter_map(|(i, p)| state.corpus.sentences.get(i).map(|s| (i, p.to_sentence(s))))
                    .collect();
                state.set_trained_sentences(trained_on);
                state.set_predictions(items);
                self.predicting = (done < total).then_some((done, total));
                if done == total {
                    let prefix = std::mem::take(&mut self.predicted_prefix);
                    let seen = match state.sentences_trained_on() {
                        Some(n) if n > 0 => format!(" (the model was trained on {n} of them: see Metrics)"),
                        _ => String::new(),
                    };
                    state.status = Some(Status::info(format!("{prefix}predicted {total} sentences{seen}")));
                    if state.view_mode == ViewMode::Gold {
                        state.view_mode = ViewMode::Diff;
                    }
                }
            }
            Reply::Predicted {
                tag: Tag::Live(n),
                results,
                ..
            } => self.on_live_prediction(n, results),
            Reply::Saved(dir) => {
                state.status = Some(Status::info(format!("model saved to {}", dir.display())))
            }
            Reply::Error(e) => {
                self.loading = false;
                state.status = Some(Status::error(e))
            }
        }
    }

    fn on_live_prediction(&mut self, n: u64, results: Vec<(usize, crate::model::Prediction)>) {
        let live = &mut self.live;
        if n != live.sent {
            return;
        }
        for (i, p) in results {
            let Some(tokens) = live.tokens.get(i).filter(|t| t.len() == p.tags.len()) else {
                continue;
            };
            live.pending[i] = Some(p.to_sentence(&Sentence::new(tokens.clone())));
        }
        if live.pending.iter().all(Option::is_some) {
            live.sentences = live.pending.iter().flatten().cloned().collect();
        }
    }

    /// The live text changed: split into sentences (long pasted text never becomes one
    /// sentence of thousands of tokens) and predicted anew; older replies are then dropped.
    pub fn live_changed(&mut self) {
        let live = &mut self.live;
        live.tokens = split_sentences(&live.text)
            .into_iter()
            .map(|s| s.into_iter().map(|t| t.text).collect())
            .collect();
        if live.tokens.is_empty() {
            live.sentences.clear();
            return;
        }
        live.sent += 1;
        live.pending = vec![None; live.tokens.len()];
        self.worker.send(Request::Predict {
            tag: Tag::Live(live.sent),
            items: live.tokens.iter().cloned().enumerate().collect(),
        });
    }
}

/// The data of an in-app training as its report names it: the corpus as it was in the app
/// (its file may differ: unsaved edits), and the dev part or file.
fn training_data(state: &AppState, job: &TrainJob, dev_file: Option<&Path>) -> Vec<DataFile> {
    let corpus = state
        .path
        .as_ref()
        .map_or("the demo corpus".into(), |p| p.display().to_string());
    let edited = if state.dirty { ", with unsaved edits" } else { "" };
    let part = |role: &str, path: String, sentences: usize| DataFile {
        role: role.into(),
        path,
        sha256: String::new(),
        sentences,
    };
    let dev = match dev_file {
        Some(f) => DataFile::new("dev", f, job.dev.len()),
        None => part("dev", format!("{corpus} (held-out part{edited})"), job.dev.len()),
    };
    vec![
        part("train", format!("{corpus} (in the app{edited})"), job.train.len()),
        dev,
    ]
}
