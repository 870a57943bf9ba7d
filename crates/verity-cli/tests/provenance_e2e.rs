//! The provenance loop end to end through a real node process: content (one item opted
//! out), datasets in both modes, a challenge with a proof, a run, model versions, a
//! deploy refused by the gate, attestations, deploys, rollback, deprecation, decisions
//! and a correction, the lineage trace, and an audit bundle exported, verified offline
//! and rejected once tampered with.

mod common;

use common::*;
use serde_json::Value;
use verity_client::keystore::Keystore;
use verity_client::Client;
use verity_types::audit::AuditBundle;
use verity_types::manifest::{DatasetManifest, ManifestItem};
use verity_types::{
    sha256, Action, AddDatasetItems, ChallengeItem, ChallengeKind, DatasetId, DatasetItem, DatasetMode, DatasetPolicy,
    Hash, Licence, OptOutContent, OptOutScope, PayoutShare, PublishDataset, RegisterContent, Transaction, TxStatus,
};

struct Net {
    _dir: tempfile::TempDir,
    node: Node,
    ks: String,
    genesis: String,
    work: std::path::PathBuf,
}

impl Net {
    fn cli_out(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["--node", self.node.url.as_str(), "--keystore", self.ks.as_str()];
        full.extend_from_slice(args);
        verity(&full)
    }

    fn cli(&self, args: &[&str]) -> Value {
        let mut full = vec!["--node", self.node.url.as_str(), "--keystore", self.ks.as_str()];
        full.extend_from_slice(args);
        verity_json(&full)
    }

