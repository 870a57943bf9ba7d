//! A keystore file: named Ed25519 account keys, JSON, readable only by its owner (0600),
//! optionally encrypted under a passphrase.
//!
//! Two format versions exist. Version 1 (a file without a `version` field is version 1)
//! stores each seed in plain hex:
//!
//! ```json
//! { "version": 1, "keys": { "admin": { "account": "admin", "public_key": "…", "seed": "…" } } }
//! ```
//!
//! Version 2 is encrypted: one header names the key derivation (Argon2id, with its
//! parameters and a random salt) and holds a sealed check value, and each key keeps its
//! name, account and public key in the clear (so `keys list` and lookups by account need
//! no passphrase) with its seed sealed by XChaCha20-Poly1305 under its own random nonce:
//!
//! ```json
//! { "version": 2,
//!   "encryption": { "kdf": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 1,
//!                   "salt": "…", "cipher": "xchacha20poly1305", "check_nonce": "…", "check": "…" },
//!   "keys": { "admin": { "account": "admin", "public_key": "…", "nonce": "…", "ciphertext": "…" } } }
//! ```
//!
//! The passphrase and the salt give, through Argon2id, one 256-bit key for the file. The
//! check value (a fixed text sealed under that key) tells a wrong passphrase
//! ([`KeystoreError::WrongPassphrase`]) from an altered key entry
//! ([`KeystoreError::Tampered`]). Each seed's associated data is the key's name and
//! public key, so a ciphertext moved to another name does not open. The KDF parameters
//! are read from the file (bounded by the `KDF_*_MAX` constants, so a hostile file cannot
//! make us allocate without limit); new files get [`KDF_PARAMS`].
//!
//! A keystore is only written by [`Keystore::save`], atomically (see [`crate::durable`]);
//! every failing operation leaves the file as it was. Secrets held in memory (seeds,
//! derived key, passphrase) are wiped on drop (`zeroize`); copies made by the JSON
//! encoder's buffers are wiped where we own them, which is best effort.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use serde::{Deserialize, Serialize};
use verity_types::keys::SecretKey;
use verity_types::{AccountId, PublicKey};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::durable;
use crate::error::{ClientError, KeystoreError};

/// The plaintext format (seeds in hex); what a file without a version is.
pub const FORMAT_PLAINTEXT: u32 = 1;
/// The encrypted format (Argon2id + XChaCha20-Poly1305).
pub const FORMAT_ENCRYPTED: u32 = 2;
/// The newest format this program reads.
pub const FORMAT_NEWEST: u32 = FORMAT_ENCRYPTED;

/// The environment variable a passphrase may come from (never a command-line argument:
/// those are visible to every user through `ps`).
pub const PASSPHRASE_ENV: &str = "VERITY_KEYSTORE_PASSPHRASE";

/// Largest keystore file read: about 40,000 keys, far more than any operator holds.
pub const KEYSTORE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Largest passphrase file read.
pub const PASSPHRASE_BYTES_MAX: u64 = 4096;

/// Argon2id cost parameters, stored in an encrypted keystore's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB (at least 8 per lane).
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Parallel lanes (computed one after another: the argon2 crate is built without threads).
    pub lanes: u32,
}

/// The parameters new encrypted keystores get: 64 MiB, 3 passes, 1 lane (RFC 9106's
/// second recommended option, with one lane). About a quarter of a second here, once per
/// command that signs.
pub const KDF_PARAMS: KdfParams = KdfParams { memory_kib: 64 * 1024, iterations: 3, lanes: 1 };
/// Bounds on parameters read from a file: 1 GiB of memory, 64 passes, 16 lanes.
pub const KDF_MEMORY_KIB_MAX: u32 = 1024 * 1024;
pub const KDF_ITERATIONS_MAX: u32 = 64;
pub const KDF_LANES_MAX: u32 = 16;
const _: () = assert!(KDF_PARAMS.memory_kib <= KDF_MEMORY_KIB_MAX);
const _: () = assert!(KDF_PARAMS.memory_kib >= 8 * KDF_PARAMS.lanes);
const _: () = assert!(KDF_PARAMS.iterations >= 1 && KDF_PARAMS.iterations <= KDF_ITERATIONS_MAX);
const _: () = assert!(KDF_PARAMS.lanes >= 1 && KDF_PARAMS.lanes <= KDF_LANES_MAX);

impl KdfParams {
    /// Checks the parameters against Argon2's own rules and our bounds.
    pub fn check(&self) -> Result<(), KeystoreError> {
        let bad = |m: String| Err(KeystoreError::KdfParams(m));
        if !(1..=KDF_LANES_MAX).contains(&self.lanes) {
            return bad(format!("lanes {} not in 1..={KDF_LANES_MAX}", self.lanes));
        }
        if !(1..=KDF_ITERATIONS_MAX).contains(&self.iterations) {
            return bad(format!("iterations {} not in 1..={KDF_ITERATIONS_MAX}", self.iterations));
        }
        let memory_min = 8 * self.lanes;
        if !(memory_min..=KDF_MEMORY_KIB_MAX).contains(&self.memory_kib) {
            return bad(format!("memory_kib {} not in {memory_min}..={KDF_MEMORY_KIB_MAX}", self.memory_kib));
        }
        Ok(())
    }
}

