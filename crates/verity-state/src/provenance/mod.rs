//! Provenance: content and opt-outs, dataset versions and challenges, training runs,
//! models and their versions, evaluation attestations, deploy gates, deployments, and
//! decisions with their corrections.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `RegisterContent` | a `creator`; if the content is registered to another organisation, the registration becomes a claim in a dispute instead |
//! | `ResolveContentDispute` | an `org_admin` of an organisation with no claim in the dispute, or (between two organisations) the side giving up: its claimant or an `org_admin` of its organisation |
//! | `OptOut` | the content's creator, or an `org_admin` of its organisation |
//! | `WithdrawOptOut` | whoever may opt the content out |
//! | `PublishDataset` | a `curator` (of the dataset's organisation, after version 1) |
//! | `AddDatasetItems` | the curator who published the version |
//! | `SetChallengeReview` | a `curator` or `org_admin` of the dataset's organisation |
//! | `ChallengeItem` | any account, with an inclusion proof of the item against the version's root |
//! | `AnswerChallenge` | the challenged version's curator |
//! | `ResolveChallenge` | as the challenge's review rule says: a named reviewer of the version (none named: a `reviewer` of the dataset's organisation), or one vote per organisation of the quorum (a `reviewer` of it) until `threshold` agree; never the curator or the challenger |
//! | `LiftFlags` | for an upheld challenge, the same reviewers or quorum as `ResolveChallenge` (no window); for a ledger-upheld `opted_out` one, only once no opt-out forbids the use |
//! | `RegisterRun` | a `model_owner`; the named provider holds `provider` and signed the run log |
//! | `RegisterModel` | a `model_owner` (the model belongs to its organisation) |
//! | `RegisterModelVersion` | a `model_owner` of the model's organisation, from a run of that organisation |
//! | `SubmitAttestation` | an `evaluator`, who also signed the DSSE envelope |
//! | `RevokeAttestation` | the attestation's evaluator, or an `org_admin` of its organisation |
//! | `SetGate`, `SetGateRules` | a `model_owner` or `org_admin` of the model's organisation; a change that loosens the gate in force waits (pending) for `ApproveGateChange` or `GATE_CHANGE_DELAY_MS` of block time; the first gate and a tightening apply at once; either way a pending change is superseded |
//! | `ApproveGateChange` | an `org_admin` of an organisation other than the model's, naming the model's pending change by its id |
//! | `SetRiskPolicy` | a `model_owner` or `org_admin` of the model's organisation |
//! | `Deploy`, `Rollback` | a `deployer` of the model's organisation, through the gate in force at the block's time; an attestation never counts if its evaluator is the deployer or signs with the deployer's key, nor (independent gates) if its evaluator is of the model's organisation |
//! | `Deprecate` | a `model_owner` or `deployer` of the model's organisation |
//! | `RecordDecision` | a `member`, `deployer` or `model_owner` of the model's organisation; refused while a deployment of the version in force is suspended |
//! | `CorrectDecision` | as the decision's correction policy says |
//!
//! The lineage graph: every record names its upstream records in its own fields, and
//! each record keeps one list per kind of the records directly downstream of it
//! (`prov/edges/<ref>/<kind>` count, `prov/edge/<ref>/<kind>/<n>` entries; the kinds are
//! `RecordKind::downstream`), so a trace in either direction reads only the records it
//! returns, and a reader of one kind (the deploy gate reading attestations, flagging
//! following runs) never walks a model version's thousands of decisions. A flag (an upheld
//! challenge, or content opted out after use) is written on the dataset version and on
//! every run and model version downstream of it, in the same transaction; a record with
//! an active (not lifted) flag can no longer be used by a new run or model version, and
//! such a model version cannot be deployed. Hence every downstream record of a flagged
//! dataset version is flagged, now and later, until the flag is lifted.
//!
//! Lifting (`LiftFlags`, an appeal granted by the reviewers who decide the challenge)
//! never deletes a flag: each flag of that challenge, on the dataset version and
//! downstream, gets a `lifted` entry (by, reason, height) and a `FlagLifted` event, and
//! `prov/flags_active/<record>` drops by one. A record flagged for another cause keeps
//! that flag and stays blocked.
//!
//! Opt-outs reach back only so far: an opt-out flags a dataset version only if the
//! version was published after the content's registration (its height is above the
//! registration's height), and flags nothing while another organisation disputes the
//! registration; the same holds for an `opted_out` challenge. So registering someone
//! else's content after they used it, then opting it out, flags nothing. A version
//! published before the registration but completed (enumerated items) after it is not
//! flagged either: its content was committed to at publication. New uses are refused by
//! any active opt-out, disputed or not.
//!
//! Deploy gates: which requirements apply to an environment is `GateRules::applicable`
//! (scoped ones where they are scoped, unscoped ones everywhere, and for an environment no
//! requirement names, the gate's `defaults` or else every scoped requirement), so no
//! environment name escapes a scoped requirement. A change that would let some deploy
//! through that the gate in force refuses (`GateRules::loosened_by`: a requirement removed
//! or weakened for some environment, a bound moved either way, independence dropped) is
//! kept as the model's pending change (`prov/gate_change/<id>`, `prov/gate_pending/<model>`)
//! and takes effect when an org admin of another organisation approves it by its id, or
//! once `GATE_CHANGE_DELAY_MS` of block time has passed: the first transaction reading the
//! gate after that writes it in force (`GateChangeActivated`), and every reader before
//! then sees the gate in force at its block's time (`gate_in_force`). Block time is the
//! proposer's timestamp, which validators keep monotonic and no later than their clocks.
//!
//! A deployment in force whose model version is flagged or deprecated afterwards is at
//! risk (`deployment_risk`, derived, never stored): a `DeploymentAtRisk` event is emitted
//! when it happens, traces show it, and if the model's risk policy (`SetRiskPolicy`,
//! `prov/risk/<model>`) suspends at-risk deployments, decisions of that version are
//! refused until the environment is rolled back or the flag lifted.

