//! Where tokens, entity boxes and relation arcs go in the sentence view, computed in plain
//! code so it can be tested: tokens wrap to the width, keeping an entity on one line when it
//! fits; arcs are stacked in levels above each line so that no two share a height where they
//! overlap; an arc between lines is drawn as two pieces, one on each end's line.

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
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub top: f32,
    pub token_top: f32,
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
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub tokens: Vec<Rect>,
    pub token_line: Vec<usize>,
    pub lines: Vec<Line>,
    /// One box per line an entity spans.
    pub entities: Vec<Vec<(usize, Rect)>>,
    pub arcs: Vec<Vec<ArcPiece>>,
    pub size: Vec2,
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
    let n = input.token_widths.len();
    let w = |t: usize| input.token_widths[t];
    // 1. Tokens: x positions and lines.
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
    let num_lines = if n == 0 { 0 } else { line + 1 };

    // 2. Entity segments per line (x only; y comes with the line geometry).
    let mut segments: Vec<Vec<(usize, f32, f32)>> = Vec::with_capacity(input.entities.len());
    for &(s, e) in input.entities {
        let mut segs: Vec<(usize, f32, f32)> = Vec::new();
        for k in s..e.min(n) {
            let (l, x0, x1) = (line_of[k], xs[k] - p.box_pad, xs[k] + w(k) + p.box_pad);
            match segs.last_mut() {
                Some(last) if last.0 == l => last.2 = x1,
                _ => segs.push((l, x0, x1)),
            }
        }
        segments.push(segs);
    }

    // 3. Arc ends: spread over the entity's first box, ordered by where the other end is.
    let anchor_line = |e: usize| segments[e].first().map_or(0, |s| s.0);
    let centre = |e: usize| segments[e].first().map_or(0.0, |s| (s.1 + s.2) / 2.0);
    let mut ends: Vec<Vec<(usize, bool)>> = vec![Vec::new(); input.entities.len()]; // (relation, is_head)
    for (r, &(h, tl, _)) in input.relations.iter().enumerate() {
        if h < segments.len() && tl < segments.len() && !segments[h].is_empty() && !segments[tl].is_empty() {
            ends[h].push((r, true));
            ends[tl].push((r, false));
        }
    }
    let mut anchor = vec![(0f32, 0f32); input.relations.len()]; // (head x, tail x)
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
            let x = seg.1 + (seg.2 - seg.1) * (j as f32 + 1.0) / (k as f32 + 1.0);
            if is_head {
                anchor[r].0 = x;
            } else {
                anchor[r].1 = x;
            }
        }
    }

    // 4. Arc pieces and their levels, line by line.
    let mut pieces: Vec<ArcPiece> = Vec::new();
    for (r, &(h, tl, label_width)) in input.relations.iter().enumerate() {
        if h >= segments.len() || tl >= segments.len() || segments[h].is_empty() || segments[tl].is_empty() {
            continue;
        }
        let (lh, lt) = (anchor_line(h), anchor_line(tl));
        let (xh, xt) = anchor[r];
        let piece =
            |line, x0: f32, x1: f32, left: bool, right: bool, arrow: Option<bool>, label: bool| ArcPiece {
                relation: r,
                line,
                x0,
                x1,
                level: 0,
                y: 0.0,
                left_leg: left.then_some(0.0),
                right_leg: right.then_some(0.0),
                arrow_at_right: arrow,
                label: label.then_some(Pos2::ZERO),
                label_width,
            };
        if lh == lt {
            let right_is_tail = xt >= xh;
            pieces.push(piece(
                lh,
                xh.min(xt),
                xh.max(xt),
                true,
                true,
                Some(right_is_tail),
                true,
            ));
        } else if lh < lt {
            pieces.push(piece(lh, xh, p.max_width, true, false, None, false));
            pieces.push(piece(lt, 0.0, xt, false, true, Some(true), true));
        } else {
            pieces.push(piece(lh, 0.0, xh, false, true, None, false));
            pieces.push(piece(lt, xt, p.max_width, true, false, Some(false), true));
        }
    }
    // Shorter pieces sit lower; a piece goes to the lowest level where it overlaps nothing.
    let extent = |a: &ArcPiece| {
        let mid = (a.x0 + a.x1) / 2.0;
        let half = if a.label.is_some() {
            a.label_width / 2.0 + p.arc_label_pad
        } else {
            0.0
        };
        (
            (a.x0).min(mid - half) - p.arc_label_pad,
            (a.x1).max(mid + half) + p.arc_label_pad,
        )
    };
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by(|&a, &b| {
        let (wa, wb) = (pieces[a].x1 - pieces[a].x0, pieces[b].x1 - pieces[b].x0);
        wa.partial_cmp(&wb)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let mut taken: Vec<Vec<Vec<(f32, f32)>>> = vec![Vec::new(); num_lines]; // line -> level -> intervals
    for i in order {
        let (lo, hi) = extent(&pieces[i]);
        let levels = &mut taken[pieces[i].line];
        let level = (0..)
            .find(|&lv| {
                levels
                    .get(lv)
                    .is_none_or(|iv: &Vec<(f32, f32)>| iv.iter().all(|&(a, b)| hi <= a || lo >= b))
            })
            .expect("some level is free");
        if levels.len() <= level {
            levels.resize(level + 1, Vec::new());
        }
        levels[level].push((lo, hi));
        pieces[i].level = level;
    }

    // 5. Line geometry, then y of everything.
    let mut lines = Vec::with_capacity(num_lines);
    let mut top = 0.0;
    for levels in &taken {
        let arc_area = if levels.is_empty() {
            p.arc_margin / 2.0
        } else {
            levels.len() as f32 * p.level_height + p.arc_margin
        };
        let token_top = top + arc_area;
        let bottom = token_top + p.token_height + p.box_pad + p.label_height + p.line_gap;
        lines.push(Line {
            top,
            token_top,
            bottom,
            levels: levels.len(),
        });
        top = bottom;
    }
    let tokens: Vec<Rect> = (0..n)
        .map(|k| {
            Rect::from_min_size(
                pos2(xs[k], lines[line_of[k]].token_top),
                vec2(w(k), p.token_height),
            )
        })
        .collect();
    let entities: Vec<Vec<(usize, Rect)>> = segments
        .iter()
        .map(|segs| {
            segs.iter()
                .map(|&(l, x0, x1)| {
                    let tt = lines[l].token_top;
                    (
                        l,
                        Rect::from_min_max(
                            pos2(x0, tt - p.box_pad),
                            pos2(x1, tt + p.token_height + p.box_pad),
                        ),
                    )
                })
                .collect()
        })
        .collect();
    let mut arcs: Vec<Vec<ArcPiece>> = vec![Vec::new(); input.relations.len()];
    for mut a in pieces {
        let l = &lines[a.line];
        let box_top = l.token_top - p.box_pad;
        a.y = box_top - p.arc_margin / 2.0 - (a.level as f32 + 0.5) * p.level_height;
        a.left_leg = a.left_leg.map(|_| box_top);
        a.right_leg = a.right_leg.map(|_| box_top);
        a.label = a.label.map(|_| pos2((a.x0 + a.x1) / 2.0, a.y));
        arcs[a.relation].push(a);
    }
    let width = tokens
        .iter()
        .map(|r| r.max.x)
        .fold(0.0, f32::max)
        .max(p.max_width.min(1e6));
    Layout {
        tokens,
        token_line: line_of,
        size: vec2(width, top),
        lines,
        entities,
        arcs,
    }
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

    fn check(layout: &Layout, input: &Input) {
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
                layout.arcs[r].iter().filter(|a| a.label.is_some()).count(),
                1,
                "one label"
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
        };
        let l = layout(&input, &Params::default());
        assert_eq!(l.lines.len(), 1);
        assert_eq!(l.arcs[0].len(), 1);
        assert_eq!(l.arcs[0][0].arrow_at_right, Some(true));
        check(&l, &input);
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
        };
        let l = layout(&input, &Params::default());
        check(&l, &input);
        let empty = layout(
            &Input {
                token_widths: &[],
                entities: &[],
                relations: &[],
            },
            &Params::default(),
        );
        assert!(empty.lines.is_empty() && empty.tokens.is_empty());
    }
}
