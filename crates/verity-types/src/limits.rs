//! Named bounds on everything the ledger accepts. Relationships between them are checked
//! at compile time at the bottom of this file.

/// Largest encoded signed transaction accepted anywhere.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 10_000;
/// Longest identifier (account, org, asset) in bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Most roles one account can hold.
pub const ROLES_PER_ACCOUNT_MAX: usize = 32;
/// Most recipients in one escrow release split.
pub const ESCROW_SPLITS_MAX: usize = 64;
/// Longest memo or free-text reason in an action.
pub const MEMO_BYTES_MAX: usize = 256;
/// Most transactions in one HTTP batch submission.
pub const BATCH_TXS_MAX: usize = 4_096;
/// Largest HTTP request body the node reads.
pub const REQUEST_BYTES_MAX: usize = 2 * BATCH_TXS_MAX * 2 * 1024 + 1024 * 1024;
/// Most organisations or validators in a genesis file.
pub const GENESIS_ENTRIES_MAX: usize = 1_024;
/// Longest state key.
pub const STATE_KEY_BYTES_MAX: usize = 256;
/// Most siblings in an RFC 6962 proof (a log of up to 2^64 leaves).
pub const LOG_PROOF_HASHES_MAX: usize = 64;
/// Most levels in a state proof (a 16-ary tree over 256-bit key hashes).
pub const STATE_PROOF_LEVELS_MAX: usize = 64;

/// Most recipients in a content payout split.
pub const PAYOUT_SPLITS_MAX: usize = 16;
/// Most licences in a dataset version's licence set or an opt-out's scope.
pub const LICENCES_PER_DATASET_MAX: usize = 64;
/// Most items in one dataset manifest.
pub const MANIFEST_ITEMS_MAX: usize = 10_000_000;
/// Most items in one enumerated-dataset chunk (a chunk must fit one transaction).
pub const DATASET_CHUNK_ITEMS_MAX: usize = 512;
/// Most designated reviewers of a dataset version.
pub const REVIEWERS_MAX: usize = 16;
/// Most organisations in a dataset version's review quorum.
pub const REVIEW_ORGS_MAX: usize = 16;
/// Most claims in one content dispute (one per organisation).
pub const DISPUTE_CLAIMS_MAX: usize = 8;
/// Most disputes ever opened over one piece of content.
pub const DISPUTES_PER_CONTENT_MAX: usize = 16;
/// Longest challenge window, in heights.
pub const CHALLENGE_WINDOW_MAX: u64 = 1_000_000;
/// Most dataset versions one training run may use.
pub const RUN_DATASETS_MAX: usize = 64;
/// Longest chain of base models under a model version.
pub const MODEL_DEPTH_MAX: u32 = 64;
/// Largest DSSE payload (in-toto statement) of an attestation.
pub const ATTESTATION_BYTES_MAX: usize = 16 * 1024;
/// Most signatures on a DSSE envelope.
pub const DSSE_SIGNATURES_MAX: usize = 8;
/// Most metrics in one attestation.
pub const METRICS_MAX: usize = 32;
/// Most requirements in a deploy gate (and environments per requirement).
pub const GATE_REQUIREMENTS_MAX: usize = 16;
/// Most evaluators named by one gate requirement.
pub const GATE_EVALUATORS_MAX: usize = 32;
/// Most metric bounds in one gate requirement.
pub const GATE_METRICS_MAX: usize = 16;
/// How long (block time, ms) a change that loosens a model's deploy gate waits before it
/// takes effect unless an org admin of another organisation approves it first: a day, so
/// partners watching the event stream see it coming.
pub const GATE_CHANGE_DELAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Most records one lineage trace returns.
pub const TRACE_NODES_MAX: usize = 2_000;
/// Downstream records of one kind a trace lists under one record unless asked for more
/// (the newest; the others are counted). Decisions are the bulk of a production ledger,
/// thousands per model version: listing them all made a trace cost thousands of reads.
pub const TRACE_FANOUT_DEFAULT: usize = 16;

/// Most items one page of a list endpoint returns (`/v1/audit/releases`,
/// `/v1/validators`, `/v1/evidence`, a record's flags): also the page size when a
/// request names none. A list longer than this is read page by page with a cursor.
pub const PAGE_ITEMS_MAX: usize = 1_000;

const _: () = assert!(BLOCK_TXS_MAX >= BATCH_TXS_MAX);
const _: () = assert!(PAGE_ITEMS_MAX >= 1 && PAGE_ITEMS_MAX <= TRACE_NODES_MAX);
const _: () = assert!(REQUEST_BYTES_MAX >= 2 * TX_BYTES_MAX);
const _: () = assert!(MEMO_BYTES_MAX < TX_BYTES_MAX);
const _: () = assert!(DATASET_CHUNK_ITEMS_MAX * (32 + 1 + 4 + 64) + 4 * 1024 < TX_BYTES_MAX);
const _: () = assert!(ATTESTATION_BYTES_MAX * 2 < TX_BYTES_MAX);
const _: () = assert!(METRICS_MAX >= GATE_METRICS_MAX);
const _: () = assert!(TRACE_FANOUT_DEFAULT >= 1 && TRACE_FANOUT_DEFAULT <= TRACE_NODES_MAX);
/// Most operations in one validator-set change.
pub const VALIDATOR_OPS_MAX: usize = 64;
/// Most approvals carried by one validator-set change.
pub const APPROVALS_MAX: usize = 256;
