//! `verity bench ingest`: end-to-end durable ingest through the real pipeline, with the
//! raw Ed25519 batch-verification rate measured in the same run as the baseline; and the
//! load drivers and signed set-ups the other benchmarks share (`Driver`, `drive`,
//! `bench_accounts`, `sign_transfers`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use verity_client::http::TxState;
use verity_client::keystore::Keystore;
use verity_node::datadir;
use verity_node::mempool::{AdmitError, TxOutcome};
use verity_node::{NodeCore, NodeOptions};
use verity_types::keys::SecretKey;
use verity_types::{
    AccountId, Action, AssetId, CreateAccount, OrgId, Role, SignedTransaction, Transaction, Transfer, TxStatus,
};

use crate::{max_rss_mib, percentile, rows, Rows};

#[derive(Args, Clone)]
pub struct IngestArgs {
    /// Drive the load through the HTTP API (a real server on loopback) instead of in-process.
    #[arg(long)]
    pub http: bool,
    /// Transfers in the peak-throughput phase.
    #[arg(long, default_value_t = 200_000)]
    pub txs: usize,
    /// Sending accounts.
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// Transactions per submission (and per HTTP batch).
    #[arg(long, default_value_t = 1_024)]
    pub batch: usize,
    /// Submissions in flight at once.
    #[arg(long, default_value_t = 24)]
    pub concurrency: usize,
    /// Seconds of the half-load latency phase.
    #[arg(long, default_value_t = 4.0)]
    pub latency_seconds: f64,
    /// Transfers per second in the latency phase, instead of half of the measured peak
    /// (to compare builds at the same load on a machine whose peak varies).
    #[arg(long)]
    pub latency_rate: Option<f64>,
}

/// The benchmark's report (`--json` prints exactly this object).
#[derive(Serialize, Debug)]
pub struct IngestReport {
    pub mode: &'static str,
    /// Committed transfers per second at peak (durable, end to end).
    pub tx_per_s: f64,
    /// Submit-to-commit latency percentiles at half of the peak rate.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The same percentiles during the peak phase.
    pub peak_p50_ms: f64,
    pub peak_p99_ms: f64,
    /// Raw Ed25519 batch verification rate on all cores, chunks of 1,024, same run.
    pub verify_per_s: f64,
    /// tx_per_s / verify_per_s.
    pub ratio: f64,
    /// The ledger's own rule (ZIP-215, `verity_types::keys::verify_each`) on the same
    /// signatures, chunks and cores: what admission pays per signature.
    pub rule_verify_per_s: f64,
    pub half_load_tx_per_s: f64,
    pub txs: usize,
    pub accounts: usize,
    pub blocks: u64,
    pub cores: usize,
    pub failed: usize,
    /// Peak resident memory of the whole benchmark process (node + load driver), MiB.
    pub max_rss_mib: f64,
}

impl IngestReport {
    /// The report as a table.
    pub fn rows(&self) -> Rows {
        rows([
            ("mode", self.mode.to_string()),
            ("committed tx/s (peak)", format!("{:.0}", self.tx_per_s)),
            ("raw batch verify/s (baseline)", format!("{:.0}", self.verify_per_s)),
            ("ratio", format!("{:.3}", self.ratio)),
            ("ledger rule (ZIP-215) batch verify/s", format!("{:.0}", self.rule_verify_per_s)),
            ("half-load rate tx/s", format!("{:.0}", self.half_load_tx_per_s)),
            ("p50 / p99 ms at half load", format!("{:.1} / {:.1}", self.p50_ms, self.p99_ms)),
            ("p50 / p99 ms at peak", format!("{:.1} / {:.1}", self.peak_p50_ms, self.peak_p99_ms)),
            ("transactions / accounts / blocks", format!("{} / {} / {}", self.txs, self.accounts, self.blocks)),
            ("cores", self.cores.to_string()),
            ("peak RSS MiB", format!("{:.0}", self.max_rss_mib)),
        ])
    }

    /// Fails when a transfer did not commit successfully (after the report is printed).
    pub fn check(&self) -> Result<()> {
        if self.failed > 0 {
            bail!("{} transfers did not commit successfully", self.failed);
        }
        Ok(())
    }
}

