//! A member that floods or starves another's gateway: what it can no longer do.

use super::*;

/// Alice, Bob and Carol; Bob's gateway with `config`.
async fn trio(config: GatewayConfig) -> (Arc<StaticPeerDirectory>, Node, Node, Node) {
    let directory = Arc::new(StaticPeerDirectory::new());
    let alice = start(&directory, ALICE, GatewayConfig::default()).await;
    let bob = start(&directory, BOB, config).await;
    let carol = start(&directory, CAROL, GatewayConfig::default()).await;
    (directory, alice, bob, carol)
}

/// A single-chunk message of `job` from `node` to `to` in session `s`.
fn job_envelope(s: &Sess, node: &Node, to: PeerId, job: u64, tag: &str, payload: &'static [u8]) -> Envelope {
    let mut env = envelope(s, &node.key, node.id, to, tag, payload);
    env.job_id = job;
    node.key.sign(&mut env).unwrap();
    env
}

#[tokio::test]
async fn a_non_participant_is_refused_once_the_job_is_known() {
    let (_dir, alice, bob, carol) = trio(GatewayConfig::default()).await;
    let s = sess(&bob, &carol.key, CAROL).await;
    // Before Bob knows job 8, Carol may queue a little for it...
    assert_eq!(raw_call(&bob, vec![job_envelope(&s, &carol, BOB, 8, "early", b"x")]).await.unwrap().messages, 1);
    assert_eq!(bob.gateway.queue_stats().messages, 1);
    // ...which is dropped when the job turns out not to be hers.
    let t8 = bob.gateway.job_transport(8, [ALICE, BOB]);
    assert_eq!(bob.gateway.queue_stats(), wefe_gateway::QueueStats::default());

    let _t = bob.gateway.job_transport(JOB, [ALICE, BOB]);
    assert_refused(
        raw_call(&bob, vec![job_envelope(&s, &carol, BOB, JOB, "t", b"x")]).await,
        Code::PermissionDenied,
        &format!("{CAROL} is not a participant of job {JOB}"),
    );
    // Through her transport too, without retrying.
    let err = carol.gateway.transport(JOB).send(&BOB, "t", b"x".to_vec()).await.unwrap_err();
    assert!(matches!(&err, TransportError::Link(m) if m.contains("PermissionDenied")), "{err}");
    assert_eq!(bob.gateway.queue_stats(), wefe_gateway::QueueStats::default());
    assert_still_serving(&alice, &bob).await;
    alice.gateway.transport(8).send(&BOB, "t", b"ok".to_vec()).await.unwrap();
    assert_eq!(t8.recv(&ALICE, "t").await.unwrap(), b"ok");
}

#[tokio::test]
async fn a_flood_of_empty_messages_is_bounded() {
    let config = GatewayConfig { max_queued_messages_per_sender: 40, ..Default::default() };
    let (_dir, alice, bob, carol) = trio(config).await;
    let s = sess(&bob, &carol.key, CAROL).await;

    // For a job Bob does not know yet: a few per sender, then refusals.
    let mut accepted = 0;
    for i in 0..100 {
        match raw_call(&bob, vec![job_envelope(&s, &carol, BOB, 99, &format!("flood/{i}"), b"")]).await {
            Ok(_) => accepted += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("has not started on this gateway"), "{status:?}");
            }
        }
    }
    assert_eq!(accepted, GatewayConfig::default().unknown_job_messages);
    let stats = bob.gateway.queue_stats();
    assert_eq!((stats.messages, stats.mailboxes), (accepted, accepted));
    assert!(stats.bytes >= accepted * wefe_gateway::MESSAGE_OVERHEAD_BYTES, "empty messages are not free: {stats:?}");

    // In a job she takes part in: up to her share of messages, and Alice keeps hers.
    let _t = bob.gateway.job_transport(JOB, [ALICE, BOB, CAROL]);
    let mut refused = None;
    for i in 0..100 {
        if let Err(status) = raw_call(&bob, vec![job_envelope(&s, &carol, BOB, JOB, &format!("flood/{i}"), b"")]).await
        {
            refused = Some((i, status));
            break;
        }
    }
    let (at, status) = refused.expect("an endless flood of empty messages was accepted");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(&format!("{CAROL} has 40 messages queued here")), "{status:?}");
    assert_eq!(at + accepted, 40);
    assert_still_serving(&alice, &bob).await;

    // Ending the jobs frees all of it.
    bob.gateway.forget_job(JOB);
    bob.gateway.forget_job(99);
    assert_eq!(bob.gateway.queue_stats(), wefe_gateway::QueueStats::default());
}

