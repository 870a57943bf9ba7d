//! Equivocation detection: the engine reports a validator's conflicting votes as
//! activity; [`Watch`] turns them into Verity [`Equivocation`] evidence, checks the
//! signatures (the engine reports a conflict before it verifies the second vote) and
//! hands verified evidence to an [`EvidenceSink`], which puts it on the ledger.

use std::sync::Arc;

use commonware_actor::Feedback;
use commonware_codec::{Encode, ReadExt};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::{Activity, Finalize, Notarize, Nullify, Proposal};
use commonware_consensus::Reporter;
use commonware_cryptography::certificate::Attestation;
use commonware_cryptography::ed25519;
use commonware_utils::ordered::Set;
use verity_types::keys::Signature;
use verity_types::{Equivocation, Hash, SignedVote, VoteKind};

use crate::keys::verity_public_key;
use crate::{hash, Digest};

/// Receives verified equivocation evidence (called from the engine's task: must not
/// block).
pub trait EvidenceSink: Send + Sync + 'static {
    fn equivocation(&self, evidence: Equivocation);
}

/// The vote of `attestation` as a Verity vote; `None` if the signer is unknown or the
/// signature does not decode.
fn vote(
    kind: VoteKind,
    proposal: Option<&Proposal<Digest>>,
    round: commonware_consensus::types::Round,
    attestation: &Attestation<Scheme>,
    participants: &Set<ed25519::PublicKey>,
) -> Option<(verity_types::PublicKey, SignedVote)> {
    let signer = participants.get(attestation.signer.get() as usize)?;
    let sig = attestation.signature.get()?.encode();
    let signature = Signature(sig.as_ref().try_into().ok()?);
    let (parent_view, payload) = proposal.map_or((0, Hash::ZERO), |p| (p.parent.get(), hash(&p.payload)));
    Some((
        verity_public_key(signer),
        SignedVote { kind, epoch: round.epoch().get(), view: round.view().get(), parent_view, payload, signature },
    ))
}

fn notarize(
    n: &Notarize<Scheme, Digest>,
    p: &Set<ed25519::PublicKey>,
) -> Option<(verity_types::PublicKey, SignedVote)> {
    vote(VoteKind::Notarize, Some(&n.proposal), n.proposal.round, &n.attestation, p)
}

fn finalize(
    f: &Finalize<Scheme, Digest>,
    p: &Set<ed25519::PublicKey>,
) -> Option<(verity_types::PublicKey, SignedVote)> {
    vote(VoteKind::Finalize, Some(&f.proposal), f.proposal.round, &f.attestation, p)
}

fn nullify(n: &Nullify<Scheme>, p: &Set<ed25519::PublicKey>) -> Option<(verity_types::PublicKey, SignedVote)> {
    vote(VoteKind::Nullify, None, n.round, &n.attestation, p)
}

/// The evidence in a fault the engine reported (`None` for any other activity). The
/// engine's fault types keep their votes private; their canonical encoding is the two
/// votes in order, so they are read back from it.
pub fn equivocation(
    activity: &Activity<Scheme, Digest>,
    participants: &Set<ed25519::PublicKey>,
) -> Option<Equivocation> {
    let pair = match activity {
        Activity::ConflictingNotarize(c) => {
            let mut buf = c.encode();
            let a = Notarize::<Scheme, Digest>::read(&mut buf).ok()?;
            let b = Notarize::<Scheme, Digest>::read(&mut buf).ok()?;
            (notarize(&a, participants)?, notarize(&b, participants)?)
        }
        Activity::ConflictingFinalize(c) => {
            let mut buf = c.encode();
            let a = Finalize::<Scheme, Digest>::read(&mut buf).ok()?;
            let b = Finalize::<Scheme, Digest>::read(&mut buf).ok()?;
            (finalize(&a, participants)?, finalize(&b, participants)?)
        }
        Activity::NullifyFinalize(c) => {
            let mut buf = c.encode();
            let a = Nullify::<Scheme>::read(&mut buf).ok()?;
            let b = Finalize::<Scheme, Digest>::read(&mut buf).ok()?;
            (nullify(&a, participants)?, finalize(&b, participants)?)
        }
        _ => return None,
    };
    let ((k1, first), (k2, second)) = pair;
    (k1 == k2).then_some(Equivocation { validator: k1, first, second })
}

/// The engine's reporter: forwards every activity to `inner` (marshal) and sends the
/// evidence of each fault whose signatures verify to the sink.
#[derive(Clone)]
pub struct Watch<R> {
    inner: R,
    chain_id: Arc<str>,
    participants: Set<ed25519::PublicKey>,
    sink: Option<Arc<dyn EvidenceSink>>,
}

impl<R> Watch<R> {
    pub fn new(
        inner: R,
        chain_id: &str,
        participants: Set<ed25519::PublicKey>,
        sink: Option<Arc<dyn EvidenceSink>>,
    ) -> Self {
        Watch { inner, chain_id: chain_id.into(), participants, sink }
    }
}

impl<R: Reporter<Activity = Activity<Scheme, Digest>>> Reporter for Watch<R> {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Some(sink) = &self.sink {
            if let Some(ev) = equivocation(&activity, &self.participants) {
                match ev.verify(&self.chain_id) {
                    Ok(offence) => {
                        tracing::warn!(validator = %ev.validator.to_hex(), view = ev.first.view, %offence, "equivocation detected");
                        sink.equivocation(ev);
                    }
                    Err(e) => tracing::debug!(error = %e, "conflicting votes that do not verify"),
                }
            }
        }
        self.inner.report(activity)
    }
}
