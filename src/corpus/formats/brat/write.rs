//! Writing brat: a document read from brat whose text and sentences are unchanged is written
//! back over its own text, with its ids, its line order and every line relarc does not model;
//! only annotations that changed get new lines. Other sentences are written as documents of
//! their tokens joined by spaces, one sentence per line.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::conf::{annotation_conf, merge};
use super::sentence_ids;
use super::sidecar::{self, SidecarOut};
use super::standoff::{flat, line_id};
use crate::corpus::error::{CorpusError, Result};
use crate::corpus::formats::offsets::join_tokens;
use crate::corpus::source::{AnnLine, ReadIds, SourceDoc};
use crate::corpus::{Corpus, Schema, Sentence};
use crate::fsio::atomic_write_set;

/// Writes `corpus` to a folder (each source document to its own path in it, the rest to
/// `corpus.ann`) or to one document `x.ann`. Returns notes on what could not be kept.
pub fn write(path: &Path, corpus: &Corpus) -> Result<Vec<String>> {
    let (dir, single) = target(path);
    let groups = group(&corpus.sentences, single.as_deref());
    let mut notes = Vec::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut stale = Vec::new();
    for g in &groups {
        let ann = dir.join(format!("{}.ann", g.name));
        let (txt, ann_text, side) = match g.intact() {
            Some(doc) => intact(doc, &g.sentences, &mut notes),
            None => generated(g, &mut notes),
        };
        let side_path = sidecar::path(&ann);
        match side {
            Some(text) => files.push((side_path, text)),
            None if side_path.exists() => stale.push(side_path),
            None => {}
        }
        files.push((ann.with_extension("txt"), txt));
        files.push((ann, ann_text));
    }
    files.extend(configurations(&dir, &groups)?);
    for (p, _) in &files {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| CorpusError::io(parent, e))?;
        }
    }
    let set: Vec<(&Path, &[u8])> = files.iter().map(|(p, t)| (p.as_path(), t.as_bytes())).collect();
    // One save: a full disk while any file is written leaves the old collection.
    atomic_write_set(&set).map_err(|(p, e)| CorpusError::io(&p, e))?;
    for p in stale {
        std::fs::remove_file(&p).map_err(|e| CorpusError::io(&p, e))?;
    }
    Ok(notes)
}

/// The output folder, and the document name when `path` names one document (`x.ann`).
fn target(path: &Path) -> (PathBuf, Option<String>) {
    let is_file = path.extension().is_some_and(|e| e == "ann" || e == "txt");
    if !is_file {
        return (path.to_path_buf(), None);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string());
    (dir.to_path_buf(), stem)
}

/// The sentences of one output document.
struct Group<'a> {
    name: String,
    sentences: Vec<&'a Sentence>,
}

impl Group<'_> {
    /// The source document, when every one of its sentences is here with its text unchanged.
    fn intact(&self) -> Option<&Arc<SourceDoc>> {
        let doc = &self.sentences.first()?.source.as_ref()?.doc;
        if doc.format != crate::corpus::Format::Brat {
            return None;
        }
        let mut starts = Vec::with_capacity(self.sentences.len());
        for s in &self.sentences {
            let src = s.source.as_ref().filter(|x| Arc::ptr_eq(&x.doc, doc))?;
            starts.push(src.start);
        }
        starts.sort_unstable();
        if starts != doc.sentence_starts {
            return None;
        }
        let chars: Vec<char> = doc.text.chars().collect();
        self.sentences
            .iter()
            .all(|s| s.source.as_ref().is_some_and(|x| x.matches(&s.tokens, &chars)))
            .then_some(doc)
    }
}