mod error;
pub use error::ProvenanceError;

mod data;
/// Provenance state keys (defined in verity-types so offline verifiers share them).
pub use verity_types::provenance::keys;
#[cfg(test)]
mod hardening_tests;
mod model;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use borsh::BorshDeserialize;
use verity_types::limits::{TRACE_FANOUT_DEFAULT, TRACE_NODES_MAX};
use verity_types::{
    Attestation, Challenge, ChallengeReview, Content, ContentDispute, Dataset, DatasetRef, DatasetVersion, Decision,
    Deployment, DeploymentAtRisk, DeploymentRisk, Event, Flag, FlagCause, FlagLift, FlagLifted, GateChange, GatePolicy,
    Hash, Model, ModelId, ModelVersion, ModelVersionRef, OptOut, Record, RecordFlagged, RecordKind, RecordRef,
    ReviewRule, RiskPolicy, TrainingRun,
};

use crate::error::StateError;
use crate::view::{read, Layer, StateRead};

pub use data::check_item;
pub(crate) use data::*;
pub(crate) use model::*;
pub use model::{check_gate, check_gate_for};

pub fn content(state: &dyn StateRead, id: &Hash) -> Option<Content> {
    read(state, &keys::content(id))
}

pub fn opt_out(state: &dyn StateRead, id: &Hash) -> Option<OptOut> {
    read(state, &keys::opt_out(id))
}

pub fn dataset(state: &dyn StateRead, id: &verity_types::DatasetId) -> Option<Dataset> {
    read(state, &keys::dataset(id))
}

pub fn dataset_version(state: &dyn StateRead, r: &DatasetRef) -> Option<DatasetVersion> {
    read(state, &keys::dataset_version(&r.dataset, r.version))
}

pub fn challenge(state: &dyn StateRead, id: &Hash) -> Option<Challenge> {
    read(state, &keys::challenge(id))
}

/// A content dispute.
pub fn dispute(state: &dyn StateRead, id: &Hash) -> Option<ContentDispute> {
    read(state, &keys::dispute(id))
}

/// The ids of every dispute over `content`, oldest first.
pub fn content_disputes(state: &dyn StateRead, content: &Hash) -> Vec<Hash> {
    read(state, &keys::content_disputes(content)).unwrap_or_default()
}

