//! `verity init`: a single-organisation dev network.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use verity_client::keystore::{generate_key, Keystore};
use verity_node::datadir;
use verity_types::{
    AccountId, AssetId, Genesis, GenesisAccount, GenesisAsset, GenesisBalance, GenesisOrg, MintRule, OrgId, Validator,
};

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    pub data_dir: std::path::PathBuf,
    /// Label of the new network's chain id: the id is LABEL-<16 hex digits of the genesis
    /// digest>, so no two networks share one.
    #[arg(long, default_value = "verity-dev")]
    pub chain_id: String,
    /// The organisation's id.
    #[arg(long, default_value = "dev")]
    pub org: String,
    /// The admin account's id (its key goes into DATA_DIR/keystore.json).
    #[arg(long, default_value = "admin")]
    pub admin: String,
}

/// Initial `credit` balance of the admin account.
pub const DEV_CREDIT: u128 = 1_000_000_000_000;

/// What `init` created.
pub struct Created {
    pub genesis: Genesis,
    pub admin: AccountId,
}

/// Creates genesis.json, validator.json and keystore.json (both 0600). Refuses to touch
/// a directory that already holds a network.
pub fn init(dir: &Path, chain_id: &str, org: &str, admin: &str, genesis_time_ms: u64) -> Result<Created> {
    for f in [datadir::genesis_path(dir), datadir::validator_key_path(dir), datadir::store_path(dir)] {
        if f.exists() {
            bail!("{} already exists: refusing to overwrite an existing network", f.display());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let org = OrgId::new(org)?;
    let admin_id = AccountId::new(admin)?;
    let validator_key = generate_key();
    let admin_key = generate_key();
    let credit = AssetId::new("credit")?;
    let mut genesis = Genesis {
        chain_id: chain_id.to_string(),
        genesis_time_ms,
        orgs: vec![GenesisOrg {
            id: org.clone(),
            name: format!("{org} (development organisation)"),
            admins: vec![GenesisAccount { id: admin_id.clone(), public_key: admin_key.public_key() }],
        }],
        validators: vec![Validator { org: org.clone(), public_key: validator_key.public_key(), power: 1 }],
        assets: vec![GenesisAsset { id: credit.clone(), mint: MintRule::Orgs { orgs: vec![org] }, supply_cap: None }],
        balances: vec![GenesisBalance { account: admin_id.clone(), asset: credit, amount: DEV_CREDIT }],
        epoch_length: 0,
    };
    genesis.bind_chain_id(chain_id)?;
    genesis.validate()?;
    let keystore_path = datadir::keystore_path(dir);
    let mut ks = Keystore::open(&keystore_path)?;
    ks.add(admin, Some(admin_id.clone()), &admin_key)?;
    datadir::write_validator_key(dir, &validator_key)?;
    ks.save()?;
    // Last, atomically: a genesis.json in the directory means the network is complete.
    datadir::write_genesis(dir, &genesis)?;
    Ok(Created { genesis, admin: admin_id })
}
