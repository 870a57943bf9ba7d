//! `verity validators`: the validator set, and changing it.
//!
//! A change is a file passed between organisations: one admin writes it (`propose`),
//! each approving admin signs it with their own key (`approve`, offline), and anyone
//! submits it once admins of more than two thirds of the organisations have signed
//! (`submit`). It takes effect at the start of its epoch, after the last block of the
//! epoch before it; it must be on the ledger before that block.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_client::Client;
use verity_types::{Action, Approval, ChangeValidators, OrgId, PublicKey, ValidatorChange, ValidatorOp};

use crate::commands::{send, validators_for};
use crate::output::show;
use crate::Global;

#[derive(Subcommand)]
pub enum ValidatorsCmd {
    /// The current validator set, epoch and scheduled change, after verifying every
    /// set change since the trusted genesis offline.
    Show {
        /// Genesis file whose validators are trusted (default .verity/genesis.json).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Write a change for the next epoch (or --epoch) to a file for admins to approve.
    Propose {
        /// Add a validator: ORG=PUBLIC_KEY (hex).
        #[arg(long, value_name = "ORG=KEY")]
        add: Vec<String>,
        /// Remove the validator with this public key (hex).
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
        /// Replace a validator's key: OLD=NEW (hex).
        #[arg(long, value_name = "OLD=NEW")]
        rotate: Vec<String>,
        /// The epoch the change takes effect in (default: the next one).
        #[arg(long)]
        epoch: Option<u64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a change file as an org admin (key from the keystore) and add the approval.
    Approve {
        file: PathBuf,
        /// The approving admin's keystore entry.
        #[arg(long = "as")]
        signer: String,
    },
    /// Submit an approved change file (the transaction is signed by --as).
    Submit {
        file: PathBuf,
        #[arg(long = "as")]
        signer: String,
    },
}

/// A change file.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChangeFile {
    pub chain_id: String,
    pub change: ValidatorChange,
    pub approvals: Vec<Approval>,
}

fn read(path: &Path) -> Result<ChangeFile> {
    serde_json::from_str(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
        .with_context(|| format!("{} is not a change file", path.display()))
}

fn write(path: &Path, f: &ChangeFile) -> Result<()> {
    // Atomic: `approve` rewrites the file in place, and a crash must not lose the approvals.
    verity_client::durable::write_file(path, &serde_json::to_vec_pretty(f)?, verity_client::durable::MODE_PUBLIC)
        .with_context(|| format!("writing {}", path.display()))
}

fn key(s: &str) -> Result<PublicKey> {
    s.parse().map_err(|e| anyhow!("public key {s:?}: {e}"))
}

fn pair<'a>(s: &'a str, what: &str) -> Result<(&'a str, &'a str)> {
    s.split_once('=').ok_or_else(|| anyhow!("{what} {s:?} must look like A=B"))
}

fn describe(c: &ValidatorChange) -> Vec<String> {
    c.ops
        .iter()
        .map(|op| match op {
            ValidatorOp::Add { org, public_key } => format!("add {} of {org}", public_key.to_hex()),
            ValidatorOp::Remove { public_key } => format!("remove {}", public_key.to_hex()),
            ValidatorOp::Rotate { old, new } => format!("rotate {} to {}", old.to_hex(), new.to_hex()),
        })
        .collect()
}

pub async fn run(g: &Global, client: &Client, cmd: ValidatorsCmd) -> Result<()> {
    match cmd {
        ValidatorsCmd::Show { genesis } => {
            let lc = validators_for(client, genesis.as_ref()).await?;
            let v = client.validators().await?;
            let mut rows = vec![
                ("height", v.height.to_string()),
                ("epoch", format!("{} (epochs of {} blocks)", v.epoch, v.epoch_length)),
                ("set changes verified", (lc.sets().len() - 1).to_string()),
                ("validator set hash", v.validator_set_hash.clone()),
            ];
            for x in &v.validators {
                rows.push(("validator", format!("{} {} ({} equivocations)", x.org, x.public_key, x.equivocations)));
            }
            if let Some(s) = &v.scheduled {
                rows.push(("scheduled", serde_json::to_string(&s.change)?));
            }
            show(g.json, &json!({"verified_changes": lc.sets().len() - 1, "validators": v}), rows);
            Ok(())
        }
        ValidatorsCmd::Propose { add, remove, rotate, epoch, out } => {
            let mut ops = Vec::new();
            for a in &add {
                let (org, k) = pair(a, "--add")?;
                ops.push(ValidatorOp::Add { org: OrgId::new(org)?, public_key: key(k)? });
            }
            for r in &remove {
                ops.push(ValidatorOp::Remove { public_key: key(r)? });
            }
            for r in &rotate {
                let (old, new) = pair(r, "--rotate")?;
                ops.push(ValidatorOp::Rotate { old: key(old)?, new: key(new)? });
            }
            let genesis = client.genesis().await?;
            if genesis.epoch_length == 0 {
                bail!("this chain has no epochs: its validator set is fixed at genesis");
            }
            let epoch = match epoch {
                Some(e) => e,
                None => client.validators().await?.epoch + 1,
            };
            let change = ValidatorChange { epoch, ops };
            change.validate()?;
            if out.exists() {
                bail!("{} exists: refusing to overwrite it", out.display());
            }
            write(&out, &ChangeFile { chain_id: genesis.chain_id, change: change.clone(), approvals: vec![] })?;
            let mut rows = vec![("file", out.display().to_string()), ("epoch", epoch.to_string())];
            rows.extend(describe(&change).into_iter().map(|d| ("change", d)));
            show(g.json, &json!({"file": out, "change": change}), rows);
            Ok(())
        }
        ValidatorsCmd::Approve { file, signer } => {
            let mut f = read(&file)?;
            f.change.validate()?;
            let ks = crate::commands::open_keystore(g)?;
            let (account, secret) = ks.find(&signer)?;
            let approval = f.change.approve(&f.chain_id, account.clone(), &secret);
            f.approvals.retain(|a| a.account != account);
            f.approvals.push(approval);
            write(&file, &f)?;
            let mut rows = vec![("approved by", account.to_string()), ("approvals", f.approvals.len().to_string())];
            rows.extend(describe(&f.change).into_iter().map(|d| ("change", d)));
            show(g.json, &json!({"approved_by": account, "approvals": f.approvals.len()}), rows);
            Ok(())
        }
        ValidatorsCmd::Submit { file, signer } => {
            let f = read(&file)?;
            let genesis = client.genesis().await?;
            if genesis.chain_id != f.chain_id {
                bail!("the change is for chain {:?}, the node runs {:?}", f.chain_id, genesis.chain_id);
            }
            send(
                g,
                client,
                &signer,
                Action::ChangeValidators(ChangeValidators { change: f.change, approvals: f.approvals }),
            )
            .await
        }
    }
}
