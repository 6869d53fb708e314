//! Paillier-2048 micro-benchmarks (criterion): `encrypt-2048`, `decrypt-2048`,
//! `add-2048`, `mul-2048` (ciphertext × random 64-bit scalar) and
//! `inner-product-2048` (1024 terms with 64-bit scalars, one
//! multi-exponentiation). Rayon is limited to one thread, so the figures are
//! per core. `cargo bench -p wefe-crypto`; `scripts/bench.sh
//! paillier` prints the same operations as JSON lines.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rug::Integer;
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
