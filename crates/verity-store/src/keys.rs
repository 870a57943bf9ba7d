//! The on-disk layout: every redb table and every storage key is defined here, once.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | genesis (borsh) / last committed height (u64 LE) |
//! | `headers` | height | borsh `(BlockHeader, Certificate)` |
//! | `txs` | log index | transaction length (u32 LE), canonical transaction bytes, borsh `Receipt` |
//! | `tx_index` | tx hash | log index |
//! | `state_roots` | height | root reference: hash, version (u64 BE), depth (u8) |
//! | `log_nodes` | (level, index) | hash of the perfect log subtree over leaves `[index * 2^level, (index + 1) * 2^level)` |
//! | `state_nodes` | version, depth, path (see `tree`) | encoded state-tree node (written once, never changed) |
//! | `state_flat` | state key | latest value |

use redb::TableDefinition;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
pub(crate) const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");
// Fixed-size keys and values are stored as byte slices: redb compares and copies `[u8; N]`
// element by element, which showed up in profiles; slices are compared with memcmp.
pub(crate) const TX_INDEX: TableDefinition<&[u8], u64> = TableDefinition::new("tx_index");
pub(crate) const STATE_ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("state_roots");
pub(crate) const LOG_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("log_nodes");
pub(crate) const STATE_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state_nodes");
pub(crate) const STATE_FLAT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state_flat");

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

/// `txs` value: the transaction's canonical bytes followed by its receipt, so a lookup by
/// hash needs one index read and one row read.
pub(crate) fn tx_row(tx_bytes: &[u8], receipt_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + tx_bytes.len() + receipt_bytes.len());
    out.extend_from_slice(&(tx_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(tx_bytes);
    out.extend_from_slice(receipt_bytes);
    out
}

/// Splits a `txs` value into transaction bytes and receipt bytes.
pub(crate) fn split_tx_row(row: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(row.get(..4)?.try_into().ok()?) as usize;
    let rest = &row[4..];
    (len <= rest.len()).then(|| rest.split_at(len))
}
