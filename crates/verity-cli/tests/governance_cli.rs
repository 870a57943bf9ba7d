//! `verity gov`, `stake`, `treasury`, `rewards` and `council` against a real node
//! process whose genesis carries a constitution given to `verity init --constitution`:
//! a parameter change voted and executed by the ledger at its height (the idle node's
//! clock moves the heights), an organisation admitted after ratification, stake bonded,
//! unbonded and withdrawn after the delay, a reward stream paused and resumed by the
//! council, and the refusals the issue names, each with its code.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

struct World {
    _dir: tempfile::TempDir,
    node: Node,
    ks: String,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let rule = |kind: &str, ratifications: u32| {
            json!({"kind": kind, "quorum": {"num": 1, "den": 2}, "threshold": {"num": 1, "den": 2},
                   "voting_period": 4, "cooling_off": 2, "veto": {"num": 1, "den": 3},
                   "ratifications": ratifications, "ratification_window": 60})
        };
        let constitution = json!({
            "rules": [rule("parameter", 0), rule("admit_org", 1), rule("streams", 0)],
            "council": ["admin"],
            "council_threshold": 1,
            "stake_asset": "credit",
            "params": [{"name": "reward_epoch", "value": "3"}, {"name": "unbond_delay", "value": "3"}],
        });
        let path = dir.path().join("constitution.json");
        std::fs::write(&path, serde_json::to_vec(&constitution).expect("json")).expect("write");
        let data = dir.path().join("net");
        verity_ok(&[
            "init",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--constitution",
            path.to_str().expect("utf-8"),
        ]);
        let node = start_node(&data);
        let ks = data.join("keystore.json").display().to_string();
        World { _dir: dir, node, ks }
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["--node", self.node.url.as_str(), "--keystore", self.ks.as_str()];
        full.extend_from_slice(args);
        full
    }

    fn json(&self, args: &[&str]) -> Value {
        verity_json(&self.args(args))
    }

    /// Runs a command that must fail with the ledger's `code`.
    fn fails(&self, args: &[&str], code: &str) {
        let out = verity(&self.args(args));
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "verity {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.contains(code), "verity {args:?} should fail with {code}: {stderr}");
    }

    /// Submits a transaction and returns its hash.
    fn tx(&self, args: &[&str]) -> String {
        let v = self.json(args);
        assert_eq!(v["receipt"]["status"], "success", "{args:?}: {v}");
        v["hash"].as_str().expect("hash").to_string()
    }

    /// Polls `what` (a JSON command) until `done` holds, for at most 60 s.
    fn wait_for(&self, args: &[&str], what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let v = self.json(args);
            if done(&v) {
                return v;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}: {v}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn phase(&self, id: &str) -> String {
        self.json(&["gov", "show", id])["proposal"]["phase"].as_str().expect("phase").to_string()
    }

    fn wait_phase(&self, id: &str, phase: &str) {
        self.wait_for(&["gov", "show", id], phase, |v| v["proposal"]["phase"] == phase);
    }

    fn param(&self, name: &str) -> String {
        let v = self.json(&["gov", "show"]);
        let p = v["params"].as_array().expect("params").iter().find(|p| p["name"] == name).expect("listed").clone();
        p["value"].as_str().expect("value").to_string()
    }
}

