//! How protocol code reaches its peers.
//!
//! Protocols are sans-IO state machines (see `wefe-mpc`); a *runner* drives
//! them by moving their messages through a [`Transport`]. One transport value
//! is bound to one job: the gateway gives each runner a transport that only
//! carries that job's messages, and [`MemoryNetwork`](memory::MemoryNetwork)
//! does the same inside one process for tests and benchmarks.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use crate::IdError;

#[cfg(any(test, feature = "memory"))]
pub mod memory;

/// Longest tag a transport accepts, in bytes.
pub const MAX_TAG_BYTES: usize = 128;

/// A party of the consortium, named by its member address on chain (20 bytes).
/// Written as `0x` + 40 hex digits; prints in lower case (no EIP-55 checksum).
///
/// ```
/// use wefe_core::PeerId;
/// let bank: PeerId = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap();
/// assert_eq!(bank.to_string(), "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
/// assert_eq!(bank.to_bytes()[0], 0x70);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId([u8; 20]);

impl PeerId {
    /// Wraps the 20 bytes of a member address.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The raw 20 bytes.
    pub const fn to_bytes(self) -> [u8; 20] {
        self.0
    }

    /// Parses `0x` + 40 hex digits (either case).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bad = || IdError::BadPeerId(text.to_owned());
        let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or_else(bad)?;
        if digits.len() != 40 {
            return Err(bad());
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(digits, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

impl FromStr for PeerId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a message could not be sent or received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The payload is larger than the transport carries.
    #[error("message of {size} bytes is larger than the {max}-byte limit")]
    TooLarge {
        /// Payload size.
        size: usize,
        /// The transport's limit ([`Transport::max_message_bytes`]).
        max: usize,
    },
    /// The peer is not part of this job.
    #[error("peer {0} is not a party of this job")]
    UnknownPeer(PeerId),
    /// The peer left (or its connection closed) before the message arrived.
    #[error("peer {0} closed the connection")]
    Closed(PeerId),
    /// The tag is empty, too long or not printable ASCII.
    #[error("message tag '{0}' must be 1-128 printable ASCII bytes")]
    BadTag(String),
    /// The underlying link failed (gateway, stream, timeout).
    #[error("transport failure: {0}")]
    Link(String),
    /// The job was stopped (timeout, closed on chain, node shutting down).
    #[error("the job was stopped")]
    Cancelled,
}

/// Moves byte messages between the parties of one job.
///
/// Messages are addressed to a peer and labelled by a `tag` (for example
/// `psi/ecdh/m1`); `recv(from, tag)` returns the next message that `from`
/// sent to this party with that tag. Messages with one sender and one tag
/// arrive in the order they were sent; different tags are independent queues,
/// so a protocol can wait for exactly the message its state machine expects.
/// Payloads larger than [`max_message_bytes`](Self::max_message_bytes) are
/// refused by `send`; receivers must still size-check what they decode.
///
/// Implementations: the gateway (in `wefe-node`) and, for tests,
/// [`memory::MemoryTransport`] (cargo feature `memory`).
pub trait Transport: Send + Sync {
    /// This party's own id.
    fn local_peer(&self) -> PeerId;

    /// Largest payload one message may carry.
    fn max_message_bytes(&self) -> usize;

    /// Sends `payload` to `to` under `tag`.
    fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>)
    -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Waits for the next message from `from` with `tag`.
    fn recv(&self, from: &PeerId, tag: &str) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send;
}

/// Checks a tag against the rules of [`Transport`] (1–128 printable ASCII bytes).
pub fn check_tag(tag: &str) -> Result<(), TransportError> {
    if tag.is_empty() || tag.len() > MAX_TAG_BYTES || !tag.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TransportError::BadTag(tag.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_round_trip_and_reject_bad_text() {
        let text = format!("0x{}", "ab".repeat(20));
        let id = PeerId::parse(&text).unwrap();
        assert_eq!(id.to_bytes(), [0xab; 20]);
        assert_eq!(id.to_string(), text);
        assert_eq!(PeerId::parse(&text.to_uppercase().replace("0XAB", "0xAB")).unwrap(), id);
        assert_eq!(format!("{id:?}"), format!("PeerId({text})"));
        for bad in [
            "",
            "0x",
            "ab".repeat(20).as_str(),
            "0x1234",
            &format!("0x{}", "zz".repeat(20)),
            &format!("0x{}", "00".repeat(21)),
        ] {
            assert!(matches!(PeerId::parse(bad), Err(IdError::BadPeerId(_))), "{bad}");
        }
    }

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("psi/ecdh/m1").is_ok());
        assert!(check_tag(&"t".repeat(MAX_TAG_BYTES)).is_ok());
        for bad in ["", "has space", "naïve", &"t".repeat(MAX_TAG_BYTES + 1)] {
            assert!(matches!(check_tag(bad), Err(TransportError::BadTag(_))), "{bad}");
        }
    }
}
