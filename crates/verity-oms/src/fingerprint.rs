//! Model fingerprints compatible with OpenSSF model-signing (OMS) 1.1.1.
//!
//! A fingerprint is a manifest: every file of the model (or every shard of every
//! file) paired with its digest, plus the serialization parameters needed to compute
//! it again. The manifest digest is SHA-256 over the resource digests concatenated
//! in manifest order; it is the in-toto subject digest of an OMS signature.
//!
//! The rules below are model-signing's, read from its source (`hashing.py`,
//! `_serialization/file.py`, `_serialization/file_shard.py`, `manifest.py`,
//! `_signing/signing.py`), not guessed:
//!
//! - The model is the path itself and everything below it, hidden files included.
//!   Symbolic links are refused unless `allow_symlinks` is set; with it, a link to a
//!   file is hashed through the link and a link to a directory is listed but not
//!   entered (Python 3.11 `pathlib.glob("**/*")`). Anything else that is neither a
//!   file nor a directory is refused. Every entry is checked, ignored ones included.
//! - A path is ignored when its components start with an ignore path's components.
//!   By default the git paths `.git`, `.gitattributes`, `.github` and `.gitignore` at
//!   the model root are ignored (nested `.gitignore` files are not).
//! - A resource is named by its path relative to the model, joined with `/`; a model
//!   that is a single file has the one resource `.`. In `shards` mode a file of
//!   length n is cut at multiples of the shard size into `name:start:end` resources;
//!   an empty file has no shards and so no resource.
//! - Resources are sorted by path components, then (shards) by numeric start and end,
//!   which is not plain string order: `a/b` sorts before `a.txt`.
//! - Algorithms are named `sha256`, `blake3`, or `sha256-sharded-<shard size>`.
//!   BLAKE3 is never sharded: asking for BLAKE3 shards gives `files` mode, as
//!   model-signing does.
//!
//! Hashing runs on rayon's pool. SHA-256 files and shards advance in steps of
//! `SHA256_STEP_BYTES`, each idle thread continuing the job with the most bytes left,
//! so every core stays busy to the end; they are streamed through buffers of
//! `READ_BUFFER_BYTES`. BLAKE3 files run in parallel (largest first), each memory-mapped
//! and tree-hashed on the pool as `b3sum` does (progress advances a file at a time).
//! Heap memory stays bounded whatever the model size; mapped pages belong to the page
//! cache and are reclaimable.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::error::OmsError;

/// Bytes read at a time when hashing with SHA-256 (model-signing reads 1 MiB chunks).
pub const READ_BUFFER_BYTES: usize = 1 << 20;
/// model-signing's default shard size (`use_shard_serialization`).
pub const SHARD_SIZE_DEFAULT: u64 = 1_000_000_000;
/// Upper bound on the entries of a model directory, so a manifest stays bounded.
pub const MODEL_FILES_MAX: usize = 1_000_000;
/// Paths model-signing ignores by default (`ignore_git_paths=True`).
pub const GIT_IGNORE_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// The hash applied to each file or shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Blake3,
}

impl HashAlgorithm {
    /// The name model-signing records as `hash_type`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake3 => "blake3",
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = OmsError;
    fn from_str(s: &str) -> Result<Self, OmsError> {
        match s {
            "sha256" => Ok(HashAlgorithm::Sha256),
            "blake3" => Ok(HashAlgorithm::Blake3),
            other => Err(OmsError::InvalidOption(format!("unsupported hash {other:?} (sha256 or blake3)"))),
        }
    }
}

/// Files as the unit of hashing, or fixed-size shards of files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Files,
    Shards { shard_size: u64 },
}

