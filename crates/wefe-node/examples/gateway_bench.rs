//! The gateway under a hostile member and under load: two nodes as two OS
//! processes with their own gateways on loopback (the harness of
//! `psi_bench`), one JSON line per case (`scripts/bench.sh node`).
//!
//! ```text
//! cargo run -p wefe-node --example gateway_bench -- --case gateway-flood [--n N]
//! cargo run -p wefe-node --example gateway_bench -- --case gateway-latency-under-load [--n N]
//! ```
//!
//! - `gateway-flood`: the first node runs an ECDH-PSI job (n ids per side,
//!   default 10^5) with an honest second node, while a third member that
//!   is not a participant (this driver) sends the first node 10^5 empty
//!   messages (half for the running job, half for jobs the node does not
//!   know), opens 4 messages announcing 1 GiB each that trickle one byte a
//!   second, and opens handshakes as fast as it can. Reports the refusals by
//!   gRPC code, the job's time and the first node's peak RSS (must stay
//!   ≤ 512 MiB).
//! - `gateway-latency-under-load`: round trips of a 64-byte message between
//!   the two nodes (job 2) while an ECDH-PSI of n ids per side (default 10^6)
//!   runs between the same nodes (job 1); p50/p99 idle and under load.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use wefe_core::{PeerId, Transport};
use wefe_crypto::sm::{Sm2PublicKey, Sm4Gcm};
use wefe_gateway::proto::Envelope;
use wefe_gateway::proto::gateway_client::GatewayClient;
use wefe_gateway::session::{self, Role, SessionId};
use wefe_gateway::signing::WIRE_VERSION;
use wefe_gateway::{MIB, MemberKey, PeerInfo};
use wefe_mpc::psi::ecdh::{self, EcdhParams};
use wefe_mpc::psi::{Progress, PsiOutput};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::peak_rss_mib;
#[path = "support/two_party.rs"]
mod two_party;
use two_party::{join_peer_in, member_key, read_line, round3, start_pair_at};

const FIRST: PeerId = PeerId::from_bytes([0x01; 20]);
const SECOND: PeerId = PeerId::from_bytes([0x02; 20]);
const ATTACKER: PeerId = PeerId::from_bytes([0x03; 20]);
const PSI_JOB: u64 = 1;
const PING_JOB: u64 = 2;
const PING_BYTES: usize = 64;

/// What a child reports (one JSON line on its stdout).
#[derive(Debug, Default, Serialize, Deserialize)]
struct PartyReport {
    role: String,
    job_s: f64,
    peak_rss_mib: f64,
    intersection: usize,
    /// Round trips in ms before the PSI started (first party, latency case).
    idle_rtt_ms: Vec<f64>,
    /// Round trips in ms while the PSI ran.
    loaded_rtt_ms: Vec<f64>,
}

fn ids(role: &str, n: usize) -> Vec<Vec<u8>> {
    let start = if role == "first" { 0 } else { n / 2 };
    (start..start + n).map(|i| format!("cust-{i:010}").into_bytes()).collect()
}

/// Runs the PSI as a node runs a job: on the compute pool, never on the
/// runtime that serves the gateway.
async fn run_psi<T: Transport + Clone + Send + Sync + 'static>(
    transport: &T,
    first: bool,
    peer: PeerId,
    role: &str,
    n: usize,
) -> anyhow::Result<usize> {
    let params = EcdhParams { max_items: u32::try_from(n.max(1 << 24))?, ..EcdhParams::default() };
    let items = ids(role, n);
    let transport = transport.clone();
    let role = role.to_owned();
    wefe_node::compute::run(tokio_util::sync::CancellationToken::new(), async move {
        let progress = Progress::new();
        let output = if first {
            ecdh::run_initiator(&transport, &peer, params, items, &progress).await?
        } else {
            ecdh::run_responder(&transport, &peer, params, items, &progress).await?
        };
        let PsiOutput::Intersection(common) = output else { bail!("{role} learned no intersection") };
        Ok(common.len())
    })
    .await?
}

