//! `verity bench trace`: lineage-trace latency and audit-bundle verification time in a
//! store holding N linked provenance records.
//!
//! The store is the node's own (a `verity init` data directory, redb on disk), filled
//! through the block producer the node runs: every block is executed by
//! `verity_state::execute_block`, its state and log roots are prepared by the store, the
//! embedded validator certifies the header and the block is committed with fsync.
//! Admission (batch signature verification, measured by `verity bench ingest`) is
//! skipped, but every transaction is signed: audit bundles carry the transactions that
//! created their records and offline verification checks those signatures.
//!
//! The shape follows a production ledger. A quarter of the records are content items;
//! each dataset enumerates a slice of them in two versions (the second supersedes the
//! first and holds more items); a few items are opted out (and left out of datasets) and
//! each dataset has one open challenge. Each model version comes from its own training
//! run over two datasets (after the first model, runs fine-tune the latest version of the
//! previous model, so lineages are several models deep), has two attestations and is
//! deployed to staging and production behind the model's gate, with a rollback now and
//! then. Decisions make up the rest, thousands per model version, one in a hundred
//! corrected.
//!
//! Traces are timed on ids of every kind, drawn at random (an equal number per kind),
//! through `verity_state::provenance::trace` over the store view the HTTP handler of
//! `GET /v1/trace/{ref}` uses, and optionally through that endpoint on loopback.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use verity_client::keystore::Keystore;
use verity_consensus::{BlockProducer, SoloFinalizer, StoreView};
use verity_node::{audit, datadir, NodeCore, NodeOptions};
use verity_state::provenance::{self as prov, keys, TraceLimits, TraceNode};
use verity_state::StateRead;
use verity_store::Store;
use verity_types::dsse::{Envelope, EvalDataset, EvaluationPredicate, EvaluationStatement, IN_TOTO_PAYLOAD_TYPE};
use verity_types::keys::SecretKey;
use verity_types::limits::{BLOCK_TXS_MAX, DATASET_CHUNK_ITEMS_MAX, MODEL_DEPTH_MAX};
use verity_types::manifest::{DatasetManifest, ManifestItem};
use verity_types::{
    run_log_message, sha256, AccountId, Action, AddDatasetItems, AttestationKind, ChallengeItem, ChallengeKind,
    CorrectDecision, CorrectionPolicy, CreateAccount, DatasetId, DatasetItem, DatasetMode, DatasetPolicy, DatasetRef,
    Deploy, EnvId, GateRequirement, Hash, Licence, Metric, MetricBound, ModelId, ModelVersionRef, OptOutContent,
    OptOutScope, PayoutShare, PublishDataset, RecordDecision, RecordRef, RegisterContent, RegisterModel,
    RegisterModelVersion, RegisterRun, ReviewLayer, Role, Rollback, RunId, SetGate, SignedTransaction,
    SubmitAttestation, Transaction, TxStatus,
};

use crate::proofs::next as rand_next;
use crate::{max_rss_mib, percentile, rows, Rows};

#[derive(Args, Clone)]
pub struct TraceArgs {
    /// Provenance records to create (content, opt-outs, dataset versions, challenges,
    /// runs, model versions, attestations, deployments, decisions).
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Traces to time after the warm-up, spread evenly over the record kinds.
    #[arg(long, default_value_t = 2_000)]
    pub samples: usize,
    /// Untimed traces first, on other random ids.
    #[arg(long, default_value_t = 200)]
    pub warmup: usize,
    /// Traces to time through GET /v1/trace/{ref} on loopback (0: skip).
    #[arg(long, default_value_t = 200)]
    pub http_samples: usize,
    /// Offline verifications of each audit bundle; the median is reported.
    #[arg(long, default_value_t = 7)]
    pub verify_runs: usize,
    /// Write the two audit bundles and the network's genesis.json into this directory, to
    /// check them again with `verity audit verify FILE --validators DIR/genesis.json`.
    #[arg(long)]
    pub keep_bundles: Option<std::path::PathBuf>,
}

/// Latency of the traces of one record kind.
#[derive(Serialize, Debug)]
pub struct KindStats {
    pub kind: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU time of the tracing thread (wall time minus waiting for a core).
    pub cpu_p50_ms: f64,
    pub cpu_p99_ms: f64,
    /// Records returned per trace (the root included).
    pub nodes_mean: f64,
    pub nodes_max: usize,
    /// State reads per trace.
    pub reads_mean: f64,
    /// Traces that stopped at a node or depth limit.
    pub truncated: usize,
}

/// An exported audit bundle and its offline verification.
#[derive(Serialize, Debug, Default)]
pub struct BundleStats {
    pub subject: String,
    /// Why it could not be built, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub records: usize,
    pub transactions: usize,
    /// State proofs of the index (downstream lists and flags).
    pub index_proofs: usize,
    pub bytes: usize,
    pub build_ms: f64,
    /// Median of the offline verifications of the file's bytes.
    pub verify_ms: f64,
    /// Signature checks (checkpoint, transactions, DSSE envelopes) plus state proofs in the
    /// bundle, each priced at the baselines measured in this run.
    pub floor_ms: f64,
    pub verified: bool,
}

