//! Identity: the actions that create accounts, grant and revoke roles and rotate keys.
//! Accounts, organisations and roles themselves are in [`crate::ids`]; the rules that
//! run these actions are in verity-state's `identity` module.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::ids::{AccountId, OrgId, Role};
use crate::keys::PublicKey;
use crate::limits::ROLES_PER_ACCOUNT_MAX;

/// An org admin creates an account in its own organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateAccount {
    pub account: AccountId,
    pub public_key: PublicKey,
    pub org: OrgId,
    pub roles: Vec<Role>,
}

impl CreateAccount {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { account, public_key, org, roles } = self;
        account.validate()?;
        org.validate()?;
        public_key.validate()?;
        if roles.len() > ROLES_PER_ACCOUNT_MAX {
            return Err(TypesError::TooLarge { what: "roles", size: roles.len(), limit: ROLES_PER_ACCOUNT_MAX });
        }
        Ok(())
    }
}

/// An org admin grants a role to an account of its organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantRole {
    pub account: AccountId,
    pub role: Role,
}

impl GrantRole {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        self.account.validate()
    }
}

/// An org admin revokes a role from an account of its organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRole {
    pub account: AccountId,
    pub role: Role,
}

impl RevokeRole {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        self.account.validate()
    }
}

/// An account replaces its own signing key (or its org admin does it for the account).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateKey {
    pub account: AccountId,
    pub public_key: PublicKey,
}

impl RotateKey {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { account, public_key } = self;
        account.validate()?;
        public_key.validate()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountCreated {
    pub account: AccountId,
    pub org: OrgId,
    pub public_key: PublicKey,
    pub roles: Vec<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleGranted {
    pub account: AccountId,
    pub role: Role,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRevoked {
    pub account: AccountId,
    pub role: Role,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotated {
    pub account: AccountId,
    pub public_key: PublicKey,
}
