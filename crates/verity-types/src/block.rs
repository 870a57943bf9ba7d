//! Blocks, their headers, finality certificates, checkpoints and receipts.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encoding::encode;
use crate::error::TypesError;
use crate::event::Event;
use crate::hash::{sha256, sha256_parts, Hash};
use crate::keys::{PublicKey, Signature};
use crate::tx::SignedTransaction;

/// Domain separator for validator votes on a block header.
pub const BLOCK_SIGN_DOMAIN: &[u8] = b"verity/block/v1\0";

/// What a block commits to. Signed (through its hash) by the validators.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BlockHeader {
    pub chain_id: String,
    /// Genesis state is height 0; the first block is height 1.
    pub height: u64,
    /// Hash of the previous block header (genesis hash for height 1).
    pub parent: Hash,
    /// Proposer's clock in milliseconds since the Unix epoch; never decreases.
    pub timestamp_ms: u64,
    /// Index of the proposing validator in the validator set.
    pub proposer: u32,
    /// Transactions in this block.
    pub tx_count: u32,
    /// RFC 6962 root over this block's transaction hashes.
    pub txs_root: Hash,
    /// Size of the transaction log after this block.
    pub log_size: u64,
    /// RFC 6962 root of the whole transaction log after this block.
    pub log_root: Hash,
    /// Root of the authenticated state after executing this block.
    pub state_root: Hash,
    /// Hash of the validator set that must certify this block.
    pub validator_set_hash: Hash,
}

impl BlockHeader {
    pub fn hash(&self) -> Hash {
        sha256(&encode(self))
    }

    /// The bytes a validator signs to vote for this header.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = BLOCK_SIGN_DOMAIN.to_vec();
        out.extend_from_slice(self.hash().as_bytes());
        out
    }
}

/// A block: header and ordered transactions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<SignedTransaction>,
}

/// One validator's vote.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorSignature {
    pub validator: u32,
    pub signature: Signature,
}

/// The signatures that finalise a block: more than two thirds of the voting power of
/// the validator set named in the header.
///
/// Two forms, told apart by `round`:
/// - embedded mode (`round` absent): each signature is over [`BlockHeader::signing_bytes`];
/// - BFT mode (`round` present): each signature is a validator's *finalize* vote of the
///   simplex consensus (Commonware, Ed25519 scheme) for the header's hash in that round,
///   so a quorum of them is exactly the engine's finalization certificate, re-expressed
///   with this set's validator indices. [`finalize_vote_bytes`] rebuilds the signed bytes,
///   so a light client checks it with Ed25519 alone.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Certificate {
    pub signatures: Vec<ValidatorSignature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<FinalityRound>,
    /// BFT mode: the engine finalised this block only through a later block's own
    /// certificate (at this height), whose chain of parent hashes leads back here; the
    /// signatures are then empty. Such a block is final but is not a checkpoint:
    /// [`ValidatorSet::verify_certificate`] refuses it, and checkpoints are taken at
    /// blocks with their own certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized_by: Option<u64>,
}

impl Certificate {
    /// An embedded-mode certificate: signatures over the header's signing bytes.
    pub fn embedded(signatures: Vec<ValidatorSignature>) -> Self {
        Certificate { signatures, round: None, finalized_by: None }
    }

    /// A BFT block final through the certificate of its descendant at `height`.
    pub fn by_descendant(height: u64) -> Self {
        Certificate { signatures: Vec::new(), round: None, finalized_by: Some(height) }
    }
}

/// The consensus round in which a BFT certificate's votes were cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinalityRound {
    /// Epoch of the validator set (one engine instance per epoch).
    pub epoch: u64,
    /// The view (consensus round number) that finalised the block.
    pub view: u64,
    /// The view of the parent block's proposal.
    pub parent_view: u64,
}

/// The base namespace of a chain's consensus votes: votes of one chain can never be
/// replayed on another.
pub fn consensus_namespace(chain_id: &str) -> Vec<u8> {
    let mut ns = b"verity/consensus/v1/".to_vec();
    ns.extend_from_slice(chain_id.as_bytes());
    ns
}

/// The bytes an Ed25519 validator key signs for a simplex *finalize* vote on
/// `payload` in `round`: Commonware's `union_unique(namespace || "_FINALIZE",
/// Proposal::encode())`, i.e. the varint length of the vote namespace, the namespace,
/// then the proposal (varint epoch, varint view, varint parent view, 32-byte payload).
/// Pinned by a golden test against Commonware itself in `verity-bft`.
pub fn finalize_vote_bytes(namespace: &[u8], round: &FinalityRound, payload: &Hash) -> Vec<u8> {
    vote_bytes(namespace, b"_FINALIZE", round.epoch, round.view, Some((round.parent_view, payload)))
}

