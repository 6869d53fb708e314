//! Paillier: key policy, round trips, homomorphism (proptest), CRT/non-CRT and
//! DJN/plain/CRT-encryption agreement, fixed-point edges, malformed bytes.

use std::sync::OnceLock;

use proptest::prelude::*;
use rug::Integer;
use wefe_crypto::Error;
use wefe_crypto::paillier::{Ciphertext, FixedPoint, KeySize, Keypair, PrivateKey, PublicKey};

/// A few random insecure keys shared by the property tests (generating one
/// per case would dominate the run time).
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [512, 512, 768, 1024]
            .into_iter()
            .map(|bits| Keypair::generate(KeySize::insecure(bits)).unwrap().into_private())
            .collect()
    })
}

fn key_index() -> impl Strategy<Value = usize> {
    0..4usize
}

/// A plaintext in [0, n) from 64 random bytes.
fn plaintext(pk: &PublicKey, seed: &[u8]) -> Integer {
    Integer::from_digits(seed, rug::integer::Order::Msf) % pk.n()
}

fn signed(pk: &PublicKey, v: i128) -> Integer {
    if v < 0 { Integer::from(v) + pk.n() } else { Integer::from(v) }
}

#[test]
fn key_size_policy() {
    for size in
        [KeySize::new(1024), KeySize::new(2047), KeySize::new(4096), KeySize::insecure(1023), KeySize::insecure(128)]
    {
        assert!(matches!(Keypair::generate(size), Err(Error::KeySize { .. })), "{size:?}");
    }
    assert_eq!(KeySize::default(), KeySize::B2048);
}

#[test]
fn key_2048_round_trip_and_serialization() {
    let keys = Keypair::generate(KeySize::default()).unwrap();
    let (pk, sk) = (keys.public(), keys.private());
    assert_eq!(pk.bits(), 2048);
    let fp = FixedPoint::default();
    let xs = [0.0, 1.0, -1.0, std::f64::consts::PI, -123_456.789, 1e-9];
    let cts: Vec<Ciphertext> = xs.iter().map(|&x| pk.encrypt(&fp.encode(pk, x).unwrap()).unwrap()).collect();
    for (c, &x) in cts.iter().zip(&xs) {
        let got = fp.decode(pk, &sk.decrypt(c).unwrap()).unwrap();
        assert!((got - x).abs() <= 2f64.powi(-32), "{got} vs {x}");
        assert_eq!(sk.decrypt(c).unwrap(), sk.decrypt_without_crt(c).unwrap());
        assert_eq!(sk.decrypt(c).unwrap(), sk.decrypt_variable_time(c).unwrap());
        let bytes = c.to_bytes(pk);
        assert_eq!(bytes.len(), 4 + 512);
        assert_eq!(&Ciphertext::from_bytes(pk, &bytes).unwrap(), c);
    }
    let pk2 = PublicKey::from_bytes(&pk.to_bytes()).unwrap();
    assert_eq!(&pk2, pk);
    let sk2 = PrivateKey::from_bytes(&sk.to_bytes()).unwrap();
    assert_eq!(sk2.public(), pk);
    // A ciphertext made with the decoded public key decrypts under the decoded private key.
    let c = pk2.encrypt(&Integer::from(77)).unwrap();
    assert_eq!(sk2.decrypt(&c).unwrap(), 77);
    assert_eq!(sk.decrypt(&sk2.encrypt(&Integer::from(78)).unwrap()).unwrap(), 78);
}

#[test]
fn key_3072_is_allowed() {
    let keys = Keypair::generate(KeySize::B3072).unwrap();
    let (pk, sk) = (keys.public(), keys.private());
    assert_eq!(pk.bits(), 3072);
    let m = Integer::from(123_456_789u64);
    assert_eq!(sk.decrypt(&pk.encrypt(&m).unwrap()).unwrap(), m);
}

#[test]
fn plaintext_range_is_checked() {
    let sk = &keys()[0];
    let pk = sk.public();
    assert!(matches!(pk.encrypt(pk.n()), Err(Error::PlaintextOutOfRange)));
    assert!(matches!(pk.encrypt(&Integer::from(-1)), Err(Error::PlaintextOutOfRange)));
    assert!(matches!(sk.encrypt(pk.n()), Err(Error::PlaintextOutOfRange)));
    let max = Integer::from(pk.n() - 1u32);
    assert_eq!(sk.decrypt(&pk.encrypt(&max).unwrap()).unwrap(), max);
}

