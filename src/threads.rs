//! How many threads relarc's work gets: from the cores really available to the process (its
//! CPU affinity, as Slurm and `taskset` set it, and a cgroup CPU quota, as containers set
//! it), unless `RELARC_THREADS` (or `--threads`) says otherwise.
//!
//! Idle OpenMP threads must not spin on cores another process needs. libgomp reads its
//! waiting settings once, when it is loaded (before `main`; a `.preinit_array` setenv is
//! undone by libc's own start-up, tried), so `relarc` restarts itself once with
//! `GOMP_SPINCOUNT` set before its libtorch work (`ensure_openmp_waiting`). See `doctor`.

use std::path::Path;

/// libgomp's spin count before an idle thread sleeps (its default is 300,000 unless
/// OMP_WAIT_POLICY is set): the value relarc sets when the user sets neither (measured, see
/// docs/BENCHMARKS.md).
pub const SPIN_COUNT: &std::ffi::CStr = c"10000";

/// Restarts this process with `GOMP_SPINCOUNT` set, unless the user set it or
/// `OMP_WAIT_POLICY` (then theirs is kept). Returns only when no restart is needed or the
/// restart failed (the work then runs with libgomp's defaults).
#[cfg(unix)]
pub fn ensure_openmp_waiting() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GOMP_SPINCOUNT").is_some() || std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let spin = SPIN_COUNT.to_str().expect("ASCII");
    let err = std::process::Command::new(exe)
        .args(args)
        .env("GOMP_SPINCOUNT", spin)
        .exec();
    eprintln!("note: could not restart with GOMP_SPINCOUNT={spin} ({err}); idle threads may spin");
}

#[cfg(not(unix))]
pub fn ensure_openmp_waiting() {}

/// The variable that overrides the thread count.
pub const VARIABLE: &str = "RELARC_THREADS";

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
    pub fn detect() -> Result<ThreadPolicy, String> {
        let cores = available_cores();
        match std::env::var(VARIABLE) {
            Ok(v) if !v.trim().is_empty() => {
                let threads = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("{VARIABLE}={v:?}: give a number of threads, 1 or more"))?;
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

    /// Gives libtorch this many threads.
    pub fn apply(&self) {
        tch::set_num_threads(self.threads as i32);
    }
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
