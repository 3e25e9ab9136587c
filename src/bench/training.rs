//! Training throughput of the paper's presets with MiniLM-L6 layer mix + GloVe 50-d + chars +
//! casing (or learned inputs only), encoder features cached as in real training: one warm-up
//! epoch, then one timed.

use std::time::Instant;

use tch::Device;

use super::{timed, Row, Scale, Section};
use crate::corpus::overlap::remove_overlaps_all;
use crate::corpus::Sentence;
use crate::embed::BatchInput;
use crate::model::{Model, ModelConfig};
use crate::pretrained::Featurizer;
use crate::train::optim::Optimizer;
use crate::train::run::train;
use crate::train::{TrainJob, TrainOptions, TrainOutcome};

/// Trains `preset` for two epochs on `sentences`; returns the rows and the trained model.
pub fn run(
    preset: &str,
    corpus: &str,
    sentences: &[Sentence],
    scale: Scale,
    device: Device,
) -> (Section, Option<Model>) {
    let cfg = ModelConfig::preset(preset).expect("a known preset");
    let title = format!(
        "Training: `{preset}` preset (batch {}) on {corpus}",
        cfg.batch_size
    );
    let mut train_set: Vec<Sentence> = sentences.to_vec();
    if let Some(n) = scale.train_limit() {
        train_set.truncate(n);
    }
    let measured = measure(cfg, &train_set, device);
    let (warmed, outcome) = match measured {
        Ok(m) => m,
        Err(why) => {
            let section = Section {
                title,
                rows: vec![],
                skipped: Some(why),
            };
            return (section, None);
        }
    };
    let mut rows = throughput_rows(&outcome, train_set.len(), sentences.len(), scale);
    rows.insert(2, warm_row(warmed, train_set.len()));
    rows.push(step_profile(&outcome.model, &train_set, scale));
    let section = Section {
        title,
        rows,
        skipped: None,
    };
    (section, Some(outcome.model))
}

/// Encoder features before training: (seconds, sentences computed), None without an encoder.
type Warmed = Option<(f64, usize)>;

/// Computes the encoder features as `relarc train` does, then trains two epochs.
fn measure(
    mut cfg: ModelConfig,
    train_set: &[Sentence],
    device: Device,
) -> Result<(Warmed, TrainOutcome), String> {
    if train_set.is_empty() {
        return Err("no training data (the shared data is missing)".into());
    }
    let features = Featurizer::for_inputs(&cfg.inputs, device).map_err(|e| e.to_string())?;
    let tokens: Vec<&[String]> = train_set.iter().map(|s| s.tokens.as_slice()).collect();
    let mut warmed = None;
    if let Some((f, c)) = features
        .as_ref()
        .and_then(|f| f.contextual.as_ref().map(|c| (f, c)))
    {
        let before = c.encoder.sentences_encoded();
        let t = Instant::now();
        f.warm(&tokens, &mut |_, _| {}).map_err(|e| e.to_string())?;
        warmed = Some((t.elapsed().as_secs_f64(), c.encoder.sentences_encoded() - before));
    }
    cfg.learning_rate = 5e-4;
    let job = TrainJob {
        config: cfg,
        options: TrainOptions {
            epochs: 2,
            patience: 10,
            device,
            ..Default::default()
        },
        train: train_set.to_vec(),
        dev: Vec::new(),
        out: None,
        init: None,
    };
    let outcome = train(job, &mut || false, &mut |_| {}).map_err(|e| format!("training failed: {e}"))?;
    Ok((warmed, outcome))
}

/// Seconds per epoch after the warm-up epoch, sentences per second, and in a quick run the
/// estimate for the whole corpus.
fn throughput_rows(outcome: &TrainOutcome, n: usize, corpus: usize, scale: Scale) -> Vec<Row> {
    let first = outcome.history[0].seconds;
    let timed = outcome.history[1].seconds;
    let slice = if scale.quick {
        " (quick run: a slice of the corpus)"
    } else {
        ""
    };
    let mut rows = vec![
        Row::new(
            "seconds per epoch (after one warm-up epoch)",
            format!("{timed:.1} s"),
            format!("{n} sentences{slice}"),
        ),
        Row::new(
            "training sentences per second",
            format!("{:.1}", n as f64 / timed),
            format!("warm-up epoch: {first:.1} s"),
        ),
    ];
    if scale.quick {
        rows.push(Row::new(
            "full-epoch estimate",
            format!("{:.0} s", timed / n as f64 * corpus as f64),
            format!("{corpus} sentences at the measured rate"),
        ));
    }
    rows
}

fn warm_row(warmed: Warmed, n: usize) -> Row {
    match warmed {
        Some((warm, computed)) => Row::new(
            "encoder features before training",
            format!("{warm:.1} s"),
            format!("{computed} of {n} sentences computed, the rest read from the feature cache"),
        ),
        None => Row::new(
            "encoder features before training",
            "none",
            "learned inputs: no encoder",
        ),
    }
}

/// Where a training step's time goes: building the batch (ids, cached features, host to
/// device), forward pass and loss, backward pass, clipping and the optimizer update. Each
/// phase ends by reading a value back, so device work is not counted in the next phase.
fn step_profile(model: &Model, sentences: &[Sentence], scale: Scale) -> Row {
    let mut opt = Optimizer::new(&model.vs, model.config.optimizer, model.config.learning_rate);
    let bs = model.config.batch_size.max(1);
    // As training does: BIO tags cannot hold overlapping entities (ADE has some).
    let mut sentences = sentences.to_vec();
    remove_overlaps_all(&mut sentences);
    let planned = if scale.quick { 4 } else { 100 };
    let mut steps = 0;
    let mut t = [0.0f64; 4];
    for chunk in sentences.chunks(bs).take(planned) {
        let inputs: Vec<BatchInput> = chunk.iter().map(BatchInput::from).collect();
        let (batch, d0) = timed(|| model.batch(&inputs));
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return Row::new("where a step's time goes", "failed", e.to_string()),
        };
        steps += 1;
        opt.zero_grad();
        let (loss, d1) = timed(|| {
            let l = model.net.loss(&batch, true);
            l.total.double_value(&[]);
            l
        });
        let (_, d2) = timed(|| {
            loss.total.backward();
        });
        let (_, d3) = timed(|| {
            let norm = opt.clip_grad_norm(5.0);
            opt.step();
            norm.double_value(&[])
        });
        for (acc, d) in t.iter_mut().zip([d0, d1, d2, d3]) {
            *acc += d.as_secs_f64();
        }
    }
    let total: f64 = t.iter().sum();
    let pct = |x: f64| 100.0 * x / total.max(1e-12);
    Row::new(
        "where a step's time goes",
        format!("{:.1} ms per step", 1e3 * total / steps.max(1) as f64),
        format!(
            "batch {:.0}%, forward + loss {:.0}%, backward {:.0}%, clip + optimizer {:.0}% ({steps} steps)",
            pct(t[0]),
            pct(t[1]),
            pct(t[2]),
            pct(t[3])
        ),
    )
}
