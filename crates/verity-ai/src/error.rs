//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while fingerprinting a model or building, signing or
/// verifying an OMS bundle. Every variant is an operating error (bad input, a changed
/// model, a wrong key); none is a panic.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
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

    /// A data file is not a CSV the loader understands (see `data`), or exceeds a bound.
    #[error("{path}: line {line}: {reason}")]
    Data { path: PathBuf, line: usize, reason: String },
    /// A data file's SHA-256 is not the one the suite expects.
    #[error("{path}: SHA-256 is {actual}, but the suite expects {expected}")]
    DatasetMismatch { path: PathBuf, expected: String, actual: String },
    /// Training hyperparameters or a data split that cannot be used.
    #[error("invalid training configuration: {0}")]
    InvalidConfig(String),
    /// A model file was refused; the inner error says why.
    #[error("{path}: {error}")]
    Model { path: PathBuf, error: ModelError },
    /// The runtime has no backend for this model format.
    #[error("{path}: {reason}")]
    UnsupportedModelFormat { path: PathBuf, reason: String },
    /// Input rows do not fit the model (feature count, class names).
    #[error("input does not fit the model: {0}")]
    InputMismatch(String),
    /// An evaluation suite file is malformed or inconsistent.
    #[error("suite {path}: {reason}")]
    Suite { path: PathBuf, reason: String },
    /// The suite's held-out split differs from the split the model was trained with on
    /// the same data, so test rows may have been trained on.
    #[error(
        "the suite's split (seed {suite_seed}, test {suite_test_ppm} ppm) differs from the model's training split \
         (seed {model_seed}, test {model_test_ppm} ppm) on the same data: held-out rows may have been trained on"
    )]
    SplitMismatch { suite_seed: u64, suite_test_ppm: u32, model_seed: u64, model_test_ppm: u32 },
    /// A statement the evaluator built did not pass verity-types' own checks.
    #[error("evaluation statement rejected: {0}")]
    Statement(String),
}

/// Why a model file (safetensors) was refused. Every malformed or mismatched file gives
/// one of these; loading never panics on untrusted bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The file is larger than `MODEL_BYTES_MAX`.
    #[error("model file is {size} bytes, more than the {max} allowed")]
    TooLarge { size: u64, max: u64 },
    /// The bytes are not a valid safetensors file (header, offsets, sizes).
    #[error("not a valid safetensors file: {0}")]
    Safetensors(String),
    /// The `format` metadata names another format (or is missing).
    #[error("metadata format is {found:?}, expected \"verity-tabular\"")]
    WrongFormat { found: Option<String> },
    /// The format version is not one this build reads.
    #[error("format version {found:?} is not supported (this build reads {supported})")]
    UnsupportedVersion { found: String, supported: &'static str },
    /// A required metadata key is absent.
    #[error("metadata key {0:?} is missing")]
    MissingMetadata(&'static str),
    /// A metadata value cannot be parsed or is out of bounds.
    #[error("metadata {key:?}: {reason}")]
    BadMetadata { key: &'static str, reason: String },
    /// A tensor the architecture needs is absent.
    #[error("tensor {0:?} is missing")]
    MissingTensor(String),
    /// The file holds a tensor the architecture does not use.
    #[error("unexpected tensor {0:?}")]
    UnexpectedTensor(String),
    /// A tensor is not float32.
    #[error("tensor {tensor:?} has dtype {dtype}, expected F32")]
    WrongDtype { tensor: String, dtype: String },
    /// A tensor's shape does not match the metadata.
    #[error("tensor {tensor:?} has shape {found:?}, expected {expected:?}")]
    WrongShape { tensor: String, expected: Vec<usize>, found: Vec<usize> },
    /// A tensor holds NaN or an infinity (or a zero standard deviation).
    #[error("tensor {0:?} holds a value that is not finite and positive where required")]
    BadValue(String),
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

impl AiError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AiError::Io { path: path.into(), source }
    }
}
