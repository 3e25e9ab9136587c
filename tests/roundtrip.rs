//! Every shared corpus file survives load + save in every format that can hold it.

use crate::common;

use std::path::Path;

use relarc::corpus::overlap::remove_overlaps_all;
use relarc::corpus::{Corpus, Format};
use serde_json::Value;

fn reload(corpus: &Corpus, dir: &Path, name: &str, format: Format) -> Corpus {
    let path = dir.join(name);
    corpus.save_as(&path, format).unwrap();
    Corpus::load_as(&path, format).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn json_load_save_gives_back_the_same_file() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for rel in common::corpus_files(&data) {
        let src = data.join(&rel);
        let corpus = Corpus::load(&src).unwrap();
        let out = tmp.path().join("out.json");
        corpus.save(&out).unwrap();
        let (a, b) = (std::fs::read(&src).unwrap(), std::fs::read(&out).unwrap());
        if rel.starts_with("raw") {
            // SpERT's own files use another layout; the data must be the same, key order too.
            let va: Value = serde_json::from_slice(&a).unwrap();
            let vb: Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(va, vb, "{}", rel.display());
            assert_eq!(
                serde_json::to_string(&va).unwrap(),
                serde_json::to_string(&vb).unwrap()
            );
        } else {
            assert!(a == b, "{}: saved file differs from the original", rel.display());
        }
    }
}

#[test]
fn every_format_that_holds_relations_round_trips() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for rel in common::corpus_files(&data) {
        let corpus = Corpus::load(&data.join(&rel)).unwrap();
        for (name, format) in [
            ("c.jsonl", Format::Jsonl),
            ("c.doccano.jsonl", Format::Doccano),
            ("brat", Format::Brat),
        ] {
            let back = reload(&corpus, tmp.path(), name, format);
            assert_eq!(
                back.sentences.len(),
                corpus.sentences.len(),
                "{} via {format}",
                rel.display()
            );
            for (i, (x, y)) in corpus.sentences.iter().zip(&back.sentences).enumerate() {
                assert_eq!(x, y, "{} via {format}: sentence {i} changed", rel.display());
            }
        }
    }
}

#[test]
fn conll_keeps_tokens_entities_and_ids() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for rel in common::corpus_files(&data) {
        let mut corpus = Corpus::load(&data.join(&rel)).unwrap();
        let path = tmp.path().join("c.conll");
        let notes = corpus.save(&path).unwrap();
        assert!(
            notes.iter().any(|n| n.contains("relations were left out")),
            "{}: {notes:?}",
            rel.display()
        );
        let back = Corpus::load(&path).unwrap();
        remove_overlaps_all(&mut corpus.sentences);
        for (x, y) in corpus.sentences.iter().zip(&back.sentences) {
            assert_eq!(x.tokens, y.tokens);
            assert_eq!(x.id(), y.id());
            let mut a: Vec<_> = x
                .entities
                .iter()
                .map(|e| (e.start, e.end, e.label.clone()))
                .collect();
            let b: Vec<_> = y
                .entities
                .iter()
                .map(|e| (e.start, e.end, e.label.clone()))
                .collect();
            a.sort();
            assert_eq!(a, b, "{}", rel.display());
        }
        assert_eq!(back.sentences.len(), corpus.sentences.len());
    }
}

#[test]
fn convert_chain_through_every_format_gives_back_the_same_bytes() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    for rel in ["conll04/dev.json", "ade/split_3_test.json"] {
        let src = data.join(rel);
        let steps = [
            (src.to_str().unwrap().to_string(), t("a.jsonl")),
            (t("a.jsonl"), t("b.doccano.jsonl")),
            (t("b.doccano.jsonl"), t("brat_out")),
            (t("brat_out"), t("back.json")),
        ];
        for (from, to) in &steps {
            let out = common::run(&["convert", from, to]);
            assert!(
                out.status.success(),
                "convert {from} {to}: {}",
                common::stderr(&out)
            );
        }
        assert!(
            std::fs::read(&src).unwrap() == std::fs::read(t("back.json")).unwrap(),
            "{rel} changed"
        );
    }
}

#[test]
fn convert_says_when_relations_would_be_lost() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("dev.conll");
    let out = common::run(&[
        "convert",
        data.join("conll04/dev.json").to_str().unwrap(),
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(
        common::stderr(&out).contains("353 relations were left out"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn overlap_removal_counts_what_it_removed() {
    let Some(data) = common::data_dir() else { return };
    let mut corpus = Corpus::load(&data.join("ade/ade_full.json")).unwrap();
    let removed = remove_overlaps_all(&mut corpus.sentences);
    // STATS.md: 120 nested pairs in 119 sentences; each pair loses its inner Drug.
    assert_eq!(removed.sentences, 119);
    assert_eq!(removed.entities, 120);
    assert!(removed.relations > 0);
    let st = relarc::corpus::stats::compute(&corpus.sentences);
    assert_eq!(st.overlap_pairs, 0);
    assert_eq!(st.entities, 10839 - 120);
    assert_eq!(st.relations, 6821 - removed.relations);
}
