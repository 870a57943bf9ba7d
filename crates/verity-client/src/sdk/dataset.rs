//! Dataset versions: the canonical manifest built from a folder, checked against the
//! ledger's registry, published (enumerated in chunks, or root-only), and one item's
//! membership proof checked.
//!
//! The manifest file is the off-ledger half of a dataset version: the ledger keeps its
//! SHA-256, the RFC 6962 root over its sorted content ids, the item count and the licence
//! set. Everything a membership proof needs is in the manifest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use verity_types::limits::{BATCH_TXS_MAX, DATASET_CHUNK_ITEMS_MAX};
use verity_types::manifest::{DatasetManifest, ManifestItem, MembershipProof};
use verity_types::{
    AccountId, Action, AddDatasetItems, ContentId, DatasetId, DatasetItem, DatasetMode, DatasetPolicy, DatasetRef,
    DatasetStatus, DatasetVersion, Hash, Licence, PublishDataset, RecordRef,
};

use super::Signer;
use crate::error::ClientError;
use crate::http::{Client, DatasetCheckRequest, ItemProblem, TxResult};

/// Bytes read at a time when hashing a file: large enough to keep SHA-256 busy, small
/// enough that hashing many files in parallel stays within a few MiB.
pub const HASH_BUFFER_BYTES: usize = 256 * 1024;
/// Deepest folder nesting [`walk`] descends (no unbounded recursion).
pub const WALK_DEPTH_MAX: usize = 128;
/// Items per `POST /v1/datasets/check` request: the node bounds a check request like a
/// transaction batch.
pub const CHECK_ITEMS_MAX: usize = BATCH_TXS_MAX;

/// Streams a file through SHA-256; `progress` is told the size of every block read.
/// Returns the digest and the number of bytes hashed.
pub fn hash_file(path: &Path, mut progress: impl FnMut(u64)) -> Result<(Hash, u64), ClientError> {
    let mut file = File::open(path).map_err(|e| ClientError::io(path, format!("opening: {e}")))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ClientError::io(path, format!("reading: {e}"))),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        progress(n as u64);
    }
    Ok((Hash(hasher.finalize().into()), total))
}

/// A regular file found by [`walk`].
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path relative to the walked folder, `/`-separated.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

