//! brat's `annotation.conf`: written for a new collection; for an existing one, only the
//! types it lacks are added, and every other line is kept.

use std::collections::HashSet;

use crate::corpus::{RelationType, Schema};

/// A configuration of the schema's entity and relation types.
pub fn annotation_conf(schema: &Schema) -> String {
    let mut out = String::from("[entities]\n");
    for e in &schema.entity_types {
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("\n[relations]\n");
    for r in &schema.relation_types {
        out.push_str(&relation_line(r));
    }
    out.push_str("\n[events]\n\n[attributes]\n");
    out
}

fn relation_line(r: &RelationType) -> String {
    let side = |pick: fn(&(String, String)) -> &String| {
        let mut v: Vec<&str> = r.signatures.iter().map(|s| pick(s).as_str()).collect();
        v.sort();
        v.dedup();
        if v.is_empty() {
            "<ENTITY>".to_string()
        } else {
            v.join("|")
        }
    };
    format!("{}\tArg1:{}, Arg2:{}\n", r.name, side(|s| &s.0), side(|s| &s.1))
}

/// `existing` with the schema's types it does not define added at the end of their
/// sections; None when it defines them all (the file stays as it is).
pub fn merge(existing: &str, schema: &Schema) -> Option<String> {
    let defined = defined_types(existing);
    let entities: Vec<String> = schema
        .entity_types
        .iter()
        .filter(|t| !defined.contains(t.as_str()))
        .map(|t| format!("{t}\n"))
        .collect();
    let relations: Vec<String> = schema
        .relation_types
        .iter()
        .filter(|r| !defined.contains(r.name.as_str()))
        .map(relation_line)
        .collect();
    if entities.is_empty() && relations.is_empty() {
        return None;
    }
    let mut text = existing.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text = add_to_section(&text, "entities", &entities);
    Some(add_to_section(&text, "relations", &relations))
}

/// Every type name the configuration defines, in any section.
fn defined_types(conf: &str) -> HashSet<&str> {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_whitespace().next())
        // `!Type` is a type only for the hierarchy; `Type|GO:0006306` carries a normalisation.
        .map(|w| w.trim_start_matches('!').split('|').next().unwrap_or(w))
        .filter(|w| !w.contains('='))
        .collect()
}

/// Appends `lines` after the last line of `[section]` (a new section at the end if none).
fn add_to_section(text: &str, section: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return text.to_string();
    }
    let added: String = lines.concat();
    let header = format!("[{section}]");
    let all: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(start) = all.iter().position(|l| l.trim() == header) else {
        return format!("{text}\n{header}\n{added}");
    };
    let end = all[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(all.len(), |k| start + 1 + k);
    // After the section's last non-blank line, so the blank line before the next stays.
    let insert = (start + 1..end)
        .rev()
        .find(|&i| !all[i].trim().is_empty())
        .map_or(start + 1, |i| i + 1);
    let mut out: String = all[..insert].concat();
    out.push_str(&added);
    out.push_str(&all[insert..].concat());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_missing_types_and_keeps_every_other_line() {
        let conf = "# mine\n[entities]\nPerson\n\n[relations]\nFamily Arg1:Person, Arg2:Person\n\n[events]\n!Life\n\tDie Person-Arg:Person\nDNA_methylation|GO:0006306\tTheme:Protein\n[attributes]\n";
        let mut schema = Schema {
            entity_types: vec![
                "Person".into(),
                "Drug".into(),
                "Die".into(),
                "DNA_methylation".into(),
            ],
            relation_types: vec![RelationType {
                name: "Adverse".into(),
                signatures: vec![("Drug".into(), "Person".into())],
            }],
        };
        let merged = merge(conf, &schema).unwrap();
        assert_eq!(
            merged,
            "# mine\n[entities]\nPerson\nDrug\n\n[relations]\nFamily Arg1:Person, Arg2:Person\nAdverse\tArg1:Drug, Arg2:Person\n\n[events]\n!Life\n\tDie Person-Arg:Person\nDNA_methylation|GO:0006306\tTheme:Protein\n[attributes]\n"
        );
        schema.entity_types.truncate(1);
        schema.relation_types.clear();
        assert_eq!(merge(conf, &schema), None);
    }
}
