//! Checks every command makes of its arguments before loading anything heavy: outputs that
//! can be written (and that are not the input), numbers in range.

use relarc::model::ModelConfig;
use std::path::{Path, PathBuf};

/// An argument that cannot work, said before any work is done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

pub type Checked = Result<(), ArgError>;

fn bad(msg: impl Into<String>) -> Checked {
    Err(ArgError(msg.into()))
}

/// The path as it will be once it exists: canonical where it exists, else its canonical
/// folder and its name.
fn resolved(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir).map_or_else(|_| p.to_path_buf(), |d| d.join(name))
        }
        _ => p.to_path_buf(),
    }
}

/// Refuses to write over the input, unless `in_place`, which first keeps a copy of the input
/// beside it (`NAME.relarc-backup`).
pub fn output_not_input(input: &Path, output: &Path, in_place: bool) -> Checked {
    if resolved(input) != resolved(output) {
        return Ok(());
    }
    if !in_place {
        return bad(format!(
            "{} is both the input and the output: writing would replace what was read; give another --output, or --in-place (which keeps a backup)",
            output.display()
        ));
    }
    let mut name = input.file_name().unwrap_or_default().to_os_string();
    name.push(".relarc-backup");
    let backup = input.with_file_name(name);
    copy_all(input, &backup)
        .map_err(|e| ArgError(format!("{}: could not keep a backup: {e}", backup.display())))?;
    eprintln!("note: the input is kept as {}", backup.display());
    Ok(())
}

fn copy_all(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_all(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// A file relarc will write: its folder exists and takes files, and the path is a regular
/// file, a link to one, or nothing yet.
pub fn writable_file(path: &Path) -> Checked {
    if path.is_dir() {
        // A brat collection is written into the folder itself.
        return writable_dir(path);
    }
    if let Err(e) = relarc::fsio::write_target(path) {
        return bad(format!("{}: {e}", path.display()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    writable_dir(dir)
}

/// A folder relarc will write into: made if missing, and a file can be made in it.
pub fn writable_dir(dir: &Path) -> Checked {
    if dir.exists() && !dir.is_dir() {
        return bad(format!("{}: is a file, not a folder", dir.display()));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| ArgError(format!("{}: cannot make the folder: {e}", dir.display())))?;
    tempfile::tempfile_in(dir)
        .map_err(|e| ArgError(format!("{}: cannot write in this folder: {e}", dir.display())))?;
    Ok(())
}

/// A count that must be at least one.
pub fn at_least_one(flag: &str, n: usize) -> Checked {
    if n == 0 {
        return bad(format!("{flag} must be at least 1"));
    }
    Ok(())
}

/// A fraction strictly between 0 and 1.
pub fn fraction(flag: &str, f: f64) -> Checked {
    if !(f > 0.0 && f < 1.0) {
        return bad(format!("{flag} must be between 0 and 1 (not {f})"));
    }
    Ok(())
}

/// A fraction from 0 (none) up to, not including, 1.
pub fn fraction_or_none(flag: &str, f: f64) -> Checked {
    if !(0.0..1.0).contains(&f) {
        return bad(format!("{flag} must be 0 or more and below 1 (not {f})"));
    }
    Ok(())
}

/// A layer size, or 0 for none.
pub fn size_or_none(flag: &str, n: i64) -> Checked {
    let max = relarc::model::config::MAX_SIZE;
    if !(0..=max).contains(&n) {
        return bad(format!(
            "{flag} must be a size from 1 to {max}, or 0 for none (not {n})"
        ));
    }
    Ok(())
}

/// A span of epochs to average the weights over (fractions allowed), or 0 for none.
pub fn average_epochs(flag: &str, e: f64) -> Checked {
    let max = ModelConfig::MAX_AVERAGE_EPOCHS;
    if !(0.0..=max).contains(&e) {
        return bad(format!(
            "{flag} must be a number of epochs from 0 (none) to {max} (not {e})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_as_output_is_refused_or_backed_up() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        std::fs::write(&a, "[]").unwrap();
        let same = dir.path().join(".").join("a.json");
        let err = output_not_input(&a, &same, false).unwrap_err().to_string();
        assert!(err.contains("both the input and the output"), "{err}");
        output_not_input(&a, &dir.path().join("b.json"), false).unwrap();
        output_not_input(&a, &same, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.json.relarc-backup")).unwrap(),
            "[]"
        );
    }

    #[test]
    fn unwritable_places_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(writable_dir(&file)
            .unwrap_err()
            .to_string()
            .contains("is a file, not a folder"));
        assert!(writable_dir(Path::new("/proc/relarc-test")).is_err());
        assert!(writable_file(Path::new("/dev/null"))
            .unwrap_err()
            .to_string()
            .contains("not a regular file"));
        writable_dir(&dir.path().join("new/sub")).unwrap();
        assert!(dir.path().join("new/sub").is_dir());
        assert!(fraction("--dev-fraction", 1.5).is_err() && fraction("--dev-fraction", 0.0).is_err());
        assert!(at_least_one("--epochs", 0)
            .unwrap_err()
            .to_string()
            .contains("--epochs"));
    }
}
