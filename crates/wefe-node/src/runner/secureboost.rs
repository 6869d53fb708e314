//! The `secureboost` runner: trains vertical SecureBoost (params:
//! [`wefe_core::job::SecureBoostParams`]). The first participant is the
//! guest (labels, a fresh Paillier key), the others hosts. Every party bins
//! its own columns (or reuses the edges of an earlier `binning` job), trains
//! with [`wefe_ml::secureboost`], and stores only its own model share. The
//! guest's summary carries the evaluation metrics; it writes a ROC curve, a
//! loss-per-tree curve and the feature importance (split count and gain;
//! hosts appear as "host N", their features stay theirs). A host writes the
//! importance of its own features.

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wefe_core::job::{BinMethod as BinMethodParam, SecureBoostParams};
use wefe_core::{PeerId, Transport};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::binning::{BinEdges, BinMethod};
use wefe_ml::model::Evaluation;
use wefe_ml::secureboost::predict::{run_predict_guest, run_predict_host};
use wefe_ml::secureboost::{BoostEarlyStopping, BoostModel, BoostParams, GuestData, HostData, run_guest, run_host};

use super::{Artifact, JobContext};
use crate::ml::{Parties, aligned_rows, check_alignment, load_artifact, rounded, split};
use crate::scheduler::{ColumnRequest, JobInputs};

/// Format tag of a tree-model file.
pub const FORMAT: &str = "wefe-secureboost/1";

/// A party's stored share of a SecureBoost model, with what a later
/// `predict` job checks (parties, features, label, threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeModelFile {
    /// [`FORMAT`].
    pub format: String,
    /// The training job.
    pub job_id: u64,
    /// This party (0x address).
    pub party: String,
    /// Every party, guest first.
    pub parties: Vec<String>,
    /// The dataset trained on.
    pub dataset: String,
    /// Feature columns, in the model's order.
    pub features: Vec<String>,
    /// The label column (guest only).
    pub label: Option<String>,
    /// Probability threshold of the metrics.
    pub threshold: f64,
    /// The model share.
    pub model: BoostModel,
}

impl TreeModelFile {
    /// Parses and checks a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let f: TreeModelFile = serde_json::from_slice(bytes).context("not a SecureBoost model file")?;
        ensure!(f.format == FORMAT, "model format '{}', expected '{FORMAT}'", f.format);
        f.model.validate()?;
        let edges = match &f.model {
            BoostModel::Guest { edges, .. } | BoostModel::Host { edges, .. } => edges,
        };
        edges.validate(&f.features)?;
        Ok(f)
    }
}

/// The trainer's parameters of a job's params.
pub fn boost_params(p: &SecureBoostParams) -> BoostParams {
    BoostParams {
        trees: p.trees,
        max_depth: p.max_depth,
        learning_rate: p.learning_rate,
        l2: p.l2,
        min_child_weight: p.min_child_weight,
        min_child_rows: p.min_child_rows,
        min_split_gain: p.min_split_gain,
        row_sample: p.row_sample,
        feature_sample: p.feature_sample,
        early_stopping: p
            .early_stopping_patience
            .map(|patience| BoostEarlyStopping { patience, min_delta: p.min_delta }),
        seed: p.seed,
    }
}

pub(crate) fn bin_method(m: BinMethodParam) -> BinMethod {
    match m {
        BinMethodParam::Quantile => BinMethod::Quantile,
        BinMethodParam::EqualWidth => BinMethod::EqualWidth,
    }
}

/// Importance as CSV (`feature,splits,gain`).
fn importance_csv(items: &[(String, u32, f64)]) -> Vec<u8> {
    let mut out = b"feature,splits,gain\n".to_vec();
    for (name, n, gain) in items {
        super::write_csv_field(&mut out, name.as_bytes());
        out.extend_from_slice(format!(",{n},{gain:.6}\n").as_bytes());
    }
    out
}

fn importance_extra(model: &BoostModel, job_id: u64) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let items = model.importance();
    let mut extra = vec![("importance.csv", importance_csv(&items))];
    if !items.is_empty() {
        let bars: Vec<(String, f64)> = items.iter().map(|(n, _, g)| (n.clone(), *g)).collect();
        extra.push((
            "importance.png",
            wefe_ml::report::bar_png(&bars, &format!("job {job_id} — gain per feature"), "Total gain")?,
        ));
    }
    Ok(extra)
}

