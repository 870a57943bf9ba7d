//! `verity model fingerprint|sign|verify` (OpenSSF model-signing compatible) and
//! `verity bench fingerprint`.
//!
//! Defaults mirror `model_signing` 1.1.1: whole files (`files` mode) hashed with
//! SHA-256 unless `--shard-size` is given, symlinks refused, git paths ignored, and a
//! signature file inside the model ignored. Bundles signed in the default mode verify
//! with `model_signing verify key`; that CLI always re-hashes in `files` mode, so
//! bundles made with `--shard-size` or `--hash blake3` verify here and through its
//! Python API, not through its CLI.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use verity_oms::fingerprint::{self, HashAlgorithm, Manifest, Method, Options, Progress};
use verity_oms::oms::{self, SigningKey, VerifyingKey};

use crate::output::show;
use crate::Global;

#[derive(Subcommand)]
pub enum ModelCmd {
    /// Ledger commands: register, version, deploy, rollback, deprecate, show.
    #[command(flatten)]
    Ledger(crate::provenance::ModelLedgerCmd),
    /// Fingerprint, sign (OMS bundle) and register a model version with its training
    /// run, in one idempotent step for CI pipelines.
    Publish(crate::publish::PublishArgs),
    /// Print a model's OMS manifest digest and its resources (files or shards with digests).
    Fingerprint {
        path: PathBuf,
        #[command(flatten)]
        hashing: HashingArgs,
    },
    /// Sign a model into an OMS Sigstore bundle (P-256 PEM key or a keystore Ed25519 key).
    Sign {
        path: PathBuf,
        /// PEM private key: P-256 (SEC1 or PKCS#8, as `model_signing sign key` takes) or Ed25519 PKCS#8.
        #[arg(long, required_unless_present = "key_account", conflicts_with = "key_account")]
        key: Option<PathBuf>,
        /// Sign with this keystore key (name or account), an Ed25519 key.
        #[arg(long)]
        key_account: Option<String>,
        /// Where to write the signature bundle.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        #[command(flatten)]
        hashing: HashingArgs,
    },
    /// Verify a model against an OMS bundle; exits non-zero naming what differs.
    Verify {
        path: PathBuf,
        /// The signature bundle.
        #[arg(long)]
        sig: PathBuf,
        /// PEM public key (P-256 or Ed25519 SubjectPublicKeyInfo).
        #[arg(long, required_unless_present = "key_account", conflicts_with = "key_account")]
        public_key: Option<PathBuf>,
        /// Verify with the public key of this keystore key (name or account).
        #[arg(long)]
        key_account: Option<String>,
    },
}

/// How to hash; the defaults are model-signing's.
#[derive(Args, Clone)]
pub struct HashingArgs {
    /// Cut files into shards of this many bytes (`shards` mode); default: whole files.
    #[arg(long)]
    pub shard_size: Option<u64>,
    /// sha256 or blake3 (blake3 is never sharded, as in model-signing).
    #[arg(long, default_value = "sha256")]
    pub hash: String,
    /// Hash symlinked files through the link instead of refusing them.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Leave out this path relative to the model (repeatable).
    #[arg(long = "ignore-path")]
    pub ignore_paths: Vec<String>,
    /// Include .git, .gitattributes, .github and .gitignore (ignored by default).
    #[arg(long)]
    pub no_ignore_git_paths: bool,
}

impl HashingArgs {
    pub(crate) fn options(&self) -> Result<Options> {
        Ok(Options {
            hash: self.hash.parse::<HashAlgorithm>()?,
            shard_size: self.shard_size,
            allow_symlinks: self.allow_symlinks,
            ignore_paths: self.ignore_paths.clone(),
            ignore_git_paths: !self.no_ignore_git_paths,
        })
    }
}