/// What a caller asks for. `Options::default()` is model-signing's default: whole
/// files, SHA-256, no symlinks, git paths ignored.
#[derive(Clone, Debug)]
pub struct Options {
    pub hash: HashAlgorithm,
    /// `None` hashes whole files; `Some(n)` cuts files into shards of n bytes.
    pub shard_size: Option<u64>,
    pub allow_symlinks: bool,
    /// Paths relative to the model root to leave out (directories with everything
    /// below them).
    pub ignore_paths: Vec<String>,
    pub ignore_git_paths: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hash: HashAlgorithm::Sha256,
            shard_size: None,
            allow_symlinks: false,
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
        }
    }
}

impl Options {
    /// The serialization these options produce, as recorded in a signature.
    pub fn serialization(&self) -> Result<Serialization, OmsError> {
        let method = match (self.hash, self.shard_size) {
            (_, Some(0)) => return Err(OmsError::InvalidOption("shard size must be at least 1 byte".into())),
            // model-signing: "For BLAKE3 this is equivalent to not sharding."
            (HashAlgorithm::Blake3, _) | (_, None) => Method::Files,
            (HashAlgorithm::Sha256, Some(shard_size)) => Method::Shards { shard_size },
        };
        let mut ignore: Vec<String> = self.ignore_paths.clone();
        if self.ignore_git_paths {
            ignore.extend(GIT_IGNORE_PATHS.iter().map(|p| p.to_string()));
        }
        Ok(Serialization::new(method, self.hash, self.allow_symlinks, ignore))
    }
}

/// The serialization parameters (`predicate.serialization` of an OMS statement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serialization {
    pub method: Method,
    pub hash: HashAlgorithm,
    pub allow_symlinks: bool,
    /// Normalised (`/`-separated, no `.` or empty components), sorted, deduplicated.
    pub ignore_paths: Vec<String>,
}

impl Serialization {
    /// Builds the parameters, normalising the ignore paths the way `pathlib` does.
    pub fn new(method: Method, hash: HashAlgorithm, allow_symlinks: bool, ignore_paths: Vec<String>) -> Self {
        let mut ignore: Vec<String> = ignore_paths.iter().map(|p| components(p).join("/")).collect();
        ignore.sort();
        ignore.dedup();
        Serialization { method, hash, allow_symlinks, ignore_paths: ignore }
    }

    /// Adds one more ignored path (e.g. the signature file inside the model).
    pub fn add_ignore_path(&mut self, path: &str) {
        let mut paths = std::mem::take(&mut self.ignore_paths);
        paths.push(path.to_string());
        *self = Serialization::new(self.method, self.hash, self.allow_symlinks, paths);
    }

    /// The algorithm name each resource carries.
    pub fn resource_algorithm(&self) -> String {
        match self.method {
            Method::Files => self.hash.name().to_string(),
            Method::Shards { shard_size } => format!("{}-sharded-{shard_size}", self.hash.name()),
        }
    }

    fn is_ignored(&self, rel: &[String]) -> bool {
        self.ignore_paths.iter().any(|ignore| {
            let ignore = components(ignore);
            ignore.len() <= rel.len() && ignore.iter().zip(rel).all(|(a, b)| a == b)
        })
    }
}

/// Splits a relative path into components, dropping empty and `.` ones.
fn components(path: &str) -> Vec<String> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
}

/// One hashed file or shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Relative path (`.` for a single-file model), with `:start:end` in shards mode.
    pub name: String,
    /// `sha256`, `blake3` or `sha256-sharded-<size>`.
    pub algorithm: String,
    pub digest: Vec<u8>,
}

/// A model's fingerprint: its resources in manifest order and how they were made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The last component of the model path (informative only; not signed over).
    pub model_name: String,
    pub serialization: Serialization,
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// SHA-256 over the resource digests in manifest order: the OMS subject digest.
    pub fn digest(&self) -> [u8; 32] {
        digest_of(&self.resources)
    }

    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest())
    }
}

/// SHA-256 over the digests of `resources` in the order given.
pub fn digest_of(resources: &[Resource]) -> [u8; 32] {
    let mut h = Sha256::new();
    for r in resources {
        h.update(&r.digest);
    }
    h.finalize().into()
}

