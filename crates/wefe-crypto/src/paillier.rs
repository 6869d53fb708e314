//! Paillier encryption with `g = n + 1`.
//!
//! References (step labels in comments follow them):
//! - \[P99\] P. Paillier, "Public-Key Cryptosystems Based on Composite Degree
//!   Residuosity Classes", EUROCRYPT 1999 — scheme (§4), CRT decryption (§7).
//! - \[DJN10\] I. Damgård, M. Jurik, J. B. Nielsen, "A generalization of
//!   Paillier's public-key system with applications to electronic voting",
//!   Int. J. Inf. Secur. 9(6):371–385, 2010 — the variant whose public key
//!   carries `h_s = (−x²)^(n^s) mod n^(s+1)` (here s = 1) and whose encryption
//!   is `(1+n)^m · h_s^α` for a random α much shorter than n. Semantic
//!   security rests on DCRA **plus** a short-exponent assumption: that
//!   `(−x²)^α mod n` for a short random α is indistinguishable from a random
//!   element of the subgroup of `Z_n^*` it generates.
//! - \[MNL+21\] H. Ma, J. Ning, X. Liu, J. Li, Y. Wang, H. Tan, "Optimized
//!   Paillier's cryptosystem with fast encryption and decryption", ACSAC 2021 —
//!   exponent lengths for short-exponent Paillier randomness: 448 bits for a
//!   2048-bit n (112-bit security), 512 bits for 3072 (128-bit), i.e. 4λ,
//!   twice the 2λ that generic (Pollard-λ) attacks on α require. Some
//!   implementations (e.g. SecretFlow HEU's DJN) use the more conservative
//!   `⌈k/2⌉` bits at ~2× the cost.
//! - FIPS 186-5 App. A.1.3 (for RSA moduli): `|p − q| > 2^(nlen/2 − 100)`.
//!
//! Who uses what:
//! - [`PublicKey::encrypt`] (anyone): DJN randomness `h_s^α`, evaluated with a
//!   fixed-base window table of `h_s` (only multiplications, no squarings).
//! - [`PrivateKey::encrypt`] (key holder): the textbook distribution of
//!   `r^n`, computed by CRT modulo `p²` and `q²`; no assumption beyond DCRA.
//! - [`PublicKey::encrypt_with_noise`] (anyone): the same DJN encryption with
//!   `h_s^α` precomputed ([`PublicKey::noise_batch`], or a background
//!   [`NoisePool`]): one multiplication mod n per message. Each [`Noise`] is
//!   consumed (reuse would break semantic security).
//! - [`PrivateKey::encrypt`] / [`PrivateKey::decrypt`] (key holder): the
//!   secret-exponent powers mod p² and q² go through OpenSSL's
//!   `BN_mod_exp_mont_consttime` (~2× GMP's `mpz_powm_sec` here); the rest is
//!   rug/GMP. [`PrivateKey::decrypt_variable_time`] (GMP `mpz_powm`) and
//!   [`PrivateKey::decrypt_without_crt`] remain as cross-checks.
//! - SecureBoost's passive party: [`MontCiphertext`] (ciphertexts in
//!   Montgomery form mod n², addition = one Montgomery multiplication, no
//!   division), [`PublicKey::encrypted_histograms`] (per-feature bin sums
//!   through joint histograms of 2–3 features when that needs fewer
//!   multiplications, see [`histogram_group_size`]; rayon over groups), [`PublicKey::montgomery_sub`] (sibling histogram =
//!   parent − child), [`PublicKey::pack_shifted`] + [`unpack_slots`] (several
//!   bin sums in one plaintext, one decryption).

mod encoding;
mod histogram;
mod montgomery;
mod multiexp;
mod noise;
mod ossl;
mod wire;

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use rug::Integer;
use rug::integer::{IsPrime, Order};

use crate::{Error, Result};

pub use encoding::FixedPoint;
pub use histogram::{MAX_JOINT_CELLS, MontCiphertext, histogram_group_size, unpack_slots};
pub use noise::{CrtNoise, Noise, NoisePool};

use montgomery::MontModulus;

/// Bits of the DJN short exponent α for a modulus of `modulus_bits` bits:
/// 4λ per \[MNL+21\] (448 for 2048-bit n, λ = 112; 512 from 3072 bits, λ = 128).
pub const fn djn_exponent_bits(modulus_bits: u32) -> u32 {
    if modulus_bits >= 3072 { 512 } else { 448 }
}
/// Window width of the fixed-base table of `h_s` (2^7 − 1 entries per
/// window: 4.2 MiB and 64 multiplications per encryption for 2048-bit n).
const TABLE_WINDOW: u32 = 7;
/// Miller–Rabin rounds on top of `next_prime`'s own test (error ≤ 4^-40).
const MILLER_RABIN_REPS: u32 = 40;

