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

/// A block that is final only through a descendant's certificate is trusted through the
/// chain of parent hashes from a verified checkpoint: `chain` holds the headers from the
/// checkpoint's parent down to the wanted block, newest first. Returns the wanted (last)
/// header once every link matches. Verify the checkpoint itself first.
pub fn verify_ancestor<'a>(
    cp: &Checkpoint,
    chain: &'a [verity_types::BlockHeader],
) -> Result<&'a verity_types::BlockHeader, ClientError> {
    let mut expect = (cp.header.height, cp.header.parent);
    for h in chain {
        if h.chain_id != cp.header.chain_id {
            return Err(fail(format!("header {} is of chain {:?}", h.height, h.chain_id)));
        }
        if h.height + 1 != expect.0 || h.hash() != expect.1 {
            return Err(fail(format!(
                "header at height {} is not the parent of block {} (hash or height differs)",
                h.height, expect.0
            )));
        }
        expect = (h.height, h.parent);
    }
    chain.last().ok_or_else(|| fail("no header between the checkpoint and the wanted block"))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use verity_types::keys::SecretKey;
    use verity_types::proof::{state_proof, state_root};
    use verity_types::{sha256, BlockHeader, Certificate, OrgId, Validator, ValidatorSignature};

    use super::*;

    #[test]
    fn ancestors_are_trusted_through_parent_hashes_only() {
        let header = |height: u64, parent: Hash| BlockHeader {
            chain_id: "c".into(),
            height,
            parent,
            timestamp_ms: height,
            proposer: 0,
            tx_count: 0,
            txs_root: Hash::ZERO,
            log_size: height,
            log_root: Hash::ZERO,
            state_root: sha256(&height.to_le_bytes()),
            validator_set_hash: Hash::ZERO,
        };
        let h3 = header(3, sha256(b"genesis-ish"));
        let h4 = header(4, h3.hash());
        let h5 = header(5, h4.hash());
        let cp = Checkpoint { header: header(6, h5.hash()), certificate: Certificate::embedded(vec![]) };
        let chain = vec![h5.clone(), h4.clone(), h3.clone()];
        assert_eq!(verify_ancestor(&cp, &chain).expect("linked"), &h3);
        assert_eq!(verify_ancestor(&cp, &chain[..1]).expect("linked"), &h5);
        // A changed state root breaks the link above it; so does a gap or a reordering.
        let mut forged = h4.clone();
        forged.state_root = Hash([7; 32]);
        assert!(verify_ancestor(&cp, &[h5.clone(), forged, h3.clone()]).is_err());
        assert!(verify_ancestor(&cp, &[h5.clone(), h3.clone()]).is_err());
        assert!(verify_ancestor(&cp, &[h4.clone(), h5.clone()]).is_err());
        assert!(verify_ancestor(&cp, &[]).is_err());
        let mut other = h5.clone();
        other.chain_id = "d".into();
        assert!(verify_ancestor(&cp, &[other]).is_err());
    }

    fn validators(n: u8) -> (Vec<SecretKey>, ValidatorSet) {
        let keys: Vec<SecretKey> = (0..n).map(|i| SecretKey::from_seed([i + 1; 32])).collect();
        let set = ValidatorSet {
            validators: keys
                .iter()
                .map(|k| Validator { org: OrgId::new("o").expect("id"), public_key: k.public_key(), power: 1 })
                .collect(),
        };
        (keys, set)
    }

    fn checkpoint(
        set: &ValidatorSet,
        signers: &[(u32, &SecretKey)],
        log: &[Hash],
        state: &BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Checkpoint {
        let header = BlockHeader {
            chain_id: "c".into(),
            height: 7,
            parent: Hash::ZERO,
            timestamp_ms: 1,
            proposer: 0,
            tx_count: 0,
            txs_root: merkle::empty_root(),
            log_size: log.len() as u64,
            log_root: merkle::root(log),
            state_root: state_root(state),
            validator_set_hash: set.hash(),
        };
        let signatures = signers
            .iter()
            .map(|(i, k)| ValidatorSignature { validator: *i, signature: k.sign(&header.signing_bytes()) })
            .collect();
        Checkpoint { header, certificate: Certificate::embedded(signatures) }
    }

    type State = BTreeMap<Vec<u8>, Vec<u8>>;

    /// Validator keys and set, transaction hashes, their log leaves, and a state.
    fn fixture() -> (Vec<SecretKey>, ValidatorSet, Vec<Hash>, Vec<Hash>, State) {
        let (keys, set) = validators(4);
        let tx_hashes: Vec<Hash> = (0..13u8).map(|i| sha256(&[i])).collect();
        let leaves: Vec<Hash> = tx_hashes.iter().map(|h| merkle::leaf_hash(h.as_bytes())).collect();
        let state: BTreeMap<Vec<u8>, Vec<u8>> =
            (0..50u8).map(|i| (format!("k/{i}").into_bytes(), vec![i; 3])).collect();
        (keys, set, tx_hashes, leaves, state)
    }

    #[test]
    fn checkpoint_needs_more_than_two_thirds_of_distinct_valid_signers() {
        let (keys, set, _, leaves, state) = fixture();
        let ok = checkpoint(&set, &[(0, &keys[0]), (1, &keys[1]), (2, &keys[2])], &leaves, &state);
        assert!(verify_checkpoint(&set, &ok).is_ok());
        let cases: Vec<(&str, Checkpoint)> = vec![
            ("two of four is not a quorum", checkpoint(&set, &[(0, &keys[0]), (1, &keys[1])], &leaves, &state)),
            (
                "a validator counted twice",
                checkpoint(&set, &[(0, &keys[0]), (1, &keys[1]), (1, &keys[1])], &leaves, &state),
            ),
            (
                "a signature by the wrong key",
                checkpoint(&set, &[(0, &keys[0]), (1, &keys[1]), (2, &keys[3])], &leaves, &state),
            ),
            (
                "an index outside the set",
                checkpoint(&set, &[(0, &keys[0]), (1, &keys[1]), (9, &keys[2])], &leaves, &state),
            ),
        ];
        for (what, cp) in cases {
            assert!(verify_checkpoint(&set, &cp).is_err(), "{what}");
        }
        let mut tampered = ok.clone();
        tampered.header.state_root = Hash::ZERO;
        assert!(verify_checkpoint(&set, &tampered).is_err(), "a changed header breaks the signatures");
        let (_, other) = validators(1);
        assert!(verify_checkpoint(&other, &ok).is_err(), "another validator set is refused");
    }

    #[test]
    fn inclusion_state_and_consistency_proofs_against_checkpoints() {
        let (keys, set, tx_hashes, leaves, state) = fixture();
        let signers: Vec<(u32, &SecretKey)> = keys.iter().enumerate().map(|(i, k)| (i as u32, k)).collect();
        let cp = checkpoint(&set, &signers, &leaves, &state);

        for (i, tx_hash) in tx_hashes.iter().enumerate() {
            let p = merkle::inclusion_proof(&leaves, i as u64, leaves.len() as u64).expect("proof");
            assert!(verify_tx_inclusion(&cp, tx_hash, &p).is_ok());
            assert!(verify_tx_inclusion(&cp, &sha256(b"other"), &p).is_err(), "wrong transaction");
        }
        let short = merkle::inclusion_proof(&leaves[..5], 1, 5).expect("proof");
        assert!(verify_tx_inclusion(&cp, &tx_hashes[1], &short).is_err(), "proof for another log size");

        let present = state_proof(&state, b"k/7");
        assert!(verify_state(&cp, &present).is_ok());
        assert_eq!(present.value.as_deref(), Some(&[7u8, 7, 7][..]));
        let absent = state_proof(&state, b"k/999");
        assert!(absent.value.is_none());
        assert!(verify_state(&cp, &absent).is_ok());
        let mut lie = present.clone();
        lie.value = Some(vec![8, 8, 8]);
        assert!(verify_state(&cp, &lie).is_err(), "a changed value");
        let mut hide = present;
        hide.value = None;
        assert!(verify_state(&cp, &hide).is_err(), "claiming a present key is absent");

        let old = checkpoint(&set, &signers, &leaves[..6], &state);
        let p = merkle::consistency_proof(&leaves, 6, 13).expect("proof");
        assert!(verify_consistency(&old, &cp, &p).is_ok());
        let mut forked = leaves.clone();
        forked[2] = sha256(b"rewritten history");
        let forked_cp = checkpoint(&set, &signers, &forked, &state);
        let p2 = merkle::consistency_proof(&forked, 6, 13).expect("proof");
        assert!(verify_consistency(&old, &forked_cp, &p2).is_err(), "a rewritten prefix is not an extension");
    }
}
