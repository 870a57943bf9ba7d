use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use verity_types::merkle::{self, leaf_hash};
use verity_types::proof::state_root as reference_state_root;
use verity_types::{AccountId, Action, AssetId, ProofError, PublicKey, Signature, Transaction, Transfer, TxStatus};

use super::*;

fn genesis() -> Genesis {
    verity_testkit::GenesisBuilder::new("verity-test").build()
}

fn tx(n: u64) -> SignedTransaction {
    SignedTransaction {
        tx: Transaction {
            chain_id: "verity-test".into(),
            sender: AccountId::new("alice").expect("id"),
            nonce: n,
            action: Action::Transfer(Transfer {
                to: AccountId::new("bob").expect("id"),
                asset: AssetId::new("usd").expect("id"),
                amount: 1,
                memo: String::new(),
            }),
        },
        public_key: PublicKey([7; 32]),
        signature: Signature([9; 64]),
    }
}

fn writes(pairs: &[(&str, &str)]) -> StateWrites {
    pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

/// A block whose header names the prepared roots, with receipts, ready to commit.
fn next_block(store: &Store, writes: StateWrites, txs: Vec<SignedTransaction>) -> (Prepared, Block, Vec<Receipt>) {
    let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
    let prepared = store.prepare(writes, &hashes).expect("prepare");
    let parent = match store.last_header().expect("header") {
        Some(h) => h.hash(),
        None => store.genesis().expect("read").expect("genesis").hash(),
    };
    block_for(prepared, store.height() + 1, parent, txs)
}

/// The block at `height` after `parent` whose header names `prepared`'s roots.
fn block_for(
    prepared: Prepared,
    height: u64,
    parent: Hash,
    txs: Vec<SignedTransaction>,
) -> (Prepared, Block, Vec<Receipt>) {
    let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
    let first = prepared.log_size - txs.len() as u64;
    let leaves: Vec<Hash> = hashes.iter().map(|h| leaf_hash(h.as_bytes())).collect();
    let header = BlockHeader {
        chain_id: "verity-test".into(),
        height,
        parent,
        timestamp_ms: height,
        proposer: 0,
        tx_count: txs.len() as u32,
        txs_root: merkle::root(&leaves),
        log_size: prepared.log_size,
        log_root: prepared.log_root,
        state_root: prepared.state_root,
        validator_set_hash: Hash::ZERO,
        receipts_root: None,
    };
    let receipts = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| Receipt {
            tx_hash: *h,
            height,
            index: i as u32,
            log_index: first + i as u64,
            status: TxStatus::Success,
            error: None,
            events: vec![],
        })
        .collect();
    (prepared, Block { header, txs }, receipts)
}

fn commit_block(store: &Store, w: StateWrites, txs: Vec<SignedTransaction>) -> Block {
    let (prepared, block, receipts) = next_block(store, w, txs);
    store.commit(prepared, &block, &Certificate::embedded(vec![]), &receipts).expect("commit");
    block
}

fn open_fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    (dir, store)
}

#[test]
fn uninitialised_and_genesis() {
    let (_dir, store) = open_fresh();
    assert_eq!(store.genesis().expect("read"), None);
    assert_eq!(store.height(), 0);
    assert_eq!(store.log_root(), merkle::empty_root());
    assert!(matches!(store.prepare(StateWrites::new(), &[]), Err(StoreError::NotInitialised)));
    assert!(matches!(store.state_root_at(0), Err(StoreError::NotInitialised)));
    let state = writes(&[("a", "1"), ("b", "2")]);
    let root = store.init_genesis(&genesis(), &state).expect("init");
    assert_eq!(root, reference_state_root(&state));
    assert_eq!(store.state_root(), root);
    assert_eq!(store.genesis().expect("read"), Some(genesis()));
    assert!(matches!(store.init_genesis(&genesis(), &state), Err(StoreError::AlreadyInitialised)));
    assert_eq!(store.last_header().expect("read"), None);
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"1".to_vec()));
    assert_eq!(store.receipts(0).expect("read"), vec![]);
    assert!(matches!(store.receipts(1), Err(StoreError::UnknownHeight { height: 1, latest: 0 })));
    let too_long = vec![0u8; STATE_KEY_BYTES_MAX + 1];
    assert!(matches!(store.state_proof(&too_long, 0), Err(StoreError::KeyTooLong { .. })));
}

