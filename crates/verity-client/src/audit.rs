//! Offline verification of audit bundles (`verity audit verify`).
//!
//! Given only the bundle file and a trusted validator set, [`verify_bundle_file`] checks:
//! the file is the canonical text of its content (any re-formatting or altered byte is
//! refused); the checkpoint carries signatures of more than two thirds of the validators'
//! power; every record's state proof holds against the checkpoint's state root under the
//! record's own key; the subject's whole upstream lineage is present; the subject's
//! downstream lists are proven, one per kind (each count, and every entry up to the
//! newest `AUDIT_DOWNSTREAM_PER_KIND_MAX`, so a model version's attestations and
//! deployments are complete and its decisions are counted); the flags of every record
//! flags can reach (dataset versions, runs, model versions) are proven, absence
//! included; and every record's creating transaction is in the log (inclusion proof
//! against the checkpoint's log root), correctly signed, and says what the record says
//! (attestations: the DSSE envelope's signature and digest). Version 3 bundles also carry
//! each transaction's receipt: it must be a success, and the one its block's header
//! commits to (that header trusted through its own certificate, or its child's parent
//! hash); blocks with version 1 headers commit to no receipts and are counted apart.

use std::collections::BTreeMap;

use verity_types::audit::{
    AuditBundle, AUDIT_BUNDLE_FORMAT, AUDIT_BUNDLE_FORMAT_V2, AUDIT_DOWNSTREAM_PER_KIND_MAX, AUDIT_RECORDS_MAX,
};
use verity_types::dsse::EvaluationStatement;
use verity_types::encoding::decode;
use verity_types::provenance::keys;
use verity_types::{
    Action, BlockHeader, ChallengeItem, Checkpoint, CorrectDecision, Deploy, Flag, Genesis, Hash, OptOutContent,
    PublishDataset, Record, RecordDecision, RecordKind, RecordRef, RegisterContent, RegisterModelVersion, RegisterRun,
    Rollback, SignedTransaction, SubmitAttestation, TxStatus, TypesError, ValidatorSet,
};

use crate::error::ClientError;
use crate::verify::{verify_checkpoint, verify_receipt, verify_tx_inclusion, LightClient, ReceiptCheck};

fn fail(msg: impl Into<String>) -> ClientError {
    ClientError::Verify(msg.into())
}

/// What a verified bundle proves.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditReport {
    pub subject: RecordRef,
    pub chain_id: String,
    pub height: u64,
    pub state_root: Hash,
    pub log_size: u64,
    /// Records proven, with their summaries and flag counts.
    pub records: Vec<ProvenRecord>,
    /// The subject's downstream records, by kind, oldest first: every one, except that
    /// a list longer than `AUDIT_DOWNSTREAM_PER_KIND_MAX` is represented by its newest.
    pub downstream: Vec<RecordRef>,
    /// How many records of each kind are directly downstream of the subject (proven).
    pub downstream_counts: BTreeMap<RecordKind, u64>,
    pub transactions: usize,
    /// Transactions whose receipt the bundle proves committed by their block's header.
    pub receipts_authenticated: usize,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ProvenRecord {
    pub record: RecordRef,
    pub summary: String,
    pub flags: Vec<Flag>,
}

/// Verifies a bundle file's bytes against a trusted validator set.
pub fn verify_bundle_file(bytes: &[u8], validators: &ValidatorSet) -> Result<AuditReport, ClientError> {
    verify_bundle(&parse_bundle_file(bytes)?, validators)
}

/// The headers of `blocks` that are trusted, by height: a block with its own certificate
/// verified by the set of its height (`set_for`), and a block without one whose child is
/// trusted and names it as parent. `blocks` must ascend, be of the checkpoint's chain and
/// lie at or below it.
fn trusted_headers<'a>(
    blocks: &'a [Checkpoint],
    top: &Checkpoint,
    set_for: &dyn Fn(u64) -> &'a ValidatorSet,
) -> Result<BTreeMap<u64, &'a BlockHeader>, ClientError> {
    if blocks.len() > AUDIT_RECORDS_MAX * 2 {
        return Err(fail("bundle exceeds its size limits"));
    }
    if blocks.windows(2).any(|w| w[0].header.height >= w[1].header.height) {
        return Err(fail("the bundle's blocks are not in ascending order"));
    }
    let mut trusted: BTreeMap<u64, &BlockHeader> = BTreeMap::new();
    for b in blocks.iter().rev() {
        let h = &b.header;
        if h.chain_id != top.header.chain_id || h.height > top.header.height {
            return Err(fail(format!("block {} is not of the checkpoint's chain below it", h.height)));
        }
        match b.certificate.finalized_by {
            None => {
                verify_checkpoint(set_for(h.height), b)?;
            }
            Some(_) => {
                let child = trusted.get(&(h.height + 1)).copied();
                if child.is_none_or(|c| c.parent != h.hash()) {
                    return Err(fail(format!(
                        "block {} has no certificate of its own and no trusted child naming it",
                        h.height
                    )));
                }
            }
        }
        trusted.insert(h.height, h);
    }
    Ok(trusted)
}

