//! The model side of the app: load, train (on the trainer thread, from a snapshot of the
//! corpus), watch the curves, cancel, predict the corpus, and live extraction.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot};
use tch::Device;

use super::command::{Command, ViewMode};
use super::state::AppState;
use super::worker::{Reply, Request, Tag, Worker};
use super::FileDialogs;
use crate::corpus::{split, Sentence};
use crate::model::ModelConfig;
use crate::text::tokenize;
use crate::train::{Event, TrainJob, TrainOptions, Trainer};

#[derive(Default)]
pub struct Curves {
    pub loss: Vec<[f64; 2]>,
    pub dev_ner: Vec<[f64; 2]>,
    pub dev_re: Vec<[f64; 2]>,
}

pub struct ModelPanel {
    worker: Worker,
    trainer: Trainer,
    pub model_info: Option<String>,
    /// Folder of the current model on disk (loaded from, or where training saved it).
    pub model_dir: Option<PathBuf>,
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
    pub training: bool,
    pub progress: Option<(usize, usize, usize, usize)>, // epoch, epochs, step, steps
    started: Option<Instant>,
    steps_done: usize,
    steps_total: usize,
    pub curves: Curves,
    pub events_seen: usize,
    pub last_outcome: Option<String>,
    pub predicting: Option<(usize, usize)>,
    pub live_text: String,
    live_sent: u64,
    pub live: Option<Sentence>,
    pub device: String,
}

/// The paper's preset with pre-trained inputs when they are fetched, else the one that needs
/// no files, so training works either way.
fn default_preset() -> &'static str {
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
}

impl ModelPanel {
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> ModelPanel {
        let n2 = notify.clone();
        ModelPanel {
            worker: Worker::spawn(notify),
            trainer: Trainer::spawn(Some(Box::new(move || n2()))),
            model_info: None,
            model_dir: None,
            preset: default_preset().into(),
            config_override: None,
            dev_fraction: 0.1,
            dev_file: None,
            epochs: 20,
            patience: 5,
            seed: 42,
            continue_training: false,
            training: false,
            progress: None,
            started: None,
            steps_done: 0,
            steps_total: 0,
            curves: Curves::default(),
            events_seen: 0,
            last_outcome: None,
            predicting: None,
            live_text: String::new(),
            live_sent: 0,
            live: None,
            device: format!("{:?}", Device::cuda_if_available()),
        }
    }

    pub fn load(&mut self, dir: PathBuf) {
        self.model_dir = Some(dir.clone());
        self.worker.send(Request::Load(dir));
    }

