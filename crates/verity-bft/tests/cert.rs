//! The engine's own finalize votes, assembled into its finalization certificate by the
//! engine, become a Verity certificate that `ValidatorSet::verify_certificate` accepts
//! with Ed25519 alone: this pins `verity_types::finalize_vote_bytes` to Commonware's
//! encoding, and shows a light client needs no consensus code. Blocks round-trip the
//! engine's codec canonically.

use commonware_codec::{Decode, Encode};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Finalization, Finalize, Proposal};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_consensus::{Block as _, Heightable};
use commonware_cryptography::Digestible;
use commonware_parallel::Sequential;
use verity_bft::block::LedgerBlock;
use verity_bft::keys::{participants, private_key, public_key, verity_public_key};
use verity_bft::{cert::certificate, digest, BftError};
use verity_types::keys::SecretKey;
use verity_types::{
    consensus_namespace, Block, BlockHeader, FinalityRound, Hash, OrgId, Transaction, Transfer, Validator, ValidatorSet,
};

fn keys(n: u8) -> Vec<SecretKey> {
    (0..n).map(|i| SecretKey::from_seed([i + 11; 32])).collect()
}

fn set(keys: &[SecretKey], power: impl Fn(usize) -> u64) -> ValidatorSet {
    ValidatorSet {
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                org: OrgId::new(format!("org{i}")).expect("org id"),
                public_key: k.public_key(),
                power: power(i),
            })
            .collect(),
    }
}

fn header(vs: &ValidatorSet) -> BlockHeader {
    BlockHeader {
        chain_id: "bft-test".into(),
        height: 7,
        parent: Hash([3; 32]),
        timestamp_ms: 1_700_000_000_000,
        proposer: 2,
        tx_count: 0,
        txs_root: Hash([4; 32]),
        log_size: 0,
        log_root: Hash([5; 32]),
        state_root: Hash([6; 32]),
        validator_set_hash: vs.hash(),
        receipts_root: None,
    }
}

/// Finalize votes of the validators at `signers` (Verity indices) for `h` in
/// (epoch 0, view 9, parent view 8), assembled by the engine.
fn finalization(
    keys: &[SecretKey],
    vs: &ValidatorSet,
    h: &BlockHeader,
    signers: &[usize],
) -> Finalization<Scheme, verity_bft::Digest> {
    let ns = consensus_namespace(&h.chain_id);
    let parts = participants(vs).expect("participants");
    let proposal = Proposal::new(Round::new(Epoch::new(0), View::new(9)), View::new(8), digest(&h.hash()));
    let votes: Vec<Finalize<Scheme, verity_bft::Digest>> = signers
        .iter()
        .map(|&i| {
            let scheme = Scheme::signer(&ns, parts.clone(), private_key(&keys[i])).expect("a participant");
            Finalize::sign(&scheme, proposal.clone()).expect("signs")
        })
        .collect();
    let verifier = Scheme::verifier(&ns, parts);
    Finalization::from_finalizes(&verifier, commonware_utils::non_empty![@&votes], &Sequential).expect("a quorum")
}

