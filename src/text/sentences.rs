//! Raw text to sentences: tokens grouped at sentence ends (`.`, `!`, `?` tokens, which the
//! tokenizer keeps apart from abbreviations such as "Dr.") and at blank lines. Long pasted
//! text is split before prediction, so that no single "sentence" has thousands of tokens.

use super::tokenize::{tokenize, Token};

/// The tokens of `text`, one list per sentence; character offsets stay those of `text`.
pub fn split_sentences(text: &str) -> Vec<Vec<Token>> {
    let tokens = tokenize(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Vec<Token>> = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for t in tokens {
        let gap_has_blank_line = current
            .last()
            .is_some_and(|prev| chars[prev.end..t.start].iter().filter(|&&c| c == '\n').count() >= 2);
        if gap_has_blank_line {
            out.push(std::mem::take(&mut current));
        }
        let ends = ends_sentence(&t.text);
        current.push(t);
        if ends {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn ends_sentence(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| matches!(c, '.' | '!' | '?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        split_sentences(text)
            .into_iter()
            .map(|s| s.into_iter().map(|t| t.text).collect())
            .collect()
    }

    #[test]
    fn sentences_end_at_stops_and_blank_lines_not_at_abbreviations() {
        let s = words("Dr. Smith works in Boston. He was born in 1809! Did he?\n\nA title\nNext line");
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(s[0], ["Dr.", "Smith", "works", "in", "Boston", "."]);
        assert_eq!(s[2], ["Did", "he", "?"]);
        assert_eq!(s[3], ["A", "title", "Next", "line"]);
        assert!(split_sentences("   ").is_empty());
    }
}
