//! brat standoff: a `.txt` file and a `.ann` file per document, entities as `T` lines and
//! relations as `R` lines with character offsets. relarc reads one sentence per line of the
//! text. Discontinuous spans, events, attributes and normalisations are refused with the
//! place they occur, never dropped silently; `#` annotator notes are kept with their
//! annotation.
//!
//! relarc writes one document (tokens separated by single spaces, one sentence per line), the
//! collection's `annotation.conf`, and a `.relarc.jsonl` sidecar with what brat cannot hold
//! (sentence ids and fields, provenance); brat ignores the sidecar. When the sidecar is there,
//! tokens are read back exactly as written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::offsets::{char_span_to_tokens, join_tokens, tokens_for};
use super::read_text;
use super::spert::{put_common, take_common};
use crate::corpus::error::{CorpusError, Place, Result};
use crate::corpus::{Corpus, Entity, Provenance, Relation, Schema, Sentence};
use crate::fsio::atomic_write_set;

const SIDECAR_EXT: &str = "relarc.jsonl";

/// Reads a document (`x.ann` or `x.txt`) or every document of a folder, in name order.
pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let docs: Vec<PathBuf> = if path.is_dir() {
        let mut anns: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| CorpusError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ann"))
            .collect();
        anns.sort();
        if anns.is_empty() {
            return Err(CorpusError::Unsupported(format!(
                "{}: no .ann files in this folder",
                path.display()
            )));
        }
        anns
    } else {
        vec![path.with_extension("ann")]
    };
    let mut sentences = Vec::new();
    for ann in docs {
        read_document(&ann, &mut sentences)?;
    }
    Ok(sentences)
}

struct TextBound {
    id: String,
    label: String,
    from: usize,
    to: usize,
    note: Option<String>,
    line: usize,
}

struct Rel {
    id: String,
    label: String,
    arg1: String,
    arg2: String,
    note: Option<String>,
    line: usize,
}

fn read_document(ann_path: &Path, out: &mut Vec<Sentence>) -> Result<()> {
    let txt_path = ann_path.with_extension("txt");
    let text = read_text(&txt_path)?;
    let ann = if ann_path.exists() {
        read_text(ann_path)?
    } else {
        String::new()
    };
    let doc = Document {
        ann_path,
        txt_path: &txt_path,
        chars: text.chars().collect(),
    };
    let standoff = doc.parse(&ann)?;
    let lines = sentence_lines(&text);
    let sidecar = read_sidecar(ann_path, lines.len())?;
    let placed = doc.place(&standoff.bounds, &lines)?;
    let first_new = out.len();
    for (li, line) in lines.iter().enumerate() {
        let side = sidecar.as_ref().map(|rows| rows[li].clone());
        out.push(doc.sentence(line, &placed.per_line[li], side)?);
    }
    let mut rel_extras: Vec<Vec<Map<String, Value>>> = match &sidecar {
        Some(rows) => rows.iter().map(|r| r.relations.clone()).collect(),
        None => vec![Vec::new(); lines.len()],
    };
    for r in &standoff.rels {
        doc.attach(r, &placed, &lines, &mut out[first_new..], &mut rel_extras)?;
    }
    Ok(())
}

/// One brat document being read: its files and its text, for offsets and error messages.
struct Document<'a> {
    ann_path: &'a Path,
    txt_path: &'a Path,
    chars: Vec<char>,
}

/// The annotations of a `.ann` file relarc reads, notes attached.
struct Standoff {
    bounds: Vec<TextBound>,
    rels: Vec<Rel>,
}

/// A non-blank line of the text: one sentence.
struct TextLine {
    /// Character offsets of its first character and of its end.
    start: usize,
    end: usize,
    /// 1-based line number in the text.
    number: usize,
}

/// Sentences are the non-blank lines of the text.
fn sentence_lines(text: &str) -> Vec<TextLine> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (ln, piece) in text.split('\n').enumerate() {
        let len = piece.chars().count();
        if !piece.trim().is_empty() {
            lines.push(TextLine {
                start,
                end: start + len,
                number: ln + 1,
            });
        }
        start += len + 1;
    }
    lines
}

/// Text-bound annotations by sentence, and where each id went.
struct Placed<'b> {
    per_line: Vec<Vec<&'b TextBound>>,
    /// T id -> (sentence, entity index in it).
    where_is: HashMap<&'b str, (usize, usize)>,
}

