//! Where tokens, entity boxes and relation arcs go in the sentence view, computed in plain
//! code so it can be tested: tokens wrap to the width, keeping an entity on one line when it
//! fits; arcs are stacked in levels above each line so that no two share a height where they
//! overlap; an arc between lines is drawn as two pieces, one on each end's line. Entities
//! that overlap (nested spans, a diff's boundary errors) or whose type tags would touch are
//! stacked as brat does: the inner one a box with its tag just under the tokens, each outer
//! one a taller box (a bracket around the inner tags) with its tag on a row of its own.

use egui::{pos2, vec2, Pos2, Rect, Vec2};

#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub max_width: f32,
    pub token_gap: f32,
    pub token_height: f32,
    /// Space between a token and its entity box.
    pub box_pad: f32,
    /// Height of the type label under an entity box.
    pub label_height: f32,
    /// Vertical distance between arc levels.
    pub level_height: f32,
    /// Space between the lowest arc level and the boxes.
    pub arc_margin: f32,
    pub line_gap: f32,
    /// Horizontal room kept free around an arc's label.
    pub arc_label_pad: f32,
    /// Rows of BIO tags under the type labels (0, 1 for gold, 2 with the predicted ones).
    pub bio_rows: usize,
    pub bio_row_height: f32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_width: 800.0,
            token_gap: 8.0,
            token_height: 20.0,
            box_pad: 2.0,
            label_height: 14.0,
            level_height: 18.0,
            arc_margin: 10.0,
            line_gap: 10.0,
            arc_label_pad: 4.0,
            bio_rows: 0,
            bio_row_height: 16.0,
        }
    }
}

/// What is to be laid out: sizes measured by the caller.
pub struct Input<'a> {
    pub token_widths: &'a [f32],
    /// (start, end) token ranges, end exclusive.
    pub entities: &'a [(usize, usize)],
    /// (head entity, tail entity, label width).
    pub relations: &'a [(usize, usize, f32)],
    /// Width of each entity's type tag (missing ones count as 0).
    pub tag_widths: &'a [f32],
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub top: f32,
    pub token_top: f32,
    /// Top of the first BIO tag row.
    pub bio_top: f32,
    pub bottom: f32,
    pub levels: usize,
}

/// One horizontal stretch of an arc on one line, with its vertical legs.
#[derive(Clone, Debug, PartialEq)]
pub struct ArcPiece {
    pub relation: usize,
    pub line: usize,
    /// Left and right ends of the horizontal part.
    pub x0: f32,
    pub x1: f32,
    pub level: usize,
    pub y: f32,
    /// Where the legs come down to (the top of the entity boxes), if the end sits on an
    /// entity on this line; None where the piece runs off to the line's edge.
    pub left_leg: Option<f32>,
    pub right_leg: Option<f32>,
    /// The tail end is at x0 (false) or x1 (true), when this piece holds it.
    pub arrow_at_right: Option<bool>,
    /// Centre of the relation label, on the piece that carries it.
    pub label: Option<Pos2>,
    pub label_width: f32,
    /// The label repeats the one on the arc's other line: a stub running to the line's edge
    /// is labelled too, so no arc piece is left unnamed.
    pub echo: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub tokens: Vec<Rect>,
    pub token_line: Vec<usize>,
    pub lines: Vec<Line>,
    /// One box per line an entity spans: down to its tag row, so an outer entity's box
    /// brackets the tags of those inside it.
    pub entities: Vec<Vec<(usize, Rect)>>,
    /// Each entity's stacking level: 0 just under the tokens, 1 below that, ...
    pub entity_levels: Vec<usize>,
    /// Where each box's type tag goes (one per box).
    pub tags: Vec<Vec<Rect>>,
    pub arcs: Vec<Vec<ArcPiece>>,
    pub size: Vec2,
}

impl Layout {
    /// Where token `k`'s tag of BIO row `row` goes.
    pub fn bio_rect(&self, k: usize, row: usize, p: &Params) -> Rect {
        let line = &self.lines[self.token_line[k]];
        let top = line.bio_top + row as f32 * p.bio_row_height;
        Rect::from_min_size(
            pos2(self.tokens[k].min.x, top),
            vec2(self.tokens[k].width(), p.bio_row_height),
        )
    }
}

