//! The Rust encoders against Hugging Face `transformers` (fixtures in tests/fixtures/encoders),
//! windowing of long sentences, and pooling.

use crate::common;

use std::collections::HashMap;
use std::path::Path;

use relarc::pretrained::encoder::Precision;
use relarc::pretrained::{Encoder, Pooling};
use tch::{Device, Kind, Tensor};

fn fixture(name: &str) -> (HashMap<String, Tensor>, Vec<Vec<String>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoders");
    let tensors = Tensor::read_safetensors(dir.join(format!("{name}.safetensors")))
        .unwrap()
        .into_iter()
        .collect();
    let meta: serde_json::Value = common::read_json(dir.join("versions.json"));
    let sentences = serde_json::from_value(meta["sentences"].clone()).unwrap();
    (tensors, sentences)
}

fn ids(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(t.to_kind(Kind::Int64)).unwrap()
}

/// Every layer of every sub-word, start and end tokens included, within 1e-4 of the reference.
fn matches_reference(name: &str) {
    let Some(dir) = common::resource(name) else { return };
    let enc = Encoder::load_with(&dir, Device::Cpu, Precision::Float32).unwrap();
    let (fx, sentences) = fixture(name);
    let subs: Vec<_> = sentences.iter().map(|s| enc.subwords(s).unwrap()).collect();
    for (i, sub) in subs.iter().enumerate() {
        let want = ids(&fx[&format!("ids.{i}")]);
        assert_eq!(
            &want[1..want.len() - 1],
            sub.ids.as_slice(),
            "sentence {i}: sub-word ids"
        );
        let words = ids(&fx[&format!("words.{i}")]);
        for (w, &(s, e)) in sub.words.iter().enumerate() {
            for j in s..e {
                assert_eq!(
                    words[j + 1],
                    w as i64,
                    "sentence {i}: sub-word {j} belongs to word {w}"
                );
            }
        }
    }
    // All three in one padded batch, as the reference ran them.
    let inputs: Vec<&[i64]> = subs.iter().map(|s| s.ids.as_slice()).collect();
    let states = tch::no_grad(|| enc.subword_states_with_specials(&inputs));
    for (i, got) in states.iter().enumerate() {
        let want = &fx[&format!("hidden.{i}")];
        assert_eq!(got.size(), want.size(), "sentence {i}: [layers, sub-words, dim]");
        let diff = (got - want).abs().max().double_value(&[]);
        for l in 0..want.size()[0] {
            let d = (got.get(l) - want.get(l)).abs().max().double_value(&[]);
            assert!(d < 1e-4, "{name} sentence {i} layer {l}: max difference {d}");
        }
        eprintln!("{name} sentence {i}: max difference over all layers {diff:.2e}");
    }
}

#[test]
fn minilm_reproduces_hugging_face_in_every_layer() {
    matches_reference("all-minilm-l6-v2");
}

#[test]
fn mpnet_reproduces_hugging_face_in_every_layer() {
    matches_reference("all-mpnet-base-v2");
}

/// bfloat16 products give states close to the reference (every sub-word's vector in every
/// layer within cosine 0.999 of it), and are really used (they are not bit-equal).
fn bfloat16_stays_close(name: &str) {
    let Some(dir) = common::resource(name) else { return };
    let enc = Encoder::load_with(&dir, Device::Cpu, Precision::BFloat16).unwrap();
    assert_eq!(enc.precision(), Precision::BFloat16);
    let (fx, sentences) = fixture(name);
    let subs: Vec<_> = sentences.iter().map(|s| enc.subwords(s).unwrap()).collect();
    let inputs: Vec<&[i64]> = subs.iter().map(|s| s.ids.as_slice()).collect();
    let states = tch::no_grad(|| enc.subword_states_with_specials(&inputs));
    for (i, got) in states.iter().enumerate() {
        let want = &fx[&format!("hidden.{i}")];
        assert_eq!(got.kind(), Kind::Float, "states reach the model as float32");
        let cos = Tensor::cosine_similarity(got, want, 2, 1e-8);
        let worst = cos.min().double_value(&[]);
        assert!(worst > 0.999, "{name} sentence {i}: lowest cosine {worst}");
        assert!((got - want).abs().max().double_value(&[]) > 0.0);
        eprintln!("{name} sentence {i}: bfloat16 lowest cosine to float32 {worst:.5}");
    }
}

