//! Saves on a full disk (issue 16): a small tmpfs is mounted for the test (root only; skipped
//! with a message otherwise), filled, and the save must fail with the path named while what
//! was there still loads, unchanged, with no temporary files left.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common;

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: usize) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: the full-disk cases mount a small tmpfs, which needs root");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fills the disk, leaving about `bytes` free (in whole pages).
    fn fill_leaving(&self, bytes: u64) {
        let path = self.path("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let page = [0u8; 4096];
        let mut written = 0u64;
        while f.write_all(&page).is_ok() {
            written += 4096;
        }
        f.set_len(written.saturating_sub(bytes.div_ceil(4096) * 4096))
            .unwrap();
    }

    fn leftovers(&self) -> Vec<String> {
        walk(self.dir.path())
            .into_iter()
            .filter(|n| n.contains("relarc-save") || n.contains("relarc-tmp"))
            .collect()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        names.push(e.file_name().to_string_lossy().to_string());
        if e.file_type().unwrap().is_dir() {
            names.extend(walk(&e.path()));
        }
    }
    names
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(args: &[&str]) {
    let out = common::run(args);
    assert!(out.status.success(), "relarc {args:?}: {}", common::stderr(&out));
}

/// A failed run whose message names `path` and the full disk.
fn fails_naming(args: &[&str], path: &str) {
    let out = common::run(args);
    let msg = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "relarc {args:?} should fail:\n{msg}");
    assert!(msg.contains(path), "the message should name {path}:\n{msg}");
    assert!(msg.contains("No space left"), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
}

/// Corpus files (text and annotations) as they are on disk, for comparison.
fn contents(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn a_brat_document_and_a_json_corpus_survive_a_full_disk() {
    let Some(data) = common::data_dir() else { return };
    let Some(disk) = SmallDisk::mount(8) else { return };
    let ann = disk.path("doc.ann");
    let json = disk.path("corpus.json");
    ok(&["convert", "assets/demo.json", s(&ann)]);
    ok(&["convert", "assets/demo.json", s(&json)]);
    let brat_files = vec![ann.clone(), ann.with_extension("txt")];
    let before = contents(&brat_files);
    let json_before = std::fs::read(&json).unwrap();
    // The new document's text fits and its annotations do not: the old text must stay too.
    let dev = data.join("conll04/dev.json");
    let staging = tempfile::tempdir().unwrap();
    ok(&["convert", s(&dev), s(&staging.path().join("doc.ann"))]);
    let new_text = std::fs::metadata(staging.path().join("doc.txt")).unwrap().len();
    disk.fill_leaving(new_text + 4096);
    fails_naming(&["convert", s(&dev), s(&ann)], s(disk.dir.path()));
    assert!(
        contents(&brat_files) == before,
        "the old document's text and annotations are untouched"
    );
    ok(&["validate", s(&ann)]);
    fails_naming(&["convert", s(&dev), s(&json)], s(&json));
    assert!(
        std::fs::read(&json).unwrap() == json_before,
        "the old JSON corpus is untouched"
    );
    assert_eq!(disk.leftovers(), Vec::<String>::new(), "no temporary files left");
}

#[test]
fn a_model_survives_a_save_on_a_full_disk() {
    let Some(data) = common::data_dir() else { return };
    let Some(disk) = SmallDisk::mount(48) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("train.json");
    let mut c = relarc::corpus::Corpus::load(&data.join("conll04/train.json")).unwrap();
    c.sentences.truncate(20);
    c.save(&train).unwrap();
    let model = disk.path("model");
    let args = |out: &Path| {
        let mut a = vec!["train", "--preset", "conll04-learned", "--train", s(&train)];
        a.extend(["--epochs", "1", "--device", "cpu", "--out", s(out)]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: &[String]| common::run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let first = run(&args(&model));
    assert!(first.status.success(), "{}", common::stderr(&first));
    let weights = std::fs::read(model.join("model.safetensors")).unwrap();
    disk.fill_leaving(weights.len() as u64 / 2);
    let again = run(&args(&model));
    let msg = common::stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains(s(disk.dir.path())),
        "the message names the folder:\n{msg}"
    );
    assert!(!msg.contains("panicked"), "{msg}");
    assert!(
        std::fs::read(model.join("model.safetensors")).unwrap() == weights,
        "old weights kept"
    );
    ok(&[
        "predict",
        "--model",
        s(&model),
        "--text",
        "John Smith lives in Boston.",
    ]);
    assert_eq!(disk.leftovers(), Vec::<String>::new(), "no temporary files left");
}
