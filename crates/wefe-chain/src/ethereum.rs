use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Log, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportError};

use crate::abi::decode_revert;
use crate::config::check_rpc_url;
use crate::{ChainBackend, ChainError, ChainLog, LogQuery, Result, TxOutcome};

/// Longest wait for a TCP (and TLS) connection to the chain node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the answer to one JSON-RPC request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// [`ChainBackend`] over Ethereum JSON-RPC (HTTP) with alloy: anvil, geth, Besu,
/// FISCO BCOS 3.x Web3 RPC. Transactions are signed locally by the configured key.
#[derive(Debug, Clone)]
pub struct EthereumBackend {
    provider: DynProvider,
    url: String,
    sender: Option<Address>,
    receipt_timeout: Duration,
    /// Contract names by address, so reverts decode against the called contract first.
    names: Vec<(Address, &'static str)>,
    /// Most blocks one `eth_getLogs` may span (FISCO BCOS's Web3 RPC reads at
    /// most `filter_max_process_block`, 10 by default, and says nothing of the rest).
    max_log_blocks: Option<u64>,
    /// Whether the chain prices gas as EIP-1559 does (asked once, at the first send).
    eip1559: std::sync::Arc<tokio::sync::OnceCell<bool>>,
}

impl EthereumBackend {
    /// Connects to `url`, checks the node's chain id against `expected_chain_id`
    /// (when given) and keeps `signer` (when given) for transactions.
    pub async fn connect(
        url: &str,
        expected_chain_id: Option<u64>,
        signer: Option<PrivateKeySigner>,
        receipt_timeout: Duration,
    ) -> Result<Self> {
        Self::connect_with_request_timeout(url, expected_chain_id, signer, receipt_timeout, REQUEST_TIMEOUT).await
    }

