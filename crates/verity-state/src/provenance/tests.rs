//! Provenance rules, one scenario per rule, and property tests of the gate and of
//! flagging.

use proptest::prelude::*;
use verity_types::dsse::{Envelope, EvalDataset, EvaluationPredicate, EvaluationStatement, IN_TOTO_PAYLOAD_TYPE};
use verity_types::manifest::{DatasetManifest, ManifestItem};
use verity_types::{
    run_log_message, sha256, Action, AddDatasetItems, AnswerChallenge, ApproveGateChange, AttestationKind,
    AttestationSubmitted, ChallengeItem, ChallengeKind, ChallengeStatus, ContentRegistered, CorrectDecision,
    CorrectionPolicy, DatasetCompleted, DatasetId, DatasetItem, DatasetMode, DatasetPolicy, DatasetRef, DatasetStatus,
    Deploy, Deployed, Deprecate, EnvId, Event, GateRequirement, Hash, Licence, Metric, MetricBound, ModelId,
    ModelVersionRef, OptOutContent, OptOutScope, PayoutShare, PublishDataset, RecordDecision, RecordFlagged,
    RecordKind, RecordRef, RegisterContent, RegisterModel, RegisterModelVersion, RegisterRun, ResolveChallenge,
    ReviewLayer, RevokeAttestation, RevokeRole, Role, Rollback, RunId, SetGate, SetGateRules, SubmitAttestation,
    TxStatus, WithdrawOptOut,
};

use crate::testkit::*;

pub fn mit() -> Licence {
    Licence::Spdx("MIT".into())
}

pub fn ds(s: &str) -> DatasetId {
    DatasetId::new(s).expect("dataset id")
}

pub fn model(s: &str) -> ModelId {
    ModelId::new(s).expect("model id")
}

pub fn env(s: &str) -> EnvId {
    EnvId::new(s).expect("env")
}

pub fn kind(s: &str) -> AttestationKind {
    AttestationKind::new(s).expect("kind")
}

pub fn content_id(i: u32) -> Hash {
    sha256(format!("content {i}").as_bytes())
}

/// The chain with provenance roles in acme: creator `cora`, curator `cur`, model owner
/// `owen`, provider `pam`, evaluators `eve` and `evan`, deployer `dep`, reviewer `rev`
/// and member `alice`; beta's creator `bcre`.
pub fn prov_chain() -> Chain {
    with_prov_roles(Chain::with_members())
}

/// Adds [`prov_chain`]'s accounts to a chain that has the fixture's organisations.
pub fn with_prov_roles(mut c: Chain) -> Chain {
    for (name, role) in [
        ("cora", Role::Creator),
        ("cur", Role::Curator),
        ("owen", Role::ModelOwner),
        ("pam", Role::Provider),
        ("eve", Role::Evaluator),
        ("evan", Role::Evaluator),
        ("dep", Role::Deployer),
        ("rev", Role::Reviewer),
    ] {
        c.ok("admin", create(name, "acme", &[role]));
    }
    c.ok("badmin", create("bcre", "beta", &[Role::Creator]));
    c
}

pub fn register(i: u32) -> Action {
    Action::RegisterContent(RegisterContent {
        content: content_id(i),
        media_type: "text/plain".into(),
        licence: mit(),
        payout: vec![PayoutShare { account: acc("cora"), share_ppm: 1_000_000 }],
    })
}

pub fn manifest(name: &str, version: u32, ids: &[u32]) -> DatasetManifest {
    let items = ids.iter().map(|i| ManifestItem { content: content_id(*i), licence: mit(), name: None }).collect();
    DatasetManifest::new(ds(name), version, items).expect("manifest")
}

pub fn publish(m: &DatasetManifest, mode: DatasetMode, policy: DatasetPolicy) -> Action {
    Action::PublishDataset(PublishDataset {
        dataset: m.dataset.clone(),
        version: m.version,
        manifest_hash: m.hash(),
        root: m.root(),
        count: m.items.len() as u64,
        licences: m.licences(),
        mode,
        policy,
        supersedes: (m.version > 1).then(|| m.version - 1),
        reviewers: vec![],
        challenge_window: 10,
    })
}

pub fn items(m: &DatasetManifest) -> Action {
    Action::AddDatasetItems(AddDatasetItems {
        dataset: m.dataset.clone(),
        version: m.version,
        items: m.items.iter().map(|i| DatasetItem { content: i.content, licence: i.licence.clone() }).collect(),
    })
}

pub fn run_action(run: &str, datasets: &[(&str, u32)], base: Option<(&str, u32)>) -> Action {
    let id = RunId::new(run).expect("run id");
    let log = sha256(format!("log of {run}").as_bytes());
    Action::RegisterRun(RegisterRun {
        run: id.clone(),
        datasets: datasets.iter().map(|(d, v)| DatasetRef { dataset: ds(d), version: *v }).collect(),
        base_model: base.map(|(m, v)| ModelVersionRef { model: model(m), version: v }),
        code_commit: "0123abc".into(),
        hyperparams_hash: sha256(b"lr=0.1"),
        training_date: "2026-11-23".into(),
        team: "vision".into(),
        run_log_hash: log,
        provider: acc("pam"),
        provider_signature: secret("pam").sign(&run_log_message(
            crate::testkit::CHAIN,
            &id,
            &datasets.iter().map(|(d, v)| DatasetRef { dataset: ds(d), version: *v }).collect::<Vec<_>>(),
            &log,
        )),
    })
}

pub fn fingerprint(m: &str, v: u32) -> Hash {
    sha256(format!("weights of {m}@{v}").as_bytes())
}

pub fn version_action(m: &str, v: u32, run: &str) -> Action {
    Action::RegisterModelVersion(RegisterModelVersion {
        model: model(m),
        version: v,
        fingerprint: fingerprint(m, v),
        run: RunId::new(run).expect("run"),
    })
}

