//! Binary classification metrics. Labels are `0.0`/`1.0`, scores are any
//! finite reals (probabilities or logits) unless a metric says otherwise.
//!
//! ```
//! use wefe_ml::metrics;
//! let y = [0.0, 0.0, 1.0, 1.0];
//! let p = [0.1, 0.4, 0.35, 0.8];
//! assert_eq!(metrics::auc(&p, &y).unwrap(), 0.75);
//! assert_eq!(metrics::ks(&p, &y).unwrap(), 0.5);
//! ```

use crate::data::check_labels;
use crate::{Error, Result};

/// Default clipping of probabilities in [`log_loss`] (as scikit-learn's
/// historical `eps`).
pub const LOG_LOSS_EPS: f64 = 1e-15;

fn check(scores: &[f64], labels: &[f64]) -> Result<()> {
    check_labels("metric labels", labels, scores.len())?;
    if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::NonFinite { what: "metric scores", row, column: 0, value: scores[row] });
    }
    if scores.is_empty() {
        return Err(Error::Undefined("no rows".into()));
    }
    Ok(())
}

fn class_counts(labels: &[f64]) -> Result<(f64, f64)> {
    let pos = labels.iter().filter(|&&y| y == 1.0).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Err(Error::Undefined("both classes must be present".into()));
    }
    Ok((pos, neg))
}

/// Area under the ROC curve by the rank-sum (Mann–Whitney U) formula, tied
/// scores getting their average rank: `(Σ ranks of positives − P(P+1)/2) / (P·N)`.
pub fn auc(scores: &[f64], labels: &[f64]) -> Result<f64> {
    check(scores, labels)?;
    let (pos, neg) = class_counts(labels)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j + 2) as f64 / 2.0;
        rank_sum += rank * order[i..=j].iter().filter(|&&k| labels[k] == 1.0).count() as f64;
        i = j + 1;
    }
    Ok((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Kolmogorov–Smirnov statistic: `max |TPR − FPR|` over all thresholds
/// (tied scores move together).
pub fn ks(scores: &[f64], labels: &[f64]) -> Result<f64> {
    check(scores, labels)?;
    let (pos, neg) = class_counts(labels)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0f64);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1.0 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let group_ends = order.get(k + 1).is_none_or(|&next| scores[next] != scores[i]);
        if group_ends {
            best = best.max((tp / pos - fp / neg).abs());
        }
    }
    Ok(best)
}

/// Confusion counts and the metrics derived from them at one threshold
/// (a row is predicted positive when its score is `≥ threshold`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdMetrics {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub fn_: usize,
    /// `(tp + tn) / n`.
    pub accuracy: f64,
    /// `tp / (tp + fp)`, 0 when nothing is predicted positive.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub f1: f64,
}

/// Accuracy, precision, recall and F1 at `threshold`.
pub fn at_threshold(scores: &[f64], labels: &[f64], threshold: f64) -> Result<ThresholdMetrics> {
    check(scores, labels)?;
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&s, &y) in scores.iter().zip(labels) {
        match (s >= threshold, y == 1.0) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    Ok(ThresholdMetrics { tp, fp, tn, fn_, accuracy: ratio(tp + tn, scores.len()), precision, recall, f1 })
}

/// Fraction of rows classified correctly at `threshold`.
pub fn accuracy(scores: &[f64], labels: &[f64], threshold: f64) -> Result<f64> {
    Ok(at_threshold(scores, labels, threshold)?.accuracy)
}

/// Mean negative log-likelihood of probabilities `probs`, each clipped to
/// `[eps, 1 − eps]` first so a confident mistake costs `−ln eps`, not ∞.
pub fn log_loss(probs: &[f64], labels: &[f64], eps: f64) -> Result<f64> {
    check(probs, labels)?;
    if !(eps > 0.0 && eps < 0.5) {
        return Err(Error::InvalidParams(format!("log-loss eps {eps} must lie in (0, 0.5)")));
    }
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(eps, 1.0 - eps);
            if y == 1.0 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    Ok(total / probs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn auc_by_hand() {
        // Pairs (pos, neg): (0.35,0.1) ✓ (0.35,0.4) ✗ (0.8,0.1) ✓ (0.8,0.4) ✓ → 3/4.
        close(auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).unwrap(), 0.75);
        // Ties: ranks of {0.5,0.5,0.5} are all 2, 0.9 has rank 4; positives sum
        // 2 + 4 = 6, (6 − 3)/(2·2) = 0.75 (a tied pair counts one half).
        close(auc(&[0.5, 0.5, 0.5, 0.9], &[0.0, 1.0, 0.0, 1.0]).unwrap(), 0.75);
        close(auc(&[1.0, 2.0], &[0.0, 1.0]).unwrap(), 1.0);
        close(auc(&[2.0, 1.0], &[0.0, 1.0]).unwrap(), 0.0);
        close(auc(&[3.0, 3.0], &[0.0, 1.0]).unwrap(), 0.5);
        assert!(matches!(auc(&[1.0, 2.0], &[1.0, 1.0]), Err(Error::Undefined(_))));
        assert!(matches!(auc(&[1.0, f64::NAN], &[0.0, 1.0]), Err(Error::NonFinite { row: 1, .. })));
        assert!(matches!(auc(&[1.0], &[0.0, 1.0]), Err(Error::Shape(_))));
    }

    #[test]
    fn ks_by_hand() {
        // Descending: 0.8(+) → TPR .5 FPR 0; 0.4(−) → .5/.5; 0.35(+) → 1/.5; 0.1(−) → 1/1.
        close(ks(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).unwrap(), 0.5);
        // A tie between a positive and a negative cannot be split: max is 1/2 after 0.9.
        close(ks(&[0.5, 0.5, 0.9, 0.1], &[0.0, 1.0, 1.0, 0.0]).unwrap(), 0.5);
        close(ks(&[0.1, 0.9], &[0.0, 1.0]).unwrap(), 1.0);
    }

    #[test]
    fn threshold_metrics_by_hand() {
        // Predictions at 0.5: [0,1,1,0,0]; TP=1 (row 2), FP=1 (row 1), TN=1, FN=2.
        let m = at_threshold(&[0.2, 0.6, 0.7, 0.3, 0.4], &[0.0, 0.0, 1.0, 1.0, 1.0], 0.5).unwrap();
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (1, 1, 1, 2));
        close(m.accuracy, 0.4);
        close(m.precision, 0.5);
        close(m.recall, 1.0 / 3.0);
        close(m.f1, 0.4);
        // The threshold itself counts as positive.
        close(accuracy(&[0.5, 0.49], &[1.0, 0.0], 0.5).unwrap(), 1.0);
        let none = at_threshold(&[0.1, 0.2], &[1.0, 0.0], 0.5).unwrap();
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn log_loss_by_hand() {
        // −(ln 0.9 + ln 0.8)/2.
        close(log_loss(&[0.9, 0.2], &[1.0, 0.0], LOG_LOSS_EPS).unwrap(), 0.164_252_033_486_018_1);
        // Clipped: −ln(1e-15) = 15·ln 10.
        close(log_loss(&[0.0], &[1.0], LOG_LOSS_EPS).unwrap(), 15.0 * 10f64.ln());
        close(log_loss(&[1.0], &[0.0], 0.01).unwrap(), -(0.01f64).ln());
        assert!(matches!(log_loss(&[0.5], &[1.0], 0.0), Err(Error::InvalidParams(_))));
    }
}