/// Progress of a fingerprint: bytes hashed so far out of the total. Called from the
/// hashing threads, about once per read buffer.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub bytes_hashed: u64,
    pub bytes_total: u64,
}

/// A file found under the model root.
struct Entry {
    rel: Vec<String>,
    path: PathBuf,
    len: u64,
}

/// One unit of hashing: a whole file or a byte range of it.
struct Job<'a> {
    entry: &'a Entry,
    start: u64,
    end: u64,
}

/// Computes the manifest of the model at `path` with the given options.
pub fn fingerprint(
    path: &Path,
    options: &Options,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<Manifest, OmsError> {
    fingerprint_with(path, &options.serialization()?, progress)
}

/// Computes the manifest of the model at `path` with explicit serialization
/// parameters (as recorded in a signature).
pub fn fingerprint_with(
    path: &Path,
    serialization: &Serialization,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<Manifest, OmsError> {
    if let Method::Shards { shard_size: 0 } = serialization.method {
        return Err(OmsError::InvalidOption("shard size must be at least 1 byte".into()));
    }
    let entries = collect(path, serialization)?;
    let mut jobs: Vec<Job> = Vec::new();
    for entry in &entries {
        match serialization.method {
            Method::Files => jobs.push(Job { entry, start: 0, end: entry.len }),
            Method::Shards { shard_size } => {
                let mut start = 0;
                while start < entry.len {
                    let end = start.saturating_add(shard_size).min(entry.len);
                    jobs.push(Job { entry, start, end });
                    start = end;
                }
            }
        }
    }
    let bytes_total = jobs.iter().map(|j| j.end - j.start).sum();
    let done = AtomicU64::new(0);
    let report = |n: u64| {
        if let Some(cb) = progress {
            let bytes_hashed = done.fetch_add(n, Ordering::Relaxed) + n;
            cb(Progress { bytes_hashed, bytes_total });
        }
    };
    let algorithm = serialization.resource_algorithm();
    let digests = match serialization.hash {
        HashAlgorithm::Sha256 => hash_sha256_jobs(&jobs, &report)?,
        HashAlgorithm::Blake3 => {
            // Largest first, one file per task; inside a file BLAKE3 itself is parallel.
            let mut order: Vec<usize> = (0..jobs.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(jobs.get(i).map_or(0, |j| j.end - j.start)));
            let hashed: Vec<(usize, Vec<u8>)> = order
                .par_iter()
                .with_max_len(1)
                .map(|&i| {
                    let job = jobs.get(i).expect("order holds indices of jobs");
                    hash_blake3_job(job, &report).map(|d| (i, d))
                })
                .collect::<Result<_, _>>()?;
            let mut digests = vec![Vec::new(); jobs.len()];
            for (i, d) in hashed {
                *digests.get_mut(i).expect("index from order") = d;
            }
            digests
        }
    };
    let mut hashed: Vec<(&Job, Vec<u8>)> = jobs.iter().zip(digests).collect();
    hashed.sort_by(|(a, _), (b, _)| (&a.entry.rel, a.start, a.end).cmp(&(&b.entry.rel, b.start, b.end)));
    let resources = hashed
        .into_iter()
        .map(|(job, digest)| {
            let file = if job.entry.rel.is_empty() { ".".to_string() } else { job.entry.rel.join("/") };
            let name = match serialization.method {
                Method::Files => file,
                Method::Shards { .. } => format!("{file}:{}:{}", job.start, job.end),
            };
            Resource { name, algorithm: algorithm.clone(), digest }
        })
        .collect();
    Ok(Manifest { model_name: model_name(path)?, serialization: serialization.clone(), resources })
}

/// model-signing's subject name: the path's last component, or the last component of
/// the resolved path when that is empty or `..`.
fn model_name(path: &Path) -> Result<String, OmsError> {
    let name = match path.file_name() {
        Some(n) => n.to_os_string(),
        None => {
            let resolved = path.canonicalize().map_err(|e| OmsError::io(path, e))?;
            resolved.file_name().map(|n| n.to_os_string()).unwrap_or_default()
        }
    };
    name.into_string().map_err(|_| OmsError::NonUtf8Path(path.to_path_buf()))
}

/// Lists the files to hash, applying model-signing's checks to every entry.
fn collect(root: &Path, ser: &Serialization) -> Result<Vec<Entry>, OmsError> {
    let mut out = Vec::new();
    let root_meta = check_entry(root, ser.allow_symlinks)?;
    if root_meta.is_file() {
        if !ser.is_ignored(&[]) {
            out.push(Entry { rel: Vec::new(), path: root.to_path_buf(), len: root_meta.len() });
        }
        return Ok(out);
    }
    // An explicit stack instead of recursion: directory depth is untrusted input.
    let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    let mut seen = 0usize;
    while let Some((dir, rel)) = stack.pop() {
        let read = std::fs::read_dir(&dir).map_err(|e| OmsError::io(&dir, e))?;
        for item in read {
            let item = item.map_err(|e| OmsError::io(&dir, e))?;
            seen += 1;
            if seen > MODEL_FILES_MAX {
                return Err(OmsError::TooManyFiles { max: MODEL_FILES_MAX });
            }
            let path = item.path();
            let name = item.file_name().into_string().map_err(|_| OmsError::NonUtf8Path(path.clone()))?;
            let mut child_rel = rel.clone();
            child_rel.push(name);
            let is_link = item.file_type().map_err(|e| OmsError::io(&path, e))?.is_symlink();
            let meta = check_entry(&path, ser.allow_symlinks)?;
            if meta.is_dir() {
                // pathlib's "**" does not descend into symlinked directories.
                if !is_link {
                    stack.push((path, child_rel));
                }
            } else if !ser.is_ignored(&child_rel) {
                out.push(Entry { rel: child_rel, path, len: meta.len() });
            }
        }
    }
    Ok(out)
}

/// model-signing's `check_file_or_directory`: refuse symlinks unless allowed, and
/// anything that is neither a file nor a directory. Returns the followed metadata.
fn check_entry(path: &Path, allow_symlinks: bool) -> Result<std::fs::Metadata, OmsError> {
    let link_meta = std::fs::symlink_metadata(path).map_err(|e| OmsError::io(path, e))?;
    if link_meta.file_type().is_symlink() && !allow_symlinks {
        return Err(OmsError::Symlink(path.to_path_buf()));
    }
    let meta = std::fs::metadata(path).map_err(|_| OmsError::SpecialFile(path.to_path_buf()))?;
    if !(meta.is_file() || meta.is_dir()) {
        return Err(OmsError::SpecialFile(path.to_path_buf()));
    }
    Ok(meta)
}

/// Bytes of one SHA-256 job hashed per scheduling step.
pub const SHA256_STEP_BYTES: u64 = 16 << 20;

/// Hashes SHA-256 jobs (files or shards) on every rayon thread, one step of
/// `SHA256_STEP_BYTES` at a time, always continuing the idle job with the most bytes
/// left. SHA-256 is sequential inside a job, so with few large jobs on few cores (a
/// 2 GiB file in 1 GB shards on 2 cores) "largest first, whole job per task" leaves a
/// core idle at the end; largest-remaining-first steps keep every core busy until the
/// last step, as an oversubscribed thread pool would, without more threads than cores.
fn hash_sha256_jobs(jobs: &[Job], report: &(dyn Fn(u64) + Sync)) -> Result<Vec<Vec<u8>>, OmsError> {
    struct Sched {
        states: Vec<Option<(Sha256, u64)>>,
        /// Idle unfinished jobs by bytes left (and index, for a deterministic order).
        idle: std::collections::BinaryHeap<(u64, std::cmp::Reverse<usize>)>,
        error: Option<OmsError>,
    }
    let mut idle = std::collections::BinaryHeap::new();
    let mut states = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        states.push(Some((Sha256::new(), job.start)));
        if job.end > job.start {
            idle.push((job.end - job.start, std::cmp::Reverse(i)));
        }
    }
    let sched = std::sync::Mutex::new(Sched { states, idle, error: None });
    let lock = || sched.lock().expect("no thread panics while holding the scheduler lock");
    let worker = || {
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        loop {
            let (i, mut hasher, pos) = {
                let mut s = lock();
                if s.error.is_some() {
                    return;
                }
                let Some((_, std::cmp::Reverse(i))) = s.idle.pop() else { return };
                let (h, pos) = s.states.get_mut(i).and_then(Option::take).expect("an idle job has its state");
                (i, h, pos)
            };
            let job = jobs.get(i).expect("heap holds indices of jobs");
            let len = SHA256_STEP_BYTES.min(job.end - pos);
            let step = sha256_range(&mut hasher, &job.entry.path, pos, len, &mut buf, report);
            let mut s = lock();
            match step {
                Ok(()) => {
                    let pos = pos + len;
                    if pos < job.end {
                        s.idle.push((job.end - pos, std::cmp::Reverse(i)));
                    }
                    *s.states.get_mut(i).expect("index of a job") = Some((hasher, pos));
                }
                Err(e) => {
                    s.error.get_or_insert(e);
                    return;
                }
            }
        }
    };
    let workers = rayon::current_num_threads().min(jobs.len()).max(1);
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| worker());
        }
    });
    let sched = sched.into_inner().expect("no thread panics while holding the scheduler lock");
    if let Some(e) = sched.error {
        return Err(e);
    }
    Ok(sched.states.into_iter().map(|s| s.expect("every state is returned").0.finalize().to_vec()).collect())
}

