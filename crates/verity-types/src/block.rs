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

/// The two header versions. Version 1 (no receipts root) is what ledgers written before
/// receipts were authenticated hold; every block produced now is version 2. Along a chain
/// the version never goes back: a version 1 block after a version 2 one is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HeaderVersion {
    V1,
    V2,
}

impl HeaderVersion {
    /// The version every new block is produced with.
    pub const CURRENT: HeaderVersion = HeaderVersion::V2;

    /// The receipts root a header of this version carries for `receipts`.
    pub fn receipts_root(self, receipts: &[Receipt]) -> Option<Hash> {
        match self {
            HeaderVersion::V1 => None,
            HeaderVersion::V2 => Some(receipts_root(receipts)),
        }
    }
}

/// The first four bytes of a version 2 header's encoding. A version 1 header starts with
/// the length of its chain id (a `u32`), which is never this large, so the two encodings
/// cannot be confused and version 1 headers keep their bytes and hashes.
pub const HEADER_V2_TAG: u32 = u32::MAX;

/// What a block commits to. Signed (through its hash) by the validators.
///
/// Borsh encoding: version 1 is the fields in order; version 2 is [`HEADER_V2_TAG`], the
/// same fields, then `receipts_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Version 2: RFC 6962 root over the block's receipts ([`Receipt::leaf_hash`], in
    /// block order), so a node cannot report a failed transaction as successful. Absent
    /// in version 1 headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts_root: Option<Hash>,
}

impl BorshSerialize for BlockHeader {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        if self.receipts_root.is_some() {
            BorshSerialize::serialize(&HEADER_V2_TAG, w)?;
        }
        BorshSerialize::serialize(&self.chain_id, w)?;
        BorshSerialize::serialize(&self.height, w)?;
        BorshSerialize::serialize(&self.parent, w)?;
        BorshSerialize::serialize(&self.timestamp_ms, w)?;
        BorshSerialize::serialize(&self.proposer, w)?;
        BorshSerialize::serialize(&self.tx_count, w)?;
        BorshSerialize::serialize(&self.txs_root, w)?;
        BorshSerialize::serialize(&self.log_size, w)?;
        BorshSerialize::serialize(&self.log_root, w)?;
        BorshSerialize::serialize(&self.state_root, w)?;
        BorshSerialize::serialize(&self.validator_set_hash, w)?;
        if let Some(root) = &self.receipts_root {
            BorshSerialize::serialize(&root, w)?;
        }
        Ok(())
    }
}

impl BorshDeserialize for BlockHeader {
    fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
        use std::io::Read;
        let first = u32::deserialize_reader(r)?;
        let v2 = first == HEADER_V2_TAG;
        let chain_id = if v2 {
            String::deserialize_reader(r)?
        } else {
            // Version 1: `first` was the chain id's length; let borsh read it again.
            let len = first.to_le_bytes();
            String::deserialize_reader(&mut len.as_slice().chain(&mut *r))?
        };
        let mut h = BlockHeader {
            chain_id,
            height: u64::deserialize_reader(r)?,
            parent: Hash::deserialize_reader(r)?,
            timestamp_ms: u64::deserialize_reader(r)?,
            proposer: u32::deserialize_reader(r)?,
            tx_count: u32::deserialize_reader(r)?,
            txs_root: Hash::deserialize_reader(r)?,
            log_size: u64::deserialize_reader(r)?,
            log_root: Hash::deserialize_reader(r)?,
            state_root: Hash::deserialize_reader(r)?,
            validator_set_hash: Hash::deserialize_reader(r)?,
            receipts_root: None,
        };
        if v2 {
            h.receipts_root = Some(Hash::deserialize_reader(r)?);
        }
        Ok(h)
    }
}

impl BlockHeader {
    pub fn version(&self) -> HeaderVersion {
        match self.receipts_root {
            None => HeaderVersion::V1,
            Some(_) => HeaderVersion::V2,
        }
    }

    pub fn hash(&self) -> Hash {
        sha256(&encode(self))
    }

    /// Checks that `receipt` is the receipt this header commits to at `receipt.index`:
    /// the header is version 2, the receipt names this block, and `proof` leads from the
    /// receipt's leaf to `receipts_root` in a tree of `tx_count` leaves. Trust the header
    /// first (its certificate, or its descendants').
    pub fn verify_receipt(&self, receipt: &Receipt, proof: &crate::proof::InclusionProof) -> Result<(), TypesError> {
        let bad = |reason: String| TypesError::InvalidField { field: "receipt", reason };
        let Some(root) = &self.receipts_root else {
            return Err(bad(format!(
                "block {} has a version 1 header, which does not commit to receipts",
                self.height
            )));
        };
        if receipt.height != self.height {
            return Err(bad(format!("the receipt names block {}, not {}", receipt.height, self.height)));
        }
        if proof.tree_size != u64::from(self.tx_count) || proof.leaf_index != u64::from(receipt.index) {
            return Err(bad(format!(
                "the proof is for leaf {} of {}, the receipt is leaf {} of the block's {}",
                proof.leaf_index, proof.tree_size, receipt.index, self.tx_count
            )));
        }
        if receipt.log_index.checked_add(u64::from(self.tx_count))
            != self.log_size.checked_add(u64::from(receipt.index))
        {
            return Err(bad(format!(
                "log index {} is not position {} of the block's log entries",
                receipt.log_index, receipt.index
            )));
        }
        proof.verify(&receipt.leaf_hash(), root).map_err(|e| bad(format!("not under the receipts root: {e}")))
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Validator {
    pub org: crate::ids::OrgId,
    pub public_key: PublicKey,
    pub power: u64,
}

/// An ordered validator set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TxStatus {
    Success,
    Failed,
}

/// A typed failure recorded in a receipt: a stable machine code and a message.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxError {
    pub code: String,
    pub message: String,
}

