use ndarray::Array2;
use wefe_core::{MemoryNetwork, PeerId, Progress};

use super::plain::{PlainModel, PlainNode};
use super::predict::{run_predict_guest, run_predict_host};
use super::*;
use crate::binning::{BinEdges, BinMethod, Binned};
use crate::test_util::{join_all, key512};

fn peer(i: u8) -> PeerId {
    PeerId::from_bytes([i; 20])
}

/// A non-linear problem: the label depends on an interaction and a
/// threshold across parties' columns (trees beat a linear model here).
fn fixture(rows: usize, cols: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = SplitMix64::new(seed);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let x = Array2::from_shape_fn((rows, cols), |_| unit());
    let y = (0..rows)
        .map(|r| {
            let s = x[[r, 0]] * x[[r, cols - 1]] * 4.0 + if x[[r, 1]] > 0.3 { 1.5 } else { -0.5 } + 0.5 * unit();
            if s > 0.0 { 1.0 } else { 0.0 }
        })
        .collect();
    (x, y)
}

/// Columns `range` of `x`.
fn cols(x: &Array2<f64>, range: std::ops::Range<usize>) -> Array2<f64> {
    x.select(ndarray::Axis(1), &range.collect::<Vec<_>>())
}

fn bin(x: &Array2<f64>, range: std::ops::Range<usize>, bins: u16) -> (Binned, BinEdges) {
    let part = cols(x, range.clone());
    let names: Vec<String> = range.map(|c| format!("x{c}")).collect();
    let edges = BinEdges::fit(part.view(), &names, BinMethod::Quantile, bins).unwrap();
    (edges.apply(part.view()).unwrap(), edges)
}

/// Trains federated with columns split at `splits` (guest first).
fn federated(
    params: BoostParams,
    x: &Array2<f64>,
    y: &[f64],
    splits: &[std::ops::Range<usize>],
    validation: Option<(&Array2<f64>, &[f64])>,
) -> Result<((BoostModel, BoostReport), Vec<BoostModel>)> {
    let net = MemoryNetwork::new(1 << 22);
    let host_ids: Vec<PeerId> = (0..splits.len() - 1).map(|i| peer(i as u8 + 2)).collect();
    let (gb, ge) = bin(x, splits[0].clone(), 16);
    let gval = validation.map(|(vx, vy)| (ge.apply(cols(vx, splits[0].clone()).view()).unwrap(), vy.to_vec()));
    let guest = GuestData { train: gb, labels: y.to_vec(), validation: gval, edges: ge };
    let hosts: Vec<HostData> = splits[1..]
        .iter()
        .map(|range| {
            let (hb, he) = bin(x, range.clone(), 16);
            let hval = validation.map(|(vx, _)| he.apply(cols(vx, range.clone()).view()).unwrap());
            HostData { train: hb, validation: hval, edges: he }
        })
        .collect();
    let guest_ep = net.endpoint(peer(1));
    let host_eps: Vec<_> = host_ids.iter().map(|&id| net.endpoint(id)).collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (gp, hp) = (Progress::new(), Progress::new());
    let guest_id = peer(1);
    rt.block_on(async {
        let g = run_guest(&guest_ep, &host_ids, params, key512(), guest, &gp);
        let hs =
            join_all(host_eps.iter().zip(hosts).map(|(ep, h)| run_host(ep, &guest_id, params, h, true, &hp)).collect());
        let (g, hs) = tokio::join!(g, hs);
        Ok((g?, hs.into_iter().collect::<Result<Vec<_>>>()?))
    })
}

