//! The `binning` runner: federated binning with WOE/IV (params:
//! [`wefe_core::job::BinningParams`]). Every party bins its own columns;
//! the guest (first participant, labels) encrypts its labels under a fresh
//! Paillier key and each host computes the WOE and IV of its own columns
//! ([`wefe_ml::binning::federated`]). Each party's result is its bin edges
//! and WOE/IV table as JSON (reusable by a `secureboost` job's
//! `binning_job`), the same table as CSV, and a chart of IV per column.

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use wefe_core::job::{BinningParams, WoeReveal};
use wefe_core::{PeerId, Transport};
use wefe_crypto::{KeySize, Keypair};
use wefe_ml::binning::federated::{self, GuestInput, Reveal, WoeParams};
use wefe_ml::binning::{BinEdges, ColumnWoe, woe_csv};

use super::{Artifact, JobContext};
use crate::ml::{Parties, aligned_rows, check_alignment};
use crate::scheduler::{ColumnRequest, JobInputs};

/// Format tag of a binning result.
pub const FORMAT: &str = "wefe-binning/1";

/// A party's binning result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinningResult {
    /// [`FORMAT`].
    pub format: String,
    /// The job.
    pub job_id: u64,
    /// `guest` or `host`.
    pub role: String,
    /// The dataset binned.
    pub dataset: String,
    /// Rows binned (the aligned rows).
    pub rows: usize,
    /// The cut points of every column.
    pub edges: BinEdges,
    /// WOE/IV of every column.
    pub columns: Vec<ColumnWoe>,
    /// Guest only, with `reveal = "iv"`: each host's column IVs by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ivs: Vec<Option<Vec<f64>>>,
}

impl BinningResult {
    /// Parses a stored result.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let r: BinningResult = serde_json::from_slice(bytes).context("not a binning result")?;
        ensure!(r.format == FORMAT, "binning result format '{}', expected '{FORMAT}'", r.format);
        let names: Vec<String> = r.edges.columns.iter().map(|c| c.name.clone()).collect();
        r.edges.validate(&names)?;
        Ok(r)
    }
}

/// Runs this member's side of a `binning` job.
pub(super) async fn run<I: JobInputs, T: Transport>(
    params: &BinningParams,
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
    ensure!(!rows.is_empty(), "no aligned rows to bin");
    let x = table.matrix(&rows);
    let edges = BinEdges::fit(x.view(), &table.names, super::secureboost::bin_method(params.method), params.bins)?;
    let binned = edges.apply(x.view())?;
    drop(x);
    let woe = WoeParams {
        reveal: match params.reveal {
            WoeReveal::None => Reveal::None,
            WoeReveal::Iv => Reveal::Iv,
        },
        min_bin_rows: params.min_bin_rows,
    };
    let job_id = job.job.job_id;
    let (columns, host_ivs) = if guest {
        let labels = table.labels_of(&rows)?;
        let key = Keypair::generate(KeySize::new(params.key_bits))
            .context("generating the job's Paillier key")?
            .into_private();
        let input = GuestInput { binned: &binned, edges: &edges, labels: &labels };
        let r = federated::run_guest(transport, &parties.hosts, woe, &key, input, progress)
            .await
            .context("federated WOE/IV")?;
        (r.columns, r.host_ivs)
    } else {
        let c = federated::run_host(transport, &parties.guest, woe, &binned, &edges, false, progress)
            .await
            .context("federated WOE/IV")?;
        (c, Vec::new())
    };
    let ivs: Vec<(String, f64)> = columns.iter().map(|c| (c.name.clone(), c.iv)).collect();
    let chart = wefe_ml::report::bar_png(&ivs, &format!("job {job_id} — information value per column"), "IV")?;
    let csv = woe_csv(&columns).into_bytes();
    let result = BinningResult {
        format: FORMAT.to_owned(),
        job_id,
        role: if guest { "guest" } else { "host" }.to_owned(),
        dataset: table.dataset.clone(),
        rows: rows.len(),
        edges,
        columns,
        host_ivs,
    };
    let summary = serde_json::json!({
        "role": result.role,
        "rows": rows.len(),
        "features": result.columns.len(),
        "method": match params.method { wefe_core::job::BinMethod::Quantile => "quantile", wefe_core::job::BinMethod::EqualWidth => "equal_width" },
        "max_bins": params.bins,
    });
    Ok(Artifact {
        bytes: serde_json::to_vec_pretty(&result)?,
        extension: "json",
        summary,
        extra: vec![("woe.csv", csv), ("iv.png", chart)],
        commitment_key: None,
    })
}
