//! Governance: the constitution, the parameter registry's values, member organisations,
//! proposals (votes, vetoes, ratifications, analyses, execution), the emergency council
//! and the treasury. Stake and slashing are in [`stake`], reward streams in [`rewards`].
//!
//! | action | who may take it |
//! | --- | --- |
//! | `Propose` | an `org_admin` of a member organisation |
//! | `Vote` | an `org_admin` of an organisation that was a member when the proposal was made, once per organisation, until `voting_end` |
//! | `Veto` | as `Vote`, during the cooling-off |
//! | `Ratify` | a `ratifier` of an organisation that was a member when the proposal was made, other than the proposer's (unless it is the only member), once per organisation, once the vote carried |
//! | `ExecuteProposal` | any account, after the execution height, once nothing is missing |
//! | `CancelProposal` | the proposer, until voting ends |
//! | `AttachAnalysis` | any account (at most [`ANALYSES_PER_ORG_MAX`] per organisation and proposal) |
//! | `CouncilAct` | a member of the constitution's emergency council |
//! | `FundTreasury` | any account, from its own balance |
//!
//! A chain has governance when its genesis has a `governance` section; otherwise every
//! action here is refused with `governance_off`, and no other domain's rule changes (so
//! ledgers written before governance replay to the same roots).
//!
//! Proposals are decided by weight (one vote per organisation unless the constitution
//! weighs them), by the rule of their kind copied into the record when made. The ledger
//! executes a proposal itself when the block at its execution height ends, if the vote
//! carried, no veto stopped it and its ratifications are in; a proposal that still
//! misses ratifications then waits (`passed`) for them and an `ExecuteProposal` within
//! the rule's ratification window, and expires after it. An execution runs on its own
//! layer: a refused action is recorded as `failed` with its error, and nothing of it is
//! applied.

mod error;
pub mod keys;
pub mod rewards;
pub mod stake;
#[cfg(test)]
mod tests;

pub use error::GovernanceError;

use verity_types::{
    AccountId, AnalysisAttached, AttachAnalysis, CancelProposal, Constitution, CouncilAct, Event, ExecuteProposal,
    FundTreasury, Genesis, Hash, Motion, MotionApproved, MotionRecord, OrgId, OrgWeight, ProposalAction,
    ProposalCancelled, ProposalConcluded, ProposalCreated, ProposalStatus, Propose, Ratified, Ratify, Role, Signoff,
    TreasuryFunded, Veto, Vetoed, Vote, VoteCast, VoteRecord, ANALYSES_MAX, DEFAULT_WEIGHT,
};
pub use verity_types::{Proposal, Reputation};

use crate::bank;
use crate::consensus;
use crate::error::StateError;
use crate::exec::Ctx;
use crate::identity::{self, Account, Org};
use crate::provenance;
use crate::view::{read, Layer, StateRead};

/// Most analyses one organisation attaches to one proposal (so no organisation can fill
/// a proposal's [`ANALYSES_MAX`] slots and silence the others).
pub const ANALYSES_PER_ORG_MAX: usize = 4;

/// Most open proposals of one organisation: proposing costs only a transaction, and
/// every open proposal is read again when it is due, so no organisation may flood the
/// ledger with them.
pub const OPEN_PROPOSALS_PER_ORG_MAX: u32 = 16;

/// The holder of the treasury's funds.
pub fn treasury_account() -> AccountId {
    AccountId::system("treasury")
}

fn gov_err(e: GovernanceError) -> StateError {
    StateError::Governance(e)
}

/// The constitution, if the chain has governance.
pub fn constitution(state: &dyn StateRead) -> Option<Constitution> {
    read(state, keys::CONSTITUTION)
}

pub(crate) fn require_governance(state: &dyn StateRead) -> Result<Constitution, StateError> {
    constitution(state).ok_or(gov_err(GovernanceError::GovernanceOff))
}

/// The value of a registry parameter: set by genesis or a proposal, else its default.
///
/// # Panics
/// If `name` is not in [`verity_types::PARAMS`] (a caller's programming error).
pub fn param(state: &dyn StateRead, name: &str) -> u128 {
    let spec = verity_types::param_spec(name).unwrap_or_else(|| panic!("parameter {name} is not in the registry"));
    read(state, &keys::param(name)).unwrap_or(spec.default)
}