/// The benchmark's report (`--json` prints exactly this object).
#[derive(Serialize, Debug)]
pub struct TraceReport {
    pub records: u64,
    pub records_by_kind: BTreeMap<String, u64>,
    pub transactions: u64,
    pub blocks: u64,
    pub fill_seconds: f64,
    pub fill_records_per_s: f64,
    pub fill_tx_per_s: f64,
    /// Size of the store's database file after filling, MiB.
    pub store_mib: f64,
    pub samples: usize,
    /// Trace latency over all timed samples, in-process (the handler's code path).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The same traces' CPU time on the tracing thread: on a shared machine, wall time
    /// includes waiting for a core, this does not (nor time blocked on the disk).
    pub cpu_p50_ms: f64,
    pub cpu_p99_ms: f64,
    pub nodes_mean: f64,
    pub nodes_max: usize,
    pub truncated: usize,
    pub by_kind: Vec<KindStats>,
    /// The same traces through GET /v1/trace/{ref} on loopback (JSON included).
    pub http_samples: usize,
    pub http_p50_ms: f64,
    pub http_p99_ms: f64,
    /// Baseline: reading one random record by key from the same store view.
    pub read_p50_us: f64,
    pub read_p99_us: f64,
    /// Baseline: one Ed25519 signature verification.
    pub ed25519_verify_us: f64,
    /// Baseline: verifying one state proof against a root.
    pub state_proof_verify_us: f64,
    /// p99_ms / read_p99_us, in reads: how many point reads a p99 trace costs.
    pub p99_in_reads: f64,
    /// The model-version bundle's verification time (the headline figure).
    pub verify_ms: f64,
    pub bundle: BundleStats,
    pub decision_bundle: BundleStats,
    /// The traces of chosen records hold the records they are known to link to.
    pub lineage_ok: bool,
    pub lineage_problems: Vec<String>,
    /// Both bundles verified offline.
    pub verified: bool,
    pub cores: usize,
    pub max_rss_mib: f64,
}

impl TraceReport {
    /// The report as a table: totals, then one row per record kind and per bundle.
    pub fn rows(&self) -> Rows {
        let mut table = rows([
            ("records / transactions / blocks", format!("{} / {} / {}", self.records, self.transactions, self.blocks)),
            (
                "fill seconds (records/s, tx/s)",
                format!("{:.1} ({:.0}, {:.0})", self.fill_seconds, self.fill_records_per_s, self.fill_tx_per_s),
            ),
            ("store MiB", format!("{:.0}", self.store_mib)),
            ("trace p50 / p99 / max ms", format!("{:.3} / {:.3} / {:.3}", self.p50_ms, self.p99_ms, self.max_ms)),
            ("trace CPU p50 / p99 ms", format!("{:.3} / {:.3}", self.cpu_p50_ms, self.cpu_p99_ms)),
            ("traces (truncated)", format!("{} ({})", self.samples, self.truncated)),
            ("nodes per trace mean / max", format!("{:.1} / {}", self.nodes_mean, self.nodes_max)),
        ]);
        table.extend(self.by_kind.iter().map(|k| {
            (
                format!("  {} p50 / p99 / max ms", k.kind),
                format!(
                    "{:.3} / {:.3} / {:.3}  (CPU p99 {:.3}; {:.1} nodes, {:.0} reads)",
                    k.p50_ms, k.p99_ms, k.max_ms, k.cpu_p99_ms, k.nodes_mean, k.reads_mean
                ),
            )
        }));
        table.extend(rows([
            (
                "HTTP trace p50 / p99 ms",
                format!("{:.3} / {:.3} ({} samples)", self.http_p50_ms, self.http_p99_ms, self.http_samples),
            ),
            ("baseline: record read p50 / p99 us", format!("{:.1} / {:.1}", self.read_p50_us, self.read_p99_us)),
            (
                "baseline: ed25519 verify / state proof verify us",
                format!("{:.1} / {:.1}", self.ed25519_verify_us, self.state_proof_verify_us),
            ),
            ("p99 trace in record reads", format!("{:.0}", self.p99_in_reads)),
        ]));
        for b in [&self.bundle, &self.decision_bundle] {
            let v = match &b.error {
                Some(e) => format!("{}: {e}", b.subject),
                None => format!(
                    "{}: {} records, {} txs, {} KiB; verify {:.2} ms (floor {:.2} ms), build {:.1} ms",
                    b.subject,
                    b.records,
                    b.transactions,
                    b.bytes / 1024,
                    b.verify_ms,
                    b.floor_ms,
                    b.build_ms
                ),
            };
            table.push(("audit bundle".into(), v));
        }
        table.extend(rows([
            ("lineage checks", if self.lineage_ok { "ok".into() } else { self.lineage_problems.join("; ") }),
            ("bundles verified", self.verified.to_string()),
            ("peak RSS MiB", format!("{:.0}", self.max_rss_mib)),
        ]));
        table
    }

    /// Fails when a lineage check or a bundle's verification failed (after the report is
    /// printed).
    pub fn check(&self) -> Result<()> {
        if !self.lineage_ok || !self.verified {
            bail!("the lineage checks or the bundle verification failed");
        }
        Ok(())
    }
}

/// Accounts of the benchmark network, by role (indices into `Net::accounts`).
const ADMIN: usize = 0;
const CREATORS: usize = 4;
const OPERATORS: usize = 16;

/// Roles of the accounts after the admin, in order: creators, curator, model owner,
/// provider, evaluator, deployer, then the operators who record decisions.
fn account_roles() -> Vec<(String, Role)> {
    let mut v: Vec<(String, Role)> = (0..CREATORS).map(|i| (format!("creator-{i}"), Role::Creator)).collect();
    v.push(("curator".into(), Role::Curator));
    v.push(("owner".into(), Role::ModelOwner));
    v.push(("provider".into(), Role::Provider));
    v.push(("evaluator".into(), Role::Evaluator));
    v.push(("deployer".into(), Role::Deployer));
    v.extend((0..OPERATORS).map(|i| (format!("operator-{i}"), Role::Member)));
    v
}
const CURATOR: usize = 1 + CREATORS;
const OWNER: usize = CURATOR + 1;
const PROVIDER: usize = OWNER + 1;
const EVALUATOR: usize = PROVIDER + 1;
const DEPLOYER: usize = EVALUATOR + 1;
const FIRST_OPERATOR: usize = DEPLOYER + 1;

