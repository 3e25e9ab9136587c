//! The desktop app (eframe): a thin layer over the library. It reads `AppState`, draws it,
//! and turns every gesture and shortcut into a command sent to one queue, drained once per
//! frame (`execute` routes each to the state, the window shell or the model controller).
//!
//! Without egui: `command` (the command model), `state` (the corpus being edited, tested
//! without a window), `controller` (model threads), `status`, `layout`, `worker`. With
//! egui: `view` (the sentence), `central`, `sentence_list`, `model_panel`, `menu`, `windows`.

pub mod background;
mod central;
pub mod command;
pub mod controller;
pub mod dialogs;
pub mod layout;
mod live;
mod menu;
pub mod model_panel;
mod sentence_list;
pub mod state;
pub mod status;
pub mod view;
mod windows;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use egui::{ScrollArea, Ui};

use command::{shortcut_table, Command, CommandSender, Handler, UiCommand};
use controller::ModelController;
use state::AppState;
use status::Status;
use view::SentenceView;
use windows::{UnsavedAnswer, Windows};

use background::{Background, Finished};
use dialogs::{Dialogs, Purpose};
pub use dialogs::{FileDialogs, NativeDialogs};

use crate::corpus::Format;

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Prefs {
    recent: Vec<PathBuf>,
}

const PREFS_KEY: &str = "relarc-prefs";

/// The most of the window's width each side panel takes.
const SIDE_SHARE: f32 = 0.3;

pub struct RelarcApp {
    pub state: AppState,
    view: SentenceView,
    dialogs: Dialogs,
    /// The model panel asked for a dev file this frame.
    ask_dev_file: bool,
    windows: Windows,
    focus_search: bool,
    may_close: bool,
    title: String,
    /// Created with the first frame (it needs the context to ask for repaints).
    pub model: Option<ModelController>,
    /// A model folder to load once the model controller exists.
    pub initial_model: Option<PathBuf>,
    live_view: SentenceView,
    /// Whether the sentence list (left) and the model panel (right) are shown.
    show_sentences: bool,
    show_model: bool,
    /// The centre shows live extraction instead of the corpus's sentence.
    live_centre: bool,
    /// The live text field takes the focus on the next frame.
    focus_live: bool,
    /// Opening, saving and exporting, each on a thread of its own.
    background: Background,
    /// What to do once the saves under way have ended.
    then: Option<Then>,
    tx: CommandSender,
    rx: Receiver<Command>,
}

/// What waits for a save to end: quitting, or opening another corpus.
struct Then {
    action: Action,
    /// Only once the edits are saved (the user chose Save); a failed save calls it off.
    needs_saved: bool,
}

enum Action {
    Close,
    Open(PathBuf),
}

impl RelarcApp {
    pub fn new(state: AppState, dialogs: Box<dyn FileDialogs>) -> RelarcApp {
        let (tx, rx) = command::queue();
        RelarcApp {
            state,
            view: SentenceView::default(),
            dialogs: Dialogs::new(dialogs),
            ask_dev_file: false,
            windows: Windows::default(),
            focus_search: false,
            may_close: false,
            title: String::new(),
            model: None,
            initial_model: None,
            live_view: SentenceView::default(),
            show_sentences: true,
            show_model: true,
            live_centre: false,
            focus_live: false,
            background: Background::default(),
            then: None,
            tx,
            rx,
        }
    }

    /// A handle to the command queue, for code outside the app's own drawing.
    pub fn sender(&self) -> CommandSender {
        self.tx.clone()
    }

    /// Carries out a command now, where it belongs.
    pub fn run(&mut self, ctx: &egui::Context, cmd: impl Into<Command>) {
        match cmd.into() {
            Command::Ui(c) => match c.handler() {
                Handler::State => self.run_state_ui(ctx, c),
                Handler::Shell => self.run_shell(ctx, c),
                Handler::Model => self.run_model(ctx, c),
            },
            Command::OpenPath(p) if self.state.dirty => self.windows.confirm_open = Some(p),
            Command::OpenPath(p) => self.background.open(ctx, p, &mut self.state),
            Command::SaveTo(p, f) => self.background.save(ctx, p, f, &mut self.state),
            other => self.state.apply(other),
        }
    }

    fn run_state_ui(&mut self, ctx: &egui::Context, c: UiCommand) {
        // Escape closes the path picker or the window on top first; with none open it clears
        // the selection.
        if c == UiCommand::ClearSelection && (self.dialogs.close_picker() || self.windows.close_top()) {
            return;
        }
        if c != UiCommand::Save {
            return self.state.apply(c);
        }
        // Save has nowhere to go without a file: then it is Save as.
        match self.state.path.clone() {
            Some(p) => self.background.save(ctx, p, self.state.format, &mut self.state),
            None => self.save_dialog(ctx),
        }
    }

