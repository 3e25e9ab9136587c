//! Task heads: NER scoring (FFNN(e1) → FFNN(e2)) and relation scoring (paper §3.3).

use tch::{nn, nn::Module, Tensor};

use super::config::{Ffnn, ModelConfig};
use super::context::{BetweenContext, BetweenRows};

#[derive(Debug)]
pub struct NerHead {
    ffnn1: nn::Linear,
    ffnn2: nn::Linear,
    ffnn: Ffnn,
}

impl NerHead {
    pub fn new(p: nn::Path, input: i64, cfg: &ModelConfig, num_tags: i64) -> NerHead {
        NerHead {
            ffnn1: nn::linear(&p / "ffnn1", input, cfg.ner_ffnn.size, Default::default()),
            ffnn2: nn::linear(&p / "ffnn2", cfg.ner_ffnn.size, num_tags, Default::default()),
            ffnn: cfg.ner_ffnn,
        }
    }

    /// Emission scores `s^e_i` for hidden states `h^e_i`.
    pub fn forward(&self, h: &Tensor) -> Tensor {
        self.ffnn2
            .forward(&self.ffnn.activation.apply(&self.ffnn1.forward(h)))
    }
}

#[derive(Debug)]
pub struct ReHead {
    pub label_embedding: nn::Embedding,
    /// Row k is the diagonal of `M^{r_k}`.
    pub distmult: Tensor,
    ffnn1: nn::Linear,
    ffnn2: nn::Linear,
    ffnn: Ffnn,
    dropout: f64,
    /// The context between the two entities, when `re_context` asks for it.
    pub context: Option<BetweenContext>,
}

impl ReHead {
    pub fn new(p: nn::Path, input: i64, cfg: &ModelConfig, num_tags: i64, num_relations: i64) -> ReHead {
        let g = input + cfg.label_embedding;
        let context_size = cfg.re_context.unwrap_or(0);
        let bound = (6.0 / (g + 1) as f64).sqrt();
        ReHead {
            label_embedding: nn::embedding(
                &p / "label_embedding",
                num_tags,
                cfg.label_embedding,
                Default::default(),
            ),
            distmult: p.var(
                "distmult",
                &[num_relations, g],
                nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ),
            ffnn1: nn::linear(&p / "ffnn1", g, cfg.re_ffnn.size, Default::default()),
            ffnn2: nn::linear(
                &p / "ffnn2",
                2 * cfg.re_ffnn.size + 1 + num_relations + context_size,
                num_relations,
                Default::default(),
            ),
            ffnn: cfg.re_ffnn,
            dropout: cfg.re_dropout,
            context: cfg
                .re_context
                .map(|size| BetweenContext::new(&p / "context", input, size)),
        }
    }

    /// The context vectors of some pairs, `[Q, re_context]`, with RE dropout; `None` for a
    /// model without them.
    pub fn context_vectors(&self, states: &Tensor, rows: &BetweenRows, train: bool) -> Option<Tensor> {
        let ctx = self.context.as_ref()?.forward(states, rows);
        Some(super::random::dropout(&ctx, self.dropout, train))
    }

    /// `g_i = h^r_i ◦ labelemb(tag_i)` for entity ends `[E]`.
    pub fn entity_vectors(&self, h_ends: &Tensor, tags: &Tensor, train: bool) -> Tensor {
        let g = Tensor::cat(&[h_ends.shallow_clone(), self.label_embedding.forward(tags)], 1);
        super::random::dropout(&g, self.dropout, train)
    }

    /// DistMult score of every relation type for pairs: `[Q, R]`.
    pub fn distmult_scores(&self, g_head: &Tensor, g_tail: &Tensor) -> Tensor {
        (g_head * g_tail).matmul(&self.distmult.tr())
    }

    /// Relation logits `s^r_ij` `[Q, R]` for ordered pairs given as indices into `g`, with
    /// their context vectors when the model has them.
    pub fn forward(&self, g: &Tensor, heads: &Tensor, tails: &Tensor, context: Option<&Tensor>) -> Tensor {
        let gh = g.index_select(0, heads);
        let gt = g.index_select(0, tails);
        let f = self.ffnn.activation.apply(&self.ffnn1.forward(g));
        let fh = f.index_select(0, heads);
        let ft = f.index_select(0, tails);
        let cos = Tensor::cosine_similarity(&fh, &ft, 1, 1e-8).unsqueeze(1);
        let dm = self.distmult_scores(&gh, &gt);
        let mut parts = vec![fh, ft, cos, dm];
        parts.extend(context.map(Tensor::shallow_clone));
        self.ffnn2.forward(&Tensor::cat(&parts, 1))
    }
}
