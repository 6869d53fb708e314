//! National-cryptography micro-benchmarks (criterion), one core each:
//! `sm4-gcm-seal-1mib` and `sm4-gcm-open-1mib` (one gateway chunk),
//! `sm3-1mib`, `sm2-sign` and `sm2-verify` (a 1 KiB message, default id),
//! `sm2-ecdh-kdf` (a session key agreement) and `cert-check` (a member
//! certificate against one trusted root). `cargo bench -p wefe-crypto --bench sm`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wefe_crypto::cert;
use wefe_crypto::sm::{self, Sm2KeyPair, Sm4Gcm};

const MIB: usize = 1 << 20;

fn sm(c: &mut Criterion) {
    let data = vec![0x5au8; MIB];
    let gcm = Sm4Gcm::new(&[7; 16]).expect("key");
    let nonce = [3u8; 12];
    let sealed = gcm.seal(&nonce, &[], &data);

    let mut group = c.benchmark_group("sm");
    group.measurement_time(Duration::from_secs(5)).sample_size(20);
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("sm4-gcm-seal-1mib", |b| b.iter(|| gcm.seal(&nonce, &[], black_box(&data))));
    group.bench_function("sm4-gcm-open-1mib", |b| b.iter(|| gcm.open(&nonce, &[], black_box(&sealed)).expect("open")));
    group.bench_function("sm3-1mib", |b| b.iter(|| sm::sm3(black_box(&data))));
    group.finish();

    let key = Sm2KeyPair::generate().expect("key");
    let peer = Sm2KeyPair::generate().expect("key");
    let message = &data[..1024];
    let signature = key.sign(message).expect("sign");
    let now = 1_800_000_000;
    let root = cert::create_root(&key, "Bench CA", now - 86_400, now + 86_400).expect("root");
    let csr = cert::create_csr(&peer, "Bench member", &[1; 20]).expect("csr");
    let member = cert::issue(&key, &root, &csr, 1, now - 60, now + 60).expect("issue");

    let mut group = c.benchmark_group("sm");
    group.measurement_time(Duration::from_secs(5)).sample_size(50);
    group.bench_function("sm2-sign", |b| b.iter(|| key.sign(black_box(message)).expect("sign")));
    group.bench_function("sm2-verify", |b| {
        b.iter(|| key.public_key().verify(black_box(message), &signature).expect("verify"))
    });
    group.bench_function("sm2-ecdh-kdf", |b| {
        b.iter(|| sm::agree(&key, &peer.public_key(), black_box(b"transcript"), 16).expect("agree"))
    });
    group.bench_function("cert-check", |b| {
        b.iter(|| member.check(&[root.public_key], now, &[1; 20], &peer.public_key()).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, sm);
criterion_main!(benches);
