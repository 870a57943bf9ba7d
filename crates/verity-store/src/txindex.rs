//! The transaction-hash index: tx hash -> log index, in its own redb file, written by a
//! background thread off the commit path.
//!
//! A hash index is the one structure whose keys are random: each of a block's
//! transactions lands on its own B-tree page, so writing it inside the block's fsync'd
//! transaction made redb write and fsync a page per transaction. Measured on the
//! ingest benchmark (blocks of about 1,300 transfers): the index inserts took 7-16 ms and
//! the fsync 11-14 ms of a 30-40 ms commit; without them the fsync took under 2 ms.
//!
//! The index is derived data: the `txs` table of the ledger file holds every committed
//! transaction, so the index never needs to be durable with the block. The ledger commit
//! hands each block's hashes to [`TxIndex::add`], which queues them in memory
//! (`recent`, one sorted entry per block) before the commit returns, so a transaction is
//! found by hash the moment its submitter is told it committed. The index thread writes
//! whatever has accumulated in one redb transaction (many blocks per transaction once it
//! lags, so more keys share each dirty page), with an fsync at most once a second,
//! records how far the log is indexed in the same transaction, and only then lets the
//! committer drop those blocks from `recent`. After a crash, [`TxIndex::open`]
//! re-indexes the log from the last durable index commit. `recent` is bounded: a commit
//! waits while it holds [`RECENT_MAX`] transactions or [`RECENT_BLOCKS_MAX`] blocks.
//!
//! Only the committing thread changes `recent` (lookups read it): the index thread
//! publishes how far the file reaches through an atomic and never takes that lock, so
//! its low priority cannot hold up a commit. (When the index thread removed its 30,000
//! entries one by one from a single map under that lock, a commit waited whenever the
//! thread was preempted in the middle.)
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `tx_index` | first 8 bytes of the tx hash, log index (u64 BE) | `()` |
//! | `meta` | `indexed` | log size covered by the index (u64 LE) |

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use verity_types::{sha256, Hash};

use crate::error::StoreError;
use crate::keys::{tx_chunk_len, tx_chunk_row, tx_index_key, TXS};

const TX_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("tx_index");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_INDEXED: &str = "indexed";

/// Most committed transactions waiting for the index thread; a commit that would pass
/// it waits. About 64 bytes each in memory.
pub const RECENT_MAX: usize = 1 << 18;
/// Most committed blocks waiting for the index thread: a lookup searches each of them.
const RECENT_BLOCKS_MAX: usize = 4096;
/// Most transactions the index thread writes in one redb transaction.
const BATCH_MAX: usize = 1 << 16;
/// The index thread gathers blocks for up to this long (or [`BATCH_MAX`] transactions)
/// before it writes: random keys dirty a B-tree page each, so one larger transaction
/// copies and checksums each page once instead of once per small transaction. Measured
/// at half of peak ingest (about 25,000 tx/s): gathering 100 ms, the index thread took
/// 13.5% of the process's CPU samples; gathering 1 s, 4.7%.
const GATHER: Duration = Duration::from_millis(1000);
/// Longest time between two fsync'd index commits while blocks keep coming.
const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// Puts the calling thread in the background (Linux): the `SCHED_IDLE` policy, so it
/// runs only on CPU time the rest of the process leaves over, and the idle I/O class, so
/// its page writes and fsyncs queue behind the ledger's. Submitters wait on the block
/// pipeline and its fsync, nobody waits on the index file. Measured at half of peak
/// ingest: at nice 10 its once-a-second write (about 60 ms of inserts, then a commit)
/// still took most of a core for 90 ms and slowed the blocks around it (p99 47-71 ms in
/// three runs); with `SCHED_IDLE`, 35-42 ms. Safe because the thread holds no lock a
/// commit needs (see [`Shared::recent`]); if it falls far behind, [`RECENT_MAX`] makes
/// commits wait, which frees the CPU it needs.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn background_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 is the
    // calling thread.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    // SAFETY: a plain syscall on the calling thread's own id with integer arguments;
    // no memory is passed to the kernel.
    // IOPRIO_WHO_PROCESS = 1 (takes a thread id); IOPRIO_CLASS_IDLE = 3, shifted by 13.
    let _ = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, libc::gettid(), 3 << 13) };
}

/// Bytes of redb's page cache for the index file.
const INDEX_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// One committed block's transactions not yet in the index file.
struct Pending {
    first: u64,
    /// The block's hashes sorted, each with its offset in the block.
    sorted: Vec<(Hash, u32)>,
}

