//! The backend `chain.toml` names: [`EthereumBackend`] (`backend = "ethereum"`:
//! anvil, geth, Besu, FISCO BCOS's Web3 RPC) or [`FiscoBackend`] (`backend =
//! "fisco"`: FISCO BCOS 3.x native JSON-RPC), behind one type so the CLI, the
//! node and the console take either.

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};

use crate::config::ChainSection;
use crate::fisco::{FiscoBackend, FiscoSettings};
use crate::{
    ChainBackend, ChainConfig, ChainError, ChainLog, CryptoSuite, EthereumBackend, Governance, LogQuery, Result,
    SuiteKey, TxOutcome,
};

/// Either backend.
#[derive(Debug, Clone)]
pub enum AnyBackend {
    /// Ethereum JSON-RPC.
    Ethereum(EthereumBackend),
    /// FISCO BCOS 3.x native JSON-RPC (boxed: it carries its settings and key).
    Fisco(Box<FiscoBackend>),
}

impl AnyBackend {
    /// Connects as `config` says, with `key` (when given) for transactions,
    /// and names the contracts for revert decoding.
    pub async fn connect(config: &ChainConfig, key: Option<SuiteKey>) -> Result<Self> {
        let names = Governance::<Self>::contract_names(&config.contracts);
        Ok(match Self::connect_chain(&config.chain, key).await? {
            Self::Ethereum(b) => Self::Ethereum(b.with_contract_names(names)),
            Self::Fisco(b) => Self::Fisco(Box::new(b.with_contract_names(names))),
        })
    }

    /// Connects to the chain a `[chain]` section describes (before any
    /// contract exists: `wefe chain deploy`). A key of the other suite than
    /// `crypto_suite` is refused, naming the setting.
    pub async fn connect_chain(c: &ChainSection, key: Option<SuiteKey>) -> Result<Self> {
        let timeout = Duration::from_secs(c.receipt_timeout_secs);
        if let Some(key) = &key
            && key.suite() != c.crypto_suite
        {
            return Err(ChainError::Config {
                path: "chain.toml".into(),
                message: format!(
                    "crypto_suite is {}, but the signing key is a {} key: use an account key of the chain's suite \
                     (an SM2 PEM key for \"sm\", a JSON keystore for \"ecdsa\")",
                    c.crypto_suite,
                    key.suite()
                ),
            });
        }
        match c.backend.as_str() {
            "fisco" => {
                let settings = FiscoSettings {
                    url: c.rpc_url.clone(),
                    group: c.group.clone().unwrap_or_else(|| "group0".into()),
                    node: c.node.clone().unwrap_or_default(),
                    chain: c.fisco_chain_id.clone(),
                    suite: c.crypto_suite,
                    // sendTransaction answers once the transaction is in a block.
                    request_timeout: timeout.max(Duration::from_secs(30)),
                    max_log_blocks: c.max_log_blocks,
                    sdk_certs: c.fisco_sdk_certs.clone(),
                    node_cert_sha256: c
                        .node_cert_pin()
                        .map_err(|message| ChainError::Config { path: "chain.toml".into(), message })?,
                };
                Ok(Self::Fisco(Box::new(FiscoBackend::connect(settings, key).await?)))
            }
            _ => {
                let signer = match key {
                    None => None,
                    Some(SuiteKey::Ecdsa(signer)) => Some(signer),
                    Some(SuiteKey::Sm(_)) => {
                        return Err(ChainError::Config {
                            path: "chain.toml".into(),
                            message: "an SM2 key signs on backend = \"fisco\" only (Ethereum JSON-RPC is secp256k1)"
                                .into(),
                        });
                    }
                };
                let backend = EthereumBackend::connect(&c.rpc_url, Some(c.chain_id), signer, timeout).await?;
                Ok(Self::Ethereum(match c.max_log_blocks {
                    Some(blocks) => backend.with_max_log_blocks(blocks),
                    None => backend,
                }))
            }
        }
    }
}

impl From<EthereumBackend> for AnyBackend {
    fn from(b: EthereumBackend) -> Self {
        Self::Ethereum(b)
    }
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            AnyBackend::Ethereum($b) => $call,
            AnyBackend::Fisco($b) => $call,
        }
    };
}

impl ChainBackend for AnyBackend {
    fn url(&self) -> &str {
        dispatch!(self, b => b.url())
    }

    fn sender(&self) -> Option<Address> {
        dispatch!(self, b => b.sender())
    }

    fn suite(&self) -> CryptoSuite {
        dispatch!(self, b => b.suite())
    }

    async fn chain_id(&self) -> Result<u64> {
        dispatch!(self, b => b.chain_id().await)
    }

    async fn head_block(&self) -> Result<u64> {
        dispatch!(self, b => b.head_block().await)
    }

    async fn call(&self, to: Address, input: Bytes) -> Result<Bytes> {
        dispatch!(self, b => b.call(to, input).await)
    }

    async fn send(&self, to: Option<Address>, input: Bytes) -> Result<TxOutcome> {
        dispatch!(self, b => b.send(to, input).await)
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<ChainLog>> {
        dispatch!(self, b => b.logs(query).await)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        dispatch!(self, b => b.block_hash(number).await)
    }

    async fn transaction_sender(&self, tx_hash: B256) -> Result<Option<Address>> {
        dispatch!(self, b => b.transaction_sender(tx_hash).await)
    }

    async fn block_time(&self, number: u64) -> Result<Option<u64>> {
        dispatch!(self, b => b.block_time(number).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ChainConfig {
        let mut config = crate::config::tests::sample();
        let c = &mut config.chain;
        (c.backend, c.rpc_url, c.crypto_suite) = ("fisco".into(), url.to_owned(), CryptoSuite::Sm);
        (c.group, c.fisco_chain_id, c.receipt_timeout_secs) = (Some("group0".into()), Some("chain0".into()), 10);
        config
    }

    #[tokio::test]
    async fn chain_toml_picks_the_fisco_backend() {
        let (url, _) = crate::fisco::backend::tests::scripted_node().await;
        let config = config(&url);
        config.validate().unwrap();
        let backend = AnyBackend::connect(&config, None).await.unwrap();
        assert!(matches!(backend, AnyBackend::Fisco(_)));
        assert_eq!(backend.head_block().await.unwrap(), 10);
        assert_eq!(backend.block_time(3).await.unwrap(), Some(1_700_000_000));
        // An SM chain signs with SM2 accounts; a secp256k1 key is refused, naming the setting.
        let sm = SuiteKey::from_hex(&"11".repeat(32), CryptoSuite::Sm).unwrap();
        let address = sm.address();
        let backend = AnyBackend::connect(&config, Some(sm)).await.unwrap();
        assert_eq!(backend.sender(), Some(address));
        let ecdsa = SuiteKey::from_hex(crate::anvil::DEV_KEYS[0], CryptoSuite::Ecdsa).unwrap();
        let e = AnyBackend::connect(&config, Some(ecdsa)).await.unwrap_err().to_string();
        assert!(e.contains("crypto_suite is sm") && e.contains("secp256k1"), "{e}");
        // The wrong group is named.
        let mut wrong = config.clone();
        wrong.chain.group = Some("group1".into());
        let e = AnyBackend::connect(&wrong, None).await.unwrap_err().to_string();
        assert!(e.contains("group = \"group1\""), "{e}");
    }
}
