//! doccano JSONL for sequence labelling with relations:
//! `{"text", "entities": [{"id", "label", "start_offset", "end_offset"}],
//!   "relations": [{"id", "from_id", "to_id", "type"}]}`, offsets in characters.
//! The older `"label": [[start, end, "TYPE"], ...]` form is read too. relarc also writes the
//! `tokens` it used, which doccano keeps as metadata, so a round trip keeps the tokenization;
//! without them the text is tokenized with splits at every annotation boundary.
//! A record keeps its text, and its entities and relations their ids: writing gives them back
//! (annotations new to the record get numbers after the highest).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::offsets::{char_span_to_tokens, join_tokens, sentence_groups, tokens_for, Sentences};
use super::read_text;
use super::spert::{get_index, get_label, ordered_object, put_common, take_common};
use crate::corpus::error::{Collected, CorpusError, FieldError, Place, Result};
use crate::corpus::source::{DocChars, ReadIds, SourceDoc, SourceSpan};
use crate::corpus::{Entity, Relation, Sentence};
use crate::fsio::atomic_write;
use crate::text::Token;
use std::sync::Arc;

/// Label names by label id, from a doccano label export (`[{"id": 12, "text": "LOC"}, ...]`).
pub type LabelNames = HashMap<String, String>;

/// Reads a doccano label export.
pub fn label_names(path: &Path) -> Result<LabelNames> {
    let text = read_text(path)?;
    let bad = |m: String| CorpusError::malformed(Place::file(path), m);
    let items: Vec<Value> =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON array of labels: {e}")))?;
    items
        .iter()
        .map(|l| match (l.get("id"), l.get("text").and_then(Value::as_str)) {
            (Some(id), Some(name)) => Ok((id.to_string(), name.to_string())),
            _ => Err(bad(format!("a label needs `id` and `text`, found {l}"))),
        })
        .collect()
}

pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    read_with(path, None)
}

/// Reads records; label ids of 1.x `annotations` become names through `labels` when given.
pub fn read_with(path: &Path, labels: Option<&LabelNames>) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let mut sentences = Vec::new();
    if text.trim_start().starts_with('[') {
        // A JSON array of records (doccano's JSON export, or JSON lines pretty-printed).
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            CorpusError::malformed(
                Place::file(path).line(e.line()),
                format!("starts like a JSON array of doccano records but is not valid JSON: {e}"),
            )
        })?;
        let Value::Array(items) = value else {
            unreachable!("starts with [")
        };
        let mut problems = Collected::new(path);
        for (i, item) in items.into_iter().enumerate() {
            match record(item, Place::file(path).sentence(i, None), None, labels) {
                Ok(s) => sentences.extend(s),
                Err(e) => problems.keep(e)?,
            }
        }
        return problems.finish(sentences);
    }
    // JSON lines, or records pretty-printed over several lines (doccano's export examples).
    let mut problems = Collected::new(path);
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    loop {
        let at = stream.byte_offset();
        let skipped = text[at..].len() - text[at..].trim_start().len();
        let line = text[..at + skipped].matches('\n').count() + 1;
        let place = Place::file(path).line(line).sentence(sentences.len(), None);
        match stream.next() {
            None => break,
            Some(Ok(value)) => match record(value, place, Some(line), labels) {
                Ok(s) => sentences.extend(s),
                Err(e) => problems.keep(e)?,
            },
            Some(Err(e)) => {
                // The rest of the file cannot be told apart after broken JSON.
                problems.keep(CorpusError::malformed(place, format!("not valid JSON: {e}")))?;
                break;
            }
        }
    }
    problems.finish(sentences)
}

struct CharEntity {
    id: Option<Value>,
    label: String,
    from: usize,
    to: usize,
    rest: Map<String, Value>,
}