#[test]
fn engine_finalization_verifies_as_a_verity_certificate() {
    let keys = keys(4);
    let vs = set(&keys, |_| 10);
    let h = header(&vs);
    let fin = finalization(&keys, &vs, &h, &[0, 2, 3]);
    // The engine itself accepts its certificate.
    let ns = consensus_namespace(&h.chain_id);
    let verifier = Scheme::verifier(&ns, participants(&vs).expect("participants"));
    assert!(fin.verify(&mut rand::rng(), &verifier, &Sequential));

    let cert = certificate(&fin, &participants(&vs).expect("participants"), &vs).expect("converts");
    assert_eq!(cert.round, Some(FinalityRound { epoch: 0, view: 9, parent_view: 8 }));
    let mut who: Vec<u32> = cert.signatures.iter().map(|s| s.validator).collect();
    who.sort();
    assert_eq!(who, vec![0, 2, 3], "signers keep their Verity indices");
    vs.verify_certificate(&h, &cert).expect("a Verity light client accepts the engine's certificate");

    // Any other round, block or set is refused.
    let mut other_view = cert.clone();
    other_view.round = Some(FinalityRound { epoch: 0, view: 10, parent_view: 8 });
    assert!(vs.verify_certificate(&h, &other_view).is_err());
    let mut other_parent = cert.clone();
    other_parent.round = Some(FinalityRound { epoch: 0, view: 9, parent_view: 7 });
    assert!(vs.verify_certificate(&h, &other_parent).is_err());
    let mut later = h.clone();
    later.height += 1;
    assert!(vs.verify_certificate(&later, &cert).is_err());
    let mut embedded = cert.clone();
    embedded.round = None;
    assert!(vs.verify_certificate(&h, &embedded).is_err(), "a vote is not a header signature");
    // Two of four is not a quorum.
    let mut short = cert.clone();
    short.signatures.truncate(2);
    assert!(vs.verify_certificate(&h, &short).is_err());
}

#[test]
fn another_chain_cannot_reuse_votes() {
    let keys = keys(4);
    let vs = set(&keys, |_| 1);
    let h = header(&vs);
    let cert = certificate(&finalization(&keys, &vs, &h, &[0, 1, 2, 3]), &participants(&vs).expect("p"), &vs)
        .expect("converts");
    vs.verify_certificate(&h, &cert).expect("valid on its chain");
    let mut other = h.clone();
    other.chain_id = "another-chain".into();
    assert!(vs.verify_certificate(&other, &cert).is_err());
}

#[test]
fn unequal_powers_are_refused() {
    let keys = keys(4);
    let vs = set(&keys, |i| if i == 0 { 100 } else { 1 });
    assert!(matches!(participants(&vs), Err(BftError::InvalidValidatorSet(_))));
    let equal = set(&keys, |_| 1);
    let h = header(&vs);
    let cert =
        certificate(&finalization(&keys, &equal, &header(&equal), &[0, 1, 2]), &participants(&equal).expect("p"), &vs)
            .expect("converts");
    assert!(vs.verify_certificate(&h, &cert).is_err());
}

#[test]
fn keys_and_blocks_round_trip() {
    let k = SecretKey::from_seed([42; 32]);
    let pk = public_key(&k.public_key()).expect("key");
    assert_eq!(verity_public_key(&pk), k.public_key());
    use commonware_cryptography::Signer as _;
    assert_eq!(private_key(&k).public_key(), pk, "the seed gives the same public key on both sides");

    let keys = keys(4);
    let vs = set(&keys, |_| 1);
    let tx = Transaction {
        chain_id: "bft-test".into(),
        sender: verity_types::AccountId::new("alice").expect("id"),
        nonce: 1,
        action: verity_types::Action::Transfer(Transfer {
            to: verity_types::AccountId::new("bob").expect("id"),
            asset: verity_types::AssetId::new("usd").expect("id"),
            amount: 5,
            memo: String::new(),
        }),
    }
    .sign(&keys[0]);
    let mut hd = header(&vs);
    hd.tx_count = 1;
    let block = LedgerBlock::Block(Box::new(Block { header: hd.clone(), txs: vec![tx] }));
    let bytes = block.encode();
    let back = LedgerBlock::decode_cfg(bytes.clone(), &(1 << 20)).expect("decodes");
    assert_eq!(back, block);
    assert_eq!(back.encode(), bytes, "canonical");
    assert_eq!(block.digest(), digest(&hd.hash()));
    assert_eq!(block.parent(), digest(&hd.parent));
    assert_eq!(block.height().get(), 7);
    // Too large for the limit, truncated, trailing bytes, unknown tag: refused, no panic.
    assert!(LedgerBlock::decode_cfg(bytes.clone(), &16).is_err());
    assert!(LedgerBlock::decode_cfg(bytes.slice(..bytes.len() - 1), &(1 << 20)).is_err());
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(LedgerBlock::decode_cfg(bytes::Bytes::from(long), &(1 << 20)).is_err());
    assert!(LedgerBlock::decode_cfg(bytes::Bytes::from(vec![9u8]), &(1 << 20)).is_err());
    for cut in 0..bytes.len() {
        let _ = LedgerBlock::decode_cfg(bytes.slice(..cut), &(1 << 20));
    }
    let g = LedgerBlock::Genesis(Hash([8; 32]));
    assert_eq!(LedgerBlock::decode_cfg(g.encode(), &0).expect("genesis"), g);
    assert_eq!(g.height().get(), 0);
}

