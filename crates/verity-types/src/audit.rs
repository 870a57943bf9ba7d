//! Audit bundles: one self-contained file with a record's lineage, the proofs that the
//! ledger holds exactly those records at a checkpoint, the transactions that created them
//! with their log inclusion proofs, and the checkpoint signed by the validator set.
//!
//! The file is the pretty-printed JSON of [`AuditBundle`], and only that exact text is
//! accepted, so any altered byte either changes an authenticated value (and a proof or
//! signature fails) or breaks the canonical form. verity-client verifies a bundle offline
//! against a trusted validator set.

use serde::{Deserialize, Serialize};

use crate::block::Checkpoint;
use crate::proof::{InclusionProof, StateProof};
use crate::provenance::RecordRef;
use crate::tx::SignedTransaction;

/// The format identifier of version 1 bundles.
pub const AUDIT_BUNDLE_FORMAT: &str = "verity-audit-bundle/v1";
/// Most records in one bundle.
pub const AUDIT_RECORDS_MAX: usize = 2_000;

/// A record with the proof of its value at the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRecord {
    pub record: RecordRef,
    pub proof: StateProof,
}

/// A transaction with its position in the log and the proof of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleTx {
    pub tx: SignedTransaction,
    pub proof: InclusionProof,
}

/// An audit bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBundle {
    pub format: String,
    pub chain_id: String,
    /// The record the bundle is about (a model version or a decision, typically).
    pub subject: RecordRef,
    pub checkpoint: Checkpoint,
    /// The subject and everything upstream of it, plus the subject's direct downstream
    /// records (attestations, deployments, decisions, corrections) and what they name.
    pub records: Vec<BundleRecord>,
    /// Proofs of the subject's downstream list (`prov/edges/...`, `prov/edge/...`) and of
    /// every record's flag count (`prov/flags/...`, present or proven absent) and flags.
    pub index: Vec<StateProof>,
    /// The transactions that created the records.
    pub txs: Vec<BundleTx>,
}

impl AuditBundle {
    /// The canonical file bytes.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a bundle always serialises");
        out.push(b'\n');
        out
    }
}
