//! The attacks of the provenance hardening issue, each replayed with two organisations and
//! now refused (or made harmless), plus the appeal, quorum and dispute rules they brought.

use verity_types::{
    attestation_id, sha256, Action, ApproveGateChange, AttestationSubmitted, ChallengeItem, ChallengeKind,
    ChallengeResolved, ChallengeReview, ChallengeStatus, ContentDisputed, CreateAccount, DatasetMode, DatasetPolicy,
    DeploymentAtRisk, Deprecate, Event, FlagCause, FlagLifted, GateChangeActivated, GateChangeApproved,
    GateChangeProposed, GateChangeSuperseded, GenesisAccount, GenesisOrg, GrantRole, LiftFlags, OptOutContent,
    OptOutScope, PayoutShare, RecordDecision, RecordRef, RegisterContent, RegisterModel, RegisterRun, ResolveChallenge,
    ResolveContentDispute, ReviewVoted, Role, Rollback, SetChallengeReview, SetGateRules, SetRiskPolicy,
    SubmitAttestation, WithdrawOptOut,
};

use super::tests::*;
use crate::testkit::*;

fn active(c: &Chain, r: &str) -> u32 {
    super::active_flag_count(&c.state, &r.parse().expect("ref"))
}

fn total(c: &Chain, r: &str) -> u32 {
    super::flag_count(&c.state, &r.parse().expect("ref"))
}

/// Beta's reviewer `brev`, model owner `bown` and curator `bcur` join [`lineage`].
fn two_orgs() -> Chain {
    let mut c = lineage();
    c.ok("badmin", create("brev", "beta", &[Role::Reviewer]));
    c.ok("badmin", create("bcur", "beta", &[Role::Curator]));
    c
}

fn resolve(id: verity_types::Hash, upheld: bool) -> Action {
    Action::ResolveChallenge(ResolveChallenge { challenge: id, upheld, reason: "reviewed".into() })
}

fn lift(id: verity_types::Hash) -> Action {
    Action::LiftFlags(LiftFlags { challenge: id, reason: "appeal granted".into() })
}

fn opt_out_all(i: u32) -> Action {
    Action::OptOut(OptOutContent { content: content_id(i), scope: OptOutScope::AllTraining, reason: "mine".into() })
}

/// Item 3: a reviewer of another organisation used to uphold a challenge of a dataset that
/// names no reviewers, flagging it and everything downstream. Only a reviewer of the
/// dataset's own organisation may now.
#[test]
fn a_reviewer_of_another_organisation_cannot_uphold_a_challenge() {
    let mut c = two_orgs();
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let ch = c.ok("carol", challenge_of(&m, 2, ChallengeKind::Unlicensed)).tx_hash;
    let r = c.fails("brev", resolve(ch, true), "unauthorized");
    assert!(r.error.expect("error").message.contains("reviewer of its organisation acme"));
    assert!(!flagged_pub(&c, "model:clf@1"), "nothing flagged");
    // Acme's own reviewer decides.
    c.ok("rev", resolve(ch, false));
    assert_eq!(super::challenge(&c.state, &ch).expect("stored").status, ChallengeStatus::Rejected);
}

/// Item 3: a challenge other than opted-out used to need no proof that the item is in the
/// dataset at all. Every challenge now proves membership against the manifest root.
#[test]
fn every_challenge_proves_the_item_is_in_the_dataset() {
    let mut c = two_orgs();
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let no_proof = Action::ChallengeItem(ChallengeItem {
        dataset: ds("ds"),
        version: 1,
        content: content_id(9),
        kind: ChallengeKind::Duplicate,
        evidence: sha256(b"e"),
        proof: None,
    });
    c.fails("carol", no_proof, "invalid_proof");
    // A proof of another item does not pass for content 9.
    let mut wrong = challenge_of(&m, 2, ChallengeKind::Duplicate);
    if let Action::ChallengeItem(ChallengeItem { content, .. }) = &mut wrong {
        *content = content_id(9);
    }
    c.fails("carol", wrong, "invalid_proof");
    c.ok("carol", challenge_of(&m, 2, ChallengeKind::Duplicate));
}

