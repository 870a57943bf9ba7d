//! Training runs, models and versions, attestations, deploy gates, deployments and
//! decisions.

use verity_types::dsse::{Envelope, EvaluationStatement, IN_TOTO_PAYLOAD_TYPE};
use verity_types::limits::{GATE_CHANGE_DELAY_MS, MODEL_DEPTH_MAX};
use verity_types::{
    attestation_id, gate_change_id, run_log_message, ApproveGateChange, Attestation, AttestationRevoked,
    AttestationSubmitted, CorrectDecision, CorrectionPolicy, DatasetStatus, Decision, DecisionRecorded, Deploy,
    Deployed, Deployment, DeploymentKind, Deprecate, Deprecated, Deprecation, EnvId, Event, GateChange,
    GateChangeActivated, GateChangeApproved, GateChangeProposed, GateChangeStatus, GateChangeSuperseded, GatePolicy,
    GateRules, GateSet, Hash, Model, ModelId, ModelRegistered, ModelVersion, ModelVersionRef, ModelVersionRegistered,
    RecordDecision, RecordKind, RecordRef, RegisterModel, RegisterModelVersion, RegisterRun, ReviewLayer,
    RevokeAttestation, RiskPolicy, RiskPolicySet, Role, Rollback, RunRegistered, SetRiskPolicy, SubmitAttestation,
    TrainingRun,
};

use super::{
    add_edge, attestation, current_deployment, dataset_version, decision, deployment_count, downstream, gate,
    gate_in_force, keys, model, model_by_fingerprint, model_version, pending_gate_change, require_unflagged, run,
};

use crate::error::{ProvenanceError, StateError};
use crate::exec::Ctx;
use crate::identity::{self, require_role, Account};
use crate::view::{Layer, StateRead};

fn unauthorized(ctx: &Ctx<'_>, action: &'static str, reason: String) -> StateError {
    StateError::Unauthorized { account: ctx.sender.id.clone(), action, reason }
}

fn existing_model(state: &dyn StateRead, id: &ModelId) -> Result<Model, StateError> {
    model(state, id).ok_or_else(|| StateError::NotFound { what: "model", id: id.to_string() })
}

fn existing_version(state: &dyn StateRead, m: &ModelId, version: u32) -> Result<ModelVersion, StateError> {
    model_version(state, &ModelVersionRef { model: m.clone(), version })
        .ok_or_else(|| StateError::NotFound { what: "model version", id: format!("{m}@{version}") })
}

/// Refuses unless the sender belongs to the model's organisation and holds one of `roles`.
fn require_model_org(ctx: &Ctx<'_>, m: &Model, roles: &[Role], action: &'static str) -> Result<(), StateError> {
    if ctx.sender.org != m.org {
        return Err(unauthorized(ctx, action, format!("model {} belongs to organisation {}", m.id, m.org)));
    }
    if roles.iter().any(|r| ctx.sender.has_role(*r)) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
    Err(unauthorized(ctx, action, format!("requires one of the roles {}", names.join(", "))))
}

