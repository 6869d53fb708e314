//! Feature binning, and the weight of evidence (WOE) and information value
//! (IV) of binned features.
//!
//! Every party bins its own numeric columns locally; only bin *indices*
//! enter the learning protocols ([`crate::secureboost`], [`federated`]).
//!
//! - **Quantile** cuts are exact: the non-missing values of a column are
//!   sorted and the cut after rank `⌈q·n/k⌉` (q = 1..k−1) is taken, so the
//!   rank error is 0 — every bin holds at most `⌈n/k⌉` rows, except that equal
//!   values are never split across bins (a value repeated more than `n/k`
//!   times makes its bin larger and the column gets fewer bins). Sorting
//!   costs `O(n log n)` per column; no sketch is needed at the sizes a
//!   party's table fits in memory.
//! - **Equal width** cuts divide `[min, max]` of the non-missing values into
//!   `k` intervals of equal length.
//!
//! A value `v` falls in bin `b` = number of cuts `< v` (so bin 0 is
//! `v ≤ cuts[0]`, the last value bin is `v > cuts[last]`). Missing values
//! (NaN in the table) get their own bin, always the last index
//! ([`ColumnBins::missing_bin`]), whether or not the training data had any.
//! A column with fewer distinct values than the bins requested gets one bin
//! per distinct value (never empty bins); a constant column gets one value
//! bin, which no split can use.
//!
//! WOE and IV follow the credit-scoring convention (Siddiqi, *Credit Risk
//! Scorecards*, 2006, ch. 6; FATE's hetero feature binning): with `e_b`
//! events (label 1) and `ne_b` non-events in bin `b`, and totals `E`, `NE`,
//! `WOE_b = ln((e_b/E) / (ne_b/NE))`, `IV_b = (e_b/E − ne_b/NE)·WOE_b`,
//! `IV = Σ_b IV_b`. A bin with no events or no non-events would make WOE
//! infinite: both of its counts are then adjusted by +0.5 (FATE's default
//! `adjustment_factor`). Empty bins contribute nothing.

pub mod federated;

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most value bins per column (bin indices are bytes; the missing bin takes
/// the index after the last value bin).
pub const MAX_BINS: u16 = 255;

/// How cut points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinMethod {
    /// Exact quantiles (equal-frequency bins).
    Quantile,
    /// Equal-width intervals between the column's minimum and maximum.
    EqualWidth,
}

/// The cut points of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnBins {
    /// Column name.
    pub name: String,
    /// Ascending, distinct, finite cut points: value bin `b` holds
    /// `cuts[b−1] < v ≤ cuts[b]`.
    pub cuts: Vec<f64>,
}

impl ColumnBins {
    /// Number of value bins (`cuts + 1`).
    pub fn value_bins(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Index of the missing-value bin.
    pub fn missing_bin(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Bins including the missing bin.
    pub fn total_bins(&self) -> usize {
        self.cuts.len() + 2
    }

    /// The bin of `v` (NaN: the missing bin).
    pub fn bin_of(&self, v: f64) -> u8 {
        if v.is_nan() {
            return self.missing_bin() as u8;
        }
        self.cuts.partition_point(|&c| c < v) as u8
    }

    /// Human-readable interval of value bin `b` (`(-inf, c0]`, `(c0, c1]`, …, `missing`).
    pub fn interval(&self, b: usize) -> String {
        if b == self.missing_bin() {
            return "missing".into();
        }
        let lo = if b == 0 { "-inf".to_string() } else { format!("{}", self.cuts[b - 1]) };
        let hi = if b == self.cuts.len() { "+inf".to_string() } else { format!("{}", self.cuts[b]) };
        format!("({lo}, {hi}]")
    }

    fn check(&self) -> Result<()> {
        if self.cuts.len() + 1 > MAX_BINS as usize {
            return Err(Error::InvalidParams(format!(
                "column {}: {} cuts, at most {}",
                self.name,
                self.cuts.len(),
                MAX_BINS - 1
            )));
        }
        if self.cuts.iter().any(|c| !c.is_finite()) || self.cuts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidParams(format!("column {}: cuts are not ascending finite numbers", self.name)));
        }
        Ok(())
    }
}

/// The cut points of every column of a party's table, reusable by a later
/// job (serialized as JSON in a binning job's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinEdges {
    /// How the cuts were chosen.
    pub method: BinMethod,
    /// Value bins requested per column.
    pub max_bins: u16,
    /// One entry per column, in table order.
    pub columns: Vec<ColumnBins>,
}

