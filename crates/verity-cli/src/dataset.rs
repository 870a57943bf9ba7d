//! `verity dataset ...`: build a canonical manifest from a folder, check it against the
//! ledger's registry, publish it (enumerated or root-only), prove and verify one item's
//! membership, and challenge, answer and resolve challenges of items.
//!
//! The manifest file is the off-ledger half of a dataset version: the ledger keeps its
//! SHA-256, the RFC 6962 root over its sorted content ids, the item count and the licence
//! set. Everything a proof needs is in the manifest, so `prove` and an offline
//! `verify-member` never talk to a node. The workflows themselves are
//! `verity_client::sdk::dataset`'s; this module parses arguments and prints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use verity_client::sdk::dataset::{self, CheckedAgainst, MemberCommitments};
use verity_client::sdk::Signer;
use verity_client::{Client, ClientError};
use verity_types::{
    AccountId, Action, AnswerChallenge, ChallengeItem, ChallengeKind, ChallengeResolved, ChallengeReview, DatasetId,
    DatasetMode, DatasetPolicy, DatasetRef, Event, Hash, Licence, LiftFlags, OrgId, ResolveChallenge,
    SetChallengeReview,
};

use crate::content::{parse_licence, result_json, result_rows, submit, SignerArg};
use crate::output::{show, table};
use crate::Global;

#[derive(Subcommand)]
pub enum DatasetCmd {
    /// Hash every file of a folder and write the canonical manifest of a dataset version.
    Build(BuildArgs),
    /// Check a manifest locally and against the ledger's registry (opt-outs, licences, registration).
    Check(CheckArgs),
    /// Publish a manifest's commitments; enumerated mode then submits every item in chunks.
    Publish(PublishArgs),
    /// Write the membership proof of one item (the proof only, never the other items).
    Prove {
        manifest: PathBuf,
        /// The item's content id (SHA-256 hex).
        #[arg(long)]
        content: String,
        /// Where to write the proof JSON.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Verify a membership proof: offline against --root and --count, else against the ledger's record.
    VerifyMember {
        proof: PathBuf,
        /// The dataset version's root (hex); needs --count.
        #[arg(long, requires = "count")]
        root: Option<String>,
        /// The dataset version's item count; needs --root.
        #[arg(long, requires = "root")]
        count: Option<u64>,
    },
    /// Challenge one item of a dataset version (opted-out challenges are checked by the ledger at once).
    Challenge(ChallengeArgs),
    /// The version's curator answers an open challenge.
    Answer {
        challenge: String,
        /// SHA-256 of the response document.
        #[arg(long)]
        response: String,
        #[command(flatten)]
        signer: SignerArg,
    },
    /// A reviewer resolves an open challenge.
    #[command(group(clap::ArgGroup::new("verdict").required(true).args(["upheld", "rejected"])))]
    Resolve {
        challenge: String,
        #[arg(long)]
        upheld: bool,
        #[arg(long)]
        rejected: bool,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signer: SignerArg,
    },
    /// Grants an appeal of an upheld challenge: lifts its flags (the version's reviewers,
    /// or one organisation's vote when the version is reviewed by a quorum).
    Lift {
        challenge: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signer: SignerArg,
    },
    /// Sets who decides a version's challenges from now on: its reviewers (the default),
    /// or a quorum of organisations (repeat --quorum-org, with --threshold).
    Review {
        /// The dataset version, NAME@VERSION.
        target: String,
        #[arg(long = "quorum-org")]
        quorum_orgs: Vec<String>,
        #[arg(long, requires = "quorum_orgs")]
        threshold: Option<u32>,
        #[command(flatten)]
        signer: SignerArg,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// The folder to walk (hidden files and folders are skipped).
    pub dir: PathBuf,
    #[arg(long)]
    pub dataset: String,
    #[arg(long)]
    pub version: u32,
    /// The licence of every item: an SPDX id or custom:<sha256>.
    #[arg(long)]
    pub licence: String,
    /// Where to write the manifest.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

/// The use a dataset version is for, which decides the opt-outs that apply.
#[derive(Args, Clone, Copy)]
pub struct PolicyArgs {
    /// Used for commercial training (opt-outs of commercial training apply).
    #[arg(long)]
    pub commercial: bool,
    /// Accept items that are not registered content. By default every item must be
    /// registered: unregistered content has no licence or opt-out on record to check.
    #[arg(long, conflicts_with = "require_registered")]
    pub allow_unregistered: bool,
    /// Every item must be registered content (the default; kept for older scripts).
    #[arg(long, hide = true)]
    pub require_registered: bool,
}

impl PolicyArgs {
    fn policy(self) -> DatasetPolicy {
        DatasetPolicy { commercial: self.commercial, require_registered: !self.allow_unregistered }
    }
}

#[derive(Args)]
pub struct CheckArgs {
    pub manifest: PathBuf,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Enumerated,
    RootOnly,
}

#[derive(Args)]
pub struct PublishArgs {
    pub manifest: PathBuf,
    #[arg(long, value_enum)]
    pub mode: ModeArg,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The earlier version this one replaces.
    #[arg(long)]
    pub supersedes: Option<u32>,
    /// Accounts that may resolve challenges (repeatable; none: an account with the
    /// reviewer role in the dataset's organisation). See also `dataset review`.
    #[arg(long = "reviewer")]
    pub reviewers: Vec<String>,
    /// Heights a challenge stays open for an answer and a resolution.
    #[arg(long, default_value_t = 1000)]
    pub challenge_window: u64,
    #[command(flatten)]
    pub signer: SignerArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    OptedOut,
    Unlicensed,
    Duplicate,
    Mislabelled,
}

impl From<KindArg> for ChallengeKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::OptedOut => ChallengeKind::OptedOut,
            KindArg::Unlicensed => ChallengeKind::Unlicensed,
            KindArg::Duplicate => ChallengeKind::Duplicate,
            KindArg::Mislabelled => ChallengeKind::Mislabelled,
        }
    }
}

