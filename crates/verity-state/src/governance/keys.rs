//! State keys of the governance domain (`gov/`), its stake ledger (`stake/`), reward
//! streams (`rewards/`) and reputation (`rep/`). Identifiers never contain `/`, and a
//! stake scope's text form (`validator:<hex>`, `dataset:NAME@VERSION`, `program:NAME`)
//! neither, so every key is unambiguous and readable.

use verity_types::limits::{ID_BYTES_MAX, STATE_KEY_BYTES_MAX};
use verity_types::{AccountId, Hash, OrgId, Program, StakeScope, StreamId};

/// The [`verity_types::Constitution`] (absent: the chain has no governance).
pub const CONSTITUTION: &[u8] = b"gov/constitution";
/// The member organisations and their weights (`Vec<OrgWeight>`, sorted by org).
pub const MEMBERS: &[u8] = b"gov/members";
/// Prefix of how many of an organisation's proposals are open (`u32`).
pub const OPEN_PREFIX: &[u8] = b"gov/open/";
/// Prefix of the height at which governance admitted an organisation (`u64`).
pub const ADMITTED_PREFIX: &[u8] = b"gov/admitted/";
/// Organisations removed by governance (`Vec<OrgId>`, sorted).
pub const REMOVED: &[u8] = b"gov/removed";
/// How many proposals exist (`u64`).
pub const PROPOSAL_COUNT: &[u8] = b"gov/proposal_count";
/// Prefix of parameter values (`u128`), set by genesis or a proposal.
pub const PARAM_PREFIX: &[u8] = b"gov/param/";
/// Prefix of proposal records by id.
pub const PROPOSAL_PREFIX: &[u8] = b"gov/proposal/";
/// Prefix of proposal ids by sequence number.
pub const PROPOSAL_SEQ_PREFIX: &[u8] = b"gov/proposal_seq/";
/// Prefix of the proposals due at a height (`Vec<Hash>`).
pub const DUE_PREFIX: &[u8] = b"gov/due/";
/// Prefix of council motions by id.
pub const MOTION_PREFIX: &[u8] = b"gov/motion/";
/// Prefix of program allowlists.
pub const ALLOWLIST_PREFIX: &[u8] = b"gov/allowlist/";
/// Prefix of stake positions, `stake/pos/<account>/<scope>`.
pub const POSITION_PREFIX: &[u8] = b"stake/pos/";
/// Prefix of the stakers of a scope (`Vec<AccountId>`).
pub const SCOPE_PREFIX: &[u8] = b"stake/scope/";
/// Prefix of the positions of a program (`Vec<(AccountId, StakeScope)>`).
pub const PROGRAM_PREFIX: &[u8] = b"stake/program/";
/// Prefix of how many open positions an organisation holds in a program (`u32`),
/// `stake/program_org/<program>/<org>`.
pub const PROGRAM_ORG_PREFIX: &[u8] = b"stake/program_org/";
/// Prefix of an account's positions (`Vec<StakeScope>`).
pub const ACCOUNT_PREFIX: &[u8] = b"stake/account/";
/// The ids of every reward stream (`Vec<StreamId>`, in creation order).
pub const STREAMS: &[u8] = b"rewards/streams";
/// Prefix of stream records.
pub const STREAM_PREFIX: &[u8] = b"rewards/stream/";
/// Prefix of what a stream owes an account (`u128`), `rewards/owed/<stream>/<account>`.
pub const OWED_PREFIX: &[u8] = b"rewards/owed/";
/// Prefix of reputation records.
pub const REPUTATION_PREFIX: &[u8] = b"rep/";

// The longest key: a position on a validator key (account, `validator:` and 64 hex digits).
const _: () = assert!(POSITION_PREFIX.len() + ID_BYTES_MAX + 1 + 10 + 64 < STATE_KEY_BYTES_MAX);

pub fn open(org: &OrgId) -> Vec<u8> {
    [OPEN_PREFIX, org.as_str().as_bytes()].concat()
}

pub fn admitted(org: &OrgId) -> Vec<u8> {
    [ADMITTED_PREFIX, org.as_str().as_bytes()].concat()
}

pub fn param(name: &str) -> Vec<u8> {
    [PARAM_PREFIX, name.as_bytes()].concat()
}

pub fn proposal(id: &Hash) -> Vec<u8> {
    [PROPOSAL_PREFIX, id.to_hex().as_bytes()].concat()
}

pub fn proposal_seq(sequence: u64) -> Vec<u8> {
    [PROPOSAL_SEQ_PREFIX, format!("{sequence:020}").as_bytes()].concat()
}

pub fn due(height: u64) -> Vec<u8> {
    [DUE_PREFIX, format!("{height:020}").as_bytes()].concat()
}

pub fn motion(id: &Hash) -> Vec<u8> {
    [MOTION_PREFIX, id.to_hex().as_bytes()].concat()
}

pub fn allowlist(program: Program) -> Vec<u8> {
    [ALLOWLIST_PREFIX, program.name().as_bytes()].concat()
}

pub fn position(account: &AccountId, scope: &StakeScope) -> Vec<u8> {
    [POSITION_PREFIX, account.as_str().as_bytes(), b"/", scope.key_text().as_bytes()].concat()
}

pub fn scope(scope: &StakeScope) -> Vec<u8> {
    [SCOPE_PREFIX, scope.key_text().as_bytes()].concat()
}

pub fn program(program: Program) -> Vec<u8> {
    [PROGRAM_PREFIX, program.name().as_bytes()].concat()
}

pub fn program_org(program: Program, org: &OrgId) -> Vec<u8> {
    [PROGRAM_ORG_PREFIX, program.name().as_bytes(), b"/", org.as_str().as_bytes()].concat()
}

pub fn account(account: &AccountId) -> Vec<u8> {
    [ACCOUNT_PREFIX, account.as_str().as_bytes()].concat()
}

pub fn stream(id: &StreamId) -> Vec<u8> {
    [STREAM_PREFIX, id.as_str().as_bytes()].concat()
}

pub fn owed(stream: &StreamId, account: &AccountId) -> Vec<u8> {
    [OWED_PREFIX, stream.as_str().as_bytes(), b"/", account.as_str().as_bytes()].concat()
}

pub fn reputation(account: &AccountId) -> Vec<u8> {
    [REPUTATION_PREFIX, account.as_str().as_bytes()].concat()
}
