//! BIO tags: encoding entity spans as one tag per token, and decoding tags back into spans the
//! way conlleval does (an `I-X` that does not continue an `X` entity starts a new one).

use std::fmt;

use super::Entity;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    O,
    B(String),
    I(String),
}

impl Tag {
    /// Parses `O`, `B-X` or `I-X`.
    pub fn parse(s: &str) -> Option<Tag> {
        if s == "O" {
            return Some(Tag::O);
        }
        let (prefix, label) = s.split_once('-')?;
        if label.is_empty() {
            return None;
        }
        match prefix {
            "B" => Some(Tag::B(label.to_string())),
            "I" => Some(Tag::I(label.to_string())),
            _ => None,
        }
    }

    pub fn label(&self) -> Option<&str> {
        match self {
            Tag::O => None,
            Tag::B(l) | Tag::I(l) => Some(l),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::O => write!(f, "O"),
            Tag::B(l) => write!(f, "B-{l}"),
            Tag::I(l) => write!(f, "I-{l}"),
        }
    }
}

/// Two entities share a token, so one tag per token cannot hold both.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entities {first} and {second} overlap; BIO tags cannot hold both (remove overlaps first)")]
pub struct OverlapError {
    pub first: usize,
    pub second: usize,
}

/// One tag per token for the given entities.
pub fn encode(len: usize, entities: &[Entity]) -> Result<Vec<Tag>, OverlapError> {
    let mut tags = vec![Tag::O; len];
    let mut owner: Vec<Option<usize>> = vec![None; len];
    for (i, e) in entities.iter().enumerate() {
        for t in e.start..e.end.min(len) {
            if let Some(first) = owner[t] {
                return Err(OverlapError { first, second: i });
            }
            owner[t] = Some(i);
            tags[t] = if t == e.start {
                Tag::B(e.label.clone())
            } else {
                Tag::I(e.label.clone())
            };
        }
    }
    Ok(tags)
}

/// A decoded span: label and token range `start..end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// Decodes tags into spans as conlleval does: an entity starts at every `B-X` and at every
/// `I-X` that does not follow a `B-X` or `I-X`; it ends before `O`, before `B-`, and before a
/// tag of another type.
pub fn decode<'a, T: AsRef<Tag> + 'a>(tags: impl IntoIterator<Item = T>) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut open: Option<Span> = None;
    let mut n = 0;
    for (i, tag) in tags.into_iter().enumerate() {
        n = i + 1;
        let tag = tag.as_ref();
        let continues = matches!((tag, &open), (Tag::I(l), Some(o)) if *l == o.label);
        if continues {
            continue;
        }
        if let Some(mut o) = open.take() {
            o.end = i;
            spans.push(o);
        }
        if let Some(label) = tag.label() {
            open = Some(Span {
                label: label.to_string(),
                start: i,
                end: i + 1,
            });
        }
    }
    if let Some(mut o) = open {
        o.end = n;
        spans.push(o);
    }
    spans
}

impl AsRef<Tag> for Tag {
    fn as_ref(&self) -> &Tag {
        self
    }
}

/// The BIO tag set for a list of entity types: `O`, then `B-X`, `I-X` for each type in order.
pub fn tag_set(entity_types: &[String]) -> Vec<Tag> {
    let mut tags = vec![Tag::O];
    for t in entity_types {
        tags.push(Tag::B(t.clone()));
        tags.push(Tag::I(t.clone()));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<Tag> {
        s.split_whitespace().map(|t| Tag::parse(t).unwrap()).collect()
    }

    fn spans(s: &str) -> Vec<(String, usize, usize)> {
        decode(tags(s))
            .into_iter()
            .map(|s| (s.label, s.start, s.end))
            .collect()
    }

    #[test]
    fn encode_then_decode_gives_the_spans_back() {
        let ents = vec![
            Entity::new("Peop", 1, 4),
            Entity::new("Loc", 5, 6),
            Entity::new("Loc", 6, 7),
        ];
        let t = encode(8, &ents).unwrap();
        assert_eq!(
            t.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "),
            "O B-Peop I-Peop I-Peop O B-Loc B-Loc O"
        );
        assert_eq!(
            spans("O B-Peop I-Peop I-Peop O B-Loc B-Loc O"),
            vec![("Peop".into(), 1, 4), ("Loc".into(), 5, 6), ("Loc".into(), 6, 7)]
        );
    }

    #[test]
    fn invalid_sequences_decode_like_conlleval() {
        // I- without B- starts an entity.
        assert_eq!(spans("O I-Loc I-Loc O"), vec![("Loc".into(), 1, 3)]);
        // I- of another type ends the open entity and starts a new one.
        assert_eq!(
            spans("B-Peop I-Loc"),
            vec![("Peop".into(), 0, 1), ("Loc".into(), 1, 2)]
        );
        // An entity open at the end is closed there.
        assert_eq!(spans("O B-Org I-Org"), vec![("Org".into(), 1, 3)]);
        assert_eq!(spans("I-Org"), vec![("Org".into(), 0, 1)]);
        assert!(spans("O O").is_empty());
        assert!(decode(Vec::<Tag>::new()).is_empty());
    }

    #[test]
    fn overlapping_entities_cannot_be_encoded() {
        let ents = vec![Entity::new("AE", 0, 3), Entity::new("Drug", 1, 2)];
        assert_eq!(encode(3, &ents), Err(OverlapError { first: 0, second: 1 }));
    }

    #[test]
    fn tag_parsing_rejects_other_schemes() {
        assert_eq!(
            Tag::parse("B-Adverse-Effect"),
            Some(Tag::B("Adverse-Effect".into()))
        );
        assert_eq!(Tag::parse("S-Loc"), None);
        assert_eq!(Tag::parse("B-"), None);
        assert_eq!(Tag::parse("o"), None);
    }
}
