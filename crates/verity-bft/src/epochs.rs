//! Validator sets by epoch, as the engine's certificate-scheme provider.
//!
//! Marshal verifies every finalization it receives (from the engine, or from peers
//! while catching up) with the scheme of the finalization's epoch, and each epoch's
//! simplex engine signs with it. Both come from here: the set of epoch `e` is read from
//! the committed state once the boundary block of epoch `e − 1` is committed (the ledger
//! refuses to name a set it does not know yet, so a finalization of a later epoch waits
//! until this validator has caught up to it). A validator in the set gets a signing
//! scheme; one outside it (removed, or not yet added) a verify-only one, with which its
//! engine follows the epoch without voting.

use std::collections::BTreeMap;
use std::sync::Arc;

use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::types::{Epoch, Epocher, FixedEpocher, Height};
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_cryptography::ed25519;
use commonware_utils::ordered::Set;
use commonware_utils::NZU64;
use parking_lot::Mutex;

use crate::keys::participants;
use crate::ledger::Ledger;

/// The engine's epocher for a ledger: fixed epochs of the genesis length, or one
/// endless epoch when the chain has none.
pub fn epocher(ledger: &Ledger) -> FixedEpocher {
    match ledger.epoch_length() {
        0 => FixedEpocher::new(NZU64!(1 << 40)),
        n => FixedEpocher::new(std::num::NonZeroU64::new(n.max(2)).expect("positive")),
    }
}

/// The height of the last block of `epoch`.
pub fn last_height(epocher: &FixedEpocher, epoch: Epoch) -> Height {
    epocher.last(epoch).expect("epochs of a u64 height range")
}

/// One epoch's participants and scheme.
#[derive(Clone)]
pub struct EpochScheme {
    /// The epoch's validator set, in Verity's order.
    pub set: Arc<verity_types::ValidatorSet>,
    pub participants: Set<ed25519::PublicKey>,
    pub scoped: Scoped<Scheme>,
    /// The scheme itself (a signer if this validator is in the set, else a verifier).
    pub scheme: Arc<Scheme>,
}

/// Schemes by epoch for one validator.
#[derive(Clone)]
pub struct EpochSchemes {
    ledger: Arc<Ledger>,
    namespace: Arc<Vec<u8>>,
    key: ed25519::PrivateKey,
    cache: Arc<Mutex<BTreeMap<u64, EpochScheme>>>,
}

impl EpochSchemes {
    pub fn new(ledger: Arc<Ledger>, namespace: Vec<u8>, key: ed25519::PrivateKey) -> Self {
        EpochSchemes { ledger, namespace: Arc::new(namespace), key, cache: Arc::default() }
    }

    /// The epoch's participants and scheme, if the committed state knows its set.
    pub fn get(&self, epoch: Epoch) -> Option<EpochScheme> {
        if let Some(s) = self.cache.lock().get(&epoch.get()) {
            return Some(s.clone());
        }
        let set = self.ledger.validators_at(epoch.get()).ok()?;
        let parts = participants(&set).ok()?;
        let (scoped, scheme) = match Scheme::signer(&self.namespace, parts.clone(), self.key.clone()) {
            Some(s) => {
                let s = Arc::new(s);
                (Scoped::scheme(s.clone()), s)
            }
            None => {
                let s = Arc::new(Scheme::verifier(&self.namespace, parts.clone()));
                (Scoped::verifier(s.clone()), s)
            }
        };
        let out = EpochScheme { set, participants: parts, scoped, scheme };
        let mut cache = self.cache.lock();
        // Only the newest few epochs are asked for again.
        while cache.len() >= 8 {
            let Some(oldest) = cache.keys().next().copied() else { break };
            cache.remove(&oldest);
        }
        cache.insert(epoch.get(), out.clone());
        Some(out)
    }
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Scheme>> {
        self.get(epoch).map(|s| s.scoped)
    }
}
