//! The provenance events, one struct per kind of event.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentRegistered {
    pub content: ContentId,
    pub creator: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptedOut {
    pub content: ContentId,
    pub opt_out: Hash,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutWithdrawn {
    pub content: ContentId,
    pub opt_out: Hash,
    pub by: AccountId,
}

/// A dataset version's commitments were published (root-only versions are complete;
/// enumerated ones wait for their items).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetPublished {
    pub dataset: DatasetId,
    pub version: u32,
    pub mode: DatasetMode,
    pub curator: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetItemsAdded {
    pub dataset: DatasetId,
    pub version: u32,
    pub received: u64,
    pub count: u64,
    pub curator: AccountId,
}

/// An enumerated version received its last item and its root matched.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetCompleted {
    pub dataset: DatasetId,
    pub version: u32,
    pub curator: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeOpened {
    pub challenge: Hash,
    pub dataset: DatasetId,
    pub version: u32,
    pub content: ContentId,
    pub kind: ChallengeKind,
    pub challenger: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeAnswered {
    pub challenge: Hash,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeResolved {
    pub challenge: Hash,
    pub upheld: bool,
    pub by: AccountId,
}

/// A record was flagged because of a problem in a dataset version upstream of it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordFlagged {
    pub record: RecordRef,
    pub origin: DatasetRef,
    pub cause: FlagCause,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRegistered {
    pub run: RunId,
    pub by: AccountId,
    pub provider: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelRegistered {
    pub model: ModelId,
    pub org: OrgId,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersionRegistered {
    pub model: ModelId,
    pub version: u32,
    pub fingerprint: Hash,
    pub run: RunId,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttestationSubmitted {
    pub attestation: Hash,
    pub model: ModelId,
    pub version: u32,
    pub kind: AttestationKind,
    pub passed: bool,
    pub evaluator: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttestationRevoked {
    pub attestation: Hash,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateSet {
    pub model: ModelId,
    pub requirements: u32,
    pub by: AccountId,
}

/// A deploy or a rollback passed the gate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployed {
    pub deployment: Hash,
    pub model: ModelId,
    pub version: u32,
    pub environment: EnvId,
    pub rollback: bool,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deprecated {
    pub model: ModelId,
    pub version: u32,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecorded {
    pub decision: Hash,
    pub model: ModelId,
    pub version: u32,
    pub supersedes: Option<Hash>,
    pub operator: AccountId,
}

/// A dataset version's review rule was set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeReviewSet {
    pub dataset: DatasetId,
    pub version: u32,
    pub by: AccountId,
}

/// An organisation voted under a review quorum: on a challenge (`lift` false; `yes`
/// upholds) or on lifting an upheld challenge's flags (`lift` true; `yes` lifts).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewVoted {
    pub challenge: Hash,
    pub org: OrgId,
    pub lift: bool,
    pub yes: bool,
    pub by: AccountId,
}

/// A flag on a record was lifted on appeal (the flag stays on record, marked lifted).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagLifted {
    pub record: RecordRef,
    pub origin: DatasetRef,
    pub cause: FlagCause,
    pub by: AccountId,
}

/// A creator of another organisation registered content already registered: a
/// dispute holds both claims.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentDisputed {
    pub content: ContentId,
    pub dispute: Hash,
    pub claimant: AccountId,
}

/// A content dispute was settled; the winner's claim is the content's registration.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentDisputeResolved {
    pub content: ContentId,
    pub dispute: Hash,
    pub winner: AccountId,
    pub by: AccountId,
}

/// A model's risk policy was set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskPolicySet {
    pub model: ModelId,
    pub suspend_at_risk: bool,
    pub by: AccountId,
}

/// The model version of a deployment in force was flagged or deprecated: the
/// deployment is at risk (and suspended, if the model's risk policy says so) until it
/// is rolled back or the flag lifted.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentAtRisk {
    pub deployment: Hash,
    pub model: ModelId,
    pub version: u32,
    pub environment: EnvId,
    pub reason: String,
    pub suspended: bool,
}

/// A change loosening a model's gate was proposed: it takes effect at `effective_ms`
/// (block time) unless an org admin of another organisation approves it earlier, or a
/// later gate change supersedes it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateChangeProposed {
    pub model: ModelId,
    pub change: Hash,
    pub loosens: String,
    pub effective_ms: u64,
    pub by: AccountId,
}

/// An org admin of another organisation approved a pending gate change: it is in force.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateChangeApproved {
    pub model: ModelId,
    pub change: Hash,
    pub by: AccountId,
}

/// A pending gate change's delay passed: it is in force (emitted by the first
/// transaction that read the model's gate after the delay).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateChangeActivated {
    pub model: ModelId,
    pub change: Hash,
}

/// A pending gate change was replaced by a later one before it took effect.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateChangeSuperseded {
    pub model: ModelId,
    pub change: Hash,
    pub by: AccountId,
}