#[test]
fn empty_genesis_state_has_zero_root() {
    let (_dir, store) = open_fresh();
    assert_eq!(store.init_genesis(&genesis(), &StateWrites::new()).expect("init"), Hash::ZERO);
    let p = store.state_proof(b"x", 0).expect("proof");
    p.verify(&Hash::ZERO).expect("non-membership in the empty tree");
    commit_block(&store, writes(&[("x", "1")]), vec![]);
    let p = store.state_proof(b"x", 1).expect("proof");
    assert_eq!(p.value, Some(b"1".to_vec()));
    p.verify(&store.state_root()).expect("verifies");
}

#[test]
fn log_roots_and_proofs_match_the_reference() {
    let (_dir, store) = open_fresh();
    store.init_genesis(&genesis(), &StateWrites::new()).expect("init");
    let mut leaves = Vec::new();
    let mut n = 0u64;
    for (b, count) in [1u64, 0, 3, 7, 1, 20, 2, 33].into_iter().enumerate() {
        let txs: Vec<_> = (0..count).map(|i| tx(n + i)).collect();
        n += count;
        leaves.extend(txs.iter().map(|t| leaf_hash(t.hash().as_bytes())));
        let w = writes(&[("counter", &b.to_string())]);
        let block = commit_block(&store, w, txs);
        assert_eq!(store.log_size(), leaves.len() as u64);
        assert_eq!(store.log_root(), merkle::root(&leaves));
        assert_eq!(block.header.log_root, store.log_root());
    }
    let size = leaves.len() as u64;
    for s in 0..=size {
        assert_eq!(store.log_root_at(s).expect("root"), merkle::root(&leaves[..s as usize]));
        for i in 0..s {
            let p = store.inclusion_proof(i, s).expect("proof");
            assert_eq!(p, merkle::inclusion_proof(&leaves, i, s).expect("reference"));
            p.verify(&leaves[i as usize], &merkle::root(&leaves[..s as usize])).expect("verifies");
        }
        for old in 0..=s {
            let p = store.consistency_proof(old, s).expect("proof");
            assert_eq!(p, merkle::consistency_proof(&leaves, old, s).expect("reference"));
            let old_root = store.log_root_at(old).expect("root");
            p.verify(&old_root, &store.log_root_at(s).expect("root")).expect("verifies");
        }
    }
    assert!(matches!(store.inclusion_proof(0, size + 1), Err(StoreError::TreeSizeTooLarge { .. })));
    assert!(matches!(store.inclusion_proof(size, size), Err(StoreError::Proof(ProofError::IndexOutOfRange { .. }))));
    assert!(matches!(store.consistency_proof(5, 4), Err(StoreError::Proof(ProofError::SizesOutOfOrder { .. }))));
    assert!(matches!(store.log_root_at(size + 1), Err(StoreError::TreeSizeTooLarge { .. })));
}

#[test]
fn blocks_txs_and_receipts_read_back() {
    let (_dir, store) = open_fresh();
    store.init_genesis(&genesis(), &StateWrites::new()).expect("init");
    let b1 = commit_block(&store, writes(&[("k", "v")]), vec![tx(0), tx(1)]);
    let b2 = commit_block(&store, StateWrites::new(), vec![tx(2)]);
    assert_eq!(store.height(), 2);
    assert_eq!(store.last_header().expect("read"), Some(b2.header.clone()));
    let (block, cert) = store.block(1).expect("read").expect("block 1");
    assert_eq!(block, b1);
    assert_eq!(cert, Certificate::embedded(vec![]));
    assert_eq!(store.header(2).expect("read").map(|(h, _)| h), Some(b2.header.clone()));
    assert_eq!(store.block(0).expect("read"), None);
    assert_eq!(store.block(3).expect("read"), None);
    let (t, r) = store.tx(&tx(2).hash()).expect("read").expect("tx 2");
    assert_eq!(t, tx(2));
    assert_eq!((r.height, r.index, r.log_index), (2, 0, 2));
    assert_eq!(store.tx(&Hash::ZERO).expect("read"), None);
    let rs = store.receipts(1).expect("read");
    assert_eq!(rs.iter().map(|r| r.tx_hash).collect::<Vec<_>>(), vec![tx(0).hash(), tx(1).hash()]);
}

