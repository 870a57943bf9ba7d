//! Deterministic simulation: N validators, each with its own on-disk Verity store, run
//! Commonware simplex + marshal with the Verity ledger as the application, over the
//! simulated network of Commonware's deterministic runtime (virtual time, seeded
//! scheduling, lossy and jittery links, partitions that heal).
//!
//! Each seed checks safety (at every height all validators committed the same header,
//! hence the same state root and log root, and every block's certificate verifies
//! against the genesis validator set with Ed25519 alone) and liveness (every submitted
//! transaction is committed once the network is healed). A failing seed prints its
//! number; `VERITY_SIM_SEED=N` re-runs just that one, `VERITY_SIM_SEEDS=K` runs K seeds
//! per scenario (default 32, about 200 seeds over the six scenarios; a nightly run sets
//! `VERITY_SIM_SEEDS=1000`).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use commonware_cryptography::ed25519;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{deterministic, Clock, Quota, Runner, Spawner, Supervisor};
use commonware_utils::{NZUsize, NZU32};
use parking_lot::Mutex;
use verity_bft::evidence::EvidenceSink;
use verity_bft::keys::{participants, public_key};
use verity_bft::ledger::{Ledger, NextNonce, TxSource};
use verity_bft::validator::{self, channel, Channels, Observers, Settings};
use verity_state::genesis_state;
use verity_store::Store;
use verity_types::keys::SecretKey;
use verity_types::{
    AccountId, Action, AssetId, ChangeValidators, Genesis, Hash, OrgId, ReportEquivocation, SignedTransaction,
    Transaction, Transfer, TxStatus, Validator,
};

const CHAIN: &str = "bft-sim";
const MAX_BLOCK_BYTES: usize = 4 << 20;
const MAX_BLOCK_TXS: usize = 16;
/// Seeds per scenario in a default run (six scenarios: about two hundred seeds).
const SEEDS_DEFAULT: u64 = 32;

fn key(name: &str) -> SecretKey {
    verity_testkit::secret(name)
}

/// The consortium with governance (stake in usd); the last organisation's `watch`
/// account holds 10,000 usd to stake on its validator.
fn genesis(n: usize) -> Genesis {
    let mut g = verity_testkit::consortium(CHAIN, n);
    g.governance = Some(verity_types::Constitution::new(AssetId::new("usd").expect("asset")));
    g.balances.push(verity_types::GenesisBalance {
        account: AccountId::new(format!("watch{}", n - 1)).expect("account"),
        asset: AssetId::new("usd").expect("asset"),
        amount: STAKE,
    });
    g
}

/// What the last organisation bonds on its validator's key when that validator
/// equivocates.
const STAKE: u128 = 10_000;

/// The last organisation's `watch` account bonds [`STAKE`] on its validator's key.
fn bond_on_last_validator(n: usize) -> SignedTransaction {
    let who = format!("watch{}", n - 1);
    Transaction {
        chain_id: CHAIN.into(),
        sender: AccountId::new(who.clone()).expect("account"),
        nonce: 0,
        action: Action::Bond(verity_types::Bond {
            scope: verity_types::StakeScope::Validator { key: key(&format!("validator{}", n - 1)).public_key() },
            amount: STAKE,
        }),
    }
    .sign(&key(&who))
}

/// Transfers from each admin to the next, `per_sender` each, nonces from 0.
fn load(n: usize, per_sender: u64) -> Vec<SignedTransaction> {
    let mut out = Vec::new();
    for nonce in 0..per_sender {
        for i in 0..n {
            let tx = Transaction {
                chain_id: CHAIN.into(),
                sender: AccountId::new(format!("admin{i}")).expect("account"),
                nonce,
                action: Action::Transfer(Transfer {
                    to: AccountId::new(format!("admin{}", (i + 1) % n)).expect("account"),
                    asset: AssetId::new("usd").expect("asset"),
                    amount: 1,
                    memo: String::new(),
                }),
            };
            out.push(tx.sign(&key(&format!("admin{i}"))));
        }
    }
    out
}

/// A validator's mempool: the transactions of the load released so far (the same
/// load reaches every validator, standing in for gossip; the test releases it over
/// virtual time so that blocks are built before, during and after the faults).
struct Pool {
    txs: Mutex<VecDeque<SignedTransaction>>,
    released: Arc<AtomicUsize>,
    /// The load's transaction hashes, in release order.
    first: Mutex<Vec<Hash>>,
    /// Transactions added outside the load (evidence reports), released at once.
    extra: Mutex<HashSet<Hash>>,
}

impl Pool {
    fn add(&self, tx: SignedTransaction) {
        self.extra.lock().insert(tx.hash());
        self.txs.lock().push_back(tx);
    }
}

/// A validator's evidence sink: reports the first equivocation per validator and epoch
/// into its mempool, signed by its organisation's `watch` account.
struct Reports {
    pool: Arc<Pool>,
    index: usize,
    nonce: Mutex<u64>,
    seen: Mutex<HashSet<(verity_types::PublicKey, u64)>>,
}

