//! `wefe-node`: one institution's party node. It follows the chain, indexes
//! every governance event into its store (the audit index) and records each
//! approved job that names its member — exactly once, across crashes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use wefe_chain::{ChainConfig, EthereumBackend, Governance};
use wefe_store::Store;

use wefe_node::config::NodeConfig;
use wefe_node::listener::{Listener, Step};

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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let store = Store::open(&config.store_url()).await?;
    let backend = EthereumBackend::connect(
        &chain.chain.rpc_url,
        Some(chain.chain.chain_id),
        None,
        Duration::from_secs(chain.chain.receipt_timeout_secs),
    )
    .await
    .with_context(|| format!("connecting to {}", chain.chain.rpc_url))?;
    let gov = Governance::new(backend, chain.contracts);
    gov.check_contracts().await.context("checking the contracts named in the chain configuration")?;
    let listener = Listener::new(gov, store, config.member, chain.chain.confirmations, config.log_chunk_blocks);
    tracing::info!(name = %config.name, member = %config.member, confirmations = chain.chain.confirmations, "node started");

    let poll = Duration::from_millis(config.poll_interval_ms);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut failures = 0u32;
    loop {
        let wait = match listener.step().await {
            Ok(Step::Applied { from, to, events, jobs }) => {
                failures = 0;
                tracing::info!(from, to, events, ?jobs, "blocks applied");
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
    tracing::info!("shutting down");
    listener.store().close().await;
    Ok(())
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
