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
    /// A key that may not enter the ledger (see `PublicKey::validate`).
    #[error("public key {key} refused: {reason}")]
    WeakPublicKey { key: String, reason: &'static str },
    /// A signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A field is out of its allowed range.
    #[error("invalid field {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// A `NAME@VERSION` reference (a dataset or model version) is malformed; `field`
    /// says which kind of reference was expected.
    #[error("invalid {field} reference: {error}")]
    Reference { field: &'static str, error: ReferenceError },
}

/// Why a text is not a `NAME@VERSION` reference. The name's own rules (an identifier)
/// are checked after these, and fail as [`TypesError::InvalidId`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// No `@`, or nothing after it.
    #[error("{input:?} has no version: write NAME@VERSION")]
    MissingVersion { input: String },
    /// Nothing before the `@`.
    #[error("{input:?} has no name: write NAME@VERSION")]
    EmptyName { input: String },
    /// More than one `@`.
    #[error("{input:?} has more than one '@': write NAME@VERSION")]
    ExtraAt { input: String },
    /// The version is not a whole number that fits 32 bits.
    #[error("the version in {input:?} is not a whole number from 1 to {max}", max = u32::MAX)]
    BadVersion { input: String },
    /// Version 0: versions start at 1.
    #[error("the version in {input:?} is 0: versions start at 1")]
    ZeroVersion { input: String },
}

/// Why a Merkle proof (transaction-log inclusion or consistency, or authenticated state)
/// was refused, or could not be generated. Verifiers return these instead of panicking on
/// any input, however malformed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// A leaf index is not inside the tree it claims to be in.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    /// A tree size larger than the leaves available to build a proof from.
    #[error("tree size {size} exceeds the {available} leaves available")]
    SizeUnavailable { size: u64, available: u64 },
    /// A proof carries more hashes or levels than its limit allows.
    #[error("proof has {len} {what}, above the limit of {limit}")]
    TooLong { what: &'static str, len: usize, limit: usize },
    /// A proof path has the wrong number of hashes for the sizes it names.
    #[error("proof path has the wrong length for the sizes it names")]
    WrongPathLength,
    /// The proof is well formed but recomputes to a different root.
    #[error("proof does not match the {which} root")]
    RootMismatch { which: &'static str },
    /// A state proof's terminal leaf belongs to a different key than the one proven.
    #[error("state proof leaf belongs to a different key")]
    KeyMismatch,
    /// A state proof's terminal leaf holds a different value than the one claimed.
    #[error("state proof leaf holds a different value")]
    ValueMismatch,
    /// A membership proof ends in an empty slot, or a non-membership proof in the key's leaf.
    #[error("state proof {0}")]
    WrongTerminal(&'static str),
    /// A structurally invalid state proof (sibling bitmap, sibling count, shortcut rule).
    #[error("malformed state proof: {0}")]
    Malformed(&'static str),
}
