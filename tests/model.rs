//! The joint model: padding never changes results, the RE head computes what the paper says,
//! parameter counts follow the configuration, checkpoints round-trip, and the model learns.

use crate::common;

use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{Corpus, Entity, Schema, Sentence};
use relarc::embed::batch::EntityEnd;
use relarc::embed::{Batch, BatchInput, Vocabulary};
use relarc::model::config::{ContextualInput, RnnKind, WordInput};
use relarc::model::{Ensemble, Model, ModelConfig};
use tch::{nn::OptimizerConfig, Device, Kind, Tensor};

fn toy_sentences() -> Vec<Sentence> {
    let mk = common::annotated;
    vec![
        mk(
            "In 1809 , author Edgar Allan Poe was born in Boston .",
            &[("Peop", 4, 7), ("Loc", 10, 11)],
            &[("Live_In", 0, 1)],
        ),
        mk(
            "Smith works for Acme in Paris",
            &[("Peop", 0, 1), ("Org", 3, 4), ("Loc", 5, 6)],
            &[("Work_For", 0, 1), ("OrgBased_In", 1, 2)],
        ),
        mk("Rain", &[], &[]),
        mk(
            "Boston is in Massachusetts , says Jones of the Globe",
            &[("Loc", 0, 1), ("Loc", 3, 4), ("Peop", 6, 7), ("Org", 9, 10)],
            &[("Located_In", 0, 1), ("Work_For", 2, 3)],
        ),
    ]
}

fn toy_model(cfg: ModelConfig) -> (Model, Vec<Sentence>) {
    let sentences = toy_sentences();
    let vocab = Vocabulary::build(&sentences, &Schema::infer(&sentences), 1);
    let model = relarc::model::random::seeded(3, || Model::new(cfg, vocab, Device::Cpu));
    (model, sentences)
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().view([-1])).unwrap()
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
            "{what}[{i}]: {x} alone vs {y} in a batch"
        );
    }
}

/// Emissions and relation logits of sentence `i` when it is batched with `inputs`.
fn outputs_in_batch(
    model: &Model,
    sentences: &[Sentence],
    members: &[usize],
    i: usize,
) -> (Vec<f32>, Vec<f32>) {
    let inputs: Vec<BatchInput> = members.iter().map(|&m| BatchInput::from(&sentences[m])).collect();
    let batch = Batch::new(&model.vocab, &inputs, Device::Cpu).unwrap();
    let k = batch.order.iter().position(|&o| members[o] == i).unwrap();
    tch::no_grad(|| {
        let enc = model.net.encode(&batch, false);
        let em =
            model
                .net
                .emissions(&enc, &batch)
                .get(k as i64)
                .narrow(0, 0, sentences[i].tokens.len() as i64);
        // RE logits for this sentence's gold entities only.
        let mut ents: Vec<Vec<EntityEnd>> = vec![Vec::new(); batch.size];
        ents[k] = batch.gold_entities[k].clone();
        let re = model
            .net
            .relation_logits(&enc, &ents, false)
            .map(|t| values(&t))
            .unwrap_or_default();
        (values(&em), re)
    })
}

#[test]
fn padding_does_not_change_any_output() {
    for rnn in [RnnKind::Gru, RnnKind::Lstm] {
        let cfg = ModelConfig {
            rnn,
            shared_layers: 2,
            ner_layers: 1,
            re_layers: 2,
            rnn_size: 16,
            ..ModelConfig::conll04()
        };
        let (model, sentences) = toy_model(cfg);
        let all: Vec<usize> = (0..sentences.len()).collect();
        for i in 0..sentences.len() {
            let alone = outputs_in_batch(&model, &sentences, &[i], i);
            let batched = outputs_in_batch(&model, &sentences, &all, i);
            close(
                &alone.0,
                &batched.0,
                &format!("{rnn:?} emissions of sentence {i}"),
            );
            close(
                &alone.1,
                &batched.1,
                &format!("{rnn:?} relation logits of sentence {i}"),
            );
        }
        // Decoded predictions agree too.
        let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
        let together = model.predict(&tokens).unwrap();
        for (i, t) in tokens.iter().enumerate() {
            let alone = model.predict(&[t]).unwrap();
            assert_eq!(alone[0].tags, together[i].tags);
            assert_eq!(alone[0].entities.len(), together[i].entities.len());
        }
    }
}

