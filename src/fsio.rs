//! File writes that never leave a half-written file behind.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a write to `path` lands: the path itself when nothing or a regular file is there, a
/// symbolic link's target (so the link stays a link), and an error for anything else (a
/// device, a FIFO, a folder), which a rename would destroy.
pub fn write_target(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let meta = match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(e),
            Ok(m) => m,
        };
        let kind = meta.file_type();
        if kind.is_file() {
            return Ok(path);
        }
        if !kind.is_symlink() {
            let what = if kind.is_dir() {
                "a folder"
            } else {
                "a device, FIFO or socket"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a regular file ({what}); relarc writes only regular files"),
            ));
        }
        let link = fs::read_link(&path)?;
        path = match path.parent() {
            Some(dir) if link.is_relative() => dir.join(link),
            _ => link,
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Writes `path` atomically: the bytes go to a temporary file in the same folder, which is
/// flushed to disk and then renamed over the target. On any error the old file is untouched.
/// A symbolic link is written through; a path that is not a regular file is refused.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    stage(path, write)?.commit()
}

/// Writes several files as one save: every file is written and flushed to a temporary file
/// first, and only then are they renamed into place, in order. A failure while writing (a
/// full disk, say) leaves all the old files as they were; the error names the file.
pub fn atomic_write_set(files: &[(&Path, &[u8])]) -> Result<(), (PathBuf, io::Error)> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        staged.push(stage(path, |w| w.write_all(bytes)).map_err(|e| (path.to_path_buf(), e))?);
    }
    for (file, (path, _)) in staged.into_iter().zip(files) {
        file.commit().map_err(|e| (path.to_path_buf(), e))?;
    }
    Ok(())
}

/// A file written in full beside its target, waiting to be renamed over it.
struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Staged {
    fn commit(self) -> io::Result<()> {
        self.tmp.persist(&self.target).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Temporary files of writes start with this (and are removed when a write fails).
const SAVE_PREFIX: &str = ".relarc-save-";

fn stage(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<Staged> {
    let target = write_target(path)?;
    let path = target.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A write killed before its rename (kill -9, power loss) leaves its temporary file.
    remove_stale(dir, SAVE_PREFIX);
    let mut tmp = tempfile::Builder::new().prefix(SAVE_PREFIX).tempfile_in(dir)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
    }
    tmp.as_file().sync_all()?;
    // Keep the permissions of the file being replaced; a new file gets the usual rw-r--r--
    // rather than the temporary file's owner-only mode.
    match fs::metadata(path) {
        Ok(meta) => {
            let _ = fs::set_permissions(tmp.path(), meta.permissions());
        }
        Err(_) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644));
            }
        }
    }
    Ok(Staged { tmp, target })
}

/// Writes a folder as a whole: `write` fills a temporary sibling folder, which then takes the
/// folder's place in one exchange of names, so a failure or a kill at any point leaves the old
/// folder as it was. Files of the old folder that the new one does not write (a run's
/// report, other documents of a collection) are carried over. Temporary folders left by
/// earlier crashes are removed.
pub fn write_dir_atomically(dir: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    // `.` and `..` have no name of their own to swap.
    let named;
    let dir = if dir.file_name().is_none() {
        named = fs::canonicalize(dir)?;
        named.as_path()
    } else {
        dir
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let name = dir
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a folder needs a name"))?
        .to_string_lossy()
        .to_string();
    let prefix = format!(".{name}.relarc-tmp-");
    remove_stale(&parent, &prefix);
    let tmp = tempfile::Builder::new().prefix(&prefix).tempdir_in(&parent)?;
    write(tmp.path())?;
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if !meta.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a folder"));
        }
        carry_over(dir, tmp.path())?;
    }
    fs::File::open(tmp.path())?.sync_all()?;
    swap_into_place(tmp.path(), dir)?;
    // `tmp` now holds the old folder (or nothing) and is removed when dropped.
    fs::File::open(&parent)?.sync_all()
}

