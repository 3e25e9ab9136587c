//! Which columns of a CoNLL file hold the token and the tag, found from its lines or given.

use std::path::Path;

use serde_json::{json, Value};

use super::scheme::{self, parse_tag};
use super::ConllOptions;
use crate::corpus::error::{CorpusError, Place, Result};
use crate::corpus::formats::read_text;

/// The layout of a CoNLL file.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    pub token: usize,
    /// The tag column; for CoNLL-U the MISC column, whose `NER=` holds the tag.
    pub tag: usize,
    pub count: usize,
    /// Fields are separated by tabs (else by runs of spaces, written as one).
    pub tab: bool,
    pub conllu: bool,
    /// In words, for messages.
    pub what: String,
}

const CONLLU_MISC: usize = 9;

/// Lines that hold tokens: not blank, not comments, not document starts.
fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("-DOCSTART-"))
}

fn split_line(line: &str, tab: bool) -> Vec<&str> {
    if tab {
        line.split('\t').collect()
    } else {
        line.split_whitespace().collect()
    }
}

fn is_index(s: &str) -> bool {
    !s.is_empty()
        && s.split(['-', '.'])
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a text reads as token/tag columns (for a `.txt` with no `.ann` beside it).
pub fn looks_like_columns(text: &str) -> bool {
    let sample: Vec<&str> = data_lines(text).take(50).collect();
    let tagged = sample
        .iter()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 2 && (parse_tag(f[f.len() - 1]).is_some() || l.contains('\t'))
        })
        .count();
    !sample.is_empty() && tagged * 10 >= sample.len() * 9
}

/// "CoNLL-2003 layout, tags in BIOES" — what was found, for a note.
pub fn describe(path: &Path, opts: &ConllOptions) -> Result<String> {
    let text = read_text(path)?;
    let cols = Columns::find(path, &text, opts)?;
    let tags: Vec<Vec<String>> = vec![data_lines(&text)
        .map(|l| {
            let f = cols.split(l);
            cols.token_and_tag(&f).map(|(_, t)| t).unwrap_or_default()
        })
        .collect()];
    let scheme = scheme::detect(tags.iter().map(Vec::as_slice));
    Ok(format!("{}; tags in {scheme}", cols.what))
}

impl Columns {
    /// The layout of `text`: as `opts` says, else from its lines.
    pub fn find(path: &Path, text: &str, opts: &ConllOptions) -> Result<Columns> {
        let sample: Vec<&str> = data_lines(text).take(200).collect();
        let tab = sample.iter().any(|l| l.contains('\t'));
        let counts: Vec<usize> = sample.iter().map(|l| split_line(l, tab).len()).collect();
        let count = most_common(&counts).unwrap_or(2);
        let firsts_are_index = !sample.is_empty() && sample.iter().all(|l| is_index(split_line(l, tab)[0]));
        let conllu = count == 10 && firsts_are_index;
        let indexed = !conllu && count >= 3 && firsts_are_index;
        // CoNLL-U's FORM and an index-first file's token are both the second column.
        let token = opts.token_column.unwrap_or(if conllu || indexed { 1 } else { 0 });
        let germeval = indexed && count == 4;
        let tag = opts.tag_column.unwrap_or(if conllu {
            CONLLU_MISC
        } else if germeval {
            2
        } else {
            count - 1
        });
        let bad = |m: String| CorpusError::malformed(Place::file(path), m);
        if token >= count || tag >= count || token == tag {
            return Err(bad(format!(
                "the token (column {}) and the tag (column {}) must be two of the {count} columns",
                token + 1,
                tag + 1
            )));
        }
        if conllu && tag == CONLLU_MISC && !text.contains("NER=") {
            return Err(bad(
                "CoNLL-U without entities: relarc reads entity tags from `NER=` in the MISC column (or name the tag column with --tag-column)".into(),
            ));
        }
        let what = if conllu && tag == CONLLU_MISC {
            "CoNLL-U: tokens from FORM (column 2), entities from NER= in MISC (column 10)".to_string()
        } else if germeval && opts.tag_column.is_none() {
            "GermEval 2014 columns: index, token, outer tags, inner tags; reading the outer layer (--tag-column 4 for the inner)".to_string()
        } else {
            format!(
                "{count} columns: token in column {}, tags in column {}",
                token + 1,
                tag + 1
            )
        };
        Ok(Columns {
            token,
            tag,
            count,
            tab,
            conllu: conllu && tag == CONLLU_MISC,
            what,
        })
    }

