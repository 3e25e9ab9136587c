//! Command-line parsing and dispatch.

mod bench_cmd;
mod checks;
mod corpus_cmds;
mod model_cmds;
mod predict_cmds;
mod progress;
mod study_cmds;
mod together_cmd;
mod train_cmds;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(
    name = "relarc",
    version,
    about = "Joint named-entity recognition and relation extraction",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: a corpus to open in the desktop app (the demo corpus otherwise).
    pub path: Option<std::path::PathBuf>,
    /// Without a subcommand: a model folder to load (otherwise the shipped model in models/
    /// whose entity types fit the corpus, models/conll04 for none).
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Threads for libtorch and relarc's kernels (default: the cores available to this
    /// process, from its CPU affinity and cgroup quota; also RELARC_THREADS).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert a corpus between formats (json, jsonl, brat, doccano, conll).
    Convert(corpus_cmds::ConvertArgs),
    /// Print corpus statistics: sentences, tokens, entities and relations per type, overlaps.
    Stats(corpus_cmds::StatsArgs),
    /// Check a corpus for problems, optionally against a schema.
    Validate(corpus_cmds::ValidateArgs),
    /// Print the schema (entity types, relation types and their argument types) of a corpus.
    Schema(corpus_cmds::SchemaArgs),
    /// Write a seeded dev split or k cross-validation folds of a corpus.
    Split(corpus_cmds::SplitArgs),
    /// Train a model with early stopping on dev; writes the best model and report.json.
    Train(train_cmds::TrainArgs),
    /// Annotate a corpus or a text with a trained model.
    Predict(predict_cmds::PredictArgs),
    /// Score predictions against gold: strict NER, strict RE, RE boundaries.
    Eval(predict_cmds::EvalArgs),
    /// The ADE protocol: k-fold cross-validation with a seeded dev part of each training fold.
    Cv(train_cmds::CvArgs),
    /// Score cross-validation runs made apart (other seeds, poolings, configurations) with
    /// their models predicting together on each test fold.
    CvTogether(together_cmd::CvTogetherArgs),
    /// Keep trained models as one combined model folder whose members predict together
    /// (the app and predict load it like any model).
    Combine(together_cmd::CombineArgs),
    /// The CoNLL04 protocol: epochs chosen on dev, then N seeds on train+dev, scored on test.
    Trials(train_cmds::TrialsArgs),
    /// The paper's Table 3: the baseline and its variants without task-specific layers,
    /// parameter-matched, over several seeds.
    Ablate(study_cmds::AblateArgs),
    /// The layer-count search: every shared / NER / RE layer combination ranked on dev.
    Search(study_cmds::SearchArgs),
    /// Run one job of a study plan (the index from --index, SLURM_ARRAY_TASK_ID or
    /// JOB_COMPLETION_INDEX); a finished job is not run again.
    Job(study_cmds::JobArgs),
    /// Build a study's table from its finished jobs and say which are missing.
    Collect(study_cmds::CollectArgs),
    /// Task affinity: train NER-only and RE-only models, compare their layers on dev, and
    /// suggest how many layers to share.
    Affinity(study_cmds::AffinityArgs),
    /// Print a model's architecture and trainable parameter count per part.
    Info(model_cmds::InfoArgs),
    /// Static word vectors: coverage of a corpus, conversion to relarc's fast-loading form.
    Vectors(model_cmds::VectorsArgs),
    /// Measure training, inference, corpus and view speed here; append to docs/BENCHMARKS.md.
    Bench(bench_cmd::BenchArgs),
    /// Show the compute environment: libtorch, threads, CUDA, resources, feature cache.
    Doctor,
}

