//! Every user action is a command, as in rerun's `UICommand` + `CommandSender`.
//!
//! `UiCommand`s carry no payload: each has its name, its shortcuts and its place in the
//! palette, given by exhaustive matches, so a new one cannot be forgotten in any of them.
//! `Command` adds the actions that carry data (a path, a sentence, an entity). Menus,
//! buttons, keys, the palette and tests all push commands into one queue (`CommandSender`),
//! which the app drains once per frame.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};

use egui::{Key, KeyboardShortcut, Modifiers};
use strum::{EnumIter, IntoEnumIterator};

use super::state::Filter;
use crate::corpus::{Format, Sentence};

/// Actions without payload: named, with shortcuts, all of them in the palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter)]
pub enum UiCommand {
    // Files
    Open,
    Save,
    SaveAs,
    Quit,
    // History
    Undo,
    Redo,
    // Navigation and windows
    NextSentence,
    PrevSentence,
    FocusSearch,
    TogglePalette,
    ToggleStats,
    ToggleMetrics,
    ToggleSentenceList,
    ToggleModelPanel,
    ToggleLive,
    // Selection
    CursorLeft,
    CursorRight,
    ExtendLeft,
    ExtendRight,
    ClearSelection,
    // Editing
    DeleteSelected,
    StartRelation,
    ReverseRelation,
    Type1,
    Type2,
    Type3,
    Type4,
    Type5,
    Type6,
    Type7,
    Type8,
    Type9,
    // Predictions
    ShowGold,
    ShowPredicted,
    ShowDiff,
    ToggleBio,
    AcceptAll,
    // Model
    LoadModel,
    SaveModel,
    Train,
    CancelTraining,
    PredictCorpus,
    ExportPredictions,
}

/// Who carries a command out: the app state (edits, navigation, views), the window shell
/// (dialogs and windows), or the model controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    State,
    Shell,
    Model,
}

const fn sc(modifiers: Modifiers, key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(modifiers, key)
}

/// A `'static` slice of shortcuts (a `const` item, since calls are not promoted).
macro_rules! keys {
    ($($s:expr),+) => {{
        const KEYS: &[KeyboardShortcut] = &[$($s),+];
        KEYS
    }};
}

const CMD: Modifiers = Modifiers::COMMAND;
const CMD_SHIFT: Modifiers = Modifiers {
    shift: true,
    ..Modifiers::COMMAND
};
const NONE: Modifiers = Modifiers::NONE;
const SHIFT: Modifiers = Modifiers::SHIFT;

