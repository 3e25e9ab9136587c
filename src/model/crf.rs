//! A linear-chain conditional random field over BIO tags: negative log-likelihood for
//! training, Viterbi decoding and per-token marginals for inference.

use tch::{nn, Kind, Tensor};

#[derive(Debug)]
pub struct Crf {
    pub num_tags: i64,
    /// `transitions[i][j]`: score of tag `j` following tag `i`.
    pub transitions: Tensor,
    pub start: Tensor,
    pub end: Tensor,
}

impl Crf {
    pub fn new(p: nn::Path, num_tags: i64) -> Crf {
        let init = nn::Init::Uniform { lo: -0.1, up: 0.1 };
        Crf {
            num_tags,
            transitions: p.var("transitions", &[num_tags, num_tags], init),
            start: p.var("start", &[num_tags], init),
            end: p.var("end", &[num_tags], init),
        }
    }

    /// log Z for each sentence: `emissions [B, T, K]`, `mask [B, T]` true on real tokens (a
    /// prefix of every row, at least one token).
    pub fn log_partition(&self, emissions: &Tensor, mask: &Tensor) -> Tensor {
        let t_max = emissions.size()[1];
        let mut alpha = emissions.select(1, 0) + &self.start;
        let trans = self.transitions.unsqueeze(0);
        for t in 1..t_max {
            let next =
                (alpha.unsqueeze(2) + &trans + emissions.select(1, t).unsqueeze(1)).logsumexp([1], false);
            let running = mask.select(1, t).unsqueeze(1);
            alpha = next.where_self(&running, &alpha);
        }
        (alpha + &self.end).logsumexp([1], false)
    }

    /// Score of the given tag sequences `[B, T]` (values at padding are ignored).
    pub fn sequence_score(&self, emissions: &Tensor, tags: &Tensor, mask: &Tensor) -> Tensor {
        let (b, t_max) = (emissions.size()[0], emissions.size()[1]);
        let maskf = mask.to_kind(emissions.kind());
        let emit = (emissions.gather(2, &tags.unsqueeze(2), false).squeeze_dim(2) * &maskf)
            .sum_dim_intlist(1, false, None);
        let first = tags.select(1, 0);
        let mut score = emit + self.start.index_select(0, &first);
        if t_max > 1 {
            let prev = tags.narrow(1, 0, t_max - 1);
            let next = tags.narrow(1, 1, t_max - 1);
            let flat = (prev * self.num_tags + next).view([-1]);
            let trans = self
                .transitions
                .view([-1])
                .index_select(0, &flat)
                .view([b, t_max - 1]);
            score += (trans * maskf.narrow(1, 1, t_max - 1)).sum_dim_intlist(1, false, None);
        }
        let last_pos = mask.to_kind(Kind::Int64).sum_dim_intlist(1, false, None) - 1;
        let last_tags = tags.gather(1, &last_pos.unsqueeze(1), false).squeeze_dim(1);
        score + self.end.index_select(0, &last_tags)
    }

    /// Negative log-likelihood of the gold tags, per sentence.
    pub fn nll(&self, emissions: &Tensor, tags: &Tensor, mask: &Tensor) -> Tensor {
        self.log_partition(emissions, mask) - self.sequence_score(emissions, tags, mask)
    }

    /// Per-token tag probabilities `[B, T, K]`: the gradient of log Z with respect to the
    /// emissions.
    pub fn marginals(&self, emissions: &Tensor, mask: &Tensor) -> Tensor {
        tch::with_grad(|| {
            let em = emissions.detach().set_requires_grad(true);
            let trans = Crf {
                num_tags: self.num_tags,
                transitions: self.transitions.detach(),
                start: self.start.detach(),
                end: self.end.detach(),
            };
            let log_z = trans.log_partition(&em, mask).sum(Kind::Float);
            let grads = Tensor::run_backward(&[log_z], &[&em], false, false);
            grads[0].shallow_clone()
        })
    }

    /// The parameters as plain vectors, for decoding on the CPU.
    pub fn weights(&self) -> CrfWeights {
        CrfWeights {
            k: self.num_tags as usize,
            transitions: to_vec(&self.transitions),
            start: to_vec(&self.start),
            end: to_vec(&self.end),
        }
    }
}

/// A tensor's values as a flat float vector on the host.
pub(super) fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(
        t.detach()
            .to_kind(Kind::Float)
            .to_device(tch::Device::Cpu)
            .contiguous()
            .view([-1]),
    )
    .expect("float tensor")
}

/// CRF parameters on the host.
pub struct CrfWeights {
    pub k: usize,
    pub transitions: Vec<f32>,
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

impl CrfWeights {
    /// The best tag sequence for one sentence's emissions (`len × k`, row-major).
    pub fn viterbi(&self, emissions: &[f32], len: usize) -> Vec<i64> {
        let k = self.k;
        if len == 0 {
            return Vec::new();
        }
        let mut score: Vec<f32> = (0..k).map(|j| self.start[j] + emissions[j]).collect();
        let mut back = vec![0usize; len * k];
        let mut next = vec![0f32; k];
        for t in 1..len {
            for j in 0..k {
                let mut best = f32::NEG_INFINITY;
                let mut arg = 0;
                for (i, s) in score.iter().enumerate() {
                    let v = s + self.transitions[i * k + j];
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                next[j] = best + emissions[t * k + j];
                back[t * k + j] = arg;
            }
            std::mem::swap(&mut score, &mut next);
        }
        let mut last = 0;
        let mut best = f32::NEG_INFINITY;
        for (j, (s, e)) in score.iter().zip(&self.end).enumerate() {
            if s + e > best {
                best = s + e;
                last = j;
            }
        }
        let mut path = vec![last as i64; len];
        for t in (1..len).rev() {
            path[t - 1] = back[t * k + path[t] as usize] as i64;
        }
        path
    }

    /// Per-token tag probabilities (`len × k`, row-major) for one sentence's emissions, by
    /// the forward-backward algorithm in log space (double precision). The same values as
    /// `Crf::marginals`, without a libtorch operator per token, which cost milliseconds per
    /// sentence at inference.
    pub fn marginals(&self, emissions: &[f32], len: usize) -> Vec<f32> {
        let k = self.k;
        if len == 0 {
            return Vec::new();
        }
        let em = |t: usize, j: usize| emissions[t * k + j] as f64;
        let trans = |i: usize, j: usize| self.transitions[i * k + j] as f64;
        let mut alpha = vec![0f64; len * k];
        let mut beta = vec![0f64; len * k];
        let mut terms = vec![0f64; k];
        for j in 0..k {
            alpha[j] = self.start[j] as f64 + em(0, j);
            beta[(len - 1) * k + j] = self.end[j] as f64;
        }
        for t in 1..len {
            for j in 0..k {
                for (i, v) in terms.iter_mut().enumerate() {
                    *v = alpha[(t - 1) * k + i] + trans(i, j);
                }
                alpha[t * k + j] = log_sum_exp(&terms) + em(t, j);
            }
        }
        for t in (0..len - 1).rev() {
            for i in 0..k {
                for (j, v) in terms.iter_mut().enumerate() {
                    *v = trans(i, j) + em(t + 1, j) + beta[(t + 1) * k + j];
                }
                beta[t * k + i] = log_sum_exp(&terms);
            }
        }
        for (j, v) in terms.iter_mut().enumerate() {
            *v = alpha[(len - 1) * k + j] + self.end[j] as f64;
        }
        let log_z = log_sum_exp(&terms);
        alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a + b - log_z).exp() as f32)
            .collect()
    }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}
