//! The RFC 6962 transaction log on disk.
//!
//! Every perfect subtree is stored once it is complete, as `(level, index) -> hash`. The
//! in-memory [`Frontier`] holds the roots of the perfect subtrees that make up the current
//! log (one per set bit of its size, at most 64 hashes), which is all appending needs. Any
//! older root or proof is assembled from O(log n) stored nodes: every range of the RFC's
//! recursive decomposition is a run of at most 64 aligned perfect subtrees, and only one
//! sibling per proof is not itself perfect.

use verity_types::merkle::{fold_perfect_roots, node_hash};
use verity_types::Hash;

/// The right edge of the log: roots of its perfect subtrees, largest (leftmost) first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Frontier {
    pub(crate) size: u64,
    pub(crate) roots: Vec<Hash>,
}

/// A newly completed log node: `((level, index), hash)`.
pub(crate) type LogNode = ((u8, u64), Hash);

impl Frontier {
    pub(crate) fn root(&self) -> Hash {
        fold_perfect_roots(&self.roots)
    }

    /// Appends one leaf hash, pushing every subtree it completes (the leaf included) to `out`.
    pub(crate) fn append(&mut self, leaf: Hash, out: &mut Vec<LogNode>) {
        let index = self.size;
        out.push(((0, index), leaf));
        let mut hash = leaf;
        let mut level = 0u8;
        let mut bits = self.size;
        while bits & 1 == 1 {
            let left = self.roots.pop().expect("a set bit of the size has a perfect subtree root");
            hash = node_hash(&left, &hash);
            level += 1;
            bits >>= 1;
            out.push(((level, index >> level), hash));
        }
        self.roots.push(hash);
        self.size += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_types::merkle::{leaf_hash, perfect_subtrees, root};

    #[test]
    fn frontier_matches_reference_roots_and_nodes() {
        let mut f = Frontier::default();
        let mut nodes = std::collections::BTreeMap::new();
        let mut leaves = Vec::new();
        for i in 0..300u64 {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            let mut out = Vec::new();
            f.append(leaf, &mut out);
            nodes.extend(out);
            assert_eq!(f.root(), root(&leaves));
            // The frontier is exactly the stored perfect subtrees of the current size.
            let from_nodes: Vec<Hash> = perfect_subtrees(0, f.size).iter().map(|k| nodes[k]).collect();
            assert_eq!(from_nodes, f.roots);
        }
        for ((level, index), hash) in nodes {
            let start = (index << level) as usize;
            assert_eq!(hash, root(&leaves[start..start + (1 << level)]));
        }
    }
}
