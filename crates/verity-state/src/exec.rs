//! Executing blocks and admitting transactions.

use verity_types::{Action, Event, GateRules, Hash, Receipt, SignedTransaction, TxStatus};

use crate::bank::{self, escrow};
use crate::consensus;
use crate::error::StateError;
use crate::identity::{self, Account};
use crate::provenance::{self as prov, Ctx};
use crate::view::{Layer, StateRead, StateWrites};

/// Context of the block being executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    pub chain_id: String,
    pub height: u64,
    /// The proposer's timestamp (validated by consensus: never below its parent's, never
    /// ahead of the validators' clocks). Only the deploy gate's change delay reads it;
    /// other windows are measured in heights.
    pub timestamp_ms: u64,
}

/// What executing a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The last value written per key by the block's successful effects.
    pub writes: StateWrites,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// Positions of the transactions that failed before their nonce was consumed: wrong
    /// chain id, invalid action, unknown sender, a key that is not the sender's, or a
    /// nonce other than the sender's next (a transaction already committed, or one
    /// repeated in the block). They change nothing and no block should carry them: a
    /// replicated ledger refuses a proposal that does, and a proposer leaves them out.
    /// (Their receipts still fail, so ledgers written before this rule replay.)
    pub inadmissible: Vec<u32>,
}

/// Checks shared by admission and execution: chain id, the action's stateless checks,
/// the sender's existence and key. Returns the sender's account.
fn check_sender(state: &dyn StateRead, chain_id: &str, tx: &SignedTransaction) -> Result<Account, StateError> {
    if tx.tx.chain_id != chain_id {
        return Err(StateError::WrongChain { expected: chain_id.to_string(), got: tx.tx.chain_id.clone() });
    }
    tx.tx.action.validate().map_err(|e| StateError::InvalidAction(e.to_string()))?;
    let sender =
        identity::account(state, &tx.tx.sender).ok_or_else(|| StateError::UnknownSender(tx.tx.sender.clone()))?;
    if sender.public_key != tx.public_key {
        return Err(StateError::KeyMismatch { account: sender.id, got: tx.public_key.to_hex() });
    }
    Ok(sender)
}

/// Stateful admission checks used by the mempool: chain id matches, the action passes
/// its stateless checks, the sender exists, the public key is the sender's current key,
/// and the nonce is not below the sender's committed next nonce (a higher nonce may wait
/// in the mempool for the gap to fill). Returns the sender's committed next nonce.
///
/// The transaction's own signature is not checked here: the node runs these cheap
/// checks first and verifies the signatures of what passes (in batches) after. A DSSE
/// envelope the action carries is checked here against the sender's key.
pub fn check_admission(base: &dyn StateRead, chain_id: &str, tx: &SignedTransaction) -> Result<u64, StateError> {
    let sender = check_sender(base, chain_id, tx)?;
    if tx.tx.nonce < sender.nonce {
        return Err(StateError::BadNonce { account: sender.id, expected: sender.nonce, got: tx.tx.nonce });
    }
    // Signatures the action carries that only the sender's key verifies: checked here
    // too, so a bad one is refused instead of committed as a failed transaction.
    if let Action::SubmitAttestation { envelope } = &tx.tx.action {
        prov::check_envelope(&sender, envelope)?;
    }
    Ok(sender.nonce)
}

/// Executes the transactions of one block in order on top of `base`; returns all writes
/// of the block (last write per key) and one receipt per transaction. Deterministic: the
/// result depends only on `base`, `ctx`, `txs` and `first_log_index`.
///
/// Per transaction: if the chain id, the action's stateless checks, the sender, its key
/// or the nonce (which must equal the sender's next nonce) is wrong, the receipt fails
/// and nothing changes. Otherwise the nonce is consumed and the action runs on its own
/// overlay: on success its writes join the block, on failure they are dropped (the
/// nonce stays consumed). Signatures must have been verified by the caller.
pub fn execute_block(
    base: &dyn StateRead,
    ctx: &BlockContext,
    txs: &[SignedTransaction],
    first_log_index: u64,
) -> BlockOutcome {
    let mut block = Layer::new(base);
    let mut receipts = Vec::with_capacity(txs.len());
    let mut inadmissible = Vec::new();
    for (position, tx) in txs.iter().enumerate() {
        let tx_hash = tx.hash();
        let index = u32::try_from(position).expect("blocks hold at most BLOCK_TXS_MAX transactions");
        let (status, error, events) = match execute_tx(&mut block, ctx, tx, tx_hash) {
            Ok(events) => (TxStatus::Success, None, events),
            Err(TxFailure::Inadmissible(e)) => {
                inadmissible.push(index);
                (TxStatus::Failed, Some(e.to_tx_error()), Vec::new())
            }
            Err(TxFailure::Action(e)) => (TxStatus::Failed, Some(e.to_tx_error()), Vec::new()),
        };
        let offset = u64::try_from(position).expect("a block's transaction count fits in u64");
        receipts.push(Receipt {
            tx_hash,
            height: ctx.height,
            index,
            log_index: first_log_index.checked_add(offset).expect("the transaction log never reaches 2^64 entries"),
            status,
            error,
            events,
        });
    }
    consensus::end_block(&mut block, ctx.height);
    BlockOutcome { writes: block.into_writes(), receipts, inadmissible }
}

