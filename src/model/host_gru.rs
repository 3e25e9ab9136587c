//! The bidirectional GRU recurrence run on the host, for inference on the CPU.
//!
//! libtorch runs a packed GRU one time step at a time with a dozen small operators per step
//! and direction; for the few sentences of live extraction their dispatch costs far more
//! than the arithmetic (measured: 10 of the 24 ms of one 30-token sentence went to the four
//! BiGRU layers). Here the input projection stays one libtorch matrix product per direction,
//! and the recurrence runs in plain Rust over the weights where they lie, the two directions
//! side by side on libtorch's own OpenMP threads.

use tch::{Device, Kind, Tensor};

/// Whether the host recurrence is the faster one for `batch` sequences: libtorch's packed
/// GRU catches up once there are enough rows per step to fill its matrix products (the model
/// on cached features of CoNLL04 dev, conll04 preset's 256 units, sentences/s host against
/// libtorch: 279 / 120 one at a time, 449 / 370 at 16, 486 / 430 at 32, 455 / 459 at 64).
pub fn suits(batch: i64, hidden: i64) -> bool {
    batch * 3 * hidden * hidden <= 32 * 3 * 256 * 256
}

/// Whether `bigru` can run these tensors: float32 on the CPU, contiguous.
pub fn usable(data: &Tensor, params: &[Tensor]) -> bool {
    std::iter::once(data)
        .chain(params)
        .all(|t| t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous())
}

/// The elements of a contiguous float32 CPU tensor, borrowed.
fn floats(t: &Tensor) -> &[f32] {
    debug_assert!(t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous());
    let n = t.numel();
    if n == 0 {
        return &[];
    }
    // SAFETY: the tensor is contiguous float32 on the CPU (checked by `usable`), so its
    // storage holds `n` f32 values from `data_ptr`; the borrow of `t` keeps it alive and
    // nothing writes to it while inference runs.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, n) }
}

/// One direction's part of a packed batch: time steps with how many sequences run at each
/// and where their rows start in the packed data.
struct Steps<'a> {
    sizes: &'a [i64],
    offsets: &'a [usize],
    batch: usize,
}

/// A bidirectional GRU over packed data `[N, input]` with PyTorch's weight layout
/// (`params` as `BiRnn` holds them: w_ih, w_hh, b_ih, b_hh, then the reverse direction),
/// the same as `Tensor::gru_data` at inference. Returns the packed outputs `[N, 2·hidden]`
/// and the final states `[batch, 2·hidden]` (forward then backward).
pub fn bigru(
    data: &Tensor,
    batch_sizes: &[i64],
    batch: usize,
    params: &[Tensor],
    hidden: usize,
) -> (Tensor, Tensor) {
    let n = data.size()[0] as usize;
    let mut offsets = Vec::with_capacity(batch_sizes.len());
    let mut total = 0usize;
    for &s in batch_sizes {
        offsets.push(total);
        total += s as usize;
    }
    debug_assert_eq!(total, n);
    let steps = Steps {
        sizes: batch_sizes,
        offsets: &offsets,
        batch,
    };
    // One matrix product per direction for every time step's input at once.
    let projected: Vec<Tensor> = [0, 4]
        .iter()
        .map(|&d| params[d + 2].addmm(data, &params[d].tr()).contiguous())
        .collect();
    let mut outs = [vec![0f32; n * hidden], vec![0f32; n * hidden]];
    let mut lasts = [vec![0f32; batch * hidden], vec![0f32; batch * hidden]];
    // The two directions on libtorch's own OpenMP team: threads of our own were slower,
    // because the team's workers spin on the second core after every libtorch operator
    // (measured), where a parallel region of the team's hands them the work.
    let [out_f, out_b] = &mut outs;
    let [last_f, last_b] = &mut lasts;
    let (proj_f, proj_b) = (floats(&projected[0]), floats(&projected[1]));
    let (w_f, w_b) = (floats(&params[1]), floats(&params[5]));
    let (b_f, b_b) = (floats(&params[3]), floats(&params[7]));
    let steps = &steps;
    crate::omp::both(
        &mut || recur(proj_f, w_f, b_f, steps, hidden, false, out_f, last_f),
        &mut || recur(proj_b, w_b, b_b, steps, hidden, true, out_b, last_b),
        n * hidden >= 4096,
    );
    let join = |a: &[f32], b: &[f32], rows: usize| {
        let mut v = Vec::with_capacity(rows * 2 * hidden);
        for r in 0..rows {
            v.extend_from_slice(&a[r * hidden..(r + 1) * hidden]);
            v.extend_from_slice(&b[r * hidden..(r + 1) * hidden]);
        }
        Tensor::from_slice(&v).view([rows as i64, 2 * hidden as i64])
    };
    (join(&outs[0], &outs[1], n), join(&lasts[0], &lasts[1], batch))
}

