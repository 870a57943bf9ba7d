//! The ledger side of BFT ordering: building, re-executing and committing blocks on a
//! chain whose newest blocks are not final yet.
//!
//! The engine lets a leader build on a parent that is notarized but not finalized (and
//! under faults a notarized block can stay unfinalized until a descendant is finalized),
//! so execution cannot wait for the parent to be committed. [`Ledger`] executes a block
//! with the one pipelined executor ([`verity_consensus::Executor`]) on its parent's
//! prepared state: the committed state plus the writes of its uncommitted ancestors,
//! and the ancestors' prepared trees, so nothing is prepared twice. Results are cached
//! by header hash, so a validator executes each block once, and committing a finalized
//! block reuses its prepared state.
//!
//! One lock orders building and verifying (they share the cache of executions); a
//! commit takes it only to find or make the block's execution, and writes and fsyncs
//! without it, so the next block executes on this one while it commits. An execution
//! that raced a commit checks afterwards that the committed chain is its own ancestry
//! (a commit of a conflicting block makes it a fork, refused).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use verity_consensus::{BlockSpec, ExecError, Executed, Executor, Overlay, Parent, StoreView};
use verity_store::{Prepared, Store, StoreError};
use verity_types::validators::epoch_of;
use verity_types::{
    AccountId, Block, BlockHeader, Certificate, Genesis, Hash, HeaderVersion, Receipt, SignedTransaction, ValidatorSet,
};

/// Why a block cannot be built, accepted or committed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The block (or its ancestry) is invalid: a validator votes against it.
    #[error("invalid block: {0}")]
    Invalid(String),
    /// The block's ancestry conflicts with a committed block: it can never be final.
    #[error("the block forks from committed block {height}")]
    Fork { height: u64 },
    /// The committed state does not know this epoch's validator set yet.
    #[error("the validator set of epoch {epoch} is not known yet (the committed state knows up to epoch {known})")]
    UnknownEpoch { epoch: u64, known: u64 },
    /// Another block was committed while this one executed on the committed tip
    /// ([`ExecError::TipMoved`]); [`Ledger`] executes again.
    #[error("the committed tip moved during the execution")]
    TipMoved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ExecError> for LedgerError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Store(e) => LedgerError::Store(e),
            ExecError::TipMoved { .. } => LedgerError::TipMoved,
            other => LedgerError::Invalid(other.to_string()),
        }
    }
}

/// A sender's next nonce on the chain a block is built on (`None`: no such account).
pub type NextNonce<'a> = &'a dyn Fn(&AccountId) -> Option<u64>;

/// Admitted transactions waiting for a block.
pub trait TxSource: Send + Sync + 'static {
    /// Up to `max` transactions, oldest first and in nonce order per sender (from
    /// `next_nonce`, the state the block builds on), none of those in `exclude` (already
    /// in a block that is not final yet).
    fn batch(&self, max: usize, exclude: &HashSet<Hash>, next_nonce: NextNonce<'_>) -> Vec<SignedTransaction>;
    /// These transactions are final: forget them.
    fn committed(&self, hashes: &[Hash]);
    /// Whether transactions are waiting (a proposer with none waits a little before
    /// proposing an empty block).
    fn has_pending(&self) -> bool {
        true
    }
    /// Whether the transaction with this hash (of its signed encoding) was admitted with
    /// a verified signature: block verification need not check it again.
    fn verified(&self, _hash: &Hash) -> bool {
        false
    }
}

/// One block's execution on its ancestry, kept until it commits.
struct Done {
    header: BlockHeader,
    receipts: Vec<Receipt>,
    tx_hashes: Vec<Hash>,
    /// Positions of transactions no valid block carries (`BlockOutcome::inadmissible`).
    inadmissible: Vec<u32>,
    /// The block as the parent of its children (its prepared state included).
    next: Parent,
    /// What committing it writes (taken by the commit).
    prepared: Mutex<Option<Prepared>>,
}

impl Done {
    fn new(e: Executed) -> Self {
        let next = e.as_parent();
        let tx_hashes = e.tx_hashes().collect();
        let Executed { header, receipts, inadmissible, prepared } = e;
        Done { header, receipts, tx_hashes, inadmissible, next, prepared: Mutex::new(Some(prepared)) }
    }
}

/// Refuses a block that carries a transaction no valid block carries: another chain's,
/// an unknown sender's, one signed by a key that is not the sender's, or one whose nonce
/// is not the sender's next (already committed, or repeated). A Byzantine leader could
/// otherwise pad blocks with junk that every validator stores as failed receipts, or
/// re-include a committed transaction under its hash.
fn refuse_inadmissible(exec: &Done, block: &Block) -> Result<(), LedgerError> {
    match exec.inadmissible.first() {
        None => Ok(()),
        Some(&i) => {
            let why = exec.receipts.get(i as usize).and_then(|r| r.error.as_ref()).map_or("", |e| e.message.as_str());
            let hash = block.txs.get(i as usize).map(|t| t.hash().to_hex()).unwrap_or_default();
            Err(LedgerError::Invalid(format!("transaction {i} ({hash}) cannot be in a block: {why}")))
        }
    }
}

