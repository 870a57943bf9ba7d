//! Content: licences, opt-outs, payout splits, content records and ownership disputes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{AccountId, OrgId};
use crate::limits::{LICENCES_PER_DATASET_MAX, PAYOUT_SPLITS_MAX};

use super::*;

/// Terms under which content may be used: an SPDX licence identifier, or the SHA-256 of
/// custom licence terms kept off the ledger.
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Licence {
    /// An SPDX licence identifier or expression such as `CC-BY-4.0` or `MIT`.
    Spdx(String),
    /// The SHA-256 of custom licence terms.
    Custom(Hash),
}

impl Licence {
    pub fn validate(&self) -> Result<(), TypesError> {
        match self {
            Licence::Spdx(id) => {
                let ok = !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
                if ok {
                    Ok(())
                } else {
                    Err(TypesError::InvalidField {
                        field: "licence",
                        reason: format!("{id:?} is not an SPDX identifier (1-64 of A-Z a-z 0-9 . - +)"),
                    })
                }
            }
            Licence::Custom(_) => Ok(()),
        }
    }
}

impl fmt::Display for Licence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Licence::Spdx(id) => f.write_str(id),
            Licence::Custom(h) => write!(f, "custom:{h}"),
        }
    }
}

impl FromStr for Licence {
    type Err = TypesError;
    /// `custom:<sha256 hex>` or an SPDX identifier.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let licence = match s.strip_prefix("custom:") {
            Some(hex) => Licence::Custom(hex.parse()?),
            None => Licence::Spdx(s.to_string()),
        };
        licence.validate()?;
        Ok(licence)
    }
}

/// Which training uses an opt-out forbids.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OptOutScope {
    /// Every training use.
    AllTraining,
    /// Training for a dataset whose policy marks it commercial.
    CommercialTraining,
    /// Uses under the named licences.
    Licences(Vec<Licence>),
}

impl OptOutScope {
    pub fn validate(&self) -> Result<(), TypesError> {
        if let OptOutScope::Licences(ls) = self {
            check_len("licences", ls, 1, LICENCES_PER_DATASET_MAX)?;
            check_sorted_unique("licences", ls, |l| l.clone())?;
            ls.iter().try_for_each(Licence::validate)?;
        }
        Ok(())
    }

    /// Whether the opt-out forbids using content under `licence` in a dataset with `policy`.
    pub fn forbids(&self, policy: &DatasetPolicy, licence: &Licence) -> bool {
        match self {
            OptOutScope::AllTraining => true,
            OptOutScope::CommercialTraining => policy.commercial,
            OptOutScope::Licences(ls) => ls.contains(licence),
        }
    }
}

/// A registered piece of content. Key: `prov/content/<hash hex>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Content {
    pub id: ContentId,
    pub media_type: String,
    pub licence: Licence,
    /// The creator: the account that registered (and signed) it.
    pub creator: AccountId,
    pub org: OrgId,
    /// Who is paid when the content earns revenue, in parts per million (sums to 10^6).
    pub payout: Vec<PayoutShare>,
    pub height: u64,
    /// The registering transaction (its signature is the creator's signature).
    pub tx: Hash,
    /// Every opt-out ever registered for it, oldest first (withdrawn ones stay).
    pub opt_outs: Vec<Hash>,
}

/// One recipient of a payout split.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayoutShare {
    pub account: AccountId,
    pub share_ppm: u32,
}

/// Checks a payout split: 1..=PAYOUT_SPLITS_MAX distinct accounts, shares summing to 10^6.
pub fn check_payout(payout: &[PayoutShare]) -> Result<(), TypesError> {
    check_len("payout", payout, 1, PAYOUT_SPLITS_MAX)?;
    check_sorted_unique("payout", payout, |p| p.account.clone())?;
    let mut sum = 0u64;
    for p in payout {
        p.account.validate()?;
        sum += u64::from(p.share_ppm);
    }
    if sum != PPM {
        return Err(TypesError::InvalidField {
            field: "payout",
            reason: format!("shares add up to {sum} ppm, not 1000000"),
        });
    }
    Ok(())
}

/// An opt-out. Key: `prov/optout/<id hex>`, id = the registering transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOut {
    pub id: Hash,
    pub content: ContentId,
    pub scope: OptOutScope,
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
    /// Set when withdrawn; the opt-out stays on record.
    pub withdrawn_height: Option<u64>,
}

/// One organisation's claim to a piece of content: what its registration said.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentClaim {
    /// The creator who registered (or tried to register) the content.
    pub claimant: AccountId,
    pub org: OrgId,
    pub media_type: String,
    pub licence: Licence,
    pub payout: Vec<PayoutShare>,
    pub height: u64,
    /// The registering transaction.
    pub tx: Hash,
}

/// How a content dispute ended.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeResolution {
    /// The claimant whose claim now stands as the content's registration.
    pub winner: AccountId,
    pub by: AccountId,
    pub reason: String,
    pub height: u64,
}

/// A contested registration: a creator of another organisation registered content that was
/// already registered. Both (or all) claims are kept; while the dispute is open the
/// content's opt-outs flag nothing already in use. Key: `prov/dispute/<id hex>`, id = the
/// hash of the transaction that opened it; `prov/disputes/<content hex>` lists a content's
/// disputes, oldest first.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentDispute {
    pub id: Hash,
    pub content: ContentId,
    /// The registration in force when the dispute opened first, then each contesting
    /// claim in ledger order (one per organisation).
    pub claims: Vec<ContentClaim>,
    pub height: u64,
    pub resolution: Option<DisputeResolution>,
}
