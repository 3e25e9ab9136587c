//! The desktop app (eframe): a thin layer over the library. It reads `AppState`, draws it,
//! and turns every gesture and shortcut into a `Command`.

pub mod command;
pub mod errors;
pub mod layout;
pub mod model_panel;
pub mod state;
pub mod view;
pub mod worker;

use std::path::{Path, PathBuf};
use std::time::Instant;

use egui::{Key, Modifiers, RichText, ScrollArea, Ui};

use command::{actions, Command, ViewMode, NUMBER_KEYS};
use model_panel::ModelPanel;
use state::{AppState, EditState, Effect, Order, Selection};
use view::{type_colour, SentenceView};

use crate::corpus::Format;

/// File dialogs, behind a trait so tests never open one.
pub trait FileDialogs {
    fn open(&mut self) -> Option<PathBuf>;
    fn save(&mut self, suggested_name: &str) -> Option<PathBuf>;
    /// A folder, for model directories.
    fn pick_folder(&mut self) -> Option<PathBuf>;
}

/// The system's dialogs (xdg portal on Linux).
pub struct NativeDialogs;

const EXTENSIONS: [&str; 7] = ["json", "jsonl", "ann", "txt", "conll", "bio", "tsv"];

impl FileDialogs for NativeDialogs {
    fn open(&mut self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("corpora", &EXTENSIONS)
            .pick_file()
    }

    fn save(&mut self, suggested_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("corpora", &EXTENSIONS)
            .set_file_name(suggested_name)
            .save_file()
    }

    fn pick_folder(&mut self) -> Option<PathBuf> {
        rfd::FileDialog::new().pick_folder()
    }
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Prefs {
    recent: Vec<PathBuf>,
}

const PREFS_KEY: &str = "relarc-prefs";

pub struct RelarcApp {
    pub state: AppState,
    view: SentenceView,
    dialogs: Box<dyn FileDialogs>,
    palette_open: bool,
    palette_query: String,
    stats_open: bool,
    metrics_open: bool,
    focus_search: bool,
    confirm_quit: bool,
    may_close: bool,
    title: String,
    /// Created with the first frame (it needs the context to ask for repaints).
    pub model: Option<ModelPanel>,
    /// A model folder to load once the model panel exists.
    pub initial_model: Option<PathBuf>,
    live_view: SentenceView,
}

impl RelarcApp {
    pub fn new(state: AppState, dialogs: Box<dyn FileDialogs>) -> RelarcApp {
        RelarcApp {
            state,
            view: SentenceView::default(),
            dialogs,
            palette_open: false,
            palette_query: String::new(),
            stats_open: false,
            metrics_open: false,
            focus_search: false,
            confirm_quit: false,
            may_close: false,
            title: String::new(),
            model: None,
            initial_model: None,
            live_view: SentenceView::default(),
        }
    }