    pub fn predict_corpus(&mut self, state: &AppState) {
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
    pub fn start_training(&mut self, state: &mut AppState, recovery_dir: &std::path::Path) {
        if self.training {
            return;
        }
        let config = match self
            .config_override
            .clone()
            .or_else(|| ModelConfig::preset(&self.preset))
        {
            Some(c) => c,
            None => {
                state.status = Some((format!("unknown preset {}", self.preset), true));
                return;
            }
        };
        let (dev, train) = match &self.dev_file {
            Some(path) => match crate::corpus::Corpus::load(path) {
                Ok(dev) => (dev, state.corpus.clone()),
                Err(e) => {
                    state.status = Some((format!("cannot read the dev file: {e}"), true));
                    return;
                }
            },
            None => split::holdout(&state.corpus, self.dev_fraction, self.seed),
        };
        let init = if self.continue_training {
            match self
                .model_dir
                .as_ref()
                .map(|d| crate::model::Model::load(d, Device::cuda_if_available()))
            {
                Some(Ok(m)) => Some(m),
                Some(Err(e)) => {
                    state.status = Some((format!("cannot continue: {e}"), true));
                    return;
                }
                None => None,
            }
        } else {
            None
        };
        let stamp = crate::train::report::utc_now().replace(':', "-");
        let out = recovery_dir.join("models").join(format!("trained-{stamp}"));
        let job = TrainJob {
            config,
            options: TrainOptions {
                epochs: self.epochs,
                patience: self.patience,
                seed: self.seed,
                device: Device::cuda_if_available(),
                ..Default::default()
            },
            train: train.sentences,
            dev: dev.sentences,
            out: Some(out.clone()),
            init,
        };
        self.model_dir = Some(out);
        self.curves = Curves::default();
        self.training = true;
        self.started = Some(Instant::now());
        self.steps_done = 0;
        self.progress = None;
        self.last_outcome = None;
        self.trainer.start(job);
        state.status = Some(("training started".into(), false));
    }

    pub fn cancel(&self) {
        self.trainer.cancel();
    }

    /// Takes in what the threads reported. Returns true when predictions changed.
    pub fn poll(&mut self, state: &mut AppState) {
        while let Ok(e) = self.trainer.events.try_recv() {
            self.events_seen += 1;
            match e {
                Event::Started {
                    device,
                    epochs,
                    steps_per_epoch,
                    ..
                } => {
                    self.device = device;
                    self.steps_total = epochs * steps_per_epoch;
                }
                Event::Step {
                    epoch,
                    step,
                    steps,
                    loss,
                    ..
                } => {
                    self.steps_done += 1;
                    self.curves
                        .loss
                        .push([self.steps_done as f64 / steps as f64, loss]);
                    self.progress = Some((epoch, self.epochs, step, steps));
                }
                Event::Preparing { done, total } => {
                    state.status = Some((
                        format!(
                            "computing frozen encoder features: {done} of {total} sentences (once; cached)"
                        ),
                        false,
                    ));
                }
                Event::DevEvaluated {
                    epoch, ner_f1, re_f1, ..
                } => {
                    self.curves.dev_ner.push([epoch as f64, ner_f1]);
                    self.curves.dev_re.push([epoch as f64, re_f1]);
                }
                Event::Finished(outcome) => {
                    self.training = false;
                    self.last_outcome = Some(format!(
                        "trained {} epochs in {:.0} s; best epoch {}{}",
                        outcome.history.len(),
                        outcome.seconds,
                        outcome.best_epoch,
                        outcome
                            .best_score
                            .map(|s| format!(", dev score {:.1}", 100.0 * s))
                            .unwrap_or_default()
                    ));
                    state.status = self
                        .last_outcome
                        .clone()
                        .map(|o| (format!("{o}; predicting the corpus"), false));
                    self.worker.send(Request::Set(Box::new(outcome.model)));
                    self.predict_corpus(state);
                }
                Event::Failed(why) => {
                    self.training = false;
                    state.status = Some((format!("training stopped: {why}; your corpus is unchanged"), true));
                }
                Event::Cancelled => {
                    self.training = false;
                    state.status = Some(("training cancelled; your corpus is unchanged".into(), false));
                }
                _ => {}
            }
        }
        while let Ok(r) = self.worker.replies.try_recv() {
            match r {
                Reply::Loaded {
                    description,
                    threshold,
                } => {
                    self.model_info = Some(description);
                    state.threshold = threshold;
                }
                Reply::Predicted {
                    tag: Tag::Corpus,
                    results,
                    done,
                    total,
                } => {
                    let items: Vec<(usize, Sentence)> = results
                        .into_iter()
                        .filter_map(|(i, p)| state.corpus.sentences.get(i).map(|s| (i, p.to_sentence(s))))
                        .collect();
                    state.set_predictions(items);
                    self.predicting = (done < total).then_some((done, total));
                    if done == total && state.view_mode == ViewMode::Gold {
                        state.view_mode = ViewMode::Diff;
                    }
                }
                Reply::Predicted {
                    tag: Tag::Live(n),
                    results,
                    ..
                } => {
                    if n == self.live_sent {
                        if let Some((_, p)) = results.into_iter().next() {
                            let tokens: Vec<String> =
                                tokenize(&self.live_text).into_iter().map(|t| t.text).collect();
                            if tokens.len() == p.tags.len() {
                                self.live = Some(p.to_sentence(&Sentence::new(tokens)));
                            }
                        }
                    }
                }
                Reply::Saved(dir) => {
                    state.status = Some((format!("model saved to {}", dir.display()), false))
                }
                Reply::Error(e) => state.status = Some((e, true)),
            }
        }
    }

    fn live_changed(&mut self) {
        let tokens: Vec<String> = tokenize(&self.live_text).into_iter().map(|t| t.text).collect();
        if tokens.is_empty() {
            self.live = None;
            return;
        }
        self.live_sent += 1;
        self.worker.send(Request::Predict {
            tag: Tag::Live(self.live_sent),
            items: vec![(0, tokens)],
        });
    }

    /// The right-hand panel. Returns commands for the app.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        state: &mut AppState,
        dialogs: &mut dyn FileDialogs,
        recovery_dir: &std::path::Path,
    ) -> Vec<Command> {
        let mut cmds = Vec::new();
        ui.heading("Model");
        ui.label(format!("device: {}", self.device));
        match &self.model_info {
            Some(info) => ui.label(info),
            None => ui.weak("no model loaded"),
        };
        ui.horizontal(|ui| {
            if ui.button("Load model...").clicked() {
                if let Some(d) = dialogs.pick_folder() {
                    self.load(d);
                }
            }
            if ui
                .add_enabled(self.model_info.is_some(), egui::Button::new("Save model as..."))
                .clicked()
            {
                if let Some(d) = dialogs.pick_folder() {
                    self.worker.send(Request::Save(d));
                }
            }
        });
        ui.separator();
        ui.label(RichText::new("Train on this corpus").strong());
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("preset")
                .selected_text(self.preset.clone())
                .show_ui(ui, |ui| {
                    for p in ModelConfig::PRESETS {
                        ui.selectable_value(&mut self.preset, p.to_string(), p);
                    }
                });
        });
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut self.dev_fraction)
                    .range(0.05..=0.5)
                    .speed(0.01)
                    .prefix("dev fraction "),
            );
            ui.add(
                egui::DragValue::new(&mut self.epochs)
                    .range(1..=500)
                    .prefix("epochs "),
            );
        });
        ui.horizontal(|ui| match self.dev_file.clone() {
            Some(p) => {
                ui.label(format!(
                    "dev: {}",
                    p.file_name().unwrap_or_default().to_string_lossy()
                ));
                if ui.small_button("use a fraction").clicked() {
                    self.dev_file = None;
                }
            }
            None => {
                if ui.button("Dev from a file...").clicked() {
                    self.dev_file = dialogs.open();
                }
            }
        });
        ui.checkbox(&mut self.continue_training, "continue from the current model");
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.training, egui::Button::new("Train"))
                .clicked()
            {
                self.start_training(state, recovery_dir);
            }
            if ui
                .add_enabled(self.training, egui::Button::new("Cancel training"))
                .clicked()
            {
                self.cancel();
            }
        });
        if self.training {
            let fraction = if self.steps_total > 0 {
                self.steps_done as f32 / self.steps_total as f32
            } else {
                0.0
            };
            let eta = self.started.filter(|_| self.steps_done > 0).map(|t| {
                let per = t.elapsed().as_secs_f64() / self.steps_done as f64;
                per * (self.steps_total.saturating_sub(self.steps_done)) as f64
            });
            let text = match self.progress {
                Some((e, es, s, ss)) => format!(
                    "epoch {e}/{es}, step {s}/{ss}{}",
                    eta.map(|x| format!(", at most {x:.0} s left"))
                        .unwrap_or_default()
                ),
                None => "starting...".into(),
            };
            ui.add(egui::ProgressBar::new(fraction).text(text));
        }
        if let Some(o) = &self.last_outcome {
            ui.label(o);
        }
        if !self.curves.loss.is_empty() {
            Plot::new("loss")
                .height(110.0)
                .legend(Legend::default())
                .show(ui, |p| {
                    p.line(Line::new("training loss (by epoch)", self.curves.loss.clone()));
                });
        }
        if !self.curves.dev_ner.is_empty() {
            Plot::new("dev-f1")
                .height(110.0)
                .legend(Legend::default())
                .include_y(0.0)
                .include_y(1.0)
                .show(ui, |p| {
                    p.line(Line::new("dev NER F1", self.curves.dev_ner.clone()));
                    p.line(Line::new("dev RE F1", self.curves.dev_re.clone()));
                });
        }
        ui.separator();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    self.model_info.is_some() && self.predicting.is_none(),
                    egui::Button::new("Predict corpus"),
                )
                .clicked()
            {
                self.predict_corpus(state);
            }
            if let Some((d, t)) = self.predicting {
                ui.add(egui::ProgressBar::new(d as f32 / t.max(1) as f32).text(format!("{d}/{t}")));
            }
        });
        let has_predictions = state.predictions.iter().any(|p| p.is_some());
        if ui
            .add_enabled(has_predictions, egui::Button::new("Export predictions..."))
            .clicked()
        {
            if let Some(p) = dialogs.save("predictions.json") {
                state.export_predictions(&p);
            }
        }
        if ui.button("Metrics (Ctrl+Shift+M)").clicked() {
            cmds.push(Command::ToggleMetrics);
        }
        ui.horizontal(|ui| {
            for (mode, name) in [
                (ViewMode::Gold, "Gold (G)"),
                (ViewMode::Predicted, "Predicted (P)"),
                (ViewMode::Diff, "Diff (D)"),
            ] {
                if ui.selectable_label(state.view_mode == mode, name).clicked() {
                    cmds.push(Command::SetViewMode(mode));
                }
            }
        });
        ui.separator();
        let title = ui.label(RichText::new("Live extraction").strong());
        let resp = ui
            .add(
                egui::TextEdit::multiline(&mut self.live_text)
                    .desired_rows(2)
                    .hint_text("type or paste a sentence"),
            )
            .labelled_by(title.id);
        if resp.changed() {
            self.live_changed();
        }
        if let Some(live) = self.live.clone() {
            if ui.button("Add to corpus").clicked() {
                cmds.push(Command::AddSentence(live));
            }
        }
        cmds
    }

    /// The live sentence with its predicted annotations, if any.
    pub fn live_sentence(&self) -> Option<&Sentence> {
        self.live.as_ref()
    }
}
