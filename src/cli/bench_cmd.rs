//! `relarc bench`: measures training, inference, corpus and view speed on this machine and
//! writes the figures, with date, machine, device and command, to docs/BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use relarc::bench::{self, Scale, Section};
use relarc::corpus::{Corpus, Sentence};

use super::train_cmds::device;
use super::CliResult;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Small sizes (for CI): a 10,000-sentence corpus, 16 training sentences per epoch, 10 latency runs.
    #[arg(long)]
    pub quick: bool,
    /// The shared data folder (conll04/, ade/); default ../shared/data or $RELARC_DATA.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Append the figures to this Markdown file.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    pub out: PathBuf,
    /// Print only; write nothing.
    #[arg(long)]
    pub no_write: bool,
    /// Inputs of the trained presets: minilm (the issue's: MiniLM-L6 mix + GloVe + chars +
    /// casing) or learned (no pre-trained files: for a machine without ./resources).
    #[arg(long, default_value = "minilm", value_parser = ["minilm", "learned"])]
    pub inputs: String,
    /// Only the contention part: trainings side by side, and beside busy loops (minutes).
    #[arg(long)]
    pub contention: bool,
    /// Only the live latency of the models shipped in models/ (a minute).
    #[arg(long, conflicts_with = "contention")]
    pub shipped: bool,
}

fn load(path: &Path) -> Vec<Sentence> {
    Corpus::load(path).map(|c| c.sentences).unwrap_or_default()
}

pub fn bench(a: BenchArgs) -> CliResult {
    let dev = device(&a.device)?;
    let data = a.data.clone().unwrap_or_else(|| {
        std::env::var_os("RELARC_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
    });
    let tmp = tempfile::tempdir()?;
    // A feature cache of its own: every run computes the same features, and inference sees
    // sentences the encoder has not met.
    std::env::set_var("RELARC_CACHE_DIR", tmp.path().join("features"));
    let sections = run_sections(&a, &data, tmp.path(), dev);
    let device_name = match dev {
        tch::Device::Cuda(i) => format!("CUDA device {i}"),
        _ => "CPU".to_string(),
    };
    let text = bench::report(
        &relarc::train::report::utc_now(),
        &device_name,
        &command(&a),
        &sections,
    );
    println!("{text}");
    if !a.no_write {
        append(&a.out, &text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Every part of the benchmark, in order, each said on stderr as it ends.
fn run_sections(a: &BenchArgs, data: &Path, tmp: &Path, dev: tch::Device) -> Vec<Section> {
    let scale = Scale { quick: a.quick };
    let conll_train = load(&data.join("conll04/train.json"));
    if a.contention {
        let exe = std::env::current_exe().ok();
        let preset = format!("conll04-{}", a.inputs);
        let s = bench::contention::run(exe.as_deref(), &conll_train, &preset, scale, tmp);
        let how = if s.skipped.is_some() { "(skipped)" } else { "done" };
        eprintln!("bench: {} {how}", s.title);
        return vec![s];
    }
    if a.shipped {
        let rows = bench::inference::shipped_latency(scale.latency_runs(), dev);
        let s = Section {
            title: "Live latency of the shipped models".into(),
            rows,
            skipped: None,
        };
        eprintln!("bench: {} done", s.title);
        return vec![s];
    }
    let conll_dev = load(&data.join("conll04/dev.json"));
    let ade_train = load(&data.join("ade/split_0_train.json"));
    let mut seed: Vec<Sentence> = conll_train.iter().chain(&ade_train).cloned().collect();
    if seed.is_empty() {
        seed = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.json"));
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut add = |s: Section| {
        let how = if s.skipped.is_some() { "(skipped)" } else { "done" };
        eprintln!("bench: {} {how}", s.title);
        sections.push(s);
    };
    let exe = std::env::current_exe().ok();
    add(bench::corpus::run(&seed, scale, tmp, exe.as_deref()));
    add(view_section(scale));
    let (conll, model) = bench::training::run(
        &format!("conll04-{}", a.inputs),
        "CoNLL04 train",
        &conll_train,
        scale,
        dev,
    );
    add(conll);
    add(bench::training::run(
        &format!("ade-{}", a.inputs),
        "ADE fold 0 train",
        &ade_train,
        scale,
        dev,
    )
    .0);
    let unseen: Vec<Sentence> = if a.quick {
        conll_dev.iter().take(64).cloned().collect()
    } else {
        let ade_test = load(&data.join("ade/split_0_test.json"));
        conll_dev.iter().chain(&ade_test).cloned().collect()
    };
    let mut inference = bench::inference::run(model.as_ref(), &unseen, scale, dev);
    if let (Some(m), Some(exe)) = (model.as_ref(), exe.as_deref()) {
        let tokens = if a.quick { 1_000 } else { 10_000 };
        inference
            .rows
            .push(bench::inference::long_sentence_memory(m, exe, tmp, tokens));
    }
    add(inference);
    add(bench::gpu_section(dev));
    sections
}

/// The command as the report names it.
fn command(a: &BenchArgs) -> String {
    let mut command = "relarc bench".to_string();
    if a.quick {
        command.push_str(" --quick");
    }
    if a.device != "auto" {
        command.push_str(&format!(" --device {}", a.device));
    }
    if a.inputs != "minilm" {
        command.push_str(&format!(" --inputs {}", a.inputs));
    }
    if a.shipped {
        command.push_str(" --shipped");
    }
    if a.contention {
        command.push_str(" --contention");
    }
    command
}

fn append(out: &Path, text: &str) -> CliResult {
    let mut all = std::fs::read_to_string(out).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    if !all.ends_with('\n') {
        all.push('\n');
    }
    all.push_str(text);
    relarc::fsio::atomic_write_bytes(out, all.as_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("bench: appended to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "gui")]
fn view_section(scale: bench::Scale) -> Section {
    bench::view::run(scale)
}

#[cfg(not(feature = "gui"))]
fn view_section(_scale: bench::Scale) -> Section {
    Section {
        title: "Sentence view".into(),
        rows: Vec::new(),
        skipped: Some("built without the `gui` feature".into()),
    }
}
