//! One epoch of vertical logistic regression between a guest and a host, each
//! a separate OS process with its own SM2-signing gateway, talking over
//! loopback gRPC as the nodes do. Prints one JSON line (see CONVENTIONS,
//! Benchmarks) with the wall time, each party's CPU seconds and peak memory,
//! the bytes each party sent and where each party's time went.
//!
//! ```text
//! cargo run -p wefe-node --example vertical_lr_bench -- \
//!     [--rows 100000] [--guest-features 10] [--host-features 20] [--batch 1024] [--case epoch-100k]
//! ```
//! (`scripts/bench.sh vertical-lr [--quick | --fate]` runs it.)
//!
//! Without `--role` the program is the driver: it starts itself twice
//! (`--role guest`, `--role host`), each child makes its synthetic rows (and
//! the guest its 2048-bit Paillier key) before it starts listening, the
//! driver hands each child the other's address, and each child reports on
//! one line how long its part of the epoch took. Separate processes give
//! honest per-party CPU time (`/proc/self/stat`, rayon threads included) and
//! peak RSS (`VmHWM`); on one machine the two still share its cores.
//!
//! Per party (`guest`, `host`), the epoch is split by the message that
//! follows: the time from one transport call to the next `send` of tag `t`
//! is the compute that produced `t` (`compute`, wall and CPU seconds);
//! `send_s` is the time spent sending (signing, gRPC, the peer's
//! acknowledgement) and `wait_s` the time blocked in `recv` (the peer
//! computing, plus transfer).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use wefe_core::PeerId;
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::Features;
use wefe_ml::data::SplitMix64;
use wefe_ml::logistic::TrainParams;
use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::{cpu_seconds, peak_rss_mib};
#[path = "support/two_party.rs"]
mod two_party;
use two_party::{Meter, Metered, join_peer, read_line, round3, start_pair};

const GUEST: PeerId = PeerId::from_bytes([0x01; 20]);
const HOST: PeerId = PeerId::from_bytes([0x02; 20]);
const JOB: u64 = 1;
/// Seed of the synthetic rows (both parties derive theirs from it).
const SEED: u64 = 0x5eed;

#[derive(Debug, Clone)]
struct Shape {
    case: String,
    rows: usize,
    guest_features: usize,
    host_features: usize,
    batch: u32,
}

