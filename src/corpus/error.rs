//! Errors of the corpus layer. Every error names the file and, where there is one, the line,
//! the sentence and the annotation it is about.

use std::fmt;
use std::path::PathBuf;

use super::validate::Problem;

/// A position in a source file, as precise as the format allows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    /// 1-based line.
    pub line: Option<usize>,
    /// 0-based index of the sentence in the corpus.
    pub sentence: Option<usize>,
    pub sentence_id: Option<String>,
}

impl Place {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Place {
            file: file.into(),
            ..Default::default()
        }
    }

    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn sentence(mut self, index: usize, id: Option<String>) -> Self {
        self.sentence = Some(index);
        self.sentence_id = id;
        self
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(s) = self.sentence {
            write!(f, ": sentence {}", s + 1)?;
            if let Some(id) = &self.sentence_id {
                write!(f, " (id {id})")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be read as its format at all, or a record is malformed.
    #[error("{place}: {message}")]
    Malformed { place: Place, message: String },
    /// The file was read but its annotations are inconsistent; nothing is returned.
    #[error("{} has {} problem{}:\n{}", file.display(), problems.len(), if problems.len() == 1 { "" } else { "s" }, list(problems))]
    Invalid { file: PathBuf, problems: Vec<Problem> },
    /// A format cannot tell which one was meant, or cannot hold what was asked.
    #[error("{0}")]
    Unsupported(String),
}

fn list(problems: &[Problem]) -> String {
    const SHOWN: usize = 50;
    let mut out: Vec<String> = problems.iter().take(SHOWN).map(|p| format!("  {p}")).collect();
    if problems.len() > SHOWN {
        out.push(format!("  … and {} more", problems.len() - SHOWN));
    }
    out.join("\n")
}

impl CorpusError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn malformed(place: Place, message: impl Into<String>) -> Self {
        CorpusError::Malformed {
            place,
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, CorpusError>;

/// A field of a JSON record that is missing or of the wrong kind; the reader adds the place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("missing `{key}`")]
    Missing { key: String },
    #[error("`{key}` must be {expected}, not {found}")]
    WrongKind {
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("unknown provenance {0:?} (gold, predicted, accepted or edited)")]
    Provenance(String),
    #[error("must be an object")]
    NotObject,
}

impl FieldError {
    pub fn missing(key: &str) -> FieldError {
        FieldError::Missing { key: key.into() }
    }

    pub fn wrong(key: &str, expected: &'static str, found: &serde_json::Value) -> FieldError {
        FieldError::WrongKind {
            key: key.into(),
            expected,
            found: found.to_string(),
        }
    }
}
