//! The gateway: accepts signed envelopes from peers and hands out per-job transports.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status, Streaming};
use wefe_core::PeerId;

use crate::config::{GatewayConfig, MIB};
use crate::directory::{PeerDirectory, PeerInfo};
use crate::error::{GatewayError, Result};
use crate::inbox::{Delivered, Inbox};
use crate::ledger::{Charge, Ledger, QueueStats};
use crate::proto::gateway_server::GatewayServer;
use crate::proto::{Ack, Envelope, Hello};
use crate::replay::{ReplayCache, ReplayVerdict};
use crate::session::{self, HelloCheck, Role, Session, SessionId, SessionTable};
use crate::signing::{self, MemberKey, WIRE_VERSION};
use crate::throttle::HandshakeThrottle;
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
/// // Job 42's runner talks through this; only its participants may send for it.
/// let transport = gateway.job_transport(42, [me]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

/// Why a peer failed [`Gateway::probe`]: unreachable, too slow, or not who
/// the chain says (in the peer's or the transport's own words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(pub String);

pub(crate) struct Shared {
    /// The runtime the gateway was made on: outgoing channels run their
    /// connection tasks there, whichever runtime (a job's compute pool)
    /// sends first.
    runtime: Option<tokio::runtime::Handle>,
    pub(crate) config: GatewayConfig,
    pub(crate) local: PeerId,
    pub(crate) key: MemberKey,
    pub(crate) directory: Arc<dyn PeerDirectory>,
    replay: Mutex<ReplayCache>,
    pub(crate) inbox: Inbox,
    pub(crate) ledger: Arc<Ledger>,
    throttle: HandshakeThrottle,
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

/// The most recent delivered message keys of each sender, bounded per
/// sender: one sender's flood cannot push out another's, which would let a
/// retransmission of theirs be delivered twice.
#[derive(Debug, Default)]
struct DeliveredLog {
    senders: HashMap<PeerId, SenderLog>,
}

#[derive(Debug, Default)]
struct SenderLog {
    keys: HashSet<MessageKey>,
    order: std::collections::VecDeque<MessageKey>,
}

impl DeliveredLog {
    const PER_SENDER: usize = 16_384;

