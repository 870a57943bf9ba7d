//! Provenance-first training: the identifiers, records and parameters of content,
//! opt-outs, datasets, challenges, training runs, models, evaluation attestations,
//! deploy gates, deployments and decisions.
//!
//! Records live here rather than in verity-state so that an offline verifier (which
//! depends on this crate only) can decode the values that state proofs cover.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{check_id, string_id, AccountId, OrgId};
use crate::limits::{
    GATE_EVALUATORS_MAX, GATE_METRICS_MAX, GATE_REQUIREMENTS_MAX, LICENCES_PER_DATASET_MAX, MEMO_BYTES_MAX,
    METRICS_MAX, PAYOUT_SPLITS_MAX, REVIEWERS_MAX, REVIEW_ORGS_MAX,
};

/// Parts per million: the fixed-point unit of every score and share on the ledger.
pub const PPM: u64 = 1_000_000;

string_id!(
    /// A dataset (its versions are numbered from 1).
    DatasetId,
    "dataset id"
);
string_id!(
    /// A training run.
    RunId,
    "run id"
);
string_id!(
    /// A model (its versions are numbered from 1).
    ModelId,
    "model id"
);
string_id!(
    /// A deployment environment (`staging`, `production`, ...).
    EnvId,
    "environment"
);
string_id!(
    /// A kind of evaluation attestation (`performance`, `fairness`, `safety`, ...).
    AttestationKind,
    "attestation kind"
);

/// A piece of content, named by the SHA-256 of its bytes.
pub type ContentId = Hash;

/// Checks a short free text (reason, media type, team name): at most `limit` bytes, no
/// control characters.
pub fn check_text(field: &'static str, value: &str, limit: usize) -> Result<(), TypesError> {
    if value.len() > limit {
        return Err(TypesError::TooLarge { what: field, size: value.len(), limit });
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(TypesError::InvalidField { field, reason: "must not contain control characters".into() });
    }
    Ok(())
}

fn check_len<T>(field: &'static str, items: &[T], min: usize, max: usize) -> Result<(), TypesError> {
    if items.len() < min || items.len() > max {
        return Err(TypesError::InvalidField {
            field,
            reason: format!("must hold {min} to {max} entries, got {}", items.len()),
        });
    }
    Ok(())
}

/// Checks that `items` is sorted by `key` with no repeats (the canonical form of every
/// set on the ledger, so that equal sets encode equally).
pub fn check_sorted_unique<T, K: Ord>(
    field: &'static str,
    items: &[T],
    key: impl Fn(&T) -> K,
) -> Result<(), TypesError> {
    if items.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
        Ok(())
    } else {
        Err(TypesError::InvalidField { field, reason: "must be sorted with no repeats".into() })
    }
}

/// Terms under which content may be used: an SPDX licence identifier, or the SHA-256 of
/// custom licence terms kept off the ledger.
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum Licence {
    /// An SPDX licence identifier or expression such as `CC-BY-4.0` or `MIT`.
    Spdx(String),
    /// The SHA-256 of custom licence terms.
    Custom(Hash),
}

impl Licence {
    pub fn validate(&self) -> Result<(), TypesError> {
        match self {
            Licence::Spdx(id) => {
                let ok = !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
                if ok {
                    Ok(())
                } else {
                    Err(TypesError::InvalidField {
                        field: "licence",
                        reason: format!("{id:?} is not an SPDX identifier (1-64 of A-Z a-z 0-9 . - +)"),
                    })
                }
            }
            Licence::Custom(_) => Ok(()),
        }
    }
}

impl fmt::Display for Licence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Licence::Spdx(id) => f.write_str(id),
            Licence::Custom(h) => write!(f, "custom:{h}"),
        }
    }
}

impl FromStr for Licence {
    type Err = TypesError;
    /// `custom:<sha256 hex>` or an SPDX identifier.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let licence = match s.strip_prefix("custom:") {
            Some(hex) => Licence::Custom(hex.parse()?),
            None => Licence::Spdx(s.to_string()),
        };
        licence.validate()?;
        Ok(licence)
    }
}

/// Which training uses an opt-out forbids.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum OptOutScope {
    /// Every training use.
    AllTraining,
    /// Training for a dataset whose policy marks it commercial.
    CommercialTraining,
    /// Uses under the named licences.
    Licences(Vec<Licence>),
}

impl OptOutScope {
    pub fn validate(&self) -> Result<(), TypesError> {
        if let OptOutScope::Licences(ls) = self {
            check_len("licences", ls, 1, LICENCES_PER_DATASET_MAX)?;
            check_sorted_unique("licences", ls, |l| l.clone())?;
            ls.iter().try_for_each(Licence::validate)?;
        }
        Ok(())
    }

    /// Whether the opt-out forbids using content under `licence` in a dataset with `policy`.
    pub fn forbids(&self, policy: &DatasetPolicy, licence: &Licence) -> bool {
        match self {
            OptOutScope::AllTraining => true,
            OptOutScope::CommercialTraining => policy.commercial,
            OptOutScope::Licences(ls) => ls.contains(licence),
        }
    }
}

/// A registered piece of content. Key: `prov/content/<hash hex>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Content {
    pub id: ContentId,
    pub media_type: String,
    pub licence: Licence,
    /// The creator: the account that registered (and signed) it.
    pub creator: AccountId,
    pub org: OrgId,
    /// Who is paid when the content earns revenue, in parts per million (sums to 10^6).
    pub payout: Vec<PayoutShare>,
    pub height: u64,
    /// The registering transaction (its signature is the creator's signature).
    pub tx: Hash,
    /// Every opt-out ever registered for it, oldest first (withdrawn ones stay).
    pub opt_outs: Vec<Hash>,
}

/// One recipient of a payout split.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PayoutShare {
    pub account: AccountId,
    pub share_ppm: u32,
}

/// Checks a payout split: 1..=PAYOUT_SPLITS_MAX distinct accounts, shares summing to 10^6.
pub fn check_payout(payout: &[PayoutShare]) -> Result<(), TypesError> {
    check_len("payout", payout, 1, PAYOUT_SPLITS_MAX)?;
    check_sorted_unique("payout", payout, |p| p.account.clone())?;
    let mut sum = 0u64;
    for p in payout {
        p.account.validate()?;
        sum += u64::from(p.share_ppm);
    }
    if sum != PPM {
        return Err(TypesError::InvalidField {
            field: "payout",
            reason: format!("shares add up to {sum} ppm, not 1000000"),
        });
    }
    Ok(())
}

