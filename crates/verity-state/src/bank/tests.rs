use verity_types::{
    Action, Burned, EscrowId, EscrowLocked, EscrowRefund, EscrowRefunded, EscrowRelease, EscrowReleased, Event,
    GrantRole, Hash, MintRule, Minted, RevokeRole, Transferred,
};

use crate::error::BankError;
use crate::testkit::*;
use crate::{EscrowStatus, StateError};

#[test]
fn genesis_balances_supply_and_holdings() {
    let c = Chain::new();
    assert_eq!(c.balance("admin", "usd"), 1000);
    assert_eq!(crate::asset_supply(&c.state, &asset("usd")), 1500);
    assert_eq!(crate::asset_supply(&c.state, &asset("gold")), 50);
    assert_eq!(crate::account_balances(&c.state, &acc("admin")), vec![(asset("gold"), 50), (asset("usd"), 1000)]);
    assert_eq!(crate::account_balances(&c.state, &acc("ghost")), vec![]);
    let usd = crate::asset(&c.state, &asset("usd")).expect("usd");
    assert_eq!(usd.mint, MintRule::Orgs { orgs: vec![org("acme")] });
    assert_eq!(usd.supply_cap, Some(1_000_000));
}

#[test]
fn keys_are_readable() {
    assert_eq!(crate::keys::balance(&acc("alice"), &asset("usd")), b"bank/balance/alice/usd".to_vec());
    assert_eq!(crate::keys::account(&acc("alice")), b"identity/account/alice".to_vec());
    assert_eq!(crate::keys::org(&org("acme")), b"identity/org/acme".to_vec());
    assert_eq!(crate::keys::supply(&asset("usd")), b"bank/supply/usd".to_vec());
    assert_eq!(crate::keys::asset(&asset("usd")), b"bank/asset/usd".to_vec());
    assert_eq!(crate::keys::holdings(&acc("alice")), b"bank/holdings/alice".to_vec());
    assert_eq!(
        crate::keys::escrow(&EscrowId(Hash([0xab; 32]))),
        [b"bank/escrow/".as_slice(), "ab".repeat(32).as_bytes()].concat()
    );
}

#[test]
fn transfer_moves_funds_and_records_holdings() {
    let mut c = Chain::with_members();
    let r = c.ok("alice", transfer("carol", "usd", 40));
    assert_eq!(
        r.events,
        vec![Event::Transferred(Transferred { from: acc("alice"), to: acc("carol"), asset: asset("usd"), amount: 40 })]
    );
    assert_eq!((c.balance("alice", "usd"), c.balance("carol", "usd")), (60, 40));
    assert_eq!(crate::account_balances(&c.state, &acc("carol")), vec![(asset("usd"), 40)]);
    c.ok("alice", transfer("alice", "usd", 60));
    assert_eq!(c.balance("alice", "usd"), 60);
    c.ok("alice", transfer("bob", "usd", 60));
    // Emptied balances stay listed: the account once held the asset.
    assert_eq!(crate::account_balances(&c.state, &acc("alice")), vec![(asset("usd"), 0)]);
}

#[test]
fn bank_refusals() {
    let cases: &[(&str, Action, &str)] = &[
        ("alice", transfer("bob", "usd", 101), "insufficient_funds"),
        ("alice", transfer("bob", "usd", 0), "zero_amount"),
        ("alice", transfer("ghost", "usd", 1), "unknown_account"),
        ("alice", transfer("bob", "eur", 1), "unknown_asset"),
        ("alice", transfer("bob", "gold", 1), "insufficient_funds"),
        ("alice", mint("alice", "usd", 1), "unauthorized"),
        ("minnie", mint("alice", "usd", 0), "zero_amount"),
        ("minnie", mint("alice", "eur", 1), "unknown_asset"),
        ("minnie", mint("alice", "gold", 1), "mint_not_allowed"),
        ("minnie", mint("ghost", "usd", 1), "unknown_account"),
        ("minnie", mint("alice", "usd", 1_000_000), "supply_cap_exceeded"),
        ("alice", burn("usd", 101), "insufficient_funds"),
        ("alice", burn("usd", 0), "zero_amount"),
        ("alice", burn("eur", 1), "unknown_asset"),
        ("minnie", burn("usd", 1), "insufficient_funds"),
        ("alice", lock("usd", 101, "bob", None), "insufficient_funds"),
        ("alice", lock("usd", 0, "bob", None), "zero_amount"),
        ("alice", lock("eur", 1, "bob", None), "unknown_asset"),
        ("alice", lock("usd", 1, "ghost", None), "unknown_account"),
    ];
    let mut c = Chain::with_members();
    for (sender, action, code) in cases {
        c.fails(sender, action.clone(), code);
    }
    // Roles: a non-member cannot move funds.
    c.ok("admin", Action::RevokeRole(RevokeRole { account: acc("alice"), role: verity_types::Role::Member }));
    for action in [transfer("bob", "usd", 1), burn("usd", 1), lock("usd", 1, "bob", None)] {
        c.fails("alice", action, "unauthorized");
    }
}

