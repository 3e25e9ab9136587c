//! doccano JSONL for sequence labelling with relations:
//! `{"text", "entities": [{"id", "label", "start_offset", "end_offset"}],
//!   "relations": [{"id", "from_id", "to_id", "type"}]}`, offsets in characters.
//! The older `"label": [[start, end, "TYPE"], ...]` form is read too. relarc also writes the
//! `tokens` it used, which doccano keeps as metadata, so a round trip keeps the tokenization;
//! without them the text is tokenized with splits at every annotation boundary.
//! Entity and relation ids are renumbered on writing.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::offsets::{char_span_to_tokens, join_tokens, tokens_for};
use super::read_text;
use super::spert::{get_index, get_label, ordered_object, put_common, take_common};
use crate::corpus::error::{CorpusError, FieldError, Place, Result};
use crate::corpus::{Entity, Relation, Sentence};
use crate::fsio::atomic_write;
use crate::text::Token;

pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let mut sentences = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = Place::file(path).line(n + 1).sentence(sentences.len(), None);
        let value: Value = serde_json::from_str(line)
            .map_err(|e| CorpusError::malformed(place.clone(), format!("not valid JSON: {e}")))?;
        sentences.push(record(value, place, n + 1)?);
    }
    Ok(sentences)
}

struct CharEntity {
    id: Option<Value>,
    label: String,
    from: usize,
    to: usize,
    rest: Map<String, Value>,
}

fn record(value: Value, mut place: Place, line: usize) -> Result<Sentence> {
    let Value::Object(mut obj) = value else {
        return Err(CorpusError::malformed(place, "a record must be a JSON object"));
    };
    place.sentence_id = obj
        .get("id")
        .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
    let r = Record { place };
    let text = match obj.get_mut("text").map(Value::take) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(r.bad("`text` must be a string".into())),
        None => return Err(r.bad("missing `text`".into())),
    };
    let given: Option<Vec<String>> = match obj.get_mut("tokens").map(Value::take) {
        Some(Value::Array(items)) => items.into_iter().map(|t| t.as_str().map(String::from)).collect(),
        _ => None,
    };
    let mut char_entities = r.entity_objects(obj.get_mut("entities").map(Value::take))?;
    char_entities.extend(r.legacy_labels(obj.remove("label"))?);
    r.check_offsets(&char_entities, text.chars().count())?;
    let boundaries: Vec<usize> = char_entities.iter().flat_map(|e| [e.from, e.to]).collect();
    let tokens = tokens_for(&text, given.as_deref(), &boundaries);
    let (entities, id_to_index) = r.token_entities(char_entities, &tokens)?;
    let relations = r.relations(obj.get_mut("relations").map(Value::take), &id_to_index)?;
    Ok(Sentence {
        tokens: tokens.into_iter().map(|t| t.text).collect(),
        entities,
        relations,
        extra: obj,
        source_line: Some(line),
        source: None,
    })
}

/// One record being read, for its error messages.
struct Record {
    place: Place,
}

impl Record {
    fn bad(&self, msg: String) -> CorpusError {
        CorpusError::malformed(self.place.clone(), msg)
    }

