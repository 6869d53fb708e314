//! Private set intersection: two parties learn which ids they have in common
//! (or only how many), and nothing else about each other's sets.
//!
//! - [`ecdh`] — Diffie–Hellman PSI over ristretto255 (both parties blind, then
//!   double-blind, hashed ids), streamed in batches. Either party, both, or
//!   the cardinality only.
//! - [`kkrt`] — OT-extension PSI (KKRT16): symmetric-key work per id, the
//!   fastest for large sets; the private `ot` module holds its base OTs, PRG
//!   and bit-matrix transpose.
//! - [`multi`] — ECDH-PSI between three or more parties.
//! - [`rsa_blind`] — RSA blind-signature PSI (the protocol WeFe uses): the
//!   server signs the client's blinded ids and sends a [`bloom`] filter (or a
//!   hash list) of its own signed ids.
//!
//! Inputs are byte strings (ids as UTF-8 text, or any bytes). Duplicates in an
//! input are removed first: a set is a set, and each common id is reported
//! once. Intersections are returned sorted by bytes.

/// `Debug` for a party state holding `params` and `items`: the parameters
/// and the number of ids, never the ids.
macro_rules! debug_items_only {
    ($($state:ident),+) => {$(
        impl std::fmt::Debug for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($state))
                    .field("params", &self.params)
                    .field("items", &self.items.len())
                    .finish_non_exhaustive()
            }
        }
    )+};
}
pub(crate) use debug_items_only;

pub mod bloom;
pub mod ecdh;
pub mod kkrt;
pub mod multi;
mod ot;
pub mod rsa_blind;
mod wire;

use std::collections::BTreeSet;

pub use wefe_core::Progress;

/// Refuses a peer that announces more than `limit` ids (its registered row
/// count, when the caller knows it).
pub(crate) fn check_peer_items(announced: u64, limit: Option<u64>) -> crate::Result<()> {
    match limit {
        Some(max) if announced > max => Err(crate::Error::PeerSetTooLarge { announced, max }),
        _ => Ok(()),
    }
}

/// What a party learns from a PSI run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsiOutput {
    /// The ids of this party's set that the peer also has, sorted, each once.
    Intersection(Vec<Vec<u8>>),
    /// Only the number of common ids.
    Cardinality(usize),
    /// This party learns nothing (the parameters reveal the result to the peer only).
    Nothing,
}

impl PsiOutput {
    /// The intersection, when this party learned it.
    pub fn intersection(&self) -> Option<&[Vec<u8>]> {
        match self {
            Self::Intersection(items) => Some(items),
            _ => None,
        }
    }
}

/// Bytes of a truncated PRF output or double-blinded value compared between
/// sets of `a` and `b` ids: `40 + ⌈log₂ a⌉ + ⌈log₂ b⌉` bits (a false match
/// anywhere has probability ≤ 2⁻⁴⁰), rounded up to bytes, at least 6, at most `max`.
pub(crate) fn truncated_len(a: usize, b: usize, max: usize) -> usize {
    let log2 = |n: usize| usize::BITS - n.max(1).saturating_sub(1).leading_zeros();
    ((40 + log2(a) + log2(b)).div_ceil(8) as usize).clamp(6, max)
}

/// A truncated value (at most 16 bytes) as a little-endian u128.
pub(crate) fn from_truncated(value: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..value.len()].copy_from_slice(value);
    u128::from_le_bytes(bytes)
}

/// A hasher for values that are already (nearly) uniformly random: PRF
/// outputs and group elements. Both halves are folded and multiplied by an
/// odd constant, so every output bit depends on the value (hashbrown takes
/// its tag from the top bits and its bucket from the low ones).
#[derive(Default)]
pub(crate) struct LowBits(u64);

impl std::hash::Hasher for LowBits {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, x: u128) {
        self.0 = ((x as u64) ^ ((x >> 64) as u64)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A random non-zero ristretto255 scalar from the OS generator.
pub(crate) fn random_scalar() -> crate::Result<curve25519_dalek::scalar::Scalar> {
    use curve25519_dalek::scalar::Scalar;
    use zeroize::Zeroize;
    let mut wide = [0u8; 64];
    loop {
        getrandom::fill(&mut wide).map_err(|e| crate::Error::Random(e.to_string()))?;
        let scalar = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        if scalar != Scalar::ZERO {
            return Ok(scalar);
        }
    }
}

/// A point received from a peer: a canonical ristretto255 encoding other than
/// the identity, or an error naming `what` in `message`.
pub(crate) fn decode_point(
    message: &'static str,
    what: impl FnOnce() -> String,
    bytes: &[u8; 32],
) -> crate::Result<curve25519_dalek::ristretto::RistrettoPoint> {
    use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
    match CompressedRistretto(*bytes).decompress() {
        Some(point) if point != RistrettoPoint::default() => Ok(point),
        Some(_) => Err(crate::Error::Malformed { message, reason: format!("{} is the identity", what()) }),
        None => Err(crate::Error::Malformed { message, reason: format!("{} is not a ristretto255 point", what()) }),
    }
}

/// Removes duplicates. The order is irrelevant: every protocol shuffles what it sends.
fn dedupe<I>(items: I) -> Vec<Vec<u8>>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    items.into_iter().map(|i| i.as_ref().to_vec()).collect::<BTreeSet<_>>().into_iter().collect()
}

/// A uniformly random permutation of `0..n` from the thread's CSPRNG.
fn random_permutation(n: usize) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::thread_rng());
    order
}
