//! Durable storage of Verity: blocks, the RFC 6962 transaction log and the authenticated,
//! versioned state, in one embedded [redb](https://docs.rs/redb) file, plus a
//! transaction-hash index in sorted run files that a background thread keeps up to date
//! (derived data, rebuilt from the log after a crash; see `txindex`).
//!
//! Everything a block changes is written in one fsync'd redb write transaction, so after a
//! crash the store holds either the whole block or none of it. The state is a 16-ary
//! compressed Merkle tree whose nodes are written once under a key that starts with the
//! height that created them and are never overwritten, so every committed height stays
//! provable (see [`tree`] for why the keys are not the node hashes). Execution reads the
//! latest values through the tip's tree (internal nodes from the node cache, one leaf read)
//! behind a value cache; there is no separate flat table, whose random-key updates cost
//! every commit more than the walk costs a cache miss.
//! The transaction log keeps its leaf hashes packed 256 to a row and every complete subtree
//! of 256 leaves or more as its own row, so roots and proofs for any past size are
//! assembled from O(log n) stored hashes plus at most a few leaf rows. Transactions and
//! receipts are likewise packed, up to 256 of one block per row, with a short-keyed hash
//! index: a block's commit writes a few large rows instead of one or two per transaction,
//! which is what a redb commit's cost follows. Memory is bounded whatever the
//! ledger's size (see [`tree::STATE_NODE_CACHE_ENTRIES`], [`STATE_VALUE_CACHE_ENTRIES`] and
//! [`DB_CACHE_BYTES`]).
//!
//! Only this crate knows the disk format (see the `keys` module for every table and key).
//!
//! # Status
//! Foundation: the public API is what the node is written against and is expected to stay;
//! the on-disk format is version 2 (packed transaction and log-leaf rows) and has no
//! migrations yet. Not yet present: pruning of
//! old state versions, secondary indexes for lineage, and snapshots for state sync.

mod error;
mod keys;
mod log;
mod store;
pub mod tree;
mod txindex;

pub use error::StoreError;
pub use store::{Prepared, PreparedBase, StateWrites, Store, DB_CACHE_BYTES, STATE_VALUE_CACHE_ENTRIES};
pub use txindex::RECENT_MAX as TX_INDEX_QUEUE_MAX;

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<super::Store>();
        assert_send_sync::<super::Prepared>();
    }
}