#[test]
fn state_proofs_at_every_height() {
    let (_dir, store) = open_fresh();
    let g = writes(&[("a", "1"), ("b", "2")]);
    store.init_genesis(&genesis(), &g).expect("init");
    let blocks = [writes(&[("a", "10"), ("c", "3")]), writes(&[("b", "20")]), StateWrites::new()];
    let mut states = vec![g.clone()];
    for w in blocks {
        let mut next = states.last().expect("state").clone();
        next.extend(w.clone());
        states.push(next);
        commit_block(&store, w, vec![]);
    }
    for (h, state) in states.iter().enumerate() {
        let h = h as u64;
        let root = store.state_root_at(h).expect("root");
        assert_eq!(root, reference_state_root(state));
        for key in ["a", "b", "c", "d", "zz"] {
            let expected = state.get(key.as_bytes()).cloned();
            assert_eq!(store.get_state_at(key.as_bytes(), h).expect("read"), expected);
            let p = store.state_proof(key.as_bytes(), h).expect("proof");
            assert_eq!(p, verity_types::proof::state_proof(state, key.as_bytes()));
            assert_eq!(p.value, expected);
            p.verify(&root).expect("verifies");
            if h > 0 && store.state_root_at(h - 1).expect("root") != root {
                assert!(p.verify(&store.state_root_at(h - 1).expect("root")).is_err());
            }
        }
    }
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"10".to_vec()));
    assert_eq!(store.get_state(b"d").expect("read"), None);
    assert!(matches!(store.state_proof(b"a", 4), Err(StoreError::UnknownHeight { height: 4, latest: 3 })));
    assert!(matches!(store.get_state_at(b"a", 9), Err(StoreError::UnknownHeight { .. })));
}

#[test]
fn bad_commits_write_nothing() {
    let (_dir, store) = open_fresh();
    store.init_genesis(&genesis(), &writes(&[("a", "1")])).expect("init");
    let cert = Certificate::embedded(vec![]);
    let before = (store.height(), store.state_root(), store.log_root());

    let (prepared, mut block, receipts) = next_block(&store, writes(&[("a", "2")]), vec![tx(0)]);
    block.header.state_root = Hash::ZERO;
    assert!(matches!(store.commit(prepared, &block, &cert, &receipts), Err(StoreError::HeaderMismatch { .. })));

    let (prepared, mut block, receipts) = next_block(&store, writes(&[("a", "2")]), vec![tx(0)]);
    block.header.height = 5;
    assert!(matches!(store.commit(prepared, &block, &cert, &receipts), Err(StoreError::HeightMismatch { .. })));

    let (prepared, block, mut receipts) = next_block(&store, writes(&[("a", "2")]), vec![tx(0)]);
    receipts[0].log_index = 7;
    assert!(matches!(store.commit(prepared, &block, &cert, &receipts), Err(StoreError::BlockMismatch(_))));

    let (prepared, mut block, receipts) = next_block(&store, writes(&[("a", "2")]), vec![tx(0)]);
    block.txs[0] = tx(1);
    assert!(matches!(store.commit(prepared, &block, &cert, &receipts), Err(StoreError::BlockMismatch(_))));

    assert_eq!((store.height(), store.state_root(), store.log_root()), before);
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"1".to_vec()));
    assert_eq!(store.tx(&tx(0).hash()).expect("read"), None);

    // Two blocks prepared on the same tip: only the first can commit.
    let (p1, b1, r1) = next_block(&store, writes(&[("a", "2")]), vec![tx(0)]);
    let (p2, _, _) = next_block(&store, writes(&[("a", "3")]), vec![tx(1)]);
    store.commit(p1, &b1, &cert, &r1).expect("commit");
    let (_, mut b2, r2) = next_block(&store, StateWrites::new(), vec![tx(1)]);
    b2.header.state_root = p2.state_root;
    b2.header.log_root = p2.log_root;
    assert!(matches!(store.commit(p2, &b2, &cert, &r2), Err(StoreError::StalePrepared { .. })));
}

