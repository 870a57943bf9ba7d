//! Talks to a Verity node over HTTP ([`Client`]), keeps account keys in a keystore file
//! ([`keystore`], optionally encrypted under a passphrase), and verifies checkpoints and every proof kind offline ([`verify`]),
//! including whole audit bundles ([`audit`]).
//!
//! Offline verification needs only the genesis (or its validator set) and the bytes the
//! node served: a checkpoint is trusted when more than two thirds of the validator set's
//! power signed its header; transaction inclusion, log consistency and state
//! (non-)membership proofs are then checked against the roots in that header.
//!
//! # Status
//! Complete for the ledger foundation; validator-set changes (light-client following of
//! checkpoints across sets) arrive with the BFT network.

pub mod audit;
pub mod durable;
pub mod error;
pub mod http;
pub mod keystore;
pub mod note;
pub mod verify;

pub use error::{ClientError, KeystoreError};
pub use http::Client;
