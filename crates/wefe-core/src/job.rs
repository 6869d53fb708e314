//! Job kinds and their params: the one definition that `wefe job propose`
//! checks before it signs a proposal and that a node checks before it runs
//! a job, so a misspelt key, a wrong type, an unknown protocol or an
//! impossible combination is refused in one line by both, the same way.
//!
//! A job is a [`JobKind`] (the `kind` string on chain) and a params JSON
//! object; [`JobSpec::parse`] turns the two into one typed value per kind.
//! Every kind refuses unknown keys, except the free-text `purpose` and
//! `description`; every kind accepts `timeout_secs` (the nodes' time limit
//! for this job) and `publish` (the summary fields that go on chain: only
//! names the kind's summary has, see [`JobKind::publishable`]).
//!
//! Adding a kind: one variant here (with its params type and its
//! publishable fields) and one runner module in the node; every `match` on
//! [`JobKind`] or [`JobSpec`] is exhaustive, so the compiler names each place
//! a new kind must be handled.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::PeerId;

/// Why a job's kind or params cannot be run; one line, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(String);

impl SpecError {
    /// The message, one line of at most 300 characters: params come from the
    /// chain, and a refusal must not echo untrusted text at length.
    fn new(message: impl Into<String>) -> Self {
        Self(shown(&message.into(), 300))
    }
}

/// `text` on one line (control characters escaped), cut to `max` characters.
fn shown(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The job kinds the platform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Private set intersection between two or more members.
    Psi,
    /// Vertical logistic regression: the first participant holds the labels.
    VerticalLr,
    /// Scores rows with a `vertical-lr` or `secureboost` model.
    Predict,
    /// Federated binning with WOE/IV: the first participant holds the labels.
    Binning,
    /// Vertical SecureBoost (boosted trees): the first participant holds the labels.
    SecureBoost,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 5] = [Self::Psi, Self::VerticalLr, Self::Predict, Self::Binning, Self::SecureBoost];

    /// The kind's name on chain.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Psi => "psi",
            Self::VerticalLr => "vertical-lr",
            Self::Predict => "predict",
            Self::Binning => "binning",
            Self::SecureBoost => "secureboost",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        Self::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| {
            SpecError::new(format!(
                "unknown job kind '{}' (known: {})",
                shown(text, 64),
                Self::ALL.map(Self::name).join(", ")
            ))
        })
    }

    /// The summary fields a job of this kind may publish on chain besides
    /// [`metrics`](Self::has_metrics) (`rows.train` names one field of `rows`).
    pub const fn publishable(self) -> &'static [&'static str] {
        match self {
            Self::Psi => &["protocol", "intersection_size", "learned"],
            Self::VerticalLr => &[
                "role",
                "model_hash",
                "rows",
                "rows.train",
                "rows.validation",
                "features",
                "epochs_run",
                "best_epoch",
                "evaluated_on",
            ],
            Self::Predict => &["role", "model_job", "rows", "predicted_positive", "threshold"],
            Self::Binning => &["role", "rows", "features", "method", "max_bins"],
            Self::SecureBoost => {
                &["role", "model_hash", "rows", "rows.train", "rows.validation", "features", "trees", "evaluated_on"]
            }
        }
    }

    /// Whether the kind's summary carries the evaluation `metrics` (then
    /// `metrics` and each of [`METRIC_FIELDS`] may be published too).
    pub const fn has_metrics(self) -> bool {
        match self {
            Self::Psi | Self::Binning => false,
            Self::VerticalLr | Self::Predict | Self::SecureBoost => true,
        }
    }

    /// Whether `field` may be published by a job of this kind.
    pub fn may_publish(self, field: &str) -> bool {
        self.publishable().contains(&field)
            || (self.has_metrics()
                && (field == "metrics" || field.strip_prefix("metrics.").is_some_and(|m| METRIC_FIELDS.contains(&m))))
    }

    /// Every field a job of this kind may publish, for messages.
    fn publishable_list(self) -> String {
        let mut fields: Vec<String> = self.publishable().iter().map(|f| (*f).to_owned()).collect();
        if self.has_metrics() {
            fields.push("metrics".to_owned());
            fields.extend(METRIC_FIELDS.iter().map(|m| format!("metrics.{m}")));
        }
        fields.join(", ")
    }
}

/// The fields of a learning job's evaluation `metrics`.
pub const METRIC_FIELDS: [&str; 10] =
    ["rows", "positives", "auc", "ks", "accuracy", "precision", "recall", "f1", "log_loss", "threshold"];

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A job's kind with its checked params.
#[derive(Debug, Clone, PartialEq)]
pub enum JobSpec {
    /// `psi`.
    Psi(PsiParams),
    /// `vertical-lr`.
    VerticalLr(VerticalLrParams),
    /// `predict`.
    Predict(PredictParams),
    /// `binning`.
    Binning(BinningParams),
    /// `secureboost`.
    SecureBoost(SecureBoostParams),
}