/// A parameter that is a number of blocks.
pub(crate) fn param_blocks(state: &dyn StateRead, name: &str) -> u64 {
    u64::try_from(param(state, name)).expect("block parameters are bounded by PERIOD_MAX")
}

/// The member organisations and their weights, sorted by organisation.
pub fn members(state: &dyn StateRead) -> Vec<OrgWeight> {
    read(state, keys::MEMBERS).unwrap_or_default()
}

/// Organisations removed by governance.
pub fn removed(state: &dyn StateRead) -> Vec<OrgId> {
    read(state, keys::REMOVED).unwrap_or_default()
}

/// The weight of a member organisation; refuses a non-member.
pub(crate) fn member_weight(state: &dyn StateRead, org: &OrgId) -> Result<u32, StateError> {
    match members(state).iter().find(|m| &m.org == org) {
        Some(m) => Ok(m.weight),
        None => Err(gov_err(GovernanceError::NotAMember { org: org.clone(), removed: removed(state).contains(org) })),
    }
}

/// The height at which governance admitted an organisation (absent for genesis members).
pub fn admitted_at(state: &dyn StateRead, org: &OrgId) -> Option<u64> {
    read(state, &keys::admitted(org))
}

/// The weight with which the sender's organisation counts on `p`: it must be a member
/// now, and have been one when `p` was made (the proposal's total weight is the
/// members' total then, so a later member's weight would count against nothing).
fn counted_weight(layer: &Layer<'_>, sender: &Account, p: &Proposal) -> Result<u32, StateError> {
    let weight = member_weight(layer, &sender.org)?;
    if let Some(admitted) = admitted_at(layer, &sender.org) {
        if admitted >= p.height {
            return Err(gov_err(GovernanceError::AdmittedAfter {
                org: sender.org.clone(),
                admitted,
                proposal: p.id,
                proposed: p.height,
            }));
        }
    }
    Ok(weight)
}

fn total_weight(members: &[OrgWeight]) -> u64 {
    members.iter().map(|m| u64::from(m.weight)).sum()
}

/// A proposal by id.
pub fn proposal(state: &dyn StateRead, id: &Hash) -> Option<Proposal> {
    read(state, &keys::proposal(id))
}

/// How many proposals exist (their sequence numbers are `0..count`).
pub fn proposal_count(state: &dyn StateRead) -> u64 {
    read(state, keys::PROPOSAL_COUNT).unwrap_or(0)
}

/// The id of proposal number `sequence`.
pub fn proposal_id(state: &dyn StateRead, sequence: u64) -> Option<Hash> {
    read(state, &keys::proposal_seq(sequence))
}

/// A council motion's current round of approvals.
pub fn motion(state: &dyn StateRead, id: &Hash) -> Option<MotionRecord> {
    read(state, &keys::motion(id))
}

/// An account's reputation (zeros when nothing was recorded).
pub fn reputation(state: &dyn StateRead, account: &AccountId) -> Reputation {
    read(state, &keys::reputation(account)).unwrap_or_default()
}

/// Updates an account's reputation (only on chains with governance, so chains without
/// it keep their roots).
pub(crate) fn update_reputation(layer: &mut Layer<'_>, account: &AccountId, f: impl FnOnce(&mut Reputation)) {
    if constitution(layer).is_none() {
        return;
    }
    let mut r = reputation(layer, account);
    f(&mut r);
    layer.put(keys::reputation(account), &r);
}

/// The governance records of the genesis state: the constitution, every genesis
/// organisation as a member (with its weight), and the parameters it sets.
pub(crate) fn put_genesis(layer: &mut Layer<'_>, genesis: &Genesis) {
    let Some(c) = &genesis.governance else { return };
    layer.put(keys::CONSTITUTION.to_vec(), c);
    let mut members: Vec<OrgWeight> = genesis
        .orgs
        .iter()
        .map(|o| OrgWeight {
            org: o.id.clone(),
            weight: c.weights.iter().find(|w| w.org == o.id).map_or(DEFAULT_WEIGHT, |w| w.weight),
        })
        .collect();
    members.sort_by(|a, b| a.org.cmp(&b.org));
    layer.put(keys::MEMBERS.to_vec(), &members);
    for p in &c.params {
        layer.put(keys::param(&p.name), &p.value);
    }
}

