//! Blocks, checkpoints, accounts, state proofs and the node's health.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verity_types::proof::{ConsistencyProof, StateProof};
use verity_types::{BlockHeader, Certificate, Checkpoint, Escrow};

/// A finalised block: its header, certificate and transaction hashes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    pub height: u64,
    pub hash: String,
    pub header: BlockHeader,
    pub certificate: Certificate,
    /// Hashes of the block's transactions, in order.
    pub tx_hashes: Vec<String>,
}

/// A checkpoint: a finalised header with its validator certificate.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    pub height: u64,
    pub log_size: u64,
    pub log_root: String,
    pub state_root: String,
    pub checkpoint: Checkpoint,
}

/// An account's holding of one asset.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    pub asset: String,
    /// Decimal string (amounts are u128).
    pub amount: String,
}

/// An account: organisation, key, roles, next nonce and balances.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub org: String,
    pub public_key: String,
    pub roles: Vec<String>,
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    pub balances: Vec<BalanceView>,
}

/// A state value (or its absence) proven against a height's state root.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StateProofView {
    pub height: u64,
    pub state_root: String,
    pub proof: StateProof,
}

/// An RFC 6962 consistency proof between two sizes of the transaction log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyView {
    pub proof: ConsistencyProof,
}

/// An escrow record (`GET /v1/escrows/{id}`).
pub type EscrowView = Escrow;

/// The node's health (`status` is `ok`; a node whose durable write failed answers 503
/// `node_failed` instead).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub chain_id: String,
    pub height: u64,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
}
