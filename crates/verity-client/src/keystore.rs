//! A keystore file: named Ed25519 account keys, JSON, readable only by its owner (0600).
//!
//! ```json
//! { "keys": { "admin": { "account": "admin", "public_key": "…", "seed": "…" } } }
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use verity_types::keys::SecretKey;
use verity_types::{AccountId, PublicKey};

use crate::error::ClientError;

/// One stored key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The account this key signs for (may be set after the account is created).
    pub account: Option<AccountId>,
    pub public_key: PublicKey,
    /// Hex of the 32-byte Ed25519 seed.
    pub seed: String,
}

impl KeyEntry {
    pub fn secret(&self) -> Result<SecretKey, String> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(self.seed.trim(), &mut seed).map_err(|e| format!("bad seed: {e}"))?;
        let key = SecretKey::from_seed(seed);
        if key.public_key() != self.public_key {
            return Err("public key does not match the seed".into());
        }
        Ok(key)
    }
}

/// The keystore file's contents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Keystore {
    pub keys: BTreeMap<String, KeyEntry>,
    #[serde(skip)]
    path: PathBuf,
}

/// A fresh random key from the operating system's generator.
pub fn generate_key() -> SecretKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random generator failed");
    SecretKey::from_seed(seed)
}

impl Keystore {
    fn err(&self, message: impl Into<String>) -> ClientError {
        ClientError::Keystore { path: self.path.display().to_string(), message: message.into() }
    }

    /// Opens a keystore; a missing file is an empty keystore (created on save).
    pub fn open(path: &Path) -> Result<Keystore, ClientError> {
        let mut ks = match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str::<Keystore>(&text)
                .map_err(|e| ClientError::Keystore { path: path.display().to_string(), message: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Keystore::default(),
            Err(e) => return Err(ClientError::Keystore { path: path.display().to_string(), message: e.to_string() }),
        };
        ks.path = path.to_path_buf();
        Ok(ks)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a key under `name`; refuses to replace an existing name.
    pub fn add(&mut self, name: &str, account: Option<AccountId>, key: &SecretKey) -> Result<(), ClientError> {
        if self.keys.contains_key(name) {
            return Err(self.err(format!("a key named {name:?} already exists")));
        }
        self.keys.insert(
            name.to_string(),
            KeyEntry { account, public_key: key.public_key(), seed: hex::encode(key.seed()) },
        );
        Ok(())
    }

    /// Finds a key by name, or by the account it signs for.
    pub fn find(&self, name_or_account: &str) -> Result<(AccountId, SecretKey), ClientError> {
        let entry = self
            .keys
            .get(name_or_account)
            .or_else(|| self.keys.values().find(|k| k.account.as_ref().is_some_and(|a| a.as_str() == name_or_account)))
            .ok_or_else(|| self.err(format!("no key named {name_or_account:?}")))?;
        let account = entry
            .account
            .clone()
            .ok_or_else(|| self.err(format!("key {name_or_account:?} is not bound to an account yet")))?;
        let key = entry.secret().map_err(|m| self.err(m))?;
        Ok((account, key))
    }

    /// Writes the keystore atomically (temp file + rename) with mode 0600.
    pub fn save(&self) -> Result<(), ClientError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| self.err(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| self.err(e.to_string()))?;
        f.write_all(&text).map_err(|e| self.err(e.to_string()))?;
        f.sync_all().map_err(|e| self.err(e.to_string()))?;
        fs::rename(&tmp, &self.path).map_err(|e| self.err(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_open_find_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keystore.json");
        let mut ks = Keystore::open(&path).expect("open");
        let key = generate_key();
        ks.add("admin", Some(AccountId::new("admin").expect("id")), &key).expect("add");
        assert!(ks.add("admin", None, &key).is_err(), "names are unique");
        ks.save().expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = Keystore::open(&path).expect("reopen");
        let (acct, k) = back.find("admin").expect("find");
        assert_eq!(acct.as_str(), "admin");
        assert_eq!(k.public_key(), key.public_key());
        assert!(back.find("nobody").is_err());
    }
}
