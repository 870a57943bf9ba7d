//! The mempool: admitted transactions waiting for a block.
//!
//! Admission runs in the submitter's thread (HTTP handler or bench driver): decode,
//! chain id, stateless checks, batch signature verification (once per transaction,
//! in chunks of up to [`VERIFY_CHUNK`] spread across cores), stateful checks against committed state,
//! duplicate check, then capacity. A full mempool refuses with [`AdmitError::Full`]
//! (HTTP 503 + Retry-After) instead of growing: it never holds more than
//! [`MEMPOOL_TXS_MAX`] transactions or [`MEMPOOL_BYTES_MAX`] bytes.
//!
//! One sender cannot take the mempool for itself: it may have at most
//! [`SENDER_PENDING_MAX`] transactions pending ([`AdmitError::SenderQuota`], HTTP 429),
//! each nonce at most once ([`AdmitError::NoncePending`], HTTP 409: a second
//! transaction with a pending transaction's nonce is refused, never swapped in), and no
//! nonce [`NONCE_WINDOW`] or more ahead of its next nonce ([`AdmitError::NonceTooFar`],
//! HTTP 422; checked by the caller, which reads the sender's account). Without these, one
//! request could queue thousands of transactions that can never be included, which a
//! validator forwards to every peer and keeps for [`PENDING_MAX_AGE`].
//!
//! The block producer takes transactions in arrival order, keeping per-sender nonce
//! order: a transaction whose nonce is ahead of its sender's next nonce waits (up to
//! [`NONCE_GAP_WAIT_MAX`] after its admission), one whose nonce is already used is refused.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rayon::prelude::*;
use tokio::sync::oneshot;
use verity_api::ErrorCode;
use verity_types::keys::verify_each;
use verity_types::limits::BLOCK_TXS_MAX;
use verity_types::{AccountId, Hash, Receipt, SignedTransaction};

/// Most transactions the mempool holds.
pub const MEMPOOL_TXS_MAX: usize = 200_000;
/// Most encoded bytes the mempool holds.
pub const MEMPOOL_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Most signatures verified per batch-verification call (1,024 measured faster than 256).
pub const VERIFY_CHUNK: usize = 1_024;
/// Fewest signatures per batch-verification call when a small submission is split
/// across cores (a floor, so that a tiny submission is not cut into batches of a few).
pub const VERIFY_CHUNK_MIN: usize = 64;
/// How long a transaction with a nonce gap may wait, from its admission, for the
/// transactions before it before it is dropped. A time, not a count of blocks: when
/// blocks come every few milliseconds a count would drop a transaction whose
/// predecessor is only a moment late (submitted concurrently, or retried after a 503).
pub const NONCE_GAP_WAIT_MAX: Duration = Duration::from_secs(10);
/// Replicated mode: how long an admitted transaction may wait for a final block before
/// it is dropped (a nonce gap that never fills, a proposer that never includes it).
pub const PENDING_MAX_AGE: Duration = Duration::from_secs(300);
/// Largest sum of encoded transaction bytes in one block.
pub const BLOCK_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most transactions one sender may have pending at once. A client that keeps more in
/// flight (or a batch larger than this from one sender) is answered
/// [`AdmitError::SenderQuota`] for the rest and retries once some have committed.
pub const SENDER_PENDING_MAX: usize = 1_024;
/// How far a transaction's nonce may be ahead of its sender's next nonce: nonces
/// `next..next + NONCE_WINDOW` are admitted, later ones refused
/// ([`AdmitError::NonceTooFar`]). A transaction beyond its sender's pending quota could
/// never be admitted together with its predecessors anyway.
pub const NONCE_WINDOW: u64 = 1_024;

const _: () = assert!(MEMPOOL_TXS_MAX >= 4 * BLOCK_TXS_MAX);
// A sender can fill its quota with consecutive nonces, and one sender never holds more
// than a small share of the mempool.
const _: () = assert!(NONCE_WINDOW as usize >= SENDER_PENDING_MAX);
const _: () = assert!(SENDER_PENDING_MAX * 100 <= MEMPOOL_TXS_MAX);

/// What a submitter eventually learns about an admitted transaction.
#[derive(Debug, Clone)]
pub enum TxOutcome {
    /// In a block that is durably committed (fsync'd). The receipt says whether the
    /// action succeeded.
    Committed(Receipt),
    /// Dropped before reaching a block.
    Dropped { code: &'static str, message: String },
}

/// Why a transaction was not admitted. Each has a stable machine code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdmitError {
    #[error("{0}")]
    Malformed(String),
    #[error("transaction is for chain {got:?}, this node runs {want:?}")]
    WrongChain { got: String, want: String },
    #[error("signature does not verify")]
    BadSignature,
    #[error("{message}")]
    Rejected { code: &'static str, message: String },
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error("{sender} already has a pending transaction with nonce {nonce}; wait for it to commit or be dropped")]
    NoncePending { sender: AccountId, nonce: u64 },
    #[error("nonce {got} is too far ahead of {sender}'s next nonce {next} (at most {} ahead)", NONCE_WINDOW - 1)]
    NonceTooFar { sender: AccountId, next: u64, got: u64 },
    #[error(
        "{sender} already has {pending} transactions pending (at most {SENDER_PENDING_MAX}); retry once some commit"
    )]
    SenderQuota { sender: AccountId, pending: usize },
    #[error("mempool is full ({0} transactions); retry later")]
    Full(usize),
    #[error("node is shutting down")]
    ShuttingDown,
}

