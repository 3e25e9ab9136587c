//! SpERT-style JSON: `{"tokens": [...], "entities": [{"type", "start", "end"}],
//! "relations": [{"type", "head", "tail"}]}` per sentence, as one JSON array or as JSON lines.
//! Fields we do not use are kept, in their order, so load + save gives back the same data.

use std::path::Path;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::read_text;
use crate::corpus::error::{Collected, CorpusError, FieldError, Place, Result};
use crate::corpus::{Entity, Provenance, Relation, Sentence};
use crate::fsio::atomic_write;

pub fn read_json(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    parse_json(path, &text)
}

pub fn parse_json(path: &Path, text: &str) -> Result<Vec<Sentence>> {
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            format!("not valid JSON: {e}")
        } else {
            "expected a JSON array of sentence objects (use .jsonl for one object per line)".to_string()
        };
        CorpusError::malformed(Place::file(path).line(e.line().max(1)), what)
    })?;
    let mut sentences = Vec::with_capacity(items.len());
    let mut problems = Collected::new(path);
    let mut line = 1;
    let mut counted_to = 0;
    for (i, raw) in items.into_iter().enumerate() {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        line += text[counted_to..offset].bytes().filter(|&b| b == b'\n').count();
        counted_to = offset;
        let place = Place::file(path).line(line).sentence(i, None);
        let read = serde_json::from_str(raw.get())
            .map_err(|e| CorpusError::malformed(place.clone(), format!("not valid JSON: {e}")))
            .and_then(|value| sentence_from_value(value, &place, line));
        match read {
            Ok(s) => sentences.push(s),
            Err(e) => problems.keep(e)?,
        }
    }
    problems.finish(sentences)
}

pub fn read_jsonl(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    if text.trim_start().starts_with('[') {
        // A JSON array named .jsonl (pretty-printed, say) is read as the array it is.
        return parse_json(path, &text);
    }
    let mut sentences = Vec::new();
    let mut problems = Collected::new(path);
    let mut n_records = 0;
    for (n, line_text) in text.lines().enumerate() {
        if line_text.trim().is_empty() {
            continue;
        }
        let place = Place::file(path).line(n + 1).sentence(n_records, None);
        n_records += 1;
        let read = serde_json::from_str(line_text)
            .map_err(|e| CorpusError::malformed(place.clone(), format!("not valid JSON: {e}")))
            .and_then(|value| sentence_from_value(value, &place, n + 1));
        match read {
            Ok(s) => sentences.push(s),
            Err(e) => problems.keep(e)?,
        }
    }
    problems.finish(sentences)
}

/// Reads one sentence object; `place` names it in errors.
pub fn sentence_from_value(value: Value, place: &Place, line: usize) -> Result<Sentence> {
    let Value::Object(mut obj) = value else {
        return Err(CorpusError::malformed(
            place.clone(),
            "a sentence must be a JSON object",
        ));
    };
    let id = id_of(&obj);
    let place = Place {
        sentence_id: id,
        ..place.clone()
    };
    let bad = |msg: String| CorpusError::malformed(place.clone(), msg);
    let tokens = match obj.get_mut("tokens").map(Value::take) {
        Some(Value::Array(items)) => {
            let mut tokens = Vec::with_capacity(items.len());
            for (i, t) in items.into_iter().enumerate() {
                match t {
                    Value::String(s) => tokens.push(s),
                    other => return Err(bad(format!("token {i} is not a string: {other}"))),
                }
            }
            tokens
        }
        Some(_) => return Err(bad("`tokens` must be an array of strings".into())),
        None => return Err(bad(super::not_this_format(&obj, crate::corpus::Format::Json))),
    };
    let entities = match obj.get_mut("entities").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| entity_from_value(v).map_err(|m| bad(format!("entity {i}: {m}"))))
            .collect::<Result<_>>()?,
        Some(_) => return Err(bad("`entities` must be an array".into())),
    };
    let relations = match obj.get_mut("relations").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| relation_from_value(v).map_err(|m| bad(format!("relation {i}: {m}"))))
            .collect::<Result<_>>()?,
        Some(_) => return Err(bad("`relations` must be an array".into())),
    };
    Ok(Sentence {
        tokens,
        entities,
        relations,
        extra: obj,
        source_line: Some(line),
        source: None,
    })
}

fn id_of(obj: &Map<String, Value>) -> Option<String> {
    ["id", "orig_id"].iter().find_map(|k| match obj.get(*k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

pub(crate) fn get_index(obj: &Map<String, Value>, key: &str) -> std::result::Result<usize, FieldError> {
    match obj.get(key) {
        None => Err(FieldError::missing(key)),
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| FieldError::wrong(key, "a non-negative integer", v)),
    }
}

pub(crate) fn get_label(obj: &Map<String, Value>, key: &str) -> std::result::Result<String, FieldError> {
    match obj.get(key) {
        None => Err(FieldError::missing(key)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(FieldError::wrong(key, "a string", v)),
    }
}

/// Reads `provenance` and `score`, the annotation fields shared by every JSON format.
pub(crate) fn take_common(
    obj: &mut Map<String, Value>,
) -> std::result::Result<(Provenance, Option<f64>), FieldError> {
    let provenance = match obj.remove("provenance") {
        None => Provenance::Gold,
        Some(Value::String(s)) => Provenance::parse(&s).ok_or(FieldError::Provenance(s))?,
        Some(v) => return Err(FieldError::wrong("provenance", "a string", &v)),
    };
    let score = match obj.remove("score") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| FieldError::wrong("score", "a number", &v))?,
        ),
    };
    Ok((provenance, score))
}