/// Item 3: an upheld challenge flagged forever. Its reviewers now lift the flags on
/// appeal: the flags stay on record, marked lifted; records flagged for another cause stay
/// blocked.
#[test]
fn upheld_flags_are_lifted_on_appeal_and_kept_on_record() {
    let mut c = two_orgs();
    // A second dataset `other`@1; run r2 uses both, model clf@2 comes from it.
    let other = manifest("other", 1, &[1]);
    c.ok("cur", publish(&other, DatasetMode::RootOnly, DatasetPolicy::default()));
    c.ok("owen", run_action("r2", &[("ds", 1), ("other", 1)], None));
    c.ok("owen", version_action("clf", 2, "r2"));
    c.ok("owen", gate("clf", &[]));
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let a = c.ok("carol", challenge_of(&m, 3, ChallengeKind::Mislabelled)).tx_hash;
    let b = c.ok("carol", challenge_of(&other, 1, ChallengeKind::Unlicensed)).tx_hash;
    c.fails("rev", lift(a), "lift_refused");
    c.ok("rev", resolve(a, true));
    c.ok("rev", resolve(b, true));
    for r in ["dataset:ds@1", "run:r1", "model:clf@1", "run:r2", "model:clf@2"] {
        assert_eq!(active(&c, r), if r.ends_with('2') { 2 } else { 1 }, "{r}");
    }
    c.fails("dep", deploy("clf", 1, "staging"), "lineage_flagged");

    // Neither another organisation's reviewer nor the challenger lifts them.
    c.fails("brev", lift(a), "unauthorized");
    let r = c.ok("rev", lift(a));
    let lifted: Vec<String> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::FlagLifted(FlagLifted { record, cause: FlagCause::ChallengeUpheld { challenge }, .. })
                if *challenge == a =>
            {
                Some(record.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(lifted, ["dataset:ds@1", "run:r1", "run:r2", "model:clf@1", "model:clf@2"]);
    c.fails("rev", lift(a), "lift_refused");
    // ds, r1 and clf@1 are usable again; r2 and clf@2 stay blocked by the other challenge.
    for r in ["dataset:ds@1", "run:r1", "model:clf@1"] {
        assert_eq!((active(&c, r), total(&c, r)), (0, 1), "{r}");
    }
    for r in ["run:r2", "model:clf@2"] {
        assert_eq!((active(&c, r), total(&c, r)), (1, 2), "{r}");
    }
    c.ok("dep", deploy("clf", 1, "staging"));
    c.fails("dep", deploy("clf", 2, "staging"), "lineage_flagged");
    c.ok("owen", run_action("r3", &[("ds", 1)], Some(("clf", 1))));
    // History: the flag and the challenge both record the lifting.
    let f = super::flags(&c.state, &RecordRef::model_version(&model("clf"), 1));
    let l = f[0].lifted.as_ref().expect("lifted");
    assert_eq!(
        (l.by.as_str(), l.reason.as_str(), f[0].cause.clone()),
        ("rev", "appeal granted", FlagCause::ChallengeUpheld { challenge: a })
    );
    let ch = super::challenge(&c.state, &a).expect("stored");
    assert_eq!((ch.status, ch.lifted.map(|l| l.height)), (ChallengeStatus::Upheld, Some(l.height)));
    // A rejected challenge has nothing to lift.
    let rejected = c.ok("carol", challenge_of(&m, 4, ChallengeKind::Duplicate)).tx_hash;
    c.ok("rev", resolve(rejected, false));
    c.fails("rev", lift(rejected), "lift_refused");
}

/// Item 3: the dataset's organisation may instead ask for a quorum of organisations; each
/// votes once, and the challenge (or its appeal) is decided when enough agree.
#[test]
fn a_review_quorum_decides_by_organisation_votes() {
    let mut c = two_orgs();
    c.ok("admin", create("rev2", "acme", &[Role::Reviewer]));
    let quorum = ChallengeReview::Quorum { orgs: vec![org("acme"), org("beta")], threshold: 2 };
    let set = Action::SetChallengeReview(SetChallengeReview { dataset: ds("ds"), version: 1, review: quorum.clone() });
    c.fails("bcur", set.clone(), "unauthorized");
    c.fails(
        "cur",
        Action::SetChallengeReview(SetChallengeReview {
            dataset: ds("ds"),
            version: 1,
            review: ChallengeReview::Quorum { orgs: vec![org("acme"), org("zeta")], threshold: 1 },
        }),
        "unknown_org",
    );
    c.ok("cur", set);
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let ch = c.ok("carol", challenge_of(&m, 1, ChallengeKind::Unlicensed)).tx_hash;
    assert_eq!(super::challenge(&c.state, &ch).expect("stored").review, quorum);
    let r = c.ok("rev", resolve(ch, true));
    assert!(matches!(r.events[..], [Event::ReviewVoted(ReviewVoted { lift: false, yes: true, .. })]), "{:?}", r.events);
    assert_eq!(super::challenge(&c.state, &ch).expect("stored").status, ChallengeStatus::Open);
    c.fails("rev2", resolve(ch, true), "already_done");
    c.fails("alice", resolve(ch, true), "unauthorized");
    let r = c.ok("brev", resolve(ch, true));
    assert!(r.events.iter().any(|e| matches!(e, Event::ChallengeResolved(ChallengeResolved { upheld: true, .. }))));
    assert_eq!(active(&c, "model:clf@1"), 1);
    // The appeal goes to the same quorum.
    c.ok("brev", lift(ch));
    assert_eq!(active(&c, "model:clf@1"), 1, "one vote of two");
    c.fails("brev", lift(ch), "already_done");
    c.ok("rev2", lift(ch));
    assert_eq!((active(&c, "model:clf@1"), total(&c, "model:clf@1")), (0, 1));
}

/// A ledger-upheld opted-out challenge is lifted only once the opt-out no longer stands.
#[test]
fn an_opted_out_challenge_is_lifted_only_after_the_opt_out_is_withdrawn() {
    let mut c = prov_chain();
    for i in 1..=3 {
        c.ok("cora", register(i));
    }
    let m = manifest("web", 1, &[1, 2, 3]);
    c.ok("cur", publish(&m, DatasetMode::RootOnly, DatasetPolicy::default()));
    let o = c.ok("cora", opt_out_all(2)).tx_hash;
    let ch = c.ok("alice", challenge_of(&m, 2, ChallengeKind::OptedOut)).tx_hash;
    assert_eq!(active(&c, "dataset:web@1"), 1);
    c.fails("rev", lift(ch), "lift_refused");
    c.ok("cora", Action::WithdrawOptOut(WithdrawOptOut { opt_out: o }));
    c.ok("rev", lift(ch));
    assert_eq!(active(&c, "dataset:web@1"), 0);
}

/// A repeated opted-out challenge of the same item in the same version used to be
/// upheld every time, flagging the version and everything downstream again; now the
/// repeat is refused while the first one's flags stand, and a new opt-out after a lifted
/// one can be challenged again.
#[test]
fn a_repeated_opted_out_challenge_is_refused() {
    let mut c = prov_chain();
    for i in 1..=2 {
        c.ok("cora", register(i));
    }
    let m = manifest("web", 1, &[1, 2]);
    c.ok("cur", publish(&m, DatasetMode::RootOnly, DatasetPolicy::default()));
    let o = c.ok("cora", opt_out_all(2)).tx_hash;
    let ch = c.ok("alice", challenge_of(&m, 2, ChallengeKind::OptedOut)).tx_hash;
    assert_eq!(total(&c, "dataset:web@1"), 1);
    c.fails("alice", challenge_of(&m, 2, ChallengeKind::OptedOut), "already_exists");
    c.fails("cora", challenge_of(&m, 2, ChallengeKind::OptedOut), "already_exists");
    assert_eq!(total(&c, "dataset:web@1"), 1, "no second flag");
    c.ok("cora", Action::WithdrawOptOut(WithdrawOptOut { opt_out: o }));
    c.ok("rev", lift(ch));
    c.ok("cora", opt_out_all(2));
    c.ok("alice", challenge_of(&m, 2, ChallengeKind::OptedOut));
    assert_eq!(active(&c, "dataset:web@1"), 1);
}

/// Item 4: beta registers acme's content after acme used it, then opts it out. This used
/// to flag acme's dataset, run and model (and an opted-out challenge was upheld at once);
/// now an opt-out reaches only uses made after the registration.
#[test]
fn registering_someone_elses_content_late_and_opting_out_flags_nothing() {
    let mut c = prov_chain();
    let open = DatasetPolicy { commercial: true, require_registered: false };
    let m = manifest("ds", 1, &[1, 2]);
    c.ok("cur", publish(&m, DatasetMode::Enumerated, open));
    c.ok("cur", items(&m));
    let web = manifest("web", 1, &[1, 2]);
    c.ok("cur", publish(&web, DatasetMode::RootOnly, open));
    c.ok("owen", run_action("r1", &[("ds", 1), ("web", 1)], None));
    c.ok("owen", Action::RegisterModel(RegisterModel { model: model("clf"), description: String::new() }));
    c.ok("owen", version_action("clf", 1, "r1"));
    // Beta's creator registers content 2 (acme's) and opts it out.
    let squat = Action::RegisterContent(RegisterContent {
        content: content_id(2),
        media_type: "text/plain".into(),
        licence: mit(),
        payout: vec![PayoutShare { account: acc("bcre"), share_ppm: 1_000_000 }],
    });
    c.ok("bcre", squat);
    let r = c.ok("bcre", opt_out_all(2));
    assert_eq!(r.events.len(), 1, "only the opt-out: {:?}", r.events);
    for rec in ["dataset:ds@1", "run:r1", "model:clf@1"] {
        assert_eq!(total(&c, rec), 0, "{rec}");
    }
    let r = c.fails("alice", challenge_of(&web, 2, ChallengeKind::OptedOut), "challenge_unfounded");
    assert!(r.error.expect("error").message.contains("after dataset web@1 was published"));
    // New uses are refused all the same.
    let m2 = manifest("ds", 2, &[1, 2]);
    c.ok("cur", publish(&m2, DatasetMode::Enumerated, open));
    c.fails("cur", items(&m2), "opted_out");
}

fn genesis_with_gamma() -> verity_types::Genesis {
    let mut g = genesis();
    g.orgs.push(GenesisOrg {
        id: org("gamma"),
        name: "Gamma".into(),
        admins: vec![GenesisAccount { id: acc("gadmin"), public_key: pk("gadmin") }],
    });
    g
}

fn beta_claim(i: u32) -> Action {
    Action::RegisterContent(RegisterContent {
        content: content_id(i),
        media_type: "text/plain".into(),
        licence: mit(),
        payout: vec![PayoutShare { account: acc("bcre"), share_ppm: 1_000_000 }],
    })
}

/// Item 4: a second organisation registering already-registered content used to be
/// refused, leaving the first registrant (perhaps a squatter) the silent winner. It now
/// opens a dispute that keeps both claims; opt-outs flag nothing while it is open.
#[test]
fn a_contested_registration_becomes_a_dispute() {
    let mut c = lineage();
    let r = c.ok("bcre", beta_claim(1));
    let [Event::ContentDisputed(ContentDisputed { dispute: id, claimant, .. })] = &r.events[..] else {
        panic!("{:?}", r.events)
    };
    assert_eq!(claimant, &acc("bcre"));
    let id = *id;
    let d = super::dispute(&c.state, &id).expect("stored");
    let claimants: Vec<&str> = d.claims.iter().map(|c| c.claimant.as_str()).collect();
    assert_eq!(claimants, ["cora", "bcre"]);
    assert_eq!(super::content(&c.state, &content_id(1)).expect("kept").creator, acc("cora"));
    assert_eq!(
        super::downstream(&c.state, &RecordRef::Content(content_id(1)), verity_types::RecordKind::Dispute, 0, 9),
        vec![RecordRef::Dispute(id)],
        "visible from the content"
    );
    // The same organisation again, or a second claim of beta: refused.
    c.fails("cora", register(1), "already_exists");
    c.fails("bcre", beta_claim(1), "already_exists");
    // While disputed, cora's opt-out flags nothing already in use.
    let r = c.ok("cora", opt_out_all(1));
    assert_eq!(r.events.len(), 1);
    assert_eq!(total(&c, "model:clf@1"), 0);
    // Neither side decides in its own favour; an unrelated member does not either.
    let settle = |winner: &str| {
        Action::ResolveContentDispute(ResolveContentDispute { dispute: id, winner: acc(winner), reason: "x".into() })
    };
    c.fails("bcre", settle("bcre"), "unauthorized");
    c.fails("cora", settle("cora"), "unauthorized");
    c.fails("alice", settle("bcre"), "unauthorized");
    c.fails("badmin", settle("ghost"), "not_found");
    // Acme's admin concedes: the registration is beta's now, cora's opt-out is withdrawn.
    let r = c.ok("admin", settle("bcre"));
    assert!(r.events.iter().any(|e| matches!(e, Event::OptOutWithdrawn(_))), "{:?}", r.events);
    let content = super::content(&c.state, &content_id(1)).expect("kept");
    assert_eq!((content.creator.as_str(), content.org.as_str()), ("bcre", "beta"));
    let d = super::dispute(&c.state, &id).expect("kept");
    assert_eq!(d.claims.len(), 2, "both claims stay on record");
    assert_eq!(d.resolution.expect("resolved").winner, acc("bcre"));
    c.fails("admin", settle("cora"), "already_done");
    // Beta's opt-out now reaches only uses after beta's claim: ds@1 came before it.
    c.ok("bcre", opt_out_all(1));
    assert_eq!(total(&c, "dataset:ds@1"), 0);
}

/// A neutral organisation's admin settles a dispute the parties do not.
#[test]
fn a_neutral_admin_settles_a_dispute() {
    let mut c = Chain::from_genesis(genesis_with_gamma());
    c.ok("admin", create("cora", "acme", &[Role::Creator]));
    c.ok("badmin", create("bcre", "beta", &[Role::Creator]));
    c.ok("cora", register(1));
    let id = c.ok("bcre", beta_claim(1)).tx_hash;
    let settle = |winner: &str| {
        Action::ResolveContentDispute(ResolveContentDispute { dispute: id, winner: acc(winner), reason: "x".into() })
    };
    c.ok("gadmin", settle("cora"));
    assert_eq!(super::content(&c.state, &content_id(1)).expect("kept").creator, acc("cora"));
    // A later claim opens a new dispute.
    let again = c.ok("bcre", beta_claim(1)).tx_hash;
    assert_ne!(again, id);
    assert_eq!(super::content_disputes(&c.state, &content_id(1)), vec![id, again]);
}

/// Item 10: an evaluator who saw another's attestation in gossip could sign the same
/// statement first and take its id, so the real evaluator's submission was refused as a
/// duplicate. Ids are now bound to the evaluator.
#[test]
fn attestation_ids_are_bound_to_the_evaluator() {
    let mut c = lineage();
    let st = statement("clf", 1, "performance", 950_000, true);
    let digest = sha256(&st.to_payload());
    let squat = c.ok("evan", attest("evan", &st));
    let real = c.ok("eve", attest("eve", &st));
    let id = |r: &verity_types::Receipt| match &r.events[0] {
        Event::AttestationSubmitted(AttestationSubmitted { attestation, .. }) => *attestation,
        e => panic!("{e:?}"),
    };
    assert_eq!(id(&real), attestation_id(&acc("eve"), &digest));
    assert_eq!(id(&squat), attestation_id(&acc("evan"), &digest));
    assert_eq!(super::attestation(&c.state, &id(&real)).expect("stored").evaluator, acc("eve"));
    c.fails("eve", attest("eve", &st), "already_exists");
}

/// Item 12: any organisation could record decisions against another's model, and a model
/// version could cite another organisation's run. Both are scoped to the model's
/// organisation now.
#[test]
fn decisions_and_model_versions_stay_within_the_models_organisation() {
    let mut c = two_orgs();
    let decide = Action::RecordDecision(RecordDecision {
        model: model("clf"),
        version: 1,
        input_commitment: sha256(b"salt|input"),
        output_hash: sha256(b"deny"),
        review: verity_types::ReviewLayer::None,
        binding: true,
        correction_policy: verity_types::CorrectionPolicy::ByOperator,
        context: "triage".into(),
    });
    c.fails("carol", decide.clone(), "unauthorized");
    c.ok("alice", decide);
    // Beta's model owner registers a model and tries to version it from acme's run r1.
    c.ok("badmin", create("bown", "beta", &[Role::ModelOwner]));
    c.ok("bown", Action::RegisterModel(RegisterModel { model: model("bclf"), description: String::new() }));
    let r = c.fails("bown", version_action("bclf", 1, "r1"), "unauthorized");
    assert!(r.error.expect("error").message.contains("run r1 belongs to organisation acme"));
}

fn decision_of(m: &str, v: u32) -> Action {
    Action::RecordDecision(RecordDecision {
        model: model(m),
        version: v,
        input_commitment: sha256(b"salt|input"),
        output_hash: sha256(b"deny"),
        review: verity_types::ReviewLayer::None,
        binding: false,
        correction_policy: verity_types::CorrectionPolicy::ByOperator,
        context: "triage".into(),
    })
}

/// Item 11: a model version flagged (or deprecated) after its deploy used to stay in force
/// silently. Its deployment is now reported at risk (an event, and in traces), and the
/// model's risk policy can suspend it: no decisions until it is rolled back or the flag
/// is lifted.
#[test]
fn a_deployment_flagged_after_the_deploy_is_at_risk_and_can_be_suspended() {
    let mut c = two_orgs();
    c.ok("owen", run_action("r2", &[("ds", 1)], None));
    c.ok("owen", version_action("clf", 2, "r2"));
    c.ok("owen", gate("clf", &[]));
    let d1 = c.ok("dep", deploy("clf", 1, "production")).tx_hash;
    c.fails(
        "carol",
        Action::SetRiskPolicy(SetRiskPolicy { model: model("clf"), suspend_at_risk: true }),
        "unauthorized",
    );
    c.ok("owen", Action::SetRiskPolicy(SetRiskPolicy { model: model("clf"), suspend_at_risk: true }));
    c.ok("alice", decision_of("clf", 1));
    // A challenge of ds@1 is upheld: clf@1 is flagged while in production.
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let ch = c.ok("carol", challenge_of(&m, 1, ChallengeKind::Unlicensed)).tx_hash;
    let r = c.ok("rev", resolve(ch, true));
    let at_risk: Vec<_> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::DeploymentAtRisk(DeploymentAtRisk { deployment, suspended, .. }) => Some((*deployment, *suspended)),
            _ => None,
        })
        .collect();
    assert_eq!(at_risk, [(d1, true)]);
    let dep = super::deployment(&c.state, &d1).expect("stored");
    let risk = super::deployment_risk(&c.state, &dep).expect("at risk");
    assert!(risk.suspended && risk.reasons[0].starts_with("flagged"), "{risk:?}");
    let t = super::trace(&c.state, &RecordRef::Deployment(d1), Default::default()).expect("exists");
    assert_eq!(t.root.at_risk, Some(risk));
    let r = c.fails("alice", decision_of("clf", 1), "deployment_suspended");
    assert!(r.error.expect("error").message.contains("production"));
    // Lifting the flag on appeal ends the suspension.
    c.ok("rev", lift(ch));
    assert_eq!(super::deployment_risk(&c.state, &dep), None);
    c.ok("alice", decision_of("clf", 1));

    // Deprecating the version in force: at risk again; rolling back ends it.
    c.ok("dep", deploy("clf", 2, "production"));
    let r = c.ok("owen", Action::Deprecate(Deprecate { model: model("clf"), version: 2, reason: "drift".into() }));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::DeploymentAtRisk(DeploymentAtRisk { version: 2, suspended: true, .. }))));
    c.fails("alice", decision_of("clf", 2), "deployment_suspended");
    c.ok(
        "dep",
        Action::Rollback(Rollback {
            model: model("clf"),
            environment: env("production"),
            to_version: 1,
            reason: "drift".into(),
        }),
    );
    c.ok("alice", decision_of("clf", 1));
}

