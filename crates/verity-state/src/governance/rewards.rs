//! Reward streams: budgets moved from the treasury by governance into the `~rewards`
//! system account, accrued to their recipients at the end of every reward epoch (a
//! height that is a multiple of `reward_epoch`), and claimed by each recipient.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `ClaimRewards` | any account a stream owes, while the stream is not paused |
//!
//! Streams are created, paused and resumed by proposals, and paused and resumed by the
//! emergency council. A paused stream accrues nothing and pays nothing; what it owed
//! stays owed, exactly. Accounting is exact: an epoch accrues `min(per_epoch, pool)`,
//! split in proportion to the recipients' weights (bonded stake, or the listed
//! weights) rounded down; what rounding leaves stays in the pool, and returns to the
//! treasury at the budget's last epoch. For each asset the
//! rewards account holds exactly the sum over streams of `pool + accrued - paid`
//! (property-tested).

use std::collections::BTreeMap;

use verity_types::{AccountId, AssetId, ClaimRewards, Event, Hash, Recipients, RewardsClaimed, Stream, StreamId};
use verity_types::{RECIPIENTS_MAX, STREAMS_MAX};

use super::stake::{position, program_positions};
use super::{gov_err, keys, mul_div, require_governance, treasury_account, GovernanceError};
use crate::bank;
use crate::error::StateError;
use crate::exec::Ctx;
use crate::view::{read, Layer, StateRead};

/// The holder of every stream's budget and owed rewards.
pub fn rewards_account() -> AccountId {
    AccountId::system("rewards")
}

/// A stream by id.
pub fn stream(state: &dyn StateRead, id: &StreamId) -> Option<Stream> {
    read(state, &keys::stream(id))
}

/// The ids of the streams in use (every stream but those spent and fully claimed), in
/// creation order.
pub fn streams(state: &dyn StateRead) -> Vec<StreamId> {
    read(state, keys::STREAMS).unwrap_or_default()
}

/// What a stream owes an account.
pub fn owed(state: &dyn StateRead, id: &StreamId, account: &AccountId) -> u128 {
    read(state, &keys::owed(id, account)).unwrap_or(0)
}

pub(crate) fn existing_stream(state: &dyn StateRead, id: &StreamId) -> Result<Stream, StateError> {
    stream(state, id).ok_or_else(|| StateError::NotFound { what: "stream", id: id.to_string() })
}

