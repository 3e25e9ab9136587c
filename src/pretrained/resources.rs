//! Where pre-trained inputs live: a resource folder with one sub-folder per resource
//! (`scripts/fetch_resources.py` fills it), or any path a user gives.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    #[error("pre-trained input {name:?} is not in {} (run `make setup` or `.venv/bin/python3 scripts/fetch_resources.py`, set RELARC_RESOURCES to another folder, or use a preset ending in -learned)", dir.display())]
    Missing { name: String, dir: PathBuf },
    #[error("{}: {reason}", path.display())]
    Bad { path: PathBuf, reason: String },
    #[error("{name}={value:?}: {reason}")]
    Setting {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PretrainedError {
    pub fn bad(path: &Path, reason: impl Into<String>) -> Self {
        PretrainedError::Bad {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainedError + '_ {
        move |source| PretrainedError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `$RELARC_RESOURCES`, else the `resources` folder of the relarc checkout this binary was
/// built from (where the setup step puts them).
pub fn resources_dir() -> PathBuf {
    match std::env::var_os("RELARC_RESOURCES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("resources"),
    }
}

/// A resource given by name (a folder of the resource folder) or by path.
pub fn locate(name_or_path: &str) -> Result<PathBuf, PretrainedError> {
    let direct = Path::new(name_or_path);
    if direct.is_absolute() || name_or_path.contains(std::path::MAIN_SEPARATOR) || direct.exists() {
        if direct.exists() {
            return Ok(direct.to_path_buf());
        }
        return Err(PretrainedError::Io {
            path: direct.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    let dir = resources_dir();
    let path = dir.join(name_or_path);
    // The fetch script builds `<name>.partial` and renames it when done, so `<name>` is whole.
    if path.exists() {
        Ok(path)
    } else {
        Err(PretrainedError::Missing {
            name: name_or_path.to_string(),
            dir,
        })
    }
}
