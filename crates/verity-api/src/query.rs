//! The query parameters of the node's operations: the node reads them (and documents them
//! with utoipa's `IntoParams`), the client writes them (`Serialize`, as a URL query
//! string; an absent parameter is left out).
//!
//! The checks beyond what the types say (a `wait` other than `commit` or `none`, a
//! `limit` out of range, exactly one of `key` and `key_hex`) are the node's: it answers
//! them with its own codes and messages.

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// Deserializes an optional query position (cursor, height, sequence number) within the
/// `int64` range the OpenAPI document gives it: a larger number is a schema violation,
/// refused with 400 like any other, not read as a position past the end.
pub fn query_position<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = u64::deserialize(d)?;
    if v > i64::MAX as u64 {
        return Err(serde::de::Error::custom(format!("{v} is past the int64 range")));
    }
    Ok(Some(v))
}

/// Whether to wait for the durable commit (default) or return once admitted
/// (`POST /v1/txs`, `POST /v1/txs/batch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// `commit` (default): answer after the block is fsync'd; `none`: answer on admission.
    #[param(pattern = r"^(commit|none)$")]
    pub wait: Option<String>,
}

impl WaitQuery {
    /// `commit` with `wait`, else `none`.
    pub fn commit(wait: bool) -> Self {
        WaitQuery { wait: Some(if wait { "commit" } else { "none" }.to_string()) }
    }
}

/// A state key to prove (`GET /v1/state/proof`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// State key as UTF-8 text (keys are readable, e.g. `bank/balance/alice/usd`); at
    /// most 256 bytes. Give exactly one of `key` and `key_hex`.
    #[param(min_length = 1, max_length = 256)]
    pub key: Option<String>,
    /// State key as hex, for keys that are not UTF-8.
    #[param(pattern = r"^([0-9a-fA-F]{2}){1,256}$")]
    pub key_hex: Option<String>,
    /// Height whose state root the proof is against (default: latest).
    #[serde(default, deserialize_with = "query_position")]
    pub height: Option<u64>,
}

/// Two sizes of the transaction log (`GET /v1/log/consistency`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older log size (at least 1).
    #[param(minimum = 1)]
    pub old_size: u64,
    /// The newer log size: at least `old_size`, at most the log's size.
    #[param(minimum = 1)]
    pub new_size: u64,
}

/// The filters of the event stream (`GET /v1/events`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events of this module (`identity`, `bank`, `provenance`).
    #[param(pattern = r"^(identity|bank|provenance)$")]
    pub module: Option<String>,
    /// Only events that concern this account.
    #[param(pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub account: Option<String>,
}

/// A page of a record's flags (`GET /v1/records/{ref}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// Index of the first flag to list: 0 (default), or the previous page's `flags_next`.
    #[serde(default, deserialize_with = "query_position")]
    pub flags_cursor: Option<u64>,
    /// Most flags to list (default and maximum 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub flags_limit: Option<u64>,
}

/// The bounds of a lineage trace (`GET /v1/trace/{ref}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceQuery {
    /// Most records to return (default and maximum 2000).
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<usize>,
    /// Most downstream records of one kind listed under each record, the newest (default
    /// 16, at most 2000); each record's `more` counts the others by kind.
    #[param(minimum = 1, maximum = 2000)]
    pub fanout: Option<usize>,
}

/// A page of the release audit (`GET /v1/audit/releases`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleasesQuery {
    /// Only deployments to this environment (e.g. `production`).
    #[param(pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub environment: Option<String>,
    /// An attestation kind every release must have passed with (e.g. `fairness`).
    pub kind: Option<String>,
    /// Position in the deployment log to start at: 0 (default), or the previous page's
    /// `next`.
    #[serde(default, deserialize_with = "query_position")]
    pub cursor: Option<u64>,
    /// How many positions of the deployment log this page covers (default and maximum
    /// 1000). Deployments to other environments are skipped, so a page may list fewer,
    /// even none, and still have a `next`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// A page of the equivocation evidence (`GET /v1/evidence`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// First sequence number to look at: 0 (default), or the previous page's `next`.
    #[serde(default, deserialize_with = "query_position")]
    pub from: Option<u64>,
    /// How many sequence numbers this page covers (default and maximum 1000). With
    /// `validator`, records against other validators are skipped, so a page may list
    /// fewer, even none, and still have a `next`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Only records against this validator (hex public key).
    #[param(pattern = r"^(0x)?[0-9a-fA-F]{64}$")]
    pub validator: Option<String>,
}

/// A page of the validator set (`GET /v1/validators`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidatorsQuery {
    /// Index of the first validator to list: 0 (default), or the previous page's `next`.
    #[serde(default, deserialize_with = "query_position")]
    pub cursor: Option<u64>,
    /// Most validators to list (default and maximum 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// A page of proposals, newest first (`GET /v1/gov/proposals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    /// List proposals numbered below this (default: all); the previous page's `next`.
    #[serde(default, deserialize_with = "query_position")]
    pub before: Option<u64>,
    /// How many proposals (default and maximum 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}
