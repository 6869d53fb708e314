use wefe_core::{MemoryNetwork, PeerId};

use super::*;
use crate::data::SplitMix64;
use crate::logistic::{LinearModel, TrainReport, train_plain};
use crate::test_util::{join_all, key512};
use crate::{Features, logistic::sigmoid};

/// A synthetic linearly separable-ish problem with `cols` features.
fn synthetic(rows: usize, cols: usize, seed: u64) -> (Features, Vec<f64>) {
    let mut rng = SplitMix64::new(seed);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let values: Vec<f64> = (0..rows * cols).map(|_| unit()).collect();
    let x = Features::new("synthetic", rows, cols, values).unwrap();
    let truth: Vec<f64> = (0..cols).map(|j| if j % 2 == 0 { 1.5 } else { -1.0 }).collect();
    let y = x.scores(&truth).iter().map(|&s| if sigmoid(3.0 * s) > unit() * 0.5 + 0.5 { 1.0 } else { 0.0 }).collect();
    (x, y)
}

fn peer(i: u8) -> PeerId {
    PeerId::from_bytes([i; 20])
}

/// Runs the protocol with the columns split at `splits` (guest first).
fn run(
    params: TrainParams,
    x: &Features,
    y: &[f64],
    splits: &[std::ops::Range<usize>],
    validation: Option<(&Features, &[f64])>,
) -> Result<((LinearModel, TrainReport), Vec<LinearModel>)> {
    let net = MemoryNetwork::new(1 << 24);
    let guest_ep = net.endpoint(peer(1));
    let host_ids: Vec<PeerId> = (0..splits.len() - 1).map(|i| peer(i as u8 + 2)).collect();
    let host_eps: Vec<_> = host_ids.iter().map(|&id| net.endpoint(id)).collect();
    let gval = validation.map(|(vx, vy)| (vx.select_columns(splits[0].clone()).unwrap(), vy.to_vec()));
    let guest = Guest::new(params, key512(), x.select_columns(splits[0].clone())?, y.to_vec(), gval, host_ids.len())?;
    let hosts: Vec<Host> = splits[1..]
        .iter()
        .map(|cols| {
            let hval = validation.map(|(vx, _)| vx.select_columns(cols.clone()).unwrap());
            Host::new(params, x.select_columns(cols.clone()).unwrap(), hval).unwrap().with_insecure_keys()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let guest_id = peer(1);
    rt.block_on(async {
        let guest_fut = run_guest(&guest_ep, &host_ids, guest);
        let host_futs = join_all(host_eps.iter().zip(hosts).map(|(ep, h)| run_host(ep, &guest_id, h)).collect());
        let (g, hs) = tokio::join!(guest_fut, host_futs);
        Ok((g?, hs.into_iter().collect::<Result<Vec<_>>>()?))
    })
}

#[test]
fn two_hosts_reproduce_plain_training() {
    let (x, y) = synthetic(120, 6, 3);
    let params = TrainParams {
        epochs: 4,
        batch_size: 32,
        learning_rate: 0.5,
        schedule: LrSchedule::InverseDecay { decay: 0.1 },
        l1: 0.001,
        l2: 0.01,
        seed: 9,
        ..TrainParams::default()
    };
    let ((guest, report), hosts) = run(params, &x, &y, &[0..2, 2..4, 4..6], None).unwrap();
    let (plain, plain_report) = train_plain(&params, &x, &y, None).unwrap();
    let joint: Vec<f64> = guest.weights.iter().chain(hosts.iter().flat_map(|h| h.weights.iter())).copied().collect();
    for (a, b) in joint.iter().zip(&plain.weights) {
        assert!((a - b).abs() < 1e-6, "{joint:?} vs {:?}", plain.weights);
    }
    assert!((guest.intercept - plain.intercept).abs() < 1e-6);
    assert_eq!(report.history.len(), 4);
    for (a, b) in report.history.iter().zip(&plain_report.history) {
        assert!((a.train_loss - b.train_loss).abs() < 1e-6);
    }
    // Same seed, same result (up to the masks, which cancel exactly).
    let ((again, _), _) = run(params, &x, &y, &[0..2, 2..4, 4..6], None).unwrap();
    assert_eq!(again, guest);
}

#[test]
fn early_stopping_with_two_hosts_keeps_the_best_epoch_on_every_party() {
    let (x, y) = synthetic(80, 4, 5);
    let (vx, vy) = synthetic(40, 4, 6);
    let params = TrainParams {
        epochs: 30,
        batch_size: 40,
        learning_rate: 2.0,
        early_stopping: Some(crate::logistic::EarlyStopping { patience: 2, min_delta: 0.01 }),
        residual: Residual::Taylor,
        ..TrainParams::default()
    };
    let ((guest, report), hosts) = run(params, &x, &y, &[0..2, 2..3, 3..4], Some((&vx, &vy))).unwrap();
    let (plain, plain_report) = train_plain(&params, &x, &y, Some((&vx, &vy))).unwrap();
    assert_eq!(report.history.len(), plain_report.history.len());
    assert!(report.history.len() < 30, "stopped early");
    assert_eq!(report.best_epoch, plain_report.best_epoch);
    let joint: Vec<f64> = guest.weights.iter().chain(hosts.iter().flat_map(|h| h.weights.iter())).copied().collect();
    for (a, b) in joint.iter().zip(&plain.weights) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn mismatched_parties_fail_cleanly() {
    let (x, y) = synthetic(40, 4, 1);
    let params = TrainParams { epochs: 1, batch_size: 16, ..TrainParams::default() };
    // Host configured with another seed.
    let guest = Guest::new(params, key512(), x.select_columns(0..2).unwrap(), y.clone(), None, 1).unwrap();
    let (_, setup) = guest.start().unwrap();
    let other = TrainParams { seed: 1, ..params };
    let host = Host::new(other, x.select_columns(2..4).unwrap(), None).unwrap().with_insecure_keys();
    assert!(matches!(host.on_setup(setup.clone()), Err(Error::ParamsMismatch(_))));
    // Host with fewer rows.
    let short = x.select_rows(&(0..39).collect::<Vec<_>>()).unwrap().select_columns(2..4).unwrap();
    let host = Host::new(params, short, None).unwrap().with_insecure_keys();
    assert!(matches!(host.on_setup(setup.clone()), Err(Error::Shape(_))));
    // A 512-bit key is refused unless the host opted in.
    let host = Host::new(params, x.select_columns(2..4).unwrap(), None).unwrap();
    assert!(matches!(Setup::decode(&setup.encode(), false), Err(Error::Malformed { .. })));
    assert!(host.on_setup(setup).is_err());
}

#[test]
fn out_of_order_messages_are_errors() {
    let (x, y) = synthetic(40, 4, 1);
    let params = TrainParams { epochs: 1, batch_size: 16, ..TrainParams::default() };
    let guest = Guest::new(params, key512(), x.select_columns(0..2).unwrap(), y, None, 1).unwrap();
    let (mut guest, setup) = guest.start().unwrap();
    let host = Host::new(params, x.select_columns(2..4).unwrap(), None).unwrap().with_insecure_keys();
    let (mut host, forward) = host.on_setup(setup).unwrap();
    let bogus = UnmaskedGradient { epoch: 0, batch: 0, values: vec![] };
    assert!(matches!(host.on_unmasked(bogus), Err(Error::UnexpectedMessage { .. })));
    let wrong_batch = Forward { batch: 1, ..forward.clone() };
    assert!(matches!(guest.on_forwards(vec![wrong_batch]), Err(Error::Malformed { .. })));
    let short = Forward { scores: forward.scores[1..].to_vec(), ..forward.clone() };
    assert!(matches!(guest.on_forwards(vec![short]), Err(Error::Malformed { .. })));
    let residuals = guest.on_forwards(vec![forward]).unwrap();
    let masked = host.on_residuals(residuals).unwrap();
    assert!(matches!(guest.on_masked_gradient(1, masked.clone()), Err(Error::Malformed { .. })));
    let (_, step) = guest.on_masked_gradient(0, masked.clone()).unwrap();
    assert_eq!(step, GuestStep::NextBatch);
    assert!(matches!(guest.on_masked_gradient(0, masked), Err(Error::UnexpectedMessage { .. })));
}

#[test]
fn guest_rejects_bad_inputs() {
    let x = Features::new("x", 2, 1, vec![1.0, 2.0]).unwrap();
    let p = TrainParams::default();
    assert!(matches!(Guest::new(p, key512(), x.clone(), vec![0.0, 2.0], None, 1), Err(Error::BadLabel { row: 1, .. })));
    assert!(matches!(Guest::new(p, key512(), x.clone(), vec![0.0, 1.0], None, 0), Err(Error::InvalidParams(_))));
    let es = TrainParams { early_stopping: Some(crate::logistic::EarlyStopping { patience: 1, min_delta: 0.0 }), ..p };
    assert!(matches!(Guest::new(es, key512(), x, vec![0.0, 1.0], None, 1), Err(Error::InvalidParams(_))));
}

#[test]
fn messages_round_trip_and_truncations_are_errors() {
    let sk = key512();
    let pk = sk.public();
    let params = TrainParams {
        early_stopping: Some(crate::logistic::EarlyStopping { patience: 3, min_delta: 0.5 }),
        schedule: LrSchedule::InverseDecay { decay: 0.25 },
        residual: Residual::Taylor,
        ..TrainParams::default()
    };
    let setup = Setup { params, train_rows: 10, validation_rows: 3, public_key: pk.clone() };
    let c = pk.encrypt(&rug::Integer::from(5)).unwrap();
    let forward = Forward { epoch: 1, batch: 2, scores: vec![0.5, -1.0] };
    let residuals = Residuals { epoch: 1, batch: 2, residuals: vec![c.clone(), c.clone()] };
    let masked = MaskedGradient { epoch: 1, batch: 2, values: vec![c] };
    let unmasked = UnmaskedGradient { epoch: 1, batch: 2, values: vec![rug::Integer::from(0), pk.n().clone() - 1u32] };
    let val = ValidationScores { epoch: 1, scores: vec![1.0] };
    let end = EpochEnd { epoch: 4, improved: false, stop: true };

    assert_eq!(Setup::decode(&setup.encode(), true).unwrap(), setup);
    assert_eq!(Forward::decode(&forward.encode(), 2).unwrap(), forward);
    assert_eq!(Residuals::decode(&residuals.encode(pk), pk, 2).unwrap(), residuals);
    assert_eq!(MaskedGradient::decode(&masked.encode(pk), pk).unwrap(), masked);
    assert_eq!(UnmaskedGradient::decode(&unmasked.encode(), pk).unwrap(), unmasked);
    assert_eq!(ValidationScores::decode(&val.encode(), 1).unwrap(), val);
    assert_eq!(EpochEnd::decode(&end.encode()).unwrap(), end);

    // Size limits.
    assert!(Forward::decode(&forward.encode(), 1).is_err());
    assert!(Residuals::decode(&residuals.encode(pk), pk, 1).is_err());
    // Wrong version.
    let mut v2 = end.encode();
    v2[0] = 2;
    assert!(matches!(EpochEnd::decode(&v2), Err(Error::Version { found: 2, .. })));
    // NaN score.
    let mut nan = forward.encode();
    let at = nan.len() - 8;
    nan[at..].copy_from_slice(&f64::NAN.to_bits().to_be_bytes());
    assert!(Forward::decode(&nan, 2).is_err());
    // Unmasked value ≥ n.
    let big = UnmaskedGradient { epoch: 0, batch: 0, values: vec![pk.n().clone()] };
    assert!(UnmaskedGradient::decode(&big.encode(), pk).is_err());
    // Every truncation and every trailing byte is an error, never a panic.
    type Fails<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;
    let all: Vec<(Vec<u8>, Fails<'_>)> = vec![
        (setup.encode(), Box::new(|b| Setup::decode(b, true).is_err())),
        (forward.encode(), Box::new(|b| Forward::decode(b, 2).is_err())),
        (residuals.encode(pk), Box::new(|b| Residuals::decode(b, pk, 2).is_err())),
        (masked.encode(pk), Box::new(|b| MaskedGradient::decode(b, pk).is_err())),
        (unmasked.encode(), Box::new(|b| UnmaskedGradient::decode(b, pk).is_err())),
        (val.encode(), Box::new(|b| ValidationScores::decode(b, 1).is_err())),
        (end.encode(), Box::new(|b| EpochEnd::decode(b).is_err())),
    ];
    for (bytes, fails) in &all {
        for cut in 0..bytes.len() {
            assert!(fails(&bytes[..cut]), "truncated at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(fails(&longer));
    }
}

#[tokio::test]
async fn a_garbled_message_is_an_error_naming_the_peer() {
    let (x, _) = synthetic(40, 4, 1);
    let params = TrainParams { epochs: 1, batch_size: 16, ..TrainParams::default() };
    let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
    let net = wefe_core::MemoryNetwork::new(1 << 20);
    let (g_net, h_net) = (net.endpoint(g), net.endpoint(h));
    // A Setup whose public key does not decode.
    let mut setup = vec![VERSION, 1];
    setup.extend_from_slice(&[0xff; 64]);
    g_net.send(&h, TAG_SETUP, setup).await.unwrap();
    let host = Host::new(params, x.select_columns(2..4).unwrap(), None).unwrap();
    let err = run_host(&h_net, &g, host).await.unwrap_err();
    assert!(matches!(&err, Error::FromPeer { peer, .. } if *peer == g.to_string()), "{err}");
    assert!(err.to_string().starts_with(&format!("from peer {g}: malformed vertical-LR setup")), "{err}");
}

#[test]
fn a_host_with_as_many_features_as_batch_rows_is_refused_before_it_learns_a_gradient() {
    let (x, y) = synthetic(41, 6, 1);
    // Batches of 4 rows (41 = 9 × 4 + 5: the remainder joins the last batch).
    let params = TrainParams { epochs: 1, batch_size: 4, ..TrainParams::default() };
    assert_eq!((params.batch_count(41), params.min_batch_rows(41), params.max_batch_rows(41)), (10, 4, 5));
    assert_eq!(params.batch_range(9, 41), 36..41);
    let guest = Guest::new(params, key512(), x.select_columns(0..2).unwrap(), y, None, 1).unwrap();
    let (mut guest, setup) = guest.start().unwrap();
    let host = Host::new(params, x.select_columns(2..6).unwrap(), None).unwrap().with_insecure_keys();
    let (mut host, forward) = host.on_setup(setup).unwrap();
    let residuals = guest.on_forwards(vec![forward]).unwrap();
    let masked = host.on_residuals(residuals).unwrap();
    let err = guest.on_masked_gradient(0, masked).unwrap_err();
    assert!(matches!(err, Error::InvalidParams(_)) && err.to_string().contains("4 features"), "{err}");
}
