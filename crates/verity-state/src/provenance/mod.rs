//! Provenance: content and opt-outs, dataset versions and challenges, training runs,
//! models and their versions, evaluation attestations, deploy gates, deployments, and
//! decisions with their corrections.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `RegisterContent` | a `creator` |
//! | `OptOut` | the content's creator, or an `org_admin` of its organisation |
//! | `WithdrawOptOut` | whoever may opt the content out |
//! | `PublishDataset` | a `curator` (of the dataset's organisation, after version 1) |
//! | `AddDatasetItems` | the curator who published the version |
//! | `ChallengeItem` | any account |
//! | `AnswerChallenge` | the challenged version's curator |
//! | `ResolveChallenge` | a designated reviewer of the version (or, if none are named, any `reviewer`), never its curator or the challenger |
//! | `RegisterRun` | a `model_owner`; the named provider holds `provider` and signed the run log |
//! | `RegisterModel` | a `model_owner` (the model belongs to its organisation) |
//! | `RegisterModelVersion` | a `model_owner` of the model's organisation |
//! | `SubmitAttestation` | an `evaluator`, who also signed the DSSE envelope |
//! | `RevokeAttestation` | the attestation's evaluator, or an `org_admin` of its organisation |
//! | `SetGate` | a `model_owner` or `org_admin` of the model's organisation |
//! | `Deploy`, `Rollback` | a `deployer` of the model's organisation |
//! | `Deprecate` | a `model_owner` or `deployer` of the model's organisation |
//! | `RecordDecision` | a `member`, `deployer` or `model_owner` |
//! | `CorrectDecision` | as the decision's correction policy says |
//!
//! The lineage graph: every record names its upstream records in its own fields, and
//! each record keeps a list of the records directly downstream of it (`prov/edge/...`),
//! so a trace in either direction reads only the records it returns. A flag (an upheld
//! challenge, or content opted out after use) is written on the dataset version and on
//! every run and model version downstream of it, in the same transaction; a flagged
//! record can no longer be used by a new run or model version, and a flagged model
//! version cannot be deployed. Hence every downstream record of a flagged dataset
//! version is flagged, now and later.

mod data;
/// Provenance state keys (defined in verity-types so offline verifiers share them).
pub use verity_types::provenance_keys as keys;
mod model;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};

use borsh::BorshDeserialize;
use verity_types::limits::TRACE_NODES_MAX;
use verity_types::{
    Attestation, Challenge, Content, Dataset, DatasetRef, DatasetVersion, Decision, Deployment, Event, Flag, FlagCause,
    GatePolicy, Hash, Model, ModelId, ModelVersion, ModelVersionRef, OptOut, Record, RecordRef, TrainingRun,
};

use crate::error::StateError;
use crate::identity::Account;
use crate::view::{read, Layer, StateRead};

pub use data::check_item;
pub(crate) use data::*;
pub use model::check_gate;
pub(crate) use model::*;

/// Context a provenance handler needs besides the sender.
pub(crate) struct Ctx<'s> {
    pub sender: &'s Account,
    pub height: u64,
    pub tx_hash: Hash,
}

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

pub fn decision(state: &dyn StateRead, id: &Hash) -> Option<Decision> {
    read(state, &keys::decision(id))
}

/// The stored bytes of the record a reference names (what a state proof covers).
pub fn record_bytes(state: &dyn StateRead, r: &RecordRef) -> Option<Vec<u8>> {
    state.get(&keys::record(r))
}

/// Number of records directly downstream of `from`.
pub fn edge_count(state: &dyn StateRead, from: &RecordRef) -> u64 {
    read(state, &keys::edge_count(from)).unwrap_or(0)
}

