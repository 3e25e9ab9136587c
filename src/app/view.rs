//! The sentence view of the paper's Figure 1: tokens wrapped to the width, entities as
//! coloured boxes with their type under them, relations as labelled arcs above. Spans and arcs
//! are widgets with accessibility labels, so screen readers and tests find and click them.

use egui::{
    pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Role, Sense, Shape, Stroke, StrokeKind, Ui, WidgetInfo,
};

use super::command::Command;
use super::layout::{layout, Input, Layout, Params};
use super::state::{Mark, Selection};
use crate::corpus::{Provenance, Sentence};

/// Colour of an entity type: a fixed palette by position in the schema.
pub fn type_colour(index: usize) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(0x4e, 0x79, 0xa7),
        Color32::from_rgb(0xf2, 0x8e, 0x2b),
        Color32::from_rgb(0x59, 0xa1, 0x4f),
        Color32::from_rgb(0xe1, 0x57, 0x59),
        Color32::from_rgb(0x76, 0xb7, 0xb2),
        Color32::from_rgb(0xed, 0xc9, 0x48),
        Color32::from_rgb(0xb0, 0x7a, 0xa1),
        Color32::from_rgb(0x9c, 0x75, 0x5f),
    ];
    PALETTE[index % PALETTE.len()]
}

/// Interaction state the view keeps between frames.
#[derive(Default)]
pub struct SentenceView {
    drag_anchor: Option<usize>,
    drag_from_entity: Option<usize>,
    pub hovered_entity: Option<usize>,
}

/// Accessibility label of an entity.
pub fn entity_label(s: &Sentence, e: usize) -> String {
    let en = &s.entities[e];
    format!("entity {}: {}", en.label, s.tokens[en.start..en.end].join(" "))
}

/// Accessibility label of a relation.
pub fn relation_label(s: &Sentence, r: usize) -> String {
    let rel = &s.relations[r];
    let text = |e: usize| {
        s.entities
            .get(e)
            .map_or("?".to_string(), |en| s.tokens[en.start..en.end].join(" "))
    };
    format!("relation {}: {} -> {}", rel.label, text(rel.head), text(rel.tail))
}

fn faded(c: Color32, fade: bool) -> Color32 {
    if fade {
        c.gamma_multiply(0.25)
    } else {
        c
    }
}

