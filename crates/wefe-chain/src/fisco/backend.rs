//! [`ChainBackend`] over FISCO BCOS 3.x's native JSON-RPC (port 20200 by
//! default), over HTTPS with the node's RPC TLS (on by default: mutual TLS 1.2
//! with the SDK certificate files `ca.crt`, `sdk.crt`, `sdk.key` its
//! `build_chain.sh` writes; the node's certificate is checked against that
//! CA, not against a host name, since FISCO's certificates name no host, and,
//! when `node_cert_sha256` is given, against that pin: see [`super::tls`]) or over
//! plain HTTP (`[rpc] disable_ssl = true`, `enable_ssl = false` from 3.12).
//! SM-TLS (`[rpc] sm_ssl = true`, the SM certificates) is not supported.
//!
//! The dialect: every method's parameters lead with the group (and, for most,
//! the node name, `""` for any); `sendTransaction` takes the Tars bytes of a
//! signed [`Transaction`] as hex and answers with the receipt once the
//! transaction is in a block; receipt `status` 0 is success and `output`
//! carries the revert data otherwise; `getLogs` exists from 3.10 (on older
//! nodes, which answer "method not found", logs are read from each block's
//! receipts instead: one request per block and one per transaction); block
//! timestamps are milliseconds. On an SM chain ([`CryptoSuite::Sm`]) the
//! backend rewrites selectors and topics at its edge with [`SuiteMap`], so the
//! Keccak-based bindings and decoders above it are unchanged; contracts are
//! deployed from the SM build (`contracts/abi-sm`).
//!
//! Unlike [`crate::EthereumBackend`], a transaction the contract rejects is
//! not dry-run first (FISCO's `call` has no sender, and the contracts check
//! it): it is sent, refused in its block at no cost (FISCO charges no gas),
//! and its receipt's revert data is decoded into the same error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::client::RpcClient;
use serde_json::{Value, json};

use super::selectors::SuiteMap;
use super::tx::TransactionData;
use crate::abi::decode_revert;
use crate::config::check_rpc_url;
use crate::suite::{CryptoSuite, SuiteKey};
use crate::{ChainBackend, ChainError, ChainLog, LogQuery, Result, TxOutcome};

/// Blocks ahead of the head a transaction may be included in (FISCO accepts at most 600).
const BLOCK_LIMIT_AHEAD: u64 = 500;

/// Where and how to reach a FISCO BCOS node.
#[derive(Debug, Clone)]
pub struct FiscoSettings {
    /// `http://host:20200`.
    pub url: String,
    /// The group, e.g. `group0`.
    pub group: String,
    /// The node to ask within the group (`""`: any).
    pub node: String,
    /// The chain's id as FISCO names it (e.g. `chain0`); checked at connect when given.
    pub chain: Option<String>,
    /// ECDSA (Keccak) or SM (SM3/SM2); checked against the node's `smCryptoType`.
    pub suite: CryptoSuite,
    /// Longest wait for one JSON-RPC answer (`sendTransaction` waits for its block).
    pub request_timeout: Duration,
    /// Most blocks one `getLogs` spans (the node's `filter_max_process_block`).
    pub max_log_blocks: Option<u64>,
    /// For an `https://` URL: the directory of the SDK's TLS files (`ca.crt`,
    /// `sdk.crt`, `sdk.key`, as `build_chain.sh` writes them under `sdk/`).
    pub sdk_certs: Option<std::path::PathBuf>,
    /// With `sdk_certs`: the SHA-256 of the node's own TLS certificate; any
    /// other certificate of the chain's CA (another member's) is refused.
    pub node_cert_sha256: Option<[u8; 32]>,
}

impl FiscoSettings {
    /// Group `group0`, any node, the chain's id not checked, a 30 s request
    /// timeout, no `getLogs` limit, no TLS.
    pub fn new(url: impl Into<String>, suite: CryptoSuite) -> Self {
        Self {
            url: url.into(),
            group: "group0".into(),
            node: String::new(),
            chain: None,
            suite,
            request_timeout: Duration::from_secs(30),
            max_log_blocks: None,
            sdk_certs: None,
            node_cert_sha256: None,
        }
    }
}

/// [`ChainBackend`] over FISCO BCOS 3.x native JSON-RPC.
#[derive(Debug, Clone)]
pub struct FiscoBackend {
    client: RpcClient,
    settings: FiscoSettings,
    chain: String,
    key: Option<SuiteKey>,
    names: Vec<(Address, &'static str)>,
    /// Set once the node answered that it has no `getLogs` (before 3.10).
    without_get_logs: Arc<AtomicBool>,
}

/// An error with its causes, on one line (reqwest keeps the TLS reason in its sources).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    clip(&text, 400)
}

/// A log's position in its block as one number, the same whether it was read
/// by `getLogs` or from the receipts: the transaction's index in the block
/// above, the log's index in its receipt below (FISCO numbers logs per receipt).
fn log_index(tx_index: u64, index_in_receipt: u64) -> Result<u64> {
    if tx_index >= 1 << 31 || index_in_receipt >= 1 << 32 {
        return Err(ChainError::Decode {
            what: "log".into(),
            message: format!("transaction index {tx_index} or log index {index_in_receipt} out of range"),
        });
    }
    Ok(tx_index << 32 | index_in_receipt)
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(what: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim_start_matches("0x"))
        .map_err(|e| ChainError::Decode { what: what.into(), message: format!("not hex ({e}): {}", short(text)) })
}

