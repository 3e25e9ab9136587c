//! What a model is, in words: the app's model panel and `relarc info` say it from here.

use std::path::Path;

use super::{Ensemble, Model, ModelConfig};

/// The inputs a configuration puts together, one phrase each.
pub fn inputs_summary(cfg: &ModelConfig) -> Vec<String> {
    let mut inputs = Vec::new();
    if let Some(c) = &cfg.inputs.contextual {
        let how = if c.fine_tune.is_some() {
            "fine-tuned"
        } else {
            "frozen"
        };
        inputs.push(format!(
            "{} layers × {} of {} ({}, {how}; learned softmax layer mix + scale)",
            c.layers, c.dim, c.encoder, c.pooling
        ));
    }
    if let Some(w) = &cfg.inputs.word {
        inputs.push(match (&w.source, w.trainable) {
            (Some(src), false) => format!("word {}-d {src} (frozen)", w.dim),
            (_, false) => format!("word {}-d (frozen pre-trained)", w.dim),
            (_, true) => format!("word {}-d (learned)", w.dim),
        });
    }
    if cfg.inputs.char {
        inputs.push(format!("char BiRNN {}+{}", cfg.char_rnn_size, cfg.char_rnn_size));
    }
    if cfg.inputs.casing {
        inputs.push("casing one-hot 8".into());
    }
    inputs
}

/// What `average_epochs` does, in a phrase.
pub fn averaged_weights(epochs: f64) -> String {
    let unit = if epochs == 1.0 { "epoch" } else { "epochs" };
    format!("a moving average over about {epochs} {unit} of training steps (scored on dev, kept and saved)")
}

/// The BiRNN stack in a phrase.
fn layers_summary(c: &ModelConfig) -> String {
    format!(
        "{:?} {}: shared {}, NER-specific {}, RE-specific {}",
        c.rnn, c.rnn_size, c.shared_layers, c.ner_layers, c.re_layers
    )
}

/// (what, value) lines about `m`, loaded from `dir` (its `report.json` says when and on what
/// it was trained, and its dev scores) or trained in this session.
pub fn card(m: &Model, dir: Option<&Path>) -> Vec<(String, String)> {
    card_with_threshold(m, dir, m.config.re_threshold)
}

/// `card` with the θr predictions are made with (an ensemble's, which may differ from its
/// only member's own).
fn card_with_threshold(m: &Model, dir: Option<&Path>, re_threshold: f64) -> Vec<(String, String)> {
    let c = &m.config;
    let mut rows = vec![
        (
            "model".to_string(),
            dir.map_or("trained in this session".into(), |d| d.display().to_string()),
        ),
        ("layers".into(), layers_summary(c)),
        ("inputs".into(), inputs_summary(c).join(", ")),
        ("entity types".into(), m.vocab.entity_types.join(", ")),
        ("relation types".into(), m.vocab.relation_types.join(", ")),
        (
            "parameters".into(),
            format!("{} trainable", m.num_trainable_parameters()),
        ),
    ];
    rows.extend(encoder_summary(m).map(|e| ("encoder".to_string(), e)));
    rows.extend([
        (
            "training sentences".into(),
            training_sentences(m.trained_on.as_ref()),
        ),
        ("θr".into(), format!("{re_threshold:.3}")),
        ("device".into(), format!("{:?}", m.device())),
    ]);
    rows.extend(c.average_epochs.map(|e| ("weights".into(), averaged_weights(e))));
    rows.extend(c.re_context.map(|size| {
        let what = format!("the tokens between the two entities, max-pooled to {size}");
        ("relation context".into(), what)
    }));
    if let Some(report) = dir.and_then(read_report) {
        rows.extend(report);
    }
    rows
}

/// (what, value) lines about models predicting together, loaded from `dir`: a single model's
/// card when there is one member; otherwise the whole's, then each member's inputs and training.
pub fn ensemble_card(e: &Ensemble, dir: Option<&Path>) -> Vec<(String, String)> {
    let [only] = e.members.as_slice() else {
        return combined_card(e, dir);
    };
    card_with_threshold(only, dir, e.re_threshold)
}

/// Member weights as a ratio: "2 : 1 : 1".
pub fn weights_ratio(weights: &[f64]) -> String {
    let each: Vec<String> = weights.iter().map(|w| w.to_string()).collect();
    each.join(" : ")
}

fn members_summary(e: &Ensemble) -> String {
    let n = e.members.len();
    match e.is_weighted() {
        true => format!(
            "{n} models predicting together, weighing {} (their weighted mean CRF scores and relation probabilities)",
            weights_ratio(e.weights())
        ),
        false => format!("{n} models predicting together (their mean CRF scores and relation probabilities)"),
    }
}