/// Size of the modulus n to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySize {
    bits: u32,
    insecure: bool,
}

impl KeySize {
    /// 2048-bit modulus (the default).
    pub const B2048: KeySize = KeySize { bits: 2048, insecure: false };
    /// 3072-bit modulus.
    pub const B3072: KeySize = KeySize { bits: 3072, insecure: false };

    /// A modulus of `bits` bits; key generation accepts 2048 and 3072.
    pub const fn new(bits: u32) -> KeySize {
        KeySize { bits, insecure: false }
    }

    /// A modulus below 2048 bits, for tests only. Still must be a multiple of
    /// 2 and at least 256 bits.
    pub const fn insecure(bits: u32) -> KeySize {
        KeySize { bits, insecure: true }
    }

    /// Modulus bits.
    pub const fn bits(self) -> u32 {
        self.bits
    }

    fn check(self) -> Result<()> {
        let err = |reason| Err(Error::KeySize { bits: self.bits, reason });
        if !self.bits.is_multiple_of(2) {
            return err("must be even");
        }
        if self.insecure {
            if self.bits < 256 {
                return err("below 256 bits even with the insecure flag");
            }
            if self.bits > 8192 {
                return err("above 8192 bits");
            }
            return Ok(());
        }
        match self.bits {
            2048 | 3072 => Ok(()),
            b if b < 2048 => err("below 2048 bits requires KeySize::insecure"),
            _ => err("only 2048 and 3072 are supported"),
        }
    }
}

impl Default for KeySize {
    fn default() -> Self {
        KeySize::B2048
    }
}

/// A Paillier ciphertext, an element of `Z_{n²}^*`. It does not record which
/// key it belongs to; mixing keys gives garbage (or `CiphertextOutOfRange`).
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext(pub(crate) Integer);

impl Ciphertext {
    /// The ciphertext as an integer in `(0, n²)`.
    pub fn as_integer(&self) -> &Integer {
        &self.0
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ciphertext({} bits)", self.0.significant_bits())
    }
}

/// Fixed-base table: `rows[i][j−1] = base^(j·2^(w·i)) mod m` (m = n², or
/// p² / q² for [`CrtNoise`], whose tables are secret: wiped on drop).
struct FixedBaseTable {
    rows: Vec<Vec<Integer>>,
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        self.rows.iter_mut().flatten().for_each(wipe);
    }
}

impl FixedBaseTable {
    fn new(base: &Integer, n2: &Integer, exp_bits: u32) -> Self {
        let windows = exp_bits.div_ceil(TABLE_WINDOW);
        let per_row = (1usize << TABLE_WINDOW) - 1;
        let mut rows = Vec::with_capacity(windows as usize);
        let mut row_base = base.clone();
        for _ in 0..windows {
            let mut row = Vec::with_capacity(per_row);
            let mut acc = row_base.clone();
            row.push(acc.clone());
            for _ in 1..per_row {
                acc = mulmod(&acc, &row_base, n2);
                row.push(acc.clone());
            }
            // next row base = row_base^(2^w) = last entry · row_base
            row_base = mulmod(&acc, &row_base, n2);
            rows.push(row);
        }
        FixedBaseTable { rows }
    }

    /// `base^e mod n²` for `0 ≤ e < 2^exp_bits`: one multiplication per window.
    fn pow(&self, e: &Integer, n2: &Integer) -> Integer {
        let mut acc = Integer::from(1);
        for (i, row) in self.rows.iter().enumerate() {
            let digit = window_digit(e, i as u32 * TABLE_WINDOW, TABLE_WINDOW);
            if digit != 0 {
                acc = mulmod(&acc, &row[digit - 1], n2);
            }
        }
        acc
    }
}

pub(crate) fn window_digit(e: &Integer, start: u32, width: u32) -> usize {
    let mut d = 0usize;
    for b in (0..width).rev() {
        d = (d << 1) | usize::from(e.get_bit(start + b));
    }
    d
}

/// The x mod p²q² with `x ≡ xp (mod p²)` and `x ≡ xq (mod q²)` (Garner):
/// `xq + q²·((xp − xq)·(q²)^(−1) mod p²)`.
pub(crate) fn garner(xp: &Integer, xq: &Integer, p2: &Integer, q2: &Integer, q2_inv_p2: &Integer) -> Integer {
    let mut t = Integer::from(xp - xq);
    t *= q2_inv_p2;
    t.modulo_mut(p2);
    t *= q2;
    t += xq;
    t
}

