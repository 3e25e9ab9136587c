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
use crate::corpus::{Corpus, Entity, Relation, Schema, Sentence};
use crate::fsio::atomic_write;

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
    let bad = |line: usize, msg: String| CorpusError::malformed(Place::file(ann_path).line(line), msg);

    let mut bounds: Vec<TextBound> = Vec::new();
    let mut rels: Vec<Rel> = Vec::new();
    let mut notes: HashMap<String, String> = HashMap::new();
    let chars: Vec<char> = text.chars().collect();
    for (n, raw) in ann.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let id = fields.next().unwrap_or_default().to_string();
        let body = fields.next().unwrap_or_default();
        let rest = fields.next();
        match id.chars().next() {
            Some('T') => {
                let (label, offsets) = body.split_once(' ').ok_or_else(|| {
                    bad(
                        line_no,
                        format!("{id}: expected \"TYPE START END\", found {body:?}"),
                    )
                })?;
                if offsets.contains(';') {
                    return Err(bad(
                        line_no,
                        format!("{id}: discontinuous span {offsets:?} is not supported; relarc entities are contiguous token spans"),
                    ));
                }
                let nums: Vec<Option<usize>> = offsets.split(' ').map(|x| x.parse().ok()).collect();
                let (from, to) = match nums.as_slice() {
                    [Some(a), Some(b)] => (*a, *b),
                    _ => {
                        return Err(bad(
                            line_no,
                            format!("{id}: offsets {offsets:?} are not two numbers"),
                        ))
                    }
                };
                if from >= to || to > chars.len() {
                    return Err(bad(
                        line_no,
                        format!(
                            "{id}: offsets {from}..{to} are empty or outside the text ({} characters)",
                            chars.len()
                        ),
                    ));
                }
                if let Some(quoted) = rest {
                    let actual: String = chars[from..to].iter().collect();
                    // brat shows line breaks inside a span as spaces in this column.
                    let flat: String = actual
                        .chars()
                        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                        .collect();
                    if flat != quoted {
                        return Err(bad(
                            line_no,
                            format!(
                                "{id}: text {quoted:?} does not match {actual:?} at {from}..{to} of {}",
                                txt_path.display()
                            ),
                        ));
                    }
                }
                bounds.push(TextBound {
                    id,
                    label: label.to_string(),
                    from,
                    to,
                    note: None,
                    line: line_no,
                });
            }
            Some('R') => {
                let parts: Vec<&str> = body.split(' ').collect();
                let arg = |p: &str, name: &str| p.strip_prefix(name).map(String::from);
                match parts.as_slice() {
                    [label, a1, a2] => {
                        let (Some(arg1), Some(arg2)) = (arg(a1, "Arg1:"), arg(a2, "Arg2:")) else {
                            return Err(bad(
                                line_no,
                                format!("{id}: expected \"TYPE Arg1:T1 Arg2:T2\", found {body:?}"),
                            ));
                        };
                        rels.push(Rel {
                            id,
                            label: label.to_string(),
                            arg1,
                            arg2,
                            note: None,
                            line: line_no,
                        });
                    }
                    _ => {
                        return Err(bad(
                            line_no,
                            format!("{id}: expected \"TYPE Arg1:T1 Arg2:T2\", found {body:?}"),
                        ))
                    }
                }
            }
            Some('#') => {
                if let (Some(target), Some(note)) = (body.strip_prefix("AnnotatorNotes "), rest) {
                    notes.insert(target.trim().to_string(), note.to_string());
                }
            }
            Some(c @ ('E' | 'A' | 'M' | 'N' | '*')) => {
                let what = match c {
                    'E' => "events",
                    'A' | 'M' => "attributes",
                    'N' => "normalisations",
                    _ => "equivalences",
                };
                return Err(bad(
                    line_no,
                    format!("{id}: brat {what} are not supported; relarc reads entities (T lines) and relations (R lines) only"),
                ));
            }
            _ => return Err(bad(line_no, format!("unrecognised annotation line {line:?}"))),
        }
    }
    for b in &mut bounds {
        b.note = notes.remove(&b.id);
    }
    for r in &mut rels {
        r.note = notes.remove(&r.id);
    }

    // Sentences are the non-blank lines of the text.
    let mut lines: Vec<(usize, usize, usize)> = Vec::new(); // (first char, end char, line number)
    let mut start = 0;
    for (ln, piece) in text.split('\n').enumerate() {
        let len = piece.chars().count();
        if !piece.trim().is_empty() {
            lines.push((start, start + len, ln + 1));
        }
        start += len + 1;
    }
    let sidecar = read_sidecar(ann_path, lines.len())?;

    let mut where_is: HashMap<&str, (usize, usize)> = HashMap::new(); // T id -> (sentence, entity)
    let mut per_line: Vec<Vec<&TextBound>> = vec![Vec::new(); lines.len()];
    for b in &bounds {
        let Some(li) = lines.iter().position(|&(s, e, _)| b.from >= s && b.from < e) else {
            return Err(bad(b.line, format!("{}: starts on a blank line", b.id)));
        };
        if b.to > lines[li].1 {
            return Err(bad(
                b.line,
                format!(
                    "{}: crosses a line break; relarc reads one sentence per line",
                    b.id
                ),
            ));
        }
        where_is.insert(&b.id, (li, per_line[li].len()));
        per_line[li].push(b);
    }

    let doc_name = ann_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let first_new = out.len();
    for (li, &(ls, le, line_no)) in lines.iter().enumerate() {
        let line_text: String = chars[ls..le].iter().collect();
        let boundaries: Vec<usize> = per_line[li]
            .iter()
            .flat_map(|b| [b.from - ls, b.to - ls])
            .collect();
        let (given, mut side) = match &sidecar {
            Some(rows) => (
                Some(line_text.split_whitespace().map(String::from).collect::<Vec<_>>()),
                rows[li].clone(),
            ),
            None => (None, SidecarRow::default()),
        };
        let tokens = tokens_for(&line_text, given.as_deref(), &boundaries);
        let mut entities = Vec::new();
        for (k, b) in per_line[li].iter().enumerate() {
            let (start, end) = char_span_to_tokens(&tokens, b.from - ls, b.to - ls)
                .map_err(|m| bad(b.line, format!("{}: {m}", b.id)))?;
            let mut e = Entity::new(b.label.clone(), start, end);
            if let Some(extra) = side.entities.get_mut(k) {
                let (p, s) = take_common(extra).map_err(|m| bad(b.line, m))?;
                e.provenance = p;
                e.score = s;
                e.extra = std::mem::take(extra);
            }
            if let Some(note) = &b.note {
                e.extra.insert("note".into(), Value::from(note.as_str()));
            }
            entities.push(e);
        }
        let extra = if sidecar.is_some() {
            side.fields
        } else {
            let mut m = Map::new();
            m.insert("id".into(), Value::from(format!("{doc_name}:{line_no}")));
            m
        };
        out.push(Sentence {
            tokens: tokens.into_iter().map(|t| t.text).collect(),
            entities,
            relations: Vec::new(),
            extra,
            source_line: Some(line_no),
        });
    }

    let mut rel_extras: Vec<Vec<Map<String, Value>>> = match &sidecar {
        Some(rows) => rows.iter().map(|r| r.relations.clone()).collect(),
        None => vec![Vec::new(); lines.len()],
    };
    for r in &rels {
        let locate = |arg: &str| {
            where_is.get(arg).copied().ok_or_else(|| {
                bad(
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
            return Err(bad(
                r.line,
                format!(
                    "{}: joins entities on different lines ({} and {}); relarc reads one sentence per line",
                    r.id, lines[s1].2, lines[s2].2
                ),
            ));
        }
        let sentence = &mut out[first_new + s1];
        let mut rel = Relation::new(r.label.clone(), head, tail);
        let k = sentence.relations.len();
        if let Some(extra) = rel_extras[s1].get_mut(k) {
            let (p, s) = take_common(extra).map_err(|m| bad(r.line, m))?;
            rel.provenance = p;
            rel.score = s;
            rel.extra = std::mem::take(extra);
        }
        if let Some(note) = &r.note {
            rel.extra.insert("note".into(), Value::from(note.as_str()));
        }
        sentence.relations.push(rel);
    }
    Ok(())
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
    let mut txt = String::new();
    let mut ann = String::new();
    let mut side = String::new();
    let mut pos = 0;
    let (mut t, mut r, mut note) = (0, 0, 0);
    for s in &corpus.sentences {
        let (line, offsets) = join_tokens(&s.tokens);
        let mut tids = Vec::new();
        let mut ent_rows = Vec::new();
        for e in &s.entities {
            t += 1;
            tids.push(t);
            let from = pos + offsets[e.start].0;
            let to = pos + offsets[e.end - 1].1;
            let covered = s.tokens[e.start..e.end].join(" ");
            ann.push_str(&format!("T{t}\t{} {from} {to}\t{covered}\n", e.label));
            let mut extra = e.extra.clone();
            if let Some(Value::String(n)) = extra.remove("note") {
                note += 1;
                ann.push_str(&format!("#{note}\tAnnotatorNotes T{t}\t{n}\n"));
            }
            let mut row = Map::new();
            put_common(&mut row, e.provenance, e.score, &extra);
            ent_rows.push(Value::Object(row));
        }
        let mut rel_rows = Vec::new();
        for rel in &s.relations {
            r += 1;
            ann.push_str(&format!(
                "R{r}\t{} Arg1:T{} Arg2:T{}\n",
                rel.label, tids[rel.head], tids[rel.tail]
            ));
            let mut extra = rel.extra.clone();
            if let Some(Value::String(n)) = extra.remove("note") {
                note += 1;
                ann.push_str(&format!("#{note}\tAnnotatorNotes R{r}\t{n}\n"));
            }
            let mut row = Map::new();
            put_common(&mut row, rel.provenance, rel.score, &extra);
            rel_rows.push(Value::Object(row));
        }
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
        side.push_str(&Value::Object(row).to_string());
        side.push('\n');
        txt.push_str(&line);
        txt.push('\n');
        pos += line.chars().count() + 1;
    }
    let write = |p: &Path, content: &str| {
        atomic_write(p, |w| w.write_all(content.as_bytes())).map_err(|e| CorpusError::io(p, e))
    };
    write(&ann_path.with_extension("txt"), &txt)?;
    write(&ann_path, &ann)?;
    write(&sidecar_path(&ann_path), &side)?;
    write(&dir.join("annotation.conf"), &annotation_conf(&corpus.schema))?;
    Ok(Vec::new())
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