/// The open dispute over `content`, if any (only the newest can be open).
pub fn open_dispute(state: &dyn StateRead, content: &Hash) -> Option<ContentDispute> {
    let id = content_disputes(state, content).last().copied()?;
    dispute(state, &id).filter(|d| d.resolution.is_none())
}

/// The review rule recorded for a dataset version, if its organisation set one.
pub fn review_rule(state: &dyn StateRead, r: &DatasetRef) -> Option<ReviewRule> {
    read(state, &keys::review(&r.dataset, r.version))
}

/// Who decides the dataset version's challenges now.
pub fn challenge_review(state: &dyn StateRead, r: &DatasetRef) -> ChallengeReview {
    review_rule(state, r).map(|rule| rule.review).unwrap_or_default()
}

pub fn run(state: &dyn StateRead, id: &verity_types::RunId) -> Option<TrainingRun> {
    read(state, &keys::run(id))
}

pub fn model(state: &dyn StateRead, id: &ModelId) -> Option<Model> {
    read(state, &keys::model(id))
}

pub fn model_version(state: &dyn StateRead, r: &ModelVersionRef) -> Option<ModelVersion> {
    read(state, &keys::model_version(&r.model, r.version))
}

/// The model version registered with this fingerprint.
pub fn model_by_fingerprint(state: &dyn StateRead, fingerprint: &Hash) -> Option<ModelVersionRef> {
    read(state, &keys::fingerprint(fingerprint))
}

pub fn attestation(state: &dyn StateRead, id: &Hash) -> Option<Attestation> {
    read(state, &keys::attestation(id))
}

pub fn gate(state: &dyn StateRead, model: &ModelId) -> Option<GatePolicy> {
    read(state, &keys::gate(model))
}

/// A proposed gate change (pending or resolved).
pub fn gate_change(state: &dyn StateRead, id: &Hash) -> Option<GateChange> {
    read(state, &keys::gate_change(id))
}

/// The model's pending gate change, if it has one (it may be past its delay: see
/// [`gate_in_force`]).
pub fn pending_gate_change(state: &dyn StateRead, model: &ModelId) -> Option<GateChange> {
    let id = read::<Option<Hash>>(state, &keys::gate_pending(model)).flatten()?;
    Some(gate_change(state, &id).expect("a pending gate change id names a stored change"))
}

/// The model's gate in force at block time `time_ms`: its pending change once the change's
/// delay has passed by then, else the gate last put in force.
pub fn gate_in_force(state: &dyn StateRead, model: &ModelId, time_ms: u64) -> Option<GatePolicy> {
    match pending_gate_change(state, model) {
        Some(c) if c.effective_ms <= time_ms => Some(gate_change_policy(&c)),
        _ => gate(state, model),
    }
}

/// The gate a change puts in force (set by its proposer at its proposal's height, however
/// it came into force).
pub(crate) fn gate_change_policy(c: &GateChange) -> GatePolicy {
    GatePolicy {
        model: c.model.clone(),
        requirements: c.rules.requirements.clone(),
        defaults: c.rules.defaults.clone(),
        independent: c.rules.independent,
        set_by: c.proposed_by.clone(),
        height: c.height,
        change: Some(c.id),
    }
}

pub fn deployment(state: &dyn StateRead, id: &Hash) -> Option<Deployment> {
    read(state, &keys::deployment(id))
}

/// The deployment in force for a model in an environment.
pub fn current_deployment(state: &dyn StateRead, model: &ModelId, env: &verity_types::EnvId) -> Option<Hash> {
    read(state, &keys::current_deployment(model, env))
}

/// The number of deployments ever made (deploys and rollbacks).
pub fn deployment_count(state: &dyn StateRead) -> u64 {
    read(state, &keys::deployment_count()).unwrap_or(0)
}

/// The id of the n-th deployment (0-based, in ledger order).
pub fn deployment_at(state: &dyn StateRead, n: u64) -> Option<Hash> {
    read(state, &keys::deployment_seq(n))
}