/// The yardstick: raw Ed25519 batch verification by ed25519-dalek (a peer library, not
/// the ledger's own verifier): pre-encoded messages, pre-decoded keys and signatures,
/// chunks of 1,024, all cores.
pub fn verify_rate(txs: &[SignedTransaction]) -> f64 {
    let msgs: Vec<Vec<u8>> = txs.iter().map(|t| t.tx.signing_bytes()).collect();
    let sigs: Vec<ed25519_dalek::Signature> =
        txs.iter().map(|t| ed25519_dalek::Signature::from_bytes(&t.signature.0)).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> =
        txs.iter().map(|t| t.public_key.to_dalek().expect("benchmark keys are valid")).collect();
    let started = Instant::now();
    let ok = msgs.par_chunks(1024).zip(sigs.par_chunks(1024)).zip(keys.par_chunks(1024)).all(|((m, s), k)| {
        let refs: Vec<&[u8]> = m.iter().map(|x| x.as_slice()).collect();
        ed25519_dalek::verify_batch(&refs, s, k).is_ok()
    });
    assert!(ok, "benchmark signatures are valid by construction");
    txs.len() as f64 / started.elapsed().as_secs_f64()
}

/// The ledger's verification rule on the same inputs as [`verify_rate`]: ZIP-215 batches
/// (`verity_types::keys::verify_each`), chunks of 1,024, all cores.
pub fn rule_verify_rate(txs: &[SignedTransaction]) -> f64 {
    let msgs: Vec<Vec<u8>> = txs.iter().map(|t| t.tx.signing_bytes()).collect();
    let sigs: Vec<_> = txs.iter().map(|t| t.signature).collect();
    let keys: Vec<_> = txs.iter().map(|t| t.public_key).collect();
    let started = Instant::now();
    let ok = msgs.par_chunks(1024).zip(sigs.par_chunks(1024)).zip(keys.par_chunks(1024)).all(|((m, s), k)| {
        let refs: Vec<&[u8]> = m.iter().map(|x| x.as_slice()).collect();
        verity_types::keys::verify_each(&refs, s, k).is_ok()
    });
    assert!(ok, "benchmark signatures are valid by construction");
    txs.len() as f64 / started.elapsed().as_secs_f64()
}

/// Submits transactions and reports, per transaction, whether it committed successfully
/// and its submit-to-commit latency in seconds.
#[derive(Clone)]
pub(crate) enum Driver {
    Embedded(Arc<NodeCore>),
    Http(verity_client::Client),
}