impl SentenceView {
    /// Shows `s`; returns the commands the user's gestures make.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        s: &Sentence,
        entity_types: &[String],
        selection: &Selection,
        relation_head: Option<usize>,
        marks: Option<(&[Mark], &[Mark])>,
    ) -> Vec<Command> {
        let mark_colour = |m: Mark| match m {
            Mark::Correct => Color32::from_rgb(0x3c, 0xb0, 0x4a),
            Mark::Spurious => Color32::from_rgb(0xf0, 0x90, 0x20),
            Mark::Missed => Color32::from_rgb(0xe0, 0x3c, 0x3c),
        };
        let mut commands = Vec::new();
        let font = FontId::proportional(15.0);
        let small = FontId::proportional(11.0);
        let text_colour = ui.visuals().text_color();
        let painter = ui.painter().clone();
        let widths: Vec<f32> = s
            .tokens
            .iter()
            .map(|t| {
                painter
                    .layout_no_wrap(t.clone(), font.clone(), text_colour)
                    .size()
                    .x
            })
            .collect();
        let spans: Vec<(usize, usize)> = s.entities.iter().map(|e| (e.start, e.end)).collect();
        let rels: Vec<(usize, usize, f32)> = s
            .relations
            .iter()
            .map(|r| {
                (
                    r.head,
                    r.tail,
                    painter
                        .layout_no_wrap(r.label.clone(), small.clone(), text_colour)
                        .size()
                        .x
                        + 8.0,
                )
            })
            .collect();
        let params = Params {
            max_width: (ui.available_width() - 16.0).max(120.0),
            ..Params::default()
        };
        let lay: Layout = layout(
            &Input {
                token_widths: &widths,
                entities: &spans,
                relations: &rels,
            },
            &params,
        );
        let (rect, _) = ui.allocate_exact_size(lay.size + vec2(16.0, 8.0), Sense::hover());
        let origin = rect.min + vec2(8.0, 4.0);
        let at = |r: Rect| r.translate(origin.to_vec2());
        let id = ui.scope_id().with("sentence-view");

        let hovered = self.hovered_entity.filter(|&e| e < s.entities.len());
        let touches = |r: usize| hovered.is_none_or(|e| s.relations[r].head == e || s.relations[r].tail == e);
        let entity_lit = |e: usize| {
            hovered.is_none_or(|h| {
                h == e
                    || s.relations
                        .iter()
                        .any(|r| (r.head == h && r.tail == e) || (r.tail == h && r.head == e))
            })
        };
        let type_index = |label: &str| {
            entity_types
                .iter()
                .position(|t| t == label)
                .unwrap_or(entity_types.len())
        };

        // Tokens: click selects one, a drag selects a range.
        let selected_tokens = selection.token_range();
        let pointer = ui.input(|i| i.pointer.interact_pos());
        let token_at = |p: Pos2| {
            lay.tokens
                .iter()
                .position(|r| at(*r).expand2(vec2(params.token_gap / 2.0, 4.0)).contains(p))
        };
        for (i, r) in lay.tokens.iter().enumerate() {
            let r = at(*r);
            let resp = ui.interact(r, id.with(("token", i)), Sense::click_and_drag());
            resp.widget_info(|| {
                WidgetInfo::labeled(Role::Button, true, format!("token {i}: {}", s.tokens[i]))
            });
            if selected_tokens.is_some_and(|(a, b)| i >= a && i < b) {
                painter.rect_filled(r.expand(1.0), 3.0, ui.visuals().selection.bg_fill);
            }
            if resp.drag_started() {
                self.drag_anchor = Some(i);
            }
            if resp.clicked() {
                commands.push(Command::SelectTokens { start: i, end: i + 1 });
            }
        }
        if let Some(anchor) = self.drag_anchor {
            if let Some(t) = pointer.and_then(token_at) {
                commands.push(Command::SelectTokens {
                    start: anchor.min(t),
                    end: anchor.max(t) + 1,
                });
            }
            if ui.input(|i| !i.pointer.any_down()) {
                self.drag_anchor = None;
            }
        }

        // Entities: a box around the tokens, the type under it. The type tag is the handle:
        // click to select, drag onto another entity to make a relation.
        let mut new_hover = None;
        for (e, segs) in lay.entities.iter().enumerate() {
            let en = &s.entities[e];
            let colour = faded(type_colour(type_index(&en.label)), !entity_lit(e));
            let is_selected = *selection == Selection::Entity(e) || relation_head == Some(e);
            // In the diff view the outline says right, spurious or missed.
            let outline = marks
                .and_then(|m| m.0.get(e).copied())
                .map_or(colour, mark_colour);
            for (k, (_, r)) in segs.iter().enumerate() {
                let r = at(*r);
                painter.rect_filled(r, 4.0, colour.gamma_multiply(0.18));
                let stroke = if is_selected || marks.is_some() {
                    Stroke::new(2.5, outline)
                } else {
                    Stroke::new(1.2, outline)
                };
                painter.rect_stroke(r, 4.0, stroke, StrokeKind::Outside);
                // Entities with the same span (a diff of a retyped entity, say) share the
                // space under the box side by side.
                let same: Vec<usize> = (0..s.entities.len())
                    .filter(|&o| s.entities[o].same_span(en))
                    .collect();
                let slot = same.iter().position(|&o| o == e).unwrap_or(0) as f32;
                let width = r.width() / same.len().max(1) as f32;
                let tag = Rect::from_min_size(
                    pos2(r.min.x + slot * width, r.max.y + 1.0),
                    vec2(width, params.label_height),
                );
                if k == 0 {
                    let mut text = en.label.clone();
                    if matches!(en.provenance, Provenance::Edited | Provenance::Accepted) {
                        text.push('*');
                    }
                    painter.text(tag.center(), Align2::CENTER_CENTER, text, small.clone(), colour);
                }
                let resp = ui.interact(tag, id.with(("entity", e, k)), Sense::click_and_drag());
                if k == 0 {
                    let label = entity_label(s, e);
                    resp.widget_info(|| WidgetInfo::selected(Role::Button, true, is_selected, &label));
                }
                if resp.hovered() || resp.dragged() {
                    new_hover = Some(e);
                }
                if resp.clicked() {
                    commands.push(Command::SelectEntity(e));
                }
                if resp.secondary_clicked() {
                    commands.push(Command::RejectEntity(e));
                }
                if resp.drag_started() {
                    self.drag_from_entity = Some(e);
                }
            }
        }
        if let Some(from) = self.drag_from_entity {
            if let (Some(p), Some((_, r))) = (pointer, lay.entities[from].first()) {
                painter.line_segment(
                    [at(*r).center_top(), p],
                    Stroke::new(1.5, ui.visuals().text_color()),
                );
            }
            if ui.input(|i| i.pointer.any_released() || !i.pointer.any_down()) {
                let target = pointer.and_then(|p| {
                    lay.entities.iter().position(|segs| {
                        segs.iter()
                            .any(|(_, r)| at(*r).expand2(vec2(0.0, params.label_height)).contains(p))
                    })
                });
                if let Some(t) = target.filter(|&t| t != from) {
                    commands.extend([
                        Command::SelectEntity(from),
                        Command::StartRelation,
                        Command::SelectEntity(t),
                    ]);
                }
                self.drag_from_entity = None;
            }
        }
        self.hovered_entity = new_hover;

        // Relations: legs down onto the boxes, an arrow at the tail, the label on the arc.
        let arc_colour = ui.visuals().text_color();
        for (r, pieces) in lay.arcs.iter().enumerate() {
            let rel = &s.relations[r];
            let is_selected = *selection == Selection::Relation(r);
            let predicted = rel.provenance == Provenance::Predicted;
            let base = marks
                .and_then(|m| m.1.get(r).copied())
                .map_or(arc_colour, mark_colour);
            let c = faded(
                if is_selected {
                    ui.visuals().selection.stroke.color
                } else {
                    base
                },
                !touches(r),
            );
            let stroke = Stroke::new(if is_selected { 2.5 } else { 1.2 }, c);
            for piece in pieces {
                let (x0, x1) = (origin.x + piece.x0, origin.x + piece.x1);
                let y = origin.y + piece.y;
                let mut path = Vec::new();
                if let Some(leg) = piece.left_leg {
                    path.push(pos2(x0, origin.y + leg));
                }
                path.push(pos2(x0, y));
                path.push(pos2(x1, y));
                if let Some(leg) = piece.right_leg {
                    path.push(pos2(x1, origin.y + leg));
                }
                if predicted {
                    for w in path.windows(2) {
                        painter.extend(Shape::dashed_line(w, stroke, 4.0, 3.0));
                    }
                } else {
                    painter.add(Shape::line(path, stroke));
                }
                if let Some(right) = piece.arrow_at_right {
                    let (x, leg) = if right {
                        (x1, piece.right_leg)
                    } else {
                        (x0, piece.left_leg)
                    };
                    if let Some(leg) = leg {
                        let tip = pos2(x, origin.y + leg);
                        painter.add(Shape::convex_polygon(
                            vec![tip, tip + vec2(-4.0, -7.0), tip + vec2(4.0, -7.0)],
                            c,
                            Stroke::NONE,
                        ));
                    }
                }
                if let Some(lp) = piece.label {
                    let lp = lp + origin.to_vec2();
                    let box_rect = Rect::from_center_size(lp, vec2(piece.label_width, 14.0));
                    painter.rect_filled(box_rect, 3.0, ui.visuals().panel_fill);
                    painter.text(lp, Align2::CENTER_CENTER, &rel.label, small.clone(), c);
                    let resp = ui.interact(box_rect, id.with(("relation", r)), Sense::click());
                    let label = relation_label(s, r);
                    resp.widget_info(|| WidgetInfo::selected(Role::Button, true, is_selected, &label));
                    if resp.clicked() {
                        commands.push(Command::SelectRelation(r));
                    }
                    if resp.secondary_clicked() {
                        commands.push(Command::RejectRelation(r));
                    }
                    if let Some(p) = rel.score.filter(|_| predicted) {
                        resp.on_hover_text(format!("probability {p:.3}"));
                    }
                }
            }
        }

        // Token text on top of the boxes.
        for (i, r) in lay.tokens.iter().enumerate() {
            let in_lit_entity = s
                .entities
                .iter()
                .enumerate()
                .any(|(e, en)| i >= en.start && i < en.end && entity_lit(e));
            let dim = hovered.is_some() && !in_lit_entity;
            painter.text(
                at(*r).left_center(),
                Align2::LEFT_CENTER,
                &s.tokens[i],
                font.clone(),
                faded(text_colour, dim),
            );
        }
        commands
    }
}
