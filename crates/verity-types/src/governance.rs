//! Governance and incentives: the consortium's constitution (member weights, the rule
//! of each kind of proposal, the emergency council), the registry of named parameters
//! every domain reads instead of constants, proposals with their votes, vetoes,
//! ratifications and AI analyses, the general stake ledger, slashing, reward streams,
//! participation allowlists and reputation. The rules that run these actions are in
//! verity-state's `governance` module.
//!
//! Everything here is decoded by offline verifiers too: a proposal record carries the
//! rule it is judged by ([`KindRule`], copied from the constitution when it was made), so
//! [`Proposal::tally`] and [`Proposal::passes`] recompute its outcome from the record
//! alone.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::block::TxError;
use crate::error::TypesError;
use crate::genesis::GenesisAccount;
use crate::hash::Hash;
use crate::ids::{check_id, string_id, AccountId, AssetId, OrgId, Role};
use crate::keys::PublicKey;
use crate::limits::{GENESIS_ENTRIES_MAX, REVIEW_ORGS_MAX};
use crate::provenance::{check_text, DatasetRef, ModelVersionRef};
use crate::validators::ValidatorChange;

/// Parts per million: the unit of every share parameter.
const PPM: u128 = 1_000_000;
/// Longest proposal title (bytes).
pub const TITLE_BYTES_MAX: usize = 200;
/// Longest analysis location (a URI or path where its text is kept; bytes).
pub const LOCATION_BYTES_MAX: usize = 512;
/// Most analyses attached to one proposal.
pub const ANALYSES_MAX: usize = 32;
/// Most admin accounts an admitted organisation starts with.
pub const ADMITTED_ADMINS_MAX: usize = 16;
/// Most members of the emergency council.
pub const COUNCIL_MAX: usize = 32;
/// Most accounts named by a stream's recipient list.
pub const RECIPIENTS_MAX: usize = 64;
/// Most open positions of one stake scope (a validator key, a dataset version, a
/// program) and of one program: slashing and reward epochs visit them all. A position
/// leaves these lists when it holds nothing.
pub const STAKERS_MAX: usize = 1_024;
/// Most open positions one organisation's accounts hold in one program, so that no
/// organisation can fill a program's [`STAKERS_MAX`] and shut the others out.
pub const STAKERS_PER_ORG_MAX: u32 = 32;
/// Most unbonding entries one stake position holds at once (withdraw to make room).
pub const UNBONDING_MAX: usize = 16;
/// Most reward streams in use at once (every reward epoch visits them all); a stream
/// whose budget is spent and fully claimed no longer counts.
pub const STREAMS_MAX: usize = 16;
/// Longest voting period, cooling-off delay and ratification window (blocks).
pub const PERIOD_MAX: u64 = 10_000_000;
/// The weight of an organisation the constitution does not weigh.
pub const DEFAULT_WEIGHT: u32 = 1;
/// Largest weight of one organisation.
pub const WEIGHT_MAX: u32 = 1_000_000;

/// What a parameter's number means (bounds and display follow it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ParamKind {
    /// A number of blocks (windows, delays, epochs).
    Blocks,
    /// A share in parts per million (slash and reward shares, fees).
    Ppm,
    /// An amount of the constitution's stake asset.
    Amount,
}

/// One named parameter of the registry: its kind, bounds and default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub min: u128,
    pub max: u128,
    pub default: u128,
    pub doc: &'static str,
}

/// The registry of parameters. A domain that needs a number a consortium may want to
/// change adds a line here and reads it with verity-state's `governance::param`; a
/// `SetParameter` proposal changes it within its bounds. Names are stable: they are state
/// keys and proposal fields.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "unbond_delay",
        kind: ParamKind::Blocks,
        min: 1,
        max: PERIOD_MAX as u128,
        default: 100,
        doc: "blocks between an unbond and the withdrawal of its stake (slashable meanwhile)",
    },
    ParamSpec {
        name: "reward_epoch",
        kind: ParamKind::Blocks,
        min: 1,
        max: PERIOD_MAX as u128,
        default: 100,
        doc: "blocks per reward epoch: streams accrue at every height that is a multiple of it",
    },
    ParamSpec {
        name: "equivocation_slash_ppm",
        kind: ParamKind::Ppm,
        min: 0,
        max: PPM,
        default: 50_000,
        doc: "share of a validator's stake slashed for recorded equivocation evidence",
    },
    ParamSpec {
        name: "equivocation_reporter_ppm",
        kind: ParamKind::Ppm,
        min: 0,
        max: PPM,
        default: 100_000,
        doc: "share of an equivocation slash paid to the account that reported the evidence (the rest goes to the treasury)",
    },
    ParamSpec {
        name: "curation_slash_ppm",
        kind: ParamKind::Ppm,
        min: 0,
        max: PPM,
        default: 100_000,
        doc: "share of a curator's stake on a dataset version slashed when a challenge of it is upheld",
    },
    ParamSpec {
        name: "challenger_reward_ppm",
        kind: ParamKind::Ppm,
        min: 0,
        max: PPM,
        default: 500_000,
        doc: "share of a curation slash paid to the challenger (the rest goes to the treasury)",
    },
    ParamSpec {
        name: "challenge_window_min",
        kind: ParamKind::Blocks,
        min: 0,
        max: crate::limits::CHALLENGE_WINDOW_MAX as u128,
        default: 0,
        doc: "shortest challenge window a dataset version may be published with",
    },
    ParamSpec {
        name: "council_approval_window",
        kind: ParamKind::Blocks,
        min: 1,
        max: PERIOD_MAX as u128,
        default: 100,
        doc: "blocks a council member's approval of a motion counts for",
    },
    ParamSpec {
        name: "stake_min.validators",
        kind: ParamKind::Amount,
        min: 0,
        max: u128::MAX,
        default: 0,
        doc: "least stake a position on a validator key may hold",
    },
    ParamSpec {
        name: "stake_min.curators",
        kind: ParamKind::Amount,
        min: 0,
        max: u128::MAX,
        default: 0,
        doc: "least stake a curator's position on a dataset version may hold",
    },
    ParamSpec {
        name: "stake_min.providers",
        kind: ParamKind::Amount,
        min: 0,
        max: u128::MAX,
        default: 0,
        doc: "least stake an inference provider's position may hold",
    },
    ParamSpec {
        name: "stake_min.verifiers",
        kind: ParamKind::Amount,
        min: 0,
        max: u128::MAX,
        default: 0,
        doc: "least stake a verifier's position may hold",
    },
    ParamSpec {
        name: "stake_min.learners",
        kind: ParamKind::Amount,
        min: 0,
        max: u128::MAX,
        default: 0,
        doc: "least stake a federated-learning participant's position may hold",
    },
];

