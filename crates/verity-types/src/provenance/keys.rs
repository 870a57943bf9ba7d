//! State keys of the provenance module (verity-state's `provenance` writes them). They
//! live here so that an offline verifier can check that a state proof is for the key of
//! the record it claims. Identifiers never contain `/`; hashes are lower
//! hex; record references use their text form (`model:clf@2`).

use crate::hash::Hash;
use crate::provenance::{ContentId, DatasetId, EnvId, ModelId, RecordKind, RecordRef, RunId};

pub const CONTENT_PREFIX: &[u8] = b"prov/content/";
pub const OPT_OUT_PREFIX: &[u8] = b"prov/optout/";
pub const DATASET_PREFIX: &[u8] = b"prov/dataset/";
pub const DATASET_VERSION_PREFIX: &[u8] = b"prov/dataset_version/";
pub const CHALLENGE_PREFIX: &[u8] = b"prov/challenge/";
pub const RUN_PREFIX: &[u8] = b"prov/run/";
pub const MODEL_PREFIX: &[u8] = b"prov/model/";
pub const MODEL_VERSION_PREFIX: &[u8] = b"prov/model_version/";
pub const FINGERPRINT_PREFIX: &[u8] = b"prov/fingerprint/";
pub const ATTESTATION_PREFIX: &[u8] = b"prov/attestation/";
pub const GATE_PREFIX: &[u8] = b"prov/gate/";
pub const DEPLOYMENT_PREFIX: &[u8] = b"prov/deployment/";
pub const CURRENT_DEPLOYMENT_PREFIX: &[u8] = b"prov/current/";
pub const DECISION_PREFIX: &[u8] = b"prov/decision/";
pub const DISPUTE_PREFIX: &[u8] = b"prov/dispute/";
pub const CONTENT_DISPUTES_PREFIX: &[u8] = b"prov/disputes/";
pub const REVIEW_PREFIX: &[u8] = b"prov/review/";
pub const RISK_PREFIX: &[u8] = b"prov/risk/";
pub const GATE_CHANGE_PREFIX: &[u8] = b"prov/gate_change/";
pub const GATE_PENDING_PREFIX: &[u8] = b"prov/gate_pending/";
pub const OPTED_OUT_CHALLENGE_PREFIX: &[u8] = b"prov/optout_challenge/";

fn hex_key(prefix: &[u8], h: &Hash) -> Vec<u8> {
    [prefix, h.to_hex().as_bytes()].concat()
}

/// `prov/content/<hash>` -> [`crate::Content`].
pub fn content(id: &ContentId) -> Vec<u8> {
    hex_key(CONTENT_PREFIX, id)
}

/// `prov/optout/<id>` -> [`crate::OptOut`].
pub fn opt_out(id: &Hash) -> Vec<u8> {
    hex_key(OPT_OUT_PREFIX, id)
}

/// `prov/dataset/<id>` -> [`crate::Dataset`].
pub fn dataset(id: &DatasetId) -> Vec<u8> {
    [DATASET_PREFIX, id.as_str().as_bytes()].concat()
}

/// `prov/dataset_version/<id>/<version>` -> [`crate::DatasetVersion`].
pub fn dataset_version(id: &DatasetId, version: u32) -> Vec<u8> {
    [DATASET_VERSION_PREFIX, id.as_str().as_bytes(), b"/", version.to_string().as_bytes()].concat()
}

/// `prov/challenge/<id>` -> [`crate::Challenge`].
pub fn challenge(id: &Hash) -> Vec<u8> {
    hex_key(CHALLENGE_PREFIX, id)
}

/// `prov/optout_challenge/<dataset>/<version>/<content>` -> the id ([`Hash`]) of the
/// challenge that upheld an opt-out of that item in that version (one at a time).
pub fn opted_out_challenge(id: &DatasetId, version: u32, content: &ContentId) -> Vec<u8> {
    [
        OPTED_OUT_CHALLENGE_PREFIX,
        id.as_str().as_bytes(),
        b"/",
        version.to_string().as_bytes(),
        b"/",
        content.to_hex().as_bytes(),
    ]
    .concat()
}

