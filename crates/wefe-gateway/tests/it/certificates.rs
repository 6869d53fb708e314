//! Certificate enforcement: a gateway that requires certificates accepts a
//! peer only with one that the chain records as issued to it by an appointed
//! authority whose root signed it, valid now, for its registered key; and a
//! revocation cuts a running session at its next message.

use super::*;
use wefe_crypto::cert::{self, Csr, MemberCertificate};
use wefe_crypto::sm::Sm2KeyPair;
use wefe_gateway::CertificateRecord;

const CA: [u8; 20] = [0xca; 20];
const DAY: u64 = 86_400;

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

struct Authority {
    key: Sm2KeyPair,
    root: MemberCertificate,
}

impl Authority {
    fn new() -> Self {
        let key = Sm2KeyPair::generate().unwrap();
        let root = cert::create_root(&key, "Test CA", unix_now() - 30 * DAY, unix_now() + 3650 * DAY).unwrap();
        Self { key, root }
    }

    fn issue(&self, csr: &Csr, not_before: u64, not_after: u64) -> MemberCertificate {
        cert::issue(&self.key, &self.root, csr, cert::random_serial().unwrap(), not_before, not_after).unwrap()
    }
}

/// A member key as both the gateway's signing key and an SM2 key pair.
fn member_key() -> (MemberKey, Sm2KeyPair) {
    let pair = Sm2KeyPair::generate().unwrap();
    let key = MemberKey::from_secret_bytes(&pair.secret_bytes()).unwrap();
    (key, pair)
}

fn record(directory: &StaticPeerDirectory, cert: &MemberCertificate, member: PeerId, issued: bool) {
    directory.set_certificate(cert.hash(), CertificateRecord { member, issuer: CA, issued });
}

fn required(cert: &MemberCertificate) -> GatewayConfig {
    GatewayConfig { require_peer_certificates: true, ..Default::default() }.with_certificate(cert.der().to_vec())
}

/// Bob requires certificates and holds a valid one; the directory knows the CA.
async fn certified_bob(directory: &Arc<StaticPeerDirectory>, ca: &Authority) -> Node {
    directory.set_authority_root(CA, Some(ca.root.public_key.to_xy()));
    let (key, pair) = member_key();
    let csr = cert::create_csr(&pair, "Bob", &BOB.to_bytes()).unwrap();
    let cert = ca.issue(&csr, unix_now() - DAY, unix_now() + 365 * DAY);
    record(directory, &cert, BOB, true);
    start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), directory, BOB, key, required(&cert)).await
}

/// A fresh directory, a CA it trusts, and Bob's certified gateway.
async fn certified_bob_alone() -> (Arc<StaticPeerDirectory>, Authority, Node) {
    let directory = Arc::new(StaticPeerDirectory::new());
    let ca = Authority::new();
    let bob = certified_bob(&directory, &ca).await;
    (directory, ca, bob)
}

/// Alice's key, CSR and a certificate valid today, recorded as issued.
fn certified_alice(directory: &StaticPeerDirectory, ca: &Authority) -> (MemberKey, Csr, MemberCertificate) {
    let (key, pair) = member_key();
    let csr = cert::create_csr(&pair, "Alice", &ALICE.to_bytes()).unwrap();
    let alice_cert = ca.issue(&csr, unix_now() - DAY, unix_now() + DAY);
    record(directory, &alice_cert, ALICE, true);
    (key, csr, alice_cert)
}

async fn alice_with(directory: &Arc<StaticPeerDirectory>, key: MemberKey, config: GatewayConfig) -> Node {
    start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), directory, ALICE, key, config).await
}

async fn send(from: &Node, to: PeerId, tag: &str) -> Result<(), TransportError> {
    from.gateway.transport(JOB).send(&to, tag, b"payload".to_vec()).await
}

fn refused(result: Result<(), TransportError>, part: &str) {
    let err = result.expect_err("a bad certificate was accepted");
    assert!(err.to_string().contains(part), "error {err:?} lacks {part:?}");
}

