//! The one block executor, pipelined: the embedded producer ([`crate::BlockProducer`]),
//! replay, and the replicated ledger (`verity_bft::ledger`) all execute a block with
//! [`Executor::execute`].
//!
//! A block executes on a [`Parent`]: the committed tip, or a block executed but not
//! committed yet, itself possibly on uncommitted blocks. Execution reads the committed
//! state through the writes of those uncommitted blocks ([`Overlay`]), and the store
//! prepares the block's state and log roots on the parent's prepared tree
//! ([`Store::prepare_on`]), so block n+1 is executed and prepared while block n (and
//! any below it) is being finalized, written and fsync'd. Nothing is written until the
//! block's [`Prepared`] is committed, after its parent's.

use std::sync::Arc;

use verity_state::{BlockContext, BlockOutcome, StateRead};
use verity_store::{Prepared, PreparedBase, StateWrites, Store, StoreError};
use verity_types::{BlockHeader, Genesis, Hash, HeaderVersion, Receipt, SignedTransaction};

/// Reads committed state from the store for execution.
pub struct StoreView<'a>(pub &'a Store);

impl StateRead for StoreView<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        // A read failure here means the disk or the database file is broken; execution
        // cannot continue deterministically, so this is fatal by design.
        self.0.get_state(key).expect("reading committed state from the store failed")
    }
}

/// Committed state seen through the writes of blocks executed but not committed yet,
/// oldest first: what the block after them executes on.
pub struct Overlay<'a> {
    store: &'a Store,
    layers: Vec<&'a StateWrites>,
}

impl<'a> Overlay<'a> {
    /// The state after `parent`: the committed state plus the writes of `parent` and of
    /// the uncommitted blocks below it (a block committed meanwhile reads the same
    /// either way).
    pub fn on(store: &'a Store, parent: &'a Parent) -> Self {
        let layers = parent.base.as_ref().map(|b| b.chain_writes().collect()).unwrap_or_default();
        Overlay { store, layers }
    }
}

impl StateRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(key) {
                return Some(v.clone());
            }
        }
        StoreView(self.store).get(key)
    }
}

/// The block a new block is executed on: what its header needs, and the parent's
/// prepared state if the parent is not committed (yet).
#[derive(Clone, Debug)]
pub struct Parent {
    pub height: u64,
    pub hash: Hash,
    pub timestamp_ms: u64,
    pub log_size: u64,
    /// The parent's header version (genesis counts as version 1).
    pub version: HeaderVersion,
    base: Option<PreparedBase>,
}

impl Parent {
    /// Whether the parent was executed here and may not be committed yet.
    pub fn is_pending(&self) -> bool {
        self.base.is_some()
    }
}

/// One block's execution: its header (roots included), receipts, and prepared state.
#[derive(Debug)]
pub struct Executed {
    pub header: BlockHeader,
    pub receipts: Vec<Receipt>,
    /// Positions of transactions no valid block carries ([`BlockOutcome::inadmissible`]).
    pub inadmissible: Vec<u32>,
    /// What committing the block writes ([`Store::commit`]).
    pub prepared: Prepared,
}

impl Executed {
    /// The block as the parent of the next one, which executes on it before it commits.
    pub fn as_parent(&self) -> Parent {
        Parent {
            height: self.header.height,
            hash: self.header.hash(),
            timestamp_ms: self.header.timestamp_ms,
            log_size: self.header.log_size,
            version: self.header.version(),
            base: Some(self.prepared.base()),
        }
    }

    /// The hashes of its transactions, in block order.
    pub fn tx_hashes(&self) -> impl Iterator<Item = Hash> + '_ {
        self.receipts.iter().map(|r| r.tx_hash)
    }
}

/// The header fields that are the block's own choice, not computed by execution.
#[derive(Clone, Copy, Debug)]
pub struct BlockSpec {
    pub timestamp_ms: u64,
    pub proposer: u32,
    pub version: HeaderVersion,
    /// The validator set the header names; `None`: the set in force in the state the
    /// block executes on.
    pub validator_set_hash: Option<Hash>,
}