/// Text from the node, on one line (control characters dropped), at most `max` characters.
fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn short(text: &str) -> String {
    clip(text, 80)
}

/// A list field of a node's answer: absent or null is empty, anything else
/// but a list is an error.
fn list<'a>(what: &str, value: &'a Value, name: &str) -> Result<&'a [Value]> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err(ChainError::Decode { what: what.into(), message: format!("{name} is not a list") }),
    }
}

/// A JSON number, or a decimal or `0x` hex string, as u64.
fn number(what: &str, value: &Value) -> Result<u64> {
    let bad =
        || ChainError::Decode { what: what.into(), message: format!("not a number: {}", short(&value.to_string())) };
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) if s.starts_with("0x") => u64::from_str_radix(&s[2..], 16).map_err(|_| bad()),
        Value::String(s) => s.parse().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn field<'a>(what: &str, value: &'a Value, name: &str) -> Result<&'a Value> {
    value
        .get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| ChainError::Decode { what: what.into(), message: format!("no '{name}' in the node's answer") })
}

fn text<'a>(what: &str, value: &'a Value, name: &str) -> Result<&'a str> {
    field(what, value, name)?
        .as_str()
        .ok_or_else(|| ChainError::Decode { what: what.into(), message: format!("'{name}' is not text") })
}

impl FiscoBackend {
    /// Connects, and checks that the node serves `settings.group`, the chain
    /// `settings.chain` (when given) and the suite `settings.suite`, and that
    /// `key` (when given) belongs to that suite. Each mismatch is a one-line
    /// error naming the `chain.toml` setting to change.
    pub async fn connect(settings: FiscoSettings, key: Option<SuiteKey>) -> Result<Self> {
        let config = |message: String| ChainError::Config { path: "chain.toml".into(), message };
        check_rpc_url(&settings.url).map_err(|m| config(format!("rpc_url: {m}")))?;
        let url: alloy::transports::http::reqwest::Url =
            settings.url.parse().map_err(|e| config(format!("rpc_url '{}': {e}", settings.url)))?;
        let mut http = alloy::transports::http::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(settings.request_timeout);
        match (url.scheme() == "https", &settings.sdk_certs) {
            (true, Some(dir)) => {
                let tls = super::tls::client_config(dir, settings.node_cert_sha256).map_err(config)?;
                http = http.tls_backend_preconfigured(tls);
            }
            (true, None) => {
                return Err(config(format!(
                    "rpc_url {} is https: set fisco_sdk_certs to the directory of the chain's SDK TLS files \
                     (ca.crt, sdk.crt, sdk.key from build_chain.sh's sdk/ folder), or use http:// with the node's \
                     SSL off",
                    settings.url
                )));
            }
            (false, Some(dir)) => {
                return Err(config(format!(
                    "fisco_sdk_certs = \"{}\" is set, but rpc_url {} is plain http://: use https:// for a node with \
                     its RPC TLS on, or drop fisco_sdk_certs",
                    dir.display(),
                    settings.url
                )));
            }
            (false, None) => {}
        }
        let http = http.build().map_err(|e| config(format!("HTTP client: {}", error_chain(&e))))?;
        let client = RpcClient::new_http_with_client(http, url);
        if let Some(key) = &key
            && key.suite() != settings.suite
        {
            let setting = |suite: CryptoSuite| if suite == CryptoSuite::Sm { "sm" } else { "ecdsa" };
            return Err(config(format!(
                "crypto_suite = \"{}\", but the signing key is a {} key: use a key of the chain's suite",
                setting(settings.suite),
                key.suite()
            )));
        }
        let mut backend = Self {
            client,
            settings,
            chain: String::new(),
            key,
            names: Vec::new(),
            without_get_logs: Arc::new(AtomicBool::new(false)),
        };
        // An error answer names the group; a transport failure (TLS included) is reported as such.
        let info = match backend.client.request::<_, Value>("getGroupInfo", json!([backend.settings.group])).await {
            Ok(info) => info,
            Err(alloy::transports::RpcError::ErrorResp(e)) => {
                return Err(config(format!(
                    "group = \"{}\": the node at {} does not serve it ({})",
                    backend.settings.group,
                    backend.settings.url,
                    short(&e.message)
                )));
            }
            Err(e) => return Err(backend.rpc_error("getGroupInfo", &e)),
        };
        let chain = text("group info", &info, "chainID")?.to_owned();
        if let Some(expected) = &backend.settings.chain
            && *expected != chain
        {
            return Err(config(format!(
                "fisco_chain_id = \"{expected}\", but the node at {} serves chain \"{chain}\"",
                backend.settings.url
            )));
        }
        // Every node of the group reports its crypto type in its iniConfig (a JSON text).
        let sm = info
            .get("nodeList")
            .and_then(Value::as_array)
            .and_then(|nodes| nodes.first())
            .and_then(|n| n.get("iniConfig"))
            .and_then(Value::as_str)
            .and_then(|ini| serde_json::from_str::<Value>(ini).ok())
            .and_then(|ini| ini.get("smCryptoType").and_then(Value::as_bool));
        match (sm, backend.settings.suite) {
            (Some(true), CryptoSuite::Ecdsa) => {
                return Err(config(format!(
                    "crypto_suite = \"ecdsa\", but the chain at {} runs in SM mode (smCryptoType): set crypto_suite = \"sm\"",
                    backend.settings.url
                )));
            }
            (Some(false), CryptoSuite::Sm) => {
                return Err(config(format!(
                    "crypto_suite = \"sm\", but the chain at {} is not in SM mode: set crypto_suite = \"ecdsa\"",
                    backend.settings.url
                )));
            }
            _ => {}
        }
        backend.chain = chain;
        Ok(backend)
    }

