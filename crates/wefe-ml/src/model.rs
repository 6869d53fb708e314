//! A party's share of a trained vertical model, as it is stored on that
//! party's node: the feature columns it was trained on, their standardisation,
//! the weights (and, for the guest, the intercept and the label column).
//!
//! The model never exists in one place: each party keeps its own
//! [`PartyModel`] file and a prediction needs every share
//! ([`crate::vertical_lr::predict`]). The file is canonical JSON, so its
//! SHA-256 ([`PartyModel::hash`]) identifies it (it is what a node reports
//! on chain).

use ndarray::{Array1, ArrayView1, Zip};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::logistic::{LinearModel, sigmoid};
use crate::metrics;
use crate::{Error, Features, Result};

/// `format` of every model file this code writes and reads.
pub const FORMAT: &str = "wefe-vertical-lr/1";

/// Largest model file accepted (a party with 65 536 features fits easily).
pub const MAX_MODEL_BYTES: usize = 16 << 20;

/// Per-column standardisation `(x − mean) / scale`, fitted on a party's
/// training rows (so every party scales its own columns, nothing shared).
///
/// The fields stay `Vec<f64>` because they are part of the model file
/// ([`PartyModel`]); [`Self::apply`] works on ndarray views of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for a constant column).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits means and standard deviations of `x`'s columns.
    pub fn fit(x: &Features) -> Self {
        let (rows, cols) = (x.rows(), x.cols());
        let mut mean = Array1::<f64>::zeros(cols);
        let mut m2 = Array1::<f64>::zeros(cols);
        // Welford, row by row: stable for large columns.
        for (i, row) in x.view().rows().into_iter().enumerate() {
            let n = (i + 1) as f64;
            Zip::from(&mut mean).and(&mut m2).and(row).for_each(|mean, m2, &v| {
                let delta = v - *mean;
                *mean += delta / n;
                *m2 += delta * (v - *mean);
            });
        }
        let scale = m2.mapv(|s| {
            let sd = if rows > 1 { (s / rows as f64).sqrt() } else { 0.0 };
            if sd > 1e-12 && sd.is_finite() { sd } else { 1.0 }
        });
        Self { mean: mean.to_vec(), scale: scale.to_vec() }
    }

    /// The identity scaling of `cols` columns.
    pub fn identity(cols: usize) -> Self {
        Self { mean: vec![0.0; cols], scale: vec![1.0; cols] }
    }

    /// `x` standardised; errors when the column count differs.
    pub fn apply(&self, x: &Features) -> Result<Features> {
        if x.cols() != self.mean.len() || x.cols() != self.scale.len() {
            return Err(Error::Shape(format!(
                "{} columns for a scaler of {} means and {} scales",
                x.cols(),
                self.mean.len(),
                self.scale.len()
            )));
        }
        let (mean, scale) = (ArrayView1::from(&self.mean), ArrayView1::from(&self.scale));
        // Broadcasts the column statistics over the rows.
        Features::from_array("standardised features", (&x.view() - &mean) / scale)
    }
}

/// Which side of the protocol a model share belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The label holder (holds the intercept).
    Guest,
    /// A feature holder.
    Host,
}

/// One party's share of a vertical logistic-regression model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// The training job (on-chain id) that produced it.
    pub job_id: u64,
    /// This share's role.
    pub role: Role,
    /// This party (0x address).
    pub party: String,
    /// Every party of the model, guest first (0x addresses).
    pub parties: Vec<String>,
    /// The dataset the share was trained on.
    pub dataset: String,
    /// The feature columns, in weight order.
    pub features: Vec<String>,
    /// Their standardisation.
    pub scaler: Scaler,
    /// One weight per feature (on standardised values).
    pub weights: Vec<f64>,
    /// The intercept (guest only; 0 for hosts).
    pub intercept: f64,
    /// The label column (guest only).
    pub label: Option<String>,
    /// Probability at or above which a row is predicted positive.
    pub threshold: f64,
}

