//! RSA blind-signature PSI (the protocol WeFe uses; De Cristofaro & Tsudik,
//! "Practical Private Set Intersection Protocols with Linear Complexity",
//! FC 2010, §3 — with a Bloom filter for the server's set).
//!
//! The server holds an RSA key `(n, e, d)`; `FDH` is a full-domain hash to
//! `Z_n` ([`full_domain_hash`]) and `T` a 128-bit tag hash ([`signature_tag`]).
//!
//! ```text
//! server                                         client
//!   ServerHello { params, n, e }        ──►
//!                                       ◄──      BlindRequest { FDH(x)·r^e mod n }   (fresh r per id)
//!   SignedReply { (FDH(x)·r^e)^d,       ──►      unblind: s = ·r⁻¹ = FDH(x)^d, check s^e = FDH(x),
//!                 T(FDH(y)^d) for own y                  x is common iff T(s) is in the server's set
//!                 as Bloom filter or list }
//!                                       ◄──      ClientResult { T of the common ids }  (reveal = Both only)
//! ```
//!
//! The client learns the intersection; with [`RsaReveal::Both`] it sends the
//! tags of the common ids back so the server learns it too (semi-honest: a
//! client could lie). RSA-PSI has no cardinality-only mode (the client always
//! sees which of its ids matched): use [`super::ecdh`].
//!
//! With a Bloom filter, a client id the server does not have is falsely
//! reported as common with probability 2^-`fpr_log2`. With
//! [`RsaReveal::Both`] its tag `T(FDH(x)^d)` then goes back to the server,
//! which matches nothing in its own set but is **not harmless**: the server
//! holds `d`, so it can compute the tag of any id it guesses and so learn that
//! the client has that id. Hence, with `Both`, the server's set must be a
//! [`ServerSetEncoding::HashList`] (exact) or a Bloom filter with `fpr_log2 ≥`
//! [`MIN_FPR_LOG2_REVEAL_BOTH`] (both parties refuse other parameters), and
//! the client refuses a filter whose number of hash functions differs from
//! the agreed `fpr_log2` or that has more bits set than an honest filter of
//! its size would ([`BloomFilter::max_plausible_ones`]), as a 1-hash or
//! all-ones filter would make every id a false positive. A malicious server
//! can still send a filter with as many bits set as that limit allows, which
//! raises the false-positive rate of a small filter up to (ln 2)^`fpr_log2`
//! (2^-21 at 40): a client facing a malicious server should use `HashList`.
//! The server ignores returned tags that are not in its set.
//!
//! Keys below 2048 bits are refused on both sides unless `insecure` is set
//! (tests only).

pub mod client;
pub mod server;

use crypto_bigint::{BoxedUint, NonZero, Resize};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha512};
use wefe_core::{PeerId, Transport};

use super::bloom::BloomFilter;
use super::ecdh::expand_message_xmd_sha512;
use super::wire::{Reader, put_count};
use super::{Progress, PsiOutput};
use crate::{Error, Result};

pub use client::{AwaitingSignatures, Client};
pub use server::{AwaitingRequest, AwaitingResult, BlindSigner, Server, ServerStep};

/// Wire version of every RSA-PSI message.
pub const VERSION: u8 = 1;
/// Smallest modulus accepted without `insecure`.
pub const MIN_KEY_BITS: u32 = 2048;
/// Largest modulus accepted.
pub const MAX_KEY_BITS: u32 = 8192;
/// Smallest modulus accepted even with `insecure` (tests).
pub const INSECURE_MIN_KEY_BITS: u32 = 512;
/// Default false-positive rate of the server's Bloom filter: 2^-40.
pub const DEFAULT_FPR_LOG2: u8 = 40;
/// Smallest Bloom filter `fpr_log2` allowed with [`RsaReveal::Both`] (false
/// positives are sent to the server, which can test guessed ids against them).
pub const MIN_FPR_LOG2_REVEAL_BOTH: u8 = 40;
/// Default upper bound on the items one party may send.
pub const DEFAULT_MAX_ITEMS: u32 = 1 << 22;
/// Bytes of a signature tag `T`.
pub const TAG_BYTES: usize = 16;

/// DST of [`full_domain_hash`].
pub const FDH_DST: &[u8] = b"WEFE-PSI-RSA-V01-FDH-XMD:SHA-512";
/// Domain prefix of [`signature_tag`].
pub const TAG_DOMAIN: &[u8] = b"WEFE-PSI-RSA-V01-TAG";

/// Transport tags of the four messages.
pub const TAG_HELLO: &str = "psi/rsa/v1/hello";
/// See [`TAG_HELLO`].
pub const TAG_REQUEST: &str = "psi/rsa/v1/request";
/// See [`TAG_HELLO`].
pub const TAG_REPLY: &str = "psi/rsa/v1/reply";
/// See [`TAG_HELLO`].
pub const TAG_RESULT: &str = "psi/rsa/v1/result";

/// Who learns the intersection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaReveal {
    /// Only the client.
    Client,
    /// The client, which then tells the server.
    Both,
}

/// How the server sends the tags of its own signed ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSetEncoding {
    /// A Bloom filter with a false-positive rate of 2^-`fpr_log2` (~1.44·`fpr_log2` bits per id).
    Bloom {
        /// Negative base-2 logarithm of the false-positive rate (1..=64).
        fpr_log2: u8,
    },
    /// The sorted list of 16-byte tags (exact, 128 bits per id).
    HashList,
}

/// Parameters of one run. `reveal` and `server_set` must be the same on both
/// sides (the client checks them against the [`ServerHello`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsaParams {
    /// Who learns the intersection.
    pub reveal: RsaReveal,
    /// Bloom filter or hash list.
    pub server_set: ServerSetEncoding,
    /// Modulus size the server generates ([`MIN_KEY_BITS`] by default).
    pub key_bits: u32,
    /// Allows keys below [`MIN_KEY_BITS`]. Tests only.
    pub insecure: bool,
    /// The most items accepted from the peer (and sent by this party).
    pub max_items: u32,
    /// The most ids the peer may bring (the rows of its registered
    /// dataset); None: only `max_items`. The client bounds a Bloom filter's
    /// size and fill by it.
    pub peer_max_items: Option<u64>,
}