/// Verifies a bundle file's bytes from a trusted genesis: the bundle's validator-set
/// changes are followed from the genesis set, and its checkpoint is verified against
/// the set of its epoch.
pub fn verify_bundle_file_from_genesis(bytes: &[u8], genesis: &Genesis) -> Result<AuditReport, ClientError> {
    let b = parse_bundle_file(bytes)?;
    let mut lc = LightClient::new(genesis);
    lc.follow_epochs(&b.transitions, &b.unchanged)?;
    // Refuses a checkpoint of an epoch whose boundaries the bundle does not carry.
    lc.verify_checkpoint(&b.checkpoint)?;
    verify_bundle_with(&b, &|h| lc.set_for(h))
}

fn parse_bundle_file(bytes: &[u8]) -> Result<AuditBundle, ClientError> {
    let bundle: AuditBundle = serde_json::from_slice(bytes).map_err(|e| fail(format!("not an audit bundle: {e}")))?;
    if bundle.to_file_bytes() != bytes {
        return Err(fail("the file is not the canonical text of its content: it was altered or re-formatted"));
    }
    Ok(bundle)
}

/// Verifies a parsed bundle against a trusted validator set (the set of the
/// checkpoint's epoch; [`verify_bundle_file_from_genesis`] finds it from genesis).
pub fn verify_bundle(b: &AuditBundle, validators: &ValidatorSet) -> Result<AuditReport, ClientError> {
    verify_bundle_with(b, &|_| validators)
}

