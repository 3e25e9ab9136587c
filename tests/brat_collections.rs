//! brat's own tutorial collection (tests/fixtures/brat/news, from brat's repository) comes back
//! as the user gave it: same text, same ids, every line relarc does not model untouched. The
//! checks read the files with the small standoff reader below, not with relarc.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use relarc::corpus::{Corpus, Entity, Format};

fn news() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brat/news")
}

/// A `.ann` line: its id, its type, and the rest of its second field.
struct Line {
    raw: String,
    id: String,
    kind: String,
    args: Vec<String>,
    quoted: Option<String>,
}

/// An independent reader of standoff lines.
fn ann_lines(path: &Path) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|raw| {
            let f: Vec<&str> = raw.split('\t').collect();
            let body: Vec<&str> = f.get(1).unwrap_or(&"").split(' ').collect();
            Line {
                raw: raw.to_string(),
                id: f[0].to_string(),
                kind: body[0].to_string(),
                args: body[1..].iter().map(|s| s.to_string()).collect(),
                quoted: f.get(2).map(|s| s.to_string()),
            }
        })
        .collect()
}

/// Checks every contiguous T line of `ann` against `txt`: the offsets cut out the quoted text.
fn assert_offsets_match_text(ann: &Path, txt: &Path) {
    let chars: Vec<char> = std::fs::read_to_string(txt).unwrap().chars().collect();
    for l in ann_lines(ann).iter().filter(|l| l.id.starts_with('T')) {
        if l.args.iter().any(|a| a.contains(';')) {
            continue;
        }
        let (from, to): (usize, usize) = (l.args[0].parse().unwrap(), l.args[1].parse().unwrap());
        let covered: String = chars[from..to]
            .iter()
            .map(|&c| if c == '\n' { ' ' } else { c })
            .collect();
        assert_eq!(Some(covered), l.quoted, "{}: {}", ann.display(), l.raw);
    }
}

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        out.insert(
            e.strip_prefix(dir).unwrap().to_path_buf(),
            std::fs::read(&e).unwrap(),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in files_under(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

#[test]
fn brat_tutorial_collection_with_sub_folders_comes_back_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_tree(&news(), &input);
    copy_tree(&news(), &input.join("more/news"));
    let out = tmp.path().join("out");
    let run = common::run(&["convert", input.to_str().unwrap(), out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let (a, b) = (files_under(&input), files_under(&out));
    // The same files, the sub-folder's configuration included.
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (rel, bytes) in &b {
        assert!(a[rel] == *bytes, "{} differs", rel.display());
    }
}

#[test]
fn validate_and_stats_count_what_is_kept_aside() {
    let p = news();
    let out = common::run(&["validate", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let msg = common::stdout(&out);
    assert!(
        msg.contains("kept aside, written back unchanged: 11 attributes, 2 equivalences, 23 events, 1 normalisations, 1 notes"),
        "{msg}"
    );
    let c = Corpus::load(&p).unwrap();
    let shown: usize = c
        .sentences
        .iter()
        .map(|s| s.source.as_ref().unwrap().kept_aside)
        .sum();
    assert_eq!(
        shown,
        11 + 2 + 23 + 1 + 1,
        "every kept-aside line is shown with a sentence"
    );
}

/// Deletes, adds and retypes entities in brat's attribute and relation tutorials and writes
/// the collection back.
#[test]
fn edits_leave_every_line_relarc_does_not_model_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_tree(&news(), &input);
    let mut c = Corpus::load(&input).unwrap();
    let doc_of = |s: &relarc::corpus::Sentence| s.source.as_ref().unwrap().doc.name.clone();
    // 060: "Terry Pratchett lives in England." (T1, T2, R1) gets a new entity; 100: the
    // first "CNN" (T6) goes; 110: "Discworld" (T1) becomes an Organization.
    let i = c
        .sentences
        .iter()
        .position(|s| doc_of(s) == "060-relation_annotation" && s.tokens.contains(&"Pratchett".to_string()))
        .unwrap();
    let lives = c.sentences[i].tokens.iter().position(|t| t == "lives").unwrap();
    c.sentences[i].entities.push(Entity::new("GPE", lives, lives + 1));
    let drop_cnn = |c: &mut Corpus| {
        for s in c
            .sentences
            .iter_mut()
            .filter(|s| doc_of(s) == "100-attribute_annotation")
        {
            let drop: Vec<bool> = s.entities.iter().map(|e| s.tokens[e.start] == "CNN").collect();
            if drop.iter().any(|&d| d) {
                s.remove_entities(&drop);
                return;
            }
        }
    };
    drop_cnn(&mut c);
    for s in c
        .sentences
        .iter_mut()
        .filter(|s| doc_of(s) == "110-note_annotation")
    {
        if let Some(e) = s.entities.iter_mut().find(|e| s.tokens[e.start] == "Discworld") {
            e.label = "Organization".into();
            break;
        }
    }
    c.schema = relarc::corpus::Schema::infer(&c.sentences);
    let out = tmp.path().join("out");
    let notes = c.save_as(&out, Format::Brat).unwrap();
    for name in [
        "060-relation_annotation",
        "100-attribute_annotation",
        "110-note_annotation",
        "999-complete",
    ] {
        let (before, after) = (
            ann_lines(&input.join(format!("{name}.ann"))),
            ann_lines(&out.join(format!("{name}.ann"))),
        );
        let kept: Vec<&str> = after.iter().map(|l| l.raw.as_str()).collect();
        for l in &before {
            let touched = (name == "100-attribute_annotation" && ["T6", "E4", "A6"].contains(&l.id.as_str()))
                || (name == "110-note_annotation" && l.id == "T1");
            if !touched {
                assert!(
                    kept.contains(&l.raw.as_str()),
                    "{name}: lost or changed {:?}",
                    l.raw
                );
            }
        }
        assert_offsets_match_text(&out.join(format!("{name}.ann")), &out.join(format!("{name}.txt")));
        assert_eq!(
            std::fs::read(input.join(format!("{name}.txt"))).unwrap(),
            std::fs::read(out.join(format!("{name}.txt"))).unwrap()
        );
    }
    let after_100 = ann_lines(&out.join("100-attribute_annotation.ann"));
    // E4 is "CNN reports ..." with CNN (T6) as its Reporter, and A6 an attribute of E4.
    assert!(
        after_100
            .iter()
            .all(|l| !["T6", "E4", "A6"].contains(&l.id.as_str())),
        "CNN, its event and its attribute are gone"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("100-attribute_annotation") && n.contains("E4, A6")),
        "{notes:?}"
    );
    let t110 = ann_lines(&out.join("110-note_annotation.ann"));
    let discworld = t110.iter().find(|l| l.id == "T1").unwrap();
    assert_eq!(discworld.kind, "Organization", "a retyped entity keeps its id");
    assert!(t110
        .iter()
        .any(|l| l.raw == "#1\tAnnotatorNotes T1\tShould fictional places be annotated?"));
    let t060 = ann_lines(&out.join("060-relation_annotation.ann"));
    let new = t060
        .iter()
        .find(|l| l.quoted.as_deref() == Some("lives"))
        .expect("the new entity");
    assert_eq!(new.id, "T11", "new ids continue after the highest");
}

#[test]
fn brat_to_spert_json_and_back_keeps_every_entity_and_relation() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("news.json");
    let back = tmp.path().join("back");
    for (from, to) in [(news(), json.clone()), (json.clone(), back.clone())] {
        let out = common::run(&["convert", from.to_str().unwrap(), to.to_str().unwrap()]);
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    // SpERT holds entity types and spans and relations between them, and tokens but not the
    // spaces between them: compare the annotations by their text without spaces.
    let squeeze = |t: String| t.split_whitespace().collect::<String>();
    let summary = |dir: &Path| {
        let mut ents = Vec::new();
        let mut rels = Vec::new();
        for ann in walk(dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "ann"))
        {
            let lines = ann_lines(&ann);
            let text_of = |id: &str| {
                squeeze(
                    lines
                        .iter()
                        .find(|l| l.id == id)
                        .and_then(|l| l.quoted.clone())
                        .unwrap(),
                )
            };
            for l in &lines {
                if l.id.starts_with('T') && !l.args.iter().any(|a| a.contains(';')) {
                    ents.push((l.kind.clone(), squeeze(l.quoted.clone().unwrap())));
                }
                if l.id.starts_with('R') {
                    let arg = |i: usize| text_of(l.args[i].split(':').nth(1).unwrap());
                    rels.push((l.kind.clone(), arg(0), arg(1)));
                }
            }
        }
        ents.sort();
        rels.sort();
        (ents, rels)
    };
    assert_eq!(summary(&news()), summary(&back));
}

#[test]
fn sentences_split_at_stops_but_never_inside_an_entity() {
    let tmp = tempfile::tempdir().unwrap();
    let txt = tmp.path().join("d.txt");
    std::fs::write(
        &txt,
        "Dr. Smith met Ann. She left.\nWe went to St. Louis. It rained.\n",
    )
    .unwrap();
    // "Ann. She" is one (odd) entity: no break inside it.
    std::fs::write(tmp.path().join("d.ann"), "T1\tPer 14 22\tAnn. She\n").unwrap();
    let c = Corpus::load(&txt.with_extension("ann")).unwrap();
    let texts: Vec<String> = c.sentences.iter().map(|s| s.tokens.join(" ")).collect();
    assert_eq!(
        texts,
        [
            "Dr. Smith met Ann . She left .",
            "We went to St. Louis .",
            "It rained ."
        ]
    );
    assert_eq!(c.sentences[2].id().as_deref(), Some("d:2:2"));
}

#[test]
fn predictions_written_into_a_collection_open_against_the_original_text() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/conll04");
    if common::resource("all-mpnet-base-v2").is_none() || common::resource("glove-6b-50d").is_none() {
        eprintln!("skipped: the shipped model's pre-trained inputs are not fetched");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pred");
    let run = common::run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--input",
        news().to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let mut predicted = 0;
    for txt in walk(&news())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        let name = txt.file_name().unwrap();
        assert_eq!(
            std::fs::read(&txt).unwrap(),
            std::fs::read(out.join(name)).unwrap()
        );
        let ann = out.join(name).with_extension("ann");
        assert_offsets_match_text(&ann, &out.join(name));
        predicted += ann_lines(&ann).len();
    }
    assert!(
        predicted > 20,
        "the shipped model finds names in brat's tutorial ({predicted})"
    );
    let conf = std::fs::read_to_string(out.join("annotation.conf")).unwrap();
    let original = std::fs::read_to_string(news().join("annotation.conf")).unwrap();
    assert!(
        conf.starts_with(&original[..original.find("[relations]").unwrap() - 1]),
        "the collection's configuration is kept"
    );
    assert!(
        conf.contains("\nPeop\n") && conf.contains("Live_In\t"),
        "and gains the model's types:\n{conf}"
    );
    assert!(out.join("visual.conf").exists());
    // Rows of the sidecar follow ids: an entity deleted in brat and another added under its
    // id is the user's, not a prediction.
    let ann = out.join("060-relation_annotation.ann");
    let lines = ann_lines(&ann);
    let first = &lines[0];
    let rest: String = lines[1..].iter().map(|l| format!("{}\n", l.raw)).collect();
    std::fs::write(&ann, format!("{}\tMisc 0 8\tRelation\n{rest}", first.id)).unwrap();
    let c = Corpus::load(&out).unwrap();
    let s = c
        .sentences
        .iter()
        .find(|s| {
            s.source.as_ref().unwrap().doc.name == "060-relation_annotation"
                && s.entities.iter().any(|e| e.label == "Misc")
        })
        .unwrap();
    let hand = s.entities.iter().find(|e| e.label == "Misc").unwrap();
    assert_eq!(
        (hand.provenance, hand.score),
        (relarc::corpus::Provenance::Gold, None)
    );
    let said = common::stderr(&common::run(&["validate", out.to_str().unwrap()]));
    assert!(
        said.contains("060-relation_annotation: 1 row(s) of its .relarc.jsonl no longer match"),
        "{said}"
    );
    assert!(c
        .sentences
        .iter()
        .flat_map(|s| &s.entities)
        .any(|e| e.provenance == relarc::corpus::Provenance::Predicted));
}