#[test]
fn a_sentence_alone_gets_the_outputs_it_gets_in_a_large_batch() {
    // With the conll04 preset's 256 units one sentence runs the host's GRU recurrence and
    // 68 sentences libtorch's: live extraction and corpus prediction must agree.
    assert!(relarc::model::host_gru::suits(1, 256) && !relarc::model::host_gru::suits(68, 256));
    let (model, sentences) = toy_model(ModelConfig::conll04());
    let many: Vec<usize> = (0..68).map(|j| j % sentences.len()).collect();
    for i in 0..sentences.len() {
        let alone = outputs_in_batch(&model, &sentences, &[i], i);
        let batched = outputs_in_batch(&model, &sentences, &many, i);
        close(&alone.0, &batched.0, &format!("emissions of sentence {i}"));
        close(&alone.1, &batched.1, &format!("relation logits of sentence {i}"));
    }
}

#[test]
fn distmult_and_cosine_match_a_direct_computation() {
    let (model, _) = toy_model(ModelConfig {
        rnn_size: 8,
        ..ModelConfig::conll04()
    });
    let re = &model.net.re;
    let p = re.distmult.size()[1];
    let g = relarc::model::random::exclusive(|| Tensor::randn([3, p], (Kind::Float, Device::Cpu)));
    let heads = Tensor::from_slice(&[0i64, 2]);
    let tails = Tensor::from_slice(&[1i64, 0]);
    let dm = values(&tch::no_grad(|| {
        re.distmult_scores(&g.index_select(0, &heads), &g.index_select(0, &tails))
    }));
    let gv = values(&g);
    let m = values(&re.distmult);
    let r = re.distmult.size()[0] as usize;
    for (q, (h, t)) in [(0usize, 1usize), (2, 0)].iter().enumerate() {
        for k in 0..r {
            let direct: f32 = (0..p as usize)
                .map(|d| gv[h * p as usize + d] * m[k * p as usize + d] * gv[t * p as usize + d])
                .sum();
            assert!(
                (dm[q * r + k] - direct).abs() < 1e-4,
                "DistMult pair {q} type {k}: {} vs {direct}",
                dm[q * r + k]
            );
        }
    }
    // Cosine term: the logits change exactly as the FFNN(r2) weight on the cosine input says
    // when we compare two pairs that differ only in their cosine... checked directly instead:
    let a = Tensor::from_slice(&[1.0f32, 2.0, 2.0]).view([1, 3]);
    let b = Tensor::from_slice(&[2.0f32, 0.0, 1.0]).view([1, 3]);
    let cos = Tensor::cosine_similarity(&a, &b, 1, 1e-8).double_value(&[0]);
    assert!((cos - 4.0 / (3.0 * 5f64.sqrt())).abs() < 1e-6);
}

#[test]
fn relation_logits_are_ordered_head_tail_and_never_reflexive() {
    let (model, sentences) = toy_model(ModelConfig {
        rnn_size: 8,
        ..ModelConfig::conll04()
    });
    let inputs: Vec<BatchInput> = sentences.iter().map(BatchInput::from).collect();
    let batch = Batch::new(&model.vocab, &inputs, Device::Cpu).unwrap();
    let enc = tch::no_grad(|| model.net.encode(&batch, false));
    let logits = model
        .net
        .relation_logits(&enc, &batch.gold_entities, false)
        .unwrap();
    let pairs: i64 = batch
        .gold_entities
        .iter()
        .map(|e| (e.len() * e.len().saturating_sub(1)) as i64)
        .sum();
    assert_eq!(logits.size(), [pairs, model.vocab.relation_types.len() as i64]);
    // Swapping head and tail changes the scores: the head is not symmetric in FFNN(r2).
    let e = &batch.gold_entities;
    let k = e.iter().position(|x| x.len() == 4).unwrap();
    let only = |v: Vec<EntityEnd>| {
        let mut all = vec![Vec::new(); batch.size];
        all[k] = v;
        values(&model.net.relation_logits(&enc, &all, false).unwrap())
    };
    let r = model.vocab.relation_types.len();
    let ab = only(vec![e[k][0], e[k][1]]);
    let ba = only(vec![e[k][1], e[k][0]]);
    assert_eq!(ab.len(), 2 * r);
    // Rows: (first, second), (second, first).
    close(&ab[..r], &ba[r..], "reordering the entities permutes the pairs");
    close(&ab[r..], &ba[..r], "reordering the entities permutes the pairs");
    assert!(
        ab[..r].iter().zip(&ab[r..]).any(|(x, y)| (x - y).abs() > 1e-6),
        "(a, b) and (b, a) must be scored differently"
    );
}

