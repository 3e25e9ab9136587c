//! Research commands: train, predict, eval, cv, trials.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{split, Corpus, Format, Sentence};
use relarc::eval::{evaluate, Metrics, Report};
use relarc::model::{Model, ModelConfig};
use relarc::text::tokenize;
use relarc::train::report::{utc_now, DataFile, RunReport};
use relarc::train::run::evaluate_model;
use relarc::train::{Event, TrainJob, TrainOptions, TrainOutcome, Trainer};
use tch::Device;

use super::{format_arg, CliResult};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Args, Debug, Clone)]
pub struct TrainingArgs {
    /// conll04 or ade (paper Table 1 with MPNet layer mix + GloVe 50-d + chars + casing);
    /// add -minilm for the smaller encoder or -learned for no pre-trained files.
    #[arg(long)]
    pub preset: String,
    /// How a word's sub-words pool into one encoder vector: first or mean.
    #[arg(long)]
    pub pooling: Option<relarc::pretrained::Pooling>,
    /// Frozen word vectors instead of the preset's: a resource name, a converted folder, or a
    /// GloVe / word2vec / fastText text file (e.g. glove.840B.300d.txt).
    #[arg(long)]
    pub word_vectors: Option<String>,
    /// A frozen encoder instead of the preset's: a resource name or a Hugging Face checkpoint
    /// folder (BERT family or MPNet), all of whose layers are mixed.
    #[arg(long)]
    pub encoder: Option<String>,
    /// A JSON file with a full model configuration, instead of the preset's.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Most epochs (early stopping on dev may end sooner).
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    /// Training corpus; give it more than once to train on several (e.g. train and dev).
    #[arg(long, required = true)]
    pub train: Vec<PathBuf>,
    /// Dev corpus for early stopping; without it every epoch runs and the last is kept.
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Folder for the best model and report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue training this model folder.
    #[arg(long)]
    pub init: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// A corpus to annotate (any format).
    #[arg(long, requires = "output", conflicts_with = "text")]
    pub input: Option<PathBuf>,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Raw text to tokenize and annotate.
    #[arg(long)]
    pub text: Option<String>,
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    pub gold: PathBuf,
    #[arg(long)]
    pub pred: PathBuf,
    /// Print JSON: {"ner": M, "re": M, "re_boundaries": M}, figures as fractions.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CvArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    /// Folder with split_K_train.json and split_K_test.json.
    #[arg(long)]
    pub folds: PathBuf,
    /// Fraction of each training fold held out (seeded) for early stopping.
    #[arg(long, default_value_t = 0.1)]
    pub dev_fraction: f64,
    /// Run only the first K folds.
    #[arg(long)]
    pub max_folds: Option<usize>,
    /// Folder for each fold's model and the reports.
    #[arg(long, default_value = "runs/cv")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct TrialsArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    #[arg(long)]
    pub train: PathBuf,
    #[arg(long)]
    pub dev: PathBuf,
    #[arg(long)]
    pub test: PathBuf,
    /// Number of seeds.
    #[arg(long, default_value_t = 5)]
    pub n: usize,
    #[arg(long, default_value = "runs/trials")]
    pub out: PathBuf,
}

pub fn device(name: &str) -> Res<Device> {
    match name {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err("CUDA is not available on this machine (see `relarc doctor`)".into()),
        other => Err(format!("unknown device {other:?}; use auto, cpu or cuda").into()),
    }
}

