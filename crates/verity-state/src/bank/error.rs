//! The errors of the bank domain, each with its stable code (see [`crate::error`]).

use verity_types::{AccountId, AssetId, EscrowId, OrgId};

use crate::error::coded_errors;

coded_errors! {
    /// Why a bank action (transfers, minting, burning, escrow) was refused.
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum BankError {
        /// An asset named by the action does not exist.
        #[error("asset {0} does not exist")]
        UnknownAsset(AssetId) => "unknown_asset",
        /// An amount of zero was given where a positive amount is required.
        #[error("{what} must be positive")]
        ZeroAmount { what: &'static str } => "zero_amount",
        /// The balance is too small for the debit.
        #[error("account {account} holds {balance} {asset}, needs {needed}")]
        InsufficientFunds { account: AccountId, asset: AssetId, balance: u128, needed: u128 } => "insufficient_funds",
        /// The asset's mint rule does not allow this minter.
        #[error("asset {asset} may not be minted by organisation {org}: {reason}")]
        MintNotAllowed { asset: AssetId, org: OrgId, reason: &'static str } => "mint_not_allowed",
        /// Minting would take the supply above the asset's cap.
        #[error("minting {amount} {asset} would take supply {supply} above its cap of {cap}")]
        SupplyCapExceeded { asset: AssetId, supply: u128, amount: u128, cap: u128 } => "supply_cap_exceeded",
        /// No escrow has this id.
        #[error("escrow {0} does not exist")]
        EscrowNotFound(EscrowId) => "escrow_not_found",
        /// An escrow with this id already exists (cannot happen for distinct transactions).
        #[error("escrow {0} already exists")]
        EscrowExists(EscrowId) => "escrow_exists",
        /// The escrow was already settled.
        #[error("escrow {escrow} is already {status}")]
        EscrowClosed { escrow: EscrowId, status: &'static str } => "escrow_closed",
        /// The release splits do not add up to the escrowed amount.
        #[error("splits of escrow {escrow} add up to {got}, but it holds {expected}")]
        SplitMismatch { escrow: EscrowId, expected: u128, got: u128 } => "split_mismatch",
        /// The depositor asked for a refund before the escrow's refund height.
        #[error("escrow {escrow} may be refunded by its depositor only from height {refund_after_height}, now {height}")]
        RefundNotYet { escrow: EscrowId, height: u64, refund_after_height: u64 } => "refund_not_yet",
    }
}
