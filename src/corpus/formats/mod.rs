//! File formats. Each one reads into and writes from the same `Sentence` type; the writers are
//! atomic and report what the format could not hold instead of dropping it silently.

pub mod brat;
pub mod conll;
pub mod doccano;
pub(crate) mod offsets;
pub mod spert;

use std::fmt;
use std::path::Path;

use super::error::{CorpusError, Result};
use super::{Corpus, Sentence};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// SpERT-style JSON array (the canonical format).
    Json,
    /// SpERT-style JSON lines.
    Jsonl,
    /// brat standoff: `.txt` + `.ann` per document.
    Brat,
    /// doccano JSONL with `entities` and `relations` (character offsets).
    Doccano,
    /// CoNLL-style BIO columns, entities only.
    Conll,
}

pub const ALL: [Format; 5] = [
    Format::Json,
    Format::Jsonl,
    Format::Brat,
    Format::Doccano,
    Format::Conll,
];

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Brat => "brat",
            Format::Doccano => "doccano",
            Format::Conll => "conll",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "json" | "spert" => Format::Json,
            "jsonl" | "spert-jsonl" => Format::Jsonl,
            "brat" | "ann" | "standoff" => Format::Brat,
            "doccano" => Format::Doccano,
            "conll" | "bio" | "iob" | "iob1" | "iob2" | "bioes" | "iobes" | "bilou" | "bmes" | "conllu"
            | "germeval" | "column" | "columns" => Format::Conll,
            _ => return None,
        })
    }

    /// Whether the format keeps relations.
    pub fn holds_relations(self) -> bool {
        self != Format::Conll
    }

    /// Whether the format keeps overlapping (nested) entities.
    pub fn holds_overlaps(self) -> bool {
        self != Format::Conll
    }

    fn from_extension(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".doccano.jsonl") || name.ends_with(".doccano.json") {
            return Some(Format::Doccano);
        }
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "json" => Format::Json,
            "jsonl" => Format::Jsonl,
            "ann" | "txt" => Format::Brat,
            "conll" | "conllu" | "bio" | "iob" | "iob2" | "bioes" | "bmes" | "tsv" => Format::Conll,
            _ => return None,
        })
    }

    /// The format of an existing file or folder: by extension, and for `.json`/`.jsonl` by
    /// whether the first record has `text` (doccano) or `tokens` (SpERT).
    pub fn detect_input(path: &Path) -> Result<Format> {
        if path.is_dir() {
            return Ok(Format::Brat);
        }
        match Format::from_extension(path) {
            Some(f @ (Format::Jsonl | Format::Json)) => sniff_json(path, f),
            Some(Format::Brat) if is_txt(path) && !path.with_extension("ann").exists() => {
                // A `.txt` with no `.ann` beside it: CoNLL columns (train.txt), or raw text.
                let text = read_text(path)?;
                Ok(if conll::looks_like_columns(&text) {
                    Format::Conll
                } else {
                    Format::Brat
                })
            }
            Some(f) => Ok(f),
            None => Err(unknown_format(path)),
        }
    }

    /// The format to write to `path`: by extension; a path without one is a brat folder.
    pub fn detect_output(path: &Path) -> Result<Format> {
        if path.is_dir() || path.extension().is_none() {
            return Ok(Format::Brat);
        }
        Format::from_extension(path).ok_or_else(|| unknown_format(path))
    }
}

fn is_txt(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// Choices for reading and writing some formats.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub conll: conll::ConllOptions,
    /// doccano 1.x label ids to names.
    pub doccano_labels: Option<doccano::LabelNames>,
}

fn unknown_format(path: &Path) -> CorpusError {
    CorpusError::Unsupported(format!(
        "{}: cannot tell the format from the name; use .json, .jsonl, .doccano.jsonl, .conll, .ann or a folder, or name it with --from/--to ({})",
        path.display(),
        ALL.map(Format::name).join(", ")
    ))
}

/// doccano records (`text`, no `tokens`) or SpERT sentences, in a JSON array or JSON lines.
fn sniff_json(path: &Path, spert: Format) -> Result<Format> {
    let text = read_text(path)?;
    // The first record only (of an array, or of JSON lines or objects over several lines):
    // a corpus read after this is parsed once, not twice.
    let trimmed = text.trim_start();
    let records = trimmed.strip_prefix('[').unwrap_or(trimmed);
    let first_record = serde_json::Deserializer::from_str(records)
        .into_iter::<serde_json::Value>()
        .next()
        .and_then(|v| v.ok());
    let is_doccano = first_record
        .and_then(|v| {
            v.as_object()
                .map(|o| o.contains_key("text") && !o.contains_key("tokens"))
        })
        .unwrap_or(false);
    Ok(if is_doccano { Format::Doccano } else { spert })
}

