//! `verity content ...`: register content by the SHA-256 of its bytes, opt it out of
//! training, withdraw opt-outs, and settle disputes over who registered it. Registering
//! content another organisation already registered opens a dispute holding both claims.
//!
//! Also holds the helper the provenance commands share: submitting one signed action
//! while keeping its receipt for the caller to print.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use verity_client::http::TxResult;
use verity_client::sdk::dataset::hash_file;
use verity_client::sdk::Signer;
use verity_client::Client;
use verity_types::{
    AccountId, Action, ContentDisputed, ContentId, Hash, Licence, OptOutContent, OptOutScope, PayoutShare,
    RegisterContent, ResolveContentDispute, WithdrawOptOut, PPM,
};

use crate::output::show;
use crate::Global;

#[derive(Subcommand)]
pub enum ContentCmd {
    /// Register content by the SHA-256 of a file (or of --hash), with its licence and payout split.
    Register(RegisterArgs),
    /// Opt registered content out of training (all, commercial, or under named licences).
    OptOut(OptOutArgs),
    /// Withdraw an opt-out (it stays on record, marked withdrawn).
    Withdraw {
        /// The opt-out id (the hash of the transaction that registered it).
        opt_out: String,
        #[command(flatten)]
        signer: SignerArg,
    },
    /// Settle a content dispute for one claimant (a neutral organisation's admin, or the
    /// other side conceding).
    Resolve {
        /// The dispute id (the hash of the transaction that opened it).
        dispute: String,
        /// The claimant whose registration stands.
        #[arg(long)]
        winner: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signer: SignerArg,
    },
}

/// The keystore key that signs (the existing commands call the same flag `--as`).
#[derive(Args, Clone)]
pub struct SignerArg {
    /// Signing key (name or account in the keystore).
    #[arg(long = "signer", visible_alias = "as", default_value = "admin")]
    pub signer: String,
}

/// A piece of content named by a file (hashed) or directly by its SHA-256.
#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
pub struct ContentArg {
    /// The file whose SHA-256 names the content.
    pub path: Option<PathBuf>,
    /// The content's SHA-256 (64 hex digits) instead of a file.
    #[arg(long)]
    pub hash: Option<String>,
}

impl ContentArg {
    /// The content id, hashing the file if one was given.
    pub fn resolve(&self) -> Result<ContentId> {
        match (&self.path, &self.hash) {
            (Some(p), None) => Ok(hash_file(p, |_| {})?.0),
            (None, Some(h)) => h.parse().with_context(|| format!("--hash {h:?}")),
            _ => bail!("give either a PATH or --hash HEX"),
        }
    }
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub content: ContentArg,
    /// Media type; default: guessed from the file's extension.
    #[arg(long)]
    pub media_type: Option<String>,
    /// An SPDX licence identifier (e.g. CC-BY-4.0) or custom:<sha256 of the terms>.
    #[arg(long)]
    pub licence: String,
    /// Payout split, repeatable: --payout alice=600000 --payout bob=400000 (parts per
    /// million, adding up to 1000000). Default: the signer's account gets everything.
    #[arg(long = "payout")]
    pub payout: Vec<String>,
    #[command(flatten)]
    pub signer: SignerArg,
}

#[derive(Args)]
pub struct OptOutArgs {
    #[command(flatten)]
    pub content: ContentArg,
    /// all | commercial | licences:L1,L2
    #[arg(long)]
    pub scope: String,
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub signer: SignerArg,
}

/// Guesses a media type from a file extension (a small table of common training data;
/// anything else is `application/octet-stream`).
pub fn guess_media_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "pdf" => "application/pdf",
        "parquet" => "application/vnd.apache.parquet",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "tif" | "tiff" => "image/tiff",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
}

/// Parses a licence argument, naming the flag in the error.
pub fn parse_licence(s: &str) -> Result<Licence> {
    s.parse::<Licence>().with_context(|| format!("licence {s:?} (an SPDX id such as MIT, or custom:<sha256>)"))
}

