//! State keys of the consensus module.

use verity_types::PublicKey;

/// The current [`verity_types::ValidatorSet`].
pub const VALIDATORS: &[u8] = b"consensus/validators";
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