/// The model's risk policy, if its organisation set one.
pub fn risk_policy(state: &dyn StateRead, model: &ModelId) -> Option<RiskPolicy> {
    read(state, &keys::risk_policy(model))
}

/// Why a deployment is at risk: it is the one in force in its environment and its model
/// version has active flags or is deprecated. `None` for a sound deployment, and for one
/// no longer in force (a rollback or a newer deploy replaced it).
pub fn deployment_risk(state: &dyn StateRead, d: &Deployment) -> Option<DeploymentRisk> {
    if current_deployment(state, &d.model, &d.environment) != Some(d.id) {
        return None;
    }
    let mv = ModelVersionRef { model: d.model.clone(), version: d.version };
    let v = model_version(state, &mv).expect("a deployment names an existing model version");
    let mut reasons = Vec::new();
    match active_flag_count(state, &RecordRef::ModelVersion(mv)) {
        0 => {}
        n => reasons.push(format!("flagged ({n} active flag(s))")),
    }
    if let Some(dep) = &v.deprecated {
        reasons.push(format!("deprecated: {}", dep.reason));
    }
    if reasons.is_empty() {
        return None;
    }
    let suspended = risk_policy(state, &d.model).is_some_and(|p| p.suspend_at_risk);
    Some(DeploymentRisk { reasons, suspended })
}

/// The deployments in force of a model version, oldest first.
pub(crate) fn current_deployments(state: &dyn StateRead, mv: &ModelVersionRef) -> Vec<Deployment> {
    downstream(state, &RecordRef::ModelVersion(mv.clone()), RecordKind::Deployment, 0, usize::MAX)
        .into_iter()
        .filter_map(|r| match r {
            RecordRef::Deployment(id) => deployment(state, &id),
            _ => None,
        })
        .filter(|d| current_deployment(state, &d.model, &d.environment) == Some(d.id))
        .collect()
}

/// One `DeploymentAtRisk` event per deployment of `mv` in force, once `mv` was flagged or
/// deprecated (`reason` says which).
pub(crate) fn at_risk_events(state: &dyn StateRead, mv: &ModelVersionRef, reason: &str) -> Vec<Event> {
    current_deployments(state, mv)
        .into_iter()
        .filter_map(|d| {
            let risk = deployment_risk(state, &d)?;
            Some(Event::DeploymentAtRisk(DeploymentAtRisk {
                deployment: d.id,
                model: d.model,
                version: d.version,
                environment: d.environment,
                reason: reason.to_string(),
                suspended: risk.suspended,
            }))
        })
        .collect()
}

pub fn decision(state: &dyn StateRead, id: &Hash) -> Option<Decision> {
    read(state, &keys::decision(id))
}

/// The stored bytes of the record a reference names (what a state proof covers).
pub fn record_bytes(state: &dyn StateRead, r: &RecordRef) -> Option<Vec<u8>> {
    state.get(&keys::record(r))
}

/// Number of records of `kind` directly downstream of `from`.
pub fn edge_count(state: &dyn StateRead, from: &RecordRef, kind: RecordKind) -> u64 {
    read(state, &keys::edge_count(from, kind)).unwrap_or(0)
}

/// The records of `kind` directly downstream of `from`, oldest first, from position
/// `start`, at most `limit` of them.
pub fn downstream(
    state: &dyn StateRead,
    from: &RecordRef,
    kind: RecordKind,
    start: u64,
    limit: usize,
) -> Vec<RecordRef> {
    let n = edge_count(state, from, kind);
    (start..n)
        .take(limit)
        .map(|i| read(state, &keys::edge(from, kind, i)).expect("every edge below the count is stored"))
        .collect()
}

/// The records directly upstream of `r`, as its own fields name them (an enumerated
/// dataset version's items are not listed: trace from the content instead).
pub fn upstream(state: &dyn StateRead, r: &RecordRef) -> Vec<RecordRef> {
    record(state, r).map(|rec| rec.upstream()).unwrap_or_default()
}

/// Number of flags on a record.
pub fn flag_count(state: &dyn StateRead, r: &RecordRef) -> u32 {
    read(state, &keys::flag_count(r)).unwrap_or(0)
}

