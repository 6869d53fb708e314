//! Jobs and datasets as the chain records them, beyond what the views return.
//!
//! A job stores only the keccak-256 of its params; the params themselves (and
//! the digests of the dataset descriptions the proposal binds) are published
//! once, in `JobProposed`. [`read_proposal`] fetches that log and checks it
//! against the stored hash, so a lying RPC node cannot substitute params.
//! [`describe_change`] tells what changed in a dataset since a proposal, from
//! the registry's `DatasetRegistered` / `DatasetUpdated` logs.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEvent;
use wefe_core::{DatasetId, DatasetRef, PeerId};

use crate::bindings::{DataRegistry, JobRegistry};
use crate::{ChainBackend, ChainError, Governance, LogQuery, Result, Target};

/// `JobRegistry.JobStatus` values a job never leaves.
pub const CLOSED_STATUSES: [u8; 6] = [4, 5, 6, 7, 8, 9];
/// `JobRegistry.JobStatus.TimedOut`.
pub const STATUS_TIMED_OUT: u8 = 9;

/// True for a status a job never leaves (Completed, Failed, Rejected,
/// Cancelled, Expired, TimedOut).
pub fn is_closed(status: u8) -> bool {
    CLOSED_STATUSES.contains(&status)
}

/// A job's proposal as `JobProposed` published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProposal {
    /// The job.
    pub job_id: u64,
    /// Its kind.
    pub kind: String,
    /// Who proposed it.
    pub proposer: Address,
    /// Its participants, in order.
    pub participants: Vec<Address>,
    /// Its datasets, in order.
    pub datasets: Vec<DatasetRef>,
    /// The digest of each dataset's description the proposal binds.
    pub digests: Vec<B256>,
    /// The params JSON (its keccak-256 is the job's `paramsHash`).
    pub params: String,
    /// Last block for approvals.
    pub deadline_block: u64,
    /// Blocks from approval to the run deadline.
    pub run_blocks: u64,
    /// Block of the proposal.
    pub block: u64,
    /// Transaction of the proposal.
    pub tx_hash: B256,
}

/// Converts the contract's dataset reference.
pub fn dataset_ref(owner: Address, name: B256) -> DatasetRef {
    DatasetRef { owner: PeerId::from_bytes(owner.into_array()), name: DatasetId::from_bytes(name.0) }
}

/// The contract's form of a dataset reference.
pub fn to_contract_ref(r: &DatasetRef) -> crate::bindings::JobRegistry::DatasetRef {
    crate::bindings::JobRegistry::DatasetRef {
        owner: Address::from(r.owner.to_bytes()),
        name: B256::from(r.name.to_bytes()),
    }
}

/// Reads the `JobProposed` log of `job_id` (mined in `proposed_block`) and
/// checks its params against `params_hash` (the job's stored hash).
pub async fn read_proposal<B: ChainBackend>(
    gov: &Governance<B>,
    job_id: u64,
    proposed_block: u64,
    params_hash: B256,
) -> Result<JobProposal> {
    let logs = gov
        .backend()
        .logs(&LogQuery {
            addresses: vec![gov.address(Target::JobRegistry)],
            from_block: proposed_block,
            to_block: proposed_block,
            event_signatures: vec![JobRegistry::JobProposed::SIGNATURE_HASH],
            topic1: vec![B256::from(U256::from(job_id))],
        })
        .await?;
    let what = || format!("JobProposed of job {job_id} in block {proposed_block}");
    let log = logs
        .iter()
        .find(|l| l.topics.get(1) == Some(&B256::from(U256::from(job_id))))
        .ok_or_else(|| ChainError::Decode { what: what(), message: "the chain node returned no such log".into() })?;
    let event = JobRegistry::JobProposed::decode_raw_log(log.topics.iter().copied(), &log.data)
        .map_err(|e| ChainError::Decode { what: what(), message: e.to_string() })?;
    // The contract hashed them with its KECCAK256 opcode: SM3 on an SM chain.
    if gov.backend().suite().hash(event.params.as_bytes()) != params_hash.0 {
        return Err(ChainError::Decode {
            what: what(),
            message: "its params do not hash to the job's paramsHash (the chain node answered something else)".into(),
        });
    }
    let datasets = event.datasets.iter().map(|d| dataset_ref(d.owner, d.name)).collect::<Vec<_>>();
    if event.datasetDigests.len() != datasets.len() {
        return Err(ChainError::Decode { what: what(), message: "one digest per dataset expected".into() });
    }
    Ok(JobProposal {
        job_id,
        kind: event.kind,
        proposer: event.proposer,
        participants: event.participants,
        datasets,
        digests: event.datasetDigests,
        params: event.params,
        deadline_block: event.deadlineBlock,
        run_blocks: event.runBlocks,
        block: log.block_number,
        tx_hash: log.tx_hash,
    })
}

