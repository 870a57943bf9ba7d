//! The `verity` command.
//!
//! # Status
//! Ledger foundation commands: complete.

// Printing for the whole crate (defined before the modules, so that it replaces std's
// macros in all of them): std's `println!` panics when stdout's reader has gone
// (`verity ... | head`); these go through `output`, which ends the process quietly then.
macro_rules! println {
    () => { $crate::output::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), true) };
}
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), false) };
}
macro_rules! eprintln {
    () => { $crate::output::write_stderr(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!($($arg)*), true) };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!($($arg)*), false) };
}

mod bench;
mod commands;
mod content;
mod dataset;
mod eval;
mod governance;
mod model;
mod output;
mod provenance;
mod publish;
mod train;
mod validators;

/// mimalloc instead of the system allocator: the block pipeline allocates per state
/// write and tree node, and glibc's malloc took a fifth of its time (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Index of `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (the version that
/// libmimalloc-sys, pinned in Cargo.toml, builds); a test checks it against the default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory the process has freed instead of returning it to the OS. By default
/// mimalloc purges memory that stayed free for a second (`MADV_DONTNEED`), and the next
/// allocation faults it back in, zeroing each page (2 MiB at a time with transparent
/// huge pages). Measured on `verity bench ingest`: about 38,000 page faults and an eighth
/// of all CPU samples in the kernel's page clearing, in bursts that stalled block
/// preparation for 10-30 ms; with purging off, about 1,400 faults. The heap stays at its
/// high-water mark, which the node's bounded caches and mempool keep bounded.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes no pointers; it stores a word-sized integer (and an
    // init flag) in mimalloc's option table, plain stores of the kind mimalloc itself
    // makes from any thread when it reads an option for the first time. `main` calls
    // this before it starts any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// Turns transparent huge pages off for this process (and the validators it starts).