#[test]
fn minilm_in_bfloat16_stays_close_to_float32() {
    bfloat16_stays_close("all-minilm-l6-v2");
}

#[test]
fn mpnet_in_bfloat16_stays_close_to_float32() {
    bfloat16_stays_close("all-mpnet-base-v2");
}

#[test]
fn the_precision_setting_is_read_and_checked() {
    let cpu = Device::Cpu;
    assert_eq!(Precision::parse("f32", cpu).unwrap(), Precision::Float32);
    assert_eq!(Precision::parse("bf16", cpu).unwrap(), Precision::BFloat16);
    let err = Precision::parse("half", cpu).unwrap_err().to_string();
    assert!(
        err.contains("RELARC_ENCODER_PRECISION") && err.contains("\"half\"") && err.contains("f32"),
        "{err}"
    );
    let auto = Precision::parse("auto", cpu).unwrap();
    assert_eq!(
        auto == Precision::BFloat16,
        relarc::pretrained::encoder::precision::cpu_has_bf16()
    );
    assert_eq!(Precision::parse("", cpu).unwrap(), auto);
}

fn long_sentence(n: usize) -> Vec<String> {
    let words = [
        "the",
        "patient",
        "developed",
        "severe",
        "hepatotoxicity",
        "after",
        "methotrexate",
        ",",
        "which",
        "resolved",
        ".",
    ];
    (0..n)
        .map(|i| words[(i * 7 + i / 11) % words.len()].to_string())
        .collect()
}

#[test]
fn a_thousand_token_sentence_gets_a_vector_for_every_token() {
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let enc = Encoder::load_with(&dir, Device::Cpu, Precision::Float32).unwrap();
    let s = long_sentence(1000);
    assert!(
        enc.subwords(&s).unwrap().ids.len() > 2 * enc.window(),
        "needs several windows"
    );
    let f = enc.encode(&[&s], Pooling::First).unwrap().remove(0);
    assert_eq!(f.size(), vec![1000, 7, 384]);
    assert!(!bool::try_from(f.isnan().any()).unwrap());
    let norms = f.select(1, 6).norm_scalaropt_dim(2.0, [1], false);
    assert!(
        norms.min().double_value(&[]) > 1.0,
        "no token left without features"
    );
}

