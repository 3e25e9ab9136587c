//! The lines of a `.ann` file: entities (`T`), relations (`R`) and their notes become
//! relarc annotations; everything else is kept aside verbatim with the ids it refers to.

use std::collections::{HashMap, HashSet};

use crate::corpus::error::{Collected, CorpusError, Result};
use crate::corpus::source::AnnLine;

/// A `.ann` file read against its text.
pub(super) struct Parsed {
    pub lines: Vec<AnnLine>,
    pub ends_with_newline: bool,
}

/// Parses `ann` against the text `chars`; `bad(line, message)` makes an error for a line.
/// Parses `ann` against the text `chars`; `bad(line, message)` makes an error for a line.
/// A line that cannot be read is kept in `problems` and left out, so that every bad line of
/// the file is reported.
pub(super) fn parse(
    ann: &str,
    chars: &[char],
    bad: &dyn Fn(usize, String) -> CorpusError,
    problems: &mut Collected,
) -> Result<Parsed> {
    let mut pieces: Vec<&str> = ann.split('\n').collect();
    let ends_with_newline = pieces.last() == Some(&"");
    if ends_with_newline || ann.is_empty() {
        pieces.pop();
    }
    let mut lines = Vec::with_capacity(pieces.len());
    let mut numbers = Vec::with_capacity(pieces.len());
    let mut seen = HashSet::new();
    for (n, raw) in pieces.iter().enumerate() {
        let line = match classify(raw, chars, &|m| bad(n + 1, m)) {
            Ok(l) => l,
            Err(e) => {
                problems.keep(e)?;
                continue;
            }
        };
        if let Some(id) = line_id(&line) {
            if !id.starts_with('*') && !seen.insert(id.to_string()) {
                problems.keep(bad(n + 1, format!("{id} is defined twice")))?;
                continue;
            }
        }
        lines.push(line);
        numbers.push(n + 1);
    }
    let defined: HashSet<&str> = pieces.iter().filter_map(|p| p.split('\t').next()).collect();
    let mut keep = vec![true; lines.len()];
    for (k, line) in lines.iter().enumerate() {
        if let AnnLine::Relation { id, arg1, arg2, .. } = line {
            let missing: Vec<&String> = [arg1, arg2]
                .into_iter()
                .filter(|a| !seen.contains(a.as_str()))
                .collect();
            // An argument on a line left out as a problem is reported already.
            if let Some(a) = missing.iter().find(|a| !defined.contains(a.as_str())) {
                problems.keep(bad(
                    numbers[k],
                    format!("{id}: argument {a} is not an annotation of this document"),
                ))?;
            }
            keep[k] = missing.is_empty();
        }
    }
    let mut k = 0;
    lines.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    keep_aside_unreadable(&mut lines);
    anchor(&mut lines);
    Ok(Parsed {
        lines,
        ends_with_newline,
    })
}

pub(super) fn line_id(line: &AnnLine) -> Option<&str> {
    match line {
        AnnLine::Entity { id, .. } | AnnLine::Relation { id, .. } | AnnLine::Note { id, .. } => Some(id),
        AnnLine::Kept { id, .. } => id.as_deref(),
    }
}

fn kept(id: &str, kind: &'static str, refs: Vec<String>, anchor: Option<usize>, raw: &str) -> AnnLine {
    AnnLine::Kept {
        id: Some(id.to_string()),
        kind: Some(kind),
        refs,
        anchor,
        raw: raw.to_string(),
    }
}

fn classify(raw: &str, chars: &[char], bad: &dyn Fn(String) -> CorpusError) -> Result<AnnLine> {
    let line = raw.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Ok(AnnLine::Kept {
            id: None,
            kind: None,
            refs: Vec::new(),
            anchor: None,
            raw: raw.to_string(),
        });
    }
    let mut fields = line.splitn(3, '\t');
    let id = fields.next().unwrap_or_default();
    let body = fields.next().unwrap_or_default();
    let rest = fields.next();
    let words: Vec<&str> = body.split_whitespace().collect();
    let second = || words.get(1).map(|w| vec![w.to_string()]).unwrap_or_default();
    Ok(match id.chars().next() {
        Some('T') => text_bound(id, body, rest, chars, raw, bad)?,
        Some('R') => relation(id, body, raw, bad)?,
        Some('#') => match (words.first(), words.get(1)) {
            (Some(&"AnnotatorNotes"), Some(target)) => AnnLine::Note {
                id: id.to_string(),
                target: target.to_string(),
                text: rest.unwrap_or_default().to_string(),
                raw: raw.to_string(),
            },
            _ => kept(id, "notes", second(), None, raw),
        },
        Some('E') => kept(id, "events", role_values(&words), None, raw),
        Some('A' | 'M') => kept(id, "attributes", second(), None, raw),
        Some('N') => kept(id, "normalisations", second(), None, raw),
        Some('*') => kept(
            id,
            "equivalences",
            words.iter().skip(1).map(|w| w.to_string()).collect(),
            None,
            raw,
        ),
        _ => return Err(bad(format!("unrecognised annotation line {line:?}"))),
    })
}

/// The ids of `ROLE:ID` arguments (an event's trigger and arguments).
fn role_values(words: &[&str]) -> Vec<String> {
    words
        .iter()
        .filter_map(|w| w.split_once(':').map(|(_, v)| v.to_string()))
        .collect()
}

