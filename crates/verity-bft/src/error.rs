use thiserror::Error;

/// Failures converting between Verity's types and the consensus engine's, and starting
/// a validator.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BftError {
    #[error("invalid validator key: {0}")]
    InvalidKey(String),
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(String),
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    #[error("consensus storage: {0}")]
    Storage(String),
}
