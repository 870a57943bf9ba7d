//! Atomic, durable file replacement: readers and crashes see either the old file or the
//! new one, never a truncated or half-written one.
//!
//! The new contents go to a temporary file in the same directory (a rename is only atomic
//! within one file system), which is fsync'd, renamed over the target, and then the
//! directory itself is fsync'd so the rename survives a power cut. A failure before the
//! rename removes the temporary file and leaves the target untouched.
//!
//! The keystore, genesis files, validator configs and validator-set change files are
//! written through [`write_file`]; the embedded database has its own commit protocol.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode of files that hold secrets (keystore, validator key): owner read and write only.
pub const MODE_PRIVATE: u32 = 0o600;
/// Mode of files anyone may read (genesis, configs).
pub const MODE_PUBLIC: u32 = 0o644;

/// Replaces `path` with `contents` atomically and durably, creating it with `mode` (on
/// Unix; the mode applies to the new file whatever the old file's mode was).
pub fn write_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write_file_with(path, contents, mode, |_| Ok(()))
}

/// [`write_file`], calling `before_rename` with the temporary file's path once it is
/// written and fsync'd. Tests use it to simulate a failure (an error, as a crash or full
/// disk would give) at the last moment before the rename.
pub(crate) fn write_file_with(
    path: &Path,
    contents: &[u8],
    mode: u32,
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        // A file of this name can only be left over by a crashed process with our pid.
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        before_rename(&tmp)?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent_dir(path)
}

/// The temporary file for `path`: hidden, in the same directory, unique per process.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display())))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp.{}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Fsyncs the directory holding `path`, so a rename or creation in it is durable.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A failure after the temporary file is written but before the rename leaves the
    /// old file byte for byte and no temporary file behind; the next write succeeds.
    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("genesis.json");
        write_file(&path, b"old contents", MODE_PUBLIC).expect("first write");
        let mut seen_tmp = None;
        let err = write_file_with(&path, b"new contents that never land", MODE_PUBLIC, |tmp| {
            assert_eq!(fs::read(tmp).expect("the temporary holds the new contents"), b"new contents that never land");
            assert_eq!(tmp.parent(), path.parent(), "the temporary is in the target's directory");
            seen_tmp = Some(tmp.to_path_buf());
            Err(io::Error::other("simulated failure before the rename"))
        })
        .expect_err("the simulated failure is reported");
        assert!(err.to_string().contains("simulated"));
        assert!(seen_tmp.is_some());
        assert_eq!(fs::read(&path).expect("old file"), b"old contents");
        assert_eq!(names(dir.path()), vec!["genesis.json".to_string()], "no temporary file is left behind");
        write_file(&path, b"new", MODE_PUBLIC).expect("second write");
        assert_eq!(fs::read(&path).expect("new file"), b"new");
        assert_eq!(names(dir.path()), vec!["genesis.json".to_string()]);
    }

    /// A stale temporary file of a crashed earlier process with the same pid does not
    /// block the write, and the mode is the one asked for, not the old file's.
    #[test]
    fn stale_temporary_and_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keystore.json");
        fs::write(temp_path(&path).expect("tmp"), b"half-written").expect("stale tmp");
        fs::write(&path, b"old").expect("old");
        write_file(&path, b"new", MODE_PRIVATE).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert_eq!(names(dir.path()), vec!["keystore.json".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).expect("meta").permissions().mode() & 0o777, MODE_PRIVATE);
        }
    }

    /// A target that cannot be replaced (a directory) is an error and leaves nothing behind.
    #[test]
    fn an_unreplaceable_target_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("genesis.json");
        fs::create_dir(&path).expect("a directory where the file should go");
        assert!(write_file(&path, b"x", MODE_PUBLIC).is_err());
        assert_eq!(names(dir.path()), vec!["genesis.json".to_string()]);
        assert!(path.is_dir());
    }
}
