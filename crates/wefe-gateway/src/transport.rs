//! [`wefe_core::Transport`] over the gateway: one value per job.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use wefe_core::transport::check_tag;
use wefe_core::{PeerId, Transport, TransportError};

use crate::gateway::{Shared, now_ms};
use crate::proto::gateway_client::GatewayClient;
use crate::proto::{Ack, Envelope};
use crate::session::{self, Role, Session};
use crate::signing::WIRE_VERSION;

/// Envelopes signed ahead of the network: bounds the sender's memory to the
/// payload (shared, never copied per chunk) plus this many chunks in flight.
const SIGNED_AHEAD: usize = 2;

/// The transport of one job through a [`Gateway`](crate::Gateway).
///
/// `send` splits the payload into chunks of
/// [`GatewayConfig::send_chunk_bytes`](crate::GatewayConfig::send_chunk_bytes),
/// signs each and streams them to the peer's endpoint from the
/// [`PeerDirectory`](crate::PeerDirectory) in one `Exchange` call, retrying
/// with exponential backoff while the peer is unreachable. `recv` waits for
/// a complete message that the peer sent for this job under the tag.
#[derive(Debug, Clone)]
pub struct GatewayTransport {
    shared: Arc<Shared>,
    job_id: u64,
    parties: Option<Arc<HashSet<PeerId>>>,
    /// The gateway's `recv_timeout` unless [`without_recv_timeout`](Self::without_recv_timeout).
    recv_timeout: Option<Duration>,
}

impl GatewayTransport {
    pub(crate) fn new(shared: Arc<Shared>, job_id: u64, parties: Option<HashSet<PeerId>>) -> Self {
        let recv_timeout = shared.config.recv_timeout;
        Self { shared, job_id, parties: parties.map(Arc::new), recv_timeout }
    }

    /// This transport's `recv` waits as long as it takes: for a channel that
    /// is idle by nature (online serving waits for the next request).
    pub fn without_recv_timeout(mut self) -> Self {
        self.recv_timeout = None;
        self
    }

    /// The chain job this transport carries.
    pub fn job_id(&self) -> u64 {
        self.job_id
    }

    fn check_party(&self, peer: &PeerId) -> Result<(), TransportError> {
        match &self.parties {
            Some(parties) if !parties.contains(peer) => Err(TransportError::UnknownPeer(*peer)),
            _ => Ok(()),
        }
    }

    /// The session this gateway uses to send to `to`, opening one when
    /// there is none (or it is older than the session lifetime).
    async fn session(&self, endpoint: &str, to: PeerId) -> Result<Arc<Session>, Status> {
        let lifetime = self.shared.config.session_lifetime;
        // Renewed a little before the callee forgets it.
        let fresh = || {
            let outgoing = self.shared.outgoing.lock().unwrap_or_else(|p| p.into_inner());
            outgoing.get(&to).filter(|s| s.opened.elapsed() < lifetime.mul_f64(0.9)).cloned()
        };
        if let Some(session) = fresh() {
            return Ok(session);
        }
        let gate = {
            let mut handshaking = self.shared.handshaking.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(handshaking.entry(to).or_default())
        };
        let _one_at_a_time = gate.lock().await;
        // Another send may have opened one while this one waited.
        if let Some(session) = fresh() {
            return Ok(session);
        }
        let session = open_session(&self.shared, endpoint, to).await?;
        let session = Arc::new(session);
        self.shared.outgoing.lock().unwrap_or_else(|p| p.into_inner()).insert(to, Arc::clone(&session));
        Ok(session)
    }

    /// Forgets the session with `to` (the peer no longer holds it).
    fn drop_session(&self, to: &PeerId, id: &session::SessionId) {
        let mut outgoing = self.shared.outgoing.lock().unwrap_or_else(|p| p.into_inner());
        if outgoing.get(to).is_some_and(|s| &s.id == id) {
            outgoing.remove(to);
        }
    }

