//! Datasets: versions, their policies, challenges of their items and how challenges are reviewed.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};
use crate::limits::REVIEW_ORGS_MAX;

use super::*;

/// How the items of a dataset version reach the ledger.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DatasetMode {
    /// The content ids are submitted in chunks and checked item by item.
    Enumerated,
    /// Only the commitment is published; items are checked by challenges with proofs.
    RootOnly,
}

/// What a dataset version is used for, which decides which opt-outs apply to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetPolicy {
    /// Used for commercial training (opt-outs of commercial training apply).
    pub commercial: bool,
    /// Every item must be registered content (enumerated mode checks it).
    pub require_registered: bool,
}

/// A dataset. Key: `prov/dataset/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Dataset {
    pub id: DatasetId,
    /// The organisation whose curators publish its versions.
    pub org: OrgId,
    /// The number of versions published (or pending); versions are 1..=versions.
    pub versions: u32,
}

/// Whether all of an enumerated version's items have arrived.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DatasetStatus {
    /// Enumerated items are still arriving; the version cannot be used yet.
    Pending,
    /// Complete (root checked for enumerated versions); usable by training runs.
    Published,
}

/// One version of a dataset. Key: `prov/dataset_version/<id>/<version>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetVersion {
    pub dataset: DatasetId,
    pub version: u32,
    /// SHA-256 of the canonical manifest file.
    pub manifest_hash: Hash,
    /// RFC 6962 root over the sorted content ids.
    pub root: Hash,
    pub count: u64,
    /// Every licence of its items, sorted.
    pub licences: Vec<Licence>,
    pub mode: DatasetMode,
    pub policy: DatasetPolicy,
    pub curator: AccountId,
    pub supersedes: Option<u32>,
    /// Who may resolve challenges (empty: any account with the reviewer role).
    pub reviewers: Vec<AccountId>,
    /// Heights a challenge stays open for an answer and a resolution.
    pub challenge_window: u64,
    pub status: DatasetStatus,
    pub height: u64,
    pub tx: Hash,
    /// Enumerated mode: items received so far.
    pub received: u64,
    /// Enumerated mode: the last content id received (items arrive in ascending order).
    pub last_item: Option<ContentId>,
    /// Enumerated mode: roots of the perfect subtrees of the items so far, largest first.
    pub frontier: Vec<Hash>,
}

/// What a challenge claims about an item.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeKind {
    /// The item is opted out for the dataset's scope (checked by the ledger from an
    /// inclusion proof; upheld at once when it holds).
    OptedOut,
    Unlicensed,
    Duplicate,
    Mislabelled,
}

/// Where a challenge stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeStatus {
    Open,
    Upheld,
    Rejected,
}

/// Who decides a dataset version's challenges (and lifts the flags of upheld ones), as the
/// dataset's organisation chose it. Key: `prov/review/<dataset>/<version>` (absent:
/// [`ChallengeReview::Reviewers`]).
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeReview {
    /// One reviewer decides: one of the version's named reviewers, or, if it names none,
    /// an account with the `reviewer` role in the dataset's organisation.
    #[default]
    Reviewers,
    /// Reviewers of `threshold` distinct organisations among `orgs` must agree; each
    /// organisation has one vote, cast by an account with the `reviewer` role in it.
    Quorum { orgs: Vec<OrgId>, threshold: u32 },
}

impl ChallengeReview {
    pub fn validate(&self) -> Result<(), TypesError> {
        if let ChallengeReview::Quorum { orgs, threshold } = self {
            check_len("orgs", orgs, 1, REVIEW_ORGS_MAX)?;
            check_sorted_unique("orgs", orgs, |o| o.clone())?;
            orgs.iter().try_for_each(OrgId::validate)?;
            if *threshold == 0 || *threshold as usize > orgs.len() {
                return Err(TypesError::InvalidField {
                    field: "threshold",
                    reason: format!("must be 1 to the {} organisations named, got {threshold}", orgs.len()),
                });
            }
        }
        Ok(())
    }
}

/// The review rule of a dataset version as recorded. Key: `prov/review/<dataset>/<version>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReviewRule {
    pub dataset: DatasetId,
    pub version: u32,
    pub review: ChallengeReview,
    pub set_by: AccountId,
    pub height: u64,
}

/// One organisation's vote under a review quorum (to uphold or reject a challenge, or to
/// lift the flags of an upheld one).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewVote {
    pub org: OrgId,
    pub by: AccountId,
    /// Uphold (for a resolution) or lift (for an appeal): true; reject or keep: false.
    pub yes: bool,
    pub height: u64,
}

/// The lifting of a flag (or of all the flags of an upheld challenge) on appeal. The flag
/// stays on record with this entry; a lifted flag no longer blocks its record.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagLift {
    /// The reviewer whose decision lifted it (under a quorum: the vote that completed it).
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A challenge of one item of a dataset version. Key: `prov/challenge/<id hex>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenge {
    pub id: Hash,
    pub dataset: DatasetId,
    pub version: u32,
    pub content: ContentId,
    pub kind: ChallengeKind,
    pub evidence: Hash,
    pub challenger: AccountId,
    pub height: u64,
    /// The last height at which it may be answered and resolved.
    pub deadline_height: u64,
    pub response: Option<Hash>,
    pub status: ChallengeStatus,
    pub resolved_by: Option<AccountId>,
    pub resolution_reason: String,
    /// The review rule in force when the challenge was opened; it decides the challenge
    /// and any appeal of it.
    pub review: ChallengeReview,
    /// Under a quorum: the organisations' votes on the challenge, in ledger order.
    pub votes: Vec<ReviewVote>,
    /// Under a quorum: the organisations' votes on lifting its flags, in ledger order.
    pub lift_votes: Vec<ReviewVote>,
    /// Set when its flags were lifted on appeal (the challenge stays upheld on record).
    pub lifted: Option<FlagLift>,
}
