//! Pre-trained inputs: static vectors, the feature cache, and training with a frozen encoder
//! and frozen vectors (a tiny random BERT and a small vector file, so it runs everywhere).

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use relarc::corpus::Sentence;
use relarc::model::config::{ContextualInput, WordInput};
use relarc::model::{Model, ModelConfig};
use relarc::pretrained::cache::FeatureCache;
use relarc::pretrained::{Featurizer, Pooling, StaticVectors};
use relarc::train::run::train;
use relarc::train::{TrainJob, TrainOptions};
use tch::{Device, Kind, Tensor};

/// One folder for this test binary: a tiny encoder, a vector file and the feature cache.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        common::tiny_bert(&dir.path().join("tiny-bert"), 7);
        // Its own encoder, so that no other test's encoding shows in its count.
        common::tiny_bert(&dir.path().join("tiny-bert-counted"), 8);
        common::tiny_bert(&dir.path().join("tiny-bert-live"), 9);
        let words = [
            "in", "boston", "poe", "was", "born", "smith", "works", "for", "acme", "paris", ",", ".",
        ];
        let text: String = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                format!(
                    "{w} {} {} {}\n",
                    i as f32 * 0.1,
                    -(i as f32) * 0.2,
                    1.0 / (i + 1) as f32
                )
            })
            .collect();
        std::fs::write(dir.path().join("vectors.txt"), text).unwrap();
        // Set before any cache is made; every test of this binary uses the same folder.
        std::env::set_var("RELARC_CACHE_DIR", dir.path().join("cache"));
        dir
    })
    .path()
}

fn toy() -> Vec<Sentence> {
    let mk = common::annotated;
    vec![
        mk(
            "Poe was born in Boston .",
            &[("Peop", 0, 1), ("Loc", 4, 5)],
            &[("Live_In", 0, 1)],
        ),
        mk(
            "Smith works for Acme in Paris",
            &[("Peop", 0, 1), ("Org", 3, 4), ("Loc", 5, 6)],
            &[("Work_For", 0, 1), ("OrgBased_In", 1, 2)],
        ),
        mk("Rain .", &[], &[]),
    ]
}

fn pretrained_config() -> ModelConfig {
    config_with("tiny-bert")
}

fn config_with(encoder: &str) -> ModelConfig {
    let dir = fixtures();
    let mut cfg = ModelConfig::conll04();
    cfg.rnn_size = 16;
    cfg.inputs.contextual = Some(ContextualInput {
        layers: 3,
        dim: 16,
        encoder: dir.join(encoder).display().to_string(),
        pooling: Pooling::Mean,
        fine_tune: None,
    });
    cfg.inputs.word = Some(WordInput {
        dim: 3,
        trainable: false,
        min_count: 1,
        source: Some(dir.join("vectors.txt").display().to_string()),
    });
    cfg
}

fn encoded(f: &Featurizer) -> usize {
    f.contextual.as_ref().unwrap().encoder.sentences_encoded()
}