/// Verifies a parsed bundle, with `set_for` giving the trusted validator set of each
/// height (the checkpoint's, and those of the blocks holding its transactions).
pub fn verify_bundle_with<'a>(
    b: &'a AuditBundle,
    set_for: &dyn Fn(u64) -> &'a ValidatorSet,
) -> Result<AuditReport, ClientError> {
    let with_receipts = b.format == AUDIT_BUNDLE_FORMAT;
    if !with_receipts && b.format != AUDIT_BUNDLE_FORMAT_V2 {
        return Err(fail(format!("unknown bundle format {:?}", b.format)));
    }
    if b.records.len() > AUDIT_RECORDS_MAX || b.index.len() > 64 * AUDIT_RECORDS_MAX || b.txs.len() > AUDIT_RECORDS_MAX
    {
        return Err(fail("bundle exceeds its size limits"));
    }
    let cp = &b.checkpoint;
    if cp.header.chain_id != b.chain_id {
        return Err(fail(format!("bundle says chain {:?}, checkpoint says {:?}", b.chain_id, cp.header.chain_id)));
    }
    verify_checkpoint(set_for(cp.header.height), cp)?;
    let root = cp.header.state_root;
    let headers = trusted_headers(&b.blocks, cp, set_for)?;

    // Records: each proven under its own key, decoded as the record it claims to be.
    let mut records: BTreeMap<RecordRef, Record> = BTreeMap::new();
    for br in &b.records {
        let r = &br.record;
        if br.proof.key != keys::record(r) {
            return Err(fail(format!("the proof for {r} is for another key")));
        }
        br.proof.verify(&root).map_err(|e| fail(format!("state proof of {r}: {e}")))?;
        let value = br.proof.value.as_ref().ok_or_else(|| fail(format!("the bundle proves {r} absent")))?;
        let rec = Record::decode(r, value).map_err(|e| fail(format!("record {r}: {e}")))?;
        if records.insert(r.clone(), rec).is_some() {
            return Err(fail(format!("{r} appears twice")));
        }
    }
    // Index entries: downstream list and flags, each proven (present or absent).
    let mut index: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    for p in &b.index {
        p.verify(&root).map_err(|e| fail(format!("state proof of {}: {e}", String::from_utf8_lossy(&p.key))))?;
        index.insert(p.key.clone(), p.value.clone());
    }
    let indexed = |key: Vec<u8>, what: &str| -> Result<Option<Vec<u8>>, ClientError> {
        index.get(&key).cloned().ok_or_else(|| fail(format!("the bundle lacks the proof of {what}")))
    };

    if !records.contains_key(&b.subject) {
        return Err(fail(format!("the subject {} is not in the bundle", b.subject)));
    }
    // Completeness upstream: every record's sources are present.
    for (r, rec) in &records {
        for up in rec.upstream() {
            if !records.contains_key(&up) {
                return Err(fail(format!("{r} names {up}, which the bundle lacks")));
            }
        }
    }
    // The subject's downstream lists, one per kind: each length proven (absence
    // included) and its newest entries (all of them, up to AUDIT_DOWNSTREAM_PER_KIND_MAX)
    // proven and present.
    let mut downstream = Vec::new();
    let mut downstream_counts = BTreeMap::new();
    for &kind in b.subject.record_kind().downstream() {
        let n: u64 = match indexed(keys::edge_count(&b.subject, kind), &format!("the subject's {kind} count"))? {
            None => 0,
            Some(v) => decode(&v, 16).map_err(|e| fail(format!("{kind} count: {e}")))?,
        };
        for i in n - n.min(AUDIT_DOWNSTREAM_PER_KIND_MAX as u64)..n {
            let v = indexed(keys::edge(&b.subject, kind, i), &format!("{kind} entry {i}"))?
                .ok_or_else(|| fail(format!("{kind} entry {i} of {} is proven absent", b.subject)))?;
            let d: RecordRef = decode(&v, 1024).map_err(|e| fail(format!("{kind} entry {i}: {e}")))?;
            if d.record_kind() != kind {
                return Err(fail(format!("the {kind} list of {} holds {d}", b.subject)));
            }
            if !records.contains_key(&d) {
                return Err(fail(format!("{} lists {d} downstream, which the bundle lacks", b.subject)));
            }
            downstream.push(d);
        }
        downstream_counts.insert(kind, n);
    }
    // Flags of every record that flags can reach (dataset versions, runs and model
    // versions: the ledger flags no other kind), absence proven too.
    let mut proven = Vec::new();
    for (r, rec) in &records {
        let count: u32 = match r.record_kind().flaggable() {
            false => 0,
            true => match indexed(keys::flag_count(r), &format!("the flag count of {r}"))? {
                None => 0,
                Some(v) => decode(&v, 8).map_err(|e| fail(format!("flag count of {r}: {e}")))?,
            },
        };
        let mut flags = Vec::new();
        for i in 0..count.min(AUDIT_RECORDS_MAX as u32) {
            let v = indexed(keys::flag(r, i), &format!("flag {i} of {r}"))?
                .ok_or_else(|| fail(format!("flag {i} of {r} is proven absent")))?;
            flags.push(decode::<Flag>(&v, 4096).map_err(|e| fail(format!("flag {i} of {r}: {e}")))?);
        }
        proven.push(ProvenRecord { record: r.clone(), summary: verity_api::provenance::record_summary(rec), flags });
    }
    // Transactions: in the log, signed, and saying what the records say.
    let mut txs: BTreeMap<Hash, &SignedTransaction> = BTreeMap::new();
    let mut receipts_authenticated = 0;
    for bt in &b.txs {
        let h = bt.tx.hash();
        verify_tx_inclusion(cp, &h, &bt.proof)?;
        if with_receipts {
            let receipt =
                bt.receipt.as_ref().ok_or_else(|| fail(format!("transaction {h} comes without its receipt")))?;
            let header = headers.get(&receipt.height).ok_or_else(|| {
                fail(format!("the bundle lacks block {}, which holds transaction {h}", receipt.height))
            })?;
            if verify_receipt(header, &h, bt.proof.leaf_index, receipt, bt.receipt_proof.as_ref())?
                == ReceiptCheck::Committed
            {
                receipts_authenticated += 1;
            }
            if receipt.status != TxStatus::Success {
                return Err(fail(format!("transaction {h} failed, by its receipt, yet a record names it")));
            }
        }
        txs.insert(h, &bt.tx);
    }
    // Every signature strictly, in one batch when all are good.
    if let Err(i) = verity_types::tx::verify_signatures(b.txs.iter().map(|bt| &bt.tx)) {
        return Err(fail(format!("transaction {}: {}", b.txs[i].tx.hash(), TypesError::BadSignature)));
    }
    for (r, rec) in &records {
        let tx =
            txs.get(&rec.tx()).ok_or_else(|| fail(format!("the bundle lacks the transaction that created {r}")))?;
        check_tx_matches(r, rec, tx, &records)?;
    }
    Ok(AuditReport {
        subject: b.subject.clone(),
        chain_id: b.chain_id.clone(),
        height: cp.header.height,
        state_root: root,
        log_size: cp.header.log_size,
        records: proven,
        downstream,
        downstream_counts,
        transactions: txs.len(),
        receipts_authenticated,
    })
}

