//! Damaged copies of real files give a clear error naming the file, the line, the sentence and
//! the problem, and a non-zero exit code; nothing panics.

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// conll04/dev.json as values, one per sentence (the file has one sentence per line).
fn dev_sentences() -> Option<Vec<Value>> {
    let data = common::data_dir()?;
    let text = std::fs::read_to_string(data.join("conll04/dev.json")).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

fn write_lines(dir: &Path, name: &str, sentences: &[Value]) -> PathBuf {
    let lines: Vec<String> = sentences.iter().map(|s| s.to_string()).collect();
    let path = dir.join(name);
    std::fs::write(&path, format!("[\n{}\n]\n", lines.join(",\n"))).unwrap();
    path
}

/// Runs `relarc validate` on a copy of dev.json where sentence 6 (index 5, line 7) was
/// damaged, and checks the message.
fn check_damage(damage: impl FnOnce(&mut Value), expect: &str, extra_args: &[&str]) {
    let Some(mut sentences) = dev_sentences() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let id = sentences[5]["id"].as_str().unwrap().to_string();
    damage(&mut sentences[5]);
    let path = write_lines(tmp.path(), "damaged.json", &sentences);
    let mut args = vec!["validate", path.to_str().unwrap()];
    args.extend_from_slice(extra_args);
    let out = common::run(&args);
    let msg = common::stdout(&out) + &common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    let place = format!("damaged.json:7: sentence 6 (id {id}): ");
    assert!(msg.contains(&place), "message lacks the place {place:?}:\n{msg}");
    assert!(msg.contains(expect), "message lacks {expect:?}:\n{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
}

#[test]
fn span_out_of_range() {
    check_damage(|s| s["entities"][0]["end"] = json!(999), "entity 0 span", &[]);
    check_damage(
        |s| s["entities"][0]["end"] = json!(999),
        "is out of range (the sentence has",
        &[],
    );
}

#[test]
fn empty_span() {
    check_damage(
        |s| {
            let start = s["entities"][1]["start"].clone();
            s["entities"][1]["end"] = start;
        },
        "entity 1 has an empty span",
        &[],
    );
}

#[test]
fn relation_pointing_at_a_missing_entity() {
    check_damage(
        |s| s["relations"][0]["tail"] = json!(40),
        "relation 0 tail points at entity 40",
        &[],
    );
}

#[test]
fn self_relation() {
    check_damage(
        |s| {
            let h = s["relations"][0]["head"].clone();
            s["relations"][0]["tail"] = h;
        },
        "joins entity",
        &[],
    );
}

#[test]
fn duplicate_entity() {
    check_damage(
        |s| {
            let e = s["entities"][0].clone();
            s["entities"].as_array_mut().unwrap().push(e);
        },
        "duplicates entity 0 (same span and type)",
        &[],
    );
}

#[test]
fn empty_and_whitespace_tokens() {
    check_damage(|s| s["tokens"][0] = json!(""), "token 0 is empty", &[]);
    check_damage(
        |s| s["tokens"][2] = json!("a b"),
        "token 2 (\"a b\") contains whitespace",
        &[],
    );
    check_damage(
        |s| s["tokens"][2] = json!("a\u{2003}b"),
        "contains whitespace",
        &[],
    );
}

#[test]
fn unknown_types_against_a_schema() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = common::run(&["schema", data.join("conll04/dev.json").to_str().unwrap()]);
    assert!(out.status.success());
    let schema = tmp.path().join("schema.json");
    std::fs::write(&schema, common::stdout(&out)).unwrap();
    let s = schema.to_str().unwrap();
    check_damage(
        |x| x["entities"][0]["type"] = json!("Lco"),
        "entity 0 has unknown type \"Lco\"",
        &["--schema", s],
    );
    check_damage(
        |x| x["relations"][0]["type"] = json!("Born_In"),
        "relation 0 has unknown type \"Born_In\"",
        &["--schema", s],
    );
}

#[test]
fn relation_with_arguments_the_schema_does_not_allow() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = common::run(&["schema", data.join("conll04/dev.json").to_str().unwrap()]);
    let schema = tmp.path().join("schema.json");
    std::fs::write(&schema, common::stdout(&out)).unwrap();
    // Give sentence 6's first relation a type whose head must be of another entity type.
    let Some(sentences) = dev_sentences() else { return };
    let r = &sentences[5]["relations"][0];
    let head_type = sentences[5]["entities"][r["head"].as_u64().unwrap() as usize]["type"].clone();
    let wrong = if head_type == json!("Peop") {
        "Located_In"
    } else {
        "Kill"
    };
    check_damage(
        |x| x["relations"][0]["type"] = json!(wrong),
        &format!("of type \"{wrong}\" may not join"),
        &["--schema", schema.to_str().unwrap()],
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let Some(mut sentences) = dev_sentences() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    sentences[0]["entities"][0]["end"] = json!(500);
    sentences[100]["relations"][0]["head"] = json!(77);
    sentences[200]["tokens"][0] = json!("");
    let path = write_lines(tmp.path(), "many.json", &sentences);
    let out = common::run(&["validate", path.to_str().unwrap()]);
    let msg = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(msg.contains("has 3 problems"), "{msg}");
    assert!(msg.contains("many.json:2: sentence 1"), "{msg}");
    assert!(msg.contains("many.json:102: sentence 101"), "{msg}");
    assert!(msg.contains("many.json:202: sentence 201"), "{msg}");
}

#[test]
fn malformed_records_name_their_line() {
    type Damage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Damage, &str)> = vec![
        (
            Box::new(|s| {
                s.as_object_mut().unwrap().remove("tokens");
            }),
            "read as SpERT JSON, but this record has no `tokens` (keys: id,",
        ),
        (
            Box::new(|s| s["entities"][0]["start"] = json!("4")),
            "entity 0: `start` must be a non-negative integer",
        ),
        (
            Box::new(|s| s["entities"][0]["start"] = json!(-1)),
            "must be a non-negative integer",
        ),
        (
            Box::new(|s| s["relations"][0]["type"] = json!(3)),
            "relation 0: `type` must be a string",
        ),
        (
            Box::new(|s| s["tokens"][1] = json!(null)),
            "token 1 is not a string",
        ),
        (
            Box::new(|s| s["entities"] = json!({"a": 1})),
            "`entities` must be an array",
        ),
    ];
    for (damage, expect) in cases {
        check_damage(damage, expect, &[]);
    }
}