    /// Records `key`; false when it was already delivered.
    fn insert(&mut self, key: MessageKey) -> bool {
        let log = self.senders.entry(key.from).or_default();
        if !log.keys.insert(key.clone()) {
            return false;
        }
        log.order.push_back(key);
        if log.order.len() > Self::PER_SENDER
            && let Some(old) = log.order.pop_front()
        {
            log.keys.remove(&old);
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
                runtime: {
                    if config.tls.is_some() {
                        install_tls_provider();
                    }
                    tokio::runtime::Handle::try_current().ok()
                },
                replay: Mutex::new(ReplayCache::new(
                    config.replay_cache_entries,
                    config.replay_cache_entries_per_sender,
                )),
                ledger: Ledger::new(&config),
                throttle: HandshakeThrottle::new(config.handshake_burst, config.handshake_interval),
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
    ///
    /// It does not admit the job: until [`job_transport`](Self::job_transport)
    /// (or [`admit_job`](Self::admit_job)) names the job's participants, any
    /// member may queue a few messages for it (`unknown_job_*` in
    /// [`GatewayConfig`]). Job runners use `job_transport`.
    pub fn transport(&self, job_id: u64) -> GatewayTransport {
        GatewayTransport::new(Arc::clone(&self.shared), job_id, None)
    }

    /// The transport of job `job_id` between `participants` (this member
    /// among them), admitting the job: from now on only they may send
    /// messages for it here (others are refused with `PERMISSION_DENIED`),
    /// without the unknown-job limits, and `send`/`recv` with anyone else
    /// fail with `UnknownPeer`. Messages others queued for the job before
    /// are dropped. Once [`forget_job`](Self::forget_job) ended the job, its
    /// `recv` fails with `Closed` and peers' messages for it are refused.
    pub fn job_transport(&self, job_id: u64, participants: impl IntoIterator<Item = PeerId>) -> GatewayTransport {
        let parties: HashSet<PeerId> = participants.into_iter().collect();
        self.admit_job(job_id, parties.iter().copied());
        GatewayTransport::new(Arc::clone(&self.shared), job_id, Some(parties))
    }

    /// The same as [`job_transport`](Self::job_transport).
    pub fn transport_for_parties(&self, job_id: u64, parties: impl IntoIterator<Item = PeerId>) -> GatewayTransport {
        self.job_transport(job_id, parties)
    }

    /// Admits job `job_id` with its `participants` (see
    /// [`job_transport`](Self::job_transport)); false when the job already
    /// ended here. Admitting again replaces the participants.
    pub fn admit_job(&self, job_id: u64, participants: impl IntoIterator<Item = PeerId>) -> bool {
        let parties: Arc<HashSet<PeerId>> = Arc::new(participants.into_iter().collect());
        if !self.shared.ledger.admit(job_id, Arc::clone(&parties)) {
            return false;
        }
        self.shared.inbox.drop_queued(job_id, |from| !parties.contains(from));
        true
    }

    /// What the gateway holds in its receive queues now.
    pub fn queue_stats(&self) -> QueueStats {
        let (bytes, messages) = self.shared.ledger.usage();
        QueueStats { bytes, messages, mailboxes: self.shared.inbox.mailboxes() }
    }

    /// Sessions peers currently hold with this gateway.
    pub fn sessions_held(&self) -> usize {
        self.shared.sessions.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Sessions this gateway holds with peers for sending (one per peer at most).
    pub fn sessions_opened(&self) -> usize {
        self.shared.outgoing.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Checks that `to`'s gateway answers and proves it holds the key the
    /// chain registered for it: one handshake at the endpoint the directory
    /// names, returning its round trip. The new session replaces this
    /// gateway's session with `to` (the peer keeps its last few, so a send
    /// under the previous one still lands), so probing adds no session the
    /// peer has to hold beyond what sends would.
    pub async fn probe(&self, to: PeerId) -> std::result::Result<Duration, ProbeError> {
        let info = self.shared.directory.peer(&to).ok_or_else(|| ProbeError(format!("{to} is not a member")))?;
        if !info.active {
            return Err(ProbeError(format!("{to} is not an active member")));
        }
        let gate = {
            let mut handshaking = self.shared.handshaking.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(handshaking.entry(to).or_default())
        };
        let _one_at_a_time = gate.lock().await;
        let started = std::time::Instant::now();
        let session = crate::transport::open_session(&self.shared, &info.endpoint, to)
            .await
            .map_err(|status| ProbeError(format!("{} ({:?})", status.message(), status.code())))?;
        let round_trip = started.elapsed();
        self.shared.outgoing.lock().unwrap_or_else(|p| p.into_inner()).insert(to, Arc::new(session));
        Ok(round_trip)
    }

    /// Ends a job here: drops its queued messages and frees what they held,
    /// a `recv` still waiting on it fails with `Closed`, and messages peers
    /// send for it from now on are refused (`PERMISSION_DENIED`), not stored.
    pub fn forget_job(&self, job_id: u64) {
        self.shared.ledger.end(job_id);
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
        let mut builder = Server::builder();
        if let Some(tls) = &self.shared.config.tls {
            builder = builder.tls_config(
                tonic::transport::ServerTlsConfig::new()
                    .identity(tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem))
                    .client_ca_root(tonic::transport::Certificate::from_pem(&tls.ca_pem)),
            )?;
        }
        builder
            // Dead or silent connections are found and closed.
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .tcp_keepalive(Some(Duration::from_secs(60)))
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_concurrent_streams(self.shared.config.max_concurrent_calls)
            .serve_with_incoming_shutdown(
                self.service(),
                crate::incoming::Incoming::new(
                    listener,
                    self.shared.config.max_connections,
                    self.shared.config.max_connections_per_address,
                ),
                shutdown,
            )
            .await
    }
}

/// Makes ring the process's rustls provider (once; a provider installed
/// before is kept): rustls picks none by itself when more than one is
/// compiled in.
fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Shared {
    /// A (lazily connecting, cached) channel to a peer's gateway.
    pub(crate) fn channel(&self, endpoint: &str) -> std::result::Result<Channel, Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let _on_the_gateways_runtime = self.runtime.as_ref().map(tokio::runtime::Handle::enter);
        let mut target = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| Status::invalid_argument(format!("bad gateway endpoint {endpoint:?}: {e}")))?;
        match (&self.config.tls, endpoint.starts_with("https://")) {
            (Some(tls), true) => {
                let client = tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca_pem))
                    .identity(tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem));
                target = target
                    .tls_config(client)
                    .map_err(|e| Status::failed_precondition(format!("TLS to {endpoint}: {e}")))?;
            }
            (Some(_), false) => {
                return Err(Status::failed_precondition(format!(
                    "this gateway talks TLS only, and the peer's endpoint {endpoint} is not https://"
                )));
            }
            (None, true) => {
                return Err(Status::failed_precondition(format!(
                    "the peer's endpoint {endpoint} is https://: configure this gateway's TLS (gateway_tls_*)"
                )));
            }
            (None, false) => {}
        }
        // Every connection goes to an address the peer_networks rule checked;
        // the connector keeps the connect timeout itself (shared by the addresses it tries).
        let (networks, timeout) = (self.config.peer_networks.clone(), self.config.connect_timeout);
        let connector = tower::service_fn(move |uri| crate::dial::connect(uri, networks.clone(), timeout));
        let channel = target
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .connect_with_connector_lazy(connector);
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
        // Cheap refusals before the signature: time, a nonce already seen, a
        // job that ended or that the sender takes no part in.
        check_clock(from, env.timestamp_ms, self.config.clock_window)?;
        if self.replay.lock().unwrap_or_else(|p| p.into_inner()).seen(from.to_bytes(), nonce, now_ms()) {
            return Err(GatewayError::Replay { from, nonce: hex::encode(nonce) });
        }
        self.ledger.check_job(from, env.job_id)?;
        let key = signing::verifying_key(&info.public_key).map_err(|_| GatewayError::BadRegisteredKey(from))?;
        let cert = session.peer_certificate.clone();
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
        // A revocation (or dismissal of the issuer) read from the chain since
        // the handshake cuts the session here, at its next envelope.
        if let Some(cert) = &cert {
            session::recheck_certificate(self.directory.as_ref(), from, cert)?;
        }
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
            ReplayVerdict::SenderFull => {
                Err(GatewayError::ReplayShareFull { from, limit: self.config.replay_cache_entries_per_sender })
            }
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

