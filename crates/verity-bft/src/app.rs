//! The ledger as the consensus engine's application, and the task that commits what
//! the engine finalizes.
//!
//! [`App`] is a marshal [`Application`]: marshal's `Inline` wrapper turns it into the
//! simplex automaton, so a leader's `propose` builds a block from the mempool on the
//! block's ancestry, and every validator's `verify` re-executes a proposal before it
//! votes (the block is fetched from the proposer or peers by marshal first).
//! [`Committer`] receives marshal's finalized blocks in height order, attaches the
//! block's finalization certificate (re-expressed as a Verity certificate) and commits
//! them durably; only then does it acknowledge, so marshal redelivers after a crash.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::marshal::core::Mailbox;
use commonware_consensus::marshal::standard::Standard;
use commonware_consensus::marshal::Update;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::types::{Epoch, Epocher, FixedEpocher, Height};
use commonware_consensus::{Application, Heightable, Reporter};
use commonware_cryptography::{ed25519, Digested};
use commonware_runtime::{Clock, Spawner, Supervisor};
use commonware_utils::acknowledgement::{Acknowledgement, Exact};
use commonware_utils::vec::NonEmptyVec;
use futures::channel::mpsc;
use futures::StreamExt;
use verity_types::{Block, Certificate, Hash, Receipt};

use crate::block::LedgerBlock;
use crate::epochs::{last_height, EpochScheme, EpochSchemes};
use crate::keys::verity_public_key;
use crate::ledger::{Ledger, TxSource};
use crate::{cert, digest, Digest};

/// How far ahead of a validator's clock a proposal's timestamp may be before the
/// validator waits for its clock to catch up.
pub const CLOCK_DRIFT_MAX: Duration = Duration::from_secs(5);

/// How long a leader with an empty mempool waits for transactions before proposing an
/// empty block (well under the validators' leader timeout).
pub const EMPTY_BLOCK_DELAY: Duration = Duration::from_millis(200);

/// The engine's context for one proposal.
pub type ConsensusContext = Context<Digest, ed25519::PublicKey>;

/// A validator's application: its ledger, its mempool and its place in the set.
#[derive(Clone)]
pub struct App {
    ledger: Arc<Ledger>,
    mempool: Arc<dyn TxSource>,
    max_block_txs: usize,
}

impl App {
    pub fn new(ledger: Arc<Ledger>, mempool: Arc<dyn TxSource>, max_block_txs: usize) -> Self {
        App { ledger, mempool, max_block_txs }
    }

    /// The Verity index of the round's leader.
    fn leader_index(&self, ctx: &ConsensusContext) -> Option<u32> {
        let pk = verity_public_key(&ctx.leader);
        let set = self.ledger.validators_at(ctx.round.epoch().get()).ok()?;
        set.validators.iter().position(|v| v.public_key == pk).map(|i| i as u32)
    }

    /// Walks `ancestry` back to the committed tip: the uncommitted blocks, oldest first.
    /// `None` if the stream ends before reaching the tip (the engine cancelled).
    async fn chain(&self, mut ancestry: impl Ancestry<LedgerBlock>) -> Option<Vec<Arc<Block>>> {
        let mut chain = Vec::new();
        loop {
            let (tip, _) = self.ledger.tip().ok()?;
            let next = ancestry.next().await?;
            let b: &LedgerBlock = next.inner();
            match b.block() {
                None => break,
                Some(block) => {
                    chain.push(Arc::new(block.clone()));
                    // The committed block itself is included, so the ledger can check
                    // that the chain extends it.
                    if block.header.height <= tip {
                        break;
                    }
                }
            }
        }
        chain.reverse();
        Some(chain)
    }
}

fn now_ms(ctx: &impl Clock) -> u64 {
    ctx.current().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Runs `work` (a block's execution) on the runtime's pool for blocking work, so it does
/// not hold one of the few workers that carry votes and messages.
async fn off_the_executor<E, T>(runtime: &E, name: &'static str, work: impl FnOnce() -> T + Send + 'static) -> Option<T>
where
    E: Spawner + Supervisor,
    T: Send + 'static,
{
    match runtime.child(name).shared(true).spawn(move |_| async move { work() }).await {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "{name} did not finish");
            None
        }
    }
}