impl AdmitError {
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Malformed(_) => ErrorCode::MalformedTx.as_str(),
            AdmitError::WrongChain { .. } => ErrorCode::WrongChain.as_str(),
            AdmitError::BadSignature => ErrorCode::BadSignature.as_str(),
            AdmitError::Rejected { code, .. } => code,
            AdmitError::Duplicate(_) => ErrorCode::DuplicateTx.as_str(),
            AdmitError::NoncePending { .. } => ErrorCode::NoncePending.as_str(),
            AdmitError::NonceTooFar { .. } => ErrorCode::NonceTooFar.as_str(),
            AdmitError::SenderQuota { .. } => ErrorCode::SenderQuota.as_str(),
            AdmitError::Full(_) => ErrorCode::MempoolFull.as_str(),
            AdmitError::ShuttingDown => ErrorCode::ShuttingDown.as_str(),
        }
    }
}

struct Entry {
    tx: SignedTransaction,
    hash: Hash,
    size: usize,
    admitted: Instant,
    waiter: Option<oneshot::Sender<TxOutcome>>,
}

/// A transaction taken for a block, with what is needed to answer its submitter.
pub struct Taken {
    pub tx: SignedTransaction,
    pub hash: Hash,
    pub admitted: Instant,
    pub waiter: Option<oneshot::Sender<TxOutcome>>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Entry>,
    hashes: HashSet<Hash>,
    /// The nonces of each sender's pending transactions (one transaction per nonce).
    /// Changes together with `hashes`.
    nonces: HashMap<AccountId, BTreeSet<u64>>,
    bytes: usize,
    closed: bool,
}

/// A transaction leaving the mempool: what its bookkeeping needs.
struct Removed {
    hash: Hash,
    size: usize,
    sender: AccountId,
    nonce: u64,
}

impl Removed {
    fn of(e: &Entry) -> Removed {
        Removed { hash: e.hash, size: e.size, sender: e.tx.tx.sender.clone(), nonce: e.tx.tx.nonce }
    }
}

impl Inner {
    /// Why `tx` (hashed `hash`) cannot join the pending transactions, if it cannot.
    fn refusal(&self, tx: &SignedTransaction, hash: &Hash, size: usize) -> Option<AdmitError> {
        if self.closed {
            return Some(AdmitError::ShuttingDown);
        }
        if self.hashes.contains(hash) {
            return Some(AdmitError::Duplicate(*hash));
        }
        let sender = &tx.tx.sender;
        if let Some(nonces) = self.nonces.get(sender) {
            if nonces.contains(&tx.tx.nonce) {
                return Some(AdmitError::NoncePending { sender: sender.clone(), nonce: tx.tx.nonce });
            }
            if nonces.len() >= SENDER_PENDING_MAX {
                return Some(AdmitError::SenderQuota { sender: sender.clone(), pending: nonces.len() });
            }
        }
        // `hashes`, not `queue`: a block being cut holds some entries outside the queue.
        if self.hashes.len() >= MEMPOOL_TXS_MAX || self.bytes + size > MEMPOOL_BYTES_MAX {
            return Some(AdmitError::Full(self.hashes.len()));
        }
        None
    }

    fn forget(&mut self, r: &Removed) {
        self.hashes.remove(&r.hash);
        self.bytes -= r.size;
        if let Some(nonces) = self.nonces.get_mut(&r.sender) {
            nonces.remove(&r.nonce);
            if nonces.is_empty() {
                self.nonces.remove(&r.sender);
            }
        }
    }
}

/// What [`Mempool::wait_for_block_or_idle`] waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Transactions are ready for a block (or the mempool closed with some pending).
    Block,
    /// Nothing was pending for the idle time.
    Idle,
    /// The mempool closed with nothing pending.
    Closed,
}

/// A bounded, thread-safe mempool.
pub struct Mempool {
    inner: Mutex<Inner>,
    ready: Condvar,
    gap_wait: Duration,
}

impl Default for Mempool {
    fn default() -> Self {
        Mempool { inner: Mutex::new(Inner::default()), ready: Condvar::new(), gap_wait: NONCE_GAP_WAIT_MAX }
    }
}

/// Nice value of the admission threads (Linux): block production, which submitters
/// already admitted are waiting on, goes first when the cores are busy.
#[cfg(target_os = "linux")]
const ADMISSION_NICE: i32 = 4;

