//! How many threads relarc's work gets: from the cores really available to the process (its
//! CPU affinity, as Slurm and `taskset` set it, and a cgroup CPU quota, as containers set
//! it), unless `RELARC_THREADS` (or `--threads`) says otherwise.
//!
//! Training steps of small batches run on one thread (`ThreadPolicy::for_training`): measured,
//! a second thread gains nothing there, and two multi-threaded trainings side by side
//! collapse (their OpenMP teams wait on each other's descheduled threads). Lowering libgomp's
//! spin count (GOMP_SPINCOUNT=10000) did not prevent that collapse; OMP_WAIT_POLICY=PASSIVE
//! did, but made a training alone 15-25% slower (docs/BENCHMARKS.md).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable that overrides the thread count.
pub const VARIABLE: &str = "RELARC_THREADS";

/// A thread count that is not one.
#[derive(Debug, thiserror::Error)]
#[error("{VARIABLE}={0:?}: give a number of threads, 1 or more")]
pub struct ThreadsError(pub String);

/// The threads libtorch's intra-op pool (and our parallel kernels) get, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadPolicy {
    /// Cores this process may use.
    pub cores: usize,
    pub threads: usize,
    /// Where `threads` came from, for `doctor`.
    pub source: String,
}

impl ThreadPolicy {
    /// The policy for this process: `RELARC_THREADS` when set to a positive number, else the
    /// available cores.
    pub fn detect() -> Result<ThreadPolicy, ThreadsError> {
        let cores = available_cores();
        match std::env::var(VARIABLE) {
            Ok(v) if !v.trim().is_empty() => {
                let threads = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| ThreadsError(v.clone()))?;
                Ok(ThreadPolicy {
                    cores,
                    threads,
                    source: format!("{VARIABLE}={threads}"),
                })
            }
            _ => Ok(ThreadPolicy {
                cores,
                threads: cores,
                source: "the cores available to this process".into(),
            }),
        }
    }

    /// Gives libtorch this many threads (the count `with_threads` comes back to).
    pub fn apply(&self) {
        BASE.store(self.threads, Ordering::SeqCst);
        tch::set_num_threads(self.threads as i32);
    }

    /// Threads for the steps of a training with this batch size. A step of a few sentences
    /// is a long chain of small operators: a second thread gained nothing alone (CoNLL04,
    /// batch 2: 25-29 s per epoch with 2 threads, 26 s with 1; ADE, batch 16: 4.4 s per
    /// epoch of 300 sentences either way) and made two trainings side by side collapse
    /// (docs/BENCHMARKS.md), so such batches train on one thread unless the user chose a
    /// number.
    pub fn for_training(&self, batch_size: usize) -> usize {
        let user_chose = std::env::var_os(VARIABLE).is_some();
        if batch_size <= SMALL_BATCH && !user_chose {
            1
        } else {
            self.threads
        }
    }
}

/// Batches of at most this many sentences (both presets') train on one thread.
pub const SMALL_BATCH: usize = 16;

thread_local! {
    /// The threads this thread's work may use, while `with_threads` runs.
    static BUDGET: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `work` with libtorch limited to `threads` on this thread, then restores the count.
///
/// libtorch's OpenMP team size follows the calling thread's own setting, so several jobs in
/// one process (the trainings of `cv --jobs 2`, or a training beside live extraction) each
/// keep their share; `current` reads it back for our own parallel kernels.
pub fn with_threads<T>(threads: usize, work: impl FnOnce() -> T) -> T {
    let threads = threads.max(1);
    let before = tch::get_num_threads();
    let budget_before = BUDGET.with(|b| b.replace(Some(threads)));
    tch::set_num_threads(threads as i32);
    let out = work();
    BUDGET.with(|b| b.set(budget_before));
    // libtorch's count is also process-wide: coming back to what another thread's
    // `with_threads` had set at our start would leave it there, so the applied policy wins.
    let base = match BASE.load(Ordering::SeqCst) {
        0 => before as usize,
        n => n,
    };
    tch::set_num_threads(budget_before.unwrap_or(base) as i32);
    out
}

/// The thread count `ThreadPolicy::apply` gave the process (0 before any).
static BASE: AtomicUsize = AtomicUsize::new(0);

/// The threads work on this thread may use: its `with_threads` share, else libtorch's count.
pub fn current() -> usize {
    BUDGET
        .with(|b| b.get())
        .unwrap_or_else(|| tch::get_num_threads().max(1) as usize)
}

/// Threads held by the trainings running in this process now (their step threads).
static HELD: AtomicUsize = AtomicUsize::new(0);

/// A training's hold on its threads, given back when dropped.
pub struct Held(usize);

/// Marks `threads` as in use by a training until the returned hold is dropped.
pub fn hold(threads: usize) -> Held {
    HELD.fetch_add(threads, Ordering::SeqCst);
    Held(threads)
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.fetch_sub(self.0, Ordering::SeqCst);
    }
}