#[derive(Args)]
pub struct ChallengeArgs {
    /// The dataset version, NAME@VERSION.
    pub target: String,
    /// The challenged item's content id (SHA-256 hex).
    #[arg(long)]
    pub content: String,
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// SHA-256 of the evidence document.
    #[arg(long)]
    pub evidence: String,
    /// The version's manifest: the item's inclusion proof is built from it (every
    /// challenge proves that the item is in the version).
    #[arg(long)]
    pub manifest: PathBuf,
    #[command(flatten)]
    pub signer: SignerArg,
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(len: u64, bytes: bool, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:40}] {pos}/{len} items eta {eta}"
    };
    let style = ProgressStyle::with_template(template).expect("the template is valid").progress_chars("=> ");
    let pb = ProgressBar::new(len).with_style(style);
    pb.set_message(message);
    pb
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn licence_list(ls: &[Licence]) -> String {
    ls.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
}

fn parse_hash(what: &str, s: &str) -> Result<Hash> {
    s.parse().with_context(|| format!("{what} {s:?} (64 hex digits)"))
}

// ---------- commands ----------

pub async fn run(g: &Global, client: &Client, cmd: DatasetCmd) -> Result<()> {
    match cmd {
        DatasetCmd::Build(a) => build_cmd(g, a),
        DatasetCmd::Check(a) => check_cmd(g, client, a).await,
        DatasetCmd::Publish(a) => publish_cmd(g, client, a).await,
        DatasetCmd::Prove { manifest, content, output } => prove_cmd(g, &manifest, &content, &output),
        DatasetCmd::VerifyMember { proof, root, count } => verify_member_cmd(g, client, &proof, root, count).await,
        DatasetCmd::Challenge(a) => challenge_cmd(g, client, a).await,
        DatasetCmd::Answer { challenge, response, signer } => {
            let challenge = parse_hash("challenge id", &challenge)?;
            let response = parse_hash("--response", &response)?;
            let r = submit(g, client, &signer.signer, Action::AnswerChallenge(AnswerChallenge { challenge, response }))
                .await?;
            let mut rows = vec![("challenge", challenge.to_hex()), ("response", response.to_hex())];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"challenge": challenge, "response": response})), rows);
            Ok(())
        }
        DatasetCmd::Resolve { challenge, upheld, rejected, reason, signer } => {
            assert!(upheld != rejected, "clap requires exactly one of --upheld and --rejected");
            let challenge = parse_hash("challenge id", &challenge)?;
            let action = Action::ResolveChallenge(ResolveChallenge { challenge, upheld, reason: reason.clone() });
            let r = submit(g, client, &signer.signer, action).await?;
            // Under a review quorum a resolution is one organisation's vote; the challenge
            // stays open until enough organisations agree.
            let decided = r.receipt.iter().flat_map(|rc| &rc.events).any(|e| matches!(e, Event::ChallengeResolved(_)));
            let verdict = match (decided, upheld) {
                (false, _) => "open",
                (true, true) => "upheld",
                (true, false) => "rejected",
            };
            let mut rows = vec![("challenge", challenge.to_hex()), ("verdict", verdict.into()), ("reason", reason)];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"challenge": challenge, "challenge_status": verdict})), rows);
            Ok(())
        }
        DatasetCmd::Lift { challenge, reason, signer } => {
            let challenge = parse_hash("challenge id", &challenge)?;
            let r =
                submit(g, client, &signer.signer, Action::LiftFlags(LiftFlags { challenge, reason: reason.clone() }))
                    .await?;
            let lifted =
                r.receipt.iter().flat_map(|rc| &rc.events).filter(|e| matches!(e, Event::FlagLifted(_))).count();
            let mut rows =
                vec![("challenge", challenge.to_hex()), ("flags lifted", lifted.to_string()), ("reason", reason)];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"challenge": challenge, "flags_lifted": lifted})), rows);
            Ok(())
        }
        DatasetCmd::Review { target, quorum_orgs, threshold, signer } => {
            let target: DatasetRef = target.parse()?;
            let review = if quorum_orgs.is_empty() {
                ChallengeReview::Reviewers
            } else {
                let mut orgs = quorum_orgs.iter().map(OrgId::new).collect::<Result<Vec<_>, _>>()?;
                orgs.sort();
                orgs.dedup();
                let threshold = threshold.unwrap_or(orgs.len() as u32);
                ChallengeReview::Quorum { orgs, threshold }
            };
            let action = Action::SetChallengeReview(SetChallengeReview {
                dataset: target.dataset.clone(),
                version: target.version,
                review: review.clone(),
            });
            let r = submit(g, client, &signer.signer, action).await?;
            let mut rows = vec![
                ("dataset", format!("{}@{}", target.dataset, target.version)),
                ("review", serde_json::to_string(&review)?),
            ];
            rows.extend(result_rows(&r));
            show(
                g.json,
                &result_json(&r, json!({"dataset": target.dataset, "version": target.version, "review": review})),
                rows,
            );
            Ok(())
        }
    }
}

