//! Oblivious-transfer building blocks of the OT-based PSI ([`super::kkrt`]):
//! base OTs, the AES-CTR pseudo-random generator that stretches their seeds,
//! and bit-matrix transposition.
//!
//! **Base OT** — Chou and Orlandi, "The Simplest Protocol for Oblivious
//! Transfer", LATINCRYPT 2015, <https://eprint.iacr.org/2015/267>, Figure 1,
//! over ristretto255 (a prime-order group, so no cofactor checks are needed).
//! Semi-honest use only: the protocol's UC proof was later found incomplete
//! against malicious receivers (Genç, Iovino, Rial, eprint 2017/370), which
//! does not affect the semi-honest model this crate works in.
//!
//! ```text
//! sender (holds key pairs)                receiver (choice bit c)
//!   y ← Z_q, S = y·G, T = y·S   ── S ──►
//!                               ◄── R ──  x ← Z_q, R = c·S + x·G
//!   k0 = H(i, S, R, y·R)                  k_c = H(i, S, R, x·S)
//!   k1 = H(i, S, R, y·R − T)
//! ```
//!
//! One `S` serves all OTs of a run; the index `i` in the hash keeps their
//! keys independent (the paper's batch mode).

use aes::Aes128;
use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::{decode_point, random_scalar};
use crate::{Error, Result};

/// A 128-bit seed or key.
pub(crate) type Seed = [u8; 16];

const BASE_OT_DST: &[u8] = b"wefe/psi/base-ot/chou-orlandi/v1";

type AesCtr = ctr::Ctr128LE<Aes128>;

/// 16 random bytes from the OS generator.
pub(crate) fn random_seed() -> Result<Seed> {
    let mut seed = [0u8; 16];
    getrandom::fill(&mut seed).map_err(|e| Error::Random(e.to_string()))?;
    Ok(seed)
}

fn derive_key(index: usize, s: &[u8; 32], r: &[u8; 32], shared: &RistrettoPoint) -> Seed {
    let mut hash = Sha256::new();
    hash.update(BASE_OT_DST);
    hash.update((index as u64).to_be_bytes());
    hash.update(s);
    hash.update(r);
    hash.update(shared.compress().as_bytes());
    let digest = hash.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The sender side of a batch of base OTs: it ends with two keys per OT.
pub(crate) struct BaseOtSender {
    y: Scalar,
    s: [u8; 32],
    t: RistrettoPoint,
}

impl BaseOtSender {
    /// A fresh secret `y` and the public `S = y·G` to send.
    pub(crate) fn new() -> Result<Self> {
        let y = random_scalar()?;
        let s_point = &y * RISTRETTO_BASEPOINT_TABLE;
        Ok(Self { y, s: s_point.compress().to_bytes(), t: s_point * y })
    }

    /// `S`, compressed.
    pub(crate) fn public(&self) -> [u8; 32] {
        self.s
    }

    /// Both keys of every OT, from the receiver's points `R_i`.
    pub(crate) fn keys(&self, message: &'static str, points: &[[u8; 32]]) -> Result<Vec<(Seed, Seed)>> {
        points
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let r = decode_point(message, || format!("base-OT point {i}"), bytes)?;
                let yr = r * self.y;
                Ok((derive_key(i, &self.s, bytes, &yr), derive_key(i, &self.s, bytes, &(yr - self.t))))
            })
            .collect()
    }
}

impl Drop for BaseOtSender {
    fn drop(&mut self) {
        self.y.zeroize();
    }
}

/// The receiver side: for each choice bit, the point to send and the chosen key.
pub(crate) fn base_ot_receive(
    message: &'static str,
    sender_public: &[u8; 32],
    choices: &[bool],
) -> Result<(Vec<[u8; 32]>, Vec<Seed>)> {
    let s = decode_point(message, || "the base-OT sender's point".into(), sender_public)?;
    let secrets = choices.iter().map(|_| random_scalar()).collect::<Result<Vec<_>>>()?;
    let (points, keys) = choices
        .par_iter()
        .zip(secrets)
        .enumerate()
        .map(|(i, (&choice, mut x))| {
            let xg = &x * RISTRETTO_BASEPOINT_TABLE;
            let r = if choice { s + xg } else { xg };
            let r_bytes = r.compress().to_bytes();
            let key = derive_key(i, sender_public, &r_bytes, &(s * x));
            x.zeroize();
            (r_bytes, key)
        })
        .unzip();
    Ok((points, keys))
}

/// XORs the AES-128-CTR keystream of `seed` (counter from 0, little-endian),
/// starting at byte `offset`, into `buf`: the PRG `G(seed)` of the OT extension.
pub(crate) fn xor_keystream(seed: &Seed, offset: u64, buf: &mut [u8]) {
    let mut cipher = AesCtr::new(seed.into(), &[0u8; 16].into());
    cipher.seek(offset);
    cipher.apply_keystream(buf);
}

