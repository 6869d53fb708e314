//! OT-extension PSI: KKRT16, semi-honest.
//!
//! Kolesnikov, Kumaresan, Rosulek and Trieu, "Efficient Batched Oblivious PRF
//! with Applications to Private Set Intersection", CCS 2016,
//! <https://eprint.iacr.org/2016/799> (§3 the batched OPRF, §5 the PSI),
//! with the hashing of Pinkas, Schneider and Zohner, "Scalable Private Set
//! Intersection Based on OT Extension", ACM TOPS 2018,
//! <https://eprint.iacr.org/2016/930> (§3.3: Cuckoo hashing with 3 hash
//! functions into 1.27·n bins, no stash).
//!
//! The *receiver* puts each of its ids into one of `m` bins by Cuckoo hashing
//! and gets, for every bin, an oblivious PRF evaluation on that bin's id. The
//! *sender* can evaluate the same PRF on anything; it sends the PRF of each of
//! its ids under each of the 3 bins the id could sit in, and the receiver
//! looks its own values up among them.
//!
//! ```text
//! receiver (learns)                                        sender
//!   Hello { m bins, hash key, base-OT point S }      ──►
//!                                                   ◄──    Base { n, code key, base-OT points R_1..R_k }
//!   Matrix batch 0, 1, …  (U = T ⊕ G(k¹) ⊕ C)      ──►     (acknowledged: at most 4 batches in flight)
//!                                                   ◄──    Encodings { chunk }  × 3·n / chunk
//!   Matches { positions }  (only with `Both`)        ──►
//! ```
//!
//! Steps (KKRT Figure 2): `k = 512` base OTs with the roles reversed (the
//! sender chooses the secret `s ∈ {0,1}^k`); the receiver's matrix rows are
//! `t_j` and `t_j ⊕ C(x_j)`, where `C` is a pseudo-random code (fixed-key AES
//! under a key the sender picks after seeing the receiver's parameters); the
//! sender gets `q_j = t_j ⊕ (C(x_j) ∧ s)` and evaluates
//! `F(j, y) = H(j, q_j ⊕ (C(y) ∧ s))`, which equals the receiver's
//! `H(j, t_j)` exactly when `y = x_j`. The `3·n` encodings are shuffled as
//! one list (positions say nothing about which bins, or which hash function,
//! an encoding belongs to) and truncated to `40 + log₂ n_receiver +
//! log₂ 3·n_sender` bits: each receiver value is compared with all of them,
//! so a false match anywhere has probability ≤ 2⁻⁴⁰.
//!
//! What each party learns: the receiver, the intersection (and the sender's
//! set size); the sender, only the receiver's set size, or with
//! [`KkrtReveal::Both`] also the intersection (the receiver sends back the
//! positions of the encodings that matched). There is no cardinality-only
//! mode: the receiver always learns which of its ids matched (use ECDH-PSI
//! for that).
//!
//! Streaming: the matrix is generated, sent and consumed in batches of
//! `BATCH_BINS` bins, so memory is linear in the set sizes with small
//! constants (no `m × k` matrix is ever held whole).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit};
use rand::Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use wefe_core::wire::{put_count, put_u32};
use wefe_core::{PeerId, Transport};

use super::ot::{self, BaseOtSender, Seed};
use super::wire::{Reader, decode_batch, encode_batch};
use super::{LowBits, Progress, PsiOutput, dedupe, from_truncated, random_permutation, truncated_len};
use crate::{Error, Result};

/// Wire version of every KKRT message.
pub const VERSION: u8 = 1;
/// Width of the pseudo-random code, in bits: the number of base OTs. KKRT
/// Table 2 gives 448 for 2^24 items at 40-bit statistical security; 512 is
/// four AES blocks.
pub const CODE_BITS: usize = 512;
const CODE_BYTES: usize = CODE_BITS / 8;
/// Cuckoo hash functions (PSZ18 §3.3).
pub const HASHES: usize = 3;
/// Bins per receiver item (PSZ18: 1.27·n bins and 3 hash functions fail with
/// probability below 2⁻⁴⁰ for large n); small sets get 64 spare bins.
const BIN_FACTOR: f64 = 1.27;
/// Bins per matrix batch (a multiple of 128): 2 MiB of matrix per message.
const BATCH_BINS: usize = 1 << 15;
/// Encodings per message.
const ENCODINGS_PER_CHUNK: usize = 1 << 16;
/// Matrix batches the receiver sends before waiting for an acknowledgement.
const WINDOW: u32 = 4;
/// Largest set: item indices are packed with a hash index into a u32.
const MAX_ITEMS_LIMIT: u32 = 1 << 30;

