//! Property tests over random transaction sequences among a few accounts, including
//! invalid ones (unknown accounts and assets, wrong keys and nonces, overdrafts, zero
//! and huge amounts, settling escrows twice or without the right).

use std::collections::BTreeMap;

use proptest::prelude::*;
use verity_types::{
    sha256, Action, Burned, EscrowId, EscrowRefund, EscrowRelease, Event, Hash, Minted, Receipt, SignedTransaction,
};

use crate::testkit::*;

/// The fixture with funds spread over every known account.
fn start() -> MemState {
    let mut c = Chain::with_members();
    c.ok("admin", transfer("bob", "usd", 200));
    c.ok("badmin", transfer("carol", "usd", 200));
    c.ok("admin", transfer("alice", "gold", 20));
    c.ok("minnie", mint("minnie", "usd", 300));
    c.state
}
use crate::{execute_block, BlockContext, MemState};

const ACCOUNTS: [&str; 6] = ["admin", "alice", "bob", "minnie", "carol", "ghost"];
const ASSETS: [&str; 3] = ["usd", "gold", "eur"];

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        asset: usize,
        amount: u128,
    },
    Mint {
        from: usize,
        to: usize,
        asset: usize,
        amount: u128,
    },
    Burn {
        from: usize,
        asset: usize,
        amount: u128,
    },
    Lock {
        from: usize,
        arbiter: usize,
        asset: usize,
        amount: u128,
        refund: u8,
    },
    /// `by`: 0 = the escrow's arbiter, 1 = its depositor, 2 = `from`.
    Release {
        from: usize,
        by: u8,
        escrow: usize,
        exact: bool,
        to: (usize, usize),
        amounts: (u128, u128),
    },
    Refund {
        from: usize,
        by: u8,
        escrow: usize,
    },
    WrongKey {
        from: usize,
    },
    WrongNonce {
        from: usize,
        ahead: bool,
    },
}

fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![8 => 0u128..150, 1 => Just(u128::MAX), 1 => 1_000u128..2_000_000]
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly known accounts and the mintable asset, so that many actions succeed.
    let who = || prop_oneof![10 => 0usize..ACCOUNTS.len() - 1, 1 => Just(ACCOUNTS.len() - 1)];
    let what = || prop_oneof![6 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    let by = || prop_oneof![4 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)];
    prop_oneof![
        4 => (who(), who(), what(), amount()).prop_map(|(from, to, asset, amount)| Op::Transfer { from, to, asset, amount }),
        2 => (who(), who(), what(), amount()).prop_map(|(from, to, asset, amount)| Op::Mint { from, to, asset, amount }),
        2 => (who(), what(), amount()).prop_map(|(from, asset, amount)| Op::Burn { from, asset, amount }),
        3 => (who(), who(), what(), amount(), 0u8..3)
            .prop_map(|(from, arbiter, asset, amount, refund)| Op::Lock { from, arbiter, asset, amount, refund }),
        3 => (who(), by(), any::<usize>(), prop::bool::weighted(0.8), (who(), who()), (amount(), amount()))
            .prop_map(|(from, by, escrow, exact, to, amounts)| Op::Release { from, by, escrow, exact, to, amounts }),
        2 => (who(), by(), any::<usize>()).prop_map(|(from, by, escrow)| Op::Refund { from, by, escrow }),
        1 => who().prop_map(|from| Op::WrongKey { from }),
        1 => (who(), any::<bool>()).prop_map(|(from, ahead)| Op::WrongNonce { from, ahead }),
    ]
}