/// Feeds `len` bytes of `path` from `start` into `hasher`.
fn sha256_range(
    hasher: &mut Sha256,
    path: &Path,
    start: u64,
    len: u64,
    buf: &mut [u8],
    report: &(dyn Fn(u64) + Sync),
) -> Result<(), OmsError> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path).map_err(|e| OmsError::io(path, e))?;
    file.seek(SeekFrom::Start(start)).map_err(|e| OmsError::io(path, e))?;
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let chunk = buf.get_mut(..want).expect("want is at most the buffer length");
        fill(&mut file, chunk, path)?;
        hasher.update(&*chunk);
        left -= want as u64;
        report(want as u64);
    }
    Ok(())
}

fn hash_blake3_job(job: &Job, report: &(dyn Fn(u64) + Sync)) -> Result<Vec<u8>, OmsError> {
    let path = &job.entry.path;
    let len = job.end - job.start;
    let changed = || OmsError::FileChangedDuringHashing(path.to_path_buf());
    if std::fs::metadata(path).map_err(|e| OmsError::io(path, e))?.len() != len {
        return Err(changed());
    }
    // Memory-mapped and tree-hashed on the pool, as `b3sum` does: the pages are the
    // page cache's own (no copy into a buffer, no heap beyond the hasher), and small
    // files fall back to ordinary reads inside blake3.
    let mut h = blake3::Hasher::new();
    h.update_mmap_rayon(path).map_err(|e| OmsError::io(path, e))?;
    if h.count() != len {
        return Err(changed());
    }
    report(len);
    Ok(h.finalize().as_bytes().to_vec())
}

