//! The desktop app driven as a user would: through its widgets and keys, headless.

use std::path::{Path, PathBuf};

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use relarc::app::state::AppState;
use relarc::app::{FileDialogs, RelarcApp};
use relarc::corpus::{Corpus, Provenance};

/// Dialogs that answer with prepared paths.
struct Scripted {
    open: Option<PathBuf>,
    save: Option<PathBuf>,
}

impl FileDialogs for Scripted {
    fn open(&mut self) -> Option<PathBuf> {
        self.open.take()
    }
    fn save(&mut self, _: &str) -> Option<PathBuf> {
        self.save.take()
    }
    fn pick_folder(&mut self) -> Option<PathBuf> {
        None
    }
}

fn harness<'a>(app: RelarcApp) -> Harness<'a, RelarcApp> {
    Harness::builder()
        .with_size([1300.0, 850.0])
        .build_ui_state(|ui, app: &mut RelarcApp| app.show(ui), app)
}

/// The app on the demo corpus (saved in `dir`), its file dialogs answering `open` and `save`.
fn demo_app<'a>(dir: &Path, open: Option<PathBuf>, save: Option<PathBuf>) -> Harness<'a, RelarcApp> {
    let state = AppState::demo(dir.to_path_buf());
    harness(RelarcApp::new(state, Box::new(Scripted { open, save })))
}

/// Runs frames until what runs in the background (opening, saving, exporting) has ended.
fn settle(h: &mut Harness<RelarcApp>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The keys or clicks that start a job are taken in by the next frame.
    h.step();
    while h.state().background_busy() {
        assert!(
            std::time::Instant::now() < deadline,
            "a background job never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        h.step();
    }
    h.run();
}

fn press(h: &mut Harness<RelarcApp>, key: Key) {
    h.key_press(key);
    h.run();
}

#[test]
fn annotate_the_demo_corpus_with_keys_and_clicks_then_save() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("edited.json");
    let mut h = demo_app(tmp.path(), None, Some(out.clone()));
    h.run();

    // The demo corpus opens on the paper's Figure 1 sentence, with its arc.
    h.get_by_label("entity Peop: Edgar Allan Poe");
    h.get_by_label("entity Loc: Boston");
    h.get_by_label("relation Live_In: Edgar Allan Poe -> Boston");

    // A span from the keyboard: cursor to "author" (token 3), then type 4 (Peop).
    for _ in 0..4 {
        press(&mut h, Key::ArrowRight);
    }
    press(&mut h, Key::Num4);
    h.get_by_label("entity Peop: author");
    // Retype it: 1 is Loc.
    press(&mut h, Key::Num1);
    h.get_by_label("entity Loc: author");
    assert!(h.query_by_label("entity Peop: author").is_none());
    press(&mut h, Key::Num4);

    // A relation: R on the selected span, then a click on the tail span. Peop -> Loc has one
    // type in the schema (Live_In), so it is made at once.
    press(&mut h, Key::R);
    h.get_by_label("entity Loc: Boston").click();
    h.run();
    h.get_by_label("relation Live_In: author -> Boston");

    // Undo removes the relation, redo brings it back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert!(h.query_by_label("relation Live_In: author -> Boston").is_none());
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
    h.get_by_label("relation Live_In: author -> Boston");
    assert!(h.state().state.dirty);

    // Save as (the dialog answers with a temporary file) and read it back.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    settle(&mut h);
    assert!(!h.state().state.dirty, "{:?}", h.state().state.status);
    let saved = Corpus::load(&out).unwrap();
    let s = &saved.sentences[0];
    let author = s
        .entities
        .iter()
        .position(|e| e.start == 3 && e.end == 4)
        .expect("the new span was saved");
    assert_eq!(s.entities[author].label, "Peop");
    assert_eq!(s.entities[author].provenance, Provenance::Edited);
    let boston = s.entities.iter().position(|e| e.label == "Loc").unwrap();
    assert!(s.relations.iter().any(|r| r.head == author
        && r.tail == boston
        && r.label == "Live_In"
        && r.provenance == Provenance::Edited));
    // The other sentences are untouched.
    let demo = Corpus::new(
        relarc::corpus::formats::spert::parse_json(std::path::Path::new("demo"), relarc::app::state::DEMO)
            .unwrap(),
    );
    assert_eq!(&saved.sentences[1..], &demo.sentences[1..]);
}