    /// Names contracts by address so their custom errors decode unambiguously.
    pub fn with_contract_names(mut self, names: Vec<(Address, &'static str)>) -> Self {
        self.names = names;
        self
    }

    /// The chain's id as the node names it.
    pub fn chain_name(&self) -> &str {
        &self.chain
    }

    async fn request(&self, method: &'static str, params: Value) -> Result<Value> {
        self.client.request::<_, Value>(method, params).await.map_err(|e| self.rpc_error(method, &e))
    }

    fn rpc_error(&self, method: &str, e: &alloy::transports::TransportError) -> ChainError {
        ChainError::Rpc {
            url: self.settings.url.clone(),
            message: match e {
                alloy::transports::RpcError::Transport(kind) => {
                    let why = error_chain(kind);
                    // A TLS refusal says what to check.
                    let hint = if why.contains("fisco_node_cert_sha256") {
                        " (the node's certificate is not the pinned one: another node, or someone else holding a \
                         certificate of the chain's CA)"
                    } else if self.settings.url.starts_with("https://")
                        && ["certificate", "handshake", "tls", "alert", "CertificateRequired"]
                            .iter()
                            .any(|w| why.to_lowercase().contains(&w.to_lowercase()))
                    {
                        " (TLS: fisco_sdk_certs must hold the SDK files of this chain; a node with [rpc] sm_ssl = \
                         true speaks SM-TLS, which is not supported)"
                    } else if self.settings.url.starts_with("http://")
                        && !["refused", "timed out", "dns", "resolve"].iter().any(|w| why.to_lowercase().contains(w))
                    {
                        " (a node with its RPC TLS on needs an https:// rpc_url and fisco_sdk_certs)"
                    } else {
                        ""
                    };
                    format!("{method}: cannot reach the node ({why}){hint}")
                }
                other => format!("{method}: {other}"),
            },
        }
    }

    fn to_chain(&self, data: &mut [u8]) {
        if self.settings.suite == CryptoSuite::Sm {
            SuiteMap::contracts().call_to_chain(data);
        }
    }

    fn topic_from_chain(&self, topic: B256) -> B256 {
        if self.settings.suite == CryptoSuite::Sm { SuiteMap::contracts().topic_from_chain(topic) } else { topic }
    }

    fn topic_to_chain(&self, topic: B256) -> B256 {
        if self.settings.suite == CryptoSuite::Sm { SuiteMap::contracts().topic_to_chain(topic) } else { topic }
    }

    fn reverted(&self, to: Option<Address>, status: u64, output: &str, message: &str) -> ChainError {
        let mut data = unhex("revert data", output).unwrap_or_default();
        if self.settings.suite == CryptoSuite::Sm {
            SuiteMap::contracts().revert_from_chain(&mut data);
        }
        if data.len() >= 4 {
            let name = to.and_then(|to| self.names.iter().find(|(a, _)| *a == to).map(|(_, n)| *n));
            let decoded = decode_revert(&data, name);
            return ChainError::Reverted { contract: decoded.contract, error: decoded.error, message: decoded.message };
        }
        let why = if message.is_empty() { String::new() } else { format!(": {}", short(message)) };
        let hint = match status {
            10000 => " (a nonce already used: send again)",
            10001 => " (past its block limit: the chain moved on while it waited; send again)",
            10005 => " (the same transaction is already on chain)",
            10006 => " (another chain's transaction: check fisco_chain_id in chain.toml)",
            10007 => " (another group's transaction: check group in chain.toml)",
            10008 => " (the signature does not check: crypto_suite in chain.toml must match the chain)",
            _ => "",
        };
        ChainError::Reverted {
            contract: None,
            error: None,
            message: format!("the node refused it with status {status}{why}{hint}"),
        }
    }

    fn log_of(
        &self,
        what: &str,
        entry: &Value,
        block: u64,
        block_hash: Option<B256>,
        tx: B256,
        index: u64,
    ) -> Result<ChainLog> {
        let address: Address = text(what, entry, "address")?
            .parse()
            .or_else(|_| format!("0x{}", text(what, entry, "address").unwrap_or_default()).parse())
            .map_err(|_| ChainError::Decode { what: what.into(), message: "bad address".into() })?;
        let topics = field(what, entry, "topics")?
            .as_array()
            .ok_or_else(|| ChainError::Decode { what: what.into(), message: "topics is not a list".into() })?
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bytes = unhex("topic", t.as_str().unwrap_or_default())?;
                let topic = B256::try_from(bytes.as_slice())
                    .map_err(|_| ChainError::Decode { what: what.into(), message: "a topic is not 32 bytes".into() })?;
                Ok(if i == 0 { self.topic_from_chain(topic) } else { topic })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ChainLog {
            address,
            topics,
            data: unhex("log data", text(what, entry, "data")?)?.into(),
            block_number: block,
            block_hash,
            tx_hash: tx,
            log_index: index,
        })
    }