/// Transport tags.
pub const TAG_HELLO: &str = "psi/kkrt/v1/hello";
/// See [`TAG_HELLO`].
pub const TAG_BASE: &str = "psi/kkrt/v1/base";
/// See [`TAG_HELLO`].
pub const TAG_MATRIX: &str = "psi/kkrt/v1/matrix";
/// See [`TAG_HELLO`].
pub const TAG_ACK: &str = "psi/kkrt/v1/ack";
/// See [`TAG_HELLO`].
pub const TAG_ENCODINGS: &str = "psi/kkrt/v1/encodings";
/// See [`TAG_HELLO`].
pub const TAG_MATCHES: &str = "psi/kkrt/v1/matches";

const ID_DST: &[u8] = b"wefe/psi/kkrt/v1/id";
const OPRF_DST: &[u8] = b"wefe/psi/kkrt/v1/oprf";

/// Who learns the intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KkrtReveal {
    /// Only the receiver.
    Receiver,
    /// The receiver and then the sender.
    Both,
}

/// Parameters of a run; both parties must use the same `reveal` (checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KkrtParams {
    /// Who learns the intersection.
    pub reveal: KkrtReveal,
    /// Most ids accepted from the peer's announcement (and held locally).
    pub max_items: u32,
    /// The most ids the peer may announce (the rows of its registered
    /// dataset); None: only `max_items`.
    pub peer_max_items: Option<u64>,
}

impl Default for KkrtParams {
    fn default() -> Self {
        Self { reveal: KkrtReveal::Both, max_items: 1 << 24, peer_max_items: None }
    }
}

/// The number of bins for `n` receiver ids: a multiple of 128.
pub fn bin_count(n: usize) -> usize {
    let bins = (n as f64 * BIN_FACTOR).ceil() as usize + 64;
    bins.div_ceil(128) * 128
}

/// Bytes per encoding: `40 + ⌈log₂ n_r⌉ + ⌈log₂ 3·n_s⌉` bits, rounded up, 6..=16.
pub fn encoding_len(receiver_items: usize, sender_items: usize) -> usize {
    truncated_len(receiver_items, HASHES * sender_items, 16)
}

/// A 128-bit digest of an id: fixed-length input for hashing and coding.
fn digest(item: &[u8]) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(ID_DST);
    hash.update(item);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.finalize()[..16]);
    out
}

/// The 3 bins of each digest: AES under the hash key, three 32-bit words
/// mapped onto `0..m` by multiply-shift.
fn bins_of(hash_key: &Seed, digests: &[[u8; 16]], m: usize) -> Vec<[u32; HASHES]> {
    let cipher = Aes128::new(hash_key.into());
    digests
        .par_chunks(1024)
        .flat_map_iter(|chunk| {
            let mut blocks: Vec<aes::Block> = chunk.iter().map(|d| aes::Block::from(*d)).collect();
            cipher.encrypt_blocks(&mut blocks);
            blocks.into_iter().map(move |b| {
                core::array::from_fn(|h| {
                    let word = u32::from_le_bytes([b[4 * h], b[4 * h + 1], b[4 * h + 2], b[4 * h + 3]]);
                    ((u64::from(word) * m as u64) >> 32) as u32
                })
            })
        })
        .collect()
}

/// The pseudo-random code word `C(digest, h)`: 4 AES blocks under the code
/// key, on the digest tweaked by the hash function's index and the block's.
fn code_words(cipher: &Aes128, inputs: &[([u8; 16], u8)], out: &mut [u8]) {
    let mut blocks: Vec<aes::Block> = Vec::with_capacity(4 * inputs.len());
    for (d, h) in inputs {
        for b in 0..4u8 {
            let mut block = *d;
            block[0] ^= (h << 2) | b;
            blocks.push(aes::Block::from(block));
        }
    }
    cipher.encrypt_blocks(&mut blocks);
    for (dst, block) in out.chunks_exact_mut(16).zip(&blocks) {
        dst.copy_from_slice(block);
    }
}

/// `H(j, row)` truncated to `len` bytes, as a little-endian u128.
fn oprf_hash(bin: usize, row: &[u8], len: usize) -> u128 {
    let mut hash = Sha256::new();
    hash.update(OPRF_DST);
    hash.update((bin as u64).to_le_bytes());
    hash.update(row);
    from_truncated(&hash.finalize()[..len])
}

type ValueMap = HashMap<u128, u32, BuildHasherDefault<LowBits>>;

/// The bins of a batch: `start..start + width`.
fn batch_range(index: u32, bins: usize) -> std::ops::Range<usize> {
    let start = (index as usize) * BATCH_BINS;
    start..(start + BATCH_BINS).min(bins)
}

fn batch_count(bins: usize) -> u32 {
    bins.div_ceil(BATCH_BINS) as u32
}

// ---- messages ----

const KIND_HELLO: u8 = 1;
const KIND_BASE: u8 = 2;
const KIND_MATRIX: u8 = 3;
const KIND_ACK: u8 = 4;
const KIND_ENCODINGS: u8 = 5;
const KIND_MATCHES: u8 = 6;

