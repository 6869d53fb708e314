//! The client side of FISCO BCOS 3.x's RPC TLS, as its SDKs speak it: mutual
//! TLS (the node requires a client certificate of the chain's CA), the
//! chain's CA as the only root, and no host-name check — FISCO's
//! certificates carry a `FISCO-BCOS…` CN and no subjectAltName. Without more,
//! the handshake proves only that the peer holds *a* certificate of the
//! chain's CA, which every member's SDK certificate is; a pin
//! (`fisco_node_cert_sha256`, the SHA-256 of the node's own `ssl.crt`)
//! narrows it to that one node.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// PEM files of a few KiB: a larger one is not what `build_chain.sh` wrote.
const MAX_PEM: u64 = 1 << 20;

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let path = dir.join(name);
    let cannot = |e: String| {
        format!(
            "fisco_sdk_certs: cannot read {} ({e}); the directory must hold ca.crt, sdk.crt and sdk.key",
            path.display()
        )
    };
    let size = std::fs::metadata(&path).map_err(|e| cannot(e.to_string()))?.len();
    if size > MAX_PEM {
        return Err(cannot(format!("{size} bytes, more than a certificate file holds")));
    }
    std::fs::read(&path).map_err(|e| cannot(e.to_string()))
}

fn certificates(dir: &Path, name: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |e: String| format!("fisco_sdk_certs: {}: {e}", dir.join(name).display());
    let list = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(e.to_string()))?;
    if list.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(list)
}

/// The SHA-256 of the first certificate in a PEM text (what
/// `fisco_node_cert_sha256` pins: `openssl x509 -in ssl.crt -outform der | sha256sum`).
pub fn certificate_sha256(pem: &[u8]) -> Result<[u8; 32], String> {
    let cert = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or("no certificate in it")?
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    Ok(Sha256::digest(cert.as_ref()).into())
}

/// The TLS client configuration for a chain whose SDK files are in `dir`
/// (`ca.crt`, `sdk.crt`, `sdk.key`; the key readable by its owner only),
/// accepting only the node whose certificate has SHA-256 `pin` when given.
pub fn client_config(dir: &Path, pin: Option<[u8; 32]>) -> Result<rustls::ClientConfig, String> {
    let ca = certificates(dir, "ca.crt", &read(dir, "ca.crt")?)?;
    let chain = certificates(dir, "sdk.crt", &read(dir, "sdk.crt")?)?;
    wefe_crypto::keyfile::check_owner_only(&dir.join("sdk.key"), "fisco_sdk_certs key")
        .map_err(|e| format!("fisco_sdk_certs: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(&read(dir, "sdk.key")?)
        .map_err(|e| format!("fisco_sdk_certs: {}: {e}", dir.join("sdk.key").display()))?;
    let mut roots = RootCertStore::empty();
    for cert in ca {
        roots.add(cert).map_err(|e| format!("fisco_sdk_certs: {}: {e}", dir.join("ca.crt").display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = ChainCaVerifier { roots: Arc::new(roots), provider: Arc::clone(&provider), pin };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("fisco_sdk_certs: sdk.crt with sdk.key: {e}"))
}

/// Accepts a server certificate issued by the chain's CA (and, with a pin,
/// only the pinned one), whatever name it carries.
#[derive(Debug)]
struct ChainCaVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    pin: Option<[u8; 32]>,
}

impl ServerCertVerifier for ChainCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if let Some(pin) = self.pin {
            let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
            if seen != pin {
                return Err(rustls::Error::General(format!(
                    "the node's certificate has SHA-256 {}, not fisco_node_cert_sha256 = \"{}\"",
                    hex::encode(seen),
                    hex::encode(pin)
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
