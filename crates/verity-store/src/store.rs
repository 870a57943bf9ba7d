//! The [`Store`]: one redb file holding blocks, the transaction log and the versioned state.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable};
use verity_types::encoding::{decode, encode};
use verity_types::limits::STATE_KEY_BYTES_MAX;
use verity_types::merkle::{self, fold_perfect_roots, perfect_subtrees};
use verity_types::proof::{nibble, state_key_hash, StateProofLevel, StateProofTerminal};
use verity_types::{
    sha256, Block, BlockHeader, Certificate, ConsistencyProof, Genesis, Hash, InclusionProof, Receipt,
    SignedTransaction, StateProof,
};

use crate::error::StoreError;
use crate::keys::*;
use crate::log::{Frontier, LogNode};
use crate::tree::{self, CachedNode, ChildRef, FullNode, NewNodes, NodeCache, NodeReader, PendingNodes};
use crate::txindex::TxIndex;
use std::sync::Arc;

/// State writes of a block: key -> new value, in key order.
pub type StateWrites = std::collections::BTreeMap<Vec<u8>, Vec<u8>>;

/// Bytes of redb's own page cache.
pub const DB_CACHE_BYTES: usize = 256 * 1024 * 1024;
/// Most latest-value entries kept in memory for [`Store::get_state`].
pub const STATE_VALUE_CACHE_ENTRIES: usize = 1 << 16;
/// Largest stored block header with certificate, or receipt, the store will decode.
const RECORD_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What a block changes, computed by [`Store::prepare`] without writing anything, and
/// written by [`Store::commit`].
#[derive(Debug)]
pub struct Prepared {
    pub state_root: Hash,
    pub log_size: u64,
    pub log_root: Hash,
    base_height: u64,
    root_ref: ChildRef,
    writes: Arc<StateWrites>,
    nodes: NewNodes,
    decoded: PendingNodes,
    log_nodes: Vec<LogNode>,
    frontier: Frontier,
    tx_hashes: Vec<Hash>,
    leaf_hashes: Vec<Hash>,
    /// The uncommitted blocks it was prepared on, oldest first.
    ancestors: Vec<Layer>,
}

impl Prepared {
    /// The Merkle root of the block's transaction hashes (its header's `txs_root`), from
    /// the leaf hashes the log append already computed.
    pub fn txs_root(&self) -> Hash {
        merkle::root(&self.leaf_hashes)
    }

    /// The height of the block it was prepared on (committed or not).
    pub fn base_height(&self) -> u64 {
        self.base_height
    }

    /// What the next block needs to be prepared on this one before it is committed
    /// (see [`Store::prepare_on`]). Cheap: the node and write sets are shared.
    pub fn base(&self) -> PreparedBase {
        let mut layers = self.ancestors.clone();
        layers.push(Layer {
            height: self.base_height + 1,
            root_ref: self.root_ref,
            nodes: self.decoded.clone(),
            writes: self.writes.clone(),
        });
        PreparedBase { height: self.base_height + 1, root_ref: self.root_ref, frontier: self.frontier.clone(), layers }
    }
}

/// One prepared, uncommitted block of a chain of them: its height and state root, the
/// tree nodes it adds and its state writes.
#[derive(Clone, Debug)]
struct Layer {
    height: u64,
    root_ref: ChildRef,
    nodes: PendingNodes,
    writes: Arc<StateWrites>,
}

/// The state and log a prepared, not yet committed, block leaves behind: the base on
/// which the block after it is executed and prepared while it (and any uncommitted
/// blocks below it) commits: block pipelining, and the replicated ledger's chains of
/// blocks that are not final yet.
#[derive(Clone, Debug)]
pub struct PreparedBase {
    height: u64,
    root_ref: ChildRef,
    frontier: Frontier,
    /// The prepared block and the uncommitted blocks below it, oldest first.
    layers: Vec<Layer>,
}

impl PreparedBase {
    /// The height of the prepared block.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The state writes of the prepared block alone.
    pub fn writes(&self) -> &StateWrites {
        self.layers.last().map_or(&EMPTY_WRITES, |l| &l.writes)
    }

    /// The state writes of the prepared block and of the uncommitted blocks it was
    /// prepared on, oldest first: what a reader must see on top of the committed state
    /// (a block committed since still appears here, with the values the store now has).
    pub fn chain_writes(&self) -> impl Iterator<Item = &StateWrites> {
        self.layers.iter().map(|l| l.writes.as_ref())
    }

    /// The state root after the prepared block.
    pub fn state_root(&self) -> Hash {
        self.root_ref.hash
    }

    /// Leaves in the transaction log after the prepared block.
    pub fn log_size(&self) -> u64 {
        self.frontier.size
    }
}

static EMPTY_WRITES: StateWrites = StateWrites::new();

