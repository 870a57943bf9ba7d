//! State keys of the identity module. Identifiers never contain `/`, so every key is
//! unambiguous and readable (`identity/account/alice`).

use verity_types::{AccountId, OrgId};

/// Prefix of account records ([`crate::identity::Account`]).
pub const ACCOUNT_PREFIX: &[u8] = b"identity/account/";
/// Prefix of organisation records ([`crate::identity::Org`]).
pub const ORG_PREFIX: &[u8] = b"identity/org/";

/// Key of an account record.
pub fn account(id: &AccountId) -> Vec<u8> {
    [ACCOUNT_PREFIX, id.as_str().as_bytes()].concat()
}

/// Key of an organisation record.
pub fn org(id: &OrgId) -> Vec<u8> {
    [ORG_PREFIX, id.as_str().as_bytes()].concat()
}
