//! Content, opt-outs, dataset versions and challenges.

use std::collections::BTreeSet;
use verity_types::manifest::content_leaf;
use verity_types::merkle::{frontier_push, frontier_root};
use verity_types::{
    AddDatasetItems, AnswerChallenge, Challenge, ChallengeAnswered, ChallengeItem, ChallengeKind, ChallengeOpened,
    ChallengeResolved, ChallengeReview, ChallengeReviewSet, ChallengeStatus, Content, ContentClaim, ContentDispute,
    ContentDisputeResolved, ContentDisputed, ContentRegistered, Dataset, DatasetCompleted, DatasetItem,
    DatasetItemsAdded, DatasetMode, DatasetPolicy, DatasetPublished, DatasetRef, DatasetStatus, DatasetVersion,
    DisputeResolution, Event, FlagCause, FlagLift, Hash, Licence, LiftFlags, OptOut, OptOutContent, OptOutWithdrawn,
    OptedOut, OrgId, PublishDataset, RecordKind, RecordRef, RegisterContent, ResolveChallenge, ResolveContentDispute,
    ReviewRule, ReviewVote, ReviewVoted, Role, SetChallengeReview, WithdrawOptOut,
};

use verity_types::limits::{DISPUTES_PER_CONTENT_MAX, DISPUTE_CLAIMS_MAX};

use super::{
    add_edge, challenge, challenge_review, content, content_disputes, dataset, dataset_version, dispute, downstream,
    flag_downstream, keys, lift_downstream, open_dispute, opt_out,
};

use crate::error::{ProvenanceError, StateError};
use crate::exec::Ctx;
use crate::identity::{self, require_role};
use crate::view::{read, Layer, StateRead};

fn unauthorized(ctx: &Ctx<'_>, action: &'static str, reason: String) -> StateError {
    StateError::Unauthorized { account: ctx.sender.id.clone(), action, reason }
}

pub(crate) fn register_content(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &RegisterContent,
) -> Result<Vec<Event>, StateError> {
    let RegisterContent { content: id, media_type, licence, payout } = action;
    require_role(ctx.sender, Role::Creator, "register_content")?;
    for p in payout {
        if identity::account(layer, &p.account).is_none() {
            return Err(StateError::UnknownAccount(p.account.clone()));
        }
    }
    if let Some(existing) = content(layer, id) {
        let claim = ContentClaim {
            claimant: ctx.sender.id.clone(),
            org: ctx.sender.org.clone(),
            media_type: media_type.to_string(),
            licence: licence.clone(),
            payout: payout.to_vec(),
            height: ctx.height,
            tx: ctx.tx_hash,
        };
        return contest_registration(layer, ctx, existing, claim);
    }
    let record = Content {
        id: *id,
        media_type: media_type.to_string(),
        licence: licence.clone(),
        creator: ctx.sender.id.clone(),
        org: ctx.sender.org.clone(),
        payout: payout.to_vec(),
        height: ctx.height,
        tx: ctx.tx_hash,
        opt_outs: Vec::new(),
    };
    layer.put(keys::content(id), &record);
    Ok(vec![Event::ContentRegistered(ContentRegistered { content: *id, creator: ctx.sender.id.clone() })])
}

