//! `verity testnet`: a local multi-organisation network on loopback. One organisation
//! per validator, each with its own admin key (in its node's keystore only) and its own
//! validator key; one config file per validator for `verity node --config`.
//!
//! ```text
//! DIR/genesis.json             the network's genesis (every node holds a copy)
//! DIR/nodeI.json               validator I's config (HTTP and p2p addresses, peers)
//! DIR/nodeI/validator.json     validator I's key (0600)
//! DIR/nodeI/keystore.json      the key of orgI's admin account adminI (0600)
//! DIR/nodeI.log                validator I's log under `verity testnet up`
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use verity_client::durable;
use verity_client::keystore::{generate_key, Keystore};
use verity_node::datadir;
use verity_node::validator::{Peer, ValidatorConfig};
use verity_types::{
    AccountId, AssetId, Genesis, GenesisAccount, GenesisAsset, GenesisBalance, GenesisOrg, MintRule, OrgId, Validator,
};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TestnetArgs {
    #[command(subcommand)]
    pub cmd: Option<TestnetCmd>,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Args, Clone)]
pub struct CreateArgs {
    /// Number of validators (one organisation each); at least 4 tolerates one fault.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Directory for the network's files.
    #[arg(long, default_value = "verity-testnet")]
    pub dir: PathBuf,
    /// Validator I serves HTTP on BASE_PORT+I and p2p on BASE_PORT+100+I.
    #[arg(long, default_value_t = 7500)]
    pub base_port: u16,
    /// Label of the chain id: the id is LABEL-<16 hex digits of the genesis digest>.
    #[arg(long, default_value = "verity-testnet")]
    pub chain_id: String,
    /// Most transactions per block.
    #[arg(long)]
    pub max_block_txs: Option<usize>,
    /// Blocks per consensus epoch: the validator set can change at each epoch's end
    /// (`verity validators propose`). 0 fixes the set at genesis. Each epoch change costs
    /// the network about one leader timeout (see BENCHMARKS.md).
    #[arg(long, default_value_t = 1000)]
    pub epoch_length: u64,
    /// A JSON file with the network's constitution (the genesis `governance` section);
    /// it may name organisations `org0..` and admins `admin0..`. Default: one vote per
    /// organisation, the default rules, stake in `credit`.
    #[arg(long, value_name = "PATH")]
    pub constitution: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum TestnetCmd {
    /// Start every validator of the network in DIR as its own process (creating the
    /// network first if DIR has none); stop them all on Ctrl-C or SIGTERM.
    Up(CreateArgs),
}

/// What `create` wrote.
pub struct Created {
    pub genesis: Genesis,
    pub configs: Vec<PathBuf>,
    pub http: Vec<String>,
}

/// Creates a network of `n` validators in `dir`. Refuses a directory that holds one.
pub fn create(a: &CreateArgs, genesis_time_ms: u64) -> Result<Created> {
    let n = a.validators;
    if !(1..=100).contains(&n) {
        bail!("--validators must be 1..=100");
    }
    if a.base_port.checked_add(100 + n as u16).is_none() {
        bail!("--base-port leaves no room for {n} validators");
    }
    let dir = &a.dir;
    if dir.join("genesis.json").exists() {
        bail!("{} already holds a network: refusing to overwrite it", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let credit = AssetId::new("credit")?;
    let mut orgs = Vec::new();
    let mut validators = Vec::new();
    let mut balances = Vec::new();
    let mut keys = Vec::new();
    for i in 0..n {
        let org = OrgId::new(format!("org{i}"))?;
        let admin = AccountId::new(format!("admin{i}"))?;
        let admin_key = generate_key();
        let validator_key = generate_key();
        orgs.push(GenesisOrg {
            id: org.clone(),
            name: format!("Organisation {i}"),
            admins: vec![GenesisAccount { id: admin.clone(), public_key: admin_key.public_key() }],
        });
        validators.push(Validator { org, public_key: validator_key.public_key(), power: 1 });
        balances.push(GenesisBalance { account: admin.clone(), asset: credit.clone(), amount: datadir::DEV_CREDIT });
        keys.push((admin, admin_key, validator_key));
    }
    let all_orgs = orgs.iter().map(|o| o.id.clone()).collect();
    let mut genesis = Genesis {
        chain_id: a.chain_id.clone(),
        genesis_time_ms,
        orgs,
        validators,
        assets: vec![GenesisAsset { id: credit.clone(), mint: MintRule::Orgs { orgs: all_orgs }, supply_cap: None }],
        balances,
        epoch_length: a.epoch_length,
        // One vote per organisation, the default rules, stake in credit, unless given.
        governance: Some(match &a.constitution {
            Some(path) => {
                serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
                    .with_context(|| format!("{} is not a constitution", path.display()))?
            }
            None => verity_types::Constitution::new(credit),
        }),
    };
    genesis.bind_chain_id(&a.chain_id)?;
    genesis.validate()?;
    datadir::write_genesis(dir, &genesis)?;
    let addr = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let peers: Vec<Peer> = (0..n)
        .map(|i| Peer {
            org: format!("org{i}"),
            public_key: keys[i].2.public_key(),
            p2p: addr(a.base_port + 100 + i as u16),
        })
        .collect();
    let mut configs = Vec::new();
    let mut http = Vec::new();
    for (i, (admin, admin_key, validator_key)) in keys.iter().enumerate() {
        let node_dir = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&node_dir)?;
        datadir::write_genesis(&node_dir, &genesis)?;
        datadir::write_validator_key(&node_dir, validator_key)?;
        let mut ks = Keystore::open(&datadir::keystore_path(&node_dir))?;
        ks.add(admin.as_str(), Some(admin.clone()), admin_key)?;
        ks.save()?;
        let cfg = ValidatorConfig {
            data_dir: PathBuf::from(format!("node{i}")),
            http: addr(a.base_port + i as u16),
            p2p: addr(a.base_port + 100 + i as u16),
            peers: peers.clone(),
            max_block_txs: a.max_block_txs.unwrap_or(verity_types::limits::BLOCK_TXS_MAX),
            leader_timeout_ms: 1_000,
            // The org admin reports equivocations this validator detects.
            evidence_reporter: Some(admin.to_string()),
        };
        let path = dir.join(format!("node{i}.json"));
        durable::write_file(&path, &serde_json::to_vec_pretty(&cfg)?, durable::MODE_PUBLIC)
            .with_context(|| format!("writing {}", path.display()))?;
        configs.push(path);
        http.push(format!("http://{}", cfg.http));
    }
    Ok(Created { genesis, configs, http })
}

/// The config files of the network in `dir`, in validator order.
pub fn configs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("node{i}.json"));
        if !p.exists() {
            break;
        }
        out.push(p);
    }
    if out.is_empty() {
        bail!("{} holds no network (run `verity testnet --dir {}` first)", dir.display(), dir.display());
    }
    Ok(out)
}

