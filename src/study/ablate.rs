//! The paper's Table 3: the baseline and its variants without NER-specific, without
//! RE-specific and without any task-specific layers, each given the shared layers that bring
//! its trainable parameter count closest to the baseline's.

use tch::Device;

use super::plan::Group;
use super::search;
use crate::corpus::Corpus;
use crate::embed::Vocabulary;
use crate::model::{Model, ModelConfig};

/// The most shared layers a variant is given to match the baseline's parameters.
const MAX_SHARED: usize = 16;

/// The vocabularies a model of `config` gets from `train`: the same for every layer count, so
/// a study builds them once for all its configurations.
pub fn vocabulary(config: &ModelConfig, train: &Corpus) -> Vocabulary {
    let min_count = config.inputs.word.as_ref().map_or(1, |w| w.min_count);
    Vocabulary::build(&train.sentences, &train.schema, min_count)
}

/// Trainable parameters of a model of `config` with these vocabularies.
pub fn parameters(config: &ModelConfig, vocab: &Vocabulary) -> usize {
    Model::new(config.clone(), vocab.clone(), Device::Cpu).num_trainable_parameters() as usize
}

/// The shared layer count (1 to 16) whose parameter count `count(shared)` is closest to
/// `target`; a tie goes to fewer layers.
pub fn closest_shared(target: usize, count: impl Fn(usize) -> usize) -> usize {
    (1..=MAX_SHARED)
        .min_by_key(|&s| (count(s).abs_diff(target), s))
        .expect("a non-empty range")
}

/// The four rows of Table 3 for `base`.
pub fn variants(base: &ModelConfig, vocab: &Vocabulary) -> Vec<Group> {
    let (s, n, r) = (base.shared_layers, base.ner_layers, base.re_layers);
    let baseline = search::group(base, (s, n, r), vocab, Some("baseline"));
    let target = baseline.parameters;
    let matched = |name: &str, ner: usize, re: usize| {
        let count = |shared: usize| {
            let config = ModelConfig {
                shared_layers: shared,
                ner_layers: ner,
                re_layers: re,
                ..base.clone()
            };
            parameters(&config, vocab)
        };
        search::group(base, (closest_shared(target, count), ner, re), vocab, Some(name))
    };
    vec![
        baseline,
        matched("no NER-specific", 0, r),
        matched("no RE-specific", n, 0),
        matched("no task-specific", 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_count_with_the_closest_parameter_count_is_chosen() {
        // 100 parameters per shared layer plus 50: 4 layers (450) are closest to 430.
        assert_eq!(closest_shared(430, |s| 50 + 100 * s), 4);
        // Equally far from 3 (350) and 4 (450): the smaller model.
        assert_eq!(closest_shared(400, |s| 50 + 100 * s), 3);
        // Beyond the range: as close as 16 layers get.
        assert_eq!(closest_shared(1_000_000, |s| 100 * s), 16);
        assert_eq!(closest_shared(0, |s| 100 * s), 1);
    }
}