impl Document<'_> {
    fn bad(&self, line: usize, msg: String) -> CorpusError {
        CorpusError::malformed(Place::file(self.ann_path).line(line), msg)
    }

    fn parse(&self, ann: &str) -> Result<Standoff> {
        let mut bounds = Vec::new();
        let mut rels = Vec::new();
        let mut notes: HashMap<String, String> = HashMap::new();
        for (n, raw) in ann.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let mut fields = line.splitn(3, '\t');
            let id = fields.next().unwrap_or_default().to_string();
            let body = fields.next().unwrap_or_default();
            let rest = fields.next();
            match id.chars().next() {
                Some('T') => bounds.push(self.text_bound(n + 1, id, body, rest)?),
                Some('R') => rels.push(self.relation(n + 1, id, body)?),
                Some('#') => {
                    if let (Some(target), Some(note)) = (body.strip_prefix("AnnotatorNotes "), rest) {
                        notes.insert(target.trim().to_string(), note.to_string());
                    }
                }
                Some(c @ ('E' | 'A' | 'M' | 'N' | '*')) => return Err(self.unsupported(n + 1, &id, c)),
                _ => return Err(self.bad(n + 1, format!("unrecognised annotation line {line:?}"))),
            }
        }
        for b in &mut bounds {
            b.note = notes.remove(&b.id);
        }
        for r in &mut rels {
            r.note = notes.remove(&r.id);
        }
        Ok(Standoff { bounds, rels })
    }

    fn unsupported(&self, line_no: usize, id: &str, kind: char) -> CorpusError {
        let what = match kind {
            'E' => "events",
            'A' | 'M' => "attributes",
            'N' => "normalisations",
            _ => "equivalences",
        };
        self.bad(
            line_no,
            format!("{id}: brat {what} are not supported; relarc reads entities (T lines) and relations (R lines) only"),
        )
    }

    /// `T1<TAB>TYPE START END<TAB>text`: checked against the text.
    fn text_bound(&self, line_no: usize, id: String, body: &str, quoted: Option<&str>) -> Result<TextBound> {
        let (label, offsets) = body.split_once(' ').ok_or_else(|| {
            self.bad(
                line_no,
                format!("{id}: expected \"TYPE START END\", found {body:?}"),
            )
        })?;
        if offsets.contains(';') {
            return Err(self.bad(
                line_no,
                format!("{id}: discontinuous span {offsets:?} is not supported; relarc entities are contiguous token spans"),
            ));
        }
        let nums: Vec<Option<usize>> = offsets.split(' ').map(|x| x.parse().ok()).collect();
        let [Some(from), Some(to)] = nums.as_slice() else {
            return Err(self.bad(line_no, format!("{id}: offsets {offsets:?} are not two numbers")));
        };
        let (from, to) = (*from, *to);
        if from >= to || to > self.chars.len() {
            return Err(self.bad(
                line_no,
                format!(
                    "{id}: offsets {from}..{to} are empty or outside the text ({} characters)",
                    self.chars.len()
                ),
            ));
        }
        if let Some(quoted) = quoted {
            self.check_quoted(line_no, &id, from, to, quoted)?;
        }
        Ok(TextBound {
            id,
            label: label.to_string(),
            from,
            to,
            note: None,
            line: line_no,
        })
    }

    fn check_quoted(&self, line_no: usize, id: &str, from: usize, to: usize, quoted: &str) -> Result<()> {
        let actual: String = self.chars[from..to].iter().collect();
        // brat shows line breaks inside a span as spaces in this column.
        let flat: String = actual
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        if flat == quoted {
            return Ok(());
        }
        Err(self.bad(
            line_no,
            format!(
                "{id}: text {quoted:?} does not match {actual:?} at {from}..{to} of {}",
                self.txt_path.display()
            ),
        ))
    }

    /// `R1<TAB>TYPE Arg1:T1 Arg2:T2`.
    fn relation(&self, line_no: usize, id: String, body: &str) -> Result<Rel> {
        let parts: Vec<&str> = body.split(' ').collect();
        let arg = |p: &str, name: &str| p.strip_prefix(name).map(String::from);
        let expected = || {
            self.bad(
                line_no,
                format!("{id}: expected \"TYPE Arg1:T1 Arg2:T2\", found {body:?}"),
            )
        };
        let [label, a1, a2] = parts.as_slice() else {
            return Err(expected());
        };
        let (Some(arg1), Some(arg2)) = (arg(a1, "Arg1:"), arg(a2, "Arg2:")) else {
            return Err(expected());
        };
        Ok(Rel {
            id: id.clone(),
            label: label.to_string(),
            arg1,
            arg2,
            note: None,
            line: line_no,
        })
    }

    /// Puts each text-bound annotation on the line (sentence) it is in.
    fn place<'b>(&self, bounds: &'b [TextBound], lines: &[TextLine]) -> Result<Placed<'b>> {
        let mut placed = Placed {
            per_line: vec![Vec::new(); lines.len()],
            where_is: HashMap::new(),
        };
        for b in bounds {
            let Some(li) = lines.iter().position(|l| b.from >= l.start && b.from < l.end) else {
                return Err(self.bad(b.line, format!("{}: starts on a blank line", b.id)));
            };
            if b.to > lines[li].end {
                return Err(self.bad(
                    b.line,
                    format!(
                        "{}: crosses a line break; relarc reads one sentence per line",
                        b.id
                    ),
                ));
            }
            placed.where_is.insert(&b.id, (li, placed.per_line[li].len()));
            placed.per_line[li].push(b);
        }
        Ok(placed)
    }

    /// A sentence of one text line, tokenized so that every entity boundary is a token
    /// boundary (or as the sidecar's tokens say).
    fn sentence(&self, line: &TextLine, bounds: &[&TextBound], side: Option<SidecarRow>) -> Result<Sentence> {
        let line_text: String = self.chars[line.start..line.end].iter().collect();
        let boundaries: Vec<usize> = bounds
            .iter()
            .flat_map(|b| [b.from - line.start, b.to - line.start])
            .collect();
        let given = side
            .as_ref()
            .map(|_| line_text.split_whitespace().map(String::from).collect::<Vec<_>>());
        let tokens = tokens_for(&line_text, given.as_deref(), &boundaries);
        let has_sidecar = side.is_some();
        let mut side = side.unwrap_or_default();
        let mut entities = Vec::new();
        for (k, b) in bounds.iter().enumerate() {
            let (start, end) = char_span_to_tokens(&tokens, b.from - line.start, b.to - line.start)
                .map_err(|m| self.bad(b.line, format!("{}: {m}", b.id)))?;
            let mut e = Entity::new(b.label.clone(), start, end);
            if let Some(extra) = side.entities.get_mut(k) {
                let (p, s) = take_common(extra).map_err(|m| self.bad(b.line, m.to_string()))?;
                e.provenance = p;
                e.score = s;
                e.extra = std::mem::take(extra);
            }
            merge_note(&mut e.extra, b.note.as_deref());
            entities.push(e);
        }
        let extra = if has_sidecar {
            side.fields
        } else {
            let doc_name = self
                .ann_path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut m = Map::new();
            m.insert("id".into(), Value::from(format!("{doc_name}:{}", line.number)));
            m
        };
        Ok(Sentence {
            tokens: tokens.into_iter().map(|t| t.text).collect(),
            entities,
            relations: Vec::new(),
            extra,
            source_line: Some(line.number),
        })
    }

    /// Adds relation `r` to the sentence holding both its arguments.
    fn attach(
        &self,
        r: &Rel,
        placed: &Placed,
        lines: &[TextLine],
        sentences: &mut [Sentence],
        rel_extras: &mut [Vec<Map<String, Value>>],
    ) -> Result<()> {
        let locate = |arg: &str| {
            placed.where_is.get(arg).copied().ok_or_else(|| {
                self.bad(
                    r.line,
                    format!(
                        "{}: argument {arg} is not an entity (T line) of this document",
                        r.id
                    ),
                )
            })
        };
        let (s1, head) = locate(&r.arg1)?;
        let (s2, tail) = locate(&r.arg2)?;
        if s1 != s2 {
            return Err(self.bad(
                r.line,
                format!(
                    "{}: joins entities on different lines ({} and {}); relarc reads one sentence per line",
                    r.id, lines[s1].number, lines[s2].number
                ),
            ));
        }
        let sentence = &mut sentences[s1];
        let mut rel = Relation::new(r.label.clone(), head, tail);
        let k = sentence.relations.len();
        if let Some(extra) = rel_extras[s1].get_mut(k) {
            let (p, s) = take_common(extra).map_err(|m| self.bad(r.line, m.to_string()))?;
            rel.provenance = p;
            rel.score = s;
            rel.extra = std::mem::take(extra);
        }
        merge_note(&mut rel.extra, r.note.as_deref());
        sentence.relations.push(rel);
        Ok(())
    }
}

