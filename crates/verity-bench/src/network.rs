//! `verity bench network`: a local network of real validator processes on loopback
//! (`verity testnet` + `verity node --config`), load through every validator's HTTP API,
//! finalised throughput and submit-to-finality latency.
//!
//! Each organisation's admin creates and funds its share of the sending accounts; in the
//! peak phase every validator receives the transfers of its organisation's accounts
//! (batches of `--batch`, `--concurrency` in flight per validator, each batch waiting
//! until all its transactions are final on that validator), and forwards them to the
//! others. A transaction's latency is its batch's: from submission until the validator
//! answers that every transaction of the batch is final (committed with a quorum
//! certificate). A light-load phase then sends single transactions one at a time.
//! Baselines in the same run: raw Ed25519 batch verification on all cores, and the
//! ledger's own rule (ZIP-215 batches), whose rate over the number of validators is the
//! most this machine could finalise if checking signatures were all the validators did.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use verity_client::keystore::Keystore;
use verity_node::datadir;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, OrgId};

use crate::ingest::{bench_accounts, drive, rule_verify_rate, sign_transfers, verify_rate, Driver};
use crate::testnet::{self, CreateArgs};
use crate::{percentile, rows, Rows};

#[derive(Args, Clone)]
pub struct NetworkArgs {
    /// Validator processes (one organisation each).
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Transfers in the peak phase (all validators together).
    #[arg(long, default_value_t = 100_000)]
    pub txs: usize,
    /// Sending accounts (all organisations together).
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// Transactions per HTTP batch.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Batches in flight per validator.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Single transactions timed one by one in the light-load phase.
    #[arg(long, default_value_t = 100)]
    pub light: usize,
    /// Most transactions per block.
    #[arg(long, default_value_t = 8_192)]
    pub max_block_txs: usize,
    /// Validator I listens on BASE_PORT+I (HTTP) and BASE_PORT+100+I (p2p).
    #[arg(long, default_value_t = 7900)]
    pub base_port: u16,
}

/// The benchmark's report (`--json` prints exactly this object).
#[derive(Serialize, Debug)]
pub struct NetworkReport {
    pub validators: usize,
    /// Finalised transfers per second in the peak phase.
    pub tx_per_s: f64,
    /// Submit-to-finality latency in the peak phase.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Submit-to-finality latency of single transactions sent one at a time.
    pub light_p50_ms: f64,
    pub light_p99_ms: f64,
    /// Finalised blocks per second in the peak phase, and their mean size.
    pub blocks_per_s: f64,
    pub txs_per_block: f64,
    pub txs: usize,
    pub accounts: usize,
    pub failed: usize,
    /// Raw Ed25519 batch verification rate on all cores, chunks of 1,024, same run.
    pub verify_per_s: f64,
    /// tx_per_s / verify_per_s.
    pub ratio: f64,
    /// The ledger's own signature rule (ZIP-215 batches) on all cores, same inputs.
    pub rule_verify_per_s: f64,
    /// What the validators could finalise if checking signatures were all they did:
    /// every validator checks every transaction's signature once, and all of them share
    /// this machine's cores, so rule_verify_per_s / validators.
    pub ceiling_tx_per_s: f64,
    pub cores: usize,
}

impl NetworkReport {
    /// The report as a table.
    pub fn rows(&self) -> Rows {
        rows([
            ("validators (processes)", self.validators.to_string()),
            ("finalised tx/s", format!("{:.0}", self.tx_per_s)),
            ("submit-to-finality p50 / p99 ms", format!("{:.1} / {:.1}", self.p50_ms, self.p99_ms)),
            ("light load p50 / p99 ms", format!("{:.1} / {:.1}", self.light_p50_ms, self.light_p99_ms)),
            ("blocks/s (tx per block)", format!("{:.1} ({:.0})", self.blocks_per_s, self.txs_per_block)),
            ("transfers / accounts / failed", format!("{} / {} / {}", self.txs, self.accounts, self.failed)),
            ("baseline Ed25519 verify/s (all cores)", format!("{:.0}", self.verify_per_s)),
            ("tx/s ÷ verify/s", format!("{:.3}", self.ratio)),
            ("ledger rule (ZIP-215) verify/s", format!("{:.0}", self.rule_verify_per_s)),
            (
                "signature ceiling tx/s (rule ÷ validators)",
                format!("{:.0} ({:.0}% reached)", self.ceiling_tx_per_s, 100.0 * self.tx_per_s / self.ceiling_tx_per_s),
            ),
            ("cores", self.cores.to_string()),
        ])
    }
}

async fn height(url: &str) -> Result<u64> {
    Ok(verity_client::Client::new(url).health().await?.height)
}