/// `prov/run/<id>` -> [`crate::TrainingRun`].
pub fn run(id: &RunId) -> Vec<u8> {
    [RUN_PREFIX, id.as_str().as_bytes()].concat()
}

/// `prov/model/<id>` -> [`crate::Model`].
pub fn model(id: &ModelId) -> Vec<u8> {
    [MODEL_PREFIX, id.as_str().as_bytes()].concat()
}

/// `prov/model_version/<id>/<version>` -> [`crate::ModelVersion`].
pub fn model_version(id: &ModelId, version: u32) -> Vec<u8> {
    [MODEL_VERSION_PREFIX, id.as_str().as_bytes(), b"/", version.to_string().as_bytes()].concat()
}

/// `prov/fingerprint/<hash>` -> [`crate::ModelVersionRef`].
pub fn fingerprint(h: &Hash) -> Vec<u8> {
    hex_key(FINGERPRINT_PREFIX, h)
}

/// `prov/attestation/<id>` -> [`crate::Attestation`].
pub fn attestation(id: &Hash) -> Vec<u8> {
    hex_key(ATTESTATION_PREFIX, id)
}

/// `prov/gate/<model>` -> [`crate::GatePolicy`].
pub fn gate(model: &ModelId) -> Vec<u8> {
    [GATE_PREFIX, model.as_str().as_bytes()].concat()
}

/// `prov/gate_change/<id>` -> [`crate::GateChange`].
pub fn gate_change(id: &Hash) -> Vec<u8> {
    hex_key(GATE_CHANGE_PREFIX, id)
}

/// `prov/gate_pending/<model>` -> `Option<Hash>`: the id of the model's pending gate
/// change (`None` once it took effect or was superseded; keys are never deleted).
pub fn gate_pending(model: &ModelId) -> Vec<u8> {
    [GATE_PENDING_PREFIX, model.as_str().as_bytes()].concat()
}

/// `prov/deployment/<id>` -> [`crate::Deployment`].
pub fn deployment(id: &Hash) -> Vec<u8> {
    hex_key(DEPLOYMENT_PREFIX, id)
}

/// `prov/current/<model>/<environment>` -> the id (`Hash`) of the deployment in force.
pub fn current_deployment(model: &ModelId, env: &EnvId) -> Vec<u8> {
    [CURRENT_DEPLOYMENT_PREFIX, model.as_str().as_bytes(), b"/", env.as_str().as_bytes()].concat()
}

/// `prov/deployments` -> `u64`, the number of deployments ever made.
pub fn deployment_count() -> Vec<u8> {
    b"prov/deployments".to_vec()
}

/// `prov/deployment_seq/<n>` (n zero-padded to 20 digits) -> the id of the n-th deployment.
pub fn deployment_seq(n: u64) -> Vec<u8> {
    format!("prov/deployment_seq/{n:020}").into_bytes()
}

/// `prov/decision/<id>` -> [`crate::Decision`].
pub fn decision(id: &Hash) -> Vec<u8> {
    hex_key(DECISION_PREFIX, id)
}

/// `prov/dispute/<id>` -> [`crate::ContentDispute`].
pub fn dispute(id: &Hash) -> Vec<u8> {
    hex_key(DISPUTE_PREFIX, id)
}

/// `prov/disputes/<content>` -> `Vec<Hash>`, the ids of the content's disputes, oldest
/// first (the last one is open unless resolved).
pub fn content_disputes(content: &ContentId) -> Vec<u8> {
    hex_key(CONTENT_DISPUTES_PREFIX, content)
}

/// `prov/review/<dataset>/<version>` -> [`crate::ReviewRule`] (absent: one reviewer decides).
pub fn review(id: &DatasetId, version: u32) -> Vec<u8> {
    [REVIEW_PREFIX, id.as_str().as_bytes(), b"/", version.to_string().as_bytes()].concat()
}

/// `prov/risk/<model>` -> [`crate::RiskPolicy`] (absent: at-risk deployments are reported only).
pub fn risk_policy(model: &ModelId) -> Vec<u8> {
    [RISK_PREFIX, model.as_str().as_bytes()].concat()
}

