//! Proof types shared by the store (which builds them) and the client (which verifies
//! them offline against a checkpoint): RFC 6962 log proofs (verified in [`crate::merkle`])
//! and authenticated-state proofs.
//!
//! # The state tree
//! A 16-ary compressed (Jellyfish-like) Merkle tree over `key_hash = sha256(key)`; the path of
//! a key is its key hash's nibbles, high nibble first. Hashing is fixed (golden-tested):
//! - an empty child is [`Hash::ZERO`];
//! - a leaf is `sha256(0x00 || key_hash || sha256(value))`;
//! - an internal node is `sha256(0x01 || child_0 || ... || child_15)`.
//!
//! A leaf sits at the shallowest depth at which its nibble prefix is unique among all keys,
//! so an internal node always has at least two leaves below it. The empty tree's root is
//! [`Hash::ZERO`]; a one-key tree's root is that key's leaf hash. Keys are never deleted.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::ProofError;
use crate::hash::{sha256, sha256_parts, Hash};
use crate::limits::{STATE_KEY_BYTES_MAX, STATE_PROOF_LEVELS_MAX};

/// RFC 6962 inclusion (audit) path of one leaf in a log of `tree_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub path: Vec<Hash>,
}

/// RFC 6962 consistency proof between two sizes of the log.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub path: Vec<Hash>,
}

/// Children per internal node of the state tree.
pub const STATE_TREE_ARITY: usize = 16;
/// Nibbles in a key hash: the deepest a leaf can sit.
pub const STATE_TREE_DEPTH_MAX: usize = 64;

const _: () = assert!(STATE_PROOF_LEVELS_MAX >= STATE_TREE_DEPTH_MAX);

/// The path of `key` in the state tree.
pub fn state_key_hash(key: &[u8]) -> Hash {
    sha256(key)
}

/// Hash of a state leaf.
pub fn state_leaf_hash(key_hash: &Hash, value_hash: &Hash) -> Hash {
    sha256_parts(&[&[0u8], key_hash.as_bytes(), value_hash.as_bytes()])
}

/// Hash of a state internal node from its 16 children ([`Hash::ZERO`] for empty ones).
pub fn state_internal_hash(children: &[Hash; STATE_TREE_ARITY]) -> Hash {
    let mut buf = [0u8; 1 + 32 * STATE_TREE_ARITY];
    buf[0] = 1;
    for (i, c) in children.iter().enumerate() {
        buf[1 + 32 * i..33 + 32 * i].copy_from_slice(c.as_bytes());
    }
    sha256(&buf)
}

/// Nibble `depth` (0 = high nibble of the first byte) of a key hash. `depth` must be < 64.
pub fn nibble(key_hash: &Hash, depth: usize) -> usize {
    let byte = key_hash.0[depth / 2];
    if depth.is_multiple_of(2) {
        (byte >> 4) as usize
    } else {
        (byte & 0x0f) as usize
    }
}

/// The siblings of the path at one internal node: a bitmap of the non-empty children other
/// than the one on the path (bit i = child i), and their hashes in child order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateProofLevel {
    pub bitmap: u16,
    pub siblings: Vec<Hash>,
}

/// Where the path of a state proof ends.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StateProofTerminal {
    /// The child slot on the key's path is empty (or the whole tree is empty).
    Empty,
    /// A leaf: the key's own (membership) or another key sharing the path so far.
    Leaf { key_hash: Hash, value_hash: Hash },
}

/// Membership (`value` is `Some`) or non-membership (`value` is `None`) proof of `key`
/// against a state root. `levels[0]` is the root node.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateProof {
    #[serde(with = "crate::hash::hex_bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::HexBytes))]
    pub key: Vec<u8>,
    #[serde(with = "crate::hash::hex_bytes_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::HexBytes>))]
    pub value: Option<Vec<u8>>,
    pub levels: Vec<StateProofLevel>,
    pub terminal: StateProofTerminal,
}