pub(crate) fn mulmod(a: &Integer, b: &Integer, m: &Integer) -> Integer {
    let mut t = Integer::from(a * b);
    t %= m;
    t
}

/// Overwrite the limbs of a secret integer in place (clearing bits from the
/// least significant upward, so every used limb is written before GMP shrinks
/// the size). Spare capacity and copies GMP made internally are not reached;
/// see the crate README.
pub(crate) fn wipe(x: &mut Integer) {
    let bits = x.significant_bits();
    for i in 0..bits {
        x.set_bit(i, false);
    }
    *x = Integer::new();
}

/// Uniform random integer of `bits` bits from the OS CSPRNG (getrandom).
pub(crate) fn random_bits(bits: u32) -> Result<Integer> {
    let mut buf = vec![0u8; bits.div_ceil(8) as usize];
    getrandom::fill(&mut buf).map_err(|e| Error::Random(e.to_string()))?;
    let extra = buf.len() as u32 * 8 - bits;
    if let Some(first) = buf.first_mut() {
        *first &= 0xffu8 >> extra;
    }
    let x = Integer::from_digits(&buf, Order::Msf);
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(x)
}

/// Uniform random element of `Z_n^*` (rejection sampling on `[1, n)`).
fn random_unit(n: &Integer) -> Result<Integer> {
    let bits = n.significant_bits();
    loop {
        let mut r = random_bits(bits)?;
        if r > 0 && &r < n && Integer::from(r.gcd_ref(n)) == 1 {
            return Ok(r);
        }
        wipe(&mut r);
    }
}

/// Public key: the modulus n and the DJN element `h_s`.
#[derive(Clone)]
pub struct PublicKey {
    n: Integer,
    n2: Integer,
    /// Plaintexts `≤ max_int` are non-negative, `≥ n − max_int` negative.
    max_int: Integer,
    hs: Integer,
    /// Bits of the DJN exponent α.
    djn_bits: u32,
    table: Arc<FixedBaseTable>,
    /// Montgomery constants of n² for [`MontCiphertext`] arithmetic.
    mont: MontModulus,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("bits", &self.bits()).finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.hs == other.hs
    }
}
impl Eq for PublicKey {}

impl PublicKey {
    /// Build a public key from n and `h_s`, validating ranges and precomputing
    /// the fixed-base table (~8k multiplications mod n²).
    pub(crate) fn from_parts(n: Integer, hs: Integer) -> Result<Self> {
        if n <= 1 || n.is_even() {
            return Err(Error::InvalidKey("modulus must be odd"));
        }
        let n2 = Integer::from(n.square_ref());
        if hs <= 1 || hs >= n2 {
            return Err(Error::InvalidKey("h_s must lie in (1, n²)"));
        }
        if Integer::from(hs.gcd_ref(&n)) != 1 {
            return Err(Error::InvalidKey("h_s is not a unit mod n²"));
        }
        let max_int = Integer::from(&n / 3u32);
        let djn_bits = djn_exponent_bits(n.significant_bits());
        let table = Arc::new(FixedBaseTable::new(&hs, &n2, djn_bits));
        let mont = MontModulus::new(&n2);
        Ok(PublicKey { n, n2, max_int, hs, djn_bits, table, mont })
    }

    /// The modulus n.
    pub fn n(&self) -> &Integer {
        &self.n
    }
    /// n².
    pub fn n_squared(&self) -> &Integer {
        &self.n2
    }
    /// The DJN element `h_s = (−x²)^n mod n²`.
    pub fn h_s(&self) -> &Integer {
        &self.hs
    }
    /// Bits of n.
    pub fn bits(&self) -> u32 {
        self.n.significant_bits()
    }
    /// Largest magnitude a signed plaintext may have (`⌊n/3⌋`).
    pub fn max_int(&self) -> &Integer {
        &self.max_int
    }

    fn check_plaintext(&self, m: &Integer) -> Result<()> {
        if *m < 0 || *m >= self.n {
            return Err(Error::PlaintextOutOfRange);
        }
        Ok(())
    }

    pub(crate) fn check_ciphertext(&self, c: &Ciphertext) -> Result<()> {
        if c.0 <= 0 || c.0 >= self.n2 {
            return Err(Error::CiphertextOutOfRange);
        }
        Ok(())
    }

