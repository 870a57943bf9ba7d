//! `verity dataset ...`: build a canonical manifest from a folder, check it against the
//! ledger's registry, publish it (enumerated or root-only), prove and verify one item's
//! membership, and challenge, answer and resolve challenges of items.
//!
//! The manifest file is the off-ledger half of a dataset version: the ledger keeps its
//! SHA-256, the RFC 6962 root over its sorted content ids, the item count and the licence
//! set. Everything a proof needs is in the manifest, so `prove` and an offline
//! `verify-member` never talk to a node.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use verity_client::http::{DatasetCheckRequest, ItemProblem};
use verity_client::sdk::Signer;
use verity_client::Client;
use verity_types::limits::{BATCH_TXS_MAX, DATASET_CHUNK_ITEMS_MAX};
use verity_types::manifest::{DatasetManifest, ManifestItem, MembershipProof};
use verity_types::{
    AccountId, Action, AddDatasetItems, AnswerChallenge, ChallengeItem, ChallengeKind, ChallengeResolved,
    ChallengeReview, ContentId, DatasetId, DatasetItem, DatasetMode, DatasetPolicy, DatasetRef, DatasetVersion, Event,
    Hash, Licence, LiftFlags, OrgId, PublishDataset, RecordRef, ResolveChallenge, SetChallengeReview,
};

use crate::content::{hash_file, parse_licence, result_json, result_rows, submit, submit_as, SignerArg};
use crate::output::{show, table};
use crate::Global;

/// Items per `POST /v1/datasets/check` request: the node bounds a check request like a
/// transaction batch.
pub const CHECK_ITEMS_MAX: usize = BATCH_TXS_MAX;
/// Deepest folder nesting `dataset build` walks (no unbounded recursion).
pub const WALK_DEPTH_MAX: usize = 128;

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

// ---------- building ----------

/// A regular file found by the walk.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path relative to the walked folder, `/`-separated.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

/// Lists the regular files under `root`, sorted by relative path. Hidden entries (name
/// starting with `.`) are skipped; symbolic links to files are followed, symbolic links
/// to folders are not (so a link cycle cannot make the walk endless).
pub fn walk(root: &Path) -> Result<Vec<FileEntry>> {
    let meta = std::fs::metadata(root).with_context(|| format!("reading {}", root.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a folder", root.display());
    }
    let mut out = Vec::new();
    walk_into(root, "", 0, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk_into(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<FileEntry>) -> Result<()> {
    if depth > WALK_DEPTH_MAX {
        bail!("{} is nested more than {WALK_DEPTH_MAX} folders deep", dir.display());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| anyhow!("{} has a name that is not UTF-8: {n:?}", dir.display()))?;
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            walk_into(&path, &rel, depth + 1, out)?;
        } else {
            // Follows a symbolic link to see whether it names a regular file.
            let meta = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
            if meta.is_file() {
                out.push(FileEntry { name: rel, path, size: meta.len() });
            }
        }
    }
    Ok(())
}

/// A file left out of the manifest because an earlier file has the same content.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub name: String,
    pub same_as: String,
    pub content: ContentId,
}

/// The result of building a manifest from a folder.
pub struct Built {
    pub manifest: DatasetManifest,
    pub files: usize,
    pub bytes: u64,
    pub duplicates: Vec<Duplicate>,
}