const KDF_NAME: &str = "argon2id";
const CIPHER_NAME: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SEED_LEN: usize = 32;
/// What the header's check value seals; its associated data names its purpose.
const CHECK_PLAINTEXT: &[u8] = b"verity keystore passphrase check";
const CHECK_AAD: &[u8] = b"verity-keystore/2/check";
const ENTRY_AAD_PREFIX: &[u8] = b"verity-keystore/2/key";

/// A passphrase, wiped from memory when dropped. Comes from [`PASSPHRASE_ENV`] or a file.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

// The only field is `Zeroizing`, which wipes the string on drop.
impl ZeroizeOnDrop for Passphrase {}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl Passphrase {
    /// A passphrase from text; an empty one is refused.
    pub fn new(text: impl Into<String>) -> Result<Passphrase, KeystoreError> {
        let text = Zeroizing::new(text.into());
        if text.is_empty() {
            return Err(KeystoreError::Passphrase("the passphrase is empty".into()));
        }
        Ok(Passphrase(text))
    }

    /// Reads a passphrase file: its whole contents, less one trailing newline.
    pub fn from_file(path: &Path) -> Result<Passphrase, KeystoreError> {
        let err = |m: String| KeystoreError::Passphrase(format!("{}: {m}", path.display()));
        let file = fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(PASSPHRASE_BYTES_MAX + 1).read_to_end(&mut bytes).map_err(|e| err(e.to_string()))?;
        if bytes.len() as u64 > PASSPHRASE_BYTES_MAX {
            return Err(err(format!("longer than {PASSPHRASE_BYTES_MAX} bytes")));
        }
        let mut text =
            Zeroizing::new(String::from_utf8(std::mem::take(&mut *bytes)).map_err(|_| err("not UTF-8 text".into()))?);
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        Passphrase::new(std::mem::take(&mut *text)).map_err(|_| err("the passphrase is empty".into()))
    }

    /// The passphrase in [`PASSPHRASE_ENV`], if it is set and not empty.
    pub fn from_env() -> Result<Option<Passphrase>, KeystoreError> {
        match std::env::var(PASSPHRASE_ENV) {
            Ok(text) if text.is_empty() => Ok(None),
            Ok(text) => Passphrase::new(text).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(KeystoreError::Passphrase(format!("{PASSPHRASE_ENV} is not valid UTF-8")))
            }
        }
    }

    /// The passphrase from `file` if given, else from the environment.
    pub fn resolve(file: Option<&Path>) -> Result<Option<Passphrase>, KeystoreError> {
        match file {
            Some(path) => Passphrase::from_file(path).map(Some),
            None => Passphrase::from_env(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Something about a keystore its user should fix, found when it was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeystoreWarning {
    /// The file's mode lets its group or other users read it.
    ReadableByOthers { path: PathBuf, mode: u32 },
}

impl fmt::Display for KeystoreWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeystoreWarning::ReadableByOthers { path, mode } => write!(
                f,
                "keystore {p} is readable by other users (mode {mode:03o}); restrict it with `chmod 600 {p}`",
                p = path.display()
            ),
        }
    }
}

/// A key's secret as held in memory.
#[derive(Clone)]
enum Secret {
    /// The seed itself (plaintext keystore).
    Plain(Zeroizing<[u8; SEED_LEN]>),
    /// The seed sealed under the keystore's derived key (encrypted keystore).
    Sealed { nonce: [u8; NONCE_LEN], ciphertext: Vec<u8> },
}

/// One stored key.
#[derive(Clone)]
pub struct KeyEntry {
    /// The account this key signs for (may be set after the account is created).
    pub account: Option<AccountId>,
    pub public_key: PublicKey,
    secret: Secret,
}

impl KeyEntry {
    /// Whether the seed is stored encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.secret, Secret::Sealed { .. })
    }
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("account", &self.account)
            .field("public_key", &self.public_key)
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

/// The file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeystoreFile {
    #[serde(default = "format_plaintext")]
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<EncryptionFile>,
    keys: BTreeMap<String, EntryFile>,
}

