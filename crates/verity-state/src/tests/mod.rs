//! Execution-level tests: preliminary checks, receipts, admission and genesis rules.
//! Property tests live in `properties`.

mod properties;
mod speed;

use verity_types::{
    sha256, Action, EscrowRelease, Event, GenesisBalance, Role, SubmitAttestation, Transaction, Transfer, Transferred,
    TxStatus,
};

use crate::testkit::*;
use crate::{check_admission, execute_block, genesis_state, BlockContext, MemState, StateError};

fn ctx(height: u64) -> BlockContext {
    BlockContext { chain_id: CHAIN.into(), height, timestamp_ms: 0 }
}

#[test]
fn preliminary_failures_change_nothing_not_even_the_nonce() {
    let c = Chain::with_members();
    let n = c.next_nonce("alice");
    let wrong_chain =
        Transaction { chain_id: "other".into(), sender: acc("alice"), nonce: n, action: transfer("bob", "usd", 1) }
            .sign(&secret("alice"));
    let cases = [
        (wrong_chain, "wrong_chain"),
        (
            sign(
                "alice",
                n,
                Action::EscrowRelease(EscrowRelease { escrow: verity_types::EscrowId(sha256(b"x")), splits: vec![] }),
            ),
            "invalid_action",
        ),
        (sign("ghost", 0, transfer("bob", "usd", 1)), "unknown_sender"),
        (sign_with("alice", &secret("bob"), n, transfer("bob", "usd", 1)), "key_mismatch"),
        (sign("alice", n + 1, transfer("bob", "usd", 1)), "bad_nonce"),
    ];
    for (tx, code) in cases {
        let out = execute_block(&c.state, &ctx(c.height + 1), std::slice::from_ref(&tx), 0);
        assert!(out.writes.is_empty(), "{code}: no writes");
        let r = &out.receipts[0];
        assert_eq!(r.status, TxStatus::Failed);
        assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some(code), "{:?}", r.error);
        assert!(r.events.is_empty());
        // Admission refuses the same transactions, except a future nonce, which may wait.
        match check_admission(&c.state, CHAIN, &tx) {
            Err(e) => assert_eq!(e.code(), code),
            Ok(next) => assert_eq!((code, next), ("bad_nonce", n)),
        }
    }
}

#[test]
fn admission_accepts_current_and_future_nonces() {
    let mut c = Chain::with_members();
    c.ok("alice", transfer("bob", "usd", 1));
    c.ok("alice", transfer("bob", "usd", 1));
    assert_eq!(check_admission(&c.state, CHAIN, &sign("alice", 2, transfer("bob", "usd", 1))), Ok(2));
    assert_eq!(check_admission(&c.state, CHAIN, &sign("alice", 9, transfer("bob", "usd", 1))), Ok(2));
    let low = check_admission(&c.state, CHAIN, &sign("alice", 1, transfer("bob", "usd", 1)));
    assert_eq!(low, Err(StateError::BadNonce { account: acc("alice"), expected: 2, got: 1 }));
    assert_eq!(low.map_err(|e| e.to_string()), Err("account alice sent nonce 1, but its next nonce is 2".to_string()));
    // Admission does not run the action: an overdraft is only refused at execution.
    assert_eq!(check_admission(&c.state, CHAIN, &sign("alice", 2, transfer("bob", "usd", 10_000))), Ok(2));
}

#[test]
fn receipts_and_in_block_sequencing() {
    let c = Chain::with_members();
    let n = c.next_nonce("admin");
    let txs = vec![
        sign("admin", n, create("dave", "acme", &[Role::Member])),
        // dave exists within the same block and can act at once.
        sign("admin", n + 1, transfer("dave", "usd", 10)),
        sign("dave", 0, transfer("bob", "usd", 50)), // fails: consumes dave's nonce
        sign("dave", 1, transfer("bob", "usd", 4)),
        sign("dave", 1, transfer("bob", "usd", 4)), // replay: bad nonce
    ];
    let out = execute_block(&c.state, &ctx(7), &txs, 100);
    let codes: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_ref().map(|e| e.code.as_str())).collect();
    assert_eq!(codes, vec![None, None, Some("insufficient_funds"), None, Some("bad_nonce")]);
    for (i, (r, tx)) in out.receipts.iter().zip(&txs).enumerate() {
        assert_eq!(r.tx_hash, tx.hash());
        assert_eq!((r.height, r.index, r.log_index), (7, i as u32, 100 + i as u64));
    }
    assert_eq!(
        out.receipts[3].events,
        vec![Event::Transferred(Transferred { from: acc("dave"), to: acc("bob"), asset: asset("usd"), amount: 4 })]
    );
    let mut s = c.state.clone();
    s.apply(out.writes);
    s.check_conservation().expect("conserved");
    assert_eq!(crate::account(&s, &acc("dave")).map(|a| a.nonce), Some(2));
    assert_eq!(crate::balance(&s, &acc("dave"), &asset("usd")), 6);
}

