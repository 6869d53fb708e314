//! The chain: blocks of one transaction each (mined as it arrives, as
//! `anvil` does), the transactions and receipts, the logs, and FISCO BCOS
//! 3.x's JSON-RPC methods over them.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, B256, Bytes};
use serde_json::{Value, json};
use wefe_chain::CryptoSuite;
use wefe_chain::fisco::Transaction;

use crate::evm::{Evm, Outcome};

/// Farthest ahead of the head a transaction's block limit may be (FISCO's
/// txpool refuses more than 600).
pub const BLOCK_LIMIT_RANGE: u64 = 600;

/// FISCO BCOS 3.x `TransactionStatus` codes (bcos-framework
/// `protocol/TransactionStatus.h`) the txpool and executor answer.
pub mod status {
    /// Executed.
    pub const SUCCESS: u64 = 0;
    /// Ran out of gas.
    pub const OUT_OF_GAS: u64 = 12;
    /// Any other failed execution (bad instruction, stack error…).
    pub const BAD_INSTRUCTION: u64 = 10;
    /// REVERT: `output` carries the revert data.
    pub const REVERT_INSTRUCTION: u64 = 16;
    /// The nonce was used by an earlier transaction.
    pub const NONCE_CHECK_FAIL: u64 = 10000;
    /// The block limit is at or below the head, or too far ahead.
    pub const BLOCK_LIMIT_CHECK_FAIL: u64 = 10001;
    /// Not a transaction.
    pub const MALFORM: u64 = 10003;
    /// The same transaction is already on chain.
    pub const TX_ALREADY_IN_CHAIN: u64 = 10005;
    /// Another chain's transaction.
    pub const INVALID_CHAIN_ID: u64 = 10006;
    /// Another group's transaction.
    pub const INVALID_GROUP_ID: u64 = 10007;
    /// The hash or signature does not check under the chain's suite.
    pub const INVALID_SIGNATURE: u64 = 10008;
}

/// What the chain is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SM (SM2 accounts, SM3 hashes and KECCAK256 opcode) or ECDSA (secp256k1, Keccak).
    pub suite: CryptoSuite,
    /// The chain's text id, e.g. `chain0`.
    pub chain_id: String,
    /// The one group it serves, e.g. `group0`.
    pub group: String,
    /// The one node's name in the group.
    pub node: String,
    /// Most blocks one `getLogs` reads (FISCO's `filter_max_process_block`,
    /// 10 by default); the rest of the range is dropped, as FISCO does.
    pub max_log_blocks: u64,
    /// Whether `getLogs` is served (FISCO 3.10 and later); without it the
    /// chain answers "method not found", as older nodes do.
    pub get_logs: bool,
}

/// A JSON-RPC error: code and message.
pub type RpcError = (i64, String);

fn invalid(message: impl Into<String>) -> RpcError {
    (-32602, message.into())
}

struct Block {
    hash: B256,
    parent: B256,
    timestamp_ms: u64,
    transactions: Vec<B256>,
}

struct Mined {
    tx: Transaction,
    from: Address,
    receipt: Value,
}

struct Log {
    address: Address,
    topics: Vec<B256>,
    data: Bytes,
    block: u64,
    tx: B256,
    index: u64,
}

/// The chain's state.
pub struct Chain {
    settings: Settings,
    evm: Evm,
    blocks: Vec<Block>,
    mined: HashMap<B256, Mined>,
    nonces: HashSet<String>,
    logs: Vec<Log>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("settings", &self.settings).field("head", &self.head()).finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A block number parameter: a JSON number, a decimal or a `0x` hex string.
fn block_number(value: &Value, what: &str) -> Result<u64, RpcError> {
    let bad = || invalid(format!("{what}: not a block number: {}", short(&value.to_string())));
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).map_err(|_| bad()),
            None => s.parse().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

fn short(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// An optional boolean parameter (absent: false).
fn flag(params: &[Value], i: usize) -> bool {
    params.get(i).and_then(Value::as_bool).unwrap_or(false)
}

fn param<'a>(params: &'a [Value], i: usize, what: &str) -> Result<&'a Value, RpcError> {
    params.get(i).ok_or_else(|| invalid(format!("missing parameter {i} ({what})")))
}

