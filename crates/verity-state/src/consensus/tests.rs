use verity_types::{
    consensus_namespace, sha256, Action, Equivocation, EquivocationRecorded, Event, Hash, Offence, ReportEquivocation,
    SignedVote, VoteKind,
};

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
    Action::ReportEquivocation(ReportEquivocation { evidence })
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
        vec![Event::EquivocationRecorded(EquivocationRecorded {
            validator: pk("validator"),
            org: org("acme"),
            epoch: 0,
            view: 7,
            offence: Offence::ConflictingNotarize,
            sequence: 0,
            reported_by: acc("alice"),
        })]
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
    assert!(matches!(
        r.events[0],
        Event::EquivocationRecorded(EquivocationRecorded { sequence: 1, offence: Offence::NullifyFinalize, .. })
    ));
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

mod validator_changes {
    use verity_types::{
        Action, Approval, ChangeValidators, Event, Genesis, ValidatorChange, ValidatorChangeScheduled, ValidatorOp,
        ValidatorSet,
    };

    use crate::consensus::{scheduled_change, set_epochs, validator_set_at};
    use crate::testkit::*;

    const E: u64 = 20;

    /// The fixture's genesis with epochs of `E` blocks and a third organisation, so a
    /// quorum (more than two thirds) needs all three admins... of three orgs: 3 > 2.
    fn epoch_genesis() -> Genesis {
        let mut g = genesis();
        g.epoch_length = E;
        g.orgs.push(verity_types::GenesisOrg {
            id: org("gamma"),
            name: "Gamma".into(),
            admins: vec![verity_types::GenesisAccount { id: acc("gadmin"), public_key: pk("gadmin") }],
        });
        g
    }

    fn change(epoch: u64, ops: Vec<ValidatorOp>) -> ValidatorChange {
        ValidatorChange { epoch, ops }
    }

    fn approvals(c: &ValidatorChange, admins: &[&str]) -> Vec<Approval> {
        admins.iter().map(|a| c.approve(CHAIN, acc(a), &secret(a))).collect()
    }

    fn act(c: &ValidatorChange, admins: &[&str]) -> Action {
        Action::ChangeValidators(ChangeValidators { change: c.clone(), approvals: approvals(c, admins) })
    }

    fn keys(set: &ValidatorSet) -> Vec<verity_types::PublicKey> {
        set.validators.iter().map(|v| v.public_key).collect()
    }

    /// Empty blocks up to and including `height`.
    fn run_to(c: &mut Chain, height: u64) {
        while c.height < height {
            c.block(&[]);
        }
    }

    #[test]
    fn an_approved_change_takes_effect_at_the_next_epoch_boundary() {
        let mut c = Chain::from_genesis(epoch_genesis());
        let genesis_set = c.genesis.validator_set();
        assert_eq!(set_epochs(&c.state), vec![0]);
        let ch = change(
            1,
            vec![
                ValidatorOp::Add { org: org("beta"), public_key: pk("v2") },
                ValidatorOp::Rotate { old: pk("validator"), new: pk("v1") },
            ],
        );
        let r = c.ok("admin", act(&ch, &["admin", "badmin", "gadmin"]));
        assert!(
            matches!(&r.events[0], Event::ValidatorChangeScheduled(ValidatorChangeScheduled { epoch: 1, approving_orgs, .. }) if approving_orgs.len() == 3)
        );
        assert_eq!(scheduled_change(&c.state, 1).expect("scheduled").change, ch);
        // Still the genesis set until the boundary block (height E - 1) has executed.
        run_to(&mut c, E - 2);
        assert_eq!(crate::validator_set(&c.state), Some(genesis_set.clone()));
        run_to(&mut c, E - 1);
        let now = crate::validator_set(&c.state).expect("set");
        assert_eq!(keys(&now), vec![pk("v1"), pk("v2")]);
        assert_eq!(set_epochs(&c.state), vec![0, 1]);
        assert_eq!(validator_set_at(&c.state, 0), Some(genesis_set));
        assert_eq!(validator_set_at(&c.state, 1), Some(now.clone()));
        assert_eq!(validator_set_at(&c.state, 7), Some(now), "unchanged epochs keep the last set");
        // The next boundary without a scheduled change changes nothing.
        run_to(&mut c, 2 * E - 1);
        assert_eq!(set_epochs(&c.state), vec![0, 1]);
    }