#[test]
fn arcs_can_be_selected_retyped_reversed_and_deleted_with_the_mouse() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    // Sentence 3 has OrgBased_In(Louvre -> Paris) and Located_In(Paris -> France).
    press(&mut h, Key::PageDown);
    press(&mut h, Key::PageDown);
    h.get_by_label("relation Located_In: Paris -> France").click();
    h.run();
    h.get_by_label("Reverse (V)").click();
    h.run();
    h.get_by_label("relation Located_In: France -> Paris");
    press(&mut h, Key::Delete);
    assert!(h.query_by_label("relation Located_In: France -> Paris").is_none());
    // Clicking a span's type tag selects it; Delete removes it and its relations.
    h.get_by_label("entity Org: Louvre").click();
    h.run();
    press(&mut h, Key::Delete);
    assert!(h.query_by_label("entity Org: Louvre").is_none());
    assert!(h.query_by_label_contains("relation OrgBased_In").is_none());
    // Three steps back restore everything.
    for _ in 0..3 {
        h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
        h.run();
    }
    h.get_by_label("relation Located_In: Paris -> France");
    h.get_by_label("relation OrgBased_In: Louvre -> Paris");
}

#[test]
fn a_failed_save_keeps_the_edits_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("no/such/folder/out.json");
    let mut h = demo_app(tmp.path(), None, Some(bad));
    h.run();
    h.get_by_label("entity Loc: Boston").click();
    h.run();
    press(&mut h, Key::Delete);
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    settle(&mut h);
    let app = h.state();
    assert!(app.state.dirty, "the edits are still unsaved");
    let status = app.state.status.clone().unwrap();
    let (is_error, msg) = (status.is_error(), status.text);
    assert!(
        is_error && msg.contains("not saved") && msg.contains("no/such/folder"),
        "{msg}"
    );
    assert!(
        app.state.corpus.sentences[0]
            .entities
            .iter()
            .all(|e| e.label != "Loc"),
        "the edit is kept"
    );
    h.get_by_label_contains("not saved");
}

#[test]
fn opening_a_file_from_the_menu_and_finding_sentences() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.conll");
    std::fs::write(&file, "Zoë\tB-Peop\nlives\tO\nin\tO\nOslo\tB-Loc\n\nRain\tO\n").unwrap();
    let mut h = demo_app(tmp.path(), Some(file.clone()), None);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    settle(&mut h);
    h.get_by_label("entity Peop: Zoë");
    assert_eq!(h.state().state.corpus.sentences.len(), 2);
    assert_eq!(h.state().state.recent.len(), 1);
    // Search narrows the list; the status bar counts.
    h.get_by_role(egui::Role::TextInput).focus();
    h.run();
    h.get_by_role(egui::Role::TextInput).type_text("rain");
    h.run();
    h.get_by_label("1 of 2 sentences");
}

/// The palette opens with its filter focused, Enter runs the first match, Escape closes it
/// (and only then clears the selection).
#[test]
fn the_palette_filters_runs_the_first_match_on_enter_and_closes_on_escape() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    let open_palette = |h: &mut Harness<RelarcApp>| {
        h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
        h.run();
    };
    open_palette(&mut h);
    assert!(
        h.query_by_label("Next sentence").is_some(),
        "the palette lists the commands"
    );
    // The filter has the focus: typed text goes to it.
    h.event(egui::Event::Text("next sen".into()));
    h.run();
    assert!(h.query_by_label("Open corpus...").is_none(), "filtered");
    press(&mut h, Key::Enter);
    assert_eq!(h.state().state.current, 1, "Enter ran \"Next sentence\"");
    assert!(
        h.query_by_label("Next sentence").is_none(),
        "and closed the palette"
    );
    open_palette(&mut h);
    h.state_mut()
        .state
        .apply(relarc::app::command::Command::SelectEntity(0));
    press(&mut h, Key::Escape);
    assert!(
        h.query_by_label("Next sentence").is_none(),
        "Escape closed the palette"
    );
    assert_ne!(
        h.state().state.selection,
        relarc::app::state::Selection::None,
        "not the selection"
    );
    press(&mut h, Key::Escape);
    assert_eq!(h.state().state.selection, relarc::app::state::Selection::None);
}

