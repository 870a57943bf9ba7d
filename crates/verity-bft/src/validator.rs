//! One validator, wired: the ledger as the application, marshal (finalized-block
//! ordering, storage and backfill), the block broadcast buffer, the backfill resolver
//! and the simplex engine, over any Commonware runtime and p2p network.
//!
//! The same function runs a validator in the deterministic simulation (simulated
//! network, virtual time) and in a `verity node` process (tokio runtime, authenticated
//! p2p on real sockets), so the simulation tests the code that operators run.

use std::sync::Arc;
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::Actor;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::Inline;
use commonware_consensus::marshal::{Config as MarshalConfig, Start};
use commonware_consensus::simplex::config::{Config as SimplexConfig, Floor};
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::{Engine, ForwardPolicy, SkipBudget, SkipPolicy};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::ConstantProvider;
use commonware_cryptography::{ed25519, Digested, Sha256};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Metrics, Spawner, Storage, Supervisor};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZUsize, NZU16, NZU64};
use verity_types::consensus_namespace;
use verity_types::keys::SecretKey;

use crate::app::{committer, App, CommitListener};
use crate::block::LedgerBlock;
use crate::evidence::{EvidenceSink, Watch};
use crate::keys::{participants, private_key};
use crate::ledger::{Ledger, TxSource};
use crate::{digest, BftError};

/// The p2p channels a validator uses (one network, one channel each).
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BACKFILL: u64 = 3;
    pub const BLOCKS: u64 = 4;
    /// Admitted transactions, forwarded to every peer (see [`crate::gossip`]).
    pub const TXS: u64 = 5;
}

/// A channel's two halves.
pub type Pair<S, R> = (S, R);

/// The consensus channels of one validator, registered on its network.
pub struct Channels<S, R> {
    pub votes: Pair<S, R>,
    pub certificates: Pair<S, R>,
    pub resolver: Pair<S, R>,
    pub backfill: Pair<S, R>,
    pub blocks: Pair<S, R>,
}

/// Who hears about a validator's commits and the equivocations it detects.
#[derive(Clone, Default)]
pub struct Observers {
    /// Told of each committed block with its certificate and receipts.
    pub commits: Option<Arc<dyn CommitListener>>,
    /// Given each verified equivocation the engine reports.
    pub evidence: Option<Arc<dyn EvidenceSink>>,
}

/// Tunables of one validator. Every validator of a network should use the same
/// timeouts; `partition_prefix` only has to be unique within one runtime's storage.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Prefix of the engine's and marshal's storage partitions.
    pub partition_prefix: String,
    /// Largest encoded block accepted from the network.
    pub max_block_bytes: usize,
    /// Most transactions a proposer puts in one block.
    pub max_block_txs: usize,
    /// How long a validator waits for the leader's proposal before voting to skip it.
    pub leader_timeout: Duration,
    /// How long it waits for a notarized proposal to be certified (finalized).
    pub certification_timeout: Duration,
    /// How often it re-broadcasts its timeout votes while a view is stuck.
    pub timeout_retry: Duration,
    /// How long a request to a peer (missing blocks, certificates) may take.
    pub fetch_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            partition_prefix: "verity".into(),
            max_block_bytes: 16 << 20,
            max_block_txs: verity_types::limits::BLOCK_TXS_MAX,
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(2),
        }
    }
}

