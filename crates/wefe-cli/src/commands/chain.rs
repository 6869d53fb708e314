use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use wefe_chain::bindings::{CertificateRegistry, Consortium, DataRegistry, JobRegistry};
use wefe_chain::config::ChainSection;
use wefe_chain::{AnyBackend, ChainBackend, ChainConfig, CryptoSuite, EthereumBackend, Governance, Target};

use super::list_or_none;
use crate::args::{ChainCommand, GlobalArgs};
use crate::output::{Output, addresses, fields, num};
use crate::{context, keys};

pub async fn run(global: &GlobalArgs, cmd: ChainCommand) -> Result<Output> {
    match cmd {
        ChainCommand::Deploy {
            admins,
            threshold,
            single_admin,
            chain_id,
            backend,
            crypto_suite,
            group,
            node,
            fisco_chain_id,
            fisco_sdk_certs,
            fisco_node_cert,
            max_log_blocks,
            confirmations,
            receipt_timeout_secs,
            out,
            force,
        } => {
            let out = out.unwrap_or_else(|| global.chain_config.clone());
            if out.exists() && !force {
                bail!("{} already exists: pass --force to replace it, or --out elsewhere", out.display());
            }
            check_admin_set(admins.len(), threshold, single_admin)?;
            let url = global.rpc_url.clone().context("--rpc-url (or WEFE_RPC_URL) is required to deploy")?;
            let fisco = backend == "fisco";
            if !fisco
                && (crypto_suite != CryptoSuite::Ecdsa
                    || group.is_some()
                    || node.is_some()
                    || fisco_chain_id.is_some()
                    || fisco_sdk_certs.is_some())
            {
                bail!(
                    "--crypto-suite sm, --group, --node, --fisco-chain-id and --fisco-sdk-certs need --backend fisco \
                     (FISCO BCOS's Web3 RPC is secp256k1 only)"
                );
            }
            // Recorded absolute: nodes and the console read chain.toml from elsewhere.
            let fisco_sdk_certs = fisco_sdk_certs
                .map(|dir| match std::fs::canonicalize(&dir) {
                    Ok(abs) if abs.is_dir() => Ok(abs),
                    Ok(_) => bail!("--fisco-sdk-certs {}: not a directory", dir.display()),
                    Err(e) => bail!("--fisco-sdk-certs {}: {e}", dir.display()),
                })
                .transpose()?;
            let fisco_node_cert_sha256 = fisco_node_cert
                .map(|file| {
                    let pem = std::fs::read(&file).with_context(|| format!("--fisco-node-cert {}", file.display()))?;
                    wefe_chain::fisco::tls::certificate_sha256(&pem)
                        .map(alloy::hex::encode)
                        .map_err(|e| anyhow::anyhow!("--fisco-node-cert {}: {e}", file.display()))
                })
                .transpose()?;
            if fisco && chain_id.is_some() {
                bail!("--chain-id is for Ethereum chains: a FISCO chain's text id is --fisco-chain-id");
            }
            let key = keys::load_signer(global, crypto_suite)?.ok_or(wefe_chain::ChainError::NoSigner)?;
            let mut section = ChainSection {
                backend: backend.clone(),
                rpc_url: url.clone(),
                chain_id: chain_id.unwrap_or(0),
                confirmations,
                receipt_timeout_secs,
                crypto_suite,
                // FISCO reads at most filter_max_process_block (10 by default) blocks per getLogs.
                max_log_blocks: max_log_blocks.or(fisco.then_some(10)),
                group: fisco.then(|| group.unwrap_or_else(|| "group0".into())),
                node,
                fisco_chain_id,
                fisco_sdk_certs,
                fisco_node_cert_sha256,
            };
            let connected = if fisco {
                AnyBackend::connect_chain(&section, Some(key)).await
            } else {
                let wefe_chain::SuiteKey::Ecdsa(signer) = key else {
                    bail!("--keystore holds an SM2 key: an Ethereum chain signs with a JSON keystore (secp256k1)");
                };
                let timeout = Duration::from_secs(receipt_timeout_secs);
                EthereumBackend::connect(&url, chain_id, Some(signer), timeout).await.map(AnyBackend::Ethereum)
            };
            let connected = connected.with_context(|| format!("connecting to {url}"))?;
            // What the node reports is recorded: a FISCO chain by its text id.
            let (chain_name, chain_json) = match &connected {
                AnyBackend::Fisco(b) => {
                    section.fisco_chain_id = Some(b.chain_name().to_owned());
                    (b.chain_name().to_owned(), json!(b.chain_name()))
                }
                other => {
                    section.chain_id = other.chain_id().await?;
                    (section.chain_id.to_string(), json!(section.chain_id))
                }
            };
            // The threshold and duplicate admins are checked by the Consortium
            // constructor: on an Ethereum chain its refusal is decoded before
            // anything is sent; nothing is recorded unless all four deploy.
            let (_, deployed) = Governance::deploy(connected, admins.clone(), threshold).await.context("deploying")?;
            let config = ChainConfig { chain: section, contracts: deployed.addresses };
            config.save(&out)?;
            let a = deployed.addresses;
            let text = format!(
                "deployed on chain {chain_name} ({crypto_suite}) at {url}; configuration written to {}\n{}",
                out.display(),
                fields(&[
                    ("Consortium", a.consortium.to_checksum(None)),
                    ("CertificateRegistry", a.certificate_registry.to_checksum(None)),
                    ("DataRegistry", a.data_registry.to_checksum(None)),
                    ("JobRegistry", a.job_registry.to_checksum(None)),
                    ("deployed block", a.deployed_block.to_string()),
                    ("admins", admins.iter().map(|x| x.to_checksum(None)).collect::<Vec<_>>().join(", ")),
                    ("threshold", threshold.to_string()),
                ])
            );
            Ok(Output::new(
                text,
                json!({
                    "ok": true,
                    "chain_id": chain_json,
                    "crypto_suite": crypto_suite,
                    "config": out.display().to_string(),
                    "contracts": contracts_json(&a),
                    "transactions": deployed.transactions.iter().map(|t| t.tx_hash.to_string()).collect::<Vec<_>>(),
                }),
            ))
        }
        ChainCommand::Info => {
            let gov = context::connect(global, false).await?;
            gov.check_contracts().await?;
            let head = gov.backend().head_block().await?;
            // FISCO names its chains by text.
            let chain_id = match gov.backend() {
                wefe_chain::AnyBackend::Fisco(b) => b.chain_name().to_owned(),
                other => other.chain_id().await?.to_string(),
            };
            let admins = gov.call(Target::Consortium, Consortium::adminsCall {}).await?;
            let threshold = gov.call(Target::Consortium, Consortium::thresholdCall {}).await?;
            let cas = gov.call(Target::Consortium, Consortium::certificateAuthoritiesCall {}).await?;
            let members = gov.call(Target::Consortium, Consortium::memberCountCall {}).await?;
            let active = gov.call(Target::Consortium, Consortium::activeMemberCountCall {}).await?;
            let proposals = gov.call(Target::Consortium, Consortium::proposalCountCall {}).await?;
            let certs = gov.call(Target::CertificateRegistry, CertificateRegistry::certificateCountCall {}).await?;
            let datasets = gov.call(Target::DataRegistry, DataRegistry::datasetCountCall {}).await?;
            let jobs = gov.call(Target::JobRegistry, JobRegistry::jobCountCall {}).await?;
            let c = gov.contracts();
            let text = fields(&[
                ("rpc url", gov.backend().url().to_owned()),
                ("chain id", chain_id.to_string()),
                ("head block", head.to_string()),
                ("Consortium", c.consortium.to_checksum(None)),
                ("CertificateRegistry", c.certificate_registry.to_checksum(None)),
                ("DataRegistry", c.data_registry.to_checksum(None)),
                ("JobRegistry", c.job_registry.to_checksum(None)),
                ("admins", list_or_none(&admins)),
                ("threshold", threshold.to_string()),
                ("certificate authorities", list_or_none(&cas)),
                ("members", format!("{members} ({active} active)")),
                ("proposals", proposals.to_string()),
                ("certificates", certs.to_string()),
                ("datasets", datasets.to_string()),
                ("jobs", jobs.to_string()),
            ]);
            Ok(Output::new(
                text,
                json!({
                    "ok": true,
                    "rpc_url": gov.backend().url(),
                    "chain_id": chain_id,
                    "head_block": head,
                    "contracts": contracts_json(c),
                    "admins": addresses(&admins),
                    "threshold": num(threshold),
                    "certificate_authorities": addresses(&cas),
                    "members": num(members),
                    "active_members": num(active),
                    "proposals": num(proposals),
                    "certificates": num(certs),
                    "datasets": num(datasets),
                    "jobs": num(jobs),
                }),
            ))
        }
    }
}

