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

    /// Strict scores of the predictions against gold, over the sentences that have them.
    pub fn metrics(&mut self) -> Option<&crate::eval::Report> {
        if self.report.as_ref().is_none_or(|r| r.0 != self.generation) {
            let (gold, pred): (Vec<Sentence>, Vec<Sentence>) = self
                .predictions
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((self.corpus.sentences.get(i)?.clone(), p.clone()?)))
                .unzip();
            if gold.is_empty() {
                return None;
            }
            let report = crate::eval::evaluate(&gold, &pred).ok()?;
            self.report = Some((self.generation, report));
        }
        self.report.as_ref().map(|r| &r.1)
    }

    pub fn stats(&mut self) -> &Stats {
        if self.stats.as_ref().is_none_or(|s| s.0 != self.generation) {
            self.stats = Some((self.generation, stats::compute(&self.corpus.sentences)));
        }
        &self.stats.as_ref().expect("just computed").1
    }
}
