//! The real node process on an ephemeral port, driven through the CLI and raw HTTP.

use verity_types::{Burn, ReportEquivocation, Transfer};

mod common;

use common::*;
use serde_json::Value;

fn ks(dir: &tempfile::TempDir) -> String {
    net(dir).join("keystore.json").display().to_string()
}

#[test]
fn init_refuses_to_overwrite_and_keys_are_private() {
    let dir = init_dir();
    let again = verity(&["init", "--data-dir", net(&dir).to_str().expect("utf-8")]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    use std::os::unix::fs::PermissionsExt;
    for f in ["keystore.json", "validator.json"] {
        let mode = std::fs::metadata(net(&dir).join(f)).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
}

#[test]
fn accounts_roles_transfers_and_offline_proofs_through_the_cli() {
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = ks(&dir);
    let genesis = net(&dir).join("genesis.json").display().to_string();
    let base = ["--node", node.url.as_str(), "--keystore", ks.as_str()];
    let cli = |args: &[&str]| -> Value {
        let mut full: Vec<&str> = base.to_vec();
        full.extend_from_slice(args);
        verity_json(&full)
    };

    // Create an account (key created in the keystore), fund it, move funds back.
    let created = cli(&["account", "create", "alice", "--org", "dev", "--role", "member"]);
    assert_eq!(created["status"], "committed");
    assert_eq!(created["success"], true);
    cli(&["transfer", "--to", "alice", "--amount", "500"]);
    cli(&["transfer", "--to", "admin", "--amount", "120", "--as", "alice"]);
    let alice = cli(&["account", "show", "alice"]);
    assert_eq!(alice["balances"][0]["asset"], "credit");
    assert_eq!(alice["balances"][0]["amount"], "380");
    assert_eq!(alice["nonce"], 1);
    assert_eq!(alice["roles"], serde_json::json!(["member"]));

    // A refused action: alice is not an org admin. Committed, failed, typed error, exit code 1.
    let mut full: Vec<&str> = base.to_vec();
    full.extend_from_slice(&["role", "grant", "alice", "minter", "--as", "alice"]);
    let out = verity(&full);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"), "{}", String::from_utf8_lossy(&out.stderr));
    let alice = cli(&["account", "show", "alice"]);
    assert_eq!(alice["roles"], serde_json::json!(["member"]), "a failed action changes nothing");
    assert_eq!(alice["nonce"], 2, "but the nonce is consumed");

    // Roles: grant then revoke.
    cli(&["role", "grant", "alice", "evaluator"]);
    assert_eq!(cli(&["account", "show", "alice"])["roles"], serde_json::json!(["member", "evaluator"]));
    cli(&["role", "revoke", "alice", "evaluator"]);
    assert_eq!(cli(&["account", "show", "alice"])["roles"], serde_json::json!(["member"]));

    // Offline proofs against checkpoints signed by the genesis validators.
    let sent = cli(&["transfer", "--to", "alice", "--amount", "1"]);
    let hash = sent["hash"].as_str().expect("hash").to_string();
    let tx = cli(&["tx", "show", &hash, "--verify", "--genesis", &genesis]);
    assert_eq!(tx["status"], "committed");
    assert_eq!(tx["receipt_authenticated"], true, "{tx}");
    let p = cli(&["proof", "tx", &hash, "--genesis", &genesis]);
    assert_eq!(p["verified"], true);
    let p = cli(&["proof", "state", "bank/balance/alice/credit", "--genesis", &genesis]);
    assert_eq!(p["present"], true);
    let p = cli(&["proof", "state", "bank/balance/nobody/credit", "--genesis", &genesis]);
    assert_eq!(p["present"], false);
    let old = cli(&["proof", "state", "bank/balance/alice/credit", "--height", "3", "--genesis", &genesis]);
    assert_eq!(old["height"], 3);
    let c = cli(&["proof", "consistency", "--old-height", "1", "--genesis", &genesis]);
    assert_eq!(c["verified"], true);

    // A different validator set must not verify these checkpoints.
    let other = init_dir();
    let other_genesis = net(&other).join("genesis.json").display().to_string();
    let mut full: Vec<&str> = base.to_vec();
    full.extend_from_slice(&["proof", "tx", &hash, "--genesis", &other_genesis]);
    let out = verity(&full);
    assert!(!out.status.success(), "a checkpoint signed by another validator set must be refused");

    let block = cli(&["block", "show", "latest"]);
    assert!(block["height"].as_u64().expect("height") >= 6);
    let cp = cli(&["checkpoint", "show"]);
    assert_eq!(cp["height"], block["height"]);

    // Escrow: lock, release to a split.
    let lock = cli(&["escrow", "lock", "--amount", "100", "--arbiter", "admin"]);
    let escrow = lock["hash"].as_str().expect("hash").to_string();
    cli(&["escrow", "release", &escrow, "--split", "alice=60", "--split", "admin=40"]);
    let e = cli(&["escrow", "show", &escrow]);
    assert_eq!(e["status"], "released", "{e}");
}

async fn post(url: &str, body: Vec<u8>, content_type: &str) -> (u16, Value, Option<String>) {
    let resp =
        reqwest::Client::new().post(url).header("content-type", content_type).body(body).send().await.expect("request");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap_or("").to_string());
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    (status, v, retry)
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

#[test]
fn api_errors_are_typed_json_and_never_5xx() {
    use verity_client::keystore::Keystore;
    use verity_types::{AccountId, Action, AssetId, Transaction};

    let dir = init_dir();
    let node = start_node(&net(&dir));
    let chain = chain_id(&dir);
    let keystore = Keystore::open(&net(&dir).join("keystore.json")).expect("keystore");
    let (admin, key) = keystore.find("admin").expect("admin key");
    let transfer = |chain: &str, nonce: u64| {
        Transaction {
            chain_id: chain.into(),
            sender: admin.clone(),
            nonce,
            action: Action::Transfer(Transfer {
                to: admin.clone(),
                asset: AssetId::new("credit").expect("id"),
                amount: 1,
                memo: String::new(),
            }),
        }
        .sign(&key)
    };
    let body = |tx: &verity_types::SignedTransaction| {
        serde_json::to_vec(&serde_json::json!({"tx": hex::encode(tx.to_bytes())})).expect("json")
    };
    let url = format!("{}/v1/txs", node.url);
    rt().block_on(async {
        // Good transaction: committed.
        let (s, v, _) = post(&url, body(&transfer(&chain, 0)), "application/json").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "committed");
        let hash = v["hash"].as_str().expect("hash").to_string();

        // Replay of the same transaction: already-used nonce.
        let (s, v, _) = post(&url, body(&transfer(&chain, 0)), "application/json").await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["code"], "bad_nonce");

        // Wrong chain.
        let (s, v, _) = post(&url, body(&transfer("other-chain", 1)), "application/json").await;
        assert_eq!((s, v["code"].as_str()), (422, Some("wrong_chain")), "{v}");

        // Bad signature.
        let mut bad = transfer(&chain, 1);
        bad.signature.0[5] ^= 0x40;
        let (s, v, _) = post(&url, body(&bad), "application/json").await;
        assert_eq!((s, v["code"].as_str()), (422, Some("bad_signature")), "{v}");

        // Unknown sender.
        let stranger = verity_types::keys::SecretKey::from_seed([9; 32]);
        let t = Transaction {
            chain_id: chain.clone(),
            sender: AccountId::new("mallory").expect("id"),
            nonce: 0,
            action: Action::Burn(Burn { asset: AssetId::new("credit").expect("id"), amount: 1 }),
        }
        .sign(&stranger);
        let (s, v, _) = post(&url, body(&t), "application/json").await;
        assert_eq!((s, v["code"].as_str()), (422, Some("unknown_sender")), "{v}");

        // Malformed payloads.
        for (payload, ct, code) in [
            (b"{\"tx\":\"zz\"}".to_vec(), "application/json", "malformed_tx"),
            (b"{\"tx\":\"00ff\"}".to_vec(), "application/json", "malformed_tx"),
            (b"not json".to_vec(), "application/json", "invalid_json"),
            (b"{\"tx\":\"00\"}".to_vec(), "text/plain", "unsupported_media_type"),
        ] {
            let (s, v, _) = post(&url, payload, ct).await;
            assert!((400..500).contains(&s), "{s} {v}");
            assert_eq!(v["code"], code, "{v}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        // Oversized body: refused from its Content-Length, before the body is read. The
        // client may still be writing when the server answers and closes, so it sees
        // either the 413 or its write cut off; never an accepted body.
        let huge = vec![b'a'; verity_types::limits::REQUEST_BYTES_MAX + 10];
        match reqwest::Client::new().post(&url).header("content-type", "application/json").body(huge).send().await {
            Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
            Err(e) => assert!(e.is_request() && !e.is_timeout(), "{e}"),
        }

        // Batch: per-item results.
        let batch = serde_json::json!({"txs": [hex::encode(transfer(&chain, 1).to_bytes()), "zz",
                                               hex::encode(transfer(&chain, 2).to_bytes())]});
        let (s, v, _) =
            post(&format!("{url}/batch"), serde_json::to_vec(&batch).expect("json"), "application/json").await;
        assert_eq!(s, 200, "{v}");
        let r = v["results"].as_array().expect("results");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0]["status"], "committed");
        assert_eq!(r[1]["status"], "rejected");
        assert_eq!(r[1]["error"]["code"], "malformed_tx");
        assert_eq!(r[2]["status"], "committed");

        // Reads.
        let (s, body) = get(&format!("{}/v1/txs/{hash}", node.url)).await;
        assert_eq!(s, 200);
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["receipt"]["status"], "success");
        assert!(v["inclusion_proof"]["path"].is_array());
        for (path, want) in [
            ("/v1/txs/00", 400),
            (&format!("/v1/txs/{}", "ab".repeat(32)), 404),
            ("/v1/blocks/abc", 400),
            ("/v1/blocks/999999", 404),
            ("/v1/accounts/Bad!", 400),
            ("/v1/accounts/nobody", 404),
            // Schema-valid but contentless: neither key nor key_hex (422, not 400).
            ("/v1/state/proof", 422),
            ("/v1/state/proof?key=", 400),
            ("/v1/validators?cursor=9223372036854775808", 400),
            ("/v1/state/proof?key=x&height=99999", 404),
            ("/v1/log/consistency?old_size=5&new_size=2", 422),
            ("/v1/events?module=nope", 400),
            ("/nope", 404),
        ] {
            let (s, body) = get(&format!("{}{path}", node.url)).await;
            assert_eq!(s, want, "{path}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path} gave non-JSON: {body}"));
            assert!(v["code"].is_string(), "{path}: {body}");
        }
        let (s, body) = get(&format!("{}/metrics", node.url)).await;
        assert_eq!(s, 200);
        for name in [
            "verity_txs_committed_total",
            "verity_mempool_depth",
            "verity_submit_to_commit_seconds_bucket",
            "verity_block_commit_seconds_bucket",
            "verity_height",
        ] {
            assert!(body.contains(name), "metrics lack {name}:\n{body}");
        }
        let (s, body) = get(&format!("{}/openapi.json", node.url)).await;
        assert_eq!(s, 200);
        let doc: Value = serde_json::from_str(&body).expect("openapi json");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert!(doc["paths"]["/v1/txs"]["post"].is_object());
        let (s, body) = get(&format!("{}/health", node.url)).await;
        assert_eq!(s, 200);
        assert!(body.contains("\"status\":\"ok\""));
    });
}

