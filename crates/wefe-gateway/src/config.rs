//! Limits and timings of a gateway.

use std::time::Duration;

/// One mebibyte.
pub const MIB: usize = 1024 * 1024;

/// What a queued message counts against the budgets besides its payload and
/// tag: an empty message is not free.
pub const MESSAGE_OVERHEAD_BYTES: usize = 256;

/// Limits and timings of a [`Gateway`](crate::Gateway). `Default` gives the
/// values a node uses unless its configuration says otherwise, except
/// `peer_networks` (see there).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Largest chunk payload accepted (default 4 MiB).
    pub max_chunk_bytes: usize,
    /// Chunk size `send` uses (default 1 MiB); at most `max_chunk_bytes`.
    pub send_chunk_bytes: usize,
    /// Largest message (all chunks) sent or accepted (default 1 GiB).
    pub max_message_bytes: usize,
    /// Bytes of received messages waiting for `recv` plus messages being
    /// reassembled, over all jobs and senders (default 4 GiB); beyond it
    /// senders get `RESOURCE_EXHAUSTED`. Every message counts
    /// [`MESSAGE_OVERHEAD_BYTES`] plus its tag on top of its payload, and a
    /// message being reassembled counts the bytes that have arrived, not the
    /// size it announces.
    pub max_queued_bytes: usize,
    /// The share of `max_queued_bytes` one sender may hold (default 1280 MiB:
    /// one largest message and then some); beyond it that sender gets
    /// `RESOURCE_EXHAUSTED` and the others are unaffected.
    pub max_queued_bytes_per_sender: usize,
    /// Messages (empty or not, complete or being reassembled) one sender may
    /// have queued at once (default 16 Ki).
    pub max_queued_messages_per_sender: usize,
    /// Messages one sender may queue for one job that this gateway has not
    /// admitted yet ([`Gateway::job_transport`](crate::Gateway::job_transport))
    /// (default 16): a peer that starts a job first may send ahead.
    pub unknown_job_messages: usize,
    /// Bytes one sender may queue for one job not admitted yet (default
    /// 4 MiB); a larger message is refused with `RESOURCE_EXHAUSTED` and the
    /// sender retries until the job is admitted.
    pub unknown_job_bytes: usize,
    /// Distinct not-yet-admitted jobs one sender may queue messages for (default 4).
    pub unknown_jobs_per_sender: usize,
    /// How long messages for a job never admitted are kept (default 30 min):
    /// by then the sender's own receive timeout has failed its job.
    pub unknown_job_ttl: Duration,
    /// Accepted distance between an envelope's timestamp and this node's clock (default 60 s).
    pub clock_window: Duration,
    /// Nonces remembered within the window (default 512 Ki, about 60 MiB when
    /// full; enough for ~4000 envelopes a second). When full, new envelopes are
    /// refused with `RESOURCE_EXHAUSTED` rather than forgetting live nonces.
    pub replay_cache_entries: usize,
    /// Live nonces one sender may hold in the replay cache (default 128 Ki):
    /// a sender that uses up its share gets `RESOURCE_EXHAUSTED`, the others
    /// keep theirs.
    pub replay_cache_entries_per_sender: usize,
    /// Messages one call may reassemble at once (default 16).
    pub max_pending_messages_per_call: usize,
    /// Longest wait for the next envelope of a call before the call is
    /// abandoned (default 60 s): a stalled peer cannot pin reassembly buffers.
    pub call_idle_timeout: Duration,
    /// Concurrent calls per peer connection (default 128).
    pub max_concurrent_calls: u32,
    /// Attempts `send` makes when the peer cannot be reached (default 5).
    pub send_attempts: u32,
    /// How long `send` keeps retrying (with backoff) while the peer answers
    /// `RESOURCE_EXHAUSTED`: its queues are full, or it has not started the
    /// job yet (default 2 min).
    pub busy_retry_window: Duration,
    /// Delay before the second attempt; doubled each time (default 200 ms).
    pub initial_backoff: Duration,
    /// Longest delay between attempts (default 5 s).
    pub max_backoff: Duration,
    /// Time allowed to open a connection to a peer (default 5 s).
    pub connect_timeout: Duration,
    /// How long `recv` waits before failing with a link error (default
    /// 10 min; `None` waits forever): a vanished peer does not hold a job
    /// slot for the whole job timeout.
    pub recv_timeout: Option<Duration>,
    /// This member's X.509 certificate (DER), presented in every handshake
    /// (default none).
    pub certificate: Option<std::sync::Arc<[u8]>>,
    /// Refuse peers whose handshake carries no certificate (default false:
    /// peers are then authenticated by their registered key alone; a
    /// certificate that is presented is always checked).
    pub require_peer_certificates: bool,
    /// How long a session key is used before a new handshake (default 1 h).
    pub session_lifetime: Duration,
    /// Sessions a gateway holds as callee; the oldest are dropped beyond it (default 4096).
    pub max_sessions: usize,
    /// Handshakes one member may open from one address in a burst (default 16)...
    pub handshake_burst: u32,
    /// ...and then one per this interval (default 4 s). Beyond it the
    /// handshake is refused with `RESOURCE_EXHAUSTED` before its signature
    /// and certificate are checked.
    pub handshake_interval: Duration,
    /// TLS under gRPC (default off): sizes, tags and gRPC metadata stop
    /// travelling in clear. With it, the gateway serves TLS only, asks
    /// callers for a certificate of the same authority (mutual TLS: who is
    /// not a consortium gateway cannot even open a stream) and calls peers
    /// at `https://` endpoints only.
    pub tls: Option<GatewayTls>,
    /// Connections served at once (default 1024), and from one source
    /// address (default 64); beyond them a connection is closed unread.
    pub max_connections: usize,
    /// See `max_connections`.
    pub max_connections_per_address: usize,
    /// Which addresses peers' endpoints may be dialled at (default
    /// [`PeerNetworks::Any`]; a node uses [`PeerNetworks::NotSpecial`] unless
    /// its `peer_networks` lists networks).
    pub peer_networks: crate::PeerNetworks,
}