impl JobSpec {
    /// Checks `params` (a JSON object) as the params of a `kind` job between
    /// `participants` (in the proposal's order).
    pub fn parse(kind: &str, params: &str, participants: &[PeerId]) -> Result<Self, SpecError> {
        let kind = JobKind::parse(kind)?;
        let prefix = |e: String| SpecError::new(format!("{kind} params: {e}"));
        check_params_json(params).map_err(prefix)?;
        if participants.len() < 2 {
            return Err(SpecError::new(format!("a {kind} job needs at least 2 participants")));
        }
        if participants.iter().collect::<std::collections::BTreeSet<_>>().len() != participants.len() {
            return Err(SpecError::new(format!("a participant appears twice in this {kind} job")));
        }
        let spec = match kind {
            JobKind::Psi => Self::Psi(PsiParams::parse(params, participants.len()).map_err(prefix)?),
            JobKind::VerticalLr => Self::VerticalLr(VerticalLrParams::parse(params, participants).map_err(prefix)?),
            JobKind::Predict => Self::Predict(PredictParams::parse(params).map_err(prefix)?),
            JobKind::Binning => Self::Binning(BinningParams::parse(params, participants).map_err(prefix)?),
            JobKind::SecureBoost => Self::SecureBoost(SecureBoostParams::parse(params, participants).map_err(prefix)?),
        };
        let common = spec.common();
        for key in &common.publish {
            if !kind.may_publish(key) {
                return Err(SpecError::new(format!(
                    "{kind} params: publish names '{}', which a {kind} summary does not have (it has: {})",
                    shown(key, 64),
                    kind.publishable_list()
                )));
            }
        }
        if common.timeout_secs.is_some_and(|t| !(1..=MAX_TIMEOUT_SECS).contains(&t)) {
            return Err(SpecError::new(format!(
                "{kind} params: timeout_secs must lie in 1..={MAX_TIMEOUT_SECS} (7 days)"
            )));
        }
        Ok(spec)
    }

    /// The kind.
    pub fn kind(&self) -> JobKind {
        match self {
            Self::Psi(_) => JobKind::Psi,
            Self::VerticalLr(_) => JobKind::VerticalLr,
            Self::Predict(_) => JobKind::Predict,
            Self::Binning(_) => JobKind::Binning,
            Self::SecureBoost(_) => JobKind::SecureBoost,
        }
    }

    /// The keys every kind has.
    pub fn common(&self) -> &Common {
        match self {
            Self::Psi(p) => &p.common,
            Self::VerticalLr(p) => &p.common,
            Self::Predict(p) => &p.common,
            Self::Binning(p) => &p.common,
            Self::SecureBoost(p) => &p.common,
        }
    }
}

/// The longest `timeout_secs` a job may set: a job cannot hold a node's job
/// slot for longer.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// Keys every kind accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Common {
    /// Overrides the nodes' job time limit (seconds) for this job.
    pub timeout_secs: Option<u64>,
    /// Summary fields every participant agreed to put on chain.
    pub publish: Vec<String>,
    /// Free text.
    pub purpose: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// A PSI protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsiProtocol {
    /// Diffie–Hellman PSI over ristretto255 (two or more parties).
    Ecdh,
    /// RSA blind-signature PSI (two parties; the second holds the key).
    Rsa,
    /// OT-extension PSI (two parties).
    Kkrt,
}

impl PsiProtocol {
    /// The protocol's name in params.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ecdh => "ecdh",
            Self::Rsa => "rsa",
            Self::Kkrt => "kkrt",
        }
    }
}

/// Who learns a PSI result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsiReveal {
    /// Both parties (two-party jobs).
    Both,
    /// Every party (three or more).
    All,
    /// The first participant only.
    First,
    /// The second participant only (two-party ECDH).
    Second,
}

/// What a PSI learner learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsiOutput {
    /// The common ids.
    Intersection,
    /// Their number only (ECDH).
    Cardinality,
}

/// The RSA protocol's smallest Bloom false-positive rate (2^-n) when both
/// parties learn: the client sends back the tags its filter matched, and
/// false positives would let the server test guessed ids.
pub const RSA_MIN_FPR_LOG2_REVEAL_BOTH: u8 = 40;

