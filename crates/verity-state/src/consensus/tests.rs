use verity_types::{consensus_namespace, sha256, Action, Equivocation, Event, Hash, Offence, SignedVote, VoteKind};

use crate::testkit::*;

fn vote(signer: &str, chain: &str, kind: VoteKind, view: u64, payload: Hash) -> SignedVote {
    let (parent_view, payload) = if kind == VoteKind::Nullify { (0, Hash::ZERO) } else { (view - 1, payload) };
    let mut v = SignedVote { kind, epoch: 0, view, parent_view, payload, signature: verity_types::Signature([0; 64]) };
    v.signature = secret(signer).sign(&v.signed_bytes(&consensus_namespace(chain)));
    v
}

fn conflicting(signer: &str, chain: &str, kind: VoteKind, view: u64) -> Equivocation {
    Equivocation {
        validator: pk(signer),
        first: vote(signer, chain, kind, view, sha256(b"a")),
        second: vote(signer, chain, kind, view, sha256(b"b")),
    }
}

fn report(evidence: Equivocation) -> Action {
    Action::ReportEquivocation { evidence }
}

#[test]
fn genesis_records_the_validator_set() {
    let c = Chain::new();
    assert_eq!(crate::validator_set(&c.state), Some(genesis().validator_set()));
    assert_eq!(crate::evidence_count(&c.state), 0);
}

#[test]
fn conflicting_votes_are_recorded_once_per_round_in_sequence() {
    let mut c = Chain::with_members();
    let ev = conflicting("validator", CHAIN, VoteKind::Notarize, 7);
    let r = c.ok("alice", report(ev.clone()));
    assert_eq!(
        r.events,
        vec![Event::EquivocationRecorded {
            validator: pk("validator"),
            org: org("acme"),
            epoch: 0,
            view: 7,
            offence: Offence::ConflictingNotarize,
            sequence: 0,
            reported_by: acc("alice"),
        }]
    );
    let rec = crate::evidence(&c.state, 0).expect("recorded");
    assert_eq!(
        (rec.evidence, rec.offence, rec.height, rec.tx_hash),
        (ev, Offence::ConflictingNotarize, r.height, r.tx_hash)
    );
    assert_eq!(crate::evidence_count(&c.state), 1);

    // The same round again (even other votes of it) is a duplicate.
    c.fails("bob", report(conflicting("validator", CHAIN, VoteKind::Finalize, 7)), "already_exists");
    // Another round is another record, next in sequence.
    let mut nf = conflicting("validator", CHAIN, VoteKind::Finalize, 9);
    nf.first = vote("validator", CHAIN, VoteKind::Nullify, 9, Hash::ZERO);
    let r = c.ok("bob", report(nf));
    assert!(matches!(r.events[0], Event::EquivocationRecorded { sequence: 1, offence: Offence::NullifyFinalize, .. }));
    assert_eq!(crate::evidence_count(&c.state), 2);
}

/// Stateless checks refuse the action: the receipt fails and not even the nonce moves.
fn refused_before_execution(c: &mut Chain, action: Action) {
    let before = c.state.clone();
    let r = c.exec("alice", action);
    assert_eq!(r.error.map(|e| e.code).as_deref(), Some("invalid_action"));
    assert_eq!(c.state, before);
}

#[test]
fn evidence_that_proves_nothing_is_refused_and_changes_nothing() {
    let mut c = Chain::with_members();
    // Votes for the same proposal, or in different rounds, or kinds that do not conflict.
    let mut same = conflicting("validator", CHAIN, VoteKind::Finalize, 3);
    same.second = same.first.clone();
    refused_before_execution(&mut c, report(same));
    let mut rounds = conflicting("validator", CHAIN, VoteKind::Notarize, 3);
    rounds.second = vote("validator", CHAIN, VoteKind::Notarize, 4, sha256(b"b"));
    refused_before_execution(&mut c, report(rounds));
    let mut kinds = conflicting("validator", CHAIN, VoteKind::Notarize, 3);
    kinds.second = vote("validator", CHAIN, VoteKind::Nullify, 3, Hash::ZERO);
    refused_before_execution(&mut c, report(kinds));
    // Signed by someone else, or for another chain: the signatures do not verify.
    let mut forged = conflicting("alice", CHAIN, VoteKind::Notarize, 3);
    forged.validator = pk("validator");
    c.fails("alice", report(forged), "invalid_evidence");
    c.fails("alice", report(conflicting("validator", "other-chain", VoteKind::Notarize, 3)), "invalid_evidence");
    // A key that is not a validator, however well signed.
    c.fails("alice", report(conflicting("alice", CHAIN, VoteKind::Notarize, 3)), "not_a_validator");
    assert_eq!(crate::evidence_count(&c.state), 0);
}