/// A creator of another organisation registers content that is already registered: both
/// claims go into a dispute (the open one, or a new one), none silently wins. The holder's
/// own organisation registering it again is refused as before.
fn contest_registration(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    existing: Content,
    claim: ContentClaim,
) -> Result<Vec<Event>, StateError> {
    let id = existing.id;
    if existing.org == ctx.sender.org {
        return Err(StateError::AlreadyExists { what: "content", id: id.to_hex() });
    }
    let (mut d, new) = match open_dispute(layer, &id) {
        Some(d) => (d, false),
        None => {
            let holder = ContentClaim {
                claimant: existing.creator.clone(),
                org: existing.org.clone(),
                media_type: existing.media_type.clone(),
                licence: existing.licence.clone(),
                payout: existing.payout.clone(),
                height: existing.height,
                tx: existing.tx,
            };
            let d = ContentDispute {
                id: ctx.tx_hash,
                content: id,
                claims: vec![holder],
                height: ctx.height,
                resolution: None,
            };
            (d, true)
        }
    };
    if d.claims.iter().any(|c| c.org == claim.org) {
        return Err(StateError::AlreadyExists {
            what: "claim",
            id: format!("of organisation {} in dispute {} over content {id}", claim.org, d.id),
        });
    }
    if d.claims.len() >= DISPUTE_CLAIMS_MAX {
        return Err(StateError::InvalidAction(format!(
            "dispute {} over content {id} holds the maximum of {DISPUTE_CLAIMS_MAX} claims",
            d.id
        )));
    }
    d.claims.push(claim);
    if new {
        let mut ids = content_disputes(layer, &id);
        if ids.len() >= DISPUTES_PER_CONTENT_MAX {
            return Err(StateError::InvalidAction(format!(
                "content {id} has had the maximum of {DISPUTES_PER_CONTENT_MAX} disputes"
            )));
        }
        ids.push(d.id);
        layer.put(keys::content_disputes(&id), &ids);
        add_edge(layer, &RecordRef::Content(id), &RecordRef::Dispute(d.id))?;
    }
    layer.put(keys::dispute(&d.id), &d);
    Ok(vec![Event::ContentDisputed(ContentDisputed { content: id, dispute: d.id, claimant: ctx.sender.id.clone() })])
}

/// Settles a content dispute: the winner's claim becomes the content's registration (its
/// height too, so the winner's opt-outs reach only uses after its own claim), and the
/// loser's active opt-outs are withdrawn. Who may: an `org_admin` of an organisation with
/// no claim in the dispute (a neutral party), or, in a dispute between two organisations,
/// the side that gives up (its claimant or an `org_admin` of its organisation).
pub(crate) fn resolve_content_dispute(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ResolveContentDispute,
) -> Result<Vec<Event>, StateError> {
    let ResolveContentDispute { dispute: id, winner, reason } = action;
    let mut d = dispute(layer, id).ok_or_else(|| StateError::NotFound { what: "dispute", id: id.to_hex() })?;
    if d.resolution.is_some() {
        return Err(StateError::AlreadyDone { what: "dispute", id: id.to_hex(), state: "resolved" });
    }
    let win = d
        .claims
        .iter()
        .find(|c| c.claimant == *winner)
        .cloned()
        .ok_or_else(|| StateError::NotFound { what: "claim", id: format!("by {winner} in dispute {id}") })?;
    let orgs: BTreeSet<&OrgId> = d.claims.iter().map(|c| &c.org).collect();
    let admin = ctx.sender.has_role(Role::OrgAdmin);
    let neutral = admin && !orgs.contains(&ctx.sender.org);
    let concedes = orgs.len() == 2
        && win.org != ctx.sender.org
        && d.claims.iter().any(|c| c.org == ctx.sender.org && (c.claimant == ctx.sender.id || admin));
    if !(neutral || concedes) {
        return Err(unauthorized(
            ctx,
            "resolve_content_dispute",
            "only an org_admin of an organisation with no claim in the dispute, or the other side conceding, may resolve it"
                .into(),
        ));
    }
    d.resolution = Some(DisputeResolution {
        winner: winner.clone(),
        by: ctx.sender.id.clone(),
        reason: reason.to_string(),
        height: ctx.height,
    });
    layer.put(keys::dispute(id), &d);
    let mut events = vec![Event::ContentDisputeResolved(ContentDisputeResolved {
        content: d.content,
        dispute: *id,
        winner: winner.clone(),
        by: ctx.sender.id.clone(),
    })];
    let mut c = content(layer, &d.content).expect("a dispute names registered content");
    if c.org != win.org {
        for oid in &c.opt_outs {
            let mut o = opt_out(layer, oid).expect("content lists only stored opt-outs");
            let by_winner = identity::account(layer, &o.by).is_some_and(|a| a.org == win.org);
            if o.withdrawn_height.is_none() && !by_winner {
                o.withdrawn_height = Some(ctx.height);
                layer.put(keys::opt_out(oid), &o);
                events.push(Event::OptOutWithdrawn(OptOutWithdrawn {
                    content: c.id,
                    opt_out: *oid,
                    by: ctx.sender.id.clone(),
                }));
            }
        }
        c.creator = win.claimant;
        c.org = win.org;
        c.media_type = win.media_type;
        c.licence = win.licence;
        c.payout = win.payout;
        c.height = win.height;
        c.tx = win.tx;
        layer.put(keys::content(&c.id), &c);
    }
    Ok(events)
}

