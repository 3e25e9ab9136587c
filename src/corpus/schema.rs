//! The label sets of a corpus: entity types, relation types and which entity-type pairs each
//! relation joins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{CorpusError, Place, Result};
use super::Sentence;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub entity_types: Vec<String>,
    pub relation_types: Vec<RelationType>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationType {
    pub name: String,
    /// Allowed (head type, tail type) pairs.
    pub signatures: Vec<(String, String)>,
}

impl Schema {
    /// The schema the annotations of `sentences` use: every type that occurs, sorted by name,
    /// and every (head, tail) type pair seen for each relation type.
    pub fn infer<'a>(sentences: impl IntoIterator<Item = &'a Sentence>) -> Schema {
        let mut entities = BTreeSet::new();
        let mut relations: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for s in sentences {
            for e in &s.entities {
                entities.insert(e.label.clone());
            }
            for r in &s.relations {
                let sig = relations.entry(r.label.clone()).or_default();
                if let (Some(h), Some(t)) = (s.entities.get(r.head), s.entities.get(r.tail)) {
                    sig.insert((h.label.clone(), t.label.clone()));
                }
            }
        }
        Schema {
            entity_types: entities.into_iter().collect(),
            relation_types: relations
                .into_iter()
                .map(|(name, sigs)| RelationType {
                    name,
                    signatures: sigs.into_iter().collect(),
                })
                .collect(),
        }
    }

    pub fn has_entity_type(&self, label: &str) -> bool {
        self.entity_types.iter().any(|t| t == label)
    }

    pub fn relation_type(&self, label: &str) -> Option<&RelationType> {
        self.relation_types.iter().find(|r| r.name == label)
    }

    /// Relation types that may join an entity of type `head` to one of type `tail`.
    pub fn relations_between<'a>(
        &'a self,
        head: &'a str,
        tail: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.relation_types
            .iter()
            .filter(move |r| r.allows(head, tail))
            .map(|r| r.name.as_str())
    }

    /// Adds the types of `other` that this schema lacks.
    pub fn merge(&mut self, other: &Schema) {
        for t in &other.entity_types {
            if !self.has_entity_type(t) {
                self.entity_types.push(t.clone());
            }
        }
        for r in &other.relation_types {
            match self.relation_types.iter_mut().find(|x| x.name == r.name) {
                Some(mine) => {
                    for sig in &r.signatures {
                        if !mine.signatures.contains(sig) {
                            mine.signatures.push(sig.clone());
                        }
                    }
                }
                None => self.relation_types.push(r.clone()),
            }
        }
    }

    pub fn load(path: &Path) -> Result<Schema> {
        let text = std::fs::read_to_string(path).map_err(|e| CorpusError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            CorpusError::malformed(
                Place::file(path).line(e.line()),
                format!("not a relarc schema: {e}"),
            )
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a schema is always serialisable")
    }
}

impl RelationType {
    /// A relation type with no recorded signatures accepts any pair.
    pub fn allows(&self, head: &str, tail: &str) -> bool {
        self.signatures.is_empty() || self.signatures.iter().any(|(h, t)| h == head && t == tail)
    }
}
