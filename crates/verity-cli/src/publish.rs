//! `verity model publish`: fingerprint, sign and register a trained model and its
//! training run in one idempotent step, for CI pipelines.
//!
//! The run file (`RUN.json`, written by `verity train --run-out` or by any pipeline) is
//! documented in docs/AI.md. Publishing again with the same model files and run does
//! nothing and succeeds, printing the version already on the ledger; publishing other
//! files under a run id that the ledger holds with different fields fails.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_client::{Client, ClientError};
use verity_oms::oms::{self, SigningKey};
use verity_types::{Action, Hash, ModelId, ModelVersion, RecordRef, RegisterModel, RegisterModelVersion, RunId};

use crate::model::{with_progress, HashingArgs};
use crate::output::show;
use crate::provenance::{run_action, RunFields};
use crate::Global;

#[derive(Args)]
pub struct PublishArgs {
    /// The model: a file or a directory.
    pub path: PathBuf,
    /// The model's name on the ledger (registered for the signer's organisation if new).
    #[arg(long)]
    pub model: String,
    /// The training-run file (RUN.json) describing how the model was made.
    #[arg(long)]
    pub run: PathBuf,
    /// Where to write the OMS signature bundle (default: PATH.sig next to a file,
    /// PATH/model.sig inside a directory).
    #[arg(long)]
    pub sig: Option<PathBuf>,
    /// Keystore key of the compute provider that vouches for the run log (default: the
    /// signer), unless the run file carries a provider and its signature.
    #[arg(long)]
    pub provider_signer: Option<String>,
    /// Description used when the model is registered for the first time.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The model owner's key (name or account in the keystore): signs the bundle and
    /// the ledger transactions.
    #[arg(long = "as", alias = "signer")]
    pub signer: String,
    #[command(flatten)]
    pub hashing: HashingArgs,
}

/// The training-run file. Unknown keys are kept out of the ledger but allowed, so a
/// pipeline can add its own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunFile {
    pub run: String,
    #[serde(default)]
    pub datasets: Vec<String>,
    #[serde(default)]
    pub base_model: Option<String>,
    pub code_commit: String,
    pub hyperparameters_sha256: Hash,
    pub training_date: String,
    pub team: String,
    pub run_log_sha256: Hash,
    /// The compute provider's account and its signature over the run log, when the
    /// provider signed elsewhere.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub provider_signature: Option<String>,
}

impl RunFile {
    pub fn read(path: &Path) -> Result<RunFile> {
        let bytes = std::fs::read(path).with_context(|| format!("reading the run file {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid run file (see docs/AI.md)", path.display()))
    }
}

/// What `publish` did, printed as the command's result.
#[derive(Serialize)]
struct Published {
    model: String,
    version: u32,
    reference: String,
    fingerprint: String,
    run: String,
    signature: String,
    /// Every step already on the ledger: nothing was sent.
    already_published: bool,
    registered_model: bool,
    registered_run: bool,
}

fn default_sig_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("model.sig")
    } else {
        let mut p = path.as_os_str().to_owned();
        p.push(".sig");
        PathBuf::from(p)
    }
}

fn not_found(e: &ClientError) -> bool {
    matches!(e, ClientError::Api { status: 404, .. })
}

