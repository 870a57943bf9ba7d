//! `verity train`, `verity infer` and `verity eval run` as a user runs them (no node):
//! reproducible model files, RUN.json and its training log, a stable inference hash,
//! signed envelopes that verify, and the refusals. Submission to a node is covered at
//! the end of provenance_e2e.rs.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use verity_client::keystore::Keystore;
use verity_types::dsse::{Envelope, EvaluationStatement};
use verity_types::sha256;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn digits() -> String {
    repo().join("data/sklearn/digits.csv").display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn train_logreg(dir: &Path, name: &str, seed: &str) -> (PathBuf, Value) {
    let model = dir.join(format!("{name}.safetensors"));
    let run = dir.join(format!("{name}.run.json"));
    let out = verity_json(&[
        "train",
        "--data",
        &digits(),
        "--arch",
        "logreg",
        "--seed",
        seed,
        "--out",
        s(&model),
        "--run-out",
        s(&run),
        "--dataset-ref",
        "digits@1",
        "--code-commit",
        "0a1b2c3d",
        "--training-date",
        "2026-11-23",
    ]);
    (model, out)
}

#[test]
fn train_is_reproducible_and_writes_run_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, out) = train_logreg(dir.path(), "a", "0");
    let (b, _) = train_logreg(dir.path(), "b", "0");
    let (c, _) = train_logreg(dir.path(), "c", "1");
    let bytes = std::fs::read(&a).expect("model");
    assert_eq!(bytes, std::fs::read(&b).expect("model"), "same inputs, same bytes");
    assert_ne!(bytes, std::fs::read(&c).expect("model"), "another seed, other bytes");
    assert!(out["test_accuracy"].as_f64().expect("accuracy") >= 0.95, "{out}");
    assert_eq!(out["test_rows"], 359);

    let run: Value = serde_json::from_slice(&std::fs::read(dir.path().join("a.run.json")).expect("run")).expect("json");
    let log = std::fs::read(dir.path().join("a.train.log")).expect("training log next to the model");
    assert!(String::from_utf8_lossy(&log).starts_with("epoch 1 loss "));
    assert_eq!(run["run_log_sha256"], sha256(&log).to_hex());
    assert_eq!(run["datasets"], serde_json::json!(["digits@1"]));
    assert_eq!(run["base_model"], Value::Null);
    assert_eq!(run["code_commit"], "0a1b2c3d");
    assert_eq!(run["training_date"], "2026-11-23");
    assert_eq!(run["team"], "ml");
    assert_eq!(run["data_sha256"], "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8");
    assert_eq!(run["hyperparameters"]["arch"]["type"], "logreg");
    assert_eq!(run["hyperparameters"]["seed"], 0);
    let canonical = verity_ai::model::canonical_json(&run["hyperparameters"]);
    assert_eq!(run["hyperparameters_sha256"], sha256(canonical.as_bytes()).to_hex());
    let id = run["run"].as_str().expect("run id");
    assert!(id.starts_with("run-") && id.len() == 20, "{id}");
    let run_b: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("b.run.json")).expect("run")).expect("json");
    assert_eq!(run_b["run"], run["run"], "the same training gives the same run id");
    // The fingerprint printed is `verity model fingerprint`'s.
    let fp = verity_json(&["model", "fingerprint", s(&a)]);
    assert_eq!(out["fingerprint"], fp["digest"], "{fp}");

    // RUN.json needs a code commit; outside a git repository it must be given.
    let out = std::process::Command::new(verity_bin())
        .current_dir(dir.path())
        .args(["train", "--data", &digits(), "--arch", "logreg", "--epochs", "1", "--out", "x.safetensors"])
        .args(["--run-out", "x.json"])
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--code-commit"));
}

#[test]
fn infer_hash_is_stable_and_rows_select() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (model, _) = train_logreg(dir.path(), "m", "0");
    let run = |rows: &str| verity_json(&["infer", "--model", s(&model), "--data", &digits(), "--rows", rows]);
    let a = run("0..20");
    assert_eq!(a["output_hash"], run("0..20")["output_hash"]);
    assert_ne!(a["output_hash"], run("0..21")["output_hash"]);
    assert_eq!(a["predictions"].as_array().expect("rows").len(), 20);
    assert_eq!(a["predictions"][0]["row"], 0);
    assert_eq!(a["backend"], "native");
    let table = verity_ok(&["infer", "--model", s(&model), "--data", &digits(), "--rows", "5..8"]);
    assert!(table.contains("output hash "), "{table}");
    // Unlabelled input (features only) works too.
    let unlabelled = dir.path().join("rows.csv");
    let text = std::fs::read_to_string(digits()).expect("digits");
    let first: Vec<&str> = text.lines().next().expect("a row").split(',').collect();
    std::fs::write(&unlabelled, first[..64].join(",") + "\n").expect("write");
    let one = verity_json(&["infer", "--model", s(&model), "--data", s(&unlabelled)]);
    assert_eq!(one["predictions"][0]["class"], a["predictions"][0]["class"]);
    // Refusals: bad range, corrupted model.
    assert!(!verity(&["infer", "--model", s(&model), "--data", &digits(), "--rows", "5..3"]).status.success());
    std::fs::write(&model, b"garbage that is no model").expect("write");
    let out = verity(&["infer", "--model", s(&model), "--data", &digits()]);
    assert!(!out.status.success());
}