#[test]
fn events_stream_filters_by_module_and_account() {
    use futures::StreamExt;
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = ks(&dir);
    let url = node.url.clone();
    rt().block_on(async move {
        let resp = reqwest::get(format!("{url}/v1/events?module=bank&account=bob")).await.expect("subscribe");
        assert_eq!(resp.status().as_u16(), 200);
        let mut stream = resp.bytes_stream();
        let ks2 = ks.clone();
        let url2 = url.clone();
        tokio::task::spawn_blocking(move || {
            let base = ["--node", url2.as_str(), "--keystore", ks2.as_str()];
            let run = |args: &[&str]| {
                let mut full: Vec<&str> = base.to_vec();
                full.extend_from_slice(args);
                verity_ok(&full);
            };
            run(&["account", "create", "bob", "--org", "dev"]);
            run(&["account", "create", "carol", "--org", "dev"]);
            run(&["transfer", "--to", "carol", "--amount", "5"]);
            run(&["transfer", "--to", "bob", "--amount", "7"]);
        })
        .await
        .expect("cli");
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while !text.contains("\"amount\":\"7\"") {
            let chunk = tokio::time::timeout_at(deadline, stream.next()).await.expect("event in time");
            text.push_str(&String::from_utf8_lossy(&chunk.expect("stream open").expect("bytes")));
        }
        assert!(text.contains("event: bank"), "{text}");
        assert!(!text.contains("account_created"), "identity events are filtered out: {text}");
        assert!(!text.contains("\"amount\":\"5\""), "transfers not touching bob are filtered out: {text}");
    });
}

