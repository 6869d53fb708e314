//! Multi-party ECDH-PSI: 3 and 4 parties over the in-memory transport.

use std::collections::BTreeSet;

use wefe_core::{MemoryNetwork, PeerId};
use wefe_mpc::Error;
use wefe_mpc::psi::ecdh::OutputKind;
use wefe_mpc::psi::multi::{self, MultiParams};
use wefe_mpc::psi::{Progress, PsiOutput};

use crate::bounded;

fn party(i: u8) -> PeerId {
    PeerId::from_bytes([0x10 + i; 20])
}

/// Sets where every pair (and triple) shares ids that are not common to all.
fn sets(parties: usize) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let id = |s: String| s.into_bytes();
    let mut out: Vec<Vec<Vec<u8>>> = vec![Vec::new(); parties];
    let all: Vec<Vec<u8>> = (0..25).map(|i| id(format!("all-{i}"))).collect();
    for (p, set) in out.iter_mut().enumerate() {
        set.extend(all.iter().cloned());
        set.extend((0..30).map(|i| id(format!("own-{p}-{i}"))));
        // Pairwise: ids shared by p and q only.
        for q in 0..parties {
            if q != p {
                let (a, b) = (p.min(q), p.max(q));
                set.extend((0..7).map(|i| id(format!("pair-{a}-{b}-{i}"))));
            }
        }
    }
    let mut common = all;
    common.sort();
    (out, common)
}

async fn run_all(params: MultiParams, sets: &[Vec<Vec<u8>>]) -> Vec<wefe_mpc::Result<PsiOutput>> {
    let net = MemoryNetwork::new(64 << 20);
    let peers: Vec<PeerId> = (0..sets.len() as u8).map(party).collect();
    let transports: Vec<_> = peers.iter().map(|p| net.endpoint(*p)).collect();
    let progress: Vec<Progress> = sets.iter().map(|_| Progress::new()).collect();
    let run = |i: usize| {
        let (transports, peers, progress) = (&transports, &peers, &progress);
        async move { multi::run(&transports[i], peers, i, params, &sets[i], &progress[i]).await }
    };
    let outputs = bounded(async {
        match sets.len() {
            3 => {
                let (a, b, c) = tokio::join!(run(0), run(1), run(2));
                vec![a, b, c]
            }
            4 => {
                let (a, b, c, d) = tokio::join!(run(0), run(1), run(2), run(3));
                vec![a, b, c, d]
            }
            n => panic!("{n} parties"),
        }
    })
    .await;
    if outputs.iter().all(Result::is_ok) {
        for p in &progress {
            let (done, total) = p.snapshot();
            assert!(total > 0 && done == total, "progress ends complete: {done}/{total}");
        }
    }
    outputs
}

#[tokio::test]
async fn three_and_four_parties_find_exactly_the_ids_common_to_all() {
    for parties in [3, 4] {
        let (sets, common) = sets(parties);
        let outputs = run_all(MultiParams::default(), &sets).await;
        for (i, out) in outputs.into_iter().enumerate() {
            assert_eq!(out.unwrap(), PsiOutput::Intersection(common.clone()), "party {i} of {parties}");
        }
        let first_only = MultiParams { reveal_all: false, ..MultiParams::default() };
        let outputs = run_all(first_only, &sets).await;
        assert_eq!(outputs[0].as_ref().unwrap(), &PsiOutput::Intersection(common.clone()));
        assert!(outputs[1..].iter().all(|o| o.as_ref().unwrap() == &PsiOutput::Nothing));
        let cardinality = MultiParams { output: OutputKind::Cardinality, ..MultiParams::default() };
        for out in run_all(cardinality, &sets).await {
            assert_eq!(out.unwrap(), PsiOutput::Cardinality(common.len()));
        }
    }
}

