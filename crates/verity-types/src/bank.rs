//! Bank: the actions that move, mint, burn and escrow assets. The rules that run them
//! are in verity-state's `bank` module.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::ids::{AccountId, AssetId, EscrowId};
use crate::limits::{ESCROW_SPLITS_MAX, MEMO_BYTES_MAX};

fn memo(m: &str) -> Result<(), TypesError> {
    if m.len() > MEMO_BYTES_MAX {
        return Err(TypesError::TooLarge { what: "memo", size: m.len(), limit: MEMO_BYTES_MAX });
    }
    Ok(())
}

/// Moves `amount` of `asset` from the sender to `to`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    pub to: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub memo: String,
}

impl Transfer {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { to, asset, memo: m, .. } = self;
        to.validate()?;
        asset.validate()?;
        memo(m)
    }
}

/// Creates `amount` of `asset` for `to`, allowed only by the asset's genesis mint rule.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mint {
    pub to: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

impl Mint {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { to, asset, .. } = self;
        to.validate()?;
        asset.validate()
    }
}

/// Destroys `amount` of the sender's `asset`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Burn {
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

impl Burn {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { asset, .. } = self;
        asset.validate()
    }
}

/// Locks `amount` of the sender's `asset` in a new escrow (id = this transaction's
/// hash). `arbiter` may release or refund it; the depositor may refund it once the
/// chain reaches `refund_after_height`, if it is set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowLock {
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub arbiter: AccountId,
    pub refund_after_height: Option<u64>,
    pub memo: String,
}

impl EscrowLock {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { asset, arbiter, memo: m, .. } = self;
        asset.validate()?;
        arbiter.validate()?;
        memo(m)
    }
}

/// The arbiter releases an open escrow to recipients; the amounts must add up to the
/// escrowed amount exactly.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowRelease {
    pub escrow: EscrowId,
    #[serde(with = "crate::amount::splits")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<(crate::ids::AccountId, crate::openapi::Amount)>))]
    pub splits: Vec<(AccountId, u128)>,
}

impl EscrowRelease {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { splits, .. } = self;
        if splits.is_empty() || splits.len() > ESCROW_SPLITS_MAX {
            return Err(TypesError::InvalidField {
                field: "splits",
                reason: format!("must name 1 to {ESCROW_SPLITS_MAX} recipients, got {}", splits.len()),
            });
        }
        for (a, _) in splits {
            a.validate()?;
        }
        Ok(())
    }
}

/// Returns an open escrow to its depositor (arbiter any time, depositor after the
/// refund height).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowRefund {
    pub escrow: EscrowId,
}

impl EscrowRefund {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transferred {
    pub from: AccountId,
    pub to: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Minted {
    pub to: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Burned {
    pub from: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowLocked {
    pub escrow: EscrowId,
    pub depositor: AccountId,
    pub arbiter: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowReleased {
    pub escrow: EscrowId,
    pub asset: AssetId,
    #[serde(with = "crate::amount::splits")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<(crate::ids::AccountId, crate::openapi::Amount)>))]
    pub splits: Vec<(AccountId, u128)>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowRefunded {
    pub escrow: EscrowId,
    pub depositor: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

// ----- records -----

/// Where an escrow stands. Only `Open` escrows hold funds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EscrowStatus {
    Open,
    Released,
    Refunded,
}

impl EscrowStatus {
    pub fn name(&self) -> &'static str {
        match self {
            EscrowStatus::Open => "open",
            EscrowStatus::Released => "released",
            EscrowStatus::Refunded => "refunded",
        }
    }
}

/// An escrow record, stored by verity-state under `bank/escrow/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Escrow {
    /// The hash of the transaction that locked it.
    pub id: EscrowId,
    pub depositor: AccountId,
    pub arbiter: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    /// From this height on the depositor may refund it too; `None`: only the arbiter.
    pub refund_after_height: Option<u64>,
    pub status: EscrowStatus,
    pub memo: String,
}
