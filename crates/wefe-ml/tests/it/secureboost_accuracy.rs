//! Accuracy of SecureBoost against XGBoost `hist` with the same settings.
//!
//! The federated protocol is tested (in `secureboost::tests`) to build the
//! same trees as [`plain::train`], so the accuracy is checked on the
//! centralised reference: 20 trees of depth 3, η 0.3, λ 1,
//! `min_child_weight` 1, γ 0, no sampling, exact quantile bins (32, fitted
//! on the training rows), base score the log-odds of the training label mean.
//!
//! The XGBoost AUCs below were produced by
//! `python3 scripts/reference/xgboost_secureboost.py` with xgboost 3.2.0
//! (PyPI `xgboost-cpu`), numpy 2.4.6, Python 3.11.7, with the same settings
//! (`tree_method="hist"`, `max_bin=32`, `base_score` = training label mean);
//! the script re-implements the split of the LR tests and wrote
//! `tests/fixtures/nonlinear.csv` (`--write`). XGBoost is not needed to run
//! this test.
//!
//! On raw features the two differ only in cut points, and hold-out AUC
//! moves with them by a few thousandths: with 32 bins ours is +0.0013
//! (breast cancer) and +0.0008 (non-linear) from XGBoost, but the script's
//! raw and binned runs with 16, 64 or 128 bins differed by −0.007 to
//! +0.005. The exact check is therefore the second one: XGBoost given our
//! bins.

use wefe_ml::Features;
use wefe_ml::binning::{BinEdges, BinMethod, Binned};
use wefe_ml::logistic::{LrSchedule, TrainParams, train_plain};
use wefe_ml::metrics;
use wefe_ml::secureboost::{BoostParams, MIN_CHILD_ROWS_FLOOR, plain};

use crate::breast_cancer;

const MAX_BINS: u16 = 32;
/// Largest hold-out AUC difference to XGBoost the issue allows.
const TOLERANCE: f64 = 0.002;

/// XGBoost 3.2.0 `hist`, raw features, `max_bin=32` (its own quantile sketch).
const XGB_BREAST_CANCER_AUC: f64 = 0.9889018691588785;
/// XGBoost 3.2.0 `hist` on the non-linear fixture, raw features, `max_bin=32`.
const XGB_NONLINEAR_AUC: f64 = 0.9163189052795031;
/// XGBoost 3.2.0 `hist` fed our bin indices instead of raw values (the
/// script's "binned" run), so both search the same split candidates.
const XGB_BREAST_CANCER_SAME_BINS_AUC: f64 = 0.9902161214953271;
/// The same for the non-linear fixture.
const XGB_NONLINEAR_SAME_BINS_AUC: f64 = 0.9171033902691511;

const NONLINEAR_CSV: &str = include_str!("../fixtures/nonlinear.csv");
/// Rows of `nonlinear.csv` used for training; the rest are the hold-out.
const NONLINEAR_TRAIN_ROWS: usize = 1500;

/// XGBoost's settings; `min_child_rows` at its floor, which never binds here:
/// `min_child_weight` 1 with logistic hessians ≤ ¼ already needs ≥ 4 rows.
fn boost_params() -> BoostParams {
    BoostParams {
        trees: 20,
        max_depth: 3,
        learning_rate: 0.3,
        l2: 1.0,
        min_child_weight: 1.0,
        min_child_rows: MIN_CHILD_ROWS_FLOOR,
        min_split_gain: 0.0,
        row_sample: 1.0,
        feature_sample: 1.0,
        early_stopping: None,
        seed: 0,
    }
}

/// Bins fitted on `train`, applied to both parts.
fn bin(train: &Features, test: &Features) -> (Binned, Binned) {
    let names: Vec<String> = (0..train.cols()).map(|j| format!("x{j}")).collect();
    let edges = BinEdges::fit(train.view(), &names, BinMethod::Quantile, MAX_BINS).unwrap();
    (edges.apply(train.view()).unwrap(), edges.apply(test.view()).unwrap())
}

