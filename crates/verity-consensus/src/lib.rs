//! Orders transactions into finalised blocks.
//!
//! The consensus interface has two halves:
//! - [`BlockProducer`] turns an ordered list of admitted transactions into a *proposal*:
//!   it executes them with the one block executor ([`executor`]) on the last committed
//!   state or on a proposal still committing, which computes the resulting state root
//!   and transaction-log root, producing a complete [`BlockHeader`]. Producing a
//!   proposal writes nothing.
//! - A [`Finalizer`] turns a proposed header into a [`Certificate`]: signatures of
//!   validators holding more than two thirds of the voting power. Only a certified
//!   block is committed, and its certificate is stored with it and served as the
//!   checkpoint's signature set.
//!
//! Embedded mode (the default) is a 1-of-1 validator set: [`SoloFinalizer`] signs with
//! the node's validator key. The multi-organisation network does not go through a
//! `Finalizer`: `verity-bft` runs Commonware's simplex engine, which orders and
//! certifies blocks, and its ledger (`verity_bft::ledger`) executes them with the same
//! [`Executor`], so both paths give the same state roots for the same blocks.
//!
//! [`replay`] re-executes the block log from genesis in a scratch store and checks
//! every state root, log root and certificate, following validator-set changes.

pub mod error;
pub mod executor;
pub mod replay;

pub use error::ConsensusError;
pub use executor::{BlockSpec, ExecError, Executed, Executor, Overlay, Parent, StoreView};
pub use replay::{replay, ReplayReport};

use std::sync::Arc;

use verity_store::{Prepared, Store};
use verity_types::keys::SecretKey;
use verity_types::{
    Block, BlockHeader, Certificate, Genesis, Hash, HeaderVersion, Receipt, SignedTransaction, ValidatorSet,
    ValidatorSignature,
};

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
    /// The block as the parent of the next proposal ([`BlockProducer::propose_after`]).
    pub next: Parent,
}

/// A committed block with its receipts, as handed to the node after the fsync.
pub struct Committed {
    pub block: Block,
    pub certificate: Certificate,
    pub receipts: Vec<Receipt>,
}

/// Builds proposals on top of the store's last committed block and commits certified ones.
pub struct BlockProducer {
    executor: Executor,
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
            executor: Executor::new(store, genesis),
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
        self.executor.store()
    }

    pub fn genesis(&self) -> &Genesis {
        self.executor.genesis()
    }

    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The committed tip, as the parent of the next proposal.
    pub fn tip(&self) -> Result<Parent, ConsensusError> {
        Ok(self.executor.tip()?)
    }

    /// Executes `txs` (already signature-checked) on the last committed state and builds
    /// the header. Writes nothing. `timestamp_ms` is raised to the parent's timestamp if
    /// the clock went backwards, so block time never decreases.
    pub fn propose(&self, txs: Vec<SignedTransaction>, timestamp_ms: u64) -> Result<Proposal, ConsensusError> {
        self.propose_after(&self.tip()?, txs, timestamp_ms)
    }

    /// Like [`Self::propose`], but on `parent`: the committed tip, or a proposed block
    /// ([`Proposal::next`]) that may still be committing, so block n+1 executes and is
    /// prepared while block n is written and fsync'd. The proposal commits only after
    /// `parent` has.
    pub fn propose_after(
        &self,
        parent: &Parent,
        txs: Vec<SignedTransaction>,
        timestamp_ms: u64,
    ) -> Result<Proposal, ConsensusError> {
        // The embedded node is its own only proposer, and its mempool admitted `txs`:
        // an inadmissible one (a key rotated earlier in the block, say) keeps its failed
        // receipt, as before.
        let spec = BlockSpec {
            timestamp_ms,
            proposer: self.proposer,
            version: self.header_version,
            validator_set_hash: Some(self.validator_set_hash),
        };
        let executed = self.executor.execute(parent, &txs, spec)?;
        let next = executed.as_parent();
        let Executed { header, receipts, prepared, .. } = executed;
        Ok(Proposal { block: Block { header, txs }, receipts, prepared, next })
    }

    /// Checks the certificate and commits the block durably (fsync before return).
    pub fn commit(&self, proposal: Proposal, certificate: Certificate) -> Result<Committed, ConsensusError> {
        self.validators
            .verify_certificate(&proposal.block.header, &certificate)
            .map_err(|e| ConsensusError::InvalidBlock(e.to_string()))?;
        let started = std::time::Instant::now();
        self.store().commit(proposal.prepared, &proposal.block, &certificate, &proposal.receipts)?;
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

    /// A fresh one-organisation chain "t": its store, the validator's finalizer and a
    /// producer.
    fn chain() -> (tempfile::TempDir, verity_types::Genesis, Arc<Store>, SoloFinalizer, BlockProducer) {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = verity_testkit::one_org("t");
        let store = Arc::new(Store::open(&dir.path().join("s")).expect("open"));
        store.init_genesis(&g, &verity_state::genesis_state(&g).expect("genesis")).expect("init");
        let finalizer = SoloFinalizer::new(verity_testkit::secret("validator"), &g.validator_set()).expect("validator");
        let producer = BlockProducer::new(store.clone(), finalizer.index()).expect("producer");
        (dir, g, store, finalizer, producer)
    }

    #[test]
    fn produce_commit_replay_and_refuse_foreign_certificates() {
        let (_dir, g, store, mut finalizer, producer) = chain();
        let admin = verity_testkit::secret("admin");
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

    #[test]
    fn a_block_is_never_prepared_on_a_tip_other_than_its_parent() {
        let (_dir, _, store, mut finalizer, producer) = chain();
        let admin = verity_testkit::secret("admin");
        // The tip is read as a parent, then another block commits (as a racing commit
        // would): an empty block on the old tip would have the new tip's roots.
        let stale = producer.tip().expect("tip");
        producer.produce(&mut finalizer, vec![burn(&admin, 0)], 10).expect("block");
        let err = producer.propose_after(&stale, vec![], 11).err();
        assert!(
            matches!(err, Some(ConsensusError::Exec(ExecError::TipMoved { parent: 0, tip: 1 }))),
            "{:?}",
            err.map(|e| e.to_string())
        );
        // Pipelined on a proposal that commits meanwhile, it is fine.
        let first = producer.propose(vec![burn(&admin, 1)], 12).expect("proposal");
        let second = producer.propose_after(&first.next, vec![burn(&admin, 2)], 13).expect("on the pending one");
        let cert = finalizer.finalize(&first.block.header).expect("signs");
        producer.commit(first, cert).expect("commit");
        let cert = finalizer.finalize(&second.block.header).expect("signs");
        producer.commit(second, cert).expect("commits after its parent");
        assert_eq!(store.height(), 3);
    }
}