/// Governance must survive the loss of one admin key: refused before
/// anything is signed unless the user asked for a single-admin development
/// chain, which is then said plainly.
fn check_admin_set(admins: usize, threshold: u64, single_admin: bool) -> Result<()> {
    if admins == 1 {
        if !single_admin {
            bail!(
                "a single admin cannot be replaced if its key is lost: give at least two --admin with --threshold \
                 below their number, or pass --single-admin for a development chain"
            );
        }
        eprintln!(
            "warning: single-admin consortium: whoever holds that one key governs alone, and losing it locks \
             governance for good (use it for development only)"
        );
        return Ok(());
    }
    if single_admin {
        bail!("--single-admin deploys exactly one --admin, got {admins}");
    }
    if threshold == 0 || threshold >= admins as u64 {
        bail!(
            "--threshold {threshold} with {admins} admins: it must be 1 to {} so that the other admins can still \
             act (and replace a lost key) if one admin key is lost",
            admins - 1
        );
    }
    Ok(())
}

fn contracts_json(a: &wefe_chain::ContractAddresses) -> serde_json::Value {
    json!({
        "consortium": a.consortium.to_checksum(None),
        "certificate_registry": a.certificate_registry.to_checksum(None),
        "data_registry": a.data_registry.to_checksum(None),
        "job_registry": a.job_registry.to_checksum(None),
        "deployed_block": a.deployed_block,
    })
}