/// Lists the regular files under `root`, sorted by relative path. Hidden entries (name
/// starting with `.`) are skipped; symbolic links to files are followed, symbolic links
/// to folders are not (so a link cycle cannot make the walk endless), and a folder nested
/// more than [`WALK_DEPTH_MAX`] deep is refused.
pub fn walk(root: &Path) -> Result<Vec<FileEntry>, ClientError> {
    let meta = std::fs::metadata(root).map_err(|e| ClientError::io(root, e))?;
    if !meta.is_dir() {
        return Err(ClientError::Input(format!("{} is not a folder", root.display())));
    }
    let mut out = Vec::new();
    walk_into(root, "", 0, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk_into(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<FileEntry>) -> Result<(), ClientError> {
    if depth > WALK_DEPTH_MAX {
        return Err(ClientError::Input(format!("{} is nested more than {WALK_DEPTH_MAX} folders deep", dir.display())));
    }
    let listing = |e| ClientError::io(dir, format!("listing: {e}"));
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| ClientError::Input(format!("{} has a name that is not UTF-8: {n:?}", dir.display())))?;
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().map_err(|e| ClientError::io(&path, e))?;
        if kind.is_dir() {
            walk_into(&path, &rel, depth + 1, out)?;
        } else {
            // Follows a symbolic link to see whether it names a regular file.
            let meta = std::fs::metadata(&path).map_err(|e| ClientError::io(&path, e))?;
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
#[derive(Clone, Debug)]
pub struct Built {
    pub manifest: DatasetManifest,
    pub files: usize,
    pub bytes: u64,
    pub duplicates: Vec<Duplicate>,
}

/// Walks `dir` ([`walk`]), hashes its files in parallel, drops repeated content (the
/// first file in path order names the item) and builds the manifest of `dataset@version`
/// with `licence` for every item. `total` is told the bytes to hash once the walk is
/// done; `progress` is told every block hashed (from several threads).
pub fn build(
    dir: &Path,
    dataset: DatasetId,
    version: u32,
    licence: &Licence,
    total: impl FnOnce(u64),
    progress: impl Fn(u64) + Sync,
) -> Result<Built, ClientError> {
    let files = walk(dir)?;
    if files.is_empty() {
        return Err(ClientError::Input(format!("{} holds no files (hidden files are skipped)", dir.display())));
    }
    total(files.iter().map(|f| f.size).sum());
    let hashed: Vec<(Hash, u64)> = files.par_iter().map(|f| hash_file(&f.path, &progress)).collect::<Result<_, _>>()?;
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
    let manifest =
        DatasetManifest::new(dataset, version, items).map_err(|e| ClientError::invalid("building the manifest", e))?;
    Ok(Built { manifest, files: files.len(), bytes, duplicates })
}

/// Reads a manifest file, requiring it to be valid and canonical.
pub fn read_manifest(path: &Path) -> Result<DatasetManifest, ClientError> {
    let bytes = std::fs::read(path).map_err(|e| ClientError::io(path, e))?;
    DatasetManifest::from_canonical(&bytes).map_err(|e| ClientError::invalid(format!("manifest {}", path.display()), e))
}

/// What the ledger's registry says of a manifest's items ([`check_manifest`]).
#[derive(Clone, Debug)]
pub struct ManifestCheck {
    /// Items the ledger checked.
    pub checked: u64,
    /// Every problem found; a problem of the manifest as a whole (its licence set) has an
    /// empty `content`.
    pub problems: Vec<ItemProblem>,
}

impl ManifestCheck {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a manifest's licence set locally and every item against the ledger's registry
/// (opt-outs, licences, registration) under `policy`, [`CHECK_ITEMS_MAX`] items a
/// request; `progress` is told the items of every answered request.
pub async fn check_manifest(
    client: &Client,
    m: &DatasetManifest,
    policy: DatasetPolicy,
    progress: impl Fn(u64),
) -> Result<ManifestCheck, ClientError> {
    let licences = m.licences();
    let mut problems = Vec::new();
    if let Err(e) = verity_types::check_licences(&licences) {
        problems.push(ItemProblem { content: String::new(), code: "licences".into(), message: e.to_string() });
    }
    let mut checked = 0u64;
    for chunk in m.items.chunks(CHECK_ITEMS_MAX) {
        let req = DatasetCheckRequest { policy, licences: Some(licences.clone()), items: dataset_items(chunk) };
        let answer = client.check_dataset_items(&req).await?;
        checked += answer.checked as u64;
        problems.extend(answer.problems);
        progress(chunk.len() as u64);
    }
    Ok(ManifestCheck { checked, problems })
}

fn dataset_items(items: &[ManifestItem]) -> Vec<DatasetItem> {
    items.iter().map(|i| DatasetItem { content: i.content, licence: i.licence.clone() }).collect()
}

/// How a dataset version is published, beyond what its manifest says.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// Enumerated: every item is submitted after the commitments; root-only: the
    /// commitments alone.
    pub mode: DatasetMode,
    pub policy: DatasetPolicy,
    /// The earlier version this one replaces.
    pub supersedes: Option<u32>,
    /// Accounts that may resolve challenges (none: an account with the reviewer role in
    /// the dataset's organisation); sorted and deduplicated here.
    pub reviewers: Vec<AccountId>,
    /// Heights a challenge stays open for an answer and a resolution.
    pub challenge_window: u64,
}

/// What [`publish`] did.
#[derive(Clone, Debug)]
pub struct PublishedDataset {
    /// The `PublishDataset` transaction.
    pub published: TxResult,
    /// Item chunks added (0 in root-only mode).
    pub chunks: usize,
}

/// Publishes `m`'s commitments as `signer`, then, in enumerated mode, its items in chunks
/// of [`DATASET_CHUNK_ITEMS_MAX`], one at a time, each waiting for its commit, so a
/// refused chunk ([`ClientError::ChunkRefused`]) stops the publication with every earlier
/// chunk applied and no later one sent. `progress` is told the items of every chunk
/// added.
pub async fn publish(
    signer: &mut Signer,
    as_key: &str,
    m: &DatasetManifest,
    options: PublishOptions,
    progress: impl Fn(u64),
) -> Result<PublishedDataset, ClientError> {
    let PublishOptions { mode, policy, supersedes, mut reviewers, challenge_window } = options;
    reviewers.sort();
    reviewers.dedup();
    let count = m.items.len() as u64;
    let action = Action::PublishDataset(PublishDataset {
        dataset: m.dataset.clone(),
        version: m.version,
        manifest_hash: m.hash(),
        root: m.root(),
        count,
        licences: m.licences(),
        mode,
        policy,
        supersedes,
        reviewers,
        challenge_window,
    });
    let published = signer.submit_committed(as_key, action).await?;
    let mut chunks = 0usize;
    if mode == DatasetMode::Enumerated {
        let total = m.items.len().div_ceil(DATASET_CHUNK_ITEMS_MAX);
        for (i, chunk) in m.items.chunks(DATASET_CHUNK_ITEMS_MAX).enumerate() {
            let action = Action::AddDatasetItems(AddDatasetItems {
                dataset: m.dataset.clone(),
                version: m.version,
                items: dataset_items(chunk),
            });
            if let Err(error) = signer.submit_committed(as_key, action).await {
                let first = i * DATASET_CHUNK_ITEMS_MAX;
                return Err(ClientError::ChunkRefused {
                    dataset: format!("{}@{}", m.dataset, m.version),
                    chunk: i + 1,
                    chunks: total,
                    first_item: first + 1,
                    last_item: first + chunk.len(),
                    first_content: chunk.first().map(|it| it.content.to_hex()).unwrap_or_default(),
                    added: first,
                    count,
                    error: Box::new(error),
                });
            }
            chunks += 1;
            progress(chunk.len() as u64);
        }
    }
    Ok(PublishedDataset { published, chunks })
}

/// Reads a membership proof file (JSON, as `DatasetManifest::prove` writes it).
pub fn read_membership_proof(path: &Path) -> Result<MembershipProof, ClientError> {
    let bytes = std::fs::read(path).map_err(|e| ClientError::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ClientError::Input(format!("{} is not a membership proof: {e}", path.display())))
}

/// The commitments a membership proof is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberCommitments {
    /// A root and item count the caller trusts.
    Given { root: Hash, count: u64 },
    /// The ledger's record of the proof's dataset version.
    Ledger,
}

/// Where the commitments a proof verified against came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckedAgainst {
    /// The caller's root and count.
    Given,
    /// The ledger's record: its status, its flag count and its one-line summary.
    Ledger { status: DatasetStatus, flags: u32, summary: String },
}

/// What [`verify_member`] established.
#[derive(Clone, Debug)]
pub struct VerifiedMember {
    pub proof: MembershipProof,
    pub root: Hash,
    pub count: u64,
    pub against: CheckedAgainst,
}

/// Checks that `proof`'s item is in its dataset version: against the caller's root and
/// count, or against the version's record on the ledger (read through `client`, and
/// required to be the record of exactly that version).
pub async fn verify_member(
    client: &Client,
    proof: MembershipProof,
    commitments: MemberCommitments,
) -> Result<VerifiedMember, ClientError> {
    let name = DatasetRef { dataset: proof.dataset.clone(), version: proof.version };
    let (root, count, against) = match commitments {
        MemberCommitments::Given { root, count } => (root, count, CheckedAgainst::Given),
        MemberCommitments::Ledger => {
            let reference = RecordRef::Dataset(name.clone()).to_string();
            let view = client.record(&reference).await?;
            if view.kind != "dataset" || view.reference != reference {
                return Err(ClientError::Protocol(format!(
                    "asked for {reference}, the node answered {} ({})",
                    view.reference, view.kind
                )));
            }
            let v: DatasetVersion = serde_json::from_value(view.record).map_err(|e| {
                ClientError::Protocol(format!("{reference}: the node's record is not a dataset version: {e}"))
            })?;
            if v.dataset != proof.dataset || v.version != proof.version {
                return Err(ClientError::Protocol(format!(
                    "the node answered the record of {}@{}, not {name}",
                    v.dataset, v.version
                )));
            }
            (v.root, v.count, CheckedAgainst::Ledger { status: v.status, flags: view.flags, summary: view.summary })
        }
    };
    proof.verify(&root, count).map_err(|e| {
        let against = match &against {
            CheckedAgainst::Given => "the given root and count".to_string(),
            CheckedAgainst::Ledger { .. } => format!("the ledger's record of {name}"),
        };
        ClientError::Verify(format!("the proof does not verify against {against}: {e}"))
    })?;
    Ok(VerifiedMember { proof, root, count, against })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    fn names(dir: &Path) -> Vec<String> {
        walk(dir).expect("walk").into_iter().map(|f| f.name).collect()
    }

    fn build_quietly(dir: &Path, dataset: &str) -> Result<Built, ClientError> {
        let ds = DatasetId::new(dataset).expect("id");
        build(dir, ds, 1, &Licence::Spdx("MIT".into()), |_| {}, |_| {})
    }

    #[test]
    fn hash_file_streams_to_the_same_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big.bin");
        // Larger than one buffer so the streaming loop runs more than once.
        let bytes: Vec<u8> = (0..(HASH_BUFFER_BYTES * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &bytes).expect("write");
        let mut seen = 0;
        let (h, n) = hash_file(&p, |k| seen += k).expect("hash");
        assert_eq!(h, verity_types::sha256(&bytes));
        assert_eq!((n, seen), (bytes.len() as u64, bytes.len() as u64));
        let err = hash_file(&dir.path().join("absent"), |_| {}).expect_err("absent");
        assert!(matches!(err, ClientError::Io { .. }), "{err}");
    }

    #[test]
    fn walk_is_sorted_relative_and_skips_hidden() {
        let dir = folder();
        assert_eq!(names(dir.path()), ["a.txt", "a/z.bin", "b.txt", "sub/c.csv", "sub/deeper/copy-of-a.txt"]);
        let sizes: Vec<u64> = walk(dir.path()).expect("walk").iter().map(|f| f.size).collect();
        assert_eq!(sizes, [2, 300_000, 3, 8, 2]);
        assert!(matches!(walk(&dir.path().join("a.txt")), Err(ClientError::Input(_))), "a file is not a folder");
        assert!(matches!(walk(&dir.path().join("absent")), Err(ClientError::Io { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn walk_follows_links_to_files_but_not_to_folders() {
        let dir = folder();
        let d = dir.path();
        std::os::unix::fs::symlink(d.join("b.txt"), d.join("link-to-b")).expect("symlink");
        // A link to a folder above it would be an endless cycle if followed.
        std::os::unix::fs::symlink(d, d.join("sub/loop")).expect("symlink");
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling")).expect("symlink");
        let err = walk(d).expect_err("a dangling link cannot be read");
        assert!(matches!(err, ClientError::Io { .. }), "{err}");
        std::fs::remove_file(d.join("dangling")).expect("rm");
        assert_eq!(names(d), ["a.txt", "a/z.bin", "b.txt", "link-to-b", "sub/c.csv", "sub/deeper/copy-of-a.txt"]);
    }

    #[test]
    fn walk_refuses_folders_nested_too_deep() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at_limit = (0..WALK_DEPTH_MAX).map(|i| format!("d{i}")).collect::<Vec<_>>().join("/");
        write(dir.path(), &format!("{at_limit}/f"), b"deep");
        assert_eq!(names(dir.path()), [format!("{at_limit}/f")]);
        write(dir.path(), &format!("{at_limit}/one-more/f"), b"deeper");
        let err = walk(dir.path()).expect_err("too deep");
        assert!(err.to_string().contains(&format!("nested more than {WALK_DEPTH_MAX} folders deep")), "{err}");
    }

    #[test]
    fn build_dedups_and_writes_a_canonical_manifest() {
        let dir = folder();
        let total = std::cell::Cell::new(0);
        let hashed = std::sync::atomic::AtomicU64::new(0);
        let ds = DatasetId::new("corpus").expect("id");
        let mit = Licence::Spdx("MIT".into());
        let built = build(
            dir.path(),
            ds,
            1,
            &mit,
            |n| total.set(n),
            |n| {
                hashed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .expect("build");
        assert_eq!((total.get(), hashed.into_inner(), built.bytes), (300_015, 300_015, 300_015));
        assert_eq!(built.files, 5);
        assert_eq!(built.duplicates.len(), 1);
        assert_eq!(built.duplicates[0].name, "sub/deeper/copy-of-a.txt");
        assert_eq!(built.duplicates[0].same_as, "a.txt", "the first file in path order names the item");
        let m = &built.manifest;
        assert_eq!(m.items.len(), 4);
        assert!(m.items.windows(2).all(|w| w[0].content < w[1].content), "sorted by content id");
        let a = m.items.iter().find(|i| i.name.as_deref() == Some("a.txt")).expect("a.txt");
        assert_eq!((a.content, &a.licence), (verity_types::sha256(b"ay"), &mit));
        let bytes = m.to_canonical();
        assert_eq!(&DatasetManifest::from_canonical(&bytes).expect("canonical"), m);
        // The same folder builds byte-identical manifests (hashing order does not matter).
        assert_eq!(build_quietly(dir.path(), "corpus").expect("build").manifest.to_canonical(), bytes);

        let path = dir.path().join("out.manifest");
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(&read_manifest(&path).expect("read"), m);
        std::fs::write(&path, b"{}").expect("write");
        assert!(matches!(read_manifest(&path), Err(ClientError::Invalid { .. })));

        let empty = tempfile::tempdir().expect("tempdir");
        write(empty.path(), ".only-hidden", b"x");
        let err = build_quietly(empty.path(), "e").expect_err("no files");
        assert!(err.to_string().contains("holds no files"), "{err}");
    }

    #[test]
    fn proofs_round_trip_through_json_and_tampering_fails() {
        let dir = folder();
        let m = build_quietly(dir.path(), "corpus").expect("build").manifest;
        let (root, count) = (m.root(), m.items.len() as u64);
        for item in &m.items {
            let p = m.prove(&item.content).expect("member");
            let text = serde_json::to_string_pretty(&p).expect("json");
            assert!(!text.contains("\"name\""), "a proof reveals no other item");
            let path = dir.path().join("p.json");
            std::fs::write(&path, &text).expect("write");
            let back = read_membership_proof(&path).expect("parse");
            back.verify(&root, count).expect("verifies");
            let mut tampered = back.clone();
            tampered.proof.path[0].0[0] ^= 1;
            assert!(tampered.verify(&root, count).is_err());
            let mut other = back.clone();
            other.content = verity_types::sha256(b"not in the dataset");
            assert!(other.verify(&root, count).is_err());
        }
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, b"[1, 2]").expect("write");
        assert!(matches!(read_membership_proof(&junk), Err(ClientError::Input(_))));
    }

    #[tokio::test]
    async fn a_member_checked_against_given_commitments_needs_no_node() {
        let dir = folder();
        let m = build_quietly(dir.path(), "corpus").expect("build").manifest;
        let (root, count) = (m.root(), m.items.len() as u64);
        let proof = m.prove(&m.items[1].content).expect("member");
        // Nothing listens here: a check against given commitments never asks.
        let offline = Client::new("http://127.0.0.1:9");
        let given = MemberCommitments::Given { root, count };
        let v = verify_member(&offline, proof.clone(), given).await.expect("verifies");
        assert_eq!((v.root, v.count, v.against), (root, count, CheckedAgainst::Given));
        let wrong = MemberCommitments::Given { root, count: count + 1 };
        let err = verify_member(&offline, proof, wrong).await.expect_err("another count");
        assert!(err.to_string().contains("does not verify against the given root and count"), "{err}");
    }

    #[test]
    fn check_request_shape() {
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