/// `params` of a `psi` job.
///
/// ```json
/// {"protocol": "ecdh", "reveal": "both", "output": "intersection"}
/// {"protocol": "rsa", "reveal": "both", "bloom_fpr_log2": 40}
/// {"protocol": "kkrt", "reveal": "first"}
/// ```
///
/// Two participants: the first is the ECDH initiator / RSA client / KKRT
/// receiver, the second the ECDH responder / RSA server / KKRT sender.
/// `reveal`: `both` (default), `first` or `second` (ECDH); `both` or `first`
/// (RSA, KKRT). Three or more run multi-party ECDH: `reveal` `all`
/// (default) or `first`. `output` `cardinality` is ECDH's only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsiParams {
    /// The protocol (default ECDH).
    pub protocol: PsiProtocol,
    /// Who learns (the default filled in).
    pub reveal: PsiReveal,
    /// What the learners learn (default the intersection).
    pub output: PsiOutput,
    /// RSA: the server's set as a Bloom filter with this false-positive rate
    /// (2^-n); absent = exact hash list.
    pub bloom_fpr_log2: Option<u8>,
    /// Keys every kind has.
    pub common: Common,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPsi {
    #[serde(default)]
    protocol: Option<PsiProtocol>,
    #[serde(default)]
    reveal: Option<PsiReveal>,
    #[serde(default)]
    output: Option<PsiOutput>,
    #[serde(default)]
    bloom_fpr_log2: Option<u8>,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

impl PsiParams {
    fn parse(json: &str, parties: usize) -> Result<Self, String> {
        let raw: RawPsi = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let protocol = raw.protocol.unwrap_or(PsiProtocol::Ecdh);
        let output = raw.output.unwrap_or(PsiOutput::Intersection);
        let reveal = raw.reveal.unwrap_or(if parties >= 3 { PsiReveal::All } else { PsiReveal::Both });
        let name = protocol.name();
        if parties >= 3 {
            if protocol != PsiProtocol::Ecdh {
                return Err(format!("protocol '{name}' runs between 2 participants; {parties} need 'ecdh'"));
            }
            if !matches!(reveal, PsiReveal::All | PsiReveal::First) {
                return Err(format!("with {parties} participants reveal must be 'all' or 'first'"));
            }
        } else {
            match (protocol, reveal, output) {
                (_, PsiReveal::All, _) => {
                    return Err("reveal 'all' is for 3 or more participants; use 'both'".into());
                }
                (PsiProtocol::Ecdh, _, _) => {}
                (PsiProtocol::Rsa | PsiProtocol::Kkrt, _, PsiOutput::Cardinality) => {
                    return Err(format!("output 'cardinality' is not supported with protocol '{name}' (use 'ecdh')"));
                }
                (PsiProtocol::Rsa | PsiProtocol::Kkrt, PsiReveal::Second, _) => {
                    return Err(format!("reveal 'second' is not supported with protocol '{name}' (the first learns)"));
                }
                (PsiProtocol::Rsa | PsiProtocol::Kkrt, _, _) => {}
            }
        }
        if let Some(fpr) = raw.bloom_fpr_log2 {
            if protocol != PsiProtocol::Rsa {
                return Err(format!("bloom_fpr_log2 is an 'rsa' setting, not '{name}'"));
            }
            if !(1..=64).contains(&fpr) {
                return Err(format!("bloom_fpr_log2 {fpr} must lie in 1..=64"));
            }
            if reveal == PsiReveal::Both && fpr < RSA_MIN_FPR_LOG2_REVEAL_BOTH {
                return Err(format!(
                    "with rsa and reveal both, bloom_fpr_log2 must be at least {RSA_MIN_FPR_LOG2_REVEAL_BOTH} \
                     (or omit it for a hash list)"
                ));
            }
        }
        Ok(Self {
            protocol,
            reveal,
            output,
            bloom_fpr_log2: raw.bloom_fpr_log2,
            common: Common {
                timeout_secs: raw.timeout_secs,
                publish: raw.publish,
                purpose: raw.purpose,
                description: raw.description,
            },
        })
    }

    /// The positions of the participants that learn the result (out of `parties`).
    pub fn learners(&self, parties: usize) -> Vec<usize> {
        match self.reveal {
            PsiReveal::Both | PsiReveal::All => (0..parties).collect(),
            PsiReveal::Second => vec![1],
            PsiReveal::First => vec![0],
        }
    }
}

/// The residual of vertical LR's gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Residual {
    /// The exact sigmoid (the guest decrypts the hosts' shares).
    Sigmoid,
    /// FATE's Taylor approximation.
    Taylor,
}