#[test]
fn reopen_restores_tip_roots_and_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (roots, log_root, proof, sproof) = {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &writes(&[("a", "1")])).expect("init");
        for b in 0..5u64 {
            let txs = (0..b + 1).map(|i| tx(b * 10 + i)).collect();
            commit_block(&store, writes(&[("a", &b.to_string()), (&format!("k{b}"), "x")]), txs);
        }
        // A block prepared but never committed must leave no trace.
        let _ = next_block(&store, writes(&[("a", "lost")]), vec![tx(999)]);
        let roots: Vec<Hash> = (0..=5).map(|h| store.state_root_at(h).expect("root")).collect();
        (roots, store.log_root(), store.inclusion_proof(3, 10).expect("proof"), store.state_proof(b"a", 2).expect("p"))
    };
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.height(), 5);
    assert_eq!(store.log_size(), 15);
    assert_eq!(store.log_root(), log_root);
    assert_eq!(store.state_root(), roots[5]);
    assert_eq!((0..=5).map(|h| store.state_root_at(h).expect("root")).collect::<Vec<_>>(), roots);
    assert_eq!(store.inclusion_proof(3, 10).expect("proof"), proof);
    assert_eq!(store.state_proof(b"a", 2).expect("proof"), sproof);
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"4".to_vec()));
    assert_eq!(store.tx(&tx(999).hash()).expect("read"), None);
    // The restored frontier keeps appending correctly.
    commit_block(&store, writes(&[("a", "5")]), vec![tx(100), tx(101)]);
    let leaves: Vec<Hash> = (1..=5u64)
        .flat_map(|b| (0..b).map(move |i| tx((b - 1) * 10 + i)))
        .chain([tx(100), tx(101)])
        .map(|t| leaf_hash(t.hash().as_bytes()))
        .collect();
    assert_eq!(store.log_root(), merkle::root(&leaves));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn incremental_root_equals_rebuild(
        genesis_keys in proptest::collection::btree_map(any::<u16>(), any::<u8>(), 0..40),
        batches in proptest::collection::vec(proptest::collection::btree_map(any::<u16>(), any::<u8>(), 0..60), 1..4),
        probe in any::<u16>(),
    ) {
        let to_writes = |m: &BTreeMap<u16, u8>| -> StateWrites {
            m.iter().map(|(k, v)| ((k % 700).to_be_bytes().to_vec(), vec![*v])).collect()
        };
        let (_dir, store) = open_fresh();
        let mut state = to_writes(&genesis_keys);
        store.init_genesis(&genesis(), &state).expect("init");
        prop_assert_eq!(store.state_root(), reference_state_root(&state));
        for b in &batches {
            let w = to_writes(b);
            state.extend(w.clone());
            commit_block(&store, w, vec![]);
            prop_assert_eq!(store.state_root(), reference_state_root(&state));
        }
        let key = (probe % 700).to_be_bytes();
        let p = store.state_proof(&key, store.height()).expect("proof");
        prop_assert_eq!(&p.value, &state.get(key.as_slice()).cloned());
        p.verify(&store.state_root()).expect("verifies");
    }
}

