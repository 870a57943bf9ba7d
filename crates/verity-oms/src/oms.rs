//! OMS signatures: Sigstore bundles (v0.3) whose DSSE envelope carries an in-toto
//! Statement v1 with predicate type `https://model_signing/signature/v1.0`, the same
//! files `model_signing sign key` writes and `model_signing verify key` reads.
//!
//! Layout, from model-signing 1.1.1 (`_signing/sign_ec_key.py`, `sign_sigstore_pb.py`):
//!
//! ```json
//! {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial": {"publicKey": {"hint": "<hex SHA-256 of the public key PEM>"},
//!                           "tlogEntries": []},
//!  "dsseEnvelope": {"payload": "<base64 statement JSON>",
//!                   "payloadType": "application/vnd.in-toto+json",
//!                   "signatures": [{"sig": "<base64 signature>", "keyid": ""}]}}
//! ```
//!
//! The signature is over the DSSE pre-authentication encoding
//! `DSSEv1 <len type> <type> <len payload> <payload>`. For ECDSA P-256 it is
//! ASN.1 DER encoded (what Python's `cryptography` produces and expects), over SHA-256.
//! The hint is the SHA-256 of the SubjectPublicKeyInfo PEM text (LF line endings).
//!
//! Verity's Ed25519 keys use the same bundle: `sig` is the raw 64-byte Ed25519
//! signature of the same encoding and the hint is the SHA-256 of the key's
//! SubjectPublicKeyInfo PEM (OID 1.3.101.112), so the rule for the hint is one for
//! both key kinds. model-signing itself cannot verify Ed25519 bundles (it accepts
//! only elliptic-curve keys on NIST curves).

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use verity_types::keys::{PublicKey, SecretKey, Signature};

use crate::error::{Difference, OmsError};
use crate::fingerprint::{self, HashAlgorithm, Manifest, Method, Progress, Resource, Serialization};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const IN_TOTO_STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// Largest signature file accepted; a manifest of a million files is about 150 MB of
/// base64 JSON, far beyond any model we expect, so 64 MiB is generous.
pub const BUNDLE_BYTES_MAX: usize = 64 << 20;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
/// DER prefix of an Ed25519 PKCS#8 private key (RFC 8410), followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// A key that signs bundles.
#[derive(Clone)]
pub enum SigningKey {
    /// ECDSA P-256, as model-signing's `sign key` uses.
    P256(p256::ecdsa::SigningKey),
    /// A Verity account key.
    Ed25519(SecretKey),
}

/// A key that verifies bundles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(PublicKey),
}

impl SigningKey {
    /// Parses a PEM private key: SEC1 (`EC PRIVATE KEY`, what `openssl ecparam
    /// -genkey` writes) or unencrypted PKCS#8 (`PRIVATE KEY`) for P-256 or Ed25519.
    pub fn from_pem(text: &str) -> Result<Self, OmsError> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "EC PRIVATE KEY" => {
                let sk = p256::SecretKey::from_sec1_pem(text)
                    .map_err(|e| OmsError::Key(format!("not a P-256 SEC1 private key: {e}")))?;
                Ok(SigningKey::P256(sk.into()))
            }
            "PRIVATE KEY" => {
                if let Some(seed) = der.strip_prefix(&ED25519_PKCS8_PREFIX[..]) {
                    let seed: [u8; 32] =
                        seed.try_into().map_err(|_| OmsError::Key("Ed25519 PKCS#8 key of the wrong length".into()))?;
                    return Ok(SigningKey::Ed25519(SecretKey::from_seed(seed)));
                }
                let sk = p256::ecdsa::SigningKey::from_pkcs8_pem(text)
                    .map_err(|e| OmsError::Key(format!("not a P-256 or Ed25519 PKCS#8 private key: {e}")))?;
                Ok(SigningKey::P256(sk))
            }
            "ENCRYPTED PRIVATE KEY" => Err(OmsError::Key("encrypted private keys are not supported".into())),
            other => Err(OmsError::Key(format!("unexpected PEM block {other:?} (expected a private key)"))),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(sk) => VerifyingKey::P256(*sk.verifying_key()),
            SigningKey::Ed25519(sk) => VerifyingKey::Ed25519(sk.public_key()),
        }
    }

    /// Signs `message`: DER-encoded ECDSA P-256/SHA-256, or raw Ed25519.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::Ed25519(sk) => sk.sign(message).0.to_vec(),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(hint={})", self.verifying_key().hint())
    }
}