fn build_cmd(g: &Global, a: BuildArgs) -> Result<()> {
    let dataset = DatasetId::new(&a.dataset).with_context(|| format!("--dataset {:?}", a.dataset))?;
    let licence = parse_licence(&a.licence)?;
    let pb = progress_bar(0, true, "hashing");
    let started = std::time::Instant::now();
    let built = dataset::build(&a.dir, dataset, a.version, &licence, |n| pb.set_length(n), |n| pb.inc(n));
    pb.finish_and_clear();
    let built = built?;
    let m = &built.manifest;
    let bytes = m.to_canonical();
    write_file(&a.output, &bytes)?;
    let (hash, root, licences) = (verity_types::sha256(&bytes), m.root(), m.licences());
    let secs = started.elapsed().as_secs_f64();
    let out = a.output.display().to_string();
    show(
        g.json,
        &json!({"manifest": out, "dataset": m.dataset, "version": m.version, "manifest_hash": hash, "root": root,
                "count": m.items.len(), "licences": licences, "files": built.files, "bytes": built.bytes,
                "duplicates_dropped": built.duplicates.len(), "duplicates": built.duplicates, "seconds": secs}),
        vec![
            ("manifest", out.clone()),
            ("dataset", format!("{}@{}", m.dataset, m.version)),
            ("manifest hash", hash.to_hex()),
            ("root", root.to_hex()),
            ("items", m.items.len().to_string()),
            ("licences", licence_list(&licences)),
            ("files hashed", format!("{} ({} bytes in {secs:.2} s)", built.files, built.bytes)),
            ("duplicates dropped", built.duplicates.len().to_string()),
        ],
    );
    if !g.json {
        for d in &built.duplicates {
            eprintln!("duplicate: {} has the same content as {} ({})", d.name, d.same_as, d.content);
        }
    }
    Ok(())
}