/// The last committed height and its roots, kept in memory.
#[derive(Debug)]
struct Tip {
    initialised: bool,
    height: u64,
    state_root: ChildRef,
    frontier: Frontier,
}

impl Default for Tip {
    fn default() -> Self {
        Tip { initialised: false, height: 0, state_root: ChildRef::EMPTY, frontier: Frontier::default() }
    }
}

/// Durable storage of one chain. `Send + Sync`; every method takes `&self` and the store is
/// cheap to share in an `Arc`. Commits are serialised; reads run concurrently with them and
/// see either the state before or after a commit, never a part of one.
pub struct Store {
    db: Database,
    index: TxIndex,
    tip: RwLock<Tip>,
    commit_lock: Mutex<()>,
    nodes: NodeCache,
    values: Mutex<LruCache<Vec<u8>, Option<Vec<u8>>>>,
    /// Bumped under the `values` lock after each commit, so a read that raced a commit
    /// does not put a stale value into the cache.
    commit_gen: AtomicU64,
}

fn corrupt_decode<T: borsh::BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    decode(bytes, RECORD_BYTES_MAX).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

fn check_key(key: &[u8]) -> Result<(), StoreError> {
    if key.len() > STATE_KEY_BYTES_MAX {
        return Err(StoreError::KeyTooLong { len: key.len(), limit: STATE_KEY_BYTES_MAX });
    }
    Ok(())
}