/// The registry entry of a parameter name.
pub fn param_spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.name == name)
}

impl ParamSpec {
    /// Checks a value against the bounds.
    pub fn check(&self, value: u128) -> Result<(), TypesError> {
        if value < self.min || value > self.max {
            return Err(TypesError::InvalidField {
                field: "value",
                reason: format!("parameter {} must be within {}..={}, got {value}", self.name, self.min, self.max),
            });
        }
        Ok(())
    }
}

/// A parameter's name and value (genesis overrides, and what the API lists).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParamSetting {
    pub name: String,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub value: u128,
}

impl ParamSetting {
    /// The name is in the registry and the value within its bounds.
    pub fn validate(&self) -> Result<(), TypesError> {
        let spec = param_spec(&self.name).ok_or_else(|| TypesError::InvalidField {
            field: "name",
            reason: format!(
                "unknown parameter {:?}; known: {}",
                self.name.chars().take(80).collect::<String>(),
                PARAMS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            ),
        })?;
        spec.check(self.value)
    }
}

/// A ratio `num / den` (`den > 0`, `num <= den`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fraction {
    pub num: u32,
    pub den: u32,
}

impl Fraction {
    pub const fn new(num: u32, den: u32) -> Self {
        Fraction { num, den }
    }

    fn validate(&self, field: &'static str) -> Result<(), TypesError> {
        if self.den == 0 || self.num > self.den {
            return Err(TypesError::InvalidField {
                field,
                reason: format!("{}/{} is not a ratio in 0..=1", self.num, self.den),
            });
        }
        Ok(())
    }

    /// `part / whole >= self`.
    pub fn reached(&self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.den) >= u128::from(self.num) * u128::from(whole)
    }

    /// `part / whole > self`.
    pub fn exceeded(&self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.den) > u128::from(self.num) * u128::from(whole)
    }
}

/// The kinds of proposal, each with its own rule in the constitution.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProposalKind {
    Parameter,
    AdmitOrg,
    RemoveOrg,
    Validators,
    TreasurySpend,
    Streams,
    Allowlist,
}

impl ProposalKind {
    pub const ALL: [ProposalKind; 7] = [
        ProposalKind::Parameter,
        ProposalKind::AdmitOrg,
        ProposalKind::RemoveOrg,
        ProposalKind::Validators,
        ProposalKind::TreasurySpend,
        ProposalKind::Streams,
        ProposalKind::Allowlist,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ProposalKind::Parameter => "parameter",
            ProposalKind::AdmitOrg => "admit_org",
            ProposalKind::RemoveOrg => "remove_org",
            ProposalKind::Validators => "validators",
            ProposalKind::TreasurySpend => "treasury_spend",
            ProposalKind::Streams => "streams",
            ProposalKind::Allowlist => "allowlist",
        }
    }
}

/// How proposals of one kind are decided. Weights are the organisations' voting weights;
/// `total` is the members' total weight when the proposal was made.
///
/// A proposal passes when the weight that voted (yes, no or abstain) reaches `quorum` of
/// the total, the yes weight exceeds `threshold` of the total, and the vetoes during the
/// cooling-off did not reach `veto` of the total; it then executes at `voting_end +
/// cooling_off` once `ratifications` accounts with the `ratifier` role, of as many
/// organisations, have ratified it (within `ratification_window` blocks of that height).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindRule {
    pub kind: ProposalKind,
    pub quorum: Fraction,
    pub threshold: Fraction,
    /// Blocks from the proposal during which members vote.
    pub voting_period: u64,
    /// Blocks after the vote during which members may veto; execution is at its end.
    pub cooling_off: u64,
    pub veto: Fraction,
    /// Ratifications (accounts with the `ratifier` role, one per organisation) needed
    /// before execution; 0: none.
    pub ratifications: u32,
    /// Blocks after the execution height during which late ratifications still let the
    /// proposal execute (by `ExecuteProposal`); after it the proposal expires.
    pub ratification_window: u64,
}

impl KindRule {
    fn validate(&self) -> Result<(), TypesError> {
        self.quorum.validate("quorum")?;
        self.threshold.validate("threshold")?;
        self.veto.validate("veto")?;
        if self.voting_period == 0 || self.voting_period > PERIOD_MAX {
            return Err(TypesError::InvalidField {
                field: "voting_period",
                reason: format!("must be 1..={PERIOD_MAX} blocks"),
            });
        }
        if self.cooling_off > PERIOD_MAX || self.ratification_window > PERIOD_MAX {
            return Err(TypesError::InvalidField {
                field: "cooling_off",
                reason: format!("delays are at most {PERIOD_MAX} blocks"),
            });
        }
        if self.ratifications as usize > COUNCIL_MAX {
            return Err(TypesError::InvalidField { field: "ratifications", reason: format!("at most {COUNCIL_MAX}") });
        }
        Ok(())
    }

