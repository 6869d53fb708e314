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
            crypto_suite: Default::default(),
            max_log_blocks: None,
            group: None,
            node: None,
            fisco_chain_id: None,
            fisco_sdk_certs: None,
            fisco_node_cert_sha256: None,
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
            // Another sender of this key (the node under test) took the nonce,
            // or its transaction with that nonce is still in the pool.
            Err(e)
                if ["nonce", "replacement transaction underpriced", "already known"]
                    .iter()
                    .any(|race| e.to_string().contains(race)) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("nonce still taken after 20 attempts")
}

/// The operator key of the member with dev key `member` (3, 4, 5 → 6, 7, 8):
/// what that member's node runs with.
pub const fn operator_of(member: usize) -> usize {
    member + 3
}

/// The member with dev key `member` nominates its operator key on chain, and
/// the operator key accepts.
pub async fn set_operator(gov: &Governance<EthereumBackend>, member: usize) {
    use wefe_chain::bindings::Consortium;
    let call = Consortium::setOperatorCall { operator: signer(operator_of(member)).address() };
    gov.send(wefe_chain::Target::Consortium, call).await.unwrap();
    let backend = EthereumBackend::connect(
        wefe_chain::ChainBackend::url(gov.backend()),
        Some(31337),
        Some(signer(operator_of(member))),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let operator = Governance::new(backend, *gov.contracts());
    let accept = Consortium::acceptOperatorCall { member: signer(member).address() };
    operator.send(wefe_chain::Target::Consortium, accept).await.unwrap();
}

/// `name` owned by the member with dev key `key`, as the contract takes it.
pub fn dataset(name: &str, key: usize) -> wefe_chain::bindings::JobRegistry::DatasetRef {
    wefe_chain::bindings::JobRegistry::DatasetRef {
        owner: signer(key).address(),
        name: alloy::primitives::B256::from(wefe_core::DatasetId::parse(name).unwrap().to_bytes()),
    }
}

/// Dev key 3 proposes a job for keys 3 and 4 (approval deadline `deadline_blocks`
/// ahead; the i-th dataset belongs to the i-th participant); both approve it.
/// Returns its id.
pub async fn propose_and_approve(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    kind: &str,
    datasets: &[&str],
    params: &str,
    deadline_blocks: u64,
) -> alloy::primitives::U256 {
    use wefe_chain::bindings::JobRegistry;
    use wefe_chain::{ChainBackend, Target};

    let head = a.backend().head_block().await.unwrap();
    let call = JobRegistry::proposeCall {
        kind: kind.into(),
        participants: vec![signer(3).address(), signer(4).address()],
        datasets: datasets.iter().zip([3, 4]).map(|(d, key)| dataset(d, key)).collect(),
        params: params.into(),
        deadlineBlock: head + deadline_blocks,
        runBlocks: 5000,
    };
    send_retrying(a, Target::JobRegistry, call).await;
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    send_retrying(a, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    send_retrying(b, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    id
}