impl Store {
    /// Opens (creating if missing) `dir/ledger.redb` and restores the tip from disk.
    ///
    /// A damaged file is a typed error ([`StoreError::Corrupt`]), never a panic: redb
    /// can panic on some damaged pages while it opens a file, so that panic is caught
    /// here and reported with the file's name.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Self::open_unchecked(dir))) {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message");
                Err(StoreError::Corrupt(format!(
                    "{} cannot be opened (the database panicked: {what}); restore it from a backup, or on a \
                     validator move the store aside and resync from peers",
                    dir.join("ledger.redb").display()
                )))
            }
        }
    }

    fn open_unchecked(dir: &Path) -> Result<Store, StoreError> {
        let db = Database::builder().set_cache_size(DB_CACHE_BYTES).create(dir.join("ledger.redb"))?;
        let txn = db.begin_write()?;
        txn.open_table(META)?;
        txn.open_table(HEADERS)?;
        txn.open_table(TXS)?;
        txn.open_table(STATE_ROOTS)?;
        txn.open_table(LOG_NODES)?;
        txn.open_table(LOG_LEAVES)?;
        txn.open_table(STATE_NODES)?;
        txn.commit()?;
        // The hash index was a redb file before it was sorted runs; it is derived data.
        match std::fs::remove_file(dir.join("txindex.redb")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let index = TxIndex::open(&dir.join("txindex"), &db)?;
        let store = Store {
            db,
            index,
            tip: RwLock::new(Tip::default()),
            commit_lock: Mutex::new(()),
            nodes: NodeCache::new(),
            values: Mutex::new(LruCache::new(NonZeroUsize::new(STATE_VALUE_CACHE_ENTRIES).expect("positive"))),
            commit_gen: AtomicU64::new(0),
        };
        let tip = store.load_tip()?;
        *store.tip.write() = tip;
        Ok(store)
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    fn load_tip(&self) -> Result<Tip, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        if meta.get(META_GENESIS)?.is_none() {
            return Ok(Tip::default());
        }
        let height = match meta.get(META_HEIGHT)? {
            Some(v) => u64::from_le_bytes(
                v.value().try_into().map_err(|_| StoreError::corrupt("stored height is not 8 bytes"))?,
            ),
            None => return Err(StoreError::corrupt("genesis without a height")),
        };
        let state_root = read_root_ref(&txn, height)?;
        let (log_size, log_root) = if height == 0 {
            (0, merkle::empty_root())
        } else {
            let (header, _) =
                self.read_header(&txn, height)?.ok_or_else(|| StoreError::corrupt("missing tip header"))?;
            (header.log_size, header.log_root)
        };
        let mut log = LogReader::new(txn.open_table(LOG_NODES)?, txn.open_table(LOG_LEAVES)?);
        let roots =
            perfect_subtrees(0, log_size).into_iter().map(|(l, i)| log.node(l, i)).collect::<Result<Vec<_>, _>>()?;
        let frontier = Frontier { size: log_size, roots };
        // Pair assertion: the log rebuilt from disk has the root its last header names.
        if frontier.root() != log_root {
            return Err(StoreError::corrupt("log nodes on disk do not match the last header's log root"));
        }
        Ok(Tip { initialised: true, height, state_root, frontier })
    }

    /// The genesis this store was initialised with, if any.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let genesis = meta.get(META_GENESIS)?;
        genesis.map(|g| corrupt_decode(g.value(), "genesis")).transpose()
    }

    /// Stores genesis and its initial state as height 0 (fsync'd) and returns the state root.
    /// Errors if the store is already initialised.
    pub fn init_genesis(&self, genesis: &Genesis, state: &StateWrites) -> Result<Hash, StoreError> {
        let _guard = self.commit_lock.lock();
        if self.tip.read().initialised {
            return Err(StoreError::AlreadyInitialised);
        }
        for k in state.keys() {
            check_key(k)?;
        }
        let (root_ref, mut nodes) = self.apply_writes(ChildRef::EMPTY, &[], state, 0)?;
        let state_root = root_ref.hash;
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(META_GENESIS, encode(genesis).as_slice())?;
            meta.insert(META_HEIGHT, 0u64.to_le_bytes().as_slice())?;
            txn.open_table(STATE_ROOTS)?.insert(0, root_ref.to_bytes().as_slice())?;
            write_state(&txn, &nodes)?;
        }
        txn.commit()?;
        self.nodes.insert_all(&nodes.take_decoded());
        let mut values = self.values.lock();
        values.clear();
        *self.tip.write() = Tip { initialised: true, height: 0, state_root: root_ref, frontier: Frontier::default() };
        self.commit_gen.fetch_add(1, Ordering::SeqCst);
        Ok(state_root)
    }

    /// The last committed height (0 = genesis only, or not initialised).
    pub fn height(&self) -> u64 {
        self.tip.read().height
    }

    /// The last committed block header; `None` at height 0.
    pub fn last_header(&self) -> Result<Option<BlockHeader>, StoreError> {
        let height = self.height();
        if height == 0 {
            return Ok(None);
        }
        Ok(self.header(height)?.map(|(h, _)| h))
    }

    /// The latest committed state root ([`Hash::ZERO`] for an empty or uninitialised state).
    pub fn state_root(&self) -> Hash {
        self.tip.read().state_root.hash
    }

    /// Leaves in the transaction log.
    pub fn log_size(&self) -> u64 {
        self.tip.read().frontier.size
    }

    /// RFC 6962 root of the whole transaction log.
    pub fn log_root(&self) -> Hash {
        self.tip.read().frontier.root()
    }

    /// The latest committed value of `key`, through a bounded cache, else read from the tip's tree.
    pub fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.values.lock().get(key) {
            return Ok(v.clone());
        }
        // The generation is read before the root: a commit in between bumps it (after
        // moving the tip), so a value read from an older root is never cached.
        let generation = self.commit_gen.load(Ordering::SeqCst);
        let root = self.tip.read().state_root;
        let value = self.value_in(root, key)?;
        let mut values = self.values.lock();
        if self.commit_gen.load(Ordering::SeqCst) == generation {
            values.put(key.to_vec(), value.clone());
        }
        Ok(value)
    }

    /// The value of `key` in the tree under `root`: internal nodes through the node cache,
    /// the leaf read (and hash-checked) from disk.
    fn value_in(&self, root: ChildRef, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let reader = NodeReader { table: txn.open_table(STATE_NODES)?, cache: &self.nodes, pending: &[] };
        let key_hash = state_key_hash(key);
        let mut node = root;
        for depth in 0..=verity_types::proof::STATE_TREE_DEPTH_MAX {
            if node.is_empty() {
                return Ok(None);
            }
            match reader.cached(&node, &key_hash)? {
                CachedNode::Leaf { key_hash: kh } if kh != key_hash => return Ok(None),
                CachedNode::Leaf { .. } => {
                    return match reader.full(&node, &key_hash)? {
                        FullNode::Leaf { value, .. } => Ok(Some(value)),
                        FullNode::Internal(_) => Err(StoreError::corrupt("cached leaf is an internal node on disk")),
                    };
                }
                CachedNode::Internal(children) => {
                    if depth == verity_types::proof::STATE_TREE_DEPTH_MAX {
                        break;
                    }
                    node = children[nibble(&key_hash, depth)];
                }
            }
        }
        Err(StoreError::corrupt("state tree is deeper than a key hash has nibbles"))
    }

    /// Computes, without writing, the state root and log root and size that result from
    /// applying `writes` and appending `tx_hashes` (leaf data = the 32 hash bytes) to the
    /// latest committed state.
    pub fn prepare(&self, writes: StateWrites, tx_hashes: &[Hash]) -> Result<Prepared, StoreError> {
        self.prepare_on(None, writes, tx_hashes)
    }

    /// Like [`Self::prepare`], but on `base` (a prepared block) if it is not committed
    /// yet: the block after it is prepared while it commits. `base` must descend from
    /// the committed tip (through any number of uncommitted blocks), or be the tip itself
    /// (then it is simply the tip). The result commits only after `base` has.
    pub fn prepare_on(
        &self,
        base: Option<&PreparedBase>,
        writes: StateWrites,
        tx_hashes: &[Hash],
    ) -> Result<Prepared, StoreError> {
        for k in writes.keys() {
            check_key(k)?;
        }
        let (base_height, base_root, mut frontier, ancestors) = {
            let tip = self.tip.read();
            if !tip.initialised {
                return Err(StoreError::NotInitialised);
            }
            let stale = |b: &PreparedBase| StoreError::StalePrepared { prepared_at: b.height, height: tip.height };
            match base {
                Some(b) if b.height > tip.height => {
                    // Pair assertion: the base's chain passes through the committed tip.
                    if b.layers.iter().any(|l| l.height == tip.height && l.root_ref != tip.state_root)
                        || b.layers.first().is_some_and(|l| l.height > tip.height + 1)
                    {
                        return Err(stale(b));
                    }
                    let uncommitted = b.layers.iter().filter(|l| l.height > tip.height).cloned().collect();
                    (b.height, b.root_ref, b.frontier.clone(), uncommitted)
                }
                Some(b) if b.height == tip.height => {
                    // Committed meanwhile, unless another block of that height was (a
                    // fork of the replicated ledger's uncommitted chain).
                    if b.root_ref != tip.state_root || b.frontier != tip.frontier {
                        return Err(stale(b));
                    }
                    (tip.height, tip.state_root, tip.frontier.clone(), Vec::new())
                }
                Some(b) => return Err(stale(b)),
                None => (tip.height, tip.state_root, tip.frontier.clone(), Vec::new()),
            }
        };
        let pending: Vec<PendingNodes> = ancestors.iter().map(|l: &Layer| l.nodes.clone()).collect();
        let (root_ref, mut nodes) = self.apply_writes(base_root, &pending, &writes, base_height + 1)?;
        let leaf_hashes: Vec<Hash> = tx_hashes.par_iter().map(|h| merkle::leaf_hash(h.as_bytes())).collect();
        let mut log_nodes = Vec::with_capacity(2 * leaf_hashes.len() + 64);
        for leaf in &leaf_hashes {
            frontier.append(*leaf, &mut log_nodes);
        }
        // Lower levels are recomputed from the leaf chunks.
        log_nodes.retain(|((level, _), _)| *level >= LOG_CHUNK_LEVEL);
        Ok(Prepared {
            state_root: root_ref.hash,
            root_ref,
            log_size: frontier.size,
            log_root: frontier.root(),
            base_height,
            writes: Arc::new(writes),
            decoded: nodes.take_decoded(),
            nodes,
            log_nodes,
            frontier,
            tx_hashes: tx_hashes.to_vec(),
            leaf_hashes,
            ancestors,
        })
    }

    fn apply_writes(
        &self,
        base_root: ChildRef,
        pending: &[PendingNodes],
        writes: &StateWrites,
        version: u64,
    ) -> Result<(ChildRef, NewNodes), StoreError> {
        let (items, mut nodes) = tree::leaves_for(writes);
        if items.is_empty() {
            return Ok((base_root, nodes));
        }
        let txn = self.read()?;
        let reader = NodeReader { table: txn.open_table(STATE_NODES)?, cache: &self.nodes, pending };
        let root = tree::update(&reader, base_root, 0, &items, version, &mut nodes)?;
        Ok((root, nodes))
    }

    /// Writes the block (header, transactions, receipts, certificate), the prepared state and
    /// the new log nodes in one fsync'd redb transaction, and only then returns. Checks that
    /// the block follows the last committed height and that its header names the prepared
    /// roots; on any mismatch nothing is written.
    pub fn commit(
        &self,
        prepared: Prepared,
        block: &Block,
        certificate: &Certificate,
        receipts: &[Receipt],
    ) -> Result<(), StoreError> {
        let _guard = self.commit_lock.lock();
        let height = {
            let tip = self.tip.read();
            if !tip.initialised {
                return Err(StoreError::NotInitialised);
            }
            tip.height
        };
        let header = &block.header;
        if header.height != height + 1 {
            return Err(StoreError::HeightMismatch { expected: height + 1, got: header.height });
        }
        let parent = match self.last_header()? {
            Some(last) => last.hash(),
            None => self.genesis()?.ok_or(StoreError::NotInitialised)?.hash(),
        };
        if header.parent != parent {
            return Err(StoreError::header("parent", header.parent, parent));
        }
        if prepared.base_height != height {
            return Err(StoreError::StalePrepared { prepared_at: prepared.base_height, height });
        }
        if header.state_root != prepared.state_root {
            return Err(StoreError::header("state_root", header.state_root, prepared.state_root));
        }
        if header.log_root != prepared.log_root {
            return Err(StoreError::header("log_root", header.log_root, prepared.log_root));
        }
        if header.log_size != prepared.log_size {
            return Err(StoreError::header("log_size", header.log_size, prepared.log_size));
        }
        if header.tx_count as usize != block.txs.len() {
            return Err(StoreError::header("tx_count", header.tx_count, block.txs.len()));
        }
        if block.txs.len() != prepared.tx_hashes.len() || receipts.len() != block.txs.len() {
            return Err(StoreError::BlockMismatch(format!(
                "{} transactions, {} prepared hashes, {} receipts",
                block.txs.len(),
                prepared.tx_hashes.len(),
                receipts.len()
            )));
        }
        let encoded: Vec<(Vec<u8>, Hash)> = block
            .txs
            .par_iter()
            .map(|tx| {
                let bytes = tx.to_bytes();
                let hash = sha256(&bytes);
                (bytes, hash)
            })
            .collect();
        let first_log_index = height_first_index(&prepared);
        for (i, ((_, hash), receipt)) in encoded.iter().zip(receipts).enumerate() {
            if *hash != prepared.tx_hashes[i] {
                return Err(StoreError::BlockMismatch(format!("transaction {i} is not the prepared one")));
            }
            let log_index = first_log_index + i as u64;
            if receipt.tx_hash != *hash
                || receipt.height != header.height
                || receipt.index as usize != i
                || receipt.log_index != log_index
            {
                return Err(StoreError::BlockMismatch(format!("receipt {i} does not describe transaction {i}")));
            }
        }
        let txs_root = prepared.txs_root();
        if header.txs_root != txs_root {
            return Err(StoreError::header("txs_root", header.txs_root, txs_root));
        }

        // Room in the hash index's queue (and its thread alive) before anything is written.
        self.index.reserve(prepared.tx_hashes.len())?;
        let started = std::time::Instant::now();
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let (t_txs, t_log);
        {
            txn.open_table(HEADERS)?.insert(header.height, encode(&(header, certificate)).as_slice())?;
            let rows: Vec<Vec<u8>> = encoded
                .par_iter()
                .zip(receipts.par_iter())
                .map(|((bytes, _), receipt)| {
                    let receipt = encode(receipt);
                    let mut row = Vec::with_capacity(4 + bytes.len() + receipt.len());
                    tx_row(&mut row, bytes, &receipt);
                    row
                })
                .collect();
            let chunks: Vec<Vec<u8>> = rows.par_chunks(TX_CHUNK).map(tx_chunk).collect();
            let mut txs = txn.open_table(TXS)?;
            for (i, chunk) in chunks.iter().enumerate() {
                txs.insert(first_log_index + (i * TX_CHUNK) as u64, chunk.as_slice())?;
            }
            t_txs = std::time::Instant::now();
            write_log_leaves(&txn, first_log_index, &prepared.leaf_hashes)?;
            let mut log = txn.open_table(LOG_NODES)?;
            for ((level, i), hash) in &prepared.log_nodes {
                log.insert(log_node_key(*level, *i).as_slice(), hash.0.as_slice())?;
            }
            txn.open_table(STATE_ROOTS)?.insert(header.height, prepared.root_ref.to_bytes().as_slice())?;
            t_log = std::time::Instant::now();
            write_state(&txn, &prepared.nodes)?;
            txn.open_table(META)?.insert(META_HEIGHT, header.height.to_le_bytes().as_slice())?;
        }
        let t_state = std::time::Instant::now();
        txn.commit()?;
        let ms = |a: std::time::Instant, b: std::time::Instant| b.duration_since(a).as_secs_f64() * 1e3;
        tracing::debug!(
            height = header.height,
            txs_ms = ms(started, t_txs),
            log_ms = ms(t_txs, t_log),
            state_ms = ms(t_log, t_state),
            fsync_ms = ms(t_state, std::time::Instant::now()),
            "store commit phases"
        );

        let Prepared { root_ref, writes, decoded, frontier, tx_hashes, .. } = prepared;
        // Findable by hash before the commit returns (the index files follow behind).
        self.index.add(first_log_index, &tx_hashes);
        self.nodes.insert_all(&decoded);
        {
            // The value cache, the tip and the generation change under the cache's lock,
            // so no reader sees the new tip with an old cached value (a block being
            // executed on this one reads through both). The tip moves before the
            // generation is bumped (see `get_state`).
            let mut values = self.values.lock();
            for (k, v) in writes.iter() {
                values.put(k.clone(), Some(v.clone()));
            }
            *self.tip.write() = Tip { initialised: true, height: header.height, state_root: root_ref, frontier };
            self.commit_gen.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn read_header(
        &self,
        txn: &ReadTransaction,
        height: u64,
    ) -> Result<Option<(BlockHeader, Certificate)>, StoreError> {
        let headers = txn.open_table(HEADERS)?;
        let row = headers.get(height)?;
        row.map(|r| corrupt_decode(r.value(), "block header")).transpose()
    }

    /// The block at `height` with its certificate; `None` for height 0 or above the tip.
    pub fn block(&self, height: u64) -> Result<Option<(Block, Certificate)>, StoreError> {
        let txn = self.read()?;
        let Some((header, certificate)) = self.read_header(&txn, height)? else {
            return Ok(None);
        };
        let first = first_log_index(&header)?;
        let table = txn.open_table(TXS)?;
        let mut txs = Vec::with_capacity(header.tx_count as usize);
        for chunk in table.range(first..header.log_size)? {
            let (_, v) = chunk?;
            for (tx, _) in tx_chunk_rows(v.value())? {
                txs.push(corrupt_decode::<SignedTransaction>(tx, "transaction")?);
            }
        }
        if txs.len() != header.tx_count as usize {
            return Err(StoreError::corrupt(format!("block {height} is missing transactions")));
        }
        Ok(Some((Block { header, txs }, certificate)))
    }

    /// The header at `height` with its certificate; `None` for height 0 or above the tip.
    pub fn header(&self, height: u64) -> Result<Option<(BlockHeader, Certificate)>, StoreError> {
        let txn = self.read()?;
        self.read_header(&txn, height)
    }

    /// A committed transaction and its receipt, by transaction hash.
    pub fn tx(&self, hash: &Hash) -> Result<Option<(SignedTransaction, Receipt)>, StoreError> {
        // The index is read first: what it names is committed, so the read below sees it.
        let candidates = self.index.candidates(hash)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let txn = self.read()?;
        let txs = txn.open_table(TXS)?;
        // The index keeps only a prefix of the hash: check each candidate's receipt.
        for log_index in candidates {
            let missing = || StoreError::corrupt(format!("transaction {hash} is indexed but not stored"));
            let (start, chunk) = txs.range(..=log_index)?.next_back().transpose()?.ok_or_else(missing)?;
            let row = usize::try_from(log_index - start.value())
                .ok()
                .and_then(|i| tx_chunk_row(chunk.value(), i))
                .ok_or_else(missing)?;
            let (tx, receipt) = split_tx_row(row).ok_or_else(|| StoreError::corrupt("transaction row"))?;
            let receipt: Receipt = corrupt_decode(receipt, "receipt")?;
            if receipt.tx_hash == *hash {
                return Ok(Some((corrupt_decode(tx, "transaction")?, receipt)));
            }
        }
        Ok(None)
    }

    /// Committed transactions whose hashes are not in the index files yet (they are
    /// found by hash from memory meanwhile).
    pub fn index_lag(&self) -> usize {
        self.index.lag()
    }

    /// Waits until the index files hold every committed transaction's hash.
    pub fn flush_index(&self) -> Result<(), StoreError> {
        self.index.flush()
    }

    /// Receipts of the block at `height` in block order (empty at height 0).
    pub fn receipts(&self, height: u64) -> Result<Vec<Receipt>, StoreError> {
        self.check_height(height)?;
        let txn = self.read()?;
        let Some((header, _)) = self.read_header(&txn, height)? else {
            return Ok(Vec::new());
        };
        let table = txn.open_table(TXS)?;
        let mut out = Vec::with_capacity(header.tx_count as usize);
        for chunk in table.range(first_log_index(&header)?..header.log_size)? {
            let (_, v) = chunk?;
            for (_, receipt) in tx_chunk_rows(v.value())? {
                out.push(corrupt_decode(receipt, "receipt")?);
            }
        }
        Ok(out)
    }

    /// Proof of the receipt at `index` of the block at `height` under the block's receipts
    /// root (a version 2 header's `receipts_root`), or `None` if the block has no such
    /// position. Built from the block's stored receipts.
    pub fn receipt_proof(&self, height: u64, index: u32) -> Result<Option<InclusionProof>, StoreError> {
        let receipts = self.receipts(height)?;
        if index as usize >= receipts.len() {
            return Ok(None);
        }
        let leaves: Vec<Hash> = receipts.iter().map(Receipt::leaf_hash).collect();
        Ok(Some(merkle::inclusion_proof(&leaves, u64::from(index), leaves.len() as u64)?))
    }

    fn check_height(&self, height: u64) -> Result<(), StoreError> {
        let tip = self.tip.read();
        if !tip.initialised {
            return Err(StoreError::NotInitialised);
        }
        if height > tip.height {
            return Err(StoreError::UnknownHeight { height, latest: tip.height });
        }
        Ok(())
    }

    fn check_tree_size(&self, size: u64) -> Result<(), StoreError> {
        let log_size = self.log_size();
        if size > log_size {
            return Err(StoreError::TreeSizeTooLarge { size, log_size });
        }
        Ok(())
    }

    /// Inclusion proof of leaf `log_index` in the log of `tree_size` leaves (`tree_size` at
    /// most the current log size), assembled from O(log n) stored nodes.
    pub fn inclusion_proof(&self, log_index: u64, tree_size: u64) -> Result<InclusionProof, StoreError> {
        self.check_tree_size(tree_size)?;
        let txn = self.read()?;
        let mut log = LogReader::new(txn.open_table(LOG_NODES)?, txn.open_table(LOG_LEAVES)?);
        merkle::inclusion_proof_with(log_index, tree_size, |s, l| log.subtree(s, l))
    }

    /// Consistency proof between log sizes `old_size <= new_size <= log_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, StoreError> {
        self.check_tree_size(new_size)?;
        let txn = self.read()?;
        let mut log = LogReader::new(txn.open_table(LOG_NODES)?, txn.open_table(LOG_LEAVES)?);
        merkle::consistency_proof_with(old_size, new_size, |s, l| log.subtree(s, l))
    }

    /// RFC 6962 root of the first `size` leaves of the log.
    pub fn log_root_at(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_tree_size(size)?;
        let txn = self.read()?;
        let mut log = LogReader::new(txn.open_table(LOG_NODES)?, txn.open_table(LOG_LEAVES)?);
        log.subtree(0, size)
    }

    /// The state root committed at `height` (0 = genesis).
    pub fn state_root_at(&self, height: u64) -> Result<Hash, StoreError> {
        self.check_height(height)?;
        let txn = self.read()?;
        Ok(read_root_ref(&txn, height)?.hash)
    }

    /// Membership or non-membership proof of `key` against the state root of `height`.
    pub fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError> {
        check_key(key)?;
        self.check_height(height)?;
        let txn = self.read()?;
        let reader = NodeReader { table: txn.open_table(STATE_NODES)?, cache: &self.nodes, pending: &[] };
        let key_hash = state_key_hash(key);
        let mut levels = Vec::new();
        let mut node = read_root_ref(&txn, height)?;
        loop {
            if node.is_empty() {
                return Ok(StateProof { key: key.to_vec(), value: None, levels, terminal: StateProofTerminal::Empty });
            }
            match reader.full(&node, &key_hash)? {
                FullNode::Leaf { key_hash: kh, value } => {
                    let terminal = StateProofTerminal::Leaf { key_hash: kh, value_hash: sha256(&value) };
                    let value = (kh == key_hash).then_some(value);
                    return Ok(StateProof { key: key.to_vec(), value, levels, terminal });
                }
                FullNode::Internal(children) => {
                    let depth = levels.len();
                    if depth >= verity_types::proof::STATE_TREE_DEPTH_MAX {
                        return Err(StoreError::corrupt("state tree is deeper than a key hash has nibbles"));
                    }
                    let on_path = nibble(&key_hash, depth);
                    let mut level = StateProofLevel { bitmap: 0, siblings: Vec::new() };
                    for (i, c) in children.iter().enumerate() {
                        if i != on_path && !c.is_empty() {
                            level.bitmap |= 1 << i;
                            level.siblings.push(c.hash);
                        }
                    }
                    levels.push(level);
                    node = children[on_path];
                }
            }
        }
    }

    /// The value of `key` as of `height`, read by walking that height's tree.
    pub fn get_state_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_height(height)?;
        let txn = self.read()?;
        let reader = NodeReader { table: txn.open_table(STATE_NODES)?, cache: &self.nodes, pending: &[] };
        let key_hash = state_key_hash(key);
        let mut node = read_root_ref(&txn, height)?;
        for depth in 0..=verity_types::proof::STATE_TREE_DEPTH_MAX {
            if node.is_empty() {
                return Ok(None);
            }
            match reader.full(&node, &key_hash)? {
                FullNode::Leaf { key_hash: kh, value } => return Ok((kh == key_hash).then_some(value)),
                FullNode::Internal(children) => {
                    if depth == verity_types::proof::STATE_TREE_DEPTH_MAX {
                        break;
                    }
                    node = children[nibble(&key_hash, depth)];
                }
            }
        }
        Err(StoreError::corrupt("state tree is deeper than a key hash has nibbles"))
    }
}