/// A brat collection opened in the app: a sentence shows what is kept aside of it, and a save
/// after an edit writes the collection back with those lines.
#[test]
fn a_brat_collection_shows_what_is_kept_aside_and_saves_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brat/news");
    let dir = tmp.path().join("news");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let corpus = Corpus::load(&dir).unwrap();
    let kept = |s: &relarc::corpus::Sentence| s.source.as_ref().unwrap().kept_aside;
    let i = corpus.sentences.iter().position(|s| kept(s) > 0).unwrap();
    let n = kept(&corpus.sentences[i]);
    let state = AppState::with_corpus(
        corpus,
        Some(dir.clone()),
        relarc::corpus::Format::Brat,
        tmp.path().join("rec"),
    );
    let mut h = harness(RelarcApp::new(
        state,
        Box::new(Scripted {
            open: None,
            save: None,
        }),
    ));
    h.state_mut().state.apply(relarc::app::command::Command::GoTo(i));
    h.run();
    h.get_by_label(&format!("+{n} kept aside"));
    let ann = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let before = ann("100-attribute_annotation.ann");
    // An edit anywhere, then a save: the collection is written back in place.
    press(&mut h, Key::ArrowRight);
    press(&mut h, Key::Num1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    settle(&mut h);
    assert!(!h.state().state.dirty, "{:?}", h.state().state.status);
    let after = ann("100-attribute_annotation.ann");
    for line in before.lines().filter(|l| l.starts_with(['E', 'A'])) {
        assert!(after.lines().any(|a| a == line), "lost {line:?}");
    }
}

#[test]
fn opening_another_corpus_with_unsaved_edits_asks_first() {
    let tmp = tempfile::tempdir().unwrap();
    let other =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/doccano/export_relation_extraction.jsonl");
    let mut h = demo_app(tmp.path(), Some(other), None);
    h.run();
    press(&mut h, Key::ArrowRight);
    press(&mut h, Key::Num1);
    assert!(h.state().state.dirty);
    let demo_len = h.state().state.corpus.sentences.len();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    h.get_by_label("There are unsaved edits. Save them before opening export_relation_extraction.jsonl?");
    assert_eq!(
        h.state().state.corpus.sentences.len(),
        demo_len,
        "nothing opened yet"
    );
    h.get_by_label("Open without saving").click();
    // Not `run`: the open has started, and its spinner repaints until it ends.
    settle(&mut h);
    assert_eq!(
        h.state().state.corpus.sentences.len(),
        1,
        "{:?}",
        h.state().state.status
    );
}

/// The CoNLL04 model on ADE data: the panel says the types do not fit, offers the ADE model
/// and does not predict.
#[test]
fn a_model_whose_types_do_not_fit_says_so_and_offers_one_that_does() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("ade.json");
    std::fs::write(
        &file,
        r#"[{"tokens": ["Metformin", "caused", "lactic", "acidosis", "."], "entities": [{"type": "Drug", "start": 0, "end": 1}, {"type": "Adverse-Effect", "start": 2, "end": 4}], "relations": [{"type": "Adverse-Effect", "head": 1, "tail": 0}]}]"#,
    )
    .unwrap();
    let corpus = Corpus::load(&file).unwrap();
    let state = AppState::with_corpus(
        corpus,
        Some(file),
        relarc::corpus::Format::Json,
        tmp.path().join("rec"),
    );
    let mut app = RelarcApp::new(
        state,
        Box::new(Scripted {
            open: None,
            save: None,
        }),
    );
    app.initial_model = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/conll04"));
    let mut h = harness(app);
    // While the default model loads, the panel says so rather than "no model loaded".
    h.step();
    // The training preset follows the corpus: Table 1's ADE column.
    assert!(h
        .state()
        .model
        .as_ref()
        .unwrap()
        .settings
        .preset
        .starts_with("ade"));
    h.get_by_label_contains("loading ");
    assert!(h.query_by_label("no model loaded").is_none());
    h.run();
    h.get_by_label_contains("are not this corpus's (Adverse-Effect, Drug)");
    h.get_by_label("Load models/ade");
    h.get_by_label("Predict corpus").click();
    h.run();
    assert!(
        h.state().model.as_ref().unwrap().predicting.is_none(),
        "the button is off"
    );
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::R);
    h.run();
    let status = h.state().state.status.clone().unwrap();
    assert!(status.text.contains("load a model for these types"), "{status:?}");
    h.get_by_label("Load models/ade").click();
    h.run();
    assert!(
        h.query_by_label("Load models/ade").is_none(),
        "the ADE model fits"
    );
    // Once loaded, the panel names the model: folder, members, inputs, types, when and on what.
    // The deadline only catches a load that never ends: a debug build loading MPNet took over
    // 120 s on a 2-core machine whose cores a training run was using.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while h.state().model.as_ref().unwrap().loading {
        assert!(std::time::Instant::now() < deadline, "models/ade did not load");
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.step();
    }
    h.run();
    let trained = format!("member 2 trained: {}", shipped_ade_training_day("mean"));
    for part in [
        "entity types: Adverse-Effect, Drug",
        "models/ade",
        "members: 2 models predicting together",
        "relation types: Adverse-Effect",
        "member 1: first: Gru 128: shared 1, NER-specific 1, RE-specific 1; 13 layers × 768 of",
        "(First sub-word, frozen",
        "member 2: mean: Gru 128",
        "(Mean sub-word, frozen",
        trained.as_str(),
        "train split_0_train.json (3845 sentences)",
        "θr: 0.900 on the members' mean probability",
        "device: Cpu",
    ] {
        h.get_by_label_contains(part);
    }
    // Said once, by the card.
    assert_eq!(h.get_all_by_label_contains("device:").count(), 1);
}

