//! File dialogs. The system's (xdg-desktop-portal or zenity, through rfd) block until the user
//! answers, so they run on a thread of their own (a `poll_promise::Promise`) while the window
//! keeps drawing; where the desktop has neither, an in-app path picker (typed path with
//! completion, recent files) takes their place, and the status bar says why, once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use poll_promise::Promise;

/// File dialogs, behind a trait so tests never open one.
pub trait FileDialogs: Send {
    fn open(&mut self) -> Option<PathBuf>;
    fn save(&mut self, suggested_name: &str) -> Option<PathBuf>;
    /// A folder, for model directories.
    fn pick_folder(&mut self) -> Option<PathBuf>;
    /// Whether this desktop can show them at all; the in-app picker is used otherwise.
    fn available(&self) -> bool {
        true
    }
    /// Whether a dialog blocks until answered (it then runs on a thread of its own).
    fn blocks(&self) -> bool {
        false
    }
}

/// The system's dialogs (xdg-desktop-portal on Linux, zenity where there is no portal).
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

    fn available(&self) -> bool {
        native_dialogs_available()
    }

    fn blocks(&self) -> bool {
        true
    }
}

/// rfd asks xdg-desktop-portal over the session bus, or runs zenity; with neither it returns
/// "cancelled" at once. `RELARC_DIALOGS=native` or `=in-app` decides instead.
pub fn native_dialogs_available() -> bool {
    match std::env::var("RELARC_DIALOGS").as_deref() {
        Ok("native") => return true,
        Ok("in-app") => return false,
        _ => {}
    }
    let on_path = |tool: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    if on_path("zenity") {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() && portal_on_bus(&on_path)
}

/// Whether the session bus has the desktop portal, asked with `dbus-send` or `gdbus` (assumed
/// when neither tool is there to ask).
fn portal_on_bus(on_path: &dyn Fn(&str) -> bool) -> bool {
    // Names that can be started on demand, then names running now.
    let lists = ["ListActivatableNames", "ListNames"].map(|m| format!("org.freedesktop.DBus.{m}"));
    let listed = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("org.freedesktop.portal.Desktop"))
            .unwrap_or(false)
    };
    if on_path("dbus-send") {
        let to = [
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
        ];
        return lists
            .iter()
            .any(|m| listed("dbus-send", &[&to[..], &[m.as_str()]].concat()));
    }
    if on_path("gdbus") {
        let to = [
            "call",
            "--session",
            "--dest",
            "org.freedesktop.DBus",
            "--object-path",
            "/org/freedesktop/DBus",
        ];
        return lists
            .iter()
            .any(|m| listed("gdbus", &[&to[..], &["--method", m.as_str()]].concat()));
    }
    true
}

/// What a path is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    OpenCorpus,
    SaveCorpus { suggested: String },
    LoadModel,
    SaveModel,
    ExportPredictions,
    DevFile,
}

impl Purpose {
    fn ask(&self, d: &mut dyn FileDialogs) -> Option<PathBuf> {
        match self {
            Purpose::OpenCorpus | Purpose::DevFile => d.open(),
            Purpose::SaveCorpus { suggested } => d.save(suggested),
            Purpose::ExportPredictions => d.save("predictions.json"),
            Purpose::LoadModel | Purpose::SaveModel => d.pick_folder(),
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Purpose::OpenCorpus => "Open corpus",
            Purpose::SaveCorpus { .. } => "Save corpus as",
            Purpose::LoadModel => "Load model (folder)",
            Purpose::SaveModel => "Save model to folder",
            Purpose::ExportPredictions => "Export predictions to",
            Purpose::DevFile => "Dev corpus",
        }
    }

