//! The optimiser shared by the vertical protocol and its centralised
//! reference: mini-batch gradient descent on the logistic loss with a seeded
//! batch order, a learning-rate schedule, L2 (in the gradient) and L1
//! (proximal soft-thresholding), and early stopping on a validation loss.
//!
//! [`train_plain`] runs exactly these steps on one party's full table with no
//! encryption; the vertical protocol must reproduce it up to fixed-point
//! rounding, which is what the accuracy tests compare.

use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1, Axis, Zip};

use crate::data::{Features, SplitMix64, check_labels};
use crate::metrics::{LOG_LOSS_EPS, log_loss};
use crate::{Error, Result};

/// How the learning rate changes over epochs (`t` = 0-based epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// `η_t = η`.
    Constant,
    /// `η_t = η / (1 + decay·t)` (FATE's `decay` with `decay_sqrt = false`).
    InverseDecay {
        /// Decay rate, ≥ 0.
        decay: f64,
    },
}

/// Which residual `d = ∂loss/∂u` the label holder computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residual {
    /// Exact `σ(u) − y`. Possible because the guest sees the total score in
    /// the clear (see [`crate::vertical_lr`]).
    Sigmoid,
    /// Second-order Taylor expansion of the loss at 0: `0.25·u + 0.5 − y`
    /// (Hardy et al. 2017, as FATE writes it with `y ∈ {−1, 1}`: `0.25u − 0.5y`).
    Taylor,
}

/// Stop when the validation loss has not improved by `min_delta` for
/// `patience` epochs; the weights of the best epoch are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (≥ 1).
    pub patience: u32,
    /// Smallest decrease that counts as an improvement (≥ 0).
    pub min_delta: f64,
}

/// Hyper-parameters; all parties of a job must use the same values (the
/// vertical protocol checks this at setup).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainParams {
    /// Maximum number of passes over the training rows.
    pub epochs: u32,
    /// Rows per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: u32,
    /// Initial learning rate η.
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// L1 penalty λ₁ (proximal step; the intercept is not penalised).
    pub l1: f64,
    /// L2 penalty λ₂ (adds λ₂·w to the gradient; not the intercept).
    pub l2: f64,
    /// Early stopping on the guest's validation loss (needs validation rows).
    pub early_stopping: Option<EarlyStopping>,
    /// Seed of the batch order (shared by all parties).
    pub seed: u64,
    /// Residual formula.
    pub residual: Residual,
    /// Fractional bits of the fixed-point encoding of residuals and features
    /// (vertical protocol only), 8–48.
    pub frac_bits: u32,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 256,
            learning_rate: 0.1,
            schedule: LrSchedule::Constant,
            l1: 0.0,
            l2: 0.0,
            early_stopping: None,
            seed: 0,
            residual: Residual::Sigmoid,
            frac_bits: 24,
        }
    }
}

impl TrainParams {
    /// Rejects values training cannot use.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParams(m));
        let finite_non_neg = |x: f64| x.is_finite() && x >= 0.0;
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs and batch_size must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!("learning rate {} must be positive", self.learning_rate));
        }
        if !finite_non_neg(self.l1) || !finite_non_neg(self.l2) {
            return bad(format!("penalties l1 = {}, l2 = {} must be ≥ 0", self.l1, self.l2));
        }
        if let LrSchedule::InverseDecay { decay } = self.schedule
            && !finite_non_neg(decay)
        {
            return bad(format!("decay {decay} must be ≥ 0"));
        }
        if let Some(es) = self.early_stopping
            && (es.patience == 0 || !finite_non_neg(es.min_delta))
        {
            return bad("early stopping needs patience ≥ 1 and min_delta ≥ 0".into());
        }
        if !(8..=48).contains(&self.frac_bits) {
            return bad(format!("frac_bits {} must lie in 8..=48", self.frac_bits));
        }
        Ok(())
    }

    /// Learning rate of epoch `t` (0-based).
    pub fn learning_rate_at(&self, t: u32) -> f64 {
        match self.schedule {
            LrSchedule::Constant => self.learning_rate,
            LrSchedule::InverseDecay { decay } => self.learning_rate / (1.0 + decay * f64::from(t)),
        }
    }

    /// Batches per epoch over `rows` rows: `⌊rows / batch_size⌋` (at least 1);
    /// a remainder joins the last batch, so no batch is smaller than
    /// `min(batch_size, rows)` (a tiny last batch would let a host with more
    /// features than its rows solve for the residuals, see `vertical_lr`).
    pub fn batch_count(&self, rows: usize) -> usize {
        (rows / self.batch_size as usize).max(1)
    }

    /// Positions (in the epoch order) of batch `b` of [`Self::batch_count`].
    pub fn batch_range(&self, b: usize, rows: usize) -> std::ops::Range<usize> {
        let bs = self.batch_size as usize;
        let start = (b * bs).min(rows);
        if b + 1 >= self.batch_count(rows) { start..rows } else { start..start + bs }
    }

    /// Most rows in one batch (`batch_size` plus the remainder).
    pub fn max_batch_rows(&self, rows: usize) -> usize {
        self.batch_range(self.batch_count(rows) - 1, rows).len()
    }

    /// Fewest rows in one batch.
    pub fn min_batch_rows(&self, rows: usize) -> usize {
        self.batch_range(0, rows).len()
    }

    /// The shuffled row order of epoch `t`; every party derives the same one.
    pub fn epoch_order(&self, t: u32, rows: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..rows).collect();
        let mut rng = SplitMix64::new(self.seed ^ u64::from(t).wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.shuffle(&mut order);
        order
    }

    /// The residual of one row with total score `u` and label `y`.
    pub fn residual(&self, u: f64, y: f64) -> f64 {
        match self.residual {
            Residual::Sigmoid => sigmoid(u) - y,
            Residual::Taylor => 0.25 * u + 0.5 - y,
        }
    }

    /// One descent step on `w` with the batch-mean gradient `grad` (of the
    /// data term) at learning rate `lr`: L2 in the gradient, then L1 by
    /// soft-thresholding. Panics if `w` and `grad` differ in length.
    pub fn step(&self, w: ArrayViewMut1<'_, f64>, grad: ArrayView1<'_, f64>, lr: f64) {
        Zip::from(w).and(grad).for_each(|wj, &gj| {
            *wj -= lr * (gj + self.l2 * *wj);
            if self.l1 > 0.0 {
                *wj = wj.signum() * (wj.abs() - lr * self.l1).max(0.0);
            }
        });
    }

    /// The residuals `d` of a batch with total scores `u` and labels `y`.
    pub(crate) fn residuals(&self, u: ArrayView1<'_, f64>, y: &[f64]) -> Array1<f64> {
        Zip::from(u).and(y).map_collect(|&u, &y| self.residual(u, y))
    }
}