/// Parses `all`, `commercial` or `licences:L1,L2` (sorted and deduplicated, as the ledger
/// requires).
pub fn parse_scope(s: &str) -> Result<OptOutScope> {
    let scope = match s {
        "all" => OptOutScope::AllTraining,
        "commercial" => OptOutScope::CommercialTraining,
        _ => {
            let list = s
                .strip_prefix("licences:")
                .or_else(|| s.strip_prefix("licenses:"))
                .ok_or_else(|| anyhow!("scope {s:?} must be all, commercial or licences:L1,L2"))?;
            let mut ls = list
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(parse_licence)
                .collect::<Result<Vec<_>>>()?;
            ls.sort();
            ls.dedup();
            if ls.is_empty() {
                bail!("scope {s:?} names no licence");
            }
            OptOutScope::Licences(ls)
        }
    };
    scope.validate().with_context(|| format!("scope {s:?}"))?;
    Ok(scope)
}

/// Parses `--payout acct=ppm` arguments into the sorted split the ledger requires.
pub fn parse_payout(args: &[String], signer: &AccountId) -> Result<Vec<PayoutShare>> {
    if args.is_empty() {
        return Ok(vec![PayoutShare { account: signer.clone(), share_ppm: PPM as u32 }]);
    }
    let mut out = args
        .iter()
        .map(|s| {
            let (a, n) = s.split_once('=').ok_or_else(|| anyhow!("payout {s:?} must look like account=ppm"))?;
            let share_ppm: u32 = n.parse().with_context(|| format!("share in payout {s:?} (parts per million)"))?;
            Ok(PayoutShare { account: AccountId::new(a)?, share_ppm })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.account.cmp(&b.account));
    verity_types::check_payout(&out).context("payout")?;
    Ok(out)
}

/// Signs `action` as `signer` (next nonce from the node), submits it, waits for the
/// commit, and returns the result; fails with the ledger's error code and message if
/// the action was refused or is not committed ([`Signer::submit_committed`]).
pub async fn submit(g: &Global, client: &Client, signer: &str, action: Action) -> Result<TxResult> {
    let mut s = Signer::new(client.clone(), crate::commands::open_keystore(g)?);
    Ok(s.submit_committed(signer, action).await?)
}

/// The transaction result as JSON with `extra` fields merged in at the top level, so a
/// script reads `status` and `hash` as for every other signing command.
pub fn result_json(r: &TxResult, extra: Value) -> Value {
    let mut v = serde_json::to_value(r).expect("a transaction result always serialises");
    if let (Value::Object(out), Value::Object(more)) = (&mut v, extra) {
        out.extend(more);
    }
    v
}

/// The standard rows of a committed transaction: hash, height, events.
pub fn result_rows(r: &TxResult) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("tx", r.hash.clone().unwrap_or_default()),
        ("height", r.height.map(|h| h.to_string()).unwrap_or_default()),
    ];
    for ev in r.receipt.iter().flat_map(|rc| &rc.events) {
        rows.push(("event", serde_json::to_string(ev).unwrap_or_default()));
    }
    rows
}

/// The account a keystore key signs for.
pub fn signer_account(g: &Global, signer: &str) -> Result<AccountId> {
    Ok(crate::commands::open_keystore(g)?.find(signer)?.0)
}