async fn check_cmd(g: &Global, client: &Client, a: CheckArgs) -> Result<()> {
    let m = dataset::read_manifest(&a.manifest)?;
    let policy = a.policy.policy();
    let pb = progress_bar(m.items.len() as u64, false, "checking");
    let check = dataset::check_manifest(client, &m, policy, |n| pb.inc(n)).await;
    pb.finish_and_clear();
    let dataset::ManifestCheck { checked, problems } = check.context("checking the items against the ledger")?;
    let hash = m.hash();
    show(
        g.json,
        &json!({"manifest_hash": hash, "dataset": m.dataset, "version": m.version, "count": m.items.len(),
                "checked": checked, "policy": policy, "ok": problems.is_empty(), "problems": problems}),
        vec![
            ("dataset", format!("{}@{}", m.dataset, m.version)),
            ("manifest hash", hash.to_hex()),
            ("items", m.items.len().to_string()),
            ("checked by the ledger", checked.to_string()),
            ("problems", problems.len().to_string()),
        ],
    );
    if !g.json && !problems.is_empty() {
        println!();
        table(
            problems
                .iter()
                .map(|p| {
                    let who = if p.content.is_empty() { "(manifest)" } else { p.content.as_str() };
                    (who, format!("{}: {}", p.code, p.message))
                })
                .collect(),
        );
    }
    if !problems.is_empty() {
        bail!("{} problem(s) in {}", problems.len(), a.manifest.display());
    }
    Ok(())
}

async fn publish_cmd(g: &Global, client: &Client, a: PublishArgs) -> Result<()> {
    let m = dataset::read_manifest(&a.manifest)?;
    let reviewers = a
        .reviewers
        .iter()
        .map(|r| AccountId::new(r).with_context(|| format!("--reviewer {r:?}")))
        .collect::<Result<Vec<_>>>()?;
    let mode = match a.mode {
        ModeArg::Enumerated => DatasetMode::Enumerated,
        ModeArg::RootOnly => DatasetMode::RootOnly,
    };
    let options = dataset::PublishOptions {
        mode,
        policy: a.policy.policy(),
        supersedes: a.supersedes,
        reviewers,
        challenge_window: a.challenge_window,
    };
    let (hash, root, count, licences) = (m.hash(), m.root(), m.items.len() as u64, m.licences());
    let name = format!("{}@{}", m.dataset, m.version);
    let mut signer = Signer::new(client.clone(), crate::commands::open_keystore(g)?);
    let pb = match mode {
        DatasetMode::Enumerated => progress_bar(count, false, "adding items"),
        DatasetMode::RootOnly => ProgressBar::hidden(),
    };
    let done = dataset::publish(&mut signer, &a.signer.signer, &m, options, |n| pb.inc(n)).await;
    pb.finish_and_clear();
    let dataset::PublishedDataset { published, chunks } = match done {
        Err(e @ ClientError::ChunkRefused { .. }) => return Err(e.into()),
        other => other.with_context(|| format!("publishing {name}"))?,
    };
    let status = "published";
    show(
        g.json,
        &json!({"dataset": m.dataset, "version": m.version, "mode": mode, "manifest_hash": hash, "root": root,
                "count": count, "licences": licences, "tx": published.hash, "height": published.height,
                "chunks": chunks, "status": status}),
        vec![
            ("dataset", name.clone()),
            ("mode", a.mode.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()),
            ("manifest hash", hash.to_hex()),
            ("root", root.to_hex()),
            ("items", count.to_string()),
            ("licences", licence_list(&licences)),
            ("publish tx", published.hash.clone().unwrap_or_default()),
            ("item chunks", chunks.to_string()),
            ("status", status.into()),
        ],
    );
    Ok(())
}