/// Item 9 (part): an evaluator who also holds the deployer role used to pass the gate with
/// its own attestation. The deployer's own attestations no longer count.
#[test]
fn an_evaluator_does_not_pass_its_own_deploy() {
    let mut c = two_orgs();
    c.ok("admin", Action::GrantRole(GrantRole { account: acc("eve"), role: Role::Deployer }));
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let r = c.fails("eve", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(r.error.expect("error").message.contains("is the deployer"));
    c.ok("evan", attest("evan", &statement("clf", 1, "performance", 940_000, true)));
    c.ok("eve", deploy("clf", 1, "production"));
}

fn req(k: &str, envs: &[&str], min: i64) -> verity_types::GateRequirement {
    verity_types::GateRequirement {
        kind: kind(k),
        environments: envs.iter().map(|e| env(e)).collect(),
        evaluators: vec![],
        metrics: vec![verity_types::MetricBound { name: "accuracy".into(), bound_ppm: min }],
    }
}

fn rules(m: &str, r: verity_types::GateRules) -> Action {
    Action::SetGateRules(SetGateRules { model: model(m), rules: r })
}

fn approve(m: &str, change: verity_types::Hash) -> Action {
    Action::ApproveGateChange(ApproveGateChange { model: model(m), change })
}

/// The id of the gate change a `SetGate`/`SetGateRules` receipt proposed.
fn proposed(r: &verity_types::Receipt) -> verity_types::Hash {
    r.events
        .iter()
        .find_map(|e| match e {
            Event::GateChangeProposed(GateChangeProposed { change, .. }) => Some(*change),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no change proposed: {:?}", r.events))
}

fn set_at_once(r: &verity_types::Receipt) -> bool {
    r.events.iter().any(|e| matches!(e, Event::GateSet(_)))
        && !r.events.iter().any(|e| matches!(e, Event::GateChangeProposed(_)))
}

/// Item 9: the model's organisation could empty its own gate at any moment and deploy an
/// unevaluated version straight after. A loosening change now waits: another
/// organisation's org admin approves it (never the model's own), or the delay passes.
#[test]
fn emptying_a_gate_needs_another_organisations_approval() {
    let mut c = two_orgs();
    assert!(
        set_at_once(&c.ok("owen", gate("clf", &[("performance", &[], 900_000)]))),
        "the first gate is no loosening"
    );
    let r = c.ok("owen", gate("clf", &[]));
    let change = proposed(&r);
    assert!(!set_at_once(&r));
    // The attack: the empty gate is not in force, so the unevaluated version stays out.
    let refused = c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(refused.error.expect("error").message.contains("no performance attestation"));
    assert_eq!(super::gate(&c.state, &model("clf")).expect("gate").requirements.len(), 1);
    // The model's own organisation cannot approve its own change, nor can a non-admin of
    // another, nor can another organisation propose one.
    let r = c.fails("admin", approve("clf", change), "unauthorized");
    assert!(r.error.expect("error").message.contains("another organisation approves"));
    c.fails("carol", approve("clf", change), "unauthorized");
    c.fails("badmin", gate("clf", &[]), "unauthorized");
    c.fails("badmin", approve("clf", verity_types::sha256(b"another change")), "not_found");
    // Beta's admin approves: in force at once.
    let r = c.ok("badmin", approve("clf", change));
    assert!(
        matches!(&r.events[..], [Event::GateChangeApproved(GateChangeApproved { change: id, .. })] if *id == change)
    );
    let g = super::gate(&c.state, &model("clf")).expect("gate");
    assert!(g.requirements.is_empty() && g.change == Some(change));
    assert!(matches!(
        super::gate_change(&c.state, &change).expect("kept").status,
        verity_types::GateChangeStatus::Approved { .. }
    ));
    assert_eq!(super::pending_gate_change(&c.state, &model("clf")), None);
    c.ok("dep", deploy("clf", 1, "production"));
    c.fails("badmin", approve("clf", change), "gate_change_not_pending");
}

/// Item 9: an approval names one proposal; once a later change supersedes it, the approval
/// is refused (it cannot be spent on the later change, nor on the same rules proposed
/// again).
#[test]
fn an_approval_of_a_superseded_gate_change_is_refused() {
    let mut c = two_orgs();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000), ("fairness", &[], 850_000)]));
    let first = proposed(&c.ok("owen", gate("clf", &[("performance", &[], 900_000)])));
    let r = c.ok("owen", gate("clf", &[]));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::GateChangeSuperseded(GateChangeSuperseded { change, .. }) if *change == first)));
    let second = proposed(&r);
    let refused = c.fails("badmin", approve("clf", first), "gate_change_not_pending");
    assert!(refused.error.expect("error").message.contains("superseded"));
    // The same rules proposed again are a new change with a new id.
    let again = proposed(&c.ok("owen", gate("clf", &[("performance", &[], 900_000)])));
    assert_ne!(again, first);
    c.fails("badmin", approve("clf", second), "gate_change_not_pending");
    c.ok("badmin", approve("clf", again));
    assert_eq!(super::gate(&c.state, &model("clf")).expect("gate").requirements.len(), 1);
}

