//! Helpers shared by the node's test binaries (each uses a subset).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::{ChainConfig, ContractAddresses, EthereumBackend, Governance};

/// anvil's dev key `i`.
pub fn signer(i: usize) -> PrivateKeySigner {
    DEV_KEYS[i].parse().unwrap()
}

/// The contracts, signing as dev key `key`.
pub async fn as_key(anvil: &Anvil, key: usize, contracts: ContractAddresses) -> Governance<EthereumBackend> {
    let backend =
        EthereumBackend::connect(&anvil.url(), Some(31337), Some(signer(key)), Duration::from_secs(10)).await.unwrap();
    Governance::new(backend, contracts)
}

/// Writes `dir/chain.toml` for `anvil` (no confirmations).
pub fn write_chain_config(dir: &Path, anvil: &Anvil, contracts: ContractAddresses) {
    let chain = ChainConfig {
        chain: wefe_chain::config::ChainSection {
            backend: "ethereum".into(),
            rpc_url: anvil.url(),
            chain_id: 31337,
            confirmations: 0,
            receipt_timeout_secs: 10,
        },
        contracts,
    };
    chain.save(&dir.join("chain.toml")).unwrap();
}

/// Sends `call`, retrying while another process signing with the same key
/// (a node reporting on its jobs) took the nonce first.
pub async fn send_retrying<C: alloy::sol_types::SolCall + Clone>(
    gov: &Governance<EthereumBackend>,
    target: wefe_chain::Target,
    call: C,
) -> wefe_chain::TxOutcome {
    for _ in 0..20 {
        match gov.send(target, call.clone()).await {
            Ok(outcome) => return outcome,
            Err(e) if e.to_string().contains("nonce") => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("nonce still taken after 20 attempts")
}