#[test]
fn genesis_rules() {
    let mut g = genesis();
    g.balances.push(GenesisBalance { account: acc("badmin"), asset: asset("usd"), amount: 25 });
    let s = MemState::from(genesis_state(&g).expect("duplicate balance entries add up"));
    assert_eq!(crate::balance(&s, &acc("badmin"), &asset("usd")), 525);
    assert_eq!(crate::asset_supply(&s, &asset("usd")), 1525);

    let mut capped = genesis();
    capped.balances.push(GenesisBalance { account: acc("badmin"), asset: asset("usd"), amount: 999_000 });
    let err = genesis_state(&capped).expect_err("cap");
    assert_eq!(err.code(), "supply_cap_exceeded");
    assert_eq!(err.to_string(), "minting 999000 usd would take supply 1500 above its cap of 1000000");

    let mut zero = genesis();
    zero.balances[0].amount = 0;
    assert_eq!(genesis_state(&zero).map_err(|e| e.code()), Err("invalid_genesis"));

    let mut unchecked = genesis();
    unchecked.validators.clear();
    assert_eq!(genesis_state(&unchecked).map_err(|e| e.code()), Err("invalid_genesis"));

    // Keys: a small-order admin or validator key, or one validator key listed twice.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut weak_admin = genesis();
    weak_admin.orgs[0].admins[0].public_key = verity_types::PublicKey(identity);
    assert_eq!(genesis_state(&weak_admin).map_err(|e| e.code()), Err("invalid_genesis"));
    let mut weak_validator = genesis();
    weak_validator.validators[0].public_key = verity_types::PublicKey(identity);
    assert_eq!(genesis_state(&weak_validator).map_err(|e| e.code()), Err("invalid_genesis"));
    let mut twice = genesis();
    let again = twice.validators[0].clone();
    twice.validators.push(again);
    let err = genesis_state(&twice).expect_err("a key listed twice");
    assert!(err.to_string().contains("listed twice"), "{err}");

    let mut over = genesis();
    over.assets[1].supply_cap = None;
    over.balances.push(GenesisBalance { account: acc("badmin"), asset: asset("gold"), amount: u128::MAX });
    assert_eq!(genesis_state(&over).map_err(|e| e.code()), Err("overflow"));
}

#[test]
fn genesis_state_golden() {
    // A change to this digest is a change of the state format: make it on purpose.
    let writes = genesis_state(&genesis()).expect("valid");
    let mut all = Vec::new();
    for (k, v) in &writes {
        all.extend_from_slice(&(k.len() as u32).to_le_bytes());
        all.extend_from_slice(k);
        all.extend_from_slice(&(v.len() as u32).to_le_bytes());
        all.extend_from_slice(v);
    }
    let keys: Vec<String> = writes.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
    assert_eq!(
        keys,
        vec![
            "bank/asset/gold",
            "bank/asset/usd",
            "bank/balance/admin/gold",
            "bank/balance/admin/usd",
            "bank/balance/badmin/usd",
            "bank/holdings/admin",
            "bank/holdings/badmin",
            "bank/supply/gold",
            "bank/supply/usd",
            "consensus/validators",
            "identity/account/admin",
            "identity/account/badmin",
            "identity/org/acme",
            "identity/org/beta",
        ]
    );
    assert_eq!(sha256(&all).to_hex(), GOLDEN_GENESIS_STATE);
}

const GOLDEN_GENESIS_STATE: &str = "c98c174f916de2d88398f6e43696c94549bada73fdc981ebf37c03650765398c";

#[test]
fn error_messages_name_the_values() {
    let mut c = Chain::with_members();
    let r = c.fails("alice", transfer("bob", "usd", 101), "insufficient_funds");
    assert_eq!(r.error.map(|e| e.message), Some("account alice holds 100 usd, needs 101".to_string()));
    let r = c.fails("alice", transfer("bob", "usd", 1).with_asset("gold"), "insufficient_funds");
    assert_eq!(r.error.map(|e| e.message), Some("account alice holds 0 gold, needs 1".to_string()));
    let r = c.fails("bob", mint("bob", "usd", 1), "unauthorized");
    assert_eq!(r.error.map(|e| e.message), Some("account bob may not mint: requires role minter".to_string()));
}

trait WithAsset {
    fn with_asset(self, a: &str) -> Action;
}

impl WithAsset for Action {
    fn with_asset(self, a: &str) -> Action {
        match self {
            Action::Transfer(Transfer { to, amount, memo, .. }) => {
                Action::Transfer(Transfer { to, asset: asset(a), amount, memo })
            }
            other => other,
        }
    }
}

/// An attestation whose DSSE signature does not verify is refused at admission (it
/// used to be admitted and committed as a failed transaction, costing the sender a
/// nonce and every validator a receipt); a good one is admitted.
#[test]
fn admission_checks_the_attestation_signature() {
    use crate::provenance::tests::{attest, lineage, statement};
    let c = lineage();
    let st = statement("clf", 1, "performance", 950_000, true);
    let mut forged = attest("eve", &st);
    if let Action::SubmitAttestation(SubmitAttestation { envelope }) = &mut forged {
        envelope.signatures[0].sig = crate::testkit::secret("alice").sign(b"x");
    }
    let nonce = c.next_nonce("eve");
    let err = check_admission(&c.state, CHAIN, &sign("eve", nonce, forged)).expect_err("a forged envelope");
    assert_eq!(err.code(), "bad_signature");
    assert_eq!(check_admission(&c.state, CHAIN, &sign("eve", nonce, attest("eve", &st))), Ok(nonce));
}
