//! The registry of events: the [`Event`] enum a receipt records, one variant per kind
//! of event. Each event is a struct in its domain's module ([`crate::identity`],
//! [`crate::bank`], [`crate::provenance`], [`crate::consensus`]); this file only lists
//! them, in borsh tag order. Events are stored in receipts and streamed by the node.
//!
//! Variants are only ever appended: the borsh tag is the position in this list, and the
//! JSON `type` is the name beside each variant.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::bank::*;
use crate::consensus::*;
use crate::governance::*;
use crate::identity::*;
use crate::ids::AccountId;
use crate::provenance::*;

/// Declares [`Event`] from groups of `Variant = "json_name"` lines (the variant wraps the
/// struct of the same name), one group per domain (a domain may have several groups,
/// since variants are only appended), and derives each event's domain and a `From`
/// conversion from its struct.
macro_rules! events {
    ($($module:ident { $($variant:ident = $name:literal,)* })*) => {
        /// A typed event. Variants are only ever appended.
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[serde(tag = "type")]
        #[borsh(use_discriminant = false)]
        pub enum Event {
            $($(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                #[serde(rename = $name)]
                $variant($variant),
            )*)*
        }

        impl Event {
            /// The domain that emitted the event.
            pub fn module(&self) -> &'static str {
                match self {
                    $($(Event::$variant(_) => stringify!($module),)*)*
                }
            }
        }

        #[cfg(feature = "openapi")]
        crate::openapi::tagged_structs_schema!(Event, $($(($name, $variant)),*),*);

        $($(
            impl From<$variant> for Event {
                fn from(event: $variant) -> Self {
                    Event::$variant(event)
                }
            }
        )*)*
    };
}

events! {
identity {
    AccountCreated = "account_created",
    RoleGranted = "role_granted",
    RoleRevoked = "role_revoked",
    KeyRotated = "key_rotated",
}
bank {
    Transferred = "transferred",
    Minted = "minted",
    Burned = "burned",
    EscrowLocked = "escrow_locked",
    EscrowReleased = "escrow_released",
    EscrowRefunded = "escrow_refunded",
}
provenance {
    ContentRegistered = "content_registered",
    OptedOut = "opted_out",
    OptOutWithdrawn = "opt_out_withdrawn",
    DatasetPublished = "dataset_published",
    DatasetItemsAdded = "dataset_items_added",
    DatasetCompleted = "dataset_completed",
    ChallengeOpened = "challenge_opened",
    ChallengeAnswered = "challenge_answered",
    ChallengeResolved = "challenge_resolved",
    RecordFlagged = "record_flagged",
    RunRegistered = "run_registered",
    ModelRegistered = "model_registered",
    ModelVersionRegistered = "model_version_registered",
    AttestationSubmitted = "attestation_submitted",
    AttestationRevoked = "attestation_revoked",
    GateSet = "gate_set",
    Deployed = "deployed",
    Deprecated = "deprecated",
    DecisionRecorded = "decision_recorded",
}
consensus {
    EquivocationRecorded = "equivocation_recorded",
    ValidatorChangeScheduled = "validator_change_scheduled",
}
provenance {
    ChallengeReviewSet = "challenge_review_set",
    ReviewVoted = "review_voted",
    FlagLifted = "flag_lifted",
    ContentDisputed = "content_disputed",
    ContentDisputeResolved = "content_dispute_resolved",
    RiskPolicySet = "risk_policy_set",
    DeploymentAtRisk = "deployment_at_risk",
    GateChangeProposed = "gate_change_proposed",
    GateChangeApproved = "gate_change_approved",
    GateChangeActivated = "gate_change_activated",
    GateChangeSuperseded = "gate_change_superseded",
}
governance {
    ProposalCreated = "proposal_created",
    VoteCast = "vote_cast",
    Vetoed = "vetoed",
    Ratified = "ratified",
    ProposalCancelled = "proposal_cancelled",
    ProposalConcluded = "proposal_concluded",
    AnalysisAttached = "analysis_attached",
    MotionApproved = "motion_approved",
    TreasuryFunded = "treasury_funded",
    Bonded = "bonded",
    Unbonded = "unbonded",
    Withdrawn = "withdrawn",
    Slashed = "slashed",
    RewardsClaimed = "rewards_claimed",
}
}

