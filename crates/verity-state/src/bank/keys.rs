//! State keys of the bank module. Identifiers never contain `/`, so every key is
//! unambiguous and readable (`bank/balance/alice/usd`).

use verity_types::limits::{ID_BYTES_MAX, STATE_KEY_BYTES_MAX};
use verity_types::{AccountId, AssetId, EscrowId};

/// Prefix of asset records ([`crate::bank::AssetInfo`]).
pub const ASSET_PREFIX: &[u8] = b"bank/asset/";
/// Prefix of total supplies (borsh `u128`).
pub const SUPPLY_PREFIX: &[u8] = b"bank/supply/";
/// Prefix of balances (borsh `u128`), `bank/balance/<account>/<asset>`.
pub const BALANCE_PREFIX: &[u8] = b"bank/balance/";
/// Prefix of the sorted list of assets an account has ever held (borsh `Vec<AssetId>`),
/// so that balances can be listed with point reads.
pub const HOLDINGS_PREFIX: &[u8] = b"bank/holdings/";
/// Prefix of escrow records ([`crate::bank::Escrow`]), keyed by the hex of the id.
pub const ESCROW_PREFIX: &[u8] = b"bank/escrow/";

// The longest key is a balance key: two identifiers and a separator.
const _: () = assert!(BALANCE_PREFIX.len() + 2 * ID_BYTES_MAX < STATE_KEY_BYTES_MAX);
const _: () = assert!(ESCROW_PREFIX.len() + 64 <= STATE_KEY_BYTES_MAX);

/// Key of an asset record.
pub fn asset(id: &AssetId) -> Vec<u8> {
    [ASSET_PREFIX, id.as_str().as_bytes()].concat()
}

/// Key of an asset's total supply.
pub fn supply(id: &AssetId) -> Vec<u8> {
    [SUPPLY_PREFIX, id.as_str().as_bytes()].concat()
}

/// Key of an account's balance of one asset.
pub fn balance(account: &AccountId, asset: &AssetId) -> Vec<u8> {
    [BALANCE_PREFIX, account.as_str().as_bytes(), b"/", asset.as_str().as_bytes()].concat()
}

/// Key of the list of assets an account has ever held.
pub fn holdings(account: &AccountId) -> Vec<u8> {
    [HOLDINGS_PREFIX, account.as_str().as_bytes()].concat()
}

/// Key of an escrow record.
pub fn escrow(id: &EscrowId) -> Vec<u8> {
    [ESCROW_PREFIX, id.0.to_hex().as_bytes()].concat()
}
