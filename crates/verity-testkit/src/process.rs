//! A harness for node processes: start a real binary that serves HTTP on loopback, wait
//! until it says where it listens, and kill it when the test is done (panics included).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A node process; killed (SIGKILL) on drop unless stopped.
pub struct NodeProcess {
    pub child: Child,
    /// `http://ADDR:PORT`, as the node printed it.
    pub url: String,
}

impl NodeProcess {
    /// Runs `bin ARGS` (with `RUST_LOG=warn`) and waits until its stderr says
    /// `listening on URL`; stderr is drained from then on so the node never blocks on a
    /// full pipe.
    pub fn start(bin: &Path, args: &[&str]) -> NodeProcess {
        let child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
        // Owned at once, so every path (panics included) kills and waits for it.
        let mut node = NodeProcess { child, url: String::new() };
        let stderr = node.child.stderr.take().expect("piped stderr");
        let mut reader = BufReader::new(stderr);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("reading node stderr");
            assert!(n > 0, "node exited before listening");
            if let Some(rest) = line.split("listening on ").nth(1) {
                node.url = rest.split_whitespace().next().expect("url").to_string();
                std::thread::spawn(move || {
                    let mut sink = String::new();
                    while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                        sink.clear();
                    }
                });
                return node;
            }
            assert!(Instant::now() < deadline, "node did not start listening in time");
        }
    }

    /// The address the node listens on (`ADDR:PORT`).
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// SIGKILL and wait.
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

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
