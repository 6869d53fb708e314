//! `wefe-devchain`: a local FISCO BCOS 3.x stand-in for tests and the demo
//! (see the library's documentation for what it is and is not).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use wefe_chain::CryptoSuite;
use wefe_devchain::Settings;

/// A local test chain speaking FISCO BCOS 3.x's native JSON-RPC over an EVM
/// whose KECCAK256 is SM3 in SM mode. It stands in for a FISCO node in tests;
/// it is not one (one node, state in memory, no SM-TLS, no consensus).
#[derive(Debug, Parser)]
#[command(name = "wefe-devchain", version)]
struct Cli {
    /// Address to serve JSON-RPC on (port 0: a free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:20200")]
    listen: SocketAddr,
    /// `sm` (SM2 accounts, SM3 hashing, KECCAK256 = SM3) or `ecdsa` (secp256k1, Keccak-256).
    #[arg(long, default_value = "sm", value_parser = ["sm", "ecdsa"])]
    crypto_suite: String,
    /// The chain's text id.
    #[arg(long, default_value = "chain0")]
    chain_id: String,
    /// The group it serves.
    #[arg(long, default_value = "group0")]
    group: String,
    /// Its node name.
    #[arg(long, default_value = "node0")]
    node: String,
    /// Most blocks one getLogs reads (FISCO's filter_max_process_block); the rest is dropped.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    max_log_blocks: u64,
    /// Answer getLogs with "method not found", as FISCO BCOS nodes before 3.10 do.
    #[arg(long)]
    without_get_logs: bool,
    /// Serve HTTPS with FISCO's RPC TLS (mutual TLS 1.2) from a node's conf
    /// directory holding ca.crt, ssl.crt and ssl.key (scripts/lib/fisco-certs.sh writes one).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let settings = Settings {
        suite: if cli.crypto_suite == "sm" { CryptoSuite::Sm } else { CryptoSuite::Ecdsa },
        chain_id: cli.chain_id,
        group: cli.group,
        node: cli.node,
        max_log_blocks: cli.max_log_blocks,
        get_logs: !cli.without_get_logs,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tls = match cli.tls_dir.as_deref().map(wefe_devchain::tls::server_config).transpose() {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("error: --tls-dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let suite = settings.suite;
        let (chain, group) = (settings.chain_id.clone(), settings.group.clone());
        let running = match wefe_devchain::serve_with(settings, cli.listen, tls).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", cli.listen);
                return ExitCode::FAILURE;
            }
        };
        // Scripts wait for this line.
        println!("wefe-devchain: chain {chain}, {group}, {suite}, listening on {}", running.url);
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    })
}