/// `params` of a `vertical-lr` job.
///
/// ```json
/// {"label": "is_fraud", "psi_job": 1, "epochs": 10, "batch_size": 1024,
///  "learning_rate": 0.15, "validation_fraction": 0.3, "seed": 7}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerticalLrParams {
    /// The label column of the guest's dataset (values 0 or 1).
    pub label: String,
    /// Feature columns per party (address → columns); a party not listed
    /// uses every column except its id column and the label.
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    /// Align rows by this PSI job's intersection (absent: by the datasets' ids).
    #[serde(default)]
    pub psi_job: Option<u64>,
    /// Maximum epochs (default 10).
    #[serde(default = "default_epochs")]
    pub epochs: u32,
    /// Rows per mini-batch (default 1024).
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Initial learning rate (default 0.15).
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    /// Inverse-time decay of the learning rate (absent: constant).
    #[serde(default)]
    pub decay: Option<f64>,
    /// L1 penalty.
    #[serde(default)]
    pub l1: f64,
    /// L2 penalty.
    #[serde(default)]
    pub l2: f64,
    /// Stop after this many epochs without a better validation loss.
    #[serde(default)]
    pub early_stopping_patience: Option<u32>,
    /// Smallest validation-loss decrease that counts (default 1e-4).
    #[serde(default = "default_min_delta")]
    pub min_delta: f64,
    /// Seed of the hold-out split and the batch order.
    #[serde(default)]
    pub seed: u64,
    /// `sigmoid` (default) or `taylor`.
    #[serde(default = "default_residual")]
    pub residual: Residual,
    /// Share of the aligned rows held out for validation and evaluation, in
    /// `[0, 0.9]` (default 0: evaluated on the training rows).
    #[serde(default)]
    pub validation_fraction: f64,
    /// Paillier modulus size: 2048 (default) or 3072.
    #[serde(default = "default_key_bits")]
    pub key_bits: u32,
    /// Probability threshold of the accuracy/precision/recall metrics (0.5).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Hosts answer the guest's online predictions with this model.
    #[serde(default)]
    pub online_serving: bool,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Keys every kind has (filled from the four keys above).
    #[serde(skip)]
    pub common: Common,
}

fn default_epochs() -> u32 {
    10
}
fn default_batch() -> u32 {
    1024
}
fn default_lr() -> f64 {
    0.15
}
fn default_min_delta() -> f64 {
    1e-4
}
fn default_residual() -> Residual {
    Residual::Sigmoid
}
fn default_key_bits() -> u32 {
    2048
}
fn default_threshold() -> f64 {
    0.5
}

impl VerticalLrParams {
    fn parse(json: &str, participants: &[PeerId]) -> Result<Self, String> {
        let mut p: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let finite_non_neg = |x: f64| x.is_finite() && x >= 0.0;
        if p.label.trim().is_empty() {
            return Err("label names no column".into());
        }
        if p.epochs == 0 || p.batch_size == 0 {
            return Err("epochs and batch_size must be at least 1".into());
        }
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
            return Err(format!("learning_rate {} must be positive", p.learning_rate));
        }
        if !finite_non_neg(p.l1) || !finite_non_neg(p.l2) {
            return Err(format!("l1 = {} and l2 = {} must be ≥ 0", p.l1, p.l2));
        }
        if p.decay.is_some_and(|d| !finite_non_neg(d)) {
            return Err("decay must be ≥ 0".into());
        }
        if !finite_non_neg(p.min_delta) {
            return Err(format!("min_delta {} must be ≥ 0", p.min_delta));
        }
        if p.early_stopping_patience == Some(0) {
            return Err("early_stopping_patience must be at least 1".into());
        }
        if !(0.0..=0.9).contains(&p.validation_fraction) {
            return Err(format!("validation_fraction {} must lie in [0, 0.9]", p.validation_fraction));
        }
        if p.early_stopping_patience.is_some() && p.validation_fraction <= 0.0 {
            return Err("early stopping needs validation_fraction > 0".into());
        }
        if !matches!(p.key_bits, 2048 | 3072) {
            return Err(format!("key_bits {} must be 2048 or 3072", p.key_bits));
        }
        if !(0.0..=1.0).contains(&p.threshold) {
            return Err(format!("threshold {} is not in [0, 1]", p.threshold));
        }
        check_features(&p.features, participants)?;
        p.common = Common {
            timeout_secs: p.timeout_secs,
            publish: std::mem::take(&mut p.publish),
            purpose: p.purpose.take(),
            description: p.description.take(),
        };
        Ok(p)
    }

    /// The columns `me` brings (`None`: all but the id and the label).
    pub fn columns_of(&self, me: PeerId) -> Option<&[String]> {
        columns_of(&self.features, me)
    }
}

/// `params` of a `predict` job.
///
/// ```json
/// {"model_job": 2, "psi_job": 1}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictParams {
    /// The `vertical-lr` or `secureboost` job whose model scores the rows.
    pub model_job: u64,
    /// Align rows by this PSI job's intersection (absent: by the datasets' ids).
    #[serde(default)]
    pub psi_job: Option<u64>,
    /// Overrides the model's probability threshold.
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Keys every kind has.
    #[serde(skip)]
    pub common: Common,
}

impl PredictParams {
    fn parse(json: &str) -> Result<Self, String> {
        let mut p: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if let Some(t) = p.threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(format!("threshold {t} is not in [0, 1]"));
        }
        p.common = Common {
            timeout_secs: p.timeout_secs,
            publish: std::mem::take(&mut p.publish),
            purpose: p.purpose.take(),
            description: p.description.take(),
        };
        Ok(p)
    }
}

/// How a binning job cuts numeric columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinMethod {
    /// Equal-frequency (exact quantiles).
    Quantile,
    /// Equal-width intervals.
    EqualWidth,
}