impl Pending {
    fn new(first: u64, hashes: &[Hash]) -> Pending {
        let mut sorted: Vec<(Hash, u32)> = hashes.iter().enumerate().map(|(i, h)| (*h, i as u32)).collect();
        sorted.sort_unstable();
        Pending { first, sorted }
    }

    fn len(&self) -> usize {
        self.sorted.len()
    }

    /// One past the last log index of the block.
    fn end(&self) -> u64 {
        self.first + self.len() as u64
    }

    /// The block's keys in the index file.
    fn keys(&self) -> impl Iterator<Item = [u8; 16]> + '_ {
        self.sorted.iter().map(|(h, i)| tx_index_key(&h.0, self.first + u64::from(*i)))
    }

    fn find(&self, hash: &Hash) -> Option<u64> {
        let i = self.sorted.binary_search_by(|(h, _)| h.cmp(hash)).ok()?;
        Some(self.first + u64::from(self.sorted[i].1))
    }
}

/// The committed blocks not yet known to be in the index file, oldest first.
#[derive(Default)]
struct Recent {
    blocks: VecDeque<Arc<Pending>>,
    /// Transactions in `blocks`.
    len: usize,
}

impl Recent {
    /// Takes out the blocks that the index file covers (log indexes below `indexed`);
    /// the caller drops them after releasing the lock.
    fn prune(&mut self, indexed: u64) -> Vec<Arc<Pending>> {
        let mut done = Vec::new();
        while self.blocks.front().is_some_and(|b| b.end() <= indexed) {
            if let Some(b) = self.blocks.pop_front() {
                self.len -= b.len();
                done.push(b);
            }
        }
        done
    }
}

struct Shared {
    db: Database,
    /// Changed only by the committing thread (and read by lookups): the index thread
    /// never takes this lock, so its low priority can never hold up a commit.
    recent: Mutex<Recent>,
    /// Log size that the index file covers, published by the index thread after each
    /// of its commits; `recent` drops the blocks below it.
    indexed: AtomicU64,
    /// Paired with `drained`, which the index thread signals after each commit (or
    /// failure); taken only by callers that must wait for the index thread.
    progress: Mutex<()>,
    drained: Condvar,
    /// Set when the index thread stopped on an error; commits then fail.
    failed: Mutex<Option<String>>,
}

pub(crate) struct TxIndex {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<Arc<Pending>>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    /// Wakes the callers waiting for the index thread.
    fn signal(&self) {
        drop(self.progress.lock());
        self.drained.notify_all();
    }
}

