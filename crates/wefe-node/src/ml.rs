//! Runners of the learning job kinds: `vertical-lr` (train a split logistic
//! regression) and `predict` (score rows with a model trained here).
//!
//! The first participant is the **guest** (it holds the label column and
//! the Paillier key), the others are **hosts**. Each party brings one of the
//! job's datasets; its rows are aligned with the other parties' either by a
//! PSI job that ran before (`psi_job`: the intersection's ids) or by the
//! datasets' own id columns (they must hold the same ids). Before any
//! learning message, every party checks with the guest that they hold the
//! same ids in the same order (a salted SHA-256 of the sorted ids), so
//! mismatched data fails the job with both peers named instead of
//! training on misaligned rows.
//!
//! Each party stores only its own share of the model ([`PartyModel`]) as the
//! job's result; its SHA-256 is the result hash reported on chain, and the
//! guest's summary carries the evaluation metrics. The guest also writes a
//! ROC curve and a loss-per-epoch curve as PNG next to the result.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wefe_core::{PeerId, Transport};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::Features;
use wefe_ml::data::SplitMix64;
use wefe_ml::logistic::{EarlyStopping, LrSchedule, Residual, TrainParams};
use wefe_ml::model::{Evaluation, FORMAT, PartyModel, Role, Scaler};
use wefe_ml::vertical_lr::predict::{run_predict_guest, run_predict_host};
use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};
use wefe_store::{JobRecord, Store};

use crate::runner::Artifact;
use crate::scheduler::{ColumnRequest, JobInputs, NumericTable};

/// `params` of a `vertical-lr` job, as proposed on chain. Unknown keys are
/// refused (a misspelt hyper-parameter must not be silently ignored), except
/// `purpose` and `description`; `publish` lists the summary fields that go on
/// chain.
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
    pub residual: String,
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
    /// Hosts answer the guest's online predictions (`POST /models/{job}/predict`
    /// on the guest's node) with this model, without a job per request.
    #[serde(default)]
    pub online_serving: bool,
    /// Overrides the nodes' job timeout (seconds) for this job.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Free text.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Summary fields every participant agreed to put on chain (e.g.
    /// `["metrics.auc"]`); nothing by default (see [`crate::disclosure`]).
    #[serde(default)]
    pub publish: Vec<String>,
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
fn default_residual() -> String {
    "sigmoid".into()
}
fn default_key_bits() -> u32 {
    2048
}
fn default_threshold() -> f64 {
    0.5
}

impl VerticalLrParams {
    /// Parses and checks a job's params JSON.
    pub fn parse(json: &str) -> Result<Self> {
        let p: Self = serde_json::from_str(json).context("vertical-lr params are not the expected JSON")?;
        ensure!(!p.label.trim().is_empty(), "vertical-lr params: label names no column");
        ensure!(
            (0.0..=0.9).contains(&p.validation_fraction),
            "vertical-lr params: validation_fraction {} must lie in [0, 0.9]",
            p.validation_fraction
        );
        ensure!(matches!(p.key_bits, 2048 | 3072), "vertical-lr params: key_bits {} must be 2048 or 3072", p.key_bits);
        ensure!((0.0..=1.0).contains(&p.threshold), "vertical-lr params: threshold {} is not in [0, 1]", p.threshold);
        ensure!(
            matches!(p.residual.as_str(), "sigmoid" | "taylor"),
            "vertical-lr params: residual '{}' is not 'sigmoid' or 'taylor'",
            p.residual
        );
        ensure!(
            p.early_stopping_patience.is_none() || p.validation_fraction > 0.0,
            "vertical-lr params: early stopping needs validation_fraction > 0"
        );
        for party in p.features.keys() {
            party
                .parse::<Address>()
                .with_context(|| format!("vertical-lr params: features key '{party}' is not an address"))?;
        }
        p.train_params().validate().map_err(|e| anyhow::anyhow!("vertical-lr params: {e}"))?;
        Ok(p)
    }