#[tokio::test]
async fn empty_sets_and_an_empty_intersection() {
    let (mut sets, _) = sets(3);
    sets[2].clear();
    for out in run_all(MultiParams::default(), &sets).await {
        assert_eq!(out.unwrap(), PsiOutput::Intersection(vec![]));
    }
    let disjoint: Vec<Vec<Vec<u8>>> =
        (0..3).map(|p| (0..5).map(|i| format!("{p}-{i}").into_bytes()).collect()).collect();
    for out in run_all(MultiParams::default(), &disjoint).await {
        assert_eq!(out.unwrap(), PsiOutput::Intersection(vec![]));
    }
    // Large enough for several batches per set.
    let big: Vec<Vec<Vec<u8>>> =
        (0..3).map(|p| (p * 10_000..p * 10_000 + 40_000).map(|i| format!("c{i:07}").into_bytes()).collect()).collect();
    let want: BTreeSet<Vec<u8>> = (20_000..40_000).map(|i| format!("c{i:07}").into_bytes()).collect();
    let outputs = run_all(MultiParams::default(), &big).await;
    assert_eq!(outputs[1].as_ref().unwrap(), &PsiOutput::Intersection(want.into_iter().collect()));
}

#[tokio::test]
async fn mismatched_parameters_or_a_party_leaving_fail_every_party() {
    let (sets, _) = sets(3);
    let net = MemoryNetwork::new(64 << 20);
    let peers: Vec<PeerId> = (0..3).map(party).collect();
    let (t0, t1, t2) = (net.endpoint(peers[0]), net.endpoint(peers[1]), net.endpoint(peers[2]));
    let other = MultiParams { output: OutputKind::Cardinality, ..MultiParams::default() };
    let (a, b, c) = bounded(async {
        tokio::join!(
            async {
                let out = multi::run(&t0, &peers, 0, MultiParams::default(), &sets[0], &Progress::new()).await;
                drop(t0);
                out
            },
            async {
                let out = multi::run(&t1, &peers, 1, other, &sets[1], &Progress::new()).await;
                drop(t1);
                out
            },
            async {
                // Party 2 leaves right after its Hello.
                drop(t2);
                Ok::<_, Error>(PsiOutput::Nothing)
            }
        )
    })
    .await;
    assert!(matches!(b, Err(Error::ParamsMismatch(_)) | Err(Error::Transport(_))), "{b:?}");
    assert!(a.is_err(), "{a:?}");
    let _ = c;
    assert!(
        multi::run(&net.endpoint(party(9)), &peers[..2], 0, MultiParams::default(), &sets[0], &Progress::new())
            .await
            .unwrap_err()
            .to_string()
            .contains("3..=32 parties")
    );
}

/// A party bringing more ids than the rows it registered is refused by the
/// others as soon as its hello arrives (each party leaves when it stops, as a
/// node closes a failed job's mailboxes).
#[tokio::test]
async fn a_party_larger_than_its_registered_dataset_is_refused() {
    let (sets, _) = sets(3);
    assert!(sets.iter().all(|s| s.len() == 69));
    let net = MemoryNetwork::new(64 << 20);
    let peers: Vec<PeerId> = (0..3).map(party).collect();
    // Party 1 registered 68 rows and brings 69.
    let limits = [Some(69), Some(68), Some(69)];
    let run = |i: usize| {
        let transport = net.endpoint(peers[i]);
        let (peers, set) = (peers.clone(), sets[i].clone());
        async move {
            let progress = Progress::new();
            multi::run_with_limits(&transport, &peers, i, MultiParams::default(), &set, &limits, &progress).await
        }
    };
    let (a, b, c) = bounded(async { tokio::join!(run(0), run(1), run(2)) }).await;
    for (who, out) in [("first", &a), ("third", &c)] {
        assert!(matches!(out, Err(Error::PeerSetTooLarge { announced: 69, max: 68 })), "{who}: {out:?}");
    }
    assert!(b.is_err(), "the large party must not learn a result: {b:?}");
}
