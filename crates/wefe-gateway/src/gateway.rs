//! The gateway: accepts signed envelopes from peers and hands out per-job transports.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status, Streaming};
use wefe_core::PeerId;

use crate::config::{GatewayConfig, MIB};
use crate::directory::PeerDirectory;
use crate::error::{GatewayError, Result};
use crate::inbox::{Budget, Delivered, Inbox, Reservation};
use crate::proto::gateway_server::GatewayServer;
use crate::proto::{Ack, Envelope, Hello};
use crate::replay::{ReplayCache, ReplayVerdict};
use crate::session::{self, HelloCheck, Role, Session, SessionId, SessionTable};
use crate::signing::{self, MemberKey, WIRE_VERSION};
use crate::transport::GatewayTransport;

/// HTTP/2 flow-control windows: large enough that one 1 MiB chunk does not
/// wait for a window update, small enough to bound what a connection buffers.
pub(crate) const STREAM_WINDOW: u32 = 8 * MIB as u32;
pub(crate) const CONNECTION_WINDOW: u32 = 16 * MIB as u32;

/// Room for an envelope's fields besides its payload when sizing the decoder.
const ENVELOPE_OVERHEAD: usize = 64 * 1024;

/// A member's gateway: serves the `wefe.gateway.v1.Gateway` service to peers
/// and gives each job runner a [`GatewayTransport`].
///
/// Cloning is cheap; clones share the server state (inbox, replay cache,
/// connections).
///
/// ```no_run
/// # async fn run(key: wefe_gateway::MemberKey, me: wefe_core::PeerId) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use wefe_gateway::{Gateway, GatewayConfig, StaticPeerDirectory};
///
/// let directory = Arc::new(StaticPeerDirectory::new()); // the node fills it from chain events
/// let gateway = Gateway::new(me, key, directory, GatewayConfig::default());
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:7443").await?;
/// tokio::spawn({
///     let gateway = gateway.clone();
///     async move { gateway.serve(listener, std::future::pending()).await }
/// });
/// let transport = gateway.transport(42); // job 42's runner talks through this
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) config: GatewayConfig,
    pub(crate) local: PeerId,
    pub(crate) key: MemberKey,
    pub(crate) directory: Arc<dyn PeerDirectory>,
    replay: Mutex<ReplayCache>,
    pub(crate) inbox: Inbox,
    budget: Arc<Budget>,
    channels: Mutex<HashMap<String, Channel>>,
    pub(crate) next_seq: AtomicU64,
    /// Messages already delivered, so a sender's retry after a lost Ack is
    /// acknowledged without being delivered twice.
    delivered: Mutex<DeliveredLog>,
    /// Sessions peers opened with this gateway (it decrypts with them).
    sessions: Mutex<SessionTable>,
    /// Sessions this gateway opened with peers (it encrypts with them).
    pub(crate) outgoing: Mutex<HashMap<PeerId, Arc<Session>>>,
    /// One handshake at a time per peer: concurrent sends share its session.
    pub(crate) handshaking: Mutex<HashMap<PeerId, Arc<tokio::sync::Mutex<()>>>>,
}

/// The most recent delivered message keys, bounded.
#[derive(Debug, Default)]
struct DeliveredLog {
    keys: std::collections::HashSet<MessageKey>,
    order: std::collections::VecDeque<MessageKey>,
}

impl DeliveredLog {
    const CAPACITY: usize = 65_536;