pub fn statement(m: &str, v: u32, k: &str, accuracy_ppm: i64, passed: bool) -> EvaluationStatement {
    EvaluationStatement::new(
        &format!("{m}@{v}"),
        fingerprint(m, v),
        EvaluationPredicate {
            kind: kind(k),
            suite: format!("{k}-suite"),
            dataset: EvalDataset { name: "held-out".into(), sha256: sha256(b"held-out") },
            metrics: vec![Metric {
                name: "accuracy".into(),
                value_ppm: accuracy_ppm,
                threshold_ppm: Some(if k == "fairness" { 850_000 } else { 900_000 }),
                higher_is_better: true,
            }],
            passed,
        },
    )
}

pub fn attest(evaluator: &str, st: &EvaluationStatement) -> Action {
    Action::SubmitAttestation(SubmitAttestation {
        envelope: Envelope::sign(IN_TOTO_PAYLOAD_TYPE, st.to_payload(), &acc(evaluator), &secret(evaluator)),
    })
}

pub fn gate(m: &str, reqs: &[(&str, &[&str], i64)]) -> Action {
    Action::SetGate(SetGate {
        model: model(m),
        requirements: reqs
            .iter()
            .map(|(k, envs, min)| GateRequirement {
                kind: kind(k),
                environments: envs.iter().map(|e| env(e)).collect(),
                evaluators: vec![],
                metrics: vec![MetricBound { name: "accuracy".into(), bound_ppm: *min }],
            })
            .collect(),
    })
}

pub fn deploy(m: &str, v: u32, e: &str) -> Action {
    Action::Deploy(Deploy { model: model(m), version: v, environment: env(e) })
}

/// Content 1..=4 registered, dataset `ds`@1 enumerated over them and published, run
/// `r1` on it, model `clf` with version 1 from `r1`.
pub fn lineage() -> Chain {
    lineage_on(prov_chain())
}

/// Adds [`lineage`]'s records to a chain with [`prov_chain`]'s accounts.
pub fn lineage_on(mut c: Chain) -> Chain {
    for i in 1..=4 {
        c.ok("cora", register(i));
    }
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    c.ok("cur", publish(&m, DatasetMode::Enumerated, DatasetPolicy { commercial: true, require_registered: true }));
    c.ok("cur", items(&m));
    c.ok("owen", run_action("r1", &[("ds", 1)], None));
    c.ok("owen", Action::RegisterModel(RegisterModel { model: model("clf"), description: "digits".into() }));
    c.ok("owen", version_action("clf", 1, "r1"));
    c
}

fn flagged(c: &Chain, r: &RecordRef) -> bool {
    super::active_flag_count(&c.state, r) > 0
}

/// Whether the record (in text form) carries an active flag.
pub fn flagged_pub(c: &Chain, r: &str) -> bool {
    flagged(c, &r.parse().expect("ref"))
}

/// A challenge of item `content` of the manifest's version, with its inclusion proof.
pub fn challenge_of(m: &DatasetManifest, content: u32, kind: ChallengeKind) -> Action {
    Action::ChallengeItem(ChallengeItem {
        dataset: m.dataset.clone(),
        version: m.version,
        content: content_id(content),
        kind,
        evidence: sha256(b"evidence"),
        proof: Some(m.prove(&content_id(content)).expect("an item of the manifest").proof),
    })
}

#[test]
fn content_registration_rules() {
    let mut c = prov_chain();
    let r = c.ok("cora", register(1));
    assert_eq!(
        r.events,
        vec![Event::ContentRegistered(ContentRegistered { content: content_id(1), creator: acc("cora") })]
    );
    c.fails("cora", register(1), "already_exists");
    c.fails("alice", register(2), "unauthorized");
    let bad_payout = Action::RegisterContent(RegisterContent {
        content: content_id(3),
        media_type: "text/plain".into(),
        licence: mit(),
        payout: vec![PayoutShare { account: acc("ghost"), share_ppm: 1_000_000 }],
    });
    c.fails("cora", bad_payout, "unknown_account");
    let rec = super::content(&c.state, &content_id(1)).expect("stored");
    assert_eq!((rec.creator, rec.org, rec.licence), (acc("cora"), org("acme"), mit()));
}

