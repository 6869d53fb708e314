//! Per-element kernels of the PSI protocols (criterion), on one rayon thread
//! so the figures are per core; throughput is in ids.
//!
//! - `ecdh-blind`: hash an id to ristretto255 and multiply (one batch of 32 768).
//! - `ecdh-reblind`: decompress a peer's point, multiply, compress (the same batch).
//! - `kkrt-receiver-batch` / `kkrt-sender-batch`: one matrix batch of 32 768
//!   bins — Cuckoo-placed ids coded, the PRG, the transposes and the OPRF
//!   outputs; the sender's side evaluates every id that may sit in its bins.
//!
//! `cargo bench -p wefe-mpc`; `scripts/bench.sh psi` runs the protocols end to end.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wefe_mpc::psi::ecdh::{BATCH_ITEMS, EcdhParams, EcdhParty, Role};
use wefe_mpc::psi::kkrt::{self, KkrtParams};

fn ids(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{prefix}-{i:010}").into_bytes()).collect()
}

fn kernels(c: &mut Criterion) {
    rayon::ThreadPoolBuilder::new().num_threads(1).build_global().expect("one-thread global rayon pool");
    let mut group = c.benchmark_group("psi");
    group.sample_size(10).measurement_time(Duration::from_secs(20));

    let n = BATCH_ITEMS;
    group.throughput(Throughput::Elements(n as u64));
    let make = |role| EcdhParty::new(EcdhParams::default(), role, ids("cust", n)).expect("party");
    group.bench_function("ecdh-blind", |b| {
        b.iter_batched(
            || make(Role::Initiator).on_hello(make(Role::Responder).hello()).expect("hello"),
            |mut stream| black_box(stream.next_blinded()),
            criterion::BatchSize::PerIteration,
        )
    });
    let batch =
        make(Role::Initiator).on_hello(make(Role::Responder).hello()).expect("hello").next_blinded().expect("batch");
    group.bench_function("ecdh-reblind", |b| {
        b.iter_batched(
            || make(Role::Responder).on_hello(make(Role::Initiator).hello()).expect("hello"),
            |mut stream| black_box(stream.on_blinded(batch.clone()).expect("reblind")),
            criterion::BatchSize::PerIteration,
        )
    });

    // One batch of bins holds about BATCH / 1.27 receiver ids.
    let items = 25_000;
    group.throughput(Throughput::Elements(items as u64));
    let setup = || {
        let receiver = kkrt::Receiver::new(KkrtParams::default(), ids("r", items)).expect("receiver");
        let sender = kkrt::Sender::new(KkrtParams::default(), ids("s", items)).expect("sender");
        let (base, sender) = sender.on_hello(receiver.hello()).expect("hello");
        (receiver.on_base(base).expect("base"), sender)
    };
    group.bench_function("kkrt-receiver-batch", |b| {
        b.iter_batched(
            setup,
            |(mut r, _)| black_box(r.next_matrix().expect("matrix")),
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("kkrt-sender-batch", |b| {
        b.iter_batched(
            || {
                let (mut r, s) = setup();
                let (batch, _) = r.next_matrix().expect("matrix").expect("a batch");
                (batch, s)
            },
            |(batch, mut s)| black_box(s.on_matrix(batch).expect("evaluate")),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
