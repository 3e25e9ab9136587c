//! The paper's treatment of overlapping entities (§4, ADE): keep the entity with the longer
//! span, remove the other and every relation that involves it.

use super::Sentence;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub sentences: usize,
    pub entities: usize,
    pub relations: usize,
}

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, o: Removed) {
        self.sentences += o.sentences;
        self.entities += o.entities;
        self.relations += o.relations;
    }
}

/// "N overlapping entities and M of their relations in K sentences", as the commands that
/// remove them report it.
impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} overlapping entities and {} of their relations in {} sentences",
            self.entities, self.relations, self.sentences
        )
    }
}

/// Removes overlapping entities from one sentence. Longer spans win; among equal lengths the
/// one that starts first wins, then the one listed first.
pub fn remove_overlaps(s: &mut Sentence) -> Removed {
    let mut order: Vec<usize> = (0..s.entities.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(s.entities[i].len()), s.entities[i].start, i));
    let mut kept: Vec<usize> = Vec::new();
    let mut drop = vec![false; s.entities.len()];
    for i in order {
        if kept.iter().any(|&k| s.entities[k].overlaps(&s.entities[i])) {
            drop[i] = true;
        } else {
            kept.push(i);
        }
    }
    if !drop.contains(&true) {
        return Removed::default();
    }
    let (entities, relations) = s.remove_entities(&drop);
    Removed {
        sentences: 1,
        entities,
        relations,
    }
}

pub fn remove_overlaps_all(sentences: &mut [Sentence]) -> Removed {
    let mut total = Removed::default();
    for s in sentences {
        total += remove_overlaps(s);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Entity, Relation};

    #[test]
    fn nested_drug_inside_adverse_effect_is_removed_with_its_relations() {
        let mut s = Sentence::new(
            "codeine intoxication after morphine"
                .split(' ')
                .map(String::from)
                .collect(),
        );
        s.entities = vec![
            Entity::new("Drug", 0, 1),
            Entity::new("Adverse-Effect", 0, 2),
            Entity::new("Drug", 3, 4),
        ];
        s.relations = vec![
            Relation::new("Adverse-Effect", 1, 0),
            Relation::new("Adverse-Effect", 1, 2),
        ];
        let removed = remove_overlaps(&mut s);
        assert_eq!(
            removed,
            Removed {
                sentences: 1,
                entities: 1,
                relations: 1
            }
        );
        assert_eq!(
            s.entities,
            vec![Entity::new("Adverse-Effect", 0, 2), Entity::new("Drug", 3, 4)]
        );
        assert_eq!(s.relations, vec![Relation::new("Adverse-Effect", 0, 1)]);
    }

    #[test]
    fn disjoint_entities_are_untouched() {
        let mut s = Sentence::new(vec!["a".into(), "b".into()]);
        s.entities = vec![Entity::new("X", 0, 1), Entity::new("Y", 1, 2)];
        assert_eq!(remove_overlaps(&mut s), Removed::default());
        assert_eq!(s.entities.len(), 2);
    }
}
