//! The replicated ledger's pipeline: a leader builds each block on a chain of notarized
//! blocks that are not final yet, another validator verifies each on that chain, and
//! both commit them in order, each block committing the state prepared when it was
//! executed on its uncommitted parent. A chain that conflicts with a committed block is
//! refused, and a block cannot commit before its parent.

use std::collections::HashSet;
use std::sync::Arc;

use verity_bft::ledger::{Ledger, LedgerError, NextNonce, TxSource};
use verity_consensus::{Finalizer, SoloFinalizer};
use verity_store::Store;
use verity_types::{
    AccountId, Action, AssetId, Block, Burn, Certificate, Genesis, Hash, SignedTransaction, Transaction,
};

const CHAIN: &str = "pipeline";

fn genesis() -> Genesis {
    verity_testkit::one_org(CHAIN)
}

fn burn(nonce: u64, amount: u128) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN.into(),
        sender: AccountId::new("admin").expect("id"),
        nonce,
        action: Action::Burn(Burn { asset: AssetId::new("usd").expect("asset"), amount }),
    }
    .sign(&verity_testkit::secret("admin"))
}

fn ledger(dir: &std::path::Path) -> Ledger {
    let g = genesis();
    let store = Arc::new(Store::open(dir).expect("open"));
    store.init_genesis(&g, &verity_state::genesis_state(&g).expect("genesis")).expect("init");
    Ledger::new(store).expect("ledger")
}

/// Offers exactly its transactions, less those already in the chain.
struct Offer(Vec<SignedTransaction>);

impl TxSource for Offer {
    fn batch(&self, max: usize, exclude: &HashSet<Hash>, _next: NextNonce<'_>) -> Vec<SignedTransaction> {
        self.0.iter().filter(|t| !exclude.contains(&t.hash())).take(max).cloned().collect()
    }
    fn committed(&self, _hashes: &[Hash]) {}
}

fn certify(block: &Block) -> Certificate {
    let mut f = SoloFinalizer::new(verity_testkit::secret("validator"), &genesis().validator_set()).expect("validator");
    f.finalize(&block.header).expect("signs")
}

#[test]
fn blocks_built_and_verified_on_an_uncommitted_chain_commit_in_order() {
    let (da, db) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (leader, follower) = (ledger(da.path()), ledger(db.path()));
    // Three blocks, each built on the ones before it, none committed yet.
    let mut chain: Vec<Arc<Block>> = Vec::new();
    for n in 0..3u64 {
        let offer = Offer(vec![burn(2 * n, 1), burn(2 * n + 1, 2)]);
        let block = leader.build_from(&chain, &offer, 100, 1_000 + n, 0).expect("builds on the uncommitted chain");
        assert_eq!((block.header.height, block.txs.len()), (n + 1, 2));
        follower.verify(&chain, &block, 0, None).expect("the follower computes the same header");
        chain.push(Arc::new(block));
    }
    assert_eq!(leader.tip().expect("tip").0, 0, "nothing committed while building");
    // Not before its parent.
    let early = follower.commit(&chain[1], &certify(&chain[1]));
    assert!(matches!(early, Err(LedgerError::Invalid(_))), "{early:?}");
    for b in &chain {
        let cert = certify(b);
        for l in [&leader, &follower] {
            let receipts = l.commit(b, &cert).expect("commits the state prepared on its parent");
            assert_eq!(receipts.len(), 2);
        }
    }
    let last = &chain[2].header;
    for l in [&leader, &follower] {
        assert_eq!(l.tip().expect("tip"), (3, last.hash()));
        assert_eq!(l.store().state_root(), last.state_root);
        assert_eq!(l.store().log_root(), last.log_root);
    }
    // Redelivery of a committed block changes nothing.
    assert!(leader.commit(&chain[0], &certify(&chain[0])).expect("redelivered").is_empty());
}

#[test]
fn a_chain_that_conflicts_with_a_committed_block_is_a_fork() {
    let (da, db) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (a, b) = (ledger(da.path()), ledger(db.path()));
    // Two leaders build different blocks at height 1; a child is built on a's.
    let ours = Arc::new(a.build_from(&[], &Offer(vec![burn(0, 1)]), 10, 1_000, 0).expect("builds"));
    let theirs = b.build_from(&[], &Offer(vec![burn(0, 5)]), 10, 1_000, 0).expect("builds");
    let child = a.build_from(std::slice::from_ref(&ours), &Offer(vec![burn(1, 1)]), 10, 1_001, 0).expect("child");
    // The other block is finalized and committed: the child's chain is a fork.
    b.verify(&[], &ours, 0, None).expect("valid on its own");
    b.commit(&theirs, &certify(&theirs)).expect("commits");
    let refused = b.verify(std::slice::from_ref(&ours), &child, 0, None);
    assert!(matches!(refused, Err(LedgerError::Fork { height: 1 })), "{refused:?}");
    let refused = b.commit(&child, &certify(&child));
    assert!(matches!(refused, Err(LedgerError::Invalid(_))), "{refused:?}");
    assert_eq!(b.tip().expect("tip"), (1, theirs.header.hash()));
}