pub fn run(g: &Global, a: PublishArgs) -> Result<()> {
    let run_file = RunFile::read(&a.run)?;
    let run_id = RunId::new(&run_file.run).map_err(|e| anyhow!("run file {}: run id: {e}", a.run.display()))?;
    let model_id = ModelId::new(&a.model)?;
    if run_file.datasets.is_empty() {
        bail!(
            "run file {} lists no datasets: a training run names the dataset versions it used (NAME@VERSION)",
            a.run.display()
        );
    }
    let ks = crate::commands::open_keystore(g)?;
    let (_, owner_key) = ks.find(&a.signer)?;

    // 1. Fingerprint and sign (the bundle is the owner's OMS signature over the files).
    let sig_path = a.sig.clone().unwrap_or_else(|| default_sig_path(&a.path));
    let options = a.hashing.options()?;
    let key = SigningKey::Ed25519(owner_key.clone());
    let (manifest, bundle) = with_progress(|p| oms::sign_model(&a.path, &options, Some(&sig_path), &key, p))
        .with_context(|| format!("fingerprinting and signing {}", a.path.display()))?;
    let fingerprint = Hash(manifest.digest());
    std::fs::write(&sig_path, bundle.to_json()).with_context(|| format!("writing {}", sig_path.display()))?;

    let client = Client::new(&g.node);
    let rt = crate::commands::runtime()?;
    let out = rt.block_on(async {
        // 2. The model, registered for the owner's organisation if it is new.
        let mut registered_model = false;
        let versions: Vec<ModelVersion> = match client.model(model_id.as_str()).await {
            Ok(v) => v.versions,
            Err(e) if not_found(&e) => {
                let action = Action::RegisterModel(RegisterModel {
                    model: model_id.clone(),
                    description: a.description.clone(),
                });
                crate::commands::send_with(g, &client, &a.signer, action, false)
                    .await
                    .with_context(|| format!("registering model {model_id}"))?;
                registered_model = true;
                Vec::new()
            }
            Err(e) => return Err(anyhow!(e).context(format!("looking up model {model_id}"))),
        };

        // 3. The training run: registered once; a different run under the same id is refused.
        let mut registered_run = false;
        match client.record(&RecordRef::Run(run_id.clone()).to_string()).await {
            Ok(view) => check_same_run(&view.record, &run_file)?,
            Err(e) if not_found(&e) => {
                let provider = match (&run_file.provider, &run_file.provider_signature) {
                    (Some(p), Some(s)) => (p.parse()?, Some(s.parse()?), None),
                    (None, None) => {
                        let name = a.provider_signer.as_deref().unwrap_or(&a.signer);
                        let (acct, key) = ks.find(name)?;
                        (acct, None, Some(key))
                    }
                    _ => bail!("run file {}: give both provider and provider_signature, or neither", a.run.display()),
                };
                let fields = RunFields {
                    run: run_id.clone(),
                    datasets: run_file.datasets.clone(),
                    base_model: run_file.base_model.clone(),
                    code_commit: run_file.code_commit.clone(),
                    hyperparams_hash: run_file.hyperparameters_sha256,
                    training_date: run_file.training_date.clone(),
                    team: run_file.team.clone(),
                    run_log_hash: run_file.run_log_sha256,
                    provider: provider.0,
                };
                let chain_id = client.genesis().await?.chain_id;
                let action = run_action(fields, &chain_id, provider.1, provider.2.as_ref())?;
                crate::commands::send_with(g, &client, &a.signer, action, false)
                    .await
                    .with_context(|| format!("registering run {run_id}"))?;
                registered_run = true;
            }
            Err(e) => return Err(anyhow!(e).context(format!("looking up run {run_id}"))),
        }

        // 4. The version: the existing one when these files are already published.
        if let Some(v) = versions.iter().find(|v| v.fingerprint == fingerprint) {
            if v.run != run_id {
                bail!("{model_id}@{} already has this fingerprint with run {}, not {run_id}", v.version, v.run);
            }
            return Ok(Published {
                model: model_id.to_string(),
                version: v.version,
                reference: format!("model:{model_id}@{}", v.version),
                fingerprint: fingerprint.to_string(),
                run: run_id.to_string(),
                signature: sig_path.display().to_string(),
                already_published: !registered_model && !registered_run,
                registered_model,
                registered_run,
            });
        }
        let version = versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let action = Action::RegisterModelVersion(RegisterModelVersion {
            model: model_id.clone(),
            version,
            fingerprint,
            run: run_id.clone(),
        });
        crate::commands::send_with(g, &client, &a.signer, action, false)
            .await
            .with_context(|| format!("registering {model_id}@{version}"))?;
        Ok(Published {
            model: model_id.to_string(),
            version,
            reference: format!("model:{model_id}@{version}"),
            fingerprint: fingerprint.to_string(),
            run: run_id.to_string(),
            signature: sig_path.display().to_string(),
            already_published: false,
            registered_model,
            registered_run,
        })
    })?;
    show(
        g.json,
        &json!(out),
        vec![
            ("model version", out.reference.clone()),
            ("fingerprint", out.fingerprint.clone()),
            ("run", out.run.clone()),
            ("signature", out.signature.clone()),
            ("already published", if out.already_published { "yes" } else { "no" }.to_string()),
        ],
    );
    Ok(())
}

/// Refuses a run file that disagrees with the run the ledger already holds.
fn check_same_run(record: &serde_json::Value, f: &RunFile) -> Result<()> {
    let text = |k: &str| record[k].as_str().unwrap_or_default().to_string();
    let mut diffs = Vec::new();
    if text("code_commit") != f.code_commit {
        diffs.push(format!("code_commit {} on the ledger, {} in the file", text("code_commit"), f.code_commit));
    }
    if text("hyperparams_hash") != f.hyperparameters_sha256.to_hex() {
        diffs.push("hyperparameters_sha256".to_string());
    }
    if text("run_log_hash") != f.run_log_sha256.to_hex() {
        diffs.push("run_log_sha256".to_string());
    }
    let on_ledger: Vec<String> = record["datasets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{}@{}", d["dataset"].as_str().unwrap_or_default(), d["version"]))
        .collect();
    let mut in_file = f.datasets.clone();
    in_file.sort();
    let mut ledger_sorted = on_ledger.clone();
    ledger_sorted.sort();
    if ledger_sorted != in_file {
        diffs.push(format!("datasets {ledger_sorted:?} on the ledger, {in_file:?} in the file"));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        bail!("run {} is already on the ledger with different fields: {}", f.run, diffs.join("; "))
    }
}
