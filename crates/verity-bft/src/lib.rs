//! Multi-organisation BFT ordering: the bridge between Verity's ledger types and the
//! Commonware simplex consensus engine (Ed25519 scheme, `=2026.10.0`).
//!
//! This crate holds what both a validator and a light client's test-suite need to agree
//! on with the engine:
//! - [`block::LedgerBlock`]: a Verity block as the engine's block type (canonical
//!   codec, digest = the Verity header hash, so the engine's finalized payload *is* the
//!   header hash the ledger's proofs hang from);
//! - [`keys`]: validator keys in the engine's form, and the participant set (the
//!   engine orders participants by public key; Verity orders validators as genesis
//!   lists them);
//! - [`cert`]: an engine finalization certificate re-expressed as a Verity
//!   [`verity_types::Certificate`] (BFT form), which `ValidatorSet::verify_certificate`
//!   checks with Ed25519 alone: light clients and audit bundles need no consensus code;
//! - [`ledger::Ledger`]: building, re-executing and committing blocks on a chain whose
//!   newest blocks are not final yet;
//! - [`app`]: the ledger as a marshal `Application` (the engine's proposer and
//!   verifier) and the loop that commits finalized blocks with their certificates;
//! - [`validator`]: one validator wired over any Commonware runtime and p2p network
//!   (the simulation and `verity node` run the same code), one simplex engine per epoch;
//! - [`epochs`]: each epoch's validator set (read from the committed state) as the
//!   engine's certificate scheme;
//! - [`evidence`]: the engine's reports of conflicting votes as self-authenticating
//!   Verity [`verity_types::Equivocation`] evidence, handed to a sink that puts it on
//!   the ledger;
//! - [`gossip`]: forwarding admitted transactions to the other validators.
//!
//! # Status
//! Runs in Commonware's deterministic simulation (tests/sim.rs) and as `verity node`
//! processes on loopback, with validator-set changes at epoch boundaries (a light client
//! follows them: `verity_client::verify::LightClient`).

pub mod app;
pub mod block;
pub mod cert;
pub mod epochs;
pub mod error;
pub mod evidence;
pub mod gossip;
pub mod keys;
pub mod ledger;
pub mod validator;

pub use error::BftError;

/// The engine's payload digest: SHA-256, the same bytes as a Verity [`verity_types::Hash`].
pub type Digest = commonware_cryptography::sha256::Digest;

/// A Verity hash as the engine's digest.
pub fn digest(h: &verity_types::Hash) -> Digest {
    commonware_cryptography::sha256::Digest(h.0)
}

/// The engine's digest as a Verity hash.
pub fn hash(d: &Digest) -> verity_types::Hash {
    verity_types::Hash(d.0)
}