pub fn run(g: &Global, cmd: ModelCmd) -> Result<()> {
    match cmd {
        ModelCmd::Ledger(c) => {
            let client = verity_client::Client::new(&g.node);
            crate::commands::runtime()?.block_on(crate::provenance::run_cmd(
                g,
                &client,
                crate::provenance::ProvCmd::Model(c),
            ))
        }
        ModelCmd::Publish(a) => crate::publish::run(g, a),
        ModelCmd::Fingerprint { path, hashing } => {
            let options = hashing.options()?;
            let manifest = with_progress(|p| fingerprint::fingerprint(&path, &options, p))?;
            let mut rows = manifest_rows(&manifest);
            if !g.json {
                rows.push(("resources", String::new()));
            }
            show(g.json, &manifest_json(&manifest), rows);
            if !g.json {
                for r in &manifest.resources {
                    println!("  {}  {}", hex::encode(&r.digest), r.name);
                }
            }
            Ok(())
        }
        ModelCmd::Sign { path, key, key_account, output, hashing } => {
            let key = match (key, key_account) {
                (Some(pem), _) => SigningKey::from_pem(&read_text(&pem)?)?,
                (None, Some(name)) => SigningKey::Ed25519(crate::commands::open_keystore(g)?.find(&name)?.1),
                (None, None) => bail!("give --key PEM or --key-account NAME"),
            };
            let options = hashing.options()?;
            let (manifest, bundle) = with_progress(|p| oms::sign_model(&path, &options, Some(&output), &key, p))?;
            std::fs::write(&output, bundle.to_json()).with_context(|| format!("writing {}", output.display()))?;
            let public = key.verifying_key();
            let mut rows = manifest_rows(&manifest);
            rows.push(("signature", output.display().to_string()));
            rows.push(("key hint", public.hint()));
            let mut value = manifest_json(&manifest);
            value["signature"] = json!(output.display().to_string());
            value["key_hint"] = json!(public.hint());
            value["public_key_pem"] = json!(public.to_pem());
            show(g.json, &value, rows);
            Ok(())
        }
        ModelCmd::Verify { path, sig, public_key, key_account } => {
            let key = match (public_key, key_account) {
                (Some(pem), _) => VerifyingKey::from_pem(&read_text(&pem)?)?,
                (None, Some(name)) => {
                    VerifyingKey::Ed25519(crate::commands::open_keystore(g)?.find(&name)?.1.public_key())
                }
                (None, None) => bail!("give --public-key PEM or --key-account NAME"),
            };
            let bytes = read_bounded(&sig, oms::BUNDLE_BYTES_MAX)?;
            let v = with_progress(|p| oms::verify_model(&path, &bytes, Some(&sig), &key, p))?;
            let digest = hex::encode(v.signed.subject_digest);
            show(
                g.json,
                &json!({"verified": true, "digest": digest, "model_name": v.signed.model_name,
                        "resources": v.signed.resources.len(), "key_hint": v.key_hint,
                        "method": method_name(v.signed.serialization.method),
                        "hash": v.signed.serialization.hash.name()}),
                vec![
                    ("verified", "yes".into()),
                    ("digest", digest.clone()),
                    ("resources", v.signed.resources.len().to_string()),
                    ("key hint", v.key_hint.clone()),
                ],
            );
            Ok(())
        }
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads at most `max` bytes, refusing larger files before reading them whole.
fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > max {
        bail!("{} is larger than {max} bytes", path.display());
    }
    Ok(bytes)
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Files => "files",
        Method::Shards { .. } => "shards",
    }
}

fn manifest_json(m: &Manifest) -> serde_json::Value {
    let shard_size = match m.serialization.method {
        Method::Files => None,
        Method::Shards { shard_size } => Some(shard_size),
    };
    json!({
        "model_name": m.model_name,
        "digest": m.digest_hex(),
        "hash": m.serialization.hash.name(),
        "method": method_name(m.serialization.method),
        "shard_size": shard_size,
        "allow_symlinks": m.serialization.allow_symlinks,
        "ignore_paths": m.serialization.ignore_paths,
        "resources": m.resources.iter().map(|r| json!({"name": r.name, "algorithm": r.algorithm,
            "digest": hex::encode(&r.digest)})).collect::<Vec<_>>(),
    })
}

fn manifest_rows(m: &Manifest) -> Vec<(&'static str, String)> {
    let shard = match m.serialization.method {
        Method::Files => "-".to_string(),
        Method::Shards { shard_size } => shard_size.to_string(),
    };
    vec![
        ("digest", m.digest_hex()),
        ("hash", m.serialization.hash.name().to_string()),
        ("method", method_name(m.serialization.method).to_string()),
        ("shard size", shard),
        ("resource count", m.resources.len().to_string()),
    ]
}

