//! A bidirectional GRU or LSTM layer over packed sequences.

use tch::{nn, Tensor};

use super::config::RnnKind;
use super::host_gru;

#[derive(Debug)]
pub struct BiRnn {
    params: Vec<Tensor>,
    kind: RnnKind,
    hidden: i64,
}

impl BiRnn {
    /// Weights are named as in PyTorch (`weight_ih_l0`, `weight_ih_l0_reverse`, …) and
    /// initialised as PyTorch does, uniform in ±1/√hidden.
    pub fn new(p: nn::Path, input: i64, hidden: i64, kind: RnnKind) -> BiRnn {
        let gates = match kind {
            RnnKind::Gru => 3,
            RnnKind::Lstm => 4,
        } * hidden;
        let bound = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let mut params = Vec::new();
        for suffix in ["", "_reverse"] {
            params.push(p.var(&format!("weight_ih_l0{suffix}"), &[gates, input], init));
            params.push(p.var(&format!("weight_hh_l0{suffix}"), &[gates, hidden], init));
            params.push(p.var(&format!("bias_ih_l0{suffix}"), &[gates], init));
            params.push(p.var(&format!("bias_hh_l0{suffix}"), &[gates], init));
        }
        BiRnn { params, kind, hidden }
    }

    pub fn output_size(&self) -> i64 {
        2 * self.hidden
    }

    /// Runs over packed data `[N, input]` with `batch_sizes` (CPU) for a batch of `batch`
    /// sequences. Returns the packed outputs `[N, 2·hidden]` and the final states of both
    /// directions `[batch, 2·hidden]` (forward then backward).
    pub fn forward_packed(
        &self,
        data: &Tensor,
        batch_sizes: &Tensor,
        batch: i64,
        train: bool,
    ) -> (Tensor, Tensor) {
        if !train
            && self.kind == RnnKind::Gru
            && host_gru::suits(batch, self.hidden)
            && host_gru::usable(data, &self.params)
        {
            let sizes = Vec::<i64>::try_from(batch_sizes).expect("batch sizes are int64 on the CPU");
            return host_gru::bigru(data, &sizes, batch as usize, &self.params, self.hidden as usize);
        }
        let h0 = Tensor::zeros([2, batch, self.hidden], (data.kind(), data.device()));
        let (out, h) = match self.kind {
            RnnKind::Gru => Tensor::gru_data(data, batch_sizes, &h0, &self.params, true, 1, 0.0, train, true),
            RnnKind::Lstm => {
                let c0 = h0.zeros_like();
                let (out, h, _c) = Tensor::lstm_data(
                    data,
                    batch_sizes,
                    &[&h0, &c0],
                    &self.params.iter().collect::<Vec<_>>(),
                    true,
                    1,
                    0.0,
                    train,
                    true,
                );
                (out, h)
            }
        };
        let last = Tensor::cat(&[h.get(0), h.get(1)], 1);
        (out, last)
    }
}