#[test]
fn enumerated_dataset_checks_every_item() {
    let mut c = prov_chain();
    for i in 1..=3 {
        c.ok("cora", register(i));
    }
    c.ok(
        "cora",
        Action::OptOut(OptOutContent { content: content_id(2), scope: OptOutScope::AllTraining, reason: "no".into() }),
    );
    let policy = DatasetPolicy { commercial: false, require_registered: true };

    // An opted-out item is refused; the version stays pending.
    let m = manifest("ds", 1, &[1, 2, 3]);
    c.ok("cur", publish(&m, DatasetMode::Enumerated, policy));
    let r = c.fails("cur", items(&m), "opted_out");
    assert!(r.error.expect("error").message.contains(&content_id(2).to_hex()));
    let v = super::dataset_version(&c.state, &DatasetRef { dataset: ds("ds"), version: 1 }).expect("stored");
    assert_eq!((v.status, v.received), (DatasetStatus::Pending, 0));
    c.fails("owen", run_action("r0", &[("ds", 1)], None), "dataset_pending");

    // Unregistered content, when the policy requires registration.
    let m2 = manifest("ds", 2, &[1, 9]);
    c.ok("cur", publish(&m2, DatasetMode::Enumerated, policy));
    c.fails("cur", items(&m2), "unregistered_content");
    // Only the publishing curator adds items; chunks go in ascending order.
    c.fails("alice", items(&m2), "unauthorized");

    // A good version in two chunks, in order; a repeated chunk is refused.
    let m3 = manifest("ds", 3, &[1, 3]);
    c.ok("cur", publish(&m3, DatasetMode::Enumerated, policy));
    let whole = items(&m3);
    let Action::AddDatasetItems(AddDatasetItems { items: all, .. }) = whole.clone() else { unreachable!() };
    let chunk = |xs: &[DatasetItem]| {
        Action::AddDatasetItems(AddDatasetItems { dataset: ds("ds"), version: 3, items: xs.to_vec() })
    };
    c.ok("cur", chunk(&all[..1]));
    c.fails("cur", chunk(&all[..1]), "bad_items");
    let r = c.ok("cur", chunk(&all[1..]));
    assert!(r.events.iter().any(|e| matches!(e, Event::DatasetCompleted(DatasetCompleted { version: 3, .. }))));
    c.fails("cur", chunk(&all[1..]), "bad_items");

    // A declared root that the items do not match is refused on the last chunk.
    let m4 = manifest("ds", 4, &[1, 3]);
    let mut p = publish(&m4, DatasetMode::Enumerated, policy);
    if let Action::PublishDataset(PublishDataset { root, .. }) = &mut p {
        *root = sha256(b"wrong");
    }
    c.ok("cur", p);
    c.fails("cur", items(&m4), "root_mismatch");

    // Licence outside the declared set, or differing from the registration.
    let m5 = manifest("ds", 5, &[1]);
    c.ok("cur", publish(&m5, DatasetMode::Enumerated, policy));
    let other = Action::AddDatasetItems(AddDatasetItems {
        dataset: ds("ds"),
        version: 5,
        items: vec![DatasetItem { content: content_id(1), licence: Licence::Spdx("CC0-1.0".into()) }],
    });
    c.fails("cur", other, "licence_mismatch");
    c.fails("cur", publish(&manifest("ds", 9, &[1]), DatasetMode::RootOnly, policy), "wrong_version");
}

#[test]
fn opt_out_scopes() {
    let mut c = prov_chain();
    for i in 1..=2 {
        c.ok("cora", register(i));
    }
    c.ok(
        "cora",
        Action::OptOut(OptOutContent {
            content: content_id(1),
            scope: OptOutScope::CommercialTraining,
            reason: String::new(),
        }),
    );
    c.fails(
        "alice",
        Action::OptOut(OptOutContent {
            content: content_id(2),
            scope: OptOutScope::AllTraining,
            reason: String::new(),
        }),
        "unauthorized",
    );
    // Beta's admin does not control acme's content; acme's admin does.
    c.fails(
        "badmin",
        Action::OptOut(OptOutContent {
            content: content_id(2),
            scope: OptOutScope::AllTraining,
            reason: String::new(),
        }),
        "unauthorized",
    );
    let non_commercial = DatasetPolicy { commercial: false, require_registered: true };
    let m = manifest("nc", 1, &[1, 2]);
    c.ok("cur", publish(&m, DatasetMode::Enumerated, non_commercial));
    c.ok("cur", items(&m));
    let commercial = DatasetPolicy { commercial: true, require_registered: true };
    let m = manifest("com", 1, &[1, 2]);
    c.ok("cur", publish(&m, DatasetMode::Enumerated, commercial));
    c.fails("cur", items(&m), "opted_out");
    // Withdrawn: allowed again, and both stay on record.
    let oid = super::content(&c.state, &content_id(1)).expect("c").opt_outs[0];
    c.ok("cora", Action::WithdrawOptOut(WithdrawOptOut { opt_out: oid }));
    c.fails("cora", Action::WithdrawOptOut(WithdrawOptOut { opt_out: oid }), "already_done");
    c.ok("cur", items(&m));
    assert_eq!(super::opt_out(&c.state, &oid).expect("kept").withdrawn_height, Some(c.height - 2));
}