/// A validator's ledger: its store, the chain's genesis and validator set, and the
/// executions of blocks not final yet.
pub struct Ledger {
    executor: Executor,
    /// Validator sets by epoch, as far as the committed state knows them (a set, once
    /// known, never changes).
    sets: Mutex<BTreeMap<u64, Arc<ValidatorSet>>>,
    executed: Mutex<BTreeMap<Hash, Arc<Done>>>,
    lock: Mutex<()>,
}

/// Runs `attempt` again while a commit moved the committed tip under its execution
/// (a few times at most: the commit loop commits one block at a time).
fn retried<T>(attempt: impl Fn() -> Result<T, LedgerError>) -> Result<T, LedgerError> {
    for _ in 0..4 {
        match attempt() {
            Err(LedgerError::TipMoved) => continue,
            other => return other,
        }
    }
    attempt()
}

/// The header version a finalized block (or an uncommitted ancestor) is re-executed
/// with: its own, refused if it goes back from its parent's. Proposals are always
/// [`HeaderVersion::CURRENT`] (see [`Ledger::verify`]); a version 1 block is accepted
/// only as part of a ledger written before version 2.
fn version_after(parent: &Parent, h: &BlockHeader) -> Result<HeaderVersion, LedgerError> {
    if h.version() < parent.version {
        return Err(LedgerError::Invalid(format!("block {} has a version 1 header after a version 2 one", h.height)));
    }
    Ok(h.version())
}

impl Ledger {
    pub fn new(store: Arc<Store>) -> Result<Self, LedgerError> {
        let genesis = store.genesis()?.ok_or(StoreError::NotInitialised)?;
        Ok(Ledger {
            executor: Executor::new(store, genesis),
            sets: Mutex::new(BTreeMap::new()),
            executed: Mutex::new(BTreeMap::new()),
            lock: Mutex::new(()),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        self.executor.store()
    }

    pub fn genesis(&self) -> &Genesis {
        self.executor.genesis()
    }

    /// Blocks per epoch (0: one endless epoch, the genesis set).
    pub fn epoch_length(&self) -> u64 {
        self.genesis().epoch_length
    }

    /// The epoch of the next block to commit: the newest whose validator set the
    /// committed state knows.
    pub fn known_epoch(&self) -> Result<u64, LedgerError> {
        let (tip, _) = self.tip()?;
        Ok(epoch_of(tip + 1, self.epoch_length()))
    }

    /// The validator set of `epoch`, once the committed state knows it (the boundary
    /// block before it is committed).
    pub fn validators_at(&self, epoch: u64) -> Result<Arc<ValidatorSet>, LedgerError> {
        if let Some(s) = self.sets.lock().get(&epoch) {
            return Ok(s.clone());
        }
        let known = self.known_epoch()?;
        if epoch > known {
            return Err(LedgerError::UnknownEpoch { epoch, known });
        }
        let set = verity_state::consensus::validator_set_at(&StoreView(self.store()), epoch)
            .ok_or_else(|| LedgerError::Invalid("the state holds no validator set".into()))?;
        let set = Arc::new(set);
        self.sets.lock().insert(epoch, set.clone());
        Ok(set)
    }

    /// The committed tip: height and header hash (the genesis hash at height 0).
    pub fn tip(&self) -> Result<(u64, Hash), LedgerError> {
        let t = self.executor.tip()?;
        Ok((t.height, t.hash))
    }

    /// Builds the block on `chain` from up to `max` transactions of `source`, chosen on
    /// the state the block builds on (nonces of the uncommitted ancestors included).
    pub fn build_from(
        &self,
        chain: &[Arc<Block>],
        source: &dyn TxSource,
        max: usize,
        timestamp_ms: u64,
        proposer: u32,
    ) -> Result<Block, LedgerError> {
        retried(|| {
            let _guard = self.lock.lock();
            let (layers, parent, before) = self.ancestry(chain)?;
            let exclude: HashSet<Hash> = layers.iter().flat_map(|l| l.tx_hashes.iter().copied()).collect();
            let mut txs = {
                let overlay = Overlay::on(self.store(), &parent);
                source.batch(max, &exclude, &|a| verity_state::account(&overlay, a).map(|acc| acc.nonce))
            };
            let spec = BlockSpec { timestamp_ms, proposer, version: HeaderVersion::CURRENT, validator_set_hash: None };
            let mut exec = self.executor.execute(&parent, &txs, spec)?;
            if !exec.inadmissible.is_empty() {
                // Leave out what no valid block carries (a sender's key rotated earlier in the
                // block, a nonce taken by another transaction): they changed nothing, so the
                // others execute the same without them.
                let drop: HashSet<usize> = exec.inadmissible.iter().map(|&i| i as usize).collect();
                txs = txs.into_iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, t)| t).collect();
                exec = self.executor.execute(&parent, &txs, spec)?;
            }
            self.still_on(chain, &parent, before)?;
            let header = exec.header.clone();
            self.executed.lock().insert(header.hash(), Arc::new(Done::new(exec)));
            Ok(Block { header, txs })
        })
    }

