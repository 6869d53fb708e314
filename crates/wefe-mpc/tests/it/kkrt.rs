//! KKRT16 PSI: both roles concurrently over the in-memory transport, checked
//! against ECDH-PSI on the same random sets.

use wefe_core::{MemoryNetwork, Transport};
use wefe_mpc::Error;
use wefe_mpc::psi::ecdh::EcdhParams;
use wefe_mpc::psi::kkrt::{self, KkrtParams, KkrtReveal, MatrixBatch};
use wefe_mpc::psi::{Progress, PsiOutput};

use crate::{ALICE, BOB, bounded, ecdh_pair, sets, unusual_ids};

async fn kkrt_pair(
    params: KkrtParams,
    a: &[Vec<u8>],
    b: &[Vec<u8>],
) -> (wefe_mpc::Result<PsiOutput>, wefe_mpc::Result<PsiOutput>) {
    let net = MemoryNetwork::new(64 << 20);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    let (pa, pb) = (Progress::new(), Progress::new());
    let out = bounded(async {
        tokio::join!(
            async {
                let out = kkrt::run_receiver(&ta, &BOB, params, a, &pa).await;
                drop(ta);
                out
            },
            async {
                let out = kkrt::run_sender(&tb, &ALICE, params, b, &pb).await;
                drop(tb);
                out
            }
        )
    })
    .await;
    if out.0.is_ok() && out.1.is_ok() {
        // Both count both sets' ids, and finish at their total.
        let (da, na) = pa.snapshot();
        let (db, nb) = pb.snapshot();
        assert_eq!((da, db), (na, nb), "progress ends complete");
        assert_eq!(na, nb);
    }
    out
}

#[tokio::test]
async fn kkrt_agrees_with_ecdh_on_random_sets() {
    for (a_only, b_only, overlap) in [(150, 90, 60), (1, 500, 1), (700, 3, 0), (0, 0, 40)] {
        let (a, b, common) = sets(a_only, b_only, overlap);
        let (ia, rb) = kkrt_pair(KkrtParams::default(), &a, &b).await;
        let (ea, eb) = ecdh_pair(EcdhParams::default(), &a, &b).await;
        let want = PsiOutput::Intersection(common);
        assert_eq!(ia.unwrap(), want, "receiver, {a_only}/{b_only}/{overlap}");
        assert_eq!(rb.unwrap(), want, "sender");
        assert_eq!(ea.unwrap(), want, "ecdh initiator");
        assert_eq!(eb.unwrap(), want, "ecdh responder");
    }
}

#[tokio::test]
async fn kkrt_receiver_only_reveal_tells_the_sender_nothing() {
    let (a, b, common) = sets(30, 40, 25);
    let params = KkrtParams { reveal: KkrtReveal::Receiver, ..KkrtParams::default() };
    let (ia, rb) = kkrt_pair(params, &a, &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Intersection(common));
    assert_eq!(rb.unwrap(), PsiOutput::Nothing);
}

/// Sets large enough for several matrix batches (2^15 bins each) and several
/// encoding chunks (2^16 each) per hash function.
#[tokio::test]
async fn kkrt_streams_many_batches_and_chunks() {
    let (a, b, common) = sets(40_000, 50_000, 30_000);
    let (ia, rb) = kkrt_pair(KkrtParams::default(), &a, &b).await;
    let want = PsiOutput::Intersection(common);
    assert_eq!(ia.unwrap(), want);
    assert_eq!(rb.unwrap(), want);
}

