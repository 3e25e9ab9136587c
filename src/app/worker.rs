//! The model's own thread for the app: it holds the loaded or trained model and predicts in
//! the background, so the UI never waits on a tensor.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use tch::Device;

use crate::model::trained_on::TrainedOn;
use crate::model::{combined, Ensemble, Model, ModelError, Prediction, RUN_REPORT};

/// Which request predictions answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Corpus,
    Live(u64),
}

pub enum Request {
    Load(PathBuf),
    Set(Box<Model>),
    Predict {
        tag: Tag,
        items: Vec<(usize, Vec<String>)>,
    },
    Save {
        to: PathBuf,
        /// The folder the model was loaded from or trained into, whose `report.json` (how
        /// it was trained) goes with it.
        report_from: Option<PathBuf>,
    },
}

pub enum Reply {
    Loaded {
        description: String,
        threshold: f64,
        /// The folder it was loaded from (None: a model trained in this session).
        dir: Option<PathBuf>,
    },
    Predicted {
        tag: Tag,
        results: Vec<(usize, Prediction)>,
        done: usize,
        total: usize,
        /// The sentences the predicting model was trained on, where it recorded them.
        trained_on: Option<Arc<TrainedOn>>,
    },
    Saved(PathBuf),
    Error(String),
}

pub struct Worker {
    requests: Sender<Request>,
    pub replies: Receiver<Reply>,
}

/// The model's card as lines for the panel.
fn describe(m: &Ensemble, dir: Option<&Path>) -> String {
    crate::model::card::ensemble_card(m, dir)
        .into_iter()
        .map(|(what, value)| format!("{what}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The model thread's side: the model it holds (one, or several predicting together), the
/// folder it came from, and the way back to the app.
struct Serving {
    model: Option<Ensemble>,
    dir: Option<PathBuf>,
    trained_on: Option<Arc<TrainedOn>>,
    replies: Sender<Reply>,
    notify: Arc<dyn Fn() + Send + Sync>,
}

impl Serving {
    fn send(&self, r: Reply) {
        let _ = self.replies.send(r);
        (self.notify)();
    }

    /// Serves requests until the app drops its end. Of several queued live requests only
    /// the newest matters: the others are skipped.
    fn serve(&mut self, rx: Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut queue = vec![first];
            queue.extend(rx.try_iter());
            let is_live = |r: &Request| {
                matches!(
                    r,
                    Request::Predict {
                        tag: Tag::Live(_),
                        ..
                    }
                )
            };
            let newest_live = queue.iter().rposition(is_live);
            for (i, req) in queue.into_iter().enumerate() {
                if is_live(&req) && Some(i) != newest_live {
                    continue;
                }
                self.handle(req);
            }
        }
    }

    fn handle(&mut self, req: Request) {
        match req {
            Request::Load(dir) => match Ensemble::load(&dir, Device::cuda_if_available()) {
                Ok(m) => self.set(m, Some(&dir)),
                Err(e) => self.send(Reply::Error(e.to_string())),
            },
            Request::Set(m) => match Ensemble::new(vec![*m]) {
                Ok(m) => self.set(m, None),
                Err(e) => self.send(Reply::Error(e.to_string())),
            },
            Request::Save { to, report_from } => match self.save(&to, report_from.as_deref()) {
                Some(Ok(())) => self.send(Reply::Saved(to)),
                Some(Err(e)) => self.send(Reply::Error(e.to_string())),
                None => self.send(Reply::Error("there is no model to save".into())),
            },
            Request::Predict { tag, items } => self.predict(tag, &items),
        }
    }

    fn set(&mut self, m: Ensemble, dir: Option<&Path>) {
        self.send(Reply::Loaded {
            description: describe(&m, dir),
            threshold: m.re_threshold,
            dir: dir.map(Path::to_path_buf),
        });
        self.trained_on = m.trained_on().map(Arc::new);
        self.model = Some(m);
        self.dir = dir.map(Path::to_path_buf);
    }

    /// One model is written anew, with the report of how it was trained; a combined one is
    /// copied from its folder as it is.
    fn save(&self, to: &Path, report_from: Option<&Path>) -> Option<Result<(), ModelError>> {
        let m = self.model.as_ref()?;
        Some(match (m.members.as_slice(), &self.dir) {
            ([one], _) => save_with_report(one, to, report_from),
            (_, Some(from)) => combined::copy_combined(from, to),
            (_, None) => Err(ModelError::Mismatch {
                path: to.to_path_buf(),
                reason: "models combined in this session cannot be saved".into(),
            }),
        })
    }

    /// Predicts in chunks, replying after each so the app can show progress.
    fn predict(&self, tag: Tag, items: &[(usize, Vec<String>)]) {
        let Some(m) = self.model.as_ref() else {
            self.send(Reply::Error("load or train a model first".into()));
            return;
        };
        let total = items.len();
        let mut done = 0;
        for chunk in items.chunks(128) {
            let tokens: Vec<&[String]> = chunk.iter().map(|(_, t)| t.as_slice()).collect();
            let predicted = crate::threads::with_threads(crate::threads::spare(), || match tag {
                Tag::Live(_) => m.predict_uncached(&tokens),
                Tag::Corpus => m.predict(&tokens),
            });
            let preds = match predicted {
                Ok(preds) => preds,
                Err(e) => return self.send(Reply::Error(format!("prediction failed: {e}"))),
            };
            done += chunk.len();
            let results = chunk.iter().map(|(i, _)| *i).zip(preds).collect();
            self.send(Reply::Predicted {
                tag,
                results,
                done,
                total,
                trained_on: self.trained_on.clone(),
            });
        }
    }
}

/// Saves `m` to `to` with `report_from/report.json` beside it, read first: saving into the
/// folder the model came from replaces that folder.
fn save_with_report(m: &Model, to: &Path, report_from: Option<&Path>) -> Result<(), ModelError> {
    let report = report_from.and_then(|d| std::fs::read(d.join(RUN_REPORT)).ok());
    m.save(to)?;
    let Some(bytes) = report else { return Ok(()) };
    let path = to.join(RUN_REPORT);
    crate::fsio::atomic_write_bytes(&path, &bytes).map_err(|source| ModelError::Io { path, source })
}

impl Worker {
    pub fn spawn(notify: Arc<dyn Fn() + Send + Sync>) -> Worker {
        let (requests, rx) = channel::<Request>();
        let (tx, replies) = channel::<Reply>();
        let mut serving = Serving {
            model: None,
            dir: None,
            trained_on: None,
            replies: tx,
            notify,
        };
        std::thread::Builder::new()
            .name("relarc-model".into())
            .spawn(move || serving.serve(rx))
            .expect("the model thread starts");
        Worker { requests, replies }
    }

    pub fn send(&self, r: Request) {
        let _ = self.requests.send(r);
    }
}