impl TxIndex {
    /// Opens (creating if missing) the index file and indexes every transaction of
    /// `ledger` beyond what it covers (after a crash, or on a ledger written before the
    /// index had its own file), then starts the index thread.
    pub(crate) fn open(path: &Path, ledger: &Database) -> Result<TxIndex, StoreError> {
        let db = Database::builder().set_cache_size(INDEX_CACHE_BYTES).create(path)?;
        let indexed = {
            let txn = db.begin_write()?;
            txn.open_table(TX_INDEX)?;
            let indexed = txn.open_table(META)?.get(META_INDEXED)?.map(|v| v.value()).unwrap_or(0);
            txn.commit()?;
            indexed
        };
        catch_up(&db, ledger, indexed)?;
        let shared = Arc::new(Shared {
            db,
            recent: Mutex::new(Recent::default()),
            indexed: AtomicU64::new(0),
            progress: Mutex::new(()),
            drained: Condvar::new(),
            failed: Mutex::new(None),
        });
        let (sender, receiver) = mpsc::channel();
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new().name("tx-index".into()).spawn(move || {
                #[cfg(target_os = "linux")]
                background_priority();
                if let Err(e) = run(&shared, receiver) {
                    tracing::error!("the transaction index stopped: {e}");
                    *shared.failed.lock() = Some(e.to_string());
                    shared.signal();
                }
            })?
        };
        Ok(TxIndex { shared, sender: Mutex::new(Some(sender)), worker: Mutex::new(Some(worker)) })
    }

    /// Waits until there is room for `count` more transactions; errors if the index
    /// thread has failed. Call before a block is committed, so a failure refuses the
    /// block instead of following its commit.
    pub(crate) fn reserve(&self, count: usize) -> Result<(), StoreError> {
        self.wait_until(|len, blocks| blocks == 0 || (len + count <= RECENT_MAX && blocks < RECENT_BLOCKS_MAX))
    }

    /// Waits until `ready(transactions, blocks)` holds for what the index file does not
    /// cover yet; errors if the index thread has failed.
    fn wait_until(&self, ready: impl Fn(usize, usize) -> bool) -> Result<(), StoreError> {
        loop {
            if let Some(e) = self.shared.failed.lock().clone() {
                return Err(StoreError::Index(e));
            }
            let indexed = self.shared.indexed.load(Ordering::Acquire);
            let (len, blocks, done) = {
                let mut recent = self.shared.recent.lock();
                let done = recent.prune(indexed);
                (recent.len, recent.blocks.len(), done)
            };
            drop(done);
            if ready(len, blocks) {
                return Ok(());
            }
            // The index thread publishes `indexed` before it takes `progress` to signal,
            // so a commit it finished after the load above is seen here, or wakes us.
            let mut progress = self.shared.progress.lock();
            if self.shared.indexed.load(Ordering::Acquire) == indexed && self.shared.failed.lock().is_none() {
                self.shared.drained.wait_for(&mut progress, Duration::from_millis(100));
            }
        }
    }

    /// Makes a committed block's transactions findable now and queues them for the file.
    pub(crate) fn add(&self, first_log_index: u64, hashes: &[Hash]) {
        if hashes.is_empty() {
            return;
        }
        let block = Arc::new(Pending::new(first_log_index, hashes));
        let indexed = self.shared.indexed.load(Ordering::Acquire);
        let done = {
            let mut recent = self.shared.recent.lock();
            let done = recent.prune(indexed);
            recent.len += hashes.len();
            recent.blocks.push_back(block.clone());
            done
        };
        drop(done);
        if let Some(s) = self.sender.lock().as_ref() {
            // A send fails only if the thread stopped, which `failed` reports.
            let _ = s.send(block);
        }
    }

    /// Log indexes of the transactions whose hash may be `hash` (the file keys only a
    /// prefix of the hash: the caller checks each candidate).
    pub(crate) fn candidates(&self, hash: &Hash) -> Result<Vec<u64>, StoreError> {
        // `recent` first, then a read transaction begun after: a block leaves `recent`
        // only after the index commit that holds it, which that transaction then sees.
        if let Some(i) = self.shared.recent.lock().blocks.iter().rev().find_map(|b| b.find(hash)) {
            return Ok(vec![i]);
        }
        let txn = self.shared.db.begin_read()?;
        let table = txn.open_table(TX_INDEX)?;
        let (lo, hi) = (tx_index_key(&hash.0, 0), tx_index_key(&hash.0, u64::MAX));
        let mut out = Vec::new();
        for entry in table.range(lo.as_slice()..=hi.as_slice())? {
            let (key, _) = entry?;
            let index = key.value().get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
            out.push(index.ok_or_else(|| StoreError::corrupt("tx index key"))?);
        }
        Ok(out)
    }

    /// Committed transactions not yet written to the index file.
    pub(crate) fn lag(&self) -> usize {
        let indexed = self.shared.indexed.load(Ordering::Acquire);
        let mut recent = self.shared.recent.lock();
        let done = recent.prune(indexed);
        let len = recent.len;
        drop(recent);
        drop(done);
        len
    }

    /// Waits until every added transaction is in the index file (tests, benchmarks).
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.wait_until(|_, blocks| blocks == 0)
    }
}

impl Drop for TxIndex {
    /// Stops the thread after it has written (durably) everything queued.
    fn drop(&mut self) {
        self.sender.lock().take();
        if let Some(h) = self.worker.lock().take() {
            let _ = h.join();
        }
    }
}

