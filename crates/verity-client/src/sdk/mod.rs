//! The workflow layer over [`Client`] that every front end shares (the CLI, tests, and
//! the Python SDK and web explorer to come), so none of them writes it again:
//!
//! - [`Signer`] signs actions for the keystore's accounts with the chain id read once
//!   and nonces tracked locally, so a run of transactions costs one account read per
//!   sender, not an account and a genesis read per transaction; a refused transaction
//!   (or one whose fate is unknown) makes it read the sender's nonce from the node again.
//! - [`Signer::submit`] submits, waits for the durable commit and returns one typed
//!   [`Outcome`] with the ledger's error code; [`Committed::committed`] turns anything but
//!   a successful commit into a [`ClientError`] carrying that code.
//! - Refusals for load (429, 503) are retried by the [`Client`] itself, honouring
//!   `Retry-After` ([`crate::http::RetryPolicy`]).
//! - [`proofs`]: the light client's bootstrap (a trusted genesis file, else the node's
//!   own genesis) and the composed verifications: a transaction's inclusion and receipt
//!   ([`proofs::verify_tx`]), a state value at a height, final through its own
//!   certificate or a descendant's ([`proofs::verify_state`]), and the log's consistency
//!   between two checkpoints ([`proofs::verify_consistency`]).
//! - [`dataset`]: a dataset version's manifest built from a folder
//!   ([`dataset::build`]), checked against the registry ([`dataset::check_manifest`]),
//!   published in chunks ([`dataset::publish`]), and one item's membership proof checked
//!   against given commitments or the ledger's record ([`dataset::verify_member`]).
//! - [`model`]: a training run's `RegisterRun` action ([`model::RunFile::register_run`]) and a
//!   fingerprinted model published with its run in one idempotent step
//!   ([`model::publish`]).
//!
//! Every function returns a typed result and a [`ClientError`]; printing is the front
//! end's. Slow local steps take a progress callback (`Fn(u64)`, units done) instead of
//! drawing anything.

pub mod dataset;
pub mod model;
pub mod proofs;

use std::collections::HashMap;

use verity_types::{AccountId, Action, SignedTransaction, Transaction};

use crate::error::ClientError;
pub use verity_api::tx::Outcome;

use crate::http::{Client, TxResult};
use crate::keystore::Keystore;

/// Turns a [`TxResult`] into the outcome a caller usually wants: a successful commit, or
/// an error saying which other [`Outcome`] it was.
pub trait Committed {
    /// This result if its transaction is committed and its action succeeded; otherwise
    /// the error that says which of the other [`Outcome`]s it is, with the ledger's code.
    fn committed(self) -> Result<TxResult, ClientError>;
}

impl Committed for TxResult {
    fn committed(self) -> Result<TxResult, ClientError> {
        let hash = self.hash.clone().unwrap_or_default();
        match self.outcome() {
            Outcome::Succeeded => Ok(self),
            Outcome::Failed { code, message } => Err(ClientError::ActionFailed { hash, code, message }),
            Outcome::Rejected { code, message } => Err(ClientError::Rejected { code, message }),
            Outcome::Pending => Err(ClientError::NotCommitted { hash }),
        }
    }
}

/// Signs and submits for the accounts of a keystore, tracking each sender's next nonce
/// locally.
pub struct Signer {
    client: Client,
    keystore: Keystore,
    chain_id: Option<String>,
    next_nonce: HashMap<AccountId, u64>,
}

impl Signer {
    pub fn new(client: Client, keystore: Keystore) -> Signer {
        Signer { client, keystore, chain_id: None, next_nonce: HashMap::new() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// The chain's id, read from the node once.
    pub async fn chain_id(&mut self) -> Result<String, ClientError> {
        if let Some(id) = &self.chain_id {
            return Ok(id.clone());
        }
        let id = self.client.genesis().await?.chain_id;
        self.chain_id = Some(id.clone());
        Ok(id)
    }

    /// Signs `action` as `signer` (a key name or the account it signs for) with the
    /// sender's next nonce, and counts that nonce as used.
    pub async fn sign(&mut self, signer: &str, action: Action) -> Result<SignedTransaction, ClientError> {
        let (sender, key) = self.keystore.find(signer)?;
        let chain_id = self.chain_id().await?;
        let nonce = match self.next_nonce.get(&sender) {
            Some(n) => *n,
            None => self.client.account(sender.as_str()).await?.nonce,
        };
        self.next_nonce.insert(sender.clone(), nonce + 1);
        Ok(Transaction { chain_id, sender, nonce, action }.sign(&key))
    }

    /// Forgets what this signer knows of `sender`'s nonce: the next transaction reads it
    /// from the node.
    pub fn forget_nonce(&mut self, sender: &AccountId) {
        self.next_nonce.remove(sender);
    }

    /// Checks `action` against the ledger's field rules, then [`Signer::submit`]s it and
    /// requires success ([`Committed::committed`]): the one call for a workflow step
    /// whose failure stops the workflow.
    pub async fn submit_committed(&mut self, signer: &str, action: Action) -> Result<TxResult, ClientError> {
        action.validate().map_err(|e| ClientError::invalid(format!("{} is not valid", action.name()), e))?;
        self.submit(signer, action).await?.committed()
    }

    /// Signs `action` as `signer`, submits it and waits for the commit. The result's
    /// [`TxResult::outcome`] says what happened; [`TxResult::committed`] makes anything
    /// but success an error. A transaction refused at admission, or one whose fate is
    /// unknown (a transport error), makes the next one read the nonce from the node.
    pub async fn submit(&mut self, signer: &str, action: Action) -> Result<TxResult, ClientError> {
        let tx = self.sign(signer, action).await?;
        let result = self.client.submit(&tx, true).await;
        let refused = match &result {
            Ok(r) => matches!(r.outcome(), Outcome::Rejected { .. }),
            Err(_) => true,
        };
        if refused {
            self.forget_nonce(&tx.tx.sender);
        }
        result
    }
}
