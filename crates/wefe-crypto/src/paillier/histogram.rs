//! Ciphertexts in Montgomery form and the kernels of SecureBoost's passive
//! party: encrypted gradient histograms (one Montgomery multiplication per
//! row and feature), histogram subtraction, and packing several bin sums
//! into one ciphertext before they go to the key holder.

use std::fmt;

use rayon::prelude::*;
use rug::{Assign, Integer};

use super::{Ciphertext, PublicKey};
use crate::{Error, Result};

/// A ciphertext held in Montgomery form modulo n² (`c·R mod n²`,
/// `R = 2^(64·⌈bits(n²)/64⌉)`), so that homomorphic addition is one
/// Montgomery multiplication without a division.
///
/// Made by [`PublicKey::to_montgomery`] / [`PublicKey::montgomery_zero`] and
/// turned back with [`PublicKey::from_montgomery`]. Like [`Ciphertext`] it
/// does not record its key; mixing keys gives garbage (of a different size:
/// a value that fails to decrypt), never a panic.
#[derive(Clone, PartialEq, Eq)]
pub struct MontCiphertext(Vec<u64>);

impl fmt::Debug for MontCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MontCiphertext({} limbs)", self.0.len())
    }
}

/// Largest joint histogram [`PublicKey::encrypted_histograms`] builds, in
/// cells (about 18 MiB of 4 096-bit ciphertexts per group in flight).
pub const MAX_JOINT_CELLS: usize = 36_000;

/// The group size [`PublicKey::encrypted_histograms`] uses for `rows` rows,
/// `bins` bins and `features` features on `threads` threads: the `k` in 1..=3
/// that minimises the estimated multiplications per row and feature,
/// `rows/k + min(bins^k, rows)` (one pass over the rows for the joint table,
/// then up to `bins^k` terms per marginal; `rows` for `k = 1`), among those
/// whose joint table has at most [`MAX_JOINT_CELLS`] cells and that leave at
/// least one group per thread when there are enough features for that.
pub fn histogram_group_size(rows: usize, bins: usize, features: usize, threads: usize) -> usize {
    let max_k = (features / threads.max(1)).clamp(1, 3);
    let cost = |k: usize| -> Option<f64> {
        if k == 1 {
            return Some(rows as f64);
        }
        let cells = bins.checked_pow(k as u32).filter(|&c| c <= MAX_JOINT_CELLS)?;
        Some(rows as f64 / k as f64 + cells.min(rows) as f64)
    };
    (1..=max_k).filter_map(|k| cost(k).map(|c| (k, c))).min_by(|a, b| a.1.total_cmp(&b.1)).map_or(1, |(k, _)| k)
}

/// Split a decrypted packed plaintext into `slots` values of `slot_bits`
/// bits, slot 0 the least significant (the inverse of
/// [`PublicKey::pack_shifted`] for slot values below `2^slot_bits`).
pub fn unpack_slots(m: &Integer, slot_bits: u32, slots: usize) -> Vec<Integer> {
    (0..slots)
        .map(|i| {
            let shift = u32::try_from(i).ok().and_then(|i| i.checked_mul(slot_bits));
            match shift {
                Some(s) => Integer::from(m >> s).keep_bits(slot_bits),
                None => Integer::new(),
            }
        })
        .collect()
}

impl PublicKey {
    fn mont_limbs_ok(&self, x: &MontCiphertext) -> bool {
        x.0.len() == self.mont.limbs()
    }

    /// Enter Montgomery form (one Montgomery multiplication by `R² mod n²`).
    pub fn to_montgomery(&self, c: &Ciphertext) -> MontCiphertext {
        if c.0 < 0 || c.0 >= self.n2 {
            // Out-of-range values cannot come from this key: garbage, as documented.
            return MontCiphertext(vec![0; self.mont.limbs()]);
        }
        MontCiphertext(self.mont.to_mont(&c.0))
    }

    /// Leave Montgomery form.
    pub fn from_montgomery(&self, c: &MontCiphertext) -> Ciphertext {
        if !self.mont_limbs_ok(c) {
            return Ciphertext(Integer::new());
        }
        Ciphertext(self.mont.redc_to_integer(&c.0))
    }

    /// The identity of homomorphic addition: `1` (an encryption of 0 with
    /// `r = 1`, not hiding anything) in Montgomery form.
    pub fn montgomery_zero(&self) -> MontCiphertext {
        MontCiphertext(self.mont.one().to_vec())
    }

    /// `acc ← [[acc + x]]`: one Montgomery multiplication mod n², no division.
    pub fn montgomery_add_assign(&self, acc: &mut MontCiphertext, x: &MontCiphertext) {
        if !self.mont_limbs_ok(acc) || !self.mont_limbs_ok(x) {
            *acc = MontCiphertext(vec![0; self.mont.limbs()]);
            return;
        }
        self.mont.mul_assign(&mut acc.0, &x.0);
    }