/// How a transaction failed: before its nonce was consumed (no valid block carries it),
/// or in its action (the nonce stays consumed).
enum TxFailure {
    Inadmissible(StateError),
    Action(StateError),
}

fn execute_tx(
    block: &mut Layer<'_>,
    ctx: &BlockContext,
    tx: &SignedTransaction,
    tx_hash: Hash,
) -> Result<Vec<Event>, TxFailure> {
    let mut sender = check_sender(block, &ctx.chain_id, tx).map_err(TxFailure::Inadmissible)?;
    if tx.tx.nonce != sender.nonce {
        return Err(TxFailure::Inadmissible(StateError::BadNonce {
            account: sender.id,
            expected: sender.nonce,
            got: tx.tx.nonce,
        }));
    }
    sender.nonce =
        sender.nonce.checked_add(1).ok_or(TxFailure::Inadmissible(StateError::Overflow { what: "nonce" }))?;
    identity::put_account(block, &sender);

    let mut overlay = Layer::new(&*block);
    let result = apply_action(&mut overlay, ctx, &sender, tx_hash, &tx.tx.action);
    let writes = overlay.into_writes();
    let events = result.map_err(TxFailure::Action)?;
    block.merge(writes);
    Ok(events)
}

/// Runs one action for `sender` (whose nonce is already consumed). Handlers re-read any
/// account they modify from `layer`, never from `sender`, so the consumed nonce stays.
fn apply_action(
    layer: &mut Layer<'_>,
    ctx: &BlockContext,
    sender: &Account,
    tx_hash: Hash,
    action: &Action,
) -> Result<Vec<Event>, StateError> {
    match action {
        Action::CreateAccount { account, public_key, org, roles } => {
            identity::create_account(layer, sender, account, public_key, org, roles)
        }
        Action::GrantRole { account, role } => identity::grant_role(layer, sender, account, *role),
        Action::RevokeRole { account, role } => identity::revoke_role(layer, sender, account, *role),
        Action::RotateKey { account, public_key } => identity::rotate_key(layer, sender, account, public_key),
        Action::Transfer { to, asset, amount, memo: _ } => bank::transfer(layer, sender, to, asset, *amount),
        Action::Mint { to, asset, amount } => bank::mint(layer, sender, to, asset, *amount),
        Action::Burn { asset, amount } => bank::burn(layer, sender, asset, *amount),
        Action::EscrowLock { asset, amount, arbiter, refund_after_height, memo } => escrow::lock(
            layer,
            sender,
            tx_hash,
            escrow::Lock { asset, amount: *amount, arbiter, refund_after_height: *refund_after_height, memo },
        ),
        Action::EscrowRelease { escrow: id, splits } => escrow::release(layer, sender, id, splits),
        Action::EscrowRefund { escrow: id } => escrow::refund(layer, sender, ctx.height, id),
        Action::ReportEquivocation { evidence } => consensus::report_equivocation(
            layer,
            &consensus::Site { chain_id: &ctx.chain_id, height: ctx.height, tx_hash },
            sender,
            evidence,
        ),
        Action::ChangeValidators { change, approvals } => consensus::change_validators(
            layer,
            &consensus::Site { chain_id: &ctx.chain_id, height: ctx.height, tx_hash },
            sender,
            change,
            approvals,
        ),
        _ => apply_provenance(
            layer,
            &Ctx { sender, height: ctx.height, time_ms: ctx.timestamp_ms, tx_hash, chain_id: &ctx.chain_id },
            action,
        ),
    }
}

