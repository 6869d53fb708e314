//! One epoch of vertical LR between a guest (10 features + labels) and a host
//! (20 features) over the in-memory transport, with a 2048-bit key. Prints one
//! JSON line. Usage: `cargo run --release -p wefe-ml --example vertical_lr_epoch -- [rows]`.
//! Protocol cost without the network; `scripts/bench.sh vertical-lr` runs the
//! epoch between two processes over real gateways (wefe-node's `vertical_lr_bench`).

use std::time::Instant;

use wefe_core::{MemoryNetwork, PeerId};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::data::SplitMix64;
use wefe_ml::logistic::TrainParams;
use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};
use wefe_ml::{Features, Result};

fn table(rng: &mut SplitMix64, rows: usize, cols: usize) -> Result<Features> {
    let values = (0..rows * cols).map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0).collect();
    Features::new("synthetic", rows, cols, values)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let mut rng = SplitMix64::new(1);
    let guest_x = table(&mut rng, rows, 10)?;
    let host_x = table(&mut rng, rows, 20)?;
    let labels: Vec<f64> = (0..rows).map(|i| f64::from(guest_x.row(i)[0] > 0.0)).collect();
    let params = TrainParams { epochs: 1, batch_size: 1024, ..TrainParams::default() };
    let key = Keypair::generate(KeySize::B2048)?.into_private();
    let guest = Guest::new(params, key, guest_x, labels, None, 1)?;
    let host = Host::new(params, host_x, None)?;
    let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
    let hosts = [h];
    let net = MemoryNetwork::new(1 << 30);
    let (g_net, h_net) = (net.endpoint(g), net.endpoint(h));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let start = Instant::now();
    let (gr, hr) = rt.block_on(async {
        let gt = tokio::task::spawn(async move { run_guest(&g_net, &hosts, guest).await });
        let ht = tokio::task::spawn(async move { run_host(&h_net, &g, host).await });
        (gt.await, ht.await)
    });
    gr??;
    hr??;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"vertical-lr\",\"case\":\"epoch-in-memory\",\"n\":{rows},\"wall_s\":{wall:.3},\"per_s\":{:.1}}}",
        rows as f64 / wall
    );
    Ok(())
}
