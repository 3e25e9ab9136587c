//! Consistency checks on annotations. Every problem is reported, each with its place.

use std::fmt;
use std::path::Path;

use super::error::Place;
use super::{Schema, Sentence};

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub place: Place,
    pub kind: ProblemKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProblemKind {
    NoTokens,
    EmptyToken {
        token: usize,
    },
    WhitespaceInToken {
        token: usize,
        text: String,
    },
    EmptySpan {
        entity: usize,
        start: usize,
        end: usize,
    },
    SpanOutOfRange {
        entity: usize,
        start: usize,
        end: usize,
        tokens: usize,
    },
    EmptyLabel {
        what: &'static str,
        index: usize,
    },
    DuplicateEntity {
        entity: usize,
        first: usize,
    },
    MissingArgument {
        relation: usize,
        role: &'static str,
        entity: usize,
        entities: usize,
    },
    SelfRelation {
        relation: usize,
        entity: usize,
    },
    DuplicateRelation {
        relation: usize,
        first: usize,
    },
    UnknownEntityType {
        entity: usize,
        label: String,
    },
    UnknownRelationType {
        relation: usize,
        label: String,
    },
    SignatureNotAllowed {
        relation: usize,
        label: String,
        head: String,
        tail: String,
    },
    /// A line or record the format cannot read.
    Malformed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.kind)
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProblemKind::*;
        match self {
            NoTokens => write!(f, "sentence has no tokens"),
            EmptyToken { token } => write!(f, "token {token} is empty"),
            WhitespaceInToken { token, text } => write!(f, "token {token} ({text:?}) contains whitespace"),
            EmptySpan { entity, start, end } => write!(f, "entity {entity} has an empty span {start}..{end}"),
            SpanOutOfRange { entity, start, end, tokens } => write!(
                f,
                "entity {entity} span {start}..{end} is out of range (the sentence has {tokens} tokens)"
            ),
            EmptyLabel { what, index } => write!(f, "{what} {index} has an empty type"),
            DuplicateEntity { entity, first } => {
                write!(f, "entity {entity} duplicates entity {first} (same span and type)")
            }
            MissingArgument { relation, role, entity, entities } => write!(
                f,
                "relation {relation} {role} points at entity {entity}, but the sentence has {entities} entities"
            ),
            SelfRelation { relation, entity } => {
                write!(f, "relation {relation} joins entity {entity} to itself")
            }
            DuplicateRelation { relation, first } => {
                write!(f, "relation {relation} duplicates relation {first} (same type, head and tail)")
            }
            UnknownEntityType { entity, label } => write!(f, "entity {entity} has unknown type {label:?}"),
            UnknownRelationType { relation, label } => {
                write!(f, "relation {relation} has unknown type {label:?}")
            }
            SignatureNotAllowed { relation, label, head, tail } => write!(
                f,
                "relation {relation} of type {label:?} may not join {head:?} to {tail:?}"
            ),
            Malformed(message) => f.write_str(message),
        }
    }
}

/// Checks one sentence. Indices in the messages are 0-based, as in the files.
pub fn check_sentence(s: &Sentence, schema: Option<&Schema>, mut report: impl FnMut(ProblemKind)) {
    check_tokens(s, &mut report);
    for i in 0..s.entities.len() {
        check_entity(s, i, schema, &mut report);
    }
    for i in 0..s.relations.len() {
        check_relation(s, i, schema, &mut report);
    }
}

fn check_tokens(s: &Sentence, report: &mut impl FnMut(ProblemKind)) {
    use ProblemKind::*;
    if s.tokens.is_empty() {
        report(NoTokens);
    }
    for (i, t) in s.tokens.iter().enumerate() {
        if t.is_empty() {
            report(EmptyToken { token: i });
        } else if t.chars().any(char::is_whitespace) {
            report(WhitespaceInToken {
                token: i,
                text: t.clone(),
            });
        }
    }
}

fn check_entity(s: &Sentence, i: usize, schema: Option<&Schema>, report: &mut impl FnMut(ProblemKind)) {
    use ProblemKind::*;
    let (e, n) = (&s.entities[i], s.tokens.len());
    if e.end <= e.start {
        report(EmptySpan {
            entity: i,
            start: e.start,
            end: e.end,
        });
    } else if e.end > n {
        report(SpanOutOfRange {
            entity: i,
            start: e.start,
            end: e.end,
            tokens: n,
        });
    }
    if e.label.is_empty() {
        report(EmptyLabel {
            what: "entity",
            index: i,
        });
    } else if schema.is_some_and(|schema| !schema.has_entity_type(&e.label)) {
        report(UnknownEntityType {
            entity: i,
            label: e.label.clone(),
        });
    }
    if let Some(first) = s.entities[..i]
        .iter()
        .position(|o| o.same_span(e) && o.label == e.label)
    {
        report(DuplicateEntity { entity: i, first });
    }
}

fn check_relation(s: &Sentence, i: usize, schema: Option<&Schema>, report: &mut impl FnMut(ProblemKind)) {
    use ProblemKind::*;
    let (r, m) = (&s.relations[i], s.entities.len());
    for (role, entity) in [("head", r.head), ("tail", r.tail)] {
        if entity >= m {
            report(MissingArgument {
                relation: i,
                role,
                entity,
                entities: m,
            });
        }
    }
    if r.head == r.tail {
        report(SelfRelation {
            relation: i,
            entity: r.head,
        });
    }
    if r.label.is_empty() {
        report(EmptyLabel {
            what: "relation",
            index: i,
        });
    } else if let Some(schema) = schema {
        check_relation_type(s, i, schema, report);
    }
    if let Some(first) = s.relations[..i]
        .iter()
        .position(|o| o.head == r.head && o.tail == r.tail && o.label == r.label)
    {
        report(DuplicateRelation { relation: i, first });
    }
}

/// The relation's type is in the schema, and allows its argument types.
fn check_relation_type(s: &Sentence, i: usize, schema: &Schema, report: &mut impl FnMut(ProblemKind)) {
    let r = &s.relations[i];
    let Some(rt) = schema.relation_type(&r.label) else {
        report(ProblemKind::UnknownRelationType {
            relation: i,
            label: r.label.clone(),
        });
        return;
    };
    if let (Some(h), Some(t)) = (s.entities.get(r.head), s.entities.get(r.tail)) {
        if !rt.allows(&h.label, &t.label) {
            report(ProblemKind::SignatureNotAllowed {
                relation: i,
                label: r.label.clone(),
                head: h.label.clone(),
                tail: t.label.clone(),
            });
        }
    }
}

/// Checks every sentence; the problems come in file order.
pub fn check(file: &Path, sentences: &[Sentence], schema: Option<&Schema>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        check_sentence(s, schema, |kind| {
            let mut place = Place::file(file).sentence(i, s.id());
            place.line = s.source_line;
            problems.push(Problem { place, kind });
        });
    }
    problems
}