    /// Re-executes `block` on `chain` and checks that its header is exactly the one this
    /// validator computes (roots, height, parent, counts, validator set), that every
    /// transaction signature is valid (those `known` verified at admission are not
    /// checked again), and that the proposer is `proposer`.
    pub fn verify(
        &self,
        chain: &[Arc<Block>],
        block: &Block,
        proposer: u32,
        known: Option<&dyn TxSource>,
    ) -> Result<(), LedgerError> {
        let h = &block.header;
        if h.chain_id != self.genesis().chain_id {
            return Err(LedgerError::Invalid(format!("chain {:?}", h.chain_id)));
        }
        if h.proposer != proposer {
            return Err(LedgerError::Invalid(format!("proposer {} is not the round's leader {proposer}", h.proposer)));
        }
        if h.version() != HeaderVersion::CURRENT {
            return Err(LedgerError::Invalid(format!(
                "header version {:?}: new blocks commit to their receipts ({:?})",
                h.version(),
                HeaderVersion::CURRENT
            )));
        }
        if block.txs.len() > verity_types::limits::BLOCK_TXS_MAX || h.tx_count as usize != block.txs.len() {
            return Err(LedgerError::Invalid(format!("{} transactions", block.txs.len())));
        }
        let unknown: Vec<usize> = match known {
            None => (0..block.txs.len()).collect(),
            Some(k) => (0..block.txs.len()).filter(|&i| !k.verified(&block.txs[i].hash())).collect(),
        };
        let check: Vec<SignedTransaction> = unknown.iter().map(|&i| block.txs[i].clone()).collect();
        if let Err(i) = verity_types::tx::verify_signatures(&check) {
            return Err(LedgerError::Invalid(format!("transaction {} has a bad signature", unknown[i])));
        }
        retried(|| self.verify_once(chain, block, proposer))
    }

    /// [`Self::verify`] after the stateless checks: re-execution on `chain`.
    fn verify_once(&self, chain: &[Arc<Block>], block: &Block, proposer: u32) -> Result<(), LedgerError> {
        let h = &block.header;
        let hash = h.hash();
        if self.executed.lock().get(&hash).is_some_and(|e| e.header == *h) {
            return Ok(());
        }
        let _guard = self.lock.lock();
        let (_, parent, before) = self.ancestry(chain)?;
        if h.timestamp_ms < parent.timestamp_ms {
            return Err(LedgerError::Invalid("the timestamp is before the parent's".into()));
        }
        let spec = BlockSpec {
            timestamp_ms: h.timestamp_ms,
            proposer,
            version: HeaderVersion::CURRENT,
            validator_set_hash: None,
        };
        let exec = Done::new(self.executor.execute(&parent, &block.txs, spec)?);
        refuse_inadmissible(&exec, block)?;
        if exec.header != *h {
            return Err(LedgerError::Invalid(format!(
                "re-execution gives another header (state root {}, log root {}, height {})",
                exec.header.state_root, exec.header.log_root, exec.header.height
            )));
        }
        self.still_on(chain, &parent, before)?;
        self.executed.lock().insert(hash, Arc::new(exec));
        Ok(())
    }