    /// The rule a constitution without one for `kind` uses: a majority of the total
    /// weight (more than two thirds for validator-set changes and removals, as the
    /// `ChangeValidators` approvals require), half of it voting, 20 blocks of voting, 10
    /// of cooling-off, a third of the weight vetoes, and one ratification for admitting
    /// or removing an organisation and spending from the treasury.
    pub fn default_for(kind: ProposalKind) -> Self {
        let strong = matches!(kind, ProposalKind::Validators | ProposalKind::RemoveOrg);
        let ratified = matches!(kind, ProposalKind::AdmitOrg | ProposalKind::RemoveOrg | ProposalKind::TreasurySpend);
        KindRule {
            kind,
            quorum: Fraction::new(1, 2),
            threshold: if strong { Fraction::new(2, 3) } else { Fraction::new(1, 2) },
            voting_period: 20,
            cooling_off: 10,
            veto: Fraction::new(1, 3),
            ratifications: u32::from(ratified),
            ratification_window: 1_000,
        }
    }
}

/// An organisation's voting weight.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgWeight {
    pub org: OrgId,
    pub weight: u32,
}

fn check_weight(weight: u32) -> Result<(), TypesError> {
    if weight == 0 || weight > WEIGHT_MAX {
        return Err(TypesError::InvalidField { field: "weight", reason: format!("must be 1..={WEIGHT_MAX}") });
    }
    Ok(())
}

/// The `governance` section of a genesis file: who votes with what weight, how each kind
/// of proposal is decided, the emergency council, the stake asset and the parameters'
/// starting values (the registry's defaults otherwise). A chain whose genesis has no
/// such section has no governance (its actions are refused).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Constitution {
    /// Organisations not listed vote with [`DEFAULT_WEIGHT`].
    #[serde(default)]
    pub weights: Vec<OrgWeight>,
    /// One rule per kind at most; kinds not listed use [`KindRule::default_for`].
    #[serde(default)]
    pub rules: Vec<KindRule>,
    /// Accounts that may pause and resume reward streams at once, `council_threshold` of
    /// them agreeing.
    #[serde(default)]
    pub council: Vec<AccountId>,
    #[serde(default)]
    pub council_threshold: u32,
    /// The asset stake is bonded in (and slashes and the treasury's spending are paid in).
    pub stake_asset: AssetId,
    #[serde(default)]
    pub params: Vec<ParamSetting>,
}

impl Constitution {
    /// A constitution with one vote per organisation, the default rules, no council and
    /// the registry's parameter defaults.
    pub fn new(stake_asset: AssetId) -> Self {
        Constitution {
            weights: vec![],
            rules: vec![],
            council: vec![],
            council_threshold: 0,
            stake_asset,
            params: vec![],
        }
    }

    /// The rule for `kind`.
    pub fn rule(&self, kind: ProposalKind) -> KindRule {
        self.rules.iter().find(|r| r.kind == kind).cloned().unwrap_or_else(|| KindRule::default_for(kind))
    }

    /// Stateless checks; the organisations, accounts and asset it names are checked
    /// against the genesis when its state is built.
    pub fn validate(&self) -> Result<(), TypesError> {
        let field = |field, reason: String| TypesError::InvalidField { field, reason };
        self.stake_asset.validate()?;
        if self.weights.len() > GENESIS_ENTRIES_MAX || self.params.len() > PARAMS.len() {
            return Err(field("governance", "too many entries".into()));
        }
        let mut orgs = std::collections::BTreeSet::new();
        for w in &self.weights {
            w.org.validate()?;
            check_weight(w.weight)?;
            if !orgs.insert(&w.org) {
                return Err(field("weights", format!("{} is weighed twice", w.org)));
            }
        }
        let mut kinds = std::collections::BTreeSet::new();
        for r in &self.rules {
            r.validate()?;
            if !kinds.insert(r.kind) {
                return Err(field("rules", format!("two rules for {}", r.kind.name())));
            }
        }
        if self.council.len() > COUNCIL_MAX {
            return Err(field("council", format!("at most {COUNCIL_MAX} members")));
        }
        let mut council = std::collections::BTreeSet::new();
        for a in &self.council {
            a.validate()?;
            if !council.insert(a) {
                return Err(field("council", format!("{a} is listed twice")));
            }
        }
        if self.council.is_empty() != (self.council_threshold == 0)
            || self.council_threshold as usize > self.council.len()
        {
            return Err(field("council_threshold", "must be 1..=the council's size, or 0 without a council".into()));
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.params {
            p.validate()?;
            if !names.insert(&p.name) {
                return Err(field("params", format!("{} is set twice", p.name)));
            }
        }
        Ok(())
    }
}

/// The incentive programs: who stakes, and who reward streams and allowlists address.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Program {
    /// Stake on a validator key (slashed for equivocation).
    Validators,
    /// A curator's stake on a dataset version (slashed when a challenge is upheld).
    Curators,
    /// Inference providers of the marketplace.
    Providers,
    /// Verifiers who re-execute marketplace jobs.
    Verifiers,
    /// Federated-learning participants.
    Learners,
}

impl Program {
    pub const ALL: [Program; 5] =
        [Program::Validators, Program::Curators, Program::Providers, Program::Verifiers, Program::Learners];

