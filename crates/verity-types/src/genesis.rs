//! The genesis file: chain id, organisations with their admin accounts, validators,
//! assets with their mint rules, and initial balances. Read as JSON at the edge; hashed
//! in canonical form.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::block::{Validator, ValidatorSet};
use crate::encoding::encode;
use crate::error::TypesError;
use crate::governance::Constitution;
use crate::hash::{sha256_parts, Hash};
use crate::ids::{AccountId, AssetId, OrgId};
use crate::keys::PublicKey;
use crate::limits::GENESIS_ENTRIES_MAX;

/// An organisation of the consortium and its first admin accounts.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisOrg {
    pub id: OrgId,
    pub name: String,
    pub admins: Vec<GenesisAccount>,
}

/// An account that exists from genesis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisAccount {
    pub id: AccountId,
    pub public_key: PublicKey,
}

/// Who may mint an asset.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MintRule {
    /// Supply is fixed at genesis.
    Fixed,
    /// Accounts with the `minter` role in one of these organisations may mint.
    Orgs { orgs: Vec<OrgId> },
}

/// An asset and its supply rules.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisAsset {
    pub id: AssetId,
    pub mint: MintRule,
    /// Total supply may never exceed this, if set.
    #[serde(with = "crate::amount::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::Amount>))]
    pub supply_cap: Option<u128>,
}

/// An initial balance.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisBalance {
    pub account: AccountId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

/// The genesis of a chain.
///
/// Its canonical encoding is the borsh encoding of its fields in order, except that
/// `governance` adds nothing when absent and `1` followed by the constitution when
/// present, so a genesis without governance keeps the hash (and chain id) it had before
/// governance existed. Because the section is optional at the end, a genesis is only
/// ever encoded on its own (never followed by other fields in one encoding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The consortium's constitution; without it the chain has no governance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<Constitution>,
}

impl BorshDeserialize for Genesis {
    fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
        let chain_id = String::deserialize_reader(r)?;
        let genesis_time_ms = u64::deserialize_reader(r)?;
        let orgs = Vec::deserialize_reader(r)?;
        let validators = Vec::deserialize_reader(r)?;
        let assets = Vec::deserialize_reader(r)?;
        let balances = Vec::deserialize_reader(r)?;
        let epoch_length = u64::deserialize_reader(r)?;
        let mut tag = [0u8; 1];
        let governance = match r.read(&mut tag)? {
            0 => None,
            _ if tag[0] == 1 => Some(Constitution::deserialize_reader(r)?),
            _ => {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "unknown genesis section tag"));
            }
        };
        Ok(Genesis { chain_id, genesis_time_ms, orgs, validators, assets, balances, epoch_length, governance })
    }
}

impl BorshSerialize for Genesis {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let Genesis { chain_id, genesis_time_ms, orgs, validators, assets, balances, epoch_length, governance } = self;
        BorshSerialize::serialize(chain_id, w)?;
        BorshSerialize::serialize(genesis_time_ms, w)?;
        BorshSerialize::serialize(orgs, w)?;
        BorshSerialize::serialize(validators, w)?;
        BorshSerialize::serialize(assets, w)?;
        BorshSerialize::serialize(balances, w)?;
        BorshSerialize::serialize(epoch_length, w)?;
        if let Some(c) = governance {
            BorshSerialize::serialize(&1u8, w)?;
            BorshSerialize::serialize(c, w)?;
        }
        Ok(())
    }
}

/// Domain separator of a bound chain id's digest.
pub const CHAIN_ID_DOMAIN: &[u8] = b"verity/chain-id/v1\0";
/// Longest label of a bound chain id (the id is at most 64 bytes: label, `-`, 16 digits).
pub const CHAIN_LABEL_MAX: usize = 47;

impl Genesis {
    /// Hash of the canonical encoding; the parent of block 1.
    pub fn hash(&self) -> Hash {
        sha256_parts(&[b"verity/genesis/v1\0", &encode(self)])
    }

    /// The chain id `label-<16 hex digits>` bound to this genesis: the digits are the
    /// first 8 bytes of SHA-256 over a domain and this genesis with `label` as its chain
    /// id, so two chains built from different genesis files (another key, another
    /// timestamp) never share a chain id, and a transaction or vote signed for one is
    /// never valid on the other, even under the same keys. `verity init` and `verity
    /// testnet` give every chain such an id.
    pub fn bound_chain_id(&self, label: &str) -> String {
        let mut g = self.clone();
        g.chain_id = label.to_string();
        let digest = sha256_parts(&[CHAIN_ID_DOMAIN, &encode(&g)]);
        format!("{label}-{}", hex::encode(&digest.as_bytes()[..8]))
    }

