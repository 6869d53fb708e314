//! End to end, as processes: anvil, two `wefe-node`s with their gateways and
//! REST APIs. Datasets are imported through the API, PSI jobs are proposed and
//! approved on chain, and the nodes launch, run and report them by themselves.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::bindings::{Consortium, DataRegistry, JobRegistry};
use wefe_chain::{ChainBackend, ContractAddresses, EthereumBackend, Governance, Target};
use wefe_core::DatasetId;
use wefe_gateway::MemberKey;

mod common;
use common::{as_key, propose_and_approve, send_retrying, signer, write_chain_config};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node process, killed on drop.
struct Node {
    child: Child,
    api: u16,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// Starts a node for dev key `key` in `dir`, registering nothing.
fn start_node(
    dir: &Path,
    anvil: &Anvil,
    contracts: ContractAddresses,
    key: usize,
    sm2: &MemberKey,
    gateway: u16,
) -> Node {
    std::fs::create_dir_all(dir).unwrap();
    write_chain_config(dir, anvil, contracts);
    std::fs::write(dir.join("sm2.pem"), sm2.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let api = free_port();
    std::fs::write(
        dir.join("party.toml"),
        format!(
            "name = \"party-{key}\"\nmember = \"{}\"\nchain_config = \"chain.toml\"\ndata_dir = \"data\"\n\
             poll_interval_ms = 100\nsm2_key = \"sm2.pem\"\ngateway_listen = \"127.0.0.1:{gateway}\"\n\
             api_listen = \"127.0.0.1:{api}\"\n",
            signer(key).address()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_wefe-node"))
        .args(["run", "--config"])
        .arg(dir.join("party.toml"))
        .env("WEFE_PRIVATE_KEY", DEV_KEYS[key])
        .env("WEFE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let node = Node { child, api };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", api)).is_err() {
        assert!(Instant::now() < deadline, "node {key} did not open its API");
        std::thread::sleep(Duration::from_millis(100));
    }
    node
}

async fn job_status(gov: &Governance<EthereumBackend>, id: U256) -> u8 {
    gov.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: id }).await.unwrap()
}

async fn run_job(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    datasets: &[&str],
    params: &str,
) -> U256 {
    let id = propose_and_approve(a, b, "psi", datasets, params, 100).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match job_status(a, id).await {
            4 => return id,
            5 => panic!("job {id} failed on chain"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "job {id} did not complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_psi_jobs_run_between_two_node_processes() {
    let anvil = Anvil::spawn().unwrap();
    let admin_backend =
        EthereumBackend::connect(&anvil.url(), Some(31337), Some(signer(0)), Duration::from_secs(10)).await.unwrap();
    let (admin, deployed) = Governance::deploy(admin_backend, vec![signer(0).address()], 1).await.unwrap();
    let contracts = deployed.addresses;
    let dir = tempfile::tempdir().unwrap();

    // Two banks with real SM2 keys and gateway endpoints, approved by the admin.
    let mut parties = Vec::new();
    for key in [3usize, 4] {
        let sm2 = MemberKey::generate().unwrap();
        let gateway = free_port();
        let member = as_key(&anvil, key, contracts).await;
        let call = Consortium::applyForMembershipCall {
            name: format!("bank {key}"),
            endpoint: format!("http://127.0.0.1:{gateway}"),
            publicKey: sm2.public_key().to_vec().into(),
        };
        member.send(Target::Consortium, call).await.unwrap();
        let approve = Consortium::proposeCall { kind: 0, target: signer(key).address(), value: U256::from(1) };
        admin.send(Target::Consortium, approve).await.unwrap();
        parties.push((key, sm2, gateway, member));
    }

    // Customer lists with a known overlap, registered on chain and imported into each node.
    let a_ids: Vec<String> = (0..2000).map(|i| format!("cust-{i:05}")).collect();
    let b_ids: Vec<String> = (1500..3000).map(|i| format!("cust-{i:05}")).collect();
    let expected: Vec<String> = (1500..2000).map(|i| format!("cust-{i:05}")).collect();
    let mut nodes = Vec::new();
    for ((key, sm2, gateway, member), (name, ids)) in
        parties.iter().zip([("a-customers", &a_ids), ("b-customers", &b_ids)])
    {
        let csv_path = dir.path().join(format!("{name}.csv"));
        let mut csv = String::from("id,segment\n");
        for id in ids {
            csv.push_str(&format!("{id},retail\n"));
        }
        std::fs::write(&csv_path, csv).unwrap();
        let register = DataRegistry::registerCall {
            datasetId: B256::from(DatasetId::parse(name).unwrap().to_bytes()),
            // The node hashes the imported header the same way (SHA-256 of "id,segment").
            schemaHash: B256::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(b"id,segment")),
            rowCount: ids.len() as u64,
            metadata: "{}".into(),
            visibility: 0, // Public
        };
        member.send(Target::DataRegistry, register).await.unwrap();
        let node = start_node(&dir.path().join(format!("node-{key}")), &anvil, contracts, *key, sm2, *gateway);
        let body = format!(r#"{{"id":"{name}","id_column":"id","path":"{}"}}"#, csv_path.display());
        let (status, response) = http(node.api, "POST", "/datasets", Some(&body));
        assert_eq!(status, 201, "{response}");
        nodes.push(node);
    }
    let (a, b) = (&parties[0].3, &parties[1].3);
    let datasets = ["a-customers", "b-customers"];

    for params in [r#"{"protocol":"ecdh","reveal":"both"}"#, r#"{"protocol":"rsa","reveal":"both"}"#] {
        let id = run_job(a, b, &datasets, params).await;
        for (node, (key, ..)) in nodes.iter().zip(&parties) {
            // The node marks the job completed right after its report is mined.
            let deadline = Instant::now() + Duration::from_secs(30);
            let (status, body) = loop {
                let (status, body) = http(node.api, "GET", &format!("/jobs/{id}/result"), None);
                if status != 409 || Instant::now() > deadline {
                    break (status, body);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(status, 200, "{params}: {body}");
            let lines: Vec<&str> = body.lines().skip(1).collect();
            assert_eq!(lines, expected, "{params}: node {key}'s intersection");
            let report = a
                .call(
                    Target::JobRegistry,
                    JobRegistry::participantReportCall { jobId: id, participant: signer(*key).address() },
                )
                .await
                .unwrap();
            assert!(report.summary.contains("\"intersection_size\":500"), "{}", report.summary);
        }
        // The node's audit index holds the whole timeline (once it has read the last block).
        let deadline = Instant::now() + Duration::from_secs(30);
        let audit = loop {
            let (_, audit) = http(nodes[0].api, "GET", &format!("/audit/jobs/{id}"), None);
            if audit.contains("JobCompleted") || Instant::now() > deadline {
                break audit;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        for event in ["JobProposed", "JobApproved", "JobStarted", "JobParticipantCompleted", "JobCompleted"] {
            assert!(audit.contains(event), "{event} missing from {audit}");
        }
    }

    // A third node (the regulator) follows the chain without taking part: it
    // records no job but its audit index holds the same timeline.
    let regulator_key = MemberKey::generate().unwrap();
    let regulator_gateway = free_port();
    let regulator = as_key(&anvil, 5, contracts).await;
    let apply = Consortium::applyForMembershipCall {
        name: "regulator".into(),
        endpoint: format!("http://127.0.0.1:{regulator_gateway}"),
        publicKey: regulator_key.public_key().to_vec().into(),
    };
    regulator.send(Target::Consortium, apply).await.unwrap();
    admin
        .send(
            Target::Consortium,
            Consortium::proposeCall { kind: 0, target: signer(5).address(), value: U256::from(1) },
        )
        .await
        .unwrap();
    let observer = start_node(&dir.path().join("node-5"), &anvil, contracts, 5, &regulator_key, regulator_gateway);
    let deadline = Instant::now() + Duration::from_secs(30);
    let audit = loop {
        let (_, audit) = http(observer.api, "GET", "/audit/jobs/2", None);
        if audit.contains("JobCompleted") || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(audit.contains("JobCompleted"), "{audit}");
    assert_eq!(http(observer.api, "GET", "/jobs", None).1.trim(), r#"{"jobs":[]}"#);

    // A participant suspended after the proposal: its approval is refused and
    // the job never launches on any node.
    let head = a.backend().head_block().await.unwrap();
    let propose = JobRegistry::proposeCall {
        kind: "psi".into(),
        participants: vec![signer(3).address(), signer(4).address()],
        datasetIds: datasets.iter().map(|d| B256::from(DatasetId::parse(d).unwrap().to_bytes())).collect(),
        params: "{}".into(),
        deadlineBlock: head + 100,
    };
    send_retrying(a, Target::JobRegistry, propose).await;
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    send_retrying(a, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    let suspend = Consortium::proposeCall { kind: 1, target: signer(4).address(), value: U256::ZERO };
    admin.send(Target::Consortium, suspend).await.unwrap();
    let refused = b.send(Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await.unwrap_err();
    assert!(refused.to_string().contains("not an active member"), "{refused}");
    // Give the nodes time to see everything; nothing may launch.
    let settle = a.backend().head_block().await.unwrap();
    for node in nodes.iter().chain([&observer]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, health) = http(node.api, "GET", "/health", None);
            let cursor: u64 = serde_json::from_str::<serde_json::Value>(&health).unwrap()["cursor"]["block_number"]
                .as_u64()
                .unwrap_or(0);
            if cursor >= settle {
                break;
            }
            assert!(Instant::now() < deadline, "a node did not reach block {settle}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, _) = http(node.api, "GET", &format!("/jobs/{id}"), None);
        assert_eq!(status, 404, "job {id} must not be recorded by any node");
    }
    assert_eq!(job_status(a, id).await, 1, "still Proposed");
}
