//! A validator process of a multi-organisation network (`verity node --config FILE`):
//! the HTTP API over this validator's store and mempool, Commonware's authenticated p2p
//! (Ed25519-keyed, encrypted) to the other validators at the addresses the config
//! lists, and the simplex engine ordering blocks (see `verity_bft::validator`).
//!
//! Everything runs on one Commonware tokio runtime: the engine's journals and archives
//! live under `DATA_DIR/consensus`, the ledger's store under `DATA_DIR/store`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager};
use commonware_runtime::{tokio as cw_tokio, Quota, Runner, Supervisor};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::ordered::Map;
use commonware_utils::{NZUsize, NZU32};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use verity_bft::ledger::Ledger;
use verity_bft::validator::{self, channel, Channels, Observers, Settings};
use verity_store::Store;
use verity_types::PublicKey;

use crate::api::router_with;
use crate::core::NodeCore;
use crate::datadir;
use crate::error::NodeError;
use crate::evidence::EvidenceReporter;

/// One validator's config file (JSON), as `verity testnet` writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// The data directory (genesis.json, validator.json, store/, consensus/); relative
    /// paths are relative to the config file's directory.
    pub data_dir: PathBuf,
    /// The HTTP API's listen address.
    pub http: SocketAddr,
    /// The p2p listen address (other validators dial it).
    pub p2p: SocketAddr,
    /// Every validator of the network (this one included): its key and p2p address.
    pub peers: Vec<Peer>,
    /// Most transactions per proposed block.
    #[serde(default = "default_block_txs")]
    pub max_block_txs: usize,
    /// Milliseconds a validator waits for a leader's proposal before voting to skip it.
    #[serde(default = "default_leader_timeout_ms")]
    pub leader_timeout_ms: u64,
    /// The keystore entry (name or account, in DATA_DIR/keystore.json) whose account
    /// signs this node's reports of equivocation evidence. Without it the node logs the
    /// equivocations it detects but does not report them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_reporter: Option<String>,
}

fn default_block_txs() -> usize {
    verity_types::limits::BLOCK_TXS_MAX
}
fn default_leader_timeout_ms() -> u64 {
    1_000
}

/// A validator as the other validators reach it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peer {
    pub org: String,
    pub public_key: PublicKey,
    pub p2p: SocketAddr,
}

/// Largest message on the p2p network: a full block plus framing.
pub const MAX_MESSAGE_BYTES: usize = 20 << 20;
/// Largest encoded block a validator accepts.
pub const MAX_BLOCK_BYTES: usize = 18 << 20;

impl ValidatorConfig {
    pub fn read(path: &Path) -> Result<ValidatorConfig, NodeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| NodeError::DataDir(format!("cannot read {}: {e}", path.display())))?;
        let mut cfg: ValidatorConfig =
            serde_json::from_str(&text).map_err(|e| NodeError::DataDir(format!("{}: {e}", path.display())))?;
        if cfg.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            cfg.data_dir = base.join(&cfg.data_dir);
        }
        if cfg.max_block_txs == 0 || cfg.max_block_txs > verity_types::limits::BLOCK_TXS_MAX {
            return Err(NodeError::DataDir(format!(
                "{}: max_block_txs must be 1..={}",
                path.display(),
                verity_types::limits::BLOCK_TXS_MAX
            )));
        }
        if cfg.leader_timeout_ms == 0 {
            return Err(NodeError::DataDir(format!("{}: leader_timeout_ms must be positive", path.display())));
        }
        Ok(cfg)
    }
}

/// Checks that the configured peers list every genesis validator and this node, each
/// once. More peers are allowed: validators added later (a chain with epochs changes
/// its set), and nodes that follow it.
fn check_peers(cfg: &ValidatorConfig, genesis: &verity_types::Genesis, me: &PublicKey) -> Result<(), NodeError> {
    let want: BTreeSet<PublicKey> = genesis.validators.iter().map(|v| v.public_key).chain([*me]).collect();
    let have: BTreeSet<PublicKey> = cfg.peers.iter().map(|p| p.public_key).collect();
    if !want.is_subset(&have) || have.len() != cfg.peers.len() {
        return Err(NodeError::DataDir(
            "the config's peers must list each genesis validator and this node exactly once (key and p2p address)"
                .into(),
        ));
    }
    Ok(())
}

