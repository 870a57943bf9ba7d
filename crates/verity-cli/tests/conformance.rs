//! The live node held to the OpenAPI document it serves, by schemathesis (run from the
//! repository's `.venv`, created by `scripts/py-venv.sh`, which `scripts/test.sh` runs
//! first; configuration in `scripts/schemathesis.toml`).
//!
//! Every operation is sent schema-valid and schema-violating requests; the run fails
//! when a status code, content type, header or body is not what the document says, a
//! schema-violating request is accepted, a schema-valid one is refused with 400, or the
//! node answers 5xx. The rule it holds the node to: a request its schema forbids gets
//! 400, a schema-valid request with invalid content gets 422.
//!
//! Bounded for CI: `VERITY_CONFORMANCE_EXAMPLES` test cases per operation (default 20)
//! from the fixed seed `VERITY_CONFORMANCE_SEED` (default 1), so a run is reproducible;
//! set another seed to explore. A missing venv fails the test; VERITY_SKIP_PY_INTEROP=1
//! skips it explicitly.
//!
//! The fuzzer asks for what it makes up, so it rarely reads a record, a trace or an audit
//! bundle that exists. A second test reads every value of a real ledger (the fixture of
//! `replay_fixture.rs`: every kind of provenance record, escrows, a failed transaction)
//! and validates each body against the document with the validator schemathesis uses
//! (`jsonschema_rs`, from the same venv).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::*;

fn schemathesis() -> Option<PathBuf> {
    verity_testkit::repo::venv("bin/schemathesis", "the schemathesis conformance run")
}

/// Runs `cmd` to completion and returns its standard output; fails with `failure`, both
/// outputs, when it does not succeed.
fn run_ok(cmd: &mut Command, failure: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{failure}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn the_live_node_answers_as_its_openapi_document_says() {
    let Some(st) = schemathesis() else { return };
    let dir = init_dir();
    let node = start_node(&net(&dir));
    // Some history, so that blocks, checkpoints, proofs and accounts the fuzzer asks
    // for exist and their bodies are checked against the document too.
    let ks = net(&dir).join("keystore.json").display().to_string();
    let base = ["--node", node.url.as_str(), "--keystore", ks.as_str()];
    for args in [
        &["account", "create", "alice", "--org", "dev", "--role", "member"][..],
        &["transfer", "--to", "alice", "--amount", "500"][..],
        &["transfer", "--to", "admin", "--amount", "7", "--as", "alice"][..],
    ] {
        let mut full = base.to_vec();
        full.extend_from_slice(args);
        verity_ok(&full);
    }

    let examples = std::env::var("VERITY_CONFORMANCE_EXAMPLES").unwrap_or_else(|_| "20".into());
    let seed = std::env::var("VERITY_CONFORMANCE_SEED").unwrap_or_else(|_| "1".into());
    let scratch = tempfile::tempdir().expect("tempdir");
    let stdout = run_ok(
        Command::new(&st)
            .arg("--config-file")
            .arg(verity_testkit::repo::repo_root().join("scripts/schemathesis.toml"))
            .arg("run")
            .arg(format!("{}/openapi.json", node.url))
            .args(["--checks", "all", "--max-examples", &examples, "--seed", &seed, "--no-color"])
            // Its crash cache and reports go to a scratch directory, not the source tree.
            .current_dir(scratch.path()),
        &format!("schemathesis found the node out of step with its OpenAPI document (seed {seed})"),
    );
    // It did test the API: every documented operation but the event stream the
    // configuration leaves out, through both generation phases.
    let count = |label: &str| -> Vec<usize> {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label}:\n{stdout}"));
        line.split_whitespace().filter_map(|w| w.parse().ok()).collect()
    };
    let selected = count("Operations:");
    assert_eq!(selected.len(), 2, "{selected:?}");
    assert_eq!(selected[0] + 1, selected[1], "only the event stream is left out:\n{stdout}");
    assert_eq!(count("Tested:"), vec![selected[0]], "not every selected operation was tested:\n{stdout}");
    for phase in ["✅ Coverage", "✅ Fuzzing"] {
        assert!(stdout.contains(phase), "{phase} did not run and pass:\n{stdout}");
    }
}