    /// The cheap checks of a peer's `Hello`, on the I/O thread: shape,
    /// membership, time, the member's handshake rate from `addr`, a nonce
    /// already seen.
    fn precheck_hello(&self, hello: &Hello, addr: Option<std::net::IpAddr>) -> Result<(PeerId, [u8; 16], PeerInfo)> {
        let (from, nonce, info) = self.hello_check().precheck(hello)?;
        if !self.throttle.allow(from, addr) {
            return Err(GatewayError::HandshakeRateLimited {
                from,
                burst: self.config.handshake_burst,
                interval_ms: self.config.handshake_interval.as_millis(),
            });
        }
        if self.replay.lock().unwrap_or_else(|p| p.into_inner()).seen(from.to_bytes(), nonce, now_ms()) {
            return Err(GatewayError::Replay { from, nonce: hex::encode(nonce) });
        }
        Ok((from, nonce, info))
    }

    /// Answers a peer's `Hello` that passed [`precheck_hello`](Self::precheck_hello):
    /// the costly checks, then a session, and ours.
    fn handshake(&self, hello: Hello, from: PeerId, nonce: [u8; 16], info: PeerInfo) -> Result<Hello> {
        let checked = self.hello_check().verify(&hello, Role::Caller, None, from, nonce, &info)?;
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
                if self.ledger.is_ended(env.job_id) {
                    return Err(GatewayError::JobEnded(env.job_id));
                }
                let charge = self.ledger.begin(from, env.job_id, env.tag.len(), total)?;
                if charge.is_early() {
                    for job in self.ledger.expired_unknown_jobs() {
                        tracing::debug!(job, "dropping messages of a job never started here");
                        self.inbox.drop_queued(job, |_| true);
                    }
                }
                // Nothing is allocated or charged for the announced total:
                // only for bytes that arrive.
                entry.insert(Partial { buf: Vec::new(), next_chunk: 0, total, charge })
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
        let needed = partial.buf.len() + env.payload.len();
        if needed > partial.buf.capacity() {
            // Doubling, capped at the announced total: few reallocations (a
            // large buffer's are page remaps, not copies), and never more
            // room than twice what arrived. The room is charged as it is
            // allocated (what the buffer really holds), never the total the
            // message announces.
            let room = needed.max(partial.buf.capacity().saturating_mul(2)).min(partial.total).max(needed);
            partial.charge.grow(room - partial.buf.capacity())?;
            partial.buf.reserve_exact(room - partial.buf.len());
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
            let ledger = &self.ledger;
            let refusal = || ledger.is_ended(key.job).then_some(GatewayError::JobEnded(key.job));
            self.inbox.deliver(
                key.job,
                from,
                &key.tag,
                Delivered { bytes: done.buf, _charge: done.charge },
                refusal,
            )?;
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
    charge: Charge,
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
        let result = match shared.precheck_hello(&hello, remote.map(|a| a.ip())) {
            // Two SM2 verifications, a signature and a scalar multiplication: off the I/O threads.
            Ok((from, nonce, info)) => tokio::task::spawn_blocking(move || shared.handshake(hello, from, nonce, info))
                .await
                .map_err(|e| Status::internal(format!("handshake failed to run: {e}")))?,
            Err(err) => Err(err),
        };
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
