//! `wefe`: the consortium admin's command-line wallet. Every verb that changes
//! the chain is a transaction signed with the caller's own key (an encrypted
//! Ethereum JSON keystore, or `WEFE_PRIVATE_KEY`); the contracts decide whether
//! it is allowed, and a refusal is printed as one line before anything is sent.

mod args;
mod commands;
mod console;
mod context;
mod keys;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                err.exit();
            }
            // Usage errors as one line, like every other error: the message and
            // its detail lines (e.g. which argument is missing), without usage help.
            let rendered = err.render().to_string();
            let line =
                rendered.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect::<Vec<_>>().join(" ");
            let line = if line.is_empty() { "error: invalid arguments".to_owned() } else { line };
            if std::env::args().any(|a| a == "--json") {
                let message = line.strip_prefix("error: ").unwrap_or(&line);
                println!("{}", serde_json::json!({ "ok": false, "error": message }));
            }
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("WEFE_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.global.json;
    match runtime.block_on(commands::run(cli)) {
        Ok(out) => {
            out.print(json);
            ExitCode::SUCCESS
        }
        Err(err) => {
            // One line: what failed and why (anyhow's `:#` joins the context chain).
            let line = format!("{err:#}").replace('\n', " ");
            if json {
                println!("{}", serde_json::json!({ "ok": false, "error": line }));
            }
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