pub(crate) fn register_run(layer: &mut Layer<'_>, ctx: &Ctx<'_>, a: &RegisterRun) -> Result<Vec<Event>, StateError> {
    require_role(ctx.sender, Role::ModelOwner, "register_run")?;
    if run(layer, &a.run).is_some() {
        return Err(StateError::AlreadyExists { what: "run", id: a.run.to_string() });
    }
    let provider =
        identity::account(layer, &a.provider).ok_or_else(|| StateError::UnknownAccount(a.provider.clone()))?;
    if !provider.has_role(Role::Provider) {
        return Err(StateError::BadSignature {
            what: "provider",
            reason: format!("account {} does not hold the provider role", provider.id),
        });
    }
    let message = run_log_message(ctx.chain_id, &a.run, &a.datasets, &a.run_log_hash);
    provider.public_key.verify(&message, &a.provider_signature).map_err(|_| StateError::BadSignature {
        what: "provider",
        reason: format!(
            "not a signature of {} over this chain, run {}, its datasets and its log hash",
            provider.id, a.run
        ),
    })?;
    for d in &a.datasets {
        let v = dataset_version(layer, d).ok_or_else(|| StateError::NotFound {
            what: "dataset version",
            id: format!("{}@{}", d.dataset, d.version),
        })?;
        if v.status != DatasetStatus::Published {
            return Err(StateError::Provenance(ProvenanceError::DatasetPending {
                dataset: d.dataset.to_string(),
                version: d.version,
                received: v.received,
                count: v.count,
            }));
        }
        require_unflagged(layer, &RecordRef::Dataset(d.clone()))?;
    }
    if let Some(b) = &a.base_model {
        let base = existing_version(layer, &b.model, b.version)?;
        require_unflagged(layer, &RecordRef::ModelVersion(b.clone()))?;
        if base.depth + 1 > MODEL_DEPTH_MAX {
            return Err(StateError::Provenance(ProvenanceError::LineageTooDeep(format!(
                "base model {}@{} is {} deep",
                b.model, b.version, base.depth
            ))));
        }
    }
    let record = TrainingRun {
        id: a.run.clone(),
        datasets: a.datasets.to_vec(),
        base_model: a.base_model.clone(),
        code_commit: a.code_commit.to_string(),
        hyperparams_hash: a.hyperparams_hash,
        training_date: a.training_date.to_string(),
        team: a.team.to_string(),
        run_log_hash: a.run_log_hash,
        provider: a.provider.clone(),
        provider_signature: a.provider_signature,
        registered_by: ctx.sender.id.clone(),
        org: ctx.sender.org.clone(),
        height: ctx.height,
        tx: ctx.tx_hash,
    };
    layer.put(keys::run(&a.run), &record);
    let me = RecordRef::Run(a.run.clone());
    for d in &a.datasets {
        add_edge(layer, &RecordRef::Dataset(d.clone()), &me)?;
    }
    if let Some(b) = &a.base_model {
        add_edge(layer, &RecordRef::ModelVersion(b.clone()), &me)?;
    }
    Ok(vec![Event::RunRegistered(RunRegistered {
        run: a.run.clone(),
        by: ctx.sender.id.clone(),
        provider: a.provider.clone(),
    })])
}

pub(crate) fn register_model(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &RegisterModel,
) -> Result<Vec<Event>, StateError> {
    let RegisterModel { model: id, description } = action;
    require_role(ctx.sender, Role::ModelOwner, "register_model")?;
    if model(layer, id).is_some() {
        return Err(StateError::AlreadyExists { what: "model", id: id.to_string() });
    }
    let m = Model {
        id: id.clone(),
        org: ctx.sender.org.clone(),
        description: description.to_string(),
        versions: 0,
        height: ctx.height,
    };
    layer.put(keys::model(id), &m);
    Ok(vec![Event::ModelRegistered(ModelRegistered { model: id.clone(), org: m.org, by: ctx.sender.id.clone() })])
}

pub(crate) fn register_model_version(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &RegisterModelVersion,
) -> Result<Vec<Event>, StateError> {
    let (id, version, fingerprint, run_id) = (&action.model, action.version, &action.fingerprint, &action.run);
    let mut m = existing_model(layer, id)?;
    require_model_org(ctx, &m, &[Role::ModelOwner], "register_model_version")?;
    let expected = m.versions + 1;
    if version != expected {
        return Err(StateError::WrongVersion { what: "model", id: id.to_string(), expected, got: version });
    }
    if let Some(existing) = model_by_fingerprint(layer, fingerprint) {
        return Err(StateError::AlreadyExists {
            what: "fingerprint",
            id: format!("{fingerprint} (registered as {}@{})", existing.model, existing.version),
        });
    }
    let r = run(layer, run_id).ok_or_else(|| StateError::NotFound { what: "run", id: run_id.to_string() })?;
    // A model's versions come from its own organisation's runs: citing another
    // organisation's run would claim its data and compute as this model's lineage.
    if r.org != m.org {
        return Err(unauthorized(
            ctx,
            "register_model_version",
            format!("run {run_id} belongs to organisation {}, model {id} to {}", r.org, m.org),
        ));
    }
    require_unflagged(layer, &RecordRef::Run(run_id.clone()))?;
    let depth = match &r.base_model {
        Some(b) => model_version(layer, b).expect("a run names an existing base model version").depth + 1,
        None => 0,
    };
    let v = ModelVersion {
        model: id.clone(),
        version,
        fingerprint: *fingerprint,
        run: run_id.clone(),
        owner: ctx.sender.id.clone(),
        height: ctx.height,
        tx: ctx.tx_hash,
        depth,
        deprecated: None,
    };
    m.versions = version;
    layer.put(keys::model(id), &m);
    let me = ModelVersionRef { model: id.clone(), version };
    layer.put(keys::model_version(id, version), &v);
    layer.put(keys::fingerprint(fingerprint), &me);
    add_edge(layer, &RecordRef::Run(run_id.clone()), &RecordRef::ModelVersion(me))?;
    Ok(vec![Event::ModelVersionRegistered(ModelVersionRegistered {
        model: id.clone(),
        version,
        fingerprint: *fingerprint,
        run: run_id.clone(),
        by: ctx.sender.id.clone(),
    })])
}

