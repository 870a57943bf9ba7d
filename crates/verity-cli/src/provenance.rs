//! Provenance commands: training runs, models and versions, attestations, deploy gates,
//! deployments, decisions, lineage traces and audit bundles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use verity_client::http::TraceNode;
use verity_client::sdk::model::{ProviderSignature, RunFile};
use verity_client::Client;
use verity_types::dsse::{Envelope, EvalDataset, EvaluationPredicate, EvaluationStatement, IN_TOTO_PAYLOAD_TYPE};
use verity_types::{
    sha256, Action, ApproveGateChange, AttestationKind, CorrectDecision, CorrectionPolicy, Deploy, Deprecate, EnvId,
    GateRequirement, GateRules, Genesis, Hash, Metric, MetricBound, ModelId, ModelVersionRef, RecordDecision,
    RecordKind, RecordRef, RegisterModel, RegisterModelVersion, ReviewLayer, RevokeAttestation, Rollback, RunId,
    SetGate, SetGateRules, SetRiskPolicy, SubmitAttestation, ValidatorSet,
};

use crate::commands::send;
use crate::output::show;
use crate::Global;

/// A hash given as hex, or the SHA-256 of a file's bytes.
fn hash_or_file(hex: Option<&str>, file: Option<&Path>, what: &str) -> Result<Hash> {
    match (hex, file) {
        (Some(h), None) => Ok(h.parse()?),
        (None, Some(p)) => Ok(sha256(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)),
        _ => bail!("give exactly one of --{what}-hash HEX or --{what} FILE"),
    }
}

#[derive(Subcommand)]
pub enum RunCmd {
    /// Register a training run, vouched for by its compute provider's signature.
    Register(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(long)]
    pub run: String,
    /// Dataset versions used, NAME@VERSION (repeat).
    #[arg(long = "dataset", required = true)]
    pub datasets: Vec<String>,
    /// The base model version, NAME@VERSION, for fine-tuning.
    #[arg(long)]
    pub base_model: Option<String>,
    #[arg(long)]
    pub code_commit: String,
    /// Hyperparameters file (hashed) or its hash.
    #[arg(long)]
    pub hyperparams: Option<PathBuf>,
    #[arg(long)]
    pub hyperparams_hash: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub training_date: String,
    #[arg(long)]
    pub team: String,
    /// The run log (hashed) or its hash.
    #[arg(long)]
    pub run_log: Option<PathBuf>,
    #[arg(long)]
    pub run_log_hash: Option<String>,
    /// The compute provider's account.
    #[arg(long)]
    pub provider: String,
    /// Keystore key of the provider, to sign the run log here...
    #[arg(long)]
    pub provider_signer: Option<String>,
    /// ...or the provider's signature (hex) made elsewhere.
    #[arg(long)]
    pub provider_signature: Option<String>,
    /// Signing key (name or account in the keystore).
    #[arg(long = "as", alias = "signer")]
    pub signer: String,
}