impl PartyModel {
    /// The share's linear part.
    pub fn linear(&self) -> LinearModel {
        LinearModel { weights: Array1::from(self.weights.clone()), intercept: self.intercept }
    }

    /// Checks internal consistency (lengths, finiteness, role fields).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParams(format!("model of job {}: {why}", self.job_id)));
        if self.format != FORMAT {
            return bad(format!("format '{}' is not '{FORMAT}'", self.format));
        }
        let n = self.features.len();
        if n == 0 && self.role == Role::Host {
            return bad("a host share without features".into());
        }
        if self.weights.len() != n || self.scaler.mean.len() != n || self.scaler.scale.len() != n {
            return bad(format!(
                "{n} features but {} weights, {} means, {} scales",
                self.weights.len(),
                self.scaler.mean.len(),
                self.scaler.scale.len()
            ));
        }
        let numbers = self.weights.iter().chain(&self.scaler.mean).chain([&self.intercept, &self.threshold]);
        if numbers.clone().any(|v| !v.is_finite()) || self.scaler.scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return bad("a weight, mean, scale or the threshold is not a finite number".into());
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad(format!("threshold {} is not in [0, 1]", self.threshold));
        }
        match self.role {
            Role::Guest if self.label.is_none() => return bad("the guest share names no label column".into()),
            Role::Host if self.label.is_some() || self.intercept != 0.0 => {
                return bad("a host share carries a label or an intercept".into());
            }
            _ => {}
        }
        if self.parties.len() < 2 || !self.parties.contains(&self.party) {
            return bad("the party list must hold this party and at least one other".into());
        }
        if (self.role == Role::Guest) != (self.parties[0] == self.party) {
            return bad("the guest must be the first party".into());
        }
        Ok(())
    }

    /// The canonical file content (pretty JSON, trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a model serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses and validates a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(Error::InvalidParams(format!(
                "model file of {} bytes is larger than {MAX_MODEL_BYTES}",
                bytes.len()
            )));
        }
        let model: Self = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidParams(format!("model file does not decode: {e}")))?;
        model.validate()?;
        Ok(model)
    }

    /// SHA-256 of [`Self::to_bytes`].
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// This share's partial scores `standardise(X)·w (+ b)` for rows of its
    /// feature columns.
    pub fn partial_scores(&self, x: &Features) -> Result<Vec<f64>> {
        if x.cols() != self.features.len() {
            return Err(Error::Shape(format!(
                "{} feature columns for a model share of {} ({})",
                x.cols(),
                self.features.len(),
                self.features.join(", ")
            )));
        }
        Ok(self.linear().scores(&self.scaler.apply(x)?)?.to_vec())
    }
}

/// How well scores predict labels: every metric a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: usize,
    /// Positive rows.
    pub positives: usize,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Kolmogorov–Smirnov statistic.
    pub ks: f64,
    /// At the threshold.
    pub accuracy: f64,
    /// At the threshold.
    pub precision: f64,
    /// At the threshold.
    pub recall: f64,
    /// At the threshold.
    pub f1: f64,
    /// Mean log-loss of the probabilities.
    pub log_loss: f64,
    /// Probability threshold used.
    pub threshold: f64,
}

