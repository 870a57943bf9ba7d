//! The registry of actions: the [`Action`] enum a transaction carries, one variant per
//! action. Each action is a struct in its domain's module ([`crate::identity`],
//! [`crate::bank`], [`crate::provenance`], [`crate::consensus`]) with its own stateless
//! `validate`; this file only lists them, in borsh tag order.
//!
//! Variants are only ever appended: the borsh tag is the position in this list, and the
//! JSON `type` is the name beside each variant. A new domain's actions are added as a new
//! group at the end.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::bank::{Burn, EscrowLock, EscrowRefund, EscrowRelease, Mint, Transfer};
use crate::consensus::{ChangeValidators, ReportEquivocation};
use crate::error::TypesError;
use crate::governance::{
    AttachAnalysis, Bond, CancelProposal, ClaimRewards, CouncilAct, ExecuteProposal, FundTreasury, Propose, Ratify,
    Unbond, Veto, Vote, Withdraw,
};
use crate::identity::{CreateAccount, GrantRole, RevokeRole, RotateKey};
use crate::provenance::{
    AddDatasetItems, AnswerChallenge, ApproveGateChange, ChallengeItem, CorrectDecision, Deploy, Deprecate, LiftFlags,
    OptOutContent, PublishDataset, RecordDecision, RegisterContent, RegisterModel, RegisterModelVersion, RegisterRun,
    ResolveChallenge, ResolveContentDispute, RevokeAttestation, Rollback, SetChallengeReview, SetGate, SetGateRules,
    SetRiskPolicy, SubmitAttestation, WithdrawOptOut,
};

/// Declares [`Action`] from groups of `Variant(Struct) = "json_name"` lines, one group
/// per domain (a domain may have several groups, since variants are only appended), and
/// derives from the list what every action has: its name, its domain, its stateless
/// checks and a `From` conversion from its struct.
macro_rules! actions {
    ($($module:ident { $($variant:ident($ty:ident) = $name:literal,)* })*) => {
        /// One typed action. Each names the roles allowed to take it (see verity-state).
        #[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
        #[serde(tag = "type")]
        #[borsh(use_discriminant = false)]
        pub enum Action {
            $($(
                #[doc = concat!("See [`", stringify!($ty), "`].")]
                #[serde(rename = $name)]
                $variant($ty),
            )*)*
        }

        impl Action {
            /// The domain the action belongs to (used for event filters and metrics).
            pub fn module(&self) -> &'static str {
                match self {
                    $($(Action::$variant(_) => stringify!($module),)*)*
                }
            }

            /// The action's snake_case name (its JSON `type`).
            pub fn name(&self) -> &'static str {
                match self {
                    $($(Action::$variant(_) => $name,)*)*
                }
            }

            /// Stateless checks: identifiers follow the rules, lists and texts are within
            /// their limits. Run at admission and again at execution.
            pub fn validate(&self) -> Result<(), TypesError> {
                match self {
                    $($(Action::$variant(a) => a.validate(),)*)*
                }
            }
        }

        #[cfg(feature = "openapi")]
        crate::openapi::tagged_structs_schema!(Action, $($(($name, $ty)),*),*);

        $($(
            impl From<$ty> for Action {
                fn from(action: $ty) -> Self {
                    Action::$variant(action)
                }
            }
        )*)*
    };
}

actions! {
    identity {
        CreateAccount(CreateAccount) = "create_account",
        GrantRole(GrantRole) = "grant_role",
        RevokeRole(RevokeRole) = "revoke_role",
        RotateKey(RotateKey) = "rotate_key",
    }
    bank {
        Transfer(Transfer) = "transfer",
        Mint(Mint) = "mint",
        Burn(Burn) = "burn",
        EscrowLock(EscrowLock) = "escrow_lock",
        EscrowRelease(EscrowRelease) = "escrow_release",
        EscrowRefund(EscrowRefund) = "escrow_refund",
    }
    provenance {
        RegisterContent(RegisterContent) = "register_content",
        OptOut(OptOutContent) = "opt_out",
        WithdrawOptOut(WithdrawOptOut) = "withdraw_opt_out",
        PublishDataset(PublishDataset) = "publish_dataset",
        AddDatasetItems(AddDatasetItems) = "add_dataset_items",
        ChallengeItem(ChallengeItem) = "challenge_item",
        AnswerChallenge(AnswerChallenge) = "answer_challenge",
        ResolveChallenge(ResolveChallenge) = "resolve_challenge",
        RegisterRun(RegisterRun) = "register_run",
        RegisterModel(RegisterModel) = "register_model",
        RegisterModelVersion(RegisterModelVersion) = "register_model_version",
        SubmitAttestation(SubmitAttestation) = "submit_attestation",
        RevokeAttestation(RevokeAttestation) = "revoke_attestation",
        SetGate(SetGate) = "set_gate",
        Deploy(Deploy) = "deploy",
        Rollback(Rollback) = "rollback",
        Deprecate(Deprecate) = "deprecate",
        RecordDecision(RecordDecision) = "record_decision",
        CorrectDecision(CorrectDecision) = "correct_decision",
    }
    consensus {
        ReportEquivocation(ReportEquivocation) = "report_equivocation",
        ChangeValidators(ChangeValidators) = "change_validators",
    }
    provenance {
        SetChallengeReview(SetChallengeReview) = "set_challenge_review",
        LiftFlags(LiftFlags) = "lift_flags",
        ResolveContentDispute(ResolveContentDispute) = "resolve_content_dispute",
        SetRiskPolicy(SetRiskPolicy) = "set_risk_policy",
        SetGateRules(SetGateRules) = "set_gate_rules",
        ApproveGateChange(ApproveGateChange) = "approve_gate_change",
    }
    governance {
        Propose(Propose) = "propose",
        Vote(Vote) = "vote",
        Veto(Veto) = "veto",
        Ratify(Ratify) = "ratify",
        ExecuteProposal(ExecuteProposal) = "execute_proposal",
        CancelProposal(CancelProposal) = "cancel_proposal",
        AttachAnalysis(AttachAnalysis) = "attach_analysis",
        CouncilAct(CouncilAct) = "council_act",
        FundTreasury(FundTreasury) = "fund_treasury",
        Bond(Bond) = "bond",
        Unbond(Unbond) = "unbond",
        Withdraw(Withdraw) = "withdraw",
        ClaimRewards(ClaimRewards) = "claim_rewards",
    }
}