/// Swaps bit `8·i + j` with bit `8·j + i` of `x` (an 8 × 8 bit matrix, one
/// row per byte): Hacker's Delight, 2nd ed., §7-3, `transpose8`.
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// Transposes a bit matrix of `rows` × `cols` (row-major, each row `cols / 8`
/// bytes; bit `c` of a row is bit `c % 8` of byte `c / 8`) into `cols` × `rows`.
/// Both dimensions must be multiples of 8.
pub(crate) fn transpose(src: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    assert!(rows.is_multiple_of(8) && cols.is_multiple_of(8) && src.len() == rows * cols / 8, "bit matrix shape");
    let (src_row_bytes, out_row_bytes) = (cols / 8, rows / 8);
    let mut out = vec![0u8; src.len()];
    if out.is_empty() {
        return out;
    }
    // Each task writes 8 output rows: source byte column `g`.
    out.par_chunks_mut(8 * out_row_bytes).enumerate().for_each(|(g, block)| {
        for p in 0..out_row_bytes {
            let mut x = 0u64;
            for a in 0..8 {
                x |= u64::from(src[(8 * p + a) * src_row_bytes + g]) << (8 * a);
            }
            let y = transpose8(x);
            for b in 0..8 {
                block[b * out_row_bytes + p] = (y >> (8 * b)) as u8;
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(m: &[u8], row_bytes: usize, r: usize, c: usize) -> bool {
        m[r * row_bytes + c / 8] >> (c % 8) & 1 == 1
    }

    #[test]
    fn transpose_matches_the_definition() {
        use rand::RngCore;
        for (rows, cols) in [(8, 8), (16, 64), (128, 512), (24, 40)] {
            let mut src = vec![0u8; rows * cols / 8];
            rand::thread_rng().fill_bytes(&mut src);
            let out = transpose(&src, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(bit(&src, cols / 8, r, c), bit(&out, rows / 8, c, r), "({r},{c}) of {rows}x{cols}");
                }
            }
            assert_eq!(transpose(&out, cols, rows), src, "an involution");
        }
    }

    /// NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) uses counter block
    /// f0f1…feff; our PRG counts from zero (little-endian), so it is checked
    /// against the raw AES-128 block function instead: FIPS-197 Appendix
    /// C.1's key 000102…0f encrypting the zero block is the first keystream
    /// block of `G(000102…0f)` (its input block is counter 0 = the zero block).
    #[test]
    fn prg_is_aes128_ctr_from_counter_zero() {
        use aes::cipher::{BlockEncrypt, KeyInit};
        let seed: Seed = core::array::from_fn(|i| i as u8);
        let mut stream = [0u8; 48];
        xor_keystream(&seed, 0, &mut stream);
        let cipher = Aes128::new(&seed.into());
        for (k, chunk) in stream.chunks(16).enumerate() {
            let mut block = aes::Block::from((k as u128).to_le_bytes());
            cipher.encrypt_block(&mut block);
            assert_eq!(chunk, block.as_slice(), "block {k}");
        }
        // Seeking gives the same bytes as generating from the start.
        let mut tail = [0u8; 16];
        xor_keystream(&seed, 32, &mut tail);
        assert_eq!(tail, stream[32..]);
        // FIPS-197 C.1: AES-128(000102…0f, 00112233…ff).
        let mut block = aes::Block::from(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff");
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "69c4e0d86a7b0430d8cdb78070b4c55a");
    }

    #[test]
    fn base_ots_give_the_receiver_exactly_the_chosen_key() {
        let sender = BaseOtSender::new().unwrap();
        let choices: Vec<bool> = (0..64).map(|i| i % 3 == 0).collect();
        let (points, chosen) = base_ot_receive("test", &sender.public(), &choices).unwrap();
        let pairs = sender.keys("test", &points).unwrap();
        for (i, ((k0, k1), choice)) in pairs.iter().zip(&choices).enumerate() {
            assert_ne!(k0, k1, "ot {i}");
            assert_eq!(&chosen[i], if *choice { k1 } else { k0 }, "ot {i}");
        }
        let distinct: std::collections::HashSet<_> = pairs.iter().map(|p| p.0).collect();
        assert_eq!(distinct.len(), pairs.len(), "keys of different OTs differ");
    }

    #[test]
    fn bad_base_ot_points_are_refused() {
        let sender = BaseOtSender::new().unwrap();
        assert!(matches!(sender.keys("test", &[[0xff; 32]]), Err(Error::Malformed { .. })));
        assert!(matches!(sender.keys("test", &[[0; 32]]), Err(Error::Malformed { .. })));
        assert!(base_ot_receive("test", &[0; 32], &[true]).is_err());
    }
}
