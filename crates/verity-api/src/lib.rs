//! The wire types of the node's HTTP API (`/v1`): every request and response body the
//! node serves and the Rust client reads, the query parameters of its operations
//! ([`query`]), the error body ([`ApiError`]) and the node's own error codes
//! ([`ErrorCode`]). The node derives its OpenAPI document from these types, so the
//! document, the server and the client cannot drift apart.
//!
//! Ledger values inside a body (receipts, transactions, headers, records) are the
//! verity-types values themselves, in their serde form, documented by the schemas of
//! verity-types' `openapi` feature (which this crate turns on).
//!
//! # Status
//! Follows the node's `/v1` API: a field is only ever added (optional, so older clients
//! keep reading), never renamed or removed.

pub mod chain;
pub mod consensus;
mod error;
pub mod governance;
pub mod provenance;
pub mod query;
pub mod tx;

pub use error::{ApiError, ErrorCode};
