//! The models that ship in models/ work out of the box.

use crate::common;

/// What `relarc predict --text` prints with a model shipped in `models/`, or None when the
/// pre-trained inputs it reads (MPNet, GloVe: fetched by the setup step) are missing.
fn shipped_prediction(name: &str, text: &str) -> Option<String> {
    let dir = shipped(name);
    assert!(
        dir.join("config.json").exists() || relarc::model::combined::is_combined(&dir),
        "models/{name} is part of the repository"
    );
    if !pretrained_inputs_present() {
        return None;
    }
    let dir = dir.to_str().unwrap();
    let out = common::run(&["predict", "--model", dir, "--device", "cpu", "--text", text]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    Some(common::stdout(&out))
}

/// MPNet and GloVe, which the shipped models read and the setup step fetches.
fn pretrained_inputs_present() -> bool {
    common::resource("all-mpnet-base-v2").is_some() && common::resource("glove-6b-50d").is_some()
}

fn shipped(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

#[test]
fn the_shipped_model_finds_poe_boston_and_live_in() {
    let Some(text) = shipped_prediction("conll04", "In 1809, author Edgar Allan Poe was born in Boston.")
    else {
        return;
    };
    assert!(text.contains("Peop         \"Edgar Allan Poe\""), "{text}");
    assert!(text.contains("Loc          \"Boston\""), "{text}");
    assert!(
        text.contains("Live_In (\"Edgar Allan Poe\" → \"Boston\""),
        "{text}"
    );
}

#[test]
fn the_relation_threshold_chosen_on_dev_is_the_best_there_and_eval_agrees() {
    use relarc::corpus::Corpus;
    use relarc::model::Model;
    use relarc::train::run::evaluate_model;
    use relarc::train::threshold::choose_on_dev;
    let dir = shipped("conll04");
    let Some(data) = common::data_dir() else { return };
    if !pretrained_inputs_present() {
        return;
    }
    let mut model = Model::load(&dir, tch::Device::Cpu).unwrap();
    let mut dev = Corpus::load(&data.join("conll04/dev.json")).unwrap().sentences;
    dev.truncate(60);
    let before = evaluate_model(&model, &dev).unwrap().re.micro.f1;
    let (choice, report) = choose_on_dev(&mut model, &dev)
        .unwrap()
        .expect("the shipped model finds relations");
    assert_eq!(choice.previous, 0.9);
    assert!(
        (choice.previous_dev_re_f1 - before).abs() < 1e-9,
        "{choice:?} vs eval {before}"
    );
    assert!(choice.dev_re_f1 >= before, "{choice:?}");
    assert_eq!(model.config.re_threshold, choice.threshold);
    // What the choice computed is what evaluation measures with the new threshold.
    let after = evaluate_model(&model, &dev).unwrap();
    assert_eq!(after, report, "the scores the choice returned are the model's");
    let after = after.re.micro.f1;
    assert!(
        (after - choice.dev_re_f1).abs() < 1e-9,
        "{choice:?} vs eval {after}"
    );
}

#[test]
fn predict_chooses_the_threshold_of_models_together_on_dev_and_uses_it() {
    use relarc::corpus::Corpus;
    let Some(data) = common::data_dir() else { return };
    if !pretrained_inputs_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let mut dev = Corpus::load(&data.join("conll04/dev.json")).unwrap();
    dev.sentences.truncate(60);
    dev.save(&tmp.path().join("dev.json")).unwrap();
    let model = shipped("conll04");
    let m = model.to_str().unwrap();
    let (dev, choose, pred) = (p("dev.json"), p("choose.json"), p("pred.json"));
    // The shipped model was trained on these sentences and may get every relation right at its
    // θr, where no other θr does better. So θr is chosen on a copy of them from which the
    // relations it is least sure of above 0.9 are taken out: there a higher θr is better.
    let least_sure = gold_without_least_sure_relations(m, &dev, &choose, &p("every.json"));
    let out = common::run(&[
        "predict",
        "--model",
        m,
        "--model",
        m,
        "--choose-threshold",
        &choose,
        "--input",
        &dev,
        "--output",
        &pred,
        "--device",
        "cpu",
    ]);
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    // The shipped model was trained on train + dev, and says so of both uses of dev here.
    assert!(
        err.contains(&format!(
            "note: the model was trained on 60 of the 60 sentences of {choose}"
        )) && err.contains("note: the model was trained on 60 of these 60 sentences"),
        "{err}"
    );
    // "θr chosen on D: T (RE micro F1 there F; G with θr 0.900)"
    let line = err.lines().find(|l| l.starts_with("θr chosen on")).expect(&err);
    let number_after = |key: &str| -> f64 {
        let rest = &line[line.find(key).expect(line) + key.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        rest[..end].parse().unwrap()
    };
    let (chosen, chosen_f1, own_f1) = (number_after(": "), number_after("F1 there "), number_after("; "));
    assert!(
        line.ends_with("with θr 0.900)"),
        "the mean of the two models' θr: {line}"
    );
    assert!(
        chosen_f1 > own_f1 && chosen >= least_sure - 5e-4,
        "θr must rise past the relations taken out ({least_sure}): {line}"
    );
    let eval = common::run(&["eval", "--gold", &choose, "--pred", &pred, "--json"]);
    let eval: serde_json::Value = serde_json::from_str(&common::stdout(&eval)).unwrap();
    let re = 100.0 * eval["re"]["micro"]["f1"].as_f64().unwrap();
    assert!(
        (re - chosen_f1).abs() < 0.006,
        "predicted with the chosen θr: RE {re}, {line}"
    );
}

/// Writes `choose`: the gold of `dev` less the right relations the model is least sure of
/// above θr 0.9, and returns their probability.
fn gold_without_least_sure_relations(model: &str, dev: &str, choose: &str, every: &str) -> f64 {
    let out = common::run(&[
        "predict",
        "--model",
        model,
        "--threshold",
        "0.000001",
        "--input",
        dev,
        "--output",
        every,
        "--device",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
    };
    let (mut gold, predicted) = (read(dev), read(every));
    let key = |s: &serde_json::Value, r: &serde_json::Value| {
        let arg = |i: &serde_json::Value| {
            let e = &s["entities"][i.as_u64().unwrap() as usize];
            (e["type"].to_string(), e["start"].as_u64(), e["end"].as_u64())
        };
        (r["type"].to_string(), arg(&r["head"]), arg(&r["tail"]))
    };
    let sure = |r: &serde_json::Value| r["score"].as_f64().unwrap();
    let rights: Vec<(usize, f64, _)> = (0..60)
        .flat_map(|i| {
            let (g, q) = (&gold[i], &predicted[i]);
            let wanted: Vec<_> = g["relations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| key(g, r))
                .collect();
            q["relations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(move |r| sure(r) > 0.9 && wanted.contains(&key(q, r)))
                .map(move |r| (i, sure(r), key(q, r)))
        })
        .collect();
    let least = rights.iter().map(|r| r.1).fold(1.0, f64::min);
    assert!(
        least < 1.0 && rights.iter().any(|r| r.1 > least),
        "the model is equally sure of every right relation above 0.9: {rights:?}"
    );
    for (i, _, k) in rights.iter().filter(|r| r.1 == least) {
        let s = gold[*i].clone();
        let relations = gold[*i]["relations"].as_array_mut().unwrap();
        relations.retain(|r| key(&s, r) != *k);
    }
    std::fs::write(choose, serde_json::to_string(&gold).unwrap()).unwrap();
    least
}

#[test]
fn the_shipped_ade_model_finds_a_drug_its_adverse_effect_and_their_relation() {
    let Some(text) = shipped_prediction("ade", ADE_SENTENCE) else {
        return;
    };
    for expected in ADE_EXPECTED {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

/// A sentence of the kind ADE annotators see (not in the corpus), and what the model must find.
const ADE_SENTENCE: &str = "A 45-year-old woman developed lactic acidosis while on metformin therapy.";
const ADE_EXPECTED: [&str; 3] = [
    "Adverse-Effect \"lactic acidosis\"",
    "Drug         \"metformin\"",
    "Adverse-Effect (\"lactic acidosis\" → \"metformin\"",
];

/// `info --model` describes a trained folder as the app's card does: the shipped ADE model's
/// two members and the weights of each, the CoNLL04 model's frozen encoder.
#[test]
fn info_describes_the_shipped_models_and_the_members_of_the_combined_one() {
    if !pretrained_inputs_present() {
        return;
    }
    let info = |name: &str| {
        let out = common::run(&["info", "--model", shipped(name).to_str().unwrap()]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stdout(&out)
    };
    let ade = info("ade");
    for part in [
        "members: 2 models predicting together",
        "member 1: first: ",
        "(First sub-word, frozen",
        "member 2: mean: ",
        "(Mean sub-word, frozen",
        "member 2 trained: ",
        "θr: 0.900 on the members' mean probability",
        "training sentences: 4271 recorded",
        "trainable parameters of member 2 by part:",
    ] {
        assert!(ade.contains(part), "{part:?} in\n{ade}");
    }
    let number = |line: &str| line.split_whitespace().find_map(|w| w.parse::<i64>().ok());
    let all = ade
        .lines()
        .find(|l| l.starts_with("parameters: "))
        .and_then(number);
    let totals: Vec<i64> = ade
        .lines()
        .filter(|l| l.trim_start().starts_with("total "))
        .filter_map(number)
        .collect();
    assert_eq!(totals.len(), 2, "{ade}");
    assert_eq!(all, Some(totals.iter().sum()), "{ade}");
    let conll04 = info("conll04");
    assert!(conll04.contains("encoder: frozen"), "{conll04}");
    assert!(conll04.contains("\ntrainable parameters by part:"), "{conll04}");
}

/// Each shipped model keeps the sentences it was trained on (the files its report names, as
/// they are in the shared data), so the app tells scores on them from held-out ones.
#[test]
fn the_shipped_models_record_exactly_the_sentences_of_their_training_files() {
    use relarc::model::trained_on::TrainedOn;
    let Some(data) = common::data_dir() else { return };
    for member in ["conll04", "ade/first", "ade/mean"] {
        let dir = shipped(member);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        let mut sentences = Vec::new();
        for file in report["data"].as_array().unwrap() {
            assert_eq!(file["role"], "train", "{member}: no dev part");
            // Recorded as ../shared/data/<corpus>/<file>.
            let recorded = std::path::Path::new(file["path"].as_str().unwrap());
            let mut parts = recorded.iter().rev().take(2).collect::<Vec<_>>();
            parts.reverse();
            let path = data.join(parts.iter().collect::<std::path::PathBuf>());
            assert_eq!(
                relarc::train::report::sha256_file(&path),
                file["sha256"].as_str().unwrap(),
                "{} is the file {member} was trained on",
                path.display()
            );
            sentences.extend(relarc::corpus::Corpus::load(&path).unwrap().sentences);
        }
        let recorded = TrainedOn::read(&dir).unwrap().expect("a record");
        assert_eq!(recorded, TrainedOn::of_sentences(&sentences), "{member}");
        assert!(sentences.iter().all(|s| recorded.contains(s)));
    }
}