    /// `[[a − b]] = a·b^(−1) mod n²` (e.g. a sibling's histogram as parent −
    /// child). One inversion mod n²; `CiphertextOutOfRange` if `b` is not a
    /// unit (or not from this key).
    pub fn montgomery_sub(&self, a: &MontCiphertext, b: &MontCiphertext) -> Result<MontCiphertext> {
        if !self.mont_limbs_ok(a) || !self.mont_limbs_ok(b) {
            return Err(Error::CiphertextOutOfRange);
        }
        let mut out = self.mont.invert(&b.0).ok_or(Error::CiphertextOutOfRange)?;
        self.mont.mul_assign(&mut out, &a.0);
        Ok(MontCiphertext(out))
    }

    /// Encrypted histograms of many features in one call:
    /// `result[f][b] = Σ_{r ∈ rows, binned[f][r] = b} cts[r]` (homomorphic
    /// sums, as Montgomery products). `cts` and every `binned[f]` are indexed
    /// by row of the whole table; `rows` selects the rows of the node.
    ///
    /// Features are processed in groups of [`histogram_group_size`] (chosen
    /// from the row, bin and feature counts): one pass over `rows` fills the
    /// group's joint histogram (one multiplication per row, not one per row
    /// and feature), and each feature's histogram is that table summed over
    /// the other features' bins. With 100 000 rows and 32 bins, pairs of
    /// features need about 0.51 multiplications per row and feature instead
    /// of 1. Groups run in parallel on rayon.
    ///
    /// Errors: a row not below `cts.len()` or `binned[f].len()`
    /// ([`Error::RowOutOfRange`]), a bin index not below `bins`
    /// ([`Error::BinOutOfRange`]), a ciphertext from a key of another size
    /// ([`Error::CiphertextOutOfRange`]).
    ///
    /// ```
    /// use rug::Integer;
    /// use wefe_crypto::paillier::{KeySize, Keypair};
    ///
    /// let keys = Keypair::generate(KeySize::insecure(512))?;
    /// let (pk, sk) = (keys.public(), keys.private());
    /// let cts: Vec<_> = (1..=4).map(|g| Ok(pk.to_montgomery(&pk.encrypt(&Integer::from(g))?)))
    ///     .collect::<wefe_crypto::Result<_>>()?;
    /// let feature: &[u8] = &[0, 1, 1, 0]; // bin of each row
    /// let hist = pk.encrypted_histograms(&cts, &[0, 1, 2, 3], &[feature], 2)?;
    /// assert_eq!(sk.decrypt(&pk.from_montgomery(&hist[0][0]))?, 1 + 4);
    /// assert_eq!(sk.decrypt(&pk.from_montgomery(&hist[0][1]))?, 2 + 3);
    /// # Ok::<(), wefe_crypto::Error>(())
    /// ```
    pub fn encrypted_histograms(
        &self,
        cts: &[MontCiphertext],
        rows: &[u32],
        binned: &[&[u8]],
        bins: usize,
    ) -> Result<Vec<Vec<MontCiphertext>>> {
        let group = histogram_group_size(rows.len(), bins, binned.len(), rayon::current_num_threads());
        self.encrypted_histograms_grouped(cts, rows, binned, bins, group)
    }

    /// [`encrypted_histograms`](Self::encrypted_histograms) with the group
    /// size given: `group = 1` is one multiplication per row and feature
    /// (what the `hist-add` benchmark measures), larger groups go through a
    /// joint histogram of `bins^group` cells. The result does not depend on
    /// `group` (as plaintexts: the ciphertexts are products of the same
    /// factors in another order). `group = 0` is taken as 1, and a group
    /// whose joint table would exceed [`MAX_JOINT_CELLS`] is made smaller.
    pub fn encrypted_histograms_grouped(
        &self,
        cts: &[MontCiphertext],
        rows: &[u32],
        binned: &[&[u8]],
        bins: usize,
        group: usize,
    ) -> Result<Vec<Vec<MontCiphertext>>> {
        if !cts.iter().all(|c| self.mont_limbs_ok(c)) {
            return Err(Error::CiphertextOutOfRange);
        }
        let mut group = group.max(1);
        while group > 1 && bins.checked_pow(group as u32).is_none_or(|c| c > MAX_JOINT_CELLS) {
            group -= 1;
        }
        // The rows' ciphertexts as residues mod n²: the sums are GMP
        // multiplications and divisions, which measured faster than the
        // Montgomery multiplication here (see the crate README).
        let mut plain = vec![Integer::new(); cts.len()];
        let mut wanted = vec![false; cts.len()];
        for &r in rows {
            if let Some(w) = wanted.get_mut(r as usize) {
                *w = true;
            }
        }
        plain.par_iter_mut().zip(cts).zip(&wanted).filter(|(_, w)| **w).for_each(|((p, c), _)| {
            *p = self.mont.redc_to_integer(&c.0);
        });
        let groups: Vec<Vec<Vec<Integer>>> = binned
            .par_chunks(group)
            .map(|features| self.group_histograms(&plain, rows, features, bins))
            .collect::<Result<_>>()?;
        Ok(groups
            .into_par_iter()
            .flatten()
            .map(|hist| hist.iter().map(|x| MontCiphertext(self.mont.to_mont(x))).collect())
            .collect())
    }