/// Refuses unless the sender is an `org_admin` of a member organisation; returns its
/// organisation's weight.
fn require_member_admin(layer: &Layer<'_>, sender: &Account, action: &'static str) -> Result<u32, StateError> {
    identity::require_role(sender, Role::OrgAdmin, action)?;
    member_weight(layer, &sender.org)
}

fn existing_proposal(layer: &Layer<'_>, id: &Hash) -> Result<Proposal, StateError> {
    proposal(layer, id).ok_or_else(|| StateError::NotFound { what: "proposal", id: id.to_hex() })
}

fn status_name(status: &ProposalStatus) -> String {
    match status {
        ProposalStatus::Voting => "voting",
        ProposalStatus::Cancelled { .. } => "cancelled",
        ProposalStatus::Rejected { .. } => "rejected",
        ProposalStatus::Vetoed { .. } => "vetoed",
        ProposalStatus::Passed => "passed",
        ProposalStatus::Executed { .. } => "executed",
        ProposalStatus::Failed { .. } => "failed",
        ProposalStatus::Expired { .. } => "expired",
    }
    .to_string()
}

/// Refuses unless the proposal is still open (voting, cooling off, or passed and
/// waiting for ratifications).
fn require_open(p: &Proposal) -> Result<(), StateError> {
    match p.status {
        ProposalStatus::Voting | ProposalStatus::Passed => Ok(()),
        ref s => Err(gov_err(GovernanceError::ProposalClosed { proposal: p.id, status: status_name(s) })),
    }
}

/// How many of an organisation's proposals are open (voting, cooling off, or waiting
/// for ratification).
pub fn open_proposals(state: &dyn StateRead, org: &OrgId) -> u32 {
    read(state, &keys::open(org)).unwrap_or(0)
}

/// One of the organisation's proposals concluded.
fn close_open(layer: &mut Layer<'_>, org: &OrgId) {
    let open = open_proposals(layer, org);
    layer.put(keys::open(org), &open.saturating_sub(1));
}

fn add_due(layer: &mut Layer<'_>, height: u64, id: Hash) {
    let key = keys::due(height);
    let mut due: Vec<Hash> = read(layer, &key).unwrap_or_default();
    due.push(id);
    layer.put(key, &due);
}

/// The checks a proposal's action can pass when it is made (those that depend on state
/// that may change before it executes are checked again then).
fn check_proposal_action(layer: &Layer<'_>, action: &ProposalAction) -> Result<(), StateError> {
    match action {
        ProposalAction::SetParameter { name, value } => check_param(name, *value),
        ProposalAction::AdmitOrg { org, admins, .. } => {
            if identity::org(layer, org).is_some() {
                return Err(StateError::AlreadyExists { what: "organisation", id: org.to_string() });
            }
            for a in admins {
                if identity::account(layer, &a.id).is_some() {
                    return Err(StateError::AlreadyExists { what: "account", id: a.id.to_string() });
                }
            }
            Ok(())
        }
        ProposalAction::RemoveOrg { org } => member_weight(layer, org).map(|_| ()),
        ProposalAction::ChangeValidators { .. } => {
            if consensus::epoch_length(layer) == 0 {
                return Err(StateError::Consensus(consensus::ConsensusError::InvalidValidatorChange(
                    "this chain has no epochs: its validator set is fixed at genesis".into(),
                )));
            }
            Ok(())
        }
        ProposalAction::TreasurySpend { to, asset, .. } => {
            bank::require_account(layer, to)?;
            bank::existing_asset(layer, asset).map(|_| ())
        }
        ProposalAction::CreateStream { stream, asset, recipients, .. } => {
            if rewards::stream(layer, stream).is_some() {
                return Err(StateError::AlreadyExists { what: "stream", id: stream.to_string() });
            }
            bank::existing_asset(layer, asset)?;
            rewards::check_recipients(layer, recipients)
        }
        ProposalAction::PauseStream { stream } | ProposalAction::ResumeStream { stream } => {
            rewards::existing_stream(layer, stream).map(|_| ())
        }
        ProposalAction::SetAllowlist { allowlist, .. } => {
            for o in &allowlist.orgs {
                if identity::org(layer, o).is_none() {
                    return Err(StateError::UnknownOrg(o.clone()));
                }
            }
            Ok(())
        }
    }
}