fn group<'a>(sentences: &'a [Sentence], single: Option<&str>) -> Vec<Group<'a>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in sentences {
        let name = match (single, &s.source) {
            (Some(n), _) => n.to_string(),
            (None, Some(src)) if src.doc.format == crate::corpus::Format::Brat => src.doc.name.clone(),
            _ => "corpus".to_string(),
        };
        let i = *index.entry(name.clone()).or_insert_with(|| {
            groups.push(Group {
                name,
                sentences: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].sentences.push(s);
    }
    groups
}

/// A current annotation to write, with the id it gets.
struct Current {
    id: String,
    label: String,
    /// Offsets for entities; argument ids for relations.
    key: Key,
    note: Option<String>,
}

/// What places an annotation: an entity's character offsets, a relation's argument ids.
#[derive(PartialEq)]
enum Key {
    Span(usize, usize),
    Args(String, String),
}

/// The ids of a document: the ones read, and fresh ones past the highest.
struct Ids {
    taken: HashSet<String>,
    next: HashMap<char, usize>,
}

impl Ids {
    fn new<'a>(existing: impl Iterator<Item = &'a str>) -> Ids {
        let mut next: HashMap<char, usize> = HashMap::new();
        let mut taken = HashSet::new();
        for id in existing {
            let mut cs = id.chars();
            if let (Some(p), Ok(n)) = (cs.next(), cs.as_str().parse::<usize>()) {
                let e = next.entry(p).or_insert(1);
                *e = (*e).max(n + 1);
            }
            taken.insert(id.to_string());
        }
        Ids { taken, next }
    }

    fn fresh(&mut self, prefix: char) -> String {
        let n = self.next.entry(prefix).or_insert(1);
        let id = format!("{prefix}{n}");
        *n += 1;
        self.taken.insert(id.clone());
        id
    }
}

fn note_of(extra: &Map<String, Value>) -> Option<String> {
    extra.get("note").and_then(Value::as_str).map(String::from)
}

/// What brat cannot hold of an annotation: its fields but the id and the note (unless the
/// note has line breaks the AnnotatorNotes line loses).
fn side_extra(extra: &Map<String, Value>) -> Map<String, Value> {
    let mut m = extra.clone();
    if let Some(n) = note_of(&m) {
        if flat(&n) == n {
            m.remove("note");
        }
    }
    m
}

/// The current annotations of `sentences`, with ids (the ones read when `keep_ids`), and
/// their sidecar rows.
fn current(
    sentences: &[&Sentence],
    offsets: &dyn Fn(usize, usize, usize) -> (usize, usize),
    ids: &mut Ids,
    keep_ids: bool,
    side: &mut SidecarOut,
) -> (Vec<Current>, Vec<Current>) {
    let (mut ents, mut rels) = (Vec::new(), Vec::new());
    let none = ReadIds::default();
    for (si, s) in sentences.iter().enumerate() {
        let first = ents.len();
        let read = match &s.source {
            Some(src) if keep_ids => &src.ids,
            _ => &none,
        };
        let (eids, rids) = read.assign(s, &mut |rel| ids.fresh(if rel { 'R' } else { 'T' }));
        for (e, id) in s.entities.iter().zip(eids) {
            let (from, to) = offsets(si, e.start, e.end);
            side.annotation(
                "entity",
                &id,
                json!([from, to, e.label]),
                e.provenance,
                e.score,
                &side_extra(&e.extra),
            );
            ents.push(Current {
                id,
                label: e.label.clone(),
                key: Key::Span(from, to),
                note: note_of(&e.extra),
            });
        }
        for (r, id) in s.relations.iter().zip(rids) {
            let (h, t) = (ents[first + r.head].id.clone(), ents[first + r.tail].id.clone());
            side.annotation(
                "relation",
                &id,
                json!([h, t, r.label]),
                r.provenance,
                r.score,
                &side_extra(&r.extra),
            );
            rels.push(Current {
                id,
                label: r.label.clone(),
                key: Key::Args(h, t),
                note: note_of(&r.extra),
            });
        }
    }
    (ents, rels)
}

/// An annotation's line, as brat writes it.
fn line_of(c: &Current, chars: &[char]) -> String {
    match &c.key {
        Key::Span(from, to) => {
            let covered: String = chars[*from..*to].iter().collect();
            format!("{}\t{} {from} {to}\t{}", c.id, c.label, flat(&covered))
        }
        Key::Args(h, t) => format!("{}\t{} Arg1:{h} Arg2:{t}", c.id, c.label),
    }
}

