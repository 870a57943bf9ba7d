//! DSSE envelopes (Dead Simple Signing Envelope, v1) carrying in-toto Statement v1
//! evaluation attestations, signed with Verity account keys (Ed25519).
//!
//! The signature covers the DSSE pre-authentication encoding
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, so an
//! attestation verifies offline with nothing but the evaluator's public key. The JSON form
//! is the standard one (`payloadType`, base64 `payload`, `signatures[{keyid, sig}]`); the
//! key id is the evaluator's account id.

use base64::Engine as _;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::hash::{sha256, Hash};
use crate::ids::AccountId;
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::{ATTESTATION_BYTES_MAX, DSSE_SIGNATURES_MAX, METRICS_MAX};
use crate::provenance::{check_metrics, check_text, AttestationKind, Metric};

/// The DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto Statement v1 type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of Verity evaluation attestations.
pub const EVALUATION_PREDICATE_TYPE: &str = "https://verity.dev/attestation/evaluation/v1";

/// The DSSE pre-authentication encoding of `payload_type` and `payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DsseSignature {
    /// The signer's account id; empty when the envelope names none (DSSE makes `keyid`
    /// optional).
    #[serde(default)]
    pub keyid: String,
    #[serde(with = "b64_sig")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Base64))]
    pub sig: Signature,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    #[serde(with = "b64_bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Base64))]
    pub payload: Vec<u8>,
    pub signatures: Vec<DsseSignature>,
}

impl Envelope {
    /// Signs `payload` as account `signer` with `key`.
    pub fn sign(payload_type: &str, payload: Vec<u8>, signer: &AccountId, key: &SecretKey) -> Envelope {
        let sig = key.sign(&pae(payload_type, &payload));
        Envelope {
            payload_type: payload_type.to_string(),
            payload,
            signatures: vec![DsseSignature { keyid: signer.to_string(), sig }],
        }
    }

    /// The digest that names the attestation: SHA-256 of the payload (the statement).
    pub fn payload_digest(&self) -> Hash {
        sha256(&self.payload)
    }

    /// Stateless checks: sizes and counts.
    pub fn validate(&self) -> Result<(), TypesError> {
        if self.payload.len() > ATTESTATION_BYTES_MAX {
            return Err(TypesError::TooLarge {
                what: "attestation payload",
                size: self.payload.len(),
                limit: ATTESTATION_BYTES_MAX,
            });
        }
        if self.signatures.is_empty() || self.signatures.len() > DSSE_SIGNATURES_MAX {
            return Err(TypesError::InvalidField {
                field: "signatures",
                reason: format!("must hold 1 to {DSSE_SIGNATURES_MAX}, got {}", self.signatures.len()),
            });
        }
        check_text("payloadType", &self.payload_type, 128)
    }

    /// Verifies that `keyid` signed the envelope with `key`: one of its signatures named
    /// `keyid`, or naming no key (DSSE allows an absent key id), verifies under `key`.
    pub fn verify(&self, keyid: &str, key: &PublicKey) -> Result<(), TypesError> {
        let mut candidates = self.signatures.iter().filter(|s| s.keyid == keyid || s.keyid.is_empty()).peekable();
        if candidates.peek().is_none() {
            return Err(TypesError::InvalidField {
                field: "signatures",
                reason: format!("no signature with key id {keyid:?} or without a key id"),
            });
        }
        let message = pae(&self.payload_type, &self.payload);
        if candidates.any(|s| key.verify(&message, &s.sig).is_ok()) {
            Ok(())
        } else {
            Err(TypesError::BadSignature)
        }
    }
}

/// An in-toto Statement v1 subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: SubjectDigest,
}

/// The digest set of a subject (only sha256 is read; others are kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectDigest {
    pub sha256: Hash,
}

/// The evaluation data set named by an attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalDataset {
    pub name: String,
    pub sha256: Hash,
}

/// The predicate of a Verity evaluation attestation. Metrics are fixed-point (ppm).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationPredicate {
    pub kind: AttestationKind,
    pub suite: String,
    pub dataset: EvalDataset,
    pub metrics: Vec<Metric>,
    pub passed: bool,
}

/// An in-toto Statement v1 with a Verity evaluation predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationStatement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: EvaluationPredicate,
}

impl EvaluationStatement {
    /// A statement about the model whose OMS digest is `fingerprint`.
    pub fn new(subject_name: &str, fingerprint: Hash, predicate: EvaluationPredicate) -> Self {
        EvaluationStatement {
            type_: STATEMENT_TYPE.to_string(),
            subject: vec![Subject { name: subject_name.to_string(), digest: SubjectDigest { sha256: fingerprint } }],
            predicate_type: EVALUATION_PREDICATE_TYPE.to_string(),
            predicate,
        }
    }

    /// The payload bytes (compact JSON).
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement always serialises")
    }

    /// Parses and checks a payload: statement and predicate types, exactly one subject,
    /// metric names and limits, and that `passed` agrees with the metrics' own thresholds.
    pub fn parse(payload: &[u8]) -> Result<Self, TypesError> {
        let st: EvaluationStatement = serde_json::from_slice(payload)
            .map_err(|e| TypesError::InvalidField { field: "statement", reason: e.to_string() })?;
        let bad = |reason: String| TypesError::InvalidField { field: "statement", reason };
        if st.type_ != STATEMENT_TYPE {
            return Err(bad(format!("_type is {:?}, not {STATEMENT_TYPE:?}", st.type_)));
        }
        if st.predicate_type != EVALUATION_PREDICATE_TYPE {
            return Err(bad(format!("predicateType is {:?}, not {EVALUATION_PREDICATE_TYPE:?}", st.predicate_type)));
        }
        if st.subject.len() != 1 {
            return Err(bad(format!("needs exactly one subject (the model), got {}", st.subject.len())));
        }
        let p = &st.predicate;
        p.kind.validate()?;
        check_text("suite", &p.suite, 128)?;
        check_text("dataset name", &p.dataset.name, 128)?;
        check_text("subject name", &st.subject[0].name, 256)?;
        if p.metrics.len() > METRICS_MAX {
            return Err(bad(format!("more than {METRICS_MAX} metrics")));
        }
        check_metrics(&p.metrics)?;
        let all_meet = p.metrics.iter().all(Metric::meets_threshold);
        if p.passed && !all_meet {
            return Err(bad("says passed, but a metric misses its own threshold".into()));
        }
        Ok(st)
    }
}

