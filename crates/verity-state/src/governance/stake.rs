//! The general stake ledger: positions of an account on a scope (a validator key, a
//! dataset version it curates, a program), bonded from the constitution's stake asset
//! into the stake pool, unbonded after `unbond_delay` blocks, and slashed from evidence.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `Bond` | an account of a member organisation that the program admits: a validator key of its own organisation (an `org_admin`), a dataset version it curates, or a program whose role it holds; a governance allowlist narrows (orgs) or replaces (roles) this |
//! | `Unbond`, `Withdraw` | the position's own account |
//!
//! Stake is held by the `~stake` system account: for the stake asset, its balance equals
//! the sum of every position's bonded and unbonding amounts (property-tested), and a
//! slash moves a share of a scope's positions (bonded first, then the newest unbonding)
//! to the beneficiary and the treasury.

use verity_types::{
    AccountId, Allowlist, Bond, Event, Program, Role, Slashed, StakePosition, StakeScope, Unbond, Unbonded, Unbonding,
    Withdraw, Withdrawn, STAKERS_MAX, STAKERS_PER_ORG_MAX, UNBONDING_MAX,
};

use super::{gov_err, keys, member_weight, mul_div, param, param_blocks, require_governance, update_reputation};
use super::{treasury_account, GovernanceError};
use crate::bank;
use crate::consensus;
use crate::error::StateError;
use crate::exec::Ctx;
use crate::identity::Account;
use crate::provenance;
use crate::view::{read, Layer, StateRead};

const PPM: u128 = 1_000_000;

/// The holder of bonded and unbonding stake.
pub fn stake_account() -> AccountId {
    AccountId::system("stake")
}

/// One account's position on one scope.
pub fn position(state: &dyn StateRead, account: &AccountId, scope: &StakeScope) -> Option<StakePosition> {
    read(state, &keys::position(account, scope))
}

/// The accounts with a position on a scope, in the order they first bonded.
pub fn stakers(state: &dyn StateRead, scope: &StakeScope) -> Vec<AccountId> {
    read(state, &keys::scope(scope)).unwrap_or_default()
}

/// Every position of a program, as (account, scope), in the order they were opened.
pub fn program_positions(state: &dyn StateRead, program: Program) -> Vec<(AccountId, StakeScope)> {
    read(state, &keys::program(program)).unwrap_or_default()
}

/// The scopes an account has positions on.
pub fn account_scopes(state: &dyn StateRead, account: &AccountId) -> Vec<StakeScope> {
    read(state, &keys::account(account)).unwrap_or_default()
}

/// A program's allowlist (empty: the program's default rule).
pub fn allowlist(state: &dyn StateRead, program: Program) -> Allowlist {
    read(state, &keys::allowlist(program)).unwrap_or_default()
}

fn not_allowed(program: Program, reason: String) -> StateError {
    gov_err(GovernanceError::NotAllowlisted { program, reason })
}

/// Whether `sender` may open or grow a position on `scope`.
fn check_admitted(layer: &Layer<'_>, sender: &Account, scope: &StakeScope) -> Result<(), StateError> {
    member_weight(layer, &sender.org)?;
    let program = scope.program();
    let list = allowlist(layer, program);
    if !list.orgs.is_empty() && !list.orgs.contains(&sender.org) {
        return Err(not_allowed(program, format!("organisation {} is not on its allowlist", sender.org)));
    }
    let roles: Vec<Role> = if list.roles.is_empty() { vec![program.default_role()] } else { list.roles.clone() };
    if !roles.iter().any(|r| sender.has_role(*r)) {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        return Err(not_allowed(program, format!("requires one of the roles {}", names.join(", "))));
    }
    match scope {
        StakeScope::Validator { key } => {
            let set = consensus::validator_set(layer);
            match set.iter().flat_map(|s| s.validators.iter()).find(|v| &v.public_key == key) {
                Some(v) if v.org == sender.org => Ok(()),
                Some(v) => Err(not_allowed(program, format!("validator {key} belongs to {}", v.org))),
                None => Err(StateError::Consensus(consensus::ConsensusError::NotAValidator(key.to_hex()))),
            }
        }
        StakeScope::Dataset { dataset } => {
            let v = provenance::dataset_version(layer, dataset)
                .ok_or_else(|| StateError::NotFound { what: "dataset version", id: dataset.to_string() })?;
            if v.curator != sender.id {
                return Err(not_allowed(program, format!("{dataset} is curated by {}", v.curator)));
            }
            Ok(())
        }
        StakeScope::Program { .. } => Ok(()),
    }
}