    /// What a typed path must be: None when it will do, else why not.
    fn problem(&self, p: &Path) -> Option<&'static str> {
        let parent_ok = p.parent().is_none_or(|d| d.as_os_str().is_empty() || d.is_dir());
        match self {
            Purpose::OpenCorpus | Purpose::DevFile if !p.exists() => Some("there is no such file or folder"),
            Purpose::LoadModel
                if !p.join("config.json").is_file() && !crate::model::combined::is_combined(p) =>
            {
                Some("not a model folder (no config.json or members.json)")
            }
            Purpose::SaveCorpus { .. } | Purpose::ExportPredictions | Purpose::SaveModel if !parent_ok => {
                Some("its folder does not exist")
            }
            _ => None,
        }
    }
}

/// The in-app picker's state.
pub struct PathPicker {
    pub purpose: Purpose,
    pub text: String,
    problem: Option<&'static str>,
    focus: bool,
}

/// The dialogs of the app: at most one open at a time.
pub struct Dialogs {
    inner: Arc<Mutex<Box<dyn FileDialogs>>>,
    pending: Option<(Purpose, Promise<Option<PathBuf>>)>,
    pub picker: Option<PathPicker>,
    said_why: bool,
}

/// A path the user gave (or None: cancelled), for what it was asked.
pub type Answer = (Purpose, Option<PathBuf>);

