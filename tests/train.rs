//! The trainer: repeatable on CPU, early stopping keeps the best weights, cancelling and
//! failures leave the best checkpoint alone and say why, training continues from a checkpoint.

use crate::common;

use std::time::Duration;

use relarc::corpus::{Corpus, Entity, Sentence};
use relarc::model::trained_on::TrainedOn;
use relarc::model::{Model, ModelConfig};
use relarc::train::run::evaluate_model;
use relarc::train::{train, Event, Failure, TrainError, TrainJob, TrainOptions, Trainer};

/// libtorch's random generator is global to the process: tests that train take turns, so
/// a seed gives the same run whatever else the test binary is doing.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn small_config() -> ModelConfig {
    ModelConfig {
        rnn_size: 32,
        batch_size: 8,
        learning_rate: 5e-3,
        ..ModelConfig::ade()
    }
}

fn data() -> Option<(Vec<Sentence>, Vec<Sentence>)> {
    let d = common::data_dir()?;
    let train = Corpus::load(&d.join("conll04/train.json"))
        .unwrap()
        .sentences
        .into_iter()
        .filter(|s| s.tokens.len() < 30)
        .take(96)
        .collect();
    let dev = Corpus::load(&d.join("conll04/dev.json"))
        .unwrap()
        .sentences
        .into_iter()
        .filter(|s| s.tokens.len() < 30)
        .take(24)
        .collect();
    Some((train, dev))
}

fn job(train: &[Sentence], dev: &[Sentence], epochs: usize) -> TrainJob {
    TrainJob {
        config: small_config(),
        options: TrainOptions {
            epochs,
            patience: 2,
            seed: 5,
            ..Default::default()
        },
        train: train.to_vec(),
        dev: dev.to_vec(),
        out: None,
        init: None,
    }
}

/// libtorch's random generator is global to a process, and this test binary runs many tests
/// at once: each run gets a process of its own, so nothing else draws from its generator.
#[test]
fn a_cpu_run_is_repeatable_with_the_same_seed() {
    let Some((tr, dev)) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    relarc::corpus::Corpus::new(tr)
        .save(&tmp.path().join("train.json"))
        .unwrap();
    relarc::corpus::Corpus::new(dev)
        .save(&tmp.path().join("dev.json"))
        .unwrap();
    std::fs::write(p("config.json"), serde_json::to_string(&small_config()).unwrap()).unwrap();
    let run = |seed: &str| {
        let out = p(&format!("model-{seed}-{}", rand_suffix()));
        let args = [
            "train",
            "--preset",
            "ade",
            "--config",
            &p("config.json"),
            "--train",
            &p("train.json"),
            "--dev",
            &p("dev.json"),
            "--out",
            &out,
            "--epochs",
            "2",
            "--patience",
            "2",
            "--device",
            "cpu",
            "--seed",
            seed,
        ];
        let o = crate::common::run(&args);
        assert!(o.status.success(), "{}", crate::common::stderr(&o));
        let report: serde_json::Value = common::read_json(format!("{out}/report.json"));
        report["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["loss"].to_string(), h["dev_score"].to_string()))
            .collect::<Vec<_>>()
    };
    let a = run("5");
    assert_eq!(a.len(), 2);
    assert_eq!(a, run("5"));
    assert_ne!(a, run("6"));
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn the_best_dev_checkpoint_is_saved_and_returned() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut j = job(&tr, &dev, 20);
    j.options.patience = 3;
    // The best epoch's weights with their θr (a θr chosen on dev would raise the score).
    j.options.choose_threshold = false;
    j.out = Some(tmp.path().join("model"));
    let mut bests = Vec::new();
    let outcome = train(j, &mut || false, &mut |e| {
        if let Event::NewBest { epoch, score, .. } = e {
            bests.push((epoch, score));
        }
    })
    .unwrap();
    let (best_epoch, best_score) = *bests.last().unwrap();
    assert_eq!(outcome.best_epoch, best_epoch);
    assert_eq!(outcome.best_score, Some(best_score));
    let scores: Vec<f64> = outcome.history.iter().filter_map(|h| h.dev_score).collect();
    assert_eq!(scores.iter().copied().fold(f64::MIN, f64::max), best_score);
    // The returned model and the saved one are the best epoch's.
    assert_eq!(evaluate_model(&outcome.model, &dev).unwrap().score(), best_score);
    let saved = Model::load(&tmp.path().join("model"), tch::Device::Cpu).unwrap();
    assert_eq!(evaluate_model(&saved, &dev).unwrap().score(), best_score);
    // It keeps the sentences it learned, not the dev ones it was only scored on.
    assert_eq!(saved.trained_on, Some(TrainedOn::of_sentences(&tr)));
    assert!(!dev.iter().any(|s| saved.trained_on.as_ref().unwrap().contains(s)));
    assert_eq!(outcome.stopped_early, outcome.history.len() < 20);
    if outcome.stopped_early {
        assert!(outcome.history.len() <= best_epoch + 3, "patience 3");
    }
    assert!(outcome.history[0].loss > outcome.history.last().unwrap().loss);
    assert!(best_score > 0.0, "{:?}", outcome.history);
}

/// `--average-epochs`: training follows the same steps, but dev scores, keeps and saves the
/// moving average of the weights; without a dev set the average is the model returned.
#[test]
fn with_weight_averaging_the_average_is_scored_kept_and_saved() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = |average: Option<f64>, dev: &[Sentence], out: Option<&str>| {
        let mut j = job(&tr, dev, 3);
        j.config.average_epochs = average;
        j.options.patience = 3;
        j.options.choose_threshold = false;
        j.out = out.map(|o| tmp.path().join(o));
        train(j, &mut || false, &mut |_| {}).unwrap()
    };
    let plain = run(None, &dev, None);
    let averaged = run(Some(1.0), &dev, Some("averaged"));
    let losses = |o: &relarc::train::TrainOutcome| o.history.iter().map(|h| h.loss).collect::<Vec<_>>();
    let scores = |o: &relarc::train::TrainOutcome| o.history.iter().map(|h| h.dev_score).collect::<Vec<_>>();
    assert_eq!(
        losses(&plain),
        losses(&averaged),
        "averaging does not change the steps"
    );
    assert_ne!(scores(&plain), scores(&averaged), "dev scores the average");
    let best = averaged.best_score.unwrap();
    assert_eq!(evaluate_model(&averaged.model, &dev).unwrap().score(), best);
    let saved = Model::load(&tmp.path().join("averaged"), tch::Device::Cpu).unwrap();
    assert_eq!(saved.config.average_epochs, Some(1.0));
    assert_eq!(evaluate_model(&saved, &dev).unwrap().score(), best);

    let last = run(None, &[], None);
    let average = run(Some(1.0), &[], None);
    let same = |a: &Model, b: &Model| {
        let (a, b) = (a.vs.variables(), b.vs.variables());
        a.iter().all(|(k, v)| v.equal(&b[k]))
    };
    assert!(
        !same(&last.model, &average.model),
        "without dev the average is returned"
    );
    assert!(
        same(&last.model, &run(None, &[], None).model),
        "a rerun gives the same weights"
    );
}

