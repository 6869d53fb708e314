//! Known-answer and internal tests of the Paillier module.

use rug::Integer;

use super::*;

/// Toy key p = 11, q = 13 (n = 143, n² = 20449), h_s = (−2²)^n mod n²
/// = 139^143 mod 20449 = 14511.
///
/// Worked example, by hand and cross-checked with Python 3
/// (`pow(23, 143, 20449)` etc.):
/// - g = n + 1, m = 42, r = 23: 1 + m·n = 6007,
///   c = 6007 · 23^143 mod 20449 = 9637.
/// - λ = lcm(10, 12) = 60, μ = 60^(−1) mod 143 = 31 (60·31 = 1860 = 13·143 + 1);
///   L(9637^60 mod 20449)·μ mod 143 = 42.
/// - h_p = L_p((n+1)^10 mod 121)^(−1) mod 11: 1 + 10·143 = 1431 ≡ 100 (mod 121),
///   L_p = 99/11 = 9, 9^(−1) mod 11 = 5. h_q: 1 + 12·143 = 1717 ≡ 27 (mod 169),
///   L_q = 26/13 = 2, 2^(−1) mod 13 = 7.
/// - DJN with α = 5: c = 6007 · 14511^5 mod 20449 = 10812.
/// - m = 100, r = 7: c' = 15160; c·c' mod n² = 9264 decrypts to 142;
///   c³ mod n² = 10880 decrypts to 3·42 mod 143 = 126.
fn toy_key() -> PrivateKey {
    PrivateKey::from_parts(Integer::from(11), Integer::from(13), Integer::from(14511)).unwrap()
}

#[test]
fn known_answer_toy_key_constants() {
    let sk = toy_key();
    assert_eq!(sk.hp, 5);
    assert_eq!(sk.hq, 7);
    assert_eq!(sk.lambda, 60);
    assert_eq!(sk.mu, 31);
    assert_eq!(*sk.public().n_squared(), 20449);
}

#[test]
fn known_answer_encrypt_decrypt() {
    let sk = toy_key();
    let pk = sk.public();
    let c = pk.encrypt_with_r(&Integer::from(42), &Integer::from(23));
    assert_eq!(c.0, 9637);
    assert_eq!(sk.decrypt(&c).unwrap(), 42);
    assert_eq!(sk.decrypt_without_crt(&c).unwrap(), 42);
    let c2 = pk.encrypt_with_r(&Integer::from(100), &Integer::from(7));
    assert_eq!(c2.0, 15160);
    let sum = pk.add(&c, &c2);
    assert_eq!(sum.0, 9264);
    assert_eq!(sk.decrypt(&sum).unwrap(), 142);
    let triple = pk.mul_scalar(&c, &Integer::from(3)).unwrap();
    assert_eq!(triple.0, 10880);
    assert_eq!(sk.decrypt(&triple).unwrap(), 126);
}

#[test]
fn known_answer_djn_fixed_base() {
    let sk = toy_key();
    let c = sk.public().encrypt_with_alpha(&Integer::from(42), &Integer::from(5));
    assert_eq!(c.0, 10812);
    assert_eq!(sk.decrypt(&c).unwrap(), 42);
}

#[test]
fn fixed_base_table_matches_pow_mod() {
    let keys = Keypair::generate(KeySize::insecure(512)).unwrap();
    let pk = keys.public();
    for _ in 0..20 {
        let e = random_bits(pk.djn_bits).unwrap();
        let expect = Integer::from(pk.hs.pow_mod_ref(&e, &pk.n2).unwrap());
        assert_eq!(pk.table.pow(&e, &pk.n2), expect);
    }
    assert_eq!(pk.table.pow(&Integer::new(), &pk.n2), 1);
}

#[test]
fn toy_key_all_plaintexts_round_trip() {
    let sk = toy_key();
    let pk = sk.public();
    for m in 0..143u32 {
        let m = Integer::from(m);
        for c in [pk.encrypt(&m).unwrap(), sk.encrypt(&m).unwrap(), pk.encrypt_plain(&m).unwrap()] {
            assert_eq!(sk.decrypt(&c).unwrap(), m);
            assert_eq!(sk.decrypt_without_crt(&c).unwrap(), m);
        }
    }
}