/// Runs `f` with a byte progress callback that draws an indicatif bar on stderr, or
/// with none when stderr is not a terminal (pipes, CI).
pub(crate) fn with_progress<T>(f: impl FnOnce(Option<&(dyn Fn(Progress) + Sync)>) -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f(None);
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
        bar.set_style(style);
    }
    let update = |p: Progress| {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_hashed);
    };
    let out = f(Some(&update));
    bar.finish_and_clear();
    out
}

// ---- verity bench fingerprint ------------------------------------------------------

#[derive(Args, Clone)]
pub struct BenchFingerprintArgs {
    /// Size of the file to write and hash, in MiB.
    #[arg(long, default_value_t = 2048)]
    pub size_mib: u64,
    /// Shard size for the sha256 shard mode (ours and model-signing's); model-signing's default.
    #[arg(long, default_value_t = fingerprint::SHARD_SIZE_DEFAULT)]
    pub shard_size: u64,
    /// Directory for the file (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Runs of each measurement; the fastest counts.
    #[arg(long, default_value_t = 2)]
    pub runs: u32,
    /// The Python venv with model-signing (default: ./.venv).
    #[arg(long, default_value = ".venv")]
    pub venv: PathBuf,
}

#[derive(Serialize)]
struct Measured {
    seconds: f64,
    gb_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
}

#[derive(Serialize)]
struct FingerprintBench {
    size_mib: u64,
    bytes: u64,
    cores: usize,
    shard_size: u64,
    /// Ours, sha256 shard mode, all cores (GB = 10^9 bytes).
    gb_per_s: f64,
    /// `openssl dgst -sha256` on the same file (single thread).
    openssl_gb_per_s: f64,
    /// gb_per_s / openssl_gb_per_s (target >= 1.6).
    ratio: f64,
    sha256_shards: Measured,
    blake3: Measured,
    openssl: Measured,
    /// `b3sum` (all cores) if installed.
    b3sum: Option<Measured>,
    /// blake3 / b3sum (target >= 0.9).
    blake3_ratio_vs_b3sum: Option<f64>,
    /// model-signing 1.1.1 shard mode (its own hashing time, without interpreter start).
    model_signing_shards: Option<Measured>,
    /// gb_per_s / model-signing shard mode (target >= 2).
    ratio_vs_model_signing: Option<f64>,
    notes: Vec<String>,
}

const PY_HELPER: &str = include_str!("../../verity-oms/tests/py/oms_fingerprint.py");