impl BinEdges {
    /// Cuts for every column of `x` (rows × columns, NaN = missing).
    /// `names` names the columns (same count as columns).
    pub fn fit(x: ArrayView2<'_, f64>, names: &[String], method: BinMethod, max_bins: u16) -> Result<Self> {
        if !(2..=MAX_BINS).contains(&max_bins) {
            return Err(Error::InvalidParams(format!("max_bins {max_bins} is not in 2..={MAX_BINS}")));
        }
        if names.len() != x.ncols() {
            return Err(Error::Shape(format!("{} column names for {} columns", names.len(), x.ncols())));
        }
        if let Some(((row, column), v)) = x.indexed_iter().find(|(_, v)| v.is_infinite()) {
            return Err(Error::NonFinite { what: "binned table", row, column, value: *v });
        }
        let columns = x
            .axis_iter(Axis(1))
            .zip(names)
            .map(|(col, name)| ColumnBins { name: name.clone(), cuts: cuts(col, method, max_bins) })
            .collect();
        Ok(Self { method, max_bins, columns })
    }

    /// Checks edges read back from a file: sizes, order, names.
    pub fn validate(&self, names: &[String]) -> Result<()> {
        let have: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let want: Vec<&str> = names.iter().map(String::as_str).collect();
        if have != want {
            return Err(Error::Shape(format!(
                "bin edges are for columns [{}], the table has [{}]",
                have.join(", "),
                want.join(", ")
            )));
        }
        self.columns.iter().try_for_each(ColumnBins::check)
    }

    /// Bin indices of every cell, feature-major: `result[[f, row]]`.
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Result<Binned> {
        if x.ncols() != self.columns.len() {
            return Err(Error::Shape(format!("{} columns, bin edges for {}", x.ncols(), self.columns.len())));
        }
        let mut bins = Array2::<u8>::zeros((x.ncols(), x.nrows()));
        for (f, (col, spec)) in x.axis_iter(Axis(1)).zip(&self.columns).enumerate() {
            for (row, &v) in col.iter().enumerate() {
                if v.is_infinite() {
                    return Err(Error::NonFinite { what: "binned table", row, column: f, value: v });
                }
                bins[[f, row]] = spec.bin_of(v);
            }
        }
        Ok(Binned { bins, total_bins: self.columns.iter().map(ColumnBins::total_bins).collect() })
    }
}

/// A binned table, feature-major so one feature's bins are contiguous.
#[derive(Clone, PartialEq)]
pub struct Binned {
    /// `bins[[feature, row]]`.
    pub bins: Array2<u8>,
    /// Bins per feature including the missing bin.
    pub total_bins: Vec<usize>,
}

impl std::fmt::Debug for Binned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binned").field("features", &self.features()).field("rows", &self.rows()).finish()
    }
}

impl Binned {
    /// Feature count.
    pub fn features(&self) -> usize {
        self.bins.nrows()
    }
    /// Row count.
    pub fn rows(&self) -> usize {
        self.bins.ncols()
    }
    /// Bins of feature `f`, one per row.
    pub fn feature(&self, f: usize) -> &[u8] {
        self.bins.row(f).to_slice().expect("standard layout")
    }
    /// The selected rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Binned {
        Binned { bins: self.bins.select(Axis(1), rows), total_bins: self.total_bins.clone() }
    }
    /// Most bins of any feature.
    pub fn max_bins(&self) -> usize {
        self.total_bins.iter().copied().max().unwrap_or(0)
    }
    /// Per-feature slices for the histogram kernel.
    pub fn feature_slices(&self) -> Vec<&[u8]> {
        (0..self.features()).map(|f| self.feature(f)).collect()
    }
}

fn cuts(col: ArrayView1<'_, f64>, method: BinMethod, max_bins: u16) -> Vec<f64> {
    let mut values: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
    if values.is_empty() {
        return Vec::new();
    }
    values.sort_unstable_by(f64::total_cmp);
    let (min, max) = (values[0], values[values.len() - 1]);
    let k = max_bins as usize;
    let mut cuts: Vec<f64> = match method {
        BinMethod::Quantile => {
            let n = values.len();
            (1..k).map(|q| values[(q * n).div_ceil(k).max(1) - 1]).collect()
        }
        BinMethod::EqualWidth => {
            let width = (max - min) / k as f64;
            (1..k).map(|q| min + width * q as f64).collect()
        }
    };
    // Distinct, and never a cut at (or above) the maximum: that bin would be empty.
    cuts.dedup();
    cuts.retain(|&c| c < max && c >= min);
    // Equal-width cuts between two distinct values can leave empty bins; keep
    // only cuts that separate at least one value on each side.
    if method == BinMethod::EqualWidth {
        let mut kept = Vec::with_capacity(cuts.len());
        let mut last = f64::NEG_INFINITY;
        for c in cuts {
            let below = values.partition_point(|&v| v <= c);
            let above_last = values.partition_point(|&v| v <= last);
            if below > above_last {
                kept.push(c);
                last = c;
            }
        }
        cuts = kept;
    }
    cuts
}

/// Event and non-event counts of one column's bins and their WOE/IV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnWoe {
    /// Column name.
    pub name: String,
    /// One entry per bin (value bins, then the missing bin).
    pub bins: Vec<BinStats>,
    /// Information value of the column.
    pub iv: f64,
}

