//! The node against a real anvil: a `kill -9` while events arrive loses and
//! doubles nothing, and a reorg rewinds the index to the new chain.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::bindings::{Consortium, JobRegistry};
use wefe_chain::{ChainBackend, ContractAddresses, EthereumBackend, Governance, LogQuery, Target};
use wefe_node::listener::{Listener, Step};
use wefe_store::Store;

#[path = "../common/mod.rs"]
mod common;
use common::{as_key, propose_and_approve, signer, write_chain_config};

/// Deploys (one admin, threshold 1) and onboards members 3 (A) and 4 (B).
async fn consortium(anvil: &Anvil) -> ContractAddresses {
    let backend =
        EthereumBackend::connect(&anvil.url(), Some(31337), Some(signer(0)), Duration::from_secs(10)).await.unwrap();
    let (admin, deployed) = Governance::deploy(backend, vec![signer(0).address()], 1).await.unwrap();
    for key in [3, 4] {
        let member = as_key(anvil, key, deployed.addresses).await;
        let call = Consortium::applyForMembershipCall {
            name: format!("member {key}"),
            endpoint: "http://127.0.0.1:1".into(),
            publicKey: vec![key as u8; 64].into(),
        };
        member.send(Target::Consortium, call).await.unwrap();
        let approve = Consortium::proposeCall { kind: 0, target: signer(key).address(), value: U256::from(1) };
        admin.send(Target::Consortium, approve).await.unwrap();
        common::set_operator(&member, key).await;
    }
    deployed.addresses
}

