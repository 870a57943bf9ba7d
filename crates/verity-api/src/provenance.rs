//! Provenance records, dataset checks, release audits and models.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use verity_types::limits::BATCH_TXS_MAX;

use verity_types::{
    DatasetItem, DatasetPolicy, Deployment, DeploymentKind, DeploymentRisk, Flag, GateChange, GatePolicy, Licence,
    Model, ModelVersion, Record, RecordKind, RecordRef, ReviewLayer,
};

/// A provenance record with its flags.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// The record's reference, e.g. `model:clf@2`.
    pub reference: String,
    /// `content`, `optout`, `dataset`, `challenge`, `run`, `model`, `attestation`,
    /// `deployment`, `decision` or `dispute`.
    pub kind: String,
    /// One line for people.
    pub summary: String,
    /// Number of flags on the record (problems found upstream).
    pub flags: u32,
    /// The record's fields (the `record` of verity-types' `Record` of this `kind`).
    #[schema(schema_with = record_fields_schema)]
    pub record: serde_json::Value,
    /// The flags from `flags_cursor` on, oldest first, at most `flags_limit`.
    pub flag_list: Vec<Flag>,
    /// The `flags_cursor` of the next page of flags; absent when `flag_list` reaches the
    /// last flag.
    #[serde(default)]
    pub flags_next: Option<u64>,
}

/// Items to check against the registry before publishing a dataset version.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetCheckRequest {
    pub policy: DatasetPolicy,
    /// The version's declared licence set, if it should be checked too.
    #[schema(schema_with = licences_schema)]
    pub licences: Option<Vec<Licence>>,
    /// At most 4096 items.
    #[schema(schema_with = items_schema)]
    pub items: Vec<DatasetItem>,
}

/// A schema written as JSON.
fn json_schema(v: serde_json::Value) -> utoipa::openapi::Schema {
    // A literal below; it deserialises as a schema or the unit test of the document fails.
    serde_json::from_value(v).unwrap_or_default()
}

/// The fields of a record of any kind: the `record` of one of the variants of
/// verity-types' `Record` (the `kind` beside it says which), taken from `Record`'s own
/// schema so that a new kind of record is listed here too.
fn record_fields_schema() -> utoipa::openapi::Schema {
    let record = serde_json::to_value(<Record as utoipa::PartialSchema>::schema()).unwrap_or_default();
    let kinds: Vec<serde_json::Value> = record["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|variant| variant["properties"].get("record").cloned())
        .collect();
    json_schema(serde_json::json!({"anyOf": kinds}))
}

// The licences and items of a dataset check are written by hand rather than derived
// from verity-types: a request may spell a hash with `0x` and in either case (the
// derived schemas describe the lowercase form the node writes), and an SPDX identifier
// has a shape the `Licence` type does not carry. The node's conformance test sends what
// these schemas generate and expects it accepted.

fn licence_json() -> serde_json::Value {
    serde_json::json!({"oneOf": [
        {"type": "object", "required": ["spdx"], "additionalProperties": false,
         "properties": {"spdx": {"type": "string", "pattern": r"^[A-Za-z0-9.+-]{1,64}$",
                                 "description": "An SPDX licence identifier"}}},
        {"type": "object", "required": ["custom"], "additionalProperties": false,
         "properties": {"custom": {"type": "string", "pattern": r"^(0x)?[0-9a-fA-F]{64}$",
                                   "description": "SHA-256 of custom licence terms"}}}
    ]})
}

fn licences_schema() -> utoipa::openapi::Schema {
    json_schema(serde_json::json!({"type": ["array", "null"], "items": licence_json()}))
}

fn items_schema() -> utoipa::openapi::Schema {
    json_schema(serde_json::json!({"type": "array", "maxItems": BATCH_TXS_MAX, "items": {
        "type": "object", "required": ["content", "licence"],
        "properties": {"content": {"type": "string", "pattern": r"^(0x)?[0-9a-fA-F]{64}$"}, "licence": licence_json()}}}))
}

/// Why an item of a dataset check would be refused.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemProblem {
    /// The item's content hash (hex).
    pub content: String,
    /// The ledger's code for the refusal (e.g. `opted_out`).
    pub code: String,
    pub message: String,
}

/// The answer to a dataset check.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetCheck {
    pub checked: usize,
    pub problems: Vec<ItemProblem>,
}

/// One release in a release audit.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Release {
    pub deployment: Deployment,
    /// Kinds of the attestations the deploy passed with, in gate order.
    pub attestation_kinds: Vec<String>,
    /// Whether the version is currently deployed there (not replaced since).
    pub current: bool,
    /// For the deployment in force: why it is at risk (its model version was flagged or
    /// deprecated after the deploy) and whether the model's risk policy suspends it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_risk: Option<DeploymentRisk>,
}