impl UiCommand {
    pub fn name(self) -> &'static str {
        use UiCommand::*;
        match self {
            Open => "Open corpus...",
            Save => "Save",
            SaveAs => "Save as...",
            Quit => "Quit",
            Undo => "Undo",
            Redo => "Redo",
            NextSentence => "Next sentence",
            PrevSentence => "Previous sentence",
            FocusSearch => "Search sentences",
            TogglePalette => "Command palette",
            ToggleStats => "Corpus statistics",
            ToggleMetrics => "Prediction metrics",
            ToggleSentenceList => "Show or hide the sentence list",
            ToggleModelPanel => "Show or hide the model panel",
            ToggleLive => "Live extraction (or back to the corpus)",
            CursorLeft => "Move cursor left",
            CursorRight => "Move cursor right",
            ExtendLeft => "Extend selection left",
            ExtendRight => "Extend selection right",
            ClearSelection => "Clear selection",
            DeleteSelected => "Delete selected span or relation",
            StartRelation => "Start a relation from the selected span",
            ReverseRelation => "Reverse the selected relation",
            Type1 => "Type 1",
            Type2 => "Type 2",
            Type3 => "Type 3",
            Type4 => "Type 4",
            Type5 => "Type 5",
            Type6 => "Type 6",
            Type7 => "Type 7",
            Type8 => "Type 8",
            Type9 => "Type 9",
            ShowGold => "Show gold annotations",
            ShowPredicted => "Show predictions",
            ShowDiff => "Show the difference",
            ToggleBio => "Show or hide BIO tags under the tokens",
            AcceptAll => "Accept every prediction of the sentence",
            LoadModel => "Load model...",
            SaveModel => "Save model as...",
            Train => "Train on this corpus",
            CancelTraining => "Cancel training",
            PredictCorpus => "Predict corpus",
            ExportPredictions => "Export predictions...",
        }
    }

    /// Its keys; the first is the one menus and the palette show.
    pub fn shortcuts(self) -> &'static [KeyboardShortcut] {
        use UiCommand::*;
        match self {
            Open => keys![sc(CMD, Key::O)],
            Save => keys![sc(CMD, Key::S)],
            SaveAs => keys![sc(CMD_SHIFT, Key::S)],
            Quit => keys![sc(CMD, Key::Q)],
            Undo => keys![sc(CMD, Key::Z)],
            // Ctrl+Y also redoes, as on many systems.
            Redo => keys![sc(CMD_SHIFT, Key::Z), sc(CMD, Key::Y)],
            // In a filtered list the next sentence is the next match: F3 as in other finders.
            NextSentence => keys![sc(NONE, Key::PageDown), sc(NONE, Key::F3)],
            PrevSentence => keys![sc(NONE, Key::PageUp), sc(SHIFT, Key::F3)],
            FocusSearch => keys![sc(CMD, Key::F)],
            TogglePalette => keys![sc(CMD_SHIFT, Key::P)],
            ToggleStats => keys![sc(CMD_SHIFT, Key::I)],
            ToggleMetrics => keys![sc(CMD_SHIFT, Key::M)],
            // As the side bar and the panel of common editors.
            ToggleSentenceList => keys![sc(CMD, Key::B)],
            ToggleModelPanel => keys![sc(CMD, Key::J)],
            // E for extraction (Ctrl+L loads a model).
            ToggleLive => keys![sc(CMD, Key::E)],
            CursorLeft => keys![sc(NONE, Key::ArrowLeft)],
            CursorRight => keys![sc(NONE, Key::ArrowRight)],
            ExtendLeft => keys![sc(SHIFT, Key::ArrowLeft)],
            ExtendRight => keys![sc(SHIFT, Key::ArrowRight)],
            ClearSelection => keys![sc(NONE, Key::Escape)],
            DeleteSelected => keys![sc(NONE, Key::Delete), sc(NONE, Key::Backspace)],
            StartRelation => keys![sc(NONE, Key::R)],
            ReverseRelation => keys![sc(NONE, Key::V)],
            Type1 => keys![sc(NONE, Key::Num1)],
            Type2 => keys![sc(NONE, Key::Num2)],
            Type3 => keys![sc(NONE, Key::Num3)],
            Type4 => keys![sc(NONE, Key::Num4)],
            Type5 => keys![sc(NONE, Key::Num5)],
            Type6 => keys![sc(NONE, Key::Num6)],
            Type7 => keys![sc(NONE, Key::Num7)],
            Type8 => keys![sc(NONE, Key::Num8)],
            Type9 => keys![sc(NONE, Key::Num9)],
            ShowGold => keys![sc(NONE, Key::G)],
            ShowPredicted => keys![sc(NONE, Key::P)],
            ShowDiff => keys![sc(NONE, Key::D)],
            ToggleBio => keys![sc(NONE, Key::B)],
            AcceptAll => keys![sc(SHIFT, Key::A)],
            LoadModel => keys![sc(CMD, Key::L)],
            SaveModel => keys![sc(CMD_SHIFT, Key::L)],
            Train => keys![sc(CMD, Key::T)],
            CancelTraining => keys![sc(CMD_SHIFT, Key::T)],
            PredictCorpus => keys![sc(CMD_SHIFT, Key::R)],
            ExportPredictions => keys![sc(CMD_SHIFT, Key::E)],
        }
    }

    pub fn handler(self) -> Handler {
        use UiCommand::*;
        match self {
            Open | SaveAs | Quit | FocusSearch | TogglePalette | ToggleStats | ToggleMetrics
            | ToggleSentenceList | ToggleModelPanel | ToggleLive => Handler::Shell,
            LoadModel | SaveModel | Train | CancelTraining | PredictCorpus | ExportPredictions => {
                Handler::Model
            }
            Save | Undo | Redo | NextSentence | PrevSentence | CursorLeft | CursorRight | ExtendLeft
            | ExtendRight | ClearSelection | DeleteSelected | StartRelation | ReverseRelation | Type1
            | Type2 | Type3 | Type4 | Type5 | Type6 | Type7 | Type8 | Type9 | ShowGold | ShowPredicted
            | ShowDiff | ToggleBio | AcceptAll => Handler::State,
        }
    }

    /// For the number keys: the 1-based number of the type they pick.
    pub fn type_number(self) -> Option<usize> {
        use UiCommand::*;
        let n = match self {
            Type1 => 1,
            Type2 => 2,
            Type3 => 3,
            Type4 => 4,
            Type5 => 5,
            Type6 => 6,
            Type7 => 7,
            Type8 => 8,
            Type9 => 9,
            _ => return None,
        };
        Some(n)
    }

    /// Whether the key belongs to the text field being typed in rather than to the command:
    /// plain keys and Shift+key, except the few that never type.
    pub fn yields_to_typing(shortcut: &KeyboardShortcut) -> bool {
        let plain = shortcut.modifiers.is_none()
            && !matches!(shortcut.logical_key, Key::Escape | Key::PageUp | Key::PageDown);
        plain || shortcut.modifiers == Modifiers::SHIFT
    }
}