impl EvidenceSink for Reports {
    fn equivocation(&self, evidence: verity_types::Equivocation) {
        if !self.seen.lock().insert((evidence.validator, evidence.first.epoch)) {
            return;
        }
        let mut nonce = self.nonce.lock();
        let who = format!("watch{}", self.index);
        let tx = Transaction {
            chain_id: CHAIN.into(),
            sender: AccountId::new(who.clone()).expect("account"),
            nonce: *nonce,
            action: Action::ReportEquivocation(ReportEquivocation { evidence }),
        };
        *nonce += 1;
        self.pool.add(tx.sign(&key(&who)));
    }
}

impl TxSource for Pool {
    fn batch(&self, max: usize, exclude: &HashSet<Hash>, _next_nonce: NextNonce<'_>) -> Vec<SignedTransaction> {
        let mut released: HashSet<Hash> =
            self.first.lock()[..self.released.load(Ordering::SeqCst)].iter().copied().collect();
        released.extend(self.extra.lock().iter().copied());
        self.txs
            .lock()
            .iter()
            .filter(|t| released.contains(&t.hash()) && !exclude.contains(&t.hash()))
            .take(max)
            .cloned()
            .collect()
    }
    fn committed(&self, hashes: &[Hash]) {
        let done: HashSet<&Hash> = hashes.iter().collect();
        self.txs.lock().retain(|t| !done.contains(&t.hash()));
    }
}

#[derive(Clone, Copy, Debug)]
struct Scenario {
    validators: usize,
    per_sender: u64,
    link: (u64, u64, f64),
    /// Cut the network into {0, 1} and the rest from this virtual second for this long.
    partition: Option<(u64, u64)>,
    /// Crash the last `count` validators at this virtual second, restart them after
    /// this long: (at, for, count).
    crash: Option<(u64, u64, usize)>,
    /// The last validator equivocates: it runs no engine, and for every notarize and
    /// finalize vote it receives it signs two, one for a random block and one for the
    /// block voted on, plus two different blocks for the next view, and sends them to
    /// everyone.
    equivocator: bool,
    /// The last validator signs with torsion nonces: it runs no engine, and for every
    /// notarize vote it receives it sends a notarize and a finalize vote for the same
    /// proposal, each signed with a nonce point that has a small-order component (valid
    /// by ZIP-215, the engine's rule; invalid by the cofactorless rule).
    torsion_signer: bool,
}

/// What every validator task needs to (re)start.
#[derive(Clone)]
struct Shared {
    genesis: Genesis,
    peers: Vec<ed25519::PublicKey>,
    oracle: Oracle<ed25519::PublicKey, deterministic::Context>,
}

/// The test's handle on a validator: its data directory, its mempool, the store its
/// running task opened, and that task.
struct Node {
    dir: tempfile::TempDir,
    pool: Arc<Pool>,
    store: Arc<Mutex<Option<Arc<Store>>>>,
    task: Option<commonware_runtime::Handle<()>>,
}

impl Node {
    /// A node not started yet, whose mempool holds `load` (released up to `released`).
    fn new(load: &[SignedTransaction], released: &Arc<AtomicUsize>) -> Self {
        let pool = Arc::new(Pool {
            txs: Mutex::new(load.iter().cloned().collect()),
            released: released.clone(),
            first: Mutex::new(load.iter().map(SignedTransaction::hash).collect()),
            extra: Mutex::new(HashSet::new()),
        });
        Node { dir: tempfile::tempdir().expect("tempdir"), pool, store: Arc::new(Mutex::new(None)), task: None }
    }

    /// Committed height (of the running task's store; 0 while crashed).
    fn height(&self) -> u64 {
        self.store.lock().as_ref().map_or(0, |s| s.height())
    }
}

fn link(latency_ms: u64, jitter_ms: u64, success: f64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::from_f64(success).expect("a probability"),
    }
}

async fn connect(
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    peers: &[ed25519::PublicKey],
    l: Link,
    only: Option<&dyn Fn(usize, usize) -> bool>,
) {
    for (i, a) in peers.iter().enumerate() {
        for (j, b) in peers.iter().enumerate() {
            if i != j && only.is_none_or(|f| f(i, j)) {
                let _ = oracle.remove_link(a.clone(), b.clone()).await;
                oracle.add_link(a.clone(), b.clone(), l.clone()).await.expect("link");
            }
        }
    }
}

/// The simulated network of nodes `validator0..n` (all in one peer set), started, with
/// their keys in node order.
async fn network(
    context: &deterministic::Context,
    n: usize,
) -> (Vec<ed25519::PublicKey>, Oracle<ed25519::PublicKey, deterministic::Context>) {
    let peers: Vec<ed25519::PublicKey> =
        (0..n).map(|i| public_key(&key(&format!("validator{i}")).public_key()).expect("key")).collect();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: (MAX_BLOCK_BYTES + 4096) as u32,
            max_peers_per_set: NZUsize!(n + 1),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        peers.clone(),
    )
    .await;
    network.start();
    (peers, oracle)
}