#[test]
fn root_only_challenge_with_proof_flags_everything_downstream() {
    let mut c = prov_chain();
    for i in 1..=5 {
        c.ok("cora", register(i));
    }
    let m = manifest("web", 1, &[1, 2, 3, 4, 5]);
    c.ok("cur", publish(&m, DatasetMode::RootOnly, DatasetPolicy::default()));
    c.ok("owen", run_action("r1", &[("web", 1)], None));
    c.ok("owen", Action::RegisterModel(RegisterModel { model: model("clf"), description: String::new() }));
    c.ok("owen", version_action("clf", 1, "r1"));
    c.ok("owen", run_action("r2", &[("web", 1)], Some(("clf", 1))));
    c.ok("owen", version_action("clf", 2, "r2"));
    c.ok("owen", gate("clf", &[]));

    let proof = m.prove(&content_id(3)).expect("member").proof;
    let challenge = |proof| {
        Action::ChallengeItem(ChallengeItem {
            dataset: ds("web"),
            version: 1,
            content: content_id(3),
            kind: ChallengeKind::OptedOut,
            evidence: sha256(b"evidence"),
            proof,
        })
    };
    // Not opted out yet: unfounded. A bad proof: refused. No proof: refused.
    c.fails("alice", challenge(Some(proof.clone())), "challenge_unfounded");
    let mut bad = proof.clone();
    bad.path[0] = sha256(b"x");
    c.fails("alice", challenge(Some(bad)), "invalid_proof");
    c.fails("alice", challenge(None), "invalid_proof");
    // Opted out (root-only versions have no item list, so nothing is flagged yet).
    let r = c.ok(
        "cora",
        Action::OptOut(OptOutContent {
            content: content_id(3),
            scope: OptOutScope::AllTraining,
            reason: String::new(),
        }),
    );
    assert_eq!(r.events.len(), 1);
    let r = c.ok("alice", challenge(Some(proof)));
    let flagged_records: Vec<String> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RecordFlagged(RecordFlagged { record, .. }) => Some(record.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(flagged_records, ["dataset:web@1", "run:r1", "run:r2", "model:clf@1", "model:clf@2"]);
    let ch = super::challenge(&c.state, &r.tx_hash).expect("stored");
    assert_eq!(ch.status, ChallengeStatus::Upheld);
    // Flagged records can be neither used nor deployed.
    c.fails("dep", deploy("clf", 2, "staging"), "lineage_flagged");
    c.fails("owen", run_action("r3", &[("web", 1)], None), "lineage_flagged");
    c.fails("owen", run_action("r3", &[("web", 1)], Some(("clf", 1))), "lineage_flagged");
}

#[test]
fn reviewed_challenges_and_their_window() {
    let mut c = lineage();
    let m = manifest("ds", 1, &[1, 2, 3, 4]);
    let open = |content: u32, k: ChallengeKind| challenge_of(&m, content, k);
    let r = c.ok("alice", open(1, ChallengeKind::Duplicate));
    let id = r.tx_hash;
    c.fails(
        "alice",
        Action::AnswerChallenge(AnswerChallenge { challenge: id, response: sha256(b"a") }),
        "unauthorized",
    );
    c.ok("cur", Action::AnswerChallenge(AnswerChallenge { challenge: id, response: sha256(b"a") }));
    c.fails("cur", Action::AnswerChallenge(AnswerChallenge { challenge: id, response: sha256(b"a") }), "already_done");
    c.fails(
        "cur",
        Action::ResolveChallenge(ResolveChallenge { challenge: id, upheld: false, reason: String::new() }),
        "unauthorized",
    );
    c.fails(
        "alice",
        Action::ResolveChallenge(ResolveChallenge { challenge: id, upheld: true, reason: String::new() }),
        "unauthorized",
    );
    c.ok(
        "rev",
        Action::ResolveChallenge(ResolveChallenge { challenge: id, upheld: false, reason: "not a duplicate".into() }),
    );
    c.fails(
        "rev",
        Action::ResolveChallenge(ResolveChallenge { challenge: id, upheld: true, reason: String::new() }),
        "challenge_closed",
    );
    assert!(!flagged(&c, &RecordRef::model_version(&model("clf"), 1)));

    // A second challenge expires after its window of 10 heights.
    let late = c.ok("alice", open(2, ChallengeKind::Mislabelled)).tx_hash;
    for _ in 0..10 {
        c.ok("alice", transfer("bob", "usd", 1));
    }
    c.fails(
        "rev",
        Action::ResolveChallenge(ResolveChallenge { challenge: late, upheld: true, reason: String::new() }),
        "challenge_closed",
    );

    // An upheld one flags the dataset, the run and the model version.
    let third = c.ok("alice", open(3, ChallengeKind::Unlicensed)).tx_hash;
    c.ok(
        "rev",
        Action::ResolveChallenge(ResolveChallenge { challenge: third, upheld: true, reason: "no licence".into() }),
    );
    for r in ["dataset:ds@1", "run:r1", "model:clf@1"] {
        assert!(flagged(&c, &r.parse().expect("ref")), "{r}");
    }
}

#[test]
fn opting_out_after_use_flags_the_lineage() {
    let mut c = lineage();
    let mv = RecordRef::model_version(&model("clf"), 1);
    assert!(!flagged(&c, &mv));
    let r = c.ok(
        "cora",
        Action::OptOut(OptOutContent {
            content: content_id(4),
            scope: OptOutScope::AllTraining,
            reason: "withdraw".into(),
        }),
    );
    assert_eq!(r.events.iter().filter(|e| matches!(e, Event::RecordFlagged(_))).count(), 3);
    let f = super::flags(&c.state, &mv);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].origin, DatasetRef { dataset: ds("ds"), version: 1 });
}

#[test]
fn runs_and_model_versions() {
    let mut c = lineage();
    // A provider signature over another log is refused, as is a provider without the role.
    let mut bad = run_action("r9", &[("ds", 1)], None);
    if let Action::RegisterRun(RegisterRun { run_log_hash, .. }) = &mut bad {
        *run_log_hash = sha256(b"other log");
    }
    c.fails("owen", bad, "bad_signature");
    let mut not_provider = run_action("r9", &[("ds", 1)], None);
    if let Action::RegisterRun(RegisterRun { provider, .. }) = &mut not_provider {
        *provider = acc("alice");
    }
    c.fails("owen", not_provider, "bad_signature");
    c.fails("owen", run_action("r1", &[("ds", 1)], None), "already_exists");
    c.fails("owen", run_action("r9", &[("nope", 1)], None), "not_found");
    c.fails("alice", run_action("r9", &[("ds", 1)], None), "unauthorized");
    c.ok("owen", run_action("r2", &[("ds", 1)], Some(("clf", 1))));
    c.fails("owen", version_action("clf", 3, "r2"), "wrong_version");
    let mut dup = version_action("clf", 2, "r2");
    if let Action::RegisterModelVersion(RegisterModelVersion { fingerprint: f, .. }) = &mut dup {
        *f = fingerprint("clf", 1);
    }
    c.fails("owen", dup, "already_exists");
    c.ok("owen", version_action("clf", 2, "r2"));
    let v2 = super::model_version(&c.state, &ModelVersionRef { model: model("clf"), version: 2 }).expect("v2");
    assert_eq!(v2.depth, 1);
    assert_eq!(super::model_by_fingerprint(&c.state, &fingerprint("clf", 2)).map(|r| r.version), Some(2));
    // Another organisation's owner cannot add versions.
    c.ok("badmin", create("bown", "beta", &[Role::ModelOwner]));
    c.fails("bown", version_action("clf", 3, "r2"), "unauthorized");
    // Upstream and downstream of the run.
    let run = RecordRef::Run(RunId::new("r2").expect("id"));
    assert_eq!(
        super::upstream(&c.state, &run),
        vec!["dataset:ds@1".parse().expect("ref"), "model:clf@1".parse().expect("ref")]
    );
    assert_eq!(
        super::downstream(&c.state, &run, RecordKind::ModelVersion, 0, 10),
        vec![RecordRef::model_version(&model("clf"), 2)]
    );
}