/// Per-block prepare + commit time for 5,000-transaction blocks (15,000 writes) over about
/// 100,000 keys. Run in release: `cargo test -p verity-store --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_block_prepare_commit() {
    const ACCOUNTS: u64 = 50_000;
    const TXS: u64 = 5_000;
    const BLOCKS: u64 = 12;
    let (_dir, store) = open_fresh();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut state = StateWrites::new();
    for a in 0..ACCOUNTS {
        state.insert(format!("acct/{a}").into_bytes(), 0u64.to_le_bytes().to_vec());
        state.insert(format!("bal/{a}/usd").into_bytes(), 1_000_000u128.to_le_bytes().to_vec());
    }
    let start = Instant::now();
    store.init_genesis(&genesis(), &state).expect("init");
    println!("genesis of {} keys: {:?}", state.len(), start.elapsed());
    let mut times = Vec::new();
    let mut n = 0u64;
    for b in 0..BLOCKS {
        let mut w = StateWrites::new();
        let txs: Vec<_> = (0..TXS).map(|i| tx(b * TXS + i)).collect();
        for _ in 0..TXS {
            let (from, to) = (next() % ACCOUNTS, next() % ACCOUNTS);
            n += 1;
            w.insert(format!("acct/{from}").into_bytes(), n.to_le_bytes().to_vec());
            w.insert(format!("bal/{from}/usd").into_bytes(), (n as u128).to_le_bytes().to_vec());
            w.insert(format!("bal/{to}/usd").into_bytes(), (n as u128 + 1).to_le_bytes().to_vec());
        }
        let writes_count = w.len();
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let t0 = Instant::now();
        let prepared = store.prepare(w, &hashes).expect("prepare");
        let t_prepare = t0.elapsed();
        let (_, mut block, receipts) = next_block(&store, StateWrites::new(), txs);
        block.header.state_root = prepared.state_root;
        let t1 = Instant::now();
        store.commit(prepared, &block, &Certificate::embedded(vec![]), &receipts).expect("commit");
        let t_commit = t1.elapsed();
        println!("block {b}: {writes_count} writes, prepare {t_prepare:?}, commit {t_commit:?}");
        times.push(t_prepare + t_commit);
    }
    times.sort();
    println!("prepare+commit per block: median {:?}, max {:?}", times[times.len() / 2], times[times.len() - 1]);
    // Baseline in the same process: the same rows written raw to redb (5,000 transactions,
    // ~14,000 random-key puts), one fsync'd transaction per block, no tree, no log.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = redb::Database::create(dir.path().join("baseline.redb")).expect("db");
    const RAW: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("raw");
    let mut base = Vec::new();
    for b in 0..BLOCKS {
        let t0 = Instant::now();
        let txn = db.begin_write().expect("txn");
        {
            let mut t = txn.open_table(RAW).expect("table");
            for i in 0..TXS {
                t.insert(format!("tx/{:012}", b * TXS + i).as_bytes(), tx(i).to_bytes().as_slice()).expect("put");
            }
            for _ in 0..14_000 {
                t.insert(format!("bal/{}/usd", next() % (2 * ACCOUNTS)).as_bytes(), [1u8; 16].as_slice()).expect("put");
            }
        }
        txn.commit().expect("commit");
        base.push(t0.elapsed());
    }
    base.sort();
    let median = base[base.len() / 2];
    println!(
        "baseline raw redb block: median {median:?}; store/baseline = {:.1}x",
        times[times.len() / 2].as_secs_f64() / median.as_secs_f64()
    );
    let start = Instant::now();
    for i in 0..1000 {
        let p = store.inclusion_proof(i * 7, store.log_size()).expect("proof");
        assert!(!p.path.is_empty());
    }
    println!("inclusion proof: {:?} each", start.elapsed() / 1000);
    let start = Instant::now();
    for i in 0..1000u64 {
        store.state_proof(format!("acct/{i}").as_bytes(), store.height()).expect("proof");
    }
    println!("state proof: {:?} each", start.elapsed() / 1000);
}