/// An opt-out. Key: `prov/optout/<id hex>`, id = the registering transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct OptOut {
    pub id: Hash,
    pub content: ContentId,
    pub scope: OptOutScope,
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
    /// Set when withdrawn; the opt-out stays on record.
    pub withdrawn_height: Option<u64>,
}

/// One organisation's claim to a piece of content: what its registration said.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ContentClaim {
    /// The creator who registered (or tried to register) the content.
    pub claimant: AccountId,
    pub org: OrgId,
    pub media_type: String,
    pub licence: Licence,
    pub payout: Vec<PayoutShare>,
    pub height: u64,
    /// The registering transaction.
    pub tx: Hash,
}

/// How a content dispute ended.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DisputeResolution {
    /// The claimant whose claim now stands as the content's registration.
    pub winner: AccountId,
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A contested registration: a creator of another organisation registered content that was
/// already registered. Both (or all) claims are kept; while the dispute is open the
/// content's opt-outs flag nothing already in use. Key: `prov/dispute/<id hex>`, id = the
/// hash of the transaction that opened it; `prov/disputes/<content hex>` lists a content's
/// disputes, oldest first.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ContentDispute {
    pub id: Hash,
    pub content: ContentId,
    /// The registration in force when the dispute opened first, then each contesting
    /// claim in ledger order (one per organisation).
    pub claims: Vec<ContentClaim>,
    pub height: u64,
    pub resolution: Option<DisputeResolution>,
}

/// How the items of a dataset version reach the ledger.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum DatasetMode {
    /// The content ids are submitted in chunks and checked item by item.
    Enumerated,
    /// Only the commitment is published; items are checked by challenges with proofs.
    RootOnly,
}

/// What a dataset version is used for, which decides which opt-outs apply to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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
pub enum DatasetStatus {
    /// Enumerated items are still arriving; the version cannot be used yet.
    Pending,
    /// Complete (root checked for enumerated versions); usable by training runs.
    Published,
}

/// One version of a dataset. Key: `prov/dataset_version/<id>/<version>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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
pub struct FlagLift {
    /// The reviewer whose decision lifted it (under a quorum: the vote that completed it).
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A challenge of one item of a dataset version. Key: `prov/challenge/<id hex>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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

/// A training run. Key: `prov/run/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TrainingRun {
    pub id: RunId,
    pub datasets: Vec<DatasetRef>,
    pub base_model: Option<ModelVersionRef>,
    /// The code commit (hex, 7 to 64 digits).
    pub code_commit: String,
    pub hyperparams_hash: Hash,
    /// The training date, `YYYY-MM-DD`.
    pub training_date: String,
    pub team: String,
    pub run_log_hash: Hash,
    pub provider: AccountId,
    /// The provider's signature over [`run_log_message`].
    pub provider_signature: crate::keys::Signature,
    pub registered_by: AccountId,
    pub org: OrgId,
    pub height: u64,
    pub tx: Hash,
}

/// Domain separator of a compute provider's run-log signature (version 2 binds the chain
/// and the datasets; version 1 signatures, over the run and log hash alone, could be
/// replayed on another chain or under other datasets, and are no longer accepted).
pub const RUN_LOG_SIGN_DOMAIN: &[u8] = b"verity/run-log/v2\0";

/// The bytes a compute provider signs to vouch for a run's log: the domain, then the
/// Borsh encodings of the chain id, the run id and the run's datasets (sorted, as the
/// ledger stores them), then the log hash.
pub fn run_log_message(chain_id: &str, run: &RunId, datasets: &[DatasetRef], run_log_hash: &Hash) -> Vec<u8> {
    let mut out = RUN_LOG_SIGN_DOMAIN.to_vec();
    out.extend_from_slice(&crate::encoding::encode(chain_id));
    out.extend_from_slice(&crate::encoding::encode(run));
    let mut sorted = datasets.to_vec();
    sorted.sort();
    out.extend_from_slice(&crate::encoding::encode(&sorted));
    out.extend_from_slice(run_log_hash.as_bytes());
    out
}

/// A dataset version.
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct DatasetRef {
    pub dataset: DatasetId,
    pub version: u32,
}

/// A model version.
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct ModelVersionRef {
    pub model: ModelId,
    pub version: u32,
}

/// `NAME@VERSION` (versions start at 1): the one text form of a dataset version, used by
/// record references (`dataset:NAME@VERSION`), the CLI and the client.
impl FromStr for DatasetRef {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, version) = split_version(s, "dataset")?;
        Ok(DatasetRef { dataset: name.parse()?, version })
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.dataset, self.version)
    }
}

/// `NAME@VERSION` (versions start at 1), as for [`DatasetRef`].
impl FromStr for ModelVersionRef {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, version) = split_version(s, "model")?;
        Ok(ModelVersionRef { model: name.parse()?, version })
    }
}

impl fmt::Display for ModelVersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.model, self.version)
    }
}

/// A model. Key: `prov/model/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Model {
    pub id: ModelId,
    pub org: OrgId,
    pub description: String,
    pub versions: u32,
    pub height: u64,
}

