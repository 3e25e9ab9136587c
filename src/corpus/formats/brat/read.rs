//! Reading a brat document: its text split into sentences that never cut an entity or a
//! relation, tokens split at every annotation boundary, and the source kept with each
//! sentence so that writing gives the same text, offsets and ids back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::sidecar::{self, Sidecar};
use super::standoff::{self, flat};
use crate::corpus::error::{Collected, CorpusError, Place, Result};
use crate::corpus::formats::offsets::{char_span_to_tokens, sentence_groups, Sentences};
use crate::corpus::source::{AnnLine, SourceDoc, SourceSpan};
use crate::corpus::{Entity, Relation, Sentence};
use crate::text::{tokenize_with_boundaries, Token};

/// Reads the document `name` (`sub/doc`) of the collection at `root`.
pub(super) fn document(root: &Path, name: &str, ann_path: &Path, mode: Sentences) -> Result<Vec<Sentence>> {
    let txt_path = ann_path.with_extension("txt");
    let bytes = std::fs::read(&txt_path).map_err(|e| CorpusError::io(&txt_path, e))?;
    let bom = bytes.starts_with(&[0xEF, 0xBB, 0xBF]);
    let text = crate::corpus::formats::read_text(&txt_path)?;
    let ann = if ann_path.exists() {
        crate::corpus::formats::read_text(ann_path)?
    } else {
        String::new()
    };
    let chars: Vec<char> = text.chars().collect();
    let bad = |line: usize, m: String| CorpusError::malformed(Place::file(ann_path).line(line), m);
    let mut problems = Collected::new(ann_path);
    let parsed = standoff::parse(&ann, &chars, &bad, &mut problems)?;
    let side = sidecar::read(&sidecar::path(ann_path))?;
    let spaced = side.as_ref().is_some_and(|s| s.spaced);
    let tokens = if spaced {
        whitespace_tokens(&chars)
    } else {
        let cuts: Vec<usize> = entity_spans(&parsed.lines).flat_map(|(f, t)| [f, t]).collect();
        tokenize_with_boundaries(&text, &cuts)
    };
    let mode = if spaced { Sentences::Lines } else { mode };
    let groups = sentence_groups(&tokens, &chars, &protected(&parsed.lines), mode);
    let doc = Arc::new(SourceDoc {
        format: crate::corpus::Format::Brat,
        root: root.to_path_buf(),
        name: name.to_string(),
        text,
        bom,
        sentence_starts: groups.iter().map(|g| tokens[g.start].start).collect(),
        lines: parsed.lines,
        ends_with_newline: parsed.ends_with_newline,
        spaced,
        notes: Default::default(),
    });
    let reader = DocReader {
        doc: &doc,
        tokens: &tokens,
        chars: &chars,
        bad: &bad,
        side: side.unwrap_or_default(),
        problems,
    };
    reader.sentences(&groups)
}

/// Tokens at whitespace, as relarc writes documents from tokens.
fn whitespace_tokens(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        out.push(Token {
            text: chars[start..i].iter().collect(),
            start,
            end: i,
        });
    }
    out
}

fn entity_spans(lines: &[AnnLine]) -> impl Iterator<Item = (usize, usize)> + '_ {
    lines.iter().filter_map(|l| match l {
        AnnLine::Entity { from, to, .. } => Some((*from, *to)),
        _ => None,
    })
}

/// Character ranges a sentence break may not cut: entities, and relations from the start of
/// their first argument to the end of their last.
fn protected(lines: &[AnnLine]) -> Vec<(usize, usize)> {
    let at: HashMap<&str, (usize, usize)> = lines
        .iter()
        .filter_map(|l| match l {
            AnnLine::Entity { id, from, to, .. } => Some((id.as_str(), (*from, *to))),
            _ => None,
        })
        .collect();
    let mut out: Vec<(usize, usize)> = at.values().copied().collect();
    for l in lines {
        if let AnnLine::Relation { arg1, arg2, .. } = l {
            if let (Some(a), Some(b)) = (at.get(arg1.as_str()), at.get(arg2.as_str())) {
                out.push((a.0.min(b.0), a.1.max(b.1)));
            }
        }
    }
    out.sort_unstable();
    out
}

/// One document being turned into sentences.
struct DocReader<'a> {
    doc: &'a Arc<SourceDoc>,
    tokens: &'a [Token],
    chars: &'a [char],
    bad: &'a dyn Fn(usize, String) -> CorpusError,
    side: Sidecar,
    problems: Collected,
}