/// Receiver → sender: the run's parameters and the base-OT sender's point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Who learns.
    pub reveal: KkrtReveal,
    /// The receiver's number of ids.
    pub items: u32,
    /// Number of bins (a multiple of 128, 1.27·items or more).
    pub bins: u32,
    /// Key of the Cuckoo hash functions.
    pub hash_key: Seed,
    /// Chou–Orlandi `S`.
    pub ot_point: [u8; 32],
}

/// Sender → receiver: its set size, the code key and the base-OT points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The sender's number of ids.
    pub items: u32,
    /// Key of the pseudo-random code.
    pub code_key: Seed,
    /// Chou–Orlandi `R_i`, one per code bit.
    pub ot_points: Vec<[u8; 32]>,
}

/// Receiver → sender: the columns of `U` for one batch of bins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixBatch {
    /// Batch number, from 0.
    pub index: u32,
    /// `CODE_BITS` columns of `width / 8` bytes.
    pub columns: Vec<u8>,
}

/// Sender → receiver: one chunk of the shuffled list of `3·n` encodings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encodings {
    /// Chunk number, from 0.
    pub chunk: u32,
    /// `count × len` bytes.
    pub values: Vec<u8>,
}

/// Receiver → sender (with [`KkrtReveal::Both`]): which encodings matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches {
    /// Positions in the list of encodings.
    pub positions: Vec<u32>,
}

impl Hello {
    /// `version ‖ kind ‖ reveal ‖ items:u32 ‖ bins:u32 ‖ hash_key ‖ ot_point`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_HELLO, matches!(self.reveal, KkrtReveal::Both) as u8];
        put_u32(&mut out, self.items);
        put_u32(&mut out, self.bins);
        out.extend_from_slice(&self.hash_key);
        out.extend_from_slice(&self.ot_point);
        out
    }

    /// Parses a Hello; the receiver may hold at most `max_items` ids.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("KKRT hello", bytes);
        r.header(VERSION, KIND_HELLO)?;
        let reveal = match r.u8()? {
            0 => KkrtReveal::Receiver,
            1 => KkrtReveal::Both,
            other => return Err(r.malformed(format!("unknown reveal mode {other}"))),
        };
        let items = r.count(max_items.min(MAX_ITEMS_LIMIT) as usize)? as u32;
        let bins = r.u32()?;
        if bins as usize != bin_count(items as usize) {
            return Err(r.malformed(format!("{bins} bins for {items} items, expected {}", bin_count(items as usize))));
        }
        let hash_key = r.take(16)?.try_into().expect("16 bytes");
        let ot_point = r.take(32)?.try_into().expect("32 bytes");
        r.finish()?;
        Ok(Self { reveal, items, bins, hash_key, ot_point })
    }
}

impl Base {
    /// `version ‖ kind ‖ items:u32 ‖ code_key ‖ count:u32 ‖ count × 32`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_BASE];
        put_u32(&mut out, self.items);
        out.extend_from_slice(&self.code_key);
        put_count(&mut out, self.ot_points.len());
        self.ot_points.iter().for_each(|p| out.extend_from_slice(p));
        out
    }

    /// Parses a Base; the sender may hold at most `max_items` ids.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("KKRT base", bytes);
        r.header(VERSION, KIND_BASE)?;
        let items = r.count(max_items.min(MAX_ITEMS_LIMIT) as usize)? as u32;
        let code_key = r.take(16)?.try_into().expect("16 bytes");
        let count = r.count(CODE_BITS)?;
        if count != CODE_BITS {
            return Err(r.malformed(format!("{count} base-OT points, expected {CODE_BITS}")));
        }
        let ot_points = r.arrays32(count)?;
        r.finish()?;
        Ok(Self { items, code_key, ot_points })
    }
}

impl MatrixBatch {
    /// `version ‖ kind ‖ index:u32 ‖ len:u32 ‖ columns`.
    pub fn encode(&self) -> Vec<u8> {
        encode_batch(VERSION, KIND_MATRIX, self.index, &self.columns)
    }

    /// Parses a batch; its size is checked by the sender against its index.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (index, columns) = decode_batch("KKRT matrix batch", VERSION, KIND_MATRIX, bytes, CODE_BYTES * BATCH_BINS)?;
        Ok(Self { index, columns })
    }
}

fn encode_ack(index: u32) -> Vec<u8> {
    let mut out = vec![VERSION, KIND_ACK];
    put_u32(&mut out, index);
    out
}

fn decode_ack(bytes: &[u8]) -> Result<u32> {
    let mut r = Reader::new("KKRT acknowledgement", bytes);
    r.header(VERSION, KIND_ACK)?;
    let index = r.u32()?;
    r.finish()?;
    Ok(index)
}

impl Encodings {
    /// `version ‖ kind ‖ chunk:u32 ‖ len:u32 ‖ values`.
    pub fn encode(&self) -> Vec<u8> {
        encode_batch(VERSION, KIND_ENCODINGS, self.chunk, &self.values)
    }

    /// Parses a chunk; its size is checked by the receiver.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (chunk, values) = decode_batch("KKRT encodings", VERSION, KIND_ENCODINGS, bytes, 16 * ENCODINGS_PER_CHUNK)?;
        Ok(Self { chunk, values })
    }
}