/// Signs the ops in order, tracking each sender's next nonce (an op whose preliminary
/// checks are meant to pass consumes it) and the escrows that earlier locks would open.
fn build(start: &MemState, ops: &[Op]) -> Vec<SignedTransaction> {
    let mut nonces: BTreeMap<&str, u64> = BTreeMap::new();
    // (escrow id, amount, arbiter, depositor) of every lock so far.
    let mut locks: Vec<(Hash, u128, &str, &str)> = Vec::new();
    let mut txs = Vec::new();
    for op in ops {
        let pick =
            |i: usize| locks.get(i % locks.len().max(1)).copied().unwrap_or((sha256(b"none"), 1, "bob", "alice"));
        let from = match op {
            Op::Release { from, by, escrow, .. } | Op::Refund { from, by, escrow } => match by {
                0 => pick(*escrow).2,
                1 => pick(*escrow).3,
                _ => ACCOUNTS[*from],
            },
            Op::Transfer { from, .. }
            | Op::Mint { from, .. }
            | Op::Burn { from, .. }
            | Op::Lock { from, .. }
            | Op::WrongKey { from }
            | Op::WrongNonce { from, .. } => ACCOUNTS[*from],
        };
        let nonce =
            *nonces.entry(from).or_insert_with(|| crate::account(start, &acc(from)).map(|a| a.nonce).unwrap_or(0));
        let action = match op {
            Op::Transfer { to, asset: a, amount, .. } => transfer(ACCOUNTS[*to], ASSETS[*a], *amount),
            Op::Mint { to, asset: a, amount, .. } => mint(ACCOUNTS[*to], ASSETS[*a], *amount),
            Op::Burn { asset: a, amount, .. } => burn(ASSETS[*a], *amount),
            Op::Lock { arbiter, asset: a, amount, refund, .. } => {
                let refund = [None, Some(0), Some(1_000_000)][*refund as usize];
                lock(ASSETS[*a], *amount, ACCOUNTS[*arbiter], refund)
            }
            Op::Release { escrow, exact, to, amounts, .. } => {
                let (hash, locked, _, _) = pick(*escrow);
                let splits = if *exact {
                    let half = locked / 2;
                    vec![(acc(ACCOUNTS[to.0]), half), (acc(ACCOUNTS[to.1]), locked - half)]
                } else {
                    vec![(acc(ACCOUNTS[to.0]), amounts.0), (acc(ACCOUNTS[to.1]), amounts.1)]
                };
                Action::EscrowRelease(EscrowRelease { escrow: EscrowId(hash), splits })
            }
            Op::Refund { escrow, .. } => Action::EscrowRefund(EscrowRefund { escrow: EscrowId(pick(*escrow).0) }),
            Op::WrongKey { .. } | Op::WrongNonce { .. } => transfer("bob", "usd", 1),
        };
        let tx = match op {
            Op::WrongKey { .. } => sign_with(from, &secret("intruder"), nonce, action),
            Op::WrongNonce { ahead, .. } => sign(from, if *ahead { nonce + 1 } else { nonce.wrapping_sub(1) }, action),
            _ => {
                if from != "ghost" {
                    nonces.insert(from, nonce + 1);
                }
                sign(from, nonce, action)
            }
        };
        if let Op::Lock { amount, arbiter, .. } = op {
            locks.push((tx.hash(), *amount, ACCOUNTS[*arbiter], from));
        }
        txs.push(tx);
    }
    txs
}

/// Executes `txs` cut into blocks of the given sizes; checks conservation after each
/// block and that supply moved exactly by the minted and burned amounts.
fn run(start: &MemState, txs: &[SignedTransaction], sizes: &[usize]) -> (MemState, Vec<Receipt>) {
    let mut state = start.clone();
    let mut receipts = Vec::new();
    let mut rest = txs;
    let mut height = 1;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().expect("cycle is endless")).clamp(1, rest.len());
        let (block, tail) = rest.split_at(n);
        let ctx = BlockContext { chain_id: CHAIN.into(), height, timestamp_ms: height * 1000 };
        let out = execute_block(&state, &ctx, block, 0);
        let mut supply_delta: BTreeMap<String, i128> = BTreeMap::new();
        for e in out.receipts.iter().flat_map(|r| &r.events) {
            match e {
                Event::Minted(Minted { asset, amount, .. }) => {
                    *supply_delta.entry(asset.to_string()).or_default() += i128::try_from(*amount).expect("small")
                }
                Event::Burned(Burned { asset, amount, .. }) => {
                    *supply_delta.entry(asset.to_string()).or_default() -= i128::try_from(*amount).expect("small")
                }
                _ => {}
            }
        }
        let before = state.clone();
        state.apply(out.writes);
        state.check_conservation().expect("conservation after every block");
        for a in ASSETS {
            let was = crate::asset_supply(&before, &asset(a)) as i128;
            let now = crate::asset_supply(&state, &asset(a)) as i128;
            assert_eq!(now - was, supply_delta.get(a).copied().unwrap_or(0), "supply of {a} moves only by mint/burn");
        }
        receipts.extend(out.receipts);
        rest = tail;
        height += 1;
    }
    (state, receipts)
}

