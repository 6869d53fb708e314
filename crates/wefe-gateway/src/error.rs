//! The gateway's error type and its mapping onto gRPC statuses.

use tonic::{Code, Status};
use wefe_core::PeerId;

/// Result of gateway operations.
pub type Result<T> = std::result::Result<T, GatewayError>;

/// Why the gateway refused an envelope, a key or a configuration.
///
/// Rejections of peer input map onto [`tonic::Status`] codes (see
/// [`GatewayError::code`]); the message is the `Display` text, so the sending
/// peer learns exactly which check failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The bytes did not decode as an `Envelope`, or a field has the wrong shape.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The envelope speaks a wire format version this gateway does not know.
    #[error("unsupported envelope version {0} (this gateway speaks version {WIRE_VERSION})", WIRE_VERSION = crate::signing::WIRE_VERSION)]
    UnsupportedVersion(u32),
    /// The envelope is addressed to another member.
    #[error("envelope is addressed to {to}, but this gateway serves {local}")]
    WrongRecipient {
        /// The `to` field.
        to: PeerId,
        /// This gateway's member.
        local: PeerId,
    },
    /// The sender is unknown to the peer directory.
    #[error("sender {0} is not a member of the consortium")]
    UnknownMember(PeerId),
    /// The sender is registered but not active (applied, suspended or removed).
    #[error("sender {0} is not an active member")]
    InactiveMember(PeerId),
    /// The envelope carries no signature.
    #[error("unsigned envelope from {0}")]
    Unsigned(PeerId),
    /// The signature does not verify against the sender's registered key.
    #[error("bad signature from {0}")]
    BadSignature(PeerId),
    /// The sender's registered public key is not a point on the SM2 curve.
    #[error("registered public key of {0} is not a valid SM2 public key")]
    BadRegisteredKey(PeerId),
    /// The timestamp is outside the acceptance window.
    #[error("envelope from {from} is {skew_ms} ms off this gateway's clock (window ±{window_s} s)")]
    StaleTimestamp {
        /// Sender.
        from: PeerId,
        /// Envelope time minus local time.
        skew_ms: i64,
        /// The window, in seconds.
        window_s: u64,
    },
    /// The nonce was already seen within the window.
    #[error("replayed nonce {nonce} from {from}")]
    Replay {
        /// Sender.
        from: PeerId,
        /// The nonce, hex.
        nonce: String,
    },
    /// The replay cache is full of nonces that have not yet expired.
    #[error("replay cache is full ({0} nonces within the window); retry later")]
    ReplayCacheFull(usize),
    /// The sender holds its whole share of the replay cache.
    #[error("replay cache holds {limit} live nonces of {from}, its share; retry later")]
    ReplayShareFull {
        /// Sender.
        from: PeerId,
        /// Its share.
        limit: usize,
    },
    /// The job is known here and the sender is not one of its participants.
    #[error("{from} is not a participant of job {job}")]
    NotParticipant {
        /// Sender.
        from: PeerId,
        /// The job.
        job: u64,
    },
    /// The job has ended on this gateway: its messages are no longer stored.
    #[error("job {0} has ended on this gateway; its messages are refused")]
    JobEnded(u64),
    /// The sender's queued messages are at its share of the budget.
    #[error("{from} has {detail} queued here, its share; retry later")]
    SenderQueueFull {
        /// Sender.
        from: PeerId,
        /// What is full, e.g. `16384 messages`.
        detail: String,
    },
    /// The job has not been admitted yet, and what the sender may queue for
    /// it before that is used up.
    #[error(
        "job {job} has not started on this gateway, and {from} is at its limit for such jobs ({detail}); retry later"
    )]
    UnknownJobFull {
        /// Sender.
        from: PeerId,
        /// The job.
        job: u64,
        /// The limit reached, e.g. `16 messages for this job`.
        detail: String,
    },
    /// The member opened too many handshakes recently.
    #[error("too many handshakes from {from}: {burst} at most, then one every {interval_ms} ms; retry later")]
    HandshakeRateLimited {
        /// The member named in the `Hello`.
        from: PeerId,
        /// Burst allowed.
        burst: u32,
        /// Refill interval.
        interval_ms: u128,
    },
    /// One chunk is larger than the chunk limit.
    #[error("chunk of {size} bytes exceeds the {} limit", crate::config::human_bytes(*limit))]
    ChunkTooLarge {
        /// The chunk's payload size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A message is (or announces itself as) larger than the message limit.
    #[error("message of {size} bytes exceeds the {} limit", crate::config::human_bytes(*limit))]
    MessageTooLarge {
        /// The announced or accumulated size.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// Undelivered messages would exceed the memory budget for queued messages.
    #[error("receive queues are full ({queued} bytes waiting, limit {}); retry later", crate::config::human_bytes(*limit))]
    QueueFull {
        /// Bytes already queued or being reassembled.
        queued: usize,
        /// The limit.
        limit: usize,
    },
    /// A chunk arrived out of order.
    #[error("message {seq} (tag {tag}) from {from}: got chunk {got}, expected chunk {expected}")]
    OutOfOrder {
        /// Sender.
        from: PeerId,
        /// Tag.
        tag: String,
        /// Message number.
        seq: u64,
        /// The chunk index received.
        got: u32,
        /// The chunk index expected.
        expected: u32,
    },
    /// The chunks do not add up to the announced `total_len`.
    #[error("message {seq} (tag {tag}) from {from}: chunks do not add up to total_len {total}")]
    LengthMismatch {
        /// Sender.
        from: PeerId,
        /// Tag.
        tag: String,
        /// Message number.
        seq: u64,
        /// The announced total length.
        total: u64,
    },
    /// The call ended while a message was still missing its last chunk.
    #[error("stream ended before the last chunk of message {seq} (tag {tag}) from {from}")]
    Truncated {
        /// Sender.
        from: PeerId,
        /// Tag.
        tag: String,
        /// Message number.
        seq: u64,
    },
    /// One call has too many messages in progress at once.
    #[error("more than {0} unfinished messages in one call")]
    TooManyPending(usize),
    /// No envelope arrived for too long within a call.
    #[error("no envelope for {0} ms; call abandoned")]
    Idle(u128),
    /// The call's stream failed (client went away, HTTP/2 error, undecodable bytes).
    #[error("{0}")]
    Stream(Status),
    /// A private key could not be read.
    #[error("SM2 private key: {0}")]
    PrivateKey(String),
    /// The peer presented no certificate, and this gateway requires one.
    #[error("{0} presented no certificate, and this gateway requires one")]
    CertificateRequired(PeerId),
    /// The peer's certificate was refused.
    #[error("certificate of {peer} refused: {reason}")]
    Certificate {
        /// The member that presented it.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// An envelope names a session this gateway does not hold (expired, or
    /// the gateway restarted): the sender opens a new one and retries.
    #[error("unknown or expired session from {0}; open a new one")]
    UnknownSession(PeerId),
    /// A payload failed SM4-GCM authentication under its session's key.
    #[error("payload from {0} does not decrypt under its session key")]
    Undecryptable(PeerId),
    /// A public key is not 64 bytes `x||y` of a point on the SM2 curve.
    #[error("SM2 public key: {0}")]
    PublicKey(String),
}

impl GatewayError {
    /// The gRPC status code a peer receives for this rejection.
    pub fn code(&self) -> Code {
        match self {
            Self::Malformed(_)
            | Self::UnsupportedVersion(_)
            | Self::WrongRecipient { .. }
            | Self::ChunkTooLarge { .. }
            | Self::MessageTooLarge { .. }
            | Self::OutOfOrder { .. }
            | Self::LengthMismatch { .. }
            | Self::Truncated { .. } => Code::InvalidArgument,
            Self::UnknownMember(_)
            | Self::InactiveMember(_)
            | Self::CertificateRequired(_)
            | Self::Certificate { .. }
            | Self::NotParticipant { .. }
            | Self::JobEnded(_) => Code::PermissionDenied,
            Self::UnknownSession(_) => Code::FailedPrecondition,
            Self::Undecryptable(_) => Code::Unauthenticated,
            Self::Unsigned(_) | Self::BadSignature(_) | Self::BadRegisteredKey(_) | Self::StaleTimestamp { .. } => {
                Code::Unauthenticated
            }
            Self::Replay { .. } => Code::AlreadyExists,
            Self::Idle(_) => Code::DeadlineExceeded,
            Self::ReplayCacheFull(_)
            | Self::ReplayShareFull { .. }
            | Self::QueueFull { .. }
            | Self::SenderQueueFull { .. }
            | Self::UnknownJobFull { .. }
            | Self::HandshakeRateLimited { .. }
            | Self::TooManyPending(_) => Code::ResourceExhausted,
            Self::Stream(status) => status.code(),
            Self::PrivateKey(_) | Self::PublicKey(_) => Code::Internal,
        }
    }
}

impl From<GatewayError> for Status {
    fn from(err: GatewayError) -> Self {
        match err {
            GatewayError::Stream(status) => status,
            other => Status::new(other.code(), other.to_string()),
        }
    }
}