/// Starts `verity node --config CONFIG` as a child process logging to `log`. The child is
/// this executable, so the caller is the `verity` binary; the child inherits its
/// process settings (transparent huge pages off, see verity-cli's `no_huge_pages`).
pub fn spawn_node(config: &Path, log: &Path) -> Result<Child> {
    let exe = std::env::current_exe().context("locating the verity executable")?;
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting the validator of {}", config.display()))
}

/// Sends SIGTERM to each child, waits up to `grace` for all, then kills what is left.
pub fn stop_all(children: &mut [Child], grace: Duration) {
    for c in children.iter() {
        if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    let deadline = Instant::now() + grace;
    for c in children.iter_mut() {
        loop {
            match c.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// `verity testnet up`.
pub fn up(a: &CreateArgs) -> Result<()> {
    if !a.dir.join("genesis.json").exists() {
        create(a, verity_node::now_ms())?;
        eprintln!("created a {}-validator network in {}", a.validators, a.dir.display());
    }
    let configs = configs(&a.dir)?;
    let mut children = Vec::new();
    let mut urls = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let cfg = ValidatorConfig::read(c)?;
        urls.push(format!("http://{}", cfg.http));
        children.push(spawn_node(c, &a.dir.join(format!("node{i}.log")))?);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let ready = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        for (i, u) in urls.iter().enumerate() {
            let client = verity_client::http::Client::new(u);
            while client.health().await.is_err() {
                if let Ok(Some(status)) = children[i].try_wait() {
                    return Err(format!("validator {i} exited ({status})"));
                }
                if Instant::now() > deadline {
                    return Err(format!("validator {i} did not answer /health within 60 s"));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    });
    if let Err(why) = ready {
        stop_all(&mut children, Duration::from_secs(10));
        bail!("{why}; see {}/node*.log", a.dir.display());
    }
    for (i, u) in urls.iter().enumerate() {
        eprintln!("validator {i} (org{i}): {u}  pid {}  log {}/node{i}.log", children[i].id(), a.dir.display());
    }
    eprintln!("network up; Ctrl-C stops every validator");
    rt.block_on(async {
        tokio::select! {
            _ = verity_node::server::shutdown_signal() => {}
            _ = watch_children(&mut children) => {}
        }
    });
    stop_all(&mut children, Duration::from_secs(20));
    eprintln!("network stopped");
    Ok(())
}

/// Reports validators that exit on their own (the others keep running); returns when
/// none is left.
async fn watch_children(children: &mut [Child]) {
    let mut gone = vec![false; children.len()];
    loop {
        for (i, c) in children.iter_mut().enumerate() {
            if !gone[i] {
                if let Ok(Some(status)) = c.try_wait() {
                    gone[i] = true;
                    eprintln!("validator {i} exited ({status})");
                }
            }
        }
        if gone.iter().all(|g| *g) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