/// Runs one seed; returns a description of the first violated property, if any.
fn run(seed: u64, sc: Scenario) -> Result<(u64, u64, u64, Hash), String> {
    let cfg = deterministic::Config::new().with_seed(seed).with_timeout(Some(Duration::from_secs(1800)));
    deterministic::Runner::new(cfg).start(|context| async move {
        let t0 = context.current();
        let n = sc.validators;
        let genesis = genesis(n);
        let vs = genesis.validator_set();
        let mut txs = load(n, sc.per_sender);
        if sc.equivocator {
            // Stake on the equivocator's key, first in the load: its evidence slashes it.
            txs.insert(0, bond_on_last_validator(n));
        }
        let total = txs.len();
        let (peers, oracle) = network(&context, n).await;
        let (lat, jit, ok) = sc.link;
        connect(&oracle, &peers, link(lat, jit, ok), None).await;

        // The validators that follow the protocol (the equivocator, if any, is last).
        let honest = n - usize::from(sc.equivocator || sc.torsion_signer);
        let released = Arc::new(AtomicUsize::new(0));
        let mut nodes = Vec::new();
        let shared = Shared { genesis: genesis.clone(), peers: peers.clone(), oracle: oracle.clone() };
        for i in 0..n {
            let mut node = Node::new(&txs, &released);
            node.task = Some(if sc.equivocator && i == n - 1 {
                start_equivocator(&context, i, &shared)
            } else if sc.torsion_signer && i == n - 1 {
                start_torsion_signer(&context, i, &shared)
            } else {
                start_validator(&context, i, &shared, &node)
            });
            nodes.push(node);
        }

        // The load: a slice of transactions every 100 ms of virtual time, over 4 s.
        let feeder = released.clone();
        context.child("load").spawn(move |ctx| async move {
            let step = total.div_ceil(40);
            while feeder.load(Ordering::SeqCst) < total {
                let next = (feeder.load(Ordering::SeqCst) + step).min(total);
                feeder.store(next, Ordering::SeqCst);
                ctx.sleep(Duration::from_millis(100)).await;
            }
        });

        // Faults: a partition of {0, 1} from the rest, healed later.
        if let Some((from, len)) = sc.partition {
            context.sleep(Duration::from_secs(from)).await;
            for (i, a) in peers.iter().enumerate() {
                for (j, b) in peers.iter().enumerate() {
                    if i != j && ((i < 2) != (j < 2)) {
                        let _ = oracle.remove_link(a.clone(), b.clone()).await;
                    }
                }
            }
            context.sleep(Duration::from_secs(len)).await;
            connect(&oracle, &peers, link(lat, jit, ok), Some(&|i, j| (i < 2) != (j < 2))).await;
        }

        // Faults: crash validators (their tasks aborted: no more votes, no clean
        // shutdown), then restart them on the same store, journals and archives.
        if let Some((at, len, count)) = sc.crash {
            context.sleep(Duration::from_secs(at)).await;
            let f = (n - 1) / 3;
            for nd in nodes.iter_mut().skip(n - count) {
                nd.store.lock().take();
                if let Some(t) = nd.task.take() {
                    t.abort();
                }
            }
            context.sleep(Duration::from_secs(2)).await;
            let before: Vec<u64> = nodes.iter().take(n - count).map(Node::height).collect();
            context.sleep(Duration::from_secs(len.saturating_sub(2))).await;
            let after: Vec<u64> = nodes.iter().take(n - count).map(Node::height).collect();
            // Running validators may still commit blocks finalized before the crash (one
            // catching up with another), but no block beyond them can be finalized.
            let top = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
            if count > f && top(&after) > top(&before) {
                return Err(format!(
                    "safety over liveness: {count} of {n} down, yet the chain grew {before:?} -> {after:?}"
                ));
            }
            if count <= f && after.iter().zip(&before).all(|(a, b)| a == b) && released.load(Ordering::SeqCst) < total {
                return Err(format!("liveness: {count} of {n} down (f = {f}) and no block finalized"));
            }
            for (i, nd) in nodes.iter_mut().enumerate().skip(n - count) {
                nd.task = Some(start_validator(&context, i, &shared, nd));
            }
        }

        // Liveness: every transaction committed everywhere, within virtual time.
        let started = context.current();
        loop {
            if nodes[..honest].iter().all(|nd| nd.pool.txs.lock().is_empty()) {
                break;
            }
            if context.current().duration_since(started).unwrap_or_default() > Duration::from_secs(900) {
                let left: Vec<usize> = nodes[..honest].iter().map(|nd| nd.pool.txs.lock().len()).collect();
                let heights: Vec<u64> = nodes[..honest].iter().map(|nd| nd.height()).collect();
                return Err(format!("liveness: transactions left {left:?} of {total}, heights {heights:?}"));
            }
            context.sleep(Duration::from_millis(200)).await;
        }
        // Let the slowest catch up to the same height.
        let target = nodes[..honest].iter().map(|nd| nd.height()).max().unwrap_or(0);
        for _ in 0..600 {
            if nodes[..honest].iter().all(|nd| nd.height() >= target) {
                break;
            }
            context.sleep(Duration::from_millis(100)).await;
        }

        let heights: Vec<u64> = nodes[..honest].iter().map(Node::height).collect();
        if heights.iter().any(|&h| h < target) {
            return Err(format!("catch-up: heights {heights:?}, the chain is at {target}"));
        }

        // Safety: identical headers at every height, certificates that verify.
        let heights: Vec<u64> = nodes[..honest].iter().map(|nd| nd.height()).collect();
        let common = *heights.iter().min().unwrap_or(&0);
        let store0 = nodes[0].store.lock().clone().expect("validator 0 is running");
        let mut direct = 0u64;
        for h in 1..=common {
            let (h0, c0) = store0.header(h).expect("read").expect("header");
            for (i, nd) in nodes[..honest].iter().enumerate().skip(1) {
                let (hi, _) = nd.store.lock().as_ref().expect("running").header(h).expect("read").expect("header");
                if hi != h0 {
                    return Err(format!("safety: validators 0 and {i} committed different blocks at height {h}"));
                }
            }
            if c0.finalized_by.is_none() {
                vs.verify_certificate(&h0, &c0).map_err(|e| format!("certificate at {h}: {e}"))?;
                direct += 1;
            } else if c0.finalized_by.is_some_and(|d| d <= h) {
                return Err(format!("height {h} claims finalization by a non-descendant"));
            }
        }
        if direct == 0 {
            return Err("no block has its own certificate".into());
        }
        // The torsion signer's votes are in certificates the honest validators committed
        // (and, above, verified): one rule for votes, the engine's.
        if sc.torsion_signer {
            let byzantine = u32::try_from(n - 1).expect("small");
            let with_it = (1..=common)
                .filter(|&h| {
                    let (_, c) = store0.header(h).expect("read").expect("header");
                    c.signatures.iter().any(|s| s.validator == byzantine)
                })
                .count();
            if with_it == 0 {
                return Err("no committed certificate carries a torsion-nonce vote".into());
            }
        }
        // Equivocation: evidence against the equivocator, and only against it, is on the
        // ledger (the state roots being equal, every honest validator holds the same).
        if sc.equivocator {
            let state = verity_consensus::StoreView(&store0);
            let count = verity_state::evidence_count(&state);
            if count == 0 {
                return Err("the equivocator's conflicting votes left no evidence on the ledger".into());
            }
            let culprit = key(&format!("validator{}", n - 1)).public_key();
            for seq in 0..count {
                let rec = verity_state::evidence(&state, seq).ok_or("an evidence record is missing")?;
                if rec.evidence.validator != culprit || rec.org.as_str() != format!("org{}", n - 1) {
                    return Err(format!("evidence {seq} names an honest validator"));
                }
            }
            // The stake on its key was slashed (evidence recorded before the bond
            // committed slashes nothing; later rounds' evidence does), and the pool still
            // holds exactly what the position holds.
            let staker = AccountId::new(format!("watch{}", n - 1)).expect("account");
            let scope = verity_types::StakeScope::Validator { key: culprit };
            let pos = verity_state::governance::stake::position(&state, &staker, &scope)
                .ok_or("the equivocator's stake was never bonded")?;
            if pos.slashed == 0 || pos.held() + pos.slashed != STAKE {
                return Err(format!("the equivocator's stake was not slashed as recorded: {pos:?}"));
            }
            let pool = verity_state::balance(
                &state,
                &verity_state::governance::stake::stake_account(),
                &AssetId::new("usd").expect("asset"),
            );
            if pool != pos.held() {
                return Err(format!("the stake pool holds {pool}, the position {}", pos.held()));
            }
        }
        // Every transaction committed once, successfully.
        let mut seen = 0usize;
        for tx in &txs {
            match store0.tx(&tx.hash()).expect("read") {
                Some((_, r)) if r.status == TxStatus::Success => seen += 1,
                Some((_, r)) => return Err(format!("transaction failed: {:?}", r.error)),
                None => return Err("an acknowledged transaction is missing".into()),
            }
        }
        assert_eq!(seen, total);
        let secs = context.current().duration_since(t0).unwrap_or_default().as_secs();
        let tip = store0.header(common).expect("read").expect("header").0.hash();
        Ok((common, direct, secs, tip))
    })
}

