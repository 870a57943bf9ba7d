//! `verity demo`: the provenance loop end to end on a fresh embedded node, with real
//! files: scikit-learn's digits data set (vendored, BSD-3-Clause) and a small MLP that
//! Verity's deterministic trainer fits to it.
//!
//! The node runs inside this process on a loopback port; every step is the `verity`
//! command a user would type, run as a child process of this binary with `--json`, so
//! the demo exercises exactly the commands the README documents. Each step prints the
//! command and what the ledger answered, through the caller's [`Say`]. The data
//! directory is left for exploring.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::Value;
use verity_node::datadir;

use crate::Say;

/// The suite the demo's evaluator runs (dataset path relative to the suite file).
const SUITE: &str = include_str!("../../../examples/suites/digits.toml");
/// scikit-learn's digits data set, as the suite expects it.
const DIGITS_CSV: &[u8] = include_bytes!("../../../data/sklearn/digits.csv");
const SKLEARN_LICENSE: &[u8] = include_bytes!("../../../data/sklearn/COPYING");

#[derive(Args)]
pub struct DemoArgs {
    /// Where to create the demo's network and files (must not hold a network yet).
    #[arg(long, default_value = "verity-demo")]
    pub data_dir: PathBuf,
    /// Address for the demo's node (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

struct Demo {
    out: Say,
    exe: PathBuf,
    node: String,
    keystore: String,
    step: usize,
}

impl Demo {
    /// Narrates one line.
    fn line(&self, text: std::fmt::Arguments<'_>) {
        (self.out)(text);
    }

    /// Narrates one indented line.
    fn say(&self, text: impl AsRef<str>) {
        self.line(format_args!("   {}", text.as_ref()));
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut full = vec!["--node".to_string(), self.node.clone(), "--keystore".to_string(), self.keystore.clone()];
        full.extend(args.iter().map(|s| s.to_string()));
        full
    }

