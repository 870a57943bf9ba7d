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

use verity_client::http::{Client, TxState};
use verity_client::keystore::Keystore;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, Action, AssetId, Genesis, SignedTransaction, Transaction, Transfer};

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
        action: Action::Transfer(Transfer {
            to: AccountId::new(format!("admin{to}")).expect("id"),
            asset: AssetId::new("credit").expect("id"),
            amount: 1,
            memo: String::new(),
        }),
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
        assert_eq!(r.status, TxState::Committed, "{r:?}");
        assert_eq!(r.success, Some(true), "{r:?}");
        *nonce += 1;
        acked.push(r.hash.expect("hash"));
    }
    acked
}

#[test]
fn four_validator_processes_survive_kill_9_and_keep_safety() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_port();
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
        // Blocks finalised just before the kill may still be committing on the two
        // survivors (one can lag on a loaded machine): take the height once both report
        // the same one and it has held for two seconds.
        let mut stalled = 0;
        wait_until("the two survivors to settle on one height", 60, async || {
            let before = (height(&net.urls[0]).await, height(&net.urls[1]).await);
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = (height(&net.urls[0]).await, height(&net.urls[1]).await);
            match (before, after) {
                ((Some(a), Some(b)), (Some(c), Some(d))) if a == b && (a, b) == (c, d) => {
                    stalled = a;
                    true
                }
                _ => false,
            }
        })
        .await;
        let key0 = admin(&net, 0);
        let pending = transfer(&chain, &key0, 1, nonces[0]);
        let r = Client::new(&net.urls[0]).submit(&pending, false).await.expect("admitted");
        assert_eq!(r.status, TxState::Pending, "{r:?}");
        tokio::time::sleep(Duration::from_secs(5)).await;
        for u in &net.urls[..2] {
            let h = height(u).await.expect("running");
            assert!(h <= stalled + 1, "two of four down, yet the chain grew from {stalled} to {h}");
        }
        let c0 = Client::new(&net.urls[0]);
        let seen = c0.tx(&pending.hash().to_hex()).await.expect("known as pending");
        assert_eq!(seen.status, TxState::Pending, "no block can be final without a quorum");

        // One returns, with a wiped data directory: it rejoins from its peers, the quorum
        // is back, and the admitted transaction becomes final.
        let wiped = net.dir.path().join("node2");
        for sub in ["store", "consensus"] {
            std::fs::remove_dir_all(wiped.join(sub)).expect("wipe");
        }
        net.start(2);
        let ph = pending.hash().to_hex();
        wait_until("finality to resume", 120, async || c0.tx(&ph).await.is_ok_and(|t| t.status == TxState::Committed))
            .await;
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
                assert_eq!(t.status, TxState::Committed, "{h} on {u}");
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
        // The checkpoint as a signed note: validator 1's, merged with the notes the
        // other three sign for the same block, carries all four signatures.
        // (A block any validator holds only as final through a descendant is no
        // checkpoint of that validator's, so the newest block all four certified.)
        let mut at = None;
        'heights: for h in (1..=top).rev() {
            for u in &net.urls {
                let view = Client::new(u).checkpoint(h).await.expect("checkpoint");
                if view.checkpoint.certificate.finalized_by.is_some() {
                    continue 'heights;
                }
            }
            at = Some(h);
            break;
        }
        let at = at.expect("a block every validator holds its own certificate for");
        let mut args = vec!["--node", net.urls[1].as_str(), "checkpoint", "note", "--genesis"];
        let genesis_arg = genesis_path.display().to_string();
        args.push(&genesis_arg);
        let at_arg = at.to_string();
        args.extend(["--height", at_arg.as_str()]);
        for u in [&net.urls[0], &net.urls[2], &net.urls[3]] {
            args.extend(["--from", u.as_str()]);
        }
        let note = cli(&args);
        assert_eq!(note["verified"], true, "{note}");
        assert_eq!(
            (note["checkpoint"]["height"].as_u64(), &note["checkpoint"]["signers"]),
            (Some(at), &serde_json::json!([0, 1, 2, 3])),
            "{note}"
        );
    });
    for i in 0..N {
        let log = net.log(i);
        assert!(!log.contains("panicked"), "validator {i} panicked:\n{log}");
    }
}

