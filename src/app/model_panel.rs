//! The model panel: small drawing functions over the `ModelController`. Its actions (load,
//! save, train, cancel, predict, export) are commands sent to the app's queue; only the
//! training form's fields are edited here directly.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot};

use super::command::{CommandSender, UiCommand, ViewMode};
use super::controller::{Curves, ModelController, TrainingRun};
use super::state::AppState;
use crate::model::{shipped, ModelConfig};
use std::path::PathBuf;

/// The whole right-hand panel.
pub fn show(
    ui: &mut Ui,
    ctl: &mut ModelController,
    state: &AppState,
    ask_dev_file: &mut bool,
    tx: &CommandSender,
) {
    header(ui, ctl, tx);
    if let Some(dir) = mismatch(ui, ctl, state) {
        ctl.load(dir);
    }
    ui.separator();
    if !ctl.settings.preset_chosen {
        ctl.settings.preset = super::controller::preset_for(&state.corpus.schema.entity_types);
    }
    training_form(ui, ctl, state.corpus.sentences.len(), ask_dev_file);
    training_buttons(ui, ctl, tx);
    if let Some(run) = &ctl.training {
        training_progress(ui, run, ctl.settings.epochs);
    }
    if let Some(o) = &ctl.last_outcome {
        ui.label(o);
    }
    curves(ui, &ctl.curves);
    ui.separator();
    predictions(ui, ctl, state, tx);
    ui.separator();
    live_extraction(ui, tx);
}

/// A button for a command, its shortcut on hover (a shortcut text would become part of the
/// button's accessible name).
fn command_button(ui: &mut Ui, enabled: bool, label: &str, c: UiCommand, tx: &CommandSender) {
    let shortcut = c.shortcuts().first().map(|s| ui.ctx().format_shortcut(s));
    let resp = ui.add_enabled(enabled, egui::Button::new(label));
    let resp = match shortcut {
        Some(s) => resp.on_hover_text(s),
        None => resp,
    };
    if resp.clicked() {
        tx.send(c);
    }
}

fn header(ui: &mut Ui, ctl: &ModelController, tx: &CommandSender) {
    ui.heading("Model");
    if ctl.model_info.is_none() {
        // A loaded model's card says where it runs.
        ui.label(format!("device: {}", ctl.device));
    }
    match (&ctl.model_info, &ctl.model_dir) {
        (_, Some(dir)) if ctl.loading => ui.weak(format!("loading {}…", dir.display())),
        (Some(info), _) => ui.label(info),
        (None, _) => ui.weak("no model loaded"),
    };
    ui.horizontal(|ui| {
        command_button(ui, true, "Load model...", UiCommand::LoadModel, tx);
        command_button(
            ui,
            ctl.model_info.is_some(),
            "Save model as...",
            UiCommand::SaveModel,
            tx,
        );
    });
}

/// Says when the model cannot predict the corpus's types, and offers the shipped models that
/// can; returns the one picked.
fn mismatch(ui: &mut Ui, ctl: &ModelController, state: &AppState) -> Option<PathBuf> {
    let (model, corpus) = ctl.type_mismatch(&state.corpus.schema.entity_types)?;
    ui.colored_label(
        ui.visuals().warn_fg_color,
        format!(
            "This model's types ({}) are not this corpus's ({}): its predictions and metrics would mean nothing here.",
            model.join(", "),
            corpus.join(", ")
        ),
    );
    let fitting = shipped::fitting_model(&corpus).filter(|m| {
        shipped::entity_types(m).is_some_and(|t| t.iter().any(|x| corpus.contains(x)))
            && Some(m) != ctl.model_dir.as_ref()
    })?;
    let name = fitting
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().to_string());
    ui.button(format!("Load models/{name}"))
        .clicked()
        .then_some(fitting)
}

fn training_form(ui: &mut Ui, ctl: &mut ModelController, sentences: usize, ask_dev_file: &mut bool) {
    let s = &mut ctl.settings;
    ui.label(RichText::new("Train on this corpus").strong());
    egui::ComboBox::from_label("preset")
        .selected_text(s.preset.clone())
        .show_ui(ui, |ui| {
            for p in ModelConfig::PRESETS {
                if ui.selectable_value(&mut s.preset, p.to_string(), p).clicked() {
                    s.preset_chosen = true;
                }
            }
        });
    // With a dev file the whole corpus trains; otherwise all but the held-out fraction.
    let training = match s.dev_file {
        Some(_) => sentences,
        None => (sentences as f64 * (1.0 - s.dev_fraction)).round() as usize,
    };
    if let Some(note) = cpu_fine_tuning_note(&s.preset, training, tch::Cuda::is_available()) {
        ui.label(RichText::new(note).color(ui.visuals().warn_fg_color));
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(&mut s.dev_fraction)
                .range(0.05..=0.5)
                .speed(0.01)
                .prefix("dev fraction "),
        );
        ui.add(
            egui::DragValue::new(&mut s.epochs)
                .range(1..=500)
                .prefix("epochs "),
        );
    });
    ui.horizontal(|ui| match s.dev_file.clone() {
        Some(p) => {
            ui.label(format!(
                "dev: {}",
                p.file_name().unwrap_or_default().to_string_lossy()
            ));
            if ui.small_button("use a fraction").clicked() {
                s.dev_file = None;
            }
        }
        None => {
            if ui.button("Dev from a file...").clicked() {
                *ask_dev_file = true;
            }
        }
    });
    ui.checkbox(&mut s.continue_training, "continue from the current model");
}