/// Starts a validator on `ctx`: every actor runs in a child of `ctx`, so stopping
/// (or, in the simulation, aborting) the task that owns `ctx` stops the validator.
/// Returns once everything is running.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, P, B>(
    ctx: E,
    settings: &Settings,
    ledger: Arc<Ledger>,
    mempool: Arc<dyn TxSource>,
    key: &SecretKey,
    channels: Channels<S, R>,
    peers: P,
    blocker: B,
    observers: Observers,
) -> Result<(), BftError>
where
    E: Clock + rand_core::CryptoRng + Spawner + Storage + Metrics + Supervisor,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    let genesis = ledger.genesis().clone();
    let parts = participants(ledger.validators())?;
    let ns = consensus_namespace(&genesis.chain_id);
    let me = crate::keys::public_key(&key.public_key())?;
    let scheme = Scheme::signer(&ns, parts.clone(), private_key(key))
        .ok_or_else(|| BftError::InvalidKey("this key is not one of the genesis validators".into()))?;
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(256));
    let epocher = FixedEpocher::new(NZU64!(1 << 40));
    let genesis_block = LedgerBlock::genesis(&genesis);
    let genesis_digest = digest(&genesis.hash());
    let max_block_bytes = settings.max_block_bytes;
    let prefix = settings.partition_prefix.clone();

    let resolver = marshal_resolver::init(
        ctx.child("resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: NZUsize!(1024),
            fetch_timeout: NZDuration!(settings.fetch_timeout.max(Duration::from_millis(1))),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (bcast, buffer) = buffered::Engine::new(
        ctx.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: NZUsize!(1024),
            deque_size: 10,
            priority: false,
            codec_config: max_block_bytes,
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    bcast.start(channels.blocks);
    let archive = |what: &str, codec| immutable::Config {
        metadata_partition: format!("{prefix}-{what}-metadata"),
        freezer_table_partition: format!("{prefix}-{what}-freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: format!("{prefix}-{what}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{what}-freezer-value"),
        freezer_value_target_size: 1 << 20,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{what}-ordinal"),
        items_per_section: NZU64!(64),
        codec_config: codec,
        replay_buffer: NZUsize!(1 << 16),
        freezer_key_write_buffer: NZUsize!(1 << 16),
        freezer_value_write_buffer: NZUsize!(1 << 16),
        ordinal_write_buffer: NZUsize!(1 << 16),
    };
    let finalizations = immutable::Archive::init(
        ctx.child("finalizations"),
        archive(
            "finalizations",
            <Scheme as commonware_cryptography::certificate::Verifier>::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .map_err(|e| BftError::Storage(e.to_string()))?;
    let finalized = immutable::Archive::init(ctx.child("blocks"), archive("blocks", max_block_bytes))
        .await
        .map_err(|e| BftError::Storage(e.to_string()))?;
    let (actor, mailbox, _floor) = Actor::init(
        ctx.child("marshal"),
        finalizations,
        finalized,
        MarshalConfig {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher.clone(),
            start: Start::Genesis(Digested::precomputed(genesis_block, genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: NZUsize!(1024),
            view_retention: ViewDelta::new(10),
            prunable_items_per_section: NZU64!(64),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(1 << 16),
            key_write_buffer: NZUsize!(1 << 16),
            value_write_buffer: NZUsize!(1 << 16),
            block_codec_config: max_block_bytes,
            max_repair: NZUsize!(10),
            max_pending_acks: NZUsize!(1),
            strategy: Sequential,
        },
    )
    .await;
    let watch_parts = parts.clone();
    let (reporter, commit_loop) =
        committer(ctx.child("clock"), ledger.clone(), mempool.clone(), mailbox.clone(), parts, observers.commits);
    ctx.child("committer").spawn(|_| commit_loop);
    actor.start(reporter, buffer, resolver);
    let app = App::new(ledger, mempool, settings.max_block_txs);
    let inline = Inline::new(ctx.child("inline"), app, mailbox, epocher);
    let engine = Engine::new(
        ctx.child("engine"),
        SimplexConfig {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: Watch::new(inline, &genesis.chain_id, watch_parts, observers.evidence),
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::zero(),
            floor: Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1 << 20),
            write_buffer: NZUsize!(1 << 20),
            page_cache,
            leader_timeout: settings.leader_timeout,
            certification_timeout: settings.certification_timeout,
            timeout_retry: settings.timeout_retry,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled { timeout: settings.leader_timeout * 8, budget: SkipBudget::Participants },
            fetch_timeout: NZDuration!(settings.fetch_timeout.max(Duration::from_millis(1))),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    engine.start(channels.votes, channels.certificates, channels.resolver);
    Ok(())
}
