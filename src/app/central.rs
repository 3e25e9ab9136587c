//! The centre of the window: the recovery offer, the legend, and the current sentence in the
//! view mode chosen (gold with its editing tools, predictions, or the diff), with the
//! gestures of each mode turned into commands.

use egui::{RichText, ScrollArea, Ui};

use super::command::{Command, CommandSender, UiCommand, ViewMode};
use super::state::{AppState, Selection};
use super::view::{self, type_colour, SentenceView};
use crate::corpus::Sentence;
use crate::eval::compare::{diff, Mark};

pub fn show(ui: &mut Ui, state: &AppState, view: &mut SentenceView, tx: &CommandSender) {
    recovery_offer(ui, state, tx);
    let types = state.entity_types();
    legend(ui, &types);
    ui.separator();
    let Some(sentence) = state.sentence() else {
        ui.label("This corpus has no sentences.");
        return;
    };
    heading(ui, state.current, sentence, tx);
    let gold_shown = state.view_mode == ViewMode::Gold || state.prediction().is_none();
    view.bio = bio_rows(state, sentence);
    view.search_hits = super::state::search_hits(sentence, &state.filter.text);
    view.judging = !gold_shown;
    ScrollArea::vertical().id_salt("sentence-scroll").show(ui, |ui| {
        let cmds = match (state.view_mode, state.prediction()) {
            (ViewMode::Gold, _) | (_, None) => gold(ui, state, sentence, &types, view),
            (ViewMode::Predicted, Some(p)) => predicted(ui, p, &types, view),
            (ViewMode::Diff, Some(p)) => difference(ui, sentence, p, &types, view),
        };
        for c in cmds {
            tx.send(c);
        }
        if gold_shown {
            ui.separator();
            selection_tools(ui, state, sentence, tx);
        }
    });
}

/// The BIO rows the view shows: none, gold's, or in the diff gold's and the prediction's.
fn bio_rows(state: &AppState, gold: &Sentence) -> Vec<view::BioRow> {
    if !state.show_bio {
        return Vec::new();
    }
    let gold_row = view::BioRow::of("gold", gold);
    match (state.view_mode, state.prediction()) {
        (ViewMode::Diff, Some(p)) => {
            let predicted = view::BioRow::of("predicted", p).against(&gold_row);
            vec![gold_row, predicted]
        }
        (ViewMode::Predicted, Some(p)) => vec![view::BioRow::of("predicted", p)],
        _ => vec![gold_row],
    }
}

fn recovery_offer(ui: &mut Ui, state: &AppState, tx: &CommandSender) {
    let Some(offer) = &state.recovery else { return };
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "Unsaved edits from an earlier session were found ({} sentences).",
                offer.sentences
            ))
            .strong(),
        );
        if ui.button("Restore").clicked() {
            tx.send(Command::RestoreRecovery);
        }
        if ui.button("Discard").clicked() {
            tx.send(Command::DiscardRecovery);
        }
    });
    ui.separator();
}

/// The numbered entity types: number key n gives the type numbered n here.
fn legend(ui: &mut Ui, types: &[String]) {
    ui.horizontal_wrapped(|ui| {
        for (i, t) in types.iter().enumerate() {
            ui.label(
                RichText::new(format!("{} {t}", i + 1))
                    .color(view::readable(type_colour(i), ui.visuals().panel_fill))
                    .strong(),
            );
        }
        ui.weak("- number keys give the selected tokens that type");
    });
}

fn heading(ui: &mut Ui, current: usize, sentence: &Sentence, tx: &CommandSender) {
    ui.horizontal(|ui| {
        if ui.button("<").on_hover_text("previous (PageUp)").clicked() {
            tx.send(UiCommand::PrevSentence);
        }
        let id = sentence.id().map(|i| format!("  (id {i})")).unwrap_or_default();
        ui.heading(format!("Sentence {}{id}", current + 1));
        if ui.button(">").on_hover_text("next (PageDown)").clicked() {
            tx.send(UiCommand::NextSentence);
        }
        if let Some(n) = sentence.source.as_ref().map(|s| s.kept_aside).filter(|&n| n > 0) {
            ui.weak(format!("+{n} kept aside")).on_hover_text(
                "annotations of the source file relarc does not model here (brat events, attributes, \
                 normalisations, equivalences, discontinuous spans); they are written back unchanged",
            );
        }
    });
}

fn gold(
    ui: &mut Ui,
    state: &AppState,
    s: &Sentence,
    types: &[String],
    view: &mut SentenceView,
) -> Vec<Command> {
    if state.view_mode != ViewMode::Gold {
        ui.weak("No predictions for this sentence yet: load or train a model, then Predict corpus.");
    }
    let head = state.mode.relation_head();
    let cmds = view.show(ui, s, types, &state.selection, head, None);
    // Rejecting is for predictions; gold is deleted instead.
    cmds.into_iter()
        .filter(|c| !matches!(c, Command::RejectEntity(_) | Command::RejectRelation(_)))
        .collect()
}

fn predicted(ui: &mut Ui, p: &Sentence, types: &[String], view: &mut SentenceView) -> Vec<Command> {
    ui.weak("Click a predicted span or arc to accept it, right-click to reject it; Shift+A accepts all.");
    let cmds = view.show(ui, p, types, &Selection::None, None, None);
    cmds.into_iter()
        .filter_map(|c| match c {
            Command::SelectEntity(e) => Some(Command::AcceptEntity(e)),
            Command::SelectRelation(r) => Some(Command::AcceptRelation(r)),
            c @ (Command::RejectEntity(_) | Command::RejectRelation(_)) => Some(c),
            _ => None,
        })
        .collect()
}

