//! RFC 6962 / RFC 9162 (Certificate Transparency) Merkle tree hashing for the transaction
//! log: roots, inclusion and consistency proofs, and their verification.
//!
//! Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right),
//! the root of the empty tree is SHA-256(""). The split point for n leaves is the
//! largest power of two smaller than n.
//!
//! Proof generation is written once, over a "subtree hash" oracle `(start, len) -> Hash`
//! that is only ever asked for ranges of the RFC's recursive decomposition (every such range
//! starts at a multiple of the largest power of two not above its length). The in-memory
//! generators [`inclusion_proof`] and [`consistency_proof`] answer it from a slice of leaf
//! hashes; the store answers it from the perfect subtree nodes it keeps on disk.
//! Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 and never panics.

use crate::error::ProofError;
use crate::hash::{sha256, sha256_parts, Hash};
use crate::limits::LOG_PROOF_HASHES_MAX;
use crate::proof::{ConsistencyProof, InclusionProof};

/// RFC 6962 leaf hash of `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256_parts(&[&[0u8], data])
}

/// RFC 6962 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[1u8], left.as_bytes(), right.as_bytes()])
}

/// The root of the empty log: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// The largest power of two strictly smaller than `n` (n >= 2).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// RFC 6962 Merkle tree hash over already-hashed leaves.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Folds the roots of the perfect subtrees that make up a tree (largest, leftmost first) into
/// the RFC 6962 root: the right-most two are combined first.
pub fn fold_perfect_roots(roots: &[Hash]) -> Hash {
    let mut iter = roots.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The perfect, aligned subtrees `(level, index)` whose concatenation is the leaf range
/// `[start, start + len)`, largest first. Level `l` index `i` covers leaves
/// `[i * 2^l, (i + 1) * 2^l)`. Requires `start` to be a multiple of the largest power of two
/// not above `len`, which holds for every range of the RFC 6962 decomposition of a tree.
pub fn perfect_subtrees(start: u64, len: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::with_capacity(len.count_ones() as usize);
    let mut pos = start;
    for level in (0..64u8).rev() {
        if len & (1u64 << level) != 0 {
            out.push((level, pos >> level));
            pos += 1u64 << level;
        }
    }
    out
}

/// RFC 9162 PATH(index, D[size]) computed from a subtree-hash oracle `(start, len) -> Hash`.
pub fn inclusion_proof_with<E: From<ProofError>>(
    index: u64,
    size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<InclusionProof, E> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut path = Vec::new();
    let (mut start, mut n) = (0u64, size);
    while n > 1 {
        let k = split_point(n);
        if index - start < k {
            path.push(subtree(start + k, n - k)?);
            n = k;
        } else {
            path.push(subtree(start, k)?);
            start += k;
            n -= k;
        }
    }
    path.reverse();
    Ok(InclusionProof { leaf_index: index, tree_size: size, path })
}

/// RFC 9162 PROOF(old_size, D[new_size]) computed from a subtree-hash oracle.
pub fn consistency_proof_with<E: From<ProofError>>(
    old_size: u64,
    new_size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<ConsistencyProof, E> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size }.into());
    }
    let mut path = Vec::new();
    if old_size > 0 && old_size < new_size {
        // SUBPROOF(m, D[start..start+n], b), unrolled; hashes are collected top-down.
        let (mut start, mut n, mut m, mut complete) = (0u64, new_size, old_size, true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                path.push(subtree(start + k, n - k)?);
                n = k;
            } else {
                path.push(subtree(start, k)?);
                start += k;
                n -= k;
                m -= k;
                complete = false;
            }
        }
        if !complete {
            path.push(subtree(start, n)?);
        }
        path.reverse();
    }
    Ok(ConsistencyProof { old_size, new_size, path })
}

/// Inclusion proof of leaf `index` in the tree made of the first `size` of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<InclusionProof, ProofError> {
    check_available(leaves, size)?;
    inclusion_proof_with(index, size, |s, l| Ok(root(&leaves[s as usize..(s + l) as usize])))
}

/// Consistency proof between the trees made of the first `old_size` and `new_size` of `leaves`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64, new_size: u64) -> Result<ConsistencyProof, ProofError> {
    check_available(leaves, new_size)?;
    consistency_proof_with(old_size, new_size, |s, l| Ok(root(&leaves[s as usize..(s + l) as usize])))
}

fn check_available(leaves: &[Hash], size: u64) -> Result<(), ProofError> {
    let available = leaves.len() as u64;
    if size > available {
        return Err(ProofError::SizeUnavailable { size, available });
    }
    Ok(())
}

fn check_path_len(path: &[Hash]) -> Result<(), ProofError> {
    if path.len() > LOG_PROOF_HASHES_MAX {
        return Err(ProofError::TooLong { what: "hashes", len: path.len(), limit: LOG_PROOF_HASHES_MAX });
    }
    Ok(())
}

