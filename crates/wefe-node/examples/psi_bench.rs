//! PSI through two gateways on loopback: both parties in one process, each
//! with its own SM2-signing gateway, as the nodes run it. Prints one JSON line
//! per case (see CONVENTIONS: bench, case, n, wall_s, per_s, bytes, peak_rss_mib).
//!
//! `cargo run -p wefe-node --example psi_bench -- [--n N] [--case ecdh|rsa]...`
//! (scripts/bench.sh psi runs it).

use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use wefe_core::PeerId;
use wefe_gateway::{Gateway, GatewayConfig, MemberKey, PeerInfo, StaticPeerDirectory};
use wefe_mpc::psi::PsiOutput;
use wefe_mpc::psi::ecdh::{self, EcdhParams};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};

#[path = "support/proc_stats.rs"]
mod proc_stats;
use proc_stats::peak_rss_mib;

async fn gateway(directory: &Arc<StaticPeerDirectory>, id: PeerId) -> anyhow::Result<Gateway> {
    let key = MemberKey::generate()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    directory.insert(id, PeerInfo { active: true, public_key: key.public_key(), endpoint: format!("http://{addr}") });
    let gateway = Gateway::new(id, key, directory.clone(), GatewayConfig::default());
    let server = gateway.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    Ok(gateway)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize =
        args.iter().position(|a| a == "--n").and_then(|i| args.get(i + 1)).map_or(Ok(100_000), |v| v.parse())?;
    let mut cases: Vec<String> = args.windows(2).filter(|w| w[0] == "--case").map(|w| w[1].clone()).collect();
    if cases.is_empty() {
        cases = vec!["ecdh".into(), "rsa".into()];
    }
    let directory = Arc::new(StaticPeerDirectory::new());
    let (a_id, b_id) = (PeerId::from_bytes([0xaa; 20]), PeerId::from_bytes([0xbb; 20]));
    let (a, b) = (gateway(&directory, a_id).await?, gateway(&directory, b_id).await?);
    // Half of each side's ids are common.
    let a_items: Vec<Vec<u8>> = (0..n).map(|i| format!("cust-{i:09}").into_bytes()).collect();
    let b_items: Vec<Vec<u8>> = (n / 2..n + n / 2).map(|i| format!("cust-{i:09}").into_bytes()).collect();

    for (job, case) in cases.iter().enumerate() {
        let (ta, tb) = (a.transport(job as u64 + 1), b.transport(job as u64 + 1));
        let started = Instant::now();
        let (out_a, out_b) = match case.as_str() {
            "ecdh" => {
                let params = EcdhParams::default();
                tokio::try_join!(
                    ecdh::run_initiator(&ta, &b_id, params, a_items.clone()),
                    ecdh::run_responder(&tb, &a_id, params, b_items.clone()),
                )?
            }
            "rsa" => {
                let params = RsaParams {
                    reveal: RsaReveal::Both,
                    server_set: ServerSetEncoding::Bloom { fpr_log2: 40 },
                    ..RsaParams::default()
                };
                let signer = BlindSigner::generate(&params)?;
                tokio::try_join!(
                    rsa_blind::run_client(&ta, &b_id, params, a_items.clone()),
                    rsa_blind::run_server(&tb, &a_id, params, signer, b_items.clone()),
                )?
            }
            other => anyhow::bail!("unknown case {other} (ecdh or rsa)"),
        };
        let wall = started.elapsed().as_secs_f64();
        let size = |o: &PsiOutput| o.intersection().map_or(0, <[Vec<u8>]>::len);
        anyhow::ensure!(size(&out_a) == n / 2 && size(&out_b) == n / 2, "wrong intersection size");
        println!(
            "{}",
            serde_json::json!({
                "bench": "psi",
                "case": case,
                "n": n,
                "wall_s": (wall * 1000.0).round() / 1000.0,
                "per_s": ((n as f64) / wall).round(),
                "peak_rss_mib": (peak_rss_mib() * 10.0).round() / 10.0,
                "note": "both parties and both gateways in one process, loopback, SM2-signed envelopes",
            })
        );
    }
    Ok(())
}
