//! Multi-exponentiation `Π bᵢ^{eᵢ} mod m` with Pippenger's bucket method
//! (N. Pippenger, "On the evaluation of powers and monomials", SIAM J. Comput.
//! 9(2), 1980; the "bucket" form as in Bernstein et al., "Faster batch forgery
//! identification", INDOCRYPT 2012, §4). Squarings are shared by all terms:
//! cost ≈ b + (b/c)·(N + 2^(c+1)) multiplications for N exponents of b bits
//! with window c, instead of ≈ 1.2·b·N for N separate exponentiations.
//! Exponents are public here (they are the multiplier's own plaintext
//! scalars); the method is not constant-time in them.

use rug::{Assign, Integer};

use super::{mulmod, window_digit};

/// Window width minimising `(b/c)·(N + 2^(c+1))` (the b squarings are fixed).
fn best_window(n_terms: usize, bits: u32) -> u32 {
    (1..=16u32).min_by_key(|&c| u64::from(bits.div_ceil(c)) * (n_terms as u64 + (2u64 << c))).unwrap_or(1)
}

/// `Π bases[i]^{exps[i]} mod m` for non-negative exponents.
pub(crate) fn multi_exp(bases: &[&Integer], exps: &[Integer], m: &Integer) -> Integer {
    debug_assert_eq!(bases.len(), exps.len());
    let bits = exps.iter().map(Integer::significant_bits).max().unwrap_or(0);
    if bits == 0 {
        return Integer::from(1);
    }
    if bases.len() == 1 {
        return Integer::from(bases[0].pow_mod_ref(&exps[0], m).expect("exponent is non-negative"));
    }
    let c = best_window(bases.len(), bits);
    let windows = bits.div_ceil(c);
    let mut acc = Integer::from(1);
    let mut buckets: Vec<Option<Integer>> = vec![None; (1usize << c) - 1];
    for w in (0..windows).rev() {
        for _ in 0..c {
            if acc != 1 {
                acc = mulmod(&acc, &acc, m);
            }
        }
        for (b, e) in bases.iter().zip(exps) {
            let d = window_digit(e, w * c, c);
            if d != 0 {
                let slot = &mut buckets[d - 1];
                *slot = Some(match slot.take() {
                    None => (*b).clone(),
                    Some(x) => mulmod(&x, b, m),
                });
            }
        }
        // Σ d·bucket[d] as a running product: running = Π_{j ≥ d} bucket[j].
        let mut running: Option<Integer> = None;
        let mut sum: Option<Integer> = None;
        for slot in buckets.iter_mut().rev() {
            if let Some(x) = slot.take() {
                running = Some(match running {
                    None => x,
                    Some(r) => mulmod(&r, &x, m),
                });
            }
            if let Some(r) = &running {
                sum = Some(match sum {
                    None => r.clone(),
                    Some(s) => mulmod(&s, r, m),
                });
            }
        }
        if let Some(s) = sum {
            acc = mulmod(&acc, &s, m);
        }
    }
    acc
}

/// Most precomputed products one [`shared_bases_multi_exp`] keeps
/// (2^18 numbers of 4096 bits: 128 MiB).
const MAX_TABLE_ENTRIES: usize = 1 << 18;

/// Group size minimising table building `(N/g)·2^g` plus `m` exponent vectors
/// of `bits` bits at `bits·(N/g)` each, within the memory bound.
fn best_group(n_terms: usize, vectors: usize, bits: u32) -> u32 {
    (1..=12u32)
        .filter(|&g| n_terms.div_ceil(g as usize) << g <= MAX_TABLE_ENTRIES)
        .min_by_key(|&g| {
            let groups = n_terms.div_ceil(g as usize) as u64;
            groups * ((1u64 << g) + vectors as u64 * u64::from(bits))
        })
        .unwrap_or(1)
}

