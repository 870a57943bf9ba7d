//! Errors of the node process.

use thiserror::Error;

/// Why the node could not start or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    #[error("data directory: {0}")]
    DataDir(String),
    #[error("store: {0}")]
    Store(#[from] verity_store::StoreError),
    #[error("consensus: {0}")]
    Consensus(#[from] verity_consensus::ConsensusError),
    #[error("validator: {0}")]
    Validator(String),
    /// The validator could not apply a finalized block and stopped (the message says
    /// how to recover).
    #[error("validator stopped: {0}")]
    Halted(#[from] verity_bft::app::Halt),
    #[error("genesis: {0}")]
    Genesis(String),
    /// The data directory's keystore could not be read or written (the message names it).
    #[error(transparent)]
    Keystore(#[from] verity_client::ClientError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