/// Item 9: without an approval, a loosening change is in force once its delay of block
/// time has passed, not before; the first transaction reading the gate after that puts it
/// in force (and says so).
#[test]
fn a_loosening_gate_change_takes_effect_after_its_delay() {
    use verity_types::limits::GATE_CHANGE_DELAY_MS;
    let mut c = two_orgs();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    let proposed_at = c.next_time_ms();
    let change = proposed(&c.ok("owen", gate("clf", &[])));
    let pending = super::pending_gate_change(&c.state, &model("clf")).expect("pending");
    assert_eq!(pending.effective_ms, proposed_at + GATE_CHANGE_DELAY_MS);
    c.wait_ms(GATE_CHANGE_DELAY_MS - 5_000);
    assert!(c.next_time_ms() < pending.effective_ms);
    c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    let in_force = |c: &Chain, t| super::gate_in_force(&c.state, &model("clf"), t).expect("gate");
    assert_eq!(in_force(&c, pending.effective_ms - 1).requirements.len(), 1);
    assert!(in_force(&c, pending.effective_ms).requirements.is_empty());
    c.wait_ms(5_000);
    assert!(c.next_time_ms() >= pending.effective_ms);
    let r = c.ok("dep", deploy("clf", 1, "production"));
    assert!(matches!(r.events[0], Event::GateChangeActivated(GateChangeActivated { change: id, .. }) if id == change));
    assert!(super::gate(&c.state, &model("clf")).expect("gate").requirements.is_empty());
    let r = c.fails("badmin", approve("clf", change), "gate_change_not_pending");
    assert!(r.error.expect("error").message.contains("delay passed"));
}