fn check_param(name: &str, value: u128) -> Result<(), StateError> {
    let spec =
        verity_types::param_spec(name).ok_or_else(|| gov_err(GovernanceError::UnknownParameter(name.to_string())))?;
    if value < spec.min || value > spec.max {
        return Err(gov_err(GovernanceError::ParameterOutOfBounds {
            name: name.to_string(),
            min: spec.min,
            max: spec.max,
            value,
        }));
    }
    Ok(())
}

pub(crate) fn propose(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Propose) -> Result<Vec<Event>, StateError> {
    let c = require_governance(layer)?;
    require_member_admin(layer, ctx.sender, "propose")?;
    if open_proposals(layer, &ctx.sender.org) >= OPEN_PROPOSALS_PER_ORG_MAX {
        return Err(gov_err(GovernanceError::LimitReached {
            what: "open proposals of one organisation",
            limit: OPEN_PROPOSALS_PER_ORG_MAX as usize,
        }));
    }
    check_proposal_action(layer, &action.action)?;
    let kind = action.action.kind();
    let rule = c.rule(kind);
    let voting_end = ctx.height.checked_add(rule.voting_period).ok_or(StateError::Overflow { what: "height" })?;
    let execute_at = voting_end.checked_add(rule.cooling_off).ok_or(StateError::Overflow { what: "height" })?;
    let id = ctx.tx_hash;
    let p = Proposal {
        id,
        title: action.title.clone(),
        summary_hash: action.summary_hash,
        action: action.action.clone(),
        proposer: ctx.sender.id.clone(),
        org: ctx.sender.org.clone(),
        rule,
        total_weight: total_weight(&members(layer)),
        height: ctx.height,
        voting_end,
        execute_at,
        votes: vec![],
        vetoes: vec![],
        ratifications: vec![],
        analyses: vec![],
        status: ProposalStatus::Voting,
    };
    let sequence = proposal_count(layer);
    layer.put(keys::proposal(&id), &p);
    layer.put(keys::proposal_seq(sequence), &id);
    layer.put(keys::PROPOSAL_COUNT.to_vec(), &(sequence + 1));
    let open = open_proposals(layer, &ctx.sender.org);
    layer.put(keys::open(&ctx.sender.org), &(open + 1));
    add_due(layer, execute_at, id);
    Ok(vec![Event::ProposalCreated(ProposalCreated {
        proposal: id,
        kind,
        by: ctx.sender.id.clone(),
        voting_end,
        execute_at,
    })])
}

pub(crate) fn vote(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Vote) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let mut p = existing_proposal(layer, &action.proposal)?;
    require_open(&p)?;
    if ctx.height > p.voting_end {
        return Err(gov_err(GovernanceError::VotingClosed {
            proposal: p.id,
            voting_end: p.voting_end,
            height: ctx.height,
        }));
    }
    identity::require_role(ctx.sender, Role::OrgAdmin, "vote")?;
    let weight = counted_weight(layer, ctx.sender, &p)?;
    let org = ctx.sender.org.clone();
    if p.votes.iter().any(|v| v.org == org) {
        return Err(gov_err(GovernanceError::AlreadyCounted { proposal: p.id, org, what: "voted on" }));
    }
    p.votes.push(VoteRecord {
        org: org.clone(),
        by: ctx.sender.id.clone(),
        choice: action.choice,
        weight,
        height: ctx.height,
    });
    layer.put(keys::proposal(&p.id), &p);
    Ok(vec![Event::VoteCast(VoteCast {
        proposal: p.id,
        org,
        choice: action.choice,
        weight,
        by: ctx.sender.id.clone(),
    })])
}

