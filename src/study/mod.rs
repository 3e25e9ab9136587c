//! Studies: grids of trainings (the paper's Table 3 ablation, its layer-count search) written
//! as a plan of independent jobs. A plan runs here (`run_all`, several jobs at once), or one
//! job at a time wherever a scheduler starts `relarc job plan.json --index K`; `collect` builds
//! the table from whatever has finished. Each job owns its folder, so jobs never write the
//! same files, and a finished job (its `result.json` written last) is never run again.

pub mod ablate;
pub mod affinity;
pub mod collect;
pub mod job;
pub mod plan;
pub mod search;
pub mod slurm;

pub use collect::{collect, Collected, GroupRow};
pub use job::{run_all, run_one, JobResult, Ran};
pub use plan::{JobData, Study, StudyJob, StudyKind, StudyOptions};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a relarc study plan: {message}", path.display())]
    BadPlan { path: PathBuf, message: String },
    #[error("job index {index} is not in the plan (it has jobs 0 to {last})")]
    NoSuchJob { index: usize, last: usize },
    #[error("no job index: give --index K, or run as a Slurm array task (SLURM_ARRAY_TASK_ID) or an indexed Kubernetes Job (JOB_COMPLETION_INDEX)")]
    NoIndex,
    #[error("{variable}={value:?} is not a job index")]
    BadIndex { variable: String, value: String },
    #[error("{}: a finished job of another plan is there (its {what} differs); give the study another --out, or delete that folder", path.display())]
    OtherJob { path: PathBuf, what: &'static str },
    #[error("{}: a different study was planned into this folder ({what} differs); give another --out, or delete the folder to start over", path.display())]
    DifferentStudy { path: PathBuf, what: String },
    #[error("{}: changed since the plan was written (its SHA-256 differs); plan the study again", path.display())]
    DataChanged { path: PathBuf },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("rung {rung} needs rung {previous} finished first: {missing} of its jobs have no result yet")]
    RungUnfinished {
        rung: usize,
        previous: usize,
        missing: usize,
    },
    #[error(transparent)]
    Protocol(#[from] crate::train::protocol::ProtocolError),
    #[error(transparent)]
    Corpus(#[from] crate::corpus::CorpusError),
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    #[error(transparent)]
    Failed(#[from] crate::train::Failure),
    #[error(transparent)]
    Predict(#[from] crate::model::predict::PredictError),
    #[error(transparent)]
    Device(#[from] crate::train::DeviceError),
}

fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StudyError + '_ {
    move |source| StudyError::Io {
        path: path.into(),
        source,
    }
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), StudyError> {
    let text = serde_json::to_string_pretty(value).expect("study files serialise");
    crate::fsio::atomic_write_bytes(path, text.as_bytes()).map_err(io_error(path))
}