/// Item 9: a change that only tightens the gate applies at once, and replaces a loosening
/// change still pending (only the newest proposal can take effect).
#[test]
fn a_tightening_gate_change_applies_at_once_and_supersedes_a_pending_one() {
    let mut c = two_orgs();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    let loosening = proposed(&c.ok("owen", gate("clf", &[])));
    let r = c.ok("owen", gate("clf", &[("performance", &[], 900_000), ("fairness", &["production"], 850_000)]));
    assert!(set_at_once(&r));
    assert!(r.events.iter().any(
        |e| matches!(e, Event::GateChangeSuperseded(GateChangeSuperseded { change, .. }) if *change == loosening)
    ));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let r = c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(r.error.expect("error").message.contains("fairness"));
    c.fails("badmin", approve("clf", loosening), "gate_change_not_pending");
    // Raising a bound is a change the gate cannot call a tightening (the attestation, not
    // the gate, says whether a metric's bound is a minimum or a maximum): it waits.
    proposed(&c.ok("owen", gate("clf", &[("performance", &[], 950_000), ("fairness", &["production"], 850_000)])));
}

/// Item 9: a requirement scoped to `production` was bypassed by deploying to `prod-eu`, a
/// name no requirement listed. An unlisted environment now needs every scoped requirement,
/// or the gate's `defaults` when it has them.
#[test]
fn an_unlisted_environment_does_not_bypass_scoped_requirements() {
    let mut c = two_orgs();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000), ("fairness", &["production"], 850_000)]));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let r = c.fails("dep", deploy("clf", 1, "prod-eu"), "gate_not_satisfied");
    assert!(r.error.expect("error").message.contains("fairness"), "the attack: an unlisted name");
    c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    // A model with explicit defaults: unlisted environments need safety, not fairness.
    c.ok("owen", Action::RegisterModel(RegisterModel { model: model("clf2"), description: String::new() }));
    c.ok("owen", run_action("r2", &[("ds", 1)], None));
    c.ok("owen", version_action("clf2", 1, "r2"));
    let r = verity_types::GateRules {
        requirements: vec![req("performance", &[], 900_000), req("fairness", &["production"], 850_000)],
        defaults: Some(vec![req("safety", &[], 900_000)]),
        independent: false,
    };
    c.ok("owen", rules("clf2", r.clone()));
    c.ok("eve", attest("eve", &statement("clf2", 1, "performance", 950_000, true)));
    c.fails("dep", deploy("clf2", 1, "canary"), "gate_not_satisfied");
    c.ok("evan", attest("evan", &statement("clf2", 1, "safety", 950_000, true)));
    let d = c.ok("dep", deploy("clf2", 1, "canary")).tx_hash;
    assert_eq!(super::deployment(&c.state, &d).expect("stored").attestations.len(), 2, "performance and safety");
    c.fails("dep", deploy("clf2", 1, "production"), "gate_not_satisfied");
    // Dropping the defaults' safety requirement loosens the gate for unlisted environments.
    let looser = verity_types::GateRules { defaults: Some(vec![]), ..r };
    let change = proposed(&c.ok("owen", rules("clf2", looser)));
    let pending = super::gate_change(&c.state, &change).expect("stored");
    assert!(pending.loosens.contains("unlisted environment"), "{}", pending.loosens);
}