pub(crate) fn veto(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Veto) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let mut p = existing_proposal(layer, &action.proposal)?;
    require_open(&p)?;
    if ctx.height <= p.voting_end || ctx.height > p.execute_at {
        return Err(gov_err(GovernanceError::NotCoolingOff {
            proposal: p.id,
            from: p.voting_end + 1,
            to: p.execute_at,
            height: ctx.height,
        }));
    }
    identity::require_role(ctx.sender, Role::OrgAdmin, "veto")?;
    let weight = counted_weight(layer, ctx.sender, &p)?;
    let org = ctx.sender.org.clone();
    if p.vetoes.iter().any(|v| v.org == org) {
        return Err(gov_err(GovernanceError::AlreadyCounted { proposal: p.id, org, what: "vetoed" }));
    }
    p.vetoes.push(Signoff { org: org.clone(), by: ctx.sender.id.clone(), weight, height: ctx.height });
    layer.put(keys::proposal(&p.id), &p);
    Ok(vec![Event::Vetoed(Vetoed { proposal: p.id, org, by: ctx.sender.id.clone() })])
}

pub(crate) fn ratify(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Ratify) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    identity::require_role(ctx.sender, Role::Ratifier, "ratify")?;
    let mut p = existing_proposal(layer, &action.proposal)?;
    let weight = counted_weight(layer, ctx.sender, &p)?;
    require_open(&p)?;
    let not_passed = |reason: String| gov_err(GovernanceError::NotPassed { proposal: p.id, reason });
    if p.rule.ratifications == 0 {
        return Err(not_passed(format!("{} proposals need no ratification", p.rule.kind.name())));
    }
    if ctx.height <= p.voting_end {
        return Err(not_passed(format!("voting ends at height {}; ratification follows the vote", p.voting_end)));
    }
    if !p.vote_carried() {
        return Err(not_passed("the vote did not carry it".into()));
    }
    let org = ctx.sender.org.clone();
    // Another organisation's sign-off, whenever there is another organisation.
    if org == p.org && members(layer).len() > 1 {
        return Err(StateError::Unauthorized {
            account: ctx.sender.id.clone(),
            action: "ratify",
            reason: format!("ratification is another organisation's sign-off; {org} made the proposal"),
        });
    }
    if p.ratifications.iter().any(|r| r.org == org) {
        return Err(gov_err(GovernanceError::AlreadyCounted { proposal: p.id, org, what: "ratified" }));
    }
    p.ratifications.push(Signoff { org: org.clone(), by: ctx.sender.id.clone(), weight, height: ctx.height });
    layer.put(keys::proposal(&p.id), &p);
    Ok(vec![Event::Ratified(Ratified { proposal: p.id, org, by: ctx.sender.id.clone() })])
}

pub(crate) fn cancel(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &CancelProposal) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let mut p = existing_proposal(layer, &action.proposal)?;
    require_open(&p)?;
    if p.proposer != ctx.sender.id {
        return Err(StateError::Unauthorized {
            account: ctx.sender.id.clone(),
            action: "cancel_proposal",
            reason: format!("only its proposer {} may cancel it", p.proposer),
        });
    }
    if ctx.height > p.voting_end {
        return Err(gov_err(GovernanceError::VotingClosed {
            proposal: p.id,
            voting_end: p.voting_end,
            height: ctx.height,
        }));
    }
    p.status = ProposalStatus::Cancelled { height: ctx.height };
    close_open(layer, &p.org);
    layer.put(keys::proposal(&p.id), &p);
    Ok(vec![Event::ProposalCancelled(ProposalCancelled {
        proposal: p.id,
        org: ctx.sender.org.clone(),
        by: ctx.sender.id.clone(),
    })])
}

pub(crate) fn execute(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ExecuteProposal,
) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let p = existing_proposal(layer, &action.proposal)?;
    require_open(&p)?;
    // Strictly after: vetoes count until the end of block `execute_at`, where the ledger
    // executes it itself if nothing is missing.
    if ctx.height <= p.execute_at {
        return Err(gov_err(GovernanceError::TooEarly {
            proposal: p.id,
            execute_at: p.execute_at,
            height: ctx.height,
        }));
    }
    let not_passed = |reason: String| gov_err(GovernanceError::NotPassed { proposal: p.id, reason });
    if !p.vote_carried() {
        return Err(not_passed("the vote did not carry it".into()));
    }
    if p.vetoed() {
        return Err(not_passed("it was vetoed".into()));
    }
    if !p.ratified() {
        return Err(not_passed(format!(
            "it has {} of the {} ratifications it needs",
            p.ratifications.len(),
            p.rule.ratifications
        )));
    }
    if ctx.height > p.execute_at.saturating_add(p.rule.ratification_window) {
        return Err(gov_err(GovernanceError::ProposalClosed { proposal: p.id, status: "expired".into() }));
    }
    Ok(conclude(layer, ctx.height, p))
}