#[tokio::test]
async fn certified_members_exchange_and_a_peer_without_one_is_refused() {
    let (directory, ca, bob) = certified_bob_alone().await;
    let (key, _csr, alice_cert) = certified_alice(&directory, &ca);
    let alice = alice_with(&directory, key.clone(), required(&alice_cert)).await;

    send(&alice, BOB, "hello").await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "hello").await.unwrap(), b"payload");
    send(&bob, ALICE, "back").await.unwrap();
    assert_eq!(alice.gateway.transport(JOB).recv(&BOB, "back").await.unwrap(), b"payload");

    // The same member without presenting its certificate.
    let bare = Gateway::new(ALICE, key, directory.clone(), GatewayConfig::default());
    refused(bare.transport(JOB).send(&BOB, "bare", b"x".to_vec()).await, "presented no certificate");
    assert_nothing_delivered(&bob, ALICE, "bare").await;
}

#[tokio::test]
async fn revoked_expired_future_foreign_wrong_key_and_self_signed_certificates_are_refused() {
    let directory = Arc::new(StaticPeerDirectory::new());
    let ca = Authority::new();
    let bob = certified_bob(&directory, &ca).await;
    let (key, pair) = member_key();
    // Alice is a member; her gateway does not listen (she only sends here).
    directory
        .insert(ALICE, PeerInfo { active: true, public_key: key.public_key(), endpoint: "http://127.0.0.1:9".into() });
    let csr = cert::create_csr(&pair, "Alice", &ALICE.to_bytes()).unwrap();
    let now = unix_now();

    let revoked = ca.issue(&csr, now - DAY, now + DAY);
    record(&directory, &revoked, ALICE, false);
    let expired = ca.issue(&csr, now - 10 * DAY, now - DAY);
    record(&directory, &expired, ALICE, true);
    let future = ca.issue(&csr, now + DAY, now + 10 * DAY);
    record(&directory, &future, ALICE, true);
    let other_ca = Authority::new();
    let foreign = other_ca.issue(&csr, now - DAY, now + DAY);
    record(&directory, &foreign, ALICE, true);
    let other_pair = Sm2KeyPair::generate().unwrap();
    let wrong_key = ca.issue(&cert::create_csr(&other_pair, "Alice", &ALICE.to_bytes()).unwrap(), now - DAY, now + DAY);
    record(&directory, &wrong_key, ALICE, true);
    let own_root = cert::create_root(&pair, "Alice", now - DAY, now + DAY).unwrap();
    let self_signed = cert::issue(&pair, &own_root, &csr, 1, now - DAY, now + DAY).unwrap();
    record(&directory, &self_signed, ALICE, true);
    let unrecorded = ca.issue(&csr, now - DAY, now + DAY);
    let bobs_name = ca.issue(&cert::create_csr(&pair, "Alice", &BOB.to_bytes()).unwrap(), now - DAY, now + DAY);
    record(&directory, &bobs_name, ALICE, true);

    let cases: [(&[u8], &str); 9] = [
        (revoked.der(), "is revoked on chain"),
        (expired.der(), "expired at"),
        (future.der(), "not yet valid"),
        (foreign.der(), "not signed by a certificate authority appointed on chain"),
        (wrong_key.der(), "certifies key"),
        (self_signed.der(), "not signed by a certificate authority appointed on chain"),
        (unrecorded.der(), "is not recorded on chain"),
        (bobs_name.der(), "not to 0x"),
        (b"\x30\x03\x02\x01\x01", "malformed DER"),
    ];
    for (i, (der, reason)) in cases.into_iter().enumerate() {
        let config = GatewayConfig::default().with_certificate(der.to_vec());
        let alice = Gateway::new(ALICE, key.clone(), directory.clone(), config);
        let tag = format!("bad/{i}");
        refused(alice.transport(JOB).send(&BOB, &tag, b"x".to_vec()).await, reason);
        assert_nothing_delivered(&bob, ALICE, &tag).await;
    }

    // An authority dismissed on chain: its certificates stop counting.
    let good = ca.issue(&csr, now - DAY, now + DAY);
    record(&directory, &good, ALICE, true);
    let alice =
        Gateway::new(ALICE, key, directory.clone(), GatewayConfig::default().with_certificate(good.der().to_vec()));
    directory.set_authority_root(CA, None);
    refused(
        alice.transport(JOB).send(&BOB, "dismissed", b"x".to_vec()).await,
        "not an appointed certificate authority",
    );
}

