//! wefe-mpc: the multi-party protocols of wefe, written sans-IO.
//!
//! This crate owns the protocol state machines and their wire messages:
//! [`psi`] (private set intersection: streamed ECDH over ristretto255, KKRT16
//! OT-extension PSI, RSA blind signatures with a Bloom filter, and
//! multi-party ECDH for three or more parties). Each role is a state machine that takes
//! the peer's message and returns its next one; a small `run_*` driver per
//! role moves those messages over a [`wefe_core::Transport`], so the node's
//! runners, the in-memory tests and the benchmarks share one code path.
//!
//! It must not import tonic, alloy, sqlx or an async runtime: I/O belongs to
//! the runners, chain access to `wefe-chain`, storage to `wefe-store`.
//!
//! Security model: semi-honest parties (they follow the protocol but try to
//! learn more from what they see). Messages from a peer are size-checked and
//! validated, so a malicious peer can make a run fail but not crash a node.
//! Group operations come from curve25519-dalek (constant time), AES from the
//! `aes` crate (AES-NI or bitsliced); the RSA
//! private-key operation is crypto-bigint's, with base and exponent blinding
//! (see the `rsa` crate). Not audited.
#![forbid(unsafe_code)]

pub mod psi;

/// Why a protocol step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A peer's message does not parse (wrong length, bad field, bad point).
    #[error("malformed {message} message: {reason}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A peer's message carries a version this code does not speak.
    #[error("{message} message has version {found}, expected {expected}")]
    Version {
        /// Which message.
        message: &'static str,
        /// Version byte received.
        found: u8,
        /// Version this code speaks.
        expected: u8,
    },
    /// A peer's message is larger than the configured limits.
    #[error("{message} message holds {count} items, more than the limit of {max}")]
    TooManyItems {
        /// Which message.
        message: &'static str,
        /// Items announced.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// The two parties were started with different parameters.
    #[error("parameters differ from the peer's: {0}")]
    ParamsMismatch(String),
    /// Local parameters that cannot be used.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// An RSA key below the minimum size without the explicit `insecure` opt-in.
    #[error("RSA key of {bits} bits is below the {min}-bit minimum (only tests may opt out, with `insecure`)")]
    KeyTooSmall {
        /// Size offered.
        bits: u32,
        /// Minimum accepted.
        min: u32,
    },
    /// The server's blind signature on one of our items does not verify.
    #[error("the blind signature on item {0} does not verify under the server's key")]
    BadSignature(usize),
    /// An error from the RSA implementation (key generation, private-key operation).
    #[error("RSA: {0}")]
    Rsa(#[from] rsa::Error),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// Moving a message to or from the peer failed.
    #[error(transparent)]
    Transport(#[from] wefe_core::TransportError),
}

/// Result of this crate's operations.
pub type Result<T> = std::result::Result<T, Error>;
