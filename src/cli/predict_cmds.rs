//! Commands that use trained models: predict and eval.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::ProgressBar;
use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{Corpus, Format, Sentence};
use relarc::eval::breakdown::breakdown;
use relarc::eval::{evaluate, EvalError};
use relarc::model::{combined, shipped, Ensemble};
use relarc::text::split_sentences;
use relarc::train::threshold::choose_on_dev;

use super::train_cmds::{device, load_flat};
use super::{checks, format_arg, CliResult};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

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
