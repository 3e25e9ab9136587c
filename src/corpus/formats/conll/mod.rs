//! CoNLL-style columns: one token per line, a blank line after each sentence. Entities only.
//!
//! The columns are found from the content: the token first and the tag last (CoNLL-2002/2003),
//! an index column first (GermEval 2014: the outer of its two tag layers by default), or
//! CoNLL-U (FORM, with entities from `NER=` in MISC); `--token-column`/`--tag-column` choose
//! them. Tags are read in any scheme (IOB1, IOB2/BIO, BIOES, BILOU, BMES, IO), detected, and
//! written back in the scheme read unless another is asked for. The other columns, `#`
//! comments, `-DOCSTART-` lines and blank lines are kept with the sentence after them and
//! written back as they were; a `# id = X` comment carries the sentence id.

mod layout;
pub mod scheme;

use std::path::Path;

use serde_json::{json, Map, Value};

pub use layout::{describe, looks_like_columns, Columns};
pub use scheme::Scheme;

use super::read_text;
use crate::corpus::bio::{decode, encode, Tag};
use crate::corpus::error::{Collected, CorpusError, Place, Result};
use crate::corpus::overlap::remove_overlaps;
use crate::corpus::{Entity, Sentence};
use crate::fsio::atomic_write;

/// The sentence field that keeps what relarc does not model of a CoNLL sentence.
pub const KEPT_KEY: &str = "conll";

/// Choices for reading and writing CoNLL columns.
#[derive(Clone, Debug, Default)]
pub struct ConllOptions {
    /// 0-based columns of the token and the tag; found from the content when None.
    pub token_column: Option<usize>,
    pub tag_column: Option<usize>,
    /// The scheme to write; the one read (else IOB2) when None.
    pub scheme: Option<Scheme>,
}

pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    read_with(path, &ConllOptions::default())
}

pub fn read_with(path: &Path, opts: &ConllOptions) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let cols = Columns::find(path, &text, opts)?;
    let mut reader = Reader {
        path,
        cols: &cols,
        sentences: Vec::new(),
        open: Open::default(),
        raw_tags: Vec::new(),
    };
    let newline = text.ends_with('\n');
    let mut lines: Vec<&str> = text.split('\n').collect();
    if newline {
        lines.pop();
    }
    let mut problems = Collected::new(path);
    for (n, raw) in lines.into_iter().enumerate() {
        if let Err(e) = reader.line(n + 1, raw) {
            problems.keep(e)?;
        }
    }
    let separated = reader.open.tokens.is_empty();
    let end = End {
        separated,
        // Lines after the last sentence's blank line; otherwise they are its own.
        after: if separated {
            std::mem::take(&mut reader.open.before)
        } else {
            Vec::new()
        },
        newline,
    };
    reader.close();
    let scheme = scheme::detect(reader.raw_tags.iter().map(Vec::as_slice));
    let mut sentences = reader.sentences;
    finish(&mut sentences, &cols, scheme, end);
    problems.finish(sentences)
}

/// The sentence being read: its tokens and tags, the other columns, and the lines before it.
#[derive(Default)]
struct Open {
    tokens: Vec<String>,
    tags: Vec<String>,
    columns: Vec<Vec<String>>,
    /// CoNLL-U lines between tokens (multi-word ranges, empty nodes), by the token they precede.
    inside: Vec<(usize, String)>,
    before: Vec<String>,
    meta: Map<String, Value>,
    first_line: Option<usize>,
}

struct Reader<'a> {
    path: &'a Path,
    cols: &'a Columns,
    sentences: Vec<Sentence>,
    open: Open,
    /// Every sentence's tags as written, for the scheme.
    raw_tags: Vec<Vec<String>>,
}

impl Reader<'_> {
    fn line(&mut self, n: usize, raw: &str) -> Result<()> {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if self.open.tokens.is_empty() {
                self.open.before.push(raw.to_string());
            } else {
                self.close();
            }
            return Ok(());
        }
        let fields = self.cols.split(line);
        if fields[0] == "-DOCSTART-" || self.cols.is_comment(line, &fields) {
            if !self.open.tokens.is_empty() && !self.cols.conllu {
                self.close();
            }
            self.comment(raw, line);
            return Ok(());
        }
        if self.cols.conllu && !fields[0].chars().all(|c| c.is_ascii_digit()) {
            self.open.inside.push((self.open.tokens.len(), raw.to_string()));
            return Ok(());
        }
        self.token(n, &fields)
    }

    fn comment(&mut self, raw: &str, line: &str) {
        if let Some((key, value)) = line.strip_prefix('#').and_then(|l| l.split_once('=')) {
            if key.trim() == "id" && self.open.tokens.is_empty() {
                self.open.meta.insert("id".into(), Value::from(value.trim()));
                return;
            }
        }
        self.open.before.push(raw.to_string());
    }

    fn token(&mut self, n: usize, fields: &[&str]) -> Result<()> {
        let id = self
            .open
            .meta
            .get("id")
            .and_then(|v| v.as_str())
            .map(String::from);
        let place = || {
            Place::file(self.path)
                .line(n)
                .sentence(self.sentences.len(), id.clone())
        };
        let (token, tag) = self
            .cols
            .token_and_tag(fields)
            .map_err(|m| CorpusError::malformed(place(), m))?;
        if scheme::to_bio(&tag, true).is_none() {
            return Err(CorpusError::malformed(
                place(),
                format!(
                    "{tag:?} in column {} is not a tag (O, or B-/I-/E-/S-/L-/U-/M- and a type)",
                    self.cols.tag + 1
                ),
            ));
        }
        self.open.first_line.get_or_insert(n);
        self.open.tokens.push(token);
        self.open.tags.push(tag);
        self.open.columns.push(self.cols.others(fields));
        Ok(())
    }

    fn close(&mut self) {
        let open = std::mem::take(&mut self.open);
        if open.tokens.is_empty() {
            self.open.before = open.before;
            self.open.meta = open.meta;
            return;
        }
        let io = scheme::detect([open.tags.as_slice()]) == Scheme::Io;
        let bio: Vec<Tag> = open
            .tags
            .iter()
            .map(|t| scheme::to_bio(t, io).unwrap_or(Tag::O))
            .collect();
        let entities = decode(bio.iter())
            .into_iter()
            .map(|s| Entity::new(s.label, s.start, s.end))
            .collect();
        let mut extra = open.meta;
        let kept = kept_fields(self.cols, open.columns, open.inside, open.before);
        if !kept.is_empty() {
            extra.insert(KEPT_KEY.into(), Value::Object(kept));
        }
        self.raw_tags.push(open.tags);
        self.sentences.push(Sentence {
            tokens: open.tokens,
            entities,
            relations: Vec::new(),
            extra,
            source_line: open.first_line,
            source: None,
        });
    }
}

