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
//! hands each block's hashes to [`TxIndex::add`], which puts them in an in-memory map
//! (`recent`) before the commit returns, so a transaction is found by hash the moment
//! its submitter is told it committed. The index thread writes whatever has
//! accumulated in one redb transaction (many blocks per transaction once it lags, so
//! more keys share each dirty page), with an fsync at most once a second, records how
//! far the log is indexed in the same transaction, and only then drops the entries from
//! `recent`. After a crash, [`TxIndex::open`] re-indexes the log from the last durable
//! index commit. `recent` is bounded: a commit waits while it holds
//! [`RECENT_MAX`] entries.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `tx_index` | first 8 bytes of the tx hash, log index (u64 BE) | `()` |
//! | `meta` | `indexed` | log size covered by the index (u64 LE) |

use std::collections::HashMap;
use std::path::Path;
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

/// Nice value of the index thread (Linux).
#[cfg(target_os = "linux")]
const INDEX_NICE: i32 = 10;

/// Puts the calling thread in the background (Linux): nice 10, so the block pipeline
/// gets the cores first, and the idle I/O class, so its page writes and fsyncs queue
/// behind the ledger's (its once-a-second fsync of a second's random index pages was
/// seen to coincide with slow ledger fsyncs). Submitters wait on the block pipeline and
/// its fsync, nobody waits on the index file; if the index falls far behind,
/// [`RECENT_MAX`] holds commits back. Not `SCHED_IDLE`: the thread takes the `recent`
/// lock that commits need, and must not be starved while it holds it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn background_priority() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), INDEX_NICE);
    // SAFETY: a plain syscall on the calling thread's own id with integer arguments;
    // no memory is passed to the kernel.
    // IOPRIO_WHO_PROCESS = 1 (takes a thread id); IOPRIO_CLASS_IDLE = 3, shifted by 13.
    let _ = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, libc::gettid(), 3 << 13) };
}

/// Bytes of redb's page cache for the index file.
const INDEX_CACHE_BYTES: usize = 64 * 1024 * 1024;

struct Shared {
    db: Database,
    recent: Mutex<HashMap<Hash, u64>>,
    drained: Condvar,
    /// Set when the index thread stopped on an error; commits then fail.
    failed: Mutex<Option<String>>,
}

/// A block's transactions for the index: the first log index and the hashes in order.
type Batch = (u64, Vec<Hash>);

pub(crate) struct TxIndex {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<Batch>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
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
            recent: Mutex::new(HashMap::new()),
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
                    shared.drained.notify_all();
                }
            })?
        };
        Ok(TxIndex { shared, sender: Mutex::new(Some(sender)), worker: Mutex::new(Some(worker)) })
    }

    /// Waits until there is room for `count` more transactions; errors if the index
    /// thread has failed. Call before a block is committed, so a failure refuses the
    /// block instead of following its commit.
    pub(crate) fn reserve(&self, count: usize) -> Result<(), StoreError> {
        let mut recent = self.shared.recent.lock();
        loop {
            if let Some(e) = self.shared.failed.lock().clone() {
                return Err(StoreError::Index(e));
            }
            if recent.is_empty() || recent.len() + count <= RECENT_MAX {
                return Ok(());
            }
            self.shared.drained.wait_for(&mut recent, Duration::from_millis(100));
        }
    }

    /// Makes a committed block's transactions findable now and queues them for the file.
    pub(crate) fn add(&self, first_log_index: u64, hashes: &[Hash]) {
        {
            let mut recent = self.shared.recent.lock();
            recent.reserve(hashes.len());
            for (i, h) in hashes.iter().enumerate() {
                recent.insert(*h, first_log_index + i as u64);
            }
        }
        if let Some(s) = self.sender.lock().as_ref() {
            // A send fails only if the thread stopped, which `failed` reports.
            let _ = s.send((first_log_index, hashes.to_vec()));
        }
    }

    /// Log indexes of the transactions whose hash may be `hash` (the file keys only a
    /// prefix of the hash: the caller checks each candidate).
    pub(crate) fn candidates(&self, hash: &Hash) -> Result<Vec<u64>, StoreError> {
        // `recent` first, then a read transaction begun after: an entry leaves `recent`
        // only after the index commit that holds it, which that transaction then sees.
        if let Some(i) = self.shared.recent.lock().get(hash) {
            return Ok(vec![*i]);
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
        self.shared.recent.lock().len()
    }

    /// Waits until every added transaction is in the index file (tests, benchmarks).
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let mut recent = self.shared.recent.lock();
        while !recent.is_empty() {
            if let Some(e) = self.shared.failed.lock().clone() {
                return Err(StoreError::Index(e));
            }
            self.shared.drained.wait_for(&mut recent, Duration::from_millis(100));
        }
        Ok(())
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
fn run(shared: &Shared, receiver: mpsc::Receiver<Batch>) -> Result<(), StoreError> {
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
        let mut count = batches[0].1.len();
        let mut disconnected = false;
        let gather_until = Instant::now() + GATHER;
        while count < BATCH_MAX {
            match receiver.recv_timeout(gather_until.saturating_duration_since(Instant::now())) {
                Ok(b) => {
                    count += b.1.len();
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
        write(&shared.db, &batches, durable)?;
        if durable {
            (dirty, last_durable) = (false, Instant::now());
        } else {
            dirty = true;
        }
        {
            let mut recent = shared.recent.lock();
            for (_, hashes) in &batches {
                for h in hashes {
                    recent.remove(h);
                }
            }
        }
        shared.drained.notify_all();
        if disconnected {
            return Ok(());
        }
    }
}

/// Writes the batches' keys, sorted, and the new indexed log size, in one transaction.
fn write(db: &Database, batches: &[Batch], durable: bool) -> Result<(), StoreError> {
    let mut keys: Vec<[u8; 16]> = batches
        .iter()
        .flat_map(|(first, hashes)| hashes.iter().enumerate().map(move |(i, h)| tx_index_key(&h.0, first + i as u64)))
        .collect();
    keys.sort_unstable();
    let indexed = batches.iter().map(|(first, hashes)| first + hashes.len() as u64).max().unwrap_or(0);
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
    let mut batch: Vec<Hash> = Vec::new();
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
            batch.push(sha256(tx));
            if batch.len() >= BATCH_MAX {
                write(db, &[(batch_first, std::mem::take(&mut batch))], true)?;
                batch_first = index + 1;
            }
        }
    }
    if !batch.is_empty() {
        write(db, &[(batch_first, batch)], true)?;
    }
    Ok(())
}
