//! The genesis state (height 0).

use std::collections::BTreeMap;

use verity_types::{AssetId, Genesis, Role};

use crate::bank::{self, AssetInfo};
use crate::consensus;
use crate::error::{BankError, StateError};
use crate::governance;
use crate::identity::{self, Account, Org};
use crate::view::{Layer, MemState, StateWrites};

/// Builds the genesis state (height 0) from a genesis: organisations, their admin
/// accounts (roles `org_admin` and `member`, nonce 0), assets with their mint rules,
/// initial balances and the resulting supplies, and the validator set.
///
/// Runs [`Genesis::validate`] first, then the state rules: every balance is positive
/// and no asset's initial supply exceeds its cap.
pub fn genesis_state(genesis: &Genesis) -> Result<StateWrites, StateError> {
    genesis.validate().map_err(|e| StateError::InvalidGenesis(e.to_string()))?;
    let empty = MemState::new();
    let mut layer = Layer::new(&empty);
    for org in &genesis.orgs {
        identity::put_org(&mut layer, &Org { id: org.id.clone(), name: org.name.clone() });
        for admin in &org.admins {
            identity::put_account(
                &mut layer,
                &Account {
                    id: admin.id.clone(),
                    org: org.id.clone(),
                    public_key: admin.public_key,
                    roles: identity::normalize_roles(vec![Role::OrgAdmin, Role::Member]),
                    nonce: 0,
                },
            );
        }
    }
    let mut caps: BTreeMap<&AssetId, Option<u128>> = BTreeMap::new();
    let mut supplies: BTreeMap<&AssetId, u128> = BTreeMap::new();
    for asset in &genesis.assets {
        bank::put_asset(
            &mut layer,
            &AssetInfo { id: asset.id.clone(), mint: asset.mint.clone(), supply_cap: asset.supply_cap },
        );
        caps.insert(&asset.id, asset.supply_cap);
        supplies.insert(&asset.id, 0);
    }
    for b in &genesis.balances {
        if b.amount == 0 {
            return Err(StateError::InvalidGenesis(format!(
                "initial balance of {} for {} must be positive",
                b.asset, b.account
            )));
        }
        let supply = supplies
            .get_mut(&b.asset)
            .ok_or_else(|| StateError::InvalidGenesis(format!("asset {} is not a genesis asset", b.asset)))?;
        let new_supply = supply.checked_add(b.amount).ok_or(StateError::Overflow { what: "genesis supply" })?;
        if let Some(Some(cap)) = caps.get(&b.asset) {
            if new_supply > *cap {
                return Err(StateError::Bank(BankError::SupplyCapExceeded {
                    asset: b.asset.clone(),
                    supply: *supply,
                    amount: b.amount,
                    cap: *cap,
                }));
            }
        }
        *supply = new_supply;
        bank::credit(&mut layer, &b.account, &b.asset, b.amount)?;
    }
    for (asset, supply) in supplies {
        bank::put_supply(&mut layer, asset, supply);
    }
    consensus::put_genesis(&mut layer, genesis);
    governance::put_genesis(&mut layer, genesis);
    Ok(layer.into_writes())
}
