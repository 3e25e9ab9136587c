//! The one line the status bar shows: what just happened, or what went wrong.

/// A message for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub kind: StatusKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

impl Status {
    pub fn info(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            kind: StatusKind::Info,
        }
    }

    pub fn error(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            kind: StatusKind::Error,
        }
    }

    pub fn is_error(&self) -> bool {
        self.kind == StatusKind::Error
    }
}
