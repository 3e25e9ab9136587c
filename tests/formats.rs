//! Reading files written by other tools: natural brat and doccano text, CoNLL with comments.

use crate::common;

use relarc::corpus::{Corpus, Format};

fn entity_texts(c: &Corpus, s: usize) -> Vec<(String, String)> {
    let sent = &c.sentences[s];
    sent.entities
        .iter()
        .map(|e| (e.label.clone(), sent.tokens[e.start..e.end].join(" ")))
        .collect()
}

#[test]
fn brat_document_with_natural_text() {
    let tmp = tempfile::tempdir().unwrap();
    // CRLF line ends, a non-ASCII name, an entity ending inside a word ("Boston's").
    let text = "In 1809, author Edgar Allan Poe was born in Boston's center.\r\n\r\nZoë Müller works for Ülker A.Ş. in İstanbul.\r\n";
    let ann = "T1\tPeop 16 31\tEdgar Allan Poe\nT2\tLoc 44 50\tBoston\nR1\tLive_In Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T2\tthe city\nT3\tPeop 64 74\tZoë Müller\nT4\tOrg 85 94\tÜlker A.Ş\nR2\tWork_For Arg1:T3 Arg2:T4\n";
    std::fs::write(tmp.path().join("doc.txt"), text).unwrap();
    std::fs::write(tmp.path().join("doc.ann"), ann).unwrap();
    let c = Corpus::load(tmp.path()).unwrap();
    assert_eq!(c.sentences.len(), 2);
    assert_eq!(
        c.sentences[0].tokens,
        [
            "In", "1809", ",", "author", "Edgar", "Allan", "Poe", "was", "born", "in", "Boston", "'s",
            "center", "."
        ]
    );
    assert_eq!(
        entity_texts(&c, 0),
        [
            ("Peop".into(), "Edgar Allan Poe".into()),
            ("Loc".into(), "Boston".into())
        ]
    );
    assert_eq!(c.sentences[0].relations[0].label, "Live_In");
    assert_eq!(c.sentences[0].entities[1].extra["note"], "the city");
    assert_eq!(c.sentences[0].id().as_deref(), Some("doc:1"));
    assert_eq!(c.sentences[1].id().as_deref(), Some("doc:3"));
    assert_eq!(
        entity_texts(&c, 1),
        [
            ("Peop".into(), "Zoë Müller".into()),
            ("Org".into(), "Ülker A.Ş".into())
        ]
    );
    let r = &c.sentences[1].relations[0];
    assert_eq!((r.head, r.tail), (0, 1));

    // Written back and read again, nothing changes (notes included).
    let out = tmp.path().join("out");
    c.save_as(&out, Format::Brat).unwrap();
    let back = Corpus::load(&out).unwrap();
    assert_eq!(back.sentences, c.sentences);
}

#[test]
fn doccano_without_tokens_is_tokenized_at_annotation_boundaries() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("d.jsonl");
    std::fs::write(
        &p,
        r#"{"id": 7, "text": "Aspirin-induced asthma  in a child.", "entities": [{"id": 10, "label": "Drug", "start_offset": 0, "end_offset": 7}, {"id": 11, "label": "Adverse-Effect", "start_offset": 0, "end_offset": 23}], "relations": [{"id": 3, "from_id": 11, "to_id": 10, "type": "Adverse-Effect"}], "meta": {"source": "x"}}"#,
    )
    .unwrap();
    let c = Corpus::load(&p).unwrap();
    assert_eq!(
        c.source.as_ref().unwrap().1,
        Format::Doccano,
        "a .jsonl with text is doccano"
    );
    let s = &c.sentences[0];
    assert_eq!(
        s.tokens,
        ["Aspirin", "-", "induced", "asthma", "in", "a", "child", "."]
    );
    // Trailing spaces inside an annotated span are not part of it.
    assert_eq!(
        entity_texts(&c, 0),
        [
            ("Drug".into(), "Aspirin".into()),
            ("Adverse-Effect".into(), "Aspirin - induced asthma".into())
        ]
    );
    assert_eq!((s.relations[0].head, s.relations[0].tail), (1, 0));
    assert_eq!(s.id().as_deref(), Some("7"));
    assert_eq!(s.extra["meta"]["source"], "x");
}

#[test]
fn doccano_legacy_label_triples() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("d.doccano.jsonl");
    std::fs::write(
        &p,
        r#"{"text": "Poe lived in Boston", "label": [[0, 3, "Peop"], [13, 19, "Loc"]]}"#,
    )
    .unwrap();
    let c = Corpus::load(&p).unwrap();
    assert_eq!(
        entity_texts(&c, 0),
        [("Peop".into(), "Poe".into()), ("Loc".into(), "Boston".into())]
    );
}

#[test]
fn conll_with_docstart_comments_and_extra_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.conll");
    std::fs::write(
        &p,
        "-DOCSTART- -X- O O\n\n# id = s1\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n",
    )
    .unwrap();
    let c = Corpus::load(&p).unwrap();
    assert_eq!(c.sentences.len(), 2);
    assert_eq!(c.sentences[0].id().as_deref(), Some("s1"));
    assert_eq!(
        entity_texts(&c, 0),
        [("ORG".into(), "EU".into()), ("MISC".into(), "German".into())]
    );
    assert_eq!(entity_texts(&c, 1), [("PER".into(), "Peter Blackburn".into())]);
    assert_eq!(c.sentences[1].source_line, Some(8));
}

#[test]
fn provenance_and_scores_survive_every_format_that_holds_relations() {
    use relarc::corpus::{Entity, Provenance, Relation, Sentence};
    let mut s = Sentence::new(["Poe", "lived", "in", "Boston"].map(String::from).to_vec());
    s.entities = vec![Entity::new("Peop", 0, 1), Entity::new("Loc", 3, 4)];
    s.entities[1].provenance = Provenance::Predicted;
    s.entities[1].score = Some(0.75);
    s.relations = vec![Relation::new("Live_In", 0, 1)];
    s.relations[0].provenance = Provenance::Accepted;
    s.entities[0].provenance = Provenance::Edited;
    let c = Corpus::new(vec![s]);
    let tmp = tempfile::tempdir().unwrap();
    for (name, f) in [
        ("a.json", Format::Json),
        ("a.jsonl", Format::Jsonl),
        ("a.doccano.jsonl", Format::Doccano),
        ("b", Format::Brat),
    ] {
        let p = tmp.path().join(name);
        c.save_as(&p, f).unwrap();
        let back = Corpus::load_as(&p, f).unwrap();
        assert_eq!(back.sentences, c.sentences, "{f}");
    }
}

#[test]
fn a_failed_save_keeps_the_old_file() {
    let Some(data) = common::data_dir() else { return };
    let c = Corpus::load(&data.join("conll04/dev.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Saving into a folder that does not exist fails and says where.
    let err = c
        .save(&tmp.path().join("missing/out.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing/out.json"), "{err}");
    // Saving over a read-only folder fails and leaves the existing file alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp.path().join("ro");
        std::fs::create_dir(&dir).unwrap();
        let target = dir.join("out.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let result = c.save(&target);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // root can write anywhere; the check only means something for other users.
        if result.is_err() {
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        }
    }
}
