//! Corpus load and save time and memory for a large corpus synthesised from real sentences.

use std::path::Path;

use super::{peak_rss, rss, timed, Row, Scale, Section};
use crate::corpus::{Corpus, Sentence};

/// `n` sentences cycled from `seed` (ids made unique), so the text is real annotated data.
pub fn synthesise(seed: &[Sentence], n: usize) -> Corpus {
    let sentences = (0..n)
        .map(|i| {
            let mut s = seed[i % seed.len()].clone();
            s.extra.insert("orig_id".into(), format!("bench-{i}").into());
            s
        })
        .collect();
    Corpus::new(sentences)
}

pub fn run(seed: &[Sentence], scale: Scale, dir: &Path) -> Section {
    let n = scale.corpus_sentences();
    let title = format!("Corpus of {n} sentences (synthesised from the shared data)");
    if seed.is_empty() {
        return Section {
            title,
            rows: vec![],
            skipped: Some("no seed sentences".into()),
        };
    }
    let mut rows = Vec::new();
    let corpus = synthesise(seed, n);
    let tokens: usize = corpus.sentences.iter().map(|s| s.tokens.len()).sum();
    for (ext, name) in [("json", "SpERT JSON"), ("jsonl", "SpERT JSON lines")] {
        let path = dir.join(format!("bench.{ext}"));
        let (saved, t_save) = timed(|| corpus.save(&path));
        if let Err(e) = saved {
            rows.push(Row::new(format!("save {name}"), "failed", e.to_string()));
            continue;
        }
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let before = rss().unwrap_or(0);
        let (loaded, t_load) = timed(|| Corpus::load(&path));
        let after = rss().unwrap_or(0);
        match loaded {
            Ok(c) => {
                assert_eq!(c.sentences.len(), n, "the benchmark corpus reads back whole");
                rows.push(Row::new(
                    format!("load {name}"),
                    format!("{:.2} s", t_load.as_secs_f64()),
                    format!(
                        "{:.0} MB file, {tokens} tokens, with validation; resident memory +{:.0} MB while held",
                        size as f64 / 1e6,
                        after.saturating_sub(before) as f64 / 1e6
                    ),
                ));
                drop(c);
            }
            Err(e) => rows.push(Row::new(format!("load {name}"), "failed", e.to_string())),
        }
        rows.push(Row::new(
            format!("save {name}"),
            format!("{:.2} s", t_save.as_secs_f64()),
            "atomic (temporary file, fsync, rename)",
        ));
    }
    if let Some(peak) = peak_rss() {
        rows.push(Row::new(
            "peak resident memory of the process so far",
            format!("{:.0} MB", peak as f64 / 1e6),
            "the corpus in memory, a copy being written, and libtorch loaded",
        ));
    }
    Section {
        title,
        rows,
        skipped: None,
    }
}
