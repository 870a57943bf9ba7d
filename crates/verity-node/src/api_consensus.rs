//! Consensus endpoints: the validator set and the equivocation evidence on the ledger.
//! Part of the /v1 API documented by [`crate::api::ApiDoc`]. Every answer is read from
//! committed state, so each record can also be proven with `/v1/state/proof` (keys
//! `consensus/validators`, `consensus/evidence/<sequence, 20 digits>`,
//! `consensus/epochs/<epoch, 20 digits>`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use verity_consensus::StoreView;
use verity_store::{Store, StoreError};
use verity_types::validators::epoch_set_key;
use verity_types::{Checkpoint, SetTransition, SetUnchanged};

use verity_api::consensus::{EvidenceList, ValidatorChanges, ValidatorView, ValidatorsView};
use verity_api::query::{EvidenceQuery, ValidatorsQuery};

use crate::api::{page_limit, ApiError, ApiResult, ErrorCode, HttpError};
use crate::core::NodeCore;

type AppState = Arc<NodeCore>;

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
        .map_err(|e| HttpError::bad_request(ErrorCode::InvalidKey, e.to_string()))?;
    let limit = page_limit(q.limit)?;
    let height = core.store.height();
    let view = StoreView(&core.store);
    let count = verity_state::evidence_count(&view);
    let from = q.from.unwrap_or(0);
    let end = from.saturating_add(limit).min(count);
    let mut evidence = Vec::new();
    for seq in from..end {
        if let Some(rec) = verity_state::evidence(&view, seq) {
            if validator.is_none_or(|v| rec.evidence.validator == v) {
                evidence.push(rec);
            }
        }
    }
    let next = Some(end).filter(|&e| e < count);
    Ok(Json(EvidenceList { count, height, evidence, next }))
}

/// Evidence records per validator key, counted once: each request reads only the
/// records added since the last one (evidence is append-only), instead of every record
/// on the ledger.
#[derive(Default)]
pub struct EvidenceTally {
    /// Records counted: sequence numbers `0..seen`.
    seen: u64,
    by_validator: HashMap<verity_types::PublicKey, u64>,
}

impl EvidenceTally {
    /// Counts the records added since the last call; returns the counts by validator.
    fn update(&mut self, view: &dyn verity_state::StateRead) -> &HashMap<verity_types::PublicKey, u64> {
        let count = verity_state::evidence_count(view);
        for seq in self.seen..count {
            if let Some(rec) = verity_state::evidence(view, seq) {
                *self.by_validator.entry(rec.evidence.validator).or_default() += 1;
            }
        }
        self.seen = self.seen.max(count);
        &self.by_validator
    }
}

/// The current validator set, with each validator's evidence count, a page at a time.
#[utoipa::path(get, path = "/v1/validators", params(ValidatorsQuery),
    responses((status = 200, body = ValidatorsView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(crate) async fn validators(
    State(core): State<AppState>,
    q: Result<Query<ValidatorsQuery>, QueryRejection>,
) -> ApiResult<Json<ValidatorsView>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let height = core.store.height();
    let view = StoreView(&core.store);
    let set = verity_state::validator_set(&view).ok_or_else(|| HttpError::not_found("no validator set in state"))?;
    let count = set.validators.len() as u64;
    let start = q.cursor.unwrap_or(0);
    let end = start.saturating_add(limit).min(count);
    let mut tally = core.evidence_tally.lock();
    let equivocations = tally.update(&view);
    let validators = (start..end)
        .map(|i| {
            let v = &set.validators[i as usize];
            ValidatorView {
                index: i as u32,
                org: v.org.to_string(),
                public_key: v.public_key.to_hex(),
                power: v.power,
                equivocations: equivocations.get(&v.public_key).copied().unwrap_or(0),
            }
        })
        .collect();
    drop(tally);
    let epoch_length = verity_state::consensus::epoch_length(&view);
    let epoch = verity_types::validators::epoch_of(height + 1, epoch_length);
    let scheduled = verity_state::consensus::scheduled_change(&view, epoch + 1);
    Ok(Json(ValidatorsView {
        height,
        epoch_length,
        epoch,
        scheduled,
        validator_set_hash: set.hash().to_hex(),
        count,
        validators,
        next: Some(end).filter(|&e| e < count),
    }))
}

/// The validator-set changes, each provable offline from the genesis set on
/// (`verity_client::verify::LightClient`).
#[utoipa::path(get, path = "/v1/validators/changes", responses((status = 200, body = ValidatorChanges)))]
pub(crate) async fn validator_changes(State(core): State<AppState>) -> ApiResult<Json<ValidatorChanges>> {
    let store = core.store.clone();
    let out = tokio::task::spawn_blocking(move || -> ApiResult<ValidatorChanges> {
        let epoch_length = verity_state::consensus::epoch_length(&StoreView(&store));
        let (transitions, unchanged) = epoch_boundaries(&store, u64::MAX).map_err(HttpError::internal)?;
        Ok(ValidatorChanges { epoch_length, transitions, unchanged })
    })
    .await
    .map_err(HttpError::internal)??;
    Ok(Json(out))
}

/// Every epoch boundary below `below` (a height, exclusive) and at or below the
/// committed tip, as light clients walk them: the validator-set changes, each with its
/// boundary checkpoint and the state proof of the new set, and the epochs whose set did
/// not change, each with its boundary checkpoint and the proof that no new set was
/// stored. Read at the newest committed height (every change ever applied is listed
/// there).
pub fn epoch_boundaries(store: &Store, below: u64) -> Result<(Vec<SetTransition>, Vec<SetUnchanged>), StoreError> {
    let view = StoreView(store);
    let epoch_length = verity_state::consensus::epoch_length(&view);
    let (mut changes, mut unchanged) = (Vec::new(), Vec::new());
    if epoch_length == 0 {
        return Ok((changes, unchanged));
    }
    let changed: std::collections::BTreeSet<u64> = verity_state::consensus::set_epochs(&view).into_iter().collect();
    let below = below.min(store.height().saturating_add(1));
    for epoch in 1u64.. {
        let Some(height) = epoch.checked_mul(epoch_length).map(|h| h - 1).filter(|&h| h < below) else { break };
        let (header, certificate) = store
            .header(height)?
            .ok_or_else(|| StoreError::Corrupt(format!("boundary block {height} is not stored")))?;
        let boundary = Checkpoint { header, certificate };
        let proof = store.state_proof(&epoch_set_key(epoch), height)?;
        if changed.contains(&epoch) {
            let validators = verity_state::consensus::validator_set_at(&view, epoch)
                .ok_or_else(|| StoreError::Corrupt(format!("no set recorded for epoch {epoch}")))?;
            changes.push(SetTransition { epoch, boundary, validators, proof });
        } else {
            unchanged.push(SetUnchanged { epoch, boundary, proof });
        }
    }
    Ok((changes, unchanged))
}
