//! The audit trail is the event log: every state change of the four contracts
//! emits an event. This module reads it straight from a chain node — no wefe
//! node and no index needed, only an RPC URL — and turns it into timelines.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

use crate::abi::decode_event;
use crate::{ChainBackend, ChainLog, Governance, LogQuery, Result, Target};

/// Blocks per `eth_getLogs` call: public nodes cap ranges (often at 10 000).
pub const DEFAULT_CHUNK: u64 = 5_000;

/// One contract event in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    /// Block number.
    pub block: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Position in the block.
    pub log_index: u64,
    /// Emitting contract.
    pub contract: String,
    /// Event name.
    pub event: String,
    /// Decoded fields, formatted for humans, in declaration order.
    pub fields: Vec<(String, String)>,
    /// The account that sent the transaction.
    pub actor: Option<Address>,
    /// The block's timestamp (Unix seconds), when the query asked for it
    /// ([`AuditQuery::block_times`]).
    pub time: Option<u64>,
}

impl AuditEvent {
    /// One field by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// True when `account` sent the transaction or appears in any field.
    pub fn involves(&self, account: Address) -> bool {
        let text = account.to_checksum(None);
        self.actor == Some(account) || self.fields.iter().any(|(_, v)| v.contains(&text))
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// First block (inclusive); defaults to the deployment block.
    pub from_block: Option<u64>,
    /// Last block (inclusive); defaults to the head.
    pub to_block: Option<u64>,
    /// Only these contracts (empty: all four).
    pub contracts: Vec<Target>,
    /// Only logs whose first indexed field is this (e.g. a job id).
    pub topic1: Option<B256>,
    /// Blocks per log request.
    pub chunk: u64,
    /// Also read each block's timestamp (one more request per block with events).
    pub block_times: bool,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            from_block: None,
            to_block: None,
            contracts: Vec::new(),
            topic1: None,
            chunk: DEFAULT_CHUNK,
            block_times: false,
        }
    }
}

/// Reads the contracts' events in `query`'s range, in chain order, with the
/// sender of each transaction. `progress(done, total)` is called after each
/// chunk of blocks (for long scans).
pub async fn scan<B: ChainBackend>(
    gov: &Governance<B>,
    query: &AuditQuery,
    mut progress: impl FnMut(u64, u64),
) -> Result<Vec<AuditEvent>> {
    let backend = gov.backend();
    let from = query.from_block.unwrap_or(gov.contracts().deployed_block);
    let to = match query.to_block {
        Some(to) => to,
        None => backend.head_block().await?,
    };
    if from > to {
        return Ok(Vec::new());
    }
    let targets: Vec<Target> = if query.contracts.is_empty() {
        vec![Target::Consortium, Target::CertificateRegistry, Target::DataRegistry, Target::JobRegistry]
    } else {
        query.contracts.clone()
    };
    let chunk = query.chunk.max(1);
    let total = to - from + 1;
    let mut logs: Vec<ChainLog> = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.saturating_add(chunk - 1).min(to);
        let part = backend
            .logs(&LogQuery {
                addresses: targets.iter().map(|t| gov.address(*t)).collect(),
                from_block: start,
                to_block: end,
                event_signatures: Vec::new(),
                topic1: query.topic1.into_iter().collect(),
            })
            .await?;
        logs.extend(part);
        progress(end - from + 1, total);
        if end == u64::MAX {
            break;
        }
        start = end + 1;
    }
    logs.sort_by_key(|l| (l.block_number, l.log_index));

    let mut senders: HashMap<B256, Option<Address>> = HashMap::new();
    let mut times: HashMap<u64, Option<u64>> = HashMap::new();
    let mut events = Vec::with_capacity(logs.len());
    for log in &logs {
        let Some(decoded) = decode_event(log) else { continue };
        let actor = match senders.get(&log.tx_hash) {
            Some(actor) => *actor,
            None => {
                let actor = backend.transaction_sender(log.tx_hash).await?;
                senders.insert(log.tx_hash, actor);
                actor
            }
        };
        let time = if query.block_times {
            match times.get(&log.block_number) {
                Some(t) => *t,
                None => {
                    let t = backend.block_time(log.block_number).await?;
                    times.insert(log.block_number, t);
                    t
                }
            }
        } else {
            None
        };
        events.push(AuditEvent {
            block: log.block_number,
            tx_hash: log.tx_hash,
            log_index: log.log_index,
            contract: decoded.contract,
            event: decoded.event,
            fields: decoded.fields,
            actor,
            time,
        });
    }
    Ok(events)
}

/// The timeline of job `job_id`: proposal, each approval or rejection, the
/// approval itself (the launch trigger), each report and the outcome.
pub async fn job_timeline<B: ChainBackend>(
    gov: &Governance<B>,
    job_id: u64,
    progress: impl FnMut(u64, u64),
) -> Result<Vec<AuditEvent>> {
    let query = AuditQuery {
        contracts: vec![Target::JobRegistry],
        topic1: Some(B256::from(U256::from(job_id))),
        ..AuditQuery::default()
    };
    scan(gov, &query, progress).await
}
