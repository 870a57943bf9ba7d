//! Test fixtures shared by Verity's crates, so that no crate's tests write their own:
//! deterministic keys named by account ([`secret`], [`pk`]), identifiers ([`acc`],
//! [`asset`], [`org`]), genesis files ([`GenesisBuilder`], [`one_org`], [`consortium`]),
//! signed transactions ([`sign`]), action builders ([`actions`]), the repository's paths
//! and the Python interop switch ([`repo`]), and a harness for node processes
//! ([`process::NodeProcess`]).
//!
//! # Status
//! Test support only: used as a dev-dependency, never by a product crate. It depends on
//! verity-types alone, so verity-state's own unit tests can use it too.

pub mod actions;
mod genesis;
pub mod process;
pub mod repo;

pub use genesis::{consortium, one_org, GenesisBuilder};

use verity_types::keys::SecretKey;
use verity_types::{
    consensus_namespace, sha256, AccountId, Action, AssetId, Equivocation, Hash, OrgId, PublicKey, Signature,
    SignedTransaction, SignedVote, Transaction, VoteKind,
};

/// The deterministic key of a named account, validator or signer: the same name gives
/// the same key in every test and every crate.
pub fn secret(name: &str) -> SecretKey {
    SecretKey::from_seed(sha256(name.as_bytes()).0)
}

/// The public key of [`secret`]`(name)`.
pub fn pk(name: &str) -> PublicKey {
    secret(name).public_key()
}

/// An account id (panics on an invalid one: test fixtures are written by hand).
pub fn acc(s: &str) -> AccountId {
    AccountId::new(s).expect("a valid test account id")
}

/// An asset id.
pub fn asset(s: &str) -> AssetId {
    AssetId::new(s).expect("a valid test asset id")
}

/// An organisation id.
pub fn org(s: &str) -> OrgId {
    OrgId::new(s).expect("a valid test organisation id")
}

/// `action` from `sender` at `nonce` on `chain_id`, signed with `sender`'s deterministic key.
pub fn sign(chain_id: &str, sender: &str, nonce: u64, action: Action) -> SignedTransaction {
    sign_with(chain_id, sender, &secret(sender), nonce, action)
}

/// `action` from `sender` at `nonce` on `chain_id`, signed with `key`.
pub fn sign_with(chain_id: &str, sender: &str, key: &SecretKey, nonce: u64, action: Action) -> SignedTransaction {
    Transaction { chain_id: chain_id.into(), sender: acc(sender), nonce, action }.sign(key)
}

/// Equivocation evidence: `validator` signed two finalize votes for different blocks in
/// one round (epoch 0, view 42) of `chain_id`'s consensus.
pub fn equivocation(validator: &SecretKey, chain_id: &str) -> Equivocation {
    let ns = consensus_namespace(chain_id);
    let vote = |payload: u8| {
        let mut v = SignedVote {
            kind: VoteKind::Finalize,
            epoch: 0,
            view: 42,
            parent_view: 41,
            payload: Hash([payload; 32]),
            signature: Signature([0; 64]),
        };
        v.signature = validator.sign(&v.signed_bytes(&ns));
        v
    };
    Equivocation { validator: validator.public_key(), first: vote(1), second: vote(2) }
}