/// Windows restart the encoder's absolute positions and cut attention at their edges, so a
/// windowed vector is close to, not equal to, the whole-sentence one: measured on MiniLM with
/// 96-sub-word windows, last-layer cosine 0.78-0.98 (mean about 0.9) for words with at least
/// 24 sub-words of context on each side. Tokens of the first window keep their positions, so
/// their embedding layer is identical.
#[test]
fn windowed_tokens_far_from_edges_match_the_whole_sentence() {
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let mut enc = Encoder::load_with(&dir, Device::Cpu, Precision::Float32).unwrap();
    let s = long_sentence(150);
    let whole = enc.encode(&[&s], Pooling::First).unwrap().remove(0);
    enc.set_window(96);
    let windowed = enc.encode(&[&s], Pooling::First).unwrap().remove(0);
    assert_eq!(whole.size(), windowed.size());
    let sub = enc.subwords(&s).unwrap();
    let plan = relarc::pretrained::encoder::windows::plan(sub.ids.len(), 96);
    assert!(plan.len() >= 3, "{plan:?}");
    let owner = relarc::pretrained::encoder::windows::assign(sub.ids.len(), &plan);
    let last = whole.size()[1] - 1;
    let cos = |a: &Tensor, b: &Tensor| Tensor::cosine_similarity(a, b, 0, 1e-8).double_value(&[]);
    let (mut checked, mut sum) = (0, 0.0);
    for (w, &(first, _)) in sub.words.iter().enumerate() {
        let (s0, e0) = plan[owner[first]];
        if first - s0 < 24 || e0 - 1 - first < 24 {
            continue;
        }
        let w = w as i64;
        let own = cos(&whole.get(w).get(last), &windowed.get(w).get(last));
        for other in [w - 1, w + 1] {
            let near = cos(&whole.get(w).get(last), &windowed.get(other).get(last));
            assert!(
                own > near,
                "word {w}: its own windowed vector ({own}) is not the closest (word {other}: {near})"
            );
        }
        if owner[first] == 0 {
            assert!(
                cos(&whole.get(w).get(0), &windowed.get(w).get(0)) > 0.9999,
                "word {w}: same positions"
            );
        }
        assert!(own > 0.7, "word {w}: last-layer cosine {own}");
        sum += own;
        checked += 1;
    }
    assert!(checked > 40, "{checked} words checked");
    let mean = sum / checked as f64;
    eprintln!("{checked} words far from window edges: mean last-layer cosine {mean:.3}");
    assert!(mean > 0.85, "mean last-layer cosine {mean}");
}

#[test]
fn poolings_take_the_first_sub_word_the_mean_or_both() {
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_bert(tmp.path(), 3);
    let enc = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32).unwrap();
    let s: Vec<String> = ["ab", "c", "xyz"].map(String::from).to_vec();
    let sub = enc.subwords(&s).unwrap();
    assert_eq!(sub.words, vec![(0, 2), (2, 3), (3, 6)]);
    let states = tch::no_grad(|| enc.subword_states(&[&sub.ids])).remove(0);
    let first = enc.encode(&[&s], Pooling::First).unwrap().remove(0);
    let mean = enc.encode(&[&s], Pooling::Mean).unwrap().remove(0);
    let close = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]) < 1e-5;
    assert!(close(&first.get(2), &states.select(1, 3)));
    assert!(close(
        &mean.get(2),
        &states.narrow(1, 3, 3).mean_dim(1, false, Kind::Float)
    ));
    assert!(
        close(&mean.get(1), &first.get(1)),
        "a one-piece word pools to itself"
    );
    let both = enc.encode(&[&s], Pooling::Both).unwrap().remove(0);
    assert!(
        close(&both, &Tensor::cat(&[&first, &mean], 2)),
        "both: the first sub-word's vector, then the mean"
    );
}

/// A sentence's features are the same bits whether it is encoded by itself or beside
/// sentences of other lengths, in either precision: the feature cache, and every run that
/// reads it, then do not depend on which sentences were computed together before.
#[test]
fn a_sentences_features_do_not_depend_on_the_sentences_beside_it() {
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let own = words("Acute renal failure developed after two doses of intravenous acyclovir .");
    let others = [
        long_sentence(70),
        words("Rash ."),
        words(
            "We report a case of methotrexate-induced pneumonitis in a patient with rheumatoid arthritis .",
        ),
    ];
    for precision in [Precision::Float32, Precision::BFloat16] {
        let enc = Encoder::load_with(&dir, Device::Cpu, precision).unwrap();
        let alone = enc.encode(&[&own], Pooling::First).unwrap().remove(0);
        let mut batch: Vec<&[String]> = others.iter().map(Vec::as_slice).collect();
        batch.insert(2, &own);
        let beside = enc.encode(&batch, Pooling::First).unwrap().remove(2);
        let diff = (&alone - &beside).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0, "{precision:?}: features differ by {diff}");
    }
}

