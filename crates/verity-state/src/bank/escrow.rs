//! Escrow: funds locked by a depositor and settled by an arbiter, either released to
//! recipients (splits that add up exactly to the locked amount) or refunded. A settled
//! escrow stays in state with its final status; nothing is deleted.

pub use verity_types::{Escrow, EscrowStatus};
use verity_types::{
    EscrowId, EscrowLock, EscrowLocked, EscrowRefund, EscrowRefunded, EscrowRelease, EscrowReleased, Event, Role,
};

use super::{credit, debit, existing_asset, keys, require_account, require_positive};

use crate::error::{BankError, StateError};
use crate::exec::Ctx;
use crate::identity::require_role;
use crate::view::{read, Layer, StateRead};

/// The escrow record, if it exists.
pub fn escrow(state: &dyn StateRead, id: &EscrowId) -> Option<Escrow> {
    read(state, &keys::escrow(id))
}

fn open_escrow(state: &dyn StateRead, id: &EscrowId) -> Result<Escrow, StateError> {
    let e = escrow(state, id).ok_or(StateError::Bank(BankError::EscrowNotFound(*id)))?;
    if e.status != EscrowStatus::Open {
        return Err(StateError::Bank(BankError::EscrowClosed { escrow: *id, status: e.status.name() }));
    }
    Ok(e)
}

pub(crate) fn lock(layer: &mut Layer<'_>, ctx: &Ctx<'_>, lock: &EscrowLock) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    require_role(sender, Role::Member, "escrow_lock")?;
    require_positive(lock.amount, "escrow amount")?;
    existing_asset(layer, &lock.asset)?;
    require_account(layer, &lock.arbiter)?;
    let id = EscrowId(ctx.tx_hash);
    if escrow(layer, &id).is_some() {
        return Err(StateError::Bank(BankError::EscrowExists(id)));
    }
    debit(layer, &sender.id, &lock.asset, lock.amount)?;
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
    Ok(vec![Event::EscrowLocked(EscrowLocked {
        escrow: id,
        depositor: record.depositor,
        arbiter: record.arbiter,
        asset: record.asset,
        amount: record.amount,
    })])
}

pub(crate) fn release(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &EscrowRelease) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let EscrowRelease { escrow: id, splits } = action;
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
        return Err(StateError::Bank(BankError::SplitMismatch { escrow: *id, expected: e.amount, got: total }));
    }
    for (recipient, amount) in splits {
        credit(layer, recipient, &e.asset, *amount)?;
    }
    e.status = EscrowStatus::Released;
    layer.put(keys::escrow(id), &e);
    Ok(vec![Event::EscrowReleased(EscrowReleased { escrow: *id, asset: e.asset, splits: splits.to_vec() })])
}

pub(crate) fn refund(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &EscrowRefund) -> Result<Vec<Event>, StateError> {
    let (sender, height, id) = (ctx.sender, ctx.height, &action.escrow);
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
                return Err(StateError::Bank(BankError::RefundNotYet { escrow: *id, height, refund_after_height }))
            }
            Some(_) => {}
        }
    }
    credit(layer, &e.depositor, &e.asset, e.amount)?;
    e.status = EscrowStatus::Refunded;
    layer.put(keys::escrow(id), &e);
    Ok(vec![Event::EscrowRefunded(EscrowRefunded {
        escrow: *id,
        depositor: e.depositor,
        asset: e.asset,
        amount: e.amount,
    })])
}
