//! The HTTP+JSON API, versioned under /v1, described by the OpenAPI document that
//! [`ApiDoc`] generates from these handlers (served at /openapi.json).
//!
//! Every error is JSON `{"code": "...", "message": "..."}` with a stable code; client
//! mistakes are 4xx, a full mempool is 503 with Retry-After, never a 5xx for bad input.
//! A request that breaks the document's schema (a path or query value outside its
//! pattern or range, a body of the wrong shape) is answered 400; one that matches the
//! schema but whose content is invalid (a transaction that does not decode or verify, a
//! key that is not a curve point, a range the log does not hold) is answered 422. The
//! live-node conformance test (`crates/verity-cli/tests/conformance.rs`, schemathesis)
//! holds the server to both.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use futures::Stream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use utoipa::OpenApi;
use verity_api::chain::{
    AccountView, BalanceView, BlockView, CheckpointView, ConsistencyView, EscrowView, Health, StateProofView,
};
use verity_api::query::{ConsistencyQuery, EventsQuery, ProofQuery, WaitQuery};
use verity_api::tx::{BatchResult, SubmitBatch, SubmitTx, TxResult, TxState, TxView};
pub use verity_api::{ApiError, ErrorCode};
use verity_consensus::StoreView;
use verity_types::limits::{BATCH_TXS_MAX, PAGE_ITEMS_MAX, REQUEST_BYTES_MAX};
use verity_types::{AccountId, Block, Certificate, Checkpoint, EscrowId, Hash, SignedTransaction, TxStatus};

use crate::core::NodeCore;
use crate::http::{EventSlots, HttpLimits};
use crate::mempool::{AdmitError, TxOutcome};

/// How long a submitter waits for its transaction to commit before getting "pending".
pub const COMMIT_WAIT_MAX: Duration = Duration::from_secs(30);
/// Seconds a client should wait before retrying when the mempool is full.
pub const RETRY_AFTER_S: u64 = 1;

/// A refusal: the HTTP status and the JSON body ([`ApiError`]) it is answered with.
#[derive(Debug)]
pub struct HttpError {
    pub status: u16,
    /// Stable machine-readable code: one of [`ErrorCode`], or a ledger code for a
    /// transaction the ledger's rules refuse at admission.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_code(status, code.as_str(), message)
    }
    /// A refusal whose code may be a ledger code (admission, dropped transactions).
    pub fn with_code(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        HttpError { status: status.as_u16(), code: code.into(), message: message.into() }
    }
    /// The JSON body.
    pub fn body(&self) -> ApiError {
        ApiError { code: self.code.clone(), message: self.message.clone() }
    }
    pub(crate) fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// The request matches the schema but its content is invalid.
    pub(crate) fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, what)
    }
    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string())
    }
    fn from_admit(e: &AdmitError) -> Self {
        let status = match e {
            AdmitError::Full(_) | AdmitError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            AdmitError::Duplicate(_) | AdmitError::NoncePending { .. } => StatusCode::CONFLICT,
            AdmitError::SenderQuota { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdmitError::Malformed(_)
            | AdmitError::WrongChain { .. }
            | AdmitError::BadSignature
            | AdmitError::Rejected { .. }
            | AdmitError::NonceTooFar { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::with_code(status, e.code(), e.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(self.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
        }
        resp
    }
}

impl From<JsonRejection> for HttpError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return HttpError::new(
                status,
                ErrorCode::PayloadTooLarge,
                format!("request body above {REQUEST_BYTES_MAX} bytes"),
            );
        }
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return HttpError::new(status, ErrorCode::UnsupportedMediaType, r.body_text());
        }
        HttpError::bad_request(ErrorCode::InvalidJson, r.body_text())
    }
}
impl From<PathRejection> for HttpError {
    fn from(r: PathRejection) -> Self {
        HttpError::bad_request(ErrorCode::InvalidPath, r.body_text())
    }
}
impl From<QueryRejection> for HttpError {
    fn from(r: QueryRejection) -> Self {
        HttpError::bad_request(ErrorCode::InvalidQuery, r.body_text())
    }
}

pub(crate) type ApiResult<T> = Result<T, HttpError>;

/// The page size a list request asks for: `limit` when given (1 to `PAGE_ITEMS_MAX`,
/// anything else is refused), else `PAGE_ITEMS_MAX`.
pub(crate) fn page_limit(limit: Option<u64>) -> ApiResult<u64> {
    let max = PAGE_ITEMS_MAX as u64;
    match limit {
        None => Ok(max),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(HttpError::bad_request(ErrorCode::InvalidQuery, format!("limit must be 1 to {max}, not {n}"))),
    }
}
type AppState = Arc<NodeCore>;

// ---------- handlers ----------

fn parse_tx(hex_str: &str) -> Result<SignedTransaction, HttpError> {
    let bytes = hex::decode(hex_str.trim()).map_err(|e| {
        HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::MalformedTx, format!("tx is not hex: {e}"))
    })?;
    decode_tx(&bytes)
}

fn decode_tx(bytes: &[u8]) -> Result<SignedTransaction, HttpError> {
    SignedTransaction::from_bytes(bytes)
        .map_err(|e| HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::MalformedTx, e.to_string()))
}

fn wait_commit(q: &WaitQuery) -> ApiResult<bool> {
    match q.wait.as_deref() {
        None | Some("commit") => Ok(true),
        Some("none") => Ok(false),
        Some(other) => {
            Err(HttpError::bad_request(ErrorCode::InvalidQuery, format!("wait must be commit or none, not {other:?}")))
        }
    }
}