#[test]
fn mint_rules() {
    let mut c = Chain::with_members();
    // A beta minter is refused: the usd rule lists only acme.
    c.ok("badmin", Action::GrantRole(GrantRole { account: acc("carol"), role: verity_types::Role::Minter }));
    c.fails("carol", mint("carol", "usd", 1), "mint_not_allowed");
    let r = c.ok("minnie", mint("carol", "usd", 998_500));
    assert_eq!(
        r.events,
        vec![Event::Minted(Minted { to: acc("carol"), asset: asset("usd"), amount: 998_500, by: acc("minnie") })]
    );
    assert_eq!(crate::asset_supply(&c.state, &asset("usd")), 1_000_000);
    c.fails("minnie", mint("carol", "usd", 1), "supply_cap_exceeded");
    let r = c.ok("carol", burn("usd", 500));
    assert_eq!(r.events, vec![Event::Burned(Burned { from: acc("carol"), asset: asset("usd"), amount: 500 })]);
    assert_eq!(crate::asset_supply(&c.state, &asset("usd")), 999_500);
    c.ok("minnie", mint("bob", "usd", 500));
}

#[test]
fn overflow_is_refused() {
    // An uncapped mintable asset pushed to the u128 limit.
    let mut g = genesis();
    g.assets.push(verity_types::GenesisAsset {
        id: asset("big"),
        mint: MintRule::Orgs { orgs: vec![org("acme")] },
        supply_cap: None,
    });
    g.balances.push(verity_types::GenesisBalance { account: acc("admin"), asset: asset("big"), amount: u128::MAX });
    let mut c = Chain::from_genesis(g);
    c.ok("admin", Action::GrantRole(GrantRole { account: acc("admin"), role: verity_types::Role::Minter }));
    c.fails("admin", mint("admin", "big", 1), "overflow");
}

fn escrow_id(receipt: &verity_types::Receipt) -> EscrowId {
    EscrowId(receipt.tx_hash)
}

#[test]
fn escrow_release_splits_exactly() {
    let mut c = Chain::with_members();
    let r = c.ok("alice", lock("usd", 60, "bob", None));
    let id = escrow_id(&r);
    assert_eq!(
        r.events,
        vec![Event::EscrowLocked(EscrowLocked {
            escrow: id,
            depositor: acc("alice"),
            arbiter: acc("bob"),
            asset: asset("usd"),
            amount: 60
        })]
    );
    assert_eq!(c.balance("alice", "usd"), 40);
    let e = crate::escrow(&c.state, &id).expect("escrow stored");
    assert_eq!((e.status, e.amount, e.memo.as_str()), (EscrowStatus::Open, 60, "job"));

    let release = |splits: Vec<(&str, u128)>| {
        Action::EscrowRelease(EscrowRelease {
            escrow: id,
            splits: splits.into_iter().map(|(a, n)| (acc(a), n)).collect(),
        })
    };
    c.fails("alice", release(vec![("carol", 60)]), "unauthorized");
    c.fails("bob", release(vec![("carol", 59)]), "split_mismatch");
    c.fails("bob", release(vec![("carol", 61)]), "split_mismatch");
    c.fails("bob", release(vec![("carol", 60), ("bob", 0)]), "zero_amount");
    c.fails("bob", release(vec![("ghost", 60)]), "unknown_account");
    c.fails("bob", release(vec![("carol", u128::MAX), ("bob", 2)]), "overflow");
    let r = c.ok("bob", release(vec![("carol", 45), ("bob", 15)]));
    assert_eq!(
        r.events,
        vec![Event::EscrowReleased(EscrowReleased {
            escrow: id,
            asset: asset("usd"),
            splits: vec![(acc("carol"), 45), (acc("bob"), 15)]
        })]
    );
    assert_eq!((c.balance("carol", "usd"), c.balance("bob", "usd")), (45, 15));
    assert_eq!(crate::escrow(&c.state, &id).map(|e| e.status), Some(EscrowStatus::Released));
    c.fails("bob", release(vec![("carol", 60)]), "escrow_closed");
    c.fails("bob", Action::EscrowRefund(EscrowRefund { escrow: id }), "escrow_closed");
    c.fails("bob", Action::EscrowRefund(EscrowRefund { escrow: EscrowId(Hash([7; 32])) }), "escrow_not_found");
    c.fails("bob", release(vec![("carol", 1)]).clone_with_escrow(EscrowId(Hash([7; 32]))), "escrow_not_found");
}