fn apply_provenance(layer: &mut Layer<'_>, ctx: &Ctx<'_>, action: &Action) -> Result<Vec<Event>, StateError> {
    match action {
        Action::RegisterContent { content, media_type, licence, payout } => {
            prov::register_content(layer, ctx, content, media_type, licence, payout)
        }
        Action::OptOut { content, scope, reason } => prov::opt_out_content(layer, ctx, content, scope, reason),
        Action::WithdrawOptOut { opt_out } => prov::withdraw_opt_out(layer, ctx, opt_out),
        Action::PublishDataset {
            dataset,
            version,
            manifest_hash,
            root,
            count,
            licences,
            mode,
            policy,
            supersedes,
            reviewers,
            challenge_window,
        } => prov::publish_dataset(
            layer,
            ctx,
            prov::Publish {
                dataset,
                version: *version,
                manifest_hash: *manifest_hash,
                root: *root,
                count: *count,
                licences,
                mode: *mode,
                policy: *policy,
                supersedes: *supersedes,
                reviewers,
                challenge_window: *challenge_window,
            },
        ),
        Action::AddDatasetItems { dataset, version, items } => {
            prov::add_dataset_items(layer, ctx, dataset, *version, items)
        }
        Action::ChallengeItem { dataset, version, content, kind, evidence, proof } => prov::challenge_item(
            layer,
            ctx,
            prov::ChallengeArgs {
                dataset,
                version: *version,
                content: *content,
                kind: *kind,
                evidence: *evidence,
                proof: proof.as_ref(),
            },
        ),
        Action::AnswerChallenge { challenge, response } => prov::answer_challenge(layer, ctx, challenge, response),
        Action::ResolveChallenge { challenge, upheld, reason } => {
            prov::resolve_challenge(layer, ctx, challenge, *upheld, reason)
        }
        Action::RegisterRun {
            run,
            datasets,
            base_model,
            code_commit,
            hyperparams_hash,
            training_date,
            team,
            run_log_hash,
            provider,
            provider_signature,
        } => prov::register_run(
            layer,
            ctx,
            prov::RunArgs {
                run,
                datasets,
                base_model: base_model.as_ref(),
                code_commit,
                hyperparams_hash: *hyperparams_hash,
                training_date,
                team,
                run_log_hash: *run_log_hash,
                provider,
                provider_signature: *provider_signature,
            },
        ),
        Action::RegisterModel { model, description } => prov::register_model(layer, ctx, model, description),
        Action::RegisterModelVersion { model, version, fingerprint, run } => {
            prov::register_model_version(layer, ctx, model, *version, fingerprint, run)
        }
        Action::SubmitAttestation { envelope } => prov::submit_attestation(layer, ctx, envelope),
        Action::RevokeAttestation { attestation, reason } => prov::revoke_attestation(layer, ctx, attestation, reason),
        Action::SetGate { model, requirements } => {
            prov::set_gate(layer, ctx, model, &GateRules::requirements(requirements.clone()))
        }
        Action::SetGateRules { model, rules } => prov::set_gate(layer, ctx, model, rules),
        Action::ApproveGateChange { model, change } => prov::approve_gate_change(layer, ctx, model, change),
        Action::Deploy { model, version, environment } => prov::deploy(layer, ctx, model, *version, environment),
        Action::Rollback { model, environment, to_version, reason } => {
            prov::rollback(layer, ctx, model, environment, *to_version, reason)
        }
        Action::Deprecate { model, version, reason } => prov::deprecate(layer, ctx, model, *version, reason),
        Action::RecordDecision {
            model,
            version,
            input_commitment,
            output_hash,
            review,
            binding,
            correction_policy,
            context,
        } => prov::record_decision(
            layer,
            ctx,
            prov::DecisionArgs {
                model,
                version: *version,
                input_commitment: *input_commitment,
                output_hash: *output_hash,
                review,
                binding: *binding,
                correction_policy: *correction_policy,
                context,
            },
        ),
        Action::CorrectDecision { decision, output_hash, review, reason } => {
            prov::correct_decision(layer, ctx, decision, output_hash, review, reason)
        }
        Action::SetChallengeReview { dataset, version, review } => {
            prov::set_challenge_review(layer, ctx, dataset, *version, review)
        }
        Action::LiftFlags { challenge, reason } => prov::lift_flags(layer, ctx, challenge, reason),
        Action::ResolveContentDispute { dispute, winner, reason } => {
            prov::resolve_content_dispute(layer, ctx, dispute, winner, reason)
        }
        Action::SetRiskPolicy { model, suspend_at_risk } => prov::set_risk_policy(layer, ctx, model, *suspend_at_risk),
        Action::CreateAccount { .. }
        | Action::GrantRole { .. }
        | Action::RevokeRole { .. }
        | Action::RotateKey { .. }
        | Action::Transfer { .. }
        | Action::Mint { .. }
        | Action::Burn { .. }
        | Action::EscrowLock { .. }
        | Action::EscrowRelease { .. }
        | Action::EscrowRefund { .. }
        | Action::ReportEquivocation { .. }
        | Action::ChangeValidators { .. } => {
            unreachable!("identity, bank and consensus actions are applied by apply_action")
        }
    }
}