/// The day a member of `models/ade` was trained, from its report, as the model card shows it.
fn shipped_ade_training_day(member: &str) -> String {
    let report = crate::common::read_json(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/ade")
            .join(member)
            .join("report.json"),
    );
    report["date"].as_str().unwrap()[..10].to_string()
}

#[test]
fn side_panels_collapse_and_leave_the_sentence_room_at_800_by_500() {
    let tmp = tempfile::tempdir().unwrap();
    let state = AppState::demo(tmp.path().to_path_buf());
    let app = RelarcApp::new(
        state,
        Box::new(Scripted {
            open: None,
            save: None,
        }),
    );
    let mut h = Harness::builder()
        .with_size([800.0, 500.0])
        .build_ui_state(|ui, app: &mut RelarcApp| app.show(ui), app);
    h.run();
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 500.0));
    let poe = h.get_by_label("entity Peop: Edgar Allan Poe").rect();
    let boston = h.get_by_label("entity Loc: Boston").rect();
    assert!(
        window.contains_rect(poe) && window.contains_rect(boston),
        "{poe:?} {boston:?}"
    );
    // Between the two side panels, with room for the sentence.
    let list = h.get_by_label("edits").rect();
    let model = h.get_by_label("Load model...").rect();
    assert!(
        poe.min.x > list.max.x,
        "{poe:?} is under the sentence list ({list:?})"
    );
    assert!(
        boston.max.x < model.min.x,
        "{boston:?} is under the model panel ({model:?})"
    );
    assert!(
        model.min.x - list.max.x >= 0.4 * 800.0 - 40.0,
        "{list:?} {model:?}"
    );

    // Ctrl+B and Ctrl+J hide them; the sentence stays.
    h.key_press_modifiers(Modifiers::COMMAND, Key::B);
    h.run();
    assert!(h.query_by_label("edits").is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::J);
    h.run();
    assert!(h.query_by_label("Load model...").is_none());
    h.get_by_label("entity Peop: Edgar Allan Poe");
    // The View menu brings them back.
    h.get_by_label("View").click();
    h.run();
    h.get_by_label_contains("Show or hide the sentence list").click();
    h.run();
    h.get_by_label("edits");
}

#[test]
fn statistics_are_a_table_with_a_row_per_type() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::I);
    h.run();
    h.get_by_label("entity type");
    h.get_by_label("mean tokens");
    h.get_by_label("relation type");
    // The Peop row: its cells are separate labels, on one line.
    let peop = h.get_all_by_label("Peop").map(|n| n.rect()).collect::<Vec<_>>();
    let header = h.get_by_label("mean tokens").rect();
    let state = &h.state().state;
    let corpus = &state.corpus;
    let count = corpus
        .sentences
        .iter()
        .flat_map(|s| &s.entities)
        .filter(|e| e.label == "Peop")
        .count();
    let count_cell = h
        .get_all_by_label(&count.to_string())
        .map(|n| n.rect())
        .collect::<Vec<_>>();
    assert!(
        peop.iter().any(|p| count_cell
            .iter()
            .any(|c| (c.center().y - p.center().y).abs() < 2.0 && c.min.x > p.max.x)),
        "no row with Peop and its count {count}"
    );
    assert!(peop.iter().any(|p| p.min.y > header.max.y));
}

#[test]
fn ctrl_plus_and_minus_zoom_the_whole_window() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Plus);
    h.run();
    h.run();
    assert!(h.ctx.zoom_factor() > 1.0, "{}", h.ctx.zoom_factor());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Minus);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Minus);
    h.run();
    assert!(h.ctx.zoom_factor() < 1.0, "{}", h.ctx.zoom_factor());
}

