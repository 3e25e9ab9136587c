//! Task affinity, the paper's proposed way to choose its split points (Vandenhende et al.
//! 2019): train an NER-only and an RE-only model whose BiRNN layers are all shared, compare
//! what each layer makes of the same dev tokens (representation similarity analysis), and
//! share the layers up to where the two tasks' representations part most.

use std::time::Instant;

use serde::Serialize;
use tch::{Kind, Tensor};

use super::StudyError;
use crate::corpus::Sentence;
use crate::embed::BatchInput;
use crate::model::predict::PredictError;
use crate::model::{Model, ModelConfig};
use crate::train::protocol::Runner;
use crate::train::{TrainJob, TrainOptions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Task {
    Ner,
    Re,
}

/// `base` with `depth` shared layers, no task-specific ones, and only `task`'s loss.
pub fn single_task(base: &ModelConfig, depth: usize, task: Task) -> ModelConfig {
    ModelConfig {
        shared_layers: depth,
        ner_layers: 0,
        re_layers: 0,
        ner_weight: if task == Task::Ner { 1.0 } else { 0.0 },
        re_weight: if task == Task::Re { base.re_weight } else { 0.0 },
        ..base.clone()
    }
}

/// Every shared layer's output for the first `max_tokens` tokens of `sentences` (a tensor
/// of tokens × features per layer). Two models given the same sentences get the same tokens
/// in the same rows.
pub fn layer_outputs(
    model: &Model,
    sentences: &[Sentence],
    max_tokens: usize,
) -> Result<Vec<Tensor>, PredictError> {
    let mut per_layer: Vec<Vec<Tensor>> = Vec::new();
    let mut tokens = 0;
    for chunk in sentences.chunks(64) {
        if tokens >= max_tokens {
            break;
        }
        let inputs: Vec<BatchInput> = chunk
            .iter()
            .map(|s| BatchInput {
                tokens: &s.tokens,
                gold: None,
            })
            .collect();
        let batch = model.batch(&inputs)?;
        let outputs = tch::no_grad(|| model.net.shared_outputs(&batch));
        tokens += batch.num_tokens() as usize;
        per_layer.resize_with(outputs.len(), Vec::new);
        for (l, o) in outputs.into_iter().enumerate() {
            per_layer[l].push(o.to_kind(Kind::Double).to_device(tch::Device::Cpu));
        }
    }
    Ok(per_layer
        .into_iter()
        .map(|parts| Tensor::cat(&parts, 0).narrow(0, 0, (tokens.min(max_tokens)) as i64))
        .collect())
}

/// The representational dissimilarity matrix's upper triangle: 1 − Pearson correlation
/// between every two tokens' vectors.
fn dissimilarities(x: &Tensor) -> Vec<f64> {
    let centred = x - x.mean_dim(&[1i64][..], true, Kind::Double);
    let norm = centred.norm_scalaropt_dim(2, &[1i64][..], true).clamp_min(1e-12);
    let unit = centred / norm;
    let corr = unit.matmul(&unit.transpose(0, 1));
    let n = corr.size()[0];
    let values: Vec<f64> = Vec::<f64>::try_from(corr.reshape([-1])).expect("a double tensor");
    let n = n as usize;
    let mut upper = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            upper.push(1.0 - values[i * n + j]);
        }
    }
    upper
}

/// Ranks from 1, ties sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mean;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa == 0.0 || sbb == 0.0 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// Spearman's rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// How alike two representations of the same tokens are: Spearman's correlation between
/// their dissimilarity matrices (1: the same geometry; about 0: unrelated).
pub fn rsa(a: &Tensor, b: &Tensor) -> f64 {
    spearman(&dissimilarities(a), &dissimilarities(b))
}

