//! One validator, wired: the ledger as the application, marshal (finalized-block
//! ordering, storage and backfill), the block broadcast buffer, the backfill resolver
//! and one simplex engine per epoch, over any Commonware runtime and p2p network.
//!
//! Epochs: the engine of epoch `e` runs with the validator set of `e` (see
//! [`crate::epochs`]). When the boundary block of `e` (its last height) is committed, the
//! engine of `e + 1` starts from it (its floor) and the old one stops. The vote,
//! certificate and resolver channels carry one subchannel per epoch; a message for a
//! later epoch than this validator's means it fell behind, and marshal is asked to fetch
//! its epoch's boundary finalization from the sender, which walks it forward.
//!
//! The same function runs a validator in the deterministic simulation (simulated
//! network, virtual time) and in a `verity node` process (tokio runtime, authenticated
//! p2p on real sockets), so the simulation tests the code that operators run.

use std::sync::Arc;
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::Actor;
use commonware_consensus::marshal::core::Mailbox;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::Inline;
use commonware_consensus::marshal::standard::Standard;
use commonware_consensus::marshal::{Config as MarshalConfig, Start};
use commonware_consensus::simplex::config::{Config as SimplexConfig, Floor};
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::{Engine, ForwardPolicy, SkipBudget, SkipPolicy};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::{ed25519, Digested, Sha256};
use commonware_p2p::utils::mux::{Builder as _, MuxHandle, Muxer};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, Supervisor};
use commonware_storage::archive::immutable;
use commonware_utils::vec::NonEmptyVec;
use commonware_utils::{NZDuration, NZUsize, NZU16, NZU64};
use futures::channel::mpsc;
use futures::StreamExt;
use verity_types::consensus_namespace;
use verity_types::keys::SecretKey;

use crate::app::{committer, App, CommitContext, CommitListener};
use crate::block::LedgerBlock;
use crate::epochs::{self, last_height, EpochSchemes};
use crate::evidence::{EvidenceSink, Watch};
use crate::keys::private_key;
use crate::ledger::{Ledger, TxSource};
use crate::{digest, BftError, Digest};

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
    /// Told if this validator cannot apply a finalized block (it then stops applying
    /// blocks; see [`crate::app::Halt`]).
    pub halt: Option<futures::channel::mpsc::UnboundedSender<crate::app::Halt>>,
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
/// Returns once everything is running. A key outside the current validator set runs
/// too: it follows the chain (verifying every certificate) without voting, and starts
/// voting in the first epoch whose set includes it.
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
    let ns = consensus_namespace(&genesis.chain_id);
    let me = crate::keys::public_key(&key.public_key())?;
    let schemes = EpochSchemes::new(ledger.clone(), ns, private_key(key));
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(256));
    let epocher = epochs::epocher(&ledger);
    let genesis_block = LedgerBlock::genesis(&genesis);
    let genesis_digest = digest(&genesis.hash());
    let max_block_bytes = settings.max_block_bytes;
    let prefix = settings.partition_prefix.clone();
    // The epoch of the next block to commit, from its boundary block (or genesis).
    let first_epoch = Epoch::new(ledger.known_epoch().map_err(|e| BftError::Storage(e.to_string()))?);
    let first_floor = match first_epoch.previous() {
        None => genesis_digest,
        Some(prev) => {
            let h = last_height(&epocher, prev).get();
            let (header, _) = ledger
                .store()
                .header(h)
                .map_err(|e| BftError::Storage(e.to_string()))?
                .ok_or_else(|| BftError::Storage(format!("boundary block {h} is not stored")))?;
            digest(&header.hash())
        }
    };
    if schemes.get(first_epoch).is_none() {
        return Err(BftError::InvalidValidatorSet(format!("no validator set for epoch {}", first_epoch.get())));
    }

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
            provider: schemes.clone(),
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
    let (epochs_tx, epochs_rx) = mpsc::unbounded();
    let (reporter, commit_loop) = committer(
        ctx.child("clock"),
        ledger.clone(),
        CommitContext {
            mempool: mempool.clone(),
            marshal: mailbox.clone(),
            schemes: schemes.clone(),
            epocher: epocher.clone(),
            epochs: epochs_tx,
            listener: observers.commits,
            halt: observers.halt,
            me: me.clone(),
        },
    );
    // Its own thread: each commit writes and fsyncs, which would hold a shared worker.
    ctx.child("committer").dedicated().spawn(|_| commit_loop);
    actor.start(reporter, buffer, resolver);
    let app = App::new(ledger, mempool, settings.max_block_txs);
    let inline = Inline::new(ctx.child("inline"), app, mailbox.clone(), epocher.clone());

    let (votes_mux, votes, votes_backup) =
        Muxer::builder(ctx.child("votes_mux"), channels.votes.0, channels.votes.1).with_backup().build();
    votes_mux.start();
    let (certs_mux, certificates, certs_backup) =
        Muxer::builder(ctx.child("certificates_mux"), channels.certificates.0, channels.certificates.1)
            .with_backup()
            .build();
    certs_mux.start();
    let (resolver_mux, resolver) = Muxer::new(ctx.child("resolver_mux"), channels.resolver.0, channels.resolver.1);
    resolver_mux.start();

    let engines = Engines {
        ctx: ctx.child("consensus"),
        settings: settings.clone(),
        inline,
        blocker,
        evidence: observers.evidence,
        chain_id: genesis.chain_id.clone(),
        schemes,
        page_cache,
        votes,
        certificates,
        resolver,
    };
    let orchestrator = Orchestrator { engines, marshal: mailbox, epocher };
    ctx.child("epochs")
        .spawn(move |_| orchestrator.run(first_epoch, first_floor, epochs_rx, votes_backup, certs_backup));
    Ok(())
}