/// Walks `dir`, hashes its files in parallel, drops repeated content (the first file in
/// path order names the item) and builds the manifest. `progress` counts bytes hashed.
pub fn build(dir: &Path, dataset: DatasetId, version: u32, licence: &Licence, progress: &ProgressBar) -> Result<Built> {
    let files = walk(dir)?;
    if files.is_empty() {
        bail!("{} holds no files (hidden files are skipped)", dir.display());
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    progress.set_length(total);
    let hashed: Vec<(Hash, u64)> =
        files.par_iter().map(|f| hash_file(&f.path, |n| progress.inc(n))).collect::<Result<Vec<_>>>()?;
    let bytes = hashed.iter().map(|(_, n)| n).sum();
    let mut first: BTreeMap<Hash, usize> = BTreeMap::new();
    let mut items = Vec::with_capacity(files.len());
    let mut duplicates = Vec::new();
    for (i, (f, (content, _))) in files.iter().zip(&hashed).enumerate() {
        match first.get(content) {
            Some(&j) => {
                duplicates.push(Duplicate { name: f.name.clone(), same_as: files[j].name.clone(), content: *content })
            }
            None => {
                first.insert(*content, i);
                items.push(ManifestItem { content: *content, licence: licence.clone(), name: Some(f.name.clone()) });
            }
        }
    }
    let manifest = DatasetManifest::new(dataset, version, items).context("building the manifest")?;
    Ok(Built { manifest, files: files.len(), bytes, duplicates })
}

/// Reads a manifest file, requiring it to be valid and canonical.
pub fn read_manifest(path: &Path) -> Result<DatasetManifest> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    DatasetManifest::from_canonical(&bytes).with_context(|| format!("manifest {}", path.display()))
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

fn dataset_ref(target: &str) -> Result<DatasetRef> {
    match format!("dataset:{target}").parse::<RecordRef>() {
        Ok(RecordRef::Dataset(d)) => Ok(d),
        Ok(_) => unreachable!("a dataset: reference parses as a dataset"),
        Err(e) => Err(anyhow!("{target:?} is not NAME@VERSION: {e}")),
    }
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
            let target = dataset_ref(&target)?;
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
    let built = build(&a.dir, dataset, a.version, &licence, &pb);
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
    let m = read_manifest(&a.manifest)?;
    let policy = a.policy.policy();
    let licences = m.licences();
    let mut problems = Vec::new();
    if let Err(e) = verity_types::check_licences(&licences) {
        problems.push(ItemProblem { content: String::new(), code: "licences".into(), message: e.to_string() });
    }
    let pb = progress_bar(m.items.len() as u64, false, "checking");
    let mut checked = 0u64;
    for chunk in m.items.chunks(CHECK_ITEMS_MAX) {
        let req = DatasetCheckRequest {
            policy,
            licences: Some(licences.clone()),
            items: chunk.iter().map(|i| DatasetItem { content: i.content, licence: i.licence.clone() }).collect(),
        };
        let answer = match client.check_dataset_items(&req).await {
            Ok(a) => a,
            Err(e) => {
                pb.finish_and_clear();
                return Err(anyhow::Error::new(e).context("checking the items against the ledger"));
            }
        };
        checked += answer.checked as u64;
        problems.extend(answer.problems);
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
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
    let m = read_manifest(&a.manifest)?;
    let mut reviewers = a
        .reviewers
        .iter()
        .map(|r| AccountId::new(r).with_context(|| format!("--reviewer {r:?}")))
        .collect::<Result<Vec<_>>>()?;
    reviewers.sort();
    reviewers.dedup();
    let mode = match a.mode {
        ModeArg::Enumerated => DatasetMode::Enumerated,
        ModeArg::RootOnly => DatasetMode::RootOnly,
    };
    let (hash, root, count, licences) = (m.hash(), m.root(), m.items.len() as u64, m.licences());
    let action = Action::PublishDataset(PublishDataset {
        dataset: m.dataset.clone(),
        version: m.version,
        manifest_hash: hash,
        root,
        count,
        licences: licences.clone(),
        mode,
        policy: a.policy.policy(),
        supersedes: a.supersedes,
        reviewers,
        challenge_window: a.challenge_window,
    });
    let name = format!("{}@{}", m.dataset, m.version);
    let mut signer = Signer::new(client.clone(), crate::commands::open_keystore(g)?);
    let published =
        submit_as(&mut signer, &a.signer.signer, action).await.with_context(|| format!("publishing {name}"))?;
    let mut chunks = 0usize;
    if mode == DatasetMode::Enumerated {
        let total = m.items.len().div_ceil(DATASET_CHUNK_ITEMS_MAX);
        let pb = progress_bar(count, false, "adding items");
        for (i, chunk) in m.items.chunks(DATASET_CHUNK_ITEMS_MAX).enumerate() {
            let items =
                chunk.iter().map(|it| DatasetItem { content: it.content, licence: it.licence.clone() }).collect();
            let action =
                Action::AddDatasetItems(AddDatasetItems { dataset: m.dataset.clone(), version: m.version, items });
            // One chunk at a time, each waiting for its commit: a refused chunk stops the
            // publication cleanly, with every earlier chunk applied and no later one sent.
            if let Err(e) = submit_as(&mut signer, &a.signer.signer, action).await {
                pb.finish_and_clear();
                let first = i * DATASET_CHUNK_ITEMS_MAX;
                return Err(e.context(format!(
                    "{name}: chunk {} of {total} (items {}..{}, first {}) was refused; {first} of {count} items \
                     were added and the version stays pending",
                    i + 1,
                    first + 1,
                    first + chunk.len(),
                    chunk[0].content,
                )));
            }
            chunks += 1;
            pb.inc(chunk.len() as u64);
        }
        pb.finish_and_clear();
    }
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
    let m = read_manifest(manifest)?;
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
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let p: MembershipProof =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a membership proof", path.display()))?;
    let name = format!("{}@{}", p.dataset, p.version);
    let (root, count, against) = match (root, count) {
        (Some(r), Some(c)) => (parse_hash("--root", &r)?, c, "the given --root and --count".to_string()),
        (None, None) => {
            let reference = format!("dataset:{name}");
            let view = client.record(&reference).await.with_context(|| format!("reading {reference}"))?;
            if view.kind != "dataset" || view.reference != reference {
                bail!("asked for {reference}, the node answered {} ({})", view.reference, view.kind);
            }
            let v: DatasetVersion = serde_json::from_value(view.record)
                .with_context(|| format!("{reference}: the node's record is not a dataset version"))?;
            if v.dataset != p.dataset || v.version != p.version {
                bail!("the node answered the record of {}@{}, not {name}", v.dataset, v.version);
            }
            let status = format!("{:?}", v.status).to_lowercase();
            let against = format!("the ledger's record of {name} ({status}, {} flag(s)): {}", view.flags, view.summary);
            (v.root, v.count, against)
        }
        _ => bail!("give both --root and --count, or neither"),
    };
    p.verify(&root, count).map_err(|e| anyhow!("the proof does not verify against {against}: {e}"))?;
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
    let target = dataset_ref(&a.target)?;
    let content = parse_hash("--content", &a.content)?;
    let evidence = parse_hash("--evidence", &a.evidence)?;
    let kind: ChallengeKind = a.kind.into();
    let path = &a.manifest;
    let m = read_manifest(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        write(d, "b.txt", b"bee");
        write(d, "a.txt", b"ay");
        write(d, "sub/c.csv", b"x,y\n1,2\n");
        write(d, "sub/deeper/copy-of-a.txt", b"ay");
        write(d, "a/z.bin", &[0u8; 300_000]);
        write(d, ".hidden", b"secret");
        write(d, ".git/config", b"[core]");
        write(d, "sub/.DS_Store", b"junk");
        dir
    }

    #[test]
    fn walk_is_sorted_relative_and_skips_hidden() {
        let dir = folder();
        let names: Vec<String> = walk(dir.path()).expect("walk").into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["a.txt", "a/z.bin", "b.txt", "sub/c.csv", "sub/deeper/copy-of-a.txt"]);
        assert!(walk(&dir.path().join("a.txt")).is_err(), "a file is not a folder");
        assert!(walk(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn build_dedups_and_writes_a_canonical_manifest() {
        let dir = folder();
        let ds = DatasetId::new("corpus").expect("id");
        let mit = Licence::Spdx("MIT".into());
        let built = build(dir.path(), ds.clone(), 1, &mit, &ProgressBar::hidden()).expect("build");
        assert_eq!(built.files, 5);
        assert_eq!(built.duplicates.len(), 1);
        assert_eq!(built.duplicates[0].name, "sub/deeper/copy-of-a.txt");
        assert_eq!(built.duplicates[0].same_as, "a.txt", "the first file in path order names the item");
        let m = &built.manifest;
        assert_eq!(m.items.len(), 4);
        assert!(m.items.windows(2).all(|w| w[0].content < w[1].content), "sorted by content id");
        let a = m.items.iter().find(|i| i.name.as_deref() == Some("a.txt")).expect("a.txt");
        assert_eq!(a.content, verity_types::sha256(b"ay"));
        let bytes = m.to_canonical();
        assert_eq!(&DatasetManifest::from_canonical(&bytes).expect("canonical"), m);
        // The same folder builds byte-identical manifests (hashing order does not matter).
        let again = build(dir.path(), ds, 1, &mit, &ProgressBar::hidden()).expect("build");
        assert_eq!(again.manifest.to_canonical(), bytes);

        let empty = tempfile::tempdir().expect("tempdir");
        write(empty.path(), ".only-hidden", b"x");
        let err = build(empty.path(), DatasetId::new("e").expect("id"), 1, &mit, &ProgressBar::hidden());
        assert!(err.is_err());
    }

    #[test]
    fn proofs_round_trip_through_json_and_tampering_fails() {
        let dir = folder();
        let ds = DatasetId::new("corpus").expect("id");
        let m = build(dir.path(), ds, 1, &Licence::Spdx("MIT".into()), &ProgressBar::hidden()).expect("build").manifest;
        let (root, count) = (m.root(), m.items.len() as u64);
        for item in &m.items {
            let p = m.prove(&item.content).expect("member");
            let text = serde_json::to_string_pretty(&p).expect("json");
            assert!(!text.contains("\"name\""), "a proof reveals no other item");
            let back: MembershipProof = serde_json::from_str(&text).expect("parse");
            back.verify(&root, count).expect("verifies");
            let mut tampered = back.clone();
            tampered.proof.path[0].0[0] ^= 1;
            assert!(tampered.verify(&root, count).is_err());
            let mut other = back.clone();
            other.content = verity_types::sha256(b"not in the dataset");
            assert!(other.verify(&root, count).is_err());
        }
    }

    #[test]
    fn dataset_refs_and_request_shapes() {
        let d = dataset_ref("corpus@2").expect("ref");
        assert_eq!((d.dataset.as_str(), d.version), ("corpus", 2));
        for bad in ["corpus", "corpus@0", "Bad Name@1"] {
            assert!(dataset_ref(bad).is_err(), "{bad}");
        }
        let req = DatasetCheckRequest {
            policy: DatasetPolicy { commercial: true, require_registered: false },
            licences: Some(vec![Licence::Spdx("MIT".into())]),
            items: vec![DatasetItem { content: Hash::ZERO, licence: Licence::Spdx("MIT".into()) }],
        };
        assert_eq!(
            serde_json::to_value(&req).expect("json"),
            json!({"policy": {"commercial": true, "require_registered": false}, "licences": [{"spdx": "MIT"}],
                   "items": [{"content": Hash::ZERO.to_hex(), "licence": {"spdx": "MIT"}}]})
        );
    }
}