/// Starts (or restarts) validator `i` as one task: its ledger, marshal, block
/// broadcast, backfill resolver and simplex engine all run under it, so aborting the
/// task crashes the validator as a whole.
fn start_validator(
    context: &deterministic::Context,
    i: usize,
    shared: &Shared,
    node: &Node,
) -> commonware_runtime::Handle<()> {
    let Shared { genesis, peers, oracle } = shared.clone();
    let dir = node.dir.path().to_path_buf();
    let pool = node.pool.clone();
    let pool_for_reports = node.pool.clone();
    let slot = node.store.clone();
    context.child("validator").with_attribute("index", i).spawn(move |ctx| async move {
        // A restart reopens the same store (after a crash) and the same journals and
        // archives (the runtime's storage outlives the task).
        let store = Arc::new(Store::open(&dir).expect("store"));
        if store.genesis().expect("read").is_none() {
            store.init_genesis(&genesis, &genesis_state(&genesis).expect("genesis state")).expect("genesis");
        }
        *slot.lock() = Some(store.clone());
        let ledger = Arc::new(Ledger::new(store.clone()).expect("ledger"));
        let pk = peers[i].clone();
        let quota = Quota::per_second(NZU32!(10_000));
        let control = oracle.control(pk.clone());
        let register = async |c| control.register(c, quota).await.expect("channel");
        let channels = Channels {
            votes: register(channel::VOTES).await,
            certificates: register(channel::CERTIFICATES).await,
            resolver: register(channel::RESOLVER).await,
            backfill: register(channel::BACKFILL).await,
            blocks: register(channel::BLOCKS).await,
        };
        let settings = Settings {
            partition_prefix: format!("v{i}"),
            max_block_bytes: MAX_BLOCK_BYTES,
            max_block_txs: MAX_BLOCK_TXS,
            ..Settings::default()
        };
        let secret = key(&format!("validator{i}"));
        validator::start(
            ctx.child("node"),
            &settings,
            ledger,
            pool,
            &secret,
            channels,
            oracle.manager(),
            oracle.control(pk.clone()),
            Observers {
                commits: None,
                halt: None,
                evidence: Some(Arc::new(Reports {
                    pool: pool_for_reports,
                    index: i,
                    nonce: Mutex::new(0),
                    seen: Mutex::new(HashSet::new()),
                })),
            },
        )
        .await
        .expect("validator");
        // The validator lives as long as this task.
        futures::future::pending::<()>().await;
    })
}

