//! Live extraction while a training runs in the same process, as in the app (on the threads
//! the training leaves, `threads::spare`): the p50 latency of one sentence from raw text
//! beside its latency with the process idle.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tch::Device;

use super::inference::latency;
use super::{percentile_ms, Row};
use crate::corpus::Sentence;
use crate::model::Model;
use crate::train::{train, Event, TrainJob, TrainOptions};

/// The row for `model` (saved in `dir`), trained on again with `sentences` meanwhile.
pub fn row(dir: &Path, sentences: &[Sentence], runs: usize) -> Result<Row, String> {
    let model = Model::load(dir, Device::Cpu).map_err(|e| e.to_string())?;
    let idle = latency(&model, runs)?;
    let busy = latency_while_training(&model, sentences, runs)?;
    let (idle, busy) = (percentile_ms(&idle, 50.0), percentile_ms(&busy, 50.0));
    Ok(Row::new(
        "live extraction during a training in the same process, p50 of one 30-token sentence",
        format!("{busy:.1} ms (idle {idle:.1} ms)"),
        format!("{:.2}× idle; target ≤ 2×", busy / idle),
    ))
}

/// Latencies measured once a training on another thread has started its epochs.
fn latency_while_training(
    model: &Model,
    sentences: &[Sentence],
    runs: usize,
) -> Result<Vec<Duration>, String> {
    let started = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let job = TrainJob {
        config: model.config.clone(),
        options: TrainOptions {
            epochs: 1000,
            patience: 1000,
            ..Default::default()
        },
        train: sentences.to_vec(),
        dev: Vec::new(),
        out: None,
        init: None,
    };
    std::thread::scope(|scope| {
        let training = scope.spawn(|| {
            let mut emit = |e: Event| {
                if let Event::EpochStarted { .. } = e {
                    started.store(true, Ordering::SeqCst);
                }
            };
            train(job, &mut || stop.load(Ordering::SeqCst), &mut emit)
        });
        while !started.load(Ordering::SeqCst) && !training.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let times = crate::threads::with_threads(crate::threads::spare(), || latency(model, runs));
        stop.store(true, Ordering::SeqCst);
        match training.join() {
            Ok(Ok(_)) | Ok(Err(crate::train::TrainError::Cancelled)) => times,
            Ok(Err(e)) => Err(format!("the training failed: {e}")),
            Err(_) => Err("the training panicked".into()),
        }
    })
}
