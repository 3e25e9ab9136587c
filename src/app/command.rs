//! Every user action is a `Command`: menus, buttons, shortcuts, the palette and tests all go
//! through it, and the undo history records the edits among them.

use std::path::PathBuf;

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::corpus::Format;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    // Files
    Open,
    OpenPath(PathBuf),
    Save,
    SaveAs,
    SaveTo(PathBuf, Format),
    RestoreRecovery,
    DiscardRecovery,
    Quit,
    // History
    Undo,
    Redo,
    // Navigation
    NextSentence,
    PrevSentence,
    GoTo(usize),
    FocusSearch,
    TogglePalette,
    ToggleStats,
    ToggleMetrics,
    // Selection
    SelectTokens {
        start: usize,
        end: usize,
    },
    MoveCursor(isize),
    ExtendSelection(isize),
    SelectEntity(usize),
    SelectRelation(usize),
    ClearSelection,
    // Editing
    /// Give the selected tokens (or entity) the entity type with this number (1-based).
    EntityTypeNumber(usize),
    SetEntityType(String),
    DeleteSelected,
    /// Remember the selected entity as the head of a relation to be made.
    StartRelation,
    /// Choose the tail of the relation being made.
    RelationTail(usize),
    CreateRelation {
        head: usize,
        tail: usize,
        label: String,
    },
    RelationTypeNumber(usize),
    SetRelationType(String),
    ReverseRelation,
    // Model
    LoadModel,
    // Predictions
    SetViewMode(ViewMode),
    /// Make predicted entity `i` of the current sentence gold (marked accepted).
    AcceptEntity(usize),
    /// Make predicted relation `i` gold, with its arguments.
    AcceptRelation(usize),
    /// Drop predicted entity `i` (and its predicted relations) from the predictions.
    RejectEntity(usize),
    RejectRelation(usize),
    /// Accept every prediction of the current sentence.
    AcceptAll,
    /// Add a sentence (from live extraction) at the end of the corpus.
    AddSentence(crate::corpus::Sentence),
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

/// Actions listed in the palette and the menus, with their shortcuts.
pub struct Action {
    pub name: &'static str,
    pub command: Command,
    pub shortcut: Option<KeyboardShortcut>,
}

const fn sc(modifiers: Modifiers, key: Key) -> Option<KeyboardShortcut> {
    Some(KeyboardShortcut::new(modifiers, key))
}

const CMD: Modifiers = Modifiers::COMMAND;
const CMD_SHIFT: Modifiers = Modifiers {
    shift: true,
    ..Modifiers::COMMAND
};
const NONE: Modifiers = Modifiers::NONE;
const SHIFT: Modifiers = Modifiers::SHIFT;

pub fn actions() -> Vec<Action> {
    let a = |name, command, shortcut| Action {
        name,
        command,
        shortcut,
    };
    vec![
        a("Open corpus...", Command::Open, sc(CMD, Key::O)),
        a("Save", Command::Save, sc(CMD, Key::S)),
        a("Save as...", Command::SaveAs, sc(CMD_SHIFT, Key::S)),
        a("Undo", Command::Undo, sc(CMD, Key::Z)),
        a("Redo", Command::Redo, sc(CMD_SHIFT, Key::Z)),
        a("Next sentence", Command::NextSentence, sc(NONE, Key::PageDown)),
        a("Previous sentence", Command::PrevSentence, sc(NONE, Key::PageUp)),
        a("Search sentences", Command::FocusSearch, sc(CMD, Key::F)),
        a("Command palette", Command::TogglePalette, sc(CMD_SHIFT, Key::P)),
        a("Corpus statistics", Command::ToggleStats, sc(CMD_SHIFT, Key::I)),
        a(
            "Prediction metrics",
            Command::ToggleMetrics,
            sc(CMD_SHIFT, Key::M),
        ),
        a(
            "Move cursor left",
            Command::MoveCursor(-1),
            sc(NONE, Key::ArrowLeft),
        ),
        a(
            "Move cursor right",
            Command::MoveCursor(1),
            sc(NONE, Key::ArrowRight),
        ),
        a(
            "Extend selection left",
            Command::ExtendSelection(-1),
            sc(SHIFT, Key::ArrowLeft),
        ),
        a(
            "Extend selection right",
            Command::ExtendSelection(1),
            sc(SHIFT, Key::ArrowRight),
        ),
        a("Clear selection", Command::ClearSelection, sc(NONE, Key::Escape)),
        a(
            "Delete selected span or relation",
            Command::DeleteSelected,
            sc(NONE, Key::Delete),
        ),
        a(
            "Start a relation from the selected span",
            Command::StartRelation,
            sc(NONE, Key::R),
        ),
        a(
            "Reverse the selected relation",
            Command::ReverseRelation,
            sc(NONE, Key::V),
        ),
        a(
            "Show gold annotations",
            Command::SetViewMode(ViewMode::Gold),
            sc(NONE, Key::G),
        ),
        a(
            "Show predictions",
            Command::SetViewMode(ViewMode::Predicted),
            sc(NONE, Key::P),
        ),
        a(
            "Show the difference",
            Command::SetViewMode(ViewMode::Diff),
            sc(NONE, Key::D),
        ),
        a(
            "Accept every prediction of the sentence",
            Command::AcceptAll,
            sc(SHIFT, Key::A),
        ),
        a("Quit", Command::Quit, sc(CMD, Key::Q)),
    ]
}

/// Number keys 1-9 pick a type: entity types for a token or span selection, relation types
/// for a relation selection or a relation being made.
pub const NUMBER_KEYS: [Key; 9] = [
    Key::Num1,
    Key::Num2,
    Key::Num3,
    Key::Num4,
    Key::Num5,
    Key::Num6,
    Key::Num7,
    Key::Num8,
    Key::Num9,
];
