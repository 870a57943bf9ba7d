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

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use verity_types::keys::SecretKey;
use verity_types::{Genesis, PublicKey};

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
