//! The scheduler launches the jobs the listener recorded: for each approved
//! job that names this member it claims the job in the store, reports
//! `started` on chain, loads its input, runs its role through the job's
//! [`Transport`], stores the result artifact with its commitment key and
//! reports `completed(commitment, public summary)` — or `failed(category,
//! commitment to the detail)` (see [`crate::disclosure`]). A job stops when
//! another participant fails it, when the chain closes it, when the node's
//! time limit runs out, or when its run deadline block passes (the node then
//! closes it on chain as timed out). Jobs run concurrently up to a limit; one
//! failing never blocks the others.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use anyhow::{Context, Result, bail};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wefe_chain::bindings::JobRegistry;
use wefe_chain::{ChainBackend, Governance, Target};
use wefe_core::job::JobSpec;
use wefe_core::{Progress, Transport};
use wefe_store::{ItemProgress, JobRecord, JobUpdate, Store};

use crate::compute::{self, Cancellable};
use crate::disclosure::{self, FailureCategory, JobFailure};
use crate::files::write_artifact;
use crate::runner::{self, JobContext};
use wefe_crypto::commitment::{self as commit, CommitmentKey};

/// Hands out the transport of one job (the gateway in production, an
/// in-memory network in tests).
pub trait JobNetwork: Send + Sync + 'static {
    /// The transport type.
    type Transport: Transport + 'static;
    /// The transport for `job_id`, addressed as this member; only
    /// `participants` (the job's, this member included) may send on it.
    fn transport(&self, job_id: u64, participants: &[wefe_core::PeerId]) -> Result<Self::Transport>;
    /// The job is over here: whatever is still queued for it can go.
    fn finished(&self, _job_id: u64) {}
}

/// Loads this member's input for a job (ids from a local dataset).
pub trait JobInputs: Send + Sync + 'static {
    /// The ids this member brings to `job`.
    fn ids(&self, job: &JobRecord) -> impl std::future::Future<Output = Result<Vec<Vec<u8>>>> + Send;

    /// The rows each other participant registered on chain for its dataset
    /// in `job` (as the proposal bound it): a PSI peer announcing more ids
    /// is refused (it could be probing with a dictionary), and so is a peer
    /// missing from the map. None: these inputs cannot tell (no limit).
    fn peer_rows(
        &self,
        job: &JobRecord,
    ) -> impl std::future::Future<Output = Result<Option<HashMap<wefe_core::PeerId, u64>>>> + Send {
        let _ = job;
        async { Ok(None) }
    }

    /// The numeric columns this member brings to a learning job.
    fn table(
        &self,
        job: &JobRecord,
        request: &ColumnRequest,
    ) -> impl std::future::Future<Output = Result<NumericTable>> + Send {
        let _ = request;
        let id = job.job.job_id;
        async move { bail!("job {id}: this node's inputs provide ids only, not feature tables") }
    }
}

/// Which columns a learning job reads from a member's dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRequest {
    /// Feature columns by name (`None`: every column except the id and the label).
    pub features: Option<Vec<String>>,
    /// The label column, if the job has one.
    pub label: Option<String>,
    /// A missing label column is an error (the guest of a training job).
    pub label_required: bool,
    /// A column never used as a default feature (a host skips the guest's label name).
    pub skip: Option<String>,
    /// Empty cells (and `NA`, `NaN`, `null`) read as missing values (NaN)
    /// instead of failing: tree models and binning give them their own bin.
    pub allow_missing: bool,
}

/// Numeric columns of a dataset, row-major, with the rows' ids.
#[derive(Clone, PartialEq)]
pub struct NumericTable {
    /// The dataset id.
    pub dataset: String,
    /// Row ids, in file order.
    pub ids: Vec<Vec<u8>>,
    /// Feature column names.
    pub names: Vec<String>,
    /// `ids.len() × names.len()` values: finite, or NaN for a missing value
    /// when the request allowed them.
    pub values: Vec<f64>,
    /// Labels (0 or 1), when the label column is present.
    pub labels: Option<Vec<f64>>,
}