impl Dialogs {
    pub fn new(inner: Box<dyn FileDialogs>) -> Dialogs {
        Dialogs {
            inner: Arc::new(Mutex::new(inner)),
            pending: None,
            picker: None,
            said_why: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.pending.is_some() || self.picker.is_some()
    }

    /// Asks for a path. Returns the answer at once for dialogs that do not block; otherwise it
    /// comes from `poll` or the picker. `why` gets the one-time note about the picker.
    pub fn ask(&mut self, ctx: &egui::Context, purpose: Purpose, why: &mut Option<String>) -> Option<Answer> {
        if self.is_open() {
            return None;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.available() {
            if !std::mem::replace(&mut self.said_why, true) {
                *why = Some(
                    "this desktop has no file dialog (xdg-desktop-portal or zenity): type the path instead"
                        .into(),
                );
            }
            self.picker = Some(PathPicker {
                text: start_text(&purpose),
                purpose,
                problem: None,
                focus: true,
            });
            return None;
        }
        if !inner.blocks() {
            let path = purpose.ask(inner.as_mut());
            return Some((purpose, path));
        }
        drop(inner);
        let (shared, ctx, asked) = (self.inner.clone(), ctx.clone(), purpose.clone());
        let promise = Promise::spawn_thread("file dialog", move || {
            let path = asked.ask(shared.lock().unwrap_or_else(|e| e.into_inner()).as_mut());
            ctx.request_repaint();
            path
        });
        self.pending = Some((purpose, promise));
        None
    }

    /// Closes the in-app picker (Escape); false when it was not open.
    pub fn close_picker(&mut self) -> bool {
        self.picker.take().is_some()
    }

    /// The answer of a dialog running on its thread, once it has come.
    pub fn poll(&mut self) -> Option<Answer> {
        let (_, promise) = self.pending.as_ref()?;
        promise.ready()?;
        let (purpose, promise) = self.pending.take()?;
        Some((purpose, promise.block_and_take()))
    }

    /// Draws the in-app picker; its answer once given (OK, Enter or Cancel; Escape is the
    /// app's, through `close_picker`).
    pub fn picker_ui(&mut self, ctx: &egui::Context, recent: &[PathBuf]) -> Option<Answer> {
        let picker = self.picker.as_mut()?;
        let mut answer = None;
        let mut open = true;
        egui::Window::new(picker.purpose.title())
            .open(&mut open)
            .collapsible(false)
            .default_width(520.0)
            .show(ctx, |ui| answer = picker_body(ui, picker, recent));
        if !open {
            answer = Some(None);
        }
        let path = answer?;
        let picker = self.picker.take()?;
        Some((picker.purpose, path))
    }
}

fn start_text(purpose: &Purpose) -> String {
    let dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    match purpose {
        Purpose::SaveCorpus { suggested } => format!("{dir}/{suggested}"),
        Purpose::ExportPredictions => format!("{dir}/predictions.json"),
        _ => format!("{dir}/"),
    }
}

/// The typed path, its completions and the buttons; Some(answer) once the user decides.
fn picker_body(ui: &mut egui::Ui, p: &mut PathPicker, recent: &[PathBuf]) -> Option<Option<PathBuf>> {
    let edit = ui.add(
        egui::TextEdit::singleline(&mut p.text)
            .desired_width(f32::INFINITY)
            .hint_text("a path"),
    );
    if std::mem::take(&mut p.focus) {
        edit.request_focus();
    }
    let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if let Some(fresh) = restarted(&p.text) {
        // "/start/here//tmp/x": a path typed over the one offered starts anew.
        p.text = fresh;
    }
    for c in completions(&p.text, 12) {
        if ui.small_button(&c).clicked() {
            p.text = c;
            p.focus = true;
        }
    }
    if matches!(p.purpose, Purpose::OpenCorpus | Purpose::DevFile) && !recent.is_empty() {
        ui.weak("recent");
        for r in recent.iter().take(6) {
            if ui.small_button(r.display().to_string()).clicked() {
                p.text = r.display().to_string();
            }
        }
    }
    if let Some(why) = p.problem {
        ui.colored_label(ui.visuals().error_fg_color, why);
    }
    let mut answer = None;
    ui.horizontal(|ui| {
        if ui.button("OK").clicked() || entered {
            let path = PathBuf::from(p.text.trim());
            p.problem = p.purpose.problem(&path);
            if p.problem.is_none() {
                answer = Some(Some(path));
            }
        }
        if ui.button("Cancel").clicked() {
            answer = Some(None);
        }
    });
    answer
}

/// The path typed after the offered one, as in Emacs: from the last `//` or `/~/` on.
fn restarted(text: &str) -> Option<String> {
    if let Some(i) = text.rfind("/~/") {
        let home = std::env::var("HOME").ok()?;
        return Some(format!("{home}{}", &text[i + 2..]));
    }
    text.rfind("//").map(|i| text[i + 1..].to_string())
}

/// Paths that continue `typed`: the entries of its folder whose names start with what follows
/// the last `/`, folders with a `/` after them.
pub fn completions(typed: &str, most: usize) -> Vec<String> {
    let (dir, prefix) = match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("./", typed),
    };
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            (name.starts_with(prefix) && !hidden).then(|| {
                let slash = if e.path().is_dir() { "/" } else { "" };
                format!("{}{name}{slash}", if typed.contains('/') { dir } else { "" })
            })
        })
        .collect();
    names.sort();
    names.truncate(most);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_continue_the_typed_name_in_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("corpus.json"), "[]").unwrap();
        std::fs::write(tmp.path().join("corpus.conll"), "").unwrap();
        std::fs::create_dir(tmp.path().join("models")).unwrap();
        std::fs::write(tmp.path().join(".hidden"), "").unwrap();
        let dir = format!("{}/", tmp.path().display());
        assert_eq!(
            completions(&format!("{dir}corp"), 10),
            vec![format!("{dir}corpus.conll"), format!("{dir}corpus.json")]
        );
        assert_eq!(completions(&format!("{dir}m"), 10), vec![format!("{dir}models/")]);
        assert_eq!(completions(&dir, 10).len(), 3, "hidden files only when asked for");
        assert!(completions("/no/such/folder/x", 10).is_empty());
    }

    #[test]
    fn a_path_typed_after_the_offered_one_starts_anew() {
        assert_eq!(restarted("/work/main//tmp/x").as_deref(), Some("/tmp/x"));
        assert_eq!(restarted("/work/main/x"), None);
    }

    #[test]
    fn a_typed_path_must_fit_its_purpose() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing.json");
        assert!(Purpose::OpenCorpus.problem(&missing).is_some());
        assert!(Purpose::ExportPredictions.problem(&missing).is_none());
        assert!(Purpose::ExportPredictions
            .problem(&tmp.path().join("no/x.json"))
            .is_some());
        assert!(Purpose::LoadModel.problem(tmp.path()).is_some());
    }
}
