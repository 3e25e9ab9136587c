//! Which sentences a model was trained on, kept with it (`trained_sentences.json`), so that
//! scores on those sentences are told apart from scores on text the model has not seen.
//!
//! A sentence is recorded as a digest of its text with all whitespace removed: the same
//! sentence tokenised another way, or read from another format, is still recognised, and the
//! record says nothing readable about the corpus it came from.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ModelError;
use crate::corpus::Sentence;

pub const FILE: &str = "trained_sentences.json";

const ABOUT: &str = "the sentences this model was trained on: the first 16 hex digits of the \
SHA-256 of each sentence's tokens concatenated with all whitespace removed (UTF-8)";

/// The digests of the sentences a model was trained on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainedOn {
    digests: HashSet<u64>,
}

/// The digest a sentence of these tokens is recorded under.
pub fn digest(tokens: &[String]) -> u64 {
    let mut h = Sha256::new();
    for t in tokens {
        let kept: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        h.update(kept.as_bytes());
    }
    let bytes = h.finalize();
    u64::from_be_bytes(bytes[..8].try_into().expect("a SHA-256 has 32 bytes"))
}

#[derive(Serialize, Deserialize)]
struct Record {
    about: String,
    sentences: usize,
    digests: Vec<String>,
}

impl TrainedOn {
    pub fn of_sentences(sentences: &[Sentence]) -> TrainedOn {
        let mut t = TrainedOn::default();
        t.add(sentences);
        t
    }

    pub fn add(&mut self, sentences: &[Sentence]) {
        self.digests.extend(sentences.iter().map(|s| digest(&s.tokens)));
    }

    /// Every sentence either was trained on.
    pub fn union(&self, other: &TrainedOn) -> TrainedOn {
        TrainedOn {
            digests: self.digests.union(&other.digests).copied().collect(),
        }
    }

    pub fn contains(&self, s: &Sentence) -> bool {
        self.digests.contains(&digest(&s.tokens))
    }

    /// How many of `sentences` it was trained on.
    pub fn count_in(&self, sentences: &[Sentence]) -> usize {
        sentences.iter().filter(|s| self.contains(s)).count()
    }

    /// How many different sentences (identical ones count once).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Writes the record into the model folder `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ModelError> {
        let mut sorted: Vec<u64> = self.digests.iter().copied().collect();
        sorted.sort_unstable();
        let record = Record {
            about: ABOUT.into(),
            sentences: sorted.len(),
            digests: sorted.iter().map(|d| format!("{d:016x}")).collect(),
        };
        let path = dir.join(FILE);
        let text = serde_json::to_string(&record).expect("serialisable");
        crate::fsio::atomic_write_bytes(&path, text.as_bytes())
            .map_err(|source| ModelError::Io { path, source })
    }

    /// The record in the model folder `dir`; None when the model has none (it was saved
    /// before relarc kept one).
    pub fn read(dir: &Path) -> Result<Option<TrainedOn>, ModelError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ModelError::Io { path, source }),
        };
        let damaged = |reason: String| ModelError::Damaged {
            path: path.clone(),
            reason: format!(
                "{reason} (delete the file to use the model without the record of what it was trained on)"
            ),
        };
        let record: Record = serde_json::from_str(&text)
            .map_err(|e| damaged(format!("unreadable record of the training sentences: {e}")))?;
        let digests = (record.digests.iter())
            .map(|d| u64::from_str_radix(d, 16).map_err(|_| damaged(format!("{d:?} is not a digest"))))
            .collect::<Result<HashSet<u64>, _>>()?;
        Ok(Some(TrainedOn { digests }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(tokens: &[&str]) -> Sentence {
        Sentence {
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_sentence_is_recognised_however_it_is_tokenised_and_others_are_not() {
        let t = TrainedOn::of_sentences(&[sentence(&["Aspirin", "caused", "a", "rash", "."])]);
        assert!(t.contains(&sentence(&["Aspirin", "caused", "a", "rash."])));
        assert!(t.contains(&sentence(&["Aspirin caused", "a rash", "."])));
        assert!(!t.contains(&sentence(&["Aspirin", "caused", "a", "rash"])));
        assert!(!t.contains(&sentence(&["aspirin", "caused", "a", "rash", "."])));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_record_reads_back_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TrainedOn::read(dir.path()).unwrap(), None, "no record: unknown");
        let t = TrainedOn::of_sentences(&[sentence(&["a", "b"]), sentence(&["c"]), sentence(&["a", "b"])]);
        t.write(dir.path()).unwrap();
        assert_eq!(TrainedOn::read(dir.path()).unwrap(), Some(t.clone()));
        assert_eq!(t.len(), 2, "a repeated sentence once");
        std::fs::write(
            dir.path().join(FILE),
            r#"{"about": "", "sentences": 1, "digests": ["xyz"]}"#,
        )
        .unwrap();
        let e = TrainedOn::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains(FILE) && e.contains("\"xyz\" is not a digest"), "{e}");
    }
}