#[tokio::test]
async fn kkrt_empty_sets_duplicates_and_unusual_ids() {
    let (_, b, _) = sets(0, 20, 0);
    for (a, b) in [(vec![], b.clone()), (b.clone(), vec![]), (vec![], vec![])] {
        let (ia, rb) = kkrt_pair(KkrtParams::default(), &a, &b).await;
        assert_eq!(ia.unwrap(), PsiOutput::Intersection(vec![]));
        assert_eq!(rb.unwrap(), PsiOutput::Intersection(vec![]));
    }
    let a: Vec<Vec<u8>> = ["x", "x", "y", "z", "z", "z"].map(|s| s.as_bytes().to_vec()).to_vec();
    let b: Vec<Vec<u8>> = ["z", "x", "x", "w"].map(|s| s.as_bytes().to_vec()).to_vec();
    let (ia, rb) = kkrt_pair(KkrtParams::default(), &a, &b).await;
    let want = PsiOutput::Intersection(vec![b"x".to_vec(), b"z".to_vec()]);
    assert_eq!(ia.unwrap(), want);
    assert_eq!(rb.unwrap(), want);

    let a = unusual_ids();
    let mut b = unusual_ids()[1..].to_vec();
    b.push("x".repeat(100_001).into_bytes());
    let mut want: Vec<Vec<u8>> = unusual_ids()[1..].to_vec();
    want.sort();
    let (ia, rb) = kkrt_pair(KkrtParams::default(), &a, &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Intersection(want.clone()));
    assert_eq!(rb.unwrap(), PsiOutput::Intersection(want));
}

#[tokio::test]
async fn kkrt_mismatched_parameters_and_oversized_sets_fail_cleanly() {
    let (a, b, _) = sets(10, 10, 5);
    let net = MemoryNetwork::new(64 << 20);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    let receiver_only = KkrtParams { reveal: KkrtReveal::Receiver, ..KkrtParams::default() };
    let (ra, sb) = bounded(async {
        tokio::join!(
            async {
                let out = kkrt::run_receiver(&ta, &BOB, receiver_only, &a, &Progress::new()).await;
                drop(ta);
                out
            },
            async {
                let out = kkrt::run_sender(&tb, &ALICE, KkrtParams::default(), &b, &Progress::new()).await;
                drop(tb);
                out
            }
        )
    })
    .await;
    assert!(matches!(sb, Err(Error::ParamsMismatch(_))), "{sb:?}");
    assert!(ra.is_err(), "the receiver sees the sender leave: {ra:?}");

    // A sender limited to 5 ids refuses a receiver announcing 15.
    let limited = KkrtParams { max_items: 5, ..KkrtParams::default() };
    let net = MemoryNetwork::new(64 << 20);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    let (_, sb) = bounded(async {
        tokio::join!(
            async {
                let out = kkrt::run_receiver(&ta, &BOB, KkrtParams::default(), &a, &Progress::new()).await;
                drop(ta);
                out
            },
            async {
                let out = kkrt::run_sender(&tb, &ALICE, limited, &b[..3], &Progress::new()).await;
                drop(tb);
                out
            }
        )
    })
    .await;
    assert!(matches!(sb, Err(Error::TooManyItems { count: 15, max: 5, .. })), "{sb:?}");
    // And a party never runs with more ids than its own limit.
    assert!(matches!(kkrt::Receiver::new(limited, &a), Err(Error::InvalidParams(_))));
}

/// A receiver that sends a truncated matrix batch, or one out of order, or
/// disappears mid-run: the sender fails with a clear error and learns nothing.
#[tokio::test]
async fn kkrt_sender_refuses_a_bad_or_missing_matrix() {
    let (a, b, _) = sets(50, 50, 20);
    for fault in ["truncated", "out-of-order", "gone"] {
        let net = MemoryNetwork::new(64 << 20);
        let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
        let (_, sb) = bounded(async {
            tokio::join!(
                async {
                    let receiver = kkrt::Receiver::new(KkrtParams::default(), &a).unwrap();
                    ta.send(&BOB, kkrt::TAG_HELLO, receiver.hello().encode()).await.unwrap();
                    let base = kkrt::Base::decode(&ta.recv(&BOB, kkrt::TAG_BASE).await.unwrap(), 1 << 20).unwrap();
                    let mut stream = receiver.on_base(base).unwrap();
                    let (batch, _) = stream.next_matrix().unwrap().unwrap();
                    let bad = match fault {
                        "truncated" => {
                            let mut bytes = batch.encode();
                            bytes.truncate(bytes.len() - 1);
                            Some(bytes)
                        }
                        "out-of-order" => Some(MatrixBatch { index: 1, ..batch }.encode()),
                        _ => None,
                    };
                    if let Some(bad) = bad {
                        ta.send(&BOB, kkrt::TAG_MATRIX, bad).await.unwrap();
                    }
                    drop(ta);
                },
                async {
                    let out = kkrt::run_sender(&tb, &ALICE, KkrtParams::default(), &b, &Progress::new()).await;
                    drop(tb);
                    out
                }
            )
        })
        .await;
        let message = sb.expect_err(fault).to_string();
        let expected = match fault {
            "truncated" => "malformed KKRT matrix batch",
            "out-of-order" => "batch 1 arrived, expected 0",
            _ => "closed",
        };
        assert!(message.contains(expected), "{fault}: {message}");
    }
}

