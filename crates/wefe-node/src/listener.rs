//! The chain follower (`EventCursor`): reads the governance contracts' logs
//! from the last processed block, `confirmations` blocks behind the head, and
//! applies each chunk in one store transaction — the audit index rows, the
//! jobs that name this member, and the cursor that says the chunk is done. A
//! crash therefore never loses an event and a restart never records a job
//! twice (the job id is unique in the store).
//!
//! Reorgs: before reading on, the cursor's block hash is compared with the
//! chain's. If they differ, the follower rewinds to the newest indexed block
//! whose hash still matches, forgets the index after it, and reads again.
//! Jobs recorded from an approval that a reorg removed are forgotten if they
//! have not started (the new chain may approve them again); a job already
//! running cannot be undone, so run with `confirmations` deeper than the
//! chain's reorgs (0 is for anvil).

use std::collections::HashMap;

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolEvent;
use anyhow::{Context, Result, bail};
use wefe_chain::abi::decode_event;
use wefe_chain::bindings::JobRegistry;
use wefe_chain::jobs::read_proposal;
use wefe_chain::{ChainBackend, ChainLog, Governance, LogQuery, Target};
use wefe_store::{Cursor, EventRecord, NewJob, Store};

/// The store's name for this follower's cursor.
pub const CURSOR: &str = "chain";

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Blocks `from..=to` applied: `events` indexed, `jobs` new jobs for this member.
    Applied {
        /// First block.
        from: u64,
        /// Last block.
        to: u64,
        /// Events indexed.
        events: usize,
        /// New jobs naming this member.
        jobs: Vec<u64>,
    },
    /// Nothing new below `head - confirmations`.
    CaughtUp {
        /// The cursor's block.
        at: u64,
    },
    /// A reorg was found; the index was rewound to `to`.
    Rewound {
        /// The block the index now ends at.
        to: u64,
    },
}

/// Follows the chain for one member.
#[derive(Debug)]
pub struct Listener<B> {
    gov: Governance<B>,
    store: Store,
    member: Address,
    confirmations: u64,
    chunk: u64,
    /// The head the last step read (0: none yet).
    last_head: std::sync::atomic::AtomicU64,
}

