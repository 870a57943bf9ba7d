//! Orders transactions into finalised blocks.
//!
//! The consensus interface has two halves:
//! - [`BlockProducer`] turns an ordered list of admitted transactions into a *proposal*:
//!   it executes them with verity-state on top of the last committed state and asks the
//!   store for the resulting state root and transaction-log root, producing a complete
//!   [`BlockHeader`]. Producing a proposal writes nothing.
//! - A [`Finalizer`] turns a proposed header into a [`Certificate`]: signatures of
//!   validators holding more than two thirds of the voting power. Only a certified
//!   block is committed, and its certificate is stored with it and served as the
//!   checkpoint's signature set.
//!
//! Embedded mode (the default) is a 1-of-1 validator set: [`SoloFinalizer`] signs with
//! the node's validator key. The multi-organisation network does not go through a
//! `Finalizer`: `verity-bft` runs Commonware's simplex engine, which orders and
//! certifies blocks, and executes them with its own ledger (`verity_bft::ledger`) on
//! the same verity-state rules, so both paths give the same state roots for the same
//! blocks.
//!
//! [`replay`] re-executes the block log from genesis in a scratch store and checks
//! every state root, log root and certificate, following validator-set changes.

pub mod error;
pub mod replay;

pub use error::ConsensusError;
pub use replay::{replay, ReplayReport};

use std::sync::Arc;

use verity_state::{BlockContext, BlockOutcome, StateRead};
use verity_store::{Prepared, PreparedBase, StateWrites, Store};
use verity_types::keys::SecretKey;
use verity_types::{
    merkle, Block, BlockHeader, Certificate, Genesis, Hash, HeaderVersion, Receipt, SignedTransaction, ValidatorSet,
    ValidatorSignature,
};

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
/// oldest first: what the block after them executes on (block pipelining here, and a
/// validator's uncommitted ancestors in the replicated ledger).
pub struct Overlay<'a> {
    store: &'a Store,
    layers: Vec<&'a StateWrites>,
}

impl<'a> Overlay<'a> {
    /// Committed state plus `layers`, oldest first.
    pub fn new(store: &'a Store, layers: Vec<&'a StateWrites>) -> Self {
        Overlay { store, layers }
    }