fn config(a: &TrainingArgs) -> Res<ModelConfig> {
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a model configuration: {e}", path.display()).into());
    }
    let mut cfg = ModelConfig::preset(&a.preset).ok_or_else(|| {
        format!(
            "unknown preset {:?}; use one of {:?}",
            a.preset,
            ModelConfig::PRESETS
        )
    })?;
    if let Some(v) = &a.word_vectors {
        let path = relarc::pretrained::resources::locate(v)?;
        cfg.inputs.word = Some(relarc::model::config::WordInput {
            dim: relarc::pretrained::StaticVectors::peek_dim(&path)?,
            trainable: false,
            min_count: 1,
            source: Some(path.display().to_string()),
        });
    }
    if let Some(e) = &a.encoder {
        let path = relarc::pretrained::resources::locate(e)?;
        let hf = relarc::pretrained::encoder::transformer::HfConfig::read(&path)?;
        cfg.inputs.contextual = Some(relarc::model::config::ContextualInput {
            layers: hf.num_hidden_layers as i64 + 1,
            dim: hf.hidden_size,
            encoder: path.display().to_string(),
            pooling: Default::default(),
        });
    }
    if let (Some(p), Some(c)) = (a.pooling, cfg.inputs.contextual.as_mut()) {
        c.pooling = p;
    }
    Ok(cfg)
}

fn options(a: &TrainingArgs, seed: u64) -> Res<TrainOptions> {
    Ok(TrainOptions {
        epochs: a.epochs,
        patience: a.patience,
        seed,
        device: device(&a.device)?,
        ..Default::default()
    })
}

/// Runs a job on the trainer thread with a progress bar; returns the outcome.
fn run_job(job: TrainJob, label: &str) -> Res<TrainOutcome> {
    let trainer = Trainer::spawn(None);
    trainer.start(job);
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template"),
    );
    bar.set_prefix(label.to_string());
    let mut last_dev = String::new();
    loop {
        let event = trainer
            .events
            .recv()
            .map_err(|_| "the trainer stopped unexpectedly")?;
        match event {
            Event::Started {
                device,
                epochs,
                steps_per_epoch,
                train_sentences,
                dev_sentences,
                parameters,
                removed_overlaps,
            } => {
                bar.set_length((epochs * steps_per_epoch) as u64);
                bar.suspend(|| {
                    eprintln!(
                        "{label}: training on {device}: {train_sentences} training sentences, {dev_sentences} dev, {parameters} trainable parameters, at most {epochs} epochs"
                    );
                    if removed_overlaps > 0 {
                        eprintln!("{label}: removed {removed_overlaps} overlapping entities from the training data (the longer span is kept)");
                    }
                });
            }
            Event::Step {
                epoch,
                step,
                steps,
                loss,
                ..
            } => {
                bar.inc(1);
                bar.set_message(format!(
                    "epoch {epoch} step {step}/{steps} loss {loss:.3}{last_dev}"
                ));
            }
            Event::Preparing { done, total } => {
                bar.set_message(format!("frozen encoder features {done}/{total} sentences"));
                if done == total {
                    bar.suspend(|| {
                        eprintln!("{label}: computed encoder features for {total} sentences (cached for later runs)")
                    });
                }
            }
            Event::DevEvaluated { ner_f1, re_f1, .. } => {
                last_dev = format!(", dev NER {:.1} RE {:.1}", 100.0 * ner_f1, 100.0 * re_f1);
            }
            Event::EpochFinished(r) => bar.suspend(|| {
                let dev = match (r.dev_ner_f1, r.dev_re_f1) {
                    (Some(n), Some(e)) => format!(", dev F1 NER {:.2} RE {:.2}", 100.0 * n, 100.0 * e),
                    _ => String::new(),
                };
                eprintln!(
                    "{label}: epoch {} loss {:.4}{dev} ({:.1} s)",
                    r.epoch, r.loss, r.seconds
                )
            }),
            Event::Finished(outcome) => {
                bar.finish_and_clear();
                return Ok(*outcome);
            }
            Event::Failed(why) => {
                bar.abandon();
                return Err(why.into());
            }
            Event::Cancelled => return Err("cancelled".into()),
            _ => {}
        }
    }
}

fn load_flat(path: &Path) -> Res<Corpus> {
    let mut c = Corpus::load(path)?;
    remove_overlaps_all(&mut c.sentences);
    Ok(c)
}