#[test]
fn generated_key_has_safe_shape() {
    let keys = Keypair::generate(KeySize::insecure(512)).unwrap();
    let sk = keys.private();
    assert_eq!(sk.public().bits(), 512);
    assert_eq!(sk.p.significant_bits(), 256);
    assert_eq!(sk.q.significant_bits(), 256);
    assert_ne!(sk.p, sk.q);
    let gap = Integer::from(&sk.p - &sk.q).abs();
    assert!(gap > Integer::from(1) << 156u32);
    let phi = Integer::from(&sk.p_minus_1 * &sk.q_minus_1);
    assert_eq!(Integer::from(sk.public().n().gcd_ref(&phi)), 1);
}

#[test]
fn invalid_private_parts_are_rejected() {
    let hs = Integer::from(14511);
    assert!(PrivateKey::from_parts(Integer::from(11), Integer::from(11), hs.clone()).is_err());
    assert!(PrivateKey::from_parts(Integer::from(15), Integer::from(13), hs.clone()).is_err());
    assert!(PrivateKey::from_parts(Integer::from(11), Integer::from(3), hs).is_err());
    // 2 is a unit but not an n-th residue mod n².
    assert!(matches!(
        PrivateKey::from_parts(Integer::from(11), Integer::from(13), Integer::from(2)),
        Err(Error::InvalidKey("h_s is not an n-th residue"))
    ));
}

#[test]
fn wipe_clears_value() {
    let mut x = Integer::from(0xdead_beef_u64) << 300u32;
    x += 12345;
    wipe(&mut x);
    assert_eq!(x, 0);
}

#[test]
fn debug_does_not_print_secrets() {
    let sk = toy_key();
    let s = format!("{sk:?}");
    assert!(!s.contains("11") && !s.contains("13"), "{s}");
}

fn key512() -> &'static Keypair {
    static KEY: std::sync::OnceLock<Keypair> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Keypair::generate(KeySize::insecure(512)).unwrap())
}

fn mont_encrypt(pk: &PublicKey, m: u64) -> MontCiphertext {
    pk.to_montgomery(&pk.encrypt(&Integer::from(m)).unwrap())
}

#[test]
fn montgomery_add_equals_add() {
    for keys in [key512(), &Keypair::generate(KeySize::insecure(1024)).unwrap()] {
        let (pk, sk) = (keys.public(), keys.private());
        let a = pk.encrypt(&Integer::from(41)).unwrap();
        let b = pk.encrypt(&Integer::from(1)).unwrap();
        let mut acc = pk.to_montgomery(&a);
        assert_eq!(pk.from_montgomery(&acc), a, "round trip");
        pk.montgomery_add_assign(&mut acc, &pk.to_montgomery(&b));
        assert_eq!(pk.from_montgomery(&acc), pk.add(&a, &b));
        assert_eq!(sk.decrypt(&pk.from_montgomery(&acc)).unwrap(), 42);
        let mut z = pk.montgomery_zero();
        assert_eq!(*pk.from_montgomery(&z).as_integer(), 1);
        pk.montgomery_add_assign(&mut z, &pk.to_montgomery(&a));
        assert_eq!(pk.from_montgomery(&z), a, "zero is the identity");
        assert_eq!(
            format!("{acc:?}"),
            format!("MontCiphertext({} limbs)", pk.n_squared().significant_bits().div_ceil(64))
        );
    }
}

#[test]
fn montgomery_sub_is_parent_minus_child() {
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    let parent = mont_encrypt(pk, 1000);
    let child = mont_encrypt(pk, 999);
    let d = pk.montgomery_sub(&parent, &child).unwrap();
    assert_eq!(sk.decrypt(&pk.from_montgomery(&d)).unwrap(), 1);
    let neg = pk.montgomery_sub(&child, &parent).unwrap();
    assert_eq!(sk.decrypt(&pk.from_montgomery(&neg)).unwrap(), Integer::from(pk.n() - 1u32));
    let zero_value = pk.to_montgomery(&Ciphertext(Integer::new()));
    assert!(pk.montgomery_sub(&parent, &zero_value).is_err(), "0 is not invertible");
    // A ciphertext of a key of another size: error, not a panic.
    let other = Keypair::generate(KeySize::insecure(1024)).unwrap();
    let foreign = mont_encrypt(other.public(), 1);
    assert!(pk.montgomery_sub(&parent, &foreign).is_err());
    let mut acc = parent.clone();
    pk.montgomery_add_assign(&mut acc, &foreign);
    assert!(sk.decrypt(&pk.from_montgomery(&acc)).is_err(), "garbage fails to decrypt");
}

