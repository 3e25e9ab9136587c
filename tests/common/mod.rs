//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A JSON file the test expects to be there and well-formed.
pub fn read_json(path: impl AsRef<Path>) -> serde_json::Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The project's shared data (`../shared/data`, or `RELARC_DATA`). Returns None, after saying
/// so, when it is absent on a developer machine; in CI its absence fails the test.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RELARC_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("conll04/train.json").exists() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("the shared data is missing at {}", dir.display());
    }
    eprintln!("skipped: no shared data at {} (set RELARC_DATA)", dir.display());
    None
}

/// Every corpus file of the shared data, relative to it.
pub fn corpus_files(data: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in [
        "conll04",
        "conll04/spert_split",
        "ade",
        "raw/spert_conll04",
        "raw/spert_ade",
    ] {
        let Ok(entries) = std::fs::read_dir(data.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".json") && !name.starts_with("overlapping") {
                files.push(p.strip_prefix(data).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

pub fn relarc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relarc"))
}

pub fn run(args: &[&str]) -> Output {
    relarc().args(args).output().expect("relarc runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A fetched pre-trained resource (`scripts/fetch_resources.py`), or None after saying the
/// test is skipped and why.
pub fn resource(name: &str) -> Option<PathBuf> {
    let dir = relarc::pretrained::resources_dir().join(name);
    if dir.join("SOURCE.json").exists() {
        return Some(dir);
    }
    eprintln!(
        "SKIPPED: pre-trained resource {name} is not in {} (run `.venv/bin/python3 scripts/fetch_resources.py`; `make test` does)",
        dir.display()
    );
    None
}

/// Writes a tiny randomly initialised BERT checkpoint folder (config.json, model.safetensors,
/// tokenizer.json with a letters-and-digits WordPiece vocabulary): the real loading and
/// encoding code paths, fast and without downloads.
pub fn tiny_bert(dir: &Path, seed: i64) {
    use serde_json::json;
    std::fs::create_dir_all(dir).unwrap();
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"].map(String::from).to_vec();
    for c in ('a'..='z').chain('0'..='9') {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    for p in [",", ".", "-", "(", ")", "'", ";", ":"] {
        vocab.push(p.to_string());
    }
    let (h, layers, heads, inter) = (16i64, 2, 2, 32i64);
    let config = json!({
        "model_type": "bert", "hidden_size": h, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": inter, "max_position_embeddings": 64,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu", "type_vocab_size": 2,
        "vocab_size": vocab.len()
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let special = |id: usize, s: &str| json!({"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true});
    let tokenizer = json!({
        "version": "1.0", "truncation": {"max_length": 8, "strategy": "LongestFirst", "stride": 0, "direction": "Right"},
        "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
            "vocab": vocab.iter().enumerate().map(|(i, v)| (v.clone(), json!(i))).collect::<serde_json::Map<_, _>>()}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    // Drawn under the generator's lock: tests of this binary that train run at once.
    let t = relarc::model::random::seeded(seed as u64, || {
        tiny_bert_weights(vocab.len() as i64, h, layers, inter)
    });
    tch::Tensor::write_safetensors(&t, dir.join("model.safetensors")).unwrap();
}

fn tiny_bert_weights(v: i64, h: i64, layers: i64, inter: i64) -> Vec<(String, tch::Tensor)> {
    use tch::{Kind, Tensor};
    let r = |shape: &[i64]| Tensor::randn(shape, (Kind::Float, tch::Device::Cpu)) * 0.2;
    let mut t: Vec<(String, Tensor)> = vec![
        ("embeddings.word_embeddings.weight".into(), r(&[v, h])),
        ("embeddings.position_embeddings.weight".into(), r(&[64, h])),
        ("embeddings.token_type_embeddings.weight".into(), r(&[2, h])),
        (
            "embeddings.LayerNorm.weight".into(),
            Tensor::ones([h], (Kind::Float, tch::Device::Cpu)),
        ),
        ("embeddings.LayerNorm.bias".into(), r(&[h])),
    ];
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", inter, h),
            ("output.dense", h, inter),
        ] {
            t.push((format!("{p}.{name}.weight"), r(&[out, inp])));
            t.push((format!("{p}.{name}.bias"), r(&[out])));
        }
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((
                format!("{p}.{n}.weight"),
                Tensor::ones([h], (Kind::Float, tch::Device::Cpu)),
            ));
            t.push((format!("{p}.{n}.bias"), r(&[h])));
        }
    }
    t
}

/// A sentence from space-separated text with (type, start, end) entities and
/// (type, head, tail) relations.
pub fn annotated(
    text: &str,
    entities: &[(&str, usize, usize)],
    relations: &[(&str, usize, usize)],
) -> relarc::corpus::Sentence {
    use relarc::corpus::{Entity, Relation, Sentence};
    let mut s = Sentence::new(text.split(' ').map(String::from).collect());
    s.entities = entities.iter().map(|&(l, a, b)| Entity::new(l, a, b)).collect();
    s.relations = relations
        .iter()
        .map(|&(l, h, t)| Relation::new(l, h, t))
        .collect();
    s
}