pub fn bench_fingerprint(g: &Global, a: &BenchFingerprintArgs) -> Result<()> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let file = dir.join("bench-model.bin");
    let bytes = a.size_mib * 1024 * 1024;
    let mut notes = Vec::new();
    let result = (|| -> Result<FingerprintBench> {
        write_bench_file(&file, bytes)?;
        warm_cache(&file)?;
        notes.push("file written and read once first: every run hashes from the page cache".into());
        let runs = a.runs.max(1);
        let gb = bytes as f64 / 1e9;
        let measure = |f: &dyn Fn() -> Result<Option<String>>| -> Result<Measured> {
            let mut best = f64::INFINITY;
            let mut digest = None;
            for _ in 0..runs {
                let t = Instant::now();
                digest = f()?;
                best = best.min(t.elapsed().as_secs_f64());
            }
            Ok(Measured { seconds: best, gb_per_s: gb / best, digest })
        };
        let shards = Options { shard_size: Some(a.shard_size), ..Options::default() };
        let sha256_shards = measure(&|| Ok(Some(fingerprint::fingerprint(&file, &shards, None)?.digest_hex())))?;
        let blake3_opts = Options { hash: HashAlgorithm::Blake3, ..Options::default() };
        let blake3 = measure(&|| {
            let m = fingerprint::fingerprint(&file, &blake3_opts, None)?;
            Ok(m.resources.first().map(|r| hex::encode(&r.digest)))
        })?;
        let openssl = measure(&|| {
            let out = Command::new("openssl").args(["dgst", "-sha256", "-r"]).arg(&file).output()?;
            if !out.status.success() {
                bail!("openssl dgst failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().next().map(str::to_string))
        })?;
        let b3sum = if Command::new("b3sum").arg("--version").output().is_ok_and(|o| o.status.success()) {
            let m = measure(&|| {
                let out = Command::new("b3sum").arg("--no-names").arg(&file).output()?;
                if !out.status.success() {
                    bail!("b3sum failed: {}", String::from_utf8_lossy(&out.stderr));
                }
                Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().next().map(str::to_string))
            })?;
            if m.digest != blake3.digest {
                bail!("b3sum and our blake3 disagree: {:?} vs {:?}", m.digest, blake3.digest);
            }
            Some(m)
        } else {
            notes.push("b3sum is not installed: no BLAKE3 baseline (the blake3 crate is not a substitute)".into());
            None
        };
        let python = a.venv.join("bin/python");
        let model_signing_shards = if python.exists() {
            let helper = dir.join("oms_fingerprint.py");
            std::fs::write(&helper, PY_HELPER)?;
            let mut best: Option<Measured> = None;
            for _ in 0..runs {
                let out = Command::new(&python)
                    .arg(&helper)
                    .arg(&file)
                    .args(["--shard-size", &a.shard_size.to_string()])
                    .output()
                    .context("running model-signing")?;
                if !out.status.success() {
                    bail!("model-signing failed: {}", String::from_utf8_lossy(&out.stderr));
                }
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                let seconds = v["seconds"].as_f64().context("helper reports seconds")?;
                let digest = v["statement"]["subject"][0]["digest"]["sha256"].as_str().map(str::to_string);
                if best.as_ref().is_none_or(|b| seconds < b.seconds) {
                    best = Some(Measured { seconds, gb_per_s: gb / seconds, digest });
                }
            }
            if let Some(b) = &best {
                if b.digest != sha256_shards.digest {
                    bail!("model-signing and our shard digests disagree: {:?} vs {:?}", b.digest, sha256_shards.digest);
                }
            }
            best
        } else {
            notes.push(format!("{} not found: model-signing not measured (run scripts/py-venv.sh)", python.display()));
            None
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Ok(FingerprintBench {
            size_mib: a.size_mib,
            bytes,
            cores,
            shard_size: a.shard_size,
            gb_per_s: sha256_shards.gb_per_s,
            openssl_gb_per_s: openssl.gb_per_s,
            ratio: sha256_shards.gb_per_s / openssl.gb_per_s,
            blake3_ratio_vs_b3sum: b3sum.as_ref().map(|b| blake3.gb_per_s / b.gb_per_s),
            ratio_vs_model_signing: model_signing_shards.as_ref().map(|m| sha256_shards.gb_per_s / m.gb_per_s),
            sha256_shards,
            blake3,
            openssl,
            b3sum,
            model_signing_shards,
            notes: Vec::new(),
        })
    })();
    let _ = std::fs::remove_file(&file);
    let mut r = result?;
    r.notes = notes;
    let opt = |v: Option<f64>, unit: &str| v.map(|x| format!("{x:.2}{unit}")).unwrap_or_else(|| "not measured".into());
    show(
        g.json,
        &r,
        vec![
            ("file", format!("{} MiB, {} cores", r.size_mib, r.cores)),
            ("ours sha256 shards GB/s", format!("{:.2}", r.gb_per_s)),
            ("openssl dgst -sha256 GB/s", format!("{:.2}", r.openssl_gb_per_s)),
            ("ratio (target >= 1.6)", format!("{:.2}", r.ratio)),
            ("model-signing shards GB/s", opt(r.model_signing_shards.as_ref().map(|m| m.gb_per_s), "")),
            ("ratio vs model-signing (target >= 2)", opt(r.ratio_vs_model_signing, "")),
            ("ours blake3 GB/s", format!("{:.2}", r.blake3.gb_per_s)),
            ("b3sum GB/s", opt(r.b3sum.as_ref().map(|m| m.gb_per_s), "")),
            ("blake3 / b3sum (target >= 0.9)", opt(r.blake3_ratio_vs_b3sum, "")),
        ],
    );
    if !g.json {
        for n in &r.notes {
            eprintln!("note: {n}");
        }
    }
    Ok(())
}

/// Writes `bytes` of pseudo-random data (xorshift; incompressible, not sparse).
fn write_bench_file(path: &Path, bytes: u64) -> Result<()> {
    const CHUNK: usize = 8 << 20;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("{}", path.display()))?);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut buf = vec![0u8; CHUNK];
    let mut left = bytes;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

fn warm_cache(path: &Path) -> Result<()> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 8 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}