/// Item 9: with no evaluator list, a colleague of the deployer (an evaluator of the
/// model's own organisation) satisfied the gate. A gate asking for independent evaluation
/// counts only evaluators of other organisations; dropping that is a loosening.
#[test]
fn an_independent_gate_refuses_evaluators_of_the_models_organisation() {
    let mut c = two_orgs();
    c.ok("badmin", create("beva", "beta", &[Role::Evaluator]));
    let independent = verity_types::GateRules {
        requirements: vec![req("performance", &[], 900_000)],
        defaults: None,
        independent: true,
    };
    c.ok("owen", rules("clf", independent));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let r = c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(r.error.expect("error").message.contains("belongs to the model's organisation acme"));
    c.ok("beva", attest("beva", &statement("clf", 1, "performance", 930_000, true)));
    let d = c.ok("dep", deploy("clf", 1, "production")).tx_hash;
    let chosen = super::deployment(&c.state, &d).expect("stored").attestations;
    assert_eq!(super::attestation(&c.state, &chosen[0]).expect("stored").evaluator, acc("beva"));
    let r = c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    let change = super::gate_change(&c.state, &proposed(&r)).expect("stored");
    assert!(change.loosens.contains("independent"), "{}", change.loosens);
}

/// Item 9: a deployer with a second account holding the evaluator role (the same key)
/// passed its own deploy under the other name. An attestation whose evaluator signs with
/// the deployer's key does not count.
#[test]
fn an_evaluator_account_with_the_deployers_key_does_not_pass_its_deploy() {
    let mut c = two_orgs();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    c.ok(
        "admin",
        Action::CreateAccount(CreateAccount {
            account: acc("dep-eval"),
            public_key: pk("dep"),
            org: org("acme"),
            roles: vec![Role::Evaluator],
        }),
    );
    let st = statement("clf", 1, "performance", 950_000, true);
    let submit = Action::SubmitAttestation(SubmitAttestation {
        envelope: verity_types::dsse::Envelope::sign(
            verity_types::dsse::IN_TOTO_PAYLOAD_TYPE,
            st.to_payload(),
            &acc("dep-eval"),
            &secret("dep"),
        ),
    });
    let tx = sign_with("dep-eval", &secret("dep"), c.next_nonce("dep-eval"), submit);
    assert_eq!(c.block(&[tx])[0].status, verity_types::TxStatus::Success);
    let r = c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(r.error.expect("error").message.contains("signs with the deployer's key"));
    c.ok("eve", attest("eve", &st));
    c.ok("dep", deploy("clf", 1, "production"));
}