/// The creator of the content, or an org admin of its organisation.
fn require_content_controller(ctx: &Ctx<'_>, c: &Content, action: &'static str) -> Result<(), StateError> {
    let admin = ctx.sender.has_role(Role::OrgAdmin) && ctx.sender.org == c.org;
    if ctx.sender.id == c.creator || admin {
        return Ok(());
    }
    Err(unauthorized(ctx, action, format!("only the creator {} or an org_admin of {} may do this", c.creator, c.org)))
}

pub(crate) fn opt_out_content(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &OptOutContent,
) -> Result<Vec<Event>, StateError> {
    let OptOutContent { content: id, scope, reason } = action;
    let mut c = content(layer, id).ok_or_else(|| StateError::NotFound { what: "content", id: id.to_hex() })?;
    require_content_controller(ctx, &c, "opt_out")?;
    if c.opt_outs.len() >= 64 {
        return Err(StateError::InvalidAction("content holds the maximum of 64 opt-outs".into()));
    }
    let record = OptOut {
        id: ctx.tx_hash,
        content: *id,
        scope: scope.clone(),
        by: ctx.sender.id.clone(),
        reason: reason.to_string(),
        height: ctx.height,
        withdrawn_height: None,
    };
    layer.put(keys::opt_out(&record.id), &record);
    c.opt_outs.push(record.id);
    layer.put(keys::content(id), &c);
    let content_ref = RecordRef::Content(*id);
    add_edge(layer, &content_ref, &RecordRef::OptOut(record.id))?;
    let mut events = vec![Event::OptedOut(OptedOut { content: *id, opt_out: record.id, by: ctx.sender.id.clone() })];
    // Opting out after use flags every dataset version that already holds the content
    // under a use the scope forbids, and everything downstream of it; but only uses made
    // after the content was registered by its registrant (a version published at or before
    // the registration height did not use registered content), and none while another
    // organisation disputes the registration.
    if open_dispute(layer, id).is_some() {
        return Ok(events);
    }
    let cause = FlagCause::ContentOptedOut { content: *id, opt_out: record.id };
    for r in downstream(layer, &content_ref, RecordKind::Dataset, 0, usize::MAX) {
        let RecordRef::Dataset(d) = r else { unreachable!("the dataset list holds dataset versions") };
        let v = dataset_version(layer, &d).expect("an edge names an existing dataset version");
        if used_after_registration(&c, &v) && scope.forbids(&v.policy, &c.licence) {
            events.extend(flag_downstream(layer, &d, &cause, ctx.height)?);
        }
    }
    Ok(events)
}

pub(crate) fn withdraw_opt_out(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &WithdrawOptOut,
) -> Result<Vec<Event>, StateError> {
    let id = &action.opt_out;
    let mut o = opt_out(layer, id).ok_or_else(|| StateError::NotFound { what: "opt-out", id: id.to_hex() })?;
    let c = content(layer, &o.content).expect("an opt-out names registered content");
    require_content_controller(ctx, &c, "withdraw_opt_out")?;
    if o.withdrawn_height.is_some() {
        return Err(StateError::AlreadyDone { what: "opt-out", id: id.to_hex(), state: "withdrawn" });
    }
    o.withdrawn_height = Some(ctx.height);
    layer.put(keys::opt_out(id), &o);
    Ok(vec![Event::OptOutWithdrawn(OptOutWithdrawn { content: o.content, opt_out: *id, by: ctx.sender.id.clone() })])
}

/// Whether dataset version `v` used `c` after its registration: the version's height (its
/// publication, when its content was committed to) is above the registration's height.
fn used_after_registration(c: &Content, v: &DatasetVersion) -> bool {
    v.height > c.height
}

/// The first active opt-out of `content` that forbids its use under `licence` in a
/// dataset with `policy`.
fn forbidding_opt_out(state: &dyn StateRead, c: &Content, policy: &DatasetPolicy, licence: &Licence) -> Option<Hash> {
    c.opt_outs.iter().copied().find(|id| {
        let o = opt_out(state, id).expect("content lists only stored opt-outs");
        o.withdrawn_height.is_none() && o.scope.forbids(policy, licence)
    })
}