    pub fn name(&self) -> &'static str {
        match self {
            Program::Validators => "validators",
            Program::Curators => "curators",
            Program::Providers => "providers",
            Program::Verifiers => "verifiers",
            Program::Learners => "learners",
        }
    }

    /// The parameter holding the program's minimum stake.
    pub fn stake_min_param(&self) -> &'static str {
        match self {
            Program::Validators => "stake_min.validators",
            Program::Curators => "stake_min.curators",
            Program::Providers => "stake_min.providers",
            Program::Verifiers => "stake_min.verifiers",
            Program::Learners => "stake_min.learners",
        }
    }

    /// The role a staker needs when governance set no allowlist of roles for the program
    /// (validators: an org admin of the validator's organisation; curators: the version's
    /// curator, checked by the ledger).
    pub fn default_role(&self) -> Role {
        match self {
            Program::Validators => Role::OrgAdmin,
            Program::Curators => Role::Curator,
            Program::Providers => Role::Provider,
            Program::Verifiers => Role::Verifier,
            Program::Learners => Role::Member,
        }
    }
}

impl FromStr for Program {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Program::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| TypesError::InvalidField {
            field: "program",
            reason: format!("unknown program {s:?}; known: validators, curators, providers, verifiers, learners"),
        })
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a stake position backs. Slashing finds positions by scope.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StakeScope {
    /// A validator key of the staker's organisation.
    Validator { key: PublicKey },
    /// A dataset version the staker curates.
    Dataset { dataset: DatasetRef },
    /// A program without a subject (providers, verifiers, learners).
    Program { program: Program },
}

impl StakeScope {
    pub fn program(&self) -> Program {
        match self {
            StakeScope::Validator { .. } => Program::Validators,
            StakeScope::Dataset { .. } => Program::Curators,
            StakeScope::Program { program } => *program,
        }
    }

    pub fn validate(&self) -> Result<(), TypesError> {
        match self {
            StakeScope::Validator { key } => key.validate(),
            StakeScope::Dataset { dataset } => {
                dataset.dataset.validate()?;
                if dataset.version == 0 {
                    return Err(TypesError::InvalidField { field: "version", reason: "versions start at 1".into() });
                }
                Ok(())
            }
            StakeScope::Program { program: Program::Validators | Program::Curators } => Err(TypesError::InvalidField {
                field: "scope",
                reason: "validator and curation stake names its validator key or dataset version".into(),
            }),
            StakeScope::Program { .. } => Ok(()),
        }
    }

    /// A readable, unique text form, used in state keys: `validator:<hex>`,
    /// `dataset:NAME@VERSION`, `program:NAME`.
    pub fn key_text(&self) -> String {
        match self {
            StakeScope::Validator { key } => format!("validator:{}", key.to_hex()),
            StakeScope::Dataset { dataset } => format!("dataset:{dataset}"),
            StakeScope::Program { program } => format!("program:{program}"),
        }
    }
}

impl FromStr for StakeScope {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TypesError::InvalidField {
            field: "scope",
            reason: format!("{s:?} is not validator:KEYHEX, dataset:NAME@VERSION or program:NAME"),
        };
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let scope = match kind {
            "validator" => StakeScope::Validator { key: rest.parse::<PublicKey>()? },
            "dataset" => StakeScope::Dataset { dataset: rest.parse()? },
            "program" => StakeScope::Program { program: rest.parse()? },
            _ => return Err(bad()),
        };
        scope.validate()?;
        Ok(scope)
    }
}

impl fmt::Display for StakeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key_text())
    }
}

/// Who may join a program, set by governance: when `orgs` is not empty the staker's
/// organisation must be in it; when `roles` is not empty the staker must hold one of
/// them (instead of the program's default role).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Allowlist {
    #[serde(default)]
    pub orgs: Vec<OrgId>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

string_id!(
    /// A reward stream.
    StreamId,
    "stream id"
);

/// One recipient of an account-list stream, with its weight.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientShare {
    pub account: AccountId,
    pub weight: u32,
}

/// Who a reward stream pays each epoch.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Recipients {
    /// Every staker of the program, in proportion to its bonded stake at the epoch.
    Stakers { program: Program },
    /// Named accounts, in proportion to their weights.
    Accounts { shares: Vec<RecipientShare> },
}

/// What a proposal does when it executes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProposalAction {
    /// Sets a registry parameter (within its bounds).
    SetParameter {
        name: String,
        #[serde(with = "crate::amount")]
        #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
        value: u128,
    },
    /// Admits an organisation with its first admin accounts and its voting weight.
    AdmitOrg {
        org: OrgId,
        name: String,
        admins: Vec<GenesisAccount>,
        weight: u32,
    },
    /// Removes an organisation from the members: it no longer proposes, votes, vetoes or
    /// approves validator changes (its accounts and records stay).
    RemoveOrg {
        org: OrgId,
    },
    /// The `ChangeValidators` approval as a proposal: the yes-voting organisations
    /// approve it, and it is scheduled for the start of `change.epoch`, which must be the
    /// epoch after the one it executes in.
    ChangeValidators {
        change: ValidatorChange,
    },
    /// Pays from the treasury.
    TreasurySpend {
        to: AccountId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
        amount: u128,
    },
    /// Creates a reward stream, moving its whole budget from the treasury.
    CreateStream {
        stream: StreamId,
        asset: AssetId,
        #[serde(with = "crate::amount")]
        #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
        per_epoch: u128,
        #[serde(with = "crate::amount")]
        #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
        budget: u128,
        recipients: Recipients,
    },
    PauseStream {
        stream: StreamId,
    },
    ResumeStream {
        stream: StreamId,
    },
    /// Sets who may join a program (an empty allowlist opens it again).
    SetAllowlist {
        program: Program,
        allowlist: Allowlist,
    },
}

