//! Between character offsets (brat, doccano) and token indices.

use crate::text::{tokenize_with_boundaries, Token};

/// Text of tokens joined by single spaces, with each token's character offsets.
pub fn join_tokens(tokens: &[String]) -> (String, Vec<(usize, usize)>) {
    let mut text = String::new();
    let mut offsets = Vec::with_capacity(tokens.len());
    let mut pos = 0;
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            text.push(' ');
            pos += 1;
        }
        let len = t.chars().count();
        offsets.push((pos, pos + len));
        text.push_str(t);
        pos += len;
    }
    (text, offsets)
}

/// Finds the given tokens in `text` in order, separated only by whitespace. None if they do
/// not spell the text.
pub fn locate_tokens(text: &str, tokens: &[String]) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        while pos < chars.len() && chars[pos].is_whitespace() {
            pos += 1;
        }
        let tc: Vec<char> = t.chars().collect();
        if tc.is_empty() || chars.get(pos..pos + tc.len())? != tc.as_slice() {
            return None;
        }
        out.push(Token {
            text: t.clone(),
            start: pos,
            end: pos + tc.len(),
        });
        pos += tc.len();
    }
    chars[pos..].iter().all(|c| c.is_whitespace()).then_some(out)
}

/// Tokens for `text`: the given ones when they spell it, else the tokenizer's, split at every
/// annotation boundary.
pub fn tokens_for(text: &str, given: Option<&[String]>, boundaries: &[usize]) -> Vec<Token> {
    given
        .and_then(|g| locate_tokens(text, g))
        .unwrap_or_else(|| tokenize_with_boundaries(text, boundaries))
}

/// The token range `start..end` covered by characters `from..to`. Whitespace at either end of
/// the character span is ignored; a span that cuts a token or covers none is an error.
pub fn char_span_to_tokens(tokens: &[Token], from: usize, to: usize) -> Result<(usize, usize), SpanError> {
    let first = tokens.iter().position(|t| t.end > from);
    let last = tokens.iter().rposition(|t| t.start < to);
    let inside = |offset: usize, t: &Token| SpanError::InsideToken {
        offset,
        text: t.text.clone(),
        start: t.start,
        end: t.end,
    };
    match (first, last) {
        (Some(f), Some(l)) if f <= l => {
            if tokens[f].start < from {
                return Err(inside(from, &tokens[f]));
            }
            if tokens[l].end > to {
                return Err(inside(to, &tokens[l]));
            }
            Ok((f, l + 1))
        }
        _ => Err(SpanError::NoToken { from, to }),
    }
}

/// Why a character span is not a token span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error("offset {offset} falls inside token {text:?} ({start}..{end})")]
    InsideToken {
        offset: usize,
        text: String,
        start: usize,
        end: usize,
    },
    #[error("characters {from}..{to} cover no token")]
    NoToken { from: usize, to: usize },
}

/// How a document's text (a brat document, a doccano record) is split into sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentences {
    /// At line breaks and sentence-final punctuation.
    Split,
    /// At line breaks only.
    Lines,
}

impl Sentences {
    /// `RELARC_BRAT_SENTENCES=lines` keeps one sentence per line.
    pub fn from_env() -> Sentences {
        match std::env::var("RELARC_BRAT_SENTENCES").as_deref() {
            Ok("lines") => Sentences::Lines,
            _ => Sentences::Split,
        }
    }
}

/// Token index ranges of the sentences.
pub(crate) fn sentence_groups(
    tokens: &[Token],
    chars: &[char],
    protected: &[(usize, usize)],
    mode: Sentences,
) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let (mut next, mut reach) = (0, 0);
    for i in 1..tokens.len() {
        let (prev, t) = (&tokens[i - 1], &tokens[i]);
        while next < protected.len() && protected[next].0 < prev.end {
            reach = reach.max(protected[next].1);
            next += 1;
        }
        let line_break = chars[prev.end..t.start].contains(&'\n');
        let stop = mode == Sentences::Split && ends_sentence(&prev.text) && starts_sentence(&t.text);
        if (line_break || stop) && reach <= t.start {
            groups.push(start..i);
            start = i;
        }
    }
    if !tokens.is_empty() {
        groups.push(start..tokens.len());
    }
    groups
}

fn ends_sentence(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| matches!(c, '.' | '!' | '?'))
}

fn starts_sentence(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_numeric() || matches!(c, '"' | '\'' | '(' | '[' | '“'))
}
