//! The on-disk layout: every redb table and every storage key is defined here, once.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | genesis (borsh) / last committed height (u64 LE) |
//! | `headers` | height | borsh `(BlockHeader, Certificate)` |
//! | `txs` | log index of the chunk's first transaction | a chunk of up to [`TX_CHUNK`] consecutive transactions of one block (see [`tx_chunk`]) |
//! | `state_roots` | height | root reference: hash, version (u64 BE), depth (u8) |
//! | `log_leaves` | leaf index / [`LOG_CHUNK_LEAVES`] | the leaf hashes of that aligned run of leaves, concatenated (the last row may be partial and grows) |
//! | `log_nodes` | (level, index), level >= [`LOG_CHUNK_LEVEL`] | hash of the perfect log subtree over leaves `[index * 2^level, (index + 1) * 2^level)` |
//! | `state_nodes` | version, depth, path (see `tree`) | encoded state-tree node (written once, never changed) |
//!
//! Per-transaction and per-leaf data is packed into few large rows, because the cost of a
//! redb commit follows the number of rows and B-tree pages a block touches, not its bytes:
//! a block writes `txs / 256` transaction chunks and leaf chunks, and `txs / 256` log nodes,
//! instead of one row per transaction and two per log leaf. Log subtrees below level
//! [`LOG_CHUNK_LEVEL`] are recomputed from one leaf chunk (at most 255 hashes). The hash
//! index (in its own files, written off the commit path: see `txindex`) keeps one short record per transaction (an 8-byte hash prefix and the log index, so
//! prefix collisions are harmless: a lookup checks each candidate's receipt).

use redb::TableDefinition;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
pub(crate) const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");
// Fixed-size keys and values are stored as byte slices: redb compares and copies `[u8; N]`
// element by element, which showed up in profiles; slices are compared with memcmp.
pub(crate) const STATE_ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("state_roots");
pub(crate) const LOG_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("log_nodes");
pub(crate) const LOG_LEAVES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_leaves");

/// Most transactions in one `txs` row; a block's transactions start a new row.
pub(crate) const TX_CHUNK: usize = 256;
/// Log level of one `log_leaves` row: it holds `2^LOG_CHUNK_LEVEL` leaf hashes, and only
/// subtrees at this level or above are stored in `log_nodes`.
pub(crate) const LOG_CHUNK_LEVEL: u8 = 8;
/// Leaf hashes per `log_leaves` row.
pub(crate) const LOG_CHUNK_LEAVES: u64 = 1 << LOG_CHUNK_LEVEL;

/// Hash-index record (in the index runs, see `txindex`) of the transaction `hash` at `log_index`.
pub(crate) fn tx_index_key(hash: &[u8; 32], log_index: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&hash[..8]);
    key[8..].copy_from_slice(&log_index.to_be_bytes());
    key
}
pub(crate) const STATE_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state_nodes");

/// `meta` key of the genesis.
pub(crate) const META_GENESIS: &str = "genesis";
/// `meta` key of the last committed height.
pub(crate) const META_HEIGHT: &str = "height";

/// `log_nodes` key of the perfect subtree at `level` (0 = leaves) and position `index`:
/// level then index, big-endian, so each level is one ordered run.
pub(crate) fn log_node_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// `txs` row of one transaction: its length (u32 LE), canonical bytes, then the borsh
/// receipt, so a lookup by hash reads one index entry and one chunk.
pub(crate) fn tx_row(out: &mut Vec<u8>, tx_bytes: &[u8], receipt_bytes: &[u8]) {
    out.extend_from_slice(&(tx_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(tx_bytes);
    out.extend_from_slice(receipt_bytes);
}

/// Splits a transaction row into transaction bytes and receipt bytes.
pub(crate) fn split_tx_row(row: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(row.get(..4)?.try_into().ok()?) as usize;
    let rest = &row[4..];
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// `txs` value: `count` (u32 LE), `count + 1` row offsets (u32 LE, from the end of the
/// offset table), then the rows back to back.
pub(crate) fn tx_chunk(rows: &[Vec<u8>]) -> Vec<u8> {
    let data: usize = rows.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(4 + 4 * (rows.len() + 1) + data);
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    let mut at = 0u32;
    out.extend_from_slice(&at.to_le_bytes());
    for r in rows {
        at += r.len() as u32;
        out.extend_from_slice(&at.to_le_bytes());
    }
    for r in rows {
        out.extend_from_slice(r);
    }
    out
}

/// Number of rows of a `txs` chunk.
pub(crate) fn tx_chunk_len(chunk: &[u8]) -> Option<usize> {
    Some(u32::from_le_bytes(chunk.get(..4)?.try_into().ok()?) as usize)
}

/// Row `i` of a `txs` chunk.
pub(crate) fn tx_chunk_row(chunk: &[u8], i: usize) -> Option<&[u8]> {
    let count = tx_chunk_len(chunk)?;
    if i >= count {
        return None;
    }
    let offset = |j: usize| -> Option<usize> {
        Some(u32::from_le_bytes(chunk.get(4 + 4 * j..8 + 4 * j)?.try_into().ok()?) as usize)
    };
    let data = chunk.get(4 + 4 * (count + 1)..)?;
    data.get(offset(i)?..offset(i + 1)?)
}