/// Trainable parameters of a BiRNN layer.
fn birnn(kind: RnnKind, input: i64, h: i64) -> i64 {
    let gates = if kind == RnnKind::Gru { 3 } else { 4 };
    2 * gates * (h * input + h * h + 2 * h)
}

fn expected_parameters(cfg: &ModelConfig, vocab: &Vocabulary) -> i64 {
    let tags = vocab.num_tags();
    let rels = vocab.relation_types.len() as i64;
    let mut n = 0;
    let mut v = 0;
    if let Some(w) = &cfg.inputs.word {
        v += w.dim;
        if w.trainable {
            n += vocab.words.len() as i64 * w.dim;
        }
    }
    if cfg.inputs.char {
        n += vocab.chars.len() as i64 * cfg.char_embedding
            + birnn(cfg.rnn, cfg.char_embedding, cfg.char_rnn_size);
        v += 2 * cfg.char_rnn_size;
    }
    if cfg.inputs.casing {
        v += 8;
    }
    if let Some(c) = &cfg.inputs.contextual {
        v += c.dim;
        n += c.layers + 1;
    }
    let h = cfg.rnn_size;
    let layers = |count: usize, first: i64| {
        (0..count)
            .map(|i| birnn(cfg.rnn, if i == 0 { first } else { 2 * h }, h))
            .sum::<i64>()
    };
    n += layers(cfg.shared_layers, v);
    n += layers(cfg.ner_layers, 2 * h) + layers(cfg.re_layers, 2 * h);
    n += 2 * h * cfg.ner_ffnn.size + cfg.ner_ffnn.size + cfg.ner_ffnn.size * tags + tags;
    n += tags * tags + 2 * tags;
    let g = 2 * h + cfg.label_embedding;
    n += tags * cfg.label_embedding + rels * g + g * cfg.re_ffnn.size + cfg.re_ffnn.size;
    n += (2 * cfg.re_ffnn.size + 1 + rels) * rels + rels;
    n
}

#[test]
fn parameter_counts_follow_the_configuration() {
    let sentences = toy_sentences();
    let vocab = Vocabulary::build(&sentences, &Schema::infer(&sentences), 1);
    for preset in [ModelConfig::ade(), ModelConfig::conll04()] {
        for layers in 0..=3usize {
            for kind in [RnnKind::Gru, RnnKind::Lstm] {
                let cfg = ModelConfig {
                    shared_layers: layers.max(1),
                    ner_layers: layers,
                    re_layers: 3 - layers,
                    rnn: kind,
                    ..preset.clone()
                };
                let model = Model::new(cfg.clone(), vocab.clone(), Device::Cpu);
                assert_eq!(
                    model.num_trainable_parameters(),
                    expected_parameters(&cfg, &vocab),
                    "{cfg:?}"
                );
                // Shapes: emissions [B, T, tags].
                let inputs: Vec<BatchInput> = sentences.iter().map(BatchInput::from).collect();
                let batch = Batch::new(&model.vocab, &inputs, Device::Cpu).unwrap();
                let em = tch::no_grad(|| model.net.emissions(&model.net.encode(&batch, false), &batch));
                let longest = sentences.iter().map(|s| s.tokens.len()).max().unwrap() as i64;
                assert_eq!(em.size(), [4, longest, vocab.num_tags()]);
            }
        }
    }
}