/// End (exclusive) of the run of entities that starts at `i`, extended while an entity
/// starting inside it reaches further.
fn group_end(i: usize, entities: &[(usize, usize)]) -> usize {
    let mut end = i + 1;
    let mut grew = true;
    while grew {
        grew = false;
        for &(s, e) in entities {
            if s >= i && s < end && e > end {
                end = e;
                grew = true;
            }
        }
    }
    end
}

pub fn layout(input: &Input, p: &Params) -> Layout {
    let placed = place_tokens(input, p);
    let segments = entity_segments(input, &placed, p);
    let anchors = arc_anchors(input, &segments);
    let mut pieces = arc_pieces(input, &segments, &anchors, p);
    let levels = assign_levels(&mut pieces, placed.lines, p);
    let entity_levels = stack_entities(input, &segments);
    let mut tag_rows = vec![1usize; placed.lines];
    for (segs, &level) in segments.iter().zip(&entity_levels) {
        for s in segs {
            tag_rows[s.line] = tag_rows[s.line].max(level + 1);
        }
    }
    let (lines, height) = line_geometry(&levels, &tag_rows, p);
    let tokens: Vec<Rect> = (0..placed.xs.len())
        .map(|k| {
            let top = lines[placed.line_of[k]].token_top;
            Rect::from_min_size(
                pos2(placed.xs[k], top),
                vec2(input.token_widths[k], p.token_height),
            )
        })
        .collect();
    let entities = entity_boxes(&segments, &entity_levels, &lines, p);
    let tags = tag_rects(input, &entities, p);
    let arcs = place_arcs(pieces, input.relations.len(), &lines, p);
    let width = tokens
        .iter()
        .map(|r| r.max.x)
        .fold(0.0, f32::max)
        .max(p.max_width.min(1e6));
    Layout {
        tokens,
        token_line: placed.line_of,
        size: vec2(width, height),
        lines,
        entities,
        entity_levels,
        tags,
        arcs,
    }
}

/// Phase 1: each token's x and line.
struct Placed {
    xs: Vec<f32>,
    line_of: Vec<usize>,
    lines: usize,
}

/// A run of entities is kept on one line when it fits, so that a span is not cut.
fn place_tokens(input: &Input, p: &Params) -> Placed {
    let n = input.token_widths.len();
    let w = |t: usize| input.token_widths[t];
    let mut xs = vec![0f32; n];
    let mut line_of = vec![0usize; n];
    let (mut x, mut line) = (0f32, 0usize);
    let mut t = 0;
    while t < n {
        let end = if input.entities.iter().any(|&(s, _)| s == t) {
            group_end(t, input.entities).min(n)
        } else {
            t + 1
        };
        let group_width: f32 = (t..end).map(w).sum::<f32>() + p.token_gap * (end - t - 1) as f32;
        if x > 0.0 && x + group_width > p.max_width && group_width <= p.max_width {
            line += 1;
            x = 0.0;
        }
        for k in t..end {
            if x > 0.0 && x + w(k) > p.max_width {
                line += 1;
                x = 0.0;
            }
            xs[k] = x;
            line_of[k] = line;
            x += w(k) + p.token_gap;
        }
        t = end;
    }
    Placed {
        xs,
        line_of,
        lines: if n == 0 { 0 } else { line + 1 },
    }
}

/// The part of an entity's box on one line (x only; y comes with the line geometry).
#[derive(Clone, Copy, Debug)]
struct Segment {
    line: usize,
    x0: f32,
    x1: f32,
}

/// Phase 2: entity boxes, one segment per line they cover.
fn entity_segments(input: &Input, placed: &Placed, p: &Params) -> Vec<Vec<Segment>> {
    let n = input.token_widths.len();
    let mut segments = Vec::with_capacity(input.entities.len());
    for &(s, e) in input.entities {
        let mut segs: Vec<Segment> = Vec::new();
        for k in s..e.min(n) {
            let line = placed.line_of[k];
            let (x0, x1) = (
                placed.xs[k] - p.box_pad,
                placed.xs[k] + input.token_widths[k] + p.box_pad,
            );
            match segs.last_mut() {
                Some(last) if last.line == line => last.x1 = x1,
                _ => segs.push(Segment { line, x0, x1 }),
            }
        }
        segments.push(segs);
    }
    segments
}