/// Checks that the creating transaction says what the record says.
fn check_tx_matches(
    r: &RecordRef,
    rec: &Record,
    tx: &SignedTransaction,
    records: &BTreeMap<RecordRef, Record>,
) -> Result<(), ClientError> {
    let mismatch = |what: &str| fail(format!("the transaction that created {r} does not match it: {what}"));
    let sender = &tx.tx.sender;
    match (rec, &tx.tx.action) {
        (Record::Content(c), Action::RegisterContent(RegisterContent { content, licence, .. })) => {
            if *content != c.id || *licence != c.licence || *sender != c.creator {
                return Err(mismatch("content, licence or creator"));
            }
        }
        (Record::OptOut(o), Action::OptOut(OptOutContent { content, scope, .. })) => {
            if *content != o.content || *scope != o.scope || *sender != o.by {
                return Err(mismatch("content, scope or signer"));
            }
        }
        (
            Record::Dataset(d),
            Action::PublishDataset(PublishDataset { dataset, version, manifest_hash, root, count, .. }),
        ) => {
            if *dataset != d.dataset
                || *version != d.version
                || *manifest_hash != d.manifest_hash
                || *root != d.root
                || *count != d.count
                || *sender != d.curator
            {
                return Err(mismatch("dataset, version, manifest hash, root, count or curator"));
            }
        }
        (Record::Challenge(c), Action::ChallengeItem(ChallengeItem { dataset, version, content, .. })) => {
            if *dataset != c.dataset || *version != c.version || *content != c.content || *sender != c.challenger {
                return Err(mismatch("dataset, item or challenger"));
            }
        }
        (
            Record::Run(run),
            Action::RegisterRun(RegisterRun { run: id, datasets, run_log_hash, provider_signature, .. }),
        ) => {
            if *id != run.id
                || *datasets != run.datasets
                || *run_log_hash != run.run_log_hash
                || *provider_signature != run.provider_signature
                || *sender != run.registered_by
            {
                return Err(mismatch("run id, datasets, run-log hash, provider signature or owner"));
            }
        }
        (
            Record::ModelVersion(m),
            Action::RegisterModelVersion(RegisterModelVersion { model, version, fingerprint, run }),
        ) => {
            if *model != m.model
                || *version != m.version
                || *fingerprint != m.fingerprint
                || *run != m.run
                || *sender != m.owner
            {
                return Err(mismatch("model, version, fingerprint, run or owner"));
            }
        }
        (Record::Attestation(a), Action::SubmitAttestation(SubmitAttestation { envelope })) => {
            // Ids are bound to the evaluator; older ledgers named attestations by the
            // payload digest alone, and their bundles still verify.
            if !verity_types::attestation_id_matches(&a.id, &a.evaluator, &envelope.payload_digest())
                || *sender != a.evaluator
            {
                return Err(mismatch("statement digest or evaluator"));
            }
            envelope
                .verify(a.evaluator.as_str(), &tx.public_key)
                .map_err(|e| fail(format!("attestation {}: DSSE signature: {e}", a.id)))?;
            let st = EvaluationStatement::parse(&envelope.payload)
                .map_err(|e| fail(format!("attestation {}: {e}", a.id)))?;
            let mv = records.get(&RecordRef::model_version(&a.model, a.version));
            if let Some(Record::ModelVersion(mv)) = mv {
                if st.subject[0].digest.sha256 != mv.fingerprint {
                    return Err(mismatch("the statement's subject is not the model version's fingerprint"));
                }
            }
            if st.predicate.kind != a.kind || st.predicate.passed != a.passed || st.predicate.metrics != a.metrics {
                return Err(mismatch("kind, result or metrics differ from the signed statement"));
            }
        }
        (Record::Deployment(d), Action::Deploy(Deploy { model, version, environment })) => {
            if *model != d.model || *version != d.version || *environment != d.environment || *sender != d.by {
                return Err(mismatch("model, version, environment or deployer"));
            }
        }
        (Record::Deployment(d), Action::Rollback(Rollback { model, environment, to_version, .. })) => {
            if *model != d.model || *to_version != d.version || *environment != d.environment || *sender != d.by {
                return Err(mismatch("model, version, environment or deployer"));
            }
        }
        (
            Record::Decision(d),
            Action::RecordDecision(RecordDecision { model, version, input_commitment, output_hash, .. }),
        ) => {
            if *model != d.model
                || *version != d.version
                || *input_commitment != d.input_commitment
                || *output_hash != d.output_hash
                || *sender != d.operator
            {
                return Err(mismatch("model version, input commitment, output or operator"));
            }
        }
        (Record::Decision(d), Action::CorrectDecision(CorrectDecision { decision, output_hash, .. })) => {
            if Some(*decision) != d.supersedes || *output_hash != d.output_hash || *sender != d.operator {
                return Err(mismatch("corrected decision, output or operator"));
            }
        }
        (Record::Dispute(d), Action::RegisterContent(RegisterContent { content, .. })) => {
            // A dispute is opened by the first contesting registration (its second claim).
            if *content != d.content || d.claims.get(1).is_none_or(|c| c.claimant != *sender) {
                return Err(mismatch("content or contesting claimant"));
            }
        }
        _ => return Err(mismatch("it carries another kind of action")),
    }
    Ok(())
}