/// Runs this member's side of a `secureboost` job.
pub(super) async fn run<I: JobInputs, T: Transport>(
    params: &SecureBoostParams,
    cx: &JobContext<'_, I, T>,
) -> Result<Artifact> {
    let (job, participants, me, transport, progress) = (cx.job, cx.participants, cx.me, cx.transport, cx.progress);
    let parties = Parties::of(participants, me)?;
    let guest = parties.is_guest();
    let columns = params.columns_of(PeerId::from_bytes(me.into_array())).map(<[String]>::to_vec);
    let request = if guest {
        ColumnRequest {
            features: columns,
            label: Some(params.label.clone()),
            label_required: true,
            skip: None,
            allow_missing: true,
        }
    } else {
        ColumnRequest {
            features: columns,
            label: None,
            label_required: false,
            skip: Some(params.label.clone()),
            allow_missing: true,
        }
    };
    let table = cx.inputs.table(job, &request).await?;
    let rows = aligned_rows(cx.store, &table, params.psi_job, participants).await?;
    check_alignment(transport, &parties, job.job.job_id, &table, &rows).await?;
    let (train_rows, validation_rows) = split(&rows, params.validation_fraction, params.seed);
    ensure!(
        train_rows.len() >= 2 * params.min_child_rows as usize,
        "{} training rows cannot make two children of min_child_rows {}",
        train_rows.len(),
        params.min_child_rows
    );
    let train_x = table.matrix(&train_rows);
    let edges = match params.binning_job {
        Some(bj) => {
            let (_, bytes) = load_artifact(cx.store, bj, &["binning"]).await?;
            let result = super::binning::BinningResult::from_bytes(&bytes)
                .with_context(|| format!("result of binning job {bj}"))?;
            result.edges.validate(&table.names).with_context(|| format!("bin edges of binning job {bj}"))?;
            result.edges
        }
        None => BinEdges::fit(train_x.view(), &table.names, bin_method(params.bin_method), params.bins)?,
    };
    let train = edges.apply(train_x.view())?;
    drop(train_x);
    let validation =
        (!validation_rows.is_empty()).then(|| edges.apply(table.matrix(&validation_rows).view())).transpose()?;
    let bp = boost_params(params);
    let job_id = job.job.job_id;
    let (eval_rows, eval_on) =
        if validation_rows.is_empty() { (&train_rows, "training") } else { (&validation_rows, "validation") };
    let mut file = TreeModelFile {
        format: FORMAT.to_owned(),
        job_id,
        party: format!("{me:#x}"),
        parties: parties.names(),
        dataset: table.dataset.clone(),
        features: table.names.clone(),
        label: guest.then(|| params.label.clone()),
        threshold: params.threshold,
        model: BoostModel::Host { trees: 0, splits: Vec::new(), edges: edges.clone() },
    };
    if guest {
        let labels = table.labels_of(&train_rows)?;
        let validation =
            validation.map(|v| Ok::<_, anyhow::Error>((v, table.labels_of(&validation_rows)?))).transpose()?;
        let key = Keypair::generate(KeySize::new(params.key_bits))
            .context("generating the job's Paillier key")?
            .into_private();
        let data = GuestData { train, labels, validation, edges: edges.clone() };
        let (model, report) =
            run_guest(transport, &parties.hosts, bp, key, data, progress).await.context("SecureBoost training")?;
        let eval_b = edges.apply(table.matrix(eval_rows).view())?;
        let u = run_predict_guest(transport, &parties.hosts, &model, &eval_b).await.context("evaluating the model")?;
        let eval_labels = table.labels_of(eval_rows)?;
        let evaluation = Evaluation::of_scores(&u, &eval_labels, params.threshold)?;
        let roc = wefe_ml::report::roc_png(&u, &eval_labels, &format!("job {job_id}, {eval_on} rows"))?;
        let loss = wefe_ml::report::tree_loss_png(&report.history, &format!("job {job_id}"))?;
        let mut extra = vec![("roc.png", roc), ("loss.png", loss)];
        extra.extend(importance_extra(&model, job_id)?);
        file.model = model;
        let bytes = serde_json::to_vec_pretty(&file)?;
        let summary = serde_json::json!({
            "role": "guest",
            "model_hash": format!("0x{}", hex::encode(Sha256::digest(&bytes))),
            "rows": { "train": train_rows.len(), "validation": validation_rows.len() },
            "features": file.features.len(),
            "trees": report.trees_kept,
            "evaluated_on": eval_on,
            "metrics": rounded(&evaluation),
        });
        Ok(Artifact { bytes, extension: "json", summary, extra, commitment_key: None })
    } else {
        let data = HostData { train, validation, edges: edges.clone() };
        let model =
            run_host(transport, &parties.guest, bp, data, false, progress).await.context("SecureBoost training")?;
        let eval_b = edges.apply(table.matrix(eval_rows).view())?;
        run_predict_host(transport, &parties.guest, &model, &eval_b).await.context("evaluating the model")?;
        let extra = importance_extra(&model, job_id)?;
        let BoostModel::Host { trees, .. } = &model else { bail!("a host trained a guest's model") };
        let trees = *trees;
        file.model = model;
        let bytes = serde_json::to_vec_pretty(&file)?;
        let summary = serde_json::json!({
            "role": "host",
            "model_hash": format!("0x{}", hex::encode(Sha256::digest(&bytes))),
            "rows": { "train": train_rows.len(), "validation": validation_rows.len() },
            "features": file.features.len(),
            "trees": trees,
        });
        Ok(Artifact { bytes, extension: "json", summary, extra, commitment_key: None })
    }
}
