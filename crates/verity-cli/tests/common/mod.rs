//! Helpers for process-level tests: run the real `verity` binary, start real nodes on
//! ephemeral loopback ports and talk HTTP to them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn verity_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_verity"))
}

/// Runs `verity ARGS` to completion.
pub fn verity(args: &[&str]) -> Output {
    Command::new(verity_bin()).args(args).env("RUST_LOG", "warn").output().expect("running verity")
}

/// Runs `verity ARGS`, asserting success, and returns stdout.
pub fn verity_ok(args: &[&str]) -> String {
    let out = verity(args);
    assert!(
        out.status.success(),
        "verity {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs `verity --json ARGS` and parses stdout.
pub fn verity_json(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = verity_ok(&full);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("verity {args:?} printed non-JSON ({e}): {out}"))
}

/// A fresh data directory initialised with `verity init`.
pub fn init_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    verity_ok(&["init", "--data-dir", dir.path().join("net").to_str().expect("utf-8 path")]);
    dir
}

/// The chain id of the network `init_dir` created (bound to its genesis).
pub fn chain_id(dir: &tempfile::TempDir) -> String {
    let g: serde_json::Value =
        serde_json::from_slice(&std::fs::read(net(dir).join("genesis.json")).expect("genesis")).expect("json");
    g["chain_id"].as_str().expect("chain id").to_string()
}

pub fn net(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("net")
}

/// A `verity node` process; killed (SIGKILL) on drop unless stopped.
pub use verity_testkit::process::NodeProcess as Node;

/// Starts `verity node` on `data_dir` on an ephemeral port and waits until it listens.
pub fn start_node(data_dir: &Path) -> Node {
    start_node_on(data_dir, "127.0.0.1:0")
}

/// Starts `verity node` on `data_dir` listening on `listen`.
pub fn start_node_on(data_dir: &Path, listen: &str) -> Node {
    Node::start(&verity_bin(), &["node", "--data-dir", data_dir.to_str().expect("utf-8"), "--listen", listen])
}

/// Copies a ledger fixture's genesis and ledger (`tests/fixtures/NAME`) to a scratch data
/// directory (opening a store writes its derived hash index, which must not land in the
/// source tree).
pub fn scratch_copy(fixture: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("store")).expect("mkdir");
    for rel in ["genesis.json", "store/ledger.redb"] {
        std::fs::copy(src.join(rel), dir.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
    dir
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}
