//! `verity bench fingerprint`: model fingerprint throughput (OMS manifests, sha256
//! shards and blake3) against `openssl dgst`, `b3sum` and model-signing's own hashing,
//! on one pseudo-random file hashed from the page cache.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use verity_oms::fingerprint::{self, HashAlgorithm, Options};

use crate::{rows, Rows};

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

/// One hasher's fastest run.
#[derive(Serialize, Debug)]
pub struct Measured {
    pub seconds: f64,
    pub gb_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// The benchmark's report (`--json` prints exactly this object).
#[derive(Serialize, Debug)]
pub struct FingerprintReport {
    pub size_mib: u64,
    pub bytes: u64,
    pub cores: usize,
    pub shard_size: u64,
    /// Ours, sha256 shard mode, all cores (GB = 10^9 bytes).
    pub gb_per_s: f64,
    /// `openssl dgst -sha256` on the same file (single thread).
    pub openssl_gb_per_s: f64,
    /// gb_per_s / openssl_gb_per_s (target >= 1.6).
    pub ratio: f64,
    pub sha256_shards: Measured,
    pub blake3: Measured,
    pub openssl: Measured,
    /// `b3sum` (all cores) if installed.
    pub b3sum: Option<Measured>,
    /// blake3 / b3sum (target >= 0.9).
    pub blake3_ratio_vs_b3sum: Option<f64>,
    /// model-signing 1.1.1 shard mode (its own hashing time, without interpreter start).
    pub model_signing_shards: Option<Measured>,
    /// gb_per_s / model-signing shard mode (target >= 2).
    pub ratio_vs_model_signing: Option<f64>,
    /// What was not measured, and how the file was prepared.
    pub notes: Vec<String>,
}

impl FingerprintReport {
    /// The report as a table (the notes are not in it).
    pub fn rows(&self) -> Rows {
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "not measured".into());
        rows([
            ("file", format!("{} MiB, {} cores", self.size_mib, self.cores)),
            ("ours sha256 shards GB/s", format!("{:.2}", self.gb_per_s)),
            ("openssl dgst -sha256 GB/s", format!("{:.2}", self.openssl_gb_per_s)),
            ("ratio (target >= 1.6)", format!("{:.2}", self.ratio)),
            ("model-signing shards GB/s", opt(self.model_signing_shards.as_ref().map(|m| m.gb_per_s))),
            ("ratio vs model-signing (target >= 2)", opt(self.ratio_vs_model_signing)),
            ("ours blake3 GB/s", format!("{:.2}", self.blake3.gb_per_s)),
            ("b3sum GB/s", opt(self.b3sum.as_ref().map(|m| m.gb_per_s))),
            ("blake3 / b3sum (target >= 0.9)", opt(self.blake3_ratio_vs_b3sum)),
        ])
    }
}

/// model-signing's hashing, timed inside the interpreter (the interop tests' helper).
const PY_HELPER: &str = include_str!("../../verity-oms/tests/py/oms_fingerprint.py");

/// Writes a file of `a.size_mib` MiB (in `a.dir`, or a temporary directory), hashes it
/// with each hasher `a.runs` times and removes it.
pub fn bench_fingerprint(a: &BenchFingerprintArgs) -> Result<FingerprintReport> {
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
    let result = (|| -> Result<FingerprintReport> {
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
        Ok(FingerprintReport {
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
    Ok(r)
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
