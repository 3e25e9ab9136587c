//! `relarc bench --contention`: training speed when the cores are shared. Each training is a
//! `relarc train` child process on the same slice of CoNLL04; its speed is the mean epoch
//! time after the first epoch, read from its report.json, beside the same work alone. Last,
//! live extraction with the trained model while a training runs in the same process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{Row, Scale, Section};
use crate::corpus::{Corpus, Sentence};

/// What the trainings run on.
struct Setup<'a> {
    exe: &'a Path,
    data: PathBuf,
    preset: String,
    epochs: usize,
    dir: &'a Path,
}

/// A training started with extra environment variables, or a busy loop.
fn spawn_training(s: &Setup, name: &str, env: &[(&str, &str)]) -> std::io::Result<(Child, PathBuf)> {
    let out = s.dir.join(name);
    let mut cmd = Command::new(s.exe);
    cmd.args(["train", "--preset", &s.preset, "--device", "cpu", "--seed", "1"])
        .arg("--train")
        .arg(&s.data)
        .arg("--out")
        .arg(&out)
        .args([
            "--epochs",
            &s.epochs.to_string(),
            "--patience",
            &s.epochs.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok((cmd.spawn()?, out))
}

/// Mean seconds of the epochs after the first, from a finished training's report.
fn epoch_seconds(mut child: Child, out: &Path) -> Result<f64, String> {
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the training failed ({status})"));
    }
    let text = std::fs::read_to_string(out.join(crate::model::RUN_REPORT)).map_err(|e| e.to_string())?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let secs: Vec<f64> = report["history"]
        .as_array()
        .map(|h| h.iter().skip(1).filter_map(|r| r["seconds"].as_f64()).collect())
        .unwrap_or_default();
    if secs.is_empty() {
        return Err("no epoch after the first".into());
    }
    Ok(secs.iter().sum::<f64>() / secs.len() as f64)
}

/// Runs trainings side by side (each with its environment), returns each one's epoch time.
fn side_by_side(s: &Setup, tag: &str, envs: &[&[(&str, &str)]]) -> Result<Vec<f64>, String> {
    let mut running = Vec::new();
    for (i, env) in envs.iter().enumerate() {
        running.push(spawn_training(s, &format!("{tag}-{i}"), env).map_err(|e| e.to_string())?);
    }
    running
        .into_iter()
        .map(|(c, out)| epoch_seconds(c, &out))
        .collect()
}

/// Two processes that keep a core each busy, as a busy desktop does; killed when dropped.
struct BusyLoops(Vec<Child>);

impl BusyLoops {
    fn start(n: usize) -> std::io::Result<BusyLoops> {
        let mut loops = Vec::new();
        for _ in 0..n {
            loops.push(Command::new("sh").args(["-c", "while :; do :; done"]).spawn()?);
        }
        Ok(BusyLoops(loops))
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn run(exe: Option<&Path>, sentences: &[Sentence], preset: &str, scale: Scale, dir: &Path) -> Section {
    let title = format!("Contention: `{preset}` trainings sharing the cores");
    let skip = |why: String| Section {
        title: title.clone(),
        rows: vec![],
        skipped: Some(why),
    };
    let Some(exe) = exe else {
        return skip("the relarc executable was not found".into());
    };
    let n = if scale.quick { 24 } else { 200 };
    if sentences.len() < n {
        return skip("no training data (the shared data is missing)".into());
    }
    let data = dir.join("contention.json");
    if let Err(e) = Corpus::new(sentences[..n].to_vec()).save(&data) {
        return skip(e.to_string());
    }
    let setup = Setup {
        exe,
        data,
        preset: preset.into(),
        epochs: if scale.quick { 2 } else { 3 },
        dir,
    };
    match rows(&setup, &sentences[..n], scale) {
        Ok(rows) => Section {
            title,
            rows,
            skipped: None,
        },
        Err(e) => skip(e),
    }
}

fn rows(s: &Setup, sentences: &[Sentence], scale: Scale) -> Result<Vec<Row>, String> {
    let n = sentences.len();
    // The first run also fills the feature cache, so the timed ones read it.
    side_by_side(s, "warm", &[&[]])?;
    let alone = side_by_side(s, "alone", &[&[]])?[0];
    let note = |what: &str| format!("{n} CoNLL04 sentences, epochs after the first; {what}");
    let mut rows = vec![Row::new(
        "one training alone, seconds per epoch",
        format!("{alone:.1} s"),
        note("default threads"),
    )];
    let pair = side_by_side(s, "pair", &[&[], &[]])?;
    rows.push(speed_row(
        "two trainings side by side",
        alone,
        &pair,
        "target ≥ 0.4× each",
    ));
    let one = [("OMP_NUM_THREADS", "1")];
    let pinned = side_by_side(s, "pinned", &[&one, &one])?;
    rows.push(speed_row(
        "two side by side, OMP_NUM_THREADS=1 each",
        alone,
        &pinned,
        "the reference the default must not fall below",
    ));
    let busy = BusyLoops::start(2).map_err(|e| e.to_string())?;
    let beside = side_by_side(s, "busy", &[&[]])?;
    drop(busy);
    rows.push(speed_row(
        "one training beside two busy loops",
        alone,
        &beside,
        "target ≥ 0.3×",
    ));
    let runs = if scale.quick { 20 } else { 100 };
    rows.push(super::live::row(&s.dir.join("alone-0"), sentences, runs)?);
    Ok(rows)
}

/// Epoch times of the runs, and their speed as a fraction of the training alone.
fn speed_row(what: &str, alone: f64, runs: &[f64], target: &str) -> Row {
    let secs: Vec<String> = runs.iter().map(|t| format!("{t:.1} s")).collect();
    let speeds: Vec<String> = runs.iter().map(|t| format!("{:.2}×", alone / t)).collect();
    Row::new(
        format!("{what}, seconds per epoch"),
        secs.join(" / "),
        format!("speed vs alone {}; {target}", speeds.join(" / ")),
    )
}
