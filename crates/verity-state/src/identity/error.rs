//! The errors of the identity domain, each with its stable code (see [`crate::error`]).

use verity_types::{AccountId, Role};

use crate::error::coded_errors;

coded_errors! {
    /// Why an identity action (accounts, roles, keys) was refused.
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum IdentityError {
        /// The account to create already exists.
        #[error("account {0} already exists")]
        AccountExists(AccountId) => "account_exists",
        /// The account already holds the role being granted.
        #[error("account {account} already holds role {role}")]
        RoleAlreadyHeld { account: AccountId, role: Role } => "role_already_held",
        /// The account does not hold the role being revoked.
        #[error("account {account} does not hold role {role}")]
        RoleNotHeld { account: AccountId, role: Role } => "role_not_held",
        /// An org admin tried to revoke its own admin role; refused so that an organisation
        /// that has an admin always keeps one.
        #[error("account {0} may not revoke its own org_admin role; another admin of its organisation must do it")]
        SelfAdminRevoke(AccountId) => "self_admin_revoke",
    }
}