/// The records directly downstream of `from`, oldest first, from position `start`, at
/// most `limit` of them.
pub fn downstream(state: &dyn StateRead, from: &RecordRef, start: u64, limit: usize) -> Vec<RecordRef> {
    let n = edge_count(state, from);
    (start..n)
        .take(limit)
        .map(|i| read(state, &keys::edge(from, i)).expect("every edge below the count is stored"))
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

/// Every flag on a record, oldest first.
pub fn flags(state: &dyn StateRead, r: &RecordRef) -> Vec<Flag> {
    (0..flag_count(state, r))
        .map(|i| read(state, &keys::flag(r, i)).expect("every flag below the count is stored"))
        .collect()
}

/// Appends `to` to the downstream list of `from`.
pub(crate) fn add_edge(layer: &mut Layer<'_>, from: &RecordRef, to: &RecordRef) -> Result<(), StateError> {
    let n = edge_count(layer, from);
    layer.put(keys::edge(from, n), to);
    layer.put(keys::edge_count(from), &n.checked_add(1).ok_or(StateError::Overflow { what: "edge count" })?);
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
    let flag = Flag { origin: origin.clone(), cause: cause.clone(), height };
    let start = RecordRef::Dataset(origin.clone());
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = VecDeque::from([start]);
    let mut events = Vec::new();
    while let Some(r) = queue.pop_front() {
        let n = flag_count(layer, &r);
        layer.put(keys::flag(&r, n), &flag);
        layer.put(keys::flag_count(&r), &n.checked_add(1).ok_or(StateError::Overflow { what: "flag count" })?);
        events.push(Event::RecordFlagged { record: r.clone(), origin: origin.clone(), cause: cause.clone() });
        // Datasets feed runs, runs produce model versions, model versions are the base of runs.
        for next in downstream(layer, &r, 0, usize::MAX) {
            let follows = matches!(
                (&r, &next),
                (RecordRef::Dataset(_), RecordRef::Run(_))
                    | (RecordRef::Run(_), RecordRef::ModelVersion(_))
                    | (RecordRef::ModelVersion(_), RecordRef::Run(_))
            );
            if follows && seen.insert(next.clone()) {
                queue.push_back(next);
            }
        }
    }
    Ok(events)
}

/// Refuses if the record is flagged.
pub(crate) fn require_unflagged(state: &dyn StateRead, r: &RecordRef) -> Result<(), StateError> {
    match flag_count(state, r) {
        0 => Ok(()),
        flags => Err(StateError::LineageFlagged { record: r.to_string(), flags }),
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
    pub summary: String,
    pub data: Record,
    /// Number of flags on the record (problems found upstream of it).
    pub flags: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TraceNode>,
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
    /// The walk stopped at its node or depth limit before reaching every record.
    pub truncated: bool,
}

/// The decoded record a reference names, if it exists.
pub fn record(state: &dyn StateRead, r: &RecordRef) -> Option<Record> {
    record_bytes(state, r).map(|b| Record::decode(r, &b).expect("the ledger stores only records of the named kind"))
}

fn trace_node(state: &dyn StateRead, r: &RecordRef) -> Option<TraceNode> {
    let data = record(state, r)?;
    Some(TraceNode {
        record: r.clone(),
        summary: data.summary(),
        data,
        flags: flag_count(state, r),
        children: Vec::new(),
        repeated: false,
    })
}

struct Walk<'s> {
    state: &'s dyn StateRead,
    upstream: bool,
    seen: BTreeSet<RecordRef>,
    budget: usize,
    truncated: bool,
}

impl Walk<'_> {
    fn children(&mut self, r: &RecordRef, depth: usize) -> Vec<TraceNode> {
        if depth >= TRACE_DEPTH_MAX {
            self.truncated = true;
            return Vec::new();
        }
        let next = if self.upstream {
            upstream(self.state, r)
        } else {
            downstream(self.state, r, 0, self.budget.saturating_add(1))
        };
        let mut out = Vec::new();
        for n in next {
            if self.budget == 0 {
                self.truncated = true;
                break;
            }
            let Some(mut node) = trace_node(self.state, &n) else { continue };
            self.budget -= 1;
            if self.seen.insert(n.clone()) {
                node.children = self.children(&n, depth + 1);
            } else {
                node.repeated = true;
            }
            out.push(node);
        }
        out
    }
}

/// Traces the lineage of `root` in both directions, returning at most `limit` records
/// (capped at TRACE_NODES_MAX). `None` when the record does not exist.
pub fn trace(state: &dyn StateRead, root: &RecordRef, limit: usize) -> Option<Trace> {
    let root_node = trace_node(state, root)?;
    let mut budget = limit.clamp(1, TRACE_NODES_MAX) - 1;
    let mut truncated = false;
    let mut halves = Vec::new();
    for up in [true, false] {
        let mut w = Walk { state, upstream: up, seen: BTreeSet::from([root.clone()]), budget, truncated: false };
        halves.push(w.children(root, 0));
        budget = w.budget;
        truncated |= w.truncated;
    }
    let downstream = halves.pop().expect("two halves");
    let upstream = halves.pop().expect("two halves");
    let nodes = limit.clamp(1, TRACE_NODES_MAX) - budget;
    Some(Trace { root: root_node, upstream, downstream, nodes, truncated })
}