#[test]
fn conll04_preset_with_elmo_and_glove_sizes_is_near_six_million_parameters() {
    let sentences = toy_sentences();
    let mut vocab = Vocabulary::build(&sentences, &Schema::infer(&sentences), 1);
    // A realistic character set: CoNLL04 has about 90 distinct characters.
    vocab.chars = relarc::embed::vocab::Index::new((33u8..123).map(|c| (c as char).to_string()));
    let mut cfg = ModelConfig::conll04();
    cfg.inputs.contextual = Some(ContextualInput {
        layers: 3,
        dim: 1024,
        encoder: "elmo".into(),
        pooling: Default::default(),
        fine_tune: None,
    });
    cfg.inputs.word = Some(WordInput {
        dim: 300,
        trainable: false,
        min_count: 1,
        source: None,
    });
    let n = Model::new(cfg, vocab, Device::Cpu).num_trainable_parameters();
    assert!(
        (5_500_000..6_800_000).contains(&n),
        "{n} trainable parameters; the paper says about 6 M"
    );
}

#[test]
fn save_load_predict_gives_identical_outputs_and_damage_is_reported() {
    let (model, sentences) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.0,
        ..ModelConfig::conll04()
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    model.save(&dir).unwrap();
    let loaded = Model::load(&dir, Device::Cpu).unwrap();
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let a = model.predict(&tokens).unwrap();
    let b = loaded.predict(&tokens).unwrap();
    assert_eq!(a, b);
    assert!(
        a.iter().any(|p| !p.relations.is_empty()),
        "θr = 0 makes relations for any predicted entity pair"
    );

    // A truncated weights file.
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    let broken = tmp.path().join("broken");
    model.save(&broken).unwrap();
    std::fs::write(broken.join("model.safetensors"), &weights[..weights.len() / 2]).unwrap();
    let err = Model::load(&broken, Device::Cpu).err().unwrap().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("truncated"),
        "{err}"
    );

    // A config that does not match the weights.
    let cfg_path = broken.join("config.json");
    std::fs::write(broken.join("model.safetensors"), &weights).unwrap();
    let text = std::fs::read_to_string(&cfg_path)
        .unwrap()
        .replace("\"rnn_size\": 16", "\"rnn_size\": 32");
    std::fs::write(&cfg_path, text).unwrap();
    let err = Model::load(&broken, Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("has shape") && err.contains("config.json"), "{err}");

    // Another format version.
    let text = std::fs::read_to_string(dir.join("config.json"))
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 9");
    std::fs::write(broken.join("config.json"), text).unwrap();
    let err = Model::load(&broken, Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("format version 9"), "{err}");
    // A version written as a string is named as written, not as version 0.
    let text = std::fs::read_to_string(dir.join("config.json"))
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": \"1\"");
    std::fs::write(broken.join("config.json"), text).unwrap();
    let err = Model::load(&broken, Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("format version \"1\""), "{err}");

    // Missing files and labels the model does not know.
    let err = Model::load(&tmp.path().join("nothing"), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("config.json"), "{err}");
    let mut other = Sentence::new(vec!["x".into()]);
    other.entities.push(Entity::new("Drug", 0, 1));
    let err = loaded
        .check_labels(&Schema::infer([&other]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("entity type \"Drug\""), "{err}");
}

/// Strict entity F1 and strict relation F1 on the given sentences.
fn f1s(model: &Model, sentences: &[Sentence]) -> (f64, f64) {
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let preds = model.predict(&tokens).unwrap();
    let (mut tp, mut np, mut ng) = (0, 0, 0);
    let (mut rtp, mut rnp, mut rng) = (0, 0, 0);
    for (p, s) in preds.iter().zip(sentences) {
        np += p.entities.len();
        ng += s.entities.len();
        tp += p
            .entities
            .iter()
            .filter(|e| {
                s.entities
                    .iter()
                    .any(|g| g.start == e.start && g.end == e.end && g.label == e.label)
            })
            .count();
        let key = |label: &str, start, end| (label.to_string(), start, end);
        let gold: Vec<_> = s
            .relations
            .iter()
            .map(|r| {
                (
                    r.label.clone(),
                    key(
                        &s.entities[r.head].label,
                        s.entities[r.head].start,
                        s.entities[r.head].end,
                    ),
                    key(
                        &s.entities[r.tail].label,
                        s.entities[r.tail].start,
                        s.entities[r.tail].end,
                    ),
                )
            })
            .collect();
        rnp += p.relations.len();
        rng += gold.len();
        rtp += p
            .relations
            .iter()
            .map(|r| {
                let (h, t) = (&p.entities[r.head], &p.entities[r.tail]);
                (
                    r.label.clone(),
                    key(&h.label, h.start, h.end),
                    key(&t.label, t.start, t.end),
                )
            })
            .filter(|r| gold.contains(r))
            .count();
    }
    (
        2.0 * tp as f64 / (np + ng).max(1) as f64,
        2.0 * rtp as f64 / (rnp + rng).max(1) as f64,
    )
}

