//! Paillier-2048 micro-benchmarks (criterion): `encrypt-2048`, `decrypt-2048`,
//! `add-2048`, `mul-2048` (ciphertext × random 64-bit scalar) and
//! `inner-product-2048` (1024 terms with 64-bit scalars, one
//! multi-exponentiation), and the SecureBoost kernels: `hist-add` (4096 rows
//! × 4 features × 32 bins, throughput in additions), `gh-pack` (count, h and
//! g + 1 packed into one plaintext and encrypted with precomputed noise, per
//! row) and `split-pack-decrypt` (12 bin sums of 160-bit slots packed,
//! decrypted and unpacked, per split candidate). Rayon is limited to one thread, so the figures are
//! per core. `cargo bench -p wefe-crypto`; `scripts/bench.sh
//! paillier` prints the same operations as JSON lines.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rug::Integer;
use wefe_crypto::paillier::{MontCiphertext, unpack_slots};
use wefe_crypto::{Ciphertext, KeySize, Keypair};

/// Terms of the `inner-product-2048` case (one batch of vertical LR).
const TERMS: usize = 1024;

/// Deterministic 64-bit scalars with the top bit set (full 64-bit exponents).
fn scalars(count: usize, seed: u64) -> Vec<Integer> {
    let mut s = seed | 1;
    (0..count)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            Integer::from(s | (1 << 63))
        })
        .collect()
}

fn paillier(c: &mut Criterion) {
    // One rayon thread: `inner_product` then runs serially (per-core figures).
    // Criterion is not `Send`, so the global pool is set rather than `install`ed.
    rayon::ThreadPoolBuilder::new().num_threads(1).build_global().expect("one-thread global rayon pool");
    let keys = Keypair::generate(KeySize::B2048).expect("2048-bit key generation");
    let (pk, sk) = (keys.public(), keys.private());
    let ms = scalars(TERMS, 0x9e37_79b9_7f4a_7c15);
    let cts: Vec<Ciphertext> = pk.encrypt_batch(&ms).expect("encrypt");
    let ks = scalars(TERMS, 0xd1b5_4a32_d192_ed03);

    // Rotate through the inputs so no case hits one operand over and over.
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % TERMS;
        i
    };
    c.bench_function("encrypt-2048", |b| b.iter(|| pk.encrypt(black_box(&ms[next()])).expect("encrypt")));
    c.bench_function("decrypt-2048", |b| b.iter(|| sk.decrypt(black_box(&cts[next()])).expect("decrypt")));
    c.bench_function("add-2048", |b| {
        b.iter(|| {
            let x = next();
            pk.add(black_box(&cts[x]), black_box(&cts[(x + 1) % TERMS]))
        })
    });
    c.bench_function("mul-2048", |b| {
        b.iter(|| {
            let x = next();
            pk.mul_scalar(black_box(&cts[x]), black_box(&ks[x])).expect("mul")
        })
    });
    c.bench_function("inner-product-2048", |b| {
        b.iter(|| pk.inner_product(black_box(&cts), black_box(&ks)).expect("inner product"))
    });

    let (rows_n, features, bins) = (4096usize, 4usize, 32usize);
    let mcts: Vec<MontCiphertext> = (0..rows_n).map(|r| pk.to_montgomery(&cts[r % TERMS])).collect();
    let binned: Vec<Vec<u8>> =
        (0..features).map(|f| (0..rows_n).map(|r| ((r * 31 + f * 7) % bins) as u8).collect()).collect();
    let refs: Vec<&[u8]> = binned.iter().map(Vec::as_slice).collect();
    let rows: Vec<u32> = (0..rows_n as u32).collect();
    let mut group = c.benchmark_group("secureboost-2048");
    group.throughput(Throughput::Elements((rows_n * features) as u64));
    // One Montgomery multiplication per row and feature: ciphertext additions per second.
    group.bench_function("hist-add", |b| {
        b.iter(|| pk.encrypted_histograms_grouped(black_box(&mcts), &rows, &refs, bins, 1).expect("histograms"))
    });
    // What SecureBoost calls: features in joint tables where that saves
    // multiplications; elements are still rows × features.
    group.bench_function("hist-build", |b| {
        b.iter(|| pk.encrypted_histograms(black_box(&mcts), &rows, &refs, bins).expect("histograms"))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("gh-pack", |b| {
        b.iter_batched(
            || pk.noise().expect("noise"),
            |noise| {
                let (g, h) = (black_box(-0.25f64), black_box(0.1875f64));
                let mut m = Integer::from(((g + 1.0) * (1u64 << 40) as f64) as u64) << 96u32;
                m += Integer::from((h * (1u64 << 40) as f64) as u64) << 32u32;
                m += 1u32;
                pk.encrypt_with_noise(&m, noise).expect("encrypt")
            },
            BatchSize::SmallInput,
        )
    });
    let hist = pk.encrypted_histograms(&mcts, &rows, &refs, bins).expect("histograms");
    let bins12: Vec<MontCiphertext> = hist[0][..12].to_vec();
    group.throughput(Throughput::Elements(12));
    group.bench_function("split-pack-decrypt", |b| {
        b.iter(|| {
            let packed = pk.pack_shifted(black_box(&bins12), 160).expect("pack");
            unpack_slots(&sk.decrypt(&packed).expect("decrypt"), 160, 12)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Small samples: the whole run takes about a minute.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = paillier
}
criterion_main!(benches);
