//! Fingerprints and signs AI models the way OpenSSF model-signing (OMS) 1.1.1 does,
//! so Verity can record a model's identity and anyone can check who signed it. This
//! crate is what a verifier needs; it has no ML dependencies (the training, inference
//! and evaluation toolkit is `verity-ai`).
//!
//! - [`fingerprint`]: the OMS manifest of a file or directory (`files` or `shards`
//!   mode, SHA-256 or BLAKE3), hashed in parallel on all cores in bounded memory; its
//!   digest equals the subject digest model-signing computes with the same options.
//! - [`oms`]: Sigstore bundles with a DSSE-wrapped in-toto statement, signed with
//!   ECDSA P-256 keys (interoperable both ways with `model_signing sign key` /
//!   `verify key`) or with Verity's Ed25519 account keys.
//!
//! The bundle format is model-signing's and so fixed by it. Sigstore keyless
//! (certificate and transparency log) signatures, PKCS#11, BLAKE2b and the pre-1.0
//! predicate (`https://model_signing/Digests/v0.1`) are not supported.

pub mod error;
pub mod fingerprint;
pub mod oms;

pub use error::{Difference, OmsError};
pub use fingerprint::{fingerprint, fingerprint_with, HashAlgorithm, Manifest, Method, Options, Progress, Resource};
pub use oms::{sign, sign_model, verify_bundle, verify_model, Bundle, SigningKey, VerifyingKey};
