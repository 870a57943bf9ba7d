//! `verity model fingerprint|sign|verify` (OpenSSF model-signing compatible).
//!
//! Defaults mirror `model_signing` 1.1.1: whole files (`files` mode) hashed with
//! SHA-256 unless `--shard-size` is given, symlinks refused, git paths ignored, and a
//! signature file inside the model ignored. Bundles signed in the default mode verify
//! with `model_signing verify key`; that CLI always re-hashes in `files` mode, so
//! bundles made with `--shard-size` or `--hash blake3` verify here and through its
//! Python API, not through its CLI.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
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
