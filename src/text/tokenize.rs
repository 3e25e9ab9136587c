//! A rule-based English tokenizer in the spirit of the Penn Treebank conventions the corpora
//! use: words and numbers stay whole (`U.S.`, `3.5`, `1,000`, `70-mph`, `O'Neil`), punctuation
//! becomes tokens of its own, and a final period is split off unless it ends a known
//! abbreviation inside the text. Offsets are in characters (Unicode scalar values), as brat
//! and doccano count them.

/// A token with its character offsets `start..end` in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "inc", "corp", "co", "ltd", "gen", "sen", "rep", "gov", "lt",
    "col", "capt", "sgt", "prof", "vs", "etc", "no", "mt", "ft", "ave", "jan", "feb", "mar", "apr", "aug",
    "sept", "sep", "oct", "nov", "dec", "calif", "fla", "mass", "conn", "ariz", "ill", "va", "wash", "vt",
    "tenn", "pa", "e.g", "i.e", "al", "approx", "fig", "dept", "univ", "bros", "messrs", "rev", "hon",
    "pres", "cf",
];

/// Characters that belong to the character before them (combining marks, joiners, variation
/// selectors, emoji skin tones), so they never become tokens of their own.
fn is_joiner(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C | 0x200D
        | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF | 0xE0100..=0xE01EF)
}

/// Whitespace, control characters and invisible separators all separate tokens.
fn is_space(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || is_joiner(c)
}

pub fn tokenize(text: &str) -> Vec<Token> {
    tokenize_with_boundaries(text, &[])
}

/// Tokenizes `text`, also splitting at each character offset in `boundaries` (annotation
/// starts and ends), so every annotated span covers whole tokens.
pub fn tokenize_with_boundaries(text: &str, boundaries: &[usize]) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut forced = vec![false; chars.len() + 1];
    for &b in boundaries {
        if b <= chars.len() {
            forced[b] = true;
        }
    }
    let scan = Scan {
        last_visible: chars.iter().rposition(|&c| !is_space(c)),
        chars: &chars,
        forced: &forced,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_space(chars[i]) {
            i += 1;
            continue;
        }
        let end = scan.token_end(i);
        out.push(Token {
            text: chars[i..end].iter().collect(),
            start: i,
            end,
        });
        i = end;
    }
    out
}

/// The text as characters, and where a token must end (annotation boundaries).
struct Scan<'a> {
    chars: &'a [char],
    forced: &'a [bool],
    last_visible: Option<usize>,
}

impl Scan<'_> {
    /// End (exclusive) of the token that starts at `start`.
    fn token_end(&self, start: usize) -> usize {
        let (chars, forced) = (self.chars, self.forced);
        if is_word(chars[start]) {
            self.word_end(start)
        } else if is_apostrophe(chars[start]) && clitic_len(chars, start, forced) > 0 {
            start + clitic_len(chars, start, forced)
        } else {
            // Runs of the same punctuation mark ("...", "--", "??") stay together.
            let mut end = start + 1;
            while end < chars.len() && !forced[end] && chars[end] == chars[start] && !is_joiner(chars[end]) {
                end += 1;
            }
            while end < chars.len() && !forced[end] && is_joiner(chars[end]) {
                end += 1;
            }
            end
        }
    }

    fn word_end(&self, start: usize) -> usize {
        let (chars, forced) = (self.chars, self.forced);
        let mut end = start + 1;
        while end < chars.len() && !forced[end] {
            let c = chars[end];
            if is_word(c) {
                end += 1;
            } else if is_apostrophe(c) && clitic_len(chars, end, forced) > 0 {
                break; // "Boston's" -> "Boston" "'s", as the corpora split it
            } else if end + 1 < chars.len() && !forced[end + 1] && connects(chars[end - 1], c, chars[end + 1])
            {
                end += 2;
            } else {
                break;
            }
        }
        // A trailing period belongs to an abbreviation, unless it ends the text.
        if end < chars.len()
            && chars[end] == '.'
            && !forced[end]
            && Some(end) != self.last_visible
            && is_abbreviation(&chars[start..end])
        {
            end += 1;
        }
        end
    }
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Length of an English clitic (`'s`, `'re`, `'ve`, `'ll`, `'d`, `'m`, `'t`) starting with the
/// apostrophe at `at` and ending the word, or 0.
fn clitic_len(chars: &[char], at: usize, forced: &[bool]) -> usize {
    let mut end = at + 1;
    while end < chars.len() && chars[end].is_alphabetic() && (end == at + 1 || !forced[end]) {
        end += 1;
    }
    if end < chars.len() && is_word(chars[end]) {
        return 0;
    }
    let word: String = chars[at + 1..end].iter().flat_map(|c| c.to_lowercase()).collect();
    if ["s", "re", "ve", "ll", "d", "m", "t"].contains(&word.as_str()) {
        end - at
    } else {
        0
    }
}