fn push_bounded<T: PartialEq + borsh::BorshSerialize + borsh::BorshDeserialize>(
    layer: &mut Layer<'_>,
    key: Vec<u8>,
    item: T,
    what: &'static str,
) -> Result<(), StateError> {
    let mut list: Vec<T> = read(layer, &key).unwrap_or_default();
    if list.contains(&item) {
        return Ok(());
    }
    if list.len() >= STAKERS_MAX {
        return Err(gov_err(GovernanceError::LimitReached { what, limit: STAKERS_MAX }));
    }
    list.push(item);
    layer.put(key, &list);
    Ok(())
}

/// Lists a position that starts holding stake: in its scope's and program's lists
/// (which slashing and reward epochs walk) and its account's, within the program's and
/// the organisation's bounds.
fn open_position(layer: &mut Layer<'_>, sender: &Account, scope: &StakeScope) -> Result<(), StateError> {
    let program = scope.program();
    let org_key = keys::program_org(program, &sender.org);
    let open: u32 = read(layer, &org_key).unwrap_or(0);
    if open >= STAKERS_PER_ORG_MAX {
        return Err(gov_err(GovernanceError::LimitReached {
            what: "open positions of one organisation in a program",
            limit: STAKERS_PER_ORG_MAX as usize,
        }));
    }
    layer.put(org_key, &(open + 1));
    let account = &sender.id;
    push_bounded(layer, keys::scope(scope), account.clone(), "stakers of one scope")?;
    push_bounded(layer, keys::program(program), (account.clone(), scope.clone()), "positions of one program")?;
    push_bounded(layer, keys::account(account), scope.clone(), "positions of one account")
}

/// Takes a position that holds nothing any more out of its scope's and program's lists
/// (its record, with what was slashed, stays, and so does its account's list entry).
fn close_if_empty(layer: &mut Layer<'_>, pos: &StakePosition) {
    if pos.held() != 0 {
        return;
    }
    let program = pos.scope.program();
    let mut stakers = stakers(layer, &pos.scope);
    let before = stakers.len();
    stakers.retain(|a| a != &pos.account);
    if stakers.len() == before {
        return;
    }
    layer.put(keys::scope(&pos.scope), &stakers);
    let mut positions = program_positions(layer, program);
    positions.retain(|(a, s)| !(a == &pos.account && s == &pos.scope));
    layer.put(keys::program(program), &positions);
    if let Some(acc) = crate::identity::account(layer, &pos.account) {
        let org_key = keys::program_org(program, &acc.org);
        let open: u32 = read(layer, &org_key).unwrap_or(0);
        layer.put(org_key, &open.saturating_sub(1));
    }
}

fn check_minimum(layer: &Layer<'_>, scope: &StakeScope, bonded: u128) -> Result<(), StateError> {
    let program = scope.program();
    let min = param(layer, program.stake_min_param());
    if bonded != 0 && bonded < min {
        return Err(gov_err(GovernanceError::StakeBelowMinimum { program, min, got: bonded }));
    }
    Ok(())
}

