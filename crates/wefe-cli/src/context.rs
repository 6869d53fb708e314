//! Connecting a command to the chain described by the configuration.

use anyhow::{Context as _, Result};
use wefe_chain::{AnyBackend, ChainBackend, ChainConfig, Governance};

use crate::args::GlobalArgs;
use crate::keys;

/// Loads the configuration, connects (checking the chain id) and, when
/// `needs_signer`, loads the caller's key.
pub async fn connect(global: &GlobalArgs, needs_signer: bool) -> Result<Governance<AnyBackend>> {
    let mut config = ChainConfig::load(&global.chain_config)?;
    if let Some(url) = &global.rpc_url {
        config.chain.rpc_url = url.clone();
    }
    let signer = if needs_signer {
        Some(keys::load_signer(global, config.chain.crypto_suite)?.ok_or(wefe_chain::ChainError::NoSigner)?)
    } else {
        None // read-only: never ask for a password
    };
    let backend = AnyBackend::connect(&config, signer)
        .await
        .with_context(|| format!("connecting to {}", config.chain.rpc_url))?;
    Ok(Governance::new(backend, config.contracts))
}

/// The signing account (only call after `connect(.., true)`).
pub fn sender(gov: &Governance<AnyBackend>) -> alloy::primitives::Address {
    gov.backend().sender().expect("connect(.., true) loads a signer")
}
