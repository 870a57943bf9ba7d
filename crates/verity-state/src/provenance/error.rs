//! The errors of the provenance domain, each with its stable code (see [`crate::error`]).

use verity_types::Hash;

use crate::error::coded_errors;

coded_errors! {
    /// Why a provenance action (content, datasets, challenges, runs, models, attestations, gates, deployments, decisions) was refused.
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum ProvenanceError {
        /// The content is opted out of this use.
        #[error("content {content} is opted out of this use (opt-out {opt_out})")]
        OptedOut { content: Hash, opt_out: Hash } => "opted_out",
        /// The dataset's policy requires registered content.
        #[error("content {0} is not registered, and the dataset's policy requires registered content")]
        UnregisteredContent(Hash) => "unregistered_content",
        /// An item's licence differs from the content's registered licence or is not in the
        /// dataset version's declared licence set.
        #[error("content {content}: {reason}")]
        LicenceMismatch { content: Hash, reason: String } => "licence_mismatch",
        /// Enumerated items must arrive in ascending content order, and no more than declared.
        #[error("dataset {dataset}@{version}: {reason}")]
        BadItems { dataset: String, version: u32, reason: String } => "bad_items",
        /// The last item arrived and the root over all items differs from the declared root.
        #[error("dataset {dataset}@{version}: the items' root {computed} differs from the declared root {declared}")]
        RootMismatch { dataset: String, version: u32, declared: Hash, computed: Hash } => "root_mismatch",
        /// The dataset version is still waiting for items.
        #[error("dataset {dataset}@{version} is pending: {received} of {count} items received")]
        DatasetPending { dataset: String, version: u32, received: u64, count: u64 } => "dataset_pending",
        /// A Merkle proof in the action does not verify.
        #[error("invalid proof: {0}")]
        InvalidProof(String) => "invalid_proof",
        /// A challenge the ledger checks itself does not hold.
        #[error("challenge unfounded: {0}")]
        ChallengeUnfounded(String) => "challenge_unfounded",
        /// The challenge is no longer open, or its window has passed.
        #[error("challenge {challenge} is closed: {reason}")]
        ChallengeClosed { challenge: Hash, reason: String } => "challenge_closed",
        /// The attestation is malformed or does not match the ledger's records.
        #[error("invalid attestation: {0}")]
        InvalidAttestation(String) => "invalid_attestation",
        /// A record upstream of this one was flagged; it cannot be used or deployed.
        #[error("{record} is flagged ({flags} flag(s) from its lineage) and cannot be used or deployed")]
        LineageFlagged { record: String, flags: u32 } => "lineage_flagged",
        /// The model version is deprecated.
        #[error("model {model}@{version} is deprecated")]
        DeprecatedVersion { model: String, version: u32 } => "deprecated",
        /// The model has no deploy gate yet.
        #[error("model {0} has no deploy gate; its organisation must set one (an empty gate allows every deploy)")]
        NoGate(String) => "no_gate",
        /// The deploy lacks a required attestation.
        #[error("deploy of {model}@{version} to {environment} refused by the gate: {reason}")]
        GateNotSatisfied { model: String, version: u32, environment: String, reason: String } => "gate_not_satisfied",
        /// The rollback does not go back to an earlier version of what is deployed.
        #[error("invalid rollback: {0}")]
        InvalidRollback(String) => "invalid_rollback",
        /// The decision may not be corrected by this account, or was already superseded.
        #[error("correction refused: {0}")]
        CorrectionRefused(String) => "correction_refused",
        /// The chain of base models would grow beyond its limit.
        #[error("lineage too deep: {0}")]
        LineageTooDeep(String) => "lineage_too_deep",
        /// The flags of a challenge cannot be lifted (it was not upheld, they are already
        /// lifted, or the opt-out that upheld it still stands).
        #[error("flags of challenge {challenge} cannot be lifted: {reason}")]
        LiftRefused { challenge: Hash, reason: String } => "lift_refused",
        /// The model version's deployment in force is suspended by the model's risk policy.
        #[error("the deployment of {model}@{version} to {environment} is suspended ({reason}); roll it back or lift the flag first")]
        DeploymentSuspended { model: String, version: u32, environment: String, reason: String } => "deployment_suspended",
        /// The gate change an approval names is not the model's pending change any more
        /// (approved, in force after its delay, or superseded).
        #[error("gate change {change} of model {model} is not pending: {status}")]
        GateChangeNotPending { model: String, change: Hash, status: &'static str } => "gate_change_not_pending",
    }
}
