//! The CRF against brute-force enumeration of every tag sequence, and its gradient against
//! finite differences.

use relarc::model::crf::Crf;
use tch::{nn, Device, Kind, Tensor};

/// Drawn under the generator's lock: tests of this binary that train run at once.
fn crf(k: i64, kind: Kind) -> (nn::VarStore, Crf) {
    relarc::model::random::seeded(7, || crf_drawn(k, kind))
}

fn randn(shape: &[i64]) -> Tensor {
    relarc::model::random::exclusive(|| Tensor::randn(shape, (Kind::Double, Device::Cpu)))
}

fn crf_drawn(k: i64, kind: Kind) -> (nn::VarStore, Crf) {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let mut crf = Crf::new(vs.root() / "crf", k);
    vs.set_kind(kind);
    // Larger transitions than the initialisation, so they matter.
    tch::no_grad(|| {
        crf.transitions
            .copy_(&(Tensor::randn([k, k], (kind, Device::Cpu)) * 2.0));
        crf.start.copy_(&Tensor::randn([k], (kind, Device::Cpu)));
        crf.end.copy_(&Tensor::randn([k], (kind, Device::Cpu)));
    });
    (vs, crf)
}

fn all_sequences(len: usize, k: i64) -> Vec<Vec<i64>> {
    let mut out = vec![vec![]];
    for _ in 0..len {
        out = out
            .into_iter()
            .flat_map(|s| (0..k).map(move |t| [s.clone(), vec![t]].concat()))
            .collect();
    }
    out
}

/// Score of one sequence, computed directly from the parameters.
fn direct_score(em: &[Vec<f64>], tags: &[i64], trans: &[f64], start: &[f64], end: &[f64], k: usize) -> f64 {
    let mut s = start[tags[0] as usize] + end[*tags.last().unwrap() as usize];
    for (t, &tag) in tags.iter().enumerate() {
        s += em[t][tag as usize];
        if t > 0 {
            s += trans[tags[t - 1] as usize * k + tag as usize];
        }
    }
    s
}

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).contiguous().view([-1])).unwrap()
}

#[test]
fn log_partition_and_viterbi_equal_brute_force() {
    let k = 3i64;
    let (_vs, crf) = crf(k, Kind::Double);
    let lengths = [4usize, 2, 1];
    let t_max = 4;
    let em = randn(&[3, t_max, k]) * 1.5;
    let mut mask = vec![false; 3 * t_max as usize];
    for (b, &l) in lengths.iter().enumerate() {
        for t in 0..l {
            mask[b * t_max as usize + t] = true;
        }
    }
    let mask = Tensor::from_slice(&mask).view([3, t_max]);
    let log_z = values(&crf.log_partition(&em, &mask));
    let (trans, start, end) = (values(&crf.transitions), values(&crf.start), values(&crf.end));
    let weights = crf.weights();
    for (b, &len) in lengths.iter().enumerate() {
        let rows: Vec<Vec<f64>> = (0..len)
            .map(|t| values(&em.get(b as i64).get(t as i64)))
            .collect();
        let scores: Vec<(f64, Vec<i64>)> = all_sequences(len, k)
            .into_iter()
            .map(|s| (direct_score(&rows, &s, &trans, &start, &end, k as usize), s))
            .collect();
        let max = scores.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
        let brute_z = max + scores.iter().map(|s| (s.0 - max).exp()).sum::<f64>().ln();
        assert!(
            (log_z[b] - brute_z).abs() < 1e-9,
            "sentence {b}: log Z {} vs brute force {brute_z}",
            log_z[b]
        );

        let best = scores
            .iter()
            .max_by(|a, c| a.0.partial_cmp(&c.0).unwrap())
            .unwrap();
        let flat: Vec<f32> = rows.iter().flatten().map(|&x| x as f32).collect();
        assert_eq!(weights.viterbi(&flat, len), best.1, "sentence {b}: Viterbi path");

        // The score of each sequence as the CRF computes it matches the direct one.
        let some = &scores[scores.len() / 2];
        let mut padded = some.1.clone();
        padded.resize(t_max as usize, 0);
        let tags = Tensor::from_slice(&padded).view([1, t_max]);
        let got = values(&crf.sequence_score(
            &em.get(b as i64).unsqueeze(0),
            &tags,
            &mask.get(b as i64).unsqueeze(0),
        ))[0];
        assert!((got - some.0).abs() < 1e-9);

        // The host's forward-backward marginals are the brute-force ones: the probability
        // mass of every sequence with tag j at token t.
        let host = weights.marginals(&flat, len);
        for t in 0..len {
            for j in 0..k as usize {
                let brute: f64 = scores
                    .iter()
                    .filter(|s| s.1[t] == j as i64)
                    .map(|s| (s.0 - brute_z).exp())
                    .sum();
                let got = host[t * k as usize + j] as f64;
                assert!(
                    (got - brute).abs() < 1e-6,
                    "sentence {b}, token {t}, tag {j}: {got} vs {brute}"
                );
            }
        }
    }
    // The tensor marginals (the gradient of log Z) sum to one at every real token and agree
    // with the host's.
    let marg = crf.marginals(&em, &mask);
    let sums = values(&marg.sum_dim_intlist(2, false, None));
    let marg = values(&marg);
    for (b, &len) in lengths.iter().enumerate() {
        for t in 0..len {
            assert!((sums[b * t_max as usize + t] - 1.0).abs() < 1e-9);
        }
        let flat: Vec<f32> = values(&em.get(b as i64).narrow(0, 0, len as i64))
            .into_iter()
            .map(|x| x as f32)
            .collect();
        let host = weights.marginals(&flat, len);
        for (i, h) in host.iter().enumerate() {
            let want = marg[b * (t_max * k) as usize + i];
            assert!((*h as f64 - want).abs() < 1e-6, "sentence {b}: {h} vs {want}");
        }
    }
}

#[test]
fn nll_gradients_match_finite_differences() {
    let k = 3i64;
    let (vs, crf) = crf(k, Kind::Double);
    let em = randn(&[2, 3, k]).set_requires_grad(true);
    let mask = Tensor::from_slice(&[true, true, true, true, true, false]).view([2, 3]);
    let tags = Tensor::from_slice(&[0i64, 2, 1, 1, 1, 0]).view([2, 3]);
    let loss = crf.nll(&em, &tags, &mask).sum(Kind::Double);
    let mut params: Vec<Tensor> = vec![em.shallow_clone()];
    params.extend(vs.trainable_variables());
    let grads = Tensor::run_backward(&[loss], &params, false, false);
    let eps = 1e-6;
    for (p, g) in params.iter().zip(&grads) {
        let flat_p = p.view([-1]);
        let flat_g = values(g);
        for i in 0..flat_p.size()[0] {
            let orig = flat_p.double_value(&[i]);
            let eval = |x: f64| {
                tch::no_grad(|| {
                    let _ = flat_p.get(i).fill_(x);
                    crf.nll(&em, &tags, &mask).sum(Kind::Double).double_value(&[])
                })
            };
            let numeric = (eval(orig + eps) - eval(orig - eps)) / (2.0 * eps);
            tch::no_grad(|| {
                let _ = flat_p.get(i).fill_(orig);
            });
            assert!(
                (numeric - flat_g[i as usize]).abs() < 1e-6,
                "gradient {i}: analytic {} numeric {numeric}",
                flat_g[i as usize]
            );
        }
    }
}
