//! Typed identifiers. Names are short lowercase strings chosen by whoever creates the
//! thing (`alice`, `acme`, `usd`), checked by one rule so they are safe in URLs, keys
//! and file names.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;
use crate::hash::Hash;
use crate::limits::ID_BYTES_MAX;

/// Checks the identifier rule: 1..=64 bytes of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_id(kind: &'static str, value: &str) -> Result<(), TypesError> {
    let err = |reason| TypesError::InvalidId { kind, value: value.chars().take(80).collect(), reason };
    if value.is_empty() {
        return Err(err("must not be empty"));
    }
    if value.len() > ID_BYTES_MAX {
        return Err(err("longer than 64 bytes"));
    }
    let first = value.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(err("must start with a lowercase letter or digit"));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-') {
        return Err(err("only a-z, 0-9, '.', '_' and '-' are allowed"));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub(crate) String);

        impl $name {
            /// Builds the identifier, checking the identifier rule.
            pub fn new(value: impl Into<String>) -> Result<Self, TypesError> {
                let value = value.into();
                check_id($kind, &value)?;
                Ok(Self(value))
            }

            /// Checks a decoded value (borsh decoding does not run [`Self::new`]).
            pub fn validate(&self) -> Result<(), TypesError> {
                check_id($kind, &self.0)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TypesError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl FromStr for $name {
            type Err = TypesError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::string(
                    &crate::openapi::id_pattern(),
                    concat!("An identifier (", $kind, "): 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit."),
                )
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// Lets other modules of this crate declare string identifiers the same way.
pub(crate) use string_id;

string_id!(
    /// An account: a person, service or pipeline that signs transactions.
    AccountId,
    "account id"
);
string_id!(
    /// An organisation of the consortium.
    OrgId,
    "org id"
);
string_id!(
    /// An asset held in balances (`usd`, `credit`, ...).
    AssetId,
    "asset id"
);

impl AccountId {
    /// A holder of funds that no one signs for (the treasury, the stake pool, the rewards
    /// pool): `~name`, which no account id can be, so no account can ever be it. Its
    /// balances are ordinary balances, so supply conservation covers them.
    pub fn system(name: &str) -> Self {
        AccountId(format!("~{name}"))
    }
}

/// An escrow, named by the hash of the transaction that locked it.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EscrowId(pub Hash);

impl fmt::Display for EscrowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for EscrowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EscrowId({})", self.0)
    }
}

/// What an account may do. Each action names the roles allowed to take it.
///
/// Variants are only ever appended: the borsh tag is the declaration order.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Administers its organisation: creates accounts, grants and revokes roles.
    OrgAdmin,
    /// Mints assets whose genesis rule names this account's organisation.
    Minter,
    /// Ordinary member: transfers and escrows its own funds.
    Member,
    /// Registers content and opts it out (provenance).
    Creator,
    /// Publishes dataset manifests (provenance).
    Curator,
    /// Registers training runs and model versions.
    ModelOwner,
    /// Signs evaluation attestations.
    Evaluator,
    /// Deploys, rolls back and deprecates model versions.
    Deployer,
    /// Provides compute in the inference marketplace.
    Provider,
    /// Re-executes jobs and disputes wrong outputs.
    Verifier,
    /// Approves large agent actions and pauses agent wallets.
    Guardian,
    /// Reads and exports audit bundles.
    Auditor,
    /// Resolves challenges of dataset items.
    Reviewer,
    /// Ratifies governance proposals of the kinds that need a human sign-off.
    Ratifier,
}

impl Role {
    /// Every role, in tag order.
    pub const ALL: [Role; 14] = [
        Role::OrgAdmin,
        Role::Minter,
        Role::Member,
        Role::Creator,
        Role::Curator,
        Role::ModelOwner,
        Role::Evaluator,
        Role::Deployer,
        Role::Provider,
        Role::Verifier,
        Role::Guardian,
        Role::Auditor,
        Role::Reviewer,
        Role::Ratifier,
    ];

    /// The snake_case name used in JSON and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Role::OrgAdmin => "org_admin",
            Role::Minter => "minter",
            Role::Member => "member",
            Role::Creator => "creator",
            Role::Curator => "curator",
            Role::ModelOwner => "model_owner",
            Role::Evaluator => "evaluator",
            Role::Deployer => "deployer",
            Role::Provider => "provider",
            Role::Verifier => "verifier",
            Role::Guardian => "guardian",
            Role::Auditor => "auditor",
            Role::Reviewer => "reviewer",
            Role::Ratifier => "ratifier",
        }
    }
}

impl FromStr for Role {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.iter().copied().find(|r| r.name() == s).ok_or_else(|| TypesError::InvalidField {
            field: "role",
            reason: format!(
                "unknown role {s:?}; known roles: {}",
                Role::ALL.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rules() {
        for ok in ["alice", "a", "org-1", "x.y_z", "9lives"] {
            assert!(AccountId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Alice", "-a", "a b", "é", &"a".repeat(65)] {
            assert!(AccountId::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<AccountId>("\"Bad\"").is_err());
    }

    #[test]
    fn role_names_roundtrip() {
        for r in Role::ALL {
            assert_eq!(r.name().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).expect("json"), format!("\"{}\"", r.name()));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