fn committed_result(hash: Hash, outcome: Result<TxOutcome, ()>) -> TxResult {
    match outcome {
        Ok(TxOutcome::Committed(r)) => TxResult {
            hash: Some(hash.to_hex()),
            status: TxState::Committed,
            height: Some(r.height),
            success: Some(r.status == TxStatus::Success),
            receipt: Some(r),
            error: None,
        },
        Ok(TxOutcome::Dropped { code, message }) => TxResult {
            hash: Some(hash.to_hex()),
            status: TxState::Rejected,
            height: None,
            success: None,
            receipt: None,
            error: Some(ApiError { code: code.into(), message }),
        },
        Err(()) => pending(hash),
    }
}

fn pending(hash: Hash) -> TxResult {
    TxResult {
        hash: Some(hash.to_hex()),
        status: TxState::Pending,
        height: None,
        success: None,
        receipt: None,
        error: None,
    }
}

/// Admits `txs` and, with `wait`, waits for their commits. Per item, in order: the
/// transaction's hash and its result or refusal.
async fn admit(core: &AppState, txs: Vec<SignedTransaction>, wait: bool) -> Vec<(Hash, Result<TxResult, HttpError>)> {
    let core2 = core.clone();
    let admitted = match tokio::task::spawn_blocking(move || core2.submit(txs, wait)).await {
        Ok(a) => a,
        // The admission task itself panicked: a bug, and nothing was admitted.
        Err(e) => return vec![(Hash::ZERO, Err(HttpError::internal(format!("admission failed: {e}"))))],
    };
    let mut out = Vec::with_capacity(admitted.len());
    let deadline = tokio::time::Instant::now() + COMMIT_WAIT_MAX;
    for (hash, r) in admitted {
        out.push((
            hash,
            match r {
                Err(e) => Err(HttpError::from_admit(&e)),
                Ok(None) => Ok(pending(hash)),
                Ok(Some(rx)) => {
                    let outcome = match tokio::time::timeout_at(deadline, rx).await {
                        Ok(Ok(o)) => Ok(o),
                        _ => Err(()),
                    };
                    Ok(committed_result(hash, outcome))
                }
            },
        ));
    }
    out
}

/// Submit one signed transaction.
#[utoipa::path(post, path = "/v1/txs", request_body = SubmitTx, params(WaitQuery),
    responses((status = 200, description = "Committed (or failed in a committed block)", body = TxResult),
              (status = 202, description = "Admitted, not yet committed", body = TxResult),
              (status = 400, description = "Invalid JSON or query", body = ApiError),
              (status = 408, description = "The body did not arrive in time (`body_timeout`)", body = ApiError),
              (status = 409, description = "Already pending: the same transaction (`duplicate_tx`) or another with its sender and nonce (`nonce_pending`)", body = ApiError),
              (status = 413, description = "Body above the limit", body = ApiError),
              (status = 415, description = "Not `application/json`", body = ApiError),
              (status = 422, description = "Refused: malformed, wrong chain, unknown sender, wrong key, used nonce, `nonce_too_far`, bad signature, or dropped before a block", body = ApiError),
              (status = 429, description = "The sender has its quota of pending transactions (`sender_quota`); see Retry-After", body = ApiError),
              (status = 503, description = "Mempool full, shutting down, `overloaded` or `request_timeout`; see Retry-After", body = ApiError)))]
async fn submit_tx(
    State(core): State<AppState>,
    q: Result<Query<WaitQuery>, QueryRejection>,
    body: Result<Json<SubmitTx>, JsonRejection>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let Json(body) = body?;
    let wait = wait_commit(&q)?;
    let tx = parse_tx(&body.tx)?;
    let mut results = admit(&core, vec![tx], wait).await;
    let r = results.pop().map(|(_, r)| r).unwrap_or_else(|| Err(HttpError::internal("no admission result")))?;
    if let Some(e) = &r.error {
        if r.status == TxState::Rejected {
            return Err(HttpError::with_code(StatusCode::UNPROCESSABLE_ENTITY, &e.code, e.message.clone()));
        }
    }
    let status = if r.status == TxState::Committed { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(r)).into_response())
}

/// The media type of a binary batch: the borsh encoding of a list of byte strings, each
/// one signed transaction's canonical encoding (`Vec<Vec<u8>>`: a little-endian u32
/// count, then per transaction a u32 length and its bytes).
pub const BATCH_BINARY_MEDIA_TYPE: &str = "application/octet-stream";

/// A batch's transactions, each still to decode: from JSON (hex) or the binary form.
enum BatchBody {
    Hex(Vec<String>),
    Binary(Vec<Vec<u8>>),
}

impl BatchBody {
    fn len(&self) -> usize {
        match self {
            BatchBody::Hex(t) => t.len(),
            BatchBody::Binary(t) => t.len(),
        }
    }

    /// Each transaction decoded, or why it does not decode.
    fn decode(&self) -> Vec<Result<SignedTransaction, HttpError>> {
        match self {
            BatchBody::Hex(t) => t.iter().map(|h| parse_tx(h)).collect(),
            BatchBody::Binary(t) => t.iter().map(|b| decode_tx(b)).collect(),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for BatchBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        let binary = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(BATCH_BINARY_MEDIA_TYPE))
        });
        if !binary {
            let Json(body) = Json::<SubmitBatch>::from_request(req, state).await?;
            return Ok(BatchBody::Hex(body.txs));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    format!("request body above {REQUEST_BYTES_MAX} bytes"),
                )
            } else {
                HttpError::bad_request(ErrorCode::InvalidBody, r.body_text())
            }
        })?;
        // Like a transaction that does not decode: the body arrived whole, its content
        // is not what the operation takes.
        let txs: Vec<Vec<u8>> = verity_types::encoding::decode(&bytes, REQUEST_BYTES_MAX).map_err(|e| {
            HttpError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidBody,
                format!("not a borsh list of transactions: {e}"),
            )
        })?;
        Ok(BatchBody::Binary(txs))
    }
}