/// A sender whose encodings are cut short, or arrive in the wrong order: the
/// receiver fails instead of reporting a partial intersection.
#[tokio::test]
async fn kkrt_receiver_refuses_bad_or_missing_encodings() {
    let (a, b, _) = sets(50, 50, 20);
    for fault in ["short", "out-of-order", "gone"] {
        let net = MemoryNetwork::new(64 << 20);
        let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
        let (ra, _) = bounded(async {
            tokio::join!(
                async {
                    let out = kkrt::run_receiver(&ta, &BOB, KkrtParams::default(), &a, &Progress::new()).await;
                    drop(ta);
                    out
                },
                async {
                    let sender = kkrt::Sender::new(KkrtParams::default(), &b).unwrap();
                    let hello = kkrt::Hello::decode(&tb.recv(&ALICE, kkrt::TAG_HELLO).await.unwrap(), 1 << 20).unwrap();
                    let (base, mut stream) = sender.on_hello(hello).unwrap();
                    tb.send(&ALICE, kkrt::TAG_BASE, base.encode()).await.unwrap();
                    for index in 0..stream.batches() {
                        let batch = MatrixBatch::decode(&tb.recv(&ALICE, kkrt::TAG_MATRIX).await.unwrap()).unwrap();
                        stream.on_matrix(batch).unwrap();
                        let mut ack = vec![kkrt::VERSION, 4];
                        ack.extend_from_slice(&index.to_be_bytes());
                        tb.send(&ALICE, kkrt::TAG_ACK, ack).await.unwrap();
                    }
                    let mut chunk = stream.next_encodings().unwrap().unwrap();
                    match fault {
                        "short" => {
                            chunk.values.pop();
                        }
                        "out-of-order" => chunk.chunk = 1,
                        _ => {
                            drop(tb);
                            return;
                        }
                    }
                    tb.send(&ALICE, kkrt::TAG_ENCODINGS, chunk.encode()).await.unwrap();
                    drop(tb);
                }
            )
        })
        .await;
        let message = ra.expect_err(fault).to_string();
        let expected = match fault {
            "short" => "expected 210 encodings",
            "out-of-order" => "chunk 1 arrived, expected chunk 0",
            _ => "closed",
        };
        assert!(message.contains(expected), "{fault}: {message}");
    }
}

#[tokio::test]
async fn kkrt_refuses_a_peer_larger_than_its_registered_dataset() {
    let (a, b, _) = sets(5, 15, 5); // receiver: 10 ids, sender: 20
    let limited = KkrtParams { peer_max_items: Some(15), ..KkrtParams::default() };
    let (receiver, sender) = kkrt_pair(limited, &a, &b).await;
    assert!(matches!(receiver, Err(Error::PeerSetTooLarge { announced: 20, max: 15 })), "{receiver:?} / {sender:?}");
    let (receiver, sender) = kkrt_pair(limited, &b, &a).await;
    assert!(matches!(sender, Err(Error::PeerSetTooLarge { announced: 20, max: 15 })), "{receiver:?} / {sender:?}");
    let (receiver, sender) = kkrt_pair(KkrtParams { peer_max_items: Some(20), ..limited }, &a, &b).await;
    assert!(receiver.is_ok() && sender.is_ok(), "{receiver:?} / {sender:?}");
}
