//! Raw text to tokens and sentences, for live extraction and for formats that store
//! character offsets (brat, doccano).

mod sentences;
mod tokenize;

pub use sentences::split_sentences;
pub use tokenize::{char_to_byte_offsets, tokenize, tokenize_with_boundaries, Token};
