//! A Byzantine leader's padded blocks: a block whose header is exactly what executing
//! its transactions gives, but which carries transactions no valid block carries
//! (another chain's, an unknown sender's, a committed one re-included, a nonce
//! repeated). Validators refuse to vote for it; an honest block built the same way is
//! accepted, so the refusal is the rule, not the header.

use std::sync::Arc;

use verity_bft::ledger::Ledger;
use verity_consensus::{BlockProducer, Finalizer, SoloFinalizer};
use verity_store::Store;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, Action, AssetId, Block, Burn, Genesis, SignedTransaction, Transaction};

const CHAIN: &str = "junk";

fn key(name: &str) -> SecretKey {
    verity_testkit::secret(name)
}

fn genesis() -> Genesis {
    verity_testkit::one_org(CHAIN)
}

fn burn(chain: &str, sender: &str, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: chain.into(),
        sender: AccountId::new(sender).expect("id"),
        nonce,
        action: Action::Burn(Burn { asset: AssetId::new("usd").expect("asset"), amount: 1 }),
    }
    .sign(&key(sender))
}

/// A store at genesis, or after one committed block of `first`.
fn store(dir: &std::path::Path, first: Option<&[SignedTransaction]>) -> Arc<Store> {
    let g = genesis();
    let store = Arc::new(Store::open(dir).expect("open"));
    store.init_genesis(&g, &verity_state::genesis_state(&g).expect("genesis")).expect("init");
    if let Some(txs) = first {
        let mut finalizer = SoloFinalizer::new(key("validator"), &g.validator_set()).expect("validator");
        let producer = BlockProducer::new(store.clone(), finalizer.index()).expect("producer");
        let p = producer.propose(txs.to_vec(), 10).expect("proposal");
        let cert = finalizer.finalize(&p.block.header).expect("signs");
        producer.commit(p, cert).expect("commit");
    }
    store
}

/// The block a leader would propose with exactly `txs`, its header computed by
/// executing them (as every validator re-executes), on a scratch copy of the chain.
fn leader_block(committed: Option<&[SignedTransaction]>, txs: Vec<SignedTransaction>) -> Block {
    let scratch = tempfile::tempdir().expect("tempdir");
    let s = store(&scratch.path().join("s"), committed);
    let producer = BlockProducer::new(s, 0).expect("producer");
    producer.propose(txs, 20).expect("proposal").block
}

#[test]
fn blocks_padded_with_inadmissible_transactions_are_refused() {
    let first = vec![burn(CHAIN, "admin", 0)];
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::new(store(&dir.path().join("v"), Some(&first))).expect("ledger");

    let honest = leader_block(Some(&first), vec![burn(CHAIN, "admin", 1)]);
    ledger.verify(&[], &honest, 0, None).expect("an honest block built the same way is valid");

    let cases: Vec<(&str, Vec<SignedTransaction>)> = vec![
        ("another chain's transaction", vec![burn("other-chain", "admin", 1)]),
        ("an unknown sender", vec![burn(CHAIN, "nobody", 0)]),
        ("a committed transaction re-included", vec![first[0].clone(), burn(CHAIN, "admin", 1)]),
        ("a nonce repeated in the block", vec![burn(CHAIN, "admin", 1), burn(CHAIN, "admin", 1)]),
        ("a key that is not the sender's", vec![burn(CHAIN, "admin", 1).tx.sign(&key("mallory"))]),
    ];
    for (what, txs) in cases {
        let block = leader_block(Some(&first), txs);
        let err = ledger.verify(&[], &block, 0, None).expect_err(what).to_string();
        assert!(err.contains("cannot be in a block"), "{what}: {err}");
    }
}