/// Runs a proposal's action on its own layer and records the outcome: its writes and
/// `executed`, or none of them and `failed` with the error.
fn conclude(layer: &mut Layer<'_>, height: u64, mut p: Proposal) -> Vec<Event> {
    let mut inner = Layer::new(&*layer);
    let result = apply_proposal(&mut inner, height, &p);
    let writes = inner.into_writes();
    let mut events = Vec::new();
    p.status = match result {
        Ok(e) => {
            layer.merge(writes);
            events = e;
            ProposalStatus::Executed { height }
        }
        Err(e) => ProposalStatus::Failed { height, error: e.to_tx_error() },
    };
    layer.put(keys::proposal(&p.id), &p);
    close_open(layer, &p.org);
    events.push(Event::ProposalConcluded(ProposalConcluded { proposal: p.id, status: p.status }));
    events
}

/// Applies a passed proposal's action (everything it changes, or an error).
fn apply_proposal(layer: &mut Layer<'_>, height: u64, p: &Proposal) -> Result<Vec<Event>, StateError> {
    check_proposal_action(layer, &p.action)?;
    match &p.action {
        ProposalAction::SetParameter { name, value } => {
            layer.put(keys::param(name), value);
            Ok(vec![])
        }
        ProposalAction::AdmitOrg { org, name, admins, weight } => {
            identity::put_org(layer, &Org { id: org.clone(), name: name.clone() });
            for a in admins {
                identity::put_account(
                    layer,
                    &Account {
                        id: a.id.clone(),
                        org: org.clone(),
                        public_key: a.public_key,
                        roles: identity::normalize_roles(vec![Role::OrgAdmin, Role::Member]),
                        nonce: 0,
                    },
                );
            }
            let mut m = members(layer);
            m.push(OrgWeight { org: org.clone(), weight: *weight });
            m.sort_by(|a, b| a.org.cmp(&b.org));
            layer.put(keys::MEMBERS.to_vec(), &m);
            layer.put(keys::admitted(org), &height);
            consensus::admit_org(layer, org);
            Ok(vec![])
        }
        ProposalAction::RemoveOrg { org } => {
            let mut m = members(layer);
            m.retain(|x| &x.org != org);
            if m.is_empty() {
                return Err(gov_err(GovernanceError::NotPassed {
                    proposal: p.id,
                    reason: "the last member organisation cannot be removed".into(),
                }));
            }
            layer.put(keys::MEMBERS.to_vec(), &m);
            let mut r = removed(layer);
            if let Err(pos) = r.binary_search(org) {
                r.insert(pos, org.clone());
            }
            layer.put(keys::REMOVED.to_vec(), &r);
            consensus::remove_org(layer, org);
            Ok(vec![])
        }
        ProposalAction::ChangeValidators { change } => {
            // The yes voters among the organisations that approve validator changes must
            // be more than two thirds of them, as `ChangeValidators` approvals must,
            // whatever weights the constitution gives.
            let orgs: Vec<OrgId> = read(layer, consensus::keys::ORGS).unwrap_or_default();
            let mut approving: Vec<OrgId> = p
                .votes
                .iter()
                .filter(|v| v.choice == verity_types::VoteChoice::Yes && orgs.contains(&v.org))
                .map(|v| v.org.clone())
                .collect();
            approving.sort();
            approving.dedup();
            if approving.len() * 3 <= orgs.len() * 2 {
                return Err(StateError::Consensus(consensus::ConsensusError::InsufficientApprovals {
                    have: approving.len(),
                    total: orgs.len(),
                }));
            }
            let event = consensus::schedule_change(
                layer,
                height,
                consensus::Submitted { by: &p.proposer, tx_hash: p.id, approvals: &[] },
                change,
                approving,
            )?;
            Ok(vec![event])
        }
        ProposalAction::TreasurySpend { to, asset, amount } => {
            bank::debit(layer, &treasury_account(), asset, *amount)?;
            bank::credit(layer, to, asset, *amount)?;
            Ok(vec![])
        }
        ProposalAction::CreateStream { stream, asset, per_epoch, budget, recipients } => {
            rewards::create(layer, height, p.id, stream, asset, *per_epoch, *budget, recipients)?;
            Ok(vec![])
        }
        ProposalAction::PauseStream { stream } => rewards::set_paused(layer, stream, true).map(|_| vec![]),
        ProposalAction::ResumeStream { stream } => rewards::set_paused(layer, stream, false).map(|_| vec![]),
        ProposalAction::SetAllowlist { program, allowlist } => {
            layer.put(keys::allowlist(*program), allowlist);
            Ok(vec![])
        }
    }
}