/// Fills `buf` completely; a file that ends early changed while being hashed.
fn fill(file: &mut File, buf: &mut [u8], path: &Path) -> Result<(), OmsError> {
    file.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => OmsError::FileChangedDuringHashing(path.to_path_buf()),
        _ => OmsError::io(path, e),
    })
}

/// The small model every unit test uses, and what model-signing 1.1.1 computes for it.
#[cfg(test)]
pub(crate) mod fixture {
    use std::path::Path;

    /// (relative path, content). `.git/HEAD` and the root `.gitignore` are ignored by
    /// default; `sub/.gitignore` is not; `empty` has no shards.
    pub const FILES: [(&str, &[u8]); 8] = [
        ("a.txt", b"hello"),
        ("a/b", b"z\n"),
        ("a.b/c", b"y\n"),
        ("empty", b""),
        ("sub/w.bin", &[b'x'; 100]),
        ("sub/.gitignore", b"y\n"),
        (".git/HEAD", b"g\n"),
        (".gitignore", b"i\n"),
    ];

    /// Subject digests printed by model-signing 1.1.1 (`tests/py/oms_fingerprint.py`).
    pub const DIGEST_FILES_SHA256: &str = "37d135f7bed861514082a9cad2e9eb188698f31da32ca5ff1467d97b02a426da";
    pub const DIGEST_SHARDS_30_SHA256: &str = "6c82233901881294c21fc9b319a5837b544da32b9fed55c65406c372d957698a";
    pub const DIGEST_SHARDS_7_SHA256: &str = "ce10286721d22bab9c04efd35b88c88913045cd24e3e05269203b401964f9ae0";
    pub const DIGEST_FILES_BLAKE3: &str = "4965192418f9a94442d77323f7712fb8b4f670a6edb05fc831cd3cf3c8a34067";
    /// The single file `a.txt` as the model.
    pub const DIGEST_SINGLE_FILE: &str = "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50";