/// What a receipt says independently of where its transaction landed (messages may
/// name the height, codes do not).
fn outcome(r: &Receipt) -> (Hash, verity_types::TxStatus, Option<String>, Vec<Event>) {
    (r.tx_hash, r.status.clone(), r.error.as_ref().map(|e| e.code.clone()), r.events.clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn conservation_holds(ops in prop::collection::vec(op(), 1..60), size in 1usize..12) {
        let start = start();
        let txs = build(&start, &ops);
        let (_, receipts) = run(&start, &txs, &[size]);
        prop_assert_eq!(receipts.len(), txs.len());
    }

    #[test]
    fn execution_is_deterministic(ops in prop::collection::vec(op(), 1..60)) {
        let start = start();
        let txs = build(&start, &ops);
        let ctx = BlockContext { chain_id: CHAIN.into(), height: 5, timestamp_ms: 5 };
        let a = execute_block(&start, &ctx, &txs, 42);
        let b = execute_block(&start.clone(), &ctx, &txs, 42);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn block_boundaries_do_not_matter(
        ops in prop::collection::vec(op(), 1..60),
        sizes_a in prop::collection::vec(1usize..20, 1..5),
        sizes_b in prop::collection::vec(1usize..20, 1..5),
    ) {
        let start = start();
        let txs = build(&start, &ops);
        let (state_a, receipts_a) = run(&start, &txs, &sizes_a);
        let (state_b, receipts_b) = run(&start, &txs, &sizes_b);
        let (one, receipts_one) = run(&start, &txs, &[txs.len()]);
        prop_assert_eq!(&state_a, &state_b);
        prop_assert_eq!(&state_a, &one);
        let a: Vec<_> = receipts_a.iter().map(outcome).collect();
        let b: Vec<_> = receipts_b.iter().map(outcome).collect();
        let o: Vec<_> = receipts_one.iter().map(outcome).collect();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &o);
    }
}

#[test]
fn random_sequences_reach_successes() {
    // Guard against a generator that only ever produces failures: a fixed sequence of
    // mostly valid ops must succeed in every action kind.
    let start = start();
    let ops = vec![
        Op::Transfer { from: 1, to: 2, asset: 0, amount: 10 },
        Op::Mint { from: 3, to: 1, asset: 0, amount: 10 },
        Op::Burn { from: 1, asset: 0, amount: 5 },
        Op::Lock { from: 1, arbiter: 2, asset: 0, amount: 20, refund: 1 },
        Op::Release { from: 0, by: 0, escrow: 0, exact: true, to: (4, 3), amounts: (0, 0) },
        Op::Lock { from: 1, arbiter: 2, asset: 0, amount: 7, refund: 1 },
        Op::Refund { from: 0, by: 1, escrow: 1 },
    ];
    let txs = build(&start, &ops);
    let (state, receipts) = run(&start, &txs, &[2]);
    for r in &receipts {
        assert_eq!(r.error, None);
    }
    let usd = |s: &MemState, a: &str| crate::balance(s, &acc(a), &asset("usd"));
    assert_eq!(usd(&state, "carol"), usd(&start, "carol") + 10);
    assert_eq!(usd(&state, "minnie"), usd(&start, "minnie") + 10);
    assert_eq!(usd(&state, "alice"), usd(&start, "alice") - 10 + 10 - 5 - 20);
}