    /// The optimiser's parameters.
    pub fn train_params(&self) -> TrainParams {
        TrainParams {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            schedule: self.decay.map_or(LrSchedule::Constant, |decay| LrSchedule::InverseDecay { decay }),
            l1: self.l1,
            l2: self.l2,
            early_stopping: self
                .early_stopping_patience
                .map(|patience| EarlyStopping { patience, min_delta: self.min_delta }),
            seed: self.seed,
            residual: if self.residual == "taylor" { Residual::Taylor } else { Residual::Sigmoid },
            frac_bits: TrainParams::default().frac_bits,
        }
    }

    /// The columns `me` brings (`None`: all but the id and the label).
    fn columns_of(&self, me: Address) -> Option<Vec<String>> {
        self.features.iter().find(|(k, _)| k.parse::<Address>().ok() == Some(me)).map(|(_, v)| v.clone())
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
    /// The `vertical-lr` job whose model scores the rows.
    pub model_job: u64,
    /// Align rows by this PSI job's intersection (absent: by the datasets' ids).
    #[serde(default)]
    pub psi_job: Option<u64>,
    /// Overrides the model's probability threshold.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Overrides the nodes' job timeout (seconds) for this job.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Free text.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Summary fields every participant agreed to put on chain (e.g.
    /// `["metrics.auc"]`); nothing by default (see [`crate::disclosure`]).
    #[serde(default)]
    pub publish: Vec<String>,
}

impl PredictParams {
    /// Parses and checks a job's params JSON.
    pub fn parse(json: &str) -> Result<Self> {
        let p: Self = serde_json::from_str(json).context("predict params are not the expected JSON")?;
        if let Some(t) = p.threshold {
            ensure!((0.0..=1.0).contains(&t), "predict params: threshold {t} is not in [0, 1]");
        }
        Ok(p)
    }
}

/// The parties of a learning job as seen from this member.
struct Parties {
    me: Address,
    guest: PeerId,
    hosts: Vec<PeerId>,
    all: Vec<Address>,
}

impl Parties {
    fn of(participants: &[Address], me: Address) -> Result<Self> {
        ensure!(participants.len() >= 2, "a learning job needs a guest and at least one host");
        ensure!(participants.contains(&me), "{me} is not a participant of this job");
        let peer = |a: &Address| PeerId::from_bytes(a.into_array());
        Ok(Self {
            me,
            guest: peer(&participants[0]),
            hosts: participants[1..].iter().map(peer).collect(),
            all: participants.to_vec(),
        })
    }

    fn is_guest(&self) -> bool {
        self.all[0] == self.me
    }

