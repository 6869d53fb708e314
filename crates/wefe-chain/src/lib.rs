//! wefe-chain: the contracts as Rust sees them, and the chains they live on.
//!
//! - [`bindings`]: `sol!` bindings over the committed `contracts/abi/*.json`.
//! - [`ChainBackend`]: send a signed call and wait for its receipt, `eth_call`,
//!   logs, head block, chain id. [`EthereumBackend`] implements it with alloy over
//!   HTTP for anvil and any EVM node (Besu, geth, FISCO BCOS 3.x Web3 RPC).
//! - [`Governance`]: the four contracts behind one backend, typed calls in and
//!   typed results out, reverts decoded into readable [`ChainError`]s.
//! - [`abi`]: generic decoding of custom errors and events from the artifacts.
//! - [`audit`]: the history of the contracts read straight from the chain's
//!   logs (who did what, in which block and transaction).
//! - [`jobs`]: what the views leave out: a job's params and dataset digests
//!   from its `JobProposed` log (checked against the stored hash), and what
//!   changed in a dataset since a proposal.
//! - [`anvil`]: a throw-away local chain for tests and the demo.
//! - [`fisco`]: FISCO BCOS 3.x native transactions (Tars encoding, field-wise
//!   hash, secp256k1 or SM2 signatures).
//!
//! This crate must not depend on the node, the store or the gateway.

pub mod abi;
pub mod anvil;
mod any;
pub mod audit;
mod backend;
pub mod bindings;
pub mod config;
mod error;
mod ethereum;
pub mod fisco;
mod governance;
pub mod jobs;
pub mod suite;
#[cfg(test)]
mod test_rpc;

pub use any::AnyBackend;
pub use backend::{ChainBackend, ChainLog, LogQuery, TxOutcome};
pub use config::{ChainConfig, ContractAddresses};
pub use error::{ChainError, Result};
pub use ethereum::EthereumBackend;
pub use governance::{DeployedContracts, Governance, Target, decode_events};
pub use suite::{CryptoSuite, SuiteKey};

pub use alloy::primitives::{Address, B256, Bytes, U256};