    /// One `getLogs` request; `None` when the node has no such method.
    async fn logs_once(&self, filter: Value) -> Result<Option<Vec<ChainLog>>> {
        let answer = match self.client.request::<_, Value>("getLogs", json!([self.settings.group, filter])).await {
            Ok(answer) => answer,
            Err(alloy::transports::RpcError::ErrorResp(e)) if e.code == -32601 => return Ok(None),
            Err(e) => return Err(self.rpc_error("getLogs", &e)),
        };
        let entries = answer
            .as_array()
            .ok_or_else(|| ChainError::Decode { what: "logs".into(), message: "not a list".into() })?;
        entries
            .iter()
            .map(|e| {
                let hash = |name: &str| -> Result<B256> {
                    text("log", e, name)?
                        .parse()
                        .map_err(|_| ChainError::Decode { what: "log".into(), message: format!("bad {name}") })
                };
                // FISCO numbers logs within their receipt (LogMatcher): the
                // transaction's index in the block makes them unique in it.
                let tx_index = match e.get("transactionIndex") {
                    None | Some(Value::Null) => 0,
                    Some(v) => number("log", v)?,
                };
                self.log_of(
                    "log",
                    e,
                    number("log", field("log", e, "blockNumber")?)?,
                    Some(hash("blockHash")?),
                    hash("transactionHash")?,
                    log_index(tx_index, number("log", field("log", e, "logIndex")?)?)?,
                )
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// `getLogs` over the query's range in steps of `max_log_blocks`;
    /// `None` when the node has no such method.
    async fn logs_by_filter(&self, query: &LogQuery) -> Result<Option<Vec<ChainLog>>> {
        let topic0: Vec<B256> = query.event_signatures.iter().map(|t| self.topic_to_chain(*t)).collect();
        let topics = crate::backend::filter_topics(&topic0, &query.topic1);
        let step = self.settings.max_log_blocks.unwrap_or(u64::MAX).max(1);
        let mut out = Vec::new();
        let mut from = query.from_block;
        while from <= query.to_block {
            let to = query.to_block.min(from.saturating_add(step - 1));
            let filter = json!({
                "fromBlock": format!("{from:#x}"),
                "toBlock": format!("{to:#x}"),
                "address": query.addresses.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>(),
                "topics": topics,
            });
            let Some(logs) = self.logs_once(filter).await? else { return Ok(None) };
            out.extend(logs);
            if to == u64::MAX {
                break;
            }
            from = to + 1;
        }
        Ok(Some(out))
    }

    /// The query's logs read from each block's receipts (nodes before 3.10):
    /// one request per block and one per transaction in it. The range ends at
    /// the head; a block at or below it that the node does not answer is an
    /// error (a lagging node must not make logs silently missing).
    async fn logs_by_blocks(&self, query: &LogQuery) -> Result<Vec<ChainLog>> {
        let (group, node) = (&self.settings.group, &self.settings.node);
        let head = self.head_block().await?;
        let mut out = Vec::new();
        for number_ in query.from_block..=query.to_block.min(head) {
            let Some(block) = self.block(number_, false).await? else {
                return Err(ChainError::Decode {
                    what: "block".into(),
                    message: format!("the node does not answer block {number_} though its head is {head}"),
                });
            };
            let what = "block";
            let block_hash: B256 = text(what, &block, "hash")?
                .parse()
                .map_err(|_| ChainError::Decode { what: what.into(), message: "bad hash".into() })?;
            let transactions = list(what, &block, "transactions")?;
            for (tx_index, entry) in transactions.iter().enumerate() {
                // Hashes (onlyTxHash), or transaction objects from nodes that ignore it.
                let hash = entry.as_str().or_else(|| entry.get("hash").and_then(Value::as_str)).ok_or_else(|| {
                    ChainError::Decode { what: what.into(), message: "a transaction without a hash".into() }
                })?;
                let tx_hash: B256 = hash
                    .parse()
                    .map_err(|_| ChainError::Decode { what: what.into(), message: "bad transaction hash".into() })?;
                let receipt = self.request("getTransactionReceipt", json!([group, node, hash, false])).await?;
                // As getLogs does: only a successful transaction's logs count.
                if number("transaction receipt", field("transaction receipt", &receipt, "status")?)? != 0 {
                    continue;
                }
                let entries = list("transaction receipt", &receipt, "logEntries")?;
                for (i, e) in entries.iter().enumerate() {
                    let index = log_index(tx_index as u64, i as u64)?;
                    let log = self.log_of("receipt log", e, number_, Some(block_hash), tx_hash, index)?;
                    let wanted = (query.addresses.is_empty() || query.addresses.contains(&log.address))
                        && (query.event_signatures.is_empty()
                            || log.topics.first().is_some_and(|t| query.event_signatures.contains(t)))
                        && (query.topic1.is_empty() || log.topics.get(1).is_some_and(|t| query.topic1.contains(t)));
                    if wanted {
                        out.push(log);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Block `number`'s header (and transaction hashes unless `header_only`); `None` beyond the head (the node answers an
    /// error for those, so the head is asked only when it does).
    async fn block(&self, number: u64, header_only: bool) -> Result<Option<Value>> {
        let group = &self.settings.group;
        let params = json!([group, self.settings.node, number, header_only, true]);
        match self.request("getBlockByNumber", params).await {
            Ok(block) if !block.is_null() => Ok(Some(block)),
            Ok(_) => Ok(None),
            Err(e) if number > self.head_block().await? => {
                tracing::trace!(number, error = %e, "block beyond the head");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl ChainBackend for FiscoBackend {
    fn url(&self) -> &str {
        &self.settings.url
    }

    fn sender(&self) -> Option<Address> {
        self.key.as_ref().map(SuiteKey::address)
    }

    fn suite(&self) -> CryptoSuite {
        self.settings.suite
    }

    /// FISCO names chains by text (`chain0`); a chain whose id is a number
    /// answers it, any other id is an error (compare [`FiscoBackend::chain_name`]).
    async fn chain_id(&self) -> Result<u64> {
        self.chain.parse().map_err(|_| ChainError::Config {
            path: "chain.toml".into(),
            message: format!(
                "this FISCO chain's id is \"{}\", not a number: it is checked as fisco_chain_id, not chain_id",
                self.chain
            ),
        })
    }

    async fn head_block(&self) -> Result<u64> {
        let head = self.request("getBlockNumber", json!([self.settings.group, self.settings.node])).await?;
        number("block number", &head)
    }

    async fn call(&self, to: Address, input: Bytes) -> Result<Bytes> {
        let mut data = input.to_vec();
        self.to_chain(&mut data);
        let params = json!([self.settings.group, self.settings.node, format!("{to:#x}"), hex0x(&data)]);
        let answer = self.request("call", params).await?;
        let status = number("call status", field("call answer", &answer, "status")?)?;
        let output = answer.get("output").and_then(Value::as_str).unwrap_or("0x");
        if status != 0 {
            return Err(self.reverted(Some(to), status, output, ""));
        }
        Ok(unhex("call output", output)?.into())
    }

    async fn send(&self, to: Option<Address>, input: Bytes) -> Result<TxOutcome> {
        let key = self.key.as_ref().ok_or(ChainError::NoSigner)?;
        let mut data = input.to_vec();
        if to.is_some() {
            self.to_chain(&mut data);
        }
        let head = self.head_block().await?;
        let tx = TransactionData::new(
            &self.chain,
            &self.settings.group,
            i64::try_from(head.saturating_add(BLOCK_LIMIT_AHEAD)).unwrap_or(i64::MAX),
            to,
            data,
        )?
        .sign(key)?;
        let tx_hash = B256::from_slice(&tx.data_hash);
        let params = json!([self.settings.group, self.settings.node, hex0x(&tx.encode()), false]);
        // A transport failure leaves the transaction's fate open; an error answer is a refusal.
        let receipt = self.request("sendTransaction", params).await.map_err(|e| match e {
            ChainError::Rpc { url, message } if message.contains("cannot reach the node") => {
                ChainError::ReceiptUnavailable { tx_hash, url, message }
            }
            other => other,
        })?;
        let what = "transaction receipt";
        let reported: B256 = text(what, &receipt, "transactionHash")?
            .parse()
            .map_err(|_| ChainError::Decode { what: what.into(), message: "bad transactionHash".into() })?;
        if reported != tx_hash {
            return Err(ChainError::Decode {
                what: what.into(),
                message: format!("the node reports transaction {reported}, this backend sent {tx_hash}"),
            });
        }
        let block = number(what, field(what, &receipt, "blockNumber")?)?;
        let status = number(what, field(what, &receipt, "status")?)?;
        if status != 0 {
            let output = receipt.get("output").and_then(Value::as_str).unwrap_or("0x");
            let message = receipt.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(self.reverted(to, status, output, message));
        }
        let contract_address = match receipt.get("contractAddress").and_then(Value::as_str) {
            Some(a) if !a.is_empty() && a.trim_start_matches("0x").bytes().any(|b| b != b'0') => Some(
                a.parse()
                    .map_err(|_| ChainError::Decode { what: what.into(), message: "bad contractAddress".into() })?,
            ),
            _ => None,
        };
        // Positions within this receipt: the receipt does not carry the transaction's index in its block.
        let logs = list(what, &receipt, "logEntries")?
            .iter()
            .enumerate()
            .map(|(i, e)| self.log_of("receipt log", e, block, None, tx_hash, i as u64))
            .collect::<Result<Vec<_>>>()?;
        Ok(TxOutcome {
            tx_hash,
            block_number: block,
            gas_used: receipt.get("gasUsed").map(|g| number(what, g)).transpose()?.unwrap_or(0),
            contract_address,
            logs,
        })
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<ChainLog>> {
        if !self.without_get_logs.load(Ordering::Relaxed) {
            if let Some(logs) = self.logs_by_filter(query).await? {
                return Ok(logs);
            }
            self.without_get_logs.store(true, Ordering::Relaxed);
            tracing::info!(
                url = %self.settings.url,
                "the node has no getLogs (FISCO BCOS before 3.10): reading logs from block receipts"
            );
        }
        self.logs_by_blocks(query).await
    }

    async fn block_hash(&self, number_: u64) -> Result<Option<B256>> {
        let Some(block) = self.block(number_, true).await? else { return Ok(None) };
        let hash = text("block", &block, "hash")?;
        Ok(Some(hash.parse().map_err(|_| ChainError::Decode { what: "block".into(), message: "bad hash".into() })?))
    }

    async fn transaction_sender(&self, tx_hash: B256) -> Result<Option<Address>> {
        let params = json!([self.settings.group, self.settings.node, format!("{tx_hash:#x}"), false]);
        let tx = self.request("getTransaction", params).await?;
        match tx.get("from").and_then(Value::as_str) {
            Some(from) if !from.is_empty() => Ok(Some(
                from.parse()
                    .map_err(|_| ChainError::Decode { what: "transaction".into(), message: "bad from".into() })?,
            )),
            _ => Ok(None),
        }
    }

    /// FISCO timestamps are milliseconds: returned in seconds.
    async fn block_time(&self, number_: u64) -> Result<Option<u64>> {
        let Some(block) = self.block(number_, true).await? else { return Ok(None) };
        Ok(Some(number("block timestamp", field("block", &block, "timestamp")?)? / 1000))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use alloy::sol_types::{SolCall, SolEvent, SolValue};

    use super::*;
    use crate::bindings::{Consortium, JobRegistry};

    /// What the scripted node saw and holds.
    #[derive(Default)]
    pub(crate) struct Node {
        head: u64,
        senders: Vec<(B256, Address)>,
        filters: Vec<Value>,
    }

    const SM_KEY: &str = "ca508b2b49c1d2dc46cbd5a011686fdc19937dbc704afe6c547a862b3e2b6c69";

    /// A node speaking FISCO BCOS 3.x's native JSON-RPC as its sources and
    /// documentation describe it (an SM chain `chain0`, group `group0`), with
    /// scripted contracts: enough to check what the backend sends and how it
    /// reads the answers. It checks every transaction it gets: Tars decoding,
    /// the SM3 hash, the SM2 signature, chain, group and block limit.
    pub(crate) async fn scripted_node() -> (String, Arc<Mutex<Node>>) {
        let node = Arc::new(Mutex::new(Node { head: 10, ..Node::default() }));
        let state = Arc::clone(&node);
        let url = crate::test_rpc::serve(move |method, params| answer(&state, method, params)).await;
        (url, node)
    }

    fn answer(state: &Mutex<Node>, method: &str, params: &[Value]) -> crate::test_rpc::Answer {
        let ok = Ok;
        let err = |message: &str| Err(json!({"code": -32602, "message": message}));
        let mut node = state.lock().unwrap();
        let sm_selector = |sig: &str| hex::encode(CryptoSuite::Sm.selector(sig));
        match method {
            "getGroupInfo" if params[0] == "group0" => ok(json!({
                "chainID": "chain0", "groupID": "group0",
                "nodeList": [{"name": "node0", "iniConfig": "{\"chainID\":\"chain0\",\"groupID\":\"group0\",\"smCryptoType\":true}"}],
            })),
            "getGroupInfo" => err("group not exist"),
            "getBlockNumber" => ok(json!(node.head)),
            "call" => {
                assert_eq!((params[0].as_str(), params[1].as_str()), (Some("group0"), Some("")));
                let data = params[3].as_str().unwrap();
                if data.starts_with(&format!("0x{}", sm_selector("memberCount()"))) {
                    ok(
                        json!({"blockNumber": node.head, "status": 0, "output": hex0x(&alloy::primitives::U256::from(3).abi_encode())}),
                    )
                } else {
                    // A Keccak selector would not dispatch on the SM build.
                    let output = format!(
                        "0x{}{}",
                        sm_selector("Error(string)"),
                        hex::encode(("unknown function".to_owned(),).abi_encode_params())
                    );
                    ok(json!({"blockNumber": node.head, "status": 16, "output": output}))
                }
            }
            "sendTransaction" => {
                let tx = crate::fisco::Transaction::decode(&unhex("transaction", params[2].as_str().unwrap()).unwrap())
                    .unwrap();
                let sender = tx.verify(CryptoSuite::Sm).expect("an SM2-signed transaction with its SM3 hash");
                assert_eq!((tx.data.chain_id.as_str(), tx.data.group_id.as_str()), ("chain0", "group0"));
                let limit = tx.data.block_limit as u64;
                assert!(limit > node.head && limit <= node.head + 600, "block limit {limit} at head {}", node.head);
                node.head += 1;
                let hash = B256::from_slice(&tx.data_hash);
                node.senders.push((hash, sender));
                let base = json!({"transactionHash": format!("{hash:#x}"), "blockNumber": node.head, "gasUsed": "19413", "contractAddress": ""});
                let mut receipt = base.as_object().unwrap().clone();
                if tx.data.input.starts_with(&CryptoSuite::Sm.selector("approve(uint256)")) {
                    let topic =
                        format!("0x{}", hex::encode(CryptoSuite::Sm.event_topic(JobRegistry::JobApproved::SIGNATURE)));
                    receipt.insert("status".into(), json!(0));
                    receipt.insert("output".into(), json!("0x"));
                    receipt.insert(
                        "logEntries".into(),
                        json!([{
                            "address": "6849f21d1e455e9f0712b1e99fa4fcd23758e8f1",
                            "topics": [topic, format!("0x{:064x}", 7)],
                            "data": "0x",
                        }]),
                    );
                } else {
                    let output = format!(
                        "0x{}{}",
                        sm_selector("Error(string)"),
                        hex::encode(("refused by the contract".to_owned(),).abi_encode_params())
                    );
                    receipt.insert("status".into(), json!(16));
                    receipt.insert("output".into(), json!(output));
                    receipt.insert("message".into(), json!("RevertInstruction"));
                    receipt.insert("logEntries".into(), json!([]));
                }
                ok(Value::Object(receipt))
            }
            "getLogs" => {
                node.filters.push(params[1].clone());
                let topic =
                    format!("0x{}", hex::encode(CryptoSuite::Sm.event_topic(JobRegistry::JobApproved::SIGNATURE)));
                // Two transactions of block 5 whose logs FISCO numbers within each receipt.
                let log = |tx: u64, index: &str| {
                    json!({
                        "address": "0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1", "topics": [topic, format!("0x{:064x}", 7)],
                        "data": "0x", "blockNumber": "0x5", "blockHash": format!("0x{:064x}", 5),
                        "transactionHash": format!("0x{:064x}", 0xabc + tx), "logIndex": index,
                        "transactionIndex": format!("{tx:#x}"), "removed": false,
                    })
                };
                ok(json!([log(0, "0x2"), log(1, "0x2")]))
            }
            "getBlockByNumber" => {
                let n = params[2].as_u64().unwrap();
                if n > node.head {
                    return err("block not found");
                }
                ok(json!({"number": n, "hash": format!("0x{n:064x}"), "timestamp": 1_700_000_000_123u64 + n}))
            }
            "getTransaction" => {
                let hash: B256 = params[2].as_str().unwrap().parse().unwrap();
                match node.senders.iter().find(|(h, _)| *h == hash) {
                    Some((_, from)) => ok(json!({"from": format!("{from:#x}")})),
                    None => err("transaction not found"),
                }
            }
            other => Err(json!({"code": -32601, "message": format!("method {other} not found")})),
        }
    }

    fn settings(url: &str, suite: CryptoSuite) -> FiscoSettings {
        FiscoSettings { chain: Some("chain0".into()), ..FiscoSettings::new(url, suite) }
    }

    fn sm_key() -> SuiteKey {
        SuiteKey::Sm(
            wefe_crypto::sm::Sm2KeyPair::from_bytes(&hex::decode(SM_KEY).unwrap().try_into().unwrap()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_wrong_group_chain_or_suite_names_the_setting() {
        let (url, _) = scripted_node().await;
        let mut wrong_group = settings(&url, CryptoSuite::Sm);
        wrong_group.group = "group9".into();
        let e = FiscoBackend::connect(wrong_group, None).await.unwrap_err().to_string();
        assert!(e.contains("group = \"group9\"") && e.contains("does not serve it"), "{e}");
        let mut wrong_chain = settings(&url, CryptoSuite::Sm);
        wrong_chain.chain = Some("chain7".into());
        let e = FiscoBackend::connect(wrong_chain, None).await.unwrap_err().to_string();
        assert!(e.contains("fisco_chain_id = \"chain7\"") && e.contains("\"chain0\""), "{e}");
        let e = FiscoBackend::connect(settings(&url, CryptoSuite::Ecdsa), None).await.unwrap_err().to_string();
        assert!(e.contains("runs in SM mode") && e.contains("suite = \"sm\""), "{e}");
        let e =
            FiscoBackend::connect(settings(&url, CryptoSuite::Ecdsa), Some(sm_key())).await.unwrap_err().to_string();
        assert!(e.contains("suite = \"ecdsa\", but the signing key is a sm"), "{e}");
        let e = FiscoBackend::connect(settings("https://127.0.0.1:20200", CryptoSuite::Sm), None).await.unwrap_err();
        assert!(e.to_string().contains("is https: set fisco_sdk_certs"), "{e}");
        let mut plain_with_certs = settings(&url, CryptoSuite::Sm);
        plain_with_certs.sdk_certs = Some("/nonexistent".into());
        let e = FiscoBackend::connect(plain_with_certs, None).await.unwrap_err().to_string();
        assert!(e.contains("fisco_sdk_certs = \"/nonexistent\" is set, but rpc_url"), "{e}");
        let mut missing = settings("https://127.0.0.1:20200", CryptoSuite::Sm);
        missing.sdk_certs = Some("/nonexistent".into());
        let e = FiscoBackend::connect(missing, None).await.unwrap_err().to_string();
        assert!(e.contains("cannot read /nonexistent/ca.crt"), "{e}");
        let backend = FiscoBackend::connect(settings(&url, CryptoSuite::Sm), None).await.unwrap();
        assert_eq!(backend.chain_name(), "chain0");
        assert!(backend.chain_id().await.unwrap_err().to_string().contains("fisco_chain_id"));
    }

    #[tokio::test]
    async fn txpool_refusals_say_which_setting_to_check() {
        let (url, _) = scripted_node().await;
        let backend = FiscoBackend::connect(settings(&url, CryptoSuite::Sm), None).await.unwrap();
        for (status, hint) in [
            (10000, "nonce"),
            (10001, "past its block limit"),
            (10005, "already on chain"),
            (10006, "fisco_chain_id in chain.toml"),
            (10007, "group in chain.toml"),
            (10008, "crypto_suite in chain.toml"),
        ] {
            let e = backend.reverted(None, status, "0x", "Refused\nhere").to_string();
            assert!(e.contains(&format!("status {status}: Refusedhere")) && e.contains(hint), "{e}");
        }
    }

    #[tokio::test]
    async fn calls_transactions_logs_and_blocks_on_an_sm_chain() {
        let (url, node) = scripted_node().await;
        let backend = FiscoBackend::connect(settings(&url, CryptoSuite::Sm), Some(sm_key())).await.unwrap();
        let contract: Address = "0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1".parse().unwrap();
        assert_eq!(backend.head_block().await.unwrap(), 10);

        // The Keccak-encoded call reaches the chain with its SM3 selector.
        let out = backend.call(contract, Consortium::memberCountCall {}.abi_encode().into()).await.unwrap();
        assert_eq!(alloy::primitives::U256::abi_decode(&out).unwrap(), alloy::primitives::U256::from(3));
        // A revert's SM3 Error(string) decodes as usual.
        let e = backend.call(contract, Consortium::adminCountCall {}.abi_encode().into()).await.unwrap_err();
        assert!(matches!(&e, ChainError::Reverted { .. }) && e.to_string().contains("unknown function"), "{e}");

        // A transaction: SM2-signed, SM3-hashed, in the block limit window (the node checks);
        // its log comes back with the Keccak topic the decoders know.
        let outcome = backend
            .send(
                Some(contract),
                JobRegistry::approveCall { jobId: alloy::primitives::U256::from(7) }.abi_encode().into(),
            )
            .await
            .unwrap();
        assert_eq!((outcome.block_number, outcome.gas_used, outcome.contract_address), (11, 19413, None));
        assert_eq!(outcome.logs[0].topics[0], JobRegistry::JobApproved::SIGNATURE_HASH);
        assert_eq!(backend.transaction_sender(outcome.tx_hash).await.unwrap(), backend.sender());
        assert_eq!(node.lock().unwrap().senders[0].1, sm_key().address());
        // A refused one: the receipt's revert data, decoded.
        let e = backend
            .send(
                Some(contract),
                JobRegistry::cancelCall { jobId: alloy::primitives::U256::from(7) }.abi_encode().into(),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("refused by the contract"), "{e}");

        // Logs: asked for with the SM3 topic, answered with the Keccak one.
        let logs = backend
            .logs(&LogQuery {
                addresses: vec![contract],
                from_block: 1,
                to_block: 12,
                event_signatures: vec![JobRegistry::JobApproved::SIGNATURE_HASH],
                topic1: Vec::new(),
            })
            .await
            .unwrap();
        assert_eq!(
            (logs[0].topics[0], logs[0].block_number, logs[0].log_index),
            (JobRegistry::JobApproved::SIGNATURE_HASH, 5, 2)
        );
        // Same index within their receipts, distinct (and in order) within the block.
        assert_eq!((logs[1].block_number, logs[1].log_index), (5, 1 << 32 | 2));
        let filter = node.lock().unwrap().filters[0].clone();
        assert_eq!(
            filter["topics"][0][0],
            format!("0x{}", hex::encode(CryptoSuite::Sm.event_topic(JobRegistry::JobApproved::SIGNATURE)))
        );
        assert_eq!(
            filter["topics"].as_array().map(Vec::len),
            Some(1),
            "no trailing wildcard (FISCO skips logs with fewer topics than positions): {filter}"
        );
        assert_eq!((filter["fromBlock"].as_str(), filter["toBlock"].as_str()), (Some("0x1"), Some("0xc")));

        // Blocks: hashes, and millisecond timestamps in seconds; nothing beyond the head.
        assert_eq!(backend.block_hash(5).await.unwrap(), Some(B256::from(alloy::primitives::U256::from(5))));
        assert_eq!(backend.block_time(5).await.unwrap(), Some(1_700_000_000));
        assert_eq!(backend.block_hash(99).await.unwrap(), None);

        // Logs in steps of max_log_blocks (the node reads no more per request).
        let mut stepped = settings(&url, CryptoSuite::Sm);
        stepped.max_log_blocks = Some(5);
        let reader = FiscoBackend::connect(stepped, None).await.unwrap();
        let before = node.lock().unwrap().filters.len();
        reader.logs(&LogQuery { from_block: 1, to_block: 12, ..LogQuery::default() }).await.unwrap();
        let filters = node.lock().unwrap().filters[before..].to_vec();
        let ranges: Vec<_> = filters.iter().map(|f| (f["fromBlock"].clone(), f["toBlock"].clone())).collect();
        assert_eq!(ranges, [(json!("0x1"), json!("0x5")), (json!("0x6"), json!("0xa")), (json!("0xb"), json!("0xc"))]);

        // Without a key nothing is sent.
        let reader = FiscoBackend::connect(settings(&url, CryptoSuite::Sm), None).await.unwrap();
        assert!(matches!(reader.send(Some(contract), Bytes::new()).await, Err(ChainError::NoSigner)));
    }
}
