//! Feature tables and label vectors, checked once at the boundary so the
//! protocols only ever see finite numbers.

use crate::{Error, Result};

/// A dense row-major table of finite `f64` features (rows aligned across
/// parties by index, e.g. by a PSI).
#[derive(Clone, PartialEq)]
pub struct Features {
    rows: usize,
    cols: usize,
    values: Vec<f64>,
}

/// Shows the shape only, never the values.
impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Features").field("rows", &self.rows).field("cols", &self.cols).finish()
    }
}

impl Features {
    /// Builds a table from row-major `values`; `what` names the table in errors.
    ///
    /// ```
    /// use wefe_ml::{Error, Features};
    /// let x = Features::new("guest features", 2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(x.row(1), &[3.0, 4.0]);
    /// let bad = Features::new("guest features", 1, 2, vec![1.0, f64::NAN]);
    /// assert!(matches!(bad, Err(Error::NonFinite { row: 0, column: 1, .. })));
    /// ```
    pub fn new(what: &'static str, rows: usize, cols: usize, values: Vec<f64>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(Error::Shape(format!("{what}: {} values for {rows} rows × {cols} columns", values.len())));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { what, row: i / cols, column: i % cols, value: values[i] });
        }
        Ok(Self { rows, cols, values })
    }

    /// Builds a table from rows of equal length.
    pub fn from_rows(what: &'static str, rows: &[Vec<f64>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some(r) = rows.iter().position(|r| r.len() != cols) {
            return Err(Error::Shape(format!("{what}: row {r} has {} columns, row 0 has {cols}", rows[r].len())));
        }
        Self::new(what, rows.len(), cols, rows.concat())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// `X·w` for every row.
    pub fn scores(&self, w: &[f64]) -> Vec<f64> {
        (0..self.rows).map(|i| dot(self.row(i), w)).collect()
    }

    /// The selected columns as a new table (e.g. a vertical split in tests).
    pub fn select_columns(&self, columns: std::ops::Range<usize>) -> Result<Self> {
        if columns.end > self.cols || columns.start > columns.end {
            return Err(Error::Shape(format!("columns {columns:?} out of 0..{}", self.cols)));
        }
        let values = (0..self.rows).flat_map(|i| self.row(i)[columns.clone()].iter().copied()).collect();
        Ok(Self { rows: self.rows, cols: columns.len(), values })
    }

    /// The selected rows as a new table.
    pub fn select_rows(&self, rows: &[usize]) -> Result<Self> {
        if let Some(&r) = rows.iter().find(|&&r| r >= self.rows) {
            return Err(Error::Shape(format!("row {r} out of 0..{}", self.rows)));
        }
        let values = rows.iter().flat_map(|&i| self.row(i).iter().copied()).collect();
        Ok(Self { rows: rows.len(), cols: self.cols, values })
    }
}

/// Checks that labels are 0 or 1 and that there are `rows` of them.
pub fn check_labels(what: &'static str, labels: &[f64], rows: usize) -> Result<()> {
    if labels.len() != rows {
        return Err(Error::Shape(format!("{what}: {} labels for {rows} rows", labels.len())));
    }
    if let Some(row) = labels.iter().position(|&y| y != 0.0 && y != 1.0) {
        return Err(Error::BadLabel { what, row, value: labels[row] });
    }
    Ok(())
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a tiny generator written out here so that the
/// batch order of a seed never changes with a dependency upgrade — every
/// party must derive the same order.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by rejection (no modulo bias).
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % bound;
            }
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A stratified split of `0..labels.len()` into (train, test) with
/// `test_fraction` of each class (rounded) in the test part, seeded.
pub fn stratified_split(labels: &[f64], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [0.0, 1.0] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut idx);
        let n_test = (idx.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_named_by_row_and_column() {
        let err = Features::new("host features", 2, 3, vec![0.0, 1.0, 2.0, 3.0, f64::INFINITY, 5.0]).unwrap_err();
        assert_eq!(err.to_string(), "host features: value inf at row 1, column 1 is not finite");
        assert!(matches!(Features::new("x", 2, 2, vec![0.0; 3]), Err(Error::Shape(_))));
        assert!(matches!(Features::from_rows("x", &[vec![1.0], vec![1.0, 2.0]]), Err(Error::Shape(_))));
    }

    #[test]
    fn labels_must_be_binary() {
        assert!(check_labels("y", &[0.0, 1.0], 2).is_ok());
        let err = check_labels("y", &[0.0, 0.5], 2).unwrap_err();
        assert!(matches!(err, Error::BadLabel { row: 1, .. }), "{err}");
        assert!(matches!(check_labels("y", &[0.0, f64::NAN], 2), Err(Error::BadLabel { row: 1, .. })));
        assert!(matches!(check_labels("y", &[0.0], 2), Err(Error::Shape(_))));
    }

    #[test]
    fn shuffles_are_seeded_permutations() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        SplitMix64::new(7).shuffle(&mut a);
        SplitMix64::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
        // First output of SplitMix64 with seed 0 (reference C implementation).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn stratified_split_keeps_class_ratio() {
        let labels: Vec<f64> = (0..100).map(|i| if i < 40 { 1.0 } else { 0.0 }).collect();
        let (train, test) = stratified_split(&labels, 0.3, 1);
        assert_eq!(test.len(), 30);
        assert_eq!(test.iter().filter(|&&i| labels[i] == 1.0).count(), 12);
        assert_eq!(train.len() + test.len(), 100);
    }
}