#[test]
fn text_vectors_load_with_or_without_a_header_and_convert() {
    let tmp = tempfile::tempdir().unwrap();
    let glove = tmp.path().join("glove.txt");
    std::fs::write(&glove, "the 1 2\nBoston 3 4\n. . . 5 6\nboston 7 8\n").unwrap();
    let v = StaticVectors::load(&glove).unwrap();
    assert_eq!((v.len(), v.dim), (4, 2));
    assert_eq!(v.vector("Boston"), Some(vec![3.0, 4.0]), "exact form first");
    assert_eq!(v.vector("BOSTON"), Some(vec![7.0, 8.0]), "then lower-cased");
    assert_eq!(v.vector("THE"), Some(vec![1.0, 2.0]));
    assert_eq!(v.vector(". . ."), Some(vec![5.0, 6.0]), "a word with spaces");
    assert_eq!(v.vector("nowhere"), None);
    let cov = v.coverage(["the", "The", "Paris", "the"]);
    assert_eq!(
        (cov.tokens, cov.tokens_covered, cov.types, cov.types_covered),
        (4, 3, 3, 2)
    );

    let w2v = tmp.path().join("w2v.vec");
    std::fs::write(&w2v, "2 3\nthe 1 2 3\ncat 4 5 6\n").unwrap();
    let v = StaticVectors::load(&w2v).unwrap();
    assert_eq!((v.len(), v.dim), (2, 3));
    assert_eq!(v.vector("Cat"), Some(vec![4.0, 5.0, 6.0]));

    let conv = tmp.path().join("converted");
    v.save_converted(&conv).unwrap();
    assert_eq!(StaticVectors::peek_dim(&w2v).unwrap(), 3);
    assert_eq!(StaticVectors::peek_dim(&glove).unwrap(), 2);
    assert_eq!(StaticVectors::peek_dim(&conv).unwrap(), 3);
    let back = StaticVectors::load(&conv).unwrap();
    assert_eq!(back.vector("cat"), Some(vec![4.0, 5.0, 6.0]));
    assert_eq!(back.vector("the"), Some(vec![1.0, 2.0, 3.0]));
}

#[test]
fn a_damaged_vector_file_is_named_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, "the 1 2\ncat 4 x\n").unwrap();
    let err = StaticVectors::load(&bad).err().unwrap().to_string();
    assert!(
        err.contains("bad.txt") && err.contains("line 2") && err.contains("\"x\""),
        "{err}"
    );
    std::fs::write(&bad, "the 1 2\ncat 4\n").unwrap();
    let err = StaticVectors::load(&bad).err().unwrap().to_string();
    assert!(err.contains("line 2") && err.contains("2 numbers"), "{err}");
    let conv = tmp.path().join("conv");
    std::fs::create_dir(&conv).unwrap();
    std::fs::write(conv.join("vocab.txt"), "a\nb\n").unwrap();
    Tensor::zeros([3, 2], (Kind::Float, Device::Cpu))
        .write_npy(conv.join("vectors.npy"))
        .unwrap();
    let err = StaticVectors::load(&conv).err().unwrap().to_string();
    assert!(err.contains("3 rows") && err.contains("2 words"), "{err}");
}

#[test]
fn glove_covers_most_of_conll04() {
    let Some(glove) = common::resource("glove-6b-50d") else {
        return;
    };
    let Some(data) = common::data_dir() else { return };
    let v = StaticVectors::load(&glove).unwrap();
    assert_eq!((v.len(), v.dim), (400_000, 50));
    let corpus = relarc::corpus::Corpus::load(&data.join("conll04/train.json")).unwrap();
    let cov = v.coverage(
        corpus
            .sentences
            .iter()
            .flat_map(|s| s.tokens.iter().map(String::as_str)),
    );
    eprintln!("GloVe 6B on CoNLL04 train: {cov}");
    assert!(cov.tokens_covered as f64 > 0.95 * cov.tokens as f64, "{cov}");
}

#[test]
fn training_runs_the_encoder_once_per_sentence_not_once_per_epoch() {
    let sentences = toy();
    let job = TrainJob {
        config: config_with("tiny-bert-counted"),
        options: TrainOptions {
            epochs: 3,
            patience: 10,
            ..Default::default()
        },
        train: sentences.clone(),
        dev: sentences[..2].to_vec(),
        out: None,
        init: None,
    };
    let f = Featurizer::for_inputs(&job.config.inputs, Device::Cpu)
        .unwrap()
        .unwrap();
    let before = encoded(&f);
    let outcome = train(job, &mut || false, &mut |_| {}).unwrap();
    let after = encoded(&f);
    assert!(
        after - before <= sentences.len(),
        "{} sentences encoded for 3 epochs of 3 sentences",
        after - before
    );
    assert_eq!(outcome.history.len(), 3);
    // The trained model predicts with the same shared features, without encoding again.
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    outcome.model.predict(&tokens).unwrap();
    assert_eq!(encoded(&f), after);
}