/// Submit many signed transactions; per-item results in order. The body is JSON (hex
/// transactions) or, with `Content-Type: application/octet-stream`, binary: the borsh
/// encoding of the list of transactions' canonical bytes (`Vec<Vec<u8>>`), half the
/// size and no hex to decode.
#[utoipa::path(post, path = "/v1/txs/batch", params(WaitQuery),
    request_body(description = "JSON with hex transactions, or binary: the borsh `Vec<Vec<u8>>` of the transactions' canonical bytes",
        content((SubmitBatch = "application/json"), (Vec<u8> = "application/octet-stream"))),
    responses((status = 200, description = "One result per transaction, in order (refusals carry the codes of `POST /v1/txs`)", body = BatchResult),
              (status = 400, description = "Invalid JSON or query", body = ApiError),
              (status = 408, description = "The body did not arrive in time (`body_timeout`)", body = ApiError),
              (status = 413, description = "Body above the limit, or more than 4096 transactions (`batch_too_large`)", body = ApiError),
              (status = 415, description = "Neither `application/json` nor `application/octet-stream`", body = ApiError),
              (status = 422, description = "A binary body that is not a borsh list of byte strings (`invalid_body`)", body = ApiError),
              (status = 503, description = "`overloaded` or `request_timeout`; see Retry-After", body = ApiError)))]
async fn submit_batch(
    State(core): State<AppState>,
    q: Result<Query<WaitQuery>, QueryRejection>,
    body: Result<BatchBody, HttpError>,
) -> ApiResult<Json<BatchResult>> {
    let Query(q) = q?;
    let body = body?;
    let wait = wait_commit(&q)?;
    if body.len() > BATCH_TXS_MAX {
        return Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BatchTooLarge,
            format!("{} transactions in one batch; the limit is {BATCH_TXS_MAX}", body.len()),
        ));
    }
    let mut results: Vec<Option<TxResult>> = Vec::with_capacity(body.len());
    let mut good = Vec::new();
    let mut slots = Vec::new();
    for (i, t) in body.decode().into_iter().enumerate() {
        match t {
            Ok(tx) => {
                good.push(tx);
                slots.push(i);
                results.push(None);
            }
            Err(e) => results.push(Some(TxResult {
                hash: None,
                status: TxState::Rejected,
                height: None,
                success: None,
                receipt: None,
                error: Some(e.body()),
            })),
        }
    }
    for (i, (h, r)) in slots.into_iter().zip(admit(&core, good, wait).await) {
        results[i] = Some(match r {
            Ok(r) => r,
            Err(e) => TxResult {
                hash: Some(h.to_hex()),
                status: TxState::Rejected,
                height: None,
                success: None,
                receipt: None,
                error: Some(e.body()),
            },
        });
    }
    Ok(Json(BatchResult { results: results.into_iter().map(|r| r.expect("every slot is filled")).collect() }))
}

pub(crate) fn parse_hash(s: &str) -> ApiResult<Hash> {
    s.parse::<Hash>().map_err(|e| HttpError::bad_request(ErrorCode::InvalidHash, e.to_string()))
}

/// A transaction's status, receipt and inclusion proof.
#[utoipa::path(get, path = "/v1/txs/{hash}", params(("hash" = String, Path, description = "Transaction hash (hex)", pattern = r"^(0x)?[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TxView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn get_tx(State(core): State<AppState>, hash: Result<Path<String>, PathRejection>) -> ApiResult<Json<TxView>> {
    let Path(hash) = hash?;
    let hash = parse_hash(&hash)?;
    let store = core.store.clone();
    let found = tokio::task::spawn_blocking(move || -> ApiResult<Option<TxView>> {
        let Some((tx, receipt)) = store.tx(&hash).map_err(HttpError::internal)? else { return Ok(None) };
        // The proof is against the newest checkpoint (a block with its own
        // certificate); a transaction in a block above it (final through a descendant
        // not committed here yet) gets its proof once that descendant is.
        let checkpoint = match latest_certified(&store).map_err(HttpError::internal)? {
            Some(at) if at >= receipt.height => {
                let (header, _) = store
                    .header(at)
                    .map_err(HttpError::internal)?
                    .ok_or_else(|| HttpError::internal(format!("block {at} is missing")))?;
                Some((at, store.inclusion_proof(receipt.log_index, header.log_size).map_err(HttpError::internal)?))
            }
            _ => None,
        };
        let receipt_proof = store.receipt_proof(receipt.height, receipt.index).map_err(HttpError::internal)?;
        Ok(Some(TxView {
            hash: hash.to_hex(),
            status: TxState::Committed,
            height: Some(receipt.height),
            tx: Some(tx),
            receipt: Some(receipt),
            checkpoint_height: checkpoint.as_ref().map(|(at, _)| *at),
            inclusion_proof: checkpoint.map(|(_, p)| p),
            receipt_proof,
        }))
    })
    .await
    .map_err(HttpError::internal)??;
    match found {
        Some(v) => Ok(Json(v)),
        None if core.mempool.contains(&hash) => Ok(Json(TxView {
            hash: hash.to_hex(),
            status: TxState::Pending,
            height: None,
            tx: None,
            receipt: None,
            inclusion_proof: None,
            checkpoint_height: None,
            receipt_proof: None,
        })),
        None => Err(HttpError::not_found(format!("transaction {hash} is not known"))),
    }
}