#[test]
fn batch_apis_match_single() {
    let sk = &keys()[1];
    let pk = sk.public();
    let ms: Vec<Integer> = (0..64u32).map(|i| Integer::from(i) * 1_000_003u32).collect();
    let cts = pk.encrypt_batch(&ms).unwrap();
    assert_eq!(sk.decrypt_batch(&cts).unwrap(), ms);
    let cts = sk.encrypt_batch(&ms).unwrap();
    assert_eq!(sk.decrypt_batch(&cts).unwrap(), ms);
    assert!(pk.encrypt_batch(&[Integer::from(-5)]).is_err());
}

#[test]
fn inner_product_large_and_signed() {
    let sk = &keys()[0];
    let pk = sk.public();
    // Large enough to take the parallel, chunked path.
    let ds: Vec<i64> = (0..1500).map(|i| (i * 7919) % 2001 - 1000).collect();
    let xs: Vec<i64> = (0..1500).map(|i| ((i * 104_729) % (1 << 40)) - (1 << 39)).collect();
    let cts: Vec<Ciphertext> = ds.iter().map(|&d| pk.encrypt(&signed(pk, d.into())).unwrap()).collect();
    let xi: Vec<Integer> = xs.iter().map(|&x| Integer::from(x)).collect();
    let expect: i128 = ds.iter().zip(&xs).map(|(&d, &x)| i128::from(d) * i128::from(x)).sum();
    let got = pk.inner_product(&cts, &xi).unwrap();
    assert_eq!(FixedPoint::decode_integer(pk, &sk.decrypt(&got).unwrap()).unwrap(), expect);
    assert!(matches!(pk.inner_product(&cts[..2], &xi[..3]), Err(Error::LengthMismatch { left: 2, right: 3 })));
    let zero = pk.inner_product(&[], &[]).unwrap();
    assert_eq!(sk.decrypt(&zero).unwrap(), 0);
}

#[test]
fn inner_products_share_bases_and_match_single_ones() {
    let sk = &keys()[0];
    let pk = sk.public();
    let ds: Vec<i64> = (0..70).map(|i| (i * 7919) % 2001 - 1000).collect();
    let cts: Vec<Ciphertext> = ds.iter().map(|&d| pk.encrypt(&signed(pk, d.into())).unwrap()).collect();
    // Signed 40-bit scalars, one all-zero vector, one with i64 extremes: the shared path.
    let mut vectors: Vec<Vec<i64>> =
        (0..6).map(|j| (0..70).map(|i| ((i * 104_729 + j * 31) % (1 << 40)) - (1 << 39)).collect()).collect();
    vectors.push(vec![0; 70]);
    vectors.push((0..70).map(|i| if i % 2 == 0 { i64::MAX } else { i64::MIN + 1 }).collect());
    let xs: Vec<Vec<Integer>> = vectors.iter().map(|v| v.iter().map(|&x| Integer::from(x)).collect()).collect();
    let got = pk.inner_products(&cts, &xs).unwrap();
    for (v, c) in vectors.iter().zip(&got) {
        let expect: i128 = ds.iter().zip(v).map(|(&d, &x)| i128::from(d) * i128::from(x)).sum();
        assert_eq!(FixedPoint::decode_integer(pk, &sk.decrypt(c).unwrap()).unwrap(), expect);
    }
    // Few vectors or wide scalars take the per-vector path; lengths are checked.
    let wide = vec![vec![Integer::from(1) << 100u32; 70]];
    let expect = Integer::from(ds.iter().sum::<i64>()) << 100u32;
    let got = pk.inner_products(&cts, &wide).unwrap();
    assert_eq!(FixedPoint::decode_integer(pk, &sk.decrypt(&got[0]).unwrap()).unwrap(), expect.to_i128().unwrap());
    let short = vec![xs[0][..3].to_vec()];
    assert!(matches!(pk.inner_products(&cts, &short), Err(Error::LengthMismatch { left: 70, right: 3 })));
}

