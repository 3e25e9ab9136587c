//! The app's state without a window: recovery after a crash, filters, a large corpus.

use std::time::{Duration, Instant};

use relarc::app::command::{Command, UiCommand};
use relarc::app::state::{recovery_path_for, AppState, EditState, Selection};
use relarc::corpus::{Corpus, Format, Sentence};

/// The demo corpus copied to a file and opened from there (it has a path to save to).
fn opened_copy() -> (tempfile::TempDir, std::path::PathBuf, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.json");
    std::fs::copy("assets/demo.json", &file).unwrap();
    let s = AppState::with_corpus(
        Corpus::load(&file).unwrap(),
        Some(file.clone()),
        Format::Json,
        tmp.path().to_path_buf(),
    );
    (tmp, file, s)
}

fn demo() -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    let s = AppState::demo(tmp.path().to_path_buf());
    (tmp, s)
}

#[test]
fn unsaved_edits_come_back_after_a_crash() {
    let (tmp, file, mut s) = opened_copy();
    s.apply(Command::SelectEntity(0));
    s.apply(UiCommand::DeleteSelected);
    assert!(s.dirty);
    s.autosave(Instant::now());
    // It is written in the background.
    s.finish_autosave();
    let rec = recovery_path_for(&file);
    assert!(rec.exists(), "the recovery file is written");
    // Pretend the app crashed: open the same file again.
    std::thread::sleep(Duration::from_millis(20));
    let mut again = AppState::demo(tmp.path().to_path_buf());
    assert!(again.open(&file));
    let offer = again.recovery.clone().expect("recovery offered");
    assert_eq!(offer.sentences, 12);
    again.apply(Command::RestoreRecovery);
    assert!(again.dirty);
    assert_eq!(
        again.corpus.sentences[0].entities.len(),
        1,
        "the deletion came back"
    );
    // Saving removes the recovery file, even one whose writing began just before.
    let later = Instant::now() + Duration::from_secs(3600);
    again.autosave(later);
    again.apply(UiCommand::Save);
    assert!(!again.dirty);
    assert!(!rec.exists());
    again.autosave(later + Duration::from_secs(3600));
    again.finish_autosave();
    assert!(!rec.exists(), "nothing unsaved, nothing to recover");
}

#[test]
fn filters_by_text_type_and_edit_state() {
    let (_t, mut s) = demo();
    s.filter.text = "PARIS".into();
    assert_eq!(s.filtered().len(), 2);
    s.filter.text.clear();
    s.filter.relation_type = Some("Kill".into());
    assert_eq!(s.filtered(), &[3]);
    s.filter.relation_type = None;
    s.filter.edit_state = EditState::Edited;
    assert!(s.filtered().is_empty());
    s.apply(Command::GoTo(6));
    s.apply(Command::SelectTokens { start: 0, end: 1 });
    s.apply(UiCommand::Type3);
    assert_eq!(s.filtered(), &[6]);
    s.filter.edit_state = EditState::Unedited;
    assert_eq!(s.filtered().len(), 11);
}

#[test]
fn relation_types_offered_fit_the_schema() {
    let (_t, mut s) = demo();
    // Sentence 6: Nokia (Org), Espoo (Loc), Finland (Loc), Anna Virtanen (Peop).
    s.apply(Command::GoTo(5));
    s.apply(Command::SelectEntity(3));
    s.apply(UiCommand::StartRelation);
    s.apply(Command::SelectEntity(0));
    // Peop -> Org: only Work_For, which already exists: refused, nothing changes.
    assert!(
        s.status.as_ref().unwrap().text.contains("already there"),
        "{:?}",
        s.status
    );
    s.apply(Command::SelectEntity(1));
    s.apply(UiCommand::StartRelation);
    s.apply(Command::SelectEntity(0));
    // Loc -> Org: no type of the schema fits.
    assert!(s.status.as_ref().unwrap().is_error());
    assert_eq!(s.corpus.sentences[5].relations.len(), 3);
    s.apply(Command::SelectEntity(2));
    s.apply(UiCommand::StartRelation);
    s.apply(Command::SelectEntity(1));
    assert_eq!(
        s.corpus.sentences[5].relations.len(),
        4,
        "Loc -> Loc is Located_In"
    );
    assert_eq!(s.selection, Selection::Relation(3));
}

