//! Bounds-checked reading of wire messages: every read can fail, none can panic.

use rug::Integer;
use rug::integer::Order;
use wefe_crypto::{Ciphertext, PublicKey};

use crate::{Error, Result};

pub(crate) struct Reader<'a> {
    message: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(message: &'static str, bytes: &'a [u8]) -> Self {
        Self { message, bytes }
    }

    pub(crate) fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::Malformed { message: self.message, reason: reason.into() }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(self.malformed(format!("truncated: needed {n} more bytes, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    /// A finite f64.
    pub(crate) fn f64(&mut self) -> Result<f64> {
        let x = f64::from_bits(self.u64()?);
        if !x.is_finite() {
            return Err(self.malformed(format!("non-finite number {x}")));
        }
        Ok(x)
    }

    /// Reads the version and kind bytes every message starts with.
    pub(crate) fn header(&mut self, version: u8, kind: u8) -> Result<()> {
        let found = self.u8()?;
        if found != version {
            return Err(Error::Version { message: self.message, found, expected: version });
        }
        let k = self.u8()?;
        if k != kind {
            return Err(self.malformed(format!("message kind {k}, expected {kind}")));
        }
        Ok(())
    }

    /// Reads a u32 count and checks it against `max` before anything is allocated.
    pub(crate) fn count(&mut self, max: usize) -> Result<usize> {
        let count = self.u32()? as usize;
        if count > max {
            return Err(self.malformed(format!("{count} items, more than the limit of {max}")));
        }
        Ok(count)
    }

    /// `count` finite f64s.
    pub(crate) fn f64s(&mut self, max: usize) -> Result<Vec<f64>> {
        let count = self.count(max)?;
        if self.bytes.len() < count * 8 {
            return Err(self.malformed("truncated number list"));
        }
        (0..count).map(|_| self.f64()).collect()
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes(&mut self, max: usize) -> Result<&'a [u8]> {
        let len = self.count(max)?;
        self.take(len)
    }

    /// `count` ciphertexts under `pk`, each `len ‖ body` as `Ciphertext::to_bytes`.
    pub(crate) fn ciphertexts(&mut self, pk: &PublicKey, max: usize) -> Result<Vec<Ciphertext>> {
        let count = self.count(max)?;
        let each = 4 + pk.ciphertext_len();
        if self.bytes.len() < count.saturating_mul(each) {
            return Err(self.malformed("truncated ciphertext list"));
        }
        (0..count)
            .map(|i| {
                Ciphertext::from_bytes(pk, self.take(each)?).map_err(|e| self.malformed(format!("ciphertext {i}: {e}")))
            })
            .collect()
    }

    /// `count` integers in `[0, n)`, each as a length-prefixed big-endian magnitude.
    pub(crate) fn residues(&mut self, n: &Integer, max: usize) -> Result<Vec<Integer>> {
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

    pub(crate) fn finish(self) -> Result<()> {
        if !self.bytes.is_empty() {
            return Err(self.malformed(format!("{} trailing bytes", self.bytes.len())));
        }
        Ok(())
    }
}

pub(crate) fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub(crate) fn put_f64(out: &mut Vec<u8>, x: f64) {
    put_u64(out, x.to_bits());
}

/// Counts are bounded by the protocol's limits, far below u32::MAX.
pub(crate) fn put_count(out: &mut Vec<u8>, n: usize) {
    put_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}

pub(crate) fn put_f64s(out: &mut Vec<u8>, xs: &[f64]) {
    put_count(out, xs.len());
    xs.iter().for_each(|&x| put_f64(out, x));
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_count(out, b.len());
    out.extend_from_slice(b);
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
