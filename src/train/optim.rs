//! Adam and Nesterov Adam over the trainable variables of a VarStore, with gradient clipping.
//! libtorch has no NAdam for tch, and owning both keeps their arithmetic side by side.

use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::model::config::Optimizer as Kind_;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;
/// NAdam's momentum decay ψ (Dozat 2016; Keras' `schedule_decay`).
pub const MOMENTUM_DECAY: f64 = 0.004;

pub struct Optimizer {
    kind: Kind_,
    lr: f64,
    /// The VarStore's trainable variables, made views of `flat` by `new`.
    params: Vec<Tensor>,
    /// Every trainable parameter end to end, so that an update is a handful of operators on
    /// one tensor, not a dozen per parameter (about 600 small kernels per step on a GPU for
    /// the conll04 preset's 40 parameters).
    flat: Tensor,
    m: Tensor,
    v: Tensor,
    /// This step's gradient end to end (after clipping, once `clip_grad_norm` ran).
    grad: Tensor,
    gathered: bool,
    /// Room for the update's intermediate values, kept from step to step: fresh tensors of
    /// this size each step cost more than the arithmetic on the CPU (new pages, measured).
    scratch: [Tensor; 3],
    step: i64,
    /// NAdam: product of the momentum schedule μ_1 … μ_t.
    mu_product: f64,
}

/// μ_t of NAdam's momentum schedule.
pub fn nadam_mu(t: i64) -> f64 {
    BETA1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * MOMENTUM_DECAY))
}

impl Optimizer {
    /// Takes over the trainable variables of `vs`: their values move into one tensor, of
    /// which each variable becomes a view (the VarStore sees the same values as before).
    pub fn new(vs: &VarStore, kind: Kind_, lr: f64) -> Optimizer {
        Optimizer::over(vs.trainable_variables(), vs.device(), kind, lr)
    }