#[tokio::test]
async fn a_slow_huge_announcement_holds_only_what_arrived() {
    // Four 1 GiB announcements would have taken Bob's whole 4 GiB budget.
    let (_dir, alice, bob, carol) = trio(GatewayConfig::default()).await;
    let t = bob.gateway.job_transport(JOB, [ALICE, BOB, CAROL]);
    let s = sess(&bob, &carol.key, CAROL).await;
    let mut trickles = Vec::new();
    for i in 0..4 {
        let mut head = job_envelope(&s, &carol, BOB, JOB, &format!("huge/{i}"), b"");
        head.total_len = 1024 * MIB as u64;
        head.last = false;
        reseal(&s, &carol.key, &mut head, &[7u8; 1024]);
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(head).await.unwrap();
        let url = bob.url();
        let call = tokio::spawn(async move {
            let mut client = GatewayClient::connect(url).await.unwrap();
            client.exchange(tokio_stream::wrappers::ReceiverStream::new(rx)).await
        });
        trickles.push((tx, call));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The four calls are in progress (not refused): each is charged one
    // message and the 1 KiB that arrived, not the 1 GiB it announced.
    assert!(trickles.iter().all(|(_, call)| !call.is_finished()), "a trickling call ended");
    let stats = bob.gateway.queue_stats();
    assert_eq!(stats.messages, 4, "{stats:?}");
    assert!(stats.bytes >= 4 * 1024, "{stats:?}");
    let held = stats.bytes;
    assert!(held < 64 * 1024, "slow announcements hold {held} bytes");

    // An honest large message still fits.
    alice.gateway.transport(JOB).send(&BOB, "honest", vec![1; 8 * MIB]).await.unwrap();
    assert_eq!(t.recv(&ALICE, "honest").await.unwrap().len(), 8 * MIB);
    drop(trickles);
}

#[tokio::test]
async fn the_replay_cache_is_shared_out_per_sender() {
    let config = GatewayConfig { replay_cache_entries: 40, replay_cache_entries_per_sender: 20, ..Default::default() };
    let (_dir, alice, bob, carol) = trio(config).await;
    let _t = bob.gateway.job_transport(JOB, [ALICE, BOB, CAROL]);
    let s = sess(&bob, &carol.key, CAROL).await;
    let mut refused = None;
    for i in 0..40 {
        if let Err(status) = raw_call(&bob, vec![job_envelope(&s, &carol, BOB, JOB, &format!("n/{i}"), b"x")]).await {
            refused = Some(status);
            break;
        }
    }
    let status = refused.expect("one sender filled the whole replay cache");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(&format!("live nonces of {CAROL}, its share")), "{status:?}");
    // Alice's envelopes are still taken.
    assert_still_serving(&alice, &bob).await;
}

