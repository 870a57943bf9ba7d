//! Identity: organisations, accounts, roles and keys.
//!
//! | action | who may take it |
//! | --- | --- |
//! | `CreateAccount` | an `org_admin` of the new account's organisation |
//! | `GrantRole` | an `org_admin` of the target account's organisation |
//! | `RevokeRole` | an `org_admin` of the target's organisation; never its own `org_admin` role |
//! | `RotateKey` | the account itself, or an `org_admin` of its organisation |
//!
//! Because an admin can never revoke its own admin role, an organisation that has an
//! admin always keeps at least one.

mod error;
pub use error::IdentityError;

pub mod keys;

use borsh::{BorshDeserialize, BorshSerialize};
use verity_types::{
    AccountCreated, AccountId, CreateAccount, Event, GrantRole, KeyRotated, OrgId, PublicKey, RevokeRole, Role,
    RoleGranted, RoleRevoked, RotateKey,
};

use crate::error::StateError;
use crate::exec::Ctx;
use crate::view::{read, Layer, StateRead};

/// An account record, stored under [`keys::account`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Account {
    pub id: AccountId,
    pub org: OrgId,
    /// The key that must sign the account's next transaction.
    pub public_key: PublicKey,
    /// Sorted, without duplicates.
    pub roles: Vec<Role>,
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
}

impl Account {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.binary_search(&role).is_ok()
    }
}

/// An organisation record, stored under [`keys::org`]. Organisations exist from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
}

/// The account record, if the account exists.
pub fn account(state: &dyn StateRead, id: &AccountId) -> Option<Account> {
    read(state, &keys::account(id))
}

/// The organisation record, if the organisation exists.
pub fn org(state: &dyn StateRead, id: &OrgId) -> Option<Org> {
    read(state, &keys::org(id))
}

pub(crate) fn put_account(layer: &mut Layer<'_>, account: &Account) {
    layer.put(keys::account(&account.id), account);
}

pub(crate) fn put_org(layer: &mut Layer<'_>, org: &Org) {
    layer.put(keys::org(&org.id), org);
}

/// Sorts and deduplicates a role list (the stored form).
pub(crate) fn normalize_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    roles
}

/// Refuses unless `sender` holds `role`.
pub(crate) fn require_role(sender: &Account, role: Role, action: &'static str) -> Result<(), StateError> {
    if sender.has_role(role) {
        return Ok(());
    }
    Err(StateError::Unauthorized { account: sender.id.clone(), action, reason: format!("requires role {role}") })
}

/// Refuses unless `sender` is an org admin of `org`.
fn require_admin_of(sender: &Account, org: &OrgId, action: &'static str) -> Result<(), StateError> {
    require_role(sender, Role::OrgAdmin, action)?;
    if &sender.org != org {
        return Err(StateError::Unauthorized {
            account: sender.id.clone(),
            action,
            reason: format!("is an org_admin of {}, not of {org}", sender.org),
        });
    }
    Ok(())
}

fn existing_account(layer: &Layer<'_>, id: &AccountId) -> Result<Account, StateError> {
    account(layer, id).ok_or_else(|| StateError::UnknownAccount(id.clone()))
}

pub(crate) fn create_account(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &CreateAccount,
) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let CreateAccount { account: id, public_key, org: org_id, roles } = action;
    require_admin_of(sender, org_id, "create_account")?;
    if org(layer, org_id).is_none() {
        return Err(StateError::UnknownOrg(org_id.clone()));
    }
    if account(layer, id).is_some() {
        return Err(StateError::Identity(IdentityError::AccountExists(id.clone())));
    }
    let created = Account {
        id: id.clone(),
        org: org_id.clone(),
        public_key: *public_key,
        roles: normalize_roles(roles.to_vec()),
        nonce: 0,
    };
    put_account(layer, &created);
    Ok(vec![Event::AccountCreated(AccountCreated {
        account: created.id,
        org: created.org,
        public_key: created.public_key,
        roles: created.roles,
    })])
}

pub(crate) fn grant_role(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &GrantRole) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let (id, role) = (&action.account, action.role);
    require_role(sender, Role::OrgAdmin, "grant_role")?;
    let mut target = existing_account(layer, id)?;
    require_admin_of(sender, &target.org, "grant_role")?;
    match target.roles.binary_search(&role) {
        Ok(_) => return Err(StateError::Identity(IdentityError::RoleAlreadyHeld { account: id.clone(), role })),
        Err(pos) => target.roles.insert(pos, role),
    }
    put_account(layer, &target);
    Ok(vec![Event::RoleGranted(RoleGranted { account: id.clone(), role, by: sender.id.clone() })])
}

pub(crate) fn revoke_role(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &RevokeRole) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let (id, role) = (&action.account, action.role);
    require_role(sender, Role::OrgAdmin, "revoke_role")?;
    let mut target = existing_account(layer, id)?;
    require_admin_of(sender, &target.org, "revoke_role")?;
    if target.id == sender.id && role == Role::OrgAdmin {
        return Err(StateError::Identity(IdentityError::SelfAdminRevoke(sender.id.clone())));
    }
    match target.roles.binary_search(&role) {
        Ok(pos) => {
            target.roles.remove(pos);
        }
        Err(_) => return Err(StateError::Identity(IdentityError::RoleNotHeld { account: id.clone(), role })),
    }
    put_account(layer, &target);
    Ok(vec![Event::RoleRevoked(RoleRevoked { account: id.clone(), role, by: sender.id.clone() })])
}

pub(crate) fn rotate_key(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &RotateKey) -> Result<Vec<Event>, StateError> {
    let sender = ctx.sender;
    let RotateKey { account: id, public_key } = action;
    let mut target = existing_account(layer, id)?;
    if target.id != sender.id {
        require_admin_of(sender, &target.org, "rotate_key").map_err(|_| StateError::Unauthorized {
            account: sender.id.clone(),
            action: "rotate_key",
            reason: format!("only {id} itself or an org_admin of {} may rotate its key", target.org),
        })?;
    }
    target.public_key = *public_key;
    put_account(layer, &target);
    Ok(vec![Event::KeyRotated(KeyRotated { account: id.clone(), public_key: *public_key })])
}

#[cfg(test)]
mod tests;