/// Checks one item for a dataset version with `policy` (and, when given, the version's
/// declared licence set): the licence must match the content's registration, the content
/// must be registered if the policy requires it, and no active opt-out may forbid the use.
/// Enumerated publication runs it on every item; `verity dataset check` runs it ahead.
pub fn check_item(
    state: &dyn StateRead,
    policy: &DatasetPolicy,
    licences: Option<&[Licence]>,
    item: &DatasetItem,
) -> Result<(), StateError> {
    if let Some(ls) = licences {
        if !ls.contains(&item.licence) {
            return Err(StateError::Provenance(ProvenanceError::LicenceMismatch {
                content: item.content,
                reason: format!("licence {} is not in the version's declared licence set", item.licence),
            }));
        }
    }
    match content(state, &item.content) {
        Some(c) => {
            if c.licence != item.licence {
                return Err(StateError::Provenance(ProvenanceError::LicenceMismatch {
                    content: item.content,
                    reason: format!(
                        "the manifest says {}, but the content is registered under {}",
                        item.licence, c.licence
                    ),
                }));
            }
            if let Some(opt_out) = forbidding_opt_out(state, &c, policy, &item.licence) {
                return Err(StateError::Provenance(ProvenanceError::OptedOut { content: item.content, opt_out }));
            }
            Ok(())
        }
        None if policy.require_registered => {
            Err(StateError::Provenance(ProvenanceError::UnregisteredContent(item.content)))
        }
        None => Ok(()),
    }
}

pub(crate) fn publish_dataset(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    p: &PublishDataset,
) -> Result<Vec<Event>, StateError> {
    require_role(ctx.sender, Role::Curator, "publish_dataset")?;
    let mut ds = match dataset(layer, &p.dataset) {
        Some(ds) => {
            if ds.org != ctx.sender.org {
                return Err(unauthorized(ctx, "publish_dataset", format!("dataset {} belongs to {}", ds.id, ds.org)));
            }
            ds
        }
        None => Dataset { id: p.dataset.clone(), org: ctx.sender.org.clone(), versions: 0 },
    };
    let expected = ds.versions + 1;
    if p.version != expected {
        return Err(StateError::WrongVersion { what: "dataset", id: p.dataset.to_string(), expected, got: p.version });
    }
    for r in &p.reviewers {
        if identity::account(layer, r).is_none() {
            return Err(StateError::UnknownAccount(r.clone()));
        }
    }
    if crate::governance::constitution(layer).is_some() {
        let min = crate::governance::param_blocks(layer, "challenge_window_min");
        if p.challenge_window < min {
            return Err(StateError::Governance(crate::governance::GovernanceError::ParameterForbids {
                parameter: "challenge_window_min",
                reason: format!(
                    "a dataset version's challenge window must be at least {min} blocks, got {}",
                    p.challenge_window
                ),
            }));
        }
    }
    ds.versions = expected;
    let status = match p.mode {
        DatasetMode::Enumerated => DatasetStatus::Pending,
        DatasetMode::RootOnly => DatasetStatus::Published,
    };
    let v = DatasetVersion {
        dataset: p.dataset.clone(),
        version: p.version,
        manifest_hash: p.manifest_hash,
        root: p.root,
        count: p.count,
        licences: p.licences.to_vec(),
        mode: p.mode,
        policy: p.policy,
        curator: ctx.sender.id.clone(),
        supersedes: p.supersedes,
        reviewers: p.reviewers.to_vec(),
        challenge_window: p.challenge_window,
        status,
        height: ctx.height,
        tx: ctx.tx_hash,
        received: 0,
        last_item: None,
        frontier: Vec::new(),
    };
    layer.put(keys::dataset(&p.dataset), &ds);
    layer.put(keys::dataset_version(&p.dataset, p.version), &v);
    if let Some(old) = p.supersedes {
        add_edge(layer, &RecordRef::dataset(&p.dataset, old), &RecordRef::dataset(&p.dataset, p.version))?;
    }
    Ok(vec![Event::DatasetPublished(DatasetPublished {
        dataset: p.dataset.clone(),
        version: p.version,
        mode: p.mode,
        curator: ctx.sender.id.clone(),
    })])
}

