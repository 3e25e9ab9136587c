//! The app's floating windows: the command palette, prediction metrics, corpus statistics,
//! and the question before quitting with unsaved edits.

use egui::{Key, RichText};

use super::command::{palette, Command, CommandSender, UiCommand};
use super::state::{AppState, Order};
use crate::eval::Metrics;

/// Which windows are open, and the palette's filter text.
#[derive(Default)]
pub struct Windows {
    pub palette: bool,
    pub palette_query: String,
    pub stats: bool,
    pub metrics: bool,
    pub confirm_quit: bool,
    /// A corpus to open once the user has said what to do with the unsaved edits.
    pub confirm_open: Option<std::path::PathBuf>,
    /// The status bar's message in full, in a window of its own.
    pub message: bool,
}

impl Windows {
    /// Closes the message, else the palette, else the metrics, else the statistics; false when
    /// none is open.
    pub fn close_top(&mut self) -> bool {
        for open in [
            &mut self.message,
            &mut self.palette,
            &mut self.metrics,
            &mut self.stats,
        ] {
            if *open {
                *open = false;
                return true;
            }
        }
        false
    }
}

/// The palette: every `UiCommand` with its shortcut, filtered as one types; Enter runs the
/// first match.
pub fn command_palette(ctx: &egui::Context, w: &mut Windows, state: &AppState, tx: &CommandSender) {
    if !w.palette {
        return;
    }
    let mut open = true;
    let mut chosen = None;
    let types = state.entity_types();
    egui::Window::new("Commands")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            let filter = ui.add(egui::TextEdit::singleline(&mut w.palette_query).hint_text("filter"));
            filter.request_focus();
            let q = w.palette_query.to_lowercase();
            let entry = |c: UiCommand| match c.type_number().and_then(|n| types.get(n - 1)) {
                Some(t) => format!("{}: {t}", c.name()),
                None => c.name().to_string(),
            };
            let matches: Vec<UiCommand> = palette()
                .filter(|c| entry(*c).to_lowercase().contains(&q))
                .collect();
            if ui.input(|i| i.key_pressed(Key::Enter)) {
                chosen = matches.first().copied();
            }
            egui::ScrollArea::vertical().max_height(420.0).show(ui, |ui| {
                egui::Grid::new("palette").striped(true).show(ui, |ui| {
                    for c in &matches {
                        if ui.button(entry(*c)).clicked() {
                            chosen = Some(*c);
                        }
                        let keys: Vec<String> =
                            c.shortcuts().iter().map(|s| ctx.format_shortcut(s)).collect();
                        ui.weak(keys.join(" or "));
                        ui.end_row();
                    }
                    ui.label("Make a relation");
                    ui.weak("drag from a type tag to another, or R then click");
                    ui.end_row();
                });
            });
        });
    w.palette = open && chosen.is_none();
    if let Some(c) = chosen {
        tx.send(c);
    }
}

/// Strict scores of the predictions; clicking a type lists its sentences with errors.
pub fn metrics(ctx: &egui::Context, w: &mut Windows, state: &mut AppState, tx: &CommandSender) {
    if !w.metrics {
        return;
    }
    let parts = state.metrics_parts().to_vec();
    let mut pick: Option<String> = None;
    egui::Window::new("Prediction metrics")
        .open(&mut w.metrics)
        .vscroll(true)
        .show(ctx, |ui| {
            if parts.is_empty() {
                ui.label("No predictions yet.");
                return;
            }
            ui.weak(
                "Strict scores of the predictions against gold. Click a type for its sentences with errors.",
            );
            for part in &parts {
                ui.heading(format!("{} ({} sentences)", part.name, part.sentences));
                if part.seen_in_training {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        "The model learned these sentences: their scores overstate how it does on new text.",
                    );
                }
                for (name, m) in [("NER", &part.report.ner), ("RE", &part.report.re)] {
                    ui.label(RichText::new(name).strong());
                    metrics_table(ui, &format!("{} {name}", part.name), m, &mut pick);
                }
            }
        });
    if let Some(t) = pick {
        let mut filter = state.filter.clone();
        filter.errors_only = true;
        filter.error_type = Some(t);
        filter.order = Order::Errors;
        tx.send(Command::SetFilter(filter));
    }
}