trait WithEscrow {
    fn clone_with_escrow(self, id: EscrowId) -> Action;
}

impl WithEscrow for Action {
    fn clone_with_escrow(self, id: EscrowId) -> Action {
        match self {
            Action::EscrowRelease(EscrowRelease { splits, .. }) => {
                Action::EscrowRelease(EscrowRelease { escrow: id, splits })
            }
            other => other,
        }
    }
}

#[test]
fn escrow_refund_rules() {
    let mut c = Chain::with_members();
    // No refund height: only the arbiter refunds.
    let id = escrow_id(&c.ok("alice", lock("usd", 10, "bob", None)));
    c.fails("alice", Action::EscrowRefund(EscrowRefund { escrow: id }), "unauthorized");
    c.fails("carol", Action::EscrowRefund(EscrowRefund { escrow: id }), "unauthorized");
    let r = c.ok("bob", Action::EscrowRefund(EscrowRefund { escrow: id }));
    assert_eq!(
        r.events,
        vec![Event::EscrowRefunded(EscrowRefunded {
            escrow: id,
            depositor: acc("alice"),
            asset: asset("usd"),
            amount: 10
        })]
    );
    assert_eq!(c.balance("alice", "usd"), 100);
    assert_eq!(crate::escrow(&c.state, &id).map(|e| e.status), Some(EscrowStatus::Refunded));

    // With a refund height: the depositor refunds from that height on.
    let at = c.height + 4;
    let id = escrow_id(&c.ok("alice", lock("usd", 10, "bob", Some(at)))); // height at - 3
    c.fails("alice", Action::EscrowRefund(EscrowRefund { escrow: id }), "refund_not_yet"); // height at - 2
    c.fails("alice", Action::EscrowRefund(EscrowRefund { escrow: id }), "refund_not_yet"); // height at - 1
    c.ok("alice", Action::EscrowRefund(EscrowRefund { escrow: id })); // height at
    assert_eq!(c.height, at);
    assert_eq!(c.balance("alice", "usd"), 100);
}

#[test]
fn error_codes_are_unique_and_listed() {
    let mut codes: Vec<&str> = StateError::all_codes().collect();
    codes.sort();
    let listed = codes.len();
    codes.dedup();
    assert_eq!(codes.len(), listed, "a code is used twice");
    // Codes are API: recorded in receipts. This list changes only when a code is added.
    let expected = [
        "account_exists",
        "admitted_after_proposal",
        "already_counted",
        "already_done",
        "already_exists",
        "bad_items",
        "bad_nonce",
        "bad_signature",
        "challenge_closed",
        "challenge_unfounded",
        "correction_refused",
        "dataset_pending",
        "deployment_suspended",
        "deprecated",
        "escrow_closed",
        "escrow_exists",
        "escrow_not_found",
        "gate_change_not_pending",
        "gate_not_satisfied",
        "governance_off",
        "insufficient_approvals",
        "insufficient_funds",
        "insufficient_stake",
        "invalid_action",
        "invalid_attestation",
        "invalid_evidence",
        "invalid_genesis",
        "invalid_proof",
        "invalid_rollback",
        "invalid_validator_change",
        "key_mismatch",
        "licence_mismatch",
        "lift_refused",
        "limit_reached",
        "lineage_flagged",
        "lineage_too_deep",
        "mint_not_allowed",
        "no_gate",
        "not_a_member",
        "not_a_validator",
        "not_allowlisted",
        "not_cooling_off",
        "not_found",
        "not_passed",
        "nothing_due",
        "opted_out",
        "overflow",
        "parameter_forbids",
        "parameter_out_of_bounds",
        "proposal_closed",
        "refund_not_yet",
        "role_already_held",
        "role_not_held",
        "root_mismatch",
        "self_admin_revoke",
        "split_mismatch",
        "stake_below_minimum",
        "stream_paused",
        "supply_cap_exceeded",
        "too_early",
        "unauthorized",
        "unknown_account",
        "unknown_asset",
        "unknown_org",
        "unknown_parameter",
        "unknown_sender",
        "unregistered_content",
        "voting_closed",
        "wrong_chain",
        "wrong_version",
        "zero_amount",
    ];
    assert_eq!(codes, expected);
    assert_eq!(StateError::Bank(BankError::ZeroAmount { what: "x" }).code(), "zero_amount");
    assert!(StateError::all_codes().any(|c| c == StateError::InvalidGenesis(String::new()).code()));
}