impl Default for RsaParams {
    fn default() -> Self {
        Self {
            reveal: RsaReveal::Client,
            server_set: ServerSetEncoding::Bloom { fpr_log2: DEFAULT_FPR_LOG2 },
            key_bits: MIN_KEY_BITS,
            insecure: false,
            max_items: DEFAULT_MAX_ITEMS,
            peer_max_items: None,
        }
    }
}

impl RsaParams {
    fn min_key_bits(&self) -> u32 {
        if self.insecure { INSECURE_MIN_KEY_BITS } else { MIN_KEY_BITS }
    }

    /// Refuses a modulus size outside what these parameters allow.
    pub fn check_key_bits(&self, bits: u32) -> Result<()> {
        let min = self.min_key_bits();
        if bits < min {
            return Err(Error::KeyTooSmall { bits, min });
        }
        if bits > MAX_KEY_BITS {
            return Err(Error::InvalidParams(format!(
                "RSA key of {bits} bits is above the {MAX_KEY_BITS}-bit maximum"
            )));
        }
        Ok(())
    }

    /// Refuses a set encoding these parameters do not allow: `fpr_log2`
    /// outside 1..=64, or below [`MIN_FPR_LOG2_REVEAL_BOTH`] with [`RsaReveal::Both`].
    pub fn check_server_set(&self) -> Result<()> {
        if let ServerSetEncoding::Bloom { fpr_log2 } = self.server_set {
            if !(1..=64).contains(&fpr_log2) {
                return Err(Error::InvalidParams(format!("Bloom filter fpr_log2 {fpr_log2} is not in 1..=64")));
            }
            if self.reveal == RsaReveal::Both && fpr_log2 < MIN_FPR_LOG2_REVEAL_BOTH {
                return Err(Error::InvalidParams(format!(
                    "Bloom filter fpr_log2 {fpr_log2} with reveal Both: false positives would be sent to the \
                     server, which can test guessed ids against them; use at least {MIN_FPR_LOG2_REVEAL_BOTH} \
                     or a hash list"
                )));
            }
        }
        Ok(())
    }

    fn check_set(&self, items: &[Vec<u8>]) -> Result<()> {
        if items.len() > self.max_items as usize {
            return Err(Error::InvalidParams(format!("{} items exceed max_items = {}", items.len(), self.max_items)));
        }
        self.check_server_set()
    }
}

/// Bytes of an element of `Z_n` on the wire: `⌈bits(n)/8⌉`.
fn modulus_bytes(n: &NonZero<BoxedUint>) -> usize {
    (n.as_ref().bit_width() as usize).div_ceil(8)
}

/// `I2OSP(x, len)`: the last `len` big-endian bytes (x < n, so the rest are zero).
fn to_fixed_bytes(x: &BoxedUint, len: usize) -> Vec<u8> {
    let bytes = x.to_be_bytes();
    bytes[bytes.len().saturating_sub(len)..].to_vec()
}

/// `OS2IP` into an element of `Z_n`, refusing values ≥ n.
fn element_from_bytes(message: &'static str, bytes: &[u8], n: &NonZero<BoxedUint>, index: usize) -> Result<BoxedUint> {
    let value = BoxedUint::from_be_slice(bytes, n.as_ref().bits_precision())
        .map_err(|_| Error::Malformed { message, reason: format!("item {index} does not fit the modulus") })?;
    if value.cmp(n.as_ref()) != std::cmp::Ordering::Less {
        return Err(Error::Malformed { message, reason: format!("item {index} is not below the modulus") });
    }
    Ok(value)
}

/// Full-domain hash of `item` to `Z_n`, after RFC 9380 §5.2 `hash_to_field`
/// with security parameter k = 128:
///
/// `FDH_n(x) = OS2IP(expand_message_xmd(SHA-512, I2OSP(len(n), 2) ‖ n ‖ x, FDH_DST, L)) mod n`
/// with `L = ⌈(bits(n) + 128) / 8⌉` and `n` as `len(n)` big-endian bytes. The
/// 128 extra bits make the result statistically close (2^-128) to uniform in
/// `Z_n`; hashing `n` in binds every value to one key.
pub fn full_domain_hash(n: &NonZero<BoxedUint>, item: &[u8]) -> Result<BoxedUint> {
    let k = modulus_bytes(n);
    let len = (n.as_ref().bit_width() as usize + 128).div_ceil(8);
    let mut msg = Vec::with_capacity(2 + k + item.len());
    msg.extend_from_slice(
        &u16::try_from(k).map_err(|_| Error::InvalidParams("modulus too large".into()))?.to_be_bytes(),
    );
    msg.extend_from_slice(&to_fixed_bytes(n.as_ref(), k));
    msg.extend_from_slice(item);
    let mut uniform = vec![0u8; len];
    expand_message_xmd_sha512(&msg, FDH_DST, &mut uniform)?;
    let wide = BoxedUint::from_be_slice(&uniform, (len * 8) as u32)
        .map_err(|_| Error::InvalidParams("FDH output does not fit".into()))?;
    Ok(wide.rem(n).resize(n.as_ref().bits_precision()))
}

/// `T(s) = SHA-512(TAG_DOMAIN ‖ I2OSP(k, 2) ‖ I2OSP(s, k))[..16]`: what is
/// compared. 128 bits keep accidental collisions negligible for any set size.
pub fn signature_tag(signature: &BoxedUint, k: usize) -> [u8; TAG_BYTES] {
    let mut hash = Sha512::new();
    hash.update(TAG_DOMAIN);
    hash.update((k as u16).to_be_bytes());
    hash.update(to_fixed_bytes(signature, k));
    let digest = hash.finalize();
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&digest[..TAG_BYTES]);
    tag
}

const KIND_HELLO: u8 = 1;
const KIND_REQUEST: u8 = 2;
const KIND_REPLY: u8 = 3;
const KIND_RESULT: u8 = 4;

/// Server → client: the parameters and the public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Who learns the intersection.
    pub reveal: RsaReveal,
    /// How the server's set will be sent.
    pub server_set: ServerSetEncoding,
    /// Modulus, big-endian, no leading zero byte.
    pub n: Vec<u8>,
    /// Public exponent, big-endian, no leading zero byte.
    pub e: Vec<u8>,
}

