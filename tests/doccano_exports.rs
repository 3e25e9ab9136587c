//! doccano's own import and export examples (tests/fixtures/doccano, from doccano's and
//! doccano-transformer's repositories) come back with the same text, offsets and ids. The
//! checks read the files with serde_json, not with relarc.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/doccano")
        .join(name)
}

/// Every JSON value of a file: JSON lines, pretty-printed objects or one array.
fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let values: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    match values.as_slice() {
        [Value::Array(items)] => items.clone(),
        _ => values,
    }
}

type Span = (u64, u64, String, String);

/// A record's entities as (start, end, label, user), from whichever key the export uses.
fn spans(r: &Value) -> BTreeSet<Span> {
    let mut out = BTreeSet::new();
    for key in ["entities", "annotations"] {
        for e in r[key].as_array().into_iter().flatten() {
            let label = match &e["label"] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            out.insert((
                e["start_offset"].as_u64().unwrap(),
                e["end_offset"].as_u64().unwrap(),
                label,
                e["user"].to_string(),
            ));
        }
    }
    for key in ["label", "labels"] {
        for t in r[key].as_array().into_iter().flatten() {
            out.insert((
                t[0].as_u64().unwrap(),
                t[1].as_u64().unwrap(),
                t[2].as_str().unwrap().to_string(),
                "null".into(),
            ));
        }
    }
    out
}

