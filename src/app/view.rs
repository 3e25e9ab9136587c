//! The sentence view of the paper's Figure 1: tokens wrapped to the width, entities as
//! coloured boxes with their type under them, relations as labelled arcs above. Spans and arcs
//! are widgets with accessibility labels, so screen readers and tests find and click them.

use egui::{
    pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Role, Sense, Shape, Stroke, StrokeKind, Ui, WidgetInfo,
};

use super::command::Command;
use super::layout::{layout, Input, Layout, Params};
use super::state::Selection;
use crate::corpus::{Provenance, Sentence};
use crate::eval::compare::Mark;

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

/// Search matches: a yellow no entity type has, in the sentence and the sentence list.
pub const SEARCH_HIGHLIGHT: Color32 = Color32::from_rgb(0xff, 0xd7, 0x00);

/// An sRGB channel in linear light (0 to 1).
fn linear(v: u8) -> f32 {
    let v = v as f32 / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(c: Color32) -> f32 {
    0.2126 * linear(c.r()) + 0.7152 * linear(c.g()) + 0.0722 * linear(c.b())
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// `c` darkened (on a light background) or lightened (on a dark one) just enough for text
/// to meet WCAG AA (4.5:1) against `bg`; unchanged when it already does.
pub fn readable(c: Color32, bg: Color32) -> Color32 {
    let towards = if luminance(bg) > 0.18 {
        Color32::BLACK
    } else {
        Color32::WHITE
    };
    let mut t = 0.0;
    let mut out = c;
    while contrast(out, bg) < 4.5 && t < 1.0 {
        t += 0.05;
        out = c.lerp_to_gamma(towards, t);
    }
    out
}

/// Interaction state the view keeps between frames.
#[derive(Default)]
pub struct SentenceView {
    drag_anchor: Option<usize>,
    drag_from_entity: Option<usize>,
    pub hovered_entity: Option<usize>,
    /// BIO tag rows to draw under the tokens (none unless the BIO view is on).
    pub bio: Vec<BioRow>,
    /// Predictions are being judged (Predicted and Diff views): span boxes and arcs take
    /// clicks, as their tags and labels do.
    pub judging: bool,
    /// The tokens the search matches, marked (empty: no search).
    pub search_hits: Vec<bool>,
}

/// One row of BIO tags, a tag per token; `differs` marks the tags that are not gold's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BioRow {
    pub name: &'static str,
    pub tags: Vec<String>,
    pub differs: Vec<bool>,
}

impl BioRow {
    /// The tags the model's CRF is trained on for `s`: overlapping entities resolved as in
    /// training (the longer span kept).
    pub fn of(name: &'static str, s: &Sentence) -> BioRow {
        let mut flat = s.clone();
        crate::corpus::overlap::remove_overlaps(&mut flat);
        let tags = crate::corpus::bio::encode(flat.tokens.len(), &flat.entities)
            .map(|t| t.iter().map(|t| t.to_string()).collect())
            .unwrap_or_else(|_| vec!["?".into(); flat.tokens.len()]);
        BioRow {
            name,
            differs: vec![false; tags.len()],
            tags,
        }
    }

    /// This row with its tags that differ from `gold`'s marked.
    pub fn against(mut self, gold: &BioRow) -> BioRow {
        self.differs = self.tags.iter().zip(&gold.tags).map(|(a, b)| a != b).collect();
        self
    }
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

/// How an outline or arc is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStyle {
    Solid,
    Dashed,
    Dotted,
}

/// How the diff view tells right, spurious and missed apart: by colour (from the Okabe–Ito
/// palette, chosen to stay apart for protan, deutan and tritan colour vision), by line style
/// (which survives any colour vision, and print) and by a glyph before the type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkStyle {
    pub colour: Color32,
    pub line: LineStyle,
    pub glyph: &'static str,
}

