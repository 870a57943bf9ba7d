//! Errors of the client: transport, node-reported errors, keystore and verification.

use thiserror::Error;

/// Everything that can go wrong talking to a node, reading keys or verifying proofs.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node could not be reached or the connection failed.
    #[error("cannot reach the node at {url}: {message}")]
    Transport { url: String, message: String },
    /// The node answered with an error.
    #[error("node refused ({status} {code}): {message}")]
    Api { status: u16, code: String, message: String },
    /// The node's answer was not what the API promises.
    #[error("unexpected answer from the node: {0}")]
    Protocol(String),
    /// Keystore problems.
    #[error("keystore {path}: {message}")]
    Keystore { path: String, message: String },
    /// A proof, checkpoint or signature did not verify.
    #[error("verification failed: {0}")]
    Verify(String),
}
