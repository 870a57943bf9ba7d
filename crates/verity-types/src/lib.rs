//! Identifiers, keys, signed transactions, actions, blocks, events, proofs and the
//! canonical encoding of Verity.
//!
//! Everything that is hashed or signed is encoded with borsh (the one canonical
//! binary encoding, see [`encoding`]); JSON appears only at the node's edges via serde.
//! This crate does no I/O, reads no clock and draws no randomness.
//!
//! Each domain's actions, events and records are in its module ([`identity`], [`bank`],
//! [`provenance`], [`consensus`]), one struct per action and per event; [`action`] and
//! [`event`] only list them, in tag order.
//!
//! With the `openapi` feature, every value the node's HTTP API carries has an OpenAPI
//! schema of its JSON form (utoipa's `ToSchema`; see `openapi.rs`).
//!
//! # Status
//! Foundation types: stable in shape for the ledger foundation; new action variants are
//! only ever appended (borsh enum tags are positional), so old encodings stay valid.

pub mod action;
pub mod amount;
pub mod audit;
pub mod bank;
pub mod block;
pub mod consensus;
pub mod dsse;
pub mod encoding;
pub mod error;
pub mod event;
pub mod evidence;
pub mod genesis;
pub mod governance;
pub mod hash;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod merkle;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod proof;
pub mod provenance;
pub mod tx;
pub mod validators;

pub use action::*;
pub use bank::*;
pub use block::*;
pub use consensus::*;
pub use error::{ProofError, ReferenceError, TypesError};
pub use event::*;
pub use evidence::{Equivocation, Offence, SignedVote, VoteKind};
pub use genesis::*;
pub use governance::*;
pub use hash::{sha256, Hash};
pub use identity::*;
pub use ids::*;
pub use keys::{PublicKey, Signature};
pub use proof::{ConsistencyProof, InclusionProof, StateProof, StateProofLevel, StateProofTerminal};
pub use provenance::*;
pub use tx::*;
pub use validators::{Approval, SetTransition, SetUnchanged, ValidatorChange, ValidatorOp};