#[test]
fn the_bio_row_shows_each_tokens_tag_gold_and_predicted_in_the_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    assert!(h.query_by_label("gold BIO tag of token 4: B-Peop").is_none());
    press(&mut h, Key::B);
    // "In 1809 , author Edgar Allan Poe ...": Edgar begins Peop, Allan continues it.
    let b = h.get_by_label("gold BIO tag of token 4: B-Peop").rect();
    h.get_by_label("gold BIO tag of token 5: I-Peop");
    h.get_by_label("gold BIO tag of token 0: O");
    let token = h.get_by_label("token 4: Edgar").rect();
    assert!(b.min.y > token.max.y, "the tag is under its token");
    // In the diff, the prediction's tags come in a second row.
    let state = &mut h.state_mut().state;
    let mut predicted = state.corpus.sentences[state.current].clone();
    for e in &mut predicted.entities {
        if e.label == "Peop" {
            e.label = "Loc".into();
        }
    }
    let current = state.current;
    state.predictions = vec![None; state.corpus.sentences.len()];
    state.predictions[current] = Some(predicted);
    h.run();
    press(&mut h, Key::D);
    let p = h.get_by_label("predicted BIO tag of token 4: B-Loc").rect();
    assert!(p.min.y >= b.max.y - 0.5);
    h.get_by_label("gold BIO tag of token 4: B-Peop");
    press(&mut h, Key::B);
    assert!(h.query_by_label("predicted BIO tag of token 4: B-Loc").is_none());
}

#[test]
fn a_long_message_stays_in_the_window_and_opens_in_full_on_a_click() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    let long = format!(
        "could not read {}: {}",
        "/a/very/long/path/".repeat(12),
        "the reason ".repeat(20)
    );
    h.state_mut().state.status = Some(relarc::app::status::Status::error(long.clone()));
    h.run();
    let bar = h.get_by_label(&long).rect();
    assert!(bar.max.x <= 1300.0, "{bar:?} runs off the window");
    h.get_by_label(&long).click();
    h.run();
    h.get_by_label("Message");
    h.get_by_label("Copy");
    press(&mut h, Key::Escape);
    assert!(h.query_by_label("Copy").is_none());
}

#[test]
fn the_diff_legend_explains_glyphs_and_line_styles() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    let state = &mut h.state_mut().state;
    let mut predicted = state.corpus.sentences[state.current].clone();
    predicted.entities[0].label = "Loc".into();
    let current = state.current;
    state.predictions = vec![None; state.corpus.sentences.len()];
    state.predictions[current] = Some(predicted);
    h.run();
    press(&mut h, Key::D);
    h.get_by_label("= right (solid)");
    h.get_by_label_contains("+ spurious (dashed");
    h.get_by_label("− missed (dotted)");
}

/// Dialogs of a desktop without xdg-desktop-portal or zenity.
struct NoDesktopDialogs;

impl FileDialogs for NoDesktopDialogs {
    fn open(&mut self) -> Option<PathBuf> {
        None
    }
    fn save(&mut self, _: &str) -> Option<PathBuf> {
        None
    }
    fn pick_folder(&mut self) -> Option<PathBuf> {
        None
    }
    fn available(&self) -> bool {
        false
    }
}

#[test]
fn without_a_desktop_file_dialog_an_in_app_picker_opens_the_file_and_says_why_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.conll");
    std::fs::write(&file, "Zoë\tB-Peop\nlives\tO\nin\tO\nOslo\tB-Loc\n").unwrap();
    let state = AppState::demo(tmp.path().to_path_buf());
    let mut h = harness(RelarcApp::new(state, Box::new(NoDesktopDialogs)));
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    h.get_by_label("Open corpus");
    let why = h.state().state.status.clone().unwrap().text;
    assert!(
        why.contains("no file dialog (xdg-desktop-portal or zenity)"),
        "{why}"
    );
    // The path field has the focus, in the current folder; typing offers the matching files,
    // a click completes the path, Enter opens it.
    let field = h
        .get_all_by_role(egui::Role::TextInput)
        .find(|n| n.value().is_some_and(|v| v.ends_with('/')))
        .unwrap();
    assert!(field.is_focused());
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run();
    let typed = format!("{}/c.", tmp.path().display());
    h.get_all_by_role(egui::Role::TextInput)
        .find(|n| n.is_focused())
        .unwrap()
        .type_text(&typed);
    h.run();
    h.get_by_label(&file.display().to_string()).click();
    h.run();
    h.key_press(Key::Enter);
    settle(&mut h);
    h.get_by_label("entity Peop: Zoë");
    assert!(h.query_by_label("Open corpus").is_none(), "the picker closed");
    // Asked again, it does not say why again; Escape closes it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    h.get_by_label("Open corpus");
    let status = h.state().state.status.clone().unwrap().text;
    assert!(!status.contains("no file dialog"), "{status}");
    press(&mut h, Key::Escape);
    assert!(h.query_by_label("Open corpus").is_none());
}