pub(crate) fn add_dataset_items(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &AddDatasetItems,
) -> Result<Vec<Event>, StateError> {
    let (ds, version, items) = (&action.dataset, action.version, &action.items);
    let r = DatasetRef { dataset: ds.clone(), version };
    let mut v = dataset_version(layer, &r)
        .ok_or_else(|| StateError::NotFound { what: "dataset version", id: format!("{ds}@{version}") })?;
    if v.curator != ctx.sender.id {
        return Err(unauthorized(ctx, "add_dataset_items", format!("only the curator {} may add items", v.curator)));
    }
    let bad =
        |reason: String| StateError::Provenance(ProvenanceError::BadItems { dataset: ds.to_string(), version, reason });
    if v.mode != DatasetMode::Enumerated || v.status != DatasetStatus::Pending {
        return Err(bad("only a pending enumerated version receives items".into()));
    }
    let len = items.len() as u64;
    if v.received + len > v.count {
        return Err(bad(format!("{} items received plus {len} exceeds the declared {}", v.received, v.count)));
    }
    if let (Some(last), Some(first)) = (v.last_item, items.first()) {
        if first.content <= last {
            return Err(bad(format!("item {} does not follow the last item {last}", first.content)));
        }
    }
    let dref = RecordRef::Dataset(r.clone());
    for item in items {
        check_item(layer, &v.policy, Some(&v.licences), item)?;
        frontier_push(&mut v.frontier, v.received, content_leaf(&item.content));
        v.received += 1;
        add_edge(layer, &RecordRef::Content(item.content), &dref)?;
    }
    v.last_item = items.last().map(|i| i.content);
    let mut events = vec![Event::DatasetItemsAdded(DatasetItemsAdded {
        dataset: ds.clone(),
        version,
        received: v.received,
        count: v.count,
        curator: ctx.sender.id.clone(),
    })];
    if v.received == v.count {
        let computed = frontier_root(&v.frontier);
        if computed != v.root {
            return Err(StateError::Provenance(ProvenanceError::RootMismatch {
                dataset: ds.to_string(),
                version,
                declared: v.root,
                computed,
            }));
        }
        v.status = DatasetStatus::Published;
        events.push(Event::DatasetCompleted(DatasetCompleted {
            dataset: ds.clone(),
            version,
            curator: ctx.sender.id.clone(),
        }));
    }
    layer.put(keys::dataset_version(ds, version), &v);
    Ok(events)
}

