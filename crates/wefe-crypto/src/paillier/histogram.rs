//! Ciphertexts in Montgomery form and the kernels of SecureBoost's passive
//! party: encrypted gradient histograms (one Montgomery multiplication per
//! row and feature), histogram subtraction, and packing several bin sums
//! into one ciphertext before they go to the key holder.

use std::fmt;

use rayon::prelude::*;
use rug::Integer;

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
    /// Features run in parallel on rayon; each is one pass over `rows`.
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
        if !cts.iter().all(|c| self.mont_limbs_ok(c)) {
            return Err(Error::CiphertextOutOfRange);
        }
        binned
            .par_iter()
            .map(|feature| {
                let limit = cts.len().min(feature.len());
                let mut hist = vec![self.montgomery_zero(); bins];
                for &row in rows {
                    let r = row as usize;
                    if r >= limit {
                        return Err(Error::RowOutOfRange { row: r, rows: limit });
                    }
                    let bin = usize::from(feature[r]);
                    let slot = hist.get_mut(bin).ok_or(Error::BinOutOfRange { row: r, bin, bins })?;
                    self.mont.mul_assign(&mut slot.0, &cts[r].0);
                }
                Ok(hist)
            })
            .collect()
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