/// Blocks larger than a transaction chunk and a log leaf chunk, crossing chunk boundaries
/// at odd offsets: roots, proofs, reads and reopen all match the reference.
#[test]
fn packed_chunks_across_blocks_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let counts = [200u64, 100, 300, 1, 0, 600, 255, 257];
    let mut leaves = Vec::new();
    let mut all = Vec::new();
    {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &StateWrites::new()).expect("init");
        let mut n = 0u64;
        for (b, count) in counts.into_iter().enumerate() {
            let txs: Vec<_> = (0..count).map(|i| tx(n + i)).collect();
            n += count;
            leaves.extend(txs.iter().map(|t| leaf_hash(t.hash().as_bytes())));
            let block = commit_block(&store, writes(&[("counter", &b.to_string())]), txs.clone());
            assert_eq!(block.header.log_root, merkle::root(&leaves));
            let (read, _) = store.block(block.header.height).expect("read").expect("block");
            assert_eq!(read.txs, txs);
            let receipts = store.receipts(block.header.height).expect("receipts");
            assert_eq!(receipts.len(), txs.len());
            all.extend(txs);
        }
    }
    let store = Store::open(dir.path()).expect("reopen");
    let size = leaves.len() as u64;
    assert_eq!(store.log_root(), merkle::root(&leaves));
    for (i, t) in all.iter().enumerate().step_by(7) {
        let (read, receipt) = store.tx(&t.hash()).expect("tx").expect("present");
        assert_eq!(&read, t);
        assert_eq!(receipt.log_index, i as u64);
    }
    for s in (0..=size).step_by(37).chain([255, 256, 257, 511, 512, 513, size]) {
        assert_eq!(store.log_root_at(s).expect("root"), merkle::root(&leaves[..s as usize]));
        for i in (0..s).step_by(29).chain(s.checked_sub(1)) {
            let p = store.inclusion_proof(i, s).expect("proof");
            assert_eq!(p, merkle::inclusion_proof(&leaves, i, s).expect("reference"));
        }
        for old in (0..=s).step_by(53).chain([s]) {
            let p = store.consistency_proof(old, s).expect("proof");
            assert_eq!(p, merkle::consistency_proof(&leaves, old, s).expect("reference"));
        }
    }
    // The restored frontier and partial leaf chunk keep appending correctly.
    let more: Vec<_> = (0..300).map(|i| tx(1_000_000 + i)).collect();
    leaves.extend(more.iter().map(|t| leaf_hash(t.hash().as_bytes())));
    commit_block(&store, writes(&[("counter", "x")]), more);
    assert_eq!(store.log_root(), merkle::root(&leaves));
    let s = leaves.len() as u64;
    let p = store.inclusion_proof(s - 100, s).expect("proof");
    assert_eq!(p, merkle::inclusion_proof(&leaves, s - 100, s).expect("reference"));
}

/// Latest values are read through the tip's tree: after updates that move leaves down and
/// after a reopen (cold caches), every key reads its last value and absent keys read none.
#[test]
fn latest_values_through_the_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = std::collections::BTreeMap::new();
    {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &writes(&[("k0", "g")])).expect("init");
        expected.insert("k0".to_string(), "g".to_string());
        for b in 0..4u64 {
            let mut w = StateWrites::new();
            for i in (b * 300)..(b * 300 + 500) {
                let (k, v) = (format!("k{i}"), format!("v{b}-{i}"));
                w.insert(k.clone().into_bytes(), v.clone().into_bytes());
                expected.insert(k, v);
            }
            commit_block(&store, w, vec![tx(b)]);
            for (k, v) in expected.iter().step_by(13) {
                assert_eq!(store.get_state(k.as_bytes()).expect("read"), Some(v.clone().into_bytes()));
            }
        }
    }
    let store = Store::open(dir.path()).expect("reopen");
    for (k, v) in &expected {
        assert_eq!(store.get_state(k.as_bytes()).expect("read"), Some(v.clone().into_bytes()));
    }
    for i in 5000..5200 {
        assert_eq!(store.get_state(format!("k{i}").as_bytes()).expect("read"), None);
    }
}

#[test]
fn a_reader_never_sees_the_new_tip_with_an_old_cached_value() {
    // A block executed on the tip while the tip moves (block pipelining) reads through
    // the value cache: once a height is visible, every value it wrote must be too.
    let (_dir, store) = open_fresh();
    store.init_genesis(&genesis(), &writes(&[("z", "0")])).expect("genesis");
    let store = std::sync::Arc::new(store);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // More readers than cores, so the committing thread is sometimes preempted mid-commit.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !done.load(Ordering::Acquire) {
                    let height = store.height();
                    let value = store.get_state(b"z").expect("read").expect("z is set");
                    let seen: u64 = String::from_utf8(value).expect("utf8").parse().expect("number");
                    assert!(seen >= height, "height {height} is visible but z reads {seen}");
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for h in 1..=150u64 {
        // Many keys ahead of "z" in write order widen the window a wrong order would open.
        let mut w: StateWrites =
            (0..500u32).map(|i| (format!("k{i:05}").into_bytes(), h.to_string().into_bytes())).collect();
        w.insert(b"z".to_vec(), h.to_string().into_bytes());
        commit_block(&store, w, vec![tx(h)]);
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().expect("every reader saw consistent values") > 0);
    }
}

