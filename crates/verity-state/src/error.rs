//! The one error type of the state machine. Every refusal of a transaction is a
//! [`StateError`] with a stable machine code ([`StateError::code`]) and a message that
//! names the values involved.

use thiserror::Error;
use verity_types::{AccountId, AssetId, EscrowId, OrgId, Role};

/// Why a transaction (or a genesis file) was refused.
///
/// Codes are part of the API: they are recorded in receipts and returned by the node,
/// so a variant's code never changes once released.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The transaction names another chain.
    #[error("transaction is for chain {got:?}, but this chain is {expected:?}")]
    WrongChain { expected: String, got: String },
    /// The action fails its stateless checks (identifier rules, limits).
    #[error("invalid action: {0}")]
    InvalidAction(String),
    /// The sender account does not exist.
    #[error("sender account {0} does not exist")]
    UnknownSender(AccountId),
    /// The transaction's public key is not the sender's current key.
    #[error("public key {got} is not the current key of account {account}")]
    KeyMismatch { account: AccountId, got: String },
    /// The nonce is not the sender's next nonce (or, at admission, is already used).
    #[error("account {account} sent nonce {got}, but its next nonce is {expected}")]
    BadNonce { account: AccountId, expected: u64, got: u64 },
    /// The sender lacks the role or relationship the action requires.
    #[error("account {account} may not {action}: {reason}")]
    Unauthorized { account: AccountId, action: &'static str, reason: String },
    /// An account named by the action does not exist.
    #[error("account {0} does not exist")]
    UnknownAccount(AccountId),
    /// An organisation named by the action does not exist.
    #[error("organisation {0} does not exist")]
    UnknownOrg(OrgId),
    /// An asset named by the action does not exist.
    #[error("asset {0} does not exist")]
    UnknownAsset(AssetId),
    /// The account to create already exists.
    #[error("account {0} already exists")]
    AccountExists(AccountId),
    /// The account already holds the role being granted.
    #[error("account {account} already holds role {role}")]
    RoleAlreadyHeld { account: AccountId, role: Role },
    /// The account does not hold the role being revoked.
    #[error("account {account} does not hold role {role}")]
    RoleNotHeld { account: AccountId, role: Role },
    /// An org admin tried to revoke its own admin role; refused so that an organisation
    /// that has an admin always keeps one.
    #[error("account {0} may not revoke its own org_admin role; another admin of its organisation must do it")]
    SelfAdminRevoke(AccountId),
    /// An amount of zero was given where a positive amount is required.
    #[error("{what} must be positive")]
    ZeroAmount { what: &'static str },
    /// The balance is too small for the debit.
    #[error("account {account} holds {balance} {asset}, needs {needed}")]
    InsufficientFunds { account: AccountId, asset: AssetId, balance: u128, needed: u128 },
    /// The asset's mint rule does not allow this minter.
    #[error("asset {asset} may not be minted by organisation {org}: {reason}")]
    MintNotAllowed { asset: AssetId, org: OrgId, reason: &'static str },
    /// Minting would take the supply above the asset's cap.
    #[error("minting {amount} {asset} would take supply {supply} above its cap of {cap}")]
    SupplyCapExceeded { asset: AssetId, supply: u128, amount: u128, cap: u128 },
    /// No escrow has this id.
    #[error("escrow {0} does not exist")]
    EscrowNotFound(EscrowId),
    /// An escrow with this id already exists (cannot happen for distinct transactions).
    #[error("escrow {0} already exists")]
    EscrowExists(EscrowId),
    /// The escrow was already settled.
    #[error("escrow {escrow} is already {status}")]
    EscrowClosed { escrow: EscrowId, status: &'static str },
    /// The release splits do not add up to the escrowed amount.
    #[error("splits of escrow {escrow} add up to {got}, but it holds {expected}")]
    SplitMismatch { escrow: EscrowId, expected: u128, got: u128 },
    /// The depositor asked for a refund before the escrow's refund height.
    #[error("escrow {escrow} may be refunded by its depositor only from height {refund_after_height}, now {height}")]
    RefundNotYet { escrow: EscrowId, height: u64, refund_after_height: u64 },
    /// Checked arithmetic overflowed.
    #[error("arithmetic overflow in {what}")]
    Overflow { what: &'static str },
    /// The genesis file breaks a rule.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
}

impl StateError {
    /// The stable snake_case machine code recorded in receipts.
    pub fn code(&self) -> &'static str {
        match self {
            StateError::WrongChain { .. } => "wrong_chain",
            StateError::InvalidAction(_) => "invalid_action",
            StateError::UnknownSender(_) => "unknown_sender",
            StateError::KeyMismatch { .. } => "key_mismatch",
            StateError::BadNonce { .. } => "bad_nonce",
            StateError::Unauthorized { .. } => "unauthorized",
            StateError::UnknownAccount(_) => "unknown_account",
            StateError::UnknownOrg(_) => "unknown_org",
            StateError::UnknownAsset(_) => "unknown_asset",
            StateError::AccountExists(_) => "account_exists",
            StateError::RoleAlreadyHeld { .. } => "role_already_held",
            StateError::RoleNotHeld { .. } => "role_not_held",
            StateError::SelfAdminRevoke(_) => "self_admin_revoke",
            StateError::ZeroAmount { .. } => "zero_amount",
            StateError::InsufficientFunds { .. } => "insufficient_funds",
            StateError::MintNotAllowed { .. } => "mint_not_allowed",
            StateError::SupplyCapExceeded { .. } => "supply_cap_exceeded",
            StateError::EscrowNotFound(_) => "escrow_not_found",
            StateError::EscrowExists(_) => "escrow_exists",
            StateError::EscrowClosed { .. } => "escrow_closed",
            StateError::SplitMismatch { .. } => "split_mismatch",
            StateError::RefundNotYet { .. } => "refund_not_yet",
            StateError::Overflow { .. } => "overflow",
            StateError::InvalidGenesis(_) => "invalid_genesis",
        }
    }

    /// Every code, for documentation and tests (kept in the order of the variants).
    pub const CODES: [&'static str; 24] = [
        "wrong_chain",
        "invalid_action",
        "unknown_sender",
        "key_mismatch",
        "bad_nonce",
        "unauthorized",
        "unknown_account",
        "unknown_org",
        "unknown_asset",
        "account_exists",
        "role_already_held",
        "role_not_held",
        "self_admin_revoke",
        "zero_amount",
        "insufficient_funds",
        "mint_not_allowed",
        "supply_cap_exceeded",
        "escrow_not_found",
        "escrow_exists",
        "escrow_closed",
        "split_mismatch",
        "refund_not_yet",
        "overflow",
        "invalid_genesis",
    ];

    /// The error as recorded in a receipt.
    pub fn to_tx_error(&self) -> verity_types::TxError {
        verity_types::TxError { code: self.code().to_string(), message: self.to_string() }
    }
}