/// A document read from brat, written over its own text.
fn intact(
    doc: &SourceDoc,
    sentences: &[&Sentence],
    notes: &mut Vec<String>,
) -> (String, String, Option<String>) {
    let mut sents = sentences.to_vec();
    sents.sort_by_key(|s| s.source.as_ref().map_or(0, |x| x.start));
    let chars: Vec<char> = doc.text.chars().collect();
    let mut ids = Ids::new(doc.lines.iter().filter_map(line_id));
    let mut side = SidecarOut::default();
    sentence_rows(&mut side, &doc.name, &doc.text, &sents);
    let offsets = |si: usize, start: usize, end: usize| {
        let t = &sents[si].source.as_ref().expect("intact").tokens;
        (t[start].0, t[end - 1].1)
    };
    let (ents, rels) = current(&sents, &offsets, &mut ids, true, &mut side);
    let lines = DocLines::new(doc, &ents, &rels);
    let dropped = lines.dropped();
    if !dropped.is_empty() {
        notes.push(format!(
            "{}: {} annotation(s) kept aside referred to annotations that are gone and were left out ({})",
            doc.name,
            dropped.len(),
            dropped.join(", ")
        ));
    }
    let ann = lines.render(&chars, &mut ids);
    let bom = if doc.bom { "\u{FEFF}" } else { "" };
    (format!("{bom}{}", doc.text), ann, side.text())
}

/// Sentence fields brat cannot hold, unless they are just the id relarc derives.
fn sentence_rows(side: &mut SidecarOut, name: &str, text: &str, sents: &[&Sentence]) {
    let starts: Vec<usize> = sents
        .iter()
        .map(|s| s.source.as_ref().map_or(0, |x| x.start))
        .collect();
    for ((s, start), derived) in sents.iter().zip(&starts).zip(sentence_ids(name, text, &starts)) {
        let fields: Map<String, Value> = s.meta_fields().map(|(k, v)| (k.clone(), v.clone())).collect();
        let just_id = fields.len() == 1 && fields.get("id") == Some(&Value::from(derived));
        if !fields.is_empty() && !just_id {
            side.sentence(*start, fields);
        }
    }
}

/// The lines of a document's `.ann` as they will be written.
struct DocLines<'a> {
    doc: &'a SourceDoc,
    ents: HashMap<&'a str, &'a Current>,
    rels: HashMap<&'a str, &'a Current>,
    all: Vec<&'a Current>,
    /// Ids read that are no longer there, kept-aside lines included.
    gone: HashSet<String>,
}

impl<'a> DocLines<'a> {
    fn new(doc: &'a SourceDoc, ents: &'a [Current], rels: &'a [Current]) -> Self {
        let mut d = DocLines {
            doc,
            ents: ents.iter().map(|c| (c.id.as_str(), c)).collect(),
            rels: rels.iter().map(|c| (c.id.as_str(), c)).collect(),
            all: ents.iter().chain(rels).collect(),
            gone: HashSet::new(),
        };
        for l in &doc.lines {
            match l {
                AnnLine::Entity { id, .. } | AnnLine::Relation { id, .. }
                    if !d.ents.contains_key(id.as_str()) && !d.rels.contains_key(id.as_str()) =>
                {
                    d.gone.insert(id.clone());
                }
                _ => {}
            }
        }
        d.drop_dangling();
        d
    }

    /// Kept-aside lines that refer to something gone go too (an attribute of a deleted
    /// entity, an event on it), and so on through what refers to them.
    fn drop_dangling(&mut self) {
        loop {
            let before = self.gone.len();
            for l in &self.doc.lines {
                if let AnnLine::Kept {
                    id: Some(id), refs, ..
                } = l
                {
                    if refs.iter().any(|r| self.gone.contains(r)) {
                        self.gone.insert(id.clone());
                    }
                }
            }
            if self.gone.len() == before {
                return;
            }
        }
    }

