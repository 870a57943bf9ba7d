//! Fingerprints and signs AI models the way OpenSSF model-signing (OMS) 1.1.1 does,
//! so Verity can record a model's identity and check who signed it.
//!
//! - [`fingerprint`]: the OMS manifest of a file or directory (`files` or `shards`
//!   mode, SHA-256 or BLAKE3), hashed in parallel on all cores in bounded memory; its
//!   digest equals the subject digest model-signing computes with the same options.
//! - [`oms`]: Sigstore bundles with a DSSE-wrapped in-toto statement, signed with
//!   ECDSA P-256 keys (interoperable both ways with `model_signing sign key` /
//!   `verify key`) or with Verity's Ed25519 account keys.
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
//! New. The bundle format is model-signing's and so fixed by it; the Rust API may
//! still change. Sigstore keyless (certificate and transparency log) signatures,
//! PKCS#11, BLAKE2b and the pre-1.0 predicate (`https://model_signing/Digests/v0.1`)
//! are not supported. The trainer, model format (`verity-tabular` v1), runtime and
//! suite format are new: the formats are versioned and golden-tested, the API may
//! change.

pub mod corpus;
pub mod data;
pub mod error;
pub mod eval;
pub mod fingerprint;
pub mod infer;
pub mod magika;
pub mod model;
pub mod oms;
pub mod onnx;
mod rng;
pub mod train;

pub use error::{AiError, Difference, ModelError};
pub use fingerprint::{fingerprint, fingerprint_with, HashAlgorithm, Manifest, Method, Options, Progress, Resource};
pub use oms::{sign, sign_model, verify_bundle, verify_model, Bundle, SigningKey, VerifyingKey};
