//! The shared bounds-checked reader ([`wefe_core::wire`]) with this crate's
//! errors, plus the numbers, ciphertexts and residues learning messages carry.

use rug::Integer;
use rug::integer::Order;
use wefe_crypto::{Ciphertext, PublicKey};

use wefe_core::wire::WireError;
pub(crate) use wefe_core::wire::{Reader, put_bytes, put_count, put_f64, put_u32, put_u64};

use crate::{Error, Result};

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Malformed { message, reason } => Error::Malformed { message, reason },
            WireError::Version { message, found, expected } => Error::Version { message, found, expected },
            WireError::TooMany { message, count, max } => {
                Error::Malformed { message, reason: format!("{count} items, more than the limit of {max}") }
            }
        }
    }
}

/// The reads this crate adds to the shared reader.
pub(crate) trait ReaderExt {
    /// `count` finite f64s.
    fn f64s(&mut self, max: usize) -> Result<Vec<f64>>;
    /// `count` ciphertexts under `pk`, each `len ‖ body` as `Ciphertext::to_bytes`.
    fn ciphertexts(&mut self, pk: &PublicKey, max: usize) -> Result<Vec<Ciphertext>>;
    /// `count` integers in `[0, n)`, each a length-prefixed big-endian magnitude.
    fn residues(&mut self, n: &Integer, max: usize) -> Result<Vec<Integer>>;
}

impl ReaderExt for Reader<'_> {
    fn f64s(&mut self, max: usize) -> Result<Vec<f64>> {
        let count = self.count(max)?;
        if self.remaining() < count * 8 {
            return Err(self.malformed("truncated number list"));
        }
        (0..count).map(|_| Ok(self.f64()?)).collect()
    }

    fn ciphertexts(&mut self, pk: &PublicKey, max: usize) -> Result<Vec<Ciphertext>> {
        let count = self.count(max)?;
        let each = 4 + pk.ciphertext_len();
        if self.remaining() < count.saturating_mul(each) {
            return Err(self.malformed("truncated ciphertext list"));
        }
        (0..count)
            .map(|i| {
                Ciphertext::from_bytes(pk, self.take(each)?)
                    .map_err(|e| self.malformed::<Error>(format!("ciphertext {i}: {e}")))
            })
            .collect()
    }

    fn residues(&mut self, n: &Integer, max: usize) -> Result<Vec<Integer>> {
        let count = self.count(max)?;
        let max_len = n.significant_bits().div_ceil(8) as usize;
        (0..count)
            .map(|i| {
                let v = Integer::from_digits(self.bytes(max_len)?, Order::Msf);
                if v >= *n {
                    return Err(self.malformed(format!("value {i} is not below the modulus")));
                }
                Ok(v)
            })
            .collect()
    }
}

pub(crate) fn put_f64s(out: &mut Vec<u8>, xs: &[f64]) {
    put_count(out, xs.len());
    xs.iter().for_each(|&x| put_f64(out, x));
}

pub(crate) fn put_ciphertexts(out: &mut Vec<u8>, pk: &PublicKey, cs: &[Ciphertext]) {
    put_count(out, cs.len());
    cs.iter().for_each(|c| out.extend_from_slice(&c.to_bytes(pk)));
}

pub(crate) fn put_residues(out: &mut Vec<u8>, vs: &[Integer]) {
    put_count(out, vs.len());
    for v in vs {
        let mut buf = vec![0u8; v.significant_digits::<u8>()];
        v.write_digits(&mut buf, Order::Msf);
        put_bytes(out, &buf);
    }
}