impl VerifyingKey {
    /// Parses a SubjectPublicKeyInfo PEM (`PUBLIC KEY`) for P-256 or Ed25519.
    pub fn from_pem(text: &str) -> Result<Self, OmsError> {
        let (label, der) = pem_decode(text)?;
        if label != "PUBLIC KEY" {
            return Err(OmsError::Key(format!("unexpected PEM block {label:?} (expected PUBLIC KEY)")));
        }
        if let Some(raw) = der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            let raw: [u8; 32] =
                raw.try_into().map_err(|_| OmsError::Key("Ed25519 public key of the wrong length".into()))?;
            let key = PublicKey(raw);
            key.to_dalek().map_err(|e| OmsError::Key(format!("invalid Ed25519 public key: {e}")))?;
            return Ok(VerifyingKey::Ed25519(key));
        }
        let vk = p256::ecdsa::VerifyingKey::from_public_key_pem(text)
            .map_err(|e| OmsError::Key(format!("not a P-256 or Ed25519 public key: {e}")))?;
        Ok(VerifyingKey::P256(vk))
    }

    /// The SubjectPublicKeyInfo PEM with LF line endings, byte for byte what Python's
    /// `cryptography` (and `openssl ec -pubout`) writes.
    pub fn to_pem(&self) -> String {
        match self {
            VerifyingKey::P256(vk) => {
                vk.to_public_key_pem(LineEnding::LF).expect("encoding a valid P-256 point as SPKI PEM cannot fail")
            }
            VerifyingKey::Ed25519(pk) => {
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(&pk.0);
                format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", B64.encode(der))
            }
        }
    }

    /// model-signing's key hint: hex SHA-256 of the public key's PEM text.
    pub fn hint(&self) -> String {
        hex::encode(Sha256::digest(self.to_pem().as_bytes()))
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), OmsError> {
        match self {
            VerifyingKey::P256(vk) => {
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| OmsError::BadSignature)?;
                vk.verify(message, &sig).map_err(|_| OmsError::BadSignature)
            }
            VerifyingKey::Ed25519(pk) => {
                let sig: [u8; 64] = sig.try_into().map_err(|_| OmsError::BadSignature)?;
                pk.verify(message, &Signature(sig)).map_err(|_| OmsError::BadSignature)
            }
        }
    }
}

/// Decodes the first PEM block of `text` into its label and DER bytes.
fn pem_decode(text: &str) -> Result<(String, Vec<u8>), OmsError> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")))
        .ok_or_else(|| OmsError::Key("no PEM block found".into()))?
        .to_string();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines.by_ref() {
        if line == end {
            let der = B64.decode(body.as_bytes()).map_err(|e| OmsError::Key(format!("bad PEM base64: {e}")))?;
            return Ok((label, der));
        }
        if line.contains(':') {
            // RFC 1421 headers (Proc-Type, DEK-Info) mean an encrypted legacy key.
            return Err(OmsError::Key("encrypted private keys are not supported".into()));
        }
        body.push_str(line);
    }
    Err(OmsError::Key(format!("PEM block {label:?} has no END line")))
}

/// DSSE pre-authentication encoding (DSSE v1.0 protocol).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

// ---- JSON shapes -------------------------------------------------------------------

