use super::*;
use crate::error::{ReferenceError, TypesError};
use crate::hash::Hash;
use crate::ids::AccountId;

fn req(kind: &str, envs: &[&str], evaluators: &[&str], bounds: &[(&str, i64)]) -> GateRequirement {
    GateRequirement {
        kind: AttestationKind::new(kind).expect("kind"),
        environments: envs.iter().map(|e| EnvId::new(*e).expect("env")).collect(),
        evaluators: evaluators.iter().map(|e| e.parse().expect("account")).collect(),
        metrics: bounds.iter().map(|(n, b)| MetricBound { name: n.to_string(), bound_ppm: *b }).collect(),
    }
}

fn gate(reqs: Vec<GateRequirement>) -> GateRules {
    GateRules::requirements(reqs)
}

/// Which changes loosen a gate: each row is (old, new, loosens).
#[test]
fn gate_loosening_table() {
    let perf = req("performance", &[], &[], &[("accuracy", 900_000)]);
    let fair_prod = req("fairness", &["production"], &[], &[("gap", 50_000)]);
    let base = gate(vec![perf.clone(), fair_prod.clone()]);
    let check = |old: &GateRules, new: &GateRules, loosens: bool| {
        assert_eq!(old.loosened_by(new).is_some(), loosens, "{old:?} -> {new:?}: {:?}", old.loosened_by(new));
    };
    check(&base, &base, false);
    check(&base, &gate(vec![]), true);
    check(&base, &gate(vec![perf.clone()]), true);
    // Adding a requirement, a bound or an evaluator list tightens.
    check(&base, &gate(vec![perf.clone(), fair_prod.clone(), req("safety", &[], &[], &[])]), false);
    let perf_more = req("performance", &[], &[], &[("accuracy", 900_000), ("f1", 800_000)]);
    check(&base, &gate(vec![perf_more.clone(), fair_prod.clone()]), false);
    check(&gate(vec![perf_more]), &base, true);
    let perf_named = req("performance", &[], &["eve"], &[("accuracy", 900_000)]);
    check(&base, &gate(vec![perf_named.clone(), fair_prod.clone()]), false);
    check(&gate(vec![perf_named.clone(), fair_prod.clone()]), &base, true);
    // A moved bound is not known to be tighter (the attestation says min or max).
    check(&base, &gate(vec![req("performance", &[], &[], &[("accuracy", 950_000)]), fair_prod.clone()]), true);
    // Narrowing a scoped requirement: production keeps it, but staging, named now by
    // another requirement, no longer needs fairness (it did, as an unlisted name).
    let staged = gate(vec![perf.clone(), fair_prod.clone(), req("safety", &["staging"], &[], &[])]);
    check(&base, &staged, true);
    // Widening a requirement from one environment to all tightens.
    check(&base, &gate(vec![perf.clone(), req("fairness", &[], &[], &[("gap", 50_000)])]), false);
    // Empty defaults loosen unlisted environments; defaults that keep fairness do not.
    check(&base, &GateRules { defaults: Some(vec![]), ..base.clone() }, true);
    let keep = req("fairness", &[], &[], &[("gap", 50_000)]);
    check(&base, &GateRules { defaults: Some(vec![keep]), ..base.clone() }, false);
    // Independence: adding it tightens, dropping it loosens.
    let independent = GateRules { independent: true, ..base.clone() };
    check(&base, &independent, false);
    check(&independent, &base, true);
}

/// Which requirements a deploy into an environment must satisfy.
#[test]
fn gate_requirements_of_unlisted_environments() {
    let perf = req("performance", &[], &[], &[]);
    let fair = req("fairness", &["production"], &[], &[]);
    let safe = req("safety", &[], &[], &[]);
    let kinds = |g: &GateRules, e: &str| -> Vec<String> {
        g.applicable(&EnvId::new(e).expect("env")).iter().map(|r| r.kind.to_string()).collect()
    };
    let g = gate(vec![perf.clone(), fair.clone()]);
    assert_eq!(kinds(&g, "production"), ["performance", "fairness"]);
    assert_eq!(kinds(&g, "prod-eu"), ["performance", "fairness"], "an unlisted name bypasses nothing");
    let g = GateRules { defaults: Some(vec![safe.clone()]), ..g };
    assert_eq!(kinds(&g, "production"), ["performance", "fairness"]);
    assert_eq!(kinds(&g, "canary"), ["performance", "safety"]);
    // Defaults name no environments.
    let bad = GateRules { defaults: Some(vec![fair]), ..g };
    assert!(bad.validate().is_err());
}