/// A proposes a job for A and B; both approve it.
async fn approved_job(a: &Governance<EthereumBackend>, b: &Governance<EthereumBackend>, kind: &str) -> u64 {
    approved_job_with(a, b, kind, r#"{"protocol":"ecdh"}"#).await
}

async fn approved_job_with(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    kind: &str,
    params: &str,
) -> u64 {
    propose_and_approve(a, b, kind, &[], params, 1000).await.to::<u64>()
}

/// A proposes (A and B, no datasets) with params that are these raw bytes, not
/// necessarily UTF-8; both approve it.
async fn approved_job_with_raw_params(
    a: &Governance<EthereumBackend>,
    b: &Governance<EthereumBackend>,
    raw: &[u8],
) -> u64 {
    use alloy::sol_types::SolCall;
    let marker = "\u{1}".repeat(raw.len());
    let head = a.backend().head_block().await.unwrap();
    let call = JobRegistry::proposeCall {
        kind: "psi".into(),
        participants: vec![signer(3).address(), signer(4).address()],
        datasets: vec![],
        params: marker.clone(),
        deadlineBlock: head + 1000,
        runBlocks: 5000,
    };
    let mut input = call.abi_encode();
    let at = input.windows(raw.len()).rposition(|w| w == marker.as_bytes()).unwrap();
    input[at..at + raw.len()].copy_from_slice(raw);
    a.backend().send(Some(a.contracts().job_registry), input.into()).await.unwrap();
    let id = a.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await.unwrap();
    common::send_retrying(a, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    common::send_retrying(b, Target::JobRegistry, JobRegistry::approveCall { jobId: id }).await;
    id.to::<u64>()
}

/// (block, log index, tx hash) of every log of the four contracts.
async fn chain_logs(gov: &Governance<EthereumBackend>) -> Vec<(u64, u64, String)> {
    let head = gov.backend().head_block().await.unwrap();
    chain_logs_upto(gov, head).await
}

/// The same, up to block `head`.
async fn chain_logs_upto(gov: &Governance<EthereumBackend>, head: u64) -> Vec<(u64, u64, String)> {
    let c = gov.contracts();
    let logs = gov
        .backend()
        .logs(&LogQuery {
            addresses: vec![c.consortium, c.certificate_registry, c.data_registry, c.job_registry],
            from_block: c.deployed_block,
            to_block: head,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    let mut out: Vec<_> = logs.iter().map(|l| (l.block_number, l.log_index, l.tx_hash.to_string())).collect();
    out.sort();
    out
}

async fn indexed(store: &Store) -> Vec<(u64, u64, String)> {
    store
        .events(0, u64::MAX, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.block_number, e.log_index, e.tx_hash))
        .collect()
}

fn write_node_config(dir: &Path, anvil: &Anvil, contracts: ContractAddresses, member: Address) -> std::path::PathBuf {
    write_chain_config(dir, anvil, contracts);
    let party = dir.join("party.toml");
    let pem = wefe_gateway::MemberKey::generate().unwrap().to_pkcs8_pem().unwrap();
    std::fs::write(dir.join("sm2.pem"), pem.as_bytes()).unwrap();
    // The node refuses key files that others can read.
    std::fs::set_permissions(dir.join("sm2.pem"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::write(
        &party,
        format!(
            "name = \"bank-a\"\nmember = \"{member}\"\nchain_config = \"chain.toml\"\ndata_dir = \"data\"\n\
             poll_interval_ms = 50\nlog_chunk_blocks = 4\nsm2_key = \"sm2.pem\"\n\
             gateway_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    party
}

fn start_node(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wefe-node"))
        .args(["run", "--config"])
        .arg(config)
        .env("WEFE_LOG", "warn")
        .env("WEFE_OPERATOR_KEY", DEV_KEYS[common::operator_of(3)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wefe-node starts")
}

/// Waits until the node's cursor reaches the chain head.
async fn wait_caught_up(store_path: &Path, head: u64) -> Store {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if store_path.exists() {
            let store = Store::open(&format!("sqlite://{}", store_path.display())).await.unwrap();
            if store.cursor(wefe_node::listener::CURSOR).await.unwrap().is_some_and(|c| c.block_number >= head) {
                return store;
            }
            store.close().await;
        }
        assert!(Instant::now() < deadline, "the node did not catch up with block {head}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_events_arrive_loses_and_doubles_nothing() {
    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let config = write_node_config(dir.path(), &anvil, contracts, signer(3).address());

    let mut node = start_node(&config);
    let mut approved = BTreeSet::new();
    for _ in 0..6 {
        approved.insert(approved_job(&a, &b, "psi").await);
    }
    // Crash mid-stream: no shutdown, no flush.
    node.kill().unwrap();
    node.wait().unwrap();
    for _ in 0..6 {
        approved.insert(approved_job(&a, &b, "psi").await);
    }
    let mut node = start_node(&config);
    for _ in 0..3 {
        approved.insert(approved_job(&a, &b, "psi").await);
    }
    let head = a.backend().head_block().await.unwrap();
    let store = wait_caught_up(&dir.path().join("data/store.db"), head).await;
    node.kill().unwrap();
    node.wait().unwrap();

    let jobs: BTreeSet<u64> = store.jobs().await.unwrap().iter().map(|j| j.job.job_id).collect();
    assert_eq!(jobs, approved, "every approved job naming the member, exactly once");
    assert_eq!(store.jobs().await.unwrap().len(), approved.len());
    // The node keeps working (its jobs have no local dataset and fail on chain):
    // compare up to where it stopped.
    let cursor = store.cursor(wefe_node::listener::CURSOR).await.unwrap().unwrap();
    assert_eq!(
        indexed(&store).await,
        chain_logs_upto(&a, cursor.block_number).await,
        "the audit index equals the chain's log"
    );
    // The node launched each job and, having no dataset for it, reported the failure.
    let timeline: Vec<String> = store.job_events(1).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(timeline[..4], ["JobProposed", "JobApprovalGiven", "JobApprovalGiven", "JobApproved"]);
    // (or, if the kill landed while it ran, the restart failed it).
    let failed = store.job(1).await.unwrap().unwrap();
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("none of the job's datasets") || error.contains("restarted while the job was running"),
        "{:?}: {error}",
        failed.status
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_rewinds_the_index_and_forgets_unstarted_jobs() {
    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await.unwrap();
    let listener = Listener::new(as_key(&anvil, 3, contracts).await, store.clone(), signer(3).address(), 0, 3);
    let catch_up = async || {
        let mut rewound = false;
        loop {
            match listener.step().await.unwrap() {
                Step::CaughtUp { .. } => return rewound,
                Step::Rewound { .. } => rewound = true,
                Step::Applied { .. } => {}
            }
        }
    };

    assert_eq!(approved_job(&a, &b, "psi").await, 1);
    assert!(!catch_up().await);
    let raw = ProviderBuilder::new().connect_http(anvil.url().parse().unwrap());
    let snapshot: U256 = raw.raw_request("evm_snapshot".into(), ()).await.unwrap();

    // Job 2 is approved and indexed ...
    assert_eq!(approved_job(&a, &b, "psi").await, 2);
    assert!(!catch_up().await);
    assert_eq!(store.job(2).await.unwrap().unwrap().job.kind, "psi");

    // ... then the chain forgets it and approves a different job 2, on a longer fork.
    let reverted: bool = raw.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);
    assert_eq!(approved_job(&a, &b, "vertical-lr").await, 2);
    let _: String = raw.raw_request("evm_mine".into(), ()).await.unwrap();
    assert!(catch_up().await, "the follower noticed the reorg");

    assert_eq!(indexed(&store).await, chain_logs(&a).await, "the index follows the new chain");
    assert_eq!(store.job(2).await.unwrap().unwrap().job.kind, "vertical-lr");
    assert_eq!(store.jobs().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let party = dir.path().join("party.toml");
    let rest = "sm2_key = \"k.pem\"\ngateway_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n";
    std::fs::write(
        &party,
        format!("name = \"x\"\nmember = \"0x12\"\nchain_config = \"c.toml\"\ndata_dir = \"d\"\n{rest}"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wefe-node")).args(["run", "--config"]).arg(&party).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("party.toml") && stderr.contains("line 2 (member"), "{stderr}");

    std::fs::write(
        &party,
        format!(
            "name = \"x\"\nmember = \"0x0000000000000000000000000000000000000001\"\nchain_config = \"missing.toml\"\n\
             data_dir = \"d\"\n{rest}"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wefe-node")).args(["run", "--config"]).arg(&party).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.toml") && stderr.contains("cannot read"), "{stderr}");
}

/// The node signs its reports with the operator key its member authorised on
/// chain, never with the member's governance key: both mistakes are refused
/// at start, in one line saying what to do.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_runs_only_with_its_members_operator_key() {
    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_node_config(dir.path(), &anvil, contracts, signer(3).address());
    let run = |key: &str| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_wefe-node"))
            .args(["run", "--config"])
            .arg(&config)
            .env("WEFE_OPERATOR_KEY", key)
            .env("WEFE_LOG", "error")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        stderr
    };
    let governance = run(DEV_KEYS[3]);
    assert!(governance.contains("refusing to run with the governance key of member"), "{governance}");
    let stranger = run(DEV_KEYS[9]);
    assert!(
        stranger.contains(&format!("is not the operator key of member {}", signer(3).address()))
            && stranger.contains(&format!("its operator is {}", signer(common::operator_of(3)).address()))
            && stranger.contains("wefe member set-operator"),
        "{stranger}"
    );
    assert!(!stranger.contains(&DEV_KEYS[9][2..]), "a private key leaked");
}

type Nets = std::collections::HashMap<
    u64,
    (wefe_core::transport::memory::MemoryNetwork, Vec<wefe_core::transport::memory::MemoryTransport>),
>;

/// One in-memory network per job, shared by the parties of this test. Every
/// party joins a job's network when it is first used (as a gateway accepts
/// messages for jobs its node has not started yet).
#[derive(Clone, Default)]
struct TestNetwork {
    nets: std::sync::Arc<std::sync::Mutex<Nets>>,
}

struct PartyNetwork {
    shared: TestNetwork,
    me: Address,
}

impl wefe_node::scheduler::JobNetwork for PartyNetwork {
    type Transport = wefe_core::transport::memory::MemoryTransport;
    fn transport(&self, job_id: u64, _participants: &[wefe_core::PeerId]) -> anyhow::Result<Self::Transport> {
        let mut nets = self.shared.nets.lock().unwrap();
        let (net, _joined) = nets.entry(job_id).or_insert_with(|| {
            let net = wefe_core::transport::memory::MemoryNetwork::new(64 << 20);
            let joined = [3, 4]
                .iter()
                .map(|k| net.endpoint(wefe_core::PeerId::from_bytes(signer(*k).address().into_array())))
                .collect();
            (net, joined)
        });
        Ok(net.endpoint(wefe_core::PeerId::from_bytes(self.me.into_array())))
    }
}

struct Ids(Vec<Vec<u8>>);

impl wefe_node::scheduler::JobInputs for Ids {
    async fn ids(&self, _job: &wefe_store::JobRecord) -> anyhow::Result<Vec<Vec<u8>>> {
        Ok(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_jobs_launch_themselves_and_report_on_chain() {
    use wefe_node::scheduler::{Scheduler, SchedulerConfig, status};
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();

    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let network = TestNetwork::default();
    let a_ids: Vec<Vec<u8>> = (0..300).map(|i| format!("c-{i}").into_bytes()).collect();
    let b_ids: Vec<Vec<u8>> = (200..450).map(|i| format!("c-{i}").into_bytes()).collect();
    let mut expected: Vec<Vec<u8>> = (200..300).map(|i| format!("c-{i}").into_bytes()).collect();
    expected.sort();

    let mut parties = Vec::new();
    for (key, ids) in [(3, a_ids), (4, b_ids)] {
        let me = signer(key).address();
        let store = Store::open(&format!("sqlite://{}/{key}/store.db", dir.path().display())).await.unwrap();
        let listener = Listener::new(as_key(&anvil, key, contracts).await, store.clone(), me, 0, 100);
        let config = SchedulerConfig {
            member: me,
            results_dir: dir.path().join(format!("{key}/results")),
            max_concurrent_jobs: 2,
            job_timeout: Duration::from_secs(60),
        };
        let network = PartyNetwork { shared: network.clone(), me };
        let scheduler = Scheduler::new(as_key(&anvil, key, contracts).await, store.clone(), network, Ids(ids), config);
        parties.push((store, listener, scheduler));
    }

    // A good job and, at the same time, one whose params no node accepts, and
    // one whose params are not even text (no node can read them as the
    // contract hashed them): each fails, and the follower carries on.
    let good = approved_job(&a, &b, "psi").await;
    let bad = approved_job_with(&a, &b, "psi", r#"{"protocol":"rr22"}"#).await;
    let unreadable = approved_job_with_raw_params(&a, &b, &[0xff, 0xfe, b'{', b'}']).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (_, listener, scheduler) in &parties {
            while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
            scheduler.launch_ready().await.unwrap();
        }
        let mut done = true;
        for (store, _, _) in &parties {
            for id in [good, bad, unreadable] {
                let status = store.job(id).await.unwrap().map(|j| j.status).unwrap_or_default();
                done &= status == status::COMPLETED || status == status::FAILED;
            }
        }
        if done {
            break;
        }
        if Instant::now() > deadline {
            let mut states = Vec::new();
            for (store, _, _) in &parties {
                for id in [good, bad] {
                    let j = store.job(id).await.unwrap();
                    states.push(format!("{id}: {:?}", j.map(|j| (j.status, j.progress, j.error))));
                }
            }
            panic!("jobs did not finish: {states:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for (store, _, _) in &parties {
        let job = store.job(good).await.unwrap().unwrap();
        assert_eq!(job.status, status::COMPLETED, "{:?}", job.error);
        let bytes = std::fs::read(job.result_path.as_deref().unwrap()).unwrap();
        let mut lines: Vec<Vec<u8>> =
            bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
        assert_eq!(lines.remove(0), b"id");
        assert_eq!(lines, expected);
        let failed = store.job(bad).await.unwrap().unwrap();
        assert_eq!(failed.status, status::FAILED);
        let error = failed.error.unwrap();
        assert!(error.contains("unknown variant `rr22`"), "{error}");
        let unread = store.job(unreadable).await.unwrap().unwrap();
        assert_eq!((unread.status.as_str(), unread.failure_category.as_deref()), (status::FAILED, Some("InvalidJob")));
        assert!(unread.error.unwrap().contains("could not be read from its proposal"));
    }
    assert_eq!(
        a.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: U256::from(unreadable) }).await.unwrap(),
        5
    );

    // The chain agrees: completed with each party's commitment (and nothing
    // published: the params list no summary field); the bad job failed.
    assert_eq!(a.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: U256::from(good) }).await.unwrap(), 4);
    assert_eq!(a.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: U256::from(bad) }).await.unwrap(), 5);
    for (key, (store, _, _)) in [3usize, 4].iter().zip(&parties) {
        let report = report_of(&a, good, *key).await;
        let stored = store.job(good).await.unwrap().unwrap();
        assert_eq!(Some(report.commitment.to_string()), stored.result_commitment);
        assert_eq!(report.text, "");
        assert_eq!(stored.summary.as_deref(), Some(r#"{"intersection_size":100,"protocol":"ecdh"}"#));
        // The artifact opens the commitment with the key written beside it.
        assert!(wefe_node::disclosure::read_committed(&stored).is_ok());
    }
}

/// Inputs that fail for one member (its dataset is "missing").
struct FailingFor(Address, Vec<Vec<u8>>);

impl wefe_node::scheduler::JobInputs for FailingFor {
    async fn ids(&self, _job: &wefe_store::JobRecord) -> anyhow::Result<Vec<Vec<u8>>> {
        anyhow::ensure!(self.0 != signer(4).address(), "no dataset here");
        Ok(self.1.clone())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_failure_ends_the_job_early_and_a_stored_result_survives_a_restart() {
    use wefe_node::scheduler::{Scheduler, SchedulerConfig, status};

    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let network = TestNetwork::default();
    let mut parties = Vec::new();
    for key in [3, 4] {
        let me = signer(key).address();
        let store = Store::open(&format!("sqlite://{}/{key}/store.db", dir.path().display())).await.unwrap();
        let listener = Listener::new(as_key(&anvil, key, contracts).await, store.clone(), me, 0, 100);
        let config = SchedulerConfig {
            member: me,
            results_dir: dir.path().join(format!("{key}/results")),
            max_concurrent_jobs: 2,
            job_timeout: Duration::from_secs(600),
        };
        let inputs = FailingFor(me, vec![b"x".to_vec()]);
        let scheduler = Scheduler::new(
            as_key(&anvil, key, contracts).await,
            store.clone(),
            PartyNetwork { shared: network.clone(), me },
            inputs,
            config,
        );
        parties.push((store, listener, scheduler));
    }

    // B cannot load its input and fails the job; A, waiting for B, stops well
    // before its 10-minute timeout.
    let job = approved_job(&a, &b, "psi").await;
    let started = Instant::now();
    loop {
        for (_, listener, scheduler) in &parties {
            while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
            scheduler.launch_ready().await.unwrap();
        }
        let a_job = parties[0].0.job(job).await.unwrap().unwrap();
        if a_job.status == status::FAILED {
            let error = a_job.error.unwrap();
            // Whichever A sees first: B leaving the job, or the chain closing it.
            assert!(error.contains("closed on chain (Failed)") || error.contains("closed the connection"), "{error}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "A kept waiting for a failed peer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A restart finds a job RUNNING with its result stored: it is reported, not failed.
    let second = approved_job(&a, &b, "psi").await;
    let (store, listener, scheduler) = &parties[0];
    while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
    assert!(store.transition_job(second, status::APPROVED, status::RUNNING).await.unwrap());
    let hash = format!("0x{}", "ab".repeat(32));
    store_result(store, second, status::RUNNING, &hash).await;
    assert!(scheduler.recover().await.unwrap().is_empty(), "nothing to fail");
    assert_eq!(store.job(second).await.unwrap().unwrap().status, status::COMPLETED);
    let report = report_of(&a, second, 3).await;
    assert_eq!((report.state, report.commitment.to_string()), (5, hash));

    // A report left pending (the chain node was down) is sent on the next round.
    let third = approved_job(&a, &b, "psi").await;
    while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
    assert!(store.transition_job(third, status::APPROVED, status::REPORT_PENDING).await.unwrap());
    let hash = format!("0x{}", "cd".repeat(32));
    store_result(store, third, status::REPORT_PENDING, &hash).await;
    scheduler.launch_ready().await.unwrap();
    assert_eq!(store.job(third).await.unwrap().unwrap().status, status::COMPLETED);
    let report = report_of(&a, third, 3).await;
    assert_eq!((report.state, report.commitment.to_string()), (5, hash));
}

/// Records a result for job `id` in `status`, as a node does before reporting it.
async fn store_result(store: &Store, id: u64, status: &str, hash: &str) {
    let recorded = wefe_store::JobUpdate {
        status,
        progress: 0.95,
        result_commitment: Some(hash),
        result_path: Some("/nonexistent/job.csv"),
        summary: Some(r#"{"intersection_size":0}"#),
        ..wefe_store::JobUpdate::default()
    };
    store.update_job(id, &recorded).await.unwrap();
}

/// What dev key `key` reported on chain for job `id`.
async fn report_of(gov: &Governance<EthereumBackend>, id: u64, key: usize) -> JobRegistry::ParticipantReport {
    gov.call(
        Target::JobRegistry,
        JobRegistry::participantReportCall { jobId: U256::from(id), participant: signer(key).address() },
    )
    .await
    .unwrap()
}

/// A guest's table of 8 rows (ids `a`..`h`, one feature, alternating labels).
struct GuestTable;

impl wefe_node::scheduler::JobInputs for GuestTable {
    async fn ids(&self, _job: &wefe_store::JobRecord) -> anyhow::Result<Vec<Vec<u8>>> {
        anyhow::bail!("a learning test")
    }

    async fn table(
        &self,
        _job: &wefe_store::JobRecord,
        _request: &wefe_node::scheduler::ColumnRequest,
    ) -> anyhow::Result<wefe_node::scheduler::NumericTable> {
        Ok(wefe_node::scheduler::NumericTable {
            dataset: "guest".into(),
            ids: (b'a'..=b'h').map(|c| vec![c]).collect(),
            names: vec!["x".into()],
            values: (0..8).map(f64::from).collect(),
            labels: Some((0..8).map(|i| f64::from(i % 2)).collect()),
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_learning_job_whose_peer_stops_answering_times_out() {
    use sha2::Digest;
    use wefe_core::Transport;
    use wefe_node::scheduler::{JobNetwork, Scheduler, SchedulerConfig, status};

    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let network = TestNetwork::default();
    let me = signer(3).address();
    let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await.unwrap();
    let listener = Listener::new(as_key(&anvil, 3, contracts).await, store.clone(), me, 0, 100);
    let config = SchedulerConfig {
        member: me,
        results_dir: dir.path().join("results"),
        max_concurrent_jobs: 1,
        job_timeout: Duration::from_secs(3),
    };
    let network_a = PartyNetwork { shared: network.clone(), me };
    let scheduler = Scheduler::new(as_key(&anvil, 3, contracts).await, store.clone(), network_a, GuestTable, config);
    let job = approved_job_with(&a, &b, "vertical-lr", r#"{"label":"y","epochs":1,"batch_size":4}"#).await;

    // B passes the row check, then never sends its first partial scores: the
    // guest blocks inside training, and still times out.
    let mut digest = sha2::Sha256::new();
    digest.update(b"wefe/align/v1");
    digest.update(job.to_be_bytes());
    for c in b'a'..=b'h' {
        digest.update(1u64.to_be_bytes());
        digest.update([c]);
    }
    let mut alignment = 8u64.to_be_bytes().to_vec();
    alignment.extend_from_slice(&digest.finalize());
    let b_net = PartyNetwork { shared: network.clone(), me: signer(4).address() }.transport(job, &[]).unwrap();
    b_net.send(&wefe_core::PeerId::from_bytes(me.into_array()), "ml/align/v1", alignment).await.unwrap();

    let started = Instant::now();
    loop {
        while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
        scheduler.launch_ready().await.unwrap();
        let record = store.job(job).await.unwrap().unwrap();
        if record.status == status::FAILED {
            assert!(record.error.unwrap().contains("timed out after 3s"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the blocked job never timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The store records the failure first, then the report is mined.
    let report = loop {
        let report = report_of(&a, job, 3).await;
        if report.state == 6 || started.elapsed() > Duration::from_secs(60) {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report.state, 6, "failed on chain");
    assert_eq!(report.failure, 5, "category Timeout");
    assert!(!report.commitment.is_zero(), "a commitment to the detail");
}

/// The node's shutdown stops a running job at its next message boundary (the
/// one cancellation path, as for a time limit) and fails it on chain as
/// `Interrupted`; a job a crashed node left running is failed the same way
/// by the next start.
#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_or_a_crash_fails_running_jobs_as_interrupted() {
    use wefe_node::scheduler::{Scheduler, SchedulerConfig, status};

    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let (a, b) = (as_key(&anvil, 3, contracts).await, as_key(&anvil, 4, contracts).await);
    let dir = tempfile::tempdir().unwrap();
    let network = TestNetwork::default();
    let me = signer(3).address();
    let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await.unwrap();
    let listener = Listener::new(as_key(&anvil, 3, contracts).await, store.clone(), me, 0, 100);
    let config = SchedulerConfig {
        member: me,
        results_dir: dir.path().join("results"),
        max_concurrent_jobs: 2,
        job_timeout: Duration::from_secs(600),
    };
    let scheduler = Scheduler::new(
        as_key(&anvil, 3, contracts).await,
        store.clone(),
        PartyNetwork { shared: network.clone(), me },
        GuestTable,
        config.clone(),
    );
    // B never answers: the guest waits for its row check.
    let job = approved_job_with(&a, &b, "vertical-lr", r#"{"label":"y","epochs":1,"batch_size":4}"#).await;
    let started = Instant::now();
    loop {
        while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
        scheduler.launch_ready().await.unwrap();
        if store.job(job).await.unwrap().unwrap().status == status::RUNNING {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the job never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopping = Instant::now();
    scheduler.shutdown(Duration::from_secs(30)).await;
    assert!(stopping.elapsed() < Duration::from_secs(10), "the shutdown waited {:?}", stopping.elapsed());
    let record = store.job(job).await.unwrap().unwrap();
    assert_eq!((record.status.as_str(), record.failure_category.as_deref()), (status::FAILED, Some("Interrupted")));
    assert!(record.error.unwrap().contains("shut down"));
    let report = report_of(&a, job, 3).await;
    assert_eq!((report.state, report.failure), (6, 9), "failed on chain as Interrupted");
    // No job is launched once shut down.
    assert!(scheduler.launch_ready().await.unwrap().is_empty());

    // A crash: the store says running, no process runs it. The next start
    // fails it as Interrupted too.
    let job = approved_job_with(&a, &b, "vertical-lr", r#"{"label":"y","epochs":1,"batch_size":4}"#).await;
    while !matches!(listener.step().await.unwrap(), Step::CaughtUp { .. }) {}
    assert!(store.transition_job(job, status::APPROVED, status::RUNNING).await.unwrap());
    let restarted = Scheduler::new(
        as_key(&anvil, 3, contracts).await,
        store.clone(),
        PartyNetwork { shared: network, me },
        GuestTable,
        config,
    );
    assert_eq!(restarted.recover().await.unwrap(), vec![job]);
    let record = store.job(job).await.unwrap().unwrap();
    assert_eq!(record.failure_category.as_deref(), Some("Interrupted"));
    assert!(record.error.unwrap().contains("restarted"));
    assert_eq!(report_of(&a, job, 3).await.failure, 9);
}

/// The gateway's view of certificates is the chain's: issued certificates and
/// the published roots of appointed authorities appear on a refresh, and a
/// revocation or a dismissal disappears on the next one (the node refreshes
/// after every block with contract events).
#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_directory_follows_certificates_and_authority_roots() {
    use alloy::primitives::B256;
    use wefe_chain::bindings::CertificateRegistry;
    use wefe_core::PeerId;
    use wefe_gateway::{CertificateRecord, PeerDirectory};
    use wefe_node::peers::ChainDirectory;

    let anvil = Anvil::spawn().unwrap();
    let contracts = consortium(&anvil).await;
    let admin = as_key(&anvil, 0, contracts).await;
    let ca = signer(0).address();
    let appoint = Consortium::proposeCall { kind: 7, target: ca, value: U256::ZERO };
    admin.send(Target::Consortium, appoint).await.unwrap();
    let root = wefe_crypto::sm::Sm2KeyPair::generate().unwrap().public_key().to_xy();
    let publish = CertificateRegistry::setAuthorityRootCall {
        certificateHash: B256::repeat_byte(0x0f),
        publicKey: root.to_vec().into(),
    };
    admin.send(Target::CertificateRegistry, publish).await.unwrap();
    let member = as_key(&anvil, 3, contracts).await;
    let request = CertificateRegistry::requestCall { csrHash: B256::repeat_byte(0xc5) };
    member.send(Target::CertificateRegistry, request).await.unwrap();
    let hash = B256::repeat_byte(0xce);
    let issue = CertificateRegistry::issueCall {
        certificateId: U256::from(1),
        certificateHash: hash,
        serial: U256::from(7),
        notBefore: 1,
        notAfter: 2,
        uri: String::new(),
    };
    admin.send(Target::CertificateRegistry, issue).await.unwrap();

    let directory = ChainDirectory::default();
    directory.refresh(&admin).await.unwrap();
    let record = CertificateRecord {
        member: PeerId::from_bytes(signer(3).address().into_array()),
        issuer: ca.into_array(),
        issued: true,
    };
    assert_eq!(directory.certificate(&hash.0), Some(record));
    assert_eq!(directory.authority_root(&ca.into_array()), Some(root));
    assert_eq!(directory.certificate(&[0xc5; 32]), None);

    let revoke =
        CertificateRegistry::revokeCall { certificateId: U256::from(1), reasonCode: 1, reason: "drill".into() };
    admin.send(Target::CertificateRegistry, revoke).await.unwrap();
    directory.refresh(&admin).await.unwrap();
    assert_eq!(directory.certificate(&hash.0), Some(CertificateRecord { issued: false, ..record }));

    let dismiss = Consortium::proposeCall { kind: 8, target: ca, value: U256::ZERO };
    admin.send(Target::Consortium, dismiss).await.unwrap();
    directory.refresh(&admin).await.unwrap();
    assert_eq!(directory.authority_root(&ca.into_array()), None);
}

/// Key and certificate files are checked before the chain is contacted, each
/// problem in one line: readable by others, encrypted without a password, a
/// wrong password, a certificate for another key, a malformed certificate.
#[tokio::test(flavor = "multi_thread")]
async fn bad_key_files_and_certificates_are_one_line() {
    use std::os::unix::fs::PermissionsExt;
    use wefe_crypto::sm::Sm2KeyPair;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chain.toml"),
        "[chain]\nrpc_url = \"http://127.0.0.1:9\"\nchain_id = 31337\n[contracts]\n\
         consortium = \"0x0000000000000000000000000000000000000001\"\n\
         certificate_registry = \"0x0000000000000000000000000000000000000002\"\n\
         data_registry = \"0x0000000000000000000000000000000000000003\"\n\
         job_registry = \"0x0000000000000000000000000000000000000004\"\ndeployed_block = 1\n",
    )
    .unwrap();
    let key = Sm2KeyPair::generate().unwrap();
    let other = Sm2KeyPair::generate().unwrap();
    let member = signer(3).address();
    let foreign = {
        let ca = Sm2KeyPair::generate().unwrap();
        let root = wefe_crypto::cert::create_root(&ca, "CA", 1, 4_000_000_000).unwrap();
        let csr = wefe_crypto::cert::create_csr(&other, "x", &member.into_array()).unwrap();
        wefe_crypto::cert::issue(&ca, &root, &csr, 1, 2, 3_000_000_000).unwrap()
    };
    std::fs::write(dir.path().join("foreign.pem"), foreign.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("junk.pem"), "-----BEGIN CERTIFICATE-----\n@@\n-----END CERTIFICATE-----\n")
        .unwrap();

    let run = |key_text: &str, mode: u32, extra: &str, env: &[(&str, &str)]| -> String {
        let key_path = dir.path().join("k.pem");
        let _ = std::fs::remove_file(&key_path);
        std::fs::write(&key_path, key_text).unwrap();
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(mode)).unwrap();
        let party = dir.path().join("party.toml");
        std::fs::write(
            &party,
            format!(
                "name = \"x\"\nmember = \"{member}\"\nchain_config = \"chain.toml\"\ndata_dir = \"d\"\n\
                 sm2_key = \"k.pem\"\ngateway_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n{extra}"
            ),
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wefe-node"));
        cmd.args(["run", "--config"])
            .arg(&party)
            .env("WEFE_OPERATOR_KEY", DEV_KEYS[common::operator_of(3)])
            .env_remove("WEFE_SM2_KEY_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "the node started: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        stderr
    };
    let plain = key.to_pkcs8_pem().unwrap();
    let encrypted = key.to_encrypted_pem(b"s3cret").unwrap();
    let err = run(&plain, 0o644, "", &[]);
    assert!(err.contains("chmod 600"), "{err}");
    let err = run(&encrypted, 0o600, "", &[]);
    assert!(err.contains("WEFE_SM2_KEY_PASSWORD"), "{err}");
    let err = run(&encrypted, 0o600, "", &[("WEFE_SM2_KEY_PASSWORD", "nope")]);
    assert!(err.contains("wrong password"), "{err}");
    let err = run(&encrypted, 0o600, "certificate = \"foreign.pem\"\n", &[("WEFE_SM2_KEY_PASSWORD", "s3cret")]);
    assert!(err.contains("certifies another key"), "{err}");
    let err = run(&plain, 0o600, "certificate = \"junk.pem\"\n", &[]);
    assert!(err.contains("junk.pem") && err.contains("malformed PEM"), "{err}");
    assert!(!err.contains(&hex::encode(key.secret_bytes().as_ref())));
}
