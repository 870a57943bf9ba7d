//! Submitting transactions and reading them back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verity_types::proof::InclusionProof;
use verity_types::{Receipt, SignedTransaction};

use crate::ApiError;

/// One transaction: hex of its canonical (borsh) encoding.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitTx {
    #[schema(pattern = r"^([0-9a-fA-F]{2})+$")]
    pub tx: String,
}

/// Many transactions, each hex of its canonical encoding.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitBatch {
    #[schema(max_items = 4096)]
    pub txs: Vec<String>,
}

/// Where a submitted transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// In a durably committed block (its receipt says whether the action succeeded).
    Committed,
    /// Admitted to the mempool, not committed yet (or not committed within the wait).
    Pending,
    /// Refused: never admitted, or dropped from the mempool before a block took it.
    Rejected,
}

impl TxState {
    /// The state as it appears on the wire (`committed`, `pending`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            TxState::Committed => "committed",
            TxState::Pending => "pending",
            TxState::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for TxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of one submitted transaction.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TxResult {
    /// Transaction hash (hex), when the bytes decoded.
    pub hash: Option<String>,
    pub status: TxState,
    /// Height of the committing block.
    pub height: Option<u64>,
    /// Whether the committed action succeeded.
    pub success: Option<bool>,
    pub receipt: Option<Receipt>,
    /// Why the transaction was rejected.
    pub error: Option<ApiError>,
}

/// One result per transaction of a batch, in order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<TxResult>,
}

/// A transaction with its receipt and inclusion proof in the log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TxView {
    pub hash: String,
    /// `committed` or `pending`.
    pub status: TxState,
    pub height: Option<u64>,
    pub tx: Option<SignedTransaction>,
    pub receipt: Option<Receipt>,
    /// RFC 6962 inclusion proof against the log root of the latest checkpoint.
    pub inclusion_proof: Option<InclusionProof>,
    /// Height of the checkpoint the proof is against.
    pub checkpoint_height: Option<u64>,
    /// RFC 6962 inclusion proof of the receipt under the `receipts_root` of the header of
    /// its block (at `height`; version 2 headers only commit to receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_proof: Option<InclusionProof>,
}

/// What became of a submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed, and its action took effect.
    Succeeded,
    /// Committed, but the ledger refused its action (`code`, e.g. `unauthorized`); the
    /// nonce is spent and nothing else changed.
    Failed { code: String, message: String },
    /// Refused at admission (`code`, e.g. `bad_nonce`, `bad_signature`); nothing is
    /// recorded.
    Rejected { code: String, message: String },
    /// Admitted, not committed yet (submitted without waiting, or the wait ended first).
    Pending,
}

impl TxResult {
    /// The typed reading of this result.
    pub fn outcome(&self) -> Outcome {
        let err = |e: Option<(&str, &str)>| {
            let (code, message) = e.unwrap_or(("unknown", "the node gave no error"));
            (code.to_string(), message.to_string())
        };
        match self.status {
            TxState::Committed if self.success == Some(false) => {
                let (code, message) = err(self
                    .receipt
                    .as_ref()
                    .and_then(|r| r.error.as_ref())
                    .map(|e| (e.code.as_str(), e.message.as_str())));
                Outcome::Failed { code, message }
            }
            TxState::Committed => Outcome::Succeeded,
            TxState::Pending => Outcome::Pending,
            TxState::Rejected => {
                let (code, message) = err(self.error.as_ref().map(|e| (e.code.as_str(), e.message.as_str())));
                Outcome::Rejected { code, message }
            }
        }
    }
}