    /// Writes the fixture under `dir/m` and returns that path.
    pub fn write(dir: &Path) -> std::path::PathBuf {
        let root = dir.join("m");
        for (rel, content) in FILES {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("fixture paths have a parent")).expect("create fixture dir");
            std::fs::write(&p, content).expect("write fixture file");
        }
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(hash: HashAlgorithm, shard_size: Option<u64>) -> Options {
        Options { hash, shard_size, ..Options::default() }
    }

    fn names(m: &Manifest) -> Vec<&str> {
        m.resources.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn golden_digests_equal_model_signing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let check = |o: Options, expected: &str| {
            let m = fingerprint(&root, &o, None).expect("fingerprint");
            assert_eq!(m.digest_hex(), expected, "options {o:?}");
        };
        check(opts(HashAlgorithm::Sha256, None), fixture::DIGEST_FILES_SHA256);
        check(opts(HashAlgorithm::Sha256, Some(30)), fixture::DIGEST_SHARDS_30_SHA256);
        check(opts(HashAlgorithm::Sha256, Some(7)), fixture::DIGEST_SHARDS_7_SHA256);
        check(opts(HashAlgorithm::Blake3, None), fixture::DIGEST_FILES_BLAKE3);
        // BLAKE3 is never sharded (model-signing falls back to files mode).
        check(opts(HashAlgorithm::Blake3, Some(7)), fixture::DIGEST_FILES_BLAKE3);
        let single = fingerprint(&root.join("a.txt"), &Options::default(), None).expect("fingerprint");
        assert_eq!(names(&single), ["."]);
        assert_eq!(single.model_name, "a.txt");
        assert_eq!(single.digest_hex(), fixture::DIGEST_SINGLE_FILE);
    }

