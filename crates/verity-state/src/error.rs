//! The error type of the state machine. Every refusal of a transaction is a
//! [`StateError`] with a stable machine code ([`StateError::code`]) and a message that
//! names the values involved. Refusals every domain shares (chain, sender, nonce, roles,
//! missing or existing records, versions, signatures) are variants of [`StateError`]
//! itself; each domain's own refusals are its error enum ([`IdentityError`],
//! [`BankError`], [`ProvenanceError`], [`ConsensusError`], [`GovernanceError`]), which [`StateError`] wraps
//! and whose codes it reports as its own. Codes are unique across all of them.

use verity_types::{AccountId, OrgId};

pub use crate::bank::BankError;
pub use crate::consensus::ConsensusError;
pub use crate::governance::GovernanceError;
pub use crate::identity::IdentityError;
pub use crate::provenance::ProvenanceError;

/// Declares an error enum whose every variant names its stable code beside it
/// (`Variant { .. } => "code",`), and derives `code()`, `CODES` and `all_codes()` from
/// that one list, so no variant can be left out of the list of codes. An optional
/// `domains { Variant(DomainError), }` block adds variants wrapping other coded enums,
/// whose codes pass through unchanged.
macro_rules! coded_errors {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $(($($tty:ty),* $(,)?))? $({ $($field:ident: $fty:ty),* $(,)? })? => $code:literal,
            )*
        }
        $(domains { $($dvariant:ident($dty:ty),)* })?
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant $(($($tty),*))? $({ $($field: $fty),* })?,
            )*
            $($(
                #[doc = concat!("A refusal of its domain: see [`", stringify!($dty), "`].")]
                #[error("{0}")]
                $dvariant(#[from] $dty),
            )*)?
        }

        impl $name {
            /// The codes of this enum's own variants, in their order.
            pub const CODES: &'static [&'static str] = &[$($code),*];

            /// The stable snake_case machine code recorded in receipts.
            pub fn code(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => $code,)*
                    $($($name::$dvariant(e) => e.code(),)*)?
                }
            }

            /// Every code an error of this type can have (its own and its domains').
            pub fn all_codes() -> impl Iterator<Item = &'static str> {
                Self::CODES.iter().copied()$($(.chain(<$dty>::all_codes()))*)?
            }
        }
    };
}
pub(crate) use coded_errors;

coded_errors! {
    /// Why a transaction (or a genesis file) was refused.
    ///
    /// Codes are part of the API: they are recorded in receipts and returned by the node,
    /// so a variant's code never changes once released (moving a variant between this
    /// enum and a domain's keeps its code).
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum StateError {
        /// The transaction names another chain.
        #[error("transaction is for chain {got:?}, but this chain is {expected:?}")]
        WrongChain { expected: String, got: String } => "wrong_chain",
        /// The action fails its stateless checks (identifier rules, limits).
        #[error("invalid action: {0}")]
        InvalidAction(String) => "invalid_action",
        /// The sender account does not exist.
        #[error("sender account {0} does not exist")]
        UnknownSender(AccountId) => "unknown_sender",
        /// The transaction's public key is not the sender's current key.
        #[error("public key {got} is not the current key of account {account}")]
        KeyMismatch { account: AccountId, got: String } => "key_mismatch",
        /// The nonce is not the sender's next nonce (or, at admission, is already used).
        #[error("account {account} sent nonce {got}, but its next nonce is {expected}")]
        BadNonce { account: AccountId, expected: u64, got: u64 } => "bad_nonce",
        /// The sender lacks the role or relationship the action requires.
        #[error("account {account} may not {action}: {reason}")]
        Unauthorized { account: AccountId, action: &'static str, reason: String } => "unauthorized",
        /// An account named by the action does not exist.
        #[error("account {0} does not exist")]
        UnknownAccount(AccountId) => "unknown_account",
        /// An organisation named by the action does not exist.
        #[error("organisation {0} does not exist")]
        UnknownOrg(OrgId) => "unknown_org",
        /// Checked arithmetic overflowed.
        #[error("arithmetic overflow in {what}")]
        Overflow { what: &'static str } => "overflow",
        /// The genesis file breaks a rule.
        #[error("invalid genesis: {0}")]
        InvalidGenesis(String) => "invalid_genesis",
        /// A record named by the action does not exist.
        #[error("{what} {id} does not exist")]
        NotFound { what: &'static str, id: String } => "not_found",
        /// The record to create already exists.
        #[error("{what} {id} already exists")]
        AlreadyExists { what: &'static str, id: String } => "already_exists",
        /// Versions are numbered 1, 2, 3, ... with no gaps.
        #[error("{what} {id}: the next version is {expected}, got {got}")]
        WrongVersion { what: &'static str, id: String, expected: u32, got: u32 } => "wrong_version",
        /// A signature carried by the action does not verify.
        #[error("bad {what} signature: {reason}")]
        BadSignature { what: &'static str, reason: String } => "bad_signature",
        /// The action was already taken (revoked, withdrawn, deprecated, answered).
        #[error("{what} {id} is already {state}")]
        AlreadyDone { what: &'static str, id: String, state: &'static str } => "already_done",
    }
    domains {
        Identity(IdentityError),
        Bank(BankError),
        Provenance(ProvenanceError),
        Consensus(ConsensusError),
        Governance(GovernanceError),
    }
}

impl StateError {
    /// The error as recorded in a receipt.
    pub fn to_tx_error(&self) -> verity_types::TxError {
        verity_types::TxError { code: self.code().to_string(), message: self.to_string() }
    }
}