fn convert(from: &Path, to: &Path) {
    let out = common::run(&["convert", from.to_str().unwrap(), to.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "convert {}: {}",
        from.display(),
        common::stderr(&out)
    );
}

#[test]
fn doccano_exports_come_back_with_the_same_text_offsets_and_ids() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "export_relation_extraction.jsonl",
        "import_relation_extraction.jsonl",
        "export_sequence_labeling.jsonl",
        "transformer_labeling.jsonl",
        "transformer_labeling_text_label.jsonl",
    ] {
        let out = tmp.path().join("out.doccano.jsonl");
        convert(&fixture(name), &out);
        let (before, after) = (records(&fixture(name)), records(&out));
        assert_eq!(before.len(), after.len(), "{name}");
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(a["text"], b["text"], "{name}: the text is the user's");
            assert_eq!(spans(a), spans(b), "{name}: entities, every annotator's");
            assert_eq!(a["meta"], b["meta"], "{name}");
        }
    }
    let out = tmp.path().join("re.doccano.jsonl");
    convert(&fixture("export_relation_extraction.jsonl"), &out);
    let (a, b) = (
        &records(&fixture("export_relation_extraction.jsonl"))[0],
        &records(&out)[0],
    );
    let ids = |r: &Value, key: &str| {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(a, "entities"), ids(b, "entities"));
    assert_eq!(ids(a, "relations"), ids(b, "relations"));
    let rel = |r: &Value| {
        r["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["from_id"].clone(), x["to_id"].clone(), x["type"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(rel(a), rel(b));
}

#[test]
fn a_boundary_inside_a_word_does_not_change_the_text() {
    // doccano's own import test: "exampleA" with the entity "e".
    let tmp = tempfile::tempdir().unwrap();
    let first = std::fs::read_to_string(fixture("import_sequence_labeling.jsonl")).unwrap();
    let src = tmp.path().join("one.doccano.jsonl");
    std::fs::write(&src, first.lines().next().unwrap()).unwrap();
    let out = tmp.path().join("out.doccano.jsonl");
    convert(&src, &out);
    let r = &records(&out)[0];
    assert_eq!(r["text"], "exampleA");
    assert_eq!(
        spans(r),
        BTreeSet::from([(0, 1, "LOC".to_string(), "null".to_string())])
    );
}

#[test]
fn a_record_without_text_is_named_with_its_line() {
    let out = common::run(&[
        "validate",
        fixture("import_sequence_labeling.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let msg = common::stderr(&out);
    assert!(
        msg.contains("import_sequence_labeling.jsonl:3") && msg.contains("no `text` (keys: label, meta)"),
        "{msg}"
    );
}

#[test]
fn a_json_array_of_records_reads_like_json_lines_and_survives_spert_json() {
    let tmp = tempfile::tempdir().unwrap();
    let array = tmp.path().join("export.json");
    let items = records(&fixture("transformer_labeling_text_label.jsonl"));
    std::fs::write(&array, serde_json::to_string_pretty(&items).unwrap()).unwrap();
    let (spert, back) = (
        tmp.path().join("spert.json"),
        tmp.path().join("back.doccano.jsonl"),
    );
    convert(&array, &spert);
    convert(&spert, &back);
    // SpERT JSON holds sentences of tokens, not the spaces between them nor which sentences
    // made one record: compare every entity by its text, and the records' ids.
    let covered = |r: &Value| {
        let chars: Vec<char> = r["text"].as_str().unwrap().chars().collect();
        spans(r)
            .into_iter()
            .map(|(a, b, l, _)| {
                (
                    chars[a as usize..b as usize]
                        .iter()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>(),
                    l,
                )
            })
            .collect::<Vec<_>>()
    };
    let all = |rs: &[Value]| {
        let mut v: Vec<(String, String)> = rs.iter().flat_map(covered).collect();
        v.sort();
        v
    };
    let back = records(&back);
    assert_eq!(all(&items), all(&back));
    let ids = |rs: &[Value]| {
        rs.iter()
            .map(|r| r["id"].clone())
            .filter(|v| !v.is_null())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&items), ids(&back));
}

#[test]
fn label_ids_become_names_through_the_projects_label_file() {
    // The same two records exported with label ids and with label names by doccano.
    let tmp = tempfile::tempdir().unwrap();
    let labels = tmp.path().join("labels.json");
    let export = |ids: &[(u64, &str)]| {
        let items: Vec<Value> = ids
            .iter()
            .map(|(id, t)| serde_json::json!({"id": id, "text": t, "task_type": "Span"}))
            .collect();
        std::fs::write(&labels, Value::Array(items).to_string()).unwrap();
    };
    export(&[(12, "LOC"), (13, "PER"), (14, "ORG")]);
    let out = tmp.path().join("named.doccano.jsonl");
    let src = fixture("transformer_labeling.jsonl");
    let run = common::run(&[
        "convert",
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let named = records(&fixture("transformer_labeling_text_label.jsonl"));
    for (a, b) in records(&out).iter().zip(&named) {
        let mine: BTreeSet<(u64, u64, String)> = a["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["start_offset"].as_u64().unwrap(),
                    e["end_offset"].as_u64().unwrap(),
                    e["label"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let theirs: BTreeSet<(u64, u64, String)> =
            spans(b).into_iter().map(|(s, e, l, _)| (s, e, l)).collect();
        assert_eq!(mine, theirs);
    }
    export(&[(12, "LOC")]);
    let run = common::run(&[
        "validate",
        src.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        common::stderr(&run).contains("label id 13 is not in the label file"),
        "{}",
        common::stderr(&run)
    );
}

#[test]
fn a_record_of_several_sentences_is_split_and_written_back_whole() {
    let c = relarc::corpus::Corpus::load(&fixture("transformer_labeling_text_label.jsonl")).unwrap();
    let texts: Vec<String> = c.sentences.iter().map(|s| s.tokens.join(" ")).collect();
    assert_eq!(
        texts[0],
        "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT ."
    );
    assert_eq!(texts[1], "Nadim Ladki");
    assert_eq!(
        c.sentences[0].id().as_deref(),
        Some("2578"),
        "the record's fields go with its first sentence"
    );
    let per: Vec<usize> = c.sentences.iter().map(|s| s.entities.len()).collect();
    assert_eq!(per[..3], [2, 1, 2], "each sentence has its own entities");
    // Written back: one record per record read, and read again: the same sentences.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.doccano.jsonl");
    c.save(&out).unwrap();
    assert_eq!(records(&out).len(), 2);
    let again = relarc::corpus::Corpus::load(&out).unwrap();
    assert_eq!(again.sentences, c.sentences);
}