fn block_view(block: Block, certificate: Certificate) -> BlockView {
    BlockView {
        height: block.header.height,
        hash: block.header.hash().to_hex(),
        tx_hashes: block.txs.iter().map(|t| t.hash().to_hex()).collect(),
        header: block.header,
        certificate,
    }
}

/// A block's header, certificate and transaction hashes.
#[utoipa::path(get, path = "/v1/blocks/{height}", params(("height" = String, Path, description = "Height, or `latest`", pattern = r"^(latest|0|[1-9][0-9]{0,18})$")),
    responses((status = 200, body = BlockView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn get_block(State(core): State<AppState>, h: Result<Path<String>, PathRejection>) -> ApiResult<Json<BlockView>> {
    let Path(h) = h?;
    let height = if h == "latest" {
        core.store.height()
    } else {
        h.parse::<u64>()
            .map_err(|_| HttpError::bad_request(ErrorCode::InvalidHeight, format!("{h:?} is not a height")))?
    };
    let store = core.store.clone();
    let b = tokio::task::spawn_blocking(move || store.block(height)).await.map_err(HttpError::internal)?;
    match b.map_err(HttpError::internal)? {
        Some((block, cert)) => Ok(Json(block_view(block, cert))),
        None => Err(HttpError::not_found(format!("no block at height {height}"))),
    }
}

fn checkpoint_at(core: &NodeCore, height: u64) -> ApiResult<CheckpointView> {
    let (header, certificate) = core
        .store
        .header(height)
        .map_err(HttpError::internal)?
        .ok_or_else(|| HttpError::not_found(format!("no checkpoint at height {height}")))?;
    Ok(CheckpointView {
        height: header.height,
        log_size: header.log_size,
        log_root: header.log_root.to_hex(),
        state_root: header.state_root.to_hex(),
        checkpoint: Checkpoint { header, certificate },
    })
}

/// The latest checkpoint (height, log size, log root, state root, validator signatures).
#[utoipa::path(get, path = "/v1/checkpoints/latest",
    responses((status = 200, body = CheckpointView), (status = 404, description = "No block yet", body = ApiError)))]
async fn latest_checkpoint(State(core): State<AppState>) -> ApiResult<Json<CheckpointView>> {
    let h = core.store.height();
    if h == 0 {
        return Err(HttpError::not_found("no block has been committed yet"));
    }
    match latest_certified(&core.store).map_err(HttpError::internal)? {
        Some(at) => checkpoint_at(&core, at).map(Json),
        None => Err(HttpError::not_found("no recent block carries its own certificate yet")),
    }
}

/// The newest height whose block carries a certificate of its own. In a replicated
/// network a block may be final only through a descendant's certificate; checkpoints
/// (what clients verify proofs against) are the blocks a quorum signed. In embedded
/// mode every block is one.
fn latest_certified(store: &verity_store::Store) -> Result<Option<u64>, verity_store::StoreError> {
    let h = store.height();
    let mut at = h;
    while at > 0 && h - at < CHECKPOINT_SEARCH_MAX {
        match store.header(at)? {
            Some((_, c)) if c.finalized_by.is_none() => return Ok(Some(at)),
            _ => at -= 1,
        }
    }
    Ok(None)
}

/// How far back from the tip the latest checkpoint is looked for.
const CHECKPOINT_SEARCH_MAX: u64 = 1_000;

