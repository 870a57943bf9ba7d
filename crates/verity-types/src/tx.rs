//! Transactions: chain id, sender, nonce, one action; signed with Ed25519 over a
//! domain-separated canonical encoding.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::encoding::{decode, encode};
use crate::error::TypesError;
use crate::hash::{sha256, Hash};
use crate::ids::AccountId;
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::TX_BYTES_MAX;

/// Domain separator for transaction signatures.
pub const TX_SIGN_DOMAIN: &[u8] = b"verity/tx/v1\0";

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    /// Must equal the chain's id (stops replays across networks).
    pub chain_id: String,
    pub sender: AccountId,
    /// Must equal the sender's next nonce (stops replays on this network).
    pub nonce: u64,
    pub action: Action,
}

impl Transaction {
    /// The bytes that are signed: domain separator then the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = TX_SIGN_DOMAIN.to_vec();
        borsh::to_writer(&mut out, self).expect("writing borsh into a Vec cannot fail");
        out
    }

    /// Signs with `key`, producing a signed transaction that carries the public key.
    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes());
        SignedTransaction { tx: self, public_key: key.public_key(), signature }
    }
}

/// A transaction with its signer's public key and signature. The key travels with the
/// transaction so that signatures can be checked in batches without reading state;
/// execution then checks that the key is the sender's current key.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub public_key: PublicKey,
    pub signature: Signature,
}

impl SignedTransaction {
    /// The canonical encoding (what is submitted, stored and logged).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes untrusted bytes, bounded by [`TX_BYTES_MAX`], and runs the stateless
    /// checks of the action.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TypesError> {
        if bytes.len() > TX_BYTES_MAX {
            return Err(TypesError::TooLarge { what: "transaction", size: bytes.len(), limit: TX_BYTES_MAX });
        }
        let tx: SignedTransaction = decode(bytes, TX_BYTES_MAX)?;
        tx.validate()?;
        Ok(tx)
    }

    /// The checks [`Self::from_bytes`] makes, for a transaction decoded some other way
    /// (inside a list of forwarded transactions, say): its size, its sender id and the
    /// action's stateless checks.
    pub fn validate(&self) -> Result<(), TypesError> {
        let size = borsh::object_length(self).map_err(|e| TypesError::Malformed(e.to_string()))?;
        if size > TX_BYTES_MAX {
            return Err(TypesError::TooLarge { what: "transaction", size, limit: TX_BYTES_MAX });
        }
        self.tx.sender.validate()?;
        self.tx.action.validate()
    }

    /// The transaction hash: SHA-256 of the canonical encoding. It is the leaf data of
    /// the transaction log and the id used by the API.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_bytes())
    }

    /// Verifies the signature alone (batch verification lives in the node).
    pub fn verify_signature(&self) -> Result<(), TypesError> {
        self.public_key.verify(&self.tx.signing_bytes(), &self.signature)
    }
}

/// Verifies every transaction's signature as strictly as
/// [`SignedTransaction::verify_signature`], in one batch when all are good
/// ([`crate::keys::verify_each`]). `Err(i)`: the first transaction whose signature fails.
pub fn verify_signatures<'a>(txs: impl IntoIterator<Item = &'a SignedTransaction>) -> Result<(), usize> {
    let txs: Vec<&SignedTransaction> = txs.into_iter().collect();
    let signing: Vec<Vec<u8>> = txs.iter().map(|t| t.tx.signing_bytes()).collect();
    let messages: Vec<&[u8]> = signing.iter().map(Vec::as_slice).collect();
    let sigs: Vec<crate::keys::Signature> = txs.iter().map(|t| t.signature).collect();
    let keys: Vec<crate::keys::PublicKey> = txs.iter().map(|t| t.public_key).collect();
    crate::keys::verify_each(&messages, &sigs, &keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AssetId;
    use crate::Transfer;

    pub(crate) fn sample() -> SignedTransaction {
        Transaction {
            chain_id: "verity-dev".into(),
            sender: AccountId::new("alice").expect("id"),
            nonce: 7,
            action: Action::Transfer(Transfer {
                to: AccountId::new("bob").expect("id"),
                asset: AssetId::new("usd").expect("id"),
                amount: 42,
                memo: String::new(),
            }),
        }
        .sign(&SecretKey::from_seed([1; 32]))
    }

    #[test]
    fn roundtrip_and_signature() {
        let tx = sample();
        let bytes = tx.to_bytes();
        let back = SignedTransaction::from_bytes(&bytes).expect("decode");
        assert_eq!(back, tx);
        assert!(back.verify_signature().is_ok());
        let mut tampered = back.clone();
        tampered.tx.nonce += 1;
        assert_eq!(tampered.verify_signature(), Err(TypesError::BadSignature));
    }

    #[test]
    fn golden_hash() {
        // A change to this digest is a change of the canonical format: make it on purpose.
        assert_eq!(sample().hash().to_hex(), GOLDEN_TX_HASH);
    }

    const GOLDEN_TX_HASH: &str = "11b9c4f0a0c1fed4c43e3cfe26daebe102290033d272c645c5f1c9ef29b08a73";

    #[test]
    fn rejects_trailing_and_oversized() {
        let mut bytes = sample().to_bytes();
        bytes.push(0);
        assert!(SignedTransaction::from_bytes(&bytes).is_err());
        assert!(matches!(
            SignedTransaction::from_bytes(&vec![0u8; TX_BYTES_MAX + 1]),
            Err(TypesError::TooLarge { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = SignedTransaction::from_bytes(&bytes);
        }

        #[test]
        fn mutated_valid_tx_never_panics(idx in 0usize..200, byte in proptest::prelude::any::<u8>()) {
            let mut bytes = sample().to_bytes();
            let i = idx % bytes.len();
            bytes[i] = byte;
            if let Ok(tx) = SignedTransaction::from_bytes(&bytes) {
                // A changed signed field must break the signature.
                if tx != sample() && tx.signature == sample().signature && tx.public_key == sample().public_key {
                    proptest::prop_assert!(tx.verify_signature().is_err());
                }
            }
        }
    }
}
