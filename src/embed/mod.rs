//! Inputs of the model: vocabularies (words, characters, labels), casing classes, and the
//! batches of ids built from sentences.

pub mod batch;
pub mod casing;
pub mod vocab;

pub use batch::{Batch, BatchInput};
pub use vocab::Vocabulary;