/// Number of the record's flags that are not lifted (those block its use).
pub fn active_flag_count(state: &dyn StateRead, r: &RecordRef) -> u32 {
    read(state, &keys::active_flag_count(r)).unwrap_or(0)
}

/// Every flag on a record, oldest first (lifted ones included, marked lifted).
pub fn flags(state: &dyn StateRead, r: &RecordRef) -> Vec<Flag> {
    (0..flag_count(state, r))
        .map(|i| read(state, &keys::flag(r, i)).expect("every flag below the count is stored"))
        .collect()
}

/// Appends `to` to the downstream list of its kind under `from`.
pub(crate) fn add_edge(layer: &mut Layer<'_>, from: &RecordRef, to: &RecordRef) -> Result<(), StateError> {
    let kind = to.record_kind();
    assert!(
        from.record_kind().downstream().contains(&kind),
        "the lineage graph has no {kind} records downstream of a {} record",
        from.kind()
    );
    let n = edge_count(layer, from, kind);
    layer.put(keys::edge(from, kind, n), to);
    layer.put(keys::edge_count(from, kind), &n.checked_add(1).ok_or(StateError::Overflow { what: "edge count" })?);
    Ok(())
}

/// Flags `origin` (a dataset version) and every run and model version downstream of it.
/// Returns one `RecordFlagged` event per record flagged.
pub(crate) fn flag_downstream(
    layer: &mut Layer<'_>,
    origin: &DatasetRef,
    cause: &FlagCause,
    height: u64,
) -> Result<Vec<Event>, StateError> {
    let flag = Flag { origin: origin.clone(), cause: cause.clone(), height, lifted: None };
    let mut events = Vec::new();
    for r in flaggable_downstream(layer, origin) {
        let n = flag_count(layer, &r);
        layer.put(keys::flag(&r, n), &flag);
        layer.put(keys::flag_count(&r), &n.checked_add(1).ok_or(StateError::Overflow { what: "flag count" })?);
        let active = active_flag_count(layer, &r);
        layer.put(
            keys::active_flag_count(&r),
            &active.checked_add(1).ok_or(StateError::Overflow { what: "flag count" })?,
        );
        events.push(Event::RecordFlagged(RecordFlagged {
            record: r.clone(),
            origin: origin.clone(),
            cause: cause.clone(),
        }));
        // A model version in production does not go on silently once flagged.
        if let RecordRef::ModelVersion(mv) = &r {
            events.extend(at_risk_events(
                layer,
                mv,
                &format!("flagged from dataset {}@{}", origin.dataset, origin.version),
            ));
        }
    }
    Ok(events)
}

/// `origin` (a dataset version) and every run and model version downstream of it, in
/// breadth-first order, each once.
fn flaggable_downstream(state: &dyn StateRead, origin: &DatasetRef) -> Vec<RecordRef> {
    let start = RecordRef::Dataset(origin.clone());
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = VecDeque::from([start]);
    let mut out = Vec::new();
    while let Some(r) = queue.pop_front() {
        assert!(r.record_kind().flaggable(), "flags follow only datasets, runs and model versions");
        // Datasets feed runs, runs produce model versions, model versions are the base of
        // runs; only those lists are read (never a model version's decisions).
        let follows = match r.record_kind() {
            RecordKind::Dataset | RecordKind::ModelVersion => Some(RecordKind::Run),
            RecordKind::Run => Some(RecordKind::ModelVersion),
            _ => None,
        };
        if let Some(follows) = follows {
            for next in downstream(state, &r, follows, 0, usize::MAX) {
                if seen.insert(next.clone()) {
                    queue.push_back(next);
                }
            }
        }
        out.push(r);
    }
    out
}

