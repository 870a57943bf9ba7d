//! Re-executes the block log from genesis and checks every root.

use std::path::Path;
use std::sync::Arc;

use verity_store::Store;
use verity_types::{Hash, SignedTransaction};

use crate::{BlockProducer, ConsensusError};

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Blocks re-executed.
    pub blocks: u64,
    /// Transactions re-executed.
    pub txs: u64,
    /// Heights whose recomputed state root, log root, receipts or certificate differ
    /// from the stored block (empty when everything matches).
    pub mismatches: Vec<(u64, String)>,
    /// State root after the last block.
    pub final_state_root: Hash,
}

impl ReplayReport {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Replays every block of the store in `source` into a fresh store in `scratch`
/// (which must be empty), verifying certificates, signatures, state roots, log roots
/// and receipts against what was stored. Reads the source only.
///
/// Embedded and BFT ledgers alike: each block's certificate is checked against the
/// validator set in force for it (the replayed state before it, which follows the
/// set's changes at epoch boundaries), and the header must name that set. A block
/// final through a descendant's certificate (`Certificate::finalized_by`) is accepted
/// once a block at or above that height verifies with its own certificate (blocks link
/// by parent hash, so that block's finality is the earlier one's); one whose descendant
/// lies beyond the stored chain (a node stopped before it committed it) is not counted
/// as a mismatch.
pub fn replay(source: &Store, scratch: &Path) -> Result<ReplayReport, ConsensusError> {
    let genesis = source.genesis()?.ok_or(ConsensusError::NoGenesis)?;
    let fresh = Arc::new(Store::open(scratch)?);
    let genesis_state =
        verity_state::genesis_state(&genesis).map_err(|e| ConsensusError::InvalidBlock(format!("genesis: {e}")))?;
    fresh.init_genesis(&genesis, &genesis_state)?;
    let mut report = ReplayReport { blocks: 0, txs: 0, mismatches: Vec::new(), final_state_root: fresh.state_root() };
    if fresh.state_root_at(0)? != source.state_root_at(0)? {
        report.mismatches.push((0, "genesis state root differs".into()));
    }
    let end = source.height();
    // Heights final through a descendant's certificate, and the height named.
    let mut awaiting: Vec<(u64, u64)> = Vec::new();
    let mut last_version = verity_types::HeaderVersion::V1;
    for height in 1..=end {
        let (block, certificate) =
            source.block(height)?.ok_or_else(|| ConsensusError::InvalidBlock(format!("block {height} is missing")))?;
        let stored_receipts = source.receipts(height)?;
        let header = block.header.clone();
        let validators = verity_state::validator_set(&crate::StoreView(&fresh))
            .ok_or_else(|| ConsensusError::InvalidBlock(format!("no validator set in force at block {height}")))?;
        match certificate.finalized_by {
            Some(by) if by > height => awaiting.push((height, by)),
            Some(by) => {
                report.mismatches.push((height, format!("certificate: final through block {by}, not a descendant")))
            }
            None => match validators.verify_certificate(&header, &certificate) {
                Ok(()) => awaiting.retain(|&(_, by)| by > height),
                Err(e) => report.mismatches.push((height, format!("certificate: {e}"))),
            },
        }
        if let Some(bad) = first_bad_signature(&block.txs) {
            report.mismatches.push((height, format!("transaction {bad} has a bad signature")));
        }
        // Version 1 blocks (written before receipts were authenticated) replay as such,
        // but never after a version 2 block.
        if header.version() < last_version {
            report.mismatches.push((height, "a version 1 header after a version 2 one".into()));
            break;
        }
        last_version = header.version();
        let producer = BlockProducer::new(fresh.clone(), header.proposer)?
            .with_validator_set(validators)
            .with_header_version(header.version());
        let proposal = producer.propose(block.txs.clone(), header.timestamp_ms)?;
        let got = &proposal.block.header;
        for (what, a, b) in [
            ("state root", got.state_root, header.state_root),
            ("log root", got.log_root, header.log_root),
            ("txs root", got.txs_root, header.txs_root),
            ("parent", got.parent, header.parent),
        ] {
            if a != b {
                report.mismatches.push((height, format!("{what}: recomputed {a}, stored {b}")));
            }
        }
        if got.receipts_root != header.receipts_root {
            report
                .mismatches
                .push((height, "receipts root: the stored header does not commit to these receipts".into()));
        }
        if proposal.receipts != stored_receipts {
            report.mismatches.push((height, "receipts differ".into()));
        }
        if got != &header {
            // Roots match but another field differs; continue with the stored header so
            // later heights are still checked against the stored chain.
            if report.mismatches.last().map(|m| m.0) != Some(height) {
                report.mismatches.push((height, "header differs".into()));
            }
        }
        let mut proposal = proposal;
        proposal.block.header = header;
        if !report.mismatches.iter().any(|m| m.0 == height) {
            fresh.commit(proposal.prepared, &proposal.block, &certificate, &proposal.receipts)?;
        } else {
            // Diverged: the scratch store cannot continue on the stored chain.
            break;
        }
        report.blocks += 1;
        report.txs += block.txs.len() as u64;
        report.final_state_root = fresh.state_root();
    }
    for (height, by) in awaiting {
        if by <= end && report.blocks == end {
            report.mismatches.push((height, format!("final through block {by}, whose own certificate never verified")));
        }
    }
    debug_assert!(report.blocks <= end);
    Ok(report)
}

fn first_bad_signature(txs: &[SignedTransaction]) -> Option<Hash> {
    use rayon::prelude::*;
    txs.par_iter().find_first(|t| t.verify_signature().is_err()).map(|t| t.hash())
}