/// Validates `cases` (`[path template, body]`, each the 200 answer of a GET) against the
/// document `doc` with `jsonschema_rs`; prints one line per body that does not match.
const VALIDATE_PY: &str = r#"
import json, sys
import jsonschema_rs
given = json.load(open(sys.argv[1]))
doc, validators, bad = given["doc"], {}, 0
for path, body in given["cases"]:
    if path not in validators:
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        schema = dict(content["schema"], components=doc["components"])
        validators[path] = jsonschema_rs.validator_for(schema)
    for error in validators[path].iter_errors(body):
        bad += 1
        print(f"{path}: {error.message} at {list(error.instance_path)}")
print(f"{len(given['cases'])} bodies, {bad} errors")
sys.exit(1 if bad else 0)
"#;

/// The record a ledger event names, by the event's `type`: (record kind, field with the
/// id, field with the version for `NAME@VERSION` references).
const EVENT_RECORDS: &[(&str, &str, &str, Option<&str>)] = &[
    ("content_registered", "content", "content", None),
    ("opted_out", "optout", "opt_out", None),
    ("dataset_published", "dataset", "dataset", Some("version")),
    ("challenge_opened", "challenge", "challenge", None),
    ("run_registered", "run", "run", None),
    ("model_version_registered", "model", "model", Some("version")),
    ("attestation_submitted", "attestation", "attestation", None),
    ("deployed", "deployment", "deployment", None),
    ("decision_recorded", "decision", "decision", None),
    ("content_disputed", "dispute", "dispute", None),
];