    /// Takes over the trainable variables of `vs` whose names start with `prefix` (`within`
    /// true) or do not (false): a fine-tuned encoder's weights and the rest of the model each
    /// get an optimizer of their own, with their own learning rate.
    pub fn for_part(vs: &VarStore, prefix: &str, within: bool, kind: Kind_, lr: f64) -> Optimizer {
        let mut named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(n, t)| t.requires_grad() && n.starts_with(prefix) == within)
            .collect();
        // The store's map has no order; the flat tensor's layout should not change from run
        // to run.
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let params = named.into_iter().map(|(_, t)| t).collect();
        Optimizer::over(params, vs.device(), kind, lr)
    }

    /// Sets the learning rate of the steps to come (a schedule's).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Parameters it updates.
    pub fn num_parameters(&self) -> i64 {
        self.flat.numel() as i64
    }

    fn over(mut params: Vec<Tensor>, device: Device, kind: Kind_, lr: f64) -> Optimizer {
        let flat = if params.is_empty() {
            Tensor::zeros([0], (Kind::Float, device))
        } else {
            Tensor::cat(
                &params
                    .iter()
                    .map(|p| p.detach().to_kind(Kind::Float).reshape([-1]))
                    .collect::<Vec<_>>(),
                0,
            )
        };
        let mut offset = 0;
        for p in params.iter_mut() {
            let n = p.numel() as i64;
            let view = flat.narrow(0, offset, n).view(p.size().as_slice());
            tch::no_grad(|| p.set_data(&view));
            offset += n;
        }
        Optimizer {
            kind,
            lr,
            m: flat.zeros_like(),
            v: flat.zeros_like(),
            grad: flat.zeros_like(),
            gathered: false,
            scratch: [flat.zeros_like(), flat.zeros_like(), flat.zeros_like()],
            flat,
            params,
            step: 0,
            mu_product: 1.0,
        }
    }

    pub fn zero_grad(&mut self) {
        self.gathered = false;
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Copies the variables' gradients into `grad`, end to end; zeros for a variable no loss
    /// has reached yet (its moments then stay zero and it does not move, as if skipped).
    fn gather_gradient(&mut self) {
        if self.gathered || self.params.is_empty() {
            return;
        }
        let parts: Vec<Tensor> = self
            .params
            .iter()
            .map(|p| {
                let g = p.grad();
                if g.defined() {
                    g.to_kind(Kind::Float).reshape([-1])
                } else {
                    Tensor::zeros([p.numel() as i64], (Kind::Float, p.device()))
                }
            })
            .collect();
        let _ = Tensor::cat_out(&self.grad, &parts, 0);
        self.gathered = true;
    }

    /// Scales this step's gradient so its global norm is at most `max_norm`; returns the norm
    /// before, as a scalar tensor on the model's device. Nothing is read back to the host
    /// (the scale is clamped on the device), so a GPU step does not wait here.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Tensor {
        self.gather_gradient();
        let norm = self.grad.norm();
        let scale = (max_norm / (&norm + 1e-6)).clamp_max(1.0);
        tch::no_grad(|| {
            let _ = self.grad.g_mul_(&scale);
        });
        norm
    }

    /// One update with this step's gradient (clipped if `clip_grad_norm` ran): one pass on
    /// the host for a model on the CPU, libtorch operators on the flat tensors elsewhere.
    pub fn step(&mut self) {
        self.step_with(self.flat.device() == Device::Cpu);
    }

    fn step_with(&mut self, on_host: bool) {
        self.gather_gradient();
        self.gathered = false;
        self.step += 1;
        let t = self.step;
        let bc2 = 1.0 - BETA2.powi(t as i32);
        let (mu_t, mu_next) = (nadam_mu(t), nadam_mu(t + 1));
        if self.kind == Kind_::Nadam {
            self.mu_product *= mu_t;
        }
        let mu_product = self.mu_product;
        let rule = match self.kind {
            Kind_::Adam => Rule::Adam {
                step: self.lr / (1.0 - BETA1.powi(t as i32)),
            },
            Kind_::Nadam => Rule::Nadam {
                from_grad: self.lr * (1.0 - mu_t) / (1.0 - mu_product),
                from_momentum: self.lr * mu_next / (1.0 - mu_product * mu_next),
            },
        };
        if on_host {
            self.step_on_host(bc2, rule);
            return;
        }
        let g = &self.grad;
        let [a, denom, c] = &mut self.scratch;
        tch::no_grad(|| {
            // m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
            let _ = g.mul_scalar_out(a, 1.0 - BETA1);
            let _ = self.m.g_mul_scalar_(BETA1).g_add_(a);
            let _ = g.mul_out(a, g);
            let _ = a.g_mul_scalar_(1.0 - BETA2);
            let _ = self.v.g_mul_scalar_(BETA2).g_add_(a);
            // denom = √(v / (1 − β2^t)) + ε
            let _ = self.v.div_scalar_out(denom, bc2);
            let _ = denom.sqrt_();
            let _ = denom.g_add_scalar_(EPS);
            match rule {
                Rule::Adam { step } => {
                    let _ = self.m.div_out(a, denom);
                    let _ = a.g_mul_scalar_(step);
                }
                Rule::Nadam {
                    from_grad,
                    from_momentum,
                } => {
                    let _ = g.div_out(a, denom);
                    let _ = a.g_mul_scalar_(from_grad);
                    let _ = self.m.div_out(c, denom);
                    let _ = c.g_mul_scalar_(from_momentum);
                    let _ = a.g_add_(c);
                }
            }
            let _ = self.flat.g_sub_(a);
        });
    }

    /// The same update in one pass over the four tensors on the CPU, half on each of two
    /// threads: libtorch's dozen operators each stream the 20 MB of a preset's parameters
    /// through memory again (CoNLL04 preset, measured per step: 24 ms with the operators
    /// per parameter, 30 ms on the flat tensors, 9 ms for this pass).
    fn step_on_host(&mut self, bc2: f64, rule: Rule) {
        let n = self.flat.numel();
        if n == 0 {
            return;
        }
        // SAFETY: `flat`, `grad`, `m` and `v` are four distinct contiguous float32 CPU tensors
        // of `n` elements that this optimizer made and owns; the variables that view `flat`
        // are not used while the step runs.
        let (p, g, m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.flat.data_ptr() as *mut f32, n),
                std::slice::from_raw_parts(self.grad.data_ptr() as *const f32, n),
                std::slice::from_raw_parts_mut(self.m.data_ptr() as *mut f32, n),
                std::slice::from_raw_parts_mut(self.v.data_ptr() as *mut f32, n),
            )
        };
        let half = n / 2;
        let (p1, p2) = p.split_at_mut(half);
        let (g1, g2) = g.split_at(half);
        let (m1, m2) = m.split_at_mut(half);
        let (v1, v2) = v.split_at_mut(half);
        crate::omp::both(
            &mut || update(p1, g1, m1, v1, bc2, rule),
            &mut || update(p2, g2, m2, v2, bc2, rule),
            n >= 1 << 16,
        );
    }

    pub fn learning_rate(&self) -> f64 {
        self.lr
    }
}

/// The step sizes of one update.
#[derive(Clone, Copy)]
enum Rule {
    Adam { step: f64 },
    Nadam { from_grad: f64, from_momentum: f64 },
}

/// Adam / NAdam on slices, in the order and float32 precision of the libtorch path:
/// `m = β1·m + (1 − β1)·g`, `v = β2·v + (1 − β2)·g²`, `d = √(v / bc2) + ε`, then
/// `p −= m/d·step` (Adam) or `p −= g/d·a + m/d·b` (NAdam).
fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], bc2: f64, rule: Rule) {
    let (b1, b1c) = (BETA1 as f32, (1.0 - BETA1) as f32);
    let (b2, b2c) = (BETA2 as f32, (1.0 - BETA2) as f32);
    let (bc2, eps) = (bc2 as f32, EPS as f32);
    match rule {
        Rule::Adam { step } => {
            let step = step as f32;
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = *m * b1 + g * b1c;
                *v = *v * b2 + g * g * b2c;
                let d = (*v / bc2).sqrt() + eps;
                *p -= *m / d * step;
            }
        }
        Rule::Nadam {
            from_grad,
            from_momentum,
        } => {
            let (a, b) = (from_grad as f32, from_momentum as f32);
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = *m * b1 + g * b1c;
                *v = *v * b2 + g * g * b2c;
                let d = (*v / bc2).sqrt() + eps;
                *p -= g / d * a + *m / d * b;
            }
        }
    }
}