    /// Runs a command and whatever UI it asks for.
    pub fn run(&mut self, ctx: &egui::Context, cmd: Command) {
        match self.state.apply(cmd) {
            Effect::None => {}
            Effect::ShowOpenDialog => {
                if let Some(p) = self.dialogs.open() {
                    self.state.apply(Command::OpenPath(p));
                }
            }
            Effect::ShowSaveDialog => {
                let suggested = self
                    .state
                    .path
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .map_or("corpus.json".into(), |n| n.to_string_lossy().to_string());
                if let Some(p) = self.dialogs.save(&suggested) {
                    match Format::detect_output(&p) {
                        Ok(f) => {
                            self.state.apply(Command::SaveTo(p, f));
                        }
                        Err(e) => self.state.status = Some((e.to_string(), true)),
                    }
                }
            }
            Effect::FocusSearch => self.focus_search = true,
            Effect::TogglePalette => self.palette_open = !self.palette_open,
            Effect::ToggleStats => self.stats_open = !self.stats_open,
            Effect::ToggleMetrics => self.metrics_open = !self.metrics_open,
            Effect::LoadModel => {
                if let (Some(dir), Some(m)) = (self.dialogs.pick_folder(), self.model.as_mut()) {
                    m.load(dir);
                }
            }
            Effect::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let mut fired = Vec::new();
        // Shortcuts with more modifiers first: egui lets Ctrl+Z match Ctrl+Shift+Z.
        let mut list = actions();
        list.sort_by_key(|a| {
            std::cmp::Reverse(a.shortcut.map_or(0, |s| {
                s.modifiers.shift as u8 + s.modifiers.command as u8 + s.modifiers.alt as u8
            }))
        });
        ctx.input_mut(|i| {
            for a in list {
                let Some(sc) = a.shortcut else { continue };
                // Plain keys belong to the text field being typed in.
                if typing
                    && sc.modifiers.is_none()
                    && !matches!(sc.logical_key, Key::Escape | Key::PageUp | Key::PageDown)
                {
                    continue;
                }
                if typing && sc.modifiers == Modifiers::SHIFT {
                    continue;
                }
                if i.consume_shortcut(&sc) {
                    fired.push(a.command);
                }
            }
            if !typing {
                for (n, key) in NUMBER_KEYS.iter().enumerate() {
                    if i.consume_key(Modifiers::NONE, *key) {
                        fired.push(Command::EntityTypeNumber(n + 1));
                    }
                }
                if i.consume_key(Modifiers::NONE, Key::Backspace) {
                    fired.push(Command::DeleteSelected);
                }
            }
            // Ctrl+Y also redoes, as on many systems.
            if i.consume_key(Modifiers::COMMAND, Key::Y) {
                fired.push(Command::Redo);
            }
        });
        for c in fired {
            self.run(ctx, c);
        }
    }

    /// Everything the app shows, in a `Ui` (the window's, or a test harness's).
    pub fn show(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.run(&ctx, Command::OpenPath(p));
        }
        if self.model.is_none() {
            let repaint = ctx.clone();
            let mut panel = ModelPanel::new(std::sync::Arc::new(move || repaint.request_repaint()));
            if let Some(dir) = self.initial_model.take() {
                panel.load(dir);
            }
            self.model = Some(panel);
        }
        if let Some(m) = self.model.as_mut() {
            m.poll(&mut self.state);
        }
        self.shortcuts(&ctx);
        self.state.autosave(Instant::now());
        ctx.request_repaint_after(state::AUTOSAVE_EVERY);

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("sentences")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| self.sentence_list(ui));
        egui::Panel::right("model")
            .resizable(true)
            .default_size(320.0)
            .show(ui, |ui| {
                ScrollArea::vertical()
                    .id_salt("model-scroll")
                    .show(ui, |ui| self.model_side(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        self.windows(&ctx);
        self.close_guard(&ctx);
        let title = self.state.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn menu_bar(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let mut cmds = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            let item = |ui: &mut Ui, name: &str, cmd: Command, cmds: &mut Vec<Command>| {
                let shortcut = actions()
                    .into_iter()
                    .find(|a| a.command == cmd)
                    .and_then(|a| a.shortcut)
                    .map(|s| ui.ctx().format_shortcut(&s));
                let mut button = egui::Button::new(name);
                if let Some(s) = shortcut {
                    button = button.shortcut_text(s);
                }
                if ui.add(button).clicked() {
                    cmds.push(cmd);
                }
            };
            ui.menu_button("File", |ui| {
                item(ui, "Open...", Command::Open, &mut cmds);
                ui.menu_button("Open recent", |ui| {
                    let recent = self.state.recent_files();
                    if recent.is_empty() {
                        ui.label("nothing yet");
                    }
                    for p in recent {
                        if ui.button(p.display().to_string()).clicked() {
                            cmds.push(Command::OpenPath(p));
                        }
                    }
                });
                item(ui, "Load model...", Command::LoadModel, &mut cmds);
                item(ui, "Save", Command::Save, &mut cmds);
                item(ui, "Save as...", Command::SaveAs, &mut cmds);
                ui.separator();
                item(ui, "Quit", Command::Quit, &mut cmds);
            });
            ui.menu_button("Edit", |ui| {
                item(ui, "Undo", Command::Undo, &mut cmds);
                item(ui, "Redo", Command::Redo, &mut cmds);
                ui.separator();
                item(ui, "Delete selected", Command::DeleteSelected, &mut cmds);
                item(ui, "Start relation", Command::StartRelation, &mut cmds);
                item(ui, "Reverse relation", Command::ReverseRelation, &mut cmds);
            });
            ui.menu_button("View", |ui| {
                item(ui, "Next sentence", Command::NextSentence, &mut cmds);
                item(ui, "Previous sentence", Command::PrevSentence, &mut cmds);
                item(ui, "Corpus statistics", Command::ToggleStats, &mut cmds);
                item(ui, "Command palette", Command::TogglePalette, &mut cmds);
            });
        });
        for c in cmds {
            self.run(&ctx, c);
        }
    }

    fn model_side(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let Some(mut panel) = self.model.take() else {
            return;
        };
        let dir = self.state.recovery_dir.clone();
        let cmds = panel.ui(ui, &mut self.state, self.dialogs.as_mut(), &dir);
        if let Some(live) = panel.live_sentence().cloned() {
            let types = self.state.entity_types();
            self.live_view
                .show(ui, &live, &types, &Selection::None, None, None);
        }
        self.model = Some(panel);
        for c in cmds {
            self.run(&ctx, c);
        }
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let n = self.state.corpus.sentences.len();
            ui.label(format!("sentence {} of {n}", self.state.current + 1));
            if self.state.dirty {
                ui.label(RichText::new("unsaved edits").strong());
            }
            if let Some((msg, is_error)) = &self.state.status {
                let text = RichText::new(msg);
                ui.label(if *is_error {
                    text.color(ui.visuals().error_fg_color)
                } else {
                    text
                });
            }
        });
    }

