//! Paillier-2048 throughput, one JSON line per case (see CONVENTIONS.md,
//! Benchmarks). Everything runs in a one-thread rayon pool so `per_s` is per
//! core. `--quick` shrinks the iteration counts.
//!
//! ```text
//! cargo run -p wefe-crypto --example paillier_bench --profile release
//! ```

use std::time::Instant;

use rug::Integer;
use wefe_crypto::paillier::{Ciphertext, KeySize, Keypair};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn report(case: &str, n: usize, wall_s: f64) {
    println!(
        "{{\"bench\":\"paillier\",\"case\":\"{case}\",\"n\":{n},\"wall_s\":{wall_s:.4},\"per_s\":{:.1},\"peak_rss_mib\":{:.1}}}",
        n as f64 / wall_s,
        peak_rss_mib()
    );
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// Deterministic 64-bit scalars with the top bit set (full 64-bit exponents).
fn scalars(count: usize) -> Vec<Integer> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            Integer::from(s | (1 << 63))
        })
        .collect()
}

fn main() -> wefe_crypto::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let k = if quick { 1 } else { 10 };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("rayon pool");
    pool.install(|| -> wefe_crypto::Result<()> {
        let (keys, keygen_s) = time(|| Keypair::generate(KeySize::B2048));
        let keys = keys?;
        report("keygen-2048", 1, keygen_s);
        let (pk, sk) = (keys.public(), keys.private());
        let ms = scalars(200 * k);

        let (cts, s) = time(|| ms.iter().map(|m| pk.encrypt(m)).collect::<wefe_crypto::Result<Vec<Ciphertext>>>());
        let cts = cts?;
        report("encrypt-2048", cts.len(), s);

        let (crt, s) = time(|| ms.iter().take(50 * k).map(|m| sk.encrypt(m)).collect::<wefe_crypto::Result<Vec<_>>>());
        report("encrypt-crt-2048", crt?.len(), s);

        let (plain, s) =
            time(|| ms.iter().take(5 * k).map(|m| pk.encrypt_plain(m)).collect::<wefe_crypto::Result<Vec<_>>>());
        report("encrypt-plain-2048", plain?.len(), s);

        let (dec, s) = time(|| cts.iter().take(50 * k).map(|c| sk.decrypt(c)).collect::<wefe_crypto::Result<Vec<_>>>());
        let dec = dec?;
        assert!(dec.iter().zip(&ms).all(|(a, b)| a == b), "decryption mismatch");
        report("decrypt-2048", dec.len(), s);

        let (dec, s) = time(|| {
            cts.iter().take(50 * k).map(|c| sk.decrypt_variable_time(c)).collect::<wefe_crypto::Result<Vec<_>>>()
        });
        let dec = dec?;
        assert!(dec.iter().zip(&ms).all(|(a, b)| a == b), "decryption mismatch");
        report("decrypt-vartime-2048", dec.len(), s);

        let reps = 2000 * k;
        let (acc, s) = time(|| {
            let mut acc = cts[0].clone();
            for i in 0..reps {
                acc = pk.add(&acc, &cts[i % cts.len()]);
            }
            acc
        });
        std::hint::black_box(acc);
        report("add-2048", reps, s);

        let xs = scalars(cts.len());
        let (prods, s) =
            time(|| cts.iter().zip(&xs).map(|(c, x)| pk.mul_scalar(c, x)).collect::<wefe_crypto::Result<Vec<_>>>());
        report("mul-2048", prods?.len(), s);

        let terms = if quick { 200 } else { 1000 };
        let big_cts: Vec<Ciphertext> = (0..terms).map(|i| cts[i % cts.len()].clone()).collect();
        let big_xs = scalars(terms);
        let (ip, s) = time(|| pk.inner_product(&big_cts, &big_xs));
        std::hint::black_box(ip?);
        report("inner-product-2048", terms, s);

        let (rr, s) = time(|| cts.iter().map(|c| pk.rerandomize(c)).collect::<wefe_crypto::Result<Vec<_>>>());
        report("rerandomize-2048", rr?.len(), s);
        Ok(())
    })
}
