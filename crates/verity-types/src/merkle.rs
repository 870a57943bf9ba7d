//! RFC 6962 (Certificate Transparency) Merkle tree hashing for the transaction log.
//!
//! Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right),
//! the root of the empty tree is SHA-256(""). The split point for n leaves is the
//! largest power of two smaller than n.

use crate::hash::{sha256, sha256_parts, Hash};

/// RFC 6962 leaf hash of `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256_parts(&[&[0u8], data])
}

/// RFC 6962 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[1u8], left.as_bytes(), right.as_bytes()])
}

/// The largest power of two strictly smaller than `n` (n >= 2).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// RFC 6962 Merkle tree hash over already-hashed leaves.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}
