//! Pre-trained inputs: static word vectors (GloVe, word2vec, fastText) and frozen transformer
//! encoders (BERT family, MPNet) whose layers the model mixes, with a cache of their features.

pub mod cache;
pub mod encoder;
pub mod features;
pub mod inputs;
pub mod resources;
pub mod vectors;

pub use encoder::{Encoder, Pooling};
pub use features::{Caching, Featurizer};
pub use resources::{resources_dir, PretrainedError};
pub use vectors::StaticVectors;
