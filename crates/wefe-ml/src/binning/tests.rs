use ndarray::{Array2, array};
use wefe_core::{MemoryNetwork, PeerId, Progress};

use super::federated::{self, Reveal, WoeParams};
use super::*;
use crate::test_util::{join_all, key512};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

#[test]
fn quantile_cuts_are_exact_and_missing_values_get_their_own_bin() {
    let x: Array2<f64> = Array2::from_shape_fn((100, 1), |(r, _)| r as f64);
    let e = BinEdges::fit(x.view(), &names(1), BinMethod::Quantile, 4).unwrap();
    assert_eq!(e.columns[0].cuts, vec![24.0, 49.0, 74.0]);
    let b = e.apply(x.view()).unwrap();
    let mut per_bin = [0; 5];
    b.feature(0).iter().for_each(|&v| per_bin[v as usize] += 1);
    assert_eq!(per_bin, [25, 25, 25, 25, 0]);
    assert_eq!(e.columns[0].bin_of(f64::NAN), 4);
    assert_eq!(e.columns[0].interval(4), "missing");
    assert_eq!(e.columns[0].interval(0), "(-inf, 24]");
}

#[test]
fn few_distinct_values_give_few_bins_and_equal_width_has_no_empty_bins() {
    let x = array![[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, f64::NAN], [0.0, 1.0], [10.0, 1.0]];
    let q = BinEdges::fit(x.view(), &names(2), BinMethod::Quantile, 32).unwrap();
    assert_eq!(q.columns[0].cuts, vec![0.0, 1.0]);
    assert!(q.columns[1].cuts.is_empty(), "a constant column has one value bin");
    let w = BinEdges::fit(x.view(), &names(2), BinMethod::EqualWidth, 10).unwrap();
    // 0, 1 and 10 in widths of 1: 0 and 1 share the first interval, and the
    // eight empty intervals between 1 and 10 are merged.
    assert_eq!(w.columns[0].cuts, vec![1.0]);
    let b = w.apply(x.view()).unwrap();
    assert_eq!(b.feature(1)[3] as usize, w.columns[1].missing_bin());
    assert!(BinEdges::fit(x.view(), &names(2), BinMethod::Quantile, 1).is_err());
    assert!(BinEdges::fit(x.view(), &names(1), BinMethod::Quantile, 4).is_err());
    let inf = array![[f64::INFINITY]];
    let err = BinEdges::fit(inf.view(), &names(1), BinMethod::Quantile, 4).unwrap_err();
    assert!(err.to_string().contains("row 0, column 0"), "{err}");
}

#[test]
fn woe_and_iv_match_a_hand_computation() {
    let spec = ColumnBins { name: "age".into(), cuts: vec![30.0] };
    // bins: (≤30) 40 rows 10 events; (>30) 60 rows 30 events; missing empty.
    let w = woe_iv(&spec, &[(40, 10), (60, 30), (0, 0)]).unwrap();
    let (e, ne): (f64, f64) = (40.0, 60.0);
    let woe0 = ((10.0 / e) / (30.0 / ne)).ln();
    let woe1 = ((30.0 / e) / (30.0 / ne)).ln();
    assert!((w.bins[0].woe - woe0).abs() < 1e-12);
    assert!((w.bins[1].woe - woe1).abs() < 1e-12);
    let iv = (10.0 / e - 30.0 / ne) * woe0 + (30.0 / e - 30.0 / ne) * woe1;
    assert!((w.iv - iv).abs() < 1e-12);
    assert_eq!(w.bins[2].woe, 0.0);
    // A bin without non-events is adjusted by 0.5, never infinite.
    let w = woe_iv(&spec, &[(10, 10), (90, 30), (0, 0)]).unwrap();
    assert!(w.bins[0].woe.is_finite() && w.iv.is_finite());
    assert!(woe_iv(&spec, &[(10, 0), (90, 0), (0, 0)]).is_err(), "one class only");
    assert!(woe_iv(&spec, &[(10, 11), (90, 0), (0, 0)]).is_err());
    let csv = woe_csv(&[w]);
    assert!(csv.starts_with("feature,bin,interval,"));
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn federated_woe_equals_the_plaintext_counts() {
    let rows = 300;
    let mut rng = crate::data::SplitMix64::new(3);
    let x: Array2<f64> = Array2::from_shape_fn((rows, 4), |(_, c)| {
        let v = (rng.next_u64() % 1000) as f64 / 100.0;
        if c == 3 && v < 0.5 { f64::NAN } else { v }
    });
    let y: Vec<f64> = (0..rows).map(|r| if x[[r, 0]] + x[[r, 2]] > 10.0 { 1.0 } else { 0.0 }).collect();
    let gx_owned = x.select(ndarray::Axis(1), &[0]);
    let hx_owned = x.select(ndarray::Axis(1), &[1, 2, 3]);
    let (gx, hx) = (gx_owned.view(), hx_owned.view());
    let ge = BinEdges::fit(gx, &names(1), BinMethod::Quantile, 8).unwrap();
    let hnames: Vec<String> = vec!["h1".into(), "h2".into(), "h3".into()];
    let he = BinEdges::fit(hx, &hnames, BinMethod::Quantile, 8).unwrap();
    let (gb, hb) = (ge.apply(gx).unwrap(), he.apply(hx).unwrap());
    let params = WoeParams { reveal: Reveal::Iv, min_bin_rows: 10 };
    let net = MemoryNetwork::new(1 << 22);
    let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
    let (g_ep, h_ep) = (net.endpoint(g), net.endpoint(h));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let p = Progress::new();
    let key = key512();
    let guest_in = federated::GuestInput { binned: &gb, edges: &ge, labels: &y };
    let hosts = [h];
    let (gr, hr) = rt.block_on(async {
        let gf = federated::run_guest(&g_ep, &hosts, params, &key, guest_in, &p);
        let hf = join_all(vec![federated::run_host(&h_ep, &g, params, &hb, &he, true, &p)]);
        tokio::join!(gf, hf)
    });
    let gr = gr.unwrap();
    let hr = hr.into_iter().next().unwrap().unwrap();
    let expect: Vec<ColumnWoe> =
        he.columns.iter().zip(bin_counts(&hb, &y).unwrap()).map(|(s, c)| woe_iv(s, &c).unwrap()).collect();
    for (got, want) in hr.iter().zip(&expect) {
        for (a, b) in got.bins.iter().zip(&want.bins) {
            if a.suppressed {
                assert!(b.rows > 0 && b.rows < 10);
            } else {
                assert_eq!((a.rows, a.events), (b.rows, b.events));
                assert_eq!(a.woe, b.woe);
            }
        }
    }
    // The small missing bin of h3 (values < 0.5 → about 5% of rows) is suppressed or large enough.
    assert_eq!(gr.host_ivs[0].as_ref().unwrap().len(), 3);
    assert_eq!(gr.host_ivs[0].as_ref().unwrap()[1], hr[1].iv);
    assert_eq!(gr.columns.len(), 1);
    assert!(hr[1].iv > hr[0].iv, "x2 carries the signal: {} vs {}", hr[1].iv, hr[0].iv);
}