/// Serves a ledger fixture from a node without a block producer and reads every GET
/// its values answer with 200: (path template, concrete path) and the (template, body)
/// cases to validate.
#[allow(clippy::type_complexity)]
fn read_ledger(fixture: &str, expected_height: u64) -> (Vec<(&'static str, String)>, Vec<serde_json::Value>) {
    let dir = scratch_copy(fixture);
    let store = Arc::new(verity_store::Store::open(&dir.path().join("store")).expect("open the fixture's store"));
    let genesis: verity_types::Genesis =
        serde_json::from_slice(&std::fs::read(dir.path().join("genesis.json")).expect("genesis")).expect("json");
    let governed = genesis.governance.is_some();
    // A node without a block producer: it serves the ledger as it is.
    let core = verity_node::NodeCore::start_replicated(store, genesis).expect("node");
    let rt = rt();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(verity_node::api::serve(listener, verity_node::api::router(core)));

    // (path template, concrete path): every GET the ledger's values answer with 200.
    let mut gets: Vec<(&'static str, String)> = vec![
        ("/health", "/health".into()),
        ("/v1/genesis", "/v1/genesis".into()),
        ("/v1/checkpoints/latest", "/v1/checkpoints/latest".into()),
        ("/v1/validators", "/v1/validators".into()),
        ("/v1/validators/changes", "/v1/validators/changes".into()),
        ("/v1/evidence", "/v1/evidence".into()),
        ("/v1/audit/releases", "/v1/audit/releases".into()),
        ("/v1/log/consistency", "/v1/log/consistency?old_size=1&new_size=44".into()),
        ("/v1/state/proof", "/v1/state/proof?key=consensus/validators".into()),
        ("/v1/state/proof", "/v1/state/proof?key=no/such/key".into()),
    ];
    if governed {
        gets.push(("/v1/gov", "/v1/gov".into()));
        gets.push(("/v1/gov/proposals", "/v1/gov/proposals".into()));
        gets.push(("/v1/rewards/streams", "/v1/rewards/streams".into()));
    }
    let get = |path: &str| -> serde_json::Value {
        let resp = rt.block_on(reqwest::get(format!("{url}{path}"))).expect("request");
        assert_eq!(resp.status(), 200, "{path}");
        rt.block_on(resp.json()).expect("a JSON body")
    };
    let height = get("/health")["height"].as_u64().expect("height");
    assert_eq!(height, expected_height, "the fixture's height");
    for h in 1..=height {
        gets.push(("/v1/blocks/{height}", format!("/v1/blocks/{h}")));
        gets.push(("/v1/checkpoints/{height}", format!("/v1/checkpoints/{h}")));
        for tx in get(&format!("/v1/blocks/{h}"))["tx_hashes"].as_array().expect("hashes") {
            let tx = tx.as_str().expect("a hash");
            gets.push(("/v1/txs/{hash}", format!("/v1/txs/{tx}")));
            for event in get(&format!("/v1/txs/{tx}"))["receipt"]["events"].as_array().expect("events") {
                let field =
                    |name: &str| event[name].as_str().map(str::to_string).unwrap_or_else(|| event[name].to_string());
                let kind = event["type"].as_str().expect("an event type");
                match kind {
                    "model_registered" => gets.push(("/v1/models/{id}", format!("/v1/models/{}", field("model")))),
                    "escrow_locked" => gets.push(("/v1/escrows/{id}", format!("/v1/escrows/{}", field("escrow")))),
                    "account_created" => gets.push(("/v1/accounts/{id}", format!("/v1/accounts/{}", field("account")))),
                    "proposal_created" => {
                        gets.push(("/v1/gov/proposals/{id}", format!("/v1/gov/proposals/{}", field("proposal"))))
                    }
                    "bonded" => gets.push(("/v1/stake/{account}", format!("/v1/stake/{}", field("account")))),
                    _ => {}
                }
                for &(_, record, id, version) in EVENT_RECORDS.iter().filter(|e| e.0 == kind) {
                    let reference = match version {
                        Some(v) => format!("{record}:{}@{}", field(id), field(v)),
                        None => format!("{record}:{}", field(id)),
                    };
                    gets.push(("/v1/records/{ref}", format!("/v1/records/{reference}")));
                    gets.push(("/v1/trace/{ref}", format!("/v1/trace/{reference}")));
                    gets.push(("/v1/audit/bundle/{ref}", format!("/v1/audit/bundle/{reference}")));
                }
            }
        }
    }
    let cases: Vec<serde_json::Value> =
        gets.iter().map(|(template, path)| serde_json::json!([template, get(path)])).collect();
    (gets, cases)
}

#[test]
fn every_body_of_a_real_ledger_matches_the_document() {
    let Some(st) = schemathesis() else { return };
    let python = st.with_file_name("python");
    // The ledger of 2026-12-07 (bank actions, escrows) and the governed one of
    // 2026-12-08 (every governance endpoint answers from it).
    let (mut gets, mut cases) = read_ledger("ledger-2026-12-07", 44);
    let (more_gets, more_cases) = read_ledger("ledger-2026-12-08", 145);
    gets.extend(more_gets);
    cases.extend(more_cases);
    // The analysed proposal shows its model's lineage: the run and the training data.
    let analysed: Vec<&serde_json::Value> = cases
        .iter()
        .filter(|c| c[0] == "/v1/gov/proposals/{id}" && c[1]["analyses"].as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    assert_eq!(analysed.len(), 1, "one proposal of the fixture was analysed");
    let upstream = analysed[0][1]["analyses"][0]["lineage"]["upstream"].to_string();
    assert!(upstream.contains("dataset:digits-corpus@1") && upstream.contains("run:"), "{upstream}");
    // Every kind of value the document describes was read: each operation that answers
    // JSON, every kind of record.
    for (_, template) in verity_node::api::ROUTES.iter().filter(|(m, _)| *m == "get") {
        let skipped = ["/v1/events", "/metrics", "/openapi.json", "/v1/checkpoints/{height}/note"];
        assert!(skipped.contains(template) || gets.iter().any(|(t, _)| t == template), "{template} was not read");
    }
    for (_, record, _, _) in EVENT_RECORDS.iter().filter(|e| !["challenge", "dispute"].contains(&e.1)) {
        let prefix = format!("/v1/records/{record}:");
        assert!(gets.iter().any(|(_, p)| p.starts_with(&prefix)), "no {record} record was read");
    }

    let file = tempfile::NamedTempFile::new().expect("temp file");
    let doc = verity_node::api::openapi_document();
    std::fs::write(file.path(), serde_json::to_vec(&serde_json::json!({"doc": doc, "cases": cases})).expect("json"))
        .expect("write");
    let stdout = run_ok(
        Command::new(&python).args(["-c", VALIDATE_PY]).arg(file.path()),
        "bodies the node served do not match its OpenAPI document",
    );
    assert!(stdout.contains(&format!("{} bodies, 0 errors", cases.len())), "{stdout}");
}