/// What the label holder learns of the hosts' WOE/IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WoeReveal {
    /// Nothing.
    None,
    /// Each host column's IV, by column index (never its name or bins).
    Iv,
}

/// The checks of the `features` map shared by learning kinds.
fn check_features(features: &BTreeMap<String, Vec<String>>, participants: &[PeerId]) -> Result<(), String> {
    for (party, columns) in features {
        let peer =
            PeerId::parse(party).map_err(|_| format!("features key '{}' is not an address", shown(party, 64)))?;
        if !participants.contains(&peer) {
            return Err(format!("features names {party}, which is not a participant of this job"));
        }
        if columns.is_empty() {
            return Err(format!("features of {party} lists no column"));
        }
    }
    Ok(())
}

fn columns_of(features: &BTreeMap<String, Vec<String>>, me: PeerId) -> Option<&[String]> {
    features.iter().find(|(k, _)| PeerId::parse(k).ok() == Some(me)).map(|(_, v)| v.as_slice())
}

/// `params` of a `binning` job.
///
/// ```json
/// {"label": "is_fraud", "psi_job": 1, "method": "quantile", "bins": 10, "reveal": "iv"}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinningParams {
    /// The label column of the guest's dataset (values 0 or 1).
    pub label: String,
    /// Columns per party (address → columns); a party not listed bins every
    /// column except its id column and the label.
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    /// Align rows by this PSI job's intersection (absent: by the datasets' ids).
    #[serde(default)]
    pub psi_job: Option<u64>,
    /// `quantile` (default) or `equal_width`.
    #[serde(default = "default_bin_method")]
    pub method: BinMethod,
    /// Value bins per column, 2..=255 (default 10); missing values get one more.
    #[serde(default = "default_bins")]
    pub bins: u16,
    /// What the guest learns of the hosts' results: `none` (default) or `iv`.
    #[serde(default = "default_reveal")]
    pub reveal: WoeReveal,
    /// Bins with fewer rows are not decrypted (no WOE), default 20.
    #[serde(default = "default_min_bin_rows")]
    pub min_bin_rows: u64,
    /// Paillier modulus size: 2048 (default) or 3072.
    #[serde(default = "default_key_bits")]
    pub key_bits: u32,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Keys every kind has.
    #[serde(skip)]
    pub common: Common,
}

fn default_bin_method() -> BinMethod {
    BinMethod::Quantile
}
fn default_bins() -> u16 {
    10
}
fn default_reveal() -> WoeReveal {
    WoeReveal::None
}
fn default_min_bin_rows() -> u64 {
    20
}

impl BinningParams {
    fn parse(json: &str, participants: &[PeerId]) -> Result<Self, String> {
        let mut p: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if p.label.trim().is_empty() {
            return Err("label names no column".into());
        }
        if !(2..=255).contains(&p.bins) {
            return Err(format!("bins {} must lie in 2..=255", p.bins));
        }
        if p.min_bin_rows == 0 {
            return Err("min_bin_rows must be at least 1".into());
        }
        if !matches!(p.key_bits, 2048 | 3072) {
            return Err(format!("key_bits {} must be 2048 or 3072", p.key_bits));
        }
        check_features(&p.features, participants)?;
        p.common = Common {
            timeout_secs: p.timeout_secs,
            publish: std::mem::take(&mut p.publish),
            purpose: p.purpose.take(),
            description: p.description.take(),
        };
        Ok(p)
    }

    /// The columns `me` brings (`None`: all but the id and the label).
    pub fn columns_of(&self, me: PeerId) -> Option<&[String]> {
        columns_of(&self.features, me)
    }
}

