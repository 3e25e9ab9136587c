//! Corpus statistics, named as in `shared/data/STATS.json` so they can be checked against it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::Sentence;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub sentences: usize,
    pub tokens: usize,
    pub entities: usize,
    pub relations: usize,
    pub entity_types: BTreeMap<String, usize>,
    pub relation_types: BTreeMap<String, usize>,
    /// `Type(HeadType,TailType)` → count.
    pub signatures: BTreeMap<String, usize>,
    pub max_len: usize,
    pub sent_no_ent: usize,
    pub sent_no_rel: usize,
    /// Pairs of entities that share a token: nested + crossing + same span.
    pub overlap_pairs: usize,
    pub nested_pairs: usize,
    pub crossing_pairs: usize,
    pub same_span_pairs: usize,
    pub sent_with_overlap: usize,
    pub ents_in_overlap: usize,
    pub ent_duplicate: usize,
    pub rel_self: usize,
    pub rel_out_of_range: usize,
    pub rel_duplicate: usize,
    pub rel_duplicate_by_span: usize,
    pub rel_same_span_args: usize,
    /// Groups of sentences with identical tokens, and the copies beyond the first in each.
    #[serde(skip)]
    pub duplicate_groups: usize,
    #[serde(skip)]
    pub duplicate_copies: usize,
    /// Annotations of the source documents relarc does not model and writes back unchanged
    /// (brat events, attributes, ...), by kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub kept_aside: BTreeMap<String, usize>,
    /// Per entity type: tokens over all its spans, and its longest span (not in STATS.json).
    #[serde(skip)]
    pub entity_lengths: BTreeMap<String, (usize, usize)>,
}

pub fn compute<'a>(sentences: impl IntoIterator<Item = &'a Sentence>) -> Stats {
    let mut st = Stats::default();
    let mut token_groups: HashMap<&[String], usize> = HashMap::new();
    let mut docs = HashSet::new();
    for s in sentences {
        *token_groups.entry(&s.tokens).or_default() += 1;
        st.add_sentence(s);
        if let Some(src) = s
            .source
            .as_ref()
            .filter(|x| docs.insert(std::sync::Arc::as_ptr(&x.doc)))
        {
            for (kind, n) in src.doc.kept_aside() {
                *st.kept_aside.entry(kind.to_string()).or_default() += n;
            }
        }
    }
    for &count in token_groups.values() {
        if count > 1 {
            st.duplicate_groups += 1;
            st.duplicate_copies += count - 1;
        }
    }
    st
}

impl Stats {
    /// The mean length in tokens of `label`'s spans.
    pub fn mean_length(&self, label: &str) -> Option<f64> {
        let count = *self.entity_types.get(label)?;
        let (total, _) = self.entity_lengths.get(label)?;
        (count > 0).then(|| *total as f64 / count as f64)
    }

    fn add_sentence(&mut self, s: &Sentence) {
        self.sentences += 1;
        self.tokens += s.tokens.len();
        self.max_len = self.max_len.max(s.tokens.len());
        self.entities += s.entities.len();
        self.relations += s.relations.len();
        self.sent_no_ent += s.entities.is_empty() as usize;
        self.sent_no_rel += s.relations.is_empty() as usize;
        for e in &s.entities {
            *self.entity_types.entry(e.label.clone()).or_default() += 1;
            let len = e.end.saturating_sub(e.start);
            let (total, longest) = self.entity_lengths.entry(e.label.clone()).or_default();
            *total += len;
            *longest = (*longest).max(len);
        }
        self.add_overlaps(s);
        self.add_relations(s);
    }

    /// Pairs of entities that share a token (nested, crossing, same span) and duplicates.
    fn add_overlaps(&mut self, s: &Sentence) {
        let mut in_overlap = vec![false; s.entities.len()];
        for (i, a) in s.entities.iter().enumerate() {
            for (j, b) in s.entities.iter().enumerate().skip(i + 1) {
                if a.same_span(b) && a.label == b.label {
                    self.ent_duplicate += 1;
                }
                if !a.overlaps(b) {
                    continue;
                }
                self.overlap_pairs += 1;
                in_overlap[i] = true;
                in_overlap[j] = true;
                if a.same_span(b) {
                    self.same_span_pairs += 1;
                } else if (a.start <= b.start && b.end <= a.end) || (b.start <= a.start && a.end <= b.end) {
                    self.nested_pairs += 1;
                } else {
                    self.crossing_pairs += 1;
                }
            }
        }
        let overlapping = in_overlap.iter().filter(|&&x| x).count();
        self.ents_in_overlap += overlapping;
        self.sent_with_overlap += (overlapping > 0) as usize;
    }

    fn add_relations(&mut self, s: &Sentence) {
        let mut by_index = HashSet::new();
        let mut by_span = HashSet::new();
        for r in &s.relations {
            *self.relation_types.entry(r.label.clone()).or_default() += 1;
            self.rel_self += (r.head == r.tail) as usize;
            if !by_index.insert((r.label.as_str(), r.head, r.tail)) {
                self.rel_duplicate += 1;
            }
            let (Some(h), Some(t)) = (s.entities.get(r.head), s.entities.get(r.tail)) else {
                self.rel_out_of_range += 1;
                continue;
            };
            *self
                .signatures
                .entry(format!("{}({},{})", r.label, h.label, t.label))
                .or_default() += 1;
            if !by_span.insert((r.label.as_str(), h.start, h.end, t.start, t.end)) {
                self.rel_duplicate_by_span += 1;
            }
            self.rel_same_span_args += h.same_span(t) as usize;
        }
    }
}

fn counts(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "-".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sentences            {}", self.sentences)?;
        writeln!(f, "tokens               {}", self.tokens)?;
        writeln!(f, "longest sentence     {} tokens", self.max_len)?;
        writeln!(
            f,
            "entities             {} ({})",
            self.entities,
            counts(&self.entity_types)
        )?;
        writeln!(
            f,
            "relations            {} ({})",
            self.relations,
            counts(&self.relation_types)
        )?;
        writeln!(f, "relation signatures  {}", counts(&self.signatures))?;
        writeln!(
            f,
            "overlapping pairs    {} (nested {}, crossing {}, same span {}) in {} sentences, {} entities involved",
            self.overlap_pairs,
            self.nested_pairs,
            self.crossing_pairs,
            self.same_span_pairs,
            self.sent_with_overlap,
            self.ents_in_overlap
        )?;
        writeln!(f, "sentences without entities   {}", self.sent_no_ent)?;
        writeln!(f, "sentences without relations  {}", self.sent_no_rel)?;
        writeln!(
            f,
            "duplicate sentences  {} groups ({} extra copies)",
            self.duplicate_groups, self.duplicate_copies
        )?;
        write!(
            f,
            "relations: self {}, duplicate {} (by span {}), same-span arguments {}",
            self.rel_self, self.rel_duplicate, self.rel_duplicate_by_span, self.rel_same_span_args
        )?;
        if !self.kept_aside.is_empty() {
            write!(
                f,
                "\nkept aside           {} (not modelled; written back unchanged)",
                counts(&self.kept_aside)
            )?;
        }
        Ok(())
    }
}