#[test]
fn record_refs_round_trip_through_text() {
    let h = crate::hash::sha256(b"x");
    for r in [
        RecordRef::Content(h),
        RecordRef::OptOut(h),
        RecordRef::dataset(&DatasetId::new("digits").expect("id"), 3),
        RecordRef::Challenge(h),
        RecordRef::Run(RunId::new("run-1").expect("id")),
        RecordRef::model_version(&ModelId::new("clf").expect("id"), 2),
        RecordRef::Attestation(h),
        RecordRef::Deployment(h),
        RecordRef::Decision(h),
        RecordRef::Dispute(h),
    ] {
        assert_eq!(r.to_string().parse::<RecordRef>(), Ok(r.clone()));
        let json = serde_json::to_string(&r).expect("json");
        assert_eq!(serde_json::from_str::<RecordRef>(&json).expect("parse"), r);
    }
    for bad in ["", "model:clf", "model:clf@0", "dataset:x@-1", "thing:abc", "content:zz", "run:Bad"] {
        assert!(bad.parse::<RecordRef>().is_err(), "{bad}");
    }
}

#[test]
fn name_at_version_has_one_parser() {
    let d: DatasetRef = "digits-corpus@2".parse().expect("dataset ref");
    assert_eq!((d.dataset.as_str(), d.version), ("digits-corpus", 2));
    assert_eq!(d.to_string(), "digits-corpus@2");
    let m: ModelVersionRef = "clf@1".parse().expect("model ref");
    assert_eq!(m.to_string(), "clf@1");
    assert_eq!("dataset:digits-corpus@2".parse::<RecordRef>(), Ok(RecordRef::Dataset(d)));
    for bad in ["clf", "clf@", "clf@0", "clf@-1", "clf@1.5", "clf@4294967296", "Bad@1", "@1"] {
        assert!(bad.parse::<ModelVersionRef>().is_err(), "{bad}");
        assert!(bad.parse::<DatasetRef>().is_err(), "{bad}");
    }
}

#[test]
fn name_at_version_errors_say_what_is_wrong() {
    let m: ModelVersionRef = format!("clf@{}", u32::MAX).parse().expect("the largest version");
    assert_eq!(m.version, u32::MAX);
    let reference = |input: &str, error: fn(String) -> ReferenceError| TypesError::Reference {
        field: "model",
        error: error(input.to_string()),
    };
    let check = |input: &str, expected: TypesError| {
        assert_eq!(input.parse::<ModelVersionRef>(), Err(expected.clone()), "{input:?}");
        // A dataset reference fails the same way, naming its own kind.
        let TypesError::Reference { error, .. } = expected else { panic!("a reference error") };
        assert_eq!(input.parse::<DatasetRef>(), Err(TypesError::Reference { field: "dataset", error }), "{input:?}");
    };
    check("", reference("", |input| ReferenceError::MissingVersion { input }));
    check("clf", reference("clf", |input| ReferenceError::MissingVersion { input }));
    check("clf@", reference("clf@", |input| ReferenceError::MissingVersion { input }));
    check("@1", reference("@1", |input| ReferenceError::EmptyName { input }));
    check("@", reference("@", |input| ReferenceError::EmptyName { input }));
    check("clf@1@2", reference("clf@1@2", |input| ReferenceError::ExtraAt { input }));
    check("a@b@1", reference("a@b@1", |input| ReferenceError::ExtraAt { input }));
    check("clf@@1", reference("clf@@1", |input| ReferenceError::ExtraAt { input }));
    check("clf@one", reference("clf@one", |input| ReferenceError::BadVersion { input }));
    check("clf@-1", reference("clf@-1", |input| ReferenceError::BadVersion { input }));
    check("clf@1.5", reference("clf@1.5", |input| ReferenceError::BadVersion { input }));
    check("clf@ 1", reference("clf@ 1", |input| ReferenceError::BadVersion { input }));
    check("clf@4294967296", reference("clf@4294967296", |input| ReferenceError::BadVersion { input }));
    check("clf@0", reference("clf@0", |input| ReferenceError::ZeroVersion { input }));
    // The name follows the identifier rules.
    assert!(matches!("Bad Name@1".parse::<ModelVersionRef>(), Err(TypesError::InvalidId { .. })));
    assert!(matches!("Bad@1".parse::<DatasetRef>(), Err(TypesError::InvalidId { .. })));
    // Messages name the input and the form.
    let msg = "clf".parse::<ModelVersionRef>().expect_err("no version").to_string();
    assert_eq!(msg, "invalid model reference: \"clf\" has no version: write NAME@VERSION");
    let msg = "d@0".parse::<DatasetRef>().expect_err("zero").to_string();
    assert_eq!(msg, "invalid dataset reference: the version in \"d@0\" is 0: versions start at 1");
    // Inside a record reference the same parser runs.
    assert_eq!(
        "model:clf@0".parse::<RecordRef>(),
        Err(TypesError::Reference { field: "model", error: ReferenceError::ZeroVersion { input: "clf@0".into() } })
    );
}