/// Index in the log of the first transaction of a stored block.
fn first_log_index(header: &BlockHeader) -> Result<u64, StoreError> {
    header
        .log_size
        .checked_sub(header.tx_count as u64)
        .ok_or_else(|| StoreError::corrupt("header tx count above log size"))
}

/// Index in the log of the first transaction of the prepared block.
fn height_first_index(prepared: &Prepared) -> u64 {
    prepared.log_size - prepared.tx_hashes.len() as u64
}

fn write_state(txn: &redb::WriteTransaction, nodes: &NewNodes) -> Result<(), StoreError> {
    // New nodes share the version prefix: sorted, they are one append at the table's end.
    let mut table = txn.open_table(STATE_NODES)?;
    for (key, bytes) in nodes.sorted_rows() {
        table.insert(key.as_slice(), bytes)?;
    }
    Ok(())
}

fn read_root_ref(txn: &ReadTransaction, height: u64) -> Result<ChildRef, StoreError> {
    let row = txn.open_table(STATE_ROOTS)?.get(height)?;
    let row = row.ok_or_else(|| StoreError::corrupt(format!("no state root at height {height}")))?;
    ChildRef::from_bytes(row.value()).ok_or_else(|| StoreError::corrupt("state root reference"))
}

/// Transaction bytes and receipt bytes of one stored row.
type TxRowParts<'a> = (&'a [u8], &'a [u8]);