#[test]
fn cancelling_keeps_the_best_checkpoint_and_the_thread_answers() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    let trainer = Trainer::spawn(None);
    let mut j = job(&tr, &dev, 1000);
    j.options.patience = 1000;
    j.out = Some(out.clone());
    trainer.start(j);
    let mut best = None;
    let mut cancelled_at_step = false;
    loop {
        match trainer
            .events
            .recv_timeout(Duration::from_secs(120))
            .expect("events keep coming")
        {
            Event::NewBest { score, .. } => best = Some(score),
            Event::Step {
                epoch: 2, step: 2, ..
            } if !cancelled_at_step => {
                trainer.cancel();
                cancelled_at_step = true;
            }
            Event::Cancelled => break,
            Event::Finished(_) => panic!("should have been cancelled"),
            Event::Failed(why) => panic!("failed: {why}"),
            _ => {}
        }
    }
    let best = best.expect("epoch 1 was evaluated");
    let saved = Model::load(&out, tch::Device::Cpu).unwrap();
    assert_eq!(evaluate_model(&saved, &dev).unwrap().score(), best);
    // The same thread takes the next job.
    trainer.start(job(&tr, &[], 1));
    loop {
        match trainer.events.recv_timeout(Duration::from_secs(120)).unwrap() {
            Event::Finished(o) => {
                assert_eq!(o.history.len(), 1);
                assert!(o.best_score.is_none());
                break;
            }
            Event::Failed(why) => panic!("{why}"),
            _ => {}
        }
    }
}

#[test]
fn a_diverging_loss_stops_with_a_clear_message() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let trainer = Trainer::spawn(None);
    // λr so large that the relation loss alone explodes the total at the first step.
    let mut j = job(&tr, &dev, 3);
    j.config.re_weight = 1e300;
    trainer.start(j);
    let why = failure(&trainer);
    assert!(matches!(why, Failure::Error(TrainError::Diverged(_))), "{why}");
    let why = why.to_string();
    assert!(
        why.contains("training diverged: the loss became") && why.contains("at epoch 1, step 1"),
        "{why}"
    );
    // A NaN λr is refused before any step, naming the field.
    let mut j = job(&tr, &dev, 3);
    j.config.re_weight = f64::NAN;
    trainer.start(j);
    let why = failure(&trainer);
    assert!(matches!(why, Failure::Error(TrainError::Config(_))), "{why}");
    assert!(why.to_string().contains("`re_weight` is NaN"), "{why}");
}

fn failure(trainer: &Trainer) -> Failure {
    loop {
        match trainer.events.recv_timeout(Duration::from_secs(60)).unwrap() {
            Event::Failed(why) => return why,
            Event::Finished(_) => panic!("training must stop"),
            _ => {}
        }
    }
}

