//! The source text a sentence was read from, so that writers give back the user's own text
//! and offsets instead of tokens joined by spaces, and the annotations relarc does not model.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A document of a text-based collection (a brat `.txt`/`.ann` pair), as it was read.
#[derive(Clone, PartialEq)]
pub struct SourceDoc {
    /// The format it was read from.
    pub format: crate::corpus::Format,
    /// The collection folder (or the file's folder) it was read from.
    pub root: PathBuf,
    /// Its path inside the collection without the extension, `/`-separated (`sub/doc1`).
    pub name: String,
    /// The text exactly as read (a byte-order mark aside, see `bom`).
    pub text: String,
    pub bom: bool,
    /// Character offsets where its sentences start, in order.
    pub sentence_starts: Vec<usize>,
    /// The annotation file's lines in order, modelled or kept aside.
    pub lines: Vec<AnnLine>,
    /// Whether the annotation file ended with a line break.
    pub ends_with_newline: bool,
    /// Whether its tokens are the text split at whitespace (a document relarc wrote from
    /// tokens), rather than the tokenizer's.
    pub spaced: bool,
    /// What reading it found worth saying (set once, when it is read).
    pub notes: std::sync::OnceLock<Vec<String>>,
}

impl fmt::Debug for SourceDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceDoc({})", self.name)
    }
}

impl SourceDoc {
    /// What is kept aside, by kind, in a fixed order: ("events", 3), ...
    pub fn kept_aside(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for line in &self.lines {
            if let AnnLine::Kept { kind: Some(kind), .. } = line {
                match counts.iter_mut().find(|(k, _)| k == kind) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((kind, 1)),
                }
            }
        }
        counts
    }
}

/// One line of a standoff annotation file.
#[derive(Clone, Debug, PartialEq)]
pub enum AnnLine {
    /// A text-bound annotation relarc reads as an entity.
    Entity {
        id: String,
        label: String,
        from: usize,
        to: usize,
        raw: String,
    },
    /// A binary relation between two entities relarc reads.
    Relation {
        id: String,
        label: String,
        arg1: String,
        arg2: String,
        raw: String,
    },
    /// The first AnnotatorNotes of an entity or relation relarc reads.
    Note {
        id: String,
        target: String,
        text: String,
        raw: String,
    },
    /// Anything else (events, attributes, normalisations, equivalences, discontinuous spans,
    /// notes on those, blank lines), written back verbatim while the ids it refers to exist.
    Kept {
        id: Option<String>,
        /// What it is, for counts ("events"); None for blank lines.
        kind: Option<&'static str>,
        refs: Vec<String>,
        /// The character offset it is anchored at, when known: which sentence shows it.
        anchor: Option<usize>,
        raw: String,
    },
}

impl ReadIds {
    /// The ids of the sentence's entities and relations: each keeps the id read with the same
    /// annotation (or with one of the same span, or the same arguments, whose type changed)
    /// unless another took it; the others get `fresh(is_relation)`.
    pub fn assign(
        &self,
        s: &crate::corpus::Sentence,
        fresh: &mut dyn FnMut(bool) -> String,
    ) -> (Vec<String>, Vec<String>) {
        // Entities and relations are numbered apart in doccano (brat's prefixes keep them apart).
        let (mut used, mut used_rel) = (std::collections::HashSet::new(), std::collections::HashSet::new());
        let ents: Vec<String> = s
            .entities
            .iter()
            .map(|e| {
                let cands = self
                    .entities
                    .iter()
                    .map(|(id, l, a, b)| (id, l == &e.label, (*a, *b) == (e.start, e.end)));
                pick(cands, &mut used).unwrap_or_else(|| fresh(false))
            })
            .collect();
        let rels = s
            .relations
            .iter()
            .map(|r| {
                let (h, t) = (&ents[r.head], &ents[r.tail]);
                let cands = self
                    .relations
                    .iter()
                    .map(|(id, l, a, b)| (id, l == &r.label, (a, b) == (h, t)));
                pick(cands, &mut used_rel).unwrap_or_else(|| fresh(true))
            })
            .collect();
        (ents, rels)
    }
}

/// The first unused candidate of the same place, one of the same type first.
fn pick<'a>(
    cands: impl Iterator<Item = (&'a String, bool, bool)>,
    used: &mut std::collections::HashSet<String>,
) -> Option<String> {
    let free: Vec<(&String, bool)> = cands
        .filter(|(id, _, same_place)| *same_place && !used.contains(*id))
        .map(|(id, same_type, _)| (id, same_type))
        .collect();
    let id = free.iter().find(|(_, t)| *t).or(free.first())?.0.clone();
    used.insert(id.clone());
    Some(id)
}

/// The characters of source documents, computed once per document while its sentences come
/// one after another (a long document has many sentences; each needs its characters).
#[derive(Default)]
pub struct DocChars {
    last: Option<(Arc<SourceDoc>, Vec<char>)>,
}

impl DocChars {
    pub fn of(&mut self, doc: &Arc<SourceDoc>) -> &[char] {
        if !self.last.as_ref().is_some_and(|(d, _)| Arc::ptr_eq(d, doc)) {
            self.last = Some((Arc::clone(doc), doc.text.chars().collect()));
        }
        &self.last.as_ref().expect("just set").1
    }
}

/// Where a sentence lies in its source document.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpan {
    pub doc: Arc<SourceDoc>,
    /// Character offsets of the sentence in the document text.
    pub start: usize,
    pub end: usize,
    /// Each token's character offsets in the document text.
    pub tokens: Vec<(usize, usize)>,
    /// How many annotations kept aside are anchored in this sentence.
    pub kept_aside: usize,
    /// The ids of the annotations read, to give them back to the same annotations.
    pub ids: ReadIds,
}

/// The annotations of a sentence as read, with their ids in the source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadIds {
    /// (id, type, first token, end token).
    pub entities: Vec<(String, String, usize, usize)>,
    /// (id, type, head id, tail id).
    pub relations: Vec<(String, String, String, String)>,
}

impl SourceSpan {
    /// Whether `tokens` still spell the document text at these offsets.
    pub fn matches(&self, tokens: &[String], chars: &[char]) -> bool {
        tokens.len() == self.tokens.len()
            && self
                .tokens
                .iter()
                .zip(tokens)
                .all(|(&(a, b), t)| chars.get(a..b).is_some_and(|cs| cs.iter().copied().eq(t.chars())))
    }
}

/// Forgets the annotations the documents were read with (for writing predictions over the
/// same text): ids start afresh and nothing read is kept aside.
pub fn forget_annotations(sentences: &mut [crate::corpus::Sentence]) {
    let mut fresh: std::collections::HashMap<*const SourceDoc, Arc<SourceDoc>> = Default::default();
    for s in sentences {
        if let Some(src) = s.source.as_mut() {
            let doc = fresh.entry(Arc::as_ptr(&src.doc)).or_insert_with(|| {
                Arc::new(SourceDoc {
                    lines: Vec::new(),
                    ..(*src.doc).clone()
                })
            });
            src.doc = Arc::clone(doc);
            src.kept_aside = 0;
            src.ids = ReadIds::default();
        }
    }
}
