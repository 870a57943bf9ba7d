//! The transaction-hash index: tx hash -> log index, in its own directory of sorted
//! runs (see [`runs`]), written by a background thread off the commit path.
//!
//! A hash index is the one structure whose keys are random: in a B-tree each of a
//! block's transactions lands on its own page. Written inside the block's fsync'd redb
//! transaction, the index inserts took 7-16 ms and the fsync 11-14 ms of a 30-40 ms
//! commit (blocks of about 1,300 transfers); in a redb file of its own, written once a
//! second, its commits still dirtied nearly every leaf page, and the ledger's fsync took
//! 10-12 ms instead of 1-2 ms while they were written. Sorted runs are written
//! sequentially: one second of 30,000 transactions is a 480 KB file.
//!
//! The index is derived data: the `txs` table of the ledger file holds every committed
//! transaction, so the index never needs to be durable with the block. The ledger commit
//! hands each block's hashes to [`TxIndex::add`], which queues them in memory
//! (`recent`, one sorted entry per block) before the commit returns, so a transaction is
//! found by hash the moment its submitter is told it committed. The index thread writes
//! whatever has accumulated for [`GATHER`] as one run (fsync'd), and only then lets the
//! committer drop those blocks from `recent`. After a crash, [`TxIndex::open`] re-indexes
//! the log beyond the last whole run. `recent` is bounded: a commit waits while it holds
//! [`RECENT_MAX`] transactions or [`RECENT_BLOCKS_MAX`] blocks.
//!
//! Only the committing thread changes `recent` (lookups read it): the index thread
//! publishes how far the runs reach through an atomic and never takes that lock, so
//! its low priority cannot hold up a commit. (When the index thread removed its 30,000
//! entries one by one from a single map under that lock, a commit waited whenever the
//! thread was preempted in the middle.)

mod runs;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use redb::{Database, ReadableDatabase, ReadableTable};
use verity_types::{sha256, Hash};

use self::runs::{Record, Runs};
use crate::error::StoreError;
use crate::keys::{tx_chunk_len, tx_chunk_row, tx_index_key, TXS};

/// Most committed transactions waiting for the index thread; a commit that would pass
/// it waits. About 64 bytes each in memory.
pub const RECENT_MAX: usize = 1 << 18;
/// Most committed blocks waiting for the index thread: a lookup searches each of them.
const RECENT_BLOCKS_MAX: usize = 4096;
/// Most transactions the index thread writes as one run.
const BATCH_MAX: usize = 1 << 17;
/// Most transactions in one run written when the index catches up with the log on open.
const CATCH_UP_BATCH: usize = 1 << 20;
/// The index thread gathers blocks for up to this long (or [`BATCH_MAX`] transactions)
/// and writes them as one run: fewer, larger runs mean fewer fsyncs and merges.
const GATHER: Duration = Duration::from_millis(1000);

/// Puts the calling thread in the background (Linux): the `SCHED_IDLE` policy, so it
/// runs only on CPU time the rest of the process leaves over, and the idle I/O class, so
/// its page writes and fsyncs queue behind the ledger's. Submitters wait on the block
/// pipeline and its fsync, nobody waits on the index files. Measured at half of peak
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

/// One committed block's transactions not yet in a run.
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

    /// The block's records in the index.
    fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.sorted.iter().map(|(h, i)| tx_index_key(&h.0, self.first + u64::from(*i)))
    }

    fn find(&self, hash: &Hash) -> Option<u64> {
        let i = self.sorted.binary_search_by(|(h, _)| h.cmp(hash)).ok()?;
        Some(self.first + u64::from(self.sorted[i].1))
    }
}

/// The committed blocks not yet known to be in a run, oldest first.
#[derive(Default)]
struct Recent {
    blocks: VecDeque<Arc<Pending>>,
    /// Transactions in `blocks`.
    len: usize,
}