/// Shows the shape only, never the values.
impl std::fmt::Debug for NumericTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumericTable")
            .field("dataset", &self.dataset)
            .field("rows", &self.ids.len())
            .field("names", &self.names)
            .field("labels", &self.labels.is_some())
            .finish()
    }
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// This node's member account.
    pub member: Address,
    /// Where result artifacts are written.
    pub results_dir: PathBuf,
    /// Jobs running at once.
    pub max_concurrent_jobs: usize,
    /// A job still running after this is failed (unless its params set
    /// `timeout_secs`).
    pub job_timeout: Duration,
}

/// Launches recorded jobs. Clones share one scheduler.
#[derive(Debug)]
pub struct Scheduler<B, N, I> {
    inner: Arc<Inner<B, N, I>>,
}

impl<B, N, I> Clone for Scheduler<B, N, I> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

#[derive(Debug)]
struct Inner<B, N, I> {
    gov: Governance<B>,
    store: Store,
    network: N,
    inputs: I,
    config: SchedulerConfig,
    slots: Semaphore,
    launched: Mutex<HashSet<u64>>,
    /// The cancellation token of each job running here.
    running: Mutex<HashMap<u64, CancellationToken>>,
    /// Cancelled when the node shuts down: every running job stops.
    shutdown: CancellationToken,
    /// Run deadlines up to this block have been looked at by `close_expired`.
    deadlines_checked: Mutex<u64>,
    /// One transaction in flight per member key: concurrent jobs would
    /// otherwise pick the same nonce.
    sending: tokio::sync::Mutex<()>,
}

/// Statuses in the store's `jobs` table.
pub mod status {
    /// Recorded from `JobApproved`, not yet claimed.
    pub const APPROVED: &str = "approved";
    /// Claimed by the scheduler.
    pub const RUNNING: &str = "running";
    /// Result stored and reported.
    pub const COMPLETED: &str = "completed";
    /// Failure stored and reported.
    pub const FAILED: &str = "failed";
    /// Outcome stored, its report not yet mined (the chain node was
    /// unreachable): retried on every scheduler round.
    pub const REPORT_PENDING: &str = "report_pending";
}

/// The events after which a job never changes on chain.
const CLOSING_EVENTS: [&str; 6] =
    ["JobCompleted", "JobFailed", "JobTimedOut", "JobRejected", "JobCancelled", "JobExpired"];

/// Longest summary the contract stores.
const MAX_REASON: usize = 4096;
/// Longest failure detail kept in the store.
const MAX_DETAIL: usize = 4096;

/// `JobRegistry.ParticipantState.Completed`.
const PARTICIPANT_COMPLETED: u8 = 5;

