//! Training: optimizers, the training loop with early stopping, and a trainer that owns the
//! model on its own thread and talks through channels (the CLI and the app both use it).

pub mod optim;
pub mod protocol;
pub mod report;
pub mod run;
pub mod threshold;
pub mod trainer;

pub use run::{train, EpochRecord, TrainError, TrainJob, TrainOptions, TrainOutcome};
pub use trainer::{Command, Event, Failure, Trainer};
