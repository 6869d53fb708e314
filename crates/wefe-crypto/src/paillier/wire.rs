//! Serialization: a version byte, then each field as a 4-byte big-endian
//! length followed by the big-endian magnitude.
//!
//! - public key: `0x01 ‖ len ‖ n ‖ len ‖ h_s`
//! - private key: `0x02 ‖ len ‖ p ‖ len ‖ q ‖ len ‖ h_s`
//! - ciphertext: `len ‖ c`, with `len` exactly the byte length of n² (c left-padded)
//!
//! Key fields must be minimal (no leading zero byte) and at most 2048 bytes;
//! every decoder checks lengths and ranges and returns an error, never panics.

use rug::Integer;
use rug::integer::Order;

use super::{Ciphertext, PrivateKey, PublicKey};
use crate::{Error, Result};

const PUBLIC_TAG: u8 = 0x01;
const PRIVATE_TAG: u8 = 0x02;
const MAX_FIELD: usize = 2048;
const MIN_SECURE_BITS: u32 = 2048;
const MIN_INSECURE_BITS: u32 = 256;
const MAX_BITS: u32 = 3072;

fn digits(x: &Integer) -> Vec<u8> {
    let mut bytes = vec![0u8; x.significant_digits::<u8>()];
    x.write_digits(&mut bytes, Order::Msf);
    bytes
}

fn put(out: &mut Vec<u8>, x: &Integer) {
    let bytes = digits(x);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&bytes);
}

struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: &'static str) -> Error {
        Error::Malformed { what: self.what, reason }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if self.buf.len() < len {
            return Err(self.err("truncated"));
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    fn len_prefix(&mut self) -> Result<usize> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn field(&mut self) -> Result<Integer> {
        let len = self.len_prefix()?;
        if len == 0 || len > MAX_FIELD {
            return Err(self.err("field length out of bounds"));
        }
        let bytes = self.take(len)?;
        if bytes[0] == 0 {
            return Err(self.err("field has a leading zero byte"));
        }
        Ok(Integer::from_digits(bytes, Order::Msf))
    }

    fn finish(&self) -> Result<()> {
        if self.buf.is_empty() { Ok(()) } else { Err(self.err("trailing bytes")) }
    }
}

/// Same policy as key generation: 2048 or 3072 bits, or with the insecure
/// decoders anything from 256 to 3072 bits. The upper bound also caps the
/// work a peer can cause (the fixed-base table is built on decode).
fn check_bits(n: &Integer, insecure: bool, what: &'static str) -> Result<()> {
    let bits = n.significant_bits();
    let ok = if insecure {
        (MIN_INSECURE_BITS..=MAX_BITS).contains(&bits)
    } else {
        bits == MIN_SECURE_BITS || bits == MAX_BITS
    };
    if ok { Ok(()) } else { Err(Error::Malformed { what, reason: "unsupported modulus size" }) }
}

impl PublicKey {
    /// Serialize as `0x01 ‖ len ‖ n ‖ len ‖ h_s`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![PUBLIC_TAG];
        put(&mut out, &self.n);
        put(&mut out, &self.hs);
        out
    }

    /// Decode a public key with a modulus of at least 2048 bits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes, false)
    }

    /// Decode a public key allowing moduli down to 256 bits (tests only).
    pub fn from_bytes_insecure(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes, true)
    }

    fn decode(bytes: &[u8], insecure: bool) -> Result<Self> {
        const WHAT: &str = "public key";
        let mut r = Reader { buf: bytes, what: WHAT };
        if r.take(1)?[0] != PUBLIC_TAG {
            return Err(r.err("unknown tag"));
        }
        let n = r.field()?;
        let hs = r.field()?;
        r.finish()?;
        check_bits(&n, insecure, WHAT)?;
        PublicKey::from_parts(n, hs)
    }
}

impl PrivateKey {
    /// Serialize as `0x02 ‖ len ‖ p ‖ len ‖ q ‖ len ‖ h_s`. The returned
    /// buffer holds secrets: zeroize it when done.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![PRIVATE_TAG];
        put(&mut out, &self.p);
        put(&mut out, &self.q);
        put(&mut out, &self.public.hs);
        out
    }

    /// Decode and fully re-check a private key (modulus ≥ 2048 bits).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes, false)
    }

    /// Decode a private key allowing moduli down to 256 bits (tests only).
    pub fn from_bytes_insecure(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes, true)
    }

    fn decode(bytes: &[u8], insecure: bool) -> Result<Self> {
        const WHAT: &str = "private key";
        let mut r = Reader { buf: bytes, what: WHAT };
        if r.take(1)?[0] != PRIVATE_TAG {
            return Err(r.err("unknown tag"));
        }
        let p = r.field()?;
        let q = r.field()?;
        let hs = r.field()?;
        r.finish()?;
        let n = Integer::from(&p * &q);
        check_bits(&n, insecure, WHAT)?;
        if n.significant_bits() != 2 * p.significant_bits() {
            return Err(Error::InvalidKey("primes are not of exactly half the modulus size"));
        }
        PrivateKey::from_parts(p, q, hs)
    }
}

impl Ciphertext {
    /// Serialize as `len ‖ c` with c left-padded to the byte length of n².
    pub fn to_bytes(&self, pk: &PublicKey) -> Vec<u8> {
        // Never panics: an oversized (foreign-key) value gets a longer
        // encoding that `from_bytes` rejects.
        let width = pk.ciphertext_len().max(self.0.significant_digits::<u8>());
        let mut out = vec![0u8; 4 + width];
        out[..4].copy_from_slice(&(width as u32).to_be_bytes());
        // A ciphertext built by this crate is below n², so it fits `width`.
        self.0.write_digits(&mut out[4..], Order::Msf);
        out
    }

    /// Decode a ciphertext for `pk`: the length must be exactly that of n²
    /// and the value in `(0, n²)`.
    pub fn from_bytes(pk: &PublicKey, bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { buf: bytes, what: "ciphertext" };
        let len = r.len_prefix()?;
        if len != pk.ciphertext_len() {
            return Err(r.err("length differs from that of n²"));
        }
        let body = r.take(len)?;
        r.finish()?;
        let c = Ciphertext(Integer::from_digits(body, Order::Msf));
        pk.check_ciphertext(&c)?;
        Ok(c)
    }
}

impl PublicKey {
    /// Bytes of a serialized ciphertext body (byte length of n²).
    pub fn ciphertext_len(&self) -> usize {
        self.n2.significant_bits().div_ceil(8) as usize
    }
}
