//! Research commands: train, predict, eval, cv, trials.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{Corpus, Format, Sentence};
use relarc::eval::breakdown::breakdown;
use relarc::eval::{evaluate, EvalError, Metrics};
use relarc::model::{combined, shipped, Ensemble, Model, ModelConfig, Recipe};
use relarc::text::split_sentences;
use relarc::train::protocol::{
    cross_validate, cross_validate_seeds, run_trials, CvPlan, Progress, TrialsPlan,
};
use relarc::train::report::{DataFile, RunReport};
use relarc::train::threshold::choose_on_dev;
use relarc::train::{EpochRecord, Event, Failure, TrainError, TrainJob, TrainOptions, TrainOutcome, Trainer};
use tch::Device;

use super::{checks, format_arg, CliResult};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Args, Debug, Clone)]
pub struct TrainingArgs {
    /// conll04 or ade (paper Table 1 with MPNet layer mix + GloVe 50-d + chars + casing);
    /// add -minilm for the smaller encoder or -learned for no pre-trained files, then -ft to
    /// fine-tune the encoder. Needed unless --config (or, for train, --init) gives the
    /// configuration.
    #[arg(long)]
    pub preset: Option<String>,
    /// How a word's sub-words pool into one encoder vector: first, mean, or both
    /// side by side (twice the encoder's width).
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
    /// Fine-tune the encoder with the model (as the -ft presets do): its features are then
    /// computed in every training step instead of read from the cache.
    #[arg(long)]
    pub fine_tune: bool,
    /// Fine-tune only the encoder's top K layers (fewer weights to train on a CPU).
    #[arg(long, value_name = "K")]
    pub fine_tune_layers: Option<usize>,
    /// The encoder's peak learning rate when fine-tuning (linear warm-up over a tenth of the
    /// steps, then linear decay) [default: 3e-5].
    #[arg(long)]
    pub encoder_lr: Option<f64>,
    /// Score on dev and keep a moving average of the weights over about this many epochs
    /// (e.g. 1) instead of the last step's weights; 0 turns off the averaging that a preset
    /// (`conll04-ft`) or a --config file turns on.
    #[arg(long, value_name = "EPOCHS")]
    pub average_epochs: Option<f64>,
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
    /// A fixed relation threshold θr (between 0 and 1). Without it θr is chosen on dev after
    /// training, as the one with the best dev relation F1, and kept in the model.
    #[arg(long)]
    pub threshold: Option<f64>,
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
    /// The model folder; without it, the shipped model (models/) whose entity types fit the
    /// input corpus best (models/conll04 for raw text). Given more than once, the models
    /// predict together: NER from their mean CRF scores, relations from their mean
    /// probability against their mean θr. A combined model folder (`relarc combine`) is its
    /// members predicting together at its own θr.
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// How much each model weighs in the means, one positive number per model in the order
    /// given, comma-separated (`--weights 2,1,1`; a combined model counts its members). θr is
    /// then the models' weighted mean θr unless --threshold. Default: equal, or a combined
    /// model's own weights.
    #[arg(long, value_delimiter = ',')]
    pub weights: Vec<f64>,
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
    /// Allow --output to be --input (the input is first kept as INPUT.relarc-backup).
    #[arg(long)]
    pub in_place: bool,
    /// The relation threshold θr to use instead of the model's (between 0 and 1).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Choose θr on this annotated corpus (the one with the best relation F1 there) for the
    /// models given, instead of their own (with several --model: the mean of theirs).
    #[arg(long, conflicts_with = "threshold")]
    pub choose_threshold: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    pub gold: PathBuf,
    #[arg(long)]
    pub pred: PathBuf,
    /// Print JSON: {"ner": M, "re": M, "re_boundaries": M, "errors": E}, figures as fractions.
    #[arg(long)]
    pub json: bool,
    /// First remove overlapping entities from the gold, and the relations of those removed,
    /// as `cv` and `trials` do (the paper's protocol: the longer span is kept). A model that
    /// tags words with BIO finds at most one of two overlapping entities.
    #[arg(long)]
    pub remove_overlaps: bool,
}