/// Item 13: a compute provider's run-log signature used to cover only the run id and the
/// log hash, so it could be replayed on another chain (every `verity init` chain was
/// `verity-dev`) or under other datasets. It now binds the chain id and the datasets.
#[test]
fn a_provider_signature_holds_for_one_chain_and_one_set_of_datasets() {
    use verity_types::{run_log_message, DatasetRef};
    let mut c = lineage();
    let with_signature = |message: Vec<u8>| {
        let mut a = run_action("r2", &[("ds", 1)], None);
        if let Action::RegisterRun(RegisterRun { provider_signature, .. }) = &mut a {
            *provider_signature = secret("pam").sign(&message);
        }
        a
    };
    let run = verity_types::RunId::new("r2").expect("id");
    let log = sha256(b"log of r2");
    let ds1 = vec![DatasetRef { dataset: ds("ds"), version: 1 }];
    // Signed for another chain with the same run, datasets and log: refused.
    let other_chain = with_signature(run_log_message("verity-dev", &run, &ds1, &log));
    let r = c.fails("owen", other_chain, "bad_signature");
    assert!(r.error.expect("error").message.contains("this chain"));
    // Signed for this chain but no datasets (or others): refused under ds@1.
    c.fails("owen", with_signature(run_log_message(CHAIN, &run, &[], &log)), "bad_signature");
    // The version 1 message (run and log alone) is refused.
    let mut v1 = b"verity/run-log/v1\0".to_vec();
    v1.extend_from_slice(&verity_types::encoding::encode(&run));
    v1.extend_from_slice(log.as_bytes());
    c.fails("owen", with_signature(v1), "bad_signature");
    // The signature over this chain, this run, its datasets and its log: accepted.
    c.ok("owen", with_signature(run_log_message(CHAIN, &run, &ds1, &log)));
}