/// A deprecation of a model version.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Deprecation {
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A model version. Key: `prov/model_version/<id>/<version>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ModelVersion {
    pub model: ModelId,
    pub version: u32,
    /// The OpenSSF model-signing manifest digest of the model's files.
    pub fingerprint: Hash,
    pub run: RunId,
    /// The owner account that registered it (the transaction's signer).
    pub owner: AccountId,
    pub height: u64,
    pub tx: Hash,
    /// Length of the chain of base models below it (0: trained from scratch).
    pub depth: u32,
    pub deprecated: Option<Deprecation>,
}

/// One metric of an evaluation, in parts per million, with the evaluator's threshold.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value_ppm: i64,
    /// The suite's threshold, if it has one.
    pub threshold_ppm: Option<i64>,
    /// Whether larger values are better (the threshold is a minimum) or smaller ones
    /// (the threshold is a maximum, as for a fairness gap).
    pub higher_is_better: bool,
}

impl Metric {
    /// Whether the value meets the metric's own threshold (true when it has none).
    pub fn meets_threshold(&self) -> bool {
        match self.threshold_ppm {
            None => true,
            Some(t) if self.higher_is_better => self.value_ppm >= t,
            Some(t) => self.value_ppm <= t,
        }
    }
}

/// Domain separator of an attestation id.
pub const ATTESTATION_ID_DOMAIN: &[u8] = b"verity/attestation-id/v1\0";

/// The id of an attestation: SHA-256 over a domain separator, the evaluator's account and
/// the DSSE payload's digest. Binding the evaluator means another evaluator who sees an
/// envelope in gossip and signs the same statement first gets an id of its own instead of
/// taking this one. Ledgers before this rule named an attestation by the payload digest
/// alone; offline verifiers accept both (see [`attestation_id_matches`]).
pub fn attestation_id(evaluator: &AccountId, payload_digest: &Hash) -> Hash {
    let mut bytes = ATTESTATION_ID_DOMAIN.to_vec();
    bytes.extend_from_slice(&crate::encoding::encode(evaluator));
    bytes.extend_from_slice(payload_digest.as_bytes());
    crate::hash::sha256(&bytes)
}

/// Whether `id` names the attestation of `payload_digest` by `evaluator`: the bound id, or
/// the payload digest alone as ledgers recorded it before ids were bound to evaluators.
pub fn attestation_id_matches(id: &Hash, evaluator: &AccountId, payload_digest: &Hash) -> bool {
    *id == attestation_id(evaluator, payload_digest) || id == payload_digest
}

/// An evaluation attestation as the ledger keeps it. Key: `prov/attestation/<id hex>`,
/// id = [`attestation_id`] of its evaluator and the DSSE payload's digest.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Attestation {
    pub id: Hash,
    pub model: ModelId,
    pub version: u32,
    pub evaluator: AccountId,
    pub kind: AttestationKind,
    pub suite: String,
    pub dataset_name: String,
    pub dataset_sha256: Hash,
    pub metrics: Vec<Metric>,
    pub passed: bool,
    pub height: u64,
    pub tx: Hash,
    pub revoked: Option<Deprecation>,
}

/// One requirement of a deploy gate.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GateRequirement {
    pub kind: AttestationKind,
    /// Environments it applies to (empty: every environment). Sorted.
    #[serde(default)]
    pub environments: Vec<EnvId>,
    /// Evaluators whose attestations count (empty: any account with the evaluator role). Sorted.
    #[serde(default)]
    pub evaluators: Vec<AccountId>,
    /// Minimum values of named metrics (for higher-is-better metrics) or maximum values
    /// (for lower-is-better ones), in ppm. Sorted by name.
    #[serde(default)]
    pub metrics: Vec<MetricBound>,
}

/// A bound on one metric in a gate.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct MetricBound {
    pub name: String,
    pub bound_ppm: i64,
}

impl GateRequirement {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.kind.validate()?;
        check_len("environments", &self.environments, 0, GATE_REQUIREMENTS_MAX)?;
        check_sorted_unique("environments", &self.environments, |e| e.clone())?;
        self.environments.iter().try_for_each(EnvId::validate)?;
        check_len("evaluators", &self.evaluators, 0, GATE_EVALUATORS_MAX)?;
        check_sorted_unique("evaluators", &self.evaluators, |e| e.clone())?;
        self.evaluators.iter().try_for_each(AccountId::validate)?;
        check_len("metrics", &self.metrics, 0, GATE_METRICS_MAX)?;
        check_sorted_unique("metrics", &self.metrics, |m| m.name.clone())?;
        self.metrics.iter().try_for_each(|m| check_metric_name(&m.name))
    }

    /// Whether the requirement applies to deploys into `env`.
    pub fn applies_to(&self, env: &EnvId) -> bool {
        self.environments.is_empty() || self.environments.contains(env)
    }

    /// Why `att` does not satisfy this requirement, or `None` when it does. Does not look
    /// at the attestation's model version or the evaluator's roles.
    pub fn shortfall(&self, att: &Attestation) -> Option<String> {
        if att.kind != self.kind {
            return Some(format!("kind is {}, not {}", att.kind, self.kind));
        }
        if att.revoked.is_some() {
            return Some("revoked".into());
        }
        if !att.passed {
            return Some("did not pass".into());
        }
        if !self.evaluators.is_empty() && !self.evaluators.contains(&att.evaluator) {
            return Some(format!("evaluator {} is not accepted by the gate", att.evaluator));
        }
        for bound in &self.metrics {
            let Some(m) = att.metrics.iter().find(|m| m.name == bound.name) else {
                return Some(format!("has no metric {}", bound.name));
            };
            let ok = if m.higher_is_better { m.value_ppm >= bound.bound_ppm } else { m.value_ppm <= bound.bound_ppm };
            if !ok {
                let rel = if m.higher_is_better { "below the minimum" } else { "above the maximum" };
                return Some(format!("metric {} = {} ppm is {rel} of {} ppm", m.name, m.value_ppm, bound.bound_ppm));
            }
        }
        None
    }
}

/// Checks a metric name: 1..=64 bytes of `a-z 0-9 _ . -`.
pub fn check_metric_name(name: &str) -> Result<(), TypesError> {
    check_id("metric name", name)
}

impl GateRequirement {
    /// Whether every attestation that satisfies `self` also satisfies `other` (same kind,
    /// evaluators among `other`'s, every bound of `other` present with the same value).
    /// A bound moved either way does not imply the old one: whether a metric's bound is a
    /// minimum or a maximum is said by the attestation's metric, not by the gate.
    pub fn implies(&self, other: &GateRequirement) -> bool {
        self.kind == other.kind
            && (other.evaluators.is_empty()
                || (!self.evaluators.is_empty() && self.evaluators.iter().all(|e| other.evaluators.contains(e))))
            && other.metrics.iter().all(|b| self.metrics.contains(b))
    }
}

/// What a deploy gate asks, as its organisation sets it (`SetGate` sets `requirements`
/// only; `SetGateRules` all of it).
///
/// Which requirements apply to a deploy into environment `E`:
/// - every requirement with no environments (unscoped) applies everywhere;
/// - if some requirement names `E`, those naming `E` apply too;
/// - if none names `E` (an unlisted environment), the `defaults` apply too, or, when the
///   gate has no `defaults`, every environment-scoped requirement. An environment name
///   nobody listed is never a way around a scoped requirement.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GateRules {
    pub requirements: Vec<GateRequirement>,
    /// What a deploy into an environment no requirement names must satisfy besides the
    /// unscoped requirements (`None`: every environment-scoped requirement). The
    /// requirements here name no environments.
    #[serde(default)]
    pub defaults: Option<Vec<GateRequirement>>,
    /// Independent evaluation: attestations by evaluators of the model's organisation do
    /// not count.
    #[serde(default)]
    pub independent: bool,
}

impl GateRules {
    /// Rules of the `SetGate` form: requirements only.
    pub fn requirements(requirements: Vec<GateRequirement>) -> Self {
        GateRules { requirements, defaults: None, independent: false }
    }

    pub fn validate(&self) -> Result<(), TypesError> {
        check_gate(&self.requirements)?;
        if let Some(d) = &self.defaults {
            check_gate(d)?;
            if d.iter().any(|r| !r.environments.is_empty()) {
                return Err(TypesError::InvalidField {
                    field: "defaults",
                    reason: "default requirements apply to unlisted environments and name none".into(),
                });
            }
        }
        Ok(())
    }

    /// Whether some requirement names `env`.
    pub fn names(&self, env: &EnvId) -> bool {
        self.requirements.iter().any(|r| r.environments.contains(env))
    }

    /// The requirements a deploy into `env` must satisfy, in gate order (the
    /// requirements first, then the defaults), per the rule in the type's doc.
    pub fn applicable(&self, env: &EnvId) -> Vec<&GateRequirement> {
        if self.names(env) {
            return self.requirements.iter().filter(|r| r.applies_to(env)).collect();
        }
        match &self.defaults {
            Some(d) => self.requirements.iter().filter(|r| r.environments.is_empty()).chain(d).collect(),
            None => self.requirements.iter().collect(),
        }
    }

    /// Why `new` would be looser than `self` (a deploy that `self` refuses could pass
    /// `new`), or `None` when every requirement of `self` for every environment is
    /// implied by one of `new` for that environment and independence is kept. Checked
    /// for each environment either names and for one neither names.
    pub fn loosened_by(&self, new: &GateRules) -> Option<String> {
        if self.independent && !new.independent {
            return Some("it drops independent evaluation".into());
        }
        let mut envs: Vec<Option<&EnvId>> = vec![None];
        for r in self.requirements.iter().chain(&new.requirements) {
            envs.extend(r.environments.iter().map(Some));
        }
        envs.sort();
        envs.dedup();
        // An environment neither gate names: any name that is not listed will do.
        let unlisted = unlisted_env(self, new);
        for env in envs {
            let e = env.unwrap_or(&unlisted);
            let (old, now) = (self.applicable(e), new.applicable(e));
            if let Some(r) = old.iter().find(|r| !now.iter().any(|n| n.implies(r))) {
                let place = match env {
                    Some(e) => format!("environment {e}"),
                    None => "an unlisted environment".into(),
                };
                return Some(format!(
                    "a deploy to {place} would no longer need the {} requirement as it stands",
                    r.kind
                ));
            }
        }
        None
    }
}

/// A valid environment name that neither gate names.
fn unlisted_env(a: &GateRules, b: &GateRules) -> EnvId {
    (0u32..)
        .map(|i| EnvId(format!("unlisted-{i}")))
        .find(|e| !a.names(e) && !b.names(e))
        .expect("two gates name finitely many environments")
}

/// A model's deploy gate in force. Key: `prov/gate/<model>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GatePolicy {
    pub model: ModelId,
    pub requirements: Vec<GateRequirement>,
    /// See [`GateRules::defaults`].
    #[serde(default)]
    pub defaults: Option<Vec<GateRequirement>>,
    /// See [`GateRules::independent`].
    #[serde(default)]
    pub independent: bool,
    pub set_by: AccountId,
    pub height: u64,
    /// The delayed change that put it in force, if it was one (see [`GateChange`]).
    #[serde(default)]
    pub change: Option<Hash>,
}