/// `Π_i bases[i]^{exps[j][i]} mod m` for every exponent vector `j`, all
/// exponents below `2^bits` (≤ 128). The bases are split into groups of `g`
/// and every subset product of each group is computed once
/// (Pippenger/Yao-style precomputation shared by all vectors; cf. C. H. Lim
/// and P. J. Lee, "More flexible exponentiation with precomputation",
/// CRYPTO '94, with the roles of bits and bases exchanged); each vector then
/// costs `bits` squarings and `bits·⌈N/g⌉` multiplications, instead of a
/// multi-exponentiation of its own. Vectors run in parallel on rayon.
pub(crate) fn shared_bases_multi_exp(bases: &[&Integer], exps: &[Vec<u128>], bits: u32, m: &Integer) -> Vec<Integer> {
    use rayon::prelude::*;
    debug_assert!(bits <= 128 && exps.iter().all(|e| e.len() == bases.len()));
    let g = best_group(bases.len(), exps.len(), bits) as usize;
    // tables[k][mask] = Π of the bases of group k selected by mask (mask 0 unused).
    let tables: Vec<Vec<Integer>> = bases
        .par_chunks(g)
        .map(|group| {
            let mut table = vec![Integer::from(1); 1 << group.len()];
            for mask in 1usize..1 << group.len() {
                let low = mask.trailing_zeros() as usize;
                let rest = mask & (mask - 1);
                table[mask] = if rest == 0 { group[low].clone() } else { mulmod(&table[rest], group[low], m) };
            }
            table
        })
        .collect();
    exps.par_iter()
        .map(|e| {
            // In place: `product` holds acc·x before the reduction, so the
            // loop allocates nothing once both have grown to size.
            let (mut acc, mut product) = (Integer::from(1), Integer::new());
            let mut started = false;
            for t in (0..bits).rev() {
                if started {
                    product.assign(acc.square_ref());
                    acc.assign(&product % m);
                }
                for (k, table) in tables.iter().enumerate() {
                    let mut mask = 0usize;
                    for (slot, x) in e[k * g..(k * g + g).min(e.len())].iter().enumerate() {
                        mask |= (((x >> t) & 1) as usize) << slot;
                    }
                    if mask != 0 {
                        if started {
                            product.assign(&acc * &table[mask]);
                            acc.assign(&product % m);
                        } else {
                            acc.assign(&table[mask]);
                            started = true;
                        }
                    }
                }
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_exp_matches_separate_powers() {
        let m = Integer::from(1_000_003u32) * Integer::from(999_983u32);
        let bases: Vec<Integer> = (2u32..40).map(|i| Integer::from(i * 7919 + 3)).collect();
        let exps: Vec<Integer> =
            (0u64..38).map(|i| Integer::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 64))).collect();
        let refs: Vec<&Integer> = bases.iter().collect();
        let expected = bases
            .iter()
            .zip(&exps)
            .fold(Integer::from(1), |acc, (b, e)| mulmod(&acc, &Integer::from(b.pow_mod_ref(e, &m).unwrap()), &m));
        assert_eq!(multi_exp(&refs, &exps, &m), expected);
        assert_eq!(multi_exp(&refs[..1], &exps[..1], &m), Integer::from(bases[0].pow_mod_ref(&exps[0], &m).unwrap()));
        assert_eq!(multi_exp(&[], &[], &m), 1);
    }

    #[test]
    fn shared_bases_match_separate_multi_exps() {
        let m = Integer::from(1_000_003u32) * Integer::from(999_983u32);
        for n in [1usize, 5, 13, 40] {
            let bases: Vec<Integer> = (0..n as u32).map(|i| Integer::from(i * 7919 + 3)).collect();
            let refs: Vec<&Integer> = bases.iter().collect();
            let exps: Vec<Vec<u128>> = (0..7u64)
                .map(|j| {
                    (0..n as u64).map(|i| u128::from((i * 31 + j * 17).wrapping_mul(0x9e37_79b9) % (1 << 40))).collect()
                })
                .chain([vec![0; n], vec![(1u128 << 70) - 1; n]])
                .collect();
            let got = shared_bases_multi_exp(&refs, &exps, 70, &m);
            for (e, g) in exps.iter().zip(&got) {
                let big: Vec<Integer> = e.iter().map(|&x| Integer::from(x)).collect();
                assert_eq!(*g, multi_exp(&refs, &big, &m), "n = {n}");
            }
        }
    }
}
