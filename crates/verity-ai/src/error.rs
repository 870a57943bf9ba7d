//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, training, running or evaluating a
/// model. Every variant is an operating error (bad input, a mismatched model or suite);
/// none is a panic.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Fingerprinting the model failed (see `verity_oms`).
    #[error(transparent)]
    Oms(#[from] verity_oms::OmsError),

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

impl AiError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AiError::Io { path: path.into(), source }
    }
}
