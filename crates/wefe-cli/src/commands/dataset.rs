use alloy::primitives::{Address, B256};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use wefe_chain::bindings::DataRegistry;
use wefe_chain::{AnyBackend, Governance, Target};
use wefe_core::DatasetId;

use super::{collect_pages, text_sha256, variant};
use crate::args::{DatasetCommand, DatasetSelector, GlobalArgs};
use crate::context;
use crate::output::{Output, fields, table};

const VISIBILITY: &str = "DataRegistry.Visibility";
const STATUS: &str = "DataRegistry.DatasetStatus";

pub async fn run(global: &GlobalArgs, cmd: DatasetCommand) -> Result<Output> {
    match cmd {
        DatasetCommand::Register { name, schema, rows, metadata, visibility } => {
            let schema_hash = schema_hash(schema.schema_hash, schema.schema.as_deref())?
                .expect("clap requires one of --schema-hash / --schema");
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::registerCall {
                name: name.to_bytes().into(),
                schemaHash: schema_hash,
                rowCount: rows,
                metadata,
                visibility: visibility.index(),
            };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            let me = context::sender(&gov);
            Ok(Output::tx(
                format!(
                    "dataset {name} registered in your namespace as {name}@{} ({rows} rows, {})",
                    me.to_checksum(None),
                    variant(VISIBILITY, visibility.index())
                ),
                &outcome,
                json!({ "dataset": ref_text(me, name), "name": name.to_string(), "owner": me.to_checksum(None) }),
            ))
        }
        DatasetCommand::Update { name, schema_hash: hash, schema, rows, metadata, visibility } => {
            let new_hash = schema_hash(hash, schema.as_deref())?;
            let describes = new_hash.is_some() || rows.is_some() || metadata.is_some();
            if !describes && visibility.is_none() {
                bail!("nothing to update: give --schema/--schema-hash, --rows, --metadata or --visibility");
            }
            let gov = context::connect(global, true).await?;
            let me = context::sender(&gov);
            let current = get(&gov, me, name).await?;
            let mut done = Vec::new();
            let mut last = None;
            if describes {
                let call = DataRegistry::updateCall {
                    name: name.to_bytes().into(),
                    schemaHash: new_hash.unwrap_or(current.schemaHash),
                    rowCount: rows.unwrap_or(current.rowCount),
                    metadata: metadata.unwrap_or(current.metadata),
                };
                last = Some(gov.send(Target::DataRegistry, call).await?);
                done.push(format!(
                    "description version {} (jobs proposed before cannot be approved any more)",
                    current.version + 1
                ));
            }
            if let Some(v) = visibility {
                let call = DataRegistry::setVisibilityCall { name: name.to_bytes().into(), visibility: v.index() };
                last = Some(gov.send(Target::DataRegistry, call).await?);
                done.push(format!("visibility {}", variant(VISIBILITY, v.index())));
            }
            let outcome = last.expect("at least one transaction was sent");
            Ok(Output::tx(
                format!("dataset {name} updated: {}", done.join(", ")),
                &outcome,
                json!({ "dataset": ref_text(me, name) }),
            ))
        }
        DatasetCommand::Retire { name } => {
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::DataRegistry, DataRegistry::retireCall { name: name.to_bytes().into() }).await?;
            Ok(Output::tx(
                format!("dataset {name} retired"),
                &outcome,
                json!({ "dataset": ref_text(context::sender(&gov), name) }),
            ))
        }
        DatasetCommand::Grant { name, member } => {
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::grantCall { name: name.to_bytes().into(), member };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(
                format!("dataset {name} granted to {}", member.to_checksum(None)),
                &outcome,
                json!({ "dataset": ref_text(context::sender(&gov), name) }),
            ))
        }
        DatasetCommand::Revoke { name, member } => {
            let gov = context::connect(global, true).await?;
            let call = DataRegistry::revokeCall { name: name.to_bytes().into(), member };
            let outcome = gov.send(Target::DataRegistry, call).await?;
            Ok(Output::tx(
                format!("dataset {name}: access of {} revoked", member.to_checksum(None)),
                &outcome,
                json!({ "dataset": ref_text(context::sender(&gov), name) }),
            ))
        }
        DatasetCommand::List { page, owner } => {
            let gov = context::connect(global, false).await?;
            let total = gov.call(Target::DataRegistry, DataRegistry::datasetCountCall {}).await?;
            let owned = |d: &DataRegistry::DatasetSummary| owner.is_some_and(|o| d.owner == o);
            let filter = owner.is_some().then_some(&owned as _);
            let datasets =
                collect_pages(page, total.saturating_to(), 100, filter, |offset, limit| {
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
                        DatasetId::from_bytes(d.name.0).to_string(),
                        d.owner.to_checksum(None),
                        d.rowCount.to_string(),
                        d.version.to_string(),
                        variant(VISIBILITY, d.visibility),
                        variant(STATUS, d.status),
                    ]
                })
                .collect();
            Ok(Output::new(
                table(&["name", "owner", "rows", "version", "visibility", "status"], &rows),
                json!({ "ok": true, "datasets": datasets.iter().map(summary_json).collect::<Vec<_>>() }),
            ))
        }
        DatasetCommand::Show { dataset } => {
            let gov = context::connect(global, false).await?;
            let owner = match dataset.owner {
                Some(owner) => owner,
                None => owner_of_name(global, &gov, dataset).await?,
            };
            let d = get(&gov, owner, dataset.name).await?;
            let text = fields(&[
                ("dataset", ref_text(d.owner, DatasetId::from_bytes(d.name.0))),
                ("name", DatasetId::from_bytes(d.name.0).to_string()),
                ("owner", d.owner.to_checksum(None)),
                ("status", variant(STATUS, d.status)),
                ("visibility", variant(VISIBILITY, d.visibility)),
                ("schema hash", d.schemaHash.to_string()),
                ("rows", d.rowCount.to_string()),
                ("metadata", d.metadata.clone()),
                ("version", d.version.to_string()),
                ("digest", d.digest.to_string()),
                ("registered block", d.registeredBlock.to_string()),
                ("updated block", d.updatedBlock.to_string()),
            ]);
            let mut value = dataset_json(&d);
            value["ok"] = json!(true);
            Ok(Output::new(text, value))
        }
    }
}