    fn run_shell(&mut self, ctx: &egui::Context, c: UiCommand) {
        use UiCommand::*;
        match c {
            Open => self.ask(ctx, Purpose::OpenCorpus),
            SaveAs => self.save_dialog(ctx),
            Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            FocusSearch => self.focus_search = true,
            TogglePalette => self.windows.palette = !self.windows.palette,
            ToggleStats => self.windows.stats = !self.windows.stats,
            ToggleMetrics => self.windows.metrics = !self.windows.metrics,
            ToggleSentenceList => self.show_sentences = !self.show_sentences,
            ToggleModelPanel => self.show_model = !self.show_model,
            ToggleLive => {
                self.live_centre = !self.live_centre;
                self.focus_live = self.live_centre;
            }
            other => unreachable!("{other:?} is not the shell's"),
        }
    }

    fn save_dialog(&mut self, ctx: &egui::Context) {
        let suggested = self
            .state
            .path
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or("corpus.json".into(), |n| n.to_string_lossy().to_string());
        self.ask(ctx, Purpose::SaveCorpus { suggested });
    }

    /// Asks for a path; the answer is carried out now or when it comes.
    fn ask(&mut self, ctx: &egui::Context, purpose: Purpose) {
        let mut why = None;
        let answer = self.dialogs.ask(ctx, purpose, &mut why);
        if let Some(why) = why {
            self.state.status = Some(Status::info(why));
        }
        if let Some(a) = answer {
            self.answer(ctx, a);
        }
    }

    /// Does what a path was asked for.
    fn answer(&mut self, ctx: &egui::Context, (purpose, path): dialogs::Answer) {
        let Some(p) = path else { return };
        match purpose {
            Purpose::OpenCorpus => self.run(ctx, Command::OpenPath(p)),
            Purpose::SaveCorpus { .. } => match Format::detect_output(&p) {
                Ok(f) => self.run(ctx, Command::SaveTo(p, f)),
                Err(e) => self.state.status = Some(Status::error(e.to_string())),
            },
            Purpose::ExportPredictions => self.background.export(ctx, p, &mut self.state),
            Purpose::LoadModel => self.model.iter_mut().for_each(|m| m.load(p.clone())),
            Purpose::SaveModel => self.model.iter_mut().for_each(|m| m.save(p.clone())),
            Purpose::DevFile => self
                .model
                .iter_mut()
                .for_each(|m| m.settings.dev_file = Some(p.clone())),
        }
    }

    fn run_model(&mut self, ctx: &egui::Context, c: UiCommand) {
        use UiCommand::*;
        match c {
            LoadModel => return self.ask(ctx, Purpose::LoadModel),
            SaveModel => return self.ask(ctx, Purpose::SaveModel),
            ExportPredictions => return self.ask(ctx, Purpose::ExportPredictions),
            _ => {}
        }
        let Some(ctl) = self.model.as_mut() else { return };
        match c {
            Train => {
                let models = self.state.recovery_dir.join("models");
                ctl.start_training(&mut self.state, &models);
            }
            CancelTraining => ctl.cancel(),
            PredictCorpus => match ctl.type_mismatch(&self.state.corpus.schema.entity_types) {
                // Predictions of other types would read as all wrong: say why instead.
                Some((model, corpus)) => {
                    self.state.status = Some(Status::error(format!(
                        "this model predicts {} but the corpus has {}: load a model for these types",
                        model.join(", "),
                        corpus.join(", ")
                    )))
                }
                None => ctl.predict_corpus(&mut self.state),
            },
            other => unreachable!("{other:?} is not the model controller's"),
        }
    }

