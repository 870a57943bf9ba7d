//! Consensus: the actions that report a validator's equivocation and change the
//! validator set. The evidence and validator-set types are in [`crate::evidence`] and
//! [`crate::validators`]; the rules that run these actions are in verity-state's
//! `consensus` module.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::evidence::{Equivocation, Offence};
use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};
use crate::keys::PublicKey;
use crate::validators::{Approval, ValidatorChange};

/// Records evidence that a validator equivocated (any account may report it: the
/// evidence carries the validator's own signatures).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportEquivocation {
    pub evidence: Equivocation,
}

impl ReportEquivocation {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { evidence } = self;
        evidence.validator.to_dalek()?;
        evidence.offence().map(|_| ())
    }
}

/// Schedules a validator-set change for the start of `change.epoch`, approved by
/// admins of more than two thirds of the organisations (any account may submit it).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeValidators {
    pub change: ValidatorChange,
    pub approvals: Vec<Approval>,
}

impl ChangeValidators {
    /// Stateless checks (identifier rules, limits).
    pub fn validate(&self) -> Result<(), TypesError> {
        let Self { change, approvals } = self;
        change.validate()?;
        crate::validators::validate_approvals(approvals)
    }
}

/// Evidence that a validator equivocated was verified and recorded (entry `sequence`
/// of the evidence list).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EquivocationRecorded {
    pub validator: PublicKey,
    pub org: OrgId,
    pub epoch: u64,
    pub view: u64,
    pub offence: Offence,
    pub sequence: u64,
    pub reported_by: AccountId,
}

/// A validator-set change was approved and waits for the start of `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorChangeScheduled {
    pub epoch: u64,
    pub ops: Vec<crate::validators::ValidatorOp>,
    pub approving_orgs: Vec<OrgId>,
    pub by: AccountId,
}

// ----- records -----

/// A recorded equivocation, stored under `consensus/evidence/<sequence>` by verity-state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceRecord {
    pub sequence: u64,
    pub offence: Offence,
    /// The validator's organisation when the evidence was recorded.
    pub org: OrgId,
    pub evidence: Equivocation,
    pub reported_by: AccountId,
    pub height: u64,
    pub tx_hash: Hash,
}

/// A validator-set change waiting for (or applied at) the start of its epoch.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledChange {
    pub change: ValidatorChange,
    pub approvals: Vec<Approval>,
    pub approving_orgs: Vec<OrgId>,
    pub submitted_by: AccountId,
    pub height: u64,
    pub tx_hash: Hash,
}