fn combined_card(e: &Ensemble, dir: Option<&Path>) -> Vec<(String, String)> {
    let first = &e.members[0];
    let mean = if e.is_weighted() { "weighted mean" } else { "mean" };
    let member_dirs = dir
        .and_then(|d| super::combined::member_dirs(d).ok())
        .unwrap_or_default();
    let mut rows = vec![
        (
            "model".to_string(),
            dir.map_or("combined in this session".into(), |d| d.display().to_string()),
        ),
        ("members".into(), members_summary(e)),
        ("entity types".into(), first.vocab.entity_types.join(", ")),
        ("relation types".into(), first.vocab.relation_types.join(", ")),
        (
            "parameters".into(),
            format!(
                "{} trainable in all",
                e.members.iter().map(Model::num_trainable_parameters).sum::<i64>()
            ),
        ),
        (
            "training sentences".into(),
            training_sentences(e.trained_on().as_ref()),
        ),
        (
            "θr".into(),
            format!("{:.3} on the members' {mean} probability", e.re_threshold),
        ),
        ("device".into(), format!("{:?}", first.device())),
    ];
    for (i, m) in e.members.iter().enumerate() {
        let what = format!("member {}", i + 1);
        let name = member_dirs
            .get(i)
            .and_then(|d| d.file_name())
            .map_or(String::new(), |n| format!("{}: ", n.to_string_lossy()));
        rows.push((
            what.clone(),
            format!(
                "{name}{}; {}",
                layers_summary(&m.config),
                inputs_summary(&m.config).join(", ")
            ),
        ));
        rows.extend(encoder_summary(m).map(|e| (format!("{what} encoder"), e)));
        let averaged = m.config.average_epochs.map(averaged_weights);
        rows.extend(averaged.map(|a| (format!("{what} weights"), a)));
        let report = member_dirs
            .get(i)
            .and_then(|d| read_report(d))
            .unwrap_or_default();
        rows.extend(report.into_iter().map(|(k, v)| (format!("{what} {k}"), v)));
    }
    rows
}

/// What the model knows of the sentences it was trained on.
fn training_sentences(t: Option<&super::trained_on::TrainedOn>) -> String {
    match t {
        Some(t) => format!(
            "{} recorded (Metrics scores them apart from unseen ones)",
            t.len()
        ),
        None => "not recorded (saved by an older relarc, or continued from such a model)".into(),
    }
}

/// Whether the encoder is frozen or fine-tuned, and how many of the model's weights are
/// the encoder's (None without an encoder).
pub fn encoder_summary(m: &Model) -> Option<String> {
    let c = m.config.inputs.contextual.as_ref()?;
    let Some(t) = &c.fine_tune else {
        return Some("frozen: its features are inputs, computed once and cached".into());
    };
    let which = t.top_layers.map_or("every layer and the embeddings".into(), |k| {
        format!("its top {k} layers")
    });
    let (mut all, mut trainable) = (0i64, 0i64);
    for (name, v) in m.vs.variables() {
        if name.starts_with(&format!("{}.", super::predict::ENCODER)) {
            all += v.numel() as i64;
            trainable += if v.requires_grad() { v.numel() as i64 } else { 0 };
        }
    }
    let products = t
        .trained_in
        .map_or(String::new(), |p| format!("; trained with {} products", p.name()));
    Some(format!(
        "fine-tuned ({which}; peak learning rate {}, warm-up {} of the steps{products}): {trainable} of its {all} weights trainable",
        t.learning_rate, t.warmup
    ))
}

/// "trained" and "dev" lines from `dir/report.json`, when it has one.
fn read_report(dir: &Path) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(dir.join(super::RUN_REPORT)).ok()?;
    let r: serde_json::Value = serde_json::from_str(&text).ok()?;
    let data: Vec<String> = r["data"]
        .as_array()?
        .iter()
        .map(|d| {
            let name = Path::new(d["path"].as_str().unwrap_or("?"))
                .file_name()
                .map_or("?".into(), |n| n.to_string_lossy().to_string());
            format!(
                "{} {name} ({} sentences)",
                d["role"].as_str().unwrap_or("?"),
                d["sentences"]
            )
        })
        .collect();
    let date = r["date"]
        .as_str()
        .unwrap_or("?")
        .replace('T', " ")
        .replace('Z', " UTC");
    let mut rows = vec![(
        "trained".to_string(),
        format!("{date} on {}; best epoch {}", data.join(", "), r["best_epoch"]),
    )];
    let f1 = |task: &str| r["dev"][task]["micro"]["f1"].as_f64();
    if let (Some(ner), Some(re)) = (f1("ner"), f1("re")) {
        rows.push((
            "dev".into(),
            format!("NER {:.2}, RE {:.2} micro F1", 100.0 * ner, 100.0 * re),
        ));
    }
    Some(rows)
}
