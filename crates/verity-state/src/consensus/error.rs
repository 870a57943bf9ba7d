//! The errors of the consensus domain, each with its stable code (see [`crate::error`]).

use crate::error::coded_errors;

coded_errors! {
    /// Why a consensus action (equivocation evidence, validator-set changes) was refused.
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum ConsensusError {
        /// The public key is not a validator of the current set.
        #[error("{0} is not a validator")]
        NotAValidator(String) => "not_a_validator",
        /// Equivocation evidence that is not an offence or whose signatures do not verify.
        #[error("invalid evidence: {0}")]
        InvalidEvidence(String) => "invalid_evidence",
        /// A validator-set change that cannot apply (wrong epoch, impossible operations,
        /// epochs off on this chain).
        #[error("invalid validator change: {0}")]
        InvalidValidatorChange(String) => "invalid_validator_change",
        /// A validator-set change approved by too few organisations' admins.
        #[error("approved by {have} of {total} organisations; more than two thirds are needed")]
        InsufficientApprovals { have: usize, total: usize } => "insufficient_approvals",
    }
}