#[test]
fn eval_signs_one_envelope_per_kind_and_refuses_wrong_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (model, _) = train_logreg(dir.path(), "digits", "0");
    let suite = repo().join("examples/suites/digits.toml");
    let ks = dir.path().join("keystore.json");
    verity_ok(&["--keystore", s(&ks), "keys", "new", "eve"]);

    // Without --as: results, a clear note, nothing written.
    let out = verity(&["eval", "run", "--model", s(&model), "--suite", s(&suite), "-o", s(&dir.path().join("none"))]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was signed"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("even_odd_accuracy_gap"));
    assert!(!dir.path().join("none").exists());
    let out = verity(&["eval", "run", "--model", s(&model), "--suite", s(&suite), "--submit"]);
    assert!(!out.status.success(), "--submit without --as is refused");

    let att = dir.path().join("att");
    let report = verity_json(&[
        "--keystore",
        s(&ks),
        "eval",
        "run",
        "--model",
        s(&model),
        "--suite",
        s(&suite),
        "--subject",
        "digits@1",
        "--as",
        "eve",
        "-o",
        s(&att),
    ]);
    assert_eq!(report["passed"], true, "{report}");
    let kinds: Vec<&str> =
        report["statements"].as_array().expect("list").iter().map(|s| s["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, ["fairness", "performance", "robustness"]);
    let (account, key) = Keystore::open(&ks).expect("keystore").find("eve").expect("eve");
    let fp = verity_json(&["model", "fingerprint", s(&model)]);
    for st in report["statements"].as_array().expect("list") {
        let file = st["file"].as_str().expect("file written");
        assert!(file.ends_with(&format!("digits-basic.{}.dsse.json", st["kind"].as_str().expect("kind"))));
        let env: Envelope = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("an envelope");
        env.verify(account.as_str(), &key.public_key()).expect("verifies with the evaluator's key");
        let parsed = EvaluationStatement::parse(&env.payload).expect("parses");
        assert_eq!(parsed.subject[0].name, "digits@1");
        assert_eq!(parsed.subject[0].digest.sha256.to_hex(), fp["digest"].as_str().expect("digest"));
        assert_eq!(st["attestation_id"], verity_types::attestation_id(&account, &env.payload_digest()).to_hex());
    }

    // A failing threshold is reported honestly and is not an error.
    let strict = dir.path().join("strict.toml");
    let text = std::fs::read_to_string(&suite).expect("suite").replace("min = 0.95", "min = 0.9999");
    let text = text.replace("../../data/sklearn/digits.csv", &digits());
    std::fs::write(&strict, &text).expect("write");
    let report = verity_json(&["eval", "run", "--model", s(&model), "--suite", s(&strict)]);
    assert_eq!(report["passed"], false);
    let perf =
        report["statements"].as_array().expect("list").iter().find(|s| s["kind"] == "performance").expect("perf");
    assert_eq!(perf["passed"], false);

    // A data file whose digest differs from the suite's is refused.
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(&wrong, text.replace("6ebb3d2fee246a4e", "0000000000000000")).expect("write");
    let out = verity(&["eval", "run", "--model", s(&model), "--suite", s(&wrong)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHA-256"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The magika model directory from scripts/fetch-magika.sh, or `None` when
/// VERITY_SKIP_PY_INTEROP=1 (the same switch that skips the venv and the fetch).
fn magika_dir() -> Option<PathBuf> {
    if std::env::var("VERITY_SKIP_PY_INTEROP").as_deref() == Ok("1") {
        return None;
    }
    let dir = repo().join("models/magika");
    assert!(dir.join("model.onnx").is_file(), "{} is missing: run scripts/fetch-magika.sh", dir.display());
    Some(dir)
}

#[test]
fn infer_classifies_files_with_magika_and_eval_corpus_matches_the_suite() {
    let Some(model) = magika_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // The corpus the example suite pins: same digest from the CLI.
    let corpus = dir.path().join("corpus");
    let c = verity_json(&["eval", "corpus", "--seed", "0", "--per-type", "20", "-o", s(&corpus)]);
    let suite = std::fs::read_to_string(repo().join("examples/suites/magika.toml")).expect("suite");
    let digest = c["sha256"].as_str().expect("sha256");
    assert!(suite.contains(digest), "examples/suites/magika.toml pins {digest}");
    assert_eq!(c["files"], 460);

    let files =
        [corpus.join("python/0000.py"), corpus.join("png/0003.png"), corpus.join("pdf/0001.pdf"), dir.path().join("e")];
    std::fs::write(&files[3], b"").expect("empty file");
    let mut args = vec!["infer", "--model", s(&model), "--files"];
    args.extend(files.iter().map(|p| s(p)));
    let a = verity_json(&args);
    let labels: Vec<&str> =
        a["files"].as_array().expect("files").iter().map(|f| f["label"].as_str().expect("label")).collect();
    assert_eq!(labels, ["python", "png", "pdf", "empty"]);
    assert_eq!(a["model_runs"], 3);
    assert_eq!(a["files"][3]["dl"], Value::Null);
    assert_eq!(a["files"][1]["group"], "image");
    // Re-execution gives the same output hash; other files give another.
    let b = verity_json(&args);
    assert_eq!(a["output_hash"], b["output_hash"]);
    let other = verity_json(&["infer", "--model", s(&model), "--files", s(&files[0])]);
    assert_ne!(a["output_hash"], other["output_hash"]);

    // Refusals: --files with a tabular model, a missing file, --rows without --data.
    let out = verity(&["infer", "--model", s(&model.join("model.onnx")), "--files", s(&files[0])]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("magika model directory"));
    let out = verity(&["infer", "--model", s(&model), "--files", s(&dir.path().join("nope"))]);
    assert!(!out.status.success());
    assert!(!verity(&["infer", "--model", s(&model), "--rows", "0..1", "--files", s(&files[0])]).status.success());
}