/// The thread pool that verifies signatures at admission, one thread per core, at a
/// lower priority than the block pipeline.
fn admission_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
            .thread_name(|i| format!("admission-{i}"))
            .start_handler(|_| {
                #[cfg(target_os = "linux")]
                let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), ADMISSION_NICE);
            })
            .build()
            .expect("the admission thread pool starts")
    })
}

/// Verifies the signatures of `txs` in parallel batches; returns one flag per tx.
pub fn verify_signatures(txs: &[SignedTransaction]) -> Vec<bool> {
    admission_pool().install(|| verify_chunks(txs))
}

fn verify_chunks(txs: &[SignedTransaction]) -> Vec<bool> {
    // A submission smaller than one VERIFY_CHUNK is split across the cores anyway: its
    // submitter waits for the whole batch, so a fraction of the wall time at a slightly
    // higher per-signature cost is the better trade.
    let chunk = if txs.len() >= VERIFY_CHUNK {
        VERIFY_CHUNK
    } else {
        txs.len().div_ceil(rayon::current_num_threads().max(1)).max(VERIFY_CHUNK_MIN)
    };
    txs.par_chunks(chunk)
        .flat_map_iter(|chunk| {
            let msgs: Vec<Vec<u8>> = chunk.iter().map(|t| t.tx.signing_bytes()).collect();
            let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
            let sigs: Vec<_> = chunk.iter().map(|t| t.signature).collect();
            let keys: Vec<_> = chunk.iter().map(|t| t.public_key).collect();
            // The ledger's one rule (ZIP-215), batched: the same verdict per transaction
            // as block validation, replay and audit give, whatever else is in the chunk.
            if verify_each(&refs, &sigs, &keys).is_ok() {
                vec![true; chunk.len()]
            } else {
                // Find the culprits one by one; the honest ones still get in.
                chunk.iter().map(|t| t.verify_signature().is_ok()).collect()
            }
        })
        .collect()
}

/// What [`Mempool::take_block`] carries from one window of the queue to the next.
#[derive(Default)]
struct Cut {
    /// Each sender's next nonce in the block being cut.
    expected: BTreeMap<AccountId, Option<u64>>,
    taken: Vec<Taken>,
    /// Looked at and put back (waiting on a nonce gap, or past a full block).
    keep: Vec<Entry>,
    /// Leaving the mempool (taken or dropped).
    removed: Vec<Removed>,
    bytes: usize,
}

impl Mempool {
    /// Pending transactions, counting those a block being cut has out of the queue for
    /// a moment (a count of the queue alone dips while gapped ones are looked at).
    pub fn len(&self) -> usize {
        self.inner.lock().hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.inner.lock().hashes.contains(hash)
    }

    /// How many transactions of `sender` are pending.
    pub fn pending_of(&self, sender: &AccountId) -> usize {
        self.inner.lock().nonces.get(sender).map_or(0, BTreeSet::len)
    }

    /// Why each of `txs` would be refused if inserted now (duplicate, pending nonce,
    /// sender quota, capacity), without inserting anything: admission asks before it
    /// verifies signatures, so refused transactions cost no signature check.
    /// [`Self::insert`] checks again, under the same lock as the insertion.
    pub fn precheck(&self, txs: &[(&SignedTransaction, Hash, usize)]) -> Vec<Option<AdmitError>> {
        let inner = self.inner.lock();
        // Transactions earlier in the same submission count as pending for later ones.
        let mut batch_nonces: HashMap<&AccountId, BTreeSet<u64>> = HashMap::new();
        let mut batch_hashes: HashSet<Hash> = HashSet::new();
        txs.iter()
            .map(|&(tx, hash, size)| {
                let (sender, nonce) = (&tx.tx.sender, tx.tx.nonce);
                let mine = batch_nonces.entry(sender).or_default();
                let pending = inner.nonces.get(sender).map_or(0, BTreeSet::len) + mine.len();
                let refusal = inner.refusal(tx, &hash, size).or_else(|| {
                    if batch_hashes.contains(&hash) {
                        Some(AdmitError::Duplicate(hash))
                    } else if mine.contains(&nonce) {
                        Some(AdmitError::NoncePending { sender: sender.clone(), nonce })
                    } else if pending >= SENDER_PENDING_MAX {
                        Some(AdmitError::SenderQuota { sender: sender.clone(), pending })
                    } else {
                        None
                    }
                });
                if refusal.is_none() {
                    mine.insert(nonce);
                    batch_hashes.insert(hash);
                }
                refusal
            })
            .collect()
    }

