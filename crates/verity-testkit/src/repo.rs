//! The repository's paths and the switch that skips the tests needing Python tools
//! (`VERITY_SKIP_PY_INTEROP=1`).

use std::path::{Path, PathBuf};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the caller asked to skip the tests that need the Python venv or the magika
/// model (`VERITY_SKIP_PY_INTEROP=1`); says so on stderr, naming `what` is skipped.
pub fn skip_py_interop(what: &str) -> bool {
    let skip = std::env::var("VERITY_SKIP_PY_INTEROP").as_deref() == Ok("1");
    if skip {
        eprintln!("VERITY_SKIP_PY_INTEROP=1: skipping {what}");
    }
    skip
}

/// `relative` under the repository root, which `script` creates; panics with a message
/// naming the script when it is missing.
pub fn require(relative: &str, script: &str) -> PathBuf {
    let path = repo_root().join(relative);
    assert!(path.exists(), "{} is missing: run {script} (or set VERITY_SKIP_PY_INTEROP=1 to skip)", path.display());
    path
}

/// A file or directory of the project's Python venv (`.venv`, made by
/// `scripts/py-venv.sh`), or `None` when the Python tests are skipped.
pub fn venv(relative: &str, what: &str) -> Option<PathBuf> {
    if skip_py_interop(what) {
        return None;
    }
    Some(require(&format!(".venv/{relative}"), "scripts/py-venv.sh"))
}