    /// One `Exchange` call carrying the whole message.
    async fn send_once(&self, endpoint: &str, to: PeerId, tag: &str, seq: u64, payload: Bytes) -> Result<Ack, Status> {
        let payload_len = payload.len();
        let mut session = self.session(endpoint, to).await?;
        // The peer's certificate is re-checked before every message too. When
        // it no longer passes, the peer may hold a renewed one: a fresh
        // handshake decides.
        if let Some(cert) = &session.peer_certificate
            && session::recheck_certificate(self.shared.directory.as_ref(), to, cert).is_err()
        {
            self.drop_session(&to, &session.id);
            session = self.session(endpoint, to).await?;
            if let Some(cert) = &session.peer_certificate {
                session::recheck_certificate(self.shared.directory.as_ref(), to, cert).map_err(Status::from)?;
            }
        }
        let channel = self.shared.channel(endpoint)?;
        let mut client = GatewayClient::new(channel);
        let (tx, rx) = mpsc::channel(SIGNED_AHEAD);
        let chunks = Chunker {
            shared: Arc::clone(&self.shared),
            job_id: self.job_id,
            to,
            tag: tag.to_owned(),
            seq,
            payload,
            session: Arc::clone(&session),
        };
        // Signing hashes every byte: run it on the blocking pool, feeding the call.
        let producer = tokio::task::spawn_blocking(move || chunks.run(&tx));
        // A peer that accepts the stream and never reads it (or never
        // acknowledges) must not hold this job, or every job with that peer,
        // until the job's time limit.
        let deadline = self.shared.config.recv_timeout.unwrap_or(Duration::from_secs(600))
            + Duration::from_secs((payload_len / crate::MIB) as u64);
        let exchanged =
            tokio::time::timeout(deadline, client.exchange(ReceiverStream::new(rx))).await.unwrap_or_else(|_| {
                Err(Status::deadline_exceeded(format!("{to} did not take the message in {deadline:?}")))
            });
        let ack = match exchanged {
            Ok(ack) => ack.into_inner(),
            Err(status) => {
                if status.code() == Code::FailedPrecondition {
                    self.drop_session(&to, &session.id);
                }
                return Err(status);
            }
        };
        match producer.await {
            Ok(Ok(())) if ack.messages == 1 => Ok(ack),
            Ok(Ok(())) => Err(Status::internal(format!("peer acknowledged {} messages instead of 1", ack.messages))),
            Ok(Err(e)) => Err(Status::internal(format!("signing failed: {e}"))),
            Err(e) => Err(Status::internal(format!("signing task failed: {e}"))),
        }
    }
}

struct Chunker {
    shared: Arc<Shared>,
    job_id: u64,
    to: PeerId,
    tag: String,
    seq: u64,
    payload: Bytes,
    session: Arc<Session>,
}

impl Chunker {
    fn run(self, tx: &mpsc::Sender<Envelope>) -> crate::Result<()> {
        let size = self.shared.config.send_chunk_bytes;
        let len = self.payload.len();
        let count = len.div_ceil(size).max(1);
        for index in 0..count {
            let start = index * size;
            let end = len.min(start + size);
            let mut nonce = vec![0u8; 16];
            getrandom::fill(&mut nonce)
                .map_err(|e| crate::GatewayError::PrivateKey(format!("no randomness for a nonce: {e}")))?;
            let mut env = Envelope {
                version: WIRE_VERSION,
                job_id: self.job_id,
                from: self.shared.local.to_bytes().to_vec(),
                to: self.to.to_bytes().to_vec(),
                tag: self.tag.clone(),
                seq: self.seq,
                chunk: u32::try_from(index).unwrap_or(u32::MAX),
                last: index + 1 == count,
                nonce,
                timestamp_ms: now_ms(),
                payload: Bytes::new(),
                signature: Vec::new(),
                total_len: len as u64,
                session: Vec::new(),
            };
            session::seal_envelope(&mut env, &self.session.id, &self.session.cipher, &self.payload[start..end])?;
            self.shared.key.sign(&mut env)?;
            if tx.blocking_send(env).is_err() {
                // The call ended (refused or broken); its status says why.
                return Ok(());
            }
        }
        Ok(())
    }
}

fn link_error(to: &PeerId, endpoint: &str, tag: &str, status: &Status) -> TransportError {
    // The connector's reason sits in the status's sources ("transport error" alone says nothing).
    let mut why = status.message().to_owned();
    for cause in crate::dial::causes(status) {
        let more = cause.to_string();
        if !why.contains(&more) {
            why = format!("{why}: {more}");
        }
    }
    TransportError::Link(format!("sending '{tag}' to {to} at {endpoint}: {:?}: {why}", status.code()))
}

impl Transport for GatewayTransport {
    fn local_peer(&self) -> PeerId {
        self.shared.local
    }