pub fn mark_style(m: Mark) -> MarkStyle {
    match m {
        Mark::Correct => MarkStyle {
            colour: Color32::from_rgb(0x00, 0x9e, 0x73),
            line: LineStyle::Solid,
            glyph: "=",
        },
        Mark::Spurious => MarkStyle {
            colour: Color32::from_rgb(0xe6, 0x9f, 0x00),
            line: LineStyle::Dashed,
            glyph: "+",
        },
        Mark::Missed => MarkStyle {
            colour: Color32::from_rgb(0xd5, 0x5e, 0x00),
            line: LineStyle::Dotted,
            glyph: "−",
        },
    }
}

fn mark_colour(m: Mark) -> Color32 {
    mark_style(m).colour
}

/// Strokes `path` (a polyline) in `style`.
fn stroke_path(painter: &egui::Painter, path: &[Pos2], stroke: Stroke, style: LineStyle) {
    match style {
        LineStyle::Solid => {
            painter.add(Shape::line(path.to_vec(), stroke));
        }
        LineStyle::Dashed => {
            for w in path.windows(2) {
                painter.extend(Shape::dashed_line(w, stroke, 5.0, 3.0));
            }
        }
        LineStyle::Dotted => {
            for w in path.windows(2) {
                painter.extend(Shape::dotted_line(w, stroke.color, 3.5, stroke.width * 0.8));
            }
        }
    }
}

/// What the view is asked to show besides the sentence.
struct Marking<'a> {
    entity_types: &'a [String],
    selection: &'a Selection,
    relation_head: Option<usize>,
    /// Diff marks of the entities and relations, in the diff view.
    marks: Option<(&'a [Mark], &'a [Mark])>,
    /// Span boxes and arcs take clicks themselves, not only their tags and labels.
    boxes_clickable: bool,
    /// A flag per token the search matches (empty: none).
    search_hits: &'a [bool],
}

impl Marking<'_> {
    /// An entity's tag text: its type (with `*` once edited), after the diff's glyph.
    fn entity_text(&self, s: &Sentence, e: usize) -> String {
        let en = &s.entities[e];
        let glyph = self.marks.and_then(|m| m.0.get(e).copied());
        with_glyph(glyph, shown_label(&en.label, en.provenance))
    }

    fn relation_text(&self, s: &Sentence, r: usize) -> String {
        let rel = &s.relations[r];
        let glyph = self.marks.and_then(|m| m.1.get(r).copied());
        with_glyph(glyph, shown_label(&rel.label, rel.provenance))
    }
}

fn with_glyph(mark: Option<Mark>, text: String) -> String {
    match mark {
        Some(m) => format!("{} {text}", mark_style(m).glyph),
        None => text,
    }
}

/// One frame's drawing of a sentence: its layout placed at `origin`, and what it needs to
/// paint and to turn gestures into commands.
struct Frame<'a> {
    s: &'a Sentence,
    m: &'a Marking<'a>,
    lay: Layout,
    params: Params,
    origin: Pos2,
    id: egui::Id,
    painter: egui::Painter,
    font: FontId,
    small: FontId,
    hovered: Option<usize>,
    commands: Vec<Command>,
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
        let m = Marking {
            entity_types,
            selection,
            relation_head,
            marks,
            boxes_clickable: self.judging,
            search_hits: if self.search_hits.len() == s.tokens.len() {
                &self.search_hits
            } else {
                &[]
            },
        };
        let bio: Vec<&BioRow> = self
            .bio
            .iter()
            .filter(|r| r.tags.len() == s.tokens.len())
            .collect();
        let mut f = Frame::new(ui, s, &m, self.hovered_entity, &bio);
        f.tokens(ui, &mut self.drag_anchor);
        self.hovered_entity = f.entities(ui, &mut self.drag_from_entity);
        f.drag_relation(ui, &mut self.drag_from_entity);
        f.arcs(ui);
        f.token_text(ui);
        f.bio_rows(ui, &bio);
        f.commands
    }
}