#[test]
fn fixed_point_edges() {
    let sk = &keys()[0];
    let pk = sk.public();
    let fp = FixedPoint::default();
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(fp.encode(pk, x), Err(Error::NotFinite(_))));
    }
    assert!(matches!(fp.encode(pk, f64::MAX), Err(Error::EncodeOverflow { .. })));
    assert!(matches!(fp.encode(pk, -f64::MAX), Err(Error::EncodeOverflow { .. })));
    assert_eq!(fp.encode(pk, -0.0).unwrap(), 0);
    // Resolution 2^-32: half a step rounds away from zero, less rounds to zero.
    assert_eq!(fp.encode(pk, 2f64.powi(-33)).unwrap(), 1);
    assert_eq!(fp.encode(pk, 2f64.powi(-34)).unwrap(), 0);
    assert_eq!(fp.encode(pk, -1.0).unwrap(), Integer::from(pk.n() - (1u64 << 32)));
    // The largest encodable magnitude is exactly max_int; one more step overflows.
    let max = pk.max_int().clone();
    assert_eq!(FixedPoint::decode_integer(pk, &max).unwrap(), max);
    let min = Integer::from(pk.n() - &max);
    assert_eq!(FixedPoint::decode_integer(pk, &min).unwrap(), Integer::from(-&max));
    let band = Integer::from(&max + 1u32);
    assert!(matches!(FixedPoint::decode_integer(pk, &band), Err(Error::DecodeOverflow)));
    let band = Integer::from(&min - 1u32);
    assert!(matches!(FixedPoint::decode_integer(pk, &band), Err(Error::DecodeOverflow)));
    assert!(matches!(FixedPoint::decode_integer(pk, pk.n()), Err(Error::PlaintextOutOfRange)));
    // Largest f64 below the bound encodes; its double overflows when added homomorphically.
    let big = (max.to_f64() * 2f64.powi(-32)) * 0.999_999;
    let c = pk.encrypt(&fp.encode(pk, big).unwrap()).unwrap();
    let doubled = pk.add(&c, &c);
    assert!(matches!(fp.decode(pk, &sk.decrypt(&doubled).unwrap()), Err(Error::DecodeOverflow)));
    // Products carry scale 2^64.
    let a = pk.encrypt(&fp.encode(pk, -2.5).unwrap()).unwrap();
    let prod = pk.mul_scalar(&a, &fp.to_fixed(1.25).unwrap()).unwrap();
    assert_eq!(FixedPoint::new(64).decode(pk, &sk.decrypt(&prod).unwrap()).unwrap(), -3.125);
}

