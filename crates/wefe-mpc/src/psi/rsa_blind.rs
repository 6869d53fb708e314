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
//! client could lie). With a Bloom filter, a client id is falsely reported as
//! common with probability 2^-`fpr_log2` (default 2^-40); such a tag matches
//! nothing on the server and is ignored there. RSA-PSI has no cardinality-only
//! mode (the client always sees which of its ids matched): use [`super::ecdh`].
//!
//! Keys below 2048 bits are refused on both sides unless `insecure` is set
//! (tests only).

pub mod client;
pub mod server;

use crypto_bigint::{BoxedUint, NonZero, Resize};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha512};
use wefe_core::{PeerId, Transport};

use super::PsiOutput;
use super::bloom::BloomFilter;
use super::ecdh::expand_message_xmd_sha512;
use super::wire::{Reader, put_count};
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
}

impl Default for RsaParams {
    fn default() -> Self {
        Self {
            reveal: RsaReveal::Client,
            server_set: ServerSetEncoding::Bloom { fpr_log2: DEFAULT_FPR_LOG2 },
            key_bits: MIN_KEY_BITS,
            insecure: false,
            max_items: DEFAULT_MAX_ITEMS,
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

    fn check_set(&self, items: &[Vec<u8>]) -> Result<()> {
        if items.len() > self.max_items as usize {
            return Err(Error::InvalidParams(format!("{} items exceed max_items = {}", items.len(), self.max_items)));
        }
        if let ServerSetEncoding::Bloom { fpr_log2 } = self.server_set
            && !(1..=64).contains(&fpr_log2)
        {
            return Err(Error::InvalidParams(format!("Bloom filter fpr_log2 {fpr_log2} is not in 1..=64")));
        }
        Ok(())
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
    let count = r.count(max_items)?;
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
        let count = r.count(max_items)?;
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
    /// of server tags, a Bloom filter of at most 64 bits per allowed item.
    pub fn decode(bytes: &[u8], k: usize, max_items: u32) -> Result<Self> {
        let mut r = Reader::new("RSA-PSI signed reply", bytes);
        r.header(VERSION, KIND_REPLY)?;
        let count = r.count(max_items)?;
        let signatures = r.records(count, k)?.into_iter().map(<[u8]>::to_vec).collect();
        let server_set = match r.u8()? {
            0 => ServerSet::HashList(read_tags(&mut r, max_items)?),
            1 => {
                let max_bits = 64 * u64::from(max_items).max(1) + 64;
                let len = r.count(u32::try_from(max_bits / 8 + 10).unwrap_or(u32::MAX))?;
                ServerSet::Bloom(BloomFilter::decode(r.take(len)?, max_bits)?)
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
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let (waiting, hello) = Server::start(params, signer, items)?;
    transport.send(peer, TAG_HELLO, hello.encode()).await?;
    let request =
        BlindRequest::decode(&transport.recv(peer, TAG_REQUEST).await?, waiting.modulus_bytes(), params.max_items)?;
    let (reply, step) = waiting.on_request(request)?;
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
pub async fn run_client<I>(transport: &impl Transport, peer: &PeerId, params: RsaParams, items: I) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let client = Client::new(params, items)?;
    let hello = ServerHello::decode(&transport.recv(peer, TAG_HELLO).await?)?;
    let (request, waiting) = client.on_hello(hello)?;
    transport.send(peer, TAG_REQUEST, request.encode()).await?;
    let reply =
        SignedReply::decode(&transport.recv(peer, TAG_REPLY).await?, waiting.modulus_bytes(), params.max_items)?;
    let (result, output) = waiting.on_reply(reply)?;
    if let Some(result) = result {
        transport.send(peer, TAG_RESULT, result.encode()).await?;
    }
    Ok(output)
}

/// The public key as the client receives it, checked against `params`.
fn public_key_from_hello(hello: &ServerHello, params: &RsaParams) -> Result<rsa::PublicKey> {
    let bits = hello.n.len() as u32 * 8 - hello.n[0].leading_zeros();
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
        let (reply, step) = server.on_request(request)?;
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
        assert!(matches!(server.on_request(decoded), Err(Error::Malformed { .. })));
        assert!(BlindRequest::decode(&too_big.encode(), k, 0).is_err(), "over max_items");
        assert!(BlindRequest::decode(&too_big.encode()[..100], k, 10).is_err());

        // A tampered signature is detected by the client.
        let (server, hello) = Server::start(params, signer(), ids(0..3)).unwrap();
        let (request, client) = Client::new(params, ids(0..3)).unwrap().on_hello(hello).unwrap();
        let (mut reply, _) = server.on_request(request).unwrap();
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
}