/// One direction: `projected` `[N, 3H]` is `W_ih x + b_ih` per packed row; writes the
/// states `[N, H]` and the last state of each sequence `[batch, H]`.
#[allow(clippy::too_many_arguments)]
fn recur(
    projected: &[f32],
    w_hh: &[f32],
    b_hh: &[f32],
    steps: &Steps,
    h: usize,
    reverse: bool,
    out: &mut [f32],
    last: &mut [f32],
) {
    let g3 = 3 * h;
    // Sequences are sorted longest first, so those running at step t are rows 0..sizes[t]; a
    // sequence that has not started yet (backwards) still holds its zero initial state.
    let mut state = vec![0f32; steps.batch * h];
    let mut hidden_part = vec![0f32; steps.batch * g3];
    let t_max = steps.sizes.len();
    for i in 0..t_max {
        let t = if reverse { t_max - 1 - i } else { i };
        let running = steps.sizes[t] as usize;
        let off = steps.offsets[t];
        kernels::matvecs(
            w_hh,
            b_hh,
            &state[..running * h],
            &mut hidden_part[..running * g3],
            h,
        );
        for k in 0..running {
            let x = &projected[(off + k) * g3..(off + k + 1) * g3];
            let g = &hidden_part[k * g3..(k + 1) * g3];
            let s = &mut state[k * h..(k + 1) * h];
            kernels::gates(x, g, s);
            out[(off + k) * h..(off + k + 1) * h].copy_from_slice(s);
        }
    }
    last.copy_from_slice(&state);
}

mod kernels {
    //! The arithmetic, written over fixed-width lanes so the compiler vectorises it; on x86-64
    //! compiled a second time for AVX2 and chosen at run time.

