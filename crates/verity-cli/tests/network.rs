//! Four validator processes on loopback (`verity testnet` + `verity node --config`),
//! load through the HTTP API of every node, and real faults: `kill -9` of one validator
//! (the other three keep finalising; restarted, it catches up), of two (finality stops:
//! safety over liveness; it resumes when one returns), and a wiped data directory that
//! rejoins from its peers. Every acknowledged transaction is on every validator at the
//! end, every validator holds the same headers, and every certificate verifies against
//! the genesis validator set with Ed25519 alone.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verity_client::http::Client;
use verity_client::keystore::Keystore;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, Action, AssetId, Genesis, SignedTransaction, Transaction};

const N: usize = 4;

struct Net {
    dir: tempfile::TempDir,
    nodes: Vec<Option<Child>>,
    urls: Vec<String>,
}

impl Net {
    fn config(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{i}.json"))
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node{i}.log")))
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_verity"))
            .args(["node", "--config"])
            .arg(self.config(i))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a validator");
        self.nodes[i] = Some(child);
    }

    /// `kill -9`: no shutdown, no flush beyond what the node already made durable.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reaped");
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node{i}.log"))).unwrap_or_default()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..N {
            self.kill(i);
        }
    }
}

fn admin(net: &Net, i: usize) -> (AccountId, SecretKey) {
    let ks = Keystore::open(&net.dir.path().join(format!("node{i}/keystore.json"))).expect("keystore");
    ks.find(&format!("admin{i}")).expect("admin key")
}

fn transfer(chain: &str, from: &(AccountId, SecretKey), to: usize, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: chain.into(),
        sender: from.0.clone(),
        nonce,
        action: Action::Transfer {
            to: AccountId::new(format!("admin{to}")).expect("id"),
            asset: AssetId::new("credit").expect("id"),
            amount: 1,
            memo: String::new(),
        },
    }
    .sign(&from.1)
}

async fn height(url: &str) -> Option<u64> {
    Client::new(url).health().await.ok().map(|h| h.height)
}