#[test]
fn keyboard_selection_moves_and_extends() {
    let (_t, mut s) = demo();
    s.apply(UiCommand::CursorRight);
    s.apply(UiCommand::CursorRight);
    s.apply(UiCommand::ExtendRight);
    s.apply(UiCommand::ExtendRight);
    assert_eq!(s.selection.token_range(), Some((1, 4)));
    for _ in 0..5 {
        s.apply(UiCommand::ExtendLeft);
    }
    assert_eq!(s.selection.token_range(), Some((0, 2)));
}

/// The legend numbers the types; number key n must give the legend's n-th type, also after a
/// sentence from live extraction brings a type the schema did not have (appended to it).
#[test]
fn number_keys_pick_the_type_the_legend_numbers() {
    let (_t, mut s) = demo();
    let mut new = Sentence::new(["Aspirin", "helps"].map(String::from).to_vec());
    new.entities.push(relarc::corpus::Entity::new("Aaa-Drug", 0, 1));
    s.apply(Command::AddSentence(new));
    let legend = s.entity_types();
    assert_eq!(legend[0], "Aaa-Drug", "the legend is sorted");
    assert_ne!(
        s.corpus.schema.entity_types[0], legend[0],
        "the schema keeps its own order"
    );
    for (n, key) in [
        (1, UiCommand::Type1),
        (2, UiCommand::Type2),
        (3, UiCommand::Type3),
    ] {
        s.apply(Command::SelectTokens { start: 1, end: 2 });
        s.apply(key);
        let e = s
            .sentence()
            .unwrap()
            .entities
            .iter()
            .find(|e| e.start == 1)
            .unwrap();
        assert_eq!(e.label, legend[n - 1], "key {n}");
    }
}