    fn names(&self) -> Vec<String> {
        self.all.iter().map(|a| format!("{a:#x}")).collect()
    }
}

/// Runs this member's side of a `vertical-lr` job.
pub async fn run_vertical_lr<I: JobInputs>(
    job: &JobRecord,
    participants: &[Address],
    me: Address,
    inputs: &I,
    store: &Store,
    transport: &impl Transport,
    progress: &Progress,
) -> Result<Artifact> {
    let params = VerticalLrParams::parse(&job.job.params)?;
    let parties = Parties::of(participants, me)?;
    let guest = parties.is_guest();
    let request = ColumnRequest {
        features: params.columns_of(me),
        label: Some(params.label.clone()),
        label_required: guest,
        skip: None,
    };
    // A host never reads the label column (a column of that name is skipped).
    let request =
        if guest { request } else { ColumnRequest { label: None, skip: Some(params.label.clone()), ..request } };
    let table = inputs.table(job, &request).await?;
    let rows = aligned_rows(store, &table, params.psi_job, participants).await?;
    check_alignment(transport, &parties, job.job.job_id, &table, &rows).await?;

    let (train_rows, validation_rows) = split(&rows, params.validation_fraction, params.seed);
    ensure!(!train_rows.is_empty(), "no training rows after the hold-out split ({} aligned rows)", rows.len());
    let (scaler, train_x) = {
        let raw_train = table.features(&train_rows)?;
        let scaler = Scaler::fit(&raw_train);
        let train_x = scaler.apply(&raw_train)?;
        (scaler, train_x)
    };
    let validation_x = scaler.apply(&table.features(&validation_rows)?)?;
    let train_params = params.train_params();
    let job_id = job.job.job_id;
    // Progress: one step per batch (the guest counts its hosts' forwards, a
    // host the guest's residuals), from 10% to 90%.
    let batches = train_params.batch_count(train_rows.len()) as u64 * u64::from(params.epochs);
    let counted = Counting {
        inner: transport,
        tag: if guest { wefe_ml::vertical_lr::TAG_FORWARD } else { wefe_ml::vertical_lr::TAG_RESIDUALS },
        done: AtomicU64::new(0),
        total: batches * if guest { parties.hosts.len() as u64 } else { 1 },
        progress,
    };

    let mut model = PartyModel {
        format: FORMAT.to_owned(),
        job_id,
        role: if guest { Role::Guest } else { Role::Host },
        party: format!("{me:#x}"),
        parties: parties.names(),
        dataset: table.dataset.clone(),
        features: table.names.clone(),
        scaler,
        weights: Vec::new(),
        intercept: 0.0,
        label: guest.then(|| params.label.clone()),
        threshold: params.threshold,
    };
    // Evaluated on the hold-out when there is one, else on the training rows;
    // the rows are read again after training (the model standardises them),
    // so no copy of a table is held while training.
    let (eval_rows, eval_on) =
        if validation_rows.is_empty() { (&train_rows, "training") } else { (&validation_rows, "validation") };

    if guest {
        let labels = table.labels_of(&train_rows)?;
        let validation = (!validation_rows.is_empty())
            .then(|| Ok::<_, anyhow::Error>((validation_x, table.labels_of(&validation_rows)?)));
        let validation = validation.transpose()?;
        let size = KeySize::new(params.key_bits);
        let key = blocking(|| Keypair::generate(size)).context("generating the job's Paillier key")?.into_private();
        let trainer = Guest::new(train_params, key, train_x, labels, validation, parties.hosts.len())?;
        let (linear, report) =
            blocking_async(run_guest(&counted, &parties.hosts, trainer)).await.context("vertical LR training")?;
        model.weights = linear.weights;
        model.intercept = linear.intercept;
        // A diverged model (non-finite weights) fails here, not when used.
        model.validate().context("the trained model")?;
        let eval_x = table.features(eval_rows)?;
        let u = blocking_async(run_predict_guest(transport, &parties.hosts, &model, &eval_x))
            .await
            .context("evaluating the model")?;
        let eval_labels = table.labels_of(eval_rows)?;
        let evaluation = Evaluation::of_scores(&u, &eval_labels, params.threshold)?;
        let title = format!("job {job_id}, {eval_on} rows");
        let roc = wefe_ml::report::roc_png(&u, &eval_labels, &title)?;
        let loss = wefe_ml::report::loss_png(&report.history, &format!("job {job_id}"))?;
        let bytes = model.to_bytes();
        let summary = serde_json::json!({
            "role": "guest",
            "model_hash": format!("0x{}", hex::encode(Sha256::digest(&bytes))),
            "rows": { "train": train_rows.len(), "validation": validation_rows.len() },
            "features": model.features.len(),
            "epochs_run": report.history.len(),
            "best_epoch": report.best_epoch + 1,
            "evaluated_on": eval_on,
            "metrics": rounded(&evaluation),
        });
        Ok(Artifact {
            bytes,
            extension: "json",
            summary,
            extra: vec![("roc.png", roc), ("loss.png", loss)],
            commitment_key: None,
        })
    } else {
        let validation = (!validation_rows.is_empty()).then_some(validation_x);
        let trainer = Host::new(train_params, train_x, validation)?;
        let linear =
            blocking_async(run_host(&counted, &parties.guest, trainer)).await.context("vertical LR training")?;
        model.weights = linear.weights;
        model.validate().context("the trained model")?;
        let eval_x = table.features(eval_rows)?;
        blocking_async(run_predict_host(transport, &parties.guest, &model, &eval_x))
            .await
            .context("evaluating the model")?;
        let bytes = model.to_bytes();
        let summary = serde_json::json!({
            "role": "host",
            "model_hash": format!("0x{}", hex::encode(Sha256::digest(&bytes))),
            "rows": { "train": train_rows.len(), "validation": validation_rows.len() },
            "features": model.features.len(),
        });
        Ok(Artifact { bytes, extension: "json", summary, extra: Vec::new(), commitment_key: None })
    }
}

/// Runs this member's side of a `predict` job.
pub async fn run_predict<I: JobInputs>(
    job: &JobRecord,
    participants: &[Address],
    me: Address,
    inputs: &I,
    store: &Store,
    transport: &impl Transport,
) -> Result<Artifact> {
    let params = PredictParams::parse(&job.job.params)?;
    let parties = Parties::of(participants, me)?;
    let model = load_model(store, params.model_job).await?;
    ensure!(
        model.parties == parties.names(),
        "the job's participants ({}) are not the parties of model job {} ({}), in that order",
        parties.names().join(", "),
        params.model_job,
        model.parties.join(", ")
    );
    ensure!(
        model.party == format!("{me:#x}"),
        "the model of job {} stored here belongs to {}, not to this member",
        params.model_job,
        model.party
    );
    let guest = parties.is_guest();
    let request = ColumnRequest {
        features: Some(model.features.clone()),
        label: model.label.clone(),
        label_required: false,
        skip: None,
    };
    let table = inputs.table(job, &request).await?;
    let rows = aligned_rows(store, &table, params.psi_job, participants).await?;
    check_alignment(transport, &parties, job.job.job_id, &table, &rows).await?;
    let x = table.features(&rows)?;
    let threshold = params.threshold.unwrap_or(model.threshold);
    if !guest {
        blocking_async(run_predict_host(transport, &parties.guest, &model, &x))
            .await
            .context("federated prediction")?;
        let summary = serde_json::json!({ "role": "host", "model_job": params.model_job, "rows": rows.len() });
        return Ok(Artifact {
            bytes: format!("{summary}\n").into_bytes(),
            extension: "json",
            summary,
            extra: Vec::new(),
            commitment_key: None,
        });
    }
    let u = blocking_async(run_predict_guest(transport, &parties.hosts, &model, &x))
        .await
        .context("federated prediction")?;
    let mut bytes = b"id,score,probability,prediction\n".to_vec();
    let mut positives = 0usize;
    for (&row, &score) in rows.iter().zip(&u) {
        let p = wefe_ml::logistic::sigmoid(score);
        let predicted = u8::from(p >= threshold);
        positives += usize::from(predicted);
        write_csv_field(&mut bytes, &table.ids[row]);
        bytes.extend_from_slice(format!(",{score:.6},{p:.6},{predicted}\n").as_bytes());
    }
    let mut summary = serde_json::json!({
        "role": "guest",
        "model_job": params.model_job,
        "rows": rows.len(),
        "predicted_positive": positives,
        "threshold": threshold,
    });
    let mut extra = Vec::new();
    if let Some(labels) = table.labels.as_ref().map(|_| table.labels_of(&rows)).transpose()? {
        let evaluation = Evaluation::of_scores(&u, &labels, threshold)?;
        summary["metrics"] = rounded(&evaluation);
        extra.push((
            "roc.png",
            wefe_ml::report::roc_png(
                &u,
                &labels,
                &format!("job {}, model of job {}", job.job.job_id, params.model_job),
            )?,
        ));
    }
    Ok(Artifact { bytes, extension: "csv", summary, extra, commitment_key: None })
}

/// Metrics rounded to 6 decimals (the summary is stored on chain).
fn rounded(e: &Evaluation) -> serde_json::Value {
    let r = |v: f64| (v * 1e6).round() / 1e6;
    serde_json::json!({
        "rows": e.rows, "positives": e.positives, "auc": r(e.auc), "ks": r(e.ks), "accuracy": r(e.accuracy),
        "precision": r(e.precision), "recall": r(e.recall), "f1": r(e.f1), "log_loss": r(e.log_loss),
        "threshold": e.threshold,
    })
}

/// An id as a CSV field (quoted when it needs to be).
fn write_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if field.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// This member's share of the model trained by `model_job`, checked
/// against the hash this node reported for it.
pub(crate) async fn load_model(store: &Store, model_job: u64) -> Result<PartyModel> {
    let record =
        store.job(model_job).await?.with_context(|| format!("model job {model_job} is not known to this node"))?;
    ensure!(record.job.kind == "vertical-lr", "job {model_job} is a '{}' job, not vertical-lr", record.job.kind);
    ensure!(
        record.status == crate::scheduler::status::COMPLETED,
        "model job {model_job} is '{}' on this node, not completed",
        record.status
    );
    let bytes = read_checked(&record).with_context(|| format!("model of job {model_job}"))?;
    PartyModel::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("model of job {model_job}: {e}"))
}

