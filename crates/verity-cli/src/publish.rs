//! `verity model publish`: fingerprint, sign and register a trained model and its
//! training run in one idempotent step, for CI pipelines.
//!
//! The run file (`RUN.json`, written by `verity train --run-out` or by any pipeline) is
//! documented in docs/AI.md. Publishing again with the same model files and run does
//! nothing and succeeds, printing the version already on the ledger; publishing other
//! files under a run id that the ledger holds with different fields fails.
//!
//! Fingerprinting and signing (verity-oms, with a progress bar) happen here; the ledger
//! steps are `verity_client::sdk::model::publish`'s.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::json;
use verity_client::sdk::model::{self, ModelPublication, RunFile};
use verity_client::sdk::Signer;
use verity_client::Client;
use verity_oms::oms::{self, SigningKey};
use verity_types::{Hash, ModelId};

use crate::model::{with_progress, HashingArgs};
use crate::output::show;
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

pub fn run(g: &Global, a: PublishArgs) -> Result<()> {
    let run_file = RunFile::read(&a.run)?;
    // Everything the ledger steps need is checked before the (slow) fingerprinting.
    run_file.check().with_context(|| format!("run file {}", a.run.display()))?;
    let model_id = ModelId::new(&a.model)?;
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

    // 2. The model, its run and the version, on the ledger.
    let publication = ModelPublication {
        model: model_id,
        description: a.description.clone(),
        fingerprint,
        run: run_file,
        provider_signer: a.provider_signer.clone(),
    };
    let mut signer = Signer::new(Client::new(&g.node), ks);
    let rt = crate::commands::runtime()?;
    let done = rt.block_on(model::publish(&mut signer, &a.signer, &publication))?;
    let out = Published {
        model: done.model.to_string(),
        version: done.version,
        reference: done.reference().to_string(),
        fingerprint: done.fingerprint.to_string(),
        run: done.run.to_string(),
        signature: sig_path.display().to_string(),
        already_published: done.already_published,
        registered_model: done.registered_model,
        registered_run: done.registered_run,
    };
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
