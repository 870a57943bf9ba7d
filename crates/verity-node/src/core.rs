//! The node's core without HTTP: store, mempool, block producer thread, event stream
//! and metrics. The HTTP API and the in-process benchmark both drive this.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::{broadcast, oneshot};
use verity_consensus::{BlockProducer, Committed, Finalizer, SoloFinalizer, StoreView};
use verity_store::Store;
use verity_types::keys::SecretKey;
use verity_types::limits::BLOCK_TXS_MAX;
use verity_types::{Event, Genesis, Hash, SignedTransaction, TxStatus};

use crate::datadir;
use crate::error::NodeError;
use crate::mempool::{verify_signatures, AdmitError, Mempool, TxOutcome};
use crate::metrics::Metrics;

/// Default time the oldest pending transaction waits before a block is cut.
pub const BLOCK_INTERVAL_MS: u64 = 5;
/// Events buffered for slow event-stream subscribers before they miss some.
pub const EVENT_BUFFER: usize = 16_384;

/// Block production settings.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Cut a block when this many transactions are pending...
    pub block_txs_target: usize,
    /// ...or when the oldest pending one has waited this long.
    pub block_interval: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions { block_txs_target: BLOCK_TXS_MAX, block_interval: Duration::from_millis(BLOCK_INTERVAL_MS) }
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
}

fn now_ms() -> u64 {
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
        match store.genesis()? {
            Some(stored) if stored != genesis => {
                return Err(NodeError::Genesis(format!(
                    "the store was created with genesis {} but genesis.json is {}",
                    stored.hash(),
                    genesis.hash()
                )))
            }
            Some(_) => {}
            None => {
                let state = verity_state::genesis_state(&genesis).map_err(|e| NodeError::Genesis(e.to_string()))?;
                store.init_genesis(&genesis, &state)?;
            }
        }
        let finalizer = SoloFinalizer::new(key, &genesis.validator_set())?;
        let producer = BlockProducer::new(store.clone(), finalizer.index())?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let metrics = Arc::new(Metrics::default());
        metrics.height.set(store.height() as i64);
        let core = Arc::new(NodeCore {
            store,
            mempool: Arc::new(Mempool::default()),
            metrics,
            genesis,
            events,
            fatal: Arc::new(Mutex::new(None)),
            stopping: Arc::new(AtomicBool::new(false)),
            producer: Mutex::new(None),
            closing: tokio::sync::watch::channel(false).0,
        });
        let worker = core.clone();
        let handle = std::thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || worker.produce_loop(producer, Box::new(finalizer), options))?;
        *core.producer.lock() = Some(handle);
        Ok(core)
    }

    pub fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    /// Admits transactions: stateless checks, batch signature verification, stateful
    /// checks against committed state, then the mempool. With `want_outcome` each
    /// admitted transaction gets a receiver that yields its outcome after the block is
    /// durably committed.
    pub fn submit(&self, txs: Vec<SignedTransaction>, want_outcome: bool) -> Vec<Admitted> {
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
        let mut refused: Vec<Option<AdmitError>> = (0..txs.len()).map(|_| None).collect();
        let sig_ok = verify_signatures(&txs);
        let view = StoreView(&self.store);
        let mut admit = Vec::with_capacity(txs.len());
        let mut slots = Vec::with_capacity(txs.len());
        for (i, ((tx, ok), (hash, size))) in txs.into_iter().zip(sig_ok).zip(&encoded).enumerate() {
            let refusal = if tx.tx.chain_id != self.genesis.chain_id {
                Some(AdmitError::WrongChain { got: tx.tx.chain_id.clone(), want: self.genesis.chain_id.clone() })
            } else if !ok {
                Some(AdmitError::BadSignature)
            } else {
                verity_state::check_admission(&view, &self.genesis.chain_id, &tx)
                    .err()
                    .map(|e| AdmitError::Rejected { code: e.code(), message: e.to_string() })
            };
            match refusal {
                Some(e) => refused[i] = Some(e),
                None => {
                    admit.push((tx, *hash, *size));
                    slots.push(i);
                }
            }
        }
        let mut inserted: Vec<Option<Result<Option<oneshot::Receiver<TxOutcome>>, AdmitError>>> =
            (0..encoded.len()).map(|_| None).collect();
        for (i, r) in slots.into_iter().zip(self.mempool.insert(admit, want_outcome)) {
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

    fn produce_loop(self: Arc<Self>, producer: BlockProducer, mut finalizer: Box<dyn Finalizer>, options: NodeOptions) {
        let mut last_block = Instant::now();
        loop {
            if !self.mempool.wait_for_block(options.block_txs_target, options.block_interval) {
                break;
            }
            let taken = self.mempool.take_block(BLOCK_TXS_MAX, |sender| {
                verity_state::account(&StoreView(&self.store), sender).map(|a| a.nonce)
            });
            if taken.is_empty() {
                // Only nonce-gapped transactions are pending: give senders time.
                std::thread::sleep(options.block_interval);
                continue;
            }
            let started = Instant::now();
            let mut waiters = Vec::with_capacity(taken.len());
            let mut txs = Vec::with_capacity(taken.len());
            for t in taken {
                waiters.push((t.waiter, t.admitted));
                txs.push(t.tx);
            }
            match producer.produce(finalizer.as_mut(), txs, now_ms()) {
                Ok(committed) => {
                    let done = Instant::now();
                    self.metrics.block_commit_seconds.observe(done.duration_since(started).as_secs_f64());
                    self.metrics.block_interval_seconds.observe(done.duration_since(last_block).as_secs_f64());
                    last_block = done;
                    self.after_commit(committed, waiters, done);
                }
                Err(e) => {
                    // A failed durable write or a broken invariant: stop producing rather
                    // than continue on a store in an unknown state.
                    let msg = format!("block production stopped: {e}");
                    tracing::error!("{msg}");
                    for (w, _) in waiters.into_iter() {
                        if let Some(w) = w {
                            let _ = w.send(TxOutcome::Dropped { code: "node_failed", message: msg.clone() });
                        }
                    }
                    *self.fatal.lock() = Some(msg.clone());
                    self.mempool.close();
                    self.mempool.drain_all("node_failed", &msg);
                    return;
                }
            }
        }
        self.mempool.drain_all("shutting_down", "the node stopped before this transaction was included");
    }

    fn after_commit(
        &self,
        committed: Committed,
        waiters: Vec<(Option<oneshot::Sender<TxOutcome>>, Instant)>,
        done: Instant,
    ) {
        let height = committed.block.header.height;
        let m = &self.metrics;
        m.blocks.inc();
        m.height.set(height as i64);
        m.block_txs.observe(committed.receipts.len() as f64);
        let failed = committed.receipts.iter().filter(|r| r.status == TxStatus::Failed).count() as u64;
        m.txs_committed.inc_by(committed.receipts.len() as u64);
        m.txs_failed.inc_by(failed);
        m.mempool_depth.set(self.mempool.len() as i64);
        let subscribed = self.events.receiver_count() > 0;
        for (receipt, (waiter, admitted)) in committed.receipts.into_iter().zip(waiters) {
            m.submit_to_commit_seconds.observe(done.duration_since(admitted).as_secs_f64());
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
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        self.mempool.close();
        if let Some(h) = self.producer.lock().take() {
            let _ = h.join();
        }
    }
}