#[test]
fn words_the_tokenizer_drops_still_get_a_vector() {
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_bert(tmp.path(), 4);
    let enc = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32).unwrap();
    // A zero-width joiner and a control character normalise to nothing.
    let s: Vec<String> = ["a", "\u{200d}", "\u{7}", "b"].map(String::from).to_vec();
    let sub = enc.subwords(&s).unwrap();
    assert_eq!(sub.words.len(), 4);
    assert!(sub.words.iter().all(|&(a, b)| b > a));
    let f = enc.encode(&[&s], Pooling::First).unwrap().remove(0);
    assert_eq!(f.size(), vec![4, 3, 16]);
}

#[test]
fn a_folder_that_is_not_a_checkpoint_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("config.json"), "{err}");
    std::fs::write(tmp.path().join("config.json"), r#"{"model_type": "gpt2", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "max_position_embeddings": 8}"#).unwrap();
    let err = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("gpt2") && err.contains("config.json"), "{err}");
}

/// Fine-tuning only the top layers (`--fine-tune-layers`): a training step reads the frozen
/// layers' states kept from the first step that saw a sentence instead of running those
/// layers again, and gets what running every layer gives (float16 rounding aside); the
/// gradient still reaches the top layer; the states are freed when training is over.
#[test]
fn a_partly_fine_tuned_encoder_runs_its_frozen_layers_once_per_sentence() {
    use tch::nn;
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_bert(tmp.path(), 11);
    // Without dropout a training step computes what inference does.
    let cfg_path = tmp.path().join("config.json");
    let mut cfg: serde_json::Value = common::read_json(&cfg_path);
    cfg["hidden_dropout_prob"] = 0.0.into();
    cfg["attention_probs_dropout_prob"] = 0.0.into();
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();

    let vs = nn::VarStore::new(Device::Cpu);
    let tuned = Encoder::trainable(tmp.path(), &(vs.root() / "encoder"), Some(1)).unwrap();
    let reference = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32).unwrap();
    let words: Vec<Vec<String>> = [
        "aspirin caused a rash",
        "no rash after 2 weeks of ibuprofen",
        "the rash",
    ]
    .iter()
    .map(|s| s.split(' ').map(String::from).collect())
    .collect();
    let sentences: Vec<&[String]> = words.iter().map(|w| w.as_slice()).collect();
    let want = reference.encode(&sentences, Pooling::Mean).unwrap();
    assert_eq!(tuned.frozen_state_bytes(), 0);

    let first = tuned.encode_tuned(&sentences, Pooling::Mean, true).unwrap();
    let kept = tuned.frozen_state_bytes();
    assert!(kept > 0, "the frozen layers' states are kept");
    for (got, want) in first.iter().zip(&want) {
        let diff = (got - want).abs().max().double_value(&[]);
        assert!(diff < 1e-2, "every layer as inference computes it, within {diff}");
    }
    let again = tuned.encode_tuned(&sentences, Pooling::Mean, true).unwrap();
    assert_eq!(tuned.frozen_state_bytes(), kept, "nothing computed twice");
    for (a, b) in again.iter().zip(&first) {
        assert_eq!((a - b).abs().max().double_value(&[]), 0.0);
    }

    let loss = Tensor::stack(
        &again
            .iter()
            .map(|t| t.pow_tensor_scalar(2).sum(Kind::Float))
            .collect::<Vec<_>>(),
        0,
    )
    .sum(Kind::Float);
    loss.backward();
    let vars = vs.variables();
    let top = vars["encoder.layer.1.up.weight"].grad();
    assert!(
        top.abs().sum(Kind::Float).double_value(&[]) > 0.0,
        "the top layer learns"
    );
    assert!(!vars["encoder.layer.0.up.weight"].requires_grad());

    tuned.forget_frozen_states();
    assert_eq!(tuned.frozen_state_bytes(), 0);
}

