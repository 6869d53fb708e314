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
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use wefe_core::{PeerId, Transport, TransportError};
use wefe_crypto::{KeySize, Keypair};
use wefe_gateway::{Gateway, GatewayConfig, MemberKey, PeerInfo, StaticPeerDirectory};
use wefe_ml::Features;
use wefe_ml::data::SplitMix64;
use wefe_ml::logistic::TrainParams;
use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::{cpu_seconds, peak_rss_mib};

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

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[derive(Debug, Default)]
struct Meter {
    bytes_sent: u64,
    bytes_received: u64,
    messages_sent: u64,
    /// Tag of the next send → (wall s, CPU s) spent computing it.
    compute: BTreeMap<String, (f64, f64)>,
    send_s: f64,
    wait_s: f64,
    mark: Option<(Instant, f64)>,
}

impl Meter {
    /// Closes the interval since the last transport call; returns it.
    fn lap(&mut self) -> (f64, f64) {
        let now = (Instant::now(), cpu_seconds());
        let since = self.mark.map_or((0.0, 0.0), |(t, c)| (now.0.duration_since(t).as_secs_f64(), now.1 - c));
        self.mark = Some(now);
        since
    }
}

/// A transport that counts payload bytes and times compute, send and wait.
#[derive(Debug)]
struct Metered<T> {
    inner: T,
    meter: Arc<Mutex<Meter>>,
}

impl<T: Transport> Transport for Metered<T> {
    fn local_peer(&self) -> PeerId {
        self.inner.local_peer()
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), TransportError> {
        let len = payload.len() as u64;
        {
            let mut m = self.meter.lock().expect("meter");
            let (wall, cpu) = m.lap();
            let entry = m.compute.entry(tag.to_owned()).or_default();
            entry.0 += wall;
            entry.1 += cpu;
        }
        let result = self.inner.send(to, tag, payload).await;
        let mut m = self.meter.lock().expect("meter");
        m.send_s += m.lap().0;
        m.bytes_sent += len;
        m.messages_sent += 1;
        result
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        {
            let mut m = self.meter.lock().expect("meter");
            let (wall, cpu) = m.lap();
            // Work between a send and the next recv (none in this protocol's runners).
            let entry = m.compute.entry("before-recv".to_owned()).or_default();
            entry.0 += wall;
            entry.1 += cpu;
        }
        let result = self.inner.recv(from, tag).await;
        let mut m = self.meter.lock().expect("meter");
        m.wait_s += m.lap().0;
        if let Ok(bytes) = &result {
            m.bytes_received += bytes.len() as u64;
        }
        result
    }
}

async fn start_gateway(
    directory: &Arc<StaticPeerDirectory>,
    me: PeerId,
    key: MemberKey,
) -> anyhow::Result<(Gateway, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the gateway on loopback")?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    directory.insert(me, PeerInfo { active: true, public_key: key.public_key(), endpoint: endpoint.clone() });
    let gateway = Gateway::new(me, key, directory.clone(), GatewayConfig::default());
    let server = gateway.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    Ok((gateway, endpoint))
}

/// Fixed SM2 keys, so each child knows the other's public key.
fn member_key(peer: PeerId) -> anyhow::Result<MemberKey> {
    Ok(MemberKey::from_secret_bytes(&[peer.to_bytes()[0].wrapping_mul(0x11); 32])?)
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
    Host(Host),
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
            (HOST, GUEST, Party::Host(Host::new(params, x, None)?))
        }
        other => bail!("unknown role {other} (guest or host)"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let directory = Arc::new(StaticPeerDirectory::new());
        let (gateway, endpoint) = start_gateway(&directory, me, member_key(me)?).await?;
        println!("listening {endpoint}");
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the peer's endpoint")?;
        let peer_endpoint = line.trim().to_owned();
        ensure!(peer_endpoint.starts_with("http://"), "bad peer endpoint {peer_endpoint:?}");
        directory.insert(
            peer,
            PeerInfo { active: true, public_key: member_key(peer)?.public_key(), endpoint: peer_endpoint },
        );

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
                run_host(&transport, &peer, host).await?;
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

fn spawn(role: &str, shape: &Shape) -> anyhow::Result<(Child, BufReader<ChildStdout>)> {
    let exe = std::env::current_exe().context("locating this example's binary")?;
    let mut child = Command::new(exe)
        .args(["--role", role])
        .args(shape.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting the {role}"))?;
    let stdout = BufReader::new(child.stdout.take().context("child stdout")?);
    Ok((child, stdout))
}

fn read_line(role: &str, out: &mut BufReader<ChildStdout>) -> anyhow::Result<String> {
    let mut line = String::new();
    out.read_line(&mut line).with_context(|| format!("reading from the {role}"))?;
    ensure!(!line.is_empty(), "the {role} exited early");
    Ok(line.trim().to_owned())
}

fn drive(shape: &Shape) -> anyhow::Result<()> {
    let (mut guest_child, mut guest_out) = spawn("guest", shape)?;
    let (mut host_child, mut host_out) = spawn("host", shape)?;
    let endpoint = |role: &str, out: &mut BufReader<ChildStdout>| -> anyhow::Result<String> {
        let line = read_line(role, out)?;
        line.strip_prefix("listening ").map(str::to_owned).with_context(|| format!("the {role} said {line:?}"))
    };
    let guest_endpoint = endpoint("guest", &mut guest_out)?;
    let host_endpoint = endpoint("host", &mut host_out)?;
    let started = Instant::now();
    for (child, peer) in [(&mut guest_child, &host_endpoint), (&mut host_child, &guest_endpoint)] {
        let stdin = child.stdin.as_mut().context("child stdin")?;
        writeln!(stdin, "{peer}")?;
        stdin.flush()?;
    }
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