/// A dataset's description at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Schema hash.
    pub schema_hash: B256,
    /// Row count.
    pub row_count: u64,
    /// Metadata JSON.
    pub metadata: String,
    /// Version (1 at registration).
    pub version: u32,
    /// The registry's digest of it.
    pub digest: B256,
}

/// Every description `dataset` ever had, oldest first, from the registry's
/// logs (registration and updates).
pub async fn descriptions<B: ChainBackend>(gov: &Governance<B>, dataset: &DatasetRef) -> Result<Vec<Description>> {
    let owner = Address::from(dataset.owner.to_bytes());
    let head = gov.backend().head_block().await?;
    let mut out = Vec::new();
    let mut from = gov.contracts().deployed_block;
    while from <= head {
        let to = head.min(from.saturating_add(crate::audit::DEFAULT_CHUNK - 1));
        let logs = gov
            .backend()
            .logs(&LogQuery {
                addresses: vec![gov.address(Target::DataRegistry)],
                from_block: from,
                to_block: to,
                event_signatures: vec![
                    DataRegistry::DatasetRegistered::SIGNATURE_HASH,
                    DataRegistry::DatasetUpdated::SIGNATURE_HASH,
                ],
                topic1: vec![owner.into_word()],
            })
            .await?;
        for log in logs {
            if log.topics.get(2) != Some(&B256::from(dataset.name.to_bytes())) {
                continue;
            }
            let topics = log.topics.iter().copied();
            if let Ok(e) = DataRegistry::DatasetRegistered::decode_raw_log(topics.clone(), &log.data) {
                out.push(Description {
                    schema_hash: e.schemaHash,
                    row_count: e.rowCount,
                    metadata: e.metadata,
                    version: 1,
                    digest: e.digest,
                });
            } else if let Ok(e) = DataRegistry::DatasetUpdated::decode_raw_log(topics, &log.data) {
                out.push(Description {
                    schema_hash: e.schemaHash,
                    row_count: e.rowCount,
                    metadata: e.metadata,
                    version: e.version,
                    digest: e.digest,
                });
            }
        }
        from = to + 1;
    }
    Ok(out)
}

/// What changed between two descriptions, for a human: `rows 10000 → 12000;
/// schema hash 0x… → 0x…; metadata changed` (version first).
pub fn diff(before: &Description, after: &Description) -> String {
    let mut parts = vec![format!("version {} → {}", before.version, after.version)];
    if before.row_count != after.row_count {
        parts.push(format!("rows {} → {}", before.row_count, after.row_count));
    }
    if before.schema_hash != after.schema_hash {
        parts.push(format!("schema hash {} → {}", before.schema_hash, after.schema_hash));
    }
    if before.metadata != after.metadata {
        parts.push("metadata changed".into());
    }
    parts.join("; ")
}

/// For each dataset of a proposal whose description changed since, one line
/// saying what changed (empty when none changed).
pub async fn describe_change<B: ChainBackend>(gov: &Governance<B>, proposal: &JobProposal) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for (dataset, bound) in proposal.datasets.iter().zip(&proposal.digests) {
        let current = gov
            .call(
                Target::DataRegistry,
                DataRegistry::getDatasetCall {
                    owner: Address::from(dataset.owner.to_bytes()),
                    name: B256::from(dataset.name.to_bytes()),
                },
            )
            .await?;
        if current.digest == *bound {
            continue;
        }
        let history = descriptions(gov, dataset).await?;
        let before = history.iter().find(|d| d.digest == *bound);
        let after = history.iter().find(|d| d.digest == current.digest);
        lines.push(match (before, after) {
            (Some(b), Some(a)) => format!("dataset {dataset} changed since the proposal: {}", diff(b, a)),
            _ => format!(
                "dataset {dataset} changed since the proposal (now version {}; the proposal bound digest {bound})",
                current.version
            ),
        });
    }
    Ok(lines)
}

pub use wefe_core::job::check_params_json;
