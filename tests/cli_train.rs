//! The research commands end to end on small slices of the shared data.

use crate::common;
use crate::common::read_json;

use std::path::Path;

use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::Corpus;
use serde_json::Value;

fn slice(src: &Path, n: usize, out: &Path) {
    let mut c = Corpus::load(src).unwrap();
    c.sentences.retain(|s| s.tokens.len() <= 30);
    c.sentences.truncate(n);
    c.save(out).unwrap();
}

fn ok(args: &[&str]) -> (String, String) {
    let out = common::run(args);
    let (o, e) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "relarc {args:?} failed:\n{e}");
    (o, e)
}

#[test]
fn train_predict_and_eval_from_the_command_line() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    slice(
        &data.join("conll04/train.json"),
        40,
        &tmp.path().join("train.json"),
    );
    slice(&data.join("conll04/dev.json"), 20, &tmp.path().join("dev.json"));
    let (_, err) = ok(&[
        "train",
        "--preset",
        "conll04-learned",
        "--train",
        &p("train.json"),
        "--dev",
        &p("dev.json"),
        "--out",
        &p("model"),
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--seed",
        "1",
    ]);
    assert!(
        err.contains("training on Cpu: 40 training sentences, 20 dev"),
        "{err}"
    );
    assert!(err.contains("epoch 2 loss"), "{err}");
    assert!(err.contains("best epoch"), "{err}");

    let report: Value = read_json(tmp.path().join("model/report.json"));
    assert_eq!(report["history"].as_array().unwrap().len(), 2);
    assert_eq!(report["data"][0]["sentences"], 40);
    assert_eq!(report["data"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report["device"], "Cpu");
    assert!(report["dev"]["ner"]["micro"]["f1"].is_number());
    assert!(report["seconds"].as_f64().unwrap() > 0.0);
    // θr, when chosen on dev (this barely trained model may find no candidate relation), is
    // the one in the model folder.
    let chosen = &report["threshold"];
    let config: Value = read_json(tmp.path().join("model/config.json"));
    let kept = if chosen.is_null() {
        &Value::from(0.9)
    } else {
        &chosen["threshold"]
    };
    assert_eq!(&config["model"]["re_threshold"], kept, "{chosen}");

    // Predict a corpus in another format, then score it.
    let (_, err) = ok(&[
        "predict",
        "--model",
        &p("model"),
        "--input",
        &p("dev.json"),
        "--output",
        &p("pred.jsonl"),
    ]);
    assert!(!err.contains("trained on"), "dev is held out: {err}");
    // Its own training sentences, predicted: the model says its scores there mean little.
    let (_, err) = ok(&[
        "predict",
        "--model",
        &p("model"),
        "--input",
        &p("train.json"),
        "--output",
        &p("seen.json"),
    ]);
    assert!(
        err.contains("note: the model was trained on 40 of these 40 sentences"),
        "{err}"
    );
    let pred = Corpus::load(&tmp.path().join("pred.jsonl")).unwrap();
    assert_eq!(pred.sentences.len(), 20);
    let (json, _) = ok(&[
        "eval",
        "--gold",
        &p("dev.json"),
        "--pred",
        &p("pred.jsonl"),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    for task in ["ner", "re", "re_boundaries"] {
        let f1 = v[task]["micro"]["f1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&f1));
    }
    // The scores of eval agree with the dev figures in the report (same model, same data,
    // the chosen θr).
    assert_eq!(v["ner"]["micro"]["f1"], report["dev"]["ner"]["micro"]["f1"]);
    assert_eq!(v["re"]["micro"]["f1"], report["dev"]["re"]["micro"]["f1"]);
    // The error breakdown accounts for the same relations the scores count.
    let errors = &v["errors"];
    let close = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-12;
    assert!(close(&errors["re_f1"], &v["re"]["micro"]["f1"]), "{errors}");
    assert!(errors["re_f1_relations_decided_right"].as_f64().unwrap() >= errors["re_f1"].as_f64().unwrap());

    let (table, _) = ok(&["eval", "--gold", &p("dev.json"), "--pred", &p("pred.jsonl")]);
    assert!(
        table.contains("NER (strict)")
            && table.contains("micro")
            && table.contains("Peop")
            && table.contains("Relation errors"),
        "{table}"
    );

    // Raw text.
    let (out, _) = ok(&[
        "predict",
        "--model",
        &p("model"),
        "--text",
        "In 1809, author Edgar Allan Poe was born in Boston.",
    ]);
    assert!(
        out.contains("tokens: In 1809 , author Edgar Allan Poe was born in Boston ."),
        "{out}"
    );

    // Continue training from the checkpoint (with its own configuration).
    ok(&[
        "train",
        "--train",
        &p("train.json"),
        "--dev",
        &p("dev.json"),
        "--out",
        &p("model2"),
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--init",
        &p("model"),
    ]);
    assert!(tmp.path().join("model2/model.safetensors").exists());

    // Models predicting together: a model with itself predicts as it does alone; with another
    // it annotates every sentence.
    let together = |models: &[&str], out: &str| {
        let mut args = vec!["predict".to_string()];
        for m in models {
            args.extend(["--model".to_string(), p(m)]);
        }
        args.extend(["--input".into(), p("dev.json"), "--output".into(), p(out)]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        Corpus::load(&tmp.path().join(out)).unwrap()
    };
    assert_eq!(
        together(&["model", "model"], "self.jsonl").sentences,
        pred.sentences
    );
    assert_eq!(together(&["model", "model2"], "pair.jsonl").sentences.len(), 20);
}

#[test]
fn cv_protocol_runs_and_reports_also_two_folds_at_once() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let folds = small_folds(&data, tmp.path());
    let run_cv = |out: &str, more: &[&str]| {
        let mut args = vec![
            "cv",
            "--preset",
            "ade-learned",
            "--folds",
            &folds,
            "--epochs",
            "1",
        ];
        args.extend(["--device", "cpu"]);
        args.extend(more);
        let out = p(out);
        args.extend(["--out", &out]);
        ok(&args).1
    };
    let err = run_cv("cv", &[]);
    assert!(err.contains("2-fold cross-validation over 2 runs"), "{err}");
    let cv: Value = read_json(tmp.path().join("cv/cv_report.json"));
    assert_eq!(cv["folds"].as_array().unwrap().len(), 2);
    let runs = cv["summary"]["re"]["macro"]["f1"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(tmp.path().join("cv/fold_1/report.json").exists());
    // Each fold held out 10% of its 30 training sentences for early stopping.
    let fold: Value = read_json(tmp.path().join("cv/fold_0/report.json"));
    assert!(fold["test"]["ner"]["micro"]["f1"].is_number());
    assert_eq!(
        fold["patience"], 5,
        "the default patience, which early stopping used"
    );
    // The report counts the overlapping entities removed from each part of the fold, the
    // dev part held out of training too (these slices hold three overlapping pairs).
    let mut found = 0;
    for k in 0..2 {
        let fold: Value = read_json(tmp.path().join(format!("cv/fold_{k}/report.json")));
        let removed = &fold["removed_overlapping_entities"];
        let in_file = |role: &str| {
            let path = Path::new(&folds).join(format!("split_{k}_{role}.json"));
            remove_overlaps_all(&mut Corpus::load(&path).unwrap().sentences).entities as u64
        };
        let training = removed["train"].as_u64().unwrap() + removed["dev"].as_u64().unwrap();
        let test = in_file("test");
        assert_eq!(training, in_file("train"), "fold {k}: {removed}");
        assert_eq!(removed["test"].as_u64(), Some(test), "fold {k}: {removed}");
        found += training + test;
    }
    assert_eq!(found, 3);
    // Two folds at once, each on one of two threads, give the same folds in order with the
    // same results as one fold at a time on one thread.
    let one_thread = |out: &str, jobs: &str, threads: &str| {
        run_cv(out, &["--jobs", jobs, "--threads", threads]);
        read_json(tmp.path().join(out).join("cv_report.json"))
    };
    same_runs(
        &one_thread("cv1", "1", "1")["folds"],
        &one_thread("cv2", "2", "2")["folds"],
        "fold",
    );
}

#[test]
fn cv_without_a_dev_part_trains_every_epoch_on_the_whole_training_fold() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = small_folds(&data, tmp.path());
    let out = tmp.path().join("cv");
    let run_cv = |patience: &str| {
        ok(&[
            "cv",
            "--preset",
            "ade-learned",
            "--folds",
            &folds,
            "--dev-fraction",
            "0",
            "--epochs",
            "3",
            "--patience",
            patience,
            "--threshold",
            "0.7",
            "--device",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ])
        .1
    };
    let err = run_cv("1");
    assert_eq!(err.matches("30 training sentences, 0 dev").count(), 2, "{err}");
    for k in 0..2 {
        let report = read_json(out.join(format!("fold_{k}/report.json")));
        // No dev score, so no early stop and no best epoch but the last; θr as given.
        assert_eq!(report["history"].as_array().unwrap().len(), 3, "fold {k}");
        assert_eq!(report["best_epoch"], 3, "fold {k}");
        assert!(report["patience"].is_null(), "patience played no part: {report}");
        let config = read_json(out.join(format!("fold_{k}/config.json")));
        assert_eq!(config["model"]["re_threshold"], 0.7, "fold {k}");
        assert!(report["test"]["re"]["micro"]["f1"].is_number());
    }
    // Patience plays no part without a dev part, so another --patience resumes the run.
    let err = run_cv("4");
    assert!(!err.contains("training on"), "both folds kept: {err}");
    assert!(err.contains("2 of 2 runs finished"), "{err}");
    let bad = common::run(&[
        "cv",
        "--folds",
        &folds,
        "--preset",
        "ade-learned",
        "--dev-fraction",
        "1",
    ]);
    assert!(
        common::stderr(&bad).contains("--dev-fraction must be 0 or more and below 1 (not 1)"),
        "{}",
        common::stderr(&bad)
    );
}

/// Two ADE folds of 30 training and 10 test sentences, in `dir/folds`.
fn small_folds(data: &Path, dir: &Path) -> String {
    std::fs::create_dir(dir.join("folds")).unwrap();
    for k in 0..2 {
        for (role, n) in [("train", 30), ("test", 10)] {
            let name = format!("split_{k}_{role}.json");
            slice(&data.join("ade").join(&name), n, &dir.join("folds").join(name));
        }
    }
    dir.join("folds").to_str().unwrap().to_string()
}

#[test]
fn cv_resumes_after_being_killed_between_folds() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = small_folds(&data, tmp.path());
    let out = tmp.path().join("cv");
    let args = |more: &[&str]| {
        let mut a = vec![
            "cv",
            "--preset",
            "ade-learned",
            "--folds",
            &folds,
            "--device",
            "cpu",
        ];
        a.extend(["--epochs", "3", "--out", out.to_str().unwrap()]);
        a.extend(more);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    // Killed (SIGKILL) as soon as fold 0 has finished, while fold 1 trains.
    let mut child = common::relarc()
        .args(args(&[]))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let fold0 = out.join("fold_0/report.json");
    while !fold0.exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = read_json(&fold0);
    let fold1_had_finished = out.join("fold_1/report.json").exists();
    // Fold 1 alone (as another machine sharing the folder would), then the whole command,
    // which keeps both folds.
    let only = args(&["--only-folds", "1"]);
    let (_, err) = ok(&only.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!err.contains("fold 0"), "{err}");
    if !fold1_had_finished {
        assert!(err.contains("fold 1: training on"), "{err}");
    }
    assert!(err.contains("cross-validation folds 1 over 1 runs"), "{err}");
    assert_eq!(read_json(out.join("cv_report.json"))["folds"][0]["fold"], 1);
    let again = args(&[]);
    let (_, err) = ok(&again.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("fold 0: best epoch") && err.contains("fold 1: best epoch"),
        "{err}"
    );
    assert!(!err.contains("training on"), "{err}");
    assert!(err.contains("2 of 2 runs finished"), "{err}");
    let missing = args(&["--only-folds", "1,2"]);
    let out2 = common::run(&missing.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        common::stderr(&out2).contains("--only-folds: there is no fold 2 in"),
        "{}",
        common::stderr(&out2)
    );
    let cv = read_json(out.join("cv_report.json"));
    assert_eq!(cv["folds"].as_array().unwrap().len(), 2);
    assert_eq!(cv["folds"][0]["test"], first["test"], "fold 0 kept as it was");
    // Another run into the same folder is refused, not mixed in.
    let other = args(&["--seed", "7"]);
    let out = common::run(&other.iter().map(String::as_str).collect::<Vec<_>>());
    let msg = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("holds a different run (its --seed differs)"),
        "{msg}"
    );
}

#[test]
fn cv_with_several_seeds_scores_each_fold_with_their_models_together() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = small_folds(&data, tmp.path());
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    // Small and quick to learn, so that the models predict entities from a few steps.
    let config = relarc::model::ModelConfig {
        rnn_size: 64,
        rnn_dropout: 0.1,
        re_dropout: 0.1,
        learning_rate: 5e-3,
        batch_size: 4,
        ..relarc::model::ModelConfig::ade()
    };
    std::fs::write(p("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    let config = p("config.json");
    let cv = |out: &str, more: &[&str]| {
        let mut a = vec!["cv", "--config", &config, "--folds", &folds];
        a.extend(["--device", "cpu", "--epochs", "5", "--out", out]);
        a.extend(more);
        common::run(&a)
    };
    let seeds = p("seeds");
    let run = cv(&seeds, &["--seed", "5", "--seeds", "2"]);
    let err = common::stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("seed 6, fold 1: best epoch"), "{err}");
    assert!(err.contains("4 of 4 runs finished"), "{err}");
    assert!(err.contains("fold 1, the 2 seeds' models together:"), "{err}");
    let report = read_json(tmp.path().join("seeds/cv_report.json"));
    let seed_of = |i: usize| report["seeds"][i]["seed"].as_u64();
    assert_eq!((seed_of(0), seed_of(1), seed_of(2)), (Some(5), Some(6), None));
    assert_eq!(report["folds"].as_array().unwrap().len(), 2);

    // Each seed's run is the ordinary cross-validation with that seed.
    let alone = cv(&p("alone"), &["--seed", "6"]);
    assert!(alone.status.success(), "{}", common::stderr(&alone));
    let member = read_json(tmp.path().join("seeds/seed_6/cv_report.json"));
    let single = read_json(tmp.path().join("alone/cv_report.json"));
    for k in 0..2 {
        assert_eq!(member["folds"][k]["test"], single["folds"][k]["test"], "fold {k}");
    }

    // A fold together is what `predict` gives with both seeds' models of that fold.
    let fold = |seed: &str| format!("{seeds}/seed_{seed}/fold_1");
    let test = format!("{folds}/split_1_test.json");
    ok(&["convert", "--remove-overlaps", &test, &p("test_1.json")]);
    let (m5, m6) = (fold("5"), fold("6"));
    ok(&["predict", "--model", &m5, "--model", &m6, "--device", "cpu"]
        .into_iter()
        .chain(["--input", &p("test_1.json"), "--output", &p("pred_1.json")])
        .collect::<Vec<_>>());
    let (json, _) = ok(&[
        "eval",
        "--gold",
        &p("test_1.json"),
        "--pred",
        &p("pred_1.json"),
        "--json",
    ]);
    let eval: Value = serde_json::from_str(&json).unwrap();
    let ner_f1 = eval["ner"]["micro"]["f1"].as_f64().unwrap();
    assert!(ner_f1 > 0.0, "the models predict entities: {eval}");
    for task in ["ner", "re"] {
        let f1 = |v: &Value| v[task]["micro"]["f1"].as_f64().unwrap();
        let together = f1(&report["folds"][1]["test"]);
        assert!(
            (f1(&eval) - together).abs() < 1e-9,
            "{task}: {eval} against {together}"
        );
    }

    combined_models_predict_as_given_together(tmp.path(), [&m5, &m6], &p("test_1.json"), &p("pred_1.json"));

    // Run again, it keeps every seed's folds; a single-seed run's folder is refused.
    let again = cv(&seeds, &["--seed", "5", "--seeds", "2"]);
    let err = common::stderr(&again);
    assert!(again.status.success() && !err.contains("training on"), "{err}");
    let kept = read_json(tmp.path().join("seeds/cv_report.json"));
    assert_eq!(kept["folds"], report["folds"]);
    let mixed = cv(&p("alone"), &["--seed", "6", "--seeds", "2"]);
    let msg = common::stderr(&mixed);
    assert_eq!(mixed.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("holds a different run (its protocol differs)"),
        "{msg}"
    );
    cv_runs_made_apart_score_together(tmp.path(), &folds, &report);
}

/// `combine` keeps two models as one folder that `predict` loads as one model and that
/// predicts what the two given together predicted (`together`, on `test`); it is refused
/// where one model is needed, and never written over a folder that holds something.
fn combined_models_predict_as_given_together(tmp: &Path, members: [&str; 2], test: &str, together: &str) {
    let p = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let both = p("both");
    let (_, err) = ok(&[
        "combine", members[0], members[1], "--out", &both, "--device", "cpu",
    ]);
    assert!(err.contains("2 models predicting together"), "{err}");
    assert!(
        tmp.join("both/fold_1-2/report.json").is_file(),
        "members copied whole, their reports too"
    );
    let pred = p("pred_both.json");
    ok(&[
        "predict", "--model", &both, "--device", "cpu", "--input", test, "--output", &pred,
    ]);
    assert_eq!(read_json(&pred), read_json(together));
    weighted_models_predict_as_combined(tmp, members, test);

    let again = common::run(&["combine", members[0], members[1], "--out", &both]);
    let msg = common::stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{msg}");
    assert!(msg.contains("is not empty"), "{msg}");
    let init = common::run(&["train", "--init", &both, "--train", test, "--out", &p("more")]);
    let msg = common::stderr(&init);
    assert_eq!(init.status.code(), Some(1), "{msg}");
    assert!(msg.contains("holds 2 models that predict together"), "{msg}");
}

/// `--weights` gives `predict` and `combine` the same weighted vote, kept in the combined
/// folder; a weight count that does not fit the models is refused before anything loads.
fn weighted_models_predict_as_combined(tmp: &Path, members: [&str; 2], test: &str) {
    let p = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let weighted = p("weighted");
    let (_, err) = ok(&[
        "combine",
        members[0],
        members[1],
        "--weights",
        "3,1",
        "--out",
        &weighted,
    ]);
    assert!(
        err.contains("2 models predicting together (weights 3 : 1)"),
        "{err}"
    );
    let (apart, kept) = (p("pred_weighted.json"), p("pred_weighted_kept.json"));
    let predict = |models: &[&str], out: &str| {
        let mut args = vec!["predict", "--device", "cpu", "--input", test, "--output", out];
        args.extend(models);
        ok(&args);
    };
    predict(
        &["--model", members[0], "--model", members[1], "--weights", "3,1"],
        &apart,
    );
    predict(&["--model", &weighted], &kept);
    assert_eq!(read_json(&kept), read_json(&apart));
    let (info, _) = ok(&["info", "--model", &weighted]);
    assert!(info.contains("weighing 3 : 1"), "{info}");

    let wrong = common::run(&[
        "predict",
        "--model",
        &weighted,
        "--model",
        members[0],
        "--weights",
        "1,2",
        "--input",
        test,
        "--output",
        &p("never.json"),
    ]);
    let msg = common::stderr(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("--weights: 2 weights for 3 models") && msg.contains("counts its members"),
        "{msg}"
    );
    assert!(!tmp.join("never.json").exists());
}

/// `cv-together` on the seeds' own folders gives what `cv --seeds` gave (`seeds_report`); a
/// fold one run has not finished is left out and said, and models are never scored on fold
/// files other than those they were trained with.
fn cv_runs_made_apart_score_together(tmp: &Path, folds: &str, seeds_report: &Value) {
    let p = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let (seed_5, seed_6) = (p("seeds/seed_5"), p("seeds/seed_6"));
    let together = |runs: &[&str], folds: &str, out: &str| {
        let mut a = vec!["cv-together"];
        a.extend(runs);
        a.extend(["--folds", folds, "--device", "cpu", "--out", out]);
        common::run(&a)
    };
    let run = together(&[&seed_5, &seed_6], folds, &p("pair"));
    let err = common::stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("fold 1, the 2 runs' models together"), "{err}");
    let pair = read_json(tmp.join("pair/cv_report.json"));
    assert_eq!(pair["folds"], seeds_report["folds"]);
    assert_eq!(pair["summary"], seeds_report["summary"]);
    weighted_runs_score_as_predict_weighs(tmp, folds, &together);

    // Fold 1 unfinished in one run: fold 0 alone is scored, and the gap is said.
    let partial = p("partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::copy(tmp.join("seeds/seed_6/plan.json"), tmp.join("partial/plan.json")).unwrap();
    std::fs::rename(tmp.join("seeds/seed_6/fold_0"), tmp.join("partial/fold_0")).unwrap();
    let run = together(&[&seed_5, &partial], folds, &p("partial-pair"));
    let err = common::stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains(&format!("fold 1: not scored, unfinished in {partial}")),
        "{err}"
    );
    let report = read_json(tmp.join("partial-pair/cv_report.json"));
    assert_eq!(report["folds"].as_array().unwrap().len(), 1);
    assert_eq!(report["folds"][0], seeds_report["folds"][0]);

    // Other fold files than the runs were trained with: refused, naming the run and the file.
    let other = tmp.join("other-folds");
    std::fs::create_dir(&other).unwrap();
    for name in ["split_0_train.json", "split_0_test.json", "split_1_train.json"] {
        std::fs::copy(Path::new(folds).join(name), other.join(name)).unwrap();
    }
    let mut test: Vec<Value> = read_json(Path::new(folds).join("split_1_test.json"))
        .as_array()
        .unwrap()
        .clone();
    test.pop();
    std::fs::write(other.join("split_1_test.json"), Value::from(test).to_string()).unwrap();
    let run = together(&[&seed_5], other.to_str().unwrap(), &p("refused"));
    let msg = common::stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains(&format!("{seed_5}: fold 1 was not trained with")) && msg.contains("split_1_test.json"),
        "{msg}"
    );
    assert!(!tmp.join("refused/cv_report.json").exists());
}

