//! ECDH-PSI over ristretto255, streamed in batches.
//!
//! Each party hashes its ids to the group with RFC 9380 `hash_to_ristretto255`
//! ([`hash_to_group`]) and raises them to a secret scalar. With `a` one
//! party's key, `b` the other's and `H` the hash, the protocol is symmetric:
//!
//! ```text
//! each party (initiator and responder alike)
//!   Hello { reveal, output, n }                       ──►   (parameters must agree)
//!   Blinded batch 0, 1, …: a·H(x), shuffled ids       ──►
//!   for each of the peer's batches b·H(y):
//!       keeps a·b·H(y) if it learns (the comparison set)
//!       Double batch: a·b·H(y) truncated              ──►   (only if the peer learns)
//!   receives its own b·a·H(x) back, looks them up in the comparison set
//! ```
//!
//! Double-blinded values are equal exactly when the ids are (up to hash
//! collisions, and the truncation: `40 + log₂ n₁ + log₂ n₂` bits, taken
//! after the encoding's first byte, whose low bit is always 0; a false match
//! has probability ≤ 2⁻⁴⁰). In intersection mode a party gets its own
//! double-blinded values back in the order it sent them and maps matches to
//! ids; in cardinality mode the peer returns them only after shuffling the
//! whole list, so only the count can be learned. Everything a party sends is
//! shuffled, so positions say nothing about the input order.
//!
//! Speed: all `2·n` scalar multiplications of a party run on rayon's pool
//! in batches; each batch multiplies by `key/2` and uses dalek's
//! `double_and_compress_batch`, which doubles and compresses with one shared
//! inversion instead of one per point. Memory: a party holds its ids, one
//! batch of points, and the comparison set (16 bytes per peer id) if it learns.
//!
//! [`EcdhParty`] is the sans-IO state machine; [`run_initiator`] /
//! [`run_responder`] drive it over a [`Transport`].

use std::collections::HashSet;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use rayon::prelude::*;
use sha2::Sha512;
use wefe_core::wire::put_u32;
use wefe_core::{PeerId, Transport};
use zeroize::Zeroize;

pub(crate) use super::from_truncated;
use super::wire::{Reader, decode_batch, encode_batch, put_count};
use super::{LowBits, Progress, PsiOutput, decode_point, dedupe, random_permutation, truncated_len};
use crate::{Error, Result};

/// Wire version of every ECDH-PSI message (2: streamed batches).
pub const VERSION: u8 = 2;

/// Domain separation tag for hashing ids, in RFC 9380 §3.1 form
/// (application, version, suite `ristretto255_XMD:SHA-512_R255MAP_RO_`).
pub const ID_DST: &[u8] = b"WEFE-PSI-ECDH-V01-CS01-with-ristretto255_XMD:SHA-512_R255MAP_RO_";

/// Transport tags.
pub const TAG_HELLO: &str = "psi/ecdh/v2/hello";
/// See [`TAG_HELLO`].
pub const TAG_BLINDED: &str = "psi/ecdh/v2/blinded";
/// See [`TAG_HELLO`].
pub const TAG_DOUBLE: &str = "psi/ecdh/v2/double";

/// Default upper bound on the items one party may announce.
pub const DEFAULT_MAX_ITEMS: u32 = 1 << 24;

/// Points per message (1 MiB of blinded points).
pub const BATCH_ITEMS: usize = 1 << 15;

/// RFC 9380 §5.3.1 `expand_message_xmd` with SHA-512, from RustCrypto's
/// `elliptic-curve` (`hash2curve`). Fails if `dst` is empty or `out` is
/// empty or longer than 255 × 64 bytes.
pub fn expand_message_xmd_sha512(msg: &[u8], dst: &[u8], out: &mut [u8]) -> Result<()> {
    // RFC 9380 §3.1: tags MUST have nonzero length (the crate does not check it).
    if dst.is_empty() {
        return Err(Error::InvalidParams("expand_message_xmd: empty DST".into()));
    }
    let dsts = [dst];
    let mut expander = ExpandMsgXmd::<Sha512>::expand_message(&[msg], &dsts, out.len())
        .map_err(|_| Error::InvalidParams("expand_message_xmd: bad DST or output length".into()))?;
    expander.fill_bytes(out);
    Ok(())
}

