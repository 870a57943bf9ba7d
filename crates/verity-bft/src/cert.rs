//! Engine finalization certificates as Verity certificates.

use commonware_codec::Encode;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::ed25519;
use commonware_utils::ordered::Set;
use verity_types::keys::Signature;
use verity_types::{Certificate, FinalityRound, ValidatorSet, ValidatorSignature};

use crate::keys::verity_public_key;
use crate::{BftError, Digest};

/// Re-expresses the engine's finalization (already verified by the engine, or by
/// [`Finalization::verify`]) as a Verity certificate: the round, and each signer's
/// finalize vote under its index in `validators` (the engine indexes signers by their
/// position in `participants`, which is ordered by key).
pub fn certificate(
    fin: &Finalization<Scheme, Digest>,
    participants: &Set<ed25519::PublicKey>,
    validators: &ValidatorSet,
) -> Result<Certificate, BftError> {
    let cert = &fin.certificate;
    if cert.signers.count() != cert.signatures.len() {
        return Err(BftError::InvalidCertificate(format!(
            "{} signers but {} signatures",
            cert.signers.count(),
            cert.signatures.len()
        )));
    }
    let mut signatures = Vec::with_capacity(cert.signatures.len());
    for (signer, sig) in cert.signers.iter().zip(&cert.signatures) {
        let pk = participants
            .get(signer.get() as usize)
            .ok_or_else(|| BftError::InvalidCertificate(format!("signer {} is not a participant", signer.get())))?;
        let pk = verity_public_key(pk);
        let index = validators
            .validators
            .iter()
            .position(|v| v.public_key == pk)
            .ok_or_else(|| BftError::InvalidCertificate(format!("signer {pk} is not a validator")))?;
        let sig = sig.get().ok_or_else(|| BftError::InvalidCertificate("a signature does not decode".into()))?;
        let bytes = sig.encode();
        let mut out = [0u8; 64];
        out.copy_from_slice(&bytes);
        signatures.push(ValidatorSignature { validator: index as u32, signature: Signature(out) });
    }
    signatures.sort_by_key(|s| s.validator);
    let round = fin.proposal.round;
    Ok(Certificate {
        signatures,
        round: Some(FinalityRound {
            epoch: round.epoch().get(),
            view: round.view().get(),
            parent_view: fin.proposal.parent.get(),
        }),
        finalized_by: None,
    })
}
