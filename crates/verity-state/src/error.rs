//! The one error type of the state machine. Every refusal of a transaction is a
//! [`StateError`] with a stable machine code ([`StateError::code`]) and a message that
//! names the values involved.

use thiserror::Error;
use verity_types::{AccountId, AssetId, EscrowId, Hash, OrgId, Role};

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
    /// A record named by the action does not exist.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    /// The record to create already exists.
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },
    /// Versions are numbered 1, 2, 3, ... with no gaps.
    #[error("{what} {id}: the next version is {expected}, got {got}")]
    WrongVersion { what: &'static str, id: String, expected: u32, got: u32 },
    /// The content is opted out of this use.
    #[error("content {content} is opted out of this use (opt-out {opt_out})")]
    OptedOut { content: Hash, opt_out: Hash },
    /// The dataset's policy requires registered content.
    #[error("content {0} is not registered, and the dataset's policy requires registered content")]
    UnregisteredContent(Hash),
    /// An item's licence differs from the content's registered licence or is not in the
    /// dataset version's declared licence set.
    #[error("content {content}: {reason}")]
    LicenceMismatch { content: Hash, reason: String },
    /// Enumerated items must arrive in ascending content order, and no more than declared.
    #[error("dataset {dataset}@{version}: {reason}")]
    BadItems { dataset: String, version: u32, reason: String },
    /// The last item arrived and the root over all items differs from the declared root.
    #[error("dataset {dataset}@{version}: the items' root {computed} differs from the declared root {declared}")]
    RootMismatch { dataset: String, version: u32, declared: Hash, computed: Hash },
    /// The dataset version is still waiting for items.
    #[error("dataset {dataset}@{version} is pending: {received} of {count} items received")]
    DatasetPending { dataset: String, version: u32, received: u64, count: u64 },
    /// A Merkle proof in the action does not verify.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// A challenge the ledger checks itself does not hold.
    #[error("challenge unfounded: {0}")]
    ChallengeUnfounded(String),
    /// The challenge is no longer open, or its window has passed.
    #[error("challenge {challenge} is closed: {reason}")]
    ChallengeClosed { challenge: Hash, reason: String },
    /// A signature carried by the action does not verify.
    #[error("bad {what} signature: {reason}")]
    BadSignature { what: &'static str, reason: String },
    /// The attestation is malformed or does not match the ledger's records.
    #[error("invalid attestation: {0}")]
    InvalidAttestation(String),
    /// A record upstream of this one was flagged; it cannot be used or deployed.
    #[error("{record} is flagged ({flags} flag(s) from its lineage) and cannot be used or deployed")]
    LineageFlagged { record: String, flags: u32 },
    /// The model version is deprecated.
    #[error("model {model}@{version} is deprecated")]
    DeprecatedVersion { model: String, version: u32 },
    /// The model has no deploy gate yet.
    #[error("model {0} has no deploy gate; its organisation must set one (an empty gate allows every deploy)")]
    NoGate(String),
    /// The deploy lacks a required attestation.
    #[error("deploy of {model}@{version} to {environment} refused by the gate: {reason}")]
    GateNotSatisfied { model: String, version: u32, environment: String, reason: String },
    /// The rollback does not go back to an earlier version of what is deployed.
    #[error("invalid rollback: {0}")]
    InvalidRollback(String),
    /// The decision may not be corrected by this account, or was already superseded.
    #[error("correction refused: {0}")]
    CorrectionRefused(String),
    /// The action was already taken (revoked, withdrawn, deprecated, answered).
    #[error("{what} {id} is already {state}")]
    AlreadyDone { what: &'static str, id: String, state: &'static str },
    /// The chain of base models would grow beyond its limit.
    #[error("lineage too deep: {0}")]
    LineageTooDeep(String),
    /// The public key is not a validator of the current set.
    #[error("{0} is not a validator")]
    NotAValidator(String),
    /// Equivocation evidence that is not an offence or whose signatures do not verify.
    #[error("invalid evidence: {0}")]
    InvalidEvidence(String),
    /// A validator-set change that cannot apply (wrong epoch, impossible operations,
    /// epochs off on this chain).
    #[error("invalid validator change: {0}")]
    InvalidValidatorChange(String),
    /// A validator-set change approved by too few organisations' admins.
    #[error("approved by {have} of {total} organisations; more than two thirds are needed")]
    InsufficientApprovals { have: usize, total: usize },
    /// The flags of a challenge cannot be lifted (it was not upheld, they are already
    /// lifted, or the opt-out that upheld it still stands).
    #[error("flags of challenge {challenge} cannot be lifted: {reason}")]
    LiftRefused { challenge: Hash, reason: String },
    /// The model version's deployment in force is suspended by the model's risk policy.
    #[error("the deployment of {model}@{version} to {environment} is suspended ({reason}); roll it back or lift the flag first")]
    DeploymentSuspended { model: String, version: u32, environment: String, reason: String },
    /// The gate change an approval names is not the model's pending change any more
    /// (approved, in force after its delay, or superseded).
    #[error("gate change {change} of model {model} is not pending: {status}")]
    GateChangeNotPending { model: String, change: Hash, status: &'static str },
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
            StateError::NotFound { .. } => "not_found",
            StateError::AlreadyExists { .. } => "already_exists",
            StateError::WrongVersion { .. } => "wrong_version",
            StateError::OptedOut { .. } => "opted_out",
            StateError::UnregisteredContent(_) => "unregistered_content",
            StateError::LicenceMismatch { .. } => "licence_mismatch",
            StateError::BadItems { .. } => "bad_items",
            StateError::RootMismatch { .. } => "root_mismatch",
            StateError::DatasetPending { .. } => "dataset_pending",
            StateError::InvalidProof(_) => "invalid_proof",
            StateError::ChallengeUnfounded(_) => "challenge_unfounded",
            StateError::ChallengeClosed { .. } => "challenge_closed",
            StateError::BadSignature { .. } => "bad_signature",
            StateError::InvalidAttestation(_) => "invalid_attestation",
            StateError::LineageFlagged { .. } => "lineage_flagged",
            StateError::DeprecatedVersion { .. } => "deprecated",
            StateError::NoGate(_) => "no_gate",
            StateError::GateNotSatisfied { .. } => "gate_not_satisfied",
            StateError::InvalidRollback(_) => "invalid_rollback",
            StateError::CorrectionRefused(_) => "correction_refused",
            StateError::AlreadyDone { .. } => "already_done",
            StateError::LineageTooDeep(_) => "lineage_too_deep",
            StateError::NotAValidator(_) => "not_a_validator",
            StateError::InvalidEvidence(_) => "invalid_evidence",
            StateError::InvalidValidatorChange(_) => "invalid_validator_change",
            StateError::InsufficientApprovals { .. } => "insufficient_approvals",
            StateError::LiftRefused { .. } => "lift_refused",
            StateError::DeploymentSuspended { .. } => "deployment_suspended",
            StateError::GateChangeNotPending { .. } => "gate_change_not_pending",
        }
    }

    /// Every code, for documentation and tests (kept in the order of the variants).
    pub const CODES: [&'static str; 51] = [
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
        "not_found",
        "already_exists",
        "wrong_version",
        "opted_out",
        "unregistered_content",
        "licence_mismatch",
        "bad_items",
        "root_mismatch",
        "dataset_pending",
        "invalid_proof",
        "challenge_unfounded",
        "challenge_closed",
        "bad_signature",
        "invalid_attestation",
        "lineage_flagged",
        "deprecated",
        "no_gate",
        "gate_not_satisfied",
        "invalid_rollback",
        "correction_refused",
        "already_done",
        "lineage_too_deep",
        "not_a_validator",
        "invalid_evidence",
        "lift_refused",
        "deployment_suspended",
        "gate_change_not_pending",
    ];

    /// The error as recorded in a receipt.
    pub fn to_tx_error(&self) -> verity_types::TxError {
        verity_types::TxError { code: self.code().to_string(), message: self.to_string() }
    }
}
