//! Sentences, entities and relations: the data every other module works on.

use serde_json::{Map, Value};

use super::source::SourceSpan;

/// Where an annotation came from. Gold annotations are what the file says; the others are
/// written to the canonical format as a `provenance` field so a later load knows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Provenance {
    #[default]
    Gold,
    /// Produced by a model and not yet reviewed.
    Predicted,
    /// A prediction the user accepted as correct.
    Accepted,
    /// Created or changed by the user.
    Edited,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Gold => "gold",
            Provenance::Predicted => "predicted",
            Provenance::Accepted => "accepted",
            Provenance::Edited => "edited",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gold" => Provenance::Gold,
            "predicted" => Provenance::Predicted,
            "accepted" => Provenance::Accepted,
            "edited" => Provenance::Edited,
            _ => return None,
        })
    }
}

/// A typed span of tokens `start..end` (end exclusive).
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub label: String,
    pub start: usize,
    pub end: usize,
    pub provenance: Provenance,
    /// Model confidence, for predicted annotations.
    pub score: Option<f64>,
    /// Fields of the source we do not interpret, written back unchanged.
    pub extra: Map<String, Value>,
}

impl Entity {
    pub fn new(label: impl Into<String>, start: usize, end: usize) -> Self {
        Entity {
            label: label.into(),
            start,
            end,
            provenance: Provenance::Gold,
            score: None,
            extra: Map::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn overlaps(&self, other: &Entity) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn same_span(&self, other: &Entity) -> bool {
        self.start == other.start && self.end == other.end
    }
}

/// A directed relation from entity `head` to entity `tail` (indices into `Sentence::entities`).
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    pub label: String,
    pub head: usize,
    pub tail: usize,
    pub provenance: Provenance,
    pub score: Option<f64>,
    pub extra: Map<String, Value>,
}

impl Relation {
    pub fn new(label: impl Into<String>, head: usize, tail: usize) -> Self {
        Relation {
            label: label.into(),
            head,
            tail,
            provenance: Provenance::Gold,
            score: None,
            extra: Map::new(),
        }
    }
}

/// One tokenized sentence with its annotations.
#[derive(Clone, Debug, Default)]
pub struct Sentence {
    pub tokens: Vec<String>,
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    /// Sentence-level fields we do not interpret (ids, metadata), in the source's key order.
    /// Keys the reading format owns are kept as `null` placeholders so a writer can put them
    /// back in their original position.
    pub extra: Map<String, Value>,
    /// 1-based line of the source file where the sentence starts, for messages.
    pub source_line: Option<usize>,
    /// The document text it was read from, for writing that text back.
    pub source: Option<SourceSpan>,
}

/// Two sentences are equal when their content is; where they were read from does not matter.
impl PartialEq for Sentence {
    fn eq(&self, other: &Self) -> bool {
        self.tokens == other.tokens
            && self.entities == other.entities
            && self.relations == other.relations
            && self.meta_fields().eq(other.meta_fields())
    }
}

/// Keys that are derived from annotations in some format and never carried as metadata.
pub(crate) const DERIVED_KEYS: &[&str] = &["tokens", "entities", "relations", "text"];

impl Sentence {
    pub fn new(tokens: Vec<String>) -> Self {
        Sentence {
            tokens,
            ..Default::default()
        }
    }

    /// The sentence id from the source (`id`, or SpERT's `orig_id`), as text.
    pub fn id(&self) -> Option<String> {
        for key in ["id", "orig_id"] {
            match self.extra.get(key) {
                Some(Value::String(s)) => return Some(s.clone()),
                Some(Value::Number(n)) => return Some(n.to_string()),
                _ => {}
            }
        }
        None
    }

    /// Metadata fields, without the placeholders of annotation keys.
    pub fn meta_fields(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.extra
            .iter()
            .filter(|(k, v)| !(v.is_null() && DERIVED_KEYS.contains(&k.as_str())))
    }

    /// The text of the sentence with tokens joined by single spaces.
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }

    /// Indices of relations that involve entity `e`.
    pub fn relations_of(&self, e: usize) -> impl Iterator<Item = usize> + '_ {
        self.relations
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.head == e || r.tail == e)
            .map(|(i, _)| i)
    }

    /// Removes the entities for which `drop` is true, together with their relations, and
    /// renumbers the remaining relations. Returns (entities removed, relations removed).
    pub fn remove_entities(&mut self, drop: &[bool]) -> (usize, usize) {
        let mut new_index = Vec::with_capacity(self.entities.len());
        let mut next = 0;
        for &d in drop {
            new_index.push(if d { None } else { Some(next) });
            if !d {
                next += 1;
            }
        }
        let before_e = self.entities.len();
        let before_r = self.relations.len();
        let mut i = 0;
        self.entities.retain(|_| {
            let keep = !drop[i];
            i += 1;
            keep
        });
        self.relations
            .retain_mut(|r| match (new_index.get(r.head), new_index.get(r.tail)) {
                (Some(Some(h)), Some(Some(t))) => {
                    r.head = *h;
                    r.tail = *t;
                    true
                }
                _ => false,
            });
        (before_e - self.entities.len(), before_r - self.relations.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_an_entity_drops_its_relations_and_renumbers() {
        let mut s = Sentence::new(vec!["a".into(), "b".into(), "c".into()]);
        s.entities = vec![
            Entity::new("X", 0, 1),
            Entity::new("Y", 1, 2),
            Entity::new("Z", 2, 3),
        ];
        s.relations = vec![
            Relation::new("r", 0, 1),
            Relation::new("r", 2, 0),
            Relation::new("r", 2, 1),
        ];
        let removed = s.remove_entities(&[true, false, false]);
        assert_eq!(removed, (1, 2));
        assert_eq!(s.entities.len(), 2);
        assert_eq!(s.relations, vec![Relation::new("r", 1, 0)]);
    }
}
