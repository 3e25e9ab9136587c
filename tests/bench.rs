//! `relarc bench --quick` runs from a fresh clone and reports every part; no time is asserted.

use crate::common;

#[test]
fn bench_quick_reports_every_part_with_its_machine_and_command() {
    let tmp = tempfile::tempdir().unwrap();
    let out_md = tmp.path().join("BENCH.md");
    std::fs::write(&out_md, "# Benchmarks\n\nearlier figures\n").unwrap();
    let out = common::relarc()
        .args([
            "bench",
            "--quick",
            "--device",
            "cpu",
            "--out",
            out_md.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = std::fs::read_to_string(&out_md).unwrap();
    assert!(
        text.starts_with("# Benchmarks\n\nearlier figures\n"),
        "earlier figures are kept"
    );
    assert!(
        text.contains("Command: `relarc bench --quick --device cpu`"),
        "{text}"
    );
    assert!(text.contains("cores") && text.contains(": CPU"), "{text}");
    for part in [
        "### Corpus of 10000 sentences",
        "| load SpERT JSON |",
        "| peak memory of `relarc validate` on the JSON file |",
        "### Sentence view",
        "| lay out + paint a 100-token sentence with 33 entities and 30 relations (p50 / p99) |",
        "### Training: `conll04-minilm` preset (batch 2)",
        "### Training: `ade-minilm` preset (batch 16)",
        "### Inference",
        "### GPU memory",
    ] {
        assert!(text.contains(part), "missing {part:?} in\n{text}");
    }
    let have_data = common::data_dir().is_some();
    let have_minilm =
        common::resource("all-minilm-l6-v2").is_some() && common::resource("glove-6b-50d").is_some();
    if have_data && have_minilm {
        for row in [
            "| seconds per epoch (after one warm-up epoch) |",
            "| training sentences per second |",
            "| corpus inference, sentences per second |",
            "| one 30-token sentence, raw text to entities and relations, MiniLM-L6 (p50 / p99) |",
            "| peak memory of `relarc predict --text` on one 1000-token sentence |",
        ] {
            assert!(text.contains(row), "missing {row:?} in\n{text}");
        }
        assert!(!text.contains("failed"), "{text}");
    }
    // The shipped models as the live view runs them; the pair also with its first model alone.
    if have_data && common::resource("all-mpnet-base-v2").is_some() {
        for row in [
            "| one 30-token sentence, raw text to entities and relations, models/ade (p50 / p99) |",
            "| one 30-token sentence, raw text to entities and relations, models/ade, first model alone (p50 / p99) |",
            "| one 30-token sentence, raw text to entities and relations, models/conll04 (p50 / p99) |",
        ] {
            assert!(text.contains(row), "missing {row:?} in\n{text}");
        }
    } else {
        assert!(text.contains("Skipped:"), "{text}");
    }
}

/// With `--inputs learned` the bench needs no pre-trained files (a machine without
/// ./resources, such as a lent GPU machine): training and inference still run.
#[test]
fn bench_with_learned_inputs_runs_without_pretrained_files() {
    if common::data_dir().is_none() {
        eprintln!("SKIPPED: the shared data is missing");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = common::relarc()
        .args([
            "bench",
            "--quick",
            "--device",
            "cpu",
            "--inputs",
            "learned",
            "--no-write",
        ])
        .env("RELARC_RESOURCES", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Command: `relarc bench --quick --device cpu --inputs learned`"),
        "{text}"
    );
    for row in [
        "### Training: `conll04-learned` preset (batch 2)",
        "### Training: `ade-learned` preset (batch 16)",
        "| encoder features before training | none | learned inputs: no encoder |",
        "| corpus inference, sentences per second |",
        "| one 30-token sentence, raw text to entities and relations, learned inputs, no encoder (p50 / p99) |",
        "| latency, MPNet-base | skipped |",
        "| latency, models/ade | skipped |",
        "| peak memory of `relarc predict --text` on one 1000-token sentence |",
    ] {
        assert!(text.contains(row), "missing {row:?} in\n{text}");
    }
    assert!(!text.contains("| failed |"), "{text}");

    // `--shipped` measures the shipped models alone, saying why one cannot run.
    let out = common::relarc()
        .args(["bench", "--shipped", "--quick", "--device", "cpu", "--no-write"])
        .env("RELARC_RESOURCES", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("### Live latency of the shipped models"), "{text}");
    assert!(text.contains("| latency, models/conll04 | skipped |"), "{text}");
    assert!(!text.contains("### Training"), "{text}");
}