/// mimalloc asks for huge pages on its arenas, so the first touch of any 4 KiB of a
/// fresh 2 MiB region makes the kernel zero all of it. Caches and the mempool filling up
/// then cost the kernel's page clearing a quarter of all CPU samples of `verity bench
/// network` (all five processes; 0.6% with huge pages off; BENCHMARKS.md). The setting
/// is checked at each fault, so regions mimalloc reserved before `main` follow it too.
/// `VERITY_HUGE_PAGES=1` leaves the kernel's setting alone: for an A/B of the same binary,
/// or a machine where huge pages win.
fn no_huge_pages() {
    if std::env::var_os("VERITY_HUGE_PAGES").is_some_and(|v| v == "1") {
        return;
    }
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        // Not fatal: only slower (a kernel without the prctl, or a sandbox refusing it).
        eprintln!("warning: could not turn off transparent huge pages: {e}");
    }
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Verity: a permissioned ledger that makes AI accountable across organisations.
#[derive(Parser)]
#[command(name = "verity", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// URL of a running node.
    #[arg(long, global = true, env = "VERITY_NODE", default_value = "http://127.0.0.1:7420")]
    pub node: String,
    /// Machine-readable JSON output instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Keystore file with account keys.
    #[arg(long, global = true, env = "VERITY_KEYSTORE", default_value = ".verity/keystore.json")]
    pub keystore: PathBuf,
    /// File holding the passphrase of an encrypted keystore (default: the
    /// VERITY_KEYSTORE_PASSPHRASE environment variable). There is deliberately no flag
    /// taking the passphrase itself: command lines are visible to every user.
    #[arg(long, global = true, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a single-organisation dev network in a data directory.
    Init(commands::InitArgs),
    /// Run a node: a single-organisation node from a data directory (--data-dir), or one
    /// validator of a multi-organisation network from its config file (--config).
    Node {
        #[arg(long, required_unless_present = "config", conflicts_with = "config")]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = verity_node::server::DEFAULT_LISTEN, conflicts_with = "config")]
        listen: SocketAddr,
        /// A validator config file written by `verity testnet`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create a local multi-organisation network (one validator process per organisation),
    /// or start one: `verity testnet --validators 4 --dir DIR`, `verity testnet up --dir DIR`.
    Testnet(verity_bench::testnet::TestnetArgs),
    /// Run the whole provenance loop on a fresh embedded node with a real dataset and model,
    /// print the deployed model's lineage and the path of its audit bundle.
    Demo(verity_bench::demo::DemoArgs),
    /// Initialise ./.verity if missing, then run the node: the first command to run.
    Up {
        #[arg(long, default_value = ".verity")]
        data_dir: PathBuf,
        #[arg(long, default_value = verity_node::server::DEFAULT_LISTEN)]
        listen: SocketAddr,
    },
    /// Re-execute the block log from genesis and check every state root.
    Replay {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Manage keys in the keystore.
    #[command(subcommand)]
    Keys(commands::KeysCmd),
    /// Create and show accounts.
    #[command(subcommand)]
    Account(commands::AccountCmd),
    /// Grant and revoke roles.
    #[command(subcommand)]
    Role(commands::RoleCmd),
    /// Transfer an asset.
    Transfer(commands::TransferArgs),
    /// Mint an asset (minters of an org the asset's genesis rule names).
    Mint(commands::MintArgs),
    /// Escrow: lock, release, refund, show.
    #[command(subcommand)]
    Escrow(commands::EscrowCmd),
    /// Show a transaction with its receipt; --verify checks its inclusion proof offline.
    #[command(subcommand)]
    Tx(commands::TxCmd),
    /// Show a block.
    #[command(subcommand)]
    Block(commands::BlockCmd),
    /// Show a checkpoint.
    #[command(subcommand)]
    Checkpoint(commands::CheckpointCmd),
    /// Fetch proofs and verify them offline against a checkpoint signed by the genesis validators.
    #[command(subcommand)]
    Proof(commands::ProofCmd),
    /// Equivocation evidence against validators, verified offline.
    #[command(subcommand)]
    Evidence(commands::EvidenceCmd),
    /// The validator set: show it (changes verified offline), and change it at an epoch
    /// boundary with the approval of more than two thirds of the organisations' admins.
    #[command(subcommand)]
    Validators(validators::ValidatorsCmd),
    /// Governance: propose, vote, veto, ratify, execute, cancel, show, list and analyse
    /// proposals (parameters, organisations, validators, treasury, streams, allowlists).
    #[command(subcommand)]
    Gov(governance::GovCmd),
    /// Stake: bond, unbond and withdraw on a validator key, a dataset version or a
    /// program; show an account's positions, rewards owed and reputation.
    #[command(subcommand)]
    Stake(governance::StakeCmd),
    /// The treasury: fund it (spending is a governance proposal).
    #[command(subcommand)]
    Treasury(governance::TreasuryCmd),
    /// Reward streams: list them, claim what they owe you.
    #[command(subcommand)]
    Rewards(governance::RewardsCmd),
    /// The emergency council: pause or resume a reward stream at once.
    #[command(subcommand)]
    Council(governance::CouncilCmd),
    /// Content provenance: register content, opt it out of training, withdraw opt-outs.
    #[command(subcommand)]
    Content(content::ContentCmd),
    /// Datasets: build, check, publish, prove membership, challenge items.
    #[command(subcommand)]
    Dataset(dataset::DatasetCmd),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(verity_bench::BenchCmd),
    /// Send signed transfers to a running node and record every acknowledged commit.
    Load(verity_bench::load::LoadArgs),
    /// Training runs.
    #[command(subcommand)]
    Run(provenance::RunCmd),
    /// Evaluation attestations: submit (signed DSSE in-toto statements) and revoke.
    #[command(subcommand)]
    Attest(provenance::AttestCmd),
    /// Deploy gates.
    #[command(subcommand)]
    Gate(provenance::GateCmd),
    /// Decisions made by models, and their corrections.
    #[command(subcommand)]
    Decision(provenance::DecisionCmd),
    /// Trace a record's lineage in both directions (content:, dataset:NAME@V, run:, model:NAME@V, attestation:, deployment:, decision:, ...).
    Trace {
        id: String,
        /// Most records to show.
        #[arg(long)]
        limit: Option<usize>,
        /// Most downstream records of one kind to list under each record, the newest (the node's default is 16).
        #[arg(long)]
        fanout: Option<usize>,
    },
    /// Audit bundles (export, offline verify) and release audits.
    #[command(subcommand)]
    Audit(provenance::AuditCmd),
    /// Models: fingerprint, sign and verify files (OpenSSF model-signing compatible);
    /// register versions, deploy, roll back, deprecate and show them on the ledger.
    #[command(subcommand)]
    Model(model::ModelCmd),
    /// Train a tabular classifier deterministically (logreg or mlp) and save it as safetensors.
    Train(train::TrainArgs),
    /// Predict with a model; prints classes, probabilities and the output hash.
    Infer(train::InferArgs),
    /// Evaluation oracle: run a suite, sign one attestation per kind, optionally submit them.
    #[command(subcommand)]
    Eval(eval::EvalCmd),
}

fn main() -> ExitCode {
    keep_freed_memory();
    no_huge_pages();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// `MI_OPTION_PURGE_DELAY` names mimalloc's purge delay: it reads back v3's default of
    /// 1,000 ms (this test process does not call `keep_freed_memory` at start), and
    /// `keep_freed_memory` turns purging off through it.
    #[test]
    #[allow(unsafe_code)]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads an integer from mimalloc's option table.
        let read = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(read(), 1000, "index 15 is not mimalloc's purge_delay (or MIMALLOC_PURGE_DELAY is set)");
        super::keep_freed_memory();
        assert_eq!(read(), -1);
    }

    /// `no_huge_pages` sets the process's no-THP flag (which its children inherit).
    #[test]
    fn huge_pages_are_turned_off() {
        super::no_huge_pages();
        assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), Some(true));
    }
}