#[test]
fn malformed_serialization_is_an_error() {
    let sk = &keys()[0];
    let pk = sk.public();
    let pk_bytes = pk.to_bytes();
    // Insecure-size keys are refused by the default decoders.
    assert!(PublicKey::from_bytes(&pk_bytes).is_err());
    assert!(PrivateKey::from_bytes(&sk.to_bytes()).is_err());
    assert_eq!(&PublicKey::from_bytes_insecure(&pk_bytes).unwrap(), pk);
    for bad in [
        vec![],
        vec![0x02],
        pk_bytes[..pk_bytes.len() - 1].to_vec(),
        [pk_bytes.as_slice(), &[0]].concat(),
        [&[0x01u8][..], &u32::MAX.to_be_bytes()].concat(),
        [&[0x01u8][..], &0u32.to_be_bytes()].concat(),
        [&[0x01u8][..], &2u32.to_be_bytes(), &[0, 1]].concat(),
    ] {
        assert!(matches!(PublicKey::from_bytes_insecure(&bad), Err(Error::Malformed { .. })), "{bad:?}");
    }
    // A modulus above 3072 bits is refused before any table is built.
    let huge = [&[0x01u8][..], &512u32.to_be_bytes(), &[0xffu8; 512], &1u32.to_be_bytes(), &[2u8]].concat();
    assert!(matches!(PublicKey::from_bytes_insecure(&huge), Err(Error::Malformed { .. })));
    assert!(matches!(PublicKey::from_bytes(&huge), Err(Error::Malformed { .. })));
    // An even modulus, and an h_s that is not below n².
    let mut even = pk_bytes.clone();
    let n_len = u32::from_be_bytes(even[1..5].try_into().unwrap()) as usize;
    even[4 + n_len] &= 0xfe;
    assert!(matches!(PublicKey::from_bytes_insecure(&even), Err(Error::InvalidKey(_))));
    let mut big_hs = pk_bytes[..5 + n_len].to_vec();
    let n2_plus = Integer::from(pk.n_squared() + 5u32);
    let mut hs_bytes = vec![0u8; n2_plus.significant_digits::<u8>()];
    n2_plus.write_digits(&mut hs_bytes, rug::integer::Order::Msf);
    big_hs.extend_from_slice(&(hs_bytes.len() as u32).to_be_bytes());
    big_hs.extend_from_slice(&hs_bytes);
    assert!(matches!(PublicKey::from_bytes_insecure(&big_hs), Err(Error::InvalidKey(_))));

    // Private key: a composite "prime", swapped tags.
    let mut sk_bytes = sk.to_bytes();
    assert!(PrivateKey::from_bytes_insecure(&sk_bytes).is_ok());
    let p_len = u32::from_be_bytes(sk_bytes[1..5].try_into().unwrap()) as usize;
    sk_bytes[4 + p_len] ^= 0x02; // p ± 2 is not prime (or the key no longer matches h_s)
    assert!(PrivateKey::from_bytes_insecure(&sk_bytes).is_err());
    assert!(PrivateKey::from_bytes_insecure(&pk_bytes).is_err());

    // Ciphertexts: wrong length, zero, ≥ n².
    let c = pk.encrypt(&Integer::from(5)).unwrap();
    let good = c.to_bytes(pk);
    assert!(Ciphertext::from_bytes(pk, &good[..good.len() - 1]).is_err());
    assert!(Ciphertext::from_bytes(pk, &[good.as_slice(), &[0]].concat()).is_err());
    let width = pk.ciphertext_len();
    let zero = [&(width as u32).to_be_bytes()[..], &vec![0u8; width]].concat();
    assert!(matches!(Ciphertext::from_bytes(pk, &zero), Err(Error::CiphertextOutOfRange)));
    let ones = [&(width as u32).to_be_bytes()[..], &vec![0xffu8; width]].concat();
    assert!(matches!(Ciphertext::from_bytes(pk, &ones), Err(Error::CiphertextOutOfRange)));
    let short = [&((width - 1) as u32).to_be_bytes()[..], &vec![1u8; width - 1]].concat();
    assert!(matches!(Ciphertext::from_bytes(pk, &short), Err(Error::Malformed { .. })));
    // A ciphertext of a larger key is refused by the smaller key's decoder.
    let other = &keys()[3];
    let foreign = other.public().encrypt(&Integer::from(1)).unwrap();
    assert!(Ciphertext::from_bytes(pk, &foreign.to_bytes(pk)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn homomorphic_add_sub_neg(k in key_index(), a in any::<i64>(), b in any::<i64>()) {
        let sk = &keys()[k];
        let pk = sk.public();
        let ca = pk.encrypt(&signed(pk, a.into())).unwrap();
        let cb = pk.encrypt(&signed(pk, b.into())).unwrap();
        let dec = |c: &Ciphertext| FixedPoint::decode_integer(pk, &sk.decrypt(c).unwrap()).unwrap();
        prop_assert_eq!(dec(&pk.add(&ca, &cb)), i128::from(a) + i128::from(b));
        prop_assert_eq!(dec(&pk.sub(&ca, &cb).unwrap()), i128::from(a) - i128::from(b));
        prop_assert_eq!(dec(&pk.neg(&ca).unwrap()), -i128::from(a));
        prop_assert_eq!(dec(&pk.add_plain(&ca, &signed(pk, b.into())).unwrap()), i128::from(a) + i128::from(b));
    }

    #[test]
    fn homomorphic_scalar_mul(k in key_index(), a in any::<i64>(), x in any::<i64>()) {
        let sk = &keys()[k];
        let pk = sk.public();
        let ca = pk.encrypt(&signed(pk, a.into())).unwrap();
        let prod = pk.mul_scalar(&ca, &Integer::from(x)).unwrap();
        let got = FixedPoint::decode_integer(pk, &sk.decrypt(&prod).unwrap()).unwrap();
        prop_assert_eq!(got, i128::from(a) * i128::from(x));
        // Scalars ≥ n are reduced mod n.
        let wrapped = pk.mul_scalar(&ca, &(Integer::from(x) + pk.n())).unwrap();
        prop_assert_eq!(sk.decrypt(&wrapped).unwrap(), sk.decrypt(&prod).unwrap());
    }

    #[test]
    fn rerandomize_changes_ciphertext_not_plaintext(k in key_index(), seed in prop::collection::vec(any::<u8>(), 64)) {
        let sk = &keys()[k];
        let pk = sk.public();
        let m = plaintext(pk, &seed);
        let c = pk.encrypt(&m).unwrap();
        let r = pk.rerandomize(&c).unwrap();
        prop_assert_ne!(&r, &c);
        prop_assert_eq!(sk.decrypt(&r).unwrap(), m);
    }

    #[test]
    fn all_encryptions_and_decryptions_agree(k in key_index(), seed in prop::collection::vec(any::<u8>(), 64)) {
        let sk = &keys()[k];
        let pk = sk.public();
        let m = plaintext(pk, &seed);
        for c in [pk.encrypt(&m).unwrap(), pk.encrypt_plain(&m).unwrap(), sk.encrypt(&m).unwrap()] {
            prop_assert_eq!(sk.decrypt(&c).unwrap(), m.clone());
            prop_assert_eq!(sk.decrypt_without_crt(&c).unwrap(), m.clone());
            prop_assert_eq!(sk.decrypt_variable_time(&c).unwrap(), m.clone());
        }
        // Two encryptions of the same plaintext differ.
        prop_assert_ne!(pk.encrypt(&m).unwrap(), pk.encrypt(&m).unwrap());
        prop_assert_ne!(sk.encrypt(&m).unwrap(), sk.encrypt(&m).unwrap());
    }

    #[test]
    fn inner_product_matches_sum(k in key_index(), terms in prop::collection::vec((any::<i32>(), any::<i64>()), 0..40)) {
        let sk = &keys()[k];
        let pk = sk.public();
        let cts: Vec<Ciphertext> = terms.iter().map(|&(d, _)| pk.encrypt(&signed(pk, d.into())).unwrap()).collect();
        let xs: Vec<Integer> = terms.iter().map(|&(_, x)| Integer::from(x)).collect();
        let expect: i128 = terms.iter().map(|&(d, x)| i128::from(d) * i128::from(x)).sum();
        let got = pk.inner_product(&cts, &xs).unwrap();
        prop_assert_eq!(FixedPoint::decode_integer(pk, &sk.decrypt(&got).unwrap()).unwrap(), expect);
        // The shared-bases path gives the same sums (the vector and its negation, ×4).
        let negated: Vec<Integer> = xs.iter().map(|x| Integer::from(-x)).collect();
        let many = vec![xs.clone(), negated, xs.clone(), xs];
        for (i, c) in pk.inner_products(&cts, &many).unwrap().iter().enumerate() {
            let sign = if i == 1 { -1 } else { 1 };
            prop_assert_eq!(FixedPoint::decode_integer(pk, &sk.decrypt(c).unwrap()).unwrap(), sign * expect);
        }
    }

    #[test]
    fn fixed_point_round_trip(k in key_index(), x in -1e12f64..1e12, frac in 0u32..48) {
        let sk = &keys()[k];
        let pk = sk.public();
        let fp = FixedPoint::new(frac);
        let c = pk.encrypt(&fp.encode(pk, x).unwrap()).unwrap();
        let got = fp.decode(pk, &sk.decrypt(&c).unwrap()).unwrap();
        // Error at most half a step plus f64 rounding of the result.
        let tol = 2f64.powi(-(frac as i32) - 1) + x.abs() * f64::EPSILON;
        prop_assert!((got - x).abs() <= tol, "{} vs {} (frac {})", got, x, frac);
    }

    #[test]
    fn key_and_ciphertext_bytes_round_trip(k in key_index(), seed in prop::collection::vec(any::<u8>(), 64)) {
        let sk = &keys()[k];
        let pk = sk.public();
        let c = pk.encrypt(&plaintext(pk, &seed)).unwrap();
        prop_assert_eq!(Ciphertext::from_bytes(pk, &c.to_bytes(pk)).unwrap(), c);
        prop_assert_eq!(&PublicKey::from_bytes_insecure(&pk.to_bytes()).unwrap(), pk);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let pk = keys()[0].public();
        let _ = PublicKey::from_bytes(&bytes);
        let _ = PublicKey::from_bytes_insecure(&bytes);
        let _ = PrivateKey::from_bytes_insecure(&bytes);
        let _ = Ciphertext::from_bytes(pk, &bytes);
        let mut prefixed = vec![0x01];
        prefixed.extend_from_slice(&bytes);
        let _ = PublicKey::from_bytes_insecure(&prefixed);
        prefixed[0] = 0x02;
        let _ = PrivateKey::from_bytes_insecure(&prefixed);
    }
}
