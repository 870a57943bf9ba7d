//! Composed verification flows: where a light client's trust starts, and the checks a
//! front end runs against it, each returning what it established as a typed value.
//!
//! Trust starts at a genesis: one the caller trusts (a file it holds), or, failing that,
//! the node's own, which [`Bootstrap::from_node`] flags so the front end can say so.
//! [`light_client`] then follows every validator-set change the node reports, each
//! verified against the set before it, so checkpoints of any epoch verify.

use std::fmt;
use std::path::Path;

use verity_types::proof::ConsistencyProof;
use verity_types::{Checkpoint, EvidenceRecord, Genesis, Hash, StateProof, TxStatus};

use crate::error::ClientError;
use crate::http::{Client, TxView};
use crate::note::{self, NoteCheckpoint};
use crate::verify::{self, LightClient, ReceiptCheck};

/// Reads a genesis file.
pub fn read_genesis(path: &Path) -> Result<Genesis, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|e| ClientError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| ClientError::Input(format!("{} is not a genesis file: {e}", path.display())))
}

/// The genesis the caller trusts: the file at `explicit` (which must exist), else the
/// one at `fallback` if there is one, else none.
pub fn trusted_genesis(explicit: Option<&Path>, fallback: &Path) -> Result<Option<Genesis>, ClientError> {
    let path = explicit.unwrap_or(fallback);
    if !path.exists() {
        if explicit.is_some() {
            return Err(ClientError::Input(format!("genesis file {} does not exist", path.display())));
        }
        return Ok(None);
    }
    read_genesis(path).map(Some)
}

/// The genesis a light client starts from.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub genesis: Genesis,
    /// The caller trusted no genesis and this is the node's own: what verifies against
    /// it shows the node is consistent, not that it is the chain the caller meant.
    pub from_node: bool,
}

/// `trusted` if the caller has one, else the node's own genesis.
pub async fn bootstrap(client: &Client, trusted: Option<Genesis>) -> Result<Bootstrap, ClientError> {
    Ok(match trusted {
        Some(genesis) => Bootstrap { genesis, from_node: false },
        None => Bootstrap { genesis: client.genesis().await?, from_node: true },
    })
}

/// A light client trusting `genesis`, having followed every validator-set change the
/// node reports (each verified against the set before it).
pub async fn light_client(client: &Client, genesis: &Genesis) -> Result<LightClient, ClientError> {
    let mut lc = LightClient::new(genesis);
    if genesis.epoch_length > 0 {
        let changes = client.validator_changes().await?;
        lc.follow_epochs(&changes.transitions, &changes.unchanged)?;
    }
    Ok(lc)
}

/// What [`verify_tx`] established about a committed transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxVerification {
    /// The transaction's index in the log.
    pub log_index: u64,
    /// The log size of the checkpoint the inclusion was checked under.
    pub log_size: u64,
    /// The height of that checkpoint.
    pub checkpoint_height: u64,
    /// The height of the block whose receipt this is.
    pub receipt_height: u64,
    /// The receipt says the action succeeded.
    pub succeeded: bool,
    /// Whether the receipt is the one its block's header commits to.
    pub receipt_check: ReceiptCheck,
}

impl TxVerification {
    /// The receipt is committed to by its block's header (not merely served).
    pub fn receipt_authenticated(&self) -> bool {
        self.receipt_check == ReceiptCheck::Committed
    }
}

/// One sentence saying what was verified.
impl fmt::Display for TxVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "included at log index {} of {} under the checkpoint at height {} signed by its epoch's validators \
             (followed from the trusted genesis)",
            self.log_index, self.log_size, self.checkpoint_height
        )?;
        match self.receipt_check {
            ReceiptCheck::Committed => write!(
                f,
                "; its receipt ({}) is the one block {}'s header commits to",
                if self.succeeded { "success" } else { "failed" },
                self.receipt_height
            ),
            ReceiptCheck::Unauthenticated => write!(
                f,
                "; its receipt is NOT authenticated (block {} has a version 1 header, written before headers \
                 committed to receipts)",
                self.receipt_height
            ),
        }
    }
}

