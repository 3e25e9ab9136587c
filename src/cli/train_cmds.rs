//! Training commands: train, cv, trials, and what they share with the studies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{Corpus, Sentence};
use relarc::model::{Model, ModelConfig, Recipe};
use relarc::train::protocol::{cross_validate, cross_validate_seeds, run_trials, CvPlan, TrialsPlan};
use relarc::train::report::{DataFile, RunReport};
use relarc::train::{TrainJob, TrainOptions};
use tch::Device;

use super::progress::{print_metrics, progress_printer, run_job};
use super::{checks, CliResult};

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
    /// Give the relation scorer the tokens between the two entities too, max-pooled to a
    /// vector of N (not in the paper; 0 turns off what a --config file turns on).
    #[arg(long, value_name = "N")]
    pub re_context: Option<i64>,
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
        if let Some(n) = self.re_context {
            checks::size_or_none("--re-context", n)?;
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
            || self.re_context.is_some()
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
    if let Some(n) = a.re_context {
        config.re_context = (n != 0).then_some(n);
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

pub(super) fn load_flat(path: &Path) -> Res<Corpus> {
    let mut c = Corpus::load(path)?;
    remove_overlaps_all(&mut c.sentences);
    Ok(c)
}

pub fn train(a: TrainArgs) -> CliResult {
    a.common.check()?;
    if a.init.is_some() && a.common.names_a_configuration() {
        return Err("--init continues that model with its own configuration: leave out --preset, --config, --encoder, --word-vectors, --pooling, the --fine-tune flags, --encoder-lr, --average-epochs and --re-context".into());
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