pub(crate) fn challenge_item(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    a: &ChallengeItem,
) -> Result<Vec<Event>, StateError> {
    let r = DatasetRef { dataset: a.dataset.clone(), version: a.version };
    let v = dataset_version(layer, &r)
        .ok_or_else(|| StateError::NotFound { what: "dataset version", id: format!("{}@{}", a.dataset, a.version) })?;
    // Every challenge proves that the item is in the version: nobody can block a dataset
    // over content it does not hold.
    let Some(ref proof) = a.proof else {
        return Err(StateError::Provenance(ProvenanceError::InvalidProof(
            "a challenge needs an inclusion proof of the item in the version's manifest root".into(),
        )));
    };
    if proof.tree_size != v.count {
        return Err(StateError::Provenance(ProvenanceError::InvalidProof(format!(
            "the proof is for {} items, the version holds {}",
            proof.tree_size, v.count
        ))));
    }
    proof
        .verify(&content_leaf(&a.content), &v.root)
        .map_err(|e| StateError::Provenance(ProvenanceError::InvalidProof(e.to_string())))?;
    let id = ctx.tx_hash;
    let mut record = Challenge {
        id,
        dataset: a.dataset.clone(),
        version: a.version,
        content: a.content,
        kind: a.kind,
        evidence: a.evidence,
        challenger: ctx.sender.id.clone(),
        height: ctx.height,
        deadline_height: ctx.height.saturating_add(v.challenge_window),
        response: None,
        status: ChallengeStatus::Open,
        resolved_by: None,
        resolution_reason: String::new(),
        review: challenge_review(layer, &r),
        votes: Vec::new(),
        lift_votes: Vec::new(),
        lifted: None,
    };
    let mut events = vec![Event::ChallengeOpened(ChallengeOpened {
        challenge: id,
        dataset: a.dataset.clone(),
        version: a.version,
        content: a.content,
        kind: a.kind,
        challenger: ctx.sender.id.clone(),
    })];
    if a.kind == ChallengeKind::OptedOut {
        // The ledger checks this kind itself: membership by proof, opt-out from its records.
        let c = content(layer, &a.content).ok_or_else(|| {
            StateError::Provenance(ProvenanceError::ChallengeUnfounded(format!(
                "content {} is not registered, so it has no opt-out",
                a.content
            )))
        })?;
        if !used_after_registration(&c, &v) {
            return Err(StateError::Provenance(ProvenanceError::ChallengeUnfounded(format!(
                "content {} was registered at height {}, after dataset {}@{} was published at {}",
                a.content, c.height, a.dataset, a.version, v.height
            ))));
        }
        if let Some(d) = open_dispute(layer, &a.content) {
            return Err(StateError::Provenance(ProvenanceError::ChallengeUnfounded(format!(
                "the registration of content {} is disputed (dispute {})",
                a.content, d.id
            ))));
        }
        let Some(opt_out) = forbidding_opt_out(layer, &c, &v.policy, &c.licence) else {
            return Err(StateError::Provenance(ProvenanceError::ChallengeUnfounded(format!(
                "content {} has no active opt-out that covers dataset {}@{}",
                a.content, a.dataset, a.version
            ))));
        };
        // One upheld opted-out challenge per item and version at a time: a repeat would
        // flag the version and everything downstream again, growing their flag lists
        // without limit. After its flags are lifted (the opt-out withdrawn), a new
        // opt-out may be challenged again.
        let dedupe = keys::opted_out_challenge(&a.dataset, a.version, &a.content);
        if let Some(prev) = read::<Hash>(layer, &dedupe) {
            if challenge(layer, &prev).is_some_and(|p| p.lifted.is_none()) {
                return Err(StateError::AlreadyExists {
                    what: "opted-out challenge",
                    id: format!("{prev} (content {} in {}@{})", a.content, a.dataset, a.version),
                });
            }
        }
        layer.put(dedupe, &id);
        record.status = ChallengeStatus::Upheld;
        record.resolution_reason = format!("checked by the ledger: inclusion proof and opt-out {opt_out}");
        events.push(Event::ChallengeResolved(ChallengeResolved {
            challenge: id,
            upheld: true,
            by: ctx.sender.id.clone(),
        }));
        events.extend(flag_downstream(layer, &r, &FlagCause::ChallengeUpheld { challenge: id }, ctx.height)?);
        events.extend(crate::governance::stake::challenge_decided(
            layer,
            &id,
            &r,
            &v.curator,
            &ctx.sender.id,
            true,
            false,
        )?);
    }
    layer.put(keys::challenge(&id), &record);
    add_edge(layer, &RecordRef::Dataset(r), &RecordRef::Challenge(id))?;
    add_edge(layer, &RecordRef::Content(a.content), &RecordRef::Challenge(id))?;
    Ok(events)
}

fn open_challenge(layer: &Layer<'_>, ctx: &Ctx<'_>, id: &Hash) -> Result<(Challenge, DatasetVersion), StateError> {
    let c = challenge(layer, id).ok_or_else(|| StateError::NotFound { what: "challenge", id: id.to_hex() })?;
    if c.status != ChallengeStatus::Open {
        return Err(StateError::Provenance(ProvenanceError::ChallengeClosed {
            challenge: *id,
            reason: format!("it was {:?}", c.status).to_lowercase(),
        }));
    }
    if ctx.height > c.deadline_height {
        return Err(StateError::Provenance(ProvenanceError::ChallengeClosed {
            challenge: *id,
            reason: format!("its window ended at height {}, now {}", c.deadline_height, ctx.height),
        }));
    }
    let v = dataset_version(layer, &DatasetRef { dataset: c.dataset.clone(), version: c.version })
        .expect("a challenge names an existing dataset version");
    Ok((c, v))
}

