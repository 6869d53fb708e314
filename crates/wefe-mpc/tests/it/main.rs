//! Both roles of each PSI protocol run concurrently over the in-memory transport.

mod kkrt;
mod multi;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use wefe_core::{MemoryNetwork, PeerId, TransportError};
use wefe_mpc::Error;
use wefe_mpc::psi::ecdh::{self, EcdhParams, OutputKind, Reveal};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};
use wefe_mpc::psi::{Progress, PsiOutput};

const ALICE: PeerId = PeerId::from_bytes([0xa1; 20]);
const BOB: PeerId = PeerId::from_bytes([0xb0; 20]);

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), future).await.expect("protocol hung")
}

/// Two random sets of distinct ids with exactly `overlap` in common; returns them and the sorted intersection.
type Ids = Vec<Vec<u8>>;

fn sets(a_only: usize, b_only: usize, overlap: usize) -> (Ids, Ids, Ids) {
    let mut rng = rand::thread_rng();
    let mut unique = BTreeSet::new();
    while unique.len() < a_only + b_only + overlap {
        unique.insert(format!("id-{:016x}", rng.r#gen::<u64>()).into_bytes());
    }
    let mut all: Vec<Vec<u8>> = unique.into_iter().collect();
    all.shuffle(&mut rng);
    let common = all[..overlap].to_vec();
    let mut a: Vec<Vec<u8>> = all[overlap..overlap + a_only].iter().chain(&common).cloned().collect();
    let mut b: Vec<Vec<u8>> = all[overlap + a_only..].iter().chain(&common).cloned().collect();
    a.shuffle(&mut rng);
    b.shuffle(&mut rng);
    let mut common = common;
    common.sort();
    (a, b, common)
}

async fn ecdh_pair(
    params: EcdhParams,
    a: &[Vec<u8>],
    b: &[Vec<u8>],
) -> (wefe_mpc::Result<PsiOutput>, wefe_mpc::Result<PsiOutput>) {
    let net = MemoryNetwork::new(64 << 20);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    bounded(async {
        let (pa, pb) = (Progress::new(), Progress::new());
        tokio::join!(ecdh::run_initiator(&ta, &BOB, params, a, &pa), ecdh::run_responder(&tb, &ALICE, params, b, &pb))
    })
    .await
}

#[tokio::test]
async fn ecdh_random_sets_with_known_overlap_in_every_mode() {
    let (a, b, common) = sets(150, 90, 60);
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        for output in [OutputKind::Intersection, OutputKind::Cardinality] {
            let params = EcdhParams { reveal, output, ..EcdhParams::default() };
            let (ia, rb) = ecdh_pair(params, &a, &b).await;
            let learned = match output {
                OutputKind::Intersection => PsiOutput::Intersection(common.clone()),
                OutputKind::Cardinality => PsiOutput::Cardinality(common.len()),
            };
            let (want_a, want_b) = match reveal {
                Reveal::Initiator => (learned.clone(), PsiOutput::Nothing),
                Reveal::Responder => (PsiOutput::Nothing, learned.clone()),
                Reveal::Both => (learned.clone(), learned.clone()),
            };
            assert_eq!(ia.unwrap(), want_a, "initiator, {params:?}");
            assert_eq!(rb.unwrap(), want_b, "responder, {params:?}");
        }
    }
}

#[tokio::test]
async fn ecdh_empty_sets() {
    let (_, b, _) = sets(0, 20, 0);
    for (a, b) in [(vec![], b.clone()), (b.clone(), vec![]), (vec![], vec![])] {
        let (ia, rb) = ecdh_pair(EcdhParams::default(), &a, &b).await;
        assert_eq!(ia.unwrap(), PsiOutput::Intersection(vec![]));
        assert_eq!(rb.unwrap(), PsiOutput::Intersection(vec![]));
    }
    let cardinality = EcdhParams { output: OutputKind::Cardinality, ..EcdhParams::default() };
    let (ia, _) = ecdh_pair(cardinality, &[], &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Cardinality(0));
}

/// Duplicates are removed before the protocol: each common id is reported once
/// and counted once.
#[tokio::test]
async fn ecdh_duplicates_are_deduplicated() {
    let a: Vec<Vec<u8>> = ["x", "x", "y", "z", "z", "z"].map(|s| s.as_bytes().to_vec()).to_vec();
    let b: Vec<Vec<u8>> = ["z", "x", "x", "w"].map(|s| s.as_bytes().to_vec()).to_vec();
    let (ia, rb) = ecdh_pair(EcdhParams::default(), &a, &b).await;
    let want = PsiOutput::Intersection(vec![b"x".to_vec(), b"z".to_vec()]);
    assert_eq!(ia.unwrap(), want);
    assert_eq!(rb.unwrap(), want);
    let cardinality = EcdhParams { output: OutputKind::Cardinality, ..EcdhParams::default() };
    let (ia, rb) = ecdh_pair(cardinality, &a, &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Cardinality(2));
    assert_eq!(rb.unwrap(), PsiOutput::Cardinality(2));
}

fn unusual_ids() -> Vec<Vec<u8>> {
    vec![
        "".into(),
        "客户-零零一".into(),
        "naïve café ☕ 👩‍💻".into(),
        "tab\tnew\nline".into(),
        "x".repeat(100_000).into_bytes(),
        vec![0, 0xff, 0xfe, 0],
        "customer-1".into(),
    ]
}

#[tokio::test]
async fn ecdh_unusual_ids() {
    let a = unusual_ids();
    let mut b = unusual_ids()[1..].to_vec(); // not the empty id
    b.push("x".repeat(100_001).into_bytes()); // near-miss of the long id
    b.push("客户-零零二".into());
    let mut want: Vec<Vec<u8>> = unusual_ids()[1..].to_vec();
    want.sort();
    let (ia, rb) = ecdh_pair(EcdhParams::default(), &a, &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Intersection(want.clone()));
    assert_eq!(rb.unwrap(), PsiOutput::Intersection(want));
}

#[tokio::test]
async fn ecdh_mismatched_parameters_and_oversized_messages_fail_cleanly() {
    let (a, b, _) = sets(10, 10, 5);
    let net = MemoryNetwork::new(1 << 20);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    let initiator_params = EcdhParams { reveal: Reveal::Initiator, ..EcdhParams::default() };
    let (ia, rb) = bounded(async {
        tokio::join!(
            async {
                let out = ecdh::run_initiator(&ta, &BOB, initiator_params, &a, &Progress::new()).await;
                drop(ta);
                out
            },
            async {
                let out = ecdh::run_responder(&tb, &ALICE, EcdhParams::default(), &b, &Progress::new()).await;
                drop(tb);
                out
            }
        )
    })
    .await;
    // Both parties compare the Hellos: each refuses the other's parameters.
    assert!(matches!(rb, Err(Error::ParamsMismatch(_))), "{rb:?}");
    assert!(matches!(ia, Err(Error::ParamsMismatch(_))), "{ia:?}");

    // 40 ids × 32 bytes do not fit in a 1 KiB message.
    let net = MemoryNetwork::new(1024);
    let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
    let (many, _, _) = sets(40, 0, 0);
    let (out, peer) = bounded(async {
        tokio::join!(
            async {
                let out = ecdh::run_initiator(&ta, &BOB, EcdhParams::default(), &many, &Progress::new()).await;
                drop(ta);
                out
            },
            async {
                let out = ecdh::run_responder(&tb, &ALICE, EcdhParams::default(), &[b"x"], &Progress::new()).await;
                drop(tb);
                out
            }
        )
    })
    .await;
    assert!(matches!(out, Err(Error::Transport(TransportError::TooLarge { .. }))), "{out:?}");
    assert!(matches!(peer, Err(Error::Transport(TransportError::Closed(_)))), "{peer:?}");

    // A peer limited to 5 items refuses a larger hello.
    let limited = EcdhParams { max_items: 5, ..EcdhParams::default() };
    let (ia, rb) = {
        let net = MemoryNetwork::new(1 << 20);
        let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
        bounded(async {
            tokio::join!(
                async {
                    let out = ecdh::run_initiator(&ta, &BOB, EcdhParams::default(), &a, &Progress::new()).await;
                    drop(ta);
                    out
                },
                async {
                    let out = ecdh::run_responder(&tb, &ALICE, limited, &b[..5], &Progress::new()).await;
                    drop(tb);
                    out
                }
            )
        })
        .await
    };
    assert!(matches!(rb, Err(Error::TooManyItems { count: 15, max: 5, .. })), "{rb:?}");
    assert!(ia.is_err());
}

fn signer() -> BlindSigner {
    static SIGNER: OnceLock<BlindSigner> = OnceLock::new();
    SIGNER.get_or_init(|| BlindSigner::generate(&RsaParams::default()).unwrap()).clone()
}

async fn rsa_pair(
    params: RsaParams,
    server: &[Vec<u8>],
    client: &[Vec<u8>],
) -> (wefe_mpc::Result<PsiOutput>, wefe_mpc::Result<PsiOutput>) {
    let net = MemoryNetwork::new(16 << 20);
    let (ts, tc) = (net.endpoint(ALICE), net.endpoint(BOB));
    let (ps, pc) = (Progress::new(), Progress::new());
    bounded(async {
        tokio::join!(
            rsa_blind::run_server(&ts, &BOB, params, signer(), server, &ps),
            rsa_blind::run_client(&tc, &ALICE, params, client, &pc)
        )
    })
    .await
}

#[tokio::test]
async fn rsa_random_sets_with_known_overlap_in_both_reveal_modes() {
    let (s, c, common) = sets(10, 6, 8);
    for server_set in [ServerSetEncoding::Bloom { fpr_log2: 40 }, ServerSetEncoding::HashList] {
        for reveal in [RsaReveal::Client, RsaReveal::Both] {
            let params = RsaParams { reveal, server_set, ..RsaParams::default() };
            let (server_out, client_out) = rsa_pair(params, &s, &c).await;
            assert_eq!(client_out.unwrap(), PsiOutput::Intersection(common.clone()), "{params:?}");
            let want = match reveal {
                RsaReveal::Client => PsiOutput::Nothing,
                RsaReveal::Both => PsiOutput::Intersection(common.clone()),
            };
            assert_eq!(server_out.unwrap(), want, "{params:?}");
        }
    }
}

#[tokio::test]
async fn rsa_empty_sets_duplicates_and_unusual_ids() {
    let both = RsaParams { reveal: RsaReveal::Both, ..RsaParams::default() };
    let (_, some, _) = sets(0, 4, 0);
    for (s, c) in [(vec![], some.clone()), (some.clone(), vec![]), (vec![], vec![])] {
        let (so, co) = rsa_pair(both, &s, &c).await;
        assert_eq!(so.unwrap(), PsiOutput::Intersection(vec![]));
        assert_eq!(co.unwrap(), PsiOutput::Intersection(vec![]));
    }

    let s: Vec<Vec<u8>> = ["x", "x", "y", "z", "z"].map(|s| s.as_bytes().to_vec()).to_vec();
    let c: Vec<Vec<u8>> = ["z", "x", "x", "w"].map(|s| s.as_bytes().to_vec()).to_vec();
    let (so, co) = rsa_pair(both, &s, &c).await;
    let want = PsiOutput::Intersection(vec![b"x".to_vec(), b"z".to_vec()]);
    assert_eq!(so.unwrap(), want);
    assert_eq!(co.unwrap(), want);

    let s = unusual_ids();
    let mut c = unusual_ids()[1..].to_vec();
    c.push("x".repeat(100_001).into_bytes());
    let mut want: Vec<Vec<u8>> = unusual_ids()[1..].to_vec();
    want.sort();
    let (so, co) = rsa_pair(both, &s, &c).await;
    assert_eq!(so.unwrap(), PsiOutput::Intersection(want.clone()));
    assert_eq!(co.unwrap(), PsiOutput::Intersection(want));
}

#[tokio::test]
async fn ecdh_larger_random_sets() {
    let mut rng = rand::thread_rng();
    let overlap = rng.gen_range(0..500);
    let (a, b, common) = sets(1000 - overlap, 700, overlap);
    let (ia, rb) = ecdh_pair(EcdhParams::default(), &a, &b).await;
    assert_eq!(ia.unwrap(), PsiOutput::Intersection(common.clone()));
    assert_eq!(rb.unwrap(), PsiOutput::Intersection(common));
}

/// A peer bringing more ids than its registered dataset holds (a dictionary
/// of guesses) is refused before any id is blinded or signed for it. (Each
/// side leaves when it stops, as a node closes a failed job's mailboxes, so
/// the other side's wait ends.)
#[tokio::test]
async fn a_peer_larger_than_its_registered_dataset_is_refused() {
    let (a, b, _) = sets(5, 15, 5); // a: 10 ids, b: 20
    let too_large =
        |r: &wefe_mpc::Result<PsiOutput>| matches!(r, Err(Error::PeerSetTooLarge { announced: 20, max: 15 }));
    let ecdh = async |params: EcdhParams, a: &[Vec<u8>], b: &[Vec<u8>]| {
        let net = MemoryNetwork::new(64 << 20);
        let (ta, tb) = (net.endpoint(ALICE), net.endpoint(BOB));
        let (pa, pb) = (Progress::new(), Progress::new());
        bounded(async {
            tokio::join!(async move { ecdh::run_initiator(&ta, &BOB, params, a, &pa).await }, async move {
                ecdh::run_responder(&tb, &ALICE, params, b, &pb).await
            })
        })
        .await
    };
    let limited = EcdhParams { peer_max_items: Some(15), ..EcdhParams::default() };
    let (ra, rb) = ecdh(limited, &a, &b).await;
    assert!(too_large(&ra), "{ra:?} / {rb:?}");
    let (ra, rb) = ecdh(EcdhParams { peer_max_items: Some(20), ..limited }, &a, &b).await;
    assert!(ra.is_ok() && rb.is_ok(), "{ra:?} / {rb:?}");

    // RSA: the server counts the client's request; the client bounds the
    // server's hash list or Bloom filter.
    let rsa = async |params: RsaParams, server: &[Vec<u8>], client: &[Vec<u8>]| {
        let net = MemoryNetwork::new(16 << 20);
        let (ts, tc) = (net.endpoint(ALICE), net.endpoint(BOB));
        let (ps, pc) = (Progress::new(), Progress::new());
        bounded(async {
            tokio::join!(
                async move { rsa_blind::run_server(&ts, &BOB, params, signer(), server, &ps).await },
                async move { rsa_blind::run_client(&tc, &ALICE, params, client, &pc).await }
            )
        })
        .await
    };
    for server_set in [ServerSetEncoding::HashList, ServerSetEncoding::Bloom { fpr_log2: 40 }] {
        let params = RsaParams { server_set, peer_max_items: Some(15), ..RsaParams::default() };
        let (server, client) = rsa(params, &a, &b).await; // the client brings 20
        assert!(too_large(&server), "{server_set:?}: {server:?} / {client:?}");
        let (_, client) = rsa(params, &b, &a).await; // the server brings 20
        assert!(matches!(client, Err(Error::PeerSetTooLarge { max: 15, .. })), "{server_set:?}: {client:?}");
        let (server, client) = rsa(RsaParams { peer_max_items: Some(20), ..params }, &b, &a).await;
        assert!(server.is_ok() && client.is_ok(), "{server_set:?}: {server:?} / {client:?}");
    }
}