/// Every row of a `txs` chunk, split into transaction and receipt bytes.
fn tx_chunk_rows(chunk: &[u8]) -> Result<Vec<TxRowParts<'_>>, StoreError> {
    let bad = || StoreError::corrupt("transaction row");
    let count = tx_chunk_len(chunk).ok_or_else(bad)?;
    (0..count).map(|i| tx_chunk_row(chunk, i).and_then(split_tx_row).ok_or_else(bad)).collect()
}

/// Appends the block's leaf hashes to the `log_leaves` chunks, completing the last partial
/// chunk first.
fn write_log_leaves(txn: &redb::WriteTransaction, first: u64, leaves: &[Hash]) -> Result<(), StoreError> {
    let mut table = txn.open_table(LOG_LEAVES)?;
    let (mut next, mut rest) = (first, leaves);
    while !rest.is_empty() {
        let chunk = next / LOG_CHUNK_LEAVES;
        let offset = (next % LOG_CHUNK_LEAVES) as usize;
        let take = (LOG_CHUNK_LEAVES as usize - offset).min(rest.len());
        let mut row = Vec::with_capacity(32 * (offset + take));
        if offset > 0 {
            let existing = table.get(chunk)?;
            let existing = existing.as_ref().map(|v| v.value()).unwrap_or_default();
            if existing.len() != 32 * offset {
                return Err(StoreError::corrupt(format!("log leaf chunk {chunk} has {} bytes", existing.len())));
            }
            row.extend_from_slice(existing);
        }
        for leaf in &rest[..take] {
            row.extend_from_slice(leaf.as_bytes());
        }
        table.insert(chunk, row.as_slice())?;
        next += take as u64;
        rest = &rest[take..];
    }
    Ok(())
}