/// A completed job's artifact, refused when it no longer opens the
/// commitment recorded (and reported) when it was written.
fn read_checked(record: &JobRecord) -> Result<Vec<u8>> {
    crate::disclosure::read_committed(record)
}

/// The table's rows in the job's canonical order: the PSI intersection's ids
/// (each must be in the dataset) or all rows, sorted by id.
pub(crate) async fn aligned_rows(
    store: &Store,
    table: &NumericTable,
    psi_job: Option<u64>,
    participants: &[Address],
) -> Result<Vec<usize>> {
    let index: HashMap<&[u8], usize> = table.ids.iter().enumerate().map(|(i, id)| (id.as_slice(), i)).collect();
    ensure!(index.len() == table.ids.len(), "dataset {} has duplicate ids", table.dataset);
    let mut ids: Vec<&[u8]> = match psi_job {
        None => table.ids.iter().map(Vec::as_slice).collect(),
        Some(p) => {
            let record = store.job(p).await?.with_context(|| format!("PSI job {p} is not known to this node"))?;
            ensure!(record.job.kind == "psi", "job {p} is a '{}' job, not psi", record.job.kind);
            ensure!(
                record.status == crate::scheduler::status::COMPLETED,
                "PSI job {p} is '{}' on this node, not completed",
                record.status
            );
            ensure!(
                record.result_path.as_deref().is_some_and(|path| path.ends_with(".csv")),
                "PSI job {p} gave this member no intersection (only a count, or nothing: see its reveal)"
            );
            let psi_parties: Vec<Address> = serde_json::from_str(&record.job.participants)
                .with_context(|| format!("stored participants of PSI job {p}"))?;
            ensure!(
                participants.iter().all(|a| psi_parties.contains(a)),
                "PSI job {p} did not run between all participants of this job"
            );
            let bytes = read_checked(&record).with_context(|| format!("result of PSI job {p}"))?;
            let matched = psi_ids(&bytes, p)?;
            let mut rows = Vec::with_capacity(matched.len());
            // Reasons go on chain, readable by every member: no id in them.
            for (n, id) in matched.iter().enumerate() {
                let Some(&row) = index.get(id.as_slice()) else {
                    bail!("the id on line {} of PSI job {p}'s result is not in dataset {}", n + 2, table.dataset)
                };
                rows.push(row);
            }
            rows.sort_by(|&a, &b| table.ids[a].cmp(&table.ids[b]));
            ensure!(!rows.is_empty(), "PSI job {p}'s intersection is empty: nothing to learn from");
            return Ok(rows);
        }
    };
    ids.sort();
    Ok(ids.iter().map(|id| index[id]).collect())
}