/// RFC 9380 `hash_to_ristretto255` (Appendix B; RFC 9497 `HashToGroup`):
/// 64 bytes of `expand_message_xmd(SHA-512)`, then the RFC 9496 §4.3.4
/// one-way map (`RistrettoPoint::from_uniform_bytes`).
pub fn hash_to_group(msg: &[u8], dst: &[u8]) -> Result<RistrettoPoint> {
    let mut uniform = [0u8; 64];
    expand_message_xmd_sha512(msg, dst, &mut uniform)?;
    Ok(RistrettoPoint::from_uniform_bytes(&uniform))
}

/// Who learns the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Only the initiator.
    Initiator,
    /// Only the responder.
    Responder,
    /// Both parties.
    Both,
}

/// What the learning party (or parties) learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The common ids.
    Intersection,
    /// Only their number.
    Cardinality,
}

/// Parameters of one run; both parties must be started with the same
/// `reveal` and `output` (the job's parameters on chain), which the responder
/// checks against the initiator's [`Hello`]. `max_items` is a local limit on
/// what the peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcdhParams {
    /// Who learns the result.
    pub reveal: Reveal,
    /// Intersection or cardinality.
    pub output: OutputKind,
    /// The most items accepted from the peer (and sent by this party).
    pub max_items: u32,
    /// The most ids the peer may announce (the rows of its registered
    /// dataset); None: only `max_items`.
    pub peer_max_items: Option<u64>,
}

impl Default for EcdhParams {
    fn default() -> Self {
        Self {
            reveal: Reveal::Both,
            output: OutputKind::Intersection,
            max_items: DEFAULT_MAX_ITEMS,
            peer_max_items: None,
        }
    }
}

/// A party's secret exponent: random, zeroized on drop, never printed.
/// A party's secret exponent: random, zeroized on drop, never printed. It
/// stores `key / 2`: every product is computed as `2·(key/2)·P` by
/// `double_and_compress_batch`, which shares one inversion across a batch.
pub(crate) struct BlindingKey {
    half: Scalar,
}

impl BlindingKey {
    pub(crate) fn random() -> Result<Self> {
        Ok(Self::from_scalar(super::random_scalar()?))
    }

    fn from_scalar(mut key: Scalar) -> Self {
        let half = key * Scalar::from(2u8).invert();
        key.zeroize();
        Self { half }
    }

    /// `self / other`: applying it to `other·P` gives `self·P` (the
    /// multi-party leader swaps its one-time key for its own this way).
    pub(crate) fn divided_by(&self, other: &BlindingKey) -> Self {
        // (k/2)·(2/r)·(1/2) = (k/r)/2
        Self { half: self.half * other.half.invert() * Scalar::from(2u8).invert() }
    }

    /// `key · H(item)` for each item, compressed (in parallel).
    pub(crate) fn blind_items(&self, items: &[Vec<u8>]) -> Vec<[u8; 32]> {
        items
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                let halves: Vec<RistrettoPoint> = chunk
                    .iter()
                    .map(|item| hash_to_group(item, ID_DST).expect("ID_DST is a valid non-empty DST") * self.half)
                    .collect();
                RistrettoPoint::double_and_compress_batch(&halves).into_iter().map(|c| c.to_bytes())
            })
            .collect()
    }

    /// `key · P` for each point `P` received from the peer; a byte string that
    /// is not a canonical ristretto255 encoding, or the identity, is an error
    /// naming its position (`first` is the position of `points[0]`).
    pub(crate) fn reblind(&self, message: &'static str, first: usize, points: &[[u8; 32]]) -> Result<Vec<[u8; 32]>> {
        let chunks: Vec<Vec<[u8; 32]>> = points
            .par_chunks(256)
            .enumerate()
            .map(|(c, chunk)| {
                let halves = chunk
                    .iter()
                    .enumerate()
                    .map(|(k, bytes)| {
                        Ok(decode_point(message, || format!("item {}", first + c * 256 + k), bytes)? * self.half)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(RistrettoPoint::double_and_compress_batch(&halves).into_iter().map(|c| c.to_bytes()).collect())
            })
            .collect::<Result<_>>()?;
        Ok(chunks.concat())
    }
}

/// Checks points received from a peer without transforming them (see
/// [`BlindingKey::reblind`] for the errors).
pub(crate) fn check_points(message: &'static str, points: &[[u8; 32]]) -> Result<()> {
    points
        .par_iter()
        .enumerate()
        .try_for_each(|(i, bytes)| decode_point(message, || format!("item {i}"), bytes).map(drop))
}

impl Drop for BlindingKey {
    fn drop(&mut self) {
        self.half.zeroize();
    }
}

impl std::fmt::Debug for BlindingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindingKey(..)")
    }
}