impl<B, N, I> Scheduler<B, N, I>
where
    B: ChainBackend + 'static,
    N: JobNetwork,
    I: JobInputs,
{
    /// A scheduler reporting through `gov` (which must hold the member's key).
    pub fn new(gov: Governance<B>, store: Store, network: N, inputs: I, config: SchedulerConfig) -> Self {
        let slots = Semaphore::new(config.max_concurrent_jobs.max(1));
        Self {
            inner: Arc::new(Inner {
                gov,
                store,
                network,
                inputs,
                config,
                slots,
                launched: Mutex::new(HashSet::new()),
                running: Mutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
                deadlines_checked: Mutex::new(0),
                sending: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Fails the jobs a previous run left `running` (it died mid-job; the
    /// peers' sessions are gone): stored and reported on chain.
    /// A job whose result was already stored is completed (its report is
    /// sent again unless the chain already has it); the others are failed.
    /// Returns the ids of the jobs failed.
    pub async fn recover(&self) -> Result<Vec<u64>> {
        let mut failed = Vec::new();
        for job in self.inner.store.jobs_with_status(status::RUNNING).await? {
            let id = job.job.job_id;
            if let (Some(commitment), Some(summary)) = (job.result_commitment.as_deref(), job.summary.as_deref()) {
                match self.inner.complete_stored(&job, commitment, summary).await {
                    Ok(()) => continue,
                    Err(e) if !refused(&e) => {
                        let pending =
                            JobUpdate { status: status::REPORT_PENDING, progress: 0.95, ..JobUpdate::default() };
                        self.inner.store.update_job(id, &pending).await?;
                        continue;
                    }
                    Err(_) => {}
                }
            }
            let past_deadline = job.job.run_deadline_block > 0
                && self.inner.gov.backend().head_block().await.is_ok_and(|head| head > job.job.run_deadline_block);
            let failure = if past_deadline {
                JobFailure::new(
                    FailureCategory::Timeout,
                    format!(
                        "the node restarted while the job was running, after its run deadline (block {})",
                        job.job.run_deadline_block
                    ),
                )
            } else {
                JobFailure::new(
                    FailureCategory::Interrupted,
                    "the node restarted while the job was running; its sessions with the peers were lost",
                )
            };
            self.inner.fail(id, &failure).await;
            failed.push(id);
        }
        Ok(failed)
    }

    /// Launches every approved job not launched yet (and retries pending
    /// reports); returns the ids launched.
    pub async fn launch_ready(&self) -> Result<Vec<u64>> {
        let mut started = Vec::new();
        if self.inner.shutdown.is_cancelled() {
            return Ok(started);
        }
        // Indexed lookups only: the cost of a round does not grow with the
        // number of finished jobs in the store.
        self.inner.close_expired().await;
        for job in self.inner.store.jobs_with_status(status::REPORT_PENDING).await? {
            self.inner.retry_pending(&job).await;
        }
        for job in self.inner.store.jobs_with_status(status::APPROVED).await? {
            let id = job.job.job_id;
            if !self.inner.launched.lock().unwrap_or_else(|e| e.into_inner()).insert(id) {
                continue;
            }
            let inner = Arc::clone(&self.inner);
            let task = tokio::spawn({
                let inner = Arc::clone(&inner);
                async move { inner.run(job).await }
            });
            // A runner that panics is failed like any other failure; a job that
            // was not claimed may be launched again later.
            tokio::spawn(async move {
                match task.await {
                    Ok(true) => {}
                    Ok(false) => {
                        inner.launched.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    }
                    Err(e) if e.is_panic() => {
                        let failure = JobFailure::new(FailureCategory::Internal, "the job's runner crashed (panic)");
                        inner.fail(id, &failure).await
                    }
                    Err(_) => {}
                }
            });
            started.push(id);
        }
        Ok(started)
    }

    /// Stops every running job (it fails as `Interrupted`, reported on chain
    /// while the chain answers) and waits for them, at most `grace`. No job
    /// is launched afterwards.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let left = self.inner.running.lock().unwrap_or_else(|e| e.into_inner()).len();
            if left == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(jobs = left, "shutting down with jobs still being stopped");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl<B, N, I> Inner<B, N, I>
where
    B: ChainBackend + 'static,
    N: JobNetwork,
    I: JobInputs,
{
    /// Runs a job; false when it could not be claimed (it may be tried again).
    async fn run(self: Arc<Self>, job: JobRecord) -> bool {
        let id = job.job.job_id;
        // A job still waiting for a slot when the node shuts down is left
        // approved: it was never started, and the next start launches it.
        let _slot = tokio::select! {
            slot = self.slots.acquire() => match slot {
                Ok(slot) => slot,
                Err(_) => return false,
            },
            () = self.shutdown.cancelled() => return false,
        };
        if self.shutdown.is_cancelled() {
            return false;
        }
        match self.store.transition_job(id, status::APPROVED, status::RUNNING).await {
            Ok(true) => {}
            Ok(false) => return false, // forgotten by a reorg, or claimed elsewhere
            Err(e) => {
                tracing::error!(job = id, error = %e, "cannot claim the job");
                return false;
            }
        }
        // Counted as running from its claim on, so a shutdown waits for it.
        let cancel = CancellationToken::new();
        self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id, cancel.clone());
        let _registered = Registered(&self.running, id);
        self.run_claimed(&job, cancel).await;
        true
    }

    /// Runs a job claimed in the store, to its stored and reported outcome.
    async fn run_claimed(self: &Arc<Self>, job: &JobRecord, cancel: CancellationToken) {
        let id = job.job.job_id;
        tracing::info!(job = id, kind = %job.job.kind, run_deadline = job.job.run_deadline_block, "job started");
        if job.job.run_deadline_block > 0
            && self.gov.backend().head_block().await.is_ok_and(|head| head > job.job.run_deadline_block)
        {
            let failure = JobFailure::new(
                FailureCategory::Timeout,
                format!("the run deadline (block {}) passed before this node could start", job.job.run_deadline_block),
            );
            self.fail(id, &failure).await;
            self.network.finished(id);
            return;
        }
        if let Err(e) = self.send_with_retry(JobRegistry::reportStartedCall { jobId: U256::from(id) }).await {
            tracing::warn!(job = id, error = %e, "cannot report started");
        }
        // The job ends early if another participant fails it (or the chain
        // closes it otherwise): nobody would answer this node any more. Past
        // its run deadline block the node closes it on chain as timed out.
        let run_deadline = job.job.run_deadline_block;
        let watch = async {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if let Ok(state) =
                    self.gov.call(Target::JobRegistry, JobRegistry::jobStatusCall { jobId: U256::from(id) }).await
                    && state >= 5
                {
                    return JobFailure::new(
                        if state == wefe_chain::jobs::STATUS_TIMED_OUT {
                            FailureCategory::Timeout
                        } else {
                            FailureCategory::Cancelled
                        },
                        format!(
                            "the job was closed on chain ({}) while this node was running it",
                            wefe_chain::abi::enum_variant("JobRegistry.JobStatus", state).unwrap_or_default()
                        ),
                    );
                }
                if run_deadline > 0
                    && let Ok(head) = self.gov.backend().head_block().await
                    && head > run_deadline
                {
                    let closed = self.send_with_retry(JobRegistry::timeOutCall { jobId: U256::from(id) }).await;
                    tracing::warn!(job = id, run_deadline, closed = closed.is_ok(), "run deadline passed");
                    return JobFailure::new(
                        FailureCategory::Timeout,
                        format!("the run deadline (block {run_deadline}) passed before every participant completed"),
                    );
                }
            }
        };
        // One cancellation path: a time limit, a closure on chain and the
        // node's shutdown all cancel the job's token; the runner (on the
        // compute pool) stops at its next message boundary.
        let progress = Arc::new(Progress::new());
        let recorder = tokio::spawn(record_items(self.store.clone(), id, Arc::clone(&progress)));
        let timeout = job_timeout(&job.job.params, self.config.job_timeout);
        let result: Result<(), JobFailure> = tokio::select! {
            outcome = tokio::time::timeout(timeout, self.execute(job, cancel.clone(), progress)) => match outcome {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(JobFailure::new(disclosure::categorize(&e, FailureCategory::Protocol), format!("{e:#}"))),
                Err(_) => Err(JobFailure::new(FailureCategory::Timeout, format!("timed out after {timeout:?}"))),
            },
            failure = watch => Err(failure),
            () = self.shutdown.cancelled() => Err(JobFailure::new(
                FailureCategory::Interrupted,
                "the node was shut down while the job was running",
            )),
        };
        cancel.cancel();
        recorder.abort();
        // Closing the job's mailboxes releases what peers still send it.
        self.network.finished(id);
        // A peer that gave up because the run deadline passed (its gateway
        // then refuses the job's messages) is the deadline's doing, not the peer's.
        let result = match result {
            Err(f)
                if f.category == FailureCategory::Peer
                    && run_deadline > 0
                    && self.gov.backend().head_block().await.is_ok_and(|head| head > run_deadline) =>
            {
                Err(JobFailure::new(
                    FailureCategory::Timeout,
                    format!(
                        "the run deadline (block {run_deadline}) passed before every participant completed ({})",
                        f.detail
                    ),
                ))
            }
            other => other,
        };
        match result {
            Ok(()) => tracing::info!(job = id, "job completed"),
            Err(failure) => self.fail(id, &failure).await,
        }
    }

    /// Checks the job, runs its runner on the compute pool, stores the
    /// artifact with its commitment key and reports it.
    async fn execute(
        self: &Arc<Self>,
        job: &JobRecord,
        cancel: CancellationToken,
        progress: Arc<Progress>,
    ) -> Result<()> {
        let id = job.job.job_id;
        let invalid = |message: String| JobFailure::wrap(FailureCategory::InvalidJob, anyhow::anyhow!(message));
        if job.job.params.is_empty() {
            return Err(invalid(
                "the job's params are empty or could not be read from its proposal on chain (see the node log)".into(),
            ));
        }
        let participants: Vec<Address> = serde_json::from_str(&job.job.participants)
            .with_context(|| format!("stored participants of job {id} are not a JSON list of addresses"))?;
        // The same checks as `wefe job propose`: a kind, params or `publish`
        // list this node cannot honour fail the job before any work.
        let peers = peer_ids(&participants);
        let spec = JobSpec::parse(&job.job.kind, &job.job.params, &peers).map_err(|e| invalid(e.to_string()))?;
        let me = self.config.member;
        let transport = Cancellable::new(self.network.transport(id, &peers)?, cancel.clone());
        self.progress(id, 0.1).await;
        let artifact = compute::run(cancel, {
            let inner = Arc::clone(self);
            let job = job.clone();
            let progress = Arc::clone(&progress);
            async move {
                let cx = JobContext {
                    job: &job,
                    participants: &participants,
                    me,
                    inputs: &inner.inputs,
                    store: &inner.store,
                    transport: &transport,
                    progress: &progress,
                };
                runner::run(&spec, &cx).await
            }
        })
        .await??;
        let (done, total) = progress.snapshot();
        let items = ItemProgress { done, total, eta_seconds: Some(0.0) };
        if let Err(e) = self.store.set_item_progress(id, status::RUNNING, 0.9, items).await {
            tracing::warn!(job = id, error = %e, "cannot record progress");
        }
        let key = match &artifact.commitment_key {
            Some(key) => key.clone(),
            None => CommitmentKey::random()?,
        };
        let commitment = B256::from(commit::result_commitment(&key, id, me.into_array(), &artifact.bytes));
        let (path, _) = write_artifact(&self.config.results_dir, id, &artifact, &key, me, commitment)
            .map_err(|e| JobFailure::wrap(FailureCategory::Internal, e))?;
        let summary = artifact.summary.to_string();
        let public = disclosure::public_summary(&job.job.params, &artifact.summary)
            .map_err(|e| JobFailure::wrap(FailureCategory::InvalidJob, e))?;
        if public.len() > MAX_REASON {
            return Err(JobFailure::wrap(
                FailureCategory::InvalidJob,
                anyhow::anyhow!(
                    "the summary fields the params publish take {} bytes; the chain takes at most {MAX_REASON}",
                    public.len()
                ),
            ));
        }
        let commitment_hex = commitment.to_string();
        let path_text = path.display().to_string();
        // The artifact and its key are recorded first, then reported;
        // `completed` in the store means the chain has the commitment too.
        let recorded = JobUpdate {
            status: status::RUNNING,
            progress: 0.95,
            result_commitment: Some(&commitment_hex),
            result_path: Some(&path_text),
            summary: Some(&summary),
            ..JobUpdate::default()
        };
        self.store.update_job(id, &recorded).await?;
        match self.complete_stored(job, &commitment_hex, &summary).await {
            Err(e) if !refused(&e) => {
                // The result is safe in the store; the report is retried later.
                tracing::warn!(job = id, error = %format!("{e:#}"), "completion report pending");
                let pending = JobUpdate { status: status::REPORT_PENDING, progress: 0.95, ..JobUpdate::default() };
                self.store.update_job(id, &pending).await?;
                Ok(())
            }
            Err(e) if wefe_chain_error_named(&e, "RunDeadlinePassed") => Err(JobFailure::wrap(
                FailureCategory::Timeout,
                e.context(format!(
                    "the run deadline (block {}) passed before this node's report",
                    job.job.run_deadline_block
                )),
            )),
            other => other,
        }
    }

    /// Reports a stored result on chain (unless the chain already has it) and
    /// marks the job completed. Only the summary fields the job's params
    /// declare public are sent.
    async fn complete_stored(&self, job: &JobRecord, commitment_hex: &str, summary: &str) -> Result<()> {
        let id = job.job.job_id;
        let commitment: B256 =
            commitment_hex.parse().with_context(|| format!("stored result commitment of job {id} is not a hash"))?;
        let full: serde_json::Value =
            serde_json::from_str(summary).with_context(|| format!("stored summary of job {id} is not JSON"))?;
        // Checked against the size limit before the result was stored.
        let public = disclosure::public_summary(&job.job.params, &full)?;
        let call =
            JobRegistry::reportCompletedCall { jobId: U256::from(id), resultCommitment: commitment, summary: public };
        if let Err(e) = self.send_with_retry(call).await {
            // A report whose receipt was lost may have been mined after all.
            if self.participant_state(id).await != Some(PARTICIPANT_COMPLETED) {
                return Err(e.context("reporting completed on chain"));
            }
        }
        let done = JobUpdate { status: status::COMPLETED, progress: 1.0, ..JobUpdate::default() };
        self.store.update_job(id, &done).await?;
        Ok(())
    }

    /// This member's state for the job on chain (`JobRegistry.ParticipantState`).
    async fn participant_state(&self, id: u64) -> Option<u8> {
        let call = JobRegistry::participantReportCall { jobId: U256::from(id), participant: self.config.member };
        self.gov.call(Target::JobRegistry, call).await.ok().map(|r| r.state)
    }

    /// Sends a report, retrying while the chain node is unreachable (a
    /// contract's refusal is final and returned at once).
    async fn send_with_retry<C: alloy::sol_types::SolCall + Clone>(&self, call: C) -> Result<()> {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=5 {
            let sent = {
                let _one_at_a_time = self.sending.lock().await;
                self.gov.send(Target::JobRegistry, call.clone()).await
            };
            match sent {
                Ok(_) => return Ok(()),
                Err(e @ wefe_chain::ChainError::Reverted { .. }) => return Err(e.into()),
                Err(e) if attempt == 5 => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "chain report failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn progress(&self, id: u64, progress: f64) {
        let update = JobUpdate { status: status::RUNNING, progress, ..JobUpdate::default() };
        if let Err(e) = self.store.update_job(id, &update).await {
            tracing::warn!(job = id, error = %e, "cannot record progress");
        }
    }

    /// Stores and reports a failure; never fails itself (it is the last
    /// resort). The chain gets the category and a commitment to the detail;
    /// the detail and the commitment's key stay in the store.
    async fn fail(&self, id: u64, failure: &JobFailure) {
        let detail = truncate(failure.detail.replace('\n', " "), MAX_DETAIL);
        tracing::warn!(job = id, category = failure.category.name(), reason = %detail, "job failed");
        // Without a random key the detail is reported without a commitment
        // (a known key would let anyone test guesses of it).
        let key = CommitmentKey::random()
            .inspect_err(|e| tracing::error!(job = id, error = %e, "cannot draw a commitment key"))
            .ok();
        let key_hex = key.as_ref().map(CommitmentKey::to_hex);
        let update = JobUpdate {
            status: status::FAILED,
            progress: 1.0,
            error: Some(&detail),
            failure_category: Some(failure.category.name()),
            failure_key: key_hex.as_deref(),
            ..JobUpdate::default()
        };
        if let Err(e) = self.store.update_job(id, &update).await {
            tracing::error!(job = id, error = %e, "cannot record the failure");
        }
        self.report_failure(id, failure.category, key.as_ref(), &detail).await;
    }

    async fn report_failure(&self, id: u64, category: FailureCategory, key: Option<&CommitmentKey>, detail: &str) {
        // Past the run deadline the job is closed as timed out (anyone may), so
        // the chain says what happened; a failure report is the fallback.
        if category == FailureCategory::Timeout
            && let Ok(Some(job)) = self.store.job(id).await
            && job.job.run_deadline_block > 0
            && self.gov.backend().head_block().await.is_ok_and(|head| head > job.job.run_deadline_block)
        {
            match self.send_with_retry(JobRegistry::timeOutCall { jobId: U256::from(id) }).await {
                Ok(()) => return,
                Err(e) if wefe_chain_error_named(&e, "InvalidJobStatus") => return, // already closed
                Err(e) => tracing::warn!(job = id, error = %format!("{e:#}"), "cannot close the job as timed out"),
            }
        }
        let commitment = key.map_or(B256::ZERO, |key| {
            B256::from(commit::failure_commitment(key, id, self.config.member.into_array(), detail))
        });
        let call = JobRegistry::reportFailedCall {
            jobId: U256::from(id),
            category: category as u8,
            detailCommitment: commitment,
        };
        if let Err(e) = self.send_with_retry(call).await {
            if refused(&e) {
                // Typically: another participant failed it first, or it timed out.
                tracing::warn!(job = id, error = %e, "the chain refused the failure report");
            } else {
                tracing::warn!(job = id, error = %e, "failure report pending");
                let pending = JobUpdate { status: status::REPORT_PENDING, progress: 1.0, ..JobUpdate::default() };
                if let Err(e) = self.store.update_job(id, &pending).await {
                    tracing::error!(job = id, error = %e, "cannot record the pending report");
                }
            }
        }
    }

    /// Closes, as timed out, the jobs this node is done with (completed,
    /// failed or with a report pending) whose run deadline passed while
    /// another participant never reported: otherwise they would stay open on
    /// chain until someone else closes them. Each round looks only at the
    /// deadlines that passed since the last round (an indexed range); a
    /// deadline whose closure could not be sent is looked at again.
    async fn close_expired(&self) {
        let Ok(head) = self.gov.backend().head_block().await else { return };
        let after = *self.deadlines_checked.lock().unwrap_or_else(|e| e.into_inner());
        // Deadlines up to `head - 1` have passed (`timeOut` needs head > deadline).
        let upto = head.saturating_sub(1);
        if upto <= after {
            return;
        }
        let jobs = match self.store.jobs_with_run_deadline(after, upto).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the jobs past their run deadline");
                return;
            }
        };
        let mut checked = upto;
        for job in jobs {
            let id = job.job.job_id;
            if ![status::COMPLETED, status::FAILED, status::REPORT_PENDING].contains(&job.status.as_str()) {
                continue; // a running job's own watch closes it; an unclaimed one is failed at launch
            }
            let closed = match self.store.job_events(id).await {
                Ok(events) => events.iter().any(|e| CLOSING_EVENTS.contains(&e.event.as_str())),
                Err(e) => {
                    tracing::warn!(job = id, error = %e, "cannot read the job's events");
                    checked = checked.min(job.job.run_deadline_block.saturating_sub(1));
                    continue;
                }
            };
            if closed {
                continue;
            }
            match self.send_with_retry(JobRegistry::timeOutCall { jobId: U256::from(id) }).await {
                Ok(()) => tracing::warn!(job = id, "run deadline passed without every report: closed as timed out"),
                Err(e) if refused(&e) => {} // closed meanwhile (its event is not indexed yet)
                Err(e) => {
                    tracing::warn!(job = id, error = %format!("{e:#}"), "cannot close the job as timed out");
                    checked = checked.min(job.job.run_deadline_block.saturating_sub(1));
                }
            }
        }
        *self.deadlines_checked.lock().unwrap_or_else(|e| e.into_inner()) = checked;
    }

    /// Sends the reports that could not be sent earlier.
    async fn retry_pending(&self, job: &JobRecord) {
        let id = job.job.job_id;
        match (job.result_commitment.as_deref(), job.summary.as_deref(), job.failure_key.as_deref()) {
            (Some(commitment), Some(summary), None) => match self.complete_stored(job, commitment, summary).await {
                Ok(()) => tracing::info!(job = id, "pending completion reported"),
                Err(e) if refused(&e) => {
                    let failure =
                        JobFailure::new(FailureCategory::Internal, format!("the chain refused the completion: {e:#}"));
                    self.fail(id, &failure).await
                }
                Err(e) => tracing::warn!(job = id, error = %format!("{e:#}"), "completion report still pending"),
            },
            (_, _, Some(key_hex)) => {
                let category = FailureCategory::from_name(job.failure_category.as_deref().unwrap_or_default());
                let detail = job.error.clone().unwrap_or_else(|| "failed".to_owned());
                match CommitmentKey::from_hex(key_hex) {
                    Ok(key) => {
                        let failed = JobUpdate { status: status::FAILED, progress: 1.0, ..JobUpdate::default() };
                        if let Err(e) = self.store.update_job(id, &failed).await {
                            tracing::error!(job = id, error = %e, "cannot record the failure");
                        }
                        self.report_failure(id, category, Some(&key), &detail).await
                    }
                    Err(_) => self.fail(id, &JobFailure::new(category, detail)).await,
                }
            }
            _ => {
                let detail = job.error.clone().unwrap_or_else(|| "failed".to_owned());
                self.fail(id, &JobFailure::new(FailureCategory::Unspecified, detail)).await;
            }
        }
    }
}

/// Removes a job from the running ones when dropped (also on a panic).
struct Registered<'a>(&'a Mutex<HashMap<u64, CancellationToken>>, u64);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.1);
    }
}

