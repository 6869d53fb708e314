//! The FISCO backend against `wefe-devchain` over HTTP: the SM build of the
//! contracts deployed and governed with SM2 accounts (and the Keccak build
//! with secp256k1 ones on a non-SM chain), custom errors decoded from SM3
//! selectors, the audit read by `getLogs` and, as on nodes before 3.10, from
//! block receipts; the chain's txpool refusals with FISCO's status codes; and
//! every mismatched setting refused at connect with the setting named.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wefe_chain::audit::{AuditQuery, scan};
use wefe_chain::bindings::Consortium;
use wefe_chain::fisco::{FiscoBackend, FiscoSettings, TransactionData};
use wefe_chain::{Address, Bytes, ChainBackend, ChainError, CryptoSuite, Governance, SuiteKey, Target, U256};
use wefe_devchain::{Chain, Settings};

fn chain_settings(suite: CryptoSuite, get_logs: bool) -> Settings {
    Settings {
        suite,
        chain_id: "chain0".into(),
        group: "group0".into(),
        node: "node0".into(),
        max_log_blocks: 3,
        get_logs,
    }
}

async fn start(settings: Settings) -> wefe_devchain::Running {
    wefe_devchain::serve(settings, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn backend_settings(url: &str, suite: CryptoSuite) -> FiscoSettings {
    backend_settings_tls(url, suite, None)
}

fn backend_settings_tls(url: &str, suite: CryptoSuite, sdk_certs: Option<&Path>) -> FiscoSettings {
    FiscoSettings {
        chain: Some("chain0".into()),
        max_log_blocks: Some(3),
        sdk_certs: sdk_certs.map(Path::to_path_buf),
        ..FiscoSettings::new(url, suite)
    }
}

/// Account `i` of `suite` (fixed keys: the test is repeatable).
fn key(i: u8, suite: CryptoSuite) -> SuiteKey {
    SuiteKey::from_hex(&hex::encode([i + 1; 32]), suite).unwrap()
}

async fn connect(url: &str, suite: CryptoSuite, i: u8, certs: Option<&Path>) -> FiscoBackend {
    FiscoBackend::connect(backend_settings_tls(url, suite, certs), Some(key(i, suite))).await.unwrap()
}

/// Deploys with admins 0, 1 and 2 (2 of 3), lets account 3 apply and two
/// admins approve it, and has account 4 (an outsider) try to propose.
/// Returns the audit trail as (event, actor) in chain order.
async fn lifecycle(url: &str, suite: CryptoSuite, certs: Option<&Path>) -> Vec<(String, Option<Address>)> {
    let admins: Vec<Address> = (0..3).map(|i| key(i, suite).address()).collect();
    let (gov, deployed) = Governance::deploy(connect(url, suite, 0, certs).await, admins.clone(), 2).await.unwrap();
    assert_eq!(deployed.transactions.len(), 4);
    gov.check_contracts().await.unwrap();
    assert_eq!(gov.call(Target::Consortium, Consortium::adminsCall {}).await.unwrap(), admins);
    let contracts = *gov.contracts();
    let as_account = async |i: u8| {
        let backend = connect(url, suite, i, certs)
            .await
            .with_contract_names(Governance::<FiscoBackend>::contract_names(&contracts));
        Governance::new(backend, contracts)
    };

    let applicant = as_account(3).await;
    let member = key(3, suite).address();
    applicant
        .send(
            Target::Consortium,
            Consortium::applyForMembershipCall {
                name: "Bank C 银行".into(),
                endpoint: "https://gw.bank-c.example:7443".into(),
                publicKey: Bytes::from(vec![7u8; 64]),
            },
        )
        .await
        .unwrap();
    let version = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await.unwrap().keyVersion;
    gov.send(Target::Consortium, Consortium::proposeCall { kind: 0, target: member, value: U256::from(version) })
        .await
        .unwrap();
    as_account(1).await.send(Target::Consortium, Consortium::voteCall { proposalId: U256::from(1) }).await.unwrap();
    let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await.unwrap();
    assert_eq!((m.name.as_str(), m.approvedKeyVersion), ("Bank C 银行", version));

    // The contract's own custom error, decoded from the suite's selector.
    let outsider = as_account(4).await;
    let err = outsider
        .send(
            Target::Consortium,
            Consortium::proposeCall { kind: 4, target: key(4, suite).address(), value: U256::ZERO },
        )
        .await
        .unwrap_err();
    match &err {
        ChainError::Reverted { contract, error, message } => {
            assert_eq!((contract.as_deref(), error.as_deref()), (Some("Consortium"), Some("NotAdmin")), "{err}");
            assert_eq!(message, &format!("not an admin: {}", key(4, suite).address().to_checksum(None)));
        }
        other => panic!("expected a decoded revert, got {other:?}"),
    }
    // Views revert with decoded errors too (Error selectors of the suite).
    let err =
        gov.call(Target::Consortium, Consortium::getProposalCall { proposalId: U256::from(9) }).await.unwrap_err();
    assert_eq!(err.to_string(), "unknown proposal 9");

    // The audit: every event with its sender, read in steps of max_log_blocks.
    let events = scan(&gov, &AuditQuery { block_times: true, ..AuditQuery::default() }, |_, _| {}).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for e in &events {
        let time = e.time.expect("block times asked for");
        assert!(time <= now && now - time < 600, "block time in seconds (FISCO's are milliseconds): {time}");
    }
    events.into_iter().map(|e| (e.event, e.actor)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sm_contracts_run_with_sm2_accounts_and_the_audit_reads_them_with_or_without_get_logs() {
    let suite = CryptoSuite::Sm;
    let chain = start(chain_settings(suite, true)).await;
    let trail = lifecycle(&chain.url, suite, None).await;
    let names: Vec<&str> = trail.iter().map(|(e, _)| e.as_str()).collect();
    for expected in ["MemberApplied", "ProposalCreated", "ProposalVoted", "MemberStatusChanged"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let applied = trail.iter().find(|(e, _)| e == "MemberApplied").unwrap();
    assert_eq!(applied.1, Some(key(3, suite).address()), "the actor is the SM2 account that sent it");
    let voted = trail.iter().find(|(e, _)| e == "ProposalVoted").unwrap();
    assert!(voted.1 == Some(key(0, suite).address()) || voted.1 == Some(key(1, suite).address()));

    // A node before 3.10 has no getLogs: the same trail, from block receipts.
    let old = start(chain_settings(suite, false)).await;
    assert_eq!(lifecycle(&old.url, suite, None).await, trail);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_sm_fisco_chain_runs_the_keccak_build_with_secp256k1_accounts() {
    let chain = start(chain_settings(CryptoSuite::Ecdsa, true)).await;
    let trail = lifecycle(&chain.url, CryptoSuite::Ecdsa, None).await;
    let sm = start(chain_settings(CryptoSuite::Sm, true)).await;
    let sm_trail = lifecycle(&sm.url, CryptoSuite::Sm, None).await;
    let events = |t: &[(String, Option<Address>)]| t.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>();
    assert_eq!(events(&trail), events(&sm_trail), "the same history in either suite");
}

#[tokio::test(flavor = "multi_thread")]
async fn mismatched_settings_are_refused_at_connect_naming_the_setting() {
    let sm = start(chain_settings(CryptoSuite::Sm, true)).await;
    let ecdsa = start(chain_settings(CryptoSuite::Ecdsa, true)).await;
    let refused = async |settings: FiscoSettings, key: Option<SuiteKey>| {
        FiscoBackend::connect(settings, key).await.unwrap_err().to_string()
    };
    let mut s = backend_settings(&sm.url, CryptoSuite::Sm);
    s.group = "group1".into();
    let e = refused(s, None).await;
    assert!(e.contains("group = \"group1\"") && e.contains("does not serve it"), "{e}");
    let mut s = backend_settings(&sm.url, CryptoSuite::Sm);
    s.chain = Some("chain9".into());
    let e = refused(s, None).await;
    assert!(e.contains("fisco_chain_id = \"chain9\"") && e.contains("serves chain \"chain0\""), "{e}");
    let e = refused(backend_settings(&sm.url, CryptoSuite::Ecdsa), None).await;
    assert!(e.contains("crypto_suite = \"ecdsa\"") && e.contains("SM mode"), "{e}");
    let e = refused(backend_settings(&ecdsa.url, CryptoSuite::Sm), None).await;
    assert!(e.contains("crypto_suite = \"sm\"") && e.contains("not in SM mode"), "{e}");
    let e = refused(backend_settings(&sm.url, CryptoSuite::Sm), Some(key(0, CryptoSuite::Ecdsa))).await;
    assert!(e.contains("crypto_suite = \"sm\", but the signing key is"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    // A node name the group does not have.
    let mut s = backend_settings(&sm.url, CryptoSuite::Sm);
    s.node = "node7".into();
    let backend = FiscoBackend::connect(s, None).await.unwrap();
    let e = backend.head_block().await.unwrap_err().to_string();
    assert!(e.contains("node7") && e.contains("not in group group0"), "{e}");
}

/// `sendTransaction` straight into the chain, as the backend's node would get it.
fn send_raw(chain: &mut Chain, bytes: &[u8]) -> Value {
    chain.handle("sendTransaction", &[json!("group0"), json!(""), json!(format!("0x{}", hex::encode(bytes)))]).unwrap()
}

fn status(receipt: &Value) -> u64 {
    receipt["status"].as_u64().unwrap()
}

#[test]
fn the_txpool_refuses_what_fisco_refuses_with_its_status_codes() {
    use wefe_devchain::chain::status;
    let suite = CryptoSuite::Sm;
    let mut chain = Chain::new(chain_settings(suite, true));
    let to = Some(Address::repeat_byte(0x11));
    let tx = |chain_id: &str, group: &str, limit: i64, key: &SuiteKey| {
        TransactionData::new(chain_id, group, limit, to, vec![1, 2, 3]).unwrap().sign(key).unwrap().encode()
    };
    let sm = key(0, suite);
    // Accepted: one block mined (no code at `to`: a plain transfer of nothing).
    let good = tx("chain0", "group0", 100, &sm);
    let receipt = send_raw(&mut chain, &good);
    assert_eq!((status(&receipt), receipt["blockNumber"].as_u64()), (status::SUCCESS, Some(1)), "{receipt}");
    // Replayed: already in chain.
    assert_eq!(status(&send_raw(&mut chain, &good)), status::TX_ALREADY_IN_CHAIN);
    // Past its block limit, or too far ahead of the head.
    assert_eq!(status(&send_raw(&mut chain, &tx("chain0", "group0", 1, &sm))), status::BLOCK_LIMIT_CHECK_FAIL);
    assert_eq!(status(&send_raw(&mut chain, &tx("chain0", "group0", 1 + 601, &sm))), status::BLOCK_LIMIT_CHECK_FAIL);
    // Another chain's, another group's.
    assert_eq!(status(&send_raw(&mut chain, &tx("chain1", "group0", 100, &sm))), status::INVALID_CHAIN_ID);
    assert_eq!(status(&send_raw(&mut chain, &tx("chain0", "group1", 100, &sm))), status::INVALID_GROUP_ID);
    // A secp256k1 signature on an SM chain.
    let e = send_raw(&mut chain, &tx("chain0", "group0", 100, &key(0, CryptoSuite::Ecdsa)));
    assert_eq!(status(&e), status::INVALID_SIGNATURE, "{e}");
    // Not a transaction at all.
    assert_eq!(status(&send_raw(&mut chain, b"\x00\x01garbage")), status::MALFORM);
    // None of the refused ones was mined.
    assert_eq!(chain.head(), 1);
    let head = chain.handle("getBlockNumber", &[json!("group0"), json!("")]).unwrap();
    assert_eq!(head, json!(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_transactions_blocks_and_senders_read_back() {
    let sm = start(chain_settings(CryptoSuite::Sm, true)).await;
    let backend = connect(&sm.url, CryptoSuite::Sm, 0, None).await;
    let outcome = backend.send(Some(Address::repeat_byte(0x22)), Bytes::new()).await.unwrap();
    assert_eq!(outcome.block_number, 1);
    assert!(backend.block_hash(1).await.unwrap().is_some());
    assert_eq!(backend.block_hash(2).await.unwrap(), None);
    assert_eq!(backend.transaction_sender(outcome.tx_hash).await.unwrap(), Some(key(0, CryptoSuite::Sm).address()));
}

/// A chain's RPC TLS files as FISCO's build_chain.sh writes them (RSA 2048,
/// an X.509 v1 CA), by `scripts/lib/fisco-certs.sh`.
fn fisco_certs(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/fisco-certs.sh");
    let out = std::process::Command::new("bash").arg(&script).arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn fisco_rpc_tls_is_mutual_and_checked_against_the_chain_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = fisco_certs(&tmp.path().join("chain"));
    let config = wefe_devchain::tls::server_config(&certs.join("node")).unwrap();
    let chain =
        wefe_devchain::serve_with(chain_settings(CryptoSuite::Sm, true), "127.0.0.1:0".parse().unwrap(), Some(config))
            .await
            .unwrap();
    assert!(chain.url.starts_with("https://"), "{}", chain.url);

    // With the chain's SDK files: the whole lifecycle, over TLS 1.2, no host name check.
    let trail = lifecycle(&chain.url, CryptoSuite::Sm, Some(&certs.join("sdk"))).await;
    assert!(trail.iter().any(|(e, _)| e == "MemberApplied"), "{trail:?}");

    // Pinned to the node's own certificate: accepted; pinned to another certificate of the same CA
    // (as another member's would be): refused, naming the setting.
    let node_pem = std::fs::read(certs.join("node/ssl.crt")).unwrap();
    let mut pinned = backend_settings_tls(&chain.url, CryptoSuite::Sm, Some(&certs.join("sdk")));
    pinned.node_cert_sha256 = Some(wefe_chain::fisco::tls::certificate_sha256(&node_pem).unwrap());
    FiscoBackend::connect(pinned.clone(), None).await.unwrap().head_block().await.unwrap();
    let sdk_pem = std::fs::read(certs.join("sdk/sdk.crt")).unwrap();
    pinned.node_cert_sha256 = Some(wefe_chain::fisco::tls::certificate_sha256(&sdk_pem).unwrap());
    let e = FiscoBackend::connect(pinned, None).await.unwrap_err().to_string();
    assert!(e.contains("not fisco_node_cert_sha256"), "{e}");

    // Another chain's SDK files: its CA did not issue the node's certificate, nor the node's CA the client's.
    let other = fisco_certs(&tmp.path().join("other"));
    let settings = backend_settings_tls(&chain.url, CryptoSuite::Sm, Some(&other.join("sdk")));
    let e = FiscoBackend::connect(settings, None).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach the node") && e.contains("fisco_sdk_certs must hold"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");

    // The node's certificate checks against the chain's CA, but the client's was issued by another CA:
    // the node refuses the handshake.
    let only_ca = tmp.path().join("only-ca");
    std::fs::create_dir_all(&only_ca).unwrap();
    std::fs::copy(certs.join("ca.crt"), only_ca.join("ca.crt")).unwrap();
    std::fs::copy(other.join("sdk/sdk.crt"), only_ca.join("sdk.crt")).unwrap();
    std::fs::copy(other.join("sdk/sdk.key"), only_ca.join("sdk.key")).unwrap();
    let settings = backend_settings_tls(&chain.url, CryptoSuite::Sm, Some(&only_ca));
    let e = FiscoBackend::connect(settings, None).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach the node") && !e.contains("does not serve it"), "{e}");
    assert!(e.contains("fisco_sdk_certs must hold the SDK files of this chain"), "{e}");

    // An SDK key others can read is refused before any connection.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(only_ca.join("sdk.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let settings = backend_settings_tls(&chain.url, CryptoSuite::Sm, Some(&only_ca));
    let e = FiscoBackend::connect(settings, None).await.unwrap_err().to_string();
    assert!(e.contains("fisco_sdk_certs") && e.contains("sdk.key"), "{e}");

    // Plain HTTP to the TLS port, and files that are not there, are errors naming the setting.
    let plain = chain.url.replacen("https://", "http://", 1);
    let e = FiscoBackend::connect(backend_settings(&plain, CryptoSuite::Sm), None).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach the node") && e.contains("needs an https:// rpc_url and fisco_sdk_certs"), "{e}");
    let e = FiscoBackend::connect(backend_settings_tls(&chain.url, CryptoSuite::Sm, Some(tmp.path())), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("fisco_sdk_certs: cannot read") && e.contains("ca.crt"), "{e}");
}
