//! Model commands: info.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use relarc::corpus::{Corpus, RelationType, Schema};
use relarc::embed::vocab::Index;
use relarc::embed::Vocabulary;
use relarc::model::recipe::Sizes;
use relarc::model::{Ensemble, Model, ModelConfig, Recipe};
use tch::Device;

use super::CliResult;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A trained model folder (single or combined) to describe instead of a preset: its card
    /// (the app's) and its trainable parameters by part.
    #[arg(long, conflicts_with_all = ["preset", "contextual_dim", "word_dim", "train"])]
    pub model: Option<PathBuf>,
    /// conll04 or ade (paper Table 1, with pre-trained inputs), or with -minilm or -learned.
    #[arg(long, default_value = "conll04")]
    pub preset: String,
    /// Size of each layer of frozen contextual vectors (e.g. 1024 for ELMo).
    #[arg(long)]
    pub contextual_dim: Option<i64>,
    /// Number of contextual layers mixed (ELMo: 3).
    #[arg(long, default_value_t = 3)]
    pub contextual_layers: i64,
    /// Size of frozen pre-trained word vectors (e.g. 300 for GloVe 840B); without it the
    /// preset learns 100-d word vectors.
    #[arg(long)]
    pub word_dim: Option<i64>,
    /// Build the vocabularies from this training corpus instead of the preset's label sets.
    #[arg(long)]
    pub train: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VectorsArgs {
    /// A resource name (glove-6b-50d), a converted folder, or a GloVe / word2vec / fastText
    /// text file.
    pub vectors: String,
    /// Report how much of these corpora the vectors cover (exact form, then lower-cased).
    #[arg(long)]
    pub corpus: Vec<PathBuf>,
    /// Write the converted form (vocab.txt + vectors.npy) to this folder.
    #[arg(long)]
    pub convert: Option<PathBuf>,
}