fn naive_histograms(rows: &[u32], binned: &[&[u8]], bins: usize, values: &[u64]) -> Vec<Vec<Integer>> {
    binned
        .iter()
        .map(|f| {
            let mut h = vec![Integer::new(); bins];
            for &r in rows {
                h[usize::from(f[r as usize])] += values[r as usize];
            }
            h
        })
        .collect()
}

fn check_histograms(keys: &Keypair, rows_total: usize, features: usize, bins: usize) {
    let (pk, sk) = (keys.public(), keys.private());
    let values: Vec<u64> = (0..rows_total as u64).map(|i| i * 7919 % 1000 + 1).collect();
    let ms: Vec<Integer> = values.iter().map(|&v| Integer::from(v)).collect();
    let cts: Vec<MontCiphertext> = pk.encrypt_batch(&ms).unwrap().iter().map(|c| pk.to_montgomery(c)).collect();
    let binned: Vec<Vec<u8>> =
        (0..features).map(|f| (0..rows_total).map(|r| ((r * (f + 3) + r / 5) % bins) as u8).collect()).collect();
    let refs: Vec<&[u8]> = binned.iter().map(Vec::as_slice).collect();
    let rows: Vec<u32> = (0..rows_total as u32).filter(|r| r % 3 != 1).collect();
    let want = naive_histograms(&rows, &refs, bins, &values);
    // The automatic grouping, one multiplication per row and feature, and
    // joint tables of 2 and 3 features (the last group shorter when
    // `features` is not a multiple): the same sums.
    let auto = pk.encrypted_histograms(&cts, &rows, &refs, bins).unwrap();
    for (group, got) in std::iter::once((0, auto))
        .chain((1..=3).map(|k| (k, pk.encrypted_histograms_grouped(&cts, &rows, &refs, bins, k).unwrap())))
    {
        assert_eq!(got.len(), features, "group {group}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), bins, "group {group}");
            for (gc, wv) in g.iter().zip(w) {
                assert_eq!(sk.decrypt(&pk.from_montgomery(gc)).unwrap(), *wv, "group {group}");
            }
        }
    }
}

#[test]
fn grouped_histograms_of_sparse_bins() {
    // Few distinct (bin, bin) pairs, empty bins, a subset of rows, 5
    // features in groups of 2 and 3: empty bins are the identity.
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    let rows_total = 50;
    let values: Vec<u64> = (0..rows_total as u64).map(|i| i + 1).collect();
    let ms: Vec<Integer> = values.iter().map(|&v| Integer::from(v)).collect();
    let cts: Vec<MontCiphertext> = pk.encrypt_batch(&ms).unwrap().iter().map(|c| pk.to_montgomery(c)).collect();
    let binned: Vec<Vec<u8>> =
        (0..5).map(|f| (0..rows_total).map(|r| ((r % 3) * (f % 2 + 1)) as u8).collect()).collect();
    let refs: Vec<&[u8]> = binned.iter().map(Vec::as_slice).collect();
    let rows: Vec<u32> = (5..45).collect();
    let want = naive_histograms(&rows, &refs, 6, &values);
    for group in [2, 3, 9] {
        let got = pk.encrypted_histograms_grouped(&cts, &rows, &refs, 6, group).unwrap();
        for (g, w) in got.iter().zip(&want) {
            for (gc, wv) in g.iter().zip(w) {
                assert_eq!(sk.decrypt(&pk.from_montgomery(gc)).unwrap(), *wv);
            }
        }
        assert_eq!(got[0][5], pk.montgomery_zero(), "bin 5 of feature 0 is empty");
    }
}