    /// Inserts already-verified transactions. Per item: a receiver for the outcome, or
    /// why it was refused.
    pub fn insert(
        &self,
        txs: Vec<(SignedTransaction, Hash, usize)>,
        want_outcome: bool,
    ) -> Vec<Result<Option<oneshot::Receiver<TxOutcome>>, AdmitError>> {
        let mut inner = self.inner.lock();
        let mut out = Vec::with_capacity(txs.len());
        let now = Instant::now();
        for (tx, hash, size) in txs {
            if let Some(e) = inner.refusal(&tx, &hash, size) {
                out.push(Err(e));
                continue;
            }
            let (waiter, rx) = if want_outcome {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            } else {
                (None, None)
            };
            inner.hashes.insert(hash);
            inner.nonces.entry(tx.tx.sender.clone()).or_default().insert(tx.tx.nonce);
            inner.bytes += size;
            inner.queue.push_back(Entry { tx, hash, size, admitted: now, waiter });
            out.push(Ok(rx));
        }
        drop(inner);
        self.ready.notify_one();
        out
    }

    /// Stops accepting transactions and wakes the producer.
    pub fn close(&self) {
        self.inner.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// Waits until a block should be cut: `target` transactions are pending, or the
    /// oldest has waited `interval`, or the mempool is closed. Returns false when closed
    /// and empty.
    pub fn wait_for_block(&self, target: usize, interval: Duration) -> bool {
        self.wait_for_block_or_idle(target, interval, None) == Wait::Block
    }

    /// [`Self::wait_for_block`], but when `idle` is given, returns [`Wait::Idle`] once
    /// nothing was pending for that long (the embedded node's clock: see
    /// `NodeOptions::tick`).
    pub fn wait_for_block_or_idle(&self, target: usize, interval: Duration, idle: Option<Duration>) -> Wait {
        let started = std::time::Instant::now();
        let mut inner = self.inner.lock();
        loop {
            if inner.queue.is_empty() {
                if inner.closed {
                    return Wait::Closed;
                }
                if idle.is_some_and(|d| started.elapsed() >= d) {
                    return Wait::Idle;
                }
                self.ready.wait_for(&mut inner, Duration::from_millis(100));
                continue;
            }
            if inner.closed || inner.queue.len() >= target {
                return Wait::Block;
            }
            let waited = inner.queue.front().map(|e| e.admitted.elapsed()).unwrap_or_default();
            if waited >= interval {
                return Wait::Block;
            }
            self.ready.wait_for(&mut inner, interval - waited);
        }
    }

    /// Takes up to `max` transactions for the next block, in arrival order and nonce
    /// order per sender. `next_nonce` gives a sender's committed next nonce (None if the
    /// sender does not exist). Transactions with an already-used nonce are answered as
    /// dropped; ones with a nonce gap stay queued.
    pub fn take_block(&self, max: usize, mut next_nonce: impl FnMut(&AccountId) -> Option<u64>) -> Vec<Taken> {
        let mut cut = Cut::default();
        // Pop candidates a window at a time under the lock, decide outside it, and put
        // back what waits. Windows continue past transactions that wait on a nonce gap
        // until the block is full or the whole queue was looked at: a front made only of
        // gapped transactions (their predecessors arrived later, e.g. resubmitted after
        // `Full`) must not hide the predecessors behind it.
        let mut unseen = self.inner.lock().queue.len();
        let mut full = false;
        while !full && unseen > 0 {
            let window: Vec<Entry> = {
                let mut inner = self.inner.lock();
                let n = unseen.min(max.saturating_mul(2)).min(inner.queue.len());
                inner.queue.drain(..n).collect()
            };
            if window.is_empty() {
                break;
            }
            unseen -= window.len();
            full = self.take_from(window, max, &mut next_nonce, &mut cut);
        }
        let mut inner = self.inner.lock();
        for r in &cut.removed {
            inner.forget(r);
        }
        for e in cut.keep.into_iter().rev() {
            inner.queue.push_front(e);
        }
        cut.taken
    }

    /// One window of [`Self::take_block`]: returns whether the block is full.
    fn take_from(
        &self,
        window: Vec<Entry>,
        max: usize,
        next_nonce: &mut impl FnMut(&AccountId) -> Option<u64>,
        cut: &mut Cut,
    ) -> bool {
        let Cut { expected, taken, keep, removed, bytes } = cut;
        let mut full = false;
        for mut e in window {
            if full || taken.len() >= max || *bytes + e.size > BLOCK_BYTES_MAX {
                full = true;
                keep.push(e);
                continue;
            }
            let sender = &e.tx.tx.sender;
            let exp = match expected.get(sender) {
                Some(v) => *v,
                None => {
                    let v = next_nonce(sender);
                    expected.insert(sender.clone(), v);
                    v
                }
            };
            match exp {
                // Unknown sender (e.g. created in a block that has not committed yet
                // when admitted): let execution record the failure.
                None => {
                    *bytes += e.size;
                    removed.push(Removed::of(&e));
                    taken.push(Taken { tx: e.tx, hash: e.hash, admitted: e.admitted, waiter: e.waiter });
                }
                Some(n) if e.tx.tx.nonce == n => {
                    expected.insert(sender.clone(), Some(n + 1));
                    *bytes += e.size;
                    removed.push(Removed::of(&e));
                    taken.push(Taken { tx: e.tx, hash: e.hash, admitted: e.admitted, waiter: e.waiter });
                }
                Some(n) if e.tx.tx.nonce < n => {
                    removed.push(Removed::of(&e));
                    if let Some(w) = e.waiter.take() {
                        let _ = w.send(TxOutcome::Dropped {
                            code: "bad_nonce",
                            message: format!("nonce {} was already used; next nonce is {n}", e.tx.tx.nonce),
                        });
                    }
                }
                Some(n) => {
                    if e.admitted.elapsed() > self.gap_wait {
                        removed.push(Removed::of(&e));
                        if let Some(w) = e.waiter.take() {
                            let _ = w.send(TxOutcome::Dropped {
                                code: ErrorCode::NonceGap.as_str(),
                                message: format!(
                                    "nonce {} stayed ahead of the sender's next nonce {n} for {} s",
                                    e.tx.tx.nonce,
                                    self.gap_wait.as_secs_f64()
                                ),
                            });
                        }
                    } else {
                        keep.push(e);
                    }
                }
            }
        }
        full || taken.len() >= max
    }

    /// Replicated mode: up to `max` transactions for a proposal, without removing them
    /// (the proposal may never be finalized). Arrival order, nonce order per sender from
    /// `next_nonce` (the state the block builds on); none in `exclude` (in uncommitted
    /// ancestors); a nonce gap or an already-used nonce is skipped here and answered by
    /// [`Self::finish`] once blocks are final.
    pub fn peek_block(
        &self,
        max: usize,
        exclude: &HashSet<Hash>,
        next_nonce: &dyn Fn(&AccountId) -> Option<u64>,
    ) -> Vec<SignedTransaction> {
        let inner = self.inner.lock();
        let mut expected: BTreeMap<&AccountId, Option<u64>> = BTreeMap::new();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for e in inner.queue.iter() {
            if out.len() >= max {
                break;
            }
            if exclude.contains(&e.hash) || bytes + e.size > BLOCK_BYTES_MAX {
                continue;
            }
            let sender = &e.tx.tx.sender;
            let exp = *expected.entry(sender).or_insert_with(|| next_nonce(sender));
            match exp {
                None => {}
                Some(n) if e.tx.tx.nonce == n => {
                    expected.insert(sender, Some(n + 1));
                }
                Some(_) => continue,
            }
            bytes += e.size;
            out.push(e.tx.clone());
        }
        out
    }

    /// Replicated mode: these transactions are in a final block. Removes them and
    /// returns, per hash, its submitter's answer channel and admission time (for
    /// transactions admitted here). Then answers and drops what can never be included:
    /// transactions of `senders` whose nonce is below the sender's committed next nonce
    /// (`committed_nonce`), and any transaction older than [`PENDING_MAX_AGE`].
    pub fn finish(
        &self,
        hashes: &[Hash],
        committed_nonce: &dyn Fn(&AccountId) -> Option<u64>,
    ) -> Vec<Option<(Option<oneshot::Sender<TxOutcome>>, Instant)>> {
        let mut inner = self.inner.lock();
        let done: HashSet<&Hash> = hashes.iter().filter(|h| inner.hashes.contains(*h)).collect();
        let mut found: std::collections::HashMap<Hash, (Option<oneshot::Sender<TxOutcome>>, Instant)> =
            std::collections::HashMap::with_capacity(done.len());
        let mut senders: BTreeMap<AccountId, Option<u64>> = BTreeMap::new();
        if !done.is_empty() {
            let queue = std::mem::take(&mut inner.queue);
            let mut keep = VecDeque::with_capacity(queue.len());
            let mut finished = Vec::with_capacity(done.len());
            for e in queue {
                if done.contains(&e.hash) {
                    senders.insert(e.tx.tx.sender.clone(), None);
                    finished.push(Removed::of(&e));
                    found.insert(e.hash, (e.waiter, e.admitted));
                } else {
                    keep.push_back(e);
                }
            }
            inner.queue = keep;
            for r in &finished {
                inner.forget(r);
            }
        }
        for (s, n) in senders.iter_mut() {
            *n = committed_nonce(s);
        }
        let now = Instant::now();
        let mut dropped = Vec::new();
        let expired_front = inner.queue.front().is_some_and(|e| now.duration_since(e.admitted) > PENDING_MAX_AGE);
        if senders.is_empty() && !expired_front {
            return hashes.iter().map(|h| found.remove(h)).collect();
        }
        inner.queue.retain_mut(|e| {
            let stale = senders.get(&e.tx.tx.sender).copied().flatten().filter(|&n| e.tx.tx.nonce < n);
            let expired = now.duration_since(e.admitted) > PENDING_MAX_AGE;
            if stale.is_none() && !expired {
                return true;
            }
            dropped.push(Removed::of(e));
            if let Some(w) = e.waiter.take() {
                let _ = w.send(match stale {
                    Some(n) => TxOutcome::Dropped {
                        code: "bad_nonce",
                        message: format!("nonce {} was used by another transaction; next nonce is {n}", e.tx.tx.nonce),
                    },
                    None => TxOutcome::Dropped {
                        code: "expired",
                        message: format!("not included within {} s", PENDING_MAX_AGE.as_secs()),
                    },
                });
            }
            false
        });
        for r in &dropped {
            inner.forget(r);
        }
        hashes.iter().map(|h| found.remove(h)).collect()
    }

    /// Answers every queued submitter (used at shutdown).
    pub fn drain_all(&self, code: &'static str, message: &str) {
        let mut inner = self.inner.lock();
        for mut e in inner.queue.drain(..) {
            if let Some(w) = e.waiter.take() {
                let _ = w.send(TxOutcome::Dropped { code, message: message.to_string() });
            }
        }
        inner.hashes.clear();
        inner.nonces.clear();
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_types::keys::SecretKey;
    use verity_types::Burn;
    use verity_types::{Action, AssetId, Transaction};

    fn tx(sender: &str, nonce: u64) -> (SignedTransaction, Hash, usize) {
        let t = Transaction {
            chain_id: "c".into(),
            sender: AccountId::new(sender).expect("id"),
            nonce,
            action: Action::Burn(Burn { asset: AssetId::new("usd").expect("id"), amount: 1 }),
        }
        .sign(&SecretKey::from_seed([3; 32]));
        let bytes = t.to_bytes();
        (t.clone(), verity_types::sha256(&bytes), bytes.len())
    }

    #[test]
    fn takes_in_nonce_order_defers_gaps_and_drops_used_nonces() {
        let m = Mempool::default();
        // a: nonce 1 arrives before 0; b: nonce 0 is already used (next is 1); c: gap at 5.
        let r = m.insert(vec![tx("a", 1), tx("a", 0), tx("b", 0), tx("c", 5)], true);
        assert!(r.iter().all(|x| x.is_ok()));
        let mut rxs: Vec<_> = r.into_iter().map(|x| x.expect("ok").expect("receiver")).collect();
        let next = |s: &AccountId| match s.as_str() {
            "a" => Some(0),
            "b" => Some(1),
            "c" => Some(0),
            _ => None,
        };
        let taken = m.take_block(100, next);
        let got: Vec<(String, u64)> = taken.iter().map(|t| (t.tx.tx.sender.to_string(), t.tx.tx.nonce)).collect();
        // a/1 comes first in arrival order but waits for a/0 within the same pass only if
        // it is seen after it; here it is deferred and a/0 is taken.
        assert_eq!(got, vec![("a".to_string(), 0)]);
        // b/0 was answered as dropped with bad_nonce.
        match rxs.remove(2).try_recv() {
            Ok(TxOutcome::Dropped { code, .. }) => assert_eq!(code, "bad_nonce"),
            other => panic!("expected a bad_nonce drop, got {other:?}"),
        }
        // a/1 and c/5 stay queued.
        assert_eq!(m.len(), 2);
        let taken = m.take_block(100, |s| if s.as_str() == "a" { Some(1) } else { Some(0) });
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].tx.tx.nonce, 1);
        assert_eq!(m.len(), 1, "the gapped transaction waits");
    }