#[test]
fn gate_attestations_deploys_rollbacks_and_deprecation() {
    let mut c = lineage();
    c.ok("owen", run_action("r2", &[("ds", 1)], None));
    c.ok("owen", version_action("clf", 2, "r2"));
    c.fails("dep", deploy("clf", 1, "production"), "no_gate");
    c.fails("dep", gate("clf", &[]), "unauthorized");
    // Fairness in production only; environments no requirement names (staging) need the
    // unscoped requirements only (empty defaults).
    let rules = verity_types::GateRules {
        defaults: Some(vec![]),
        ..verity_types::GateRules::requirements(
            match gate("clf", &[("performance", &[], 920_000), ("fairness", &["production"], 850_000)]) {
                Action::SetGate(SetGate { requirements, .. }) => requirements,
                _ => unreachable!("gate builds a SetGate"),
            },
        )
    };
    c.ok("owen", Action::SetGateRules(SetGateRules { model: model("clf"), rules }));
    c.fails("dep", deploy("clf", 1, "staging"), "gate_not_satisfied");

    // Attestation checks: signer, subject, payload type, evaluator role.
    let st = statement("clf", 1, "performance", 950_000, true);
    let mut forged = attest("eve", &st);
    if let Action::SubmitAttestation(SubmitAttestation { envelope }) = &mut forged {
        envelope.signatures[0].sig = secret("alice").sign(b"x");
    }
    c.fails("eve", forged, "bad_signature");
    c.fails("evan", attest("eve", &st), "bad_signature");
    c.fails("alice", attest("alice", &st), "unauthorized");
    let unknown = EvaluationStatement::new("x", sha256(b"unknown"), st.predicate.clone());
    c.fails("eve", attest("eve", &unknown), "invalid_attestation");
    let mut wrong_type = attest("eve", &st);
    if let Action::SubmitAttestation(SubmitAttestation { envelope }) = &mut wrong_type {
        *envelope = Envelope::sign("text/plain", st.to_payload(), &acc("eve"), &secret("eve"));
    }
    c.fails("eve", wrong_type, "invalid_attestation");

    let perf1 = c.ok("eve", attest("eve", &st));
    let Event::AttestationSubmitted(AttestationSubmitted { attestation: perf1_id, .. }) = perf1.events[0].clone()
    else {
        panic!()
    };
    c.fails("eve", attest("eve", &st), "already_exists");
    // Staging needs performance only.
    let d1 = c.ok("dep", deploy("clf", 1, "staging"));
    let dep1 = super::deployment(&c.state, &d1.tx_hash).expect("stored");
    assert_eq!(dep1.attestations, vec![perf1_id]);
    // Production needs fairness too, and a failing one does not count.
    c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    c.ok("evan", attest("evan", &statement("clf", 1, "fairness", 800_000, false)));
    let r = c.fails("dep", deploy("clf", 1, "production"), "gate_not_satisfied");
    assert!(r.error.expect("e").message.contains("did not pass"), "the refusal says why");
    c.ok("evan", attest("evan", &statement("clf", 1, "fairness", 870_000, true)));
    c.ok("dep", deploy("clf", 1, "production"));

    // Version 2 passes with lower accuracy than the gate's bound? No.
    c.ok("eve", attest("eve", &statement("clf", 2, "performance", 905_000, true)));
    c.ok("evan", attest("evan", &statement("clf", 2, "fairness", 900_000, true)));
    c.fails("dep", deploy("clf", 2, "production"), "gate_not_satisfied");
    c.ok("eve", attest("eve", &statement("clf", 2, "performance", 960_000, true)));
    c.ok("dep", deploy("clf", 2, "production"));

    // Rollback goes to an earlier version only, through the gate.
    c.fails(
        "dep",
        Action::Rollback(Rollback {
            model: model("clf"),
            environment: env("production"),
            to_version: 2,
            reason: "x".into(),
        }),
        "invalid_rollback",
    );
    c.fails(
        "dep",
        Action::Rollback(Rollback { model: model("clf"), environment: env("dev"), to_version: 1, reason: "x".into() }),
        "invalid_rollback",
    );
    // Revoking version 1's performance attestation closes the way back.
    c.fails(
        "evan",
        Action::RevokeAttestation(RevokeAttestation { attestation: perf1_id, reason: "bug".into() }),
        "unauthorized",
    );
    c.ok("eve", Action::RevokeAttestation(RevokeAttestation { attestation: perf1_id, reason: "leaky split".into() }));
    c.fails(
        "dep",
        Action::Rollback(Rollback {
            model: model("clf"),
            environment: env("production"),
            to_version: 1,
            reason: "regression".into(),
        }),
        "gate_not_satisfied",
    );
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 951_000, true)));
    let rb = c.ok(
        "dep",
        Action::Rollback(Rollback {
            model: model("clf"),
            environment: env("production"),
            to_version: 1,
            reason: "regression".into(),
        }),
    );
    let rec = super::deployment(&c.state, &rb.tx_hash).expect("stored");
    assert!(matches!(rec.kind, verity_types::DeploymentKind::Rollback { from_version: 2, .. }));
    assert_eq!(super::current_deployment(&c.state, &model("clf"), &env("production")), Some(rb.tx_hash));

    // Deprecated versions are never deployed again.
    c.ok("dep", Action::Deprecate(Deprecate { model: model("clf"), version: 2, reason: "drift".into() }));
    c.fails(
        "dep",
        Action::Deprecate(Deprecate { model: model("clf"), version: 2, reason: "again".into() }),
        "already_done",
    );
    c.fails("dep", deploy("clf", 2, "production"), "deprecated");
    assert_eq!(super::deployment_count(&c.state), 4);
}