/// Verifies a transaction the node showed (`t`) against `lc`: included in the log under
/// the newest checkpoint covering it, and its receipt the one its block's header commits
/// to ([`Client::verify_tx`]).
pub async fn verify_tx(client: &Client, lc: &mut LightClient, t: &TxView) -> Result<TxVerification, ClientError> {
    let v = client.verify_tx(lc, t).await?;
    // `Client::verify_tx` refuses a view without these; a missing one is a node's lie.
    let (Some(proof), Some(receipt)) = (&t.inclusion_proof, &t.receipt) else {
        return Err(ClientError::Protocol(format!("transaction {} has no inclusion proof or receipt", t.hash)));
    };
    Ok(TxVerification {
        log_index: proof.leaf_index,
        log_size: proof.tree_size,
        checkpoint_height: v.checkpoint.header.height,
        receipt_height: receipt.height,
        succeeded: receipt.status == TxStatus::Success,
        receipt_check: v.receipt_check,
    })
}

/// A state value (or its absence) proven at a height.
#[derive(Clone, Debug)]
pub struct VerifiedState {
    /// The height whose state root the proof was checked against.
    pub height: u64,
    /// That block's state root, from its trusted header.
    pub state_root: Hash,
    /// The proof; its `value` is the key's value, `None` for a proven absence.
    pub proof: StateProof,
}

impl VerifiedState {
    /// The key's value, or `None` if the key is proven absent.
    pub fn value(&self) -> Option<&[u8]> {
        self.proof.value.as_deref()
    }
}

/// Proves `key`'s value (or absence) at `height` (default: the node's latest) against
/// `lc`. The block's header is trusted through its own checkpoint or, for a block final
/// only through a descendant's certificate, that descendant's checkpoint and the parent
/// hashes down to it ([`Client::trusted_header`]); the light client catches up through
/// any validator-set change on the way.
pub async fn verify_state(
    client: &Client,
    lc: &mut LightClient,
    key: &str,
    height: Option<u64>,
) -> Result<VerifiedState, ClientError> {
    if height == Some(0) {
        return Err(genesis_has_no_checkpoint());
    }
    let p = client.state_proof(key, height).await?;
    if p.height == 0 {
        return Err(genesis_has_no_checkpoint());
    }
    if p.proof.key != key.as_bytes() {
        return Err(ClientError::Verify("the node answered a proof for a different key".into()));
    }
    let header = client.trusted_header(lc, p.height).await?;
    p.proof
        .verify(&header.state_root)
        .map_err(|e| ClientError::Verify(format!("state proof at height {}: {e}", p.height)))?;
    Ok(VerifiedState { height: p.height, state_root: header.state_root, proof: p.proof })
}

fn genesis_has_no_checkpoint() -> ClientError {
    ClientError::Input("height 0 is genesis: it has no signed checkpoint; ask for a height >= 1".into())
}

/// Two checkpoints, both verified, and the proof that the newer log extends the older.
#[derive(Clone, Debug)]
pub struct VerifiedConsistency {
    pub old: Checkpoint,
    pub new: Checkpoint,
    pub proof: ConsistencyProof,
}

/// Proves that the log at `new_height` (default: the latest checkpoint) extends the log
/// at `old_height`, both checkpoints verified against `lc`.
pub async fn verify_consistency(
    client: &Client,
    lc: &mut LightClient,
    old_height: u64,
    new_height: Option<u64>,
) -> Result<VerifiedConsistency, ClientError> {
    let old = client.checkpoint(old_height).await?.checkpoint;
    let new = match new_height {
        Some(h) => client.checkpoint(h).await?.checkpoint,
        None => client.latest_checkpoint().await?.checkpoint,
    };
    client.catch_up(lc, new.header.height).await?;
    lc.verify_checkpoint(&old)?;
    lc.verify_checkpoint(&new)?;
    let proof = client.consistency(old.header.log_size, new.header.log_size).await?;
    verify::verify_consistency(&old, &new, &proof)?;
    Ok(VerifiedConsistency { old, new, proof })
}

/// A checkpoint note carrying the signatures of every validator asked, verified.
#[derive(Clone, Debug)]
pub struct VerifiedNote {
    /// The merged note (C2SP signed-note text), as a transparency-log witness reads it.
    pub note: Vec<u8>,
    /// What the note states, and which validators' signatures verified.
    pub checkpoint: NoteCheckpoint,
}

