//! A host (feature holder) of vertical LR.

use ndarray::{Array1, Axis};
use rayon::prelude::*;
use rug::Integer;
use rug::integer::Order;
use wefe_crypto::{FixedPoint, PublicKey};

use super::{EpochEnd, Forward, MaskedGradient, Residuals, Setup, UnmaskedGradient, ValidationScores};
use crate::data::Features;
use crate::logistic::{LinearModel, TrainParams};
use crate::{Error, Result};

/// A host before the guest's [`Setup`].
pub struct Host {
    params: TrainParams,
    train: Features,
    validation: Option<Features>,
    insecure_keys: bool,
}

/// Shows the shape, never the data.
impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("train", &self.train).field("validation", &self.validation).finish_non_exhaustive()
    }
}

/// What a host does after the guest returned its unmasked gradient.
#[derive(Debug, Clone, PartialEq)]
pub enum HostStep {
    /// Send this forward of the next batch.
    Forward(Forward),
    /// The epoch is over: send the validation scores (if there are
    /// validation rows), then wait for [`EpochEnd`].
    EpochDone(Option<ValidationScores>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitResiduals,
    AwaitUnmasked,
    AwaitEpochEnd,
    Done,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::AwaitResiduals => "awaiting residuals",
            Phase::AwaitUnmasked => "awaiting unmasked gradient",
            Phase::AwaitEpochEnd => "awaiting epoch end",
            Phase::Done => "done",
        }
    }
}

/// A host during training (after [`Host::on_setup`]).
pub struct HostTraining {
    params: TrainParams,
    pk: PublicKey,
    train: Features,
    validation: Option<Features>,
    weights: Array1<f64>,
    best: Array1<f64>,
    epoch: u32,
    batch: u32,
    order: Vec<usize>,
    /// The masks `r_j` of the current batch (secret to this host).
    masks: Vec<Integer>,
    phase: Phase,
}

/// Shows the progress, never data, weights or masks.
impl std::fmt::Debug for HostTraining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTraining")
            .field("train", &self.train)
            .field("epoch", &self.epoch)
            .field("batch", &self.batch)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host with training rows `train` (aligned with the guest's) and
    /// optional validation rows, expecting the job's `params`.
    pub fn new(params: TrainParams, train: Features, validation: Option<Features>) -> Result<Self> {
        params.validate()?;
        // No validation rows is the same as no validation set (as for the guest).
        let validation = validation.filter(|vx| vx.rows() > 0);
        if train.cols() == 0 {
            return Err(Error::Shape("a host needs at least one feature column".into()));
        }
        if let Some(vx) = &validation
            && vx.cols() != train.cols()
        {
            return Err(Error::Shape(format!("validation has {} columns, training {}", vx.cols(), train.cols())));
        }
        Ok(Self { params, train, validation, insecure_keys: false })
    }

    /// Accept guest keys below 2048 bits (tests only).
    pub fn with_insecure_keys(mut self) -> Self {
        self.insecure_keys = true;
        self
    }

    /// Whether keys below 2048 bits are accepted.
    pub fn accepts_insecure_keys(&self) -> bool {
        self.insecure_keys
    }

    /// Checks the guest's setup against this host's parameters and rows and
    /// returns the first [`Forward`].
    pub fn on_setup(self, setup: Setup) -> Result<(HostTraining, Forward)> {
        if setup.params != self.params {
            return Err(Error::ParamsMismatch(format!(
                "guest sent {:?}, this host has {:?}",
                setup.params, self.params
            )));
        }
        if setup.train_rows != self.train.rows() as u64 {
            return Err(Error::Shape(format!(
                "guest has {} training rows, this host {}",
                setup.train_rows,
                self.train.rows()
            )));
        }
        let val_rows = self.validation.as_ref().map_or(0, Features::rows) as u64;
        if setup.validation_rows != val_rows {
            return Err(Error::Shape(format!(
                "guest has {} validation rows, this host {val_rows}",
                setup.validation_rows
            )));
        }
        if !self.insecure_keys && setup.public_key.bits() < 2048 {
            return Err(Error::InvalidParams(format!("guest key of {} bits is below 2048", setup.public_key.bits())));
        }
        let cols = self.train.cols();
        let mut host = HostTraining {
            order: self.params.epoch_order(0, self.train.rows()),
            params: self.params,
            pk: setup.public_key,
            train: self.train,
            validation: self.validation,
            weights: Array1::zeros(cols),
            best: Array1::zeros(cols),
            epoch: 0,
            batch: 0,
            masks: Vec::new(),
            phase: Phase::AwaitResiduals,
        };
        let forward = host.forward();
        Ok((host, forward))
    }
}

impl HostTraining {
    /// The guest's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    /// Most rows in one batch.
    pub fn batch_rows(&self) -> usize {
        self.params.max_batch_rows(self.train.rows())
    }

    fn batch_rows_now(&self) -> &[usize] {
        &self.order[self.params.batch_range(self.batch as usize, self.train.rows())]
    }

    fn forward(&mut self) -> Forward {
        let scores = self.train.view().select(Axis(0), self.batch_rows_now()).dot(&self.weights);
        Forward { epoch: self.epoch, batch: self.batch, scores: scores.to_vec() }
    }

