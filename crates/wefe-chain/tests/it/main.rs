//! `EthereumBackend` and `Governance` against a real anvil: deployment, typed
//! calls, custom errors decoded, receipt timeout, chain-id check.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::bindings::Consortium;
use wefe_chain::{ChainBackend, ChainError, EthereumBackend, Governance, Target};

fn signer(i: usize) -> PrivateKeySigner {
    DEV_KEYS[i].parse().unwrap()
}

async fn backend(anvil: &Anvil, key: usize, timeout: Duration) -> EthereumBackend {
    EthereumBackend::connect(&anvil.url(), Some(anvil.chain_id()), Some(signer(key)), timeout).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_calls_and_decodes_custom_errors() {
    let anvil = Anvil::spawn().unwrap();
    let admins: Vec<Address> = (0..3).map(|i| signer(i).address()).collect();
    let (gov, deployed) =
        Governance::deploy(backend(&anvil, 0, Duration::from_secs(10)).await, admins.clone(), 2).await.unwrap();
    assert_eq!(deployed.transactions.len(), 4);
    gov.check_contracts().await.unwrap();
    assert_eq!(gov.call(Target::Consortium, Consortium::adminsCall {}).await.unwrap(), admins);
    assert_eq!(gov.call(Target::Consortium, Consortium::thresholdCall {}).await.unwrap(), U256::from(2));

    // A non-admin's proposal is refused before sending, with the contract's own error.
    let outsider = Governance::new(
        backend(&anvil, 5, Duration::from_secs(10))
            .await
            .with_contract_names(Governance::<EthereumBackend>::contract_names(gov.contracts())),
        *gov.contracts(),
    );
    let head = outsider.backend().head_block().await.unwrap();
    let err = outsider
        .send(Target::Consortium, Consortium::proposeCall { kind: 4, target: signer(5).address(), value: U256::ZERO })
        .await
        .unwrap_err();
    match &err {
        ChainError::Reverted { contract, error, message } => {
            assert_eq!(contract.as_deref(), Some("Consortium"));
            assert_eq!(error.as_deref(), Some("NotAdmin"));
            assert_eq!(message, &format!("not an admin: {}", signer(5).address().to_checksum(None)));
        }
        other => panic!("expected a decoded revert, got {other:?}"),
    }
    assert_eq!(outsider.backend().head_block().await.unwrap(), head, "nothing was mined");

    // Views revert with decoded errors too.
    let err =
        gov.call(Target::Consortium, Consortium::getProposalCall { proposalId: U256::from(9) }).await.unwrap_err();
    assert_eq!(err.to_string(), "unknown proposal 9");

    // Addresses that do not hold the wefe contracts are noticed.
    let mut wrong = *gov.contracts();
    wrong.consortium = wrong.data_registry;
    let confused = Governance::new(backend(&anvil, 0, Duration::from_secs(10)).await, wrong);
    assert!(confused.check_contracts().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn waits_for_receipts_with_a_timeout() {
    let anvil = Anvil::spawn_with(&["--no-mining"]).unwrap();
    let backend = backend(&anvil, 0, Duration::from_millis(800)).await;
    let err = backend.send(Some(signer(1).address()), Default::default()).await.unwrap_err();
    match err {
        ChainError::ReceiptTimeout { waited, .. } => assert!(waited >= Duration::from_millis(800), "{waited:?}"),
        other => panic!("expected a receipt timeout, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_node_of_another_chain() {
    let anvil = Anvil::spawn().unwrap();
    let err = EthereumBackend::connect(&anvil.url(), Some(20200), None, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(err, ChainError::ChainIdMismatch { expected: 20200, actual: 31337, .. }), "{err}");
    let err = EthereumBackend::connect("http://127.0.0.1:9", None, None, Duration::from_secs(5)).await.unwrap_err();
    assert!(err.to_string().contains("cannot reach"), "{err}");
    let err = EthereumBackend::connect("ftp://x", None, None, Duration::from_secs(5)).await.unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
}

/// Every development key is one of anvil's funded accounts (a mistyped key
/// signs for an empty account, whose transactions fail for lack of gas).
#[tokio::test(flavor = "multi_thread")]
async fn every_dev_key_is_a_funded_anvil_account() {
    use alloy::providers::{Provider, ProviderBuilder};
    let anvil = Anvil::spawn().unwrap();
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse().unwrap());
    for (i, key) in DEV_KEYS.iter().enumerate() {
        let address = key.parse::<PrivateKeySigner>().unwrap().address();
        let balance = provider.get_balance(address).await.unwrap();
        assert!(balance > U256::ZERO, "DEV_KEYS[{i}] ({address}) has no funds on anvil");
    }
}