/// Starts validator `i` as an equivocator: no engine, only its votes channel, on which
/// it answers every notarize and finalize vote with two conflicting votes of its own,
/// one for a random block and one for the block voted on (as Commonware's `conflicter`
/// test actor does), and signs two different blocks for the next view ahead of time.
fn start_equivocator(context: &deterministic::Context, i: usize, shared: &Shared) -> commonware_runtime::Handle<()> {
    use commonware_codec::{DecodeExt, Encode};
    use commonware_consensus::simplex::scheme::ed25519::Scheme;
    use commonware_consensus::simplex::types::{Finalize, Notarize, Proposal, Vote};
    use commonware_consensus::types::Round;
    use commonware_p2p::{Receiver, Recipients, Sender};
    use rand_core::Rng;

    let Shared { genesis, peers, oracle } = shared.clone();
    context.child("equivocator").with_attribute("index", i).spawn(move |mut ctx| async move {
        let parts = participants(&genesis.validator_set()).expect("participants");
        let ns = verity_types::consensus_namespace(CHAIN);
        let scheme = Scheme::signer(&ns, parts, verity_bft::keys::private_key(&key(&format!("validator{i}"))))
            .expect("a validator key");
        let control = oracle.control(peers[i].clone());
        let (raw_sender, raw_receiver) =
            control.register(channel::VOTES, Quota::per_second(NZU32!(10_000))).await.expect("channel");
        // Votes travel on one subchannel per epoch (the genesis epoch here).
        let (mux, mut handle) =
            commonware_p2p::utils::mux::Muxer::new(ctx.child("votes_mux"), raw_sender, raw_receiver);
        mux.start();
        let (mut sender, mut receiver) = handle.register(0).await.expect("subchannel");
        type V = Vote<Scheme, verity_bft::Digest>;
        while let Ok((_, msg)) = receiver.recv().await {
            let Ok(vote) = V::decode(msg) else { continue };
            let mut random = || {
                let mut b = [0u8; 32];
                ctx.fill_bytes(&mut b);
                commonware_cryptography::sha256::Digest(b)
            };
            let mut out: Vec<V> = Vec::new();
            match vote {
                Vote::Notarize(n) => {
                    let round = n.proposal.round;
                    let fake = Proposal::new(round, n.proposal.parent, random());
                    out.push(V::Notarize(Notarize::sign(&scheme, fake).expect("sign")));
                    out.push(V::Notarize(Notarize::sign(&scheme, n.proposal).expect("sign")));
                    // Ahead of the others: two different blocks for the next view, which
                    // arrive before that view's votes complete anywhere.
                    let next = Round::new(round.epoch(), round.view().next());
                    for _ in 0..2 {
                        let p = Proposal::new(next, round.view(), random());
                        out.push(V::Notarize(Notarize::sign(&scheme, p).expect("sign")));
                    }
                }
                Vote::Finalize(f) => {
                    let fake = Proposal::new(f.proposal.round, f.proposal.parent, random());
                    out.push(V::Finalize(Finalize::sign(&scheme, fake).expect("sign")));
                    out.push(V::Finalize(Finalize::sign(&scheme, f.proposal).expect("sign")));
                }
                Vote::Nullify(_) => continue,
            }
            for v in out {
                let _ = sender.send(Recipients::All, v.encode(), true);
            }
        }
    })
}