/// RFC 6962 root over `receipts` in block order: a version 2 header's `receipts_root`.
pub fn receipts_root(receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts.iter().map(Receipt::leaf_hash).collect();
    crate::merkle::root(&leaves)
}

/// Domain separator of a receipt's hash.
pub const RECEIPT_DOMAIN: &[u8] = b"verity/receipt/v1\0";

/// Per-transaction result stored with the block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Receipt {
    /// SHA-256 of the domain and the receipt's Borsh encoding.
    pub fn hash(&self) -> Hash {
        sha256_parts(&[RECEIPT_DOMAIN, &encode(self)])
    }

    /// Its leaf in the block's receipts tree.
    pub fn leaf_hash(&self) -> Hash {
        crate::merkle::leaf_hash(self.hash().as_bytes())
    }
}

#[cfg(test)]
mod header_version_tests {
    use super::*;
    use crate::encoding::decode;

    fn v1() -> BlockHeader {
        BlockHeader {
            chain_id: "verity-test".into(),
            height: 7,
            parent: sha256(b"parent"),
            timestamp_ms: 1_700_000_000_000,
            proposer: 2,
            tx_count: 3,
            txs_root: sha256(b"txs"),
            log_size: 40,
            log_root: sha256(b"log"),
            state_root: sha256(b"state"),
            validator_set_hash: sha256(b"set"),
            receipts_root: None,
        }
    }

    fn receipt(index: u32, status: TxStatus) -> Receipt {
        Receipt {
            tx_hash: sha256(&index.to_le_bytes()),
            height: 7,
            index,
            log_index: 37 + u64::from(index),
            status,
            error: None,
            events: Vec::new(),
        }
    }

    #[test]
    fn version_1_headers_keep_their_bytes_and_hash() {
        // The bytes a version 1 header always had: fields in order, no tag.
        let h = v1();
        let mut legacy = Vec::new();
        borsh::BorshSerialize::serialize(&h.chain_id, &mut legacy).expect("ok");
        for part in [&h.height.to_le_bytes()[..], h.parent.as_bytes(), &h.timestamp_ms.to_le_bytes()] {
            legacy.extend_from_slice(part);
        }
        legacy.extend_from_slice(&h.proposer.to_le_bytes());
        legacy.extend_from_slice(&h.tx_count.to_le_bytes());
        legacy.extend_from_slice(h.txs_root.as_bytes());
        legacy.extend_from_slice(&h.log_size.to_le_bytes());
        for part in [h.log_root, h.state_root, h.validator_set_hash] {
            legacy.extend_from_slice(part.as_bytes());
        }
        assert_eq!(encode(&h), legacy);
        assert_eq!(h.hash(), sha256(&legacy));
        assert_eq!(decode::<BlockHeader>(&legacy, 1 << 20).expect("ok"), h);
        assert_eq!(h.version(), HeaderVersion::V1);
    }

    #[test]
    fn version_2_round_trips_and_differs_from_version_1() {
        let mut h = v1();
        h.receipts_root = Some(sha256(b"receipts"));
        let bytes = encode(&h);
        assert_eq!(&bytes[..4], &HEADER_V2_TAG.to_le_bytes());
        assert_eq!(decode::<BlockHeader>(&bytes, 1 << 20).expect("ok"), h);
        assert_ne!(h.hash(), v1().hash());
        // Inside a block, too (the header is not the last field).
        let block = Block { header: h.clone(), txs: Vec::new() };
        assert_eq!(decode::<Block>(&encode(&block), 1 << 20).expect("ok"), block);
        // Truncated or with a huge chain id length: an error, never a panic.
        assert!(decode::<BlockHeader>(&bytes[..bytes.len() - 1], 1 << 20).is_err());
        let mut huge = v1();
        huge.chain_id.clear();
        let mut b = encode(&huge);
        b[..4].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert!(decode::<BlockHeader>(&b, 1 << 20).is_err());
        // JSON: version 1 has no receipts_root key.
        let json = serde_json::to_value(v1()).expect("ok");
        assert!(json.get("receipts_root").is_none());
        assert_eq!(serde_json::from_value::<BlockHeader>(json).expect("ok"), v1());
    }

    #[test]
    fn a_receipt_verifies_only_as_committed() {
        let receipts: Vec<Receipt> = (0..3).map(|i| receipt(i, TxStatus::Failed)).collect();
        let mut h = v1();
        h.receipts_root = HeaderVersion::V2.receipts_root(&receipts);
        let leaves: Vec<Hash> = receipts.iter().map(Receipt::leaf_hash).collect();
        let proof = crate::merkle::inclusion_proof(&leaves, 1, 3).expect("ok");
        h.verify_receipt(&receipts[1], &proof).expect("ok");
        // A node reporting the failed transaction as successful is caught.
        let mut forged = receipts[1].clone();
        forged.status = TxStatus::Success;
        assert!(h.verify_receipt(&forged, &proof).is_err());
        // Another leaf's proof, another block, or a version 1 header: refused.
        assert!(h.verify_receipt(&receipts[0], &proof).is_err());
        let mut other_block = receipts[1].clone();
        other_block.height = 8;
        assert!(h.verify_receipt(&other_block, &proof).is_err());
        assert!(v1().verify_receipt(&receipts[1], &proof).is_err());
    }
}