/// Hold-out AUC of the reference GBDT trained on one party holding every feature.
fn boost_auc(train: &Features, train_y: &[f64], test: &Features, test_y: &[f64]) -> f64 {
    let (btrain, btest) = bin(train, test);
    let model = plain::train(&boost_params(), &[&btrain], train_y).unwrap();
    metrics::auc(&model.predict(&[&btest]), test_y).unwrap()
}

/// The bound against XGBoost on raw features. The gap that remains
/// comes from the cut points alone (XGBoost's sketch vs our exact
/// quantiles): given our bins, XGBoost builds trees that rank the hold-out
/// rows exactly as ours do, so the AUCs are equal (one swapped pair would
/// move them by more than 1e-4).
fn check_against_xgboost(name: &str, ours: f64, xgboost: f64, xgboost_same_bins: f64) {
    eprintln!("{name}: hold-out AUC ours {ours:?}, XGBoost hist {xgboost:?}, diff {:+.6}", ours - xgboost);
    assert!((ours - xgboost).abs() <= TOLERANCE, "{name}: ours {ours} vs XGBoost {xgboost}");
    assert!(
        (ours - xgboost_same_bins).abs() <= 1e-12,
        "{name}: ours {ours} vs XGBoost on our bins {xgboost_same_bins}"
    );
}

#[test]
fn breast_cancer_auc_matches_xgboost_hist() {
    let (x, labels, (train_idx, test_idx)) = breast_cancer::raw();
    // The script's re-implementation of the split must pick the same rows.
    assert_eq!((train_idx.len(), test_idx.len(), test_idx.iter().sum::<usize>()), (398, 171, 49440));
    let pick = |idx: &[usize]| (x.select_rows(idx).unwrap(), idx.iter().map(|&i| labels[i]).collect::<Vec<_>>());
    let ((train, train_y), (test, test_y)) = (pick(&train_idx), pick(&test_idx));
    let ours = boost_auc(&train, &train_y, &test, &test_y);
    check_against_xgboost("breast cancer", ours, XGB_BREAST_CANCER_AUC, XGB_BREAST_CANCER_SAME_BINS_AUC);
}

/// `nonlinear.csv`: x0..x5 ~ N(0, 1), y = (x0 > 0 ∧ x1 > 0) ∨ |x2| > 1.2
/// with 10% of labels flipped (see the script). No linear score separates an
/// `|x2|` band or an AND of two half-planes, trees do.
fn nonlinear() -> (Features, Vec<f64>, Features, Vec<f64>) {
    let mut lines = NONLINEAR_CSV.lines();
    assert_eq!(lines.next().unwrap(), "x0,x1,x2,x3,x4,x5,y");
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for line in lines {
        let mut v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        labels.push(v.pop().unwrap());
        rows.push(v);
    }
    assert_eq!((rows.len(), rows[0].len()), (2000, 6));
    let test_y = labels.split_off(NONLINEAR_TRAIN_ROWS);
    let test_rows = rows.split_off(NONLINEAR_TRAIN_ROWS);
    (
        Features::from_rows("nonlinear train", &rows).unwrap(),
        labels,
        Features::from_rows("nonlinear test", &test_rows).unwrap(),
        test_y,
    )
}

#[test]
fn nonlinear_auc_matches_xgboost_hist_and_beats_lr() {
    let (train, train_y, test, test_y) = nonlinear();
    let ours = boost_auc(&train, &train_y, &test, &test_y);
    check_against_xgboost("non-linear", ours, XGB_NONLINEAR_AUC, XGB_NONLINEAR_SAME_BINS_AUC);

    // The LR tests' settings; the features are already standard normal.
    let lr = TrainParams {
        epochs: 10,
        batch_size: 64,
        learning_rate: 0.15,
        schedule: LrSchedule::InverseDecay { decay: 0.05 },
        l2: 0.01,
        seed: 7,
        ..TrainParams::default()
    };
    let (model, _) = train_plain(&lr, &train, &train_y, None).unwrap();
    let lr_auc = metrics::auc(&model.scores(&test).unwrap().to_vec(), &test_y).unwrap();
    eprintln!("non-linear: hold-out AUC trees {ours:.6}, LR {lr_auc:.6}");
    assert!(ours >= lr_auc + 0.05, "trees {ours} vs LR {lr_auc}");
}
