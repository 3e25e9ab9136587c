//! Static word vectors, frozen: GloVe / word2vec / fastText text files, or relarc's converted
//! form (a folder with `vocab.txt`, one word per line, and `vectors.npy`, float32 in C order),
//! which loads in a fraction of the time.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::resources::PretrainedError;

pub struct StaticVectors {
    /// Where they came from, for messages and reports.
    pub source: String,
    pub dim: i64,
    index: HashMap<String, i64>,
    /// `[V + 1, dim]`; the last row is zeros, for words not covered.
    matrix: Tensor,
}

// Safety: the matrix is never written after loading; libtorch's read-only operations on a
// shared tensor (index_select, copies) are safe from several threads at once.
unsafe impl Sync for StaticVectors {}

/// How much of a corpus the vectors cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub tokens: usize,
    pub tokens_covered: usize,
    pub types: usize,
    pub types_covered: usize,
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        write!(
            f,
            "{:.1}% of tokens ({} of {}), {:.1}% of distinct words ({} of {})",
            pct(self.tokens_covered, self.tokens),
            self.tokens_covered,
            self.tokens,
            pct(self.types_covered, self.types),
            self.types_covered,
            self.types
        )
    }
}

impl StaticVectors {
    /// From a converted folder or a text file.
    pub fn load(path: &Path) -> Result<StaticVectors, PretrainedError> {
        if path.is_dir() {
            Self::load_converted(path)
        } else {
            Self::load_text(path)
        }
    }

    fn from_rows(source: String, words: Vec<String>, matrix: Tensor) -> StaticVectors {
        let dim = matrix.size()[1];
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.into_iter().enumerate() {
            // The first of duplicate words wins, as in the usual readers.
            index.entry(w).or_insert(i as i64);
        }
        let matrix = Tensor::cat(&[matrix, Tensor::zeros([1, dim], (Kind::Float, Device::Cpu))], 0);
        StaticVectors {
            source,
            dim,
            index,
            matrix,
        }
    }

    pub fn load_converted(dir: &Path) -> Result<StaticVectors, PretrainedError> {
        let vocab_path = dir.join("vocab.txt");
        let npy = dir.join("vectors.npy");
        let text = std::fs::read_to_string(&vocab_path).map_err(PretrainedError::io(&vocab_path))?;
        let words: Vec<String> = text.lines().map(String::from).collect();
        if !npy.exists() {
            return Err(PretrainedError::bad(
                &npy,
                "missing (a converted vector folder has vocab.txt and vectors.npy)",
            ));
        }
        let matrix =
            Tensor::read_npy(&npy).map_err(|e| PretrainedError::bad(&npy, format!("unreadable: {e}")))?;
        let size = matrix.size();
        if size.len() != 2 || matrix.kind() != Kind::Float {
            return Err(PretrainedError::bad(
                &npy,
                format!(
                    "expected a 2-d float32 matrix, found {:?} of shape {size:?}",
                    matrix.kind()
                ),
            ));
        }
        if size[0] != words.len() as i64 {
            return Err(PretrainedError::bad(
                &npy,
                format!(
                    "has {} rows but {} lists {} words",
                    size[0],
                    vocab_path.display(),
                    words.len()
                ),
            ));
        }
        Ok(Self::from_rows(dir.display().to_string(), words, matrix))
    }