    /// Records `key`; false when it was already delivered.
    fn insert(&mut self, key: MessageKey) -> bool {
        if !self.keys.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.keys.remove(&old);
        }
        true
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("local", &self.local)
            .field("key", &self.key)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway for member `local`, signing with `key` (whose public half
    /// must be the one registered on chain) and checking peers in `directory`.
    pub fn new(local: PeerId, key: MemberKey, directory: Arc<dyn PeerDirectory>, mut config: GatewayConfig) -> Self {
        config.send_chunk_bytes = config.send_chunk_bytes.clamp(1, config.max_chunk_bytes.max(1));
        Self {
            shared: Arc::new(Shared {
                replay: Mutex::new(ReplayCache::new(config.replay_cache_entries)),
                budget: Budget::new(config.max_queued_bytes),
                config,
                local,
                key,
                directory,
                inbox: Inbox::default(),
                channels: Mutex::new(HashMap::new()),
                // Random start: sequence numbers of a restarted node never
                // collide with what its peers remember from before.
                next_seq: AtomicU64::new(random_seq_start()),
                delivered: Mutex::new(DeliveredLog::default()),
                sessions: Mutex::new(SessionTable::default()),
                outgoing: Mutex::new(HashMap::new()),
                handshaking: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// This gateway's member.
    pub fn local_peer(&self) -> PeerId {
        self.shared.local
    }

    /// The transport of job `job_id`: it sends that job's messages and
    /// receives only messages peers sent for that job.
    pub fn transport(&self, job_id: u64) -> GatewayTransport {
        GatewayTransport::new(Arc::clone(&self.shared), job_id, None)
    }

    /// Like [`transport`](Self::transport), restricted to the job's parties:
    /// `send`/`recv` with anyone else fail with `UnknownPeer`.
    pub fn transport_for_parties(&self, job_id: u64, parties: impl IntoIterator<Item = PeerId>) -> GatewayTransport {
        GatewayTransport::new(Arc::clone(&self.shared), job_id, Some(parties.into_iter().collect()))
    }

    /// Sessions peers currently hold with this gateway.
    pub fn sessions_held(&self) -> usize {
        self.shared.sessions.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Drops the queued messages of a finished job; a `recv` still waiting on
    /// it fails with `Closed`.
    pub fn forget_job(&self, job_id: u64) {
        self.shared.inbox.forget_job(job_id);
    }

    /// The tonic service, to mount on a server of the caller's own.
    pub fn service(&self) -> GatewayServer<GatewayService> {
        GatewayServer::new(GatewayService { shared: Arc::clone(&self.shared) })
            .max_decoding_message_size(self.shared.config.max_chunk_bytes.saturating_add(ENVELOPE_OVERHEAD))
    }

    /// Serves peers on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::result::Result<(), tonic::transport::Error> {
        Server::builder()
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_concurrent_streams(self.shared.config.max_concurrent_calls)
            .serve_with_incoming_shutdown(self.service(), TcpIncoming::from(listener), shutdown)
            .await
    }
}

impl Shared {
    /// A (lazily connecting, cached) channel to a peer's gateway.
    pub(crate) fn channel(&self, endpoint: &str) -> std::result::Result<Channel, Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| Status::invalid_argument(format!("bad gateway endpoint {endpoint:?}: {e}")))?
            .connect_timeout(self.config.connect_timeout)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .tcp_nodelay(true)
            .connect_lazy();
        channels.insert(endpoint.to_owned(), channel.clone());
        Ok(channel)
    }

    /// Checks one envelope: shape, addressee, sender, signature, time, nonce.
    async fn accept(&self, env: Envelope) -> Result<(PeerId, Envelope)> {
        if env.version != WIRE_VERSION {
            return Err(GatewayError::UnsupportedVersion(env.version));
        }
        let from = peer_field(&env.from, "from")?;
        let to = peer_field(&env.to, "to")?;
        wefe_core::transport::check_tag(&env.tag).map_err(|e| GatewayError::Malformed(e.to_string()))?;
        let nonce: [u8; 16] = env
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| GatewayError::Malformed(format!("nonce must be 16 bytes, got {}", env.nonce.len())))?;
        let sealed_limit = self.config.max_chunk_bytes.saturating_add(wefe_crypto::sm::GCM_TAG_LEN);
        if env.payload.len() > sealed_limit {
            let size = env.payload.len() - wefe_crypto::sm::GCM_TAG_LEN;
            return Err(GatewayError::ChunkTooLarge { size, limit: self.config.max_chunk_bytes });
        }
        if to != self.local {
            return Err(GatewayError::WrongRecipient { to, local: self.local });
        }
        let info = self.directory.peer(&from).ok_or(GatewayError::UnknownMember(from))?;
        if !info.active {
            return Err(GatewayError::InactiveMember(from));
        }
        if env.signature.is_empty() {
            return Err(GatewayError::Unsigned(from));
        }
        let key = signing::verifying_key(&info.public_key).map_err(|_| GatewayError::BadRegisteredKey(from))?;
        let session_id: SessionId = env
            .session
            .as_slice()
            .try_into()
            .map_err(|_| GatewayError::Malformed(format!("session must be 16 bytes, got {}", env.session.len())))?;
        let session = self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session_id, self.config.session_lifetime)
            .filter(|s| s.peer == from)
            .ok_or(GatewayError::UnknownSession(from))?;
        // A revocation (or dismissal of the issuer) read from the chain since
        // the handshake cuts the session here, at its next envelope.
        if let Some(cert) = &session.peer_certificate {
            session::recheck_certificate(self.directory.as_ref(), from, cert)?;
        }
        // Hashing and decrypting a multi-MiB chunk takes milliseconds: keep it off the I/O threads.
        let (mut env, valid, plain) = tokio::task::spawn_blocking(move || {
            let valid = signing::verify(&env, &key);
            let plain = if valid { session::open_envelope(&env, &session.cipher) } else { None };
            (env, valid, plain)
        })
        .await
        .map_err(|e| GatewayError::Stream(Status::internal(format!("signature check failed to run: {e}"))))?;
        if !valid {
            return Err(GatewayError::BadSignature(from));
        }
        env.payload = bytes::Bytes::from(plain.ok_or(GatewayError::Undecryptable(from))?);
        check_clock(from, env.timestamp_ms, self.config.clock_window)?;
        self.check_fresh(from, nonce, env.timestamp_ms)?;
        Ok((from, env))
    }

    /// Records `from`'s `nonce`, refusing one seen within the clock window.
    fn check_fresh(&self, from: PeerId, nonce: [u8; 16], timestamp_ms: i64) -> Result<()> {
        let window_ms = i64::try_from(self.config.clock_window.as_millis()).unwrap_or(i64::MAX);
        let verdict = self.replay.lock().unwrap_or_else(|p| p.into_inner()).check_and_insert(
            from.to_bytes(),
            nonce,
            timestamp_ms.saturating_add(window_ms),
            now_ms(),
        );
        match verdict {
            ReplayVerdict::Fresh => Ok(()),
            ReplayVerdict::Replayed => Err(GatewayError::Replay { from, nonce: hex::encode(nonce) }),
            ReplayVerdict::Full => Err(GatewayError::ReplayCacheFull(self.config.replay_cache_entries)),
        }
    }

    /// The rules this gateway checks a peer's `Hello` by.
    pub(crate) fn hello_check(&self) -> HelloCheck<'_> {
        HelloCheck {
            directory: self.directory.as_ref(),
            local: self.local,
            require_certificate: self.config.require_peer_certificates,
            clock_window: self.config.clock_window,
        }
    }

