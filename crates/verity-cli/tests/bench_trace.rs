//! `verity bench trace` at a small size: the report has its keys, the traces of known
//! records hold the records they link to, both audit bundles verify in the run and again
//! from the files it kept, and a model version with more decisions than a bundle lists
//! gets a bundle that proves how many it made. No timing is asserted.

mod common;

use common::*;
use serde_json::Value;

const KINDS: [&str; 9] =
    ["attestation", "challenge", "content", "dataset", "decision", "deployment", "model", "optout", "run"];

#[test]
fn bench_trace_reports_lineage_and_verified_bundles() {
    let keep = tempfile::tempdir().expect("tempdir");
    let keep_s = keep.path().to_str().expect("utf-8");
    let r = verity_json(&[
        "bench",
        "trace",
        "--records",
        "2000",
        "--samples",
        "180",
        "--warmup",
        "10",
        "--http-samples",
        "10",
        "--verify-runs",
        "1",
        "--keep-bundles",
        keep_s,
    ]);
    for key in ["p50_ms", "p99_ms", "max_ms", "verify_ms", "fill_seconds", "read_p99_us", "ed25519_verify_us"] {
        assert!(r[key].as_f64().is_some_and(|v| v > 0.0), "{key} is a positive number: {}", r[key]);
    }
    assert_eq!(r["records"], 2000);
    assert_eq!(r["samples"], 180);
    assert_eq!(r["http_samples"], 10);
    assert_eq!(r["lineage_ok"], true, "{}", r["lineage_problems"]);
    assert_eq!(r["verified"], true, "{} / {}", r["bundle"], r["decision_bundle"]);
    let by_kind: Vec<&str> = r["by_kind"].as_array().expect("list").iter().filter_map(|k| k["kind"].as_str()).collect();
    assert_eq!(by_kind, KINDS, "every kind of record is traced");
    for k in r["by_kind"].as_array().expect("list") {
        assert_eq!(k["samples"], 20, "{k}");
        assert!(k["nodes_mean"].as_f64().is_some_and(|n| n >= 1.0), "{k}");
        assert_eq!(k["truncated"], 0, "{k}");
    }
    for kind in KINDS {
        assert!(r["records_by_kind"][kind].as_u64().is_some_and(|n| n > 0), "records of kind {kind}");
    }
    // A model version's trace lists the fan-out of its decisions, not all of them.
    let model = r["by_kind"].as_array().expect("list").iter().find(|k| k["kind"] == "model").expect("model");
    assert!(model["nodes_max"].as_u64().is_some_and(|n| n < 200), "{model}");

    // The kept bundles verify again offline, through the CLI.
    let genesis = keep.path().join("genesis.json");
    let subject = r["bundle"]["subject"].as_str().expect("subject");
    let file = keep.path().join(format!("{}.bundle.json", subject.replace(':', "-")));
    let v: Value = verity_json(&[
        "audit",
        "verify",
        file.to_str().expect("utf-8"),
        "--validators",
        genesis.to_str().expect("utf-8"),
    ]);
    assert_eq!(v["valid"], true);
    let report = &v["report"];
    let proven: Vec<&str> =
        report["records"].as_array().expect("list").iter().filter_map(|x| x["record"].as_str()).collect();
    assert!(proven.contains(&subject));
    assert!(proven.iter().any(|p| p.starts_with("run:")) && proven.iter().any(|p| p.starts_with("dataset:")));
    // Hundreds of decisions: the count is proven, the newest 200 are listed; the two
    // attestations and the deployments are listed in full.
    let counts = &report["downstream_counts"];
    assert!(counts["decision"].as_u64().is_some_and(|n| n > 200), "{counts}");
    assert_eq!(counts["attestation"], 2);
    let listed = |kind: &str| {
        report["downstream"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|d| d.as_str().is_some_and(|d| d.starts_with(&format!("{kind}:"))))
            .count() as u64
    };
    assert_eq!(listed("decision"), 200);
    assert_eq!(listed("attestation"), 2);
    assert_eq!(Some(listed("deployment")), counts["deployment"].as_u64());

    let decision = r["decision_bundle"]["subject"].as_str().expect("subject");
    let file = keep.path().join(format!("{}.bundle.json", decision.replace(':', "-")));
    let v = verity_json(&[
        "audit",
        "verify",
        file.to_str().expect("utf-8"),
        "--validators",
        genesis.to_str().expect("utf-8"),
    ]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["report"]["downstream_counts"]["decision"], 1, "the decision's correction");
}