    /// A block being cut holds a window of entries outside the queue: they still count
    /// as pending (the depth `/health` reports, and the capacity admission checks).
    #[test]
    fn transactions_being_looked_at_still_count_as_pending() {
        let m = Mempool::default();
        assert!(m.insert(vec![tx("a", 1), tx("b", 3)], false).iter().all(|r| r.is_ok()));
        let mut seen = Vec::new();
        let taken = m.take_block(100, |_| {
            seen.push(m.len());
            Some(0)
        });
        assert!(taken.is_empty(), "both wait on a gap");
        assert_eq!(seen, vec![2, 2]);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_gap_is_dropped_after_its_wait_not_after_a_count_of_blocks() {
        let m = Mempool { gap_wait: Duration::from_millis(50), ..Mempool::default() };
        let mut rx = m.insert(vec![tx("a", 1)], true).remove(0).expect("admitted").expect("receiver");
        // Many block rounds in quick succession do not drop it...
        for _ in 0..200 {
            assert!(m.take_block(100, |_| Some(0)).is_empty());
        }
        assert_eq!(m.len(), 1, "the gapped transaction still waits");
        assert!(rx.try_recv().is_err(), "not answered yet");
        // ...its age does.
        std::thread::sleep(Duration::from_millis(60));
        assert!(m.take_block(100, |_| Some(0)).is_empty());
        assert_eq!(m.len(), 0);
        match rx.try_recv() {
            Ok(TxOutcome::Dropped { code, .. }) => assert_eq!(code, "nonce_gap"),
            other => panic!("expected a nonce_gap drop, got {other:?}"),
        }
    }

    #[test]
    fn gapped_transactions_at_the_front_do_not_hide_their_predecessors_behind_them() {
        // A front of gapped transactions far longer than one block (their predecessor
        // was resubmitted after `Full` and queued behind them), then the predecessor.
        let m = Mempool::default();
        let gapped: Vec<_> = (1..=50).map(|n| tx("a", n)).collect();
        m.insert(gapped, false);
        m.insert(vec![tx("b", 0), tx("a", 0)], false);
        let mut next = std::collections::HashMap::from([("a".to_string(), 0u64), ("b".to_string(), 0u64)]);
        let mut blocks = 0;
        while !m.is_empty() {
            let taken = m.take_block(4, |s| next.get(&s.to_string()).copied());
            assert!(!taken.is_empty(), "block {blocks} took nothing with {} queued", m.len());
            for t in &taken {
                let n = next.get_mut(&t.tx.tx.sender.to_string()).expect("known sender");
                assert_eq!(t.tx.tx.nonce, *n, "nonce order per sender");
                *n += 1;
            }
            blocks += 1;
        }
        assert_eq!(next["a"], 51);
        assert_eq!(next["b"], 1);
        assert!(blocks <= 14, "{blocks} blocks for 52 transactions of at most 4");
    }

    #[test]
    fn replicated_mode_peeks_without_taking_and_finishes_on_final_blocks() {
        let m = Mempool::default();
        let (a0, a1, a2, b0) = (tx("a", 0), tx("a", 1), tx("a", 2), tx("b", 0));
        // Another transaction of a's with nonce 1: only one of the two can ever be final.
        let other = Transaction {
            chain_id: "c".into(),
            sender: AccountId::new("a").expect("id"),
            nonce: 1,
            action: Action::Burn(Burn { asset: AssetId::new("usd").expect("id"), amount: 2 }),
        }
        .sign(&SecretKey::from_seed([3; 32]));
        let other = (other.clone(), other.hash(), other.to_bytes().len());
        let mut rx = m.insert(vec![a1.clone(), a0.clone(), a2.clone(), b0.clone(), other.clone()], true);
        // One pending transaction per (sender, nonce): the second nonce-1 transaction is
        // refused, not swapped in.
        assert!(matches!(rx[4], Err(AdmitError::NoncePending { nonce: 1, .. })), "{:?}", rx[4]);
        let senders = |s: &AccountId| s.to_string();
        // Arrival order, nonce order per sender on the state the block builds on: a/1
        // arrived before a/0, so this pass takes a/0 and skips a/1 and a/2.
        let got = m.peek_block(10, &HashSet::new(), &|_| Some(0));
        let order: Vec<(String, u64)> = got.iter().map(|t| (senders(&t.tx.sender), t.tx.nonce)).collect();
        assert_eq!(order, vec![("a".to_string(), 0), ("b".to_string(), 0)]);
        assert_eq!(m.len(), 4, "peeking takes nothing");
        // a/0 is in an uncommitted ancestor (excluded), which moved a's nonce to 1.
        let ex: HashSet<Hash> = [a0.1].into_iter().collect();
        let got = m.peek_block(10, &ex, &|s| Some(u64::from(s.as_str() == "a")));
        let a_nonces: Vec<u64> = got.iter().filter(|t| t.tx.sender.as_str() == "a").map(|t| t.tx.nonce).collect();
        assert_eq!(a_nonces, vec![1, 2]);
        // a/0 and the other nonce-1 transaction (admitted by another validator) are final:
        // a/1 never can be, so its submitter is answered bad_nonce and it leaves.
        let done = m.finish(&[a0.1, other.1], &|s| if s.as_str() == "a" { Some(2) } else { Some(0) });
        assert!(done[0].is_some(), "a/0 was admitted here");
        assert!(done[1].is_none(), "the other one was not");
        assert_eq!(m.len(), 2, "a/2 and b/0 wait");
        match rx.remove(0).expect("admitted").expect("receiver").try_recv() {
            Ok(TxOutcome::Dropped { code, .. }) => assert_eq!(code, "bad_nonce"),
            other => panic!("expected a bad_nonce drop, got {other:?}"),
        }
        // a's nonce 1 is no longer pending: the index follows the queue.
        assert_eq!(m.pending_of(&AccountId::new("a").expect("id")), 1);
        let done = m.finish(&[a2.1, b0.1, Hash([9; 32])], &|_| Some(3));
        assert!(done[0].is_some() && done[1].is_some());
        assert!(done[2].is_none(), "a hash never admitted here has no submitter");
        assert!(m.is_empty());
        assert_eq!(m.inner.lock().bytes, 0);
        assert!(m.inner.lock().nonces.is_empty());
    }

    /// A transaction with another amount: same sender and nonce, another hash.
    fn variant(sender: &str, nonce: u64, amount: u128) -> (SignedTransaction, Hash, usize) {
        let t = Transaction {
            chain_id: "c".into(),
            sender: AccountId::new(sender).expect("id"),
            nonce,
            action: Action::Burn(Burn { asset: AssetId::new("usd").expect("id"), amount }),
        }
        .sign(&SecretKey::from_seed([3; 32]));
        let bytes = t.to_bytes();
        (t.clone(), verity_types::sha256(&bytes), bytes.len())
    }

    #[test]
    fn one_transaction_per_sender_and_nonce_is_pending_and_none_is_replaced() {
        let m = Mempool::default();
        let same: Vec<_> = (1..=50).map(|amount| variant("a", 3, amount)).collect();
        let first = same[0].1;
        let r = m.insert(same, false);
        assert!(r[0].is_ok());
        assert!(r[1..].iter().all(|x| matches!(x, Err(AdmitError::NoncePending { nonce: 3, .. }))), "{r:?}");
        assert_eq!(m.len(), 1);
        assert!(m.contains(&first), "the first stays; nothing replaces it");
        // Another sender may use the same nonce, and once a's leaves, a's nonce 3 is free.
        assert!(m.insert(vec![variant("b", 3, 1)], false)[0].is_ok());
        assert_eq!(m.take_block(10, |_| Some(3)).len(), 2);
        assert!(m.insert(vec![variant("a", 3, 2)], false)[0].is_ok());
    }

    #[test]
    fn a_sender_holds_at_most_its_quota_and_others_are_not_affected() {
        let m = Mempool::default();
        let many: Vec<_> = (0..SENDER_PENDING_MAX as u64 + 10).map(|n| tx("a", n)).collect();
        // The cheap check before signatures says the same as the insertion.
        let refs: Vec<_> = many.iter().map(|(t, h, s)| (t, *h, *s)).collect();
        let pre = m.precheck(&refs);
        assert_eq!(pre.iter().filter(|r| r.is_none()).count(), SENDER_PENDING_MAX);
        let r = m.insert(many, false);
        assert_eq!(r.iter().filter(|x| x.is_ok()).count(), SENDER_PENDING_MAX);
        assert!(r[SENDER_PENDING_MAX..].iter().all(|x| matches!(x, Err(AdmitError::SenderQuota { .. }))));
        assert_eq!(m.pending_of(&AccountId::new("a").expect("id")), SENDER_PENDING_MAX);
        assert!(m.insert(vec![tx("b", 0)], false)[0].is_ok(), "another sender still gets in");
        // Transactions leaving the mempool free the sender's quota.
        let taken = m.take_block(100, |_| Some(0));
        assert_eq!(taken.len(), 100);
        assert!(m.insert(vec![tx("a", SENDER_PENDING_MAX as u64 + 5)], false)[0].is_ok());
    }

    #[test]
    fn the_precheck_counts_a_submission_against_itself() {
        let m = Mempool::default();
        let (a, b) = (variant("a", 1, 1), variant("a", 1, 2));
        let refs = [(&a.0, a.1, a.2), (&a.0, a.1, a.2), (&b.0, b.1, b.2)];
        let pre = m.precheck(&refs);
        assert!(pre[0].is_none());
        assert!(matches!(pre[1], Some(AdmitError::Duplicate(_))));
        assert!(matches!(pre[2], Some(AdmitError::NoncePending { .. })));
        assert!(m.is_empty(), "a precheck inserts nothing");
    }

    #[test]
    fn refuses_duplicates_and_respects_block_limit() {
        let m = Mempool::default();
        let t = tx("a", 0);
        assert!(m.insert(vec![t.clone()], false)[0].is_ok());
        assert!(matches!(m.insert(vec![t], false)[0], Err(AdmitError::Duplicate(_))));
        let many: Vec<_> = (1..50).map(|n| tx("a", n)).collect();
        assert!(m.insert(many, false).iter().all(|r| r.is_ok()));
        let taken = m.take_block(10, |_| Some(0));
        assert_eq!(taken.len(), 10);
        assert_eq!(m.len(), 40);
    }

    #[test]
    fn bounded_capacity_refuses_with_full_and_never_grows_past_it() {
        let m = Mempool::default();
        let base = tx("a", 0);
        let mut batch = Vec::with_capacity(MEMPOOL_TXS_MAX + 5);
        for i in 0..(MEMPOOL_TXS_MAX + 5) as u64 {
            // Distinct hashes, senders and nonces are all that matters here (each sender
            // within its quota); skip re-signing.
            let mut h = base.1;
            h.0[..8].copy_from_slice(&i.to_le_bytes());
            let mut t = base.0.clone();
            t.tx.sender = AccountId::new(format!("s{}", i / SENDER_PENDING_MAX as u64)).expect("id");
            t.tx.nonce = i % SENDER_PENDING_MAX as u64;
            batch.push((t, h, base.2));
        }
        let r = m.insert(batch, false);
        assert_eq!(r.iter().filter(|x| x.is_ok()).count(), MEMPOOL_TXS_MAX);
        assert!(r[MEMPOOL_TXS_MAX..].iter().all(|x| matches!(x, Err(AdmitError::Full(_)))));
        assert_eq!(m.len(), MEMPOOL_TXS_MAX);
        m.close();
        assert!(matches!(m.insert(vec![tx("z", 0)], false)[0], Err(AdmitError::ShuttingDown)));
    }
}
