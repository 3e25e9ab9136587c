//! relarc: joint named-entity recognition and relation extraction.
//!
//! The library knows nothing of the GUI: everything the app does goes through these modules,
//! and the command line in `main.rs` is a thin layer over them too. The app itself (`app`,
//! eframe and egui) sits behind the default `gui` feature, so that
//! `cargo check --lib --no-default-features` proves the core builds without any GUI crate.

#[cfg(feature = "gui")]
pub mod app;
pub mod bench;
pub mod corpus;
pub mod embed;
pub mod eval;
pub mod fsio;
pub mod model;
mod omp;
pub mod pretrained;
pub mod study;
pub mod text;
pub mod threads;
pub mod train;
