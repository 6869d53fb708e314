//! Connecting a command to the chain described by the configuration.

use std::time::Duration;

use anyhow::{Context as _, Result};
use wefe_chain::{ChainBackend, ChainConfig, EthereumBackend, Governance};

use crate::args::GlobalArgs;
use crate::keys;

/// Loads the configuration, connects (checking the chain id) and, when
/// `needs_signer`, loads the caller's key.
pub async fn connect(global: &GlobalArgs, needs_signer: bool) -> Result<Governance<EthereumBackend>> {
    let mut config = ChainConfig::load(&global.chain_config)?;
    if let Some(url) = &global.rpc_url {
        config.chain.rpc_url = url.clone();
    }
    let signer = if needs_signer {
        Some(keys::load_signer(global)?.ok_or(wefe_chain::ChainError::NoSigner)?)
    } else {
        None // read-only: never ask for a password
    };
    let backend = EthereumBackend::connect(
        &config.chain.rpc_url,
        Some(config.chain.chain_id),
        signer,
        Duration::from_secs(config.chain.receipt_timeout_secs),
    )
    .await
    .with_context(|| format!("connecting to {}", config.chain.rpc_url))?
    .with_contract_names(Governance::<EthereumBackend>::contract_names(&config.contracts));
    let backend = match config.chain.max_log_blocks {
        Some(blocks) => backend.with_max_log_blocks(blocks),
        None => backend,
    };
    Ok(Governance::new(backend, config.contracts))
}

/// The signing account (only call after `connect(.., true)`).
pub fn sender(gov: &Governance<EthereumBackend>) -> alloy::primitives::Address {
    gov.backend().sender().expect("connect(.., true) loads a signer")
}