#[test]
fn a_hundred_thousand_sentences_filter_and_navigate() {
    let mut sentences = Vec::new();
    let demo = Corpus::load(std::path::Path::new("assets/demo.json")).unwrap();
    for i in 0..100_000 {
        let mut s: Sentence = demo.sentences[i % demo.sentences.len()].clone();
        s.extra.insert("id".into(), serde_json::Value::from(i));
        sentences.push(s);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut s = AppState::with_corpus(
        Corpus::new(sentences),
        None,
        Format::Json,
        tmp.path().to_path_buf(),
    );
    s.filter.text = "lagos".into();
    assert_eq!(s.filtered().len(), 100_000 / 12);
    s.apply(UiCommand::NextSentence);
    assert_eq!(s.current, 11);
    s.apply(UiCommand::NextSentence);
    assert_eq!(s.current, 23);
}

mod errors {
    use relarc::app::state::{AppState, Order};
    use relarc::corpus::{Corpus, Entity, Format, Provenance, Relation, Sentence};
    use relarc::eval::compare::{sentence_errors, uncertainty, ErrorKind};

    fn sent(ents: &[(&str, usize, usize)], rels: &[(&str, usize, usize)]) -> Sentence {
        let mut s = Sentence::new((0..8).map(|i| format!("w{i}")).collect());
        s.entities = ents.iter().map(|&(l, a, b)| Entity::new(l, a, b)).collect();
        s.relations = rels.iter().map(|&(l, h, t)| Relation::new(l, h, t)).collect();
        s
    }

    fn predicted(mut s: Sentence, entity_scores: &[f64], relation_scores: &[f64]) -> Sentence {
        for (e, &sc) in s.entities.iter_mut().zip(entity_scores) {
            e.provenance = Provenance::Predicted;
            e.score = Some(sc);
        }
        for (r, &sc) in s.relations.iter_mut().zip(relation_scores) {
            r.provenance = Provenance::Predicted;
            r.score = Some(sc);
        }
        s
    }

    #[test]
    fn error_kinds_are_told_apart() {
        let gold = sent(
            &[("Peop", 0, 2), ("Loc", 4, 5), ("Org", 6, 7)],
            &[("Live_In", 0, 1)],
        );
        let pred = sent(
            &[("Peop", 0, 1), ("Org", 4, 5), ("Loc", 2, 3)],
            &[("Live_In", 0, 2)],
        );
        let mut kinds: Vec<ErrorKind> = sentence_errors(&gold, &pred).into_iter().map(|e| e.0).collect();
        kinds.sort_by_key(|k| format!("{k:?}"));
        assert_eq!(
            kinds,
            [
                ErrorKind::MissedEntity,     // Org 6..7
                ErrorKind::MissingRelation,  // Live_In(Peop 0..2, Loc 4..5)
                ErrorKind::SpuriousEntity,   // Loc 2..3
                ErrorKind::SpuriousRelation, // Live_In(Peop 0..1, Loc 2..3)
                ErrorKind::WrongSpan,        // Peop 0..1 for 0..2
                ErrorKind::WrongType,        // Org at the Loc span 4..5
            ]
        );
        assert!(sentence_errors(&gold, &gold).is_empty());
    }

    #[test]
    fn uncertainty_looks_at_entity_scores_and_relations_near_the_threshold() {
        let sure = predicted(
            sent(&[("Peop", 0, 1), ("Loc", 2, 3)], &[("Live_In", 0, 1)]),
            &[0.99, 0.98],
            &[0.99],
        );
        let unsure_entity = predicted(sent(&[("Peop", 0, 1)], &[]), &[0.55], &[]);
        let unsure_relation = predicted(
            sent(&[("Peop", 0, 1), ("Loc", 2, 3)], &[("Live_In", 0, 1)]),
            &[0.99, 0.99],
            &[0.905],
        );
        let u = |s: &Sentence| uncertainty(s, 0.9);
        assert!(u(&sure) < 0.11);
        assert!((u(&unsure_entity) - 0.45).abs() < 1e-9);
        assert!(
            u(&unsure_relation) > 0.9,
            "just above θr is nearly as unsure as can be"
        );
    }

    #[test]
    fn the_list_sorts_by_errors_and_by_uncertainty() {
        let gold = vec![
            sent(&[("Peop", 0, 1)], &[]),
            sent(&[("Peop", 0, 1), ("Loc", 2, 3)], &[("Live_In", 0, 1)]),
            sent(&[("Loc", 0, 1)], &[]),
        ];
        let preds = vec![
            predicted(sent(&[("Peop", 0, 1)], &[]), &[0.6], &[]), // right, unsure
            predicted(sent(&[("Org", 0, 1)], &[]), &[0.99], &[]), // 3 errors, sure
            predicted(sent(&[("Org", 0, 1)], &[]), &[0.97], &[]), // 1 error
        ];
        let tmp = tempfile::tempdir().unwrap();
        let mut s = AppState::with_corpus(Corpus::new(gold), None, Format::Json, tmp.path().to_path_buf());
        s.set_predictions(preds.into_iter().enumerate());
        s.filter.order = Order::Errors;
        assert_eq!(s.filtered(), &[1, 2, 0]);
        s.filter.order = Order::Uncertainty;
        assert_eq!(s.filtered(), &[0, 2, 1]);
        s.filter.order = Order::Corpus;
        s.filter.error_kind = Some(ErrorKind::WrongType);
        assert_eq!(s.filtered(), &[1, 2]);
        s.filter.error_kind = None;
        s.filter.errors_only = true;
        s.filter.error_type = Some("Live_In".into());
        assert_eq!(s.filtered(), &[1]);
        let parts = s.metrics_parts();
        assert_eq!(
            parts.len(),
            1,
            "no training here: one part, every predicted sentence"
        );
        let m = &parts[0].report;
        assert_eq!(m.ner.per_type["Peop"].support, 2);
        assert!((m.ner.micro.recall - 0.25).abs() < 1e-9);
    }
}

/// Undo back to what was saved leaves nothing unsaved; a new edit below the saved point, or
/// a sentence added from live extraction, cannot be undone back to it.
#[test]
fn undoing_back_to_the_saved_state_clears_unsaved_edits() {
    let (_tmp, _file, mut s) = opened_copy();
    s.apply(Command::SelectEntity(0));
    s.apply(UiCommand::DeleteSelected);
    assert!(s.dirty);
    s.apply(UiCommand::Undo);
    assert!(!s.dirty, "undo returned to the file as opened");
    assert!(!s.title().starts_with('•'));
    s.apply(UiCommand::Redo);
    assert!(s.dirty);
    s.apply(UiCommand::Save);
    assert!(!s.dirty);
    s.apply(UiCommand::Undo);
    assert!(s.dirty, "the file now has the deletion");
    s.apply(UiCommand::Redo);
    assert!(!s.dirty, "back to what was saved");
    // Undo below the saved point, then another edit: the saved state is gone from history.
    s.apply(UiCommand::Undo);
    s.apply(Command::SelectEntity(0));
    s.apply(UiCommand::DeleteSelected);
    s.apply(UiCommand::Undo);
    assert!(s.dirty);
}

#[test]
fn a_search_shows_its_first_match_and_steps_through_the_matches() {
    let (_t, mut s) = demo();
    let mut f = s.filter.clone();
    f.text = "PARIS".into();
    s.apply(Command::SetFilter(f));
    let matches = s.filtered().to_vec();
    assert_eq!(matches.len(), 2);
    assert_eq!(s.current, matches[0], "the sentence shown is a match");
    // Enter and F3 are the next sentence of the filtered list: the next match.
    s.apply(UiCommand::NextSentence);
    assert_eq!(s.current, matches[1]);
    s.apply(UiCommand::PrevSentence);
    assert_eq!(s.current, matches[0]);
}

/// A search marks the tokens it matches, a phrase across tokens included, case aside.
#[test]
fn search_matches_are_marked_on_the_tokens_they_cover() {
    let s = Sentence::new(
        [
            "Lactic",
            "acidosis",
            "after",
            "metformin",
            "and",
            "METFORMIN",
            "XR",
        ]
        .map(String::from)
        .to_vec(),
    );
    let marked = |needle: &str| {
        relarc::app::state::search_hits(&s, needle)
            .iter()
            .enumerate()
            .filter(|(_, &h)| h)
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    assert_eq!(marked("metformin"), [3, 5]);
    assert_eq!(marked("tic acid"), [0, 1]);
    assert_eq!(marked("formin x"), [5, 6]);
    assert!(marked("").is_empty());
    assert!(marked("aspirin").is_empty());
}

/// A list row keeps a match beyond its first 60 characters in sight, and says where it is.
#[test]
fn a_list_row_shows_the_match_and_where_it_is() {
    let text = "The patient , a 45-year-old woman with a long history of diabetes , developed lactic \
                acidosis while on metformin therapy .";
    let (row, hits) = relarc::app::state::list_row(12, text, "METFORMIN");
    assert!(row.starts_with("   12  ..."), "{row}");
    assert_eq!(hits.len(), 1);
    assert!(hits[0].start < 40, "seen in a narrow list: {row}");
    assert_eq!(&row[hits[0].clone()], "metformin");
    // A match near the start: the row starts with the sentence.
    let (row, hits) = relarc::app::state::list_row(3, text, "patient");
    assert!(row.starts_with("    3  The patient"), "{row}");
    assert!(row.ends_with("..."));
    assert_eq!(&row[hits[0].clone()], "patient");
    // No search: no marks.
    assert!(relarc::app::state::list_row(3, text, "").1.is_empty());
}

#[test]
fn a_reject_is_undone_and_redone_and_is_not_an_unsaved_edit() {
    let (_t, _file, mut s) = opened_copy();
    let mut predicted = s.corpus.sentences[0].clone();
    predicted.relations.clear();
    s.predictions = s.corpus.sentences.iter().map(|_| None).collect();
    s.predictions[0] = Some(predicted.clone());
    let n = predicted.entities.len();
    s.apply(Command::RejectEntity(0));
    assert_eq!(s.predictions[0].as_ref().unwrap().entities.len(), n - 1);
    assert!(!s.dirty, "a reject changes no file");
    s.apply(UiCommand::Undo);
    assert_eq!(s.predictions[0].as_ref().unwrap(), &predicted);
    assert!(!s.dirty);
    s.apply(UiCommand::Redo);
    assert_eq!(s.predictions[0].as_ref().unwrap().entities.len(), n - 1);
    // A gold edit after it is unsaved; undoing that edit is not.
    s.apply(Command::SelectEntity(0));
    s.apply(UiCommand::DeleteSelected);
    assert!(s.dirty);
    s.apply(UiCommand::Undo);
    assert!(!s.dirty, "{:?}", s.status);
}

/// Undoing a reject after the model predicted the sentence again keeps the newer prediction
/// rather than bringing back the old one.
#[test]
fn undoing_a_reject_keeps_a_newer_prediction() {
    let (_t, _file, mut s) = opened_copy();
    let old = s.corpus.sentences[0].clone();
    s.predictions = s.corpus.sentences.iter().map(|_| None).collect();
    s.predictions[0] = Some(old.clone());
    s.apply(Command::RejectEntity(0));
    let mut newer = s.corpus.sentences[0].clone();
    newer.relations.clear();
    s.set_predictions([(0, newer.clone())]);
    s.apply(UiCommand::Undo);
    assert_eq!(s.predictions[0].as_ref().unwrap(), &newer);
    let status = s.status.clone().unwrap().text;
    assert!(status.contains("predicted this sentence again"), "{status}");
    s.apply(UiCommand::Redo);
    assert_eq!(s.predictions[0].as_ref().unwrap(), &newer);
}

/// ADE's nested sentences, gold and as a diff against boundary errors, laid out at the width
/// the sentence gets in a 1280-px window: no two type tags meet, no two outlines on one
/// level meet.
mod nested_layout {
    use relarc::app::layout::{layout, Input, Layout, Params};
    use relarc::corpus::{Corpus, Sentence};
    use relarc::eval::compare::diff;

    fn check(l: &Layout, what: &str) {
        let tags: Vec<_> = l.tags.iter().flatten().collect();
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert!(!a.intersects(**b), "{what}: tags meet: {a:?} {b:?}");
            }
        }
        let boxes: Vec<(usize, usize, egui::Rect)> = l
            .entities
            .iter()
            .enumerate()
            .flat_map(|(e, b)| b.iter().map(move |(line, r)| (l.entity_levels[e], *line, *r)))
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                if a.0 == b.0 && a.1 == b.1 {
                    assert!(!a.2.intersects(b.2), "{what}: outlines on level {} meet", a.0);
                }
            }
        }
    }

    fn lay_out(s: &Sentence) -> Layout {
        let widths: Vec<f32> = s.tokens.iter().map(|t| 8.0 * t.chars().count() as f32).collect();
        let spans: Vec<(usize, usize)> = s.entities.iter().map(|e| (e.start, e.end)).collect();
        let tags: Vec<f32> = s
            .entities
            .iter()
            .map(|e| 7.0 * e.label.len() as f32 + 6.0)
            .collect();
        let rels: Vec<(usize, usize, f32)> = s
            .relations
            .iter()
            .map(|r| (r.head, r.tail, 7.0 * r.label.len() as f32 + 8.0))
            .collect();
        let input = Input {
            token_widths: &widths,
            entities: &spans,
            relations: &rels,
            tag_widths: &tags,
        };
        layout(
            &input,
            &Params {
                max_width: 640.0,
                ..Params::default()
            },
        )
    }

    #[test]
    fn ade_nested_sentences_and_their_boundary_error_diffs_stack_apart() {
        let Some(data) = crate::common::data_dir() else {
            return;
        };
        let ade = Corpus::load(&data.join("ade/ade_full.json")).unwrap();
        let nested: Vec<&Sentence> = ade
            .sentences
            .iter()
            .filter(|s| {
                s.entities
                    .iter()
                    .enumerate()
                    .any(|(i, a)| s.entities[i + 1..].iter().any(|b| a.overlaps(b)))
            })
            .collect();
        assert!(nested.len() >= 100, "{} nested sentences", nested.len());
        let mut stacked = 0;
        for (k, gold) in nested.iter().enumerate() {
            let l = lay_out(gold);
            check(&l, &format!("nested sentence {k}"));
            stacked += l.entity_levels.iter().any(|&v| v > 0) as usize;
            // A prediction one token off at every entity's end: the diff holds both.
            let mut predicted = (*gold).clone();
            for e in &mut predicted.entities {
                e.end = (e.end + 1).min(gold.tokens.len());
            }
            let d = diff(gold, &predicted);
            check(&lay_out(&d.sentence), &format!("diff of nested sentence {k}"));
        }
        assert_eq!(
            stacked,
            nested.len(),
            "every nested sentence has a stacked entity"
        );
    }
}