impl ServerHello {
    /// `version ‖ kind ‖ reveal ‖ set ‖ fpr_log2 ‖ len:u16 ‖ n ‖ len:u8 ‖ e`.
    pub fn encode(&self) -> Vec<u8> {
        let (set, fpr) = match self.server_set {
            ServerSetEncoding::HashList => (0, 0),
            ServerSetEncoding::Bloom { fpr_log2 } => (1, fpr_log2),
        };
        let reveal = match self.reveal {
            RsaReveal::Client => 0,
            RsaReveal::Both => 1,
        };
        let mut out = vec![VERSION, KIND_HELLO, reveal, set, fpr];
        out.extend_from_slice(&(self.n.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.n);
        out.push(self.e.len() as u8);
        out.extend_from_slice(&self.e);
        out
    }

    /// Parses a ServerHello (modulus at most [`MAX_KEY_BITS`], exponent at most 8 bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("RSA-PSI server hello", bytes);
        r.header(VERSION, KIND_HELLO)?;
        let reveal = match r.u8()? {
            0 => RsaReveal::Client,
            1 => RsaReveal::Both,
            other => return Err(r.malformed(format!("unknown reveal mode {other}"))),
        };
        let set = r.u8()?;
        let fpr_log2 = r.u8()?;
        let server_set = match set {
            0 => ServerSetEncoding::HashList,
            1 => ServerSetEncoding::Bloom { fpr_log2 },
            other => return Err(r.malformed(format!("unknown server set encoding {other}"))),
        };
        let n_len = usize::from(r.u16()?);
        if n_len == 0 || n_len > (MAX_KEY_BITS / 8) as usize {
            return Err(r.malformed(format!("modulus of {n_len} bytes")));
        }
        let n = r.take(n_len)?.to_vec();
        let e_len = usize::from(r.u8()?);
        if e_len == 0 || e_len > 8 {
            return Err(r.malformed(format!("public exponent of {e_len} bytes")));
        }
        let e = r.take(e_len)?.to_vec();
        r.finish()?;
        if n[0] == 0 || e[0] == 0 {
            return Err(Error::Malformed {
                message: "RSA-PSI server hello",
                reason: "leading zero byte in the key".into(),
            });
        }
        Ok(Self { reveal, server_set, n, e })
    }
}

/// Client → server: `FDH(x)·r^e mod n` for each of the client's ids, shuffled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlindRequest {
    /// Blinded elements, each `k` bytes big-endian.
    pub blinded: Vec<Vec<u8>>,
}

/// Server → client: the signatures in request order and the server's set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReply {
    /// `(FDH(x)·r^e)^d mod n`, each `k` bytes, in the order of the request.
    pub signatures: Vec<Vec<u8>>,
    /// The server's tags.
    pub server_set: ServerSet,
}

/// The tags of the server's signed ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSet {
    /// Sorted tags.
    HashList(Vec<[u8; TAG_BYTES]>),
    /// A Bloom filter of the tags.
    Bloom(BloomFilter),
}

/// Client → server (reveal = Both): the tags of the common ids, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResult {
    /// Tags `T(FDH(x)^d)` of the ids found common.
    pub tags: Vec<[u8; TAG_BYTES]>,
}

fn put_elements(out: &mut Vec<u8>, elements: &[Vec<u8>]) {
    put_count(out, elements.len());
    elements.iter().for_each(|e| out.extend_from_slice(e));
}

fn put_tags(out: &mut Vec<u8>, tags: &[[u8; TAG_BYTES]]) {
    put_count(out, tags.len());
    tags.iter().for_each(|t| out.extend_from_slice(t));
}

fn read_tags(r: &mut Reader<'_>, max_items: u32) -> Result<Vec<[u8; TAG_BYTES]>> {
    let count = r.count(max_items as usize)?;
    Ok(r.records(count, TAG_BYTES)?.into_iter().map(|t| t.try_into().expect("TAG_BYTES long")).collect())
}

impl BlindRequest {
    /// `version ‖ kind ‖ count:u32 ‖ count × k bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_REQUEST];
        put_elements(&mut out, &self.blinded);
        out
    }

    /// Parses a request of at most `max_items` elements of `k` bytes.
    pub fn decode(bytes: &[u8], k: usize, max_items: u32) -> Result<Self> {
        let mut r = Reader::new("RSA-PSI blind request", bytes);
        r.header(VERSION, KIND_REQUEST)?;
        let count = r.count(max_items as usize)?;
        let blinded = r.records(count, k)?.into_iter().map(<[u8]>::to_vec).collect();
        r.finish()?;
        Ok(Self { blinded })
    }
}

impl SignedReply {
    /// `version ‖ kind ‖ count ‖ signatures ‖ set:u8 ‖ (count ‖ tags | len:u32 ‖ Bloom filter)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_REPLY];
        put_elements(&mut out, &self.signatures);
        match &self.server_set {
            ServerSet::HashList(tags) => {
                out.push(0);
                put_tags(&mut out, tags);
            }
            ServerSet::Bloom(filter) => {
                out.push(1);
                let bytes = filter.encode();
                put_count(&mut out, bytes.len());
                out.extend_from_slice(&bytes);
            }
        }
        out
    }

    /// Parses a reply: signatures of `k` bytes, at most `max_items` of them and
    /// of server tags, a Bloom filter no larger than [`BloomFilter::new`] makes
    /// for `max_items` ids at the filter's own number of hash functions
    /// (`⌈max_items·k / ln 2⌉` bits, ~92.3 per id at k = 64), plus 64 bits.
    pub fn decode(bytes: &[u8], k: usize, max_items: u32) -> Result<Self> {
        let mut r = Reader::new("RSA-PSI signed reply", bytes);
        r.header(VERSION, KIND_REPLY)?;
        let count = r.count(max_items as usize)?;
        let signatures = r.records(count, k)?.into_iter().map(<[u8]>::to_vec).collect();
        let server_set = match r.u8()? {
            0 => ServerSet::HashList(read_tags(&mut r, max_items)?),
            1 => {
                let max_items = usize::try_from(max_items).unwrap_or(usize::MAX);
                let largest = bloom_max_bits(max_items, 64);
                let len = r.count(usize::try_from(largest.div_ceil(64) * 8 + 10).unwrap_or(usize::MAX))?;
                let bytes = r.take(len)?;
                // The filter's own hash count (checked by `decode`; the client
                // then checks it against the agreed fpr_log2).
                let num_hashes = bytes.get(1).copied().unwrap_or(64).clamp(1, 64);
                ServerSet::Bloom(BloomFilter::decode(bytes, bloom_max_bits(max_items, num_hashes))?)
            }
            other => return Err(r.malformed(format!("unknown server set encoding {other}"))),
        };
        r.finish()?;
        Ok(Self { signatures, server_set })
    }
}

