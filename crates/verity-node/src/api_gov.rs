//! Governance endpoints: the constitution, parameters and treasury, proposals (with
//! each analysis's model lineage), stake, rewards owed and reputation. Part of the /v1
//! API documented by [`crate::api::ApiDoc`]. Every answer is read from committed state,
//! so each record can be proven with `/v1/state/proof` (keys `gov/proposal/<id hex>`,
//! `gov/param/<name>`, `stake/pos/<account>/<scope>`, `rewards/stream/<id>`,
//! `rep/<account>`).

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use verity_consensus::StoreView;
use verity_state::governance::{self as gov, keys, rewards, stake};
use verity_state::provenance as prov;
use verity_state::StateRead;
use verity_types::{AccountId, Proposal, ProposalStatus, RecordRef, PARAMS};

use verity_api::governance::{
    AnalysisTrace, AssetAmount, GovernanceView, OwedView, ParamView, ProposalList, ProposalTrace, ProposalView,
    StakeView, StreamsView,
};
use verity_api::provenance::Trace;
use verity_api::query::ProposalsQuery;

use crate::api::{page_limit, parse_hash, ApiError, ApiResult, ErrorCode, HttpError};
use crate::api_prov::wire_trace;
use crate::core::NodeCore;

type AppState = Arc<NodeCore>;

fn no_governance() -> HttpError {
    HttpError::not_found("this chain has no governance: its genesis has no governance section")
}

/// A proposal's phase for the next block after `height` (see [`ProposalView::phase`]):
/// what a transaction submitted now can do.
pub fn phase(p: &Proposal, height: u64) -> &'static str {
    let next = height.saturating_add(1);
    match p.status {
        ProposalStatus::Voting if next <= p.voting_end => "voting",
        // Until the end of block `execute_at`, where the ledger concludes it.
        ProposalStatus::Voting => "cooling_off",
        ProposalStatus::Passed => "awaiting_ratification",
        ProposalStatus::Executed { .. } => "executed",
        ProposalStatus::Failed { .. } => "failed",
        ProposalStatus::Rejected { .. } => "rejected",
        ProposalStatus::Vetoed { .. } => "vetoed",
        ProposalStatus::Cancelled { .. } => "cancelled",
        ProposalStatus::Expired { .. } => "expired",
    }
}

fn view(p: Proposal, height: u64) -> ProposalView {
    ProposalView {
        height,
        phase: phase(&p, height).to_string(),
        tally: p.tally(),
        carried: p.vote_carried(),
        vetoed: p.vetoed(),
        ratified: p.ratified(),
        state_key: String::from_utf8_lossy(&keys::proposal(&p.id)).into_owned(),
        proposal: p,
    }
}

/// The constitution, member organisations, every parameter and the treasury.
#[utoipa::path(get, path = "/v1/gov",
    responses((status = 200, body = GovernanceView), (status = 404, description = "The chain has no governance", body = ApiError)))]
pub(crate) async fn overview(State(core): State<AppState>) -> ApiResult<Json<GovernanceView>> {
    let height = core.store.height();
    let view = StoreView(&core.store);
    let constitution = gov::constitution(&view).ok_or_else(no_governance)?;
    let params = PARAMS
        .iter()
        .map(|p| ParamView {
            name: p.name.to_string(),
            kind: p.kind,
            value: gov::param(&view, p.name).to_string(),
            default: p.default.to_string(),
            min: p.min.to_string(),
            max: p.max.to_string(),
            doc: p.doc.to_string(),
        })
        .collect();
    let treasury = verity_state::account_balances(&view, &gov::treasury_account())
        .into_iter()
        .map(|(asset, amount)| AssetAmount { asset: asset.to_string(), amount: amount.to_string() })
        .collect();
    Ok(Json(GovernanceView {
        height,
        constitution,
        members: gov::members(&view),
        removed: gov::removed(&view),
        params,
        treasury,
        proposals: gov::proposal_count(&view),
    }))
}