/// Which end of the run a party is: it decides who learns (see [`Reveal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The job's first participant.
    Initiator,
    /// The second.
    Responder,
}

// ---- messages ----

const KIND_HELLO: u8 = 1;
const KIND_BLINDED: u8 = 2;
const KIND_DOUBLE: u8 = 3;

/// Each party → the other: the run's parameters and this party's set size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Who learns the result.
    pub reveal: Reveal,
    /// Intersection or cardinality.
    pub output: OutputKind,
    /// The sender's number of ids.
    pub items: u32,
}

/// A batch of the sender's blinded ids (`key·H(x)`, 32 bytes each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blinded {
    /// Batch number, from 0.
    pub index: u32,
    /// The points.
    pub points: Vec<[u8; 32]>,
}

/// A batch of the receiver's own ids double-blinded by the sender, truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Double {
    /// Batch number, from 0.
    pub index: u32,
    /// `count × len` bytes.
    pub values: Vec<u8>,
}

impl Hello {
    /// `version ‖ kind ‖ reveal ‖ output ‖ items:u32`.
    pub fn encode(&self) -> Vec<u8> {
        let reveal = match self.reveal {
            Reveal::Initiator => 0,
            Reveal::Responder => 1,
            Reveal::Both => 2,
        };
        let output = match self.output {
            OutputKind::Intersection => 0,
            OutputKind::Cardinality => 1,
        };
        let mut out = vec![VERSION, KIND_HELLO, reveal, output];
        put_u32(&mut out, self.items);
        out
    }

    /// Parses a Hello announcing at most `max_items` ids.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("ECDH-PSI hello", bytes);
        r.header(VERSION, KIND_HELLO)?;
        let reveal = match r.u8()? {
            0 => Reveal::Initiator,
            1 => Reveal::Responder,
            2 => Reveal::Both,
            other => return Err(r.malformed(format!("unknown reveal mode {other}"))),
        };
        let output = match r.u8()? {
            0 => OutputKind::Intersection,
            1 => OutputKind::Cardinality,
            other => return Err(r.malformed(format!("unknown output kind {other}"))),
        };
        let items = r.count(max_items as usize)? as u32;
        r.finish()?;
        Ok(Self { reveal, output, items })
    }
}

impl Blinded {
    /// `version ‖ kind ‖ index:u32 ‖ count:u32 ‖ count × 32 bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + 32 * self.points.len());
        out.extend_from_slice(&[VERSION, KIND_BLINDED]);
        put_u32(&mut out, self.index);
        put_count(&mut out, self.points.len());
        self.points.iter().for_each(|p| out.extend_from_slice(p));
        out
    }

    /// Parses a batch of at most [`BATCH_ITEMS`] points.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("ECDH-PSI blinded batch", bytes);
        r.header(VERSION, KIND_BLINDED)?;
        let index = r.u32()?;
        let count = r.count(BATCH_ITEMS)?;
        let points = r.arrays32(count)?;
        r.finish()?;
        Ok(Self { index, points })
    }
}

impl Double {
    /// `version ‖ kind ‖ index:u32 ‖ len:u32 ‖ values`.
    pub fn encode(&self) -> Vec<u8> {
        encode_batch(VERSION, KIND_DOUBLE, self.index, &self.values)
    }