    fn dropped(&self) -> Vec<String> {
        self.doc
            .lines
            .iter()
            .filter_map(|l| match l {
                AnnLine::Kept { id: Some(id), .. } if self.gone.contains(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    fn render(&self, chars: &[char], ids: &mut Ids) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut written: HashSet<&str> = HashSet::new();
        let mut noted: HashSet<&str> = HashSet::new();
        for l in &self.doc.lines {
            if let Some(line) = self.line(l, chars, &mut written, &mut noted) {
                out.push(line);
            }
        }
        let eol_cr = self.doc.lines.iter().any(|l| raw(l).ends_with('\r'));
        let mut added = Vec::new();
        for c in self.all.iter().filter(|c| !written.contains(c.id.as_str())) {
            added.push((c.id.clone(), line_of(c, chars)));
        }
        added.sort_by_key(|(id, _)| id_order(id));
        for c in &self.all {
            if let (Some(n), false) = (&c.note, noted.contains(c.id.as_str())) {
                added.push((
                    String::new(),
                    format!("{}\tAnnotatorNotes {}\t{}", ids.fresh('#'), c.id, flat(n)),
                ));
            }
        }
        let cr = if eol_cr { "\r" } else { "" };
        out.extend(added.into_iter().map(|(_, l)| format!("{l}{cr}")));
        let mut text = out.join("\n");
        if !out.is_empty() && (self.doc.ends_with_newline || out.len() > self.doc.lines.len()) {
            text.push('\n');
        }
        text
    }

    fn line(
        &self,
        l: &'a AnnLine,
        chars: &[char],
        written: &mut HashSet<&'a str>,
        noted: &mut HashSet<&'a str>,
    ) -> Option<String> {
        match l {
            AnnLine::Entity {
                id,
                label,
                from,
                to,
                raw,
            } => {
                let c = self.ents.get(id.as_str())?;
                written.insert(id);
                let same = &c.label == label && c.key == Key::Span(*from, *to);
                Some(if same { raw.clone() } else { line_of(c, chars) })
            }
            AnnLine::Relation {
                id,
                label,
                arg1,
                arg2,
                raw,
            } => {
                let c = self.rels.get(id.as_str())?;
                written.insert(id);
                let same = &c.label == label && c.key == Key::Args(arg1.clone(), arg2.clone());
                Some(if same { raw.clone() } else { line_of(c, chars) })
            }
            AnnLine::Note {
                id,
                target,
                text,
                raw,
            } => {
                let c = self
                    .ents
                    .get(target.as_str())
                    .or_else(|| self.rels.get(target.as_str()))?;
                let n = c.note.as_ref()?;
                noted.insert(target);
                Some(if &flat(n) == text {
                    raw.clone()
                } else {
                    format!("{id}\tAnnotatorNotes {target}\t{}", flat(n))
                })
            }
            AnnLine::Kept { id, raw, .. } => match id {
                Some(id) if self.gone.contains(id) => None,
                _ => Some(raw.clone()),
            },
        }
    }
}

fn raw(l: &AnnLine) -> &str {
    match l {
        AnnLine::Entity { raw, .. }
        | AnnLine::Relation { raw, .. }
        | AnnLine::Note { raw, .. }
        | AnnLine::Kept { raw, .. } => raw,
    }
}

/// New lines in id order: T before R, T2 before T10.
fn id_order(id: &str) -> (bool, usize) {
    (id.starts_with('R'), id[1..].parse().unwrap_or(usize::MAX))
}

/// A document of the sentences' tokens joined by spaces, one sentence per line.
fn generated(g: &Group, notes: &mut Vec<String>) -> (String, String, Option<String>) {
    let docs: HashSet<*const SourceDoc> = g
        .sentences
        .iter()
        .filter_map(|s| {
            s.source
                .as_ref()
                .filter(|x| x.doc.format == crate::corpus::Format::Brat)
        })
        .map(|x| Arc::as_ptr(&x.doc))
        .collect();
    let kept: usize = g
        .sentences
        .iter()
        .filter_map(|s| s.source.as_ref())
        .map(|x| x.kept_aside)
        .sum();
    if !docs.is_empty() {
        notes.push(format!(
            "{}: written from its tokens, one sentence per line, because its text or sentences are not the ones read{}",
            g.name,
            if kept > 0 { format!("; {kept} annotation(s) kept aside could not be written with it") } else { String::new() }
        ));
    }
    let mut text = String::new();
    let mut starts = Vec::new();
    let mut token_offsets: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut start = 0;
    for s in &g.sentences {
        let (line, offsets) = join_tokens(&s.tokens);
        starts.push(start);
        token_offsets.push(offsets.iter().map(|&(a, b)| (a + start, b + start)).collect());
        text.push_str(&line);
        text.push('\n');
        start += line.chars().count() + 1;
    }
    let mut side = SidecarOut::default();
    side.spaced();
    for (s, start) in g.sentences.iter().zip(&starts) {
        let fields: Map<String, Value> = s.meta_fields().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !fields.is_empty() {
            side.sentence(*start, fields);
        }
    }
    let offsets =
        |si: usize, start: usize, end: usize| (token_offsets[si][start].0, token_offsets[si][end - 1].1);
    let mut ids = Ids::new(std::iter::empty());
    let (ents, rels) = current(&g.sentences, &offsets, &mut ids, false, &mut side);
    let chars: Vec<char> = text.chars().collect();
    let mut ann = String::new();
    for c in ents.iter().chain(&rels) {
        ann.push_str(&line_of(c, &chars));
        ann.push('\n');
    }
    for c in ents.iter().chain(&rels) {
        if let Some(n) = &c.note {
            ann.push_str(&format!(
                "{}\tAnnotatorNotes {}\t{}\n",
                ids.fresh('#'),
                c.id,
                flat(n)
            ));
        }
    }
    (text, ann, side.text())
}

/// The collection's configuration files. A new output gets the source collection's `.conf`
/// files at the same places (sub-folders too). Each document's `annotation.conf` (the nearest
/// one above it, as brat looks them up) keeps every line and gains the types of the documents
/// it governs that it lacks; documents no configuration governs get one at the top.
fn configurations(dir: &Path, groups: &[Group]) -> Result<Vec<(PathBuf, String)>> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    // Each source collection, with the folders of its documents being written.
    let mut roots: Vec<(&Path, Vec<PathBuf>)> = Vec::new();
    for g in groups {
        let Some(src) = g.sentences.iter().find_map(|s| s.source.as_ref()) else {
            continue;
        };
        if src.doc.format != crate::corpus::Format::Brat {
            continue;
        }
        let rel = Path::new(&g.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        match roots.iter_mut().find(|(r, _)| *r == src.doc.root.as_path()) {
            Some((_, dirs)) => dirs.push(rel),
            None => roots.push((src.doc.root.as_path(), vec![rel])),
        }
    }
    for (root, doc_dirs) in roots {
        for (rel, text) in conf_files(root, &doc_dirs)? {
            let dest = dir.join(&rel);
            if !dest.exists() && !out.iter().any(|(p, _)| p == &dest) {
                out.push((dest, text));
            }
        }
    }
    // The sentences each annotation.conf governs.
    let mut governed: Vec<(PathBuf, Vec<&Sentence>)> = Vec::new();
    for g in groups {
        let doc_dir = dir
            .join(&g.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.to_path_buf());
        let conf = governing_conf(dir, &doc_dir, &out);
        match governed.iter_mut().find(|(p, _)| *p == conf) {
            Some((_, v)) => v.extend(g.sentences.iter().copied()),
            None => governed.push((conf, g.sentences.clone())),
        }
    }
    for (conf, sentences) in governed {
        let schema = Schema::infer(sentences.iter().copied());
        let queued = out.iter().position(|(p, _)| *p == conf);
        let text = match queued {
            Some(i) => Some(out[i].1.clone()),
            None => read_if_exists(&conf)?,
        };
        let written = match &text {
            Some(t) => merge(t, &schema),
            None => Some(annotation_conf(&schema)),
        };
        match (written, queued) {
            (Some(w), Some(i)) => out[i].1 = w,
            (Some(w), None) => out.push((conf, w)),
            (None, _) => {}
        }
    }
    Ok(out)
}

/// The `annotation.conf` brat uses for documents in `doc_dir`: the nearest one up to `top`,
/// on disk or about to be written; `top`'s own when there is none.
fn governing_conf(top: &Path, doc_dir: &Path, queued: &[(PathBuf, String)]) -> PathBuf {
    let mut d = doc_dir.to_path_buf();
    loop {
        let c = d.join("annotation.conf");
        if c.exists() || queued.iter().any(|(p, _)| *p == c) {
            return c;
        }
        if d == top || !d.pop() || !d.starts_with(top) {
            return top.join("annotation.conf");
        }
    }
}

fn read_if_exists(p: &Path) -> Result<Option<String>> {
    if !p.exists() {
        return Ok(None);
    }
    std::fs::read_to_string(p)
        .map(Some)
        .map_err(|e| CorpusError::io(p, e))
}

/// The `*.conf` files of a source collection in the folders (relative to `root`) that hold
/// documents being written, and the folders above them: only where brat would look.
fn conf_files(root: &Path, doc_dirs: &[PathBuf]) -> Result<Vec<(PathBuf, String)>> {
    let top = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for d in doc_dirs {
        let mut d = d.clone();
        loop {
            if !dirs.contains(&d) {
                dirs.push(d.clone());
            }
            if !d.pop() {
                break;
            }
        }
    }
    let mut out = Vec::new();
    for rel in dirs {
        let Ok(entries) = std::fs::read_dir(top.join(&rel)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() && p.extension().is_some_and(|x| x == "conf") {
                let text = std::fs::read_to_string(&p).map_err(|e| CorpusError::io(&p, e))?;
                out.push((rel.join(e.file_name()), text));
            }
        }
    }
    out.sort();
    Ok(out)
}
