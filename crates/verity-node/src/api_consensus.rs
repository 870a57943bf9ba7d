//! Consensus endpoints: the validator set and the equivocation evidence on the ledger.
//! Part of the /v1 API documented by [`crate::api::ApiDoc`]. Every answer is read from
//! committed state, so each record can also be proven with `/v1/state/proof` (keys
//! `consensus/validators`, `consensus/evidence/<sequence, 20 digits>`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use verity_consensus::StoreView;
use verity_state::EvidenceRecord;

use crate::api::{ApiError, ApiResult};
use crate::core::NodeCore;

type AppState = Arc<NodeCore>;

/// Most evidence records per page.
pub const EVIDENCE_PAGE_MAX: u64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct EvidenceQuery {
    /// First sequence number to return (default 0).
    pub from: Option<u64>,
    /// Most records to return (default and maximum 1000).
    pub limit: Option<u64>,
    /// Only records against this validator (hex public key).
    pub validator: Option<String>,
}

/// A page of the evidence list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceList {
    /// How many records the ledger holds in all (sequence numbers `0..count`).
    pub count: u64,
    /// The height the answer was read at.
    pub height: u64,
    /// Records, by sequence number: `sequence`, `offence`, `org`, `evidence` (the
    /// validator's key and both signed votes), `reported_by`, `height`, `tx_hash`.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<serde_json::Value>,
}

/// Equivocation evidence recorded on the ledger, in sequence order.
#[utoipa::path(get, path = "/v1/evidence", params(EvidenceQuery),
    responses((status = 200, body = EvidenceList), (status = 400, body = ApiError)))]
pub(crate) async fn list_evidence(
    State(core): State<AppState>,
    q: Result<Query<EvidenceQuery>, QueryRejection>,
) -> ApiResult<Json<EvidenceList>> {
    let Query(q) = q?;
    let validator = q
        .validator
        .as_deref()
        .map(|h| h.parse::<verity_types::PublicKey>())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_key", e.to_string()))?;
    let limit = q.limit.unwrap_or(EVIDENCE_PAGE_MAX).min(EVIDENCE_PAGE_MAX);
    let height = core.store.height();
    let view = StoreView(&core.store);
    let count = verity_state::evidence_count(&view);
    let mut evidence = Vec::new();
    let mut seq = q.from.unwrap_or(0);
    while seq < count && (evidence.len() as u64) < limit {
        if let Some(rec) = verity_state::evidence(&view, seq) {
            if validator.is_none_or(|v| rec.evidence.validator == v) {
                evidence.push(serde_json::to_value(&rec).map_err(ApiError::internal)?);
            }
        }
        seq += 1;
    }
    Ok(Json(EvidenceList { count, height, evidence }))
}

/// One validator of the current set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorView {
    pub index: u32,
    pub org: String,
    pub public_key: String,
    pub power: u64,
    /// Evidence records against this validator on the ledger.
    pub equivocations: u64,
}

/// The current validator set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorsView {
    pub height: u64,
    /// Hash of the set (what block headers name as `validator_set_hash`).
    pub validator_set_hash: String,
    pub validators: Vec<ValidatorView>,
}

/// The current validator set, with each validator's evidence count.
#[utoipa::path(get, path = "/v1/validators", responses((status = 200, body = ValidatorsView)))]
pub(crate) async fn validators(State(core): State<AppState>) -> ApiResult<Json<ValidatorsView>> {
    let height = core.store.height();
    let view = StoreView(&core.store);
    let set = verity_state::validator_set(&view).ok_or_else(|| ApiError::not_found("no validator set in state"))?;
    let records: Vec<EvidenceRecord> =
        (0..verity_state::evidence_count(&view)).filter_map(|s| verity_state::evidence(&view, s)).collect();
    let validators = set
        .validators
        .iter()
        .enumerate()
        .map(|(i, v)| ValidatorView {
            index: i as u32,
            org: v.org.to_string(),
            public_key: v.public_key.to_hex(),
            power: v.power,
            equivocations: records.iter().filter(|r| r.evidence.validator == v.public_key).count() as u64,
        })
        .collect();
    Ok(Json(ValidatorsView { height, validator_set_hash: set.hash().to_hex(), validators }))
}
