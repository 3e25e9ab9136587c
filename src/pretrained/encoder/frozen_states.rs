//! What the frozen bottom of a partly fine-tuned encoder computes for each training window,
//! kept so that a training step runs only the layers that learn.
//!
//! With `--fine-tune-layers K`, the embeddings and the layers below the top K never change,
//! so their states for a window are the same at every epoch; computing them once turns a
//! step's forward pass through all N layers into one through K. The frozen layers then run
//! without dropout (as a frozen encoder does), where running them at every step would apply
//! the checkpoint's dropout to them too.

use std::collections::HashMap;
use std::sync::Mutex;

use tch::{Kind, Tensor};

/// Most bytes kept per encoder. A sentence of 35 sub-words keeps 11 float16 states of 768 for
/// each of its 37 tokens with MPNet's bottom 10 layers frozen, 0.6 MB (CoNLL04's training set:
/// about 0.6 GB); past the limit, windows run through the frozen layers at each step (slower,
/// the same result) rather than filling the machine's memory.
const MAX_BYTES: usize = 4 << 30;

/// States `[frozen layers + 1, sub-words + 2, D]` by window (its sub-word ids), in float16.
#[derive(Default)]
pub struct FrozenStates {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    by_window: HashMap<Vec<i64>, Tensor>,
    bytes: usize,
}

impl FrozenStates {
    /// The states of `window`, in float32 as they were kept, or None.
    pub fn get(&self, window: &[i64]) -> Option<Tensor> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.by_window.get(window).map(|t| t.to_kind(Kind::Float))
    }

    /// Rounds `states` to float16 and keeps them while there is room; returns what `get`
    /// will return, so that a step sees the same states whether they were just computed.
    pub fn keep(&self, window: &[i64], states: &Tensor) -> Tensor {
        let half = states.to_kind(Kind::Half);
        let bytes = half.numel() * 2;
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.bytes + bytes <= MAX_BYTES && !kept.by_window.contains_key(window) {
            kept.bytes += bytes;
            kept.by_window.insert(window.to_vec(), half.shallow_clone());
        }
        half.to_kind(Kind::Float)
    }

    /// Bytes kept now.
    pub fn bytes(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Frees them all (training is over).
    pub fn clear(&self) {
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Kept::default();
    }
}