/// Creates a network of `a.validators` in a temporary directory, starts each validator as
/// a child process of this executable (the `verity` binary), measures, and stops them.
pub fn network(a: &NetworkArgs) -> Result<NetworkReport> {
    let n = a.validators;
    if n == 0 || a.accounts < 2 * n || a.txs < a.accounts {
        bail!("need validators > 0, at least 2 accounts per validator and one transfer per account");
    }
    let dir = tempfile::Builder::new().prefix("verity-bench-net").tempdir()?;
    let create = CreateArgs {
        validators: n,
        dir: dir.path().to_path_buf(),
        base_port: a.base_port,
        chain_id: "verity-bench-net".into(),
        max_block_txs: Some(a.max_block_txs),
        epoch_length: 1000,
        constitution: None,
    };
    let created = testnet::create(&create, verity_node::now_ms())?;
    let mut children = Vec::new();
    for (i, c) in created.configs.iter().enumerate() {
        children.push(testnet::spawn_node(c, &dir.path().join(format!("node{i}.log")))?);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = rt.block_on(run(a, &created, dir.path()));
    testnet::stop_all(&mut children, Duration::from_secs(20));
    result
}

async fn run(a: &NetworkArgs, created: &testnet::Created, dir: &std::path::Path) -> Result<NetworkReport> {
    let n = a.validators;
    let chain = created.genesis.chain_id.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    for u in &created.http {
        while height(u).await.is_err() {
            if Instant::now() > deadline {
                bail!("validator {u} did not start; see {}/node*.log", dir.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let drivers: Vec<Driver> = created.http.iter().map(|u| Driver::Http(verity_client::Client::new(u))).collect();
    let per_org = a.accounts / n;
    // Set-up: each organisation's admin creates and funds its accounts, via its validator.
    let mut groups: Vec<Vec<(AccountId, SecretKey)>> = Vec::new();
    let mut setups = Vec::new();
    for i in 0..n {
        let ks = Keystore::open(&datadir::keystore_path(&dir.join(format!("node{i}"))))?;
        let admin = ks.find(&format!("admin{i}"))?;
        let org = OrgId::new(format!("org{i}"))?;
        let (keys, setup) = bench_accounts(&chain, &format!("bench-{i}"), i as u8 + 1, per_org, &org, &admin);
        groups.push(keys);
        setups.push(setup);
    }
    let mut tasks = Vec::new();
    for (d, s) in drivers.iter().cloned().zip(setups) {
        tasks.push(tokio::spawn(async move { drive(&d, s, verity_node::mempool::SENDER_PENDING_MAX, 1).await }));
    }
    for t in tasks {
        let (_, _, failed) = t.await??;
        if failed > 0 {
            bail!("{failed} set-up transactions failed");
        }
    }

    // Peak: every validator gets its organisation's transfers.
    let rounds = (a.txs / (per_org * n)).max(1) as u64;
    let loads: Vec<_> = groups.iter().map(|g| sign_transfers(&chain, g, 0, rounds)).collect();
    let sample = &loads[0][..loads[0].len().min(65_536)];
    let (verify_per_s, rule_verify_per_s) = (verify_rate(sample), rule_verify_rate(sample));
    let total: usize = loads.iter().map(Vec::len).sum();
    let h0 = height(&created.http[0]).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (d, l) in drivers.iter().cloned().zip(loads) {
        let (batch, conc) = (a.batch, a.concurrency);
        tasks.push(tokio::spawn(async move { drive(&d, l, batch, conc).await }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (_, l, f) = t.await??;
        lat.extend(l);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let blocks = height(&created.http[0]).await?.saturating_sub(h0);
    lat.sort_by(f64::total_cmp);

    // Light load: one transaction at a time, round robin over the validators.
    let light_txs = sign_transfers(&chain, &groups[0], rounds, (a.light as u64).div_ceil(per_org as u64));
    let mut light = Vec::new();
    for (k, tx) in light_txs.into_iter().take(a.light).enumerate() {
        let d = &drivers[k % n];
        for (ok, l) in d.submit(vec![tx]).await? {
            failed += usize::from(!ok);
            light.push(l);
        }
    }
    light.sort_by(f64::total_cmp);
    let tx_per_s = total as f64 / secs;
    Ok(NetworkReport {
        validators: n,
        tx_per_s,
        p50_ms: percentile(&lat, 0.50) * 1e3,
        p99_ms: percentile(&lat, 0.99) * 1e3,
        light_p50_ms: percentile(&light, 0.50) * 1e3,
        light_p99_ms: percentile(&light, 0.99) * 1e3,
        blocks_per_s: blocks as f64 / secs,
        txs_per_block: if blocks > 0 { total as f64 / blocks as f64 } else { 0.0 },
        txs: total,
        accounts: per_org * n,
        failed,
        verify_per_s,
        ratio: tx_per_s / verify_per_s,
        rule_verify_per_s,
        ceiling_tx_per_s: rule_verify_per_s / n as f64,
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
    })
}
