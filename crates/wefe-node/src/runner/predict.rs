//! The `predict` runner: scores rows with a `vertical-lr` model trained by
//! the same parties (params: [`wefe_core::job::PredictParams`]). Hosts
//! answer for their own features; the guest gets the scores and writes them
//! as CSV (and, when its dataset has the label, the metrics and a ROC curve).

use anyhow::{Context, Result, ensure};
use wefe_core::Transport;
use wefe_core::job::PredictParams;
use wefe_ml::model::Evaluation;
use wefe_ml::vertical_lr::predict::{run_predict_guest, run_predict_host};

use super::{Artifact, JobContext};
use crate::ml::{Parties, aligned_rows, check_alignment, load_model, rounded};
use crate::scheduler::{ColumnRequest, JobInputs};

/// Runs this member's side of a `predict` job.
pub(super) async fn run<I: JobInputs, T: Transport>(
    params: &PredictParams,
    cx: &JobContext<'_, I, T>,
) -> Result<Artifact> {
    let (job, participants, me, transport) = (cx.job, cx.participants, cx.me, cx.transport);
    let parties = Parties::of(participants, me)?;
    let model = load_model(cx.store, params.model_job).await?;
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
    let table = cx.inputs.table(job, &request).await?;
    let rows = aligned_rows(cx.store, &table, params.psi_job, participants).await?;
    check_alignment(transport, &parties, job.job.job_id, &table, &rows).await?;
    let x = table.features(&rows)?;
    let threshold = params.threshold.unwrap_or(model.threshold);
    if !guest {
        (run_predict_host(transport, &parties.guest, &model, &x)).await.context("federated prediction")?;
        return Ok(super::json_artifact(
            serde_json::json!({ "role": "host", "model_job": params.model_job, "rows": rows.len() }),
        ));
    }
    let u = (run_predict_guest(transport, &parties.hosts, &model, &x)).await.context("federated prediction")?;
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