impl Matches {
    /// `version ‖ kind ‖ count:u32 ‖ count × position:u32`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 4 * self.positions.len());
        out.extend_from_slice(&[VERSION, KIND_MATCHES]);
        put_count(&mut out, self.positions.len());
        self.positions.iter().for_each(|p| put_u32(&mut out, *p));
        out
    }

    /// Parses Matches holding at most `max` positions.
    pub fn decode(bytes: &[u8], max: u32) -> Result<Self> {
        let mut r = Reader::new("KKRT matches", bytes);
        r.header(VERSION, KIND_MATCHES)?;
        let count = r.count(max as usize)?;
        let positions =
            r.records(count, 4)?.into_iter().map(|rec| u32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]])).collect();
        r.finish()?;
        Ok(Self { positions })
    }
}

// ---- receiver ----

const EMPTY: u32 = u32::MAX;

/// Cuckoo hashing (random walk): `table[bin] = item << 2 | hash`, or [`EMPTY`].
fn cuckoo_insert(bins: &[[u32; HASHES]], m: usize) -> Option<Vec<u32>> {
    const MAX_KICKS: usize = 1000;
    let mut table = vec![EMPTY; m];
    let mut rng = rand::thread_rng();
    for item in 0..bins.len() as u32 {
        let mut current = item << 2;
        let mut placed = false;
        for _ in 0..MAX_KICKS {
            let candidates = &bins[(current >> 2) as usize];
            if let Some(h) = (0..HASHES).find(|&h| table[candidates[h] as usize] == EMPTY) {
                table[candidates[h] as usize] = (current & !3) | h as u32;
                placed = true;
                break;
            }
            // Evict the occupant of a random one of the other bins.
            let skip = (current & 3) as usize;
            let h = (skip + 1 + rng.gen_range(0..HASHES - 1)) % HASHES;
            let bin = candidates[h] as usize;
            let evicted = table[bin];
            table[bin] = (current & !3) | h as u32;
            current = evicted;
        }
        if !placed {
            return None;
        }
    }
    Some(table)
}

/// The receiver before it has sent anything.
pub struct Receiver {
    params: KkrtParams,
    items: Vec<Vec<u8>>,
    digests: Vec<[u8; 16]>,
    table: Vec<u32>,
    hash_key: Seed,
    base_ot: BaseOtSender,
}

super::debug_items_only!(Receiver, ReceiverStream, Sender, SenderStream);

impl Receiver {
    /// Dedupes the ids and places them in bins (Cuckoo hashing with a fresh key).
    pub fn new<I>(params: KkrtParams, items: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        check_size(items.len(), params.max_items)?;
        let digests: Vec<[u8; 16]> = items.par_iter().map(|i| digest(i)).collect();
        let m = bin_count(items.len());
        for _ in 0..8 {
            let hash_key = ot::random_seed()?;
            if let Some(table) = cuckoo_insert(&bins_of(&hash_key, &digests, m), m) {
                return Ok(Self { params, items, digests, table, hash_key, base_ot: BaseOtSender::new()? });
            }
        }
        Err(Error::InvalidParams(format!("Cuckoo hashing of {} ids into {m} bins failed 8 times", items.len())))
    }

    /// The first message.
    pub fn hello(&self) -> Hello {
        Hello {
            reveal: self.params.reveal,
            items: self.items.len() as u32,
            bins: self.table.len() as u32,
            hash_key: self.hash_key,
            ot_point: self.base_ot.public(),
        }
    }

    /// Takes the sender's base-OT points: from here on the matrix is streamed.
    pub fn on_base(self, base: Base) -> Result<ReceiverStream> {
        let seeds = self.base_ot.keys("KKRT base", &base.ot_points)?;
        let len = encoding_len(self.items.len(), base.items as usize);
        Ok(ReceiverStream {
            params: self.params,
            items: self.items,
            digests: self.digests,
            table: self.table,
            seeds,
            code: Aes128::new((&base.code_key).into()),
            peer_items: base.items as usize,
            len,
            next_batch: 0,
            values: ValueMap::default(),
            received: 0,
            matched: Vec::new(),
        })
    }
}

/// The receiver while the matrix and the encodings flow.
pub struct ReceiverStream {
    params: KkrtParams,
    items: Vec<Vec<u8>>,
    digests: Vec<[u8; 16]>,
    table: Vec<u32>,
    seeds: Vec<(Seed, Seed)>,
    code: Aes128,
    peer_items: usize,
    len: usize,
    next_batch: u32,
    /// `H(j, t_j)`, truncated → item.
    values: ValueMap,
    /// Encodings looked up so far.
    received: usize,
    /// `(position, item)` of every encoding that matched.
    matched: Vec<(u32, u32)>,
}

impl Drop for ReceiverStream {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (k0, k1) in &mut self.seeds {
            k0.zeroize();
            k1.zeroize();
        }
    }
}