pub(crate) fn answer_challenge(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &AnswerChallenge,
) -> Result<Vec<Event>, StateError> {
    let AnswerChallenge { challenge: id, response } = action;
    let (mut c, v) = open_challenge(layer, ctx, id)?;
    if v.curator != ctx.sender.id {
        return Err(unauthorized(ctx, "answer_challenge", format!("only the curator {} may answer", v.curator)));
    }
    if c.response.is_some() {
        return Err(StateError::AlreadyDone { what: "challenge", id: id.to_hex(), state: "answered" });
    }
    c.response = Some(*response);
    layer.put(keys::challenge(id), &c);
    Ok(vec![Event::ChallengeAnswered(ChallengeAnswered { challenge: *id, by: ctx.sender.id.clone() })])
}

pub(crate) fn resolve_challenge(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &ResolveChallenge,
) -> Result<Vec<Event>, StateError> {
    let (id, upheld, reason) = (&action.challenge, action.upheld, &action.reason);
    let (mut c, v) = open_challenge(layer, ctx, id)?;
    let mut votes = std::mem::take(&mut c.votes);
    let (decided, mut events) = review_decision(layer, ctx, "resolve_challenge", &c, &v, &mut votes, upheld, false)?;
    c.votes = votes;
    if decided {
        c.status = if upheld { ChallengeStatus::Upheld } else { ChallengeStatus::Rejected };
        c.resolved_by = Some(ctx.sender.id.clone());
        c.resolution_reason = reason.to_string();
        events.push(Event::ChallengeResolved(ChallengeResolved { challenge: *id, upheld, by: ctx.sender.id.clone() }));
        let r = DatasetRef { dataset: c.dataset.clone(), version: c.version };
        if upheld {
            events.extend(flag_downstream(layer, &r, &FlagCause::ChallengeUpheld { challenge: *id }, ctx.height)?);
        }
        events.extend(crate::governance::stake::challenge_decided(
            layer,
            id,
            &r,
            &v.curator,
            &c.challenger,
            upheld,
            true,
        )?);
    }
    layer.put(keys::challenge(id), &c);
    Ok(events)
}

/// Checks that the sender may decide challenge `c` of version `v` under the challenge's
/// review rule, never as the version's curator or the challenger. Under one-reviewer review
/// the sender decides at once; under a quorum the sender's organisation casts its one vote
/// into `votes`, and the decision is reached when `threshold` organisations voted `yes`
/// alike. Returns whether it is reached, and the vote's event.
#[allow(clippy::too_many_arguments)]
fn review_decision(
    layer: &Layer<'_>,
    ctx: &Ctx<'_>,
    action: &'static str,
    c: &Challenge,
    v: &DatasetVersion,
    votes: &mut Vec<ReviewVote>,
    yes: bool,
    lift: bool,
) -> Result<(bool, Vec<Event>), StateError> {
    if ctx.sender.id == v.curator || ctx.sender.id == c.challenger {
        return Err(unauthorized(ctx, action, "the curator and the challenger may not decide".into()));
    }
    match &c.review {
        ChallengeReview::Reviewers => {
            let designated = if v.reviewers.is_empty() {
                let owner = dataset(layer, &v.dataset).expect("a dataset version's dataset is stored").org;
                if !(ctx.sender.has_role(Role::Reviewer) && ctx.sender.org == owner) {
                    return Err(unauthorized(
                        ctx,
                        action,
                        format!(
                            "the version names no reviewers, so only a reviewer of its organisation {owner} decides"
                        ),
                    ));
                }
                true
            } else {
                v.reviewers.contains(&ctx.sender.id)
            };
            if !designated {
                return Err(unauthorized(ctx, action, "is not a designated reviewer of this dataset version".into()));
            }
            Ok((true, Vec::new()))
        }
        ChallengeReview::Quorum { orgs, threshold } => {
            if !(ctx.sender.has_role(Role::Reviewer) && orgs.contains(&ctx.sender.org)) {
                let names: Vec<&str> = orgs.iter().map(|o| o.as_str()).collect();
                return Err(unauthorized(
                    ctx,
                    action,
                    format!("only a reviewer of the quorum's organisations ({}) votes", names.join(", ")),
                ));
            }
            if votes.iter().any(|vote| vote.org == ctx.sender.org) {
                return Err(StateError::AlreadyDone {
                    what: "challenge",
                    id: c.id.to_hex(),
                    state: "voted on by the sender's organisation",
                });
            }
            votes.push(ReviewVote { org: ctx.sender.org.clone(), by: ctx.sender.id.clone(), yes, height: ctx.height });
            let alike = votes.iter().filter(|vote| vote.yes == yes).count();
            let event = Event::ReviewVoted(ReviewVoted {
                challenge: c.id,
                org: ctx.sender.org.clone(),
                lift,
                yes,
                by: ctx.sender.id.clone(),
            });
            Ok((alike >= *threshold as usize, vec![event]))
        }
    }
}