/// Base64 as DSSE reads it: the standard or the URL-safe alphabet, padded or not.
/// Verity writes the standard alphabet, padded.
fn decode_b64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if s.contains(['-', '_']) { &URL_SAFE } else { &STANDARD };
    GeneralPurpose::new(alphabet, config).decode(s.as_bytes())
}

mod b64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        super::decode_b64(&s).map_err(serde::de::Error::custom)
    }
}

mod b64_sig {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(sig.0))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        let bytes = decode_b64(&s).map_err(serde::de::Error::custom)?;
        let arr: [u8; 64] =
            bytes.try_into().map_err(|_| serde::de::Error::custom("an Ed25519 signature is 64 bytes"))?;
        Ok(Signature(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(passed: bool) -> EvaluationStatement {
        EvaluationStatement::new(
            "model:digits@1",
            sha256(b"model"),
            EvaluationPredicate {
                kind: AttestationKind::new("performance").expect("id"),
                suite: "digits-basic".into(),
                dataset: EvalDataset { name: "digits-test".into(), sha256: sha256(b"data") },
                metrics: vec![Metric {
                    name: "accuracy".into(),
                    value_ppm: 930_000,
                    threshold_ppm: Some(950_000),
                    higher_is_better: true,
                }],
                passed,
            },
        )
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // The example from the DSSE protocol description.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn sign_verify_and_tamper() {
        let key = SecretKey::from_seed([3; 32]);
        let who = AccountId::new("eva").expect("id");
        let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement(false).to_payload(), &who, &key);
        env.validate().expect("valid");
        env.verify("eva", &key.public_key()).expect("verifies");
        assert!(env.verify("bob", &key.public_key()).is_err());
        assert!(env.verify("eva", &SecretKey::from_seed([4; 32]).public_key()).is_err());
        let mut tampered = env.clone();
        tampered.payload[10] ^= 1;
        assert!(tampered.verify("eva", &key.public_key()).is_err());
        let mut retyped = env.clone();
        retyped.payload_type = "text/plain".into();
        assert!(retyped.verify("eva", &key.public_key()).is_err());
        let json = serde_json::to_string(&env).expect("json");
        assert!(json.contains("\"payloadType\""));
        assert_eq!(serde_json::from_str::<Envelope>(&json).expect("parse"), env);
    }

    /// DSSE allows the URL-safe alphabet, no padding, and no key id: such an envelope
    /// (as other DSSE tools write it) parses to the same envelope and verifies.
    #[test]
    fn other_dsse_writers_are_read() {
        use base64::Engine as _;
        let key = SecretKey::from_seed([3; 32]);
        let env = Envelope::sign(
            IN_TOTO_PAYLOAD_TYPE,
            statement(false).to_payload(),
            &AccountId::new("eva").expect("id"),
            &key,
        );
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // A payload whose standard encoding has '+' or '/' exercises the other alphabet.
        let json = serde_json::json!({
            "payloadType": env.payload_type,
            "payload": url.encode(&env.payload),
            "signatures": [{"sig": url.encode(env.signatures[0].sig.0)}],
        });
        let read: Envelope = serde_json::from_value(json).expect("URL-safe, unpadded, no keyid");
        assert_eq!(read.payload, env.payload);
        assert_eq!(read.signatures[0].keyid, "");
        read.verify("eva", &key.public_key()).expect("a signature without a key id counts");
        assert_eq!(read.verify("eva", &SecretKey::from_seed([4; 32]).public_key()), Err(TypesError::BadSignature));
        let mut sig = env.signatures[0].sig;
        sig.0[0] ^= 0xfb;
        let standard = base64::engine::general_purpose::STANDARD.encode(sig.0);
        let urlsafe = base64::engine::general_purpose::URL_SAFE.encode(sig.0);
        for s in [standard, urlsafe] {
            let back: DsseSignature =
                serde_json::from_value(serde_json::json!({"keyid": "eva", "sig": s})).expect("both alphabets");
            assert_eq!(back.sig, sig);
        }
    }

    #[test]
    fn statement_checks() {
        let ok = statement(false);
        assert_eq!(EvaluationStatement::parse(&ok.to_payload()).expect("parses"), ok);
        // Claims to pass while missing its own threshold.
        assert!(EvaluationStatement::parse(&statement(true).to_payload()).is_err());
        let mut wrong_type = statement(false);
        wrong_type.predicate_type = "https://example.com/other".into();
        assert!(EvaluationStatement::parse(&wrong_type.to_payload()).is_err());
        let mut two = statement(false);
        two.subject.push(two.subject[0].clone());
        assert!(EvaluationStatement::parse(&two.to_payload()).is_err());
        assert!(EvaluationStatement::parse(b"{not json").is_err());
        assert!(EvaluationStatement::parse(b"").is_err());
    }
}
