//! The authenticated, versioned state tree (16-ary, compressed; hashing is defined in
//! `verity_types::proof`).
//!
//! Nodes are content-addressed (`node hash -> encoded node`) and never overwritten, so the
//! root of every committed height stays readable and provable. A batch of writes is applied
//! in one recursive pass over the key hashes sorted and grouped by nibble: every touched
//! node is read once and hashed once, and the 16 subtrees below the root are updated in
//! parallel with rayon.
//!
//! Encoding (internal to the store): a leaf is `0x00 || key_hash || value`; an internal node
//! is `0x01 || bitmap (u16 LE, bit i = child i non-empty) || non-empty child hashes`.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;
use rayon::prelude::*;
use verity_types::proof::{nibble, state_internal_hash, state_key_hash, state_leaf_hash, STATE_TREE_DEPTH_MAX};
use verity_types::{sha256, Hash};

use crate::error::StoreError;

/// Most decoded state-tree nodes kept in memory. A leaf entry costs about 100 bytes and an
/// internal one about 600, so the cache stays under about 160 MB however large the state
/// grows; everything beyond it is read from redb (whose own page cache is bounded by
/// [`crate::store::DB_CACHE_BYTES`]).
pub const STATE_NODE_CACHE_ENTRIES: usize = 1 << 18;

/// Batches below this many writes per subtree are updated on the calling thread.
const PARALLEL_WRITES_MIN: usize = 512;

/// A decoded node as the tree update needs it (leaf values are not kept in memory).
#[derive(Clone, Debug)]
pub(crate) enum CachedNode {
    Leaf { key_hash: Hash },
    Internal(Arc<[Hash; 16]>),
}

/// A decoded node with everything a proof or historical read needs.
pub(crate) enum FullNode {
    Leaf { key_hash: Hash, value: Vec<u8> },
    Internal(Box<[Hash; 16]>),
}

pub(crate) fn encode_leaf(key_hash: &Hash, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(33 + value.len());
    out.push(0);
    out.extend_from_slice(key_hash.as_bytes());
    out.extend_from_slice(value);
    out
}

pub(crate) fn encode_internal(children: &[Hash; 16]) -> Vec<u8> {
    let mut bitmap = 0u16;
    let mut out = Vec::with_capacity(3 + 32 * 16);
    out.extend_from_slice(&[1, 0, 0]);
    for (i, c) in children.iter().enumerate() {
        if *c != Hash::ZERO {
            bitmap |= 1 << i;
            out.extend_from_slice(c.as_bytes());
        }
    }
    out[1..3].copy_from_slice(&bitmap.to_le_bytes());
    out
}

pub(crate) fn decode_node(hash: &Hash, bytes: &[u8]) -> Result<FullNode, StoreError> {
    let bad = || StoreError::corrupt(format!("state node {hash} does not decode"));
    match bytes.split_first() {
        Some((0, rest)) if rest.len() >= 32 => {
            let mut key_hash = Hash::ZERO;
            key_hash.0.copy_from_slice(&rest[..32]);
            Ok(FullNode::Leaf { key_hash, value: rest[32..].to_vec() })
        }
        Some((1, rest)) if rest.len() >= 2 => {
            let bitmap = u16::from_le_bytes([rest[0], rest[1]]);
            let hashes = &rest[2..];
            if hashes.len() != 32 * bitmap.count_ones() as usize {
                return Err(bad());
            }
            let mut children = [Hash::ZERO; 16];
            let mut chunks = hashes.chunks_exact(32);
            for (i, child) in children.iter_mut().enumerate() {
                if bitmap & (1 << i) != 0 {
                    child.0.copy_from_slice(chunks.next().ok_or_else(bad)?);
                }
            }
            Ok(FullNode::Internal(Box::new(children)))
        }
        _ => Err(bad()),
    }
}

/// The bounded cache of decoded nodes, shared by all readers.
pub(crate) struct NodeCache(Mutex<LruCache<Hash, CachedNode>>);

impl NodeCache {
    pub(crate) fn new() -> Self {
        let cap = NonZeroUsize::new(STATE_NODE_CACHE_ENTRIES).expect("cache bound is positive");
        NodeCache(Mutex::new(LruCache::new(cap)))
    }

    pub(crate) fn get(&self, hash: &Hash) -> Option<CachedNode> {
        self.0.lock().get(hash).cloned()
    }

    pub(crate) fn insert_all(&self, nodes: Vec<(Hash, CachedNode)>) {
        let mut cache = self.0.lock();
        for (h, n) in nodes {
            cache.put(h, n);
        }
    }
}

/// Reads nodes of committed trees: cache first, then one redb read transaction.
pub(crate) struct NodeReader<'a> {
    pub(crate) table: redb::ReadOnlyTable<[u8; 32], &'static [u8]>,
    pub(crate) cache: &'a NodeCache,
}

impl NodeReader<'_> {
    pub(crate) fn full(&self, hash: &Hash) -> Result<FullNode, StoreError> {
        let bytes = self.table.get(hash.0)?.ok_or_else(|| StoreError::missing_node(hash))?;
        decode_node(hash, bytes.value())
    }

    fn cached(&self, hash: &Hash) -> Result<CachedNode, StoreError> {
        if let Some(n) = self.cache.get(hash) {
            return Ok(n);
        }
        let node = match self.full(hash)? {
            FullNode::Leaf { key_hash, .. } => CachedNode::Leaf { key_hash },
            FullNode::Internal(children) => CachedNode::Internal(Arc::new(*children)),
        };
        self.cache.insert_all(vec![(*hash, node.clone())]);
        Ok(node)
    }
}

