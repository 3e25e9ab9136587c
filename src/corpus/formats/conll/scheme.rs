//! Tag schemes of CoNLL files: read in any of them (each tag mapped to BIO and decoded the
//! way conlleval does), detected and reported, and written in the one asked for.

use std::fmt;

use crate::corpus::bio::Tag;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `I-` inside and at the start; `B-` only between two entities of one type.
    Iob1,
    /// `B-` at every start (BIO).
    Iob2,
    /// `S-` single, `B-`/`I-`/`E-` begin, inside, end.
    Bioes,
    /// `U-` unit, `B-`/`I-`/`L-`.
    Bilou,
    /// `S-`, `B-`/`M-`/`E-`.
    Bmes,
    /// A type alone on every token (no prefixes): adjacent entities of one type merge.
    Io,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Iob1 => "IOB1",
            Scheme::Iob2 => "IOB2",
            Scheme::Bioes => "BIOES",
            Scheme::Bilou => "BILOU",
            Scheme::Bmes => "BMES",
            Scheme::Io => "IO",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        Some(match s.to_ascii_lowercase().as_str() {
            "iob1" => Scheme::Iob1,
            "iob2" | "bio" | "iob" => Scheme::Iob2,
            "bioes" | "iobes" => Scheme::Bioes,
            "bilou" => Scheme::Bilou,
            "bmes" | "bmeso" => Scheme::Bmes,
            "io" => Scheme::Io,
            _ => return None,
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tag of any scheme: its prefix letter (`O` for outside, `-` for none) and type.
pub fn parse_tag(s: &str) -> Option<(char, &str)> {
    if s == "O" {
        return Some(('O', ""));
    }
    if let Some((p, label)) = s.split_once('-') {
        let mut cs = p.chars();
        if let (Some(c @ ('B' | 'I' | 'E' | 'S' | 'L' | 'U' | 'M')), None) = (cs.next(), cs.next()) {
            return (!label.is_empty()).then_some((c, label));
        }
    }
    None
}

/// Whether `s` is a tag without a prefix (`LOC`): the IO scheme. A `-` makes it a prefixed
/// tag with an unknown prefix (`X-Loc`), refused.
pub fn is_bare_type(s: &str) -> bool {
    s != "O" && s.chars().next().is_some_and(char::is_alphabetic) && !s.contains('-')
}

/// The BIO tag of a tag of any scheme; None for what is not a tag.
pub fn to_bio(s: &str, io: bool) -> Option<Tag> {
    match parse_tag(s) {
        Some(('O', _)) => Some(Tag::O),
        Some(('B' | 'S' | 'U', l)) => Some(Tag::B(l.to_string())),
        Some((_, l)) => Some(Tag::I(l.to_string())),
        None if io && is_bare_type(s) => Some(Tag::I(s.to_string())),
        None => None,
    }
}

/// The scheme a file's tags are in, from all its sentences' tags.
pub fn detect<'a>(sentences: impl IntoIterator<Item = &'a [String]>) -> Scheme {
    let (mut ends, mut middles, mut units, mut bare, mut i_starts) = (false, false, false, false, false);
    for tags in sentences {
        let mut prev: Option<(char, &str)> = None;
        for t in tags {
            let parsed = parse_tag(t);
            match parsed {
                Some(('E' | 'S', _)) => ends = true,
                Some(('L' | 'U', _)) => units = true,
                Some(('M', _)) => middles = true,
                Some(('I', l)) if !matches!(prev, Some((_, p)) if p == l) => i_starts = true,
                None if is_bare_type(t) => bare = true,
                _ => {}
            }
            prev = parsed.filter(|(c, _)| *c != 'O');
        }
    }
    match () {
        _ if middles => Scheme::Bmes,
        _ if units => Scheme::Bilou,
        _ if ends => Scheme::Bioes,
        _ if bare => Scheme::Io,
        _ if i_starts => Scheme::Iob1,
        _ => Scheme::Iob2,
    }
}

/// BIO tags (as relarc encodes them: `B-` at every start) in `scheme`.
pub fn from_bio(tags: &[Tag], scheme: Scheme) -> Vec<String> {
    let label = |t: &Tag| t.label().map(String::from);
    let continues =
        |i: usize| matches!(tags.get(i + 1), Some(Tag::I(l)) if Some(l.clone()) == label(&tags[i]));
    (0..tags.len())
        .map(|i| {
            let Some(l) = label(&tags[i]) else {
                return "O".to_string();
            };
            let begins = matches!(tags[i], Tag::B(_));
            let (last, single) = (!continues(i), begins && !continues(i));
            let prefix = match scheme {
                Scheme::Iob2 => {
                    if begins {
                        "B"
                    } else {
                        "I"
                    }
                }
                Scheme::Iob1 => {
                    let after_same = i > 0 && label(&tags[i - 1]).as_deref() == Some(l.as_str());
                    if begins && after_same {
                        "B"
                    } else {
                        "I"
                    }
                }
                Scheme::Bioes | Scheme::Bmes if single => "S",
                Scheme::Bioes | Scheme::Bmes if begins => "B",
                Scheme::Bioes | Scheme::Bmes if last => "E",
                Scheme::Bioes => "I",
                Scheme::Bmes => "M",
                Scheme::Bilou if single => "U",
                Scheme::Bilou if begins => "B",
                Scheme::Bilou if last => "L",
                Scheme::Bilou => "I",
                Scheme::Io => return l,
            };
            format!("{prefix}-{l}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::bio::decode;

    fn spans(tags: &str) -> Vec<(String, usize, usize)> {
        let bio: Vec<Tag> = tags.split(' ').map(|t| to_bio(t, true).unwrap()).collect();
        decode(bio)
            .into_iter()
            .map(|s| (s.label, s.start, s.end))
            .collect()
    }

    fn strings(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn every_scheme_reads_to_the_same_entities_and_writes_back() {
        let expect = vec![
            ("PER".to_string(), 0, 2),
            ("PER".to_string(), 2, 3),
            ("LOC".to_string(), 4, 5),
        ];
        let cases = [
            (Scheme::Iob2, "B-PER I-PER B-PER O B-LOC"),
            (Scheme::Iob1, "I-PER I-PER B-PER O I-LOC"),
            (Scheme::Bioes, "B-PER E-PER S-PER O S-LOC"),
            (Scheme::Bilou, "B-PER L-PER U-PER O U-LOC"),
            (Scheme::Bmes, "B-PER E-PER S-PER O S-LOC"),
        ];
        for (scheme, tags) in cases {
            assert_eq!(spans(tags), expect, "{scheme}");
            let bio: Vec<Tag> = tags.split(' ').map(|t| to_bio(t, false).unwrap()).collect();
            assert_eq!(from_bio(&bio, scheme).join(" "), tags, "{scheme}");
        }
        assert_eq!(
            detect([strings("I-PER I-PER B-PER O I-LOC").as_slice()]),
            Scheme::Iob1
        );
        assert_eq!(detect([strings("B-PER E-PER S-PER O").as_slice()]), Scheme::Bioes);
        assert_eq!(detect([strings("B-PER M-PER E-PER").as_slice()]), Scheme::Bmes);
        assert_eq!(detect([strings("U-PER O").as_slice()]), Scheme::Bilou);
        assert_eq!(detect([strings("B-PER I-PER O").as_slice()]), Scheme::Iob2);
        assert_eq!(detect([strings("LOC LOC O").as_slice()]), Scheme::Io);
        assert_eq!(
            spans("LOC LOC O PER"),
            vec![("LOC".into(), 0, 2), ("PER".into(), 3, 4)]
        );
    }
}