fn text_param<'a>(params: &'a [Value], i: usize, what: &str) -> Result<&'a str, RpcError> {
    param(params, i, what)?.as_str().ok_or_else(|| invalid(format!("parameter {i} ({what}) is not text")))
}

fn hex_param(params: &[Value], i: usize, what: &str) -> Result<Vec<u8>, RpcError> {
    let text = text_param(params, i, what)?;
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|_| invalid(format!("{what} is not hex")))
}

fn address_param(params: &[Value], i: usize, what: &str) -> Result<Address, RpcError> {
    let text = text_param(params, i, what)?;
    let with_prefix = if text.starts_with("0x") { text.to_owned() } else { format!("0x{text}") };
    with_prefix.parse().map_err(|_| invalid(format!("{what} is not an address: {}", short(text))))
}

fn hash_param(params: &[Value], i: usize, what: &str) -> Result<B256, RpcError> {
    text_param(params, i, what)?.parse().map_err(|_| invalid(format!("{what} is not a 32-byte hash")))
}

impl Chain {
    /// A new chain with its genesis block (number 0).
    pub fn new(settings: Settings) -> Self {
        let evm = Evm::new(settings.suite);
        let mut chain =
            Self { settings, evm, blocks: Vec::new(), mined: HashMap::new(), nonces: HashSet::new(), logs: Vec::new() };
        chain.seal(Vec::new());
        chain
    }

    /// The chain's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The latest block number.
    pub fn head(&self) -> u64 {
        self.blocks.len().saturating_sub(1) as u64
    }

    fn seal(&mut self, transactions: Vec<B256>) -> u64 {
        let number = self.blocks.len() as u64;
        let parent = self.blocks.last().map(|b| b.hash).unwrap_or_default();
        // Strictly increasing, in milliseconds as FISCO BCOS counts.
        let timestamp_ms = now_ms().max(self.blocks.last().map_or(0, |b| b.timestamp_ms + 1));
        let mut preimage = Vec::with_capacity(8 + 32 + 8 + 32 * transactions.len());
        preimage.extend_from_slice(&number.to_be_bytes());
        preimage.extend_from_slice(parent.as_slice());
        preimage.extend_from_slice(&timestamp_ms.to_be_bytes());
        for tx in &transactions {
            preimage.extend_from_slice(tx.as_slice());
        }
        let hash = B256::from(self.settings.suite.hash(&preimage));
        self.blocks.push(Block { hash, parent, timestamp_ms, transactions });
        number
    }

    /// Answers one JSON-RPC request.
    pub fn handle(&mut self, method: &str, params: &[Value]) -> Result<Value, RpcError> {
        match method {
            "getGroupInfo" => {
                self.check_group(params)?;
                Ok(self.group_info())
            }
            "getGroupList" => Ok(json!({"code": 0, "msg": "success", "groupList": [self.settings.group]})),
            "getBlockNumber" => {
                self.check_group_node(params)?;
                Ok(json!(self.head()))
            }
            "getBlockByNumber" => {
                self.check_group_node(params)?;
                let number = block_number(param(params, 2, "block number")?, "block number")?;
                self.block_json(number, flag(params, 3), flag(params, 4))
            }
            "getBlockByHash" => {
                self.check_group_node(params)?;
                let hash = hash_param(params, 2, "block hash")?;
                let number = self
                    .blocks
                    .iter()
                    .position(|b| b.hash == hash)
                    .ok_or_else(|| invalid(format!("block {hash} not found")))?;
                self.block_json(number as u64, flag(params, 3), flag(params, 4))
            }
            "getTransaction" => {
                self.check_group_node(params)?;
                let hash = hash_param(params, 2, "transaction hash")?;
                let mined = self.mined.get(&hash).ok_or_else(|| invalid(format!("transaction {hash} not found")))?;
                Ok(self.transaction_json(&hash, mined))
            }
            "getTransactionReceipt" => {
                self.check_group_node(params)?;
                let hash = hash_param(params, 2, "transaction hash")?;
                let mined = self.mined.get(&hash).ok_or_else(|| invalid(format!("receipt of {hash} not found")))?;
                Ok(mined.receipt.clone())
            }
            "getCode" => {
                self.check_group_node(params)?;
                let address = address_param(params, 2, "address")?;
                Ok(json!(hex0x(&self.evm.code(address))))
            }
            "call" => {
                self.check_group_node(params)?;
                let to = address_param(params, 2, "to")?;
                let data = hex_param(params, 3, "data")?;
                let head = self.head();
                let timestamp = self.blocks.last().map_or(0, |b| b.timestamp_ms);
                let outcome = self.evm.transact(Address::ZERO, Some(to), data.into(), head, timestamp, false);
                let (status, output) = match outcome {
                    Outcome::Success { output, .. } => (status::SUCCESS, output),
                    Outcome::Revert { output, .. } => (status::REVERT_INSTRUCTION, output),
                    Outcome::Halt { status, .. } => (status, Bytes::new()),
                };
                Ok(json!({"blockNumber": head, "output": hex0x(&output), "status": status}))
            }
            "sendTransaction" => {
                self.check_group_node(params)?;
                let bytes = hex_param(params, 2, "transaction")?;
                Ok(self.send(&bytes))
            }
            "getLogs" if self.settings.get_logs => {
                self.check_group(params)?;
                self.get_logs(param(params, 1, "filter")?)
            }
            other => Err((-32601, format!("method {} not found", short(other)))),
        }
    }