/// A dialog that stays open until the test answers it, as a system dialog does.
struct HeldOpen(std::sync::Mutex<std::sync::mpsc::Receiver<PathBuf>>);

impl FileDialogs for HeldOpen {
    fn open(&mut self) -> Option<PathBuf> {
        self.0.lock().unwrap().recv().ok()
    }
    fn save(&mut self, _: &str) -> Option<PathBuf> {
        None
    }
    fn pick_folder(&mut self) -> Option<PathBuf> {
        None
    }
    fn blocks(&self) -> bool {
        true
    }
}

#[test]
fn the_window_keeps_working_while_a_system_file_dialog_is_open() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.conll");
    std::fs::write(&file, "Zoë\tB-Peop\nlives\tO\nin\tO\nOslo\tB-Loc\n").unwrap();
    let (answer, asked) = std::sync::mpsc::channel();
    let state = AppState::demo(tmp.path().to_path_buf());
    let mut h = harness(RelarcApp::new(
        state,
        Box::new(HeldOpen(std::sync::Mutex::new(asked))),
    ));
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    // The dialog is open on its thread; the window still takes keys.
    let before = h.state().state.current;
    press(&mut h, Key::PageDown);
    assert_eq!(h.state().state.current, before + 1);
    answer.send(file).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.query_by_label("entity Peop: Zoë").is_none() {
        assert!(std::time::Instant::now() < deadline, "the answer never arrived");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
}

#[test]
fn in_the_diff_a_click_on_a_span_box_or_an_arc_line_accepts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    // The prediction adds Peop "author" and an arc from it to Boston, both spurious.
    let state = &mut h.state_mut().state;
    let gold = state.corpus.sentences[state.current].clone();
    let mut predicted = gold.clone();
    predicted.entities.push(relarc::corpus::Entity::new("Peop", 3, 4));
    let boston = predicted.entities.iter().position(|e| e.label == "Loc").unwrap();
    let author = predicted.entities.len() - 1;
    predicted
        .relations
        .push(relarc::corpus::Relation::new("Live_In", author, boston));
    let current = state.current;
    state.predictions = vec![None; state.corpus.sentences.len()];
    state.predictions[current] = Some(predicted);
    h.run();
    press(&mut h, Key::D);
    // A click on the token inside the spurious box (not on its small tag) accepts the span.
    h.get_by_label("token 3: author").click();
    h.run();
    let sentence = &h.state().state.corpus.sentences[current];
    assert!(
        sentence
            .entities
            .iter()
            .any(|e| e.label == "Peop" && e.start == 3 && e.provenance == Provenance::Accepted),
        "{:?}",
        sentence.entities
    );
    // A click on the arc's line (not its label) accepts the relation.
    h.get_by_label("line of relation Live_In: author -> Boston")
        .click();
    h.run();
    let sentence = &h.state().state.corpus.sentences[current];
    assert_eq!(sentence.relations.len(), gold.relations.len() + 1);
    // In the Gold view a click on a token still selects it.
    press(&mut h, Key::G);
    h.get_by_label("token 0: In").click();
    h.run();
    assert_eq!(h.state().state.selection.token_range(), Some((0, 1)));
}

#[test]
fn escape_closes_menus_and_combo_boxes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    h.get_by_label("View").click();
    h.run();
    h.get_by_label_contains("Show or hide the sentence list");
    press(&mut h, Key::Escape);
    assert!(h
        .query_by_label_contains("Show or hide the sentence list")
        .is_none());
    // The edit-state filter's combo box.
    h.get_by_label("edits").click();
    h.run();
    h.get_by_label("unedited");
    press(&mut h, Key::Escape);
    assert!(h.query_by_label("unedited").is_none());
}

