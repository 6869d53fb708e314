//! The chain configuration file (`chain.toml`), written by `wefe chain deploy`
//! and read by every command and node. Environment variables override it:
//! `WEFE_RPC_URL`, `WEFE_CHAIN_ID`, `WEFE_CONFIRMATIONS`, `WEFE_RECEIPT_TIMEOUT_SECS`.

use std::path::Path;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::{ChainError, Result};

/// `chain.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// How to reach the chain.
    pub chain: ChainSection,
    /// Where the contracts are.
    pub contracts: ContractAddresses,
}

/// The `[chain]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// Backend: `ethereum` (any EVM JSON-RPC node: anvil, geth, Besu, FISCO
    /// BCOS Web3 RPC) or `fisco` (FISCO BCOS 3.x native JSON-RPC, port 20200).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// JSON-RPC endpoint (http or https).
    pub rpc_url: String,
    /// The chain id the node must report; commands refuse to act on another chain.
    pub chain_id: u64,
    /// Blocks a log must be buried under before a node acts on it.
    #[serde(default)]
    pub confirmations: u64,
    /// How long to wait for a transaction receipt.
    #[serde(default = "default_receipt_timeout")]
    pub receipt_timeout_secs: u64,
    /// Accounts, signatures and ABI hashing: `ecdsa` (secp256k1 + Keccak-256,
    /// the default) or `sm` (SM2 + SM3, FISCO BCOS in SM mode).
    #[serde(default)]
    pub crypto_suite: crate::suite::CryptoSuite,
    /// Most blocks one `eth_getLogs` (or FISCO `getLogs`) request spans (unset:
    /// any). FISCO BCOS reads at most its `filter_max_process_block` blocks (10
    /// by default) and drops the rest silently: set this to that value there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_log_blocks: Option<u64>,
    /// `backend = "fisco"`: the group (default `group0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `backend = "fisco"`: the node to ask within the group (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `backend = "fisco"`: the chain's id as FISCO names it (e.g. `chain0`),
    /// checked at connect (FISCO chain ids are text; `chain_id` is then unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fisco_chain_id: Option<String>,
    /// `backend = "fisco"` over `https://`: the directory of the chain's SDK
    /// TLS files (`ca.crt`, `sdk.crt`, `sdk.key`, from `build_chain.sh`'s `sdk/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fisco_sdk_certs: Option<std::path::PathBuf>,
    /// With `fisco_sdk_certs`: the SHA-256 (hex) of the node's own TLS
    /// certificate (`conf/ssl.crt`). Without it, any certificate of the
    /// chain's CA passes as the node, another member's included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fisco_node_cert_sha256: Option<String>,
}

impl ChainSection {
    /// `fisco_node_cert_sha256` as bytes (64 hex digits, `0x` optional).
    pub fn node_cert_pin(&self) -> std::result::Result<Option<[u8; 32]>, String> {
        let Some(text) = &self.fisco_node_cert_sha256 else { return Ok(None) };
        let bad = || format!("fisco_node_cert_sha256 = \"{text}\" is not a SHA-256 (64 hex digits)");
        let bytes = hex::decode(text.trim().trim_start_matches("0x")).map_err(|_| bad())?;
        Ok(Some(bytes.try_into().map_err(|_| bad())?))
    }
}

/// The `[contracts]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractAddresses {
    /// `Consortium`.
    pub consortium: Address,
    /// `CertificateRegistry`.
    pub certificate_registry: Address,
    /// `DataRegistry`.
    pub data_registry: Address,
    /// `JobRegistry`.
    pub job_registry: Address,
    /// Block of the first deployment transaction: where event scans start.
    pub deployed_block: u64,
}

fn default_backend() -> String {
    "ethereum".to_owned()
}

fn default_receipt_timeout() -> u64 {
    60
}