pub fn vectors(a: VectorsArgs) -> CliResult {
    let path = relarc::pretrained::resources::locate(&a.vectors)?;
    let v = relarc::pretrained::StaticVectors::load(&path)?;
    println!("{}: {} words × {} dimensions", path.display(), v.len(), v.dim);
    for c in &a.corpus {
        let corpus = Corpus::load(c)?;
        let cov = v.coverage(
            corpus
                .sentences
                .iter()
                .flat_map(|s| s.tokens.iter().map(String::as_str)),
        );
        println!("{}: {cov}", c.display());
    }
    if let Some(out) = &a.convert {
        v.save_converted(out)?;
        println!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Label sets of the datasets the presets are for, used when no corpus is given.
fn preset_schema(preset: &str) -> Schema {
    let rel = |name: &str, h: &str, t: &str| RelationType {
        name: name.into(),
        signatures: vec![(h.into(), t.into())],
    };
    match preset {
        "ade" => Schema {
            entity_types: vec!["Adverse-Effect".into(), "Drug".into()],
            relation_types: vec![rel("Adverse-Effect", "Adverse-Effect", "Drug")],
        },
        _ => Schema {
            entity_types: ["Loc", "Org", "Other", "Peop"].map(String::from).to_vec(),
            relation_types: vec![
                rel("Kill", "Peop", "Peop"),
                rel("Live_In", "Peop", "Loc"),
                rel("Located_In", "Loc", "Loc"),
                rel("OrgBased_In", "Org", "Loc"),
                rel("Work_For", "Peop", "Org"),
            ],
        },
    }
}

pub fn info(a: InfoArgs) -> CliResult {
    if let Some(dir) = &a.model {
        return info_model(dir);
    }
    let recipe = Recipe {
        sizes: Sizes {
            contextual: a.contextual_dim.map(|dim| (a.contextual_layers, dim)),
            word_dim: a.word_dim,
        },
        ..Recipe::preset(&a.preset)
    };
    let cfg = recipe.build()?;
    let vocab = info_vocabulary(&a, &cfg)?;
    let mut model = Model::new(cfg.clone(), vocab.clone(), Device::Cpu);
    // A fine-tuned encoder's weights are the model's: counting them needs the checkpoint.
    let encoder_missing = cfg
        .inputs
        .fine_tunes()
        .then(|| model.attach_inputs().err())
        .flatten();
    println!(
        "preset {}: {:?} BiRNNs of {} per direction; shared {}, NER-specific {}, RE-specific {}",
        a.preset, cfg.rnn, cfg.rnn_size, cfg.shared_layers, cfg.ner_layers, cfg.re_layers
    );
    println!("inputs: {}", relarc::model::card::inputs_summary(&cfg).join(", "));
    print_resources(&cfg, a.contextual_dim.is_some());
    match (relarc::model::card::encoder_summary(&model), encoder_missing) {
        (_, Some(why)) => println!("encoder: fine-tuned; its weights cannot be counted here: {why}"),
        (Some(e), None) => println!("encoder: {e}"),
        (None, None) => {}
    }
    println!(
        "NER: FFNN(e1) {:?} {} → FFNN(e2) {} BIO tags → CRF; RE: label embedding {}, DistMult × {} relation types, FFNN(r1) {:?} {}, cosine, FFNN(r2); θr {}, λr {}",
        cfg.ner_ffnn.activation,
        cfg.ner_ffnn.size,
        vocab.num_tags(),
        cfg.label_embedding,
        vocab.relation_types.len(),
        cfg.re_ffnn.activation,
        cfg.re_ffnn.size,
        cfg.re_threshold,
        cfg.re_weight
    );
    let averaged = cfg.average_epochs.map_or(String::new(), |e| {
        format!("; weights: {}", relarc::model::card::averaged_weights(e))
    });
    println!(
        "training: {:?}, learning rate {}, batch {}, dropout {} before BiRNNs and {} before RE scoring{averaged}",
        cfg.optimizer, cfg.learning_rate, cfg.batch_size, cfg.rnn_dropout, cfg.re_dropout
    );
    println!("\ntrainable parameters by part:");
    print_parameters(&model);
    if a.train.is_none() && cfg.inputs.word.as_ref().is_some_and(|w| w.trainable) {
        println!("(learned word vectors grow with the training vocabulary; give --train FILE to count them)");
    }
    Ok(ExitCode::SUCCESS)
}

/// A trained model's card, then each member's trainable parameters by part.
fn info_model(dir: &Path) -> CliResult {
    let models = Ensemble::load(dir, Device::Cpu)?;
    for (what, value) in relarc::model::card::ensemble_card(&models, Some(dir)) {
        println!("{what}: {value}");
    }
    for (i, m) in models.members.iter().enumerate() {
        match models.members.len() {
            1 => println!("\ntrainable parameters by part:"),
            _ => println!("\ntrainable parameters of member {} by part:", i + 1),
        }
        print_parameters(m);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_parameters(model: &Model) {
    for (part, n) in model.trainable_parameters() {
        println!("  {part:<28} {n:>10}");
    }
    println!("  {:<28} {:>10}", "total", model.num_trainable_parameters());
}

/// The training corpus's vocabularies, or the preset's label sets without one.
fn info_vocabulary(a: &InfoArgs, cfg: &ModelConfig) -> Result<Vocabulary, Box<dyn std::error::Error>> {
    Ok(match &a.train {
        Some(path) => {
            let corpus = Corpus::load(path)?;
            let min_count = cfg.inputs.word.as_ref().map_or(1, |w| w.min_count);
            Vocabulary::build(&corpus.sentences, &corpus.schema, min_count)
        }
        None => {
            let mut v = Vocabulary::build(std::iter::empty(), &preset_schema(&a.preset), 1);
            // About the number of distinct characters in CoNLL04 or ADE.
            v.chars = Index::new((33u8..123).map(|c| (c as char).to_string()));
            v
        }
    })
}

/// Where each pre-trained file comes from, or why it is not there.
fn print_resources(cfg: &ModelConfig, sizes_given: bool) {
    for name in cfg.inputs.resource_names() {
        // Sizes given on the command line name no file.
        if sizes_given && name.contains(' ') {
            continue;
        }
        match relarc::pretrained::resources::locate(name) {
            Ok(path) => println!("loads {name} from {}", path.display()),
            Err(e) => println!("loads {name}: NOT AVAILABLE: {e}"),
        }
    }
}
