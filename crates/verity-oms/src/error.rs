//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while fingerprinting a model or building, signing or
/// verifying an OMS bundle. Every variant is an operating error (bad input, a changed
/// model, a wrong key); none is a panic.
#[derive(Debug, thiserror::Error)]
pub enum OmsError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The model contains a symbolic link and symlinks are not allowed (model-signing's
    /// default refuses them as well).
    #[error("{0}: is a symbolic link (symlinks are not allowed unless allow_symlinks is set)")]
    Symlink(PathBuf),
    /// The path is neither a regular file nor a directory (socket, pipe, device, broken
    /// symlink).
    #[error("{0}: is neither a regular file nor a directory")]
    SpecialFile(PathBuf),
    /// A path is not valid UTF-8, so it cannot be named in a manifest.
    #[error("{0}: path is not valid UTF-8")]
    NonUtf8Path(PathBuf),
    /// A file's length changed while it was being hashed.
    #[error("{0}: file changed while it was being hashed")]
    FileChangedDuringHashing(PathBuf),
    /// The model has more entries than `MODEL_FILES_MAX`.
    #[error("the model has more than {max} files")]
    TooManyFiles { max: usize },
    /// Options that cannot be used (shard size 0, unknown hash name).
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// The signature file is larger than `BUNDLE_BYTES_MAX`.
    #[error("signature bundle is larger than {max} bytes")]
    BundleTooLarge { max: usize },
    /// The bundle is not the expected JSON shape.
    #[error("malformed signature bundle: {0}")]
    MalformedBundle(String),
    /// The bundle's media type is not a Sigstore bundle v0.3.
    #[error("unsupported bundle media type {0:?}")]
    WrongMediaType(String),
    /// The DSSE envelope does not carry an in-toto statement.
    #[error("wrong DSSE payload type {0:?} (expected application/vnd.in-toto+json)")]
    WrongPayloadType(String),
    /// The envelope has no signature, or more than one.
    #[error("expected exactly one DSSE signature, found {0}")]
    SignatureCount(usize),
    /// The bundle's public-key hint names a different key than the one supplied.
    #[error(
        "wrong key: the bundle was signed by the key with hint {bundle_hint}, the supplied key has hint {key_hint}"
    )]
    WrongKey { bundle_hint: String, key_hint: String },
    /// The signature does not verify under the supplied key.
    #[error("bad signature: the DSSE signature does not verify under the supplied key")]
    BadSignature,
    /// The signed statement is not a model-signing v1.0 statement.
    #[error("unsupported statement: {0}")]
    UnsupportedStatement(String),
    /// The statement's subject digest does not match its resources.
    #[error("inconsistent manifest: subject digest {subject} but the resources hash to {computed}")]
    InconsistentManifest { subject: String, computed: String },
    /// The model on disk differs from the signed manifest.
    #[error("model does not match the signature: {}", describe(.0))]
    ModelMismatch(Vec<Difference>),

    /// A key could not be parsed or is of an unsupported kind.
    #[error("key: {0}")]
    Key(String),
}

/// One difference between the signed manifest and the model on disk. `resource` is
/// the manifest name: a relative path in `files` mode, `path:start:end` in `shards` mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The resource exists but its digest (or digest algorithm) changed.
    Changed { resource: String },
    /// The resource is signed but no longer present.
    Missing { resource: String },
    /// The resource is present but was not signed.
    Extra { resource: String },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Changed { resource } => write!(f, "changed {resource}"),
            Difference::Missing { resource } => write!(f, "missing {resource}"),
            Difference::Extra { resource } => write!(f, "extra {resource}"),
        }
    }
}

/// How many differences an error message lists before summarising the rest.
const DIFFERENCES_SHOWN_MAX: usize = 10;

fn describe(diffs: &[Difference]) -> String {
    let mut parts: Vec<String> = diffs.iter().take(DIFFERENCES_SHOWN_MAX).map(ToString::to_string).collect();
    if diffs.len() > DIFFERENCES_SHOWN_MAX {
        parts.push(format!("and {} more", diffs.len() - DIFFERENCES_SHOWN_MAX));
    }
    parts.join(", ")
}

impl OmsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OmsError::Io { path: path.into(), source }
    }
}