/// The envelope's type and its signature by `sender`: checked at admission (a client's
/// envelope that does not verify is refused before it costs a nonce) and again when the
/// transaction executes.
pub(crate) fn check_envelope(sender: &Account, env: &Envelope) -> Result<(), StateError> {
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(StateError::Provenance(ProvenanceError::InvalidAttestation(format!(
            "payloadType is {:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}",
            env.payload_type
        ))));
    }
    env.verify(sender.id.as_str(), &sender.public_key).map_err(|e| StateError::BadSignature {
        what: "DSSE",
        reason: format!(
            "the envelope must carry {}'s signature with key id {:?} (or none): {e}",
            sender.id,
            sender.id.as_str()
        ),
    })
}

pub(crate) fn submit_attestation(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &SubmitAttestation,
) -> Result<Vec<Event>, StateError> {
    let env = &action.envelope;
    require_role(ctx.sender, Role::Evaluator, "submit_attestation")?;
    check_envelope(ctx.sender, env)?;
    let st = EvaluationStatement::parse(&env.payload)
        .map_err(|e| StateError::Provenance(ProvenanceError::InvalidAttestation(e.to_string())))?;
    let fingerprint = st.subject[0].digest.sha256;
    let mv = model_by_fingerprint(layer, &fingerprint).ok_or_else(|| {
        StateError::Provenance(ProvenanceError::InvalidAttestation(format!(
            "subject digest {fingerprint} is not a registered model fingerprint"
        )))
    })?;
    // Bound to the evaluator: another evaluator signing the same statement gets its own id.
    let id = attestation_id(&ctx.sender.id, &env.payload_digest());
    if attestation(layer, &id).is_some() {
        return Err(StateError::AlreadyExists { what: "attestation", id: id.to_hex() });
    }
    let p = st.predicate;
    let record = Attestation {
        id,
        model: mv.model.clone(),
        version: mv.version,
        evaluator: ctx.sender.id.clone(),
        kind: p.kind.clone(),
        suite: p.suite,
        dataset_name: p.dataset.name,
        dataset_sha256: p.dataset.sha256,
        metrics: p.metrics,
        passed: p.passed,
        height: ctx.height,
        tx: ctx.tx_hash,
        revoked: None,
    };
    layer.put(keys::attestation(&id), &record);
    add_edge(layer, &RecordRef::ModelVersion(mv.clone()), &RecordRef::Attestation(id))?;
    Ok(vec![Event::AttestationSubmitted(AttestationSubmitted {
        attestation: id,
        model: mv.model,
        version: mv.version,
        kind: p.kind,
        passed: p.passed,
        evaluator: ctx.sender.id.clone(),
    })])
}