/// A Sigstore bundle as model-signing writes it for key signing. Unknown fields are
/// ignored when reading.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub dsse_envelope: Envelope,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyHint>,
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct PublicKeyHint {
    #[serde(default)]
    pub hint: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 of the statement JSON.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct EnvelopeSignature {
    /// Base64 of the signature bytes.
    pub sig: String,
    #[serde(default)]
    pub keyid: String,
}

#[derive(Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Serialize, Deserialize)]
struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Serialize, Deserialize)]
struct SubjectDigest {
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Predicate {
    serialization: SerializationJson,
    resources: Vec<ResourceJson>,
}

#[derive(Serialize, Deserialize)]
struct SerializationJson {
    method: String,
    hash_type: String,
    /// An integer when we write it; Python's protobuf JSON writes `30.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard_size: Option<serde_json::Number>,
    allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ignore_paths: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ResourceJson {
    name: String,
    algorithm: String,
    digest: String,
}

impl Bundle {
    /// Parses a bundle, refusing oversized input; never panics.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, OmsError> {
        if bytes.len() > BUNDLE_BYTES_MAX {
            return Err(OmsError::BundleTooLarge { max: BUNDLE_BYTES_MAX });
        }
        serde_json::from_slice(bytes).map_err(|e| OmsError::MalformedBundle(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle of strings always serialises")
    }
}

// ---- signing -----------------------------------------------------------------------

/// The in-toto statement JSON for `manifest` (the DSSE payload).
pub fn statement_json(manifest: &Manifest) -> Vec<u8> {
    let ser = &manifest.serialization;
    let statement = Statement {
        statement_type: IN_TOTO_STATEMENT_TYPE.into(),
        subject: vec![Subject {
            name: manifest.model_name.clone(),
            digest: SubjectDigest { sha256: manifest.digest_hex() },
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            serialization: SerializationJson {
                method: match ser.method {
                    Method::Files => "files".into(),
                    Method::Shards { .. } => "shards".into(),
                },
                hash_type: ser.hash.name().into(),
                shard_size: match ser.method {
                    Method::Files => None,
                    Method::Shards { shard_size } => Some(shard_size.into()),
                },
                allow_symlinks: ser.allow_symlinks,
                ignore_paths: ser.ignore_paths.clone(),
            },
            resources: manifest
                .resources
                .iter()
                .map(|r| ResourceJson {
                    name: r.name.clone(),
                    algorithm: r.algorithm.clone(),
                    digest: hex::encode(&r.digest),
                })
                .collect(),
        },
    };
    serde_json::to_vec_pretty(&statement).expect("a statement of strings and numbers always serialises")
}

/// Signs `manifest` into a bundle.
pub fn sign(manifest: &Manifest, key: &SigningKey) -> Bundle {
    let payload = statement_json(manifest);
    let sig = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
    Bundle {
        media_type: BUNDLE_MEDIA_TYPE.into(),
        verification_material: VerificationMaterial {
            public_key: Some(PublicKeyHint { hint: Some(key.verifying_key().hint()) }),
            tlog_entries: Vec::new(),
        },
        dsse_envelope: Envelope {
            payload: B64.encode(&payload),
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            signatures: vec![EnvelopeSignature { sig: B64.encode(sig), keyid: String::new() }],
        },
    }
}

/// Fingerprints the model at `model` and signs it. A signature file inside the model
/// directory is ignored (recorded in `ignore_paths`), as model-signing's CLI does.
pub fn sign_model(
    model: &Path,
    options: &fingerprint::Options,
    signature_path: Option<&Path>,
    key: &SigningKey,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<(Manifest, Bundle), OmsError> {
    let mut ser = options.serialization()?;
    if let Some(rel) = signature_path.and_then(|s| relative_inside(model, s)) {
        ser.add_ignore_path(&rel);
    }
    let manifest = fingerprint::fingerprint_with(model, &ser, progress)?;
    let bundle = sign(&manifest, key);
    Ok((manifest, bundle))
}

// ---- verification ------------------------------------------------------------------

/// The verified content of a bundle: what the signer signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedManifest {
    pub model_name: String,
    pub subject_digest: [u8; 32],
    pub serialization: Serialization,
    pub resources: Vec<Resource>,
}

/// Checks the bundle's media type, payload type, key hint and signature under `key`,
/// then parses and checks the statement. Does not look at the model.
pub fn verify_bundle(bundle_json: &[u8], key: &VerifyingKey) -> Result<SignedManifest, OmsError> {
    let bundle = Bundle::from_json(bundle_json)?;
    if bundle.media_type != BUNDLE_MEDIA_TYPE {
        return Err(OmsError::WrongMediaType(bundle.media_type));
    }
    let env = &bundle.dsse_envelope;
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(OmsError::WrongPayloadType(env.payload_type.clone()));
    }
    let key_hint = key.hint();
    if let Some(bundle_hint) = bundle.verification_material.public_key.as_ref().and_then(|p| p.hint.as_deref()) {
        // model-signing skips the check (with a warning) when the hint is empty.
        if !bundle_hint.is_empty() && bundle_hint != key_hint {
            return Err(OmsError::WrongKey { bundle_hint: bundle_hint.to_string(), key_hint });
        }
    }
    // model-signing verifies the first signature only.
    let first = env.signatures.first().ok_or(OmsError::SignatureCount(0))?;
    let payload = B64.decode(env.payload.as_bytes()).map_err(|e| OmsError::MalformedBundle(format!("payload: {e}")))?;
    let sig = B64.decode(first.sig.as_bytes()).map_err(|e| OmsError::MalformedBundle(format!("signature: {e}")))?;
    key.verify(&pae(&env.payload_type, &payload), &sig)?;
    parse_statement(&payload)
}

fn parse_statement(payload: &[u8]) -> Result<SignedManifest, OmsError> {
    // Check the type fields before the shape, so a foreign statement gets a clear reason.
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| OmsError::MalformedBundle(format!("statement: {e}")))?;
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if field("_type") != IN_TOTO_STATEMENT_TYPE {
        return Err(OmsError::UnsupportedStatement(format!("statement type {:?}", field("_type"))));
    }
    if field("predicateType") != PREDICATE_TYPE {
        return Err(OmsError::UnsupportedStatement(format!(
            "predicate type {:?} (only {PREDICATE_TYPE} is supported)",
            field("predicateType")
        )));
    }
    let st: Statement =
        serde_json::from_value(value).map_err(|e| OmsError::MalformedBundle(format!("statement: {e}")))?;
    let [subject] = <[Subject; 1]>::try_from(st.subject)
        .map_err(|s| OmsError::UnsupportedStatement(format!("expected one subject, found {}", s.len())))?;
    let ser = &st.predicate.serialization;
    let hash: HashAlgorithm =
        ser.hash_type.parse().map_err(|_| OmsError::UnsupportedStatement(format!("hash type {:?}", ser.hash_type)))?;
    let method = match ser.method.as_str() {
        "files" => Method::Files,
        "shards" => Method::Shards { shard_size: shard_size(ser.shard_size.as_ref())? },
        other => return Err(OmsError::UnsupportedStatement(format!("serialization method {other:?}"))),
    };
    let serialization = Serialization::new(method, hash, ser.allow_symlinks, ser.ignore_paths.clone());
    let mut resources = Vec::with_capacity(st.predicate.resources.len());
    let mut names = std::collections::BTreeSet::new();
    for r in st.predicate.resources {
        let digest = hex::decode(&r.digest)
            .map_err(|_| OmsError::MalformedBundle(format!("digest of {:?} is not hex", r.name)))?;
        if !names.insert(r.name.clone()) {
            return Err(OmsError::MalformedBundle(format!("resource {:?} listed twice", r.name)));
        }
        resources.push(Resource { name: r.name, algorithm: r.algorithm, digest });
    }
    let computed = fingerprint::digest_of(&resources);
    if hex::encode(computed) != subject.digest.sha256 {
        return Err(OmsError::InconsistentManifest { subject: subject.digest.sha256, computed: hex::encode(computed) });
    }
    Ok(SignedManifest { model_name: subject.name, subject_digest: computed, serialization, resources })
}

/// Accepts an integer, or an integral float as Python's protobuf JSON writes it.
fn shard_size(n: Option<&serde_json::Number>) -> Result<u64, OmsError> {
    let bad = || OmsError::UnsupportedStatement("shards serialization needs a positive integer shard_size".into());
    let n = n.ok_or_else(bad)?;
    let size = match n.as_u64() {
        Some(v) => v,
        None => {
            let f = n.as_f64().ok_or_else(bad)?;
            // Below 2^53 every integer is exact in a double.
            if !((1.0..9_007_199_254_740_992.0).contains(&f) && f.fract() == 0.0) {
                return Err(bad());
            }
            f as u64
        }
    };
    if size == 0 {
        return Err(bad());
    }
    Ok(size)
}

/// The outcome of a successful verification.
#[derive(Clone, Debug)]
pub struct Verified {
    pub signed: SignedManifest,
    /// The hint of the key that verified.
    pub key_hint: String,
}

/// Verifies the bundle under `key`, recomputes the manifest of `model` with the
/// parameters recorded in the bundle (ignoring the signature file if it lies inside
/// the model) and compares every resource.
pub fn verify_model(
    model: &Path,
    bundle_json: &[u8],
    signature_path: Option<&Path>,
    key: &VerifyingKey,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<Verified, OmsError> {
    let signed = verify_bundle(bundle_json, key)?;
    let mut ser = signed.serialization.clone();
    if let Some(rel) = signature_path.and_then(|s| relative_inside(model, s)) {
        ser.add_ignore_path(&rel);
    }
    let actual = fingerprint::fingerprint_with(model, &ser, progress)?;
    let diffs = compare(&signed.resources, &actual.resources);
    if !diffs.is_empty() {
        return Err(OmsError::ModelMismatch(diffs));
    }
    Ok(Verified { signed, key_hint: key.hint() })
}

/// Differences between the signed resources and the computed ones, in name order:
/// a resource is equal when its name, algorithm and digest are.
pub fn compare(expected: &[Resource], actual: &[Resource]) -> Vec<Difference> {
    let exp: BTreeMap<&str, &Resource> = expected.iter().map(|r| (r.name.as_str(), r)).collect();
    let act: BTreeMap<&str, &Resource> = actual.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut diffs = Vec::new();
    for (name, e) in &exp {
        match act.get(name) {
            None => diffs.push(Difference::Missing { resource: name.to_string() }),
            Some(a) if a.algorithm != e.algorithm || a.digest != e.digest => {
                diffs.push(Difference::Changed { resource: name.to_string() })
            }
            Some(_) => {}
        }
    }
    for name in act.keys() {
        if !exp.contains_key(name) {
            diffs.push(Difference::Extra { resource: name.to_string() });
        }
    }
    diffs
}

/// `file`'s path relative to the model directory `model`, `/`-separated, if it lies
/// inside it (model-signing's `_resolve_ignore_paths`). The file need not exist yet.
pub fn relative_inside(model: &Path, file: &Path) -> Option<String> {
    let root = model.canonicalize().ok()?;
    let resolved = match file.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            parent.canonicalize().ok()?.join(file.file_name()?)
        }
    };
    let rel = resolved.strip_prefix(&root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{fixture, Options};
    use proptest::prelude::*;

    /// A bundle written by `model_signing sign key` 1.1.1 over the fixture, and the
    /// public key it verifies under (the private key was thrown away).
    const PY_BUNDLE: &str = include_str!("../testdata/fixture.sig");
    const PY_PUBLIC_KEY: &str = include_str!("../testdata/fixture.pub.pem");
    const PY_KEY_HINT: &str = "a9af4fe79c63e382bb45e96829c3234a2f2826028a6e9c86146dd23769afc77f";

    fn p256_key(byte: u8) -> SigningKey {
        let sk = p256::SecretKey::from_slice(&[byte; 32]).expect("a valid scalar");
        SigningKey::P256(sk.into())
    }

    fn ed_key(byte: u8) -> SigningKey {
        SigningKey::Ed25519(SecretKey::from_seed([byte; 32]))
    }

    fn signed_fixture(key: &SigningKey, options: &Options) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let (_, bundle) = sign_model(&root, options, None, key, None).expect("sign");
        (dir, root, bundle.to_json().into_bytes())
    }