/// A note as its AnnotatorNotes line holds it: line breaks as spaces.
fn flatten_note(n: &str) -> String {
    n.chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}

/// The note of the AnnotatorNotes line, unless the sidecar holds the same note with its line
/// breaks (a note edited in brat since differs, and wins).
fn merge_note(extra: &mut Map<String, Value>, line: Option<&str>) {
    let kept = extra.get("note").and_then(Value::as_str).map(flatten_note);
    match line {
        Some(n) if kept.as_deref() == Some(n) => {}
        Some(n) => {
            extra.insert("note".into(), Value::from(n));
        }
        None => {
            extra.remove("note");
        }
    }
}

#[derive(Clone, Default)]
struct SidecarRow {
    fields: Map<String, Value>,
    entities: Vec<Map<String, Value>>,
    relations: Vec<Map<String, Value>>,
}

fn sidecar_path(ann_path: &Path) -> PathBuf {
    ann_path.with_extension(SIDECAR_EXT)
}

fn read_sidecar(ann_path: &Path, sentences: usize) -> Result<Option<Vec<SidecarRow>>> {
    let path = sidecar_path(ann_path);
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(&path)?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |m: String| CorpusError::malformed(Place::file(&path).line(n + 1), m);
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let Value::Object(mut o) = v else {
            return Err(bad("expected an object".into()));
        };
        let list = |o: &mut Map<String, Value>, key: &str| -> Vec<Map<String, Value>> {
            match o.remove(key) {
                Some(Value::Array(a)) => a
                    .into_iter()
                    .map(|x| if let Value::Object(m) = x { m } else { Map::new() })
                    .collect(),
                _ => Vec::new(),
            }
        };
        let entities = list(&mut o, "entities");
        let relations = list(&mut o, "relations");
        let fields = match o.remove("fields") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        rows.push(SidecarRow {
            fields,
            entities,
            relations,
        });
    }
    if rows.len() != sentences {
        return Err(CorpusError::malformed(
            Place::file(&path),
            format!(
                "has {} rows but the text has {sentences} sentences; the text was changed after relarc wrote it (delete the sidecar to read the text afresh)",
                rows.len()
            ),
        ));
    }
    Ok(Some(rows))
}