impl ProposalAction {
    pub fn kind(&self) -> ProposalKind {
        match self {
            ProposalAction::SetParameter { .. } => ProposalKind::Parameter,
            ProposalAction::AdmitOrg { .. } => ProposalKind::AdmitOrg,
            ProposalAction::RemoveOrg { .. } => ProposalKind::RemoveOrg,
            ProposalAction::ChangeValidators { .. } => ProposalKind::Validators,
            ProposalAction::TreasurySpend { .. } => ProposalKind::TreasurySpend,
            ProposalAction::CreateStream { .. }
            | ProposalAction::PauseStream { .. }
            | ProposalAction::ResumeStream { .. } => ProposalKind::Streams,
            ProposalAction::SetAllowlist { .. } => ProposalKind::Allowlist,
        }
    }

    pub fn validate(&self) -> Result<(), TypesError> {
        match self {
            // The name and bounds are the ledger's to check (`unknown_parameter`,
            // `parameter_out_of_bounds`), so a proposal outside them is refused with its
            // own code.
            ProposalAction::SetParameter { name, .. } => check_text("name", name, 64),
            ProposalAction::AdmitOrg { org, name, admins, weight } => {
                org.validate()?;
                check_text("name", name, 128)?;
                check_weight(*weight)?;
                if admins.is_empty() || admins.len() > ADMITTED_ADMINS_MAX {
                    return Err(TypesError::InvalidField {
                        field: "admins",
                        reason: format!("an admitted organisation has 1..={ADMITTED_ADMINS_MAX} admins"),
                    });
                }
                let mut seen = std::collections::BTreeSet::new();
                for a in admins {
                    a.id.validate()?;
                    a.public_key.validate()?;
                    if !seen.insert(&a.id) {
                        return Err(TypesError::InvalidField { field: "admins", reason: format!("{} twice", a.id) });
                    }
                }
                Ok(())
            }
            ProposalAction::RemoveOrg { org } => org.validate(),
            ProposalAction::ChangeValidators { change } => change.validate(),
            ProposalAction::TreasurySpend { to, asset, amount } => {
                to.validate()?;
                asset.validate()?;
                positive(*amount, "amount")
            }
            ProposalAction::CreateStream { stream, asset, per_epoch, budget, recipients } => {
                stream.validate()?;
                asset.validate()?;
                positive(*per_epoch, "per_epoch")?;
                positive(*budget, "budget")?;
                if let Recipients::Accounts { shares } = recipients {
                    if shares.is_empty() || shares.len() > RECIPIENTS_MAX {
                        return Err(TypesError::InvalidField {
                            field: "recipients",
                            reason: format!("1..={RECIPIENTS_MAX} accounts"),
                        });
                    }
                    let mut seen = std::collections::BTreeSet::new();
                    for s in shares {
                        s.account.validate()?;
                        check_weight(s.weight)?;
                        if !seen.insert(&s.account) {
                            return Err(TypesError::InvalidField {
                                field: "recipients",
                                reason: format!("{} twice", s.account),
                            });
                        }
                    }
                }
                Ok(())
            }
            ProposalAction::PauseStream { stream } | ProposalAction::ResumeStream { stream } => stream.validate(),
            ProposalAction::SetAllowlist { allowlist, .. } => {
                if allowlist.orgs.len() > REVIEW_ORGS_MAX * 4 || allowlist.roles.len() > Role::ALL.len() {
                    return Err(TypesError::InvalidField { field: "allowlist", reason: "too many entries".into() });
                }
                allowlist.orgs.iter().try_for_each(|o| o.validate())
            }
        }
    }
}

fn positive(amount: u128, field: &'static str) -> Result<(), TypesError> {
    if amount == 0 {
        return Err(TypesError::InvalidField { field, reason: "must be positive".into() });
    }
    Ok(())
}

/// What an emergency council may do at once, without a vote.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Motion {
    PauseStream { stream: StreamId },
    ResumeStream { stream: StreamId },
}

impl Motion {
    /// A motion's identity: the hash of its encoding (council members approving the same
    /// motion approve the same id).
    pub fn id(&self) -> Hash {
        crate::hash::sha256_parts(&[b"verity/motion/v1\0", &crate::encoding::encode(self)])
    }

    pub fn stream(&self) -> &StreamId {
        match self {
            Motion::PauseStream { stream } | Motion::ResumeStream { stream } => stream,
        }
    }
}

/// A member organisation's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VoteChoice {
    Yes,
    No,
    Abstain,
}

impl FromStr for VoteChoice {
    type Err = TypesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "yes" => Ok(VoteChoice::Yes),
            "no" => Ok(VoteChoice::No),
            "abstain" => Ok(VoteChoice::Abstain),
            _ => Err(TypesError::InvalidField { field: "choice", reason: format!("{s:?} is not yes, no or abstain") }),
        }
    }
}

// ----- actions -----

/// An org admin of a member organisation proposes; the proposal's id is this
/// transaction's hash. `summary_hash` commits to the proposal's full text, kept off the
/// ledger.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Propose {
    pub title: String,
    pub summary_hash: Hash,
    pub action: ProposalAction,
}

impl Propose {
    pub fn validate(&self) -> Result<(), TypesError> {
        check_text("title", &self.title, TITLE_BYTES_MAX)?;
        self.action.validate()
    }
}

/// An org admin casts its organisation's vote, during the voting period.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vote {
    pub proposal: Hash,
    pub choice: VoteChoice,
}

impl Vote {
    pub fn validate(&self) -> Result<(), TypesError> {
        Ok(())
    }
}

/// A proposal named by id (veto, ratification, execution, cancellation).
macro_rules! on_proposal {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            pub proposal: Hash,
        }

        impl $name {
            pub fn validate(&self) -> Result<(), TypesError> {
                Ok(())
            }
        }
    )*};
}

