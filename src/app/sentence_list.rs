//! The left-hand panel: search, filters and orders, and the virtual list of sentences. The
//! filter is edited as a copy; a change is sent as `Command::SetFilter`.

use egui::{ScrollArea, Ui};

use super::command::{Command, CommandSender, UiCommand};
use super::state::{list_row, AppState, EditState, Filter, Order};
use super::view::SEARCH_HIGHLIGHT;
use crate::eval::compare::ALL_KINDS;

pub fn show(ui: &mut Ui, state: &mut AppState, focus_search: &mut bool, tx: &CommandSender) {
    let mut filter = state.filter.clone();
    let search = ui.add(egui::TextEdit::singleline(&mut filter.text).hint_text("search sentences (Ctrl+F)"));
    if std::mem::take(focus_search) {
        search.request_focus();
    }
    ui.horizontal_wrapped(|ui| type_filters(ui, state, &mut filter));
    if state.predictions.iter().any(|p| p.is_some()) {
        ui.horizontal_wrapped(|ui| error_filters(ui, &mut filter));
    }
    if filter != state.filter {
        // Applied at once, so the list below already shows the new filter.
        state.apply(Command::SetFilter(filter));
    }
    if search.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        // Enter in the search field goes to the next match and keeps the field for more.
        state.apply(UiCommand::NextSentence);
        search.request_focus();
    }
    list(ui, state, tx);
}

fn type_filters(ui: &mut Ui, state: &AppState, f: &mut Filter) {
    let rel_types: Vec<String> = state
        .corpus
        .schema
        .relation_types
        .iter()
        .map(|r| r.name.clone())
        .collect();
    type_filter(
        ui,
        "entity",
        "any entity",
        &mut f.entity_type,
        state.entity_types(),
    );
    type_filter(ui, "relation", "any relation", &mut f.relation_type, rel_types);
    egui::ComboBox::from_label("edits")
        .selected_text(match f.edit_state {
            EditState::All => "all",
            EditState::Edited => "edited",
            EditState::Unedited => "unedited",
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut f.edit_state, EditState::All, "all");
            ui.selectable_value(&mut f.edit_state, EditState::Edited, "edited");
            ui.selectable_value(&mut f.edit_state, EditState::Unedited, "unedited");
        });
}

/// A combo box choosing one type, or none ("any ...").
fn type_filter(ui: &mut Ui, label: &str, any: &str, chosen: &mut Option<String>, types: Vec<String>) {
    egui::ComboBox::from_label(label)
        .selected_text(chosen.clone().unwrap_or_else(|| any.into()))
        .show_ui(ui, |ui| {
            ui.selectable_value(chosen, None, any);
            for t in types {
                ui.selectable_value(chosen, Some(t.clone()), t);
            }
        });
}

fn error_filters(ui: &mut Ui, f: &mut Filter) {
    let kind_name = match (f.errors_only, f.error_kind) {
        (_, Some(k)) => k.name().to_string(),
        (true, None) => "with errors".into(),
        (false, None) => "all".into(),
    };
    egui::ComboBox::from_label("errors")
        .selected_text(kind_name)
        .show_ui(ui, |ui| error_kinds(ui, f));
    egui::ComboBox::from_label("order")
        .selected_text(match f.order {
            Order::Corpus => "corpus",
            Order::Errors => "most errors",
            Order::Uncertainty => "least certain",
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut f.order, Order::Corpus, "corpus");
            ui.selectable_value(&mut f.order, Order::Errors, "most errors");
            ui.selectable_value(&mut f.order, Order::Uncertainty, "least certain");
        });
    if let Some(t) = f.error_type.clone() {
        let clear = ui
            .button(format!("type {t} x"))
            .on_hover_text("stop filtering by this type");
        if clear.clicked() {
            f.error_type = None;
        }
    }
}

fn error_kinds(ui: &mut Ui, f: &mut Filter) {
    if ui
        .selectable_label(!f.errors_only && f.error_kind.is_none(), "all")
        .clicked()
    {
        f.errors_only = false;
        f.error_kind = None;
        f.error_type = None;
    }
    if ui
        .selectable_label(f.errors_only && f.error_kind.is_none(), "with errors")
        .clicked()
    {
        f.errors_only = true;
        f.error_kind = None;
    }
    for k in ALL_KINDS {
        if ui.selectable_label(f.error_kind == Some(k), k.name()).clicked() {
            f.errors_only = true;
            f.error_kind = Some(k);
        }
    }
}

fn list(ui: &mut Ui, state: &mut AppState, tx: &CommandSender) {
    let current = state.current;
    let list = state.filtered().to_vec();
    ui.label(format!(
        "{} of {} sentences",
        list.len(),
        state.corpus.sentences.len()
    ));
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, list.len(), |ui, rows| {
            // One line per row, so virtual scrolling knows every row's height.
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
            for &i in &list[rows] {
                let (text, hits) = list_row(i + 1, &state.corpus.sentences[i].text(), &state.filter.text);
                if ui
                    .selectable_label(i == current, highlighted(ui, text, &hits))
                    .clicked()
                {
                    tx.send(Command::GoTo(i));
                }
            }
        });
}

/// `text` with the byte ranges `hits` on the search highlight (dark text on it, for contrast).
fn highlighted(ui: &Ui, text: String, hits: &[std::ops::Range<usize>]) -> egui::WidgetText {
    if hits.is_empty() {
        return text.into();
    }
    let font = egui::TextStyle::Body.resolve(ui.style());
    let plain = egui::TextFormat::simple(font.clone(), ui.visuals().text_color());
    let hit = egui::TextFormat {
        background: SEARCH_HIGHLIGHT,
        ..egui::TextFormat::simple(font, egui::Color32::BLACK)
    };
    let mut job = egui::text::LayoutJob::default();
    let mut at = 0;
    for r in hits {
        job.append(&text[at..r.start], 0.0, plain.clone());
        job.append(&text[r.clone()], 0.0, hit.clone());
        at = r.end;
    }
    job.append(&text[at..], 0.0, plain);
    job.into()
}
