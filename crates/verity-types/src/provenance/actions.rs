//! The provenance actions, one struct per action. The rules that run them are in
//! verity-state's `provenance` module.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::AccountId;
use crate::keys::Signature;
use crate::limits::{CHALLENGE_WINDOW_MAX, DATASET_CHUNK_ITEMS_MAX, MANIFEST_ITEMS_MAX, RUN_DATASETS_MAX};
use crate::proof::InclusionProof;

use super::*;

/// One item of an enumerated dataset version.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetItem {
    pub content: ContentId,
    pub licence: Licence,
}

fn positive_version(v: u32) -> Result<(), TypesError> {
    if v == 0 {
        return Err(TypesError::InvalidField { field: "version", reason: "versions start at 1".into() });
    }
    Ok(())
}

fn check_review(review: &ReviewLayer) -> Result<(), TypesError> {
    match review {
        ReviewLayer::None => Ok(()),
        ReviewLayer::Human(a) => a.validate(),
    }
}

/// A creator registers content by its SHA-256, with its licence and payout split.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterContent {
    pub content: ContentId,
    pub media_type: String,
    pub licence: Licence,
    pub payout: Vec<PayoutShare>,
}

impl RegisterContent {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { media_type, licence, payout, .. } = self;
        check_text("media_type", media_type, 128)?;
        licence.validate()?;
        check_payout(payout)
    }
}

/// The content's creator (or an admin of its organisation) opts it out of training.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutContent {
    pub content: ContentId,
    pub scope: OptOutScope,
    pub reason: String,
}

impl OptOutContent {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { scope, reason, .. } = self;
        scope.validate()?;
        check_reason("reason", reason)
    }
}

/// Withdraws an opt-out (it stays on record, marked withdrawn).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WithdrawOptOut {
    pub opt_out: Hash,
}

impl WithdrawOptOut {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        Ok(())
    }
}

/// A curator publishes a dataset version's commitments. Enumerated versions then
/// receive their items with [`Action::AddDatasetItems`]; root-only versions are
/// published at once.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishDataset {
    pub dataset: DatasetId,
    pub version: u32,
    pub manifest_hash: Hash,
    pub root: Hash,
    pub count: u64,
    pub licences: Vec<Licence>,
    pub mode: DatasetMode,
    pub policy: DatasetPolicy,
    pub supersedes: Option<u32>,
    pub reviewers: Vec<AccountId>,
    pub challenge_window: u64,
}

impl PublishDataset {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { dataset, version, count, licences, supersedes, reviewers, challenge_window, .. } = self;
        dataset.validate()?;
        positive_version(*version)?;
        if *count == 0 || *count > MANIFEST_ITEMS_MAX as u64 {
            return Err(TypesError::InvalidField {
                field: "count",
                reason: format!("must be 1 to {}", MANIFEST_ITEMS_MAX),
            });
        }
        if let Some(s) = supersedes {
            if *s == 0 || *s >= *version {
                return Err(TypesError::InvalidField {
                    field: "supersedes",
                    reason: "must name an earlier version".into(),
                });
            }
        }
        if *challenge_window == 0 || *challenge_window > CHALLENGE_WINDOW_MAX {
            return Err(TypesError::InvalidField {
                field: "challenge_window",
                reason: format!("must be 1 to {CHALLENGE_WINDOW_MAX} heights"),
            });
        }
        check_licences(licences)?;
        check_reviewers(reviewers)
    }
}

/// The next chunk of an enumerated dataset version's items, in ascending content order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddDatasetItems {
    pub dataset: DatasetId,
    pub version: u32,
    pub items: Vec<DatasetItem>,
}

impl AddDatasetItems {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { dataset, version, items } = self;
        dataset.validate()?;
        positive_version(*version)?;
        if items.is_empty() || items.len() > DATASET_CHUNK_ITEMS_MAX {
            return Err(TypesError::InvalidField {
                field: "items",
                reason: format!("a chunk holds 1 to {DATASET_CHUNK_ITEMS_MAX} items, got {}", items.len()),
            });
        }
        check_sorted_unique("items", items, |i| i.content)?;
        items.iter().try_for_each(|i| i.licence.validate())
    }
}