impl ClientResult {
    /// `version ‖ kind ‖ count:u32 ‖ count × 16 bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_RESULT];
        put_tags(&mut out, &self.tags);
        out
    }

    /// Parses a result of at most `max_items` tags.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("RSA-PSI client result", bytes);
        r.header(VERSION, KIND_RESULT)?;
        let tags = read_tags(&mut r, max_items)?;
        r.finish()?;
        Ok(Self { tags })
    }
}

/// Runs the server against `peer` over `transport` with `signer`'s key.
///
/// The RSA work runs on rayon's pool and blocks the calling thread; a runner
/// on an async executor should call this from a blocking-friendly task.
pub async fn run_server<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: RsaParams,
    signer: BlindSigner,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let (waiting, hello) = Server::start(params, signer, items)?;
    transport.send(peer, TAG_HELLO, hello.encode()).await?;
    let request =
        BlindRequest::decode(&transport.recv(peer, TAG_REQUEST).await?, waiting.modulus_bytes(), params.max_items)?;
    super::check_peer_items(request.blinded.len() as u64, params.peer_max_items)?;
    progress.add_total((request.blinded.len() + waiting.items()) as u64);
    let (reply, step) = waiting.on_request(request, progress)?;
    transport.send(peer, TAG_REPLY, reply.encode()).await?;
    match step {
        ServerStep::Done(output) => Ok(output),
        ServerStep::AwaitResult(waiting) => {
            let result = ClientResult::decode(&transport.recv(peer, TAG_RESULT).await?, params.max_items)?;
            waiting.on_result(result)
        }
    }
}

/// Runs the client against `peer` over `transport` (see [`run_server`]).
///
/// Progress: the server counts the client's blinded ids and its own as it
/// signs them; the client counts its ids when their signatures have come
/// back and been checked (until then it waits for the server).
pub async fn run_client<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: RsaParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let client = Client::new(params, items)?;
    let own = client.items() as u64;
    progress.add_total(own);
    let hello = ServerHello::decode(&transport.recv(peer, TAG_HELLO).await?)?;
    let (request, waiting) = client.on_hello(hello)?;
    transport.send(peer, TAG_REQUEST, request.encode()).await?;
    let reply =
        SignedReply::decode(&transport.recv(peer, TAG_REPLY).await?, waiting.modulus_bytes(), params.max_items)?;
    check_server_set(&reply.server_set, params.peer_max_items)?;
    let (result, output) = waiting.on_reply(reply)?;
    progress.advance(own);
    if let Some(result) = result {
        transport.send(peer, TAG_RESULT, result.encode()).await?;
    }
    Ok(output)
}

/// Refuses a server set larger than `limit` ids: a hash list by its length,
/// a Bloom filter by its size (what [`BloomFilter::new`] makes for `limit`
/// ids) and by its bits set (no more than `limit` ids set plausibly).
fn check_server_set(set: &ServerSet, limit: Option<u64>) -> Result<()> {
    let Some(max) = limit else { return Ok(()) };
    let announced = match set {
        ServerSet::HashList(tags) => tags.len() as u64,
        ServerSet::Bloom(filter) => {
            let items = usize::try_from(max).unwrap_or(usize::MAX);
            let bits_ok = filter.num_bits() <= bloom_max_bits(items, filter.num_hashes());
            // Each id sets at most `num_hashes` bits.
            let ones_ok = filter.count_ones() <= max.saturating_mul(u64::from(filter.num_hashes()));
            if bits_ok && ones_ok {
                return Ok(());
            }
            // Lower bound of the ids it holds.
            filter.count_ones().div_ceil(u64::from(filter.num_hashes()).max(1)).max(max + 1)
        }
    };
    super::check_peer_items(announced, limit)
}

/// The largest Bloom filter accepted for `max_items` ids at `fpr_log2`: what
/// [`BloomFilter::new`] makes for that many, plus 64 bits for rounding.
fn bloom_max_bits(max_items: usize, fpr_log2: u8) -> u64 {
    BloomFilter::bits_for(max_items, fpr_log2) + 64
}