impl<E: Clock + Spawner + Supervisor + Send + 'static> Application<E> for App {
    type SigningScheme = Scheme;
    type Context = ConsensusContext;
    type Block = LedgerBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, ctx): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let proposer = self.leader_index(&ctx)?;
        let chain = self.chain(ancestry).await?;
        // An idle network proposes empty blocks at a walk, not as fast as it can vote.
        let mut waited = Duration::ZERO;
        while !self.mempool.has_pending() && waited < EMPTY_BLOCK_DELAY {
            runtime.sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        let (ledger, mempool, max, now) =
            (self.ledger.clone(), self.mempool.clone(), self.max_block_txs, now_ms(&runtime));
        let built = off_the_executor(&runtime, "build", move || {
            ledger.build_from(&chain, mempool.as_ref(), max, now, proposer)
        });
        match built.await? {
            Ok(block) => {
                let d = digest(&block.header.hash());
                Some(Digested::precomputed(LedgerBlock::Block(Box::new(block)), d))
            }
            Err(e) => {
                // Declining leads the engine to skip this view.
                tracing::warn!(error = %e, "not proposing");
                None
            }
        }
    }

    async fn verify(&mut self, (runtime, ctx): (E, Self::Context), ancestry: impl Ancestry<Self::Block>) -> bool {
        let Some(proposed) = ancestry.peek().cloned() else {
            return false;
        };
        let Some(block) = proposed.inner().block().cloned() else {
            // The genesis anchor is never proposed.
            return false;
        };
        let Some(leader) = self.leader_index(&ctx) else {
            return false;
        };
        // A timestamp ahead of this clock: wait for the clock rather than refuse (a
        // refusal is final), within the engine's patience.
        let ahead = block.header.timestamp_ms.saturating_sub(now_ms(&runtime));
        if ahead > CLOCK_DRIFT_MAX.as_millis() as u64 {
            runtime.sleep(Duration::from_millis(ahead) - CLOCK_DRIFT_MAX).await;
        }
        let mut rest = ancestry;
        let _ = rest.next().await; // the proposed block itself
        let Some(chain) = self.chain(rest).await else {
            return false;
        };
        let (ledger, mempool, height) = (self.ledger.clone(), self.mempool.clone(), block.header.height);
        let verified =
            off_the_executor(&runtime, "verify", move || ledger.verify(&chain, &block, leader, Some(mempool.as_ref())));
        match verified.await {
            None => false,
            Some(Ok(())) => true,
            Some(Err(e)) => {
                tracing::warn!(height, error = %e, "voting against a proposal");
                false
            }
        }
    }
}

/// Receives marshal's updates (finalized tips and finalized blocks in height order).
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::UnboundedSender<Update<LedgerBlock, Exact>>,
}

impl Reporter for Committer {
    type Activity = Update<LedgerBlock, Exact>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if self.tx.unbounded_send(activity).is_err() {
            Feedback::Closed
        } else {
            Feedback::Ok
        }
    }
}

/// Why a validator stopped applying finalized blocks. The quorum finalized the block, so
/// the fault is this validator's: its store is damaged, or its state diverged from the
/// quorum's (a bug, or a binary whose rules differ from the others'). It stops instead
/// of guessing; see [`Halt::RECOVERY`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply finalized block {height}: {reason}. {}", Halt::RECOVERY)]
pub struct Halt {
    pub height: u64,
    pub reason: String,
}

impl Halt {
    /// What the operator does next (also in the README's "validator stopped" section).
    pub const RECOVERY: &'static str = "This validator has stopped; the others go on. Keep its data directory's \
        `store` and `consensus` folders for diagnosis (move them aside), check that it runs the same verity \
        version as the others, and start it again: with both folders gone it rejoins from its peers and \
        re-executes every block.";
}

/// What the commit loop reports after each committed block.
pub trait CommitListener: Send + Sync + 'static {
    fn committed(&self, block: &Block, certificate: &Certificate, receipts: Vec<Receipt>);
}

/// What the commit loop needs besides the ledger.
pub struct CommitContext {
    pub mempool: Arc<dyn TxSource>,
    pub marshal: Mailbox<Scheme, Standard<LedgerBlock>>,
    pub schemes: EpochSchemes,
    pub epocher: FixedEpocher,
    /// Told of each epoch whose boundary block was committed: the new epoch and its
    /// floor (the boundary block's digest).
    pub epochs: mpsc::UnboundedSender<(Epoch, Digest)>,
    pub listener: Option<Arc<dyn CommitListener>>,
    /// Told once if a finalized block cannot be applied; the loop then stops.
    pub halt: Option<mpsc::UnboundedSender<Halt>>,
    /// This validator's key (never asked for a block).
    pub me: ed25519::PublicKey,
}

