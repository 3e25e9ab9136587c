//! Vocabularies of words, characters and labels, saved with a model as `vocab.json`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::corpus::bio::{tag_set, Tag};
use crate::corpus::{Schema, Sentence};

pub const PAD: i64 = 0;
pub const UNK: i64 = 1;

/// A list of strings with ids; ids 0 and 1 are padding and unknown.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub items: Vec<String>,
    #[serde(skip)]
    ids: HashMap<String, i64>,
}

impl Index {
    pub fn new(items: impl IntoIterator<Item = String>) -> Index {
        let mut all = vec!["<pad>".to_string(), "<unk>".to_string()];
        all.extend(items);
        let mut index = Index {
            items: all,
            ids: HashMap::new(),
        };
        index.rebuild();
        index
    }

    /// Fills the lookup table after deserialising.
    pub fn rebuild(&mut self) {
        self.ids = self
            .items
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as i64))
            .collect();
    }

    pub fn get(&self, s: &str) -> Option<i64> {
        self.ids.get(s).copied().filter(|&i| i > UNK)
    }

    pub fn id(&self, s: &str) -> i64 {
        self.get(s).unwrap_or(UNK)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.len() <= 2
    }
}

/// Everything needed to turn sentences into ids and ids back into labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub words: Index,
    pub chars: Index,
    pub entity_types: Vec<String>,
    pub relation_types: Vec<String>,
    /// Argument types each relation type was seen with, kept for the app's schema.
    #[serde(default)]
    pub signatures: BTreeMap<String, Vec<(String, String)>>,
}

impl Vocabulary {
    /// Words seen at least `min_count` times (exact form), every character, and the schema's
    /// labels.
    pub fn build<'a>(
        sentences: impl IntoIterator<Item = &'a Sentence> + Clone,
        schema: &Schema,
        min_count: usize,
    ) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut chars: BTreeMap<char, ()> = BTreeMap::new();
        for s in sentences.clone() {
            for t in &s.tokens {
                *counts.entry(t.as_str()).or_default() += 1;
                for c in t.chars() {
                    chars.insert(c, ());
                }
            }
        }
        let mut words: Vec<&str> = counts
            .iter()
            .filter(|(_, &c)| c >= min_count)
            .map(|(w, _)| *w)
            .collect();
        words.sort_unstable();
        Vocabulary {
            words: Index::new(words.into_iter().map(String::from)),
            chars: Index::new(chars.into_keys().map(String::from)),
            entity_types: schema.entity_types.clone(),
            relation_types: schema.relation_types.iter().map(|r| r.name.clone()).collect(),
            signatures: schema
                .relation_types
                .iter()
                .map(|r| (r.name.clone(), r.signatures.clone()))
                .collect(),
        }
    }

    pub fn rebuild(&mut self) {
        self.words.rebuild();
        self.chars.rebuild();
    }

    /// `O`, then `B-X`, `I-X` per entity type.
    pub fn tags(&self) -> Vec<Tag> {
        tag_set(&self.entity_types)
    }

    pub fn num_tags(&self) -> i64 {
        1 + 2 * self.entity_types.len() as i64
    }

    pub fn tag_id(&self, tag: &Tag) -> Option<i64> {
        match tag {
            Tag::O => Some(0),
            Tag::B(l) => self
                .entity_types
                .iter()
                .position(|t| t == l)
                .map(|i| 1 + 2 * i as i64),
            Tag::I(l) => self
                .entity_types
                .iter()
                .position(|t| t == l)
                .map(|i| 2 + 2 * i as i64),
        }
    }

    pub fn tag(&self, id: i64) -> Tag {
        match id {
            0 => Tag::O,
            i if i % 2 == 1 => Tag::B(self.entity_types[(i as usize - 1) / 2].clone()),
            i => Tag::I(self.entity_types[(i as usize - 2) / 2].clone()),
        }
    }

    pub fn relation_id(&self, label: &str) -> Option<usize> {
        self.relation_types.iter().position(|r| r == label)
    }

    /// Word id by exact form, then lower-cased.
    pub fn word_id(&self, token: &str) -> i64 {
        self.words
            .get(token)
            .or_else(|| self.words.get(&token.to_lowercase()))
            .unwrap_or(UNK)
    }

    pub fn schema(&self) -> Schema {
        Schema {
            entity_types: self.entity_types.clone(),
            relation_types: self
                .relation_types
                .iter()
                .map(|r| crate::corpus::RelationType {
                    name: r.clone(),
                    signatures: self.signatures.get(r).cloned().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_ids_round_trip() {
        let v = Vocabulary {
            entity_types: vec!["Loc".into(), "Peop".into()],
            ..Default::default()
        };
        assert_eq!(v.num_tags(), 5);
        for id in 0..5 {
            assert_eq!(v.tag_id(&v.tag(id)), Some(id));
        }
        assert_eq!(v.tag(3), Tag::B("Peop".into()));
        assert_eq!(v.tag_id(&Tag::B("Org".into())), None);
    }

    #[test]
    fn unknown_words_and_lowercase_fallback() {
        let s = Sentence::new(vec!["boston".into(), "Poe".into()]);
        let v = Vocabulary::build([&s], &Schema::default(), 1);
        assert_eq!(v.word_id("nowhere"), UNK);
        assert_eq!(v.word_id("Boston"), v.word_id("boston"));
        assert!(v.word_id("Poe") > UNK);
        assert_eq!(v.chars.id("é"), UNK);
    }
}