/// Any account challenges one item of a dataset version, proving the item is in it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeItem {
    pub dataset: DatasetId,
    pub version: u32,
    pub content: ContentId,
    pub kind: ChallengeKind,
    pub evidence: Hash,
    /// That the content is an item of the version (required: a challenge without it is
    /// refused; an old transaction without one still decodes).
    pub proof: Option<InclusionProof>,
}

impl ChallengeItem {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { dataset, version, .. } = self;
        dataset.validate()?;
        positive_version(*version)
    }
}

/// The dataset version's curator answers an open challenge.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnswerChallenge {
    pub challenge: Hash,
    pub response: Hash,
}

impl AnswerChallenge {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        Ok(())
    }
}

/// A reviewer resolves an open challenge within its window.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveChallenge {
    pub challenge: Hash,
    pub upheld: bool,
    pub reason: String,
}

impl ResolveChallenge {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { reason, .. } = self;
        check_reason("reason", reason)
    }
}

/// A model owner registers a training run, vouched for by its compute provider.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRun {
    pub run: RunId,
    pub datasets: Vec<DatasetRef>,
    pub base_model: Option<ModelVersionRef>,
    pub code_commit: String,
    pub hyperparams_hash: Hash,
    pub training_date: String,
    pub team: String,
    pub run_log_hash: Hash,
    pub provider: AccountId,
    pub provider_signature: Signature,
}

impl RegisterRun {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { run, datasets, base_model, code_commit, training_date, team, provider, .. } = self;
        run.validate()?;
        if datasets.is_empty() || datasets.len() > RUN_DATASETS_MAX {
            return Err(TypesError::InvalidField {
                field: "datasets",
                reason: format!("a run uses 1 to {RUN_DATASETS_MAX} dataset versions"),
            });
        }
        check_sorted_unique("datasets", datasets, |d| d.clone())?;
        for d in datasets {
            d.dataset.validate()?;
            positive_version(d.version)?;
        }
        if let Some(b) = base_model {
            b.model.validate()?;
            positive_version(b.version)?;
        }
        check_commit(code_commit)?;
        check_date("training_date", training_date)?;
        check_text("team", team, 128)?;
        provider.validate()
    }
}

/// A model owner registers a model of its organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterModel {
    pub model: ModelId,
    pub description: String,
}

impl RegisterModel {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, description } = self;
        model.validate()?;
        check_reason("description", description)
    }
}

/// A model owner registers the next version of a model by its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterModelVersion {
    pub model: ModelId,
    pub version: u32,
    pub fingerprint: Hash,
    pub run: RunId,
}

impl RegisterModelVersion {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, version, run, .. } = self;
        model.validate()?;
        positive_version(*version)?;
        run.validate()
    }
}

/// An evaluator submits a signed evaluation attestation (a DSSE envelope holding an
/// in-toto statement about a model version's fingerprint).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitAttestation {
    pub envelope: Envelope,
}

impl SubmitAttestation {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { envelope } = self;
        envelope.validate()
    }
}

/// The attestation's evaluator (or an admin of its organisation) revokes it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeAttestation {
    pub attestation: Hash,
    pub reason: String,
}

impl RevokeAttestation {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { reason, .. } = self;
        check_reason("reason", reason)
    }
}

/// The model's organisation sets its deploy gate (requirements only: no defaults for
/// unlisted environments, no independence). A change that loosens the gate in force
/// waits for another organisation's approval (`ApproveGateChange`) or
/// `GATE_CHANGE_DELAY_MS` of block time; the first gate and a tightening apply at once.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetGate {
    pub model: ModelId,
    pub requirements: Vec<GateRequirement>,
}

impl SetGate {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, requirements } = self;
        model.validate()?;
        check_gate(requirements)
    }
}