    /// [`connect`](Self::connect) with another deadline per JSON-RPC request.
    pub async fn connect_with_request_timeout(
        url: &str,
        expected_chain_id: Option<u64>,
        signer: Option<PrivateKeySigner>,
        receipt_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self> {
        check_rpc_url(url).map_err(|message| ChainError::Config { path: "rpc url".into(), message })?;
        let parsed: alloy::transports::http::reqwest::Url =
            url.parse().map_err(|e| ChainError::Config { path: "rpc url".into(), message: format!("'{url}': {e}") })?;
        let sender = signer.as_ref().map(|s| s.address());
        // Every request has a deadline: a chain node that accepts a
        // connection and never answers must not stall its caller (a node's
        // listener, reporter or member directory) for ever.
        let http = alloy::transports::http::reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .build()
            .map_err(|e| ChainError::Config { path: "rpc url".into(), message: format!("HTTP client: {e}") })?;
        let client = || alloy::rpc::client::RpcClient::new_http_with_client(http.clone(), parsed.clone());
        let provider = match signer {
            // The nonce is read from the node for every transaction: a cached
            // nonce drifts when a call is refused at gas estimation (it is
            // counted but never sent) and every later transaction then waits
            // forever behind the gap. Callers send one transaction at a time.
            Some(signer) => ProviderBuilder::new()
                .disable_recommended_fillers()
                .with_gas_estimation()
                .with_simple_nonce_management()
                .fetch_chain_id()
                .wallet(EthereumWallet::from(signer))
                .connect_client(client())
                .erased(),
            None => ProviderBuilder::new().connect_client(client()).erased(),
        };
        let backend = Self {
            provider,
            url: url.to_owned(),
            sender,
            receipt_timeout,
            names: Vec::new(),
            max_log_blocks: None,
            eip1559: Default::default(),
        };
        let actual = backend.chain_id().await?;
        if let Some(expected) = expected_chain_id
            && expected != actual
        {
            return Err(ChainError::ChainIdMismatch { expected, actual, url: url.to_owned() });
        }
        Ok(backend)
    }

    /// Names contracts by address so their custom errors decode unambiguously.
    pub fn with_contract_names(mut self, names: Vec<(Address, &'static str)>) -> Self {
        self.names = names;
        self
    }

    /// Reads logs in requests of at most `blocks` blocks each (`chain.toml`
    /// `max_log_blocks`; FISCO BCOS Web3 RPC: its `filter_max_process_block`).
    pub fn with_max_log_blocks(mut self, blocks: u64) -> Self {
        self.max_log_blocks = Some(blocks.max(1));
        self
    }

    /// Whether to price transactions as EIP-1559 does: the chain answers
    /// `eth_feeHistory` and its blocks carry a base fee. FISCO BCOS's Web3 RPC
    /// has no `eth_feeHistory` (and no base fee before 3.16.4): transactions
    /// there are legacy ones at `eth_gasPrice` (0). The node's answer is
    /// kept; a failure to reach it is not an answer (that send is a legacy
    /// one, which every chain takes, and the next send asks again).
    async fn prices_eip1559(&self) -> bool {
        if let Some(known) = self.eip1559.get() {
            return *known;
        }
        let history = self.provider.get_fee_history(1, alloy::eips::BlockNumberOrTag::Latest, &[]).await;
        let latest = self.provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await;
        let unreached = matches!(&history, Err(alloy::transports::RpcError::Transport(_)))
            || matches!(&latest, Err(alloy::transports::RpcError::Transport(_)));
        let eip1559 = matches!((history, latest), (Ok(_), Ok(Some(b))) if b.header.base_fee_per_gas.is_some());
        if !unreached {
            let _ = self.eip1559.set(eip1559);
        }
        eip1559
    }

    /// A block's hash and timestamp, read as JSON: FISCO BCOS's Web3 blocks lack
    /// fields a full block type wants (`mixHash` before 3.16.4).
    async fn block_fields(&self, number: u64) -> Result<Option<(B256, u64)>> {
        let block: Option<serde_json::Value> = self
            .provider
            .client()
            .request("eth_getBlockByNumber", (format!("{number:#x}"), false))
            .await
            .map_err(|e| self.map_err(e, None))?;
        let Some(block) = block.filter(|b| !b.is_null()) else { return Ok(None) };
        let bad =
            |what: &str| ChainError::Decode { what: format!("block {number}"), message: format!("bad or no {what}") };
        let hash: B256 =
            block.get("hash").and_then(|h| h.as_str()).and_then(|h| h.parse().ok()).ok_or_else(|| bad("hash"))?;
        let time = block
            .get("timestamp")
            .and_then(|t| t.as_str())
            .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| bad("timestamp"))?;
        // FISCO BCOS before 3.12 answered milliseconds: no second count is that large before the year 2286.
        let seconds = if time > 10_000_000_000 { time / 1000 } else { time };
        Ok(Some((hash, seconds)))
    }

    fn name_of(&self, to: Option<Address>) -> Option<&'static str> {
        let to = to?;
        self.names.iter().find(|(a, _)| *a == to).map(|(_, n)| *n)
    }

    fn map_err(&self, err: TransportError, to: Option<Address>) -> ChainError {
        if let RpcError::ErrorResp(payload) = &err {
            if let Some(data) = payload.as_revert_data() {
                let decoded = decode_revert(&data, self.name_of(to));
                return ChainError::Reverted {
                    contract: decoded.contract,
                    error: decoded.error,
                    message: decoded.message,
                };
            }
            // FISCO BCOS's Web3 RPC reports a revert as code 16 (its RevertInstruction
            // status), the revert data in `data`.
            if payload.code == 16 {
                let data = payload
                    .data
                    .as_ref()
                    .and_then(|d| serde_json::from_str::<String>(d.get()).ok())
                    .and_then(|d| hex::decode(d.trim_start_matches("0x")).ok())
                    .unwrap_or_default();
                let decoded = decode_revert(&data, self.name_of(to));
                return ChainError::Reverted {
                    contract: decoded.contract,
                    error: decoded.error,
                    message: decoded.message,
                };
            }
            if payload.message.contains("revert") {
                return ChainError::Reverted { contract: None, error: None, message: payload.message.to_string() };
            }
        }
        let message = match &err {
            RpcError::Transport(kind) => format!("cannot reach the node ({kind})"),
            other => other.to_string(),
        };
        ChainError::Rpc { url: self.url.clone(), message }
    }

