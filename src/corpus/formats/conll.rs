//! CoNLL-style columns: one token per line, the token first and its BIO tag last, a blank
//! line after each sentence. Entities only. A `# id = X` comment before a sentence carries its
//! id; `-DOCSTART-` lines are skipped.

use std::path::Path;

use serde_json::{Map, Value};

use super::read_text;
use crate::corpus::bio::{decode, encode, Tag};
use crate::corpus::error::{CorpusError, Place, Result};
use crate::corpus::overlap::remove_overlaps;
use crate::corpus::{Entity, Sentence};
use crate::fsio::atomic_write;

pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let mut sentences = Vec::new();
    let mut open = Open::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() {
            open.close_into(&mut sentences);
            continue;
        }
        if cols[0] == "-DOCSTART-" {
            continue;
        }
        let is_comment = line.starts_with('#')
            && (line.starts_with("# ") || cols.len() < 2 || Tag::parse(cols[cols.len() - 1]).is_none());
        if open.tokens.is_empty() && is_comment {
            if let Some((key, value)) = line[1..].split_once('=') {
                if key.trim() == "id" {
                    open.meta.insert("id".into(), Value::from(value.trim()));
                }
            }
            continue;
        }
        let id = open.meta.get("id").and_then(|v| v.as_str()).map(String::from);
        let place = || {
            Place::file(path)
                .line(n + 1)
                .sentence(sentences.len(), id.clone())
        };
        if cols.len() < 2 {
            return Err(CorpusError::malformed(
                place(),
                format!("expected a token and a tag, found {line:?}"),
            ));
        }
        let tag_text = cols[cols.len() - 1];
        let tag = Tag::parse(tag_text).ok_or_else(|| {
            CorpusError::malformed(
                place(),
                format!("{tag_text:?} is not a BIO tag (O, B-TYPE or I-TYPE)"),
            )
        })?;
        open.first_line.get_or_insert(n + 1);
        open.tokens.push(cols[0].to_string());
        open.tags.push(tag);
    }
    open.close_into(&mut sentences);
    Ok(sentences)
}

/// The sentence being read.
#[derive(Default)]
struct Open {
    tokens: Vec<String>,
    tags: Vec<Tag>,
    meta: Map<String, Value>,
    first_line: Option<usize>,
}

impl Open {
    fn close_into(&mut self, sentences: &mut Vec<Sentence>) {
        let open = std::mem::take(self);
        if open.tokens.is_empty() {
            // A comment before a blank line still belongs to the next sentence.
            self.meta = open.meta;
            return;
        }
        let entities = decode(open.tags.iter())
            .into_iter()
            .map(|s| Entity::new(s.label, s.start, s.end))
            .collect();
        sentences.push(Sentence {
            tokens: open.tokens,
            entities,
            relations: Vec::new(),
            extra: open.meta,
            source_line: open.first_line,
            source: None,
        });
    }
}

/// Writes entities as BIO columns. Relations, overlapping entities and sentence fields other
/// than `id` cannot be held; the returned notes say how many were left out.
pub fn write(path: &Path, sentences: &[Sentence]) -> Result<Vec<String>> {
    let mut out = String::new();
    let mut lost_relations = 0;
    let mut lost_overlaps = 0;
    let mut lost_fields = 0;
    for s in sentences {
        lost_relations += s.relations.len();
        let mut clean = s.clone();
        lost_overlaps += remove_overlaps(&mut clean).entities;
        let tags = encode(s.tokens.len(), &clean.entities).expect("overlaps were removed");
        if let Some(id) = s.id() {
            out.push_str(&format!("# id = {id}\n"));
        }
        lost_fields += s.meta_fields().filter(|(k, _)| k.as_str() != "id").count();
        for (t, tag) in s.tokens.iter().zip(&tags) {
            out.push_str(t);
            out.push('\t');
            out.push_str(&tag.to_string());
            out.push('\n');
        }
        out.push('\n');
    }
    atomic_write(path, |w| w.write_all(out.as_bytes())).map_err(|e| CorpusError::io(path, e))?;
    let mut notes = Vec::new();
    if lost_relations > 0 {
        notes.push(format!(
            "{lost_relations} relations were left out: CoNLL columns hold entities only"
        ));
    }
    if lost_overlaps > 0 {
        notes.push(format!(
            "{lost_overlaps} overlapping entities were left out (the longer span was kept): BIO tags cannot hold them"
        ));
    }
    if lost_fields > 0 {
        notes.push(format!(
            "{lost_fields} sentence fields other than `id` were left out"
        ));
    }
    Ok(notes)
}