fn format_plaintext() -> u32 {
    FORMAT_PLAINTEXT
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptionFile {
    kdf: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
    cipher: String,
    check_nonce: String,
    check: String,
}

#[derive(Serialize, Deserialize)]
struct EntryFile {
    account: Option<AccountId>,
    public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ciphertext: Option<String>,
}

/// An encrypted keystore's header, parsed.
#[derive(Clone)]
struct Encryption {
    params: KdfParams,
    salt: [u8; SALT_LEN],
    check_nonce: [u8; NONCE_LEN],
    check: Vec<u8>,
}

/// A keystore: its keys, and for an encrypted one its header and passphrase.
#[derive(Clone, Default)]
pub struct Keystore {
    pub keys: BTreeMap<String, KeyEntry>,
    path: PathBuf,
    encryption: Option<Encryption>,
    passphrase: Option<Passphrase>,
    /// The key derived from the passphrase, once it opened the check value.
    unlocked: OnceLock<Zeroizing<[u8; 32]>>,
    warnings: Vec<KeystoreWarning>,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("keys", &self.keys)
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

// Everything that holds a secret is wiped on drop.
const _: () = {
    fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
    let _ = zeroize_on_drop::<SecretKey>;
    let _ = zeroize_on_drop::<Passphrase>;
    let _ = zeroize_on_drop::<Zeroizing<[u8; SEED_LEN]>>;
};

/// A fresh random key from the operating system's generator.
pub fn generate_key() -> SecretKey {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    getrandom::fill(&mut *seed).expect("the operating system's random generator failed");
    SecretKey::from_seed(*seed)
}

fn random<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| KeystoreError::Io(format!("the random generator failed: {e}")))?;
    Ok(out)
}

fn hex_array<const N: usize>(what: &str, text: &str) -> Result<[u8; N], KeystoreError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text.trim(), &mut out)
        .map_err(|e| KeystoreError::Format(format!("{what}: expected {} hex digits: {e}", 2 * N)))?;
    Ok(out)
}