/// The checkpoint at a height.
#[utoipa::path(get, path = "/v1/checkpoints/{height}", params(("height" = u64, Path)),
    responses((status = 200, body = CheckpointView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn checkpoint(
    State(core): State<AppState>,
    h: Result<Path<u64>, PathRejection>,
) -> ApiResult<Json<CheckpointView>> {
    let Path(h) = h?;
    checkpoint_at(&core, h).map(Json)
}

/// The checkpoint at a height (or `latest`) as a C2SP signed note (tlog-checkpoint of the
/// transaction log, `block <height> <header hash>` as its extension line), signed by this
/// node's validator key. Notes of one checkpoint from several validators merge into a
/// note a quorum signed (`verity checkpoint note`).
#[utoipa::path(get, path = "/v1/checkpoints/{height}/note", params(("height" = String, Path, description = "Height, or `latest`", pattern = r"^(latest|0|[1-9][0-9]{0,18})$")),
    responses((status = 200, description = "The signed note", content_type = "text/plain; charset=utf-8", body = String),
        (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn checkpoint_note(
    State(core): State<AppState>,
    h: Result<Path<String>, PathRejection>,
) -> Result<([(axum::http::header::HeaderName, &'static str); 1], Vec<u8>), HttpError> {
    let Path(h) = h?;
    let height = if h == "latest" {
        latest_certified(&core.store)
            .map_err(HttpError::internal)?
            .ok_or_else(|| HttpError::not_found("no block with its own certificate yet"))?
    } else {
        h.parse::<u64>()
            .map_err(|_| HttpError::bad_request(ErrorCode::InvalidHeight, format!("{h:?} is not a height")))?
    };
    let view = checkpoint_at(&core, height)?;
    if view.checkpoint.certificate.finalized_by.is_some() {
        return Err(HttpError::not_found(format!(
            "block {height} is final through a descendant's certificate: it is not a checkpoint"
        )));
    }
    let note = core
        .checkpoint_note(&view.checkpoint.header)
        .ok_or_else(|| HttpError::not_found("this node holds no validator key to sign checkpoint notes with"))?
        .map_err(HttpError::internal)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], note))
}

/// An account: org, key, roles, next nonce and balances.
#[utoipa::path(get, path = "/v1/accounts/{id}", params(("id" = String, Path, description = "Account id", pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")),
    responses((status = 200, body = AccountView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn get_account(
    State(core): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<AccountView>> {
    let Path(id) = id?;
    let id = AccountId::new(id).map_err(|e| HttpError::bad_request(ErrorCode::InvalidId, e.to_string()))?;
    let view = StoreView(&core.store);
    let acct = verity_state::account(&view, &id)
        .ok_or_else(|| HttpError::not_found(format!("account {id} does not exist")))?;
    let balances = verity_state::account_balances(&view, &id)
        .into_iter()
        .map(|(asset, amount)| BalanceView { asset: asset.to_string(), amount: amount.to_string() })
        .collect();
    Ok(Json(AccountView {
        id: acct.id.to_string(),
        org: acct.org.to_string(),
        public_key: acct.public_key.to_hex(),
        roles: acct.roles.iter().map(|r| r.name().to_string()).collect(),
        nonce: acct.nonce,
        balances,
    }))
}

/// An escrow's state.
#[utoipa::path(get, path = "/v1/escrows/{id}", params(("id" = String, Path, description = "Escrow id (hash of the lock transaction)", pattern = r"^(0x)?[0-9a-fA-F]{64}$")),
    responses((status = 200, body = EscrowView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn get_escrow(
    State(core): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<EscrowView>> {
    let Path(id) = id?;
    let id = EscrowId(parse_hash(&id)?);
    verity_state::escrow(&StoreView(&core.store), &id)
        .map(Json)
        .ok_or_else(|| HttpError::not_found(format!("escrow {id} does not exist")))
}

/// Membership or non-membership proof of a state key against the state root of a height.
#[utoipa::path(get, path = "/v1/state/proof", params(ProofQuery),
    responses((status = 200, body = StateProofView), (status = 400, body = ApiError),
              (status = 404, description = "The height is above the latest", body = ApiError),
              (status = 422, description = "Neither or both of `key` and `key_hex`, or a key over 256 bytes", body = ApiError)))]
async fn state_proof(
    State(core): State<AppState>,
    q: Result<Query<ProofQuery>, QueryRejection>,
) -> ApiResult<Json<StateProofView>> {
    let Query(q) = q?;
    let max = verity_types::limits::STATE_KEY_BYTES_MAX;
    let key = match (q.key, q.key_hex) {
        // The schema bounds `key` in characters; a key within it but over the limit in
        // bytes (multi-byte characters) is valid in shape and refused for its content.
        (Some(k), None) if k.is_empty() || k.chars().count() > max => {
            return Err(HttpError::bad_request(ErrorCode::InvalidKey, format!("key must be 1 to {max} bytes")))
        }
        (Some(k), None) => k.into_bytes(),
        (None, Some(h)) => match hex::decode(h) {
            Ok(k) if (1..=max).contains(&k.len()) => k,
            Ok(_) => {
                return Err(HttpError::bad_request(ErrorCode::InvalidKey, format!("key must be 1 to {max} bytes")))
            }
            Err(e) => return Err(HttpError::bad_request(ErrorCode::InvalidKey, e.to_string())),
        },
        _ => return Err(HttpError::unprocessable(ErrorCode::InvalidKey, "give exactly one of key or key_hex")),
    };
    if key.len() > max {
        return Err(HttpError::unprocessable(ErrorCode::InvalidKey, format!("key must be 1 to {max} bytes")));
    }
    let latest = core.store.height();
    // By default, the newest checkpoint's height (a proof there verifies offline).
    let height = match q.height {
        Some(h) => h,
        None => latest_certified(&core.store).map_err(HttpError::internal)?.unwrap_or(latest),
    };
    if height > latest {
        return Err(HttpError::not_found(format!("height {height} is above the latest height {latest}")));
    }
    let store = core.store.clone();
    let (proof, root) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let proof = store.state_proof(&key, height).map_err(HttpError::internal)?;
        let root = store.state_root_at(height).map_err(HttpError::internal)?;
        Ok((proof, root))
    })
    .await
    .map_err(HttpError::internal)??;
    Ok(Json(StateProofView { height, state_root: root.to_hex(), proof }))
}

/// RFC 6962 consistency proof between two log sizes.
#[utoipa::path(get, path = "/v1/log/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ApiError),
              (status = 422, description = "Not old_size <= new_size <= the log's size (`invalid_range`)", body = ApiError)))]
async fn consistency(
    State(core): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> ApiResult<Json<ConsistencyView>> {
    let Query(q) = q?;
    if q.old_size == 0 {
        return Err(HttpError::bad_request(ErrorCode::InvalidQuery, "old_size must be at least 1"));
    }
    let size = core.store.log_size();
    if q.old_size > q.new_size || q.new_size > size {
        return Err(HttpError::unprocessable(
            ErrorCode::InvalidRange,
            format!("need 0 < old_size <= new_size <= log size {size}"),
        ));
    }
    let proof = core.store.consistency_proof(q.old_size, q.new_size).map_err(HttpError::internal)?;
    Ok(Json(ConsistencyView { proof }))
}

/// The chain's genesis.
#[utoipa::path(get, path = "/v1/genesis", responses((status = 200, body = verity_types::Genesis)))]
async fn genesis(State(core): State<AppState>) -> Json<verity_types::Genesis> {
    Json(core.genesis.clone())
}

/// Server-sent events of committed transactions, filterable by module and account.
#[utoipa::path(get, path = "/v1/events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of committed events", content_type = "text/event-stream"),
              (status = 400, body = ApiError)))]
