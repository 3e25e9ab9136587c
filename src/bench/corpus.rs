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
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("validate").arg(file);
    command_peak(cmd)
}

/// The peak memory a relarc child process reports of itself, when it succeeds.
pub(crate) fn command_peak(mut cmd: std::process::Command) -> Option<u64> {
    let out = cmd.env("RELARC_REPORT_PEAK_MEMORY", "1").output().ok()?;
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
    let corpus = synthesise(seed, n);
    let mut rows = Vec::new();
    for (ext, name) in [("json", "SpERT JSON"), ("jsonl", "SpERT JSON lines")] {
        rows.extend(save_and_load(&corpus, &dir.join(format!("bench.{ext}")), name));
    }
    if let Some(row) = exe.and_then(|exe| validate_memory(seed, dir, exe)) {
        rows.push(row);
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

/// Saving the corpus to `path` and reading it back, timed.
fn save_and_load(corpus: &Corpus, path: &Path, name: &str) -> Vec<Row> {
    let (saved, t_save) = timed(|| corpus.save(path));
    if let Err(e) = saved {
        return vec![Row::new(format!("save {name}"), "failed", e.to_string())];
    }
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let tokens: usize = corpus.sentences.iter().map(|s| s.tokens.len()).sum();
    let (loaded, t_load) = timed(|| Corpus::load(path));
    let load = match loaded {
        Ok(c) if c.sentences.len() == corpus.sentences.len() => Row::new(
            format!("load {name}"),
            format!("{:.2} s", t_load.as_secs_f64()),
            format!(
                "{:.0} MB file, {tokens} tokens, with validation",
                size as f64 / 1e6
            ),
        ),
        Ok(c) => Row::new(
            format!("load {name}"),
            "failed",
            format!(
                "read back {} of {} sentences",
                c.sentences.len(),
                corpus.sentences.len()
            ),
        ),
        Err(e) => Row::new(format!("load {name}"), "failed", e.to_string()),
    };
    let save = Row::new(
        format!("save {name}"),
        format!("{:.2} s", t_save.as_secs_f64()),
        "atomic (temporary file, fsync, rename)",
    );
    vec![load, save]
}

/// The peak memory of a fresh `relarc validate` on the big JSON file, beside the same on a
/// one-sentence file.
fn validate_memory(seed: &[Sentence], dir: &Path, exe: &Path) -> Option<Row> {
    let tiny = dir.join("one.json");
    synthesise(seed, 1).save(&tiny).ok()?;
    let base = child_peak(exe, &tiny)?;
    let peak = child_peak(exe, &dir.join("bench.json"))?;
    Some(Row::new(
        "peak memory of `relarc validate` on the JSON file",
        format!("{:.0} MB", peak as f64 / 1e6),
        format!(
            "a fresh process; {:.0} MB of it is the same command on a one-sentence file (the binary and libtorch)",
            base as f64 / 1e6
        ),
    ))
}
