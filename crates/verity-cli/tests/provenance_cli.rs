//! `verity content ...` and `verity dataset ...` against a real node process: build a
//! manifest from real files, register and opt out content, publish (refused, then
//! complete), prove and verify membership, and challenge items.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::*;
use serde_json::Value;
use verity_types::{sha256, Hash};

/// A node with a creator (carol), a curator (cur) and a reviewer (rev), and a folder of
/// real files: five distinct contents plus one duplicate and one hidden file.
struct World {
    _dir: tempfile::TempDir,
    node: Node,
    ks: String,
    work: PathBuf,
    files: PathBuf,
}

const CONTENTS: [&[u8]; 5] = [b"the first text", b"second, opted out", b"third", b"fourth: 4", b"fifth, unregistered"];

impl World {
    fn new() -> World {
        let dir = init_dir();
        let node = start_node(&net(&dir));
        let ks = net(&dir).join("keystore.json").display().to_string();
        let work = dir.path().join("work");
        let files = work.join("corpus");
        std::fs::create_dir_all(files.join("sub")).expect("mkdir");
        for (i, c) in CONTENTS.iter().enumerate() {
            std::fs::write(files.join(format!("f{}.txt", i + 1)), c).expect("write");
        }
        std::fs::write(files.join("sub/copy-of-f1.txt"), CONTENTS[0]).expect("write");
        std::fs::write(files.join(".hidden"), b"never listed").expect("write");
        let w = World { _dir: dir, node, ks, work, files };
        for (account, role) in [("carol", "creator"), ("cur", "curator"), ("rev", "reviewer")] {
            w.json(&["account", "create", account, "--org", "dev", "--role", role]);
        }
        w
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["--node", self.node.url.as_str(), "--keystore", self.ks.as_str()];
        full.extend_from_slice(args);
        full
    }

    fn json(&self, args: &[&str]) -> Value {
        verity_json(&self.args(args))
    }

    /// Runs a command that must fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out: Output = verity(&self.args(args));
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "verity {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.contains("error:"), "a failure says why: {stderr}");
        stderr
    }

    fn file(&self, n: usize) -> String {
        self.files.join(format!("f{n}.txt")).display().to_string()
    }

    fn out(&self, name: &str) -> String {
        self.work.join(name).display().to_string()
    }

    fn build(&self, version: u32) -> (String, Value) {
        let m = self.out(&format!("corpus-v{version}.json"));
        let v = self.json(&[
            "dataset",
            "build",
            self.files.to_str().expect("utf-8"),
            "--dataset",
            "corpus",
            "--version",
            &version.to_string(),
            "--licence",
            "CC-BY-4.0",
            "-o",
            &m,
        ]);
        (m, v)
    }
}

fn content(n: usize) -> String {
    sha256(CONTENTS[n - 1]).to_hex()
}

fn evidence() -> String {
    sha256(b"an evidence document").to_hex()
}

/// Registers files 1-4 (file 5 stays unregistered) and opts file 2 out of all training.
/// Returns the opt-out id.
fn register_and_opt_out(w: &World) -> String {
    for n in 1..=4 {
        let r = w.json(&["content", "register", &w.file(n), "--licence", "CC-BY-4.0", "--signer", "carol"]);
        assert_eq!(r["status"], "committed", "{r}");
        assert_eq!(r["content"], content(n));
        assert_eq!(r["media_type"], "text/plain");
    }
    // The same content twice is refused with the ledger's code.
    let err = w.fails(&["content", "register", "--hash", &content(1), "--licence", "MIT", "--signer", "carol"]);
    assert!(err.contains("already_exists") || err.contains("exists"), "{err}");
    let o = w.json(&[
        "content",
        "opt-out",
        &w.file(2),
        "--scope",
        "all",
        "--reason",
        "no AI training",
        "--signer",
        "carol",
    ]);
    assert_eq!(o["status"], "committed", "{o}");
    o["opt_out"].as_str().expect("opt-out id").to_string()
}