pub(crate) fn revoke_attestation(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &RevokeAttestation,
) -> Result<Vec<Event>, StateError> {
    let RevokeAttestation { attestation: id, reason } = action;
    let mut a = attestation(layer, id).ok_or_else(|| StateError::NotFound { what: "attestation", id: id.to_hex() })?;
    if a.evaluator != ctx.sender.id {
        let evaluator = identity::account(layer, &a.evaluator).expect("an attestation names an existing evaluator");
        if !(ctx.sender.has_role(Role::OrgAdmin) && ctx.sender.org == evaluator.org) {
            return Err(unauthorized(
                ctx,
                "revoke_attestation",
                format!("only {} or an org_admin of {} may revoke it", a.evaluator, evaluator.org),
            ));
        }
    }
    if a.revoked.is_some() {
        return Err(StateError::AlreadyDone { what: "attestation", id: id.to_hex(), state: "revoked" });
    }
    a.revoked = Some(Deprecation { by: ctx.sender.id.clone(), reason: reason.to_string(), height: ctx.height });
    layer.put(keys::attestation(id), &a);
    Ok(vec![Event::AttestationRevoked(AttestationRevoked { attestation: *id, by: ctx.sender.id.clone() })])
}

/// Sets a model's gate. A change that loosens the gate in force (`GateRules::loosened_by`)
/// is held back as the model's pending change until an org admin of another organisation
/// approves it (`approve_gate_change`) or `GATE_CHANGE_DELAY_MS` of block time passes; a
/// change that does not loosen it, and the first gate of a model, apply at once. Either
/// way a change still pending is superseded: only the newest proposal can take effect.
pub(crate) fn set_gate(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    id: &ModelId,
    rules: &GateRules,
) -> Result<Vec<Event>, StateError> {
    let m = existing_model(layer, id)?;
    require_model_org(ctx, &m, &[Role::ModelOwner, Role::OrgAdmin], "set_gate")?;
    let mut events = activate_due_gate_change(layer, ctx, id);
    if let Some(mut pending) = pending_gate_change(layer, id) {
        pending.status = GateChangeStatus::Superseded { by: ctx.tx_hash, height: ctx.height };
        layer.put(keys::gate_change(&pending.id), &pending);
        layer.put(keys::gate_pending(id), &None::<Hash>);
        events.push(Event::GateChangeSuperseded(GateChangeSuperseded {
            model: id.clone(),
            change: pending.id,
            by: ctx.sender.id.clone(),
        }));
    }
    match gate(layer, id).and_then(|g| g.rules().loosened_by(rules)) {
        None => {
            let policy = GatePolicy {
                model: id.clone(),
                requirements: rules.requirements.clone(),
                defaults: rules.defaults.clone(),
                independent: rules.independent,
                set_by: ctx.sender.id.clone(),
                height: ctx.height,
                change: None,
            };
            layer.put(keys::gate(id), &policy);
            events.push(Event::GateSet(GateSet {
                model: id.clone(),
                requirements: u32::try_from(rules.requirements.len())
                    .expect("gates are bounded by GATE_REQUIREMENTS_MAX"),
                by: ctx.sender.id.clone(),
            }));
        }
        Some(loosens) => {
            let change_id = gate_change_id(id, rules, &ctx.tx_hash);
            let effective_ms =
                ctx.time_ms.checked_add(GATE_CHANGE_DELAY_MS).ok_or(StateError::Overflow { what: "block time" })?;
            let change = GateChange {
                id: change_id,
                model: id.clone(),
                rules: rules.clone(),
                proposed_by: ctx.sender.id.clone(),
                loosens: loosens.clone(),
                height: ctx.height,
                tx: ctx.tx_hash,
                proposed_ms: ctx.time_ms,
                effective_ms,
                status: GateChangeStatus::Pending,
            };
            layer.put(keys::gate_change(&change_id), &change);
            layer.put(keys::gate_pending(id), &Some(change_id));
            events.push(Event::GateChangeProposed(GateChangeProposed {
                model: id.clone(),
                change: change_id,
                loosens,
                effective_ms,
                by: ctx.sender.id.clone(),
            }));
        }
    }
    Ok(events)
}

/// Puts the model's pending gate change in force if its delay has passed by the block's
/// time (every reader of the gate in a transaction calls this first, so the gate a
/// transaction sees is the gate in force at its block's time).
fn activate_due_gate_change(layer: &mut Layer<'_>, ctx: &Ctx<'_>, id: &ModelId) -> Vec<Event> {
    let Some(mut change) = pending_gate_change(layer, id).filter(|c| c.effective_ms <= ctx.time_ms) else {
        return Vec::new();
    };
    let policy = gate_in_force(layer, id, ctx.time_ms).expect("a due change is in force");
    layer.put(keys::gate(id), &policy);
    change.status = GateChangeStatus::Activated { height: ctx.height };
    layer.put(keys::gate_change(&change.id), &change);
    layer.put(keys::gate_pending(id), &None::<Hash>);
    vec![Event::GateChangeActivated(GateChangeActivated { model: id.clone(), change: change.id })]
}

