//! Consensus records in the state: the validator set, and the equivocation evidence
//! list.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `ReportEquivocation` | any account: the evidence carries the validator's own signatures |
//! | `ChangeValidators` | any account: the change carries the approvals of org admins |
//!
//! Evidence is verified in full when it executes (both Ed25519 signatures over this
//! chain's consensus votes, by a validator of the current set) and recorded once per
//! validator and round; each record gets the next sequence number of the list, so the
//! whole list can be read (and proven against a state root) in order.
//!
//! Validator-set changes (on chains whose genesis sets an epoch length) are scheduled
//! by `ChangeValidators` during epoch `e − 1` for the start of epoch `e`, once admins of
//! more than two thirds of the organisations have signed them, and applied when the
//! boundary block (the last of epoch `e − 1`) executes: from then on
//! [`keys::VALIDATORS`] is the new set, and [`keys::epoch_set`]`(e)` records it for
//! light clients, which prove it against the boundary block's state root.

mod error;
pub use error::ConsensusError;
pub use verity_types::{EvidenceRecord, ScheduledChange};

pub mod keys;

use verity_types::validators::{boundary_height, epoch_of};
use verity_types::{
    ChangeValidators, EquivocationRecorded, Event, Genesis, OrgId, ReportEquivocation, Role, ValidatorChangeScheduled,
    ValidatorSet,
};

use crate::error::StateError;
use crate::exec::Ctx;
use crate::governance;
use crate::identity::{self};
use crate::view::{read, Layer, StateRead};

/// The current validator set.
pub fn validator_set(state: &dyn StateRead) -> Option<ValidatorSet> {
    read(state, keys::VALIDATORS)
}

/// The consensus records of the genesis state: the validator set (in force from epoch
/// 0), the epoch length and the organisations that approve changes.
pub(crate) fn put_genesis(layer: &mut Layer<'_>, genesis: &Genesis) {
    let set = genesis.validator_set();
    layer.put(keys::VALIDATORS.to_vec(), &set);
    if genesis.epoch_length > 0 {
        layer.put(keys::EPOCH_LENGTH.to_vec(), &genesis.epoch_length);
        layer.put(keys::epoch_set(0), &set);
        layer.put(keys::SET_EPOCHS.to_vec(), &vec![0u64]);
        let orgs: Vec<OrgId> = genesis.orgs.iter().map(|o| o.id.clone()).collect();
        layer.put(keys::ORGS.to_vec(), &orgs);
    }
}

/// Blocks per epoch (0: no epochs, the set is fixed).
pub fn epoch_length(state: &dyn StateRead) -> u64 {
    read(state, keys::EPOCH_LENGTH).unwrap_or(0)
}

/// The epochs in which the validator set took effect, ascending (`[0, ...]`; empty when
/// epochs are off).
pub fn set_epochs(state: &dyn StateRead) -> Vec<u64> {
    read(state, keys::SET_EPOCHS).unwrap_or_default()
}

/// The validator set in force during `epoch`, as far as this state knows (a state of
/// epoch `e` knows every epoch up to `e`, and `e + 1` once its boundary block executed).
pub fn validator_set_at(state: &dyn StateRead, epoch: u64) -> Option<ValidatorSet> {
    let from = set_epochs(state).into_iter().rev().find(|&e| e <= epoch);
    match from {
        Some(e) => read(state, &keys::epoch_set(e)),
        None => validator_set(state),
    }
}

/// The change scheduled for the start of `epoch`.
pub fn scheduled_change(state: &dyn StateRead, epoch: u64) -> Option<ScheduledChange> {
    read(state, &keys::pending(epoch))
}

