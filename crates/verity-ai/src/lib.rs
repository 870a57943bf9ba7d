//! The off-chain AI toolkit; model fingerprints and OMS signatures, which every
//! verifier needs, are the separate `verity-oms` crate, without these ML dependencies.
//!
//! - [`data`], [`train`], [`model`], [`infer`], [`eval`]: the off-chain toolkit. A
//!   deterministic trainer for small tabular models (multinomial logistic regression,
//!   a one-hidden-layer MLP) whose weights are bit-identical for the same data, seed and
//!   code on one platform, saved as safetensors; an inference runtime with a stable
//!   output hash behind a `Backend` trait (native models, and ONNX on tract in
//!   [`onnx`], with Google's magika file-type classifier in [`magika`]); and an
//!   evaluation oracle that runs a TOML suite of checks (held-out accuracy, per-group
//!   accuracy gap, accuracy under seeded noise) on a data file or on a labelled corpus
//!   of generated files ([`corpus`]) and states the results as in-toto evaluation
//!   statements, one per attestation kind, for the ledger.
//!
//! # Status
//! The trainer, model format (`verity-tabular` v1), runtime and
//! suite format are new: the formats are versioned and golden-tested, the API may
//! change.

pub mod corpus;
pub mod data;
pub mod error;
pub mod eval;
pub mod infer;
pub mod magika;
pub mod model;
pub mod onnx;
mod rng;
pub mod train;

pub use error::{AiError, ModelError};
