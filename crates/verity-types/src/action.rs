//! The typed actions a transaction can carry, one enum variant per action, grouped by
//! module. Variants are only ever appended (the borsh tag is the declaration order).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::error::TypesError;
use crate::evidence::Equivocation;
use crate::hash::Hash;
use crate::ids::{AccountId, AssetId, EscrowId, OrgId, Role};
use crate::keys::{PublicKey, Signature};
use crate::limits::{
    CHALLENGE_WINDOW_MAX, DATASET_CHUNK_ITEMS_MAX, ESCROW_SPLITS_MAX, MEMO_BYTES_MAX, ROLES_PER_ACCOUNT_MAX,
    RUN_DATASETS_MAX,
};
use crate::proof::InclusionProof;
use crate::provenance::{
    check_commit, check_date, check_gate, check_licences, check_payout, check_reason, check_reviewers,
    check_sorted_unique, check_text, ChallengeKind, ChallengeReview, ContentId, CorrectionPolicy, DatasetId,
    DatasetMode, DatasetPolicy, DatasetRef, EnvId, GateRequirement, GateRules, Licence, ModelId, ModelVersionRef,
    OptOutScope, PayoutShare, ReviewLayer, RunId,
};
use crate::validators::{Approval, ValidatorChange};

/// One typed action. Each names the roles allowed to take it (see verity-state).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum Action {
    // ----- identity -----
    /// An org admin creates an account in its own organisation.
    CreateAccount { account: AccountId, public_key: PublicKey, org: OrgId, roles: Vec<Role> },
    /// An org admin grants a role to an account of its organisation.
    GrantRole { account: AccountId, role: Role },
    /// An org admin revokes a role from an account of its organisation.
    RevokeRole { account: AccountId, role: Role },
    /// An account replaces its own signing key (or its org admin does it for the account).
    RotateKey { account: AccountId, public_key: PublicKey },

    // ----- bank -----
    /// Moves `amount` of `asset` from the sender to `to`.
    Transfer {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        memo: String,
    },
    /// Creates `amount` of `asset` for `to`, allowed only by the asset's genesis mint rule.
    Mint {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    /// Destroys `amount` of the sender's `asset`.
    Burn {
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
    },
    /// Locks `amount` of the sender's `asset` in a new escrow (id = this transaction's
    /// hash). `arbiter` may release or refund it; the depositor may refund it once the
    /// chain reaches `refund_after_height`, if it is set.
    EscrowLock {
        asset: AssetId,
        #[serde(with = "crate::amount")]
        amount: u128,
        arbiter: AccountId,
        refund_after_height: Option<u64>,
        memo: String,
    },
    /// The arbiter releases an open escrow to recipients; the amounts must add up to the
    /// escrowed amount exactly.
    EscrowRelease {
        escrow: EscrowId,
        #[serde(with = "crate::amount::splits")]
        splits: Vec<(AccountId, u128)>,
    },
    /// Returns an open escrow to its depositor (arbiter any time, depositor after the
    /// refund height).
    EscrowRefund { escrow: EscrowId },

    // ----- provenance -----
    /// A creator registers content by its SHA-256, with its licence and payout split.
    RegisterContent { content: ContentId, media_type: String, licence: Licence, payout: Vec<PayoutShare> },
    /// The content's creator (or an admin of its organisation) opts it out of training.
    OptOut { content: ContentId, scope: OptOutScope, reason: String },
    /// Withdraws an opt-out (it stays on record, marked withdrawn).
    WithdrawOptOut { opt_out: Hash },
    /// A curator publishes a dataset version's commitments. Enumerated versions then
    /// receive their items with [`Action::AddDatasetItems`]; root-only versions are
    /// published at once.
    PublishDataset {
        dataset: DatasetId,
        version: u32,
        manifest_hash: Hash,
        root: Hash,
        count: u64,
        licences: Vec<Licence>,
        mode: DatasetMode,
        policy: DatasetPolicy,
        supersedes: Option<u32>,
        reviewers: Vec<AccountId>,
        challenge_window: u64,
    },
    /// The next chunk of an enumerated dataset version's items, in ascending content order.
    AddDatasetItems { dataset: DatasetId, version: u32, items: Vec<DatasetItem> },
    /// Any account challenges one item of a dataset version, proving the item is in it.
    ChallengeItem {
        dataset: DatasetId,
        version: u32,
        content: ContentId,
        kind: ChallengeKind,
        evidence: Hash,
        /// That the content is an item of the version (required: a challenge without it is
        /// refused; an old transaction without one still decodes).
        proof: Option<InclusionProof>,
    },
    /// The dataset version's curator answers an open challenge.
    AnswerChallenge { challenge: Hash, response: Hash },
    /// A reviewer resolves an open challenge within its window.
    ResolveChallenge { challenge: Hash, upheld: bool, reason: String },
    /// A model owner registers a training run, vouched for by its compute provider.
    RegisterRun {
        run: RunId,
        datasets: Vec<DatasetRef>,
        base_model: Option<ModelVersionRef>,
        code_commit: String,
        hyperparams_hash: Hash,
        training_date: String,
        team: String,
        run_log_hash: Hash,
        provider: AccountId,
        provider_signature: Signature,
    },
    /// A model owner registers a model of its organisation.
    RegisterModel { model: ModelId, description: String },
    /// A model owner registers the next version of a model by its fingerprint.
    RegisterModelVersion { model: ModelId, version: u32, fingerprint: Hash, run: RunId },
    /// An evaluator submits a signed evaluation attestation (a DSSE envelope holding an
    /// in-toto statement about a model version's fingerprint).
    SubmitAttestation { envelope: Envelope },
    /// The attestation's evaluator (or an admin of its organisation) revokes it.
    RevokeAttestation { attestation: Hash, reason: String },
    /// The model's organisation sets its deploy gate (requirements only: no defaults for
    /// unlisted environments, no independence). A change that loosens the gate in force
    /// waits for another organisation's approval (`ApproveGateChange`) or
    /// `GATE_CHANGE_DELAY_MS` of block time; the first gate and a tightening apply at once.
    SetGate { model: ModelId, requirements: Vec<GateRequirement> },
    /// A deployer deploys a model version to an environment, if it passes the gate.
    Deploy { model: ModelId, version: u32, environment: EnvId },
    /// A deployer rolls an environment back to an earlier version (which must pass the gate).
    Rollback { model: ModelId, environment: EnvId, to_version: u32, reason: String },
    /// A model version is deprecated; it can never be deployed again.
    Deprecate { model: ModelId, version: u32, reason: String },
    /// An operator records a decision made by a model version.
    RecordDecision {
        model: ModelId,
        version: u32,
        input_commitment: Hash,
        output_hash: Hash,
        review: ReviewLayer,
        binding: bool,
        correction_policy: CorrectionPolicy,
        context: String,
    },
    /// Records a correction that supersedes a decision (both stay on record).
    CorrectDecision { decision: Hash, output_hash: Hash, review: ReviewLayer, reason: String },

    // ----- consensus -----
    /// Records evidence that a validator equivocated (any account may report it: the
    /// evidence carries the validator's own signatures).
    ReportEquivocation { evidence: Equivocation },
    /// Schedules a validator-set change for the start of `change.epoch`, approved by
    /// admins of more than two thirds of the organisations (any account may submit it).
    ChangeValidators { change: ValidatorChange, approvals: Vec<Approval> },

    // ----- provenance (appended later) -----
    /// A curator or org admin of the dataset's organisation sets who decides the version's
    /// challenges from now on (challenges already open keep the rule they were opened under).
    SetChallengeReview { dataset: DatasetId, version: u32, review: ChallengeReview },
    /// An appeal of an upheld challenge granted: lifts its flags (on the dataset version
    /// and everything downstream), by the review rule the challenge was decided under.
    LiftFlags { challenge: Hash, reason: String },
    /// Settles a content dispute in favour of one claimant (a neutral organisation's admin,
    /// or the other side conceding).
    ResolveContentDispute { dispute: Hash, winner: AccountId, reason: String },
    /// The model's organisation says what happens to a deployment in force whose model
    /// version is flagged or deprecated after it was deployed: reported as at risk only,
    /// or also suspended (no decisions are recorded against it until it is rolled back or
    /// the flag is lifted).
    SetRiskPolicy { model: ModelId, suspend_at_risk: bool },
    /// The model's organisation sets its deploy gate with all its rules (what unlisted
    /// environments need, independent evaluation). Like `SetGate`, a change that loosens
    /// the gate in force waits for another organisation's approval or a delay.
    SetGateRules { model: ModelId, rules: GateRules },
    /// An org admin of an organisation other than the model's approves the model's pending
    /// gate change `change` (its id), which takes effect at once.
    ApproveGateChange { model: ModelId, change: Hash },
}