/// A decision in this many is corrected.
const CORRECTION_EVERY: u64 = 100;
/// Content items per dataset (each dataset has two versions).
const ITEMS_PER_DATASET: u64 = 10_000;
/// Records per model version, in round numbers (most of them decisions).
const RECORDS_PER_MODEL_VERSION: u64 = 20_000;
/// Model versions per model.
const VERSIONS_PER_MODEL: u64 = 5;
/// A block is cut at BLOCK_TXS_MAX transactions or at about this many bytes.
const BLOCK_BYTES_TARGET: usize = 8 << 20;

/// How many records of each kind a run creates.
#[derive(Clone, Copy, Debug)]
struct Shape {
    content: u64,
    opt_outs: u64,
    datasets: u64,
    model_versions: u64,
    models: u64,
    rollbacks: u64,
    decisions: u64,
}

impl Shape {
    fn new(records: u64) -> Result<Shape> {
        let content = records / 4;
        let opt_outs = (content / 500).max(1);
        let datasets = (content / ITEMS_PER_DATASET).max(2);
        let model_versions = (records / RECORDS_PER_MODEL_VERSION).max(4);
        let models = (model_versions / VERSIONS_PER_MODEL).max(2);
        let rollbacks = (0..model_versions).filter(|k| rolls_back(*k, models)).count() as u64;
        // Dataset versions, challenges, runs, model versions, attestations, deployments.
        let fixed = content + opt_outs + 3 * datasets + 6 * model_versions + rollbacks;
        let decisions = records.saturating_sub(fixed);
        if decisions < 10 * model_versions || content < 4 * datasets {
            bail!("--records must be at least 2000 for the benchmark's shape");
        }
        Ok(Shape { content, opt_outs, datasets, model_versions, models, rollbacks, decisions })
    }

    /// The n-th model version (0-based, in registration order): model index and version.
    fn model_version(&self, k: u64) -> (u64, u32) {
        (k % self.models, (k / self.models + 1) as u32)
    }

    /// Content indices of dataset `d` (a contiguous slice, without opted-out items).
    fn dataset_items(&self, d: u64, version: u32) -> Vec<u64> {
        let per = self.content / self.datasets;
        let start = d * per;
        let end = if d + 1 == self.datasets { self.content } else { start + per };
        // Version 1 holds the first 70% of the slice, version 2 all of it.
        let end = if version == 1 { start + (end - start) * 7 / 10 } else { end };
        (start..end).filter(|i| !self.opted_out(*i)).collect()
    }

    fn opted_out(&self, i: u64) -> bool {
        i % 500 == 250 && i / 500 < self.opt_outs
    }
}

/// Every third model version after a model's first is rolled back after its decisions.
fn rolls_back(k: u64, models: u64) -> bool {
    k >= models && k.is_multiple_of(3)
}

fn content_id(i: u64) -> Hash {
    sha256(format!("bench content {i}").as_bytes())
}

fn dataset_id(d: u64) -> DatasetId {
    DatasetId::new(format!("corpus-{d}")).expect("valid dataset id")
}

fn model_id(m: u64) -> ModelId {
    ModelId::new(format!("model-{m}")).expect("valid model id")
}

fn mit() -> Licence {
    Licence::Spdx("MIT".into())
}

/// Ids of the records created, by kind, and the records the checks look at.
#[derive(Default)]
struct Catalog {
    by_kind: BTreeMap<&'static str, Vec<RecordRef>>,
    transactions: u64,
    /// The last model version registered (the deepest lineage).
    subject: Option<ModelVersionRef>,
    subject_run: Option<(RunId, Vec<DatasetRef>, Option<ModelVersionRef>)>,
    /// A corrected decision of the subject and its correction.
    subject_decision: Option<(Hash, Hash)>,
}

impl Catalog {
    fn add(&mut self, r: RecordRef) {
        self.by_kind.entry(r.kind()).or_default().push(r);
    }
}

/// Signs transactions in ledger order and hands them over block by block.
struct Gen {
    chain: String,
    accounts: Vec<(AccountId, SecretKey, u64)>,
    block: Vec<SignedTransaction>,
    block_bytes: usize,
    out: SyncSender<Vec<SignedTransaction>>,
    catalog: Catalog,
}

impl Gen {
    /// Signs `action` from account `who` at its next nonce; returns the transaction hash.
    fn tx(&mut self, who: usize, action: Action) -> Result<Hash> {
        let (sender, key, nonce) = &mut self.accounts[who];
        let tx = Transaction { chain_id: self.chain.clone(), sender: sender.clone(), nonce: *nonce, action }.sign(key);
        *nonce += 1;
        let bytes = tx.to_bytes();
        let hash = sha256(&bytes);
        self.block_bytes += bytes.len();
        self.block.push(tx);
        self.catalog.transactions += 1;
        if self.block.len() >= BLOCK_TXS_MAX || self.block_bytes >= BLOCK_BYTES_TARGET {
            self.flush()?;
        }
        Ok(hash)
    }

