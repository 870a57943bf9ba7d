//! Errors of the store.

use thiserror::Error;
use verity_types::{Hash, ProofError};

/// Everything that can go wrong when reading from or committing to the store.
///
/// Variants other than [`StoreError::Db`], [`StoreError::Io`], [`StoreError::Corrupt`] and
/// [`StoreError::Index`] are
/// operating errors: the caller asked for something that does not exist or handed in data
/// that does not fit, and nothing was written. `Db`, `Io`, `Corrupt` and `Index` mean the disk
/// failed or holds something the store did not write; a node should stop rather than
/// continue on a store in an unknown state.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The embedded database (redb) failed.
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// The file system failed (creating the data directory).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Stored bytes do not decode, or a node the store relies on is missing.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// The store holds no genesis yet.
    #[error("the store is not initialised with a genesis")]
    NotInitialised,
    /// `init_genesis` on a store that already has one.
    #[error("the store is already initialised with a genesis")]
    AlreadyInitialised,
    /// A height above the last committed one.
    #[error("height {height} is above the last committed height {latest}")]
    UnknownHeight { height: u64, latest: u64 },
    /// A block that does not extend the last committed height by one.
    #[error("block height {got} does not follow the last committed height (expected {expected})")]
    HeightMismatch { expected: u64, got: u64 },
    /// A `Prepared` computed against an older tip than the current one, or on a block
    /// that is not the one committed at its height.
    #[error("prepared state was computed at height {prepared_at}, but the store is at height {height}")]
    StalePrepared { prepared_at: u64, height: u64 },
    /// A header field disagrees with what the store computed.
    #[error("header {field} is {header}, but the store computed {computed}")]
    HeaderMismatch { field: &'static str, header: String, computed: String },
    /// The block's transactions or receipts do not match the prepared ones.
    #[error("block does not match what was prepared: {0}")]
    BlockMismatch(String),
    /// A log size above the current log size.
    #[error("tree size {size} is above the log size {log_size}")]
    TreeSizeTooLarge { size: u64, log_size: u64 },
    /// A state key longer than `limits::STATE_KEY_BYTES_MAX`.
    #[error("state key is {len} bytes, above the limit of {limit}")]
    KeyTooLong { len: usize, limit: usize },
    /// The transaction-hash index thread stopped on an error (its file failed).
    #[error("transaction index: {0}")]
    Index(String),
    /// Proof generation refused its arguments.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }

    pub(crate) fn header(
        field: &'static str,
        header: impl std::fmt::Display,
        computed: impl std::fmt::Display,
    ) -> Self {
        StoreError::HeaderMismatch { field, header: header.to_string(), computed: computed.to_string() }
    }

    pub(crate) fn missing_node(hash: &Hash) -> Self {
        StoreError::Corrupt(format!("state node {hash} is missing"))
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
