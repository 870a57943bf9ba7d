//! Validator-set changes: add a validator, remove one, or rotate one's key, taking
//! effect at the first block of a named epoch, approved by the admins of more than two
//! thirds of the organisations.
//!
//! A BFT chain's genesis names its epoch length `E`: epoch `e` holds heights `e·E ..
//! e·E + E − 1` (genesis, height 0, is in epoch 0). A change for epoch `e` is executed in
//! an earlier epoch, waits in the state, and is applied when the last block of epoch
//! `e − 1` (its *boundary block*, height `e·E − 1`) executes; every block of epoch `e`
//! names the new set in its header and is certified by it. Approvals are Ed25519
//! signatures of org admins over [`ValidatorChange::signing_bytes`], which binds the
//! chain id and the epoch, so an approval cannot be replayed on another chain or for
//! another epoch.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::block::{Validator, ValidatorSet};
use crate::encoding::encode;
use crate::error::TypesError;
use crate::hash::sha256_parts;
use crate::ids::{AccountId, OrgId};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::{APPROVALS_MAX, GENESIS_ENTRIES_MAX, VALIDATOR_OPS_MAX};

/// One operation on the validator set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ValidatorOp {
    /// A new validator of `org`, with the same voting power as the others (BFT votes
    /// count one per validator). It is appended to the set.
    Add { org: OrgId, public_key: PublicKey },
    /// The validator with this key leaves the set.
    Remove { public_key: PublicKey },
    /// The validator keeps its place, organisation and power under a new key.
    Rotate { old: PublicKey, new: PublicKey },
}

/// A change to the validator set, in force from the first block of `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorChange {
    pub epoch: u64,
    pub ops: Vec<ValidatorOp>,
}

/// An org admin's signature over a change.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub account: AccountId,
    pub signature: Signature,
}

fn invalid(reason: impl Into<String>) -> TypesError {
    TypesError::InvalidField { field: "validator_change", reason: reason.into() }
}

impl ValidatorChange {
    /// The bytes an approving admin signs.
    pub fn signing_bytes(&self, chain_id: &str) -> Vec<u8> {
        let digest = sha256_parts(&[b"verity/validator-change/v1\0", &encode(&(chain_id, self))]);
        [b"verity/validator-change/v1\0".as_slice(), digest.as_bytes()].concat()
    }

    /// An admin's approval of this change on `chain_id`.
    pub fn approve(&self, chain_id: &str, account: AccountId, key: &SecretKey) -> Approval {
        Approval { account, signature: key.sign(&self.signing_bytes(chain_id)) }
    }

    /// Stateless checks: a bounded, non-empty list of operations on valid keys.
    pub fn validate(&self) -> Result<(), TypesError> {
        if self.ops.is_empty() {
            return Err(invalid("a change needs at least one operation"));
        }
        if self.ops.len() > VALIDATOR_OPS_MAX {
            return Err(TypesError::TooLarge { what: "validator ops", size: self.ops.len(), limit: VALIDATOR_OPS_MAX });
        }
        for op in &self.ops {
            match op {
                ValidatorOp::Add { org, public_key } => {
                    org.validate()?;
                    public_key.validate()?;
                }
                ValidatorOp::Remove { public_key } => {
                    public_key.to_dalek()?;
                }
                ValidatorOp::Rotate { old, new } => {
                    old.to_dalek()?;
                    new.validate()?;
                }
            }
        }
        Ok(())
    }

    /// The set after applying the operations in order to `set`. Refused: adding a key
    /// already in the set, removing or rotating a key not in it, an empty result.
    pub fn apply(&self, set: &ValidatorSet) -> Result<ValidatorSet, TypesError> {
        self.validate()?;
        let power = set.validators.first().map(|v| v.power).unwrap_or(1);
        let mut out = set.validators.clone();
        let position = |out: &[Validator], key: &PublicKey| out.iter().position(|v| v.public_key == *key);
        for op in &self.ops {
            match op {
                ValidatorOp::Add { org, public_key } => {
                    if position(&out, public_key).is_some() {
                        return Err(invalid(format!("{public_key} is already a validator")));
                    }
                    out.push(Validator { org: org.clone(), public_key: *public_key, power });
                }
                ValidatorOp::Remove { public_key } => {
                    let i = position(&out, public_key)
                        .ok_or_else(|| invalid(format!("{public_key} is not a validator")))?;
                    out.remove(i);
                }
                ValidatorOp::Rotate { old, new } => {
                    let i = position(&out, old).ok_or_else(|| invalid(format!("{old} is not a validator")))?;
                    if position(&out, new).is_some() {
                        return Err(invalid(format!("{new} is already a validator")));
                    }
                    out[i].public_key = *new;
                }
            }
        }
        if out.is_empty() {
            return Err(invalid("the change would leave no validator"));
        }
        if out.len() > GENESIS_ENTRIES_MAX {
            return Err(TypesError::TooLarge { what: "validators", size: out.len(), limit: GENESIS_ENTRIES_MAX });
        }
        Ok(ValidatorSet { validators: out })
    }
}