/// Every shortcut with its command, those with more modifiers first (egui lets Ctrl+Z match
/// Ctrl+Shift+Z, so the longer one must be tried first). Built once.
pub fn shortcut_table() -> &'static [(KeyboardShortcut, UiCommand)] {
    static TABLE: std::sync::OnceLock<Vec<(KeyboardShortcut, UiCommand)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<(KeyboardShortcut, UiCommand)> = UiCommand::iter()
            .flat_map(|c| c.shortcuts().iter().map(move |s| (*s, c)))
            .collect();
        let weight = |m: Modifiers| m.shift as u8 + m.command as u8 + m.alt as u8 + m.ctrl as u8;
        table.sort_by_key(|(s, _)| std::cmp::Reverse(weight(s.modifiers)));
        table
    })
}

/// The palette's entries: every `UiCommand`, in declaration order.
pub fn palette() -> impl Iterator<Item = UiCommand> {
    UiCommand::iter()
}

/// Actions with data, and every `UiCommand`.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Ui(UiCommand),
    OpenPath(PathBuf),
    SaveTo(PathBuf, Format),
    RestoreRecovery,
    DiscardRecovery,
    GoTo(usize),
    SelectTokens {
        start: usize,
        end: usize,
    },
    SelectEntity(usize),
    SelectRelation(usize),
    /// Give the selected tokens (or entity) this entity type.
    SetEntityType(String),
    /// Give the selected relation, or the one being made, this type.
    SetRelationType(String),
    /// Make a relation from `head` to `tail` at once (dragging from one type tag to another).
    Connect {
        head: usize,
        tail: usize,
    },
    SetViewMode(ViewMode),
    /// Make predicted entity `i` of the current sentence gold (marked accepted).
    AcceptEntity(usize),
    /// Make predicted relation `i` gold, with its arguments.
    AcceptRelation(usize),
    /// Drop predicted entity `i` (and its predicted relations) from the predictions.
    RejectEntity(usize),
    RejectRelation(usize),
    /// Add a sentence (from live extraction) at the end of the corpus.
    AddSentence(Sentence),
    /// Replace the sentence list's filter.
    SetFilter(Filter),
    /// Add an entity type to the corpus's schema.
    AddEntityType(String),
    /// Add a relation type (or another argument-type pair of one) to the schema.
    AddRelationType {
        name: String,
        head: String,
        tail: String,
    },
}

impl From<UiCommand> for Command {
    fn from(c: UiCommand) -> Command {
        Command::Ui(c)
    }
}

/// What the sentence view shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewMode {
    #[default]
    Gold,
    Predicted,
    /// Gold and predictions together: right, spurious and missed annotations marked.
    Diff,
}

/// The sending end of the app's one command queue; cheap to clone into any UI code.
#[derive(Clone)]
pub struct CommandSender(Sender<Command>);

impl CommandSender {
    pub fn send(&self, c: impl Into<Command>) {
        // The receiver lives as long as the app; a send can only fail while it shuts down.
        let _ = self.0.send(c.into());
    }
}

/// The queue: UI code sends during a frame, the app drains it once at the frame's end.
pub fn queue() -> (CommandSender, Receiver<Command>) {
    let (tx, rx) = channel();
    (CommandSender(tx), rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_commands_share_a_shortcut() {
        let table = shortcut_table();
        for (i, (a, ca)) in table.iter().enumerate() {
            for (b, cb) in &table[i + 1..] {
                assert!(a != b, "{ca:?} and {cb:?} share a shortcut");
            }
        }
    }

    #[test]
    fn every_command_is_in_the_palette_with_a_name() {
        let listed: Vec<UiCommand> = palette().collect();
        for c in UiCommand::iter() {
            assert!(listed.contains(&c), "{c:?} is missing from the palette");
            assert!(!c.name().is_empty());
        }
        let mut names: Vec<&str> = listed.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), listed.len(), "two commands share a name");
    }

    #[test]
    fn model_actions_and_the_keys_outside_the_old_table_have_shortcuts() {
        use UiCommand::*;
        for c in [
            LoadModel,
            SaveModel,
            Train,
            CancelTraining,
            PredictCorpus,
            ExportPredictions,
        ] {
            assert_eq!(c.handler(), Handler::Model);
            assert!(!c.shortcuts().is_empty(), "{c:?}");
        }
        let keys: Vec<Key> = shortcut_table().iter().map(|(s, _)| s.logical_key).collect();
        for k in [Key::Num1, Key::Num9, Key::Y, Key::Backspace, Key::L] {
            assert!(keys.contains(&k), "{k:?}");
        }
        assert_eq!(Type3.type_number(), Some(3));
        assert_eq!(Undo.type_number(), None);
    }
}