    fn flush(&mut self) -> Result<()> {
        if !self.block.is_empty() {
            self.block_bytes = 0;
            let block = std::mem::take(&mut self.block);
            // The receiver is gone only when the producer stopped on an error it reports.
            self.out.send(block).map_err(|_| anyhow::anyhow!("block producer stopped"))?;
        }
        Ok(())
    }

    fn key(&self, who: usize) -> (&AccountId, &SecretKey) {
        (&self.accounts[who].0, &self.accounts[who].1)
    }

    /// Generates the whole ledger.
    fn run(&mut self, shape: Shape) -> Result<()> {
        let org = verity_types::OrgId::new("bench")?;
        for (i, (name, role)) in account_roles().into_iter().enumerate() {
            let public_key = self.accounts[i + 1].1.public_key();
            let account = AccountId::new(name)?;
            self.tx(
                ADMIN,
                Action::CreateAccount(CreateAccount { account, public_key, org: org.clone(), roles: vec![role] }),
            )?;
        }
        self.content(shape)?;
        self.datasets(shape)?;
        self.models(shape)?;
        self.flush()
    }

    fn content(&mut self, shape: Shape) -> Result<()> {
        for i in 0..shape.content {
            let creator = 1 + (i % CREATORS as u64) as usize;
            let payout = vec![PayoutShare { account: self.key(creator).0.clone(), share_ppm: 1_000_000 }];
            let content = content_id(i);
            let action = Action::RegisterContent(RegisterContent {
                content,
                media_type: "text/plain".into(),
                licence: mit(),
                payout,
            });
            self.tx(creator, action)?;
            self.catalog.add(RecordRef::Content(content));
            if shape.opted_out(i) {
                let action = Action::OptOut(OptOutContent {
                    content,
                    scope: OptOutScope::AllTraining,
                    reason: "no AI training".into(),
                });
                let id = self.tx(creator, action)?;
                self.catalog.add(RecordRef::OptOut(id));
            }
        }
        Ok(())
    }

    fn datasets(&mut self, shape: Shape) -> Result<()> {
        let policy = DatasetPolicy { commercial: false, require_registered: true };
        for d in 0..shape.datasets {
            for version in 1..=2u32 {
                let items: Vec<ManifestItem> = shape
                    .dataset_items(d, version)
                    .into_iter()
                    .map(|i| ManifestItem { content: content_id(i), licence: mit(), name: None })
                    .collect();
                let m = DatasetManifest::new(dataset_id(d), version, items)?;
                self.tx(
                    CURATOR,
                    Action::PublishDataset(PublishDataset {
                        dataset: m.dataset.clone(),
                        version,
                        manifest_hash: m.hash(),
                        root: m.root(),
                        count: m.items.len() as u64,
                        licences: m.licences(),
                        mode: DatasetMode::Enumerated,
                        policy,
                        supersedes: (version > 1).then(|| version - 1),
                        reviewers: vec![],
                        challenge_window: 1_000,
                    }),
                )?;
                for chunk in m.items.chunks(DATASET_CHUNK_ITEMS_MAX) {
                    let items = chunk.iter().map(|i| DatasetItem { content: i.content, licence: mit() }).collect();
                    self.tx(
                        CURATOR,
                        Action::AddDatasetItems(AddDatasetItems { dataset: m.dataset.clone(), version, items }),
                    )?;
                }
                self.catalog.add(RecordRef::dataset(&m.dataset, version));
                if version == 1 {
                    let action = Action::ChallengeItem(ChallengeItem {
                        dataset: m.dataset.clone(),
                        version,
                        content: m.items[0].content,
                        kind: ChallengeKind::Mislabelled,
                        evidence: sha256(format!("evidence {d}").as_bytes()),
                        // Every challenge proves the item is in the version.
                        proof: Some(m.prove(&m.items[0].content)?.proof),
                    });
                    let id = self.tx(FIRST_OPERATOR + (d as usize % OPERATORS), action)?;
                    self.catalog.add(RecordRef::Challenge(id));
                }
            }
        }
        Ok(())
    }