/// The TLS identity of a gateway: its certificate chain and private key, and
/// the authority that signs every consortium gateway's TLS certificate (all
/// PEM). This is transport protection only: members are still
/// authenticated by their SM2 keys on chain in every handshake.
#[derive(Clone)]
pub struct GatewayTls {
    /// This gateway's certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// Its private key (PEM).
    pub key_pem: Vec<u8>,
    /// The authority's certificate (PEM).
    pub ca_pem: Vec<u8>,
}

/// Never prints the key.
impl std::fmt::Debug for GatewayTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayTls").field("cert_pem", &self.cert_pem.len()).finish_non_exhaustive()
    }
}

impl GatewayConfig {
    /// This member's certificate (DER), sent in every handshake.
    pub fn with_certificate(mut self, der: Vec<u8>) -> Self {
        self.certificate = Some(std::sync::Arc::from(der));
        self
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            max_chunk_bytes: 4 * MIB,
            send_chunk_bytes: MIB,
            max_message_bytes: 1024 * MIB,
            max_queued_bytes: 4096 * MIB,
            max_queued_bytes_per_sender: 1280 * MIB,
            max_queued_messages_per_sender: 16 * 1024,
            unknown_job_messages: 16,
            unknown_job_bytes: 4 * MIB,
            unknown_jobs_per_sender: 4,
            unknown_job_ttl: Duration::from_secs(30 * 60),
            clock_window: Duration::from_secs(60),
            replay_cache_entries: 1 << 19,
            replay_cache_entries_per_sender: 1 << 17,
            max_pending_messages_per_call: 16,
            call_idle_timeout: Duration::from_secs(60),
            max_concurrent_calls: 128,
            send_attempts: 5,
            busy_retry_window: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            recv_timeout: Some(Duration::from_secs(600)),
            certificate: None,
            require_peer_certificates: false,
            session_lifetime: Duration::from_secs(3600),
            max_sessions: 4096,
            handshake_burst: 16,
            handshake_interval: Duration::from_secs(4),
            tls: None,
            max_connections: 1024,
            max_connections_per_address: 64,
            peer_networks: crate::PeerNetworks::Any,
        }
    }
}

/// `4 MiB`, `1536 KiB`, `100 bytes`: sizes in error messages.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n}-byte")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(4 * MIB), "4 MiB");
        assert_eq!(human_bytes(1536 * 1024), "1536 KiB");
        assert_eq!(human_bytes(100), "100-byte");
    }
}