    /// Commits a finalized block whose parent is the committed tip, with its
    /// certificate, durably. A block at or below the tip is accepted again only if it is
    /// the committed one (marshal may redeliver after a restart). Returns the receipts
    /// of the committed transactions (none for a redelivered block).
    pub fn commit(&self, block: &Block, certificate: &Certificate) -> Result<Vec<Receipt>, LedgerError> {
        let h = &block.header;
        if certificate.finalized_by.is_none() {
            self.validators_at(epoch_of(h.height, self.epoch_length()))?
                .verify_certificate(h, certificate)
                .map_err(|e| LedgerError::Invalid(format!("certificate: {e}")))?;
        }
        let (exec, prepared): (Arc<Done>, Prepared) = {
            let _guard = self.lock.lock();
            let parent = self.executor.tip()?;
            if h.height <= parent.height {
                let stored = self.store().header(h.height)?.map(|(s, _)| s.hash());
                return if stored == Some(h.hash()) {
                    Ok(Vec::new())
                } else {
                    Err(LedgerError::Fork { height: h.height })
                };
            }
            if h.height != parent.height + 1 || h.parent != parent.hash {
                return Err(LedgerError::Invalid(format!(
                    "block {} does not follow committed block {}",
                    h.height, parent.height
                )));
            }
            // A cached execution whose prepared state is gone (a commit that failed after
            // taking it) is done again.
            let cached = self.executed.lock().get(&h.hash()).cloned();
            let cached = cached.and_then(|e| {
                let p = e.prepared.lock().take();
                p.map(|p| (e, p))
            });
            match cached {
                Some(c) => c,
                None => {
                    let e = self.re_execute(&parent, block, || {
                        "re-execution of a finalized block gives another header".into()
                    })?;
                    refuse_inadmissible(&e, block)?;
                    let p = e.prepared.lock().take().ok_or_else(|| LedgerError::Invalid("no prepared state".into()))?;
                    (Arc::new(e), p)
                }
            }
        };
        // Written and fsync'd without the lock: the next block executes on this one
        // meanwhile.
        self.store().commit(prepared, block, certificate, &exec.receipts)?;
        // Executions at or below the committed height are no longer needed.
        self.executed.lock().retain(|_, e| e.header.height > h.height);
        Ok(exec.receipts.clone())
    }

    /// Resolves `chain` against the committed tip: the executions of its uncommitted
    /// blocks (executing any this validator has not executed), the parent a new block
    /// builds on, and the committed height they were resolved against.
    fn ancestry(&self, chain: &[Arc<Block>]) -> Result<(Vec<Arc<Done>>, Parent, u64), LedgerError> {
        let committed = self.executor.tip()?;
        let mut uncommitted = Vec::new();
        for b in chain {
            let h = &b.header;
            if h.height <= committed.height {
                let stored = if h.height == committed.height {
                    Some(committed.hash)
                } else {
                    self.store().header(h.height)?.map(|(s, _)| s.hash())
                };
                if stored != Some(h.hash()) {
                    return Err(LedgerError::Fork { height: h.height });
                }
            } else {
                uncommitted.push(b.clone());
            }
        }
        let before = committed.height;
        let mut parent = committed;
        let mut layers: Vec<Arc<Done>> = Vec::new();
        for b in &uncommitted {
            let h = &b.header;
            if h.height != parent.height + 1 || h.parent != parent.hash {
                return Err(LedgerError::Invalid(format!("ancestor {} does not follow {}", h.height, parent.height)));
            }
            let hash = h.hash();
            let cached = self.executed.lock().get(&hash).cloned();
            let exec = match cached {
                Some(e) => e,
                None => {
                    let e =
                        Arc::new(self.re_execute(&parent, b, || format!("ancestor {} does not re-execute", h.height))?);
                    self.executed.lock().insert(hash, e.clone());
                    e
                }
            };
            parent = exec.next.clone();
            layers.push(exec);
        }
        Ok((layers, parent, before))
    }

    /// Executes `block` again as it was built (its timestamp, proposer and header
    /// version) on `parent`, and requires the header it carries; `mismatch` says which
    /// block did not re-execute.
    fn re_execute(
        &self,
        parent: &Parent,
        block: &Block,
        mismatch: impl FnOnce() -> String,
    ) -> Result<Done, LedgerError> {
        let h = &block.header;
        let spec = BlockSpec {
            timestamp_ms: h.timestamp_ms,
            proposer: h.proposer,
            version: version_after(parent, h)?,
            validator_set_hash: None,
        };
        let e = Done::new(self.executor.execute(parent, &block.txs, spec)?);
        if e.header != *h {
            return Err(LedgerError::Invalid(mismatch()));
        }
        Ok(e)
    }

    /// Checks, after an execution on `parent` resolved when the committed height was
    /// `before`, that every block committed since is an ancestor of it (`chain` holds
    /// them): a commit racing the execution changed nothing it read. Otherwise a
    /// conflicting block was committed, and the execution is on a fork.
    fn still_on(&self, chain: &[Arc<Block>], parent: &Parent, before: u64) -> Result<(), LedgerError> {
        let (tip, tip_hash) = self.tip()?;
        if tip == before {
            // Commits only add heights: nothing was committed meanwhile.
            return Ok(());
        }
        let (height, want) = if tip >= parent.height {
            (parent.height, Some(parent.hash))
        } else {
            (tip, chain.iter().find(|b| b.header.height == tip).map(|b| b.header.hash()))
        };
        let got = if height == tip { Some(tip_hash) } else { self.store().header(height)?.map(|(h, _)| h.hash()) };
        if want.is_some() && want == got {
            Ok(())
        } else {
            Err(LedgerError::Fork { height })
        }
    }
}
