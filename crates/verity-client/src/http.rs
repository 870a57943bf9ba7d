//! An HTTP client for the node's /v1 API. The request and response types are verity-api's, the
//! ones the node serves.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use verity_types::proof::ConsistencyProof;
use verity_types::{BlockHeader, Checkpoint, Genesis, SignedTransaction};

use crate::error::ClientError;
use crate::verify::{LightClient, ReceiptCheck};

pub use verity_api::chain::{
    AccountView, BalanceView, BlockView, CheckpointView, ConsistencyView, EscrowView, Health, StateProofView,
};
pub use verity_api::consensus::{EvidenceList, ValidatorChanges, ValidatorView, ValidatorsView};
pub use verity_api::provenance::{
    DatasetCheck, DatasetCheckRequest, ItemProblem, ModelView, RecordView, Release, ReleaseAudit, Trace, TraceNode,
};
pub use verity_api::query::{
    ConsistencyQuery, EvidenceQuery, ProofQuery, RecordQuery, ReleasesQuery, TraceQuery, ValidatorsQuery, WaitQuery,
};
pub use verity_api::tx::{BatchResult, SubmitBatch, SubmitTx, TxResult, TxState, TxView};
pub use verity_api::{ApiError, ErrorCode};

/// What [`Client::verify_tx`] established.
#[derive(Debug, Clone)]
pub struct VerifiedTx {
    /// The verified checkpoint whose log includes the transaction.
    pub checkpoint: Checkpoint,
    /// Whether the receipt is committed to by its block's header.
    pub receipt_check: ReceiptCheck,
}

/// Most pages a method that gathers a whole list follows (a node that keeps answering
/// `next` is not followed forever).
pub const PAGES_MAX: usize = 100_000;

fn too_many_pages(path: &str) -> ClientError {
    ClientError::Protocol(format!("{path} answered more than {PAGES_MAX} pages"))
}

/// How a [`Client`] retries a request the node refused for load before acting on it
/// (429 `sender_quota`; 503 `mempool_full`, `overloaded`, `too_many_connections`): it
/// waits what the node's `Retry-After` says (whole seconds; 1 s when absent or
/// unreadable), at most `max_wait` per wait, and gives up after `attempts` tries in all,
/// returning the node's last answer. Such a request changed nothing on the node, so
/// trying it again is safe, transactions included. Other 503s are not retried:
/// `request_timeout` (the node may have acted, e.g. admitted the transaction),
/// `shutting_down`, `node_failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (1: never retry).
    pub attempts: u32,
    /// The longest single wait, whatever `Retry-After` asks.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// Five tries, waits of at most 10 s.
    pub const DEFAULT: RetryPolicy = RetryPolicy { attempts: 5, max_wait: Duration::from_secs(10) };
    /// One try: the node's refusal is returned at once.
    pub const NEVER: RetryPolicy = RetryPolicy { attempts: 1, max_wait: Duration::ZERO };

    /// The wait before trying again after a refusal with these headers.
    fn wait(&self, headers: &reqwest::header::HeaderMap) -> Duration {
        let secs = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1);
        Duration::from_secs(secs).min(self.max_wait)
    }
}

/// Whether an HTTP status is one a refusal for load comes with.
fn is_load_status(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status == reqwest::StatusCode::SERVICE_UNAVAILABLE
}