/// A transformer whose weights are model variables, for fine-tuning: without dropout it
/// computes what the frozen one does; only its top layers learn (an optimizer step changes
/// them and nothing below), and every weight is in the store to be saved.
#[test]
fn a_trainable_encoder_matches_the_frozen_one_and_learns_only_its_top_layers() {
    use relarc::pretrained::encoder::transformer::Transformer;
    use tch::nn::{self, OptimizerConfig};
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let trained =
        Transformer::load_trainable(&dir, &(vs.root() / "encoder"), Some(2), Precision::Float32).unwrap();
    let frozen = Transformer::load(&dir, Device::Cpu, Precision::Float32).unwrap();
    // [CLS] hello world [SEP] [PAD], as MiniLM's (BERT uncased) vocabulary numbers them.
    let ids = Tensor::from_slice(&[101i64, 7592, 2088, 102, 0]).view([1, 5]);
    let mask = Tensor::from_slice(&[true, true, true, true, false]).view([1, 5]);
    let (a, b) = (trained.forward(&ids, &mask), frozen.forward(&ids, &mask));
    assert_eq!(a.len(), 7);
    for (x, y) in a.iter().zip(&b) {
        let diff = (x - y).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "layer differs by {diff}");
    }
    // The frozen bottom, then the trained top on its last state: the same network.
    assert_eq!(trained.frozen_layers(), 4);
    let mut split = trained.forward_frozen(&ids, &mask);
    assert_eq!(split.len(), 5);
    split.extend(trained.forward_trained(split.last().unwrap(), &mask, false));
    for (x, y) in split.iter().zip(&b) {
        assert!((x - y).abs().max().double_value(&[]) < 1e-5);
    }
    let is = |name: &str, layer: usize| name.contains(&format!("layer.{layer}."));
    let trainable: Vec<String> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(trainable.len(), vs.trainable_variables().len());
    assert!(trainable.iter().all(|n| is(n, 4) || is(n, 5)), "{trainable:?}");
    assert_eq!(trainable.len(), 2 * 16, "16 weights a layer");
    assert!(
        vs.variables().len() > trainable.len() + 6 * 16 - 32,
        "the frozen ones are kept too"
    );

    let before = vs.variables();
    let snapshot = |name: &str| before[name].copy();
    let (top, bottom, word) = (
        snapshot("encoder.layer.5.up.weight"),
        snapshot("encoder.layer.0.up.weight"),
        snapshot("encoder.embeddings.word"),
    );
    let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
    let out = trained.forward_t(&ids, &mask, true);
    let loss = out.last().unwrap().pow_tensor_scalar(2).mean(Kind::Float);
    opt.backward_step(&loss);
    let now = vs.variables();
    let moved = |name: &str, was: &Tensor| (&now[name] - was).abs().max().double_value(&[]) > 0.0;
    assert!(moved("encoder.layer.5.up.weight", &top), "the top layer learns");
    assert!(
        !moved("encoder.layer.0.up.weight", &bottom),
        "a bottom layer stays"
    );
    assert!(!moved("encoder.embeddings.word", &word), "the embeddings stay");
}