/// Where a brat output goes: `dir/stem.ann` for a path ending in `.ann` or `.txt`, else the
/// folder `path` with the document `corpus`.
fn output_paths(path: &Path) -> (PathBuf, PathBuf) {
    let is_file = path.extension().is_some_and(|e| e == "ann" || e == "txt");
    if is_file {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (dir.to_path_buf(), path.with_extension("ann"))
    } else {
        (path.to_path_buf(), path.join("corpus.ann"))
    }
}

pub fn write(path: &Path, corpus: &Corpus) -> Result<Vec<String>> {
    let (dir, ann_path) = output_paths(path);
    std::fs::create_dir_all(&dir).map_err(|e| CorpusError::io(&dir, e))?;
    let mut w = Writer::default();
    for s in &corpus.sentences {
        w.sentence(s);
    }
    // The text, annotations, sidecar and configuration are one save: a full disk while any
    // is written leaves the old document (a new text beside old annotations would not load).
    let (txt, side, conf) = (
        ann_path.with_extension("txt"),
        sidecar_path(&ann_path),
        dir.join("annotation.conf"),
    );
    let conf_text = annotation_conf(&corpus.schema);
    atomic_write_set(&[
        (&txt, w.txt.as_bytes()),
        (&ann_path, w.ann.as_bytes()),
        (&side, w.side.as_bytes()),
        (&conf, conf_text.as_bytes()),
    ])
    .map_err(|(p, e)| CorpusError::io(&p, e))?;
    Ok(Vec::new())
}

