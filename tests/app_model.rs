//! The model in the app: train on the open corpus in the background, see progress and
//! predictions, accept a predicted arc, save it; cancel a run and keep working.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use relarc::app::command::ViewMode;
use relarc::app::state::AppState;
use relarc::app::{view, FileDialogs, RelarcApp};
use relarc::corpus::{Corpus, Provenance};
use relarc::eval::compare::{diff, Mark};
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

/// How many sentences the training in this session held out as its dev part.
fn held_out(state: &AppState) -> usize {
    let split = state.trained_split.as_ref().expect("trained in this session");
    split.iter().filter(|&&dev| dev).count()
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
        m.settings.config_override = Some(ModelConfig {
            re_threshold: 0.0,
            ..tiny()
        });
        m.settings.epochs = 40;
        m.settings.patience = 40;
        m.settings.dev_fraction = 0.2;
    }
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().model.as_ref().unwrap().is_training());
    wait(&mut h, "training and predictions", |a| {
        let m = a.model.as_ref().unwrap();
        !m.is_training() && m.predicting.is_none() && a.state.prediction().is_some()
    });
    let m = h.state().model.as_ref().unwrap();
    // The status says the prediction ended, not that it is still going on.
    let status = &h.state().state.status.as_ref().unwrap().text;
    assert!(
        status.starts_with("trained ") && status.contains("predicted "),
        "{status}"
    );
    assert!(!status.contains("predicting"), "{status}");
    assert!(m.events_seen > 40, "progress events arrived");
    // The metrics cover the held-out dev part first, then the sentences trained on.
    let n_dev = held_out(&h.state().state);
    assert!(n_dev > 0);
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, Key::M);
    h.run();
    let dev = h
        .get_by_label(&format!("held-out dev part (not trained on) ({n_dev} sentences)"))
        .rect();
    let trained = h
        .get_by_label_contains("sentences the model was trained on (")
        .rect();
    assert!(dev.max.y < trained.min.y, "dev first");
    let warning = h
        .get_by_label_contains("The model learned these sentences")
        .rect();
    assert!(
        trained.max.y <= warning.min.y,
        "the warning is under the trained part's heading"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, Key::M);
    h.run();
    let m = h.state().model.as_ref().unwrap();
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

    // Live extraction, in the centre: typed text is predicted in the background and can join
    // the corpus.
    h.get_by_label("Live extraction").click();
    h.run_steps(2);
    h.get_by_label("Text to extract from").focus();
    h.step();
    h.get_by_label("Text to extract from")
        .type_text("Poe lived in Boston .");
    h.step();
    wait(&mut h, "the live prediction", |a| {
        !a.model.as_ref().unwrap().live.sentences.is_empty()
    });
    let live = h.state().model.as_ref().unwrap().live.sentences[0].clone();
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
    wait(&mut h, "the save", |a| !a.background_busy());
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
        m.settings.config_override = Some(tiny());
        m.settings.epochs = 500;
    }
    h.get_by_label("Train").click();
    wait(&mut h, "the first steps", |a| {
        a.model.as_ref().unwrap().progress().is_some()
    });
    h.get_by_label("Cancel training").click();
    wait(&mut h, "the cancellation", |a| {
        !a.model.as_ref().unwrap().is_training()
    });
    assert!(h
        .state()
        .state
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("cancelled"));
    assert_eq!(h.state().state.corpus.sentences, before);
    assert!(!h.state().state.dirty);
    // Still responsive: the next sentence shows.
    h.key_press(Key::PageDown);
    h.run_steps(2);
    assert_eq!(h.state().state.current, 1);
    h.get_by_label("entity Peop: Marie Curie");
}