    pub fn split<'a>(&self, line: &'a str) -> Vec<&'a str> {
        split_line(line, self.tab)
    }

    /// `#` lines are comments unless they are a token `#` with a tag.
    pub fn is_comment(&self, line: &str, fields: &[&str]) -> bool {
        line.starts_with('#')
            && (self.conllu
                || line.starts_with("# ")
                || fields.len() <= self.tag.max(self.token)
                || scheme::to_bio(fields[self.tag], true).is_none())
    }

    pub fn token_and_tag(&self, fields: &[&str]) -> std::result::Result<(String, String), String> {
        if fields.len() <= self.tag.max(self.token) {
            return Err(format!(
                "expected {} columns (the token in column {}, the tag in column {}), found {}",
                self.count,
                self.token + 1,
                self.tag + 1,
                fields.len()
            ));
        }
        let tag = if self.conllu {
            fields[CONLLU_MISC]
                .split('|')
                .find_map(|kv| kv.strip_prefix("NER="))
                .unwrap_or("O")
        } else {
            fields[self.tag]
        };
        Ok((fields[self.token].to_string(), tag.to_string()))
    }

    /// The fields that are neither the token nor the tag (CoNLL-U keeps MISC whole).
    pub fn others(&self, fields: &[&str]) -> Vec<String> {
        fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.token && (self.conllu || *i != self.tag))
            .map(|(_, f)| f.to_string())
            .collect()
    }

    /// The line of a token: its kept fields with the token and tag put back in their places.
    pub fn join(&self, token: &str, tag: &str, others: Option<&[String]>) -> String {
        let others = others.unwrap_or_default();
        if others.len() + 1 + usize::from(!self.conllu) != self.count {
            return format!("{token}\t{tag}");
        }
        let mut rest = others.iter();
        let fields: Vec<String> = (0..self.count)
            .map(|i| match i {
                _ if i == self.token => token.to_string(),
                _ if i == self.tag && !self.conllu => tag.to_string(),
                _ if i == self.tag => with_ner(rest.next().map_or("_", |s| s.as_str()), tag),
                _ => rest.next().cloned().unwrap_or_default(),
            })
            .collect();
        fields.join(if self.tab { "\t" } else { " " })
    }

    /// The layout to keep with each sentence; None for the default (token, tag, tab).
    pub fn layout_value(&self) -> Option<Value> {
        let default = self.token == 0 && self.tag == 1 && self.count == 2 && self.tab && !self.conllu;
        (!default).then(|| json!({"token": self.token, "tag": self.tag, "count": self.count, "tab": self.tab, "conllu": self.conllu}))
    }

    pub fn from_layout(v: Option<&Value>) -> Columns {
        let num = |k: &str, d: usize| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_u64)
                .map_or(d, |n| n as usize)
        };
        let flag = |k: &str, d: bool| v.and_then(|v| v.get(k)).and_then(Value::as_bool).unwrap_or(d);
        Columns {
            token: num("token", 0),
            tag: num("tag", 1),
            count: num("count", 2),
            tab: flag("tab", true),
            conllu: flag("conllu", false),
            what: String::new(),
        }
    }
}

/// MISC with its `NER=` set to `tag` (added when it had none and the tag is not O).
fn with_ner(misc: &str, tag: &str) -> String {
    let parts: Vec<&str> = if misc == "_" {
        Vec::new()
    } else {
        misc.split('|').collect()
    };
    let mut found = false;
    let mut out: Vec<String> = parts
        .iter()
        .map(|p| {
            if p.starts_with("NER=") {
                found = true;
                format!("NER={tag}")
            } else {
                p.to_string()
            }
        })
        .collect();
    if !found && tag != "O" {
        out.insert(0, format!("NER={tag}"));
    }
    if out.is_empty() {
        "_".into()
    } else {
        out.join("|")
    }
}

fn most_common(v: &[usize]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for &x in v {
        let n = v.iter().filter(|&&y| y == x).count();
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((x, n));
        }
    }
    best.map(|(x, _)| x)
}