#[test]
fn an_edited_sentence_gets_fresh_features() {
    let f = Featurizer::for_inputs(&pretrained_config().inputs, Device::Cpu)
        .unwrap()
        .unwrap();
    let a: Vec<String> = ["Acme", "hired", "Smith", "in", "2031"]
        .map(String::from)
        .to_vec();
    let first = f
        .contextual_features(&[&a], &mut |_, _| {})
        .unwrap()
        .remove(0)
        .unwrap();
    let n = encoded(&f);
    let again = f
        .contextual_features(&[&a], &mut |_, _| {})
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(encoded(&f), n, "unchanged: read from the cache");
    assert!(first.equal(&again));
    let mut b = a.clone();
    b[1] = "fired".into();
    let edited = f
        .contextual_features(&[&b], &mut |_, _| {})
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(encoded(&f), n + 1, "edited: computed");
    assert!(!first.equal(&edited));
}

#[test]
fn text_typed_live_is_encoded_afresh_and_never_cached() {
    let sentences = toy();
    let vocab = relarc::embed::Vocabulary::build(&sentences, &relarc::corpus::Schema::infer(&sentences), 1);
    let mut model = Model::new(config_with("tiny-bert-live"), vocab, Device::Cpu);
    model.attach_inputs().unwrap();
    let f = model.features.clone().unwrap();
    let cache = f.contextual.as_ref().unwrap().cache.clone().unwrap();
    let files = || cache.dir().map_or(0, |d| cache_files(d).len());
    let typed: Vec<String> = ["Smith", "now", "lives", "in", "Paris"]
        .map(String::from)
        .to_vec();
    let key = FeatureCache::key(&typed);
    let before = (encoded(&f), files());
    let live = model.predict_uncached(&[&typed]).unwrap();
    let again = model.predict_uncached(&[&typed]).unwrap();
    assert_eq!(encoded(&f), before.0 + 2, "run through the encoder each time");
    assert_eq!(files(), before.1, "nothing written to the disk cache");
    assert!(cache.get(&key).is_none(), "nothing kept in memory");
    assert_eq!(live, again);
    // The same sentence predicted as part of a corpus is cached, and predicted the same.
    let cached = model.predict(&[&typed]).unwrap();
    assert_eq!(files(), before.1 + 1);
    assert!(cache.get(&key).is_some());
    assert_eq!(cached, live);
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in walk(dir) {
        if e.extension().is_some_and(|x| x == "f16") {
            out.push(e);
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_damaged_cache_file_is_rebuilt_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let features = relarc::model::random::exclusive(|| Tensor::randn([4, 3, 8], (Kind::Float, Device::Cpu)));
    let key = FeatureCache::key(&["a".to_string(), "b".into()]);
    let kept = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns").put(key, &features);
    let files = cache_files(tmp.path());
    assert_eq!(files.len(), 1);
    // A fresh process (an empty memory) reads it back from disk.
    let fresh = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns");
    assert!(fresh.get(&key).unwrap().equal(&kept));
    for damage in [
        |b: &mut Vec<u8>| {
            let i = b.len() / 2;
            b[i] ^= 0x40;
        },
        |b: &mut Vec<u8>| b.truncate(b.len() - 7),
        |b: &mut Vec<u8>| b.clear(),
    ] {
        let mut bytes = std::fs::read(&files[0]).unwrap();
        damage(&mut bytes);
        std::fs::write(&files[0], &bytes).unwrap();
        let fresh = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns");
        assert!(fresh.get(&key).is_none(), "damaged features are not returned");
        assert_eq!(fresh.rebuilt.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(!files[0].exists(), "and the damaged file is gone");
        let _ = fresh.put(key, &features);
    }
    // A valid file of another sentence, put under this one's name (swapped by hand, or by a
    // tool that renames files): refused by its key, not used.
    let other = FeatureCache::key(&["c".to_string()]);
    let cache = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns");
    let _ = cache.put(
        other,
        &relarc::model::random::exclusive(|| Tensor::randn([1, 3, 8], (Kind::Float, Device::Cpu))),
    );
    std::fs::copy(cache.path(&other).unwrap(), &files[0]).unwrap();
    let fresh = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns");
    assert!(
        fresh.get(&key).is_none(),
        "another sentence's features are not returned"
    );
    assert_eq!(fresh.rebuilt.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The featurizer's own files: a damaged one is dropped by the next process to read it.
    let f = Featurizer::for_inputs(&pretrained_config().inputs, Device::Cpu)
        .unwrap()
        .unwrap();
    let s: Vec<String> = ["Paris", "in", "1999"].map(String::from).to_vec();
    f.contextual_features(&[&s], &mut |_, _| {}).unwrap();
    let c = f.contextual.as_ref().unwrap().cache.as_ref().unwrap();
    let path = c.path(&FeatureCache::key(&s)).unwrap();
    std::fs::write(&path, b"RELARCF1 not really").unwrap();
    let reread = FeatureCache::new(c.dir().unwrap().parent().map(Path::to_path_buf), c.namespace());
    assert!(reread.get(&FeatureCache::key(&s)).is_none());
    assert!(!path.exists());
}

#[test]
fn the_disk_cache_stays_within_its_budget() {
    let tmp = tempfile::tempdir().unwrap();
    // Each entry is 10 × 2 × 64 halves = 2,560 bytes plus 84 of header (key included) and checksum.
    let cache = FeatureCache::new(Some(tmp.path().to_path_buf()), "ns").with_budgets(1 << 30, 20_000);
    for i in 0..30 {
        let key = FeatureCache::key(&[format!("sentence {i}")]);
        let _ = cache.put(
            key,
            &relarc::model::random::exclusive(|| Tensor::randn([10, 2, 64], (Kind::Float, Device::Cpu))),
        );
    }
    let total: u64 = cache_files(tmp.path())
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert!(total <= 20_000, "{total} bytes on disk");
    assert!(cache_files(tmp.path()).len() >= 4, "the newest entries stay");
    let newest = FeatureCache::key(&["sentence 29".to_string()]);
    assert!(cache.path(&newest).unwrap().exists());
}

#[test]
fn a_model_with_pretrained_inputs_saves_without_them_and_loads_with_them() {
    let sentences = toy();
    // Both poolings side by side: the model reads vectors twice the encoder's width.
    let mut config = pretrained_config();
    config.inputs.contextual.as_mut().unwrap().pooling = Pooling::Both;
    let job = TrainJob {
        config,
        options: TrainOptions {
            epochs: 1,
            ..Default::default()
        },
        train: sentences.clone(),
        dev: Vec::new(),
        out: None,
        init: None,
    };
    let model = train(job, &mut || false, &mut |_| {}).unwrap().model;
    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    let stored: Vec<String> = Tensor::read_safetensors(tmp.path().join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(
        stored.iter().any(|k| k.contains("mix")),
        "the learned layer mix is saved: {stored:?}"
    );
    assert!(
        !stored.iter().any(|k| k.contains("word_vectors")),
        "frozen vectors are not"
    );
    let loaded = Model::load(tmp.path(), Device::Cpu).unwrap();
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    assert_eq!(model.predict(&tokens).unwrap(), loaded.predict(&tokens).unwrap());

    // Without its encoder the model says which resource is missing.
    let mut cfg: serde_json::Value = common::read_json(tmp.path().join("config.json"));
    cfg["model"]["inputs"]["contextual"]["encoder"] = "no-such-encoder".into();
    std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    let err = Model::load(tmp.path(), Device::Cpu).err().unwrap().to_string();
    assert!(
        err.contains("no-such-encoder") && err.contains("fetch_resources"),
        "{err}"
    );
}

#[test]
fn a_model_without_its_inputs_attached_refuses_batches_instead_of_panicking() {
    let sentences = toy();
    let vocab = relarc::embed::Vocabulary::build(&sentences, &relarc::corpus::Schema::infer(&sentences), 1);
    let model = Model::new(pretrained_config(), vocab, Device::Cpu);
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let err = model.predict(&tokens).err().unwrap().to_string();
    assert!(err.contains("pre-trained inputs"), "{err}");
}

/// Fine-tuning: the encoder's top layer learns and the rest of it does not, while a frozen
/// encoder's features stay what they were; the saved model carries the encoder (its weights
/// and its configuration and tokenizer), loads without the checkpoint it started from, and
/// predicts the same.
#[test]
fn a_fine_tuned_encoder_learns_its_top_layer_and_travels_with_the_model() {
    use relarc::pretrained::inputs::FineTune;
    let start = fixtures().join("tiny-bert-tuned");
    common::tiny_bert(&start, 10);
    let mut cfg = config_with("tiny-bert-tuned");
    cfg.inputs.contextual.as_mut().unwrap().fine_tune = Some(FineTune {
        top_layers: Some(1),
        learning_rate: 1e-2,
        warmup: 0.1,
        trained_in: None,
    });
    let sentences = toy();
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    // The frozen encoder of the same checkpoint, as other models share it.
    let mut frozen_cfg = cfg.clone();
    frozen_cfg.inputs.contextual.as_mut().unwrap().fine_tune = None;
    let frozen = Featurizer::for_inputs(&frozen_cfg.inputs, Device::Cpu)
        .unwrap()
        .unwrap();
    let frozen_encoder = &frozen.contextual.as_ref().unwrap().encoder;
    let before = frozen_encoder.encode(&tokens[..1], Pooling::Mean).unwrap();

    let job = TrainJob {
        config: cfg,
        options: TrainOptions {
            epochs: 2,
            patience: 10,
            ..Default::default()
        },
        train: sentences.clone(),
        dev: Vec::new(),
        out: None,
        init: None,
    };
    let model = train(job, &mut || false, &mut |_| {}).unwrap().model;
    let original: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(start.join("model.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let vars = model.vs.variables();
    let differs =
        |ours: &str, theirs: &str| (&vars[ours] - &original[theirs]).abs().max().double_value(&[]) > 0.0;
    assert!(differs(
        "encoder.layer.1.up.weight",
        "encoder.layer.1.intermediate.dense.weight"
    ));
    assert!(!differs(
        "encoder.layer.0.up.weight",
        "encoder.layer.0.intermediate.dense.weight"
    ));
    assert!(!differs(
        "encoder.embeddings.word",
        "embeddings.word_embeddings.weight"
    ));
    let after = frozen_encoder.encode(&tokens[..1], Pooling::Mean).unwrap();
    assert!(before[0].equal(&after[0]), "the frozen encoder is untouched");

    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        assert!(tmp.path().join("encoder").join(f).exists(), "{f}");
    }
    // The encoder's trained layer is stored in float16; its frozen layers and the rest of the
    // model in float32.
    let stored = Tensor::read_safetensors(tmp.path().join("model.safetensors")).unwrap();
    for (name, t) in &stored {
        let trained = name.starts_with("encoder.layer.1.");
        let want = if trained { Kind::Half } else { Kind::Float };
        assert_eq!(t.kind(), want, "{name}");
    }
    // The checkpoint it started from is gone: the model folder is enough.
    std::fs::rename(&start, fixtures().join("tiny-bert-tuned-moved")).unwrap();
    let loaded = Model::load(tmp.path(), Device::Cpu).unwrap();
    let encoder = loaded.tuned_encoder().unwrap();
    // It records what its encoder multiplied in while it trained.
    let tune = loaded
        .config
        .inputs
        .contextual
        .as_ref()
        .unwrap()
        .fine_tune
        .as_ref();
    assert_eq!(
        tune.unwrap().trained_in,
        Some(model.tuned_encoder().unwrap().precision())
    );
    assert_eq!(encoder.precision(), model.tuned_encoder().unwrap().precision());
    assert_eq!(model.predict(&tokens).unwrap(), loaded.predict(&tokens).unwrap());
}