/// Why a block could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The state holds no validator set to name in the header.
    #[error("the state holds no validator set")]
    NoValidatorSet,
    /// The parent was the committed tip, and another block was committed while this one
    /// executed: what it read may mix two states. Nothing is wrong; execute again.
    #[error("block {parent} was the committed tip, but block {tip} was committed during the execution")]
    TipMoved { parent: u64, tip: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Executes blocks of one chain on its store.
#[derive(Clone)]
pub struct Executor {
    store: Arc<Store>,
    genesis: Arc<Genesis>,
}

impl Executor {
    pub fn new(store: Arc<Store>, genesis: Genesis) -> Self {
        Executor { store, genesis: Arc::new(genesis) }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The committed tip as a parent (genesis at height 0).
    pub fn tip(&self) -> Result<Parent, StoreError> {
        Ok(match self.store.last_header()? {
            Some(h) => Parent {
                height: h.height,
                hash: h.hash(),
                timestamp_ms: h.timestamp_ms,
                log_size: h.log_size,
                version: h.version(),
                base: None,
            },
            None => Parent {
                height: 0,
                hash: self.genesis.hash(),
                timestamp_ms: self.genesis.genesis_time_ms,
                log_size: 0,
                version: HeaderVersion::V1,
                base: None,
            },
        })
    }

    /// Executes `txs` (signatures already checked) as the block after `parent` and
    /// prepares its roots; writes nothing. The timestamp is raised to the parent's if
    /// the clock went backwards, so block time never decreases.
    pub fn execute(&self, parent: &Parent, txs: &[SignedTransaction], spec: BlockSpec) -> Result<Executed, ExecError> {
        let height = parent.height + 1;
        let timestamp_ms = spec.timestamp_ms.max(parent.timestamp_ms);
        let ctx = BlockContext { chain_id: self.genesis.chain_id.clone(), height, timestamp_ms };
        let started = std::time::Instant::now();
        let overlay = Overlay::on(&self.store, parent);
        // The set in force for this block: the state before it (a boundary block's
        // change applies after its transactions, to the blocks of the next epoch).
        let validator_set_hash = match spec.validator_set_hash {
            Some(h) => h,
            None => verity_state::validator_set(&overlay).ok_or(ExecError::NoValidatorSet)?.hash(),
        };
        let BlockOutcome { writes, receipts, inadmissible } =
            verity_state::execute_block(&overlay, &ctx, txs, parent.log_size);
        let executed = started.elapsed();
        let tx_hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
        let n_writes = writes.len();
        let prepared = self.store.prepare_on(parent.base.as_ref(), writes, &tx_hashes)?;
        // On the committed tip (no base), the store prepares on whatever the tip is when
        // it is asked: it must still be the parent.
        if prepared.base_height() != parent.height {
            return Err(ExecError::TipMoved { parent: parent.height, tip: prepared.base_height() });
        }
        tracing::debug!(
            height,
            txs = txs.len(),
            writes = n_writes,
            pipelined = parent.base.is_some(),
            execute_ms = executed.as_secs_f64() * 1e3,
            prepare_ms = (started.elapsed() - executed).as_secs_f64() * 1e3,
            "executed"
        );
        let header = BlockHeader {
            chain_id: self.genesis.chain_id.clone(),
            height,
            parent: parent.hash,
            timestamp_ms,
            proposer: spec.proposer,
            tx_count: txs.len() as u32,
            txs_root: prepared.txs_root(),
            log_size: prepared.log_size,
            log_root: prepared.log_root,
            state_root: prepared.state_root,
            validator_set_hash,
            receipts_root: spec.version.receipts_root(&receipts),
        };
        Ok(Executed { header, receipts, inadmissible, prepared })
    }
}
