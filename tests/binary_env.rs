//! The binary must start with nothing set up in its environment: the rpath finds libtorch.

use crate::common;

#[test]
fn binary_starts_with_a_clean_environment() {
    let out = common::relarc()
        .arg("doctor")
        .env_clear()
        .output()
        .expect("relarc starts");
    let text = common::stdout(&out);
    assert!(
        out.status.success(),
        "relarc doctor failed: {}\n{}",
        text,
        common::stderr(&out)
    );
    assert!(text.contains("CUDA available"), "unexpected output: {text}");
}

#[test]
fn libtorch_cuda_stays_linked() {
    // Without it, Device::cuda_if_available() would quietly answer CPU on a GPU machine.
    let elf = std::fs::read(env!("CARGO_BIN_EXE_relarc")).unwrap();
    let needle = b"libtorch_cuda.so";
    assert!(
        elf.windows(needle.len()).any(|w| w == needle),
        "libtorch_cuda.so is not a needed library"
    );
}
