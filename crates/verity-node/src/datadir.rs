//! The layout of a node's data directory.
//!
//! ```text
//! DIR/genesis.json     the chain's genesis (JSON)
//! DIR/validator.json   this node's validator key (0600)
//! DIR/keystore.json    account keys created by `verity init` / `verity keys` (0600)
//! DIR/store/           the embedded database (redb)
//! ```
//!
//! Files are written whole and durably: genesis.json through a temporary file, fsync,
//! rename and directory fsync (`verity_client::durable`), so a crash leaves either no
//! genesis or a complete one; key files are created new and fsync'd with their directory.
//!
//! [`init`] creates such a directory for a single-organisation dev network (`verity
//! init`, `verity up`, and the benchmarks and demo of `verity-bench`). It lives here,
//! beside the layout it writes, rather than in the CLI: every front end that needs a
//! network calls this one copy. The keystore it writes is verity-client's, which this
//! crate already depends on for durable writes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use verity_client::keystore::{generate_key, Keystore};
use verity_types::keys::SecretKey;
use verity_types::{
    AccountId, AssetId, Genesis, GenesisAccount, GenesisAsset, GenesisBalance, GenesisOrg, MintRule, OrgId, PublicKey,
    Validator,
};

use crate::error::NodeError;

pub fn genesis_path(dir: &Path) -> PathBuf {
    dir.join("genesis.json")
}
pub fn validator_key_path(dir: &Path) -> PathBuf {
    dir.join("validator.json")
}
pub fn keystore_path(dir: &Path) -> PathBuf {
    dir.join("keystore.json")
}
pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("store")
}

/// A validator key file.
#[derive(Serialize, Deserialize)]
pub struct ValidatorKeyFile {
    pub public_key: PublicKey,
    /// Hex of the 32-byte Ed25519 seed.
    pub seed: String,
}

pub fn read_genesis(dir: &Path) -> Result<Genesis, NodeError> {
    let path = genesis_path(dir);
    let text = fs::read_to_string(&path)
        .map_err(|e| NodeError::DataDir(format!("cannot read {}: {e} (run `verity init` first)", path.display())))?;
    let genesis: Genesis =
        serde_json::from_str(&text).map_err(|e| NodeError::Genesis(format!("{}: {e}", path.display())))?;
    genesis.validate().map_err(|e| NodeError::Genesis(e.to_string()))?;
    Ok(genesis)
}

pub fn read_validator_key(dir: &Path) -> Result<SecretKey, NodeError> {
    let path = validator_key_path(dir);
    let text =
        fs::read_to_string(&path).map_err(|e| NodeError::DataDir(format!("cannot read {}: {e}", path.display())))?;
    let file: ValidatorKeyFile =
        serde_json::from_str(&text).map_err(|e| NodeError::DataDir(format!("{}: {e}", path.display())))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file.seed.trim(), &mut seed)
        .map_err(|e| NodeError::DataDir(format!("{}: bad seed: {e}", path.display())))?;
    let key = SecretKey::from_seed(seed);
    if key.public_key() != file.public_key {
        return Err(NodeError::DataDir(format!("{}: public key does not match the seed", path.display())));
    }
    Ok(key)
}

/// Writes genesis.json atomically and durably (temporary file, fsync, rename, directory
/// fsync): readers and crashes see the old file or the new one, never a partial one.
pub fn write_genesis(dir: &Path, genesis: &Genesis) -> Result<(), NodeError> {
    let path = genesis_path(dir);
    let text = serde_json::to_vec_pretty(genesis).expect("serialising a genesis cannot fail");
    verity_client::durable::write_file(&path, &text, verity_client::durable::MODE_PUBLIC)
        .map_err(|e| NodeError::DataDir(format!("cannot write {}: {e}", path.display())))
}

/// Writes `contents` to a new file readable only by its owner (0600), fsyncs it and its
/// directory. Refuses to overwrite an existing file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), NodeError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| NodeError::DataDir(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(contents)?;
    f.sync_all()?;
    verity_client::durable::sync_parent_dir(path)?;
    Ok(())
}

pub fn write_validator_key(dir: &Path, key: &SecretKey) -> Result<(), NodeError> {
    let file = ValidatorKeyFile { public_key: key.public_key(), seed: hex::encode(key.seed()) };
    let text = serde_json::to_vec_pretty(&file).expect("serialising a key file cannot fail");
    write_private_file(&validator_key_path(dir), &text)
}

/// Initial `credit` balance of each organisation admin of a dev network ([`init`], and
/// `verity testnet`'s admins).
pub const DEV_CREDIT: u128 = 1_000_000_000_000;

/// What [`init`] created.
pub struct Created {
    pub genesis: Genesis,
    pub admin: AccountId,
}

