//! Building audit bundles and release audits from the store, all read at one committed
//! height so that every proof in a bundle is against the same checkpoint.

use std::collections::BTreeSet;

pub use verity_api::provenance::Release;
use verity_state::provenance::{self as prov, keys};
use verity_state::StateRead;
use verity_store::{Store, StoreError};
use verity_types::audit::{
    AuditBundle, BundleRecord, BundleTx, AUDIT_BUNDLE_FORMAT, AUDIT_DOWNSTREAM_PER_KIND_MAX, AUDIT_RECORDS_MAX,
};
use verity_types::{Checkpoint, EnvId, Hash, RecordRef};

/// Committed state as of one height.
pub struct StoreAt<'a> {
    pub store: &'a Store,
    pub height: u64,
}

impl StateRead for StoreAt<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        // As for the latest-state view: a failing store is fatal, never a silent `None`.
        self.store.get_state_at(key, self.height).expect("reading committed state from the store failed")
    }
}

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("no block has been committed yet")]
    NoCheckpoint,
    #[error("the lineage of {0} holds more than {AUDIT_RECORDS_MAX} records")]
    TooLarge(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Builds the audit bundle of `subject` at the latest committed height.
pub fn build_bundle(store: &Store, chain_id: &str, subject: &RecordRef) -> Result<AuditBundle, AuditError> {
    let height = store.height();
    if height == 0 {
        return Err(AuditError::NoCheckpoint);
    }
    let (header, certificate) = store.header(height)?.ok_or(AuditError::NoCheckpoint)?;
    let view = StoreAt { store, height };
    if prov::record_bytes(&view, subject).is_none() {
        return Err(AuditError::NotFound(subject.to_string()));
    }
    // The subject, the newest of its direct downstream records of each kind (every one
    // unless a list is longer than AUDIT_DOWNSTREAM_PER_KIND_MAX, as a model version's
    // decisions are), and everything upstream of all of them.
    let mut lists = Vec::new();
    let mut direct = Vec::new();
    for &kind in subject.record_kind().downstream() {
        let count = prov::edge_count(&view, subject, kind);
        let first = count - count.min(AUDIT_DOWNSTREAM_PER_KIND_MAX as u64);
        direct.extend(prov::downstream(&view, subject, kind, first, AUDIT_DOWNSTREAM_PER_KIND_MAX));
        lists.push((kind, first..count));
    }
    let mut set = BTreeSet::new();
    let mut stack: Vec<RecordRef> = std::iter::once(subject.clone()).chain(direct.iter().cloned()).collect();
    while let Some(r) = stack.pop() {
        if set.insert(r.clone()) {
            if set.len() > AUDIT_RECORDS_MAX {
                return Err(AuditError::TooLarge(subject.to_string()));
            }
            stack.extend(prov::upstream(&view, &r));
        }
    }
    let mut records = Vec::with_capacity(set.len());
    let mut txs = Vec::with_capacity(set.len());
    let mut index = Vec::new();
    let mut tx_seen = BTreeSet::new();
    let mut block_heights = BTreeSet::new();
    for r in &set {
        let proof = store.state_proof(&keys::record(r), height)?;
        let record = prov::record(&view, r).expect("every record in the closure exists");
        records.push(BundleRecord { record: r.clone(), proof });
        let tx_hash = record.tx();
        if tx_seen.insert(tx_hash) {
            let (tx, receipt) = store.tx(&tx_hash)?.expect("a record's creating transaction is in the log");
            let proof = store.inclusion_proof(receipt.log_index, header.log_size)?;
            let receipt_proof = store.receipt_proof(receipt.height, receipt.index)?;
            block_heights.insert(receipt.height);
            txs.push(BundleTx { tx, proof, receipt: Some(receipt), receipt_proof });
        }
        // Flags reach only dataset versions, runs and model versions; other records carry
        // no flag proofs (the verifier knows the same rule).
        if r.record_kind().flaggable() {
            index.push(store.state_proof(&keys::flag_count(r), height)?);
            for i in 0..prov::flag_count(&view, r) {
                index.push(store.state_proof(&keys::flag(r, i), height)?);
            }
        }
    }
    for (kind, listed) in lists {
        index.push(store.state_proof(&keys::edge_count(subject, kind), height)?);
        for i in listed {
            index.push(store.state_proof(&keys::edge(subject, kind, i), height)?);
        }
    }
    let (transitions, unchanged) = crate::api_consensus::epoch_boundaries(store, header.height + 1)?;
    let blocks = bundle_blocks(store, &block_heights, height)?;
    Ok(AuditBundle {
        format: AUDIT_BUNDLE_FORMAT.to_string(),
        chain_id: chain_id.to_string(),
        subject: subject.clone(),
        checkpoint: Checkpoint { header, certificate },
        records,
        index,
        txs,
        transitions,
        unchanged,
        blocks,
    })
}

/// The headers and certificates of the blocks at `heights` (at most `top`), each with the
/// blocks up to the descendant whose certificate makes it final when it has none of its
/// own, ascending by height and each block once.
fn bundle_blocks(store: &Store, heights: &BTreeSet<u64>, top: u64) -> Result<Vec<Checkpoint>, AuditError> {
    let mut wanted = BTreeSet::new();
    for &h in heights {
        let mut at = h;
        loop {
            if !wanted.insert(at) {
                break;
            }
            let (_, certificate) = store.header(at)?.ok_or(AuditError::NoCheckpoint)?;
            match certificate.finalized_by {
                Some(by) if by > at && at < top => at += 1,
                _ => break,
            }
        }
    }
    let mut out = Vec::with_capacity(wanted.len());
    for h in wanted {
        let (header, certificate) = store.header(h)?.ok_or(AuditError::NoCheckpoint)?;
        out.push(Checkpoint { header, certificate });
    }
    Ok(out)
}

/// The deployments at positions `positions` of the deployment log (deploys and
/// rollbacks, oldest first) that went to `env` (all environments when `None`), with the
/// kinds of the attestations each passed the gate with. Positions past the log's end
/// are ignored, so the work is bounded by the range's length, whatever `env` is.
pub fn releases(state: &dyn StateRead, env: Option<&EnvId>, positions: std::ops::Range<u64>) -> Vec<Release> {
    let n = prov::deployment_count(state);
    let mut out = Vec::new();
    for i in positions.start.min(n)..positions.end.min(n) {
        let id: Hash = prov::deployment_at(state, i).expect("every deployment below the count is indexed");
        let d = prov::deployment(state, &id).expect("indexed deployments are stored");
        if env.is_some_and(|e| *e != d.environment) {
            continue;
        }
        let attestation_kinds = d
            .attestations
            .iter()
            .map(|a| prov::attestation(state, a).map(|a| a.kind.to_string()).unwrap_or_default())
            .collect();
        let current = prov::current_deployment(state, &d.model, &d.environment) == Some(d.id);
        let at_risk = prov::deployment_risk(state, &d);
        out.push(Release { deployment: d, attestation_kinds, current, at_risk });
    }
    out
}