/// `prov/edges/<record>/<kind>` -> `u64`, the number of records of `kind` directly
/// downstream of `record` (one list per kind in [`RecordKind::downstream`], so readers of
/// one kind, such as a deploy gate reading attestations, never walk the others).
pub fn edge_count(from: &RecordRef, kind: RecordKind) -> Vec<u8> {
    format!("prov/edges/{from}/{kind}").into_bytes()
}

/// `prov/edge/<record>/<kind>/<n>` (n zero-padded to 20 digits) -> the n-th
/// [`RecordRef`] of `kind` directly downstream of `record`, oldest first.
pub fn edge(from: &RecordRef, kind: RecordKind, n: u64) -> Vec<u8> {
    format!("prov/edge/{from}/{kind}/{n:020}").into_bytes()
}

/// `prov/flags/<record>` -> `u32`, the number of flags on the record.
pub fn flag_count(record: &RecordRef) -> Vec<u8> {
    format!("prov/flags/{record}").into_bytes()
}

/// `prov/flag/<record>/<n>` -> the n-th [`crate::Flag`] on the record.
pub fn flag(record: &RecordRef, n: u32) -> Vec<u8> {
    format!("prov/flag/{record}/{n:010}").into_bytes()
}

/// `prov/flags_active/<record>` -> `u32`, the number of the record's flags not lifted
/// (absent: none). A record with an active flag cannot be used or deployed.
pub fn active_flag_count(record: &RecordRef) -> Vec<u8> {
    format!("prov/flags_active/{record}").into_bytes()
}

/// The key of the record a reference names.
pub fn record(r: &RecordRef) -> Vec<u8> {
    match r {
        RecordRef::Content(h) => content(h),
        RecordRef::OptOut(h) => opt_out(h),
        RecordRef::Dataset(d) => dataset_version(&d.dataset, d.version),
        RecordRef::Challenge(h) => challenge(h),
        RecordRef::Run(id) => run(id),
        RecordRef::ModelVersion(m) => model_version(&m.model, m.version),
        RecordRef::Attestation(h) => attestation(h),
        RecordRef::Deployment(h) => deployment(h),
        RecordRef::Decision(h) => decision(h),
        RecordRef::Dispute(h) => dispute(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lineage keys are part of the ledger format (state proofs and audit bundles
    /// name them): a change here is a deliberate format change.
    #[test]
    fn lineage_keys_golden() {
        let mv: RecordRef = "model:clf@2".parse().expect("ref");
        let text = |k: Vec<u8>| String::from_utf8(k).expect("utf-8");
        assert_eq!(text(edge_count(&mv, RecordKind::Decision)), "prov/edges/model:clf@2/decision");
        assert_eq!(
            text(edge(&mv, RecordKind::Attestation, 7)),
            "prov/edge/model:clf@2/attestation/00000000000000000007"
        );
        assert_eq!(text(flag_count(&mv)), "prov/flags/model:clf@2");
        assert_eq!(text(flag(&mv, 3)), "prov/flag/model:clf@2/0000000003");
        // The longest reference and kind stay within the state key limit.
        let long =
            RecordRef::model_version(&ModelId::new("m".repeat(crate::limits::ID_BYTES_MAX)).expect("id"), u32::MAX);
        assert!(edge(&long, RecordKind::Attestation, u64::MAX).len() <= crate::limits::STATE_KEY_BYTES_MAX);
        let content = RecordRef::Content(crate::sha256(b"x"));
        assert!(edge(&content, RecordKind::Challenge, u64::MAX).len() <= crate::limits::STATE_KEY_BYTES_MAX);
    }

    /// Gate change keys: their own prefixes, never read as a gate (`prov/gate/<model>`)
    /// whatever the model is called.
    #[test]
    fn gate_change_keys_golden() {
        let text = |k: Vec<u8>| String::from_utf8(k).expect("utf-8");
        let m = ModelId::new("clf").expect("id");
        assert_eq!(text(gate_pending(&m)), "prov/gate_pending/clf");
        assert_eq!(text(gate_change(&Hash::ZERO)), format!("prov/gate_change/{}", "0".repeat(64)));
        assert!(!gate_pending(&m).starts_with(GATE_PREFIX) && !gate_change(&Hash::ZERO).starts_with(GATE_PREFIX));
    }
}
