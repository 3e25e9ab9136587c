//! Live extraction in the centre of the window: text typed or pasted is split into sentences
//! and each is predicted by the loaded model as one types; the results can join the corpus.

use egui::{RichText, ScrollArea, Ui};

use super::command::{Command, CommandSender};
use super::controller::ModelController;
use super::state::Selection;
use super::view::SentenceView;

/// The live text and its predicted sentences, over the whole centre width.
pub fn show(
    ui: &mut Ui,
    ctl: &mut ModelController,
    view: &mut SentenceView,
    types: &[String],
    focus: &mut bool,
    tx: &CommandSender,
) {
    if ctl.model_info.is_none() && !ctl.loading {
        ui.label(
            RichText::new("No model is loaded: load one (Ctrl+L) or train one to extract with.")
                .color(ui.visuals().warn_fg_color),
        );
    }
    let label = ui.label(RichText::new("Text to extract from").strong());
    let field = ui
        .add(
            egui::TextEdit::multiline(&mut ctl.live.text)
                .desired_rows(4)
                .desired_width(f32::INFINITY)
                .hint_text("type or paste text: each sentence is predicted as you type"),
        )
        .labelled_by(label.id);
    if std::mem::take(focus) {
        field.request_focus();
    }
    if field.changed() {
        ctl.live_changed();
    }
    if !ctl.live.sentences.is_empty() && ui.button("Add to corpus").clicked() {
        for s in &ctl.live.sentences {
            tx.send(Command::AddSentence(s.clone()));
        }
    }
    ui.separator();
    ScrollArea::vertical().id_salt("live-scroll").show(ui, |ui| {
        for (i, live) in ctl.live.sentences.iter().enumerate() {
            // Its clicks mean nothing: live sentences are not part of the corpus.
            ui.push_id(("live", i), |ui| {
                let _ = view.show(ui, live, types, &Selection::None, None, None);
            });
            ui.separator();
        }
    });
}