    /// Parses a batch (its size is checked against the expected count later).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (index, values) =
            decode_batch("ECDH-PSI double-blinded batch", VERSION, KIND_DOUBLE, bytes, 32 * BATCH_ITEMS)?;
        Ok(Self { index, values })
    }
}

// ---- the party ----

/// One party before the Hellos were exchanged.
pub struct EcdhParty {
    params: EcdhParams,
    role: Role,
    key: BlindingKey,
    /// Shuffled: the order in which they are blinded and sent.
    items: Vec<Vec<u8>>,
}

super::debug_items_only!(EcdhParty, EcdhStream);

fn batches(n: usize) -> usize {
    n.div_ceil(BATCH_ITEMS)
}

fn batch_len(n: usize, index: usize) -> usize {
    (n - index * BATCH_ITEMS).min(BATCH_ITEMS)
}

impl EcdhParty {
    /// Prepares a run over `items` (duplicates removed, shuffled) with a fresh secret key.
    pub fn new<I>(params: EcdhParams, role: Role, items: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let items = dedupe(items);
        if items.len() > params.max_items as usize {
            return Err(Error::InvalidParams(format!("{} items exceed max_items = {}", items.len(), params.max_items)));
        }
        let mut slots: Vec<Option<Vec<u8>>> = items.into_iter().map(Some).collect();
        let items = random_permutation(slots.len()).into_iter().filter_map(|i| slots[i].take()).collect();
        Ok(Self { params, role, key: BlindingKey::random()?, items })
    }

    /// This party's Hello.
    pub fn hello(&self) -> Hello {
        Hello { reveal: self.params.reveal, output: self.params.output, items: self.items.len() as u32 }
    }

    /// Checks the peer's Hello against this party's parameters.
    pub fn on_hello(self, peer: Hello) -> Result<EcdhStream> {
        if peer.reveal != self.params.reveal || peer.output != self.params.output {
            return Err(Error::ParamsMismatch(format!(
                "the peer runs with reveal {:?} / output {:?}, this party with {:?} / {:?}",
                peer.reveal, peer.output, self.params.reveal, self.params.output
            )));
        }
        let peer_items = peer.items as usize;
        let (learns, peer_learns) = match (self.role, self.params.reveal) {
            (_, Reveal::Both) => (true, true),
            (Role::Initiator, Reveal::Initiator) | (Role::Responder, Reveal::Responder) => (true, false),
            _ => (false, true),
        };
        Ok(EcdhStream {
            params: self.params,
            key: self.key,
            len: truncated_len(self.items.len(), peer_items, 16),
            items: self.items,
            peer_items,
            learns,
            peer_learns,
            sent: 0,
            received: 0,
            comparison: HashSet::default(),
            held: Vec::new(),
            own_doubles: 0,
            matched: Vec::new(),
        })
    }
}

/// One party while the batches flow.
pub struct EcdhStream {
    params: EcdhParams,
    key: BlindingKey,
    items: Vec<Vec<u8>>,
    peer_items: usize,
    len: usize,
    learns: bool,
    peer_learns: bool,
    /// Own blinded batches produced.
    sent: usize,
    /// Peer's blinded batches consumed.
    received: usize,
    /// The peer's ids double-blinded and truncated (if this party learns).
    comparison: HashSet<u128, std::hash::BuildHasherDefault<LowBits>>,
    /// Cardinality mode: the peer's double-blinded values, returned shuffled at the end.
    held: Vec<u8>,
    /// Own double-blinded values looked up so far.
    own_doubles: usize,
    /// Positions (in `items`) of own ids found in the comparison set.
    matched: Vec<u32>,
}

/// The `len` bytes of a compressed point that are compared: bytes `1..=len`.
/// Byte 0 is skipped because a canonical ristretto255 encoding is a
/// non-negative field element, whose lowest bit is always 0.
pub(crate) fn compared_bytes(point: &[u8; 32], len: usize) -> &[u8] {
    &point[1..=len.min(16)]
}

fn truncate(point: &[u8; 32], len: usize) -> u128 {
    from_truncated(compared_bytes(point, len))
}

impl EcdhStream {
    /// Whether this party learns the result.
    pub fn learns(&self) -> bool {
        self.learns
    }

