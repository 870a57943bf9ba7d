//! State keys of the consensus module.

use verity_types::PublicKey;

/// The current [`verity_types::ValidatorSet`].
pub const VALIDATORS: &[u8] = b"consensus/validators";
/// Blocks per epoch (`u64`; absent or 0: the validator set is fixed at genesis).
pub const EPOCH_LENGTH: &[u8] = b"consensus/epoch_length";
/// The organisations whose admins approve validator-set changes (`Vec<OrgId>`).
pub const ORGS: &[u8] = b"consensus/orgs";
/// The epochs in which the validator set changed, ascending, starting with 0 (`Vec<u64>`).
pub const SET_EPOCHS: &[u8] = b"consensus/set_epochs";
/// Prefix of the validator set in force from an epoch on (written for epoch 0 and for
/// each epoch where a change took effect).
pub const EPOCH_SET_PREFIX: &[u8] = b"consensus/epochs/";
/// Prefix of scheduled changes, by the epoch they take effect in.
pub const PENDING_PREFIX: &[u8] = b"consensus/pending/";
/// How many evidence records exist (`u64`).
pub const EVIDENCE_COUNT: &[u8] = b"consensus/evidence_count";
/// Prefix of evidence records by sequence number.
pub const EVIDENCE_PREFIX: &[u8] = b"consensus/evidence/";
/// Prefix of the (validator, round) index of evidence records.
pub const EVIDENCE_ROUND_PREFIX: &[u8] = b"consensus/evidence_round/";

/// Key of evidence record `sequence` (zero-padded, so keys sort by sequence).
pub fn evidence(sequence: u64) -> Vec<u8> {
    [EVIDENCE_PREFIX, format!("{sequence:020}").as_bytes()].concat()
}

/// Key of the sequence number of the evidence against `validator` in one round.
pub fn evidence_round(validator: &PublicKey, epoch: u64, view: u64) -> Vec<u8> {
    [EVIDENCE_ROUND_PREFIX, format!("{}/{epoch}/{view}", validator.to_hex()).as_bytes()].concat()
}

/// Key of the validator set that took effect at the start of `epoch`.
pub fn epoch_set(epoch: u64) -> Vec<u8> {
    verity_types::validators::epoch_set_key(epoch)
}

/// Key of the change scheduled for the start of `epoch`.
pub fn pending(epoch: u64) -> Vec<u8> {
    [PENDING_PREFIX, format!("{epoch:020}").as_bytes()].concat()
}
