//! Record references (`model:clf@2`) and decoded records of any kind.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{ReferenceError, TypesError};
use crate::hash::Hash;

use super::*;

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

impl RecordKind {
    /// Every kind, in declaration order.
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Content,
        RecordKind::OptOut,
        RecordKind::Dataset,
        RecordKind::Challenge,
        RecordKind::Run,
        RecordKind::ModelVersion,
        RecordKind::Attestation,
        RecordKind::Deployment,
        RecordKind::Decision,
        RecordKind::Dispute,
    ];
}

impl<'de> Deserialize<'de> for RecordKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a record kind")))
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

/// Splits `NAME@VERSION`, the one text form of a dataset or model version, shared by
/// record references (`dataset:NAME@VERSION`), the node's `/v1/records/{reference}`, the
/// CLI and the client. The version is a decimal from 1; the name is returned unchecked
/// (the caller parses it as its identifier kind). `field` names the reference kind in
/// the error.
pub(super) fn split_name_at_version<'a>(s: &'a str, field: &'static str) -> Result<(&'a str, u32), TypesError> {
    let fail = |error| TypesError::Reference { field, error };
    let input = || s.to_string();
    let (name, v) = s.split_once('@').ok_or_else(|| fail(ReferenceError::MissingVersion { input: input() }))?;
    if v.contains('@') {
        return Err(fail(ReferenceError::ExtraAt { input: input() }));
    }
    if name.is_empty() {
        return Err(fail(ReferenceError::EmptyName { input: input() }));
    }
    if v.is_empty() {
        return Err(fail(ReferenceError::MissingVersion { input: input() }));
    }
    match v.parse::<u32>() {
        Ok(0) => Err(fail(ReferenceError::ZeroVersion { input: input() })),
        Ok(version) => Ok((name, version)),
        Err(_) => Err(fail(ReferenceError::BadVersion { input: input() })),
    }
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

/// A decoded provenance record of any kind (the value a [`RecordRef`] names).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
}
