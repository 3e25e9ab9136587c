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

/// Format problems of one file, collected so that a reader reports every bad line or record
/// (up to `LIMIT`, then a count), not only the first.
pub(crate) struct Collected {
    file: PathBuf,
    problems: Vec<crate::corpus::Problem>,
    more: usize,
}

impl Collected {
    // The display shows the first 50 and counts the rest; this bounds the memory.
    const LIMIT: usize = 100_000;

    pub fn new(file: &std::path::Path) -> Self {
        Collected {
            file: file.to_path_buf(),
            problems: Vec::new(),
            more: 0,
        }
    }

    /// Keeps a malformed line's error; any other error (a file that cannot be read) is
    /// returned, as reading cannot go on.
    pub fn keep(&mut self, e: CorpusError) -> Result<()> {
        match e {
            CorpusError::Malformed { place, message } if self.problems.len() < Self::LIMIT => {
                let kind = crate::corpus::ProblemKind::Malformed(message);
                self.problems.push(crate::corpus::Problem { place, kind });
                Ok(())
            }
            CorpusError::Malformed { .. } => {
                self.more += 1;
                Ok(())
            }
            CorpusError::Invalid { problems, .. } => {
                for p in problems {
                    match p.kind {
                        crate::corpus::ProblemKind::Malformed(message) => {
                            self.keep(CorpusError::Malformed {
                                place: p.place,
                                message,
                            })?
                        }
                        _ => self.problems.push(p),
                    }
                }
                Ok(())
            }
            other => Err(other),
        }
    }

    /// `value` when nothing was kept; else every problem kept (a single one as itself).
    pub fn finish<T>(mut self, value: T) -> Result<T> {
        if self.more > 0 {
            let place = Place::file(&self.file);
            let kind =
                crate::corpus::ProblemKind::Malformed(format!("… and {} more format problems", self.more));
            self.problems.push(crate::corpus::Problem { place, kind });
        }
        match self.problems.len() {
            0 => Ok(value),
            1 => {
                let p = self.problems.remove(0);
                let crate::corpus::ProblemKind::Malformed(message) = p.kind else {
                    unreachable!("only malformed kept")
                };
                Err(CorpusError::Malformed {
                    place: p.place,
                    message,
                })
            }
            _ => Err(CorpusError::Invalid {
                file: self.file,
                problems: self.problems,
            }),
        }
    }
}

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