pub(crate) fn check_recipients(state: &dyn StateRead, recipients: &Recipients) -> Result<(), StateError> {
    if let Recipients::Accounts { shares } = recipients {
        for s in shares {
            bank::require_account(state, &s.account)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn create(
    layer: &mut Layer<'_>,
    height: u64,
    proposal: Hash,
    id: &StreamId,
    asset: &AssetId,
    per_epoch: u128,
    budget: u128,
    recipients: &Recipients,
) -> Result<(), StateError> {
    // A stream whose budget is spent and fully claimed leaves the list (its record
    // stays, and its id stays taken), so the bound is on streams in use, not on every
    // stream the chain ever had.
    let mut ids = streams(layer);
    ids.retain(|s| stream(layer, s).is_some_and(|s| s.pool > 0 || s.accrued > s.paid));
    if ids.len() >= STREAMS_MAX {
        return Err(gov_err(GovernanceError::LimitReached { what: "reward streams", limit: STREAMS_MAX }));
    }
    bank::debit(layer, &treasury_account(), asset, budget)?;
    bank::credit(layer, &rewards_account(), asset, budget)?;
    let s = Stream {
        id: id.clone(),
        asset: asset.clone(),
        per_epoch,
        recipients: recipients.clone(),
        pool: budget,
        accrued: 0,
        paid: 0,
        paused: false,
        epochs_paid: 0,
        created_height: height,
        proposal,
    };
    ids.push(id.clone());
    layer.put(keys::STREAMS.to_vec(), &ids);
    layer.put(keys::stream(id), &s);
    Ok(())
}

/// Pauses or resumes a stream; refuses a stream already in that state.
pub(crate) fn set_paused(layer: &mut Layer<'_>, id: &StreamId, paused: bool) -> Result<(), StateError> {
    let mut s = existing_stream(layer, id)?;
    if s.paused == paused {
        return Err(StateError::AlreadyDone {
            what: "stream",
            id: id.to_string(),
            state: if paused { "paused" } else { "running" },
        });
    }
    s.paused = paused;
    layer.put(keys::stream(id), &s);
    Ok(())
}

/// The recipients of a stream now, with their weights (accounts in order, zero weights
/// left out).
pub fn weights(state: &dyn StateRead, recipients: &Recipients) -> BTreeMap<AccountId, u128> {
    let mut out = BTreeMap::new();
    match recipients {
        Recipients::Accounts { shares } => {
            for s in shares.iter().take(RECIPIENTS_MAX) {
                out.insert(s.account.clone(), u128::from(s.weight));
            }
        }
        Recipients::Stakers { program } => {
            // Only stakers of member organisations earn (a removed organisation's
            // positions stay slashable and withdrawable, but earn nothing).
            let members = super::members(state);
            for (account, scope) in program_positions(state, *program) {
                let member =
                    crate::identity::account(state, &account).is_some_and(|a| members.iter().any(|m| m.org == a.org));
                if !member {
                    continue;
                }
                let bonded = position(state, &account, &scope).map_or(0, |p| p.bonded);
                if bonded > 0 {
                    let w: &mut u128 = out.entry(account).or_insert(0);
                    *w = w.saturating_add(bonded);
                }
            }
        }
    }
    out
}

/// The end of a reward epoch: every running stream with budget left accrues.
pub(crate) fn accrue(layer: &mut Layer<'_>) {
    for id in streams(layer) {
        let Some(mut s) = stream(layer, &id) else { continue };
        if s.paused || s.pool == 0 {
            continue;
        }
        let amount = s.per_epoch.min(s.pool);
        let weights = weights(layer, &s.recipients);
        let total = weights.values().fold(0u128, |a, w| a.saturating_add(*w));
        if total == 0 {
            continue;
        }
        let mut distributed = 0u128;
        for (account, w) in weights {
            // Exact floor division: the parts never add up to more than `amount` (the
            // clamp only restates it).
            let part = mul_div(amount, w, total).min(amount - distributed);
            if part == 0 {
                continue;
            }
            let key = keys::owed(&id, &account);
            let owed: u128 = read(layer, &key).unwrap_or(0);
            layer.put(key, &owed.saturating_add(part));
            distributed += part;
        }
        s.pool = s.pool.saturating_sub(distributed);
        s.accrued = s.accrued.saturating_add(distributed);
        if amount < s.per_epoch && s.pool > 0 {
            // The last epoch of the budget: what rounding left cannot be split any
            // more, so it goes back to the treasury and the stream is spent.
            let rest = s.pool;
            if bank::debit(layer, &rewards_account(), &s.asset, rest).is_ok()
                && bank::credit(layer, &treasury_account(), &s.asset, rest).is_ok()
            {
                s.pool = 0;
            }
        }
        s.epochs_paid += 1;
        layer.put(keys::stream(&id), &s);
    }
}

pub(crate) fn claim(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &ClaimRewards) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let mut s = existing_stream(layer, &action.stream)?;
    if s.paused {
        return Err(gov_err(GovernanceError::StreamPaused(s.id)));
    }
    let account = &ctx.sender.id;
    let amount = owed(layer, &s.id, account);
    if amount == 0 {
        return Err(gov_err(GovernanceError::NothingDue(format!("stream {} owes {account} nothing", s.id))));
    }
    bank::debit(layer, &rewards_account(), &s.asset, amount)?;
    bank::credit(layer, account, &s.asset, amount)?;
    layer.put(keys::owed(&s.id, account), &0u128);
    s.paid = s.paid.saturating_add(amount);
    layer.put(keys::stream(&s.id), &s);
    Ok(vec![Event::RewardsClaimed(RewardsClaimed { stream: s.id, account: account.clone(), amount })])
}