/// An org admin of another organisation approves the model's pending gate change `change`,
/// which is put in force at once. The model's own organisation can never approve its own
/// change (that is the point of asking), and an approval names one proposal by its id, so
/// it cannot be spent on a change proposed after it.
pub(crate) fn approve_gate_change(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ApproveGateChange,
) -> Result<Vec<Event>, StateError> {
    let ApproveGateChange { model: id, change } = action;
    let m = existing_model(layer, id)?;
    if !ctx.sender.has_role(Role::OrgAdmin) {
        return Err(unauthorized(ctx, "approve_gate_change", "requires the org_admin role".into()));
    }
    if ctx.sender.org == m.org {
        return Err(unauthorized(
            ctx,
            "approve_gate_change",
            format!("model {id} belongs to organisation {}; another organisation approves its gate changes", m.org),
        ));
    }
    let mut pending = match pending_gate_change(layer, id) {
        Some(p) if p.id == *change => p,
        _ => {
            let c = super::gate_change(layer, change)
                .filter(|c| c.model == *id)
                .ok_or_else(|| StateError::NotFound { what: "gate change", id: format!("{change} of model {id}") })?;
            let status = match c.status {
                GateChangeStatus::Pending => unreachable!("a pending change is the model's pending change"),
                GateChangeStatus::Approved { .. } => "approved already",
                GateChangeStatus::Activated { .. } => "in force already (its delay passed)",
                GateChangeStatus::Superseded { .. } => "superseded by a later change",
            };
            return Err(StateError::Provenance(ProvenanceError::GateChangeNotPending {
                model: id.to_string(),
                change: *change,
                status,
            }));
        }
    };
    if pending.effective_ms <= ctx.time_ms {
        return Err(StateError::Provenance(ProvenanceError::GateChangeNotPending {
            model: id.to_string(),
            change: *change,
            status: "in force already (its delay passed)",
        }));
    }
    let policy = super::gate_change_policy(&pending);
    layer.put(keys::gate(id), &policy);
    pending.status =
        GateChangeStatus::Approved { by: ctx.sender.id.clone(), org: ctx.sender.org.clone(), height: ctx.height };
    layer.put(keys::gate_change(change), &pending);
    layer.put(keys::gate_pending(id), &None::<Hash>);
    Ok(vec![Event::GateChangeApproved(GateChangeApproved {
        model: id.clone(),
        change: *change,
        by: ctx.sender.id.clone(),
    })])
}

/// Checks a model version against its gate for `env`: returns the attestation chosen
/// for each applicable requirement (the first that satisfies it, in ledger order).
pub fn check_gate(state: &dyn StateRead, mv: &ModelVersion, env: &EnvId) -> Result<Vec<Hash>, StateError> {
    check_gate_for(state, mv, env, None)
}

