//! Vertical SecureBoost and federated binning between a guest and a host,
//! each a separate OS process with its own SM2-signing gateway, over
//! loopback gRPC as the nodes do. Prints one JSON line per case (see
//! CONVENTIONS, Benchmarks) with the wall time, each party's CPU seconds,
//! peak memory and bytes sent.
//!
//! ```text
//! cargo run -p wefe-node --example secureboost_bench -- --kind tree|binning \
//!     [--rows 100000] [--guest-features 30] [--host-features 300] [--bins 32] [--depth 3] [--trees 1] [--case tree-fate-shape]
//! ```
//! (`scripts/bench.sh secureboost [--quick]` runs it.) Times cover the
//! protocol only: each child bins its synthetic rows (and the guest makes
//! its 2048-bit key) before the clock starts.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use wefe_core::{PeerId, Progress};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::binning::federated::{self, GuestInput, Reveal, WoeParams};
use wefe_ml::binning::{BinEdges, BinMethod, Binned};
use wefe_ml::data::SplitMix64;
use wefe_ml::secureboost::{BoostParams, GuestData, HostData, run_guest, run_host};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::{cpu_seconds, peak_rss_mib};
#[path = "support/two_party.rs"]
mod two_party;
use two_party::{Meter, Metered, join_peer, read_line, round3, start_pair};

const GUEST: PeerId = PeerId::from_bytes([0x01; 20]);
const HOST: PeerId = PeerId::from_bytes([0x02; 20]);
const JOB: u64 = 1;
const SEED: u64 = 0x5eed;

#[derive(Debug, Clone)]
struct Shape {
    case: String,
    kind: String,
    rows: usize,
    guest_features: usize,
    host_features: usize,
    bins: u16,
    depth: u32,
    trees: u32,
}