#[test]
fn prepared_on_an_uncommitted_parent_equals_prepared_after_it() {
    let (_dir, store) = open_fresh();
    store.init_genesis(&genesis(), &writes(&[("a", "0"), ("b", "0")])).expect("genesis");
    let (_dir2, reference) = open_fresh();
    reference.init_genesis(&genesis(), &writes(&[("a", "0"), ("b", "0")])).expect("genesis");
    let w1 = writes(&[("a", "1"), ("c", "1")]);
    let w2 = writes(&[("a", "2"), ("b", "2"), ("d", "2")]);
    let (p1, b1, r1) = next_block(&store, w1.clone(), vec![tx(1), tx(2)]);
    // Block 2 is prepared on block 1 before block 1 commits.
    let p2 = store.prepare_on(Some(&p1.base()), w2.clone(), &[tx(3).hash()]).expect("prepare on pending");
    assert_eq!(p1.base().height(), 1);
    assert_eq!(p1.base().writes(), &w1);
    // It cannot commit before its parent...
    let cert = Certificate::embedded(vec![]);
    store.commit(p1, &b1, &cert, &r1).expect("commit 1");
    // ...and after it, it has the roots of preparing on the committed parent.
    commit_block(&reference, w1, vec![tx(1), tx(2)]);
    let (q2, b2, r2) = next_block(&reference, w2, vec![tx(3)]);
    assert_eq!((p2.state_root, p2.log_root, p2.log_size), (q2.state_root, q2.log_root, q2.log_size));
    store.commit(p2, &b2, &cert, &r2).expect("commit 2");
    assert_eq!(store.state_root(), q2.state_root);
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"2".to_vec()));
    // A chain of three uncommitted blocks, each prepared on the one below, commits in
    // order to the roots of preparing each on its committed parent.
    let hashes = |txs: &[SignedTransaction]| txs.iter().map(|t| t.hash()).collect::<Vec<Hash>>();
    let (w3, w4, w5) = (writes(&[("e", "3"), ("a", "3")]), writes(&[("f", "4"), ("e", "4")]), writes(&[("a", "5")]));
    let (t3, t4, t5) = (vec![tx(4)], vec![tx(5), tx(6)], vec![tx(7)]);
    let (p3, b3, r3) = next_block(&store, w3.clone(), t3.clone());
    let p4 = store.prepare_on(Some(&p3.base()), w4.clone(), &hashes(&t4)).expect("on pending");
    let p5 = store.prepare_on(Some(&p4.base()), w5.clone(), &hashes(&t5)).expect("two above the tip");
    assert_eq!(p5.base().chain_writes().cloned().collect::<Vec<_>>(), vec![w3.clone(), w4.clone(), w5.clone()]);
    commit_block(&reference, writes(&[("a", "2"), ("b", "2"), ("d", "2")]), vec![tx(3)]);
    commit_block(&reference, w3, t3);
    let b4_ref = commit_block(&reference, w4, t4.clone());
    let b5_ref = commit_block(&reference, w5, t5.clone());
    assert_eq!(
        (p5.state_root, p5.log_root, p5.log_size),
        (b5_ref.header.state_root, b5_ref.header.log_root, b5_ref.header.log_size)
    );
    // A fork: a chain on another block 3 is refused once this block 3 is committed.
    let (other3, _, _) = next_block(&store, writes(&[("z", "3")]), vec![tx(8)]);
    let on_other = other3.base();
    store.commit(p3, &b3, &cert, &r3).expect("commit 3");
    assert!(matches!(
        store.prepare_on(Some(&on_other), writes(&[("g", "4")]), &[]),
        Err(StoreError::StalePrepared { prepared_at: 3, height: 3 })
    ));
    let (p4, b4, r4) = block_for(p4, 4, b3.header.hash(), t4);
    assert_eq!(b4.header.hash(), b4_ref.header.hash());
    store.commit(p4, &b4, &cert, &r4).expect("commit 4");
    let (p5, b5, r5) = block_for(p5, 5, b4.header.hash(), t5);
    store.commit(p5, &b5, &cert, &r5).expect("commit 5");
    assert_eq!(store.state_root(), reference.state_root());
    assert_eq!(store.get_state(b"a").expect("read"), Some(b"5".to_vec()));
}