/// Reads log subtree hashes: stored nodes at level [`LOG_CHUNK_LEVEL`] and above, lower ones
/// recomputed from one leaf chunk (the last chunk read is kept).
struct LogReader<N, L> {
    nodes: N,
    leaves: L,
    chunk: Option<(u64, Vec<Hash>)>,
}

impl<N, L> LogReader<N, L>
where
    N: ReadableTable<&'static [u8], &'static [u8]>,
    L: ReadableTable<u64, &'static [u8]>,
{
    fn new(nodes: N, leaves: L) -> Self {
        LogReader { nodes, leaves, chunk: None }
    }

    /// Hash of the perfect subtree `(level, index)`.
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let missing = || StoreError::corrupt(format!("log node ({level}, {index}) is missing"));
        if level >= LOG_CHUNK_LEVEL {
            return self
                .nodes
                .get(log_node_key(level, index).as_slice())?
                .and_then(|v| v.value().try_into().ok().map(Hash))
                .ok_or_else(missing);
        }
        let first = index.checked_shl(level.into()).ok_or_else(missing)?;
        let chunk = first / LOG_CHUNK_LEAVES;
        if self.chunk.as_ref().map(|(c, _)| *c) != Some(chunk) {
            let row = self.leaves.get(chunk)?.ok_or_else(missing)?;
            let hashes = row.value().chunks_exact(32).map(|b| Hash(b.try_into().expect("32 bytes"))).collect();
            self.chunk = Some((chunk, hashes));
        }
        let hashes = &self.chunk.as_ref().expect("just read").1;
        let start = (first % LOG_CHUNK_LEAVES) as usize;
        let leaves = hashes.get(start..start + (1usize << level)).ok_or_else(missing)?;
        Ok(merkle::root(leaves))
    }

    /// Root of the leaf range `[start, start + len)`.
    fn subtree(&mut self, start: u64, len: u64) -> Result<Hash, StoreError> {
        let roots =
            perfect_subtrees(start, len).into_iter().map(|(l, i)| self.node(l, i)).collect::<Result<Vec<_>, _>>()?;
        Ok(fold_perfect_roots(&roots))
    }
}

#[cfg(test)]
mod tests;