pub fn run(cli: Cli) -> CliResult {
    if let Some(n) = cli.threads {
        // Children (bench, studies) inherit it too.
        std::env::set_var(relarc::threads::VARIABLE, n.to_string());
    }
    relarc::threads::ThreadPolicy::detect()?.apply();
    match cli.command {
        Some(Command::Convert(a)) => corpus_cmds::convert(a),
        Some(Command::Stats(a)) => corpus_cmds::stats(a),
        Some(Command::Validate(a)) => corpus_cmds::validate(a),
        Some(Command::Schema(a)) => corpus_cmds::schema(a),
        Some(Command::Split(a)) => corpus_cmds::split(a),
        Some(Command::Info(a)) => model_cmds::info(a),
        Some(Command::Vectors(a)) => model_cmds::vectors(a),
        Some(Command::Train(a)) => train_cmds::train(a),
        Some(Command::Predict(a)) => predict_cmds::predict(a),
        Some(Command::Eval(a)) => predict_cmds::eval(a),
        Some(Command::Cv(a)) => train_cmds::cv(a),
        Some(Command::CvTogether(a)) => together_cmd::cv_together(a),
        Some(Command::Combine(a)) => together_cmd::combine(a),
        Some(Command::Trials(a)) => train_cmds::trials(a),
        Some(Command::Ablate(a)) => study_cmds::ablate(a),
        Some(Command::Search(a)) => study_cmds::search(a),
        Some(Command::Job(a)) => study_cmds::job(a),
        Some(Command::Collect(a)) => study_cmds::collect_cmd(a),
        Some(Command::Affinity(a)) => study_cmds::affinity(a),
        Some(Command::Bench(a)) => bench_cmd::bench(a),
        Some(Command::Doctor) => doctor(),
        None => open_app(cli),
    }
}

#[cfg(feature = "gui")]
fn open_app(cli: Cli) -> CliResult {
    relarc::app::run(cli.path.as_deref(), cli.model.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
fn open_app(_cli: Cli) -> CliResult {
    Err("this relarc was built without the desktop app (cargo feature `gui`); use a subcommand (relarc --help)".into())
}

fn doctor() -> CliResult {
    println!("relarc {}", env!("CARGO_PKG_VERSION"));
    let policy = relarc::threads::ThreadPolicy::detect()?;
    println!(
        "threads           {} ({}; {} cores available: CPU affinity and cgroup quota; training steps of batches up to {} sentences: {})",
        tch::get_num_threads(),
        policy.source,
        policy.cores,
        relarc::threads::SMALL_BATCH,
        policy.for_training(relarc::threads::SMALL_BATCH)
    );
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unset".into());
    println!(
        "OpenMP waiting    GOMP_SPINCOUNT={} OMP_WAIT_POLICY={} (libgomp reads them at start)",
        env("GOMP_SPINCOUNT"),
        env("OMP_WAIT_POLICY")
    );
    let cuda = tch::Cuda::is_available();
    println!("CUDA available    {cuda}");
    if cuda {
        println!("CUDA devices      {}", tch::Cuda::device_count());
    }
    let device = tch::Device::cuda_if_available();
    println!("device            {device:?}");
    match relarc::pretrained::encoder::Precision::for_device(device) {
        Ok(p) => {
            println!(
            "encoder products  {} (RELARC_ENCODER_PRECISION=f32|bf16|auto; CPU bfloat16 instructions: {})",
            p.name(),
            if relarc::pretrained::encoder::precision::cpu_has_bf16() { "yes" } else { "no" }
        )
        }
        Err(e) => println!("encoder products  {e}"),
    }
    if let Ok(p) = relarc::pretrained::encoder::Precision::for_fine_tuning(device) {
        use relarc::pretrained::encoder::Precision::{BFloat16, Float32};
        let how = match p {
            Float32 => "RELARC_ENCODER_PRECISION=bf16 for mixed precision",
            BFloat16 => "mixed precision: weights and gradients float32",
        };
        println!("fine-tuning       {} products ({how})", p.name());
    }
    let res = relarc::pretrained::resources_dir();
    println!("resources         {}", res.display());
    for name in ["all-mpnet-base-v2", "all-minilm-l6-v2", "glove-6b-50d"] {
        let here = res.join(name).join("SOURCE.json").exists();
        println!(
            "  {name:<18} {}",
            if here {
                "present"
            } else {
                "missing (scripts/fetch_resources.py)"
            }
        );
    }
    match relarc::pretrained::cache::default_dir() {
        Some(d) => println!("feature cache     {} (safe to delete)", d.display()),
        None => println!("feature cache     memory only (no HOME)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A path argument with an optional explicit format.
pub fn format_arg(name: Option<&str>) -> Result<Option<relarc::corpus::Format>, String> {
    match name {
        None => Ok(None),
        Some(n) => relarc::corpus::Format::parse(n)
            .map(Some)
            .ok_or_else(|| format!("unknown format {n:?}; use json, jsonl, brat, doccano or conll")),
    }
}