/// Threads for work started now beside this process's trainings (live extraction, corpus
/// prediction in the app): the policy's threads less those the trainings hold, at least one.
/// Measured: live extraction during a training took 1.6-2.0× its idle time on two threads
/// (one of them fighting the training for a core), 1.0× on one (docs/BENCHMARKS.md).
pub fn spare() -> usize {
    // The applied policy, read once at start; detected here only where none was applied.
    let total = match BASE.load(Ordering::SeqCst) {
        0 => ThreadPolicy::detect().map_or_else(|_| current(), |p| p.threads),
        n => n,
    };
    total.saturating_sub(HELD.load(Ordering::SeqCst)).max(1)
}

/// Each of `jobs` jobs running at once gets this many of the policy's threads (at least one).
pub fn share(total: usize, jobs: usize) -> usize {
    (total / jobs.max(1)).max(1)
}

/// Cores this process may run on: its affinity mask, bounded by a cgroup CPU quota.
pub fn available_cores() -> usize {
    let affinity =
        affinity_cores().unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match quota_cores(Path::new("/sys/fs/cgroup")) {
        Some(q) => affinity.min(q).max(1),
        None => affinity.max(1),
    }
}

#[cfg(target_os = "linux")]
fn affinity_cores() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t filled by sched_getaffinity for this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(libc::CPU_COUNT(&set) as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn affinity_cores() -> Option<usize> {
    None
}

/// Whole cores a CPU quota allows (rounded up), from cgroup v2 `cpu.max` or v1
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us`; None without a quota.
fn quota_cores(root: &Path) -> Option<usize> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let (quota, period) = if let Some(max) = read("cpu.max") {
        let mut f = max.split_whitespace();
        (f.next()?.to_string(), f.next()?.to_string())
    } else {
        (read("cpu/cpu.cfs_quota_us")?, read("cpu/cpu.cfs_period_us")?)
    };
    let quota: f64 = quota.trim().parse().ok()?;
    let period: f64 = period.trim().parse().ok()?;
    if quota <= 0.0 || period <= 0.0 {
        return None;
    }
    Some((quota / period).ceil() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_quota_bounds_the_cores() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(quota_cores(dir.path()), None);
        std::fs::write(dir.path().join("cpu.max"), "max 100000\n").unwrap();
        assert_eq!(quota_cores(dir.path()), None, "no quota");
        std::fs::write(dir.path().join("cpu.max"), "150000 100000\n").unwrap();
        assert_eq!(quota_cores(dir.path()), Some(2), "1.5 cores round up");
        let v1 = tempfile::tempdir().unwrap();
        std::fs::create_dir(v1.path().join("cpu")).unwrap();
        std::fs::write(v1.path().join("cpu/cpu.cfs_quota_us"), "-1\n").unwrap();
        std::fs::write(v1.path().join("cpu/cpu.cfs_period_us"), "100000\n").unwrap();
        assert_eq!(quota_cores(v1.path()), None);
        std::fs::write(v1.path().join("cpu/cpu.cfs_quota_us"), "100000\n").unwrap();
        assert_eq!(quota_cores(v1.path()), Some(1));
        assert!(available_cores() >= 1);
    }
}