    #[test]
    fn verifies_model_signing_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let key = VerifyingKey::from_pem(PY_PUBLIC_KEY).expect("public key");
        assert_eq!(key.hint(), PY_KEY_HINT);
        assert_eq!(key.to_pem(), PY_PUBLIC_KEY, "PEM must round-trip byte for byte for the hint to match");
        let v = verify_model(&root, PY_BUNDLE.as_bytes(), None, &key, None).expect("verify");
        assert_eq!(hex::encode(v.signed.subject_digest), fixture::DIGEST_FILES_SHA256);
        assert_eq!(v.signed.model_name, "m");
        assert_eq!(v.signed.serialization.ignore_paths, [".git", ".gitattributes", ".github", ".gitignore"]);
        std::fs::write(root.join("a.txt"), b"hellO").expect("tamper");
        let err = verify_model(&root, PY_BUNDLE.as_bytes(), None, &key, None).expect_err("tampered");
        assert!(matches!(&err, OmsError::ModelMismatch(d) if d == &[Difference::Changed { resource: "a.txt".into() }]));
    }

    #[test]
    fn round_trip_both_key_kinds_and_modes() {
        for key in [p256_key(7), ed_key(7)] {
            for o in [
                Options::default(),
                Options { shard_size: Some(7), ..Options::default() },
                Options { hash: HashAlgorithm::Blake3, ..Options::default() },
            ] {
                let (_dir, root, bundle) = signed_fixture(&key, &o);
                let v = verify_model(&root, &bundle, None, &key.verifying_key(), None).expect("verify");
                let expected = fingerprint::fingerprint(&root, &o, None).expect("fingerprint");
                assert_eq!(v.signed.subject_digest, expected.digest());
                assert_eq!(v.signed.serialization, expected.serialization);
            }
        }
    }