/// `params` of a `secureboost` job.
///
/// ```json
/// {"label": "is_fraud", "psi_job": 1, "trees": 30, "max_depth": 3, "learning_rate": 0.3,
///  "bins": 32, "validation_fraction": 0.3, "early_stopping_patience": 5, "seed": 7}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecureBoostParams {
    /// The label column of the guest's dataset (values 0 or 1).
    pub label: String,
    /// Feature columns per party (address → columns); a party not listed
    /// uses every column except its id column and the label.
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    /// Align rows by this PSI job's intersection (absent: by the datasets' ids).
    #[serde(default)]
    pub psi_job: Option<u64>,
    /// Reuse every party's bin edges from this `binning` job (absent: bin here).
    #[serde(default)]
    pub binning_job: Option<u64>,
    /// `quantile` (default) or `equal_width`, when binning here.
    #[serde(default = "default_bin_method")]
    pub bin_method: BinMethod,
    /// Value bins per column when binning here, 2..=255 (default 32).
    #[serde(default = "default_tree_bins")]
    pub bins: u16,
    /// Boosting rounds (default 20, at most 10 000).
    #[serde(default = "default_trees")]
    pub trees: u32,
    /// Levels of splits per tree, 1..=16 (default 3).
    #[serde(default = "default_depth")]
    pub max_depth: u32,
    /// Shrinkage of every leaf, in (0, 1] (default 0.3).
    #[serde(default = "default_tree_lr")]
    pub learning_rate: f64,
    /// L2 penalty on leaf weights (default 1).
    #[serde(default = "default_one")]
    pub l2: f64,
    /// Smallest hessian sum of a child (default 1).
    #[serde(default = "default_one")]
    pub min_child_weight: f64,
    /// Smallest row count of a child, at least 2 (default 20): the guest
    /// never sees a split statistic over fewer rows.
    #[serde(default = "default_min_child_rows")]
    pub min_child_rows: u32,
    /// Smallest gain of a split (default 0).
    #[serde(default)]
    pub min_split_gain: f64,
    /// Fraction of rows per tree, in (0, 1] (default 1).
    #[serde(default = "default_one")]
    pub row_sample: f64,
    /// Fraction of each party's features per tree, in (0, 1] (default 1).
    #[serde(default = "default_one")]
    pub feature_sample: f64,
    /// Stop after this many trees without a better validation loss.
    #[serde(default)]
    pub early_stopping_patience: Option<u32>,
    /// Smallest validation-loss decrease that counts (default 1e-4).
    #[serde(default = "default_min_delta")]
    pub min_delta: f64,
    /// Share of the aligned rows held out for validation and evaluation, in
    /// `[0, 0.9]` (default 0: evaluated on the training rows).
    #[serde(default)]
    pub validation_fraction: f64,
    /// Seed of the hold-out split and the row and feature samples.
    #[serde(default)]
    pub seed: u64,
    /// Paillier modulus size: 2048 (default) or 3072.
    #[serde(default = "default_key_bits")]
    pub key_bits: u32,
    /// Probability threshold of the accuracy/precision/recall metrics (0.5).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Hosts answer the guest's online predictions with this model.
    #[serde(default)]
    pub online_serving: bool,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Keys every kind has.
    #[serde(skip)]
    pub common: Common,
}

fn default_tree_bins() -> u16 {
    32
}
fn default_trees() -> u32 {
    20
}
fn default_depth() -> u32 {
    3
}
fn default_tree_lr() -> f64 {
    0.3
}
fn default_one() -> f64 {
    1.0
}
fn default_min_child_rows() -> u32 {
    20
}

impl SecureBoostParams {
    fn parse(json: &str, participants: &[PeerId]) -> Result<Self, String> {
        let mut p: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let finite_non_neg = |x: f64| x.is_finite() && x >= 0.0;
        let unit = |x: f64| x.is_finite() && x > 0.0 && x <= 1.0;
        if p.label.trim().is_empty() {
            return Err("label names no column".into());
        }
        if !(2..=255).contains(&p.bins) {
            return Err(format!("bins {} must lie in 2..=255", p.bins));
        }
        if !(1..=10_000).contains(&p.trees) {
            return Err(format!("trees {} must lie in 1..=10000", p.trees));
        }
        if !(1..=16).contains(&p.max_depth) {
            return Err(format!("max_depth {} must lie in 1..=16", p.max_depth));
        }
        if !unit(p.learning_rate) {
            return Err(format!("learning_rate {} must lie in (0, 1]", p.learning_rate));
        }
        for (name, v) in [
            ("l2", p.l2),
            ("min_child_weight", p.min_child_weight),
            ("min_split_gain", p.min_split_gain),
            ("min_delta", p.min_delta),
        ] {
            if !finite_non_neg(v) {
                return Err(format!("{name} {v} must be ≥ 0"));
            }
        }
        if p.min_child_rows < 2 {
            return Err(format!(
                "min_child_rows {} must be at least 2: a split over one row would show that row's gradient",
                p.min_child_rows
            ));
        }
        if !unit(p.row_sample) || !unit(p.feature_sample) {
            return Err(format!(
                "row_sample {} and feature_sample {} must lie in (0, 1]",
                p.row_sample, p.feature_sample
            ));
        }
        if p.early_stopping_patience == Some(0) {
            return Err("early_stopping_patience must be at least 1".into());
        }
        if !(0.0..=0.9).contains(&p.validation_fraction) {
            return Err(format!("validation_fraction {} must lie in [0, 0.9]", p.validation_fraction));
        }
        if p.early_stopping_patience.is_some() && p.validation_fraction <= 0.0 {
            return Err("early stopping needs validation_fraction > 0".into());
        }
        if !matches!(p.key_bits, 2048 | 3072) {
            return Err(format!("key_bits {} must be 2048 or 3072", p.key_bits));
        }
        if !(0.0..=1.0).contains(&p.threshold) {
            return Err(format!("threshold {} is not in [0, 1]", p.threshold));
        }
        check_features(&p.features, participants)?;
        p.common = Common {
            timeout_secs: p.timeout_secs,
            publish: std::mem::take(&mut p.publish),
            purpose: p.purpose.take(),
            description: p.description.take(),
        };
        Ok(p)
    }

