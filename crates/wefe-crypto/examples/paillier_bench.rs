//! Paillier-2048 throughput, one JSON line per case (see CONVENTIONS.md,
//! Benchmarks). SecureBoost kernels: `hist-add-2048` (`n` = additions, one
//! per row and feature), `hist-build-2048` (`n` = rows × features through the
//! grouped kernel SecureBoost calls, which needs fewer additions),
//! `gh-pack-2048` (`n` = rows packed and encrypted with precomputed noise),
//! `split-pack-decrypt-2048` (`n` = split candidates, 12 per decryption);
//! `encrypt-djn-crt-2048` is `encrypt-2048`'s DJN encryption with the key
//! holder's CRT noise (`PrivateKey::crt_noise`);
//! `openssl-two-half-exps-2048` is the reference for `decrypt-2048`. Everything runs in a one-thread rayon pool so `per_s` is per
//! core. `--quick` shrinks the iteration counts.
//!
//! ```text
//! cargo run -p wefe-crypto --example paillier_bench --profile release
//! ```

use std::time::Instant;

use openssl::bn::{BigNum, BigNumContext};
use rug::Integer;
use rug::integer::Order;
use wefe_crypto::paillier::{Ciphertext, KeySize, Keypair, MontCiphertext, unpack_slots};

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

        // The same DJN noise by the key holder, modulo p² and q² (CrtNoise),
        // then one multiplication mod n per message.
        let crt_noise = sk.crt_noise();
        let (djn_crt, s) = time(|| {
            ms.iter()
                .map(|m| crt_noise.noise().and_then(|r| pk.encrypt_with_noise(m, r)))
                .collect::<wefe_crypto::Result<Vec<_>>>()
        });
        report("encrypt-djn-crt-2048", djn_crt?.len(), s);

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

        // Histogram kernel: rows × features additions in Montgomery form.
        let (rows_n, features, bins) = (if quick { 1024 } else { 4096 }, 4usize, 32usize);
        let mcts: Vec<MontCiphertext> = (0..rows_n).map(|i| pk.to_montgomery(&cts[i % cts.len()])).collect();
        let binned: Vec<Vec<u8>> =
            (0..features).map(|f| (0..rows_n).map(|r| ((r * 31 + f * 7) % bins) as u8).collect()).collect();
        let refs: Vec<&[u8]> = binned.iter().map(Vec::as_slice).collect();
        let rows: Vec<u32> = (0..rows_n as u32).collect();
        let (hist, s) = time(|| pk.encrypted_histograms_grouped(&mcts, &rows, &refs, bins, 1));
        let hist = hist?;
        report("hist-add-2048", rows_n * features, s);
        // The grouped kernel SecureBoost uses: rows × features contributions
        // per second (pairs of features share one multiplication per row here).
        let (built, s) = time(|| pk.encrypted_histograms(&mcts, &rows, &refs, bins));
        std::hint::black_box(built?);
        report("hist-build-2048", rows_n * features, s);

        // Gradient/hessian packing: count 1 in [0,32), h·2^40 in [32,96),
        // (g+1)·2^40 in [96,160), encrypted with precomputed noise.
        let gh_rows = 200 * k;
        let noises = pk.noise_batch(gh_rows)?;
        let (packed, s) = time(|| {
            noises
                .into_iter()
                .enumerate()
                .map(|(i, noise)| {
                    let (g, h) = ((i % 100) as f64 / 100.0 - 0.5, (i % 50) as f64 / 200.0);
                    let mut m = Integer::from(((g + 1.0) * (1u64 << 40) as f64) as u64) << 96u32;
                    m += Integer::from((h * (1u64 << 40) as f64) as u64) << 32u32;
                    m += 1u32;
                    pk.encrypt_with_noise(&m, noise)
                })
                .collect::<wefe_crypto::Result<Vec<_>>>()
        });
        report("gh-pack-2048", packed?.len(), s);

        // 12 split candidates' bin sums (160-bit slots) packed, decrypted once, unpacked.
        let groups = 2 * k;
        let bins12: Vec<MontCiphertext> = hist.iter().flatten().take(12).cloned().collect();
        let (slots, s) = time(|| -> wefe_crypto::Result<Vec<Integer>> {
            let mut out = Vec::new();
            for _ in 0..groups {
                let packed = pk.pack_shifted(&bins12, 160)?;
                out.extend(unpack_slots(&sk.decrypt(&packed)?, 160, 12));
            }
            Ok(out)
        });
        let slots = slots?;
        let direct = sk.decrypt(&pk.from_montgomery(&bins12[0]))?;
        assert_eq!(slots[0], direct, "packed slot 0 matches its bin");
        report("split-pack-decrypt-2048", slots.len(), s);

        // Reference: two constant-time 1024-bit-exponent powers mod 2048-bit
        // moduli by OpenSSL, i.e. the exponentiation cost of one CRT decryption.
        let reps = 50 * k;
        let bn = |x: &Integer| {
            let mut b = vec![0u8; x.significant_digits::<u8>()];
            x.write_digits(&mut b, Order::Msf);
            BigNum::from_slice(&b).expect("bignum")
        };
        let half_mod = Integer::from(pk.n_squared() >> 2048u32) | 1u32;
        let mut exp = bn(&(Integer::from(pk.n() >> 1024u32)));
        exp.set_const_time();
        let (m1, m2) = (bn(&half_mod), bn(&(Integer::from(&half_mod + 2u32))));
        let bases: Vec<BigNum> = cts.iter().take(reps).map(|c| bn(&(c.as_integer().clone() % &half_mod))).collect();
        let (_, s) = time(|| {
            let mut ctx = BigNumContext::new().expect("ctx");
            let mut r = BigNum::new().expect("bignum");
            for b in &bases {
                r.mod_exp(b, &exp, &m1, &mut ctx).expect("mod_exp");
                r.mod_exp(b, &exp, &m2, &mut ctx).expect("mod_exp");
                std::hint::black_box(&r);
            }
        });
        report("openssl-two-half-exps-2048", bases.len(), s);
        Ok(())
    })
}
