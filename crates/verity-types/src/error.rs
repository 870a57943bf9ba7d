//! Errors of the types crate: decoding, validation and signature failures.

use thiserror::Error;

/// Everything that can go wrong when decoding, validating or verifying a value of this crate.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TypesError {
    /// Bytes are not a valid canonical encoding of the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// An encoded value is larger than its limit.
    #[error("{what} is {size} bytes, above the limit of {limit}")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    /// An identifier does not follow the identifier rules.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId { kind: &'static str, value: String, reason: &'static str },
    /// A hex string is not 64 hex digits (or the expected length).
    #[error("invalid hex: {0}")]
    InvalidHex(String),
    /// A public key is not a valid Ed25519 point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A field is out of its allowed range.
    #[error("invalid field {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
}
