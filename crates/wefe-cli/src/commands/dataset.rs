use alloy::primitives::B256;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::bindings::DataRegistry;
use wefe_chain::{EthereumBackend, Governance, Target};
use wefe_core::DatasetId;

use super::{collect_pages, text_sha256, variant};
use crate::args::{DatasetCommand, GlobalArgs, VisibilityArg};
use crate::context;
use crate::output::{Output, fields, table};

const VISIBILITY: &str = "DataRegistry.Visibility";
const STATUS: &str = "DataRegistry.DatasetStatus";

pub async fn run(global: &GlobalArgs, cmd: DatasetCommand) -> Result<Output> {
    match cmd {
        DatasetCommand::Register { id, schema, rows, metadata, visibility } => {
            let schema_hash = schema_hash(schema.schema_hash, schema.schema.as_deref())?
                .expect("clap requires one of --schema-hash / --schema");
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::registerCall {
                datasetId: id.to_bytes().into(),
                schemaHash: schema_hash,
                rowCount: rows,
                metadata,
                visibility: visibility.index(),
            };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(
                format!("dataset {id} registered ({rows} rows, {})", variant(VISIBILITY, visibility.index())),
                &outcome,
                json!({ "dataset_id": id.to_string() }),
            ))
        }
        DatasetCommand::Update { id, schema_hash: hash, schema, rows, metadata, visibility } => {
            let new_hash = schema_hash(hash, schema.as_deref())?;
            if new_hash.is_none() && rows.is_none() && metadata.is_none() && visibility.is_none() {
                bail!("nothing to update: give --schema/--schema-hash, --rows, --metadata or --visibility");
            }
            let gov = context::connect(global, true).await?;
            let current = get(&gov, id).await?;
            let call = DataRegistry::updateCall {
                datasetId: id.to_bytes().into(),
                schemaHash: new_hash.unwrap_or(current.schemaHash),
                rowCount: rows.unwrap_or(current.rowCount),
                metadata: metadata.unwrap_or(current.metadata),
                visibility: visibility.map(VisibilityArg::index).unwrap_or(current.visibility),
            };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(format!("dataset {id} updated"), &outcome, json!({ "dataset_id": id.to_string() })))
        }
        DatasetCommand::Retire { id } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::DataRegistry, DataRegistry::retireCall { datasetId: id.to_bytes().into() }).await?;
            Ok(Output::tx(format!("dataset {id} retired"), &outcome, json!({ "dataset_id": id.to_string() })))
        }
        DatasetCommand::Grant { id, member } => {
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::grantCall { datasetId: id.to_bytes().into(), member };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(
                format!("dataset {id} granted to {}", member.to_checksum(None)),
                &outcome,
                json!({ "dataset_id": id.to_string() }),
            ))
        }
        DatasetCommand::Revoke { id, member } => {
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::revokeCall { datasetId: id.to_bytes().into(), member };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(
                format!("dataset {id}: access of {} revoked", member.to_checksum(None)),
                &outcome,
                json!({ "dataset_id": id.to_string() }),
            ))
        }
        DatasetCommand::List { page, owner } => {
            let gov = context::connect(global, false).await?;
            let total = gov.call(Target::DataRegistry, DataRegistry::datasetCountCall {}).await?;
            let owned = |d: &DataRegistry::Dataset| owner.is_some_and(|o| d.owner == o);
            let filter = owner.is_some().then_some(&owned as _);
            let datasets =
                collect_pages(page, total.saturating_to(), filter, |offset, limit| {
                    let gov = &gov;
                    async move {
                        Ok(gov.call(Target::DataRegistry, DataRegistry::datasetsPageCall { offset, limit }).await?)
                    }
                })
                .await?;
            let rows: Vec<Vec<String>> = datasets
                .iter()
                .map(|d| {
                    vec![
                        DatasetId::from_bytes(d.id.0).to_string(),
                        d.owner.to_checksum(None),
                        d.rowCount.to_string(),
                        variant(VISIBILITY, d.visibility),
                        variant(STATUS, d.status),
                    ]
                })
                .collect();
            Ok(Output::new(
                table(&["id", "owner", "rows", "visibility", "status"], &rows),
                json!({ "ok": true, "datasets": datasets.iter().map(dataset_json).collect::<Vec<_>>() }),
            ))
        }
        DatasetCommand::Show { id } => {
            let gov = context::connect(global, false).await?;
            let d = get(&gov, id).await?;
            let text = fields(&[
                ("id", DatasetId::from_bytes(d.id.0).to_string()),
                ("owner", d.owner.to_checksum(None)),
                ("status", variant(STATUS, d.status)),
                ("visibility", variant(VISIBILITY, d.visibility)),
                ("schema hash", d.schemaHash.to_string()),
                ("rows", d.rowCount.to_string()),
                ("metadata", d.metadata.clone()),
                ("registered block", d.registeredBlock.to_string()),
                ("updated block", d.updatedBlock.to_string()),
            ]);
            let mut value = dataset_json(&d);
            value["ok"] = json!(true);
            Ok(Output::new(text, value))
        }
    }
}

async fn get(gov: &Governance<EthereumBackend>, id: DatasetId) -> Result<DataRegistry::Dataset> {
    Ok(gov.call(Target::DataRegistry, DataRegistry::getDatasetCall { datasetId: id.to_bytes().into() }).await?)
}

fn schema_hash(hash: Option<B256>, schema: Option<&str>) -> Result<Option<B256>> {
    match (hash, schema) {
        (Some(h), _) => Ok(Some(h)),
        (None, Some(text)) if text.trim().is_empty() => bail!("--schema is empty"),
        (None, Some(text)) => Ok(Some(text_sha256(text))),
        (None, None) => Ok(None),
    }
}

fn dataset_json(d: &DataRegistry::Dataset) -> Value {
    let metadata: Value = serde_json::from_str(&d.metadata).unwrap_or_else(|_| Value::String(d.metadata.clone()));
    json!({
        "id": DatasetId::from_bytes(d.id.0).to_string(),
        "owner": d.owner.to_checksum(None),
        "status": variant(STATUS, d.status),
        "visibility": variant(VISIBILITY, d.visibility),
        "schema_hash": d.schemaHash.to_string(),
        "rows": d.rowCount,
        "metadata": metadata,
        "registered_block": d.registeredBlock,
        "updated_block": d.updatedBlock,
    })
}
