use verity_types::{
    AccountCreated, Action, CreateAccount, Event, GrantRole, KeyRotated, RevokeRole, Role, RoleGranted, RotateKey,
};

use crate::testkit::*;

#[test]
fn genesis_admins_are_admin_members() {
    let c = Chain::new();
    let admin = crate::account(&c.state, &acc("admin")).expect("admin exists");
    assert_eq!(admin.roles, vec![Role::OrgAdmin, Role::Member]);
    assert_eq!(admin.org, org("acme"));
    assert_eq!(admin.nonce, 0);
    assert_eq!(crate::org(&c.state, &org("beta")).map(|o| o.name), Some("Beta".to_string()));
}

#[test]
fn create_account_normalises_roles_and_emits_event() {
    let mut c = Chain::new();
    let r = c.ok("admin", create("dave", "acme", &[Role::Member, Role::Creator, Role::Member]));
    let dave = crate::account(&c.state, &acc("dave")).expect("created");
    assert_eq!(dave.roles, vec![Role::Member, Role::Creator]);
    assert_eq!(dave.nonce, 0);
    assert_eq!(
        r.events,
        vec![Event::AccountCreated(AccountCreated {
            account: acc("dave"),
            org: org("acme"),
            public_key: pk("dave"),
            roles: vec![Role::Member, Role::Creator],
        })]
    );
}

#[test]
fn create_account_refusals() {
    let cases: &[(&str, Action, &str)] = &[
        ("alice", create("x", "acme", &[Role::Member]), "unauthorized"),
        ("badmin", create("x", "acme", &[Role::Member]), "unauthorized"),
        ("admin", create("x", "nowhere", &[]), "unauthorized"),
        ("admin", create("bob", "acme", &[]), "account_exists"),
        ("admin", create("badmin", "acme", &[]), "account_exists"),
    ];
    let mut c = Chain::with_members();
    for (sender, action, code) in cases {
        c.fails(sender, action.clone(), code);
    }
}

/// The attack: an account created with the identity point as its key could be driven
/// by anyone, with a "universal" signature that verifies for every message. Small-order
/// and mixed-order keys are refused wherever a key enters; nothing changes, not even
/// the sender's nonce (the action fails its stateless checks).
#[test]
fn small_order_keys_never_enter() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = verity_types::PublicKey(identity);
    let mut c = Chain::with_members();
    for action in [
        Action::CreateAccount(CreateAccount {
            account: acc("mallory"),
            public_key: weak,
            org: org("acme"),
            roles: vec![Role::Member],
        }),
        Action::RotateKey(RotateKey { account: acc("alice"), public_key: weak }),
    ] {
        let before = c.state.clone();
        let r = c.exec("admin", action);
        let err = r.error.expect("refused");
        assert_eq!(err.code, "invalid_action");
        assert!(err.message.contains("small order"), "{}", err.message);
        assert_eq!(c.state, before, "nothing changes");
    }
    assert!(crate::account(&c.state, &acc("mallory")).is_none());
}

#[test]
fn grant_and_revoke_roles() {
    let mut c = Chain::with_members();
    let r = c.ok("admin", Action::GrantRole(GrantRole { account: acc("alice"), role: Role::Auditor }));
    assert_eq!(
        r.events,
        vec![Event::RoleGranted(RoleGranted { account: acc("alice"), role: Role::Auditor, by: acc("admin") })]
    );
    assert_eq!(crate::account(&c.state, &acc("alice")).map(|a| a.roles), Some(vec![Role::Member, Role::Auditor]));
    c.ok("admin", Action::RevokeRole(RevokeRole { account: acc("alice"), role: Role::Member }));
    assert_eq!(crate::account(&c.state, &acc("alice")).map(|a| a.roles), Some(vec![Role::Auditor]));
    // Without Member alice can no longer transfer.
    c.fails("alice", transfer("bob", "usd", 1), "unauthorized");
    // A second admin may revoke the first admin's admin role, but not its own.
    c.ok("admin", Action::GrantRole(GrantRole { account: acc("bob"), role: Role::OrgAdmin }));
    c.ok("bob", Action::RevokeRole(RevokeRole { account: acc("admin"), role: Role::OrgAdmin }));
    c.fails("bob", Action::RevokeRole(RevokeRole { account: acc("bob"), role: Role::OrgAdmin }), "self_admin_revoke");
    c.fails("admin", Action::GrantRole(GrantRole { account: acc("admin"), role: Role::OrgAdmin }), "unauthorized");
}

