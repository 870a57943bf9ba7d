//! Training runs, models, model versions, metrics and evaluation attestations.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};

use super::*;

/// A training run. Key: `prov/run/<id>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetRef {
    pub dataset: DatasetId,
    pub version: u32,
}

/// A model version.
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersionRef {
    pub model: ModelId,
    pub version: u32,
}

/// `NAME@VERSION` (versions start at 1): the one text form of a dataset version, used by
/// record references (`dataset:NAME@VERSION`), the CLI and the client.
impl FromStr for DatasetRef {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, version) = split_name_at_version(s, "dataset")?;
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
        let (name, version) = split_name_at_version(s, "model")?;
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Model {
    pub id: ModelId,
    pub org: OrgId,
    pub description: String,
    pub versions: u32,
    pub height: u64,
}

/// A deprecation of a model version.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deprecation {
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A model version. Key: `prov/model_version/<id>/<version>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