fn record(
    value: Value,
    mut place: Place,
    line: Option<usize>,
    labels: Option<&LabelNames>,
) -> Result<Vec<Sentence>> {
    let Value::Object(mut obj) = value else {
        return Err(CorpusError::malformed(place, "a record must be a JSON object"));
    };
    place.sentence_id = obj
        .get("id")
        .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
    let r = Record { place, labels };
    let text = match obj.get_mut("text").map(Value::take) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(r.bad("`text` must be a string".into())),
        None => return Err(r.bad(super::not_this_format(&obj, crate::corpus::Format::Doccano))),
    };
    let given: Option<Vec<String>> = match obj.get_mut("tokens").map(Value::take) {
        Some(Value::Array(items)) => items.into_iter().map(|t| t.as_str().map(String::from)).collect(),
        _ => None,
    };
    let starts: Option<Vec<usize>> = obj
        .remove(SENTENCES_KEY)
        .and_then(|v| serde_json::from_value(v).ok());
    let mut char_entities = r.entity_objects(obj.get_mut("entities").map(Value::take), "entities")?;
    char_entities.extend(r.legacy_labels(obj.remove("label"), "label")?);
    char_entities.extend(r.legacy_labels(obj.remove("labels"), "labels")?);
    let annotations = one_users(&mut obj);
    char_entities.extend(r.entity_objects(annotations, "annotations")?);
    let n_chars = text.chars().count();
    r.check_offsets(&char_entities, n_chars)?;
    let boundaries: Vec<usize> = char_entities.iter().flat_map(|e| [e.from, e.to]).collect();
    let tokens = tokens_for(&text, given.as_deref(), &boundaries);
    let read_ids: Vec<Option<String>> = char_entities
        .iter()
        .map(|e| e.id.as_ref().map(Value::to_string))
        .collect();
    let (entities, id_to_index) = r.token_entities(char_entities, &tokens)?;
    let mut rel_ids = Vec::new();
    let relations = r.relations(
        obj.get_mut("relations").map(Value::take),
        &id_to_index,
        &mut rel_ids,
    )?;
    let mut s = Sentence {
        tokens: tokens.iter().map(|t| t.text.clone()).collect(),
        entities,
        relations,
        extra: obj,
        source_line: line,
        source: None,
    };
    s.source = Some(source_of(&s, text, &tokens, read_ids, rel_ids, line));
    // A record relarc wrote from one sentence has its tokens; from several, their starts.
    let split = match (starts, given.is_some()) {
        (Some(starts), _) => Some(Split::At(starts)),
        (None, true) => None,
        (None, false) => Some(Split::Find(Sentences::from_env())),
    };
    Ok(match split {
        Some(how) => split_record(s, &tokens, how),
        None => vec![s],
    })
}

/// The field where relarc keeps where the sentences of a record start.
const SENTENCES_KEY: &str = "relarc_sentences";

enum Split {
    /// At these character offsets (as relarc wrote them).
    At(Vec<usize>),
    /// With the sentence splitter.
    Find(Sentences),
}

/// A record's sentences: split at line breaks and sentence ends (never inside an entity or a
/// relation), each keeping its place in the record's text. The record's fields go with the
/// first.
fn split_record(s: Sentence, tokens: &[Token], how: Split) -> Vec<Sentence> {
    let chars: Vec<char> = s
        .source
        .as_ref()
        .map(|x| x.doc.text.chars().collect())
        .unwrap_or_default();
    let groups: Vec<std::ops::Range<usize>> = match how {
        Split::At(starts) => {
            let firsts: Vec<usize> = starts
                .iter()
                .filter_map(|&c| tokens.iter().position(|t| t.start >= c))
                .collect();
            firsts
                .iter()
                .enumerate()
                .map(|(k, &f)| f..firsts.get(k + 1).copied().unwrap_or(tokens.len()))
                .collect()
        }
        Split::Find(mode) => {
            let span = |e: &Entity| (tokens[e.start].start, tokens[e.end - 1].end);
            let mut protected: Vec<(usize, usize)> = s.entities.iter().map(span).collect();
            for r in &s.relations {
                let (a, b) = (span(&s.entities[r.head]), span(&s.entities[r.tail]));
                protected.push((a.0.min(b.0), a.1.max(b.1)));
            }
            protected.sort_unstable();
            sentence_groups(tokens, &chars, &protected, mode)
        }
    };
    if groups.len() <= 1 {
        return vec![s];
    }
    let src = s.source.clone().expect("a record has its source");
    let doc = Arc::new(SourceDoc {
        sentence_starts: groups.iter().map(|g| tokens[g.start].start).collect(),
        ..(*src.doc).clone()
    });
    let mut fields = Some(s.extra.clone());
    groups
        .into_iter()
        .map(|g| part(&s, &src, &doc, tokens, g, fields.take().unwrap_or_default()))
        .collect()
}

