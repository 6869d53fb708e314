//! ECDH-PSI over ristretto255.
//!
//! Each party hashes its ids to the group with RFC 9380 `hash_to_ristretto255`
//! ([`hash_to_group`]) and raises them to a secret scalar. With `a` the
//! initiator's key, `b` the responder's and `H` the hash:
//!
//! ```text
//! initiator                                   responder
//!   Hello { params, shuffle(a·H(x)) }  ──►
//!                                      ◄──   Reply { shuffle(b·H(y)), b·a·H(x) if the initiator learns }
//!   Finish { a·b·H(y) }                ──►   (only if the responder learns)
//! ```
//!
//! Double-blinded values are equal exactly when the ids are (up to hash
//! collisions), so a party holding both double-blinded sets compares them.
//! A party that learns the intersection gets its own double-blinded values
//! back in the order it sent them and maps matches to ids; in cardinality mode
//! they come back shuffled, so only the count can be learned. Everything a
//! party sends is shuffled, so positions say nothing about the input order.
//!
//! [`initiator`] and [`responder`] are the sans-IO state machines;
//! [`run_initiator`] / [`run_responder`] drive them over a [`Transport`].

pub mod initiator;
pub mod responder;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use rayon::prelude::*;
use sha2::Sha512;
use wefe_core::{PeerId, Transport};
use zeroize::Zeroize;

use super::PsiOutput;
use super::wire::{Reader, put_count};
use crate::{Error, Result};

/// `Debug` for a party state holding `params`, `key` and `items`: the
/// parameters and the number of ids, never the ids.
macro_rules! debug_counts_only {
    ($($state:ident),+) => {$(
        impl std::fmt::Debug for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($state))
                    .field("params", &self.params)
                    .field("key", &self.key)
                    .field("items", &self.items.len())
                    .finish()
            }
        }
    )+};
}
pub(crate) use debug_counts_only;

pub use initiator::{AwaitingReply, Initiator};
pub use responder::{AwaitingFinish, Responder, ResponderStep};

/// Wire version of every ECDH-PSI message.
pub const VERSION: u8 = 1;

/// Domain separation tag for hashing ids, in RFC 9380 §3.1 form
/// (application, version, suite `ristretto255_XMD:SHA-512_R255MAP_RO_`).
pub const ID_DST: &[u8] = b"WEFE-PSI-ECDH-V01-CS01-with-ristretto255_XMD:SHA-512_R255MAP_RO_";

/// Transport tags of the three messages.
pub const TAG_HELLO: &str = "psi/ecdh/v1/hello";
/// See [`TAG_HELLO`].
pub const TAG_REPLY: &str = "psi/ecdh/v1/reply";
/// See [`TAG_HELLO`].
pub const TAG_FINISH: &str = "psi/ecdh/v1/finish";

/// Default upper bound on the items one party may send (each costs 32 bytes).
pub const DEFAULT_MAX_ITEMS: u32 = 1 << 24;

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

impl Reveal {
    fn initiator_learns(self) -> bool {
        matches!(self, Self::Initiator | Self::Both)
    }
    fn responder_learns(self) -> bool {
        matches!(self, Self::Responder | Self::Both)
    }
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
}

impl Default for EcdhParams {
    fn default() -> Self {
        Self { reveal: Reveal::Both, output: OutputKind::Intersection, max_items: DEFAULT_MAX_ITEMS }
    }
}

/// A party's secret exponent: random, zeroized on drop, never printed.
pub(crate) struct BlindingKey(Scalar);

impl BlindingKey {
    pub(crate) fn random() -> Result<Self> {
        let mut wide = [0u8; 64];
        loop {
            getrandom::fill(&mut wide).map_err(|e| Error::Random(e.to_string()))?;
            let scalar = Scalar::from_bytes_mod_order_wide(&wide);
            wide.zeroize();
            if scalar != Scalar::ZERO {
                return Ok(Self(scalar));
            }
        }
    }

    /// `key · H(item)` for each item, compressed (in parallel).
    pub(crate) fn blind_items(&self, items: &[Vec<u8>]) -> Vec<[u8; 32]> {
        items
            .par_iter()
            .map(|item| {
                let point = hash_to_group(item, ID_DST).expect("ID_DST is a valid non-empty DST");
                (point * self.0).compress().to_bytes()
            })
            .collect()
    }

    /// `key · P` for each point `P` received from the peer; a byte string that
    /// is not a canonical ristretto255 encoding, or the identity, is an error.
    pub(crate) fn reblind(&self, message: &'static str, points: &[[u8; 32]]) -> Result<Vec<[u8; 32]>> {
        points
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let point = CompressedRistretto(*bytes).decompress().ok_or_else(|| Error::Malformed {
                    message,
                    reason: format!("item {i} is not a ristretto255 point"),
                })?;
                if point == RistrettoPoint::default() {
                    return Err(Error::Malformed { message, reason: format!("item {i} is the identity") });
                }
                Ok((point * self.0).compress().to_bytes())
            })
            .collect()
    }
}

impl Drop for BlindingKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for BlindingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindingKey(..)")
    }
}