    #[test]
    fn tampering_is_named() {
        for key in [p256_key(3), ed_key(3)] {
            let vk = key.verifying_key();
            let (_dir, root, bundle) = signed_fixture(&key, &Options::default());
            let check = |expected: Vec<Difference>| match verify_model(&root, &bundle, None, &vk, None) {
                Err(OmsError::ModelMismatch(d)) => assert_eq!(d, expected),
                other => panic!("expected a mismatch, got {other:?}"),
            };
            std::fs::write(root.join("sub/w.bin"), b"changed").expect("write");
            check(vec![Difference::Changed { resource: "sub/w.bin".into() }]);
            std::fs::write(root.join("sub/w.bin"), [b'x'; 100]).expect("restore");
            std::fs::remove_file(root.join("a/b")).expect("remove");
            check(vec![Difference::Missing { resource: "a/b".into() }]);
            std::fs::write(root.join("a/b"), b"z\n").expect("restore");
            std::fs::write(root.join("new.bin"), b"").expect("extra");
            check(vec![Difference::Extra { resource: "new.bin".into() }]);
            std::fs::remove_file(root.join("new.bin")).expect("remove");
            // A new file under an ignored path changes nothing.
            std::fs::write(root.join(".git/config"), b"x").expect("write");
            verify_model(&root, &bundle, None, &vk, None).expect("restored model verifies");
        }
    }