/// Argon2id of the passphrase and salt: the keystore's 256-bit key.
fn derive_key(
    passphrase: &Passphrase,
    params: &KdfParams,
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    params.check()?;
    let argon_params = argon2::Params::new(params.memory_kib, params.iterations, params.lanes, Some(32))
        .map_err(|e| KeystoreError::KdfParams(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
        .map_err(|e| KeystoreError::KdfParams(e.to_string()))?;
    Ok(key)
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

/// Seals `plaintext` under `key` with a fresh random nonce.
fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<([u8; NONCE_LEN], Vec<u8>), KeystoreError> {
    let nonce = random::<NONCE_LEN>()?;
    let ciphertext = cipher(key)
        .encrypt(&nonce.into(), Payload { msg: plaintext, aad })
        .map_err(|_| KeystoreError::Io("encryption failed".into()))?;
    Ok((nonce, ciphertext))
}

/// Opens a sealed value; `None` if it does not authenticate.
fn unseal(key: &[u8; 32], nonce: &[u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    cipher(key).decrypt(nonce.into(), Payload { msg: ciphertext, aad }).ok().map(Zeroizing::new)
}

/// A seed's associated data: its purpose, name and public key.
fn entry_aad(name: &str, public_key: &PublicKey) -> Vec<u8> {
    let mut aad = Vec::with_capacity(ENTRY_AAD_PREFIX.len() + 8 + name.len() + 32);
    aad.extend_from_slice(ENTRY_AAD_PREFIX);
    aad.extend_from_slice(&(name.len() as u64).to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(&public_key.0);
    aad
}

/// The secret key of `seed`, if it matches `public_key`.
fn key_of(name: &str, seed: &[u8; SEED_LEN], public_key: &PublicKey) -> Result<SecretKey, KeystoreError> {
    let key = SecretKey::from_seed(*seed);
    if key.public_key() != *public_key {
        return Err(KeystoreError::SeedMismatch(name.to_string()));
    }
    Ok(key)
}

impl Keystore {
    fn err(&self, error: KeystoreError) -> ClientError {
        ClientError::Keystore { path: self.path.display().to_string(), error }
    }

    /// Opens a keystore without a passphrase: a plaintext keystore works fully, an
    /// encrypted one lists its keys but refuses to sign ([`KeystoreError::PassphraseRequired`]).
    /// A missing file is an empty keystore (created on save).
    pub fn open(path: &Path) -> Result<Keystore, ClientError> {
        Keystore::open_with(path, None)
    }

    /// Opens a keystore, with the passphrase an encrypted one needs to sign. The
    /// passphrase is only checked when a secret is first needed.
    pub fn open_with(path: &Path, passphrase: Option<Passphrase>) -> Result<Keystore, ClientError> {
        let mut ks = Keystore { path: path.to_path_buf(), passphrase, ..Keystore::default() };
        let file = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ks),
            Err(e) => return Err(ks.err(KeystoreError::Io(e.to_string()))),
        };
        let meta = file.metadata().map_err(|e| ks.err(KeystoreError::Io(e.to_string())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                ks.warnings.push(KeystoreWarning::ReadableByOthers { path: path.to_path_buf(), mode });
            }
        }
        if meta.len() > KEYSTORE_BYTES_MAX {
            return Err(ks.err(KeystoreError::Format(format!("larger than {KEYSTORE_BYTES_MAX} bytes"))));
        }
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(KEYSTORE_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ks.err(KeystoreError::Io(e.to_string())))?;
        if bytes.len() as u64 > KEYSTORE_BYTES_MAX {
            return Err(ks.err(KeystoreError::Format(format!("larger than {KEYSTORE_BYTES_MAX} bytes"))));
        }
        let parsed: KeystoreFile =
            serde_json::from_slice(&bytes).map_err(|e| ks.err(KeystoreError::Format(e.to_string())))?;
        ks.load(parsed).map_err(|e| ks.err(e))?;
        Ok(ks)
    }

    /// Checks the parsed file's shape and takes its contents.
    fn load(&mut self, file: KeystoreFile) -> Result<(), KeystoreError> {
        let encrypted = match file.version {
            FORMAT_PLAINTEXT => false,
            FORMAT_ENCRYPTED => true,
            0 => return Err(KeystoreError::Format("version 0 does not exist".into())),
            found => return Err(KeystoreError::UnsupportedVersion { found, supported: FORMAT_NEWEST }),
        };
        self.encryption = match (encrypted, file.encryption) {
            (false, None) => None,
            (false, Some(_)) => {
                return Err(KeystoreError::Format("a version 1 keystore has no encryption header".into()))
            }
            (true, None) => {
                return Err(KeystoreError::Format("a version 2 keystore needs its encryption header".into()))
            }
            (true, Some(h)) => {
                if h.kdf != KDF_NAME {
                    return Err(KeystoreError::Format(format!("unknown kdf {:?} (expected {KDF_NAME})", h.kdf)));
                }
                if h.cipher != CIPHER_NAME {
                    return Err(KeystoreError::Format(format!(
                        "unknown cipher {:?} (expected {CIPHER_NAME})",
                        h.cipher
                    )));
                }
                h.params.check()?;
                let check = hex::decode(h.check.trim()).map_err(|e| KeystoreError::Format(format!("check: {e}")))?;
                Some(Encryption {
                    params: h.params,
                    salt: hex_array("salt", &h.salt)?,
                    check_nonce: hex_array("check_nonce", &h.check_nonce)?,
                    check,
                })
            }
        };
        for (name, entry) in file.keys {
            let secret = match (encrypted, entry.seed, entry.nonce, entry.ciphertext) {
                (false, Some(seed), None, None) => Secret::Plain(Zeroizing::new(
                    hex_array(&format!("key {name:?}: seed"), &seed)
                        .map_err(|_| KeystoreError::Format(format!("key {name:?}: the seed is not 64 hex digits")))?,
                )),
                (true, None, Some(nonce), Some(ciphertext)) => {
                    let ciphertext = hex::decode(ciphertext.trim())
                        .map_err(|e| KeystoreError::Format(format!("key {name:?}: ciphertext: {e}")))?;
                    if ciphertext.len() != SEED_LEN + TAG_LEN {
                        return Err(KeystoreError::Format(format!(
                            "key {name:?}: ciphertext is {} bytes, expected {}",
                            ciphertext.len(),
                            SEED_LEN + TAG_LEN
                        )));
                    }
                    Secret::Sealed { nonce: hex_array(&format!("key {name:?}: nonce"), &nonce)?, ciphertext }
                }
                (false, ..) => {
                    return Err(KeystoreError::Format(format!(
                        "key {name:?}: a version 1 keystore stores exactly a seed per key"
                    )))
                }
                (true, ..) => {
                    return Err(KeystoreError::Format(format!(
                        "key {name:?}: a version 2 keystore stores exactly a nonce and a ciphertext per key"
                    )))
                }
            };
            self.keys.insert(name, KeyEntry { account: entry.account, public_key: entry.public_key, secret });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the keys are stored encrypted under a passphrase.
    pub fn is_encrypted(&self) -> bool {
        self.encryption.is_some()
    }

    /// What was wrong with the file when it was opened (the CLI prints these).
    pub fn warnings(&self) -> &[KeystoreWarning] {
        &self.warnings
    }

    /// The derived key of an encrypted keystore, checked against the header's check
    /// value; computed once (Argon2id is deliberately slow).
    fn unlock(&self) -> Result<&[u8; 32], KeystoreError> {
        if let Some(key) = self.unlocked.get() {
            return Ok(key);
        }
        let enc = self.encryption.as_ref().ok_or(KeystoreError::NotEncrypted)?;
        let passphrase = self.passphrase.as_ref().ok_or(KeystoreError::PassphraseRequired)?;
        let key = derive_key(passphrase, &enc.params, &enc.salt)?;
        match unseal(&key, &enc.check_nonce, CHECK_AAD, &enc.check) {
            Some(text) if text.as_slice() == CHECK_PLAINTEXT => {}
            _ => return Err(KeystoreError::WrongPassphrase),
        }
        Ok(self.unlocked.get_or_init(|| key))
    }

    /// The secret key of the entry `name`.
    fn secret_of(&self, name: &str, entry: &KeyEntry) -> Result<SecretKey, KeystoreError> {
        match &entry.secret {
            Secret::Plain(seed) => key_of(name, seed, &entry.public_key),
            Secret::Sealed { nonce, ciphertext } => {
                let key = self.unlock()?;
                let seed = unseal(key, nonce, &entry_aad(name, &entry.public_key), ciphertext)
                    .ok_or_else(|| KeystoreError::Tampered(name.to_string()))?;
                let seed: Zeroizing<[u8; SEED_LEN]> =
                    Zeroizing::new(seed.as_slice().try_into().map_err(|_| KeystoreError::Tampered(name.to_string()))?);
                key_of(name, &seed, &entry.public_key)
            }
        }
    }

    /// Adds a key under `name`; refuses to replace an existing name. In an encrypted
    /// keystore the passphrase must be given (and right): the seed is stored sealed.
    pub fn add(&mut self, name: &str, account: Option<AccountId>, key: &SecretKey) -> Result<(), ClientError> {
        if self.keys.contains_key(name) {
            return Err(self.err(KeystoreError::DuplicateName(name.to_string())));
        }
        let seed = Zeroizing::new(key.seed());
        let public_key = key.public_key();
        let secret = if self.is_encrypted() {
            let derived = self.unlock().map_err(|e| self.err(e))?;
            let (nonce, ciphertext) =
                seal(derived, &entry_aad(name, &public_key), seed.as_slice()).map_err(|e| self.err(e))?;
            Secret::Sealed { nonce, ciphertext }
        } else {
            Secret::Plain(seed)
        };
        self.keys.insert(name.to_string(), KeyEntry { account, public_key, secret });
        Ok(())
    }

    /// Finds a key by name, or by the account it signs for.
    pub fn find(&self, name_or_account: &str) -> Result<(AccountId, SecretKey), ClientError> {
        let (name, entry) = self
            .keys
            .get_key_value(name_or_account)
            .or_else(|| {
                self.keys.iter().find(|(_, k)| k.account.as_ref().is_some_and(|a| a.as_str() == name_or_account))
            })
            .ok_or_else(|| self.err(KeystoreError::NoSuchKey(name_or_account.to_string())))?;
        let account =
            entry.account.clone().ok_or_else(|| self.err(KeystoreError::Unbound(name_or_account.to_string())))?;
        let key = self.secret_of(name, entry).map_err(|e| self.err(e))?;
        Ok((account, key))
    }

    /// Encrypts every key under `passphrase` with Argon2id cost `params` (use
    /// [`KDF_PARAMS`]; tests pass cheap ones). Changes only memory: call [`Keystore::save`].
    /// On an error the keystore is unchanged.
    pub fn encrypt(&mut self, passphrase: Passphrase, params: KdfParams) -> Result<(), ClientError> {
        if self.is_encrypted() {
            return Err(self.err(KeystoreError::AlreadyEncrypted));
        }
        params.check().map_err(|e| self.err(e))?;
        let sealed = (|| {
            let salt = random::<SALT_LEN>()?;
            let derived = derive_key(&passphrase, &params, &salt)?;
            let (check_nonce, check) = seal(&derived, CHECK_AAD, CHECK_PLAINTEXT)?;
            let mut keys = BTreeMap::new();
            for (name, entry) in &self.keys {
                let Secret::Plain(seed) = &entry.secret else {
                    return Err(KeystoreError::Format(format!("key {name:?} is encrypted in a plaintext keystore")));
                };
                // Never seal a seed that does not match its public key.
                key_of(name, seed, &entry.public_key)?;
                let (nonce, ciphertext) = seal(&derived, &entry_aad(name, &entry.public_key), seed.as_slice())?;
                keys.insert(name.clone(), KeyEntry { secret: Secret::Sealed { nonce, ciphertext }, ..entry.clone() });
            }
            Ok((Encryption { params, salt, check_nonce, check }, derived, keys))
        })();
        let (encryption, derived, keys) = sealed.map_err(|e| self.err(e))?;
        self.keys = keys;
        self.encryption = Some(encryption);
        self.passphrase = Some(passphrase);
        self.unlocked = OnceLock::from(derived);
        Ok(())
    }

    /// Decrypts every key with the passphrase the keystore was opened with, making it a
    /// plaintext keystore. Changes only memory: call [`Keystore::save`]. On an error (no
    /// or a wrong passphrase, an altered entry) the keystore is unchanged.
    pub fn decrypt(&mut self) -> Result<(), ClientError> {
        if !self.is_encrypted() {
            return Err(self.err(KeystoreError::NotEncrypted));
        }
        let mut keys = BTreeMap::new();
        for (name, entry) in &self.keys {
            let key = self.secret_of(name, entry).map_err(|e| self.err(e))?;
            keys.insert(name.clone(), KeyEntry { secret: Secret::Plain(Zeroizing::new(key.seed())), ..entry.clone() });
        }
        self.keys = keys;
        self.encryption = None;
        self.unlocked = OnceLock::new();
        Ok(())
    }

    /// The file's contents.
    fn to_file(&self) -> KeystoreFile {
        let encryption = self.encryption.as_ref().map(|e| EncryptionFile {
            kdf: KDF_NAME.into(),
            params: e.params,
            salt: hex::encode(e.salt),
            cipher: CIPHER_NAME.into(),
            check_nonce: hex::encode(e.check_nonce),
            check: hex::encode(&e.check),
        });
        let keys = self
            .keys
            .iter()
            .map(|(name, entry)| {
                let (seed, nonce, ciphertext) = match &entry.secret {
                    Secret::Plain(seed) => (Some(Zeroizing::new(hex::encode(seed.as_slice()))), None, None),
                    Secret::Sealed { nonce, ciphertext } => {
                        (None, Some(hex::encode(nonce)), Some(hex::encode(ciphertext)))
                    }
                };
                (
                    name.clone(),
                    EntryFile { account: entry.account.clone(), public_key: entry.public_key, seed, nonce, ciphertext },
                )
            })
            .collect();
        KeystoreFile {
            version: if self.is_encrypted() { FORMAT_ENCRYPTED } else { FORMAT_PLAINTEXT },
            encryption,
            keys,
        }
    }

    /// Writes the keystore atomically and durably (temporary file, fsync, rename,
    /// directory fsync) with mode 0600.
    pub fn save(&self) -> Result<(), ClientError> {
        let mut text = Zeroizing::new(
            serde_json::to_vec_pretty(&self.to_file()).map_err(|e| self.err(KeystoreError::Format(e.to_string())))?,
        );
        text.push(b'\n');
        durable::write_file(&self.path, &text, durable::MODE_PRIVATE)
            .map_err(|e| self.err(KeystoreError::Io(e.to_string())))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap Argon2id parameters for tests: read back from the file like any others.
    const CHEAP: KdfParams = KdfParams { memory_kib: 8, iterations: 1, lanes: 1 };

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s).expect("passphrase")
    }

    fn keystore_error(e: ClientError) -> KeystoreError {
        match e {
            ClientError::Keystore { error, .. } => error,
            other => panic!("expected a keystore error, got {other}"),
        }
    }

    /// A plaintext keystore with two keys, saved.
    fn plaintext(dir: &Path) -> (PathBuf, SecretKey, SecretKey) {
        let path = dir.join("keystore.json");
        let mut ks = Keystore::open(&path).expect("open");
        let admin = generate_key();
        let bob = generate_key();
        ks.add("admin", Some(AccountId::new("admin").expect("id")), &admin).expect("add");
        ks.add("bob", Some(AccountId::new("bob").expect("id")), &bob).expect("add");
        ks.save().expect("save");
        (path, admin, bob)
    }

    fn encrypted(dir: &Path, passphrase: &str) -> (PathBuf, SecretKey, SecretKey) {
        let (path, admin, bob) = plaintext(dir);
        let mut ks = Keystore::open(&path).expect("open");
        ks.encrypt(pass(passphrase), CHEAP).expect("encrypt");
        ks.save().expect("save");
        (path, admin, bob)
    }

    #[test]
    fn save_open_find_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keystore.json");
        let mut ks = Keystore::open(&path).expect("open");
        let key = generate_key();
        ks.add("admin", Some(AccountId::new("admin").expect("id")), &key).expect("add");
        assert_eq!(
            keystore_error(ks.add("admin", None, &key).expect_err("dup")),
            KeystoreError::DuplicateName("admin".into())
        );
        ks.save().expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = Keystore::open(&path).expect("reopen");
        assert!(back.warnings().is_empty(), "a 0600 keystore draws no warning");
        assert!(!back.is_encrypted());
        let (acct, k) = back.find("admin").expect("find");
        assert_eq!(acct.as_str(), "admin");
        assert_eq!(k.public_key(), key.public_key());
        assert_eq!(
            keystore_error(back.find("nobody").expect_err("missing")),
            KeystoreError::NoSuchKey("nobody".into())
        );
    }

    /// A keystore written before versions existed (no `version` field) still opens, and
    /// a plaintext save writes version 1 with the same fields.
    #[test]
    fn an_unversioned_plaintext_keystore_still_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keystore.json");
        let key = generate_key();
        let old = serde_json::json!({ "keys": { "admin": {
            "account": "admin", "public_key": key.public_key(), "seed": hex::encode(key.seed()) } } });
        fs::write(&path, serde_json::to_vec_pretty(&old).expect("json")).expect("write");
        let ks = Keystore::open(&path).expect("open");
        assert_eq!(ks.find("admin").expect("find").1.public_key(), key.public_key());
        ks.save().expect("save");
        let saved: serde_json::Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(saved["version"], 1);
        assert_eq!(saved["keys"]["admin"]["seed"], hex::encode(key.seed()));
    }

    /// Encrypt, save, reopen with the passphrase: every key signs as before; the file
    /// holds no seed; without a passphrase the keys list but do not sign; decrypting
    /// gives back a plaintext keystore with the same seeds.
    #[test]
    fn encrypted_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, admin, bob) = encrypted(dir.path(), "correct horse");
        let text = fs::read_to_string(&path).expect("read");
        assert!(!text.contains(&hex::encode(admin.seed())) && !text.contains(&hex::encode(bob.seed())));
        assert!(!text.contains("\"seed\""));
        let file: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(file["version"], 2);
        assert_eq!(file["encryption"]["memory_kib"], 8, "the parameters are stored in the file");

        let locked = Keystore::open(&path).expect("open without passphrase");
        assert!(locked.is_encrypted());
        assert_eq!(locked.keys["bob"].public_key, bob.public_key(), "public keys stay readable");
        assert_eq!(keystore_error(locked.find("admin").expect_err("locked")), KeystoreError::PassphraseRequired);

        let mut ks = Keystore::open_with(&path, Some(pass("correct horse"))).expect("open");
        assert_eq!(ks.find("admin").expect("admin").1.seed(), admin.seed());
        assert_eq!(ks.find("bob").expect("bob").1.seed(), bob.seed());
        let carol = generate_key();
        ks.add("carol", Some(AccountId::new("carol").expect("id")), &carol).expect("add to an encrypted keystore");
        assert!(ks.keys["carol"].is_encrypted());
        ks.save().expect("save");

        let mut ks = Keystore::open_with(&path, Some(pass("correct horse"))).expect("reopen");
        assert_eq!(ks.find("carol").expect("carol").1.seed(), carol.seed());
        ks.decrypt().expect("decrypt");
        ks.save().expect("save");
        let plain = Keystore::open(&path).expect("open plaintext");
        assert!(!plain.is_encrypted());
        for (name, key) in [("admin", &admin), ("bob", &bob), ("carol", &carol)] {
            assert_eq!(plain.find(name).expect("find").1.seed(), key.seed());
        }
    }

    /// A wrong passphrase is `WrongPassphrase` on signing, on adding and on decrypting,
    /// and the file stays byte for byte what it was.
    #[test]
    fn a_wrong_passphrase_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, ..) = encrypted(dir.path(), "right");
        let before = fs::read(&path).expect("read");
        let mut ks = Keystore::open_with(&path, Some(pass("wrong"))).expect("open");
        assert_eq!(keystore_error(ks.find("admin").expect_err("find")), KeystoreError::WrongPassphrase);
        assert_eq!(
            keystore_error(ks.add("eve", None, &generate_key()).expect_err("add")),
            KeystoreError::WrongPassphrase
        );
        assert_eq!(keystore_error(ks.decrypt().expect_err("decrypt")), KeystoreError::WrongPassphrase);
        assert!(ks.is_encrypted() && ks.keys.len() == 2, "nothing changed in memory");
        assert_eq!(fs::read(&path).expect("read"), before, "nothing changed on disk");
        let mut plain = Keystore::open(&dir.path().join("other.json")).expect("open");
        plain.encrypt(pass("x"), CHEAP).expect("encrypt");
        assert_eq!(
            keystore_error(plain.encrypt(pass("x"), CHEAP).expect_err("twice")),
            KeystoreError::AlreadyEncrypted
        );
        let mut plain = Keystore::open(&dir.path().join("third.json")).expect("open");
        assert_eq!(keystore_error(plain.decrypt().expect_err("plain")), KeystoreError::NotEncrypted);
    }

    /// Rewrites one field of the stored file.
    fn tamper(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut v: serde_json::Value = serde_json::from_slice(&fs::read(path).expect("read")).expect("json");
        edit(&mut v);
        fs::write(path, serde_json::to_vec(&v).expect("json")).expect("write");
    }

    fn flip_hex(v: &mut serde_json::Value) {
        let s = v.as_str().expect("hex string");
        let mut bytes = hex::decode(s).expect("hex");
        bytes[0] ^= 1;
        *v = serde_json::Value::String(hex::encode(bytes));
    }

    /// An altered ciphertext or nonce, or a ciphertext moved to another name, is refused
    /// as `Tampered` (with the right passphrase); an altered header reads as a wrong
    /// passphrase; the other keys still open.
    #[test]
    fn tampered_ciphertext_is_refused() {
        /// What is altered, how, the key then looked up, and the error expected.
        type Case = (&'static str, Box<dyn Fn(&mut serde_json::Value)>, &'static str, KeystoreError);
        let cases: Vec<Case> = vec![
            (
                "ciphertext",
                Box::new(|v| flip_hex(&mut v["keys"]["admin"]["ciphertext"])),
                "admin",
                KeystoreError::Tampered("admin".into()),
            ),
            (
                "nonce",
                Box::new(|v| flip_hex(&mut v["keys"]["admin"]["nonce"])),
                "admin",
                KeystoreError::Tampered("admin".into()),
            ),
            (
                "swapped names",
                Box::new(|v| {
                    let a = v["keys"]["admin"].take();
                    let b = v["keys"]["bob"].take();
                    v["keys"]["admin"] = b;
                    v["keys"]["bob"] = a;
                }),
                "bob",
                KeystoreError::Tampered("bob".into()),
            ),
            ("salt", Box::new(|v| flip_hex(&mut v["encryption"]["salt"])), "admin", KeystoreError::WrongPassphrase),
            ("check", Box::new(|v| flip_hex(&mut v["encryption"]["check"])), "admin", KeystoreError::WrongPassphrase),
            (
                "kdf params",
                Box::new(|v| v["encryption"]["iterations"] = 2.into()),
                "admin",
                KeystoreError::WrongPassphrase,
            ),
        ];
        for (what, edit, name, expected) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let (path, _, bob) = encrypted(dir.path(), "pw");
            tamper(&path, edit);
            let ks = Keystore::open_with(&path, Some(pass("pw"))).expect("open");
            assert_eq!(keystore_error(ks.find(name).expect_err(what)), expected, "{what}");
            if what == "ciphertext" || what == "nonce" {
                assert_eq!(ks.find("bob").expect("bob is intact").1.seed(), bob.seed());
            }
        }
    }

    /// Malformed and hostile files are typed errors, never panics, and huge KDF
    /// parameters are refused before anything is allocated.
    #[test]
    fn malformed_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, ..) = encrypted(dir.path(), "pw");
        let good: serde_json::Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        let check = |edit: &dyn Fn(&mut serde_json::Value), expect: fn(&KeystoreError) -> bool| {
            let mut v = good.clone();
            edit(&mut v);
            fs::write(&path, serde_json::to_vec(&v).expect("json")).expect("write");
            let e = Keystore::open_with(&path, Some(pass("pw"))).and_then(|ks| ks.find("admin").map(|_| ()));
            let e = keystore_error(e.expect_err("refused"));
            assert!(expect(&e), "{v}: {e:?}");
        };
        let format = |e: &KeystoreError| matches!(e, KeystoreError::Format(_));
        let params = |e: &KeystoreError| matches!(e, KeystoreError::KdfParams(_));
        check(&|v| v["version"] = 3.into(), |e| matches!(e, KeystoreError::UnsupportedVersion { found: 3, .. }));
        check(&|v| v["version"] = 1.into(), format);
        check(&|v| v["encryption"]["memory_kib"] = (u32::MAX).into(), params);
        check(&|v| v["encryption"]["lanes"] = 0.into(), params);
        check(&|v| v["encryption"]["iterations"] = 1000.into(), params);
        check(&|v| v["encryption"]["kdf"] = "scrypt".into(), format);
        check(&|v| v["encryption"]["cipher"] = "aes".into(), format);
        check(&|v| v["encryption"]["salt"] = "00".into(), format);
        check(&|v| v["keys"]["admin"]["nonce"] = "zz".into(), format);
        check(&|v| v["keys"]["admin"]["ciphertext"] = "00".into(), format);
        check(&|v| v["keys"]["admin"]["seed"] = "00".repeat(32).into(), format);
        check(
            &|v| {
                v["keys"]["admin"].as_object_mut().expect("obj").remove("nonce");
            },
            format,
        );
        fs::write(&path, b"{ not json").expect("write");
        assert!(matches!(keystore_error(Keystore::open(&path).expect_err("json")), KeystoreError::Format(_)));
        fs::write(&path, [0xff, 0xfe, 0x00]).expect("write");
        assert!(matches!(keystore_error(Keystore::open(&path).expect_err("bytes")), KeystoreError::Format(_)));
    }

    /// A keystore its group or others can read draws a warning naming its mode; 0600 does not.
    #[cfg(unix)]
    #[test]
    fn a_readable_keystore_draws_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, ..) = plaintext(dir.path());
        for (mode, warned) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true), (0o644, true)] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            let ks = Keystore::open(&path).expect("open");
            let expected =
                if warned { vec![KeystoreWarning::ReadableByOthers { path: path.clone(), mode }] } else { vec![] };
            assert_eq!(ks.warnings(), expected.as_slice(), "mode {mode:o}");
        }
        let w = KeystoreWarning::ReadableByOthers { path: path.clone(), mode: 0o644 };
        assert!(w.to_string().contains("mode 644") && w.to_string().contains("chmod 600"));
    }

    #[test]
    fn passphrase_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pass");
        fs::write(&file, "secret words\n").expect("write");
        assert_eq!(Passphrase::from_file(&file).expect("file").as_bytes(), b"secret words");
        fs::write(&file, "secret words\r\n").expect("write");
        assert_eq!(Passphrase::from_file(&file).expect("file").as_bytes(), b"secret words");
        fs::write(&file, "\n").expect("write");
        assert!(matches!(Passphrase::from_file(&file), Err(KeystoreError::Passphrase(_))));
        fs::write(&file, vec![b'a'; PASSPHRASE_BYTES_MAX as usize + 1]).expect("write");
        assert!(matches!(Passphrase::from_file(&file), Err(KeystoreError::Passphrase(_))));
        assert!(matches!(Passphrase::from_file(&dir.path().join("missing")), Err(KeystoreError::Passphrase(_))));
        assert!(matches!(Passphrase::new(""), Err(KeystoreError::Passphrase(_))));
        assert_eq!(format!("{:?}", pass("hunter2")), "Passphrase(…)", "Debug never shows the passphrase");
    }

    /// Debug output of a keystore never shows a seed.
    #[test]
    fn debug_hides_seeds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, admin, _) = plaintext(dir.path());
        let ks = Keystore::open(&path).expect("open");
        let shown = format!("{ks:?}");
        assert!(!shown.contains(&hex::encode(admin.seed())), "{shown}");
        assert!(shown.contains("encrypted: false"), "{shown}");
    }
}
