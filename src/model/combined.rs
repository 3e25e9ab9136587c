//! Combined model folders: several trained models that predict together (as an `Ensemble`),
//! kept as one folder that the app, `predict` and `models/` treat like any model folder.
//!
//! The folder holds `members.json`, naming its member folders (inside it, so that the folder
//! can be copied or moved as a whole), the θr applied to the members' mean relation
//! probability and, when they weigh unequally, each member's weight; and one ordinary model
//! folder per member.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;

use super::checkpoint::ModelError;
use super::ensemble::{check_weights, equal_weights, Ensemble, EnsembleError};
use super::Model;

/// The file that makes a folder a combined model.
pub const MEMBERS_FILE: &str = "members.json";

#[derive(Serialize, Deserialize)]
struct MembersFile {
    /// Member folders, relative to the combined folder.
    members: Vec<String>,
    re_threshold: f64,
    /// Each member's weight, in the members' order; absent when they weigh equally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<f64>>,
}

impl MembersFile {
    fn weights(&self) -> Vec<f64> {
        self.weights
            .clone()
            .unwrap_or_else(|| vec![1.0; self.members.len()])
    }
}

/// Single model folders to predict together, and how much each weighs.
#[derive(Clone, Debug, PartialEq)]
pub struct Members {
    pub dirs: Vec<PathBuf>,
    pub weights: Vec<f64>,
}

impl Members {
    /// `dirs` weighing equally.
    pub fn equal(dirs: Vec<PathBuf>) -> Members {
        let weights = vec![1.0; dirs.len()];
        Members { dirs, weights }
    }

    /// The same folders with other weights: one positive number per folder.
    pub fn reweighted(self, weights: &[f64]) -> Result<Members, EnsembleError> {
        check_weights(weights, self.dirs.len())?;
        Ok(Members {
            dirs: self.dirs,
            weights: weights.to_vec(),
        })
    }
}

/// Whether `dir` holds a combined model rather than a single one.
pub fn is_combined(dir: &Path) -> bool {
    dir.join(MEMBERS_FILE).is_file()
}