/// The sentence of a record's tokens `g`, with its entities, relations and read ids.
fn part(
    s: &Sentence,
    src: &SourceSpan,
    doc: &Arc<SourceDoc>,
    tokens: &[Token],
    g: std::ops::Range<usize>,
    extra: Map<String, Value>,
) -> Sentence {
    let inside: Vec<usize> = (0..s.entities.len())
        .filter(|&e| g.contains(&s.entities[e].start))
        .collect();
    let new_index = |e: usize| inside.iter().position(|&x| x == e);
    let entities = inside
        .iter()
        .map(|&e| Entity {
            start: s.entities[e].start - g.start,
            end: s.entities[e].end - g.start,
            ..s.entities[e].clone()
        })
        .collect();
    let relations = s
        .relations
        .iter()
        .filter_map(|r| {
            Some(Relation {
                head: new_index(r.head)?,
                tail: new_index(r.tail)?,
                ..r.clone()
            })
        })
        .collect();
    let ids = ReadIds {
        entities: src
            .ids
            .entities
            .iter()
            .filter(|x| g.contains(&x.2))
            .map(|(id, l, a, b)| (id.clone(), l.clone(), a - g.start, b - g.start))
            .collect(),
        relations: src.ids.relations.clone(),
    };
    Sentence {
        tokens: s.tokens[g.clone()].to_vec(),
        entities,
        relations,
        extra,
        source_line: s.source_line,
        source: Some(SourceSpan {
            doc: Arc::clone(doc),
            start: tokens[g.start].start,
            end: tokens[g.end - 1].end,
            tokens: tokens[g].iter().map(|t| (t.start, t.end)).collect(),
            kept_aside: 0,
            ids,
        }),
    }
}

/// doccano 1.x `annotations` of one annotator: `RELARC_DOCCANO_USER`, else the lowest user
/// id. Those of other annotators stay in the record's `annotations`, written back as they were.
fn one_users(obj: &mut Map<String, Value>) -> Option<Value> {
    let Some(Value::Array(all)) = obj.remove("annotations") else {
        return None;
    };
    let user = |a: &Value| a.get("user").map(Value::to_string);
    let chosen = std::env::var("RELARC_DOCCANO_USER")
        .ok()
        .or_else(|| all.iter().filter_map(user).min_by_key(|u| (u.len(), u.clone())));
    let (mine, others): (Vec<Value>, Vec<Value>) = all
        .into_iter()
        .partition(|a| user(a) == chosen || user(a).is_none());
    if !others.is_empty() {
        obj.insert("annotations".into(), Value::Array(others));
    }
    Some(Value::Array(mine))
}

/// The record's own text and ids, for writing them back.
fn source_of(
    s: &Sentence,
    text: String,
    tokens: &[Token],
    ents: Vec<Option<String>>,
    rels: Vec<Option<String>>,
    line: Option<usize>,
) -> SourceSpan {
    let end = text.chars().count();
    let ids = ReadIds {
        entities: s
            .entities
            .iter()
            .zip(ents)
            .filter_map(|(e, id)| Some((id?, e.label.clone(), e.start, e.end)))
            .collect(),
        relations: Vec::new(),
    };
    let mut ids = ids;
    let entity_id = |i: usize| {
        ids.entities
            .iter()
            .find(|x| x.2 == s.entities[i].start && x.3 == s.entities[i].end && x.1 == s.entities[i].label)
            .map(|x| x.0.clone())
    };
    let rel_ids: Vec<(String, String, String, String)> = s
        .relations
        .iter()
        .zip(rels)
        .filter_map(|(r, id)| Some((id?, r.label.clone(), entity_id(r.head)?, entity_id(r.tail)?)))
        .collect();
    ids.relations = rel_ids;
    SourceSpan {
        doc: Arc::new(SourceDoc {
            format: crate::corpus::Format::Doccano,
            root: Default::default(),
            name: line.map_or_else(String::new, |l| format!("line {l}")),
            text,
            bom: false,
            sentence_starts: vec![0],
            lines: Vec::new(),
            ends_with_newline: false,
            spaced: false,
            notes: Default::default(),
        }),
        start: 0,
        end,
        tokens: tokens.iter().map(|t| (t.start, t.end)).collect(),
        kept_aside: 0,
        ids,
    }
}