/// Fine-tuning runs the encoder forwards and backwards in every step: on a CPU an epoch takes
/// minutes to hours, which the user should know before pressing Train.
fn cpu_fine_tuning_note(preset: &str, training_sentences: usize, cuda: bool) -> Option<String> {
    let encoder = ModelConfig::preset(preset)?.inputs.contextual?;
    if cuda || encoder.fine_tune.is_none() {
        return None;
    }
    // One epoch per 100 sentences, one thread of a 2-core AMD EPYC (docs/RESULTS.md).
    let seconds_per_100 = if encoder.encoder.to_lowercase().contains("minilm") {
        20.6
    } else {
        73.0
    };
    let minutes = (seconds_per_100 * training_sentences as f64 / 100.0 / 60.0).ceil();
    Some(format!(
        "Fine-tunes {} on the CPU (no GPU found): about {minutes} min per epoch for {training_sentences} sentences on one core (measured {seconds_per_100} s per 100). A GPU, or a preset without -ft, is much faster.",
        encoder.encoder
    ))
}

fn training_buttons(ui: &mut Ui, ctl: &ModelController, tx: &CommandSender) {
    ui.horizontal(|ui| {
        command_button(ui, !ctl.is_training(), "Train", UiCommand::Train, tx);
        command_button(
            ui,
            ctl.is_training(),
            "Cancel training",
            UiCommand::CancelTraining,
            tx,
        );
    });
}

fn training_progress(ui: &mut Ui, run: &TrainingRun, epochs: usize) {
    let left = run
        .seconds_left()
        .map(|x| format!(", at most {x:.0} s left"))
        .unwrap_or_default();
    let text = match run.progress {
        Some(p) => format!("epoch {}/{epochs}, step {}/{}{left}", p.epoch, p.step, p.steps),
        None => "starting...".into(),
    };
    ui.add(egui::ProgressBar::new(run.fraction()).text(text));
}

fn curves(ui: &mut Ui, curves: &Curves) {
    if !curves.loss.is_empty() {
        Plot::new("loss")
            .height(110.0)
            .legend(Legend::default())
            .show(ui, |p| {
                p.line(Line::new("training loss (by epoch)", curves.loss.clone()));
            });
    }
    if !curves.dev_ner.is_empty() {
        Plot::new("dev-f1")
            .height(110.0)
            .legend(Legend::default())
            .include_y(0.0)
            .include_y(1.0)
            .show(ui, |p| {
                p.line(Line::new("dev NER F1", curves.dev_ner.clone()));
                p.line(Line::new("dev RE F1", curves.dev_re.clone()));
            });
    }
}

fn predictions(ui: &mut Ui, ctl: &ModelController, state: &AppState, tx: &CommandSender) {
    ui.horizontal(|ui| {
        let fits = ctl.type_mismatch(&state.corpus.schema.entity_types).is_none();
        let can_predict = ctl.model_info.is_some() && ctl.predicting.is_none() && fits;
        command_button(ui, can_predict, "Predict corpus", UiCommand::PredictCorpus, tx);
        if let Some((d, t)) = ctl.predicting {
            ui.add(egui::ProgressBar::new(d as f32 / t.max(1) as f32).text(format!("{d}/{t}")));
        }
    });
    let has_predictions = state.predictions.iter().any(|p| p.is_some());
    command_button(
        ui,
        has_predictions,
        "Export predictions...",
        UiCommand::ExportPredictions,
        tx,
    );
    command_button(ui, true, "Metrics", UiCommand::ToggleMetrics, tx);
    ui.horizontal(|ui| {
        for (mode, c, name) in [
            (ViewMode::Gold, UiCommand::ShowGold, "Gold (G)"),
            (ViewMode::Predicted, UiCommand::ShowPredicted, "Predicted (P)"),
            (ViewMode::Diff, UiCommand::ShowDiff, "Diff (D)"),
        ] {
            if ui.selectable_label(state.view_mode == mode, name).clicked() {
                tx.send(c);
            }
        }
    });
}

fn live_extraction(ui: &mut Ui, tx: &CommandSender) {
    command_button(ui, true, "Extract from typed text", UiCommand::ToggleLive, tx);
}

#[cfg(test)]
mod tests {
    use super::cpu_fine_tuning_note;

    #[test]
    fn only_fine_tuning_on_a_cpu_is_warned_about_and_the_estimate_scales() {
        // 73 s per 100 sentences: 700 sentences are 8.5 minutes, said as 9.
        let mpnet = cpu_fine_tuning_note("conll04-ft", 700, false).unwrap();
        assert!(
            mpnet.contains("about 9 min per epoch for 700 sentences"),
            "{mpnet}"
        );
        let minilm = cpu_fine_tuning_note("ade-minilm-ft", 3000, false).unwrap();
        assert!(
            minilm.contains("all-minilm-l6-v2") && minilm.contains("about 11 min"),
            "{minilm}"
        );
        assert_eq!(cpu_fine_tuning_note("conll04-ft", 700, true), None);
        assert_eq!(cpu_fine_tuning_note("conll04", 700, false), None);
        assert_eq!(cpu_fine_tuning_note("conll04-learned", 700, false), None);
    }
}
