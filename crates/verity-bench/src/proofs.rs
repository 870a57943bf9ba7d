//! `verity bench proofs`: inclusion-proof latency in a large transaction log.
//!
//! The log is grown through the store's real `prepare`/`commit` path, block by block.
//! The store does not check signatures (the node does, before execution), so the
//! filler transactions carry a zero signature; that keeps building a 10-million-entry
//! log to minutes instead of signing 10 million transactions.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use verity_store::Store;
use verity_types::keys::SecretKey;
use verity_types::{
    merkle, AccountId, Action, AssetId, Block, BlockHeader, Burn, Certificate, Genesis, GenesisAccount, GenesisOrg,
    Hash, OrgId, Receipt, Signature, SignedTransaction, Transaction, TxStatus, Validator, ValidatorSignature,
};

use crate::{max_rss_mib, percentile, rows, Rows};

#[derive(Args, Clone)]
pub struct ProofsArgs {
    /// Entries in the transaction log.
    #[arg(long, default_value_t = 10_000_000)]
    pub log_size: u64,
    /// Entries per committed block while growing the log.
    #[arg(long, default_value_t = 10_000)]
    pub block_txs: usize,
    /// Proofs to time.
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    /// Directory for the store (default: a temp dir, removed afterwards).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Serialize, Debug)]
pub struct ProofsReport {
    pub log_size: u64,
    pub build_seconds: f64,
    pub proof_p50_us: f64,
    pub proof_p99_us: f64,
    pub verify_p50_us: f64,
    /// Baseline in the same run: fetching one transaction by hash (an indexed point read).
    pub read_p50_us: f64,
    pub read_p99_us: f64,
    /// proof_p99_us / read_p99_us.
    pub ratio: f64,
    pub path_len: usize,
    /// Peak resident memory of the process while building and proving, MiB.
    pub max_rss_mib: f64,
}

impl ProofsReport {
    /// The report as a table.
    pub fn rows(&self) -> Rows {
        rows([
            ("log size", self.log_size.to_string()),
            ("build seconds", format!("{:.1}", self.build_seconds)),
            ("inclusion proof p50 / p99 us", format!("{:.1} / {:.1}", self.proof_p50_us, self.proof_p99_us)),
            ("verify p50 us", format!("{:.1}", self.verify_p50_us)),
            ("baseline: tx point read p50 / p99 us", format!("{:.1} / {:.1}", self.read_p50_us, self.read_p99_us)),
            ("ratio proof/read (p99)", format!("{:.2}", self.ratio)),
            ("proof hashes", self.path_len.to_string()),
            ("peak RSS MiB", format!("{:.0}", self.max_rss_mib)),
        ])
    }
}

/// A small deterministic generator (splitmix64) for sample indices.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Grows a log of `a.log_size` entries (in `a.dir`, or a temporary directory) and times
/// `a.samples` inclusion proofs in it.
pub fn proofs(a: &ProofsArgs) -> Result<ProofsReport> {
    let tmp = tempfile::Builder::new().prefix("verity-bench-proofs").tempdir()?;
    let dir = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&dir).context("opening the store")?;
    let validator = SecretKey::from_seed([7; 32]);
    let org = OrgId::new("bench")?;
    let genesis = Genesis {
        chain_id: "verity-bench".into(),
        genesis_time_ms: 0,
        orgs: vec![GenesisOrg {
            id: org.clone(),
            name: "bench".into(),
            admins: vec![GenesisAccount { id: AccountId::new("filler")?, public_key: validator.public_key() }],
        }],
        validators: vec![Validator { org, public_key: validator.public_key(), power: 1 }],
        assets: vec![],
        balances: vec![],
        epoch_length: 0,
        governance: None,
    };
    let vset_hash = genesis.validator_set().hash();
    if store.genesis()?.is_none() {
        store.init_genesis(&genesis, &verity_state::genesis_state(&genesis)?)?;
    }
    let sender = AccountId::new("filler")?;
    let asset = AssetId::new("credit")?;
    let started = Instant::now();
    while store.log_size() < a.log_size {
        let first = store.log_size();
        let n = (a.log_size - first).min(a.block_txs as u64);
        let height = store.height() + 1;
        let txs: Vec<SignedTransaction> = (first..first + n)
            .into_par_iter()
            .map(|nonce| SignedTransaction {
                tx: Transaction {
                    chain_id: "verity-bench".into(),
                    sender: sender.clone(),
                    nonce,
                    action: Action::Burn(Burn { asset: asset.clone(), amount: 1 }),
                },
                public_key: validator.public_key(),
                signature: Signature([0; 64]),
            })
            .collect();
        let hashes: Vec<Hash> = txs.par_iter().map(|t| t.hash()).collect();
        let receipts: Vec<Receipt> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| Receipt {
                tx_hash: *h,
                height,
                index: i as u32,
                log_index: first + i as u64,
                status: TxStatus::Success,
                error: None,
                events: vec![],
            })
            .collect();
        let prepared = store.prepare(Default::default(), &hashes)?;
        let parent = match store.last_header()? {
            Some(h) => h.hash(),
            None => genesis.hash(),
        };
        let leaves: Vec<Hash> = hashes.iter().map(|h| merkle::leaf_hash(h.as_bytes())).collect();
        let header = BlockHeader {
            chain_id: "verity-bench".into(),
            height,
            parent,
            timestamp_ms: height,
            proposer: 0,
            tx_count: n as u32,
            txs_root: merkle::root(&leaves),
            log_size: prepared.log_size,
            log_root: prepared.log_root,
            state_root: prepared.state_root,
            validator_set_hash: vset_hash,
            receipts_root: None,
        };
        let certificate = Certificate::embedded(vec![ValidatorSignature {
            validator: 0,
            signature: validator.sign(&header.signing_bytes()),
        }]);
        store.commit(prepared, &Block { header, txs }, &certificate, &receipts)?;
    }
    // Reads below go to the hash index on disk, not to the blocks it has not written yet.
    store.flush_index()?;
    let build_seconds = started.elapsed().as_secs_f64();
    let size = store.log_size();
    let root = store.log_root();
    let mut rng = 0x5eed_u64;
    let mut proof_us = Vec::with_capacity(a.samples);
    let mut verify_us = Vec::with_capacity(a.samples);
    let mut read_us = Vec::with_capacity(a.samples);
    let mut path_len = 0;
    for _ in 0..a.samples {
        let index = next(&mut rng) % size;
        let t = Instant::now();
        let proof = store.inclusion_proof(index, size)?;
        proof_us.push(t.elapsed().as_secs_f64() * 1e6);
        path_len = proof.path.len();
        // The leaf: the hash of the filler transaction with nonce = index.
        let tx = SignedTransaction {
            tx: Transaction {
                chain_id: "verity-bench".into(),
                sender: sender.clone(),
                nonce: index,
                action: Action::Burn(Burn { asset: asset.clone(), amount: 1 }),
            },
            public_key: validator.public_key(),
            signature: Signature([0; 64]),
        };
        let leaf_data = tx.hash();
        let t = Instant::now();
        proof.verify(&merkle::leaf_hash(leaf_data.as_bytes()), &root).context("proof must verify")?;
        verify_us.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let found = store.tx(&leaf_data)?;
        read_us.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(found.is_some(), "transaction {index} must be stored");
    }
    for v in [&mut proof_us, &mut verify_us, &mut read_us] {
        v.sort_by(f64::total_cmp);
    }
    let r = ProofsReport {
        log_size: size,
        build_seconds,
        proof_p50_us: percentile(&proof_us, 0.5),
        proof_p99_us: percentile(&proof_us, 0.99),
        verify_p50_us: percentile(&verify_us, 0.5),
        read_p50_us: percentile(&read_us, 0.5),
        read_p99_us: percentile(&read_us, 0.99),
        ratio: percentile(&proof_us, 0.99) / percentile(&read_us, 0.99),
        path_len,
        max_rss_mib: max_rss_mib(),
    };
    Ok(r)
}