#[tokio::test]
async fn messages_after_a_job_ended_are_refused_and_its_memory_released() {
    let (_dir, alice, bob, _carol) = trio(GatewayConfig::default()).await;
    let t = bob.gateway.job_transport(JOB, [ALICE, BOB]);
    let ta = alice.gateway.transport(JOB);
    ta.send(&BOB, "a", vec![1; 2 * MIB]).await.unwrap();
    ta.send(&BOB, "b", Vec::new()).await.unwrap();
    let stats = bob.gateway.queue_stats();
    assert_eq!((stats.messages, stats.mailboxes), (2, 2));
    assert!(stats.bytes > 2 * MIB);
    let waiting = tokio::spawn({
        let t = t.clone();
        async move { t.recv(&ALICE, "c").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    bob.gateway.forget_job(JOB);
    assert_eq!(waiting.await.unwrap(), Err(TransportError::Closed(ALICE)));
    assert_eq!(bob.gateway.queue_stats(), wefe_gateway::QueueStats::default());
    assert_eq!(t.recv(&ALICE, "a").await, Err(TransportError::Closed(ALICE)));

    let err = ta.send(&BOB, "late", vec![1; 100]).await.unwrap_err();
    assert!(matches!(&err, TransportError::Link(m) if m.contains(&format!("job {JOB} has ended"))), "{err}");
    // Admitting it again does not bring it back.
    assert!(!bob.gateway.admit_job(JOB, [ALICE, BOB]));
    assert_eq!(bob.gateway.queue_stats(), wefe_gateway::QueueStats::default());
}

#[tokio::test]
async fn handshakes_are_rate_limited_per_member_before_their_signature_is_checked() {
    let config =
        GatewayConfig { handshake_burst: 3, handshake_interval: Duration::from_secs(3600), ..Default::default() };
    let (_dir, alice, bob, carol) = trio(config).await;
    let mut client = GatewayClient::connect(bob.url()).await.unwrap();
    for _ in 0..3 {
        let (hello, _) = session::new_hello(&alice.key, ALICE, BOB, None, Role::Caller, None).unwrap();
        client.handshake(hello).await.unwrap();
    }
    let (hello, _) = session::new_hello(&alice.key, ALICE, BOB, None, Role::Caller, None).unwrap();
    let refused = client.handshake(hello).await.map(|r| r.into_inner().version);
    let status = refused.expect_err("a fourth handshake was accepted");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(&format!("too many handshakes from {ALICE}")), "{status:?}");
    // A forged Hello is refused for the rate, before its signature costs anything.
    let (mut forged, _) = session::new_hello(&alice.key, ALICE, BOB, None, Role::Caller, None).unwrap();
    forged.signature = vec![0x55; 64];
    assert_eq!(client.handshake(forged).await.unwrap_err().code(), Code::ResourceExhausted);
    // Other members are not affected.
    let (hello, _) = session::new_hello(&carol.key, CAROL, BOB, None, Role::Caller, None).unwrap();
    client.handshake(hello).await.unwrap();
}

#[tokio::test]
async fn send_retries_while_the_peer_is_busy() {
    let config = GatewayConfig { max_queued_bytes_per_sender: MIB, ..Default::default() };
    let (_dir, alice, bob, _carol) = trio(config).await;
    let t = bob.gateway.job_transport(JOB, [ALICE, BOB]);
    let ta = alice.gateway.transport(JOB);
    ta.send(&BOB, "first", vec![1; 600 * 1024]).await.unwrap();
    let second = tokio::spawn({
        let ta = ta.clone();
        async move { ta.send(&BOB, "second", vec![2; 600 * 1024]).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "the second message did not wait for room");
    assert_eq!(t.recv(&ALICE, "first").await.unwrap()[0], 1);
    second.await.unwrap().unwrap();
    assert_eq!(t.recv(&ALICE, "second").await.unwrap()[0], 2);
}

#[tokio::test]
async fn a_job_started_late_receives_what_its_peer_sent_first() {
    let (_dir, alice, bob, _carol) = trio(GatewayConfig::default()).await;
    // Larger than what Bob holds for a job he has not started: refused, retried.
    let sending = tokio::spawn({
        let ta = alice.gateway.transport(JOB);
        async move { ta.send(&BOB, "m1", vec![3; 6 * MIB]).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let t = bob.gateway.job_transport(JOB, [ALICE, BOB]);
    sending.await.unwrap().unwrap();
    assert_eq!(t.recv(&ALICE, "m1").await.unwrap().len(), 6 * MIB);
}

#[test]
fn receive_timeouts_are_on_by_default() {
    assert_eq!(GatewayConfig::default().recv_timeout, Some(Duration::from_secs(600)));
}

/// A job's `recv` gives up after the gateway's receive timeout; a serving
/// channel (idle by nature) can wait as long as it takes.
#[tokio::test]
async fn receives_time_out_unless_the_channel_waits_by_nature() {
    let directory = Arc::new(StaticPeerDirectory::new());
    let config = GatewayConfig { recv_timeout: Some(Duration::from_millis(100)), ..GatewayConfig::default() };
    let alice = crate::start(&directory, ALICE, config).await;
    let job = alice.gateway.job_transport(JOB, [ALICE, BOB]);
    let started = std::time::Instant::now();
    assert!(matches!(job.recv(&BOB, "x").await, Err(TransportError::Link(_))));
    assert!(started.elapsed() < Duration::from_secs(5));
    let serving = alice.gateway.job_transport(JOB + 1, [ALICE, BOB]).without_recv_timeout();
    let waited = tokio::time::timeout(Duration::from_millis(500), serving.recv(&BOB, "x")).await;
    assert!(waited.is_err(), "the serving channel gave up: {waited:?}");
}

/// Connections beyond the per-address limit are closed unread; the ones
/// admitted stay open, and a closed one frees its place.
#[tokio::test]
async fn connections_are_bounded_per_address() {
    use tokio::io::AsyncReadExt;
    let directory = Arc::new(StaticPeerDirectory::new());
    let config = GatewayConfig { max_connections_per_address: 2, ..GatewayConfig::default() };
    let bob = crate::start(&directory, BOB, config).await;
    let closed_soon = |mut s: tokio::net::TcpStream| async move {
        let mut byte = [0u8; 1];
        matches!(tokio::time::timeout(Duration::from_millis(300), s.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
    };
    let first = tokio::net::TcpStream::connect(bob.addr).await.unwrap();
    let second = tokio::net::TcpStream::connect(bob.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::net::TcpStream::connect(bob.addr).await.unwrap();
    assert!(closed_soon(third).await, "a third connection from one address was served");
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = tokio::net::TcpStream::connect(bob.addr).await.unwrap();
    assert!(!closed_soon(again).await, "a freed place was not given again");
    drop(second);
}