/// A deployer deploys a model version to an environment, if it passes the gate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    pub model: ModelId,
    pub version: u32,
    pub environment: EnvId,
}

impl Deploy {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, version, environment } = self;
        model.validate()?;
        environment.validate()?;
        positive_version(*version)
    }
}

/// A deployer rolls an environment back to an earlier version (which must pass the gate).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollback {
    pub model: ModelId,
    pub environment: EnvId,
    pub to_version: u32,
    pub reason: String,
}

impl Rollback {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, environment, to_version, reason } = self;
        model.validate()?;
        environment.validate()?;
        positive_version(*to_version)?;
        check_reason("reason", reason)
    }
}

/// A model version is deprecated; it can never be deployed again.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deprecate {
    pub model: ModelId,
    pub version: u32,
    pub reason: String,
}

impl Deprecate {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, version, reason } = self;
        model.validate()?;
        positive_version(*version)?;
        check_reason("reason", reason)
    }
}

/// An operator records a decision made by a model version.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordDecision {
    pub model: ModelId,
    pub version: u32,
    pub input_commitment: Hash,
    pub output_hash: Hash,
    pub review: ReviewLayer,
    pub binding: bool,
    pub correction_policy: CorrectionPolicy,
    pub context: String,
}

impl RecordDecision {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, version, review, context, .. } = self;
        model.validate()?;
        positive_version(*version)?;
        check_review(review)?;
        check_reason("context", context)
    }
}

/// Records a correction that supersedes a decision (both stay on record).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectDecision {
    pub decision: Hash,
    pub output_hash: Hash,
    pub review: ReviewLayer,
    pub reason: String,
}

impl CorrectDecision {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { review, reason, .. } = self;
        check_review(review)?;
        check_reason("reason", reason)
    }
}

/// A curator or org admin of the dataset's organisation sets who decides the version's
/// challenges from now on (challenges already open keep the rule they were opened under).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetChallengeReview {
    pub dataset: DatasetId,
    pub version: u32,
    pub review: ChallengeReview,
}

impl SetChallengeReview {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { dataset, version, review } = self;
        dataset.validate()?;
        positive_version(*version)?;
        review.validate()
    }
}

/// An appeal of an upheld challenge granted: lifts its flags (on the dataset version
/// and everything downstream), by the review rule the challenge was decided under.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiftFlags {
    pub challenge: Hash,
    pub reason: String,
}

impl LiftFlags {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { reason, .. } = self;
        check_reason("reason", reason)
    }
}

/// Settles a content dispute in favour of one claimant (a neutral organisation's admin,
/// or the other side conceding).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveContentDispute {
    pub dispute: Hash,
    pub winner: AccountId,
    pub reason: String,
}

impl ResolveContentDispute {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { winner, reason, .. } = self;
        winner.validate()?;
        check_reason("reason", reason)
    }
}

/// The model's organisation says what happens to a deployment in force whose model
/// version is flagged or deprecated after it was deployed: reported as at risk only,
/// or also suspended (no decisions are recorded against it until it is rolled back or
/// the flag is lifted).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetRiskPolicy {
    pub model: ModelId,
    pub suspend_at_risk: bool,
}

impl SetRiskPolicy {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, .. } = self;
        model.validate()
    }
}

/// The model's organisation sets its deploy gate with all its rules (what unlisted
/// environments need, independent evaluation). Like `SetGate`, a change that loosens
/// the gate in force waits for another organisation's approval or a delay.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetGateRules {
    pub model: ModelId,
    pub rules: GateRules,
}

impl SetGateRules {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, rules } = self;
        model.validate()?;
        rules.validate()
    }
}

/// An org admin of an organisation other than the model's approves the model's pending
/// gate change `change` (its id), which takes effect at once.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveGateChange {
    pub model: ModelId,
    pub change: Hash,
}

impl ApproveGateChange {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { model, .. } = self;
        model.validate()
    }
}