/// `cv-together --weights 3,1` scores fold 1 as `predict --weights 3,1` predicted it with the
/// same two models (`pred_weighted.json`, written by `weighted_models_predict_as_combined`);
/// a weight count that does not fit the runs is refused.
fn weighted_runs_score_as_predict_weighs(
    tmp: &Path,
    folds: &str,
    together: &dyn Fn(&[&str], &str, &str) -> std::process::Output,
) {
    let p = |n: &str| tmp.join(n).to_str().unwrap().to_string();
    let (seed_5, seed_6) = (p("seeds/seed_5"), p("seeds/seed_6"));
    let run = together(
        &[&seed_5, &seed_6, "--weights", "3,1"],
        folds,
        &p("weighted-pair"),
    );
    assert!(run.status.success(), "{}", common::stderr(&run));
    let report = read_json(tmp.join("weighted-pair/cv_report.json"));
    assert_eq!(report["weights"], serde_json::json!([3.0, 1.0]));
    let (json, _) = ok(&[
        "eval",
        "--gold",
        &p("test_1.json"),
        "--pred",
        &p("pred_weighted.json"),
        "--json",
    ]);
    let eval: Value = serde_json::from_str(&json).unwrap();
    for task in ["ner", "re"] {
        let f1 = |v: &Value| v[task]["micro"]["f1"].as_f64().unwrap();
        let fold_1 = f1(&report["folds"][1]["test"]);
        assert!(
            (f1(&eval) - fold_1).abs() < 1e-9,
            "{task}: {eval} against {fold_1}"
        );
    }
    let wrong = together(&[&seed_5, &seed_6, "--weights", "1,2,3"], folds, &p("never"));
    let msg = common::stderr(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{msg}");
    assert!(msg.contains("--weights: 3 weights for 2 models"), "{msg}");
}

#[test]
fn folds_run_at_once_compute_their_encoder_features_once() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = small_folds(&data, tmp.path());
    let bert = tmp.path().join("bert");
    common::tiny_bert(&bert, 5);
    let out = common::relarc()
        .args([
            "cv",
            "--preset",
            "ade-learned",
            "--encoder",
            bert.to_str().unwrap(),
        ])
        .args([
            "--folds", &folds, "--epochs", "1", "--device", "cpu", "--jobs", "2",
        ])
        .arg("--out")
        .arg(tmp.path().join("cv"))
        .env("RELARC_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    // The sentences of both folds (those the two share counted once), before either starts.
    let ready = err
        .find("sentences ready (computed once for all jobs)")
        .expect(&err);
    assert!(ready < err.find("fold 0: training on").unwrap(), "{err}");
    assert!(
        !err.contains("computed encoder features for"),
        "no job computed any: {err}"
    );
}

/// A fine-tuned encoder draws dropout masks of its own (hidden states and attention): two
/// folds at once still give what one fold at a time gives.
#[test]
fn fine_tuned_folds_at_once_give_the_folds_run_one_at_a_time() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let folds = small_folds(&data, tmp.path());
    let bert = tmp.path().join("bert");
    common::tiny_bert(&bert, 6);
    let run_cv = |out: &str, jobs: &str| {
        let out = tmp.path().join(out);
        ok(&[
            "cv",
            "--preset",
            "ade-learned",
            "--encoder",
            bert.to_str().unwrap(),
            "--fine-tune",
            "--folds",
            &folds,
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--jobs",
            jobs,
            "--threads",
            jobs,
            "--out",
            out.to_str().unwrap(),
        ]);
        read_json(out.join("cv_report.json"))
    };
    same_runs(&run_cv("one", "1")["folds"], &run_cv("two", "2")["folds"], "fold");
}