#[test]
fn decisions_and_corrections() {
    let mut c = lineage();
    let record = |policy, review| {
        Action::RecordDecision(RecordDecision {
            model: model("clf"),
            version: 1,
            input_commitment: sha256(b"salt|input"),
            output_hash: sha256(b"deny"),
            review,
            binding: true,
            correction_policy: policy,
            context: "loan triage".into(),
        })
    };
    let fin = c.ok("alice", record(CorrectionPolicy::NotCorrectable, ReviewLayer::None)).tx_hash;
    let by_rev = c.ok("alice", record(CorrectionPolicy::ByReviewer, ReviewLayer::Human(acc("rev")))).tx_hash;
    let by_op = c.ok("alice", record(CorrectionPolicy::ByOperator, ReviewLayer::None)).tx_hash;
    c.fails("alice", record(CorrectionPolicy::ByOperator, ReviewLayer::Human(acc("ghost"))), "unknown_account");
    c.fails("cora", record(CorrectionPolicy::ByOperator, ReviewLayer::None), "unauthorized");
    let correct = |d, r: &str| {
        Action::CorrectDecision(CorrectDecision {
            decision: d,
            output_hash: sha256(b"approve"),
            review: ReviewLayer::Human(acc("rev")),
            reason: r.into(),
        })
    };
    c.fails("alice", correct(fin, "x"), "correction_refused");
    c.fails("alice", correct(by_rev, "x"), "correction_refused");
    let fixed = c.ok("rev", correct(by_rev, "income was misread")).tx_hash;
    c.fails("rev", correct(by_rev, "again"), "correction_refused");
    c.ok("badmin", create("bob2", "beta", &[Role::Member]));
    c.fails("bob2", correct(by_op, "x"), "correction_refused");
    c.ok("bob", correct(by_op, "same org"));
    let old = super::decision(&c.state, &by_rev).expect("kept");
    let new = super::decision(&c.state, &fixed).expect("stored");
    assert_eq!((old.superseded_by, new.supersedes), (Some(fixed), Some(by_rev)));
    assert_eq!(new.input_commitment, old.input_commitment);
    assert_eq!(new.correction_reason, "income was misread");
    assert_eq!(
        super::upstream(&c.state, &RecordRef::Decision(fixed)),
        vec![RecordRef::model_version(&model("clf"), 1), RecordRef::Decision(by_rev)]
    );
}

fn limits(nodes: usize) -> super::TraceLimits {
    super::TraceLimits { nodes, ..Default::default() }
}

/// Records `n` decisions of clf@1 by alice; returns their ids, oldest first.
fn decide(c: &mut Chain, n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| {
            let action = Action::RecordDecision(RecordDecision {
                model: model("clf"),
                version: 1,
                input_commitment: sha256(format!("input {i}").as_bytes()),
                output_hash: sha256(b"deny"),
                review: ReviewLayer::None,
                binding: false,
                correction_policy: CorrectionPolicy::ByOperator,
                context: "triage".into(),
            });
            c.ok("alice", action).tx_hash
        })
        .collect()
}

#[test]
fn trace_walks_both_directions_and_respects_its_limit() {
    let mut c = lineage();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    let att = c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let dep = c.ok("dep", deploy("clf", 1, "production")).tx_hash;
    let mv = RecordRef::model_version(&model("clf"), 1);
    let t = super::trace(&c.state, &mv, limits(100)).expect("exists");
    let refs = |nodes: &[super::TraceNode]| nodes.iter().map(|n| n.record.to_string()).collect::<Vec<_>>();
    assert_eq!(refs(&t.upstream), ["run:r1"]);
    assert_eq!(refs(&t.upstream[0].children), ["dataset:ds@1"]);
    let Event::AttestationSubmitted(AttestationSubmitted { attestation, .. }) = att.events[0].clone() else { panic!() };
    assert_eq!(refs(&t.downstream), [format!("attestation:{attestation}"), format!("deployment:{dep}")]);
    assert!(!t.truncated && t.root.more.is_empty());
    assert_eq!(t.nodes, 5);
    // From the content: its dataset, then the run, the model version and beyond.
    let from_content = super::trace(&c.state, &RecordRef::Content(content_id(2)), limits(100)).expect("exists");
    assert_eq!(refs(&from_content.downstream), ["dataset:ds@1"]);
    assert_eq!(refs(&from_content.downstream[0].children[0].children), ["model:clf@1"]);
    let small = super::trace(&c.state, &RecordRef::Content(content_id(2)), limits(2)).expect("exists");
    assert!(small.truncated);
    assert_eq!(small.nodes, 2);
    assert_eq!(small.downstream[0].more.get(&RecordKind::Run), Some(&1), "the run the limit cut off is counted");
    assert!(super::trace(&c.state, &RecordRef::Content(content_id(99)), limits(10)).is_none());
}