/// Runs the validator until `stop` completes, then stops: the HTTP server drains, the
/// mempool answers its waiting submitters, and the runtime (p2p, engine, marshal) ends.
/// `on_ready` is called with the HTTP address once it listens.
pub fn run(
    cfg: ValidatorConfig,
    on_ready: impl FnOnce(SocketAddr, &NodeCore) + Send + 'static,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let dir = cfg.data_dir.clone();
    let genesis = datadir::read_genesis(&dir)?;
    let key = datadir::read_validator_key(&dir)?;
    check_peers(&cfg, &genesis, &key.public_key())?;
    if genesis.epoch_length == 0 && !genesis.validators.iter().any(|v| v.public_key == key.public_key()) {
        return Err(NodeError::DataDir(
            "this node's validator key is not a genesis validator (and the chain has no epochs to add it in)".into(),
        ));
    }
    let store_dir = datadir::store_path(&dir);
    std::fs::create_dir_all(&store_dir)?;
    let consensus_dir = dir.join("consensus");
    std::fs::create_dir_all(&consensus_dir)?;
    let store = Arc::new(Store::open(&store_dir)?);
    let core = NodeCore::start_replicated(store.clone(), genesis.clone())?;
    core.set_note_key(key.clone());
    let reporter = match &cfg.evidence_reporter {
        None => None,
        Some(name) => {
            // An encrypted keystore takes its passphrase from VERITY_KEYSTORE_PASSPHRASE.
            let passphrase = verity_client::keystore::Passphrase::from_env()
                .map_err(|e| NodeError::DataDir(format!("evidence_reporter: {e}")))?;
            let ks = verity_client::keystore::Keystore::open_with(&datadir::keystore_path(&dir), passphrase)
                .map_err(|e| NodeError::DataDir(e.to_string()))?;
            let (account, key) = ks.find(name).map_err(|e| NodeError::DataDir(format!("evidence_reporter: {e}")))?;
            Some(EvidenceReporter::new(core.clone(), account, key))
        }
    };
    let ledger = Arc::new(Ledger::new(store).map_err(|e| NodeError::Validator(e.to_string()))?);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    let runner = cw_tokio::Runner::new(
        cw_tokio::Config::new()
            .with_storage_directory(consensus_dir)
            .with_worker_threads(threads)
            .with_tcp_nodelay(Some(true))
            .with_catch_panics(false),
    );
    runner.start(|ctx| async move {
        let signer = verity_bft::keys::private_key(&key);
        let me = verity_bft::keys::public_key(&key.public_key()).map_err(|e| NodeError::Validator(e.to_string()))?;
        let mut namespace = verity_types::consensus_namespace(&genesis.chain_id);
        namespace.extend_from_slice(b"/p2p");
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer,
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let p2p_cfg = lookup::Config::local(
            handshake,
            &namespace,
            cfg.p2p,
            NZUsize!(cfg.peers.len() + 1),
            MAX_MESSAGE_BYTES as u32,
            NZUsize!(4096),
        );
        let (mut network, mut oracle) = lookup::Network::new(ctx.child("p2p"), p2p_cfg);
        let mut addrs = Vec::new();
        for p in &cfg.peers {
            let k = verity_bft::keys::public_key(&p.public_key).map_err(|e| NodeError::Validator(e.to_string()))?;
            addrs.push((k, Address::from(p.p2p)));
        }
        let peers: Map<_, Address> =
            addrs.try_into().map_err(|_| NodeError::DataDir("duplicate validator keys among the peers".into()))?;
        let _ = oracle.track(0, peers);
        // Per-peer message rates; a channel's inbound mailbox holds one burst from every
        // peer, so these also bound memory.
        let quota = Quota::per_second(NZU32!(2_000));
        let channels = Channels {
            votes: network.register(channel::VOTES, quota),
            certificates: network.register(channel::CERTIFICATES, quota),
            resolver: network.register(channel::RESOLVER, quota),
            backfill: network.register(channel::BACKFILL, quota),
            blocks: network.register(channel::BLOCKS, quota),
        };
        let txs = network.register(channel::TXS, Quota::per_second(NZU32!(500)));
        network.start();

        let (forward, outbox) = futures::channel::mpsc::unbounded();
        core.set_forwarding(forward);
        let inbox_core = core.clone();
        verity_bft::gossip::start(
            ctx.child("txs"),
            txs,
            outbox,
            Arc::new(move |txs| inbox_core.submit_forwarded(txs)),
            MAX_MESSAGE_BYTES - 1024,
        );
        let settings = Settings {
            partition_prefix: "verity".into(),
            max_block_bytes: MAX_BLOCK_BYTES,
            max_block_txs: cfg.max_block_txs,
            leader_timeout: Duration::from_millis(cfg.leader_timeout_ms),
            certification_timeout: Duration::from_millis(cfg.leader_timeout_ms * 2),
            ..Settings::default()
        };
        let (halt_tx, mut halt_rx) = futures::channel::mpsc::unbounded();
        tracing::info!(validator = %me, p2p = %cfg.p2p, "starting consensus");
        validator::start(
            ctx.child("validator"),
            &settings,
            ledger,
            core.clone(),
            &key,
            channels,
            oracle.clone(),
            oracle,
            Observers {
                halt: Some(halt_tx),
                commits: Some(core.clone()),
                evidence: reporter.clone().map(|r| r as Arc<dyn verity_bft::evidence::EvidenceSink>),
            },
        )
        .await
        .map_err(|e| NodeError::Validator(e.to_string()))?;

        if let Some(r) = reporter {
            tokio::spawn(r.run());
        }
        let listener = tokio::net::TcpListener::bind(cfg.http).await?;
        let addr = listener.local_addr()?;
        on_ready(addr, &core);
        let closing = core.clone();
        // Stop on the caller's signal, or when the commit loop cannot apply a finalized
        // block (then the process ends with the halt's error and its recovery advice).
        let halted = Arc::new(parking_lot::Mutex::new(None));
        let halted_in = halted.clone();
        let limits = crate::http::HttpLimits::default();
        crate::http::serve(listener, router_with(core.clone(), &limits), &limits, async move {
            tokio::select! {
                () = stop => {}
                Some(h) = halt_rx.next() => *halted_in.lock() = Some(h),
            }
            closing.begin_shutdown();
        })
        .await?;
        core.shutdown();
        if let Some(h) = halted.lock().take() {
            return Err(NodeError::Halted(h));
        }
        Ok::<(), NodeError>(())
    })
}
