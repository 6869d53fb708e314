//! Private set intersection: two parties learn which ids they have in common
//! (or only how many), and nothing else about each other's sets.
//!
//! - [`ecdh`] — Diffie–Hellman PSI over ristretto255 (both parties blind, then
//!   double-blind, hashed ids). Either party, both, or the cardinality only.
//! - [`rsa_blind`] — RSA blind-signature PSI (the protocol WeFe uses): the
//!   server signs the client's blinded ids and sends a [`bloom`] filter (or a
//!   hash list) of its own signed ids.
//!
//! Inputs are byte strings (ids as UTF-8 text, or any bytes). Duplicates in an
//! input are removed first: a set is a set, and each common id is reported
//! once. Intersections are returned sorted by bytes.

pub mod bloom;
pub mod ecdh;
pub mod rsa_blind;
mod wire;

use std::collections::BTreeSet;

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