#[test]
fn metrics_are_split_into_sentences_the_model_was_trained_on_and_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = AppState::demo(tmp.path().to_path_buf());
    let n = s.corpus.sentences.len();
    s.predictions = s.corpus.sentences.iter().cloned().map(Some).collect();
    let parts = s.metrics_parts().to_vec();
    assert_eq!(parts.len(), 1);
    assert_eq!(
        (parts[0].name, parts[0].sentences),
        ("all sentences with predictions", n)
    );
    let named = |s: &mut AppState| -> Vec<(&'static str, usize, bool)> {
        (s.metrics_parts().iter())
            .map(|p| (p.name, p.sentences, p.seen_in_training))
            .collect()
    };
    // A loaded model that recorded its training sentences: the first two of these.
    let first_two = relarc::model::trained_on::TrainedOn::of_sentences(&s.corpus.sentences[..2]);
    s.set_trained_sentences(Some(std::sync::Arc::new(first_two)));
    assert_eq!(
        named(&mut s),
        vec![
            ("sentences the model was not trained on", n - 2, false),
            ("sentences the model was trained on", 2, true),
        ]
    );
    assert_eq!(s.sentences_trained_on(), Some(2));
    // Trained in this session on all but the first sentence (dev); the last one was added
    // after training.
    let mut mask = vec![false; n - 1];
    mask[0] = true;
    s.trained_split = Some(mask);
    assert_eq!(
        named(&mut s),
        vec![
            ("held-out dev part (not trained on)", 1, false),
            ("sentences the model was trained on", n - 2, true),
            ("sentences added since training", 1, false),
        ]
    );
}

