//! Builders of the actions tests send most, with plain strings for identifiers.

use verity_types::{Action, Burn, CreateAccount, EscrowLock, Mint, Role, Transfer};

use crate::{acc, asset, org, pk};

/// Creates account `name` in organisation `o` with `roles`, keyed by `name`'s
/// deterministic key.
pub fn create(name: &str, o: &str, roles: &[Role]) -> Action {
    Action::CreateAccount(CreateAccount {
        account: acc(name),
        public_key: pk(name),
        org: org(o),
        roles: roles.to_vec(),
    })
}

/// Transfers `amount` of asset `a` to `to`, without a memo.
pub fn transfer(to: &str, a: &str, amount: u128) -> Action {
    Action::Transfer(Transfer { to: acc(to), asset: asset(a), amount, memo: String::new() })
}

/// Mints `amount` of asset `a` for `to`.
pub fn mint(to: &str, a: &str, amount: u128) -> Action {
    Action::Mint(Mint { to: acc(to), asset: asset(a), amount })
}

/// Burns `amount` of the sender's asset `a`.
pub fn burn(a: &str, amount: u128) -> Action {
    Action::Burn(Burn { asset: asset(a), amount })
}

/// Locks `amount` of asset `a` in an escrow that `arbiter` settles (memo `job`).
pub fn lock(a: &str, amount: u128, arbiter: &str, refund_after_height: Option<u64>) -> Action {
    Action::EscrowLock(EscrowLock {
        asset: asset(a),
        amount,
        arbiter: acc(arbiter),
        refund_after_height,
        memo: "job".into(),
    })
}