/// Where a relation's arc meets its head and its tail.
#[derive(Clone, Copy, Debug, Default)]
struct Anchor {
    head: f32,
    tail: f32,
}

fn drawable(r: (usize, usize, f32), segments: &[Vec<Segment>]) -> bool {
    let ok = |e: usize| segments.get(e).is_some_and(|s| !s.is_empty());
    ok(r.0) && ok(r.1)
}

/// Phase 3: arc ends spread over the entity's first box, ordered by where the other end is.
fn arc_anchors(input: &Input, segments: &[Vec<Segment>]) -> Vec<Anchor> {
    let anchor_line = |e: usize| segments[e].first().map_or(0, |s| s.line);
    let centre = |e: usize| segments[e].first().map_or(0.0, |s| (s.x0 + s.x1) / 2.0);
    // Per entity: (relation, whether the entity is its head).
    let mut ends: Vec<Vec<(usize, bool)>> = vec![Vec::new(); input.entities.len()];
    for (r, &(h, tl, w)) in input.relations.iter().enumerate() {
        if drawable((h, tl, w), segments) {
            ends[h].push((r, true));
            ends[tl].push((r, false));
        }
    }
    let mut anchors = vec![Anchor::default(); input.relations.len()];
    for (e, list) in ends.iter_mut().enumerate() {
        let other = |&(r, is_head): &(usize, bool)| {
            let (h, tl, _) = input.relations[r];
            let o = if is_head { tl } else { h };
            (anchor_line(o), centre(o))
        };
        list.sort_by(|a, b| {
            other(a)
                .partial_cmp(&other(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let seg = segments[e][0];
        let k = list.len();
        for (j, &(r, is_head)) in list.iter().enumerate() {
            let x = seg.x0 + (seg.x1 - seg.x0) * (j as f32 + 1.0) / (k as f32 + 1.0);
            if is_head {
                anchors[r].head = x;
            } else {
                anchors[r].tail = x;
            }
        }
    }
    anchors
}

/// What an arc piece has: legs down to a box at either end, an arrow, the label.
#[derive(Clone, Copy)]
struct Shape {
    left_leg: bool,
    right_leg: bool,
    /// Some(true): the arrow is at the right end; Some(false): at the left.
    arrow_at_right: Option<bool>,
    label: bool,
}

/// Phase 4a: one piece per relation on one line, two when its ends are on different lines.
fn arc_pieces(input: &Input, segments: &[Vec<Segment>], anchors: &[Anchor], p: &Params) -> Vec<ArcPiece> {
    let mut pieces = Vec::new();
    for (r, &(h, tl, label_width)) in input.relations.iter().enumerate() {
        if !drawable((h, tl, label_width), segments) {
            continue;
        }
        let (lh, lt) = (segments[h][0].line, segments[tl][0].line);
        let Anchor { head: xh, tail: xt } = anchors[r];
        let piece = |line, x0: f32, x1: f32, shape: Shape| ArcPiece {
            relation: r,
            line,
            x0,
            x1,
            level: 0,
            y: 0.0,
            left_leg: shape.left_leg.then_some(0.0),
            right_leg: shape.right_leg.then_some(0.0),
            arrow_at_right: shape.arrow_at_right,
            label: shape.label.then_some(Pos2::ZERO),
            label_width,
            echo: false,
        };
        let stub = |mut a: ArcPiece| {
            a.label = Some(Pos2::ZERO);
            a.echo = true;
            a
        };
        let shape = |left_leg, right_leg, arrow_at_right, label| Shape {
            left_leg,
            right_leg,
            arrow_at_right,
            label,
        };
        if lh == lt {
            let whole = shape(true, true, Some(xt >= xh), true);
            pieces.push(piece(lh, xh.min(xt), xh.max(xt), whole));
        } else if lh < lt {
            pieces.push(stub(piece(lh, xh, p.max_width, shape(true, false, None, false))));
            pieces.push(piece(lt, 0.0, xt, shape(false, true, Some(true), true)));
        } else {
            pieces.push(stub(piece(lh, 0.0, xh, shape(false, true, None, false))));
            pieces.push(piece(lt, xt, p.max_width, shape(true, false, Some(false), true)));
        }
    }
    pieces
}

/// Where a piece's label is centred: over the piece's middle, moved inwards where it would
/// stick out of the sentence's width (a piece running to a wrapped line's left edge).
fn label_centre(a: &ArcPiece, p: &Params) -> f32 {
    let mid = (a.x0 + a.x1) / 2.0;
    let half = a.label_width / 2.0 + p.arc_label_pad;
    if 2.0 * half >= p.max_width {
        return p.max_width / 2.0;
    }
    mid.clamp(half, p.max_width - half)
}

/// The x interval a piece takes on its level, its label included.
fn extent(a: &ArcPiece, p: &Params) -> (f32, f32) {
    let mid = label_centre(a, p);
    let half = if a.label.is_some() {
        a.label_width / 2.0 + p.arc_label_pad
    } else {
        0.0
    };
    (
        (a.x0).min(mid - half) - p.arc_label_pad,
        (a.x1).max(mid + half) + p.arc_label_pad,
    )
}

/// Phase 4b: shorter pieces sit lower; a piece goes to the lowest level of its line where it
/// overlaps nothing. Returns the number of levels of each line.
fn assign_levels(pieces: &mut [ArcPiece], lines: usize, p: &Params) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by(|&a, &b| {
        let (wa, wb) = (pieces[a].x1 - pieces[a].x0, pieces[b].x1 - pieces[b].x0);
        wa.partial_cmp(&wb)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    // line -> level -> intervals taken
    let mut taken: Vec<Vec<Vec<(f32, f32)>>> = vec![Vec::new(); lines];
    for i in order {
        let (lo, hi) = extent(&pieces[i], p);
        let levels = &mut taken[pieces[i].line];
        let free = |lv: &usize| {
            levels
                .get(*lv)
                .is_none_or(|iv: &Vec<(f32, f32)>| iv.iter().all(|&(a, b)| hi <= a || lo >= b))
        };
        let level = (0..).find(free).expect("some level is free");
        if levels.len() <= level {
            levels.resize(level + 1, Vec::new());
        }
        levels[level].push((lo, hi));
        pieces[i].level = level;
    }
    taken.iter().map(Vec::len).collect()
}

/// Phase 5: each line's arc area, tokens and tags, top to bottom; and the total height.
fn line_geometry(levels: &[usize], tag_rows: &[usize], p: &Params) -> (Vec<Line>, f32) {
    let mut lines = Vec::with_capacity(levels.len());
    let mut top = 0.0;
    for (&n, &rows) in levels.iter().zip(tag_rows) {
        let arc_area = if n == 0 {
            p.arc_margin / 2.0
        } else {
            n as f32 * p.level_height + p.arc_margin
        };
        let token_top = top + arc_area;
        let bio_top = token_top + p.token_height + p.box_pad + rows as f32 * p.label_height;
        let bottom = bio_top + p.bio_rows as f32 * p.bio_row_height + p.line_gap;
        lines.push(Line {
            top,
            token_top,
            bio_top,
            bottom,
            levels: n,
        });
        top = bottom;
    }
    (lines, top)
}

/// An entity's horizontal room on a line: its box, or its tag where that is wider.
fn footprint(s: &Segment, tag_width: f32) -> (f32, f32) {
    (s.x0, s.x1.max(s.x0 + tag_width))
}

/// Phase 2b: a level per entity, inner (shorter) spans first, each on the lowest level where
/// its room on every line it covers is free; entities sharing a token or whose tags would
/// touch get different levels.
fn stack_entities(input: &Input, segments: &[Vec<Segment>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..segments.len()).collect();
    let len = |e: usize| input.entities[e].1.saturating_sub(input.entities[e].0);
    order.sort_by_key(|&e| (len(e), input.entities[e].0, e));
    // (level, line, x0, x1) of what is placed.
    let mut taken: Vec<(usize, usize, f32, f32)> = Vec::new();
    let mut levels = vec![0; segments.len()];
    for e in order {
        let tag = input.tag_widths.get(e).copied().unwrap_or(0.0);
        let free = |level: usize| {
            segments[e].iter().all(|s| {
                let (a0, a1) = footprint(s, tag);
                !taken
                    .iter()
                    .any(|&(l, line, b0, b1)| l == level && line == s.line && a0 < b1 && b0 < a1)
            })
        };
        let level = (0..).find(|&l| free(l)).expect("some level is free");
        levels[e] = level;
        for s in &segments[e] {
            let (x0, x1) = footprint(s, tag);
            taken.push((level, s.line, x0, x1));
        }
    }
    levels
}

fn entity_boxes(
    segments: &[Vec<Segment>],
    levels: &[usize],
    lines: &[Line],
    p: &Params,
) -> Vec<Vec<(usize, Rect)>> {
    segments
        .iter()
        .zip(levels)
        .map(|(segs, &level)| {
            segs.iter()
                .map(|s| {
                    let tt = lines[s.line].token_top;
                    let bottom = tt + p.token_height + p.box_pad + level as f32 * p.label_height;
                    // Outer boxes reach a little further out, so nested outlines do not merge
                    // (within the gap between tokens, so neighbours on a level stay apart).
                    let inset = if level > 0 {
                        (p.token_gap / 2.0 - p.box_pad - 0.5).max(0.0)
                    } else {
                        0.0
                    };
                    let r =
                        Rect::from_min_max(pos2(s.x0 - inset, tt - p.box_pad), pos2(s.x1 + inset, bottom));
                    (s.line, r)
                })
                .collect()
        })
        .collect()
}

/// Each box's tag: under it, as wide as its text (or the box).
fn tag_rects(input: &Input, boxes: &[Vec<(usize, Rect)>], p: &Params) -> Vec<Vec<Rect>> {
    boxes
        .iter()
        .enumerate()
        .map(|(e, segs)| {
            let tag = input.tag_widths.get(e).copied().unwrap_or(0.0);
            segs.iter()
                .map(|(_, r)| {
                    let width = r.width().max(tag);
                    Rect::from_min_size(pos2(r.min.x, r.max.y + 1.0), vec2(width, p.label_height - 1.0))
                })
                .collect()
        })
        .collect()
}

/// Phase 6: the y of every piece, its legs and label, grouped by relation.
fn place_arcs(pieces: Vec<ArcPiece>, relations: usize, lines: &[Line], p: &Params) -> Vec<Vec<ArcPiece>> {
    let mut arcs: Vec<Vec<ArcPiece>> = vec![Vec::new(); relations];
    for mut a in pieces {
        let box_top = lines[a.line].token_top - p.box_pad;
        a.y = box_top - p.arc_margin / 2.0 - (a.level as f32 + 0.5) * p.level_height;
        a.left_leg = a.left_leg.map(|_| box_top);
        a.right_leg = a.right_leg.map(|_| box_top);
        a.label = a.label.map(|_| pos2(label_centre(&a, p), a.y));
        arcs[a.relation].push(a);
    }
    arcs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces_overlap(a: &ArcPiece, b: &ArcPiece) -> bool {
        let ext = |x: &ArcPiece| {
            let mid = (x.x0 + x.x1) / 2.0;
            let half = if x.label.is_some() {
                x.label_width / 2.0
            } else {
                0.0
            };
            (x.x0.min(mid - half), x.x1.max(mid + half))
        };
        let (a0, a1) = ext(a);
        let (b0, b1) = ext(b);
        a0 < b1 && b0 < a1
    }

    /// No two type tags meet; no two entity outlines on one level meet.
    fn check_entities(layout: &Layout) {
        let tags: Vec<(usize, Rect)> = layout
            .tags
            .iter()
            .enumerate()
            .flat_map(|(e, t)| t.iter().map(move |r| (e, *r)))
            .collect();
        for (i, (a, ra)) in tags.iter().enumerate() {
            for (b, rb) in &tags[i + 1..] {
                assert!(
                    !ra.intersects(*rb),
                    "the tags of entities {a} and {b} meet: {ra:?} {rb:?}"
                );
            }
        }
        let boxes: Vec<(usize, usize, Rect)> = layout
            .entities
            .iter()
            .enumerate()
            .flat_map(|(e, b)| b.iter().map(move |(line, r)| (e, *line, *r)))
            .collect();
        for (i, (a, la, ra)) in boxes.iter().enumerate() {
            for (b, lb, rb) in &boxes[i + 1..] {
                if la == lb && layout.entity_levels[*a] == layout.entity_levels[*b] {
                    assert!(!ra.intersects(*rb), "entities {a} and {b} share a level and meet");
                }
            }
        }
        // Every tag lies under the tokens of its line and above the next line.
        for (e, segs) in layout.entities.iter().enumerate() {
            for (k, (line, _)) in segs.iter().enumerate() {
                let l = &layout.lines[*line];
                let tag = layout.tags[e][k];
                assert!(
                    tag.min.y >= l.token_top && tag.max.y <= l.bio_top + 0.01,
                    "{tag:?} {l:?}"
                );
            }
        }
    }

    fn check(layout: &Layout, input: &Input) {
        check_entities(layout);
        // Every label lies within the sentence's width.
        for a in layout.arcs.iter().flatten() {
            if let Some(c) = a.label {
                assert!(
                    c.x - a.label_width / 2.0 >= -0.01,
                    "label of {} sticks out left",
                    a.relation
                );
                assert!(
                    c.x + a.label_width / 2.0 <= layout.size.x + 0.01,
                    "label of {} sticks out right",
                    a.relation
                );
            }
        }
        let all: Vec<&ArcPiece> = layout.arcs.iter().flatten().collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if a.line == b.line && a.level == b.level {
                    assert!(
                        !pieces_overlap(a, b),
                        "arcs {} and {} overlap on line {} level {}",
                        a.relation,
                        b.relation,
                        a.line,
                        a.level
                    );
                }
            }
        }
        // Every arc has exactly one leg down onto its head box and one onto its tail box.
        for (r, &(h, t, _)) in input.relations.iter().enumerate() {
            let legs: Vec<(usize, f32)> = layout.arcs[r]
                .iter()
                .flat_map(|a| {
                    [
                        (a.left_leg.map(|_| (a.line, a.x0))),
                        (a.right_leg.map(|_| (a.line, a.x1))),
                    ]
                })
                .flatten()
                .collect();
            assert_eq!(legs.len(), 2, "relation {r} has {} legs", legs.len());
            for e in [h, t] {
                let (line, rect) = layout.entities[e][0];
                assert!(
                    legs.iter()
                        .any(|&(l, x)| l == line && x >= rect.min.x && x <= rect.max.x),
                    "relation {r}: no leg on entity {e} ({rect:?}, line {line}); legs {legs:?}"
                );
            }
            // The arc is above the boxes it joins.
            for a in &layout.arcs[r] {
                assert!(a.y < layout.lines[a.line].token_top);
                assert!(a.y > layout.lines[a.line].top);
            }
            assert_eq!(
                layout.arcs[r]
                    .iter()
                    .filter(|a| a.arrow_at_right.is_some())
                    .count(),
                1,
                "one arrow head"
            );
            assert_eq!(
                layout.arcs[r]
                    .iter()
                    .filter(|a| a.label.is_some() && !a.echo)
                    .count(),
                1,
                "one label"
            );
            assert!(
                layout.arcs[r].iter().all(|a| a.label.is_some()),
                "every piece is labelled"
            );
        }
    }

    #[test]
    fn figure_one_on_one_line() {
        let words = "In 1809 , author Edgar Allan Poe was born in Boston .";
        let widths: Vec<f32> = words.split(' ').map(|w| 8.0 * w.len() as f32).collect();
        let input = Input {
            token_widths: &widths,
            entities: &[(4, 7), (10, 11)],
            relations: &[(0, 1, 50.0)],
            tag_widths: &[],
        };
        let l = layout(&input, &Params::default());
        assert_eq!(l.lines.len(), 1);
        assert_eq!(l.arcs[0].len(), 1);
        assert_eq!(l.arcs[0][0].arrow_at_right, Some(true));
        check(&l, &input);
    }

    #[test]
    fn overlapping_spans_are_stacked_with_their_own_tags() {
        let widths = vec![40.0; 12];
        // Three spans sharing token 3, a same-span pair (a diff's retyped entity), and a
        // one-token entity whose tag is wider than its token beside another.
        let entities = [(2, 5), (3, 4), (3, 6), (8, 9), (8, 9), (10, 11), (11, 12)];
        let tag_widths = [50.0, 90.0, 60.0, 40.0, 40.0, 110.0, 30.0];
        let input = Input {
            token_widths: &widths,
            entities: &entities,
            relations: &[(1, 3, 40.0), (0, 5, 40.0)],
            tag_widths: &tag_widths,
        };
        let l = layout(&input, &Params::default());
        check(&l, &input);
        // The innermost span is a box just under the tokens; the two around it below it.
        assert_eq!(l.entity_levels[1], 0);
        assert!(l.entity_levels[0] >= 1 && l.entity_levels[2] >= 1);
        assert_ne!(l.entity_levels[0], l.entity_levels[2]);
        assert_ne!(l.entity_levels[3], l.entity_levels[4]);
        // The outer boxes bracket the inner tag.
        let inner_tag = l.tags[1][0];
        assert!(l.entities[0][0].1.max.y >= inner_tag.max.y);
        // A narrow line wraps them and still keeps them apart.
        let narrow = layout(
            &input,
            &Params {
                max_width: 200.0,
                ..Params::default()
            },
        );
        check(&narrow, &input);
    }

    #[test]
    fn a_label_at_a_wrapped_lines_left_edge_stays_inside() {
        // Ten 50-px tokens on 300 px: the tail (token 6) starts the second line, and the
        // arc's long label would be centred over its 20-px stretch there.
        let widths = vec![50.0; 10];
        let input = Input {
            token_widths: &widths,
            entities: &[(1, 2), (6, 7)],
            relations: &[(0, 1, 140.0)],
            tag_widths: &[],
        };
        let l = layout(
            &input,
            &Params {
                max_width: 300.0,
                ..Params::default()
            },
        );
        assert_eq!(l.token_line[6], 1);
        check(&l, &input);
    }

    #[test]
    fn bio_rows_sit_under_the_type_labels_and_above_the_next_line() {
        let widths = vec![60.0; 30];
        let input = Input {
            token_widths: &widths,
            entities: &[(4, 7), (20, 21)],
            relations: &[(0, 1, 50.0)],
            tag_widths: &[],
        };
        let p = Params {
            max_width: 600.0,
            bio_rows: 2,
            ..Params::default()
        };
        let l = layout(&input, &p);
        assert!(l.lines.len() > 1);
        check(&l, &input);
        for k in 0..widths.len() {
            let gold = l.bio_rect(k, 0, &p);
            let predicted = l.bio_rect(k, 1, &p);
            let line = &l.lines[l.token_line[k]];
            // Below the token's box and its type label, the predicted row below gold's.
            assert!(gold.min.y >= l.tokens[k].max.y + p.box_pad + p.label_height - 0.01);
            assert!(predicted.min.y >= gold.max.y - 0.01);
            assert!(predicted.max.y <= line.bottom - p.line_gap + 0.01);
            if let Some(next) = l.lines.get(l.token_line[k] + 1) {
                assert!(predicted.max.y <= next.top + 0.01);
            }
            if k + 1 < widths.len() && l.token_line[k + 1] == l.token_line[k] {
                assert!(!gold.intersects(l.bio_rect(k + 1, 0, &p).shrink(0.5)));
            }
        }
        // Without BIO rows the lines are that much shorter.
        let plain = layout(&input, &Params { bio_rows: 0, ..p });
        let grown = l.lines[0].bottom - l.lines[0].top - (plain.lines[0].bottom - plain.lines[0].top);
        assert!((grown - 2.0 * p.bio_row_height).abs() < 0.01);
    }

    #[test]
    fn a_hundred_tokens_with_thirty_relations_stay_apart() {
        let widths: Vec<f32> = (0..100).map(|i| 20.0 + (i * 37 % 50) as f32).collect();
        let entities: Vec<(usize, usize)> = (0..30).map(|i| (i * 3, i * 3 + 1 + i % 2)).collect();
        let relations: Vec<(usize, usize, f32)> = (0..30)
            .map(|i| (i, (i * 7 + 3) % 30, 40.0 + (i % 4) as f32 * 10.0))
            .filter(|(h, t, _)| h != t)
            .collect();
        let input = Input {
            token_widths: &widths,
            entities: &entities,
            relations: &relations,
            tag_widths: &[],
        };
        let p = Params {
            max_width: 700.0,
            ..Params::default()
        };
        let l = layout(&input, &p);
        assert!(l.lines.len() > 3);
        check(&l, &input);
        // Tokens never leave the width unless a single token is wider than it.
        for r in &l.tokens {
            assert!(r.max.x <= p.max_width + 0.01);
        }
        // Lines do not overlap vertically.
        for w in l.lines.windows(2) {
            assert!(w[0].bottom <= w[1].top + 0.01);
        }
    }

    #[test]
    fn wrapping_keeps_entities_whole_where_they_fit() {
        let widths = vec![50.0; 10];
        let p = Params {
            max_width: 240.0,
            token_gap: 10.0,
            ..Params::default()
        };
        // Tokens 3..6 would straddle the end of the first line: the whole entity moves down.
        let input = Input {
            token_widths: &widths,
            entities: &[(3, 6)],
            relations: &[],
            tag_widths: &[],
        };
        let l = layout(&input, &p);
        assert_eq!(l.entities[0].len(), 1, "one box");
        assert_eq!(l.token_line[2], 0);
        assert_eq!(l.token_line[3], 1);
        assert_eq!(l.token_line[5], 1);
        // An entity wider than the line is split into one box per line, each over its tokens.
        let input = Input {
            token_widths: &widths,
            entities: &[(1, 9)],
            relations: &[],
            tag_widths: &[],
        };
        let l = layout(&input, &p);
        let boxes = &l.entities[0];
        assert!(boxes.len() >= 2);
        for (line, rect) in boxes {
            let on_line: Vec<usize> = (1..9).filter(|&k| l.token_line[k] == *line).collect();
            assert!(!on_line.is_empty());
            for k in on_line {
                assert!(
                    rect.contains_rect(l.tokens[k].shrink(0.5)),
                    "token {k} outside its box"
                );
            }
        }
    }

    #[test]
    fn arcs_across_lines_have_a_piece_on_each_line() {
        let widths = vec![60.0; 12];
        let p = Params {
            max_width: 300.0,
            ..Params::default()
        };
        let input = Input {
            token_widths: &widths,
            entities: &[(0, 1), (10, 11), (2, 3)],
            relations: &[(0, 1, 30.0), (1, 2, 30.0), (0, 2, 30.0)],
            tag_widths: &[],
        };
        let l = layout(&input, &p);
        assert_ne!(l.token_line[0], l.token_line[10]);
        assert_eq!(l.arcs[0].len(), 2);
        assert_eq!(l.arcs[1].len(), 2);
        assert_eq!(l.arcs[2].len(), 1);
        check(&l, &input);
    }

    #[test]
    fn nested_entities_and_empty_sentences() {
        let widths = vec![40.0; 4];
        let input = Input {
            token_widths: &widths,
            entities: &[(0, 3), (0, 1)],
            relations: &[(0, 1, 20.0)],
            tag_widths: &[],
        };
        let l = layout(&input, &Params::default());
        check(&l, &input);
        let empty = layout(
            &Input {
                token_widths: &[],
                entities: &[],
                relations: &[],
                tag_widths: &[],
            },
            &Params::default(),
        );
        assert!(empty.lines.is_empty() && empty.tokens.is_empty());
    }
}
