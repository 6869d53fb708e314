use std::future::Future;

use alloy::primitives::{Address, B256, Bytes};

use crate::Result;

/// One log entry as the chain returned it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainLog {
    /// Emitting contract.
    pub address: Address,
    /// Topic 0 is the event signature hash (for non-anonymous events).
    pub topics: Vec<B256>,
    /// ABI-encoded non-indexed fields.
    pub data: Bytes,
    /// Block number.
    pub block_number: u64,
    /// Block hash (lets a listener notice reorgs).
    pub block_hash: Option<B256>,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Position of the log in its block.
    pub log_index: u64,
}

/// What a mined transaction produced.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    /// Transaction hash.
    pub tx_hash: B256,
    /// Block it was mined in.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// The created contract, for deployments.
    pub contract_address: Option<Address>,
    /// The logs it emitted.
    pub logs: Vec<ChainLog>,
}

/// Which logs to fetch.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Emitting contracts (empty = any).
    pub addresses: Vec<Address>,
    /// First block, inclusive.
    pub from_block: u64,
    /// Last block, inclusive.
    pub to_block: u64,
    /// Topic-0 filter (empty = any event).
    pub event_signatures: Vec<B256>,
    /// Topic-1 filter, the first indexed field (empty = any): e.g. a job id.
    pub topic1: Vec<B256>,
}

/// What the rest of wefe needs from a chain. Implementations: [`crate::EthereumBackend`]
/// (alloy over HTTP); a FISCO BCOS native backend follows the same contract.
pub trait ChainBackend: Send + Sync {
    /// The RPC endpoint, for messages.
    fn url(&self) -> &str;
    /// The account that signs transactions, if a key is configured.
    fn sender(&self) -> Option<Address>;
    /// The chain's hash and signature suite: what its KECCAK256 opcode computes
    /// (SM3 on a FISCO BCOS SM chain), so hashes the contracts store are checked
    /// with the same function.
    fn suite(&self) -> crate::CryptoSuite {
        crate::CryptoSuite::Ecdsa
    }
    /// The chain id the node reports.
    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send;
    /// The latest block number.
    fn head_block(&self) -> impl Future<Output = Result<u64>> + Send;
    /// A read-only call at the latest block; reverts come back as [`crate::ChainError::Reverted`].
    fn call(&self, to: Address, input: Bytes) -> impl Future<Output = Result<Bytes>> + Send;
    /// Signs and sends a transaction (`to == None` deploys `input` as init code) and waits for its
    /// receipt. A call the contract would reject fails before anything is sent.
    fn send(&self, to: Option<Address>, input: Bytes) -> impl Future<Output = Result<TxOutcome>> + Send;
    /// Logs matching `query`.
    fn logs(&self, query: &LogQuery) -> impl Future<Output = Result<Vec<ChainLog>>> + Send;
    /// The hash of block `number` on the node's current chain (None beyond the head).
    fn block_hash(&self, number: u64) -> impl Future<Output = Result<Option<B256>>> + Send;
    /// The account that sent a mined transaction (None when the node does not know it).
    fn transaction_sender(&self, tx_hash: B256) -> impl Future<Output = Result<Option<Address>>> + Send;
    /// The timestamp of block `number` in seconds since the Unix epoch, as the
    /// block's producer set it (None beyond the head). Chains that count in
    /// milliseconds (FISCO BCOS) are converted by their backend.
    fn block_time(&self, number: u64) -> impl Future<Output = Result<Option<u64>>> + Send;
}

/// The `topics` of a log filter for topic-0 and topic-1 alternatives (empty:
/// any), with trailing wildcards left out: FISCO's `getLogs` and geth skip a
/// log with fewer topics than the filter has positions, even null ones.
pub(crate) fn filter_topics(topic0: &[B256], topic1: &[B256]) -> Vec<serde_json::Value> {
    let any_of = |list: &[B256]| {
        if list.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(list.iter().map(|t| format!("{t:#x}")).collect::<Vec<_>>())
        }
    };
    let mut topics = vec![any_of(topic0), any_of(topic1)];
    while topics.last().is_some_and(serde_json::Value::is_null) {
        topics.pop();
    }
    topics
}