/// Numerically stable logistic function.
pub fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// Losses of one epoch (from the guest's point of view).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// 0-based epoch.
    pub epoch: u32,
    /// Mean log-loss of the training rows, each taken at the weights before
    /// its batch's update.
    pub train_loss: f64,
    /// Log-loss on the validation rows after the epoch, if there are any.
    pub validation_loss: Option<f64>,
}

/// Tracks the best validation loss and decides when to stop.
#[derive(Debug, Clone)]
pub(crate) struct StopRule {
    rule: Option<EarlyStopping>,
    best: f64,
    stale: u32,
}

impl StopRule {
    pub(crate) fn new(rule: Option<EarlyStopping>) -> Self {
        Self { rule, best: f64::INFINITY, stale: 0 }
    }

    /// `(improved, stop)` after an epoch with validation loss `loss`.
    pub(crate) fn observe(&mut self, loss: Option<f64>) -> (bool, bool) {
        let (Some(rule), Some(loss)) = (self.rule, loss) else { return (true, false) };
        if loss < self.best - rule.min_delta {
            self.best = loss;
            self.stale = 0;
            (true, false)
        } else {
            self.stale += 1;
            (false, self.stale >= rule.patience)
        }
    }
}

/// A trained linear model of one party: its weights and (guest only) the intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// One weight per feature column of this party.
    pub weights: Array1<f64>,
    /// The intercept (0 for hosts).
    pub intercept: f64,
}

impl LinearModel {
    /// `X·w + b` for every row.
    pub fn scores(&self, x: &Features) -> Result<Array1<f64>> {
        if x.cols() != self.weights.len() {
            return Err(Error::Shape(format!("{} columns for {} weights", x.cols(), self.weights.len())));
        }
        Ok(x.scores(&self.weights) + self.intercept)
    }
}

/// What training returns besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// One entry per epoch run.
    pub history: Vec<EpochStats>,
    /// The epoch whose weights were kept (the best validation loss with
    /// early stopping, else the last).
    pub best_epoch: u32,
}

