//! `wefe-node`: one institution's party node. It follows the chain, indexes
//! every governance event into its store (the audit index) and records each
//! approved job that names its member — exactly once, across crashes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use wefe_chain::{AnyBackend, ChainConfig, CryptoSuite, Governance, SuiteKey};
use wefe_store::Store;

use std::sync::Arc;

use tokio::net::TcpListener;
use wefe_core::PeerId;
use wefe_gateway::{Gateway, GatewayConfig, MemberKey, PeerDirectory};
use wefe_node::api::{self, ApiState};
use wefe_node::config::NodeConfig;
use wefe_node::inputs::LocalDatasets;
use wefe_node::listener::{Listener, Step};
use wefe_node::peers::ChainDirectory;
use wefe_node::scheduler::{JobNetwork, Scheduler, SchedulerConfig};

#[derive(Debug, Parser)]
#[command(name = "wefe-node", version, about = "wefe party node: follows the chain and records the jobs that name it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node until interrupted (Ctrl-C / SIGTERM).
    Run {
        /// The node's configuration (party.toml).
        #[arg(long, env = "WEFE_NODE_CONFIG")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("WEFE_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run { config } => runtime.block_on(run(config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(path: PathBuf) -> Result<()> {
    let config = NodeConfig::load(&path)?;
    let chain = ChainConfig::load(&config.chain_config)?;
    wefe_node::files::create_dirs(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let store = Store::open(&config.store_url()).await?;
    let connect = async |signer| {
        let backend = AnyBackend::connect(&chain, signer)
            .await
            .with_context(|| format!("connecting to {}", chain.chain.rpc_url))?;
        anyhow::Ok(Governance::new(backend, chain.contracts))
    };
    let signer = load_signer(&config, chain.chain.crypto_suite)?;
    if signer.address() == config.member {
        bail!(
            "refusing to run with the governance key of member {}: a compromised node would vote, register \
             datasets and approve jobs in its name. Create an operator key (wefe key new --out operator.json), \
             authorise it with the member's key (wefe member set-operator 0x…) and set operator_keystore",
            config.member
        );
    }
    let operator = signer.address();
    // The gateway's key and certificate: local files, checked before the chain is contacted.
    let sm2 = wefe_crypto::keyfile::read_sm2_key(&config.sm2_key, || {
        secret_from(config.sm2_key_password_file.as_deref(), "WEFE_SM2_KEY_PASSWORD", "the SM2 key is encrypted")
            .map_err(|e| wefe_crypto::Error::KeyFile(format!("{e:#}")))
    })?;
    let key = MemberKey::from_secret_bytes(&sm2.secret_bytes())
        .with_context(|| format!("SM2 key {}", config.sm2_key.display()))?;
    let mut gateway_config = GatewayConfig {
        require_peer_certificates: config.require_peer_certificates,
        tls: config.gateway_tls()?,
        recv_timeout: Some(Duration::from_secs(config.gateway_recv_timeout_secs)),
        peer_networks: config.peer_networks()?,
        ..GatewayConfig::default()
    };
    if let Some(path) = &config.certificate {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the certificate {}", path.display()))?;
        let cert = wefe_crypto::cert::MemberCertificate::parse(&bytes)
            .with_context(|| format!("certificate {}", path.display()))?;
        if cert.public_key != sm2.public_key() {
            bail!(
                "the certificate {} certifies another key than the SM2 key {}",
                path.display(),
                config.sm2_key.display()
            );
        }
        if cert.address != Some(config.member.into_array()) {
            bail!("the certificate {} was not issued to member {}", path.display(), config.member);
        }
        tracing::info!(serial = %hex::encode(&cert.serial), not_after = cert.not_after, "presenting certificate {}", path.display());
        gateway_config = gateway_config.with_certificate(cert.der().to_vec());
    }
    let gov = connect(None).await?;
    gov.check_contracts().await.context("checking the contracts named in the chain configuration")?;
    let authorised = gov
        .call(wefe_chain::Target::Consortium, wefe_chain::bindings::Consortium::operatorOfCall(config.member))
        .await
        .context("reading the member's operator key from the chain")?;
    if authorised != operator {
        bail!(
            "the node's key {operator} is not the operator key of member {} on chain ({}): run `wefe member \
             set-operator {operator}` with the member's governance key",
            config.member,
            if authorised.is_zero() { "it has none".to_owned() } else { format!("its operator is {authorised}") }
        );
    }
    let c = &chain.contracts;
    store
        .bind_deployment(&format!(
            "chain {}, Consortium {}, DataRegistry {}, JobRegistry {}",
            chain.chain.chain_id, c.consortium, c.data_registry, c.job_registry
        ))
        .await?;
    let reporter = connect(Some(signer)).await?;

    // The gateway: the consortium as the chain says.
    let directory = ChainDirectory::default();
    directory.refresh(&gov).await.context("reading the members from the chain")?;
    let me = PeerId::from_bytes(config.member.into_array());
    match directory.peer(&me) {
        Some(info) if info.public_key != key.public_key() => tracing::warn!(
            "the SM2 key in {} is not the key registered on chain for {}: peers will refuse this node",
            config.sm2_key.display(),
            config.member
        ),
        None => tracing::warn!(member = %config.member, "not (yet) a member on chain"),
        _ => {}
    }
    let gateway = Gateway::new(me, key, Arc::new(directory.clone()), gateway_config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let gateway_listener = TcpListener::bind(config.gateway_listen)
        .await
        .with_context(|| format!("cannot listen on {} (gateway)", config.gateway_listen))?;
    tracing::info!(address = %gateway_listener.local_addr()?, "gateway listening");
    let gateway_task = tokio::spawn({
        let gateway = gateway.clone();
        let stop = stopped(stop_rx.clone());
        async move { gateway.serve(gateway_listener, stop).await }
    });

    // After the key and chain checks (a node that cannot start leaves no
    // token behind), before the API listens (a client that sees the port
    // open finds the token).
    let api_token = api::ApiToken::load_or_create(&config.api_token_file())?;
    // The REST API.
    let api_listener = TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("cannot listen on {} (REST API)", config.api_listen))?;
    let api_address = api_listener.local_addr()?;
    tracing::info!(
        address = %api_address,
        token_file = %config.api_token_file().display(),
        operator_page = %format!("http://{api_address}/ui/"),
        "REST API listening (the operator page asks for the token)"
    );
    let access = api::ApiAccess::new(api_token, api_address)
        .allow_hosts(&config.api_allowed_hosts)
        .allow_origins(&config.api_allowed_origins);
    let mut api_state = ApiState::new(store.clone(), config.data_dir.clone(), config.member, access);
    api_state.import_root = config.import_root.clone();
    api_state.gateway = Some(gateway.clone());
    let health = wefe_node::health::NodeHealth::new();
    api_state.health = Some(health.clone());
    api_state.confirmations = chain.chain.confirmations;
    let app = api::app(api_state);
    // Host shares of models approved for online serving answer their guest.
    let serving_task = tokio::spawn(wefe_node::serving::serve_models(store.clone(), config.member, {
        let gateway = gateway.clone();
        // A host waits for its guest's next request as long as it takes.
        move |channel, parties: &[PeerId]| {
            gateway.job_transport(channel, parties.iter().copied()).without_recv_timeout()
        }
    }));
    let api_task = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move { axum::serve(api_listener, app).with_graceful_shutdown(stop).await }
    });

    let scheduler = Scheduler::new(
        reporter,
        store.clone(),
        GatewayNetwork(gateway.clone()),
        LocalDatasets::new(store.clone(), connect(None).await?, config.member),
        SchedulerConfig {
            member: config.member,
            results_dir: config.data_dir.join("results"),
            max_concurrent_jobs: config.max_concurrent_jobs,
            job_timeout: Duration::from_secs(config.job_timeout_secs),
        },
    );
    let recovered = scheduler.recover().await?;
    if !recovered.is_empty() {
        tracing::warn!(?recovered, "jobs interrupted by the last shutdown were failed");
    }
    let listener = Listener::new(gov, store, config.member, chain.chain.confirmations, config.log_chunk_blocks);
    tracing::info!(name = %config.name, member = %config.member, confirmations = chain.chain.confirmations, "node started");

    let poll = Duration::from_millis(config.poll_interval_ms);
    // The listener, the scheduler (launching, reporting) and the member
    // directory are tasks of their own with their own chain connections:
    // one hung call (each has a deadline) never holds up the others, so a
    // suspension or revocation is enforced while a report waits.
    let wake_scheduler = Arc::new(tokio::sync::Notify::new());
    let wake_directory = Arc::new(tokio::sync::Notify::new());
    let directory_task = tokio::spawn({
        let gov = connect(None).await?;
        let directory = directory.clone();
        let wake = Arc::clone(&wake_directory);
        async move {
            loop {
                // After Consortium events, and on a timer, so one failed
                // refresh never leaves a suspension unseen.
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(10)) => {}
                }
                if let Err(e) = directory.refresh(&gov).await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot refresh the member directory");
                }
            }
        }
    });
    // Whether each peer's gateway answers, for /health and the operator page.
    let probe_task = (config.peer_probe_secs > 0).then(|| {
        tokio::spawn(wefe_node::health::probe_peers(
            gateway.clone(),
            directory.clone(),
            me,
            health.clone(),
            Duration::from_secs(config.peer_probe_secs),
        ))
    });
    let scheduler_task = tokio::spawn({
        let scheduler = scheduler.clone();
        let wake = Arc::clone(&wake_scheduler);
        async move {
            loop {
                if let Err(e) = scheduler.launch_ready().await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot launch jobs");
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    });

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut failures = 0u32;
    loop {
        let step = listener.step().await;
        match (&step, listener.last_head()) {
            (Err(e), _) => health.chain_failed(&format!("{e:#}")),
            (Ok(_), Some(head)) => health.chain_read(head),
            (Ok(_), None) => {}
        }
        let wait = match step {
            Ok(Step::Applied { from, to, events, jobs }) => {
                failures = 0;
                tracing::info!(from, to, events, ?jobs, "blocks applied");
                if !jobs.is_empty() {
                    wake_scheduler.notify_one();
                }
                if events > 0 {
                    wake_directory.notify_one();
                }
                Duration::ZERO
            }
            Ok(Step::Rewound { to }) => {
                failures = 0;
                tracing::warn!(to, "reorg: index rewound");
                Duration::ZERO
            }
            Ok(Step::CaughtUp { .. }) => {
                failures = 0;
                poll
            }
            Err(e) => {
                // The chain node may be restarting: back off, never exit.
                failures = failures.saturating_add(1);
                let backoff = poll.saturating_mul(2u32.saturating_pow(failures.min(5)));
                tracing::warn!(error = %format!("{e:#}"), retry_in_ms = backoff.as_millis() as u64, "chain step failed");
                backoff
            }
        };
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("shutting down: stopping the running jobs");
    scheduler_task.abort();
    // Running jobs fail as interrupted (reported on chain while it answers).
    scheduler.shutdown(Duration::from_secs(20)).await;
    directory_task.abort();
    if let Some(task) = probe_task {
        task.abort();
    }
    let _ = stop_tx.send(true);
    serving_task.abort();
    let _ = gateway_task.await;
    let _ = api_task.await;
    listener.store().close().await;
    Ok(())
}

/// A password from `file` (trailing newline dropped), else from `env`.
fn secret_from(file: Option<&std::path::Path>, env: &str, why: &str) -> Result<zeroize::Zeroizing<String>> {
    let password = match file {
        Some(file) => zeroize::Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read password file {}", file.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_owned(),
        ),
        None => zeroize::Zeroizing::new(
            std::env::var(env)
                .map_err(|_| anyhow::anyhow!("{why}: give a password file in the config or set {env}"))?,
        ),
    };
    if password.is_empty() {
        bail!("{why}: the password is empty");
    }
    Ok(password)
}

/// The operator key: the configured keystore (an Ethereum JSON keystore, or
/// an SM2 PEM key on an SM chain), else `WEFE_OPERATOR_KEY` read as a key of
/// the chain's suite.
fn load_signer(config: &NodeConfig, suite: CryptoSuite) -> Result<SuiteKey> {
    if let Some(keystore) = &config.operator_keystore {
        return Ok(SuiteKey::read_file(keystore, || {
            secret_from(
                config.operator_password_file.as_deref(),
                "WEFE_KEYSTORE_PASSWORD",
                "the operator keystore needs a password",
            )
            .map_err(|e| format!("{e:#}"))
        })?);
    }
    let hex_key = std::env::var("WEFE_OPERATOR_KEY")
        .context("no operator key: set operator_keystore in the node config or WEFE_OPERATOR_KEY")?;
    SuiteKey::from_hex(&hex_key, suite).context("WEFE_OPERATOR_KEY")
}

/// Job transports from the gateway.
struct GatewayNetwork(Gateway);

impl JobNetwork for GatewayNetwork {
    type Transport = wefe_gateway::GatewayTransport;
    fn transport(&self, job_id: u64, participants: &[PeerId]) -> Result<Self::Transport> {
        // Admits the job at the gateway: from now on only its participants
        // may send messages for it, and `finished` refuses any more.
        Ok(self.0.job_transport(job_id, participants.iter().copied()))
    }

    fn finished(&self, job_id: u64) {
        self.0.forget_job(job_id);
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
