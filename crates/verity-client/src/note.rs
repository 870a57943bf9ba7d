//! Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note), so
//! that transparency-log witnesses and verifiers that know nothing of Verity can consume
//! and cosign them.
//!
//! The note text is a tlog-checkpoint of the transaction log:
//!
//! ```text
//! verity-checkpoint/<chain id>
//! <log size>
//! <log root, base64>
//! block <height> <header hash, hex>
//! ```
//!
//! The log is RFC 6962 with SHA-256, exactly as tlog-checkpoint expects: leaf `i` is the
//! `i`-th committed transaction, its leaf hash `SHA-256(0x00 || tx hash)` where the
//! transaction hash is `SHA-256(borsh(signed transaction))` (`SignedTransaction::hash`),
//! so a transaction's inclusion proof (`GET /v1/txs/{hash}`) verifies against the note's
//! root. The extension line names the block whose header commits to that log, so the note
//! and the JSON checkpoint (`GET /v1/checkpoints/{height}`) can be matched.
//!
//! Each validator signs the same text with its validator key (an Ed25519 note signature,
//! key name `verity-checkpoint/<chain id>/<public key hex>`), and serves the note with its
//! own signature; notes of the same checkpoint from several validators merge into one
//! ([`merge_notes`]), and [`verify_checkpoint_note`] accepts a note once validators with
//! more than two thirds of the power of the checkpoint's epoch's set signed it. A note
//! signature can never be mistaken for a consensus vote: the text starts with
//! `verity-checkpoint/`, votes and block signatures with other bytes.

use base64::Engine;
use signed_note::{Note, Signature as NoteSignature, Signer, Verifier, VerifierList};
use verity_types::keys::SecretKey;
use verity_types::{BlockHeader, Hash, PublicKey, Signature, ValidatorSet};

use crate::error::ClientError;
use crate::verify::LightClient;

/// The origin line of a chain's checkpoint notes.
pub fn origin(chain_id: &str) -> String {
    format!("verity-checkpoint/{chain_id}")
}

/// The note key name of a validator key on a chain.
pub fn key_name(chain_id: &str, key: &PublicKey) -> String {
    format!("{}/{}", origin(chain_id), key.to_hex())
}

/// The C2SP key id of an Ed25519 note key: `SHA-256(name || "\n" || 0x01 || key)[..4]`.
fn key_id(name: &str, key: &PublicKey) -> u32 {
    let mut encoded = vec![1u8];
    encoded.extend_from_slice(&key.0);
    signed_note::key_id(name, &encoded)
}

fn fail(msg: impl Into<String>) -> ClientError {
    ClientError::Verify(msg.into())
}

/// The note text of the checkpoint at `header`.
pub fn checkpoint_text(header: &BlockHeader) -> Result<Vec<u8>, ClientError> {
    let cp = tlog_tiles::Checkpoint::new(
        &origin(&header.chain_id),
        header.log_size,
        tlog_tiles::Hash(header.log_root.0),
        &format!("block {} {}\n", header.height, header.hash().to_hex()),
    )
    .map_err(|e| fail(format!("checkpoint note of block {}: {e}", header.height)))?;
    Ok(cp.to_bytes())
}

struct KeySigner<'a> {
    name: String,
    id: u32,
    key: &'a SecretKey,
}

impl Signer for KeySigner<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.key.sign(msg).0.to_vec())
    }
}

/// The checkpoint at `header` as a signed note, signed by `key` (a validator's key).
pub fn sign_checkpoint(header: &BlockHeader, key: &SecretKey) -> Result<Vec<u8>, ClientError> {
    let text = checkpoint_text(header)?;
    let mut note = Note::new(&text, &[]).map_err(|e| fail(format!("note: {e}")))?;
    let name = key_name(&header.chain_id, &key.public_key());
    let signer = KeySigner { id: key_id(&name, &key.public_key()), name, key };
    note.add_sigs(&[&signer]).map_err(|e| fail(format!("signing the note: {e}")))?;
    Ok(note.to_bytes())
}

/// Merges notes of the same checkpoint (identical text) into one carrying every distinct
/// signature, in the order first seen.
pub fn merge_notes(notes: &[Vec<u8>]) -> Result<Vec<u8>, ClientError> {
    let mut text: Option<Vec<u8>> = None;
    let mut sigs: Vec<NoteSignature> = Vec::new();
    for n in notes {
        let (t, s) = split(n)?;
        match &text {
            None => text = Some(t),
            Some(have) if *have == t => {}
            Some(_) => return Err(fail("the notes are of different checkpoints (their texts differ)")),
        }
        for sig in s {
            if !sigs.contains(&sig) {
                sigs.push(sig);
            }
        }
    }
    let text = text.ok_or_else(|| fail("no note to merge"))?;
    let note = Note::new(&text, &sigs).map_err(|e| fail(format!("note: {e}")))?;
    Ok(note.to_bytes())
}

