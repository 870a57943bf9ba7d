//! Every state key, one function per key kind (each defined beside its module and
//! re-exported here). Keys are readable byte strings: a module prefix such as
//! `identity/account/` followed by identifiers, which never contain `/`.
//!
//! | key | value |
//! | --- | --- |
//! | `identity/org/<org>` | [`crate::Org`] |
//! | `identity/account/<account>` | [`crate::Account`] (roles, key, next nonce) |
//! | `bank/asset/<asset>` | [`crate::AssetInfo`] |
//! | `bank/supply/<asset>` | `u128` |
//! | `bank/balance/<account>/<asset>` | `u128` |
//! | `bank/holdings/<account>` | `Vec<AssetId>`, sorted: every asset the account ever held |
//! | `bank/escrow/<escrow id hex>` | [`crate::Escrow`] |
//! | `consensus/validators` | [`verity_types::ValidatorSet`], the current set |
//! | `consensus/evidence_count` | `u64` |
//! | `consensus/evidence/<sequence, 20 digits>` | [`crate::EvidenceRecord`] |
//! | `consensus/evidence_round/<validator key hex>/<epoch>/<view>` | `u64` sequence |
//! | `prov/...` | provenance records, edges and flags: see [`crate::provenance::keys`] |
//!
//! Values are borsh-encoded.

pub use crate::bank::keys::*;
pub use crate::consensus::keys::*;
pub use crate::identity::keys::*;
pub use crate::provenance::keys::*;
