//! The CI recipe of docs/CI.md through a real node process: train the digits model,
//! publish it, a deploy refused by the gate, `eval run --submit`, the deploy accepted,
//! then inference re-run on the published file gives the output hash recorded before.

mod common;

use common::*;
use serde_json::Value;

struct Net {
    _dir: tempfile::TempDir,
    node: Node,
    ks: String,
    work: std::path::PathBuf,
}

impl Net {
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["--node", self.node.url.as_str(), "--keystore", self.ks.as_str()];
        full.extend_from_slice(args);
        full
    }
    fn cli(&self, args: &[&str]) -> Value {
        verity_json(&self.args(args))
    }
    fn refused(&self, args: &[&str]) -> String {
        let out = verity(&self.args(args));
        assert!(!out.status.success(), "verity {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
    fn path(&self, name: &str) -> String {
        self.work.join(name).display().to_string()
    }
}

fn repo(p: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p).display().to_string()
}

#[test]
fn train_publish_gate_evaluate_deploy_and_reexecute() {
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = net(&dir).join("keystore.json").display().to_string();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let n = Net { _dir: dir, node, ks, work };
    for (name, role) in
        [("owen", "model_owner"), ("pam", "provider"), ("cur", "curator"), ("eve", "evaluator"), ("dep", "deployer")]
    {
        assert_eq!(n.cli(&["account", "create", name, "--org", "dev", "--role", role])["success"], true);
    }
    let digits = repo("data/sklearn/digits.csv");
    let suite = repo("examples/suites/digits.toml");

    // The training data is a published dataset version.
    let data = n.work.join("data");
    std::fs::create_dir_all(&data).expect("dir");
    std::fs::copy(&digits, data.join("digits.csv")).expect("copy");
    let m = n.path("manifest.json");
    let d = data.display().to_string();
    n.cli(&[
        "dataset",
        "build",
        &d,
        "--dataset",
        "sklearn-digits",
        "--version",
        "1",
        "--licence",
        "BSD-3-Clause",
        "-o",
        &m,
    ]);
    assert_eq!(n.cli(&["dataset", "publish", &m, "--mode", "root-only", "--as", "cur"])["status"], "published");

    // Train (the CI job's first step).
    let model = n.path("digits.safetensors");
    let run = n.path("RUN.json");
    let t = n.cli(&[
        "train",
        "--data",
        &digits,
        "--arch",
        "mlp",
        "--seed",
        "0",
        "--dataset-ref",
        "sklearn-digits@1",
        "--code-commit",
        "0123456789abcdef0123456789abcdef01234567",
        "--out",
        &model,
        "--run-out",
        &run,
    ]);
    let acc = t["test_accuracy"].as_f64().expect("accuracy");
    assert!(acc >= 0.9, "{t}");
    let before = n.cli(&["infer", "--model", &model, "--data", &digits, "--rows", "0..200"]);
    let hash_before = before["output_hash"].as_str().expect("output hash").to_string();

    // Publish; the gate exists; a deploy without attestations is refused by the ledger.
    let p = n.cli(&[
        "model",
        "publish",
        &model,
        "--model",
        "digits",
        "--run",
        &run,
        "--provider-signer",
        "pam",
        "--as",
        "owen",
    ]);
    assert_eq!(p["reference"], "model:digits@1");
    n.cli(&[
        "gate",
        "set",
        "digits",
        "--env",
        "production",
        "--evaluator",
        "eve",
        "--require",
        "performance:accuracy=900000",
        "--require",
        "fairness",
        "--require",
        "robustness",
        "--as",
        "owen",
    ]);
    let err = n.refused(&["model", "deploy", "digits@1", "--env", "production", "--as", "dep"]);
    assert!(err.contains("gate_not_satisfied"), "{err}");

    // Evaluate and submit: one attestation per kind, each naming the published fingerprint.
    let out = n.path("attestations");
    let e = n.cli(&[
        "eval",
        "run",
        "--model",
        &model,
        "--suite",
        &suite,
        "--subject",
        "digits@1",
        "--as",
        "eve",
        "-o",
        &out,
        "--submit",
    ]);
    let shown = n.cli(&["model", "show", "digits"]);
    assert_eq!(shown["versions"][0]["fingerprint"], p["fingerprint"]);
    let statements = e["statements"].as_array().expect("statements");
    assert_eq!(statements.len(), 3, "{e}");
    assert!(statements.iter().all(|s| s["submitted"] == true && s["passed"] == true), "{e}");
    assert_eq!(e["fingerprint"], p["fingerprint"], "the attestations' subject is the published fingerprint");

    let dep = n.cli(&["model", "deploy", "digits@1", "--env", "production", "--as", "dep"]);
    assert_eq!(dep["success"], true, "{dep}");
    let releases = n.cli(&["audit", "releases", "--environment", "production"]);
    let kinds: Vec<String> = releases.to_string().matches("robustness").map(str::to_string).collect();
    assert!(!kinds.is_empty(), "the release lists its robustness attestation: {releases}");

    // Re-execution: the published file gives the same outputs, bit for bit.
    let v =
        n.cli(&["model", "verify", &model, "--sig", p["signature"].as_str().expect("sig"), "--key-account", "owen"]);
    assert_eq!(v["digest"], p["fingerprint"]);
    let after = n.cli(&["infer", "--model", &model, "--data", &digits, "--rows", "0..200"]);
    assert_eq!(after["output_hash"].as_str(), Some(hash_before.as_str()));

    // The published model analyses a governance proposal: the analysis records the
    // summary's hash and a salted commitment to the prompt, counts as no vote, and the
    // proposal's trace shows the model's lineage down to its training data.
    let prop = n.cli(&["gov", "propose", "--as", "admin", "--title", "longer epochs", "param", "reward_epoch", "200"]);
    let id = prop["hash"].as_str().expect("proposal id").to_string();
    let (summary, prompt) = (n.path("analysis.md"), n.path("prompt.txt"));
    std::fs::write(&summary, "Longer epochs halve the reward transactions.").expect("write");
    std::fs::write(&prompt, "Assess the proposal's risks.").expect("write");
    let analyse = |model: &'static str| {
        let args =
            ["gov", "analyse", &id, "--model", model, "--summary", &summary, "--prompt", &prompt, "--as", "owen"];
        n.args(&args).into_iter().map(str::to_string).collect::<Vec<String>>()
    };
    let a = verity_json(&analyse("digits@1").iter().map(String::as_str).collect::<Vec<_>>());
    let mut salt = [0u8; 32];
    hex::decode_to_slice(a["prompt_salt"].as_str().expect("salt"), &mut salt).expect("hex salt");
    let commitment = verity_types::prompt_commitment(&salt, b"Assess the proposal's risks.");
    assert_eq!(a["prompt_commitment"], commitment.to_hex(), "the salt reveals the committed prompt");
    let out = verity(&analyse("digits@7").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not_found"), "an analysis names a registered model version: {err}");
    let shown = n.cli(&["gov", "show", &id]);
    let analysis = &shown["analyses"][0];
    assert_eq!(
        analysis["analysis"]["summary_hash"],
        verity_types::sha256(b"Longer epochs halve the reward transactions.").to_hex()
    );
    let upstream = analysis["lineage"]["upstream"].to_string();
    assert!(upstream.contains("dataset:sklearn-digits@1") && upstream.contains("run:"), "{upstream}");
    assert_eq!(shown["proposal"]["tally"]["yes"], 0, "an analysis is not a vote");
}

#[test]
fn demo_runs_the_whole_loop_and_leaves_a_verifiable_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let d = data.display().to_string();
    let out = verity(&["demo", "--data-dir", &d]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "refused, as it must be: digits-corpus@1", // the opted-out item, enumerated mode
        "no performance attestation",              // deploy before evaluation
        "no passing robustness attestation",       // version 2 fails its robustness check
        "is deprecated",
        "VALID audit bundle for model:digits@1",
    ] {
        assert!(text.contains(expected), "the demo should print {expected:?}:\n{text}");
    }
    // The node's data stays, and the bundle verifies again offline, and fails once altered.
    let bundle = data.join("audit-digits@1.json");
    let genesis = data.join("genesis.json").display().to_string();
    let b = bundle.display().to_string();
    let v = verity_json(&["audit", "verify", &b, "--validators", &genesis]);
    assert_eq!(v["valid"], true);
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&bundle, &bytes).expect("write");
    assert!(!verity(&["audit", "verify", &b, "--validators", &genesis]).status.success());
    // A second run refuses to overwrite the network.
    let again = verity(&["demo", "--data-dir", &d]);
    assert!(!again.status.success());
}