    /// `(1 + m·n) mod n²`, i.e. `g^m` for `g = n + 1` \[P99 §4 with g = n+1\].
    fn g_pow(&self, m: &Integer) -> Integer {
        let mut gm = Integer::from(m * &self.n);
        gm += 1;
        gm
    }

    /// Fresh DJN randomness `h_s^α mod n²`, α uniform in `[0, 2^djn_bits)`.
    fn djn_randomness(&self) -> Result<Integer> {
        let mut alpha = random_bits(self.djn_bits)?;
        let rn = self.table.pow(&alpha, &self.n2);
        wipe(&mut alpha);
        Ok(rn)
    }

    /// `(1 + m·n)·r^n mod n²` with caller-chosen r (known-answer tests only).
    #[cfg(test)]
    pub(crate) fn encrypt_with_r(&self, m: &Integer, r: &Integer) -> Ciphertext {
        let rn = Integer::from(r.pow_mod_ref(&self.n, &self.n2).expect("non-negative exponent"));
        Ciphertext(mulmod(&self.g_pow(m), &rn, &self.n2))
    }

    /// `(1 + m·n)·h_s^α mod n²` with caller-chosen α (known-answer tests only).
    #[cfg(test)]
    pub(crate) fn encrypt_with_alpha(&self, m: &Integer, alpha: &Integer) -> Ciphertext {
        Ciphertext(mulmod(&self.g_pow(m), &self.table.pow(alpha, &self.n2), &self.n2))
    }