/// Lifts every flag with `cause` that `origin` put on itself and on the records downstream
/// of it: each flag stays on record with `lift` added, and stops blocking its record. A
/// record flagged for another cause stays blocked by that flag. Returns one `FlagLifted`
/// event per flag lifted.
pub(crate) fn lift_downstream(
    layer: &mut Layer<'_>,
    origin: &DatasetRef,
    cause: &FlagCause,
    lift: &FlagLift,
) -> Result<Vec<Event>, StateError> {
    let mut events = Vec::new();
    // Records downstream now are those flagged then: a record with an active flag feeds no
    // new run or model version, and this cause's flags are all still active here.
    for r in flaggable_downstream(layer, origin) {
        for n in 0..flag_count(layer, &r) {
            let mut flag: Flag = read(layer, &keys::flag(&r, n)).expect("every flag below the count is stored");
            if flag.lifted.is_some() || flag.origin != *origin || flag.cause != *cause {
                continue;
            }
            flag.lifted = Some(lift.clone());
            layer.put(keys::flag(&r, n), &flag);
            let active = active_flag_count(layer, &r)
                .checked_sub(1)
                .expect("an unlifted flag is counted among the record's active flags");
            layer.put(keys::active_flag_count(&r), &active);
            events.push(Event::FlagLifted(FlagLifted {
                record: r.clone(),
                origin: origin.clone(),
                cause: cause.clone(),
                by: lift.by.clone(),
            }));
        }
    }
    Ok(events)
}

/// Refuses if the record carries a flag that is not lifted.
pub(crate) fn require_unflagged(state: &dyn StateRead, r: &RecordRef) -> Result<(), StateError> {
    match active_flag_count(state, r) {
        0 => Ok(()),
        flags => Err(StateError::Provenance(ProvenanceError::LineageFlagged { record: r.to_string(), flags })),
    }
}

/// Decodes a stored record's bytes (for readers holding bytes from a proof or the store).
pub fn decode_record<T: BorshDeserialize>(bytes: &[u8]) -> Option<T> {
    borsh::from_slice(bytes).ok()
}

/// Deepest a trace walks from its root in either direction.
pub const TRACE_DEPTH_MAX: usize = 256;

/// One record in a lineage trace, with the records beyond it in the walk's direction.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceNode {
    pub record: RecordRef,
    pub data: Record,
    /// Number of flags on the record (problems found upstream of it), lifted ones included.
    pub flags: u32,
    /// Number of its flags not lifted on appeal (a record with any cannot be used).
    pub flags_active: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TraceNode>,
    /// Downstream records not listed under this record, by kind: the older ones beyond
    /// the trace's fan-out, and any the node limit cut off. Only the downstream walk
    /// (and the root, for its downstream) fills it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub more: BTreeMap<RecordKind, u64>,
    /// A deployment in force whose model version is flagged or deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<DeploymentRisk>,
    /// The record already appears earlier in this direction; its children are there.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

/// A lineage trace: the root record, what it came from, and what came from it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Trace {
    pub root: TraceNode,
    pub upstream: Vec<TraceNode>,
    pub downstream: Vec<TraceNode>,
    /// Records returned (the root included).
    pub nodes: usize,
    /// The walk stopped at its node or depth limit before reaching every record (records
    /// left out by the fan-out are counted in `more` and do not make a trace truncated).
    pub truncated: bool,
}

/// How far a trace goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceLimits {
    /// Most records returned, the root included (capped at `TRACE_NODES_MAX`).
    pub nodes: usize,
    /// Most downstream records of one kind listed under one record: the newest, in
    /// ledger order; the others are counted in the record's `more`. Decisions (usage
    /// records, `RecordKind::is_usage`) are listed only under the traced record itself
    /// and counted under every record below it.
    pub fanout: usize,
}

impl Default for TraceLimits {
    fn default() -> Self {
        TraceLimits { nodes: TRACE_NODES_MAX, fanout: TRACE_FANOUT_DEFAULT }
    }
}

/// The decoded record a reference names, if it exists.
pub fn record(state: &dyn StateRead, r: &RecordRef) -> Option<Record> {
    record_bytes(state, r).map(|b| Record::decode(r, &b).expect("the ledger stores only records of the named kind"))
}

