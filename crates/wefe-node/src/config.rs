//! `party.toml`: one party node's configuration. Relative paths are relative
//! to the file's folder. Environment overrides: `WEFE_STORE_URL`,
//! `WEFE_CHAIN_CONFIG` (and the chain file's own `WEFE_*` overrides).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// `party.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs, e.g. `bank-a`.
    pub name: String,
    /// The member account this node acts for.
    pub member: Address,
    /// The chain configuration written by `wefe chain deploy`.
    pub chain_config: PathBuf,
    /// Where the node keeps datasets, results and (by default) its store.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `sqlite://<data_dir>/store.db`) or `postgres://…`.
    #[serde(default)]
    pub store_url: Option<String>,
    /// How often to look for new blocks, in milliseconds.
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
    /// Blocks per log request.
    #[serde(default = "default_chunk")]
    pub log_chunk_blocks: u64,
    /// Encrypted JSON keystore of the member's operator key (on an SM chain:
    /// an SM2 PEM key, e.g. from `wefe key sm2-new`): the account the
    /// member authorised on chain (`wefe member set-operator`) to report its
    /// jobs' progress and nothing else. Without it the key comes from
    /// `WEFE_OPERATOR_KEY`. The node refuses to run with the member's own
    /// (governance) key.
    #[serde(default)]
    pub operator_keystore: Option<PathBuf>,
    /// File holding the operator keystore's password (else `WEFE_KEYSTORE_PASSWORD`).
    #[serde(default)]
    pub operator_password_file: Option<PathBuf>,
    /// The member's SM2 private key: encrypted PKCS#8 PEM (from `wefe key
    /// sm2-new`) or unencrypted (from `openssl genpkey -algorithm SM2`), readable
    /// by its owner only; its public key is the one registered on chain.
    pub sm2_key: PathBuf,
    /// File holding the SM2 key's password (else `WEFE_SM2_KEY_PASSWORD`);
    /// only read when the key is encrypted.
    #[serde(default)]
    pub sm2_key_password_file: Option<PathBuf>,
    /// This member's X.509 certificate (PEM or DER, from `wefe cert issue`),
    /// presented to peers in every gateway handshake.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// Refuse peers whose gateway presents no certificate (a certificate that
    /// is presented is always checked against the chain).
    #[serde(default)]
    pub require_peer_certificates: bool,
    /// TLS under the gateway's gRPC (all three or none, PEM files): this
    /// gateway's certificate chain and key, and the authority that signs
    /// every consortium gateway's TLS certificate. With it the gateway serves
    /// mutual TLS only and calls peers at `https://` endpoints only.
    #[serde(default)]
    pub gateway_tls_cert: Option<PathBuf>,
    /// See `gateway_tls_cert`; readable by its owner only.
    #[serde(default)]
    pub gateway_tls_key: Option<PathBuf>,
    /// See `gateway_tls_cert`.
    #[serde(default)]
    pub gateway_tls_ca: Option<PathBuf>,
    /// Where the gateway listens for peers (its public address is the
    /// endpoint registered on chain).
    pub gateway_listen: SocketAddr,
    /// Where the REST API listens (keep it on localhost or behind the
    /// institution's proxy: it speaks plain HTTP).
    pub api_listen: SocketAddr,
    /// The file holding the API's bearer token (default `<data_dir>/api-token`),
    /// created owner-only with a random token at first start.
    #[serde(default)]
    pub api_token_file: Option<PathBuf>,
    /// Host names (or `name:port`) the API answers to besides `localhost`, the
    /// loopback addresses and the `api_listen` address, e.g. the proxy's name.
    /// Any other `Host` header is refused (DNS rebinding).
    #[serde(default)]
    pub api_allowed_hosts: Vec<String>,
    /// Browser origins (`scheme://host[:port]`) allowed to call the API besides
    /// the API's own origin. A request with any other `Origin` is refused (CSRF).
    #[serde(default)]
    pub api_allowed_origins: Vec<String>,
    /// `POST /datasets` with a server path reads only regular files under
    /// this folder (symlinks resolved); without it path imports are refused
    /// and only uploads work.
    #[serde(default)]
    pub import_root: Option<PathBuf>,
    /// Jobs running at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_jobs: usize,
    /// A job still running after this many seconds is failed.
    #[serde(default = "default_job_timeout")]
    pub job_timeout_secs: u64,
    /// A job waiting this many seconds for a peer's next message gives up
    /// (default 600): a vanished peer does not hold a job slot until the job
    /// timeout.
    #[serde(default = "default_recv_timeout")]
    pub gateway_recv_timeout_secs: u64,
    /// How often the node checks that each active member's gateway answers
    /// (one authenticated handshake per peer), for `GET /health` and the
    /// operator page; 0 turns the checks off (default 60).
    #[serde(default = "default_peer_probe")]
    pub peer_probe_secs: u64,
    /// Networks peers' gateway endpoints may be called at (`10.0.0.0/8`,
    /// `2001:db8::/32` or single addresses). Unset: any address except this
    /// host's own and special ones (loopback, link-local and cloud metadata
    /// services, unspecified, multicast…; see `wefe_gateway::PeerNetworks`),
    /// so a member cannot make this node call into its own host by
    /// registering such an endpoint. Set it to the
    /// consortium's networks to refuse everything else; a consortium on one
    /// host (the demo) lists `127.0.0.0/8`.
    #[serde(default)]
    pub peer_networks: Option<Vec<String>>,
}

