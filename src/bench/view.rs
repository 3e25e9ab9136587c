//! Laying out and painting the sentence view (to egui shapes, then triangles) for a long
//! sentence with many relations, without a window.

use std::time::Duration;

use super::{percentile_ms, Row, Scale, Section};
use crate::app::state::Selection;
use crate::app::view::SentenceView;
use crate::corpus::{Entity, Relation, Sentence};

/// A `tokens`-token sentence with an entity every third token and `relations` relations
/// between entities at varying distances.
pub fn busy_sentence(tokens: usize, relations: usize) -> Sentence {
    let words = [
        "Acme", "hired", "Smith", "in", "Boston", "after", "the", "merger", "with", "Globex", ",", "said",
    ];
    let mut s = Sentence::new((0..tokens).map(|i| words[i % words.len()].to_string()).collect());
    s.entities = (0..tokens / 3)
        .map(|k| Entity::new(["Org", "Peop", "Loc"][k % 3], 3 * k, 3 * k + 1 + (k % 2)))
        .collect();
    let n = s.entities.len();
    s.relations = (0..relations.min(n * (n - 1)))
        .map(|r| {
            Relation::new(
                ["Work_For", "Live_In", "OrgBased_In"][r % 3],
                r % n,
                (r * 7 + 1 + r / n) % n,
            )
        })
        .filter(|r| r.head != r.tail)
        .collect();
    s.relations.dedup_by(|a, b| a.head == b.head && a.tail == b.tail);
    s
}

pub fn run(scale: Scale) -> Section {
    let s = busy_sentence(100, 30);
    let types: Vec<String> = ["Org", "Peop", "Loc"].map(String::from).to_vec();
    let ctx = egui::Context::default();
    let mut view = SentenceView::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1200.0, 900.0),
        )),
        ..Default::default()
    };
    let frame = |view: &mut SentenceView| {
        let mut out = ctx.run_ui(input(), |ui| {
            view.show(ui, &s, &types, &Selection::None, None, None);
        });
        // No GPU here to upload glyph textures to.
        out.textures_delta.clear();
        let shapes = out.shapes.len();
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
        (shapes, prims.len())
    };
    // Warm-up: fonts and glyph atlas.
    for _ in 0..5 {
        frame(&mut view);
    }
    let runs = if scale.quick { 50 } else { 500 };
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut counts = (0, 0);
    for _ in 0..runs {
        let (c, t) = super::timed(|| frame(&mut view));
        counts = c;
        times.push(t);
    }
    Section {
        title: "Sentence view".into(),
        rows: vec![Row::new(
            "lay out + paint a 100-token sentence with 33 entities and 30 relations (p50 / p99)",
            format!("{:.2} / {:.2} ms", percentile_ms(&times, 50.0), percentile_ms(&times, 99.0)),
            format!(
                "one egui frame: text layout, span and arc layout, {} shapes tessellated into {} meshes (CPU; the GPU upload is not included)",
                counts.0, counts.1
            ),
        )],
        skipped: None,
    }
}