impl GatePolicy {
    /// The gate's rules.
    pub fn rules(&self) -> GateRules {
        GateRules {
            requirements: self.requirements.clone(),
            defaults: self.defaults.clone(),
            independent: self.independent,
        }
    }
}

/// Checks a gate's requirement list: at most GATE_REQUIREMENTS_MAX, each valid.
pub fn check_gate(requirements: &[GateRequirement]) -> Result<(), TypesError> {
    check_len("requirements", requirements, 0, GATE_REQUIREMENTS_MAX)?;
    requirements.iter().try_for_each(GateRequirement::validate)
}

/// Domain separator of a gate change's id.
pub const GATE_CHANGE_ID_DOMAIN: &[u8] = b"verity/gate-change/v1\0";

/// The id of a proposed gate change: SHA-256 over a domain separator, the model, the
/// rules and the proposing transaction's hash. An approval names this id, so it approves
/// exactly these rules, proposed by this transaction: never another change, nor the same
/// rules proposed again later.
pub fn gate_change_id(model: &ModelId, rules: &GateRules, tx: &Hash) -> Hash {
    let mut bytes = GATE_CHANGE_ID_DOMAIN.to_vec();
    bytes.extend_from_slice(&crate::encoding::encode(model));
    bytes.extend_from_slice(&crate::encoding::encode(rules));
    bytes.extend_from_slice(tx.as_bytes());
    crate::hash::sha256(&bytes)
}

/// Where a proposed gate change stands.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum GateChangeStatus {
    /// Waiting for its delay or an approval.
    Pending,
    /// In force: approved by an org admin of another organisation.
    Approved { by: AccountId, org: OrgId, height: u64 },
    /// In force: its delay passed (`height`: the block that first applied it).
    Activated { height: u64 },
    /// Replaced by a later `SetGate`/`SetGateRules` before it took effect.
    Superseded { by: Hash, height: u64 },
}

/// A gate change that loosens the gate in force, held back until another organisation
/// approves it or [`crate::limits::GATE_CHANGE_DELAY_MS`] of block time passes. Key:
/// `prov/gate_change/<id hex>`; the model's pending one: `prov/gate_pending/<model>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GateChange {
    pub id: Hash,
    pub model: ModelId,
    pub rules: GateRules,
    pub proposed_by: AccountId,
    /// Why it is held back: how it loosens the gate in force when proposed.
    pub loosens: String,
    pub height: u64,
    pub tx: Hash,
    /// The block time (ms) of the proposal, and from when it is in force without an approval.
    pub proposed_ms: u64,
    pub effective_ms: u64,
    pub status: GateChangeStatus,
}

/// What a model's organisation wants done with a deployment in force whose model version
/// is flagged or deprecated after the deploy. Key: `prov/risk/<model>` (absent: report
/// only).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RiskPolicy {
    pub model: ModelId,
    /// Suspend such a deployment: decisions against its model version are refused until
    /// the environment is rolled back (or the flag is lifted).
    pub suspend_at_risk: bool,
    pub set_by: AccountId,
    pub height: u64,
}

/// Why a deployment in force is at risk, as a reader sees it (derived from the records,
/// never stored).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DeploymentRisk {
    /// `flagged (n active flag(s))` and/or `deprecated: <reason>`.
    pub reasons: Vec<String>,
    /// The model's risk policy suspends it.
    pub suspended: bool,
}