    fn models(&mut self, shape: Shape) -> Result<()> {
        let performance = AttestationKind::new("performance")?;
        for m in 0..shape.models {
            self.tx(
                OWNER,
                Action::RegisterModel(RegisterModel { model: model_id(m), description: format!("bench model {m}") }),
            )?;
            let requirement = GateRequirement {
                kind: performance.clone(),
                environments: vec![],
                evaluators: vec![],
                metrics: vec![MetricBound { name: "accuracy".into(), bound_ppm: 900_000 }],
            };
            self.tx(OWNER, Action::SetGate(SetGate { model: model_id(m), requirements: vec![requirement] }))?;
        }
        let per_version = shape.decisions / shape.model_versions;
        let mut decision_no = 0u64;
        for k in 0..shape.model_versions {
            let (m, version) = shape.model_version(k);
            let run = RunId::new(format!("run-{k}"))?;
            let mut datasets: Vec<DatasetRef> = [k % shape.datasets, (k + 1) % shape.datasets]
                .into_iter()
                .map(|d| DatasetRef { dataset: dataset_id(d), version: 2 })
                .collect();
            // The ledger wants them sorted.
            datasets.sort();
            // After the first model, runs fine-tune the latest version of the previous model
            // (registered just before, round-robin), within the lineage depth limit.
            let base = (m > 0 && m % u64::from(MODEL_DEPTH_MAX) != 0)
                .then(|| ModelVersionRef { model: model_id(m - 1), version: shape.model_version(k - 1).1 });
            let run_log_hash = sha256(format!("run log {k}").as_bytes());
            let provider_signature =
                self.key(PROVIDER).1.sign(&run_log_message(&self.chain, &run, &datasets, &run_log_hash));
            let provider = self.key(PROVIDER).0.clone();
            self.tx(
                OWNER,
                Action::RegisterRun(RegisterRun {
                    run: run.clone(),
                    datasets: datasets.clone(),
                    base_model: base.clone(),
                    code_commit: format!("{k:07x}"),
                    hyperparams_hash: sha256(b"lr=3e-4"),
                    training_date: "2026-11-23".into(),
                    team: "ml".into(),
                    run_log_hash,
                    provider,
                    provider_signature,
                }),
            )?;
            self.catalog.add(RecordRef::Run(run.clone()));
            let fingerprint = sha256(format!("bench weights {m}@{version}").as_bytes());
            let mv = ModelVersionRef { model: model_id(m), version };
            self.tx(
                OWNER,
                Action::RegisterModelVersion(RegisterModelVersion {
                    model: mv.model.clone(),
                    version,
                    fingerprint,
                    run: run.clone(),
                }),
            )?;
            self.catalog.add(RecordRef::ModelVersion(mv.clone()));
            for (kind, metric) in [
                (
                    "performance",
                    Metric {
                        name: "accuracy".into(),
                        value_ppm: 950_000,
                        threshold_ppm: Some(900_000),
                        higher_is_better: true,
                    },
                ),
                (
                    "fairness",
                    Metric {
                        name: "gap".into(),
                        value_ppm: 20_000,
                        threshold_ppm: Some(50_000),
                        higher_is_better: false,
                    },
                ),
            ] {
                let st = EvaluationStatement::new(
                    &format!("{}@{version}", mv.model),
                    fingerprint,
                    EvaluationPredicate {
                        kind: AttestationKind::new(kind)?,
                        suite: format!("{kind}-suite"),
                        dataset: EvalDataset { name: "held-out".into(), sha256: sha256(b"held-out") },
                        metrics: vec![metric],
                        passed: true,
                    },
                );
                let (evaluator, key) = self.key(EVALUATOR);
                let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, st.to_payload(), evaluator, key);
                let id = verity_types::attestation_id(evaluator, &envelope.payload_digest());
                self.tx(EVALUATOR, Action::SubmitAttestation(SubmitAttestation { envelope }))?;
                self.catalog.add(RecordRef::Attestation(id));
            }
            for env in ["staging", "production"] {
                let action = Action::Deploy(Deploy { model: mv.model.clone(), version, environment: EnvId::new(env)? });
                let id = self.tx(DEPLOYER, action)?;
                self.catalog.add(RecordRef::Deployment(id));
            }
            let n = if k + 1 == shape.model_versions {
                shape.decisions - per_version * (shape.model_versions - 1)
            } else {
                per_version
            };
            let mut last = None;
            for j in 0..n {
                decision_no += 1;
                let operator = FIRST_OPERATOR + (decision_no % OPERATORS as u64) as usize;
                let id = match last {
                    Some(previous) if j % CORRECTION_EVERY == CORRECTION_EVERY - 1 => {
                        let action = Action::CorrectDecision(CorrectDecision {
                            decision: previous,
                            output_hash: sha256(format!("corrected output {decision_no}").as_bytes()),
                            review: ReviewLayer::None,
                            reason: "operator review".into(),
                        });
                        let id = self.tx(operator, action)?;
                        if k + 1 == shape.model_versions {
                            self.catalog.subject_decision = Some((previous, id));
                        }
                        id
                    }
                    _ => {
                        let action = Action::RecordDecision(RecordDecision {
                            model: mv.model.clone(),
                            version,
                            input_commitment: sha256(format!("input {decision_no}").as_bytes()),
                            output_hash: sha256(format!("output {decision_no}").as_bytes()),
                            review: ReviewLayer::None,
                            binding: decision_no.is_multiple_of(2),
                            correction_policy: CorrectionPolicy::ByOperator,
                            context: "loan triage".into(),
                        });
                        self.tx(operator, action)?
                    }
                };
                last = Some(id);
                self.catalog.add(RecordRef::Decision(id));
            }
            if rolls_back(k, shape.models) {
                let action = Action::Rollback(Rollback {
                    model: mv.model.clone(),
                    environment: EnvId::new("production")?,
                    to_version: version - 1,
                    reason: "latency regression".into(),
                });
                let id = self.tx(DEPLOYER, action)?;
                self.catalog.add(RecordRef::Deployment(id));
            }
            self.catalog.subject = Some(mv);
            self.catalog.subject_run = Some((run, datasets, base));
        }
        Ok(())
    }
}

/// CPU time consumed by the calling thread so far, in milliseconds.
fn thread_cpu_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// Counts state reads (to report reads per trace); otherwise the store view itself.
struct CountingView<'a> {
    inner: StoreView<'a>,
    reads: Cell<u64>,
}

impl StateRead for CountingView<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(key)
    }
}

/// Does `nodes` (or any node below them) hold `r`?
fn holds(nodes: &[TraceNode], r: &RecordRef) -> bool {
    nodes.iter().any(|n| n.record == *r || holds(&n.children, r))
}

fn count_kind(nodes: &[TraceNode], kind: &str) -> usize {
    nodes.iter().filter(|n| n.record.kind() == kind).count()
}