pub(crate) fn bond(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Bond) -> Result<Vec<Event>, StateError> {
    let c = require_governance(layer)?;
    let Bond { scope, amount } = action;
    check_admitted(layer, ctx.sender, scope)?;
    let account = &ctx.sender.id;
    let mut pos = position(layer, account, scope).unwrap_or(StakePosition {
        account: account.clone(),
        scope: scope.clone(),
        bonded: 0,
        unbonding: vec![],
        slashed: 0,
    });
    if pos.held() == 0 {
        open_position(layer, ctx.sender, scope)?;
    }
    pos.bonded = pos.bonded.checked_add(*amount).ok_or(StateError::Overflow { what: "stake" })?;
    check_minimum(layer, scope, pos.bonded)?;
    bank::debit(layer, account, &c.stake_asset, *amount)?;
    bank::credit(layer, &stake_account(), &c.stake_asset, *amount)?;
    layer.put(keys::position(account, scope), &pos);
    Ok(vec![Event::Bonded(verity_types::Bonded {
        account: account.clone(),
        scope: scope.clone(),
        amount: *amount,
        bonded: pos.bonded,
    })])
}

fn existing_position(layer: &Layer<'_>, account: &AccountId, scope: &StakeScope) -> Result<StakePosition, StateError> {
    position(layer, account, scope)
        .ok_or_else(|| StateError::NotFound { what: "stake position", id: format!("{account} on {scope}") })
}

pub(crate) fn unbond(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Unbond) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let Unbond { scope, amount } = action;
    let account = &ctx.sender.id;
    let mut pos = existing_position(layer, account, scope)?;
    if pos.bonded < *amount {
        return Err(gov_err(GovernanceError::InsufficientStake { bonded: pos.bonded, needed: *amount }));
    }
    if pos.unbonding.len() >= UNBONDING_MAX {
        return Err(gov_err(GovernanceError::LimitReached {
            what: "unbonding entries of a position (withdraw the matured ones)",
            limit: UNBONDING_MAX,
        }));
    }
    pos.bonded -= amount;
    check_minimum(layer, scope, pos.bonded)?;
    let release_height = ctx.height.saturating_add(param_blocks(layer, "unbond_delay"));
    pos.unbonding.push(Unbonding { amount: *amount, release_height });
    layer.put(keys::position(account, scope), &pos);
    Ok(vec![Event::Unbonded(Unbonded {
        account: account.clone(),
        scope: scope.clone(),
        amount: *amount,
        bonded: pos.bonded,
    })])
}

pub(crate) fn withdraw(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Withdraw) -> Result<Vec<Event>, StateError> {
    let c = require_governance(layer)?;
    let account = &ctx.sender.id;
    let mut pos = existing_position(layer, account, &action.scope)?;
    let (matured, waiting): (Vec<Unbonding>, Vec<Unbonding>) =
        pos.unbonding.iter().cloned().partition(|u| u.release_height <= ctx.height);
    let amount = matured
        .iter()
        .try_fold(0u128, |acc, u| acc.checked_add(u.amount))
        .ok_or(StateError::Overflow { what: "stake" })?;
    if amount == 0 {
        let next = waiting.iter().map(|u| u.release_height).min();
        return Err(gov_err(GovernanceError::NothingDue(match next {
            Some(h) => format!("the next unbonding matures at height {h}"),
            None => "the position has nothing unbonding".into(),
        })));
    }
    pos.unbonding = waiting;
    bank::debit(layer, &stake_account(), &c.stake_asset, amount)?;
    bank::credit(layer, account, &c.stake_asset, amount)?;
    layer.put(keys::position(account, &action.scope), &pos);
    close_if_empty(layer, &pos);
    Ok(vec![Event::Withdrawn(Withdrawn {
        account: account.clone(),
        scope: action.scope.clone(),
        amount,
        bonded: pos.bonded,
    })])
}

