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