impl Driver {
    pub(crate) async fn submit(&self, txs: Vec<SignedTransaction>) -> Result<Vec<(bool, f64)>> {
        let started = Instant::now();
        match self {
            Driver::Embedded(core) => {
                let mut pending: Vec<SignedTransaction> = txs;
                let mut out = Vec::with_capacity(pending.len());
                loop {
                    let c = core.clone();
                    let batch = pending.clone();
                    let results = tokio::task::spawn_blocking(move || c.submit(batch, true)).await?;
                    let mut retry = Vec::new();
                    let mut receivers = Vec::new();
                    for (tx, (_, r)) in pending.into_iter().zip(results) {
                        match r {
                            Ok(Some(rx)) => receivers.push(rx),
                            Err(AdmitError::Full(_)) => retry.push(tx),
                            Err(e) => bail!("admission refused a benchmark transaction: {e}"),
                            Ok(None) => bail!("no outcome receiver"),
                        }
                    }
                    for rx in receivers {
                        let ok = matches!(rx.await, Ok(TxOutcome::Committed(r)) if r.status == TxStatus::Success);
                        out.push((ok, started.elapsed().as_secs_f64()));
                    }
                    if retry.is_empty() {
                        return Ok(out);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    pending = retry;
                }
            }
            Driver::Http(client) => {
                // Items refused with mempool_full are resubmitted after a pause, as a
                // client honouring Retry-After would.
                // The binary batch form: each transaction's canonical bytes, borsh-listed.
                let mut pending: Vec<Vec<u8>> = txs.iter().map(|t| t.to_bytes()).collect();
                let mut out = Vec::with_capacity(pending.len());
                loop {
                    let r = client.submit_batch_binary(verity_types::encoding::encode(&pending), true).await?;
                    let t = started.elapsed().as_secs_f64();
                    let mut retry = Vec::new();
                    for (item, enc) in r.results.iter().zip(pending) {
                        if item.error.as_ref().is_some_and(|e| e.code == "mempool_full") {
                            retry.push(enc);
                        } else {
                            out.push((item.status == TxState::Committed && item.success == Some(true), t));
                        }
                    }
                    if retry.is_empty() {
                        return Ok(out);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    pending = retry;
                }
            }
        }
    }
}

/// `count` sending accounts named `PREFIX-I` (keys derived from I and `tag`), and the
/// transactions with which `admin` creates them as members of `org` and funds each with
/// 1,000,000 `credit` (the admin's nonces from 0).
pub(crate) fn bench_accounts(
    chain: &str,
    prefix: &str,
    tag: u8,
    count: usize,
    org: &OrgId,
    admin: &(AccountId, SecretKey),
) -> (Vec<(AccountId, SecretKey)>, Vec<SignedTransaction>) {
    let keys: Vec<(AccountId, SecretKey)> = (0..count)
        .into_par_iter()
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            seed[8] = 0xbe;
            seed[9] = tag;
            (AccountId::new(format!("{prefix}-{i}")).expect("valid id"), SecretKey::from_seed(seed))
        })
        .collect();
    let credit = AssetId::new("credit").expect("valid id");
    let mut setup = Vec::with_capacity(2 * count);
    for (i, (id, key)) in keys.iter().enumerate() {
        let create = Action::CreateAccount(CreateAccount {
            account: id.clone(),
            public_key: key.public_key(),
            org: org.clone(),
            roles: vec![Role::Member],
        });
        let fund = Action::Transfer(Transfer {
            to: id.clone(),
            asset: credit.clone(),
            amount: 1_000_000,
            memo: String::new(),
        });
        for (j, action) in [create, fund].into_iter().enumerate() {
            setup.push(
                Transaction { chain_id: chain.to_string(), sender: admin.0.clone(), nonce: (2 * i + j) as u64, action }
                    .sign(&admin.1),
            );
        }
    }
    (keys, setup)
}

/// Signs `rounds` transfers per account: account i sends 1 credit to account i+1, round
/// by round, so consecutive transactions come from different senders.
pub(crate) fn sign_transfers(
    chain: &str,
    keys: &[(AccountId, SecretKey)],
    first_nonce: u64,
    rounds: u64,
) -> Vec<SignedTransaction> {
    let asset = AssetId::new("credit").expect("valid id");
    let n = keys.len();
    (0..rounds as usize * n)
        .into_par_iter()
        .map(|i| {
            let round = (i / n) as u64;
            let (sender, key) = &keys[i % n];
            let to = keys[(i + 1) % n].0.clone();
            Transaction {
                chain_id: chain.to_string(),
                sender: sender.clone(),
                nonce: first_nonce + round,
                action: Action::Transfer(Transfer { to, asset: asset.clone(), amount: 1, memo: String::new() }),
            }
            .sign(key)
        })
        .collect()
}

pub(crate) async fn drive(
    driver: &Driver,
    txs: Vec<SignedTransaction>,
    batch: usize,
    concurrency: usize,
) -> Result<(f64, Vec<f64>, usize)> {
    let chunks: Arc<Vec<Vec<SignedTransaction>>> = Arc::new(txs.chunks(batch).map(|c| c.to_vec()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (chunks, next, driver) = (chunks.clone(), next.clone(), driver.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = chunks.get(i) else { break };
                for (ok, l) in driver.submit(c.clone()).await? {
                    if !ok {
                        failed += 1;
                    }
                    lat.push(l);
                }
            }
            anyhow::Ok((lat, failed))
        }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await??;
        lat.extend(l);
        failed += f;
    }
    Ok((started.elapsed().as_secs_f64(), lat, failed))
}