#[test]
fn histogram_group_size_follows_the_cost_model() {
    use super::histogram_group_size as k;
    // FATE's shape: 100k rows, 32 bins + missing: pairs (0.52 vs 1 multiplication per row and feature).
    assert_eq!(k(100_000, 33, 300, 2), 2);
    // A million rows: triples pay off (32^3 cells < rows / 6).
    assert_eq!(k(1_000_000, 32, 300, 2), 3);
    // 64 bins: a triple table is too large.
    assert_eq!(k(1_000_000, 64, 300, 2), 2);
    // Few rows: one pass per feature.
    assert_eq!(k(1_000, 32, 300, 2), 1);
    assert_eq!(k(0, 32, 300, 2), 1);
    // Too few features to give every thread a group.
    assert_eq!(k(100_000, 33, 3, 2), 1);
    assert_eq!(k(100_000, 33, 4, 2), 2);
    assert_eq!(k(100_000, 33, 1, 0), 1);
}

#[test]
fn histograms_equal_naive_sums() {
    check_histograms(key512(), 60, 3, 8);
}

#[test]
fn histograms_2048_bit_key() {
    let keys = Keypair::generate(KeySize::B2048).unwrap();
    check_histograms(&keys, 40, 2, 4);
}

#[test]
fn histogram_input_errors() {
    let pk = key512().public();
    let cts: Vec<MontCiphertext> = (0..4).map(|i| mont_encrypt(pk, i)).collect();
    let good: &[u8] = &[0, 1, 2, 3];
    let bad_bin: &[u8] = &[0, 1, 9, 3];
    let short: &[u8] = &[0, 1];
    assert!(matches!(
        pk.encrypted_histograms(&cts, &[0, 1, 2], &[good, bad_bin], 4),
        Err(Error::BinOutOfRange { row: 2, bin: 9, bins: 4 })
    ));
    assert!(matches!(pk.encrypted_histograms(&cts, &[4], &[good], 4), Err(Error::RowOutOfRange { row: 4, rows: 4 })));
    assert!(matches!(pk.encrypted_histograms(&cts, &[3], &[short], 4), Err(Error::RowOutOfRange { row: 3, rows: 2 })));
    assert!(matches!(pk.encrypted_histograms(&cts, &[0], &[good], 0), Err(Error::BinOutOfRange { .. })));
    let other = Keypair::generate(KeySize::insecure(1024)).unwrap();
    let foreign = vec![mont_encrypt(other.public(), 1)];
    assert!(matches!(pk.encrypted_histograms(&foreign, &[0], &[good], 4), Err(Error::CiphertextOutOfRange)));
    // No rows or no features: empty sums / no histograms.
    let empty = pk.encrypted_histograms(&cts, &[], &[good], 2).unwrap();
    assert_eq!(empty[0], vec![pk.montgomery_zero(), pk.montgomery_zero()]);
    assert!(pk.encrypted_histograms(&cts, &[0], &[], 2).unwrap().is_empty());
    // The same errors from a joint table.
    assert!(matches!(
        pk.encrypted_histograms_grouped(&cts, &[0, 1, 2], &[good, bad_bin], 4, 2),
        Err(Error::BinOutOfRange { row: 2, bin: 9, bins: 4 })
    ));
    assert!(matches!(
        pk.encrypted_histograms_grouped(&cts, &[3], &[good, short], 4, 2),
        Err(Error::RowOutOfRange { row: 3, rows: 2 })
    ));
    assert!(matches!(
        pk.encrypted_histograms_grouped(&cts, &[0], &[good, good], 0, 2),
        Err(Error::BinOutOfRange { .. })
    ));
}

#[test]
fn pack_and_unpack_round_trip() {
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    // 510 bits of room: up to 3 slots of 160 bits, or 15 of 34.
    for (slot_bits, values) in [
        (160u32, vec![Integer::from(5), (Integer::from(1) << 160u32) - 1u32, Integer::from(123_456_789)]),
        (34, (0..15u64).map(|i| if i % 4 == 0 { Integer::from((1u64 << 34) - 1) } else { Integer::from(i) }).collect()),
        (510, vec![(Integer::from(1) << 510u32) - 1u32]),
        (8, vec![Integer::new(); 3]),
    ] {
        let parts: Vec<MontCiphertext> = values.iter().map(|v| pk.to_montgomery(&pk.encrypt(v).unwrap())).collect();
        let packed = pk.pack_shifted(&parts, slot_bits).unwrap();
        let m = sk.decrypt(&packed).unwrap();
        assert_eq!(unpack_slots(&m, slot_bits, values.len()), values, "slot_bits {slot_bits}");
    }
    assert_eq!(sk.decrypt(&pk.pack_shifted(&[], 8).unwrap()).unwrap(), 0);
    assert_eq!(unpack_slots(&Integer::from(0x01_02_03u32), 8, 4), [3, 2, 1, 0].map(Integer::from));
}

