//! Provenance endpoints: records, lineage traces, dataset pre-checks, release audits and
//! audit bundles. Part of the /v1 API documented by [`crate::api::ApiDoc`].

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use verity_consensus::StoreView;
use verity_state::provenance as prov;
use verity_state::StateRead;
use verity_types::limits::{BATCH_TXS_MAX, TRACE_FANOUT_DEFAULT, TRACE_NODES_MAX};
use verity_types::{EnvId, ModelId, ModelVersionRef, RecordRef};

use verity_api::provenance::{
    record_summary, DatasetCheck, DatasetCheckRequest, ItemProblem, ModelView, RecordView, ReleaseAudit, Trace,
    TraceNode,
};
use verity_api::query::{RecordQuery, ReleasesQuery, TraceQuery};

use crate::api::{page_limit, ApiError, ApiResult, ErrorCode, HttpError};
use crate::audit;
use crate::core::NodeCore;

type AppState = Arc<NodeCore>;

/// The flag at index `i` (below the record's flag count) of record `r`.
fn flag_at(view: &dyn StateRead, r: &RecordRef, i: u64) -> ApiResult<verity_types::Flag> {
    let i = u32::try_from(i).map_err(HttpError::internal)?;
    let bytes =
        view.get(&prov::keys::flag(r, i)).ok_or_else(|| HttpError::internal(format!("flag {i} of {r} is missing")))?;
    borsh::from_slice(&bytes).map_err(HttpError::internal)
}

fn parse_ref(s: &str) -> ApiResult<RecordRef> {
    s.parse::<RecordRef>().map_err(|e| HttpError::bad_request(ErrorCode::InvalidRecord, e.to_string()))
}