/// Whether a deployment moved forward or rolled back.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum DeploymentKind {
    Deploy,
    Rollback { from_version: u32, reason: String },
}

/// A deployment of a model version to an environment. Key: `prov/deployment/<id hex>`,
/// id = the deploying transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Deployment {
    pub id: Hash,
    pub model: ModelId,
    pub version: u32,
    pub environment: EnvId,
    pub kind: DeploymentKind,
    pub by: AccountId,
    pub height: u64,
    /// The attestations that satisfied the gate, one per requirement, in gate order.
    pub attestations: Vec<Hash>,
    /// The deployment it replaced in the environment, if any.
    pub previous: Option<Hash>,
}

/// Who or what reviews a decision.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "layer", content = "reviewer", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum ReviewLayer {
    None,
    Human(AccountId),
}

/// Whether and by whom a decision may be corrected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
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
pub enum FlagCause {
    /// A challenge of an item of the origin dataset version was upheld.
    ChallengeUpheld { challenge: Hash },
    /// Content in the origin dataset version was opted out after it was used.
    ContentOptedOut { content: ContentId, opt_out: Hash },
}

/// A flag on a record: the origin dataset version, why, and when. Keys:
/// `prov/flags/<record>` (count) and `prov/flag/<record>/<n>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Flag {
    pub origin: DatasetRef,
    pub cause: FlagCause,
    pub height: u64,
    /// Set when the flag was lifted on appeal; the flag stays on record.
    pub lifted: Option<FlagLift>,
}

/// A reference to any provenance record: the nodes of the lineage graph.
///
/// Text form: `content:<hex>`, `optout:<hex>`, `dataset:<id>@<version>`,
/// `challenge:<hex>`, `run:<id>`, `model:<id>@<version>`, `attestation:<hex>`,
/// `deployment:<hex>`, `decision:<hex>`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = false)]
pub enum RecordRef {
    Content(ContentId),
    OptOut(Hash),
    Dataset(DatasetRef),
    Challenge(Hash),
    Run(RunId),
    ModelVersion(ModelVersionRef),
    Attestation(Hash),
    Deployment(Hash),
    Decision(Hash),
    /// A content dispute (appended last: the borsh tag is the declaration order).
    Dispute(Hash),
}

/// The kinds of provenance records, and the shape of the lineage graph between them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum RecordKind {
    Content,
    OptOut,
    Dataset,
    Challenge,
    Run,
    ModelVersion,
    Attestation,
    Deployment,
    Decision,
    Dispute,
}

impl RecordKind {
    /// The kind's name, as in the text form of a reference (`model` for a model version).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Content => "content",
            RecordKind::OptOut => "optout",
            RecordKind::Dataset => "dataset",
            RecordKind::Challenge => "challenge",
            RecordKind::Run => "run",
            RecordKind::ModelVersion => "model",
            RecordKind::Attestation => "attestation",
            RecordKind::Deployment => "deployment",
            RecordKind::Decision => "decision",
            RecordKind::Dispute => "dispute",
        }
    }

    /// The kinds of records the ledger links directly downstream of a record of this kind,
    /// one list per kind (`prov/edges/<ref>/<kind>`), in the order traces show them:
    /// content feeds opt-outs, dataset versions, challenges and disputes; a dataset version feeds
    /// its next version, challenges and runs; a run produces model versions; a model
    /// version has attestations, deployments and decisions and is the base of runs; a
    /// decision is superseded by its correction. Opt-outs, challenges, attestations and
    /// deployments have nothing downstream (a deployment names its attestations and the
    /// deployment it replaced upstream, without a link back).
    pub fn downstream(self) -> &'static [RecordKind] {
        use RecordKind::*;
        match self {
            Content => &[OptOut, Dataset, Challenge, Dispute],
            Dataset => &[Dataset, Challenge, Run],
            Run => &[ModelVersion],
            ModelVersion => &[Attestation, Deployment, Decision, Run],
            Decision => &[Decision],
            OptOut | Challenge | Attestation | Deployment | Dispute => &[],
        }
    }

    /// Whether records of this kind record the use of a model rather than its making:
    /// decisions, the bulk of a production ledger (thousands per model version). Traces
    /// list them only under the record traced and count them everywhere below it.
    pub fn is_usage(self) -> bool {
        matches!(self, RecordKind::Decision)
    }

    /// Whether records of this kind can carry flags: flags start at a dataset version and
    /// follow runs and model versions only, so no other kind is ever flagged.
    pub fn flaggable(self) -> bool {
        matches!(self, RecordKind::Dataset | RecordKind::Run | RecordKind::ModelVersion)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RecordKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl RecordRef {
    /// The record's kind.
    pub fn record_kind(&self) -> RecordKind {
        match self {
            RecordRef::Content(_) => RecordKind::Content,
            RecordRef::OptOut(_) => RecordKind::OptOut,
            RecordRef::Dataset(_) => RecordKind::Dataset,
            RecordRef::Challenge(_) => RecordKind::Challenge,
            RecordRef::Run(_) => RecordKind::Run,
            RecordRef::ModelVersion(_) => RecordKind::ModelVersion,
            RecordRef::Attestation(_) => RecordKind::Attestation,
            RecordRef::Deployment(_) => RecordKind::Deployment,
            RecordRef::Decision(_) => RecordKind::Decision,
            RecordRef::Dispute(_) => RecordKind::Dispute,
        }
    }

    /// The record kind, as in the text form.
    pub fn kind(&self) -> &'static str {
        self.record_kind().as_str()
    }

    pub fn dataset(dataset: &DatasetId, version: u32) -> Self {
        RecordRef::Dataset(DatasetRef { dataset: dataset.clone(), version })
    }

    pub fn model_version(model: &ModelId, version: u32) -> Self {
        RecordRef::ModelVersion(ModelVersionRef { model: model.clone(), version })
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordRef::Content(h)
            | RecordRef::OptOut(h)
            | RecordRef::Challenge(h)
            | RecordRef::Attestation(h)
            | RecordRef::Deployment(h)
            | RecordRef::Decision(h)
            | RecordRef::Dispute(h) => write!(f, "{}:{h}", self.kind()),
            RecordRef::Dataset(d) => write!(f, "dataset:{d}"),
            RecordRef::Run(r) => write!(f, "run:{r}"),
            RecordRef::ModelVersion(m) => write!(f, "model:{m}"),
        }
    }
}

