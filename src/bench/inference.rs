//! Inference over a corpus (batched) and the latency of one sentence from raw text to
//! entities and relations, the encoder run every time (as for text typed live: no cache).

use std::path::Path;
use std::time::Duration;

use tch::Device;

use super::corpus::command_peak;
use super::{percentile_ms, timed, Row, Scale, Section};
use crate::corpus::Sentence;
use crate::model::predict::Prediction;
use crate::model::shipped::shipped_models;
use crate::model::{Ensemble, Model, ModelConfig};
use crate::pretrained::encoder::{precision, Precision};
use crate::pretrained::Encoder;
use crate::text::tokenize;

/// A 30-token sentence of raw text.
pub const SENTENCE: &str =
    "On Tuesday , Acme Corp. chief executive John Smith , who lives in Boston , said the company would open a new plant in Lyon , France this spring .";

pub(crate) fn latency(model: &Model, runs: usize) -> Result<Vec<Duration>, String> {
    latency_of(|tokens| model.predict_uncached(tokens), runs)
}

/// Times of `predict` on the raw sentence as text typed live is predicted (tokenizer
/// included, features not cached), after three runs to warm up.
fn latency_of<E: std::fmt::Display>(
    predict: impl Fn(&[&[String]]) -> Result<Vec<Prediction>, E>,
    runs: usize,
) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 3 {
        let (r, t) = timed(|| {
            let tokens: Vec<String> = tokenize(SENTENCE).into_iter().map(|t| t.text).collect();
            predict(&[tokens.as_slice()])
        });
        r.map_err(|e| e.to_string())?;
        if i >= 3 {
            times.push(t);
        }
    }
    Ok(times)
}

/// The encoder a model's inputs come from, or that it has none.
fn inputs_name(model: &Model) -> String {
    match &model.config.inputs.contextual {
        Some(c) if c.encoder == "all-minilm-l6-v2" => "MiniLM-L6".into(),
        Some(c) => c.encoder.clone(),
        None => "learned inputs, no encoder".into(),
    }
}

fn encoder_precision(model: &Model) -> &'static str {
    model
        .features
        .as_ref()
        .and_then(|f| f.contextual.as_ref())
        .map_or("no encoder", |c| c.encoder.precision().name())
}

/// The p50 / p99 row for one 30-token sentence with `encoder`'s model, or why it failed.
fn latency_row(model: &Model, runs: usize, encoder: &str, note: String) -> Row {
    times_row(latency(model, runs), encoder, note)
}

fn times_row(times: Result<Vec<Duration>, String>, encoder: &str, note: String) -> Row {
    match times {
        Ok(times) => Row::new(
            format!("one 30-token sentence, raw text to entities and relations, {encoder} (p50 / p99)"),
            format!(
                "{:.1} / {:.1} ms",
                percentile_ms(&times, 50.0),
                percentile_ms(&times, 99.0)
            ),
            note,
        ),
        Err(e) => Row::new(format!("latency, {encoder}"), "failed", e),
    }
}

/// Live latency of each model shipped in `models/` as the app's live view runs it, and of a
/// combined model's first member alone: what predicting together costs when typing.
pub fn shipped_latency(runs: usize, device: Device) -> Vec<Row> {
    let mut rows = Vec::new();
    for dir in shipped_models() {
        let name = format!("models/{}", dir.file_name().unwrap_or_default().to_string_lossy());
        let together = match Ensemble::load(&dir, device) {
            Ok(e) => e,
            Err(e) => {
                rows.push(Row::new(format!("latency, {name}"), "skipped", e.to_string()));
                continue;
            }
        };
        let n = together.members.len();
        let what = match n {
            1 => format!("{runs} runs; the shipped model"),
            _ => format!("{runs} runs; {n} models predicting together, the encoder run once for all"),
        };
        rows.push(times_row(
            latency_of(|t| together.predict_uncached(t), runs),
            &name,
            what,
        ));
        if n > 1 {
            let first = &together.members[0];
            let what = format!("{runs} runs; the first of {name}'s {n} models, alone");
            rows.push(latency_row(
                first,
                runs,
                &format!("{name}, first model alone"),
                what,
            ));
        }
    }
    rows
}

/// The same sentence split into the encoder alone and the model with the encoder's features
/// already cached, to see where the latency goes.
fn latency_split(model: &Model, runs: usize) -> Vec<Row> {
    let Some(c) = model.features.as_ref().and_then(|f| f.contextual.as_ref()) else {
        return vec![];
    };
    let tokens: Vec<String> = tokenize(SENTENCE).into_iter().map(|t| t.text).collect();
    let mut enc = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (_, t) = timed(|| c.encoder.encode(&[tokens.as_slice()], c.pooling));
        enc.push(t);
    }
    let name = inputs_name(model);
    let mut rows = vec![Row::new(
        format!("of which the {name} encoder alone (p50)"),
        format!("{:.1} ms", percentile_ms(&enc, 50.0)),
        format!(
            "sub-words, forward pass, pooling; {} products",
            c.encoder.precision().name()
        ),
    )];
    if c.encoder.precision() != Precision::Float32 {
        // The same encoder with float32 products, for comparison.
        if let Ok(exact) = Encoder::load_with(&c.encoder.dir, c.encoder.device(), Precision::Float32) {
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let (_, t) = timed(|| exact.encode(&[tokens.as_slice()], c.pooling));
                times.push(t);
            }
            rows.push(Row::new(
                format!("the {name} encoder alone with float32 products (p50)"),
                format!("{:.1} ms", percentile_ms(&times, 50.0)),
                format!("{} set to f32", precision::VARIABLE),
            ));
        }
    }
    let _ = model.predict(&[tokens.as_slice()]);
    let mut rest = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (_, t) = timed(|| model.predict(&[tokens.as_slice()]));
        rest.push(t);
    }
    rows.push(Row::new(
        "of which the model with cached encoder features (p50)",
        format!("{:.1} ms", percentile_ms(&rest, 50.0)),
        "GloVe lookup, char BiGRU, layer mix, 4 BiGRU layers, CRF, relation head",
    ));
    rows
}

