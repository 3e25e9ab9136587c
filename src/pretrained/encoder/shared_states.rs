//! Sub-word states kept for the length of one prediction step, so that the members of an
//! ensemble that read one encoder with other poolings run it once per sentence when their
//! features are not cached (text typed live); cached features are shared through
//! `Featurizer::warm_together` instead.

use std::cell::RefCell;
use std::collections::HashMap;

use tch::Tensor;

/// An encoder (its address) and an input's sub-word ids.
type Key = (usize, Vec<i64>);

thread_local! {
    static KEPT: RefCell<Option<HashMap<Key, Tensor>>> = const { RefCell::new(None) };
}

/// Runs `f` with the states that encoders compute on this thread kept until it returns.
pub fn sharing_states<T>(f: impl FnOnce() -> T) -> T {
    let outer = KEPT.with(|k| k.borrow_mut().replace(HashMap::new()));
    let out = f();
    KEPT.with(|k| *k.borrow_mut() = outer);
    out
}

/// The states of `inputs` for the encoder at `owner`: those kept reused, the others from
/// `compute` (kept in turn while `sharing_states` runs).
pub(super) fn states(
    owner: usize,
    inputs: &[&[i64]],
    compute: impl FnOnce(&[&[i64]]) -> Vec<Tensor>,
) -> Vec<Tensor> {
    let mut out: Vec<Option<Tensor>> = match KEPT.with(|k| {
        let kept = k.borrow();
        let kept = kept.as_ref()?;
        Some(
            inputs
                .iter()
                .map(|ids| kept.get(&(owner, ids.to_vec())).map(Tensor::shallow_clone))
                .collect(),
        )
    }) {
        Some(found) => found,
        None => return compute(inputs),
    };
    let missing: Vec<usize> = (0..inputs.len()).filter(|&i| out[i].is_none()).collect();
    if !missing.is_empty() {
        let asked: Vec<&[i64]> = missing.iter().map(|&i| inputs[i]).collect();
        let computed = compute(&asked);
        KEPT.with(|k| {
            let mut kept = k.borrow_mut();
            let kept = kept.as_mut().expect("still sharing");
            for (&i, t) in missing.iter().zip(computed) {
                kept.insert((owner, inputs[i].to_vec()), t.shallow_clone());
                out[i] = Some(t);
            }
        });
    }
    out.into_iter().map(|t| t.expect("computed or kept")).collect()
}
