//! Validator keys in the consensus engine's form.
//!
//! Both sides are plain Ed25519 (RFC 8032): a Verity 32-byte seed is the engine's
//! private key, and public keys are the same 32 bytes.

use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::ed25519;
use commonware_utils::ordered::Set;
use verity_types::keys::{PublicKey, SecretKey};
use verity_types::ValidatorSet;

use crate::BftError;

/// A Verity public key as the engine's.
pub fn public_key(pk: &PublicKey) -> Result<ed25519::PublicKey, BftError> {
    ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(&pk.0))
        .map_err(|e| BftError::InvalidKey(format!("{pk}: {e}")))
}

/// The engine's public key as Verity's.
pub fn verity_public_key(pk: &ed25519::PublicKey) -> PublicKey {
    let bytes = pk.encode();
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    PublicKey(out)
}

/// A Verity secret key (its seed) as the engine's signing key.
pub fn private_key(sk: &SecretKey) -> ed25519::PrivateKey {
    let seed = sk.seed();
    ed25519::PrivateKey::decode(bytes::Bytes::copy_from_slice(&seed)).expect("any 32 bytes are an Ed25519 seed")
}

/// The engine's participant set for `validators`: the same keys, ordered by public key
/// (the engine's signer indices are positions in this order). BFT mode counts one vote
/// per validator, so every validator must have the same power, and keys must be
/// distinct.
pub fn participants(validators: &ValidatorSet) -> Result<Set<ed25519::PublicKey>, BftError> {
    let Some(first) = validators.validators.first() else {
        return Err(BftError::InvalidValidatorSet("no validators".into()));
    };
    if validators.validators.iter().any(|v| v.power != first.power) {
        return Err(BftError::InvalidValidatorSet(
            "BFT mode counts one vote per validator: every validator needs the same power".into(),
        ));
    }
    let keys = validators.validators.iter().map(|v| public_key(&v.public_key)).collect::<Result<Vec<_>, _>>()?;
    Set::try_from(keys).map_err(|e| BftError::InvalidValidatorSet(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use commonware_cryptography::Verifier as _;
    use verity_types::evidence::{SignedVote, VoteKind};
    use verity_types::keys::adversarial::sign_with_torsion_nonce;
    use verity_types::{consensus_namespace, Hash, Signature};

    use super::*;

    /// Verity checks a vote exactly as the engine does: for honest votes, votes whose
    /// nonce point has a small-order component, and tampered ones, both rules agree.
    #[test]
    fn votes_get_the_engines_verdict() {
        let sk = SecretKey::from_seed([3; 32]);
        let engine_key = public_key(&sk.public_key()).expect("key");
        let ns = consensus_namespace("chain");
        for (kind, suffix) in [(VoteKind::Notarize, b"_NOTARIZE"), (VoteKind::Finalize, b"_FINALIZE")] {
            let vote = SignedVote {
                kind,
                epoch: 0,
                view: 7,
                parent_view: 6,
                payload: Hash([9; 32]),
                signature: Signature([0; 64]),
            };
            let signed = vote.signed_bytes(&ns);
            // The engine signs (namespace || suffix, message); the message is what
            // follows the length-prefixed namespace in Verity's bytes.
            let message = &signed[1 + ns.len() + suffix.len()..];
            let honest = sk.sign(&signed);
            let torsion = sign_with_torsion_nonce(&sk.seed(), &signed);
            let mut tampered = torsion;
            tampered.0[40] ^= 1;
            for (sig, valid) in [(honest, true), (torsion, true), (tampered, false)] {
                let theirs = ed25519::Signature::decode(bytes::Bytes::copy_from_slice(&sig.0)).expect("64 bytes");
                let namespace = [ns.as_slice(), suffix].concat();
                assert_eq!(engine_key.verify(&namespace, message, &theirs), valid, "engine, {kind:?}");
                assert_eq!(sk.public_key().verify(&signed, &sig).is_ok(), valid, "verity, {kind:?}");
            }
        }
    }
}