#[test]
fn new_entity_and_relation_types_are_added_from_the_window_and_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("typed.json");
    let mut h = demo_app(tmp.path(), None, Some(out.clone()));
    h.run();
    h.get_by_label("Add a type").click();
    h.run();
    h.get_by_label("entity type").focus();
    h.run();
    h.get_by_label("entity type").type_text("Drug");
    h.run();
    h.get_by_label("Add entity type").click();
    h.run();
    // Sorted first, so key 1 gives it.
    h.get_by_label("1 Drug");
    assert!(h.state().state.dirty, "a new type is an unsaved change");
    h.get_by_label("token 3: author").click();
    h.run();
    press(&mut h, Key::Num1);
    h.get_by_label("entity Drug: author");
    // A relation type from Drug to Peop.
    h.get_by_label("relation type").focus();
    h.run();
    h.get_by_label("relation type").type_text("Treats");
    h.run();
    h.get_by_label("from").click();
    h.run();
    h.get_by_label("Drug").click();
    h.run();
    h.get_by_label("to").click();
    h.run();
    h.get_by_label("Peop").click();
    h.run();
    h.get_by_label("Add relation type").click();
    h.run();
    let schema = &h.state().state.corpus.schema;
    let treats = schema
        .relation_types
        .iter()
        .find(|r| r.name == "Treats")
        .expect("added");
    assert_eq!(treats.signatures, vec![("Drug".to_string(), "Peop".to_string())]);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    settle(&mut h);
    let saved = Corpus::load(&out).unwrap();
    assert!(saved.schema.entity_types.contains(&"Drug".to_string()));
}

/// A file that is read only once the test writes to it (a named pipe): the corpus is being
/// opened for as long as the test wants.
fn slow_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

/// Lets the slow file's reader go on, with `text` as its content.
fn finish_slow_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Opening runs in the background with a progress line and a Cancel button; the corpus shown
/// stays usable meanwhile, and the new one replaces it when it has been read.
#[test]
fn a_corpus_opens_in_the_background_with_progress_and_the_window_keeps_working() {
    let tmp = tempfile::tempdir().unwrap();
    let file = slow_file(tmp.path(), "slow.conll");
    let mut h = demo_app(tmp.path(), Some(file.clone()), None);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_steps(3);
    h.get_by_label_contains("opening slow.conll: reading");
    h.get_by_label("Cancel");
    // The demo corpus still takes keys while the other is read.
    let before = h.state().state.current;
    h.key_press(Key::PageDown);
    h.run_steps(2);
    assert_eq!(h.state().state.current, before + 1);
    let writer = std::thread::spawn(move || finish_slow_file(&file, "Zoë\tB-Peop\nlives\tO\n"));
    settle(&mut h);
    writer.join().unwrap();
    h.get_by_label("entity Peop: Zoë");
    assert!(h.query_by_label_contains("opening slow.conll").is_none());
    let status = h.state().state.status.clone().unwrap().text;
    assert!(status.starts_with("opened"), "{status}");
}

/// Edits made while another corpus is read are not dropped: the app asks first.
#[test]
fn edits_made_while_a_corpus_opens_are_asked_about_before_it_replaces_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = slow_file(tmp.path(), "slow.conll");
    let mut h = demo_app(tmp.path(), Some(file.clone()), None);
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_steps(3);
    h.key_press(Key::ArrowRight);
    h.run_steps(1);
    h.key_press(Key::Num1);
    h.run_steps(1);
    assert!(h.state().state.dirty);
    let writer = std::thread::spawn(move || finish_slow_file(&file, "Zoë\tB-Peop\n"));
    settle(&mut h);
    writer.join().unwrap();
    h.get_by_label("There are unsaved edits. Save them before opening slow.conll?");
    assert!(h.query_by_label("entity Peop: Zoë").is_none(), "not replaced yet");
    assert!(h.state().state.dirty);
}

/// Cancel stops waiting for a corpus being read; the one shown stays.
#[test]
fn opening_a_corpus_can_be_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let file = slow_file(tmp.path(), "slow.conll");
    let mut h = demo_app(tmp.path(), Some(file.clone()), None);
    h.run();
    let n = h.state().state.corpus.sentences.len();
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_steps(3);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(!h.state().background_busy());
    assert!(h.query_by_label_contains("opening slow.conll").is_none());
    let status = h.state().state.status.clone().unwrap().text;
    assert!(status.starts_with("stopped opening"), "{status}");
    // The reader thread ends once the file is there; its corpus is not taken.
    finish_slow_file(&file, "Zoë\tB-Peop\n");
    h.run_steps(3);
    assert_eq!(h.state().state.corpus.sentences.len(), n);
}