/// Centralised logistic regression with exactly the optimiser of the
/// vertical protocol (same batch order, residual, schedule, penalties and
/// stopping rule), no encryption: the reference the protocol is tested against.
pub fn train_plain(
    params: &TrainParams,
    x: &Features,
    y: &[f64],
    validation: Option<(&Features, &[f64])>,
) -> Result<(LinearModel, TrainReport)> {
    params.validate()?;
    check_labels("training labels", y, x.rows())?;
    if x.rows() == 0 {
        return Err(Error::Shape("no training rows".into()));
    }
    if let Some((vx, vy)) = validation {
        check_labels("validation labels", vy, vx.rows())?;
        if vx.cols() != x.cols() {
            return Err(Error::Shape(format!("validation has {} columns, training {}", vx.cols(), x.cols())));
        }
    }
    let mut model = LinearModel { weights: Array1::zeros(x.cols()), intercept: 0.0 };
    let mut best = (model.clone(), 0u32);
    let mut stop_rule = StopRule::new(params.early_stopping);
    let mut history = Vec::new();
    for epoch in 0..params.epochs {
        let lr = params.learning_rate_at(epoch);
        let order = params.epoch_order(epoch, x.rows());
        let mut loss_sum = 0.0;
        for b in 0..params.batch_count(order.len()) {
            let batch = &order[params.batch_range(b, order.len())];
            let xb = x.view().select(Axis(0), batch);
            let u = xb.dot(&model.weights) + model.intercept;
            let labels: Vec<f64> = batch.iter().map(|&i| y[i]).collect();
            loss_sum += batch_loss(u.view(), &labels) * batch.len() as f64;
            let d = params.residuals(u.view(), &labels);
            let grad = mean_gradient(xb.view(), d.view());
            model.intercept -= lr * d.sum() / batch.len() as f64;
            params.step(model.weights.view_mut(), grad.view(), lr);
        }
        let validation_loss = match validation {
            Some((vx, vy)) => Some(scores_loss(model.scores(vx)?.view(), vy)?),
            None => None,
        };
        history.push(EpochStats { epoch, train_loss: loss_sum / x.rows() as f64, validation_loss });
        let (improved, stop) = stop_rule.observe(validation_loss);
        if improved {
            best = (model.clone(), epoch);
        }
        if stop {
            break;
        }
    }
    // Without early stopping every epoch counts as improved, so `best` is the last.
    let (model, best_epoch) = best;
    Ok((model, TrainReport { history, best_epoch }))
}

/// `X_Bᵀ·d / |B|` for the batch's rows `xb` (one per residual in `d`).
pub(crate) fn mean_gradient(xb: ArrayView2<'_, f64>, d: ArrayView1<'_, f64>) -> Array1<f64> {
    // ndarray's matrix–vector product runs each column's sum over the batch
    // rows in order, as the row-by-row accumulation did before.
    xb.t().dot(&d) / d.len() as f64
}

/// Log-loss of logits `u`.
pub(crate) fn scores_loss(u: ArrayView1<'_, f64>, y: &[f64]) -> Result<f64> {
    let p: Vec<f64> = u.iter().map(|&u| sigmoid(u)).collect();
    log_loss(&p, y, LOG_LOSS_EPS)
}

fn batch_loss(u: ArrayView1<'_, f64>, y: &[f64]) -> f64 {
    scores_loss(u, y).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_penalties_and_residuals() {
        let p = TrainParams {
            schedule: LrSchedule::InverseDecay { decay: 0.5 },
            l1: 0.1,
            l2: 1.0,
            ..TrainParams::default()
        };
        assert_eq!(p.learning_rate_at(0), 0.1);
        assert_eq!(p.learning_rate_at(2), 0.05);
        // w = 1, g = 0.5, lr = 0.1: 1 − 0.1·(0.5 + 1) = 0.85, then L1: 0.85 − 0.01 = 0.84.
        let mut w = ndarray::array![1.0, 0.005];
        p.step(w.view_mut(), ndarray::array![0.5, 0.0].view(), 0.1);
        assert!((w[0] - 0.84).abs() < 1e-12);
        assert_eq!(w[1], 0.0, "soft-thresholding zeroes small weights");
        assert_eq!(p.residual(0.0, 1.0), -0.5);
        let taylor = TrainParams { residual: Residual::Taylor, ..p };
        assert_eq!(taylor.residual(2.0, 0.0), 1.0);
        assert!(TrainParams { frac_bits: 4, ..p }.validate().is_err());
        assert!(TrainParams { learning_rate: f64::NAN, ..p }.validate().is_err());
    }

    #[test]
    fn epoch_order_is_seeded_and_differs_by_epoch() {
        let p = TrainParams { seed: 42, ..TrainParams::default() };
        assert_eq!(p.epoch_order(3, 50), p.epoch_order(3, 50));
        assert_ne!(p.epoch_order(3, 50), p.epoch_order(4, 50));
        assert_ne!(p.epoch_order(3, 50), TrainParams { seed: 43, ..p }.epoch_order(3, 50));
    }

    #[test]
    fn plain_training_separates_a_separable_set_and_stops_early() {
        let x = Features::from_rows("x", &[vec![-2.0], vec![-1.0], vec![1.0], vec![2.0]]).unwrap();
        let y = [0.0, 0.0, 1.0, 1.0];
        let p = TrainParams { epochs: 50, batch_size: 2, learning_rate: 0.5, ..TrainParams::default() };
        let (model, report) = train_plain(&p, &x, &y, None).unwrap();
        assert!(model.weights[0] > 1.0);
        assert_eq!(report.history.len(), 50);
        assert!(report.history[49].train_loss < report.history[0].train_loss);
        // Validation labels the opposite way: loss rises at once, patience 2 stops after epoch 2.
        let es = TrainParams { early_stopping: Some(EarlyStopping { patience: 2, min_delta: 0.0 }), ..p };
        let vy = [1.0, 1.0, 0.0, 0.0];
        let (_, report) = train_plain(&es, &x, &y, Some((&x, &vy))).unwrap();
        assert_eq!(report.history.len(), 3);
        assert_eq!(report.best_epoch, 0);
    }
}
