//! A Bloom filter with a chosen false-positive rate, for sending a set of
//! hashes compactly (RSA-PSI's server set).
//!
//! For `n` items and a false-positive rate of 2^-`fpr_log2`, it uses
//! `k = fpr_log2` hash functions and `m = ⌈n·k / ln 2⌉` bits, the optimum
//! (Broder & Mitzenmacher, "Network applications of Bloom filters", §2.1):
//! about 1.44·`fpr_log2` bits per item, ~58 bits at 2^-40. Bit positions come
//! from SHA-256 of the item by double hashing (Kirsch & Mitzenmacher, "Less
//! hashing, same performance", ESA 2006): `h1 + i·h2 mod m`.

use sha2::{Digest, Sha256};

use super::wire::Reader;
use crate::{Error, Result};

/// Wire version of an encoded filter.
pub const VERSION: u8 = 1;

/// A set membership filter: no false negatives, false positives at the chosen rate.
#[derive(Clone, PartialEq, Eq)]
pub struct BloomFilter {
    words: Vec<u64>,
    num_bits: u64,
    num_hashes: u8,
}

impl std::fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BloomFilter").field("num_bits", &self.num_bits).field("num_hashes", &self.num_hashes).finish()
    }
}

impl BloomFilter {
    /// An empty filter sized for `expected_items` at a false-positive rate of
    /// 2^-`fpr_log2` (1 ≤ `fpr_log2` ≤ 64).
    pub fn new(expected_items: usize, fpr_log2: u8) -> Result<Self> {
        if !(1..=64).contains(&fpr_log2) {
            return Err(Error::InvalidParams(format!("Bloom filter fpr_log2 {fpr_log2} is not in 1..=64")));
        }
        let num_bits = Self::bits_for(expected_items, fpr_log2);
        Ok(Self { words: vec![0; num_bits.div_ceil(64) as usize], num_bits, num_hashes: fpr_log2 })
    }

    /// The number of bits [`BloomFilter::new`] uses for `expected_items` at
    /// 2^-`fpr_log2`: `max(64, ⌈max(1, n)·fpr_log2 / ln 2⌉)`. A receiver caps
    /// what it decodes with this (plus a margin) for its largest allowed `n`.
    pub fn bits_for(expected_items: usize, fpr_log2: u8) -> u64 {
        let bits = (expected_items.max(1) as f64 * f64::from(fpr_log2) / std::f64::consts::LN_2).ceil() as u64;
        bits.max(64)
    }

    /// Number of bits.
    pub fn num_bits(&self) -> u64 {
        self.num_bits
    }

    /// Number of hash functions.
    pub fn num_hashes(&self) -> u8 {
        self.num_hashes
    }