/// The first port of this process's networks: HTTP on base..base+3 (and base+50.. for
/// the second test), p2p 100 above. Below Linux's ephemeral range (32768 and up), so no
/// outgoing connection's local port can take one of them.
fn base_port() -> u16 {
    20_000 + (std::process::id() % 60) as u16 * 200
}

/// Runs the CLI with `args`, expecting success and JSON output.
fn cli(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_verity")).arg("--json").args(args).output().expect("verity");
    assert!(out.status.success(), "verity {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{args:?}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The operator's path for a validator-set change, on four processes: admins of three of
/// the four organisations approve removing validator 3 with the CLI (a change file
/// passed around and signed offline), it takes effect at the next epoch boundary, the
/// remaining three keep finalising while the removed one follows the chain, and a light
/// client (`verity proof tx`, `verity validators show`) verifies checkpoints signed by the
/// new set from the trusted genesis alone.
#[test]
fn a_validator_removed_by_its_peers_admins_leaves_the_set_at_the_epoch_boundary() {
    const EPOCH: u64 = 40;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_port() + 50;
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["testnet", "--validators", "4", "--epoch-length", &EPOCH.to_string(), "--base-port"])
        .arg(base.to_string())
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("verity testnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let genesis_path = dir.path().join("genesis.json");
    let genesis: Genesis = serde_json::from_slice(&std::fs::read(&genesis_path).expect("genesis")).expect("json");
    assert_eq!(genesis.epoch_length, EPOCH);
    let urls: Vec<String> = (0..N).map(|i| format!("http://127.0.0.1:{}", base + i as u16)).collect();
    let mut net = Net { dir, nodes: (0..N).map(|_| None).collect(), urls: urls.clone() };
    for i in 0..N {
        net.start(i);
    }
    let ks = |i: usize| net.dir.path().join(format!("node{i}/keystore.json")).display().to_string();
    let file = net.dir.path().join("remove-3.json").display().to_string();
    let removed = genesis.validators[3].public_key;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        // Early in an epoch, so the change is on the ledger before the epoch ends.
        wait_until("an early height of an epoch", 120, async || {
            height(&urls[0]).await.is_some_and(|h| h >= 1 && (h % EPOCH) < EPOCH / 3)
        })
        .await;
        let proposed =
            cli(&["--node", &urls[0], "validators", "propose", "--remove", &removed.to_hex(), "--out", &file]);
        let epoch = proposed["change"]["epoch"].as_u64().expect("epoch");
        // Two of four organisations are not enough.
        for i in 0..2 {
            cli(&["--keystore", &ks(i), "validators", "approve", &file, "--as", &format!("admin{i}")]);
        }
        let early = Command::new(env!("CARGO_BIN_EXE_verity"))
            .args(["--node", &urls[1], "--keystore", &ks(1), "validators", "submit", &file, "--as", "admin1"])
            .output()
            .expect("verity");
        assert!(!early.status.success(), "two approvals of four organisations must not do");
        assert!(String::from_utf8_lossy(&early.stderr).contains("insufficient_approvals"));
        cli(&["--keystore", &ks(2), "validators", "approve", &file, "--as", "admin2"]);
        cli(&["--node", &urls[1], "--keystore", &ks(1), "validators", "submit", &file, "--as", "admin1"]);
        // Asked of the node that acknowledged the transaction (it committed it).
        let v = Client::new(&urls[1]).validators().await.expect("validators");
        assert_eq!(v.scheduled.as_ref().map(|s| s.change.epoch), Some(epoch), "{v:?}");

        // Past the boundary: three validators, and all four nodes (the removed one
        // following) keep growing the chain.
        let boundary = epoch * EPOCH - 1;
        wait_until("blocks of the new epoch on every node", 180, async || {
            for u in &urls {
                if height(u).await.is_none_or(|h| h < boundary + 5) {
                    return false;
                }
            }
            true
        })
        .await;
        let v = Client::new(&urls[2]).validators().await.expect("validators");
        assert_eq!(v.validators.len(), 3, "{v:?}");
        assert_eq!(v.epoch, epoch, "{v:?}");
        assert!(v.validators.iter().all(|x| x.public_key != removed.to_hex()));

        // A transfer in the new epoch, proven offline from the trusted genesis through
        // the change.
        let key = admin(&net, 0);
        let nonce = Client::new(&urls[0]).account("admin0").await.expect("account").nonce;
        let r = Client::new(&urls[3]).submit(&transfer(&genesis.chain_id, &key, 1, nonce), true).await.expect("submit");
        assert_eq!(r.success, Some(true), "{r:?}");
        let hash = r.hash.expect("hash");
        let mut proven = serde_json::Value::Null;
        wait_until("a checkpoint covering the transfer", 60, async || {
            let out = Command::new(env!("CARGO_BIN_EXE_verity"))
                .args(["--json", "--node", &urls[0], "proof", "tx", &hash, "--genesis"])
                .arg(&genesis_path)
                .output()
                .expect("verity");
            if out.status.success() {
                proven = serde_json::from_slice(&out.stdout).expect("json");
            }
            out.status.success()
        })
        .await;
        assert_eq!(proven["verified"], true, "{proven}");
        let shown = cli(&["--node", &urls[3], "validators", "show", "--genesis", &genesis_path.display().to_string()]);
        assert_eq!(shown["verified_changes"], 1, "{shown}");

        // An audit bundle of a record made in the new epoch carries the change, and
        // verifies offline from the genesis file (but not against the genesis set alone).
        let content = verity_types::sha256(b"registered after the change").to_hex();
        cli(&["--node", &urls[0], "--keystore", &ks(0), "role", "grant", "admin0", "creator", "--as", "admin0"]);
        cli(&[
            "--node",
            &urls[0],
            "--keystore",
            &ks(0),
            "content",
            "register",
            "--hash",
            &content,
            "--licence",
            "MIT",
            "--signer",
            "admin0",
        ]);
        let bundle = net.dir.path().join("bundle.json").display().to_string();
        let exported = cli(&["--node", &urls[0], "audit", "export", &format!("content:{content}"), "-o", &bundle]);
        assert!(exported["height"].as_u64().expect("height") > boundary, "{exported}");
        let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("json");
        assert_eq!(b["transitions"].as_array().map(Vec::len), Some(1));
        let verified = cli(&["audit", "verify", &bundle, "--validators", &genesis_path.display().to_string()]);
        assert_eq!(verified["valid"], true, "{verified}");
        let set_file = net.dir.path().join("genesis-set.json");
        std::fs::write(&set_file, serde_json::to_vec(&genesis.validator_set()).expect("json")).expect("write");
        let stale = Command::new(env!("CARGO_BIN_EXE_verity"))
            .args(["audit", "verify", &bundle, "--validators"])
            .arg(&set_file)
            .output()
            .expect("verity");
        assert!(!stale.status.success(), "a checkpoint of the new set must not verify against the genesis set");

        // Certificates: the genesis set before the boundary, the new set after it; the
        // removed key signs nothing after the boundary.
        let store_header = |h: u64| {
            let u = urls[0].clone();
            async move { Client::new(&u).checkpoint(h).await.expect("checkpoint").checkpoint }
        };
        let new_set = {
            let mut s = genesis.validator_set();
            s.validators.remove(3);
            s
        };
        let before = store_header(boundary).await;
        genesis
            .validator_set()
            .verify_certificate(&before.header, &before.certificate)
            .expect("boundary by genesis set");
        for h in boundary + 1..boundary + 5 {
            let cp = store_header(h).await;
            if cp.certificate.finalized_by.is_none() {
                new_set.verify_certificate(&cp.header, &cp.certificate).expect("new set");
                assert!(genesis.validator_set().verify_certificate(&cp.header, &cp.certificate).is_err());
            }
        }
    });
    for i in 0..N {
        let log = net.log(i);
        assert!(!log.contains("panicked"), "validator {i} panicked:\n{log}");
    }
}