    #[test]
    fn shard_tampering_names_the_shard() {
        let key = p256_key(5);
        let (_dir, root, bundle) = signed_fixture(&key, &Options { shard_size: Some(30), ..Options::default() });
        let mut data = vec![b'x'; 100];
        data[40] = b'y';
        std::fs::write(root.join("sub/w.bin"), &data).expect("write");
        let err = verify_model(&root, &bundle, None, &key.verifying_key(), None).expect_err("tampered");
        assert!(
            matches!(&err, OmsError::ModelMismatch(d) if d == &[Difference::Changed { resource: "sub/w.bin:30:60".into() }])
        );
    }

    #[test]
    fn wrong_key_bad_signature_and_wrong_types() {
        let key = p256_key(9);
        let (_dir, root, bundle) = signed_fixture(&key, &Options::default());
        for other in [p256_key(10), ed_key(9)] {
            let err = verify_model(&root, &bundle, None, &other.verifying_key(), None).expect_err("wrong key");
            assert!(matches!(err, OmsError::WrongKey { .. }), "{err}");
        }
        let mut b = Bundle::from_json(&bundle).expect("parse");
        // Without the hint the signature itself must fail.
        b.verification_material.public_key = None;
        let err = verify_bundle(b.to_json().as_bytes(), &p256_key(10).verifying_key()).expect_err("bad sig");
        assert!(matches!(err, OmsError::BadSignature), "{err}");
        // A payload edited after signing.
        let mut b = Bundle::from_json(&bundle).expect("parse");
        let payload = String::from_utf8(B64.decode(&b.dsse_envelope.payload).expect("b64")).expect("utf8");
        b.dsse_envelope.payload = B64.encode(payload.replace("\"a.txt\"", "\"A.txt\""));
        let err = verify_bundle(b.to_json().as_bytes(), &key.verifying_key()).expect_err("edited payload");
        assert!(matches!(err, OmsError::BadSignature), "{err}");
        let mut b = Bundle::from_json(&bundle).expect("parse");
        b.dsse_envelope.payload_type = "application/json".into();
        let err = verify_bundle(b.to_json().as_bytes(), &key.verifying_key()).expect_err("payload type");
        assert!(matches!(err, OmsError::WrongPayloadType(_)), "{err}");
        let mut b = Bundle::from_json(&bundle).expect("parse");
        b.media_type = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
        let err = verify_bundle(b.to_json().as_bytes(), &key.verifying_key()).expect_err("media type");
        assert!(matches!(err, OmsError::WrongMediaType(_)), "{err}");
        let mut b = Bundle::from_json(&bundle).expect("parse");
        b.dsse_envelope.signatures.clear();
        let err = verify_bundle(b.to_json().as_bytes(), &key.verifying_key()).expect_err("no signature");
        assert!(matches!(err, OmsError::SignatureCount(0)), "{err}");
    }

