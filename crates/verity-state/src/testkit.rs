//! Shared fixtures for the unit and property tests: a small genesis, deterministic
//! keys, and a `Chain` that executes blocks on a `MemState` and checks conservation
//! after every block.

use verity_testkit::GenesisBuilder;
use verity_types::keys::SecretKey;
use verity_types::{Action, Genesis, MintRule, Receipt, Role, SignedTransaction, TxStatus};

pub use verity_testkit::actions::*;
pub use verity_testkit::{acc, asset, org, pk, secret};

use crate::{execute_block, genesis_state, BlockContext, MemState};

pub const CHAIN: &str = "verity-test";

/// Orgs `acme` (admin `admin`) and `beta` (admin `badmin`); asset `usd` minted by acme
/// up to 1_000_000, asset `gold` fixed; `admin` holds 1000 usd and 50 gold, `badmin`
/// holds 500 usd.
pub fn genesis() -> Genesis {
    GenesisBuilder::new(CHAIN)
        .org("acme", "Acme", &["admin"])
        .org("beta", "Beta", &["badmin"])
        .validator("acme", "validator")
        .asset("usd", MintRule::Orgs { orgs: vec![org("acme")] }, Some(1_000_000))
        .asset("gold", MintRule::Fixed, None)
        .balance("admin", "usd", 1000)
        .balance("admin", "gold", 50)
        .balance("badmin", "usd", 500)
        .build()
}

/// Signs `action` from `sender` (with `sender`'s deterministic key) at `nonce`.
pub fn sign(sender: &str, nonce: u64, action: Action) -> SignedTransaction {
    verity_testkit::sign(CHAIN, sender, nonce, action)
}

pub fn sign_with(sender: &str, key: &SecretKey, nonce: u64, action: Action) -> SignedTransaction {
    verity_testkit::sign_with(CHAIN, sender, key, nonce, action)
}

/// A chain on a `MemState`.
pub struct Chain {
    pub genesis: Genesis,
    pub state: MemState,
    pub height: u64,
    pub log_size: u64,
    /// Added to every later block's timestamp (`height * 1000` ms): see [`Chain::wait_ms`].
    pub clock_skip_ms: u64,
}

impl Chain {
    pub fn new() -> Self {
        Chain::from_genesis(genesis())
    }

    /// A chain from another genesis (its chain id must be [`CHAIN`]).
    pub fn from_genesis(genesis: Genesis) -> Self {
        let state = MemState::from(genesis_state(&genesis).expect("test genesis is valid"));
        state.check_conservation().expect("genesis conserves");
        Chain { genesis, state, height: 0, log_size: 0, clock_skip_ms: 0 }
    }

    /// Fixture plus accounts `alice`, `bob` (acme members), `minnie` (acme minter and
    /// member) and `carol` (beta member), with `alice` holding 100 usd.
    pub fn with_members() -> Self {
        Chain::with_members_on(genesis())
    }

    /// [`Chain::with_members`] on another genesis that has the fixture's organisations,
    /// admins and assets.
    pub fn with_members_on(genesis: Genesis) -> Self {
        let mut c = Chain::from_genesis(genesis);
        c.ok("admin", create("alice", "acme", &[Role::Member]));
        c.ok("admin", create("bob", "acme", &[Role::Member]));
        c.ok("admin", create("minnie", "acme", &[Role::Minter, Role::Member]));
        c.ok("badmin", create("carol", "beta", &[Role::Member]));
        c.ok("admin", transfer("alice", "usd", 100));
        c
    }

    /// Lets `ms` of block time pass before the next block (blocks are a second apart).
    pub fn wait_ms(&mut self, ms: u64) {
        self.clock_skip_ms += ms;
    }

    /// The timestamp the next block will carry.
    pub fn next_time_ms(&self) -> u64 {
        (self.height + 1) * 1000 + self.clock_skip_ms
    }

    pub fn next_nonce(&self, sender: &str) -> u64 {
        crate::account(&self.state, &acc(sender)).map(|a| a.nonce).unwrap_or(0)
    }

    /// Executes one block, applies it, checks conservation, returns the receipts.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> Vec<Receipt> {
        self.height += 1;
        let ctx = BlockContext {
            chain_id: CHAIN.into(),
            height: self.height,
            timestamp_ms: self.height * 1000 + self.clock_skip_ms,
        };
        let out = execute_block(&self.state, &ctx, txs, self.log_size);
        self.log_size += txs.len() as u64;
        self.state.apply(out.writes);
        self.state.check_conservation().expect("conservation after every block");
        out.receipts
    }

    /// Executes `action` from `sender` at its next nonce in a block of its own.
    pub fn exec(&mut self, sender: &str, action: Action) -> Receipt {
        let tx = sign(sender, self.next_nonce(sender), action);
        self.block(&[tx]).pop().expect("one receipt")
    }

    pub fn ok(&mut self, sender: &str, action: Action) -> Receipt {
        let r = self.exec(sender, action.clone());
        assert_eq!(r.status, TxStatus::Success, "{sender} {action:?}: {:?}", r.error);
        r
    }

    /// Expects the action to fail with `code` and to change nothing but the sender's nonce.
    pub fn fails(&mut self, sender: &str, action: Action, code: &str) -> Receipt {
        let before = self.state.clone();
        let r = self.exec(sender, action.clone());
        assert_eq!(r.status, TxStatus::Failed, "{sender} {action:?} should fail with {code}");
        let err = r.error.clone().expect("failed receipts carry an error");
        assert_eq!(err.code, code, "{sender} {action:?}: {}", err.message);
        assert!(r.events.is_empty());
        assert_only_nonce_changed(&before, &self.state, sender);
        r
    }

    pub fn balance(&self, account: &str, a: &str) -> u128 {
        crate::balance(&self.state, &acc(account), &asset(a))
    }
}

/// Asserts `after` differs from `before` only in `sender`'s nonce, which went up by one.
pub fn assert_only_nonce_changed(before: &MemState, after: &MemState, sender: &str) {
    let key = crate::keys::account(&acc(sender));
    let mut b = before.clone();
    let mut a = after.clone();
    let old = crate::account(&b, &acc(sender)).expect("sender exists");
    let new = crate::account(&a, &acc(sender)).expect("sender exists");
    assert_eq!(new.nonce, old.nonce + 1, "nonce consumed");
    assert_eq!(crate::Account { nonce: old.nonce, ..new }, old, "only the nonce of the sender changed");
    b.0.remove(&key);
    a.0.remove(&key);
    assert_eq!(a, b, "a failed action changes nothing but the nonce");
}
