//! Named bounds on everything the ledger accepts. Relationships between them are checked
//! at compile time at the bottom of this file.

/// Largest encoded signed transaction accepted anywhere.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 10_000;
/// Longest identifier (account, org, asset) in bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Most roles one account can hold.
pub const ROLES_PER_ACCOUNT_MAX: usize = 32;
/// Most recipients in one escrow release split.
pub const ESCROW_SPLITS_MAX: usize = 64;
/// Longest memo or free-text reason in an action.
pub const MEMO_BYTES_MAX: usize = 256;
/// Most transactions in one HTTP batch submission.
pub const BATCH_TXS_MAX: usize = 4_096;
/// Largest HTTP request body the node reads.
pub const REQUEST_BYTES_MAX: usize = 2 * BATCH_TXS_MAX * 2 * 1024 + 1024 * 1024;
/// Most organisations or validators in a genesis file.
pub const GENESIS_ENTRIES_MAX: usize = 1_024;
/// Longest state key.
pub const STATE_KEY_BYTES_MAX: usize = 256;
/// Most siblings in an RFC 6962 proof (a log of up to 2^64 leaves).
pub const LOG_PROOF_HASHES_MAX: usize = 64;
/// Most levels in a state proof (a 16-ary tree over 256-bit key hashes).
pub const STATE_PROOF_LEVELS_MAX: usize = 64;

const _: () = assert!(BLOCK_TXS_MAX >= BATCH_TXS_MAX);
const _: () = assert!(REQUEST_BYTES_MAX >= 2 * TX_BYTES_MAX);
const _: () = assert!(MEMO_BYTES_MAX < TX_BYTES_MAX);