impl ReceiverStream {
    /// The number of matrix batches.
    pub fn batches(&self) -> u32 {
        batch_count(self.table.len())
    }

    /// The sender's number of ids.
    pub fn peer_items(&self) -> usize {
        self.peer_items
    }

    /// The next batch of the matrix, or `None` once all were produced. Its own
    /// PRF values are kept for the lookups.
    pub fn next_matrix(&mut self) -> Result<Option<(MatrixBatch, usize)>> {
        if self.next_batch >= self.batches() {
            return Ok(None);
        }
        let index = self.next_batch;
        self.next_batch += 1;
        let range = batch_range(index, self.table.len());
        let width = range.len();
        let slots = &self.table[range.clone()];

        // Code words, one row per bin: C(x, h) for occupied bins, random otherwise.
        let mut rows = vec![0u8; width * CODE_BYTES];
        rows.par_chunks_mut(256 * CODE_BYTES).zip(slots.par_chunks(256)).for_each(|(out, slots)| {
            let inputs: Vec<([u8; 16], u8)> = slots
                .iter()
                .map(|&s| if s == EMPTY { ([0; 16], 0) } else { (self.digests[(s >> 2) as usize], (s & 3) as u8) })
                .collect();
            code_words(&self.code, &inputs, out);
            // Empty bins get random rows (ChaCha from the OS seed, no syscall per row).
            let mut rng = rand::thread_rng();
            for (row, &s) in out.chunks_exact_mut(CODE_BYTES).zip(slots) {
                if s == EMPTY {
                    rand::RngCore::fill_bytes(&mut rng, row);
                }
            }
        });
        let code_columns = ot::transpose(&rows, width, CODE_BITS);
        drop(rows);

        // T = G(k⁰), U = T ⊕ G(k¹) ⊕ C, column by column.
        let column_bytes = width / 8;
        let offset = (range.start / 8) as u64;
        let mut t_columns = vec![0u8; CODE_BITS * column_bytes];
        let mut u_columns = code_columns;
        t_columns
            .par_chunks_mut(column_bytes)
            .zip(u_columns.par_chunks_mut(column_bytes))
            .zip(self.seeds.par_iter())
            .for_each(|((t, u), (k0, k1))| {
                ot::xor_keystream(k0, offset, t);
                u.iter_mut().zip(t.iter()).for_each(|(u, t)| *u ^= t);
                ot::xor_keystream(k1, offset, u);
            });
        let t_rows = ot::transpose(&t_columns, CODE_BITS, width);
        drop(t_columns);

        let len = self.len;
        let own: Vec<(u128, u32)> = t_rows
            .par_chunks_exact(CODE_BYTES)
            .zip(slots.par_iter())
            .enumerate()
            .filter(|(_, (_, s))| **s != EMPTY)
            .map(|(k, (row, &s))| (oprf_hash(range.start + k, row, len), s >> 2))
            .collect();
        let occupied = own.len();
        self.values.extend(own);
        Ok(Some((MatrixBatch { index, columns: u_columns }, occupied)))
    }

    /// Looks a chunk of the sender's encodings up (chunks in order, after the
    /// whole matrix was produced). Returns how many encodings it held.
    pub fn on_encodings(&mut self, chunk: Encodings) -> Result<usize> {
        let malformed = |reason: String| Error::Malformed { message: "KKRT encodings", reason };
        if self.next_batch < self.batches() {
            return Err(Error::InvalidParams("encodings looked up before the whole matrix was produced".into()));
        }
        let total = HASHES * self.peer_items;
        if self.received >= total {
            return Err(malformed("more encodings than 3 per id of the sender's set".into()));
        }
        let expected_chunk = self.received / ENCODINGS_PER_CHUNK;
        if chunk.chunk as usize != expected_chunk {
            return Err(malformed(format!("chunk {} arrived, expected chunk {expected_chunk}", chunk.chunk)));
        }
        let count = (total - self.received).min(ENCODINGS_PER_CHUNK);
        if chunk.values.len() != count * self.len {
            return Err(malformed(format!(
                "{} bytes, expected {count} encodings of {} bytes",
                chunk.values.len(),
                self.len
            )));
        }
        let first = self.received;
        let len = self.len;
        let values = &self.values;
        let found: Vec<(u32, u32)> = chunk
            .values
            .par_chunks_exact(len)
            .enumerate()
            .filter_map(|(k, v)| values.get(&from_truncated(v)).map(|&item| ((first + k) as u32, item)))
            .collect();
        self.matched.extend(found);
        self.received += count;
        Ok(count)
    }

    /// Whether every encoding has arrived.
    pub fn has_all_encodings(&self) -> bool {
        self.received == HASHES * self.peer_items
    }