/// "Save" in the question before opening another corpus writes the edits (in the background)
/// and then opens the other one.
#[test]
fn saving_before_opening_another_corpus_writes_the_edits_then_opens_it() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other.conll");
    std::fs::write(&other, "Zoë\tB-Peop\nlives\tO\n").unwrap();
    let saved = tmp.path().join("demo-edited.json");
    let mut h = demo_app(tmp.path(), Some(other), Some(saved.clone()));
    h.run();
    press(&mut h, Key::ArrowRight);
    press(&mut h, Key::Num1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run();
    h.get_by_label("Save").click();
    h.run_steps(2);
    settle(&mut h);
    h.get_by_label("entity Peop: Zoë");
    let written = Corpus::load(&saved).unwrap();
    assert!(written.sentences[0]
        .entities
        .iter()
        .any(|e| e.provenance == Provenance::Edited));
    assert!(!h.state().state.dirty);
}

/// Export runs in the background like Save; the status says when it is written.
#[test]
fn predictions_are_exported_in_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("predicted.conll");
    let mut h = demo_app(tmp.path(), None, Some(out.clone()));
    h.run();
    h.state()
        .sender()
        .send(relarc::app::command::UiCommand::ExportPredictions);
    settle(&mut h);
    let status = h.state().state.status.clone().unwrap().text;
    assert!(
        status.starts_with("exported the predictions of 0 sentences"),
        "{status}"
    );
    let back = Corpus::load(&out).unwrap();
    assert_eq!(back.sentences.len(), h.state().state.corpus.sentences.len());
    assert_eq!(back.num_entities(), 0, "no predictions yet: no annotations");
}

/// Live extraction takes the centre of the window (Ctrl+E or its tab), not the side panel,
/// and the same key brings the corpus back.
#[test]
fn live_extraction_gets_the_centre_of_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    assert!(h.query_by_label("Text to extract from").is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    h.run();
    let field = h.get_by_label("Text to extract from");
    assert!(field.is_focused(), "typing can start at once");
    let rect = field.rect();
    // Right of the sentence list's search field, and wider than a side panel could be (30%
    // of 1300 px).
    let search = h
        .get_all_by_role(egui::Role::TextInput)
        .map(|n| n.rect())
        .find(|r| *r != rect)
        .unwrap();
    assert!(
        rect.left() > search.right(),
        "{rect:?} vs the search field {search:?}"
    );
    assert!(rect.width() > 0.4 * 1300.0, "{rect:?}");
    assert!(h.query_by_label("entity Peop: Edgar Allan Poe").is_none());
    // Ctrl+E in the text field goes back to the corpus too.
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    h.run();
    h.get_by_label("entity Peop: Edgar Allan Poe");
    assert!(h.query_by_label("Text to extract from").is_none());
}

/// A search highlights its matches in the sentence shown (and names them for screen readers)
/// and in the list, whose rows keep the match in sight.
#[test]
fn search_matches_are_highlighted_in_the_sentence_and_the_list() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    h.get_by_label("token 10: Boston");
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    h.get_all_by_role(egui::Role::TextInput)
        .find(|n| n.is_focused())
        .unwrap()
        .type_text("boston");
    h.run();
    h.get_by_label("token 10: Boston (search match)");
    assert!(h.query_by_label_contains("Poe (search match)").is_none());
    let current = h.state().state.current;
    let text = h.state().state.corpus.sentences[current].text();
    let (row, hits) = relarc::app::state::list_row(current + 1, &text, "boston");
    assert_eq!(hits.len(), 1);
    h.get_by_label(&row);
}

/// Choosing a preset that fine-tunes the encoder on a machine without a GPU says what an
/// epoch will cost before anything is trained.
#[test]
fn a_fine_tuning_preset_on_the_cpu_says_what_an_epoch_costs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = demo_app(tmp.path(), None, None);
    h.run();
    let warning = "on the CPU (no GPU found)";
    assert!(h.query_by_label_contains(warning).is_none());
    h.get_by_label("preset").click();
    h.run();
    h.get_by_label("conll04-ft").click();
    h.run();
    assert_eq!(h.state().model.as_ref().unwrap().settings.preset, "conll04-ft");
    if tch::Cuda::is_available() {
        assert!(h.query_by_label_contains(warning).is_none());
        return;
    }
    h.get_by_label_contains("Fine-tunes all-mpnet-base-v2 on the CPU (no GPU found): about");
    h.get_by_label("preset").click();
    h.run();
    h.get_by_label("conll04-minilm").click();
    h.run();
    assert!(
        h.query_by_label_contains(warning).is_none(),
        "a frozen encoder costs no more"
    );
}
