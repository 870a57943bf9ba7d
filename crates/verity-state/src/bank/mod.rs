//! Bank: assets, balances, total supply and escrow.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `Transfer`, `Burn`, `EscrowLock` | a `member`, on its own funds |
//! | `Mint` | a `minter` whose organisation the asset's mint rule lists |
//! | `EscrowRelease` | the escrow's arbiter |
//! | `EscrowRefund` | the arbiter; the depositor too once the refund height is reached |
//!
//! **Invariant:** for every asset, the sum of balances plus open escrow amounts equals
//! the supply recorded under [`keys::supply`]; only `Mint` and `Burn` change the supply.
//! Every amount is a `u128` and every sum is checked.

mod error;
pub use error::BankError;

pub mod escrow;
pub mod keys;

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use verity_types::{AccountId, AssetId, Burn, Burned, Event, Mint, MintRule, Minted, Role, Transfer, Transferred};

pub use escrow::{Escrow, EscrowStatus};

use crate::error::StateError;
use crate::exec::Ctx;
use crate::identity::{self, require_role};
use crate::view::{read, Layer, StateRead};

/// An asset record, stored under [`keys::asset`]. Assets exist from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct AssetInfo {
    pub id: AssetId,
    pub mint: MintRule,
    /// Total supply may never exceed this, if set.
    #[serde(with = "verity_types::amount::option")]
    pub supply_cap: Option<u128>,
}

/// The asset record, if the asset exists.
pub fn asset(state: &dyn StateRead, id: &AssetId) -> Option<AssetInfo> {
    read(state, &keys::asset(id))
}

/// The total supply of an asset (0 for an unknown asset).
pub fn asset_supply(state: &dyn StateRead, id: &AssetId) -> u128 {
    read(state, &keys::supply(id)).unwrap_or(0)
}

/// An account's balance of one asset (0 if it never held it).
pub fn balance(state: &dyn StateRead, account: &AccountId, asset: &AssetId) -> u128 {
    read(state, &keys::balance(account, asset)).unwrap_or(0)
}

/// Every asset the account has ever held with its current balance, sorted by asset.
pub fn account_balances(state: &dyn StateRead, account: &AccountId) -> Vec<(AssetId, u128)> {
    holdings(state, account)
        .into_iter()
        .map(|asset| {
            let amount = balance(state, account, &asset);
            (asset, amount)
        })
        .collect()
}

fn holdings(state: &dyn StateRead, account: &AccountId) -> Vec<AssetId> {
    read(state, &keys::holdings(account)).unwrap_or_default()
}

pub(crate) fn put_asset(layer: &mut Layer<'_>, info: &AssetInfo) {
    layer.put(keys::asset(&info.id), info);
}

pub(crate) fn put_supply(layer: &mut Layer<'_>, asset: &AssetId, supply: u128) {
    layer.put(keys::supply(asset), &supply);
}

/// Adds `amount` to a balance, recording the asset in the account's holdings.
pub(crate) fn credit(
    layer: &mut Layer<'_>,
    account: &AccountId,
    asset: &AssetId,
    amount: u128,
) -> Result<(), StateError> {
    let new = balance(layer, account, asset).checked_add(amount).ok_or(StateError::Overflow { what: "balance" })?;
    layer.put(keys::balance(account, asset), &new);
    let mut held = holdings(layer, account);
    if let Err(pos) = held.binary_search(asset) {
        held.insert(pos, asset.clone());
        layer.put(keys::holdings(account), &held);
    }
    Ok(())
}

/// Takes `amount` from a balance, refusing if it is too small.
pub(crate) fn debit(
    layer: &mut Layer<'_>,
    account: &AccountId,
    asset: &AssetId,
    amount: u128,
) -> Result<(), StateError> {
    let current = balance(layer, account, asset);
    let new = current.checked_sub(amount).ok_or_else(|| {
        StateError::Bank(BankError::InsufficientFunds {
            account: account.clone(),
            asset: asset.clone(),
            balance: current,
            needed: amount,
        })
    })?;
    layer.put(keys::balance(account, asset), &new);
    Ok(())
}

pub(crate) fn require_positive(amount: u128, what: &'static str) -> Result<(), StateError> {
    if amount == 0 {
        return Err(StateError::Bank(BankError::ZeroAmount { what }));
    }
    Ok(())
}

pub(crate) fn existing_asset(state: &dyn StateRead, id: &AssetId) -> Result<AssetInfo, StateError> {
    asset(state, id).ok_or_else(|| StateError::Bank(BankError::UnknownAsset(id.clone())))
}