/// Initiator → responder: the parameters and the initiator's blinded ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Who learns the result.
    pub reveal: Reveal,
    /// Intersection or cardinality.
    pub output: OutputKind,
    /// `a·H(x)` for the initiator's ids, shuffled.
    pub blinded: Vec<[u8; 32]>,
}

/// Responder → initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `b·H(y)` for the responder's ids, shuffled.
    pub blinded: Vec<[u8; 32]>,
    /// `b·a·H(x)`: in the order of [`Hello::blinded`] (intersection) or shuffled
    /// (cardinality); present only if the initiator learns.
    pub double_blinded: Option<Vec<[u8; 32]>>,
}

/// Initiator → responder, only if the responder learns: `a·b·H(y)`, in the
/// order of [`Reply::blinded`] (intersection) or shuffled (cardinality).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// The responder's ids, double-blinded.
    pub double_blinded: Vec<[u8; 32]>,
}

const KIND_HELLO: u8 = 1;
const KIND_REPLY: u8 = 2;
const KIND_FINISH: u8 = 3;

fn put_points(out: &mut Vec<u8>, points: &[[u8; 32]]) {
    put_count(out, points.len());
    points.iter().for_each(|p| out.extend_from_slice(p));
}

impl Hello {
    /// `version ‖ kind ‖ reveal ‖ output ‖ count:u32 ‖ count × 32 bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.blinded.len());
        let reveal = match self.reveal {
            Reveal::Initiator => 0,
            Reveal::Responder => 1,
            Reveal::Both => 2,
        };
        let output = match self.output {
            OutputKind::Intersection => 0,
            OutputKind::Cardinality => 1,
        };
        out.extend_from_slice(&[VERSION, KIND_HELLO, reveal, output]);
        put_points(&mut out, &self.blinded);
        out
    }

    /// Parses and size-checks a Hello holding at most `max_items` points.
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
        let count = r.count(max_items as usize)?;
        let blinded = r.arrays32(count)?;
        r.finish()?;
        Ok(Self { reveal, output, blinded })
    }
}

impl Reply {
    /// `version ‖ kind ‖ count ‖ points ‖ has_double:u8 ‖ [count ‖ points]`.
    pub fn encode(&self) -> Vec<u8> {
        let double_len = self.double_blinded.as_ref().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(11 + 32 * (self.blinded.len() + double_len));
        out.extend_from_slice(&[VERSION, KIND_REPLY]);
        put_points(&mut out, &self.blinded);
        match &self.double_blinded {
            None => out.push(0),
            Some(points) => {
                out.push(1);
                put_points(&mut out, points);
            }
        }
        out
    }

    /// Parses and size-checks a Reply; each list holds at most `max_items` points.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("ECDH-PSI reply", bytes);
        r.header(VERSION, KIND_REPLY)?;
        let count = r.count(max_items as usize)?;
        let blinded = r.arrays32(count)?;
        let double_blinded = match r.u8()? {
            0 => None,
            1 => {
                let count = r.count(max_items as usize)?;
                Some(r.arrays32(count)?)
            }
            other => return Err(r.malformed(format!("bad presence flag {other}"))),
        };
        r.finish()?;
        Ok(Self { blinded, double_blinded })
    }
}

impl Finish {
    /// `version ‖ kind ‖ count ‖ points`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 32 * self.double_blinded.len());
        out.extend_from_slice(&[VERSION, KIND_FINISH]);
        put_points(&mut out, &self.double_blinded);
        out
    }

    /// Parses and size-checks a Finish holding at most `max_items` points.
    pub fn decode(bytes: &[u8], max_items: u32) -> Result<Self> {
        let mut r = Reader::new("ECDH-PSI finish", bytes);
        r.header(VERSION, KIND_FINISH)?;
        let count = r.count(max_items as usize)?;
        let double_blinded = r.arrays32(count)?;
        r.finish()?;
        Ok(Self { double_blinded })
    }
}

/// Compares `own` double-blinded values (ours) with the peer's. In
/// intersection mode `own[i]` belongs to `items[i]`.
fn compare(output: OutputKind, items: &[Vec<u8>], own: &[[u8; 32]], peers: &[[u8; 32]]) -> PsiOutput {
    let peers: std::collections::HashSet<&[u8; 32]> = peers.iter().collect();
    match output {
        OutputKind::Cardinality => PsiOutput::Cardinality(own.iter().filter(|p| peers.contains(p)).count()),
        OutputKind::Intersection => {
            let mut common: Vec<Vec<u8>> =
                items.iter().zip(own).filter(|(_, p)| peers.contains(p)).map(|(item, _)| item.clone()).collect();
            common.sort();
            PsiOutput::Intersection(common)
        }
    }
}

/// Runs the initiator against `peer` over `transport`: sends [`Hello`], waits
/// for [`Reply`], sends [`Finish`] if the responder learns.
///
/// The hashing and scalar multiplications run on rayon's pool and block the
/// calling thread; a runner on an async executor should call this from a
/// blocking-friendly task.
pub async fn run_initiator<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: EcdhParams,
    items: I,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let (waiting, hello) = Initiator::new(params, items)?.start()?;
    transport.send(peer, TAG_HELLO, hello.encode()).await?;
    let reply = Reply::decode(&transport.recv(peer, TAG_REPLY).await?, params.max_items)?;
    let (finish, output) = waiting.on_reply(reply)?;
    if let Some(finish) = finish {
        transport.send(peer, TAG_FINISH, finish.encode()).await?;
    }
    Ok(output)
}

