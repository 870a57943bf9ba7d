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

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn schemathesis() -> Option<PathBuf> {
    verity_testkit::repo::venv("bin/schemathesis", "the schemathesis conformance run")
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
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(verity_testkit::repo::repo_root().join("scripts/schemathesis.toml"))
        .arg("run")
        .arg(format!("{}/openapi.json", node.url))
        .args(["--checks", "all", "--max-examples", &examples, "--seed", &seed, "--no-color"])
        // Its crash cache and reports go to a scratch directory, not the source tree.
        .current_dir(scratch.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", st.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found the node out of step with its OpenAPI document (seed {seed}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
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