pub(crate) fn require_account(state: &dyn StateRead, id: &AccountId) -> Result<(), StateError> {
    match identity::account(state, id) {
        Some(_) => Ok(()),
        None => Err(StateError::UnknownAccount(id.clone())),
    }
}

pub(crate) fn transfer(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Transfer) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let (to, asset, amount) = (&action.to, &action.asset, action.amount);
    require_role(sender, Role::Member, "transfer")?;
    require_positive(amount, "transfer amount")?;
    existing_asset(layer, asset)?;
    require_account(layer, to)?;
    debit(layer, &sender.id, asset, amount)?;
    credit(layer, to, asset, amount)?;
    Ok(vec![Event::Transferred(Transferred { from: sender.id.clone(), to: to.clone(), asset: asset.clone(), amount })])
}

pub(crate) fn mint(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Mint) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let (to, asset, amount) = (&action.to, &action.asset, action.amount);
    require_role(sender, Role::Minter, "mint")?;
    require_positive(amount, "mint amount")?;
    let info = existing_asset(layer, asset)?;
    let refused =
        |reason| StateError::Bank(BankError::MintNotAllowed { asset: asset.clone(), org: sender.org.clone(), reason });
    match &info.mint {
        MintRule::Fixed => return Err(refused("its supply is fixed at genesis")),
        MintRule::Orgs { orgs } if !orgs.contains(&sender.org) => {
            return Err(refused("its mint rule does not list this organisation"))
        }
        MintRule::Orgs { .. } => {}
    }
    require_account(layer, to)?;
    let supply = asset_supply(layer, asset);
    let new_supply = supply.checked_add(amount).ok_or(StateError::Overflow { what: "supply" })?;
    if let Some(cap) = info.supply_cap {
        if new_supply > cap {
            return Err(StateError::Bank(BankError::SupplyCapExceeded { asset: asset.clone(), supply, amount, cap }));
        }
    }
    put_supply(layer, asset, new_supply);
    credit(layer, to, asset, amount)?;
    Ok(vec![Event::Minted(Minted { to: to.clone(), asset: asset.clone(), amount, by: sender.id.clone() })])
}

pub(crate) fn burn(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Burn) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let (asset, amount) = (&action.asset, action.amount);
    require_role(sender, Role::Member, "burn")?;
    require_positive(amount, "burn amount")?;
    existing_asset(layer, asset)?;
    debit(layer, &sender.id, asset, amount)?;
    let supply = asset_supply(layer, asset)
        .checked_sub(amount)
        .expect("supply covers every balance (conservation), so it covers a successful debit");
    put_supply(layer, asset, supply);
    Ok(vec![Event::Burned(Burned { from: sender.id.clone(), asset: asset.clone(), amount })])
}

/// Checks conservation over a full listing of state entries (see [`crate::MemState`]).
pub(crate) fn check_conservation<'a>(entries: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Result<(), String> {
    fn decode<T: BorshDeserialize>(key: &[u8], value: &[u8]) -> Result<T, String> {
        borsh::from_slice(value).map_err(|e| format!("{}: {e}", String::from_utf8_lossy(key)))
    }
    fn add(map: &mut BTreeMap<Vec<u8>, u128>, asset: &[u8], amount: u128) -> Result<(), String> {
        let entry = map.entry(asset.to_vec()).or_insert(0);
        *entry = entry
            .checked_add(amount)
            .ok_or_else(|| format!("holdings of {} overflow u128", String::from_utf8_lossy(asset)))?;
        Ok(())
    }
    let mut held: BTreeMap<Vec<u8>, u128> = BTreeMap::new();
    let mut supplies: BTreeMap<Vec<u8>, u128> = BTreeMap::new();
    for (key, value) in entries {
        if let Some(rest) = key.strip_prefix(keys::BALANCE_PREFIX) {
            let asset = rest.rsplit(|b| *b == b'/').next().unwrap_or(rest);
            add(&mut held, asset, decode(key, value)?)?;
        } else if let Some(asset) = key.strip_prefix(keys::SUPPLY_PREFIX) {
            supplies.insert(asset.to_vec(), decode(key, value)?);
        } else if key.starts_with(keys::ESCROW_PREFIX) {
            let e: Escrow = decode(key, value)?;
            if e.status == EscrowStatus::Open {
                add(&mut held, e.asset.as_str().as_bytes(), e.amount)?;
            }
        }
    }
    let assets: std::collections::BTreeSet<&Vec<u8>> = held.keys().chain(supplies.keys()).collect();
    for asset in assets {
        let h = held.get(asset).copied().unwrap_or(0);
        let s = supplies.get(asset).copied().unwrap_or(0);
        if h != s {
            return Err(format!(
                "asset {}: balances plus open escrows are {h}, supply is {s}",
                String::from_utf8_lossy(asset)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