#[test]
fn dates_commits_licences() {
    for ok in ["2026-11-23", "2024-02-29", "2000-02-29"] {
        assert!(check_date("d", ok).is_ok(), "{ok}");
    }
    for bad in ["2026-13-01", "2023-02-29", "1900-02-29", "2026-1-01", "2026-11-31", "abcd-ef-gh", "+026-11-23"] {
        assert!(check_date("d", bad).is_err(), "{bad}");
    }
    assert!(check_commit("abc1234").is_ok());
    assert!(check_commit("ABC1234").is_err());
    assert!(check_commit("abc12").is_err());
    assert_eq!("CC-BY-4.0".parse::<Licence>(), Ok(Licence::Spdx("CC-BY-4.0".into())));
    assert!("CC BY".parse::<Licence>().is_err());
    let h = crate::hash::sha256(b"terms");
    assert_eq!(format!("custom:{h}").parse::<Licence>(), Ok(Licence::Custom(h)));
}

#[test]
fn gate_shortfalls() {
    let att = Attestation {
        id: Hash::ZERO,
        model: ModelId::new("m").expect("id"),
        version: 1,
        evaluator: AccountId::new("eva").expect("id"),
        kind: AttestationKind::new("fairness").expect("id"),
        suite: "s".into(),
        dataset_name: "d".into(),
        dataset_sha256: Hash::ZERO,
        metrics: vec![Metric {
            name: "gap".into(),
            value_ppm: 30_000,
            threshold_ppm: Some(50_000),
            higher_is_better: false,
        }],
        passed: true,
        height: 1,
        tx: Hash::ZERO,
        revoked: None,
    };
    let mut req = GateRequirement {
        kind: AttestationKind::new("fairness").expect("id"),
        environments: vec![],
        evaluators: vec![],
        metrics: vec![MetricBound { name: "gap".into(), bound_ppm: 40_000 }],
    };
    assert_eq!(req.shortfall(&att), None);
    req.metrics[0].bound_ppm = 20_000;
    assert!(req.shortfall(&att).expect("too large a gap").contains("above the maximum"));
    req.metrics[0].bound_ppm = 40_000;
    req.evaluators = vec![AccountId::new("other").expect("id")];
    assert!(req.shortfall(&att).is_some());
    req.evaluators.clear();
    let mut revoked = att.clone();
    revoked.revoked = Some(Deprecation { by: att.evaluator.clone(), reason: "bug".into(), height: 2 });
    assert_eq!(req.shortfall(&revoked).as_deref(), Some("revoked"));
    req.kind = AttestationKind::new("safety").expect("id");
    assert!(req.shortfall(&att).is_some());
}

#[test]
fn record_kinds_round_trip_through_json() {
    for k in RecordKind::ALL {
        let json = serde_json::to_value(k).expect("serialises");
        assert_eq!(json, serde_json::json!(k.as_str()));
        assert_eq!(serde_json::from_value::<RecordKind>(json).expect("deserialises"), k);
    }
    assert!(serde_json::from_value::<RecordKind>(serde_json::json!("models")).is_err());
}