/// The federated model as a reference model (host splits looked up in the hosts' shares).
fn as_plain(guest: &BoostModel, hosts: &[BoostModel]) -> PlainModel {
    let BoostModel::Guest { base_score, trees, .. } = guest else { panic!("guest model") };
    let trees = trees
        .iter()
        .enumerate()
        .map(|(t, tree)| {
            tree.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| match n {
                    Node::Leaf { value } => PlainNode::Leaf(*value),
                    Node::Guest { feature, threshold_bin, left, right, gain } => PlainNode::Split {
                        party: 0,
                        feature: *feature,
                        threshold_bin: *threshold_bin,
                        left: *left,
                        right: *right,
                        gain: *gain,
                    },
                    Node::Host { host, left, right, gain } => {
                        let BoostModel::Host { splits, .. } = &hosts[*host as usize] else { panic!("host model") };
                        let s = splits
                            .iter()
                            .find(|s| s.tree == t as u32 && s.node == i as u32)
                            .expect("host keeps the split");
                        assert_eq!(s.gain, *gain);
                        PlainNode::Split {
                            party: host + 1,
                            feature: s.feature,
                            threshold_bin: s.threshold_bin,
                            left: *left,
                            right: *right,
                            gain: *gain,
                        }
                    }
                })
                .collect()
        })
        .collect();
    PlainModel { base_score: *base_score, trees }
}

#[test]
fn federated_trees_equal_the_plaintext_reference() {
    let (x, y) = fixture(400, 7, 11);
    let splits = [0..3, 3..5, 5..7];
    let params = BoostParams { trees: 4, max_depth: 3, min_child_rows: 5, ..BoostParams::default() };
    let ((guest, report), hosts) = federated(params, &x, &y, &splits, None).unwrap();
    let parts: Vec<(Binned, BinEdges)> = splits.iter().map(|c| bin(&x, c.clone(), 16)).collect();
    let refs: Vec<&Binned> = parts.iter().map(|p| &p.0).collect();
    let plain = plain::train(&params, &refs, &y).unwrap();
    assert_eq!(as_plain(&guest, &hosts), plain);
    assert_eq!(report.trees_kept, 4);
    // Hosts' splits were used, and the loss falls.
    assert!(plain.trees.iter().flatten().any(|n| matches!(n, PlainNode::Split { party: 1.., .. })));
    assert!(report.history.windows(2).all(|w| w[1].train_loss < w[0].train_loss));
}

#[test]
fn sampling_and_early_stopping_still_match_the_reference() {
    let (x, y) = fixture(500, 6, 5);
    let (vx, vy) = fixture(200, 6, 6);
    let splits = [0..2, 2..6];
    let params = BoostParams {
        trees: 30,
        max_depth: 2,
        learning_rate: 0.8,
        row_sample: 0.7,
        feature_sample: 0.6,
        min_child_rows: 8,
        early_stopping: Some(BoostEarlyStopping { patience: 2, min_delta: 0.0 }),
        seed: 42,
        ..BoostParams::default()
    };
    let ((guest, report), hosts) = federated(params, &x, &y, &splits, Some((&vx, &vy))).unwrap();
    let parts: Vec<(Binned, BinEdges)> = splits.iter().map(|c| bin(&x, c.clone(), 16)).collect();
    let refs: Vec<&Binned> = parts.iter().map(|p| &p.0).collect();
    let mut plain = plain::train(&params, &refs, &y).unwrap();
    plain.trees.truncate(report.trees_kept as usize);
    assert_eq!(as_plain(&guest, &hosts), plain);
    assert!(report.history.iter().all(|h| h.validation_loss.is_some()));
    // The validation scores of the kept trees are those of the reference.
    let vparts: Vec<Binned> =
        splits.iter().zip(&parts).map(|(c, (_, e))| e.apply(cols(&vx, c.clone()).view()).unwrap()).collect();
    let vrefs: Vec<&Binned> = vparts.iter().collect();
    let expect = plain.predict(&vrefs);
    assert_eq!(report.validation_scores, expect);
    let BoostModel::Host { trees, .. } = &hosts[0] else { panic!() };
    assert_eq!(*trees, report.trees_kept);
}