/// One round trip on the ping job, in ms: a small message there and its echo back.
async fn round_trip<T: Transport>(ping: &T, peer: PeerId) -> anyhow::Result<f64> {
    let t = Instant::now();
    ping.send(&peer, "ping", vec![7; PING_BYTES]).await?;
    let back = ping.recv(&peer, "pong").await?;
    ensure!(back.len() == PING_BYTES, "echo of {} bytes", back.len());
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

fn run_party(role: &str, case: &str, n: usize) -> anyhow::Result<()> {
    let (me, peer, first) = match role {
        "first" => (FIRST, SECOND, true),
        "second" => (SECOND, FIRST, false),
        other => bail!("unknown role {other}"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let (gateway, directory) = join_peer_in(me, peer).await?;
        // The attacker is a member in good standing; it has no gateway of its own to reach.
        directory.insert(
            ATTACKER,
            PeerInfo {
                active: true,
                public_key: member_key(ATTACKER)?.public_key(),
                endpoint: "http://127.0.0.1:9".into(),
            },
        );
        let psi = gateway.job_transport(PSI_JOB, [me, peer]);
        let ping = gateway.job_transport(PING_JOB, [me, peer]);
        let mut report = PartyReport { role: role.to_owned(), ..PartyReport::default() };
        match case {
            "gateway-flood" => {
                let started = Instant::now();
                report.intersection = run_psi(&psi, first, peer, role, n).await?;
                report.job_s = round3(started.elapsed().as_secs_f64());
                if first {
                    // The node stays up under attack until the driver's attacker is done.
                    let mut line = String::new();
                    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)?;
                }
            }
            "gateway-latency-under-load" if first => {
                for _ in 0..200 {
                    report.idle_rtt_ms.push(round_trip(&ping, peer).await?);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let pinger = tokio::spawn({
                    let (done, ping) = (Arc::clone(&done), ping.clone());
                    async move {
                        let mut samples = Vec::new();
                        while !done.load(std::sync::atomic::Ordering::Relaxed) {
                            samples.push(round_trip(&ping, peer).await?);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        anyhow::Ok(samples)
                    }
                });
                let started = Instant::now();
                report.intersection = run_psi(&psi, first, peer, role, n).await?;
                report.job_s = round3(started.elapsed().as_secs_f64());
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                report.loaded_rtt_ms = pinger.await??;
                ping.send(&peer, "ping", Vec::new()).await?; // stop the echo
            }
            "gateway-latency-under-load" => {
                let echo = tokio::spawn({
                    let ping = ping.clone();
                    async move {
                        loop {
                            let m = ping.recv(&peer, "ping").await?;
                            if m.is_empty() {
                                return anyhow::Ok(());
                            }
                            ping.send(&peer, "pong", m).await?;
                        }
                    }
                });
                let started = Instant::now();
                report.intersection = run_psi(&psi, first, peer, role, n).await?;
                report.job_s = round3(started.elapsed().as_secs_f64());
                echo.await??;
            }
            other => bail!("unknown case {other}"),
        }
        report.peak_rss_mib = (peak_rss_mib() * 10.0).round() / 10.0;
        println!("{}", serde_json::to_string(&report)?);
        Ok(())
    })
}

/// Refusals the attacker saw, by gRPC code, with one message of each.
#[derive(Debug, Default)]
struct Refusals {
    by_code: BTreeMap<String, u64>,
    sample: BTreeMap<String, String>,
    accepted: u64,
}

impl Refusals {
    /// `result`: Ok, or the refusal's code and message.
    fn record(&mut self, result: Result<(), (String, String)>) {
        match result {
            Ok(()) => self.accepted += 1,
            Err((code, message)) => {
                *self.by_code.entry(code.clone()).or_default() += 1;
                self.sample.entry(code).or_insert(message);
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "accepted": self.accepted, "refused": self.by_code, "reasons": self.sample })
    }
}

/// A gRPC outcome as [`Refusals::record`] takes it.
macro_rules! outcome {
    ($result:expr) => {
        $result.map(|_| ()).map_err(|status| (format!("{:?}", status.code()), status.message().to_owned()))
    };
}

/// A session of the attacker with the victim, by a raw handshake.
struct Sess {
    id: SessionId,
    cipher: Sm4Gcm,
}

fn nonce() -> Vec<u8> {
    let mut n = vec![0u8; 16];
    getrandom::fill(&mut n).expect("randomness");
    n
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A signed, sealed chunk from the attacker.
#[allow(clippy::too_many_arguments)]
fn chunk(key: &MemberKey, s: &Sess, job: u64, tag: &str, total: u64, last: bool, payload: &[u8]) -> Envelope {
    let mut env = Envelope {
        version: WIRE_VERSION,
        job_id: job,
        from: ATTACKER.to_bytes().to_vec(),
        to: FIRST.to_bytes().to_vec(),
        tag: tag.into(),
        seq: u64::from_le_bytes(nonce()[..8].try_into().expect("8 bytes")) >> 1,
        chunk: 0,
        last,
        nonce: nonce(),
        timestamp_ms: now_ms(),
        payload: Default::default(),
        signature: Vec::new(),
        total_len: total,
        session: Vec::new(),
    };
    session::seal_envelope(&mut env, &s.id, &s.cipher, payload).expect("seal");
    key.sign(&mut env).expect("sign");
    env
}

/// The non-participant's attack on the first node, until `stop`.
async fn attack(victim: String, stop: Arc<std::sync::atomic::AtomicBool>) -> anyhow::Result<serde_json::Value> {
    let key = member_key(ATTACKER)?;
    let client =
        GatewayClient::connect(victim).await.context("attacker connecting")?.max_encoding_message_size(8 * MIB);
    let (hello, ephemeral) = session::new_hello(&key, ATTACKER, FIRST, None, Role::Caller, None)?;
    // The node registers the attacker (a member) right after it learns its peer: retry until then.
    let mut tries = 0;
    let reply = loop {
        match client.clone().handshake(hello.clone()).await {
            Ok(reply) => break reply.into_inner(),
            Err(status) if tries < 50 => {
                tries += 1;
                debug_note(status.message());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => bail!("attacker handshake: {:?}: {}", status.code(), status.message()),
        }
    };
    let digest = session::hello_digest(&hello, Role::Caller, None);
    let peer = Sm2PublicKey::from_xy(&reply.ephemeral)?;
    let (id, cipher) = session::derive(&ephemeral, &peer, &hello, &reply, &digest)?;
    let s = Arc::new(Sess { id, cipher });

    // Four messages announcing 1 GiB, a byte a second: two for the running
    // job, two for a job the node does not know.
    let mut slow = Vec::new();
    for i in 0..4u64 {
        let (job, client, key, s, stop) =
            (if i < 2 { PSI_JOB } else { 1000 + i }, client.clone(), key.clone(), Arc::clone(&s), Arc::clone(&stop));
        slow.push(tokio::spawn(async move {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let feeder = tokio::spawn(async move {
                let mut index = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut env = chunk(&key, &s, job, &format!("slow/{job}"), 1024 * MIB as u64, false, b"x");
                    env.chunk = index;
                    key.sign(&mut env).expect("sign");
                    if tx.send(env).await.is_err() {
                        break;
                    }
                    index += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            let result = client.clone().exchange(tokio_stream::wrappers::ReceiverStream::new(rx)).await;
            feeder.abort();
            outcome!(result)
        }));
    }

    // 10^5 empty messages, 16 calls at a time.
    let refusals = Arc::new(Mutex::new(Refusals::default()));
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = 100_000u64;
    let mut flooders = Vec::new();
    for _ in 0..16 {
        let (client, key, s, refusals, next) =
            (client.clone(), key.clone(), Arc::clone(&s), Arc::clone(&refusals), Arc::clone(&next));
        flooders.push(tokio::spawn(async move {
            let mut client = client;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                // Half for the running job, half spread over jobs the node does not know.
                let job = if i % 2 == 0 { PSI_JOB } else { 2000 + i % 64 };
                let env = chunk(&key, &s, job, &format!("flood/{i}"), 0, true, b"");
                let result = client.exchange(tokio_stream::iter([env])).await;
                refusals.lock().expect("refusals").record(outcome!(result));
            }
        }));
    }
    let flood_started = Instant::now();
    for f in flooders {
        f.await?;
    }
    let flood_s = flood_started.elapsed().as_secs_f64();
    // Then handshakes, as fast as one connection allows (each one that
    // succeeds pushes out an older session of the attacker's: hence last).
    let mut handshakes = Refusals::default();
    let mut client_hs = client.clone();
    for _ in 0..1000 {
        let (hello, _) = session::new_hello(&key, ATTACKER, FIRST, None, Role::Caller, None)?;
        handshakes.record(outcome!(client_hs.handshake(hello).await));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut slow_refusals = Refusals::default();
    for call in slow {
        slow_refusals.record(call.await?);
    }
    let flood = refusals.lock().expect("refusals").json();
    let handshakes = handshakes.json();
    Ok(serde_json::json!({
        "empty_messages": total,
        "empty_messages_s": round3(flood_s),
        "empty": flood,
        "slow_1gib": slow_refusals.json(),
        "handshakes": handshakes,
    }))
}

fn debug_note(message: &str) {
    if std::env::var_os("WEFE_BENCH_DEBUG").is_some() {
        eprintln!("attacker: {message}");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(samples: &[f64]) -> serde_json::Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    serde_json::json!({
        "count": sorted.len(),
        "p50_ms": round3(percentile(&sorted, 50.0)),
        "p99_ms": round3(percentile(&sorted, 99.0)),
        "max_ms": round3(sorted.last().copied().unwrap_or(f64::NAN)),
    })
}

fn drive(case: &str, n: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let args: Vec<String> = ["--case", case, "--n", &n.to_string()].map(str::to_owned).to_vec();
    let ([(mut a_child, mut a_out), (mut b_child, mut b_out)], [a_endpoint, _]) =
        start_pair_at(("first", &args), ("second", &args))?;
    let started = Instant::now();
    let (a, b, attack) = if case == "gateway-flood" {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let attack = rt.block_on(attack(a_endpoint, stop))?;
        // The attack is over: the first node may report (its peak RSS spans it) and exit.
        let stdin = a_child.stdin.as_mut().context("first's stdin")?;
        writeln!(stdin, "done")?;
        stdin.flush()?;
        let a: PartyReport = serde_json::from_str(&read_line("first", &mut a_out)?)?;
        let b: PartyReport = serde_json::from_str(&read_line("second", &mut b_out)?)?;
        (a, b, Some(attack))
    } else {
        let a: PartyReport = serde_json::from_str(&read_line("first", &mut a_out)?)?;
        let b: PartyReport = serde_json::from_str(&read_line("second", &mut b_out)?)?;
        (a, b, None)
    };
    let wall = started.elapsed().as_secs_f64();
    for (role, child) in [("first", &mut a_child), ("second", &mut b_child)] {
        let status = child.wait()?;
        ensure!(status.success(), "the {role} failed: {status}");
    }
    let completed = a.intersection == n / 2 && b.intersection == n / 2;
    let line = match case {
        "gateway-flood" => serde_json::json!({
            "bench": "node",
            "case": case,
            "n": n,
            "wall_s": round3(wall),
            "job_s": a.job_s.max(b.job_s),
            "job_completed": completed,
            "peak_rss_mib": a.peak_rss_mib,
            "rss_within_512_mib": a.peak_rss_mib <= 512.0,
            "peer_peak_rss_mib": b.peak_rss_mib,
            "attack": attack,
            "note": "ECDH-PSI job between two node processes with their own gateways on loopback; a third member, \
                     not a participant, floods the first node; peak_rss_mib is the first node's",
        }),
        _ => {
            let loaded = summary(&a.loaded_rtt_ms);
            let p99 = loaded["p99_ms"].as_f64().unwrap_or(f64::NAN);
            serde_json::json!({
                "bench": "node",
                "case": case,
                "n": n,
                "wall_s": round3(wall),
                "psi_s": a.job_s.max(b.job_s),
                "psi_completed": completed,
                "message_bytes": PING_BYTES,
                "idle": summary(&a.idle_rtt_ms),
                "under_load": loaded,
                "p50_ms": loaded["p50_ms"],
                "p99_ms": loaded["p99_ms"],
                "p99_within_50_ms": p99 <= 50.0,
                "peak_rss_mib": a.peak_rss_mib.max(b.peak_rss_mib),
                "note": "round trip of one small gateway message (send + echo, both SM2-signed and SM4-GCM sealed) \
                         between two node processes on loopback, every 20 ms while an ECDH-PSI runs between them",
            })
        }
    };
    println!("{line}");
    ensure!(completed, "the PSI did not complete: {a:?} {b:?}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.windows(2).rfind(|w| w[0] == name).map(|w| w[1].clone());
    let case = value("--case").unwrap_or_else(|| "gateway-flood".to_owned());
    let default_n = if case == "gateway-flood" { 100_000 } else { 1_000_000 };
    let n = value("--n").map(|v| v.parse().with_context(|| format!("--n {v}"))).transpose()?.unwrap_or(default_n);
    if let Some(role) = value("--role") {
        return run_party(&role, &case, n);
    }
    drive(&case, n)
}