#[test]
fn training_continues_from_a_checkpoint_and_checks_its_labels() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let first = train(job(&tr, &dev, 2), &mut || false, &mut |_| {}).unwrap();
    let before = evaluate_model(&first.model, &dev).unwrap().score();
    let mut j = job(&tr, &dev, 3);
    j.init = Some(first.model);
    let second = train(j, &mut || false, &mut |_| {}).unwrap();
    // Continuing starts from the trained weights: its best is at least the starting score.
    assert!(
        second.best_score.unwrap() >= before * 0.95,
        "{:?} vs {before}",
        second.best_score
    );
    // What it was trained on is what both runs were: continued on dev, it holds both.
    let mut j = job(&dev, &tr[..8], 1);
    j.init = Some(second.model);
    let mut third = train(j, &mut || false, &mut |_| {}).unwrap();
    let both: Vec<Sentence> = tr.iter().chain(&dev).cloned().collect();
    assert_eq!(third.model.trained_on, Some(TrainedOn::of_sentences(&both)));
    // Continued from a model that did not record its training, it cannot say either.
    third.model.trained_on = None;
    let mut j = job(&tr[..8], &dev, 1);
    j.init = Some(third.model);
    let fourth = train(j, &mut || false, &mut |_| {}).unwrap();
    assert_eq!(fourth.model.trained_on, None);
    let mut odd = tr.clone();
    odd[0].entities.push(Entity::new("Drug", 0, 1));
    odd[0].entities.retain(|e| e.label == "Drug");
    odd[0].relations.clear();
    let mut j = job(&odd, &dev, 1);
    j.init = Some(fourth.model);
    let err = train(j, &mut || false, &mut |_| {}).err().unwrap().to_string();
    assert!(err.contains("entity type \"Drug\""), "{err}");
}

/// `re_context`: the relation scorer also sees the tokens between the two entities. Those
/// weights are trained, saved and loaded with the model, and prediction uses them, the same
/// when candidate pairs are scored a few at a time.
#[test]
fn the_context_between_entities_is_trained_saved_and_used_in_prediction() {
    let _turn = turn();
    let Some((tr, dev)) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = |epochs: usize, out: Option<&str>| {
        let mut j = job(&tr, &[], epochs);
        j.config.re_context = Some(16);
        j.options.choose_threshold = false;
        j.out = out.map(|o| tmp.path().join(o));
        train(j, &mut || false, &mut |_| {}).unwrap().model
    };
    const CONTEXT: &str = "re.context.proj.weight";
    let weights = |m: &Model| m.vs.variables()[CONTEXT].shallow_clone();
    let (mut six_epochs, mut seven_epochs) = (run(6, None), run(7, Some("ctx")));
    assert!(
        !weights(&six_epochs).equal(&weights(&seven_epochs)),
        "the context is trained"
    );
    let mut saved = Model::load(&tmp.path().join("ctx"), tch::Device::Cpu).unwrap();
    assert_eq!(saved.config.re_context, Some(16));
    let card = relarc::model::card::card(&saved, None);
    assert!(card
        .iter()
        .any(|(what, v)| what == "relation context" && v.ends_with("to 16")));

    let inputs: Vec<relarc::embed::batch::BatchInput> = dev
        .iter()
        .map(|s| relarc::embed::batch::BatchInput {
            tokens: &s.tokens,
            gold: None,
        })
        .collect();
    // Every candidate pair's probabilities, θr 0 letting all of them through.
    let probabilities = |m: &mut Model, chunk: usize| {
        m.config.re_threshold = 0.0;
        let batch = m.batch(&inputs).unwrap();
        let preds = m.predict_batch_chunked(&batch, chunk);
        let p: Vec<(usize, usize, String, f32)> = preds
            .iter()
            .flat_map(|p| {
                p.relations
                    .iter()
                    .map(|r| (r.head, r.tail, r.label.clone(), r.probability))
            })
            .collect();
        assert!(p.len() > 20, "dev has pairs to score: {}", p.len());
        p
    };
    let all = probabilities(&mut seven_epochs, 1 << 20);
    assert_eq!(all, probabilities(&mut saved, 1 << 20), "saved and loaded");
    let chunked = probabilities(&mut seven_epochs, 3);
    let close = all
        .iter()
        .zip(&chunked)
        .all(|(a, b)| (a.0, a.1, &a.2) == (b.0, b.1, &b.2) && (a.3 - b.3).abs() < 1e-5);
    assert!(close && all.len() == chunked.len(), "three pairs at a time");
    assert_ne!(all, probabilities(&mut six_epochs, 1 << 20));
    tch::no_grad(|| {
        let _ = weights(&seven_epochs).zero_();
    });
    let without = probabilities(&mut seven_epochs, 1 << 20);
    assert_eq!(without.len(), all.len());
    assert_ne!(without, all, "prediction reads the context");
}