on_proposal! {
    /// An org admin vetoes for its organisation, during the cooling-off.
    Veto,
    /// An account with the `ratifier` role, of another organisation than the proposer's,
    /// ratifies a passed proposal of a kind that needs it.
    Ratify,
    /// Executes a passed, ratified proposal after its execution height (the ledger does
    /// it itself when the block at that height ends, if nothing is missing then).
    ExecuteProposal,
    /// The proposer withdraws its proposal before voting ends.
    CancelProposal,
}

/// Domain separator of a prompt commitment.
pub const PROMPT_COMMITMENT_DOMAIN: &[u8] = b"verity/prompt-commitment/v1\0";

/// The commitment an analysis records to the prompt that produced it: SHA-256 of a
/// domain, a 32-byte salt and the prompt's bytes. Revealing the salt and the prompt
/// lets anyone check it; without them the commitment says nothing about the prompt.
pub fn prompt_commitment(salt: &[u8; 32], prompt: &[u8]) -> Hash {
    crate::hash::sha256_parts(&[PROMPT_COMMITMENT_DOMAIN, salt, prompt])
}

/// Anyone attaches an analysis of a proposal, made by a registered model version:
/// advisory only, never a vote.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachAnalysis {
    pub proposal: Hash,
    /// SHA-256 of the analysis's text.
    pub summary_hash: Hash,
    /// Where the text is kept (a URI or path).
    pub location: String,
    /// The registered model version that produced it.
    pub model: ModelVersionRef,
    /// A commitment to the prompt (for example SHA-256 of a salt and the prompt).
    pub prompt_commitment: Hash,
}

impl AttachAnalysis {
    pub fn validate(&self) -> Result<(), TypesError> {
        check_text("location", &self.location, LOCATION_BYTES_MAX)?;
        self.model.model.validate()?;
        if self.model.version == 0 {
            return Err(TypesError::InvalidField { field: "version", reason: "versions start at 1".into() });
        }
        Ok(())
    }
}

/// A member of the emergency council approves a motion; it applies when
/// `council_threshold` members approved the same motion.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CouncilAct {
    pub motion: Motion,
}

impl CouncilAct {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.motion.stream().validate()
    }
}

/// Anyone pays into the treasury.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FundTreasury {
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

impl FundTreasury {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.asset.validate()?;
        positive(self.amount, "amount")
    }
}

/// Bonds (or unbonds) the sender's stake asset on a scope.
macro_rules! stake_action {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            pub scope: StakeScope,
            #[serde(with = "crate::amount")]
            #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
            pub amount: u128,
        }

        impl $name {
            pub fn validate(&self) -> Result<(), TypesError> {
                self.scope.validate()?;
                positive(self.amount, "amount")
            }
        }
    )*};
}

stake_action! {
    /// Moves stake from the sender's balance into a position on the scope.
    Bond,
    /// Starts unbonding: the amount leaves the bonded stake and can be withdrawn after
    /// `unbond_delay` blocks (it stays slashable until then).
    Unbond,
}

/// Moves the sender's matured unbonding stake on a scope back to its balance.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Withdraw {
    pub scope: StakeScope,
}

impl Withdraw {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.scope.validate()
    }
}

/// Pays the sender what a stream owes it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimRewards {
    pub stream: StreamId,
}

impl ClaimRewards {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.stream.validate()
    }
}

// ----- records -----

/// Where a proposal stands. `Voting` covers the voting period and the cooling-off (the
/// heights in the record say which); the others are final except `Passed`, which waits
/// for ratifications.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProposalStatus {
    Voting,
    Cancelled {
        height: u64,
    },
    /// Quorum or threshold not reached when voting ended.
    Rejected {
        height: u64,
    },
    Vetoed {
        height: u64,
    },
    /// Passed and past its execution height, waiting for ratifications.
    Passed,
    Executed {
        height: u64,
    },
    /// Its action was refused when it executed; nothing of it was applied.
    Failed {
        height: u64,
        error: TxError,
    },
    /// Passed, but the ratifications did not come within the window.
    Expired {
        height: u64,
    },
}

/// One organisation's vote.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoteRecord {
    pub org: OrgId,
    pub by: AccountId,
    pub choice: VoteChoice,
    pub weight: u32,
    pub height: u64,
}

/// A veto, ratification or council approval: who, for which organisation, when.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signoff {
    pub org: OrgId,
    pub by: AccountId,
    pub weight: u32,
    pub height: u64,
}

/// An analysis attached to a proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analysis {
    pub by: AccountId,
    pub summary_hash: Hash,
    pub location: String,
    pub model: ModelVersionRef,
    pub prompt_commitment: Hash,
    pub height: u64,
    pub tx_hash: Hash,
}

/// The weights of a proposal's votes and vetoes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    pub yes: u64,
    pub no: u64,
    pub abstain: u64,
    pub veto: u64,
    pub total: u64,
}

/// A proposal, stored under `gov/proposal/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub id: Hash,
    pub title: String,
    pub summary_hash: Hash,
    pub action: ProposalAction,
    pub proposer: AccountId,
    pub org: OrgId,
    /// The rule it is decided by (the constitution's when it was made).
    pub rule: KindRule,
    /// The members' total weight when it was made.
    pub total_weight: u64,
    pub height: u64,
    /// Last height at which votes count.
    pub voting_end: u64,
    /// The height at which the ledger executes it (the end of the cooling-off).
    pub execute_at: u64,
    pub votes: Vec<VoteRecord>,
    pub vetoes: Vec<Signoff>,
    pub ratifications: Vec<Signoff>,
    pub analyses: Vec<Analysis>,
    pub status: ProposalStatus,
}

impl Proposal {
    pub fn tally(&self) -> Tally {
        let mut t = Tally { total: self.total_weight, ..Tally::default() };
        for v in &self.votes {
            let w = u64::from(v.weight);
            match v.choice {
                VoteChoice::Yes => t.yes += w,
                VoteChoice::No => t.no += w,
                VoteChoice::Abstain => t.abstain += w,
            }
        }
        t.veto = self.vetoes.iter().map(|v| u64::from(v.weight)).sum();
        t
    }

