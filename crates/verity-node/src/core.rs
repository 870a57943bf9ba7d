//! The node's core without HTTP: store, mempool, block producer thread, event stream
//! and metrics. The HTTP API and the in-process benchmark both drive this.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use std::collections::HashSet;
use tokio::sync::{broadcast, oneshot};

use verity_api::ErrorCode;
use verity_bft::app::CommitListener;
use verity_bft::ledger::{NextNonce, TxSource};
use verity_consensus::{BlockProducer, Finalizer, Overlay, Proposal, SoloFinalizer, StoreView};
use verity_store::Store;
use verity_types::keys::SecretKey;
use verity_types::limits::BLOCK_TXS_MAX;
use verity_types::{Block, Certificate, Event, Genesis, Hash, Receipt, SignedTransaction, TxStatus};

use crate::datadir;
use crate::error::NodeError;
use crate::http::HttpLimits;
use crate::mempool::{verify_signatures, AdmitError, Mempool, TxOutcome, Wait, NONCE_WINDOW};
use crate::metrics::Metrics;

/// Default time the oldest pending transaction waits before a block is cut.
pub const BLOCK_INTERVAL_MS: u64 = 1;
/// Events buffered for slow event-stream subscribers before they miss some.
pub const EVENT_BUFFER: usize = 16_384;

/// Block production and HTTP settings.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Cut a block when this many transactions are pending...
    pub block_txs_target: usize,
    /// ...or when the oldest pending one has waited this long.
    pub block_interval: Duration,
    /// The HTTP server's bounds (used by [`crate::server::run`]; the core itself serves
    /// no HTTP).
    pub http: HttpLimits,
    /// On a chain with governance, an idle embedded node produces an empty block after
    /// this long without transactions: heights are the ledger's clock (voting periods,
    /// cooling-off, unbonding delays, reward epochs), and without it they would stop
    /// while nobody transacts. `None` never does (a validator network has its own:
    /// an idle leader proposes empty blocks).
    pub tick: Option<Duration>,
}

/// The default [`NodeOptions::tick`]: one block a second while idle, about 86,400 small
/// blocks (a header and certificate each) a day.
pub const TICK_MS: u64 = 1_000;

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            block_txs_target: BLOCK_TXS_MAX,
            block_interval: Duration::from_millis(BLOCK_INTERVAL_MS),
            http: HttpLimits::default(),
            tick: Some(Duration::from_millis(TICK_MS)),
        }
    }
}

/// What admission answers per transaction: its hash (computed once, here, from the
/// canonical encoding) and either, when asked for, a receiver of its outcome, or why it
/// was refused.
pub type Admitted = (Hash, Result<Option<oneshot::Receiver<TxOutcome>>, AdmitError>);

/// One event as streamed to subscribers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EventEnvelope {
    pub height: u64,
    pub tx_hash: Hash,
    pub module: &'static str,
    pub event: Event,
}

/// The running node without its HTTP layer.
pub struct NodeCore {
    pub store: Arc<Store>,
    pub mempool: Arc<Mempool>,
    pub metrics: Arc<Metrics>,
    pub genesis: Genesis,
    pub events: broadcast::Sender<Arc<EventEnvelope>>,
    /// Set when the producer stopped because of a fatal error.
    pub fatal: Arc<Mutex<Option<String>>>,
    stopping: Arc<AtomicBool>,
    producer: Mutex<Option<JoinHandle<()>>>,
    /// Flips to true when the node starts shutting down; long-lived responses (event
    /// streams) end on it so graceful shutdown is not held open by subscribers.
    closing: tokio::sync::watch::Sender<bool>,
    /// Replicated mode: where admitted client transactions go to reach the other validators.
    forward: Mutex<Option<Forward>>,
    /// When the last block was committed (block interval metric).
    last_block: Mutex<Instant>,
    /// Evidence records counted by validator, for `/v1/validators`.
    pub(crate) evidence_tally: Mutex<crate::api_consensus::EvidenceTally>,
    /// The validator key that signs checkpoint notes (`/v1/checkpoints/{height}/note`);
    /// none on a node that holds no validator key.
    note_key: Mutex<Option<SecretKey>>,
}

