//! Two pieces of work on libtorch's OpenMP team (`GOMP_parallel`, found at run time in
//! the libgomp libtorch loaded), or one after the other where there is no such team.
//!
//! Why not threads of our own: after each libtorch operator the team's workers spin on the
//! other cores for a while, so a thread of ours shares a core with one of them (measured
//! on the 2-core machine: slower than not splitting at all).

use std::ffi::c_void;
use std::sync::OnceLock;

type Parallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, u32, u32);
type Query = unsafe extern "C" fn() -> i32;

struct Omp {
    parallel: Parallel,
    thread_num: Query,
    num_threads: Query,
}

fn omp() -> Option<&'static Omp> {
    static OMP: OnceLock<Option<Omp>> = OnceLock::new();
    OMP.get_or_init(|| {
        // SAFETY: dlsym with the default handle only looks names up; the signatures are
        // those of libgomp's ABI (GOMP_4.0 and OpenMP's omp_get_*).
        unsafe {
            let find = |name: &[u8]| libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr() as *const libc::c_char);
            let (p, t, n) = (
                find(b"GOMP_parallel\0"),
                find(b"omp_get_thread_num\0"),
                find(b"omp_get_num_threads\0"),
            );
            if p.is_null() || t.is_null() || n.is_null() {
                return None;
            }
            Some(Omp {
                parallel: std::mem::transmute::<*mut c_void, Parallel>(p),
                thread_num: std::mem::transmute::<*mut c_void, Query>(t),
                num_threads: std::mem::transmute::<*mut c_void, Query>(n),
            })
        }
    })
    .as_ref()
}

struct Job<'a> {
    first: *mut (dyn FnMut() + 'a),
    second: *mut (dyn FnMut() + 'a),
    omp: &'a Omp,
}

extern "C" fn run(data: *mut c_void) {
    // SAFETY: `data` is the `Job` `both` passes, alive until GOMP_parallel returns; each
    // closure is called by one thread only (the team's thread 0 or 1, or thread 0 for
    // both when the team has one thread).
    unsafe {
        let job = &*(data as *const Job);
        let me = (job.omp.thread_num)();
        let size = (job.omp.num_threads)();
        if me == 0 {
            (*job.first)();
        }
        if me == 1 || (me == 0 && size < 2) {
            (*job.second)();
        }
    }
}

/// Runs `first` and `second`, on two threads of the team when `parallel` and there is one.
pub fn both(first: &mut dyn FnMut(), second: &mut dyn FnMut(), parallel: bool) {
    match omp().filter(|_| parallel && crate::threads::current() >= 2) {
        Some(omp) => {
            let job = Job {
                first: first as *mut _,
                second: second as *mut _,
                omp,
            };
            // SAFETY: `run` matches the callback ABI and `job` outlives the call.
            unsafe { (omp.parallel)(run, &job as *const Job as *mut c_void, 2, 0) };
        }
        None => {
            first();
            second();
        }
    }
}