/// A document being written: its text, its annotations, the sidecar, and the last ids used.
#[derive(Default)]
struct Writer {
    txt: String,
    ann: String,
    side: String,
    /// Characters of text written so far.
    pos: usize,
    last_t: usize,
    last_r: usize,
    last_note: usize,
}

impl Writer {
    /// One sentence as one line of text.
    fn sentence(&mut self, s: &Sentence) {
        let (line, offsets) = join_tokens(&s.tokens);
        let mut tids = Vec::new();
        let mut ent_rows = Vec::new();
        for e in &s.entities {
            let from = self.pos + offsets[e.start].0;
            let to = self.pos + offsets[e.end - 1].1;
            let covered = s.tokens[e.start..e.end].join(" ");
            self.last_t += 1;
            let t = self.last_t;
            tids.push(t);
            self.ann
                .push_str(&format!("T{t}\t{} {from} {to}\t{covered}\n", e.label));
            ent_rows.push(self.extras(&format!("T{t}"), e.provenance, e.score, &e.extra));
        }
        let mut rel_rows = Vec::new();
        for rel in &s.relations {
            self.last_r += 1;
            let r = self.last_r;
            let (h, t) = (tids[rel.head], tids[rel.tail]);
            self.ann
                .push_str(&format!("R{r}\t{} Arg1:T{h} Arg2:T{t}\n", rel.label));
            rel_rows.push(self.extras(&format!("R{r}"), rel.provenance, rel.score, &rel.extra));
        }
        self.side
            .push_str(&sidecar_row(s, ent_rows, rel_rows).to_string());
        self.side.push('\n');
        self.txt.push_str(&line);
        self.txt.push('\n');
        self.pos += line.chars().count() + 1;
    }

    /// An annotation's note becomes an AnnotatorNotes line; the rest goes to the sidecar.
    fn extras(
        &mut self,
        id: &str,
        provenance: Provenance,
        score: Option<f64>,
        extra: &Map<String, Value>,
    ) -> Value {
        let mut extra = extra.clone();
        if let Some(Value::String(n)) = extra.remove("note") {
            self.last_note += 1;
            // A line break would end the note's line: brat gets spaces, and the sidecar keeps
            // the note as it is.
            let flat = flatten_note(&n);
            self.ann
                .push_str(&format!("#{}\tAnnotatorNotes {id}\t{flat}\n", self.last_note));
            if flat != n {
                extra.insert("note".into(), Value::String(n));
            }
        }
        let mut row = Map::new();
        put_common(&mut row, provenance, score, &extra);
        Value::Object(row)
    }
}

/// What brat cannot hold of a sentence: its other fields, and the provenance, score and other
/// fields of its annotations (only the parts that have any).
fn sidecar_row(s: &Sentence, ent_rows: Vec<Value>, rel_rows: Vec<Value>) -> Value {
    let mut row = Map::new();
    let fields: Map<String, Value> = s.meta_fields().map(|(k, v)| (k.clone(), v.clone())).collect();
    if !fields.is_empty() {
        row.insert("fields".into(), Value::Object(fields));
    }
    let nonempty = |rows: &Vec<Value>| rows.iter().any(|v| v.as_object().is_some_and(|o| !o.is_empty()));
    if nonempty(&ent_rows) {
        row.insert("entities".into(), Value::Array(ent_rows));
    }
    if nonempty(&rel_rows) {
        row.insert("relations".into(), Value::Array(rel_rows));
    }
    Value::Object(row)
}

/// brat's configuration of the entity and relation types of a collection.
pub fn annotation_conf(schema: &Schema) -> String {
    let mut out = String::from("[entities]\n");
    for e in &schema.entity_types {
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("\n[relations]\n");
    for r in &schema.relation_types {
        let side = |pick: fn(&(String, String)) -> &String| {
            let mut v: Vec<&str> = r.signatures.iter().map(|s| pick(s).as_str()).collect();
            v.sort();
            v.dedup();
            if v.is_empty() {
                "<ENTITY>".to_string()
            } else {
                v.join("|")
            }
        };
        out.push_str(&format!(
            "{}\tArg1:{}, Arg2:{}\n",
            r.name,
            side(|s| &s.0),
            side(|s| &s.1)
        ));
    }
    out.push_str("\n[events]\n\n[attributes]\n");
    out
}