    fn positions(&self, item: &[u8]) -> impl Iterator<Item = u64> + use<> {
        let digest = Sha256::digest(item);
        let h1 = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        let h2 = u64::from_le_bytes(digest[8..16].try_into().expect("8 bytes")) | 1;
        let m = self.num_bits;
        (0..u64::from(self.num_hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % m)
    }

    /// Number of bits set.
    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The most bits an honestly built filter of this size and number of
    /// hash functions has set, except with probability below 2^-40 (for
    /// random items; the inputs here are hashes). A filter over the limit is
    /// over-full: it would match far more than 2^-`num_hashes` of the
    /// queries, as an all-ones filter matches everything.
    ///
    /// [`BloomFilter::new`] gives `n` items `m ≥ n·k / ln 2` bits, so
    /// `n ≤ n_max = ⌊m·ln 2 / k⌋` and at most `n·k ≤ n_max·k` bits are set.
    /// Each item sets a bit `b` with probability at most `k/m`, so
    /// `E[ones] ≤ μ = m·(1 − (1 − k/m)^n_max)` (≈ m/2); the count depends on
    /// `n` independent items that each change it by at most `k`, so by
    /// McDiarmid's inequality `P(ones ≥ μ + t) ≤ exp(−2t² / (n_max·k²))`,
    /// which is 2^-40 for `t = k·√(n_max·20·ln 2)`. The limit is
    /// `min(n_max·k, μ + t) + 1`. At k = 40 a filter within it matches a
    /// random query with probability at most (limit/m)^k: about 2^-39.7 for a
    /// million items, but up to (ln 2)^k ≈ 2^-21 for a few items.
    pub fn max_plausible_ones(num_bits: u64, num_hashes: u8) -> u64 {
        let (m, k) = (num_bits as f64, f64::from(num_hashes));
        // The epsilon absorbs rounding: an honest n is never counted below itself.
        let n_max = (m * std::f64::consts::LN_2 / k + 1e-6).floor();
        let mean = m * (1.0 - (1.0 - (k / m).min(1.0)).powf(n_max));
        let t = k * (n_max * 20.0 * std::f64::consts::LN_2).sqrt();
        ((n_max * k).min(mean + t).ceil() as u64).saturating_add(1)
    }

    /// Adds an item.
    pub fn insert(&mut self, item: &[u8]) {
        for bit in self.positions(item) {
            self.words[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// Whether the item may be in the set (always true for inserted items).
    pub fn contains(&self, item: &[u8]) -> bool {
        self.positions(item).all(|bit| self.words[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// `version:u8 ‖ num_hashes:u8 ‖ num_bits:u64 BE ‖ ⌈num_bits/64⌉ words, u64 LE`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + 8 * self.words.len());
        out.push(VERSION);
        out.push(self.num_hashes);
        out.extend_from_slice(&self.num_bits.to_be_bytes());
        self.words.iter().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        out
    }

    /// Parses a filter of at most `max_bits` bits; the length must match exactly
    /// and the padding bits past `num_bits` must be zero.
    pub fn decode(bytes: &[u8], max_bits: u64) -> Result<Self> {
        let mut r = Reader::new("Bloom filter", bytes);
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::Version { message: "Bloom filter", found: version, expected: VERSION });
        }
        let num_hashes = r.u8()?;
        if !(1..=64).contains(&num_hashes) {
            return Err(r.malformed(format!("{num_hashes} hash functions (1..=64 allowed)")));
        }
        let num_bits = u64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes"));
        if num_bits == 0 || num_bits > max_bits {
            return Err(r.malformed(format!("{num_bits} bits (1..={max_bits} allowed)")));
        }
        let num_words = usize::try_from(num_bits.div_ceil(64)).map_err(|_| r.malformed::<Error>("too many bits"))?;
        let words: Vec<u64> =
            r.records(num_words, 8)?.into_iter().map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect();
        r.finish()?;
        let spare = num_bits % 64;
        if spare != 0 && words.last().is_some_and(|last| last >> spare != 0) {
            return Err(Error::Malformed { message: "Bloom filter", reason: "bits set past num_bits".into() });
        }
        Ok(Self { words, num_bits, num_hashes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_about_the_chosen_false_positive_rate() {
        let mut filter = BloomFilter::new(2000, 8).unwrap();
        for i in 0..2000u32 {
            filter.insert(&i.to_be_bytes());
        }
        assert!((0..2000u32).all(|i| filter.contains(&i.to_be_bytes())));
        // Expected 2^-8 ≈ 0.39 %: 100k queries give ~390; allow a wide margin.
        let false_positives = (2000..102_000u32).filter(|i| filter.contains(&i.to_be_bytes())).count();
        assert!(false_positives < 800, "{false_positives} false positives");
    }

    #[test]
    fn sizes_follow_the_rate() {
        let filter = BloomFilter::new(1000, 40).unwrap();
        assert_eq!(filter.num_hashes(), 40);
        assert_eq!(filter.num_bits(), (1000.0 * 40.0 / std::f64::consts::LN_2).ceil() as u64);
        assert!(BloomFilter::new(10, 0).is_err());
        assert!(BloomFilter::new(10, 65).is_err());
        assert_eq!(BloomFilter::new(0, 40).unwrap().num_bits(), 64);
    }

    #[test]
    fn honest_filters_are_never_over_full_and_an_all_ones_filter_is() {
        for fpr_log2 in [1u8, 2, 8, 20, 40, 41, 64] {
            for n in [0usize, 1, 2, 3, 5, 7, 10, 33, 100, 1000, 5000] {
                let mut filter = BloomFilter::new(n, fpr_log2).unwrap();
                for i in 0..n {
                    let item = [n.to_be_bytes().as_slice(), &[fpr_log2], &i.to_be_bytes()].concat();
                    filter.insert(&Sha256::digest(&item));
                }
                let limit = BloomFilter::max_plausible_ones(filter.num_bits(), fpr_log2);
                assert!(filter.count_ones() <= limit, "n = {n}, k = {fpr_log2}: {} > {limit}", filter.count_ones());
                let mut full = filter.clone();
                full.words.iter_mut().for_each(|w| *w = u64::MAX);
                let spare = full.num_bits % 64;
                if spare != 0 {
                    *full.words.last_mut().unwrap() = (1 << spare) - 1;
                }
                assert_eq!(full.count_ones(), full.num_bits());
                assert!(full.count_ones() > limit, "n = {n}, k = {fpr_log2}: all ones within {limit}");
            }
        }
        // For many items the limit is close to half the bits.
        let m = BloomFilter::bits_for(1_000_000, 40);
        let limit = BloomFilter::max_plausible_ones(m, 40);
        assert!((limit as f64) < 0.503 * m as f64, "{limit} of {m}");
    }

    #[test]
    fn encoding_round_trips_and_bad_input_is_refused() {
        let mut filter = BloomFilter::new(10, 20).unwrap();
        filter.insert(b"alice");
        let bytes = filter.encode();
        let decoded = BloomFilter::decode(&bytes, 1 << 20).unwrap();
        assert_eq!(decoded, filter);
        assert!(decoded.contains(b"alice"));

        for len in 0..bytes.len() {
            assert!(BloomFilter::decode(&bytes[..len], 1 << 20).is_err(), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(BloomFilter::decode(&longer, 1 << 20).is_err());
        assert!(BloomFilter::decode(&bytes, 64).is_err(), "over the size limit");
        let mut version = bytes.clone();
        version[0] = 9;
        assert!(matches!(BloomFilter::decode(&version, 1 << 20), Err(Error::Version { .. })));
        let mut hashes = bytes.clone();
        hashes[1] = 0;
        assert!(BloomFilter::decode(&hashes, 1 << 20).is_err());
        let mut huge = bytes[..2].to_vec();
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(BloomFilter::decode(&huge, u64::MAX).is_err(), "a huge claimed size allocates nothing");
        // A set padding bit makes the encoding non-canonical.
        let mut padded = BloomFilter::new(1, 1).unwrap().encode();
        assert_eq!(u64::from_be_bytes(padded[2..10].try_into().unwrap()), 64);
        padded[2..10].copy_from_slice(&63u64.to_be_bytes());
        *padded.last_mut().unwrap() = 0x80;
        assert!(BloomFilter::decode(&padded, 1 << 20).is_err());
    }
}