async fn events(
    State(core): State<AppState>,
    Extension(slots): Extension<EventSlots>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let Query(q) = q?;
    if let Some(m) = &q.module {
        if !["identity", "bank", "provenance"].contains(&m.as_str()) {
            return Err(HttpError::bad_request(ErrorCode::InvalidModule, format!("unknown module {m:?}")));
        }
    }
    let account = q
        .account
        .map(AccountId::new)
        .transpose()
        .map_err(|e| HttpError::bad_request(ErrorCode::InvalidId, e.to_string()))?;
    let module = q.module;
    // The slot is released when the stream is dropped (the client left, or shutdown).
    let slot = slots.take()?;
    let stream = BroadcastStream::new(core.events.subscribe()).filter_map(move |item| {
        // The closure owns the slot, so the stream holds it.
        let _slot = &slot;
        match item {
            Ok(env) => {
                if module.as_deref().is_some_and(|m| m != env.module) {
                    return None;
                }
                if let Some(a) = &account {
                    if !env.event.accounts().contains(&a) {
                        return None;
                    }
                }
                let data = serde_json::to_string(&*env).unwrap_or_default();
                Some(Ok(SseEvent::default().event(env.module).data(data)))
            }
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                Some(Ok(SseEvent::default().event("lagged").data(format!("{{\"missed\":{n}}}"))))
            }
        }
    });
    let stream = futures::StreamExt::take_until(stream, core.closed());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10))))
}

/// Liveness and the current height.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health), (status = 503, body = ApiError)))]
async fn health(State(core): State<AppState>) -> Response {
    if let Some(msg) = core.fatal.lock().clone() {
        return HttpError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::NodeFailed, msg).into_response();
    }
    Json(Health {
        status: "ok".into(),
        chain_id: core.chain_id().to_string(),
        height: core.store.height(),
        mempool: core.mempool.len(),
    })
    .into_response()
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
async fn metrics(State(core): State<AppState>) -> Response {
    core.metrics.mempool_depth.set(core.mempool.len() as i64);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], core.metrics.render())
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3 document", body = Object)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}

async fn not_found() -> HttpError {
    HttpError::not_found("no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "method not allowed on this endpoint")
}

/// The OpenAPI document, generated from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verity node API",
        description = "Permissioned ledger node: transactions, blocks, checkpoints, proofs, events, provenance records, lineage traces and audit bundles. Any endpoint may answer 503 `overloaded` (too many requests in flight) or `request_timeout` with Retry-After; lists come in pages (`limit` at most 1000, `next` is the cursor of the following page)."
    ),
    paths(
        submit_tx,
        submit_batch,
        get_tx,
        get_block,
        latest_checkpoint,
        checkpoint,
        checkpoint_note,
        get_account,
        get_escrow,
        state_proof,
        consistency,
        genesis,
        events,
        health,
        metrics,
        openapi,
        crate::api_prov::get_record,
        crate::api_prov::trace,
        crate::api_prov::check_dataset,
        crate::api_prov::releases,
        crate::api_prov::bundle,
        crate::api_prov::get_model,
        crate::api_consensus::validators,
        crate::api_consensus::validator_changes,
        crate::api_consensus::list_evidence,
        crate::api_gov::overview,
        crate::api_gov::list,
        crate::api_gov::get,
        crate::api_gov::account,
        crate::api_gov::streams
    ),
    components(schemas(
        ApiError,
        ErrorCode,
        verity_api::consensus::EvidenceList,
        verity_api::consensus::ValidatorsView,
        verity_api::consensus::ValidatorChanges,
        verity_api::consensus::ValidatorView,
        verity_api::governance::GovernanceView,
        verity_api::governance::ProposalList,
        verity_api::governance::ProposalTrace,
        verity_api::governance::StakeView,
        verity_api::governance::StreamsView,
        TxState,
        SubmitTx,
        SubmitBatch,
        TxResult,
        BatchResult,
        TxView,
        BlockView,
        CheckpointView,
        AccountView,
        BalanceView,
        StateProofView,
        ConsistencyView,
        Health,
        verity_api::provenance::RecordView,
        verity_api::provenance::DatasetCheckRequest,
        verity_api::provenance::DatasetCheck,
        verity_api::provenance::ItemProblem,
        verity_api::provenance::ReleaseAudit,
        verity_api::provenance::Release,
        verity_api::provenance::ModelView,
        verity_api::provenance::Trace,
        verity_api::provenance::TraceNode,
        // The ledger values the bodies above carry (verity-types' `openapi` feature). The
        // types these refer to in turn (each action, event and record, identifiers,
        // hashes, keys) are collected with them: utoipa adds each registered schema's
        // `ToSchema::schemas`, and a test checks that every reference resolves.
        verity_types::BlockHeader,
        verity_types::Certificate,
        verity_types::Checkpoint,
        verity_types::SignedTransaction,
        verity_types::Receipt,
        verity_types::Action,
        verity_types::Event,
        verity_types::InclusionProof,
        verity_types::ConsistencyProof,
        verity_types::StateProof,
        verity_types::EvidenceRecord,
        verity_types::ScheduledChange,
        verity_types::SetTransition,
        verity_types::SetUnchanged,
        verity_types::ValidatorSet,
        verity_types::Escrow,
        verity_types::Genesis,
        verity_types::Record,
        verity_types::RecordRef,
        verity_types::RecordKind,
        verity_types::Flag,
        verity_types::Model,
        verity_types::ModelVersion,
        verity_types::GatePolicy,
        verity_types::GateChange,
        verity_types::Deployment,
        verity_types::DeploymentRisk,
        verity_types::DatasetPolicy,
        verity_types::audit::AuditBundle
    ))
)]
pub struct ApiDoc;