/// Takes `amount` out of a position: bonded stake first, then the newest unbonding.
fn take(pos: &mut StakePosition, mut amount: u128) {
    let from_bonded = amount.min(pos.bonded);
    pos.bonded -= from_bonded;
    amount -= from_bonded;
    while amount > 0 {
        let Some(last) = pos.unbonding.last_mut() else { break };
        let part = amount.min(last.amount);
        last.amount -= part;
        amount -= part;
        if last.amount == 0 {
            pos.unbonding.pop();
        }
    }
}

/// Slashes `share_ppm` of every position on `scope`; `beneficiary_ppm` of each slash
/// goes to `beneficiary` (when given), the rest to the treasury. Nothing happens on a
/// chain without governance. Returns one `Slashed` event per position that lost stake.
pub(crate) fn slash(
    layer: &mut Layer<'_>,
    scope: &StakeScope,
    share_ppm: u128,
    beneficiary: Option<&AccountId>,
    beneficiary_ppm: u128,
    cause: &str,
) -> Result<Vec<Event>, StateError> {
    let Some(c) = super::constitution(layer) else { return Ok(vec![]) };
    let mut events = Vec::new();
    for account in stakers(layer, scope) {
        let Some(mut pos) = position(layer, &account, scope) else { continue };
        let amount = mul_div(pos.held(), share_ppm.min(PPM), PPM);
        if amount == 0 {
            continue;
        }
        take(&mut pos, amount);
        pos.slashed = pos.slashed.saturating_add(amount);
        layer.put(keys::position(&account, scope), &pos);
        close_if_empty(layer, &pos);
        let to_beneficiary = match beneficiary {
            Some(_) => mul_div(amount, beneficiary_ppm.min(PPM), PPM),
            None => 0,
        };
        bank::debit(layer, &stake_account(), &c.stake_asset, amount)?;
        if let Some(b) = beneficiary {
            if to_beneficiary > 0 {
                bank::credit(layer, b, &c.stake_asset, to_beneficiary)?;
            }
        }
        bank::credit(layer, &treasury_account(), &c.stake_asset, amount - to_beneficiary)?;
        update_reputation(layer, &account, |r| {
            r.slashes += 1;
            r.slashed = r.slashed.saturating_add(amount);
        });
        events.push(Event::Slashed(Slashed {
            account,
            scope: scope.clone(),
            amount,
            beneficiary: beneficiary.cloned(),
            to_beneficiary,
            cause: cause.to_string(),
        }));
    }
    Ok(events)
}

/// A dataset challenge was decided: on a chain with governance, a challenge upheld by
/// review slashes the curators' stake on the version (`curation_slash_ppm`,
/// `challenger_reward_ppm` of it to the challenger), and decisions count in
/// reputations. A challenge the ledger upholds itself from an opt-out (`reviewed`
/// false) slashes nothing: enumerated publication already refuses opted-out items, so
/// such an opt-out came after the curator published, and slashing for it would pay the
/// content's owner for opting out.
pub(crate) fn challenge_decided(
    layer: &mut Layer<'_>,
    challenge: &verity_types::Hash,
    dataset: &verity_types::DatasetRef,
    curator: &AccountId,
    challenger: &AccountId,
    upheld: bool,
    reviewed: bool,
) -> Result<Vec<Event>, StateError> {
    if super::constitution(layer).is_none() {
        return Ok(vec![]);
    }
    if !upheld {
        update_reputation(layer, challenger, |r| r.challenges_rejected += 1);
        return Ok(vec![]);
    }
    update_reputation(layer, challenger, |r| r.challenges_upheld += 1);
    if !reviewed {
        return Ok(vec![]);
    }
    update_reputation(layer, curator, |r| r.challenges_lost += 1);
    let share = param(layer, "curation_slash_ppm");
    let reward = param(layer, "challenger_reward_ppm");
    slash(
        layer,
        &StakeScope::Dataset { dataset: dataset.clone() },
        share,
        Some(challenger),
        reward,
        &format!("challenge:{challenge}"),
    )
}