pub(crate) fn change_validators(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ChangeValidators,
) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let ChangeValidators { change, approvals } = action;
    let bad = |m: String| StateError::Consensus(ConsensusError::InvalidValidatorChange(m));
    check_change(layer, ctx.height, change)?;
    let orgs: Vec<OrgId> = read(layer, keys::ORGS).unwrap_or_default();
    let message = change.signing_bytes(ctx.chain_id);
    let mut approving: Vec<OrgId> = Vec::new();
    for a in approvals {
        let admin =
            identity::account(layer, &a.account).ok_or_else(|| StateError::UnknownAccount(a.account.clone()))?;
        identity::require_role(&admin, Role::OrgAdmin, "approve_validator_change")?;
        admin
            .public_key
            .verify(&message, &a.signature)
            .map_err(|_| bad(format!("the approval of {} does not verify", a.account)))?;
        if orgs.contains(&admin.org) && !approving.contains(&admin.org) {
            approving.push(admin.org.clone());
        }
    }
    approving.sort();
    if approving.len() * 3 <= orgs.len() * 2 {
        return Err(StateError::Consensus(ConsensusError::InsufficientApprovals {
            have: approving.len(),
            total: orgs.len(),
        }));
    }
    let event = schedule_change(
        layer,
        ctx.height,
        Submitted { by: &sender.id, tx_hash: ctx.tx_hash, approvals },
        change,
        approving,
    )?;
    Ok(vec![event])
}

/// Whether `change` can be scheduled at `height`: epochs are on, it takes effect in the
/// next epoch, nothing is scheduled for that epoch yet, it applies to the current set
/// and names only existing organisations.
fn check_change(layer: &Layer<'_>, height: u64, change: &verity_types::ValidatorChange) -> Result<(), StateError> {
    let bad = |m: String| StateError::Consensus(ConsensusError::InvalidValidatorChange(m));
    let length = epoch_length(layer);
    if length == 0 {
        return Err(bad("this chain has no epochs: its validator set is fixed at genesis".into()));
    }
    let current = epoch_of(height, length);
    if change.epoch != current + 1 {
        return Err(bad(format!(
            "a change executed in epoch {current} can only take effect in epoch {}, not {}",
            current + 1,
            change.epoch
        )));
    }
    if scheduled_change(layer, change.epoch).is_some() {
        return Err(StateError::AlreadyExists { what: "validator change for epoch", id: change.epoch.to_string() });
    }
    let set = validator_set(layer).ok_or_else(|| bad("no validator set in the state".into()))?;
    let next = change.apply(&set).map_err(|e| bad(e.to_string()))?;
    for v in &next.validators {
        if identity::org(layer, &v.org).is_none() {
            return Err(StateError::UnknownOrg(v.org.clone()));
        }
    }
    Ok(())
}

/// Who scheduled a change: the submitter of `ChangeValidators` with its approvals, or a
/// governance proposal (its proposer and id, no signed approvals: its votes are on the
/// proposal's record).
pub(crate) struct Submitted<'a> {
    pub by: &'a verity_types::AccountId,
    pub tx_hash: verity_types::Hash,
    pub approvals: &'a [verity_types::Approval],
}

/// Schedules an approved change for the start of `change.epoch`, which must be the
/// next epoch, checking that it applies to the current set and names only existing
/// organisations. Shared by `ChangeValidators` and the governance proposal of that kind.
pub(crate) fn schedule_change(
    layer: &mut Layer<'_>,
    height: u64,
    submitted: Submitted<'_>,
    change: &verity_types::ValidatorChange,
    approving: Vec<OrgId>,
) -> Result<Event, StateError> {
    check_change(layer, height, change)?;
    let record = ScheduledChange {
        change: change.clone(),
        approvals: submitted.approvals.to_vec(),
        approving_orgs: approving.clone(),
        submitted_by: submitted.by.clone(),
        height,
        tx_hash: submitted.tx_hash,
    };
    layer.put(keys::pending(change.epoch), &record);
    Ok(Event::ValidatorChangeScheduled(ValidatorChangeScheduled {
        epoch: change.epoch,
        ops: change.ops.clone(),
        approving_orgs: approving,
        by: submitted.by.clone(),
    }))
}

