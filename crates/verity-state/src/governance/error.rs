//! The errors of the governance domain (proposals, parameters, stake, rewards), each
//! with its stable code (see [`crate::error`]).

use verity_types::{Hash, OrgId, Program, StreamId};

use crate::error::coded_errors;

coded_errors! {
    /// Why a governance or incentive action was refused.
    #[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
    pub enum GovernanceError {
        /// The chain's genesis has no constitution.
        #[error("this chain has no governance: its genesis has no governance section")]
        GovernanceOff => "governance_off",
        /// The organisation is not a member (never admitted, or removed).
        #[error("organisation {org} is not a member{}", if *removed { " (it was removed)" } else { "" })]
        NotAMember { org: OrgId, removed: bool } => "not_a_member",
        /// The organisation was admitted after the proposal was made, so it does not
        /// count on it.
        #[error("organisation {org} was admitted at height {admitted}, after proposal {proposal} was made at {proposed}")]
        AdmittedAfter { org: OrgId, admitted: u64, proposal: Hash, proposed: u64 } => "admitted_after_proposal",
        /// No parameter of the registry has this name.
        #[error("unknown parameter {0:?}")]
        UnknownParameter(String) => "unknown_parameter",
        /// A parameter value outside the registry's bounds.
        #[error("parameter {name} must be within {min}..={max}, got {value}")]
        ParameterOutOfBounds { name: String, min: u128, max: u128, value: u128 } => "parameter_out_of_bounds",
        /// A vote after the voting period.
        #[error("voting on proposal {proposal} ended at height {voting_end}; this is height {height}")]
        VotingClosed { proposal: Hash, voting_end: u64, height: u64 } => "voting_closed",
        /// The organisation already voted (or vetoed, or ratified) on this proposal.
        #[error("organisation {org} already {what} proposal {proposal}")]
        AlreadyCounted { proposal: Hash, org: OrgId, what: &'static str } => "already_counted",
        /// A veto outside the cooling-off.
        #[error("proposal {proposal} can be vetoed at heights {from}..={to}; this is height {height}")]
        NotCoolingOff { proposal: Hash, from: u64, to: u64, height: u64 } => "not_cooling_off",
        /// Execution before the proposal's execution height.
        #[error("proposal {proposal} executes when block {execute_at} ends (ExecuteProposal: after it); this is height {height}")]
        TooEarly { proposal: Hash, execute_at: u64, height: u64 } => "too_early",
        /// The proposal is concluded (executed, failed, rejected, vetoed, cancelled, expired).
        #[error("proposal {proposal} is {status}")]
        ProposalClosed { proposal: Hash, status: String } => "proposal_closed",
        /// The proposal may not execute (or be ratified): the vote did not carry it, it
        /// was vetoed, or ratifications are missing.
        #[error("proposal {proposal} cannot proceed: {reason}")]
        NotPassed { proposal: Hash, reason: String } => "not_passed",
        /// A position would hold less than its program's minimum stake.
        #[error("{program} stake must be at least {min}, the position would hold {got}")]
        StakeBelowMinimum { program: Program, min: u128, got: u128 } => "stake_below_minimum",
        /// Unbonding more than is bonded.
        #[error("the position has {bonded} bonded, {needed} asked")]
        InsufficientStake { bonded: u128, needed: u128 } => "insufficient_stake",
        /// The program's allowlist (or default role) does not admit the sender.
        #[error("may not join {program}: {reason}")]
        NotAllowlisted { program: Program, reason: String } => "not_allowlisted",
        /// The stream is paused: nothing accrues and nothing is paid until it resumes.
        #[error("stream {0} is paused")]
        StreamPaused(StreamId) => "stream_paused",
        /// Nothing is due (no matured unbonding, no owed rewards).
        #[error("nothing is due: {0}")]
        NothingDue(String) => "nothing_due",
        /// An action that a governance parameter forbids (a dataset version's challenge
        /// window below `challenge_window_min`, ...).
        #[error("parameter {parameter}: {reason}")]
        ParameterForbids { parameter: &'static str, reason: String } => "parameter_forbids",
        /// A bounded list is full.
        #[error("{what} holds at most {limit}")]
        LimitReached { what: &'static str, limit: usize } => "limit_reached",
    }
}
