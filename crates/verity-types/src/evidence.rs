//! Equivocation evidence: two votes signed by one validator in one consensus round
//! that an honest validator never both signs.
//!
//! The votes are the simplex engine's own (Commonware, Ed25519 scheme), so evidence is
//! self-authenticating: anyone holding the chain id and the validator's public key
//! checks it with Ed25519 alone, exactly like a finality certificate
//! ([`crate::finalize_vote_bytes`]). Three offences count:
//! - two *notarize* votes for different proposals in one round (this includes a leader
//!   proposing two different blocks: its proposal is its notarize vote);
//! - two *finalize* votes for different proposals in one round;
//! - a *nullify* vote (skip the round) and a *finalize* vote in the same round.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::block::{consensus_namespace, vote_bytes};
use crate::error::TypesError;
use crate::hash::Hash;
use crate::keys::{PublicKey, Signature};

/// The kind of a consensus vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VoteKind {
    Notarize,
    Nullify,
    Finalize,
}

impl VoteKind {
    fn suffix(self) -> &'static [u8] {
        match self {
            VoteKind::Notarize => b"_NOTARIZE",
            VoteKind::Nullify => b"_NULLIFY",
            VoteKind::Finalize => b"_FINALIZE",
        }
    }
}

/// One signed consensus vote. A nullify vote names only the round: its `parent_view`
/// is 0 and its `payload` is the zero hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedVote {
    pub kind: VoteKind,
    pub epoch: u64,
    pub view: u64,
    pub parent_view: u64,
    pub payload: Hash,
    pub signature: Signature,
}

impl SignedVote {
    /// The bytes the validator's key signed: Commonware's `union_unique(namespace ||
    /// suffix, message)` where the message is the proposal (varint epoch, view, parent
    /// view, 32-byte payload) or, for a nullify, the round (varint epoch, view).
    pub fn signed_bytes(&self, namespace: &[u8]) -> Vec<u8> {
        let proposal = (self.kind != VoteKind::Nullify).then_some((self.parent_view, &self.payload));
        vote_bytes(namespace, self.kind.suffix(), self.epoch, self.view, proposal)
    }

    fn proposal(&self) -> (u64, Hash) {
        (self.parent_view, self.payload)
    }
}

/// What the two votes of an [`Equivocation`] show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Offence {
    ConflictingNotarize,
    ConflictingFinalize,
    NullifyFinalize,
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Offence::ConflictingNotarize => "conflicting_notarize",
            Offence::ConflictingFinalize => "conflicting_finalize",
            Offence::NullifyFinalize => "nullify_finalize",
        })
    }
}

/// Evidence that `validator` signed two votes it must never both sign.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Equivocation {
    pub validator: PublicKey,
    pub first: SignedVote,
    pub second: SignedVote,
}

impl Equivocation {
    /// The round the offence happened in.
    pub fn round(&self) -> (u64, u64) {
        (self.first.epoch, self.first.view)
    }

    /// Stateless shape checks: both votes in one round, and a pair that is an offence.
    pub fn offence(&self) -> Result<Offence, TypesError> {
        let bad = |reason: &str| TypesError::InvalidField { field: "evidence", reason: reason.into() };
        let (a, b) = (&self.first, &self.second);
        if (a.epoch, a.view) != (b.epoch, b.view) {
            return Err(bad("the two votes are from different rounds"));
        }
        for v in [a, b] {
            if v.kind == VoteKind::Nullify && (v.parent_view != 0 || v.payload != Hash::ZERO) {
                return Err(bad("a nullify vote carries no proposal"));
            }
        }
        match (a.kind, b.kind) {
            (VoteKind::Notarize, VoteKind::Notarize) if a.proposal() != b.proposal() => {
                Ok(Offence::ConflictingNotarize)
            }
            (VoteKind::Finalize, VoteKind::Finalize) if a.proposal() != b.proposal() => {
                Ok(Offence::ConflictingFinalize)
            }
            (VoteKind::Nullify, VoteKind::Finalize) | (VoteKind::Finalize, VoteKind::Nullify) => {
                Ok(Offence::NullifyFinalize)
            }
            (VoteKind::Notarize, VoteKind::Notarize) | (VoteKind::Finalize, VoteKind::Finalize) => {
                Err(bad("the two votes are for the same proposal"))
            }
            _ => Err(bad("these two vote kinds do not conflict")),
        }
    }

    /// Full check against the chain: the pair is an offence and both signatures are the
    /// validator's, over votes of this chain's consensus.
    pub fn verify(&self, chain_id: &str) -> Result<Offence, TypesError> {
        let offence = self.offence()?;
        let ns = consensus_namespace(chain_id);
        for v in [&self.first, &self.second] {
            self.validator.verify(&v.signed_bytes(&ns), &v.signature)?;
        }
        Ok(offence)
    }
}
