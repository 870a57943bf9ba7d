//! Measures and demonstrates a Verity ledger: the benchmarks of `verity bench`
//! (`ingest`: durable ingest through the node's pipeline, [`ingest`]; `proofs`:
//! inclusion proofs in a large log, [`proofs`]; `trace`: lineage traces and audit
//! bundles at N records, [`trace`]; `network`: a network of validator processes,
//! [`network`]; `fingerprint`: model hashing against openssl, b3sum and model-signing,
//! [`fingerprint`]), the load generator of `verity load` ([`load`]), the provenance demo
//! of `verity demo` ([`demo`]) and the local multi-organisation networks of `verity
//! testnet` ([`testnet`]), each with its clap arguments, which the `verity` binary
//! mounts as its subcommands.
//!
//! They are a crate of their own so that the CLI composes the client, the node and the
//! AI toolkit without the ledger's internals: only these commands open a store, run the
//! block producer in-process or read state directly, so only this crate depends on
//! verity-state, verity-store and verity-consensus.
//!
//! A benchmark returns its report (`Serialize`, the object `--json` prints, with `rows`,
//! its rendering as a two-column table) and prints nothing on stdout: the front end
//! prints it, so a closed stdout is the front end's concern. Progress lines go to stderr
//! and are dropped if stderr cannot be written. The demo's narration is a stream of
//! lines the caller supplies a sink for ([`Say`]).
//!
//! The commands that start processes (`testnet`, `bench network`, `demo`) run the
//! executable they are in (`std::env::current_exe`) as `verity node --config ...` or
//! `verity --json ...`, so they work only inside the `verity` binary, whose allocator
//! settings (mimalloc keeping freed memory, transparent huge pages off) the in-process
//! benchmarks and the validator processes, which inherit them, then run with.
//!
//! Errors are `anyhow` errors, the exception to the workspace's typed errors per library
//! crate: these are the binary's commands moved into a library, every error ends up
//! printed to a person, and no caller branches on one.
//!
//! # Status
//! Tooling: the commands, their flags and the keys of their `--json` reports are stable
//! (scripts and BENCHMARKS.md rely on them); the Rust API serves the `verity` binary only.

// Progress lines in this crate go to stderr through this macro instead of std's, which
// panics when stderr cannot be written: a benchmark's diagnostics are dropped then,
// rather than ending the run.
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::progress(format_args!($($arg)*)) };
}

pub mod demo;
pub mod fingerprint;
pub mod ingest;
pub mod load;
pub mod network;
pub mod proofs;
pub mod testnet;
pub mod trace;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Durable ingest of signed transfers: tx/s, submit-to-commit latency, verify baseline.
    Ingest(ingest::IngestArgs),
    /// Inclusion-proof latency in a large transaction log (default 10 million entries).
    Proofs(proofs::ProofsArgs),
    /// Model fingerprint throughput vs openssl, b3sum and model-signing (default 2 GiB file).
    Fingerprint(fingerprint::BenchFingerprintArgs),
    /// Lineage-trace latency and audit-bundle verification time in a store of N linked provenance records.
    Trace(trace::TraceArgs),
    /// Finalised tx/s and submit-to-finality latency of N validator processes on loopback.
    Network(network::NetworkArgs),
}

/// A report rendered for people: (label, value) rows of a two-column table.
pub type Rows = Vec<(String, String)>;

/// Rows from labels known at compile time.
fn rows<const N: usize>(rows: [(&str, String); N]) -> Rows {
    rows.into_iter().map(|(label, value)| (label.to_string(), value)).collect()
}