type InlineApp<E> = Inline<E, Scheme, App, LedgerBlock, FixedEpocher>;

/// What it takes to start one epoch's simplex engine.
struct Engines<E, S, B>
where
    E: Clock + rand_core::CryptoRng + Spawner + Storage + Metrics + Supervisor,
    S: Sender<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    ctx: E,
    settings: Settings,
    inline: InlineApp<E>,
    blocker: B,
    evidence: Option<Arc<dyn EvidenceSink>>,
    chain_id: String,
    schemes: EpochSchemes,
    page_cache: CacheRef,
    votes: MuxHandle<S>,
    certificates: MuxHandle<S>,
    resolver: MuxHandle<S>,
}

impl<E, S, B> Engines<E, S, B>
where
    E: Clock + rand_core::CryptoRng + Spawner + Storage + Metrics + Supervisor,
    S: Sender<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    /// Starts the engine of `epoch` on `floor` (the previous epoch's boundary block, or
    /// genesis). `None` if the epoch's set is unknown or the channels are closed.
    async fn enter(&mut self, epoch: Epoch, floor: Digest) -> Option<Handle<()>> {
        let scheme = self.schemes.get(epoch)?;
        let settings = &self.settings;
        let prefix = &settings.partition_prefix;
        let engine = Engine::new(
            self.ctx.child("engine").with_attribute("epoch", epoch.get()),
            SimplexConfig {
                scheme: scheme.scheme.as_ref().clone(),
                elector: RoundRobin::<Sha256>::default(),
                blocker: self.blocker.clone(),
                automaton: self.inline.clone(),
                relay: self.inline.clone(),
                reporter: Watch::new(self.inline.clone(), &self.chain_id, scheme.participants, self.evidence.clone()),
                strategy: Sequential,
                partition: format!("{prefix}-simplex-{}", epoch.get()),
                mailbox_size: NZUsize!(1024),
                epoch,
                floor: Floor::Genesis(floor),
                replay_buffer: NZUsize!(1 << 20),
                write_buffer: NZUsize!(1 << 20),
                page_cache: self.page_cache.clone(),
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
        let votes = self.votes.register(epoch.get()).await.ok()?;
        let certificates = self.certificates.register(epoch.get()).await.ok()?;
        let resolver = self.resolver.register(epoch.get()).await.ok()?;
        tracing::info!(epoch = epoch.get(), voting = scheme.scoped.clone().into_scheme().is_some(), "entered epoch");
        Some(engine.start(votes, certificates, resolver))
    }
}

/// Runs one engine at a time and moves it from epoch to epoch.
struct Orchestrator<E, S, B>
where
    E: Clock + rand_core::CryptoRng + Spawner + Storage + Metrics + Supervisor,
    S: Sender<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    engines: Engines<E, S, B>,
    marshal: Mailbox<Scheme, Standard<LedgerBlock>>,
    epocher: FixedEpocher,
}

type Backup = commonware_utils::channel::mpsc::Receiver<(u64, commonware_p2p::Message<ed25519::PublicKey>)>;

impl<E, S, B> Orchestrator<E, S, B>
where
    E: Clock + rand_core::CryptoRng + Spawner + Storage + Metrics + Supervisor,
    S: Sender<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    async fn run(
        mut self,
        epoch: Epoch,
        floor: Digest,
        mut epochs: mpsc::UnboundedReceiver<(Epoch, Digest)>,
        mut votes_backup: Backup,
        mut certs_backup: Backup,
    ) {
        let Some(handle) = self.engines.enter(epoch, floor).await else {
            tracing::error!(epoch = epoch.get(), "cannot start the consensus engine");
            return;
        };
        let mut active = (epoch, handle);
        let mut last_hint: Option<(Epoch, std::time::SystemTime)> = None;
        loop {
            let from = commonware_macros::select! {
                next = epochs.next() => {
                    let Some((next, floor)) = next else { return };
                    if next <= active.0 {
                        continue;
                    }
                    let Some(handle) = self.engines.enter(next, floor).await else {
                        tracing::error!(epoch = next.get(), "cannot start the consensus engine");
                        return;
                    };
                    let (old, old_handle) = std::mem::replace(&mut active, (next, handle));
                    old_handle.abort();
                    tracing::info!(from = old.get(), to = next.get(), "epoch changed");
                    continue;
                },
                m = votes_backup.recv() => m,
                m = certs_backup.recv() => m,
            };
            let Some((their_epoch, (sender, _))) = from else { return };
            // A peer in a later epoch: this validator is behind. Ask for the boundary
            // block of its epoch (at most once a second per epoch).
            if Epoch::new(their_epoch) <= active.0 {
                continue;
            }
            let now = self.engines.ctx.current();
            if let Some((e, at)) = last_hint {
                if e == active.0 && now.duration_since(at).unwrap_or_default() < Duration::from_secs(1) {
                    continue;
                }
            }
            last_hint = Some((active.0, now));
            self.marshal.hint_finalized(last_height(&self.epocher, active.0), NonEmptyVec::new(sender));
        }
    }
}
