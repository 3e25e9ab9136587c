//! The model's own thread for the app: it holds the loaded or trained model and predicts in
//! the background, so the UI never waits on a tensor.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use tch::Device;

use crate::model::{Model, Prediction};

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
    Save(PathBuf),
}

pub enum Reply {
    Loaded {
        description: String,
        threshold: f64,
    },
    Predicted {
        tag: Tag,
        results: Vec<(usize, Prediction)>,
        done: usize,
        total: usize,
    },
    Saved(PathBuf),
    Error(String),
}

pub struct Worker {
    requests: Sender<Request>,
    pub replies: Receiver<Reply>,
}

fn describe(m: &Model) -> String {
    format!(
        "{} entity types, {} relation types, {} trainable parameters, on {:?}",
        m.vocab.entity_types.len(),
        m.vocab.relation_types.len(),
        m.num_trainable_parameters(),
        m.device()
    )
}

impl Worker {
    pub fn spawn(notify: Arc<dyn Fn() + Send + Sync>) -> Worker {
        let (requests, rx) = channel::<Request>();
        let (tx, replies) = channel::<Reply>();
        std::thread::Builder::new()
            .name("relarc-model".into())
            .spawn(move || {
                let send = |r: Reply| {
                    let _ = tx.send(r);
                    notify();
                };
                let mut model: Option<Model> = None;
                while let Ok(first) = rx.recv() {
                    // Of several queued live requests only the newest matters.
                    let mut queue = vec![first];
                    queue.extend(rx.try_iter());
                    let newest_live = queue.iter().rposition(|r| {
                        matches!(
                            r,
                            Request::Predict {
                                tag: Tag::Live(_),
                                ..
                            }
                        )
                    });
                    for (i, req) in queue.into_iter().enumerate() {
                        match req {
                            Request::Predict {
                                tag: Tag::Live(_), ..
                            } if Some(i) != newest_live => {}
                            Request::Load(dir) => match Model::load(&dir, Device::cuda_if_available()) {
                                Ok(m) => {
                                    send(Reply::Loaded {
                                        description: describe(&m),
                                        threshold: m.config.re_threshold,
                                    });
                                    model = Some(m);
                                }
                                Err(e) => send(Reply::Error(e.to_string())),
                            },
                            Request::Set(m) => {
                                send(Reply::Loaded {
                                    description: describe(&m),
                                    threshold: m.config.re_threshold,
                                });
                                model = Some(*m);
                            }
                            Request::Save(dir) => match model.as_ref().map(|m| m.save(&dir)) {
                                Some(Ok(())) => send(Reply::Saved(dir)),
                                Some(Err(e)) => send(Reply::Error(e.to_string())),
                                None => send(Reply::Error("there is no model to save".into())),
                            },
                            Request::Predict { tag, items } => {
                                let Some(m) = model.as_ref() else {
                                    send(Reply::Error("load or train a model first".into()));
                                    continue;
                                };
                                let total = items.len();
                                let mut done = 0;
                                for chunk in items.chunks(128) {
                                    let tokens: Vec<&[String]> =
                                        chunk.iter().map(|(_, t)| t.as_slice()).collect();
                                    let predicted = match tag {
                                        Tag::Live(_) => m.predict_uncached(&tokens),
                                        _ => m.predict(&tokens),
                                    };
                                    match predicted {
                                        Ok(preds) => {
                                            done += chunk.len();
                                            let results = chunk.iter().map(|(i, _)| *i).zip(preds).collect();
                                            send(Reply::Predicted {
                                                tag,
                                                results,
                                                done,
                                                total,
                                            });
                                        }
                                        Err(e) => {
                                            send(Reply::Error(format!("prediction failed: {e}")));
                                            break;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            })
            .expect("the model thread starts");
        Worker { requests, replies }
    }

    pub fn send(&self, r: Request) {
        let _ = self.requests.send(r);
    }
}