    /// Encrypt `m ∈ [0, n)`: `c = (1 + m·n)·h_s^α mod n²` \[DJN10\].
    pub fn encrypt(&self, m: &Integer) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        let rn = self.djn_randomness()?;
        Ok(Ciphertext(mulmod(&self.g_pow(m), &rn, &self.n2)))
    }

    /// Textbook encryption `c = (1 + m·n)·r^n mod n²` with a full-size
    /// `r ∈ Z_n^*` and one exponentiation mod n² (slow; reference path).
    pub fn encrypt_plain(&self, m: &Integer) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        let mut r = random_unit(&self.n)?;
        let rn = Integer::from(r.pow_mod_ref(&self.n, &self.n2).ok_or(Error::CiphertextOutOfRange)?);
        wipe(&mut r);
        Ok(Ciphertext(mulmod(&self.g_pow(m), &rn, &self.n2)))
    }

    /// Encrypt many plaintexts on all rayon threads.
    pub fn encrypt_batch(&self, ms: &[Integer]) -> Result<Vec<Ciphertext>> {
        ms.par_iter().map(|m| self.encrypt(m)).collect()
    }

    /// `[[a + b]] = [[a]]·[[b]] mod n²`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Ciphertext {
        Ciphertext(mulmod(&a.0, &b.0, &self.n2))
    }

    /// `[[a + m]] = [[a]]·(1 + m·n) mod n²` for a plaintext `m ∈ [0, n)`.
    pub fn add_plain(&self, a: &Ciphertext, m: &Integer) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        Ok(Ciphertext(mulmod(&a.0, &self.g_pow(m), &self.n2)))
    }

    /// `[[−a]] = [[a]]^(−1) mod n²`.
    pub fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        Ok(Ciphertext(self.invert(&a.0)?))
    }

    /// `[[a − b]]`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Ok(self.add(a, &self.neg(b)?))
    }

    fn invert(&self, c: &Integer) -> Result<Integer> {
        Ok(Integer::from(c.invert_ref(&self.n2).ok_or(Error::CiphertextOutOfRange)?))
    }

    /// `[[k·a]] = [[a]]^k mod n²` for any integer k (negative k uses the
    /// inverse; `|k| ≥ n` is reduced mod n).
    pub fn mul_scalar(&self, a: &Ciphertext, k: &Integer) -> Result<Ciphertext> {
        let (base, e) = if *k < 0 { (self.invert(&a.0)?, Integer::from(-k)) } else { (a.0.clone(), k.clone()) };
        let e = if e >= self.n { e % &self.n } else { e };
        let c = Integer::from(base.pow_mod_ref(&e, &self.n2).ok_or(Error::CiphertextOutOfRange)?);
        Ok(Ciphertext(c))
    }

    /// Re-randomise: multiply by a fresh encryption of zero (`h_s^α`).
    pub fn rerandomize(&self, a: &Ciphertext) -> Result<Ciphertext> {
        Ok(Ciphertext(mulmod(&a.0, &self.djn_randomness()?, &self.n2)))
    }

    /// Encrypted inner product `[[Σ xᵢ·dᵢ]] = Π [[dᵢ]]^{xᵢ} mod n²` as one
    /// multi-exponentiation (Pippenger buckets, squarings shared by all terms;
    /// negative scalars are summed separately and inverted once). Splits the
    /// terms over rayon threads for large inputs. The result is not
    /// re-randomised: call [`PublicKey::rerandomize`] before sending it to the
    /// key holder if the scalars must stay hidden.
    pub fn inner_product(&self, cts: &[Ciphertext], xs: &[Integer]) -> Result<Ciphertext> {
        if cts.len() != xs.len() {
            return Err(Error::LengthMismatch { left: cts.len(), right: xs.len() });
        }
        const CHUNK: usize = 256;
        let threads = rayon::current_num_threads().max(1);
        if threads == 1 || cts.len() < 2 * CHUNK {
            return self.inner_product_serial(cts, xs);
        }
        let chunk = cts.len().div_ceil(threads).max(CHUNK);
        let parts: Vec<Ciphertext> = cts
            .par_chunks(chunk)
            .zip(xs.par_chunks(chunk))
            .map(|(c, x)| self.inner_product_serial(c, x))
            .collect::<Result<_>>()?;
        Ok(parts.iter().fold(Ciphertext(Integer::from(1)), |acc, p| self.add(&acc, p)))
    }

    /// Encrypted inner products of the same ciphertexts with many scalar
    /// vectors, `[[Σ_i xs[j][i]·d_i]]` for every `j` — a vertical-LR host's
    /// gradient, one vector per feature. With scalars of at most 64 bits and
    /// several vectors, the subset products of small groups of ciphertexts
    /// are computed once and shared by all vectors (negative scalars are
    /// offset by `2^B` and the offset removed with one inversion for all);
    /// otherwise each is an [`inner_product`](Self::inner_product). Results are
    /// not re-randomised. Vectors run in parallel on rayon.
    pub fn inner_products(&self, cts: &[Ciphertext], xs: &[Vec<Integer>]) -> Result<Vec<Ciphertext>> {
        if let Some(x) = xs.iter().find(|x| x.len() != cts.len()) {
            return Err(Error::LengthMismatch { left: cts.len(), right: x.len() });
        }
        let magnitude = xs.iter().flatten().map(|x| x.significant_bits()).max().unwrap_or(0);
        if xs.len() < 4 || cts.len() < 16 || magnitude > 64 {
            return xs.par_iter().map(|x| self.inner_product(cts, x)).collect();
        }
        // e = x + 2^B ∈ [0, 2^(B+1)): non-negative exponents of B + 1 bits.
        let offset = 1i128 << magnitude;
        let exps: Vec<Vec<u128>> = xs
            .iter()
            .map(|x| x.iter().map(|v| (v.to_i128().expect("at most 64 bits") + offset) as u128).collect())
            .collect();
        let bases: Vec<&Integer> = cts.iter().map(|c| &c.0).collect();
        let raw = multiexp::shared_bases_multi_exp(&bases, &exps, magnitude + 1, &self.n2);
        // Π c_i^{x_i} = Π c_i^{e_i} · (Π c_i)^{−2^B}.
        let product = bases.iter().fold(Integer::from(1), |acc, b| mulmod(&acc, b, &self.n2));
        let correction = self.invert(&Integer::from(
            product.pow_mod_ref(&(Integer::from(1) << magnitude), &self.n2).ok_or(Error::CiphertextOutOfRange)?,
        ))?;
        Ok(raw.into_par_iter().map(|r| Ciphertext(mulmod(&r, &correction, &self.n2))).collect())
    }

    fn inner_product_serial(&self, cts: &[Ciphertext], xs: &[Integer]) -> Result<Ciphertext> {
        let mut pos_b = Vec::new();
        let mut pos_e = Vec::new();
        let mut neg_b = Vec::new();
        let mut neg_e = Vec::new();
        for (c, x) in cts.iter().zip(xs) {
            let e = Integer::from(x.abs_ref());
            let e = if e >= self.n { e % &self.n } else { e };
            if e == 0 {
                continue;
            }
            if *x < 0 {
                neg_b.push(&c.0);
                neg_e.push(e);
            } else {
                pos_b.push(&c.0);
                pos_e.push(e);
            }
        }
        let pos = multiexp::multi_exp(&pos_b, &pos_e, &self.n2);
        if neg_b.is_empty() {
            return Ok(Ciphertext(pos));
        }
        let neg = multiexp::multi_exp(&neg_b, &neg_e, &self.n2);
        Ok(Ciphertext(mulmod(&pos, &self.invert(&neg)?, &self.n2)))
    }
}

