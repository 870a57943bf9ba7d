//! Helpers for process-level tests: run the real `verity` binary, start real nodes on
//! ephemeral loopback ports and talk HTTP to them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// A node process; killed (SIGKILL) on drop unless stopped.
pub struct Node {
    pub child: Child,
    pub url: String,
}

impl Node {
    /// Starts `verity node` on an ephemeral port and waits until it listens.
    pub fn start(data_dir: &Path) -> Node {
        Self::start_on(data_dir, "127.0.0.1:0")
    }

    pub fn start_on(data_dir: &Path, listen: &str) -> Node {
        let child = Command::new(verity_bin())
            .args(["node", "--data-dir", data_dir.to_str().expect("utf-8"), "--listen", listen])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning verity node");
        // Owned by a Node at once, so every path (panics included) kills and waits for it.
        let mut node = Node { child, url: String::new() };
        let stderr = node.child.stderr.take().expect("piped stderr");
        let mut reader = BufReader::new(stderr);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("reading node stderr");
            assert!(n > 0, "node exited before listening");
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest.split_whitespace().next().expect("url").to_string();
                // Keep draining stderr so the node never blocks on a full pipe.
                std::thread::spawn(move || {
                    let mut sink = String::new();
                    while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                        sink.clear();
                    }
                });
                node.url = url;
                return node;
            }
            assert!(Instant::now() < deadline, "node did not start listening in time");
        }
    }

    /// The port the node listens on.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id() as i32;
        #[allow(unsafe_code)]
        // SAFETY: sending a signal to our own child process id has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}