/// Starts validator `i` as a Byzantine signer: no engine, only its votes channel; for
/// every notarize vote it receives it sends its own notarize and finalize votes for the
/// same proposal, signed with a nonce point that carries a point of order eight
/// (`verity_types::keys::adversarial::sign_with_torsion_nonce`). The engine counts such
/// votes (ZIP-215); a validator that re-checked them by another rule would refuse the
/// finalized blocks they certify and stop.
fn start_torsion_signer(context: &deterministic::Context, i: usize, shared: &Shared) -> commonware_runtime::Handle<()> {
    use commonware_codec::{DecodeExt, Encode};
    use commonware_consensus::simplex::scheme::ed25519::Scheme;
    use commonware_consensus::simplex::types::{Finalize, Notarize, Vote};
    use commonware_cryptography::certificate::Attestation;
    use commonware_p2p::{Receiver, Recipients, Sender};
    use verity_types::evidence::{SignedVote, VoteKind};
    use verity_types::keys::adversarial::sign_with_torsion_nonce;

    let Shared { peers, oracle, .. } = shared.clone();
    context.child("torsion_signer").with_attribute("index", i).spawn(move |ctx| async move {
        let ns = verity_types::consensus_namespace(CHAIN);
        let seed = key(&format!("validator{i}")).seed();
        let me = commonware_utils::Participant::new(u32::try_from(i).expect("small"));
        let control = oracle.control(peers[i].clone());
        let (raw_sender, raw_receiver) =
            control.register(channel::VOTES, Quota::per_second(NZU32!(10_000))).await.expect("channel");
        let (mux, mut handle) =
            commonware_p2p::utils::mux::Muxer::new(ctx.child("votes_mux"), raw_sender, raw_receiver);
        mux.start();
        let (mut sender, mut receiver) = handle.register(0).await.expect("subchannel");
        type V = Vote<Scheme, verity_bft::Digest>;
        let mut voted = HashSet::new();
        while let Ok((_, msg)) = receiver.recv().await {
            let Ok(Vote::Notarize(n)) = V::decode(msg) else { continue };
            let p = n.proposal;
            if !voted.insert((p.round.view().get(), p.payload)) {
                continue;
            }
            let sign = |kind| {
                let vote = SignedVote {
                    kind,
                    epoch: p.round.epoch().get(),
                    view: p.round.view().get(),
                    parent_view: p.parent.get(),
                    payload: Hash(p.payload.0),
                    signature: verity_types::Signature([0; 64]),
                };
                let sig = sign_with_torsion_nonce(&seed, &vote.signed_bytes(&ns));
                let sig = ed25519::Signature::decode(bytes::Bytes::copy_from_slice(&sig.0)).expect("64 bytes");
                Attestation { signer: me, signature: sig.into() }
            };
            let (n_att, f_att) = (sign(VoteKind::Notarize), sign(VoteKind::Finalize));
            let notarize = V::Notarize(Notarize { proposal: p.clone(), attestation: n_att });
            let finalize = V::Finalize(Finalize { proposal: p, attestation: f_att });
            for v in [notarize, finalize] {
                let _ = sender.send(Recipients::All, v.encode(), true);
            }
        }
    })
}

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("VERITY_SIM_SEED") {
        return vec![s.parse().expect("VERITY_SIM_SEED is a number")];
    }
    let k: u64 = std::env::var("VERITY_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS_DEFAULT);
    (0..k).collect()
}

