//! Commands carried out on the state: one `match` each for `Command` and `UiCommand`, every
//! arm a call to a named method.

use super::AppState;
use crate::app::command::{Command, UiCommand, ViewMode};

impl AppState {
    /// Carries out a command. The ones for the window shell and the model controller (see
    /// `UiCommand::handler`) are routed there by the app and do nothing here.
    pub fn apply(&mut self, cmd: impl Into<Command>) {
        match cmd.into() {
            Command::Ui(c) => self.apply_ui(c),
            Command::OpenPath(p) => {
                self.open(&p);
            }
            Command::SaveTo(p, f) => {
                self.save_to(&p, f);
            }
            Command::RestoreRecovery => self.restore_recovery(),
            Command::DiscardRecovery => self.discard_recovery(),
            Command::GoTo(i) => self.go_to(i),
            Command::SelectTokens { start, end } => self.select_tokens(start, end),
            Command::SelectEntity(e) => self.select_entity(e),
            Command::SelectRelation(r) => self.select_relation(r),
            Command::SetEntityType(label) => self.set_entity_type(label),
            Command::SetRelationType(label) => self.set_relation_type(label),
            Command::Connect { head, tail } => self.connect(head, tail),
            Command::SetViewMode(m) => self.view_mode = m,
            Command::AcceptEntity(i) => self.accept_entity(i),
            Command::AcceptRelation(i) => self.accept_relation(i),
            Command::RejectEntity(i) => self.reject_entity(i),
            Command::RejectRelation(i) => self.reject_relation(i),
            Command::AddSentence(s) => self.add_sentence(s),
            Command::SetFilter(f) => self.set_filter(f),
            Command::AddEntityType(name) => self.add_entity_type(&name),
            Command::AddRelationType { name, head, tail } => self.add_relation_type(&name, &head, &tail),
        }
    }

    fn apply_ui(&mut self, c: UiCommand) {
        use UiCommand::*;
        match c {
            Save => self.save(),
            Undo => self.undo(),
            Redo => self.redo(),
            NextSentence => self.step_sentence(1),
            PrevSentence => self.step_sentence(-1),
            CursorLeft => self.move_cursor(-1, false),
            CursorRight => self.move_cursor(1, false),
            ExtendLeft => self.move_cursor(-1, true),
            ExtendRight => self.move_cursor(1, true),
            ClearSelection => self.clear_selection(),
            DeleteSelected => self.delete_selected(),
            StartRelation => self.start_relation(),
            ReverseRelation => self.reverse_relation(),
            Type1 | Type2 | Type3 | Type4 | Type5 | Type6 | Type7 | Type8 | Type9 => {
                self.type_number(c.type_number().expect("a number key has a number"))
            }
            ShowGold => self.view_mode = ViewMode::Gold,
            ShowPredicted => self.view_mode = ViewMode::Predicted,
            ShowDiff => self.view_mode = ViewMode::Diff,
            ToggleBio => self.show_bio = !self.show_bio,
            AcceptAll => self.accept_all(),
            // Dialogs, windows and the model belong to the shell and the model controller.
            Open | SaveAs | Quit | FocusSearch | TogglePalette | ToggleStats | ToggleMetrics
            | ToggleSentenceList | ToggleModelPanel | ToggleLive | LoadModel | SaveModel | Train
            | CancelTraining | PredictCorpus | ExportPredictions => {}
        }
    }

    /// Saves to the corpus's own file in its own format; a corpus without one needs Save as.
    fn save(&mut self) {
        match self.path.clone() {
            Some(p) => {
                self.save_to(&p, self.format);
            }
            None => self.error("this corpus has no file yet: use Save as"),
        }
    }

    fn discard_recovery(&mut self) {
        if let Some(r) = self.recovery.take() {
            let _ = std::fs::remove_file(r.path);
        }
    }
}
