//! Two-party PSI between two OS processes, each with its own SM2-signing
//! gateway on loopback, as two nodes run it. Prints one JSON line per case
//! (see CONVENTIONS, Benchmarks: bench, case, n, wall_s, per_s, bytes,
//! peak_rss_mib), plus the overlap, each party's CPU seconds and peak memory,
//! and for ECDH and RSA the protocol's arithmetic limit on this machine.
//!
//! ```text
//! cargo run -p wefe-node --example psi_bench -- [--case ecdh|rsa|kkrt]... [--n N]...
//! ```
//! (`scripts/bench.sh psi [--quick]` runs it.) Each side holds `n` ids, half
//! of them common. The first process is the ECDH initiator / RSA client /
//! KKRT receiver; both parties learn the intersection, and the driver checks
//! its size.
//!
//! Limits: ECDH-PSI costs each party `2n` variable-base scalar
//! multiplications (blind its own ids, re-blind the peer's), `4n` in all on
//! the machine's cores; `limit_s` is that count over the ristretto255
//! multiplication rate measured right after the run with every core busy. RSA-PSI costs the server
//! `2n` RSA-2048 private-key operations (the client's blinded ids and its
//! own); `limit_s` uses the measured rate of the same implementation.

use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use wefe_core::PeerId;
use wefe_mpc::psi::ecdh::{self, EcdhParams};
use wefe_mpc::psi::kkrt::{self, KkrtParams};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};
use wefe_mpc::psi::{Progress, PsiOutput};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::{cpu_seconds, peak_rss_mib};
#[path = "support/two_party.rs"]
mod two_party;
use two_party::{Metered, join_peer, read_line, round3, start_pair};

const FIRST: PeerId = PeerId::from_bytes([0x01; 20]);
const SECOND: PeerId = PeerId::from_bytes([0x02; 20]);

/// What a child reports (one JSON line on its stdout).
#[derive(Debug, Serialize, Deserialize)]
struct PartyReport {
    role: String,
    wall_s: f64,
    cpu_s: f64,
    peak_rss_mib: f64,
    bytes_sent: u64,
    intersection: usize,
}

/// `n` ids per side, the second half of the first party's are the first half of the second's.
fn ids(role: &str, n: usize) -> Vec<Vec<u8>> {
    let start = if role == "first" { 0 } else { n / 2 };
    (start..start + n).map(|i| format!("cust-{i:010}").into_bytes()).collect()
}

fn run_party(role: &str, case: &str, n: usize) -> anyhow::Result<()> {
    let (me, peer, first) = match role {
        "first" => (FIRST, SECOND, true),
        "second" => (SECOND, FIRST, false),
        other => bail!("unknown role {other}"),
    };
    let items = ids(role, n);
    // The RSA server's key is made before the clock starts (a node makes it per job).
    let rsa_params =
        RsaParams { reveal: RsaReveal::Both, server_set: ServerSetEncoding::HashList, ..RsaParams::default() };
    let signer = if case == "rsa" && !first { Some(BlindSigner::generate(&rsa_params)?) } else { None };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let gateway = join_peer(me, peer).await?;
        let meter = std::sync::Arc::new(std::sync::Mutex::new(two_party::Meter::default()));
        let transport = Metered { inner: gateway.transport_for_parties(1, [me, peer]), meter: meter.clone() };
        let progress = Progress::new();
        let (cpu0, started) = (cpu_seconds(), Instant::now());
        let max_items = u32::try_from(n.max(1 << 24))?;
        let output = match (case, first) {
            ("ecdh", true) => {
                let params = EcdhParams { max_items, ..EcdhParams::default() };
                ecdh::run_initiator(&transport, &peer, params, items, &progress).await?
            }
            ("ecdh", false) => {
                let params = EcdhParams { max_items, ..EcdhParams::default() };
                ecdh::run_responder(&transport, &peer, params, items, &progress).await?
            }
            ("rsa", true) => rsa_blind::run_client(&transport, &peer, rsa_params, items, &progress).await?,
            ("rsa", false) => {
                let signer = signer.context("signer")?;
                rsa_blind::run_server(&transport, &peer, rsa_params, signer, items, &progress).await?
            }
            ("kkrt", true) => {
                kkrt::run_receiver(
                    &transport,
                    &peer,
                    KkrtParams { max_items, ..KkrtParams::default() },
                    items,
                    &progress,
                )
                .await?
            }
            ("kkrt", false) => {
                kkrt::run_sender(&transport, &peer, KkrtParams { max_items, ..KkrtParams::default() }, items, &progress)
                    .await?
            }
            (other, _) => bail!("unknown case {other} (ecdh, rsa or kkrt)"),
        };
        let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let PsiOutput::Intersection(common) = output else { bail!("{role} learned no intersection") };
        let report = PartyReport {
            role: role.to_owned(),
            wall_s: round3(wall),
            cpu_s: round3(cpu),
            peak_rss_mib: (peak_rss_mib() * 10.0).round() / 10.0,
            bytes_sent: meter.lock().expect("meter").bytes_sent,
            intersection: common.len(),
        };
        println!("{}", serde_json::to_string(&report)?);
        Ok(())
    })
}