#[test]
fn the_model_learns_a_small_slice_of_conll04() {
    let Some(data) = common::data_dir() else { return };
    let mut corpus = Corpus::load(&data.join("conll04/train.json")).unwrap();
    remove_overlaps_all(&mut corpus.sentences);
    let slice: Vec<Sentence> = corpus
        .sentences
        .into_iter()
        .filter(|s| s.tokens.len() <= 25)
        .take(24)
        .collect();
    let vocab = Vocabulary::build(&slice, &Schema::infer(&slice), 1);
    let cfg = ModelConfig {
        rnn_size: 64,
        rnn_dropout: 0.1,
        re_dropout: 0.1,
        ..ModelConfig::ade()
    };
    let model = relarc::model::random::seeded(11, || Model::new(cfg, vocab, Device::Cpu));
    let mut opt = tch::nn::Adam::default().build(&model.vs, 5e-3).unwrap();
    let (f1_before, re_before) = f1s(&model, &slice);
    let mut first = None;
    let mut last = 0.0;
    for step in 0..200 {
        let start = (step * 8) % slice.len();
        let inputs: Vec<BatchInput> = slice
            .iter()
            .cycle()
            .skip(start)
            .take(8)
            .map(BatchInput::from)
            .collect();
        let batch = model.batch(&inputs).unwrap();
        let loss = model.net.loss(&batch, true);
        opt.backward_step(&loss.total);
        let value = loss.total.double_value(&[]);
        first.get_or_insert(value);
        last = value;
    }
    let (f1_after, re_after) = f1s(&model, &slice);
    eprintln!(
        "loss {} -> {last}; entity F1 {f1_before} -> {f1_after}; relation F1 {re_before} -> {re_after}",
        first.unwrap()
    );
    assert!(
        last < first.unwrap() * 0.2,
        "training loss went from {} to {last}",
        first.unwrap()
    );
    assert!(
        f1_after > 0.8 && f1_after > f1_before + 0.5,
        "training-set entity F1 went from {f1_before} to {f1_after}"
    );
    assert!(
        re_after > 0.5,
        "training-set relation F1 went from {re_before} to {re_after}"
    );
}

/// Relation pairs are scored in chunks so that memory stays linear in the number of
/// entities; the chunks must give exactly what scoring every pair at once gives.
#[test]
fn relations_scored_in_chunks_equal_relations_scored_at_once() {
    let (model, sentences) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.0,
        ..ModelConfig::conll04()
    });
    let inputs: Vec<BatchInput> = sentences
        .iter()
        .map(|s| BatchInput {
            tokens: &s.tokens,
            gold: None,
        })
        .collect();
    let batch = model.batch(&inputs).unwrap();
    let whole = model.predict_batch_chunked(&batch, usize::MAX);
    assert!(whole.iter().any(|p| p.relations.len() > 1), "pairs to score");
    // Products of other shapes may round the last bit differently: the same relations, with
    // probabilities equal to 1e-6.
    for chunk in [1, 2, 5] {
        let chunked = model.predict_batch_chunked(&batch, chunk);
        for (a, b) in chunked.iter().zip(&whole) {
            assert_eq!(a.entities, b.entities);
            assert_eq!(a.relations.len(), b.relations.len(), "chunks of {chunk}");
            for (x, y) in a.relations.iter().zip(&b.relations) {
                assert_eq!(
                    (&x.label, x.head, x.tail),
                    (&y.label, y.head, y.tail),
                    "chunks of {chunk}"
                );
                assert!((x.probability - y.probability).abs() < 1e-6, "chunks of {chunk}");
            }
        }
    }
}