/// A node's HTTP API.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl Client {
    /// `base` is the node's URL, e.g. `http://127.0.0.1:7420`.
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .expect("building an HTTP client without TLS cannot fail");
        Client { base: base.trim_end_matches('/').to_string(), http, retry: RetryPolicy::DEFAULT }
    }

    /// This client with another retry policy for refusals under load
    /// ([`RetryPolicy::NEVER`] to see every 429 and 503 at once).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    /// Sends the request `build` makes, again after the wait the node asks for while it
    /// refuses for load and the policy allows; the last answer's body, or its typed error.
    async fn send(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let mut attempt = 1;
        loop {
            let resp = build().send().await.map_err(|e| self.transport(e))?;
            if !is_load_status(resp.status()) || attempt >= self.retry.attempts {
                return self.body(resp).await;
            }
            let wait = self.retry.wait(resp.headers());
            match self.body(resp).await {
                Err(ClientError::Api { code, .. }) if code.parse().is_ok_and(ErrorCode::is_load_refusal) => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        ClientError::Transport { url: self.base.clone(), message: e.to_string() }
    }

    /// The body of a successful answer, or the node's typed error.
    async fn body(&self, resp: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            let body: ApiError = serde_json::from_slice(&bytes).unwrap_or(ApiError {
                code: "http_error".into(),
                message: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            });
            return Err(ClientError::Api { status: status.as_u16(), code: body.code, message: body.message });
        }
        Ok(bytes.to_vec())
    }

    fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.get_with(path, &()).await
    }

    /// A GET with query parameters (one of verity-api's query types).
    async fn get_with<T: DeserializeOwned, Q: Serialize>(&self, path: &str, query: &Q) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        Self::parse(&self.send(|| self.http.get(&url).query(query)).await?)
    }

    /// The checkpoint at `height` (a number or `latest`) as a C2SP signed note, signed by
    /// the node's validator key (`verity_client::note`).
    pub async fn checkpoint_note(&self, height: &str) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/v1/checkpoints/{height}/note", self.base);
        self.send(|| self.http.get(&url)).await
    }

    /// Submits one transaction; with `wait` the answer comes after the durable commit.
    pub async fn submit(&self, tx: &SignedTransaction, wait: bool) -> Result<TxResult, ClientError> {
        let hex_tx = hex::encode(tx.to_bytes());
        let url = format!("{}/v1/txs", self.base);
        let body = SubmitTx { tx: hex_tx };
        let q = WaitQuery::commit(wait);
        Self::parse(&self.send(|| self.http.post(&url).query(&q).json(&body)).await?)
    }

    /// Submits a batch of already-encoded transactions; per-item results in order.
    pub async fn submit_batch_encoded(&self, txs: Vec<String>, wait: bool) -> Result<BatchResult, ClientError> {
        let url = format!("{}/v1/txs/batch", self.base);
        let body = SubmitBatch { txs };
        let q = WaitQuery::commit(wait);
        Self::parse(&self.send(|| self.http.post(&url).query(&q).json(&body)).await?)
    }

    /// Submits a batch in the binary form (borsh, no hex); per-item results in order.
    pub async fn submit_batch(&self, txs: &[SignedTransaction], wait: bool) -> Result<BatchResult, ClientError> {
        let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.to_bytes()).collect();
        self.submit_batch_binary(verity_types::encoding::encode(&encoded), wait).await
    }

    /// Submits a batch already in the binary form (the borsh encoding of each
    /// transaction's canonical bytes, `Vec<Vec<u8>>`).
    pub async fn submit_batch_binary(&self, body: Vec<u8>, wait: bool) -> Result<BatchResult, ClientError> {
        let url = format!("{}/v1/txs/batch", self.base);
        let q = WaitQuery::commit(wait);
        Self::parse(
            &self
                .send(|| {
                    self.http
                        .post(&url)
                        .query(&q)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(body.clone())
                })
                .await?,
        )
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        Self::parse(&self.send(|| self.http.post(&url).json(body)).await?)
    }

    /// A provenance record by reference (`model:clf@2`, `content:<hex>`, ...).
    pub async fn record(&self, reference: &str) -> Result<RecordView, ClientError> {
        let path = format!("/v1/records/{reference}");
        let mut view: RecordView = self.get(&path).await?;
        // The node lists flags a page at a time; gather them all.
        let mut pages = 0;
        while let Some(cursor) = view.flags_next.take() {
            pages += 1;
            if pages > PAGES_MAX {
                return Err(too_many_pages(&path));
            }
            let q = RecordQuery { flags_cursor: Some(cursor), ..RecordQuery::default() };
            let page: RecordView = self.get_with(&path, &q).await?;
            view.flag_list.extend(page.flag_list);
            view.flags_next = page.flags_next.filter(|&n| n > cursor);
        }
        Ok(view)
    }

    /// The lineage trace of a record: root, upstream, downstream, nodes, truncated; each
    /// record's `more` counts by kind the downstream records beyond the fan-out.
    pub async fn trace(
        &self,
        reference: &str,
        limit: Option<usize>,
        fanout: Option<usize>,
    ) -> Result<Trace, ClientError> {
        self.get_with(&format!("/v1/trace/{reference}"), &TraceQuery { limit, fanout }).await
    }

    /// Checks dataset items against the registry (at most 4096 per call).
    pub async fn check_dataset_items(&self, req: &DatasetCheckRequest) -> Result<DatasetCheck, ClientError> {
        self.post("/v1/datasets/check", req).await
    }

    /// Every deployment, optionally to one environment, with the kinds it passed: every
    /// page of [`Self::releases_page`], with `releases` and `missing_kind` joined.
    pub async fn releases(&self, environment: Option<&str>, kind: Option<&str>) -> Result<ReleaseAudit, ClientError> {
        let mut all = self.releases_page(environment, kind, None, None).await?;
        let mut pages = 0;
        while let Some(cursor) = all.next.take() {
            pages += 1;
            if pages > PAGES_MAX {
                return Err(too_many_pages("/v1/audit/releases"));
            }
            let page = self.releases_page(environment, kind, Some(cursor), None).await?;
            all.releases.extend(page.releases);
            all.missing_kind.extend(page.missing_kind);
            all.total = page.total;
            all.next = page.next.filter(|&n| n > cursor);
        }
        Ok(all)
    }

    /// One page of the deployment log (`/v1/audit/releases`): `limit` positions from
    /// `cursor` (the node's defaults when `None`); `next` in the answer is the cursor of
    /// the next page.
    pub async fn releases_page(
        &self,
        environment: Option<&str>,
        kind: Option<&str>,
        cursor: Option<u64>,
        limit: Option<u64>,
    ) -> Result<ReleaseAudit, ClientError> {
        let q = ReleasesQuery {
            environment: environment.map(str::to_string),
            kind: kind.map(str::to_string),
            cursor,
            limit,
        };
        self.get_with("/v1/audit/releases", &q).await
    }

    /// The audit bundle of a record.
    pub async fn audit_bundle(&self, reference: &str) -> Result<verity_types::audit::AuditBundle, ClientError> {
        self.get(&format!("/v1/audit/bundle/{reference}")).await
    }

    /// A model with its gate and versions.
    pub async fn model(&self, id: &str) -> Result<ModelView, ClientError> {
        self.get(&format!("/v1/models/{id}")).await
    }

    pub async fn tx(&self, hash: &str) -> Result<TxView, ClientError> {
        self.get(&format!("/v1/txs/{hash}")).await
    }

    /// The header of the block at `height` (>= 1), trusted through `lc`: its own
    /// checkpoint, or, for a block final through a descendant's certificate, that
    /// checkpoint and the parent hashes down to `height`.
    pub async fn trusted_header(&self, lc: &mut LightClient, height: u64) -> Result<BlockHeader, ClientError> {
        let cp = self.checkpoint(height).await?.checkpoint;
        self.catch_up(lc, cp.certificate.finalized_by.unwrap_or(height)).await?;
        if cp.header.height != height {
            return Err(ClientError::Verify(format!("asked for block {height}, got {}", cp.header.height)));
        }
        match cp.certificate.finalized_by {
            None => {
                lc.verify_checkpoint(&cp)?;
                Ok(cp.header)
            }
            Some(d) if d > height => {
                let top = self.checkpoint(d).await?.checkpoint;
                if top.certificate.finalized_by.is_some() {
                    return Err(ClientError::Verify(format!("block {d} has no certificate of its own")));
                }
                lc.verify_checkpoint(&top)?;
                let mut chain = Vec::new();
                for h in (height..d).rev() {
                    chain.push(self.block(&h.to_string()).await?.header);
                }
                Ok(crate::verify::verify_ancestor(&top, &chain)?.clone())
            }
            Some(d) => Err(ClientError::Verify(format!("block {height} claims to be final through block {d}"))),
        }
    }

    /// Verifies a committed transaction end to end against `lc`: the transaction is in
    /// the log under the newest checkpoint, and its receipt is the one its block's header
    /// commits to. Returns the checkpoint the inclusion was checked under and what the
    /// receipt check established.
    /// Walks `lc` through the epoch boundaries the node reports if a checkpoint at
    /// `height` lies beyond the epochs it has verified (the chain moved on since).
    pub async fn catch_up(&self, lc: &mut LightClient, height: u64) -> Result<(), ClientError> {
        if lc.needs_boundaries_for(height) {
            let changes = self.validator_changes().await?;
            lc.follow_epochs(&changes.transitions, &changes.unchanged)?;
        }
        Ok(())
    }

    pub async fn verify_tx(&self, lc: &mut LightClient, t: &TxView) -> Result<VerifiedTx, ClientError> {
        let (Some(proof), Some(cp_height), Some(receipt)) = (&t.inclusion_proof, t.checkpoint_height, &t.receipt)
        else {
            return Err(ClientError::Verify(
                "no checkpoint covers the transaction yet (pending, or in a block final through a descendant the \
                 node has not committed yet); try again shortly"
                    .into(),
            ));
        };
        let hash: verity_types::Hash =
            t.hash.parse().map_err(|e| ClientError::Protocol(format!("transaction hash {:?}: {e}", t.hash)))?;
        if let Some(tx) = &t.tx {
            if tx.hash() != hash {
                return Err(ClientError::Verify(format!("the node returned a transaction whose hash is not {hash}")));
            }
        }
        let cp = self.checkpoint(cp_height).await?.checkpoint;
        self.catch_up(lc, cp.header.height).await?;
        lc.verify_checkpoint(&cp)?;
        crate::verify::verify_tx_inclusion(&cp, &hash, proof)?;
        let header = self.trusted_header(lc, receipt.height).await?;
        let receipt_check =
            crate::verify::verify_receipt(&header, &hash, proof.leaf_index, receipt, t.receipt_proof.as_ref())?;
        Ok(VerifiedTx { checkpoint: cp, receipt_check })
    }

    /// `height` is a number or `latest`.
    pub async fn block(&self, height: &str) -> Result<BlockView, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    pub async fn latest_checkpoint(&self) -> Result<CheckpointView, ClientError> {
        self.get("/v1/checkpoints/latest").await
    }

    pub async fn checkpoint(&self, height: u64) -> Result<CheckpointView, ClientError> {
        self.get(&format!("/v1/checkpoints/{height}")).await
    }

    pub async fn account(&self, id: &str) -> Result<AccountView, ClientError> {
        self.get(&format!("/v1/accounts/{id}")).await
    }

    /// State proof for a UTF-8 key at `height` (latest if None).
    pub async fn state_proof(&self, key: &str, height: Option<u64>) -> Result<StateProofView, ClientError> {
        let q = ProofQuery { key: Some(key.to_string()), key_hex: None, height };
        self.get_with("/v1/state/proof", &q).await
    }

    /// A page of the equivocation evidence on the ledger (`/v1/evidence`).
    pub async fn evidence(
        &self,
        from: Option<u64>,
        limit: Option<u64>,
        validator: Option<&str>,
    ) -> Result<EvidenceList, ClientError> {
        let q = EvidenceQuery { from, limit, validator: validator.map(str::to_string) };
        self.get_with("/v1/evidence", &q).await
    }

    /// Every epoch boundary (changes and non-changes), for [`crate::verify::LightClient::follow_epochs`].
    pub async fn validator_changes(&self) -> Result<ValidatorChanges, ClientError> {
        self.get("/v1/validators/changes").await
    }

    /// The current validator set, epoch and scheduled change (`/v1/validators`), every
    /// page of the set joined into `validators`.
    pub async fn validators(&self) -> Result<ValidatorsView, ClientError> {
        let mut all: ValidatorsView = self.get("/v1/validators").await?;
        let mut pages = 0;
        while let Some(cursor) = all.next.take() {
            pages += 1;
            if pages > PAGES_MAX {
                return Err(too_many_pages("/v1/validators"));
            }
            let q = ValidatorsQuery { cursor: Some(cursor), limit: None };
            let page: ValidatorsView = self.get_with("/v1/validators", &q).await?;
            if page.validator_set_hash != all.validator_set_hash {
                return Err(ClientError::Protocol("the validator set changed while it was read; retry".into()));
            }
            all.validators.extend(page.validators);
            all.next = page.next.filter(|&n| n > cursor);
        }
        Ok(all)
    }

    pub async fn consistency(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, ClientError> {
        let v: ConsistencyView = self.get_with("/v1/log/consistency", &ConsistencyQuery { old_size, new_size }).await?;
        Ok(v.proof)
    }

    /// An escrow's state.
    pub async fn escrow(&self, id: &str) -> Result<EscrowView, ClientError> {
        self.get(&format!("/v1/escrows/{id}")).await
    }

    pub async fn genesis(&self) -> Result<Genesis, ClientError> {
        self.get("/v1/genesis").await
    }

    /// The constitution, members, parameters and treasury (`GET /v1/gov`).
    pub async fn governance(&self) -> Result<verity_api::governance::GovernanceView, ClientError> {
        self.get("/v1/gov").await
    }

    /// A page of proposals, newest first (`GET /v1/gov/proposals`).
    pub async fn proposals(
        &self,
        before: Option<u64>,
        limit: Option<u64>,
    ) -> Result<verity_api::governance::ProposalList, ClientError> {
        let q = verity_api::query::ProposalsQuery { before, limit };
        self.get_with("/v1/gov/proposals", &q).await
    }

    /// One proposal with its analyses' model lineage (`GET /v1/gov/proposals/{id}`).
    pub async fn proposal(
        &self,
        id: &verity_types::Hash,
    ) -> Result<verity_api::governance::ProposalTrace, ClientError> {
        self.get(&format!("/v1/gov/proposals/{}", id.to_hex())).await
    }

    /// An account's stake, rewards owed and reputation (`GET /v1/stake/{account}`).
    pub async fn stake(
        &self,
        account: &verity_types::AccountId,
    ) -> Result<verity_api::governance::StakeView, ClientError> {
        self.get(&format!("/v1/stake/{account}")).await
    }

    /// Every reward stream (`GET /v1/rewards/streams`).
    pub async fn streams(&self) -> Result<verity_api::governance::StreamsView, ClientError> {
        self.get("/v1/rewards/streams").await
    }

    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get("/health").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback HTTP server that answers the first `refusals` requests with `status`
    /// and `Retry-After: retry_after`, then 200 with a health body; counts requests.
    async fn server(refusals: usize, status: u16, retry_after: &'static str) -> (String, Arc<AtomicUsize>) {
        server_with(refusals, status, retry_after, "overloaded").await
    }

    async fn server_with(
        refusals: usize,
        status: u16,
        retry_after: &'static str,
        code: &'static str,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let Ok(n) = conn.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        let i = count.fetch_add(1, Ordering::SeqCst);
                        let (head, body) = if i < refusals {
                            (
                                format!("HTTP/1.1 {status} Refused\r\nretry-after: {retry_after}\r\n"),
                                format!(r#"{{"code":"{code}","message":"busy"}}"#),
                            )
                        } else {
                            (
                                "HTTP/1.1 200 OK\r\n".to_string(),
                                r#"{"status":"ok","chain_id":"c","height":7,"mempool":0}"#.to_string(),
                            )
                        };
                        let resp = format!(
                            "{head}content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if conn.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, served)
    }

    #[tokio::test]
    async fn refusals_for_load_are_retried_after_the_wait_the_node_asks_for() {
        for status in [429, 503] {
            let (url, served) = server(2, status, "0").await;
            let h = Client::new(&url).health().await.expect("answered on the third try");
            assert_eq!(h.height, 7);
            assert_eq!(served.load(Ordering::SeqCst), 3, "{status}");
        }
        // Retry-After is honoured, capped by the policy's longest wait.
        let (url, served) = server(1, 503, "1").await;
        let started = std::time::Instant::now();
        Client::new(&url).health().await.expect("second try");
        assert!(started.elapsed() >= Duration::from_millis(900), "waited {:?}", started.elapsed());
        assert_eq!(served.load(Ordering::SeqCst), 2);
        let (url, _) = server(1, 503, "3600").await;
        let capped = RetryPolicy { attempts: 2, max_wait: Duration::from_millis(20) };
        let started = std::time::Instant::now();
        Client::new(&url).with_retry(capped).health().await.expect("second try");
        assert!(started.elapsed() < Duration::from_secs(5), "the cap was ignored");
    }

    #[tokio::test]
    async fn the_last_refusal_is_returned_when_the_tries_run_out() {
        let (url, served) = server(usize::MAX, 503, "0").await;
        let policy = RetryPolicy { attempts: 3, max_wait: Duration::ZERO };
        match Client::new(&url).with_retry(policy).health().await {
            Err(ClientError::Api { status: 503, code, .. }) => assert_eq!(code, "overloaded"),
            other => panic!("expected the node's 503, got {other:?}"),
        }
        assert_eq!(served.load(Ordering::SeqCst), 3);
        let (url, served) = server(usize::MAX, 429, "0").await;
        assert!(Client::new(&url).with_retry(RetryPolicy::NEVER).health().await.is_err());
        assert_eq!(served.load(Ordering::SeqCst), 1, "NEVER tries once");
        // A 503 after which the node may have acted is not retried.
        let (url, served) = server_with(usize::MAX, 503, "0", "request_timeout").await;
        assert!(Client::new(&url).health().await.is_err());
        assert_eq!(served.load(Ordering::SeqCst), 1, "request_timeout is not retried");
        // Other errors are not retried.
        let (url, served) = server(usize::MAX, 422, "0").await;
        assert!(Client::new(&url).health().await.is_err());
        assert_eq!(served.load(Ordering::SeqCst), 1);
    }
}