impl<'a> Frame<'a> {
    fn new(
        ui: &mut Ui,
        s: &'a Sentence,
        m: &'a Marking<'a>,
        hovered: Option<usize>,
        bio: &[&BioRow],
    ) -> Frame<'a> {
        let font = FontId::proportional(15.0);
        // Tags and arc labels: 12 px at least, to stay legible at 100% zoom.
        let small = FontId::proportional(12.0);
        let painter = ui.painter().clone();
        let text_colour = ui.visuals().text_color();
        let width = |t: &str, f: &FontId| {
            painter
                .layout_no_wrap(t.to_string(), f.clone(), text_colour)
                .size()
                .x
        };
        // A token is as wide as its widest BIO tag, so that tags never run into each other.
        let widths: Vec<f32> = s
            .tokens
            .iter()
            .enumerate()
            .map(|(k, t)| {
                bio.iter()
                    .map(|r| width(&r.tags[k], &small))
                    .fold(width(t, &font), f32::max)
            })
            .collect();
        let spans: Vec<(usize, usize)> = s.entities.iter().map(|e| (e.start, e.end)).collect();
        let rels: Vec<(usize, usize, f32)> = s
            .relations
            .iter()
            .enumerate()
            .map(|(i, r)| (r.head, r.tail, width(&m.relation_text(s, i), &small) + 8.0))
            .collect();
        let params = Params {
            max_width: (ui.available_width() - 16.0).max(120.0),
            bio_rows: bio.len(),
            ..Params::default()
        };
        let tag_widths: Vec<f32> = s
            .entities
            .iter()
            .enumerate()
            .map(|(i, _)| width(&m.entity_text(s, i), &small) + 6.0)
            .collect();
        let input = Input {
            token_widths: &widths,
            entities: &spans,
            relations: &rels,
            tag_widths: &tag_widths,
        };
        let lay = layout(&input, &params);
        let (rect, _) = ui.allocate_exact_size(lay.size + vec2(16.0, 8.0), Sense::hover());
        Frame {
            s,
            m,
            lay,
            params,
            origin: rect.min + vec2(8.0, 4.0),
            id: ui.scope_id().with("sentence-view"),
            painter,
            font,
            small,
            hovered: hovered.filter(|&e| e < s.entities.len()),
            commands: Vec::new(),
        }
    }

    fn at(&self, r: Rect) -> Rect {
        r.translate(self.origin.to_vec2())
    }

    /// Whether relation `r` touches the hovered entity (all do when none is hovered).
    fn touches(&self, r: usize) -> bool {
        let rel = &self.s.relations[r];
        self.hovered.is_none_or(|e| rel.head == e || rel.tail == e)
    }

    /// Whether entity `e` is the hovered one or related to it (all are when none is hovered).
    fn entity_lit(&self, e: usize) -> bool {
        self.hovered.is_none_or(|h| {
            h == e
                || self
                    .s
                    .relations
                    .iter()
                    .any(|r| (r.head == h && r.tail == e) || (r.tail == h && r.head == e))
        })
    }

    fn type_index(&self, label: &str) -> usize {
        let types = self.m.entity_types;
        types.iter().position(|t| t == label).unwrap_or(types.len())
    }

    /// Tokens: click selects one, a drag selects a range.
    fn tokens(&mut self, ui: &mut Ui, drag_anchor: &mut Option<usize>) {
        let selected = self.m.selection.token_range();
        for (i, r) in self.lay.tokens.iter().enumerate() {
            let r = self.at(*r);
            let resp = ui.interact(r, self.id.with(("token", i)), Sense::click_and_drag());
            let hit = self.m.search_hits.get(i).copied().unwrap_or(false);
            resp.widget_info(|| {
                let found = if hit { " (search match)" } else { "" };
                WidgetInfo::labeled(
                    Role::Button,
                    true,
                    format!("token {i}: {}{found}", self.s.tokens[i]),
                )
            });
            if hit {
                self.search_mark(ui, r);
            }
            if selected.is_some_and(|(a, b)| i >= a && i < b) {
                self.painter
                    .rect_filled(r.expand(1.0), 3.0, ui.visuals().selection.bg_fill);
            }
            if resp.drag_started() {
                *drag_anchor = Some(i);
            }
            if resp.clicked() {
                self.commands.push(Command::SelectTokens { start: i, end: i + 1 });
            }
        }
        let Some(anchor) = *drag_anchor else { return };
        let pointer = ui.input(|i| i.pointer.interact_pos());
        let gap = vec2(self.params.token_gap / 2.0, 4.0);
        let token_at = |p: Pos2| {
            self.lay
                .tokens
                .iter()
                .position(|r| self.at(*r).expand2(gap).contains(p))
        };
        if let Some(t) = pointer.and_then(token_at) {
            self.commands.push(Command::SelectTokens {
                start: anchor.min(t),
                end: anchor.max(t) + 1,
            });
        }
        if ui.input(|i| !i.pointer.any_down()) {
            *drag_anchor = None;
        }
    }

    /// A search match: a highlight behind the token and a bar under it (seen through a
    /// span's tint and by those who cannot tell the colour).
    fn search_mark(&self, ui: &Ui, r: Rect) {
        let colour = SEARCH_HIGHLIGHT;
        self.painter
            .rect_filled(r.expand(2.0), 3.0, colour.gamma_multiply(0.35));
        let bar = Rect::from_min_max(pos2(r.min.x, r.max.y), pos2(r.max.x, r.max.y + 2.5));
        self.painter
            .rect_filled(bar, 0.0, readable(colour, ui.visuals().panel_fill));
    }

    /// Entities: a box around the tokens, the type under it. The type tag is the handle:
    /// click to select, drag onto another entity to make a relation. Returns the entity the
    /// pointer is over.
    fn entities(&mut self, ui: &mut Ui, drag_from: &mut Option<usize>) -> Option<usize> {
        let mut hover = None;
        // Outer (taller) boxes first, so the inner ones are painted over them.
        let mut order: Vec<usize> = (0..self.lay.entities.len()).collect();
        order.sort_by_key(|&e| std::cmp::Reverse(self.lay.entity_levels[e]));
        for e in order {
            for k in 0..self.lay.entities[e].len() {
                let resp = self.entity_segment(ui, e, k);
                if resp.hovered() || resp.dragged() {
                    hover = Some(e);
                }
                if resp.clicked() {
                    self.commands.push(Command::SelectEntity(e));
                }
                if resp.secondary_clicked() {
                    self.commands.push(Command::RejectEntity(e));
                }
                if resp.drag_started() {
                    *drag_from = Some(e);
                }
            }
        }
        hover
    }

    /// Segment `k` of entity `e` (an entity wrapped over lines has several), with its tag.
    fn entity_segment(&mut self, ui: &mut Ui, e: usize, k: usize) -> egui::Response {
        let en = &self.s.entities[e];
        let colour = faded(type_colour(self.type_index(&en.label)), !self.entity_lit(e));
        let is_selected = *self.m.selection == Selection::Entity(e) || self.m.relation_head == Some(e);
        // In the diff view the outline says right, spurious or missed.
        let mark = self.m.marks.and_then(|m| m.0.get(e).copied()).map(mark_style);
        let outline = mark.map_or(colour, |m| faded(m.colour, !self.entity_lit(e)));
        let r = self.at(self.lay.entities[e][k].1);
        // The tint covers the tokens only: an outer box's lower part brackets inner tags.
        let tokens = Rect::from_min_max(
            r.min,
            pos2(
                r.max.x,
                r.min.y + self.params.token_height + 2.0 * self.params.box_pad,
            ),
        );
        self.painter.rect_filled(tokens, 4.0, colour.gamma_multiply(0.18));
        let width = if is_selected || self.m.marks.is_some() {
            2.5
        } else {
            1.2
        };
        match mark {
            Some(m) if m.line != LineStyle::Solid => {
                let r = r.expand(width / 2.0);
                let corners = [
                    r.left_top(),
                    r.right_top(),
                    r.right_bottom(),
                    r.left_bottom(),
                    r.left_top(),
                ];
                stroke_path(&self.painter, &corners, Stroke::new(width, outline), m.line);
            }
            _ => {
                self.painter
                    .rect_stroke(r, 4.0, Stroke::new(width, outline), StrokeKind::Outside);
            }
        }
        let tag = self.at(self.lay.tags[e][k]);
        if k == 0 {
            let text = self.m.entity_text(self.s, e);
            // In the diff the glyph carries the mark and the type stays in a neutral colour.
            let bg = ui.visuals().panel_fill;
            let tag_colour = match mark {
                Some(_) => faded(ui.visuals().text_color(), !self.entity_lit(e)),
                None => faded(
                    readable(type_colour(self.type_index(&en.label)), bg),
                    !self.entity_lit(e),
                ),
            };
            self.painter.text(
                tag.center(),
                Align2::CENTER_CENTER,
                text,
                self.small.clone(),
                tag_colour,
            );
        }
        let resp = ui.interact(tag, self.id.with(("entity", e, k)), Sense::click_and_drag());
        if k == 0 {
            let label = entity_label(self.s, e);
            resp.widget_info(|| WidgetInfo::selected(Role::Button, true, is_selected, &label));
        }
        if !self.m.boxes_clickable {
            return resp;
        }
        // Judging predictions, the whole span box takes clicks too (tokens are not selected
        // there), the inner box over an outer one.
        let over_tokens = Rect::from_min_max(
            r.min,
            pos2(
                r.max.x,
                r.min.y + self.params.token_height + 2.0 * self.params.box_pad,
            ),
        );
        let whole = ui.interact(over_tokens, self.id.with(("entity box", e, k)), Sense::click());
        resp.union(whole)
    }

    /// A drag from a type tag: a line to the pointer, and a relation when it ends on another.
    fn drag_relation(&mut self, ui: &mut Ui, drag_from: &mut Option<usize>) {
        let Some(from) = *drag_from else { return };
        let pointer = ui.input(|i| i.pointer.interact_pos());
        if let (Some(p), Some((_, r))) = (pointer, self.lay.entities[from].first()) {
            let stroke = Stroke::new(1.5, ui.visuals().text_color());
            self.painter.line_segment([self.at(*r).center_top(), p], stroke);
        }
        if !ui.input(|i| i.pointer.any_released() || !i.pointer.any_down()) {
            return;
        }
        let reach = vec2(0.0, self.params.label_height);
        let target = pointer.and_then(|p| {
            self.lay
                .entities
                .iter()
                .position(|segs| segs.iter().any(|(_, r)| self.at(*r).expand2(reach).contains(p)))
        });
        if let Some(t) = target.filter(|&t| t != from) {
            self.commands.push(Command::Connect { head: from, tail: t });
        }
        *drag_from = None;
    }

    /// Relations: legs down onto the boxes, an arrow at the tail, the label on the arc.
    fn arcs(&mut self, ui: &mut Ui) {
        for r in 0..self.lay.arcs.len() {
            let is_selected = *self.m.selection == Selection::Relation(r);
            let base = self
                .m
                .marks
                .and_then(|m| m.1.get(r).copied())
                .map_or(ui.visuals().text_color(), mark_colour);
            let c = if is_selected {
                ui.visuals().selection.stroke.color
            } else {
                base
            };
            let c = faded(c, !self.touches(r));
            let stroke = Stroke::new(if is_selected { 2.5 } else { 1.2 }, c);
            let style = match self.m.marks.and_then(|m| m.1.get(r).copied()) {
                Some(mark) => mark_style(mark).line,
                None if self.s.relations[r].provenance == Provenance::Predicted => LineStyle::Dashed,
                None => LineStyle::Solid,
            };
            for k in 0..self.lay.arcs[r].len() {
                self.arc_piece(r, k, stroke, style);
                self.arc_label(ui, r, k, c, is_selected);
                if self.m.boxes_clickable {
                    self.arc_line_clicks(ui, r, k);
                }
            }
        }
    }

    fn arc_piece(&self, r: usize, k: usize, stroke: Stroke, style: LineStyle) {
        let piece = &self.lay.arcs[r][k];
        let o = self.origin;
        let (x0, x1, y) = (o.x + piece.x0, o.x + piece.x1, o.y + piece.y);
        let mut path = Vec::new();
        if let Some(leg) = piece.left_leg {
            path.push(pos2(x0, o.y + leg));
        }
        path.push(pos2(x0, y));
        path.push(pos2(x1, y));
        if let Some(leg) = piece.right_leg {
            path.push(pos2(x1, o.y + leg));
        }
        stroke_path(&self.painter, &path, stroke, style);
        let Some(right) = piece.arrow_at_right else { return };
        let (x, leg) = if right {
            (x1, piece.right_leg)
        } else {
            (x0, piece.left_leg)
        };
        if let Some(leg) = leg {
            let tip = pos2(x, o.y + leg);
            let arrow = vec![tip, tip + vec2(-4.0, -7.0), tip + vec2(4.0, -7.0)];
            self.painter
                .add(Shape::convex_polygon(arrow, stroke.color, Stroke::NONE));
        }
    }

    /// The horizontal stretch of an arc piece as a click target (a few pixels either side).
    fn arc_line_clicks(&mut self, ui: &mut Ui, r: usize, k: usize) {
        let piece = &self.lay.arcs[r][k];
        let o = self.origin;
        let line = Rect::from_min_max(
            pos2(o.x + piece.x0, o.y + piece.y - 4.0),
            pos2(o.x + piece.x1, o.y + piece.y + 4.0),
        );
        let resp = ui.interact(line, self.id.with(("arc line", r, k)), Sense::click());
        let label = format!("line of {}", relation_label(self.s, r));
        resp.widget_info(|| WidgetInfo::labeled(Role::Button, true, &label));
        if resp.clicked() {
            self.commands.push(Command::SelectRelation(r));
        }
        if resp.secondary_clicked() {
            self.commands.push(Command::RejectRelation(r));
        }
    }

    fn arc_label(&mut self, ui: &mut Ui, r: usize, k: usize, c: Color32, is_selected: bool) {
        let piece = &self.lay.arcs[r][k];
        let Some(lp) = piece.label else { return };
        let rel = &self.s.relations[r];
        let lp = lp + self.origin.to_vec2();
        let box_rect = Rect::from_center_size(lp, vec2(piece.label_width, 14.0));
        self.painter.rect_filled(box_rect, 3.0, ui.visuals().panel_fill);
        self.painter.text(
            lp,
            Align2::CENTER_CENTER,
            self.m.relation_text(self.s, r),
            self.small.clone(),
            readable(c, ui.visuals().panel_fill),
        );
        let resp = ui.interact(box_rect, self.id.with(("relation", r, k)), Sense::click());
        if !piece.echo {
            // The echo on a stub takes clicks too, but screen readers name the arc once.
            let label = relation_label(self.s, r);
            resp.widget_info(|| WidgetInfo::selected(Role::Button, true, is_selected, &label));
        }
        if resp.clicked() {
            self.commands.push(Command::SelectRelation(r));
        }
        if resp.secondary_clicked() {
            self.commands.push(Command::RejectRelation(r));
        }
        if let Some(p) = rel.score.filter(|_| rel.provenance == Provenance::Predicted) {
            resp.on_hover_text(format!("probability {p:.3}"));
        }
    }

    /// Token text on top of the boxes.
    fn token_text(&self, ui: &Ui) {
        let text_colour = ui.visuals().text_color();
        for (i, r) in self.lay.tokens.iter().enumerate() {
            let in_lit_entity = self
                .s
                .entities
                .iter()
                .enumerate()
                .any(|(e, en)| i >= en.start && i < en.end && self.entity_lit(e));
            let dim = self.hovered.is_some() && !in_lit_entity;
            let colour = faded(text_colour, dim);
            self.painter.text(
                self.at(*r).left_center(),
                Align2::LEFT_CENTER,
                &self.s.tokens[i],
                self.font.clone(),
                colour,
            );
        }
    }
}