/// The public key as the client receives it, checked against `params`. The
/// hello may not have gone through [`ServerHello::decode`]: nothing is assumed.
fn public_key_from_hello(hello: &ServerHello, params: &RsaParams) -> Result<rsa::PublicKey> {
    let malformed = |reason: &str| Error::Malformed { message: "RSA-PSI server hello", reason: reason.into() };
    let Some(&first) = hello.n.first() else { return Err(malformed("empty modulus")) };
    if first == 0 {
        return Err(malformed("leading zero byte in the modulus"));
    }
    if hello.n.len() > (MAX_KEY_BITS / 8) as usize {
        return Err(malformed("modulus above the maximum size"));
    }
    if hello.e.first().is_none_or(|&b| b == 0) || hello.e.len() > 8 {
        return Err(malformed("public exponent empty, with a leading zero byte, or over 8 bytes"));
    }
    let bits = hello.n.len() as u32 * 8 - first.leading_zeros();
    params.check_key_bits(bits)?;
    let precision = (hello.n.len() * 8) as u32;
    let n = BoxedUint::from_be_slice(&hello.n, precision).map_err(|_| Error::InvalidParams("bad modulus".into()))?;
    let e = BoxedUint::from_be_slice(&hello.e, 64).map_err(|_| Error::InvalidParams("bad exponent".into()))?;
    let key = rsa::PublicKey::new_with_size_limits(n, e, params.min_key_bits() as usize..=MAX_KEY_BITS as usize)?;
    debug_assert_eq!(modulus_bytes(key.n()), hello.n.len());
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// One 2048-bit key for all tests of this module (generation is the slow part).
    fn signer() -> BlindSigner {
        static SIGNER: OnceLock<BlindSigner> = OnceLock::new();
        SIGNER.get_or_init(|| BlindSigner::generate(&RsaParams::default()).unwrap()).clone()
    }

    fn ids(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("customer-{i}")).collect()
    }

    /// Runs both roles' state machines, passing each message through its encoding.
    fn run(params: RsaParams, server_items: &[String], client_items: &[String]) -> Result<(PsiOutput, PsiOutput)> {
        let (server, hello) = Server::start(params, signer(), server_items)?;
        let client = Client::new(params, client_items)?;
        let (request, client) = client.on_hello(ServerHello::decode(&hello.encode())?)?;
        let request = BlindRequest::decode(&request.encode(), server.modulus_bytes(), params.max_items)?;
        let (reply, step) = server.on_request(request, &Progress::new())?;
        let reply = SignedReply::decode(&reply.encode(), client.modulus_bytes(), params.max_items)?;
        let (result, client_output) = client.on_reply(reply)?;
        let server_output = match (step, result) {
            (ServerStep::Done(output), None) => output,
            (ServerStep::AwaitResult(server), Some(result)) => {
                server.on_result(ClientResult::decode(&result.encode(), params.max_items)?)?
            }
            _ => panic!("server and client disagree on whether the server learns"),
        };
        Ok((server_output, client_output))
    }

    #[test]
    fn round_trip_with_known_overlap_in_both_reveal_modes_and_set_encodings() {
        let server_items = ids(0..12);
        let client_items = ids(8..20);
        let expected: Vec<Vec<u8>> = {
            let mut v: Vec<Vec<u8>> = ids(8..12).into_iter().map(String::into_bytes).collect();
            v.sort();
            v
        };
        for server_set in [ServerSetEncoding::Bloom { fpr_log2: 40 }, ServerSetEncoding::HashList] {
            for reveal in [RsaReveal::Client, RsaReveal::Both] {
                let params = RsaParams { reveal, server_set, ..RsaParams::default() };
                let (server_out, client_out) = run(params, &server_items, &client_items).unwrap();
                assert_eq!(client_out, PsiOutput::Intersection(expected.clone()), "{params:?}");
                let expected_server = if reveal == RsaReveal::Both {
                    PsiOutput::Intersection(expected.clone())
                } else {
                    PsiOutput::Nothing
                };
                assert_eq!(server_out, expected_server, "{params:?}");
            }
        }
    }

    #[test]
    fn key_size_is_checked() {
        let small = RsaParams { key_bits: 1024, ..RsaParams::default() };
        assert!(matches!(BlindSigner::generate(&small), Err(Error::KeyTooSmall { bits: 1024, min: 2048 })));
        assert!(matches!(
            RsaParams { key_bits: 16384, ..RsaParams::default() }.check_key_bits(16384),
            Err(Error::InvalidParams(_))
        ));
        // With the explicit opt-in a small key works, and a client that did not opt in refuses it.
        let insecure = RsaParams { key_bits: 1024, insecure: true, ..RsaParams::default() };
        let small_signer = BlindSigner::generate(&insecure).unwrap();
        assert_eq!(small_signer.bits(), 1024);
        assert!(format!("{small_signer:?}").contains("1024"));
        let (_, hello) = Server::start(insecure, small_signer.clone(), ["a"]).unwrap();
        let refusing = Client::new(RsaParams::default(), ["a"]).unwrap();
        assert!(matches!(refusing.on_hello(hello.clone()), Err(Error::KeyTooSmall { bits: 1024, .. })));
        assert!(Client::new(insecure, ["a"]).unwrap().on_hello(hello).is_ok());
        // A server not started with `insecure` refuses to use the small key.
        assert!(matches!(Server::start(RsaParams::default(), small_signer, ["a"]), Err(Error::KeyTooSmall { .. })));
    }

    #[test]
    fn full_domain_hash_is_deterministic_below_n_and_bound_to_the_item() {
        let signer = signer();
        let n = signer.key.n();
        let a = full_domain_hash(n, b"alice").unwrap();
        assert_eq!(a, full_domain_hash(n, b"alice").unwrap());
        assert_ne!(a, full_domain_hash(n, b"alicf").unwrap());
        assert_eq!(a.cmp(n.as_ref()), std::cmp::Ordering::Less);
        assert_eq!(a.bits_precision(), n.as_ref().bits_precision());
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        let params = RsaParams::default();
        let (server, hello) = Server::start(params, signer(), ids(0..3)).unwrap();
        let hello_bytes = hello.encode();
        for len in 0..hello_bytes.len() {
            assert!(ServerHello::decode(&hello_bytes[..len]).is_err(), "hello truncated to {len}");
        }
        let mut zero_lead = hello_bytes.clone();
        zero_lead[7] = 0; // first byte of n
        assert!(ServerHello::decode(&zero_lead).is_err());
        let mut mismatch = hello.clone();
        mismatch.reveal = RsaReveal::Both;
        assert!(matches!(Client::new(params, ["a"]).unwrap().on_hello(mismatch), Err(Error::ParamsMismatch(_))));

        let k = server.modulus_bytes();
        assert_eq!(k, 256);
        // A blinded value ≥ n is refused by the server.
        let too_big = BlindRequest { blinded: vec![vec![0xff; k]] };
        let decoded = BlindRequest::decode(&too_big.encode(), k, 10).unwrap();
        assert!(matches!(server.on_request(decoded, &Progress::new()), Err(Error::Malformed { .. })));
        assert!(BlindRequest::decode(&too_big.encode(), k, 0).is_err(), "over max_items");
        assert!(BlindRequest::decode(&too_big.encode()[..100], k, 10).is_err());

        // A tampered signature is detected by the client.
        let (server, hello) = Server::start(params, signer(), ids(0..3)).unwrap();
        let (request, client) = Client::new(params, ids(0..3)).unwrap().on_hello(hello).unwrap();
        let (mut reply, _) = server.on_request(request, &Progress::new()).unwrap();
        reply.signatures[1][k - 1] ^= 1;
        assert!(matches!(client.on_reply(reply.clone()), Err(Error::BadSignature(1))));
        let bytes = reply.encode();
        for len in [0, 1, 5, 6 + k, bytes.len() - 1] {
            assert!(SignedReply::decode(&bytes[..len], k, 10).is_err(), "reply truncated to {len}");
        }
        let mut bad_set = bytes.clone();
        bad_set[6 + 3 * k] = 7;
        assert!(SignedReply::decode(&bad_set, k, 10).is_err());
        assert!(ClientResult::decode(&[VERSION, KIND_RESULT, 0, 0, 0, 1], 10).is_err());
    }

    /// Finding: with reveal Both the client sends Bloom false positives back,
    /// and the server, holding d, can test guessed ids against them.
    #[test]
    fn reveal_both_needs_a_hash_list_or_a_bloom_filter_of_at_least_2_pow_minus_40() {
        for fpr_log2 in [1, 8, 20, 39] {
            let weak = RsaParams {
                reveal: RsaReveal::Both,
                server_set: ServerSetEncoding::Bloom { fpr_log2 },
                ..RsaParams::default()
            };
            assert!(matches!(Client::new(weak, ["a"]), Err(Error::InvalidParams(_))), "{fpr_log2}");
            assert!(matches!(Server::start(weak, signer(), ["a"]), Err(Error::InvalidParams(_))), "{fpr_log2}");
            // Only the client learning: false positives stay with it.
            let client_only = RsaParams { reveal: RsaReveal::Client, ..weak };
            assert!(Client::new(client_only, ["a"]).is_ok());
        }
        for server_set in [ServerSetEncoding::Bloom { fpr_log2: MIN_FPR_LOG2_REVEAL_BOTH }, ServerSetEncoding::HashList]
        {
            let ok = RsaParams { reveal: RsaReveal::Both, server_set, ..RsaParams::default() };
            assert!(Client::new(ok, ["a"]).is_ok());
            assert!(Server::start(ok, signer(), ["a"]).is_ok());
        }
    }

    /// A server that sends a 1-hash, all-ones or otherwise not agreed filter
    /// would turn every client id into a false positive sent back to it.
    #[test]
    fn client_refuses_a_server_set_that_would_match_everything() {
        let params = RsaParams { reveal: RsaReveal::Both, ..RsaParams::default() };
        let client_items = ids(0..6);
        let reply_for = |set: ServerSet| {
            let (server, hello) = Server::start(params, signer(), ids(0..2)).unwrap();
            let (request, client) = Client::new(params, &client_items).unwrap().on_hello(hello).unwrap();
            let (mut reply, _) = server.on_request(request, &Progress::new()).unwrap();
            reply.server_set = set;
            // Through the encoding, as a peer's reply would come.
            let reply = SignedReply::decode(&reply.encode(), client.modulus_bytes(), params.max_items).unwrap();
            client.on_reply(reply)
        };
        // One hash function over a filter with every bit set.
        let mut one_hash = BloomFilter::new(1, 1).unwrap();
        let mut bytes = one_hash.encode();
        bytes[10..].fill(0xff);
        one_hash = BloomFilter::decode(&bytes, 64).unwrap();
        assert!(matches!(reply_for(ServerSet::Bloom(one_hash)), Err(Error::Malformed { .. })));
        // The agreed 40 hash functions, but every bit set.
        let mut all_ones = BloomFilter::new(1, 40).unwrap().encode();
        all_ones[10..].fill(0xff);
        let all_ones = BloomFilter::decode(&all_ones, 64).unwrap();
        assert!((0..100u32).all(|i| all_ones.contains(&i.to_be_bytes())));
        assert!(matches!(reply_for(ServerSet::Bloom(all_ones)), Err(Error::Malformed { .. })));
        // A hash list where a Bloom filter was agreed, and a filter of another rate.
        assert!(matches!(reply_for(ServerSet::HashList(vec![])), Err(Error::Malformed { .. })));
        assert!(matches!(reply_for(ServerSet::Bloom(BloomFilter::new(2, 41).unwrap())), Err(Error::Malformed { .. })));
        // The honest filter passes.
        assert!(reply_for(ServerSet::Bloom(BloomFilter::new(2, 40).unwrap())).is_ok());
    }

    /// Honest runs may report more false-positive tags than the server has
    /// ids; they are ignored, and only more tags than signed ids are refused.
    #[test]
    fn server_ignores_tags_not_in_its_set_however_many() {
        let params = RsaParams { reveal: RsaReveal::Both, ..RsaParams::default() };
        let server_items = ids(0..2);
        let result_for = |tags: Vec<[u8; TAG_BYTES]>| {
            let (server, hello) = Server::start(params, signer(), &server_items).unwrap();
            let (request, _) = Client::new(params, ids(1..6)).unwrap().on_hello(hello).unwrap();
            let (_, step) = server.on_request(request, &Progress::new()).unwrap();
            let ServerStep::AwaitResult(waiting) = step else { panic!("reveal Both: the server learns") };
            assert!(format!("{waiting:?}").contains("requested: 5"));
            waiting.on_result(ClientResult { tags })
        };
        let n = signer().key.n().clone();
        let k = modulus_bytes(&n);
        let common_tag = {
            let s = rsa::hazmat::rsa_decrypt_and_check(
                &signer().key,
                Some(&mut getrandom::SysRng),
                &full_domain_hash(&n, b"customer-1").unwrap(),
            )
            .unwrap();
            signature_tag(&s, k)
        };
        // One true match and four false positives: five tags for a set of two.
        let mut tags: Vec<[u8; TAG_BYTES]> = (1..5u8).map(|i| [i; TAG_BYTES]).collect();
        tags.push(common_tag);
        tags.sort_unstable();
        assert_eq!(result_for(tags.clone()).unwrap(), PsiOutput::Intersection(vec![b"customer-1".to_vec()]));
        // More tags than the client had signed cannot be honest.
        tags.push([9; TAG_BYTES]);
        assert!(matches!(result_for(tags), Err(Error::Malformed { .. })));
    }

    /// A filter at fpr_log2 = 64 needs ~92.3 bits per id, more than a cap of 64.
    #[test]
    fn bloom_filters_up_to_fpr_log2_64_for_max_items_decode() {
        for fpr_log2 in [40, 50, 64] {
            for reveal in [RsaReveal::Client, RsaReveal::Both] {
                let params = RsaParams {
                    reveal,
                    server_set: ServerSetEncoding::Bloom { fpr_log2 },
                    max_items: 8,
                    ..RsaParams::default()
                };
                let (server_out, client_out) = run(params, &ids(0..8), &ids(4..12)).unwrap();
                let mut want: Vec<Vec<u8>> = ids(4..8).into_iter().map(String::into_bytes).collect();
                want.sort();
                assert_eq!(client_out, PsiOutput::Intersection(want.clone()), "{params:?}");
                if reveal == RsaReveal::Both {
                    assert_eq!(server_out, PsiOutput::Intersection(want), "{params:?}");
                }
            }
        }
        // Still bounded: a filter for twice max_items ids is refused.
        let mut big = BloomFilter::new(16, 64).unwrap();
        big.insert(b"x");
        let reply = SignedReply { signatures: vec![], server_set: ServerSet::Bloom(big) };
        assert!(SignedReply::decode(&reply.encode(), 256, 8).is_err());
        assert!(SignedReply::decode(&reply.encode(), 256, 16).is_ok());
    }

    #[test]
    fn debug_of_client_and_server_states_shows_counts_not_ids() {
        const SECRET: &str = "secret-customer-4711";
        let params = RsaParams { reveal: RsaReveal::Both, ..RsaParams::default() };
        let items = [SECRET, "another-id"];
        let client = Client::new(params, items).unwrap();
        let (server, hello) = Server::start(params, signer(), items).unwrap();
        let mut printed = vec![format!("{client:?}"), format!("{server:?}")];
        let (request, awaiting_signatures) = client.on_hello(hello).unwrap();
        printed.push(format!("{awaiting_signatures:?}"));
        let (_, step) = server.on_request(request, &Progress::new()).unwrap();
        printed.push(format!("{step:?}"));
        for text in &printed {
            assert!(!text.contains(SECRET) && !text.contains("115, 101, 99"), "{text}");
            assert!(text.contains("items: 2"), "{text}");
        }
    }

    /// `on_hello` is public: a hello need not have gone through `decode`.
    #[test]
    fn on_hello_refuses_a_bad_key_without_panicking() {
        let params = RsaParams::default();
        let (_, hello) = Server::start(params, signer(), ["a"]).unwrap();
        let bad = [
            ServerHello { n: vec![], ..hello.clone() },
            ServerHello { n: [&[0u8][..], &hello.n].concat(), ..hello.clone() },
            ServerHello { n: vec![0xff; 2000], ..hello.clone() },
            ServerHello { e: vec![], ..hello.clone() },
            ServerHello { e: vec![0, 1, 0, 1], ..hello.clone() },
            ServerHello { e: vec![1; 9], ..hello.clone() },
            ServerHello { n: vec![0xfe; 256], ..hello.clone() }, // even
        ];
        for hello in bad {
            let result = Client::new(params, ["a"]).unwrap().on_hello(hello.clone());
            assert!(result.is_err(), "n of {} bytes, e = {:?}", hello.n.len(), hello.e);
        }
        assert!(Client::new(params, ["a"]).unwrap().on_hello(hello).is_ok());
    }

    // Fixed 2048-bit test key: the primes of a key made once with
    // `openssl genrsa 2048` (e = 65537). The expected values were computed by
    // crates/wefe-mpc/tests/kat/rsa_psi_kat.py, an independent Python
    // implementation (hashlib and int `pow` only; its expand_message_xmd is
    // checked against RFC 9380 Appendix K.3) of FDH_n, the signature
    // FDH_n(x)^d mod n and the tag T, run once and pasted here.
    const KAT_P: &str = "f0ae02cc0f7e8cb47994bd9af48445cb46102eef38c90ead8e0aa411d7ab0b6b631419f983346bc6d93f7f31\
        87cc16604351a7de74b14d3108ba855943560427e771c5e986670781425d0dd5a17aeb573b7bb7ba9d3c3b15\
        a8968b86c9b0972d7160177b40ea70fab2633c0c8f4e510762f0ce93d6eb48588db155683c1da0a1";
    const KAT_Q: &str = "db63a7505b1601ff72c2a3975e44ca1decd4f36c9d8df749c2f8117f9bbafe2ab123e241b2cd5f2a90c2377e\
        d5869fd9182a271a9dec00303f2374cf728ae3d8cc4175caccbd2cd3cce41092e73f3399ce162109d032b819\
        c7dfa6935f90f56f6b27ef83b2a82ede1a55bbf3b8c622426275751a8f1d8d3daeae2fb7982e362d";
    const KAT_N: &str = "ce428cfcb601ca02d16a57902d3079467828ac4bab584934b7306e173de34cbe3ed657b54bd441ea3e2ef7bb\
        d21399ec09e5f2cf86bfd5e690af9ce58e0acc10541fc090c666e3137f5693a35383e1a86c1a3c577a297000\
        11af8312e7c0fa1faf8328d5625a64fee8863f1a4434b73014231d369202fd5b634b2ec7cb5cf17f299005e4\
        2b52b9d4f4c8327e18a856446c12a606fc7ad4d55c64df5e5b88fcf8d62b45258858a35995c6adbadb6381a3\
        8251afc78239f0c9e42fa9ca9b46b80979b61da2182fe77a9f0f3ad78d337079eb81332e7b8b3342d6831005\
        0a077621483baf68db4162fb6a05465ab5d769dd4dbba4d58095494191b5c6ca4605324d";
    /// (id, FDH_n(id), FDH_n(id)^d mod n, T(signature)), each as hex.
    const KAT_VECTORS: [(&[u8], &str, &str, &str); 2] = [
        (
            b"alice",
            "17368c68d2038fba4613f928a13b41bb89eabe596d9bca22675d0fed39e1912c5bc15ef1a1ae08664202df95\
            0bbb1eae08a2f3d0af4d67f01bdd8ba927954bfa5b40f53b49d706d5918b9f1fd39d7c6521395cd751ad86c2\
            6365804dd72d4e8a7dfae0b0fa13821c10a56ab45af55fc9c017dc494fc8cc3c23b39065b673022d90f35c6f\
            57fbe7e82371dfae95132bd64d8040f8b70b301efc6a7bfc025ea949a4efd673cd68c0d93d1169afc9ab8f54\
            79d4c39fa0ff6217fad0c3c518595acffaa2395cf1d4f54789bd0aeefa3f35822d3166723901b16db7545169\
            25330abbfcda8cc4fb49173fdb8ebda47ee0aba10106221d3a8b0c888f12534bcc0b4670",
            "1056b7bd8a792115dc73a3bbc18bc5b126c9e0d53def084159f16f7b2defacb4ff08ec851332f477bfd75d04\
            e48a898b4d24ae99df164545171a9a44a2dc1efd7a4c3b94c8851b7dbf8f0d0c1d1c309b04bef9f993e844ac\
            830501ce8ee3bf1b39c009b88ab25a45654fdc7be7746996160356be197e53ff28f9edecb1f055a4ae7638ac\
            dfa409871c0f4898d6d0f87c959bcb9adc219e586b28dd79884d3f22638b2c58c93c544c34213013d93705b3\
            a1e68b8eb08cbd8afbfdaa1552f7fc2d104406dd0aafca7f3afc86c0425856568e61e0656ebb6109c6cea505\
            3f90b7a120c7d992573284eee3f50be85cb070b198f031ef1d83c6ee5842d6604389690b",
            "32bcda41c4a659605047cfff59099c3e",
        ),
        (
            b"",
            "92d1500a89a435c777f6ebcc23968ddb42c758c97078a2d6f42fa1aa218c37bad8ad484cb80a4d5ae86ec790\
            cfa9277aec9fc79902d0e5051e64e787f4943d281617814d6e2653893cadf975d671e50fc1daca5bb942181b\
            6badfca107e41ce0426ef24180f05c7bd8537143e41ff9892ded1b289ff05474928963e0e374677d6fe3e8a5\
            f45df18f03f32c988661111f35c0f34ef2cf90b27f305e605270d726cca1334d8eb9c0a515334595b6f7e0e0\
            3f4ee9f8f5e84169d94252253aa63aac8060a6e4c46c44143a1377bac8c5042ceea4e3ef2ece7fae5e491053\
            141b6fd8b0fd9c937c9596cc8ffe480328b5f4bc0261782e97bada9ab430217c278b5d1d",
            "4fe342447d2bdb42d0380d0a467dffbf8d3829a0597e1b13caa3c6c5bc1498ce1807bceaba211b1fe422f2ba\
            fbc704c7ea767c06d07387384d3d7afdf808cd9f9788869d2edce8d815a7ccc1ed7b4584f13625be3b3ce47a\
            9e9d8471b8370b02d6647a778fdf1e3b4218b5aeaceaa2060a8e4430add48512c3c22b0a82a1ae4be962bbcc\
            9d537af101122239c551784d532c7f21f0216f758ee64dc565f007fa72040fe2cc4d32febe02846ea56a8d10\
            5c9ae3385dd78c78587c36d24408a2919e8e5d8f3d9b6bfe4d800b4d7beb6c2831c1d89c15d3d82e342774fb\
            89798d906b21ba7f3397c716b202d5cc0a8e22ce7c7444eff8f7e964d0651c0553aa9b0b",
            "135ff66d1983f69d3c1e951cd6002ebc",
        ),
    ];
    /// A change of the FDH or tag construction (DSTs, lengths, encodings) fails here.
    #[test]
    fn full_domain_hash_and_signature_tag_match_known_answers() {
        let uint = |hex_text: &str, bits: u32| BoxedUint::from_be_slice(&hex::decode(hex_text).unwrap(), bits).unwrap();
        let key = rsa::PrivateKey::from_p_q(uint(KAT_P, 1024), uint(KAT_Q, 1024), BoxedUint::from(65537u64)).unwrap();
        let signer = BlindSigner::from_key(key, &RsaParams::default()).unwrap();
        let n = signer.key.n().clone();
        let k = modulus_bytes(&n);
        assert_eq!((signer.bits(), k), (2048, 256));
        assert_eq!(hex::encode(to_fixed_bytes(n.as_ref(), k)), KAT_N);
        for (item, fdh, signature, tag) in KAT_VECTORS {
            let hashed = full_domain_hash(&n, item).unwrap();
            assert_eq!(hex::encode(to_fixed_bytes(&hashed, k)), fdh, "FDH of {item:?}");
            let s = rsa::hazmat::rsa_decrypt_and_check(&signer.key, Some(&mut getrandom::SysRng), &hashed).unwrap();
            assert_eq!(hex::encode(to_fixed_bytes(&s, k)), signature, "signature of {item:?}");
            assert_eq!(hex::encode(signature_tag(&s, k)), tag, "tag of {item:?}");
            assert_eq!(signature_tag(&uint(signature, 2048), k), signature_tag(&s, k));
        }
        // The server sends exactly these tags for its set.
        let params = RsaParams { server_set: ServerSetEncoding::HashList, ..RsaParams::default() };
        let (server, hello) = Server::start(params, signer, KAT_VECTORS.map(|v| v.0)).unwrap();
        let (request, _) = Client::new(params, ["alice"]).unwrap().on_hello(hello).unwrap();
        let (reply, _) = server.on_request(request, &Progress::new()).unwrap();
        let mut want: Vec<[u8; TAG_BYTES]> =
            KAT_VECTORS.iter().map(|v| hex::decode(v.3).unwrap().try_into().unwrap()).collect();
        want.sort_unstable();
        assert_eq!(reply.server_set, ServerSet::HashList(want));
    }

    /// The OpenSSL private-key operation equals the `rsa` crate's on random
    /// elements and on full-domain hashes (the server's two uses).
    #[test]
    fn openssl_signing_equals_the_rsa_crate() {
        let signer = server::BlindSigner::generate(&RsaParams::default()).unwrap();
        let n = signer.key.n().clone();
        for i in 0..8u64 {
            let m = full_domain_hash(&n, &i.to_be_bytes()).unwrap();
            assert_eq!(signer.sign_for_test(&m).unwrap(), signer.sign_with_rsa_crate(&m).unwrap(), "item {i}");
        }
        let one = BoxedUint::one_with_precision(n.as_ref().bits_precision());
        assert_eq!(signer.sign_for_test(&one).unwrap(), one);
    }
}