    fn check_group(&self, params: &[Value]) -> Result<(), RpcError> {
        let group = text_param(params, 0, "group")?;
        if group != self.settings.group {
            return Err((-32602, format!("group {} does not exist on this node", short(group))));
        }
        Ok(())
    }

    fn check_group_node(&self, params: &[Value]) -> Result<(), RpcError> {
        self.check_group(params)?;
        let node = text_param(params, 1, "node")?;
        if !node.is_empty() && node != self.settings.node {
            return Err((-32602, format!("node {} is not in group {}", short(node), self.settings.group)));
        }
        Ok(())
    }

    fn group_info(&self) -> Value {
        let sm = self.settings.suite == CryptoSuite::Sm;
        let ini = json!({
            "binaryInfo": {"version": "wefe-devchain"},
            "chainID": self.settings.chain_id,
            "groupID": self.settings.group,
            "smCryptoType": sm,
            "isWasm": false,
            "isAuthCheck": false,
            "isSerialExecute": true,
            "nodeID": self.settings.node,
            "nodeName": self.settings.node,
        });
        json!({
            "chainID": self.settings.chain_id,
            "groupID": self.settings.group,
            "genesisConfig": {"consensusType": "pbft", "blockTxCountLimit": 1, "txGasLimit": crate::evm::TX_GAS_LIMIT},
            "nodeList": [{
                "name": self.settings.node,
                "type": 0,
                "iniConfig": ini.to_string(),
                // 3.10 serves getLogs; 3.9 does not.
                "protocol": {"compatibilityVersion": if self.settings.get_logs { 0x030a_0000 } else { 0x0309_0000 }},
            }],
        })
    }

    /// A block as `getBlockByNumber [group, node, number, onlyHeader,
    /// onlyTxHash]` answers it: transactions as hashes or as objects.
    fn block_json(&self, number: u64, only_header: bool, only_tx_hash: bool) -> Result<Value, RpcError> {
        let block = self
            .blocks
            .get(usize::try_from(number).unwrap_or(usize::MAX))
            .ok_or_else(|| invalid(format!("block {number} does not exist (head {})", self.head())))?;
        let mut json = json!({
            "number": number,
            "hash": block.hash.to_string(),
            "timestamp": block.timestamp_ms,
            "parentInfo": if number == 0 { json!([]) } else {
                json!([{"blockNumber": number - 1, "blockHash": block.parent.to_string()}])
            },
            "version": 0,
            "sealer": 0,
            "sealerList": [],
            "gasUsed": "0",
            "extraData": "0x",
            "signatureList": [],
        });
        if !only_header {
            json["transactions"] = Value::Array(
                block
                    .transactions
                    .iter()
                    .map(|t| match self.mined.get(t) {
                        Some(mined) if !only_tx_hash => self.transaction_json(t, mined),
                        _ => json!(t.to_string()),
                    })
                    .collect(),
            );
        }
        Ok(json)
    }

