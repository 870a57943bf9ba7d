//! `verity model publish` through a real node: first publication registers the model,
//! the run and version 1; publishing the same files again changes nothing; new files
//! become version 2 under the same run; a run file that disagrees with the ledger's
//! run is refused; the written OMS bundle verifies with the owner's key.

mod common;

use common::*;
use serde_json::{json, Value};

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

fn setup() -> Net {
    let dir = init_dir();
    let node = start_node(&net(&dir));
    let ks = net(&dir).join("keystore.json").display().to_string();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let n = Net { _dir: dir, node, ks, work };
    for (name, role) in [("owen", "model_owner"), ("pam", "provider"), ("cur", "curator")] {
        let r = n.cli(&["account", "create", name, "--org", "dev", "--role", role]);
        assert_eq!(r["success"], true);
    }
    // The training data: a root-only dataset of one file.
    let data = n.work.join("data");
    std::fs::create_dir_all(&data).expect("dir");
    std::fs::write(data.join("digits.csv"), b"0,1,2\n").expect("write");
    let m = n.path("manifest.json");
    let d = data.display().to_string();
    n.cli(&[
        "dataset",
        "build",
        &d,
        "--dataset",
        "digits-data",
        "--version",
        "1",
        "--licence",
        "BSD-3-Clause",
        "-o",
        &m,
    ]);
    let p = n.cli(&["dataset", "publish", &m, "--mode", "root-only", "--signer", "cur"]);
    assert_eq!(p["status"], "published", "{p}");
    n
}

fn run_file(commit: &str) -> Value {
    json!({
        "run": "digits-train-1",
        "datasets": ["digits-data@1"],
        "base_model": null,
        "code_commit": commit,
        "hyperparameters": {"arch": "logreg", "epochs": 30},
        "hyperparameters_sha256": "11".repeat(32),
        "training_date": "2026-11-23",
        "team": "ml",
        "run_log_sha256": "22".repeat(32),
    })
}

#[test]
fn publish_is_idempotent_and_versions_new_files() {
    let n = setup();
    let model = n.work.join("model");
    std::fs::create_dir_all(&model).expect("dir");
    std::fs::write(model.join("weights.bin"), b"weights v1").expect("write");
    std::fs::write(model.join("config.json"), b"{}").expect("write");
    let run = n.path("RUN.json");
    std::fs::write(&run, run_file("0123abcd").to_string()).expect("write");
    let m = model.display().to_string();
    let publish =
        ["model", "publish", &m, "--model", "digits", "--run", &run, "--as", "owen", "--provider-signer", "pam"];

    let fp = n.cli(&["model", "fingerprint", &m]);
    let first = n.cli(&publish);
    assert_eq!(first["reference"], "model:digits@1");
    assert_eq!(first["already_published"], false);
    assert_eq!((first["registered_model"].as_bool(), first["registered_run"].as_bool()), (Some(true), Some(true)));
    assert_eq!(first["fingerprint"], fp["digest"], "the registered fingerprint is the OMS digest");
    let rec = n.cli(&["trace", "model:digits@1"]);
    assert_eq!(rec["root"]["data"]["record"]["fingerprint"], fp["digest"]);
    assert_eq!(rec["root"]["data"]["record"]["run"], "digits-train-1");

    // The bundle is the owner's OMS signature over exactly these files.
    let sig = first["signature"].as_str().expect("sig path").to_string();
    assert_eq!(sig, model.join("model.sig").display().to_string());
    let v = n.cli(&["model", "verify", &m, "--sig", &sig, "--key-account", "owen"]);
    assert_eq!(v["verified"], true);

    // Again: nothing new on the ledger.
    let again = n.cli(&publish);
    assert_eq!(again["reference"], "model:digits@1");
    assert_eq!(again["already_published"], true);
    let shown = n.cli(&["model", "show", "digits"]);
    assert_eq!(shown["versions"].as_array().map(Vec::len), Some(1));

    // Retrained files: version 2 of the same run.
    std::fs::write(model.join("weights.bin"), b"weights v2").expect("write");
    let second = n.cli(&publish);
    assert_eq!(second["reference"], "model:digits@2");
    assert_eq!(second["registered_run"], false);
    assert_ne!(second["fingerprint"], first["fingerprint"]);

    // A run file that contradicts the ledger's run is refused, and nothing is added.
    std::fs::write(model.join("weights.bin"), b"weights v3").expect("write");
    std::fs::write(&run, run_file("fedcba98").to_string()).expect("write");
    let err = n.refused(&publish);
    assert!(err.contains("already on the ledger with different fields") && err.contains("code_commit"), "{err}");
    let shown = n.cli(&["model", "show", "digits"]);
    assert_eq!(shown["versions"].as_array().map(Vec::len), Some(2));

    // A malformed run file fails before anything is sent.
    std::fs::write(&run, b"{\"run\": 5}").expect("write");
    let err = n.refused(&publish);
    assert!(err.contains("not a valid run file"), "{err}");
}