/// The commit loop: its reporter half, and the future to spawn.
pub fn committer<E: Clock + Send + 'static>(
    runtime: E,
    ledger: Arc<Ledger>,
    cc: CommitContext,
) -> (Committer, impl std::future::Future<Output = ()> + Send) {
    let CommitContext { mempool, marshal, schemes, epocher, epochs, listener, halt, me } = cc;
    let (tx, mut rx) = mpsc::unbounded::<Update<LedgerBlock, Exact>>();
    let tip = Arc::new(AtomicU64::new(0));
    let run = async move {
        while let Some(update) = rx.next().await {
            match update {
                Update::Tip(_, height, _) => {
                    tip.fetch_max(height.get(), Ordering::SeqCst);
                }
                Update::Block(block, ack) => {
                    if let Some(b) = block.inner().block() {
                        let height = block.height();
                        let stop = |reason: String| Halt { height: height.get(), reason };
                        let applied = match (
                            epocher.containing(height).map(|e| e.epoch()),
                            epocher.containing(height).and_then(|e| schemes.get(e.epoch())),
                        ) {
                            (None, _) => Err(stop("its height is beyond the epochs".into())),
                            (Some(epoch), None) => {
                                Err(stop(format!("the validator set of epoch {} is unknown", epoch.get())))
                            }
                            (Some(epoch), Some(scheme)) => {
                                let boundary = last_height(&epocher, epoch) == height;
                                let at = Site { marshal: &marshal, scheme: &scheme, me: &me };
                                let certificate = certificate_for(&runtime, &at, b, height, boundary, &tip).await;
                                match ledger.commit(b, &certificate) {
                                    Ok(receipts) => {
                                        let hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
                                        mempool.committed(&hashes);
                                        if let Some(l) = &listener {
                                            l.committed(b, &certificate, receipts);
                                        }
                                        if boundary && ledger.epoch_length() > 0 {
                                            let _ = epochs.unbounded_send((epoch.next(), digest(&b.header.hash())));
                                        }
                                        Ok(())
                                    }
                                    Err(e) => Err(stop(e.to_string())),
                                }
                            }
                        };
                        // A finalized block this validator cannot apply: its state is not
                        // the quorum's. It stops applying blocks (the block stays
                        // unacknowledged, so marshal delivers it again after a restart)
                        // and tells whoever runs it, instead of panicking.
                        if let Err(h) = applied {
                            tracing::error!(height = h.height, reason = %h.reason, "{h}");
                            if let Some(tx) = &halt {
                                let _ = tx.unbounded_send(h);
                            }
                            return;
                        }
                    }
                    ack.acknowledge();
                }
            }
        }
    };
    (Committer { tx }, run)
}

/// Where a block's certificate comes from: marshal, with the scheme of the block's epoch.
struct Site<'a> {
    marshal: &'a Mailbox<Scheme, Standard<LedgerBlock>>,
    scheme: &'a EpochScheme,
    me: &'a ed25519::PublicKey,
}

/// The block's own finalization certificate if marshal holds it; otherwise (the block
/// was finalized through a descendant) a certificate naming the finalized tip. An
/// epoch's boundary block always has its own (its epoch's engine re-proposes it until it
/// is finalized, and no later block of that epoch exists): light clients follow
/// validator-set changes through it, so it is waited for, and asked of peers.
async fn certificate_for(
    runtime: &impl Clock,
    at: &Site<'_>,
    block: &Block,
    height: Height,
    boundary: bool,
    tip: &AtomicU64,
) -> Certificate {
    let want = digest(&block.header.hash());
    let mut attempt = 0u32;
    loop {
        if let Some(fin) = at.marshal.get_finalization(height).await {
            if fin.proposal.payload == want {
                if let Ok(c) = cert::certificate(&fin, &at.scheme.participants, &at.scheme.set) {
                    return c;
                }
            }
        }
        // Marshal delivers only finalized blocks: without a certificate of its own,
        // this one was finalized by a descendant's, which marshal reports as the tip.
        let t = tip.load(Ordering::SeqCst);
        if !boundary && t > height.get() && attempt >= 2 {
            return Certificate::by_descendant(t);
        }
        if boundary && attempt.is_multiple_of(40) {
            let peers: Vec<ed25519::PublicKey> =
                at.scheme.participants.iter().filter(|p| *p != at.me).cloned().collect();
            if let Ok(peers) = NonEmptyVec::try_from(peers) {
                at.marshal.hint_finalized(height, peers);
            }
        }
        attempt += 1;
        if attempt.is_multiple_of(200) {
            tracing::warn!(height = height.get(), "finalized block without a certificate yet");
        }
        runtime.sleep(Duration::from_millis(25)).await;
    }
}