async fn wait_until(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits `count` transfers from org `from`'s admin through validator `via`, waiting
/// for each to be final; returns their hashes (acknowledged = final).
async fn load(net: &Net, chain: &str, from: usize, via: usize, nonce: &mut u64, count: usize) -> Vec<String> {
    let key = admin(net, from);
    let client = Client::new(&net.urls[via]);
    let mut acked = Vec::new();
    for _ in 0..count {
        let tx = transfer(chain, &key, (from + 1) % N, *nonce);
        let r = client.submit(&tx, true).await.expect("submit");
        assert_eq!(r.status, "committed", "{r:?}");
        assert_eq!(r.success, Some(true), "{r:?}");
        *nonce += 1;
        acked.push(r.hash.expect("hash"));
    }
    acked
}

#[test]
fn four_validator_processes_survive_kill_9_and_keep_safety() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = 20_000 + (std::process::id() % 150) as u16 * 200;
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["testnet", "--validators", "4", "--base-port", &base.to_string(), "--max-block-txs", "512", "--dir"])
        .arg(dir.path())
        .output()
        .expect("verity testnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let genesis: Genesis =
        serde_json::from_slice(&std::fs::read(dir.path().join("genesis.json")).expect("genesis")).expect("json");
    let vs = genesis.validator_set();
    let chain = genesis.chain_id.clone();
    let urls = (0..N).map(|i| format!("http://127.0.0.1:{}", base + i as u16)).collect();
    let mut net = Net { dir, nodes: (0..N).map(|_| None).collect(), urls };
    // The same command refuses to overwrite the network.
    let again = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["testnet", "--dir"])
        .arg(net.dir.path())
        .output()
        .expect("verity testnet");
    assert!(!again.status.success());

    for i in 0..N {
        net.start(i);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let urls = net.urls.clone();
        wait_until("all four validators to serve HTTP", 60, async || {
            for u in &urls {
                if height(u).await.is_none() {
                    return false;
                }
            }
            true
        })
        .await;

        // All up: transactions submitted to every node become final.
        let mut nonces = [0u64; N];
        let mut acked = Vec::new();
        for (from, nonce) in nonces.iter_mut().enumerate() {
            acked.extend(load(&net, &chain, from, (from + 1) % N, nonce, 5).await);
        }

        // kill -9 one validator: the other three keep finalising.
        net.kill(3);
        for (via, nonce) in nonces.iter_mut().enumerate().take(3) {
            acked.extend(load(&net, &chain, via, via, nonce, 5).await);
        }
        // Restarted, it catches up from its peers.
        net.start(3);
        let target = height(&net.urls[0]).await.expect("node 0");
        let u3 = net.urls[3].clone();
        wait_until("validator 3 to catch up", 120, async || height(&u3).await.is_some_and(|h| h >= target)).await;
        acked.extend(load(&net, &chain, 3, 3, &mut nonces[3], 3).await);

        // kill -9 two of four: no quorum, finality stops.
        net.kill(2);
        net.kill(3);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let stalled = height(&net.urls[0]).await.expect("node 0");
        let key0 = admin(&net, 0);
        let pending = transfer(&chain, &key0, 1, nonces[0]);
        let r = Client::new(&net.urls[0]).submit(&pending, false).await.expect("admitted");
        assert_eq!(r.status, "pending", "{r:?}");
        tokio::time::sleep(Duration::from_secs(5)).await;
        for u in &net.urls[..2] {
            let h = height(u).await.expect("running");
            assert!(h <= stalled + 1, "two of four down, yet the chain grew from {stalled} to {h}");
        }
        let c0 = Client::new(&net.urls[0]);
        let seen = c0.tx(&pending.hash().to_hex()).await.expect("known as pending");
        assert_eq!(seen.status, "pending", "no block can be final without a quorum");

        // One returns, with a wiped data directory: it rejoins from its peers, the quorum
        // is back, and the admitted transaction becomes final.
        let wiped = net.dir.path().join("node2");
        for sub in ["store", "consensus"] {
            std::fs::remove_dir_all(wiped.join(sub)).expect("wipe");
        }
        net.start(2);
        let ph = pending.hash().to_hex();
        wait_until("finality to resume", 120, async || c0.tx(&ph).await.is_ok_and(|t| t.status == "committed")).await;
        acked.push(ph);
        net.start(3);
        let top = height(&net.urls[0]).await.expect("node 0");
        let urls = net.urls.clone();
        wait_until("every validator to reach the same height", 120, async || {
            for u in &urls {
                if height(u).await.is_none_or(|h| h < top) {
                    return false;
                }
            }
            true
        })
        .await;

        // No acknowledged transaction is lost, on any validator.
        for u in &net.urls {
            let c = Client::new(u);
            for h in &acked {
                let t = c.tx(h).await.unwrap_or_else(|e| panic!("{h} missing on {u}: {e}"));
                assert_eq!(t.status, "committed", "{h} on {u}");
                assert_eq!(t.receipt.expect("receipt").status, verity_types::TxStatus::Success);
            }
        }
        // Identical headers at every height; certificates verify with Ed25519 alone.
        let mut direct = 0;
        let mut by_descendant = Vec::new();
        for h in 1..=top {
            let b0 = Client::new(&net.urls[0]).block(&h.to_string()).await.expect("block");
            for u in &net.urls[1..] {
                let b = Client::new(u).block(&h.to_string()).await.expect("block");
                assert_eq!(b.header, b0.header, "validators disagree at height {h}");
            }
            if b0.certificate.finalized_by.is_none() {
                vs.verify_certificate(&b0.header, &b0.certificate).expect("certificate verifies");
                direct += 1;
            } else {
                assert!(b0.certificate.finalized_by.is_some_and(|d| d > h && d <= top));
                by_descendant.push(h);
            }
        }
        assert!(direct > 0);
        let cp = Client::new(&net.urls[1]).latest_checkpoint().await.expect("checkpoint");
        vs.verify_certificate(&cp.checkpoint.header, &cp.checkpoint.certificate).expect("checkpoint verifies");
        // Every acknowledged transaction up to the newest checkpoint is proven against
        // a checkpoint with its own quorum certificate, even one whose own block was
        // final only through a descendant.
        let c = Client::new(&net.urls[2]);
        let mut checkpoints = std::collections::HashMap::new();
        let mut proven = 0;
        for h in &acked {
            let t = c.tx(h).await.expect("tx");
            if t.height.expect("height") > cp.checkpoint.header.height {
                continue;
            }
            let (Some(proof), Some(at)) = (&t.inclusion_proof, t.checkpoint_height) else {
                panic!("{h} at height {:?} has no proof under a checkpoint", t.height);
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = checkpoints.entry(at) {
                let got = c.checkpoint(at).await.expect("checkpoint").checkpoint;
                verity_client::verify::verify_checkpoint(&vs, &got).expect("a checkpoint with its own certificate");
                slot.insert(got);
            }
            verity_client::verify::verify_tx_inclusion(&checkpoints[&at], &h.parse().expect("hash"), proof)
                .expect("inclusion verifies");
            proven += 1;
        }
        assert!(proven > 0);
        // State proofs verify offline at a checkpoint, and at a block final only through
        // a descendant (through the parent hashes from that descendant's checkpoint),
        // when the run produced one. Asked of validator 1, whose checkpoint `cp` is (the
        // others may not have committed that height yet: idle leaders keep proposing).
        let genesis_path = net.dir.path().join("genesis.json");
        eprintln!("blocks final through a descendant: {by_descendant:?}");
        for h in std::iter::once(cp.checkpoint.header.height).chain(by_descendant.first().copied()) {
            let out = Command::new(env!("CARGO_BIN_EXE_verity"))
                .args(["--node", &net.urls[1], "--json", "proof", "state", "bank/balance/admin0/credit", "--height"])
                .arg(h.to_string())
                .arg("--genesis")
                .arg(&genesis_path)
                .output()
                .expect("verity proof state");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("proof at {h}: {}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!(v["verified"], true, "height {h}: {v}");
        }
    });
    for i in 0..N {
        let log = net.log(i);
        assert!(!log.contains("panicked"), "validator {i} panicked:\n{log}");
    }
}