/// [`check_gate`] for a deploy by `deployer`: separation of duties. An attestation never
/// counts if its evaluator is the deployer or signs with the deployer's current key (the
/// deployer under another account), nor, when the gate asks for independent evaluation,
/// if its evaluator belongs to the model's organisation.
pub fn check_gate_for(
    state: &dyn StateRead,
    mv: &ModelVersion,
    env: &EnvId,
    deployer: Option<&verity_types::AccountId>,
) -> Result<Vec<Hash>, StateError> {
    let refused = |reason: String| {
        StateError::Provenance(ProvenanceError::GateNotSatisfied {
            model: mv.model.to_string(),
            version: mv.version,
            environment: env.to_string(),
            reason,
        })
    };
    let policy =
        gate(state, &mv.model).ok_or_else(|| StateError::Provenance(ProvenanceError::NoGate(mv.model.to_string())))?;
    let model_org = model(state, &mv.model).expect("a model version names an existing model").org;
    let deployer_key = deployer.and_then(|d| identity::account(state, d)).map(|a| a.public_key);
    let me = RecordRef::model_version(&mv.model, mv.version);
    // Only the attestation list: a model version's decisions are never read here.
    let atts: Vec<Attestation> = downstream(state, &me, RecordKind::Attestation, 0, usize::MAX)
        .into_iter()
        .filter_map(|r| match r {
            RecordRef::Attestation(id) => attestation(state, &id),
            _ => None,
        })
        .collect();
    let rules = policy.rules();
    let mut chosen = Vec::new();
    for req in rules.applicable(env) {
        let mut why = Vec::new();
        let found = atts.iter().find(|a| {
            let shortfall = req.shortfall(a).or_else(|| {
                if deployer == Some(&a.evaluator) {
                    return Some(format!("its evaluator {} is the deployer", a.evaluator));
                }
                let evaluator = identity::account(state, &a.evaluator);
                if evaluator.as_ref().zip(deployer_key.as_ref()).is_some_and(|(e, k)| e.public_key == *k) {
                    return Some(format!("its evaluator {} signs with the deployer's key", a.evaluator));
                }
                if policy.independent && evaluator.as_ref().is_some_and(|e| e.org == model_org) {
                    return Some(format!(
                        "its evaluator {} belongs to the model's organisation {model_org} and the gate asks for \
                         independent evaluation",
                        a.evaluator
                    ));
                }
                if req.evaluators.is_empty() && !evaluator.is_some_and(|e| e.has_role(Role::Evaluator)) {
                    return Some(format!("{} no longer holds the evaluator role", a.evaluator));
                }
                None
            });
            if let Some(s) = &shortfall {
                if a.kind == req.kind {
                    why.push(format!("attestation {}: {s}", a.id));
                }
            }
            shortfall.is_none()
        });
        match found {
            Some(a) => chosen.push(a.id),
            None if why.is_empty() => return Err(refused(format!("no {} attestation", req.kind))),
            None => return Err(refused(format!("no passing {} attestation ({})", req.kind, why.join("; ")))),
        }
    }
    Ok(chosen)
}

fn deployable(state: &dyn StateRead, m: &ModelId, version: u32) -> Result<ModelVersion, StateError> {
    let v = existing_version(state, m, version)?;
    if v.deprecated.is_some() {
        return Err(StateError::Provenance(ProvenanceError::DeprecatedVersion { model: m.to_string(), version }));
    }
    require_unflagged(state, &RecordRef::model_version(m, version))?;
    Ok(v)
}

fn record_deployment(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    v: &ModelVersion,
    env: &EnvId,
    kind: DeploymentKind,
    attestations: Vec<Hash>,
) -> Result<Vec<Event>, StateError> {
    let id = ctx.tx_hash;
    let rollback = matches!(kind, DeploymentKind::Rollback { .. });
    let d = Deployment {
        id,
        model: v.model.clone(),
        version: v.version,
        environment: env.clone(),
        kind,
        by: ctx.sender.id.clone(),
        height: ctx.height,
        attestations,
        previous: current_deployment(layer, &v.model, env),
    };
    layer.put(keys::deployment(&id), &d);
    layer.put(keys::current_deployment(&v.model, env), &id);
    let n = deployment_count(layer);
    layer.put(keys::deployment_seq(n), &id);
    layer.put(keys::deployment_count(), &(n + 1));
    add_edge(layer, &RecordRef::model_version(&v.model, v.version), &RecordRef::Deployment(id))?;
    Ok(vec![Event::Deployed(Deployed {
        deployment: id,
        model: v.model.clone(),
        version: v.version,
        environment: env.clone(),
        rollback,
        by: ctx.sender.id.clone(),
    })])
}

pub(crate) fn deploy(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Deploy) -> Result<Vec<Event>, StateError> {
    let (m, version, env) = (&action.model, action.version, &action.environment);
    let model = existing_model(layer, m)?;
    require_model_org(ctx, &model, &[Role::Deployer], "deploy")?;
    let v = deployable(layer, m, version)?;
    let mut events = activate_due_gate_change(layer, ctx, m);
    let atts = check_gate_for(layer, &v, env, Some(&ctx.sender.id))?;
    events.extend(record_deployment(layer, ctx, &v, env, DeploymentKind::Deploy, atts)?);
    Ok(events)
}

