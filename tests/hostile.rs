//! The damage matrix of hostile use (issue 16): outputs that would destroy what is at the
//! path, output = input, arguments out of range and configurations that would panic inside
//! libtorch. Each is refused with a message naming the path or the flag, before any heavy
//! work, and leaves what was there untouched.

use std::path::Path;

use crate::common;

const DEMO: &str = "assets/demo.json";

/// Runs relarc, expects exit 1 with `expect` in its message; returns the message.
fn refused<S: AsRef<str> + std::fmt::Debug>(args: &[S], expect: &str) -> String {
    let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
    let out = common::run(&args);
    let msg = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "relarc {args:?} should fail:\n{msg}");
    assert!(msg.contains(expect), "relarc {args:?}: {expect:?} not in:\n{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    msg
}

fn copy_demo(dir: &Path) -> String {
    let p = dir.join("gold.json");
    std::fs::copy(DEMO, &p).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn output_equal_to_input_is_refused_unless_in_place_which_keeps_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let gold = copy_demo(tmp.path());
    let before = std::fs::read(&gold).unwrap();
    refused(
        &["convert", &gold, &gold, "--to", "conll"],
        "both the input and the output",
    );
    assert_eq!(std::fs::read(&gold).unwrap(), before);
    // predict checks its arguments before it loads the model (this one does not exist).
    refused(
        &[
            "predict",
            "--model",
            "/nonexistent",
            "--input",
            &gold,
            "--output",
            &gold,
        ],
        "both the input and the output",
    );
    assert_eq!(std::fs::read(&gold).unwrap(), before);
    let out = common::run(&["convert", &gold, &gold, "--in-place"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(std::fs::read(format!("{gold}.relarc-backup")).unwrap(), before);
}

#[test]
fn an_output_folder_that_is_a_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let gold = copy_demo(tmp.path());
    // It used to say only "File exists (os error 17)".
    let msg = refused(
        &["split", &gold, "--out", &gold, "--folds", "2"],
        "is a file, not a folder",
    );
    assert!(msg.contains(&gold), "{msg}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_never_replaced_and_a_symlink_is_written_through() {
    use std::os::unix::fs::FileTypeExt;
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    refused(&["convert", DEMO, fifo.to_str().unwrap()], "not a regular file");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    refused(
        &["convert", DEMO, "/dev/null", "--to", "json"],
        "not a regular file",
    );
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());

    let real = tmp.path().join("real.jsonl");
    std::fs::write(&real, "").unwrap();
    let link = tmp.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = common::run(&["convert", DEMO, link.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("Edgar"));
}

#[test]
fn training_arguments_are_checked_before_any_training() {
    let tmp = tempfile::tempdir().unwrap();
    let gold = copy_demo(tmp.path());
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out_dir = tmp.path().join("m");
    let out = out_dir.to_str().unwrap();
    let train = |extra: &[&str]| -> Vec<String> {
        let base = [
            "train",
            "--preset",
            "ade-learned",
            "--train",
            &gold,
            "--device",
            "cpu",
        ];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let msg = refused(
        &train(&["--out", file.to_str().unwrap()]),
        "is a file, not a folder",
    );
    assert!(!msg.contains("epoch"), "the check comes before training:\n{msg}");
    refused(&train(&["--out", "/proc/relarc/m"]), "cannot make the folder");
    refused(
        &train(&["--out", out, "--epochs", "0"]),
        "--epochs must be at least 1",
    );
    refused(
        &train(&["--out", out, "--patience", "0"]),
        "--patience must be at least 1",
    );
    refused(
        &train(&["--out", out, "--average-epochs", "1001"]),
        "--average-epochs must be a number of epochs from 0 (none) to 1000",
    );
    refused(
        &train(&["--out", out, "--re-context", "9000"]),
        "--re-context must be a size from 1 to 8192, or 0 for none (not 9000)",
    );
    refused(
        &[
            "train",
            "--preset",
            "ade",
            "--init",
            "models/conll04",
            "--train",
            &gold,
            "--out",
            out,
        ],
        "--init continues that model with its own configuration",
    );
    refused(&["train", "--train", &gold, "--out", out], "give --preset");
    let cv = |extra: &[&str]| -> Vec<String> {
        let base = [
            "cv",
            "--preset",
            "ade-learned",
            "--folds",
            "/nonexistent",
            "--out",
            out,
        ];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    refused(&cv(&["--max-folds", "0"]), "--max-folds must be at least 1");
    refused(
        &cv(&["--dev-fraction", "1.5"]),
        "--dev-fraction must be 0 or more and below 1 (not 1.5)",
    );
    refused(
        &[
            "trials",
            "--preset",
            "ade-learned",
            "--train",
            &gold,
            "--dev",
            &gold,
            "--test",
            &gold,
            "--n",
            "0",
            "--out",
            out,
        ],
        "--n must be at least 1",
    );
}

#[test]
fn a_configuration_out_of_range_names_its_field_instead_of_crashing_libtorch() {
    let tmp = tempfile::tempdir().unwrap();
    let gold = copy_demo(tmp.path());
    for (field, value) in [
        ("rnn_size", json(0)),
        ("rnn_size", json(-5)),
        ("rnn_size", json(200_000)),
        ("average_epochs", json(0)),
        ("re_context", json(0)),
    ] {
        let mut cfg = serde_json::to_value(relarc::model::ModelConfig::ade()).unwrap();
        cfg[field] = value.clone();
        let path = tmp.path().join("config.json");
        std::fs::write(&path, cfg.to_string()).unwrap();
        let out = tmp.path().join("m");
        refused(
            &[
                "train",
                "--config",
                path.to_str().unwrap(),
                "--train",
                &gold,
                "--out",
                out.to_str().unwrap(),
            ],
            &format!("`{field}` is {value}"),
        );
    }
}

fn json(v: i64) -> serde_json::Value {
    serde_json::Value::from(v)
}

/// A model folder whose weights were changed after saving, hold NaN, or hold integers where
/// floats belong is refused when it loads, naming the file and what is wrong.
#[test]
fn damaged_model_weights_are_caught_before_anything_is_predicted() {
    use relarc::corpus::Schema;
    use relarc::embed::Vocabulary;
    use relarc::model::{Model, ModelConfig};
    use tch::{Device, Kind, Tensor};
    let sentences = vec![common::annotated(
        "Poe lived in Boston",
        &[("Peop", 0, 1), ("Loc", 3, 4)],
        &[],
    )];
    let vocab = Vocabulary::build(&sentences, &Schema::infer(&sentences), 1);
    let cfg = ModelConfig {
        rnn_size: 8,
        ..ModelConfig::preset("ade-learned").unwrap()
    };
    let model = Model::new(cfg, vocab, Device::Cpu);
    let tmp = tempfile::tempdir().unwrap();
    let load_err = |dir: &Path| Model::load(dir, Device::Cpu).err().expect("refused").to_string();

    // One byte changed after saving: the checksum says so.
    let flipped = tmp.path().join("flipped");
    model.save(&flipped).unwrap();
    Model::load(&flipped, Device::Cpu).unwrap();
    let weights = flipped.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&weights, bytes).unwrap();
    let err = load_err(&flipped);
    assert!(
        err.contains("model.safetensors") && err.contains("model.sha256"),
        "{err}"
    );

    // Rewritten weights (no checksum to compare): NaN values, then integer values.
    let rewrite = |name: &str, change: &dyn Fn(&str, Tensor) -> Tensor| {
        let dir = tmp.path().join(name);
        model.save(&dir).unwrap();
        std::fs::remove_file(dir.join("model.sha256")).unwrap();
        let tensors: Vec<(String, Tensor)> = model
            .vs
            .variables()
            .into_iter()
            .map(|(k, v)| {
                let t = change(&k, v.detach().copy());
                (k, t)
            })
            .collect();
        Tensor::write_safetensors(&tensors, dir.join("model.safetensors")).unwrap();
        dir
    };
    let first = model.vs.variables().into_keys().min().unwrap();
    let nan = rewrite("nan", &|k, t| if k == first { t.fill(f64::NAN) } else { t });
    let err = load_err(&nan);
    assert!(err.contains("not finite") && err.contains(&first), "{err}");
    let ints = rewrite("ints", &|k, t| if k == first { t.to_kind(Kind::Int) } else { t });
    let err = load_err(&ints);
    assert!(err.contains("Int") && err.contains(&first), "{err}");
}

/// What a format cannot hold is escaped or refused, never written so that it reads back as
/// something else.
#[test]
fn notes_with_line_breaks_survive_brat_and_unholdable_names_are_refused() {
    use relarc::corpus::{Corpus, Format};
    let tmp = tempfile::tempdir().unwrap();
    let mut s = common::annotated(
        "Poe lived in Boston",
        &[("Peop", 0, 1), ("Loc", 3, 4)],
        &[("Live_In", 0, 1)],
    );
    s.entities[0]
        .extra
        .insert("note".into(), serde_json::Value::from("first line\nsecond line"));
    let corpus = Corpus::new(vec![s.clone()]);
    let brat = tmp.path().join("doc.ann");
    corpus.save_as(&brat, Format::Brat).unwrap();
    let back = Corpus::load(&brat).unwrap();
    assert_eq!(
        back.sentences[0].entities.len(),
        2,
        "the note's second line is no entity"
    );
    assert_eq!(
        back.sentences[0].entities[0].extra["note"],
        "first line\nsecond line"
    );
    let ann = std::fs::read_to_string(&brat).unwrap();
    assert!(ann.contains("AnnotatorNotes T1\tfirst line second line"), "{ann}");

    let mut spaced = s.clone();
    spaced.entities[1].label = "Place name".into();
    let corpus = Corpus::new(vec![spaced]);
    for (name, format) in [("x.ann", Format::Brat), ("x.conll", Format::Conll)] {
        let path = tmp.path().join(name);
        let err = corpus.save_as(&path, format).unwrap_err().to_string();
        assert!(err.contains("\"Place name\" has whitespace"), "{err}");
        assert!(!path.exists(), "nothing written");
    }
    corpus.save_as(&tmp.path().join("x.json"), Format::Json).unwrap();

    let mut doc = s.clone();
    doc.tokens[2] = "-DOCSTART-".into();
    let err = Corpus::new(vec![doc])
        .save_as(&tmp.path().join("d.conll"), Format::Conll)
        .unwrap_err();
    assert!(err.to_string().contains("-DOCSTART-"), "{err}");
    let mut id = s;
    id.extra.insert("id".into(), serde_json::Value::from("a\nb"));
    let err = Corpus::new(vec![id])
        .save_as(&tmp.path().join("i.conll"), Format::Conll)
        .unwrap_err();
    assert!(err.to_string().contains("line break"), "{err}");
}
