//! Features of a frozen encoder, computed once per sentence and kept: in memory (bounded) and
//! on disk (bounded, safe to delete). A sentence's key is a hash of its tokens, in a namespace
//! per encoder and pooling, so an edited sentence gets fresh features. Each file carries a
//! checksum; a damaged one is deleted and recomputed, never trusted.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

pub type Key = [u8; 32];

/// Version 2 files carry their key, so a file under another key's name is refused.
const MAGIC: &[u8; 8] = b"RELARCF2";
const HEADER: usize = 8 + 32 + 12;

/// `$RELARC_CACHE_DIR`, else `$XDG_CACHE_HOME/relarc/features`, else `~/.cache/relarc/features`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("RELARC_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("relarc").join("features"))
}

fn budget_from_env(var: &str, default_gib: f64) -> u64 {
    let gib = std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(default_gib);
    (gib * (1u64 << 30) as f64) as u64
}

struct Memory {
    map: HashMap<Key, Tensor>,
    order: VecDeque<Key>,
    bytes: u64,
}

pub struct FeatureCache {
    /// This namespace's folder, when features go to disk.
    dir: Option<PathBuf>,
    /// The folder holding every namespace, over which the disk budget is kept.
    root: Option<PathBuf>,
    namespace: String,
    memory: Mutex<Memory>,
    memory_budget: u64,
    disk_budget: u64,
    disk_used: Mutex<Option<u64>>,
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
    pub rebuilt: AtomicUsize,
}

fn bytes_of(t: &Tensor) -> u64 {
    (t.numel() * 2) as u64
}