/// The fields left over, or a map that owns no memory when none are: an emptied map keeps
/// the room of the fields taken out of it, some 300 bytes per annotation (a third of a
/// 100,000-sentence corpus's memory, measured).
fn unless_empty(obj: Map<String, Value>) -> Map<String, Value> {
    if obj.is_empty() {
        Map::new()
    } else {
        obj
    }
}

fn entity_from_value(v: Value) -> std::result::Result<Entity, FieldError> {
    let Value::Object(mut obj) = v else {
        return Err(FieldError::NotObject);
    };
    let label = get_label(&obj, "type")?;
    let start = get_index(&obj, "start")?;
    let end = get_index(&obj, "end")?;
    for k in ["type", "start", "end"] {
        obj.remove(k);
    }
    let (provenance, score) = take_common(&mut obj)?;
    Ok(Entity {
        label,
        start,
        end,
        provenance,
        score,
        extra: unless_empty(obj),
    })
}

fn relation_from_value(v: Value) -> std::result::Result<Relation, FieldError> {
    let Value::Object(mut obj) = v else {
        return Err(FieldError::NotObject);
    };
    let label = get_label(&obj, "type")?;
    let head = get_index(&obj, "head")?;
    let tail = get_index(&obj, "tail")?;
    for k in ["type", "head", "tail"] {
        obj.remove(k);
    }
    let (provenance, score) = take_common(&mut obj)?;
    Ok(Relation {
        label,
        head,
        tail,
        provenance,
        score,
        extra: unless_empty(obj),
    })
}

pub(crate) fn put_common(
    obj: &mut Map<String, Value>,
    provenance: Provenance,
    score: Option<f64>,
    extra: &Map<String, Value>,
) {
    if provenance != Provenance::Gold {
        obj.insert("provenance".into(), Value::from(provenance.as_str()));
    }
    if let Some(s) = score {
        obj.insert("score".into(), Value::from(s));
    }
    for (k, v) in extra {
        obj.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn entity_value(e: &Entity) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), Value::from(e.label.as_str()));
    obj.insert("start".into(), Value::from(e.start));
    obj.insert("end".into(), Value::from(e.end));
    put_common(&mut obj, e.provenance, e.score, &e.extra);
    Value::Object(obj)
}

fn relation_value(r: &Relation) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), Value::from(r.label.as_str()));
    obj.insert("head".into(), Value::from(r.head));
    obj.insert("tail".into(), Value::from(r.tail));
    put_common(&mut obj, r.provenance, r.score, &r.extra);
    Value::Object(obj)
}

/// Fills an output object: metadata and annotation keys in the order they were read, then
/// the annotation keys the source did not have. `fill` gives the value of each annotation key
/// (None to leave it out) and `owns` says which keys this format writes.
pub(crate) fn ordered_object(
    s: &Sentence,
    owns: &[&str],
    mut fill: impl FnMut(&str) -> Option<Value>,
) -> Map<String, Value> {
    let mut obj = Map::new();
    for (k, v) in &s.extra {
        if let Some(pos) = owns.iter().position(|o| o == k) {
            // Keys this format adds that the source lacked go just before their successors.
            for missing in &owns[..pos] {
                if !obj.contains_key(*missing) && !s.extra.contains_key(*missing) {
                    if let Some(value) = fill(missing) {
                        obj.insert(missing.to_string(), value);
                    }
                }
            }
            if let Some(value) = fill(k) {
                obj.insert(k.clone(), value);
            }
        } else if !(v.is_null() && crate::corpus::sentence::DERIVED_KEYS.contains(&k.as_str())) {
            obj.insert(k.clone(), v.clone());
        }
    }
    for k in owns {
        if !obj.contains_key(*k) && !s.extra.contains_key(*k) {
            if let Some(value) = fill(k) {
                obj.insert(k.to_string(), value);
            }
        }
    }
    obj
}

/// A sentence as SpERT writes it: `entities` and `relations` always there (SpERT's reader
/// needs both), other fields in the order they were read.
pub fn sentence_value(s: &Sentence) -> Value {
    Value::Object(ordered_object(
        s,
        &["tokens", "entities", "relations"],
        |k| match k {
            "tokens" => Some(Value::from(s.tokens.clone())),
            "entities" => Some(Value::Array(s.entities.iter().map(entity_value).collect())),
            "relations" => Some(Value::Array(s.relations.iter().map(relation_value).collect())),
            _ => None,
        },
    ))
}

/// A JSON array with one compact sentence object per line, the layout of the shared data.
pub fn write_json(path: &Path, sentences: &[Sentence]) -> Result<()> {
    atomic_write(path, |w| {
        if sentences.is_empty() {
            return w.write_all(b"[]\n");
        }
        w.write_all(b"[\n")?;
        for (i, s) in sentences.iter().enumerate() {
            if i > 0 {
                w.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut *w, &sentence_value(s))?;
        }
        w.write_all(b"\n]\n")
    })
    .map_err(|e| CorpusError::io(path, e))
}

pub fn write_jsonl(path: &Path, sentences: &[Sentence]) -> Result<()> {
    atomic_write(path, |w| {
        for s in sentences {
            serde_json::to_writer(&mut *w, &sentence_value(s))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| CorpusError::io(path, e))
}