/// One record being read, for its error messages, with the label names to use.
struct Record<'a> {
    place: Place,
    labels: Option<&'a LabelNames>,
}

impl Record<'_> {
    fn bad(&self, msg: String) -> CorpusError {
        CorpusError::malformed(self.place.clone(), msg)
    }

    /// `"entities": [{"id", "label", "start_offset", "end_offset", ...}]`.
    /// Also doccano 1.x `annotations`, whose `label` may be a label id (kept as the type).
    fn entity_objects(&self, value: Option<Value>, key: &str) -> Result<Vec<CharEntity>> {
        let items = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.bad(format!("`{key}` must be an array"))),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let Value::Object(mut e) = v else {
                return Err(self.bad(format!("entity {i} must be an object")));
            };
            if let Some(Value::Number(n)) = e.get("label") {
                let id = n.to_string();
                let name = match self.labels {
                    Some(names) => names.get(&id).cloned().ok_or_else(|| {
                        self.bad(format!("entity {i}: label id {id} is not in the label file"))
                    })?,
                    None => id,
                };
                e.insert("label".into(), Value::from(name));
            }
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
    fn legacy_labels(&self, value: Option<Value>, key: &str) -> Result<Vec<CharEntity>> {
        let Some(legacy) = value else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = legacy else {
            return Err(self.bad(format!("`{key}` must be an array of [start, end, type]")));
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
    fn relations(
        &self,
        value: Option<Value>,
        id_to_index: &HashMap<String, usize>,
        ids: &mut Vec<Option<String>>,
    ) -> Result<Vec<Relation>> {
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
            ids.push(r.get("id").map(Value::to_string));
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

/// The record's text and each token's offsets in it: the text it was read from when its
/// tokens still spell it, else the tokens joined by spaces.
fn text_and_offsets(s: &Sentence, docs: &mut DocChars) -> (String, Vec<(usize, usize)>) {
    if let Some(src) = &s.source {
        let chars = docs.of(&src.doc);
        if src.matches(&s.tokens, chars) && src.end <= chars.len() {
            let text = chars[src.start..src.end].iter().collect();
            let offsets = src
                .tokens
                .iter()
                .map(|&(a, b)| (a - src.start, b - src.start))
                .collect();
            return (text, offsets);
        }
    }
    join_tokens(&s.tokens)
}

/// The first fresh number for a record's new annotations: after the highest id read.
fn first_free_id(group: &[&Sentence]) -> i64 {
    group
        .iter()
        .filter_map(|s| s.source.as_ref())
        .flat_map(|x| {
            x.ids
                .entities
                .iter()
                .map(|e| &e.0)
                .chain(x.ids.relations.iter().map(|r| &r.0))
        })
        .filter_map(|id| id.parse::<i64>().ok())
        .max()
        .map_or(0, |m| m + 1)
}

/// Ids for a sentence's entities and relations: the ones read, fresh numbers for the rest.
fn record_ids(s: &Sentence, next: &mut i64) -> (Vec<Value>, Vec<Value>) {
    let none = ReadIds::default();
    let read = s.source.as_ref().map_or(&none, |x| &x.ids);
    let (e, r) = read.assign(s, &mut |_| {
        *next += 1;
        (*next - 1).to_string()
    });
    // An id read as a JSON string keeps its quotes in its text form.
    let value = |id: String| serde_json::from_str::<Value>(&id).unwrap_or(Value::String(id));
    (
        e.into_iter().map(value).collect(),
        r.into_iter().map(value).collect(),
    )
}

/// The sentences written as one record: those read from one record, when all are here in
/// order with their text; otherwise one each.
fn records<'a>(sentences: &'a [Sentence], docs: &mut DocChars) -> Vec<Vec<&'a Sentence>> {
    let mut out: Vec<Vec<&Sentence>> = Vec::new();
    let mut i = 0;
    while i < sentences.len() {
        let n = whole_record(&sentences[i..], docs).unwrap_or(1);
        out.push(sentences[i..i + n].iter().collect());
        i += n;
    }
    out
}

/// How many sentences from the start of `rest` make up the record they were read from.
fn whole_record(rest: &[Sentence], docs: &mut DocChars) -> Option<usize> {
    let doc = &rest.first()?.source.as_ref()?.doc;
    let n = doc.sentence_starts.len();
    if doc.format != crate::corpus::Format::Doccano || n < 2 || rest.len() < n {
        return None;
    }
    let chars = docs.of(doc);
    let fits = rest[..n].iter().zip(&doc.sentence_starts).all(|(s, &start)| {
        s.source
            .as_ref()
            .is_some_and(|x| Arc::ptr_eq(&x.doc, doc) && x.start == start && x.matches(&s.tokens, chars))
    });
    fits.then_some(n)
}

/// A record's text and, per sentence, its tokens' offsets in it.
fn record_text(group: &[&Sentence], docs: &mut DocChars) -> (String, Vec<Vec<(usize, usize)>>) {
    match group {
        [s] => {
            let (text, offsets) = text_and_offsets(s, docs);
            (text, vec![offsets])
        }
        _ => {
            let src = |s: &Sentence| s.source.clone().expect("a record's sentences have a source");
            let text = src(group[0]).doc.text.clone();
            (text, group.iter().map(|s| src(s).tokens).collect())
        }
    }
}

fn record_value(group: &[&Sentence], docs: &mut DocChars) -> Value {
    let first = group[0];
    let (text, offsets) = record_text(group, docs);
    let mut next = first_free_id(group);
    let mut entities = Vec::new();
    let mut relations = Vec::new();
    for (s, offsets) in group.iter().zip(&offsets) {
        let (entity_ids, relation_ids) = record_ids(s, &mut next);
        for (e, id) in s.entities.iter().zip(&entity_ids) {
            let mut o = Map::new();
            o.insert("id".into(), id.clone());
            o.insert("label".into(), Value::from(e.label.as_str()));
            let from = offsets.get(e.start).map_or(0, |o| o.0);
            let to = e
                .end
                .checked_sub(1)
                .and_then(|k| offsets.get(k))
                .map_or(from, |o| o.1);
            o.insert("start_offset".into(), Value::from(from));
            o.insert("end_offset".into(), Value::from(to));
            put_common(&mut o, e.provenance, e.score, &e.extra);
            entities.push(Value::Object(o));
        }
        for (r, id) in s.relations.iter().zip(&relation_ids) {
            let mut o = Map::new();
            o.insert("id".into(), id.clone());
            o.insert("from_id".into(), entity_ids[r.head].clone());
            o.insert("to_id".into(), entity_ids[r.tail].clone());
            o.insert("type".into(), Value::from(r.label.as_str()));
            put_common(&mut o, r.provenance, r.score, &r.extra);
            relations.push(Value::Object(o));
        }
    }
    let tokens: Vec<&String> = group.iter().flat_map(|s| &s.tokens).collect();
    let (mut text, mut entities, mut relations) = (Some(text), Some(entities), Some(relations));
    let mut obj = ordered_object(first, &["text", "tokens", "entities", "relations"], |k| match k {
        "text" => text.take().map(Value::from),
        "tokens" => Some(Value::from(tokens.iter().map(|t| t.as_str()).collect::<Vec<_>>())),
        "entities" => entities.take().map(Value::Array),
        "relations" => relations.take().map(Value::Array),
        _ => None,
    });
    if group.len() > 1 {
        let starts: Vec<usize> = group
            .iter()
            .filter_map(|s| s.source.as_ref().map(|x| x.start))
            .collect();
        obj.insert(SENTENCES_KEY.into(), Value::from(starts));
    }
    Value::Object(obj)
}

pub fn write(path: &Path, sentences: &[Sentence]) -> Result<()> {
    atomic_write(path, |w| {
        let mut docs = DocChars::default();
        for group in records(sentences, &mut docs) {
            serde_json::to_writer(&mut *w, &record_value(&group, &mut docs))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| CorpusError::io(path, e))
}