impl StateProof {
    /// Verifies the proof against `state_root`. Rejects any inconsistency: wrong root, a
    /// value or key that differs from the terminal leaf, a non-membership proof for a present
    /// key, too many levels, malformed sibling lists, and an internal node with the path as
    /// its only child at the bottom (the leaf would have to sit higher).
    pub fn verify(&self, state_root: &Hash) -> Result<(), ProofError> {
        if self.levels.len() > STATE_PROOF_LEVELS_MAX.min(STATE_TREE_DEPTH_MAX) {
            return Err(ProofError::TooLong {
                what: "levels",
                len: self.levels.len(),
                limit: STATE_PROOF_LEVELS_MAX.min(STATE_TREE_DEPTH_MAX),
            });
        }
        if self.key.len() > STATE_KEY_BYTES_MAX {
            return Err(ProofError::TooLong { what: "key bytes", len: self.key.len(), limit: STATE_KEY_BYTES_MAX });
        }
        let key_hash = state_key_hash(&self.key);
        let depth = self.levels.len();
        let mut current = match (&self.terminal, &self.value) {
            (StateProofTerminal::Empty, Some(_)) => {
                return Err(ProofError::WrongTerminal("claims a value but ends in an empty slot"))
            }
            (StateProofTerminal::Empty, None) => Hash::ZERO,
            (StateProofTerminal::Leaf { key_hash: kh, value_hash }, value) => {
                match value {
                    Some(v) => {
                        if *kh != key_hash {
                            return Err(ProofError::KeyMismatch);
                        }
                        if *value_hash != sha256(v) {
                            return Err(ProofError::ValueMismatch);
                        }
                    }
                    None => {
                        if *kh == key_hash {
                            return Err(ProofError::WrongTerminal("claims absence but ends in the key's leaf"));
                        }
                    }
                }
                if (0..depth).any(|d| nibble(kh, d) != nibble(&key_hash, d)) {
                    return Err(ProofError::Malformed("terminal leaf is not on the key's path"));
                }
                state_leaf_hash(kh, value_hash)
            }
        };
        if let Some(last) = self.levels.last() {
            // The bottom internal node must have a child besides the path: with none, it would
            // hold nothing (empty terminal) or a lone leaf that belongs one level up.
            if last.bitmap == 0 {
                return Err(ProofError::Malformed("bottom internal node has no other child"));
            }
        }
        for (d, level) in self.levels.iter().enumerate().rev() {
            let on_path = nibble(&key_hash, d);
            if level.bitmap & (1 << on_path) != 0 {
                return Err(ProofError::Malformed("sibling bitmap includes the path's own child"));
            }
            if level.siblings.len() != level.bitmap.count_ones() as usize {
                return Err(ProofError::Malformed("sibling count differs from the bitmap"));
            }
            let mut children = [Hash::ZERO; STATE_TREE_ARITY];
            let mut siblings = level.siblings.iter();
            for (i, child) in children.iter_mut().enumerate() {
                if i == on_path {
                    *child = current;
                } else if level.bitmap & (1 << i) != 0 {
                    let Some(s) = siblings.next() else {
                        return Err(ProofError::Malformed("sibling count differs from the bitmap"));
                    };
                    if *s == Hash::ZERO {
                        return Err(ProofError::Malformed("a listed sibling is empty"));
                    }
                    *child = *s;
                }
            }
            current = state_internal_hash(&children);
        }
        if current != *state_root {
            return Err(ProofError::RootMismatch { which: "state" });
        }
        Ok(())
    }
}

/// One entry of an in-memory state tree: key hash and value hash.
type Entry = (Hash, Hash);

fn sorted_entries(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = state.iter().map(|(k, v)| (state_key_hash(k), sha256(v))).collect();
    entries.sort_unstable();
    entries
}

/// Root of a subtree at `depth` holding `entries` (sorted by key hash, distinct, sharing
/// their first `depth` nibbles).
fn subtree_root(entries: &[Entry], depth: usize) -> Hash {
    match entries {
        [] => Hash::ZERO,
        [(kh, vh)] => state_leaf_hash(kh, vh),
        _ => {
            let mut children = [Hash::ZERO; STATE_TREE_ARITY];
            for (n, group) in group_by_nibble(entries, depth) {
                children[n] = subtree_root(group, depth + 1);
            }
            state_internal_hash(&children)
        }
    }
}