/// Fine-tuning in mixed precision (`RELARC_ENCODER_PRECISION=bf16`): the products are
/// bfloat16, so the states are close to float32's but not equal, while the weights stay
/// float32 variables that an optimizer step moves (the gradients pass the rounding).
#[test]
fn a_trainable_encoder_in_mixed_precision_keeps_float32_weights_that_learn() {
    use relarc::pretrained::encoder::transformer::Transformer;
    use tch::nn::{self, OptimizerConfig};
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let (vs, vs32) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    let mixed =
        Transformer::load_trainable(&dir, &(vs.root() / "encoder"), None, Precision::BFloat16).unwrap();
    let full =
        Transformer::load_trainable(&dir, &(vs32.root() / "encoder"), None, Precision::Float32).unwrap();
    let ids = Tensor::from_slice(&[101i64, 7592, 2088, 102]).view([1, 4]);
    let mask = Tensor::ones([1, 4], (Kind::Bool, Device::Cpu));
    let (a, b) = (mixed.forward(&ids, &mask), full.forward(&ids, &mask));
    let (top, want) = (a.last().unwrap(), b.last().unwrap());
    assert_eq!(top.kind(), Kind::Float);
    let cos = Tensor::cosine_similarity(top, want, 2, 1e-8)
        .min()
        .double_value(&[]);
    assert!(cos > 0.999, "lowest cosine {cos}");
    assert!(
        (top - want).abs().max().double_value(&[]) > 0.0,
        "bfloat16 is really used"
    );

    let vars = vs.trainable_variables();
    assert!(vars.iter().all(|v| v.kind() == Kind::Float));
    let name = "encoder.layer.0.up.weight";
    let before = vs.variables()[name].copy();
    let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
    let out = mixed.forward_t(&ids, &mask, true);
    opt.backward_step(&out.last().unwrap().pow_tensor_scalar(2).mean(Kind::Float));
    let moved = (&vs.variables()[name] - &before).abs().max().double_value(&[]);
    assert!(moved > 0.0, "the bottom layer's float32 weight learns");
    assert_eq!(vs.variables()[name].kind(), Kind::Float);
}

/// A fine-tuned encoder is read back from a model's store without its original checkpoint:
/// a skeleton built from `config.json` alone, filled by loading the store, computes the same.
#[test]
fn a_trainable_encoder_is_read_back_without_its_checkpoint() {
    use relarc::pretrained::encoder::transformer::Transformer;
    use tch::nn;
    let Some(dir) = common::resource("all-minilm-l6-v2") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("model.safetensors");
    let vs = nn::VarStore::new(Device::Cpu);
    let original =
        Transformer::load_trainable(&dir, &(vs.root() / "encoder"), Some(1), Precision::Float32).unwrap();
    vs.save(&saved).unwrap();
    // Only the configuration travels with the model.
    let config_only = tmp.path().join("encoder");
    std::fs::create_dir(&config_only).unwrap();
    std::fs::copy(dir.join("config.json"), config_only.join("config.json")).unwrap();
    let mut back = nn::VarStore::new(Device::Cpu);
    let skeleton = Transformer::skeleton(
        &config_only,
        &(back.root() / "encoder"),
        Some(1),
        Precision::Float32,
    )
    .unwrap();
    back.load(&saved).unwrap();
    let ids = Tensor::from_slice(&[101i64, 7592, 2088, 102]).view([1, 4]);
    let mask = Tensor::ones([1, 4], (Kind::Bool, Device::Cpu));
    for (x, y) in original
        .forward(&ids, &mask)
        .iter()
        .zip(skeleton.forward(&ids, &mask))
    {
        assert!(x.allclose(&y, 0.0, 0.0, false));
    }
    assert_eq!(back.trainable_variables().len(), vs.trainable_variables().len());
    // MPNet's skeleton (relative position bias, no token types) has its checkpoint's shapes.
    let Some(mpnet) = common::resource("all-mpnet-base-v2") else {
        return;
    };
    let shapes = |vs: &nn::VarStore| {
        let mut v: Vec<(String, Vec<i64>)> = vs.variables().into_iter().map(|(n, t)| (n, t.size())).collect();
        v.sort();
        v
    };
    let (a, b) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    Transformer::load_trainable(&mpnet, &a.root(), None, Precision::Float32).unwrap();
    Transformer::skeleton(&mpnet, &b.root(), None, Precision::BFloat16).unwrap();
    assert_eq!(shapes(&a), shapes(&b));
}

