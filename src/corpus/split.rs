//! Splits: train/dev/test files, k-fold cross-validation, and a seeded held-out dev part.

use std::path::Path;

use super::{Corpus, Result};

/// A small, portable generator (SplitMix64) so a seed gives the same split on every machine
/// and with every version of every dependency.
#[derive(Clone, Debug)]
pub struct SplitRng(u64);

impl SplitRng {
    pub fn new(seed: u64) -> Self {
        SplitRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Sentence indices `0..n` shuffled with `seed`.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    SplitRng::new(seed).shuffle(&mut idx);
    idx
}

/// Splits off a seeded `fraction` of the corpus (at least one sentence when the corpus has
/// two or more) as a held-out dev part. Both parts keep the corpus order.
pub fn holdout(corpus: &Corpus, fraction: f64, seed: u64) -> (Corpus, Corpus) {
    partition(corpus, &holdout_mask(corpus.sentences.len(), fraction, seed))
}

/// Which of `n` sentences `holdout` holds out (true) for this fraction and seed.
pub fn holdout_mask(n: usize, fraction: f64, seed: u64) -> Vec<bool> {
    let mut k = (n as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    if fraction > 0.0 && n >= 2 {
        k = k.clamp(1, n - 1);
    }
    let mut held = vec![false; n];
    for &i in shuffled(n, seed).iter().take(k) {
        held[i] = true;
    }
    held
}

/// `k` folds: for fold `f`, (train, test) where test is the f-th of `k` near-equal parts of a
/// seeded shuffle and train is the rest, both in corpus order.
pub fn folds(corpus: &Corpus, k: usize, seed: u64) -> Vec<(Corpus, Corpus)> {
    let n = corpus.sentences.len();
    let k = k.max(1);
    let order = shuffled(n, seed);
    let mut fold_of = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        fold_of[i] = pos * k / n.max(1);
    }
    (0..k)
        .map(|f| {
            let test: Vec<bool> = fold_of.iter().map(|&x| x == f).collect();
            let (test_part, train_part) = partition(corpus, &test);
            (train_part, test_part)
        })
        .collect()
}

/// (sentences where `mask` is true, the others), with the schema of the whole corpus.
fn partition(corpus: &Corpus, mask: &[bool]) -> (Corpus, Corpus) {
    let mut yes = Vec::new();
    let mut no = Vec::new();
    for (s, &m) in corpus.sentences.iter().zip(mask) {
        if m {
            yes.push(s.clone());
        } else {
            no.push(s.clone());
        }
    }
    let with_schema = |sentences| Corpus {
        sentences,
        schema: corpus.schema.clone(),
        source: None,
    };
    (with_schema(yes), with_schema(no))
}

/// Train, dev and (optionally) test corpora read from their files.
pub struct TrainDevTest {
    pub train: Corpus,
    pub dev: Corpus,
    pub test: Option<Corpus>,
}

impl TrainDevTest {
    pub fn load(train: &Path, dev: &Path, test: Option<&Path>) -> Result<Self> {
        Ok(TrainDevTest {
            train: Corpus::load(train)?,
            dev: Corpus::load(dev)?,
            test: test.map(Corpus::load).transpose()?,
        })
    }
}

/// The folds of a cross-validation folder laid out as `split_{k}_train.json` and
/// `split_{k}_test.json` (SpERT's ADE folds), in fold order.
pub fn load_fold_files(dir: &Path) -> Result<Vec<(Corpus, Corpus)>> {
    let mut folds = Vec::new();
    for k in 0.. {
        let train = dir.join(format!("split_{k}_train.json"));
        let test = dir.join(format!("split_{k}_test.json"));
        if !train.exists() || !test.exists() {
            break;
        }
        folds.push((Corpus::load(&train)?, Corpus::load(&test)?));
    }
    if folds.is_empty() {
        return Err(super::CorpusError::Unsupported(format!(
            "{}: no folds found (expected split_0_train.json and split_0_test.json)",
            dir.display()
        )));
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Sentence;

    fn corpus(n: usize) -> Corpus {
        Corpus::new((0..n).map(|i| Sentence::new(vec![format!("w{i}")])).collect())
    }

    #[test]
    fn holdout_is_reproducible_and_disjoint() {
        let c = corpus(100);
        let (dev, train) = holdout(&c, 0.1, 7);
        assert_eq!(dev.sentences.len(), 10);
        assert_eq!(train.sentences.len(), 90);
        let (dev2, _) = holdout(&c, 0.1, 7);
        assert_eq!(dev.sentences, dev2.sentences);
        let (dev3, _) = holdout(&c, 0.1, 8);
        assert_ne!(dev.sentences, dev3.sentences);
        for s in &dev.sentences {
            assert!(!train.sentences.contains(s));
        }
    }

    #[test]
    fn folds_cover_every_sentence_once() {
        let c = corpus(43);
        let f = folds(&c, 10, 1);
        assert_eq!(f.len(), 10);
        let mut seen = 0;
        for (train, test) in &f {
            assert_eq!(train.sentences.len() + test.sentences.len(), 43);
            assert!((4..=5).contains(&test.sentences.len()));
            seen += test.sentences.len();
        }
        assert_eq!(seen, 43);
    }
}