    /// The intersection and, with [`KkrtReveal::Both`], the [`Matches`] to send.
    pub fn finish(self) -> Result<(Option<Matches>, PsiOutput)> {
        if !self.has_all_encodings() {
            return Err(Error::Malformed {
                message: "KKRT encodings",
                reason: format!("only {} of {} encodings arrived", self.received, HASHES * self.peer_items),
            });
        }
        let mut items: Vec<u32> = self.matched.iter().map(|m| m.1).collect();
        items.sort_unstable();
        items.dedup();
        let mut common: Vec<Vec<u8>> = items.iter().map(|&i| self.items[i as usize].clone()).collect();
        common.sort();
        let matches = matches!(self.params.reveal, KkrtReveal::Both)
            .then(|| Matches { positions: self.matched.iter().map(|m| m.0).collect() });
        Ok((matches, PsiOutput::Intersection(common)))
    }
}

// ---- sender ----

/// The sender before the receiver's Hello.
pub struct Sender {
    params: KkrtParams,
    items: Vec<Vec<u8>>,
}

impl Sender {
    /// Dedupes the ids.
    pub fn new<I>(params: KkrtParams, items: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        check_size(items.len(), params.max_items)?;
        Ok(Self { params, items })
    }

    /// Checks the receiver's parameters, runs its side of the base OTs and
    /// buckets its ids by bin.
    pub fn on_hello(self, hello: Hello) -> Result<(Base, SenderStream)> {
        if hello.reveal != self.params.reveal {
            return Err(Error::ParamsMismatch(format!(
                "the receiver runs with reveal {:?}, this party with {:?}",
                hello.reveal, self.params.reveal
            )));
        }
        let mut secret = [0u8; CODE_BYTES];
        getrandom::fill(&mut secret).map_err(|e| Error::Random(e.to_string()))?;
        let choices: Vec<bool> = (0..CODE_BITS).map(|i| secret[i / 8] >> (i % 8) & 1 == 1).collect();
        let (ot_points, keys) = ot::base_ot_receive("KKRT hello", &hello.ot_point, &choices)?;
        let code_key = ot::random_seed()?;

        let m = hello.bins as usize;
        let n = self.items.len();
        let digests: Vec<[u8; 16]> = self.items.par_iter().map(|i| digest(i)).collect();
        let bins = bins_of(&hello.hash_key, &digests, m);
        // Counting sort of (item, hash) by bin.
        let mut starts = vec![0u32; m + 1];
        for b in bins.iter().flatten() {
            starts[*b as usize + 1] += 1;
        }
        for j in 0..m {
            starts[j + 1] += starts[j];
        }
        let mut fill = starts.clone();
        let mut entries = vec![0u32; HASHES * n];
        for (item, b) in bins.iter().enumerate() {
            for (h, &bin) in b.iter().enumerate() {
                entries[fill[bin as usize] as usize] = ((item as u32) << 2) | h as u32;
                fill[bin as usize] += 1;
            }
        }
        drop(bins);
        // Where each (item, hash) encoding goes in the one shuffled list.
        let slots: Vec<u32> = random_permutation(HASHES * n).into_iter().map(|p| p as u32).collect();
        let len = encoding_len(hello.items as usize, n);
        let base = Base { items: n as u32, code_key, ot_points };
        let stream = SenderStream {
            params: self.params,
            items: self.items,
            digests,
            bins: m,
            peer_items: hello.items as usize,
            secret,
            keys,
            code: Aes128::new((&code_key).into()),
            starts,
            entries,
            slots,
            len,
            out: vec![0u8; HASHES * n * len],
            next_batch: 0,
            sent: 0,
        };
        Ok((base, stream))
    }
}

/// The sender while the matrix and the encodings flow.
pub struct SenderStream {
    params: KkrtParams,
    items: Vec<Vec<u8>>,
    digests: Vec<[u8; 16]>,
    bins: usize,
    peer_items: usize,
    secret: [u8; CODE_BYTES],
    keys: Vec<Seed>,
    code: Aes128,
    /// `entries[starts[j]..starts[j + 1]]` are the `(item << 2 | hash)` of bin `j`.
    starts: Vec<u32>,
    entries: Vec<u32>,
    /// `slots[3·item + h]`: position of that encoding in the list.
    slots: Vec<u32>,
    len: usize,
    /// The list of `3·n` encodings, `len` bytes each.
    out: Vec<u8>,
    next_batch: u32,
    sent: usize,
}

impl Drop for SenderStream {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret.zeroize();
        self.keys.zeroize();
    }
}

impl SenderStream {
    /// The number of matrix batches to expect.
    pub fn batches(&self) -> u32 {
        batch_count(self.bins)
    }

    /// The receiver's number of ids.
    pub fn peer_items(&self) -> usize {
        self.peer_items
    }

