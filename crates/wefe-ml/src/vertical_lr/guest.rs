//! The guest (label holder and key holder) of vertical LR.

use ndarray::{Array1, ArrayView1, Axis};
use rayon::prelude::*;
use wefe_crypto::paillier::NoisePool;
use wefe_crypto::{FixedPoint, PrivateKey, PublicKey};

use super::{EpochEnd, Forward, MaskedGradient, Residuals, Setup, UnmaskedGradient, ValidationScores};
use crate::data::{Features, check_labels};
use crate::logistic::{EpochStats, LinearModel, StopRule, TrainParams, TrainReport, mean_gradient, scores_loss};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    AwaitForwards,
    AwaitMasked,
    AwaitValidation,
    Done,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::New => "new",
            Phase::AwaitForwards => "awaiting forwards",
            Phase::AwaitMasked => "awaiting masked gradients",
            Phase::AwaitValidation => "awaiting validation scores",
            Phase::Done => "done",
        }
    }
}

/// What the guest waits for after answering a masked gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestStep {
    /// Masked gradients of other hosts for this batch.
    AwaitMoreGradients,
    /// The hosts' [`Forward`]s of the next batch.
    NextBatch,
    /// The hosts' [`ValidationScores`] (the epoch is over).
    AwaitValidation,
    /// The epoch is over without validation rows: send this to every host.
    EpochEnd(EpochEnd),
}

/// The guest's state machine: build with [`Guest::new`], then
/// [`start`](Guest::start), and feed it the hosts' messages.
pub struct Guest {
    params: TrainParams,
    key: PrivateKey,
    train: Features,
    labels: Vec<f64>,
    validation: Option<(Features, Vec<f64>)>,
    hosts: usize,
    model: LinearModel,
    best: (LinearModel, u32),
    stop_rule: StopRule,
    history: Vec<EpochStats>,
    epoch: u32,
    batch: u32,
    order: Vec<usize>,
    loss_sum: f64,
    phase: Phase,
    /// Hosts whose masked gradient of the current batch is still due.
    pending: Vec<bool>,
    /// Feature count of each host, fixed by its first gradient message.
    host_features: Vec<Option<usize>>,
    /// Encryption noise computed while the guest waits for its hosts.
    noise: NoisePool,
}