impl Event {
    /// Every account the event concerns (for filtering streams by account).
    pub fn accounts(&self) -> Vec<&AccountId> {
        match self {
            Event::AccountCreated(AccountCreated { account, .. }) | Event::KeyRotated(KeyRotated { account, .. }) => {
                vec![account]
            }
            Event::RoleGranted(RoleGranted { account, by, .. })
            | Event::RoleRevoked(RoleRevoked { account, by, .. }) => vec![account, by],
            Event::Transferred(Transferred { from, to, .. }) => vec![from, to],
            Event::Minted(Minted { to, by, .. }) => vec![to, by],
            Event::Burned(Burned { from, .. }) => vec![from],
            Event::EscrowLocked(EscrowLocked { depositor, arbiter, .. }) => vec![depositor, arbiter],
            Event::EscrowReleased(EscrowReleased { splits, .. }) => splits.iter().map(|(a, _)| a).collect(),
            Event::EscrowRefunded(EscrowRefunded { depositor, .. }) => vec![depositor],
            Event::ContentRegistered(ContentRegistered { creator: a, .. })
            | Event::OptedOut(OptedOut { by: a, .. })
            | Event::OptOutWithdrawn(OptOutWithdrawn { by: a, .. })
            | Event::DatasetPublished(DatasetPublished { curator: a, .. })
            | Event::DatasetItemsAdded(DatasetItemsAdded { curator: a, .. })
            | Event::DatasetCompleted(DatasetCompleted { curator: a, .. })
            | Event::ChallengeOpened(ChallengeOpened { challenger: a, .. })
            | Event::ChallengeAnswered(ChallengeAnswered { by: a, .. })
            | Event::ChallengeResolved(ChallengeResolved { by: a, .. })
            | Event::ModelRegistered(ModelRegistered { by: a, .. })
            | Event::ModelVersionRegistered(ModelVersionRegistered { by: a, .. })
            | Event::AttestationSubmitted(AttestationSubmitted { evaluator: a, .. })
            | Event::AttestationRevoked(AttestationRevoked { by: a, .. })
            | Event::GateSet(GateSet { by: a, .. })
            | Event::Deployed(Deployed { by: a, .. })
            | Event::Deprecated(Deprecated { by: a, .. })
            | Event::DecisionRecorded(DecisionRecorded { operator: a, .. }) => vec![a],
            Event::RunRegistered(RunRegistered { by, provider, .. }) => vec![by, provider],
            Event::RecordFlagged(_) => vec![],
            Event::EquivocationRecorded(EquivocationRecorded { reported_by, .. }) => vec![reported_by],
            Event::ValidatorChangeScheduled(ValidatorChangeScheduled { by, .. }) => vec![by],
            Event::ChallengeReviewSet(ChallengeReviewSet { by, .. })
            | Event::ReviewVoted(ReviewVoted { by, .. })
            | Event::FlagLifted(FlagLifted { by, .. }) => {
                vec![by]
            }
            Event::ContentDisputed(ContentDisputed { claimant, .. }) => vec![claimant],
            Event::ContentDisputeResolved(ContentDisputeResolved { winner, by, .. }) => vec![winner, by],
            Event::RiskPolicySet(RiskPolicySet { by, .. }) => vec![by],
            Event::DeploymentAtRisk(_) => vec![],
            Event::GateChangeProposed(GateChangeProposed { by, .. })
            | Event::GateChangeApproved(GateChangeApproved { by, .. })
            | Event::GateChangeSuperseded(GateChangeSuperseded { by, .. }) => vec![by],
            Event::GateChangeActivated(_) => vec![],
            Event::ProposalCreated(ProposalCreated { by, .. })
            | Event::VoteCast(VoteCast { by, .. })
            | Event::Vetoed(Vetoed { by, .. })
            | Event::Ratified(Ratified { by, .. })
            | Event::ProposalCancelled(ProposalCancelled { by, .. })
            | Event::AnalysisAttached(AnalysisAttached { by, .. })
            | Event::MotionApproved(MotionApproved { by, .. })
            | Event::TreasuryFunded(TreasuryFunded { by, .. }) => vec![by],
            Event::ProposalConcluded(_) => vec![],
            Event::Bonded(Bonded { account, .. })
            | Event::Unbonded(Unbonded { account, .. })
            | Event::Withdrawn(Withdrawn { account, .. })
            | Event::RewardsClaimed(RewardsClaimed { account, .. }) => vec![account],
            Event::Slashed(Slashed { account, beneficiary, .. }) => {
                let mut a = vec![account];
                a.extend(beneficiary.as_ref());
                a
            }
        }
    }
}