fn prove_cmd(g: &Global, manifest: &Path, content: &str, output: &Path) -> Result<()> {
    let m = dataset::read_manifest(manifest)?;
    let content = parse_hash("--content", content)?;
    let proof = m.prove(&content)?;
    let bytes = serde_json::to_vec_pretty(&proof).expect("a proof always serialises");
    write_file(output, &bytes)?;
    let out = output.display().to_string();
    show(
        g.json,
        &json!({"proof": out, "dataset": proof.dataset, "version": proof.version, "content": content,
                "index": proof.proof.leaf_index, "root": proof.root, "count": proof.count}),
        vec![
            ("proof", out.clone()),
            ("dataset", format!("{}@{}", proof.dataset, proof.version)),
            ("content", content.to_hex()),
            ("item", format!("{} of {}", proof.proof.leaf_index + 1, proof.count)),
            ("root", proof.root.to_hex()),
        ],
    );
    Ok(())
}

async fn verify_member_cmd(
    g: &Global,
    client: &Client,
    path: &Path,
    root: Option<String>,
    count: Option<u64>,
) -> Result<()> {
    let p = dataset::read_membership_proof(path)?;
    let name = format!("{}@{}", p.dataset, p.version);
    let commitments = match (root, count) {
        (Some(r), Some(c)) => MemberCommitments::Given { root: parse_hash("--root", &r)?, count: c },
        (None, None) => MemberCommitments::Ledger,
        _ => bail!("give both --root and --count, or neither"),
    };
    let v = dataset::verify_member(client, p, commitments).await.with_context(|| format!("checking {name}"))?;
    let against = match &v.against {
        CheckedAgainst::Given => "the given --root and --count".to_string(),
        CheckedAgainst::Ledger { status, flags, summary } => {
            let status = format!("{status:?}").to_lowercase();
            format!("the ledger's record of {name} ({status}, {flags} flag(s)): {summary}")
        }
    };
    let (p, root, count) = (&v.proof, v.root, v.count);
    let what = format!("{} is item {} of {} in {name}", p.content, p.proof.leaf_index + 1, count);
    show(
        g.json,
        &json!({"verified": true, "dataset": p.dataset, "version": p.version, "content": p.content,
                "index": p.proof.leaf_index, "root": root, "count": count, "against": against}),
        vec![("verified", what), ("root", root.to_hex()), ("checked against", against.clone())],
    );
    Ok(())
}

async fn challenge_cmd(g: &Global, client: &Client, a: ChallengeArgs) -> Result<()> {
    let target: DatasetRef = a.target.parse()?;
    let content = parse_hash("--content", &a.content)?;
    let evidence = parse_hash("--evidence", &a.evidence)?;
    let kind: ChallengeKind = a.kind.into();
    let path = &a.manifest;
    let m = dataset::read_manifest(path)?;
    if m.dataset != target.dataset || m.version != target.version {
        bail!("{} is the manifest of {}@{}, not {}", path.display(), m.dataset, m.version, a.target);
    }
    let proof = Some(m.prove(&content)?.proof);
    let action = Action::ChallengeItem(ChallengeItem {
        dataset: target.dataset.clone(),
        version: target.version,
        content,
        kind,
        evidence,
        proof,
    });
    let r = submit(g, client, &a.signer.signer, action).await?;
    let id = r.hash.clone().unwrap_or_default();
    let verdict = r
        .receipt
        .iter()
        .flat_map(|rc| &rc.events)
        .find_map(|e| match e {
            Event::ChallengeResolved(ChallengeResolved { upheld, .. }) => {
                Some(if *upheld { "upheld" } else { "rejected" })
            }
            _ => None,
        })
        .unwrap_or("open");
    let mut rows = vec![
        ("challenge", id.clone()),
        ("dataset", format!("{}@{}", target.dataset, target.version)),
        ("content", content.to_hex()),
        ("kind", format!("{kind:?}")),
        ("challenge status", verdict.into()),
    ];
    rows.extend(result_rows(&r));
    show(g.json, &result_json(&r, json!({"challenge": id, "challenge_status": verdict, "kind": kind})), rows);
    Ok(())
}