pub(crate) fn rollback(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Rollback) -> Result<Vec<Event>, StateError> {
    let (m, env, to_version, reason) = (&action.model, &action.environment, action.to_version, &action.reason);
    let model = existing_model(layer, m)?;
    require_model_org(ctx, &model, &[Role::Deployer], "rollback")?;
    let current_id = current_deployment(layer, m, env).ok_or_else(|| {
        StateError::Provenance(ProvenanceError::InvalidRollback(format!("nothing of model {m} is deployed to {env}")))
    })?;
    let current = super::deployment(layer, &current_id).expect("the current pointer names a stored deployment");
    if to_version >= current.version {
        return Err(StateError::Provenance(ProvenanceError::InvalidRollback(format!(
            "{env} runs {m}@{}; a rollback goes to an earlier version, not {to_version}",
            current.version
        ))));
    }
    let v = deployable(layer, m, to_version)?;
    let mut events = activate_due_gate_change(layer, ctx, m);
    let atts = check_gate_for(layer, &v, env, Some(&ctx.sender.id))?;
    let kind = DeploymentKind::Rollback { from_version: current.version, reason: reason.to_string() };
    events.extend(record_deployment(layer, ctx, &v, env, kind, atts)?);
    Ok(events)
}

pub(crate) fn deprecate(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Deprecate) -> Result<Vec<Event>, StateError> {
    let (m, version, reason) = (&action.model, action.version, &action.reason);
    let model = existing_model(layer, m)?;
    require_model_org(ctx, &model, &[Role::ModelOwner, Role::Deployer], "deprecate")?;
    let mut v = existing_version(layer, m, version)?;
    if v.deprecated.is_some() {
        return Err(StateError::AlreadyDone {
            what: "model version",
            id: format!("{m}@{version}"),
            state: "deprecated",
        });
    }
    v.deprecated = Some(Deprecation { by: ctx.sender.id.clone(), reason: reason.to_string(), height: ctx.height });
    layer.put(keys::model_version(m, version), &v);
    let mut events = vec![Event::Deprecated(Deprecated { model: m.clone(), version, by: ctx.sender.id.clone() })];
    let mv = ModelVersionRef { model: m.clone(), version };
    events.extend(super::at_risk_events(layer, &mv, &format!("deprecated: {reason}")));
    Ok(events)
}

/// The model's organisation sets whether at-risk deployments are suspended.
pub(crate) fn set_risk_policy(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &SetRiskPolicy,
) -> Result<Vec<Event>, StateError> {
    let (id, suspend_at_risk) = (&action.model, action.suspend_at_risk);
    let m = existing_model(layer, id)?;
    require_model_org(ctx, &m, &[Role::ModelOwner, Role::OrgAdmin], "set_risk_policy")?;
    let policy = RiskPolicy { model: id.clone(), suspend_at_risk, set_by: ctx.sender.id.clone(), height: ctx.height };
    layer.put(keys::risk_policy(id), &policy);
    Ok(vec![Event::RiskPolicySet(RiskPolicySet { model: id.clone(), suspend_at_risk, by: ctx.sender.id.clone() })])
}

fn check_reviewer(state: &dyn StateRead, review: &ReviewLayer) -> Result<(), StateError> {
    if let ReviewLayer::Human(r) = review {
        if identity::account(state, r).is_none() {
            return Err(StateError::UnknownAccount(r.clone()));
        }
    }
    Ok(())
}