fn metrics_table(ui: &mut egui::Ui, name: &str, m: &Metrics, pick: &mut Option<String>) {
    egui::Grid::new(format!("metrics-{name}"))
        .striped(true)
        .show(ui, |ui| {
            for h in ["type", "P", "R", "F1", "support"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (t, s) in &m.per_type {
                if ui.link(t).clicked() {
                    *pick = Some(t.clone());
                }
                for v in [s.precision, s.recall, s.f1] {
                    ui.label(format!("{:.1}", 100.0 * v));
                }
                ui.label(s.support.to_string());
                ui.end_row();
            }
            for (label, x) in [("micro", m.micro), ("macro", m.macro_)] {
                ui.label(label);
                for v in [x.precision, x.recall, x.f1] {
                    ui.label(format!("{:.1}", 100.0 * v));
                }
                ui.label("");
                ui.end_row();
            }
        });
}

pub fn statistics(ctx: &egui::Context, w: &mut Windows, state: &mut AppState) {
    if !w.stats {
        return;
    }
    let st = state.stats().clone();
    egui::Window::new("Corpus statistics")
        .open(&mut w.stats)
        .vscroll(true)
        .show(ctx, |ui| {
            stats_tables(ui, &st);
        });
}

/// The corpus in figures: totals, then a row per entity type and per relation type.
fn stats_tables(ui: &mut egui::Ui, st: &crate::corpus::stats::Stats) {
    let mut totals = vec![
        ("sentences", st.sentences.to_string()),
        ("tokens", st.tokens.to_string()),
        ("longest sentence (tokens)", st.max_len.to_string()),
        ("entities", st.entities.to_string()),
        ("relations", st.relations.to_string()),
        ("overlapping entity pairs", st.overlap_pairs.to_string()),
        ("nested pairs", st.nested_pairs.to_string()),
        ("duplicate sentences", st.duplicate_copies.to_string()),
    ];
    let kept: usize = st.kept_aside.values().sum();
    if kept > 0 {
        totals.push(("kept aside (not modelled)", kept.to_string()));
    }
    table(
        ui,
        "stats-totals",
        &["", "count"],
        totals.into_iter().map(|(k, v)| vec![k.to_string(), v]),
    );
    ui.separator();
    let entities = st.entity_types.iter().map(|(label, n)| {
        let longest = st.entity_lengths.get(label).map_or(0, |l| l.1);
        let mean = st.mean_length(label).unwrap_or(0.0);
        vec![
            label.clone(),
            n.to_string(),
            format!("{mean:.2}"),
            longest.to_string(),
        ]
    });
    table(
        ui,
        "stats-entities",
        &["entity type", "count", "mean tokens", "longest"],
        entities,
    );
    ui.separator();
    let relations = st
        .relation_types
        .iter()
        .map(|(label, n)| vec![label.clone(), n.to_string()]);
    table(ui, "stats-relations", &["relation type", "count"], relations);
}

/// A grid with a header row, numbers right-aligned.
fn table(ui: &mut egui::Ui, id: &str, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(header.len())
        .show(ui, |ui| {
            for h in header {
                ui.strong(*h);
            }
            ui.end_row();
            for row in rows {
                for (i, cell) in row.iter().enumerate() {
                    if i == 0 {
                        ui.label(cell);
                    } else {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            ui.label(cell)
                        });
                    }
                }
                ui.end_row();
            }
        });
}

/// The status bar's message in full, wrapped, for messages longer than the bar.
pub fn message(ctx: &egui::Context, w: &mut Windows, status: Option<&crate::app::status::Status>) {
    let Some(status) = status.filter(|_| w.message) else {
        w.message = false;
        return;
    };
    egui::Window::new("Message")
        .open(&mut w.message)
        .default_width(480.0)
        .show(ctx, |ui| {
            ui.add(egui::Label::new(&status.text).wrap());
            if ui.button("Copy").clicked() {
                ui.ctx().copy_text(status.text.clone());
            }
        });
}

/// What the user answered when asked about unsaved edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsavedAnswer {
    Save,
    Discard,
    Cancel,
}

/// Asks what to do with unsaved edits before `doing` ("quitting", "opening x.json").
pub fn confirm_unsaved(ctx: &egui::Context, doing: &str, discard: &str) -> Option<UnsavedAnswer> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique(("confirm-unsaved", discard))).show(ctx, |ui| {
        ui.label(format!("There are unsaved edits. Save them before {doing}?"));
        ui.horizontal(|ui| {
            if ui.button("Save").clicked() {
                answer = Some(UnsavedAnswer::Save);
            }
            if ui.button(discard).clicked() {
                answer = Some(UnsavedAnswer::Discard);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(UnsavedAnswer::Cancel);
            }
        });
    });
    answer
}