/// Runs the responder against `peer` over `transport` (see [`run_initiator`]).
pub async fn run_responder<I>(
    transport: &impl Transport,
    peer: &PeerId,
    params: EcdhParams,
    items: I,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let responder = Responder::new(params, items)?;
    let hello = Hello::decode(&transport.recv(peer, TAG_HELLO).await?, params.max_items)?;
    let (reply, step) = responder.on_hello(hello)?;
    transport.send(peer, TAG_REPLY, reply.encode()).await?;
    match step {
        ResponderStep::Done(output) => Ok(output),
        ResponderStep::AwaitFinish(waiting) => {
            let finish = Finish::decode(&transport.recv(peer, TAG_FINISH).await?, params.max_items)?;
            waiting.on_finish(finish)
        }
    }
}

/// Checks a local set against `max_items`.
fn check_size(items: &[Vec<u8>], max_items: u32) -> Result<()> {
    if items.len() > max_items as usize {
        return Err(Error::InvalidParams(format!("{} items exceed max_items = {max_items}", items.len())));
    }
    Ok(())
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
            let key = BlindingKey(sk_sm);
            let evaluated = key.reblind("test", &[blinded.compress().to_bytes()]).unwrap();
            assert_eq!(hex::encode(evaluated[0]), evaluation_element);
        }
    }

    /// The state machines hold private sets: their Debug shows counts only.
    #[test]
    fn debug_of_the_state_machines_shows_counts_not_ids() {
        const SECRET: &str = "secret-customer-4711";
        let ids = [SECRET, "another-id"];
        let params = EcdhParams::default();
        let initiator = Initiator::new(params, ids).unwrap();
        let responder = Responder::new(params, ids).unwrap();
        let mut printed = vec![format!("{initiator:?}"), format!("{responder:?}")];
        let (awaiting_reply, hello) = initiator.start().unwrap();
        printed.push(format!("{awaiting_reply:?}"));
        let (_, step) = responder.on_hello(hello).unwrap();
        let ResponderStep::AwaitFinish(awaiting_finish) = step else { panic!("Both: the responder learns") };
        printed.push(format!("{awaiting_finish:?}"));
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
        let hello =
            Hello { reveal: Reveal::Responder, output: OutputKind::Cardinality, blinded: vec![[7; 32], [9; 32]] };
        assert_eq!(Hello::decode(&hello.encode(), 10).unwrap(), hello);
        for double_blinded in [None, Some(vec![[1; 32]]), Some(vec![])] {
            let reply = Reply { blinded: vec![[3; 32]; 3], double_blinded };
            assert_eq!(Reply::decode(&reply.encode(), 10).unwrap(), reply);
        }
        let finish = Finish { double_blinded: vec![[5; 32]; 4] };
        assert_eq!(Finish::decode(&finish.encode(), 10).unwrap(), finish);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let hello = Hello { reveal: Reveal::Both, output: OutputKind::Intersection, blinded: vec![[7; 32]; 3] };
        let good = hello.encode();
        // Every truncation fails cleanly.
        for len in 0..good.len() {
            assert!(Hello::decode(&good[..len], 10).is_err(), "truncated to {len}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(Hello::decode(&trailing, 10), Err(Error::Malformed { .. })));
        let mut version = good.clone();
        version[0] = 2;
        assert!(matches!(Hello::decode(&version, 10), Err(Error::Version { found: 2, .. })));
        let mut kind = good.clone();
        kind[1] = KIND_FINISH;
        assert!(matches!(Hello::decode(&kind, 10), Err(Error::Malformed { .. })));
        let mut reveal = good.clone();
        reveal[2] = 9;
        assert!(matches!(Hello::decode(&reveal, 10), Err(Error::Malformed { .. })));
        assert!(matches!(Hello::decode(&good, 2), Err(Error::TooManyItems { count: 3, max: 2, .. })));
        // A huge announced count is refused before any allocation.
        let mut huge = good[..4].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Hello::decode(&huge, u32::MAX), Err(Error::Malformed { .. })));
        let mut flag = Reply { blinded: vec![], double_blinded: None }.encode();
        *flag.last_mut().unwrap() = 7;
        assert!(matches!(Reply::decode(&flag, 10), Err(Error::Malformed { .. })));
        assert!(Finish::decode(&[], 10).is_err());
    }

    #[test]
    fn points_that_are_not_in_the_group_are_refused() {
        let key = BlindingKey::random().unwrap();
        // 0xff… is not a canonical field element encoding.
        assert!(matches!(key.reblind("test", &[[0xff; 32]]), Err(Error::Malformed { .. })));
        assert!(matches!(key.reblind("test", &[[0; 32]]), Err(Error::Malformed { .. })), "identity");
    }
}