fn damaged(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::Damaged {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_members(dir: &Path) -> Result<MembersFile, ModelError> {
    let path = dir.join(MEMBERS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let file: MembersFile = serde_json::from_str(&text)
        .map_err(|e| damaged(&path, format!("not a combined model's member list: {e}")))?;
    if file.members.is_empty() {
        return Err(damaged(&path, "names no member"));
    }
    if !(0.0..=1.0).contains(&file.re_threshold) {
        return Err(damaged(
            &path,
            format!("re_threshold {} is not between 0 and 1", file.re_threshold),
        ));
    }
    if let Some(weights) = &file.weights {
        check_weights(weights, file.members.len()).map_err(|e| damaged(&path, format!("weights: {e}")))?;
    }
    for name in &file.members {
        let inside = Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !inside || name.is_empty() {
            return Err(damaged(
                &path,
                format!("member {name:?} is not a folder inside the combined model"),
            ));
        }
    }
    Ok(file)
}

/// The member folders of the combined model in `dir`, in order.
pub fn member_dirs(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    Ok(read_members(dir)?.members.iter().map(|m| dir.join(m)).collect())
}

/// The single model folders a model folder stands for: its members when combined, else itself.
pub fn model_dirs(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    if is_combined(dir) {
        member_dirs(dir)
    } else {
        Ok(vec![dir.to_path_buf()])
    }
}

/// The single model folders of several model folders, in order, combined ones' members in
/// their place at their stored weights, single ones at weight 1.
pub fn all_members(dirs: &[PathBuf]) -> Result<Members, ModelError> {
    let mut all = Members::equal(Vec::new());
    for dir in dirs {
        if is_combined(dir) {
            let file = read_members(dir)?;
            all.weights.extend(file.weights());
            all.dirs.extend(file.members.iter().map(|m| dir.join(m)));
        } else {
            all.weights.push(1.0);
            all.dirs.push(dir.to_path_buf());
        }
    }
    Ok(all)
}

fn mismatch(dirs: &[PathBuf], e: EnsembleError) -> ModelError {
    let path = match &e {
        EnsembleError::Mismatch { index, .. } => dirs[*index].clone(),
        EnsembleError::Empty | EnsembleError::WeightCount { .. } | EnsembleError::Weight { .. } => {
            PathBuf::new()
        }
    };
    ModelError::Mismatch {
        path,
        reason: e.to_string(),
    }
}

/// Loads the single model folders of `members` to predict together at their weights, at the
/// weighted mean of their θr.
pub fn load_together(members: &Members, device: Device) -> Result<Ensemble, ModelError> {
    let models = (members.dirs.iter())
        .map(|d| Model::load(d, device))
        .collect::<Result<Vec<_>, _>>()?;
    Ensemble::weighted(models, &members.weights).map_err(|e| mismatch(&members.dirs, e))
}

impl Ensemble {
    /// A model folder, single (an ensemble of one, which predicts exactly as the model alone)
    /// or combined (its members at its stored θr).
    pub fn load(dir: &Path, device: Device) -> Result<Ensemble, ModelError> {
        if !is_combined(dir) {
            return load_together(&Members::equal(vec![dir.to_path_buf()]), device);
        }
        let file = read_members(dir)?;
        let members = Members {
            dirs: file.members.iter().map(|m| dir.join(m)).collect(),
            weights: file.weights(),
        };
        let mut ensemble = load_together(&members, device)?;
        ensemble.re_threshold = file.re_threshold;
        Ok(ensemble)
    }
}

/// Member folder names for `dirs`: each one's own name, numbered where two would clash.
fn member_names(dirs: &[PathBuf]) -> Vec<String> {
    let base = |d: &PathBuf| {
        d.file_name()
            .map_or("member".to_string(), |n| n.to_string_lossy().into_owned())
    };
    let mut names: Vec<String> = Vec::with_capacity(dirs.len());
    for (i, d) in dirs.iter().enumerate() {
        let stem = base(d);
        let shared = dirs.iter().filter(|o| base(o) == stem).count() > 1;
        let (mut n, mut name) = (i + 1, stem.clone());
        if shared {
            name = format!("{stem}-{n}");
        }
        while names.contains(&name) {
            n += 1;
            name = format!("{stem}-{n}");
        }
        names.push(name);
    }
    names
}

/// Fails unless `out` is missing or an empty folder: a combined model written over a model
/// would mix the two.
pub fn check_new_folder(out: &Path) -> Result<(), ModelError> {
    let occupied = match std::fs::read_dir(out) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(ModelError::Io {
                path: out.to_path_buf(),
                source,
            })
        }
    };
    if occupied {
        return Err(damaged(
            out,
            "is not empty: write a combined model to a new folder",
        ));
    }
    Ok(())
}

/// Writes a combined model of the single model folders of `members`, at their weights and θr
/// `threshold`, into the new folder `out`: each member's folder is copied as it is (its report
/// and files relarc does not read included), and the whole appears at once.
pub fn write_combined(members: &Members, threshold: f64, out: &Path) -> Result<(), ModelError> {
    check_new_folder(out)?;
    let dirs = &members.dirs;
    let names = member_names(dirs);
    let file = MembersFile {
        members: names.clone(),
        re_threshold: threshold,
        weights: (!equal_weights(&members.weights)).then(|| members.weights.clone()),
    };
    let written = crate::fsio::write_dir_atomically(out, |tmp| {
        for (dir, name) in dirs.iter().zip(&names) {
            copy_folder(dir, &tmp.join(name))?;
        }
        let text = serde_json::to_string_pretty(&file).expect("serialisable");
        std::fs::write(tmp.join(MEMBERS_FILE), text + "\n")
    });
    written.map_err(|source| ModelError::Io {
        path: out.to_path_buf(),
        source,
    })
}

/// Copies the combined model in `from` to the new folder `to`, as it is.
pub fn copy_combined(from: &Path, to: &Path) -> Result<(), ModelError> {
    check_new_folder(to)?;
    crate::fsio::write_dir_atomically(to, |tmp| copy_folder(from, tmp)).map_err(|source| ModelError::Io {
        path: to.to_path_buf(),
        source,
    })
}

fn named(p: &Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// Copies the files and folders in `from` into `to` (made if missing); an error names the
/// file.
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to).map_err(named(to))?;
    for entry in std::fs::read_dir(from).map_err(named(from))? {
        let entry = entry.map_err(named(from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(named(&source))?.is_dir() {
            copy_folder(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(named(&source))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_folder_names_numbered_only_where_they_clash() {
        let names = |dirs: &[&str]| member_names(&dirs.iter().map(PathBuf::from).collect::<Vec<_>>());
        assert_eq!(names(&["runs/first", "runs/mean"]), ["first", "mean"]);
        assert_eq!(names(&["a/fold_1", "b/fold_1"]), ["fold_1-1", "fold_1-2"]);
        assert_eq!(names(&["x-2", "a/x", "b/x"]), ["x-2", "x-3", "x-4"]);
    }
}