#[derive(Args, Debug)]
pub struct CvArgs {
    #[command(flatten)]
    pub common: TrainingArgs,
    /// Folder with split_K_train.json and split_K_test.json.
    #[arg(long)]
    pub folds: PathBuf,
    /// Fraction of each training fold held out (seeded) for early stopping. 0: no dev part,
    /// each fold trains --epochs epochs on all of its training fold (SpERT's protocol), with
    /// the preset's θr or --threshold.
    #[arg(long, default_value_t = 0.1)]
    pub dev_fraction: f64,
    /// Run only the first K folds.
    #[arg(long, conflicts_with = "only_folds")]
    pub max_folds: Option<usize>,
    /// Run only these folds (3..9 or 0,4; numbered from 0), e.g. to share one cross-validation
    /// among machines or sessions: runs into the same --out keep each other's finished folds.
    #[arg(long)]
    pub only_folds: Option<String>,
    /// Folder for each fold's model and the reports.
    #[arg(long, default_value = "runs/cv")]
    pub out: PathBuf,
    /// Folds trained at once, each on its share of the threads.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Cross-validate with N seeds (--seed, --seed + 1, ...; each an ordinary cross-validation
    /// in OUT/seed_S) and score each test fold with the N seeds' models predicting together.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
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
    /// Trials trained at once after the dev run, each on its share of the threads.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
}

impl TrainingArgs {
    /// Numbers in range; said before any corpus or model is read.
    pub(super) fn check(&self) -> checks::Checked {
        checks::at_least_one("--epochs", self.epochs)?;
        checks::at_least_one("--patience", self.patience)?;
        if let Some(e) = self.average_epochs {
            checks::average_epochs("--average-epochs", e)?;
        }
        match self.threshold {
            Some(t) => checks::fraction("--threshold", t),
            None => Ok(()),
        }
    }

    /// Whether anything but the device, epochs and seed was given: what --init replaces.
    fn names_a_configuration(&self) -> bool {
        self.preset.is_some()
            || self.config.is_some()
            || self.encoder.is_some()
            || self.word_vectors.is_some()
            || self.pooling.is_some()
            || self.fine_tune
            || self.fine_tune_layers.is_some()
            || self.encoder_lr.is_some()
            || self.average_epochs.is_some()
    }
}

pub fn device(name: &str) -> Res<Device> {
    Ok(relarc::train::device_named(name)?)
}

pub(super) fn config(a: &TrainingArgs) -> Res<ModelConfig> {
    if a.preset.is_none() && a.config.is_none() {
        return Err(format!(
            "give --preset (one of {:?}) or --config FILE",
            ModelConfig::PRESETS
        )
        .into());
    }
    let recipe = Recipe {
        config_file: a.config.clone(),
        word_vectors: a.word_vectors.clone(),
        encoder: a.encoder.clone(),
        pooling: a.pooling,
        ..Recipe::preset(a.preset.as_deref().unwrap_or_default())
    };
    let mut config = recipe.build()?;
    if let Some(t) = a.threshold {
        config.re_threshold = t;
    }
    if let Some(e) = a.average_epochs {
        config.average_epochs = (e != 0.0).then_some(e);
    }
    fine_tuning(a, &mut config)?;
    Ok(config)
}

/// `--fine-tune`, `--fine-tune-layers` and `--encoder-lr` on the configuration's encoder.
fn fine_tuning(a: &TrainingArgs, config: &mut ModelConfig) -> Res<()> {
    if !(a.fine_tune || a.fine_tune_layers.is_some() || a.encoder_lr.is_some()) {
        return Ok(());
    }
    let Some(c) = config.inputs.contextual.as_mut() else {
        return Err("--fine-tune needs an encoder: this configuration has none (a -learned preset?)".into());
    };
    let tune = c.fine_tune.get_or_insert_with(Default::default);
    if let Some(k) = a.fine_tune_layers {
        let layers = c.layers as usize - 1;
        if k == 0 || k > layers {
            return Err(format!("--fine-tune-layers {k}: the encoder has {layers} layers").into());
        }
        tune.top_layers = Some(k);
    }
    if let Some(lr) = a.encoder_lr {
        if !(lr > 0.0 && lr < 1.0) {
            return Err(format!("--encoder-lr {lr}: give a rate between 0 and 1, such as 3e-5").into());
        }
        tune.learning_rate = lr;
    }
    Ok(())
}