async fn paced(driver: &Driver, txs: Vec<SignedTransaction>, rate: f64) -> Result<(f64, Vec<f64>, usize)> {
    const TICK: Duration = Duration::from_millis(10);
    let per_tick = ((rate * TICK.as_secs_f64()).round() as usize).max(1);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    let mut tasks = Vec::new();
    for chunk in txs.chunks(per_tick) {
        ticker.tick().await;
        let (d, c) = (driver.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move { d.submit(c).await }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        for (ok, l) in t.await?? {
            failed += usize::from(!ok);
            lat.push(l);
        }
    }
    Ok((started.elapsed().as_secs_f64(), lat, failed))
}

/// Runs the benchmark on a fresh single-organisation network in a temporary directory.
pub fn ingest(a: &IngestArgs) -> Result<IngestReport> {
    if a.accounts < 2 || a.txs < a.accounts {
        bail!("need at least 2 accounts and at least one transfer per account");
    }
    if a.latency_rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--latency-rate must be a positive number of transfers per second");
    }
    let dir = tempfile::Builder::new().prefix("verity-bench").tempdir()?;
    datadir::init(dir.path(), "verity-bench", "bench", "admin", 0)?;
    let core = NodeCore::open(dir.path(), NodeOptions::default())?;
    let ks = Keystore::open(&datadir::keystore_path(dir.path()))?;
    let admin = ks.find("admin")?;
    let chain = core.chain_id().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = rt.block_on(async {
        let driver = if a.http {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = verity_node::api::router(core.clone());
            tokio::spawn(async move { axum_serve(listener, app).await });
            Driver::Http(verity_client::Client::new(&format!("http://{addr}")))
        } else {
            Driver::Embedded(core.clone())
        };
        // Set-up: accounts created and funded by the admin, through the same pipeline.
        let (keys, setup) = bench_accounts(&chain, "bench", 0, a.accounts, &OrgId::new("bench")?, &admin);
        // All from the admin: at most its mempool quota in flight at once.
        let (_, _, failed) =
            drive(&Driver::Embedded(core.clone()), setup, verity_node::mempool::SENDER_PENDING_MAX, 1).await?;
        if failed > 0 {
            bail!("{failed} set-up transactions failed");
        }
        let rounds = (a.txs / a.accounts).max(1) as u64;
        let peak_txs = sign_transfers(&chain, &keys, 0, rounds);
        let verify_per_s = verify_rate(&peak_txs[..peak_txs.len().min(65_536)]);
        let rule_verify_per_s = rule_verify_rate(&peak_txs[..peak_txs.len().min(65_536)]);
        let blocks_before = core.store.height();
        let (secs, mut peak_lat, failed_peak) = drive(&driver, peak_txs, a.batch, a.concurrency).await?;
        let n_peak = peak_lat.len();
        let tx_per_s = n_peak as f64 / secs;
        let blocks = core.store.height() - blocks_before;
        // Half-load latency phase, in steady state: the hash index's backlog from the peak
        // phase (written by a background thread) is flushed first.
        {
            let store = core.store.clone();
            tokio::task::spawn_blocking(move || store.flush_index()).await??;
        }
        let half = a.latency_rate.unwrap_or(tx_per_s / 2.0);
        let lat_rounds = ((half * a.latency_seconds) / a.accounts as f64).ceil().max(1.0) as u64;
        let lat_txs = sign_transfers(&chain, &keys, rounds, lat_rounds);
        let (lsecs, mut lat, failed_lat) = paced(&driver, lat_txs, half).await?;
        let half_rate = lat.len() as f64 / lsecs;
        peak_lat.sort_by(f64::total_cmp);
        lat.sort_by(f64::total_cmp);
        Ok(IngestReport {
            mode: if a.http { "http" } else { "embedded" },
            tx_per_s,
            p50_ms: percentile(&lat, 0.50) * 1e3,
            p99_ms: percentile(&lat, 0.99) * 1e3,
            peak_p50_ms: percentile(&peak_lat, 0.50) * 1e3,
            peak_p99_ms: percentile(&peak_lat, 0.99) * 1e3,
            verify_per_s,
            ratio: tx_per_s / verify_per_s,
            rule_verify_per_s,
            half_load_tx_per_s: half_rate,
            txs: n_peak,
            accounts: a.accounts,
            blocks,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            failed: failed_peak + failed_lat,
            max_rss_mib: max_rss_mib(),
        })
    });
    core.shutdown();
    result.context("ingest benchmark")
}

pub(crate) async fn axum_serve(listener: tokio::net::TcpListener, app: verity_node::api::ApiRouter) {
    if let Err(e) = verity_node::api::serve(listener, app).await {
        eprintln!("bench server stopped: {e}");
    }
}