#[test]
fn trace_lists_the_newest_records_of_each_kind_and_counts_the_rest() {
    let mut c = lineage();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let decisions = decide(&mut c, 20);
    c.ok("eve", attest("eve", &statement("clf", 1, "fairness", 950_000, true)));
    let dep = c.ok("dep", deploy("clf", 1, "production")).tx_hash;
    let mv = RecordRef::model_version(&model("clf"), 1);
    let t = super::trace(&c.state, &mv, super::TraceLimits { nodes: 100, fanout: 5 }).expect("exists");
    let kinds: Vec<&str> = t.downstream.iter().map(|n| n.record.kind()).collect();
    // Grouped by kind (attestations, deployments, decisions), each in ledger order; the
    // fairness attestation came after 20 decisions and is listed all the same.
    assert_eq!(
        kinds,
        ["attestation", "attestation", "deployment", "decision", "decision", "decision", "decision", "decision"]
    );
    assert_eq!(t.downstream[2].record, RecordRef::Deployment(dep));
    let listed: Vec<RecordRef> = t.downstream[3..].iter().map(|n| n.record.clone()).collect();
    let newest: Vec<RecordRef> = decisions[15..].iter().map(|d| RecordRef::Decision(*d)).collect();
    assert_eq!(listed, newest);
    assert_eq!(t.root.more, [(RecordKind::Decision, 15)].into_iter().collect());
    assert!(!t.truncated, "records left out by the fan-out are counted, not truncated");
    assert_eq!(t.nodes, 1 + 2 + 8);
    // From the dataset, the model version's attestations and deployment are listed and
    // its decisions only counted: decisions are listed under the traced record alone.
    let from_ds =
        super::trace(&c.state, &"dataset:ds@1".parse().expect("ref"), super::TraceLimits { nodes: 100, fanout: 5 })
            .expect("exists");
    let mv_node = &from_ds.downstream[0].children[0];
    assert_eq!(mv_node.record, mv);
    let below: Vec<&str> = mv_node.children.iter().map(|n| n.record.kind()).collect();
    assert_eq!(below, ["attestation", "attestation", "deployment"]);
    assert_eq!(mv_node.more, [(RecordKind::Decision, 20)].into_iter().collect());
    // A large enough fan-out lists everything.
    let all = super::trace(&c.state, &mv, super::TraceLimits { nodes: 100, fanout: 100 }).expect("exists");
    assert_eq!(all.downstream.len(), 23);
    assert!(all.root.more.is_empty());
}

/// Counts the reads made through it.
struct Counting<'a>(&'a dyn crate::StateRead, std::cell::Cell<usize>);

impl crate::StateRead for Counting<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.1.set(self.1.get() + 1);
        self.0.get(key)
    }
}

#[test]
fn the_gate_and_traces_do_not_read_a_model_versions_decisions() {
    let mut c = lineage();
    c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
    c.ok("eve", attest("eve", &statement("clf", 1, "performance", 950_000, true)));
    let mv_ref = ModelVersionRef { model: model("clf"), version: 1 };
    let mv = super::model_version(&c.state, &mv_ref).expect("stored");
    let env = env("production");
    let reads = |c: &Chain| {
        let gate = Counting(&c.state, Default::default());
        super::check_gate(&gate, &mv, &env).expect("passes");
        let trace = Counting(&c.state, Default::default());
        super::trace(&trace, &RecordRef::ModelVersion(mv_ref.clone()), Default::default()).expect("exists");
        (gate.1.get(), trace.1.get())
    };
    let (gate_before, _) = reads(&c);
    decide(&mut c, 2 * verity_types::limits::TRACE_FANOUT_DEFAULT);
    let (gate_some, trace_some) = reads(&c);
    decide(&mut c, 3 * verity_types::limits::TRACE_FANOUT_DEFAULT);
    let (gate_many, trace_many) = reads(&c);
    assert_eq!((gate_before, gate_some), (gate_many, gate_many), "the gate reads only attestations");
    assert_eq!(trace_some, trace_many, "a trace reads at most the fan-out of decisions");
}

// ----- properties -----

#[derive(Clone, Debug)]
enum Op {
    Attest {
        evaluator: usize,
        version: u32,
        kind: usize,
        accuracy_ppm: i64,
    },
    Revoke {
        nth: usize,
    },
    Deploy {
        version: u32,
        env: usize,
    },
    Gate {
        kinds: Vec<(usize, usize, i64)>,
    },
    RevokeRole {
        evaluator: usize,
    },
    /// Another organisation's admin approves the pending gate change, if any.
    Approve,
}

const EVALUATORS: [&str; 2] = ["eve", "evan"];
const KINDS: [&str; 3] = ["performance", "fairness", "safety"];
/// `canary` is never named by a gate: an unlisted environment.
const ENVS: [&str; 3] = ["staging", "production", "canary"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 1..3u32, 0..3usize, 850_000..1_000_000i64)
            .prop_map(|(evaluator, version, kind, accuracy_ppm)| Op::Attest { evaluator, version, kind, accuracy_ppm }),
        1 => (0..8usize).prop_map(|nth| Op::Revoke { nth }),
        4 => (1..3u32, 0..3usize).prop_map(|(version, env)| Op::Deploy { version, env }),
        1 => proptest::collection::vec((0..3usize, 0..3usize, 880_000..960_000i64), 0..3)
            .prop_map(|kinds| Op::Gate { kinds }),
        1 => (0..2usize).prop_map(|evaluator| Op::RevokeRole { evaluator }),
        1 => Just(Op::Approve),
    ]
}