#[test]
fn accepting_an_arc_uses_the_overlapping_gold_span_of_its_type_and_refuses_another_type() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = AppState::demo(tmp.path().to_path_buf());
    let gold = s.corpus.sentences[0].clone();
    let poe = gold.entities.iter().position(|e| e.label == "Peop").unwrap();
    let boston = gold.entities.iter().position(|e| e.label == "Loc").unwrap();
    let (p_start, p_end) = (gold.entities[poe].start, gold.entities[poe].end);
    // A boundary error: "Allan Poe" (Peop) predicted for gold "Edgar Allan Poe", with a
    // Work_For arc from it to Boston that gold lacks.
    let mut predicted = gold.clone();
    predicted.entities[poe].start = p_start + 1;
    predicted.relations = vec![relarc::corpus::Relation::new("Work_For", poe, boston)];
    s.predictions = vec![None; s.corpus.sentences.len()];
    s.predictions[0] = Some(predicted.clone());
    s.apply(Command::AcceptRelation(0));
    let after = &s.corpus.sentences[0];
    assert_eq!(
        after.entities.len(),
        gold.entities.len(),
        "no second, overlapping Peop span"
    );
    let r = after
        .relations
        .iter()
        .find(|r| r.label == "Work_For")
        .expect("the arc is accepted");
    assert_eq!(
        (after.entities[r.head].start, after.entities[r.head].end),
        (p_start, p_end)
    );
    // Of another type, the overlap is not resolved silently: nothing changes, and it says why.
    s.apply(UiCommand::Undo);
    predicted.entities[poe].label = "Org".into();
    s.predictions[0] = Some(predicted);
    s.apply(Command::AcceptRelation(0));
    assert_eq!(s.corpus.sentences[0], gold);
    let status = s.status.clone().unwrap().text;
    assert!(
        status.contains("overlaps the gold Peop \"Edgar Allan Poe\""),
        "{status}"
    );
}