/// A model fine-tuned with bfloat16 products says so, and predicts with them by default where
/// the CPU multiplies bfloat16 (so it scores what its training report says), in float32
/// elsewhere; `RELARC_ENCODER_PRECISION` still decides when set.
#[test]
fn a_model_fine_tuned_in_mixed_precision_predicts_in_it_by_default() {
    const PRECISION: &str = "RELARC_ENCODER_PRECISION";
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    slice(
        &data.join("ade/split_0_train.json"),
        30,
        &tmp.path().join("t.json"),
    );
    common::tiny_bert(&tmp.path().join("bert"), 7);
    // Quick to learn, so that it finds entities whose scores show the products' precision.
    let config = relarc::model::ModelConfig {
        rnn_size: 64,
        learning_rate: 5e-3,
        batch_size: 4,
        ..relarc::model::ModelConfig::ade()
    };
    std::fs::write(p("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    let train = common::relarc()
        .env(PRECISION, "bf16")
        .args([
            "train",
            "--config",
            &p("config.json"),
            "--encoder",
            &p("bert"),
            "--fine-tune",
        ])
        .args([
            "--train",
            &p("t.json"),
            "--epochs",
            "5",
            "--device",
            "cpu",
            "--out",
            &p("m"),
        ])
        .output()
        .unwrap();
    assert!(train.status.success(), "{}", common::stderr(&train));
    let (info, _) = ok(&["info", "--model", &p("m")]);
    assert!(info.contains("trained with bfloat16 products"), "{info}");
    let predict = |setting: Option<&str>, out: &str| {
        let mut cmd = common::relarc();
        cmd.env_remove(PRECISION);
        if let Some(value) = setting {
            cmd.env(PRECISION, value);
        }
        let args = [
            "predict",
            "--model",
            &p("m"),
            "--input",
            &p("t.json"),
            "--output",
            &p(out),
        ];
        let run = cmd.args(args).output().unwrap();
        assert!(run.status.success(), "{}", common::stderr(&run));
        std::fs::read_to_string(p(out)).unwrap()
    };
    let (default, float32) = (predict(None, "auto.jsonl"), predict(Some("f32"), "f32.jsonl"));
    if relarc::pretrained::encoder::precision::cpu_has_bf16() {
        assert_eq!(default, predict(Some("bf16"), "bf16.jsonl"));
        assert!(default.contains("\"score\""), "it finds entities: {default}");
        assert_ne!(default, float32, "the scores show the products' precision");
    } else {
        assert_eq!(default, float32);
    }
}

#[test]
fn trials_protocol_runs_and_reports_also_two_at_once() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    slice(&data.join("conll04/train.json"), 20, &tmp.path().join("t.json"));
    slice(&data.join("conll04/dev.json"), 10, &tmp.path().join("d.json"));
    let (train, dev) = (p("t.json"), p("d.json"));
    let trials = |out: &str, jobs: &str, threads: &str| {
        let (_, err) = ok(&[
            "trials",
            "--preset",
            "conll04-learned",
            "--train",
            &train,
            "--dev",
            &dev,
            "--test",
            &dev,
            "--n",
            "2",
            "--jobs",
            jobs,
            "--threads",
            threads,
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--out",
            &p(out),
        ]);
        (err, read_json(tmp.path().join(out).join("trials_report.json")))
    };
    let (err, tr) = trials("trials", "1", "1");
    assert!(err.contains("chose 1 epochs on dev"), "{err}");
    assert!(err.contains("NER micro precision"), "{err}");
    assert_eq!(tr["trials"].as_array().unwrap().len(), 2);
    assert!(tr["summary"]["ner"]["micro"]["f1"]["std"].is_number());
    // Run again into the same folder: the dev run and both trials are kept, not retrained.
    let (err, again) = trials("trials", "1", "1");
    assert!(!err.contains("training on"), "{err}");
    assert_eq!(err.matches("(finished before: kept)").count(), 2, "{err}");
    assert_eq!(again["trials"], tr["trials"]);
    // Two trials at once, each on one of two threads: the results of one at a time.
    let (err, tr2) = trials("trials2", "2", "2");
    assert!(err.contains("trial 1: best epoch"), "{err}");
    same_runs(&tr["trials"], &tr2["trials"], "trial");
}

/// The runs of a protocol run one at a time and `--jobs 2` at once: same order, same scores.
fn same_runs(one: &Value, two: &Value, key: &str) {
    let (one, two) = (one.as_array().unwrap(), two.as_array().unwrap());
    assert_eq!(one.len(), two.len());
    for (a, b) in one.iter().zip(two) {
        assert_eq!(a[key], b[key], "in order");
        for task in ["ner", "re"] {
            let f1 = |r: &Value| r["test"][task]["micro"]["f1"].as_f64().unwrap();
            assert!(
                (f1(a) - f1(b)).abs() < 1e-9,
                "{key} {}: {task} {} vs {}",
                a[key],
                f1(a),
                f1(b)
            );
        }
    }
}

#[test]
fn bad_training_arguments_are_explained() {
    let out = common::run(&[
        "train", "--preset", "bert", "--train", "a.json", "--dev", "b.json", "--out", "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("unknown preset \"bert\""));
    let out = common::run(&["predict", "--model", "/nonexistent", "--text", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("/nonexistent/config.json"),
        "{}",
        common::stderr(&out)
    );
    // Fine-tuning needs an encoder, and only as many layers as it has.
    let out = common::run(&[
        "train",
        "--preset",
        "ade-learned",
        "--fine-tune",
        "--train",
        "a.json",
        "--out",
        "x",
    ]);
    assert!(
        common::stderr(&out).contains("--fine-tune needs an encoder"),
        "{}",
        common::stderr(&out)
    );
    let out = common::run(&[
        "train",
        "--preset",
        "ade-minilm",
        "--fine-tune-layers",
        "9",
        "--train",
        "a.json",
        "--out",
        "x",
    ]);
    assert!(
        common::stderr(&out).contains("--fine-tune-layers 9: the encoder has 6 layers"),
        "{}",
        common::stderr(&out)
    );
    if !tch::Cuda::is_available() {
        let out = common::run(&[
            "train", "--preset", "ade", "--train", "a.json", "--dev", "b.json", "--out", "x", "--device",
            "cuda",
        ]);
        assert!(common::stderr(&out).contains("CUDA is not available"));
    }
}

#[test]
fn train_on_several_files_without_dev_runs_every_epoch() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    slice(&data.join("conll04/train.json"), 12, &tmp.path().join("a.json"));
    slice(&data.join("conll04/dev.json"), 8, &tmp.path().join("b.json"));
    let (_, err) = ok(&[
        "train",
        "--preset",
        "ade-learned",
        "--train",
        &p("a.json"),
        "--train",
        &p("b.json"),
        "--out",
        &p("m"),
        "--epochs",
        "2",
        "--device",
        "cpu",
    ]);
    assert!(err.contains("20 training sentences, 0 dev"), "{err}");
    let report: Value = read_json(tmp.path().join("m/report.json"));
    assert_eq!(report["history"].as_array().unwrap().len(), 2);
    assert_eq!(report["best_epoch"], 2, "without dev the last epoch is kept");
    assert_eq!(report["data"].as_array().unwrap().len(), 2);
    assert!(tmp.path().join("m/model.safetensors").exists());
}

#[test]
fn train_with_a_users_own_word_vectors_and_encoder() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    slice(
        &data.join("conll04/train.json"),
        12,
        &tmp.path().join("train.json"),
    );
    common::tiny_bert(&tmp.path().join("my-bert"), 5);
    // A word2vec-style file with a header line, as fastText writes them.
    std::fs::write(
        tmp.path().join("vectors.vec"),
        "3 4\nthe 1 2 3 4\nin 0 1 0 1\n, 1 1 1 1\n",
    )
    .unwrap();
    let out = common::relarc()
        .args([
            "train",
            "--preset",
            "conll04-learned",
            "--word-vectors",
            &p("vectors.vec"),
            "--encoder",
            &p("my-bert"),
            "--pooling",
            "mean",
            "--train",
            &p("train.json"),
            "--out",
            &p("model"),
            "--epochs",
            "1",
            "--device",
            "cpu",
        ])
        .env("RELARC_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let cfg: Value = read_json(tmp.path().join("model/config.json"));
    let inputs = &cfg["model"]["inputs"];
    assert_eq!(inputs["word"]["dim"], 4);
    assert_eq!(inputs["word"]["trainable"], false);
    assert_eq!(inputs["contextual"]["layers"], 3, "embeddings + 2 layers");
    assert_eq!(inputs["contextual"]["dim"], 16);
    assert_eq!(inputs["contextual"]["pooling"], "mean");
    let out = common::run(&[
        "predict",
        "--model",
        &p("model"),
        "--device",
        "cpu",
        "--text",
        "Poe lived in Boston .",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let out = common::run(&[
        "train",
        "--preset",
        "ade",
        "--word-vectors",
        &p("nothing.txt"),
        "--train",
        &p("train.json"),
        "--out",
        &p("m2"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("nothing.txt"),
        "{}",
        common::stderr(&out)
    );
}

/// `conll04-ft` averages the weights over an epoch (measured to help there); `--average-epochs
/// 0` turns off what a preset or a `--config` file turns on, and the model card says which (of
/// a combined model, which member).
#[test]
fn weight_averaging_from_a_preset_or_file_can_be_turned_off() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    const AVERAGED: &str = "a moving average over about 1 epoch of training steps";
    let preset = |name: &str| {
        let out = common::relarc()
            .args(["info", "--preset", name])
            .env("RELARC_RESOURCES", tmp.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stdout(&out)
    };
    assert!(preset("conll04-ft").contains(AVERAGED));
    assert!(!preset("conll04").contains("moving average"));

    let config = relarc::model::ModelConfig {
        rnn_size: 16,
        average_epochs: Some(1.0),
        ..relarc::model::ModelConfig::ade()
    };
    let card = |out: &str, extra: &[&str]| one_epoch_card(&data, tmp.path(), &config, out, extra);
    assert!(card("kept", &[]).contains(AVERAGED));
    let off = card("off", &["--average-epochs", "0"]);
    assert!(off.contains("θr") && !off.contains("moving average"), "{off}");
    let saved: Value = read_json(tmp.path().join("off/config.json"));
    assert!(saved["model"].get("average_epochs").is_none(), "{saved}");
    // Combined, the card says which member was averaged.
    ok(&["combine", &p("kept"), &p("off"), "--out", &p("both")]);
    let both = ok(&["info", "--model", &p("both")]).0;
    assert!(both.contains(&format!("member 1 weights: {AVERAGED}")), "{both}");
    assert!(!both.contains("member 2 weights"), "{both}");
}

/// `--re-context N` gives the relation scorer the tokens between the two entities; the model
/// card says so, and `--re-context 0` turns off what a `--config` file turns on.
#[test]
fn the_relation_context_is_a_flag_the_card_names() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = relarc::model::ModelConfig {
        rnn_size: 16,
        re_context: Some(12),
        ..relarc::model::ModelConfig::ade()
    };
    let card = |out: &str, extra: &[&str]| one_epoch_card(&data, tmp.path(), &config, out, extra);
    const CONTEXT: &str = "relation context: the tokens between the two entities, max-pooled to";
    assert!(card("file", &[]).contains(&format!("{CONTEXT} 12")));
    assert!(card("flag", &["--re-context", "5"]).contains(&format!("{CONTEXT} 5")));
    let off = card("off", &["--re-context", "0"]);
    assert!(off.contains("θr") && !off.contains("relation context"), "{off}");
    let saved: Value = read_json(tmp.path().join("off/config.json"));
    assert!(saved["model"].get("re_context").is_none(), "{saved}");
}

/// Trains `config` (with `extra` flags) for one epoch on 20 ADE sentences into `dir/out`, and
/// returns `info --model`'s card of it.
fn one_epoch_card(
    data: &Path,
    dir: &Path,
    config: &relarc::model::ModelConfig,
    out: &str,
    extra: &[&str],
) -> String {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    slice(&data.join("ade/split_0_train.json"), 20, &dir.join("t.json"));
    std::fs::write(p("config.json"), serde_json::to_string(config).unwrap()).unwrap();
    let (c, t, o) = (p("config.json"), p("t.json"), p(out));
    let mut args = vec!["train", "--config", &c, "--train", &t, "--out", &o];
    args.extend(["--epochs", "1", "--device", "cpu"]);
    args.extend(extra);
    ok(&args);
    ok(&["info", "--model", &o]).0
}
