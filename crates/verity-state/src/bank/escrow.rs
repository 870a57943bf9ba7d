//! Escrow: funds locked by a depositor and settled by an arbiter, either released to
//! recipients (splits that add up exactly to the locked amount) or refunded. A settled
//! escrow stays in state with its final status; nothing is deleted.

use borsh::{BorshDeserialize, BorshSerialize};
use verity_types::{AccountId, AssetId, EscrowId, Event, Hash, Role};

use super::{credit, debit, existing_asset, keys, require_account, require_positive};
use crate::error::StateError;
use crate::identity::{require_role, Account};
use crate::view::{read, Layer, StateRead};

/// Where an escrow stands. Only `Open` escrows hold funds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
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

/// An escrow record, stored under [`keys::escrow`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Escrow {
    /// The hash of the transaction that locked it.
    pub id: EscrowId,
    pub depositor: AccountId,
    pub arbiter: AccountId,
    pub asset: AssetId,
    #[serde(with = "verity_types::amount")]
    pub amount: u128,
    /// From this height on the depositor may refund it too; `None`: only the arbiter.
    pub refund_after_height: Option<u64>,
    pub status: EscrowStatus,
    pub memo: String,
}

/// The escrow record, if it exists.
pub fn escrow(state: &dyn StateRead, id: &EscrowId) -> Option<Escrow> {
    read(state, &keys::escrow(id))
}

fn open_escrow(state: &dyn StateRead, id: &EscrowId) -> Result<Escrow, StateError> {
    let e = escrow(state, id).ok_or(StateError::EscrowNotFound(*id))?;
    if e.status != EscrowStatus::Open {
        return Err(StateError::EscrowClosed { escrow: *id, status: e.status.name() });
    }
    Ok(e)
}

/// The parameters of `Action::EscrowLock`.
pub(crate) struct Lock<'a> {
    pub asset: &'a AssetId,
    pub amount: u128,
    pub arbiter: &'a AccountId,
    pub refund_after_height: Option<u64>,
    pub memo: &'a str,
}

pub(crate) fn lock(
    layer: &mut Layer<'_>,
    sender: &Account,
    tx_hash: Hash,
    lock: Lock<'_>,
) -> Result<Vec<Event>, StateError> {
    require_role(sender, Role::Member, "escrow_lock")?;
    require_positive(lock.amount, "escrow amount")?;
    existing_asset(layer, lock.asset)?;
    require_account(layer, lock.arbiter)?;
    let id = EscrowId(tx_hash);
    if escrow(layer, &id).is_some() {
        return Err(StateError::EscrowExists(id));
    }
    debit(layer, &sender.id, lock.asset, lock.amount)?;
    let record = Escrow {
        id,
        depositor: sender.id.clone(),
        arbiter: lock.arbiter.clone(),
        asset: lock.asset.clone(),
        amount: lock.amount,
        refund_after_height: lock.refund_after_height,
        status: EscrowStatus::Open,
        memo: lock.memo.to_string(),
    };
    layer.put(keys::escrow(&id), &record);
    Ok(vec![Event::EscrowLocked {
        escrow: id,
        depositor: record.depositor,
        arbiter: record.arbiter,
        asset: record.asset,
        amount: record.amount,
    }])
}

pub(crate) fn release(
    layer: &mut Layer<'_>,
    sender: &Account,
    id: &EscrowId,
    splits: &[(AccountId, u128)],
) -> Result<Vec<Event>, StateError> {
    let mut e = open_escrow(layer, id)?;
    if sender.id != e.arbiter {
        return Err(StateError::Unauthorized {
            account: sender.id.clone(),
            action: "escrow_release",
            reason: format!("only the arbiter {} may release escrow {id}", e.arbiter),
        });
    }
    let mut total: u128 = 0;
    for (recipient, amount) in splits {
        require_positive(*amount, "split amount")?;
        require_account(layer, recipient)?;
        total = total.checked_add(*amount).ok_or(StateError::Overflow { what: "escrow splits" })?;
    }
    if total != e.amount {
        return Err(StateError::SplitMismatch { escrow: *id, expected: e.amount, got: total });
    }
    for (recipient, amount) in splits {
        credit(layer, recipient, &e.asset, *amount)?;
    }
    e.status = EscrowStatus::Released;
    layer.put(keys::escrow(id), &e);
    Ok(vec![Event::EscrowReleased { escrow: *id, asset: e.asset, splits: splits.to_vec() }])
}

pub(crate) fn refund(
    layer: &mut Layer<'_>,
    sender: &Account,
    height: u64,
    id: &EscrowId,
) -> Result<Vec<Event>, StateError> {
    let mut e = open_escrow(layer, id)?;
    if sender.id != e.arbiter {
        let unauthorized =
            |reason: String| StateError::Unauthorized { account: sender.id.clone(), action: "escrow_refund", reason };
        if sender.id != e.depositor {
            return Err(unauthorized(format!(
                "only the arbiter {} or the depositor {} may refund escrow {id}",
                e.arbiter, e.depositor
            )));
        }
        match e.refund_after_height {
            None => {
                return Err(unauthorized(format!(
                    "escrow {id} has no refund height, so only the arbiter {} may refund it",
                    e.arbiter
                )))
            }
            Some(refund_after_height) if height < refund_after_height => {
                return Err(StateError::RefundNotYet { escrow: *id, height, refund_after_height })
            }
            Some(_) => {}
        }
    }
    credit(layer, &e.depositor, &e.asset, e.amount)?;
    e.status = EscrowStatus::Refunded;
    layer.put(keys::escrow(id), &e);
    Ok(vec![Event::EscrowRefunded { escrow: *id, depositor: e.depositor, asset: e.asset, amount: e.amount }])
}
