//! Provenance-first training: the identifiers, records and parameters of content,
//! opt-outs, datasets, challenges, training runs, models, evaluation attestations,
//! deploy gates, deployments and decisions.
//!
//! Records live here rather than in verity-state so that an offline verifier (which
//! depends on this crate only) can decode the values that state proofs cover.

/// Parts per million: the fixed-point unit of every score and share on the ledger.
pub const PPM: u64 = 1_000_000;

mod actions;
mod checks;
mod content;
mod dataset;
mod decision;
mod events;
mod gate;
pub mod keys;
mod model;
mod record;
mod record_ids;
#[cfg(test)]
mod tests;

pub use actions::*;
pub use checks::*;
pub use content::*;
pub use dataset::*;
pub use decision::*;
pub use events::*;
pub use gate::*;
pub use model::*;
pub use record::*;
pub use record_ids::*;
