//! Consensus records in the state: the validator set, and the equivocation evidence
//! list.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `ReportEquivocation` | any account: the evidence carries the validator's own signatures |
//!
//! Evidence is verified in full when it executes (both Ed25519 signatures over this
//! chain's consensus votes, by a validator of the current set) and recorded once per
//! validator and round; each record gets the next sequence number of the list, so the
//! whole list can be read (and proven against a state root) in order.

pub mod keys;

use borsh::{BorshDeserialize, BorshSerialize};
use verity_types::{AccountId, Equivocation, Event, Hash, Offence, OrgId, ValidatorSet};

use crate::error::StateError;
use crate::identity::Account;
use crate::view::{read, Layer, StateRead};

/// A recorded equivocation, stored under [`keys::evidence`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct EvidenceRecord {
    pub sequence: u64,
    pub offence: Offence,
    /// The validator's organisation when the evidence was recorded.
    pub org: OrgId,
    pub evidence: Equivocation,
    pub reported_by: AccountId,
    pub height: u64,
    pub tx_hash: Hash,
}

/// The current validator set.
pub fn validator_set(state: &dyn StateRead) -> Option<ValidatorSet> {
    read(state, keys::VALIDATORS)
}

pub(crate) fn put_validator_set(layer: &mut Layer<'_>, set: &ValidatorSet) {
    layer.put(keys::VALIDATORS.to_vec(), set);
}

/// How many evidence records exist (their sequence numbers are `0..count`).
pub fn evidence_count(state: &dyn StateRead) -> u64 {
    read(state, keys::EVIDENCE_COUNT).unwrap_or(0)
}

/// The evidence record with this sequence number.
pub fn evidence(state: &dyn StateRead, sequence: u64) -> Option<EvidenceRecord> {
    read(state, &keys::evidence(sequence))
}

/// The sequence number of the evidence recorded against `validator` in this round.
pub fn evidence_in_round(
    state: &dyn StateRead,
    validator: &verity_types::PublicKey,
    epoch: u64,
    view: u64,
) -> Option<u64> {
    read(state, &keys::evidence_round(validator, epoch, view))
}

/// Where a block's transaction is executing.
pub(crate) struct Site<'a> {
    pub chain_id: &'a str,
    pub height: u64,
    pub tx_hash: Hash,
}

pub(crate) fn report_equivocation(
    layer: &mut Layer<'_>,
    site: &Site<'_>,
    sender: &Account,
    evidence: &Equivocation,
) -> Result<Vec<Event>, StateError> {
    let set = validator_set(layer).ok_or_else(|| StateError::NotAValidator(evidence.validator.to_hex()))?;
    let validator = set
        .validators
        .iter()
        .find(|v| v.public_key == evidence.validator)
        .ok_or_else(|| StateError::NotAValidator(evidence.validator.to_hex()))?;
    let offence = evidence.verify(site.chain_id).map_err(|e| StateError::InvalidEvidence(e.to_string()))?;
    let (epoch, view) = evidence.round();
    if let Some(seq) = evidence_in_round(layer, &evidence.validator, epoch, view) {
        return Err(StateError::AlreadyExists {
            what: "evidence",
            id: format!("{} in epoch {epoch} view {view} (record {seq})", evidence.validator.to_hex()),
        });
    }
    let sequence = evidence_count(layer);
    let record = EvidenceRecord {
        sequence,
        offence,
        org: validator.org.clone(),
        evidence: evidence.clone(),
        reported_by: sender.id.clone(),
        height: site.height,
        tx_hash: site.tx_hash,
    };
    layer.put(keys::evidence(sequence), &record);
    layer.put(keys::evidence_round(&evidence.validator, epoch, view), &sequence);
    layer.put(keys::EVIDENCE_COUNT.to_vec(), &(sequence + 1));
    Ok(vec![Event::EquivocationRecorded {
        validator: evidence.validator,
        org: validator.org.clone(),
        epoch,
        view,
        offence,
        sequence,
        reported_by: sender.id.clone(),
    }])
}

#[cfg(test)]
mod tests;