fn difference(
    ui: &mut Ui,
    gold: &Sentence,
    p: &Sentence,
    types: &[String],
    view: &mut SentenceView,
) -> Vec<Command> {
    diff_legend(ui);
    let d = diff(gold, p);
    let marks = Some((d.entity_marks.as_slice(), d.relation_marks.as_slice()));
    let cmds = view.show(ui, &d.sentence, types, &Selection::None, None, marks);
    let spurious_entity = |e: usize| d.entity_pred[e].filter(|_| d.entity_marks[e] == Mark::Spurious);
    let spurious_relation = |r: usize| d.relation_pred[r].filter(|_| d.relation_marks[r] == Mark::Spurious);
    cmds.into_iter()
        .filter_map(|c| match c {
            Command::SelectEntity(e) => spurious_entity(e).map(Command::AcceptEntity),
            Command::SelectRelation(r) => spurious_relation(r).map(Command::AcceptRelation),
            Command::RejectEntity(e) => d.entity_pred[e].map(Command::RejectEntity),
            Command::RejectRelation(r) => d.relation_pred[r].map(Command::RejectRelation),
            _ => None,
        })
        .collect()
}

/// What the diff's glyphs, line styles and colours mean.
fn diff_legend(ui: &mut Ui) {
    ui.horizontal_wrapped(|ui| {
        for (mark, text) in [
            (Mark::Correct, "right (solid)"),
            (
                Mark::Spurious,
                "spurious (dashed; click: accept, right-click: reject)",
            ),
            (Mark::Missed, "missed (dotted)"),
        ] {
            let style = view::mark_style(mark);
            let colour = view::readable(style.colour, ui.visuals().panel_fill);
            ui.label(RichText::new(format!("{} {text}", style.glyph)).color(colour));
        }
        ui.weak("Shift+A accepts all.");
    });
}

/// Buttons for what can be done with the selection, for mouse users.
fn selection_tools(ui: &mut Ui, state: &AppState, s: &Sentence, tx: &CommandSender) {
    let typing_relation = matches!(state.mode, super::state::Mode::RelationType { .. });
    if matches!(state.selection, Selection::Tokens { .. } | Selection::Entity(_)) && !typing_relation {
        ui.horizontal_wrapped(|ui| entity_tools(ui, state, s, tx));
    }
    let choices = state.relation_choices();
    if !choices.is_empty() {
        ui.horizontal_wrapped(|ui| relation_tools(ui, state, s, &choices, tx));
    }
    egui::CollapsingHeader::new("Add a type").show(ui, |ui| new_types(ui, state, tx));
}

/// What the "Add a type" form holds between frames.
#[derive(Clone, Default)]
struct NewTypes {
    entity: String,
    relation: String,
    head: String,
    tail: String,
}

/// Forms for a new entity type, and a new relation type with its argument types.
fn new_types(ui: &mut Ui, state: &AppState, tx: &CommandSender) {
    let id = egui::Id::unique("relarc new types");
    let mut f: NewTypes = ui.data_mut(|d| d.get_temp(id)).unwrap_or_default();
    ui.horizontal(|ui| {
        let label = ui.label("entity type");
        ui.add(egui::TextEdit::singleline(&mut f.entity).desired_width(140.0))
            .labelled_by(label.id);
        if ui.button("Add entity type").clicked() {
            tx.send(Command::AddEntityType(std::mem::take(&mut f.entity)));
        }
    });
    let types = state.entity_types();
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("relation type");
        ui.add(egui::TextEdit::singleline(&mut f.relation).desired_width(140.0))
            .labelled_by(label.id);
        for (label, value) in [("from", &mut f.head), ("to", &mut f.tail)] {
            egui::ComboBox::from_label(label)
                .selected_text(value.clone())
                .show_ui(ui, |ui| {
                    for t in &types {
                        ui.selectable_value(value, t.clone(), t);
                    }
                });
        }
        if ui.button("Add relation type").clicked() {
            tx.send(Command::AddRelationType {
                name: std::mem::take(&mut f.relation),
                head: f.head.clone(),
                tail: f.tail.clone(),
            });
        }
    });
    ui.data_mut(|d| d.insert_temp(id, f));
}

fn entity_tools(ui: &mut Ui, state: &AppState, s: &Sentence, tx: &CommandSender) {
    ui.label("type:");
    for (i, t) in state.entity_types().iter().enumerate() {
        let label = RichText::new(format!("{} {t}", i + 1))
            .color(view::readable(type_colour(i), ui.visuals().panel_fill));
        if ui.button(label).clicked() {
            tx.send(Command::SetEntityType(t.clone()));
        }
    }
    if let Selection::Entity(e) = state.selection {
        ui.label(format!("selected: {}", view::entity_label(s, e)));
        if ui.button("Delete").clicked() {
            tx.send(UiCommand::DeleteSelected);
        }
        if ui.button("Relation from here (R)").clicked() {
            tx.send(UiCommand::StartRelation);
        }
    }
}

fn relation_tools(ui: &mut Ui, state: &AppState, s: &Sentence, choices: &[String], tx: &CommandSender) {
    ui.label("relation type:");
    for (i, t) in choices.iter().enumerate() {
        if ui.button(format!("{} {t}", i + 1)).clicked() {
            tx.send(Command::SetRelationType(t.clone()));
        }
    }
    if let Selection::Relation(r) = state.selection {
        ui.label(format!("selected: {}", view::relation_label(s, r)));
        if ui.button("Reverse (V)").clicked() {
            tx.send(UiCommand::ReverseRelation);
        }
        if ui.button("Delete").clicked() {
            tx.send(UiCommand::DeleteSelected);
        }
    }
}