#[derive(Subcommand)]
pub enum ModelLedgerCmd {
    /// Register a model of the signer's organisation.
    Register {
        model: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Register the next version of a model by its fingerprint (OMS manifest digest).
    Version {
        /// NAME@VERSION
        version: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        run: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Show a model, its gate and its versions.
    Show { model: String },
    /// Deploy a version to an environment (refused unless the gate passes).
    Deploy {
        /// NAME@VERSION
        version: String,
        #[arg(long = "env")]
        environment: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Roll an environment back to an earlier version.
    Rollback {
        model: String,
        #[arg(long = "env")]
        environment: String,
        #[arg(long = "to")]
        to_version: u32,
        #[arg(long)]
        reason: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Deprecate a version: it can never be deployed again.
    Deprecate {
        /// NAME@VERSION
        version: String,
        #[arg(long)]
        reason: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Set what happens to a deployment in force whose version is flagged or deprecated
    /// after the deploy: always reported at risk; with `--suspend-at-risk true` also
    /// suspended (its decisions are refused until it is rolled back or the flag lifted).
    RiskPolicy {
        model: String,
        #[arg(long, action = clap::ArgAction::Set)]
        suspend_at_risk: bool,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
}

#[derive(Subcommand)]
pub enum AttestCmd {
    /// Sign an evaluation attestation (in-toto Statement v1 in a DSSE envelope) and submit it.
    Submit(AttestArgs),
    /// Revoke an attestation.
    Revoke {
        attestation: String,
        #[arg(long)]
        reason: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
}

#[derive(Args)]
pub struct AttestArgs {
    /// A DSSE envelope file made elsewhere (for example by `verity eval run`); or build one:
    #[arg(long)]
    pub envelope: Option<PathBuf>,
    /// The model version, NAME@VERSION (its fingerprint becomes the subject).
    #[arg(long)]
    pub model: Option<String>,
    /// performance, fairness, safety, ...
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long, default_value = "manual")]
    pub suite: String,
    #[arg(long, default_value = "unspecified")]
    pub eval_dataset: String,
    #[arg(long)]
    pub eval_dataset_sha256: Option<String>,
    /// NAME=VALUE_PPM[:THRESHOLD_PPM[:min|max]] (repeat).
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Record the evaluation as failed.
    #[arg(long)]
    pub failed: bool,
    /// Also write the signed envelope here.
    #[arg(short = 'o', long)]
    pub out: Option<PathBuf>,
    /// Signing key (name or account in the keystore).
    #[arg(long = "as", alias = "signer")]
    pub signer: String,
}

#[derive(Subcommand)]
pub enum GateCmd {
    /// Set a model's deploy gate.
    Set {
        model: String,
        /// KIND[:METRIC=MIN_PPM[,METRIC=MIN_PPM]] (repeat); see also --file.
        #[arg(long = "require")]
        requirements: Vec<String>,
        /// Environments the --require entries apply to (default: all).
        #[arg(long = "env")]
        environments: Vec<String>,
        /// Evaluators whose attestations count (default: any evaluator).
        #[arg(long = "evaluator")]
        evaluators: Vec<String>,
        /// What a deploy to an environment no requirement names needs besides the
        /// unscoped requirements: KIND[:METRIC=PPM,...] (repeat). Without it (and without
        /// --default-none), every environment-scoped requirement.
        #[arg(long = "default-require")]
        defaults: Vec<String>,
        /// Environments no requirement names need the unscoped requirements only.
        #[arg(long, conflicts_with = "defaults")]
        default_none: bool,
        /// Only attestations by evaluators of other organisations count.
        #[arg(long)]
        independent: bool,
        /// A JSON list of requirements, or a JSON object of rules
        /// ({"requirements": [...], "defaults": [...], "independent": true}), instead.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Approve another organisation's pending gate change (it loosens that model's gate)
    /// by its id, as an org admin: it takes effect at once.
    Approve {
        model: String,
        /// The change's id (`pending_gate_change.id` in `verity model show`).
        #[arg(long)]
        change: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
}

#[derive(Subcommand)]
pub enum DecisionCmd {
    /// Record a decision: the model version, a salted input commitment, the output hash.
    Record {
        /// NAME@VERSION
        #[arg(long)]
        model: String,
        /// The input file: only a salted SHA-256 commitment goes on the ledger.
        #[arg(long)]
        input: Option<PathBuf>,
        #[arg(long)]
        input_commitment: Option<String>,
        #[arg(long)]
        output: Option<PathBuf>,
        #[arg(long)]
        output_hash: Option<String>,
        /// The human reviewer's account (default: no review layer).
        #[arg(long)]
        reviewer: Option<String>,
        /// Binding (default: advisory).
        #[arg(long)]
        binding: bool,
        /// not-correctable, by-operator or by-reviewer.
        #[arg(long, default_value = "by-operator")]
        correction: String,
        #[arg(long, default_value = "")]
        context: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
    /// Correct a decision with a new record that supersedes it.
    Correct {
        decision: String,
        #[arg(long)]
        output: Option<PathBuf>,
        #[arg(long)]
        output_hash: Option<String>,
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long)]
        reason: String,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", alias = "signer")]
        signer: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Write a self-contained audit bundle of a record's lineage.
    Export {
        /// A record reference, e.g. model:clf@2 or decision:<hex>.
        id: String,
        #[arg(short = 'o', long)]
        out: PathBuf,
    },
    /// Verify a bundle offline against a trusted genesis or validator set.
    Verify {
        file: PathBuf,
        /// genesis.json, or a JSON validator set {"validators": [...]}.
        #[arg(long)]
        validators: PathBuf,
    },
    /// List deployments with the attestations each passed.
    Releases {
        #[arg(long)]
        environment: Option<String>,
        /// Flag releases that lack an attestation of this kind.
        #[arg(long)]
        kind: Option<String>,
    },
}

fn parse_metric(s: &str) -> Result<Metric> {
    let (name, rest) =
        s.split_once('=').ok_or_else(|| anyhow!("metric {s:?} must look like NAME=PPM[:THRESHOLD[:min|max]]"))?;
    let mut parts = rest.split(':');
    let value_ppm = parts.next().unwrap_or_default().parse().with_context(|| format!("value in {s:?}"))?;
    let threshold_ppm = parts.next().map(|t| t.parse()).transpose().with_context(|| format!("threshold in {s:?}"))?;
    let higher_is_better = match parts.next() {
        None | Some("min") => true,
        Some("max") => false,
        Some(o) => bail!("metric direction {o:?} must be min or max"),
    };
    Ok(Metric { name: name.to_string(), value_ppm, threshold_ppm, higher_is_better })
}

fn parse_requirement(s: &str, envs: &[EnvId], evaluators: &[verity_types::AccountId]) -> Result<GateRequirement> {
    let (kind, bounds) = s.split_once(':').unwrap_or((s, ""));
    let mut metrics = Vec::new();
    for b in bounds.split(',').filter(|b| !b.is_empty()) {
        let (n, v) = b.split_once('=').ok_or_else(|| anyhow!("bound {b:?} must look like METRIC=PPM"))?;
        metrics
            .push(MetricBound { name: n.to_string(), bound_ppm: v.parse().with_context(|| format!("bound {b:?}"))? });
    }
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(GateRequirement {
        kind: AttestationKind::new(kind)?,
        environments: envs.to_vec(),
        evaluators: evaluators.to_vec(),
        metrics,
    })
}

fn review(reviewer: Option<String>) -> Result<ReviewLayer> {
    Ok(match reviewer {
        Some(r) => ReviewLayer::Human(r.parse()?),
        None => ReviewLayer::None,
    })
}

/// A trust anchor: a genesis file (whose set changes a bundle carries are followed), or
/// a validator-set file (the set of the checkpoint's epoch).
pub enum Trusted {
    Genesis(Box<Genesis>),
    Set(ValidatorSet),
}

/// Reads a trusted genesis file or validator-set file.
pub fn read_validators(path: &Path) -> Result<Trusted> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(g) = serde_json::from_str::<Genesis>(&text) {
        return Ok(Trusted::Genesis(Box::new(g)));
    }
    serde_json::from_str::<ValidatorSet>(&text)
        .map(Trusted::Set)
        .with_context(|| format!("{} is neither a genesis file nor a validator set", path.display()))
}

/// `verity audit verify`: offline.
pub fn audit_verify(g: &Global, file: &Path, validators: &Path) -> Result<()> {
    let trusted = read_validators(validators)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let started = std::time::Instant::now();
    let report = match &trusted {
        Trusted::Genesis(genesis) => verity_client::audit::verify_bundle_file_from_genesis(&bytes, genesis),
        Trusted::Set(set) => verity_client::audit::verify_bundle_file(&bytes, set),
    }
    .map_err(|e| anyhow!("audit bundle {} is NOT valid: {e}", file.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&json!({"valid": true, "verify_ms": ms, "report": report}))?);
        return Ok(());
    }
    println!("VALID audit bundle for {} ({ms:.1} ms)", report.subject);
    println!(
        "checkpoint: chain {} height {} (log size {}, state root {}), signed by a quorum of the given validators",
        report.chain_id, report.height, report.log_size, report.state_root
    );
    println!(
        "proven records ({}), each with its creating transaction in the log ({} transactions):",
        report.records.len(),
        report.transactions
    );
    for r in &report.records {
        let flags = if r.flags.is_empty() { "no flags".to_string() } else { format!("{} FLAG(S)", r.flags.len()) };
        println!("  {:<80} {flags}: {}", r.record.to_string(), r.summary);
    }
    let counts: Vec<String> = report.downstream_counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "downstream of {} (proven counts: {}; {} listed, the newest of each kind):",
        report.subject,
        if counts.is_empty() { "none".to_string() } else { counts.join(", ") },
        report.downstream.len()
    );
    for d in &report.downstream {
        println!("  {d}");
    }
    Ok(())
}

fn print_tree(nodes: &[TraceNode], indent: usize, arrow: &str) {
    for n in nodes {
        let flag = if n.flags > 0 { format!("  [FLAGGED x{}]", n.flags) } else { String::new() };
        let rep = if n.repeated { "  (see above)" } else { "" };
        println!("{}{arrow} {}  {}{flag}{rep}", "  ".repeat(indent), n.record, n.summary);
        print_tree(&n.children, indent + 1, arrow);
        print_more(&n.more, indent + 1);
    }
}

/// Prints a record's `more`: downstream records beyond the trace's fan-out, by kind.
fn print_more(more: &BTreeMap<RecordKind, u64>, indent: usize) {
    for (kind, n) in more {
        println!("{}-> ... {} more {kind} record(s) (raise --fanout to list them)", "  ".repeat(indent), n);
    }
}

pub async fn run_cmd(g: &Global, client: &Client, cmd: ProvCmd) -> Result<()> {
    match cmd {
        ProvCmd::Run(RunCmd::Register(a)) => {
            let run = RunFile {
                run: a.run,
                datasets: a.datasets,
                base_model: a.base_model,
                code_commit: a.code_commit,
                hyperparameters_sha256: hash_or_file(
                    a.hyperparams_hash.as_deref(),
                    a.hyperparams.as_deref(),
                    "hyperparams",
                )?,
                training_date: a.training_date,
                team: a.team,
                run_log_sha256: hash_or_file(a.run_log_hash.as_deref(), a.run_log.as_deref(), "run-log")?,
                provider: None,
                provider_signature: None,
            };
            let provider = a.provider.parse()?;
            let signature = match (a.provider_signer, a.provider_signature) {
                (Some(k), None) => ProviderSignature::SignWith(crate::commands::open_keystore(g)?.find(&k)?.1),
                (None, Some(s)) => ProviderSignature::Given(s.parse()?),
                _ => bail!("give exactly one of --provider-signer KEY or --provider-signature HEX"),
            };
            let chain_id = client.genesis().await?.chain_id;
            send(g, client, &a.signer, run.register_run(&chain_id, provider, signature)?).await
        }
        ProvCmd::Model(m) => match m {
            ModelLedgerCmd::Register { model, description, signer } => {
                send(
                    g,
                    client,
                    &signer,
                    Action::RegisterModel(RegisterModel { model: ModelId::new(model)?, description }),
                )
                .await
            }
            ModelLedgerCmd::Version { version, fingerprint, run, signer } => {
                let r: ModelVersionRef = version.parse()?;
                let action = Action::RegisterModelVersion(RegisterModelVersion {
                    model: r.model,
                    version: r.version,
                    fingerprint: fingerprint.parse()?,
                    run: RunId::new(run)?,
                });
                send(g, client, &signer, action).await
            }
            ModelLedgerCmd::Show { model } => {
                let v = client.model(&model).await?;
                println!("{}", serde_json::to_string_pretty(&v)?);
                Ok(())
            }
            ModelLedgerCmd::Deploy { version, environment, signer } => {
                let r: ModelVersionRef = version.parse()?;
                let action = Action::Deploy(Deploy {
                    model: r.model,
                    version: r.version,
                    environment: EnvId::new(environment)?,
                });
                send(g, client, &signer, action).await
            }
            ModelLedgerCmd::Rollback { model, environment, to_version, reason, signer } => {
                let action = Action::Rollback(Rollback {
                    model: ModelId::new(model)?,
                    environment: EnvId::new(environment)?,
                    to_version,
                    reason,
                });
                send(g, client, &signer, action).await
            }
            ModelLedgerCmd::Deprecate { version, reason, signer } => {
                let r: ModelVersionRef = version.parse()?;
                send(g, client, &signer, Action::Deprecate(Deprecate { model: r.model, version: r.version, reason }))
                    .await
            }
            ModelLedgerCmd::RiskPolicy { model, suspend_at_risk, signer } => {
                send(
                    g,
                    client,
                    &signer,
                    Action::SetRiskPolicy(SetRiskPolicy { model: ModelId::new(model)?, suspend_at_risk }),
                )
                .await
            }
        },
        ProvCmd::Attest(AttestCmd::Submit(a)) => {
            let ks = crate::commands::open_keystore(g)?;
            let (account, key) = ks.find(&a.signer)?;
            let envelope: Envelope = match &a.envelope {
                Some(p) => {
                    serde_json::from_slice(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)
                        .with_context(|| format!("{} is not a DSSE envelope", p.display()))?
                }
                None => {
                    let model =
                        a.model.as_deref().ok_or_else(|| anyhow!("give --model NAME@VERSION or --envelope FILE"))?;
                    let kind = a.kind.as_deref().ok_or_else(|| anyhow!("give --kind"))?;
                    let r: ModelVersionRef = model.parse()?;
                    let rec = client.record(&RecordRef::ModelVersion(r.clone()).to_string()).await?;
                    let fingerprint: Hash = rec.record["fingerprint"]
                        .as_str()
                        .ok_or_else(|| anyhow!("the node's record of {model} has no fingerprint"))?
                        .parse()?;
                    let mut metrics = a.metrics.iter().map(|m| parse_metric(m)).collect::<Result<Vec<_>>>()?;
                    metrics.sort_by(|x, y| x.name.cmp(&y.name));
                    let passed = !a.failed;
                    let st = EvaluationStatement::new(
                        &format!("{}@{}", r.model, r.version),
                        fingerprint,
                        EvaluationPredicate {
                            kind: AttestationKind::new(kind)?,
                            suite: a.suite.clone(),
                            dataset: EvalDataset {
                                name: a.eval_dataset.clone(),
                                sha256: a
                                    .eval_dataset_sha256
                                    .as_deref()
                                    .map(str::parse)
                                    .transpose()?
                                    .unwrap_or(Hash::ZERO),
                            },
                            metrics,
                            passed,
                        },
                    );
                    let payload = st.to_payload();
                    EvaluationStatement::parse(&payload)?;
                    Envelope::sign(IN_TOTO_PAYLOAD_TYPE, payload, &account, &key)
                }
            };
            if let Some(out) = &a.out {
                std::fs::write(out, serde_json::to_vec_pretty(&envelope)?)?;
            }
            submit_attestation(g, client, &a.signer, envelope, true).await.map(|_| ())
        }
        ProvCmd::Attest(AttestCmd::Revoke { attestation, reason, signer }) => {
            send(
                g,
                client,
                &signer,
                Action::RevokeAttestation(RevokeAttestation { attestation: attestation.parse()?, reason }),
            )
            .await
        }
        ProvCmd::Gate(GateCmd::Set {
            model,
            requirements,
            environments,
            evaluators,
            defaults,
            default_none,
            independent,
            file,
            signer,
        }) => {
            let mut envs = environments.iter().map(EnvId::new).collect::<Result<Vec<_>, _>>()?;
            envs.sort();
            let mut evs = evaluators.iter().map(|e| e.parse()).collect::<Result<Vec<_>, _>>()?;
            evs.sort();
            let model = ModelId::new(model)?;
            let mut rules = match file {
                Some(p) => {
                    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p)?)
                        .with_context(|| format!("reading {}", p.display()))?;
                    if v.is_array() {
                        GateRules::requirements(serde_json::from_value(v)?)
                    } else {
                        serde_json::from_value(v).with_context(|| format!("gate rules in {}", p.display()))?
                    }
                }
                None => GateRules::requirements(
                    requirements.iter().map(|r| parse_requirement(r, &envs, &evs)).collect::<Result<_>>()?,
                ),
            };
            if !defaults.is_empty() {
                rules.defaults = Some(defaults.iter().map(|r| parse_requirement(r, &[], &evs)).collect::<Result<_>>()?);
            }
            if default_none {
                rules.defaults = Some(Vec::new());
            }
            rules.independent |= independent;
            let action = if rules.defaults.is_none() && !rules.independent {
                Action::SetGate(SetGate { model, requirements: rules.requirements })
            } else {
                Action::SetGateRules(SetGateRules { model, rules })
            };
            send(g, client, &signer, action).await
        }
        ProvCmd::Gate(GateCmd::Approve { model, change, signer }) => {
            let action =
                Action::ApproveGateChange(ApproveGateChange { model: ModelId::new(model)?, change: change.parse()? });
            send(g, client, &signer, action).await
        }
        ProvCmd::Decision(DecisionCmd::Record {
            model,
            input,
            input_commitment,
            output,
            output_hash,
            reviewer,
            binding,
            correction,
            context,
            signer,
        }) => {
            let r: ModelVersionRef = model.parse()?;
            let input_commitment = match (input_commitment, input) {
                (Some(h), None) => h.parse()?,
                (None, Some(p)) => {
                    let mut salt = [0u8; 32];
                    getrandom::fill(&mut salt).map_err(|e| anyhow!("drawing a salt: {e}"))?;
                    let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    eprintln!("input salt (keep it to open the commitment later): {}", hex::encode(salt));
                    verity_types::hash::sha256_parts(&[&salt[..], &bytes[..]])
                }
                _ => bail!("give exactly one of --input FILE or --input-commitment HEX"),
            };
            let correction_policy = match correction.as_str() {
                "not-correctable" => CorrectionPolicy::NotCorrectable,
                "by-operator" => CorrectionPolicy::ByOperator,
                "by-reviewer" => CorrectionPolicy::ByReviewer,
                o => bail!("--correction {o:?} must be not-correctable, by-operator or by-reviewer"),
            };
            let action = Action::RecordDecision(RecordDecision {
                model: r.model,
                version: r.version,
                input_commitment,
                output_hash: hash_or_file(output_hash.as_deref(), output.as_deref(), "output")?,
                review: review(reviewer)?,
                binding,
                correction_policy,
                context,
            });
            send(g, client, &signer, action).await
        }
        ProvCmd::Decision(DecisionCmd::Correct { decision, output, output_hash, reviewer, reason, signer }) => {
            let action = Action::CorrectDecision(CorrectDecision {
                decision: decision.parse()?,
                output_hash: hash_or_file(output_hash.as_deref(), output.as_deref(), "output")?,
                review: review(reviewer)?,
                reason,
            });
            send(g, client, &signer, action).await
        }
        ProvCmd::Trace { id, limit, fanout } => {
            let r: RecordRef = id.parse()?;
            let t = client.trace(&r.to_string(), limit, fanout).await?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&t)?);
                return Ok(());
            }
            let root = &t.root;
            println!(
                "{}  {}{}",
                root.record,
                root.summary,
                if root.flags > 0 { format!("  [FLAGGED x{}]", root.flags) } else { String::new() }
            );
            println!("upstream (what it came from):");
            print_tree(&t.upstream, 1, "<-");
            println!("downstream (what came from it):");
            print_tree(&t.downstream, 1, "->");
            print_more(&root.more, 1);
            if t.truncated {
                println!("(truncated at {} records; raise --limit)", t.nodes);
            }
            Ok(())
        }
        ProvCmd::Audit(AuditCmd::Export { id, out }) => {
            let r: RecordRef = id.parse()?;
            let b = client.audit_bundle(&r.to_string()).await?;
            std::fs::write(&out, b.to_file_bytes()).with_context(|| format!("writing {}", out.display()))?;
            show(
                g.json,
                &json!({"file": out, "subject": r, "records": b.records.len(), "height": b.checkpoint.header.height}),
                vec![
                    ("bundle", out.display().to_string()),
                    ("subject", r.to_string()),
                    ("records", b.records.len().to_string()),
                    ("transactions", b.txs.len().to_string()),
                    ("checkpoint height", b.checkpoint.header.height.to_string()),
                    ("verify with", format!("verity audit verify {} --validators GENESIS", out.display())),
                ],
            );
            Ok(())
        }
        ProvCmd::Audit(AuditCmd::Verify { file, validators }) => audit_verify(g, &file, &validators),
        ProvCmd::Audit(AuditCmd::Releases { environment, kind }) => {
            let v = client.releases(environment.as_deref(), kind.as_deref()).await?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for r in &v.releases {
                    let d = &r.deployment;
                    let at_risk = match &r.at_risk {
                        Some(risk) => format!(
                            " [AT RISK{}: {}]",
                            if risk.suspended { ", SUSPENDED" } else { "" },
                            risk.reasons.join("; ")
                        ),
                        None => String::new(),
                    };
                    println!(
                        "{} {}@{} -> {} at height {}{}{at_risk}: passed with [{}]",
                        d.id.to_hex(),
                        d.model,
                        d.version,
                        d.environment,
                        d.height,
                        if r.current { " (current)" } else { "" },
                        r.attestation_kinds.join(", ")
                    );
                }
                if let Some(k) = &kind {
                    let missing = v.missing_kind.len();
                    if missing == 0 {
                        println!("every release listed passed with a {k} attestation");
                    } else {
                        bail!("{missing} release(s) lack a {k} attestation");
                    }
                }
            }
            Ok(())
        }
    }
}

