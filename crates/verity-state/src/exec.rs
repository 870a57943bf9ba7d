//! Executing blocks and admitting transactions.

use verity_types::{Action, Event, GateRules, Hash, Receipt, SignedTransaction, TxStatus};

use crate::bank::{self, escrow};
use crate::consensus;
use crate::error::StateError;
use crate::governance::{self as gov, rewards, stake};
use crate::identity::{self, Account};
use crate::provenance as prov;
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
    if let Action::SubmitAttestation(a) = &tx.tx.action {
        prov::check_envelope(&sender, &a.envelope)?;
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
    gov::end_block(&mut block, ctx.height);
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

/// What every action handler is given besides the action: the sender (whose nonce is
/// already consumed) and where the transaction sits.
pub(crate) struct Ctx<'s> {
    pub sender: &'s Account,
    pub height: u64,
    /// The block's timestamp (ms): only the gate change delay reads it.
    pub time_ms: u64,
    pub tx_hash: Hash,
    /// The chain's id (signatures an action carries bind it).
    pub chain_id: &'s str,
}

/// Runs one action for `sender` (whose nonce is already consumed). Handlers re-read any
/// account they modify from `layer`, never from `sender`, so the consumed nonce stays.
///
/// The registry of handlers: one line per action. A new domain's actions get their lines
/// here, next to its variants in verity-types' `Action`.
fn apply_action(
    layer: &mut Layer<'_>,
    ctx: &BlockContext,
    sender: &Account,
    tx_hash: Hash,
    action: &Action,
) -> Result<Vec<Event>, StateError> {
    let ctx = &Ctx { sender, height: ctx.height, time_ms: ctx.timestamp_ms, tx_hash, chain_id: &ctx.chain_id };
    match action {
        Action::CreateAccount(a) => identity::create_account(layer, ctx, a),
        Action::GrantRole(a) => identity::grant_role(layer, ctx, a),
        Action::RevokeRole(a) => identity::revoke_role(layer, ctx, a),
        Action::RotateKey(a) => identity::rotate_key(layer, ctx, a),
        Action::Transfer(a) => bank::transfer(layer, ctx, a),
        Action::Mint(a) => bank::mint(layer, ctx, a),
        Action::Burn(a) => bank::burn(layer, ctx, a),
        Action::EscrowLock(a) => escrow::lock(layer, ctx, a),
        Action::EscrowRelease(a) => escrow::release(layer, ctx, a),
        Action::EscrowRefund(a) => escrow::refund(layer, ctx, a),
        Action::RegisterContent(a) => prov::register_content(layer, ctx, a),
        Action::OptOut(a) => prov::opt_out_content(layer, ctx, a),
        Action::WithdrawOptOut(a) => prov::withdraw_opt_out(layer, ctx, a),
        Action::PublishDataset(a) => prov::publish_dataset(layer, ctx, a),
        Action::AddDatasetItems(a) => prov::add_dataset_items(layer, ctx, a),
        Action::ChallengeItem(a) => prov::challenge_item(layer, ctx, a),
        Action::AnswerChallenge(a) => prov::answer_challenge(layer, ctx, a),
        Action::ResolveChallenge(a) => prov::resolve_challenge(layer, ctx, a),
        Action::RegisterRun(a) => prov::register_run(layer, ctx, a),
        Action::RegisterModel(a) => prov::register_model(layer, ctx, a),
        Action::RegisterModelVersion(a) => prov::register_model_version(layer, ctx, a),
        Action::SubmitAttestation(a) => prov::submit_attestation(layer, ctx, a),
        Action::RevokeAttestation(a) => prov::revoke_attestation(layer, ctx, a),
        Action::SetGate(a) => prov::set_gate(layer, ctx, &a.model, &GateRules::requirements(a.requirements.clone())),
        Action::Deploy(a) => prov::deploy(layer, ctx, a),
        Action::Rollback(a) => prov::rollback(layer, ctx, a),
        Action::Deprecate(a) => prov::deprecate(layer, ctx, a),
        Action::RecordDecision(a) => prov::record_decision(layer, ctx, a),
        Action::CorrectDecision(a) => prov::correct_decision(layer, ctx, a),
        Action::ReportEquivocation(a) => consensus::report_equivocation(layer, ctx, a),
        Action::ChangeValidators(a) => consensus::change_validators(layer, ctx, a),
        Action::SetChallengeReview(a) => prov::set_challenge_review(layer, ctx, a),
        Action::LiftFlags(a) => prov::lift_flags(layer, ctx, a),
        Action::ResolveContentDispute(a) => prov::resolve_content_dispute(layer, ctx, a),
        Action::SetRiskPolicy(a) => prov::set_risk_policy(layer, ctx, a),
        Action::SetGateRules(a) => prov::set_gate(layer, ctx, &a.model, &a.rules),
        Action::ApproveGateChange(a) => prov::approve_gate_change(layer, ctx, a),
        Action::Propose(a) => gov::propose(layer, ctx, a),
        Action::Vote(a) => gov::vote(layer, ctx, a),
        Action::Veto(a) => gov::veto(layer, ctx, a),
        Action::Ratify(a) => gov::ratify(layer, ctx, a),
        Action::ExecuteProposal(a) => gov::execute(layer, ctx, a),
        Action::CancelProposal(a) => gov::cancel(layer, ctx, a),
        Action::AttachAnalysis(a) => gov::attach_analysis(layer, ctx, a),
        Action::CouncilAct(a) => gov::council_act(layer, ctx, a),
        Action::FundTreasury(a) => gov::fund_treasury(layer, ctx, a),
        Action::Bond(a) => stake::bond(layer, ctx, a),
        Action::Unbond(a) => stake::unbond(layer, ctx, a),
        Action::Withdraw(a) => stake::withdraw(layer, ctx, a),
        Action::ClaimRewards(a) => rewards::claim(layer, ctx, a),
    }
}