/// The index thread: writes what has accumulated, fsyncs at most every
/// [`DURABLE_EVERY`], and always before it ends.
fn run(shared: &Shared, receiver: mpsc::Receiver<Arc<Pending>>) -> Result<(), StoreError> {
    let mut last_durable = Instant::now();
    let mut dirty = false;
    loop {
        // Block for the next batch, but wake to make a non-durable tail durable.
        let first = if dirty {
            match receiver.recv_timeout(DURABLE_EVERY.saturating_sub(last_durable.elapsed())) {
                Ok(b) => Some(b),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return durable_commit(&shared.db),
            }
        } else {
            match receiver.recv() {
                Ok(b) => Some(b),
                Err(_) => return Ok(()),
            }
        };
        let Some(first) = first else {
            durable_commit(&shared.db)?;
            (dirty, last_durable) = (false, Instant::now());
            continue;
        };
        let mut batches = vec![first];
        let mut count = batches[0].len();
        let mut disconnected = false;
        let gather_until = Instant::now() + GATHER;
        while count < BATCH_MAX {
            match receiver.recv_timeout(gather_until.saturating_duration_since(Instant::now())) {
                Ok(b) => {
                    count += b.len();
                    batches.push(b);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        let durable = disconnected || last_durable.elapsed() >= DURABLE_EVERY;
        let written = batches.iter().map(|b| b.end()).max().unwrap_or(0);
        write(&shared.db, batches.iter().flat_map(|b| b.keys()).collect(), written, durable)?;
        if durable {
            (dirty, last_durable) = (false, Instant::now());
        } else {
            dirty = true;
        }
        shared.indexed.fetch_max(written, Ordering::AcqRel);
        shared.signal();
        if disconnected {
            return Ok(());
        }
    }
}

/// Writes `keys`, sorted, and the log size they bring the index to, in one transaction.
fn write(db: &Database, mut keys: Vec<[u8; 16]>, indexed: u64, durable: bool) -> Result<(), StoreError> {
    keys.sort_unstable();
    let started = Instant::now();
    let mut txn = db.begin_write()?;
    txn.set_durability(if durable { Durability::Immediate } else { Durability::None })?;
    {
        let mut table = txn.open_table(TX_INDEX)?;
        for key in &keys {
            table.insert(key.as_slice(), ())?;
        }
        let mut meta = txn.open_table(META)?;
        let before = meta.get(META_INDEXED)?.map(|v| v.value()).unwrap_or(0);
        meta.insert(META_INDEXED, indexed.max(before))?;
    }
    let inserted = started.elapsed();
    txn.commit()?;
    tracing::debug!(
        keys = keys.len(),
        durable,
        insert_ms = inserted.as_secs_f64() * 1e3,
        commit_ms = (started.elapsed() - inserted).as_secs_f64() * 1e3,
        "tx index written"
    );
    Ok(())
}

/// An empty fsync'd commit: makes every earlier non-durable commit durable.
fn durable_commit(db: &Database) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    txn.commit()?;
    Ok(())
}

/// Indexes the ledger's transactions from log index `indexed` on, durably.
fn catch_up(db: &Database, ledger: &Database, indexed: u64) -> Result<(), StoreError> {
    let txn = ledger.begin_read()?;
    let txs = match txn.open_table(TXS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let start = txs.range(..=indexed)?.next_back().transpose()?.map(|(k, _)| k.value()).unwrap_or(0);
    let mut batch: Vec<[u8; 16]> = Vec::new();
    let mut batch_first = indexed;
    for row in txs.range(start..)? {
        let (key, chunk) = row?;
        let (first, chunk) = (key.value(), chunk.value());
        let n = tx_chunk_len(chunk).ok_or_else(|| StoreError::corrupt("transaction chunk"))?;
        for i in 0..n {
            let index = first + i as u64;
            if index < indexed {
                continue;
            }
            if index != batch_first + batch.len() as u64 {
                return Err(StoreError::corrupt(format!("the transaction log has a hole before {index}")));
            }
            let row = tx_chunk_row(chunk, i).ok_or_else(|| StoreError::corrupt("transaction row"))?;
            let (tx, _) = crate::keys::split_tx_row(row).ok_or_else(|| StoreError::corrupt("transaction row"))?;
            batch.push(tx_index_key(&sha256(tx).0, index));
            if batch.len() >= BATCH_MAX {
                write(db, std::mem::take(&mut batch), index + 1, true)?;
                batch_first = index + 1;
            }
        }
    }
    if !batch.is_empty() {
        let end = batch_first + batch.len() as u64;
        write(db, batch, end, true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(from: u64, n: u64) -> Vec<Hash> {
        (from..from + n).map(|i| sha256(&i.to_le_bytes())).collect()
    }

    #[test]
    fn a_pending_block_finds_each_of_its_hashes_at_its_log_index() {
        let hs = hashes(0, 300);
        let block = Pending::new(1_000, &hs);
        for (i, h) in hs.iter().enumerate() {
            assert_eq!(block.find(h), Some(1_000 + i as u64));
        }
        assert_eq!(block.find(&sha256(b"absent")), None);
        assert_eq!(block.end(), 1_300);
    }

    #[test]
    fn prune_drops_only_blocks_the_index_file_covers_entirely() {
        let mut recent = Recent::default();
        for (first, n) in [(0u64, 10u64), (10, 5), (15, 20)] {
            recent.blocks.push_back(Arc::new(Pending::new(first, &hashes(first, n))));
            recent.len += n as usize;
        }
        // Indexed up to 12: the second block (10..15) is only partly covered and stays.
        let done = recent.prune(12);
        assert_eq!(done.iter().map(|b| b.first).collect::<Vec<_>>(), vec![0]);
        assert_eq!((recent.len, recent.blocks.len()), (25, 2));
        assert_eq!(recent.prune(15).len(), 1);
        assert_eq!((recent.len, recent.blocks.len()), (20, 1));
        assert!(recent.prune(34).is_empty());
        assert_eq!(recent.prune(35).len(), 1);
        assert_eq!((recent.len, recent.blocks.len()), (0, 0));
    }
}
