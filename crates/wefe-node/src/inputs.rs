//! A job's input on this node: the one dataset among the job's datasets that
//! was imported here, read by its id column — after checking that the chain
//! registered it for this member with the same schema hash and row count, so
//! a node never runs on data other than what the participants approved.

use alloy::primitives::{Address, B256};
use anyhow::{Context, Result, bail};
use std::path::Path;
use wefe_chain::bindings::DataRegistry;
use wefe_chain::{ChainBackend, Governance, Target};
use wefe_core::DatasetId;

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
    /// The one job dataset imported here, checked against the chain.
    async fn checked(&self, job: &JobRecord) -> Result<DatasetRecord> {
        let named: Vec<String> = serde_json::from_str(&job.job.datasets)
            .with_context(|| format!("stored datasets of job {} are not a JSON list", job.job.job_id))?;
        let mut local = Vec::new();
        for id in &named {
            if let Some(record) = self.store.dataset(id).await? {
                local.push(record);
            }
        }
        let record = match local.len() {
            1 => local.remove(0),
            0 => bail!(
                "none of the job's datasets ({}) is imported on this node",
                if named.is_empty() { "none named".to_owned() } else { named.join(", ") }
            ),
            _ => bail!("more than one of the job's datasets is imported on this node; a party brings one"),
        };
        let id = DatasetId::parse(&record.dataset_id).map_err(|e| anyhow::anyhow!("{e}"))?;
        let on_chain = self
            .gov
            .call(Target::DataRegistry, DataRegistry::getDatasetCall { datasetId: B256::from(id.to_bytes()) })
            .await
            .with_context(|| format!("reading dataset {id} from the chain"))?;
        if on_chain.owner != self.member {
            bail!("dataset {id} is registered on chain by {}, not by this member", on_chain.owner);
        }
        if on_chain.schemaHash.to_string() != record.schema_hash {
            bail!(
                "dataset {id}: the imported file's schema hash {} is not the one registered on chain ({})",
                record.schema_hash,
                on_chain.schemaHash
            );
        }
        if on_chain.rowCount != record.row_count {
            bail!(
                "dataset {id}: the imported file has {} rows, the chain registered {}",
                record.row_count,
                on_chain.rowCount
            );
        }
        Ok(record)
    }
}

impl<B: ChainBackend + 'static> JobInputs for LocalDatasets<B> {
    async fn ids(&self, job: &JobRecord) -> Result<Vec<Vec<u8>>> {
        let record = self.checked(job).await?;
        let path = record.path.clone();
        let column = record.id_column.clone();
        tokio::task::spawn_blocking(move || read_ids(&path, &column)).await.context("reading the dataset")?
    }

    async fn table(&self, job: &JobRecord, request: &ColumnRequest) -> Result<NumericTable> {
        let record = self.checked(job).await?;
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            crate::ml::read_table(&record.dataset_id, Path::new(&record.path), &record.id_column, &request)
        })
        .await
        .context("reading the dataset")?
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