    fn expect(&self, phase: Phase, got: &'static str) -> Result<()> {
        if self.phase != phase {
            return Err(Error::UnexpectedMessage { got, phase: self.phase.name() });
        }
        Ok(())
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

    /// Computes `[[Σ_i d_i·x_ij + r_j]]` for every feature j (multi-exponentiations
    /// sharing the residuals' subset products, see
    /// [`PublicKey::inner_products`](wefe_crypto::PublicKey::inner_products)),
    /// with fresh masks, re-randomised.
    pub fn on_residuals(&mut self, msg: Residuals) -> Result<MaskedGradient> {
        const MSG: &str = "vertical-LR residuals";
        self.expect(Phase::AwaitResiduals, MSG)?;
        self.check_position(MSG, msg.epoch, msg.batch)?;
        let rows = self.batch_rows_now().to_vec();
        if msg.residuals.len() != rows.len() {
            return Err(Error::Malformed {
                message: MSG,
                reason: format!("{} residuals for a batch of {}", msg.residuals.len(), rows.len()),
            });
        }
        let fp = FixedPoint::new(self.params.frac_bits);
        let mask_bits = self.pk.bits().saturating_sub(4);
        let pk = &self.pk;
        // One scalar vector per feature (a column of the batch); all share the
        // batch's residuals as bases.
        let xb = self.train.view().select(Axis(0), &rows);
        let xs: Vec<Vec<Integer>> = (0..xb.ncols())
            .into_par_iter()
            .map(|j| xb.column(j).iter().map(|&v| fp.to_fixed(v)).collect::<wefe_crypto::Result<Vec<_>>>())
            .collect::<wefe_crypto::Result<_>>()?;
        let sums = pk.inner_products(&msg.residuals, &xs)?;
        let results: Vec<(Integer, wefe_crypto::Ciphertext)> = sums
            .into_par_iter()
            .map(|sum| -> Result<_> {
                let mask = random_below_pow2(mask_bits)?;
                let masked = pk.rerandomize(&pk.add_plain(&sum, &mask)?)?;
                Ok((mask, masked))
            })
            .collect::<Result<_>>()?;
        let (masks, values): (Vec<_>, Vec<_>) = results.into_iter().unzip();
        self.masks = masks;
        self.phase = Phase::AwaitUnmasked;
        Ok(MaskedGradient { epoch: self.epoch, batch: self.batch, values })
    }

    /// Removes the masks, updates the weights and says what comes next.
    pub fn on_unmasked(&mut self, msg: UnmaskedGradient) -> Result<HostStep> {
        const MSG: &str = "vertical-LR unmasked gradient";
        self.expect(Phase::AwaitUnmasked, MSG)?;
        self.check_position(MSG, msg.epoch, msg.batch)?;
        if msg.values.len() != self.masks.len() {
            return Err(Error::Malformed {
                message: MSG,
                reason: format!("{} values for {} features", msg.values.len(), self.masks.len()),
            });
        }
        let scale = FixedPoint::new(2 * self.params.frac_bits);
        let n = self.pk.n();
        let batch_len = self.batch_rows_now().len() as f64;
        let grad = msg
            .values
            .iter()
            .zip(&self.masks)
            .map(|(v, r)| {
                let mut m = Integer::from(v - r);
                m.modulo_mut(n);
                Ok(scale.decode(&self.pk, &m)? / batch_len)
            })
            .collect::<Result<Array1<f64>>>()?;
        self.masks.clear();
        let lr = self.params.learning_rate_at(self.epoch);
        self.params.step(self.weights.view_mut(), grad.view(), lr);

        self.batch += 1;
        if (self.batch as usize) < self.params.batch_count(self.train.rows()) {
            self.phase = Phase::AwaitResiduals;
            return Ok(HostStep::Forward(self.forward()));
        }
        self.phase = Phase::AwaitEpochEnd;
        let validation = self
            .validation
            .as_ref()
            .map(|vx| ValidationScores { epoch: self.epoch, scores: vx.scores(&self.weights).to_vec() });
        Ok(HostStep::EpochDone(validation))
    }

    /// Applies the guest's verdict; `None` when training is over.
    pub fn on_epoch_end(&mut self, end: EpochEnd) -> Result<Option<Forward>> {
        const MSG: &str = "vertical-LR epoch end";
        self.expect(Phase::AwaitEpochEnd, MSG)?;
        if end.epoch != self.epoch {
            return Err(Error::Malformed {
                message: MSG,
                reason: format!("epoch {}, expected {}", end.epoch, self.epoch),
            });
        }
        if end.improved {
            self.best.clone_from(&self.weights);
        }
        if end.stop {
            self.phase = Phase::Done;
            return Ok(None);
        }
        if self.epoch + 1 >= self.params.epochs {
            return Err(Error::Malformed { message: MSG, reason: "the last epoch must stop".into() });
        }
        self.epoch += 1;
        self.batch = 0;
        self.order = self.params.epoch_order(self.epoch, self.train.rows());
        self.phase = Phase::AwaitResiduals;
        Ok(Some(self.forward()))
    }

    /// This host's weights of the best epoch, once training has stopped.
    pub fn finish(self) -> Result<LinearModel> {
        self.expect(Phase::Done, "finish")?;
        Ok(LinearModel { weights: self.best, intercept: 0.0 })
    }
}

/// Uniform in `[0, 2^bits)` from the operating system's generator.
fn random_below_pow2(bits: u32) -> Result<Integer> {
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    let mut x = Integer::from_digits(&bytes, Order::Msf);
    x.keep_bits_mut(bits);
    Ok(x)
}