/// `NAME@0xowner`, the text form jobs and nodes use.
fn ref_text(owner: Address, name: DatasetId) -> String {
    format!("{name}@{}", owner.to_checksum(None))
}

async fn get(gov: &Governance<AnyBackend>, owner: Address, name: DatasetId) -> Result<DataRegistry::Dataset> {
    Ok(gov.call(Target::DataRegistry, DataRegistry::getDatasetCall { owner, name: name.to_bytes().into() }).await?)
}

/// The owner of a dataset given by name only: the configured account when it
/// has one by that name, else the only member that has one.
async fn owner_of_name(global: &GlobalArgs, gov: &Governance<AnyBackend>, dataset: DatasetSelector) -> Result<Address> {
    if let Ok(Some(signer)) = crate::keys::address_if_configured(global) {
        let mine = DataRegistry::isActiveCall { owner: signer, name: dataset.name.to_bytes().into() };
        if gov.call(Target::DataRegistry, mine).await? || get(gov, signer, dataset.name).await.is_ok() {
            return Ok(signer);
        }
    }
    let total = gov.call(Target::DataRegistry, DataRegistry::datasetCountCall {}).await?;
    let wanted = B256::from(dataset.name.to_bytes());
    let named = |d: &DataRegistry::DatasetSummary| d.name == wanted;
    let all = super::PageArgs { offset: 0, limit: u64::MAX };
    let found = collect_pages(all, total.saturating_to(), 100, Some(&named as _), |offset, limit| async move {
        Ok(gov.call(Target::DataRegistry, DataRegistry::datasetsPageCall { offset, limit }).await?)
    })
    .await?;
    match found.as_slice() {
        [one] => Ok(one.owner),
        [] => bail!("no member has a dataset named {}", dataset.name),
        many => bail!(
            "{} members have a dataset named {}: write NAME@0xOWNER (owners: {})",
            many.len(),
            dataset.name,
            many.iter().map(|d| d.owner.to_checksum(None)).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn schema_hash(hash: Option<B256>, schema: Option<&str>) -> Result<Option<B256>> {
    match (hash, schema) {
        (Some(h), _) => Ok(Some(h)),
        (None, Some(text)) if text.trim().is_empty() => bail!("--schema is empty"),
        (None, Some(text)) => Ok(Some(text_sha256(text))),
        (None, None) => Ok(None),
    }
}

fn summary_json(d: &DataRegistry::DatasetSummary) -> Value {
    let name = DatasetId::from_bytes(d.name.0);
    json!({
        "dataset": ref_text(d.owner, name),
        "name": name.to_string(),
        "owner": d.owner.to_checksum(None),
        "status": variant(STATUS, d.status),
        "visibility": variant(VISIBILITY, d.visibility),
        "schema_hash": d.schemaHash.to_string(),
        "rows": d.rowCount,
        "version": d.version,
        "metadata_hash": d.metadataHash.to_string(),
        "digest": d.digest.to_string(),
        "registered_block": d.registeredBlock,
        "updated_block": d.updatedBlock,
    })
}

fn dataset_json(d: &DataRegistry::Dataset) -> Value {
    let name = DatasetId::from_bytes(d.name.0);
    let metadata: Value = serde_json::from_str(&d.metadata).unwrap_or_else(|_| Value::String(d.metadata.clone()));
    json!({
        "dataset": ref_text(d.owner, name),
        "name": name.to_string(),
        "owner": d.owner.to_checksum(None),
        "status": variant(STATUS, d.status),
        "visibility": variant(VISIBILITY, d.visibility),
        "schema_hash": d.schemaHash.to_string(),
        "rows": d.rowCount,
        "metadata": metadata,
        "version": d.version,
        "digest": d.digest.to_string(),
        "registered_block": d.registeredBlock,
        "updated_block": d.updatedBlock,
    })
}