/// Every (method, path) the router serves, in OpenAPI path syntax. A test checks that
/// this list, the router and the OpenAPI document agree.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/txs"),
    ("post", "/v1/txs/batch"),
    ("get", "/v1/txs/{hash}"),
    ("get", "/v1/blocks/{height}"),
    ("get", "/v1/checkpoints/latest"),
    ("get", "/v1/checkpoints/{height}"),
    ("get", "/v1/checkpoints/{height}/note"),
    ("get", "/v1/accounts/{id}"),
    ("get", "/v1/escrows/{id}"),
    ("get", "/v1/state/proof"),
    ("get", "/v1/log/consistency"),
    ("get", "/v1/genesis"),
    ("get", "/v1/events"),
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/records/{ref}"),
    ("get", "/v1/trace/{ref}"),
    ("post", "/v1/datasets/check"),
    ("get", "/v1/audit/releases"),
    ("get", "/v1/audit/bundle/{ref}"),
    ("get", "/v1/models/{id}"),
    ("get", "/v1/validators"),
    ("get", "/v1/validators/changes"),
    ("get", "/v1/evidence"),
    ("get", "/v1/gov"),
    ("get", "/v1/gov/proposals"),
    ("get", "/v1/gov/proposals/{id}"),
    ("get", "/v1/stake/{account}"),
    ("get", "/v1/rewards/streams"),
];

/// Builds the router with the default [`HttpLimits`].
pub fn router(core: Arc<NodeCore>) -> Router {
    router_with(core, &HttpLimits::default())
}

/// Builds the router with the per-request bounds of `limits` (requests in flight,
/// timeouts, body size, event streams); serve it with [`crate::http::serve`], which adds
/// the connection bounds.
pub fn router_with(core: Arc<NodeCore>, limits: &HttpLimits) -> Router {
    let routes = Router::new()
        .route("/v1/txs", post(submit_tx))
        .route("/v1/txs/batch", post(submit_batch))
        .route("/v1/txs/{hash}", get(get_tx))
        .route("/v1/blocks/{height}", get(get_block))
        .route("/v1/checkpoints/latest", get(latest_checkpoint))
        .route("/v1/checkpoints/{height}", get(checkpoint))
        .route("/v1/checkpoints/{height}/note", get(checkpoint_note))
        .route("/v1/accounts/{id}", get(get_account))
        .route("/v1/escrows/{id}", get(get_escrow))
        .route("/v1/state/proof", get(state_proof))
        .route("/v1/log/consistency", get(consistency))
        .route("/v1/genesis", get(genesis))
        .route("/v1/events", get(events))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/validators", get(crate::api_consensus::validators))
        .route("/v1/validators/changes", get(crate::api_consensus::validator_changes))
        .route("/v1/evidence", get(crate::api_consensus::list_evidence))
        .route("/v1/gov", get(crate::api_gov::overview))
        .route("/v1/gov/proposals", get(crate::api_gov::list))
        .route("/v1/gov/proposals/{id}", get(crate::api_gov::get))
        .route("/v1/stake/{account}", get(crate::api_gov::account))
        .route("/v1/rewards/streams", get(crate::api_gov::streams))
        .route("/v1/records/{ref}", get(crate::api_prov::get_record))
        .route("/v1/trace/{ref}", get(crate::api_prov::trace))
        .route("/v1/datasets/check", post(crate::api_prov::check_dataset))
        .route("/v1/audit/releases", get(crate::api_prov::releases))
        .route("/v1/audit/bundle/{ref}", get(crate::api_prov::bundle))
        .route("/v1/models/{id}", get(crate::api_prov::get_model))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .layer(Extension(EventSlots::new(limits.event_subscribers_max)))
        .with_state(core);
    crate::http::guard(routes, limits)
}

pub use axum::Router as ApiRouter;

/// Serves `app` on `listener` with the default connection bounds until the future is
/// dropped (used by in-process benchmarks and tests; the node binary uses
/// [`crate::server::run`] with graceful shutdown).
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    crate::http::serve(listener, app, &HttpLimits::default(), std::future::pending()).await
}