/// A learning rate that rises linearly from 0 to `peak` over the first `warmup` share of
/// `total` steps, then falls linearly to 0 at the last step (as BERT is fine-tuned). `step`
/// counts from 1.
pub fn warmup_then_decay(step: usize, total: usize, warmup: f64, peak: f64) -> f64 {
    let total = total.max(1) as f64;
    let rise = (warmup * total).ceil().max(1.0);
    let t = step as f64;
    if t <= rise {
        return peak * t / rise;
    }
    peak * ((total - t) / (total - rise).max(1.0)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn the_schedule_warms_up_then_decays_to_zero() {
        let lr = |t| warmup_then_decay(t, 100, 0.1, 2e-5);
        assert!((lr(5) - 1e-5).abs() < 1e-12);
        assert!((lr(10) - 2e-5).abs() < 1e-12, "the peak at the end of warm-up");
        assert!((lr(55) - 1e-5).abs() < 1e-12, "half-way down");
        assert_eq!(lr(100), 0.0);
        assert!(lr(1) > 0.0, "the first step learns");
        assert!((1..100).all(|t| lr(t + 1) <= lr(t) || t < 10));
    }

    /// The encoder's part and the rest are disjoint and together all that trains.
    #[test]
    fn parts_of_a_store_get_optimizers_of_their_own() {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let enc = root.var("encoder_w", &[4], nn::Init::Const(1.0));
        let head = root.var("head", &[3], nn::Init::Const(1.0));
        let _frozen = (&root / "encoder_x").zeros_no_train("f", &[5]);
        let mut e = Optimizer::for_part(&vs, "encoder", true, Kind_::Adam, 0.1);
        let mut h = Optimizer::for_part(&vs, "encoder", false, Kind_::Adam, 0.0);
        assert_eq!((e.num_parameters(), h.num_parameters()), (4, 3));
        let loss = enc.sum(Kind::Float) + head.sum(Kind::Float);
        e.zero_grad();
        h.zero_grad();
        loss.backward();
        e.step();
        h.set_lr(0.0);
        h.step();
        assert!(enc.double_value(&[0]) < 1.0, "the encoder moved at its rate");
        assert_eq!(head.double_value(&[0]), 1.0, "the rest at rate 0 did not");
    }

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
    fn the_host_pass_and_the_libtorch_operators_make_the_same_update() {
        for kind in [Kind_::Adam, Kind_::Nadam] {
            let mut after = Vec::new();
            for on_host in [true, false] {
                let vs = nn::VarStore::new(Device::Cpu);
                // Two variables and more elements than one thread's share, so the split shows.
                // Drawn under the generator's lock: other tests run at once and draw too.
                let (a, b) = crate::model::random::seeded(11, || {
                    (
                        vs.root().randn("a", &[300, 301], 0.0, 1.0),
                        vs.root().randn("b", &[7], 0.0, 1.0),
                    )
                });
                let mut opt = Optimizer::new(&vs, kind, 0.01);
                for step in 0..3 {
                    opt.zero_grad();
                    let loss = (&a * &a).sum(Kind::Float) * (step as f64 + 1.0) + (&b * 3.0).sum(Kind::Float);
                    loss.backward();
                    let _ = opt.clip_grad_norm(1e9);
                    opt.step_with(on_host);
                }
                let a = Vec::<f32>::try_from(a.reshape([-1])).unwrap();
                let b = Vec::<f32>::try_from(&b).unwrap();
                after.push((a, b));
            }
            let (host, torch) = (&after[0], &after[1]);
            for (x, y) in host.0.iter().zip(&torch.0).chain(host.1.iter().zip(&torch.1)) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + x.abs()), "{kind:?}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root().var("p", &[2], nn::Init::Const(1.0));
        let mut opt = Optimizer::new(&vs, Kind_::Adam, 0.01);
        (&p * Tensor::from_slice(&[30.0f32, 40.0]))
            .sum(Kind::Float)
            .backward();
        let before = opt.clip_grad_norm(5.0).double_value(&[]);
        assert!((before - 50.0).abs() < 1e-4);
        let g = Vec::<f32>::try_from(&opt.grad).unwrap();
        assert!((g[0] - 3.0).abs() < 1e-3 && (g[1] - 4.0).abs() < 1e-3, "{g:?}");
        // Under the limit, the gradient is left exactly as it is.
        opt.zero_grad();
        (&p * Tensor::from_slice(&[0.3f32, 0.4]))
            .sum(Kind::Float)
            .backward();
        assert!((opt.clip_grad_norm(5.0).double_value(&[]) - 0.5).abs() < 1e-6);
        let g = Vec::<f32>::try_from(&opt.grad).unwrap();
        assert_eq!(g, [0.3, 0.4]);
    }
}