    fn transaction_json(&self, hash: &B256, mined: &Mined) -> Value {
        let d = &mined.tx.data;
        json!({
            "version": d.version,
            "hash": hash.to_string(),
            "nonce": d.nonce,
            "blockLimit": d.block_limit,
            "to": d.to,
            "from": format!("{:#x}", mined.from),
            "input": hex0x(&d.input),
            "chainID": d.chain_id,
            "groupID": d.group_id,
            "abi": d.abi,
            "signature": hex0x(&mined.tx.signature),
            "importTime": mined.tx.import_time,
        })
    }

    /// A receipt for a transaction the txpool refused (never mined).
    fn refused(&self, hash: Option<B256>, code: u64, message: String) -> Value {
        json!({
            "version": 0,
            "transactionHash": hash.map(|h| h.to_string()).unwrap_or_default(),
            "blockNumber": 0,
            "status": code,
            "output": "0x",
            "gasUsed": "0",
            "contractAddress": "",
            "logEntries": [],
            "message": message,
        })
    }

    /// `sendTransaction`: decode and check it as FISCO's txpool does, then
    /// execute it in a new block and answer its receipt.
    fn send(&mut self, bytes: &[u8]) -> Value {
        let tx = match Transaction::decode(bytes) {
            Ok(tx) => tx,
            Err(e) => return self.refused(None, status::MALFORM, format!("Malform: {e}")),
        };
        let hash = B256::try_from(tx.data_hash.as_slice()).ok();
        let suite = self.settings.suite;
        let from = match tx.verify(suite) {
            Ok(from) => from,
            Err(e) => return self.refused(hash, status::INVALID_SIGNATURE, format!("InvalidSignature ({suite}): {e}")),
        };
        let hash = hash.expect("a verified transaction's hash is 32 bytes");
        let d = &tx.data;
        if d.chain_id != self.settings.chain_id {
            let message = format!("InvalidChainId: {} (this chain is {})", short(&d.chain_id), self.settings.chain_id);
            return self.refused(Some(hash), status::INVALID_CHAIN_ID, message);
        }
        if d.group_id != self.settings.group {
            let message = format!("InvalidGroupId: {} (this group is {})", short(&d.group_id), self.settings.group);
            return self.refused(Some(hash), status::INVALID_GROUP_ID, message);
        }
        let head = self.head();
        let limit = u64::try_from(d.block_limit).unwrap_or(0);
        if limit <= head || limit > head + BLOCK_LIMIT_RANGE {
            let message = format!("BlockLimitCheckFail: block limit {} with the head at {head}", d.block_limit);
            return self.refused(Some(hash), status::BLOCK_LIMIT_CHECK_FAIL, message);
        }
        if self.mined.contains_key(&hash) {
            return self.refused(Some(hash), status::TX_ALREADY_IN_CHAIN, "TxAlreadyInChain".into());
        }
        if d.nonce.is_empty() || self.nonces.contains(&d.nonce) {
            return self.refused(Some(hash), status::NONCE_CHECK_FAIL, "NonceCheckFail: nonce already used".into());
        }
        let to = if d.to.is_empty() {
            None
        } else {
            match d.to.parse::<Address>().or_else(|_| format!("0x{}", d.to).parse()) {
                Ok(a) => Some(a),
                Err(_) => return self.refused(Some(hash), status::MALFORM, format!("Malform: to {}", short(&d.to))),
            }
        };
        let number = head + 1;
        let timestamp = now_ms().max(self.blocks.last().map_or(0, |b| b.timestamp_ms + 1));
        let outcome = self.evm.transact(from, to, d.input.clone().into(), number, timestamp, true);
        self.nonces.insert(d.nonce.clone());
        let sealed = self.seal(vec![hash]);
        debug_assert_eq!(sealed, number);
        let (code, output, gas_used, logs, created) = match outcome {
            Outcome::Success { gas_used, output, logs, created } => (status::SUCCESS, output, gas_used, logs, created),
            Outcome::Revert { gas_used, output } => (status::REVERT_INSTRUCTION, output, gas_used, Vec::new(), None),
            Outcome::Halt { gas_used, status } => (status, Bytes::new(), gas_used, Vec::new(), None),
        };
        let entries: Vec<Value> = logs
            .iter()
            .map(|l| {
                json!({
                    // FISCO writes log addresses without 0x.
                    "address": hex::encode(l.address),
                    "topics": l.data.topics().iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                    "data": hex0x(&l.data.data),
                })
            })
            .collect();
        for (i, l) in logs.into_iter().enumerate() {
            self.logs.push(Log {
                address: l.address,
                topics: l.data.topics().to_vec(),
                data: l.data.data,
                block: number,
                tx: hash,
                // FISCO numbers logs within their receipt (one transaction per block here: index 0).
                index: i as u64,
            });
        }
        let receipt = json!({
            "version": 0,
            "transactionHash": hash.to_string(),
            "hash": B256::from(suite.hash(&[hash.as_slice(), &code.to_be_bytes()].concat())).to_string(),
            "blockNumber": number,
            "from": format!("{from:#x}"),
            "to": d.to,
            "status": code,
            "output": hex0x(&output),
            "gasUsed": gas_used.to_string(),
            "contractAddress": created.map(|a| format!("{a:#x}")).unwrap_or_default(),
            "logEntries": entries,
            "message": if code == status::SUCCESS { String::new() } else { format!("status {code}") },
        });
        self.mined.insert(hash, Mined { tx, from, receipt: receipt.clone() });
        receipt
    }