    /// Consumes one batch of the matrix: evaluates the PRF on every id that
    /// may sit in one of its bins. Returns the number of (id, hash) pairs done.
    pub fn on_matrix(&mut self, batch: MatrixBatch) -> Result<usize> {
        let malformed = |reason: String| Error::Malformed { message: "KKRT matrix batch", reason };
        if batch.index != self.next_batch || batch.index >= self.batches() {
            return Err(malformed(format!(
                "batch {} arrived, expected {} of {}",
                batch.index,
                self.next_batch,
                self.batches()
            )));
        }
        let range = batch_range(batch.index, self.bins);
        let column_bytes = range.len() / 8;
        if batch.columns.len() != CODE_BITS * column_bytes {
            return Err(malformed(format!(
                "{} bytes, expected {} for {} bins",
                batch.columns.len(),
                CODE_BITS * column_bytes,
                range.len()
            )));
        }
        self.next_batch += 1;

        // Q = G(k^{s_i}) ⊕ s_i·U, column by column.
        let offset = (range.start / 8) as u64;
        let mut q_columns = batch.columns;
        let secret = self.secret;
        q_columns.par_chunks_mut(column_bytes).zip(self.keys.par_iter()).enumerate().for_each(|(i, (q, key))| {
            if secret[i / 8] >> (i % 8) & 1 == 0 {
                q.fill(0);
            }
            ot::xor_keystream(key, offset, q);
        });
        let q_rows = ot::transpose(&q_columns, CODE_BITS, range.len());
        drop(q_columns);

        let entries = &self.entries[self.starts[range.start] as usize..self.starts[range.end] as usize];
        let first_entry = self.starts[range.start] as usize;
        let (starts, digests, code, len) = (&self.starts, &self.digests, &self.code, self.len);
        // (bin, entry) pairs in chunks; each chunk computes its code words at once.
        let evaluated: Vec<(usize, u128)> = entries
            .par_chunks(256)
            .enumerate()
            .flat_map_iter(|(c, chunk)| {
                let inputs: Vec<([u8; 16], u8)> =
                    chunk.iter().map(|&e| (digests[(e >> 2) as usize], (e & 3) as u8)).collect();
                let mut words = vec![0u8; chunk.len() * CODE_BYTES];
                code_words(code, &inputs, &mut words);
                let base = first_entry + c * 256;
                // The bin of each entry: entries are sorted by bin.
                let mut bin = starts.partition_point(|&s| s as usize <= base) - 1;
                let mut out = Vec::with_capacity(chunk.len());
                for (k, (&e, word)) in chunk.iter().zip(words.chunks_exact(CODE_BYTES)).enumerate() {
                    while starts[bin + 1] as usize <= base + k {
                        bin += 1;
                    }
                    let q = &q_rows[(bin - range.start) * CODE_BYTES..][..CODE_BYTES];
                    let mut row = [0u8; CODE_BYTES];
                    for b in 0..CODE_BYTES {
                        row[b] = q[b] ^ (word[b] & secret[b]);
                    }
                    out.push((e as usize, oprf_hash(bin, &row, len)));
                }
                out.into_iter()
            })
            .collect();
        for &(e, value) in &evaluated {
            let (item, hash) = (e >> 2, e & 3);
            let slot = self.slots[HASHES * item + hash] as usize;
            self.out[slot * len..(slot + 1) * len].copy_from_slice(&value.to_le_bytes()[..len]);
        }
        Ok(evaluated.len())
    }

    /// The next chunk of encodings, once every matrix batch was consumed.
    pub fn next_encodings(&mut self) -> Result<Option<Encodings>> {
        if self.next_batch < self.batches() {
            return Err(Error::InvalidParams("encodings asked for before the whole matrix arrived".into()));
        }
        let total = HASHES * self.items.len();
        if self.sent >= total {
            return Ok(None);
        }
        let first = self.sent;
        let count = (total - first).min(ENCODINGS_PER_CHUNK);
        let values = self.out[first * self.len..(first + count) * self.len].to_vec();
        self.sent += count;
        Ok(Some(Encodings { chunk: (first / ENCODINGS_PER_CHUNK) as u32, values }))
    }

    /// What this party learns: nothing ([`KkrtReveal::Receiver`]), or the
    /// intersection from the receiver's [`Matches`].
    pub fn finish(self, matches: Option<Matches>) -> Result<PsiOutput> {
        let malformed = |reason: String| Error::Malformed { message: "KKRT matches", reason };
        match (self.params.reveal, matches) {
            (KkrtReveal::Receiver, None) => Ok(PsiOutput::Nothing),
            (KkrtReveal::Receiver, Some(_)) => Err(malformed("matches sent although only the receiver learns".into())),
            (KkrtReveal::Both, None) => Err(malformed("missing".into())),
            (KkrtReveal::Both, Some(matches)) => {
                let total = HASHES * self.items.len();
                let smaller = self.items.len().min(self.peer_items);
                if matches.positions.len() > smaller {
                    return Err(malformed(format!(
                        "{} matches, more than the smaller set ({smaller})",
                        matches.positions.len()
                    )));
                }
                // Inverse of the slot permutation: position → 3·item + hash.
                let mut owner = vec![0u32; total];
                for (entry, &slot) in self.slots.iter().enumerate() {
                    owner[slot as usize] = entry as u32;
                }
                let mut common = Vec::with_capacity(matches.positions.len());
                for &position in &matches.positions {
                    if position as usize >= total {
                        return Err(malformed(format!("position {position} of {total} does not exist")));
                    }
                    common.push(owner[position as usize] / HASHES as u32);
                }
                common.sort_unstable();
                let before = common.len();
                common.dedup();
                if common.len() != before {
                    return Err(malformed("an id is reported twice".into()));
                }
                let mut ids: Vec<Vec<u8>> = common.iter().map(|&i| self.items[i as usize].clone()).collect();
                ids.sort();
                Ok(PsiOutput::Intersection(ids))
            }
        }
    }
}

