//! Genesis files for tests: a builder, and the two shapes most tests use.

use verity_types::{Genesis, GenesisAccount, GenesisAsset, GenesisBalance, GenesisOrg, MintRule, Validator};

use crate::{acc, asset, org, pk};

/// Builds a genesis file from plain names; every account and validator is keyed by its
/// name's deterministic key ([`crate::secret`]).
#[derive(Clone, Debug)]
pub struct GenesisBuilder {
    genesis: Genesis,
}

impl GenesisBuilder {
    /// An empty genesis (no organisations, validators, assets or balances) for `chain_id`,
    /// at time 0, without epochs.
    pub fn new(chain_id: &str) -> Self {
        GenesisBuilder {
            genesis: Genesis {
                chain_id: chain_id.into(),
                genesis_time_ms: 0,
                orgs: vec![],
                validators: vec![],
                assets: vec![],
                balances: vec![],
                epoch_length: 0,
                governance: None,
            },
        }
    }

    /// Adds organisation `id` (display name `name`) with `admins`.
    pub fn org(mut self, id: &str, name: &str, admins: &[&str]) -> Self {
        self.genesis.orgs.push(GenesisOrg {
            id: org(id),
            name: name.into(),
            admins: admins.iter().map(|a| GenesisAccount { id: acc(a), public_key: pk(a) }).collect(),
        });
        self
    }

    /// Adds validator `key_name` (keyed by that name) of organisation `o`, with power 1.
    pub fn validator(mut self, o: &str, key_name: &str) -> Self {
        self.genesis.validators.push(Validator { org: org(o), public_key: pk(key_name), power: 1 });
        self
    }

    /// Adds asset `id` with its mint rule and supply cap.
    pub fn asset(mut self, id: &str, mint: MintRule, supply_cap: Option<u128>) -> Self {
        self.genesis.assets.push(GenesisAsset { id: asset(id), mint, supply_cap });
        self
    }

    /// Gives `account` `amount` of asset `a` at genesis.
    pub fn balance(mut self, account: &str, a: &str, amount: u128) -> Self {
        self.genesis.balances.push(GenesisBalance { account: acc(account), asset: asset(a), amount });
        self
    }

    /// Sets the epoch length (0: no epochs).
    pub fn epoch_length(mut self, heights: u64) -> Self {
        self.genesis.epoch_length = heights;
        self
    }

    /// Gives the chain a constitution (governance on).
    pub fn governance(mut self, constitution: verity_types::Constitution) -> Self {
        self.genesis.governance = Some(constitution);
        self
    }

    pub fn build(self) -> Genesis {
        self.genesis
    }
}

/// One organisation `o` with admin `admin`, one validator `validator`, and a fixed asset
/// `usd` of which `admin` holds 1,000.
pub fn one_org(chain_id: &str) -> Genesis {
    GenesisBuilder::new(chain_id)
        .org("o", "O", &["admin"])
        .validator("o", "validator")
        .asset("usd", MintRule::Fixed, None)
        .balance("admin", "usd", 1_000)
        .build()
}

/// `n` organisations `org0..`, each with admins `admin{i}` and `watch{i}` (who signs its
/// validator's evidence reports) and validator `validator{i}`; a fixed asset `usd` of
/// which every `admin{i}` holds 1,000,000.
pub fn consortium(chain_id: &str, n: usize) -> Genesis {
    let mut b = GenesisBuilder::new(chain_id);
    for i in 0..n {
        b = b.org(&format!("org{i}"), &format!("Org {i}"), &[&format!("admin{i}"), &format!("watch{i}")]);
    }
    for i in 0..n {
        b = b.validator(&format!("org{i}"), &format!("validator{i}"));
    }
    b = b.asset("usd", MintRule::Fixed, None);
    for i in 0..n {
        b = b.balance(&format!("admin{i}"), "usd", 1_000_000);
    }
    b.build()
}
