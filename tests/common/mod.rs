//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project's shared data (`../shared/data`, or `RELARC_DATA`). Returns None, after saying
/// so, when it is absent on a developer machine; in CI its absence fails the test.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RELARC_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("conll04/train.json").exists() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("the shared data is missing at {}", dir.display());
    }
    eprintln!("skipped: no shared data at {} (set RELARC_DATA)", dir.display());
    None
}

/// Every corpus file of the shared data, relative to it.
pub fn corpus_files(data: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in [
        "conll04",
        "conll04/spert_split",
        "ade",
        "raw/spert_conll04",
        "raw/spert_ade",
    ] {
        let Ok(entries) = std::fs::read_dir(data.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".json") && !name.starts_with("overlapping") {
                files.push(p.strip_prefix(data).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

pub fn relarc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relarc"))
}

pub fn run(args: &[&str]) -> Output {
    relarc().args(args).output().expect("relarc runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}
