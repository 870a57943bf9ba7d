//! Events emitted by the state machine, stored in receipts and streamed by the node.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, AssetId, EscrowId, OrgId, Role};
use crate::keys::PublicKey;

/// A typed event. Variants are only ever appended.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum Event {
    AccountCreated {
        account: AccountId,
        org: OrgId,
        public_key: PublicKey,
        roles: Vec<Role>,
    },
    RoleGranted {
        account: AccountId,
        role: Role,
        by: AccountId,
    },
    RoleRevoked {
        account: AccountId,
        role: Role,
        by: AccountId,
    },
    KeyRotated {
        account: AccountId,
        public_key: PublicKey,
    },
    Transferred {
        from: AccountId,
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    Minted {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        by: AccountId,
    },
    Burned {
        from: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    EscrowLocked {
        escrow: EscrowId,
        depositor: AccountId,
        arbiter: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    EscrowReleased {
        escrow: EscrowId,
        asset: AssetId,
        #[serde(with = "crate::amount::splits")]
        splits: Vec<(AccountId, u128)>,
    },
    EscrowRefunded {
        escrow: EscrowId,
        depositor: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
}

impl Event {
    /// The module that emitted the event.
    pub fn module(&self) -> &'static str {
        match self {
            Event::AccountCreated { .. }
            | Event::RoleGranted { .. }
            | Event::RoleRevoked { .. }
            | Event::KeyRotated { .. } => "identity",
            _ => "bank",
        }
    }

    /// Every account the event concerns (for filtering streams by account).
    pub fn accounts(&self) -> Vec<&AccountId> {
        match self {
            Event::AccountCreated { account, .. } | Event::KeyRotated { account, .. } => vec![account],
            Event::RoleGranted { account, by, .. } | Event::RoleRevoked { account, by, .. } => vec![account, by],
            Event::Transferred { from, to, .. } => vec![from, to],
            Event::Minted { to, by, .. } => vec![to, by],
            Event::Burned { from, .. } => vec![from],
            Event::EscrowLocked { depositor, arbiter, .. } => vec![depositor, arbiter],
            Event::EscrowReleased { splits, .. } => splits.iter().map(|(a, _)| a).collect(),
            Event::EscrowRefunded { depositor, .. } => vec![depositor],
        }
    }
}