/// The ids of a PSI result file (`id` header, one id per line).
fn psi_ids(bytes: &[u8], job: u64) -> Result<Vec<Vec<u8>>> {
    let mut lines = bytes.split(|&b| b == b'\n');
    ensure!(lines.next() == Some(b"id"), "the result of PSI job {job} does not start with the 'id' header");
    Ok(lines.filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect())
}

const TAG_ALIGN: &str = "ml/align/v1";

/// Checks with the guest (the guest: with every host) that both hold the
/// same ids in the same order; neither learns the other's ids.
async fn check_alignment(
    transport: &impl Transport,
    parties: &Parties,
    job_id: u64,
    table: &NumericTable,
    rows: &[usize],
) -> Result<()> {
    let mut hasher = Sha256::new();
    hasher.update(b"wefe/align/v1");
    hasher.update(job_id.to_be_bytes());
    for &r in rows {
        hasher.update((table.ids[r].len() as u64).to_be_bytes());
        hasher.update(&table.ids[r]);
    }
    let mut mine = (rows.len() as u64).to_be_bytes().to_vec();
    mine.extend_from_slice(&hasher.finalize());
    let peers = if parties.is_guest() { parties.hosts.clone() } else { vec![parties.guest] };
    for p in &peers {
        transport.send(p, TAG_ALIGN, mine.clone()).await?;
    }
    for p in &peers {
        let theirs = transport.recv(p, TAG_ALIGN).await?;
        ensure!(theirs.len() == 40, "peer {p} sent a malformed alignment message ({} bytes)", theirs.len());
        let their_rows = u64::from_be_bytes(theirs[..8].try_into().expect("8 bytes"));
        ensure!(
            their_rows == rows.len() as u64,
            "rows are not aligned with peer {p}: {} rows here, {their_rows} there",
            rows.len()
        );
        ensure!(theirs == mine, "rows are not aligned with peer {p}: both have {their_rows} rows but not the same ids");
    }
    Ok(())
}

