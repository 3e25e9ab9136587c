//! `relarc bench`: measured speed on the machine it runs on. Each part returns rows of
//! figures; `report` turns them into the Markdown kept in docs/BENCHMARKS.md. Nothing here
//! asserts a time: tests only check that every part runs and reports.

pub mod contention;
pub mod corpus;
pub mod inference;
pub mod live;
pub mod training;
#[cfg(feature = "gui")]
pub mod view;

use std::time::{Duration, Instant};

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Row {
    pub what: String,
    pub value: String,
    pub note: String,
}

impl Row {
    pub fn new(what: impl Into<String>, value: impl Into<String>, note: impl Into<String>) -> Row {
        Row {
            what: what.into(),
            value: value.into(),
            note: note.into(),
        }
    }
}

/// A part of the benchmark and its rows, or why it was skipped.
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
    pub skipped: Option<String>,
}

/// How big the runs are: `quick` is for CI (about a minute), the full one for the record.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub quick: bool,
}

impl Scale {
    pub fn corpus_sentences(&self) -> usize {
        if self.quick {
            10_000
        } else {
            100_000
        }
    }
    /// Most training sentences per epoch (all of them in a full run).
    pub fn train_limit(&self) -> Option<usize> {
        self.quick.then_some(16)
    }
    pub fn latency_runs(&self) -> usize {
        if self.quick {
            10
        } else {
            300
        }
    }
}

/// Percentile (0-100) of durations, in milliseconds.
pub fn percentile_ms(times: &[Duration], p: f64) -> f64 {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (ms.len() - 1) as f64).round() as usize;
    ms[idx.min(ms.len() - 1)]
}

pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The CPU model and core count, for the record.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB", kb as f64 / (1u64 << 20) as f64)
        });
    format!(
        "{cpu}, {cores} cores{mem}, libtorch threads {}",
        tch::get_num_threads()
    )
}

/// The Markdown block for one run of the benchmark.
pub fn report(date: &str, device: &str, command: &str, sections: &[Section]) -> String {
    let mut out = format!(
        "## {date}: {device}\n\nMachine: {}. Command: `{command}`.\n\n",
        machine()
    );
    for s in sections {
        out.push_str(&format!("### {}\n\n", s.title));
        if let Some(why) = &s.skipped {
            out.push_str(&format!("Skipped: {why}\n\n"));
            continue;
        }
        out.push_str("| measure | value | note |\n|---|---|---|\n");
        for r in &s.rows {
            out.push_str(&format!("| {} | {} | {} |\n", r.what, r.value, r.note));
        }
        out.push('\n');
    }
    out
}

/// GPU memory held by this process as `nvidia-smi` reports it, in MiB. libtorch's caching
/// allocator keeps freed blocks, so after a run this is close to the peak it needed.
pub fn gpu_memory_mib() -> Result<u64, String> {
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-compute-apps=pid,used_memory",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .map_err(|e| format!("nvidia-smi: {e}"))?;
    let me = std::process::id().to_string();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut f = l.split(',').map(str::trim);
            (f.next() == Some(me.as_str())).then(|| f.next().and_then(|m| m.parse().ok()))?
        })
        .ok_or_else(|| "nvidia-smi does not list this process".to_string())
}

/// The GPU memory section: measured on CUDA, skipped with the reason elsewhere.
pub fn gpu_section(device: tch::Device) -> Section {
    let title = "GPU memory".to_string();
    if !device.is_cuda() {
        return Section {
            title,
            rows: vec![],
            skipped: Some("no GPU on this machine (runs on the CPU)".into()),
        };
    }
    match gpu_memory_mib() {
        Ok(mib) => Section {
            title,
            rows: vec![Row::new(
                "GPU memory held after training both presets and inference",
                format!("{mib} MiB"),
                "nvidia-smi; libtorch's caching allocator keeps freed blocks, so this is about the peak",
            )],
            skipped: None,
        },
        Err(e) => Section {
            title,
            rows: vec![],
            skipped: Some(e),
        },
    }
}
