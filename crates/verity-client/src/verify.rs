//! Offline verification of checkpoints and proofs. No network, no clock.

use verity_types::merkle;
use verity_types::proof::{ConsistencyProof, InclusionProof, StateProof};
use verity_types::{Checkpoint, Hash, SignedTransaction, ValidatorSet};

use crate::error::ClientError;

fn fail(msg: impl Into<String>) -> ClientError {
    ClientError::Verify(msg.into())
}

/// A checkpoint is trusted when its certificate carries signatures of more than two
/// thirds of `validators`' power over its header.
pub fn verify_checkpoint(validators: &ValidatorSet, cp: &Checkpoint) -> Result<(), ClientError> {
    cp.verify(validators).map_err(|e| fail(format!("checkpoint at height {}: {e}", cp.height())))
}

/// Checks that `tx` is in the transaction log committed by `cp` (the proof must be for
/// the checkpoint's log size). Verify the checkpoint itself first.
pub fn verify_tx_inclusion(cp: &Checkpoint, tx_hash: &Hash, proof: &InclusionProof) -> Result<(), ClientError> {
    if proof.tree_size != cp.header.log_size {
        return Err(fail(format!(
            "inclusion proof is for a log of {} entries, the checkpoint commits {}",
            proof.tree_size, cp.header.log_size
        )));
    }
    let leaf = merkle::leaf_hash(tx_hash.as_bytes());
    proof.verify(&leaf, &cp.header.log_root).map_err(|e| fail(format!("inclusion of {tx_hash}: {e}")))
}

/// Same as [`verify_tx_inclusion`], hashing the transaction itself.
pub fn verify_signed_tx_inclusion(
    cp: &Checkpoint,
    tx: &SignedTransaction,
    proof: &InclusionProof,
) -> Result<(), ClientError> {
    verify_tx_inclusion(cp, &tx.hash(), proof)
}

/// Checks a state membership or non-membership proof against the checkpoint's state root.
pub fn verify_state(cp: &Checkpoint, proof: &StateProof) -> Result<(), ClientError> {
    proof.verify(&cp.header.state_root).map_err(|e| fail(format!("state proof at height {}: {e}", cp.height())))
}

/// Checks that the log of `new` extends the log of `old` (append-only growth).
pub fn verify_consistency(old: &Checkpoint, new: &Checkpoint, proof: &ConsistencyProof) -> Result<(), ClientError> {
    if proof.old_size != old.header.log_size || proof.new_size != new.header.log_size {
        return Err(fail("consistency proof sizes do not match the checkpoints"));
    }
    proof
        .verify(&old.header.log_root, &new.header.log_root)
        .map_err(|e| fail(format!("consistency {} -> {}: {e}", proof.old_size, proof.new_size)))
}
