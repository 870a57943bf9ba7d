//! Governance and incentives: the constitution, parameters, treasury, proposals with
//! their tallies and analyses, stake positions, reward streams and reputation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verity_types::{
    Analysis, Constitution, OrgId, OrgWeight, ParamKind, Proposal, Reputation, StakePosition, Stream, Tally,
};

use crate::provenance::Trace;

/// A registry parameter: its value in force and what bounds it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ParamView {
    pub name: String,
    pub kind: ParamKind,
    /// Decimal string (u128), like every bound below.
    pub value: String,
    pub default: String,
    pub min: String,
    pub max: String,
    pub doc: String,
}

/// An amount of an asset (decimal string).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AssetAmount {
    pub asset: String,
    pub amount: String,
}

/// The consortium's governance: constitution, members, parameters, treasury.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GovernanceView {
    pub height: u64,
    pub constitution: Constitution,
    /// Member organisations and their voting weights.
    pub members: Vec<OrgWeight>,
    /// Organisations removed by governance.
    pub removed: Vec<OrgId>,
    /// Every parameter of the registry.
    pub params: Vec<ParamView>,
    /// What the treasury holds (system account `~treasury`; state keys
    /// `bank/balance/~treasury/<asset>`).
    pub treasury: Vec<AssetAmount>,
    /// Proposals made so far.
    pub proposals: u64,
}

/// A proposal with its tally and `phase`, derived from its record for the block after
/// `height` (what a transaction submitted now can do): `voting`, `cooling_off` (vetoes
/// count; the ledger concludes it when block `execute_at` ends), `awaiting_ratification`,
/// `executed`, `failed`, `rejected`, `vetoed`, `cancelled` or `expired`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    pub height: u64,
    pub phase: String,
    pub tally: Tally,
    /// Quorum reached and yes above the threshold.
    pub carried: bool,
    pub vetoed: bool,
    pub ratified: bool,
    pub proposal: Proposal,
    /// State key of the record, for `/v1/state/proof`.
    pub state_key: String,
}

/// An analysis with the lineage of the model version that produced it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AnalysisTrace {
    pub analysis: Analysis,
    /// The model version's lineage (upstream: runs, datasets, content; downstream cut to
    /// a small fan-out). The ledger checked the version exists when the analysis was
    /// attached, and records are never deleted, so it is always present.
    pub lineage: Option<Trace>,
}

/// A proposal and each analysis's model lineage.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalTrace {
    pub proposal: ProposalView,
    pub analyses: Vec<AnalysisTrace>,
}

/// A page of proposals, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalList {
    pub height: u64,
    /// Proposals in all.
    pub count: u64,
    pub proposals: Vec<ProposalView>,
    /// The `before` of the next page (older proposals); absent on the last page.
    #[serde(default)]
    pub next: Option<u64>,
}

/// What a stream owes an account.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OwedView {
    pub stream: String,
    pub asset: String,
    pub amount: String,
    pub paused: bool,
}

/// An account's stake, rewards owed and reputation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StakeView {
    pub height: u64,
    pub account: String,
    pub positions: Vec<StakePosition>,
    pub owed: Vec<OwedView>,
    pub reputation: Reputation,
    /// State key of the reputation record (`rep/<account>`), for `/v1/state/proof`
    /// (absent from the state while every figure is zero).
    pub reputation_key: String,
}

/// Every reward stream.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamsView {
    pub height: u64,
    pub streams: Vec<Stream>,
}
