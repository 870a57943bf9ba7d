//! The canonical binary encoding: borsh, with size limits on decode.
//!
//! Borsh is deterministic (one encoding per value: fixed-width little-endian integers,
//! length-prefixed sequences, enum tags by declaration order), which is what hashing and
//! signing need. Decoding untrusted bytes goes through [`decode`], which enforces a size
//! limit first and rejects trailing bytes, so no input can make it panic or allocate
//! beyond the limit.

use crate::error::TypesError;
use borsh::{BorshDeserialize, BorshSerialize};

/// Encodes a value canonically.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("writing borsh into a Vec cannot fail")
}

/// Decodes canonical bytes of at most `limit` bytes, rejecting trailing bytes.
pub fn decode<T: BorshDeserialize>(bytes: &[u8], limit: usize) -> Result<T, TypesError> {
    if bytes.len() > limit {
        return Err(TypesError::TooLarge { what: "encoded value", size: bytes.len(), limit });
    }
    borsh::from_slice(bytes).map_err(|e| TypesError::Malformed(e.to_string()))
}
