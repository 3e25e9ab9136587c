//! relarc's integration tests, gathered in one test binary so that libtorch and eframe are
//! linked once. Each module is one area; `common` holds the helpers they share. The app's
//! modules need the default `gui` feature.
//!
//! Tests share one process: none may change the environment or libtorch's global state in a
//! way another test could see (a test that needs that runs `relarc` as a child process).

#[cfg(feature = "gui")]
mod app;
#[cfg(feature = "gui")]
mod app_model;
#[cfg(feature = "gui")]
mod app_state;
mod bench;
mod binary_env;
mod brat_collections;
mod cli;
mod cli_train;
mod common;
mod conll_variants;
mod damage;
mod default_model;
mod doccano_exports;
mod encoders;
mod formats;
mod full_disk;
mod hostile;
mod model;
mod model_crf;
mod pretrained;
mod roundtrip;
mod stats_match;
mod studies;
mod train;