fn default_peer_probe() -> u64 {
    60
}

fn default_recv_timeout() -> u64 {
    600
}

fn default_concurrency() -> usize {
    2
}

fn default_job_timeout() -> u64 {
    3600
}

fn default_poll() -> u64 {
    1000
}

fn default_chunk() -> u64 {
    2000
}

impl NodeConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read node config {}", path.display()))?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| {
            // One line: where, the offending line itself, and why.
            let at = e.span().filter(|span| span.start > 0).map(|span| {
                let line = text[..span.start].matches('\n').count() + 1;
                let source = text.lines().nth(line - 1).unwrap_or("").trim();
                format!("line {line} ({source}): ")
            });
            anyhow::anyhow!("node config {}: {}{}", path.display(), at.unwrap_or_default(), e.message())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Ok(chain) = std::env::var("WEFE_CHAIN_CONFIG") {
            config.chain_config = PathBuf::from(chain);
        }
        if let Ok(url) = std::env::var("WEFE_STORE_URL") {
            config.store_url = Some(url);
        }
        config.chain_config = base.join(&config.chain_config);
        config.data_dir = base.join(&config.data_dir);
        config.sm2_key = base.join(&config.sm2_key);
        config.sm2_key_password_file = config.sm2_key_password_file.map(|p| base.join(p));
        config.certificate = config.certificate.map(|p| base.join(p));
        config.operator_keystore = config.operator_keystore.map(|k| base.join(k));
        config.operator_password_file = config.operator_password_file.map(|p| base.join(p));
        config.import_root = config.import_root.map(|p| base.join(p));
        config.api_token_file = config.api_token_file.map(|p| base.join(p));
        config.gateway_tls_cert = config.gateway_tls_cert.map(|p| base.join(p));
        config.gateway_tls_key = config.gateway_tls_key.map(|p| base.join(p));
        config.gateway_tls_ca = config.gateway_tls_ca.map(|p| base.join(p));
        let tls = [&config.gateway_tls_cert, &config.gateway_tls_key, &config.gateway_tls_ca];
        if tls.iter().any(|p| p.is_some()) && !tls.iter().all(|p| p.is_some()) {
            bail!(
                "node config {}: gateway TLS needs all of gateway_tls_cert, gateway_tls_key and gateway_tls_ca",
                path.display()
            );
        }
        for host in &config.api_allowed_hosts {
            if host.is_empty() || host.contains(['/', ' ', '@']) {
                bail!(
                    "node config {}: api_allowed_hosts: '{host}' is not a host name (e.g. node.bank-a.example)",
                    path.display()
                );
            }
        }
        for origin in &config.api_allowed_origins {
            let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(['/', ' ', '@'])) {
                bail!(
                    "node config {}: api_allowed_origins: '{origin}' is not an origin (scheme://host[:port], no path)",
                    path.display()
                );
            }
        }
        if config.max_concurrent_jobs == 0 || config.job_timeout_secs == 0 || config.gateway_recv_timeout_secs == 0 {
            bail!(
                "node config {}: max_concurrent_jobs, job_timeout_secs and gateway_recv_timeout_secs must be at least 1",
                path.display()
            );
        }
        config.peer_networks().with_context(|| format!("node config {}", path.display()))?;
        if config.name.trim().is_empty() {
            bail!("node config {}: name is empty", path.display());
        }
        if config.member.is_zero() {
            bail!("node config {}: member is the zero address", path.display());
        }
        if config.poll_interval_ms == 0 || config.log_chunk_blocks == 0 {
            bail!("node config {}: poll_interval_ms and log_chunk_blocks must be at least 1", path.display());
        }
        Ok(config)
    }

    /// The rule for peers' endpoint addresses (`peer_networks`).
    pub fn peer_networks(&self) -> Result<wefe_gateway::PeerNetworks> {
        match &self.peer_networks {
            None => Ok(wefe_gateway::PeerNetworks::NotSpecial),
            Some(list) if list.is_empty() => {
                bail!("peer_networks is empty, so no peer could be called: list networks, or leave it out")
            }
            Some(list) => wefe_gateway::PeerNetworks::only(list).map_err(|e| anyhow::anyhow!("peer_networks: {e}")),
        }
    }

    /// The gateway's TLS identity, when configured (the key file must be
    /// readable by its owner only).
    pub fn gateway_tls(&self) -> Result<Option<wefe_gateway::GatewayTls>> {
        let (Some(cert), Some(key), Some(ca)) = (&self.gateway_tls_cert, &self.gateway_tls_key, &self.gateway_tls_ca)
        else {
            return Ok(None);
        };
        wefe_crypto::keyfile::check_owner_only(key, "gateway TLS key")?;
        let read = |p: &PathBuf, what: &str| {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read the {what} {}", p.display()))?;
            if !bytes.starts_with(b"-----BEGIN ") {
                bail!("the {what} {} is not PEM", p.display());
            }
            Ok(bytes)
        };
        Ok(Some(wefe_gateway::GatewayTls {
            cert_pem: read(cert, "gateway TLS certificate")?,
            key_pem: read(key, "gateway TLS key")?,
            ca_pem: read(ca, "gateway TLS authority")?,
        }))
    }

    /// The API token file, defaulting to `<data_dir>/api-token`.
    pub fn api_token_file(&self) -> PathBuf {
        self.api_token_file.clone().unwrap_or_else(|| self.data_dir.join("api-token"))
    }

    /// The store URL, defaulting to a SQLite file in the data dir.
    pub fn store_url(&self) -> String {
        self.store_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("store.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node-config/party.example.toml");
        let config = NodeConfig::load(&path).unwrap();
        assert_eq!(config.name, "bank-a");
        assert!(config.chain_config.ends_with("chain.example.toml"));
        assert!(config.store_url().starts_with("sqlite://") && config.store_url().ends_with("store.db"));
        assert_eq!(config.api_token_file(), config.data_dir.join("api-token"));
    }

    /// The fewest settings a node loads with.
    const MINIMAL: &str = "name = \"x\"\nmember = \"0x0000000000000000000000000000000000000001\"\n\
                           chain_config = \"c\"\ndata_dir = \"d\"\nsm2_key = \"k.pem\"\n\
                           gateway_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n";

    #[test]
    fn zero_intervals_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("party.toml");
        std::fs::write(&path, format!("{MINIMAL}poll_interval_ms = 0\n")).unwrap();
        assert!(NodeConfig::load(&path).unwrap_err().to_string().contains("at least 1"));
    }

    #[test]
    fn peer_networks_default_to_no_special_addresses_and_bad_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("party.toml");
        let base = MINIMAL;
        std::fs::write(&path, base).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap().peer_networks().unwrap(), wefe_gateway::PeerNetworks::NotSpecial);
        std::fs::write(&path, format!("{base}peer_networks = [\"10.0.0.0/8\", \"192.0.2.7\"]\n")).unwrap();
        let rule = NodeConfig::load(&path).unwrap().peer_networks().unwrap();
        assert!(rule.allows("10.9.9.9".parse().unwrap()) && !rule.allows("127.0.0.1".parse().unwrap()));
        std::fs::write(&path, format!("{base}peer_networks = [\"10.0.0.0/8\", \"intranet\"]\n")).unwrap();
        let e = format!("{:#}", NodeConfig::load(&path).unwrap_err());
        assert!(e.contains("peer_networks: 'intranet' is not a network"), "{e}");
        std::fs::write(&path, format!("{base}peer_networks = []\n")).unwrap();
        let e = format!("{:#}", NodeConfig::load(&path).unwrap_err());
        assert!(e.contains("peer_networks is empty"), "{e}");
    }

    #[test]
    fn gateway_tls_needs_all_three_files_and_an_owner_only_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("party.toml");
        let base = format!("{MINIMAL}gateway_recv_timeout_secs = 30\n");
        std::fs::write(&path, format!("{base}gateway_tls_cert = \"gw.pem\"\n")).unwrap();
        let e = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("needs all of gateway_tls_cert, gateway_tls_key and gateway_tls_ca"), "{e}");

        std::fs::write(
            &path,
            format!("{base}gateway_tls_cert = \"gw.pem\"\ngateway_tls_key = \"gw.key\"\ngateway_tls_ca = \"ca.pem\"\n"),
        )
        .unwrap();
        for f in ["gw.pem", "gw.key", "ca.pem"] {
            std::fs::write(dir.path().join(f), "-----BEGIN X-----\n").unwrap();
        }
        let config = NodeConfig::load(&path).unwrap();
        assert_eq!(config.gateway_recv_timeout_secs, 30);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = dir.path().join("gw.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(config.gateway_tls().is_err(), "a key others can read is refused");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(config.gateway_tls().unwrap().is_some());
        std::fs::write(dir.path().join("ca.pem"), "not pem").unwrap();
        assert!(config.gateway_tls().unwrap_err().to_string().contains("is not PEM"));
    }
}