    async fn wait_for_receipt(&self, tx_hash: alloy::primitives::B256) -> Result<TransactionReceipt> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            match self.provider.get_transaction_receipt(tx_hash).await {
                Ok(Some(receipt)) => return Ok(receipt),
                Ok(None) => {}
                Err(e) => {
                    return Err(ChainError::ReceiptUnavailable {
                        tx_hash,
                        url: self.url.clone(),
                        message: e.to_string(),
                    });
                }
            }
            if started.elapsed() >= self.receipt_timeout {
                return Err(ChainError::ReceiptTimeout { tx_hash, waited: started.elapsed() });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

fn to_chain_log(log: &Log) -> Result<ChainLog> {
    let missing = |what: &str| ChainError::Decode { what: "log".into(), message: format!("node omitted {what}") };
    Ok(ChainLog {
        address: log.address(),
        topics: log.topics().to_vec(),
        data: log.data().data.clone(),
        block_number: log.block_number.ok_or_else(|| missing("blockNumber"))?,
        block_hash: log.block_hash,
        tx_hash: log.transaction_hash.ok_or_else(|| missing("transactionHash"))?,
        log_index: log.log_index.ok_or_else(|| missing("logIndex"))?,
    })
}

impl ChainBackend for EthereumBackend {
    fn url(&self) -> &str {
        &self.url
    }

    fn sender(&self) -> Option<Address> {
        self.sender
    }

    async fn chain_id(&self) -> Result<u64> {
        self.provider.get_chain_id().await.map_err(|e| self.map_err(e, None))
    }

    async fn head_block(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(|e| self.map_err(e, None))
    }

    async fn call(&self, to: Address, input: Bytes) -> Result<Bytes> {
        let mut request = TransactionRequest::default().with_to(to).with_input(input);
        if let Some(from) = self.sender {
            request = request.with_from(from);
        }
        self.provider.call(request).await.map_err(|e| self.map_err(e, Some(to)))
    }

    async fn send(&self, to: Option<Address>, input: Bytes) -> Result<TxOutcome> {
        let from = self.sender.ok_or(ChainError::NoSigner)?;
        let mut request = TransactionRequest::default().with_from(from).with_input(input);
        request = match to {
            Some(to) => request.with_to(to),
            None => request.into_create(),
        };
        // Gas estimation runs the call first: a call the contract rejects fails
        // here with its custom error, and nothing is sent. The limit gets a
        // margin: another party's transaction mined first can make this one
        // take a costlier path (e.g. the last report completing the job).
        let estimate = self.provider.estimate_gas(request.clone()).await.map_err(|e| self.map_err(e, to))?;
        let mut request = request.with_gas_limit(estimate.saturating_mul(5) / 4 + 20_000);
        if !self.prices_eip1559().await {
            let price = self.provider.get_gas_price().await.map_err(|e| self.map_err(e, to))?;
            request = request.with_gas_price(price);
        }
        let pending = self.provider.send_transaction(request).await.map_err(|e| self.map_err(e, to))?;
        let tx_hash = *pending.tx_hash();
        let receipt = self.wait_for_receipt(tx_hash).await?;
        let block = receipt.block_number.unwrap_or_default();
        if !receipt.status() {
            return Err(ChainError::TxReverted { tx_hash, block });
        }
        let logs = receipt.inner.logs().iter().map(to_chain_log).collect::<Result<Vec<_>>>()?;
        Ok(TxOutcome {
            tx_hash,
            block_number: block,
            gas_used: receipt.gas_used,
            contract_address: receipt.contract_address,
            logs,
        })
    }

    /// `eth_getLogs` with every filter field present (FISCO BCOS's Web3 RPC
    /// refuses a missing or null one), in steps of `max_log_blocks` blocks.
    async fn logs(&self, query: &LogQuery) -> Result<Vec<ChainLog>> {
        let topics = crate::backend::filter_topics(&query.event_signatures, &query.topic1);
        let addresses: Vec<String> = query.addresses.iter().map(|a| format!("{a:#x}")).collect();
        let step = self.max_log_blocks.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut from = query.from_block;
        while from <= query.to_block {
            let to = query.to_block.min(from.saturating_add(step - 1));
            let filter = serde_json::json!({
                "fromBlock": format!("{from:#x}"),
                "toBlock": format!("{to:#x}"),
                "address": addresses,
                "topics": topics,
            });
            let logs: Vec<Log> =
                self.provider.client().request("eth_getLogs", (filter,)).await.map_err(|e| self.map_err(e, None))?;
            for log in &logs {
                out.push(to_chain_log(log)?);
            }
            if to == u64::MAX {
                break;
            }
            from = to + 1;
        }
        Ok(out)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<alloy::primitives::B256>> {
        Ok(self.block_fields(number).await?.map(|(hash, _)| hash))
    }

    async fn transaction_sender(&self, tx_hash: alloy::primitives::B256) -> Result<Option<Address>> {
        let receipt = self.provider.get_transaction_receipt(tx_hash).await.map_err(|e| self.map_err(e, None))?;
        Ok(receipt.map(|r| r.from))
    }

    async fn block_time(&self, number: u64) -> Result<Option<u64>> {
        Ok(self.block_fields(number).await?.map(|(_, time)| time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FISCO BCOS 3.x's Web3 endpoint as its sources say it answers (3.12 to
    /// 3.16.3; see the README): chain id 20200, gas price 0, no
    /// `eth_feeHistory`, blocks without `baseFeePerGas` or `mixHash`, reverts as
    /// error code 16 with the revert data, receipts carrying the created
    /// contract's address, and `eth_getLogs` that wants all four filter fields
    /// and reads at most 10 blocks a request (silently).
    mod fisco_web3 {
        use std::sync::{Arc, Mutex};

        use alloy::consensus::{Transaction as _, TxEnvelope};
        use alloy::eips::eip2718::Decodable2718;
        use alloy::primitives::{B256, U256};
        use alloy::sol_types::SolValue;
        use serde_json::{Value, json};

        use super::*;

        const CREATED: &str = "0x6849F21D1E455E9f0712b1e99fA4FcD23758E8F1";

        #[derive(Default)]
        struct Chain {
            head: u64,
            sent: Vec<TxEnvelope>,
            filters: Vec<Value>,
            /// `eth_feeHistory` requests seen; the first `fee_history_drops` lose their connection.
            fee_history_asked: u32,
            fee_history_drops: u32,
        }

        fn block(n: u64) -> Value {
            json!({
                "number": format!("{n:#x}"), "hash": format!("0x{:064x}", n + 1000), "parentHash": format!("0x{:064x}", n + 999),
                "nonce": "0x0000000000000000", "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
                "logsBloom": format!("0x{}", "00".repeat(256)), "transactionsRoot": format!("0x{:064x}", 1),
                "stateRoot": format!("0x{:064x}", 2), "receiptsRoot": format!("0x{:064x}", 3),
                "miner": "0x0000000000000000000000000000000000000000", "difficulty": "0x0", "totalDifficulty": "0x0",
                "extraData": "0x", "size": "0x100", "gasLimit": "0x1c9c380", "gasUsed": "0x0",
                "timestamp": format!("{:#x}", 1_700_000_000 + n), "transactions": [], "uncles": [],
            })
        }

        fn answer(chain: &Mutex<Chain>, method: &str, params: &[Value]) -> crate::test_rpc::Answer {
            let mut chain = chain.lock().unwrap();
            match method {
                "eth_chainId" => Ok(json!("0x4ee8")),
                "eth_gasPrice" => Ok(json!("0x0")),
                "eth_feeHistory" => {
                    chain.fee_history_asked += 1;
                    if chain.fee_history_asked <= chain.fee_history_drops {
                        return Err(json!(crate::test_rpc::DROP_CONNECTION));
                    }
                    Err(json!({"code": -32601, "message": "Method not found"}))
                }
                "eth_blockNumber" => Ok(json!(format!("{:#x}", chain.head))),
                "eth_getBlockByNumber" => {
                    let n = match params[0].as_str().unwrap() {
                        "latest" | "pending" | "safe" | "finalized" => chain.head,
                        hex => u64::from_str_radix(&hex[2..], 16).unwrap(),
                    };
                    Ok(if n <= chain.head { block(n) } else { Value::Null })
                }
                "eth_getTransactionCount" => Ok(json!(format!("{:#x}", chain.sent.len()))),
                "eth_estimateGas" => Ok(json!("0x5208")),
                "eth_sendRawTransaction" => {
                    let raw = hex::decode(params[0].as_str().unwrap().trim_start_matches("0x")).unwrap();
                    let tx = TxEnvelope::decode_2718(&mut raw.as_slice()).unwrap();
                    if tx.chain_id() != Some(20200) {
                        return Err(json!({"code": -32602, "message": "Replayed transaction!"}));
                    }
                    let hash = *tx.tx_hash();
                    chain.sent.push(tx);
                    chain.head += 1;
                    Ok(json!(format!("{hash:#x}")))
                }
                "eth_getTransactionReceipt" => {
                    let hash: B256 = params[0].as_str().unwrap().parse().unwrap();
                    let Some(index) = chain.sent.iter().position(|t| *t.tx_hash() == hash) else {
                        return Ok(Value::Null);
                    };
                    let create = chain.sent[index].to().is_none();
                    let number = index as u64 + 1;
                    Ok(json!({
                        "status": "0x1", "transactionHash": format!("{hash:#x}"), "transactionIndex": "0x0",
                        "blockHash": format!("0x{:064x}", number + 1000), "blockNumber": format!("{number:#x}"),
                        "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "to": if create { Value::Null } else { json!(CREATED) },
                        "cumulativeGasUsed": "0x5208", "gasUsed": "0x5208", "effectiveGasPrice": "0x0",
                        "contractAddress": if create { json!(CREATED) } else { Value::Null },
                        "logs": [], "logsBloom": format!("0x{}", "00".repeat(256)), "type": "0x0",
                    }))
                }
                "eth_call" => {
                    let data = params[0]["data"].as_str().or(params[0]["input"].as_str()).unwrap_or("0x");
                    if data.starts_with("0x0badf00d") {
                        // require(x) / revert(): code 16 and no reason.
                        Err(json!({"code": 16, "message": "RevertInstruction", "data": "0x"}))
                    } else if data.starts_with("0xdeadbeef") {
                        let revert = format!("0x08c379a0{}", hex::encode(("refused".to_owned(),).abi_encode_params()));
                        Err(json!({"code": 16, "message": "RevertInstruction", "data": revert}))
                    } else {
                        Ok(json!(format!("0x{}", hex::encode(U256::from(5).abi_encode()))))
                    }
                }
                "eth_getLogs" => {
                    let filter = params[0].clone();
                    chain.filters.push(filter.clone());
                    for key in ["fromBlock", "toBlock", "address", "topics"] {
                        if filter.get(key).is_none_or(Value::is_null) {
                            return Err(json!({"code": -32000, "message": format!("{key} is null")}));
                        }
                    }
                    let number = |k: &str| {
                        u64::from_str_radix(filter[k].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
                    };
                    let (from, to) = (number("fromBlock"), number("toBlock"));
                    // At most 10 blocks a request, without saying so.
                    let to = to.min(from + 9);
                    Ok(Value::Array((from..=to).map(|n| json!({
                        "address": CREATED.to_lowercase(), "topics": [format!("0x{:064x}", 77)], "data": "0x",
                        "blockNumber": format!("{n:#x}"), "blockHash": format!("0x{:064x}", n + 1000),
                        "transactionHash": format!("0x{:064x}", n), "transactionIndex": "0x0", "logIndex": "0x0", "removed": false,
                    })).collect()))
                }
                other => Err(json!({"code": -32601, "message": format!("Method not found: {other}")})),
            }
        }

        async fn node() -> (String, Arc<Mutex<Chain>>) {
            let chain = Arc::new(Mutex::new(Chain { head: 30, ..Chain::default() }));
            let state = Arc::clone(&chain);
            (crate::test_rpc::serve(move |m, p| answer(&state, m, p)).await, chain)
        }

        fn signer() -> PrivateKeySigner {
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap()
        }

        #[tokio::test]
        async fn deploys_with_a_zero_gas_price_and_reads_the_created_address_from_the_receipt() {
            let (url, chain) = node().await;
            assert!(
                EthereumBackend::connect(&url, Some(31337), None, Duration::from_secs(5)).await.is_err(),
                "20200 ≠ 31337"
            );
            let backend =
                EthereumBackend::connect(&url, Some(20200), Some(signer()), Duration::from_secs(5)).await.unwrap();
            let outcome = backend.send(None, Bytes::from_static(&[0x60, 0x00])).await.unwrap();
            assert_eq!(outcome.contract_address, Some(CREATED.parse().unwrap()));
            let sent = &chain.lock().unwrap().sent[0];
            assert_eq!(sent.gas_price(), Some(0), "a legacy transaction at the chain's gas price (no eth_feeHistory)");
            assert_eq!(sent.chain_id(), Some(20200));
        }

        /// The node's "no eth_feeHistory" is remembered; a dropped connection is not an answer.
        #[tokio::test]
        async fn fee_market_detection_remembers_answers_not_transport_failures() {
            let (url, chain) = node().await;
            chain.lock().unwrap().fee_history_drops = 1;
            let backend =
                EthereumBackend::connect(&url, Some(20200), Some(signer()), Duration::from_secs(5)).await.unwrap();
            for _ in 0..3 {
                backend.send(None, Bytes::from_static(&[0x60, 0x00])).await.unwrap();
            }
            let chain = chain.lock().unwrap();
            assert_eq!(chain.fee_history_asked, 2, "asked again after the dropped connection, then never");
            assert!(chain.sent.iter().all(|t| t.gas_price() == Some(0)), "legacy transactions throughout");
        }

        #[tokio::test]
        async fn a_revert_reported_as_code_16_is_decoded() {
            let (url, _) = node().await;
            let backend = EthereumBackend::connect(&url, Some(20200), None, Duration::from_secs(5)).await.unwrap();
            let to: Address = CREATED.parse().unwrap();
            let e = backend.call(to, Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])).await.unwrap_err();
            assert!(matches!(&e, ChainError::Reverted { .. }) && e.to_string().contains("refused"), "{e}");
            assert_eq!(backend.call(to, Bytes::from_static(&[1, 2, 3, 4])).await.unwrap().len(), 32);
            let e = backend.call(to, Bytes::from_static(&[0x0b, 0xad, 0xf0, 0x0d])).await.unwrap_err();
            assert!(matches!(&e, ChainError::Reverted { .. }), "a revert without a reason is still a revert: {e}");
        }

        #[tokio::test]
        async fn blocks_without_base_fee_or_mix_hash_are_read() {
            let (url, _) = node().await;
            let backend = EthereumBackend::connect(&url, Some(20200), None, Duration::from_secs(5)).await.unwrap();
            assert_eq!(backend.block_hash(7).await.unwrap(), Some(B256::from(U256::from(1007))));
            assert_eq!(backend.block_time(7).await.unwrap(), Some(1_700_000_007));
            assert_eq!(backend.block_hash(99).await.unwrap(), None);
        }

        #[tokio::test]
        async fn logs_are_read_in_steps_the_node_accepts_with_every_filter_field() {
            let (url, chain) = node().await;
            let backend = EthereumBackend::connect(&url, Some(20200), None, Duration::from_secs(5))
                .await
                .unwrap()
                .with_max_log_blocks(10);
            let query = LogQuery {
                addresses: vec![CREATED.parse().unwrap()],
                from_block: 1,
                to_block: 25,
                ..LogQuery::default()
            };
            let logs = backend.logs(&query).await.unwrap();
            assert_eq!(logs.len(), 25, "every block's log, not the first 10");
            assert_eq!(logs.iter().map(|l| l.block_number).collect::<Vec<_>>(), (1..=25).collect::<Vec<_>>());
            assert_eq!(chain.lock().unwrap().filters.len(), 3, "1–10, 11–20, 21–25");
        }
    }

    /// A chain node that accepts connections and never answers fails the
    /// call after the request deadline instead of hanging its caller.
    #[tokio::test]
    async fn a_silent_rpc_node_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket); // read nothing, answer nothing
            }
        });
        let started = Instant::now();
        let connected = EthereumBackend::connect_with_request_timeout(
            &url,
            None,
            None,
            Duration::from_secs(5),
            Duration::from_millis(500),
        )
        .await;
        assert!(connected.is_err(), "a silent node answered");
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        held.abort();
    }
}
