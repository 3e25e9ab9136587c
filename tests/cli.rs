//! The corpus commands as a user runs them.

use crate::common;

use relarc::corpus::Corpus;

#[test]
fn validate_reports_ok_for_clean_files() {
    let Some(data) = common::data_dir() else { return };
    let out = common::run(&["validate", data.join("ade/split_0_test.json").to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        common::stdout(&out).contains("ok (427 sentences, 1070 entities, 666 relations)"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn split_writes_reproducible_dev_parts_and_folds() {
    let Some(data) = common::data_dir() else { return };
    let src = data.join("ade/split_0_train.json");
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    for name in ["a", "b"] {
        let out = common::run(&[
            "split",
            src.to_str().unwrap(),
            "--out",
            &dir(name),
            "--dev-fraction",
            "0.1",
            "--seed",
            "3",
        ]);
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    let dev_a = std::fs::read(tmp.path().join("a/dev.json")).unwrap();
    assert_eq!(
        dev_a,
        std::fs::read(tmp.path().join("b/dev.json")).unwrap(),
        "same seed, same split"
    );
    let dev = Corpus::load(&tmp.path().join("a/dev.json")).unwrap();
    let train = Corpus::load(&tmp.path().join("a/train.json")).unwrap();
    assert_eq!(dev.sentences.len(), 385); // 10% of 3,845
    assert_eq!(dev.sentences.len() + train.sentences.len(), 3845);

    let out = common::run(&[
        "split",
        src.to_str().unwrap(),
        "--out",
        &dir("folds"),
        "--folds",
        "5",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let folds = relarc::corpus::split::load_fold_files(&tmp.path().join("folds")).unwrap();
    assert_eq!(folds.len(), 5);
    let tests: usize = folds.iter().map(|(_, t)| t.sentences.len()).sum();
    assert_eq!(tests, 3845);
}

#[test]
fn shared_ade_folds_load_in_order() {
    let Some(data) = common::data_dir() else { return };
    let folds = relarc::corpus::split::load_fold_files(&data.join("ade")).unwrap();
    assert_eq!(folds.len(), 10);
    assert_eq!(folds[9].1.sentences.len(), 429);
}

#[test]
fn convert_can_remove_overlaps() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("flat.json");
    let out = common::run(&[
        "convert",
        data.join("ade/ade_full.json").to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--remove-overlaps",
    ]);
    assert!(out.status.success());
    assert!(
        common::stderr(&out).contains("removed 120 overlapping entities"),
        "{}",
        common::stderr(&out)
    );
    let out = common::run(&["stats", "--json", out_path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(v["overlap_pairs"], 0);
}

/// A perfect BIO tagger's output on an ADE test fold (the gold without its overlapping
/// entities) loses recall against the raw file, and scores 100 once `eval` removes them too.
#[test]
fn eval_can_score_as_cv_does_on_gold_with_overlaps() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let gold = data.join("ade/split_0_test.json");
    let (gold, flat) = (gold.to_str().unwrap(), tmp.path().join("flat.json"));
    let flat = flat.to_str().unwrap();
    let out = common::run(&["convert", gold, flat, "--remove-overlaps"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let removed = common::stderr(&out);
    let score = |extra: &[&str]| {
        let out = common::run(&[&["eval", "--gold", gold, "--pred", flat, "--json"], extra].concat());
        assert!(out.status.success(), "{}", common::stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        (v, common::stderr(&out))
    };
    let f1 = |v: &serde_json::Value, task: &str| v[task]["micro"]["f1"].as_f64().unwrap();

    let (raw, note) = score(&[]);
    assert!(
        f1(&raw, "ner") < 1.0 && raw["ner"]["micro"]["precision"] == 1.0,
        "{raw}"
    );
    assert!(
        note.contains("split_0_test.json has overlapping entities") && note.contains("--remove-overlaps"),
        "{note}"
    );

    let (flat_scores, note) = score(&["--remove-overlaps"]);
    assert_eq!(
        (f1(&flat_scores, "ner"), f1(&flat_scores, "re")),
        (1.0, 1.0),
        "{flat_scores}"
    );
    // The same entities and relations as `convert --remove-overlaps` removed.
    let counts = |s: &str| {
        s.split_whitespace()
            .filter_map(|w| w.parse::<usize>().ok())
            .take(3)
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&note), counts(&removed), "{note} / {removed}");
    assert!(counts(&note)[0] > 0, "{note}");
}

#[test]
fn usage_errors_exit_with_2() {
    let out = common::run(&["convert"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("Usage"));
}

#[test]
fn info_prints_the_architecture_and_parameter_count() {
    let out = common::run(&[
        "info",
        "--preset",
        "conll04",
        "--contextual-dim",
        "1024",
        "--word-dim",
        "300",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("shared 1, NER-specific 1, RE-specific 2"), "{text}");
    let total: i64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("total"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!((5_500_000..6_800_000).contains(&total), "{total}");
    let out = common::run(&["info", "--preset", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("unknown preset"));
}

#[test]
fn info_names_the_pretrained_inputs_a_preset_loads_and_whether_they_are_there() {
    let tmp = tempfile::tempdir().unwrap();
    let out = common::relarc()
        .args(["info", "--preset", "conll04"])
        .env("RELARC_RESOURCES", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("13 layers × 768 of all-mpnet-base-v2"), "{text}");
    assert!(text.contains("word 50-d glove-6b-50d (frozen)"), "{text}");
    assert!(text.contains("loads all-mpnet-base-v2: NOT AVAILABLE"), "{text}");
    assert!(
        text.contains("inputs.mix"),
        "the layer mix is a trainable part: {text}"
    );
    std::fs::create_dir_all(tmp.path().join("all-mpnet-base-v2")).unwrap();
    let out = common::relarc()
        .args(["info", "--preset", "conll04"])
        .env("RELARC_RESOURCES", tmp.path())
        .output()
        .unwrap();
    assert!(
        common::stdout(&out).contains("loads all-mpnet-base-v2 from"),
        "{}",
        common::stdout(&out)
    );
    let out = common::run(&["info", "--preset", "ade-learned"]);
    let text = common::stdout(&out);
    assert!(
        !text.contains("loads") && text.contains("word 100-d (learned)"),
        "{text}"
    );
}

#[test]
fn vectors_command_reports_coverage_and_converts() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(tmp.path().join("v.txt"), "poe 1 2\nboston 3 4\n").unwrap();
    std::fs::write(
        tmp.path().join("c.json"),
        r#"[{"tokens": ["Poe", "lived", "in", "Boston"], "entities": [], "relations": []}]"#,
    )
    .unwrap();
    let out = common::run(&[
        "vectors",
        &p("v.txt"),
        "--corpus",
        &p("c.json"),
        "--convert",
        &p("conv"),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("2 words × 2 dimensions"), "{text}");
    assert!(text.contains("50.0% of tokens (2 of 4)"), "{text}");
    let out = common::run(&["vectors", &p("conv")]);
    assert!(
        common::stdout(&out).contains("2 words × 2 dimensions"),
        "{}",
        common::stderr(&out)
    );
    std::fs::write(tmp.path().join("bad.txt"), "poe 1 2\nboston 3\n").unwrap();
    let out = common::run(&["vectors", &p("bad.txt")]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(err.contains("bad.txt") && err.contains("line 2"), "{err}");
}

/// The thread policy: the cores available unless RELARC_THREADS or --threads say otherwise,
/// one thread for the steps of small-batch training, and the OpenMP waiting in use.
#[test]
fn doctor_shows_the_thread_policy_and_the_openmp_waiting() {
    let doctor = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = common::relarc();
        cmd.env_remove("RELARC_THREADS")
            .env_remove("GOMP_SPINCOUNT")
            .env_remove("OMP_WAIT_POLICY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.arg("doctor").args(args).output().unwrap()
    };
    let out = doctor(&[], &[]);
    let text = common::stdout(&out);
    assert!(
        text.contains("GOMP_SPINCOUNT=unset OMP_WAIT_POLICY=unset"),
        "{text}"
    );
    assert!(text.contains("the cores available to this process"), "{text}");
    assert!(
        text.contains("training steps of batches up to 16 sentences: 1"),
        "{text}"
    );
    let text = common::stdout(&doctor(&[("RELARC_THREADS", "2")], &[]));
    assert!(text.contains("threads           2 (RELARC_THREADS=2"), "{text}");
    assert!(
        text.contains("batches up to 16 sentences: 2"),
        "the user's choice holds: {text}"
    );
    let text = common::stdout(&doctor(&[], &["--threads", "1"]));
    assert!(text.contains("threads           1 (RELARC_THREADS=1"), "{text}");
    let text = common::stdout(&doctor(&[("OMP_WAIT_POLICY", "active")], &[]));
    assert!(
        text.contains("GOMP_SPINCOUNT=unset OMP_WAIT_POLICY=active"),
        "{text}"
    );
    let out = doctor(&[("RELARC_THREADS", "none")], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("RELARC_THREADS=\"none\""));
}