impl InclusionProof {
    /// Verifies (RFC 9162 section 2.1.3.2) that `leaf_hash` is leaf `leaf_index` of the tree of
    /// `tree_size` leaves whose root is `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), ProofError> {
        check_path_len(&self.path)?;
        if self.leaf_index >= self.tree_size {
            return Err(ProofError::IndexOutOfRange { index: self.leaf_index, size: self.tree_size });
        }
        let (mut fn_, mut sn) = (self.leaf_index, self.tree_size - 1);
        let mut r = *leaf_hash;
        for p in &self.path {
            if sn == 0 {
                return Err(ProofError::WrongPathLength);
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn != 0 {
            return Err(ProofError::WrongPathLength);
        }
        if r != *root {
            return Err(ProofError::RootMismatch { which: "log" });
        }
        Ok(())
    }
}

impl ConsistencyProof {
    /// Verifies (RFC 9162 section 2.1.4.2) that the tree of `old_size` leaves with root
    /// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        check_path_len(&self.path)?;
        let (old, new) = (self.old_size, self.new_size);
        if old > new {
            return Err(ProofError::SizesOutOfOrder { old_size: old, new_size: new });
        }
        if old == 0 || old == new {
            if !self.path.is_empty() {
                return Err(ProofError::WrongPathLength);
            }
            if old == 0 && *old_root != empty_root() {
                return Err(ProofError::RootMismatch { which: "old" });
            }
            if old == new && old_root != new_root {
                return Err(ProofError::RootMismatch { which: "new" });
            }
            return Ok(());
        }
        let Some((first, rest)) = self.path.split_first() else {
            return Err(ProofError::WrongPathLength);
        };
        // When the old tree is a perfect subtree of the new one, its root starts the path.
        let (seed, rest) = if old.is_power_of_two() { (old_root, &self.path[..]) } else { (first, rest) };
        let (mut fn_, mut sn) = (old - 1, new - 1);
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        let (mut fr, mut sr) = (*seed, *seed);
        for c in rest {
            if sn == 0 {
                return Err(ProofError::WrongPathLength);
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn != 0 {
            return Err(ProofError::WrongPathLength);
        }
        if fr != *old_root {
            return Err(ProofError::RootMismatch { which: "old" });
        }
        if sr != *new_root {
            return Err(ProofError::RootMismatch { which: "new" });
        }
        Ok(())
    }
}

/// Appends a leaf to a frontier: the roots of the perfect subtrees of a tree of `size`
/// leaves, largest first. This lets a tree's RFC 6962 root be computed incrementally, in
/// O(log n) space, as leaves arrive in chunks (see [`frontier_root`]).
pub fn frontier_push(frontier: &mut Vec<Hash>, size: u64, leaf: Hash) {
    debug_assert_eq!(frontier.len(), size.count_ones() as usize);
    let mut node = leaf;
    let mut n = size;
    while n & 1 == 1 {
        let left = frontier.pop().expect("a frontier holds one root per set bit of the size");
        node = node_hash(&left, &node);
        n >>= 1;
    }
    frontier.push(node);
}

/// The RFC 6962 root of the tree whose frontier is `frontier`.
pub fn frontier_root(frontier: &[Hash]) -> Hash {
    fold_perfect_roots(frontier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode;
    use proptest::prelude::*;
    use sha2::Sha256;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    fn ct_tree(n: u64) -> ct_merkle::mem_backed_tree::MemoryBackedTree<Sha256, [u8; 8]> {
        let mut t = ct_merkle::mem_backed_tree::MemoryBackedTree::new();
        for i in 0..n {
            t.push(i.to_le_bytes());
        }
        t
    }

    #[test]
    fn golden_roots() {
        // Checked-in digests: a change here is a deliberate format change.
        let check = |n: u64, expected: &str| assert_eq!(root(&leaves(n)).to_hex(), expected, "size {n}");
        check(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        check(1, "3e7077fd2f66d689e0cee6a7cf5b37bf2dca7c979af356d0a31cbc5c85605c7d");
        check(7, "466beed4de0ff174874cdafcb0148b42afc4410c0f2e0ba430d9833e29586dd0");
        check(70, "6a94544cda6480816d9089c5c4b2186244bee6a51bb7ceeaa0501f619ee658ad");
    }

    #[test]
    fn matches_ct_merkle_roots_and_proofs() {
        for n in 1..=70u64 {
            let ours = leaves(n);
            let theirs = ct_tree(n);
            assert_eq!(root(&ours).0.as_slice(), theirs.root().as_bytes().as_slice(), "root {n}");
            for i in 0..n {
                let p = inclusion_proof(&ours, i, n).expect("in range");
                let ct = theirs.prove_inclusion(i as usize);
                let flat: Vec<u8> = p.path.iter().flat_map(|h| h.0).collect();
                assert_eq!(flat, ct.as_bytes(), "inclusion {i} of {n}");
                p.verify(&ours[i as usize], &root(&ours)).expect("verifies");
            }
            for old in 1..n {
                let p = consistency_proof(&ours, old, n).expect("in range");
                let ct = theirs.prove_consistency((n - old) as usize);
                let flat: Vec<u8> = p.path.iter().flat_map(|h| h.0).collect();
                assert_eq!(flat, ct.as_bytes(), "consistency {old} -> {n}");
                p.verify(&root(&ours[..old as usize]), &root(&ours)).expect("verifies");
            }
        }
    }

    #[test]
    fn every_single_mutation_fails() {
        let all = leaves(23);
        let r = root(&all);
        let old_root = root(&all[..9]);
        for i in 0..23u64 {
            let p = inclusion_proof(&all, i, 23).expect("in range");
            for j in 0..p.path.len() {
                let mut bad = p.clone();
                bad.path[j].0[0] ^= 1;
                assert!(bad.verify(&all[i as usize], &r).is_err());
            }
            let mut bad = p.clone();
            bad.path.push(r);
            assert!(bad.verify(&all[i as usize], &r).is_err());
            let mut bad = p.clone();
            bad.path.pop();
            assert!(bad.verify(&all[i as usize], &r).is_err());
            let mut bad = p.clone();
            bad.leaf_index = (i + 1) % 23;
            assert!(bad.verify(&all[i as usize], &r).is_err());
            assert!(p.verify(&all[((i + 1) % 23) as usize], &r).is_err());
        }
        let p = consistency_proof(&all, 9, 23).expect("in range");
        p.verify(&old_root, &r).expect("valid");
        for j in 0..p.path.len() {
            let mut bad = p.clone();
            bad.path[j].0[31] ^= 0x80;
            assert!(bad.verify(&old_root, &r).is_err());
        }
        assert!(p.verify(&r, &r).is_err());
        assert!(p.verify(&old_root, &old_root).is_err());
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let all = leaves(5);
        let r = root(&all);
        assert_eq!(inclusion_proof(&all, 5, 5), Err(ProofError::IndexOutOfRange { index: 5, size: 5 }));
        assert_eq!(inclusion_proof(&all, 0, 6), Err(ProofError::SizeUnavailable { size: 6, available: 5 }));
        assert_eq!(consistency_proof(&all, 4, 3), Err(ProofError::SizesOutOfOrder { old_size: 4, new_size: 3 }));
        let long = InclusionProof { leaf_index: 0, tree_size: u64::MAX, path: vec![r; 65] };
        assert!(matches!(long.verify(&r, &r), Err(ProofError::TooLong { .. })));
        let empty = InclusionProof { leaf_index: 0, tree_size: 0, path: vec![] };
        assert!(empty.verify(&r, &r).is_err());
        let c = ConsistencyProof { old_size: 3, new_size: 3, path: vec![] };
        c.verify(&r, &r).expect("same tree");
        assert!(c.verify(&r, &all[0]).is_err());
        let c = ConsistencyProof { old_size: 0, new_size: 3, path: vec![] };
        c.verify(&empty_root(), &r).expect("empty prefix");
        let c = ConsistencyProof { old_size: 2, new_size: 5, path: vec![] };
        assert!(c.verify(&r, &r).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_proofs_never_panic(
            index in any::<u64>(), size in any::<u64>(),
            path in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
            root_bytes in any::<[u8; 32]>(),
        ) {
            let path: Vec<Hash> = path.into_iter().map(Hash).collect();
            let r = Hash(root_bytes);
            let _ = InclusionProof { leaf_index: index, tree_size: size, path: path.clone() }.verify(&r, &r);
            let _ = ConsistencyProof { old_size: index, new_size: size, path }.verify(&r, &r);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode::<InclusionProof>(&bytes, 4096);
            let _ = decode::<ConsistencyProof>(&bytes, 4096);
        }

        #[test]
        fn random_sizes_verify(n in 1u64..3000, a in any::<u64>(), b in any::<u64>()) {
            let all = leaves(n);
            let r = root(&all);
            let i = a % n;
            inclusion_proof(&all, i, n).expect("in range").verify(&all[i as usize], &r).expect("verifies");
            let old = b % n + 1;
            consistency_proof(&all, old, n).expect("in range")
                .verify(&root(&all[..old as usize]), &r).expect("verifies");
        }
    }

    #[test]
    fn frontier_matches_root_at_every_size() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut frontier = Vec::new();
        assert_eq!(frontier_root(&frontier), root(&[]));
        for (i, leaf) in leaves.iter().enumerate() {
            frontier_push(&mut frontier, i as u64, *leaf);
            assert_eq!(frontier_root(&frontier), root(&leaves[..=i]), "size {}", i + 1);
        }
    }
}