/// The number of layers to share: those before the largest fall in affinity from one layer
/// to the next; all of them when it never falls.
pub fn suggested_shared(affinities: &[f64]) -> usize {
    let falls = affinities
        .windows(2)
        .enumerate()
        .map(|(l, w)| (l + 1, w[0] - w[1]));
    match falls.max_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((l, fall)) if fall > 0.0 => l,
        _ => affinities.len().max(1),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AffinityReport {
    pub command: String,
    pub depth: usize,
    pub tokens: usize,
    /// RSA between the NER-only and RE-only models, per shared layer (from the input side).
    pub layers: Vec<f64>,
    pub suggested_shared: usize,
    /// (shared, NER-specific, RE-specific) of the suggestion at the same depth.
    pub suggested: (usize, usize, usize),
    pub epochs: usize,
    pub seconds: f64,
}

/// What `measure` trains and compares.
pub struct AffinityPlan {
    pub base: ModelConfig,
    /// BiRNN layers of both single-task models.
    pub depth: usize,
    /// Epochs, seed and device of both trainings (all epochs run: an RE-only model cannot be
    /// scored on dev, as it finds no entities).
    pub options: TrainOptions,
    pub train: Vec<Sentence>,
    pub dev: Vec<Sentence>,
    pub max_tokens: usize,
    pub command: String,
}

/// Trains the two single-task models and compares their layers on dev.
pub fn measure(plan: &AffinityPlan, run: &Runner) -> Result<AffinityReport, StudyError> {
    let started = Instant::now();
    let mut outputs = Vec::new();
    for (task, label) in [(Task::Ner, "NER only"), (Task::Re, "RE only")] {
        let job = TrainJob {
            config: single_task(&plan.base, plan.depth, task),
            options: TrainOptions {
                choose_threshold: false,
                ..plan.options.clone()
            },
            train: plan.train.clone(),
            dev: Vec::new(),
            out: None,
            init: None,
        };
        let outcome = run(job, label)?;
        outputs.push(layer_outputs(&outcome.model, &plan.dev, plan.max_tokens)?);
    }
    let layers: Vec<f64> = outputs[0]
        .iter()
        .zip(&outputs[1])
        .map(|(a, b)| rsa(a, b))
        .collect();
    let shared = suggested_shared(&layers);
    Ok(AffinityReport {
        command: plan.command.clone(),
        depth: plan.depth,
        tokens: outputs[0].first().map_or(0, |t| t.size()[0] as usize),
        suggested_shared: shared,
        suggested: (shared, plan.depth - shared, plan.depth - shared),
        layers,
        epochs: plan.options.epochs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_or_rescaled_representations_have_affinity_one() {
        let randn = || Tensor::randn([40, 8], (Kind::Double, tch::Device::Cpu));
        let (x, unrelated) = crate::model::random::seeded(5, || (randn(), randn()));
        assert!((rsa(&x, &x) - 1.0).abs() < 1e-9);
        // Correlation distance ignores each token's scale and offset.
        let y = &x * 3.0 + 1.5;
        assert!((rsa(&x, &y) - 1.0).abs() < 1e-9);
        assert!(rsa(&x, &unrelated).abs() < 0.2, "{}", rsa(&x, &unrelated));
    }

    #[test]
    fn spearman_ranks_ties_by_their_mean() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 100.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn layers_are_shared_up_to_the_largest_fall_in_affinity() {
        assert_eq!(suggested_shared(&[0.9, 0.85, 0.4, 0.35]), 2);
        assert_eq!(suggested_shared(&[0.5, 0.6, 0.7]), 3);
        assert_eq!(suggested_shared(&[0.7]), 1);
    }

    #[test]
    fn single_task_models_train_one_loss_over_shared_layers_only() {
        let base = ModelConfig::conll04();
        let ner = single_task(&base, 3, Task::Ner);
        assert_eq!((ner.shared_layers, ner.ner_layers, ner.re_layers), (3, 0, 0));
        assert_eq!((ner.ner_weight, ner.re_weight), (1.0, 0.0));
        let re = single_task(&base, 3, Task::Re);
        assert_eq!((re.ner_weight, re.re_weight), (0.0, base.re_weight));
    }
}
