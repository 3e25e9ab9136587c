//! CoNLL files as people have them (tests/fixtures/conll: CoNLL-2003, GermEval 2014, CoNLL-U,
//! BIOES, a `.txt`): read → written back gives the same bytes, and through SpERT JSON keeps
//! every entity, checked against the tags decoded here, not by relarc.

use crate::common;

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conll")
        .join(name)
}

fn convert(args: &[&str]) -> String {
    let out = common::run(&[&["convert"], args].concat());
    assert!(out.status.success(), "convert {args:?}: {}", common::stderr(&out));
    common::stderr(&out)
}

/// (fixture, token column, tag column): each read with its columns found from the content.
const FILES: [(&str, usize, usize); 6] = [
    ("conll2002_ned_testa_excerpt.conll", 0, 2),
    ("conll2003_doccano_transformer.user1", 0, 3),
    ("doccano_example.conll", 0, 1),
    ("flair_trivial_train.txt", 0, 1),
    ("germeval2014_NER-de-train.tsv", 1, 2),
    ("ncrfpp_dev_head.bmes", 0, 1),
];

/// Sentences of (tokens, entities as (type, first, end)) from `path`, decoding any scheme.
type Spans = Vec<(String, usize, usize)>;

fn decode_file(path: &Path, token: usize, tag: usize) -> Vec<(Vec<String>, Spans)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut sentence: (Vec<String>, Vec<String>) = Default::default();
    let mut flush = |s: &mut (Vec<String>, Vec<String>)| {
        if !s.0.is_empty() {
            let (tokens, tags) = std::mem::take(s);
            out.push((tokens, spans(&tags)));
        }
    };
    for line in text.lines() {
        let f: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else {
            line.split(' ').collect()
        };
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("-DOCSTART-") {
            flush(&mut sentence);
            continue;
        }
        sentence.0.push(f[token].to_string());
        sentence.1.push(f[tag].to_string());
    }
    flush(&mut sentence);
    out
}

fn spans(tags: &[String]) -> Spans {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if t == "O" {
            continue;
        }
        let (p, label) = t.split_once('-').unwrap();
        let open = out.last_mut().filter(|s| s.2 == i && s.0 == label);
        match (p, open) {
            ("I" | "E" | "L" | "M", Some(s)) => s.2 = i + 1,
            _ => out.push((label.to_string(), i, i + 1)),
        }
    }
    out
}

#[test]
fn conll_variants_come_back_byte_identical_and_keep_their_entities_through_spert_json() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, token, tag) in FILES {
        let src = fixture(name);
        let same = tmp.path().join("same.conll");
        let note = convert(&[src.to_str().unwrap(), same.to_str().unwrap(), "--from", "conll"]);
        assert!(
            std::fs::read(&src).unwrap() == std::fs::read(&same).unwrap(),
            "{name} changed:\n{note}"
        );
        let json = tmp.path().join("s.json");
        convert(&[src.to_str().unwrap(), json.to_str().unwrap(), "--from", "conll"]);
        let sentences = common::read_json(&json);
        let sentences = sentences.as_array().unwrap();
        let expect = decode_file(&src, token, tag);
        assert_eq!(sentences.len(), expect.len(), "{name}");
        for (s, (tokens, ents)) in sentences.iter().zip(&expect) {
            let got_tokens: Vec<String> = serde_json::from_value(s["tokens"].clone()).unwrap();
            assert_eq!(&got_tokens, tokens, "{name}");
            let mut got: Vec<(String, usize, usize)> = s["entities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["type"].as_str().unwrap().to_string(),
                        e["start"].as_u64().unwrap() as usize,
                        e["end"].as_u64().unwrap() as usize,
                    )
                })
                .collect();
            got.sort_by_key(|e| e.1);
            assert_eq!(&got, ents, "{name}: {tokens:?}");
        }
        let back = tmp.path().join("back.conll");
        convert(&[json.to_str().unwrap(), back.to_str().unwrap()]);
        assert!(
            std::fs::read(&src).unwrap() == std::fs::read(&back).unwrap(),
            "{name} via SpERT JSON changed"
        );
    }
}

#[test]
fn what_was_read_is_said_and_a_columns_txt_is_conll() {
    let out = common::run(&["validate", fixture("flair_trivial_train.txt").to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("read as CoNLL columns"),
        "{}",
        common::stderr(&out)
    );
    assert!(
        common::stdout(&out).contains("16 entities"),
        "{}",
        common::stdout(&out)
    );
    let out = common::run(&[
        "stats",
        fixture("germeval2014_NER-de-train.tsv").to_str().unwrap(),
    ]);
    assert!(
        common::stderr(&out).contains("GermEval 2014 columns"),
        "{}",
        common::stderr(&out)
    );
    let out = common::run(&["stats", fixture("ncrfpp_dev_head.bmes").to_str().unwrap()]);
    assert!(
        common::stderr(&out).contains("tags in BIOES"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn conllu_entities_come_from_misc_and_a_file_without_them_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("u.json");
    convert(&[
        fixture("ud_sl_ssj_ner.conllu").to_str().unwrap(),
        json.to_str().unwrap(),
    ]);
    let s = common::read_json(&json);
    let s = s.as_array().unwrap();
    assert_eq!(s[0]["tokens"][0], "Caplan");
    let ents: Vec<(String, u64, u64)> = s[0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().into(),
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ents, [("per".into(), 0, 3), ("misc".into(), 7, 12)]);
    let out = common::run(&[
        "validate",
        fixture("ud_en_ewt_test_head.conllu").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("CoNLL-U without entities"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn a_scheme_and_columns_can_be_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let bio = tmp.path().join("b.iob2");
    convert(&[
        fixture("ncrfpp_dev_head.bmes").to_str().unwrap(),
        bio.to_str().unwrap(),
        "--scheme",
        "iob2",
    ]);
    let text = std::fs::read_to_string(&bio).unwrap();
    assert!(
        text.starts_with("CRICKET O\n- O\nLEICESTERSHIRE B-ORG\n"),
        "{}",
        &text[..80]
    );
    assert!(!text.contains("S-") && !text.contains("E-"));
    assert_eq!(
        decode_file(&bio, 0, 1),
        decode_file(&fixture("ncrfpp_dev_head.bmes"), 0, 1)
    );
    let inner = tmp.path().join("inner.json");
    convert(&[
        fixture("germeval2014_NER-de-train.tsv").to_str().unwrap(),
        inner.to_str().unwrap(),
        "--tag-column",
        "4",
    ]);
    let s = common::read_json(&inner);
    let s = s.as_array().unwrap();
    assert!(
        s.iter().all(|x| x["entities"] == serde_json::json!([])),
        "this file's inner layer has no entities"
    );
}