fn check_size(items: usize, max_items: u32) -> Result<()> {
    let max = max_items.min(MAX_ITEMS_LIMIT) as usize;
    if items > max {
        return Err(Error::InvalidParams(format!("{items} items exceed max_items = {max}")));
    }
    Ok(())
}

// ---- drivers ----

/// Runs the receiver against `peer` (see the module docs). Progress counts
/// the ids of both sets: the receiver's as their bins are processed, the
/// sender's as their encodings are looked up.
pub async fn run_receiver<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: KkrtParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let receiver = Receiver::new(params, items)?;
    transport.send(peer, TAG_HELLO, receiver.hello().encode()).await?;
    let base = Base::decode(&transport.recv(peer, TAG_BASE).await?, params.max_items)?;
    super::check_peer_items(u64::from(base.items), params.peer_max_items)?;
    let mut stream = receiver.on_base(base)?;
    progress.add_total((stream.items.len() + stream.peer_items()) as u64);
    let mut acknowledged = 0u32;
    let await_ack = async |acknowledged: &mut u32| -> Result<()> {
        let index = decode_ack(&transport.recv(peer, TAG_ACK).await?)?;
        if index != *acknowledged {
            return Err(Error::Malformed {
                message: "KKRT acknowledgement",
                reason: format!("acknowledges batch {index}, expected {acknowledged}"),
            });
        }
        *acknowledged += 1;
        Ok(())
    };
    while let Some((batch, occupied)) = stream.next_matrix()? {
        // Flow control: the sender is slower; keep at most WINDOW batches queued there.
        while batch.index >= acknowledged + WINDOW {
            await_ack(&mut acknowledged).await?;
        }
        transport.send(peer, TAG_MATRIX, batch.encode()).await?;
        progress.advance(occupied as u64);
    }
    // Every batch acknowledged: the sender has consumed the whole matrix.
    while acknowledged < stream.batches() {
        await_ack(&mut acknowledged).await?;
    }
    let (mut looked_up, mut reported) = (0usize, 0usize);
    while !stream.has_all_encodings() {
        let chunk = Encodings::decode(&transport.recv(peer, TAG_ENCODINGS).await?)?;
        looked_up += stream.on_encodings(chunk)?;
        // Each of the sender's ids has HASHES encodings.
        let now = looked_up / HASHES;
        progress.advance((now - reported) as u64);
        reported = now;
    }
    let (matches, output) = stream.finish()?;
    if let Some(matches) = matches {
        transport.send(peer, TAG_MATCHES, matches.encode()).await?;
    }
    Ok(output)
}

/// Runs the sender against `peer` (see [`run_receiver`]).
pub async fn run_sender<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: KkrtParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let sender = Sender::new(params, items)?;
    let hello = Hello::decode(&transport.recv(peer, TAG_HELLO).await?, params.max_items)?;
    super::check_peer_items(u64::from(hello.items), params.peer_max_items)?;
    let (base, mut stream) = sender.on_hello(hello)?;
    transport.send(peer, TAG_BASE, base.encode()).await?;
    let n = stream.items.len();
    progress.add_total((n + stream.peer_items()) as u64);
    let bins = stream.bins as u64;
    let mut bins_done = 0u64;
    let mut reported = 0u64;
    for index in 0..stream.batches() {
        let batch = MatrixBatch::decode(&transport.recv(peer, TAG_MATRIX).await?)?;
        let width = batch_range(index, stream.bins).len() as u64;
        stream.on_matrix(batch)?;
        transport.send(peer, TAG_ACK, encode_ack(index)).await?;
        // The receiver's ids, pro rata to the bins processed.
        bins_done += width;
        let now = bins_done * stream.peer_items() as u64 / bins.max(1);
        progress.advance(now - reported);
        reported = now;
    }
    let mut sent = 0usize;
    while let Some(chunk) = stream.next_encodings()? {
        let count = chunk.values.len() / stream.len;
        transport.send(peer, TAG_ENCODINGS, chunk.encode()).await?;
        let before = sent / HASHES;
        sent += count;
        progress.advance((sent / HASHES - before) as u64);
    }
    let matches = match params.reveal {
        KkrtReveal::Both => Some(Matches::decode(&transport.recv(peer, TAG_MATCHES).await?, n as u32)?),
        KkrtReveal::Receiver => None,
    };
    stream.finish(matches)
}