proptest! {
    /// No deploy ever passes a gate without its attestations: after every successful
    /// deploy, each requirement of the gate in force that applies to the environment is
    /// met by an attestation of that exact version that is passing, unrevoked, from a
    /// current evaluator, and meets the bound, checked here independently of the ledger.
    #[test]
    fn no_deploy_passes_a_gate_without_its_attestations(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = lineage();
        c.ok("owen", run_action("r2", &[("ds", 1)], None));
        c.ok("owen", version_action("clf", 2, "r2"));
        c.ok("owen", gate("clf", &[("performance", &[], 900_000)]));
        let mut atts: Vec<Hash> = Vec::new();
        for op in ops {
            let (sender, action) = match &op {
                Op::Attest { evaluator, version, kind, accuracy_ppm } => {
                    let st = statement("clf", *version, KINDS[*kind], *accuracy_ppm, *accuracy_ppm >= 900_000);
                    (EVALUATORS[*evaluator], attest(EVALUATORS[*evaluator], &st))
                }
                Op::Revoke { nth } => match atts.get(*nth) {
                    Some(id) => {
                        let a = super::attestation(&c.state, id).expect("stored");
                        let who = if a.evaluator == acc("eve") { "eve" } else { "evan" };
                        (who, Action::RevokeAttestation(RevokeAttestation { attestation: *id, reason: String::new() }))
                    }
                    None => continue,
                },
                Op::Deploy { version, env: e } => ("dep", deploy("clf", *version, ENVS[*e])),
                Op::Gate { kinds } => {
                    let reqs: Vec<(&str, &[&str], i64)> = kinds
                        .iter()
                        .map(|(k, e, min)| (KINDS[*k], if *e == 2 { &[][..] } else { std::slice::from_ref(&ENVS[*e]) }, *min))
                        .collect();
                    let mut unique = reqs.clone();
                    unique.dedup_by_key(|r| r.0);
                    ("owen", gate("clf", &unique))
                }
                Op::RevokeRole { evaluator } => ("admin", Action::RevokeRole(RevokeRole { account: acc(EVALUATORS[*evaluator]), role: Role::Evaluator })),
                Op::Approve => match super::pending_gate_change(&c.state, &model("clf")) {
                    Some(p) => ("badmin", Action::ApproveGateChange(ApproveGateChange { model: model("clf"), change: p.id })),
                    None => continue,
                },
            };
            let r = c.exec(sender, action);
            if r.status != TxStatus::Success {
                continue;
            }
            for e in &r.events {
                if let Event::AttestationSubmitted(AttestationSubmitted { attestation, .. }) = e {
                    atts.push(*attestation);
                }
                if let Event::Deployed(Deployed { version, environment, .. }) = e {
                    let g = super::gate(&c.state, &model("clf")).expect("a gate is in force");
                    // Scoped requirements apply where they are scoped, unscoped ones
                    // everywhere, and all of them to an environment no requirement names.
                    let named = g.requirements.iter().any(|q| q.environments.contains(environment));
                    for req in g.requirements.iter().filter(|q| !named || q.applies_to(environment)) {
                        let ok = atts.iter().filter_map(|id| super::attestation(&c.state, id)).any(|a| {
                            a.version == *version
                                && a.kind == req.kind
                                && a.passed
                                && a.revoked.is_none()
                                && crate::account(&c.state, &a.evaluator).is_some_and(|x| x.has_role(Role::Evaluator))
                                && req.metrics.iter().all(|b| a.metrics.iter().any(|m| m.name == b.name && m.value_ppm >= b.bound_ppm))
                        });
                        prop_assert!(ok, "deploy of clf@{version} to {environment} passed without a {} attestation", req.kind);
                    }
                }
            }
        }
    }

    /// Upheld challenges always flag every downstream record: on a random lineage graph
    /// (runs over random dataset versions, some fine-tuned from earlier model versions),
    /// upholding a challenge of one dataset version leaves every run and model version
    /// reachable from it flagged, and no other.
    #[test]
    fn upheld_challenges_flag_every_downstream_record(
        runs in proptest::collection::vec((proptest::collection::btree_set(1..4u32, 1..3), proptest::option::of(0..6usize)), 1..8),
        target in 1..4u32,
    ) {
        let mut c = prov_chain();
        for i in 1..=3 {
            c.ok("cora", register(i));
        }
        for v in 1..=3 {
            let m = manifest("ds", v, &[v]);
            c.ok("cur", publish(&m, DatasetMode::RootOnly, DatasetPolicy::default()));
        }
        c.ok("owen", Action::RegisterModel(RegisterModel { model: model("m"), description: String::new() }));
        // Model version i+1 comes from run i; its inputs are recorded for the oracle.
        let mut inputs: Vec<(Vec<u32>, Option<u32>)> = Vec::new();
        for (i, (versions, base)) in runs.iter().enumerate() {
            let base = base.filter(|b| *b < i).map(|b| b as u32 + 1);
            let dsets: Vec<(&str, u32)> = versions.iter().map(|v| ("ds", *v)).collect();
            let run = format!("r{i}");
            c.ok("owen", run_action(&run, &dsets, base.map(|b| ("m", b))));
            c.ok("owen", version_action("m", i as u32 + 1, &run));
            inputs.push((versions.iter().copied().collect(), base));
        }
        // Oracle: model version j is tainted if its run used the target or a tainted base.
        let mut tainted = vec![false; inputs.len()];
        for j in 0..inputs.len() {
            tainted[j] = inputs[j].0.contains(&target) || inputs[j].1.is_some_and(|b| tainted[b as usize - 1]);
        }
        let ch = c.ok("alice", challenge_of(&manifest("ds", target, &[target]), target, ChallengeKind::Mislabelled)).tx_hash;
        c.ok("rev", Action::ResolveChallenge(ResolveChallenge { challenge: ch, upheld: true, reason: String::new() }));
        for (j, t) in tainted.iter().enumerate() {
            let run = RecordRef::Run(RunId::new(format!("r{j}")).expect("id"));
            let mv = RecordRef::model_version(&model("m"), j as u32 + 1);
            prop_assert_eq!(flagged(&c, &run), *t, "run r{}", j);
            prop_assert_eq!(flagged(&c, &mv), *t, "model m@{}", j + 1);
        }
        for v in 1..=3u32 {
            prop_assert_eq!(flagged(&c, &RecordRef::dataset(&ds("ds"), v)), v == target);
        }
    }
}