/// The bytes of any simplex vote: `union_unique(namespace || suffix, message)`, where the
/// message is the proposal (varint epoch, view, parent view, 32-byte payload) or, for a
/// nullify (`proposal` absent), the round (varint epoch, view).
pub(crate) fn vote_bytes(
    namespace: &[u8],
    suffix: &[u8],
    epoch: u64,
    view: u64,
    proposal: Option<(u64, &Hash)>,
) -> Vec<u8> {
    let ns_len = namespace.len() + suffix.len();
    let mut out = Vec::with_capacity(ns_len + 3 * 10 + 32 + 5);
    leb128(&mut out, ns_len as u64);
    out.extend_from_slice(namespace);
    out.extend_from_slice(suffix);
    leb128(&mut out, epoch);
    leb128(&mut out, view);
    if let Some((parent_view, payload)) = proposal {
        leb128(&mut out, parent_view);
        out.extend_from_slice(payload.as_bytes());
    }
    out
}

/// Unsigned LEB128, the varint of Commonware's codec.
fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A validator: its organisation, key and voting power.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    pub org: crate::ids::OrgId,
    pub public_key: PublicKey,
    pub power: u64,
}

/// An ordered validator set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorSet {
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    pub fn hash(&self) -> Hash {
        sha256_parts(&[b"verity/validators/v1\0", &encode(self)])
    }

    pub fn total_power(&self) -> u128 {
        self.validators.iter().map(|v| v.power as u128).sum()
    }

    /// Checks that `cert` carries valid signatures over `header` from distinct
    /// validators of this set whose power exceeds two thirds of the total.
    pub fn verify_certificate(&self, header: &BlockHeader, cert: &Certificate) -> Result<(), TypesError> {
        if header.validator_set_hash != self.hash() {
            return Err(TypesError::InvalidField {
                field: "validator_set_hash",
                reason: "header names a different validator set".into(),
            });
        }
        if let Some(h) = cert.finalized_by {
            return Err(TypesError::InvalidField {
                field: "certificate",
                reason: format!("block {} is final through block {h}'s certificate, not its own", header.height),
            });
        }
        let msg = match &cert.round {
            None => header.signing_bytes(),
            Some(round) => {
                // BFT votes count validators, not power: the engine's quorum is 2f+1 of
                // 3f+1 equal votes, which the check below (power > 2/3) then matches
                // only if every validator has the same power.
                if self.validators.iter().any(|v| v.power != self.validators[0].power) {
                    return Err(TypesError::InvalidField {
                        field: "certificate",
                        reason: "a BFT certificate needs a validator set of equal powers".into(),
                    });
                }
                finalize_vote_bytes(&consensus_namespace(&header.chain_id), round, &header.hash())
            }
        };
        let mut seen = vec![false; self.validators.len()];
        let mut power: u128 = 0;
        for vs in &cert.signatures {
            let idx = vs.validator as usize;
            let v = self.validators.get(idx).ok_or_else(|| TypesError::InvalidField {
                field: "certificate",
                reason: format!("validator index {idx} is not in the set"),
            })?;
            if std::mem::replace(&mut seen[idx], true) {
                return Err(TypesError::InvalidField {
                    field: "certificate",
                    reason: format!("validator {idx} signed twice"),
                });
            }
            v.public_key.verify(&msg, &vs.signature)?;
            power += v.power as u128;
        }
        if power * 3 <= self.total_power() * 2 {
            return Err(TypesError::InvalidField {
                field: "certificate",
                reason: format!("signing power {power} is not more than two thirds of {}", self.total_power()),
            });
        }
        Ok(())
    }
}

/// A finalised block header with its certificate: the trust anchor for proofs.
/// (height, log size, log root, state root) come from the header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Checkpoint {
    pub header: BlockHeader,
    pub certificate: Certificate,
}

impl Checkpoint {
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// Verifies the certificate against `validators`.
    pub fn verify(&self, validators: &ValidatorSet) -> Result<(), TypesError> {
        validators.verify_certificate(&self.header, &self.certificate)
    }
}

/// Outcome of one transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
pub enum TxStatus {
    Success,
    Failed,
}

/// A typed failure recorded in a receipt: a stable machine code and a message.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TxError {
    pub code: String,
    pub message: String,
}

/// Per-transaction result stored with the block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    pub tx_hash: Hash,
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Position in the global transaction log.
    pub log_index: u64,
    pub status: TxStatus,
    pub error: Option<TxError>,
    pub events: Vec<Event>,
}
