//! Talks to a Verity node over HTTP ([`Client`]), keeps account keys in a keystore file
//! ([`keystore`], optionally encrypted under a passphrase), and verifies checkpoints and every proof kind offline ([`verify`]),
//! including whole audit bundles ([`audit`]).
//!
//! Offline verification needs only the genesis (or its validator set) and the bytes the
//! node served: a checkpoint is trusted when more than two thirds of the validator set's
//! power signed its header; transaction inclusion, log consistency and state
//! (non-)membership proofs are then checked against the roots in that header.
//!
//! The workflows every front end shares (signing with local nonces, submit-and-wait with
//! one typed outcome, retries under load) are in [`sdk`]. The light client follows
//! validator-set changes epoch by epoch ([`verify::LightClient`]).

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