/// An organisation admitted by governance approves validator changes from now on (on
/// chains with epochs).
pub(crate) fn admit_org(layer: &mut Layer<'_>, org: &OrgId) {
    if epoch_length(layer) == 0 {
        return;
    }
    let mut orgs: Vec<OrgId> = read(layer, keys::ORGS).unwrap_or_default();
    if !orgs.contains(org) {
        orgs.push(org.clone());
        layer.put(keys::ORGS.to_vec(), &orgs);
    }
}

/// An organisation removed by governance no longer approves validator changes.
pub(crate) fn remove_org(layer: &mut Layer<'_>, org: &OrgId) {
    if epoch_length(layer) == 0 {
        return;
    }
    let mut orgs: Vec<OrgId> = read(layer, keys::ORGS).unwrap_or_default();
    orgs.retain(|o| o != org);
    layer.put(keys::ORGS.to_vec(), &orgs);
}

/// Runs after a block's transactions: at an epoch's boundary block, the change
/// scheduled for the next epoch takes effect.
pub(crate) fn end_block(layer: &mut Layer<'_>, height: u64) {
    let length = epoch_length(layer);
    let next = epoch_of(height, length) + 1;
    if boundary_height(next - 1, length) != Some(height) {
        return;
    }
    let Some(scheduled) = scheduled_change(layer, next) else {
        return;
    };
    let Some(set) = validator_set(layer) else {
        return;
    };
    // The set only changes here, so a change checked when it was scheduled still applies.
    let Ok(new) = scheduled.change.apply(&set) else {
        return;
    };
    let mut epochs = set_epochs(layer);
    epochs.push(next);
    layer.put(keys::VALIDATORS.to_vec(), &new);
    layer.put(keys::epoch_set(next), &new);
    layer.put(keys::SET_EPOCHS.to_vec(), &epochs);
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

pub(crate) fn report_equivocation(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ReportEquivocation,
) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let evidence = &action.evidence;
    // The votes are judged against the set of their own epoch: a validator removed (or
    // rotated out) since it equivocated still answers for it. Votes of an epoch that
    // has not begun are no offence on record yet.
    let (vote_epoch, _) = evidence.round();
    if vote_epoch > epoch_of(ctx.height, epoch_length(layer)) {
        return Err(StateError::Consensus(ConsensusError::InvalidEvidence(format!(
            "the votes are of epoch {vote_epoch}, which has not begun"
        ))));
    }
    let set = validator_set_at(layer, vote_epoch)
        .ok_or_else(|| StateError::Consensus(ConsensusError::NotAValidator(evidence.validator.to_hex())))?;
    let validator = set
        .validators
        .iter()
        .find(|v| v.public_key == evidence.validator)
        .ok_or_else(|| StateError::Consensus(ConsensusError::NotAValidator(evidence.validator.to_hex())))?;
    let offence = evidence
        .verify(ctx.chain_id)
        .map_err(|e| StateError::Consensus(ConsensusError::InvalidEvidence(e.to_string())))?;
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
        height: ctx.height,
        tx_hash: ctx.tx_hash,
    };
    layer.put(keys::evidence(sequence), &record);
    layer.put(keys::evidence_round(&evidence.validator, epoch, view), &sequence);
    layer.put(keys::EVIDENCE_COUNT.to_vec(), &(sequence + 1));
    let mut events = vec![Event::EquivocationRecorded(EquivocationRecorded {
        validator: evidence.validator,
        org: validator.org.clone(),
        epoch,
        view,
        offence,
        sequence,
        reported_by: sender.id.clone(),
    })];
    // On a chain with governance, the evidence slashes the stake on the validator's key;
    // the reporter gets its share.
    if governance::constitution(layer).is_some() {
        let share = governance::param(layer, "equivocation_slash_ppm");
        let reporter = governance::param(layer, "equivocation_reporter_ppm");
        events.extend(governance::stake::slash(
            layer,
            &verity_types::StakeScope::Validator { key: evidence.validator },
            share,
            Some(&sender.id),
            reporter,
            &format!("equivocation:{sequence}"),
        )?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests;