/// Shows the progress, never data, weights or the key.
impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("train", &self.train)
            .field("hosts", &self.hosts)
            .field("epoch", &self.epoch)
            .field("batch", &self.batch)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Guest {
    /// A guest with training rows `train`/`labels` (0/1), optional validation
    /// rows, the Paillier key it generated for this job, and `hosts` hosts.
    pub fn new(
        params: TrainParams,
        key: PrivateKey,
        train: Features,
        labels: Vec<f64>,
        validation: Option<(Features, Vec<f64>)>,
        hosts: usize,
    ) -> Result<Self> {
        params.validate()?;
        // No validation rows is the same as no validation set.
        let validation = validation.filter(|(vx, _)| vx.rows() > 0);
        check_labels("guest training labels", &labels, train.rows())?;
        if train.rows() == 0 {
            return Err(Error::Shape("no training rows".into()));
        }
        if hosts == 0 {
            return Err(Error::InvalidParams("vertical LR needs at least one host".into()));
        }
        if let Some((vx, vy)) = &validation {
            check_labels("guest validation labels", vy, vx.rows())?;
            if vx.cols() != train.cols() {
                return Err(Error::Shape(format!("validation has {} columns, training {}", vx.cols(), train.cols())));
            }
        }
        if params.early_stopping.is_some() && validation.is_none() {
            return Err(Error::InvalidParams("early stopping needs validation rows".into()));
        }
        let model = LinearModel { weights: Array1::zeros(train.cols()), intercept: 0.0 };
        // Two batches of noise at most (512 bytes each for 2048-bit keys).
        // The key holder's CRT generator (same noise, about half the cost).
        let noise = NoisePool::spawn_crt(key.crt_noise(), 2 * params.batch_size.min(1 << 16) as usize);
        Ok(Self {
            noise,
            best: (model.clone(), 0),
            model,
            stop_rule: StopRule::new(params.early_stopping),
            params,
            key,
            train,
            labels,
            validation,
            hosts,
            history: Vec::new(),
            epoch: 0,
            batch: 0,
            order: Vec::new(),
            loss_sum: 0.0,
            phase: Phase::New,
            pending: vec![false; hosts],
            host_features: vec![None; hosts],
        })
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// The public key (for decoding the hosts' ciphertexts).
    pub fn public_key(&self) -> &PublicKey {
        self.key.public()
    }

    /// Most rows in one batch.
    pub fn batch_rows(&self) -> usize {
        self.params.max_batch_rows(self.train.rows())
    }

    /// Validation rows (0: none).
    pub fn validation_rows(&self) -> usize {
        self.validation.as_ref().map_or(0, |(vx, _)| vx.rows())
    }

    /// The first message, for every host.
    pub fn start(mut self) -> Result<(Self, Setup)> {
        self.expect(Phase::New, "start")?;
        self.order = self.params.epoch_order(0, self.train.rows());
        self.phase = Phase::AwaitForwards;
        let setup = Setup {
            params: self.params,
            train_rows: self.train.rows() as u64,
            validation_rows: self.validation_rows() as u64,
            public_key: self.key.public().clone(),
        };
        Ok((self, setup))
    }

    fn expect(&self, phase: Phase, got: &'static str) -> Result<()> {
        if self.phase != phase {
            return Err(Error::UnexpectedMessage { got, phase: self.phase.name() });
        }
        Ok(())
    }

    fn batch_range(&self) -> std::ops::Range<usize> {
        self.params.batch_range(self.batch as usize, self.train.rows())
    }

    fn check_position(&self, message: &'static str, epoch: u32, batch: u32) -> Result<()> {
        if (epoch, batch) != (self.epoch, self.batch) {
            return Err(Error::Malformed {
                message,
                reason: format!("for epoch {epoch} batch {batch}, expected epoch {} batch {}", self.epoch, self.batch),
            });
        }
        Ok(())
    }

    /// Combines the hosts' partial scores (one [`Forward`] per host, in host
    /// order) with its own, updates its weights and returns the encrypted
    /// residuals for every host.
    pub fn on_forwards(&mut self, forwards: Vec<Forward>) -> Result<Residuals> {
        const MSG: &str = "vertical-LR forward";
        self.expect(Phase::AwaitForwards, MSG)?;
        if forwards.len() != self.hosts {
            return Err(Error::Shape(format!("{} forwards for {} hosts", forwards.len(), self.hosts)));
        }
        let rows: Vec<usize> = self.order[self.batch_range()].to_vec();
        let xb = self.train.view().select(Axis(0), &rows);
        let mut u = xb.dot(&self.model.weights) + self.model.intercept;
        for (h, f) in forwards.iter().enumerate() {
            self.check_position(MSG, f.epoch, f.batch)?;
            if f.scores.len() != rows.len() {
                return Err(Error::Malformed {
                    message: MSG,
                    reason: format!("host {h} sent {} scores for a batch of {}", f.scores.len(), rows.len()),
                });
            }
            u += &ArrayView1::from(&f.scores);
        }
        let y: Vec<f64> = rows.iter().map(|&i| self.labels[i]).collect();
        self.loss_sum += scores_loss(u.view(), &y)? * rows.len() as f64;
        let d = self.params.residuals(u.view(), &y);

        let fp = FixedPoint::new(self.params.frac_bits);
        let pk = self.key.public();
        let encoded = d.iter().map(|&di| fp.encode(pk, di)).collect::<wefe_crypto::Result<Vec<_>>>()?;
        // DJN fixed-base encryption (wefe-crypto's `PublicKey::encrypt`, ~12×
        // faster here than the key holder's CRT path with full-size randomness;
        // its extra short-exponent assumption is stated in `wefe_crypto::paillier`),
        // with the noise `h_s^α` precomputed by a thread of its own while the
        // guest waited for the hosts: only a multiplication is left here.
        let noise = &self.noise;
        let residuals = encoded
            .par_iter()
            .map(|m| noise.take().and_then(|r| pk.encrypt_with_noise(m, r)))
            .collect::<wefe_crypto::Result<Vec<_>>>()?;

        let lr = self.params.learning_rate_at(self.epoch);
        let grad = mean_gradient(xb.view(), d.view());
        self.model.intercept -= lr * d.sum() / rows.len() as f64;
        self.params.step(self.model.weights.view_mut(), grad.view(), lr);

        self.pending.iter_mut().for_each(|p| *p = true);
        self.phase = Phase::AwaitMasked;
        Ok(Residuals { epoch: self.epoch, batch: self.batch, residuals })
    }

    /// Decrypts host `host`'s masked gradient sums and says what comes next.
    pub fn on_masked_gradient(&mut self, host: usize, msg: MaskedGradient) -> Result<(UnmaskedGradient, GuestStep)> {
        const MSG: &str = "vertical-LR masked gradient";
        self.expect(Phase::AwaitMasked, MSG)?;
        if !self.pending.get(host).copied().unwrap_or(false) {
            return Err(Error::Malformed { message: MSG, reason: format!("no gradient due from host {host}") });
        }
        self.check_position(MSG, msg.epoch, msg.batch)?;
        let count = msg.values.len();
        match self.host_features[host] {
            None if count == 0 => {
                return Err(Error::Malformed { message: MSG, reason: format!("host {host} has no features") });
            }
            // With as many features as rows in a batch, the host could solve
            // its gradient X_Bᵀ·d for the residuals d (and so the labels):
            // refuse before it gets the first gradient back.
            None if count >= self.params.min_batch_rows(self.train.rows()) => {
                return Err(Error::InvalidParams(format!(
                    "host {host} has {count} features, not fewer than the {} rows of a batch: its gradients \
                     would reveal the labels; use a batch_size above {count}",
                    self.params.min_batch_rows(self.train.rows())
                )));
            }
            None => self.host_features[host] = Some(count),
            Some(n) if n != count => {
                return Err(Error::Malformed {
                    message: MSG,
                    reason: format!("host {host} sent {count} values, earlier {n}"),
                });
            }
            Some(_) => {}
        }
        let values = msg.values.par_iter().map(|c| self.key.decrypt(c)).collect::<wefe_crypto::Result<Vec<_>>>()?;
        let reply = UnmaskedGradient { epoch: self.epoch, batch: self.batch, values };
        self.pending[host] = false;
        if self.pending.iter().any(|&p| p) {
            return Ok((reply, GuestStep::AwaitMoreGradients));
        }
        self.batch += 1;
        if (self.batch as usize) < self.params.batch_count(self.train.rows()) {
            self.phase = Phase::AwaitForwards;
            return Ok((reply, GuestStep::NextBatch));
        }
        if self.validation.is_some() {
            self.phase = Phase::AwaitValidation;
            return Ok((reply, GuestStep::AwaitValidation));
        }
        Ok((reply, GuestStep::EpochEnd(self.end_epoch(None))))
    }

    /// Scores the validation rows with the hosts' partial scores (one per
    /// host, in host order) and applies the stopping rule.
    pub fn on_validation(&mut self, scores: Vec<ValidationScores>) -> Result<EpochEnd> {
        const MSG: &str = "vertical-LR validation scores";
        self.expect(Phase::AwaitValidation, MSG)?;
        let Some((vx, vy)) = &self.validation else {
            return Err(Error::UnexpectedMessage { got: MSG, phase: "no validation rows" });
        };
        if scores.len() != self.hosts {
            return Err(Error::Shape(format!("{} validation messages for {} hosts", scores.len(), self.hosts)));
        }
        let mut u = self.model.scores(vx)?;
        for (h, s) in scores.iter().enumerate() {
            if s.epoch != self.epoch || s.scores.len() != u.len() {
                return Err(Error::Malformed {
                    message: MSG,
                    reason: format!(
                        "host {h}: {} scores for epoch {}, expected {} for {}",
                        s.scores.len(),
                        s.epoch,
                        u.len(),
                        self.epoch
                    ),
                });
            }
            u += &ArrayView1::from(&s.scores);
        }
        let loss = scores_loss(u.view(), vy)?;
        Ok(self.end_epoch(Some(loss)))
    }

    fn end_epoch(&mut self, validation_loss: Option<f64>) -> EpochEnd {
        let epoch = self.epoch;
        self.history.push(EpochStats { epoch, train_loss: self.loss_sum / self.train.rows() as f64, validation_loss });
        let (improved, stop) = self.stop_rule.observe(validation_loss);
        if improved {
            self.best = (self.model.clone(), epoch);
        }
        let stop = stop || epoch + 1 >= self.params.epochs;
        if stop {
            self.phase = Phase::Done;
        } else {
            self.epoch += 1;
            self.batch = 0;
            self.loss_sum = 0.0;
            self.order = self.params.epoch_order(self.epoch, self.train.rows());
            self.phase = Phase::AwaitForwards;
        }
        EpochEnd { epoch, improved, stop }
    }

    /// The guest's part of the model (its weights and the intercept of the
    /// best epoch) and the loss history, once training has stopped.
    pub fn finish(self) -> Result<(LinearModel, TrainReport)> {
        self.expect(Phase::Done, "finish")?;
        let (model, best_epoch) = self.best;
        Ok((model, TrainReport { history: self.history, best_epoch }))
    }
}