/// The participants as gateway peers.
fn peer_ids(participants: &[Address]) -> Vec<wefe_core::PeerId> {
    participants.iter().map(|p| wefe_core::PeerId::from_bytes(p.into_array())).collect()
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The job's own `timeout_secs` (in its approved params; every participant
/// agreed to it) or the node's default.
fn job_timeout(params: &str, default: Duration) -> Duration {
    serde_json::from_str::<serde_json::Value>(params)
        .ok()
        .and_then(|p| p.get("timeout_secs").and_then(serde_json::Value::as_u64))
        .filter(|&secs| secs > 0)
        .map_or(default, Duration::from_secs)
}

/// True when the chain refused the call with the contract error `name`.
fn wefe_chain_error_named(e: &anyhow::Error, name: &str) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<wefe_chain::ChainError>(),
            Some(wefe_chain::ChainError::Reverted { error: Some(error), .. }) if error == name
        )
    })
}

/// True when the chain itself refused the call (retrying cannot help).
fn refused(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<wefe_chain::ChainError>(),
            Some(wefe_chain::ChainError::Reverted { .. } | wefe_chain::ChainError::TxReverted { .. })
        )
    })
}

/// Stores a PSI run's item progress every half second while it runs: ids
/// processed, ids in all, and the seconds left at the rate so far. The job's
/// overall progress moves from 0.2 (inputs read) to 0.9 (protocol done).
async fn record_items(store: Store, id: u64, progress: std::sync::Arc<wefe_mpc::psi::Progress>) {
    let started = std::time::Instant::now();
    let mut last = None;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (done, total) = progress.snapshot();
        if total == 0 || last == Some(done) {
            continue;
        }
        last = Some(done);
        let fraction = done as f64 / total as f64;
        let elapsed = started.elapsed().as_secs_f64();
        let eta_seconds = (done > 0).then(|| (elapsed * (total - done) as f64 / done as f64 * 10.0).round() / 10.0);
        let items = ItemProgress { done, total, eta_seconds };
        if let Err(e) = store.set_item_progress(id, status::RUNNING, 0.2 + 0.7 * fraction, items).await {
            tracing::warn!(job = id, error = %e, "cannot record progress");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_timeout_comes_from_the_params_or_the_node() {
        let node = Duration::from_secs(3600);
        assert_eq!(job_timeout(r#"{"label":"y","timeout_secs":7200}"#, node), Duration::from_secs(7200));
        assert_eq!(job_timeout(r#"{"label":"y"}"#, node), node);
        assert_eq!(job_timeout(r#"{"timeout_secs":0}"#, node), node);
        assert_eq!(job_timeout(r#"{"timeout_secs":"x"}"#, node), node);
        assert_eq!(job_timeout("not json", node), node);
    }
}