/// Statistics of one bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinStats {
    /// Bin index.
    pub bin: usize,
    /// Interval, e.g. `(0.5, 1.5]` or `missing`.
    pub interval: String,
    /// Rows in the bin.
    pub rows: u64,
    /// Rows with label 1.
    pub events: u64,
    /// Rows with label 0.
    pub non_events: u64,
    /// Weight of evidence (0 for an empty bin).
    pub woe: f64,
    /// This bin's share of the IV.
    pub iv: f64,
    /// Too few rows to disclose its event count (`min_bin_rows`): no WOE.
    pub suppressed: bool,
}

/// WOE/IV of one column from its per-bin `(rows, events)`.
pub fn woe_iv(spec: &ColumnBins, counts: &[(u64, u64)]) -> Result<ColumnWoe> {
    if let Some(b) = counts.iter().position(|&(rows, events)| events > rows) {
        return Err(Error::InvalidParams(format!("column {}: bin {b} has more events than rows", spec.name)));
    }
    let events: u64 = counts.iter().map(|c| c.1).sum();
    let rows: u64 = counts.iter().map(|c| c.0).sum();
    let known: Vec<(u64, Option<u64>)> = counts.iter().map(|&(n, e)| (n, Some(e))).collect();
    woe_iv_with_totals(spec, &known, events, rows - events)
}

/// WOE/IV of one column whose bins' event counts may be unknown
/// (suppressed: no WOE, no IV share), given the column's totals.
pub fn woe_iv_with_totals(
    spec: &ColumnBins,
    counts: &[(u64, Option<u64>)],
    events: u64,
    non_events: u64,
) -> Result<ColumnWoe> {
    if counts.len() != spec.total_bins() {
        return Err(Error::Shape(format!(
            "column {}: {} bin counts for {} bins",
            spec.name,
            counts.len(),
            spec.total_bins()
        )));
    }
    if counts.iter().any(|&(rows, e)| e.is_some_and(|e| e > rows)) {
        return Err(Error::InvalidParams(format!("column {}: a bin has more events than rows", spec.name)));
    }
    if events == 0 || non_events == 0 {
        return Err(Error::Undefined(format!("WOE of column {} needs both labels among the rows", spec.name)));
    }
    let (e_total, ne_total) = (events as f64, non_events as f64);
    let mut iv = 0.0;
    let bins = counts
        .iter()
        .enumerate()
        .map(|(b, &(rows, e))| {
            let Some(e) = e.filter(|_| rows > 0) else {
                return BinStats {
                    bin: b,
                    interval: spec.interval(b),
                    rows,
                    events: 0,
                    non_events: 0,
                    woe: 0.0,
                    iv: 0.0,
                    suppressed: rows > 0,
                };
            };
            let ne = rows - e;
            let (ef, nef) = if e == 0 || ne == 0 { (e as f64 + 0.5, ne as f64 + 0.5) } else { (e as f64, ne as f64) };
            let (pe, pne) = (ef / e_total, nef / ne_total);
            let woe = (pe / pne).ln();
            let part = (pe - pne) * woe;
            iv += part;
            BinStats {
                bin: b,
                interval: spec.interval(b),
                rows,
                events: e,
                non_events: ne,
                woe,
                iv: part,
                suppressed: false,
            }
        })
        .collect();
    Ok(ColumnWoe { name: spec.name.clone(), bins, iv })
}

/// Per-bin `(rows, events)` of every column from the labels (the guest's own
/// columns, or a plaintext reference).
pub fn bin_counts(binned: &Binned, labels: &[f64]) -> Result<Vec<Vec<(u64, u64)>>> {
    crate::data::check_labels("labels", labels, binned.rows())?;
    Ok((0..binned.features())
        .map(|f| {
            let mut counts = vec![(0u64, 0u64); binned.total_bins[f]];
            for (&b, &y) in binned.feature(f).iter().zip(labels) {
                counts[b as usize].0 += 1;
                counts[b as usize].1 += u64::from(y == 1.0);
            }
            counts
        })
        .collect())
}

/// One CSV line per bin: `feature,bin,interval,rows,events,non_events,woe,iv_part,feature_iv,suppressed`.
pub fn woe_csv(columns: &[ColumnWoe]) -> String {
    let mut out = String::from("feature,bin,interval,rows,events,non_events,woe,iv_part,feature_iv,suppressed\n");
    for c in columns {
        for b in &c.bins {
            out.push_str(&format!(
                "{},{},\"{}\",{},{},{},{:.6},{:.6},{:.6},{}\n",
                csv_field(&c.name),
                b.bin,
                b.interval,
                b.rows,
                b.events,
                b.non_events,
                b.woe,
                b.iv,
                c.iv,
                b.suppressed
            ));
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests;
