//! `verity gov`, `verity stake`, `verity treasury`, `verity rewards` and `verity
//! council`: the consortium's proposals and votes, stake, the treasury, reward streams
//! and the emergency council. Each command signs one transaction with `--as` (see
//! `commands::send`) or reads the node's governance endpoints.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use verity_client::Client;
use verity_types::{
    AccountId, Action, Allowlist, AssetId, AttachAnalysis, Bond, CancelProposal, ClaimRewards, CouncilAct,
    ExecuteProposal, FundTreasury, GenesisAccount, Hash, ModelVersionRef, Motion, OrgId, Program, ProposalAction,
    Propose, Ratify, RecipientShare, Recipients, Role, StakeScope, StreamId, Unbond, ValidatorChange, ValidatorOp,
    Veto, Vote, VoteChoice, Withdraw,
};

use crate::commands::send;
use crate::output::show;
use crate::Global;

#[derive(Subcommand)]
pub enum GovCmd {
    /// Propose a change; the proposal's id is the transaction's hash.
    Propose {
        #[command(flatten)]
        common: ProposeArgs,
        #[command(subcommand)]
        kind: ProposeKind,
    },
    /// Cast your organisation's vote (an org admin), during the voting period.
    Vote {
        proposal: Hash,
        /// yes, no or abstain.
        choice: VoteChoice,
        #[arg(long = "as")]
        signer: String,
    },
    /// Veto for your organisation (an org admin), during the cooling-off.
    Veto {
        proposal: Hash,
        #[arg(long = "as")]
        signer: String,
    },
    /// Ratify a proposal whose kind needs it (an account with the ratifier role).
    Ratify {
        proposal: Hash,
        #[arg(long = "as")]
        signer: String,
    },
    /// Execute a passed, ratified proposal after its execution height (the ledger
    /// executes it itself when the block at that height ends, if nothing is missing).
    Execute {
        proposal: Hash,
        #[arg(long = "as")]
        signer: String,
    },
    /// Withdraw your own proposal before voting ends.
    Cancel {
        proposal: Hash,
        #[arg(long = "as")]
        signer: String,
    },
    /// A proposal with its tally, phase and each analysis's model lineage; without an id,
    /// the constitution, members, parameters and treasury.
    Show { proposal: Option<Hash> },
    /// Proposals, newest first.
    List {
        /// Only proposals numbered below this (the previous page's `next`).
        #[arg(long)]
        before: Option<u64>,
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Attach an analysis of a proposal, made by a registered model version (advisory:
    /// never a vote). Records the summary's SHA-256, where it is kept, and a salted
    /// commitment to the prompt (the salt is printed: keep it to reveal the prompt).
    Analyse {
        proposal: Hash,
        /// The model version that produced the analysis: NAME@VERSION.
        #[arg(long)]
        model: ModelVersionRef,
        /// The analysis's text.
        #[arg(long)]
        summary: PathBuf,
        /// Where the text is kept for others (a URI or path; default: --summary's path).
        #[arg(long)]
        location: Option<String>,
        /// The prompt given to the model.
        #[arg(long)]
        prompt: PathBuf,
        #[arg(long = "as")]
        signer: String,
    },
}

#[derive(Args)]
pub struct ProposeArgs {
    #[arg(long = "as")]
    signer: String,
    /// A short title.
    #[arg(long)]
    title: String,
    /// A file with the proposal's full text: the ledger records its SHA-256.
    #[arg(long)]
    text: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ProposeKind {
    /// Set a registry parameter (see `verity gov show` for names and bounds).
    Param { name: String, value: u128 },
    /// Admit an organisation with its first admins.
    AdmitOrg {
        org: OrgId,
        #[arg(long)]
        name: String,
        /// An admin account: ID=PUBLIC_KEY (hex); repeatable.
        #[arg(long = "admin", value_name = "ID=KEY", required = true)]
        admins: Vec<String>,
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Remove a member organisation.
    RemoveOrg { org: OrgId },
    /// Change the validator set at the start of an epoch (the next one after execution).
    Validators {
        /// The epoch it takes effect in.
        #[arg(long)]
        epoch: u64,
        /// Add a validator: ORG=PUBLIC_KEY (hex).
        #[arg(long, value_name = "ORG=KEY")]
        add: Vec<String>,
        /// Remove the validator with this public key (hex).
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
    },
    /// Pay from the treasury.
    Spend {
        to: AccountId,
        amount: u128,
        #[arg(long)]
        asset: AssetId,
    },
    /// Create a reward stream funded from the treasury.
    CreateStream {
        stream: StreamId,
        #[arg(long)]
        asset: AssetId,
        #[arg(long)]
        per_epoch: u128,
        #[arg(long)]
        budget: u128,
        /// Pay every staker of this program in proportion to its bonded stake.
        #[arg(long, conflicts_with = "recipient")]
        stakers: Option<Program>,
        /// Pay this account: ACCOUNT=WEIGHT; repeatable.
        #[arg(long, value_name = "ACCOUNT=WEIGHT")]
        recipient: Vec<String>,
    },
    /// Pause a reward stream.
    PauseStream { stream: StreamId },
    /// Resume a paused reward stream.
    ResumeStream { stream: StreamId },
    /// Set who may join a program (no --org and no --role opens it again).
    Allowlist {
        program: Program,
        #[arg(long = "org")]
        orgs: Vec<OrgId>,
        #[arg(long = "role")]
        roles: Vec<Role>,
    },
}

#[derive(Subcommand)]
pub enum StakeCmd {
    /// Bond stake on a scope: validator:KEYHEX, dataset:NAME@VERSION or program:NAME.
    Bond {
        scope: StakeScope,
        amount: u128,
        #[arg(long = "as")]
        signer: String,
    },
    /// Start unbonding (withdrawable after the unbond_delay parameter; slashable until then).
    Unbond {
        scope: StakeScope,
        amount: u128,
        #[arg(long = "as")]
        signer: String,
    },
    /// Move matured unbonding stake back to your balance.
    Withdraw {
        scope: StakeScope,
        #[arg(long = "as")]
        signer: String,
    },
    /// An account's positions, rewards owed and reputation.
    Show { account: AccountId },
}

#[derive(Subcommand)]
pub enum TreasuryCmd {
    /// Pay into the treasury from your balance.
    Fund {
        amount: u128,
        #[arg(long)]
        asset: AssetId,
        #[arg(long = "as")]
        signer: String,
    },
}

#[derive(Subcommand)]
pub enum RewardsCmd {
    /// Every reward stream.
    List,
    /// Claim what a stream owes you.
    Claim {
        stream: StreamId,
        #[arg(long = "as")]
        signer: String,
    },
}

#[derive(Subcommand)]
pub enum CouncilCmd {
    /// Approve pausing a stream; it pauses once the council's threshold approved.
    Pause {
        stream: StreamId,
        #[arg(long = "as")]
        signer: String,
    },
    /// Approve resuming a stream.
    Resume {
        stream: StreamId,
        #[arg(long = "as")]
        signer: String,
    },
}

fn pair<'a>(s: &'a str, what: &str) -> Result<(&'a str, &'a str)> {
    s.split_once('=').ok_or_else(|| anyhow!("{what} {s:?} must look like A=B"))
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn proposal_action(kind: ProposeKind) -> Result<ProposalAction> {
    Ok(match kind {
        ProposeKind::Param { name, value } => ProposalAction::SetParameter { name, value },
        ProposeKind::AdmitOrg { org, name, admins, weight } => {
            let admins = admins
                .iter()
                .map(|a| {
                    let (id, key) = pair(a, "--admin")?;
                    Ok(GenesisAccount {
                        id: AccountId::new(id)?,
                        public_key: key.parse().map_err(|e| anyhow!("public key {key:?}: {e}"))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ProposalAction::AdmitOrg { org, name, admins, weight }
        }
        ProposeKind::RemoveOrg { org } => ProposalAction::RemoveOrg { org },
        ProposeKind::Validators { epoch, add, remove } => {
            let mut ops = Vec::new();
            for a in &add {
                let (org, key) = pair(a, "--add")?;
                ops.push(ValidatorOp::Add {
                    org: OrgId::new(org)?,
                    public_key: key.parse().map_err(|e| anyhow!("public key {key:?}: {e}"))?,
                });
            }
            for r in &remove {
                ops.push(ValidatorOp::Remove { public_key: r.parse().map_err(|e| anyhow!("public key {r:?}: {e}"))? });
            }
            ProposalAction::ChangeValidators { change: ValidatorChange { epoch, ops } }
        }
        ProposeKind::Spend { to, amount, asset } => ProposalAction::TreasurySpend { to, asset, amount },
        ProposeKind::CreateStream { stream, asset, per_epoch, budget, stakers, recipient } => {
            let recipients = match stakers {
                Some(program) => Recipients::Stakers { program },
                None if recipient.is_empty() => bail!("give --stakers PROGRAM or --recipient ACCOUNT=WEIGHT"),
                None => Recipients::Accounts {
                    shares: recipient
                        .iter()
                        .map(|r| {
                            let (a, w) = pair(r, "--recipient")?;
                            Ok(RecipientShare { account: AccountId::new(a)?, weight: w.parse()? })
                        })
                        .collect::<Result<Vec<_>>>()?,
                },
            };
            ProposalAction::CreateStream { stream, asset, per_epoch, budget, recipients }
        }
        ProposeKind::PauseStream { stream } => ProposalAction::PauseStream { stream },
        ProposeKind::ResumeStream { stream } => ProposalAction::ResumeStream { stream },
        ProposeKind::Allowlist { program, orgs, roles } => {
            ProposalAction::SetAllowlist { program, allowlist: Allowlist { orgs, roles } }
        }
    })
}

pub async fn run_gov(g: &Global, client: &Client, cmd: GovCmd) -> Result<()> {
    match cmd {
        GovCmd::Propose { common, kind } => {
            let summary_hash = match &common.text {
                Some(path) => verity_types::sha256(&read(path)?),
                None => Hash::ZERO,
            };
            let action = proposal_action(kind)?;
            action.validate()?;
            send(g, client, &common.signer, Action::Propose(Propose { title: common.title, summary_hash, action }))
                .await
        }
        GovCmd::Vote { proposal, choice, signer } => {
            send(g, client, &signer, Action::Vote(Vote { proposal, choice })).await
        }
        GovCmd::Veto { proposal, signer } => send(g, client, &signer, Action::Veto(Veto { proposal })).await,
        GovCmd::Ratify { proposal, signer } => send(g, client, &signer, Action::Ratify(Ratify { proposal })).await,
        GovCmd::Execute { proposal, signer } => {
            send(g, client, &signer, Action::ExecuteProposal(ExecuteProposal { proposal })).await
        }
        GovCmd::Cancel { proposal, signer } => {
            send(g, client, &signer, Action::CancelProposal(CancelProposal { proposal })).await
        }
        GovCmd::Show { proposal: Some(id) } => {
            let t = client.proposal(&id).await?;
            let p = &t.proposal;
            let r = &p.proposal;
            let mut rows = vec![
                ("proposal", r.id.to_hex()),
                ("title", r.title.clone()),
                ("kind", r.rule.kind.name().to_string()),
                ("action", serde_json::to_string(&r.action)?),
                ("proposer", format!("{} of {}", r.proposer, r.org)),
                ("phase", format!("{} at height {}", p.phase, p.height)),
                ("voting ends", r.voting_end.to_string()),
                ("executes at", r.execute_at.to_string()),
                (
                    "tally",
                    format!(
                        "yes {} no {} abstain {} veto {} of {} (carried: {}, vetoed: {})",
                        p.tally.yes, p.tally.no, p.tally.abstain, p.tally.veto, p.tally.total, p.carried, p.vetoed
                    ),
                ),
                ("ratifications", format!("{} of {}", r.ratifications.len(), r.rule.ratifications)),
            ];
            for a in &t.analyses {
                let upstream = a.lineage.as_ref().map_or(0, |l| l.upstream.len());
                rows.push((
                    "analysis",
                    format!(
                        "by {} with {} ({} upstream records), summary {} at {}",
                        a.analysis.by, a.analysis.model, upstream, a.analysis.summary_hash, a.analysis.location
                    ),
                ));
            }
            show(g.json, &t, rows);
            Ok(())
        }
        GovCmd::Show { proposal: None } => {
            let v = client.governance().await?;
            let mut rows = vec![("height", v.height.to_string()), ("proposals", v.proposals.to_string())];
            for m in &v.members {
                rows.push(("member", format!("{} (weight {})", m.org, m.weight)));
            }
            for o in &v.removed {
                rows.push(("removed", o.to_string()));
            }
            for p in &v.params {
                rows.push(("parameter", format!("{} = {} ({:?}, {}..={})", p.name, p.value, p.kind, p.min, p.max)));
            }
            for t in &v.treasury {
                rows.push(("treasury", format!("{} {}", t.amount, t.asset)));
            }
            show(g.json, &v, rows);
            Ok(())
        }
        GovCmd::List { before, limit } => {
            let l = client.proposals(before, limit).await?;
            let mut rows = vec![("proposals", l.count.to_string())];
            for p in &l.proposals {
                rows.push((
                    "proposal",
                    format!(
                        "{} {} [{}] {}",
                        p.proposal.id.to_hex(),
                        p.proposal.rule.kind.name(),
                        p.phase,
                        p.proposal.title
                    ),
                ));
            }
            if let Some(n) = l.next {
                rows.push(("next page", format!("--before {n}")));
            }
            show(g.json, &l, rows);
            Ok(())
        }
        GovCmd::Analyse { proposal, model, summary, location, prompt, signer } => {
            let summary_hash = verity_types::sha256(&read(&summary)?);
            let mut salt = [0u8; 32];
            getrandom::fill(&mut salt).map_err(|e| anyhow!("drawing a salt: {e}"))?;
            let prompt_commitment = verity_types::prompt_commitment(&salt, &read(&prompt)?);
            let location = location.unwrap_or_else(|| summary.display().to_string());
            let action =
                Action::AttachAnalysis(AttachAnalysis { proposal, summary_hash, location, model, prompt_commitment });
            let r = crate::commands::send_with(g, client, &signer, action, false).await?;
            let rows = vec![
                ("hash", r.hash.clone().unwrap_or_default()),
                ("summary sha256", summary_hash.to_hex()),
                ("prompt commitment", prompt_commitment.to_hex()),
                ("prompt salt (keep it to reveal the prompt)", hex::encode(salt)),
            ];
            show(
                g.json,
                &json!({"result": r, "summary_hash": summary_hash, "prompt_commitment": prompt_commitment,
                        "prompt_salt": hex::encode(salt)}),
                rows,
            );
            Ok(())
        }
    }
}

pub async fn run_stake(g: &Global, client: &Client, cmd: StakeCmd) -> Result<()> {
    match cmd {
        StakeCmd::Bond { scope, amount, signer } => {
            send(g, client, &signer, Action::Bond(Bond { scope, amount })).await
        }
        StakeCmd::Unbond { scope, amount, signer } => {
            send(g, client, &signer, Action::Unbond(Unbond { scope, amount })).await
        }
        StakeCmd::Withdraw { scope, signer } => send(g, client, &signer, Action::Withdraw(Withdraw { scope })).await,
        StakeCmd::Show { account } => {
            let v = client.stake(&account).await?;
            let mut rows = vec![("account", v.account.clone()), ("height", v.height.to_string())];
            for p in &v.positions {
                let unbonding = p.unbonding.iter().fold(0u128, |acc, u| acc.saturating_add(u.amount));
                rows.push((
                    "position",
                    format!("{}: bonded {}, unbonding {}, slashed {}", p.scope, p.bonded, unbonding, p.slashed),
                ));
            }
            for o in &v.owed {
                rows.push((
                    "owed",
                    format!(
                        "{} {} by stream {}{}",
                        o.amount,
                        o.asset,
                        o.stream,
                        if o.paused { " (paused)" } else { "" }
                    ),
                ));
            }
            let r = &v.reputation;
            rows.push((
                "reputation",
                format!(
                    "jobs served {}, disputes lost {}, challenges upheld {} rejected {} lost {}, slashes {} ({})",
                    r.jobs_served,
                    r.disputes_lost,
                    r.challenges_upheld,
                    r.challenges_rejected,
                    r.challenges_lost,
                    r.slashes,
                    r.slashed
                ),
            ));
            rows.push(("reputation state key", v.reputation_key.clone()));
            show(g.json, &v, rows);
            Ok(())
        }
    }
}

pub async fn run_treasury(g: &Global, client: &Client, cmd: TreasuryCmd) -> Result<()> {
    match cmd {
        TreasuryCmd::Fund { amount, asset, signer } => {
            send(g, client, &signer, Action::FundTreasury(FundTreasury { asset, amount })).await
        }
    }
}

pub async fn run_rewards(g: &Global, client: &Client, cmd: RewardsCmd) -> Result<()> {
    match cmd {
        RewardsCmd::List => {
            let v = client.streams().await?;
            let mut rows = vec![("height", v.height.to_string())];
            for s in &v.streams {
                rows.push((
                    "stream",
                    format!(
                        "{}: {} {} per epoch, pool {}, accrued {}, paid {}{}",
                        s.id,
                        s.per_epoch,
                        s.asset,
                        s.pool,
                        s.accrued,
                        s.paid,
                        if s.paused { " (paused)" } else { "" }
                    ),
                ));
            }
            show(g.json, &v, rows);
            Ok(())
        }
        RewardsCmd::Claim { stream, signer } => {
            send(g, client, &signer, Action::ClaimRewards(ClaimRewards { stream })).await
        }
    }
}

pub async fn run_council(g: &Global, client: &Client, cmd: CouncilCmd) -> Result<()> {
    let (motion, signer) = match cmd {
        CouncilCmd::Pause { stream, signer } => (Motion::PauseStream { stream }, signer),
        CouncilCmd::Resume { stream, signer } => (Motion::ResumeStream { stream }, signer),
    };
    send(g, client, &signer, Action::CouncilAct(CouncilAct { motion })).await
}
