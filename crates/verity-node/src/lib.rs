//! Runs a Verity ledger node: admission into a bounded mempool, block production on a
//! dedicated thread (execute, prove, certify, fsync) or, as a validator of a
//! multi-organisation network ([`validator`]), the Commonware engine of `verity-bft`;
//! the HTTP+JSON API with events and metrics; and the data directory's files, replay
//! included ([`datadir`]).
//!
//! Flow of a transaction: HTTP `POST /v1/txs` -> decode + stateless checks ->
//! batch signature verification -> stateful admission (sender, key, nonce) -> mempool
//! -> block producer takes it -> verity-state executes the block -> verity-store
//! computes roots -> the finalizer signs the header -> one fsync'd redb transaction ->
//! the submitter is answered `committed`.

pub mod api;
pub mod api_consensus;
pub mod api_gov;
pub mod api_prov;
pub mod audit;
pub mod core;
pub mod datadir;
pub mod error;
pub mod evidence;
pub mod http;
pub mod mempool;
pub mod metrics;
pub mod server;
pub mod validator;

pub use crate::core::{now_ms, NodeCore, NodeOptions};
pub use error::NodeError;
