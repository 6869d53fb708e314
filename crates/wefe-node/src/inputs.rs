//! A job's input on this node: the one dataset of this member among the
//! job's datasets, imported here and read by its id column — after checking
//! that the chain registered it for this member with the description the
//! job's proposal bound, and the same schema hash and row count as the file,
//! so a node never runs on data other than what the participants approved.

use alloy::primitives::{Address, B256};
use anyhow::{Context, Result};
use std::path::Path;
use wefe_chain::bindings::DataRegistry;
use wefe_chain::{ChainBackend, Governance, Target};
use wefe_core::{DatasetRef, PeerId};

use crate::disclosure::{FailureCategory, JobFailure};

use wefe_store::{DatasetRecord, JobRecord, Store};

use crate::scheduler::{ColumnRequest, JobInputs, NumericTable};

/// Reads ids from the node's imported datasets.
#[derive(Debug)]
pub struct LocalDatasets<B> {
    store: Store,
    gov: Governance<B>,
    member: Address,
}

impl<B> LocalDatasets<B> {
    /// Datasets recorded in `store`, checked against the chain behind `gov`.
    pub fn new(store: Store, gov: Governance<B>, member: Address) -> Self {
        Self { store, gov, member }
    }
}

impl<B: ChainBackend + 'static> LocalDatasets<B> {
    /// The one job dataset of this member imported here, checked against the
    /// chain: registered by this member, with the description the job's
    /// proposal bound, and the same schema hash and row count as the file.
    async fn checked(&self, job: &JobRecord) -> Result<DatasetRecord> {
        let id = job.job.job_id;
        let input = |message: String| JobFailure::wrap(FailureCategory::Input, anyhow::anyhow!(message));
        let named: Vec<String> = serde_json::from_str(&job.job.datasets)
            .with_context(|| format!("stored datasets of job {id} are not a JSON list"))?;
        let digests: Vec<String> = serde_json::from_str(&job.job.dataset_digests)
            .with_context(|| format!("stored dataset digests of job {id} are not a JSON list"))?;
        let me = PeerId::from_bytes(self.member.into_array());
        let mut mine = Vec::new();
        for (i, text) in named.iter().enumerate() {
            let r = DatasetRef::parse(text).map_err(|e| anyhow::anyhow!("stored dataset of job {id}: {e}"))?;
            if r.owner == me {
                mine.push((r, digests.get(i).cloned()));
            }
        }
        let (dataset, bound) = match mine.len() {
            1 => mine.remove(0),
            0 => {
                return Err(input(format!(
                    "none of the job's datasets ({}) belongs to this member",
                    if named.is_empty() { "none named".to_owned() } else { named.join(", ") }
                )));
            }
            n => {
                return Err(JobFailure::wrap(
                    FailureCategory::InvalidJob,
                    anyhow::anyhow!("the job names {n} datasets of this member; a party brings one"),
                ));
            }
        };
        let name = dataset.name;
        let Some(record) = self.store.dataset(&name.to_string()).await? else {
            return Err(input(format!("dataset {name} is not imported on this node (POST /datasets)")));
        };
        let on_chain = self
            .gov
            .call(
                Target::DataRegistry,
                DataRegistry::getDatasetCall { owner: self.member, name: B256::from(name.to_bytes()) },
            )
            .await
            .with_context(|| format!("reading dataset {dataset} from the chain"))?;
        if let Some(bound) = bound
            && on_chain.digest.to_string() != bound
        {
            return Err(input(format!(
                "dataset {name} changed on chain since the job was proposed (now version {}): the job runs only \
                 on the description its participants approved",
                on_chain.version
            )));
        }
        if on_chain.schemaHash.to_string() != record.schema_hash {
            return Err(input(format!(
                "dataset {name}: the imported file's schema hash {} is not the one registered on chain ({})",
                record.schema_hash, on_chain.schemaHash
            )));
        }
        if on_chain.rowCount != record.row_count {
            return Err(input(format!(
                "dataset {name}: the imported file has {} rows, the chain registered {}",
                record.row_count, on_chain.rowCount
            )));
        }
        Ok(record)
    }
}

impl<B: ChainBackend + 'static> JobInputs for LocalDatasets<B> {
    async fn peer_rows(&self, job: &JobRecord) -> Result<Option<std::collections::HashMap<PeerId, u64>>> {
        let id = job.job.job_id;
        let named: Vec<String> = serde_json::from_str(&job.job.datasets)
            .with_context(|| format!("stored datasets of job {id} are not a JSON list"))?;
        let digests: Vec<String> = serde_json::from_str(&job.job.dataset_digests)
            .with_context(|| format!("stored dataset digests of job {id} are not a JSON list"))?;
        let me = PeerId::from_bytes(self.member.into_array());
        let mut rows = std::collections::HashMap::new();
        for (i, text) in named.iter().enumerate() {
            let r = DatasetRef::parse(text).map_err(|e| anyhow::anyhow!("stored dataset of job {id}: {e}"))?;
            if r.owner == me {
                continue;
            }
            let call = DataRegistry::getDatasetCall {
                owner: Address::from(r.owner.to_bytes()),
                name: B256::from(r.name.to_bytes()),
            };
            let on_chain = self
                .gov
                .call(Target::DataRegistry, call)
                .await
                .with_context(|| format!("reading dataset {r} from the chain"))?;
            // Only the description the proposal bound counts: a peer that
            // changed it since (to register more rows, say) is refused.
            if digests.get(i).is_none_or(|bound| *bound != on_chain.digest.to_string()) {
                return Err(JobFailure::wrap(
                    FailureCategory::Peer,
                    anyhow::anyhow!(
                        "dataset {r} changed on chain since the job was proposed (now version {}): its \
                         owner's set cannot be checked against what was approved",
                        on_chain.version
                    ),
                ));
            }
            // A peer with two datasets in the job may bring the larger.
            let entry = rows.entry(r.owner).or_insert(0u64);
            *entry = (*entry).max(on_chain.rowCount);
        }
        Ok(Some(rows))
    }

    async fn ids(&self, job: &JobRecord) -> Result<Vec<Vec<u8>>> {
        let record = self.checked(job).await?;
        let path = record.path.clone();
        let column = record.id_column.clone();
        tokio::task::spawn_blocking(move || read_ids(&path, &column))
            .await
            .context("reading the dataset")?
            .map_err(|e| JobFailure::wrap(FailureCategory::Input, e))
    }

    async fn table(&self, job: &JobRecord, request: &ColumnRequest) -> Result<NumericTable> {
        let record = self.checked(job).await?;
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            crate::ml::read_table(&record.dataset_id, Path::new(&record.path), &record.id_column, &request)
        })
        .await
        .context("reading the dataset")?
        .map_err(|e| JobFailure::wrap(FailureCategory::Input, e))
    }
}

/// The values of `column` in the CSV at `path` (validated at import).
fn read_ids(path: &str, column: &str) -> Result<Vec<Vec<u8>>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open dataset file {path}"))?;
    let headers = reader.byte_headers().with_context(|| format!("cannot read the header of {path}"))?.clone();
    let index = headers
        .iter()
        .position(|h| String::from_utf8_lossy(h).trim() == column)
        .with_context(|| format!("{path} has no column '{column}'"))?;
    let mut ids = Vec::new();
    for (line, record) in reader.byte_records().enumerate() {
        let record = record.with_context(|| format!("{path}: cannot read row {}", line + 2))?;
        let id = record.get(index).with_context(|| format!("{path}: row {} has no '{column}'", line + 2))?;
        ids.push(id.to_vec());
    }
    Ok(ids)
}