/// Whether `mid` joins the word characters around it into one token.
fn connects(before: char, mid: char, after: char) -> bool {
    if !is_word(after) {
        return false;
    }
    match mid {
        '-' | '.' | '\u{2010}' | '\u{2011}' => true,
        ',' => before.is_numeric() && after.is_numeric(),
        '\'' | '\u{2019}' => before.is_alphabetic() && after.is_alphabetic(),
        _ => false,
    }
}

fn is_abbreviation(word: &[char]) -> bool {
    if word.len() == 1 && word[0].is_uppercase() {
        return true; // an initial: "J. R. R. Tolkien"
    }
    if word.contains(&'.') && word.iter().all(|c| c.is_alphabetic() || *c == '.') {
        return true; // "U.S", "e.g"
    }
    let lower: String = word.iter().flat_map(|c| c.to_lowercase()).collect();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// Byte offset of every character offset `0..=n` of `text`, for slicing by character offsets.
pub fn char_to_byte_offsets(text: &str) -> Vec<usize> {
    let mut v: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    v.push(text.len());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn figure_one_sentence() {
        assert_eq!(
            words("In 1809, author Edgar Allan Poe was born in Boston."),
            ["In", "1809", ",", "author", "Edgar", "Allan", "Poe", "was", "born", "in", "Boston", "."]
        );
    }

    #[test]
    fn words_numbers_and_abbreviations_stay_whole() {
        assert_eq!(
            words("Mr. O'Neil's dog paid $1,000.50 for 70-mph tests in the U.S. on Jan. 3..."),
            [
                "Mr.", "O'Neil", "'s", "dog", "paid", "$", "1,000.50", "for", "70-mph", "tests", "in", "the",
                "U.S.", "on", "Jan.", "3", "..."
            ]
        );
        // A sentence-final period is split off even after an abbreviation.
        assert_eq!(
            words("He lives in St. Albans, Vt."),
            ["He", "lives", "in", "St.", "Albans", ",", "Vt", "."]
        );
    }

    #[test]
    fn offsets_are_in_characters() {
        let toks = tokenize("Zoë, naïve café (北京)");
        let got: Vec<_> = toks.iter().map(|t| (t.text.as_str(), t.start, t.end)).collect();
        assert_eq!(
            got,
            [
                ("Zoë", 0, 3),
                (",", 3, 4),
                ("naïve", 5, 10),
                ("café", 11, 15),
                ("(", 16, 17),
                ("北京", 17, 19),
                (")", 19, 20)
            ]
        );
    }

    #[test]
    fn combining_marks_and_emoji_modifiers_stay_attached() {
        // "e" + combining acute, and a thumbs-up with a skin tone.
        let toks = words("cafe\u{301} 👍🏽!");
        assert_eq!(toks, ["cafe\u{301}", "👍🏽", "!"]);
    }

    #[test]
    fn odd_spaces_separate_tokens() {
        assert_eq!(words("a\u{00A0}b\u{200B}c\r\nd\te"), ["a", "b", "c", "d", "e"]);
        assert!(words("").is_empty());
        assert!(words(" \n\t ").is_empty());
    }

    #[test]
    fn forced_boundaries_split_tokens() {
        let toks = tokenize_with_boundaries("antiTNF-induced lupus", &[4, 7]);
        let got: Vec<_> = toks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(got, ["anti", "TNF", "-", "induced", "lupus"]);
    }
}
