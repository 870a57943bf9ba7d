//! Events emitted by the state machine, stored in receipts and streamed by the node.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::evidence::Offence;
use crate::hash::Hash;
use crate::ids::{AccountId, AssetId, EscrowId, OrgId, Role};
use crate::keys::PublicKey;
use crate::provenance::{
    AttestationKind, ChallengeKind, ContentId, DatasetId, DatasetMode, DatasetRef, EnvId, FlagCause, ModelId,
    RecordRef, RunId,
};

/// A typed event. Variants are only ever appended.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum Event {
    AccountCreated {
        account: AccountId,
        org: OrgId,
        public_key: PublicKey,
        roles: Vec<Role>,
    },
    RoleGranted {
        account: AccountId,
        role: Role,
        by: AccountId,
    },
    RoleRevoked {
        account: AccountId,
        role: Role,
        by: AccountId,
    },
    KeyRotated {
        account: AccountId,
        public_key: PublicKey,
    },
    Transferred {
        from: AccountId,
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    Minted {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        by: AccountId,
    },
    Burned {
        from: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    EscrowLocked {
        escrow: EscrowId,
        depositor: AccountId,
        arbiter: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    EscrowReleased {
        escrow: EscrowId,
        asset: AssetId,
        #[serde(with = "crate::amount::splits")]
        splits: Vec<(AccountId, u128)>,
    },
    EscrowRefunded {
        escrow: EscrowId,
        depositor: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },

    // ----- provenance -----
    ContentRegistered {
        content: ContentId,
        creator: AccountId,
    },
    OptedOut {
        content: ContentId,
        opt_out: Hash,
        by: AccountId,
    },
    OptOutWithdrawn {
        content: ContentId,
        opt_out: Hash,
        by: AccountId,
    },
    /// A dataset version's commitments were published (root-only versions are complete;
    /// enumerated ones wait for their items).
    DatasetPublished {
        dataset: DatasetId,
        version: u32,
        mode: DatasetMode,
        curator: AccountId,
    },
    DatasetItemsAdded {
        dataset: DatasetId,
        version: u32,
        received: u64,
        count: u64,
        curator: AccountId,
    },
    /// An enumerated version received its last item and its root matched.
    DatasetCompleted {
        dataset: DatasetId,
        version: u32,
        curator: AccountId,
    },
    ChallengeOpened {
        challenge: Hash,
        dataset: DatasetId,
        version: u32,
        content: ContentId,
        kind: ChallengeKind,
        challenger: AccountId,
    },
    ChallengeAnswered {
        challenge: Hash,
        by: AccountId,
    },
    ChallengeResolved {
        challenge: Hash,
        upheld: bool,
        by: AccountId,
    },
    /// A record was flagged because of a problem in a dataset version upstream of it.
    RecordFlagged {
        record: RecordRef,
        origin: DatasetRef,
        cause: FlagCause,
    },
    RunRegistered {
        run: RunId,
        by: AccountId,
        provider: AccountId,
    },
    ModelRegistered {
        model: ModelId,
        org: OrgId,
        by: AccountId,
    },
    ModelVersionRegistered {
        model: ModelId,
        version: u32,
        fingerprint: Hash,
        run: RunId,
        by: AccountId,
    },
    AttestationSubmitted {
        attestation: Hash,
        model: ModelId,
        version: u32,
        kind: AttestationKind,
        passed: bool,
        evaluator: AccountId,
    },
    AttestationRevoked {
        attestation: Hash,
        by: AccountId,
    },
    GateSet {
        model: ModelId,
        requirements: u32,
        by: AccountId,
    },
    /// A deploy or a rollback passed the gate.
    Deployed {
        deployment: Hash,
        model: ModelId,
        version: u32,
        environment: EnvId,
        rollback: bool,
        by: AccountId,
    },
    Deprecated {
        model: ModelId,
        version: u32,
        by: AccountId,
    },
    DecisionRecorded {
        decision: Hash,
        model: ModelId,
        version: u32,
        supersedes: Option<Hash>,
        operator: AccountId,
    },
    /// Evidence that a validator equivocated was verified and recorded (entry `sequence`
    /// of the evidence list).
    EquivocationRecorded {
        validator: PublicKey,
        org: OrgId,
        epoch: u64,
        view: u64,
        offence: Offence,
        sequence: u64,
        reported_by: AccountId,
    },
    /// A validator-set change was approved and waits for the start of `epoch`.
    ValidatorChangeScheduled {
        epoch: u64,
        ops: Vec<crate::validators::ValidatorOp>,
        approving_orgs: Vec<OrgId>,
        by: AccountId,
    },

    // ----- provenance (appended later) -----
    /// A dataset version's review rule was set.
    ChallengeReviewSet {
        dataset: DatasetId,
        version: u32,
        by: AccountId,
    },
    /// An organisation voted under a review quorum: on a challenge (`lift` false; `yes`
    /// upholds) or on lifting an upheld challenge's flags (`lift` true; `yes` lifts).
    ReviewVoted {
        challenge: Hash,
        org: OrgId,
        lift: bool,
        yes: bool,
        by: AccountId,
    },
    /// A flag on a record was lifted on appeal (the flag stays on record, marked lifted).
    FlagLifted {
        record: RecordRef,
        origin: DatasetRef,
        cause: FlagCause,
        by: AccountId,
    },
    /// A creator of another organisation registered content already registered: a
    /// dispute holds both claims.
    ContentDisputed {
        content: ContentId,
        dispute: Hash,
        claimant: AccountId,
    },
    /// A content dispute was settled; the winner's claim is the content's registration.
    ContentDisputeResolved {
        content: ContentId,
        dispute: Hash,
        winner: AccountId,
        by: AccountId,
    },
    /// A model's risk policy was set.
    RiskPolicySet {
        model: ModelId,
        suspend_at_risk: bool,
        by: AccountId,
    },
    /// The model version of a deployment in force was flagged or deprecated: the
    /// deployment is at risk (and suspended, if the model's risk policy says so) until it
    /// is rolled back or the flag lifted.
    DeploymentAtRisk {
        deployment: Hash,
        model: ModelId,
        version: u32,
        environment: EnvId,
        reason: String,
        suspended: bool,
    },
    /// A change loosening a model's gate was proposed: it takes effect at `effective_ms`
    /// (block time) unless an org admin of another organisation approves it earlier, or a
    /// later gate change supersedes it.
    GateChangeProposed {
        model: ModelId,
        change: Hash,
        loosens: String,
        effective_ms: u64,
        by: AccountId,
    },
    /// An org admin of another organisation approved a pending gate change: it is in force.
    GateChangeApproved {
        model: ModelId,
        change: Hash,
        by: AccountId,
    },
    /// A pending gate change's delay passed: it is in force (emitted by the first
    /// transaction that read the model's gate after the delay).
    GateChangeActivated {
        model: ModelId,
        change: Hash,
    },
    /// A pending gate change was replaced by a later one before it took effect.
    GateChangeSuperseded {
        model: ModelId,
        change: Hash,
        by: AccountId,
    },
}

impl Event {
    /// The module that emitted the event.
    pub fn module(&self) -> &'static str {
        match self {
            Event::AccountCreated { .. }
            | Event::RoleGranted { .. }
            | Event::RoleRevoked { .. }
            | Event::KeyRotated { .. } => "identity",
            Event::Transferred { .. }
            | Event::Minted { .. }
            | Event::Burned { .. }
            | Event::EscrowLocked { .. }
            | Event::EscrowReleased { .. }
            | Event::EscrowRefunded { .. } => "bank",
            Event::EquivocationRecorded { .. } | Event::ValidatorChangeScheduled { .. } => "consensus",
            _ => "provenance",
        }
    }

    /// Every account the event concerns (for filtering streams by account).
    pub fn accounts(&self) -> Vec<&AccountId> {
        match self {
            Event::AccountCreated { account, .. } | Event::KeyRotated { account, .. } => vec![account],
            Event::RoleGranted { account, by, .. } | Event::RoleRevoked { account, by, .. } => vec![account, by],
            Event::Transferred { from, to, .. } => vec![from, to],
            Event::Minted { to, by, .. } => vec![to, by],
            Event::Burned { from, .. } => vec![from],
            Event::EscrowLocked { depositor, arbiter, .. } => vec![depositor, arbiter],
            Event::EscrowReleased { splits, .. } => splits.iter().map(|(a, _)| a).collect(),
            Event::EscrowRefunded { depositor, .. } => vec![depositor],
            Event::ContentRegistered { creator: a, .. }
            | Event::OptedOut { by: a, .. }
            | Event::OptOutWithdrawn { by: a, .. }
            | Event::DatasetPublished { curator: a, .. }
            | Event::DatasetItemsAdded { curator: a, .. }
            | Event::DatasetCompleted { curator: a, .. }
            | Event::ChallengeOpened { challenger: a, .. }
            | Event::ChallengeAnswered { by: a, .. }
            | Event::ChallengeResolved { by: a, .. }
            | Event::ModelRegistered { by: a, .. }
            | Event::ModelVersionRegistered { by: a, .. }
            | Event::AttestationSubmitted { evaluator: a, .. }
            | Event::AttestationRevoked { by: a, .. }
            | Event::GateSet { by: a, .. }
            | Event::Deployed { by: a, .. }
            | Event::Deprecated { by: a, .. }
            | Event::DecisionRecorded { operator: a, .. } => vec![a],
            Event::RunRegistered { by, provider, .. } => vec![by, provider],
            Event::RecordFlagged { .. } => vec![],
            Event::EquivocationRecorded { reported_by, .. } => vec![reported_by],
            Event::ValidatorChangeScheduled { by, .. } => vec![by],
            Event::ChallengeReviewSet { by, .. } | Event::ReviewVoted { by, .. } | Event::FlagLifted { by, .. } => {
                vec![by]
            }
            Event::ContentDisputed { claimant, .. } => vec![claimant],
            Event::ContentDisputeResolved { winner, by, .. } => vec![winner, by],
            Event::RiskPolicySet { by, .. } => vec![by],
            Event::DeploymentAtRisk { .. } => vec![],
            Event::GateChangeProposed { by, .. }
            | Event::GateChangeApproved { by, .. }
            | Event::GateChangeSuperseded { by, .. } => vec![by],
            Event::GateChangeActivated { .. } => vec![],
        }
    }
}