pub(crate) fn record_decision(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    a: &RecordDecision,
) -> Result<Vec<Event>, StateError> {
    if ![Role::Member, Role::Deployer, Role::ModelOwner].iter().any(|r| ctx.sender.has_role(*r)) {
        return Err(unauthorized(
            ctx,
            "record_decision",
            "requires one of the roles member, deployer, model_owner".into(),
        ));
    }
    let m = existing_model(layer, &a.model)?;
    existing_version(layer, &a.model, a.version)?;
    // A deployment the model's risk policy suspended makes no more decisions.
    let mv = ModelVersionRef { model: a.model.clone(), version: a.version };
    for d in super::current_deployments(layer, &mv) {
        if let Some(risk) = super::deployment_risk(layer, &d).filter(|r| r.suspended) {
            return Err(StateError::Provenance(ProvenanceError::DeploymentSuspended {
                model: d.model.to_string(),
                version: d.version,
                environment: d.environment.to_string(),
                reason: risk.reasons.join("; "),
            }));
        }
    }
    // Only the model's organisation records what its model decided.
    if ctx.sender.org != m.org {
        return Err(unauthorized(
            ctx,
            "record_decision",
            format!("model {} belongs to organisation {}; only its accounts record its decisions", m.id, m.org),
        ));
    }
    check_reviewer(layer, &a.review)?;
    let d = Decision {
        id: ctx.tx_hash,
        model: a.model.clone(),
        version: a.version,
        input_commitment: a.input_commitment,
        output_hash: a.output_hash,
        review: a.review.clone(),
        binding: a.binding,
        correction_policy: a.correction_policy,
        context: a.context.to_string(),
        operator: ctx.sender.id.clone(),
        org: ctx.sender.org.clone(),
        height: ctx.height,
        supersedes: None,
        correction_reason: String::new(),
        superseded_by: None,
    };
    layer.put(keys::decision(&d.id), &d);
    add_edge(layer, &RecordRef::model_version(&a.model, a.version), &RecordRef::Decision(d.id))?;
    Ok(vec![Event::DecisionRecorded(DecisionRecorded {
        decision: d.id,
        model: d.model,
        version: d.version,
        supersedes: None,
        operator: ctx.sender.id.clone(),
    })])
}

pub(crate) fn correct_decision(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &CorrectDecision,
) -> Result<Vec<Event>, StateError> {
    let CorrectDecision { decision: id, output_hash, review, reason } = action;
    let mut old = decision(layer, id).ok_or_else(|| StateError::NotFound { what: "decision", id: id.to_hex() })?;
    if let Some(newer) = old.superseded_by {
        return Err(StateError::Provenance(ProvenanceError::CorrectionRefused(format!(
            "decision {id} was already superseded by {newer}; correct that one"
        ))));
    }
    let allowed = match (&old.correction_policy, &old.review) {
        (CorrectionPolicy::NotCorrectable, _) => Err("its correction policy is not_correctable".to_string()),
        (CorrectionPolicy::ByOperator, _) if ctx.sender.org == old.org => Ok(()),
        (CorrectionPolicy::ByOperator, _) => {
            Err(format!("only the operator's organisation {} may correct it", old.org))
        }
        (CorrectionPolicy::ByReviewer, ReviewLayer::Human(r)) if *r == ctx.sender.id => Ok(()),
        (CorrectionPolicy::ByReviewer, ReviewLayer::Human(r)) => Err(format!("only its reviewer {r} may correct it")),
        (CorrectionPolicy::ByReviewer, ReviewLayer::None) => Err("it names no reviewer to correct it".to_string()),
    };
    allowed.map_err(|e| StateError::Provenance(ProvenanceError::CorrectionRefused(e)))?;
    check_reviewer(layer, review)?;
    let new = Decision {
        id: ctx.tx_hash,
        output_hash: *output_hash,
        review: review.clone(),
        operator: ctx.sender.id.clone(),
        org: ctx.sender.org.clone(),
        height: ctx.height,
        supersedes: Some(*id),
        correction_reason: reason.to_string(),
        superseded_by: None,
        ..old.clone()
    };
    old.superseded_by = Some(new.id);
    layer.put(keys::decision(id), &old);
    layer.put(keys::decision(&new.id), &new);
    add_edge(layer, &RecordRef::Decision(*id), &RecordRef::Decision(new.id))?;
    add_edge(layer, &RecordRef::model_version(&new.model, new.version), &RecordRef::Decision(new.id))?;
    Ok(vec![Event::DecisionRecorded(DecisionRecorded {
        decision: new.id,
        model: new.model,
        version: new.version,
        supersedes: Some(*id),
        operator: ctx.sender.id.clone(),
    })])
}