impl Frame<'_> {
    /// The BIO rows under the tokens; a predicted tag that is not gold's in the error colour.
    fn bio_rows(&self, ui: &mut Ui, rows: &[&BioRow]) {
        let weak = ui.visuals().weak_text_color();
        let wrong = ui.visuals().error_fg_color;
        for (row, r) in rows.iter().enumerate() {
            for (k, tag) in r.tags.iter().enumerate() {
                let rect = self.at(self.lay.bio_rect(k, row, &self.params));
                let colour = if r.differs[k] { wrong } else { weak };
                self.painter.text(
                    rect.left_center(),
                    Align2::LEFT_CENTER,
                    tag,
                    self.small.clone(),
                    colour,
                );
                let label = format!("{} BIO tag of token {k}: {tag}", r.name);
                ui.interact(rect, self.id.with(("bio", row, k)), Sense::hover())
                    .widget_info(|| WidgetInfo::labeled(Role::Label, true, label.clone()));
            }
        }
    }
}

/// A type as drawn: with `*` once the user edited or accepted it, for entities and relations.
fn shown_label(label: &str, provenance: Provenance) -> String {
    match provenance {
        Provenance::Edited | Provenance::Accepted => format!("{label}*"),
        _ => label.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sRGB seen with full protan, deutan or tritan colour vision (Machado, Oliveira and
    /// Fernandes 2009, severity 1, applied in linear RGB).
    fn simulate(c: Color32, m: &[[f32; 3]; 3]) -> [f32; 3] {
        let srgb = |v: f32| {
            let v = v.clamp(0.0, 1.0);
            255.0
                * if v <= 0.003_130_8 {
                    12.92 * v
                } else {
                    1.055 * v.powf(1.0 / 2.4) - 0.055
                }
        };
        let l = [linear(c.r()), linear(c.g()), linear(c.b())];
        let row = |i: usize| srgb(m[i][0] * l[0] + m[i][1] * l[1] + m[i][2] * l[2]);
        [row(0), row(1), row(2)]
    }

    #[test]
    fn tag_colours_are_made_readable_on_the_dark_and_the_light_theme() {
        let colours: Vec<Color32> = (0..8)
            .map(type_colour)
            .chain([Mark::Correct, Mark::Spurious, Mark::Missed].map(mark_colour))
            .collect();
        for bg in [
            egui::Visuals::dark().panel_fill,
            egui::Visuals::light().panel_fill,
        ] {
            for &c in &colours {
                let r = readable(c, bg);
                assert!(contrast(r, bg) >= 4.5, "{c:?} on {bg:?}: {:.2}", contrast(r, bg));
                if contrast(c, bg) >= 4.5 {
                    assert_eq!(r, c, "a readable colour is kept");
                }
            }
        }
        // Some of the palette needed it: orange on white is 2.3:1.
        let light = egui::Visuals::light().panel_fill;
        assert!(contrast(type_colour(1), light) < 4.5);
    }

    #[test]
    fn right_spurious_and_missed_differ_in_colour_for_every_colour_vision_style_and_glyph() {
        const VISIONS: [[[f32; 3]; 3]; 4] = [
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [
                [0.152286, 1.052583, -0.204868],
                [0.114503, 0.786281, 0.099216],
                [-0.003882, -0.048116, 1.051998],
            ],
            [
                [0.367322, 0.860646, -0.227968],
                [0.280085, 0.672501, 0.047413],
                [-0.011820, 0.042940, 0.968881],
            ],
            [
                [1.255528, -0.076749, -0.178779],
                [-0.078411, 0.930809, 0.147602],
                [0.004733, 0.691367, 0.303900],
            ],
        ];
        let marks = [Mark::Correct, Mark::Spurious, Mark::Missed];
        let styles: Vec<MarkStyle> = marks.iter().map(|&m| mark_style(m)).collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a.line, b.line);
                assert_ne!(a.glyph, b.glyph);
                for m in &VISIONS {
                    let (x, y) = (simulate(a.colour, m), simulate(b.colour, m));
                    let d = x.iter().zip(&y).map(|(p, q)| (p - q).powi(2)).sum::<f32>().sqrt();
                    // The palette before this one (green, orange, red) came to 36 for protans.
                    assert!(d > 50.0, "{a:?} and {b:?} are {d:.0} apart");
                }
            }
        }
    }
}