/// Stateless checks of an approval list: bounded, one approval per account.
pub fn validate_approvals(approvals: &[Approval]) -> Result<(), TypesError> {
    if approvals.len() > APPROVALS_MAX {
        return Err(TypesError::TooLarge { what: "approvals", size: approvals.len(), limit: APPROVALS_MAX });
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in approvals {
        a.account.validate()?;
        if !seen.insert(&a.account) {
            return Err(invalid(format!("{} approves twice", a.account)));
        }
    }
    Ok(())
}

/// The state key of the validator set that took effect at the start of `epoch`
/// (written for epoch 0 at genesis and for each epoch where a change took effect).
pub fn epoch_set_key(epoch: u64) -> Vec<u8> {
    format!("consensus/epochs/{epoch:020}").into_bytes()
}

/// Evidence that the validator set changed at the start of `epoch`, for light clients:
/// the boundary block (the last of epoch `epoch − 1`) with its own certificate, signed
/// by the set of that epoch, and a proof against its state root that the state holds
/// `validators` under [`epoch_set_key`]`(epoch)`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetTransition {
    pub epoch: u64,
    pub boundary: crate::block::Checkpoint,
    pub validators: ValidatorSet,
    pub proof: crate::proof::StateProof,
}

/// Evidence that the validator set did *not* change at the start of `epoch`: the
/// boundary block (the last of epoch `epoch − 1`) with its own certificate, signed by the
/// set of that epoch, and a proof against its state root that nothing is stored under
/// [`epoch_set_key`]`(epoch)`. With the [`SetTransition`]s, one per epoch boundary: a
/// light client that follows them all cannot be handed a checkpoint signed by a set that
/// was replaced at a boundary it was not shown.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetUnchanged {
    pub epoch: u64,
    pub boundary: crate::block::Checkpoint,
    pub proof: crate::proof::StateProof,
}

/// The epoch holding `height` on a chain of epochs of `epoch_length` blocks.
pub fn epoch_of(height: u64, epoch_length: u64) -> u64 {
    height.checked_div(epoch_length).unwrap_or(0)
}

/// The height of the last block of `epoch` (its boundary block), if epochs are on.
pub fn boundary_height(epoch: u64, epoch_length: u64) -> Option<u64> {
    if epoch_length == 0 {
        return None;
    }
    epoch.checked_add(1)?.checked_mul(epoch_length)?.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> PublicKey {
        SecretKey::from_seed([i; 32]).public_key()
    }

    fn set(keys: &[u8]) -> ValidatorSet {
        ValidatorSet {
            validators: keys
                .iter()
                .map(|&i| Validator { org: OrgId::new(format!("o{i}")).expect("id"), public_key: key(i), power: 3 })
                .collect(),
        }
    }

    #[test]
    fn operations_apply_in_order_and_keep_places() {
        let s = set(&[1, 2, 3, 4]);
        let c = ValidatorChange {
            epoch: 2,
            ops: vec![
                ValidatorOp::Add { org: OrgId::new("o5").expect("id"), public_key: key(5) },
                ValidatorOp::Remove { public_key: key(2) },
                ValidatorOp::Rotate { old: key(3), new: key(9) },
            ],
        };
        let out = c.apply(&s).expect("applies");
        let keys: Vec<PublicKey> = out.validators.iter().map(|v| v.public_key).collect();
        assert_eq!(keys, vec![key(1), key(9), key(4), key(5)]);
        assert!(out.validators.iter().all(|v| v.power == 3), "added validators get the set's power");
        assert_eq!(out.validators[1].org.as_str(), "o3", "a rotated key keeps its organisation");
    }

    #[test]
    fn impossible_operations_are_refused() {
        let s = set(&[1, 2]);
        let one = |op| ValidatorChange { epoch: 1, ops: vec![op] };
        assert!(one(ValidatorOp::Add { org: OrgId::new("o1").expect("id"), public_key: key(1) }).apply(&s).is_err());
        assert!(one(ValidatorOp::Remove { public_key: key(7) }).apply(&s).is_err());
        assert!(one(ValidatorOp::Rotate { old: key(7), new: key(8) }).apply(&s).is_err());
        assert!(one(ValidatorOp::Rotate { old: key(1), new: key(2) }).apply(&s).is_err());
        let all = ValidatorChange {
            epoch: 1,
            ops: vec![ValidatorOp::Remove { public_key: key(1) }, ValidatorOp::Remove { public_key: key(2) }],
        };
        assert!(all.apply(&s).is_err(), "a set cannot become empty");
        assert!(ValidatorChange { epoch: 1, ops: vec![] }.validate().is_err());
    }

    #[test]
    fn approvals_bind_chain_and_epoch() {
        let admin = SecretKey::from_seed([42; 32]);
        let c = ValidatorChange { epoch: 3, ops: vec![ValidatorOp::Remove { public_key: key(1) }] };
        let a = c.approve("chain-a", AccountId::new("admin").expect("id"), &admin);
        assert!(admin.public_key().verify(&c.signing_bytes("chain-a"), &a.signature).is_ok());
        assert!(admin.public_key().verify(&c.signing_bytes("chain-b"), &a.signature).is_err());
        let later = ValidatorChange { epoch: 4, ..c.clone() };
        assert!(admin.public_key().verify(&later.signing_bytes("chain-a"), &a.signature).is_err());
        assert!(validate_approvals(&[a.clone(), a]).is_err(), "one approval per account");
    }

    #[test]
    fn epochs_partition_heights() {
        assert_eq!(epoch_of(0, 10), 0);
        assert_eq!(epoch_of(9, 10), 0);
        assert_eq!(epoch_of(10, 10), 1);
        assert_eq!(boundary_height(0, 10), Some(9));
        assert_eq!(boundary_height(2, 10), Some(29));
        assert_eq!(boundary_height(2, 0), None);
        assert_eq!(epoch_of(123, 0), 0);
    }
}