    fn announce(&mut self, title: &str, args: &[&str]) {
        self.step += 1;
        self.line(format_args!("\n{}. {title}", self.step));
        let shown: Vec<String> =
            args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.to_string() }).collect();
        self.line(format_args!("   $ verity {}", shown.join(" ")));
    }

    /// Runs `verity --json ARGS`, which must succeed; returns its JSON answer.
    fn ok(&mut self, title: &str, args: &[&str]) -> Result<Value> {
        self.announce(title, args);
        let mut full = vec!["--json".to_string()];
        full.extend(self.args(args));
        let out = Command::new(&self.exe).args(&full).output().context("running verity")?;
        if !out.status.success() {
            bail!("step {} failed: verity {}\n{}", self.step, args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        let v: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!("step {}: the answer is not JSON: {}", self.step, String::from_utf8_lossy(&out.stdout))
        })?;
        Ok(v)
    }

    /// Runs `verity ARGS`, which the ledger must refuse; prints the reason.
    fn refused(&mut self, title: &str, args: &[&str]) -> Result<String> {
        self.announce(title, args);
        let out = Command::new(&self.exe).args(self.args(args)).output().context("running verity")?;
        if out.status.success() {
            bail!("step {}: verity {} should have been refused", self.step, args.join(" "));
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let reason = err.lines().last().unwrap_or_default().trim_start_matches("error: ").to_string();
        self.line(format_args!("   refused, as it must be: {reason}"));
        Ok(reason)
    }

    /// Runs `verity ARGS` with its human output shown.
    fn show(&mut self, title: &str, args: &[&str]) -> Result<()> {
        self.announce(title, args);
        let status = Command::new(&self.exe).args(self.args(args)).status().context("running verity")?;
        if !status.success() {
            bail!("step {} failed: verity {}", self.step, args.join(" "));
        }
        Ok(())
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A code commit for the demo's runs: the SHA-256 of the running `verity` binary, which
/// is the exact code that trained the model (the demo has no repository of its own).
fn code_commit(exe: &Path) -> Result<String> {
    let bytes = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
    Ok(verity_types::sha256(&bytes).to_hex()[..40].to_string())
}

/// Runs the demo in `a.data_dir`, narrating through `out`. Must run inside the `verity`
/// binary: each step runs this executable.
pub fn run(a: &DemoArgs, out: Say) -> Result<()> {
    let dir = a.data_dir.clone();
    if datadir::genesis_path(&dir).exists() {
        bail!(
            "{} already holds a network; explore it with `verity node --data-dir {0}`, or pass another --data-dir",
            dir.display()
        );
    }
    let created = datadir::init(&dir, "verity-demo", "dev", "admin", verity_node::now_ms())?;
    let dir = dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?;
    let mut demo = Demo {
        out,
        exe: std::env::current_exe().context("locating the verity binary")?,
        // Known once the node listens.
        node: String::new(),
        keystore: s(&datadir::keystore_path(&dir)),
        step: 0,
    };
    demo.line(format_args!("Verity demo: a fresh single-organisation network in {}", dir.display()));
    demo.say(format!("chain {}, admin key in {}", created.genesis.chain_id, demo.keystore));

    // The node, in this process, until the demo is done.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let node_dir = dir.clone();
    let listen = a.listen;
    let node = std::thread::spawn(move || -> Result<()> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
        rt.block_on(verity_node::server::run_until(
            &node_dir,
            listen,
            Default::default(),
            move |addr, _| {
                let _ = addr_tx.send(addr);
            },
            async move {
                let _ = stop_rx.await;
            },
        ))?;
        Ok(())
    });
    let addr = match addr_rx.recv() {
        Ok(a) => a,
        Err(_) => {
            return match node.join() {
                Ok(Err(e)) => Err(e.context("starting the demo's node")),
                _ => Err(anyhow!("the demo's node did not start")),
            }
        }
    };
    demo.node = format!("http://{addr}");
    demo.say(format!("node listening on {}", demo.node));

    let result = script(&mut demo, &dir);
    let _ = stop_tx.send(());
    let stopped = node.join().map_err(|_| anyhow!("the demo's node thread panicked"))?;
    let bundle = result?;
    stopped.context("stopping the demo's node")?;

    demo.line(format_args!("\nDone. Everything above is on the ledger in {}.", dir.display()));
    demo.say(format!("audit bundle of the deployed model: {}", s(&bundle)));
    demo.say("explore it:");
    demo.say(format!("  verity node --data-dir {}        # serve it again", dir.display()));
    demo.say(format!("  verity --keystore {} trace model:digits@1", demo.keystore));
    demo.say(format!("  verity audit verify {} --validators {}", s(&bundle), s(&datadir::genesis_path(&dir))));
    Ok(())
}

/// The loop; returns the audit bundle's path.
fn script(d: &mut Demo, dir: &Path) -> Result<PathBuf> {
    let work = dir.join("work");
    let data = work.join("data");
    let digits = data.join("digits.csv");
    write(&digits, DIGITS_CSV)?;
    write(&work.join("licences/scikit-learn-COPYING"), SKLEARN_LICENSE)?;
    let scraped = data.join("scraped-forum-posts.txt");
    write(&scraped, b"Posts copied from a forum whose author asked not to be used for AI training.\n")?;
    let suites = work.join("suites");
    // The suite names its data set relative to itself, as in examples/suites/.
    let suite = suites.join("digits.toml");
    write(&suite, SUITE.replace("../../data/sklearn/digits.csv", "../data/digits.csv").as_bytes())?;

    d.line(format_args!("\nAccounts, one per role (the admin of organisation `dev` creates them):"));
    for (name, role, what) in [
        ("carol", "creator", "creates and licenses content"),
        ("cur", "curator", "curates datasets"),
        ("owen", "model_owner", "owns the model and its deploy gate"),
        ("pam", "provider", "runs the training compute"),
        ("eve", "evaluator", "evaluates models independently"),
        ("dep", "deployer", "deploys to environments"),
        ("rev", "reviewer", "reviews decisions"),
    ] {
        d.ok(&format!("{name}: {what}"), &["account", "create", name, "--org", "dev", "--role", role])?;
    }

    d.line(format_args!("\nContent and consent:"));
    let c = d.ok(
        "carol registers the digits data set under its licence",
        &["content", "register", &s(&digits), "--licence", "BSD-3-Clause", "--as", "carol"],
    )?;
    d.say(format!("content id {}", c["content"].as_str().unwrap_or("?")));
    d.ok(
        "carol registers a forum dump too...",
        &["content", "register", &s(&scraped), "--licence", "BSD-3-Clause", "--as", "carol"],
    )?;
    d.ok(
        "...and opts it out of all AI training",
        &["content", "opt-out", &s(&scraped), "--scope", "all", "--reason", "author's request", "--as", "carol"],
    )?;

    d.line(format_args!("\nDatasets:"));
    let m1 = work.join("manifests/digits-corpus-1.json");
    d.ok(
        "cur builds a manifest of the data folder",
        &[
            "dataset",
            "build",
            &s(&data),
            "--dataset",
            "digits-corpus",
            "--version",
            "1",
            "--licence",
            "BSD-3-Clause",
            "-o",
            &s(&m1),
        ],
    )?;
    d.refused(
        "publishing it item by item: the ledger refuses the opted-out item",
        &["dataset", "publish", &s(&m1), "--mode", "enumerated", "--as", "cur"],
    )?;
    std::fs::remove_file(&scraped).with_context(|| format!("removing {}", scraped.display()))?;
    let m2 = work.join("manifests/digits-corpus-2.json");
    d.ok(
        "cur drops it and builds version 2",
        &[
            "dataset",
            "build",
            &s(&data),
            "--dataset",
            "digits-corpus",
            "--version",
            "2",
            "--licence",
            "BSD-3-Clause",
            "-o",
            &s(&m2),
        ],
    )?;
    let p = d.ok(
        "version 2 is published: every item checked against the opt-out registry",
        &["dataset", "publish", &s(&m2), "--mode", "enumerated", "--supersedes", "1", "--as", "cur"],
    )?;
    d.say(format!("status {}, root {}", p["status"].as_str().unwrap_or("?"), p["root"].as_str().unwrap_or("?")));

    d.line(format_args!("\nTraining and publishing:"));
    let commit = code_commit(&d.exe)?;
    let att = work.join("attestations");
    let model_dir = work.join("model");
    let (v1, v2) = (model_dir.join("digits-v1.safetensors"), model_dir.join("digits-v2.safetensors"));
    let (run1, run2) = (model_dir.join("RUN-v1.json"), model_dir.join("RUN-v2.json"));
    let train = |d: &mut Demo, seed: &str, out: &Path, run: &Path| -> Result<()> {
        let t = d.ok(
            &format!("train an MLP on the digits (seed {seed}); the same seed gives the same bytes"),
            &[
                "train",
                "--data",
                &s(&digits),
                "--arch",
                "mlp",
                "--seed",
                seed,
                "--dataset-ref",
                "digits-corpus@2",
                "--code-commit",
                &commit,
                "--team",
                "vision",
                "--out",
                &s(out),
                "--run-out",
                &s(run),
            ],
        )?;
        d.say(format!("held-out accuracy {:.4}", t["test_accuracy"].as_f64().unwrap_or(0.0)));
        Ok(())
    };
    let publish = |d: &mut Demo, title: &str, out: &Path, run: &Path| -> Result<()> {
        let p = d.ok(
            title,
            &[
                "model",
                "publish",
                &s(out),
                "--model",
                "digits",
                "--run",
                &s(run),
                "--provider-signer",
                "pam",
                "--as",
                "owen",
            ],
        )?;
        d.say(format!(
            "{}, fingerprint {}",
            p["reference"].as_str().unwrap_or("?"),
            p["fingerprint"].as_str().unwrap_or("?")
        ));
        Ok(())
    };
    let evaluate = |d: &mut Demo, version: &str, out: &Path, dir: &str| -> Result<()> {
        let e = d.ok(
            &format!("eve evaluates {version} on held-out data, signs one attestation per kind and submits them"),
            &[
                "eval",
                "run",
                "--model",
                &s(out),
                "--suite",
                &s(&suite),
                "--subject",
                version,
                "--as",
                "eve",
                "-o",
                &s(&att.join(dir)),
                "--submit",
            ],
        )?;
        for r in e["results"].as_array().into_iter().flatten() {
            d.say(format!(
                "{:<11} {:<24} {:.4}  {}",
                r["kind"].as_str().unwrap_or("?"),
                r["metric"].as_str().unwrap_or("?"),
                r["value_ppm"].as_i64().unwrap_or(0) as f64 / 1e6,
                if r["meets_threshold"] == true { "pass" } else { "FAIL" }
            ));
        }
        Ok(())
    };
    train(d, "0", &v1, &run1)?;
    publish(d, "owen publishes it: OMS fingerprint and signature, the run (signed by pam) and version 1", &v1, &run1)?;
    d.ok(
        "owen sets the gate: production needs eve's passing performance, fairness and robustness attestations; \
         other environments are left open (--default-none; without it they would need the same)",
        &[
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
            "--default-none",
            "--as",
            "owen",
        ],
    )?;
    d.refused(
        "dep tries to deploy digits@1 to production before any evaluation",
        &["model", "deploy", "digits@1", "--env", "production", "--as", "dep"],
    )?;

    d.line(format_args!("\nEvaluation and deployment:"));
    evaluate(d, "digits@1", &v1, "v1")?;
    d.ok(
        "now the ledger accepts the deploy to production",
        &["model", "deploy", "digits@1", "--env", "production", "--as", "dep"],
    )?;
    d.ok(
        "and to staging, which the gate leaves open",
        &["model", "deploy", "digits@1", "--env", "staging", "--as", "dep"],
    )?;

    train(d, "3", &v2, &run2)?;
    publish(d, "owen publishes the retrained model as version 2", &v2, &run2)?;
    d.ok("dep tries it in staging", &["model", "deploy", "digits@2", "--env", "staging", "--as", "dep"])?;
    evaluate(d, "digits@2", &v2, "v2")?;
    d.refused(
        "its robustness attestation failed, so the ledger keeps it out of production",
        &["model", "deploy", "digits@2", "--env", "production", "--as", "dep"],
    )?;
    d.ok(
        "staging is rolled back to version 1",
        &[
            "model",
            "rollback",
            "digits",
            "--env",
            "staging",
            "--to",
            "1",
            "--reason",
            "fails the noise robustness check",
            "--as",
            "dep",
        ],
    )?;
    d.ok(
        "and version 2 is deprecated for good",
        &["model", "deprecate", "digits@2", "--reason", "not robust to input noise", "--as", "owen"],
    )?;
    d.refused(
        "a deprecated version can never be deployed again",
        &["model", "deploy", "digits@2", "--env", "staging", "--as", "dep"],
    )?;

    d.line(format_args!("\nDecisions:"));
    let input = work.join("decisions/row-17.csv");
    let sample = DIGITS_CSV.split(|b| *b == b'\n').nth(18).ok_or_else(|| anyhow!("the digits file is too short"))?;
    write(&input, sample)?;
    let inf = d.ok(
        "digits@1 classifies one image",
        &["infer", "--model", &s(&v1), "--data", &s(&digits), "--rows", "17..18"],
    )?;
    let output = work.join("decisions/row-17-output.json");
    write(&output, serde_json::to_vec_pretty(&inf)?.as_slice())?;
    let rec = d.ok(
        "dep records the decision: a salted commitment to the input, the output hash, reviewed by rev",
        &[
            "decision",
            "record",
            "--model",
            "digits@1",
            "--input",
            &s(&input),
            "--output",
            &s(&output),
            "--reviewer",
            "rev",
            "--correction",
            "by-reviewer",
            "--context",
            "demo: reading a handwritten digit",
            "--as",
            "dep",
        ],
    )?;
    let decision = decision_id(&rec)?;
    d.say(format!("decision {decision}"));
    d.ok(
        "rev corrects it; both records remain",
        &[
            "decision",
            "correct",
            &decision,
            "--output-hash",
            &verity_types::sha256(b"label 1 (corrected)").to_hex(),
            "--reason",
            "the reviewer read the image as a 1",
            "--as",
            "rev",
        ],
    )?;

    d.line(format_args!("\nReading it back:"));
    d.show("the lineage of the deployed model, both directions", &["trace", "model:digits@1"])?;
    let bundle = dir.join("audit-digits@1.json");
    d.ok("export its audit bundle", &["audit", "export", "model:digits@1", "-o", &s(&bundle)])?;
    d.show(
        "verify it offline, with nothing but the genesis file",
        &["audit", "verify", &s(&bundle), "--validators", &s(&datadir::genesis_path(dir))],
    )?;
    d.show(
        "every production release and the attestations it passed",
        &["audit", "releases", "--environment", "production"],
    )?;
    Ok(bundle)
}

/// The id of the decision a `decision record` transaction created.
fn decision_id(answer: &Value) -> Result<String> {
    answer["receipt"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "decision_recorded")
        .and_then(|e| e["decision"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the decision's receipt names no decision: {answer}"))
}
