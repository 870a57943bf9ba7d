//! Equivocation evidence and the validator set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verity_types::{EvidenceRecord, ScheduledChange, SetTransition, SetUnchanged};

/// A page of the evidence list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceList {
    /// How many records the ledger holds in all (sequence numbers `0..count`).
    pub count: u64,
    /// The height the answer was read at.
    pub height: u64,
    /// Records, by sequence number: `sequence`, `offence`, `org`, `evidence` (the
    /// validator's key and both signed votes), `reported_by`, `height`, `tx_hash`.
    pub evidence: Vec<EvidenceRecord>,
    /// The `from` of the next page; absent on the last page.
    #[serde(default)]
    pub next: Option<u64>,
}

/// One validator of the current set.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorView {
    pub index: u32,
    pub org: String,
    pub public_key: String,
    pub power: u64,
    /// Evidence records against this validator on the ledger.
    pub equivocations: u64,
}

/// A page of the current validator set.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorsView {
    pub height: u64,
    /// Blocks per epoch (0: the set is fixed at genesis).
    pub epoch_length: u64,
    /// The epoch of the next block.
    pub epoch: u64,
    /// The change scheduled for the start of the next epoch, if any: `change` (`epoch`,
    /// `ops`), `approvals`, `approving_orgs`, `submitted_by`, `height`, `tx_hash`.
    pub scheduled: Option<ScheduledChange>,
    /// Hash of the set (what block headers name as `validator_set_hash`).
    pub validator_set_hash: String,
    /// Validators in the set.
    pub count: u64,
    /// The set's validators from `cursor` on, in set order, at most `limit`.
    pub validators: Vec<ValidatorView>,
    /// The `cursor` of the next page; absent on the last page.
    #[serde(default)]
    pub next: Option<u64>,
}

/// Every validator-set change since genesis, as light clients verify them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorChanges {
    /// Blocks per epoch (0: the set is fixed at genesis, and there are no changes).
    pub epoch_length: u64,
    /// Changes by epoch, ascending: `epoch`, `boundary` (the checkpoint of the last block
    /// before it, certified by the outgoing set), `validators` (the new set) and `proof`
    /// (of the state key `consensus/epochs/<epoch, 20 digits>` against the boundary's
    /// state root).
    pub transitions: Vec<SetTransition>,
    /// The epochs whose set did not change, ascending: `epoch`, `boundary` and `proof`
    /// (that the same state key is absent at the boundary). With `transitions`, one entry
    /// per epoch boundary, so a light client walks every one.
    #[serde(default)]
    pub unchanged: Vec<SetUnchanged>,
}