/// The model controller without a window: training from the state, its progress, the
/// predictions it brings into the state, and a failure that says why and leaves the state.
#[test]
fn the_controller_trains_and_predicts_without_a_window() {
    use relarc::app::controller::ModelController;
    let tmp = tempfile::tempdir().unwrap();
    let mut state = AppState::demo(tmp.path().to_path_buf());
    let before = state.corpus.sentences.clone();
    let mut ctl = ModelController::new(std::sync::Arc::new(|| {}));
    let poll_until =
        |ctl: &mut ModelController, state: &mut AppState, done: &dyn Fn(&ModelController) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(180);
            while !done(ctl) {
                assert!(Instant::now() < deadline, "timed out");
                std::thread::sleep(Duration::from_millis(20));
                ctl.poll(state);
            }
        };

    ctl.settings.preset = "no-such-preset".into();
    ctl.start_training(&mut state, tmp.path());
    assert!(!ctl.is_training());
    let status = state.status.clone().unwrap();
    assert!(
        status.is_error() && status.text.contains("unknown preset"),
        "{status:?}"
    );

    ctl.settings.config_override = Some(tiny());
    ctl.settings.epochs = 3;
    ctl.start_training(&mut state, tmp.path());
    assert!(ctl.is_training());
    poll_until(&mut ctl, &mut state, &|c| {
        !c.is_training() && c.model_info.is_some() && c.predicting.is_none()
    });
    assert!(ctl.last_outcome.as_ref().unwrap().contains("trained 3 epochs"));
    assert_eq!(ctl.curves.dev_ner.len(), 3);
    let dir = ctl.model_dir.clone().unwrap();
    assert!(dir.join("config.json").exists());
    // Its report, as `relarc train` writes one: loaded later, the card says how it was made.
    let model = relarc::model::Model::load(&dir, tch::Device::Cpu).unwrap();
    let card = relarc::model::card::card(&model, Some(&dir));
    let trained = &card.iter().find(|(k, _)| k == "trained").expect("a report").1;
    assert!(
        trained.contains("train the demo corpus (in the app)")
            && trained.contains("dev the demo corpus (held-out part)"),
        "{trained}"
    );
    assert!(
        state.predictions.iter().all(|p| p.is_some()),
        "the whole corpus is predicted"
    );
    assert_eq!(state.view_mode, ViewMode::Diff);
    assert_eq!(state.corpus.sentences, before, "training never edits the corpus");

    // Loaded again later, the model still knows which sentences it learned: the metrics
    // score the held-out part apart, and the status says how many it was trained on.
    let n_dev = held_out(&state);
    ctl.load(dir.clone());
    poll_until(&mut ctl, &mut state, &|c| !c.loading);
    assert_eq!(
        state.trained_split, None,
        "the session's split was another model's"
    );
    ctl.predict_corpus(&mut state);
    poll_until(&mut ctl, &mut state, &|c| c.predicting.is_none());
    let n = state.corpus.sentences.len();
    let parts: Vec<(&str, usize, bool)> = (state.metrics_parts().iter())
        .map(|p| (p.name, p.sentences, p.seen_in_training))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("sentences the model was not trained on", n_dev, false),
            ("sentences the model was trained on", n - n_dev, true),
        ]
    );
    let status = state.status.clone().unwrap().text;
    assert!(
        status.contains(&format!("the model was trained on {} of them", n - n_dev)),
        "{status}"
    );
    // Saved elsewhere, it takes its record and its report along.
    let saved = tmp.path().join("saved");
    ctl.save(saved.clone());
    poll_until(&mut ctl, &mut state, &|_| saved.join("report.json").is_file());
    let read = |d: &std::path::Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read(&saved, "report.json"), read(&dir, "report.json"));
    assert_eq!(
        read(&saved, "trained_sentences.json"),
        read(&dir, "trained_sentences.json")
    );

    // A combined folder loads as its members together; training cannot continue from it
    // (it names the members instead), and saving copies the folder as it is.
    let both = tmp.path().join("both");
    let members = relarc::model::combined::Members::equal(vec![dir.clone(), dir.clone()]);
    relarc::model::combined::write_combined(&members, 0.5, &both).unwrap();
    ctl.load(both.clone());
    poll_until(&mut ctl, &mut state, &|c| !c.loading);
    let info = ctl.model_info.clone().unwrap();
    assert!(
        info.contains("members: 2 models predicting together") && info.contains("θr: 0.500"),
        "{info}"
    );
    ctl.settings.continue_training = true;
    ctl.start_training(&mut state, tmp.path());
    assert!(!ctl.is_training());
    let status = state.status.clone().unwrap();
    assert!(
        status.is_error() && status.text.contains("holds 2 models that predict together"),
        "{status:?}"
    );
    let copy = tmp.path().join("copy");
    ctl.save(copy.clone());
    poll_until(&mut ctl, &mut state, &|_| copy.join("members.json").is_file());
    let copied = relarc::model::Ensemble::load(&copy, tch::Device::Cpu).unwrap();
    assert_eq!((copied.members.len(), copied.re_threshold), (2, 0.5));
}
