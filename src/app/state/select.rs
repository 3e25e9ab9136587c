//! What is selected in the current sentence, the mode a relation is made in, and moving
//! between sentences and tokens.

use super::AppState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    /// Tokens between `anchor` and `cursor`, both included.
    Tokens {
        anchor: usize,
        cursor: usize,
    },
    Entity(usize),
    Relation(usize),
}

impl Selection {
    pub fn token_range(&self) -> Option<(usize, usize)> {
        match *self {
            Selection::Tokens { anchor, cursor } => Some((anchor.min(cursor), anchor.max(cursor) + 1)),
            _ => None,
        }
    }
}

/// Making a relation is a mode: after R (or a drag) the next entity chosen is the tail, and
/// when more than one relation type fits, a number (or a button) picks it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Normal,
    /// The head is chosen; the next entity chosen is the tail.
    RelationFrom { head: usize },
    /// Head and tail are chosen; several relation types fit and one must be picked.
    RelationType { head: usize, tail: usize },
}

impl Mode {
    /// The head of the relation being made, for the view to mark.
    pub fn relation_head(self) -> Option<usize> {
        match self {
            Mode::Normal => None,
            Mode::RelationFrom { head } | Mode::RelationType { head, .. } => Some(head),
        }
    }
}

impl AppState {
    pub(super) fn go_to(&mut self, i: usize) {
        if i < self.corpus.sentences.len() {
            self.current = i;
            self.selection = Selection::None;
            self.mode = Mode::Normal;
        }
    }

    /// A new filter; the sentence shown moves to the first match when it is not one.
    pub(super) fn set_filter(&mut self, f: super::Filter) {
        self.filter = f;
        let current = self.current;
        let first = {
            let list = self.filtered();
            (!list.contains(&current))
                .then(|| list.first().copied())
                .flatten()
        };
        if let Some(i) = first {
            self.go_to(i);
        }
    }

    pub(super) fn step_sentence(&mut self, d: isize) {
        let current = self.current;
        let list = self.filtered().to_vec();
        let pos = list.iter().position(|&i| i == current);
        let next = match pos {
            Some(p) => list.get((p as isize + d).max(0) as usize).copied(),
            None => list
                .iter()
                .copied()
                .find(|&i| if d > 0 { i > current } else { i < current }),
        };
        if let Some(n) = next {
            self.go_to(n);
        }
    }

    pub(super) fn move_cursor(&mut self, d: isize, extend: bool) {
        let n = self.sentence().map_or(0, |s| s.tokens.len());
        if n == 0 {
            return;
        }
        let (anchor, cursor) = match self.selection {
            Selection::Tokens { anchor, cursor } => (anchor, cursor),
            Selection::Entity(e) => {
                let en = &self.sentence().expect("sentence").entities[e];
                (en.start, en.end - 1)
            }
            _ => (0, if d > 0 { 0 } else { n - 1 }),
        };
        let moved = (cursor as isize + d).clamp(0, n as isize - 1) as usize;
        let fresh = !matches!(self.selection, Selection::Tokens { .. });
        self.selection = if extend {
            Selection::Tokens {
                anchor,
                cursor: moved,
            }
        } else if fresh {
            Selection::Tokens {
                anchor: cursor,
                cursor,
            }
        } else {
            Selection::Tokens {
                anchor: moved,
                cursor: moved,
            }
        };
    }

    pub(super) fn select_tokens(&mut self, start: usize, end: usize) {
        let n = self.sentence().map_or(0, |s| s.tokens.len());
        if start < end && end <= n {
            self.selection = Selection::Tokens {
                anchor: start,
                cursor: end - 1,
            };
        }
    }

    /// Selects an entity, or takes it as the tail of the relation being made.
    pub(super) fn select_entity(&mut self, e: usize) {
        if let Mode::RelationFrom { head } = self.mode {
            if head != e {
                self.relation_tail_chosen(head, e);
                return;
            }
        }
        if self.sentence().is_some_and(|s| e < s.entities.len()) {
            self.selection = Selection::Entity(e);
        }
    }

    pub(super) fn select_relation(&mut self, r: usize) {
        if self.sentence().is_some_and(|s| r < s.relations.len()) {
            self.selection = Selection::Relation(r);
            self.mode = Mode::Normal;
        }
    }

    pub(super) fn clear_selection(&mut self) {
        self.selection = Selection::None;
        self.mode = Mode::Normal;
    }
}
