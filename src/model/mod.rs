//! The joint NER + RE model of the paper (§3), its configuration, checkpoints and prediction.

pub mod birnn;
pub mod card;
pub mod checkpoint;
pub mod combined;
pub mod config;
pub mod context;
pub mod crf;
pub mod ensemble;
pub mod heads;
pub mod host_gru;
pub mod inputs;
pub mod joint;
pub mod pairs;
pub mod predict;
pub mod random;
pub mod recipe;
pub mod shipped;
pub mod trained_on;

/// The run's report a trained model's folder carries (written by training; `info`, resuming
/// protocols and the app read it back).
pub const RUN_REPORT: &str = "report.json";

pub use checkpoint::ModelError;
pub use config::ModelConfig;
pub use ensemble::{Ensemble, EnsembleError, Predictor};
pub use joint::JointModel;
pub use predict::{Model, PredictedEntity, PredictedRelation, Prediction};
pub use recipe::{ConfigError, Recipe};