/// An ensemble's members that read one encoder with other poolings warm their caches together
/// (one encoder run per sentence): each cache then holds exactly what the encoder gives for
/// its pooling, sentences it already held are kept, and a repeated sentence is stored once.
#[test]
fn featurizers_sharing_an_encoder_warmed_together_cache_what_each_pooling_gives() {
    use relarc::pretrained::cache::FeatureCache;
    use relarc::pretrained::features::Contextual;
    use relarc::pretrained::Featurizer;
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_bert(&tmp.path().join("enc"), 4);
    let enc = Arc::new(Encoder::load_with(&tmp.path().join("enc"), Device::Cpu, Precision::Float32).unwrap());
    let featurizer = |pooling: Pooling| Featurizer {
        vectors: None,
        contextual: Some(Contextual {
            encoder: enc.clone(),
            pooling,
            cache: Some(Arc::new(FeatureCache::new(
                Some(tmp.path().join("cache")),
                &format!("{pooling:?}"),
            ))),
        }),
    };
    let (first, mean) = (featurizer(Pooling::First), featurizer(Pooling::Mean));
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let texts = [
        words("severe rash after amoxicillin ."),
        words("hepatitis"),
        words("acute renal failure developed after two doses of intravenous acyclovir ."),
        words("severe rash after amoxicillin ."),
    ];
    let sentences: Vec<&[String]> = texts.iter().map(Vec::as_slice).collect();
    first.warm(&sentences[1..2], &mut |_, _| {}).unwrap();
    let mut told = Vec::new();
    let before = enc.sentences_encoded();
    Featurizer::warm_together(&[&first, &mean], &sentences, &mut |done, total| {
        told.push((done, total))
    })
    .unwrap();
    assert_eq!(
        told.last(),
        Some(&(3, 3)),
        "three distinct sentences lacked a pooling"
    );
    assert_eq!(
        enc.sentences_encoded() - before,
        3,
        "one encoder run each, for both poolings"
    );
    let cached = |f: &Featurizer, s: &[String]| {
        let cache = f.contextual.as_ref().unwrap().cache.as_ref().unwrap();
        cache.get(&FeatureCache::key(s)).expect("cached")
    };
    for s in &sentences {
        for (f, pooling) in [(&first, Pooling::First), (&mean, Pooling::Mean)] {
            let alone = enc.encode(&[s], pooling).unwrap().remove(0).to_kind(Kind::Half);
            assert!(cached(f, s).equal(&alone), "{pooling:?} of {s:?}");
        }
        assert!(!cached(&first, s).equal(&cached(&mean, s)), "the poolings differ");
    }
}

/// While states are shared (an ensemble's prediction step on text that is not cached), a
/// second pooling of the same sentences reuses the encoder's run and gives what it gives alone.
#[test]
fn poolings_of_one_sentence_share_the_encoders_run_while_states_are_shared() {
    use relarc::pretrained::encoder::shared_states::sharing_states;
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_bert(tmp.path(), 4);
    let enc = Encoder::load_with(tmp.path(), Device::Cpu, Precision::Float32).unwrap();
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let (a, b) = (words("severe rash after amoxicillin ."), words("acute hepatitis"));
    let alone = |p: Pooling| enc.encode(&[&a, &b], p).unwrap();
    let (first, mean) = (alone(Pooling::First), alone(Pooling::Mean));
    let before = enc.sentences_encoded();
    let (shared_first, shared_mean) = sharing_states(|| {
        let f = enc.encode(&[&a, &b], Pooling::First).unwrap();
        let m = enc.encode(&[&b], Pooling::Mean).unwrap();
        (f, m)
    });
    assert_eq!(enc.sentences_encoded() - before, 2, "each sentence ran once");
    assert!(shared_first[0].equal(&first[0]) && shared_first[1].equal(&first[1]));
    assert!(shared_mean[0].equal(&mean[1]) && !shared_mean[0].equal(&shared_first[1]));
    enc.encode(&[&a], Pooling::Mean).unwrap();
    assert_eq!(
        enc.sentences_encoded() - before,
        3,
        "nothing is kept after the step"
    );
}