pub fn read(path: &Path, format: Format) -> Result<Vec<Sentence>> {
    read_with(path, format, &Options::default())
}

pub fn read_with(path: &Path, format: Format, opts: &Options) -> Result<Vec<Sentence>> {
    match format {
        Format::Json => spert::read_json(path),
        Format::Jsonl => spert::read_jsonl(path),
        Format::Brat => brat::read(path),
        Format::Doccano => doccano::read_with(path, opts.doccano_labels.as_ref()),
        Format::Conll => conll::read_with(path, &opts.conll),
    }
}

/// Writes `corpus` to `path` in `format`; returns notes on what the format could not hold.
/// What a format could not read back the same is refused before anything is written.
pub fn write(path: &Path, format: Format, corpus: &Corpus) -> Result<Vec<String>> {
    write_with(path, format, corpus, &Options::default())
}

pub fn write_with(path: &Path, format: Format, corpus: &Corpus, opts: &Options) -> Result<Vec<String>> {
    check_holds(path, format, corpus)?;
    match format {
        Format::Json => spert::write_json(path, &corpus.sentences).map(|_| Vec::new()),
        Format::Jsonl => spert::write_jsonl(path, &corpus.sentences).map(|_| Vec::new()),
        Format::Brat => brat::write(path, corpus),
        Format::Doccano => doccano::write(path, &corpus.sentences).map(|_| Vec::new()),
        Format::Conll => conll::write_with(path, &corpus.sentences, &opts.conll),
    }
}

/// Type names with whitespace break brat's and CoNLL's fields; a CoNLL token `-DOCSTART-`
/// would be read as a document break, and an id with a line break as tokens.
fn check_holds(path: &Path, format: Format, corpus: &Corpus) -> Result<()> {
    if !matches!(format, Format::Brat | Format::Conll) {
        return Ok(());
    }
    let refuse = |i: usize, what: String| {
        Err(CorpusError::Unsupported(format!(
            "{}: sentence {}: {what}; {format} cannot hold it (SpERT JSON can)",
            path.display(),
            i + 1
        )))
    };
    for (i, s) in corpus.sentences.iter().enumerate() {
        let labels = s
            .entities
            .iter()
            .map(|e| &e.label)
            .chain(s.relations.iter().map(|r| &r.label));
        if let Some(l) = labels.into_iter().find(|l| l.chars().any(char::is_whitespace)) {
            return refuse(i, format!("the type name {l:?} has whitespace"));
        }
        if format == Format::Conll && s.tokens.iter().any(|t| t == "-DOCSTART-") {
            return refuse(
                i,
                "a token `-DOCSTART-` would read back as a document break".into(),
            );
        }
        if format == Format::Conll && s.id().is_some_and(|id| id.contains(['\n', '\r'])) {
            return refuse(i, "the id has a line break".into());
        }
    }
    Ok(())
}

/// The message for a record that lacks the key `read_as` needs: which format it looks like.
pub(crate) fn not_this_format(obj: &serde_json::Map<String, serde_json::Value>, read_as: Format) -> String {
    let (needs, name, other, hint) = match read_as {
        Format::Doccano => (
            "text",
            "doccano JSONL",
            "tokens",
            "SpERT JSON; name it .json/.jsonl without .doccano or use --from jsonl",
        ),
        _ => (
            "tokens",
            "SpERT JSON",
            "text",
            "doccano; name it .doccano.jsonl or use --from doccano",
        ),
    };
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let looks = if obj.contains_key("data") || obj.contains_key("column_data") {
        " (it has `data`: a doccano or flair text-classification export; relarc reads sequence labelling)"
            .to_string()
    } else if obj.contains_key(other) {
        format!(" (it has `{other}`: {hint})")
    } else {
        String::new()
    };
    format!(
        "read as {name}, but this record has no `{needs}` (keys: {}){looks}",
        keys.join(", ")
    )
}

pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| CorpusError::io(path, e))?;
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{FEFF}') {
                s.remove(0);
            }
            Ok(s)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(CorpusError::malformed(
                super::Place::file(path).line(line),
                // CoNLL-2002's own files, for one, are Latin-1.
                format!("not valid UTF-8 (byte {offset}); if it is Latin-1, convert it first: iconv -f latin1 -t utf-8"),
            ))
        }
    }
}