/// Where the demo's narration goes, one line a call (the CLI writes it to stdout).
pub type Say = fn(std::fmt::Arguments<'_>);

/// Writes a progress line to stderr, ignoring failure (see the `eprintln!` above).
fn progress(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Peak resident set size of this process (VmHWM), in MiB; 0 where /proc is absent.
pub(crate) fn max_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use crate::ingest::IngestReport;
    use crate::load::{LoadReport, Rejections};
    use crate::network::NetworkReport;
    use crate::proofs::ProofsReport;

    /// `report` serialises to an object with exactly `keys`: the `--json` keys scripts and
    /// BENCHMARKS.md read, so a change here is a deliberate format change.
    fn check(report: impl Serialize, keys: &[&str]) {
        let value = serde_json::to_value(report).expect("a report serialises");
        let mut found: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
        let mut expected = keys.to_vec();
        found.sort_unstable();
        expected.sort_unstable();
        assert_eq!(found, expected);
    }

    #[test]
    fn report_keys_are_stable() {
        check(
            IngestReport {
                mode: "embedded",
                tx_per_s: 1.0,
                p50_ms: 1.0,
                p99_ms: 1.0,
                peak_p50_ms: 1.0,
                peak_p99_ms: 1.0,
                verify_per_s: 1.0,
                ratio: 1.0,
                rule_verify_per_s: 1.0,
                half_load_tx_per_s: 1.0,
                txs: 1,
                accounts: 1,
                blocks: 1,
                cores: 1,
                failed: 0,
                max_rss_mib: 1.0,
            },
            &[
                "mode",
                "tx_per_s",
                "p50_ms",
                "p99_ms",
                "peak_p50_ms",
                "peak_p99_ms",
                "verify_per_s",
                "ratio",
                "rule_verify_per_s",
                "half_load_tx_per_s",
                "txs",
                "accounts",
                "blocks",
                "cores",
                "failed",
                "max_rss_mib",
            ],
        );
        check(
            ProofsReport {
                log_size: 1,
                build_seconds: 1.0,
                proof_p50_us: 1.0,
                proof_p99_us: 1.0,
                verify_p50_us: 1.0,
                read_p50_us: 1.0,
                read_p99_us: 1.0,
                ratio: 1.0,
                path_len: 1,
                max_rss_mib: 1.0,
            },
            &[
                "log_size",
                "build_seconds",
                "proof_p50_us",
                "proof_p99_us",
                "verify_p50_us",
                "read_p50_us",
                "read_p99_us",
                "ratio",
                "path_len",
                "max_rss_mib",
            ],
        );
        check(
            NetworkReport {
                validators: 4,
                tx_per_s: 1.0,
                p50_ms: 1.0,
                p99_ms: 1.0,
                light_p50_ms: 1.0,
                light_p99_ms: 1.0,
                blocks_per_s: 1.0,
                txs_per_block: 1.0,
                txs: 1,
                accounts: 1,
                failed: 0,
                verify_per_s: 1.0,
                ratio: 1.0,
                rule_verify_per_s: 1.0,
                ceiling_tx_per_s: 1.0,
                cores: 1,
            },
            &[
                "validators",
                "tx_per_s",
                "p50_ms",
                "p99_ms",
                "light_p50_ms",
                "light_p99_ms",
                "blocks_per_s",
                "txs_per_block",
                "txs",
                "accounts",
                "failed",
                "verify_per_s",
                "ratio",
                "rule_verify_per_s",
                "ceiling_tx_per_s",
                "cores",
            ],
        );
        let rejected = BTreeMap::from([("nonce_used".to_string(), Rejections { count: 1, message: "m".into() })]);
        let load = LoadReport {
            sent: 2,
            committed: 1,
            rejected: 1,
            pending: 0,
            rejected_by_code: rejected,
            seconds: 1.0,
            tx_per_s: 1.0,
            error: None,
        };
        check(&load, &["sent", "committed", "rejected", "pending", "rejected_by_code", "seconds", "tx_per_s", "error"]);
        check(&load.rejected_by_code["nonce_used"], &["count", "message"]);
    }

    /// A load whose every transaction was rejected, or that stopped early, fails after
    /// its report; one that committed something does not.
    #[test]
    fn a_load_fails_only_when_nothing_committed_or_it_stopped() {
        let report = |committed, rejected, error: Option<&str>| LoadReport {
            sent: committed + rejected,
            committed,
            rejected,
            pending: 0,
            rejected_by_code: BTreeMap::new(),
            seconds: 1.0,
            tx_per_s: 0.0,
            error: error.map(str::to_string),
        };
        assert!(report(1, 1, None).check().is_ok());
        assert!(report(0, 0, None).check().is_ok());
        assert!(report(0, 2, None).check().is_err());
        assert!(report(1, 0, Some("connection refused")).check().is_err());
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        for (p, expected) in [(0.0, 1.0), (0.5, 3.0), (0.99, 5.0), (1.0, 5.0)] {
            assert_eq!(super::percentile(&sorted, p), expected, "p{p}");
        }
        assert_eq!(super::percentile(&[], 0.5), 0.0);
    }
}
