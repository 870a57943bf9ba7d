//! Audit bundles: one self-contained file with a record's lineage, the proofs that the
//! ledger holds exactly those records at a checkpoint, the transactions that created them
//! with their log inclusion proofs, and the checkpoint signed by the validator set.
//!
//! The file is the pretty-printed JSON of [`AuditBundle`], and only that exact text is
//! accepted, so any altered byte either changes an authenticated value (and a proof or
//! signature fails) or breaks the canonical form. verity-client verifies a bundle offline
//! against a trusted validator set.

use serde::{Deserialize, Serialize};

use crate::block::{Checkpoint, Receipt};
use crate::proof::{InclusionProof, StateProof};
use crate::provenance::RecordRef;
use crate::tx::SignedTransaction;

/// The format identifier of version 3 bundles, the ones produced: each transaction carries
/// its receipt with the proof under its block's receipts root, and `blocks` carries those
/// blocks' headers with their certificates. Version 2 (no receipts) is still verified;
/// version 1 (one mixed downstream list per record) is no longer produced or accepted.
pub const AUDIT_BUNDLE_FORMAT: &str = "verity-audit-bundle/v3";
/// The format identifier of version 2 bundles (verified, no longer produced).
pub const AUDIT_BUNDLE_FORMAT_V2: &str = "verity-audit-bundle/v2";
/// Most records in one bundle.
pub const AUDIT_RECORDS_MAX: usize = 2_000;
/// Most downstream records of one kind a bundle lists under its subject: the newest ones.
/// The list's length is always proven, so a model version with a hundred thousand
/// decisions has a bundle of bounded size that states how many it made.
pub const AUDIT_DOWNSTREAM_PER_KIND_MAX: usize = 200;

// The four downstream lists of a model version, at their longest, leave at least half of
// a bundle for the upstream lineage.
const _: () = assert!(4 * AUDIT_DOWNSTREAM_PER_KIND_MAX <= AUDIT_RECORDS_MAX / 2);

/// A record with the proof of its value at the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleRecord {
    pub record: RecordRef,
    pub proof: StateProof,
}

/// A transaction with its position in the log and the proof of it, and (version 3) its
/// receipt with the proof under the receipts root of its block's header (in `blocks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleTx {
    pub tx: SignedTransaction,
    pub proof: InclusionProof,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_proof: Option<InclusionProof>,
}

/// An audit bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditBundle {
    pub format: String,
    pub chain_id: String,
    /// The record the bundle is about (a model version or a decision, typically).
    pub subject: RecordRef,
    pub checkpoint: Checkpoint,
    /// The subject and everything upstream of it, plus the subject's direct downstream
    /// records (attestations, deployments, decisions, corrections; the newest
    /// [`AUDIT_DOWNSTREAM_PER_KIND_MAX`] of each kind) and what they name.
    pub records: Vec<BundleRecord>,
    /// Proofs of the subject's downstream lists, one per kind (`prov/edges/<ref>/<kind>`,
    /// present or proven absent, and the listed `prov/edge/...` entries), and of the flag
    /// count (`prov/flags/...`, present or proven absent) and flags of every record flags
    /// can reach (`RecordKind::flaggable`: dataset versions, runs, model versions).
    pub index: Vec<StateProof>,
    /// The transactions that created the records.
    pub txs: Vec<BundleTx>,
    /// The validator-set changes from genesis up to the checkpoint's epoch (none on a
    /// chain whose set never changed), so the checkpoint verifies from the genesis set
    /// alone (see `verity_client::verify::LightClient`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<crate::validators::SetTransition>,
    /// The epoch boundaries up to the checkpoint's epoch where the set did not change:
    /// with `transitions`, one per boundary, so the light client walks every epoch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<crate::validators::SetUnchanged>,
    /// Version 3: the headers of the blocks that hold the bundle's transactions, with
    /// their certificates, ascending by height. A block final through a descendant's
    /// certificate comes with the blocks up to that descendant, each trusted through its
    /// child's parent hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Checkpoint>,
}

impl AuditBundle {
    /// The canonical file bytes.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a bundle always serialises");
        out.push(b'\n');
        out
    }
}
