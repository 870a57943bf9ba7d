//! What the `verity` binary tells its user when things go wrong around it: a closed
//! stdout pipe (`verity ... | head`) ends it quietly instead of a panic, and `verity
//! load` says why the node rejected its transactions.

mod common;

use std::process::{Command, Stdio};

use common::*;

/// The exit status of a process whose stdout reader went away (128 + SIGPIPE).
const EXIT_BROKEN_PIPE: i32 = 141;

#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("net");
    for json in [true, false] {
        let data = data.join(if json { "json" } else { "table" });
        let mut args = vec!["init", "--data-dir", data.to_str().expect("utf-8")];
        if json {
            args.insert(0, "--json");
        }
        let mut child = Command::new(verity_bin())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn verity");
        // The reader closes before the command prints anything (it first creates keys
        // and files), as `head` does once it has what it wants.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "verity panicked on a closed pipe: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{stderr}");
        assert_eq!(out.status.code(), Some(EXIT_BROKEN_PIPE), "stderr: {stderr}");
        // The command itself did its work before printing.
        assert!(data.join("genesis.json").exists());
    }
}

#[test]
fn load_says_why_the_node_rejected_its_transactions() {
    let dir = init_dir();
    let data = net(&dir);
    let node = start_node(&data);
    // A keystore whose `admin` key is not the one the ledger knows.
    let other = dir.path().join("other-keystore.json");
    let other = other.to_str().expect("utf-8");
    verity_ok(&["--keystore", other, "keys", "new", "admin"]);
    let acks = dir.path().join("acks.txt");
    let out = verity(&[
        "--node",
        &node.url,
        "--keystore",
        other,
        "load",
        "--count",
        "50",
        "--batch",
        "20",
        "--acks",
        acks.to_str().expect("utf-8"),
    ]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "a load that committed nothing must fail: {stdout}");
    assert!(stdout.contains("key_mismatch (50)"), "the table names the reason and its count: {stdout}");
    assert!(stderr.contains("rejected every transaction") && stderr.contains("key_mismatch"), "{stderr}");
    // --json carries the counts by code.
    let out = verity(&[
        "--json",
        "--node",
        &node.url,
        "--keystore",
        other,
        "load",
        "--count",
        "10",
        "--acks",
        acks.to_str().expect("utf-8"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["rejected_by_code"]["key_mismatch"]["count"], 10, "{v}");
}
