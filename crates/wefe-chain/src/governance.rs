use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::{SolCall, SolConstructor};

use crate::abi::{DecodedEvent, decode_event};
use crate::bindings::{CertificateRegistry, Consortium, DataRegistry, JobRegistry};
use crate::{ChainBackend, ChainError, ContractAddresses, Result, TxOutcome};

/// One of the four governance contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Members, admins, proposals, certificate authorities.
    Consortium,
    /// Certificate requests, issuance, revocation.
    CertificateRegistry,
    /// Datasets and their visibility.
    DataRegistry,
    /// Jobs, approvals, reports.
    JobRegistry,
}

impl Target {
    /// The contract's name, as in its Solidity source.
    pub fn name(self) -> &'static str {
        match self {
            Target::Consortium => "Consortium",
            Target::CertificateRegistry => "CertificateRegistry",
            Target::DataRegistry => "DataRegistry",
            Target::JobRegistry => "JobRegistry",
        }
    }
}

/// The result of deploying the four contracts.
#[derive(Debug, Clone)]
pub struct DeployedContracts {
    /// Their addresses and the first deployment block.
    pub addresses: ContractAddresses,
    /// The four deployment transactions, in order.
    pub transactions: Vec<TxOutcome>,
}

/// The governance contracts behind one [`ChainBackend`]: typed calls in, typed
/// results out, reverts decoded into [`ChainError::Reverted`].
///
/// ```no_run
/// # async fn demo<B: wefe_chain::ChainBackend>(gov: wefe_chain::Governance<B>) -> wefe_chain::Result<()> {
/// use wefe_chain::{Target, bindings::Consortium};
/// let threshold = gov.call(Target::Consortium, Consortium::thresholdCall {}).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Governance<B> {
    backend: B,
    contracts: ContractAddresses,
}

impl<B: ChainBackend> Governance<B> {
    /// Wraps a connected backend and the deployed addresses.
    pub fn new(backend: B, contracts: ContractAddresses) -> Self {
        Self { backend, contracts }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The deployed addresses.
    pub fn contracts(&self) -> &ContractAddresses {
        &self.contracts
    }

    /// The address of `target`.
    pub fn address(&self, target: Target) -> Address {
        match target {
            Target::Consortium => self.contracts.consortium,
            Target::CertificateRegistry => self.contracts.certificate_registry,
            Target::DataRegistry => self.contracts.data_registry,
            Target::JobRegistry => self.contracts.job_registry,
        }
    }

    /// Contract names by address (for revert decoding in backends).
    pub fn contract_names(contracts: &ContractAddresses) -> Vec<(Address, &'static str)> {
        vec![
            (contracts.consortium, Target::Consortium.name()),
            (contracts.certificate_registry, Target::CertificateRegistry.name()),
            (contracts.data_registry, Target::DataRegistry.name()),
            (contracts.job_registry, Target::JobRegistry.name()),
        ]
    }

    /// A read-only call.
    pub async fn call<C: SolCall>(&self, target: Target, call: C) -> Result<C::Return> {
        let data = self.backend.call(self.address(target), call.abi_encode().into()).await?;
        C::abi_decode_returns(&data).map_err(|e| ChainError::Decode {
            what: format!("{}.{} result", target.name(), C::SIGNATURE),
            message: if data.is_empty() {
                format!("empty answer: is {} really the {} contract?", self.address(target), target.name())
            } else {
                e.to_string()
            },
        })
    }

    /// A transaction, waited for; a call the contract rejects fails before sending.
    pub async fn send<C: SolCall>(&self, target: Target, call: C) -> Result<TxOutcome> {
        self.backend.send(Some(self.address(target)), call.abi_encode().into()).await
    }

    /// Checks that the configured addresses hold the wefe contracts (and not
    /// something else or nothing) by reading one view of each.
    pub async fn check_contracts(&self) -> Result<()> {
        self.call(Target::Consortium, Consortium::thresholdCall {}).await?;
        let linked = self.call(Target::CertificateRegistry, CertificateRegistry::consortiumCall {}).await?;
        let data_linked = self.call(Target::DataRegistry, DataRegistry::consortiumCall {}).await?;
        let job_linked = self.call(Target::JobRegistry, JobRegistry::consortiumCall {}).await?;
        let job_data = self.call(Target::JobRegistry, JobRegistry::dataRegistryCall {}).await?;
        let c = self.contracts.consortium;
        if linked != c || data_linked != c || job_linked != c || job_data != self.contracts.data_registry {
            return Err(ChainError::Config {
                path: "contracts".into(),
                message: "the configured contracts belong to different deployments".into(),
            });
        }
        Ok(())
    }

    /// Deploys Consortium, CertificateRegistry, DataRegistry and JobRegistry,
    /// in that order, from the backend's key, in the build of the backend's
    /// suite (see [`crate::bindings::creation_code`]).
    pub async fn deploy(backend: B, admins: Vec<Address>, threshold: u64) -> Result<(Self, DeployedContracts)> {
        let create = |code: &Bytes, args: Vec<u8>| -> Bytes {
            let mut init = code.to_vec();
            init.extend_from_slice(&args);
            init.into()
        };
        let mut transactions = Vec::with_capacity(4);
        let mut deploy_one = async |name: &str, init: Bytes| -> Result<Address> {
            let outcome = backend.send(None, init).await?;
            let address = outcome.contract_address.ok_or_else(|| ChainError::Decode {
                what: format!("{name} deployment receipt"),
                message: "no contract address".into(),
            })?;
            transactions.push(outcome);
            Ok(address)
        };
        // The build of the chain's suite: an SM chain runs the SM3-compiled contracts.
        let suite = backend.suite();
        let code = |name: &str| crate::bindings::creation_code(name, suite);
        let consortium = deploy_one(
            "Consortium",
            create(
                &code("Consortium")?,
                Consortium::constructorCall::new((admins, U256::from(threshold))).abi_encode(),
            ),
        )
        .await?;
        let certificate_registry = deploy_one(
            "CertificateRegistry",
            create(
                &code("CertificateRegistry")?,
                CertificateRegistry::constructorCall::new((consortium,)).abi_encode(),
            ),
        )
        .await?;
        let data_registry = deploy_one(
            "DataRegistry",
            create(&code("DataRegistry")?, DataRegistry::constructorCall::new((consortium,)).abi_encode()),
        )
        .await?;
        let job_registry = deploy_one(
            "JobRegistry",
            create(&code("JobRegistry")?, JobRegistry::constructorCall::new((consortium, data_registry)).abi_encode()),
        )
        .await?;
        let addresses = ContractAddresses {
            consortium,
            certificate_registry,
            data_registry,
            job_registry,
            deployed_block: transactions[0].block_number,
        };
        let deployed = DeployedContracts { addresses, transactions };
        Ok((Self::new(backend, addresses), deployed))
    }
}

/// The events of the four contracts in a transaction's logs, decoded.
pub fn decode_events(outcome: &TxOutcome) -> Vec<DecodedEvent> {
    outcome.logs.iter().filter_map(decode_event).collect()
}