/// A note's text and signatures (the note is checked for form).
fn split(note: &[u8]) -> Result<(Vec<u8>, Vec<NoteSignature>), ClientError> {
    Note::from_bytes(note).map_err(|e| fail(format!("not a signed note: {e}")))?;
    let s = std::str::from_utf8(note).map_err(|_| fail("a note is UTF-8"))?;
    let (text, sigs) = s.rsplit_once("\n\n").ok_or_else(|| fail("a note has a blank line before its signatures"))?;
    let sigs = sigs
        .lines()
        .map(|l| NoteSignature::from_bytes(l.as_bytes()).map_err(|e| fail(format!("note signature: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((format!("{text}\n").into_bytes(), sigs))
}

struct KeyVerifier {
    name: String,
    id: u32,
    key: PublicKey,
}

impl Verifier for KeyVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        // The one signature rule of the ledger (ZIP-215), as for votes.
        <[u8; 64]>::try_from(sig).is_ok_and(|s| self.key.verify(msg, &Signature(s)).is_ok())
    }
}

/// What a verified checkpoint note states.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NoteCheckpoint {
    pub origin: String,
    pub height: u64,
    pub header_hash: Hash,
    pub log_size: u64,
    pub log_root: Hash,
    /// Validators (by index in the set of the checkpoint's epoch) whose signature verified.
    pub signers: Vec<u32>,
}

/// Parses a checkpoint note's text.
fn parse_text(text: &[u8], chain_id: &str) -> Result<(u64, Hash, u64, Hash), ClientError> {
    let cp = tlog_tiles::Checkpoint::from_bytes(text).map_err(|e| fail(format!("note text: {e}")))?;
    if cp.origin() != origin(chain_id) {
        return Err(fail(format!("a checkpoint of {:?}, not of chain {chain_id:?}", cp.origin())));
    }
    let ext = cp.extension().strip_suffix('\n').unwrap_or_default();
    let mut words = ext.split(' ');
    let (Some("block"), Some(height), Some(hash), None) = (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(fail(format!("the note's extension {ext:?} is not `block <height> <header hash>`")));
    };
    let height = height.parse::<u64>().map_err(|_| fail(format!("height {height:?}")))?;
    let header_hash = hash.parse::<Hash>().map_err(|e| fail(format!("header hash: {e}")))?;
    Ok((height, header_hash, cp.size(), Hash(cp.hash().0)))
}

/// The height of the block a checkpoint note (of `chain_id`) names, read from its text
/// without checking any signature (to ask other validators for the same checkpoint).
pub fn note_height(note: &[u8], chain_id: &str) -> Result<u64, ClientError> {
    let parsed = Note::from_bytes(note).map_err(|e| fail(format!("not a signed note: {e}")))?;
    Ok(parse_text(parsed.text(), chain_id)?.0)
}

/// Verifies a checkpoint note against the set of its epoch, as `lc` trusts it: the text is
/// a checkpoint of `lc`'s chain, and validators with more than two thirds of that set's
/// power signed it. Signatures by other keys (witness cosignatures) are ignored here.
pub fn verify_checkpoint_note(note: &[u8], lc: &LightClient) -> Result<NoteCheckpoint, ClientError> {
    let parsed = Note::from_bytes(note).map_err(|e| fail(format!("not a signed note: {e}")))?;
    let (height, header_hash, log_size, log_root) = parse_text(parsed.text(), lc.chain_id())?;
    if lc.needs_boundaries_for(height) {
        return Err(fail(format!(
            "the note is of block {height}, in an epoch whose validator set this client has not verified"
        )));
    }
    let set: &ValidatorSet = lc.set_for(height);
    let chain_id = lc.chain_id();
    let verifiers: Vec<Box<dyn Verifier>> = set
        .validators
        .iter()
        .map(|v| {
            let name = key_name(chain_id, &v.public_key);
            Box::new(KeyVerifier { id: key_id(&name, &v.public_key), name, key: v.public_key }) as Box<dyn Verifier>
        })
        .collect();
    let (verified, _) =
        parsed.verify(&VerifierList::new(verifiers)).map_err(|e| fail(format!("checkpoint note: {e}")))?;
    let mut signers: Vec<u32> = verified
        .iter()
        .filter_map(|s| {
            set.validators.iter().position(|v| key_name(chain_id, &v.public_key) == s.name()).map(|i| i as u32)
        })
        .collect();
    signers.sort_unstable();
    signers.dedup();
    let power: u128 = signers.iter().map(|&i| u128::from(set.validators[i as usize].power)).sum();
    if power * 3 <= set.total_power() * 2 {
        return Err(fail(format!(
            "the note of block {height} carries signatures of {power} of {} voting power; more than two thirds \
             are needed (merge the notes of more validators)",
            set.total_power()
        )));
    }
    Ok(NoteCheckpoint { origin: origin(chain_id), height, header_hash, log_size, log_root, signers })
}

/// The base64 of a note key's verifier line (`<name>+<id hex>+<base64(0x01 || key)>`), as
/// witnesses and note verifiers are configured with.
pub fn verifier_key(chain_id: &str, key: &PublicKey) -> String {
    let name = key_name(chain_id, key);
    let mut encoded = vec![1u8];
    encoded.extend_from_slice(&key.0);
    format!("{name}+{:08x}+{}", key_id(&name, key), base64::engine::general_purpose::STANDARD.encode(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_types::{Genesis, OrgId, Validator};

    fn setup(n: u8) -> (Vec<SecretKey>, Genesis, BlockHeader) {
        let keys: Vec<SecretKey> = (1..=n).map(|i| SecretKey::from_seed([i; 32])).collect();
        let validators = keys
            .iter()
            .map(|k| Validator { org: OrgId::new("o").expect("id"), public_key: k.public_key(), power: 1 })
            .collect::<Vec<_>>();
        let genesis = Genesis {
            chain_id: "c-0123456789abcdef".into(),
            genesis_time_ms: 0,
            orgs: vec![],
            validators: validators.clone(),
            assets: vec![],
            balances: vec![],
            epoch_length: 0,
            governance: None,
        };
        let header = BlockHeader {
            chain_id: genesis.chain_id.clone(),
            height: 12,
            parent: Hash::ZERO,
            timestamp_ms: 1,
            proposer: 0,
            tx_count: 0,
            txs_root: Hash::ZERO,
            log_size: 40,
            log_root: verity_types::sha256(b"root"),
            state_root: Hash::ZERO,
            validator_set_hash: ValidatorSet { validators }.hash(),
            receipts_root: None,
        };
        (keys, genesis, header)
    }

    #[test]
    fn a_note_verifies_with_a_quorum_of_merged_signatures() {
        let (keys, genesis, header) = setup(4);
        let lc = LightClient::new(&genesis);
        let notes: Vec<Vec<u8>> = keys.iter().map(|k| sign_checkpoint(&header, k).expect("sign")).collect();
        // The text is the tlog-checkpoint of the log.
        let text = String::from_utf8(checkpoint_text(&header).expect("text")).expect("utf-8");
        let root_b64 = base64::engine::general_purpose::STANDARD.encode(header.log_root.0);
        assert_eq!(
            text,
            format!("verity-checkpoint/c-0123456789abcdef\n40\n{root_b64}\nblock 12 {}\n", header.hash().to_hex())
        );
        // One validator of four is not a quorum; three are.
        assert!(verify_checkpoint_note(&notes[0], &lc).is_err());
        let two = merge_notes(&notes[..2]).expect("merge");
        assert!(verify_checkpoint_note(&two, &lc).is_err());
        let three = merge_notes(&[two, notes[2].clone()]).expect("merge");
        let v = verify_checkpoint_note(&three, &lc).expect("quorum");
        assert_eq!((v.height, v.log_size, v.log_root, v.header_hash), (12, 40, header.log_root, header.hash()));
        assert_eq!(v.signers, vec![0, 1, 2]);
        // The same signature twice counts once.
        let dup = merge_notes(&[notes[0].clone(), notes[0].clone(), notes[1].clone()]).expect("merge");
        assert!(verify_checkpoint_note(&dup, &lc).is_err());
        // A changed size, root or block: the signatures no longer verify.
        let s = String::from_utf8(three.clone()).expect("utf-8");
        for forged in [s.replacen("\n40\n", "\n41\n", 1), s.replacen("block 12", "block 13", 1)] {
            assert!(verify_checkpoint_note(forged.as_bytes(), &lc).is_err(), "{forged}");
        }
        // Notes of different checkpoints do not merge; another chain's note is refused.
        let mut other = header.clone();
        other.log_size = 41;
        let other_note = sign_checkpoint(&other, &keys[3]).expect("sign");
        assert!(merge_notes(&[notes[0].clone(), other_note]).is_err());
        let mut foreign = header.clone();
        foreign.chain_id = "d".into();
        let foreign: Vec<Vec<u8>> = keys.iter().map(|k| sign_checkpoint(&foreign, k).expect("sign")).collect();
        assert!(verify_checkpoint_note(&merge_notes(&foreign).expect("merge"), &lc).is_err());
        // Garbage is an error, never a panic.
        for junk in [&b""[..], b"\n\n", b"verity-checkpoint/c\n1\n\n\n\xe2\x80\x94 x AAAA\n", &[0xff; 10]] {
            assert!(verify_checkpoint_note(junk, &lc).is_err());
        }
    }

    #[test]
    fn the_verifier_key_line_matches_the_signatures() {
        let (keys, genesis, header) = setup(1);
        let vkey = verifier_key(&genesis.chain_id, &keys[0].public_key());
        // The standard verifier of the signed-note crate accepts our notes.
        let v = signed_note::StandardVerifier::new(&vkey).expect("a standard Ed25519 verifier key");
        let note = Note::from_bytes(&sign_checkpoint(&header, &keys[0]).expect("sign")).expect("note");
        let (verified, _) =
            note.verify(&VerifierList::new(vec![Box::new(v)])).expect("verifies with the crate's verifier");
        assert_eq!(verified.len(), 1);
    }
}
