//! Command dispatch and the commands that talk to a running node.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use verity_client::keystore::{generate_key, Keystore, Passphrase, KDF_PARAMS};
use verity_client::sdk::{proofs, Committed, Signer};
use verity_client::{verify, Client};
use verity_node::{datadir, now_ms};
use verity_types::{
    AccountId, Action, AssetId, CreateAccount, EscrowId, EscrowLock, EscrowRefund, EscrowRelease, Genesis, GrantRole,
    Hash, Mint, OrgId, PublicKey, RevokeRole, Role, Transfer,
};

use crate::output::show;
use verity_bench::testnet::{self, TestnetCmd};

use crate::{bench, Cli, Command, Global};

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    pub data_dir: std::path::PathBuf,
    /// Label of the new network's chain id: the id is LABEL-<16 hex digits of the genesis
    /// digest>, so no two networks share one.
    #[arg(long, default_value = "verity-dev")]
    pub chain_id: String,
    /// The organisation's id.
    #[arg(long, default_value = "dev")]
    pub org: String,
    /// The admin account's id (its key goes into DATA_DIR/keystore.json).
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// A JSON file with the chain's constitution (the genesis `governance` section:
    /// weights, rules per proposal kind, council, stake asset, parameters). Default: one
    /// vote per organisation, the default rules, stake in `credit`.
    #[arg(long, value_name = "PATH")]
    pub constitution: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Create a new key; --account binds it to an account id (default: the key's name).
    New {
        name: String,
        #[arg(long)]
        account: Option<String>,
    },
    /// List the keystore's keys.
    List,
    /// Encrypt the keystore under a passphrase (Argon2id + XChaCha20-Poly1305), read from
    /// --passphrase-file or VERITY_KEYSTORE_PASSPHRASE.
    Encrypt,
    /// Decrypt an encrypted keystore back to plaintext (with its passphrase).
    Decrypt,
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Create an account (signed by an org admin).
    Create {
        id: String,
        #[arg(long)]
        org: String,
        /// Public key (hex); default: the keystore key named like the account (created if missing).
        #[arg(long)]
        public_key: Option<String>,
        /// Roles to grant (repeatable), e.g. --role member --role evaluator.
        #[arg(long = "role", default_value = "member")]
        roles: Vec<String>,
        /// Signing key (name or account in the keystore).
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
    /// Show an account: org, key, roles, next nonce, balances.
    Show { id: String },
}

#[derive(Subcommand)]
pub enum RoleCmd {
    Grant {
        account: String,
        role: String,
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
    Revoke {
        account: String,
        role: String,
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
}

#[derive(Args)]
pub struct TransferArgs {
    #[arg(long)]
    pub to: String,
    #[arg(long, default_value = "credit")]
    pub asset: String,
    #[arg(long)]
    pub amount: u128,
    #[arg(long, default_value = "")]
    pub memo: String,
    #[arg(long = "as", default_value = "admin")]
    pub signer: String,
}

#[derive(Args)]
pub struct MintArgs {
    #[arg(long)]
    pub to: String,
    #[arg(long, default_value = "credit")]
    pub asset: String,
    #[arg(long)]
    pub amount: u128,
    #[arg(long = "as", default_value = "admin")]
    pub signer: String,
}

#[derive(Subcommand)]
pub enum EscrowCmd {
    /// Lock funds; the escrow id is the transaction hash.
    Lock {
        #[arg(long, default_value = "credit")]
        asset: String,
        #[arg(long)]
        amount: u128,
        #[arg(long)]
        arbiter: String,
        #[arg(long)]
        refund_after_height: Option<u64>,
        #[arg(long, default_value = "")]
        memo: String,
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
    /// Release to recipients: --split alice=60 --split bob=40 (amounts must add up).
    Release {
        escrow: String,
        #[arg(long = "split", required = true)]
        splits: Vec<String>,
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
    /// Refund to the depositor.
    Refund {
        escrow: String,
        #[arg(long = "as", default_value = "admin")]
        signer: String,
    },
    Show {
        escrow: String,
    },
}

#[derive(Subcommand)]
pub enum TxCmd {
    Show {
        hash: String,
        /// Verify the inclusion proof against the latest checkpoint, offline.
        #[arg(long)]
        verify: bool,
        /// Genesis file whose validators are trusted (default: the data dir's, else the node's).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum BlockCmd {
    /// A block by height, or `latest`.
    Show { height: String },
}

#[derive(Subcommand)]
pub enum CheckpointCmd {
    /// The latest checkpoint, or the one at --height.
    Show {
        #[arg(long)]
        height: Option<u64>,
    },
    /// The checkpoint as a C2SP signed note (tlog-checkpoint), for transparency-log
    /// witnesses: fetched from --node and every --from node (each signs it with its
    /// validator key), merged, and verified to carry signatures of more than two thirds
    /// of the voting power of its epoch's validator set.
    Note {
        /// A height, or `latest` (of --node; the other nodes are asked for that height).
        #[arg(long, default_value = "latest")]
        height: String,
        /// Another validator's node (URL) to fetch its signature from; repeatable.
        #[arg(long = "from")]
        from: Vec<String>,
        /// Write the merged note to this file instead of standard output.
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        /// Trusted genesis file (default: .verity/genesis.json, else the node's own).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum EvidenceCmd {
    /// Equivocation evidence on the ledger, each record checked offline: both votes
    /// signed by the named validator, for this chain, in one round, in conflict, and the
    /// validator one of the trusted genesis validators.
    List {
        /// Only evidence against this validator (hex public key).
        #[arg(long)]
        validator: Option<String>,
        /// First sequence number.
        #[arg(long)]
        from: Option<u64>,
        /// Genesis file whose chain id and validators are trusted (default
        /// .verity/genesis.json).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ProofCmd {
    /// Inclusion of a transaction in the log, against the latest checkpoint.
    Tx {
        hash: String,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Membership or non-membership of a state key at a height (default latest).
    State {
        key: String,
        #[arg(long)]
        height: Option<u64>,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Consistency of the log between two checkpoints.
    Consistency {
        #[arg(long)]
        old_height: u64,
        #[arg(long)]
        new_height: Option<u64>,
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

pub fn run(cli: Cli) -> Result<()> {
    let g = cli.global.clone();
    match cli.command {
        Command::Init(a) => {
            let constitution = match &a.constitution {
                Some(path) => Some(
                    serde_json::from_slice(
                        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                    )
                    .with_context(|| format!("{} is not a constitution", path.display()))?,
                ),
                None => None,
            };
            let created = datadir::init_with(&a.data_dir, &a.chain_id, &a.org, &a.admin, now_ms(), constitution)?;
            let dir = a.data_dir.display().to_string();
            show(
                g.json,
                &json!({"data_dir": dir, "chain_id": created.genesis.chain_id, "admin": created.admin,
                        "genesis_hash": created.genesis.hash()}),
                vec![
                    ("data dir", dir.clone()),
                    ("chain id", created.genesis.chain_id.clone()),
                    ("genesis hash", created.genesis.hash().to_hex()),
                    ("admin account", created.admin.to_string()),
                    ("keystore", format!("{dir}/keystore.json (0600)")),
                    ("next", format!("verity node --data-dir {dir}")),
                ],
            );
            Ok(())
        }
        Command::Node { config: Some(config), .. } => run_validator(&config),
        Command::Node { data_dir: Some(data_dir), listen, .. } => run_node(&data_dir, listen),
        Command::Node { .. } => bail!("give --data-dir or --config"),
        Command::Testnet(t) => match t.cmd {
            Some(TestnetCmd::Up(a)) => testnet::up(&a),
            None => {
                let c = testnet::create(&t.create, now_ms())?;
                let dir = t.create.dir.display().to_string();
                show(
                    g.json,
                    &json!({"dir": dir, "chain_id": c.genesis.chain_id, "genesis_hash": c.genesis.hash(),
                            "configs": c.configs, "http": c.http}),
                    vec![
                        ("dir", dir.clone()),
                        ("chain id", c.genesis.chain_id.clone()),
                        ("genesis hash", c.genesis.hash().to_hex()),
                        ("validators", c.configs.len().to_string()),
                        ("http", c.http.join(" ")),
                        ("next", format!("verity testnet up --dir {dir}")),
                    ],
                );
                Ok(())
            }
        },
        Command::Up { data_dir, listen } => {
            if !datadir::genesis_path(&data_dir).exists() {
                let c = datadir::init(&data_dir, "verity-dev", "dev", "admin", now_ms())?;
                eprintln!(
                    "initialised a dev network in {} (chain {}, admin key in {})",
                    data_dir.display(),
                    c.genesis.chain_id,
                    datadir::keystore_path(&data_dir).display()
                );
            }
            run_node(&data_dir, listen)
        }
        Command::Replay { data_dir } => replay(&data_dir, g.json),
        Command::Keys(k) => keys(&g, k),
        Command::Bench(b) => bench::run(&g, b),
        Command::Load(a) => bench::load(&g, &a),
        Command::Audit(crate::provenance::AuditCmd::Verify { file, validators }) => {
            crate::provenance::audit_verify(&g, &file, &validators)
        }
        Command::Model(m) => crate::model::run(&g, m),
        Command::Train(a) => crate::train::run_train(&g, a),
        Command::Demo(a) => bench::demo(&a),
        Command::Infer(a) => crate::train::run_infer(&g, a),
        Command::Eval(c) => crate::eval::run(&g, c),
        other => runtime()?.block_on(remote(&g, other)),
    }
}

fn run_node(dir: &Path, listen: std::net::SocketAddr) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(verity_node::server::run(dir, listen, Default::default(), |addr, core| {
        eprintln!(
            "verity node listening on http://{addr} (chain {}, height {}, data {})",
            core.chain_id(),
            core.store.height(),
            dir.display()
        );
    }))?;
    eprintln!("verity node stopped cleanly");
    Ok(())
}

fn run_validator(config: &Path) -> Result<()> {
    let cfg = verity_node::validator::ValidatorConfig::read(config)?;
    let dir = cfg.data_dir.display().to_string();
    verity_node::validator::run(
        cfg,
        move |addr, core| {
            eprintln!(
                "verity validator listening on http://{addr} (chain {}, height {}, data {dir})",
                core.chain_id(),
                core.store.height(),
            );
        },
        verity_node::server::shutdown_signal(),
    )?;
    eprintln!("verity validator stopped cleanly");
    Ok(())
}

fn replay(dir: &Path, json_out: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let report = datadir::replay(dir)?;
    let secs = started.elapsed().as_secs_f64();
    let mismatches: Vec<_> = report.mismatches.iter().map(|(h, m)| json!({"height": h, "problem": m})).collect();
    show(
        json_out,
        &json!({"ok": report.ok(), "blocks": report.blocks, "txs": report.txs,
                "final_state_root": report.final_state_root, "mismatches": mismatches, "seconds": secs}),
        vec![
            ("blocks replayed", report.blocks.to_string()),
            ("transactions", report.txs.to_string()),
            ("final state root", report.final_state_root.to_hex()),
            ("every root matches", if report.ok() { "yes".into() } else { "NO".into() }),
            ("seconds", format!("{secs:.2}")),
        ],
    );
    for (h, m) in &report.mismatches {
        eprintln!("mismatch at height {h}: {m}");
    }
    if !report.ok() {
        bail!("replay found {} mismatching block(s)", report.mismatches.len());
    }
    Ok(())
}

/// The passphrase from `--passphrase-file`, else from VERITY_KEYSTORE_PASSPHRASE.
fn passphrase(g: &Global) -> Result<Option<Passphrase>> {
    Passphrase::resolve(g.passphrase_file.as_deref()).map_err(|e| anyhow!("{e}"))
}

/// Opens `--keystore` with the passphrase (if any) and prints what is wrong with the
/// file (a mode readable by others) as warnings on stderr.
pub(crate) fn open_keystore(g: &Global) -> Result<Keystore> {
    let ks = Keystore::open_with(&g.keystore, passphrase(g)?)?;
    for w in ks.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(ks)
}

fn keys(g: &Global, cmd: KeysCmd) -> Result<()> {
    let mut ks = open_keystore(g)?;
    match cmd {
        KeysCmd::New { name, account } => {
            let account = AccountId::new(account.unwrap_or_else(|| name.clone()))?;
            let key = generate_key();
            ks.add(&name, Some(account.clone()), &key)?;
            if let Some(parent) = g.keystore.parent() {
                std::fs::create_dir_all(parent)?;
            }
            ks.save()?;
            show(
                g.json,
                &json!({"name": name, "account": account, "public_key": key.public_key()}),
                vec![
                    ("name", name.clone()),
                    ("account", account.to_string()),
                    ("public key", key.public_key().to_hex()),
                ],
            );
        }
        KeysCmd::List => {
            if g.json {
                let v: Vec<_> = ks
                    .keys
                    .iter()
                    .map(|(n, k)| {
                        json!({"name": n, "account": k.account, "public_key": k.public_key,
                               "encrypted": k.is_encrypted()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for (n, k) in &ks.keys {
                    let acct = k.account.as_ref().map(|a| a.to_string()).unwrap_or_default();
                    println!("{n:<20} {acct:<20} {}", k.public_key);
                }
            }
        }
        KeysCmd::Encrypt => {
            if !g.keystore.exists() {
                bail!("no keystore at {}", g.keystore.display());
            }
            let passphrase = passphrase(g)?.ok_or_else(|| {
                anyhow!("give the new passphrase with --passphrase-file PATH or VERITY_KEYSTORE_PASSPHRASE")
            })?;
            ks.encrypt(passphrase, KDF_PARAMS)?;
            ks.save()?;
            show(
                g.json,
                &json!({"keystore": g.keystore, "encrypted": true, "keys": ks.keys.len()}),
                vec![
                    ("keystore", g.keystore.display().to_string()),
                    ("encrypted", format!("{} keys (Argon2id, XChaCha20-Poly1305)", ks.keys.len())),
                ],
            );
        }
        KeysCmd::Decrypt => {
            if !g.keystore.exists() {
                bail!("no keystore at {}", g.keystore.display());
            }
            ks.decrypt()?;
            ks.save()?;
            show(
                g.json,
                &json!({"keystore": g.keystore, "encrypted": false, "keys": ks.keys.len()}),
                vec![
                    ("keystore", g.keystore.display().to_string()),
                    ("decrypted", format!("{} keys (stored in plaintext again)", ks.keys.len())),
                ],
            );
        }
    }
    Ok(())
}

/// Signs `action` as `signer`, submits it, waits for the commit and prints the result.
/// Fails if the transaction was not committed or its action failed.
pub(crate) async fn send(g: &Global, client: &Client, signer: &str, action: Action) -> Result<()> {
    send_with(g, client, signer, action, true).await.map(|_| ())
}

/// [`send`], printing the result table only when `print` is set; returns the result.
pub(crate) async fn send_with(
    g: &Global,
    client: &Client,
    signer: &str,
    action: Action,
    print: bool,
) -> Result<verity_client::http::TxResult> {
    let mut s = Signer::new(client.clone(), open_keystore(g)?);
    let r = s.submit(signer, action).await?;
    if print {
        print_tx_result(g, &r)?;
    }
    Ok(r.committed()?)
}

fn print_tx_result(g: &Global, r: &verity_client::http::TxResult) -> Result<()> {
    let receipt = r.receipt.as_ref();
    let mut rows = vec![
        ("hash", r.hash.clone().unwrap_or_default()),
        ("status", r.status.to_string()),
        ("height", r.height.map(|h| h.to_string()).unwrap_or_default()),
    ];
    if let Some(rc) = receipt {
        rows.push(("result", format!("{:?}", rc.status).to_lowercase()));
        if let Some(e) = &rc.error {
            rows.push(("error", format!("{}: {}", e.code, e.message)));
        }
        for ev in &rc.events {
            rows.push(("event", serde_json::to_string(ev)?));
        }
    }
    show(g.json, r, rows);
    Ok(())
}

/// Where `verity` looks for the genesis it trusts when no `--genesis` is given.
const DEFAULT_GENESIS: &str = ".verity/genesis.json";

/// The genesis of `--genesis FILE`, else of .verity/genesis.json if present, else the
/// node's own (with a note on stderr: that trusts the node).
async fn trusted_or_node_genesis(client: &Client, genesis: Option<&PathBuf>) -> Result<Genesis> {
    let trusted = proofs::trusted_genesis(genesis.map(PathBuf::as_path), Path::new(DEFAULT_GENESIS))?;
    let b = proofs::bootstrap(client, trusted).await?;
    if b.from_node {
        eprintln!("note: no --genesis file given and no {DEFAULT_GENESIS}; trusting the node's own genesis");
    }
    Ok(b.genesis)
}

/// A light client from the trusted genesis ([`trusted_or_node_genesis`]), following every
/// validator-set change the node reports, so checkpoints of any epoch verify.
pub(crate) async fn validators_for(client: &Client, genesis: Option<&PathBuf>) -> Result<verify::LightClient> {
    let g = trusted_or_node_genesis(client, genesis).await?;
    Ok(proofs::light_client(client, &g).await?)
}

fn parse_split(s: &str) -> Result<(AccountId, u128)> {
    let (a, n) = s.split_once('=').ok_or_else(|| anyhow!("split {s:?} must look like account=amount"))?;
    Ok((AccountId::new(a)?, n.parse().with_context(|| format!("amount in {s:?}"))?))
}

async fn remote(g: &Global, cmd: Command) -> Result<()> {
    let client = Client::new(&g.node);
    match cmd {
        Command::Account(AccountCmd::Create { id, org, public_key, roles, signer }) => {
            let account = AccountId::new(&id)?;
            let public_key: PublicKey = match public_key {
                Some(h) => h.parse()?,
                None => {
                    let mut ks = open_keystore(g)?;
                    if let Some(k) = ks.keys.get(&id) {
                        k.public_key
                    } else {
                        let key = generate_key();
                        ks.add(&id, Some(account.clone()), &key)?;
                        ks.save()?;
                        eprintln!("created key {id:?} in {}", g.keystore.display());
                        key.public_key()
                    }
                }
            };
            let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
            send(
                g,
                &client,
                &signer,
                Action::CreateAccount(CreateAccount { account, public_key, org: OrgId::new(org)?, roles }),
            )
            .await
        }
        Command::Account(AccountCmd::Show { id }) => {
            let a = client.account(&id).await?;
            let mut rows = vec![
                ("account", a.id.clone()),
                ("org", a.org.clone()),
                ("public key", a.public_key.clone()),
                ("roles", a.roles.join(", ")),
                ("next nonce", a.nonce.to_string()),
            ];
            for b in &a.balances {
                rows.push(("balance", format!("{} {}", b.amount, b.asset)));
            }
            show(g.json, &a, rows);
            Ok(())
        }
        Command::Role(RoleCmd::Grant { account, role, signer }) => {
            send(
                g,
                &client,
                &signer,
                Action::GrantRole(GrantRole { account: AccountId::new(account)?, role: role.parse()? }),
            )
            .await
        }
        Command::Role(RoleCmd::Revoke { account, role, signer }) => {
            send(
                g,
                &client,
                &signer,
                Action::RevokeRole(RevokeRole { account: AccountId::new(account)?, role: role.parse()? }),
            )
            .await
        }
        Command::Transfer(a) => {
            let action = Action::Transfer(Transfer {
                to: AccountId::new(a.to)?,
                asset: AssetId::new(a.asset)?,
                amount: a.amount,
                memo: a.memo,
            });
            send(g, &client, &a.signer, action).await
        }
        Command::Mint(a) => {
            let action =
                Action::Mint(Mint { to: AccountId::new(a.to)?, asset: AssetId::new(a.asset)?, amount: a.amount });
            send(g, &client, &a.signer, action).await
        }
        Command::Escrow(EscrowCmd::Lock { asset, amount, arbiter, refund_after_height, memo, signer }) => {
            let action = Action::EscrowLock(EscrowLock {
                asset: AssetId::new(asset)?,
                amount,
                arbiter: AccountId::new(arbiter)?,
                refund_after_height,
                memo,
            });
            send(g, &client, &signer, action).await
        }
        Command::Escrow(EscrowCmd::Release { escrow, splits, signer }) => {
            let splits = splits.iter().map(|s| parse_split(s)).collect::<Result<Vec<_>>>()?;
            send(
                g,
                &client,
                &signer,
                Action::EscrowRelease(EscrowRelease { escrow: EscrowId(escrow.parse()?), splits }),
            )
            .await
        }
        Command::Escrow(EscrowCmd::Refund { escrow, signer }) => {
            send(g, &client, &signer, Action::EscrowRefund(EscrowRefund { escrow: EscrowId(escrow.parse()?) })).await
        }
        Command::Escrow(EscrowCmd::Show { escrow }) => {
            let _: Hash = escrow.parse()?;
            let resp = client.escrow(&escrow).await?;
            println!("{}", serde_json::to_string_pretty(&resp)?);
            Ok(())
        }
        Command::Tx(TxCmd::Show { hash, verify: check, genesis }) => {
            let t = client.tx(&hash).await?;
            let mut rows = vec![("hash", t.hash.clone()), ("status", t.status.to_string())];
            if let Some(h) = t.height {
                rows.push(("height", h.to_string()));
            }
            if let Some(tx) = &t.tx {
                rows.push(("sender", tx.tx.sender.to_string()));
                rows.push(("nonce", tx.tx.nonce.to_string()));
                rows.push(("action", serde_json::to_string(&tx.tx.action)?));
            }
            if let Some(r) = &t.receipt {
                rows.push(("result", format!("{:?}", r.status).to_lowercase()));
                rows.push(("log index", r.log_index.to_string()));
                if let Some(e) = &r.error {
                    rows.push(("error", format!("{}: {}", e.code, e.message)));
                }
            }
            let mut out = serde_json::to_value(&t)?;
            if check {
                let mut lc = validators_for(&client, genesis.as_ref()).await?;
                let v = proofs::verify_tx(&client, &mut lc, &t).await?;
                out["verified"] = json!(v.to_string());
                out["receipt_authenticated"] = json!(v.receipt_authenticated());
                rows.push(("verified", v.to_string()));
            }
            show(g.json, &out, rows);
            Ok(())
        }
        Command::Block(BlockCmd::Show { height }) => {
            let b = client.block(&height).await?;
            let h = &b.header;
            show(
                g.json,
                &b,
                vec![
                    ("height", b.height.to_string()),
                    ("hash", b.hash.clone()),
                    ("parent", h.parent.to_hex()),
                    ("timestamp ms", h.timestamp_ms.to_string()),
                    ("transactions", h.tx_count.to_string()),
                    ("txs root", h.txs_root.to_hex()),
                    ("log size", h.log_size.to_string()),
                    ("log root", h.log_root.to_hex()),
                    ("state root", h.state_root.to_hex()),
                    ("signatures", b.certificate.signatures.len().to_string()),
                ],
            );
            Ok(())
        }
        Command::Checkpoint(CheckpointCmd::Show { height }) => {
            let c = match height {
                Some(h) => client.checkpoint(h).await?,
                None => client.latest_checkpoint().await?,
            };
            show(
                g.json,
                &c,
                vec![
                    ("height", c.height.to_string()),
                    ("log size", c.log_size.to_string()),
                    ("log root", c.log_root.clone()),
                    ("state root", c.state_root.clone()),
                    ("header hash", c.checkpoint.header.hash().to_hex()),
                    ("signatures", c.checkpoint.certificate.signatures.len().to_string()),
                ],
            );
            Ok(())
        }
        Command::Checkpoint(CheckpointCmd::Note { height, from, out, genesis }) => {
            let mut lc = validators_for(&client, genesis.as_ref()).await?;
            let others: Vec<Client> = from.iter().map(|url| Client::new(url)).collect();
            let proofs::VerifiedNote { note, checkpoint: v } =
                proofs::checkpoint_note(&client, &mut lc, &height, &others).await?;
            let text = String::from_utf8_lossy(&note).into_owned();
            if let Some(path) = &out {
                verity_client::durable::write_file(path, &note, verity_client::durable::MODE_PUBLIC)
                    .with_context(|| format!("writing {}", path.display()))?;
            } else if !g.json {
                print!("{text}");
            }
            let msg = format!("signed by validators {:?} of the set of block {}'s epoch", v.signers, v.height);
            if g.json {
                show(
                    true,
                    &json!({"verified": true, "note": text, "checkpoint": v, "message": msg}),
                    Vec::<(&str, _)>::new(),
                );
            } else {
                eprintln!("verified: {msg}");
            }
            Ok(())
        }
        Command::Proof(p) => proof(g, &client, p).await,
        Command::Evidence(EvidenceCmd::List { validator, from, genesis }) => {
            let trusted = trusted_or_node_genesis(&client, genesis.as_ref()).await?;
            let list = client.evidence(from, None, validator.as_deref()).await?;
            let mut rows = vec![("records on the ledger", list.count.to_string())];
            proofs::verify_evidence(&trusted, &list.evidence)?;
            let mut lines = Vec::new();
            for e in &list.evidence {
                let v = &e.evidence;
                let (epoch, view) = v.round();
                lines.push(format!(
                    "{}: {} ({}) {} in epoch {epoch} view {view}, recorded at height {} (verified)",
                    e.sequence,
                    e.org,
                    &v.validator.to_hex()[..16],
                    e.offence,
                    e.height
                ));
            }
            for l in &lines {
                rows.push(("evidence", l.clone()));
            }
            // The node answers a page of sequence numbers at a time.
            if let Some(next) = list.next {
                rows.push(("next page", format!("--from {next}")));
            }
            show(
                g.json,
                &json!({"verified": true, "count": list.count, "height": list.height, "evidence": list.evidence,
                        "next": list.next}),
                rows,
            );
            Ok(())
        }
        Command::Validators(c) => crate::validators::run(g, &client, c).await,
        Command::Gov(c) => crate::governance::run_gov(g, &client, c).await,
        Command::Stake(c) => crate::governance::run_stake(g, &client, c).await,
        Command::Treasury(c) => crate::governance::run_treasury(g, &client, c).await,
        Command::Rewards(c) => crate::governance::run_rewards(g, &client, c).await,
        Command::Council(c) => crate::governance::run_council(g, &client, c).await,
        Command::Content(c) => crate::content::run(g, &client, c).await,
        Command::Dataset(d) => crate::dataset::run(g, &client, d).await,
        Command::Run(c) => crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Run(c)).await,
        Command::Attest(c) => crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Attest(c)).await,
        Command::Gate(c) => crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Gate(c)).await,
        Command::Decision(c) => crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Decision(c)).await,
        Command::Trace { id, limit, fanout } => {
            crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Trace { id, limit, fanout }).await
        }
        Command::Audit(c) => crate::provenance::run_cmd(g, &client, crate::provenance::ProvCmd::Audit(c)).await,
        _ => unreachable!("local commands are dispatched in run()"),
    }
}

async fn proof(g: &Global, client: &Client, cmd: ProofCmd) -> Result<()> {
    match cmd {
        ProofCmd::Tx { hash, genesis } => {
            let t = client.tx(&hash).await?;
            let mut lc = validators_for(client, genesis.as_ref()).await?;
            let v = proofs::verify_tx(client, &mut lc, &t).await?;
            show(
                g.json,
                &json!({"verified": true, "tx": hash, "proof": t.inclusion_proof, "message": v.to_string(),
                        "receipt_authenticated": v.receipt_authenticated(),
                        "receipt_proof": t.receipt_proof}),
                vec![("transaction", hash.clone()), ("verified", v.to_string())],
            );
            Ok(())
        }
        ProofCmd::State { key, height, genesis } => {
            let mut lc = validators_for(client, genesis.as_ref()).await?;
            let v = proofs::verify_state(client, &mut lc, &key, height).await?;
            let value = v.value().map(hex::encode);
            let what = match &value {
                Some(v) => format!("present, value {v}"),
                None => "absent (non-membership proven)".into(),
            };
            show(
                g.json,
                &json!({"verified": true, "key": key, "height": v.height, "state_root": v.state_root,
                        "present": value.is_some(), "value_hex": value, "proof": v.proof}),
                vec![
                    ("key", key.clone()),
                    ("height", v.height.to_string()),
                    ("state root", v.state_root.to_hex()),
                    ("verified", what),
                ],
            );
            Ok(())
        }
        ProofCmd::Consistency { old_height, new_height, genesis } => {
            let mut lc = validators_for(client, genesis.as_ref()).await?;
            let proofs::VerifiedConsistency { old, new, proof: p } =
                proofs::verify_consistency(client, &mut lc, old_height, new_height).await?;
            show(
                g.json,
                &json!({"verified": true, "old_size": p.old_size, "new_size": p.new_size, "proof": p}),
                vec![
                    ("old checkpoint", format!("height {} log size {}", old.header.height, old.header.log_size)),
                    ("new checkpoint", format!("height {} log size {}", new.header.height, new.header.log_size)),
                    ("verified", "the new log extends the old one (append-only)".into()),
                ],
            );
            Ok(())
        }
    }
}
