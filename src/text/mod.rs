//! Raw text to tokens, for live extraction and for formats that store character offsets
//! (brat, doccano).

mod tokenize;

pub use tokenize::{char_to_byte_offsets, tokenize, tokenize_with_boundaries, Token};