/// One leaf taking part in an update: its key hash and leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Item {
    pub(crate) key_hash: Hash,
    pub(crate) leaf_hash: Hash,
}

/// New nodes produced by an update: encoded for the write, decoded for the cache.
#[derive(Default, Debug)]
pub(crate) struct NewNodes {
    pub(crate) encoded: Vec<(Hash, Vec<u8>)>,
    pub(crate) decoded: Vec<(Hash, CachedNode)>,
}

impl NewNodes {
    fn push_internal(&mut self, children: [Hash; 16]) -> Hash {
        let hash = state_internal_hash(&children);
        self.encoded.push((hash, encode_internal(&children)));
        self.decoded.push((hash, CachedNode::Internal(Arc::new(children))));
        hash
    }

    fn extend(&mut self, other: NewNodes) {
        self.encoded.extend(other.encoded);
        self.decoded.extend(other.decoded);
    }
}

/// Leaf nodes and sorted items for a batch of writes (hashed in parallel).
pub(crate) fn leaves_for(writes: &crate::StateWrites) -> (Vec<Item>, NewNodes) {
    let mut rows: Vec<(Item, Vec<u8>)> = writes
        .par_iter()
        .map(|(k, v)| {
            let key_hash = state_key_hash(k);
            let leaf_hash = state_leaf_hash(&key_hash, &sha256(v));
            (Item { key_hash, leaf_hash }, encode_leaf(&key_hash, v))
        })
        .collect();
    rows.par_sort_unstable_by(|a, b| a.0.key_hash.cmp(&b.0.key_hash));
    let mut nodes = NewNodes::default();
    let mut items = Vec::with_capacity(rows.len());
    for (item, bytes) in rows {
        nodes.encoded.push((item.leaf_hash, bytes));
        nodes.decoded.push((item.leaf_hash, CachedNode::Leaf { key_hash: item.key_hash }));
        items.push(item);
    }
    (items, nodes)
}

fn groups(items: &[Item], depth: usize) -> Vec<(usize, &[Item])> {
    let mut out = Vec::with_capacity(16);
    let mut rest = items;
    while let Some(first) = rest.first() {
        let n = nibble(&first.key_hash, depth);
        let len = rest.partition_point(|it| nibble(&it.key_hash, depth) <= n);
        let (group, tail) = rest.split_at(len);
        out.push((n, group));
        rest = tail;
    }
    out
}

fn check_depth(depth: usize) -> Result<(), StoreError> {
    if depth >= STATE_TREE_DEPTH_MAX {
        return Err(StoreError::corrupt("state tree is deeper than a key hash has nibbles"));
    }
    Ok(())
}

/// Builds a fresh subtree at `depth` over `items` (sorted, distinct, non-empty).
fn build(items: &[Item], depth: usize, out: &mut NewNodes) -> Result<Hash, StoreError> {
    if let [only] = items {
        return Ok(only.leaf_hash);
    }
    check_depth(depth)?;
    let mut children = [Hash::ZERO; 16];
    for (n, group) in groups(items, depth) {
        children[n] = build(group, depth + 1, out)?;
    }
    Ok(out.push_internal(children))
}

/// Applies `items` (sorted by key hash, distinct, non-empty, all sharing the first `depth`
/// nibbles) to the subtree rooted at `node`, returning the new subtree root.
pub(crate) fn update(
    reader: &NodeReader<'_>,
    node: Hash,
    depth: usize,
    items: &[Item],
    out: &mut NewNodes,
) -> Result<Hash, StoreError> {
    if node == Hash::ZERO {
        return build(items, depth, out);
    }
    match reader.cached(&node)? {
        CachedNode::Leaf { key_hash } => {
            if items.binary_search_by(|it| it.key_hash.cmp(&key_hash)).is_ok() {
                build(items, depth, out)
            } else {
                // Another key sits here: it moves down next to the new ones, unchanged.
                let mut merged = items.to_vec();
                let at = merged.partition_point(|it| it.key_hash < key_hash);
                merged.insert(at, Item { key_hash, leaf_hash: node });
                build(&merged, depth, out)
            }
        }
        CachedNode::Internal(children) => {
            check_depth(depth)?;
            let mut new_children = *children;
            let grouped = groups(items, depth);
            if items.len() >= PARALLEL_WRITES_MIN && grouped.len() > 1 {
                let results: Vec<(usize, Hash, NewNodes)> = grouped
                    .into_par_iter()
                    .map(|(n, group)| {
                        let mut sub = NewNodes::default();
                        let h = update(reader, children[n], depth + 1, group, &mut sub)?;
                        Ok((n, h, sub))
                    })
                    .collect::<Result<_, StoreError>>()?;
                for (n, h, sub) in results {
                    new_children[n] = h;
                    out.extend(sub);
                }
            } else {
                for (n, group) in grouped {
                    new_children[n] = update(reader, children[n], depth + 1, group, out)?;
                }
            }
            Ok(out.push_internal(new_children))
        }
    }
}