#[test]
fn truncated_and_non_json_files() {
    let Some(data) = common::data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data.join("conll04/dev.json")).unwrap();
    let cases = [
        (
            "truncated.json",
            text[..text.len() / 2].to_string(),
            "not valid JSON",
        ),
        (
            "object.json",
            "{\"tokens\": []}".to_string(),
            "expected a JSON array of sentence objects",
        ),
        ("empty.json", String::new(), "not valid JSON"),
        ("text.json", "hello".to_string(), "not valid JSON"),
    ];
    for (name, content, expect) in cases {
        let p = tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        let out = common::run(&["stats", p.to_str().unwrap()]);
        let msg = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {msg}");
        assert!(msg.contains(name) && msg.contains(expect), "{name}: {msg}");
    }
    // The truncated file names the line where it ends.
    let p = tmp.path().join("truncated.json");
    let lines = std::fs::read_to_string(&p).unwrap().lines().count();
    let msg = common::stderr(&common::run(&["validate", p.to_str().unwrap()]));
    assert!(msg.contains(&format!("truncated.json:{lines}:")), "{msg}");
}

#[test]
fn invalid_utf8_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.jsonl");
    let mut bytes = b"{\"tokens\": [\"a\"]}\n{\"tokens\": [\"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"]}\n");
    std::fs::write(&p, bytes).unwrap();
    let out = common::run(&["validate", p.to_str().unwrap()]);
    let msg = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(msg.contains("bad.jsonl:2: not valid UTF-8"), "{msg}");
}

#[test]
fn jsonl_errors_name_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.jsonl");
    std::fs::write(&p, "{\"tokens\": [\"a\", \"b\"]}\n\n{\"tokens\": [\"a\"], \"entities\": [{\"type\": \"X\", \"start\": 0, \"end\": 3}]}\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", p.to_str().unwrap()]));
    assert!(
        msg.contains("c.jsonl:3: sentence 2: entity 0 span 0..3 is out of range"),
        "{msg}"
    );
}

fn brat_doc(dir: &Path, text: &str, ann: &str) -> PathBuf {
    std::fs::write(dir.join("doc.txt"), text).unwrap();
    std::fs::write(dir.join("doc.ann"), ann).unwrap();
    dir.join("doc.ann")
}

#[test]
fn brat_refuses_malformed_lines_with_their_place() {
    let text = "Poe was born in Boston.\nHe died in Baltimore.\n";
    let cases = [
        ("T1\tPeop 0 3\tPeo\n", "T1: text \"Peo\" does not match \"Poe\""),
        (
            "T1\tPeop 0 300\tPoe\n",
            "T1: offsets 0..300 are empty or outside the text",
        ),
        (
            "T1\tPeop 0 3\tPoe\nR1\tLive_In Arg1:T1 Arg2:T9\n",
            "R1: argument T9 is not an annotation of this document",
        ),
        (
            "T1\tPeop 0 3\tPoe\nT1\tLoc 16 22\tBoston\n",
            ":2: T1 is defined twice",
        ),
        ("X1\tfoo\n", "unrecognised annotation line"),
    ];
    for (ann, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let p = brat_doc(tmp.path(), text, ann);
        let out = common::run(&["validate", p.to_str().unwrap()]);
        let msg = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{ann:?}: {msg}");
        assert!(
            msg.contains("doc.ann") && msg.contains(expect),
            "{ann:?}: expected {expect:?} in {msg}"
        );
    }
}