/// Splits `NAME@VERSION`; the version is a decimal from 1.
fn split_version<'a>(s: &'a str, field: &'static str) -> Result<(&'a str, u32), TypesError> {
    let (name, v) = s
        .rsplit_once('@')
        .ok_or_else(|| TypesError::InvalidField { field, reason: format!("{s:?} must look like NAME@VERSION") })?;
    let v: u32 = v.parse().ok().filter(|v| *v > 0).ok_or_else(|| TypesError::InvalidField {
        field,
        reason: format!("the version in {s:?} must be a whole number from 1"),
    })?;
    Ok((name, v))
}

impl FromStr for RecordRef {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| TypesError::InvalidField {
            field: "record",
            reason: format!("{s:?} is not KIND:ID (content, optout, dataset, challenge, run, model, attestation, deployment, decision or dispute)"),
        })?;
        Ok(match kind {
            "content" => RecordRef::Content(rest.parse()?),
            "optout" => RecordRef::OptOut(rest.parse()?),
            "challenge" => RecordRef::Challenge(rest.parse()?),
            "attestation" => RecordRef::Attestation(rest.parse()?),
            "deployment" => RecordRef::Deployment(rest.parse()?),
            "decision" => RecordRef::Decision(rest.parse()?),
            "dispute" => RecordRef::Dispute(rest.parse()?),
            "run" => RecordRef::Run(rest.parse()?),
            "dataset" => RecordRef::Dataset(rest.parse()?),
            "model" => RecordRef::ModelVersion(rest.parse()?),
            other => {
                return Err(TypesError::InvalidField {
                    field: "record",
                    reason: format!("unknown record kind {other:?}"),
                })
            }
        })
    }
}

impl Serialize for RecordRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks the reviewers list of a dataset version.
pub fn check_reviewers(reviewers: &[AccountId]) -> Result<(), TypesError> {
    check_len("reviewers", reviewers, 0, REVIEWERS_MAX)?;
    check_sorted_unique("reviewers", reviewers, |r| r.clone())?;
    reviewers.iter().try_for_each(AccountId::validate)
}

/// Checks a dataset version's licence set: 1..=LICENCES_PER_DATASET_MAX, sorted, valid.
pub fn check_licences(licences: &[Licence]) -> Result<(), TypesError> {
    check_len("licences", licences, 1, LICENCES_PER_DATASET_MAX)?;
    check_sorted_unique("licences", licences, |l| l.clone())?;
    licences.iter().try_for_each(Licence::validate)
}

/// Checks an attestation's metric list.
pub fn check_metrics(metrics: &[Metric]) -> Result<(), TypesError> {
    check_len("metrics", metrics, 0, METRICS_MAX)?;
    check_sorted_unique("metrics", metrics, |m| m.name.clone())?;
    metrics.iter().try_for_each(|m| check_metric_name(&m.name))
}

/// Checks a `YYYY-MM-DD` date (a calendar date; no clock is read).
pub fn check_date(field: &'static str, s: &str) -> Result<(), TypesError> {
    let bad = || TypesError::InvalidField { field, reason: format!("{s:?} is not a date YYYY-MM-DD") };
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days || !s.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(())
}

/// Checks a code commit id: 7..=64 lowercase hex digits.
pub fn check_commit(s: &str) -> Result<(), TypesError> {
    if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(TypesError::InvalidField {
            field: "code_commit",
            reason: format!("{s:?} is not 7-64 lowercase hex digits"),
        })
    }
}

/// Checks a reason or context text (at most MEMO_BYTES_MAX bytes).
pub fn check_reason(field: &'static str, s: &str) -> Result<(), TypesError> {
    check_text(field, s, MEMO_BYTES_MAX)
}

/// A decoded provenance record of any kind (the value a [`RecordRef`] names).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Record {
    Content(Content),
    #[serde(rename = "optout")]
    OptOut(OptOut),
    Dataset(DatasetVersion),
    Challenge(Challenge),
    Run(TrainingRun),
    #[serde(rename = "model")]
    ModelVersion(ModelVersion),
    Attestation(Attestation),
    Deployment(Deployment),
    Decision(Decision),
    Dispute(ContentDispute),
}

impl Record {
    /// Decodes the stored bytes of the record `r` names, checking that the record is the
    /// one named (so bytes of another record cannot pass for it).
    pub fn decode(r: &RecordRef, bytes: &[u8]) -> Result<Record, TypesError> {
        use crate::encoding::decode;
        const LIMIT: usize = 1 << 20;
        let record = match r {
            RecordRef::Content(_) => Record::Content(decode(bytes, LIMIT)?),
            RecordRef::OptOut(_) => Record::OptOut(decode(bytes, LIMIT)?),
            RecordRef::Dataset(_) => Record::Dataset(decode(bytes, LIMIT)?),
            RecordRef::Challenge(_) => Record::Challenge(decode(bytes, LIMIT)?),
            RecordRef::Run(_) => Record::Run(decode(bytes, LIMIT)?),
            RecordRef::ModelVersion(_) => Record::ModelVersion(decode(bytes, LIMIT)?),
            RecordRef::Attestation(_) => Record::Attestation(decode(bytes, LIMIT)?),
            RecordRef::Deployment(_) => Record::Deployment(decode(bytes, LIMIT)?),
            RecordRef::Decision(_) => Record::Decision(decode(bytes, LIMIT)?),
            RecordRef::Dispute(_) => Record::Dispute(decode(bytes, LIMIT)?),
        };
        if record.reference() != *r {
            return Err(TypesError::InvalidField {
                field: "record",
                reason: format!("the bytes hold {}, not {r}", record.reference()),
            });
        }
        Ok(record)
    }

    /// The reference that names this record.
    pub fn reference(&self) -> RecordRef {
        match self {
            Record::Content(c) => RecordRef::Content(c.id),
            Record::OptOut(o) => RecordRef::OptOut(o.id),
            Record::Dataset(d) => RecordRef::dataset(&d.dataset, d.version),
            Record::Challenge(c) => RecordRef::Challenge(c.id),
            Record::Run(r) => RecordRef::Run(r.id.clone()),
            Record::ModelVersion(m) => RecordRef::model_version(&m.model, m.version),
            Record::Attestation(a) => RecordRef::Attestation(a.id),
            Record::Deployment(d) => RecordRef::Deployment(d.id),
            Record::Decision(d) => RecordRef::Decision(d.id),
            Record::Dispute(d) => RecordRef::Dispute(d.id),
        }
    }

