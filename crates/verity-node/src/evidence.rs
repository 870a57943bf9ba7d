//! Putting detected equivocations on the ledger: the validator's engine hands verified
//! evidence to [`EvidenceReporter`], which submits a `ReportEquivocation` transaction
//! signed by the node's reporter account (config `evidence_reporter`) through the
//! node's own mempool, and retries until the round's evidence is on the ledger (by this
//! node's transaction or another's).
//!
//! Policy: one report per validator and epoch from each node (the engine reports every
//! conflicting vote it sees; one record is enough to act on, and the ledger refuses a
//! second record of the same round anyway).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use verity_consensus::StoreView;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, Action, Equivocation, Hash, PublicKey, ReportEquivocation, Transaction, TxStatus};

use crate::core::NodeCore;

/// Attempts per piece of evidence before the reporter gives up on it.
const ATTEMPTS_MAX: u32 = 5;
/// How long a submitted report may stay uncommitted before it is submitted again.
const PENDING_MAX: Duration = Duration::from_secs(30);

/// Submits evidence for one node (see the module doc).
pub struct EvidenceReporter {
    core: Arc<NodeCore>,
    account: AccountId,
    key: SecretKey,
    queue: Mutex<VecDeque<Equivocation>>,
    seen: Mutex<HashSet<(PublicKey, u64)>>,
}

impl EvidenceReporter {
    pub fn new(core: Arc<NodeCore>, account: AccountId, key: SecretKey) -> Arc<Self> {
        Arc::new(EvidenceReporter {
            core,
            account,
            key,
            queue: Mutex::new(VecDeque::new()),
            seen: Mutex::new(HashSet::new()),
        })
    }

    fn recorded(&self, ev: &Equivocation) -> bool {
        let (epoch, view) = ev.round();
        verity_state::consensus::evidence_in_round(&StoreView(&self.core.store), &ev.validator, epoch, view).is_some()
    }

    /// Submits the report of `ev`; its transaction hash if the mempool admitted it.
    fn submit(&self, ev: &Equivocation) -> Option<Hash> {
        let nonce = verity_state::account(&StoreView(&self.core.store), &self.account)?.nonce;
        let tx = Transaction {
            chain_id: self.core.chain_id().to_string(),
            sender: self.account.clone(),
            nonce,
            action: Action::ReportEquivocation(ReportEquivocation { evidence: ev.clone() }),
        }
        .sign(&self.key);
        let (hash, admitted) = self.core.submit(vec![tx], false).pop()?;
        match admitted {
            Ok(_) => Some(hash),
            Err(e) => {
                tracing::warn!(error = %e, "evidence report not admitted; will retry");
                None
            }
        }
    }

    /// Works the queue until `stop` is set: one report in flight at a time.
    pub async fn run(self: Arc<Self>) {
        let mut inflight: Option<(Hash, Instant)> = None;
        let mut attempts = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if self.core.is_stopping() {
                return;
            }
            let Some(ev) = self.queue.lock().front().cloned() else { continue };
            let done = |this: &Self, attempts: &mut u32| {
                this.queue.lock().pop_front();
                *attempts = 0;
            };
            if self.recorded(&ev) {
                tracing::info!(validator = %ev.validator.to_hex(), view = ev.first.view, "equivocation evidence is on the ledger");
                inflight = None;
                done(&self, &mut attempts);
                continue;
            }
            if let Some((hash, since)) = inflight {
                match self.core.store.tx(&hash) {
                    Ok(Some((_, r))) if r.status == TxStatus::Success => continue, // recorded() sees it next tick
                    Ok(Some((_, r))) => {
                        tracing::warn!(error = ?r.error, "evidence report failed");
                        inflight = None;
                    }
                    _ if since.elapsed() > PENDING_MAX => inflight = None,
                    _ => continue,
                }
            }
            if attempts >= ATTEMPTS_MAX {
                tracing::warn!(validator = %ev.validator.to_hex(), "giving up on an evidence report");
                done(&self, &mut attempts);
                continue;
            }
            attempts += 1;
            inflight = self.submit(&ev).map(|h| (h, Instant::now()));
        }
    }
}

impl verity_bft::evidence::EvidenceSink for EvidenceReporter {
    fn equivocation(&self, evidence: Equivocation) {
        if self.seen.lock().insert((evidence.validator, evidence.first.epoch)) {
            self.queue.lock().push_back(evidence);
        }
    }
}

#[cfg(test)]
mod tests {
    use verity_bft::evidence::EvidenceSink;
    use verity_state::consensus::evidence_count;
    use verity_types::{
        consensus_namespace, Genesis, GenesisAccount, GenesisOrg, OrgId, SignedVote, Validator, VoteKind,
    };

    use super::*;
    use crate::core::NodeOptions;

    fn key(name: &str) -> SecretKey {
        verity_testkit::secret(name)
    }

    fn evidence(view: u64) -> Equivocation {
        let vote = |payload: u8| {
            let mut v = SignedVote {
                kind: VoteKind::Notarize,
                epoch: 0,
                view,
                parent_view: view - 1,
                payload: Hash([payload; 32]),
                signature: verity_types::Signature([0; 64]),
            };
            v.signature = key("validator").sign(&v.signed_bytes(&consensus_namespace("ev-test")));
            v
        };
        Equivocation { validator: key("validator").public_key(), first: vote(1), second: vote(2) }
    }

    /// The reporter puts the first evidence per validator and epoch on the ledger,
    /// signed by its account, and ignores later conflicts of the same validator.
    #[test]
    fn reports_once_per_validator_and_epoch_until_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let org = OrgId::new("acme").expect("org");
        let admin = AccountId::new("admin").expect("account");
        let genesis = Genesis {
            chain_id: "ev-test".into(),
            genesis_time_ms: 0,
            orgs: vec![GenesisOrg {
                id: org.clone(),
                name: "Acme".into(),
                admins: vec![GenesisAccount { id: admin.clone(), public_key: key("admin").public_key() }],
            }],
            validators: vec![Validator { org, public_key: key("validator").public_key(), power: 1 }],
            assets: vec![],
            balances: vec![],
            epoch_length: 0,
            governance: None,
        };
        let store = Arc::new(verity_store::Store::open(dir.path()).expect("store"));
        let options = NodeOptions { block_interval: Duration::from_millis(20), ..NodeOptions::default() };
        let core = NodeCore::start(store, genesis, key("validator"), options).expect("node");
        let reporter = EvidenceReporter::new(core.clone(), admin.clone(), key("admin"));
        reporter.equivocation(evidence(7));
        reporter.equivocation(evidence(9)); // same validator and epoch: not reported again
        assert_eq!(reporter.queue.lock().len(), 1);

        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let task = rt.spawn(reporter.clone().run());
        let view = StoreView(&core.store);
        let deadline = Instant::now() + Duration::from_secs(20);
        while (evidence_count(&view) == 0 || !reporter.queue.lock().is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(evidence_count(&view), 1);
        let rec = verity_state::evidence(&view, 0).expect("record");
        assert_eq!((rec.evidence, rec.reported_by), (evidence(7), admin));
        assert!(reporter.queue.lock().is_empty(), "done once recorded");
        core.shutdown();
        rt.block_on(task).expect("the reporter stops with the node");
    }
}
