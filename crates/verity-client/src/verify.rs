//! Offline verification of checkpoints and proofs. No network, no clock.

use verity_types::merkle;
use verity_types::proof::{ConsistencyProof, InclusionProof, StateProof};
use verity_types::validators::{epoch_of, epoch_set_key};
use verity_types::{
    BlockHeader, Checkpoint, Genesis, Hash, HeaderVersion, Receipt, SetTransition, SetUnchanged, SignedTransaction,
    ValidatorSet,
};

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

/// What a receipt check established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptCheck {
    /// The receipt is exactly the one the block's (trusted) header commits to.
    Committed,
    /// The block has a version 1 header (written before receipts were committed to):
    /// the receipt cannot be authenticated, only the transaction's inclusion.
    Unauthenticated,
}

/// Checks that `receipt` is the outcome the trusted `header` commits to for the
/// transaction `tx_hash` at log position `log_index` (from that transaction's verified
/// inclusion proof), with `proof` under the header's receipts root. A version 1 header
/// commits to no receipts: [`ReceiptCheck::Unauthenticated`].
pub fn verify_receipt(
    header: &BlockHeader,
    tx_hash: &Hash,
    log_index: u64,
    receipt: &Receipt,
    proof: Option<&InclusionProof>,
) -> Result<ReceiptCheck, ClientError> {
    if receipt.tx_hash != *tx_hash {
        return Err(fail(format!("the receipt is for transaction {}, not {tx_hash}", receipt.tx_hash)));
    }
    if receipt.log_index != log_index {
        return Err(fail(format!(
            "the receipt puts {tx_hash} at log index {}, its inclusion proof at {log_index}",
            receipt.log_index
        )));
    }
    if header.version() == HeaderVersion::V1 {
        return Ok(ReceiptCheck::Unauthenticated);
    }
    let proof = proof.ok_or_else(|| fail(format!("no receipt proof for {tx_hash}")))?;
    header.verify_receipt(receipt, proof).map_err(|e| fail(format!("receipt of {tx_hash}: {e}")))?;
    Ok(ReceiptCheck::Committed)
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

/// A light client's trusted validator sets, followed from a trusted genesis across
/// validator-set changes, offline.
///
/// It starts with the genesis set for epoch 0 and walks the epoch boundaries in order,
/// one at a time: each is a [`SetTransition`] (the set changed) or a [`SetUnchanged`]
/// (it did not). The boundary block must be the last block of the epoch before, certified
/// by its own certificate from the set the client trusts for that epoch, and its state
/// must prove the new set (or no new set) under the epoch's state key. A checkpoint is
/// then verified against the set of its height's epoch, and only if the client has walked
/// every boundary up to that epoch: a checkpoint of a later epoch is refused rather than
/// checked against a set that may have been replaced since.
#[derive(Clone, Debug)]
pub struct LightClient {
    chain_id: String,
    epoch_length: u64,
    /// Trusted sets by the epoch they took effect in, ascending, starting at 0.
    sets: Vec<(u64, ValidatorSet)>,
    /// The newest epoch whose start (set changed or not) has been verified.
    verified_through: u64,
}

impl LightClient {
    pub fn new(genesis: &Genesis) -> Self {
        LightClient {
            chain_id: genesis.chain_id.clone(),
            epoch_length: genesis.epoch_length,
            sets: vec![(0, genesis.validator_set())],
            verified_through: 0,
        }
    }

    /// The chain this client follows.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Blocks per epoch (0: one epoch, the genesis set's).
    pub fn epoch_length(&self) -> u64 {
        self.epoch_length
    }

    /// Whether a checkpoint at `height` is in an epoch this client has not walked to yet.
    pub fn needs_boundaries_for(&self, height: u64) -> bool {
        epoch_of(height, self.epoch_length) > self.verified_through
    }

    /// The newest epoch whose validator set this client has verified: checkpoints up to
    /// the end of this epoch verify.
    pub fn verified_through(&self) -> u64 {
        self.verified_through
    }

    /// The newest epoch whose change this client has verified (0 at genesis).
    pub fn last_change(&self) -> u64 {
        self.sets.last().map_or(0, |(e, _)| *e)
    }

    /// The trusted sets, by the epoch they took effect in.
    pub fn sets(&self) -> &[(u64, ValidatorSet)] {
        &self.sets
    }

    /// The set that certifies blocks at `height` (as far as the followed changes go).
    pub fn set_for(&self, height: u64) -> &ValidatorSet {
        let epoch = epoch_of(height, self.epoch_length);
        let (_, set) = self.sets.iter().rev().find(|(e, _)| *e <= epoch).unwrap_or(&self.sets[0]);
        set
    }

    /// Verifies a change and trusts its set from its epoch on. A change this client
    /// already holds is accepted again only if it is the same set.
    pub fn follow(&mut self, t: &SetTransition) -> Result<(), ClientError> {
        if let Some((_, known)) = self.sets.iter().find(|(e, _)| *e == t.epoch) {
            return if *known == t.validators {
                Ok(())
            } else {
                Err(fail(format!("epoch {}: another set than the one verified", t.epoch)))
            };
        }
        if self.epoch_length == 0 {
            return Err(fail("this chain has no epochs: its validator set is the genesis set"));
        }
        self.check_boundary(t.epoch, &t.boundary, &t.proof, "change")?;
        if t.proof.value.as_deref() != Some(&verity_types::encoding::encode(&t.validators)[..]) {
            return Err(fail(format!("change at epoch {}: the proof holds another set", t.epoch)));
        }
        if t.validators.validators.is_empty() {
            return Err(fail(format!("change at epoch {}: an empty set", t.epoch)));
        }
        self.sets.push((t.epoch, t.validators.clone()));
        self.verified_through = t.epoch;
        Ok(())
    }

    /// Verifies that the set did not change at `u.epoch` and trusts the current set for
    /// that epoch too. A boundary already walked is accepted again if no change was
    /// verified there.
    pub fn follow_unchanged(&mut self, u: &SetUnchanged) -> Result<(), ClientError> {
        if u.epoch <= self.verified_through {
            return if self.sets.iter().any(|(e, _)| *e == u.epoch) {
                Err(fail(format!("epoch {}: its set changed, yet the evidence says it did not", u.epoch)))
            } else {
                Ok(())
            };
        }
        if self.epoch_length == 0 {
            return Err(fail("this chain has no epochs: its validator set is the genesis set"));
        }
        self.check_boundary(u.epoch, &u.boundary, &u.proof, "no change")?;
        if u.proof.value.is_some() {
            return Err(fail(format!("no change at epoch {}: the proof shows a new set", u.epoch)));
        }
        self.verified_through = u.epoch;
        Ok(())
    }

    /// The checks shared by both kinds of boundary evidence: the next epoch after those
    /// walked, at its boundary height, certified by the trusted set, the proof for the
    /// epoch's key and against the boundary's state root.
    fn check_boundary(
        &self,
        epoch: u64,
        boundary: &Checkpoint,
        proof: &StateProof,
        what: &str,
    ) -> Result<(), ClientError> {
        if epoch != self.verified_through + 1 {
            return Err(fail(format!(
                "{what} at epoch {epoch}: the client has verified epochs up to {}; the boundary of each epoch \
                 in between must come first",
                self.verified_through
            )));
        }
        let h = &boundary.header;
        let want = epoch.checked_mul(self.epoch_length).and_then(|x| x.checked_sub(1));
        if want != Some(h.height) {
            return Err(fail(format!("epoch {epoch} starts after height {want:?}, not {}", h.height)));
        }
        if h.chain_id != self.chain_id {
            return Err(fail(format!("boundary block of chain {:?}", h.chain_id)));
        }
        verify_checkpoint(self.set_for(h.height), boundary)
            .map_err(|e| fail(format!("{what} at epoch {epoch}: {e}")))?;
        if proof.key != epoch_set_key(epoch) {
            return Err(fail(format!("{what} at epoch {epoch}: the proof is for another key")));
        }
        verify_state(boundary, proof)
    }

    /// Walks every epoch boundary given, changes and non-changes merged by epoch.
    pub fn follow_epochs(
        &mut self,
        transitions: &[SetTransition],
        unchanged: &[SetUnchanged],
    ) -> Result<(), ClientError> {
        let (mut t, mut u) = (transitions.iter().peekable(), unchanged.iter().peekable());
        loop {
            match (t.peek(), u.peek()) {
                (Some(a), Some(b)) if a.epoch <= b.epoch => self.follow(t.next().expect("peeked"))?,
                (_, Some(_)) => self.follow_unchanged(u.next().expect("peeked"))?,
                (Some(_), None) => self.follow(t.next().expect("peeked"))?,
                (None, None) => return Ok(()),
            }
        }
    }

    /// Verifies that `receipt` is the outcome of transaction `tx_hash` (at log position
    /// `log_index`, from its verified inclusion proof) that the block `cp` commits to:
    /// `cp` is that block's checkpoint, verified here.
    pub fn verify_receipt(
        &self,
        cp: &Checkpoint,
        tx_hash: &Hash,
        log_index: u64,
        receipt: &Receipt,
        proof: Option<&InclusionProof>,
    ) -> Result<ReceiptCheck, ClientError> {
        self.verify_checkpoint(cp)?;
        verify_receipt(&cp.header, tx_hash, log_index, receipt, proof)
    }

    /// Verifies a checkpoint against the set of its height's epoch.
    pub fn verify_checkpoint(&self, cp: &Checkpoint) -> Result<(), ClientError> {
        if cp.header.chain_id != self.chain_id {
            return Err(fail(format!("checkpoint of chain {:?}", cp.header.chain_id)));
        }
        let epoch = epoch_of(cp.header.height, self.epoch_length);
        if epoch > self.verified_through {
            return Err(fail(format!(
                "checkpoint at height {} is in epoch {epoch}, but the validator sets are verified only up to epoch \
                 {}: the boundary evidence of the epochs in between is missing",
                cp.header.height, self.verified_through
            )));
        }
        verify_checkpoint(self.set_for(cp.header.height), cp)
    }
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
            receipts_root: None,
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
        validators_from(1, n)
    }

    /// `n` validators of equal power with keys from seeds `first`, `first + 1`, ...
    fn validators_from(first: u8, n: u8) -> (Vec<SecretKey>, ValidatorSet) {
        let keys: Vec<SecretKey> = (0..n).map(|i| SecretKey::from_seed([first + i; 32])).collect();
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
            receipts_root: None,
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

    mod light_client {
        use super::*;
        use verity_types::validators::epoch_set_key;
        use verity_types::{SetTransition, SetUnchanged};

        const E: u64 = 10;

        fn genesis(set: &ValidatorSet) -> Genesis {
            Genesis {
                chain_id: "c".into(),
                genesis_time_ms: 0,
                orgs: vec![],
                validators: set.validators.clone(),
                assets: vec![],
                balances: vec![],
                epoch_length: E,
                governance: None,
            }
        }

        fn keys_and_set(seed: u8) -> (Vec<SecretKey>, ValidatorSet) {
            validators_from(seed, 4)
        }

        /// A block at `height` naming `names`, signed by the first three of `signers`,
        /// whose state holds `state`.
        fn block(height: u64, names: &ValidatorSet, signers: &[SecretKey], state: &State) -> Checkpoint {
            let header = BlockHeader {
                chain_id: "c".into(),
                height,
                parent: Hash::ZERO,
                timestamp_ms: height,
                proposer: 0,
                tx_count: 0,
                txs_root: merkle::empty_root(),
                log_size: 0,
                log_root: merkle::empty_root(),
                state_root: state_root(state),
                validator_set_hash: names.hash(),
                receipts_root: None,
            };
            let signatures = signers[..3]
                .iter()
                .enumerate()
                .map(|(i, k)| ValidatorSignature { validator: i as u32, signature: k.sign(&header.signing_bytes()) })
                .collect();
            Checkpoint { header, certificate: Certificate::embedded(signatures) }
        }

        /// The change to `next` at `epoch`, certified by `keys` of `current`.
        fn transition(epoch: u64, current: &ValidatorSet, keys: &[SecretKey], next: &ValidatorSet) -> SetTransition {
            let state: State = [(epoch_set_key(epoch), verity_types::encoding::encode(next))].into_iter().collect();
            let boundary = block(epoch * E - 1, current, keys, &state);
            SetTransition {
                epoch,
                boundary,
                validators: next.clone(),
                proof: state_proof(&state, &epoch_set_key(epoch)),
            }
        }

        /// No change at `epoch`, certified by `keys` of `current`.
        fn unchanged(epoch: u64, current: &ValidatorSet, keys: &[SecretKey]) -> SetUnchanged {
            let state: State = [(b"other".to_vec(), vec![1])].into_iter().collect();
            SetUnchanged {
                epoch,
                boundary: block(epoch * E - 1, current, keys, &state),
                proof: state_proof(&state, &epoch_set_key(epoch)),
            }
        }

        #[test]
        fn a_checkpoint_past_the_walked_epochs_is_refused() {
            // The attack: A was replaced by B at epoch 2; A's old keys sign a checkpoint of
            // epoch 3 naming A, and the bundle omits the change. The client walked no
            // boundary, so it must not check the checkpoint against A.
            let (ka, a) = keys_and_set(1);
            let empty = State::new();
            let lc = LightClient::new(&genesis(&a));
            assert!(lc.verify_checkpoint(&block(9, &a, &ka, &empty)).is_ok(), "epoch 0 is genesis's");
            let err = lc.verify_checkpoint(&block(35, &a, &ka, &empty)).expect_err("epoch 3 unwalked");
            assert!(err.to_string().contains("boundary evidence"), "{err}");
            // Walking the boundaries with "no change" evidence opens the epochs one by one.
            let mut lc = lc;
            lc.follow_epochs(&[], &[unchanged(1, &a, &ka), unchanged(2, &a, &ka)]).expect("two boundaries");
            assert_eq!(lc.verified_through(), 2);
            assert!(lc.verify_checkpoint(&block(25, &a, &ka, &empty)).is_ok());
            assert!(lc.verify_checkpoint(&block(35, &a, &ka, &empty)).is_err());
            // Skipping a boundary, a "no change" whose proof shows a set, or one signed by
            // a set the client does not trust: refused.
            assert!(lc.follow_unchanged(&unchanged(4, &a, &ka)).is_err());
            let (kb, b) = keys_and_set(11);
            assert!(lc.follow_unchanged(&unchanged(3, &b, &kb)).is_err());
            let t = transition(3, &a, &ka, &b);
            let lie = SetUnchanged { epoch: 3, boundary: t.boundary, proof: t.proof };
            assert!(lc.follow_unchanged(&lie).is_err(), "the proof shows a new set");
            // A change where "no change" was already verified contradicts it.
            assert!(lc.follow(&transition(2, &a, &ka, &b)).is_err());
        }

        #[test]
        fn follows_changes_and_verifies_checkpoints_against_their_epochs_set() {
            let (ka, a) = keys_and_set(1);
            let (kb, b) = keys_and_set(11);
            let (kc, c) = keys_and_set(21);
            let mut lc = LightClient::new(&genesis(&a));
            let empty = State::new();
            assert!(lc.verify_checkpoint(&block(5, &a, &ka, &empty)).is_ok());
            // A change to B at epoch 2, certified by A at height 19.
            let to_b = transition(2, &a, &ka, &b);
            lc.follow_unchanged(&unchanged(1, &a, &ka)).expect("no change at epoch 1");
            lc.follow(&to_b).expect("a valid change");
            assert_eq!(lc.last_change(), 2);
            assert!(lc.follow(&to_b).is_ok(), "the same change again is harmless");
            assert!(lc.verify_checkpoint(&block(19, &a, &ka, &empty)).is_ok(), "epoch 1 is still A's");
            assert!(lc.verify_checkpoint(&block(25, &b, &kb, &empty)).is_ok());
            // A's keys cannot certify epoch 2 any more, whatever set the header names.
            assert!(lc.verify_checkpoint(&block(25, &a, &ka, &empty)).is_err());
            assert!(lc.verify_checkpoint(&block(25, &b, &ka, &empty)).is_err());
            // Then to C at epoch 5, certified by B, after the boundaries of epochs 3 and 4.
            assert!(lc.follow(&transition(5, &b, &kb, &c)).is_err(), "epochs 3 and 4 not walked");
            lc.follow_epochs(&[transition(5, &b, &kb, &c)], &[unchanged(3, &b, &kb), unchanged(4, &b, &kb)])
                .expect("second change");
            assert!(lc.verify_checkpoint(&block(57, &c, &kc, &empty)).is_ok());
            assert!(lc.verify_checkpoint(&block(41, &b, &kb, &empty)).is_ok());
            assert_eq!(lc.sets().len(), 3);
        }

        #[test]
        fn forged_or_skipped_changes_are_refused() {
            let (ka, a) = keys_and_set(1);
            let (kb, b) = keys_and_set(11);
            let (_, c) = keys_and_set(21);
            let fresh = || {
                let mut lc = LightClient::new(&genesis(&a));
                lc.follow_unchanged(&unchanged(1, &a, &ka)).expect("no change at epoch 1");
                lc
            };
            // Certified by the incoming set itself, not the trusted one.
            assert!(fresh().follow(&transition(2, &b, &kb, &b)).is_err());
            // Skipping the change to B: the boundary of C's change names B, not A.
            assert!(fresh().follow(&transition(5, &b, &kb, &c)).is_err());
            // Not at the boundary height.
            let mut t = transition(2, &a, &ka, &b);
            t.boundary = block(17, &a, &ka, &State::new());
            assert!(fresh().follow(&t).is_err());
            // A change two epochs ahead of the walked ones.
            let t = transition(3, &a, &ka, &b);
            assert!(fresh().follow(&t).is_err());
            // The proof holds another set, or another key, or the claimed set differs.
            let mut t = transition(2, &a, &ka, &b);
            t.validators = c.clone();
            assert!(fresh().follow(&t).is_err());
            let mut t = transition(2, &a, &ka, &b);
            t.proof.key = epoch_set_key(3);
            assert!(fresh().follow(&t).is_err());
            let mut t = transition(2, &a, &ka, &b);
            t.boundary.header.state_root = Hash::ZERO;
            assert!(fresh().follow(&t).is_err(), "the certificate covers the state root");
            // Out of order.
            let mut lc = fresh();
            lc.follow_epochs(
                &[transition(5, &a, &ka, &b)],
                &[unchanged(2, &a, &ka), unchanged(3, &a, &ka), unchanged(4, &a, &ka)],
            )
            .expect("a change at epoch 5");
            assert!(lc.follow(&transition(2, &a, &ka, &c)).is_err());
            // A chain without epochs has no changes.
            let mut g = genesis(&a);
            g.epoch_length = 0;
            assert!(LightClient::new(&g).follow(&transition(2, &a, &ka, &b)).is_err());
        }
    }
}
