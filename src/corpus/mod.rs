//! The corpus layer: sentences with entities and relations, their schema, validation, BIO
//! tags, overlap removal, splits, statistics, and every file format relarc reads and writes.

pub mod bio;
pub mod error;
pub mod formats;
pub mod overlap;
pub mod schema;
pub mod sentence;
pub mod source;
pub mod split;
pub mod stats;
pub mod validate;

use std::path::{Path, PathBuf};

pub use error::{CorpusError, FieldError, Place, Result};
pub use formats::Format;
pub use schema::{RelationType, Schema};
pub use sentence::{Entity, Provenance, Relation, Sentence};
pub use validate::{Problem, ProblemKind};

/// Where reading a corpus is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadStage {
    /// Reading and parsing the file.
    Reading,
    /// Checking this many sentences and building the schema.
    Checking { sentences: usize },
}

/// Sentences with the schema they use and the file they came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Corpus {
    pub sentences: Vec<Sentence>,
    pub schema: Schema,
    /// The file (or brat folder) the corpus was read from, and in which format.
    pub source: Option<(PathBuf, Format)>,
}

impl Corpus {
    /// A corpus of these sentences, with the schema they imply.
    pub fn new(sentences: Vec<Sentence>) -> Corpus {
        let schema = Schema::infer(&sentences);
        Corpus {
            sentences,
            schema,
            source: None,
        }
    }

    /// Reads a corpus, choosing the format from the path (and the content where the extension
    /// is shared, as for `.jsonl`). Fails on the first malformed record, or with every
    /// consistency problem found; a corpus is never returned half-read.
    pub fn load(path: &Path) -> Result<Corpus> {
        Self::load_as(path, Format::detect_input(path)?)
    }

    pub fn load_as(path: &Path, format: Format) -> Result<Corpus> {
        Self::load_with(path, format, &formats::Options::default())
    }

    pub fn load_with(path: &Path, format: Format, opts: &formats::Options) -> Result<Corpus> {
        Self::load_observed(path, format, opts, |_| {})
    }

    /// `load_with`, saying which stage it is at (for a progress display).
    pub fn load_observed(
        path: &Path,
        format: Format,
        opts: &formats::Options,
        on_stage: impl Fn(LoadStage),
    ) -> Result<Corpus> {
        on_stage(LoadStage::Reading);
        let sentences = formats::read_with(path, format, opts)?;
        on_stage(LoadStage::Checking {
            sentences: sentences.len(),
        });
        let problems = validate::check(path, &sentences, None);
        if !problems.is_empty() {
            return Err(CorpusError::Invalid {
                file: path.to_path_buf(),
                problems,
            });
        }
        let mut corpus = Corpus::new(sentences);
        corpus.source = Some((path.to_path_buf(), format));
        Ok(corpus)
    }

    /// Writes the corpus atomically in the format the path implies. Returns notes on anything
    /// the format cannot hold (for example relations in CoNLL columns).
    pub fn save(&self, path: &Path) -> Result<Vec<String>> {
        self.save_as(path, Format::detect_output(path)?)
    }

    pub fn save_as(&self, path: &Path, format: Format) -> Result<Vec<String>> {
        formats::write(path, format, self)
    }

    pub fn save_with(&self, path: &Path, format: Format, opts: &formats::Options) -> Result<Vec<String>> {
        formats::write_with(path, format, self, opts)
    }

    /// Checks the corpus against a schema (or its own, which only finds structural problems).
    pub fn validate(&self, file: &Path, schema: Option<&Schema>) -> Vec<Problem> {
        validate::check(file, &self.sentences, schema)
    }

    /// What the source documents hold that relarc does not model, as "3 events, 2
    /// attributes"; None when nothing is kept aside.
    pub fn kept_aside(&self) -> Option<String> {
        let st = stats::compute(&self.sentences);
        (!st.kept_aside.is_empty()).then(|| {
            st.kept_aside
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// What reading the source documents found worth saying (a sidecar that no longer
    /// matches its annotations, say).
    pub fn read_notes(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.sentences
            .iter()
            .filter_map(|s| s.source.as_ref())
            .filter(|src| seen.insert(std::sync::Arc::as_ptr(&src.doc)))
            .filter_map(|src| src.doc.notes.get().cloned())
            .flatten()
            .collect()
    }

    pub fn num_entities(&self) -> usize {
        self.sentences.iter().map(|s| s.entities.len()).sum()
    }

    pub fn num_relations(&self) -> usize {
        self.sentences.iter().map(|s| s.relations.len()).sum()
    }
}
