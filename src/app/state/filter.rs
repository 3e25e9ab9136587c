//! Which sentences the list shows and in what order, and the figures over the corpus
//! (statistics, and the metrics of the predictions), each cached until the corpus changes.

use super::AppState;
use crate::corpus::stats::{self, Stats};
use crate::corpus::{Provenance, Sentence};
use crate::eval::compare::{order_by, sentence_errors, uncertainty, ErrorKind};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EditState {
    #[default]
    All,
    Edited,
    Unedited,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    pub entity_type: Option<String>,
    pub relation_type: Option<String>,
    pub edit_state: EditState,
    /// Only sentences whose prediction has errors (of this kind, about this type).
    pub errors_only: bool,
    pub error_kind: Option<ErrorKind>,
    pub error_type: Option<String>,
    pub order: Order,
}

/// How the sentence list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Corpus,
    /// Most prediction errors first.
    Errors,
    /// Least certain predictions first.
    Uncertainty,
}

impl AppState {
    fn errors_match(&self, i: usize) -> bool {
        let f = &self.filter;
        if !f.errors_only && f.error_kind.is_none() && f.error_type.is_none() {
            return true;
        }
        let Some(Some(pred)) = self.predictions.get(i) else {
            return false;
        };
        sentence_errors(&self.corpus.sentences[i], pred)
            .iter()
            .any(|(kind, label)| {
                f.error_kind.is_none_or(|k| k == *kind) && f.error_type.as_ref().is_none_or(|t| t == label)
            })
    }

    fn matches(&self, s: &Sentence, needle: &str) -> bool {
        let f = &self.filter;
        if let Some(t) = &f.entity_type {
            if !s.entities.iter().any(|e| &e.label == t) {
                return false;
            }
        }
        if let Some(t) = &f.relation_type {
            if !s.relations.iter().any(|r| &r.label == t) {
                return false;
            }
        }
        let edited = s
            .entities
            .iter()
            .map(|e| e.provenance)
            .chain(s.relations.iter().map(|r| r.provenance))
            .any(|p| p != Provenance::Gold && p != Provenance::Predicted);
        match f.edit_state {
            EditState::Edited if !edited => return false,
            EditState::Unedited if edited => return false,
            _ => {}
        }
        needle.is_empty()
            || s.tokens.iter().any(|t| t.to_lowercase().contains(needle))
            || s.text().to_lowercase().contains(needle)
    }

    /// Indices of the sentences that pass the filter, cached until the filter or the corpus
    /// changes.
    pub fn filtered(&mut self) -> &[usize] {
        let key = (self.filter.clone(), self.generation);
        if self.filtered_for.as_ref() != Some(&key) {
            let needle = self.filter.text.to_lowercase();
            let mut list: Vec<usize> = (0..self.corpus.sentences.len())
                .filter(|&i| self.matches(&self.corpus.sentences[i], &needle) && self.errors_match(i))
                .collect();
            let pred = |i: usize| self.predictions.get(i).and_then(|p| p.as_ref());
            match self.filter.order {
                Order::Corpus => {}
                Order::Errors => order_by(&mut list, |i| {
                    pred(i).map_or(-1.0, |p| {
                        sentence_errors(&self.corpus.sentences[i], p).len() as f64
                    })
                }),
                Order::Uncertainty => order_by(&mut list, |i| {
                    pred(i).map_or(-1.0, |p| uncertainty(p, self.threshold))
                }),
            }
            self.filtered = list;
            self.filtered_for = Some(key);
        }
        &self.filtered
    }

    /// Metrics by part of the corpus: after training in this session, the held-out dev part
    /// first, then the sentences the model was trained on (and any added since); for a model
    /// that recorded its training sentences, those it was not trained on, then those it was;
    /// otherwise every sentence with a prediction.
    pub fn metrics_parts(&mut self) -> &[super::MetricsPart] {
        let key = (self.generation, self.trained_split.as_ref().map(Vec::len));
        if self.parts.as_ref().is_none_or(|p| p.0 != key) {
            let parts = self.compute_parts();
            self.parts = Some((key, parts));
        }
        &self.parts.as_ref().expect("just computed").1
    }