/// Creates a single-organisation dev network in `dir`: genesis.json (organisation `org`
/// with admin account `admin` holding [`DEV_CREDIT`] `credit`, one validator), and
/// validator.json and keystore.json (both 0600, fresh random keys), and governance with
/// the default constitution (stake in `credit`). The chain id is
/// `chain_id` bound to the genesis digest. Refuses to touch a directory that already
/// holds a network; genesis.json is written last, so a directory that has one is
/// complete.
pub fn init(dir: &Path, chain_id: &str, org: &str, admin: &str, genesis_time_ms: u64) -> Result<Created, NodeError> {
    init_with(dir, chain_id, org, admin, genesis_time_ms, None)
}

/// [`init`] with the constitution of the chain's governance (default:
/// [`verity_types::Constitution::new`] with stake in `credit`). Its weights and council
/// may name only the organisation and admin created here.
pub fn init_with(
    dir: &Path,
    chain_id: &str,
    org: &str,
    admin: &str,
    genesis_time_ms: u64,
    constitution: Option<verity_types::Constitution>,
) -> Result<Created, NodeError> {
    for f in [genesis_path(dir), validator_key_path(dir), store_path(dir)] {
        if f.exists() {
            return Err(NodeError::DataDir(format!(
                "{} already exists: refusing to overwrite an existing network",
                f.display()
            )));
        }
    }
    fs::create_dir_all(dir).map_err(|e| NodeError::DataDir(format!("creating {}: {e}", dir.display())))?;
    let genesis_error = |e: verity_types::TypesError| NodeError::Genesis(e.to_string());
    let org = OrgId::new(org).map_err(genesis_error)?;
    let admin_id = AccountId::new(admin).map_err(genesis_error)?;
    let validator_key = generate_key();
    let admin_key = generate_key();
    let credit = AssetId::new("credit").map_err(genesis_error)?;
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
        balances: vec![GenesisBalance { account: admin_id.clone(), asset: credit.clone(), amount: DEV_CREDIT }],
        epoch_length: 0,
        // One vote per organisation, the default rules, stake in credit, unless given.
        governance: Some(constitution.unwrap_or_else(|| verity_types::Constitution::new(credit))),
    };
    genesis.bind_chain_id(chain_id).map_err(genesis_error)?;
    genesis.validate().map_err(genesis_error)?;
    let mut ks = Keystore::open(&keystore_path(dir))?;
    ks.add(admin, Some(admin_id.clone()), &admin_key)?;
    write_validator_key(dir, &validator_key)?;
    ks.save()?;
    // Last, atomically: a genesis.json in the directory means the network is complete.
    write_genesis(dir, &genesis)?;
    Ok(Created { genesis, admin: admin_id })
}

/// Re-executes the ledger of the data directory `dir` from genesis in a scratch store
/// (deleted afterwards) and checks every state root, log root, receipt and certificate
/// against the stored blocks ([`verity_consensus::replay`]). The node must be stopped:
/// the store is opened for the replay.
pub fn replay(dir: &Path) -> Result<verity_consensus::ReplayReport, NodeError> {
    let store = verity_store::Store::open(&store_path(dir))
        .map_err(|e| NodeError::DataDir(format!("opening the store in {}: {e}", dir.display())))?;
    let scratch = tempfile::Builder::new().prefix("verity-replay").tempdir()?;
    Ok(verity_consensus::replay(&store, scratch.path())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `init` writes a complete network that reads back (genesis, validator key, the
    /// admin's key in the keystore), and refuses to run again over it.
    #[test]
    fn init_creates_a_network_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let created = init(dir.path(), "verity-test", "dev", "admin", 7).expect("init");
        let genesis = read_genesis(dir.path()).expect("genesis reads back");
        assert_eq!(genesis.hash(), created.genesis.hash());
        assert!(genesis.chain_id.starts_with("verity-test-"), "{}", genesis.chain_id);
        assert_eq!(genesis.genesis_time_ms, 7);
        assert_eq!(genesis.balances[0].amount, DEV_CREDIT);
        let validator = read_validator_key(dir.path()).expect("validator key reads back");
        assert_eq!(genesis.validators[0].public_key, validator.public_key());
        let ks = Keystore::open(&keystore_path(dir.path())).expect("keystore");
        let (account, key) = ks.find("admin").expect("admin key");
        assert_eq!(account, created.admin);
        assert_eq!(genesis.orgs[0].admins[0].public_key, key.public_key());

        let again = init(dir.path(), "verity-test", "dev", "admin", 7).err().map(|e| e.to_string());
        assert!(again.as_deref().is_some_and(|e| e.contains("refusing to overwrite")), "{again:?}");
    }
}