#[test]
fn doccano_offsets_and_ids_are_checked() {
    let cases = [
        (
            r#"{"text": "Poe lived in Boston.", "entities": [{"id": 1, "label": "Peop", "start_offset": 0, "end_offset": 90}]}"#,
            "entity 0 (Peop) offsets 0..90 are outside the text (20 characters)",
        ),
        (
            r#"{"text": "Poe lived in Boston.", "entities": [{"id": 1, "label": "Peop", "start_offset": 0, "end_offset": 3}], "relations": [{"id": 1, "from_id": 1, "to_id": 7, "type": "Live_In"}]}"#,
            "`to_id` 7 is not the id of an entity",
        ),
        (r#"{"entities": []}"#, "has no `text` (keys: entities)"),
        (r#"{"text": "   ", "entities": []}"#, "sentence has no tokens"),
    ];
    for (line, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("d.doccano.jsonl");
        std::fs::write(&p, format!("{{\"text\": \"fine\"}}\n{line}\n")).unwrap();
        let out = common::run(&["validate", p.to_str().unwrap()]);
        let msg = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{msg}");
        assert!(
            msg.contains("d.doccano.jsonl:2") && msg.contains(expect),
            "expected {expect:?} in {msg}"
        );
    }
}

#[test]
fn conll_bad_tags_name_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.conll");
    std::fs::write(&p, "Poe\tB-Peop\nlived\tO\n\nin\tO\nBoston\tX-Loc\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", p.to_str().unwrap()]));
    assert!(
        msg.contains("c.conll:5: sentence 2: \"X-Loc\" in column 2 is not a tag"),
        "{msg}"
    );
    std::fs::write(&p, "Poe\tB-Peop\nlived\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", p.to_str().unwrap()]));
    assert!(
        msg.contains(
            "c.conll:2: sentence 1: expected 2 columns (the token in column 1, the tag in column 2), found 1"
        ),
        "{msg}"
    );
}

#[test]
fn unknown_formats_and_missing_files_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.xml");
    std::fs::write(&p, "<a/>").unwrap();
    let msg = common::stderr(&common::run(&["stats", p.to_str().unwrap()]));
    assert!(msg.contains("cannot tell the format"), "{msg}");
    let out = common::run(&["stats", "/nonexistent/c.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("/nonexistent/c.json: No such file"),
        "{}",
        common::stderr(&out)
    );
    let out = common::run(&["convert", "/nonexistent/c.json", "x.json", "--to", "xml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("unknown format \"xml\""));
}

#[test]
fn brat_span_cutting_a_written_token_is_refused() {
    // With relarc's sidecar the tokens are fixed, so a span may not cut one.
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("c.jsonl");
    std::fs::write(&src, "{\"tokens\": [\"Poe\", \"lived\", \"in\", \"Boston\"]}\n").unwrap();
    let out_dir = tmp.path().join("b");
    assert!(
        common::run(&["convert", src.to_str().unwrap(), out_dir.to_str().unwrap()])
            .status
            .success()
    );
    std::fs::write(out_dir.join("corpus.ann"), "T1\tPeop 1 3\toe\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", out_dir.to_str().unwrap()]));
    assert!(
        msg.contains("corpus.ann:1: T1: offset 1 falls inside token \"Poe\""),
        "{msg}"
    );
}

#[test]
fn every_format_problem_is_reported_not_only_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("brat");
    std::fs::create_dir(&dir).unwrap();
    for name in ["a", "b"] {
        std::fs::write(dir.join(format!("{name}.txt")), "Poe was born in Boston.\n").unwrap();
    }
    std::fs::write(
        dir.join("a.ann"),
        "T1\tPeop 0 3\tPeo\nT2\tLoc 16 22\tBoston\nR1\tLive Arg1:T1 Arg2:T9\nX1\tfoo\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.ann"), "T1\tPeop 0 300\tPoe\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", dir.to_str().unwrap()]));
    for expect in [
        "has 4 problems",
        "a.ann:1: T1: text \"Peo\"",
        "a.ann:3: R1: argument T9",
        "a.ann:4: unrecognised annotation line",
        "b.ann:1: T1: offsets 0..300",
    ] {
        assert!(msg.contains(expect), "expected {expect:?} in {msg}");
    }
    let jsonl = tmp.path().join("c.jsonl");
    std::fs::write(&jsonl, "{\"tokens\": [\"a\"]}\n{\"tokens\": 3}\n{bad\n").unwrap();
    let msg = common::stderr(&common::run(&["validate", jsonl.to_str().unwrap()]));
    assert!(
        msg.contains("has 2 problems") && msg.contains("c.jsonl:2:") && msg.contains("c.jsonl:3:"),
        "{msg}"
    );
    let conll = tmp.path().join("c.conll");
    let lines: String = (0..300).map(|i| format!("w{i}\tZ-{i}\n")).collect();
    std::fs::write(&conll, format!("a\tO\n{lines}")).unwrap();
    let msg = common::stderr(&common::run(&["validate", conll.to_str().unwrap()]));
    assert!(
        msg.contains("c.conll has 300 problems") && msg.contains("… and 250 more"),
        "{msg}"
    );
}