/// The hold-out split: a seeded shuffle every party derives alike; the
/// first `fraction` of it is held out. Both parts keep the canonical order.
fn split(rows: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let held = (rows.len() as f64 * fraction).round() as usize;
    let mut positions: Vec<usize> = (0..rows.len()).collect();
    SplitMix64::new(seed ^ 0x5EED_0F57_1170_0000).shuffle(&mut positions);
    let mut out = vec![false; rows.len()];
    positions[..held].iter().for_each(|&p| out[p] = true);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for (p, &row) in rows.iter().enumerate() {
        if out[p] { validation.push(row) } else { train.push(row) }
    }
    (train, validation)
}

/// Where a runner publishes its progress (0.0–1.0); the scheduler stores it.
pub type Progress = tokio::sync::watch::Sender<f64>;

/// A transport that counts the messages of one tag it receives as progress.
struct Counting<'a, T> {
    inner: &'a T,
    tag: &'static str,
    done: AtomicU64,
    total: u64,
    progress: &'a Progress,
}

impl<T: Transport> Transport for Counting<'_, T> {
    fn local_peer(&self) -> PeerId {
        self.inner.local_peer()
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), wefe_core::TransportError> {
        self.inner.send(to, tag, payload).await
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, wefe_core::TransportError> {
        let message = self.inner.recv(from, tag).await?;
        if tag == self.tag {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            let share = done.min(self.total) as f64 / self.total.max(1) as f64;
            // Two decimals are enough; skip writes that would not change them.
            let value = ((0.1 + 0.8 * share) * 100.0).floor() / 100.0;
            self.progress.send_if_modified(|p| {
                let changed = *p != value;
                *p = value;
                changed
            });
        }
        Ok(message)
    }
}

/// Runs CPU-bound work (rayon inside) without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Drives a protocol whose steps are CPU-bound (they block between awaits).
async fn blocking_async<F: std::future::Future>(f: F) -> F::Output {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(move || handle.block_on(f))
}