/// What a sentence keeps of its lines, only the parts it has.
fn kept_fields(
    cols: &Columns,
    columns: Vec<Vec<String>>,
    inside: Vec<(usize, String)>,
    before: Vec<String>,
) -> Map<String, Value> {
    let mut kept = Map::new();
    if cols.count > 2 || cols.conllu {
        kept.insert("columns".into(), json!(columns));
    }
    if !inside.is_empty() {
        kept.insert("inside".into(), json!(inside));
    }
    if !before.is_empty() {
        kept.insert("before".into(), json!(before));
    }
    kept
}

/// How the file ends after its last sentence.
struct End {
    /// A blank line follows the last sentence.
    separated: bool,
    /// Lines after that blank line.
    after: Vec<String>,
    /// The file ends with a line break.
    newline: bool,
}

/// Marks every sentence with the file's layout and scheme where they are not the defaults,
/// and the last with how the file ends.
fn finish(sentences: &mut [Sentence], cols: &Columns, scheme: Scheme, end: End) {
    let layout = cols.layout_value();
    let n = sentences.len();
    for (i, s) in sentences.iter_mut().enumerate() {
        let mut kept = match s.extra.remove(KEPT_KEY) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Some(l) = &layout {
            kept.insert("layout".into(), l.clone());
        }
        if scheme != Scheme::Iob2 {
            kept.insert("scheme".into(), Value::from(scheme.name()));
        }
        if i + 1 == n && (!end.after.is_empty() || !end.separated || !end.newline) {
            kept.insert(
                "end".into(),
                json!({"separated": end.separated, "after": end.after, "newline": end.newline}),
            );
        }
        if !kept.is_empty() {
            s.extra.insert(KEPT_KEY.into(), Value::Object(kept));
        }
    }
}

/// Writes entities as tag columns. Relations, overlapping entities and sentence fields other
/// than `id` cannot be held; the returned notes say how many were left out.
pub fn write(path: &Path, sentences: &[Sentence]) -> Result<Vec<String>> {
    write_with(path, sentences, &ConllOptions::default())
}

pub fn write_with(path: &Path, sentences: &[Sentence], opts: &ConllOptions) -> Result<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let (mut lost_relations, mut lost_overlaps, mut lost_fields) = (0, 0, 0);
    for s in sentences {
        lost_relations += s.relations.len();
        let mut clean = s.clone();
        lost_overlaps += remove_overlaps(&mut clean).entities;
        let tags = encode(s.tokens.len(), &clean.entities).expect("overlaps were removed");
        lost_fields += s
            .meta_fields()
            .filter(|(k, _)| !["id", KEPT_KEY].contains(&k.as_str()))
            .count();
        sentence_lines(&mut lines, s, &tags, opts.scheme);
    }
    let end = sentences
        .last()
        .and_then(|s| s.extra.get(KEPT_KEY))
        .and_then(|k| k.get("end"))
        .cloned()
        .unwrap_or(json!({}));
    if end.get("separated") == Some(&Value::Bool(false)) {
        lines.pop();
    }
    lines.extend(strings(end.get("after")));
    let mut out = lines.join("\n");
    if end.get("newline") != Some(&Value::Bool(false)) && !lines.is_empty() {
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

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// A sentence's lines: those kept before it, its tokens, and the blank line after it.
fn sentence_lines(out: &mut Vec<String>, s: &Sentence, tags: &[Tag], scheme: Option<Scheme>) {
    let kept = s.extra.get(KEPT_KEY).and_then(Value::as_object);
    let get = |k: &str| kept.and_then(|m| m.get(k));
    out.extend(strings(get("before")));
    if let Some(id) = s.id() {
        out.push(format!("# id = {id}"));
    }
    let scheme = scheme
        .or_else(|| get("scheme").and_then(Value::as_str).and_then(Scheme::parse))
        .unwrap_or(Scheme::Iob2);
    let written = scheme::from_bio(tags, scheme);
    let cols = Columns::from_layout(get("layout"));
    let others: Vec<Vec<String>> = get("columns")
        .and_then(Value::as_array)
        .map(|rows| rows.iter().map(|r| strings(Some(r))).collect())
        .unwrap_or_default();
    let inside: Vec<(usize, String)> = get("inside")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    for (k, (token, tag)) in s.tokens.iter().zip(&written).enumerate() {
        out.extend(inside.iter().filter(|(at, _)| *at == k).map(|(_, l)| l.clone()));
        out.push(cols.join(token, tag, others.get(k).map(Vec::as_slice)));
    }
    out.extend(
        inside
            .iter()
            .filter(|(at, _)| *at >= s.tokens.len())
            .map(|(_, l)| l.clone()),
    );
    out.push(String::new());
}