impl ChainConfig {
    /// Reads `path`, applies `WEFE_*` overrides and validates the result.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let err = |message: String| ChainError::Config { path: shown.clone(), message };
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(format!("cannot read it ({e}); create it with `wefe chain deploy` or pass --chain-config"))
        })?;
        let mut config = Self::parse(&text).map_err(err)?;
        config.apply_env().map_err(err)?;
        config.validate().map_err(err)?;
        Ok(config)
    }

    /// Parses TOML text (no environment overrides, no validation).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| text[..span.start].matches('\n').count() + 1);
            match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_owned(),
            }
        })
    }

    /// Writes the configuration as TOML, atomically (a crash never leaves half a file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let shown = path.display().to_string();
        let err = |message: String| ChainError::Config { path: shown.clone(), message };
        let body = toml::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        let text = format!("# wefe chain configuration (written by `wefe chain deploy`)\n{body}");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| err(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(|e| err(format!("cannot replace it: {e}")))?;
        Ok(())
    }

    fn apply_env(&mut self) -> std::result::Result<(), String> {
        if let Ok(url) = std::env::var("WEFE_RPC_URL") {
            self.chain.rpc_url = url;
        }
        let number = |name: &str| -> std::result::Result<Option<u64>, String> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().map(Some).map_err(|_| format!("{name}='{v}' is not a number")),
                Err(_) => Ok(None),
            }
        };
        if let Some(v) = number("WEFE_CHAIN_ID")? {
            self.chain.chain_id = v;
        }
        if let Some(v) = number("WEFE_CONFIRMATIONS")? {
            self.chain.confirmations = v;
        }
        if let Some(v) = number("WEFE_RECEIPT_TIMEOUT_SECS")? {
            self.chain.receipt_timeout_secs = v;
        }
        Ok(())
    }

    /// Checks values a file may get wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let fisco = match self.chain.backend.as_str() {
            "ethereum" => false,
            "fisco" => true,
            other => return Err(format!("backend '{other}' is not supported (supported: ethereum, fisco)")),
        };
        if !fisco && self.chain.crypto_suite != crate::suite::CryptoSuite::Ecdsa {
            return Err(
                "crypto_suite = \"sm\" needs backend = \"fisco\" (FISCO BCOS's Web3 RPC is secp256k1 only)".to_owned()
            );
        }
        if !fisco
            && (self.chain.group.is_some()
                || self.chain.node.is_some()
                || self.chain.fisco_chain_id.is_some()
                || self.chain.fisco_sdk_certs.is_some()
                || self.chain.fisco_node_cert_sha256.is_some())
        {
            return Err("group, node, fisco_chain_id, fisco_sdk_certs and fisco_node_cert_sha256 are settings of \
                        backend = \"fisco\""
                .to_owned());
        }
        check_rpc_url(&self.chain.rpc_url)?;
        if self.chain.receipt_timeout_secs == 0 {
            return Err("receipt_timeout_secs must be at least 1".to_owned());
        }
        if let Some(dir) = &self.chain.fisco_sdk_certs
            && !dir.is_absolute()
        {
            return Err(format!(
                "fisco_sdk_certs = \"{}\" must be an absolute path (chain.toml is read from other directories)",
                dir.display()
            ));
        }
        self.chain.node_cert_pin()?;
        if self.chain.fisco_node_cert_sha256.is_some() && self.chain.fisco_sdk_certs.is_none() {
            return Err("fisco_node_cert_sha256 pins the node's TLS certificate: it needs fisco_sdk_certs".to_owned());
        }
        if self.chain.max_log_blocks == Some(0) {
            return Err("max_log_blocks must be at least 1 (leave it out for no limit)".to_owned());
        }
        let c = &self.contracts;
        for (name, addr) in [
            ("consortium", c.consortium),
            ("certificate_registry", c.certificate_registry),
            ("data_registry", c.data_registry),
            ("job_registry", c.job_registry),
        ] {
            if addr.is_zero() {
                return Err(format!("contracts.{name} is the zero address"));
            }
        }
        Ok(())
    }
}

