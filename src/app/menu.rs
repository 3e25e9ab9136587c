//! The menu bar: every item is a `UiCommand` (or a recent file), shown with its shortcut.

use egui::Ui;

use super::command::{Command, CommandSender, UiCommand};
use super::state::AppState;

pub fn bar(ui: &mut Ui, state: &AppState, tx: &CommandSender) {
    use UiCommand::*;
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            item(ui, Open, tx);
            ui.menu_button("Open recent", |ui| recent(ui, state, tx));
            item(ui, Save, tx);
            item(ui, SaveAs, tx);
            ui.separator();
            item(ui, Quit, tx);
        });
        ui.menu_button("Edit", |ui| {
            for c in [
                Undo,
                Redo,
                DeleteSelected,
                StartRelation,
                ReverseRelation,
                AcceptAll,
            ] {
                item(ui, c, tx);
            }
        });
        ui.menu_button("View", |ui| {
            for c in [
                NextSentence,
                PrevSentence,
                ShowGold,
                ShowPredicted,
                ShowDiff,
                ToggleBio,
                ToggleStats,
                ToggleMetrics,
                TogglePalette,
                ToggleSentenceList,
                ToggleModelPanel,
                ToggleLive,
            ] {
                item(ui, c, tx);
            }
        });
        ui.menu_button("Model", |ui| {
            for c in [
                LoadModel,
                SaveModel,
                Train,
                CancelTraining,
                PredictCorpus,
                ExportPredictions,
            ] {
                item(ui, c, tx);
            }
        });
    });
}

fn item(ui: &mut Ui, c: UiCommand, tx: &CommandSender) {
    let mut button = egui::Button::new(c.name());
    if let Some(s) = c.shortcuts().first() {
        button = button.shortcut_text(ui.ctx().format_shortcut(s));
    }
    if ui.add(button).clicked() {
        tx.send(c);
        ui.close();
    }
}

fn recent(ui: &mut Ui, state: &AppState, tx: &CommandSender) {
    let recent = state.recent_files();
    if recent.is_empty() {
        ui.label("nothing yet");
    }
    for p in recent {
        if ui.button(p.display().to_string()).clicked() {
            tx.send(Command::OpenPath(p));
        }
    }
}
