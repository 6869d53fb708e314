//! Feature tables and label vectors, checked once at the boundary so the
//! protocols only ever see finite numbers. A table is an [`ndarray`]
//! `Array2<f64>` in standard (row-major) layout.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, AsArray, Axis};

use crate::{Error, Result};

/// A dense row-major table of finite `f64` features (rows aligned across
/// parties by index, e.g. by a PSI).
#[derive(Clone, PartialEq)]
pub struct Features {
    /// Always in standard layout, so a row is a slice.
    values: Array2<f64>,
}

/// Shows the shape only, never the values.
impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Features").field("rows", &self.rows()).field("cols", &self.cols()).finish()
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
        let len = values.len();
        let values = Array2::from_shape_vec((rows, cols), values)
            .map_err(|_| Error::Shape(format!("{what}: {len} values for {rows} rows × {cols} columns")))?;
        Self::from_array(what, values)
    }

    /// Builds a table from an array (any memory layout); `what` names the
    /// table in errors.
    ///
    /// ```
    /// use ndarray::array;
    /// use wefe_ml::{Error, Features};
    /// let x = Features::from_array("host features", array![[1.0, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(x.column(1).to_vec(), vec![2.0, 4.0]);
    /// let bad = Features::from_array("host features", array![[1.0, 2.0], [f64::INFINITY, 4.0]]);
    /// assert!(matches!(bad, Err(Error::NonFinite { row: 1, column: 0, .. })));
    /// ```
    pub fn from_array(what: &'static str, values: Array2<f64>) -> Result<Self> {
        // Row-major order, so the first offending value is reported as before.
        if let Some(((row, column), &value)) = values.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite { what, row, column, value });
        }
        Ok(Self::standard(values))
    }

    /// Wraps checked values, copying them into standard layout if needed.
    fn standard(values: Array2<f64>) -> Self {
        let values = if values.is_standard_layout() { values } else { values.as_standard_layout().into_owned() };
        Self { values }
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
        self.values.nrows()
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.values.ncols()
    }

    /// The whole table.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.values.view()
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f64] {
        self.values.row(i).to_slice().expect("a row of a standard-layout table is contiguous")
    }

    /// Column `j` (panics if out of range).
    pub fn column(&self, j: usize) -> ArrayView1<'_, f64> {
        self.values.column(j)
    }

    /// `X·w` for every row (panics if `w` does not have one weight per column).
    pub fn scores<'w>(&self, w: impl AsArray<'w, f64>) -> Array1<f64> {
        self.values.dot(&w.into())
    }

    /// The selected columns as a new table (e.g. a vertical split in tests).
    pub fn select_columns(&self, columns: std::ops::Range<usize>) -> Result<Self> {
        if columns.end > self.cols() || columns.start > columns.end {
            return Err(Error::Shape(format!("columns {columns:?} out of 0..{}", self.cols())));
        }
        Ok(Self::standard(self.values.slice_axis(Axis(1), columns.into()).to_owned()))
    }

    /// The selected rows as a new table.
    pub fn select_rows(&self, rows: &[usize]) -> Result<Self> {
        if let Some(&r) = rows.iter().find(|&&r| r >= self.rows()) {
            return Err(Error::Shape(format!("row {r} out of 0..{}", self.rows())));
        }
        Ok(Self::standard(self.values.select(Axis(0), rows)))
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
        // A column-major array reports the first bad value in row-major order.
        // Rows [0, 1, NaN] and [NaN, 5, 6], stored column by column.
        let t = Array2::from_shape_vec((3, 2), vec![0.0, f64::NAN, 1.0, 5.0, f64::NAN, 6.0]).unwrap().reversed_axes();
        let err = Features::from_array("t", t).unwrap_err();
        assert!(matches!(err, Error::NonFinite { row: 0, column: 2, .. }), "{err}");
    }

    #[test]
    fn tables_keep_row_slices_and_select_like_the_row_major_layout() {
        // Built column-major (the transpose of a 3 × 2 array): stored row-major.
        let t = Array2::from_shape_vec((3, 2), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap().reversed_axes();
        let x = Features::from_array("x", t).unwrap();
        assert_eq!(x, Features::new("x", 2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap());
        assert_eq!((x.rows(), x.cols(), x.row(1)), (2, 3, &[4.0, 5.0, 6.0][..]));
        assert_eq!(x.column(2).to_vec(), vec![3.0, 6.0]);
        assert_eq!(x.view().shape(), &[2, 3]);
        assert_eq!(x.scores(&[1.0, 0.0, -1.0]).to_vec(), vec![-2.0, -2.0]);
        assert_eq!(x.scores(&Array1::from(vec![0.5, 0.5, 0.0])).to_vec(), vec![1.5, 4.5]);
        let cols = x.select_columns(1..3).unwrap();
        assert_eq!((cols.row(0), cols.row(1)), (&[2.0, 3.0][..], &[5.0, 6.0][..]));
        let rows = x.select_rows(&[1, 1, 0]).unwrap();
        assert_eq!((rows.rows(), rows.row(1), rows.row(2)), (3, &[4.0, 5.0, 6.0][..], &[1.0, 2.0, 3.0][..]));
        assert_eq!(x.select_rows(&[]).unwrap().rows(), 0);
        assert!(matches!(x.select_rows(&[2]), Err(Error::Shape(_))));
        assert!(matches!(x.select_columns(2..4), Err(Error::Shape(_))));
        assert_eq!(format!("{x:?}"), "Features { rows: 2, cols: 3 }");
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
