//! The `predict` runner: scores rows with a `vertical-lr` or `secureboost`
//! model trained by the same parties (params:
//! [`wefe_core::job::PredictParams`]). Hosts answer for their own features
//! (partial scores, or the routing of their own tree splits); the guest
//! gets the scores and writes them as CSV (and, when its dataset has the
//! label, the metrics and a ROC curve).

use anyhow::{Context, Result, ensure};
use wefe_core::Transport;
use wefe_core::job::PredictParams;
use wefe_ml::model::Evaluation;
use wefe_ml::vertical_lr::predict::{run_predict_guest, run_predict_host};

use super::{Artifact, JobContext};
use wefe_ml::model::PartyModel;
use wefe_ml::secureboost::BoostModel;
use wefe_ml::secureboost::predict as trees;

use super::secureboost::TreeModelFile;
use crate::ml::{Parties, aligned_rows, check_alignment, load_artifact, rounded};
use crate::scheduler::{ColumnRequest, JobInputs};

/// Runs this member's side of a `predict` job.
pub(super) async fn run<I: JobInputs, T: Transport>(
    params: &PredictParams,
    cx: &JobContext<'_, I, T>,
) -> Result<Artifact> {
    let parties = Parties::of(cx.participants, cx.me)?;
    let (kind, bytes) = load_artifact(cx.store, params.model_job, &["vertical-lr", "secureboost"]).await?;
    if kind == "secureboost" {
        let file = TreeModelFile::from_bytes(&bytes).with_context(|| format!("model of job {}", params.model_job))?;
        let shared = SharedModel {
            parties: &file.parties,
            party: &file.party,
            features: &file.features,
            label: file.label.as_ref(),
            threshold: file.threshold,
        };
        return predict_rows(params, cx, &parties, shared, Scorer::Trees(&file.model)).await;
    }
    let model =
        PartyModel::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("model of job {}: {e}", params.model_job))?;
    let shared = SharedModel {
        parties: &model.parties,
        party: &model.party,
        features: &model.features,
        label: model.label.as_ref(),
        threshold: model.threshold,
    };
    predict_rows(params, cx, &parties, shared, Scorer::Linear(&model)).await
}

/// What every model file says about who trained it on what.
struct SharedModel<'a> {
    parties: &'a [String],
    party: &'a str,
    features: &'a [String],
    label: Option<&'a String>,
    threshold: f64,
}

/// The model kind's federated scoring.
enum Scorer<'a> {
    Linear(&'a PartyModel),
    Trees(&'a BoostModel),
}

async fn predict_rows<I: JobInputs, T: Transport>(
    params: &PredictParams,
    cx: &JobContext<'_, I, T>,
    parties: &Parties,
    model: SharedModel<'_>,
    scorer: Scorer<'_>,
) -> Result<Artifact> {
    let (job, participants, me, transport) = (cx.job, cx.participants, cx.me, cx.transport);
    ensure!(
        model.parties == parties.names().as_slice(),
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
        features: Some(model.features.to_vec()),
        label: model.label.cloned(),
        label_required: false,
        skip: None,
        allow_missing: matches!(scorer, Scorer::Trees(_)),
    };
    let table = cx.inputs.table(job, &request).await?;
    let rows = aligned_rows(cx.store, &table, params.psi_job, participants).await?;
    check_alignment(transport, parties, job.job.job_id, &table, &rows).await?;
    let threshold = params.threshold.unwrap_or(model.threshold);
    let scores = match scorer {
        Scorer::Linear(m) => {
            let x = table.features(&rows)?;
            if guest {
                Some(run_predict_guest(transport, &parties.hosts, m, &x).await.context("federated prediction")?)
            } else {
                run_predict_host(transport, &parties.guest, m, &x).await.context("federated prediction")?;
                None
            }
        }
        Scorer::Trees(m) => {
            let edges = match m {
                BoostModel::Guest { edges, .. } | BoostModel::Host { edges, .. } => edges,
            };
            let x = edges.apply(table.matrix(&rows).view())?;
            if guest {
                Some(trees::run_predict_guest(transport, &parties.hosts, m, &x).await.context("federated prediction")?)
            } else {
                trees::run_predict_host(transport, &parties.guest, m, &x).await.context("federated prediction")?;
                None
            }
        }
    };
    let Some(u) = scores else {
        return Ok(super::json_artifact(
            serde_json::json!({ "role": "host", "model_job": params.model_job, "rows": rows.len() }),
        ));
    };
    let mut bytes = b"id,score,probability,prediction\n".to_vec();
    let mut positives = 0usize;
    for (&row, &score) in rows.iter().zip(&u) {
        let p = wefe_ml::logistic::sigmoid(score);
        let predicted = u8::from(p >= threshold);
        positives += usize::from(predicted);
        super::write_csv_field(&mut bytes, &table.ids[row]);
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