/// Private key: the primes and the CRT constants derived from them.
/// Secrets are wiped on drop (see the crate README for the limits) and never printed.
pub struct PrivateKey {
    public: PublicKey,
    p: Integer,
    q: Integer,
    p2: Integer,
    q2: Integer,
    p_minus_1: Integer,
    q_minus_1: Integer,
    /// `h_p = L_p(g^(p−1) mod p²)^(−1) mod p` \[P99 §7\].
    hp: Integer,
    hq: Integer,
    /// `q^(−1) mod p` for recombining `m_p`, `m_q`.
    q_inv_p: Integer,
    /// `(q²)^(−1) mod p²` for recombining `r^n mod p²`, `r^n mod q²`.
    q2_inv_p2: Integer,
    /// `λ = lcm(p−1, q−1)` and `μ = λ^(−1) mod n` (non-CRT reference path).
    lambda: Integer,
    mu: Integer,
    /// OpenSSL constant-time powers: `x^(p−1) mod p²`, `x^(q−1) mod q²`
    /// (decryption) and `x^p mod p²`, `x^q mod q²` (key-holder encryption).
    pow_pm1: ossl::SecretPower,
    pow_qm1: ossl::SecretPower,
    pow_p: ossl::SecretPower,
    pow_q: ossl::SecretPower,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("public", &self.public).finish_non_exhaustive()
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        for x in [
            &mut self.p,
            &mut self.q,
            &mut self.p2,
            &mut self.q2,
            &mut self.p_minus_1,
            &mut self.q_minus_1,
            &mut self.hp,
            &mut self.hq,
            &mut self.q_inv_p,
            &mut self.q2_inv_p2,
            &mut self.lambda,
            &mut self.mu,
        ] {
            wipe(x);
        }
    }
}

fn l_function(u: &Integer, d: &Integer) -> Integer {
    // L_d(u) = (u − 1)/d; exact for u ≡ 1 (mod d).
    Integer::from(u - 1u32) / d
}

impl PrivateKey {
    /// Derive all CRT constants from p, q and `h_s`, checking the key:
    /// p ≠ q prime of equal size, `gcd(n, φ(n)) = 1`, `h_s` an n-th residue.
    pub(crate) fn from_parts(p: Integer, q: Integer, hs: Integer) -> Result<Self> {
        if p == q {
            return Err(Error::InvalidKey("p = q"));
        }
        if p.significant_bits() != q.significant_bits() {
            return Err(Error::InvalidKey("p and q differ in size"));
        }
        for x in [&p, &q] {
            if x.is_probably_prime(MILLER_RABIN_REPS) == IsPrime::No {
                return Err(Error::InvalidKey("factor is not prime"));
            }
        }
        let n = Integer::from(&p * &q);
        let p_minus_1 = Integer::from(&p - 1u32);
        let q_minus_1 = Integer::from(&q - 1u32);
        let mut phi = Integer::from(&p_minus_1 * &q_minus_1);
        let gcd_ok = Integer::from(n.gcd_ref(&phi)) == 1;
        wipe(&mut phi);
        if !gcd_ok {
            return Err(Error::InvalidKey("gcd(n, φ(n)) ≠ 1"));
        }
        let public = PublicKey::from_parts(n, hs)?;
        let n = public.n.clone();
        let p2 = Integer::from(p.square_ref());
        let q2 = Integer::from(q.square_ref());
        let g = Integer::from(&n + 1u32);
        let h = |prime: &Integer, prime2: &Integer, pm1: &Integer| -> Result<Integer> {
            let gp = Integer::from(g.pow_mod_ref(pm1, prime2).ok_or(Error::InvalidKey("g^(p−1)"))?);
            let lp = l_function(&gp, prime);
            Ok(Integer::from(lp.invert_ref(prime).ok_or(Error::InvalidKey("L_p(g^(p−1)) not invertible"))?))
        };
        let hp = h(&p, &p2, &p_minus_1)?;
        let hq = h(&q, &q2, &q_minus_1)?;
        let q_inv_p = Integer::from(q.invert_ref(&p).ok_or(Error::InvalidKey("q not invertible mod p"))?);
        let q2_inv_p2 = Integer::from(q2.invert_ref(&p2).ok_or(Error::InvalidKey("q² not invertible mod p²"))?);
        let lambda = Integer::from(p_minus_1.lcm_ref(&q_minus_1));
        let mu = Integer::from(lambda.invert_ref(&n).ok_or(Error::InvalidKey("λ not invertible mod n"))?);
        let pow_pm1 = ossl::SecretPower::new(&p_minus_1, &p2)?;
        let pow_qm1 = ossl::SecretPower::new(&q_minus_1, &q2)?;
        let pow_p = ossl::SecretPower::new(&p, &p2)?;
        let pow_q = ossl::SecretPower::new(&q, &q2)?;
        let sk = PrivateKey {
            public,
            p,
            q,
            p2,
            q2,
            p_minus_1,
            q_minus_1,
            hp,
            hq,
            q_inv_p,
            q2_inv_p2,
            lambda,
            mu,
            pow_pm1,
            pow_qm1,
            pow_p,
            pow_q,
        };
        // h_s must be an n-th residue: h_s^λ ≡ 1 (mod n²), else public-key
        // encryptions would not decrypt.
        let check = Integer::from(sk.public.hs.pow_mod_ref(&sk.lambda, &sk.public.n2).ok_or(Error::InvalidKey("h_s"))?);
        if check != 1 {
            return Err(Error::InvalidKey("h_s is not an n-th residue"));
        }
        Ok(sk)
    }