/// A page of the release audit.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseAudit {
    pub environment: Option<String>,
    pub kind: Option<String>,
    pub releases: Vec<Release>,
    /// With `kind`: ids of the releases on this page that did not pass with an
    /// attestation of that kind.
    pub missing_kind: Vec<String>,
    /// Deployments in the log, in all environments.
    pub total: u64,
    /// The `cursor` of the next page; absent on the last page.
    #[serde(default)]
    pub next: Option<u64>,
}

/// A model with its deploy gate and versions.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelView {
    pub model: Model,
    /// The gate last put in force.
    pub gate: Option<GatePolicy>,
    /// A change loosening the gate, waiting for another organisation's approval or for
    /// its `effective_ms` (block time; from then on it is the gate in force).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pending_gate_change: Option<GateChange>,
    pub versions: Vec<ModelVersion>,
}

/// One record in a lineage trace, with the records beyond it in the walk's direction.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TraceNode {
    /// The record's reference, e.g. `model:clf@2`.
    pub record: RecordRef,
    /// One line for people ([`record_summary`]).
    pub summary: String,
    /// The record (`kind` and `record`, as `GET /v1/records/{ref}` gives them).
    pub data: Record,
    /// Number of flags on the record (problems found upstream of it), lifted ones included.
    pub flags: u32,
    /// Number of its flags not lifted on appeal (a record with any cannot be used).
    pub flags_active: u32,
    /// The records beyond this one in the walk's direction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // A reference to this schema: collecting the schemas it refers to stops here.
    #[schema(no_recursion)]
    pub children: Vec<TraceNode>,
    /// Downstream records not listed under this record, by kind: the older ones beyond
    /// the trace's fan-out, and any the node limit cut off.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub more: BTreeMap<RecordKind, u64>,
    /// A deployment in force whose model version is flagged or deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<DeploymentRisk>,
    /// The record already appears earlier in this direction; its children are there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

/// A lineage trace: the root record, what it came from, and what came from it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Trace {
    pub root: TraceNode,
    pub upstream: Vec<TraceNode>,
    pub downstream: Vec<TraceNode>,
    /// Records returned (the root included).
    pub nodes: usize,
    /// The walk stopped at its node limit before reaching every record (records left out
    /// by the fan-out are counted in `more` and do not make a trace truncated).
    pub truncated: bool,
}

/// A one-line summary of a record for people (the `summary` of record views and trace
/// nodes).
pub fn record_summary(record: &Record) -> String {
    match record {
        Record::Content(c) => {
            format!("{} {} by {} ({} opt-outs)", c.media_type, c.licence, c.creator, c.opt_outs.len())
        }
        Record::OptOut(o) => {
            format!("{:?} by {}{}", o.scope, o.by, if o.withdrawn_height.is_some() { " (withdrawn)" } else { "" })
        }
        Record::Dataset(d) => format!(
            "{:?} {:?}, {} items, root {}, curator {}",
            d.mode,
            d.status,
            d.count,
            &d.root.to_hex()[..16],
            d.curator
        ),
        Record::Challenge(c) => format!("{:?} {:?} by {}", c.kind, c.status, c.challenger),
        Record::Run(r) => {
            format!("commit {} on {} by team {}, provider {}", r.code_commit, r.training_date, r.team, r.provider)
        }
        Record::ModelVersion(m) => format!(
            "fingerprint {}, owner {}{}",
            &m.fingerprint.to_hex()[..16],
            m.owner,
            if m.deprecated.is_some() { ", deprecated" } else { "" }
        ),
        Record::Attestation(a) => format!(
            "{} by {}: {}{}",
            a.kind,
            a.evaluator,
            if a.passed { "passed" } else { "failed" },
            if a.revoked.is_some() { ", revoked" } else { "" }
        ),
        Record::Deployment(d) => match &d.kind {
            DeploymentKind::Deploy => format!("deploy to {} by {}", d.environment, d.by),
            DeploymentKind::Rollback { from_version, .. } => {
                format!("rollback of {} from v{from_version} by {}", d.environment, d.by)
            }
        },
        Record::Decision(d) => format!(
            "by {}, {}, {}{}",
            d.operator,
            if d.binding { "binding" } else { "advisory" },
            match &d.review {
                ReviewLayer::None => "no human review".to_string(),
                ReviewLayer::Human(r) => format!("reviewed by {r}"),
            },
            if d.superseded_by.is_some() { ", superseded" } else { "" }
        ),
        Record::Dispute(d) => {
            let claimants: Vec<String> = d.claims.iter().map(|c| format!("{} ({})", c.claimant, c.org)).collect();
            match &d.resolution {
                None => format!("open: claimed by {}", claimants.join(", ")),
                Some(r) => format!("resolved for {} by {}: claimed by {}", r.winner, r.by, claimants.join(", ")),
            }
        }
    }
}