/// Submits a signed evaluation attestation as `signer` (who must be the envelope's
/// signer and hold the evaluator role) and waits for the commit: the one path shared by
/// `verity attest submit` and `verity eval run --submit`. Returns the attestation id
/// (bound to the evaluator: [`verity_types::attestation_id`]); fails if the ledger
/// refused it.
pub(crate) async fn submit_attestation(
    g: &Global,
    client: &Client,
    signer: &str,
    envelope: Envelope,
    print: bool,
) -> Result<Hash> {
    let evaluator = verity_types::AccountId::new(signer).with_context(|| format!("evaluator {signer:?}"))?;
    let id = verity_types::attestation_id(&evaluator, &envelope.payload_digest());
    if print {
        eprintln!("attestation id {id}");
    }
    crate::commands::send_with(g, client, signer, Action::SubmitAttestation(SubmitAttestation { envelope }), print)
        .await?;
    Ok(id)
}

/// Provenance commands, dispatched by [`run_cmd`].
pub enum ProvCmd {
    Run(RunCmd),
    Model(ModelLedgerCmd),
    Attest(AttestCmd),
    Gate(GateCmd),
    Decision(DecisionCmd),
    Trace { id: String, limit: Option<usize>, fanout: Option<usize> },
    Audit(AuditCmd),
}