/// Runs `work` on every core at once; returns operations per second per core
/// (each call of `work` does `ops` operations). All cores busy, as in a run.
fn per_core_rate(cores: usize, ops: usize, work: impl Fn() + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(&work);
        }
    });
    ops as f64 / started.elapsed().as_secs_f64()
}

/// ristretto255 variable-base multiplications per second per core.
fn ristretto_mul_rate(cores: usize) -> f64 {
    use curve25519_dalek::ristretto::RistrettoPoint;
    use curve25519_dalek::scalar::Scalar;
    let count = 20_000;
    per_core_rate(cores, count, || {
        let mut point = RistrettoPoint::mul_base(&Scalar::from(7u64));
        let scalar = Scalar::from_bytes_mod_order([0x5a; 32]);
        for _ in 0..count {
            point *= scalar;
        }
        std::hint::black_box(point);
    })
}

/// RSA-2048 private-key operations per second per core, by the server's own code.
fn rsa_private_rate(cores: usize) -> anyhow::Result<f64> {
    let signer = BlindSigner::generate(&RsaParams::default())?;
    let count = 1000;
    Ok(per_core_rate(cores, count, || signer.sign_hashes(count).expect("signing")))
}

fn drive(case: &str, n: usize, cores: usize) -> anyhow::Result<()> {
    let args: Vec<String> = ["--case", case, "--n", &n.to_string()].map(str::to_owned).to_vec();
    let [(mut a_child, mut a_out), (mut b_child, mut b_out)] = start_pair(("first", &args), ("second", &args))?;
    let started = Instant::now();
    let a: PartyReport = serde_json::from_str(&read_line("first", &mut a_out)?)?;
    let b: PartyReport = serde_json::from_str(&read_line("second", &mut b_out)?)?;
    let wall = started.elapsed().as_secs_f64();
    for (role, child) in [("first", &mut a_child), ("second", &mut b_child)] {
        let status = child.wait()?;
        ensure!(status.success(), "the {role} failed: {status}");
    }
    ensure!(a.intersection == n / 2 && b.intersection == n / 2, "wrong intersection: {a:?} {b:?}");
    let limit_s = match case {
        "ecdh" => Some(4.0 * n as f64 / (ristretto_mul_rate(cores) * cores as f64)),
        // The server signs the client's n blinded ids and its own n.
        "rsa" => Some(2.0 * n as f64 / (rsa_private_rate(cores)? * cores as f64)),
        _ => None,
    };
    let line = serde_json::json!({
        "bench": "psi",
        "case": case,
        "n": n,
        "overlap": n / 2,
        "wall_s": round3(wall),
        "per_s": (n as f64 / wall).round(),
        "bytes": a.bytes_sent + b.bytes_sent,
        "peak_rss_mib": a.peak_rss_mib.max(b.peak_rss_mib),
        "first_peak_rss_mib": a.peak_rss_mib,
        "second_peak_rss_mib": b.peak_rss_mib,
        "first_cpu_s": a.cpu_s,
        "second_cpu_s": b.cpu_s,
        "limit_s": limit_s.map(round3),
        "of_limit": limit_s.map(|l| round3(wall / l)),
        "cores": cores,
        "note": "two processes with their own SM2-signing gateways on loopback gRPC, sharing the machine's cores; \
                 both learn the intersection; per_s is ids per side per second of wall time; bytes are payloads sent by both",
    });
    println!("{line}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let values =
        |name: &str| -> Vec<String> { args.windows(2).filter(|w| w[0] == name).map(|w| w[1].clone()).collect() };
    let sizes: Vec<usize> =
        values("--n").iter().map(|v| v.parse().with_context(|| format!("--n {v}"))).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() { vec![100_000] } else { sizes };
    let cases = values("--case");
    let cases = if cases.is_empty() { vec!["ecdh".to_owned(), "rsa".to_owned(), "kkrt".to_owned()] } else { cases };
    if let Some(role) = values("--role").first() {
        return run_party(role, &cases[0], sizes[0]);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for case in &cases {
        for &n in &sizes {
            drive(case, n, cores)?;
        }
    }
    Ok(())
}