    /// `"entities": [{"id", "label", "start_offset", "end_offset", ...}]`.
    fn entity_objects(&self, value: Option<Value>) -> Result<Vec<CharEntity>> {
        let items = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.bad("`entities` must be an array".into())),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let Value::Object(mut e) = v else {
                return Err(self.bad(format!("entity {i} must be an object")));
            };
            let field = |m: FieldError| self.bad(format!("entity {i}: {m}"));
            let label = get_label(&e, "label").map_err(field)?;
            let from = get_index(&e, "start_offset").map_err(field)?;
            let to = get_index(&e, "end_offset").map_err(field)?;
            let id = e.remove("id");
            for k in ["label", "start_offset", "end_offset"] {
                e.remove(k);
            }
            out.push(CharEntity {
                id,
                label,
                from,
                to,
                rest: e,
            });
        }
        Ok(out)
    }

    /// The older `"label": [[start, end, "TYPE"], ...]`.
    fn legacy_labels(&self, value: Option<Value>) -> Result<Vec<CharEntity>> {
        let Some(legacy) = value else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = legacy else {
            return Err(self.bad("`label` must be an array of [start, end, type]".into()));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let triple = v.as_array().filter(|a| a.len() == 3);
            let parsed =
                triple.and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?, a[2].as_str()?.to_string())));
            let Some((from, to, label)) = parsed else {
                return Err(self.bad(format!("label {i} must be [start, end, \"TYPE\"]")));
            };
            out.push(CharEntity {
                id: None,
                label,
                from: from as usize,
                to: to as usize,
                rest: Map::new(),
            });
        }
        Ok(out)
    }

    fn check_offsets(&self, entities: &[CharEntity], n_chars: usize) -> Result<()> {
        for (i, e) in entities.iter().enumerate() {
            if e.from >= e.to || e.to > n_chars {
                return Err(self.bad(format!(
                    "entity {i} ({}) offsets {}..{} are outside the text ({n_chars} characters) or empty",
                    e.label, e.from, e.to
                )));
            }
        }
        Ok(())
    }

    /// Character spans to token spans; returns the entities and each entity id's index.
    fn token_entities(
        &self,
        char_entities: Vec<CharEntity>,
        tokens: &[Token],
    ) -> Result<(Vec<Entity>, HashMap<String, usize>)> {
        let mut id_to_index = HashMap::new();
        let mut entities = Vec::with_capacity(char_entities.len());
        for (i, ce) in char_entities.into_iter().enumerate() {
            let (start, end) = char_span_to_tokens(tokens, ce.from, ce.to)
                .map_err(|m| self.bad(format!("entity {i} ({}): {m}", ce.label)))?;
            if let Some(id) = ce.id {
                id_to_index.insert(id.to_string(), i);
            }
            let mut rest = ce.rest;
            let (provenance, score) =
                take_common(&mut rest).map_err(|m| self.bad(format!("entity {i}: {m}")))?;
            entities.push(Entity {
                label: ce.label,
                start,
                end,
                provenance,
                score,
                extra: rest,
            });
        }
        Ok((entities, id_to_index))
    }

    /// `"relations": [{"id", "from_id", "to_id", "type", ...}]`, arguments by entity id.
    fn relations(&self, value: Option<Value>, id_to_index: &HashMap<String, usize>) -> Result<Vec<Relation>> {
        let items = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.bad("`relations` must be an array".into())),
        };
        let mut relations = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let Value::Object(r) = v else {
                return Err(self.bad(format!("relation {i} must be an object")));
            };
            relations.push(self.relation(i, r, id_to_index)?);
        }
        Ok(relations)
    }

    fn relation(
        &self,
        i: usize,
        mut r: Map<String, Value>,
        id_to_index: &HashMap<String, usize>,
    ) -> Result<Relation> {
        let label = get_label(&r, "type").map_err(|m| self.bad(format!("relation {i}: {m}")))?;
        let arg = |key: &str| -> Result<usize> {
            let v = r
                .get(key)
                .ok_or_else(|| self.bad(format!("relation {i}: missing `{key}`")))?;
            id_to_index.get(&v.to_string()).copied().ok_or_else(|| {
                self.bad(format!(
                    "relation {i} ({label}): `{key}` {v} is not the id of an entity of this record"
                ))
            })
        };
        let head = arg("from_id")?;
        let tail = arg("to_id")?;
        for k in ["id", "type", "from_id", "to_id"] {
            r.remove(k);
        }
        let (provenance, score) = take_common(&mut r).map_err(|m| self.bad(format!("relation {i}: {m}")))?;
        Ok(Relation {
            label,
            head,
            tail,
            provenance,
            score,
            extra: r,
        })
    }
}

fn record_value(s: &Sentence) -> Value {
    let (text, offsets) = join_tokens(&s.tokens);
    let span = |start: usize, end: usize| -> (usize, usize) {
        let from = offsets.get(start).map_or(0, |o| o.0);
        let to = end
            .checked_sub(1)
            .and_then(|e| offsets.get(e))
            .map_or(from, |o| o.1);
        (from, to)
    };
    let mut text = Some(text);
    Value::Object(ordered_object(
        s,
        &["text", "tokens", "entities", "relations"],
        |k| match k {
            "text" => text.take().map(Value::from),
            "tokens" => Some(Value::from(s.tokens.clone())),
            "entities" => Some(Value::Array(
                s.entities
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let (from, to) = span(e.start, e.end);
                        let mut o = Map::new();
                        o.insert("id".into(), Value::from(i));
                        o.insert("label".into(), Value::from(e.label.as_str()));
                        o.insert("start_offset".into(), Value::from(from));
                        o.insert("end_offset".into(), Value::from(to));
                        put_common(&mut o, e.provenance, e.score, &e.extra);
                        Value::Object(o)
                    })
                    .collect(),
            )),
            "relations" => Some(Value::Array(
                s.relations
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let mut o = Map::new();
                        o.insert("id".into(), Value::from(i));
                        o.insert("from_id".into(), Value::from(r.head));
                        o.insert("to_id".into(), Value::from(r.tail));
                        o.insert("type".into(), Value::from(r.label.as_str()));
                        put_common(&mut o, r.provenance, r.score, &r.extra);
                        Value::Object(o)
                    })
                    .collect(),
            )),
            _ => None,
        },
    ))
}

pub fn write(path: &Path, sentences: &[Sentence]) -> Result<()> {
    atomic_write(path, |w| {
        for s in sentences {
            serde_json::to_writer(&mut *w, &record_value(s))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| CorpusError::io(path, e))
}