/// The checkpoint note of `height` (a number or `latest`) from `client`, merged with
/// the notes `others` sign for the same block, and verified against `lc` (caught up to
/// the block's epoch first). A node among `others` that fails is named in the error.
pub async fn checkpoint_note(
    client: &Client,
    lc: &mut LightClient,
    height: &str,
    others: &[Client],
) -> Result<VerifiedNote, ClientError> {
    let first = client.checkpoint_note(height).await?;
    // The other validators sign the same checkpoint: the block of the first note.
    let block_height = note::note_height(&first, lc.chain_id())?;
    let mut notes = vec![first];
    for other in others {
        let answer = other.checkpoint_note(&block_height.to_string()).await;
        notes.push(answer.map_err(|e| ClientError::Protocol(format!("asking {}: {e}", other.base())))?);
    }
    let note = note::merge_notes(&notes)?;
    client.catch_up(lc, block_height).await?;
    let checkpoint = note::verify_checkpoint_note(&note, lc)?;
    Ok(VerifiedNote { note, checkpoint })
}

/// Checks equivocation evidence offline: each record names a validator of `trusted`'s
/// genesis set, both of its signed votes verify for `trusted`'s chain, and they are the
/// offence the node says they are. The first record that fails is the error.
pub fn verify_evidence(trusted: &Genesis, records: &[EvidenceRecord]) -> Result<(), ClientError> {
    for e in records {
        let v = &e.evidence;
        if !trusted.validators.iter().any(|t| t.public_key == v.validator) {
            return Err(ClientError::Verify(format!(
                "evidence {} names {}, which is not a genesis validator",
                e.sequence,
                v.validator.to_hex()
            )));
        }
        let offence = v
            .verify(&trusted.chain_id)
            .map_err(|err| ClientError::Verify(format!("evidence {} does not verify: {err}", e.sequence)))?;
        if offence != e.offence {
            return Err(ClientError::Verify(format!(
                "evidence {} is a {offence}, the node says {}",
                e.sequence, e.offence
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evidence verifies only as what it is, by a validator of the trusted genesis, on the
    /// trusted chain: each of the three ways a node could misreport it is refused.
    #[test]
    fn evidence_is_checked_against_the_trusted_genesis() {
        use verity_types::Offence;
        let genesis = verity_testkit::consortium("evidence-chain", 4);
        let record = |key: &str, chain: &str, offence: Offence| EvidenceRecord {
            sequence: 3,
            offence,
            org: verity_testkit::org("org1"),
            evidence: verity_testkit::equivocation(&verity_testkit::secret(key), chain),
            reported_by: verity_testkit::acc("admin0"),
            height: 9,
            tx_hash: Hash([7; 32]),
        };
        let good = record("validator1", "evidence-chain", Offence::ConflictingFinalize);
        verify_evidence(&genesis, std::slice::from_ref(&good)).expect("genuine evidence verifies");
        let cases = [
            (record("stranger", "evidence-chain", Offence::ConflictingFinalize), "not a genesis validator"),
            (record("validator1", "another-chain", Offence::ConflictingFinalize), "does not verify"),
            (record("validator1", "evidence-chain", Offence::ConflictingNotarize), "the node says"),
        ];
        for (bad, why) in cases {
            let err = verify_evidence(&genesis, &[good.clone(), bad]).expect_err(why);
            assert!(matches!(&err, ClientError::Verify(m) if m.contains(why) && m.contains("evidence 3")), "{err}");
        }
    }

    #[test]
    fn trusted_genesis_prefers_the_explicit_file_and_needs_it_to_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let absent = dir.path().join("absent.json");
        assert!(trusted_genesis(None, &absent).expect("no file, no trust").is_none());
        let err = trusted_genesis(Some(&absent), &absent).expect_err("a named file must exist");
        assert!(err.to_string().contains("does not exist"), "{err}");
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, b"{not json").expect("write");
        let err = trusted_genesis(None, &junk).expect_err("junk is no genesis");
        assert!(matches!(err, ClientError::Input(_)), "{err}");
    }

    #[test]
    fn a_verification_says_what_it_established() {
        let mut v = TxVerification {
            log_index: 4,
            log_size: 9,
            checkpoint_height: 7,
            receipt_height: 6,
            succeeded: true,
            receipt_check: ReceiptCheck::Committed,
        };
        assert!(v.receipt_authenticated());
        assert_eq!(
            v.to_string(),
            "included at log index 4 of 9 under the checkpoint at height 7 signed by its epoch's validators \
             (followed from the trusted genesis); its receipt (success) is the one block 6's header commits to"
        );
        v.receipt_check = ReceiptCheck::Unauthenticated;
        assert!(!v.receipt_authenticated());
        assert!(v
            .to_string()
            .ends_with("(block 6 has a version 1 header, written before headers committed to receipts)"));
    }
}