#[test]
fn graceful_shutdown_on_sigterm_and_restart_resumes() {
    let dir = init_dir();
    let ks = ks(&dir);
    let mut node = start_node(&net(&dir));
    let base = ["--node", node.url.as_str(), "--keystore", ks.as_str()];
    let mut full: Vec<&str> = base.to_vec();
    full.extend_from_slice(&["transfer", "--to", "admin", "--amount", "3"]);
    verity_ok(&full);
    let before = verity_json(&["--node", node.url.as_str(), "checkpoint", "show"]);
    // An open event stream must not hold the shutdown open.
    let url = node.url.clone();
    let runtime = rt();
    let subscriber = runtime.spawn(async move {
        let resp = reqwest::get(format!("{url}/v1/events")).await.expect("subscribe");
        let _ = resp.bytes().await;
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let terminator = std::thread::spawn(move || {
        let ok = node.terminate();
        let _ = done_tx.send(ok);
        node
    });
    let ok = done_rx.recv_timeout(std::time::Duration::from_secs(20)).expect("node exits within 20 s of SIGTERM");
    let mut node = terminator.join().expect("terminate thread");
    assert!(ok, "SIGTERM exits with success");
    runtime.block_on(subscriber).expect("the event stream ends when the node stops");
    node.kill9();
    let node = start_node(&net(&dir));
    let after = verity_json(&["--node", node.url.as_str(), "checkpoint", "show"]);
    assert_eq!(before["height"], after["height"]);
    assert_eq!(before["state_root"], after["state_root"]);
}

/// Equivocation evidence through the real API: conflicting votes signed with the
/// node's validator key are recorded once, listed by `/v1/evidence` (also filtered by
/// validator), counted by `/v1/validators`, and provable under their state key; a
/// second report of the same round fails and changes nothing.
#[test]
fn equivocation_evidence_is_recorded_and_served() {
    use verity_client::keystore::Keystore;
    use verity_types::{Action, Equivocation, Hash, Transaction};

    let dir = init_dir();
    let node = start_node(&net(&dir));
    let chain = chain_id(&dir);
    let keystore = Keystore::open(&net(&dir).join("keystore.json")).expect("keystore");
    let (admin, key) = keystore.find("admin").expect("admin key");
    let validator = verity_node::datadir::read_validator_key(&net(&dir)).expect("validator key");
    let evidence = verity_testkit::equivocation(&validator, &chain);
    let report = |nonce: u64| {
        let tx = Transaction {
            chain_id: chain.clone(),
            sender: admin.clone(),
            nonce,
            action: Action::ReportEquivocation(ReportEquivocation { evidence: evidence.clone() }),
        }
        .sign(&key);
        serde_json::to_vec(&serde_json::json!({"tx": hex::encode(tx.to_bytes())})).expect("json")
    };
    rt().block_on(async {
        let url = format!("{}/v1/txs", node.url);
        let (s, v, _) = post(&url, report(0), "application/json").await;
        assert_eq!((s, v["status"].as_str()), (200, Some("committed")), "{v}");
        let (s, v, _) = post(&url, report(1), "application/json").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["receipt"]["error"]["code"], "already_exists", "{v}");

        let (s, body) = get(&format!("{}/v1/evidence", node.url)).await;
        assert_eq!(s, 200, "{body}");
        let list: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(list["count"], 1, "{list}");
        let rec = &list["evidence"][0];
        assert_eq!(rec["sequence"], 0);
        assert_eq!(rec["offence"], "conflicting_finalize");
        assert_eq!(rec["reported_by"], "admin");
        assert_eq!(rec["evidence"]["validator"], validator.public_key().to_hex());
        let back: Equivocation = serde_json::from_value(rec["evidence"].clone()).expect("evidence decodes");
        assert_eq!(back, evidence);
        back.verify(&chain).expect("verifies offline");

        let other = "11".repeat(32);
        let (_, body) = get(&format!("{}/v1/evidence?validator={other}", node.url)).await;
        let filtered: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(filtered["evidence"].as_array().map(Vec::len), Some(0), "{filtered}");
        let (s, _) = get(&format!("{}/v1/evidence?validator=zz", node.url)).await;
        assert_eq!(s, 400);

        let (s, body) = get(&format!("{}/v1/validators", node.url)).await;
        assert_eq!(s, 200, "{body}");
        let set: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(set["validators"][0]["public_key"], validator.public_key().to_hex());
        assert_eq!(set["validators"][0]["equivocations"], 1, "{set}");

        let (s, body) = get(&format!("{}/v1/state/proof?key=consensus/evidence/00000000000000000000", node.url)).await;
        assert_eq!(s, 200, "{body}");
        let view: Value = serde_json::from_str(&body).expect("json");
        let proof: verity_types::StateProof = serde_json::from_value(view["proof"].clone()).expect("proof");
        let root: Hash = view["state_root"].as_str().expect("root").parse().expect("hash");
        proof.verify(&root).expect("the record is proven against the state root");
        let value = proof.value.expect("membership");
        assert!(value.windows(32).any(|w| w == [2u8; 32]), "the proven record holds the evidence");
    });

    // The CLI verifies every record offline against the trusted genesis.
    let genesis = net(&dir).join("genesis.json").display().to_string();
    let listed = verity_json(&["--node", node.url.as_str(), "evidence", "list", "--genesis", &genesis]);
    assert_eq!((listed["verified"].as_bool(), listed["count"].as_u64()), (Some(true), Some(1)), "{listed}");
    // Under another chain's genesis the same votes prove nothing: refused.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).expect("genesis")).expect("json");
    other["chain_id"] = "another-chain".into();
    let other_path = dir.path().join("other-genesis.json");
    std::fs::write(&other_path, other.to_string()).expect("write");
    let out =
        verity(&["--node", node.url.as_str(), "evidence", "list", "--genesis", other_path.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"), "{out:?}");
}

/// A node that reports a failed transaction as successful (or moves a receipt to another
/// transaction) is caught: the receipt must be the one the block header commits to.
#[test]
fn receipts_are_authenticated_by_their_block_header() {
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = ks(&dir);
    let genesis_path = net(&dir).join("genesis.json");
    let base = ["--node", node.url.as_str(), "--keystore", ks.as_str()];
    let cli = |args: &[&str]| -> Value {
        let mut full: Vec<&str> = base.to_vec();
        full.extend_from_slice(args);
        verity_json(&full)
    };
    cli(&["account", "create", "bob", "--org", "dev", "--role", "member"]);
    // bob may not grant roles: committed, failed.
    let mut full: Vec<&str> = base.to_vec();
    full.extend_from_slice(&["role", "grant", "bob", "minter", "--as", "bob", "--json"]);
    let out = verity(&full);
    assert!(!out.status.success());
    let ok = cli(&["transfer", "--to", "bob", "--amount", "5"]);
    let ok_hash = ok["hash"].as_str().expect("hash").to_string();
    let g: verity_types::Genesis =
        serde_json::from_slice(&std::fs::read(&genesis_path).expect("genesis")).expect("genesis json");
    rt().block_on(async {
        let client = verity_client::Client::new(&node.url);
        let mut lc = verity_client::verify::LightClient::new(&g);
        let good = client.tx(&ok_hash).await.expect("tx");
        let v = client.verify_tx(&mut lc, &good).await.expect("an honest answer verifies");
        assert_eq!(v.receipt_check, verity_client::verify::ReceiptCheck::Committed);
        // bob's failed grant, found in the blocks before the transfer.
        let mut failed = None;
        for h in (1..good.height.expect("height")).rev() {
            for t in client.block(&h.to_string()).await.expect("block").tx_hashes {
                let t = client.tx(&t).await.expect("tx");
                if t.receipt.as_ref().is_some_and(|r| r.status == verity_types::TxStatus::Failed) {
                    failed = failed.or(Some(t));
                }
            }
        }
        let failed = failed.expect("bob's grant failed");
        client.verify_tx(&mut lc, &failed).await.expect("the failure verifies");
        // Lie 1: the failed transaction reported as successful.
        let mut lie = failed.clone();
        let r = lie.receipt.as_mut().expect("receipt");
        r.status = verity_types::TxStatus::Success;
        r.error = None;
        let err = client.verify_tx(&mut lc, &lie).await.expect_err("a forged success");
        assert!(err.to_string().contains("receipts root"), "{err}");
        // Lie 2: another transaction's receipt, proof and all.
        let mut swapped = good.clone();
        swapped.receipt = failed.receipt.clone();
        swapped.receipt_proof = failed.receipt_proof.clone();
        assert!(client.verify_tx(&mut lc, &swapped).await.is_err(), "a receipt of another transaction");
        // Lie 3: no receipt proof at all for a version 2 block.
        let mut bare = good.clone();
        bare.receipt_proof = None;
        assert!(client.verify_tx(&mut lc, &bare).await.is_err(), "a receipt without its proof");

        // The same checkpoint as a C2SP signed note: the embedded node's validator is the
        // whole set, so its signature is a quorum; the note's log is the JSON checkpoint's,
        // and the transaction's inclusion proof verifies against the note's root.
        let at = v.checkpoint.header.height;
        let note = client.checkpoint_note(&at.to_string()).await.expect("note");
        let n = verity_client::note::verify_checkpoint_note(&note, &lc).expect("a quorum signed it");
        assert_eq!(
            (n.height, n.log_size, n.log_root),
            (at, v.checkpoint.header.log_size, v.checkpoint.header.log_root)
        );
        assert_eq!(n.header_hash, v.checkpoint.header.hash());
        let proof = good.inclusion_proof.as_ref().expect("proof");
        assert_eq!(proof.tree_size, n.log_size);
        let leaf = verity_types::merkle::leaf_hash(&hex::decode(&ok_hash).expect("hex"));
        proof.verify(&leaf, &n.log_root).expect("the note's root commits to the transaction");
        // A note edited after signing is refused.
        let forged =
            String::from_utf8(note.clone()).expect("utf-8").replacen(&format!("\n{}\n", n.log_size), "\n1\n", 1);
        assert!(verity_client::note::verify_checkpoint_note(forged.as_bytes(), &lc).is_err());
    });
    // The CLI fetches, verifies and prints it.
    let out = cli(&["checkpoint", "note", "--genesis", genesis_path.to_str().expect("utf-8")]);
    assert_eq!(out["verified"], true, "{out}");
    assert!(out["note"].as_str().expect("note").starts_with("verity-checkpoint/"), "{out}");
}

#[test]
fn the_sdk_signer_tracks_nonces_locally_and_recovers_after_a_refusal() {
    use verity_client::keystore::Keystore;
    use verity_client::sdk::{Committed, Outcome, Signer};
    use verity_client::{Client, ClientError};
    use verity_types::{AccountId, Action, AssetId};

    let dir = init_dir();
    let node = start_node(&net(&dir));
    let keystore = || Keystore::open(&net(&dir).join("keystore.json")).expect("keystore");
    let ks = net(&dir).join("keystore.json").display().to_string();
    verity_ok(&[
        "--node",
        &node.url,
        "--keystore",
        &ks,
        "account",
        "create",
        "bob",
        "--org",
        "dev",
        "--role",
        "member",
    ]);
    let transfer = |amount: u128| {
        Action::Transfer(Transfer {
            to: AccountId::new("bob").expect("id"),
            asset: AssetId::new("credit").expect("id"),
            amount,
            memo: String::new(),
        })
    };
    rt().block_on(async {
        let mut s = Signer::new(Client::new(&node.url), keystore());
        let mut other = Signer::new(Client::new(&node.url), keystore());
        // Three in a row from the local count (creating bob used nonce 0): 1, 2, 3.
        for n in 1..4u64 {
            let tx = s.sign("admin", transfer(1)).await.expect("sign");
            assert_eq!(tx.tx.nonce, n);
            let r = s.client().submit(&tx, true).await.expect("submit");
            assert_eq!(r.outcome(), Outcome::Succeeded);
        }
        // A failed action is committed: the nonce is spent and the next one follows.
        let r = s
            .submit(
                "admin",
                Action::Transfer(Transfer {
                    to: AccountId::new("nobody").expect("id"),
                    asset: AssetId::new("credit").expect("id"),
                    amount: 1,
                    memo: String::new(),
                }),
            )
            .await
            .expect("committed");
        let Outcome::Failed { code, .. } = r.outcome() else { panic!("expected a failed action: {r:?}") };
        match r.clone().committed() {
            Err(ClientError::ActionFailed { code: c, .. }) => assert_eq!(c, code),
            other => panic!("committed() must refuse a failed action: {other:?}"),
        }
        // Another signer spends nonce 5 behind this one's back: the stale nonce is
        // refused, and the next submission reads the nonce again and succeeds.
        assert_eq!(other.submit("admin", transfer(1)).await.expect("other").outcome(), Outcome::Succeeded);
        match s.submit("admin", transfer(1)).await {
            Err(ClientError::Api { code, .. }) => assert_eq!(code, "bad_nonce"),
            Ok(r) => assert!(matches!(r.outcome(), Outcome::Rejected { .. }), "{r:?}"),
            Err(e) => panic!("unexpected error: {e}"),
        }
        let r = s.submit("admin", transfer(1)).await.expect("recovered").committed().expect("succeeded");
        assert_eq!(r.receipt.expect("receipt").tx_hash.to_hex().len(), 64);
        let acct = s.client().account("admin").await.expect("account");
        assert_eq!(acct.nonce, 7, "0..=6 used, each once");
    });
}
