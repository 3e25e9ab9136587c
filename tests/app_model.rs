//! The model in the app: train on the open corpus in the background, see progress and
//! predictions, accept a predicted arc, save it; cancel a run and keep working.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use relarc::app::command::ViewMode;
use relarc::app::state::{diff, AppState, Mark};
use relarc::app::{view, FileDialogs, RelarcApp};
use relarc::corpus::{Corpus, Provenance};
use relarc::model::ModelConfig;

struct Scripted(Option<PathBuf>);

impl FileDialogs for Scripted {
    fn open(&mut self) -> Option<PathBuf> {
        None
    }
    fn save(&mut self, _: &str) -> Option<PathBuf> {
        self.0.take()
    }
    fn pick_folder(&mut self) -> Option<PathBuf> {
        None
    }
}

fn harness<'a>(app: RelarcApp) -> Harness<'a, RelarcApp> {
    Harness::builder()
        .with_size([1500.0, 900.0])
        .build_ui_state(|ui, app: &mut RelarcApp| app.show(ui), app)
}

fn tiny() -> ModelConfig {
    ModelConfig {
        rnn_size: 16,
        batch_size: 4,
        learning_rate: 1e-2,
        rnn_dropout: 0.0,
        re_dropout: 0.0,
        ..ModelConfig::ade()
    }
}

/// Steps frames until `done` holds (the threads report in the background).
fn wait(h: &mut Harness<RelarcApp>, what: &str, done: impl Fn(&RelarcApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.step();
}

#[test]
fn train_predict_accept_an_arc_and_save() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("accepted.json");
    let state = AppState::demo(tmp.path().to_path_buf());
    let mut h = harness(RelarcApp::new(state, Box::new(Scripted(Some(out.clone())))));
    h.run();
    {
        let m = h.state_mut().model.as_mut().unwrap();
        // θr = 0: every pair of predicted entities gets arcs, so there is one to accept.
        m.config_override = Some(ModelConfig {
            re_threshold: 0.0,
            ..tiny()
        });
        m.epochs = 40;
        m.patience = 40;
        m.dev_fraction = 0.2;
    }
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().model.as_ref().unwrap().training);
    wait(&mut h, "training and predictions", |a| {
        let m = a.model.as_ref().unwrap();
        !m.training && m.predicting.is_none() && a.state.prediction().is_some()
    });
    let m = h.state().model.as_ref().unwrap();
    assert!(m.events_seen > 40, "progress events arrived");
    assert!(!m.curves.loss.is_empty() && !m.curves.dev_ner.is_empty());
    assert!(
        m.last_outcome.as_ref().unwrap().contains("trained"),
        "{:?}",
        m.last_outcome
    );
    assert_eq!(
        h.state().state.view_mode,
        ViewMode::Diff,
        "predictions are shown beside gold"
    );

    // Find a sentence with a spurious (predicted, not gold) arc and click it to accept it.
    let n = h.state().state.corpus.sentences.len();
    let mut accepted = None;
    for i in 0..n {
        let app = h.state();
        let (gold, pred) = (
            &app.state.corpus.sentences[i],
            app.state.predictions[i].as_ref().unwrap(),
        );
        let d = diff(gold, pred);
        if let Some(r) = d.relation_marks.iter().position(|m| *m == Mark::Spurious) {
            let label = view::relation_label(&d.sentence, r);
            let rel = d.sentence.relations[r].clone();
            let (h_ent, t_ent) = (
                d.sentence.entities[rel.head].clone(),
                d.sentence.entities[rel.tail].clone(),
            );
            h.state_mut()
                .run(&egui::Context::default(), relarc::app::command::Command::GoTo(i));
            h.run_steps(2);
            h.get_all_by_label(&label).next().unwrap().click();
            h.run_steps(2);
            accepted = Some((i, rel.label, h_ent, t_ent));
            break;
        }
    }
    let (i, label, head, tail) = accepted.expect("some predicted arc is not gold");

    // Live extraction: typed text is predicted in the background and can join the corpus.
    h.get_by_label("Live extraction").focus();
    h.step();
    h.get_by_label("Live extraction")
        .type_text("Poe lived in Boston .");
    h.step();
    wait(&mut h, "the live prediction", |a| {
        a.model.as_ref().unwrap().live.is_some()
    });
    let live = h.state().model.as_ref().unwrap().live.clone().unwrap();
    assert_eq!(live.tokens, ["Poe", "lived", "in", "Boston", "."]);
    h.get_by_label("Add to corpus").click();
    h.run_steps(2);
    assert_eq!(h.state().state.corpus.sentences.len(), n + 1);
    assert_eq!(h.state().state.current, n, "the new sentence is shown");

    // Predictions export in any format.
    let exported = out.with_file_name("predictions.doccano.jsonl");
    assert!(h.state_mut().state.export_predictions(&exported));
    let back = Corpus::load(&exported).unwrap();
    assert_eq!(back.sentences.len(), n + 1);
    assert!(back.sentences[..n]
        .iter()
        .all(|s| s.entities.iter().all(|e| e.provenance == Provenance::Predicted)));
    assert!(h.state().state.dirty);
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::S);
    h.run_steps(2);
    let saved = Corpus::load(&out).unwrap();
    let s = &saved.sentences[i];
    assert!(
        s.relations.iter().any(|r| {
            r.label == label
                && r.provenance == Provenance::Accepted
                && s.entities[r.head].start == head.start
                && s.entities[r.head].end == head.end
                && s.entities[r.tail].start == tail.start
                && s.entities[r.tail].end == tail.end
        }),
        "the accepted arc is in the saved file: {:?}",
        s.relations
    );
}

#[test]
fn cancelling_training_keeps_the_app_responsive_and_the_corpus_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let state = AppState::demo(tmp.path().to_path_buf());
    let before = state.corpus.sentences.clone();
    let mut h = harness(RelarcApp::new(state, Box::new(Scripted(None))));
    h.run();
    {
        let m = h.state_mut().model.as_mut().unwrap();
        m.config_override = Some(tiny());
        m.epochs = 500;
    }
    h.get_by_label("Train").click();
    wait(&mut h, "the first steps", |a| {
        a.model.as_ref().unwrap().progress.is_some()
    });
    h.get_by_label("Cancel training").click();
    wait(&mut h, "the cancellation", |a| {
        !a.model.as_ref().unwrap().training
    });
    assert!(h.state().state.status.as_ref().unwrap().0.contains("cancelled"));
    assert_eq!(h.state().state.corpus.sentences, before);
    assert!(!h.state().state.dirty);
    // Still responsive: the next sentence shows.
    h.key_press(Key::PageDown);
    h.run_steps(2);
    assert_eq!(h.state().state.current, 1);
    h.get_by_label("entity Peop: Marie Curie");
}