fn group_by_nibble(entries: &[Entry], depth: usize) -> Vec<(usize, &[Entry])> {
    let mut out = Vec::new();
    let mut rest = entries;
    while let Some((first, _)) = rest.first() {
        let n = nibble(first, depth);
        let len = rest.iter().take_while(|(kh, _)| nibble(kh, depth) == n).count();
        let (group, tail) = rest.split_at(len);
        out.push((n, group));
        rest = tail;
    }
    out
}

/// The state root of `state`, built from scratch in memory. The reference that the store's
/// incremental, versioned tree is tested against.
pub fn state_root(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> Hash {
    subtree_root(&sorted_entries(state), 0)
}

/// A proof for `key` built from scratch over the in-memory `state` (a reference for tests
/// and small trees; the store builds the same proofs from its versioned nodes).
pub fn state_proof(state: &BTreeMap<Vec<u8>, Vec<u8>>, key: &[u8]) -> StateProof {
    let entries = sorted_entries(state);
    let key_hash = state_key_hash(key);
    let mut levels = Vec::new();
    let mut current: &[Entry] = &entries;
    let mut depth = 0;
    let terminal = loop {
        match current {
            [] => break StateProofTerminal::Empty,
            [(kh, vh)] => break StateProofTerminal::Leaf { key_hash: *kh, value_hash: *vh },
            _ => {
                let on_path = nibble(&key_hash, depth);
                let mut level = StateProofLevel { bitmap: 0, siblings: Vec::new() };
                let mut next: &[Entry] = &[];
                for (n, group) in group_by_nibble(current, depth) {
                    if n == on_path {
                        next = group;
                    } else {
                        level.bitmap |= 1 << n;
                        level.siblings.push(subtree_root(group, depth + 1));
                    }
                }
                levels.push(level);
                current = next;
                depth += 1;
            }
        }
    };
    StateProof { key: key.to_vec(), value: state.get(key).cloned(), levels, terminal }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode;
    use proptest::prelude::*;

    fn state(n: u32) -> BTreeMap<Vec<u8>, Vec<u8>> {
        (0..n).map(|i| (format!("key-{i}").into_bytes(), format!("value-{i}").into_bytes())).collect()
    }

    #[test]
    fn golden_hashes_and_roots() {
        // Checked-in digests: a change here is a deliberate format change.
        assert_eq!(state_root(&state(0)), Hash::ZERO);
        let one = state(1);
        assert_eq!(state_root(&one), state_leaf_hash(&sha256(b"key-0"), &sha256(b"value-0")));
        let check = |n: u32, expected: &str| assert_eq!(state_root(&state(n)).to_hex(), expected, "size {n}");
        check(1, "c3ddc4126377de0671c82aa65054a575bfb8d09e1799616c0583172fb88e7855");
        check(2, "df374c3d9153df43149e38548638bc593d106491890b9776a2b88c10c0824a45");
        check(100, "69de19866de47d726a84f99a9f096f792c88654dfa309ab482ac0d78c52fbf9f");
        let mut children = [Hash::ZERO; 16];
        children[3] = sha256(b"x");
        assert_eq!(
            state_internal_hash(&children).to_hex(),
            "35497efeb47bd741a637b5470453bb7d8511bc5a9986579373bd84907e086cc3"
        );
    }

    #[test]
    fn proofs_verify_for_members_and_non_members() {
        for n in [0u32, 1, 2, 3, 17, 300] {
            let s = state(n);
            let root = state_root(&s);
            for i in 0..n + 20 {
                let key = format!("key-{i}").into_bytes();
                let p = state_proof(&s, &key);
                assert_eq!(p.value.is_some(), i < n);
                p.verify(&root).expect("verifies");
                let json = serde_json::to_string(&p).expect("json");
                assert_eq!(serde_json::from_str::<StateProof>(&json).expect("parse"), p);
            }
        }
    }

    #[test]
    fn inconsistent_proofs_are_refused() {
        let s = state(40);
        let root = state_root(&s);
        let member = state_proof(&s, b"key-7");
        let absent = state_proof(&s, b"key-77");
        // Claiming a value for an absent key, or absence for a present one.
        let mut bad = absent.clone();
        bad.value = Some(b"x".to_vec());
        assert!(bad.verify(&root).is_err());
        let mut bad = member.clone();
        bad.value = None;
        assert_eq!(bad.verify(&root), Err(ProofError::WrongTerminal("claims absence but ends in the key's leaf")));
        // Reusing a member's proof for another key.
        let mut bad = member.clone();
        bad.key = b"key-8".to_vec();
        assert!(bad.verify(&root).is_err());
        // Too many levels.
        let mut bad = member.clone();
        bad.levels = vec![StateProofLevel { bitmap: 1, siblings: vec![root] }; 65];
        assert!(matches!(bad.verify(&root), Err(ProofError::TooLong { .. })));
        // Bottom node with only the path child (a shortcut violation).
        let mut bad = member.clone();
        let StateProofTerminal::Leaf { .. } = bad.terminal else { panic!("member ends in a leaf") };
        bad.levels.push(StateProofLevel { bitmap: 0, siblings: vec![] });
        assert!(bad.verify(&root).is_err());
        // Wrong root.
        assert!(member.verify(&sha256(b"other")).is_err());
    }

    fn mutations(p: &StateProof) -> Vec<StateProof> {
        let mut out = Vec::new();
        if let Some(v) = &p.value {
            for i in 0..v.len() {
                let mut m = p.clone();
                m.value.as_mut().expect("some")[i] ^= 1;
                out.push(m);
            }
        }
        // A non-membership proof stays valid for other absent keys on the same path, so
        // flipping the key only has to fail for membership proofs.
        if p.value.is_some() {
            for i in 0..p.key.len() {
                let mut m = p.clone();
                m.key[i] ^= 1;
                out.push(m);
            }
        }
        for l in 0..p.levels.len() {
            for s in 0..p.levels[l].siblings.len() {
                for byte in [0usize, 17, 31] {
                    let mut m = p.clone();
                    m.levels[l].siblings[s].0[byte] ^= 0x10;
                    out.push(m);
                }
            }
            let mut m = p.clone();
            m.levels[l].bitmap ^= 1 << 5;
            out.push(m);
        }
        if let StateProofTerminal::Leaf { key_hash, value_hash } = p.terminal {
            let mut m = p.clone();
            m.terminal = StateProofTerminal::Leaf { key_hash, value_hash: sha256(value_hash.as_bytes()) };
            out.push(m);
            let mut m = p.clone();
            m.terminal = StateProofTerminal::Empty;
            out.push(m);
        }
        out
    }

    proptest! {
        #[test]
        fn any_single_mutation_fails(n in 1u32..200, probe in 0u32..260) {
            let s = state(n);
            let root = state_root(&s);
            let p = state_proof(&s, format!("key-{probe}").as_bytes());
            p.verify(&root).expect("valid");
            for m in mutations(&p) {
                prop_assert!(m.verify(&root).is_err(), "mutation verified: {m:?}");
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
            if let Ok(p) = decode::<StateProof>(&bytes, 64 * 1024) {
                let _ = p.verify(&Hash::ZERO);
            }
            let _ = decode::<StateProofLevel>(&bytes, 64 * 1024);
        }

        #[test]
        fn root_is_order_independent(keys in proptest::collection::vec(any::<u16>(), 0..60)) {
            let forward: BTreeMap<Vec<u8>, Vec<u8>> =
                keys.iter().map(|k| (k.to_be_bytes().to_vec(), vec![*k as u8])).collect();
            let mut inserted = BTreeMap::new();
            for (k, v) in forward.iter().rev() {
                inserted.insert(k.clone(), v.clone());
            }
            prop_assert_eq!(state_root(&forward), state_root(&inserted));
        }
    }
}
