//! The `vertical-lr` runner: trains a split logistic regression (params:
//! [`wefe_core::job::VerticalLrParams`]). The first participant is the
//! guest (it holds the label column and a fresh Paillier key), the others
//! are hosts; see [`crate::ml`] for the row alignment every learning job
//! checks first. Each party stores only its own share of the model
//! ([`PartyModel`]) as the job's result; the guest's summary carries the
//! evaluation metrics, and it writes a ROC curve and a loss-per-epoch curve
//! as PNG next to the result.

use anyhow::{Context, Result, ensure};
use sha2::{Digest, Sha256};
use wefe_core::job::{Residual as ResidualParam, VerticalLrParams};
use wefe_core::{PeerId, Transport};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::logistic::{EarlyStopping, LrSchedule, Residual, TrainParams};
use wefe_ml::model::{Evaluation, FORMAT, PartyModel, Role, Scaler};
use wefe_ml::vertical_lr::predict::{run_predict_guest, run_predict_host};
use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};

use super::{Artifact, JobContext};
use crate::ml::{Counting, Parties, aligned_rows, check_alignment, rounded, split};
use crate::scheduler::{ColumnRequest, JobInputs};

/// The optimiser's parameters of a job's params.
pub fn train_params(p: &VerticalLrParams) -> TrainParams {
    TrainParams {
        epochs: p.epochs,
        batch_size: p.batch_size,
        learning_rate: p.learning_rate,
        schedule: p.decay.map_or(LrSchedule::Constant, |decay| LrSchedule::InverseDecay { decay }),
        l1: p.l1,
        l2: p.l2,
        early_stopping: p.early_stopping_patience.map(|patience| EarlyStopping { patience, min_delta: p.min_delta }),
        seed: p.seed,
        residual: match p.residual {
            ResidualParam::Sigmoid => Residual::Sigmoid,
            ResidualParam::Taylor => Residual::Taylor,
        },
        frac_bits: TrainParams::default().frac_bits,
    }
}

/// Runs this member's side of a `vertical-lr` job.
pub(super) async fn run<I: JobInputs, T: Transport>(
    params: &VerticalLrParams,
    cx: &JobContext<'_, I, T>,
) -> Result<Artifact> {
    let (job, participants, me, transport, progress) = (cx.job, cx.participants, cx.me, cx.transport, cx.progress);
    let parties = Parties::of(participants, me)?;
    let guest = parties.is_guest();
    let request = ColumnRequest {
        features: params.columns_of(PeerId::from_bytes(me.into_array())).map(<[String]>::to_vec),
        label: Some(params.label.clone()),
        label_required: guest,
        skip: None,
        allow_missing: false,
    };
    // A host never reads the label column (a column of that name is skipped).
    let request =
        if guest { request } else { ColumnRequest { label: None, skip: Some(params.label.clone()), ..request } };
    let table = cx.inputs.table(job, &request).await?;
    let rows = aligned_rows(cx.store, &table, params.psi_job, participants).await?;
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
    let train_params = train_params(params);
    let job_id = job.job.job_id;
    // Progress: one step per batch (the guest counts its hosts' forwards, a
    // host the guest's residuals), from 10% to 90%.
    let batches = train_params.batch_count(train_rows.len()) as u64 * u64::from(params.epochs);
    progress.add_total(batches * if guest { parties.hosts.len() as u64 } else { 1 });
    let counted = Counting {
        inner: transport,
        tag: if guest { wefe_ml::vertical_lr::TAG_FORWARD } else { wefe_ml::vertical_lr::TAG_RESIDUALS },
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
        let key = Keypair::generate(size).context("generating the job's Paillier key")?.into_private();
        let trainer = Guest::new(train_params, key, train_x, labels, validation, parties.hosts.len())?;
        let (linear, report) = (run_guest(&counted, &parties.hosts, trainer)).await.context("vertical LR training")?;
        model.weights = linear.weights.to_vec();
        model.intercept = linear.intercept;
        // A diverged model (non-finite weights) fails here, not when used.
        model.validate().context("the trained model")?;
        let eval_x = table.features(eval_rows)?;
        let u =
            (run_predict_guest(transport, &parties.hosts, &model, &eval_x)).await.context("evaluating the model")?;
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
        let linear = (run_host(&counted, &parties.guest, trainer)).await.context("vertical LR training")?;
        model.weights = linear.weights.to_vec();
        model.validate().context("the trained model")?;
        let eval_x = table.features(eval_rows)?;
        (run_predict_host(transport, &parties.guest, &model, &eval_x)).await.context("evaluating the model")?;
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