#[test]
fn a_consortium_governs_itself_from_the_command_line() {
    let w = World::new();
    let overview = w.json(&["gov", "show"]);
    assert_eq!(overview["members"], json!([{"org": "dev", "weight": 1}]));
    assert_eq!(w.param("unbond_delay"), "3", "set by the constitution");
    assert_eq!(w.param("curation_slash_ppm"), "100000", "the registry's default");

    // A parameter change: refused out of bounds, refused early, executed at its height.
    w.fails(
        &["gov", "propose", "--as", "admin", "--title", "too much", "param", "curation_slash_ppm", "1000001"],
        "parameter_out_of_bounds",
    );
    let id =
        w.tx(&["gov", "propose", "--as", "admin", "--title", "slash harder", "param", "curation_slash_ppm", "200000"]);
    w.fails(&["gov", "execute", &id, "--as", "admin"], "too_early");
    w.tx(&["gov", "vote", &id, "yes", "--as", "admin"]);
    w.fails(&["gov", "vote", &id, "no", "--as", "admin"], "already_counted");
    w.wait_phase(&id, "executed");
    assert_eq!(w.param("curation_slash_ppm"), "200000");
    let shown = w.json(&["gov", "show", &id]);
    assert_eq!(shown["proposal"]["tally"]["yes"], 1);
    assert_eq!(shown["proposal"]["state_key"], format!("gov/proposal/{id}"));

    // A vote after the voting period is refused; the unvoted proposal is rejected.
    let late = w.tx(&["gov", "propose", "--as", "admin", "--title", "late", "param", "unbond_delay", "5"]);
    w.wait_for(&["gov", "show", &late], "the end of voting", |v| v["proposal"]["phase"] != "voting");
    w.fails(&["gov", "vote", &late, "yes", "--as", "admin"], "voting_closed");
    w.wait_phase(&late, "rejected");
    assert_eq!(w.param("unbond_delay"), "3");

    // Admitting an organisation waits for a ratifier.
    let key = w.json(&["keys", "new", "beta-admin"])["public_key"].as_str().expect("key").to_string();
    let admit = w.tx(&[
        "gov",
        "propose",
        "--as",
        "admin",
        "--title",
        "admit beta",
        "admit-org",
        "beta",
        "--name",
        "Beta",
        "--admin",
        &format!("beta-admin={key}"),
    ]);
    w.tx(&["gov", "vote", &admit, "yes", "--as", "admin"]);
    w.wait_phase(&admit, "awaiting_ratification");
    w.fails(&["gov", "ratify", &admit, "--as", "admin"], "unauthorized");
    w.tx(&["role", "grant", "admin", "ratifier"]);
    w.tx(&["gov", "ratify", &admit, "--as", "admin"]);
    w.tx(&["gov", "execute", &admit, "--as", "admin"]);
    assert_eq!(w.phase(&admit), "executed");
    let members = w.json(&["gov", "show"])["members"].clone();
    assert_eq!(members, json!([{"org": "beta", "weight": 1}, {"org": "dev", "weight": 1}]));
    assert_eq!(w.json(&["account", "show", "beta-admin"])["org"], "beta");

    // Stake: bond, unbond, withdraw only after the delay.
    w.tx(&["stake", "bond", "program:learners", "100", "--as", "admin"]);
    w.tx(&["stake", "unbond", "program:learners", "40", "--as", "admin"]);
    w.fails(&["stake", "withdraw", "program:learners", "--as", "admin"], "nothing_due");
    let stake = w.json(&["stake", "show", "admin"]);
    assert_eq!(stake["positions"][0]["bonded"], "60");
    assert_eq!(stake["reputation_key"], "rep/admin");
    let height = stake["height"].as_u64().expect("height");
    w.wait_for(&["stake", "show", "admin"], "the unbonding delay", |v| v["height"].as_u64() > Some(height + 3));
    w.tx(&["stake", "withdraw", "program:learners", "--as", "admin"]);
    assert_eq!(w.json(&["stake", "show", "admin"])["positions"][0]["unbonding"], json!([]));

    // A reward stream funded from the treasury, paused and resumed by the council.
    w.tx(&["treasury", "fund", "1000", "--asset", "credit", "--as", "admin"]);
    let stream = w.tx(&[
        "gov",
        "propose",
        "--as",
        "admin",
        "--title",
        "reward admin",
        "create-stream",
        "s1",
        "--asset",
        "credit",
        "--per-epoch",
        "10",
        "--budget",
        "100",
        "--recipient",
        "admin=1",
    ]);
    // Two members now: one yes of two is not more than half; beta votes too.
    w.tx(&["gov", "vote", &stream, "yes", "--as", "admin"]);
    w.tx(&["gov", "vote", &stream, "yes", "--as", "beta-admin"]);
    w.wait_phase(&stream, "executed");
    w.wait_for(&["stake", "show", "admin"], "rewards to accrue", |v| {
        v["owed"].as_array().is_some_and(|o| !o.is_empty())
    });
    w.tx(&["council", "pause", "s1", "--as", "admin"]);
    assert_eq!(w.json(&["rewards", "list"])["streams"][0]["paused"], true);
    w.fails(&["rewards", "claim", "s1", "--as", "admin"], "stream_paused");
    w.tx(&["council", "resume", "s1", "--as", "admin"]);
    let claimed = w.json(&["rewards", "claim", "s1", "--as", "admin"]);
    assert_eq!(claimed["receipt"]["events"][0]["type"], "rewards_claimed");
    let listed = w.json(&["gov", "list"]);
    assert_eq!(listed["count"], 4);
    assert_eq!(listed["proposals"][0]["proposal"]["id"], stream, "newest first");
}
