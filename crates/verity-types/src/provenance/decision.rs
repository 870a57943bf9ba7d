//! Decisions recorded against model versions, and the flags that mark records.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};

use super::*;

/// Who or what reviews a decision.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "layer", content = "reviewer", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewLayer {
    None,
    Human(AccountId),
}

/// Whether and by whom a decision may be corrected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CorrectionPolicy {
    /// Final: no correction is accepted.
    NotCorrectable,
    /// The operator's organisation may correct it.
    ByOperator,
    /// Only the decision's human reviewer may correct it.
    ByReviewer,
}

/// A decision made by an AI system. Key: `prov/decision/<id hex>`, id = the recording
/// transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub id: Hash,
    pub model: ModelId,
    pub version: u32,
    /// A salted commitment to the input (the input itself never goes on the ledger).
    pub input_commitment: Hash,
    pub output_hash: Hash,
    pub review: ReviewLayer,
    pub binding: bool,
    pub correction_policy: CorrectionPolicy,
    pub context: String,
    pub operator: AccountId,
    pub org: OrgId,
    pub height: u64,
    /// The decision this one corrects, and why.
    pub supersedes: Option<Hash>,
    pub correction_reason: String,
    /// Set when a later correction supersedes it.
    pub superseded_by: Option<Hash>,
}

/// Why a record was flagged.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlagCause {
    /// A challenge of an item of the origin dataset version was upheld.
    ChallengeUpheld { challenge: Hash },
    /// Content in the origin dataset version was opted out after it was used.
    ContentOptedOut { content: ContentId, opt_out: Hash },
}

/// A flag on a record: the origin dataset version, why, and when. Keys:
/// `prov/flags/<record>` (count) and `prov/flag/<record>/<n>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    pub origin: DatasetRef,
    pub cause: FlagCause,
    pub height: u64,
    /// Set when the flag was lifted on appeal; the flag stays on record.
    pub lifted: Option<FlagLift>,
}