pub(super) fn options(a: &TrainingArgs, seed: u64) -> Res<TrainOptions> {
    Ok(TrainOptions {
        epochs: a.epochs,
        patience: a.patience,
        seed,
        device: device(&a.device)?,
        choose_threshold: a.threshold.is_none(),
        ..Default::default()
    })
}

/// Runs a job on the trainer thread with a progress bar; returns the outcome.
pub(super) fn run_job(job: TrainJob, label: &str) -> Result<TrainOutcome, Failure> {
    let trainer = Trainer::spawn(None);
    trainer.start(job);
    let mut progress = JobProgress::new(label);
    loop {
        let event = trainer
            .events
            .recv()
            .map_err(|_| Failure::Panicked("the trainer stopped unexpectedly".into()))?;
        if let Some(end) = progress.show(event) {
            return end;
        }
    }
}

/// The terminal's progress bars: one per training running (several with `--jobs`).
fn bars() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// A training run on the terminal: a progress bar, and a line per epoch.
struct JobProgress {
    bar: ProgressBar,
    label: String,
    last_dev: String,
}

impl JobProgress {
    fn new(label: &str) -> JobProgress {
        let bar = bars().add(ProgressBar::new(0));
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        JobProgress {
            bar,
            label: label.into(),
            last_dev: String::new(),
        }
    }