pub(crate) fn attach_analysis(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &AttachAnalysis,
) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    let mut p = existing_proposal(layer, &action.proposal)?;
    require_open(&p)?;
    if provenance::model_version(layer, &action.model).is_none() {
        return Err(StateError::NotFound { what: "model version", id: action.model.to_string() });
    }
    let same_org = p
        .analyses
        .iter()
        .filter(|a| identity::account(layer, &a.by).is_some_and(|acc| acc.org == ctx.sender.org))
        .count();
    if same_org >= ANALYSES_PER_ORG_MAX {
        return Err(gov_err(GovernanceError::LimitReached {
            what: "analyses of one organisation on a proposal",
            limit: ANALYSES_PER_ORG_MAX,
        }));
    }
    if p.analyses.len() >= ANALYSES_MAX {
        return Err(gov_err(GovernanceError::LimitReached { what: "analyses of a proposal", limit: ANALYSES_MAX }));
    }
    p.analyses.push(verity_types::Analysis {
        by: ctx.sender.id.clone(),
        summary_hash: action.summary_hash,
        location: action.location.clone(),
        model: action.model.clone(),
        prompt_commitment: action.prompt_commitment,
        height: ctx.height,
        tx_hash: ctx.tx_hash,
    });
    layer.put(keys::proposal(&p.id), &p);
    Ok(vec![Event::AnalysisAttached(AnalysisAttached {
        proposal: p.id,
        model: action.model.clone(),
        summary_hash: action.summary_hash,
        by: ctx.sender.id.clone(),
    })])
}

pub(crate) fn council_act(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &CouncilAct) -> Result<Vec<Event>, StateError> {
    let c = require_governance(layer)?;
    if !c.council.contains(&ctx.sender.id) {
        return Err(StateError::Unauthorized {
            account: ctx.sender.id.clone(),
            action: "council_act",
            reason: "is not a member of the emergency council".into(),
        });
    }
    member_weight(layer, &ctx.sender.org)?;
    let stream = rewards::existing_stream(layer, action.motion.stream())?;
    // A motion that would change nothing now is refused, so no approval waits for the
    // state to change under it.
    let pause = matches!(action.motion, Motion::PauseStream { .. });
    if stream.paused == pause {
        return Err(StateError::AlreadyDone {
            what: "stream",
            id: stream.id.to_string(),
            state: if pause { "paused" } else { "running" },
        });
    }
    let id = action.motion.id();
    let mut record = motion(layer, &id).unwrap_or(MotionRecord {
        id,
        motion: action.motion.clone(),
        approvals: vec![],
        applied_at: None,
    });
    // Approvals count for `council_approval_window` blocks.
    let window = param_blocks(layer, "council_approval_window");
    record.approvals.retain(|a| ctx.height.saturating_sub(a.height) <= window);
    if record.approvals.iter().any(|a| a.by == ctx.sender.id) {
        return Err(StateError::AlreadyDone { what: "motion", id: id.to_hex(), state: "approved by this member" });
    }
    record.approvals.push(verity_types::MotionApproval { by: ctx.sender.id.clone(), height: ctx.height });
    let approvals = u32::try_from(record.approvals.len()).expect("the council has at most COUNCIL_MAX members");
    let applied = approvals >= c.council_threshold;
    if applied {
        match &action.motion {
            Motion::PauseStream { stream } => rewards::set_paused(layer, stream, true)?,
            Motion::ResumeStream { stream } => rewards::set_paused(layer, stream, false)?,
        }
        // The next motion of the same text starts a new round.
        record.approvals.clear();
        record.applied_at = Some(ctx.height);
    }
    layer.put(keys::motion(&id), &record);
    Ok(vec![Event::MotionApproved(MotionApproved { motion: id, by: ctx.sender.id.clone(), approvals, applied })])
}