    /// The matching public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Key-holder encryption with full-size randomness and CRT.
    ///
    /// `r^n mod n²` for uniform `r ∈ Z_n^*` is uniform on the n-th residues,
    /// which by CRT are pairs `(x_p, x_q)` with `x_p` uniform on the order-(p−1)
    /// subgroup `H_p` of `Z_{p²}^*` (and likewise for q). `y ↦ y^p mod p²` is a
    /// bijection `Z_p^* → H_p` (injective because `y^p ≡ y (mod p)`), so
    /// `x_p = y_p^p mod p²` with uniform `y_p ∈ Z_p^*` has exactly the textbook
    /// distribution at half the exponent length of `r^(n mod p(p−1))`. The
    /// halves are recombined with Garner's formula
    /// `x = x_q + q²·((x_p − x_q)·(q²)^(−1) mod p²)`. Powers use OpenSSL's
    /// `BN_mod_exp_mont_consttime` (the exponents p, q are secret).
    pub fn encrypt(&self, m: &Integer) -> Result<Ciphertext> {
        let pk = &self.public;
        pk.check_plaintext(m)?;
        let mut yp = random_unit(&self.p)?;
        let mut yq = random_unit(&self.q)?;
        let xp = self.pow_p.pow(&yp);
        let xq = self.pow_q.pow(&yq);
        wipe(&mut yp);
        wipe(&mut yq);
        let (mut xp, mut xq) = (xp?, xq?);
        let mut t = garner(&xp, &xq, &self.p2, &self.q2, &self.q2_inv_p2);
        wipe(&mut xp);
        wipe(&mut xq);
        let c = mulmod(&pk.g_pow(m), &t, &pk.n2);
        wipe(&mut t);
        Ok(Ciphertext(c))
    }

    /// Encrypt many plaintexts (key holder, CRT) on all rayon threads.
    pub fn encrypt_batch(&self, ms: &[Integer]) -> Result<Vec<Ciphertext>> {
        ms.par_iter().map(|m| self.encrypt(m)).collect()
    }

    /// CRT decryption \[P99 §7\]: `m_p = L_p(c^(p−1) mod p²)·h_p mod p`, same
    /// for q, recombined as `m = m_q + q·((m_p − m_q)·q^(−1) mod p)`.
    /// The secret-exponent powers use OpenSSL's `BN_mod_exp_mont_consttime`
    /// (exponent flagged `BN_FLG_CONSTTIME`), whose memory access pattern and
    /// timing do not depend on the exponent; ~2× faster than GMP's
    /// `mpz_powm_sec` on the target machine.
    pub fn decrypt(&self, c: &Ciphertext) -> Result<Integer> {
        self.decrypt_crt(c, true)
    }

    /// CRT decryption with GMP's variable-time `mpz_powm` (sliding windows):
    /// no faster than [`PrivateKey::decrypt`] since that moved to OpenSSL,
    /// kept as an independent cross-check; its timing and cache
    /// footprint depend on the bits of `p − 1` and `q − 1`, which a
    /// co-located attacker can measure (cf. Bernstein et al., "Sliding right
    /// into disaster", CHES 2017). Use only where no untrusted code shares
    /// the CPU with the key holder.
    pub fn decrypt_variable_time(&self, c: &Ciphertext) -> Result<Integer> {
        self.decrypt_crt(c, false)
    }

