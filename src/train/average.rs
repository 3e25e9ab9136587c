//! An exponential moving average of the trainable weights (Polyak averaging). Dev F1 moves by
//! a few points from one epoch to the next with the paper's constant learning rate; scoring
//! and keeping the average instead of the last step's weights smooths that out.

use tch::{nn::VarStore, Tensor};

/// The running average of every trainable weight of a VarStore.
pub struct WeightAverage {
    /// Each trainable weight (sharing its storage) beside its average.
    pairs: Vec<(Tensor, Tensor)>,
    /// The decay once warmed up: 1 − 1 / horizon in steps.
    decay: f64,
    updates: usize,
}

impl WeightAverage {
    /// Averages over about `horizon_steps` optimizer steps.
    pub fn new(vs: &VarStore, horizon_steps: f64) -> WeightAverage {
        let pairs = vs
            .trainable_variables()
            .into_iter()
            .map(|w| {
                let avg = w.detach().copy();
                (w, avg)
            })
            .collect();
        WeightAverage {
            pairs,
            decay: 1.0 - 1.0 / horizon_steps.max(1.0),
            updates: 0,
        }
    }

    /// This update's decay: smaller at first, so that the random initial weights are soon
    /// forgotten (as TensorFlow's ExponentialMovingAverage with `num_updates` does). After t
    /// steps the average spans about t / 9 of them, so the full horizon is reached only after
    /// about nine horizons of training (what the measured runs used; docs/RESULTS.md).
    fn decay_now(&self) -> f64 {
        let t = self.updates as f64;
        self.decay.min((1.0 + t) / (10.0 + t))
    }

    /// Takes the weights after an optimizer step into the average.
    pub fn update(&mut self) {
        let keep = self.decay_now();
        tch::no_grad(|| {
            for (w, avg) in &mut self.pairs {
                let _ = avg.lerp_(w, 1.0 - keep);
            }
        });
        self.updates += 1;
    }

    /// Runs `f` with the averaged weights in place of the trained ones, then puts the trained
    /// ones back (training goes on from them, not from the average).
    pub fn with_averaged<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let trained: Vec<Tensor> = self.pairs.iter().map(|(w, _)| w.detach().copy()).collect();
        self.swap_in(|avg| avg.shallow_clone());
        let out = f();
        let mut trained = trained.into_iter();
        self.swap_in(|_| trained.next().expect("one per weight"));
        out
    }

    /// Leaves the averaged weights in place (the end of a run without a dev set).
    pub fn keep_averaged(&mut self) {
        self.swap_in(|avg| avg.shallow_clone());
    }

    fn swap_in(&mut self, mut source: impl FnMut(&Tensor) -> Tensor) {
        tch::no_grad(|| {
            for (w, avg) in &mut self.pairs {
                w.copy_(&source(avg));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    fn one_weight(value: f64) -> (VarStore, Tensor) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(value));
        (vs, w)
    }

    fn set(w: &Tensor, value: f64) {
        tch::no_grad(|| {
            let _ = w.shallow_clone().fill_(value);
        });
    }

    #[test]
    fn the_average_follows_the_closed_form_and_training_resumes_from_the_trained_weights() {
        let (vs, w) = one_weight(0.0);
        let mut avg = WeightAverage::new(&vs, 4.0);
        let mut expected = 0.0;
        for (t, value) in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into_iter().enumerate() {
            set(&w, value);
            avg.update();
            // Warm-up decay (1 + t) / (10 + t) until it reaches 1 − 1/4.
            let keep = f64::min(0.75, (1.0 + t as f64) / (10.0 + t as f64));
            expected = keep * expected + (1.0 - keep) * value;
        }
        let seen = avg.with_averaged(|| w.double_value(&[0]));
        assert!(
            (seen - expected).abs() < 1e-6,
            "averaged {seen}, expected {expected}"
        );
        assert_eq!(w.double_value(&[0]), 6.0, "the trained weight is back");
        avg.keep_averaged();
        assert!((w.double_value(&[0]) - expected).abs() < 1e-6);
    }

    #[test]
    fn weights_outside_training_are_left_alone() {
        let (vs, w) = one_weight(1.0);
        let frozen = vs.root().zeros_no_train("frozen", &[1]);
        let mut avg = WeightAverage::new(&vs, 4.0);
        assert_eq!(avg.pairs.len(), 1, "only the trainable weight");
        set(&w, 3.0);
        avg.update();
        avg.keep_averaged();
        assert_eq!(frozen.double_value(&[0]), 0.0);
    }
}