impl NumericTable {
    /// The feature rows `rows`, in that order.
    pub fn features(&self, rows: &[usize]) -> Result<Features> {
        let cols = self.names.len();
        let mut values = Vec::with_capacity(rows.len() * cols);
        for &r in rows {
            values.extend_from_slice(&self.values[r * cols..(r + 1) * cols]);
        }
        Features::new("feature table", rows.len(), cols, values).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The labels of `rows` (an error when the table has none).
    pub fn labels_of(&self, rows: &[usize]) -> Result<Vec<f64>> {
        let labels = self.labels.as_ref().with_context(|| format!("dataset {} has no label column", self.dataset))?;
        Ok(rows.iter().map(|&r| labels[r]).collect())
    }
}

/// Reads the requested numeric columns of a dataset CSV (validated at
/// import): every value must be a finite number, every label 0 or 1, and
/// errors name the dataset, the line and the column — never the value, as
/// a job's failure reason is readable by every member on chain.
pub fn read_table(dataset: &str, path: &Path, id_column: &str, request: &ColumnRequest) -> Result<NumericTable> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open dataset file {shown}"))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {shown}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let id_index = find(id_column).with_context(|| format!("{shown} has no id column '{id_column}'"))?;
    let label_index = match &request.label {
        Some(label) => match find(label) {
            Some(i) => Some(i),
            None if request.label_required => {
                bail!("dataset {dataset} has no label column '{label}'")
            }
            None => None,
        },
        None => None,
    };
    let feature_indices: Vec<usize> = match &request.features {
        Some(names) => names
            .iter()
            .map(|n| find(n).with_context(|| format!("dataset {dataset} has no feature column '{n}'")))
            .collect::<Result<_>>()?,
        None => (0..headers.len())
            .filter(|&i| {
                i != id_index
                    && Some(i) != label_index
                    && request.label.as_deref() != Some(&headers[i])
                    && request.skip.as_deref() != Some(&headers[i])
            })
            .collect(),
    };
    ensure!(!feature_indices.is_empty(), "dataset {dataset} has no feature column besides the id and the label");
    let names: Vec<String> = feature_indices.iter().map(|&i| headers[i].clone()).collect();
    let (mut ids, mut values, mut labels) = (Vec::new(), Vec::new(), label_index.map(|_| Vec::new()));
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    while reader.read_record(&mut record).with_context(|| format!("{shown}: cannot read the row after line {line}"))? {
        line = record.position().map_or(line + 1, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        ids.push(field(id_index).as_bytes().to_vec());
        for (&i, name) in feature_indices.iter().zip(&names) {
            values.push(number(field(i), dataset, line, name)?);
        }
        if let (Some(i), Some(labels)) = (label_index, labels.as_mut()) {
            let name = &headers[i];
            let v = number(field(i), dataset, line, name)?;
            ensure!(v == 0.0 || v == 1.0, "dataset {dataset}, line {line}, label column '{name}': not 0 or 1");
            labels.push(v);
        }
    }
    Ok(NumericTable { dataset: dataset.to_owned(), ids, names, values, labels })
}

fn number(text: &str, dataset: &str, line: u64, column: &str) -> Result<f64> {
    ensure!(!text.is_empty(), "dataset {dataset}, line {line}, column '{column}': empty value");
    let v: f64 =
        text.parse().map_err(|_| anyhow::anyhow!("dataset {dataset}, line {line}, column '{column}': not a number"))?;
    ensure!(v.is_finite(), "dataset {dataset}, line {line}, column '{column}': not a finite number");
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_have_defaults_and_refuse_typos() {
        let p = VerticalLrParams::parse(r#"{"label":"y","purpose":"fraud"}"#).unwrap();
        assert_eq!((p.epochs, p.batch_size, p.key_bits), (10, 1024, 2048));
        let e = |j: &str| format!("{:#}", VerticalLrParams::parse(j).unwrap_err());
        assert!(e(r#"{"label":"y","epoch":3}"#).contains("unknown field `epoch`"));
        assert!(e(r#"{"label":"y","residual":"taylr"}"#).contains("residual 'taylr'"));
        assert!(e(r#"{"label":"y","key_bits":1024}"#).contains("key_bits"));
        assert!(e(r#"{"label":"y","validation_fraction":1.5}"#).contains("validation_fraction"));
        assert!(e(r#"{"label":"y","early_stopping_patience":2}"#).contains("early stopping"));
        assert!(e(r#"{"label":"y","learning_rate":0}"#).contains("learning rate"));
        assert!(e(r#"{"label":"y","features":{"bank":["a"]}}"#).contains("not an address"));
        assert!(e(r#"{"epochs":3}"#).contains("label"));
        assert!(PredictParams::parse(r#"{"model_job":3,"threshold":2}"#).is_err());
        assert!(PredictParams::parse(r#"{"model":3}"#).is_err());
    }

    #[test]
    fn the_split_is_seeded_and_keeps_canonical_order() {
        let rows: Vec<usize> = (0..100).rev().collect();
        let (t, v) = split(&rows, 0.3, 9);
        assert_eq!((t.len(), v.len()), (70, 30));
        assert_eq!(split(&rows, 0.3, 9), (t.clone(), v.clone()));
        assert_ne!(split(&rows, 0.3, 10).1, v);
        // Canonical order kept: both parts are subsequences of `rows`.
        assert!(t.windows(2).all(|w| w[0] > w[1]) && v.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(split(&rows, 0.0, 1).1.len(), 0);
    }

    #[test]
    fn tables_name_the_bad_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let request = ColumnRequest { features: None, label: Some("y".into()), label_required: true, skip: None };
        let read = |content: &str, request: &ColumnRequest| {
            std::fs::write(&path, content).unwrap();
            read_table("d", &path, "id", request)
        };
        let t = read("id,a,y,b\nx,1,0,2.5\nz,-3,1,1e3\n", &request).unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert_eq!(t.values, [1.0, 2.5, -3.0, 1000.0]);
        assert_eq!(t.labels.as_deref(), Some(&[0.0, 1.0][..]));
        let e = |content: &str| format!("{:#}", read(content, &request).unwrap_err());
        let bad = e("id,a,y\nx,abc,0\n");
        assert!(bad.contains("line 2, column 'a': not a number") && !bad.contains("abc"), "{bad}");
        assert!(e("id,a,y\nx,1,0\nz,,1\n").contains("line 3, column 'a': empty value"));
        assert!(e("id,a,y\nx,NaN,0\n").contains("not a finite number"));
        assert!(e("id,a,y\nx,1,2\n").contains("line 2, label column 'y': not 0 or 1"));
        assert!(e("id,a\nx,1\n").contains("no label column 'y'"));
        assert!(e("id,y\nx,1\n").contains("no feature column"));
        let named = ColumnRequest { features: Some(vec!["b".into()]), label: None, label_required: false, skip: None };
        assert!(format!("{:#}", read("id,a\nx,1\n", &named).unwrap_err()).contains("no feature column 'b'"));
        // A host skips a column named like the label and never parses it.
        let host = ColumnRequest { features: None, label: None, label_required: false, skip: Some("y".into()) };
        let t = read("id,a,y\nx,1,7\n", &host).unwrap();
        assert_eq!((t.names.as_slice(), t.labels.is_none()), (&["a".to_owned()][..], true));
        // Prediction: the label is optional.
        let optional = ColumnRequest { features: None, label: Some("y".into()), label_required: false, skip: None };
        assert!(read("id,a\nx,1\n", &optional).unwrap().labels.is_none());
    }

    #[tokio::test]
    async fn counted_messages_move_the_progress_from_10_to_90_percent() {
        let net = wefe_core::MemoryNetwork::new(1 << 20);
        let (a, b) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let (a_net, b_net) = (net.endpoint(a), net.endpoint(b));
        let (progress, updates) = tokio::sync::watch::channel(0.1);
        let counted = Counting { inner: &b_net, tag: "count", done: AtomicU64::new(0), total: 4, progress: &progress };
        for tag in ["count", "other", "count", "count", "count"] {
            a_net.send(&b, tag, vec![1]).await.unwrap();
        }
        counted.recv(&a, "count").await.unwrap();
        assert_eq!(*updates.borrow(), 0.3);
        counted.recv(&a, "other").await.unwrap();
        assert_eq!(*updates.borrow(), 0.3);
        for _ in 0..3 {
            counted.recv(&a, "count").await.unwrap();
        }
        assert_eq!(*updates.borrow(), 0.9);
    }

    #[test]
    fn psi_results_and_csv_fields() {
        assert_eq!(psi_ids(b"id\na\nb\n", 1).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(psi_ids(b"{\"intersection_size\":3}\n", 1).is_err());
        let mut out = Vec::new();
        write_csv_field(&mut out, b"a,\"b");
        assert_eq!(out, b"\"a,\"\"b\"");
    }
}