    /// The state after `parent` (the committed state if `parent` is `None`).
    pub fn after(store: &'a Store, parent: Option<&'a Pending>) -> Self {
        Overlay { store, layers: parent.map(|p| p.base.writes()).into_iter().collect() }
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

/// A block proposed and certified but possibly not committed yet: its header and the
/// state it leaves, on which the next block can be proposed while it commits.
#[derive(Clone, Debug)]
pub struct Pending {
    header: BlockHeader,
    hash: Hash,
    base: PreparedBase,
}

/// Produces certificates for proposed headers.
///
/// `finalize` is called once per height, in height order, with a header whose roots
/// were computed by [`BlockProducer::propose`]. It returns only when the header is
/// final (certified by more than two thirds of the voting power); the returned
/// certificate must verify against the validator set named in the header.
pub trait Finalizer: Send {
    fn finalize(&mut self, header: &BlockHeader) -> Result<Certificate, ConsensusError>;
}

/// The embedded 1-of-1 finalizer: the node's own validator key signs every header.
pub struct SoloFinalizer {
    key: SecretKey,
    index: u32,
}

impl SoloFinalizer {
    /// Finds `key` in `validators`; errors if it is not there or if it alone does not
    /// hold more than two thirds of the voting power.
    pub fn new(key: SecretKey, validators: &ValidatorSet) -> Result<Self, ConsensusError> {
        let pk = key.public_key();
        let index = validators
            .validators
            .iter()
            .position(|v| v.public_key == pk)
            .ok_or_else(|| ConsensusError::NotAValidator(pk.to_hex()))?;
        let power = validators.validators[index].power as u128;
        if power * 3 <= validators.total_power() * 2 {
            return Err(ConsensusError::InvalidBlock(
                "embedded mode needs a validator holding more than two thirds of the power".into(),
            ));
        }
        Ok(SoloFinalizer { key, index: index as u32 })
    }

    pub fn index(&self) -> u32 {
        self.index
    }
}

impl Finalizer for SoloFinalizer {
    fn finalize(&mut self, header: &BlockHeader) -> Result<Certificate, ConsensusError> {
        let signature = self.key.sign(&header.signing_bytes());
        Ok(Certificate::embedded(vec![ValidatorSignature { validator: self.index, signature }]))
    }
}

/// A proposed (executed, not yet committed) block.
pub struct Proposal {
    pub block: Block,
    pub receipts: Vec<Receipt>,
    pub prepared: Prepared,
}

impl Proposal {
    /// What the next block is proposed on while this one commits
    /// ([`BlockProducer::propose_after`]).
    pub fn pending(&self) -> Pending {
        Pending { header: self.block.header.clone(), hash: self.block.header.hash(), base: self.prepared.base() }
    }
}

/// A committed block with its receipts, as handed to the node after the fsync.
pub struct Committed {
    pub block: Block,
    pub certificate: Certificate,
    pub receipts: Vec<Receipt>,
}

/// Builds proposals on top of the store's last committed block and commits certified ones.
pub struct BlockProducer {
    store: Arc<Store>,
    genesis: Genesis,
    validators: ValidatorSet,
    validator_set_hash: Hash,
    proposer: u32,
    header_version: HeaderVersion,
}

impl BlockProducer {
    pub fn new(store: Arc<Store>, proposer: u32) -> Result<Self, ConsensusError> {
        let genesis = store.genesis()?.ok_or(ConsensusError::NoGenesis)?;
        let validators = genesis.validator_set();
        let validator_set_hash = validators.hash();
        Ok(BlockProducer {
            store,
            genesis,
            validators,
            validator_set_hash,
            proposer,
            header_version: HeaderVersion::CURRENT,
        })
    }

    /// Builds headers naming `validators` instead of the genesis set (replay follows
    /// the set in force at each block of a chain whose set changed).
    pub fn with_validator_set(mut self, validators: ValidatorSet) -> Self {
        self.validator_set_hash = validators.hash();
        self.validators = validators;
        self
    }

    /// Builds headers of `version` instead of the current one (replay re-creates the
    /// version 1 blocks of a ledger written before receipts were authenticated).
    pub fn with_header_version(mut self, version: HeaderVersion) -> Self {
        self.header_version = version;
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// Executes `txs` (already signature-checked) on the last committed state and builds
    /// the header. Writes nothing. `timestamp_ms` is raised to the parent's timestamp if
    /// the clock went backwards, so block time never decreases.
    pub fn propose(&self, txs: Vec<SignedTransaction>, timestamp_ms: u64) -> Result<Proposal, ConsensusError> {
        self.propose_after(None, txs, timestamp_ms)
    }

    /// Like [`Self::propose`], but on `parent`, a proposed block that may still be
    /// committing: block n+1 executes and is prepared while block n is written and
    /// fsync'd. `parent` must be the block after the committed tip, or the tip itself.
    /// The proposal commits only after `parent` has.
    pub fn propose_after(
        &self,
        parent: Option<&Pending>,
        txs: Vec<SignedTransaction>,
        timestamp_ms: u64,
    ) -> Result<Proposal, ConsensusError> {
        let parent = parent.filter(|p| p.header.height > self.store.height());
        let (height, parent_hash, parent_time, first_log_index) = match parent {
            Some(p) => (p.header.height + 1, p.hash, p.header.timestamp_ms, p.header.log_size),
            None => match self.store.last_header()? {
                Some(h) => (h.height + 1, h.hash(), h.timestamp_ms, h.log_size),
                None => (1, self.genesis.hash(), self.genesis.genesis_time_ms, 0),
            },
        };
        let ctx = BlockContext { chain_id: self.genesis.chain_id.clone(), height, timestamp_ms };
        let started = std::time::Instant::now();
        // The embedded node is its own only proposer, and its mempool admitted `txs`:
        // an inadmissible one (a key rotated earlier in the block, say) keeps its failed
        // receipt, as before.
        let BlockOutcome { writes, receipts, .. } =
            verity_state::execute_block(&Overlay::after(&self.store, parent), &ctx, &txs, first_log_index);
        let executed = started.elapsed();
        let tx_hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
        let leaves: Vec<Hash> = tx_hashes.iter().map(|h| merkle::leaf_hash(h.as_bytes())).collect();
        let txs_root = merkle::root(&leaves);
        let n_writes = writes.len();
        let prepared = self.store.prepare_on(parent.map(|p| &p.base), writes, &tx_hashes)?;
        tracing::debug!(
            height,
            txs = txs.len(),
            writes = n_writes,
            pipelined = parent.is_some(),
            execute_ms = executed.as_secs_f64() * 1e3,
            prepare_ms = (started.elapsed() - executed).as_secs_f64() * 1e3,
            "proposed"
        );
        let header = BlockHeader {
            chain_id: self.genesis.chain_id.clone(),
            height,
            parent: parent_hash,
            timestamp_ms: timestamp_ms.max(parent_time),
            proposer: self.proposer,
            tx_count: txs.len() as u32,
            txs_root,
            log_size: prepared.log_size,
            log_root: prepared.log_root,
            state_root: prepared.state_root,
            validator_set_hash: self.validator_set_hash,
            receipts_root: self.header_version.receipts_root(&receipts),
        };
        Ok(Proposal { block: Block { header, txs }, receipts, prepared })
    }

    /// Checks the certificate and commits the block durably (fsync before return).
    pub fn commit(&self, proposal: Proposal, certificate: Certificate) -> Result<Committed, ConsensusError> {
        self.validators
            .verify_certificate(&proposal.block.header, &certificate)
            .map_err(|e| ConsensusError::InvalidBlock(e.to_string()))?;
        let started = std::time::Instant::now();
        self.store.commit(proposal.prepared, &proposal.block, &certificate, &proposal.receipts)?;
        tracing::debug!(
            height = proposal.block.header.height,
            commit_ms = started.elapsed().as_secs_f64() * 1e3,
            "committed"
        );
        Ok(Committed { block: proposal.block, certificate, receipts: proposal.receipts })
    }

    /// Propose, finalise, commit: one block end to end.
    pub fn produce(
        &self,
        finalizer: &mut dyn Finalizer,
        txs: Vec<SignedTransaction>,
        timestamp_ms: u64,
    ) -> Result<Committed, ConsensusError> {
        let proposal = self.propose(txs, timestamp_ms)?;
        let certificate = finalizer.finalize(&proposal.block.header)?;
        self.commit(proposal, certificate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_types::Burn;
    use verity_types::{AccountId, Action, AssetId, Transaction, TxStatus};

    fn burn(admin: &SecretKey, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: "t".into(),
            sender: AccountId::new("admin").expect("id"),
            nonce,
            action: Action::Burn(Burn { asset: AssetId::new("usd").expect("id"), amount: 1 }),
        }
        .sign(admin)
    }

    #[test]
    fn produce_commit_replay_and_refuse_foreign_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (validator, admin) = (verity_testkit::secret("validator"), verity_testkit::secret("admin"));
        let g = verity_testkit::one_org("t");
        let store = Arc::new(Store::open(&dir.path().join("s")).expect("open"));
        store.init_genesis(&g, &verity_state::genesis_state(&g).expect("genesis")).expect("init");
        let mut finalizer = SoloFinalizer::new(validator, &g.validator_set()).expect("validator");
        let producer = BlockProducer::new(store.clone(), finalizer.index()).expect("producer");
        for h in 0..3u64 {
            let c = producer
                .produce(&mut finalizer, vec![burn(&admin, 2 * h), burn(&admin, 2 * h + 1)], 10 + h)
                .expect("block");
            assert_eq!(c.block.header.height, h + 1);
            assert!(c.receipts.iter().all(|r| r.status == TxStatus::Success));
            assert!(g.validator_set().verify_certificate(&c.block.header, &c.certificate).is_ok());
        }
        // A certificate by a key outside the validator set is refused and nothing is written.
        let proposal = producer.propose(vec![burn(&admin, 6)], 20).expect("proposal");
        let mut stranger = SoloFinalizer { key: SecretKey::from_seed([9; 32]), index: 0 };
        let cert = stranger.finalize(&proposal.block.header).expect("signs");
        assert!(matches!(producer.commit(proposal, cert), Err(ConsensusError::InvalidBlock(_))));
        assert_eq!(store.height(), 3);
        // Replay from genesis reproduces every root.
        let scratch = tempfile::tempdir().expect("tempdir");
        let report = replay(&store, &scratch.path().join("r")).expect("replay");
        assert!(report.ok(), "{:?}", report.mismatches);
        assert_eq!((report.blocks, report.txs), (3, 6));
        assert_eq!(report.final_state_root, store.state_root());
    }
}
