//! Errors of block production, finalisation and replay.

use thiserror::Error;

/// Why a block could not be produced, finalised or replayed.
#[derive(Debug, Error)]
pub enum ConsensusError {
    /// The store failed; the node must stop (a failed durable write leaves the store in
    /// an unknown state from the node's point of view).
    #[error("store: {0}")]
    Store(#[from] verity_store::StoreError),
    /// The chain has no genesis yet.
    #[error("the data directory has no genesis; run `verity init` first")]
    NoGenesis,
    /// The local validator key is not in the validator set.
    #[error("the validator key {0} is not in the genesis validator set")]
    NotAValidator(String),
    /// A block could not be executed.
    #[error("execution: {0}")]
    Exec(#[from] crate::ExecError),
    /// A certificate or signature did not verify.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
}
