//! The on-disk layout: every redb table and every storage key is defined here, once.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | genesis (borsh) / last committed height (u64 LE) |
//! | `headers` | height | borsh `(BlockHeader, Certificate)` |
//! | `txs` | log index | canonical transaction bytes |
//! | `receipts` | log index | borsh `Receipt` |
//! | `tx_index` | tx hash | log index |
//! | `state_roots` | height | state root |
//! | `log_nodes` | (level, index) | hash of the perfect log subtree over leaves `[index * 2^level, (index + 1) * 2^level)` |
//! | `state_nodes` | node hash | encoded state-tree node (content-addressed, never overwritten) |
//! | `state_flat` | state key | latest value |

use redb::TableDefinition;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
pub(crate) const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");
pub(crate) const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
pub(crate) const TX_INDEX: TableDefinition<[u8; 32], u64> = TableDefinition::new("tx_index");
pub(crate) const STATE_ROOTS: TableDefinition<u64, [u8; 32]> = TableDefinition::new("state_roots");
pub(crate) const LOG_NODES: TableDefinition<(u8, u64), [u8; 32]> = TableDefinition::new("log_nodes");
pub(crate) const STATE_NODES: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("state_nodes");
pub(crate) const STATE_FLAT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state_flat");

/// `meta` key of the genesis.
pub(crate) const META_GENESIS: &str = "genesis";
/// `meta` key of the last committed height.
pub(crate) const META_HEIGHT: &str = "height";

/// `log_nodes` key of the perfect subtree at `level` (0 = leaves) and position `index`.
pub(crate) fn log_node_key(level: u8, index: u64) -> (u8, u64) {
    (level, index)
}