impl<B: ChainBackend> Listener<B> {
    /// A follower for `member`, reading at most `chunk` blocks per step.
    pub fn new(gov: Governance<B>, store: Store, member: Address, confirmations: u64, chunk: u64) -> Self {
        Self { gov, store, member, confirmations, chunk: chunk.max(1), last_head: Default::default() }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The contracts it follows.
    pub fn gov(&self) -> &Governance<B> {
        &self.gov
    }

    /// The chain head the last step read, if one did.
    pub fn last_head(&self) -> Option<u64> {
        Some(self.last_head.load(std::sync::atomic::Ordering::Relaxed)).filter(|h| *h > 0)
    }

    /// Applies the next chunk of confirmed blocks, or notices a reorg.
    pub async fn step(&self) -> Result<Step> {
        let backend = self.gov.backend();
        let head = backend.head_block().await?;
        self.last_head.store(head, std::sync::atomic::Ordering::Relaxed);
        let safe = head.saturating_sub(self.confirmations);
        let next = match self.store.cursor(CURSOR).await? {
            Some(cursor) => {
                // A node that lags behind our cursor (or load-balances between
                // nodes) is not a reorg: wait for it instead of rewinding.
                let canonical = backend.block_hash(cursor.block_number).await?.with_context(|| {
                    format!("the chain node has no block {} yet (lagging behind the cursor?)", cursor.block_number)
                })?;
                if canonical.to_string() != cursor.block_hash {
                    return self.rewind(cursor.block_number).await;
                }
                cursor.block_number + 1
            }
            None => self.gov.contracts().deployed_block,
        };
        if next > safe {
            return Ok(Step::CaughtUp { at: next.saturating_sub(1) });
        }
        let to = safe.min(next.saturating_add(self.chunk - 1));
        // The hash of the chunk's last block is read before and after the logs:
        // if a reorg lands in between, the chunk is read again.
        let to_hash = backend.block_hash(to).await?.with_context(|| format!("the chain node has no block {to}"))?;
        let mut logs = backend
            .logs(&LogQuery {
                addresses: [Target::Consortium, Target::CertificateRegistry, Target::DataRegistry, Target::JobRegistry]
                    .iter()
                    .map(|t| self.gov.address(*t))
                    .collect(),
                from_block: next,
                to_block: to,
                ..LogQuery::default()
            })
            .await?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        if backend.block_hash(to).await? != Some(to_hash) {
            bail!("the chain reorganised while blocks {next}..={to} were read; reading them again");
        }
        if let Some(log) = logs.iter().find(|l| l.block_hash.is_none()) {
            bail!(
                "the chain node returned a log without a block hash (block {}, tx {})",
                log.block_number,
                log.tx_hash
            );
        }

        let mut senders: HashMap<B256, Option<Address>> = HashMap::new();
        for log in &logs {
            if let std::collections::hash_map::Entry::Vacant(e) = senders.entry(log.tx_hash) {
                e.insert(backend.transaction_sender(log.tx_hash).await?);
            }
        }
        // The jobs this chunk approves for this member, with their params and
        // dataset digests from `JobProposed`: read before the store transaction,
        // so a failed read leaves nothing half-applied.
        let mut approved = HashMap::new();
        for log in &logs {
            if log.topics.first() == Some(&JobRegistry::JobApproved::SIGNATURE_HASH)
                && log.address == self.gov.address(Target::JobRegistry)
                && let Some(job) = self.job_for_me(log).await?
            {
                approved.insert((log.block_number, log.log_index), job);
            }
        }

        let mut tx = self.store.begin().await?;
        let mut events = 0;
        let mut jobs = Vec::new();
        let mut replayed = Vec::new();
        for log in &logs {
            let Some(record) = self.record(log, senders.get(&log.tx_hash).copied().flatten()) else {
                tracing::warn!(block = log.block_number, tx = %log.tx_hash, "log of a wefe contract that no ABI event matches");
                continue;
            };
            Store::insert_event(&mut tx, &record).await?;
            events += 1;
            if record.event == "JobApproved"
                && let Some(job) = approved.remove(&(log.block_number, log.log_index))
            {
                if Store::insert_job(&mut tx, &job).await? {
                    jobs.push(job.job_id);
                } else {
                    replayed.push(job); // recorded before a crash or a reorg
                }
            }
        }
        Store::set_cursor(&mut tx, CURSOR, &Cursor { block_number: to, block_hash: to_hash.to_string() }).await?;
        tx.commit().await?;
        // A job id approved again with other content means a reorg replaced an
        // approval whose job had already started: it cannot be undone here.
        for job in replayed {
            if let Some(stored) = self.store.job(job.job_id).await?
                && stored.job != job
            {
                tracing::error!(
                    job = job.job_id,
                    status = %stored.status,
                    "the chain re-approved this job id with different content after a reorg; the node keeps the job it already started"
                );
            }
        }
        Ok(Step::Applied { from: next, to, events, jobs })
    }

    /// Rewinds the index to the newest indexed block still on the chain.
    async fn rewind(&self, from: u64) -> Result<Step> {
        let backend = self.gov.backend();
        let mut keep = self.gov.contracts().deployed_block.saturating_sub(1);
        let mut keep_hash = None;
        for (block, hash) in self.store.indexed_blocks(from, 10_000).await? {
            let canonical = backend.block_hash(block).await?;
            if canonical.map(|h| h.to_string()) == Some(hash.clone()) {
                keep = block;
                keep_hash = canonical;
                break;
            }
        }
        let keep_hash = match keep_hash {
            Some(h) => h,
            None => backend
                .block_hash(keep)
                .await?
                .with_context(|| format!("the chain node has no block {keep} to rewind to"))?,
        };
        let mut tx = self.store.begin().await?;
        let forgotten = Store::delete_events_after(&mut tx, keep).await?;
        let dropped_jobs = Store::delete_unstarted_jobs_after(&mut tx, keep).await?;
        Store::set_cursor(&mut tx, CURSOR, &Cursor { block_number: keep, block_hash: keep_hash.to_string() }).await?;
        tx.commit().await?;
        tracing::warn!(from, to = keep, forgotten, ?dropped_jobs, "chain reorganised: index rewound");
        Ok(Step::Rewound { to: keep })
    }

    fn record(&self, log: &ChainLog, actor: Option<Address>) -> Option<EventRecord> {
        let decoded = decode_event(log)?;
        let job_id = (decoded.contract == Target::JobRegistry.name())
            .then(|| decoded.field("jobId").and_then(|v| v.parse().ok()))
            .flatten();
        Some(EventRecord {
            block_number: log.block_number,
            log_index: log.log_index,
            block_hash: log.block_hash.unwrap_or_default().to_string(),
            tx_hash: log.tx_hash.to_string(),
            contract: decoded.contract.clone(),
            // Addresses are stored lowercase everywhere (see the migration).
            contract_address: format!("{:#x}", log.address),
            event: decoded.event.clone(),
            actor: actor.map(|a| format!("{a:#x}")),
            job_id,
            fields: decoded.fields_json().to_string(),
        })
    }

    /// The job a `JobApproved` log announces, when it names this member: its
    /// params and dataset digests come from `JobProposed`, checked against the
    /// params hash the approval carries.
    async fn job_for_me(&self, log: &ChainLog) -> Result<Option<NewJob>> {
        let event = JobRegistry::JobApproved::decode_raw_log(log.topics.iter().copied(), &log.data)
            .with_context(|| format!("malformed JobApproved in tx {}", log.tx_hash))?;
        if !event.participants.contains(&self.member) {
            return Ok(None);
        }
        let job_id = u64::try_from(event.jobId).context("job id beyond 2^64")?;
        let job = self.gov.call(Target::JobRegistry, JobRegistry::getJobCall { jobId: event.jobId }).await?;
        if job.paramsHash != event.paramsHash {
            bail!("job {job_id}: the chain's params hash differs from its JobApproved event");
        }
        let participants: Vec<String> = event.participants.iter().map(|p| format!("{p:#x}")).collect();
        let datasets: Vec<String> =
            event.datasets.iter().map(|d| wefe_chain::jobs::dataset_ref(d.owner, d.name).to_string()).collect();
        let (params, digests) = match read_proposal(&self.gov, job_id, job.proposedBlock, event.paramsHash).await {
            Ok(proposal) => {
                if proposal.datasets.iter().map(ToString::to_string).collect::<Vec<_>>() != datasets {
                    bail!("job {job_id}: the datasets of JobProposed and JobApproved differ");
                }
                (proposal.params, proposal.digests.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            }
            // A proposal whose params cannot be read as the contract hashed
            // them (not UTF-8, or the node has no such log) can never run:
            // the job is recorded without params, and fails as invalid,
            // instead of stalling the follower.
            Err(e @ wefe_chain::ChainError::Decode { .. }) => {
                tracing::error!(job = job_id, error = %e, "cannot read the job's proposal; it will fail as invalid");
                (String::new(), Vec::new())
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading the proposal of job {job_id}"))),
        };
        Ok(Some(NewJob {
            job_id,
            kind: event.kind,
            params,
            participants: serde_json::to_string(&participants)?,
            datasets: serde_json::to_string(&datasets)?,
            dataset_digests: serde_json::to_string(&digests)?,
            approved_block: log.block_number,
            run_deadline_block: event.runDeadlineBlock,
        }))
    }
}