    #[test]
    fn signed_statement_checks() {
        let key = ed_key(1);
        let sign_payload = |payload: &str| {
            let sig = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, payload.as_bytes()));
            let b = Bundle {
                media_type: BUNDLE_MEDIA_TYPE.into(),
                verification_material: VerificationMaterial { public_key: None, tlog_entries: vec![] },
                dsse_envelope: Envelope {
                    payload: B64.encode(payload),
                    payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
                    signatures: vec![EnvelopeSignature { sig: B64.encode(sig), keyid: String::new() }],
                },
            };
            verify_bundle(b.to_json().as_bytes(), &key.verifying_key())
        };
        let r = r#"{"name":"f","algorithm":"sha256","digest":"00"}"#;
        let statement = |ptype: &str, digest: &str, ser: &str| {
            format!(
                r#"{{"_type":"{IN_TOTO_STATEMENT_TYPE}","subject":[{{"name":"m","digest":{{"sha256":"{digest}"}}}}],
                "predicateType":"{ptype}","predicate":{{"serialization":{ser},"resources":[{r}]}}}}"#
            )
        };
        let good_digest = hex::encode(Sha256::digest([0u8]));
        let files = r#"{"method":"files","hash_type":"sha256","allow_symlinks":false}"#;
        sign_payload(&statement(PREDICATE_TYPE, &good_digest, files)).expect("valid statement");
        let err =
            sign_payload(&statement("https://model_signing/Digests/v0.1", &good_digest, files)).expect_err("v0.1");
        assert!(matches!(err, OmsError::UnsupportedStatement(_)), "{err}");
        let err = sign_payload(&statement(PREDICATE_TYPE, &"11".repeat(32), files)).expect_err("subject");
        assert!(matches!(err, OmsError::InconsistentManifest { .. }), "{err}");
        // Python's protobuf JSON writes the shard size as a float.
        let shards = r#"{"method":"shards","hash_type":"sha256","shard_size":30.0,"allow_symlinks":false}"#;
        let s = sign_payload(&statement(PREDICATE_TYPE, &good_digest, shards)).expect("float shard size");
        assert_eq!(s.serialization.method, Method::Shards { shard_size: 30 });
        for bad in [
            r#"{"method":"shards","hash_type":"sha256","shard_size":0.5,"allow_symlinks":false}"#,
            r#"{"method":"shards","hash_type":"sha256","allow_symlinks":false}"#,
            r#"{"method":"files","hash_type":"blake2b","allow_symlinks":false}"#,
            r#"{"method":"tensors","hash_type":"sha256","allow_symlinks":false}"#,
        ] {
            let err = sign_payload(&statement(PREDICATE_TYPE, &good_digest, bad)).expect_err(bad);
            assert!(matches!(err, OmsError::UnsupportedStatement(_)), "{bad}: {err}");
        }
        let err = sign_payload("[1,2").expect_err("not json");
        assert!(matches!(err, OmsError::MalformedBundle(_)), "{err}");
    }

    #[test]
    fn signature_file_inside_the_model_is_ignored() {
        let key = p256_key(4);
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let sig = root.join("model.sig");
        let (manifest, bundle) = sign_model(&root, &Options::default(), Some(&sig), &key, None).expect("sign");
        assert!(manifest.serialization.ignore_paths.contains(&"model.sig".to_string()));
        std::fs::write(&sig, bundle.to_json()).expect("write sig");
        let bytes = std::fs::read(&sig).expect("read");
        verify_model(&root, &bytes, Some(&sig), &key.verifying_key(), None).expect("verify");
    }

    #[test]
    fn keys_parse_from_pem() {
        let ed = ed_key(2);
        let pem = ed.verifying_key().to_pem();
        assert_eq!(VerifyingKey::from_pem(&pem).expect("ed25519 spki"), ed.verifying_key());
        let p = p256_key(2);
        assert_eq!(VerifyingKey::from_pem(&p.verifying_key().to_pem()).expect("p256 spki"), p.verifying_key());
        for bad in ["", "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n", PY_BUNDLE] {
            assert!(matches!(VerifyingKey::from_pem(bad), Err(OmsError::Key(_))));
        }
        assert!(matches!(SigningKey::from_pem(PY_PUBLIC_KEY), Err(OmsError::Key(_))));
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(encrypted), Err(OmsError::Key(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_bundles_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verify_bundle(&bytes, &ed_key(1).verifying_key());
        }

        #[test]
        fn mutated_bundles_never_verify_wrongly(pos in 0usize..4096, byte in any::<u8>()) {
            let key = ed_key(8);
            let m = Manifest {
                model_name: "m".into(),
                serialization: Options::default().serialization().expect("defaults"),
                resources: vec![Resource { name: "f".into(), algorithm: "sha256".into(), digest: vec![1; 32] }],
            };
            let good = sign(&m, &key).to_json().into_bytes();
            let mut bytes = good.clone();
            let i = pos % bytes.len();
            bytes[i] = byte;
            if let Ok(s) = verify_bundle(&bytes, &key.verifying_key()) {
                // Only edits outside the signed content (e.g. whitespace, keyid) may pass.
                prop_assert_eq!(s.resources, m.resources);
            }
        }
    }
}
