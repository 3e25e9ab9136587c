//! brat standoff: a `.txt` file and a `.ann` file per document, entities as `T` lines and
//! relations as `R` lines with character offsets.
//!
//! A document keeps its text, its annotation ids and every line relarc does not model
//! (events, attributes, normalisations, equivalences, discontinuous spans, notes on those),
//! so that writing it back gives the same files, with only the edited annotations changed.
//! Its text is split into sentences at line breaks and sentence-final punctuation, never
//! inside an entity or a relation (`RELARC_BRAT_SENTENCES=lines`: at line breaks only). A
//! collection folder is read with its sub-folders and written back as the same files.
//!
//! What brat cannot hold (sentence fields, provenance, scores) goes to a `.relarc.jsonl`
//! sidecar, matched by annotation id; brat ignores it.

mod conf;
mod read;
mod sidecar;
mod standoff;
mod write;

use std::path::{Path, PathBuf};

pub use crate::corpus::formats::offsets::Sentences;
pub use conf::annotation_conf;
pub use write::write;

use crate::corpus::error::{Collected, CorpusError, Result};
use crate::corpus::Sentence;

/// Reads a document (`x.ann` or `x.txt`) or every document of a folder and its sub-folders,
/// in name order.
pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let mode = Sentences::from_env();
    let mut sentences = Vec::new();
    if !path.is_dir() {
        let root = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        return read::document(&root, &name, &path.with_extension("ann"), mode);
    }
    let docs = collection(path)?;
    if docs.is_empty() {
        return Err(CorpusError::Unsupported(format!(
            "{}: no .ann files in this folder or its sub-folders",
            path.display()
        )));
    }
    let mut problems = Collected::new(path);
    for ann in docs {
        let rel = ann.strip_prefix(path).unwrap_or(&ann).with_extension("");
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        match read::document(path, &name, &ann, mode) {
            Ok(s) => sentences.extend(s),
            // Every document's problems, not only the first document's.
            Err(e) => problems.keep(e)?,
        }
    }
    problems.finish(sentences)
}

/// The `.ann` files under `dir`, sorted by path.
fn collection(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| CorpusError::io(&d, e))? {
            let p = entry.map_err(|e| CorpusError::io(&d, e))?.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "ann") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Sentence ids `doc:LINE`, with `:2`, `:3`… for further sentences on one line.
fn sentence_ids(name: &str, text: &str, starts: &[usize]) -> Vec<String> {
    let mut line = 1;
    let mut pos = 0;
    let mut chars = text.chars();
    let mut out: Vec<String> = Vec::with_capacity(starts.len());
    let mut last_line = 0;
    let mut on_line = 0;
    for &s in starts {
        for c in chars.by_ref().take(s - pos) {
            if c == '\n' {
                line += 1;
            }
        }
        pos = s;
        on_line = if line == last_line { on_line + 1 } else { 1 };
        last_line = line;
        out.push(if on_line == 1 {
            format!("{name}:{line}")
        } else {
            format!("{name}:{line}:{on_line}")
        });
    }
    out
}
