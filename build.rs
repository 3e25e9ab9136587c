//! Link arguments that make the binary self-contained on any machine that ran the setup script.
//!
//! * rpath to the libtorch folder found by `torch-sys`, so `relarc` starts without `LD_LIBRARY_PATH`;
//! * `libtorch_cuda` kept as a needed library: nothing references it by symbol, so `--as-needed`
//!   would drop it and `Cuda::is_available()` would quietly answer false on a GPU machine.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