    /// Whether the vote carried it: quorum reached and yes above the threshold (vetoes
    /// and ratifications aside).
    pub fn vote_carried(&self) -> bool {
        let t = self.tally();
        self.rule.quorum.reached(t.yes + t.no + t.abstain, t.total) && self.rule.threshold.exceeded(t.yes, t.total)
    }

    /// Whether the cooling-off's vetoes stopped it.
    pub fn vetoed(&self) -> bool {
        let t = self.tally();
        self.rule.veto.num > 0 && self.rule.veto.reached(t.veto, t.total)
    }

    /// Whether it has every ratification it needs.
    pub fn ratified(&self) -> bool {
        self.ratifications.len() >= self.rule.ratifications as usize
    }

    /// Whether it may execute at `height`: carried, not vetoed, ratified, at or after its
    /// execution height and still voting or passed.
    pub fn passes(&self, height: u64) -> bool {
        matches!(self.status, ProposalStatus::Voting | ProposalStatus::Passed)
            && height >= self.execute_at
            && self.vote_carried()
            && !self.vetoed()
            && self.ratified()
    }
}

/// A member organisation and its weight (`gov/members`).
pub type Member = OrgWeight;

/// A council member's approval of a motion, and when.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MotionApproval {
    pub by: AccountId,
    pub height: u64,
}

/// An emergency motion's current round of approvals (`gov/motion/<id>`): those within
/// the `council_approval_window` parameter count.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MotionRecord {
    pub id: Hash,
    pub motion: Motion,
    pub approvals: Vec<MotionApproval>,
    /// The height at which the threshold was reached and the motion applied.
    pub applied_at: Option<u64>,
}

/// Stake leaving a position, withdrawable from `release_height`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unbonding {
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub release_height: u64,
}

/// One account's stake on one scope (`stake/pos/<account>/<scope>`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakePosition {
    pub account: AccountId,
    pub scope: StakeScope,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub bonded: u128,
    pub unbonding: Vec<Unbonding>,
    /// Everything slashed from this position so far.
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub slashed: u128,
}

impl StakePosition {
    /// Bonded plus unbonding: what the position holds in the stake pool.
    pub fn held(&self) -> u128 {
        self.unbonding.iter().fold(self.bonded, |acc, u| acc.saturating_add(u.amount))
    }
}

/// A reward stream (`rewards/stream/<id>`). Its asset is held by the rewards pool:
/// `pool` not yet accrued, plus what recipients are owed (`accrued - paid`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stream {
    pub id: StreamId,
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub per_epoch: u128,
    pub recipients: Recipients,
    /// Budget not yet accrued to anyone.
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub pool: u128,
    /// Everything accrued to recipients so far.
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub accrued: u128,
    /// Everything claimed so far.
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub paid: u128,
    pub paused: bool,
    pub epochs_paid: u64,
    pub created_height: u64,
    pub proposal: Hash,
}

/// Figures about an account, kept by the ledger as it applies the actions they count
/// (`rep/<account>`), so a state proof proves them.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reputation {
    /// Inference jobs served (marketplace).
    pub jobs_served: u64,
    /// Marketplace disputes lost.
    pub disputes_lost: u64,
    /// Dataset challenges this account opened that were upheld.
    pub challenges_upheld: u64,
    /// Dataset challenges this account opened that were rejected.
    pub challenges_rejected: u64,
    /// Challenges upheld against dataset versions this account curates.
    pub challenges_lost: u64,
    /// Times this account's stake was slashed.
    pub slashes: u64,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub slashed: u128,
}

// ----- events -----

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalCreated {
    pub proposal: Hash,
    pub kind: ProposalKind,
    pub by: AccountId,
    pub voting_end: u64,
    pub execute_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoteCast {
    pub proposal: Hash,
    pub org: OrgId,
    pub choice: VoteChoice,
    pub weight: u32,
    pub by: AccountId,
}

macro_rules! signoff_event {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            pub proposal: Hash,
            pub org: OrgId,
            pub by: AccountId,
        }
    )*};
}

signoff_event! {
    /// An organisation vetoed a proposal.
    Vetoed,
    /// A ratifier ratified a proposal.
    Ratified,
    /// The proposer withdrew its proposal.
    ProposalCancelled,
}

/// A proposal's outcome, when an `ExecuteProposal` transaction executed it (executed or
/// failed). Outcomes the ledger reaches at the end of a block (executed, failed,
/// rejected, vetoed, waiting for ratification, expired) have no transaction and so no
/// receipt: they are in the proposal's record (`status`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalConcluded {
    pub proposal: Hash,
    pub status: ProposalStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalysisAttached {
    pub proposal: Hash,
    pub model: ModelVersionRef,
    pub summary_hash: Hash,
    pub by: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MotionApproved {
    pub motion: Hash,
    pub by: AccountId,
    pub approvals: u32,
    pub applied: bool,
}

macro_rules! stake_event {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name {
            pub account: AccountId,
            pub scope: StakeScope,
            #[serde(with = "crate::amount")]
            #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
            pub amount: u128,
            /// Bonded stake of the position after the move.
            #[serde(with = "crate::amount")]
            #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
            pub bonded: u128,
        }
    )*};
}

