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
use common::{
    as_key, dataset, operator_of, propose_and_approve, send_retrying, set_operator, signer, write_chain_config,
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node process, killed on drop.
struct Node {
    child: Child,
    api: u16,
    /// The API token the node created at its first start.
    token: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

/// One request to `node`'s API, with its token.
fn http(node: &Node, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", node.api)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        node.api,
        node.token,
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
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
    start_node_with(dir, anvil, contracts, key, sm2, gateway, "")
}

/// [`start_node`] with `extra` lines appended to `party.toml`.
fn start_node_with(
    dir: &Path,
    anvil: &Anvil,
    contracts: ContractAddresses,
    key: usize,
    sm2: &MemberKey,
    gateway: u16,
    extra: &str,
) -> Node {
    std::fs::create_dir_all(dir).unwrap();
    write_chain_config(dir, anvil, contracts);
    std::fs::write(dir.join("sm2.pem"), sm2.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    // The node refuses key files that others can read.
    std::fs::set_permissions(dir.join("sm2.pem"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let api = free_port();
    std::fs::write(
        dir.join("party.toml"),
        format!(
            "name = \"party-{key}\"\nmember = \"{}\"\nchain_config = \"chain.toml\"\ndata_dir = \"data\"\n\
             poll_interval_ms = 100\nsm2_key = \"sm2.pem\"\ngateway_listen = \"127.0.0.1:{gateway}\"\n\
             api_listen = \"127.0.0.1:{api}\"\nimport_root = \"..\"\npeer_networks = [\"127.0.0.0/8\"]\n{extra}",
            signer(key).address()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_wefe-node"))
        .args(["run", "--config"])
        .arg(dir.join("party.toml"))
        // The node runs with the member's operator key, never its governance key.
        .env("WEFE_OPERATOR_KEY", DEV_KEYS[operator_of(key)])
        .env("WEFE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut node = Node { child, api, token: String::new() };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", api)).is_err() {
        assert!(Instant::now() < deadline, "node {key} did not open its API");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Written owner-only before the API listens.
    node.token = std::fs::read_to_string(dir.join("data/api-token")).unwrap().trim().to_owned();
    node
}

/// A member with an SM2 gateway key, applied and approved by `admin`.
struct Party {
    key: usize,
    sm2: MemberKey,
    gateway: u16,
    gov: Governance<EthereumBackend>,
}

async fn deploy(anvil: &Anvil) -> (Governance<EthereumBackend>, ContractAddresses) {
    let admin_backend =
        EthereumBackend::connect(&anvil.url(), Some(31337), Some(signer(0)), Duration::from_secs(10)).await.unwrap();
    let (admin, deployed) = Governance::deploy(admin_backend, vec![signer(0).address()], 1).await.unwrap();
    (admin, deployed.addresses)
}

async fn join(anvil: &Anvil, admin: &Governance<EthereumBackend>, contracts: ContractAddresses, key: usize) -> Party {
    let sm2 = MemberKey::generate().unwrap();
    let gateway = free_port();
    let gov = as_key(anvil, key, contracts).await;
    let call = Consortium::applyForMembershipCall {
        name: format!("bank {key}"),
        endpoint: format!("http://127.0.0.1:{gateway}"),
        publicKey: sm2.public_key().to_vec().into(),
    };
    gov.send(Target::Consortium, call).await.unwrap();
    let approve = Consortium::proposeCall { kind: 0, target: signer(key).address(), value: U256::from(1) };
    admin.send(Target::Consortium, approve).await.unwrap();
    set_operator(&gov, key).await;
    Party { key, sm2, gateway, gov }
}

/// Writes `csv` to `dir/<name>.csv`, registers it on chain for `party` (the
/// schema hash and row count the node will compute) and imports it into `node`.
async fn register_and_import(party: &Party, node: &Node, dir: &Path, name: &str, csv: &str) {
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, csv).unwrap();
    let header = csv.lines().next().unwrap();
    let id_column = header.split(',').next().unwrap();
    let register = DataRegistry::registerCall {
        name: B256::from(DatasetId::parse(name).unwrap().to_bytes()),
        schemaHash: B256::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(header.as_bytes())),
        rowCount: csv.lines().count() as u64 - 1,
        metadata: "{}".into(),
        visibility: 0, // Public
    };
    send_retrying(&party.gov, Target::DataRegistry, register).await;
    let body = format!(r#"{{"id":"{name}","id_column":"{id_column}","path":"{}"}}"#, path.display());
    let (status, response) = http(node, "POST", "/datasets", Some(&body));
    assert_eq!(status, 201, "{response}");
}

async fn job_status(gov: &Governance<EthereumBackend>, id: U256) -> u8 {
    gov.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: id }).await.unwrap()
}

/// Proposes and approves a job, waits for it to close on chain; returns its
/// id and final status (4 completed, 5 failed, 9 timed out).
async fn run_kind(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    kind: &str,
    datasets: &[&str],
    params: &str,
) -> (U256, u8) {
    let id = propose_and_approve(a, b, kind, datasets, params, 100).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = job_status(a, id).await;
        if matches!(status, 4 | 5 | 9) {
            return (id, status);
        }
        assert!(Instant::now() < deadline, "job {id} did not close");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run_job(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    datasets: &[&str],
    params: &str,
) -> U256 {
    let (id, status) = run_kind(a, b, "psi", datasets, params).await;
    assert_eq!(status, 4, "job {id} failed on chain");
    id
}

/// GET `path` until it stops answering 409 (the node marks a job completed
/// right after its own report is mined).
async fn get_when_ready(node: &Node, path: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http(node, "GET", path, None);
        if status != 409 || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_psi_jobs_run_between_two_node_processes() {
    let anvil = Anvil::spawn().unwrap();
    let (admin, contracts) = deploy(&anvil).await;
    let dir = tempfile::tempdir().unwrap();

    // Two banks with real SM2 keys and gateway endpoints, approved by the admin.
    let mut parties = Vec::new();
    for key in [3usize, 4] {
        parties.push(join(&anvil, &admin, contracts, key).await);
    }

    // Customer lists with a known overlap, registered on chain and imported into each node.
    let a_ids: Vec<String> = (0..2000).map(|i| format!("cust-{i:05}")).collect();
    let b_ids: Vec<String> = (1500..3000).map(|i| format!("cust-{i:05}")).collect();
    let expected: Vec<String> = (1500..2000).map(|i| format!("cust-{i:05}")).collect();
    let mut nodes = Vec::new();
    for (party, (name, ids)) in parties.iter().zip([("a-customers", &a_ids), ("b-customers", &b_ids)]) {
        let mut csv = String::from("id,segment\n");
        for id in ids {
            csv.push_str(&format!("{id},retail\n"));
        }
        let node = start_node(
            &dir.path().join(format!("node-{}", party.key)),
            &anvil,
            contracts,
            party.key,
            &party.sm2,
            party.gateway,
        );
        register_and_import(party, &node, dir.path(), name, &csv).await;
        nodes.push(node);
    }
    let (a, b) = (&parties[0].gov, &parties[1].gov);
    let datasets = ["a-customers", "b-customers"];

    // The first job publishes the intersection's size; the others put nothing
    // but their commitments on chain.
    let protocols = [
        r#"{"protocol":"ecdh","reveal":"both","publish":["intersection_size"]}"#,
        r#"{"protocol":"rsa","reveal":"both"}"#,
        r#"{"protocol":"kkrt","reveal":"both"}"#,
    ];
    for params in protocols {
        let id = run_job(a, b, &datasets, params).await;
        let mut keys = Vec::new();
        for (node, Party { key, .. }) in nodes.iter().zip(&parties) {
            let (status, body) = get_when_ready(node, &format!("/jobs/{id}/result")).await;
            assert_eq!(status, 200, "{params}: {body}");
            // The job view kept the item progress: every id of both sets processed.
            let (_, view) = http(node, "GET", &format!("/jobs/{id}"), None);
            let view: serde_json::Value = serde_json::from_str(&view).unwrap();
            let (done, total) = (&view["items"]["done"], &view["items"]["total"]);
            assert!(total.as_u64().is_some_and(|t| t >= 2000) && done == total, "{params}: {view}");
            let lines: Vec<&str> = body.lines().skip(1).collect();
            assert_eq!(lines, expected, "{params}: node {key}'s intersection");
            // Results and their keys are readable by the node's user only.
            let results = dir.path().join(format!("node-{key}/data/results"));
            assert_eq!(mode(&results), 0o700, "{}", results.display());
            for file in std::fs::read_dir(&results).unwrap() {
                let file = file.unwrap().path();
                assert_eq!(mode(&file), 0o600, "{}", file.display());
            }
            let report = participant_report(a, id, *key).await;
            if params.contains("publish") {
                assert_eq!(report.text, r#"{"intersection_size":500}"#);
            } else {
                assert_eq!(report.text, "", "nothing published by default");
            }
            assert_eq!(view["summary"]["intersection_size"], 500, "the node keeps the full summary: {view}");
            // The result, with the key kept beside it, opens the commitment on chain.
            let (status, key_file) = http(node, "GET", &format!("/jobs/{id}/key"), None);
            assert_eq!(status, 200, "{key_file}");
            let key_file: serde_json::Value = serde_json::from_str(&key_file).unwrap();
            let commitment_key =
                wefe_crypto::commitment::CommitmentKey::from_hex(key_file["key"].as_str().unwrap()).unwrap();
            let participant = signer(*key).address().into_array();
            assert!(wefe_crypto::commitment::verify_result(
                &commitment_key,
                id.to::<u64>(),
                participant,
                body.as_bytes(),
                &report.commitment.0
            ));
            // Without the key, a guess (here: the true intersection's plain hash) tests nothing.
            let plain = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
            assert_ne!(report.commitment.as_slice(), plain.as_slice());
            keys.push(commitment_key);
        }
        // Both learned the intersection: they agreed on one commitment key, so
        // each can check the other's commitment.
        assert_eq!(keys[0].as_bytes(), keys[1].as_bytes(), "{params}");
        // The node's audit index holds the whole timeline (once it has read the last block).
        let deadline = Instant::now() + Duration::from_secs(30);
        let audit = loop {
            let (_, audit) = http(&nodes[0], "GET", &format!("/audit/jobs/{id}"), None);
            if audit.contains("JobCompleted") || Instant::now() > deadline {
                break audit;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        for event in ["JobProposed", "JobApproved", "JobStarted", "JobParticipantCompleted", "JobCompleted"] {
            assert!(audit.contains(event), "{event} missing from {audit}");
        }
    }

    // Revealed to the first party only: the second learns nothing and holds a
    // key of its own, which cannot open the first party's commitment: it
    // cannot test a guessed intersection against the chain either.
    let id = run_job(a, b, &datasets, r#"{"protocol":"ecdh","reveal":"first"}"#).await;
    let key_of = |node: &Node| -> serde_json::Value {
        let (status, key_file) = http(node, "GET", &format!("/jobs/{id}/key"), None);
        assert_eq!(status, 200, "{key_file}");
        serde_json::from_str(&key_file).unwrap()
    };
    let (_, intersection) = get_when_ready(&nodes[0], &format!("/jobs/{id}/result")).await;
    let (_, nothing) = get_when_ready(&nodes[1], &format!("/jobs/{id}/result")).await;
    assert_eq!(intersection.lines().skip(1).collect::<Vec<_>>(), expected);
    assert!(nothing.contains("\"learned\":false"), "{nothing}");
    let (first_key, second_key) = (key_of(&nodes[0]), key_of(&nodes[1]));
    assert_eq!((&first_key["shared"], &second_key["shared"]), (&serde_json::json!(false), &serde_json::json!(false)));
    let parse =
        |k: &serde_json::Value| wefe_crypto::commitment::CommitmentKey::from_hex(k["key"].as_str().unwrap()).unwrap();
    let first_report = participant_report(a, id, 3).await;
    let first = signer(3).address().into_array();
    assert!(wefe_crypto::commitment::verify_result(
        &parse(&first_key),
        id.to::<u64>(),
        first,
        intersection.as_bytes(),
        &first_report.commitment.0
    ));
    assert!(!wefe_crypto::commitment::verify_result(
        &parse(&second_key),
        id.to::<u64>(),
        first,
        intersection.as_bytes(),
        &first_report.commitment.0
    ));

    // A third node (the regulator) follows the chain without taking part: it
    // records no job but its audit index holds the same timeline.
    let regulator = join(&anvil, &admin, contracts, 5).await;
    let observer = start_node(&dir.path().join("node-5"), &anvil, contracts, 5, &regulator.sm2, regulator.gateway);
    let deadline = Instant::now() + Duration::from_secs(30);
    let audit = loop {
        let (_, audit) = http(&observer, "GET", "/audit/jobs/2", None);
        if audit.contains("JobCompleted") || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(audit.contains("JobCompleted"), "{audit}");
    let jobs: serde_json::Value = serde_json::from_str(&http(&observer, "GET", "/jobs", None).1).unwrap();
    assert_eq!((jobs["jobs"].clone(), jobs["total"].clone()), (serde_json::json!([]), serde_json::json!(0)));

    // The regulator then joins a three-party PSI (multi-party ECDH): every
    // node ends with exactly the ids common to all three.
    let c_ids: Vec<String> = (1800..2600).map(|i| format!("cust-{i:05}")).collect();
    let mut csv = String::from("id,segment\n");
    c_ids.iter().for_each(|id| csv.push_str(&format!("{id},watchlist\n")));
    register_and_import(&regulator, &observer, dir.path(), "c-watchlist", &csv).await;
    let head = a.backend().head_block().await.unwrap();
    let propose = JobRegistry::proposeCall {
        kind: "psi".into(),
        participants: vec![signer(3).address(), signer(4).address(), signer(5).address()],
        datasets: vec![dataset("a-customers", 3), dataset("b-customers", 4), dataset("c-watchlist", 5)],
        params: r#"{"protocol":"ecdh","reveal":"all"}"#.into(),
        deadlineBlock: head + 100,
        runBlocks: 5000,
    };
    send_retrying(a, Target::JobRegistry, propose).await;
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    for gov in [a, b, &regulator.gov] {
        send_retrying(gov, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    while !matches!(job_status(a, id).await, 4 | 5) {
        assert!(Instant::now() < deadline, "three-party job {id} did not close");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(job_status(a, id).await, 4, "three-party job failed: {}", failure_reason(&nodes, id).await);
    let common: Vec<String> = (1800..2000).map(|i| format!("cust-{i:05}")).collect();
    for node in nodes.iter().chain([&observer]) {
        let (status, body) = get_when_ready(node, &format!("/jobs/{id}/result")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.lines().skip(1).collect::<Vec<_>>(), common);
    }

    // A participant suspended after the proposal: its approval is refused and
    // the job never launches on any node.
    let head = a.backend().head_block().await.unwrap();
    let propose = JobRegistry::proposeCall {
        kind: "psi".into(),
        participants: vec![signer(3).address(), signer(4).address()],
        datasets: vec![dataset("a-customers", 3), dataset("b-customers", 4)],
        params: "{}".into(),
        deadlineBlock: head + 100,
        runBlocks: 5000,
    };
    send_retrying(a, Target::JobRegistry, propose).await;
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    send_retrying(a, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    // Value: the membership instance the suspension targets.
    let suspend = Consortium::proposeCall { kind: 1, target: signer(4).address(), value: U256::from(1) };
    admin.send(Target::Consortium, suspend).await.unwrap();
    let refused = b.send(Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await.unwrap_err();
    assert!(refused.to_string().contains("not an active member"), "{refused}");
    // Give the nodes time to see everything; nothing may launch.
    let settle = a.backend().head_block().await.unwrap();
    for node in nodes.iter().chain([&observer]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, health) = http(node, "GET", "/health", None);
            let cursor: u64 = serde_json::from_str::<serde_json::Value>(&health).unwrap()["cursor"]["block_number"]
                .as_u64()
                .unwrap_or(0);
            if cursor >= settle {
                break;
            }
            assert!(Instant::now() < deadline, "a node did not reach block {settle}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, _) = http(node, "GET", &format!("/jobs/{id}"), None);
        assert_eq!(status, 404, "job {id} must not be recorded by any node");
    }
    assert_eq!(job_status(a, id).await, 1, "still Proposed");
}

/// Breast-cancer rows (wefe-ml's fixture, CC BY 4.0): 30 features, label.
fn breast_cancer() -> Vec<(Vec<String>, String)> {
    let text = include_str!("../../wefe-ml/tests/fixtures/breast_cancer.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            let label = cells.pop().unwrap();
            (cells, label)
        })
        .collect()
}

/// A party's table: `id,<label>,f..` rows `rows` with the feature columns `cols`.
fn table(rows: impl Iterator<Item = usize>, cols: std::ops::Range<usize>, label: bool) -> String {
    let data = breast_cancer();
    let mut csv = String::from("id");
    if label {
        csv.push_str(",diagnosis");
    }
    for c in cols.clone() {
        csv.push_str(&format!(",f{c}"));
    }
    csv.push('\n');
    for r in rows {
        // Ids past the fixture's rows reuse its values (patients only one party has).
        let (features, diagnosis) = &data[r % data.len()];
        csv.push_str(&format!("patient-{r:04}"));
        if label {
            csv.push_str(&format!(",{diagnosis}"));
        }
        for c in cols.clone() {
            csv.push_str(&format!(",{}", features[c]));
        }
        csv.push('\n');
    }
    csv
}

/// The failure details the nodes keep for job `id` (only a category and a
/// commitment went on chain), joined; waits until every node has recorded
/// the failure.
async fn failure_reason(nodes: &[Node], id: U256) -> String {
    let mut reasons = Vec::new();
    for node in nodes {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, view) = http(node, "GET", &format!("/jobs/{id}"), None);
            let view: serde_json::Value = serde_json::from_str(&view).unwrap_or_default();
            if view["status"] == "failed" || Instant::now() > deadline {
                reasons.push(format!("{}: {}", view["failure"]["category"], view["error"]));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    reasons.join(" | ")
}

async fn participant_report(gov: &Governance<EthereumBackend>, id: U256, key: usize) -> JobRegistry::ParticipantReport {
    gov.call(Target::JobRegistry, JobRegistry::participantReportCall { jobId: id, participant: signer(key).address() })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_align_train_and_predict_and_fail_bad_learning_jobs_with_the_reason() {
    let anvil = Anvil::spawn().unwrap();
    let (admin, contracts) = deploy(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let (guest, host) = (join(&anvil, &admin, contracts, 3).await, join(&anvil, &admin, contracts, 4).await);
    let node = |p: &Party| {
        start_node(&dir.path().join(format!("node-{}", p.key)), &anvil, contracts, p.key, &p.sm2, p.gateway)
    };
    let (guest_node, host_node) = (node(&guest), node(&host));
    let both = [guest_node, host_node];
    let [guest_node, host_node] = &both;
    // A hospital (label + 10 features) and a lab (20 features) share 519 patients;
    // the lab also has 30 patients the hospital does not.
    let hospital = table(0..569, 0..10, true);
    let lab = table((50..569).chain(1000..1030), 10..30, false);
    register_and_import(&guest, guest_node, dir.path(), "hospital", &hospital).await;
    register_and_import(&host, host_node, dir.path(), "lab", &lab).await;
    // The same lab rows with one non-numeric cell (line 8, column f12).
    let mut broken: Vec<String> = lab.lines().map(str::to_owned).collect();
    let mut cells: Vec<&str> = broken[7].split(',').collect(); // id, f10, f11, f12, ...
    cells[3] = "abc";
    broken[7] = cells.join(",");
    let broken = broken.join("\n") + "\n";
    register_and_import(&host, host_node, dir.path(), "lab-broken", &broken).await;
    let (a, b) = (&guest.gov, &host.gov);
    let datasets = ["hospital", "lab"];

    let (psi, status) = run_kind(a, b, "psi", &datasets, r#"{"protocol":"ecdh","reveal":"both"}"#).await;
    assert_eq!(status, 4);

    // Bad learning jobs fail on chain with a category (the detail stays on
    // the nodes, committed on chain); the nodes carry on.
    let unaligned = r#"{"label":"diagnosis","epochs":1}"#; // no psi_job: ids differ
    let (id, status) = run_kind(a, b, "vertical-lr", &datasets, unaligned).await;
    assert_eq!(status, 5);
    let reasons = failure_reason(&both, id).await;
    assert!(reasons.contains("rows are not aligned with peer"), "{reasons}");
    let missing =
        format!(r#"{{"label":"diagnosis","psi_job":{psi},"features":{{"{}":["f99"]}}}}"#, signer(4).address());
    let (id, status) = run_kind(a, b, "vertical-lr", &datasets, &missing).await;
    assert_eq!(status, 5);
    let reason = failure_reason(&both, id).await;
    assert!(reason.contains("dataset lab has no feature column 'f99'"), "{reason}");
    assert!(reason.contains("\"Input\""), "{reason}");
    // On chain: the category and a commitment to the detail, which the node's
    // key opens.
    let failed = participant_report(a, id, 4).await;
    assert_eq!(failed.failure, 2, "Input");
    let (_, view) = http(host_node, "GET", &format!("/jobs/{id}"), None);
    let view: serde_json::Value = serde_json::from_str(&view).unwrap();
    let key =
        wefe_crypto::commitment::CommitmentKey::from_hex(view["failure"]["detail_key"].as_str().unwrap()).unwrap();
    let detail = view["error"].as_str().unwrap();
    let expected =
        wefe_crypto::commitment::failure_commitment(&key, id.to::<u64>(), signer(4).address().into_array(), detail);
    assert_eq!(failed.commitment.0, expected);
    let (id, status) = run_kind(
        a,
        b,
        "vertical-lr",
        &["hospital", "lab-broken"],
        &format!(r#"{{"label":"diagnosis","psi_job":{psi}}}"#),
    )
    .await;
    assert_eq!(status, 5);
    let reason = failure_reason(&both, id).await;
    assert!(reason.contains("dataset lab-broken, line 8, column 'f12': not a number"), "{reason}");
    let (id, status) = run_kind(a, b, "predict", &datasets, &format!(r#"{{"model_job":{psi}}}"#)).await;
    assert_eq!(status, 5);
    let reason = failure_reason(&both, id).await;
    assert!(reason.contains(&format!("job {psi} is a 'psi' job, not vertical-lr")), "{reason}");

    // Training on the PSI intersection with a 30% hold-out.
    // The participants agree to publish the hold-out AUC, and nothing else.
    let params = format!(
        r#"{{"label":"diagnosis","psi_job":{psi},"epochs":6,"batch_size":64,"learning_rate":0.3,"validation_fraction":0.3,"seed":3,"online_serving":true,"publish":["metrics.auc"]}}"#
    );
    let (train, status) = run_kind(a, b, "vertical-lr", &datasets, &params).await;
    assert_eq!(status, 4, "{}", failure_reason(&both, train).await);
    let public: serde_json::Value = serde_json::from_str(&participant_report(a, train, 3).await.text).unwrap();
    assert_eq!(public.as_object().unwrap().keys().collect::<Vec<_>>(), ["metrics"], "{public}");
    assert_eq!(public["metrics"].as_object().unwrap().len(), 1, "{public}");
    let (_, view) = get_when_ready(guest_node, &format!("/jobs/{train}")).await;
    let summary = serde_json::from_str::<serde_json::Value>(&view).unwrap()["summary"].clone();
    assert_eq!(summary["rows"]["train"].as_u64().unwrap() + summary["rows"]["validation"].as_u64().unwrap(), 519);
    let auc = summary["metrics"]["auc"].as_f64().unwrap();
    assert!(auc > 0.97, "hold-out AUC {auc}");
    assert_eq!(public["metrics"]["auc"].as_f64(), Some(auc));
    // Each node keeps only its share, committed on chain under a key of its own.
    let mut keys = Vec::new();
    for (node, key, features) in [(guest_node, 3, 10), (host_node, 4, 20)] {
        let (status, body) = get_when_ready(node, &format!("/jobs/{train}/result")).await;
        assert_eq!(status, 200, "{body}");
        let model: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(model["weights"].as_array().unwrap().len(), features);
        let (_, key_file) = http(node, "GET", &format!("/jobs/{train}/key"), None);
        let key_file: serde_json::Value = serde_json::from_str(&key_file).unwrap();
        assert_eq!(key_file["shared"], false, "a model share is committed under its holder's own key");
        let commitment_key =
            wefe_crypto::commitment::CommitmentKey::from_hex(key_file["key"].as_str().unwrap()).unwrap();
        let report = participant_report(a, train, key).await;
        let participant = signer(key).address().into_array();
        assert!(wefe_crypto::commitment::verify_result(
            &commitment_key,
            train.to::<u64>(),
            participant,
            body.as_bytes(),
            &report.commitment.0
        ));
        keys.push(commitment_key);
    }
    assert_ne!(keys[0].as_bytes(), keys[1].as_bytes());
    let (status, png) = get_when_ready(guest_node, &format!("/jobs/{train}/report/roc.png")).await;
    assert_eq!(status, 200);
    assert!(png.starts_with("\u{FFFD}PNG") && png.contains("IHDR"), "not a PNG");
    assert_eq!(http(host_node, "GET", &format!("/jobs/{train}/report/roc.png"), None).0, 404);

    // Federated prediction: the hospital gets the scores, the lab only a count.
    let (predict, status) =
        run_kind(a, b, "predict", &datasets, &format!(r#"{{"model_job":{train},"psi_job":{psi}}}"#)).await;
    assert_eq!(status, 4, "{}", failure_reason(&both, predict).await);
    let (_, scores) = get_when_ready(guest_node, &format!("/jobs/{predict}/result")).await;
    let lines: Vec<&str> = scores.lines().collect();
    assert_eq!(lines[0], "id,score,probability,prediction");
    assert_eq!(lines.len(), 520);
    assert!(lines[1].starts_with("patient-0050,"), "{}", lines[1]);
    let (_, host_result) = get_when_ready(host_node, &format!("/jobs/{predict}/result")).await;
    assert!(host_result.contains("\"rows\":519") && !host_result.contains("score"), "{host_result}");
    assert_eq!(participant_report(a, predict, 3).await.text, "", "prediction metrics stay off chain");
    let (_, view) = http(guest_node, "GET", &format!("/jobs/{predict}"), None);
    let summary = serde_json::from_str::<serde_json::Value>(&view).unwrap()["summary"].clone();
    assert!(summary["metrics"]["auc"].as_f64().unwrap() > 0.97, "{summary}");

    // Online prediction on the guest's node, answered by the host's node.
    let body = r#"{"ids":["patient-0100","patient-0050"]}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, online) = loop {
        let (status, online) = http(guest_node, "POST", &format!("/models/{train}/predict"), Some(body));
        if status != 503 || Instant::now() > deadline {
            break (status, online);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "{online}");
    let online: serde_json::Value = serde_json::from_str(&online).unwrap();
    for (i, id) in ["patient-0100", "patient-0050"].into_iter().enumerate() {
        let row = lines.iter().find(|l| l.starts_with(&format!("{id},"))).unwrap();
        let batch_score: f64 = row.split(',').nth(1).unwrap().parse().unwrap();
        let p = &online["predictions"][i];
        assert_eq!(p["id"], id);
        assert!((p["score"].as_f64().unwrap() - batch_score).abs() < 1e-5, "{p} vs {row}");
    }
    let (status, body) = http(guest_node, "POST", &format!("/models/{train}/predict"), Some(r#"{"ids":["nobody"]}"#));
    assert_eq!(status, 400);
    assert!(body.contains("id 'nobody' is not in dataset hospital"), "{body}");
    // The hospital's own patient 10 is not one the lab shares: the lab refuses
    // without saying whether it holds the id.
    let (status, body) =
        http(guest_node, "POST", &format!("/models/{train}/predict"), Some(r#"{"ids":["patient-0010"]}"#));
    assert_eq!(status, 400);
    assert!(body.contains("refused: the request names ids outside the rows the model was trained on"), "{body}");
    let (status, body) =
        http(host_node, "POST", &format!("/models/{train}/predict"), Some(r#"{"ids":["patient-0100"]}"#));
    assert_eq!(status, 409);
    assert!(body.contains("host share"), "{body}");
    let (status, _) = http(guest_node, "POST", &format!("/models/{psi}/predict"), Some(r#"{"ids":["patient-0100"]}"#));
    assert_eq!(status, 404);
}

/// Federated binning (WOE/IV), SecureBoost trained on the bins of that job,
/// and prediction with the tree model; bad tree jobs fail with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_bin_train_trees_and_predict_with_them() {
    let anvil = Anvil::spawn().unwrap();
    let (admin, contracts) = deploy(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let (guest, host) = (join(&anvil, &admin, contracts, 3).await, join(&anvil, &admin, contracts, 4).await);
    let node = |p: &Party| {
        start_node(&dir.path().join(format!("node-{}", p.key)), &anvil, contracts, p.key, &p.sm2, p.gateway)
    };
    let both = [node(&guest), node(&host)];
    let [guest_node, host_node] = &both;
    let hospital = table(0..569, 0..10, true);
    // The lab's table has missing values (empty cells): trees and binning give them a bin.
    let mut lab: Vec<String> = table(50..569, 10..30, false).lines().map(str::to_owned).collect();
    for line in lab.iter_mut().skip(1).step_by(17) {
        let mut cells: Vec<&str> = line.split(',').collect();
        cells[2] = "";
        *line = cells.join(",");
    }
    let lab = lab.join("\n") + "\n";
    register_and_import(&guest, guest_node, dir.path(), "hospital", &hospital).await;
    register_and_import(&host, host_node, dir.path(), "lab", &lab).await;
    let (a, b) = (&guest.gov, &host.gov);
    let datasets = ["hospital", "lab"];
    let (psi, status) = run_kind(a, b, "psi", &datasets, r#"{"protocol":"ecdh","reveal":"both"}"#).await;
    assert_eq!(status, 4);

    // Binning: each party's WOE/IV; the hospital learns the lab's IVs by index only.
    let (bins, status) = run_kind(
        a,
        b,
        "binning",
        &datasets,
        &format!(r#"{{"label":"diagnosis","psi_job":{psi},"bins":8,"reveal":"iv"}}"#),
    )
    .await;
    assert_eq!(status, 4, "{}", failure_reason(&both, bins).await);
    let (_, host_bins) = get_when_ready(host_node, &format!("/jobs/{bins}/result")).await;
    let host_bins: serde_json::Value = serde_json::from_str(&host_bins).unwrap();
    assert_eq!(host_bins["columns"].as_array().unwrap().len(), 20);
    assert!(host_bins["columns"][0]["iv"].as_f64().unwrap() > 0.1, "breast-cancer features are informative");
    let (_, guest_bins) = get_when_ready(guest_node, &format!("/jobs/{bins}/result")).await;
    let guest_bins: serde_json::Value = serde_json::from_str(&guest_bins).unwrap();
    assert_eq!(guest_bins["host_ivs"][0].as_array().unwrap().len(), 20);
    assert_eq!(guest_bins["host_ivs"][0][0], host_bins["columns"][0]["iv"]);
    assert!(!guest_bins.to_string().contains("f10"), "the guest never sees the lab's column names");
    let (status, csv) = get_when_ready(host_node, &format!("/jobs/{bins}/report/woe.csv")).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("feature,bin,interval,") && csv.contains("missing"), "{csv}");
    assert_eq!(http(host_node, "GET", &format!("/jobs/{bins}/report/iv.png"), None).0, 200);

    // SecureBoost on the binning job's edges, 30% held out, early stopping.
    let params = format!(
        r#"{{"label":"diagnosis","psi_job":{psi},"binning_job":{bins},"trees":12,"max_depth":3,"min_child_rows":10,"validation_fraction":0.3,"early_stopping_patience":3,"seed":5,"online_serving":true,"publish":["metrics.auc","trees"]}}"#
    );
    let (trees, status) = run_kind(a, b, "secureboost", &datasets, &params).await;
    assert_eq!(status, 4, "{}", failure_reason(&both, trees).await);
    let (_, view) = get_when_ready(guest_node, &format!("/jobs/{trees}")).await;
    let summary = serde_json::from_str::<serde_json::Value>(&view).unwrap()["summary"].clone();
    let auc = summary["metrics"]["auc"].as_f64().unwrap();
    assert!(auc > 0.95, "hold-out AUC {auc}");
    let public: serde_json::Value = serde_json::from_str(&participant_report(a, trees, 3).await.text).unwrap();
    assert_eq!(public["metrics"]["auc"].as_f64(), Some(auc));
    let (_, host_model) = get_when_ready(host_node, &format!("/jobs/{trees}/result")).await;
    let host_model: serde_json::Value = serde_json::from_str(&host_model).unwrap();
    assert_eq!(host_model["model"]["role"], "host");
    let (_, guest_model) = get_when_ready(guest_node, &format!("/jobs/{trees}/result")).await;
    let guest_model: serde_json::Value = serde_json::from_str(&guest_model).unwrap();
    let nodes: Vec<&serde_json::Value> =
        guest_model["model"]["trees"].as_array().unwrap().iter().flat_map(|t| t["nodes"].as_array().unwrap()).collect();
    assert!(nodes.iter().any(|n| n["type"] == "host"), "the lab's features were used");
    assert!(
        nodes
            .iter()
            .filter(|n| n["type"] == "host")
            .all(|n| n.get("feature").is_none() && n.get("threshold_bin").is_none())
    );
    for name in ["roc.png", "loss.png", "importance.png", "importance.csv"] {
        assert_eq!(http(guest_node, "GET", &format!("/jobs/{trees}/report/{name}"), None).0, 200, "{name}");
    }
    let (_, importance) = http(host_node, "GET", &format!("/jobs/{trees}/report/importance.csv"), None);
    assert!(importance.starts_with("feature,splits,gain\nf"), "{importance}");

    // Prediction with the tree model.
    let (predict, status) =
        run_kind(a, b, "predict", &datasets, &format!(r#"{{"model_job":{trees},"psi_job":{psi}}}"#)).await;
    assert_eq!(status, 4, "{}", failure_reason(&both, predict).await);
    let (_, scores) = get_when_ready(guest_node, &format!("/jobs/{predict}/result")).await;
    assert_eq!(scores.lines().count(), 520);
    let (_, view) = http(guest_node, "GET", &format!("/jobs/{predict}"), None);
    let summary = serde_json::from_str::<serde_json::Value>(&view).unwrap()["summary"].clone();
    assert!(summary["metrics"]["auc"].as_f64().unwrap() > 0.95, "{summary}");

    // Online: the lab's node answers the routing of its own splits; the scores
    // equal the predict job's, and ids outside the training rows are refused.
    let body = r#"{"ids":["patient-0100","patient-0057"]}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, online) = loop {
        let (status, online) = http(guest_node, "POST", &format!("/models/{trees}/predict"), Some(body));
        if status != 503 || Instant::now() > deadline {
            break (status, online);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "{online}");
    let online: serde_json::Value = serde_json::from_str(&online).unwrap();
    for (i, id) in ["patient-0100", "patient-0057"].into_iter().enumerate() {
        let row = scores.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap();
        let batch_score: f64 = row.split(',').nth(1).unwrap().parse().unwrap();
        assert!((online["predictions"][i]["score"].as_f64().unwrap() - batch_score).abs() < 1e-5, "{online} vs {row}");
    }
    let (status, body) =
        http(guest_node, "POST", &format!("/models/{trees}/predict"), Some(r#"{"ids":["patient-0010"]}"#));
    assert_eq!(status, 400);
    assert!(body.contains("refused: the request names ids outside the rows the model was trained on"), "{body}");

    // Bad input: a binning result is not a model; too few rows per child.
    let (id, status) = run_kind(a, b, "predict", &datasets, &format!(r#"{{"model_job":{bins}}}"#)).await;
    assert_eq!(status, 5);
    let reason = failure_reason(&both, id).await;
    assert!(reason.contains(&format!("job {bins} is a 'binning' job, not vertical-lr or secureboost")), "{reason}");
    let (id, status) = run_kind(
        a,
        b,
        "secureboost",
        &datasets,
        &format!(r#"{{"label":"diagnosis","psi_job":{psi},"min_child_rows":400}}"#),
    )
    .await;
    assert_eq!(status, 5);
    let reason = failure_reason(&both, id).await;
    assert!(reason.contains("cannot make two children of min_child_rows 400"), "{reason}");
}

/// Nodes that require certificates run jobs only between certified members,
/// and a revocation on chain stops the next job: the nodes follow the chain and
/// their gateways refuse the revoked member.
#[tokio::test(flavor = "multi_thread")]
async fn certified_nodes_run_jobs_and_a_revocation_on_chain_stops_the_next_one() {
    use wefe_chain::bindings::CertificateRegistry;
    use wefe_crypto::cert;
    use wefe_crypto::sm::Sm2KeyPair;

    let anvil = Anvil::spawn().unwrap();
    let (admin, contracts) = deploy(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let parties = [join(&anvil, &admin, contracts, 3).await, join(&anvil, &admin, contracts, 4).await];

    // The admin's account becomes the certificate authority and publishes its root.
    let appoint = Consortium::proposeCall { kind: 7, target: signer(0).address(), value: U256::ZERO };
    admin.send(Target::Consortium, appoint).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let ca = Sm2KeyPair::generate().unwrap();
    let root = cert::create_root(&ca, "Test Root CA", now - 3600, now + 86_400).unwrap();
    let publish = CertificateRegistry::setAuthorityRootCall {
        certificateHash: B256::from(root.hash()),
        publicKey: root.public_key.to_xy().to_vec().into(),
    };
    admin.send(Target::CertificateRegistry, publish).await.unwrap();

    let mut nodes = Vec::new();
    let mut certificate_ids = Vec::new();
    for (i, party) in parties.iter().enumerate() {
        let key = Sm2KeyPair::from_pkcs8_pem(&party.sm2.to_pkcs8_pem().unwrap()).unwrap();
        let csr =
            cert::create_csr(&key, &format!("bank {}", party.key), &signer(party.key).address().into_array()).unwrap();
        let request = CertificateRegistry::requestCall { csrHash: B256::from(csr.hash()) };
        party.gov.send(Target::CertificateRegistry, request).await.unwrap();
        let id = U256::from(i + 1);
        let serial = cert::random_serial().unwrap();
        let issued = cert::issue(&ca, &root, &csr, serial, now - 60, now + 3600).unwrap();
        let issue = CertificateRegistry::issueCall {
            certificateId: id,
            certificateHash: B256::from(issued.hash()),
            serial: U256::from(serial),
            notBefore: issued.not_before,
            notAfter: issued.not_after,
            uri: String::new(),
        };
        admin.send(Target::CertificateRegistry, issue).await.unwrap();
        certificate_ids.push(id);

        let node_dir = dir.path().join(format!("node-{}", party.key));
        std::fs::create_dir_all(&node_dir).unwrap();
        std::fs::write(node_dir.join("member.pem"), issued.to_pem().unwrap()).unwrap();
        let node = start_node_with(
            &node_dir,
            &anvil,
            contracts,
            party.key,
            &party.sm2,
            party.gateway,
            "certificate = \"member.pem\"\nrequire_peer_certificates = true\n",
        );
        let csv: String = std::iter::once("id,segment\n".to_owned())
            .chain((0..300).map(|r| format!("c{}-{r},x\n", r % (2 + i))))
            .collect();
        register_and_import(party, &node, dir.path(), &format!("certified-{i}"), &csv).await;
        nodes.push(node);
    }
    let (a, b) = (&parties[0].gov, &parties[1].gov);
    let datasets = ["certified-0", "certified-1"];
    run_job(a, b, &datasets, r#"{"protocol":"ecdh"}"#).await;

    // The authority revokes Bank 4's certificate; the next job fails on it.
    let revoke =
        CertificateRegistry::revokeCall { certificateId: certificate_ids[1], reasonCode: 1, reason: "test".into() };
    admin.send(Target::CertificateRegistry, revoke).await.unwrap();
    let (id, status) = run_kind(a, b, "psi", &datasets, r#"{"protocol":"ecdh"}"#).await;
    assert_eq!(status, 5, "job {id} ran with a revoked certificate");
    let reason = failure_reason(&nodes, id).await;
    assert!(reason.contains("revoked on chain"), "{reason}");
}

/// A job whose run deadline block passes before the participants complete is
/// closed on chain as timed out by the nodes themselves, and each node's job
/// view says why; nothing is left running.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_close_a_job_whose_run_deadline_passed_as_timed_out() {
    let anvil = Anvil::spawn().unwrap();
    let (admin, contracts) = deploy(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let parties = [join(&anvil, &admin, contracts, 3).await, join(&anvil, &admin, contracts, 4).await];
    let mut nodes = Vec::new();
    for (i, party) in parties.iter().enumerate() {
        let node = start_node(
            &dir.path().join(format!("node-{}", party.key)),
            &anvil,
            contracts,
            party.key,
            &party.sm2,
            party.gateway,
        );
        let csv: String =
            std::iter::once("id\n".to_owned()).chain((0..500).map(|r| format!("id-{}\n", r * (i + 1)))).collect();
        register_and_import(party, &node, dir.path(), &format!("ids-{i}"), &csv).await;
        nodes.push(node);
    }
    let (a, b) = (&parties[0].gov, &parties[1].gov);
    // Two blocks to run in, and the chain moves on at once (another member's
    // transactions, here mined empty blocks).
    let head = a.backend().head_block().await.unwrap();
    let propose = JobRegistry::proposeCall {
        kind: "psi".into(),
        participants: vec![signer(3).address(), signer(4).address()],
        datasets: vec![dataset("ids-0", 3), dataset("ids-1", 4)],
        params: "{}".into(),
        deadlineBlock: head + 100,
        runBlocks: 2,
    };
    send_retrying(a, Target::JobRegistry, propose).await;
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    send_retrying(a, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    send_retrying(b, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(anvil.url().parse().unwrap());
    alloy::providers::Provider::raw_request::<_, serde_json::Value>(&provider, "anvil_mine".into(), ("0xa",))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while job_status(a, id).await != 9 {
        assert!(Instant::now() < deadline, "job {id} was not closed as timed out: {}", job_status(a, id).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reasons = failure_reason(&nodes, id).await;
    assert_eq!(reasons.matches("\"Timeout\"").count(), 2, "{reasons}");
    assert!(reasons.contains("run deadline"), "{reasons}");
    // Nothing was completed on chain, and the nodes' results are not served.
    for (node, key) in nodes.iter().zip([3, 4]) {
        assert_ne!(participant_report(a, id, key).await.state, 5);
        assert_eq!(http(node, "GET", &format!("/jobs/{id}/result"), None).0, 409);
    }
}
