//! Talks to a Verity node over HTTP ([`Client`]), keeps account keys in a keystore file
//! ([`keystore`], optionally encrypted under a passphrase), and verifies checkpoints and every proof kind offline ([`verify`]),
//! including whole audit bundles ([`audit`]).
//!
//! Offline verification needs only the genesis (or its validator set) and the bytes the
//! node served: a checkpoint is trusted when more than two thirds of the validator set's
//! power signed its header; transaction inclusion, log consistency and state
//! (non-)membership proofs are then checked against the roots in that header.
//!
//! The workflows every front end shares (the CLI today, the Python SDK and the web
//! explorer to come) are in [`sdk`], each returning a typed result for the front end to
//! print:
//!
//! - signing with local nonces, submit-and-wait with one typed outcome, retries under
//!   load ([`sdk::Signer`], [`sdk::Committed`]);
//! - light-client bootstrap from a trusted genesis file or the node's own, and the
//!   composed verifications: a transaction's inclusion and receipt, a state value at a
//!   height (final through its own certificate or a descendant's), the log's consistency
//!   ([`sdk::proofs`]);
//! - dataset versions: a manifest built from a folder, checked against the registry,
//!   published in chunks, one item's membership proof checked ([`sdk::dataset`]);
//! - training runs and model versions: the `RegisterRun` action, and a fingerprinted model
//!   published with its run in one idempotent step ([`sdk::model`]).
//!
//! The light client follows validator-set changes epoch by epoch
//! ([`verify::LightClient`]). Record references (`NAME@VERSION`, `KIND:ID`) are parsed
//! by verity-types' `FromStr` impls, the same parser the node runs.

pub mod audit;
pub mod durable;
pub mod error;
pub mod http;
pub mod keystore;
pub mod note;
pub mod sdk;
pub mod verify;

pub use error::{ClientError, KeystoreError};
pub use http::Client;
