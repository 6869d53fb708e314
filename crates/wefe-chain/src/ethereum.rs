use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest};
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
        let backend = Self { provider, url: url.to_owned(), sender, receipt_timeout, names: Vec::new() };
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
        let request = request.with_gas_limit(estimate.saturating_mul(5) / 4 + 20_000);
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

    async fn logs(&self, query: &LogQuery) -> Result<Vec<ChainLog>> {
        let mut filter = Filter::new().from_block(query.from_block).to_block(query.to_block);
        if !query.addresses.is_empty() {
            filter = filter.address(query.addresses.clone());
        }
        if !query.event_signatures.is_empty() {
            filter = filter.event_signature(query.event_signatures.clone());
        }
        if !query.topic1.is_empty() {
            filter = filter.topic1(query.topic1.clone());
        }
        let logs = self.provider.get_logs(&filter).await.map_err(|e| self.map_err(e, None))?;
        logs.iter().map(to_chain_log).collect()
    }

    async fn block_hash(&self, number: u64) -> Result<Option<alloy::primitives::B256>> {
        let block = self.provider.get_block_by_number(number.into()).await.map_err(|e| self.map_err(e, None))?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn transaction_sender(&self, tx_hash: alloy::primitives::B256) -> Result<Option<Address>> {
        let receipt = self.provider.get_transaction_receipt(tx_hash).await.map_err(|e| self.map_err(e, None))?;
        Ok(receipt.map(|r| r.from))
    }

    async fn block_time(&self, number: u64) -> Result<Option<u64>> {
        let block = self.provider.get_block_by_number(number.into()).await.map_err(|e| self.map_err(e, None))?;
        Ok(block.map(|b| b.header.timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
