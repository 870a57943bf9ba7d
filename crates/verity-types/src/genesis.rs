//! The genesis file: chain id, organisations with their admin accounts, validators,
//! assets with their mint rules, and initial balances. Read as JSON at the edge; hashed
//! in canonical form.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::block::{Validator, ValidatorSet};
use crate::encoding::encode;
use crate::error::TypesError;
use crate::hash::{sha256_parts, Hash};
use crate::ids::{AccountId, AssetId, OrgId};
use crate::keys::PublicKey;
use crate::limits::GENESIS_ENTRIES_MAX;

/// An organisation of the consortium and its first admin accounts.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GenesisOrg {
    pub id: OrgId,
    pub name: String,
    pub admins: Vec<GenesisAccount>,
}

/// An account that exists from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub id: AccountId,
    pub public_key: PublicKey,
}

/// Who may mint an asset.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum MintRule {
    /// Supply is fixed at genesis.
    Fixed,
    /// Accounts with the `minter` role in one of these organisations may mint.
    Orgs { orgs: Vec<OrgId> },
}

/// An asset and its supply rules.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GenesisAsset {
    pub id: AssetId,
    pub mint: MintRule,
    /// Total supply may never exceed this, if set.
    #[serde(with = "crate::amount::option", default)]
    pub supply_cap: Option<u128>,
}

/// An initial balance.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GenesisBalance {
    pub account: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    pub amount: u128,
}

/// The genesis of a chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub orgs: Vec<GenesisOrg>,
    pub validators: Vec<Validator>,
    pub assets: Vec<GenesisAsset>,
    pub balances: Vec<GenesisBalance>,
    /// Blocks per consensus epoch (BFT chains): the validator set can change only at
    /// an epoch boundary. 0 (the default, and embedded mode) fixes the set at genesis.
    #[serde(default)]
    pub epoch_length: u64,
}

impl Genesis {
    /// Hash of the canonical encoding; the parent of block 1.
    pub fn hash(&self) -> Hash {
        sha256_parts(&[b"verity/genesis/v1\0", &encode(self)])
    }

    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet { validators: self.validators.clone() }
    }

    /// Checks the genesis file's own consistency (identifiers, limits, references,
    /// duplicates). State-level rules are applied when the genesis state is built.
    pub fn validate(&self) -> Result<(), TypesError> {
        let field = |field, reason: String| TypesError::InvalidField { field, reason };
        if self.chain_id.is_empty() || self.chain_id.len() > 64 {
            return Err(field("chain_id", "must be 1 to 64 bytes".into()));
        }
        for (what, n) in [
            ("orgs", self.orgs.len()),
            ("validators", self.validators.len()),
            ("assets", self.assets.len()),
            ("balances", self.balances.len()),
        ] {
            if n > GENESIS_ENTRIES_MAX {
                return Err(TypesError::TooLarge { what, size: n, limit: GENESIS_ENTRIES_MAX });
            }
        }
        if self.epoch_length == 1 {
            return Err(field("epoch_length", "an epoch needs at least 2 blocks (0 turns epochs off)".into()));
        }
        if self.validators.is_empty() {
            return Err(field("validators", "at least one validator is required".into()));
        }
        let mut orgs = std::collections::BTreeSet::new();
        let mut accounts = std::collections::BTreeSet::new();
        for o in &self.orgs {
            o.id.validate()?;
            if !orgs.insert(&o.id) {
                return Err(field("orgs", format!("duplicate org {}", o.id)));
            }
            for a in &o.admins {
                a.id.validate()?;
                a.public_key.validate()?;
                if !accounts.insert(&a.id) {
                    return Err(field("orgs", format!("duplicate account {}", a.id)));
                }
            }
        }
        let mut validator_keys = std::collections::BTreeSet::new();
        for v in &self.validators {
            if !orgs.contains(&v.org) {
                return Err(field("validators", format!("validator org {} is not a genesis org", v.org)));
            }
            v.public_key.validate()?;
            // One key, one validator: a key listed twice would count its votes twice
            // towards a quorum.
            if !validator_keys.insert(v.public_key) {
                return Err(field("validators", format!("validator key {} is listed twice", v.public_key)));
            }
            if v.power == 0 {
                return Err(field("validators", "validator power must be positive".into()));
            }
        }
        let mut assets = std::collections::BTreeSet::new();
        for a in &self.assets {
            a.id.validate()?;
            if !assets.insert(&a.id) {
                return Err(field("assets", format!("duplicate asset {}", a.id)));
            }
            if let MintRule::Orgs { orgs: mint_orgs } = &a.mint {
                for o in mint_orgs {
                    if !orgs.contains(o) {
                        return Err(field("assets", format!("mint org {o} is not a genesis org")));
                    }
                }
            }
        }
        for b in &self.balances {
            if !accounts.contains(&b.account) {
                return Err(field("balances", format!("account {} is not a genesis account", b.account)));
            }
            if !assets.contains(&b.asset) {
                return Err(field("balances", format!("asset {} is not a genesis asset", b.asset)));
            }
        }
        Ok(())
    }
}