pub fn run(trained: Option<&Model>, corpus: &[Sentence], scale: Scale, device: Device) -> Section {
    let title = "Inference".to_string();
    let Some(model) = trained else {
        return Section {
            title,
            rows: vec![],
            skipped: Some("no trained model (the training part was skipped)".into()),
        };
    };
    let mut rows = Vec::new();
    if !corpus.is_empty() {
        rows.push(corpus_row(model, corpus));
    }
    let runs = scale.latency_runs();
    let what = match &model.config.inputs.contextual {
        Some(_) => format!(
            "{runs} runs: tokenizer, sub-words, encoder ({} products), BiRNNs, CRF, relation head",
            encoder_precision(model)
        ),
        None => format!("{runs} runs: tokenizer, BiRNNs, CRF, relation head"),
    };
    rows.push(latency_row(model, runs, &inputs_name(model), what));
    rows.extend(latency_split(model, runs));
    rows.extend(mpnet_latency(model, runs, device));
    rows.extend(shipped_latency(runs, device));
    Section {
        title,
        rows,
        skipped: None,
    }
}

/// Sentences the model has not seen (the bench's feature cache starts empty), so the encoder
/// runs on each once, as when a new corpus is opened.
fn corpus_row(model: &Model, corpus: &[Sentence]) -> Row {
    let tokens: Vec<&[String]> = corpus.iter().map(|s| s.tokens.as_slice()).collect();
    let (r, t) = timed(|| model.predict(&tokens));
    if let Err(e) = r {
        return Row::new("corpus inference", "failed", e.to_string());
    }
    let encoder = match &model.config.inputs.contextual {
        Some(_) => format!("{} on all of them, sorted by length, then ", inputs_name(model)),
        None => "no encoder; ".into(),
    };
    Row::new(
        "corpus inference, sentences per second",
        format!("{:.0}", tokens.len() as f64 / t.as_secs_f64()),
        format!(
            "{} unseen sentences: {encoder}the model in batches of {}; model from the training part",
            tokens.len(),
            model.config.batch_size.max(64)
        ),
    )
}

/// Peak memory of `relarc predict --text` on one sentence of `tokens` tokens (no sentence
/// stop, so it stays one sentence), beside the same on a 30-token sentence: relation pairs are
/// scored in chunks, so the difference grows with the sentence, not with its square.
pub fn long_sentence_memory(model: &Model, exe: &Path, dir: &Path, tokens: usize) -> Row {
    let what = format!("peak memory of `relarc predict --text` on one {tokens}-token sentence");
    let saved = dir.join("long-sentence-model");
    if let Err(e) = model.save(&saved) {
        return Row::new(what, "failed", e.to_string());
    }
    let words = [
        "the", "patient", "Smith", "of", "Boston", "took", "aspirin", "and", "Acme", "Corp",
    ];
    let text = |n: usize| {
        (0..n)
            .map(|i| words[i % words.len()])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let peak = |n: usize| {
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["predict", "--device", "cpu", "--model"])
            .arg(&saved)
            .arg("--text")
            .arg(text(n));
        command_peak(cmd)
    };
    match (peak(30), peak(tokens)) {
        (Some(base), Some(long)) => Row::new(
            what,
            format!("{:.0} MB", long as f64 / 1e6),
            format!(
                "{:.0} MB on a 30-token sentence; relation pairs scored {} at a time",
                base as f64 / 1e6,
                crate::model::predict::PAIR_CHUNK
            ),
        ),
        _ => Row::new(what, "failed", "the child process did not finish"),
    }
}

/// MPNet: an untrained model of the same shape (latency does not depend on the weights, only
/// on how many entities are found, which an untrained model leaves close to none).
fn mpnet_latency(model: &Model, runs: usize, device: Device) -> Option<Row> {
    let cfg = ModelConfig::preset("conll04")?;
    let mut m = Model::new(cfg, model.vocab.clone(), device);
    Some(match m.attach_inputs() {
        Ok(()) => {
            let what = format!(
                "{runs} runs; untrained weights of the conll04 preset; {} products",
                encoder_precision(&m)
            );
            latency_row(&m, runs, "MPNet-base", what)
        }
        Err(e) => Row::new("latency, MPNet-base", "skipped", e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_latency_sentence_has_thirty_tokens() {
        assert_eq!(super::tokenize(super::SENTENCE).len(), 30);
    }
}