    fn max_message_bytes(&self) -> usize {
        self.shared.config.max_message_bytes
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), TransportError> {
        check_tag(tag)?;
        self.check_party(to)?;
        let max = self.max_message_bytes();
        if payload.len() > max {
            return Err(TransportError::TooLarge { size: payload.len(), max });
        }
        let config = &self.shared.config;
        let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
        let payload = Bytes::from(payload);
        let mut backoff = config.initial_backoff;
        let mut attempt = 1;
        let mut busy_since: Option<std::time::Instant> = None;
        loop {
            // Asked on every attempt: the peer may have moved or been suspended meanwhile.
            let peer = self.shared.directory.peer(to).filter(|p| p.active).ok_or(TransportError::UnknownPeer(*to))?;
            match self.send_once(&peer.endpoint, *to, tag, seq, payload.clone()).await {
                Ok(_) => return Ok(()),
                // UNAVAILABLE is what tonic reports when it cannot connect or the
                // connection breaks; anything else is the peer's verdict.
                // The peer forgot our session (restart, expiry): open a new one at once.
                Err(status) if status.code() == Code::FailedPrecondition && attempt < config.send_attempts => {
                    tracing::debug!(%to, attempt, "gateway peer asked for a new session: {}", status.message());
                    attempt += 1;
                }
                // The peer's queues are full, or it has not started the job
                // yet: wait and resend, for a bounded time.
                Err(status)
                    if status.code() == Code::ResourceExhausted
                        && busy_since.get_or_insert_with(std::time::Instant::now).elapsed()
                            < config.busy_retry_window =>
                {
                    tracing::debug!(%to, ?backoff, "gateway peer busy, retrying: {}", status.message());
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(config.max_backoff);
                }
                // The peer_networks rule refused the endpoint: trying again changes nothing.
                Err(status) if crate::dial::refused_by_rule(&status) => {
                    return Err(link_error(to, &peer.endpoint, tag, &status));
                }
                Err(status) if status.code() == Code::Unavailable && attempt < config.send_attempts => {
                    tracing::debug!(%to, attempt, ?backoff, "gateway peer unreachable, retrying: {}", status.message());
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(config.max_backoff);
                    attempt += 1;
                }
                Err(status) => return Err(link_error(to, &peer.endpoint, tag, &status)),
            }
        }
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        check_tag(tag)?;
        self.check_party(from)?;
        let ledger = &self.shared.ledger;
        let job = self.job_id;
        let next = self.shared.inbox.recv(job, *from, tag, || ledger.is_ended(job));
        let next = match self.recv_timeout {
            Some(limit) => tokio::time::timeout(limit, next)
                .await
                .map_err(|_| TransportError::Link(format!("no message '{tag}' from {from} within {}", secs(limit))))?,
            None => next.await,
        };
        next.map(|message| message.bytes).ok_or(TransportError::Closed(*from))
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A handshake with `to`'s gateway at `endpoint`: an authenticated session
/// (the peer proved it holds its registered key), not yet cached.
pub(crate) async fn open_session(shared: &Arc<Shared>, endpoint: &str, to: PeerId) -> Result<Session, Status> {
    let signer = Arc::clone(shared);
    let (hello, ephemeral) = tokio::task::spawn_blocking(move || {
        session::new_hello(&signer.key, signer.local, to, signer.config.certificate.as_deref(), Role::Caller, None)
    })
    .await
    .map_err(|e| Status::internal(format!("handshake failed to run: {e}")))?
    .map_err(Status::from)?;
    let mut client = GatewayClient::new(shared.channel(endpoint)?);
    let reply = tokio::time::timeout(shared.config.connect_timeout * 4, client.handshake(hello.clone()))
        .await
        .map_err(|_| Status::deadline_exceeded(format!("{to}'s gateway did not answer the handshake in time")))??
        .into_inner();
    let checker = Arc::clone(shared);
    tokio::task::spawn_blocking(move || -> crate::Result<Session> {
        let digest = session::hello_digest(&hello, Role::Caller, None);
        let (from, checked) = checker.hello_check().check(&reply, Role::Callee, Some(&digest))?;
        if from != to {
            return Err(crate::GatewayError::Malformed(format!("{to}'s gateway answered as {from}")));
        }
        let (id, cipher) = session::derive(&ephemeral, &checked.ephemeral, &hello, &reply, &digest)?;
        Ok(Session { id, peer: to, cipher, peer_certificate: checked.certificate, opened: std::time::Instant::now() })
    })
    .await
    .map_err(|e| Status::internal(format!("handshake failed to run: {e}")))?
    // The peer's answer was refused: say so in its own words.
    .map_err(|e| Status::new(e.code(), format!("refused {to}'s handshake: {e}")))
}
