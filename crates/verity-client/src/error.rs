//! Errors of the client: transport, node-reported errors, keystore and verification.

use thiserror::Error;

/// Everything that can go wrong talking to a node, reading keys or verifying proofs.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node could not be reached or the connection failed.
    #[error("cannot reach the node at {url}: {message}")]
    Transport { url: String, message: String },
    /// The node answered with an error.
    #[error("node refused ({status} {code}): {message}")]
    Api { status: u16, code: String, message: String },
    /// The transaction was committed but the ledger refused its action (the nonce is
    /// spent, nothing else changed).
    #[error("the ledger refused the action of transaction {hash}: {code}: {message}")]
    ActionFailed { hash: String, code: String, message: String },
    /// The node refused the transaction at admission; nothing was recorded.
    #[error("the node rejected the transaction: {code}: {message}")]
    Rejected { code: String, message: String },
    /// The transaction was admitted but is not committed yet.
    #[error("transaction {hash} is pending (not committed yet); check later with `verity tx show`")]
    NotCommitted { hash: String },
    /// The node's answer was not what the API promises.
    #[error("unexpected answer from the node: {0}")]
    Protocol(String),
    /// A keystore file could not be read, written, decrypted or searched.
    #[error("keystore {path}: {error}")]
    Keystore {
        path: String,
        #[source]
        error: KeystoreError,
    },
    /// A proof, checkpoint or signature did not verify.
    #[error("verification failed: {0}")]
    Verify(String),
    /// A file could not be read, listed or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// What the caller gave (a file's contents, a folder, an argument) is not what the
    /// workflow needs; nothing was sent to the node.
    #[error("{0}")]
    Input(String),
    /// A value failed the ledger's own rules before it was sent (an identifier, a
    /// reference, an action's fields).
    #[error("{context}: {error}")]
    Invalid {
        context: String,
        #[source]
        error: verity_types::TypesError,
    },
    /// A step of a workflow failed; the source says why.
    #[error("{step}")]
    Step {
        step: String,
        #[source]
        error: Box<ClientError>,
    },
    /// A chunk of a dataset version's items was refused: the chunks before it are on the
    /// ledger, none after it was sent, and the version stays pending.
    #[error(
        "{dataset}: chunk {chunk} of {chunks} (items {first_item}..{last_item}, first {first_content}) was refused; \
         {added} of {count} items were added and the version stays pending"
    )]
    ChunkRefused {
        dataset: String,
        chunk: usize,
        chunks: usize,
        first_item: usize,
        last_item: usize,
        first_content: String,
        added: usize,
        count: u64,
        #[source]
        error: Box<ClientError>,
    },
}

impl ClientError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, error: impl std::fmt::Display) -> ClientError {
        ClientError::Io { path: path.display().to_string(), message: error.to_string() }
    }

    /// A ledger rule `value` failed, said with what it was for.
    pub fn invalid(context: impl Into<String>, error: verity_types::TypesError) -> ClientError {
        ClientError::Invalid { context: context.into(), error }
    }

    /// This error as the cause of a failed workflow step.
    pub fn during(self, step: impl Into<String>) -> ClientError {
        ClientError::Step { step: step.into(), error: Box::new(self) }
    }

    /// Whether the node answered 404: what was asked for is not on the ledger.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { status: 404, .. })
    }
}

/// What went wrong with a keystore. Every one of these leaves the file as it was: the
/// keystore is only written by `Keystore::save`, and only after an operation succeeded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeystoreError {
    /// Reading or writing the file (or its directory) failed.
    #[error("{0}")]
    Io(String),
    /// The file is not a keystore of a known shape (bad JSON, bad hex, missing fields,
    /// an encrypted key in a plaintext keystore or the other way round).
    #[error("malformed keystore: {0}")]
    Format(String),
    /// The file was written by a newer format than this program reads.
    #[error("keystore format version {found} is not supported (this program reads versions up to {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    /// The key derivation parameters in the file are outside the accepted bounds.
    #[error("key derivation parameters out of bounds: {0}")]
    KdfParams(String),
    /// A key of this name is already stored.
    #[error("a key named {0:?} already exists")]
    DuplicateName(String),
    /// No key has this name or signs for this account.
    #[error("no key named {0:?}")]
    NoSuchKey(String),
    /// The key exists but is not bound to an account yet.
    #[error("key {0:?} is not bound to an account yet")]
    Unbound(String),
    /// A stored seed does not produce the stored public key.
    #[error("key {0:?}: the public key does not match the seed")]
    SeedMismatch(String),
    /// The keystore is encrypted and no passphrase was given.
    #[error("the keystore is encrypted: set VERITY_KEYSTORE_PASSPHRASE or pass --passphrase-file PATH")]
    PassphraseRequired,
    /// The passphrase does not open the keystore (or its header was altered).
    #[error("wrong passphrase (the keystore's passphrase check did not open)")]
    WrongPassphrase,
    /// The passphrase is right but a key's ciphertext, nonce or name was altered.
    #[error("key {0:?}: its ciphertext does not authenticate (the file was altered or damaged)")]
    Tampered(String),
    /// A passphrase was empty or could not be read.
    #[error("passphrase: {0}")]
    Passphrase(String),
    /// `encrypt` on an encrypted keystore.
    #[error("the keystore is already encrypted")]
    AlreadyEncrypted,
    /// `decrypt` on a plaintext keystore.
    #[error("the keystore is not encrypted")]
    NotEncrypted,
}