fn check(name: &str, sc: Scenario) {
    let mut failed = Vec::new();
    for seed in seeds() {
        match run(seed, sc) {
            Ok((height, direct, secs, _)) => {
                assert!(height > 0);
                eprintln!(
                    "{name} seed {seed}: height {height}, {direct} blocks with their own certificate, {secs} virtual s"
                );
            }
            Err(e) => failed.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{name}: {} seeds failed (re-run one with VERITY_SIM_SEED=N):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn four_validators_good_network() {
    check(
        "n4-good",
        Scenario {
            validators: 4,
            per_sender: 50,
            link: (20, 5, 1.0),
            partition: None,
            crash: None,
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn four_validators_lossy_network_with_a_healed_partition() {
    check(
        "n4-lossy-partition",
        Scenario {
            validators: 4,
            per_sender: 50,
            link: (50, 30, 0.9),
            partition: Some((1, 10)),
            crash: None,
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn seven_validators_lossy_network() {
    check(
        "n7-lossy",
        Scenario {
            validators: 7,
            per_sender: 20,
            link: (40, 20, 0.85),
            partition: Some((1, 8)),
            crash: None,
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn four_validators_one_crashes_and_catches_up() {
    check(
        "n4-crash-1",
        Scenario {
            validators: 4,
            per_sender: 50,
            link: (20, 10, 0.95),
            partition: None,
            crash: Some((1, 6, 1)),
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn four_validators_two_crash_finality_stops_then_resumes() {
    check(
        "n4-crash-2",
        Scenario {
            validators: 4,
            per_sender: 50,
            link: (20, 10, 0.95),
            partition: None,
            crash: Some((1, 6, 2)),
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn seven_validators_two_crash() {
    check(
        "n7-crash-2",
        Scenario {
            validators: 7,
            per_sender: 20,
            link: (30, 10, 0.95),
            partition: None,
            crash: Some((1, 6, 2)),
            equivocator: false,
            torsion_signer: false,
        },
    );
}

#[test]
fn four_validators_one_equivocates() {
    check(
        "n4-equivocator",
        Scenario {
            validators: 4,
            per_sender: 30,
            link: (30, 10, 0.95),
            partition: None,
            crash: None,
            equivocator: true,
            torsion_signer: false,
        },
    );
}

#[test]
fn four_validators_one_signs_with_torsion_nonces() {
    check(
        "n4-torsion-signer",
        Scenario {
            validators: 4,
            per_sender: 30,
            link: (30, 10, 0.95),
            partition: None,
            crash: None,
            equivocator: false,
            torsion_signer: true,
        },
    );
}

#[test]
fn seven_validators_one_equivocates_on_a_lossy_network() {
    check(
        "n7-equivocator",
        Scenario {
            validators: 7,
            per_sender: 15,
            link: (40, 20, 0.9),
            partition: Some((1, 5)),
            crash: None,
            equivocator: true,
            torsion_signer: false,
        },
    );
}

#[test]
fn a_seed_replays_identically() {
    let sc = Scenario {
        validators: 4,
        per_sender: 20,
        link: (50, 30, 0.9),
        partition: Some((1, 5)),
        crash: None,
        equivocator: false,
        torsion_signer: false,
    };
    let a = run(42, sc).expect("seed 42");
    let b = run(42, sc).expect("seed 42 again");
    assert_eq!(a, b, "same seed, same chain (height, certificates, virtual time, tip hash)");
    let c = run(43, sc).expect("seed 43");
    assert_ne!(a.3, c.3, "another seed schedules differently (different timestamps and blocks)");
}

/// Blocks per epoch in the validator-set change scenario.
const CHANGE_EPOCH: u64 = 20;

/// A validator-set change for `epoch`, approved by the admins of orgs 0..4 (four of the
/// five organisations) and submitted by `watch0` at `nonce`.
fn change_tx(epoch: u64, ops: Vec<verity_types::ValidatorOp>, nonce: u64) -> SignedTransaction {
    let change = verity_types::ValidatorChange { epoch, ops };
    let approvals = (0..4)
        .map(|i| change.approve(CHAIN, AccountId::new(format!("admin{i}")).expect("id"), &key(&format!("admin{i}"))))
        .collect();
    Transaction {
        chain_id: CHAIN.into(),
        sender: AccountId::new("watch0").expect("id"),
        nonce,
        action: Action::ChangeValidators(ChangeValidators { change, approvals }),
    }
    .sign(&key("watch0"))
}

/// Validator-set changes under faults: genesis has validators 0..3 (orgs 0..3) and
/// epochs of [`CHANGE_EPOCH`] blocks; nodes 4 (org 4's new validator) and 5 (validator
/// 1's next key) run from the start, following without a vote. Epoch 1 adds validator
/// 4; epoch 2 removes validator 0 and rotates validator 1's key to node 5's. Validator 2
/// crashes during epoch 1 and restarts in epoch 2, catching up across the boundary.
/// Checks: every node (members, followers, removed ones) holds the same chain; every
/// certificate verifies against the set of its block's epoch (and names it in the
/// header); the added and rotated keys sign certificates once in the set; the removed
/// ones never do after; the state's set history is the expected one; every transaction
/// is committed.
fn run_changes(seed: u64) -> Result<u64, String> {
    use verity_types::{ValidatorOp, ValidatorSet};
    let cfg = deterministic::Config::new().with_seed(seed).with_timeout(Some(Duration::from_secs(1800)));
    deterministic::Runner::new(cfg).start(|context| async move {
        let nodes_n = 6;
        let mut genesis = genesis(5);
        genesis.validators.truncate(4);
        genesis.epoch_length = CHANGE_EPOCH;
        let txs = load(4, 10);
        let total = txs.len();
        let (peers, oracle) = network(&context, nodes_n).await;
        connect(&oracle, &peers, link(20, 10, 0.97), None).await;

        let released = Arc::new(AtomicUsize::new(total));
        let shared = Shared { genesis: genesis.clone(), peers: peers.clone(), oracle: oracle.clone() };
        let mut nodes = Vec::new();
        for i in 0..nodes_n {
            let mut node = Node::new(&txs, &released);
            node.task = Some(start_validator(&context, i, &shared, &node));
            nodes.push(node);
        }
        let pk = |i: usize| key(&format!("validator{i}")).public_key();
        let add = change_tx(1, vec![ValidatorOp::Add { org: OrgId::new("org4").expect("org"), public_key: pk(4) }], 0);
        for nd in &nodes {
            nd.pool.add(add.clone());
        }
        let wait_for = async |nodes: &[Node], which: &[usize], height: u64, what: &str| -> Result<(), String> {
            let started = context.current();
            while which.iter().any(|&i| nodes[i].height() < height) {
                if context.current().duration_since(started).unwrap_or_default() > Duration::from_secs(600) {
                    let heights: Vec<u64> = nodes.iter().map(Node::height).collect();
                    return Err(format!("liveness ({what}): heights {heights:?}, waiting for {height}"));
                }
                context.sleep(Duration::from_millis(100)).await;
            }
            Ok(())
        };
        // Into epoch 1: schedule epoch 2's change, then crash validator 2.
        wait_for(&nodes, &[0], CHANGE_EPOCH + 2, "epoch 1").await?;
        let second = change_tx(
            2,
            vec![ValidatorOp::Remove { public_key: pk(0) }, ValidatorOp::Rotate { old: pk(1), new: pk(5) }],
            1,
        );
        for nd in &nodes {
            nd.pool.add(second.clone());
        }
        nodes[2].store.lock().take();
        if let Some(t) = nodes[2].task.take() {
            t.abort();
        }
        // Into epoch 2 without it; it restarts there and must catch up across the boundary.
        wait_for(&nodes, &[3], 2 * CHANGE_EPOCH + 3, "epoch 2 with validator 2 down").await?;
        let restarted = start_validator(&context, 2, &shared, &nodes[2]);
        nodes[2].task = Some(restarted);
        let target = 3 * CHANGE_EPOCH + 5;
        wait_for(&nodes, &(0..nodes_n).collect::<Vec<_>>(), target, "epoch 3, every node").await?;
        let started = context.current();
        while nodes.iter().any(|nd| !nd.pool.txs.lock().is_empty()) {
            if context.current().duration_since(started).unwrap_or_default() > Duration::from_secs(300) {
                let left: Vec<usize> = nodes.iter().map(|nd| nd.pool.txs.lock().len()).collect();
                return Err(format!("liveness: transactions left {left:?}"));
            }
            context.sleep(Duration::from_millis(100)).await;
        }

        // The expected sets, by epoch.
        let set0 = genesis.validator_set();
        let mut set1 = set0.clone();
        set1.validators.push(Validator { org: OrgId::new("org4").expect("org"), public_key: pk(4), power: 1 });
        let mut set2 = ValidatorSet { validators: set1.validators[1..].to_vec() };
        set2.validators[0].public_key = pk(5);
        let set_of = |h: u64| match h / CHANGE_EPOCH {
            0 => &set0,
            1 => &set1,
            _ => &set2,
        };
        let store0 = nodes[3].store.lock().clone().expect("validator 3 is running");
        let common = nodes.iter().map(Node::height).min().unwrap_or(0);
        let signed_by = |set: &ValidatorSet, cert: &verity_types::Certificate| -> Vec<verity_types::PublicKey> {
            cert.signatures.iter().map(|s| set.validators[s.validator as usize].public_key).collect()
        };
        let (mut new_signed, mut rotated_signed) = (false, false);
        for h in 1..=common {
            let (h0, c0) = store0.header(h).expect("read").expect("header");
            for (i, nd) in nodes.iter().enumerate() {
                let (hi, _) = nd.store.lock().as_ref().expect("running").header(h).expect("read").expect("header");
                if hi != h0 {
                    return Err(format!("safety: nodes 3 and {i} committed different blocks at height {h}"));
                }
            }
            let set = set_of(h);
            if h0.validator_set_hash != set.hash() {
                return Err(format!("height {h} names another validator set than its epoch's"));
            }
            let boundary = (h + 1).is_multiple_of(CHANGE_EPOCH);
            if c0.finalized_by.is_none() {
                set.verify_certificate(&h0, &c0).map_err(|e| format!("certificate at {h}: {e}"))?;
                let who = signed_by(set, &c0);
                new_signed |= h >= CHANGE_EPOCH && who.contains(&pk(4));
                rotated_signed |= h >= 2 * CHANGE_EPOCH && who.contains(&pk(5));
            } else if boundary {
                return Err(format!("boundary block {h} has no certificate of its own"));
            }
        }
        if !new_signed || !rotated_signed {
            return Err(format!("the new keys never signed (added: {new_signed}, rotated: {rotated_signed})"));
        }
        let state = verity_consensus::StoreView(&store0);
        if verity_state::consensus::set_epochs(&state) != vec![0, 1, 2] {
            return Err(format!("set epochs {:?}", verity_state::consensus::set_epochs(&state)));
        }
        for (e, want) in [(0, &set0), (1, &set1), (2, &set2), (3, &set2)] {
            if verity_state::consensus::validator_set_at(&state, e).as_ref() != Some(want) {
                return Err(format!("the state's set of epoch {e} is not the expected one"));
            }
        }
        for tx in txs.iter().chain([&add, &second]) {
            match store0.tx(&tx.hash()).expect("read") {
                Some((_, r)) if r.status == TxStatus::Success => {}
                Some((_, r)) => return Err(format!("transaction failed: {:?}", r.error)),
                None => return Err("an acknowledged transaction is missing".into()),
            }
        }
        // An auditor's replay of this validator's ledger follows the set through both
        // changes and accepts blocks final through a descendant.
        let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
        let report = verity_consensus::replay(&store0, &scratch.path().join("r")).map_err(|e| e.to_string())?;
        if !report.ok() || report.blocks != store0.height() {
            return Err(format!("replay: {} blocks, mismatches {:?}", report.blocks, report.mismatches));
        }
        Ok(common)
    })
}

#[test]
fn validator_set_changes_take_effect_at_epoch_boundaries() {
    // A quarter of the other scenarios' seeds (each runs three epochs and a restart).
    let all = seeds();
    let mut failed = Vec::new();
    for seed in all.iter().copied().take(all.len().div_ceil(4)) {
        match run_changes(seed) {
            Ok(height) => eprintln!("set-changes seed {seed}: height {height}"),
            Err(e) => failed.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(failed.is_empty(), "set-changes: {} seeds failed:\n{}", failed.len(), failed.join("\n"));
}