pub async fn run(g: &Global, client: &Client, cmd: ContentCmd) -> Result<()> {
    match cmd {
        ContentCmd::Register(a) => {
            let content = a.content.resolve()?;
            let media_type = match (&a.media_type, &a.content.path) {
                (Some(t), _) => t.clone(),
                (None, Some(p)) => guess_media_type(p).to_string(),
                (None, None) => "application/octet-stream".to_string(),
            };
            let licence = parse_licence(&a.licence)?;
            let creator = signer_account(g, &a.signer.signer)?;
            let payout = parse_payout(&a.payout, &creator)?;
            let payout_text =
                payout.iter().map(|p| format!("{}={}", p.account, p.share_ppm)).collect::<Vec<_>>().join(", ");
            let action = Action::RegisterContent(RegisterContent {
                content,
                media_type: media_type.clone(),
                licence: licence.clone(),
                payout,
            });
            let r = submit(g, client, &a.signer.signer, action).await?;
            // Content another organisation registered first: this claim opened (or joined)
            // a dispute instead of registering it.
            let dispute = r.receipt.iter().flat_map(|rc| &rc.events).find_map(|e| match e {
                verity_types::Event::ContentDisputed(ContentDisputed { dispute, .. }) => Some(*dispute),
                _ => None,
            });
            let mut rows = vec![
                ("content", content.to_hex()),
                ("media type", media_type.clone()),
                ("licence", licence.to_string()),
                ("creator", creator.to_string()),
                ("payout (ppm)", payout_text),
            ];
            if let Some(d) = dispute {
                rows.push(("disputed", format!("already registered by another organisation: dispute {d}")));
            }
            rows.extend(result_rows(&r));
            show(
                g.json,
                &result_json(
                    &r,
                    json!({"content": content, "media_type": media_type, "licence": licence,
                                        "creator": creator, "dispute": dispute}),
                ),
                rows,
            );
            Ok(())
        }
        ContentCmd::OptOut(a) => {
            let content = a.content.resolve()?;
            let scope = parse_scope(&a.scope)?;
            let action = Action::OptOut(OptOutContent { content, scope: scope.clone(), reason: a.reason.clone() });
            let r = submit(g, client, &a.signer.signer, action).await?;
            let id = r.hash.clone().unwrap_or_default();
            let mut rows = vec![
                ("opt-out", id.clone()),
                ("content", content.to_hex()),
                ("scope", a.scope.clone()),
                ("withdraw with", format!("verity content withdraw {id}")),
            ];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"opt_out": id, "content": content, "scope": scope})), rows);
            Ok(())
        }
        ContentCmd::Withdraw { opt_out, signer } => {
            let id: Hash = opt_out.parse().with_context(|| format!("opt-out id {opt_out:?}"))?;
            let r = submit(g, client, &signer.signer, Action::WithdrawOptOut(WithdrawOptOut { opt_out: id })).await?;
            let mut rows = vec![("withdrawn opt-out", id.to_hex())];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"opt_out": id, "withdrawn": true})), rows);
            Ok(())
        }
        ContentCmd::Resolve { dispute, winner, reason, signer } => {
            let id: Hash = dispute.parse().with_context(|| format!("dispute id {dispute:?}"))?;
            let winner = AccountId::new(&winner).with_context(|| format!("--winner {winner:?}"))?;
            let action =
                Action::ResolveContentDispute(ResolveContentDispute { dispute: id, winner: winner.clone(), reason });
            let r = submit(g, client, &signer.signer, action).await?;
            let mut rows = vec![("dispute", id.to_hex()), ("winner", winner.to_string())];
            rows.extend(result_rows(&r));
            show(g.json, &result_json(&r, json!({"dispute": id, "winner": winner})), rows);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_payouts_media_types() {
        assert_eq!(parse_scope("all").expect("all"), OptOutScope::AllTraining);
        assert_eq!(parse_scope("commercial").expect("c"), OptOutScope::CommercialTraining);
        let ls = parse_scope("licences:MIT,CC-BY-4.0,MIT").expect("licences");
        assert_eq!(ls, OptOutScope::Licences(vec![Licence::Spdx("CC-BY-4.0".into()), Licence::Spdx("MIT".into())]));
        for bad in ["", "everything", "licences:", "licences:not a licence"] {
            assert!(parse_scope(bad).is_err(), "{bad}");
        }
        let me = AccountId::new("carol").expect("id");
        assert_eq!(
            parse_payout(&[], &me).expect("default"),
            vec![PayoutShare { account: me.clone(), share_ppm: 1_000_000 }]
        );
        let p = parse_payout(&["zed=400000".into(), "amy=600000".into()], &me).expect("split");
        assert_eq!(p[0].account.as_str(), "amy", "sorted by account");
        assert!(parse_payout(&["amy=5".into()], &me).is_err(), "must add up to 1000000");
        assert!(parse_payout(&["amy".into()], &me).is_err());
        assert_eq!(guess_media_type(Path::new("a/b.PNG")), "image/png");
        assert_eq!(guess_media_type(Path::new("noext")), "application/octet-stream");
    }
}