#[test]
fn role_refusals() {
    let cases: &[(&str, Action, &str)] = &[
        ("alice", Action::GrantRole(GrantRole { account: acc("bob"), role: Role::Minter }), "unauthorized"),
        ("badmin", Action::GrantRole(GrantRole { account: acc("bob"), role: Role::Minter }), "unauthorized"),
        ("admin", Action::GrantRole(GrantRole { account: acc("ghost"), role: Role::Minter }), "unknown_account"),
        ("admin", Action::GrantRole(GrantRole { account: acc("bob"), role: Role::Member }), "role_already_held"),
        ("alice", Action::RevokeRole(RevokeRole { account: acc("bob"), role: Role::Member }), "unauthorized"),
        ("badmin", Action::RevokeRole(RevokeRole { account: acc("bob"), role: Role::Member }), "unauthorized"),
        ("admin", Action::RevokeRole(RevokeRole { account: acc("ghost"), role: Role::Member }), "unknown_account"),
        ("admin", Action::RevokeRole(RevokeRole { account: acc("bob"), role: Role::Minter }), "role_not_held"),
        ("admin", Action::RevokeRole(RevokeRole { account: acc("admin"), role: Role::OrgAdmin }), "self_admin_revoke"),
    ];
    let mut c = Chain::with_members();
    for (sender, action, code) in cases {
        c.fails(sender, action.clone(), code);
    }
}

#[test]
fn rotate_key_by_self_and_by_admin() {
    let mut c = Chain::with_members();
    let r = c.ok("alice", Action::RotateKey(RotateKey { account: acc("alice"), public_key: pk("alice2") }));
    assert_eq!(r.events, vec![Event::KeyRotated(KeyRotated { account: acc("alice"), public_key: pk("alice2") })]);
    // The old key no longer works; the new one does.
    let n = c.next_nonce("alice");
    let old = c.block(&[sign("alice", n, transfer("bob", "usd", 1))]);
    assert_eq!(old[0].error.as_ref().map(|e| e.code.as_str()), Some("key_mismatch"));
    let new = c.block(&[sign_with("alice", &secret("alice2"), n, transfer("bob", "usd", 1))]);
    assert_eq!(new[0].error, None);
    // The org admin can rotate it back; another org's admin and plain members cannot.
    c.ok("admin", Action::RotateKey(RotateKey { account: acc("alice"), public_key: pk("alice") }));
    c.fails("badmin", Action::RotateKey(RotateKey { account: acc("alice"), public_key: pk("x") }), "unauthorized");
    c.fails("bob", Action::RotateKey(RotateKey { account: acc("alice"), public_key: pk("x") }), "unauthorized");
    c.fails("admin", Action::RotateKey(RotateKey { account: acc("ghost"), public_key: pk("x") }), "unknown_account");
}

#[test]
fn rotating_own_key_keeps_the_consumed_nonce() {
    let mut c = Chain::with_members();
    c.ok("alice", Action::RotateKey(RotateKey { account: acc("alice"), public_key: pk("alice") }));
    assert_eq!(c.next_nonce("alice"), 1);
    c.ok("admin", Action::GrantRole(GrantRole { account: acc("admin"), role: Role::Auditor }));
    let admin = crate::account(&c.state, &acc("admin")).expect("admin");
    assert_eq!(admin.nonce, c.next_nonce("admin"));
    assert!(admin.has_role(Role::Auditor));
}