/// A copy of `model` through its folder, with `change` applied to its weights by name.
fn changed_copy(
    model: &Model,
    dir: &std::path::Path,
    change: impl Fn(&str, &Tensor) -> Option<Tensor>,
) -> Model {
    model.save(dir).unwrap();
    let copy = Model::load(dir, Device::Cpu).unwrap();
    tch::no_grad(|| {
        for (name, mut var) in copy.vs.variables() {
            if let Some(new) = change(&name, &var) {
                var.copy_(&new);
            }
        }
    });
    copy
}

/// Predictions for the toy sentences.
fn predictions(models: &Ensemble, sentences: &[Sentence]) -> Vec<relarc::model::Prediction> {
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    models.predict(&tokens).unwrap()
}

#[test]
fn an_ensemble_of_one_model_or_of_copies_predicts_as_the_model() {
    let (model, sentences) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.0,
        ..ModelConfig::conll04()
    });
    let tmp = tempfile::tempdir().unwrap();
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let alone = model.predict(&tokens).unwrap();
    assert!(
        alone.iter().any(|p| !p.relations.is_empty()),
        "relations to compare"
    );
    let copies = Ensemble::new(vec![
        changed_copy(&model, &tmp.path().join("a"), |_, _| None),
        changed_copy(&model, &tmp.path().join("b"), |_, _| None),
    ])
    .unwrap();
    assert_eq!(predictions(&copies, &sentences), alone);
    let one = Ensemble::new(vec![model]).unwrap();
    assert_eq!(predictions(&one, &sentences), alone);
}

/// Member B is member A with other NER scores and relations it never predicts: the pair,
/// weighing A and B as `weights`, must tag as a model whose NER scores are B's share of the
/// way from A's to B's (C) and give each relation A's share of A's probability.
fn decodes_weighted_mean_scores(weights: [f64; 2]) -> Vec<relarc::model::Prediction> {
    let (a, sentences) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.0,
        ..ModelConfig::conll04()
    });
    let tmp = tempfile::tempdir().unwrap();
    let k = a.vocab.num_tags();
    let (emission_shift, transition_shift) = relarc::model::random::seeded(5, || {
        let shape = |s: &[i64]| Tensor::randn(s, (Kind::Float, Device::Cpu));
        (shape(&[k]) * 2.0, shape(&[k, k]))
    });
    let shifted = |scale: f64| {
        let (e, t) = (&emission_shift * scale, &transition_shift * scale);
        move |name: &str, var: &Tensor| match name {
            "ner.ffnn2.bias" => Some(var + &e),
            "ner.crf.transitions" => Some(var + &t),
            _ => None,
        }
    };
    let shift_b = shifted(1.0);
    let b = changed_copy(&a, &tmp.path().join("b"), |name, var| match name {
        "re.ffnn2.bias" => Some(var - 200.0),
        _ => shift_b(name, var),
    });
    let (share_a, share_b) = (
        weights[0] / (weights[0] + weights[1]),
        weights[1] / (weights[0] + weights[1]),
    );
    let c = Ensemble::new(vec![changed_copy(&a, &tmp.path().join("c"), shifted(share_b))]).unwrap();
    let tokens: Vec<&[String]> = sentences.iter().map(|s| s.tokens.as_slice()).collect();
    let a_alone = a.predict(&tokens).unwrap();
    let expected = predictions(&c, &sentences);
    assert!(
        expected.iter().zip(&a_alone).any(|(c, a)| c.tags != a.tags),
        "the model between A and B must tag differently from A for the test to tell"
    );
    let both = predictions(&Ensemble::weighted(vec![a, b], &weights).unwrap(), &sentences);
    let mut relations = 0;
    for (got, want) in both.iter().zip(&expected) {
        assert_eq!(got.tags, want.tags);
        assert_eq!(got.entities.len(), want.entities.len());
        for (x, y) in got.entities.iter().zip(&want.entities) {
            assert_eq!((&x.label, x.start, x.end), (&y.label, y.start, y.end));
            assert!((x.score - y.score).abs() < 1e-5, "{} vs {}", x.score, y.score);
        }
        assert_eq!(got.relations.len(), want.relations.len());
        for (x, y) in got.relations.iter().zip(&want.relations) {
            assert_eq!((&x.label, x.head, x.tail), (&y.label, y.head, y.tail));
            let expected = y.probability * share_a as f32;
            assert!(
                (x.probability - expected).abs() < 1e-6,
                "{} vs {expected}",
                x.probability
            );
            relations += 1;
        }
    }
    assert!(relations > 0, "relations to compare");
    both
}