stake_event! {
    /// Stake moved from a balance into a position.
    Bonded,
    /// Bonded stake started unbonding.
    Unbonded,
    /// Matured unbonding stake moved back to the balance.
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreasuryFunded {
    pub asset: AssetId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub by: AccountId,
}

/// Stake slashed from one position: `to_beneficiary` to `beneficiary` (the reporter or
/// challenger), the rest to the treasury.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slashed {
    pub account: AccountId,
    pub scope: StakeScope,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
    pub beneficiary: Option<AccountId>,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub to_beneficiary: u128,
    /// What the slash is for (`equivocation:<evidence sequence>`, `challenge:<id>`).
    pub cause: String,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RewardsClaimed {
    pub stream: StreamId,
    pub account: AccountId,
    #[serde(with = "crate::amount")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: u128,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(rule: KindRule, total: u64, votes: &[(VoteChoice, u32)], vetoes: &[u32]) -> Proposal {
        let org = OrgId::new("o").expect("id");
        let by = AccountId::new("a").expect("id");
        Proposal {
            id: Hash::ZERO,
            title: String::new(),
            summary_hash: Hash::ZERO,
            action: ProposalAction::RemoveOrg { org: org.clone() },
            proposer: by.clone(),
            org: org.clone(),
            rule,
            total_weight: total,
            height: 1,
            voting_end: 10,
            execute_at: 15,
            votes: votes
                .iter()
                .map(|(choice, weight)| VoteRecord {
                    org: org.clone(),
                    by: by.clone(),
                    choice: *choice,
                    weight: *weight,
                    height: 2,
                })
                .collect(),
            vetoes: vetoes
                .iter()
                .map(|weight| Signoff { org: org.clone(), by: by.clone(), weight: *weight, height: 12 })
                .collect(),
            ratifications: vec![],
            analyses: vec![],
            status: ProposalStatus::Voting,
        }
    }

    #[test]
    fn validator_changes_need_more_than_two_thirds_as_the_approvals_did() {
        let rule = KindRule::default_for(ProposalKind::Validators);
        // 3 of 4 passes, 2 of 3 does not (the approvals' rule: approving * 3 > orgs * 2).
        assert!(proposal(rule.clone(), 4, &[(VoteChoice::Yes, 1); 3], &[]).passes(15));
        assert!(!proposal(rule.clone(), 3, &[(VoteChoice::Yes, 1); 2], &[]).passes(15));
        assert!(proposal(rule.clone(), 3, &[(VoteChoice::Yes, 1); 3], &[]).passes(15));
        // Not before its execution height.
        assert!(!proposal(rule, 4, &[(VoteChoice::Yes, 1); 4], &[]).passes(14));
    }

    #[test]
    fn quorum_threshold_veto_and_ratification_each_stop_a_proposal() {
        let rule = KindRule::default_for(ProposalKind::Parameter);
        let yes = (VoteChoice::Yes, 1);
        let no = (VoteChoice::No, 1);
        let abstain = (VoteChoice::Abstain, 1);
        assert!(proposal(rule.clone(), 4, &[yes, yes, yes], &[]).passes(15));
        // Two of four yes is not more than half.
        assert!(!proposal(rule.clone(), 4, &[yes, yes, no, abstain], &[]).passes(15));
        // Quorum: one voter of four is not half.
        let mut low = rule.clone();
        low.threshold = Fraction::new(0, 1);
        assert!(!proposal(low.clone(), 4, &[yes], &[]).passes(15));
        assert!(proposal(low, 4, &[yes, abstain], &[]).passes(15));
        // A third of the weight vetoes.
        assert!(proposal(rule.clone(), 6, &[yes; 6], &[1]).passes(15));
        assert!(!proposal(rule.clone(), 6, &[yes; 6], &[1, 1]).passes(15));
        // Ratifications.
        let mut ratified = rule;
        ratified.ratifications = 1;
        let mut p = proposal(ratified, 4, &[yes; 4], &[]);
        assert!(!p.passes(15));
        p.ratifications.push(Signoff { org: p.org.clone(), by: p.proposer.clone(), weight: 1, height: 16 });
        assert!(p.passes(16));
    }

    #[test]
    fn parameters_are_checked_against_their_bounds() {
        for spec in PARAMS {
            spec.check(spec.default).expect(spec.name);
            assert!(spec.min <= spec.max, "{}", spec.name);
        }
        let set = |name: &str, value| ParamSetting { name: name.into(), value }.validate();
        assert!(set("curation_slash_ppm", PPM).is_ok());
        assert!(set("curation_slash_ppm", PPM + 1).is_err());
        assert!(set("unbond_delay", 0).is_err());
        assert!(set("no_such_param", 1).is_err());
    }

    #[test]
    fn stake_scopes_have_one_text_form() {
        let key = crate::keys::SecretKey::from_seed([7; 32]).public_key();
        for scope in [
            StakeScope::Validator { key },
            StakeScope::Dataset { dataset: "faces@2".parse().expect("ref") },
            StakeScope::Program { program: Program::Providers },
        ] {
            assert_eq!(scope.to_string().parse::<StakeScope>().expect("parse"), scope);
        }
        assert!("program:validators".parse::<StakeScope>().is_err());
        assert!("dataset:faces@0".parse::<StakeScope>().is_err());
        assert!("nonsense".parse::<StakeScope>().is_err());
    }

    #[test]
    fn constitution_checks() {
        let asset = AssetId::new("credit").expect("id");
        let mut c = Constitution::new(asset);
        c.validate().expect("default");
        c.council = vec![AccountId::new("a").expect("id")];
        assert!(c.validate().is_err(), "a council needs a threshold");
        c.council_threshold = 2;
        assert!(c.validate().is_err(), "threshold above the council's size");
        c.council_threshold = 1;
        c.validate().expect("council of one");
        c.rules.push(KindRule::default_for(ProposalKind::Parameter));
        c.rules.push(KindRule::default_for(ProposalKind::Parameter));
        assert!(c.validate().is_err(), "two rules for one kind");
    }
}
