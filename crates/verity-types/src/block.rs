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
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Certificate {
    pub signatures: Vec<ValidatorSignature>,
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
        let msg = header.signing_bytes();
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