fn trace_node(state: &dyn StateRead, r: &RecordRef) -> Option<TraceNode> {
    let data = record(state, r)?;
    Some(TraceNode {
        record: r.clone(),
        // Only datasets, runs and model versions are ever flagged: skip the read otherwise.
        flags: if r.record_kind().flaggable() { flag_count(state, r) } else { 0 },
        flags_active: if r.record_kind().flaggable() { active_flag_count(state, r) } else { 0 },
        at_risk: match &data {
            Record::Deployment(d) => deployment_risk(state, d),
            _ => None,
        },
        data,
        children: Vec::new(),
        more: BTreeMap::new(),
        repeated: false,
    })
}

struct Walk<'s> {
    state: &'s dyn StateRead,
    upstream: bool,
    fanout: u64,
    seen: BTreeSet<RecordRef>,
    budget: usize,
    truncated: bool,
}

impl Walk<'_> {
    /// The records beyond `r` in the walk's direction, and (downstream) how many of each
    /// kind were not listed.
    fn children(&mut self, r: &RecordRef, depth: usize) -> (Vec<TraceNode>, BTreeMap<RecordKind, u64>) {
        let mut out = Vec::new();
        let mut more = BTreeMap::new();
        if depth >= TRACE_DEPTH_MAX {
            self.truncated = true;
            return (out, more);
        }
        if self.upstream {
            // Upstream lists are short by construction (a run's datasets and base model,
            // a deployment's attestations): no fan-out bound.
            for n in upstream(self.state, r) {
                if self.budget == 0 {
                    self.truncated = true;
                    break;
                }
                self.visit(n, depth, &mut out);
            }
            return (out, more);
        }
        for &kind in r.record_kind().downstream() {
            let count = edge_count(self.state, r, kind);
            // Decisions are listed under the traced record itself; deeper they are only
            // counted: a trace is about lineage, and decisions are its countless leaves.
            let fanout = if kind.is_usage() && depth > 0 { 0 } else { self.fanout };
            let first = count - count.min(fanout);
            let mut listed = 0u64;
            for i in first..count {
                if self.budget == 0 {
                    self.truncated = true;
                    break;
                }
                let n: RecordRef =
                    read(self.state, &keys::edge(r, kind, i)).expect("every edge below the count is stored");
                if self.visit(n, depth, &mut out) {
                    listed += 1;
                }
            }
            if count > listed {
                more.insert(kind, count - listed);
            }
        }
        (out, more)
    }

    /// Adds `n` (and what lies beyond it) to `out`, spending one node of the budget
    /// (which the caller checked); false if the record does not exist.
    fn visit(&mut self, n: RecordRef, depth: usize, out: &mut Vec<TraceNode>) -> bool {
        let Some(mut node) = trace_node(self.state, &n) else { return false };
        self.budget -= 1;
        if self.seen.insert(n.clone()) {
            (node.children, node.more) = self.children(&n, depth + 1);
        } else {
            node.repeated = true;
        }
        out.push(node);
        true
    }
}

/// Traces the lineage of `root` in both directions within `limits`. `None` when the
/// record does not exist.
///
/// Cost: each record returned costs its record read, its flag count (datasets, runs and
/// model versions only), its edge entry (downstream) and one count per downstream kind,
/// so a trace reads a small multiple of the records it returns; the fan-out, and counting
/// rather than listing the decisions of every record but the traced one, keep that
/// number independent of how many decisions model versions have made.
pub fn trace(state: &dyn StateRead, root: &RecordRef, limits: TraceLimits) -> Option<Trace> {
    let mut root_node = trace_node(state, root)?;
    let nodes_max = limits.nodes.clamp(1, TRACE_NODES_MAX);
    let mut budget = nodes_max - 1;
    let mut truncated = false;
    let mut halves = Vec::new();
    for up in [true, false] {
        let mut w = Walk {
            state,
            upstream: up,
            fanout: limits.fanout.max(1) as u64,
            seen: BTreeSet::from([root.clone()]),
            budget,
            truncated: false,
        };
        let (nodes, more) = w.children(root, 0);
        halves.push(nodes);
        if !up {
            root_node.more = more;
        }
        budget = w.budget;
        truncated |= w.truncated;
    }
    let downstream = halves.pop().expect("two halves");
    let upstream = halves.pop().expect("two halves");
    Some(Trace { root: root_node, upstream, downstream, nodes: nodes_max - budget, truncated })
}