impl Shape {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let get = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
        let num = |name: &str, default: usize| -> anyhow::Result<usize> {
            get(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name} {v}")))
        };
        let shape = Self {
            case: get("--case").unwrap_or_else(|| "epoch-100k".into()),
            rows: num("--rows", 100_000)?,
            guest_features: num("--guest-features", 10)?,
            host_features: num("--host-features", 20)?,
            batch: u32::try_from(num("--batch", 1024)?)?,
        };
        ensure!(shape.rows > 0 && shape.guest_features > 0 && shape.host_features > 0, "empty shape {shape:?}");
        Ok(shape)
    }

    fn args(&self) -> Vec<String> {
        [
            ("--case", self.case.clone()),
            ("--rows", self.rows.to_string()),
            ("--guest-features", self.guest_features.to_string()),
            ("--host-features", self.host_features.to_string()),
            ("--batch", self.batch.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
    }

    fn params(&self) -> TrainParams {
        TrainParams { epochs: 1, batch_size: self.batch, ..TrainParams::default() }
    }
}

fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// A per-row latent value both parties can compute: the label depends on
/// it, and so do the first few feature columns of each party, so both
/// parties' features carry signal.
fn latent(row: usize) -> f64 {
    let mut rng = SplitMix64::new(SEED ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    uniform(&mut rng) + uniform(&mut rng)
}

fn table(party_seed: u64, rows: usize, cols: usize) -> anyhow::Result<Features> {
    let mut rng = SplitMix64::new(SEED ^ party_seed);
    let mut values = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        let z = latent(i);
        for j in 0..cols {
            let noise = uniform(&mut rng);
            values.push(if j < 3 { (0.5 * z + 0.5 * noise).clamp(-1.0, 1.0) } else { noise });
        }
    }
    Ok(Features::new("synthetic", rows, cols, values)?)
}

/// Wall and CPU seconds of one compute phase.
#[derive(Debug, Serialize, Deserialize)]
struct Phase {
    wall_s: f64,
    cpu_s: f64,
}

/// What a child reports (one JSON line on its stdout).
#[derive(Debug, Serialize, Deserialize)]
struct PartyReport {
    role: String,
    wall_s: f64,
    cpu_s: f64,
    peak_rss_mib: f64,
    bytes_sent: u64,
    bytes_received: u64,
    messages_sent: u64,
    /// Tag of the message computed → time spent computing it.
    compute: BTreeMap<String, Phase>,
    send_s: f64,
    wait_s: f64,
}

/// The benchmark's JSON line (field order as in CONVENTIONS).
#[derive(Debug, Serialize)]
struct EpochReport {
    bench: &'static str,
    case: String,
    n: usize,
    rows: usize,
    guest_features: usize,
    host_features: usize,
    batch: u32,
    key_bits: u32,
    wall_s: f64,
    per_s: f64,
    guest_cpu_s: f64,
    host_cpu_s: f64,
    bytes: u64,
    peak_rss_mib: f64,
    guest_peak_rss_mib: f64,
    host_peak_rss_mib: f64,
    cores: usize,
    guest: PartyReport,
    host: PartyReport,
    note: &'static str,
}

enum Party {
    Guest(Box<Guest>),
    Host(Box<Host>),
}

/// A child: prepares its rows, listens, reads the peer's endpoint from stdin,
/// runs its side of the epoch and prints one JSON line.
fn run_party(role: &str, shape: &Shape) -> anyhow::Result<()> {
    let params = shape.params();
    let (me, peer, party) = match role {
        "guest" => {
            let x = table(1, shape.rows, shape.guest_features)?;
            let labels: Vec<f64> = (0..shape.rows).map(|i| f64::from(latent(i) > 0.0)).collect();
            let key = Keypair::generate(KeySize::B2048)?.into_private();
            (GUEST, HOST, Party::Guest(Box::new(Guest::new(params, key, x, labels, None, 1)?)))
        }
        "host" => {
            let x = table(2, shape.rows, shape.host_features)?;
            (HOST, GUEST, Party::Host(Box::new(Host::new(params, x, None)?)))
        }
        other => bail!("unknown role {other} (guest or host)"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let gateway = join_peer(me, peer).await?;

        let meter = Arc::new(Mutex::new(Meter::default()));
        let transport = Metered { inner: gateway.transport_for_parties(JOB, [me, peer]), meter: meter.clone() };
        let (cpu0, started) = (cpu_seconds(), Instant::now());
        meter.lock().expect("meter").lap();
        // The protocol's crypto blocks this thread on rayon; the gateway's
        // tasks run on the runtime's worker threads meanwhile.
        match party {
            Party::Guest(guest) => {
                let (_, report) = run_guest(&transport, &[peer], *guest).await?;
                ensure!(report.history.len() == 1, "expected one epoch, got {}", report.history.len());
            }
            Party::Host(host) => {
                run_host(&transport, &peer, *host).await?;
            }
        }
        let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let m = meter.lock().expect("meter");
        let compute = m
            .compute
            .iter()
            .filter(|(_, (w, _))| *w >= 0.0005)
            .map(|(tag, &(wall_s, cpu_s))| (tag.clone(), Phase { wall_s: round3(wall_s), cpu_s: round3(cpu_s) }))
            .collect();
        let report = PartyReport {
            role: role.to_owned(),
            wall_s: round3(wall),
            cpu_s: round3(cpu),
            peak_rss_mib: (peak_rss_mib() * 10.0).round() / 10.0,
            bytes_sent: m.bytes_sent,
            bytes_received: m.bytes_received,
            messages_sent: m.messages_sent,
            compute,
            send_s: round3(m.send_s),
            wait_s: round3(m.wait_s),
        };
        println!("{}", serde_json::to_string(&report)?);
        std::io::stdout().flush()?;
        Ok(())
    })
}

fn drive(shape: &Shape) -> anyhow::Result<()> {
    let args = shape.args();
    let [(mut guest_child, mut guest_out), (mut host_child, mut host_out)] =
        start_pair(("guest", &args), ("host", &args))?;
    let started = Instant::now();
    let guest: PartyReport = serde_json::from_str(&read_line("guest", &mut guest_out)?)?;
    let host: PartyReport = serde_json::from_str(&read_line("host", &mut host_out)?)?;
    let wall = started.elapsed().as_secs_f64();
    for (role, child) in [("guest", &mut guest_child), ("host", &mut host_child)] {
        let status = child.wait()?;
        ensure!(status.success(), "the {role} failed: {status}");
    }
    let line = EpochReport {
        bench: "vertical-lr",
        case: shape.case.clone(),
        n: shape.rows,
        rows: shape.rows,
        guest_features: shape.guest_features,
        host_features: shape.host_features,
        batch: shape.batch,
        key_bits: 2048,
        wall_s: round3(wall),
        per_s: (shape.rows as f64 / wall).round(),
        guest_cpu_s: guest.cpu_s,
        host_cpu_s: host.cpu_s,
        bytes: guest.bytes_sent + host.bytes_sent,
        peak_rss_mib: guest.peak_rss_mib.max(host.peak_rss_mib),
        guest_peak_rss_mib: guest.peak_rss_mib,
        host_peak_rss_mib: host.peak_rss_mib,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        guest,
        host,
        note: "guest and host in separate processes on one machine, each with its own SM2-signing gateway, \
               loopback gRPC; per_s is rows per second of wall time; bytes are message payloads sent by both",
    };
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = Shape::parse(&args)?;
    match args.windows(2).find(|w| w[0] == "--role") {
        Some(w) => run_party(&w[1], &shape),
        None => drive(&shape),
    }
}