/// The engine's own fault reports, signed by the engine's scheme, become Verity
/// evidence that verifies with Ed25519 alone (pinning `SignedVote::signed_bytes` to
/// Commonware's vote encoding for all three vote kinds), and a forged or foreign vote
/// does not.
#[test]
fn engine_fault_reports_become_verifiable_evidence() {
    use commonware_consensus::simplex::types::{
        Activity, ConflictingFinalize, ConflictingNotarize, Notarize, Nullify, NullifyFinalize,
    };
    use verity_bft::evidence::equivocation;
    use verity_types::{Offence, VoteKind};

    let keys = keys(4);
    let vs = set(&keys, |_| 1);
    let chain = "bft-test";
    let ns = consensus_namespace(chain);
    let parts = participants(&vs).expect("participants");
    let scheme = Scheme::signer(&ns, parts.clone(), private_key(&keys[2])).expect("a participant");
    let round = Round::new(Epoch::new(3), View::new(300));
    let a = Proposal::new(round, View::new(299), digest(&Hash([1; 32])));
    let b = Proposal::new(round, View::new(298), digest(&Hash([2; 32])));

    let faults = [
        (
            Activity::ConflictingNotarize(ConflictingNotarize::new(
                Notarize::sign(&scheme, a.clone()).expect("sign"),
                Notarize::sign(&scheme, b.clone()).expect("sign"),
            )),
            Offence::ConflictingNotarize,
        ),
        (
            Activity::ConflictingFinalize(ConflictingFinalize::new(
                Finalize::sign(&scheme, a.clone()).expect("sign"),
                Finalize::sign(&scheme, b.clone()).expect("sign"),
            )),
            Offence::ConflictingFinalize,
        ),
        (
            Activity::NullifyFinalize(NullifyFinalize::new(
                Nullify::sign::<verity_bft::Digest>(&scheme, round).expect("sign"),
                Finalize::sign(&scheme, a.clone()).expect("sign"),
            )),
            Offence::NullifyFinalize,
        ),
    ];
    for (activity, offence) in faults {
        let ev = equivocation(&activity, &parts).expect("a fault");
        assert_eq!(ev.validator, keys[2].public_key());
        assert_eq!(ev.round(), (3, 300));
        assert_eq!(ev.verify(chain).expect("verifies"), offence);
        assert_eq!(ev.verify("another-chain").ok(), None, "votes of one chain are no evidence on another");
        let mut forged = ev.clone();
        forged.validator = keys[1].public_key();
        assert!(forged.verify(chain).is_err(), "someone else's key");
        let mut tampered = ev.clone();
        tampered.second.view += 1;
        assert!(tampered.verify(chain).is_err(), "votes of different rounds");
        if ev.second.kind == VoteKind::Finalize && ev.first.kind == VoteKind::Finalize {
            let mut moved = ev.clone();
            moved.second.payload = Hash([9; 32]);
            assert!(moved.verify(chain).is_err(), "a payload the validator did not sign");
        }
    }
    // Activity that is no fault carries no evidence.
    let vote = Finalize::sign(&scheme, a).expect("sign");
    assert!(equivocation(&Activity::Finalize(vote), &parts).is_none());
}