    /// The parts' names, whether the model was trained on each, and each sentence's part.
    fn part_names(&self) -> (&'static [(&'static str, bool)], Vec<usize>) {
        let n = self.corpus.sentences.len();
        if let Some(mask) = &self.trained_split {
            let part = (0..n).map(|i| mask.get(i).map_or(2, |&dev| if dev { 0 } else { 1 }));
            let names = &[
                ("held-out dev part (not trained on)", false),
                ("sentences the model was trained on", true),
                ("sentences added since training", false),
            ];
            return (names, part.collect());
        }
        if let Some(t) = &self.trained_sentences {
            let part = self.corpus.sentences.iter().map(|s| t.contains(s) as usize);
            let names = &[
                ("sentences the model was not trained on", false),
                ("sentences the model was trained on", true),
            ];
            return (names, part.collect());
        }
        (&[("all sentences with predictions", false)], vec![0; n])
    }

    fn compute_parts(&self) -> Vec<super::MetricsPart> {
        let (names, part_of) = self.part_names();
        let mut out = Vec::new();
        for (k, &(name, seen_in_training)) in names.iter().enumerate() {
            let (gold, pred): (Vec<Sentence>, Vec<Sentence>) = self
                .predictions
                .iter()
                .enumerate()
                .filter(|(i, _)| part_of.get(*i) == Some(&k))
                .filter_map(|(i, p)| Some((self.corpus.sentences.get(i)?.clone(), p.clone()?)))
                .unzip();
            if gold.is_empty() {
                continue;
            }
            if let Ok(report) = crate::eval::evaluate(&gold, &pred) {
                out.push(super::MetricsPart {
                    name,
                    sentences: gold.len(),
                    report,
                    seen_in_training,
                });
            }
        }
        out
    }

    pub fn stats(&mut self) -> &Stats {
        if self.stats.as_ref().is_none_or(|s| s.0 != self.generation) {
            self.stats = Some((self.generation, stats::compute(&self.corpus.sentences)));
        }
        &self.stats.as_ref().expect("just computed").1
    }
}

/// The tokens of `s` that a search for `needle` (case-insensitive) matches: every token inside
/// or touching an occurrence of it in the sentence's text (tokens joined by spaces), so a
/// search for a phrase marks all its tokens.
pub fn search_hits(s: &Sentence, needle: &str) -> Vec<bool> {
    // As the filter matches: not trimmed.
    let needle = needle.to_lowercase();
    let mut hits = vec![false; s.tokens.len()];
    if needle.is_empty() {
        return hits;
    }
    let mut text = String::new();
    let mut starts = Vec::with_capacity(s.tokens.len());
    for t in &s.tokens {
        if !text.is_empty() {
            text.push(' ');
        }
        starts.push(text.len());
        text.push_str(&t.to_lowercase());
    }
    for (at, m) in text.match_indices(&needle) {
        let end = at + m.len();
        for (k, &start) in starts.iter().enumerate() {
            let token_end = text[start..].find(' ').map_or(text.len(), |n| start + n);
            if start < end && at < token_end {
                hits[k] = true;
            }
        }
    }
    hits
}

/// Byte ranges of `text` where `needle` occurs (case-insensitive), for highlighting.
pub fn match_ranges(text: &str, needle: &str) -> Vec<std::ops::Range<usize>> {
    let needle = needle.to_lowercase();
    let lower = text.to_lowercase();
    // Lower-casing changed some byte lengths: offsets would not line up with `text`.
    if needle.is_empty() || lower.len() != text.len() {
        return Vec::new();
    }
    lower
        .match_indices(&needle)
        .map(|(at, m)| at..at + m.len())
        .collect()
}

/// Characters of a sentence a list row shows.
const ROW_CHARS: usize = 60;
/// How far into a row a match may start and still be seen in a narrow list.
const MATCH_BY: usize = 24;

/// A sentence list row: its number and text, cut to 60 characters that begin shortly before
/// the first match of the search (so the match is in sight), and the byte ranges of the
/// matches in it.
pub fn list_row(number: usize, text: &str, needle: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let chars: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    let byte = |c: usize| chars.get(c).copied().unwrap_or(text.len());
    let first = match_ranges(text, needle).first().map(|r| {
        (
            chars.partition_point(|&b| b < r.start),
            text[r.clone()].chars().count(),
        )
    });
    // A narrow list shows fewer characters than it is given: a match past the first
    // `MATCH_BY` characters gets a row that starts a little before it.
    let from = match first {
        Some((at, _)) if at > MATCH_BY => at - MATCH_BY / 2,
        _ => 0,
    };
    let to = (from + ROW_CHARS).min(chars.len());
    let head = format!("{number:>5}  {}", if from > 0 { "..." } else { "" });
    let snippet = &text[byte(from)..byte(to)];
    let tail = if to < chars.len() { "..." } else { "" };
    let ranges = match_ranges(snippet, needle)
        .into_iter()
        .map(|r| r.start + head.len()..r.end + head.len())
        .collect();
    (format!("{head}{snippet}{tail}"), ranges)
}