    /// One group of features: their joint histogram (`bins^k` cells, cell
    /// index `Σ_j bin_j·bins^j`), then each feature's marginal. Cells and
    /// bins that receive nothing stay the identity; the first term of a cell
    /// is copied, not multiplied. `plain[r]` is row r's ciphertext as a
    /// residue mod n² (see [`encrypted_histograms_grouped`](Self::encrypted_histograms_grouped)).
    fn group_histograms(
        &self,
        plain: &[Integer],
        rows: &[u32],
        features: &[&[u8]],
        bins: usize,
    ) -> Result<Vec<Vec<Integer>>> {
        let limit = features.iter().map(|f| f.len()).fold(plain.len(), usize::min);
        // At most MAX_JOINT_CELLS (the caller shrinks the group), or 1 for no features.
        let cells = bins.pow(features.len() as u32);
        let mut joint: Vec<Option<Integer>> = vec![None; cells];
        let mut product = Integer::new();
        let mut accumulate = |slot: &mut Option<Integer>, term: &Integer| match slot {
            Some(acc) => {
                // acc ← acc·term mod n², in place (GMP's multiplication and division).
                product.assign(&*acc * term);
                acc.assign(&product % &self.n2);
            }
            None => *slot = Some(term.clone()),
        };
        for &row in rows {
            let r = row as usize;
            if r >= limit {
                return Err(Error::RowOutOfRange { row: r, rows: limit });
            }
            let mut cell = 0usize;
            for f in features.iter().rev() {
                let bin = usize::from(f[r]);
                if bin >= bins {
                    return Err(Error::BinOutOfRange { row: r, bin, bins });
                }
                cell = cell * bins + bin;
            }
            accumulate(&mut joint[cell], &plain[r]);
        }
        let mut stride = 1usize;
        let mut out = Vec::with_capacity(features.len());
        for _ in features {
            let mut hist: Vec<Option<Integer>> = vec![None; bins];
            for (cell, term) in joint.iter().enumerate() {
                if let Some(term) = term {
                    accumulate(&mut hist[(cell / stride) % bins], term);
                }
            }
            out.push(hist.into_iter().map(|h| h.unwrap_or_else(|| Integer::from(1))).collect());
            stride *= bins;
        }
        Ok(out)
    }

    /// One ciphertext of `Σ_i m_i·2^(slot_bits·i)` from ciphertexts of the
    /// `m_i` (part 0 in the lowest slot), by Horner's rule
    /// `acc ← acc^(2^slot_bits)·part` with the squarings in Montgomery form:
    /// `(parts − 1)·slot_bits` squarings, so that the key holder decrypts
    /// once for all parts and splits with [`unpack_slots`]. Each `m_i` must
    /// lie in `[0, 2^slot_bits)`, or it spills into the next slot.
    ///
    /// Errors: `slot_bits = 0`, or `parts.len()·slot_bits` above the
    /// plaintext room `bits(n) − 2` ([`Error::PackOverflow`]); a ciphertext
    /// from another key size ([`Error::CiphertextOutOfRange`]).
    pub fn pack_shifted(&self, parts: &[MontCiphertext], slot_bits: u32) -> Result<Ciphertext> {
        let room = self.bits() - 2;
        let needed = parts.len() as u64 * u64::from(slot_bits);
        if slot_bits == 0 || needed > u64::from(room) {
            return Err(Error::PackOverflow { slots: parts.len(), slot_bits, room });
        }
        if !parts.iter().all(|c| self.mont_limbs_ok(c)) {
            return Err(Error::CiphertextOutOfRange);
        }
        let Some((top, rest)) = parts.split_last() else {
            return Ok(self.from_montgomery(&self.montgomery_zero()));
        };
        let mut acc = top.0.clone();
        for part in rest.iter().rev() {
            self.mont.square_assign_times(&mut acc, slot_bits);
            self.mont.mul_assign(&mut acc, &part.0);
        }
        Ok(Ciphertext(self.mont.redc_to_integer(&acc)))
    }
}