/// Checks that the traces of chosen records hold the records they must link to.
fn lineage_checks(store: &Store, shape: Shape, c: &Catalog) -> Vec<String> {
    let view = StoreView(store);
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    let (Some(mv), Some((run, datasets, base))) = (&c.subject, &c.subject_run) else {
        return vec!["no model version was registered".into()];
    };
    let subject = RecordRef::ModelVersion(mv.clone());
    match prov::trace(&view, &subject, TraceLimits::default()) {
        None => expect(false, format!("{subject} is missing")),
        Some(t) => {
            let run_ref = RecordRef::Run(run.clone());
            let run_node = t.upstream.iter().find(|n| n.record == run_ref);
            expect(run_node.is_some(), format!("{subject}: upstream lacks {run_ref}"));
            if let Some(n) = run_node {
                for d in datasets {
                    let d = RecordRef::Dataset(d.clone());
                    expect(holds(&n.children, &d), format!("{subject}: {run_ref} lacks {d} upstream"));
                }
                if let Some(b) = base {
                    let b = RecordRef::ModelVersion(b.clone());
                    expect(holds(&n.children, &b), format!("{subject}: {run_ref} lacks base model {b} upstream"));
                }
            }
            expect(count_kind(&t.downstream, "attestation") == 2, format!("{subject}: not 2 attestations downstream"));
            expect(count_kind(&t.downstream, "deployment") >= 2, format!("{subject}: under 2 deployments downstream"));
            expect(count_kind(&t.downstream, "decision") >= 1, format!("{subject}: no decision downstream"));
        }
    }
    if let Some((decision, correction)) = c.subject_decision {
        let d = RecordRef::Decision(decision);
        match prov::trace(&view, &d, TraceLimits::default()) {
            None => expect(false, format!("{d} is missing")),
            Some(t) => {
                expect(holds(&t.upstream, &subject), format!("{d}: upstream lacks {subject}"));
                let corr = RecordRef::Decision(correction);
                expect(holds(&t.downstream, &corr), format!("{d}: downstream lacks its correction {corr}"));
            }
        }
    } else {
        expect(false, "no corrected decision of the subject".into());
    }
    // The first item of the first dataset is in both of its versions.
    let first = shape.dataset_items(0, 1)[0];
    let content = RecordRef::Content(content_id(first));
    match prov::trace(&view, &content, TraceLimits::default()) {
        None => expect(false, format!("{content} is missing")),
        Some(t) => {
            for v in 1..=2 {
                let d = RecordRef::dataset(&dataset_id(0), v);
                expect(holds(&t.downstream, &d), format!("{content}: downstream lacks {d}"));
            }
        }
    }
    problems
}

/// Builds, writes out and verifies (median of `runs`) the bundle of `subject`.
#[allow(clippy::too_many_arguments)]
fn bundle_stats(
    keep: Option<&std::path::Path>,
    store: &Store,
    chain: &str,
    validators: &verity_types::ValidatorSet,
    subject: &RecordRef,
    runs: usize,
    ed25519_us: f64,
    proof_us: f64,
) -> BundleStats {
    let mut s = BundleStats { subject: subject.to_string(), ..Default::default() };
    let t = Instant::now();
    let b = match audit::build_bundle(store, chain, subject) {
        Ok(b) => b,
        Err(e) => {
            s.error = Some(e.to_string());
            return s;
        }
    };
    s.build_ms = t.elapsed().as_secs_f64() * 1e3;
    let bytes = b.to_file_bytes();
    if let Some(dir) = keep {
        let name = format!("{}.bundle.json", subject.to_string().replace(':', "-"));
        if let Err(e) = std::fs::write(dir.join(name), &bytes) {
            s.error = Some(format!("writing the bundle: {e}"));
        }
    }
    s.records = b.records.len();
    s.transactions = b.txs.len();
    s.index_proofs = b.index.len();
    s.bytes = bytes.len();
    // Signatures: the checkpoint's, each transaction's, each attestation's DSSE envelope.
    let dsse = b.txs.iter().filter(|t| matches!(t.tx.tx.action, Action::SubmitAttestation(_))).count();
    let signatures = b.checkpoint.certificate.signatures.len() + b.txs.len() + dsse;
    s.floor_ms = (signatures as f64 * ed25519_us + (b.records.len() + b.index.len()) as f64 * proof_us) / 1e3;
    let mut times = Vec::new();
    s.verified = true;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let ok = verity_client::audit::verify_bundle_file(&bytes, validators);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if let Err(e) = ok {
            s.verified = false;
            s.error = Some(format!("verification failed: {e}"));
        }
    }
    times.sort_by(f64::total_cmp);
    s.verify_ms = percentile(&times, 0.5);
    s
}