    /// `getLogs [group, filter]` (FISCO 3.10+): at most `max_log_blocks`
    /// blocks from `fromBlock` are read, the rest dropped, as FISCO does.
    fn get_logs(&self, filter: &Value) -> Result<Value, RpcError> {
        let from = match filter.get("fromBlock") {
            None | Some(Value::Null) => self.head(),
            Some(v) => block_number(v, "fromBlock")?,
        };
        let to = match filter.get("toBlock") {
            None | Some(Value::Null) => self.head(),
            Some(v) => block_number(v, "toBlock")?,
        };
        let to = to.min(from.saturating_add(self.settings.max_log_blocks.max(1) - 1)).min(self.head());
        let addresses: Vec<Address> = match filter.get("address") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(a)) => vec![address_param(&[json!(a)], 0, "address")?],
            Some(Value::Array(list)) => {
                list.iter().map(|a| address_param(std::slice::from_ref(a), 0, "address")).collect::<Result<_, _>>()?
            }
            Some(_) => return Err(invalid("address: not an address or a list")),
        };
        let topics: Vec<Vec<B256>> = match filter.get("topics") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(positions)) => positions
                .iter()
                .map(|p| match p {
                    Value::Null => Ok(Vec::new()),
                    Value::String(_) => Ok(vec![hash_param(std::slice::from_ref(p), 0, "topic")?]),
                    Value::Array(any) => any.iter().map(|t| hash_param(std::slice::from_ref(t), 0, "topic")).collect(),
                    _ => Err(invalid("topics: not a topic, a list or null")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("topics: not a list")),
        };
        let out: Vec<Value> = self
            .logs
            .iter()
            .filter(|l| l.block >= from && l.block <= to)
            .filter(|l| addresses.is_empty() || addresses.contains(&l.address))
            .filter(|l| {
                // As FISCO's LogMatcher: more filter positions than the log has topics never match.
                topics.len() <= l.topics.len()
                    && topics.iter().zip(&l.topics).all(|(any, t)| any.is_empty() || any.contains(t))
            })
            .map(|l| {
                json!({
                    "address": format!("{:#x}", l.address),
                    "topics": l.topics.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                    "data": hex0x(&l.data),
                    "blockNumber": format!("{:#x}", l.block),
                    "blockHash": self.blocks[l.block as usize].hash.to_string(),
                    "transactionHash": l.tx.to_string(),
                    "transactionIndex": "0x0",
                    "logIndex": format!("{:#x}", l.index),
                    "removed": false,
                })
            })
            .collect();
        Ok(Value::Array(out))
    }
}