impl FeatureCache {
    /// A cache for one encoder and pooling (`namespace` names them), under `root` when given.
    /// Budgets come from `RELARC_CACHE_MEMORY_GB` (default 6) and `RELARC_CACHE_DISK_GB`
    /// (default 20).
    pub fn new(root: Option<PathBuf>, namespace: &str) -> FeatureCache {
        let ns = hex(&Sha256::digest(namespace.as_bytes()))[..16].to_string();
        let dir = root.as_ref().map(|r| r.join(&ns));
        if let Some(d) = &dir {
            if std::fs::create_dir_all(d).is_ok() {
                let _ = std::fs::write(d.join("ENCODER.txt"), format!("{namespace}\n"));
            }
        }
        FeatureCache {
            dir,
            root,
            namespace: namespace.to_string(),
            memory: Mutex::new(Memory {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            memory_budget: budget_from_env("RELARC_CACHE_MEMORY_GB", 6.0),
            disk_budget: budget_from_env("RELARC_CACHE_DISK_GB", 20.0),
            disk_used: Mutex::new(None),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            rebuilt: AtomicUsize::new(0),
        }
    }

    pub fn with_budgets(mut self, memory: u64, disk: u64) -> Self {
        self.memory_budget = memory;
        self.disk_budget = disk;
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn key(tokens: &[String]) -> Key {
        let mut h = Sha256::new();
        for t in tokens {
            h.update((t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        }
        h.finalize().into()
    }

    pub fn path(&self, key: &Key) -> Option<PathBuf> {
        let name = hex(key);
        self.dir
            .as_ref()
            .map(|d| d.join(&name[..2]).join(format!("{name}.f16")))
    }

    /// Features `[words, L, D]` (float16, CPU) for this key, from memory or disk.
    pub fn get(&self, key: &Key) -> Option<Tensor> {
        if let Some(t) = self.memory.lock().expect("cache lock").map.get(key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(t.shallow_clone());
        }
        let found = self.path(key).and_then(|p| self.read(&p, key));
        match &found {
            Some(t) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                self.remember(*key, t.shallow_clone());
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        found
    }

    /// Keeps features (converted to float16 on the CPU) in memory and on disk; returns them
    /// as kept, so first and later uses see the same numbers.
    pub fn put(&self, key: Key, features: &Tensor) -> Tensor {
        let t = features.to_device(Device::Cpu).to_kind(Kind::Half).contiguous();
        if let Some(p) = self.path(&key) {
            // A cache that cannot be written is still a cache in memory.
            if self.write(&p, &key, &t).is_ok() {
                self.account(bytes_of(&t) + (HEADER + 32) as u64);
            }
        }
        self.remember(key, t.shallow_clone());
        t
    }

    fn remember(&self, key: Key, t: Tensor) {
        let mut m = self.memory.lock().expect("cache lock");
        if m.map.contains_key(&key) {
            return;
        }
        m.bytes += bytes_of(&t);
        m.map.insert(key, t);
        m.order.push_back(key);
        while m.bytes > self.memory_budget {
            let Some(old) = m.order.pop_front() else { break };
            if let Some(t) = m.map.remove(&old) {
                m.bytes -= bytes_of(&t);
            }
        }
    }

    fn read(&self, path: &Path, key: &Key) -> Option<Tensor> {
        let data = std::fs::read(path).ok()?;
        match decode(&data, key) {
            Some(t) => Some(t),
            None => {
                // Damaged (cut short, flipped bits, another format, another sentence's
                // features): recompute it.
                let _ = std::fs::remove_file(path);
                self.rebuilt.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn write(&self, path: &Path, key: &Key, t: &Tensor) -> std::io::Result<()> {
        let dir = path.parent().expect("cache files live in a folder");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(TMP_PREFIX).tempfile_in(dir)?;
        tmp.write_all(&encode(key, t))?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Adds to the disk total and, past the budget, deletes the oldest files of every
    /// namespace until a fifth of the budget is free.
    fn account(&self, added: u64) {
        let Some(root) = &self.root else { return };
        let mut used = self.disk_used.lock().expect("cache lock");
        let total = match *used {
            Some(u) => u + added,
            None => files(root).iter().map(|f| f.1).sum(),
        };
        *used = Some(total);
        if total <= self.disk_budget {
            return;
        }
        let mut all = files(root);
        all.sort_by_key(|f| f.2);
        let mut total: u64 = all.iter().map(|f| f.1).sum();
        for (path, size, _) in all {
            if total <= self.disk_budget / 5 * 4 {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
        *used = Some(total);
    }
}

/// Temporary files of writes in progress; one left by a killed process is removed once it
/// is an hour old, and counts toward the disk budget until then.
const TMP_PREFIX: &str = ".relarc-tmp-";

fn is_stale_temporary(p: &Path, modified: std::time::SystemTime) -> bool {
    let temporary = p
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(TMP_PREFIX));
    temporary && modified.elapsed().is_ok_and(|age| age.as_secs() > 3600)
}

/// Cache files under `root` (temporary ones too): path, size, modification time. Stale
/// temporary files are removed on the way.
fn files(root: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(meta) = e.metadata() else { continue };
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            let temporary = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TMP_PREFIX));
            if meta.is_dir() {
                stack.push(p);
            } else if is_stale_temporary(&p, modified) {
                let _ = std::fs::remove_file(&p);
            } else if temporary || p.extension().is_some_and(|x| x == "f16") {
                out.push((p, meta.len(), modified));
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MAGIC, the key, words, layers, dim (u32 little-endian), float16 data, SHA-256 of all
/// before it.
pub fn encode(key: &Key, t: &Tensor) -> Vec<u8> {
    let size = t.size();
    let n = t.numel();
    let mut out = Vec::with_capacity(HEADER + 2 * n + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key);
    for d in &size {
        out.extend_from_slice(&(*d as u32).to_le_bytes());
    }
    let start = out.len();
    out.resize(start + 2 * n, 0);
    t.copy_data_u8(&mut out[start..], n);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

/// The features of a file written by `encode` for `key`; None for anything else.
pub fn decode(data: &[u8], key: &Key) -> Option<Tensor> {
    if data.len() < HEADER + 32 || &data[..8] != MAGIC || &data[8..40] != key {
        return None;
    }
    let (body, sum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return None;
    }
    let dim = |i: usize| u32::from_le_bytes(data[40 + 4 * i..44 + 4 * i].try_into().expect("4 bytes")) as i64;
    let size = [dim(0), dim(1), dim(2)];
    if (size.iter().product::<i64>() * 2) as usize != body.len() - HEADER {
        return None;
    }
    Some(Tensor::from_data_size(&body[HEADER..], &size, Kind::Half))
}