/// The OpenAPI document: the handlers' paths and verity-api's schemas, plus the ledger's
/// error codes (`LedgerErrorCode`), which a refusal's `code` carries instead of an
/// `ErrorCode` when the ledger's rules refuse a transaction at admission.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut doc = ApiDoc::openapi();
    let ledger = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "The ledger's error codes (verity-state's `StateError`): in a failed receipt's \
             `error.code`, and in an `ApiError`'s `code` when the ledger's rules refuse a \
             transaction at admission.",
        ))
        .enum_values(Some(verity_state::StateError::all_codes()))
        .build();
    doc.components.get_or_insert_with(Default::default).schemas.insert("LedgerErrorCode".into(), ledger.into());
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_exactly_the_routes() {
        let doc = ApiDoc::openapi();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc.paths.paths.iter() {
            for (m, op) in [("get", &item.get), ("post", &item.post), ("put", &item.put), ("delete", &item.delete)] {
                if op.is_some() {
                    documented.push((m.to_string(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        served.sort();
        assert_eq!(documented, served);
        let json = doc.to_json().expect("openapi serialises");
        assert!(json.contains("\"openapi\":\"3."));
    }

    #[test]
    fn every_error_code_is_in_the_document() {
        let doc = serde_json::to_value(openapi_document()).expect("openapi serialises");
        let listed = |schema: &str| -> Vec<String> {
            doc["components"]["schemas"][schema]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{schema} is not an enum in the document"))
                .iter()
                .map(|c| c.as_str().expect("a code").to_string())
                .collect()
        };
        let node: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
        assert_eq!(listed("ErrorCode"), node);
        let ledger: Vec<String> = verity_state::StateError::all_codes().map(str::to_string).collect();
        assert_eq!(listed("LedgerErrorCode"), ledger);
        assert!(ledger.iter().any(|c| c == "insufficient_funds"));
    }

    /// The schemas whose JSON is open-ended on purpose, by where they are in the
    /// document: the document itself (an OpenAPI document, whose schema is the OpenAPI
    /// specification's, not this API's).
    const OPEN_ENDED: &[&str] = &["paths./openapi.json.get.responses.200.content.application/json.schema"];

    /// Calls `f` on every schema of the document (components, parameters, request and
    /// response bodies, and every schema inside those), with where it is.
    fn each_schema(doc: &serde_json::Value, f: &mut dyn FnMut(&str, &serde_json::Value)) {
        fn walk(at: &str, s: &serde_json::Value, f: &mut dyn FnMut(&str, &serde_json::Value)) {
            f(at, s);
            for key in ["items", "additionalProperties", "propertyNames", "not"] {
                if let Some(sub) = s.get(key).filter(|v| v.is_object()) {
                    walk(&format!("{at}.{key}"), sub, f);
                }
            }
            for key in ["properties"] {
                for (name, sub) in s.get(key).and_then(|v| v.as_object()).into_iter().flatten() {
                    walk(&format!("{at}.{key}.{name}"), sub, f);
                }
            }
            for key in ["allOf", "oneOf", "anyOf", "prefixItems"] {
                for (i, sub) in s.get(key).and_then(|v| v.as_array()).into_iter().flatten().enumerate() {
                    walk(&format!("{at}.{key}.{i}"), sub, f);
                }
            }
        }
        fn entries(v: &serde_json::Value) -> impl Iterator<Item = (&String, &serde_json::Value)> {
            v.as_object().into_iter().flatten()
        }
        for (name, s) in entries(&doc["components"]["schemas"]) {
            walk(&format!("components.schemas.{name}"), s, f);
        }
        for (path, item) in entries(&doc["paths"]) {
            for (method, op) in entries(item) {
                let at = format!("paths.{path}.{method}");
                for (i, p) in op["parameters"].as_array().into_iter().flatten().enumerate() {
                    walk(&format!("{at}.parameters.{i}.schema"), &p["schema"], f);
                }
                for (media, c) in entries(&op["requestBody"]["content"]) {
                    walk(&format!("{at}.requestBody.content.{media}.schema"), &c["schema"], f);
                }
                for (status, r) in entries(&op["responses"]) {
                    for (media, c) in entries(&r["content"]) {
                        if let Some(s) = c.get("schema") {
                            walk(&format!("{at}.responses.{status}.content.{media}.schema"), s, f);
                        }
                    }
                }
            }
        }
    }

    /// An object schema that says nothing of its fields (`{"type": "object"}`), or a
    /// schema that says nothing at all (`{}`, what a `serde_json::Value` gets).
    fn untyped(s: &serde_json::Value) -> bool {
        const SHAPE: [&str; 10] = [
            "properties",
            "additionalProperties",
            "propertyNames",
            "$ref",
            "allOf",
            "oneOf",
            "anyOf",
            "type",
            "enum",
            "const",
        ];
        let Some(fields) = s.as_object() else { return false };
        let object = match &s["type"] {
            serde_json::Value::String(t) => t == "object",
            serde_json::Value::Array(ts) => ts.iter().any(|t| t == "object"),
            _ => false,
        };
        let shaped = |keys: &[&str]| keys.iter().any(|k| fields.contains_key(*k));
        (object && !shaped(&SHAPE[..7])) || !shaped(&SHAPE)
    }

    #[test]
    fn no_schema_is_an_untyped_object_where_a_type_exists() {
        let doc = serde_json::to_value(openapi_document()).expect("openapi serialises");
        let mut untyped_at = Vec::new();
        let mut open_ended_seen = Vec::new();
        each_schema(&doc, &mut |at, s| {
            if untyped(s) {
                if OPEN_ENDED.contains(&at) {
                    open_ended_seen.push(at.to_string());
                } else {
                    untyped_at.push(at.to_string());
                }
            }
        });
        assert_eq!(untyped_at, Vec::<String>::new(), "schemas without a type (give them their Rust type's schema)");
        // The allowance is not stale: each open-ended schema is still there.
        assert_eq!(open_ended_seen, OPEN_ENDED, "an open-ended schema is gone; take it off OPEN_ENDED");
        // The walk does reach into bodies: a ledger value deep inside one is seen typed.
        let mut seen = false;
        each_schema(&doc, &mut |at, _| seen |= at == "components.schemas.TxView.properties.receipt");
        assert!(seen, "the walk missed TxView.receipt");
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = serde_json::to_value(openapi_document()).expect("openapi serialises");
        fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r);
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.contains(&"#/components/schemas/Receipt"), "the bodies refer to the ledger's schemas");
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r} is not a component"));
            assert!(doc["components"]["schemas"].get(name).is_some(), "{r} is not in the document");
        }
    }
}