    /// Sets the chain id to [`Self::bound_chain_id`] of `label`.
    pub fn bind_chain_id(&mut self, label: &str) -> Result<(), TypesError> {
        if label.is_empty() || label.len() > CHAIN_LABEL_MAX {
            return Err(TypesError::InvalidField {
                field: "chain_id",
                reason: format!("a chain label must be 1 to {CHAIN_LABEL_MAX} bytes"),
            });
        }
        self.chain_id = self.bound_chain_id(label);
        Ok(())
    }

    /// Whether the chain id is bound to this genesis (see [`Self::bound_chain_id`]).
    /// Chains created before ids were bound (plain `verity-dev`) are not.
    pub fn chain_id_is_bound(&self) -> bool {
        match self.chain_id.rsplit_once('-') {
            Some((label, _)) if !label.is_empty() => self.bound_chain_id(label) == self.chain_id,
            _ => false,
        }
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
        if let Some(c) = &self.governance {
            c.validate()?;
            if !assets.contains(&c.stake_asset) {
                return Err(field("governance", format!("stake asset {} is not a genesis asset", c.stake_asset)));
            }
            for w in &c.weights {
                if !orgs.contains(&w.org) {
                    return Err(field("governance", format!("weighed org {} is not a genesis org", w.org)));
                }
            }
            for r in &c.rules {
                if r.ratifications as usize > self.orgs.len() {
                    return Err(field(
                        "governance",
                        format!(
                            "{} proposals need {} ratifications, one per organisation, of {} organisations",
                            r.kind.name(),
                            r.ratifications,
                            self.orgs.len()
                        ),
                    ));
                }
            }
            for a in &c.council {
                if !accounts.contains(a) {
                    return Err(field("governance", format!("council member {a} is not a genesis account")));
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

#[cfg(test)]
mod chain_id_tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::{OrgId, Validator};

    fn genesis(seed: u8, time: u64) -> Genesis {
        let org = OrgId::new("o").expect("id");
        Genesis {
            chain_id: "x".into(),
            genesis_time_ms: time,
            orgs: vec![GenesisOrg { id: org.clone(), name: "o".into(), admins: vec![] }],
            validators: vec![Validator { org, public_key: SecretKey::from_seed([seed; 32]).public_key(), power: 1 }],
            assets: vec![],
            balances: vec![],
            epoch_length: 0,
            governance: None,
        }
    }

    #[test]
    fn bound_chain_ids_differ_per_genesis_and_are_checked() {
        let mut a = genesis(1, 0);
        a.bind_chain_id("verity-dev").expect("bind");
        assert!(a.chain_id.starts_with("verity-dev-") && a.chain_id.len() == "verity-dev-".len() + 16);
        assert!(a.chain_id_is_bound());
        a.validate().expect("a bound id is a valid id");
        // Another key or another time: another id, so nothing signed for one chain is
        // valid on the other.
        let mut b = genesis(2, 0);
        b.bind_chain_id("verity-dev").expect("bind");
        let mut c = genesis(1, 1);
        c.bind_chain_id("verity-dev").expect("bind");
        assert_ne!(a.chain_id, b.chain_id);
        assert_ne!(a.chain_id, c.chain_id);
        // The same genesis binds to the same id (deterministic).
        // The encoding round-trips with and without a constitution, and a genesis without
        // one encodes exactly its fields before governance existed.
        let mut governed = a.clone();
        governed.governance = Some(Constitution::new(crate::AssetId::new("usd").expect("id")));
        for g in [&a, &governed] {
            let bytes = crate::encoding::encode(g);
            assert_eq!(&borsh::from_slice::<Genesis>(&bytes).expect("decode"), g);
        }
        let legacy = (&a.chain_id, a.genesis_time_ms, &a.orgs, &a.validators, &a.assets, &a.balances, a.epoch_length);
        assert_eq!(crate::encoding::encode(&a), borsh::to_vec(&legacy).expect("encode"));
        assert_ne!(governed.hash(), a.hash());
        let mut again = genesis(1, 0);
        again.bind_chain_id("verity-dev").expect("bind");
        assert_eq!(again.chain_id, a.chain_id);
        // Any edit after binding, or an unbound legacy id, is not bound.
        let mut edited = a.clone();
        edited.genesis_time_ms = 5;
        assert!(!edited.chain_id_is_bound());
        let mut legacy = genesis(1, 0);
        legacy.chain_id = "verity-dev".into();
        assert!(!legacy.chain_id_is_bound());
        assert!(genesis(1, 0).bind_chain_id(&"l".repeat(CHAIN_LABEL_MAX + 1)).is_err());
    }
}