#[test]
fn pack_errors_when_slots_exceed_room() {
    let pk = key512().public();
    let parts: Vec<MontCiphertext> = (0..4).map(|i| mont_encrypt(pk, i)).collect();
    assert!(matches!(pk.pack_shifted(&parts, 128), Err(Error::PackOverflow { slots: 4, slot_bits: 128, room: 510 })));
    assert!(pk.pack_shifted(&parts[..3], 170).is_ok());
    assert!(pk.pack_shifted(&parts[..3], 171).is_err());
    assert!(pk.pack_shifted(&parts, 0).is_err());
    assert!(pk.pack_shifted(&parts, u32::MAX).is_err());
}

#[test]
fn noise_encryption_decrypts() {
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    let noises = pk.noise_batch(20).unwrap();
    let n_minus_1 = Integer::from(pk.n() - 1u32);
    let ms: Vec<Integer> =
        (0..20u32).map(|i| if i == 19 { n_minus_1.clone() } else { Integer::from(i * 1000) }).collect();
    let cts: Vec<Ciphertext> = ms.iter().zip(noises).map(|(m, r)| pk.encrypt_with_noise(m, r).unwrap()).collect();
    for (c, m) in cts.iter().zip(&ms) {
        assert_eq!(sk.decrypt(c).unwrap(), *m);
    }
    assert_ne!(cts[0], pk.encrypt_with_noise(&Integer::new(), pk.noise().unwrap()).unwrap(), "fresh noise each time");
    assert!(matches!(pk.encrypt_with_noise(pk.n(), pk.noise().unwrap()), Err(Error::PlaintextOutOfRange)));
    assert_eq!(format!("{:?}", pk.noise().unwrap()), "Noise(..)");
    // The toy key's known answer: DJN with α = 5 gives 10812 (see toy_key).
    let toy = toy_key();
    let r = Noise(toy.public().table.pow(&Integer::from(5), toy.public().n_squared()));
    assert_eq!(toy.public().encrypt_with_noise(&Integer::from(42), r).unwrap().0, 10812);
}

#[test]
fn noise_pool_supplies_and_falls_back() {
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    let pool = NoisePool::spawn(pk.clone(), 4);
    let seen: Vec<Ciphertext> = (0..10u32)
        .map(|i| {
            let c = pk.encrypt_with_noise(&Integer::from(i), pool.take().unwrap()).unwrap();
            assert_eq!(sk.decrypt(&c).unwrap(), i);
            c
        })
        .collect();
    let zero_a = pk.encrypt_with_noise(&Integer::new(), pool.take().unwrap()).unwrap();
    assert!(!seen.contains(&zero_a));
    drop(pool); // joins the producer
}

#[test]
fn decrypt_backends_agree_on_random_ciphertexts() {
    let keys = key512();
    let (pk, sk) = (keys.public(), keys.private());
    for _ in 0..30 {
        // Random units of Z_{n²} (not only encryptions): every path must agree.
        let c = Ciphertext(loop {
            let x = random_bits(pk.bits() * 2).unwrap() % pk.n_squared();
            if x > 0 && Integer::from(x.gcd_ref(pk.n())) == 1 {
                break x;
            }
        });
        let m = sk.decrypt(&c).unwrap();
        assert_eq!(m, sk.decrypt_variable_time(&c).unwrap());
        assert_eq!(m, sk.decrypt_without_crt(&c).unwrap());
    }
    let ms: Vec<Integer> = (0..8u32).map(|i| Integer::from(i) << 400u32).collect();
    let cts = sk.encrypt_batch(&ms).unwrap();
    assert_eq!(sk.decrypt_batch(&cts).unwrap(), ms);
}