/// Proposals, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/gov/proposals", params(ProposalsQuery),
    responses((status = 200, body = ProposalList), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn list(
    State(core): State<AppState>,
    q: Result<Query<ProposalsQuery>, QueryRejection>,
) -> ApiResult<Json<ProposalList>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let height = core.store.height();
    let view = StoreView(&core.store);
    gov::constitution(&view).ok_or_else(no_governance)?;
    let count = gov::proposal_count(&view);
    let end = q.before.unwrap_or(count).min(count);
    let start = end.saturating_sub(limit);
    let proposals = (start..end)
        .rev()
        .filter_map(|seq| gov::proposal_id(&view, seq).and_then(|id| gov::proposal(&view, &id)))
        .map(|p| self::view(p, height))
        .collect();
    Ok(Json(ProposalList { height, count, proposals, next: Some(start).filter(|&s| s > 0) }))
}

/// Most records of an analysis's model lineage.
const ANALYSIS_TRACE_NODES: usize = 64;

/// One proposal, with each analysis's model lineage.
#[utoipa::path(get, path = "/v1/gov/proposals/{id}", params(("id" = String, Path, description = "Proposal id (hash of the proposing transaction)", pattern = r"^(0x)?[0-9a-fA-F]{64}$")),
    responses((status = 200, body = ProposalTrace), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn get(
    State(core): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ProposalTrace>> {
    let Path(id) = id?;
    let id = parse_hash(&id)?;
    let store = core.store.clone();
    let out = tokio::task::spawn_blocking(move || {
        let height = store.height();
        let view = StoreView(&store);
        let p = gov::proposal(&view, &id)?;
        let analyses = p
            .analyses
            .iter()
            .map(|a| AnalysisTrace {
                analysis: a.clone(),
                lineage: lineage(&view, &RecordRef::ModelVersion(a.model.clone())),
            })
            .collect();
        Some(ProposalTrace { proposal: self::view(p, height), analyses })
    })
    .await
    .map_err(HttpError::internal)?;
    out.map(Json).ok_or_else(|| HttpError::not_found(format!("proposal {id} does not exist")))
}

fn lineage(view: &dyn StateRead, r: &RecordRef) -> Option<Trace> {
    let limits = prov::TraceLimits { nodes: ANALYSIS_TRACE_NODES, fanout: 4 };
    prov::trace(view, r, limits).map(wire_trace)
}

/// An account's stake positions, the rewards streams owe it, and its reputation.
#[utoipa::path(get, path = "/v1/stake/{account}", params(("account" = String, Path, description = "Account id", pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")),
    responses((status = 200, body = StakeView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn account(
    State(core): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<StakeView>> {
    let Path(id) = id?;
    let id = AccountId::new(id).map_err(|e| HttpError::bad_request(ErrorCode::InvalidId, e.to_string()))?;
    let height = core.store.height();
    let view = StoreView(&core.store);
    gov::constitution(&view).ok_or_else(no_governance)?;
    verity_state::account(&view, &id).ok_or_else(|| HttpError::not_found(format!("account {id} does not exist")))?;
    let positions = stake::account_scopes(&view, &id).iter().filter_map(|s| stake::position(&view, &id, s)).collect();
    let owed = rewards::streams(&view)
        .iter()
        .filter_map(|s| rewards::stream(&view, s))
        .filter_map(|s| {
            let amount = rewards::owed(&view, &s.id, &id);
            (amount > 0).then(|| OwedView {
                stream: s.id.to_string(),
                asset: s.asset.to_string(),
                amount: amount.to_string(),
                paused: s.paused,
            })
        })
        .collect();
    Ok(Json(StakeView {
        height,
        account: id.to_string(),
        positions,
        owed,
        reputation: gov::reputation(&view, &id),
        reputation_key: String::from_utf8_lossy(&keys::reputation(&id)).into_owned(),
    }))
}

/// Every reward stream: budget left, accrued, paid, paused.
#[utoipa::path(get, path = "/v1/rewards/streams",
    responses((status = 200, body = StreamsView), (status = 404, body = ApiError)))]
pub(crate) async fn streams(State(core): State<AppState>) -> ApiResult<Json<StreamsView>> {
    let height = core.store.height();
    let view = StoreView(&core.store);
    gov::constitution(&view).ok_or_else(no_governance)?;
    let streams = rewards::streams(&view).iter().filter_map(|s| rewards::stream(&view, s)).collect();
    Ok(Json(StreamsView { height, streams }))
}