    /// The dimension of the vectors at `path` without loading them: the `.npy` header of a
    /// converted folder, or the first lines of a text file.
    pub fn peek_dim(path: &Path) -> Result<i64, PretrainedError> {
        if path.is_dir() {
            let npy = path.join("vectors.npy");
            let mut head = vec![0u8; 256];
            let n = std::io::Read::read(
                &mut std::fs::File::open(&npy).map_err(PretrainedError::io(&npy))?,
                &mut head,
            )
            .map_err(PretrainedError::io(&npy))?;
            let text = String::from_utf8_lossy(&head[..n]);
            return text
                .split("'shape': (")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|dims| dims.split(',').nth(1))
                .and_then(|d| d.trim().parse().ok())
                .ok_or_else(|| PretrainedError::bad(&npy, "not a 2-d .npy matrix"));
        }
        let file = std::fs::File::open(path).map_err(PretrainedError::io(path))?;
        let mut lines = BufReader::new(file).lines();
        let first = lines
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| PretrainedError::bad(path, "empty or unreadable"))?;
        let fields: Vec<&str> = first.trim_end().split(' ').collect();
        if fields.len() == 2 && fields.iter().all(|f| f.parse::<u64>().is_ok()) {
            return Ok(fields[1].parse().expect("checked"));
        }
        if fields.len() < 2 {
            return Err(PretrainedError::bad(path, "line 1: expected a word and numbers"));
        }
        Ok(fields.len() as i64 - 1)
    }

    /// GloVe (`word v1 … vD` per line) or word2vec / fastText (the same after a `count dim`
    /// header line). A word may contain spaces (GloVe 840B has some): the last D fields are
    /// the vector.
    pub fn load_text(path: &Path) -> Result<StaticVectors, PretrainedError> {
        let file = std::fs::File::open(path).map_err(PretrainedError::io(path))?;
        let reader = BufReader::with_capacity(1 << 20, file);
        let mut words = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        let mut dim: Option<usize> = None;
        for (n, line) in reader.lines().enumerate() {
            let line_no = n + 1;
            let line = line.map_err(|e| {
                PretrainedError::bad(path, format!("line {line_no}: {e} (is this a text vector file?)"))
            })?;
            let line = line.trim_end_matches(['\r', '\n', ' ']);
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            if n == 0 && fields.len() == 2 && fields.iter().all(|f| f.parse::<u64>().is_ok()) {
                dim = Some(fields[1].parse().expect("checked"));
                continue;
            }
            let d = *dim.get_or_insert(fields.len().saturating_sub(1));
            if d == 0 || fields.len() < d + 1 {
                return Err(PretrainedError::bad(
                    path,
                    format!(
                        "line {line_no}: expected a word and {d} numbers, found {} fields",
                        fields.len()
                    ),
                ));
            }
            let split = fields.len() - d;
            for f in &fields[split..] {
                values.push(f.parse::<f32>().map_err(|_| {
                    PretrainedError::bad(path, format!("line {line_no}: {f:?} is not a number"))
                })?);
            }
            words.push(fields[..split].join(" "));
        }
        let d = dim.unwrap_or(0);
        if words.is_empty() || d == 0 {
            return Err(PretrainedError::bad(path, "no word vectors in this file"));
        }
        let matrix = Tensor::from_slice(&values).view([words.len() as i64, d as i64]);
        Ok(Self::from_rows(path.display().to_string(), words, matrix))
    }

    /// Writes the converted form, which `load` reads much faster than text.
    pub fn save_converted(&self, dir: &Path) -> Result<(), PretrainedError> {
        std::fs::create_dir_all(dir).map_err(PretrainedError::io(dir))?;
        let mut words = vec![String::new(); self.len()];
        for (w, &i) in &self.index {
            words[i as usize] = w.clone();
        }
        let vocab = dir.join("vocab.txt");
        crate::fsio::atomic_write_bytes(&vocab, (words.join("\n") + "\n").as_bytes())
            .map_err(PretrainedError::io(&vocab))?;
        let npy = dir.join("vectors.npy");
        let rows = self.matrix.narrow(0, 0, self.len() as i64).contiguous();
        rows.write_npy(&npy)
            .map_err(|e| PretrainedError::bad(&npy, format!("could not write: {e}")))?;
        Ok(())
    }

    /// Number of rows read (duplicate words count once each time they appear).
    pub fn len(&self) -> usize {
        self.matrix.size()[0] as usize - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row of a word: its exact form, else its lower-cased form.
    pub fn row(&self, word: &str) -> Option<i64> {
        self.index
            .get(word)
            .or_else(|| self.index.get(&word.to_lowercase()))
            .copied()
    }

    /// Row ids for tokens, the zero row for words not covered.
    pub fn rows(&self, tokens: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<i64> {
        let zero = self.len() as i64;
        tokens
            .into_iter()
            .map(|t| self.row(t.as_ref()).unwrap_or(zero))
            .collect()
    }

    /// `[n, dim]` vectors of the given row ids, on `device`.
    pub fn lookup(&self, rows: &[i64], device: Device) -> Tensor {
        self.matrix
            .index_select(0, &Tensor::from_slice(rows))
            .to_device(device)
    }

    pub fn vector(&self, word: &str) -> Option<Vec<f32>> {
        let row = self.row(word)?;
        Vec::<f32>::try_from(self.matrix.get(row)).ok()
    }

    pub fn coverage<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Coverage {
        let mut seen: HashMap<&str, bool> = HashMap::new();
        let (mut n, mut covered) = (0, 0);
        for t in tokens {
            let hit = *seen.entry(t).or_insert_with(|| self.row(t).is_some());
            n += 1;
            covered += hit as usize;
        }
        Coverage {
            tokens: n,
            tokens_covered: covered,
            types: seen.len(),
            types_covered: seen.values().filter(|&&h| h).count(),
        }
    }
}