/// Fills the store; returns the catalog, blocks committed and seconds taken.
fn fill(store: &std::sync::Arc<Store>, dir: &std::path::Path, shape: Shape) -> Result<(Catalog, u64, f64)> {
    let genesis = datadir::read_genesis(dir)?;
    let validator = datadir::read_validator_key(dir)?;
    if store.genesis()?.is_none() {
        store.init_genesis(&genesis, &verity_state::genesis_state(&genesis)?)?;
    }
    let mut finalizer = SoloFinalizer::new(validator, &genesis.validator_set())?;
    let producer = BlockProducer::new(store.clone(), finalizer.index())?;
    let ks = Keystore::open(&datadir::keystore_path(dir))?;
    let (admin, admin_key) = ks.find("admin")?;
    let mut accounts = vec![(admin, admin_key, 0u64)];
    for (name, _) in account_roles() {
        let key = SecretKey::from_seed(sha256(format!("bench trace key {name}").as_bytes()).0);
        accounts.push((AccountId::new(name)?, key, 0));
    }
    let (tx, rx): (SyncSender<Vec<SignedTransaction>>, Receiver<Vec<SignedTransaction>>) = sync_channel(2);
    let chain = genesis.chain_id.clone();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let generator = scope.spawn(move || {
            let mut g =
                Gen { chain, accounts, block: Vec::new(), block_bytes: 0, out: tx, catalog: Catalog::default() };
            g.run(shape).map(|()| g.catalog)
        });
        let mut blocks = 0u64;
        let mut txs = 0u64;
        let mut next_report = 100_000u64;
        let produced: Result<()> = (|| {
            for block in rx.iter() {
                let n = block.len() as u64;
                let timestamp = genesis.genesis_time_ms + (blocks + 1) * 1_000;
                let committed = producer.produce(&mut finalizer, block, timestamp)?;
                if let Some((r, tx)) =
                    committed.receipts.iter().zip(&committed.block.txs).find(|(r, _)| r.status != TxStatus::Success)
                {
                    let e = r.error.as_ref().map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default();
                    bail!("a {} transaction failed at height {}: {e}", tx.tx.action.name(), r.height);
                }
                blocks += 1;
                txs += n;
                if txs >= next_report {
                    eprintln!("filled {txs} transactions in {blocks} blocks, {:.0} s", started.elapsed().as_secs_f64());
                    next_report += 100_000;
                }
            }
            Ok(())
        })();
        // On a producer error the receiver goes away and the generator stops at its next block.
        drop(rx);
        let catalog = generator.join().map_err(|_| anyhow::anyhow!("the generator panicked"))?;
        produced?;
        let catalog = catalog?;
        Ok((catalog, blocks, started.elapsed().as_secs_f64()))
    })
}