/// An appeal of an upheld challenge granted: by the review rule the challenge was decided
/// under (the same reviewers, or a vote of the same quorum), its flags are lifted on the
/// dataset version and everything downstream. Each flag stays on record with the lifting;
/// records flagged for another cause stay blocked by that flag. A challenge the ledger
/// upheld from an opt-out is lifted only once no opt-out forbids the use any more.
pub(crate) fn lift_flags(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &LiftFlags) -> Result<Vec<Event>, StateError> {
    let LiftFlags { challenge: id, reason } = action;
    let mut c = challenge(layer, id).ok_or_else(|| StateError::NotFound { what: "challenge", id: id.to_hex() })?;
    let refused = |reason: String| StateError::Provenance(ProvenanceError::LiftRefused { challenge: *id, reason });
    if c.status != ChallengeStatus::Upheld {
        return Err(refused(format!("it was {:?}, not upheld", c.status).to_lowercase()));
    }
    if let Some(l) = &c.lifted {
        return Err(refused(format!("they were lifted at height {} by {}", l.height, l.by)));
    }
    let r = DatasetRef { dataset: c.dataset.clone(), version: c.version };
    let v = dataset_version(layer, &r).expect("a challenge names an existing dataset version");
    if c.kind == ChallengeKind::OptedOut {
        let content = content(layer, &c.content).expect("an upheld opted_out challenge names registered content");
        if let Some(o) = forbidding_opt_out(layer, &content, &v.policy, &content.licence) {
            return Err(refused(format!("opt-out {o} still forbids this use; its creator may withdraw it")));
        }
    }
    let mut votes = std::mem::take(&mut c.lift_votes);
    let (decided, mut events) = review_decision(layer, ctx, "lift_flags", &c, &v, &mut votes, true, true)?;
    c.lift_votes = votes;
    if decided {
        let lift = FlagLift { by: ctx.sender.id.clone(), reason: reason.to_string(), height: ctx.height };
        c.lifted = Some(lift.clone());
        events.extend(lift_downstream(layer, &r, &FlagCause::ChallengeUpheld { challenge: *id }, &lift)?);
    }
    layer.put(keys::challenge(id), &c);
    Ok(events)
}

/// A curator or `org_admin` of the dataset's organisation sets who decides the version's
/// challenges opened from now on (and appeals of them).
pub(crate) fn set_challenge_review(
    layer: &mut Layer<'_>,
    ctx: &Ctx<'_>,
    action: &SetChallengeReview,
) -> Result<Vec<Event>, StateError> {
    let (ds, version, review) = (&action.dataset, action.version, &action.review);
    let r = DatasetRef { dataset: ds.clone(), version };
    dataset_version(layer, &r)
        .ok_or_else(|| StateError::NotFound { what: "dataset version", id: format!("{ds}@{version}") })?;
    let owner = dataset(layer, ds).expect("a dataset version's dataset is stored").org;
    let role = ctx.sender.has_role(Role::Curator) || ctx.sender.has_role(Role::OrgAdmin);
    if ctx.sender.org != owner || !role {
        return Err(unauthorized(
            ctx,
            "set_challenge_review",
            format!("only a curator or org_admin of {owner} may set how its datasets are reviewed"),
        ));
    }
    if let ChallengeReview::Quorum { orgs, .. } = review {
        for o in orgs {
            if identity::org(layer, o).is_none() {
                return Err(StateError::UnknownOrg(o.clone()));
            }
        }
    }
    let rule = ReviewRule {
        dataset: ds.clone(),
        version,
        review: review.clone(),
        set_by: ctx.sender.id.clone(),
        height: ctx.height,
    };
    layer.put(keys::review(ds, version), &rule);
    Ok(vec![Event::ChallengeReviewSet(ChallengeReviewSet { dataset: ds.clone(), version, by: ctx.sender.id.clone() })])
}