    /// Runs a command that must fail, returning its stderr.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.cli_out(args);
        assert!(!out.status.success(), "verity {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Signs and submits an action with a keystore key; returns (tx hash, receipt status, error code).
    fn submit(&self, signer: &str, action: Action) -> (Hash, TxStatus, Option<String>) {
        let ks = Keystore::open(std::path::Path::new(&self.ks)).expect("keystore");
        let (sender, key) = ks.find(signer).expect("key");
        let client = Client::new(&self.node.url);
        rt().block_on(async {
            let acct = client.account(sender.as_str()).await.expect("account");
            let chain_id = client.genesis().await.expect("genesis").chain_id;
            let tx = Transaction { chain_id, sender, nonce: acct.nonce, action }.sign(&key);
            let r = client.submit(&tx, true).await.expect("submitted");
            let receipt = r.receipt.expect("committed with a receipt");
            (tx.hash(), receipt.status, receipt.error.map(|e| e.code))
        })
    }

    fn ok(&self, signer: &str, action: Action) -> Hash {
        let (h, status, err) = self.submit(signer, action);
        assert_eq!(status, TxStatus::Success, "{err:?}");
        h
    }
}

fn content(i: u32) -> Hash {
    sha256(format!("file number {i}").as_bytes())
}

fn manifest(name: &str, version: u32, ids: &[u32]) -> DatasetManifest {
    let items = ids
        .iter()
        .map(|i| ManifestItem {
            content: content(*i),
            licence: Licence::Spdx("MIT".into()),
            name: Some(format!("f{i}.txt")),
        })
        .collect();
    DatasetManifest::new(DatasetId::new(name).expect("id"), version, items).expect("manifest")
}

fn publish(m: &DatasetManifest, mode: DatasetMode) -> Action {
    Action::PublishDataset(PublishDataset {
        dataset: m.dataset.clone(),
        version: m.version,
        manifest_hash: m.hash(),
        root: m.root(),
        count: m.items.len() as u64,
        licences: m.licences(),
        mode,
        policy: DatasetPolicy { commercial: true, require_registered: true },
        supersedes: (m.version > 1).then(|| m.version - 1),
        reviewers: vec![],
        challenge_window: 100,
    })
}

fn items(m: &DatasetManifest) -> Action {
    Action::AddDatasetItems(AddDatasetItems {
        dataset: m.dataset.clone(),
        version: m.version,
        items: m.items.iter().map(|i| DatasetItem { content: i.content, licence: i.licence.clone() }).collect(),
    })
}

fn setup() -> Net {
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = net(&dir).join("keystore.json").display().to_string();
    let genesis = net(&dir).join("genesis.json").display().to_string();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let n = Net { _dir: dir, node, ks, genesis, work };
    for (name, role) in [
        ("cora", "creator"),
        ("cur", "curator"),
        ("owen", "model_owner"),
        ("pam", "provider"),
        ("eve", "evaluator"),
        ("evan", "evaluator"),
        ("dep", "deployer"),
        ("rev", "reviewer"),
        ("alice", "member"),
    ] {
        let r = n.cli(&["account", "create", name, "--org", "dev", "--role", role]);
        assert_eq!(r["success"], true);
    }
    n
}

#[test]
fn provenance_loop_through_the_node() {
    let n = setup();
    // Content 1..=5, and 5 is opted out of all training.
    for i in 1..=5 {
        n.ok(
            "cora",
            Action::RegisterContent(RegisterContent {
                content: content(i),
                media_type: "text/plain".into(),
                licence: Licence::Spdx("MIT".into()),
                payout: vec![PayoutShare { account: "cora".parse().expect("id"), share_ppm: 1_000_000 }],
            }),
        );
    }
    n.ok(
        "cora",
        Action::OptOut(OptOutContent {
            content: content(5),
            scope: OptOutScope::AllTraining,
            reason: "withdrawn".into(),
        }),
    );

    // Enumerated mode refuses the opted-out item; a version without it completes.
    let with5 = manifest("corpus", 1, &[1, 2, 3, 4, 5]);
    n.ok("cur", publish(&with5, DatasetMode::Enumerated));
    let (_, status, code) = n.submit("cur", items(&with5));
    assert_eq!((status, code.as_deref()), (TxStatus::Failed, Some("opted_out")));
    let clean = manifest("corpus", 2, &[1, 2, 3, 4]);
    n.ok("cur", publish(&clean, DatasetMode::Enumerated));
    n.ok("cur", items(&clean));
    let rec = n.cli(&["trace", "dataset:corpus@2"]);
    assert_eq!(rec["root"]["data"]["record"]["status"], "published");

    // Root-only mode accepts it; a challenge with the inclusion proof is upheld by the ledger.
    let web = manifest("web", 1, &[1, 2, 3, 4, 5]);
    n.ok("cur", publish(&web, DatasetMode::RootOnly));
    let proof = web.prove(&content(5)).expect("member").proof;
    let challenge = n.ok(
        "alice",
        Action::ChallengeItem(ChallengeItem {
            dataset: web.dataset.clone(),
            version: 1,
            content: content(5),
            kind: ChallengeKind::OptedOut,
            evidence: sha256(b"opt-out record"),
            proof: Some(proof),
        }),
    );
    let ch = n.cli(&["trace", &format!("challenge:{challenge}")]);
    assert_eq!(ch["root"]["data"]["record"]["status"], "upheld");
    let web_rec = n.cli(&["trace", "dataset:web@1"]);
    assert_eq!(web_rec["root"]["flags"], 1, "the upheld challenge flags the dataset version");

    // A run and two model versions, through the CLI.
    let run = |id: &str, ds: &str| {
        n.cli(&[
            "run",
            "register",
            "--run",
            id,
            "--dataset",
            ds,
            "--code-commit",
            "0a1b2c3d",
            "--hyperparams-hash",
            &sha256(b"lr=0.1").to_hex(),
            "--training-date",
            "2026-11-23",
            "--team",
            "vision",
            "--run-log-hash",
            &sha256(id.as_bytes()).to_hex(),
            "--provider",
            "pam",
            "--provider-signer",
            "pam",
            "--as",
            "owen",
        ])
    };
    assert_eq!(run("r1", "corpus@2")["success"], true);
    let stderr = n.refused(&[
        "run",
        "register",
        "--run",
        "r9",
        "--dataset",
        "web@1",
        "--code-commit",
        "0a1b2c3d",
        "--hyperparams-hash",
        &sha256(b"x").to_hex(),
        "--training-date",
        "2026-11-23",
        "--team",
        "t",
        "--run-log-hash",
        &sha256(b"y").to_hex(),
        "--provider",
        "pam",
        "--provider-signer",
        "pam",
        "--as",
        "owen",
    ]);
    assert!(stderr.contains("lineage_flagged"), "{stderr}");
    n.cli(&["model", "register", "clf", "--description", "digits classifier", "--as", "owen"]);
    let fp1 = sha256(b"weights v1").to_hex();
    let fp2 = sha256(b"weights v2").to_hex();
    n.cli(&["model", "version", "clf@1", "--fingerprint", &fp1, "--run", "r1", "--as", "owen"]);
    run("r2", "corpus@2");
    n.cli(&["model", "version", "clf@2", "--fingerprint", &fp2, "--run", "r2", "--as", "owen"]);

    // The gate: performance >= 0.9 everywhere, fairness too in production.
    n.cli(&["gate", "set", "clf", "--require", "performance:accuracy=900000", "--as", "owen"]);
    let stderr = n.refused(&["model", "deploy", "clf@1", "--env", "production", "--as", "dep"]);
    assert!(stderr.contains("gate_not_satisfied"), "{stderr}");
    let attest = |v: &str, kind: &str, metric: &str, who: &str| {
        n.cli(&[
            "attest",
            "submit",
            "--model",
            v,
            "--kind",
            kind,
            "--suite",
            "digits-suite",
            "--eval-dataset",
            "digits-test",
            "--eval-dataset-sha256",
            &sha256(b"test split").to_hex(),
            "--metric",
            metric,
            "--as",
            who,
        ])
    };
    attest("clf@1", "performance", "accuracy=950000:900000", "eve");
    attest("clf@1", "fairness", "gap=20000:50000:max", "evan");
    let d1 = n.cli(&["model", "deploy", "clf@1", "--env", "production", "--as", "dep"]);
    assert_eq!(d1["success"], true);
    attest("clf@2", "performance", "accuracy=970000:900000", "eve");
    n.cli(&["model", "deploy", "clf@2", "--env", "production", "--as", "dep"]);
    n.cli(&[
        "model",
        "rollback",
        "clf",
        "--env",
        "production",
        "--to",
        "1",
        "--reason",
        "latency regression",
        "--as",
        "dep",
    ]);
    n.cli(&["model", "deprecate", "clf@2", "--reason", "regression", "--as", "owen"]);
    let stderr = n.refused(&["model", "deploy", "clf@2", "--env", "staging", "--as", "dep"]);
    assert!(stderr.contains("deprecated"), "{stderr}");

    // Decisions and a correction.
    let input = n.work.join("input.txt");
    std::fs::write(&input, b"applicant 42").expect("write");
    let dec = n.cli(&[
        "decision",
        "record",
        "--model",
        "clf@1",
        "--input",
        input.to_str().expect("utf-8"),
        "--output-hash",
        &sha256(b"deny").to_hex(),
        "--reviewer",
        "rev",
        "--binding",
        "--correction",
        "by-reviewer",
        "--context",
        "loan triage",
        "--as",
        "alice",
    ]);
    let dec_id = dec["hash"].as_str().expect("hash").to_string();
    let corr = n.cli(&[
        "decision",
        "correct",
        &dec_id,
        "--output-hash",
        &sha256(b"approve").to_hex(),
        "--reason",
        "income misread",
        "--as",
        "rev",
    ]);
    assert_eq!(corr["success"], true);

    // The trace of the deployed model, both ways.
    let t = n.cli(&["trace", "model:clf@1"]);
    let up: Vec<&str> = t["upstream"].as_array().expect("list").iter().filter_map(|x| x["record"].as_str()).collect();
    assert_eq!(up, ["run:r1"]);
    assert_eq!(t["upstream"][0]["children"][0]["record"], "dataset:corpus@2");
    let down: Vec<String> = t["downstream"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["record"].as_str().map(String::from))
        .collect();
    assert_eq!(down.iter().filter(|d| d.starts_with("attestation:")).count(), 2);
    assert_eq!(down.iter().filter(|d| d.starts_with("deployment:")).count(), 2, "the deploy and the rollback");
    assert!(down.contains(&format!("decision:{dec_id}")));
    let text = String::from_utf8(n.cli_out(&["trace", "model:clf@1"]).stdout).expect("utf-8");
    assert!(text.contains("<- run:r1") && text.contains("<- dataset:corpus@2"), "{text}");

    // Release audit: every production release passed with a performance attestation;
    // not every one with fairness (version 2 went out before the gate asked for it).
    let rel = n.cli(&["audit", "releases", "--environment", "production", "--kind", "performance"]);
    assert_eq!(rel["releases"].as_array().expect("list").len(), 3);
    assert_eq!(rel["missing_kind"].as_array().expect("list").len(), 0);
    let rel = n.cli(&["audit", "releases", "--environment", "production", "--kind", "fairness"]);
    assert_eq!(rel["missing_kind"].as_array().expect("list").len(), 3, "the gate never required fairness");

    // The audit bundle: exported, verified offline, refused once altered.
    let file = n.work.join("clf-1.bundle.json");
    let file_s = file.to_str().expect("utf-8");
    n.cli(&["audit", "export", "model:clf@1", "-o", file_s]);
    let v = verity_json(&["audit", "verify", file_s, "--validators", &n.genesis]);
    assert_eq!(v["valid"], true);
    let proven: Vec<&str> =
        v["report"]["records"].as_array().expect("list").iter().filter_map(|r| r["record"].as_str()).collect();
    for want in ["model:clf@1", "run:r1", "dataset:corpus@2", "dataset:corpus@1"] {
        assert!(proven.contains(&want), "{want} in {proven:?}");
    }
    assert!(v["report"]["downstream"].as_array().expect("list").len() >= 5);

    let original = std::fs::read(&file).expect("read");
    let fails = |bytes: &[u8], why: &str| {
        let bad = n.work.join("bad.json");
        std::fs::write(&bad, bytes).expect("write");
        let out = verity(&["audit", "verify", bad.to_str().expect("utf-8"), "--validators", &n.genesis]);
        assert!(!out.status.success(), "a bundle with {why} must be refused");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Any single altered byte (a hex digit inside a record's value, a space) is refused.
    let text = String::from_utf8(original.clone()).expect("utf-8");
    let at = text.find("\"value\": \"").expect("a value") + 12;
    let mut flipped = original.clone();
    flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
    let reason = fails(&flipped, "a flipped digit");
    assert!(reason.contains("NOT valid"), "{reason}");
    let mut spaced = original.clone();
    spaced.insert(2, b' ');
    assert!(fails(&spaced, "extra whitespace").contains("canonical"));
    // A forger who re-writes the file canonically still fails the proofs.
    let mut b: AuditBundle = serde_json::from_slice(&original).expect("bundle");
    let rec = b.records.iter_mut().find(|r| r.record.to_string() == "model:clf@1").expect("subject");
    let value = rec.proof.value.as_mut().expect("present");
    let last = value.len() - 1;
    value[last] ^= 1;
    assert!(fails(&b.to_file_bytes(), "a forged record").contains("state proof"));
    // A transaction with an altered signature is refused (its hash no longer matches the
    // log, and its signature no longer verifies).
    let mut b: AuditBundle = serde_json::from_slice(&original).expect("bundle");
    b.txs[0].tx.signature.0[7] ^= 0x10;
    let reason = fails(&b.to_file_bytes(), "a forged signature");
    assert!(reason.contains("inclusion of") || reason.contains("transaction"), "{reason}");
    // Every transaction's receipt is proven by its block's header (bundle version 3).
    assert_eq!(v["report"]["receipts_authenticated"], v["report"]["transactions"], "{v}");
    let b: AuditBundle = serde_json::from_slice(&original).expect("bundle");
    assert_eq!(b.format, "verity-audit-bundle/v3");
    assert!(!b.blocks.is_empty() && b.txs.iter().all(|t| t.receipt.is_some() && t.receipt_proof.is_some()));
    // A receipt re-written (another event list), a block header changed, or a block left
    // out: refused.
    let mut forged = b.clone();
    forged.txs[0].receipt.as_mut().expect("receipt").error =
        Some(verity_types::TxError { code: "forged".into(), message: "an outcome the block never had".into() });
    assert!(fails(&forged.to_file_bytes(), "a forged receipt").contains("receipts root"));
    let mut forged = b.clone();
    forged.blocks[0].header.receipts_root = Some(verity_types::sha256(b"another outcome"));
    assert!(fails(&forged.to_file_bytes(), "a forged header").contains("NOT valid"));
    let mut forged = b.clone();
    forged.blocks.remove(0);
    assert!(fails(&forged.to_file_bytes(), "a missing block").contains("lacks block"));
    // The wrong validator set (another network's genesis) is refused.
    let other = init_dir();
    let other_genesis = net(&other).join("genesis.json");
    let out = verity(&["audit", "verify", file_s, "--validators", other_genesis.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checkpoint"));

    at_risk_and_gate_changes_through_the_node(&n, &input);
    eval_submit_through_the_node(&n);
}

/// Item 11 and 9 through the CLI: the risk policy command, a deprecated version in force
/// shown at risk (and suspended) by the release audit, its decisions refused; a loosening
/// gate change held back (pending, shown by `model show`) and not approvable by the
/// model's own organisation.
fn at_risk_and_gate_changes_through_the_node(n: &Net, input: &std::path::Path) {
    let stderr = n.refused(&["model", "risk-policy", "clf", "--suspend-at-risk", "true", "--as", "dep"]);
    assert!(stderr.contains("unauthorized"), "{stderr}");
    n.cli(&["model", "risk-policy", "clf", "--suspend-at-risk", "true", "--as", "owen"]);
    n.cli(&["model", "deprecate", "clf@1", "--reason", "drift", "--as", "owen"]);
    let rel = n.cli(&["audit", "releases", "--environment", "production"]);
    let releases = rel["releases"].as_array().expect("list");
    let (current, replaced): (Vec<&Value>, Vec<&Value>) =
        releases.iter().partition(|r| r["current"].as_bool().expect("bool"));
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["at_risk"]["suspended"], true, "{}", current[0]);
    assert!(current[0]["at_risk"]["reasons"][0].as_str().expect("reason").starts_with("deprecated: drift"));
    assert!(replaced.iter().all(|r| r.get("at_risk").is_none()), "only the deployment in force is at risk");
    let text =
        String::from_utf8(n.cli_out(&["audit", "releases", "--environment", "production"]).stdout).expect("utf-8");
    assert!(text.contains("[AT RISK, SUSPENDED: deprecated: drift]"), "{text}");
    let stderr = n.refused(&[
        "decision",
        "record",
        "--model",
        "clf@1",
        "--input",
        input.to_str().expect("utf-8"),
        "--output-hash",
        &sha256(b"deny").to_hex(),
        "--as",
        "alice",
    ]);
    assert!(stderr.contains("deployment_suspended"), "{stderr}");

    // Emptying the gate loosens it: the change waits, the gate in force stays.
    n.cli(&["gate", "set", "clf", "--as", "owen"]);
    let m = n.cli(&["model", "show", "clf"]);
    assert_eq!(m["gate"]["requirements"].as_array().expect("list").len(), 1, "{m}");
    let change = m["pending_gate_change"]["id"].as_str().expect("a pending change").to_string();
    assert_eq!(m["pending_gate_change"]["status"]["state"], "pending", "{m}");
    let stderr = n.refused(&["gate", "approve", "clf", "--change", &change, "--as", "admin"]);
    assert!(stderr.contains("unauthorized") && stderr.contains("another organisation"), "{stderr}");
}

/// `verity train` a digits model, register its fingerprint as clf@3, and let `verity eval
/// run --submit` post one attestation per kind through the `attest submit` path.
fn eval_submit_through_the_node(n: &Net) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = n.work.join("digits.safetensors");
    let data = repo.join("data/sklearn/digits.csv");
    let trained = verity_json(&[
        "train",
        "--data",
        data.to_str().expect("utf-8"),
        "--arch",
        "logreg",
        "--out",
        model.to_str().expect("utf-8"),
    ]);
    let fp = trained["fingerprint"].as_str().expect("fingerprint").to_string();
    n.cli(&["model", "version", "clf@3", "--fingerprint", &fp, "--run", "r1", "--as", "owen"]);
    let suite = repo.join("examples/suites/digits.toml");
    let args = [
        "eval",
        "run",
        "--model",
        model.to_str().expect("utf-8"),
        "--suite",
        suite.to_str().expect("utf-8"),
        "--subject",
        "clf@3",
        "--as",
        "eve",
        "-o",
        n.work.to_str().expect("utf-8"),
        "--submit",
    ];
    let report = n.cli(&args);
    let statements = report["statements"].as_array().expect("statements");
    assert_eq!(statements.len(), 3);
    let client = Client::new(&n.node.url);
    for st in statements {
        assert_eq!(st["submitted"], true, "{st}");
        let id = st["attestation_id"].as_str().expect("id");
        let rec = rt().block_on(client.record(&format!("attestation:{id}"))).expect("the ledger has it");
        assert_eq!(rec.record["model"], "clf");
        assert_eq!(rec.record["version"], 3);
        assert_eq!(rec.record["evaluator"], "eve");
        assert_eq!(rec.record["kind"], st["kind"]);
        assert_eq!(rec.record["suite"], "digits-basic");
        assert_eq!(rec.record["passed"], true);
    }
    // The same statements again are refused by the ledger, and the command says so.
    let stderr = n.refused(&args);
    assert!(stderr.contains("could not be submitted"), "{stderr}");
}