#[test]
fn an_ensemble_decodes_its_members_mean_scores() {
    decodes_weighted_mean_scores([1.0, 1.0]);
}

/// Weights move the vote: B weighing three times A tags as a model three quarters of the way
/// to B, not halfway, and only weights' ratios count.
#[test]
fn an_ensemble_decodes_its_members_weighted_mean_scores() {
    let equal = decodes_weighted_mean_scores([1.0, 1.0]);
    let weighted = decodes_weighted_mean_scores([1.0, 3.0]);
    assert!(
        equal.iter().zip(&weighted).any(|(e, w)| e.tags != w.tags),
        "weighing B more must change some tags for the test to tell"
    );
    assert_eq!(decodes_weighted_mean_scores([0.5, 1.5]), weighted);
}

#[test]
fn member_weights_must_be_one_positive_number_per_member() {
    use relarc::model::ensemble::check_weights;
    let msg = |w: &[f64]| check_weights(w, 2).err().unwrap().to_string();
    assert!(msg(&[1.0]).contains("1 weights for 2 models"), "{}", msg(&[1.0]));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let m = msg(&[1.0, bad]);
        assert!(
            m.contains("model 2") && m.contains("not a positive number"),
            "{m}"
        );
    }
    let (a, _) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.2,
        ..ModelConfig::conll04()
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut b = changed_copy(&a, &tmp.path().join("b"), |_, _| None);
    b.config.re_threshold = 0.6;
    let together = Ensemble::weighted(vec![a, b], &[3.0, 1.0]).unwrap();
    assert!(
        (together.re_threshold - 0.3).abs() < 1e-12,
        "θr is the weighted mean of theirs"
    );
    assert!(together.is_weighted());
}

#[test]
fn models_of_other_types_cannot_predict_together() {
    let (a, _) = toy_model(ModelConfig {
        rnn_size: 16,
        ..ModelConfig::conll04()
    });
    let mut drug = Sentence::new(vec!["aspirin".into(), "rash".into()]);
    drug.entities.push(Entity::new("Drug", 0, 1));
    let vocab = Vocabulary::build([&drug], &Schema::infer([&drug]), 1);
    let other = Model::new(a.config.clone(), vocab, Device::Cpu);
    let err = Ensemble::new(vec![a, other]).err().unwrap().to_string();
    assert!(
        err.contains("model 2 of the ensemble") && err.contains("model 1 has") && err.contains("Drug"),
        "{err}"
    );
}