/// Accepts `http://` and `https://` URLs with a host.
pub fn check_rpc_url(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("RPC URL '{url}' must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("RPC URL '{url}' has no host"));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid configuration (anvil's defaults), for tests here and elsewhere in the crate.
    pub(crate) fn sample() -> ChainConfig {
        ChainConfig {
            chain: ChainSection {
                backend: "ethereum".into(),
                rpc_url: "http://127.0.0.1:8545".into(),
                chain_id: 31337,
                confirmations: 0,
                receipt_timeout_secs: 60,
                crypto_suite: Default::default(),
                max_log_blocks: None,
                group: None,
                node: None,
                fisco_chain_id: None,
                fisco_sdk_certs: None,
                fisco_node_cert_sha256: None,
            },
            contracts: ContractAddresses {
                consortium: Address::repeat_byte(1),
                certificate_registry: Address::repeat_byte(2),
                data_registry: Address::repeat_byte(3),
                job_registry: Address::repeat_byte(4),
                deployed_block: 1,
            },
        }
    }

    #[test]
    fn save_then_parse_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/chain.toml");
        sample().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(ChainConfig::parse(&text).unwrap(), sample());
        assert!(!path.with_extension("toml.tmp").exists());
    }

    #[test]
    fn parse_errors_name_the_right_line() {
        let mut text = toml::to_string(&sample()).unwrap();
        text.push_str("bogus = 1\n");
        let line = text.lines().count();
        let msg = ChainConfig::parse(&text).unwrap_err();
        assert!(msg.starts_with(&format!("line {line}:")), "{msg}");
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node-config/chain.example.toml");
        let config = ChainConfig::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        config.validate().unwrap();
        assert_eq!(config.chain.chain_id, 31337);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.toml");
        let missing = ChainConfig::load(&path).unwrap_err().to_string();
        assert!(missing.contains("cannot read"), "{missing}");

        std::fs::write(&path, "[chain]\nrpc_url = 5\n").unwrap();
        // load() reports the file; the parse error itself does not depend on WEFE_* variables.
        let msg = ChainConfig::load(&path).unwrap_err().to_string();
        assert!(msg.contains("chain.toml") && msg.contains("line 2") && msg.contains("expected a string"), "{msg}");

        let mut config = sample();
        config.contracts.job_registry = Address::ZERO;
        assert!(config.validate().unwrap_err().contains("job_registry"));
        config = sample();
        config.chain.rpc_url = "ws//x".into();
        assert!(config.validate().unwrap_err().contains("http://"));
        config = sample();
        config.chain.backend = "besu".into();
        assert!(config.validate().unwrap_err().contains("not supported (supported: ethereum, fisco)"));
        config = sample();
        config.chain.crypto_suite = crate::CryptoSuite::Sm;
        assert!(config.validate().unwrap_err().contains("needs backend = \"fisco\""));
        config.chain.backend = "fisco".into();
        config.chain.group = Some("group0".into());
        config.validate().unwrap();
        config.chain.fisco_sdk_certs = Some("sdk".into());
        assert!(config.validate().unwrap_err().contains("fisco_sdk_certs = \"sdk\" must be an absolute path"));
        config.chain.fisco_sdk_certs = Some("/etc/wefe/sdk".into());
        config.validate().unwrap();
        config.chain.fisco_node_cert_sha256 = Some("abc".into());
        assert!(config.validate().unwrap_err().contains("is not a SHA-256"));
        config.chain.fisco_node_cert_sha256 = Some(format!("0x{}", "ab".repeat(32)));
        assert_eq!(config.chain.node_cert_pin().unwrap(), Some([0xab; 32]));
        config.validate().unwrap();
        config.chain.fisco_sdk_certs = None;
        assert!(config.validate().unwrap_err().contains("it needs fisco_sdk_certs"));
        config.chain.fisco_node_cert_sha256 = None;
        config.chain.backend = "ethereum".into();
        config.chain.crypto_suite = crate::CryptoSuite::Ecdsa;
        assert!(config.validate().unwrap_err().contains("settings of backend = \"fisco\""));
        config = sample();
        config.chain.max_log_blocks = Some(0);
        assert!(config.validate().unwrap_err().contains("max_log_blocks"));
    }
}
