//! `doc.relarc.jsonl` beside a brat document: what brat cannot hold (sentence fields,
//! provenance, scores, other fields of annotations). Annotations are matched by their brat id
//! and only while their type and offsets (or arguments) are the ones relarc wrote: an entity
//! deleted in brat and another added under the same id is the user's, not a prediction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::corpus::error::{CorpusError, Place, Result};
use crate::corpus::formats::read_text;
use crate::corpus::formats::spert::{put_common, take_common};
use crate::corpus::Provenance;

pub(super) const EXT: &str = "relarc.jsonl";

pub(super) fn path(ann_path: &Path) -> PathBuf {
    ann_path.with_extension(EXT)
}

pub(super) type EntityKey = (String, usize, usize);
pub(super) type RelationKey = (String, String, String);

/// A sidecar as read.
#[derive(Default)]
pub(super) struct Sidecar {
    /// The document was written by relarc from tokens: tokens are the text's words.
    pub spaced: bool,
    /// Sentence fields by the sentence's start offset.
    pub fields: HashMap<usize, Map<String, Value>>,
    entities: HashMap<String, (EntityKey, Map<String, Value>)>,
    relations: HashMap<String, (RelationKey, Map<String, Value>)>,
    /// Rows of annotations whose id no longer names the same annotation.
    unmatched: usize,
}

pub(super) fn read(path: &Path) -> Result<Option<Sidecar>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let mut side = Sidecar::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: String| CorpusError::malformed(Place::file(path).line(n + 1), m);
        let Value::Object(mut o) =
            serde_json::from_str(line).map_err(|e| bad(format!("not valid JSON: {e}")))?
        else {
            return Err(bad("expected an object".into()));
        };
        if o.get("spaced") == Some(&Value::Bool(true)) {
            side.spaced = true;
        } else if let Some(start) = o.get("sentence").and_then(Value::as_u64) {
            if let Some(Value::Object(f)) = o.remove("fields") {
                side.fields.insert(start as usize, f);
            }
        } else if let Some(Value::String(id)) = o.remove("entity") {
            let key = entity_key(o.remove("span"))
                .ok_or_else(|| bad(format!("{id}: `span` must be [start, end, type]")))?;
            side.entities.insert(id, (key, o));
        } else if let Some(Value::String(id)) = o.remove("relation") {
            let key = relation_key(o.remove("args"))
                .ok_or_else(|| bad(format!("{id}: `args` must be [Arg1, Arg2, type]")))?;
            side.relations.insert(id, (key, o));
        } else {
            return Err(bad(
                "not a row relarc writes; this sidecar is from an older relarc or another tool (move it away to read the document without it)".into(),
            ));
        }
    }
    Ok(Some(side))
}

fn entity_key(v: Option<Value>) -> Option<EntityKey> {
    let a = v?;
    let a = a.as_array()?;
    Some((
        a.get(2)?.as_str()?.to_string(),
        a.first()?.as_u64()? as usize,
        a.get(1)?.as_u64()? as usize,
    ))
}

fn relation_key(v: Option<Value>) -> Option<RelationKey> {
    let a = v?;
    let a = a.as_array()?;
    let s = |i: usize| a.get(i).and_then(Value::as_str).map(String::from);
    Some((s(2)?, s(0)?, s(1)?))
}

impl Sidecar {
    /// Rows that matched no annotation: their id names another one now, or none.
    pub fn stale(&self) -> usize {
        self.unmatched + self.entities.len() + self.relations.len()
    }

    pub fn restore_entity(
        &mut self,
        id: &str,
        key: &EntityKey,
        p: &mut Provenance,
        s: &mut Option<f64>,
        extra: &mut Map<String, Value>,
    ) {
        restore_row(&mut self.entities, &mut self.unmatched, id, key, (p, s, extra));
    }

    pub fn restore_relation(
        &mut self,
        id: &str,
        key: &RelationKey,
        p: &mut Provenance,
        s: &mut Option<f64>,
        extra: &mut Map<String, Value>,
    ) {
        restore_row(&mut self.relations, &mut self.unmatched, id, key, (p, s, extra));
    }
}

type Restored<'a> = (
    &'a mut Provenance,
    &'a mut Option<f64>,
    &'a mut Map<String, Value>,
);

/// Takes the row of `id` and restores it when it was written for this `key`.
fn restore_row<K: PartialEq>(
    rows: &mut HashMap<String, (K, Map<String, Value>)>,
    unmatched: &mut usize,
    id: &str,
    key: &K,
    into: Restored,
) {
    match rows.remove(id) {
        Some((k, row)) if &k == key => restore(row, into.0, into.1, into.2),
        Some(_) => *unmatched += 1,
        None => {}
    }
}

fn restore(
    mut row: Map<String, Value>,
    p: &mut Provenance,
    s: &mut Option<f64>,
    extra: &mut Map<String, Value>,
) {
    // A row relarc wrote has a valid provenance; one edited by hand keeps its fields.
    if let Ok((prov, score)) = take_common(&mut row) {
        *p = prov;
        *s = score;
    }
    *extra = row;
}

/// A sidecar being written.
#[derive(Default)]
pub(super) struct SidecarOut {
    rows: Vec<Value>,
}

impl SidecarOut {
    pub fn spaced(&mut self) {
        self.rows.push(json!({"spaced": true}));
    }

    pub fn sentence(&mut self, start: usize, fields: Map<String, Value>) {
        self.rows.push(json!({"sentence": start, "fields": fields}));
    }

    /// An annotation's row, when it has anything brat cannot hold.
    pub fn annotation(
        &mut self,
        kind: &str,
        id: &str,
        key: Value,
        p: Provenance,
        s: Option<f64>,
        extra: &Map<String, Value>,
    ) {
        let mut row = Map::new();
        put_common(&mut row, p, s, extra);
        if row.is_empty() {
            return;
        }
        let mut out = Map::new();
        out.insert(kind.into(), Value::from(id));
        out.insert(if kind == "entity" { "span" } else { "args" }.into(), key);
        out.extend(row);
        self.rows.push(Value::Object(out));
    }

    /// The file's text, or None when there is nothing to keep.
    pub fn text(&self) -> Option<String> {
        if self.rows.is_empty() {
            return None;
        }
        Some(self.rows.iter().map(|r| format!("{r}\n")).collect())
    }
}