    fn sentence_list(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let search = ui.add(
            egui::TextEdit::singleline(&mut self.state.filter.text).hint_text("search sentences (Ctrl+F)"),
        );
        if self.focus_search {
            search.request_focus();
            self.focus_search = false;
        }
        ui.horizontal_wrapped(|ui| {
            let types = self.state.entity_types();
            let rel_types: Vec<String> = self
                .state
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
                &mut self.state.filter.entity_type,
                types,
            );
            type_filter(
                ui,
                "relation",
                "any relation",
                &mut self.state.filter.relation_type,
                rel_types,
            );
            egui::ComboBox::from_label("edits")
                .selected_text(match self.state.filter.edit_state {
                    EditState::All => "all",
                    EditState::Edited => "edited",
                    EditState::Unedited => "unedited",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.state.filter.edit_state, EditState::All, "all");
                    ui.selectable_value(&mut self.state.filter.edit_state, EditState::Edited, "edited");
                    ui.selectable_value(&mut self.state.filter.edit_state, EditState::Unedited, "unedited");
                });
        });
        if self.state.predictions.iter().any(|p| p.is_some()) {
            ui.horizontal_wrapped(|ui| {
                let f = &mut self.state.filter;
                let kind_name = match (f.errors_only, f.error_kind) {
                    (_, Some(k)) => k.name().to_string(),
                    (true, None) => "with errors".into(),
                    (false, None) => "all".into(),
                };
                egui::ComboBox::from_label("errors")
                    .selected_text(kind_name)
                    .show_ui(ui, |ui| {
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
                        for k in errors::ALL_KINDS {
                            if ui.selectable_label(f.error_kind == Some(k), k.name()).clicked() {
                                f.errors_only = true;
                                f.error_kind = Some(k);
                            }
                        }
                    });
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
                    if ui
                        .button(format!("type {t} x"))
                        .on_hover_text("stop filtering by this type")
                        .clicked()
                    {
                        f.error_type = None;
                    }
                }
            });
        }
        let current = self.state.current;
        let list = self.state.filtered().to_vec();
        ui.label(format!(
            "{} of {} sentences",
            list.len(),
            self.state.corpus.sentences.len()
        ));
        let mut go = None;
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        ScrollArea::vertical().auto_shrink([false, false]).show_rows(
            ui,
            row_height,
            list.len(),
            |ui, rows| {
                // One line per row, so virtual scrolling knows every row's height.
                ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
                for &i in &list[rows] {
                    let s = &self.state.corpus.sentences[i];
                    let mut text: String = s.text().chars().take(60).collect();
                    if text.len() < s.text().len() {
                        text.push_str("...");
                    }
                    let label = format!("{:>5}  {text}", i + 1);
                    if ui.selectable_label(i == current, label).clicked() {
                        go = Some(i);
                    }
                }
            },
        );
        if let Some(i) = go {
            self.run(&ctx, Command::GoTo(i));
        }
    }

    fn central(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if let Some(offer) = self.state.recovery.clone() {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!(
                        "Unsaved edits from an earlier session were found ({} sentences).",
                        offer.sentences
                    ))
                    .strong(),
                );
                if ui.button("Restore").clicked() {
                    self.run(&ctx, Command::RestoreRecovery);
                }
                if ui.button("Discard").clicked() {
                    self.run(&ctx, Command::DiscardRecovery);
                }
            });
            ui.separator();
        }
        let types = self.state.entity_types();
        // Legend.
        ui.horizontal_wrapped(|ui| {
            for (i, t) in types.iter().enumerate() {
                ui.label(
                    RichText::new(format!("{} {t}", i + 1))
                        .color(type_colour(i))
                        .strong(),
                );
            }
            ui.weak("- number keys give the selected tokens that type");
        });
        ui.separator();
        let Some(sentence) = self.state.sentence().cloned() else {
            ui.label("This corpus has no sentences.");
            return;
        };
        ui.horizontal(|ui| {
            if ui.button("<").on_hover_text("previous (PageUp)").clicked() {
                self.run(&ctx, Command::PrevSentence);
            }
            ui.heading(format!(
                "Sentence {}{}",
                self.state.current + 1,
                sentence.id().map(|i| format!("  (id {i})")).unwrap_or_default()
            ));
            if ui.button(">").on_hover_text("next (PageDown)").clicked() {
                self.run(&ctx, Command::NextSentence);
            }
        });
        let selection = self.state.selection.clone();
        let head = self.state.relation_head;
        let mode = self.state.view_mode;
        let prediction = self.state.prediction().cloned();
        let cmds = ScrollArea::vertical()
            .id_salt("sentence-scroll")
            .show(ui, |ui| {
                match (mode, prediction) {
                    (ViewMode::Gold, _) | (_, None) => {
                        if mode != ViewMode::Gold {
                            ui.weak("No predictions for this sentence yet: load or train a model, then Predict corpus.");
                        }
                        let cmds = self.view.show(ui, &sentence, &types, &selection, head, None);
                        ui.separator();
                        self.selection_tools(ui, &sentence);
                        // Rejecting is for predictions; gold is deleted instead.
                        cmds.into_iter()
                            .filter(|c| !matches!(c, Command::RejectEntity(_) | Command::RejectRelation(_)))
                            .collect::<Vec<_>>()
                    }
                    (ViewMode::Predicted, Some(p)) => {
                        ui.weak("Click a predicted span or arc to accept it, right-click to reject it; Shift+A accepts all.");
                        let cmds = self.view.show(ui, &p, &types, &Selection::None, None, None);
                        cmds.into_iter()
                            .filter_map(|c| match c {
                                Command::SelectEntity(e) => Some(Command::AcceptEntity(e)),
                                Command::SelectRelation(r) => Some(Command::AcceptRelation(r)),
                                Command::RejectEntity(e) => Some(Command::RejectEntity(e)),
                                Command::RejectRelation(r) => Some(Command::RejectRelation(r)),
                                _ => None,
                            })
                            .collect()
                    }
                    (ViewMode::Diff, Some(p)) => {
                        ui.weak("green: right, orange: spurious (click: accept, right-click: reject), red: missed. Shift+A accepts all.");
                        let d = state::diff(&sentence, &p);
                        let cmds = self.view.show(ui, &d.sentence, &types, &Selection::None, None, Some((&d.entity_marks, &d.relation_marks)));
                        cmds.into_iter()
                            .filter_map(|c| match c {
                                Command::SelectEntity(e) => d.entity_pred[e].filter(|_| d.entity_marks[e] == state::Mark::Spurious).map(Command::AcceptEntity),
                                Command::SelectRelation(r) => d.relation_pred[r].filter(|_| d.relation_marks[r] == state::Mark::Spurious).map(Command::AcceptRelation),
                                Command::RejectEntity(e) => d.entity_pred[e].map(Command::RejectEntity),
                                Command::RejectRelation(r) => d.relation_pred[r].map(Command::RejectRelation),
                                _ => None,
                            })
                            .collect()
                    }
                }
            })
            .inner;
        for c in cmds {
            self.run(&ctx, c);
        }
    }

    /// Buttons for what can be done with the selection, for mouse users.
    fn selection_tools(&mut self, ui: &mut Ui, s: &crate::corpus::Sentence) {
        let ctx = ui.ctx().clone();
        let mut cmds = Vec::new();
        match self.state.selection.clone() {
            Selection::Tokens { .. } | Selection::Entity(_) if self.state.relation_tail.is_none() => {
                ui.horizontal_wrapped(|ui| {
                    ui.label("type:");
                    for (i, t) in self.state.entity_types().iter().enumerate() {
                        if ui
                            .button(RichText::new(format!("{} {t}", i + 1)).color(type_colour(i)))
                            .clicked()
                        {
                            cmds.push(Command::SetEntityType(t.clone()));
                        }
                    }
                    if let Selection::Entity(e) = self.state.selection {
                        ui.label(format!("selected: {}", view::entity_label(s, e)));
                        if ui.button("Delete").clicked() {
                            cmds.push(Command::DeleteSelected);
                        }
                        if ui.button("Relation from here (R)").clicked() {
                            cmds.push(Command::StartRelation);
                        }
                    }
                });
            }
            _ => {}
        }
        let choices = self.state.relation_choices();
        if !choices.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("relation type:");
                for (i, t) in choices.iter().enumerate() {
                    if ui.button(format!("{} {t}", i + 1)).clicked() {
                        cmds.push(Command::SetRelationType(t.clone()));
                    }
                }
                if let Selection::Relation(r) = self.state.selection {
                    ui.label(format!("selected: {}", view::relation_label(s, r)));
                    if ui.button("Reverse (V)").clicked() {
                        cmds.push(Command::ReverseRelation);
                    }
                    if ui.button("Delete").clicked() {
                        cmds.push(Command::DeleteSelected);
                    }
                }
            });
        }
        for c in cmds {
            self.run(&ctx, c);
        }
    }

    fn windows(&mut self, ctx: &egui::Context) {
        if self.palette_open {
            let mut open = true;
            let mut chosen = None;
            egui::Window::new("Commands")
                .open(&mut open)
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.add(egui::TextEdit::singleline(&mut self.palette_query).hint_text("filter"));
                    let q = self.palette_query.to_lowercase();
                    egui::Grid::new("palette").striped(true).show(ui, |ui| {
                        for a in actions()
                            .into_iter()
                            .filter(|a| a.name.to_lowercase().contains(&q))
                        {
                            if ui.button(a.name).clicked() {
                                chosen = Some(a.command.clone());
                            }
                            ui.weak(a.shortcut.map(|s| ctx.format_shortcut(&s)).unwrap_or_default());
                            ui.end_row();
                        }
                        ui.label("Give the selection type 1-9");
                        ui.weak("1 ... 9");
                        ui.end_row();
                        ui.label("Make a relation");
                        ui.weak("drag from a type tag to another, or R then click");
                        ui.end_row();
                    });
                });
            self.palette_open = open && chosen.is_none();
            if let Some(c) = chosen {
                self.run(ctx, c);
            }
        }
        if self.metrics_open {
            let mut open = true;
            let report = self.state.metrics().cloned();
            let mut pick: Option<String> = None;
            egui::Window::new("Prediction metrics").open(&mut open).show(ctx, |ui| {
                let Some(r) = report else {
                    ui.label("No predictions yet.");
                    return;
                };
                ui.weak("Strict scores of the predictions against gold. Click a type for its sentences with errors.");
                for (name, m) in [("NER", &r.ner), ("RE", &r.re)] {
                    ui.label(RichText::new(name).strong());
                    egui::Grid::new(format!("metrics-{name}")).striped(true).show(ui, |ui| {
                        for h in ["type", "P", "R", "F1", "support"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (t, s) in &m.per_type {
                            if ui.link(t).clicked() {
                                pick = Some(t.clone());
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
            });
            self.metrics_open = open;
            if let Some(t) = pick {
                self.state.filter.errors_only = true;
                self.state.filter.error_type = Some(t);
                self.state.filter.order = Order::Errors;
            }
        }
        if self.stats_open {
            let mut open = true;
            let text = self.state.stats().to_string();
            egui::Window::new("Corpus statistics")
                .open(&mut open)
                .show(ctx, |ui| {
                    ui.monospace(text);
                });
            self.stats_open = open;
        }
    }

    /// Quitting with unsaved edits asks first.
    fn close_guard(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && self.state.dirty && !self.may_close {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
        if self.confirm_quit {
            egui::Modal::new(egui::Id::unique("confirm-quit")).show(ctx, |ui| {
                ui.label("There are unsaved edits. Save them before quitting?");
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        self.confirm_quit = false;
                        self.run(ctx, Command::Save);
                        if !self.state.dirty {
                            self.may_close = true;
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                    }
                    if ui.button("Quit without saving").clicked() {
                        self.confirm_quit = false;
                        self.may_close = true;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirm_quit = false;
                    }
                });
            });
        }
    }
}

impl eframe::App for RelarcApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(
            storage,
            PREFS_KEY,
            &Prefs {
                recent: self.state.recent.clone(),
            },
        );
    }
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

/// Where recovery files of corpora without a file go.
pub fn recovery_dir() -> PathBuf {
    eframe::storage_dir("relarc").unwrap_or_else(std::env::temp_dir)
}

/// Opens the window: the corpus at `path`, or the demo corpus.
pub fn run(path: Option<&Path>, model: Option<&Path>) -> Result<(), String> {
    let mut state = AppState::demo(recovery_dir());
    if let Some(p) = path {
        if !state.open(p) {
            return Err(state.status.map(|s| s.0).unwrap_or_default());
        }
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1200.0, 760.0])
            .with_title("relarc")
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let model = model.map(Path::to_path_buf);
    eframe::run_native(
        "relarc",
        options,
        Box::new(move |cc| {
            if let Some(prefs) = cc.storage.and_then(|s| eframe::get_value::<Prefs>(s, PREFS_KEY)) {
                state.recent = prefs.recent;
            }
            let mut app = RelarcApp::new(state, Box::new(NativeDialogs));
            app.initial_model = model.or_else(default_model);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        format!("could not open a window: {e} (is a display available? the subcommands work without one)")
    })
}

/// The model shipped in `models/default`, next to the executable's project or the current
/// folder.
pub fn default_model() -> Option<PathBuf> {
    let here = PathBuf::from("models/default");
    let beside_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    [here, beside_source]
        .into_iter()
        .find(|p| p.join("config.json").exists())
}