#[tokio::test]
async fn a_revocation_cuts_a_running_session_at_its_next_message() {
    let (directory, ca, bob) = certified_bob_alone().await;
    let (key, csr, alice_cert) = certified_alice(&directory, &ca);
    let alice = alice_with(&directory, key, required(&alice_cert)).await;

    send(&alice, BOB, "first").await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "first").await.unwrap(), b"payload");
    send(&bob, ALICE, "reply").await.unwrap();

    // The chain revokes Alice's certificate (the node's directory follows it).
    record(&directory, &alice_cert, ALICE, false);
    // Bob refuses her next envelope on the session she already holds...
    refused(send(&alice, BOB, "second").await, "was revoked on chain");
    assert_nothing_delivered(&bob, ALICE, "second").await;
    // ... and will not send to her either (a fresh handshake shows the same certificate).
    refused(send(&bob, ALICE, "to-revoked").await, "revoked on chain");

    // Once the chain issues her a new certificate, a new session carries it.
    let renewed = ca.issue(&csr, unix_now() - DAY, unix_now() + DAY);
    record(&directory, &renewed, ALICE, true);
    let key = alice.key.clone();
    drop(alice);
    let alice = alice_with(&directory, key, required(&renewed)).await;
    send(&alice, BOB, "renewed").await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "renewed").await.unwrap(), b"payload");
}

/// A replayed Hello is refused: it would cost a key agreement and a session slot each time.
#[tokio::test]
async fn a_replayed_handshake_is_refused() {
    let (_dir, alice, bob) = pair().await;
    let (hello, _ephemeral) = session::new_hello(&alice.key, ALICE, BOB, None, Role::Caller, None).unwrap();
    let mut client = GatewayClient::connect(bob.url()).await.unwrap();
    client.handshake(hello.clone()).await.unwrap();
    let status = client.handshake(hello).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains("replayed nonce"), "{status:?}");
    assert_still_serving(&alice, &bob).await;
}

/// A restarted peer no longer holds the session: the sender opens a new one
/// and the message still arrives, once.
#[tokio::test]
async fn a_restarted_peer_gets_a_new_session_transparently() {
    let directory = Arc::new(StaticPeerDirectory::new());
    let alice = start(&directory, ALICE, GatewayConfig::default()).await;
    let bob = start(&directory, BOB, GatewayConfig::default()).await;
    send(&alice, BOB, "before").await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "before").await.unwrap(), b"payload");

    let (addr, key) = (bob.addr, bob.key.clone());
    drop(bob);
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let bob = start_on(listener, &directory, BOB, key, GatewayConfig::default()).await;
    send(&alice, BOB, "after").await.unwrap();
    assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, "after").await.unwrap(), b"payload");
    assert_nothing_delivered(&bob, ALICE, "after").await;
}

/// Concurrent sends to a peer without a session share one handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_share_one_handshake() {
    let (_dir, alice, bob) = pair().await;
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let t = alice.gateway.transport(JOB);
            tokio::spawn(async move { t.send(&BOB, &format!("many/{i}"), b"x".to_vec()).await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    for i in 0..8 {
        assert_eq!(bob.gateway.transport(JOB).recv(&ALICE, &format!("many/{i}")).await.unwrap(), b"x");
    }
    assert_eq!(bob.gateway.sessions_held(), 1, "each send opened its own session");
}
