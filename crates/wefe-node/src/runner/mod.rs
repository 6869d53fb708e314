//! Runners: one module per job kind, behind one exhaustive `match` on the
//! job's typed spec ([`wefe_core::job::JobSpec`]). A runner gets the job as
//! recorded from the chain, its checked params, this member's inputs, the
//! store (for earlier jobs' results), a [`Transport`] restricted to the job's
//! participants and the job's [`Progress`], and returns the result artifact
//! it produced. It never reports on chain: the scheduler does.
//!
//! Runners run on the compute pool ([`crate::compute`]), never on the
//! runtime that serves the gateway, the API and the chain listener, so their
//! CPU-bound steps may block. They are stopped through the one cancellation
//! path of every job: the scheduler's token, observed at the next message
//! (batch) boundary.
//!
//! Adding a kind: a variant of `wefe_core::job::JobSpec` (with its params
//! type) and a module here with a `run` function; the `match` in [`run`]
//! does not compile until the new variant has its arm.

mod binning;
mod predict;
mod psi;
pub mod secureboost;
mod vertical_lr;

use alloy::primitives::Address;
use anyhow::Result;
use wefe_core::job::JobSpec;
use wefe_core::{Progress, Transport};
use wefe_store::{JobRecord, Store};

use crate::scheduler::JobInputs;

pub use vertical_lr::train_params;

/// What a runner hands back: the artifact's bytes, its file extension and a
/// JSON summary (kept here; only the fields the params publish go on chain).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The result file's content.
    pub bytes: Vec<u8>,
    /// `csv` or `json`.
    pub extension: &'static str,
    /// Reported on chain with the artifact's hash.
    pub summary: serde_json::Value,
    /// Companion files (e.g. `roc.png`), written as `job-<id>-<name>`;
    /// not covered by the reported commitment.
    pub extra: Vec<(&'static str, Vec<u8>)>,
    /// The commitment key agreed with the other holders of the same result;
    /// None: the scheduler draws a key of this node's own.
    pub commitment_key: Option<wefe_crypto::commitment::CommitmentKey>,
}

/// A result that is its own summary, as a JSON file.
pub(crate) fn json_artifact(summary: serde_json::Value) -> Artifact {
    Artifact {
        bytes: format!("{summary}\n").into_bytes(),
        extension: "json",
        summary,
        extra: Vec::new(),
        commitment_key: None,
    }
}

/// Everything a runner may use.
pub struct JobContext<'a, I, T> {
    /// The job as recorded from the chain.
    pub job: &'a JobRecord,
    /// Its participants, in the proposal's order.
    pub participants: &'a [Address],
    /// This node's member.
    pub me: Address,
    /// This member's inputs.
    pub inputs: &'a I,
    /// The store (earlier jobs' results: a PSI intersection, a model).
    pub store: &'a Store,
    /// Messages to and from the other participants.
    pub transport: &'a T,
    /// Items done of items known.
    pub progress: &'a Progress,
}

/// Names the job and the parties only (no inputs, no transport state).
impl<I, T> std::fmt::Debug for JobContext<'_, I, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job.job.job_id)
            .field("participants", &self.participants)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Runs this member's side of a job.
pub async fn run<I: JobInputs, T: Transport>(spec: &JobSpec, cx: &JobContext<'_, I, T>) -> Result<Artifact> {
    match spec {
        JobSpec::Psi(params) => psi::run(params, cx).await,
        JobSpec::VerticalLr(params) => vertical_lr::run(params, cx).await,
        JobSpec::Predict(params) => predict::run(params, cx).await,
        JobSpec::Binning(params) => binning::run(params, cx).await,
        JobSpec::SecureBoost(params) => secureboost::run(params, cx).await,
    }
}

/// A field of a CSV result (an id, a value), quoted when it holds a comma, a
/// double quote or a line break (RFC 4180), so any CSV reader reads it back.
pub(crate) fn write_csv_field(out: &mut Vec<u8>, field: &[u8]) {
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