/// Fills a fresh store in a temporary directory with `a.records` linked records, then
/// times traces and builds and verifies two audit bundles.
pub fn trace(a: &TraceArgs) -> Result<TraceReport> {
    let shape = Shape::new(a.records)?;
    let dir = tempfile::Builder::new().prefix("verity-bench-trace").tempdir()?;
    datadir::init(dir.path(), "verity-bench", "bench", "admin", 0)?;
    let store = std::sync::Arc::new(Store::open(&datadir::store_path(dir.path()))?);
    let (catalog, blocks, fill_seconds) = fill(&store, dir.path(), shape).context("filling the store")?;
    let records: u64 = catalog.by_kind.values().map(|v| v.len() as u64).sum();
    let records_by_kind = catalog.by_kind.iter().map(|(k, v)| (k.to_string(), v.len() as u64)).collect();
    let store_mib = std::fs::metadata(datadir::store_path(dir.path()).join("ledger.redb"))
        .map(|m| m.len() as f64 / (1 << 20) as f64)
        .unwrap_or(0.0);
    debug_assert!(shape.rollbacks <= shape.model_versions);

    // Samples: an equal number per kind, random ids (with replacement), in random order.
    let kinds: Vec<(&str, &Vec<RecordRef>)> = catalog.by_kind.iter().map(|(k, v)| (*k, v)).collect();
    let per_kind = a.samples.div_ceil(kinds.len());
    let mut rng = 0x7ace_u64;
    let mut pick = |n: usize| (rand_next(&mut rng) % n as u64) as usize;
    let mut samples: Vec<&RecordRef> = Vec::new();
    for (_, ids) in &kinds {
        for _ in 0..per_kind {
            samples.push(&ids[pick(ids.len())]);
        }
    }
    for i in (1..samples.len()).rev() {
        samples.swap(i, pick(i + 1));
    }
    let mut warm: Vec<&RecordRef> = Vec::with_capacity(a.warmup);
    for _ in 0..a.warmup {
        let ids = kinds[pick(kinds.len())].1;
        warm.push(&ids[pick(ids.len())]);
    }

    let view = StoreView(&store);
    for r in &warm {
        prov::trace(&view, r, TraceLimits::default()).context("a warm-up id is missing")?;
    }
    struct Sample {
        ms: f64,
        cpu_ms: f64,
        nodes: usize,
        reads: u64,
        truncated: bool,
    }
    let mut timed: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    for r in &samples {
        let cpu = thread_cpu_ms();
        let t = Instant::now();
        let tr = prov::trace(&view, r, TraceLimits::default()).with_context(|| format!("{r} is missing"))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let cpu_ms = thread_cpu_ms() - cpu;
        let counting = CountingView { inner: StoreView(&store), reads: Cell::new(0) };
        prov::trace(&counting, r, TraceLimits::default());
        timed.entry(r.kind()).or_default().push(Sample {
            ms,
            cpu_ms,
            nodes: tr.nodes,
            reads: counting.reads.get(),
            truncated: tr.truncated,
        });
    }
    let mut all: Vec<f64> = timed.values().flatten().map(|s| s.ms).collect();
    all.sort_by(f64::total_cmp);
    let mut all_cpu: Vec<f64> = timed.values().flatten().map(|s| s.cpu_ms).collect();
    all_cpu.sort_by(f64::total_cmp);
    let by_kind: Vec<KindStats> = timed
        .iter()
        .map(|(kind, v)| {
            let mut ms: Vec<f64> = v.iter().map(|s| s.ms).collect();
            ms.sort_by(f64::total_cmp);
            let mut cpu: Vec<f64> = v.iter().map(|s| s.cpu_ms).collect();
            cpu.sort_by(f64::total_cmp);
            let n = v.len() as f64;
            KindStats {
                kind: kind.to_string(),
                samples: v.len(),
                p50_ms: percentile(&ms, 0.5),
                p99_ms: percentile(&ms, 0.99),
                max_ms: ms.last().copied().unwrap_or(0.0),
                cpu_p50_ms: percentile(&cpu, 0.5),
                cpu_p99_ms: percentile(&cpu, 0.99),
                nodes_mean: v.iter().map(|s| s.nodes as f64).sum::<f64>() / n,
                nodes_max: v.iter().map(|s| s.nodes).max().unwrap_or(0),
                reads_mean: v.iter().map(|s| s.reads as f64).sum::<f64>() / n,
                truncated: v.iter().filter(|s| s.truncated).count(),
            }
        })
        .collect();
    let all_samples: Vec<&Sample> = timed.values().flatten().collect();
    let nodes_mean = all_samples.iter().map(|s| s.nodes as f64).sum::<f64>() / all_samples.len().max(1) as f64;
    let nodes_max = all_samples.iter().map(|s| s.nodes).max().unwrap_or(0);
    let truncated = all_samples.iter().filter(|s| s.truncated).count();

    // Baselines: point reads of random records, one signature, one state proof.
    let mut read_us = Vec::new();
    for _ in 0..2_000 {
        let ids = kinds[pick(kinds.len())].1;
        let key = keys::record(&ids[pick(ids.len())]);
        let t = Instant::now();
        let v = view.get(&key);
        read_us.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(v.is_some(), "a catalogued record is missing");
    }
    read_us.sort_by(f64::total_cmp);
    let some_tx = store.block(1)?.context("block 1")?.0.txs[0].clone();
    let t = Instant::now();
    for _ in 0..1_000 {
        some_tx.verify_signature()?;
    }
    let ed25519_verify_us = t.elapsed().as_secs_f64() * 1e3;
    let height = store.height();
    let root = store.state_root();
    let probe = keys::record(&kinds[0].1[0]);
    let proof = store.state_proof(&probe, height)?;
    let t = Instant::now();
    for _ in 0..1_000 {
        proof.verify(&root)?;
    }
    let state_proof_verify_us = t.elapsed().as_secs_f64() * 1e3;

    // Audit bundles: the last model version (deepest lineage) and a corrected decision of it.
    let genesis = datadir::read_genesis(dir.path())?;
    let validators = genesis.validator_set();
    let subject = catalog.subject.clone().map(RecordRef::ModelVersion).context("no model version")?;
    if let Some(keep) = &a.keep_bundles {
        std::fs::create_dir_all(keep)?;
        std::fs::copy(datadir::genesis_path(dir.path()), keep.join("genesis.json"))?;
    }
    let bundle = bundle_stats(
        a.keep_bundles.as_deref(),
        &store,
        &genesis.chain_id,
        &validators,
        &subject,
        a.verify_runs,
        ed25519_verify_us,
        state_proof_verify_us,
    );
    let decision = RecordRef::Decision(catalog.subject_decision.context("no corrected decision")?.0);
    let decision_bundle = bundle_stats(
        a.keep_bundles.as_deref(),
        &store,
        &genesis.chain_id,
        &validators,
        &decision,
        a.verify_runs,
        ed25519_verify_us,
        state_proof_verify_us,
    );
    let lineage_problems = lineage_checks(&store, shape, &catalog);

    // The same traces through the HTTP API of a node started on this store.
    let mut http_ms = Vec::new();
    if a.http_samples > 0 {
        let key = datadir::read_validator_key(dir.path())?;
        let core = NodeCore::start(store.clone(), genesis.clone(), key, NodeOptions::default())?;
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let result: Result<()> = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tokio::spawn(crate::ingest::axum_serve(listener, verity_node::api::router(core.clone())));
            let client = verity_client::Client::new(&format!("http://{addr}"));
            for (i, r) in samples.iter().cycle().take(a.http_samples + 20).enumerate() {
                let t = Instant::now();
                client.trace(&r.to_string(), None, None).await?;
                if i >= 20 {
                    http_ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            Ok(())
        });
        core.shutdown();
        result.context("HTTP trace series")?;
    }
    http_ms.sort_by(f64::total_cmp);

    let p99_ms = percentile(&all, 0.99);
    let read_p99_us = percentile(&read_us, 0.99);
    let verified = bundle.verified && decision_bundle.verified;
    Ok(TraceReport {
        records,
        records_by_kind,
        transactions: catalog.transactions,
        blocks,
        fill_seconds,
        fill_records_per_s: records as f64 / fill_seconds,
        fill_tx_per_s: catalog.transactions as f64 / fill_seconds,
        store_mib,
        samples: all.len(),
        p50_ms: percentile(&all, 0.5),
        p99_ms,
        max_ms: all.last().copied().unwrap_or(0.0),
        cpu_p50_ms: percentile(&all_cpu, 0.5),
        cpu_p99_ms: percentile(&all_cpu, 0.99),
        nodes_mean,
        nodes_max,
        truncated,
        by_kind,
        http_samples: http_ms.len(),
        http_p50_ms: percentile(&http_ms, 0.5),
        http_p99_ms: percentile(&http_ms, 0.99),
        read_p50_us: percentile(&read_us, 0.5),
        read_p99_us,
        ed25519_verify_us,
        state_proof_verify_us,
        p99_in_reads: p99_ms * 1e3 / read_p99_us.max(1e-9),
        verify_ms: bundle.verify_ms,
        bundle,
        decision_bundle,
        lineage_ok: lineage_problems.is_empty(),
        lineage_problems,
        verified,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        max_rss_mib: max_rss_mib(),
    })
}
