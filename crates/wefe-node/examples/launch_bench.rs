//! `launch-latency-history`: how long a node takes from recording an
//! approved job (what the listener does on `JobApproved`) to starting it
//! (claimed, `reportStarted` sent), with 10 000 finished jobs in its store
//! and with none. A scheduler round must not grow with the history.
//!
//! One process: anvil (the chain the scheduler reads its head from and sends
//! `reportStarted` to), a SQLite store, an in-memory network. Prints one JSON
//! line per history size: p50 / p99 / max of `--runs` launches.
//!
//! `cargo run --example launch_bench -- --history 0 --history 10000 --runs 30`

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wefe_chain::anvil::{Anvil, DEV_KEYS};
use wefe_chain::{ContractAddresses, EthereumBackend, Governance};
use wefe_core::{MemoryNetwork, MemoryTransport, PeerId};
use wefe_node::scheduler::{JobInputs, JobNetwork, Scheduler, SchedulerConfig, status};
use wefe_store::{JobRecord, JobUpdate, NewJob, Store};

/// Jobs' transports on one in-memory network (the peer never answers: each
/// launched job waits until the scheduler shuts down).
struct Network(MemoryNetwork, PeerId);

impl JobNetwork for Network {
    type Transport = MemoryTransport;
    fn transport(&self, _job_id: u64, _participants: &[PeerId]) -> Result<MemoryTransport> {
        Ok(self.0.endpoint(self.1))
    }
}

struct Ids;

impl JobInputs for Ids {
    async fn ids(&self, _job: &JobRecord) -> Result<Vec<Vec<u8>>> {
        Ok(vec![b"a".to_vec()])
    }
}

fn job(id: u64, participants: &str) -> NewJob {
    NewJob {
        job_id: id,
        kind: "psi".into(),
        params: "{}".into(),
        participants: participants.to_owned(),
        datasets: "[]".into(),
        dataset_digests: "[]".into(),
        approved_block: 1,
        // Far in the future: only the launch is measured.
        run_deadline_block: 1 << 40,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let mut histories = Vec::new();
    let mut runs = 30usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--history" => histories.push(value.parse::<u64>().context("--history")?),
            "--runs" => runs = value.parse().context("--runs")?,
            other => anyhow::bail!("unknown argument {other} (--history N, --runs N)"),
        }
    }
    if histories.is_empty() {
        histories = vec![0, 10_000];
    }
    let anvil = Anvil::spawn()?;
    let signer: alloy::signers::local::PrivateKeySigner = DEV_KEYS[3].parse()?;
    let member = signer.address();
    let peer = alloy::primitives::Address::from([0x42; 20]);
    let participants = serde_json::to_string(&[member, peer])?;
    for &history in &histories {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display())).await?;
        // The history: finished jobs, as a node accumulates them.
        let mut tx = store.begin().await?;
        for id in 1..=history {
            Store::insert_job(&mut tx, &job(id, &participants)).await?;
        }
        tx.commit().await?;
        for id in 1..=history {
            let done = if id % 3 == 0 { status::FAILED } else { status::COMPLETED };
            let update = JobUpdate { status: done, progress: 1.0, ..JobUpdate::default() };
            store.update_job(id, &update).await?;
        }
        let backend =
            EthereumBackend::connect(&anvil.url(), Some(31337), Some(signer.clone()), Duration::from_secs(30)).await?;
        let contracts = ContractAddresses {
            consortium: alloy::primitives::Address::from([1; 20]),
            certificate_registry: alloy::primitives::Address::from([2; 20]),
            data_registry: alloy::primitives::Address::from([3; 20]),
            job_registry: alloy::primitives::Address::from([4; 20]),
            deployed_block: 0,
        };
        let network = MemoryNetwork::new(1 << 20);
        let _peer_endpoint = network.endpoint(PeerId::from_bytes(peer.into_array()));
        let scheduler = Scheduler::new(
            Governance::new(backend, contracts),
            store.clone(),
            Network(network, PeerId::from_bytes(member.into_array())),
            Ids,
            SchedulerConfig {
                member,
                results_dir: dir.path().join("results"),
                max_concurrent_jobs: runs + 1,
                job_timeout: Duration::from_secs(3600),
            },
        );
        // One warm-up round (connections, statements).
        scheduler.launch_ready().await?;
        let mut latencies = Vec::with_capacity(runs);
        for run in 0..runs as u64 {
            let id = history + 1 + run;
            let mut tx = store.begin().await?;
            Store::insert_job(&mut tx, &job(id, &participants)).await?;
            tx.commit().await?;
            let recorded = Instant::now();
            scheduler.launch_ready().await?;
            loop {
                let record = store.job(id).await?.context("the job vanished")?;
                if record.status == status::RUNNING {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            latencies.push(recorded.elapsed().as_secs_f64() * 1000.0);
        }
        scheduler.shutdown(Duration::from_secs(30)).await;
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
        let round = |x: f64| (x * 100.0).round() / 100.0;
        println!(
            "{}",
            serde_json::json!({
                "case": "launch-latency-history",
                "finished_jobs": history,
                "runs": runs,
                "p50_ms": round(at(0.5)),
                "p99_ms": round(at(0.99)),
                "max_ms": round(*latencies.last().unwrap_or(&0.0)),
            })
        );
        store.close().await;
    }
    Ok(())
}