    /// The transaction that created the record.
    pub fn tx(&self) -> Hash {
        match self {
            Record::Content(c) => c.tx,
            Record::OptOut(o) => o.id,
            Record::Dataset(d) => d.tx,
            Record::Challenge(c) => c.id,
            Record::Run(r) => r.tx,
            Record::ModelVersion(m) => m.tx,
            Record::Attestation(a) => a.tx,
            Record::Deployment(d) => d.id,
            Record::Decision(d) => d.id,
            Record::Dispute(d) => d.id,
        }
    }

    /// The records this one names as its sources (an enumerated dataset version's items
    /// are not listed; they are reached from the content side).
    pub fn upstream(&self) -> Vec<RecordRef> {
        match self {
            Record::Content(_) => vec![],
            Record::OptOut(o) => vec![RecordRef::Content(o.content)],
            Record::Dataset(d) => d.supersedes.map(|s| vec![RecordRef::dataset(&d.dataset, s)]).unwrap_or_default(),
            Record::Challenge(c) => vec![RecordRef::dataset(&c.dataset, c.version), RecordRef::Content(c.content)],
            Record::Run(r) => {
                let mut out: Vec<RecordRef> = r.datasets.iter().cloned().map(RecordRef::Dataset).collect();
                out.extend(r.base_model.clone().map(RecordRef::ModelVersion));
                out
            }
            Record::ModelVersion(m) => vec![RecordRef::Run(m.run.clone())],
            Record::Attestation(a) => vec![RecordRef::model_version(&a.model, a.version)],
            Record::Deployment(d) => {
                let mut out = vec![RecordRef::model_version(&d.model, d.version)];
                out.extend(d.attestations.iter().map(|a| RecordRef::Attestation(*a)));
                out.extend(d.previous.map(RecordRef::Deployment));
                out
            }
            Record::Decision(d) => {
                let mut out = vec![RecordRef::model_version(&d.model, d.version)];
                out.extend(d.supersedes.map(RecordRef::Decision));
                out
            }
            Record::Dispute(d) => vec![RecordRef::Content(d.content)],
        }
    }