#[test]
fn federated_prediction_equals_reference_prediction() {
    let (x, y) = fixture(300, 5, 9);
    let (px, _) = fixture(120, 5, 10);
    let splits = [0..2, 2..5];
    let params = BoostParams { trees: 3, max_depth: 3, min_child_rows: 4, ..BoostParams::default() };
    let ((guest, _), hosts) = federated(params, &x, &y, &splits, None).unwrap();
    let BoostModel::Guest { edges: ge, .. } = &guest else { panic!() };
    let BoostModel::Host { edges: he, .. } = &hosts[0] else { panic!() };
    let gb = ge.apply(cols(&px, 0..2).view()).unwrap();
    let hb = he.apply(cols(&px, 2..5).view()).unwrap();
    let net = MemoryNetwork::new(1 << 20);
    let (g_ep, h_ep) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (g_id, h_ids) = (peer(1), [peer(2)]);
    let (scores, host) = rt.block_on(async {
        tokio::join!(run_predict_guest(&g_ep, &h_ids, &guest, &gb), run_predict_host(&h_ep, &g_id, &hosts[0], &hb))
    });
    host.unwrap();
    let expect = as_plain(&guest, &hosts).predict(&[&gb, &hb]);
    assert_eq!(scores.unwrap(), expect);
    // A guest model on the host side (or the reverse) is refused.
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let err = rt.block_on(run_predict_host(&h_ep, &g_id, &guest, &hb)).unwrap_err();
    assert!(err.to_string().contains("host's model share"), "{err}");
}

#[test]
fn a_host_with_other_parameters_is_refused() {
    let (x, y) = fixture(100, 4, 1);
    let net = MemoryNetwork::new(1 << 22);
    let (gb, ge) = bin(&x, 0..2, 8);
    let (hb, he) = bin(&x, 2..4, 8);
    let params = BoostParams { trees: 1, max_depth: 1, min_child_rows: 4, ..BoostParams::default() };
    let other = BoostParams { l2: 2.0, ..params };
    let (g_ep, h_ep) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let p = Progress::new();
    let (g_id, h_ids) = (peer(1), [peer(2)]);
    let host = rt.block_on(async {
        let guest = GuestData { train: gb, labels: y, validation: None, edges: ge };
        let h = run_host(&h_ep, &g_id, other, HostData { train: hb, validation: None, edges: he }, true, &p);
        let g = run_guest(&g_ep, &h_ids, params, key512(), guest, &p);
        tokio::select! { h = h => h, _ = g => panic!("the guest cannot finish alone") }
    });
    assert!(matches!(host, Err(Error::ParamsMismatch(_))), "{host:?}");
}

#[test]
fn parameters_and_models_are_checked() {
    let p = BoostParams::default();
    assert!(p.validate().is_ok());
    for bad in [
        BoostParams { trees: 0, ..p },
        BoostParams { max_depth: 17, ..p },
        BoostParams { learning_rate: 0.0, ..p },
        BoostParams { min_child_rows: 1, ..p },
        BoostParams { row_sample: 1.5, ..p },
        BoostParams { l2: f64::NAN, ..p },
    ] {
        assert!(matches!(bad.validate(), Err(Error::InvalidParams(_))), "{bad:?}");
    }
    assert!(BoostModel::from_bytes(b"{}").is_err());
    let edges = BinEdges { method: BinMethod::Quantile, max_bins: 4, columns: Vec::new() };
    let cyclic = BoostModel::Guest {
        base_score: 0.0,
        trees: vec![Tree {
            nodes: vec![Node::Host { host: 0, left: 0, right: 1, gain: 1.0 }, Node::Leaf { value: 0.0 }],
        }],
        edges,
        hosts: 1,
    };
    assert!(BoostModel::from_bytes(&cyclic.to_bytes()).unwrap_err().to_string().contains("children out of order"));
}

#[test]
fn the_gh_layout_never_carries_between_slots() {
    let layout = GhLayout::for_rows(1000);
    let worst = Gh { g: 1 << (GH_FRAC_BITS + 1), h: 1 << (GH_FRAC_BITS - 2) };
    let mut sum = GhSum::default();
    let mut m = rug::Integer::new();
    for _ in 0..1000 {
        sum.add(worst);
        m += layout.row_plaintext(worst);
    }
    assert_eq!(layout.decode(&m).unwrap(), sum);
    assert_eq!(sum.real().0, 1000.0);
}