#[test]
fn transactions_are_found_by_hash_at_once_after_flush_and_after_the_index_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hashes: Vec<Hash> = (0..600u64).map(|n| tx(n).hash()).collect();
    {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &StateWrites::new()).expect("genesis");
        for b in 0..3u64 {
            commit_block(&store, StateWrites::new(), (b * 200..b * 200 + 200).map(tx).collect());
            // Found the moment the commit returns, whether or not the index files have it.
            let last = hashes[(b * 200 + 199) as usize];
            assert_eq!(store.tx(&last).expect("read").expect("found").1.log_index, b * 200 + 199);
        }
        store.flush_index().expect("flush");
        assert_eq!(store.index_lag(), 0);
        for (i, h) in hashes.iter().enumerate() {
            assert_eq!(store.tx(h).expect("read").expect("indexed").1.log_index, i as u64);
        }
        assert!(store.tx(&tx(10_000).hash()).expect("read").is_none());
    }
    // The index is derived data: without its files, opening re-indexes the log.
    std::fs::remove_dir_all(dir.path().join("txindex")).expect("remove index");
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.index_lag(), 0, "re-indexed when opened");
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(store.tx(h).expect("read").expect("re-indexed").1.log_index, i as u64);
    }
}

#[test]
fn an_index_from_a_longer_ledger_or_an_old_index_file_is_dropped_and_the_log_reindexed() {
    let (long, short) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    for (dir, from, blocks) in [(&long, 0u64, 3u64), (&short, 10_000, 1)] {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &StateWrites::new()).expect("genesis");
        for b in 0..blocks {
            commit_block(&store, StateWrites::new(), (from + b * 200..from + b * 200 + 200).map(tx).collect());
        }
        store.flush_index().expect("flush");
    }
    // The short ledger gets the long one's index (600 transactions over its 200), and a
    // hash index file of the format before runs.
    let index = short.path().join("txindex");
    std::fs::remove_dir_all(&index).expect("remove index");
    std::fs::create_dir(&index).expect("mkdir");
    for entry in std::fs::read_dir(long.path().join("txindex")).expect("ls") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), index.join(entry.file_name())).expect("copy");
    }
    std::fs::write(short.path().join("txindex.redb"), b"an index file of the old format").expect("old index");

    let store = Store::open(short.path()).expect("reopen");
    assert!(!short.path().join("txindex.redb").exists());
    for n in 10_000..10_200u64 {
        assert_eq!(store.tx(&tx(n).hash()).expect("read").expect("re-indexed").1.log_index, n - 10_000);
    }
    // And the index goes on from the short ledger's end.
    commit_block(&store, StateWrites::new(), (20_000..20_100).map(tx).collect());
    store.flush_index().expect("flush");
    assert_eq!(store.tx(&tx(20_050).hash()).expect("read").expect("indexed").1.log_index, 250);
}

/// A flipped byte anywhere in `ledger.redb` gives a typed error or a store that opens,
/// never a panic (redb panicked at open on some damaged pages).
#[test]
fn a_damaged_ledger_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&genesis(), &writes(&[("a", "1")])).expect("init");
        for b in 0..3u64 {
            commit_block(&store, writes(&[("a", &b.to_string())]), vec![tx(b)]);
        }
    }
    let file = dir.path().join("ledger.redb");
    let pristine = std::fs::read(&file).expect("read");
    let mut refused = 0;
    // Bytes of the first pages (the header, region trackers, B-tree roots) and 64
    // spread over the file.
    let len = pristine.len();
    let offsets: Vec<usize> = (0..len.min(16_384)).step_by(13).chain((0..64).map(|i| i * len / 64)).collect();
    for off in offsets {
        let mut damaged = pristine.clone();
        damaged[off] ^= 0xa5;
        std::fs::write(&file, &damaged).expect("write");
        let _ = std::fs::remove_dir_all(dir.path().join("txindex"));
        match Store::open(dir.path()) {
            Ok(_) => {}
            Err(StoreError::Corrupt(_)) | Err(StoreError::Db(_)) => refused += 1,
            Err(e) => panic!("byte {off}: unexpected error {e}"),
        }
    }
    assert!(refused > 0, "some damage must be detected");
}