    /// A one-line human summary.
    pub fn summary(&self) -> String {
        match self {
            Record::Content(c) => {
                format!("{} {} by {} ({} opt-outs)", c.media_type, c.licence, c.creator, c.opt_outs.len())
            }
            Record::OptOut(o) => {
                format!("{:?} by {}{}", o.scope, o.by, if o.withdrawn_height.is_some() { " (withdrawn)" } else { "" })
            }
            Record::Dataset(d) => format!(
                "{:?} {:?}, {} items, root {}, curator {}",
                d.mode,
                d.status,
                d.count,
                &d.root.to_hex()[..16],
                d.curator
            ),
            Record::Challenge(c) => format!("{:?} {:?} by {}", c.kind, c.status, c.challenger),
            Record::Run(r) => {
                format!("commit {} on {} by team {}, provider {}", r.code_commit, r.training_date, r.team, r.provider)
            }
            Record::ModelVersion(m) => format!(
                "fingerprint {}, owner {}{}",
                &m.fingerprint.to_hex()[..16],
                m.owner,
                if m.deprecated.is_some() { ", deprecated" } else { "" }
            ),
            Record::Attestation(a) => format!(
                "{} by {}: {}{}",
                a.kind,
                a.evaluator,
                if a.passed { "passed" } else { "failed" },
                if a.revoked.is_some() { ", revoked" } else { "" }
            ),
            Record::Deployment(d) => match &d.kind {
                DeploymentKind::Deploy => format!("deploy to {} by {}", d.environment, d.by),
                DeploymentKind::Rollback { from_version, .. } => {
                    format!("rollback of {} from v{from_version} by {}", d.environment, d.by)
                }
            },
            Record::Decision(d) => format!(
                "by {}, {}, {}{}",
                d.operator,
                if d.binding { "binding" } else { "advisory" },
                match &d.review {
                    ReviewLayer::None => "no human review".to_string(),
                    ReviewLayer::Human(r) => format!("reviewed by {r}"),
                },
                if d.superseded_by.is_some() { ", superseded" } else { "" }
            ),
            Record::Dispute(d) => {
                let claimants: Vec<String> = d.claims.iter().map(|c| format!("{} ({})", c.claimant, c.org)).collect();
                match &d.resolution {
                    None => format!("open: claimed by {}", claimants.join(", ")),
                    Some(r) => format!("resolved for {} by {}: claimed by {}", r.winner, r.by, claimants.join(", ")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: &str, envs: &[&str], evaluators: &[&str], bounds: &[(&str, i64)]) -> GateRequirement {
        GateRequirement {
            kind: AttestationKind::new(kind).expect("kind"),
            environments: envs.iter().map(|e| EnvId::new(*e).expect("env")).collect(),
            evaluators: evaluators.iter().map(|e| e.parse().expect("account")).collect(),
            metrics: bounds.iter().map(|(n, b)| MetricBound { name: n.to_string(), bound_ppm: *b }).collect(),
        }
    }

    fn gate(reqs: Vec<GateRequirement>) -> GateRules {
        GateRules::requirements(reqs)
    }

    /// Which changes loosen a gate: each row is (old, new, loosens).
    #[test]
    fn gate_loosening_table() {
        let perf = req("performance", &[], &[], &[("accuracy", 900_000)]);
        let fair_prod = req("fairness", &["production"], &[], &[("gap", 50_000)]);
        let base = gate(vec![perf.clone(), fair_prod.clone()]);
        let check = |old: &GateRules, new: &GateRules, loosens: bool| {
            assert_eq!(old.loosened_by(new).is_some(), loosens, "{old:?} -> {new:?}: {:?}", old.loosened_by(new));
        };
        check(&base, &base, false);
        check(&base, &gate(vec![]), true);
        check(&base, &gate(vec![perf.clone()]), true);
        // Adding a requirement, a bound or an evaluator list tightens.
        check(&base, &gate(vec![perf.clone(), fair_prod.clone(), req("safety", &[], &[], &[])]), false);
        let perf_more = req("performance", &[], &[], &[("accuracy", 900_000), ("f1", 800_000)]);
        check(&base, &gate(vec![perf_more.clone(), fair_prod.clone()]), false);
        check(&gate(vec![perf_more]), &base, true);
        let perf_named = req("performance", &[], &["eve"], &[("accuracy", 900_000)]);
        check(&base, &gate(vec![perf_named.clone(), fair_prod.clone()]), false);
        check(&gate(vec![perf_named.clone(), fair_prod.clone()]), &base, true);
        // A moved bound is not known to be tighter (the attestation says min or max).
        check(&base, &gate(vec![req("performance", &[], &[], &[("accuracy", 950_000)]), fair_prod.clone()]), true);
        // Narrowing a scoped requirement: production keeps it, but staging, named now by
        // another requirement, no longer needs fairness (it did, as an unlisted name).
        let staged = gate(vec![perf.clone(), fair_prod.clone(), req("safety", &["staging"], &[], &[])]);
        check(&base, &staged, true);
        // Widening a requirement from one environment to all tightens.
        check(&base, &gate(vec![perf.clone(), req("fairness", &[], &[], &[("gap", 50_000)])]), false);
        // Empty defaults loosen unlisted environments; defaults that keep fairness do not.
        check(&base, &GateRules { defaults: Some(vec![]), ..base.clone() }, true);
        let keep = req("fairness", &[], &[], &[("gap", 50_000)]);
        check(&base, &GateRules { defaults: Some(vec![keep]), ..base.clone() }, false);
        // Independence: adding it tightens, dropping it loosens.
        let independent = GateRules { independent: true, ..base.clone() };
        check(&base, &independent, false);
        check(&independent, &base, true);
    }

    /// Which requirements a deploy into an environment must satisfy.
    #[test]
    fn gate_requirements_of_unlisted_environments() {
        let perf = req("performance", &[], &[], &[]);
        let fair = req("fairness", &["production"], &[], &[]);
        let safe = req("safety", &[], &[], &[]);
        let kinds = |g: &GateRules, e: &str| -> Vec<String> {
            g.applicable(&EnvId::new(e).expect("env")).iter().map(|r| r.kind.to_string()).collect()
        };
        let g = gate(vec![perf.clone(), fair.clone()]);
        assert_eq!(kinds(&g, "production"), ["performance", "fairness"]);
        assert_eq!(kinds(&g, "prod-eu"), ["performance", "fairness"], "an unlisted name bypasses nothing");
        let g = GateRules { defaults: Some(vec![safe.clone()]), ..g };
        assert_eq!(kinds(&g, "production"), ["performance", "fairness"]);
        assert_eq!(kinds(&g, "canary"), ["performance", "safety"]);
        // Defaults name no environments.
        let bad = GateRules { defaults: Some(vec![fair]), ..g };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn record_refs_round_trip_through_text() {
        let h = crate::hash::sha256(b"x");
        for r in [
            RecordRef::Content(h),
            RecordRef::OptOut(h),
            RecordRef::dataset(&DatasetId::new("digits").expect("id"), 3),
            RecordRef::Challenge(h),
            RecordRef::Run(RunId::new("run-1").expect("id")),
            RecordRef::model_version(&ModelId::new("clf").expect("id"), 2),
            RecordRef::Attestation(h),
            RecordRef::Deployment(h),
            RecordRef::Decision(h),
            RecordRef::Dispute(h),
        ] {
            assert_eq!(r.to_string().parse::<RecordRef>(), Ok(r.clone()));
            let json = serde_json::to_string(&r).expect("json");
            assert_eq!(serde_json::from_str::<RecordRef>(&json).expect("parse"), r);
        }
        for bad in ["", "model:clf", "model:clf@0", "dataset:x@-1", "thing:abc", "content:zz", "run:Bad"] {
            assert!(bad.parse::<RecordRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn name_at_version_has_one_parser() {
        let d: DatasetRef = "digits-corpus@2".parse().expect("dataset ref");
        assert_eq!((d.dataset.as_str(), d.version), ("digits-corpus", 2));
        assert_eq!(d.to_string(), "digits-corpus@2");
        let m: ModelVersionRef = "clf@1".parse().expect("model ref");
        assert_eq!(m.to_string(), "clf@1");
        assert_eq!("dataset:digits-corpus@2".parse::<RecordRef>(), Ok(RecordRef::Dataset(d)));
        for bad in ["clf", "clf@", "clf@0", "clf@-1", "clf@1.5", "clf@4294967296", "Bad@1", "@1"] {
            assert!(bad.parse::<ModelVersionRef>().is_err(), "{bad}");
            assert!(bad.parse::<DatasetRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_commits_licences() {
        for ok in ["2026-11-23", "2024-02-29", "2000-02-29"] {
            assert!(check_date("d", ok).is_ok(), "{ok}");
        }
        for bad in ["2026-13-01", "2023-02-29", "1900-02-29", "2026-1-01", "2026-11-31", "abcd-ef-gh", "+026-11-23"] {
            assert!(check_date("d", bad).is_err(), "{bad}");
        }
        assert!(check_commit("abc1234").is_ok());
        assert!(check_commit("ABC1234").is_err());
        assert!(check_commit("abc12").is_err());
        assert_eq!("CC-BY-4.0".parse::<Licence>(), Ok(Licence::Spdx("CC-BY-4.0".into())));
        assert!("CC BY".parse::<Licence>().is_err());
        let h = crate::hash::sha256(b"terms");
        assert_eq!(format!("custom:{h}").parse::<Licence>(), Ok(Licence::Custom(h)));
    }

    #[test]
    fn gate_shortfalls() {
        let att = Attestation {
            id: Hash::ZERO,
            model: ModelId::new("m").expect("id"),
            version: 1,
            evaluator: AccountId::new("eva").expect("id"),
            kind: AttestationKind::new("fairness").expect("id"),
            suite: "s".into(),
            dataset_name: "d".into(),
            dataset_sha256: Hash::ZERO,
            metrics: vec![Metric {
                name: "gap".into(),
                value_ppm: 30_000,
                threshold_ppm: Some(50_000),
                higher_is_better: false,
            }],
            passed: true,
            height: 1,
            tx: Hash::ZERO,
            revoked: None,
        };
        let mut req = GateRequirement {
            kind: AttestationKind::new("fairness").expect("id"),
            environments: vec![],
            evaluators: vec![],
            metrics: vec![MetricBound { name: "gap".into(), bound_ppm: 40_000 }],
        };
        assert_eq!(req.shortfall(&att), None);
        req.metrics[0].bound_ppm = 20_000;
        assert!(req.shortfall(&att).expect("too large a gap").contains("above the maximum"));
        req.metrics[0].bound_ppm = 40_000;
        req.evaluators = vec![AccountId::new("other").expect("id")];
        assert!(req.shortfall(&att).is_some());
        req.evaluators.clear();
        let mut revoked = att.clone();
        revoked.revoked = Some(Deprecation { by: att.evaluator.clone(), reason: "bug".into(), height: 2 });
        assert_eq!(req.shortfall(&revoked).as_deref(), Some("revoked"));
        req.kind = AttestationKind::new("safety").expect("id");
        assert!(req.shortfall(&att).is_some());
    }
}