/// A combined folder (`relarc combine`) loads as its members predicting together at its own
/// θr, and is refused wherever it would be mistaken for, or written over, a single model.
#[test]
fn a_combined_model_folder_predicts_as_its_members_together() {
    use relarc::model::combined::{all_members, write_combined, Members, MEMBERS_FILE};
    let (a, sentences) = toy_model(ModelConfig {
        rnn_size: 16,
        re_threshold: 0.0,
        ..ModelConfig::conll04()
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n);
    let b = changed_copy(&a, &dir("b0"), |name, var| {
        (name == "re.ffnn2.bias").then(|| var - 1.0)
    });
    b.save(&dir("b")).unwrap();
    a.save(&dir("a")).unwrap();
    let pair = Members::equal(vec![dir("a"), dir("b")]);
    write_combined(&pair, 0.3, &dir("ab")).unwrap();

    let combined = Ensemble::load(&dir("ab"), Device::Cpu).unwrap();
    assert_eq!((combined.members.len(), combined.re_threshold), (2, 0.3));
    let mut apart = Ensemble::new(vec![Model::load(&dir("a"), Device::Cpu).unwrap(), b]).unwrap();
    apart.re_threshold = 0.3;
    let expected = predictions(&apart, &sentences);
    assert!(
        expected.iter().any(|p| !p.relations.is_empty()),
        "relations to compare"
    );
    assert!(
        predictions(&combined, &sentences) == expected,
        "predicts as the two together"
    );
    let single = Ensemble::load(&dir("a"), Device::Cpu).unwrap();
    assert_eq!(single.members.len(), 1);
    assert_eq!(
        relarc::model::shipped::entity_types(&dir("ab")),
        Some(a.vocab.entity_types.clone())
    );

    let refused = |e: relarc::model::ModelError, expect: &str| {
        let msg = e.to_string();
        assert!(msg.contains(expect), "{msg}");
    };
    refused(
        Model::load(&dir("ab"), Device::Cpu).err().unwrap(),
        "holds 2 models that predict together",
    );
    refused(a.save(&dir("ab")).err().unwrap(), "holds a combined model");
    refused(
        write_combined(&pair, 0.5, &dir("a")).err().unwrap(),
        "is not empty",
    );
    assert!(
        Ensemble::load(&dir("ab"), Device::Cpu).is_ok(),
        "refused writes left it whole"
    );

    weighted_members_are_kept_in_the_folder(&pair, &dir("ab"), &sentences);

    let members = dir("ab").join(MEMBERS_FILE);
    let text = std::fs::read_to_string(&members).unwrap();
    assert!(!text.contains("weights"), "equal weights are not written: {text}");
    std::fs::write(&members, r#"{"members": ["a", "../b"], "re_threshold": 0.3}"#).unwrap();
    let msg = Ensemble::load(&dir("ab"), Device::Cpu).err().unwrap().to_string();
    assert!(
        msg.contains("members.json") && msg.contains("not a folder inside"),
        "{msg}"
    );
    std::fs::write(&members, r#"{"members": ["a", "c"], "re_threshold": 0.3}"#).unwrap();
    let msg = Ensemble::load(&dir("ab"), Device::Cpu).err().unwrap().to_string();
    assert!(
        msg.contains(&dir("ab").join("c").join("config.json").display().to_string()),
        "{msg}"
    );
    for weights in ["[1]", "[1, 0]", "[1, -2]"] {
        let text = format!(r#"{{"members": ["a", "b"], "re_threshold": 0.3, "weights": {weights}}}"#);
        std::fs::write(&members, text).unwrap();
        let msg = Ensemble::load(&dir("ab"), Device::Cpu).err().unwrap().to_string();
        assert!(msg.contains("members.json") && msg.contains("weights"), "{msg}");
        assert!(all_members(&[dir("ab")]).is_err(), "{weights}");
    }
}

/// A combined folder of `pair` weighing 3 : 1 keeps its weights: it loads and predicts as the
/// two weighted so, and as a member of a larger whole its members keep their weights.
fn weighted_members_are_kept_in_the_folder(
    pair: &relarc::model::combined::Members,
    equal: &std::path::Path,
    sentences: &[Sentence],
) {
    use relarc::model::combined::{all_members, load_together, write_combined};
    let weighted = pair.clone().reweighted(&[3.0, 1.0]).unwrap();
    let out = equal.with_file_name("ab-weighted");
    write_combined(&weighted, 0.3, &out).unwrap();
    let loaded = Ensemble::load(&out, Device::Cpu).unwrap();
    assert_eq!((loaded.weights(), loaded.re_threshold), (&[3.0, 1.0][..], 0.3));
    let mut apart = load_together(&weighted, Device::Cpu).unwrap();
    apart.re_threshold = 0.3;
    let expected = predictions(&apart, sentences);
    assert_eq!(predictions(&loaded, sentences), expected);
    assert_ne!(
        predictions(&Ensemble::load(equal, Device::Cpu).unwrap(), sentences),
        expected,
        "the weights must change something for the test to tell"
    );
    let nested = all_members(&[out.clone(), pair.dirs[0].clone()]).unwrap();
    assert_eq!(nested.weights, [3.0, 1.0, 1.0]);
    assert_eq!(nested.dirs[..2], [out.join("a"), out.join("b")]);
}