impl DocReader<'_> {
    fn sentences(mut self, groups: &[std::ops::Range<usize>]) -> Result<Vec<Sentence>> {
        let starts = &self.doc.sentence_starts;
        let sentence_of = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let mut out: Vec<Sentence> = groups.iter().map(|g| self.empty_sentence(g.clone())).collect();
        let ids = super::sentence_ids(&self.doc.name, &self.doc.text, starts);
        for (s, id) in out.iter_mut().zip(ids) {
            let start = s.source.as_ref().map_or(0, |x| x.start);
            // A document relarc wrote from tokens has every sentence's fields in the sidecar.
            let spaced = self.side.spaced;
            s.extra = self.side.fields.remove(&start).unwrap_or_else(|| {
                let mut m = Map::new();
                if !spaced {
                    m.insert("id".into(), Value::from(id));
                }
                m
            });
        }
        let doc = Arc::clone(self.doc);
        let notes: HashMap<&str, &str> = doc
            .lines
            .iter()
            .filter_map(|l| match l {
                AnnLine::Note { target, text, .. } => Some((target.as_str(), text.as_str())),
                _ => None,
            })
            .collect();
        let mut where_is: HashMap<String, (usize, usize)> = HashMap::new();
        for (n, line) in doc.lines.iter().enumerate() {
            match line {
                AnnLine::Entity {
                    id, label, from, to, ..
                } => {
                    let si = sentence_of(*from);
                    let mut e = match self.entity(n + 1, &out[si], id, label, *from, *to) {
                        Ok(e) => e,
                        Err(err) => {
                            self.problems.keep(err)?;
                            continue;
                        }
                    };
                    attach_note(&mut e.extra, notes.get(id.as_str()).copied());
                    where_is.insert(id.clone(), (si, out[si].entities.len()));
                    if let Some(src) = out[si].source.as_mut() {
                        src.ids.entities.push((id.clone(), label.clone(), e.start, e.end));
                    }
                    out[si].entities.push(e);
                }
                AnnLine::Kept { anchor: Some(a), .. } => {
                    if let Some(src) = out[sentence_of(*a)].source.as_mut() {
                        src.kept_aside += 1;
                    }
                }
                _ => {}
            }
        }
        for line in &self.doc.lines {
            if let AnnLine::Relation {
                id,
                label,
                arg1,
                arg2,
                ..
            } = line
            {
                let (si, head) = where_is[arg1.as_str()];
                let (_, tail) = where_is[arg2.as_str()];
                let mut r = Relation::new(label.clone(), head, tail);
                let key = (label.clone(), arg1.clone(), arg2.clone());
                self.side
                    .restore_relation(id, &key, &mut r.provenance, &mut r.score, &mut r.extra);
                attach_note(&mut r.extra, notes.get(id.as_str()).copied());
                if let Some(src) = out[si].source.as_mut() {
                    src.ids
                        .relations
                        .push((id.clone(), label.clone(), arg1.clone(), arg2.clone()));
                }
                out[si].relations.push(r);
            }
        }
        let stale = self.side.stale();
        if stale > 0 {
            let note = format!(
                "{}: {stale} row(s) of its .relarc.jsonl no longer match an annotation's id, type and offsets (changed in brat): those annotations are read as gold",
                doc.name
            );
            doc.notes.get_or_init(|| vec![note]);
        }
        self.problems.finish(out)
    }

    fn empty_sentence(&self, g: std::ops::Range<usize>) -> Sentence {
        let toks = &self.tokens[g];
        let (start, end) = (toks[0].start, toks[toks.len() - 1].end);
        let line = self.chars[..start].iter().filter(|&&c| c == '\n').count() + 1;
        Sentence {
            tokens: toks.iter().map(|t| t.text.clone()).collect(),
            source_line: Some(line),
            source: Some(SourceSpan {
                doc: Arc::clone(self.doc),
                start,
                end,
                tokens: toks.iter().map(|t| (t.start, t.end)).collect(),
                kept_aside: 0,
                ids: Default::default(),
            }),
            ..Default::default()
        }
    }

    fn entity(
        &mut self,
        line: usize,
        s: &Sentence,
        id: &str,
        label: &str,
        from: usize,
        to: usize,
    ) -> Result<Entity> {
        let src = s.source.as_ref().expect("read sentences have a source");
        let toks: Vec<Token> = src
            .tokens
            .iter()
            .zip(&s.tokens)
            .map(|(&(a, b), t)| Token {
                text: t.clone(),
                start: a,
                end: b,
            })
            .collect();
        let (start, end) =
            char_span_to_tokens(&toks, from, to).map_err(|m| (self.bad)(line, format!("{id}: {m}")))?;
        let mut e = Entity::new(label, start, end);
        let key = (label.to_string(), from, to);
        self.side
            .restore_entity(id, &key, &mut e.provenance, &mut e.score, &mut e.extra);
        Ok(e)
    }
}

/// The AnnotatorNotes of an annotation, unless the sidecar holds the same note with its line
/// breaks (a note edited in brat since differs, and wins).
fn attach_note(extra: &mut Map<String, Value>, line: Option<&str>) {
    let kept = extra.get("note").and_then(Value::as_str).map(flat);
    match line {
        Some(n) if kept.as_deref() == Some(n) => {}
        Some(n) => {
            extra.insert("note".into(), Value::from(n));
        }
        None => {
            extra.remove("note");
        }
    }
}