/// The governance must-hold on four validator processes: a fifth organisation admitted
/// by vote, ratification and cooling-off (and voting from then on); a parameter change
/// that the next dataset challenge then uses to slash the curator; equivocation evidence
/// signed by validator 3's own key slashing the stake on that key; and a reward stream
/// paused by the emergency council and resumed by a proposal, with what it owed kept.
#[test]
fn a_consortium_of_validator_processes_governs_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_port() + 25;
    let rule = |kind: &str, ratifications: u32| {
        serde_json::json!({"kind": kind, "quorum": {"num": 1, "den": 2}, "threshold": {"num": 1, "den": 2},
            "voting_period": 8, "cooling_off": 4, "veto": {"num": 1, "den": 3},
            "ratifications": ratifications, "ratification_window": 500})
    };
    let constitution = serde_json::json!({
        "rules": [rule("parameter", 0), rule("admit_org", 1), rule("streams", 0)],
        "council": ["admin0", "admin1"],
        "council_threshold": 2,
        "stake_asset": "credit",
        "params": [{"name": "reward_epoch", "value": "10"}],
    });
    let cpath = dir.path().join("constitution.json");
    std::fs::write(&cpath, serde_json::to_vec(&constitution).expect("json")).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["testnet", "--validators", "4", "--base-port", &base.to_string(), "--constitution"])
        .arg(&cpath)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("verity testnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let genesis: Genesis =
        serde_json::from_slice(&std::fs::read(dir.path().join("genesis.json")).expect("genesis")).expect("json");
    let urls: Vec<String> = (0..N).map(|i| format!("http://127.0.0.1:{}", base + i as u16)).collect();
    let mut net = Net { dir, nodes: (0..N).map(|_| None).collect(), urls: urls.clone() };
    for i in 0..N {
        net.start(i);
    }
    let net_dir = net.dir.path().to_path_buf();
    let ks = |i: usize| net_dir.join(format!("node{i}/keystore.json")).display().to_string();
    // `verity --json --node URL(i) --keystore KS(i) ARGS`.
    let run = |i: usize, args: &[&str]| {
        let (u, k) = (urls[i].clone(), ks(i));
        let mut full = vec!["--node", u.as_str(), "--keystore", k.as_str()];
        full.extend_from_slice(args);
        cli(&full)
    };
    let fails = |i: usize, args: &[&str], code: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_verity"))
            .args(["--node", &urls[i], "--keystore", &ks(i)])
            .args(args)
            .output()
            .expect("verity");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(code), "{args:?} should fail with {code}: {err}");
    };
    let tx = |i: usize, args: &[&str]| -> String {
        let v = run(i, args);
        assert_eq!(v["receipt"]["status"], "success", "{args:?}: {v}");
        v["hash"].as_str().expect("hash").to_string()
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let phase = |i: usize, id: &str| run(i, &["gov", "show", id])["proposal"]["phase"].as_str().map(str::to_string);
    // Yes from org0 and org4 (both keys in node 0's keystore) and org1: three of five.
    let three_yes = |id: &str| {
        for a in ["admin0", "admin4"] {
            tx(0, &["gov", "vote", id, "yes", "--as", a]);
        }
        tx(1, &["gov", "vote", id, "yes", "--as", "admin1"]);
    };
    rt.block_on(async {
        wait_until("the first blocks", 120, async || height(&urls[0]).await.is_some_and(|h| h >= 2)).await;

        // 1. A fifth organisation: voted by three of four, ratified, executed.
        let key = run(0, &["keys", "new", "admin4"])["public_key"].as_str().expect("key").to_string();
        tx(0, &["role", "grant", "admin0", "ratifier", "--as", "admin0"]);
        tx(1, &["role", "grant", "admin1", "ratifier", "--as", "admin1"]);
        let admit = tx(
            0,
            &[
                "gov",
                "propose",
                "--as",
                "admin0",
                "--title",
                "admit org4",
                "admit-org",
                "org4",
                "--name",
                "Organisation 4",
                "--admin",
                &format!("admin4={key}"),
            ],
        );
        for i in 0..3 {
            tx(i, &["gov", "vote", &admit, "yes", "--as", &format!("admin{i}")]);
        }
        fails(0, &["gov", "execute", &admit, "--as", "admin0"], "too_early");
        wait_until("the end of the cooling-off", 120, async || {
            phase(3, &admit).as_deref() == Some("awaiting_ratification")
        })
        .await;
        // Not by the proposer's own organisation: org1's ratifier signs off.
        fails(0, &["gov", "ratify", &admit, "--as", "admin0"], "unauthorized");
        tx(1, &["gov", "ratify", &admit, "--as", "admin1"]);
        tx(1, &["gov", "execute", &admit, "--as", "admin1"]);
        wait_until("org4 on every validator", 60, async || {
            (0..N).all(|i| run(i, &["gov", "show"])["members"].as_array().is_some_and(|m| m.len() == 5))
        })
        .await;

        // 2. A parameter, voted by the new member too; the next challenge uses it.
        let param = tx(
            0,
            &[
                "gov",
                "propose",
                "--as",
                "admin0",
                "--title",
                "curators stake more",
                "param",
                "curation_slash_ppm",
                "500000",
            ],
        );
        three_yes(&param);
        wait_until("the parameter's execution", 120, async || phase(2, &param).as_deref() == Some("executed")).await;
        let shown = run(2, &["gov", "show", &param]);
        assert_eq!(shown["proposal"]["tally"]["yes"], 3, "{shown}");
        assert_eq!(shown["proposal"]["tally"]["total"], 5, "{shown}");

        for (account, role) in [("cur", "curator"), ("rev", "reviewer")] {
            tx(0, &["account", "create", account, "--org", "org0", "--role", role, "--as", "admin0"]);
        }
        tx(0, &["transfer", "--as", "admin0", "--to", "cur", "--amount", "5000"]);
        let files = net_dir.join("corpus");
        std::fs::create_dir_all(&files).expect("mkdir");
        for (n, text) in ["one", "two", "three"].iter().enumerate() {
            std::fs::write(files.join(format!("f{n}.txt")), text).expect("write");
        }
        let manifest = net_dir.join("corpus.json").display().to_string();
        run(
            0,
            &[
                "dataset",
                "build",
                files.to_str().expect("utf-8"),
                "--dataset",
                "corpus",
                "--version",
                "1",
                "--licence",
                "CC-BY-4.0",
                "-o",
                &manifest,
            ],
        );
        let p = run(
            0,
            &[
                "dataset",
                "publish",
                &manifest,
                "--mode",
                "root-only",
                "--reviewer",
                "rev",
                "--challenge-window",
                "500",
                "--signer",
                "cur",
            ],
        );
        assert_eq!(p["status"], "published", "{p}");
        tx(0, &["stake", "bond", "dataset:corpus@1", "1000", "--as", "cur"]);
        let item = verity_types::sha256(b"two").to_hex();
        let evidence = verity_types::sha256(b"a mislabelled item").to_hex();
        let c = run(
            1,
            &[
                "dataset",
                "challenge",
                "corpus@1",
                "--content",
                &item,
                "--kind",
                "mislabelled",
                "--evidence",
                &evidence,
                "--manifest",
                &manifest,
                "--signer",
                "admin1",
            ],
        );
        let challenge = c["challenge"].as_str().expect("challenge id").to_string();
        let r = run(0, &["dataset", "resolve", &challenge, "--upheld", "--reason", "checked", "--signer", "rev"]);
        assert_eq!(r["challenge_status"], "upheld", "{r}");
        let cur = run(0, &["stake", "show", "cur"]);
        assert_eq!(cur["positions"][0]["bonded"], "500", "the governed share, 50%: {cur}");
        assert_eq!(cur["positions"][0]["slashed"], "500", "{cur}");
        assert_eq!(cur["reputation"]["challenges_lost"], 1, "{cur}");
        let challenger = run(1, &["stake", "show", "admin1"]);
        assert_eq!(challenger["reputation"]["challenges_upheld"], 1, "{challenger}");

        // 3. Validator 3 equivocates: evidence signed with its own key slashes its stake.
        tx(
            3,
            &[
                "stake",
                "bond",
                &format!("validator:{}", genesis.validators[3].public_key.to_hex()),
                "1000",
                "--as",
                "admin3",
            ],
        );
        let v3 = verity_node::datadir::read_validator_key(&net_dir.join("node3")).expect("validator key");
        let evidence = verity_testkit::equivocation(&v3, &genesis.chain_id);
        let (id2, key2) = admin(&net, 2);
        let nonce = Client::new(&urls[2]).account("admin2").await.expect("account").nonce;
        let report = Transaction {
            chain_id: genesis.chain_id.clone(),
            sender: id2,
            nonce,
            action: Action::ReportEquivocation(verity_types::ReportEquivocation { evidence }),
        }
        .sign(&key2);
        let r = Client::new(&urls[2]).submit(&report, true).await.expect("submit");
        assert_eq!(r.success, Some(true), "{r:?}");
        let v = run(3, &["stake", "show", "admin3"]);
        assert_eq!(v["positions"][0]["slashed"], "50", "5% by default: {v}");
        assert_eq!(v["reputation"]["slashes"], 1, "{v}");

        // 4. A stream paying validators' stakers: paused by the council, resumed by vote.
        tx(0, &["treasury", "fund", "100000", "--asset", "credit", "--as", "admin0"]);
        let stream = tx(
            0,
            &[
                "gov",
                "propose",
                "--as",
                "admin0",
                "--title",
                "pay validators",
                "create-stream",
                "validators-2027",
                "--asset",
                "credit",
                "--per-epoch",
                "100",
                "--budget",
                "100000",
                "--stakers",
                "validators",
            ],
        );
        three_yes(&stream);
        let owed = |i: usize| -> u128 {
            run(i, &["stake", "show", "admin3"])["owed"][0]["amount"].as_str().map_or(0, |a| a.parse().expect("amount"))
        };
        wait_until("rewards owed to the validators' staker", 180, async || owed(3) > 0).await;
        tx(0, &["council", "pause", "validators-2027", "--as", "admin0"]);
        assert_eq!(run(0, &["rewards", "list"])["streams"][0]["paused"], false, "one member is not the threshold");
        tx(1, &["council", "pause", "validators-2027", "--as", "admin1"]);
        wait_until("the pause on every validator", 60, async || {
            (0..N).all(|i| run(i, &["rewards", "list"])["streams"][0]["paused"] == true)
        })
        .await;
        fails(3, &["rewards", "claim", "validators-2027", "--as", "admin3"], "stream_paused");
        let kept = owed(3);
        let h = height(&urls[3]).await.expect("height");
        wait_until("two reward epochs", 120, async || height(&urls[3]).await.is_some_and(|x| x > h + 20)).await;
        assert_eq!(owed(3), kept, "a paused stream accrues nothing and keeps what it owes");
        let resume =
            tx(0, &["gov", "propose", "--as", "admin0", "--title", "resume", "resume-stream", "validators-2027"]);
        for a in ["admin0", "admin4"] {
            tx(0, &["gov", "vote", &resume, "yes", "--as", a]);
        }
        tx(2, &["gov", "vote", &resume, "yes", "--as", "admin2"]);
        wait_until("the resume", 120, async || phase(3, &resume).as_deref() == Some("executed")).await;
        wait_until("accrual again", 120, async || owed(3) > kept).await;
        let claimed = run(3, &["rewards", "claim", "validators-2027", "--as", "admin3"]);
        assert_eq!(claimed["receipt"]["events"][0]["type"], "rewards_claimed", "{claimed}");
    });
    for i in 0..N {
        let log = net.log(i);
        assert!(!log.contains("panicked"), "validator {i} panicked:\n{log}");
    }
}