fn print_metrics(what: &str, m: &Metrics) {
    eprintln!(
        "  {what:<4} micro P {:.2} R {:.2} F1 {:.2} | macro P {:.2} R {:.2} F1 {:.2}",
        100.0 * m.micro.precision,
        100.0 * m.micro.recall,
        100.0 * m.micro.f1,
        100.0 * m.macro_.precision,
        100.0 * m.macro_.recall,
        100.0 * m.macro_.f1
    );
}

pub fn train(a: TrainArgs) -> CliResult {
    let cfg = config(&a.common)?;
    let opts = options(&a.common, a.common.seed)?;
    let mut train_sentences = Vec::new();
    let mut data = Vec::new();
    for path in &a.train {
        let c = load_flat(path)?;
        data.push(DataFile::new("train", path, c.sentences.len()));
        train_sentences.extend(c.sentences);
    }
    let dev_sentences = match &a.dev {
        Some(path) => {
            let c = load_flat(path)?;
            data.push(DataFile::new("dev", path, c.sentences.len()));
            c.sentences
        }
        None => Vec::new(),
    };
    let init = a
        .init
        .as_deref()
        .map(|p| Model::load(p, opts.device))
        .transpose()?;
    let job = TrainJob {
        config: cfg.clone(),
        options: opts.clone(),
        train: train_sentences,
        dev: dev_sentences,
        out: Some(a.out.clone()),
        init,
    };
    let outcome = run_job(job, "train")?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let report = RunReport::from_outcome(&command, &opts, &outcome, data, None);
    report.write(&a.out.join("report.json"))?;
    eprintln!(
        "best epoch {} of {} run{} in {:.0} s on {:?}; model and report.json in {}",
        outcome.best_epoch,
        outcome.history.len(),
        if outcome.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        report.seconds,
        opts.device,
        a.out.display()
    );
    if let Some(r) = &outcome.dev_report {
        eprintln!("dev:");
        print_metrics("NER", &r.ner);
        print_metrics("RE", &r.re);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn predict(a: PredictArgs) -> CliResult {
    let model = Model::load(&a.model, device(&a.device)?)?;
    if let Some(text) = &a.text {
        let tokens: Vec<String> = tokenize(text).into_iter().map(|t| t.text).collect();
        if tokens.is_empty() {
            return Err("the text has no tokens".into());
        }
        let pred = model.predict(&[tokens.as_slice()])?.remove(0);
        println!("tokens: {}", tokens.join(" "));
        println!("entities:");
        for (i, e) in pred.entities.iter().enumerate() {
            println!(
                "  [{i}] {:<12} {:?} (tokens {}..{}, score {:.3})",
                e.label,
                tokens[e.start..e.end].join(" "),
                e.start,
                e.end,
                e.score
            );
        }
        println!("relations:");
        for r in &pred.relations {
            let (h, t) = (&pred.entities[r.head], &pred.entities[r.tail]);
            println!(
                "  {} ({:?} → {:?}, probability {:.3})",
                r.label,
                tokens[h.start..h.end].join(" "),
                tokens[t.start..t.end].join(" "),
                r.probability
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(input), Some(output)) = (&a.input, &a.output) else {
        return Err("give --input FILE --output FILE, or --text \"...\"".into());
    };
    let corpus = match format_arg(a.from.as_deref())? {
        Some(f) => Corpus::load_as(input, f)?,
        None => Corpus::load(input)?,
    };
    let tokens: Vec<&[String]> = corpus.sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let bar = ProgressBar::new(tokens.len() as u64);
    let mut predicted: Vec<Sentence> = Vec::with_capacity(tokens.len());
    for (chunk, sents) in tokens.chunks(256).zip(corpus.sentences.chunks(256)) {
        let preds = model.predict(chunk)?;
        predicted.extend(preds.iter().zip(sents).map(|(p, s)| p.to_sentence(s)));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let out = Corpus {
        sentences: predicted,
        schema: model.vocab.schema(),
        source: None,
    };
    let format = match format_arg(a.to.as_deref())? {
        Some(f) => f,
        None => Format::detect_output(output)?,
    };
    for note in out.save_as(output, format)? {
        eprintln!("note: {note}");
    }
    eprintln!(
        "wrote {} sentences with {} entities and {} relations to {}",
        out.sentences.len(),
        out.num_entities(),
        out.num_relations(),
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn eval(a: EvalArgs) -> CliResult {
    let gold = Corpus::load(&a.gold)?;
    let pred = Corpus::load(&a.pred)?;
    let report = evaluate(&gold.sentences, &pred.sentences)
        .map_err(|e| format!("{} vs {}: {e}", a.gold.display(), a.pred.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Mean and sample standard deviation.
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

fn summarise(label: &str, reports: &[Report]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    eprintln!(
        "{label} over {} runs (mean ± standard deviation, %):",
        reports.len()
    );
    for (task, pick) in [
        ("ner", (|r: &Report| r.ner.clone()) as fn(&Report) -> Metrics),
        ("re", |r: &Report| r.re.clone()),
    ] {
        let mut task_json = serde_json::Map::new();
        for (avg, sel) in [
            (
                "micro",
                (|m: &Metrics| m.micro) as fn(&Metrics) -> relarc::eval::Prf,
            ),
            ("macro", |m: &Metrics| m.macro_),
        ] {
            let mut line = format!("  {:<3} {avg:<5}", task.to_uppercase());
            let mut avg_json = serde_json::Map::new();
            for (name, f) in [
                (
                    "precision",
                    (|p: &relarc::eval::Prf| p.precision) as fn(&relarc::eval::Prf) -> f64,
                ),
                ("recall", |p| p.recall),
                ("f1", |p| p.f1),
            ] {
                let xs: Vec<f64> = reports.iter().map(|r| f(&sel(&pick(r)))).collect();
                let (m, s) = mean_std(&xs);
                line += &format!(" {name} {:.2} ± {:.2}", 100.0 * m, 100.0 * s);
                avg_json.insert(name.into(), serde_json::json!({"mean": m, "std": s, "runs": xs}));
            }
            eprintln!("{line}");
            task_json.insert(avg.into(), serde_json::Value::Object(avg_json));
        }
        out.insert(task.into(), serde_json::Value::Object(task_json));
    }
    serde_json::Value::Object(out)
}

pub fn cv(a: CvArgs) -> CliResult {
    let cfg = config(&a.common)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let folds = split::load_fold_files(&a.folds)?;
    let k = a.max_folds.unwrap_or(folds.len()).min(folds.len());
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut per_fold = Vec::new();
    for (i, (train_c, test_c)) in folds.into_iter().take(k).enumerate() {
        let mut train_c = train_c;
        let mut test_c = test_c;
        remove_overlaps_all(&mut train_c.sentences);
        remove_overlaps_all(&mut test_c.sentences);
        let (dev_c, fit_c) = split::holdout(&train_c, a.dev_fraction, a.common.seed + i as u64);
        let opts = options(&a.common, a.common.seed + i as u64)?;
        let out = a.out.join(format!("fold_{i}"));
        let job = TrainJob {
            config: cfg.clone(),
            options: opts.clone(),
            train: fit_c.sentences,
            dev: dev_c.sentences,
            out: Some(out.clone()),
            init: None,
        };
        let outcome = run_job(job, &format!("fold {i}"))?;
        let test = evaluate_model(&outcome.model, &test_c.sentences)?;
        eprintln!(
            "fold {i}: best epoch {}, {:.0} s",
            outcome.best_epoch, outcome.seconds
        );
        print_metrics("NER", &test.ner);
        print_metrics("RE", &test.re);
        let data = vec![
            DataFile::new(
                "train",
                &a.folds.join(format!("split_{i}_train.json")),
                train_c.sentences.len(),
            ),
            DataFile::new(
                "test",
                &a.folds.join(format!("split_{i}_test.json")),
                test_c.sentences.len(),
            ),
        ];
        RunReport::from_outcome(&command, &opts, &outcome, data, Some(test.clone()))
            .write(&out.join("report.json"))?;
        per_fold.push(serde_json::json!({"fold": i, "best_epoch": outcome.best_epoch, "seconds": outcome.seconds, "test": test}));
        reports.push(test);
    }
    let summary = summarise(&format!("{k}-fold cross-validation"), &reports);
    let all = serde_json::json!({
        "command": command, "date": utc_now(), "device": format!("{:?}", device(&a.common.device)?),
        "seconds": started.elapsed().as_secs_f64(), "folds": per_fold, "summary": summary,
    });
    relarc::fsio::atomic_write_bytes(
        &a.out.join("cv_report.json"),
        serde_json::to_string_pretty(&all)?.as_bytes(),
    )?;
    eprintln!("reports in {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn trials(a: TrialsArgs) -> CliResult {
    let cfg = config(&a.common)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let started = Instant::now();
    let train_c = load_flat(&a.train)?;
    let dev_c = load_flat(&a.dev)?;
    let test_c = load_flat(&a.test)?;
    // First choose the number of epochs on dev.
    let opts = options(&a.common, a.common.seed)?;
    let job = TrainJob {
        config: cfg.clone(),
        options: opts.clone(),
        train: train_c.sentences.clone(),
        dev: dev_c.sentences.clone(),
        out: Some(a.out.join("dev_run")),
        init: None,
    };
    let chosen = run_job(job, "epochs on dev")?;
    let epochs = chosen.best_epoch.max(1);
    eprintln!("chose {epochs} epochs on dev");
    let both: Vec<Sentence> = train_c
        .sentences
        .iter()
        .chain(&dev_c.sentences)
        .cloned()
        .collect();
    let mut reports = Vec::new();
    let mut runs = Vec::new();
    for t in 0..a.n {
        let seed = a.common.seed + 1 + t as u64;
        let opts = TrainOptions {
            epochs,
            seed,
            ..options(&a.common, seed)?
        };
        let out = a.out.join(format!("trial_{t}"));
        let job = TrainJob {
            config: cfg.clone(),
            options: opts.clone(),
            train: both.clone(),
            dev: Vec::new(),
            out: Some(out.clone()),
            init: None,
        };
        let outcome = run_job(job, &format!("trial {t}"))?;
        let test = evaluate_model(&outcome.model, &test_c.sentences)?;
        print_metrics("NER", &test.ner);
        print_metrics("RE", &test.re);
        let data = vec![
            DataFile::new("train", &a.train, train_c.sentences.len()),
            DataFile::new("dev", &a.dev, dev_c.sentences.len()),
            DataFile::new("test", &a.test, test_c.sentences.len()),
        ];
        RunReport::from_outcome(&command, &opts, &outcome, data, Some(test.clone()))
            .write(&out.join("report.json"))?;
        runs.push(serde_json::json!({"trial": t, "seed": seed, "seconds": outcome.seconds, "test": test}));
        reports.push(test);
    }
    let summary = summarise(&format!("{} trials on {}", a.n, a.test.display()), &reports);
    let all = serde_json::json!({
        "command": command, "date": utc_now(), "device": format!("{:?}", opts.device), "epochs": epochs,
        "seconds": started.elapsed().as_secs_f64(), "trials": runs, "summary": summary,
    });
    relarc::fsio::atomic_write_bytes(
        &a.out.join("trials_report.json"),
        serde_json::to_string_pretty(&all)?.as_bytes(),
    )?;
    Ok(ExitCode::SUCCESS)
}