/// `T1<TAB>TYPE START END<TAB>text`, checked against the text. A discontinuous span is kept
/// aside.
fn text_bound(
    id: &str,
    body: &str,
    quoted: Option<&str>,
    chars: &[char],
    raw: &str,
    bad: &dyn Fn(String) -> CorpusError,
) -> Result<AnnLine> {
    let (label, offsets) = body
        .split_once(' ')
        .ok_or_else(|| bad(format!("{id}: expected \"TYPE START END\", found {body:?}")))?;
    let mut ranges = Vec::new();
    for part in offsets.split(';') {
        let nums: Vec<Option<usize>> = part.split(' ').map(|x| x.parse().ok()).collect();
        let [Some(from), Some(to)] = nums.as_slice() else {
            return Err(bad(format!("{id}: offsets {offsets:?} are not pairs of numbers")));
        };
        if from >= to || *to > chars.len() {
            return Err(bad(format!(
                "{id}: offsets {from}..{to} are empty or outside the text ({} characters)",
                chars.len()
            )));
        }
        ranges.push((*from, *to));
    }
    if let [(from, to)] = ranges[..] {
        if let Some(quoted) = quoted {
            check_quoted(id, from, to, quoted, chars, bad)?;
        }
        return Ok(AnnLine::Entity {
            id: id.to_string(),
            label: label.to_string(),
            from,
            to,
            raw: raw.to_string(),
        });
    }
    Ok(kept(
        id,
        "discontinuous spans",
        Vec::new(),
        Some(ranges[0].0),
        raw,
    ))
}

/// brat shows line breaks inside a span as spaces in the text column.
pub(super) fn flat(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}

fn check_quoted(
    id: &str,
    from: usize,
    to: usize,
    quoted: &str,
    chars: &[char],
    bad: &dyn Fn(String) -> CorpusError,
) -> Result<()> {
    let actual: String = chars[from..to].iter().collect();
    if flat(&actual) == quoted {
        return Ok(());
    }
    let crlf = chars.windows(2).any(|w| w == ['\r', '\n']);
    let hint = if crlf {
        "; the text has Windows (CRLF) line breaks: were the offsets counted without them?"
    } else {
        ""
    };
    Err(bad(format!(
        "{id}: text {quoted:?} does not match {actual:?} at {from}..{to} of the .txt{hint}"
    )))
}

/// `R1<TAB>TYPE Arg1:T1 Arg2:T2`.
fn relation(id: &str, body: &str, raw: &str, bad: &dyn Fn(String) -> CorpusError) -> Result<AnnLine> {
    let parts: Vec<&str> = body.split_whitespace().collect();
    let arg = |p: &str, name: &str| p.strip_prefix(name).map(String::from);
    let expected = || bad(format!("{id}: expected \"TYPE Arg1:T1 Arg2:T2\", found {body:?}"));
    let [label, a1, a2] = parts.as_slice() else {
        return Err(expected());
    };
    let (Some(arg1), Some(arg2)) = (arg(a1, "Arg1:"), arg(a2, "Arg2:")) else {
        return Err(expected());
    };
    Ok(AnnLine::Relation {
        id: id.to_string(),
        label: label.to_string(),
        arg1,
        arg2,
        raw: raw.to_string(),
    })
}

/// Relations whose arguments are not entities relarc reads (events, discontinuous spans,
/// ids not in the file), and second notes on one annotation, are kept aside too.
fn keep_aside_unreadable(lines: &mut [AnnLine]) {
    let entities: HashSet<String> = lines
        .iter()
        .filter_map(|l| match l {
            AnnLine::Entity { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    let mut readable = entities.clone();
    for line in lines.iter_mut() {
        if let AnnLine::Relation {
            id, arg1, arg2, raw, ..
        } = line
        {
            if entities.contains(arg1.as_str()) && entities.contains(arg2.as_str()) {
                readable.insert(id.clone());
            } else {
                *line = kept(
                    id,
                    "relations on annotations relarc does not read",
                    vec![arg1.clone(), arg2.clone()],
                    None,
                    raw,
                );
            }
        }
    }
    let mut noted = HashSet::new();
    for line in lines.iter_mut() {
        if let AnnLine::Note { id, target, raw, .. } = line {
            if !readable.contains(target.as_str()) || !noted.insert(target.clone()) {
                *line = kept(id, "notes", vec![target.clone()], None, raw);
            }
        }
    }
}

/// Gives each kept line the offset of what it refers to, through events and attributes.
fn anchor(lines: &mut [AnnLine]) {
    let mut at: HashMap<String, usize> = HashMap::new();
    for _ in 0..4 {
        for line in lines.iter_mut() {
            match line {
                AnnLine::Entity { id, from, .. } => {
                    at.insert(id.clone(), *from);
                }
                AnnLine::Kept { id, refs, anchor, .. } => {
                    if anchor.is_none() {
                        *anchor = refs.iter().find_map(|r| at.get(r).copied());
                    }
                    if let (Some(id), Some(a)) = (id, anchor) {
                        at.insert(id.clone(), *a);
                    }
                }
                _ => {}
            }
        }
    }
}
