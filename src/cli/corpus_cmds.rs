//! Corpus commands: convert, stats, validate, schema, split.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use relarc::corpus::formats::conll::{self, ConllOptions, Scheme};
use relarc::corpus::formats::{doccano, Options};
use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{split, stats, Corpus, Format, Schema};

use super::{checks, format_arg, CliResult};

/// How CoNLL columns and doccano label ids are read and written.
#[derive(Args, Debug, Default)]
pub struct ColumnArgs {
    /// CoNLL: the column of the token, counted from 1 (found from the content by default).
    #[arg(long)]
    pub token_column: Option<usize>,
    /// CoNLL: the column of the tag, counted from 1 (the last, GermEval's outer layer, or
    /// CoNLL-U's MISC by default).
    #[arg(long)]
    pub tag_column: Option<usize>,
    /// CoNLL output: the tag scheme (iob1, iob2, bioes, bilou, bmes, io); the one read by
    /// default, else iob2.
    #[arg(long)]
    pub scheme: Option<String>,
    /// doccano 1.x: the project's label export (`[{"id": 12, "text": "LOC"}]`) to turn label
    /// ids into names (kept as ids otherwise).
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

impl ColumnArgs {
    fn options(&self, to: Option<&str>) -> Result<Options, Box<dyn std::error::Error>> {
        let column = |name: &str, v: Option<usize>| match v {
            Some(0) => Err(format!("{name} counts from 1")),
            v => Ok(v.map(|c| c - 1)),
        };
        let scheme = match self
            .scheme
            .as_deref()
            .or(to.filter(|t| Scheme::parse(t).is_some()))
        {
            Some(s) => Some(Scheme::parse(s).ok_or_else(|| {
                format!("unknown --scheme {s:?}: use iob1, iob2, bioes, bilou, bmes or io")
            })?),
            None => None,
        };
        Ok(Options {
            conll: ConllOptions {
                token_column: column("--token-column", self.token_column)?,
                tag_column: column("--tag-column", self.tag_column)?,
                scheme,
            },
            doccano_labels: self.labels.as_deref().map(doccano::label_names).transpose()?,
        })
    }
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input corpus (file, or brat folder).
    pub input: PathBuf,
    /// Output corpus (file, or brat folder).
    pub output: PathBuf,
    /// Input format, when the file name does not tell.
    #[arg(long)]
    pub from: Option<String>,
    /// Output format, when the file name does not tell.
    #[arg(long)]
    pub to: Option<String>,
    /// Remove overlapping entities as the paper does for ADE (keep the longer span).
    #[arg(long)]
    pub remove_overlaps: bool,
    /// Allow the output to be the input (the input is first kept as INPUT.relarc-backup).
    #[arg(long)]
    pub in_place: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// One or more corpora.
    #[arg(required = true)]
    pub corpora: Vec<PathBuf>,
    #[arg(long)]
    pub from: Option<String>,
    /// Print JSON (the keys of shared/data/STATS.json).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    pub corpus: PathBuf,
    #[arg(long)]
    pub from: Option<String>,
    /// A schema (from `relarc schema`) the corpus must keep to: unknown types and relation
    /// argument types it does not allow are problems.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct SchemaArgs {
    pub corpus: PathBuf,
    #[arg(long)]
    pub from: Option<String>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    pub corpus: PathBuf,
    /// Folder to write the parts to (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Fraction held out as dev (`train.json`, `dev.json`).
    #[arg(long, conflicts_with = "folds")]
    pub dev_fraction: Option<f64>,
    /// Number of cross-validation folds (`split_K_train.json`, `split_K_test.json`).
    #[arg(long)]
    pub folds: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub from: Option<String>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

fn load(path: &Path, from: Option<&str>, columns: &ColumnArgs) -> Result<Corpus, Box<dyn std::error::Error>> {
    let format = match format_arg(from)? {
        Some(f) => f,
        None => Format::detect_input(path)?,
    };
    let opts = columns.options(None)?;
    if format == Format::Conll {
        // The columns and tag scheme were found from the content: say what was read.
        eprintln!(
            "note: {}: read as CoNLL columns; {}",
            path.display(),
            conll::describe(path, &opts.conll)?
        );
    }
    let corpus = Corpus::load_with(path, format, &opts)?;
    for note in corpus.read_notes() {
        eprintln!("note: {note}");
    }
    Ok(corpus)
}

pub fn convert(a: ConvertArgs) -> CliResult {
    let to = format_arg(a.to.as_deref())?;
    checks::output_not_input(&a.input, &a.output, a.in_place)?;
    checks::writable_file(&a.output)?;
    let mut corpus = load(&a.input, a.from.as_deref(), &a.columns)?;
    if a.remove_overlaps {
        let removed = remove_overlaps_all(&mut corpus.sentences);
        eprintln!("note: removed {removed}");
    }
    let format = match to {
        Some(f) => f,
        None => Format::detect_output(&a.output)?,
    };
    let notes = corpus.save_with(&a.output, format, &a.columns.options(a.to.as_deref())?)?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "wrote {} sentences, {} entities, {} relations to {} ({format})",
        corpus.sentences.len(),
        corpus.num_entities(),
        if format.holds_relations() {
            corpus.num_relations()
        } else {
            0
        },
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn stats(a: StatsArgs) -> CliResult {
    let mut all = serde_json::Map::new();
    for path in &a.corpora {
        let corpus = load(path, a.from.as_deref(), &a.columns)?;
        let st = stats::compute(&corpus.sentences);
        if a.json {
            all.insert(path.display().to_string(), serde_json::to_value(&st)?);
        } else {
            if a.corpora.len() > 1 {
                println!("== {}", path.display());
            }
            println!("{st}");
        }
    }
    if a.json {
        let out = if all.len() == 1 {
            all.into_iter().next().map(|(_, v)| v).unwrap_or_default()
        } else {
            serde_json::Value::Object(all)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn validate(a: ValidateArgs) -> CliResult {
    let corpus = load(&a.corpus, a.from.as_deref(), &a.columns)?;
    let schema = a.schema.as_deref().map(Schema::load).transpose()?;
    let problems = corpus.validate(&a.corpus, schema.as_ref());
    if problems.is_empty() {
        let kept = corpus
            .kept_aside()
            .map(|k| format!("; kept aside, written back unchanged: {k}"))
            .unwrap_or_default();
        println!(
            "{}: ok ({} sentences, {} entities, {} relations{kept})",
            a.corpus.display(),
            corpus.sentences.len(),
            corpus.num_entities(),
            corpus.num_relations()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        println!("{p}");
    }
    eprintln!("error: {} has {} problems", a.corpus.display(), problems.len());
    Ok(ExitCode::from(1))
}

pub fn schema(a: SchemaArgs) -> CliResult {
    let corpus = load(&a.corpus, a.from.as_deref(), &a.columns)?;
    println!("{}", corpus.schema.to_json());
    Ok(ExitCode::SUCCESS)
}

pub fn split(a: SplitArgs) -> CliResult {
    checks::writable_dir(&a.out)?;
    let corpus = load(&a.corpus, a.from.as_deref(), &a.columns)?;
    let save = |c: &Corpus, name: String| -> Result<(), Box<dyn std::error::Error>> {
        let p = a.out.join(name);
        c.save_as(&p, Format::Json)?;
        eprintln!("wrote {} ({} sentences)", p.display(), c.sentences.len());
        Ok(())
    };
    match (a.dev_fraction, a.folds) {
        (_, Some(k)) => {
            if k < 2 || k > corpus.sentences.len() {
                return Err(format!(
                    "--folds must be between 2 and the number of sentences ({})",
                    corpus.sentences.len()
                )
                .into());
            }
            for (i, (train, test)) in split::folds(&corpus, k, a.seed).iter().enumerate() {
                save(train, format!("split_{i}_train.json"))?;
                save(test, format!("split_{i}_test.json"))?;
            }
        }
        (Some(f), None) => {
            if !(0.0..1.0).contains(&f) || f == 0.0 {
                return Err("--dev-fraction must be in (0, 1)".into());
            }
            let (dev, train) = split::holdout(&corpus, f, a.seed);
            save(&train, "train.json".into())?;
            save(&dev, "dev.json".into())?;
        }
        (None, None) => return Err("give --dev-fraction F or --folds K".into()),
    }
    Ok(ExitCode::SUCCESS)
}
