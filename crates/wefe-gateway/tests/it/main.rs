//! Two (or more) gateways on 127.0.0.1 exchanging signed envelopes over real TCP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Status};
use wefe_core::{PeerId, Transport, TransportError};
use wefe_crypto::sm::{Sm2PublicKey, Sm4Gcm};
use wefe_gateway::proto::gateway_client::GatewayClient;
use wefe_gateway::proto::{Ack, Envelope};
use wefe_gateway::session::{self, Role, SessionId};
use wefe_gateway::signing::{self, WIRE_VERSION};
use wefe_gateway::{Gateway, GatewayConfig, MIB, MemberKey, PeerInfo, StaticPeerDirectory};

const ALICE: PeerId = PeerId::from_bytes([0xa1; 20]);
const BOB: PeerId = PeerId::from_bytes([0xb0; 20]);
const CAROL: PeerId = PeerId::from_bytes([0xca; 20]);
const JOB: u64 = 7;

/// One member's running gateway.
struct Node {
    id: PeerId,
    key: MemberKey,
    gateway: Gateway,
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Node {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn start_on(
    listener: TcpListener,
    directory: &Arc<StaticPeerDirectory>,
    id: PeerId,
    key: MemberKey,
    config: GatewayConfig,
) -> Node {
    let addr = listener.local_addr().unwrap();
    directory.insert(id, PeerInfo { active: true, public_key: key.public_key(), endpoint: format!("http://{addr}") });
    let gateway = Gateway::new(id, key.clone(), directory.clone(), config);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = gateway.clone();
    tokio::spawn(async move {
        server
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Node { id, key, gateway, addr, _stop: stop }
}

async fn start(directory: &Arc<StaticPeerDirectory>, id: PeerId, config: GatewayConfig) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(listener, directory, id, MemberKey::generate().unwrap(), config).await
}

/// Alice and Bob, both active members.
async fn pair() -> (Arc<StaticPeerDirectory>, Node, Node) {
    let directory = Arc::new(StaticPeerDirectory::new());
    let alice = start(&directory, ALICE, GatewayConfig::default()).await;
    let bob = start(&directory, BOB, GatewayConfig::default()).await;
    (directory, alice, bob)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn nonce() -> Vec<u8> {
    rand::random::<[u8; 16]>().to_vec()
}

/// A session a raw client opened with a gateway.
struct Sess {
    id: SessionId,
    cipher: Sm4Gcm,
}

/// Opens a session with `to` as member `from` (key `key`), by a raw handshake.
async fn sess(to: &Node, key: &MemberKey, from: PeerId) -> Sess {
    let (hello, ephemeral) = session::new_hello(key, from, to.id, None, Role::Caller, None).unwrap();
    let mut client = GatewayClient::connect(to.url()).await.unwrap();
    let reply = client.handshake(hello.clone()).await.unwrap().into_inner();
    let digest = session::hello_digest(&hello, Role::Caller, None);
    let peer = Sm2PublicKey::from_xy(&reply.ephemeral).unwrap();
    let (id, cipher) = session::derive(&ephemeral, &peer, &hello, &reply, &digest).unwrap();
    Sess { id, cipher }
}

/// Re-encrypts `plaintext` under a fresh nonce and re-signs.
fn reseal(s: &Sess, key: &MemberKey, env: &mut Envelope, plaintext: &[u8]) {
    env.nonce = nonce();
    session::seal_envelope(env, &s.id, &s.cipher, plaintext).unwrap();
    key.sign(env).unwrap();
}

/// A single-chunk message from `from` to `to` in session `s`, signed by `key`.
fn envelope(s: &Sess, key: &MemberKey, from: PeerId, to: PeerId, tag: &str, payload: &'static [u8]) -> Envelope {
    let mut env = Envelope {
        version: WIRE_VERSION,
        job_id: JOB,
        from: from.to_bytes().to_vec(),
        to: to.to_bytes().to_vec(),
        tag: tag.into(),
        seq: rand::random(),
        chunk: 0,
        last: true,
        nonce: nonce(),
        timestamp_ms: now_ms(),
        payload: Bytes::new(),
        signature: Vec::new(),
        total_len: payload.len() as u64,
        session: Vec::new(),
    };
    session::seal_envelope(&mut env, &s.id, &s.cipher, payload).unwrap();
    key.sign(&mut env).unwrap();
    env
}

/// One raw `Exchange` call carrying `envelopes`, as a misbehaving peer would make it.
async fn raw_call(node: &Node, envelopes: Vec<Envelope>) -> Result<Ack, Status> {
    let mut client = GatewayClient::connect(node.url()).await.unwrap().max_encoding_message_size(64 * MIB);
    client.exchange(tokio_stream::iter(envelopes)).await.map(|r| r.into_inner())
}

fn assert_refused(result: Result<Ack, Status>, code: Code, message_part: &str) {
    let status = result.expect_err("the gateway accepted what it should refuse");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(message_part), "status message {:?} lacks {message_part:?}", status.message());
}

/// After a refusal the server still serves: a proper message still arrives.
async fn assert_still_serving(alice: &Node, bob: &Node) {
    let tag = format!("still/{}", rand::random::<u32>());
    alice.gateway.transport(JOB).send(&bob.id, &tag, b"ok".to_vec()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), bob.gateway.transport(JOB).recv(&alice.id, &tag))
        .await
        .expect("valid message not delivered after a refusal")
        .unwrap();
    assert_eq!(got, b"ok");
}

/// Nothing arrives for `tag` within a short wait.
async fn assert_nothing_delivered(bob: &Node, from: PeerId, tag: &str) {
    let waited = tokio::time::timeout(Duration::from_millis(300), bob.gateway.transport(JOB).recv(&from, tag)).await;
    assert!(waited.is_err(), "a refused message was delivered: {waited:?}");
}

#[tokio::test]
async fn two_gateways_exchange_messages_in_both_directions() {
    let (_dir, alice, bob) = pair().await;
    let (ta, tb) = (alice.gateway.transport(JOB), bob.gateway.transport(JOB));
    assert_eq!(ta.local_peer(), ALICE);

    ta.send(&BOB, "psi/m1", b"from alice 1".to_vec()).await.unwrap();
    ta.send(&BOB, "psi/m1", b"from alice 2".to_vec()).await.unwrap();
    ta.send(&BOB, "psi/other", Vec::new()).await.unwrap();
    tb.send(&ALICE, "psi/m2", b"from bob".to_vec()).await.unwrap();

    // Tags are independent queues; one sender's messages on one tag keep their order.
    assert_eq!(tb.recv(&ALICE, "psi/other").await.unwrap(), b"");
    assert_eq!(tb.recv(&ALICE, "psi/m1").await.unwrap(), b"from alice 1");
    assert_eq!(tb.recv(&ALICE, "psi/m1").await.unwrap(), b"from alice 2");
    assert_eq!(ta.recv(&BOB, "psi/m2").await.unwrap(), b"from bob");

    // A reply exchanged while the receiver is already waiting.
    let waiting = tokio::spawn({
        let ta = ta.clone();
        async move { ta.recv(&BOB, "psi/m3").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tb.send(&ALICE, "psi/m3", vec![3; 10_000]).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), vec![3; 10_000]);

    // Multi-chunk messages (1 MiB chunks by default) arrive whole.
    let big: Vec<u8> = (0..3 * MIB + 17).map(|i| (i % 251) as u8).collect();
    ta.send(&BOB, "psi/big", big.clone()).await.unwrap();
    assert_eq!(tb.recv(&ALICE, "psi/big").await.unwrap(), big);
}

#[tokio::test]
async fn messages_for_other_jobs_wait_for_their_own_transport() {
    let (_dir, alice, bob) = pair().await;
    alice.gateway.transport(8).send(&BOB, "t", b"job 8".to_vec()).await.unwrap();
    alice.gateway.transport(JOB).send(&BOB, "t", b"job 7".to_vec()).await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "t").await.unwrap(), b"job 7");
    assert_nothing_delivered(&bob, ALICE, "t").await;
    assert_eq!(bob.gateway.transport(8).recv(&ALICE, "t").await.unwrap(), b"job 8");

    // A finished job's queue is dropped; a waiting recv learns the link closed.
    let waiting = tokio::spawn({
        let t = bob.gateway.transport(9);
        async move { t.recv(&ALICE, "t").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    bob.gateway.forget_job(9);
    assert_eq!(waiting.await.unwrap(), Err(TransportError::Closed(ALICE)));
}

#[tokio::test]
async fn transports_check_tags_sizes_and_parties_before_sending() {
    let (dir, alice, _bob) = pair().await;
    let t = alice.gateway.transport_for_parties(JOB, [ALICE, BOB]);
    assert!(matches!(t.send(&BOB, "has space", vec![]).await, Err(TransportError::BadTag(_))));
    assert_eq!(t.send(&CAROL, "t", vec![]).await, Err(TransportError::UnknownPeer(CAROL)));
    assert_eq!(t.recv(&CAROL, "t").await, Err(TransportError::UnknownPeer(CAROL)));
    // Not in the directory at all, or suspended: nothing is sent.
    let open = alice.gateway.transport(JOB);
    assert_eq!(open.send(&CAROL, "t", vec![]).await, Err(TransportError::UnknownPeer(CAROL)));
    dir.set_active(&BOB, false);
    assert_eq!(open.send(&BOB, "t", vec![]).await, Err(TransportError::UnknownPeer(BOB)));

    let small = Gateway::new(
        ALICE,
        alice.key.clone(),
        dir.clone(),
        GatewayConfig { max_message_bytes: 10, ..Default::default() },
    );
    assert_eq!(
        small.transport(JOB).send(&BOB, "t", vec![0; 11]).await,
        Err(TransportError::TooLarge { size: 11, max: 10 })
    );
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_payload_round_trips_without_extra_copies() {
    const SIZE: usize = 256 * MIB;
    let (_dir, alice, bob) = pair().await;
    let mut payload = vec![0u8; SIZE];
    rand::Rng::fill(&mut rand::thread_rng(), payload.as_mut_slice());
    let sent_hash = Sha256::digest(&payload);

    let started = Instant::now();
    let receiver = tokio::spawn({
        let t = bob.gateway.job_transport(JOB, [ALICE, BOB]);
        async move { t.recv(&ALICE, "big").await }
    });
    alice.gateway.transport(JOB).send(&BOB, "big", payload).await.unwrap();
    let received = receiver.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(received.len(), SIZE);
    assert_eq!(Sha256::digest(&received), sent_hash);

    // Sender's payload and receiver's buffer may coexist (2 × SIZE); per-chunk
    // copies or a reallocating receive buffer would add hundreds of MiB more.
    if let Some(peak) = peak_rss_bytes() {
        eprintln!("256 MiB round trip: {elapsed:.2?}, peak RSS {} MiB", peak / MIB);
        assert!(peak < 2 * SIZE + 128 * MIB, "peak RSS {} MiB", peak / MIB);
    }
}

#[tokio::test]
async fn unsigned_and_wrongly_signed_envelopes_are_refused() {
    let (_dir, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let mut unsigned = envelope(&s, &alice.key, ALICE, BOB, "t", b"x");
    unsigned.signature.clear();
    assert_refused(
        raw_call(&bob, vec![unsigned]).await,
        Code::Unauthenticated,
        &format!("unsigned envelope from {ALICE}"),
    );

    let impostor = MemberKey::generate().unwrap();
    let forged = envelope(&s, &impostor, ALICE, BOB, "t", b"x");
    assert_refused(raw_call(&bob, vec![forged]).await, Code::Unauthenticated, &format!("bad signature from {ALICE}"));

    let mut tampered = envelope(&s, &alice.key, ALICE, BOB, "t", b"x");
    tampered.payload = Bytes::from_static(b"y");
    assert_refused(raw_call(&bob, vec![tampered]).await, Code::Unauthenticated, "bad signature");

    let mut garbled = envelope(&s, &alice.key, ALICE, BOB, "t", b"x");
    garbled.signature = vec![0xff; 64];
    assert_refused(raw_call(&bob, vec![garbled]).await, Code::Unauthenticated, "bad signature");

    assert_nothing_delivered(&bob, ALICE, "t").await;
    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn non_members_and_suspended_members_are_refused() {
    let (dir, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let carol_key = MemberKey::generate().unwrap();
    let stranger = envelope(&s, &carol_key, CAROL, BOB, "t", b"x");
    assert_refused(
        raw_call(&bob, vec![stranger]).await,
        Code::PermissionDenied,
        &format!("sender {CAROL} is not a member"),
    );

    dir.set_active(&ALICE, false);
    let suspended = envelope(&s, &alice.key, ALICE, BOB, "t", b"x");
    assert_refused(
        raw_call(&bob, vec![suspended]).await,
        Code::PermissionDenied,
        &format!("sender {ALICE} is not an active member"),
    );
    // Through the transport, too: the refusal reaches the sender as a link error.
    dir.insert(BOB, PeerInfo { active: true, public_key: bob.key.public_key(), endpoint: bob.url() });
    let err = alice.gateway.transport(JOB).send(&BOB, "t", b"x".to_vec()).await.unwrap_err();
    assert!(
        matches!(&err, TransportError::Link(m) if m.contains("PermissionDenied") && m.contains("not an active member")),
        "{err}"
    );

    assert_nothing_delivered(&bob, ALICE, "t").await;
    dir.set_active(&ALICE, true);
    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn replayed_nonces_and_stale_timestamps_are_refused() {
    let (_dir, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let env = envelope(&s, &alice.key, ALICE, BOB, "once", b"x");
    assert_eq!(raw_call(&bob, vec![env.clone()]).await.unwrap(), Ack { envelopes: 1, messages: 1 });
    let replayed = format!("replayed nonce {} from {ALICE}", hex::encode(&env.nonce));
    assert_refused(raw_call(&bob, vec![env]).await, Code::AlreadyExists, &replayed);
    // Delivered exactly once.
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "once").await.unwrap(), b"x");
    assert_nothing_delivered(&bob, ALICE, "once").await;

    for skew_ms in [-120_000, 120_000] {
        let mut old = envelope(&s, &alice.key, ALICE, BOB, "late", b"x");
        old.timestamp_ms += skew_ms;
        alice.key.sign(&mut old).unwrap();
        assert_refused(
            raw_call(&bob, vec![old]).await,
            Code::Unauthenticated,
            "off this gateway's clock (window ±60 s)",
        );
    }
    assert_nothing_delivered(&bob, ALICE, "late").await;
    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn oversized_chunks_and_messages_are_refused() {
    let (_dir, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let mut big = envelope(&s, &alice.key, ALICE, BOB, "big", b"");
    // A sealed chunk carries a 16-byte tag on top of the limit.
    big.payload = Bytes::from(vec![1u8; 4 * MIB + 1 + 16]);
    big.total_len = 4 * MIB as u64 + 1;
    alice.key.sign(&mut big).unwrap();
    assert_refused(
        raw_call(&bob, vec![big]).await,
        Code::InvalidArgument,
        "chunk of 4194305 bytes exceeds the 4 MiB limit",
    );

    // Far beyond the chunk limit the decoder refuses before anything is parsed.
    let mut huge = envelope(&s, &alice.key, ALICE, BOB, "big", b"");
    huge.payload = Bytes::from(vec![1u8; 12 * MIB]);
    alice.key.sign(&mut huge).unwrap();
    assert_refused(raw_call(&bob, vec![huge]).await, Code::InvalidArgument, "malformed envelope");

    let mut announced = envelope(&s, &alice.key, ALICE, BOB, "big", b"x");
    announced.total_len = 2048 * MIB as u64;
    alice.key.sign(&mut announced).unwrap();
    assert_refused(raw_call(&bob, vec![announced]).await, Code::InvalidArgument, "exceeds the 1024 MiB limit");

    assert_nothing_delivered(&bob, ALICE, "big").await;
    assert_still_serving(&alice, &bob).await;
}

/// Chunks 0..n of one message (n given), `last` only when `with_last`.
fn chunks(s: &Sess, key: &MemberKey, tag: &str, seq: u64, parts: &[&'static [u8]], with_last: bool) -> Vec<Envelope> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut env = envelope(s, key, ALICE, BOB, tag, part);
            env.seq = seq;
            env.chunk = i as u32;
            env.last = with_last && i + 1 == parts.len();
            env.total_len = total as u64;
            key.sign(&mut env).unwrap();
            env
        })
        .collect()
}

#[tokio::test]
async fn truncated_and_disordered_streams_never_deliver() {
    let (_dir, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let truncated = chunks(&s, &alice.key, "parts", 1, &[b"aa", b"bb", b"cc"], false);
    assert_refused(
        raw_call(&bob, truncated).await,
        Code::InvalidArgument,
        &format!("stream ended before the last chunk of message 1 (tag parts) from {ALICE}"),
    );

    let mut disordered = chunks(&s, &alice.key, "parts", 2, &[b"aa", b"bb", b"cc"], true);
    disordered.swap(1, 2);
    assert_refused(raw_call(&bob, disordered).await, Code::InvalidArgument, "got chunk 2, expected chunk 1");

    let mut short = chunks(&s, &alice.key, "parts", 3, &[b"aa", b"bb"], true);
    short[1].total_len = 5;
    alice.key.sign(&mut short[1]).unwrap();
    assert_refused(raw_call(&bob, short).await, Code::InvalidArgument, "do not add up to total_len");

    let mut elsewhere = envelope(&s, &alice.key, ALICE, CAROL, "parts", b"x");
    alice.key.sign(&mut elsewhere).unwrap();
    assert_refused(raw_call(&bob, vec![elsewhere]).await, Code::InvalidArgument, &format!("addressed to {CAROL}"));

    assert_nothing_delivered(&bob, ALICE, "parts").await;
    // A complete message on the same tag afterwards is delivered alone, whole.
    let whole = chunks(&s, &alice.key, "parts", 4, &[b"aa", b"bb", b"cc"], true);
    assert_eq!(raw_call(&bob, whole).await.unwrap(), Ack { envelopes: 3, messages: 1 });
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "parts").await.unwrap(), b"aabbcc");
    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn stalled_calls_are_abandoned_without_delivering() {
    let directory = Arc::new(StaticPeerDirectory::new());
    let alice = start(&directory, ALICE, GatewayConfig::default()).await;
    let config = GatewayConfig { call_idle_timeout: Duration::from_millis(200), ..Default::default() };
    let bob = start(&directory, BOB, config).await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for env in chunks(&s, &alice.key, "stall", 1, &[b"aa", b"bb"], true).into_iter().take(1) {
        tx.send(env).await.unwrap();
    }
    let mut client = GatewayClient::connect(bob.url()).await.unwrap();
    // `tx` stays open: the call neither continues nor ends.
    let result = client.exchange(tokio_stream::wrappers::ReceiverStream::new(rx)).await.map(|r| r.into_inner());
    assert_refused(result, Code::DeadlineExceeded, "no envelope for 200 ms");
    drop(tx);
    assert_nothing_delivered(&bob, ALICE, "stall").await;
    assert_still_serving(&alice, &bob).await;
}

/// Sends arbitrary bytes as gRPC messages of the `Exchange` method.
#[derive(Debug, Clone, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Ack;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> Self::Encoder {
        RawBytes
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Ack;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Ack>, Status> {
        Ack::decode(src).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

#[tokio::test]
async fn garbage_bytes_are_refused_and_the_server_keeps_serving() {
    let (_dir, alice, bob) = pair().await;
    for garbage in [vec![0xff; 64], b"GET / HTTP/1.1\r\n\r\n".to_vec(), vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]] {
        let channel = tonic::transport::Endpoint::from_shared(bob.url()).unwrap().connect().await.unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let result = grpc
            .client_streaming(
                tonic::Request::new(tokio_stream::iter(vec![garbage])),
                PathAndQuery::from_static("/wefe.gateway.v1.Gateway/Exchange"),
                RawBytes,
            )
            .await
            .map(|r| r.into_inner());
        assert_refused(result, Code::InvalidArgument, "malformed envelope");
    }
    // A well-formed protobuf that is no valid envelope (empty fields).
    assert_refused(
        raw_call(&bob, vec![Envelope::default()]).await,
        Code::InvalidArgument,
        "unsupported envelope version 0",
    );

    // Not even HTTP/2: random bytes straight onto the socket.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(bob.addr).await.unwrap();
    let noise: Vec<u8> = (0..4096).map(|_| rand::random::<u8>()).collect();
    let _ = socket.write_all(&noise).await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut sink)).await;

    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn send_retries_until_the_peer_comes_up_and_gives_up_on_a_dead_one() {
    let directory = Arc::new(StaticPeerDirectory::new());
    let config = GatewayConfig { initial_backoff: Duration::from_millis(100), ..Default::default() };
    let alice = start(&directory, ALICE, config.clone()).await;

    // Bob's address is known before his gateway listens.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let bob_key = MemberKey::generate().unwrap();
    directory
        .insert(BOB, PeerInfo { active: true, public_key: bob_key.public_key(), endpoint: format!("http://{addr}") });
    let sending = tokio::spawn({
        let t = alice.gateway.transport(JOB);
        async move { t.send(&BOB, "early", b"hello".to_vec()).await }
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    let bob = start_on(TcpListener::bind(addr).await.unwrap(), &directory, BOB, bob_key, config).await;
    sending.await.unwrap().unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "early").await.unwrap(), b"hello");

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    directory
        .insert(CAROL, PeerInfo { active: true, public_key: bob.key.public_key(), endpoint: format!("http://{dead}") });
    let quick = Gateway::new(
        ALICE,
        alice.key.clone(),
        directory.clone(),
        GatewayConfig { send_attempts: 3, initial_backoff: Duration::from_millis(10), ..Default::default() },
    );
    let err = quick.transport(JOB).send(&CAROL, "t", b"x".to_vec()).await.unwrap_err();
    assert!(matches!(&err, TransportError::Link(m) if m.contains("Unavailable")), "{err}");
}

/// A key made by the machine's OpenSSL (`openssl genpkey -algorithm SM2`) is
/// read, its public key matches OpenSSL's, and an envelope signed by OpenSSL
/// itself (SM3, distid 1234567812345678) over our canonical encoding is
/// accepted: the encoding and the signature scheme are the documented ones.
/// Without an `openssl` binary, a key written as PEM by Rust is used instead.
#[tokio::test]
async fn openssl_sm2_keys_and_signatures_interoperate() {
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("member.pem");
    let openssl = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "SM2", "-out"])
        .arg(&pem_path)
        .status()
        .is_ok_and(|s| s.success());
    if !openssl {
        eprintln!("no openssl: checking a PEM written by Rust instead");
        std::fs::write(&pem_path, MemberKey::generate().unwrap().to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    }
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    let key = MemberKey::from_pkcs8_pem(&pem).unwrap();

    let directory = Arc::new(StaticPeerDirectory::new());
    let alice =
        start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), &directory, ALICE, key, GatewayConfig::default())
            .await;
    let bob = start(&directory, BOB, GatewayConfig::default()).await;
    let s = sess(&bob, &alice.key, ALICE).await;
    assert_still_serving(&alice, &bob).await;
    if !openssl {
        return;
    }

    let spki = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem_path)
        .output()
        .unwrap();
    assert!(spki.status.success());
    assert_eq!(spki.stdout[spki.stdout.len() - 64..], alice.key.public_key());

    let mut env = envelope(&s, &alice.key, ALICE, BOB, "openssl", b"signed by openssl");
    env.signature.clear();
    let mut message = signing::signed_header(&env);
    message.extend_from_slice(&env.payload);
    let msg_path = dir.path().join("msg");
    std::fs::write(&msg_path, &message).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-inkey"])
        .arg(&pem_path)
        .arg("-in")
        .arg(&msg_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.signature = sm2::dsa::Signature::from_der(&out.stdout).unwrap().to_vec();
    assert_eq!(raw_call(&bob, vec![env]).await.unwrap(), Ack { envelopes: 1, messages: 1 });
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "openssl").await.unwrap(), b"signed by openssl");
}

/// A sender whose Ack was lost retries the same message (same seq, fresh
/// nonces): the receiver acknowledges it again but delivers it once.
#[tokio::test]
async fn a_retransmitted_message_is_delivered_once() {
    let (_directory, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let first = envelope(&s, &alice.key, alice.id, bob.id, "retry/once", b"payload");
    let mut again = first.clone();
    again.timestamp_ms = now_ms();
    reseal(&s, &alice.key, &mut again, b"payload");
    assert_eq!(raw_call(&bob, vec![first]).await.unwrap().messages, 1);
    assert_eq!(raw_call(&bob, vec![again]).await.unwrap().messages, 1);
    let transport = bob.gateway.transport(JOB);
    assert_eq!(transport.recv(&alice.id, "retry/once").await.unwrap(), b"payload");
    assert_nothing_delivered(&bob, alice.id, "retry/once").await;
}

#[tokio::test]
async fn empty_middle_chunks_are_refused() {
    let (_directory, alice, bob) = pair().await;
    let s = sess(&bob, &alice.key, ALICE).await;
    let mut head = envelope(&s, &alice.key, alice.id, bob.id, "empty/middle", b"");
    head.total_len = 4;
    head.last = false;
    alice.key.sign(&mut head).unwrap();
    assert_refused(raw_call(&bob, vec![head]).await, Code::InvalidArgument, "empty chunk");
    assert_still_serving(&alice, &bob).await;
}

mod certificates;
mod hostile;
mod tls;

#[tokio::test]
async fn a_probe_proves_the_peer_answers_with_its_registered_key() {
    let (dir, alice, bob) = pair().await;
    assert_eq!((alice.gateway.sessions_opened(), bob.gateway.sessions_held()), (0, 0));
    let round_trip = alice.gateway.probe(BOB).await.expect("Bob answers");
    assert!(round_trip < Duration::from_secs(5), "{round_trip:?}");
    // The probe's session is the one sends use: no second handshake.
    assert_eq!((alice.gateway.sessions_opened(), bob.gateway.sessions_held()), (1, 1));
    assert_still_serving(&alice, &bob).await;
    assert_eq!(bob.gateway.sessions_held(), 1, "the send reused the probe's session");

    // Repeated probes replace Alice's session; Bob keeps a bounded few.
    for _ in 0..10 {
        alice.gateway.probe(BOB).await.unwrap();
    }
    assert_eq!(alice.gateway.sessions_opened(), 1);
    assert!(bob.gateway.sessions_held() <= 8, "{}", bob.gateway.sessions_held());
    assert_still_serving(&alice, &bob).await;

    // Someone else's gateway at Bob's endpoint does not pass as Bob.
    let impostor_key = MemberKey::generate().unwrap();
    dir.insert(BOB, PeerInfo { active: true, public_key: impostor_key.public_key(), endpoint: bob.url() });
    let err = alice.gateway.probe(BOB).await.unwrap_err();
    assert!(err.to_string().contains("handshake"), "{err}");
    dir.insert(BOB, PeerInfo { active: true, public_key: bob.key.public_key(), endpoint: bob.url() });

    // Nobody listening, a suspended member, a stranger: each says why.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    dir.insert(
        CAROL,
        PeerInfo { active: true, public_key: impostor_key.public_key(), endpoint: format!("http://{closed}") },
    );
    let err = alice.gateway.probe(CAROL).await.unwrap_err();
    assert!(!err.to_string().is_empty());
    dir.set_active(&BOB, false);
    assert!(alice.gateway.probe(BOB).await.unwrap_err().to_string().contains("not an active member"));
    dir.remove(&CAROL);
    assert!(alice.gateway.probe(CAROL).await.unwrap_err().to_string().contains("not a member"));
}

/// A member whose endpoint points at this node's own host (or anywhere the
/// rule refuses) gets no request from it: neither probes nor sends dial it,
/// and the error names the setting.
#[tokio::test]
async fn a_peer_endpoint_the_rule_refuses_is_never_dialled() {
    let dir = Arc::new(StaticPeerDirectory::default());
    let guarded = GatewayConfig { peer_networks: wefe_gateway::PeerNetworks::NotSpecial, ..GatewayConfig::default() };
    let alice = start(&dir, ALICE, guarded).await;
    // "Bob" registered an endpoint on Alice's host: here, a listener that counts connections.
    let trap = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bob_key = MemberKey::generate().unwrap();
    dir.insert(
        BOB,
        PeerInfo {
            active: true,
            public_key: bob_key.public_key(),
            endpoint: format!("http://{}", trap.local_addr().unwrap()),
        },
    );
    let err = alice.gateway.probe(BOB).await.unwrap_err().to_string();
    assert!(err.contains("peer_networks in party.toml") && err.contains("127.0.0.1"), "{err}");
    // A send fails at once, naming the rule: no retries, since trying again changes nothing.
    let started = std::time::Instant::now();
    let err = alice.gateway.transport(JOB).send(&BOB, "t", b"x".to_vec()).await.unwrap_err().to_string();
    assert!(err.contains("peer_networks in party.toml"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(150), "retried: {:?}", started.elapsed());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), trap.accept()).await.is_err(),
        "the refused endpoint was never connected to"
    );

    // The same peer on an allowed network is called as usual.
    let allowed = GatewayConfig {
        peer_networks: wefe_gateway::PeerNetworks::only(&["127.0.0.0/8".into()]).unwrap(),
        ..GatewayConfig::default()
    };
    let carol = start(&dir, CAROL, allowed).await;
    let bob = start(&dir, BOB, GatewayConfig::default()).await;
    carol.gateway.probe(BOB).await.expect("Bob answers on an allowed network");
    drop(bob);
}
