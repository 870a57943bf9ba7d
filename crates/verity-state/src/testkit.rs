//! Shared fixtures for the unit and property tests: a small genesis, deterministic
//! keys, and a `Chain` that executes blocks on a `MemState` and checks conservation
//! after every block.

use verity_types::keys::SecretKey;
use verity_types::{
    sha256, AccountId, Action, AssetId, Genesis, GenesisAccount, GenesisAsset, GenesisBalance, GenesisOrg, MintRule,
    OrgId, PublicKey, Receipt, Role, SignedTransaction, Transaction, TxStatus, Validator,
};

use crate::{execute_block, genesis_state, BlockContext, MemState};

pub const CHAIN: &str = "verity-test";

pub fn acc(s: &str) -> AccountId {
    AccountId::new(s).expect("test account id")
}

pub fn asset(s: &str) -> AssetId {
    AssetId::new(s).expect("test asset id")
}

pub fn org(s: &str) -> OrgId {
    OrgId::new(s).expect("test org id")
}

/// The deterministic key of a named account.
pub fn secret(name: &str) -> SecretKey {
    SecretKey::from_seed(sha256(name.as_bytes()).0)
}

pub fn pk(name: &str) -> PublicKey {
    secret(name).public_key()
}

/// Orgs `acme` (admin `admin`) and `beta` (admin `badmin`); asset `usd` minted by acme
/// up to 1_000_000, asset `gold` fixed; `admin` holds 1000 usd and 50 gold, `badmin`
/// holds 500 usd.
pub fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 0,
        orgs: vec![
            GenesisOrg {
                id: org("acme"),
                name: "Acme".into(),
                admins: vec![GenesisAccount { id: acc("admin"), public_key: pk("admin") }],
            },
            GenesisOrg {
                id: org("beta"),
                name: "Beta".into(),
                admins: vec![GenesisAccount { id: acc("badmin"), public_key: pk("badmin") }],
            },
        ],
        validators: vec![Validator { org: org("acme"), public_key: pk("validator"), power: 1 }],
        assets: vec![
            GenesisAsset {
                id: asset("usd"),
                mint: MintRule::Orgs { orgs: vec![org("acme")] },
                supply_cap: Some(1_000_000),
            },
            GenesisAsset { id: asset("gold"), mint: MintRule::Fixed, supply_cap: None },
        ],
        balances: vec![
            GenesisBalance { account: acc("admin"), asset: asset("usd"), amount: 1000 },
            GenesisBalance { account: acc("admin"), asset: asset("gold"), amount: 50 },
            GenesisBalance { account: acc("badmin"), asset: asset("usd"), amount: 500 },
        ],
        epoch_length: 0,
    }
}

/// Signs `action` from `sender` (with `sender`'s deterministic key) at `nonce`.
pub fn sign(sender: &str, nonce: u64, action: Action) -> SignedTransaction {
    sign_with(sender, &secret(sender), nonce, action)
}

pub fn sign_with(sender: &str, key: &SecretKey, nonce: u64, action: Action) -> SignedTransaction {
    Transaction { chain_id: CHAIN.into(), sender: acc(sender), nonce, action }.sign(key)
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
        let mut c = Chain::new();
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

pub fn create(name: &str, o: &str, roles: &[Role]) -> Action {
    Action::CreateAccount { account: acc(name), public_key: pk(name), org: org(o), roles: roles.to_vec() }
}

pub fn transfer(to: &str, a: &str, amount: u128) -> Action {
    Action::Transfer { to: acc(to), asset: asset(a), amount, memo: String::new() }
}

pub fn mint(to: &str, a: &str, amount: u128) -> Action {
    Action::Mint { to: acc(to), asset: asset(a), amount }
}

pub fn burn(a: &str, amount: u128) -> Action {
    Action::Burn { asset: asset(a), amount }
}

pub fn lock(a: &str, amount: u128, arbiter: &str, refund_after_height: Option<u64>) -> Action {
    Action::EscrowLock { asset: asset(a), amount, arbiter: acc(arbiter), refund_after_height, memo: "job".into() }
}