/// One item of an enumerated dataset version.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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

impl Action {
    /// The module the action belongs to (used for event filters and metrics).
    pub fn module(&self) -> &'static str {
        match self {
            Action::CreateAccount { .. }
            | Action::GrantRole { .. }
            | Action::RevokeRole { .. }
            | Action::RotateKey { .. } => "identity",
            Action::Transfer { .. }
            | Action::Mint { .. }
            | Action::Burn { .. }
            | Action::EscrowLock { .. }
            | Action::EscrowRelease { .. }
            | Action::EscrowRefund { .. } => "bank",
            _ => "provenance",
        }
    }

    /// The action's snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateAccount { .. } => "create_account",
            Action::GrantRole { .. } => "grant_role",
            Action::RevokeRole { .. } => "revoke_role",
            Action::RotateKey { .. } => "rotate_key",
            Action::Transfer { .. } => "transfer",
            Action::Mint { .. } => "mint",
            Action::Burn { .. } => "burn",
            Action::EscrowLock { .. } => "escrow_lock",
            Action::EscrowRelease { .. } => "escrow_release",
            Action::EscrowRefund { .. } => "escrow_refund",
            Action::RegisterContent { .. } => "register_content",
            Action::OptOut { .. } => "opt_out",
            Action::WithdrawOptOut { .. } => "withdraw_opt_out",
            Action::PublishDataset { .. } => "publish_dataset",
            Action::AddDatasetItems { .. } => "add_dataset_items",
            Action::ChallengeItem { .. } => "challenge_item",
            Action::AnswerChallenge { .. } => "answer_challenge",
            Action::ResolveChallenge { .. } => "resolve_challenge",
            Action::RegisterRun { .. } => "register_run",
            Action::RegisterModel { .. } => "register_model",
            Action::RegisterModelVersion { .. } => "register_model_version",
            Action::SubmitAttestation { .. } => "submit_attestation",
            Action::RevokeAttestation { .. } => "revoke_attestation",
            Action::SetGate { .. } => "set_gate",
            Action::Deploy { .. } => "deploy",
            Action::Rollback { .. } => "rollback",
            Action::Deprecate { .. } => "deprecate",
            Action::RecordDecision { .. } => "record_decision",
            Action::CorrectDecision { .. } => "correct_decision",
            Action::ReportEquivocation { .. } => "report_equivocation",
            Action::ChangeValidators { .. } => "change_validators",
            Action::SetChallengeReview { .. } => "set_challenge_review",
            Action::LiftFlags { .. } => "lift_flags",
            Action::ResolveContentDispute { .. } => "resolve_content_dispute",
            Action::SetRiskPolicy { .. } => "set_risk_policy",
            Action::SetGateRules { .. } => "set_gate_rules",
            Action::ApproveGateChange { .. } => "approve_gate_change",
        }
    }

    /// Stateless checks: identifiers follow the rules, lists and texts are within
    /// their limits. Run at admission and again at execution.
    pub fn validate(&self) -> Result<(), TypesError> {
        fn memo(m: &str) -> Result<(), TypesError> {
            if m.len() > MEMO_BYTES_MAX {
                return Err(TypesError::TooLarge { what: "memo", size: m.len(), limit: MEMO_BYTES_MAX });
            }
            Ok(())
        }
        match self {
            Action::CreateAccount { account, public_key, org, roles } => {
                account.validate()?;
                org.validate()?;
                public_key.validate()?;
                if roles.len() > ROLES_PER_ACCOUNT_MAX {
                    return Err(TypesError::TooLarge {
                        what: "roles",
                        size: roles.len(),
                        limit: ROLES_PER_ACCOUNT_MAX,
                    });
                }
                Ok(())
            }
            Action::GrantRole { account, .. } | Action::RevokeRole { account, .. } => account.validate(),
            Action::RotateKey { account, public_key } => {
                account.validate()?;
                public_key.validate()
            }
            Action::Transfer { to, asset, memo: m, .. } => {
                to.validate()?;
                asset.validate()?;
                memo(m)
            }
            Action::Mint { to, asset, .. } => {
                to.validate()?;
                asset.validate()
            }
            Action::Burn { asset, .. } => asset.validate(),
            Action::EscrowLock { asset, arbiter, memo: m, .. } => {
                asset.validate()?;
                arbiter.validate()?;
                memo(m)
            }
            Action::EscrowRelease { splits, .. } => {
                if splits.is_empty() || splits.len() > ESCROW_SPLITS_MAX {
                    return Err(TypesError::InvalidField {
                        field: "splits",
                        reason: format!("must name 1 to {ESCROW_SPLITS_MAX} recipients, got {}", splits.len()),
                    });
                }
                for (a, _) in splits {
                    a.validate()?;
                }
                Ok(())
            }
            Action::EscrowRefund { .. } => Ok(()),
            Action::RegisterContent { media_type, licence, payout, .. } => {
                check_text("media_type", media_type, 128)?;
                licence.validate()?;
                check_payout(payout)
            }
            Action::OptOut { scope, reason, .. } => {
                scope.validate()?;
                check_reason("reason", reason)
            }
            Action::WithdrawOptOut { .. } => Ok(()),
            Action::PublishDataset {
                dataset,
                version,
                count,
                licences,
                supersedes,
                reviewers,
                challenge_window,
                ..
            } => {
                dataset.validate()?;
                positive_version(*version)?;
                if *count == 0 || *count > crate::limits::MANIFEST_ITEMS_MAX as u64 {
                    return Err(TypesError::InvalidField {
                        field: "count",
                        reason: format!("must be 1 to {}", crate::limits::MANIFEST_ITEMS_MAX),
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
            Action::AddDatasetItems { dataset, version, items } => {
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
            Action::ChallengeItem { dataset, version, .. } => {
                dataset.validate()?;
                positive_version(*version)
            }
            Action::AnswerChallenge { .. } => Ok(()),
            Action::ResolveChallenge { reason, .. } => check_reason("reason", reason),
            Action::RegisterRun { run, datasets, base_model, code_commit, training_date, team, provider, .. } => {
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
            Action::RegisterModel { model, description } => {
                model.validate()?;
                check_reason("description", description)
            }
            Action::RegisterModelVersion { model, version, run, .. } => {
                model.validate()?;
                positive_version(*version)?;
                run.validate()
            }
            Action::SubmitAttestation { envelope } => envelope.validate(),
            Action::RevokeAttestation { reason, .. } => check_reason("reason", reason),
            Action::SetGate { model, requirements } => {
                model.validate()?;
                check_gate(requirements)
            }
            Action::Deploy { model, version, environment } => {
                model.validate()?;
                environment.validate()?;
                positive_version(*version)
            }
            Action::Rollback { model, environment, to_version, reason } => {
                model.validate()?;
                environment.validate()?;
                positive_version(*to_version)?;
                check_reason("reason", reason)
            }
            Action::Deprecate { model, version, reason } => {
                model.validate()?;
                positive_version(*version)?;
                check_reason("reason", reason)
            }
            Action::RecordDecision { model, version, review, context, .. } => {
                model.validate()?;
                positive_version(*version)?;
                check_review(review)?;
                check_reason("context", context)
            }
            Action::CorrectDecision { review, reason, .. } => {
                check_review(review)?;
                check_reason("reason", reason)
            }
            Action::ReportEquivocation { evidence } => {
                evidence.validator.to_dalek()?;
                evidence.offence().map(|_| ())
            }
            Action::ChangeValidators { change, approvals } => {
                change.validate()?;
                crate::validators::validate_approvals(approvals)
            }
            Action::SetChallengeReview { dataset, version, review } => {
                dataset.validate()?;
                positive_version(*version)?;
                review.validate()
            }
            Action::LiftFlags { reason, .. } => check_reason("reason", reason),
            Action::ResolveContentDispute { winner, reason, .. } => {
                winner.validate()?;
                check_reason("reason", reason)
            }
            Action::SetRiskPolicy { model, .. } => model.validate(),
            Action::SetGateRules { model, rules } => {
                model.validate()?;
                rules.validate()
            }
            Action::ApproveGateChange { model, .. } => model.validate(),
        }
    }
}