    #[test]
    fn order_is_by_components_then_numeric_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let m = fingerprint(&root, &Options::default(), None).expect("fingerprint");
        assert_eq!(names(&m), ["a/b", "a.b/c", "a.txt", "empty", "sub/.gitignore", "sub/w.bin"]);
        assert_eq!(m.model_name, "m");
        let m = fingerprint(&root, &opts(HashAlgorithm::Sha256, Some(7)), None).expect("fingerprint");
        let w: Vec<&str> = names(&m).into_iter().filter(|n| n.starts_with("sub/w.bin")).collect();
        assert_eq!(w.len(), 15);
        assert_eq!(w.get(1..3), Some(&["sub/w.bin:7:14", "sub/w.bin:14:21"][..]));
        assert_eq!(w.last(), Some(&"sub/w.bin:98:100"));
        assert!(!names(&m).iter().any(|n| n.starts_with("empty")), "an empty file has no shards");
        assert!(m.resources.iter().all(|r| r.algorithm == "sha256-sharded-7"));
    }

    #[test]
    fn ignore_paths_and_git_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        let with_git = Options { ignore_git_paths: false, ..Options::default() };
        let m = fingerprint(&root, &with_git, None).expect("fingerprint");
        assert!(names(&m).contains(&".git/HEAD") && names(&m).contains(&".gitignore"));
        assert!(m.serialization.ignore_paths.is_empty());
        let o = Options { ignore_paths: vec!["sub/".into(), "./a.txt".into()], ..Options::default() };
        let m = fingerprint(&root, &o, None).expect("fingerprint");
        assert_eq!(names(&m), ["a/b", "a.b/c", "empty"]);
        assert_eq!(m.serialization.ignore_paths, [".git", ".gitattributes", ".github", ".gitignore", "a.txt", "sub"]);
    }

    #[test]
    fn symlinks_refused_unless_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fixture::write(dir.path());
        std::os::unix::fs::symlink("a.txt", root.join("link")).expect("symlink");
        std::os::unix::fs::symlink("sub", root.join("dirlink")).expect("symlink");
        let err = fingerprint(&root, &Options::default(), None).expect_err("symlink must be refused");
        assert!(matches!(err, OmsError::Symlink(_)), "{err}");
        let o = Options { allow_symlinks: true, ..Options::default() };
        let m = fingerprint(&root, &o, None).expect("fingerprint");
        let link = m.resources.iter().find(|r| r.name == "link").expect("link hashed through");
        let target = m.resources.iter().find(|r| r.name == "a.txt").expect("target");
        assert_eq!(link.digest, target.digest);
        assert!(!names(&m).iter().any(|n| n.starts_with("dirlink")), "symlinked directories are not entered");
    }

    #[test]
    fn large_files_stream_through_buffers() {
        // Many read buffers and BLAKE3 chunks long, and a multiple of neither.
        let len = 16 * READ_BUFFER_BYTES + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("big.bin");
        std::fs::write(&file, &data).expect("write");
        let seen = AtomicU64::new(0);
        let progress = |p: Progress| {
            seen.fetch_max(p.bytes_hashed, Ordering::Relaxed);
            assert!(p.bytes_hashed <= p.bytes_total);
        };
        let m = fingerprint(&file, &opts(HashAlgorithm::Blake3, None), Some(&progress)).expect("fingerprint");
        assert_eq!(m.resources.first().map(|r| r.digest.clone()), Some(blake3::hash(&data).as_bytes().to_vec()));
        assert_eq!(seen.load(Ordering::Relaxed), len as u64);
        let shard = 3 * READ_BUFFER_BYTES as u64 + 7;
        let m = fingerprint(&file, &opts(HashAlgorithm::Sha256, Some(shard)), None).expect("fingerprint");
        for r in &m.resources {
            let (_, range) = r.name.split_once(':').expect("shard name");
            let (s, e) = range.split_once(':').expect("shard range");
            let (s, e): (usize, usize) = (s.parse().expect("start"), e.parse().expect("end"));
            assert_eq!(r.digest, Sha256::digest(&data[s..e]).to_vec(), "{}", r.name);
        }
        assert_eq!(m.resources.len(), len.div_ceil(shard as usize));
    }

    #[test]
    fn bad_options_and_paths_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = fingerprint(&dir.path().join("nope"), &Options::default(), None).expect_err("missing");
        assert!(matches!(err, OmsError::Io { .. }), "{err}");
        let err = fingerprint(dir.path(), &opts(HashAlgorithm::Sha256, Some(0)), None).expect_err("shard 0");
        assert!(matches!(err, OmsError::InvalidOption(_)), "{err}");
        assert!("blake2b".parse::<HashAlgorithm>().is_err());
    }
}