    /// The peer's number of ids.
    pub fn peer_items(&self) -> usize {
        self.peer_items
    }

    /// This party's number of ids.
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// Number of own blinded batches (and of own double-blinded batches to expect back).
    pub fn own_batches(&self) -> usize {
        batches(self.items.len())
    }

    /// Number of the peer's blinded batches to expect.
    pub fn peer_batches(&self) -> usize {
        batches(self.peer_items)
    }

    /// The next batch of this party's blinded ids, or `None` when all were produced.
    pub fn next_blinded(&mut self) -> Option<Blinded> {
        if self.sent >= self.own_batches() {
            return None;
        }
        let index = self.sent;
        self.sent += 1;
        let start = index * BATCH_ITEMS;
        let points = self.key.blind_items(&self.items[start..start + batch_len(self.items.len(), index)]);
        Some(Blinded { index: index as u32, points })
    }

    /// Re-blinds a batch of the peer's ids: keeps them for comparison if this
    /// party learns, and returns the [`Double`] to send back if the peer
    /// learns in intersection mode (in cardinality mode they are held and
    /// sent shuffled by [`held_doubles`](Self::held_doubles)).
    pub fn on_blinded(&mut self, batch: Blinded) -> Result<Option<Double>> {
        const MESSAGE: &str = "ECDH-PSI blinded batch";
        let expected = self.received;
        if expected >= self.peer_batches() || batch.index as usize != expected {
            return Err(Error::Malformed {
                message: MESSAGE,
                reason: format!("batch {} arrived, expected {expected} of {}", batch.index, self.peer_batches()),
            });
        }
        let count = batch_len(self.peer_items, expected);
        if batch.points.len() != count {
            return Err(Error::Malformed {
                message: MESSAGE,
                reason: format!("batch {expected} holds {} points, expected {count}", batch.points.len()),
            });
        }
        let doubled = self.key.reblind(MESSAGE, expected * BATCH_ITEMS, &batch.points)?;
        self.received += 1;
        if self.learns {
            self.comparison.extend(doubled.iter().map(|p| truncate(p, self.len)));
        }
        if !self.peer_learns {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(doubled.len() * self.len);
        doubled.iter().for_each(|p| values.extend_from_slice(compared_bytes(p, self.len)));
        match self.params.output {
            OutputKind::Intersection => Ok(Some(Double { index: expected as u32, values })),
            OutputKind::Cardinality => {
                self.held.extend_from_slice(&values);
                Ok(None)
            }
        }
    }

    /// Cardinality mode, once every peer batch was re-blinded: the peer's
    /// double-blinded values, shuffled as a whole, in batches.
    pub fn held_doubles(&mut self) -> Vec<Double> {
        if self.params.output != OutputKind::Cardinality || !self.peer_learns {
            return Vec::new();
        }
        let len = self.len;
        let held = std::mem::take(&mut self.held);
        let mut shuffled = Vec::with_capacity(held.len());
        for i in random_permutation(held.len() / len) {
            shuffled.extend_from_slice(&held[i * len..(i + 1) * len]);
        }
        shuffled
            .chunks(BATCH_ITEMS * len)
            .enumerate()
            .map(|(index, values)| Double { index: index as u32, values: values.to_vec() })
            .collect()
    }

    /// Looks up a batch of this party's own double-blinded ids (after every
    /// peer batch was consumed, so the comparison set is complete).
    pub fn on_double(&mut self, batch: Double) -> Result<usize> {
        const MESSAGE: &str = "ECDH-PSI double-blinded batch";
        let malformed = |reason: String| Error::Malformed { message: MESSAGE, reason };
        if !self.learns {
            return Err(malformed("sent although this party learns nothing".into()));
        }
        if self.received < self.peer_batches() {
            return Err(Error::InvalidParams("own values looked up before the peer's set was complete".into()));
        }
        let expected = self.own_doubles / BATCH_ITEMS;
        if self.own_doubles >= self.items.len() || batch.index as usize != expected {
            return Err(malformed(format!(
                "batch {} arrived, expected {expected} of {}",
                batch.index,
                self.own_batches()
            )));
        }
        let count = batch_len(self.items.len(), expected);
        if batch.values.len() != count * self.len {
            return Err(malformed(format!(
                "batch {expected} holds {} bytes, expected {count} values of {} bytes",
                batch.values.len(),
                self.len
            )));
        }
        let first = self.own_doubles;
        let len = self.len;
        let comparison = &self.comparison;
        let found: Vec<u32> = batch
            .values
            .par_chunks_exact(len)
            .enumerate()
            .filter_map(|(k, v)| comparison.contains(&from_truncated(v)).then_some((first + k) as u32))
            .collect();
        self.matched.extend(found);
        self.own_doubles += count;
        Ok(count)
    }

    /// What this party learns.
    pub fn finish(self) -> Result<PsiOutput> {
        if !self.learns {
            return Ok(PsiOutput::Nothing);
        }
        if self.own_doubles != self.items.len() || self.received != self.peer_batches() {
            return Err(Error::Malformed {
                message: "ECDH-PSI double-blinded batch",
                reason: format!("only {} of {} values arrived", self.own_doubles, self.items.len()),
            });
        }
        Ok(match self.params.output {
            OutputKind::Cardinality => PsiOutput::Cardinality(self.matched.len()),
            OutputKind::Intersection => {
                let mut common: Vec<Vec<u8>> = self.matched.iter().map(|&i| self.items[i as usize].clone()).collect();
                common.sort();
                PsiOutput::Intersection(common)
            }
        })
    }
}

/// Runs one party against `peer` over `transport`. Progress counts the ids of
/// both sets: this party's as they are blinded, the peer's as they are re-blinded.
///
/// The hashing and scalar multiplications run on rayon's pool and block the
/// calling thread; a runner on an async executor should call this from a
/// blocking-friendly task.
pub async fn run<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: EcdhParams,
    role: Role,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let party = EcdhParty::new(params, role, items)?;
    transport.send(peer, TAG_HELLO, party.hello().encode()).await?;
    let hello = Hello::decode(&transport.recv(peer, TAG_HELLO).await?, params.max_items)?;
    super::check_peer_items(u64::from(hello.items), params.peer_max_items)?;
    let mut stream = party.on_hello(hello)?;
    progress.add_total((stream.items() + stream.peer_items()) as u64);
    // Interleaved: our batch k out, the peer's batch k in (both queue at the
    // receiving gateway, so neither side waits for the other's compute).
    for k in 0..stream.own_batches().max(stream.peer_batches()) {
        if let Some(batch) = stream.next_blinded() {
            let count = batch.points.len();
            transport.send(peer, TAG_BLINDED, batch.encode()).await?;
            progress.advance(count as u64);
        }
        if k < stream.peer_batches() {
            let batch = Blinded::decode(&transport.recv(peer, TAG_BLINDED).await?)?;
            let count = batch.points.len();
            if let Some(double) = stream.on_blinded(batch)? {
                transport.send(peer, TAG_DOUBLE, double.encode()).await?;
            }
            progress.advance(count as u64);
        }
    }
    for double in stream.held_doubles() {
        transport.send(peer, TAG_DOUBLE, double.encode()).await?;
    }
    if stream.learns() {
        for _ in 0..stream.own_batches() {
            stream.on_double(Double::decode(&transport.recv(peer, TAG_DOUBLE).await?)?)?;
        }
    }
    stream.finish()
}

