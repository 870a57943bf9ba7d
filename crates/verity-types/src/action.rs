//! The typed actions a transaction can carry, one enum variant per action, grouped by
//! module. Variants are only ever appended (the borsh tag is the declaration order).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::ids::{AccountId, AssetId, EscrowId, OrgId, Role};
use crate::keys::PublicKey;
use crate::limits::{ESCROW_SPLITS_MAX, MEMO_BYTES_MAX, ROLES_PER_ACCOUNT_MAX};

/// One typed action. Each names the roles allowed to take it (see verity-state).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum Action {
    // ----- identity -----
    /// An org admin creates an account in its own organisation.
    CreateAccount { account: AccountId, public_key: PublicKey, org: OrgId, roles: Vec<Role> },
    /// An org admin grants a role to an account of its organisation.
    GrantRole { account: AccountId, role: Role },
    /// An org admin revokes a role from an account of its organisation.
    RevokeRole { account: AccountId, role: Role },
    /// An account replaces its own signing key (or its org admin does it for the account).
    RotateKey { account: AccountId, public_key: PublicKey },

    // ----- bank -----
    /// Moves `amount` of `asset` from the sender to `to`.
    Transfer {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        memo: String,
    },
    /// Creates `amount` of `asset` for `to`, allowed only by the asset's genesis mint rule.
    Mint {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    /// Destroys `amount` of the sender's `asset`.
    Burn {
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    /// Locks `amount` of the sender's `asset` in a new escrow (id = this transaction's
    /// hash). `arbiter` may release or refund it; the depositor may refund it once the
    /// chain reaches `refund_after_height`, if it is set.
    EscrowLock {
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        arbiter: AccountId,
        refund_after_height: Option<u64>,
        memo: String,
    },
    /// The arbiter releases an open escrow to recipients; the amounts must add up to the
    /// escrowed amount exactly.
    EscrowRelease {
        escrow: EscrowId,
        #[serde(with = "crate::amount::splits")]
        splits: Vec<(AccountId, u128)>,
    },
    /// Returns an open escrow to its depositor (arbiter any time, depositor after the
    /// refund height).
    EscrowRefund { escrow: EscrowId },
}

impl Action {
    /// The module the action belongs to (used for event filters and metrics).
    pub fn module(&self) -> &'static str {
        match self {
            Action::CreateAccount { .. }
            | Action::GrantRole { .. }
            | Action::RevokeRole { .. }
            | Action::RotateKey { .. } => "identity",
            Action::Transfer { .. }
            | Action::Mint { .. }
            | Action::Burn { .. }
            | Action::EscrowLock { .. }
            | Action::EscrowRelease { .. }
            | Action::EscrowRefund { .. } => "bank",
        }
    }

    /// The action's snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateAccount { .. } => "create_account",
            Action::GrantRole { .. } => "grant_role",
            Action::RevokeRole { .. } => "revoke_role",
            Action::RotateKey { .. } => "rotate_key",
            Action::Transfer { .. } => "transfer",
            Action::Mint { .. } => "mint",
            Action::Burn { .. } => "burn",
            Action::EscrowLock { .. } => "escrow_lock",
            Action::EscrowRelease { .. } => "escrow_release",
            Action::EscrowRefund { .. } => "escrow_refund",
        }
    }

    /// Stateless checks: identifiers follow the rules, lists and texts are within
    /// their limits. Run at admission and again at execution.
    pub fn validate(&self) -> Result<(), TypesError> {
        fn memo(m: &str) -> Result<(), TypesError> {
            if m.len() > MEMO_BYTES_MAX {
                return Err(TypesError::TooLarge { what: "memo", size: m.len(), limit: MEMO_BYTES_MAX });
            }
            Ok(())
        }
        match self {
            Action::CreateAccount { account, public_key, org, roles } => {
                account.validate()?;
                org.validate()?;
                public_key.to_dalek()?;
                if roles.len() > ROLES_PER_ACCOUNT_MAX {
                    return Err(TypesError::TooLarge {
                        what: "roles",
                        size: roles.len(),
                        limit: ROLES_PER_ACCOUNT_MAX,
                    });
                }
                Ok(())
            }
            Action::GrantRole { account, .. } | Action::RevokeRole { account, .. } => account.validate(),
            Action::RotateKey { account, public_key } => {
                account.validate()?;
                public_key.to_dalek().map(|_| ())
            }
            Action::Transfer { to, asset, memo: m, .. } => {
                to.validate()?;
                asset.validate()?;
                memo(m)
            }
            Action::Mint { to, asset, .. } => {
                to.validate()?;
                asset.validate()
            }
            Action::Burn { asset, .. } => asset.validate(),
            Action::EscrowLock { asset, arbiter, memo: m, .. } => {
                asset.validate()?;
                arbiter.validate()?;
                memo(m)
            }
            Action::EscrowRelease { splits, .. } => {
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
            Action::EscrowRefund { .. } => Ok(()),
        }
    }
}