/// A provenance record by reference (`content:<hex>`, `dataset:NAME@V`, `run:ID`,
/// `model:NAME@V`, `attestation:<hex>`, `deployment:<hex>`, `decision:<hex>`, `optout:<hex>`,
/// `challenge:<hex>`).
#[utoipa::path(get, path = "/v1/records/{ref}", params(("ref" = String, Path, description = "Record reference", pattern = r"^((content|optout|challenge|attestation|deployment|decision|dispute):(0x)?[0-9a-fA-F]{64}|run:[a-z0-9][a-z0-9._-]{0,63}|(dataset|model):[a-z0-9][a-z0-9._-]{0,63}@[1-9][0-9]{0,8})$"), RecordQuery),
    responses((status = 200, body = RecordView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn get_record(
    State(core): State<AppState>,
    r: Result<Path<String>, PathRejection>,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> ApiResult<Json<RecordView>> {
    let Path(r) = r?;
    let Query(q) = q?;
    let r = parse_ref(&r)?;
    let limit = page_limit(q.flags_limit)?;
    let start = q.flags_cursor.unwrap_or(0);
    let view = StoreView(&core.store);
    let record = prov::record(&view, &r).ok_or_else(|| HttpError::not_found(format!("{r} does not exist")))?;
    let mut json = serde_json::to_value(&record).map_err(HttpError::internal)?;
    let inner = json.get_mut("record").map(serde_json::Value::take).unwrap_or_default();
    let flags = prov::flag_count(&view, &r);
    let end = start.saturating_add(limit).min(u64::from(flags));
    let flag_list = (start..end).map(|i| flag_at(&view, &r, i)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(RecordView {
        reference: r.to_string(),
        kind: r.kind().to_string(),
        summary: record_summary(&record),
        flags,
        record: inner,
        flag_list,
        flags_next: Some(end).filter(|&e| e < u64::from(flags)),
    }))
}

/// The lineage of a record in both directions: what it came from and what came from it.
/// Under each record at most `fanout` downstream records of each kind are listed (the
/// newest), and decisions only under the record traced (below it they are counted), so a
/// model version with thousands of decisions answers as fast as one with none; `more` on
/// a record counts, by kind, the downstream records not listed.
#[utoipa::path(get, path = "/v1/trace/{ref}", params(("ref" = String, Path, description = "Record reference", pattern = r"^((content|optout|challenge|attestation|deployment|decision|dispute):(0x)?[0-9a-fA-F]{64}|run:[a-z0-9][a-z0-9._-]{0,63}|(dataset|model):[a-z0-9][a-z0-9._-]{0,63}@[1-9][0-9]{0,8})$"), TraceQuery),
    responses((status = 200, description = "The trace: root, upstream and downstream trees", body = Trace),
              (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn trace(
    State(core): State<AppState>,
    r: Result<Path<String>, PathRejection>,
    q: Result<Query<TraceQuery>, QueryRejection>,
) -> ApiResult<Json<Trace>> {
    let Path(r) = r?;
    let Query(q) = q?;
    let r = parse_ref(&r)?;
    let limits = prov::TraceLimits {
        nodes: q.limit.unwrap_or(TRACE_NODES_MAX),
        fanout: q.fanout.unwrap_or(TRACE_FANOUT_DEFAULT),
    };
    for (name, value) in [("limit", limits.nodes), ("fanout", limits.fanout)] {
        if value == 0 || value > TRACE_NODES_MAX {
            return Err(HttpError::bad_request(
                ErrorCode::InvalidQuery,
                format!("{name} must be 1 to {TRACE_NODES_MAX}"),
            ));
        }
    }
    let store = core.store.clone();
    let t = tokio::task::spawn_blocking(move || prov::trace(&StoreView(&store), &r, limits).ok_or(r))
        .await
        .map_err(HttpError::internal)?
        .map_err(|r| HttpError::not_found(format!("{r} does not exist")))?;
    Ok(Json(wire_trace(t)))
}

/// A trace as the API serves it (every node with its summary).
pub(crate) fn wire_trace(t: prov::Trace) -> Trace {
    Trace {
        root: wire_node(t.root),
        upstream: t.upstream.into_iter().map(wire_node).collect(),
        downstream: t.downstream.into_iter().map(wire_node).collect(),
        nodes: t.nodes,
        truncated: t.truncated,
    }
}

/// A trace node as the API serves it: the state machine's node with its summary for
/// people (presentation stays out of the state machine).
fn wire_node(n: prov::TraceNode) -> TraceNode {
    TraceNode {
        summary: record_summary(&n.data),
        record: n.record,
        data: n.data,
        flags: n.flags,
        flags_active: n.flags_active,
        children: n.children.into_iter().map(wire_node).collect(),
        more: n.more,
        at_risk: n.at_risk,
        repeated: n.repeated,
    }
}

/// Checks dataset items against the opt-out and content registries, as enumerated
/// publication would (at most 4096 items per request).
#[utoipa::path(post, path = "/v1/datasets/check", request_body = DatasetCheckRequest,
    responses((status = 200, body = DatasetCheck),
              (status = 400, description = "Invalid JSON, more than 4096 items (`too_many_items`) or an invalid licence", body = ApiError),
              (status = 408, description = "The body did not arrive in time (`body_timeout`)", body = ApiError),
              (status = 413, description = "Body above the limit", body = ApiError),
              (status = 415, description = "Not `application/json`", body = ApiError),
              (status = 503, description = "`overloaded` or `request_timeout`; see Retry-After", body = ApiError)))]
pub(crate) async fn check_dataset(
    State(core): State<AppState>,
    body: Result<Json<DatasetCheckRequest>, JsonRejection>,
) -> ApiResult<Json<DatasetCheck>> {
    let Json(req) = body?;
    if req.items.len() > BATCH_TXS_MAX {
        return Err(HttpError::bad_request(
            ErrorCode::TooManyItems,
            format!("at most {BATCH_TXS_MAX} items per request"),
        ));
    }
    for l in req.items.iter().map(|i| &i.licence).chain(req.licences.iter().flatten()) {
        l.validate().map_err(|e| HttpError::bad_request(ErrorCode::InvalidLicence, e.to_string()))?;
    }
    let view = StoreView(&core.store);
    let problems = req
        .items
        .iter()
        .filter_map(|item| {
            prov::check_item(&view, &req.policy, req.licences.as_deref(), item).err().map(|e| ItemProblem {
                content: item.content.to_hex(),
                code: e.code().to_string(),
                message: e.to_string(),
            })
        })
        .collect();
    Ok(Json(DatasetCheck { checked: req.items.len(), problems }))
}

/// Deployments (deploys and rollbacks), oldest first, with the attestations each passed
/// the gate with, one page of the deployment log at a time.
#[utoipa::path(get, path = "/v1/audit/releases", params(ReleasesQuery),
    responses((status = 200, body = ReleaseAudit), (status = 400, body = ApiError)))]
pub(crate) async fn releases(
    State(core): State<AppState>,
    q: Result<Query<ReleasesQuery>, QueryRejection>,
) -> ApiResult<Json<ReleaseAudit>> {
    let Query(q) = q?;
    let env = q
        .environment
        .as_deref()
        .map(EnvId::new)
        .transpose()
        .map_err(|e| HttpError::bad_request(ErrorCode::InvalidId, e.to_string()))?;
    let limit = page_limit(q.limit)?;
    let start = q.cursor.unwrap_or(0);
    let store = core.store.clone();
    let env2 = env.clone();
    let (releases, total) = tokio::task::spawn_blocking(move || {
        let view = StoreView(&store);
        // The count first: a page never reaches past the log as it was when counted.
        let total = prov::deployment_count(&view);
        (audit::releases(&view, env2.as_ref(), start..start.saturating_add(limit).min(total)), total)
    })
    .await
    .map_err(HttpError::internal)?;
    let next = start.checked_add(limit).filter(|&n| n < total);
    let missing_kind = match &q.kind {
        Some(k) => releases
            .iter()
            .filter(|r| !r.attestation_kinds.iter().any(|x| x == k))
            .map(|r| r.deployment.id.to_hex())
            .collect(),
        None => Vec::new(),
    };
    Ok(Json(ReleaseAudit { environment: q.environment, kind: q.kind, releases, missing_kind, total, next }))
}

/// A self-contained audit bundle of a record's lineage, verifiable offline
/// (`verity audit verify`).
#[utoipa::path(get, path = "/v1/audit/bundle/{ref}", params(("ref" = String, Path, description = "Record reference", pattern = r"^((content|optout|challenge|attestation|deployment|decision|dispute):(0x)?[0-9a-fA-F]{64}|run:[a-z0-9][a-z0-9._-]{0,63}|(dataset|model):[a-z0-9][a-z0-9._-]{0,63}@[1-9][0-9]{0,8})$")),
    responses((status = 200, description = "The bundle (format verity-audit-bundle/v3)", body = verity_types::audit::AuditBundle),
              (status = 400, body = ApiError), (status = 404, body = ApiError),
              (status = 422, description = "The lineage is too large for one bundle (`bundle_too_large`)", body = ApiError)))]
