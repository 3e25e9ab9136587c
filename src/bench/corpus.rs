//! Corpus load and save time and memory for a large corpus synthesised from real sentences.

use std::path::Path;

use super::{peak_rss, timed, Row, Scale, Section};
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

/// Peak resident memory of `relarc validate FILE` in a child process (its whole life: libtorch
/// loaded, the corpus read and validated), in bytes, as the child reports it.
fn child_peak(exe: &Path, file: &Path) -> Option<u64> {
    let out = std::process::Command::new(exe)
        .arg("validate")
        .arg(file)
        .env("RELARC_REPORT_PEAK_MEMORY", "1")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("relarc-peak-memory-bytes: "))
        .and_then(|v| v.trim().parse().ok())
}

/// `exe`: the relarc binary, to measure memory in a fresh process.
pub fn run(seed: &[Sentence], scale: Scale, dir: &Path, exe: Option<&Path>) -> Section {
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
        let (loaded, t_load) = timed(|| Corpus::load(&path));
        match loaded {
            Ok(c) => {
                assert_eq!(c.sentences.len(), n, "the benchmark corpus reads back whole");
                rows.push(Row::new(
                    format!("load {name}"),
                    format!("{:.2} s", t_load.as_secs_f64()),
                    format!(
                        "{:.0} MB file, {tokens} tokens, with validation",
                        size as f64 / 1e6
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
    if let Some(exe) = exe {
        let tiny = dir.join("one.json");
        let one = synthesise(seed, 1);
        let big = dir.join("bench.json");
        if one.save(&tiny).is_ok() {
            if let (Some(base), Some(peak)) = (child_peak(exe, &tiny), child_peak(exe, &big)) {
                rows.push(Row::new(
                    "peak memory of `relarc validate` on the JSON file",
                    format!("{:.0} MB", peak as f64 / 1e6),
                    format!(
                        "a fresh process; {:.0} MB of it is the same command on a one-sentence file (the binary and libtorch)",
                        base as f64 / 1e6
                    ),
                ));
            }
        }
    }
    if let Some(peak) = peak_rss() {
        rows.push(Row::new(
            "peak resident memory of the benchmark process so far",
            format!("{:.0} MB", peak as f64 / 1e6),
            "the synthesised corpus, files read back while it is held, and libtorch",
        ));
    }
    Section {
        title,
        rows,
        skipped: None,
    }
}