    /// Answers a peer's `Hello`: checks it, opens a session, returns ours.
    fn handshake(&self, hello: Hello) -> Result<Hello> {
        let (from, checked) = self.hello_check().check(&hello, Role::Caller, None)?;
        // A replayed Hello would cost a key agreement and a session slot each time.
        self.check_fresh(from, checked.nonce, hello.timestamp_ms)?;
        let digest = session::hello_digest(&hello, Role::Caller, None);
        let (reply, ephemeral) = session::new_hello(
            &self.key,
            self.local,
            from,
            self.config.certificate.as_deref(),
            Role::Callee,
            Some(&digest),
        )?;
        let (id, cipher) = session::derive(&ephemeral, &checked.ephemeral, &hello, &reply, &digest)?;
        let session = Session {
            id,
            peer: from,
            cipher,
            peer_certificate: checked.certificate,
            opened: std::time::Instant::now(),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.insert(session, self.config.max_sessions.max(1), self.config.session_lifetime);
        tracing::debug!(%from, sessions = sessions.len(), "session opened by peer");
        Ok(reply)
    }

    /// Runs one `Exchange` call: accepts envelopes until the stream ends or one is refused.
    async fn exchange(&self, mut stream: Streaming<Envelope>) -> Result<Ack> {
        let mut pending = HashMap::new();
        let mut ack = Ack::default();
        let idle = self.config.call_idle_timeout;
        while let Some(env) = tokio::time::timeout(idle, stream.message())
            .await
            .map_err(|_| GatewayError::Idle(idle.as_millis()))?
            .map_err(stream_error)?
        {
            let (from, env) = self.accept(env).await?;
            ack.envelopes += 1;
            if self.reassemble(&mut pending, from, env)? {
                ack.messages += 1;
            }
        }
        // Partial messages are dropped with `pending`: a truncated stream never delivers.
        if let Some(key) = pending.keys().next() {
            return Err(GatewayError::Truncated { from: key.from, tag: key.tag.clone(), seq: key.seq });
        }
        Ok(ack)
    }

    /// Adds a chunk to its message; delivers the message (returns true) on its last chunk.
    fn reassemble(&self, pending: &mut HashMap<MessageKey, Partial>, from: PeerId, env: Envelope) -> Result<bool> {
        let key = MessageKey { job: env.job_id, from, tag: env.tag.clone(), seq: env.seq };
        let out_of_order =
            |expected| GatewayError::OutOfOrder { from, tag: env.tag.clone(), seq: env.seq, got: env.chunk, expected };
        let mismatch = |total| GatewayError::LengthMismatch { from, tag: env.tag.clone(), seq: env.seq, total };
        let pending_count = pending.len();
        let partial = match pending.entry(key.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                if env.chunk != 0 {
                    return Err(out_of_order(0));
                }
                let limit = self.config.max_message_bytes;
                let total = usize::try_from(env.total_len)
                    .ok()
                    .filter(|t| *t <= limit)
                    .ok_or(GatewayError::MessageTooLarge { size: env.total_len, limit })?;
                if pending_count >= self.config.max_pending_messages_per_call {
                    return Err(GatewayError::TooManyPending(self.config.max_pending_messages_per_call));
                }
                let reservation = self.budget.reserve(total)?;
                // Sized once from the signed total: no reallocation (and no
                // transient second copy) however many chunks follow.
                entry.insert(Partial {
                    buf: Vec::with_capacity(total),
                    next_chunk: 0,
                    total,
                    _reservation: reservation,
                })
            }
        };
        if env.chunk != partial.next_chunk {
            return Err(out_of_order(partial.next_chunk));
        }
        if env.payload.is_empty() && !env.last {
            // Empty middle chunks would keep a call (and its reservation) alive for free.
            return Err(GatewayError::Malformed(format!(
                "empty chunk {} of message {} from {from} is not the last",
                env.chunk, env.seq
            )));
        }
        if env.total_len != partial.total as u64 || partial.buf.len() + env.payload.len() > partial.total {
            return Err(mismatch(env.total_len));
        }
        partial.buf.extend_from_slice(&env.payload);
        partial.next_chunk = partial.next_chunk.saturating_add(1);
        if !env.last {
            return Ok(false);
        }
        let Some(done) = pending.remove(&key) else {
            return Ok(false);
        };
        if done.buf.len() != done.total {
            return Err(mismatch(env.total_len));
        }
        if self.delivered.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
            self.inbox.deliver(key.job, from, &key.tag, Delivered { bytes: done.buf, _reservation: done._reservation });
        } else {
            tracing::debug!(job = key.job, %from, tag = %key.tag, seq = key.seq, "retransmitted message acknowledged, not delivered again");
        }
        Ok(true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MessageKey {
    job: u64,
    from: PeerId,
    tag: String,
    seq: u64,
}

#[derive(Debug)]
struct Partial {
    buf: Vec<u8>,
    next_chunk: u32,
    total: usize,
    _reservation: Reservation,
}

/// The `wefe.gateway.v1.Gateway` service of one [`Gateway`].
#[derive(Debug, Clone)]
pub struct GatewayService {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl crate::proto::gateway_server::Gateway for GatewayService {
    async fn exchange(&self, request: Request<Streaming<Envelope>>) -> std::result::Result<Response<Ack>, Status> {
        let remote = request.remote_addr();
        match self.shared.exchange(request.into_inner()).await {
            Ok(ack) => Ok(Response::new(ack)),
            Err(err) => {
                tracing::warn!(?remote, code = ?err.code(), "gateway refused a call: {err}");
                Err(err.into())
            }
        }
    }

    async fn handshake(&self, request: Request<Hello>) -> std::result::Result<Response<Hello>, Status> {
        let remote = request.remote_addr();
        let shared = Arc::clone(&self.shared);
        let hello = request.into_inner();
        // Two SM2 verifications, a signature and a scalar multiplication: off the I/O threads.
        let result = tokio::task::spawn_blocking(move || shared.handshake(hello))
            .await
            .map_err(|e| Status::internal(format!("handshake failed to run: {e}")))?;
        match result {
            Ok(reply) => Ok(Response::new(reply)),
            Err(err) => {
                tracing::warn!(?remote, code = ?err.code(), "gateway refused a handshake: {err}");
                Err(err.into())
            }
        }
    }
}

pub(crate) fn peer_field(bytes: &[u8], field: &str) -> Result<PeerId> {
    let raw: [u8; 20] = bytes.try_into().map_err(|_| {
        GatewayError::Malformed(format!("{field} must be a 20-byte member address, got {} bytes", bytes.len()))
    })?;
    Ok(PeerId::from_bytes(raw))
}

/// Undecodable bytes surface from tonic as INTERNAL or OUT_OF_RANGE; they are the peer's fault.
fn stream_error(status: Status) -> GatewayError {
    match status.code() {
        Code::Internal if status.message().contains("decode") => GatewayError::Malformed(status.message().to_owned()),
        Code::OutOfRange => GatewayError::Malformed(status.message().to_owned()),
        _ => GatewayError::Stream(status),
    }
}

/// Refuses a timestamp more than `window` off this node's clock.
pub(crate) fn check_clock(from: PeerId, timestamp_ms: i64, window: Duration) -> Result<()> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let skew_ms = timestamp_ms.saturating_sub(now_ms());
    if skew_ms.unsigned_abs() > window_ms.unsigned_abs() {
        return Err(GatewayError::StaleTimestamp { from, skew_ms, window_s: window.as_secs() });
    }
    Ok(())
}

/// Milliseconds since the Unix epoch on this node's clock.
pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A starting sequence number from the OS's randomness (time as a fallback).
fn random_seq_start() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes = (nanos as u64).to_le_bytes();
    }
    u64::from_le_bytes(bytes) >> 1
}