    /// The columns `me` brings (`None`: all but the id and the label).
    pub fn columns_of(&self, me: PeerId) -> Option<&[String]> {
        columns_of(&self.features, me)
    }
}

/// Checks a job's params text: a JSON object with no key given twice at any
/// depth. Readers disagree on duplicate keys (the first or the last wins), so
/// participants could approve params that the nodes read otherwise.
pub fn check_params_json(text: &str) -> Result<(), String> {
    use serde::de::{Deserializer as _, Error as _, MapAccess, SeqAccess, Visitor};

    struct Unique;
    impl<'de> serde::Deserialize<'de> for Unique {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }
    struct UniqueVisitor;
    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(A::Error::custom(format!("key \"{key}\" is given twice")));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
    }

    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    if !value.is_object() {
        return Err("must be a JSON object".into());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_any(UniqueVisitor).map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(n: u8) -> Vec<PeerId> {
        (1..=n).map(|i| PeerId::from_bytes([i; 20])).collect()
    }

    fn psi(json: &str, n: u8) -> Result<PsiParams, SpecError> {
        match JobSpec::parse("psi", json, &peers(n))? {
            JobSpec::Psi(p) => Ok(p),
            other => panic!("{other:?}"),
        }
    }

    fn err(kind: &str, json: &str, n: u8) -> String {
        JobSpec::parse(kind, json, &peers(n)).unwrap_err().to_string()
    }

    #[test]
    fn params_must_be_one_object_without_repeated_keys() {
        assert!(check_params_json(r#"{"protocol":"ecdh","publish":["intersection_size"]}"#).is_ok());
        assert!(check_params_json(r#"{"a":{"b":1,"c":[{"d":1},{"d":2}]}}"#).is_ok());
        let twice = check_params_json(r#"{"publish":[],"publish":["intersection_size"]}"#).unwrap_err();
        assert!(twice.contains("\"publish\" is given twice"), "{twice}");
        assert!(check_params_json(r#"{"a":{"b":1,"b":2}}"#).unwrap_err().contains("\"b\""));
        assert!(check_params_json("[1]").unwrap_err().contains("JSON object"));
        assert!(check_params_json("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn kinds_round_trip_and_unknown_kinds_are_named() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.name()).unwrap(), kind);
        }
        let e = err("secure-boost", "{}", 2);
        assert!(e.contains("unknown job kind 'secure-boost'") && e.contains("psi, vertical-lr, predict"), "{e}");
    }

    #[test]
    fn psi_defaults_follow_the_number_of_parties() {
        let two = psi("{}", 2).unwrap();
        assert_eq!(
            (two.protocol, two.reveal, two.output),
            (PsiProtocol::Ecdh, PsiReveal::Both, PsiOutput::Intersection)
        );
        assert_eq!(two.learners(2), vec![0, 1]);
        assert_eq!(psi("{}", 4).unwrap().reveal, PsiReveal::All);
        assert_eq!(psi(r#"{"reveal":"first"}"#, 2).unwrap().learners(2), vec![0]);
        assert_eq!(psi(r#"{"reveal":"second"}"#, 2).unwrap().learners(2), vec![1]);
        assert_eq!(psi(r#"{"reveal":"first"}"#, 3).unwrap().learners(3), vec![0]);
    }

    #[test]
    fn psi_refuses_misspelt_keys_unknown_protocols_and_impossible_combinations() {
        // A misspelt key used to run ECDH silently.
        let e = err("psi", r#"{"protcol":"kkrt"}"#, 2);
        assert!(e.starts_with("psi params: unknown field `protcol`"), "{e}");
        let e = err("psi", r#"{"protocol":"rr22"}"#, 2);
        assert!(e.contains("unknown variant `rr22`") && e.contains("`kkrt`"), "{e}");
        assert!(err("psi", r#"{"protocol":"ECDH"}"#, 2).contains("unknown variant"));
        assert!(err("psi", r#"{"bloom_fpr_log2":"40"}"#, 2).contains("invalid type"));
        assert!(err("psi", r#"{"protocol":"kkrt","output":"cardinality"}"#, 2).contains("cardinality"));
        assert!(err("psi", r#"{"protocol":"kkrt","reveal":"second"}"#, 2).contains("second"));
        assert!(err("psi", r#"{"protocol":"rsa","output":"cardinality"}"#, 2).contains("cardinality"));
        assert!(err("psi", r#"{"protocol":"rsa","bloom_fpr_log2":0}"#, 2).contains("1..=64"));
        assert!(err("psi", r#"{"protocol":"rsa","reveal":"both","bloom_fpr_log2":20}"#, 2).contains("at least 40"));
        assert!(err("psi", r#"{"protocol":"ecdh","bloom_fpr_log2":40}"#, 2).contains("'rsa' setting"));
        assert!(psi(r#"{"protocol":"rsa","reveal":"first","bloom_fpr_log2":20}"#, 2).is_ok());
        assert!(psi(r#"{"protocol":"rsa","reveal":"both","purpose":"fraud"}"#, 2).is_ok());
        assert!(err("psi", r#"{"reveal":"all"}"#, 2).contains("3 or more"));
        assert!(err("psi", r#"{"reveal":"second"}"#, 3).contains("'all' or 'first'"));
        assert!(err("psi", r#"{"protocol":"kkrt"}"#, 3).contains("2 participants"));
        assert!(err("psi", "[1]", 2).contains("JSON object"));
        assert!(err("psi", "{}", 1).contains("at least 2 participants"));
        let twice = JobSpec::parse("psi", "{}", &[PeerId::from_bytes([1; 20]), PeerId::from_bytes([1; 20])]);
        assert!(twice.unwrap_err().to_string().contains("appears twice"));
    }

    #[test]
    fn publish_names_only_fields_of_the_kinds_summary() {
        assert!(psi(r#"{"publish":["intersection_size"]}"#, 2).is_ok());
        let e = err("psi", r#"{"publish":["intersection"]}"#, 2);
        assert!(e.contains("publish names 'intersection'") && e.contains("intersection_size"), "{e}");
        assert!(err("psi", r#"{"publish":"intersection_size"}"#, 2).contains("invalid type"));
        assert!(JobSpec::parse("vertical-lr", r#"{"label":"y","publish":["metrics.auc"]}"#, &peers(2)).is_ok());
        assert!(err("vertical-lr", r#"{"label":"y","publish":["metrics.auroc"]}"#, 2).contains("metrics.auroc"));
        assert!(err("predict", r#"{"model_job":1,"publish":["epochs_run"]}"#, 2).contains("epochs_run"));
        assert!(err("psi", r#"{"timeout_secs":0}"#, 2).contains("timeout_secs"));
        assert!(err("psi", r#"{"timeout_secs":604801}"#, 2).contains("7 days"));
        assert!(psi(r#"{"timeout_secs":604800}"#, 2).is_ok());
    }

    #[test]
    fn learning_params_have_defaults_and_refuse_typos() {
        let JobSpec::VerticalLr(p) =
            JobSpec::parse("vertical-lr", r#"{"label":"y","timeout_secs":60,"purpose":"x"}"#, &peers(2)).unwrap()
        else {
            panic!()
        };
        assert_eq!((p.epochs, p.batch_size, p.key_bits, p.residual), (10, 1024, 2048, Residual::Sigmoid));
        assert_eq!(p.common.timeout_secs, Some(60));
        assert_eq!(p.common.purpose.as_deref(), Some("x"));
        assert!(err("vertical-lr", r#"{"label":"y","epoch":3}"#, 2).contains("unknown field `epoch`"));
        assert!(err("vertical-lr", r#"{"label":"y","residual":"tanh"}"#, 2).contains("unknown variant `tanh`"));
        assert!(err("vertical-lr", r#"{"label":"y","key_bits":1024}"#, 2).contains("2048 or 3072"));
        assert!(err("vertical-lr", r#"{"label":"y","epochs":0}"#, 2).contains("at least 1"));
        assert!(err("vertical-lr", r#"{"label":"y","learning_rate":-1}"#, 2).contains("positive"));
        assert!(err("vertical-lr", r#"{"label":"y","validation_fraction":0.95}"#, 2).contains("[0, 0.9]"));
        assert!(err("vertical-lr", r#"{"label":"y","early_stopping_patience":2}"#, 2).contains("validation_fraction"));
        assert!(err("vertical-lr", r#"{"label":" "}"#, 2).contains("label"));
        assert!(err("vertical-lr", "{}", 2).contains("missing field `label`"));
        let stranger = format!(r#"{{"label":"y","features":{{"{}":["a"]}}}}"#, PeerId::from_bytes([9; 20]));
        assert!(err("vertical-lr", &stranger, 2).contains("not a participant"));
        let member = PeerId::from_bytes([2; 20]);
        let ok = format!(r#"{{"label":"y","features":{{"{member}":["a","b"]}}}}"#);
        let JobSpec::VerticalLr(p) = JobSpec::parse("vertical-lr", &ok, &peers(2)).unwrap() else { panic!() };
        assert_eq!(p.columns_of(member), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(p.columns_of(PeerId::from_bytes([1; 20])), None);
        assert!(err("predict", r#"{"model_job":1,"threshold":2}"#, 2).contains("[0, 1]"));
        assert!(err("predict", r#"{"model":1}"#, 2).contains("unknown field `model`"));
        assert!(JobSpec::parse("predict", r#"{"model_job":1,"psi_job":2}"#, &peers(2)).is_ok());
    }

    #[test]
    fn refusals_are_one_short_line() {
        let long = format!(r#"{{"{}\n":1}}"#, "k".repeat(5000));
        let e = err("psi", &long, 2);
        assert!(e.chars().count() <= 301 && !e.contains('\n'), "{e}");
    }
}
