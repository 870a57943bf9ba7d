//! Crash safety: kill -9 the real node under load; every transaction whose submitter was
//! told "committed" must be there after restart, and a replay must match every root.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn crash_rounds() -> usize {
    if std::env::var("VERITY_TEST_LONG").as_deref() == Ok("1") {
        5
    } else {
        2
    }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_transaction() {
    let dir = init_dir();
    let data = net(&dir);
    let ks = data.join("keystore.json").display().to_string();
    let acks = dir.path().join("acks.txt");
    let mut node = start_node(&data);
    let mut listen = node.addr();
    for round in 0..crash_rounds() {
        let mut load = Command::new(verity_bin())
            .args([
                "--node",
                node.url.as_str(),
                "--keystore",
                ks.as_str(),
                "load",
                "--count",
                "200000",
                "--batch",
                "200",
                "--concurrency",
                "4",
                "--acks",
                acks.to_str().expect("utf-8"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn load");
        // Let acknowledgements accumulate, then kill the node mid-flight.
        let before = std::fs::read_to_string(&acks).unwrap_or_default().lines().count();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let n = std::fs::read_to_string(&acks).unwrap_or_default().lines().count();
            if n >= before + 1500 || std::time::Instant::now() > deadline {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(137 * (round as u64 + 1)));
        node.kill9();
        let status = load.wait().expect("load exits");
        assert!(!status.success(), "load must notice the node died (round {round})");
        // Restart on the same port and check every acknowledged hash.
        node = start_node_on(&data, &listen);
        listen = node.addr();
        let acked: Vec<String> =
            std::fs::read_to_string(&acks).expect("acks").lines().map(|l| l.trim().to_string()).collect();
        assert!(acked.len() > before, "round {round}: some transactions were acknowledged");
        let client = verity_client::Client::new(&node.url);
        let missing = rt().block_on(async {
            let mut missing = Vec::new();
            for h in &acked {
                match client.tx(h).await {
                    Ok(t) if t.status == verity_client::http::TxState::Committed => {}
                    other => missing.push(format!("{h}: {:?}", other.map(|t| t.status))),
                }
            }
            missing
        });
        assert!(missing.is_empty(), "acknowledged but lost after kill -9: {missing:?}");
    }
    drop(node);
    // Replay from genesis reproduces every root.
    let out = verity_json(&["replay", "--data-dir", data.to_str().expect("utf-8")]);
    assert_eq!(out["ok"], true, "{out}");
    assert!(out["txs"].as_u64().expect("txs") > 1000);
}