impl Recent {
    /// Takes out the blocks that the runs cover (log indexes below `indexed`);
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
    runs: Runs,
    /// Changed only by the committing thread (and read by lookups): the index thread
    /// never takes this lock, so its low priority can never hold up a commit.
    recent: Mutex<Recent>,
    /// Log size that the runs cover, published by the index thread after each run it
    /// writes; `recent` drops the blocks below it.
    indexed: AtomicU64,
    /// Paired with `drained`, which the index thread signals after each run (or
    /// failure); taken only by callers that must wait for the index thread.
    progress: Mutex<()>,
    drained: Condvar,
    /// Set when the index thread stopped on an error (its files failed); commits then
    /// fail.
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
    /// Opens (creating if missing) the index directory and indexes every transaction of
    /// `ledger` beyond what its runs cover (after a crash, or on a ledger written before
    /// the index had this form), then starts the index thread.
    pub(crate) fn open(dir: &Path, ledger: &Database) -> Result<TxIndex, StoreError> {
        let runs = Runs::open(dir)?;
        catch_up(&runs, ledger)?;
        let indexed = AtomicU64::new(runs.indexed());
        let shared = Arc::new(Shared {
            runs,
            recent: Mutex::new(Recent::default()),
            indexed,
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

    /// Waits until `ready(transactions, blocks)` holds for what the runs do not
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

    /// Log indexes of the transactions whose hash may be `hash` (the runs keep only a
    /// prefix of the hash: the caller checks each candidate).
    pub(crate) fn candidates(&self, hash: &Hash) -> Result<Vec<u64>, StoreError> {
        // `recent` first, then the runs: a block leaves `recent` only after the run that
        // holds it is in the list, which the later snapshot then sees.
        if let Some(i) = self.shared.recent.lock().blocks.iter().rev().find_map(|b| b.find(hash)) {
            return Ok(vec![i]);
        }
        self.shared.runs.find(&hash.0[..8])
    }

    /// Committed transactions not yet written to the runs.
    pub(crate) fn lag(&self) -> usize {
        let indexed = self.shared.indexed.load(Ordering::Acquire);
        let mut recent = self.shared.recent.lock();
        let done = recent.prune(indexed);
        let len = recent.len;
        drop(recent);
        drop(done);
        len
    }

    /// Waits until every added transaction is in a run (tests, benchmarks).
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.wait_until(|_, blocks| blocks == 0)
    }
}

impl Drop for TxIndex {
    /// Stops the thread after it has written everything queued.
    fn drop(&mut self) {
        self.sender.lock().take();
        if let Some(h) = self.worker.lock().take() {
            let _ = h.join();
        }
    }
}

/// The index thread: writes what has accumulated for [`GATHER`] as one run.
fn run(shared: &Shared, receiver: mpsc::Receiver<Arc<Pending>>) -> Result<(), StoreError> {
    while let Ok(first) = receiver.recv() {
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
        let (start, end) = (batches[0].first, batches[batches.len() - 1].end());
        let started = Instant::now();
        shared.runs.add(start, end, batches.iter().flat_map(|b| b.records()).collect())?;
        tracing::debug!(records = count, ms = started.elapsed().as_secs_f64() * 1e3, "tx index run written");
        shared.indexed.fetch_max(end, Ordering::AcqRel);
        shared.signal();
        shared.runs.merge()?;
        if disconnected {
            break;
        }
    }
    Ok(())
}

/// Indexes the ledger's transactions beyond what `runs` cover. Runs that reach past the
/// end of the log (an index from another ledger) are dropped first.
fn catch_up(runs: &Runs, ledger: &Database) -> Result<(), StoreError> {
    let txn = ledger.begin_read()?;
    let txs = match txn.open_table(TXS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return runs.clear(),
        Err(e) => return Err(e.into()),
    };
    let log_size = match txs.last()? {
        Some((key, chunk)) => {
            key.value() + tx_chunk_len(chunk.value()).ok_or_else(|| StoreError::corrupt("transaction chunk"))? as u64
        }
        None => 0,
    };
    if runs.indexed() > log_size {
        tracing::warn!(indexed = runs.indexed(), log_size, "the index covers more than the log; re-indexing");
        runs.clear()?;
    }
    let indexed = runs.indexed();
    let start = txs.range(..=indexed)?.next_back().transpose()?.map(|(k, _)| k.value()).unwrap_or(0);
    let mut batch: Vec<Record> = Vec::new();
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
            if batch.len() >= CATCH_UP_BATCH {
                runs.add(batch_first, index + 1, std::mem::take(&mut batch))?;
                runs.merge()?;
                batch_first = index + 1;
            }
        }
    }
    let end = batch_first + batch.len() as u64;
    runs.add(batch_first, end, batch)?;
    runs.merge()
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