    const LANES: usize = 32;

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let mut tail = 0f32;
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            tail += x * y;
        }
        for (x, y) in ca.zip(cb) {
            let x: &[f32; LANES] = x.try_into().expect("chunk");
            let y: &[f32; LANES] = y.try_into().expect("chunk");
            for l in 0..LANES {
                acc[l] += x[l] * y[l];
            }
        }
        acc.iter().sum::<f32>() + tail
    }

    /// `out[k] = W h[k] + b` for each state row `h[k]` (`W` is `[3H, H]` row-major).
    #[inline(always)]
    fn matvecs_impl(w: &[f32], b: &[f32], states: &[f32], out: &mut [f32], h: usize) {
        let g3 = b.len();
        let rows = states.len() / h;
        for (j, (wr, &bj)) in w.chunks_exact(h).zip(b).enumerate() {
            for k in 0..rows {
                out[k * g3 + j] = dot(wr, &states[k * h..(k + 1) * h]) + bj;
            }
        }
    }

    /// `e^x` to about one unit in the last place (Cephes' expf), branch-free so that it
    /// vectorises; the argument is clamped to where float32 neither overflows nor goes
    /// subnormal.
    #[inline(always)]
    #[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
    fn exp(x: f32) -> f32 {
        let x = x.clamp(-87.0, 88.0);
        let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
        let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
        let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
            + 1.666_666_5e-1)
            * r
            + 5.000_000_1e-1)
            * r
            * r
            + r
            + 1.0;
        p * f32::from_bits(((n as i32 + 127) as u32) << 23)
    }

    #[inline(always)]
    fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + exp(-x))
    }

    #[inline(always)]
    fn tanh(x: f32) -> f32 {
        2.0 / (1.0 + exp(-2.0 * x)) - 1.0
    }

    /// PyTorch's GRU cell on one state row, gates in the order r, z, n:
    /// `r = σ(x_r + g_r)`, `z = σ(x_z + g_z)`, `n = tanh(x_n + r·g_n)`, `h' = n + z·(h − n)`.
    #[inline(always)]
    fn gates_impl(x: &[f32], g: &[f32], state: &mut [f32]) {
        let h = state.len();
        let (xr, rest) = x.split_at(h);
        let (xz, xn) = rest.split_at(h);
        let (gr, rest) = g.split_at(h);
        let (gz, gn) = rest.split_at(h);
        for j in 0..h {
            let r = sigmoid(xr[j] + gr[j]);
            let z = sigmoid(xz[j] + gz[j]);
            let n = tanh(xn[j] + r * gn[j]);
            state[j] = n + z * (state[j] - n);
        }
    }

    /// `matvecs_impl` with AVX2 intrinsics: eight rows of `W` against one state at a time, so
    /// eight independent chains of fused multiply-adds keep the units busy, and one
    /// horizontal sum per output.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn matvecs_avx2(w: &[f32], b: &[f32], states: &[f32], out: &mut [f32], h: usize) {
        use std::arch::x86_64::*;
        if !h.is_multiple_of(8) {
            return matvecs_impl(w, b, states, out, h);
        }
        let g3 = b.len();
        let rows = states.len() / h;
        #[inline(always)]
        unsafe fn hsum(v: __m256) -> f32 {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
        }
        // Eight rows of W at a time (8·H floats, in the first-level cache) against every
        // state, so W is read from memory once per step whatever the batch.
        let mut j = 0;
        while j + 8 <= g3 {
            let base = w[j * h..(j + 8) * h].as_ptr();
            for k in 0..rows {
                let x = states[k * h..(k + 1) * h].as_ptr();
                let mut acc = [_mm256_setzero_ps(); 8];
                let mut i = 0;
                while i < h {
                    let xv = _mm256_loadu_ps(x.add(i));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_loadu_ps(base.add(r * h + i)), xv, *a);
                    }
                    i += 8;
                }
                for (r, a) in acc.iter().enumerate() {
                    out[k * g3 + j + r] = hsum(*a) + b[j + r];
                }
            }
            j += 8;
        }
        for jj in j..g3 {
            for k in 0..rows {
                out[k * g3 + jj] = dot(&w[jj * h..(jj + 1) * h], &states[k * h..(k + 1) * h]) + b[jj];
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gates_avx2(x: &[f32], g: &[f32], state: &mut [f32]) {
        gates_impl(x, g, state)
    }

    fn avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    pub fn matvecs(w: &[f32], b: &[f32], states: &[f32], out: &mut [f32], h: usize) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { matvecs_avx2(w, b, states, out, h) };
        }
        matvecs_impl(w, b, states, out, h)
    }

    pub fn gates(x: &[f32], g: &[f32], state: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: as above.
            return unsafe { gates_avx2(x, g, state) };
        }
        gates_impl(x, g, state)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn exp_sigmoid_and_tanh_are_close_to_the_library_ones() {
            for i in -2000..=2000 {
                let x = i as f32 * 0.05;
                let e = super::exp(x);
                let want = x.clamp(-87.0, 88.0).exp();
                assert!(((e - want) / want).abs() < 2e-7, "exp({x}) = {e}, want {want}");
                assert!(
                    (super::sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-7,
                    "sigmoid({x})"
                );
                assert!((super::tanh(x) - x.tanh()).abs() < 2e-7, "tanh({x})");
            }
            assert!(super::sigmoid(-1e9) < 1e-30);
            assert_eq!(super::tanh(1e9), 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use tch::{Kind, Tensor};

    /// Random weights for a bidirectional GRU layer in `BiRnn`'s order, uniform in
    /// ±1/√hidden as `BiRnn` initialises them.
    fn params(input: i64, hidden: i64) -> Vec<Tensor> {
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform =
            |shape: &[i64]| (Tensor::rand(shape, (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0) * bound;
        let mut p = Vec::new();
        for _ in 0..2 {
            p.push(uniform(&[3 * hidden, input]));
            p.push(uniform(&[3 * hidden, hidden]));
            p.push(uniform(&[3 * hidden]));
            p.push(uniform(&[3 * hidden]));
        }
        p
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn matches_libtorch_on_packed_sequences_of_different_lengths() {
        // Drawn under the generator's lock: other tests run at once and draw too.
        crate::model::random::seeded(7, check_packed_sequences)
    }

    fn check_packed_sequences() {
        // Hidden sizes with and without a whole number of 32-float lanes; one long batch.
        for (hidden, sizes) in [
            (32, vec![4i64, 4, 3, 1, 1]),
            (20, vec![2, 2, 2]),
            (256, vec![1; 40]),
        ] {
            let input = 13;
            let p = params(input, hidden);
            let n: i64 = sizes.iter().sum();
            let batch = sizes[0];
            let data = Tensor::rand([n, input], (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0;
            let h0 = Tensor::zeros([2, batch, hidden], (Kind::Float, tch::Device::Cpu));
            let (want, want_h) = tch::no_grad(|| {
                Tensor::gru_data(
                    &data,
                    &Tensor::from_slice(&sizes),
                    &h0,
                    &p,
                    true,
                    1,
                    0.0,
                    false,
                    true,
                )
            });
            let want_last = Tensor::cat(&[want_h.get(0), want_h.get(1)], 1);
            assert!(super::usable(&data, &p));
            let (out, last) = super::bigru(&data, &sizes, batch as usize, &p, hidden as usize);
            assert_eq!(out.size(), want.size());
            assert_eq!(last.size(), want_last.size());
            assert!(
                max_diff(&out, &want) < 1e-5,
                "hidden {hidden}: outputs differ by {}",
                max_diff(&out, &want)
            );
            assert!(
                max_diff(&last, &want_last) < 1e-5,
                "hidden {hidden}: final states differ"
            );
        }
    }

    #[test]
    fn tensors_it_cannot_read_in_place_are_left_to_libtorch() {
        let (p, data) = crate::model::random::seeded(3, || {
            (
                params(3, 4),
                Tensor::rand([5, 3], (Kind::Float, tch::Device::Cpu)),
            )
        });
        assert!(!super::usable(&data.to_kind(Kind::Double), &p));
        assert!(!super::usable(&data.tr(), &p));
    }
}