    #[test]
    fn too_few_approvals_or_bad_ones_are_refused_and_change_nothing() {
        let mut c = Chain::from_genesis(epoch_genesis());
        let ch = change(1, vec![ValidatorOp::Add { org: org("beta"), public_key: pk("v2") }]);
        // Two of three organisations is exactly two thirds: not more.
        c.fails("admin", act(&ch, &["admin", "badmin"]), "insufficient_approvals");
        // A second admin of the same org counts once.
        c.ok("admin", create("admin2", "acme", &[verity_types::Role::OrgAdmin]));
        c.fails("admin", act(&ch, &["admin", "admin2", "badmin"]), "insufficient_approvals");
        // A signature over another change does not approve this one.
        let other = change(1, vec![ValidatorOp::Add { org: org("beta"), public_key: pk("v3") }]);
        let mut forged = approvals(&ch, &["admin", "badmin"]);
        forged.extend(approvals(&other, &["gadmin"]));
        c.fails(
            "admin",
            Action::ChangeValidators(ChangeValidators { change: ch.clone(), approvals: forged }),
            "invalid_validator_change",
        );
        // A member is not an admin.
        c.ok("admin", create("alice", "acme", &[verity_types::Role::Member]));
        c.ok("badmin", create("carol", "beta", &[verity_types::Role::Member]));
        c.fails("admin", act(&ch, &["admin", "badmin", "carol"]), "unauthorized");
        // The wrong epoch, an impossible operation, an unknown organisation.
        c.fails("admin", act(&change(2, ch.ops.clone()), &["admin", "badmin", "gadmin"]), "invalid_validator_change");
        c.fails("admin", act(&change(0, ch.ops.clone()), &["admin", "badmin", "gadmin"]), "invalid_validator_change");
        let remove_unknown = change(1, vec![ValidatorOp::Remove { public_key: pk("nobody") }]);
        c.fails("admin", act(&remove_unknown, &["admin", "badmin", "gadmin"]), "invalid_validator_change");
        let unknown_org = change(1, vec![ValidatorOp::Add { org: org("delta"), public_key: pk("v2") }]);
        c.fails("admin", act(&unknown_org, &["admin", "badmin", "gadmin"]), "unknown_org");
        assert!(scheduled_change(&c.state, 1).is_none());
        // One change per epoch.
        c.ok("admin", act(&ch, &["admin", "badmin", "gadmin"]));
        c.fails("badmin", act(&other, &["admin", "badmin", "gadmin"]), "already_exists");
        run_to(&mut c, E - 1);
        assert_eq!(keys(&crate::validator_set(&c.state).expect("set")), vec![pk("validator"), pk("v2")]);
    }

    #[test]
    fn a_change_scheduled_in_the_boundary_block_applies_at_its_end_and_later_epochs_chain() {
        let mut c = Chain::from_genesis(epoch_genesis());
        run_to(&mut c, E - 2);
        // Executes in the boundary block itself (height E - 1).
        c.ok(
            "admin",
            act(
                &change(1, vec![ValidatorOp::Add { org: org("beta"), public_key: pk("v2") }]),
                &["admin", "badmin", "gadmin"],
            ),
        );
        assert_eq!(c.height, E - 1);
        assert_eq!(set_epochs(&c.state), vec![0, 1]);
        // In epoch 1, a change for epoch 2 may remove the original validator.
        c.ok(
            "admin",
            act(&change(2, vec![ValidatorOp::Remove { public_key: pk("validator") }]), &["admin", "badmin", "gadmin"]),
        );
        run_to(&mut c, 2 * E - 1);
        assert_eq!(set_epochs(&c.state), vec![0, 1, 2]);
        assert_eq!(keys(&validator_set_at(&c.state, 2).expect("set")), vec![pk("v2")]);
        assert_eq!(keys(&validator_set_at(&c.state, 1).expect("set")), vec![pk("validator"), pk("v2")]);

        // The removed validator still answers for what it signed in epoch 1; it cannot be
        // charged for epoch 2's votes (it is not in that set), nor anyone for an epoch
        // that has not begun.
        let mut old = super::conflicting("validator", CHAIN, verity_types::VoteKind::Notarize, 4);
        let at = |mut v: verity_types::SignedVote, epoch: u64| {
            v.epoch = epoch;
            v.signature = secret("validator").sign(&v.signed_bytes(&verity_types::consensus_namespace(CHAIN)));
            v
        };
        old.first = at(old.first, 1);
        old.second = at(old.second, 1);
        c.ok("admin", super::report(old.clone()));
        let mut now = old.clone();
        now.first = at(now.first, 2);
        now.second = at(now.second, 2);
        c.fails("admin", super::report(now), "not_a_validator");
        let mut v2 = super::conflicting("v2", CHAIN, verity_types::VoteKind::Notarize, 4);
        v2.first.epoch = 3;
        v2.second.epoch = 3;
        v2.first.signature = secret("v2").sign(&v2.first.signed_bytes(&verity_types::consensus_namespace(CHAIN)));
        v2.second.signature = secret("v2").sign(&v2.second.signed_bytes(&verity_types::consensus_namespace(CHAIN)));
        c.fails("admin", super::report(v2), "invalid_evidence");
    }

    #[test]
    fn chains_without_epochs_keep_their_genesis_set() {
        let mut c = Chain::new();
        let ch = change(1, vec![ValidatorOp::Add { org: org("beta"), public_key: pk("v2") }]);
        c.fails("admin", act(&ch, &["admin", "badmin"]), "invalid_validator_change");
        assert!(set_epochs(&c.state).is_empty());
        assert_eq!(validator_set_at(&c.state, 3), Some(genesis().validator_set()));
    }
}