impl Shape {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let get = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
        let num = |name: &str, default: usize| -> anyhow::Result<usize> {
            get(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name} {v}")))
        };
        let kind = get("--kind").unwrap_or_else(|| "tree".into());
        ensure!(kind == "tree" || kind == "binning", "--kind tree or binning, not {kind}");
        let shape = Self {
            case: get("--case").unwrap_or_else(|| format!("{kind}-fate-shape")),
            kind,
            rows: num("--rows", 100_000)?,
            guest_features: num("--guest-features", 30)?,
            host_features: num("--host-features", 300)?,
            bins: u16::try_from(num("--bins", 32)?)?,
            depth: u32::try_from(num("--depth", 3)?)?,
            trees: u32::try_from(num("--trees", 1)?)?,
        };
        ensure!(shape.rows > 0 && shape.guest_features > 0 && shape.host_features > 0, "empty shape {shape:?}");
        Ok(shape)
    }

    fn args(&self) -> Vec<String> {
        [
            ("--case", self.case.clone()),
            ("--kind", self.kind.clone()),
            ("--rows", self.rows.to_string()),
            ("--guest-features", self.guest_features.to_string()),
            ("--host-features", self.host_features.to_string()),
            ("--bins", self.bins.to_string()),
            ("--depth", self.depth.to_string()),
            ("--trees", self.trees.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
    }

    fn params(&self) -> BoostParams {
        BoostParams { trees: self.trees, max_depth: self.depth, min_child_rows: 20, ..BoostParams::default() }
    }
}

fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// A latent value per row: the label and the first columns of both parties depend on it (non-linearly).
fn latent(row: usize) -> f64 {
    let mut rng = SplitMix64::new(SEED ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    uniform(&mut rng) + uniform(&mut rng)
}

fn binned(party_seed: u64, rows: usize, cols: usize, bins: u16) -> anyhow::Result<(Binned, BinEdges)> {
    let mut rng = SplitMix64::new(SEED ^ party_seed);
    let x = Array2::from_shape_fn((rows, cols), |(i, j)| {
        let noise = uniform(&mut rng);
        if j < 3 { (latent(i).abs() + 0.5 * noise).clamp(-2.0, 2.0) } else { noise }
    });
    let names: Vec<String> = (0..cols).map(|j| format!("x{j}")).collect();
    let edges = BinEdges::fit(x.view(), &names, BinMethod::Quantile, bins)?;
    Ok((edges.apply(x.view())?, edges))
}

#[derive(Debug, Serialize, Deserialize)]
struct PartyReport {
    role: String,
    wall_s: f64,
    cpu_s: f64,
    peak_rss_mib: f64,
    bytes_sent: u64,
    bytes_received: u64,
    messages_sent: u64,
}

#[derive(Debug, Serialize)]
struct CaseReport {
    bench: &'static str,
    case: String,
    n: usize,
    rows: usize,
    guest_features: usize,
    host_features: usize,
    bins: u16,
    depth: u32,
    trees: u32,
    key_bits: u32,
    wall_s: f64,
    per_tree_wall_s: f64,
    guest_cpu_s: f64,
    host_cpu_s: f64,
    per_tree_guest_cpu_s: f64,
    per_tree_host_cpu_s: f64,
    bytes: u64,
    peak_rss_mib: f64,
    guest_peak_rss_mib: f64,
    host_peak_rss_mib: f64,
    cores: usize,
    note: &'static str,
}

fn run_party(role: &str, shape: &Shape) -> anyhow::Result<()> {
    let tree = shape.kind == "tree";
    let (me, peer) = match role {
        "guest" => (GUEST, HOST),
        "host" => (HOST, GUEST),
        other => bail!("unknown role {other} (guest or host)"),
    };
    let (table, edges) = binned(
        if role == "guest" { 1 } else { 2 },
        shape.rows,
        if role == "guest" { shape.guest_features } else { shape.host_features },
        shape.bins,
    )?;
    let labels: Vec<f64> = (0..shape.rows).map(|i| f64::from(latent(i).abs() > 0.8)).collect();
    let key = (role == "guest").then(|| Keypair::generate(KeySize::B2048)).transpose()?.map(Keypair::into_private);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let gateway = join_peer(me, peer).await?;
        let meter = std::sync::Arc::new(std::sync::Mutex::new(Meter::default()));
        let transport = Metered { inner: gateway.transport_for_parties(JOB, [me, peer]), meter: meter.clone() };
        let progress = Progress::new();
        let (cpu0, started) = (cpu_seconds(), Instant::now());
        match (tree, key) {
            (true, Some(key)) => {
                let data = GuestData { train: table, labels, validation: None, edges };
                run_guest(&transport, &[peer], shape.params(), key, data, &progress).await?;
            }
            (true, None) => {
                let data = HostData { train: table, validation: None, edges };
                run_host(&transport, &peer, shape.params(), data, false, &progress).await?;
            }
            (false, Some(key)) => {
                let params = WoeParams { reveal: Reveal::Iv, min_bin_rows: 20 };
                let input = GuestInput { binned: &table, edges: &edges, labels: &labels };
                federated::run_guest(&transport, &[peer], params, &key, input, &progress).await?;
            }
            (false, None) => {
                let params = WoeParams { reveal: Reveal::Iv, min_bin_rows: 20 };
                federated::run_host(&transport, &peer, params, &table, &edges, false, &progress).await?;
            }
        }
        let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let m = meter.lock().expect("meter");
        let report = PartyReport {
            role: role.to_owned(),
            wall_s: round3(wall),
            cpu_s: round3(cpu),
            peak_rss_mib: (peak_rss_mib() * 10.0).round() / 10.0,
            bytes_sent: m.bytes_sent,
            bytes_received: m.bytes_received,
            messages_sent: m.messages_sent,
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
    let guest: PartyReport = serde_json::from_str(&read_line("guest", &mut guest_out)?)?;
    let host: PartyReport = serde_json::from_str(&read_line("host", &mut host_out)?)?;
    for (role, child) in [("guest", &mut guest_child), ("host", &mut host_child)] {
        let status = child.wait()?;
        ensure!(status.success(), "the {role} failed: {status}");
    }
    let wall = guest.wall_s.max(host.wall_s);
    let trees = if shape.kind == "tree" { f64::from(shape.trees) } else { 1.0 };
    let line = CaseReport {
        bench: "secureboost",
        case: shape.case.clone(),
        n: shape.rows,
        rows: shape.rows,
        guest_features: shape.guest_features,
        host_features: shape.host_features,
        bins: shape.bins,
        depth: shape.depth,
        trees: shape.trees,
        key_bits: 2048,
        wall_s: round3(wall),
        per_tree_wall_s: round3(wall / trees),
        guest_cpu_s: guest.cpu_s,
        host_cpu_s: host.cpu_s,
        per_tree_guest_cpu_s: round3(guest.cpu_s / trees),
        per_tree_host_cpu_s: round3(host.cpu_s / trees),
        bytes: guest.bytes_sent + host.bytes_sent,
        peak_rss_mib: guest.peak_rss_mib.max(host.peak_rss_mib),
        guest_peak_rss_mib: guest.peak_rss_mib,
        host_peak_rss_mib: host.peak_rss_mib,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        note: "guest and host in separate processes on one machine (sharing its cores), each with its own \
               SM2-signing gateway, loopback gRPC; times from the first message, after binning and key generation; \
               for binning, per_tree fields are the whole job",
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