    fn decrypt_crt(&self, c: &Ciphertext, constant_time: bool) -> Result<Integer> {
        self.public.check_ciphertext(c)?;
        let half = |prime: &Integer,
                    prime2: &Integer,
                    pm1: &Integer,
                    power: &ossl::SecretPower,
                    h: &Integer|
         -> Result<Integer> {
            let mut u = Integer::from(&c.0 % prime2);
            if u == 0 {
                // Not a unit (never produced by encryption): garbage out, no panic.
                return Ok(Integer::new());
            }
            if constant_time {
                let mut v = power.pow(&u)?;
                std::mem::swap(&mut u, &mut v);
                wipe(&mut v);
            } else if u.pow_mod_mut(pm1, prime2).is_err() {
                return Ok(Integer::new());
            }
            let mut m = l_function(&u, prime);
            wipe(&mut u);
            m *= h;
            m.modulo_mut(prime);
            Ok(m)
        };
        let mut mp = half(&self.p, &self.p2, &self.p_minus_1, &self.pow_pm1, &self.hp)?;
        let mut mq = half(&self.q, &self.q2, &self.q_minus_1, &self.pow_qm1, &self.hq)?;
        let mut t = Integer::from(&mp - &mq);
        t *= &self.q_inv_p;
        t.modulo_mut(&self.p);
        t *= &self.q;
        t += &mq;
        wipe(&mut mp);
        wipe(&mut mq);
        Ok(t)
    }

    /// Textbook decryption `m = L(c^λ mod n²)·μ mod n` \[P99 §4\] (slow;
    /// reference for tests).
    pub fn decrypt_without_crt(&self, c: &Ciphertext) -> Result<Integer> {
        let pk = &self.public;
        pk.check_ciphertext(c)?;
        let mut u = c.0.clone();
        u.secure_pow_mod_mut(&self.lambda, &pk.n2);
        let mut m = l_function(&u, &pk.n);
        wipe(&mut u);
        m *= &self.mu;
        m.modulo_mut(&pk.n);
        Ok(m)
    }

    /// Decrypt many ciphertexts on all rayon threads.
    pub fn decrypt_batch(&self, cs: &[Ciphertext]) -> Result<Vec<Integer>> {
        cs.par_iter().map(|c| self.decrypt(c)).collect()
    }
}

/// A freshly generated key pair.
#[derive(Debug)]
pub struct Keypair {
    private: PrivateKey,
}

impl Keypair {
    /// Generate a key: two random primes of exactly `bits/2` bits (top two
    /// bits set so n has exactly `bits` bits), `|p − q| > 2^(bits/2 − 100)`,
    /// `gcd(n, φ(n)) = 1`, and `h_s = (−x²)^n mod n²` for random `x ∈ Z_n^*`.
    pub fn generate(size: KeySize) -> Result<Keypair> {
        size.check()?;
        let half = size.bits / 2;
        loop {
            let p = random_prime(half)?;
            let q = random_prime(half)?;
            let diff = Integer::from(&p - &q).abs();
            let min_gap = Integer::from(1) << (half - 100.min(half / 2));
            if p == q || diff <= min_gap {
                continue;
            }
            let n = Integer::from(&p * &q);
            if n.significant_bits() != size.bits {
                continue;
            }
            let n2 = Integer::from(n.square_ref());
            let mut x = random_unit(&n)?;
            // −x² mod n, then raise to n mod n².
            let mut y = Integer::from(x.square_ref());
            y.modulo_mut(&n);
            let mut h = Integer::from(&n - &y);
            wipe(&mut x);
            wipe(&mut y);
            h.pow_mod_mut(&n, &n2).map_err(|()| Error::InvalidKey("h_s"))?;
            match PrivateKey::from_parts(p, q, h) {
                Ok(private) => return Ok(Keypair { private }),
                Err(Error::InvalidKey(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.private.public
    }
    /// The private key.
    pub fn private(&self) -> &PrivateKey {
        &self.private
    }
    /// Split into the private key (which contains the public key).
    pub fn into_private(self) -> PrivateKey {
        self.private
    }
}

/// A probable prime of exactly `bits` bits with the top two bits set.
fn random_prime(bits: u32) -> Result<Integer> {
    loop {
        let mut x = random_bits(bits)?;
        x.set_bit(bits - 1, true);
        x.set_bit(bits - 2, true);
        x.next_prime_mut();
        if x.significant_bits() == bits && x.is_probably_prime(MILLER_RABIN_REPS) != IsPrime::No {
            return Ok(x);
        }
    }
}

#[cfg(test)]
mod tests;