pub(crate) async fn bundle(
    State(core): State<AppState>,
    r: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<verity_types::audit::AuditBundle>> {
    let Path(r) = r?;
    let r = parse_ref(&r)?;
    let store = core.store.clone();
    let chain = core.chain_id().to_string();
    let b = tokio::task::spawn_blocking(move || audit::build_bundle(&store, &chain, &r))
        .await
        .map_err(HttpError::internal)?;
    match b {
        Ok(b) => Ok(Json(b)),
        Err(e @ (audit::AuditError::NotFound(_) | audit::AuditError::NoCheckpoint)) => {
            Err(HttpError::not_found(e.to_string()))
        }
        Err(e @ audit::AuditError::TooLarge(_)) => {
            Err(HttpError::unprocessable(ErrorCode::BundleTooLarge, e.to_string()))
        }
        Err(e) => Err(HttpError::internal(e)),
    }
}

/// A model with its deploy gate and versions (newest 1000).
#[utoipa::path(get, path = "/v1/models/{id}", params(("id" = String, Path, description = "Model id", pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")),
    responses((status = 200, body = ModelView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn get_model(
    State(core): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ModelView>> {
    let Path(id) = id?;
    let id = ModelId::new(id).map_err(|e| HttpError::bad_request(ErrorCode::InvalidId, e.to_string()))?;
    let view = StoreView(&core.store);
    let model = prov::model(&view, &id).ok_or_else(|| HttpError::not_found(format!("model {id} does not exist")))?;
    let first = model.versions.saturating_sub(999).max(1);
    let versions = (first..=model.versions)
        .filter_map(|v| prov::model_version(&view, &ModelVersionRef { model: id.clone(), version: v }))
        .collect();
    Ok(Json(ModelView {
        gate: prov::gate(&view, &id),
        pending_gate_change: prov::pending_gate_change(&view, &id),
        model,
        versions,
    }))
}