/// Runs the initiator (the job's first participant); see [`run`].
pub async fn run_initiator<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: EcdhParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    run(transport, peer, params, Role::Initiator, items, progress).await
}

/// Runs the responder (the job's second participant); see [`run`].
pub async fn run_responder<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: EcdhParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    run(transport, peer, params, Role::Responder, items, progress).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        let mut out = [0u8; N];
        hex::decode_to_slice(text, &mut out).unwrap();
        out
    }
    /// RFC 9380 Appendix K.3, expand_message_xmd(SHA-512), DST
    /// "QUUX-V01-CS02-with-expander-SHA512-256", len_in_bytes 0x20 and 0x80.
    #[test]
    fn expand_message_xmd_sha512_matches_rfc9380_k3() {
        const DST: &[u8] = b"QUUX-V01-CS02-with-expander-SHA512-256";
        let short: [(&[u8], &str); 3] = [
            (b"", "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"),
            (b"abc", "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"),
            (b"abcdef0123456789", "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"),
        ];
        for (msg, expected) in short {
            let mut out = [0u8; 0x20];
            expand_message_xmd_sha512(msg, DST, &mut out).unwrap();
            assert_eq!(hex::encode(out), expected);
        }
        let q128 = format!("q128_{}", "q".repeat(128));
        let mut out = [0u8; 0x20];
        expand_message_xmd_sha512(q128.as_bytes(), DST, &mut out).unwrap();
        assert_eq!(hex::encode(out), "7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3");

        let mut long = [0u8; 0x80];
        expand_message_xmd_sha512(b"abc", DST, &mut long).unwrap();
        assert_eq!(
            hex::encode(long),
            "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0cef4bb4\
             5217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b4884\
             31851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"
        );
        assert!(expand_message_xmd_sha512(b"abc", b"", &mut long).is_err(), "empty DST is refused");
    }

    /// RFC 9497 Appendix A.1.1, OPRF(ristretto255, SHA-512), mode 0x00, test
    /// vectors 1 and 2 (batch size 1): BlindedElement = Blind · HashToGroup(Input)
    /// with DST "HashToGroup-OPRFV1-\x00-ristretto255-SHA512", and
    /// EvaluationElement = skSm · BlindedElement — the blinding and
    /// double-blinding steps of this PSI.
    #[test]
    fn hash_to_group_and_blinding_match_rfc9497_a11() {
        const DST: &[u8] = b"HashToGroup-OPRFV1-\x00-ristretto255-SHA512";
        let sk_sm = Scalar::from_canonical_bytes(unhex::<32>(
            "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e",
        ))
        .unwrap();
        let blind = Scalar::from_canonical_bytes(unhex::<32>(
            "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
        ))
        .unwrap();
        let vectors = [
            (
                hex::decode("00").unwrap(),
                "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
                "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
            ),
            (
                hex::decode("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a").unwrap(),
                "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
                "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
            ),
        ];
        for (input, blinded_element, evaluation_element) in vectors {
            let blinded = hash_to_group(&input, DST).unwrap() * blind;
            assert_eq!(hex::encode(blinded.compress().to_bytes()), blinded_element);
            // Through the halved key and the batched double-and-compress.
            let key = BlindingKey::from_scalar(sk_sm);
            let evaluated = key.reblind("test", 0, &[blinded.compress().to_bytes()]).unwrap();
            assert_eq!(hex::encode(evaluated[0]), evaluation_element);
        }
    }

    /// The batched blinding equals the plain definition `key·H(x)`.
    #[test]
    fn batched_blinding_equals_the_definition() {
        let key = Scalar::from_bytes_mod_order([0x42; 32]);
        let items: Vec<Vec<u8>> = (0..600).map(|i| format!("id-{i}").into_bytes()).collect();
        let blinded = BlindingKey::from_scalar(key).blind_items(&items);
        for (item, got) in items.iter().zip(&blinded) {
            assert_eq!(*got, (hash_to_group(item, ID_DST).unwrap() * key).compress().to_bytes());
        }
        let again = BlindingKey::from_scalar(key).reblind("test", 0, &blinded).unwrap();
        for (item, got) in items.iter().zip(&again) {
            assert_eq!(*got, (hash_to_group(item, ID_DST).unwrap() * key * key).compress().to_bytes());
        }
    }

    /// The state machines hold private sets: their Debug shows counts only.
    #[test]
    fn debug_of_the_state_machines_shows_counts_not_ids() {
        const SECRET: &str = "secret-customer-4711";
        let ids = [SECRET, "another-id"];
        let party = EcdhParty::new(EcdhParams::default(), Role::Initiator, ids).unwrap();
        let peer = EcdhParty::new(EcdhParams::default(), Role::Responder, ids).unwrap();
        let mut printed = vec![format!("{party:?}")];
        let stream = party.on_hello(peer.hello()).unwrap();
        printed.push(format!("{stream:?}"));
        for text in &printed {
            assert!(!text.contains(SECRET) && !text.contains("115, 101, 99"), "{text}");
            assert!(text.contains("items: 2"), "{text}");
        }
    }

    #[test]
    fn blinding_key_is_not_printed() {
        let key = BlindingKey::random().unwrap();
        assert_eq!(format!("{key:?}"), "BlindingKey(..)");
    }

    #[test]
    fn messages_round_trip() {
        let hello = Hello { reveal: Reveal::Responder, output: OutputKind::Cardinality, items: 7 };
        assert_eq!(Hello::decode(&hello.encode(), 10).unwrap(), hello);
        let blinded = Blinded { index: 3, points: vec![[7; 32], [9; 32]] };
        assert_eq!(Blinded::decode(&blinded.encode()).unwrap(), blinded);
        let double = Double { index: 1, values: vec![5; 27] };
        assert_eq!(Double::decode(&double.encode()).unwrap(), double);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let good = Blinded { index: 0, points: vec![[7; 32]; 3] }.encode();
        for len in 0..good.len() {
            assert!(Blinded::decode(&good[..len]).is_err(), "truncated to {len}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(Blinded::decode(&trailing), Err(Error::Malformed { .. })));
        let mut version = good.clone();
        version[0] = 1;
        assert!(matches!(Blinded::decode(&version), Err(Error::Version { found: 1, .. })));
        let mut kind = good.clone();
        kind[1] = KIND_DOUBLE;
        assert!(matches!(Blinded::decode(&kind), Err(Error::Malformed { .. })));
        // A huge announced count is refused before any allocation.
        let mut huge = good[..6].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Blinded::decode(&huge), Err(Error::TooManyItems { .. })));
        let hello = Hello { reveal: Reveal::Both, output: OutputKind::Intersection, items: 3 }.encode();
        assert!(matches!(Hello::decode(&hello, 2), Err(Error::TooManyItems { count: 3, max: 2, .. })));
        let mut reveal = hello.clone();
        reveal[2] = 9;
        assert!(matches!(Hello::decode(&reveal, 10), Err(Error::Malformed { .. })));
        assert!(Double::decode(&[]).is_err());
    }

    #[test]
    fn batches_out_of_order_or_of_the_wrong_size_are_refused() {
        let a = EcdhParty::new(EcdhParams::default(), Role::Initiator, ["a", "b", "c"]).unwrap();
        let b = EcdhParty::new(EcdhParams::default(), Role::Responder, ["a", "d"]).unwrap();
        let (a_hello, b_hello) = (a.hello(), b.hello());
        let (mut a, mut b) = (a.on_hello(b_hello).unwrap(), b.on_hello(a_hello).unwrap());
        let batch = a.next_blinded().unwrap();
        let wrong_index = Blinded { index: 1, ..batch.clone() };
        assert!(b.on_blinded(wrong_index).unwrap_err().to_string().contains("batch 1 arrived, expected 0"));
        let short = Blinded { points: batch.points[..2].to_vec(), ..batch.clone() };
        assert!(b.on_blinded(short).unwrap_err().to_string().contains("holds 2 points, expected 3"));
        let mut bad_point = batch.clone();
        bad_point.points[2] = [0xff; 32];
        assert!(b.on_blinded(bad_point).unwrap_err().to_string().contains("item 2 is not a ristretto255 point"));
        // Nothing was consumed by the refused batches: the good one still goes through.
        let double = b.on_blinded(batch).unwrap().expect("the initiator learns");
        // The initiator cannot look its values up before it has the whole peer set.
        assert!(matches!(a.on_double(double), Err(Error::InvalidParams(_))));
    }

    #[test]
    fn points_that_are_not_in_the_group_are_refused() {
        let key = BlindingKey::random().unwrap();
        // 0xff… is not a canonical field element encoding.
        assert!(matches!(key.reblind("test", 0, &[[0xff; 32]]), Err(Error::Malformed { .. })));
        assert!(matches!(key.reblind("test", 0, &[[0; 32]]), Err(Error::Malformed { .. })), "identity");
    }
}
