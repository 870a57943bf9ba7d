//! The deterministic state machine of Verity: identities and roles, balances, supply
//! and escrow.
//!
//! Applying a block is a pure function of the previous state and the block:
//! [`execute_block`] reads committed state through [`StateRead`] and returns the
//! block's [`StateWrites`] and receipts; the node commits them. This crate performs no
//! I/O, reads no clock, draws no randomness, uses no floats and never iterates a
//! `HashMap` (every map is a `BTreeMap`).
//!
//! One module per domain keeps its rules side by side: a handler per action (taking
//! the action's struct, defined with the domain's events and records in verity-types,
//! where offline verifiers decode them), its state keys, reads and its error enum:
//! [`identity`], [`bank`] (which includes escrow), [`provenance`] and [`consensus`] (the
//! validator set and equivocation evidence) and [`governance`] (the constitution,
//! parameters, proposals, stake, slashing, reward streams and reputation). Every state key is built by one function
//! per key kind. Every refusal is a [`StateError`] with a stable code; see
//! docs/ARCHITECTURE.md ("Adding a domain") for the registries a new domain joins.
//!
//! # Status
//! Foundation: the public API (`genesis_state`, `execute_block`, `check_admission`,
//! the read helpers and `MemState`) is what the node is written against and changes
//! only together with it. The stored record layouts are borsh and part of the state
//! root: changing a field is a state format change. Provenance is new: its records
//! and rules are complete for the provenance issue; governance is new. Further domains
//! (market, agents, learning) are not written yet.

pub mod bank;
pub mod consensus;
pub mod error;
pub mod exec;
pub mod genesis;
pub mod governance;
pub mod identity;
pub mod keys;
pub mod provenance;
mod view;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use bank::escrow::escrow;
pub use bank::{account_balances, asset, asset_supply, balance, AssetInfo, Escrow, EscrowStatus};
pub use consensus::{evidence, evidence_count, validator_set, EvidenceRecord};
pub use error::{BankError, ConsensusError, GovernanceError, IdentityError, ProvenanceError, StateError};
pub use exec::{check_admission, execute_block, BlockContext, BlockOutcome};
pub use genesis::genesis_state;
pub use identity::{account, org, Account, Org};
pub use view::{MemState, StateRead, StateWrites};