impl Evaluation {
    /// Evaluates linear scores `u` (probabilities are `σ(u)`) against 0/1 labels.
    pub fn of_scores(u: &[f64], labels: &[f64], threshold: f64) -> Result<Self> {
        let probs: Vec<f64> = u.iter().map(|&s| sigmoid(s)).collect();
        let at = metrics::at_threshold(&probs, labels, threshold)?;
        Ok(Self {
            rows: labels.len(),
            positives: labels.iter().filter(|&&y| y == 1.0).count(),
            auc: metrics::auc(u, labels)?,
            ks: metrics::ks(u, labels)?,
            accuracy: at.accuracy,
            precision: at.precision,
            recall: at.recall,
            f1: at.f1,
            log_loss: metrics::log_loss(&probs, labels, 1e-15)?,
            threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> PartyModel {
        PartyModel {
            format: FORMAT.into(),
            job_id: 7,
            role: Role::Guest,
            party: "0x01".into(),
            parties: vec!["0x01".into(), "0x02".into()],
            dataset: "bank-a".into(),
            features: vec!["age".into(), "balance".into()],
            scaler: Scaler { mean: vec![40.0, 1000.0], scale: vec![10.0, 500.0] },
            weights: vec![0.5, -1.0],
            intercept: 0.25,
            label: Some("fraud".into()),
            threshold: 0.5,
        }
    }

    #[test]
    fn scaler_standardises_and_keeps_constant_columns() {
        let x = Features::new("x", 4, 2, vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0]).unwrap();
        let s = Scaler::fit(&x);
        assert!((s.mean[0] - 2.5).abs() < 1e-12 && (s.mean[1] - 5.0).abs() < 1e-12);
        assert!((s.scale[0] - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0);
        let z = s.apply(&x).unwrap();
        let col0: f64 = (0..4).map(|i| z.row(i)[0]).sum();
        assert!(col0.abs() < 1e-12);
        assert_eq!(z.row(0)[1], 0.0);
        assert!(s.apply(&Features::new("x", 1, 1, vec![1.0]).unwrap()).is_err());
    }

    #[test]
    fn model_files_round_trip_and_hash_stably() {
        let m = guest();
        let back = PartyModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.hash(), m.hash());
        let mut other = m.clone();
        other.weights[0] = 0.5000001;
        assert_ne!(other.hash(), m.hash());
        let x = Features::new("x", 1, 2, vec![50.0, 500.0]).unwrap();
        // (50−40)/10·0.5 + (500−1000)/500·(−1) + 0.25 = 0.5 + 1 + 0.25.
        assert!((m.partial_scores(&x).unwrap()[0] - 1.75).abs() < 1e-12);
    }

    #[test]
    fn bad_model_files_are_refused_with_the_reason() {
        let err = |m: PartyModel| PartyModel::from_bytes(&m.to_bytes()).unwrap_err().to_string();
        let mut m = guest();
        m.weights.pop();
        assert!(err(m).contains("2 features but 1 weights"));
        let mut m = guest();
        m.format = "other".into();
        assert!(err(m).contains("format"));
        let mut m = guest();
        m.label = None;
        assert!(err(m).contains("label"));
        let mut m = guest();
        m.scaler.scale[1] = 0.0;
        assert!(err(m).contains("finite"));
        let mut m = guest();
        m.role = Role::Host;
        assert!(err(m).contains("host share"));
        assert!(PartyModel::from_bytes(b"{not json").unwrap_err().to_string().contains("does not decode"));
        let with_extra = String::from_utf8(guest().to_bytes()).unwrap().replacen('{', "{\"x\": 1,", 1);
        assert!(PartyModel::from_bytes(with_extra.as_bytes()).is_err());
        let nan = String::from_utf8(guest().to_bytes()).unwrap().replace("0.25", "NaN");
        assert!(PartyModel::from_bytes(nan.as_bytes()).is_err());
    }

    #[test]
    fn evaluation_combines_the_metrics() {
        let e = Evaluation::of_scores(&[-2.0, -1.0, 1.0, 2.0], &[0.0, 0.0, 1.0, 1.0], 0.5).unwrap();
        assert_eq!((e.rows, e.positives), (4, 2));
        assert_eq!((e.auc, e.ks, e.accuracy, e.f1), (1.0, 1.0, 1.0, 1.0));
        assert!(e.log_loss > 0.0 && e.log_loss < 0.4);
        assert!(Evaluation::of_scores(&[0.0], &[1.0], 0.5).is_err());
    }
}
