#!/usr/bin/env python3
"""Reference hold-out AUCs of XGBoost `hist` for the SecureBoost accuracy test
(`crates/wefe-ml/tests/it/secureboost_accuracy.rs`).

Not run by the test suite: it produced the constants recorded in that test.
Needs numpy and xgboost (`pip install xgboost-cpu numpy`). Run from the
repository root:

    python3 scripts/reference/xgboost_secureboost.py            # print AUCs
    python3 scripts/reference/xgboost_secureboost.py --write    # also (re)write the non-linear fixture

Data sets:
  (a) breast cancer (`crates/wefe-ml/tests/fixtures/breast_cancer.csv`), the
      stratified 70/30 split with seed 2024 of the LR tests
      (`wefe_ml::data::stratified_split`, re-implemented below bit for bit);
  (b) `nonlinear.csv` next to it, generated here: 2000 rows, x0..x5 ~ N(0,1)
      rounded to 4 decimals, y = (x0 > 0 and x1 > 0) or |x2| > 1.2, with 10%
      of labels flipped; rows 0..1500 train, 1500..2000 hold-out.

For each, two XGBoost runs with the settings of the Rust test (20 trees,
depth 3, eta 0.3, lambda 1, min_child_weight 1, gamma 0, no sampling,
base_score = training label mean):
  raw     - raw features, max_bin = 32: XGBoost's own quantile sketch;
  binned  - features replaced by wefe's exact quantile bin indices (cuts fitted
            on the training rows, as `BinEdges::fit(.., Quantile, 32)`), so
            both libraries search the same split candidates; max_bin = 256
            gives every distinct bin index its own XGBoost bin.
"""

import argparse
import math
import pathlib
import sys

import numpy as np
import xgboost as xgb

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates" / "wefe-ml" / "tests" / "fixtures"
MAX_BINS = 32
PARAMS = dict(
    tree_method="hist",
    objective="binary:logistic",
    max_depth=3,
    learning_rate=0.3,
    reg_lambda=1.0,
    reg_alpha=0.0,
    min_child_weight=1.0,
    gamma=0.0,
    subsample=1.0,
    colsample_bytree=1.0,
    colsample_bylevel=1.0,
    colsample_bynode=1.0,
    max_delta_step=0.0,
    grow_policy="depthwise",
    nthread=1,
    seed=0,
)
TREES = 20
MASK = (1 << 64) - 1


class SplitMix64:
    """`wefe_ml::data::SplitMix64`."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        zone = MASK - (MASK % bound)
        while True:
            x = self.next_u64()
            if x < zone:
                return x % bound

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def rust_round(x):
    """f64::round: half away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def stratified_split(labels, test_fraction, seed):
    """`wefe_ml::data::stratified_split`."""
    rng = SplitMix64(seed)
    train, test = [], []
    for cls in (0.0, 1.0):
        idx = [i for i, y in enumerate(labels) if y == cls]
        rng.shuffle(idx)
        n_test = rust_round(len(idx) * test_fraction)
        test += idx[:n_test]
        train += idx[n_test:]
    return sorted(train), sorted(test)


def quantile_cuts(col, k):
    """`binning::cuts(.., BinMethod::Quantile, k)`: exact quantile cuts."""
    values = np.sort(col[~np.isnan(col)])
    n = len(values)
    cuts = [values[max(-(-q * n // k), 1) - 1] for q in range(1, k)]
    out = []
    for c in cuts:
        if not out or out[-1] != c:
            out.append(c)
    return np.array([c for c in out if values[0] <= c < values[-1]])


def bin_with(cuts, col):
    """`ColumnBins::bin_of`: number of cuts < v."""
    return np.searchsorted(cuts, col, side="left").astype(np.float64)


def auc(scores, labels):
    """`wefe_ml::metrics::auc`: rank statistic, ties share their mean rank."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order]
    rank_sum, i, n = 0.0, 0, len(s)
    while i < n:
        j = i
        while j + 1 < n and s[j + 1] == s[i]:
            j += 1
        rank_sum += (i + j + 2) / 2.0 * y[i : j + 1].sum()
        i = j + 1
    pos = labels.sum()
    neg = len(labels) - pos
    return float((rank_sum - pos * (pos + 1) / 2.0) / (pos * neg))


def fit_auc(x_train, y_train, x_test, y_test, max_bin):
    params = dict(PARAMS, max_bin=max_bin, base_score=float(y_train.mean()))
    dtrain = xgb.DMatrix(x_train, label=y_train)
    booster = xgb.train(params, dtrain, num_boost_round=TREES)
    margin = booster.predict(xgb.DMatrix(x_test), output_margin=True).astype(np.float64)
    return auc(margin, y_test)


def run(name, x_train, y_train, x_test, y_test):
    raw = fit_auc(x_train, y_train, x_test, y_test, MAX_BINS)
    cuts = [quantile_cuts(x_train[:, j], MAX_BINS) for j in range(x_train.shape[1])]
    btrain = np.column_stack([bin_with(c, x_train[:, j]) for j, c in enumerate(cuts)])
    btest = np.column_stack([bin_with(c, x_test[:, j]) for j, c in enumerate(cuts)])
    binned = fit_auc(btrain, y_train, btest, y_test, 256)
    print(f"{name}: rows {len(y_train)}/{len(y_test)}  raw(max_bin={MAX_BINS}) AUC {float(raw)!r}  binned(wefe cuts) AUC {float(binned)!r}")


def breast_cancer():
    lines = (FIXTURES / "breast_cancer.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["569", "30"]
    data = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    x, y = data[:, :30], data[:, 30]
    train, test = stratified_split(list(y), 0.3, 2024)
    return x[train], y[train], x[test], y[test]


def generate_nonlinear():
    rng = np.random.default_rng(20240607)
    n = 2000
    x = np.round(rng.standard_normal((n, 6)), 4)
    clean = ((x[:, 0] > 0) & (x[:, 1] > 0)) | (np.abs(x[:, 2]) > 1.2)
    flip = rng.random(n) < 0.10
    y = (clean ^ flip).astype(np.int64)
    return x, y


def nonlinear(write):
    path = FIXTURES / "nonlinear.csv"
    if write:
        x, y = generate_nonlinear()
        with open(path, "w") as f:
            f.write("x0,x1,x2,x3,x4,x5,y\n")
            for row, label in zip(x, y):
                f.write(",".join(f"{v:.4f}" for v in row) + f",{label}\n")
    lines = path.read_text().splitlines()
    data = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    x, y = data[:, :6], data[:, 6]
    return x[:1500], y[:1500], x[1500:], y[1500:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="(re)write tests/fixtures/nonlinear.csv")
    args = ap.parse_args()
    print(f"xgboost {xgb.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    run("breast_cancer", *breast_cancer())
    run("nonlinear", *nonlinear(args.write))


if __name__ == "__main__":
    main()