#[test]
fn build_publish_prove_and_challenge_through_the_cli() {
    let w = World::new();

    // Build: five items, the duplicate dropped, the hidden file skipped.
    let (m1, b1) = w.build(1);
    assert_eq!(b1["count"], 5, "{b1}");
    assert_eq!(b1["files"], 6);
    assert_eq!(b1["duplicates_dropped"], 1);
    assert_eq!(b1["duplicates"][0]["name"], "sub/copy-of-f1.txt");
    assert_eq!(b1["licences"], serde_json::json!([{"spdx": "CC-BY-4.0"}]));
    let bytes = std::fs::read(&m1).expect("manifest");
    assert_eq!(b1["manifest_hash"], sha256(&bytes).to_hex(), "the printed hash is the file's SHA-256");

    let opt_out = register_and_opt_out(&w);

    // Publication requires registered content by default: file 5 is not registered.
    let err = w.fails(&["dataset", "publish", &m1, "--mode", "enumerated", "--signer", "cur"]);
    assert!(err.contains("unregistered_content") || err.contains("opted_out"), "{err}");
    let err = w.fails(&[
        "dataset",
        "publish",
        &m1,
        "--mode",
        "enumerated",
        "--require-registered",
        "--allow-unregistered",
        "--signer",
        "cur",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    // Allowing unregistered content, enumerated publication stops at the opted-out item
    // with the ledger's code (version 1 was published above and stays pending).
    let (m1, _) = w.build(2);
    let err = w.fails(&["dataset", "publish", &m1, "--mode", "enumerated", "--allow-unregistered", "--signer", "cur"]);
    assert!(err.contains("opted_out"), "{err}");
    assert!(err.contains("chunk 1 of 1"), "{err}");

    // Withdraw the opt-out; the next version publishes completely.
    let wd = w.json(&["content", "withdraw", &opt_out, "--signer", "carol"]);
    assert_eq!(wd["withdrawn"], true, "{wd}");
    let (m2, b2) = w.build(3);
    let p = w.json(&[
        "dataset",
        "publish",
        &m2,
        "--mode",
        "enumerated",
        "--allow-unregistered",
        "--supersedes",
        "2",
        "--signer",
        "cur",
    ]);
    assert_eq!(p["status"], "published", "{p}");
    assert_eq!(p["chunks"], 1);
    assert_eq!(p["root"], b2["root"]);
    assert_eq!(p["count"], 5);

    // Prove one item and verify the proof offline.
    let proof = w.out("f1.proof.json");
    let pr = w.json(&["dataset", "prove", &m2, "--content", &content(1), "-o", &proof]);
    assert_eq!(pr["count"], 5, "{pr}");
    let text = std::fs::read_to_string(&proof).expect("proof");
    assert!(!text.contains("f2.txt") && !text.contains(&content(2)), "the proof holds no other item: {text}");
    let root = b2["root"].as_str().expect("root");
    let v = w.json(&["dataset", "verify-member", &proof, "--root", root, "--count", "5"]);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["content"], content(1));
    // Wrong root, wrong count, tampered path: all refused.
    w.fails(&["dataset", "verify-member", &proof, "--root", &Hash::ZERO.to_hex(), "--count", "5"]);
    w.fails(&["dataset", "verify-member", &proof, "--root", root, "--count", "6"]);
    let mut tampered: Value = serde_json::from_str(&text).expect("json");
    let first = tampered["proof"]["path"][0].as_str().expect("path hash").to_string();
    let flipped = match first.strip_prefix('0') {
        Some(rest) => format!("1{rest}"),
        None => format!("0{}", &first[1..]),
    };
    tampered["proof"]["path"][0] = Value::String(flipped);
    let bad = w.out("tampered.proof.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).expect("json")).expect("write");
    let err = w.fails(&["dataset", "verify-member", &bad, "--root", root, "--count", "5"]);
    assert!(err.contains("does not verify"), "{err}");
    // Proving content that is not an item fails.
    w.fails(&["dataset", "prove", &m2, "--content", &evidence(), "-o", &w.out("x.json")]);

    // Root-only publication, then an opted-out challenge carrying the manifest's proof:
    // the ledger checks it itself and upholds it at once.
    let o3 = w.json(&["content", "opt-out", "--hash", &content(3), "--scope", "all", "--signer", "carol"]);
    assert_eq!(o3["status"], "committed", "{o3}");
    let (m3, _) = w.build(4);
    let p = w.json(&[
        "dataset",
        "publish",
        &m3,
        "--mode",
        "root-only",
        "--reviewer",
        "rev",
        "--challenge-window",
        "500",
        "--signer",
        "cur",
    ]);
    assert_eq!(p["status"], "published", "{p}");
    assert_eq!(p["chunks"], 0);
    let err = w.fails(&[
        "dataset",
        "challenge",
        "corpus@4",
        "--content",
        &content(3),
        "--kind",
        "opted-out",
        "--evidence",
        &evidence(),
    ]);
    assert!(err.contains("--manifest"), "{err}");
    let c = w.json(&[
        "dataset",
        "challenge",
        "corpus@4",
        "--content",
        &content(3),
        "--kind",
        "opted-out",
        "--evidence",
        &evidence(),
        "--manifest",
        &m3,
    ]);
    assert_eq!(c["challenge_status"], "upheld", "{c}");
    let c_upheld = c["challenge"].as_str().expect("challenge id").to_string();
    // Content without an active opt-out: the ledger refuses the claim.
    let err = w.fails(&[
        "dataset",
        "challenge",
        "corpus@4",
        "--content",
        &content(1),
        "--kind",
        "opted-out",
        "--evidence",
        &evidence(),
        "--manifest",
        &m3,
    ]);
    assert!(err.contains("challenge_unfounded"), "{err}");

    // A reviewed challenge (every challenge carries the item's proof): opened by admin,
    // answered by the curator, rejected by the reviewer.
    let c = w.json(&[
        "dataset",
        "challenge",
        "corpus@4",
        "--content",
        &content(4),
        "--kind",
        "mislabelled",
        "--evidence",
        &evidence(),
        "--manifest",
        &m3,
    ]);
    assert_eq!(c["challenge_status"], "open", "{c}");
    let id = c["challenge"].as_str().expect("challenge id").to_string();
    let response = sha256(b"the curator's answer").to_hex();
    let a = w.json(&["dataset", "answer", &id, "--response", &response, "--signer", "cur"]);
    assert_eq!(a["status"], "committed", "{a}");
    // The curator may not resolve its own version's challenge.
    let err = w.fails(&["dataset", "resolve", &id, "--upheld", "--reason", "mine", "--signer", "cur"]);
    assert!(err.contains("unauthorized"), "{err}");
    let r = w.json(&["dataset", "resolve", &id, "--rejected", "--reason", "labels checked", "--signer", "rev"]);
    assert_eq!(r["challenge_status"], "rejected", "{r}");
    w.fails(&["dataset", "resolve", &id, "--upheld", "--rejected", "--reason", "both", "--signer", "rev"]);

    // The ledger-upheld opted-out challenge is appealed: its flags are lifted once the
    // opt-out is withdrawn, by the version's reviewer, and stay on record.
    let upheld = c_upheld.as_str();
    let err = w.fails(&["dataset", "lift", upheld, "--reason", "opt-out stands", "--signer", "rev"]);
    assert!(err.contains("lift_refused"), "{err}");
    w.json(&["content", "withdraw", o3["opt_out"].as_str().expect("opt-out id"), "--signer", "carol"]);
    let l = w.json(&["dataset", "lift", upheld, "--reason", "opt-out withdrawn", "--signer", "rev"]);
    assert_eq!(l["flags_lifted"], 1, "{l}");
    // A quorum can be asked for instead of one reviewer.
    let q = w.json(&["dataset", "review", "corpus@4", "--quorum-org", "dev", "--threshold", "1", "--signer", "cur"]);
    assert_eq!(q["review"]["rule"], "quorum", "{q}");
}

#[test]
fn enumerated_publication_sends_items_in_ascending_chunks() {
    let w = World::new();
    // 1100 distinct files: three chunks of at most DATASET_CHUNK_ITEMS_MAX items.
    let bulk = w.work.join("bulk");
    for i in 0..1100u32 {
        let d = bulk.join(format!("d{}", i % 7));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join(format!("{i}.txt")), format!("item {i}")).expect("write");
    }
    let m = w.out("bulk.json");
    let b = w.json(&[
        "dataset",
        "build",
        bulk.to_str().expect("utf-8"),
        "--dataset",
        "bulk",
        "--version",
        "1",
        "--licence",
        "MIT",
        "-o",
        &m,
    ]);
    assert_eq!(b["count"], 1100, "{b}");
    assert_eq!(b["duplicates_dropped"], 0);
    let p = w.json(&["dataset", "publish", &m, "--mode", "enumerated", "--allow-unregistered", "--signer", "cur"]);
    assert_eq!(p["status"], "published", "{p}");
    assert_eq!(p["chunks"], 1100usize.div_ceil(verity_types::limits::DATASET_CHUNK_ITEMS_MAX));
    // Publishing the same version again is refused with the ledger's code.
    let err = w.fails(&["dataset", "publish", &m, "--mode", "enumerated", "--signer", "cur"]);
    assert!(err.contains("wrong_version"), "{err}");
    // A curator role is required.
    let err = w.fails(&["dataset", "publish", &m, "--mode", "root-only", "--signer", "carol"]);
    assert!(err.contains("unauthorized"), "{err}");
}

/// Needs `POST /v1/datasets/check` and `GET /v1/records/{ref}` on the node.
#[test]
fn check_and_online_verification_use_the_ledger() {
    let w = World::new();
    let (m1, _) = w.build(1);
    register_and_opt_out(&w);

    // The opted-out item is reported, and (unless --allow-unregistered) the unregistered one.
    let out = verity(&w.args(&["--json", "dataset", "check", &m1, "--allow-unregistered"]));
    assert!(!out.status.success(), "a manifest with problems fails the check");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["checked"], 5, "{v}");
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["content"], content(2));
    assert_eq!(problems[0]["code"], "opted_out");
    let out = verity(&w.args(&["--json", "dataset", "check", &m1, "--require-registered"]));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut codes: Vec<&str> =
        v["problems"].as_array().expect("problems").iter().map(|p| p["code"].as_str().expect("code")).collect();
    codes.sort();
    assert_eq!(codes, ["opted_out", "unregistered_content"], "{v}");
    // The table form names the content, the code and the message.
    let out = verity(&w.args(&["dataset", "check", &m1]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&content(2)) && table.contains("opted_out"), "{table}");

    // A clean manifest passes.
    let clean = w.work.join("clean");
    std::fs::create_dir_all(&clean).expect("mkdir");
    std::fs::write(clean.join("a.txt"), CONTENTS[0]).expect("write");
    std::fs::write(clean.join("b.txt"), CONTENTS[3]).expect("write");
    let mc = w.out("clean.json");
    w.json(&[
        "dataset",
        "build",
        clean.to_str().expect("utf-8"),
        "--dataset",
        "clean",
        "--version",
        "1",
        "--licence",
        "CC-BY-4.0",
        "-o",
        &mc,
    ]);
    let v = w.json(&["dataset", "check", &mc, "--require-registered", "--commercial"]);
    assert_eq!(v["ok"], true, "{v}");

    // Online verification reads the root and count from the ledger's record.
    w.json(&["dataset", "publish", &mc, "--mode", "enumerated", "--signer", "cur"]);
    let proof = w.out("a.proof.json");
    w.json(&["dataset", "prove", &mc, "--content", &content(1), "-o", &proof]);
    let v = w.json(&["dataset", "verify-member", &proof]);
    assert_eq!(v["verified"], true, "{v}");
    assert!(v["against"].as_str().expect("against").contains("clean@1"), "{v}");
    // A proof for a version the ledger does not hold fails with the node's answer.
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(&proof).expect("proof")).expect("json");
    p["version"] = Value::from(9);
    let other = w.out("v9.proof.json");
    std::fs::write(&other, serde_json::to_vec(&p).expect("json")).expect("write");
    let err = w.fails(&["dataset", "verify-member", &other]);
    assert!(err.contains("404"), "{err}");
}
