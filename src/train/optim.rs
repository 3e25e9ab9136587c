//! Adam and Nesterov Adam over the trainable variables of a VarStore, with gradient clipping.
//! libtorch has no NAdam for tch, and owning both keeps their arithmetic side by side.

use tch::{nn::VarStore, Kind, Tensor};

use crate::model::config::Optimizer as Kind_;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;
/// NAdam's momentum decay ψ (Dozat 2016; Keras' `schedule_decay`).
pub const MOMENTUM_DECAY: f64 = 0.004;

pub struct Optimizer {
    kind: Kind_,
    lr: f64,
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: i64,
    /// NAdam: product of the momentum schedule μ_1 … μ_t.
    mu_product: f64,
}

/// μ_t of NAdam's momentum schedule.
pub fn nadam_mu(t: i64) -> f64 {
    BETA1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * MOMENTUM_DECAY))
}

impl Optimizer {
    pub fn new(vs: &VarStore, kind: Kind_, lr: f64) -> Optimizer {
        let params = vs.trainable_variables();
        let zeros = |p: &Tensor| p.zeros_like().to_kind(Kind::Float);
        Optimizer {
            kind,
            lr,
            m: params.iter().map(zeros).collect(),
            v: params.iter().map(zeros).collect(),
            params,
            step: 0,
            mu_product: 1.0,
        }
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Scales gradients so their global norm is at most `max_norm`; returns the norm before.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norm = Tensor::stack(
            &grads
                .iter()
                .map(|g| g.norm().to_kind(Kind::Float))
                .collect::<Vec<_>>(),
            0,
        )
        .norm()
        .double_value(&[]);
        if norm.is_finite() && norm > max_norm {
            let scale = max_norm / (norm + 1e-6);
            tch::no_grad(|| {
                for mut g in grads {
                    let _ = g.g_mul_scalar_(scale);
                }
            });
        }
        norm
    }

    /// One update with the current gradients.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step;
        let bc2 = 1.0 - BETA2.powi(t as i32);
        let (mu_t, mu_next) = (nadam_mu(t), nadam_mu(t + 1));
        if self.kind == Kind_::Nadam {
            self.mu_product *= mu_t;
        }
        let mu_product = self.mu_product;
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = g.to_kind(Kind::Float);
                let _ = m.g_mul_scalar_(BETA1).g_add_(&(&g * (1.0 - BETA1)));
                let _ = v.g_mul_scalar_(BETA2).g_add_(&(&g * &g * (1.0 - BETA2)));
                let denom = (&*v / bc2).sqrt() + EPS;
                let update = match self.kind {
                    Kind_::Adam => {
                        let bc1 = 1.0 - BETA1.powi(t as i32);
                        &*m / &denom * (self.lr / bc1)
                    }
                    Kind_::Nadam => {
                        let from_grad = &g / &denom * (self.lr * (1.0 - mu_t) / (1.0 - mu_product));
                        let from_momentum = &*m / &denom * (self.lr * mu_next / (1.0 - mu_product * mu_next));
                        from_grad + from_momentum
                    }
                };
                let _ = p.g_sub_(&update.to_kind(p.kind()));
            }
        });
    }

    pub fn learning_rate(&self) -> f64 {
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    /// One step on `p` with a fixed gradient, compared with the published update rule
    /// computed by hand in f64.
    fn one_step(kind: Kind_, steps: usize) -> (Vec<f64>, Vec<f64>) {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var("p", &[3], nn::Init::Const(0.0));
        tch::no_grad(|| p.shallow_clone().copy_(&Tensor::from_slice(&[1.0f32, -2.0, 0.5])));
        let grads = [[0.3f32, -0.1, 2.0], [-0.2, 0.4, 1.0]];
        let mut opt = Optimizer::new(&vs, kind, 0.01);
        let mut theta = [1.0f64, -2.0, 0.5];
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        let mut mu_prod = 1.0;
        for (t, g) in grads.iter().enumerate().take(steps) {
            opt.zero_grad();
            let target = Tensor::from_slice(g);
            let loss = (&p * &target).sum(Kind::Float); // d loss / d p = g
            loss.backward();
            opt.step();
            let t = t as i32 + 1;
            for i in 0..3 {
                let gi = g[i] as f64;
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * gi;
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * gi * gi;
                let vhat = v[i] / (1.0 - BETA2.powi(t));
                match kind {
                    Kind_::Adam => {
                        let mhat = m[i] / (1.0 - BETA1.powi(t));
                        theta[i] -= 0.01 * mhat / (vhat.sqrt() + EPS);
                    }
                    Kind_::Nadam => {
                        // Dozat (2016), Algorithm 2, with the momentum schedule of Keras.
                        let mu_t = BETA1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * 0.004));
                        let mu_next = BETA1 * (1.0 - 0.5 * 0.96f64.powf((t + 1) as f64 * 0.004));
                        if i == 0 {
                            mu_prod *= mu_t;
                        }
                        let g_hat = gi / (1.0 - mu_prod);
                        let m_hat = m[i] / (1.0 - mu_prod * mu_next);
                        let m_bar = (1.0 - mu_t) * g_hat + mu_next * m_hat;
                        theta[i] -= 0.01 * m_bar / (vhat.sqrt() + EPS);
                    }
                }
            }
        }
        let got = Vec::<f32>::try_from(&p)
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        (got, theta.to_vec())
    }

    #[test]
    fn adam_and_nadam_follow_their_update_rules() {
        for kind in [Kind_::Adam, Kind_::Nadam] {
            for steps in [1, 2] {
                let (got, want) = one_step(kind, steps);
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-6,
                        "{kind:?} after {steps} steps: {got:?} vs {want:?}"
                    );
                }
            }
        }
        // The two differ: NAdam looks ahead.
        assert_ne!(one_step(Kind_::Adam, 1).0, one_step(Kind_::Nadam, 1).0);
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var("p", &[2], nn::Init::Const(1.0));
        let mut opt = Optimizer::new(&vs, Kind_::Adam, 0.01);
        (&p * Tensor::from_slice(&[30.0f32, 40.0]))
            .sum(Kind::Float)
            .backward();
        let before = opt.clip_grad_norm(5.0);
        assert!((before - 50.0).abs() < 1e-4);
        let g = Vec::<f32>::try_from(p.grad()).unwrap();
        assert!((g[0] - 3.0).abs() < 1e-3 && (g[1] - 4.0).abs() < 1e-3, "{g:?}");
    }
}