pub(crate) fn fund_treasury(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &FundTreasury,
) -> Result<Vec<Event>, StateError> {
    require_governance(layer)?;
    bank::existing_asset(layer, &action.asset)?;
    bank::debit(layer, &ctx.sender.id, &action.asset, action.amount)?;
    bank::credit(layer, &treasury_account(), &action.asset, action.amount)?;
    Ok(vec![Event::TreasuryFunded(TreasuryFunded {
        asset: action.asset.clone(),
        amount: action.amount,
        by: ctx.sender.id.clone(),
    })])
}

/// Runs after a block's transactions: proposals due at this height conclude (executed,
/// rejected, vetoed, waiting for ratification, or expired), and at a reward epoch's end
/// every running stream accrues.
pub(crate) fn end_block(layer: &mut Layer<'_>, height: u64) {
    if constitution(layer).is_none() {
        return;
    }
    let due: Vec<Hash> = read(layer, &keys::due(height)).unwrap_or_default();
    for id in due {
        let Some(mut p) = proposal(layer, &id) else { continue };
        match p.status {
            ProposalStatus::Voting => {}
            ProposalStatus::Passed => {
                // The end of the ratification window.
                p.status = ProposalStatus::Expired { height };
                close_open(layer, &p.org);
                layer.put(keys::proposal(&id), &p);
                continue;
            }
            _ => continue,
        }
        if !p.vote_carried() {
            p.status = ProposalStatus::Rejected { height };
            close_open(layer, &p.org);
        } else if p.vetoed() {
            p.status = ProposalStatus::Vetoed { height };
            close_open(layer, &p.org);
        } else if !p.ratified() {
            p.status = ProposalStatus::Passed;
            add_due(layer, height.saturating_add(p.rule.ratification_window).saturating_add(1), id);
        } else {
            conclude(layer, height, p);
            continue;
        }
        layer.put(keys::proposal(&id), &p);
    }
    let epoch = param_blocks(layer, "reward_epoch");
    if height > 0 && height.is_multiple_of(epoch) {
        rewards::accrue(layer);
    }
}

/// `amount * num / den`, rounded down, exactly, for any `u128` inputs with `num <= den`
/// (so the result fits): the product is formed in 256 bits and divided by long division.
/// `den == 0` gives 0.
pub(crate) fn mul_div(amount: u128, num: u128, den: u128) -> u128 {
    if den == 0 {
        return 0;
    }
    let (hi, lo) = mul_wide(amount, num);
    if hi == 0 {
        return lo / den;
    }
    // Restoring division of the 256-bit (hi, lo) by den, one bit at a time; the
    // remainder stays below den, so `rem << 1 | bit` fits in 129 bits, tracked by `carry`.
    let mut rem: u128 = 0;
    let mut quotient: u128 = 0;
    for i in (0..256).rev() {
        let bit = if i >= 128 { (hi >> (i - 128)) & 1 } else { (lo >> i) & 1 };
        let carry = rem >> 127;
        rem = (rem << 1) | bit;
        if carry == 1 || rem >= den {
            rem = rem.wrapping_sub(den);
            if i < 128 {
                quotient |= 1 << i;
            }
        }
    }
    quotient
}

/// The full 256-bit product of two `u128`s, as (high, low) halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let mask = u128::from(u64::MAX);
    let (a1, a0) = (a >> 64, a & mask);
    let (b1, b0) = (b >> 64, b & mask);
    let low = a0 * b0;
    let mid1 = a1 * b0;
    let mid2 = a0 * b1;
    let high = a1 * b1;
    let (mid, mid_carry) = mid1.overflowing_add(mid2);
    let (lo, lo_carry) = low.overflowing_add(mid << 64);
    let hi = high + (mid >> 64) + (u128::from(mid_carry) << 64) + u128::from(lo_carry);
    (hi, lo)
}