/// Entries of `old` that `new` lacks, hard-linked (or copied) into `new`.
fn carry_over(old: &Path, new: &Path) -> io::Result<()> {
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let target = new.join(entry.file_name());
        if fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir(&target)?;
            carry_over(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &target)?;
        } else if fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Puts `new` at `dir`; where `dir` exists the two names are exchanged in one step (Linux
/// `renameat2` with `RENAME_EXCHANGE`), so `new` then names the old folder.
fn swap_into_place(new: &Path, dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dir).is_err() {
        return fs::rename(new, dir);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (from, to) = (c(new)?, c(dir)?);
        // SAFETY: two valid NUL-terminated paths relative to the working directory.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
    }
    // No exchange on this system or file system: two renames, the old folder kept aside until
    // the new one is in place.
    let aside = new.with_extension("old");
    fs::rename(dir, &aside)?;
    if let Err(e) = fs::rename(new, dir) {
        let _ = fs::rename(&aside, dir);
        return Err(e);
    }
    fs::rename(&aside, new)
}

/// Temporary files and folders of saves that crashed more than an hour ago (a save still
/// going in another process is younger).
fn remove_stale(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(prefix) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old {
            let _ = match entry.file_type() {
                Ok(t) if t.is_dir() => fs::remove_dir_all(entry.path()),
                _ => fs::remove_file(entry.path()),
            };
        }
    }
}

/// Atomic write of a byte buffer.
pub fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    atomic_write(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_keeps_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        fs::write(&p, "old").unwrap();
        let err = atomic_write(&p, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_set_of_files_is_written_all_or_nothing_and_old_leftovers_go() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("doc.txt"), dir.path().join("doc.ann"));
        atomic_write_set(&[(&a, b"old text"), (&b, b"old ann")]).unwrap();
        // The second file cannot be written (its path is a folder): neither changes.
        let folder = dir.path().join("sub");
        fs::create_dir(&folder).unwrap();
        let (path, _) = atomic_write_set(&[(&a, b"new text"), (&folder, b"x")]).unwrap_err();
        assert_eq!(path, folder);
        assert_eq!(fs::read_to_string(&a).unwrap(), "old text");
        // A temporary file of a write killed two hours ago is removed by the next write
        // there; a young one (a write going on in another process) is kept.
        let stale = dir.path().join(".relarc-save-killed");
        let young = dir.path().join(".relarc-save-young");
        fs::write(&stale, "partial").unwrap();
        fs::write(&young, "partial").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        atomic_write_bytes(&b, b"new ann").unwrap();
        assert!(!stale.exists(), "stale temporary file removed");
        assert!(young.exists());
        assert_eq!(fs::read_to_string(&b).unwrap(), "new ann");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_by_others_and_old_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.json");
        atomic_write_bytes(&p, b"x").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        atomic_write_bytes(&p, b"y").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_a_device_and_a_folder_are_refused_and_left_as_they_are() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        for p in [fifo.as_path(), Path::new("/dev/null"), dir.path()] {
            let err = atomic_write_bytes(p, b"x").unwrap_err();
            assert!(
                err.to_string().contains("not a regular file"),
                "{}: {err}",
                p.display()
            );
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        atomic_write_bytes(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_folder_write_that_fails_leaves_the_old_folder_and_no_leftovers() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("model");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("config.json"), "old config").unwrap();
        fs::write(dir.join("weights"), "old weights").unwrap();
        let err = write_dir_atomically(&dir, |tmp| {
            fs::write(tmp.join("config.json"), "new config")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read_to_string(dir.join("config.json")).unwrap(), "old config");
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            1,
            "no temporary folder left"
        );
    }

    #[test]
    fn a_folder_write_replaces_what_it_writes_and_keeps_the_rest() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("model");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("config.json"), "old config").unwrap();
        fs::write(dir.join("report.json"), "report").unwrap();
        write_dir_atomically(&dir, |tmp| fs::write(tmp.join("config.json"), "new config")).unwrap();
        assert_eq!(fs::read_to_string(dir.join("config.json")).unwrap(), "new config");
        assert_eq!(fs::read_to_string(dir.join("report.json")).unwrap(), "report");
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            1,
            "the old folder is gone"
        );
        // A new folder too.
        let fresh = root.path().join("fresh");
        write_dir_atomically(&fresh, |tmp| fs::write(tmp.join("a"), "a")).unwrap();
        assert_eq!(fs::read_to_string(fresh.join("a")).unwrap(), "a");
    }

    #[test]
    fn write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        fs::write(&p, "old").unwrap();
        atomic_write_bytes(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
    }
}
