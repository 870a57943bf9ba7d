//! `verity load`: sends signed transfers to a running node and appends the hash of each
//! transaction the node reported committed to a file, one hex hash per line, as soon as
//! it is reported. Used to check crash safety: every line must survive a `kill -9`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use tokio::sync::Mutex;
use verity_client::http::TxState;
use verity_client::keystore::Keystore;
use verity_client::Client;
use verity_types::{AccountId, Action, AssetId, SignedTransaction, Transaction, Transfer};

use crate::{rows, Rows};

#[derive(Args)]
pub struct LoadArgs {
    /// Transfers to send.
    #[arg(long)]
    pub count: usize,
    /// File to append acknowledged (committed) transaction hashes to.
    #[arg(long)]
    pub acks: PathBuf,
    /// Sending key (name or account in the keystore).
    #[arg(long = "as", default_value = "admin")]
    pub signer: String,
    /// Recipient account (default: the sender itself).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, default_value = "credit")]
    pub asset: String,
    /// Transactions per HTTP batch.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// What `verity load` did (`--json` prints this object). A load that stopped early or
/// whose every transaction was rejected is still reported; [`LoadReport::check`] then fails.
#[derive(Serialize, Debug)]
pub struct LoadReport {
    pub sent: usize,
    pub committed: usize,
    pub rejected: usize,
    /// Admitted but not committed when the node answered.
    pub pending: usize,
    /// Why transactions were rejected, by error code.
    pub rejected_by_code: BTreeMap<String, Rejections>,
    pub seconds: f64,
    pub tx_per_s: f64,
    /// The first failed submission, after which the load stopped.
    pub error: Option<String>,
}

/// The transactions rejected with one error code.
#[derive(Serialize, Debug)]
pub struct Rejections {
    pub count: usize,
    /// The node's message for the first of them.
    pub message: String,
}

impl LoadReport {
    /// The report as a table.
    pub fn rows(&self) -> Rows {
        let mut table = rows([
            ("committed", self.committed.to_string()),
            ("rejected", self.rejected.to_string()),
            ("pending", self.pending.to_string()),
            ("tx/s", format!("{:.0}", self.tx_per_s)),
        ]);
        for (code, r) in &self.rejected_by_code {
            table.push(("rejected because".into(), format!("{code} ({}): {}", r.count, r.message)));
        }
        table
    }

    /// Fails when the load stopped early or the node rejected every transaction (after
    /// the report is printed).
    pub fn check(&self) -> Result<()> {
        if let Some(e) = &self.error {
            anyhow::bail!("load stopped early: {e}");
        }
        if self.committed == 0 && self.rejected > 0 {
            let summary: Vec<String> =
                self.rejected_by_code.iter().map(|(code, r)| format!("{code} ({}): {}", r.count, r.message)).collect();
            anyhow::bail!("the node rejected every transaction: {}", summary.join("; "));
        }
        Ok(())
    }
}

/// Sends `a.count` transfers signed by the keystore's `a.signer` to the node at `node`.
pub fn run(node: &str, ks: &Keystore, a: &LoadArgs) -> Result<LoadReport> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(load(node, ks, a))
}

async fn load(node: &str, ks: &Keystore, a: &LoadArgs) -> Result<LoadReport> {
    let client = Client::new(node);
    let (sender, key) = ks.find(&a.signer)?;
    let chain = client.genesis().await?.chain_id;
    let first = client.account(sender.as_str()).await?.nonce;
    let to = match &a.to {
        Some(t) => AccountId::new(t.clone())?,
        None => sender.clone(),
    };
    let asset = AssetId::new(a.asset.clone())?;
    let txs: Vec<SignedTransaction> = (0..a.count as u64)
        .map(|i| {
            Transaction {
                chain_id: chain.clone(),
                sender: sender.clone(),
                nonce: first + i,
                action: Action::Transfer(Transfer {
                    to: to.clone(),
                    asset: asset.clone(),
                    amount: 1,
                    memo: String::new(),
                }),
            }
            .sign(&key)
        })
        .collect();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.acks)
        .with_context(|| format!("opening {}", a.acks.display()))?;
    let file = Arc::new(Mutex::new(file));
    let chunks: Vec<Vec<SignedTransaction>> = txs.chunks(a.batch.max(1)).map(|c| c.to_vec()).collect();
    let started = Instant::now();
    let (mut committed, mut rejected, mut pending) = (0usize, 0usize, 0usize);
    // Why transactions were rejected: per error code, how many and the first message.
    let mut reasons: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut first_error: Option<String> = None;
    for group in chunks.chunks(a.concurrency.max(1)) {
        let mut tasks = Vec::new();
        for c in group {
            let (client, c, file) = (client.clone(), c.clone(), file.clone());
            tasks.push(tokio::spawn(async move {
                let r = client.submit_batch(&c, true).await?;
                let mut counts = (0usize, 0usize, 0usize);
                let mut reasons: BTreeMap<String, (usize, String)> = BTreeMap::new();
                let mut lines = String::new();
                for item in &r.results {
                    match item.status {
                        TxState::Committed => {
                            counts.0 += 1;
                            if let Some(h) = &item.hash {
                                lines.push_str(h);
                                lines.push('\n');
                            }
                        }
                        TxState::Rejected => {
                            counts.1 += 1;
                            let (code, message) = match &item.error {
                                Some(e) => (e.code.clone(), e.message.clone()),
                                None => ("unknown".to_string(), "the node gave no reason".to_string()),
                            };
                            reasons.entry(code).or_insert((0, message)).0 += 1;
                        }
                        TxState::Pending => counts.2 += 1,
                    }
                }
                let mut f = file.lock().await;
                f.write_all(lines.as_bytes())?;
                f.flush()?;
                anyhow::Ok((counts, reasons))
            }));
        }
        for t in tasks {
            match t.await? {
                Ok(((c, r, p), why)) => {
                    committed += c;
                    rejected += r;
                    pending += p;
                    for (code, (n, message)) in why {
                        reasons.entry(code).or_insert((0, message)).0 += n;
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(format!("{e:#}"));
                }
            }
        }
        if first_error.is_some() {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rejected_by_code =
        reasons.into_iter().map(|(code, (count, message))| (code, Rejections { count, message })).collect();
    Ok(LoadReport {
        sent: a.count,
        committed,
        rejected,
        pending,
        rejected_by_code,
        seconds: secs,
        tx_per_s: committed as f64 / secs,
        error: first_error,
    })
}