    /// Shows an event; returns how the run ended once it has.
    fn show(&mut self, event: Event) -> Option<Result<TrainOutcome, Failure>> {
        let label = &self.label;
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
                self.bar.set_length((epochs * steps_per_epoch) as u64);
                bars().suspend(|| {
                    eprintln!(
                        "{label}: training on {device}: {train_sentences} training sentences, {dev_sentences} dev, {parameters} trainable parameters, at most {epochs} epochs"
                    );
                    let (train, dev) = (removed_overlaps.train, removed_overlaps.dev);
                    if train + dev > 0 {
                        eprintln!("{label}: removed {train} overlapping entities from the training data and {dev} from the dev data (the longer span is kept)");
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
                self.bar.inc(1);
                let dev = &self.last_dev;
                self.bar
                    .set_message(format!("epoch {epoch} step {step}/{steps} loss {loss:.3}{dev}"));
            }
            Event::Preparing { done, total } => self.preparing(done, total),
            Event::DevEvaluated { ner_f1, re_f1, .. } => {
                self.last_dev = format!(", dev NER {:.1} RE {:.1}", 100.0 * ner_f1, 100.0 * re_f1);
            }
            Event::EpochFinished(r) => self.epoch_finished(&r),
            Event::Finished(outcome) => {
                self.bar.finish_and_clear();
                return Some(Ok(*outcome));
            }
            Event::Failed(why) => {
                self.bar.abandon();
                return Some(Err(why));
            }
            Event::Cancelled => return Some(Err(Failure::Error(TrainError::Cancelled))),
            Event::EpochStarted { .. } | Event::NewBest { .. } => {}
        }
        None
    }

    fn preparing(&self, done: usize, total: usize) {
        self.bar
            .set_message(format!("frozen encoder features {done}/{total} sentences"));
        if done == total {
            let label = &self.label;
            bars().suspend(|| {
                eprintln!("{label}: computed encoder features for {total} sentences (cached for later runs)")
            });
        }
    }

    fn epoch_finished(&self, r: &EpochRecord) {
        let dev = match (r.dev_ner_f1, r.dev_re_f1) {
            (Some(n), Some(e)) => format!(", dev F1 NER {:.2} RE {:.2}", 100.0 * n, 100.0 * e),
            _ => String::new(),
        };
        let label = &self.label;
        bars().suspend(|| {
            eprintln!(
                "{label}: epoch {} loss {:.4}{dev} ({:.1} s)",
                r.epoch, r.loss, r.seconds
            )
        });
    }
}

pub(super) fn load_flat(path: &Path) -> Res<Corpus> {
    let mut c = Corpus::load(path)?;
    remove_overlaps_all(&mut c.sentences);
    Ok(c)
}

pub(super) fn print_metrics(what: &str, m: &Metrics) {
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
    a.common.check()?;
    if a.init.is_some() && a.common.names_a_configuration() {
        return Err("--init continues that model with its own configuration: leave out --preset, --config, --encoder, --word-vectors, --pooling, the --fine-tune flags, --encoder-lr and --average-epochs".into());
    }
    checks::writable_dir(&a.out)?;
    let opts = options(&a.common, a.common.seed)?;
    let mut init = a
        .init
        .as_deref()
        .map(|p| Model::load(p, opts.device))
        .transpose()?;
    if let (Some(m), Some(t)) = (init.as_mut(), a.common.threshold) {
        m.config.re_threshold = t;
    }
    let cfg = match &init {
        Some(m) => m.config.clone(),
        None => config(&a.common)?,
    };
    let (train_sentences, dev_sentences, data) = training_data(&a)?;
    let job = TrainJob {
        config: cfg.clone(),
        options: opts.clone(),
        train: train_sentences,
        dev: dev_sentences,
        out: Some(a.out.clone()),
        init,
    };
    let outcome = run_job(job, "train")?;
    let report = RunReport::from_outcome(&command_line(), &opts, &outcome, data, None);
    report.write(&a.out.join(relarc::model::RUN_REPORT))?;
    let early = if outcome.stopped_early {
        " (stopped early)"
    } else {
        ""
    };
    eprintln!(
        "best epoch {} of {} run{early} in {:.0} s on {:?}; model and report.json in {}",
        outcome.best_epoch,
        outcome.history.len(),
        report.seconds,
        opts.device,
        a.out.display()
    );
    if let Some(t) = &outcome.threshold {
        eprintln!(
            "θr chosen on dev: {:.3} (dev RE micro F1 {:.2}; {:.2} with θr {})",
            t.threshold,
            100.0 * t.dev_re_f1,
            100.0 * t.previous_dev_re_f1,
            t.previous
        );
    }
    if let Some(r) = &outcome.dev_report {
        eprintln!("dev:");
        print_metrics("NER", &r.ner);
        print_metrics("RE", &r.re);
    }
    Ok(ExitCode::SUCCESS)
}

/// The training and dev sentences and the files they came from; the trainer removes their
/// overlapping entities and counts them for the report.
fn training_data(a: &TrainArgs) -> Res<(Vec<Sentence>, Vec<Sentence>, Vec<DataFile>)> {
    let mut train = Vec::new();
    let mut data = Vec::new();
    for path in &a.train {
        let c = Corpus::load(path)?;
        data.push(DataFile::new("train", path, c.sentences.len()));
        train.extend(c.sentences);
    }
    let dev = match &a.dev {
        Some(path) => {
            let c = Corpus::load(path)?;
            data.push(DataFile::new("dev", path, c.sentences.len()));
            c.sentences
        }
        None => Vec::new(),
    };
    Ok((train, dev, data))
}

pub fn predict(a: PredictArgs) -> CliResult {
    // Arguments first: loading a model takes seconds.
    let dev = device(&a.device)?;
    if let Some(t) = a.threshold {
        checks::fraction("--threshold", t)?;
    }
    let load = |types: &[String]| -> Res<Ensemble> {
        let dirs = match a.model.as_slice() {
            [] => {
                let d = shipped::fitting_model(types).ok_or("no --model given and no model in models/")?;
                eprintln!(
                    "note: using {} (the shipped model whose entity types fit; --model to choose)",
                    d.display()
                );
                vec![d]
            }
            given => given.to_vec(),
        };
        let mut models = match dirs.as_slice() {
            [one] if a.weights.is_empty() => Ensemble::load(one, dev)?,
            several => combined::load_together(&weighted_members(several, &a.weights)?, dev)?,
        };
        if let Some(t) = a.threshold {
            models.re_threshold = t;
        }
        if let Some(path) = &a.choose_threshold {
            threshold_on_dev(&mut models, path)?;
        }
        Ok(models)
    };
    if let Some(text) = &a.text {
        return predict_text(&load(&[])?, text);
    }
    let (Some(input), Some(output)) = (&a.input, &a.output) else {
        return Err("give --input FILE --output FILE, or --text \"...\"".into());
    };
    format_arg(a.from.as_deref())?;
    format_arg(a.to.as_deref())?;
    checks::output_not_input(input, output, a.in_place)?;
    checks::writable_file(output)?;
    let corpus = match format_arg(a.from.as_deref())? {
        Some(f) => Corpus::load_as(input, f)?,
        None => Corpus::load(input)?,
    };
    let model = load(&corpus.schema.entity_types)?;
    if let Some(n) = seen_in_training(&model, &corpus.sentences) {
        eprintln!(
            "note: the model was trained on {n} of these {} sentences: scores of its predictions of them overstate it",
            corpus.sentences.len()
        );
    }
    let mut sentences = predict_sentences(&model, &corpus.sentences)?;
    // The output holds the predictions, not what the input was annotated with.
    relarc::corpus::source::forget_annotations(&mut sentences);
    let out = Corpus {
        sentences,
        schema: model.members[0].vocab.schema(),
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

/// The single model folders of `dirs` (combined ones' members in their place) at `weights`,
/// or at equal and stored weights when none are given.
pub fn weighted_members(dirs: &[PathBuf], weights: &[f64]) -> Res<combined::Members> {
    let members = combined::all_members(dirs)?;
    if weights.is_empty() {
        return Ok(members);
    }
    let reweighted = members.reweighted(weights);
    reweighted.map_err(|e| format!("--weights: {e} (a combined model counts its members)").into())
}

/// How many of `sentences` the models were trained on, when they recorded it and it is some.
fn seen_in_training(models: &Ensemble, sentences: &[Sentence]) -> Option<usize> {
    let n = models.trained_on()?.count_in(sentences);
    (n > 0).then_some(n)
}

/// Sets the models' θr to the one with the best relation F1 on the corpus at `path`.
pub(super) fn threshold_on_dev(models: &mut Ensemble, path: &Path) -> Res<()> {
    let dev = load_flat(path)?;
    if let Some(n) = seen_in_training(models, &dev.sentences) {
        eprintln!(
            "note: the model was trained on {n} of the {} sentences of {}: a θr chosen there fits what it learned",
            dev.sentences.len(),
            path.display()
        );
    }
    match choose_on_dev(models, &dev.sentences)? {
        Some((t, _)) => eprintln!(
            "θr chosen on {}: {:.3} (RE micro F1 there {:.2}; {:.2} with θr {:.3})",
            path.display(),
            t.threshold,
            100.0 * t.dev_re_f1,
            100.0 * t.previous_dev_re_f1,
            t.previous
        ),
        None => eprintln!(
            "note: {} has no relations the models could find: θr stays {:.3}",
            path.display(),
            models.re_threshold
        ),
    }
    Ok(())
}

/// Predicts in chunks with a progress bar; each prediction keeps its sentence's other fields.
fn predict_sentences(model: &Ensemble, sentences: &[Sentence]) -> Res<Vec<Sentence>> {
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let bar = ProgressBar::new(tokens.len() as u64);
    let mut predicted: Vec<Sentence> = Vec::with_capacity(tokens.len());
    for (chunk, sents) in tokens.chunks(256).zip(sentences.chunks(256)) {
        let preds = model.predict(chunk)?;
        predicted.extend(preds.iter().zip(sents).map(|(p, s)| p.to_sentence(s)));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(predicted)
}

/// Raw text: split into sentences, tokenized, predicted and printed.
fn predict_text(model: &Ensemble, text: &str) -> CliResult {
    let sentences: Vec<Vec<String>> = split_sentences(text)
        .into_iter()
        .map(|s| s.into_iter().map(|t| t.text).collect())
        .collect();
    if sentences.is_empty() {
        return Err("the text has no tokens".into());
    }
    let slices: Vec<&[String]> = sentences.iter().map(Vec::as_slice).collect();
    let preds = model.predict(&slices)?;
    for (i, (tokens, pred)) in sentences.iter().zip(&preds).enumerate() {
        if sentences.len() > 1 {
            println!("sentence {}:", i + 1);
        }
        print_prediction(tokens, pred);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_prediction(tokens: &[String], pred: &relarc::model::Prediction) {
    let words = |start: usize, end: usize| tokens[start..end].join(" ");
    println!("tokens: {}", tokens.join(" "));
    println!("entities:");
    for (i, e) in pred.entities.iter().enumerate() {
        println!(
            "  [{i}] {:<12} {:?} (tokens {}..{}, score {:.3})",
            e.label,
            words(e.start, e.end),
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
            words(h.start, h.end),
            words(t.start, t.end),
            r.probability
        );
    }
}

pub fn eval(a: EvalArgs) -> CliResult {
    let mut gold = Corpus::load(&a.gold)?;
    let pred = Corpus::load(&a.pred)?;
    note_gold_overlaps(&a.gold, &mut gold.sentences, a.remove_overlaps);
    let misaligned = |e: EvalError| format!("{} vs {}: {e}", a.gold.display(), a.pred.display());
    let report = evaluate(&gold.sentences, &pred.sentences).map_err(misaligned)?;
    let errors = breakdown(&gold.sentences, &pred.sentences).map_err(misaligned)?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["errors"] = serde_json::to_value(&errors)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{report}{errors}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the gold's overlapping entities when asked, and otherwise says that they count
/// against any model that cannot predict them, so that the user is not puzzled by scores
/// below those of `cv` on the same file.
fn note_gold_overlaps(path: &Path, gold: &mut [Sentence], remove: bool) {
    let removed = if remove {
        remove_overlaps_all(gold)
    } else {
        remove_overlaps_all(&mut gold.to_vec())
    };
    if removed.entities == 0 {
        return;
    }
    if remove {
        eprintln!("note: removed {removed} of {}", path.display());
    } else {
        let (entities, relations, sentences) = (removed.entities, removed.relations, removed.sentences);
        eprintln!(
            "note: {} has overlapping entities in {sentences} sentences; a BIO tagger misses at least {entities} \
             entities and {relations} relations there. --remove-overlaps removes them from the gold first, as `cv` does",
            path.display()
        );
    }
}

/// Prints a protocol's progress on stderr, with the time left at the pace of the runs trained
/// so far by this command (runs kept from an earlier one took no time here), `jobs` at once.
pub(super) fn progress_printer(jobs: usize) -> impl FnMut(Progress) + Send {
    let mut started = std::time::Instant::now();
    let mut trained: Vec<f64> = Vec::new();
    move |p| {
        match p {
            Progress::Scored {
                resumed: false,
                seconds,
                ..
            } => trained.push(seconds),
            // Jobs start at once when the shared features are ready, or after the trials' dev run.
            Progress::Preparing { done, total } if done == total => started = std::time::Instant::now(),
            Progress::ChosenOnDev { .. } => started = std::time::Instant::now(),
            _ => {}
        }
        let elapsed = started.elapsed().as_secs_f64();
        let left = |done: usize, total: usize| match relarc::train::protocol::eta::seconds_left(
            elapsed,
            &trained,
            total - done,
            jobs,
        ) {
            Some(s) if done < total => format!(", about {:.0} min left", s / 60.0),
            _ => String::new(),
        };
        bars().suspend(|| show_progress_line(p, &left))
    }
}

fn show_progress_line(p: Progress, left: &dyn Fn(usize, usize) -> String) {
    match p {
        Progress::Scored {
            label,
            best_epoch,
            seconds,
            test,
            resumed,
            done,
            total,
        } => {
            let earlier = if resumed { " (finished before: kept)" } else { "" };
            eprintln!("{label}: best epoch {best_epoch}, {seconds:.0} s{earlier}");
            print_metrics("NER", &test.ner);
            print_metrics("RE", &test.re);
            eprintln!("{done} of {total} runs finished{}", left(done, total));
        }
        Progress::Preparing { done, total } if done == total => {
            eprintln!("encoder features of {total} sentences ready (computed once for all jobs)")
        }
        Progress::Preparing { .. } => {}
        Progress::Together { fold, seeds, test } => {
            eprintln!("fold {fold}, the {seeds} seeds' models together:");
            print_metrics("NER", &test.ner);
            print_metrics("RE", &test.re);
        }
        Progress::ChosenOnDev { epochs, threshold } => {
            eprintln!("chose {epochs} epochs on dev, and θr {threshold:.3}")
        }
    }
}

pub(super) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

pub fn cv(a: CvArgs) -> CliResult {
    a.common.check()?;
    if let Some(k) = a.max_folds {
        checks::at_least_one("--max-folds", k)?;
    }
    checks::fraction_or_none("--dev-fraction", a.dev_fraction)?;
    checks::at_least_one("--jobs", a.jobs)?;
    checks::at_least_one("--seeds", a.seeds)?;
    checks::writable_dir(&a.out)?;
    let plan = CvPlan {
        config: config(&a.common)?,
        options: options(&a.common, a.common.seed)?,
        folds: a.folds.clone(),
        dev_fraction: a.dev_fraction,
        max_folds: a.max_folds,
        only_folds: (a.only_folds.as_deref())
            .map(|text| {
                relarc::study::plan::parse_numbers(text, "a fold number")
                    .map_err(|e| format!("--only-folds: {e}"))
            })
            .transpose()?,
        jobs: a.jobs,
        out: a.out.clone(),
        command: command_line(),
    };
    if a.seeds > 1 {
        return cv_seeds(&plan, a.seeds);
    }
    let report = cross_validate(&plan, &run_job, &mut progress_printer(plan.jobs))?;
    let folds: Vec<usize> = report.folds.iter().map(|f| f.fold).collect();
    eprint!(
        "{} over {} runs (mean ± standard deviation, %):\n{}",
        which_folds(&plan, &folds),
        report.summary.runs,
        report.summary
    );
    eprintln!("reports in {}", plan.out.display());
    Ok(ExitCode::SUCCESS)
}

fn cv_seeds(plan: &CvPlan, seeds: usize) -> CliResult {
    let report = cross_validate_seeds(plan, seeds, &run_job, &mut progress_printer(plan.jobs))?;
    let folds: Vec<usize> = report.folds.iter().map(|f| f.fold).collect();
    let which = which_folds(plan, &folds);
    for run in &report.seeds {
        eprint!(
            "{which}, seed {} alone (mean ± standard deviation over folds, %):\n{}",
            run.seed, run.summary
        );
    }
    eprint!(
        "{which}, the {seeds} seeds' models together (mean ± standard deviation over folds, %):\n{}",
        report.summary
    );
    eprintln!("reports in {}", plan.out.display());
    Ok(ExitCode::SUCCESS)
}

fn which_folds(plan: &CvPlan, folds: &[usize]) -> String {
    match plan.only_folds {
        None => format!("{}-fold cross-validation", folds.len()),
        Some(_) => {
            let folds: Vec<String> = folds.iter().map(usize::to_string).collect();
            format!("cross-validation folds {}", folds.join(", "))
        }
    }
}

pub fn trials(a: TrialsArgs) -> CliResult {
    a.common.check()?;
    checks::at_least_one("--n", a.n)?;
    checks::at_least_one("--jobs", a.jobs)?;
    checks::writable_dir(&a.out)?;
    let plan = TrialsPlan {
        config: config(&a.common)?,
        options: options(&a.common, a.common.seed)?,
        train: a.train.clone(),
        dev: a.dev.clone(),
        test: a.test.clone(),
        n: a.n,
        jobs: a.jobs,
        out: a.out.clone(),
        command: command_line(),
    };
    let report = run_trials(&plan, &run_job, &mut progress_printer(plan.jobs))?;
    eprint!(
        "{} trials on {} over {} runs (mean ± standard deviation, %):\n{}",
        a.n,
        a.test.display(),
        report.summary.runs,
        report.summary
    );
    Ok(ExitCode::SUCCESS)
}