/// Where a validator forwards the transactions its clients submit.
pub type Forward = futures::channel::mpsc::UnboundedSender<Vec<SignedTransaction>>;

/// The wall clock in milliseconds since the Unix epoch (0 for a clock set before it):
/// the timestamp of the blocks this node proposes, and of the genesis files the front
/// ends create (`datadir::init`, `verity testnet`).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl NodeCore {
    /// Opens (and on first start initialises) the store in a data directory created by
    /// `verity init`, and starts the block producer.
    pub fn open(dir: &Path, options: NodeOptions) -> Result<Arc<NodeCore>, NodeError> {
        let genesis = datadir::read_genesis(dir)?;
        let key = datadir::read_validator_key(dir)?;
        let store_dir = datadir::store_path(dir);
        std::fs::create_dir_all(&store_dir)?;
        let store = Arc::new(Store::open(&store_dir)?);
        Self::start(store, genesis, key, options)
    }

    /// Starts on an opened store, writing the genesis state first if the store is new.
    pub fn start(
        store: Arc<Store>,
        genesis: Genesis,
        key: SecretKey,
        options: NodeOptions,
    ) -> Result<Arc<NodeCore>, NodeError> {
        Self::init_store(&store, &genesis)?;
        let note_key = key.clone();
        let finalizer = SoloFinalizer::new(key, &genesis.validator_set())?;
        let producer = BlockProducer::new(store.clone(), finalizer.index())?;
        let core = Self::new(store, genesis);
        core.set_note_key(note_key);
        let worker = core.clone();
        let handle = std::thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || worker.produce_loop(producer, Box::new(finalizer), options))?;
        *core.producer.lock() = Some(handle);
        Ok(core)
    }

    /// Starts a validator's node in a replicated network: no block producer of its own;
    /// the consensus engine proposes from this node's mempool ([`TxSource`]) and reports
    /// final blocks ([`CommitListener`]). Transactions its clients submit are forwarded to
    /// the other validators through `forward`, once set ([`Self::set_forwarding`]).
    pub fn start_replicated(store: Arc<Store>, genesis: Genesis) -> Result<Arc<NodeCore>, NodeError> {
        Self::init_store(&store, &genesis)?;
        Ok(Self::new(store, genesis))
    }

    fn new(store: Arc<Store>, genesis: Genesis) -> Arc<NodeCore> {
        if !genesis.chain_id_is_bound() {
            tracing::warn!(
                chain_id = %genesis.chain_id,
                "the chain id is not bound to this genesis (a chain created before ids were bound): a transaction \
                 signed for another chain with the same id and keys is valid here too; new chains from `verity \
                 init` or `verity testnet` get bound ids"
            );
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let metrics = Arc::new(Metrics::default());
        metrics.height.set(store.height() as i64);
        Arc::new(NodeCore {
            store,
            mempool: Arc::new(Mempool::default()),
            metrics,
            genesis,
            events,
            fatal: Arc::new(Mutex::new(None)),
            stopping: Arc::new(AtomicBool::new(false)),
            producer: Mutex::new(None),
            closing: tokio::sync::watch::channel(false).0,
            forward: Mutex::new(None),
            last_block: Mutex::new(Instant::now()),
            evidence_tally: Mutex::new(Default::default()),
            note_key: Mutex::new(None),
        })
    }

    /// The validator key this node signs checkpoint notes with.
    pub fn set_note_key(&self, key: SecretKey) {
        *self.note_key.lock() = Some(key);
    }

    /// The checkpoint at `header` as a C2SP signed note signed by this node's validator
    /// key, or `None` if the node holds none.
    pub fn checkpoint_note(&self, header: &verity_types::BlockHeader) -> Option<Result<Vec<u8>, String>> {
        let key = self.note_key.lock().clone()?;
        Some(verity_client::note::sign_checkpoint(header, &key).map_err(|e| e.to_string()))
    }

    /// Checks the store's genesis against `genesis`, or writes the genesis state into a
    /// new store.
    fn init_store(store: &Store, genesis: &Genesis) -> Result<(), NodeError> {
        match store.genesis()? {
            Some(stored) if &stored != genesis => {
                return Err(NodeError::Genesis(format!(
                    "the store was created with genesis {} but genesis.json is {}",
                    stored.hash(),
                    genesis.hash()
                )))
            }
            Some(_) => {}
            None => {
                let state = verity_state::genesis_state(genesis).map_err(|e| NodeError::Genesis(e.to_string()))?;
                store.init_genesis(genesis, &state)?;
            }
        }
        Ok(())
    }

    /// Sends what this node's clients submit (after admission) to `forward`.
    pub fn set_forwarding(&self, forward: Forward) {
        *self.forward.lock() = Some(forward);
    }

    pub fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    /// Admits transactions: chain id, stateful checks against committed state (sender,
    /// key, nonce and its window), the mempool's quotas, then batch signature
    /// verification of what passed, then the mempool. With `want_outcome` each
    /// admitted transaction gets a receiver that yields its outcome after the block is
    /// durably committed.
    pub fn submit(&self, txs: Vec<SignedTransaction>, want_outcome: bool) -> Vec<Admitted> {
        self.admit(txs, want_outcome, true)
    }

    /// Admits transactions another validator forwarded (not forwarded again).
    pub fn submit_forwarded(&self, txs: Vec<SignedTransaction>) {
        self.admit(txs, false, false);
    }

    fn admit(&self, txs: Vec<SignedTransaction>, want_outcome: bool, forward: bool) -> Vec<Admitted> {
        // Encode and hash each transaction once: the hash names it in every answer and in
        // the mempool, the size bounds the mempool.
        let encoded: Vec<(Hash, usize)> = txs
            .iter()
            .map(|tx| {
                let bytes = tx.to_bytes();
                (verity_types::sha256(&bytes), bytes.len())
            })
            .collect();
        if self.stopping.load(Ordering::Acquire) {
            return encoded.into_iter().map(|(h, _)| (h, Err(AdmitError::ShuttingDown))).collect();
        }
        // Cheapest checks first, so that a large submission of transactions that cannot
        // be admitted costs no signature verification: chain id, then the sender's
        // account (exists, the key is its current key, the nonce is not used and within
        // NONCE_WINDOW of the next), then the mempool (duplicate, pending nonce, sender
        // quota, capacity), and only then the signatures of what is left.
        let view = StoreView(&self.store);
        let mut refused: Vec<Option<AdmitError>> = txs
            .iter()
            .map(|tx| {
                if tx.tx.chain_id != self.genesis.chain_id {
                    return Some(AdmitError::WrongChain {
                        got: tx.tx.chain_id.clone(),
                        want: self.genesis.chain_id.clone(),
                    });
                }
                match verity_state::check_admission(&view, &self.genesis.chain_id, tx) {
                    Err(e) => Some(AdmitError::Rejected { code: e.code(), message: e.to_string() }),
                    Ok(next) if tx.tx.nonce - next >= NONCE_WINDOW => {
                        Some(AdmitError::NonceTooFar { sender: tx.tx.sender.clone(), next, got: tx.tx.nonce })
                    }
                    Ok(_) => None,
                }
            })
            .collect();
        let candidates: Vec<(&SignedTransaction, Hash, usize)> = txs
            .iter()
            .zip(&encoded)
            .zip(&refused)
            .filter(|(_, refusal)| refusal.is_none())
            .map(|((tx, (hash, size)), _)| (tx, *hash, *size))
            .collect();
        let mut prechecked = self.mempool.precheck(&candidates).into_iter();
        for refusal in refused.iter_mut().filter(|r| r.is_none()) {
            *refusal = prechecked.next().expect("one precheck per candidate");
        }
        let to_verify: Vec<usize> = (0..txs.len()).filter(|&i| refused[i].is_none()).collect();
        // Usually every transaction is still a candidate: verify them in place.
        let verified = if to_verify.len() == txs.len() {
            verify_signatures(&txs)
        } else {
            verify_signatures(&to_verify.iter().map(|&i| txs[i].clone()).collect::<Vec<_>>())
        };
        for (i, ok) in to_verify.into_iter().zip(verified) {
            if !ok {
                refused[i] = Some(AdmitError::BadSignature);
            }
        }
        let mut admit = Vec::with_capacity(txs.len());
        let mut slots = Vec::with_capacity(txs.len());
        for (i, (tx, (hash, size))) in txs.into_iter().zip(&encoded).enumerate() {
            if refused[i].is_none() {
                admit.push((tx, *hash, *size));
                slots.push(i);
            }
        }
        let mut inserted: Vec<Option<Result<Option<oneshot::Receiver<TxOutcome>>, AdmitError>>> =
            (0..encoded.len()).map(|_| None).collect();
        let outbox = if forward { self.forward.lock().clone() } else { None };
        let copies: Vec<SignedTransaction> =
            if outbox.is_some() { admit.iter().map(|(tx, _, _)| tx.clone()).collect() } else { Vec::new() };
        let results = self.mempool.insert(admit, want_outcome);
        if let Some(out) = outbox {
            let sent: Vec<SignedTransaction> =
                copies.into_iter().zip(&results).filter(|(_, r)| r.is_ok()).map(|(tx, _)| tx).collect();
            if !sent.is_empty() {
                let _ = out.unbounded_send(sent);
            }
        }
        for (i, r) in slots.into_iter().zip(results) {
            inserted[i] = Some(r);
        }
        let mut admitted = 0u64;
        let out: Vec<Admitted> = encoded
            .into_iter()
            .zip(refused.into_iter().zip(inserted))
            .map(|((hash, _), (refusal, insert))| {
                let r = match refusal {
                    Some(e) => Err(e),
                    None => insert.expect("every admitted transaction was offered to the mempool"),
                };
                match &r {
                    Ok(_) => admitted += 1,
                    Err(e) => {
                        self.metrics.txs_rejected.get_or_create(&vec![("code".into(), e.code().into())]).inc();
                    }
                }
                (hash, r)
            })
            .collect();
        self.metrics.txs_admitted.inc_by(admitted);
        self.metrics.mempool_depth.set(self.mempool.len() as i64);
        out
    }

    /// Cuts, executes and certifies blocks, and hands each to the committer thread. Block
    /// n+1 is executed and prepared on block n's uncommitted state while n is written
    /// and fsync'd ([`BlockProducer::propose_after`]); at most one block commits while
    /// the next waits, and submitters are answered only after their block's fsync.
    fn produce_loop(self: Arc<Self>, producer: BlockProducer, mut finalizer: Box<dyn Finalizer>, options: NodeOptions) {
        let producer = Arc::new(producer);
        // The pipeline's parallel work (hashing, tree updates, encoding) runs on thread
        // pools of its own: on the global one it would queue behind admission's
        // signature batches (about 15 ms each), and every block would wait for them. The
        // producer and the committer each have one: on a shared pool, a thread waiting
        // in a `join` inside the producer's tree update picks up the committer's whole
        // commit (fsync included) and returns to the proposal only after it.
        let pool = |name: &'static str| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
                .thread_name(move |i| format!("{name}-{i}"))
                .build()
        };
        let (pool, commit_pool) = match (pool("block-pipeline"), pool("block-commit")) {
            (Ok(p), Ok(c)) => (p, c),
            (Err(e), _) | (_, Err(e)) => {
                return self.fail(format!("block production stopped: no thread pool: {e}"), Vec::new())
            }
        };
        // A rendezvous channel: a hand-off completes only when the committer has
        // finished the block before.
        let (jobs, received) = std::sync::mpsc::sync_channel::<CommitJob>(0);
        let committer = {
            let (core, producer) = (self.clone(), producer.clone());
            std::thread::Builder::new()
                .name("block-committer".into())
                .spawn(move || core.commit_loop(&producer, &commit_pool, received))
        };
        let committer = match committer {
            Ok(handle) => handle,
            Err(e) => return self.fail(format!("block production stopped: no committer thread: {e}"), Vec::new()),
        };
        let mut parent = match producer.tip() {
            Ok(p) => p,
            Err(e) => return self.fail(format!("block production stopped: {e}"), Vec::new()),
        };
        // Only chains with governance keep their clock going (see `NodeOptions::tick`).
        let tick = options.tick.filter(|_| verity_state::governance::constitution(&StoreView(&self.store)).is_some());
        let mut last_block = Instant::now();
        loop {
            let wait = self.mempool.wait_for_block_or_idle(options.block_txs_target, options.block_interval, tick);
            let taken = match wait {
                Wait::Closed => break,
                Wait::Idle => Vec::new(),
                Wait::Block => {
                    let view = Overlay::on(&self.store, &parent);
                    self.mempool
                        .take_block(BLOCK_TXS_MAX, |sender| verity_state::account(&view, sender).map(|a| a.nonce))
                }
            };
            if taken.is_empty() && wait == Wait::Block {
                // Only nonce-gapped transactions are pending: give senders time, but keep
                // the clock going (gapped transactions must not stop the heights).
                if tick.is_none_or(|t| last_block.elapsed() < t) {
                    std::thread::sleep(options.block_interval);
                    continue;
                }
            }
            let started = Instant::now();
            last_block = started;
            let mut waiters = Vec::with_capacity(taken.len());
            let mut txs = Vec::with_capacity(taken.len());
            for t in taken {
                waiters.push((t.waiter, t.admitted));
                txs.push(t.tx);
            }
            let certified = pool.install(|| producer.propose_after(&parent, txs, now_ms())).and_then(|proposal| {
                let certificate = finalizer.finalize(&proposal.block.header)?;
                Ok((proposal, certificate))
            });
            let (proposal, certificate) = match certified {
                Ok(c) => c,
                Err(e) => {
                    self.fail(format!("block production stopped: {e}"), waiters);
                    break;
                }
            };
            parent = proposal.next.clone();
            let job = CommitJob { proposal, certificate, waiters, proposing: started.elapsed() };
            if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
                // The committer stopped on an error (recorded in `fatal`); this block,
                // built on the failed one, is never committed.
                let msg = self.fatal.lock().clone().unwrap_or_else(|| "block production stopped".into());
                self.fail(msg, job.waiters);
                break;
            }
        }
        drop(jobs);
        let _ = committer.join();
        if self.fatal.lock().is_none() {
            self.mempool
                .drain_all(ErrorCode::ShuttingDown.as_str(), "the node stopped before this transaction was included");
        }
    }

    /// Commits the blocks the producer hands over, in order, and answers their submitters.
    fn commit_loop(
        &self,
        producer: &BlockProducer,
        pool: &rayon::ThreadPool,
        jobs: std::sync::mpsc::Receiver<CommitJob>,
    ) {
        let mut last_block = Instant::now();
        for CommitJob { proposal, certificate, waiters, proposing } in jobs {
            let started = Instant::now();
            match pool.install(|| producer.commit(proposal, certificate)) {
                Ok(committed) => {
                    let done = Instant::now();
                    self.metrics.block_commit_seconds.observe((proposing + done.duration_since(started)).as_secs_f64());
                    self.metrics.block_interval_seconds.observe(done.duration_since(last_block).as_secs_f64());
                    last_block = done;
                    let height = committed.block.header.height;
                    self.after_commit(height, committed.receipts, waiters.into_iter().map(Some).collect(), done);
                }
                Err(e) => {
                    // A failed durable write or a broken invariant: stop producing rather
                    // than continue on a store in an unknown state.
                    return self.fail(format!("block production stopped: {e}"), waiters);
                }
            }
        }
    }

    /// Stops block production for good: answers `waiters` and everything queued with
    /// `node_failed`, records why, and closes the mempool.
    fn fail(&self, msg: String, waiters: Vec<Waiter>) {
        tracing::error!("{msg}");
        for (w, _) in waiters {
            if let Some(w) = w {
                let _ = w.send(TxOutcome::Dropped { code: ErrorCode::NodeFailed.as_str(), message: msg.clone() });
            }
        }
        self.fatal.lock().get_or_insert(msg.clone());
        self.mempool.close();
        self.mempool.drain_all(ErrorCode::NodeFailed.as_str(), &msg);
    }

    /// Metrics, events and submitters' answers for a durably committed block. `waiters`
    /// has one entry per receipt: the submitter's channel and admission time, if this
    /// node admitted the transaction.
    fn after_commit(&self, height: u64, receipts: Vec<Receipt>, waiters: Vec<Option<Waiter>>, done: Instant) {
        let m = &self.metrics;
        m.blocks.inc();
        m.height.set(height as i64);
        m.block_txs.observe(receipts.len() as f64);
        let failed = receipts.iter().filter(|r| r.status == TxStatus::Failed).count() as u64;
        m.txs_committed.inc_by(receipts.len() as u64);
        m.txs_failed.inc_by(failed);
        m.mempool_depth.set(self.mempool.len() as i64);
        let subscribed = self.events.receiver_count() > 0;
        // Field values are evaluated only when the debug level is on.
        tracing::debug!(
            height,
            txs = receipts.len(),
            max_wait_ms = waiters
                .iter()
                .flatten()
                .map(|(_, at)| done.duration_since(*at).as_secs_f64() * 1e3)
                .fold(0.0, f64::max),
            "answered"
        );
        for (receipt, admitted) in receipts.into_iter().zip(waiters) {
            let waiter = match admitted {
                Some((w, at)) => {
                    m.submit_to_commit_seconds.observe(done.duration_since(at).as_secs_f64());
                    w
                }
                None => None,
            };
            if subscribed {
                for ev in &receipt.events {
                    let _ = self.events.send(Arc::new(EventEnvelope {
                        height,
                        tx_hash: receipt.tx_hash,
                        module: ev.module(),
                        event: ev.clone(),
                    }));
                }
            }
            if let Some(w) = waiter {
                let _ = w.send(TxOutcome::Committed(receipt));
            }
        }
    }

    /// Whether shutdown has begun (admission is closed).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Tells long-lived responses (event streams) to end.
    pub fn begin_shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Self::begin_shutdown`] was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// Stops admission, lets the producer commit what is pending, and waits for it.
    /// (A validator in a replicated network answers its pending submitters instead: what
    /// the network finalizes later is still on the ledger.)
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        self.mempool.close();
        match self.producer.lock().take() {
            Some(h) => {
                let _ = h.join();
            }
            None => self.mempool.drain_all(
                ErrorCode::ShuttingDown.as_str(),
                "the node stopped before this transaction was final; it may still be finalized by the network",
            ),
        }
    }
}

/// A submitter's answer channel and admission time.
type Waiter = (Option<oneshot::Sender<TxOutcome>>, Instant);

/// A certified block on its way to the committer, with its submitters and the time its
/// proposal took.
struct CommitJob {
    proposal: Proposal,
    certificate: Certificate,
    waiters: Vec<Waiter>,
    proposing: Duration,
}

impl TxSource for NodeCore {
    fn batch(&self, max: usize, exclude: &HashSet<Hash>, next_nonce: NextNonce<'_>) -> Vec<SignedTransaction> {
        self.mempool.peek_block(max, exclude, next_nonce)
    }

    /// Answers are given by [`CommitListener::committed`], which has the receipts.
    fn committed(&self, _hashes: &[Hash]) {}

    fn verified(&self, hash: &Hash) -> bool {
        self.mempool.contains(hash)
    }

    fn has_pending(&self) -> bool {
        !self.mempool.is_empty()
    }
}

impl CommitListener for NodeCore {
    fn committed(&self, block: &Block, _certificate: &Certificate, receipts: Vec<Receipt>) {
        let done = Instant::now();
        let hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
        let view = StoreView(&self.store);
        let waiters = self.mempool.finish(&hashes, &|a| verity_state::account(&view, a).map(|acc| acc.nonce));
        {
            let mut last = self.last_block.lock();
            self.metrics.block_interval_seconds.observe(done.duration_since(*last).as_secs_f64());
            *last = done;
        }
        self.after_commit(block.header.height, receipts, waiters, done);
    }
}
