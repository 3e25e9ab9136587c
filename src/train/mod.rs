//! Training: optimizers, the training loop with early stopping, and a trainer that owns the
//! model on its own thread and talks through channels (the CLI and the app both use it).

pub mod average;
pub mod optim;
pub mod protocol;
pub mod report;
pub mod run;
pub mod threshold;
pub mod trainer;

pub use run::{train, EpochRecord, TrainError, TrainJob, TrainOptions, TrainOutcome};
pub use trainer::{Command, Event, Failure, Trainer};

/// A device named on the command line or in a study plan that this machine cannot give.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("CUDA is not available on this machine (see `relarc doctor`)")]
    NoCuda,
    #[error("unknown device {0:?}; use auto, cpu or cuda")]
    Unknown(String),
}

/// `auto` (CUDA when present), `cpu` or `cuda`, as on this machine.
pub fn device_named(name: &str) -> Result<tch::Device, DeviceError> {
    match name {
        "auto" => Ok(tch::Device::cuda_if_available()),
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
        "cuda" => Err(DeviceError::NoCuda),
        other => Err(DeviceError::Unknown(other.into())),
    }
}