    /// Keys to commands: the one shortcut table, plain keys left to a text field being typed in.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        // An open menu or combo box closes on Escape itself.
        let popup = egui::Popup::is_any_open(ctx);
        ctx.input_mut(|i| {
            for (sc, c) in shortcut_table() {
                if typing && UiCommand::yields_to_typing(sc) {
                    continue;
                }
                if popup && sc.logical_key == egui::Key::Escape {
                    continue;
                }
                if i.consume_shortcut(sc) {
                    self.tx.send(*c);
                }
            }
        });
    }

    /// Everything the app shows, in a `Ui` (the window's, or a test harness's).
    pub fn show(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.take_dropped_files(&ctx);
        self.start_model(&ctx);
        if let Some(m) = self.model.as_mut() {
            m.poll(&mut self.state);
        }
        self.background_work(&ctx);
        self.shortcuts(&ctx);
        self.state.autosave(Instant::now());
        ctx.request_repaint_after(state::AUTOSAVE_EVERY);
        self.panels(ui);
        windows::command_palette(&ctx, &mut self.windows, &self.state, &self.tx);
        windows::metrics(&ctx, &mut self.windows, &mut self.state, &self.tx);
        windows::statistics(&ctx, &mut self.windows, &mut self.state);
        windows::message(&ctx, &mut self.windows, self.state.status.as_ref());
        self.file_dialogs(&ctx);
        self.close_guard(&ctx);
        self.open_guard(&ctx);
        self.drain(&ctx);
        let title = self.state.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// Takes in what the background jobs finished, and carries out what waited for them.
    fn background_work(&mut self, ctx: &egui::Context) {
        for f in self.background.poll(ctx, &mut self.state) {
            match f {
                Finished::OpenedOverEdits(p) => self.windows.confirm_open = Some(p),
                Finished::Saved(_) => {}
            }
        }
        if self.background.writing() || self.dialogs.is_open() {
            return;
        }
        let Some(then) = self.then.take() else { return };
        if then.needs_saved && self.state.dirty {
            // The save failed or was cancelled; the status says which.
            return;
        }
        match then.action {
            Action::Close => {
                self.may_close = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Action::Open(p) => self.background.open(ctx, p, &mut self.state),
        }
    }

    /// Whether a job is still running in the background (tests wait for them).
    pub fn background_busy(&self) -> bool {
        self.background.busy() || self.then.is_some()
    }

    /// Answers of dialogs on their threads, the in-app picker, and a dev file asked for.
    fn file_dialogs(&mut self, ctx: &egui::Context) {
        if std::mem::take(&mut self.ask_dev_file) {
            self.ask(ctx, Purpose::DevFile);
        }
        if let Some(a) = self.dialogs.poll() {
            self.answer(ctx, a);
        }
        let recent = self.state.recent_files();
        if let Some(a) = self.dialogs.picker_ui(ctx, &recent) {
            self.answer(ctx, a);
        }
    }

    /// Runs every command sent during this frame, in order.
    fn drain(&mut self, ctx: &egui::Context) {
        while let Ok(c) = self.rx.try_recv() {
            self.run(ctx, c);
        }
    }

    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| !p.as_os_str().is_empty())
        });
        if let Some(p) = dropped {
            self.tx.send(Command::OpenPath(p));
        }
    }

    fn start_model(&mut self, ctx: &egui::Context) {
        if self.model.is_some() {
            return;
        }
        let repaint = ctx.clone();
        let mut ctl = ModelController::new(std::sync::Arc::new(move || repaint.request_repaint()));
        if let Some(dir) = self.initial_model.take() {
            ctl.load(dir);
        }
        self.model = Some(ctl);
    }

    fn panels(&mut self, ui: &mut Ui) {
        egui::Panel::top("menu").show(ui, |ui| menu::bar(ui, &self.state, &self.tx));
        if self.background.opening.is_some() {
            egui::Panel::top("opening").show(ui, |ui| self.opening_bar(ui));
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        // Each side panel takes at most this share of the width, so the sentence keeps at
        // least 40% of it in a small window (800 px: 320 px).
        let side = (ui.available_width() * SIDE_SHARE).max(120.0);
        if self.show_sentences {
            egui::Panel::left("sentences")
                .resizable(true)
                .default_size(300.0f32.min(side))
                .max_size(side)
                .show(ui, |ui| {
                    sentence_list::show(ui, &mut self.state, &mut self.focus_search, &self.tx)
                });
        }
        if self.show_model {
            egui::Panel::right("model")
                .resizable(true)
                .default_size(320.0f32.min(side))
                .max_size(side)
                .show(ui, |ui| {
                    ScrollArea::vertical()
                        .id_salt("model-scroll")
                        .show(ui, |ui| self.model_side(ui));
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.centre_tabs(ui);
            if self.live_centre {
                self.live(ui);
            } else {
                central::show(ui, &self.state, &mut self.view, &self.tx);
            }
        });
    }

    /// The corpus or live extraction in the centre.
    fn centre_tabs(&mut self, ui: &mut Ui) {
        let key = ui.ctx().format_shortcut(&UiCommand::ToggleLive.shortcuts()[0]);
        ui.horizontal(|ui| {
            for (live, name) in [(false, "Corpus"), (true, "Live extraction")] {
                let tab = ui.selectable_label(self.live_centre == live, name);
                if tab.on_hover_text(format!("switch with {key}")).clicked() && self.live_centre != live {
                    self.tx.send(UiCommand::ToggleLive);
                }
            }
        });
        ui.separator();
    }

    fn live(&mut self, ui: &mut Ui) {
        let types = self.state.entity_types();
        let Some(ctl) = self.model.as_mut() else { return };
        live::show(
            ui,
            ctl,
            &mut self.live_view,
            &types,
            &mut self.focus_live,
            &self.tx,
        );
    }

    /// A corpus being read: how far, and a way to stop waiting. The corpus shown stays usable.
    fn opening_bar(&mut self, ui: &mut Ui) {
        let Some(o) = &self.background.opening else { return };
        let text = o.describe();
        let mut cancel = false;
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(text);
            cancel = ui.button("Cancel").clicked();
        });
        if cancel {
            self.background.cancel_open(&mut self.state);
        }
    }

    fn model_side(&mut self, ui: &mut Ui) {
        let Some(ctl) = self.model.as_mut() else { return };
        model_panel::show(ui, ctl, &self.state, &mut self.ask_dev_file, &self.tx);
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let n = self.state.corpus.sentences.len();
            ui.label(format!("sentence {} of {n}", self.state.current + 1));
            if self.state.dirty {
                ui.label(egui::RichText::new("unsaved edits").strong());
            }
            if let Some(status) = &self.state.status {
                let text = egui::RichText::new(&status.text);
                let text = if status.is_error() {
                    text.color(ui.visuals().error_fg_color)
                } else {
                    text
                };
                // Cut to the bar's width; the whole message opens on a click.
                let label = ui.add(egui::Label::new(text).truncate().sense(egui::Sense::click()));
                if label.on_hover_text("click to read the whole message").clicked() {
                    self.windows.message = true;
                }
            }
        });
    }

    /// Quitting with unsaved edits asks first; with a file being written, it waits for it.
    fn close_guard(&mut self, ctx: &egui::Context) {
        let asked = ctx.input(|i| i.viewport().close_requested()) && !self.may_close;
        if asked && (self.state.dirty || self.background.writing()) {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            if self.state.dirty {
                self.windows.confirm_quit = true;
            } else {
                self.state.status = Some(Status::info("quitting once the file being written is complete"));
                self.then_do(Action::Close, false);
            }
        }
        if !self.windows.confirm_quit {
            return;
        }
        let Some(answer) = windows::confirm_unsaved(ctx, "quitting", "Quit without saving") else {
            return;
        };
        self.windows.confirm_quit = false;
        self.settle(ctx, answer, Action::Close);
    }

    /// Opening another corpus with unsaved edits asks first, as quitting does.
    fn open_guard(&mut self, ctx: &egui::Context) {
        let Some(path) = self.windows.confirm_open.clone() else {
            return;
        };
        let name = path
            .file_name()
            .map_or(path.display().to_string(), |n| n.to_string_lossy().to_string());
        let Some(answer) = windows::confirm_unsaved(ctx, &format!("opening {name}"), "Open without saving")
        else {
            return;
        };
        self.windows.confirm_open = None;
        self.settle(ctx, answer, Action::Open(path));
    }

    /// Carries out the answer about unsaved edits: `action` follows once they are saved (or
    /// at once when they are given up).
    fn settle(&mut self, ctx: &egui::Context, answer: UnsavedAnswer, action: Action) {
        match answer {
            UnsavedAnswer::Save => {
                self.run(ctx, UiCommand::Save);
                self.then_do(action, true);
            }
            UnsavedAnswer::Discard => self.then_do(action, false),
            UnsavedAnswer::Cancel => {}
        }
    }

    /// `action` once the saves under way (and a Save as dialog) have ended.
    fn then_do(&mut self, action: Action, needs_saved: bool) {
        self.then = Some(Then { action, needs_saved });
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

/// Where recovery files of corpora without a file go.
pub fn recovery_dir() -> PathBuf {
    eframe::storage_dir("relarc").unwrap_or_else(std::env::temp_dir)
}

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The corpus given on the command line; the message is what the app would show.
    #[error("{0}")]
    Open(String),
    #[error("could not open a window: {0} (is a display available? the subcommands work without one)")]
    Window(String),
}

/// Opens the window: the corpus at `path`, or the demo corpus.
pub fn run(path: Option<&Path>, model: Option<&Path>) -> Result<(), AppError> {
    let mut state = AppState::demo(recovery_dir());
    if let Some(p) = path {
        if !state.open(p) {
            return Err(AppError::Open(state.status.map(|s| s.text).unwrap_or_default()));
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
    let types = state.corpus.schema.entity_types.clone();
    eframe::run_native(
        "relarc",
        options,
        Box::new(move |cc| {
            if let Some(prefs) = cc.storage.and_then(|s| eframe::get_value::<Prefs>(s, PREFS_KEY)) {
                state.recent = prefs.recent;
            }
            let mut app = RelarcApp::new(state, Box::new(NativeDialogs));
            // Without a model named, the shipped one whose types fit the corpus.
            app.initial_model = model.or_else(|| crate::model::shipped::fitting_model(&types));
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| AppError::Window(e.to_string()))
}
