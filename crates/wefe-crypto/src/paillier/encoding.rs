//! Fixed-point encoding of signed `f64` into `Z_n`.
//!
//! `x ↦ round(x·2^f) mod n`. Non-negative values occupy `[0, n/3]`, negative
//! ones `[n − n/3, n)`; the middle band `(n/3, n − n/3)` is never produced by
//! encoding and a decrypted value there means a homomorphic computation
//! overflowed (python-paillier uses the same thirds split). The default
//! `f = 32` gives a resolution of 2^-32 ≈ 2.3·10^-10 and leaves about
//! `bits(n) − 2 − 32` bits of headroom for sums and products.
//!
//! A product of two encoded values carries scale `2^(2f)`: decode it with
//! `FixedPoint::new(2 * f)`.

use rug::Integer;

use super::PublicKey;
use crate::{Error, Result};

/// Fixed-point codec with `frac_bits` fractional bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    frac_bits: u32,
}

impl Default for FixedPoint {
    /// 32 fractional bits (precision 2^-32).
    fn default() -> Self {
        FixedPoint { frac_bits: 32 }
    }
}

impl FixedPoint {
    /// Codec with `frac_bits` fractional bits.
    pub const fn new(frac_bits: u32) -> Self {
        FixedPoint { frac_bits }
    }

    /// Fractional bits.
    pub const fn frac_bits(self) -> u32 {
        self.frac_bits
    }

    /// Signed fixed-point integer `round(x·2^f)` (not reduced mod n), e.g.
    /// as a plaintext scalar for [`PublicKey::mul_scalar`].
    pub fn to_fixed(self, x: f64) -> Result<Integer> {
        if !x.is_finite() {
            return Err(Error::NotFinite(x));
        }
        // x·2^f is exact in f64 (a power-of-two scale) unless it overflows to ∞.
        let scaled = x * 2f64.powi(self.frac_bits.min(i32::MAX as u32) as i32);
        let scaled = scaled.round();
        Integer::from_f64(scaled).ok_or(Error::EncodeOverflow { value: x, frac_bits: self.frac_bits })
    }

    /// Encode into `[0, n)`; error if `|x·2^f| > n/3`, NaN or ±∞.
    pub fn encode(self, pk: &PublicKey, x: f64) -> Result<Integer> {
        let v = self.to_fixed(x)?;
        if Integer::from(v.abs_ref()) > *pk.max_int() {
            return Err(Error::EncodeOverflow { value: x, frac_bits: self.frac_bits });
        }
        Ok(if v < 0 { v + pk.n() } else { v })
    }

    /// Map a plaintext in `[0, n)` back to a signed integer; error in the
    /// overflow band or out of range.
    pub fn decode_integer(pk: &PublicKey, m: &Integer) -> Result<Integer> {
        if *m < 0 || m >= pk.n() {
            return Err(Error::PlaintextOutOfRange);
        }
        if m <= pk.max_int() {
            return Ok(m.clone());
        }
        let neg = Integer::from(m - pk.n());
        if Integer::from(neg.abs_ref()) <= *pk.max_int() { Ok(neg) } else { Err(Error::DecodeOverflow) }
    }

    /// Decode a plaintext to `f64` (`v·2^-f`, rounded to nearest f64; values
    /// beyond f64's range decode to ±∞ only if |v·2^-f| ≥ 2^1024).
    pub fn decode(self, pk: &PublicKey, m: &Integer) -> Result<f64> {
        let v = Self::decode_integer(pk, m)?;
        // Shift in the integer domain first so huge v does not overflow to ∞
        // before scaling; keep 64 extra bits for rounding.
        let bits = v.significant_bits();
        if bits > 1000 {
            let shift = bits - 1000;
            let shifted = Integer::from(&v >> shift);
            let e = shift as i32 - self.frac_bits as i32;
            return Ok(shifted.to_f64() * 2f64.powi(e));
        }
        Ok(v.to_f64() * 2f64.powi(-(self.frac_bits.min(i32::MAX as u32) as i32)))
    }
}
