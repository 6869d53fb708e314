use std::path::Path;

use alloy::primitives::{Address, B256, Bytes, U256};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wefe_chain::Target;
use wefe_chain::bindings::CertificateRegistry;
use wefe_chain::bindings::Consortium;
use wefe_chain::{AnyBackend, Governance};
use wefe_crypto::cert::{self, Csr, MemberCertificate};

use super::{hash_or_file, variant};
use crate::args::{CertCommand, GlobalArgs};
use crate::context;
use crate::output::{Output, fields, num};

const STATUS: &str = "CertificateRegistry.CertificateStatus";

/// What the registry records of a certificate made elsewhere.
#[derive(Debug, PartialEq, Eq)]
struct Recorded {
    /// SM3 of the DER: how gateways and `cert verify` look it up.
    hash: B256,
    serial: U256,
    not_before: u64,
    not_after: u64,
}

/// Reads a certificate file (PEM or DER) for `cert issue --cert`.
fn recorded_certificate(path: &std::path::Path) -> Result<Recorded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let c = wefe_crypto::cert::MemberCertificate::parse(&bytes)
        .with_context(|| format!("certificate {}", path.display()))?;
    let digits: Vec<u8> = c.serial.iter().copied().skip_while(|&b| b == 0).collect();
    if digits.len() > 32 {
        bail!("certificate {}: its serial has {} bytes; the registry records at most 32", path.display(), digits.len());
    }
    Ok(Recorded {
        hash: B256::from(c.hash()),
        serial: U256::from_be_slice(&digits),
        not_before: c.not_before,
        not_after: c.not_after,
    })
}

pub async fn run(global: &GlobalArgs, cmd: CertCommand) -> Result<Output> {
    match cmd {
        CertCommand::CaInit { key, out, name, days } => ca_init(global, &key, &out, &name, days),
        CertCommand::PublishRoot { cert } => publish_root(global, &cert).await,
        CertCommand::Csr { key, out, name, address } => make_csr(global, &key, &out, name, address).await,
        CertCommand::Verify { cert } => verify(global, &cert).await,
        CertCommand::Issue { id, csr: Some(csr), ca_key, ca_cert, out, days, uri, .. } => {
            let (Some(ca_key), Some(ca_cert), Some(out)) = (ca_key, ca_cert, out) else {
                bail!("--csr needs --ca-key, --ca-cert and --out");
            };
            issue_x509(global, id, &csr, &ca_key, &ca_cert, &out, days, uri).await
        }
        CertCommand::Request { csr_hash: None, csr: Some(csr) } => {
            let csr = read_csr(&csr)?;
            let gov = context::connect(global, true).await?;
            let me = context::sender(&gov);
            check_csr_against_chain(&gov, &csr, me).await?;
            let csr_hash = B256::from(csr.hash());
            let outcome =
                gov.send(Target::CertificateRegistry, CertificateRegistry::requestCall { csrHash: csr_hash }).await?;
            let id = event_id(&outcome, "CertificateRequested");
            Ok(Output::tx(
                format!("certificate request {} recorded (CSR SM3 hash {csr_hash})", id_text(id)),
                &outcome,
                json!({ "certificate_id": id, "csr_hash": csr_hash.to_string() }),
            ))
        }
        CertCommand::Request { csr_hash, csr } => {
            let csr_hash = hash_or_file(csr_hash, csr.as_deref())?;
            let gov = context::connect(global, true).await?;
            let outcome =
                gov.send(Target::CertificateRegistry, CertificateRegistry::requestCall { csrHash: csr_hash }).await?;
            let id = event_id(&outcome, "CertificateRequested");
            Ok(Output::tx(
                format!("certificate request {} recorded (CSR hash {csr_hash})", id_text(id)),
                &outcome,
                json!({ "certificate_id": id }),
            ))
        }
        CertCommand::Issue { id, cert_hash, cert, serial, not_before, not_after, days, uri, .. } => {
            if cert_hash.is_none() && cert.is_none() {
                bail!("give --csr (with --ca-key, --ca-cert, --out) to issue, or --cert / --cert-hash to record");
            }
            // A certificate file is recorded as gateways look it up: by the
            // SM3 of its DER (a SHA-256 would never be found), with the
            // serial and validity it carries.
            let parsed = cert.as_deref().map(recorded_certificate).transpose()?;
            let serial = match (serial.map(U256::from), parsed.as_ref().map(|c| c.serial)) {
                (Some(given), Some(inside)) if given != inside => {
                    bail!("--serial {given} is not the certificate's serial ({inside})")
                }
                (Some(s), _) | (None, Some(s)) => s,
                (None, None) => bail!("--serial is needed with --cert-hash"),
            };
            let cert_hash = match &parsed {
                Some(c) => c.hash,
                None => hash_or_file(cert_hash, None)?,
            };
            let not_before = match (not_before, &parsed) {
                (Some(t), _) => t,
                (None, Some(c)) => c.not_before,
                (None, None) => unix_now()?,
            };
            let not_after = match (not_after, &parsed) {
                (Some(t), _) => t,
                (None, Some(c)) => c.not_after,
                (None, None) => not_before
                    .checked_add(days.checked_mul(86_400).context("--days too large")?)
                    .context("--days too large")?,
            };
            if not_after <= not_before {
                bail!("the validity is empty: not-after ({not_after}) must be after not-before ({not_before})");
            }
            let gov = context::connect(global, true).await?;
            let call = CertificateRegistry::issueCall {
                certificateId: U256::from(id),
                certificateHash: cert_hash,
                serial,
                notBefore: not_before,
                notAfter: not_after,
                uri,
            };
            let outcome = gov.send(Target::CertificateRegistry, call).await?;
            Ok(Output::tx(
                format!("certificate {id} issued (hash {cert_hash}, serial {serial})"),
                &outcome,
                json!({ "certificate_id": id }),
            ))
        }
        CertCommand::Withdraw { id } => {
            let gov = context::connect(global, true).await?;
            let call = CertificateRegistry::withdrawRequestCall { certificateId: U256::from(id) };
            let outcome = gov.send(Target::CertificateRegistry, call).await?;
            Ok(Output::tx(format!("certificate request {id} withdrawn"), &outcome, json!({ "certificate_id": id })))
        }
        CertCommand::Reject { id, reason } => {
            let gov = context::connect(global, true).await?;
            let call = CertificateRegistry::rejectCall { certificateId: U256::from(id), reason };
            let outcome = gov.send(Target::CertificateRegistry, call).await?;
            Ok(Output::tx(format!("certificate request {id} rejected"), &outcome, json!({ "certificate_id": id })))
        }
        CertCommand::Revoke { id, reason, code } => {
            let gov = context::connect(global, true).await?;
            let call = CertificateRegistry::revokeCall { certificateId: U256::from(id), reasonCode: code, reason };
            let outcome = gov.send(Target::CertificateRegistry, call).await?;
            Ok(Output::tx(format!("certificate {id} revoked"), &outcome, json!({ "certificate_id": id })))
        }
        CertCommand::Status { certificate } => {
            let gov = context::connect(global, false).await?;
            let c = if certificate.starts_with("0x") {
                let hash = crate::args::parse_b256(&certificate).map_err(anyhow::Error::msg)?;
                gov.call(
                    Target::CertificateRegistry,
                    CertificateRegistry::getCertificateByHashCall { certificateHash: hash },
                )
                .await?
            } else {
                let id: u64 = certificate
                    .parse()
                    .map_err(|_| anyhow::anyhow!("'{certificate}' is neither a certificate id nor a 0x hash"))?;
                gov.call(
                    Target::CertificateRegistry,
                    CertificateRegistry::getCertificateCall { certificateId: U256::from(id) },
                )
                .await?
            };
            // The chain's lifecycle checks (issued, issuer still an authority with the
            // same root, member active with the same key); validity times are checked
            // by gateways against their own clock.
            let validity = if c.certificateHash.is_zero() {
                "not issued".to_owned()
            } else {
                let v = gov
                    .call(
                        Target::CertificateRegistry,
                        CertificateRegistry::validityCall { certificateHash: c.certificateHash },
                    )
                    .await?;
                validity_text(v)
            };
            let valid = validity == "valid";
            let text = fields(&[
                ("certificate", c.id.to_string()),
                ("status", variant(STATUS, c.status)),
                ("valid on chain", validity.clone()),
                ("member key version", c.keyVersion.to_string()),
                ("issuer root hash", if c.rootHash.is_zero() { "-".into() } else { c.rootHash.to_string() }),
                ("member", c.member.to_checksum(None)),
                ("CSR hash", c.csrHash.to_string()),
                (
                    "certificate hash",
                    if c.certificateHash.is_zero() { "-".into() } else { c.certificateHash.to_string() },
                ),
                ("serial", c.serial.to_string()),
                ("not before", c.notBefore.to_string()),
                ("not after", c.notAfter.to_string()),
                ("uri", c.uri.clone()),
                ("issuer", if c.issuer.is_zero() { "-".into() } else { c.issuer.to_checksum(None) }),
                ("requested block", c.requestedBlock.to_string()),
                ("issued block", c.issuedBlock.to_string()),
                ("revoked/rejected/withdrawn block", c.closedBlock.to_string()),
                ("reason", c.reason.clone()),
            ]);
            let mut value = cert_json(&c, valid);
            value["validity"] = json!(validity);
            Ok(Output::new(text, value))
        }
    }
}

/// `CertificateRegistry.Validity` in words.
fn validity_text(v: u8) -> String {
    match variant("CertificateRegistry.Validity", v).as_str() {
        "Valid" => "valid".into(),
        "Unknown" => "not recorded on chain".into(),
        "Revoked" => "revoked".into(),
        "IssuerDismissed" => "its issuer is no longer a certificate authority".into(),
        "RootReplaced" => "its issuer has published another root since".into(),
        "MemberNotActive" => "its member is not active".into(),
        "KeyRotated" => "its member registered another key since".into(),
        other => other.to_lowercase(),
    }
}

fn cert_json(c: &CertificateRegistry::Certificate, valid: bool) -> Value {
    let issued = !c.certificateHash.is_zero();
    json!({
        "ok": true,
        "id": num(c.id),
        "status": variant(STATUS, c.status),
        "valid": valid,
        "member": c.member.to_checksum(None),
        "csr_hash": c.csrHash.to_string(),
        "certificate_hash": issued.then(|| c.certificateHash.to_string()),
        "serial": issued.then(|| num(c.serial)),
        "not_before": c.notBefore,
        "not_after": c.notAfter,
        "uri": c.uri,
        "issuer": issued.then(|| c.issuer.to_checksum(None)),
        "requested_block": c.requestedBlock,
        "issued_block": c.issuedBlock,
        "closed_block": c.closedBlock,
        "key_version": c.keyVersion,
        "root_hash": (!c.rootHash.is_zero()).then(|| c.rootHash.to_string()),
        "reason": c.reason,
    })
}

/// The id (first field) of `event` in a mined transaction's logs. None only if
/// the node returned a receipt without the log: the transaction still happened.
pub(crate) fn event_id(outcome: &wefe_chain::TxOutcome, event: &str) -> Option<u64> {
    wefe_chain::decode_events(outcome)
        .iter()
        .find(|e| e.event == event)
        .and_then(|e| e.fields.first())
        .and_then(|(_, v)| v.parse().ok())
}

/// An id for a message, "?" when unknown.
pub(crate) fn id_text(id: Option<u64>) -> String {
    id.map_or_else(|| "?".to_owned(), |id| id.to_string())
}

/// Consortium.MemberStatus::Active.
const ACTIVE: u8 = 2;
/// CertificateRegistry.CertificateStatus::Requested and ::Issued.
const REQUESTED: u8 = 1;
const ISSUED: u8 = 2;

fn unix_now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_secs())
}

fn read_csr(path: &Path) -> Result<Csr> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read CSR {}", path.display()))?;
    Csr::parse(&bytes).with_context(|| format!("CSR {}", path.display()))
}

fn read_certificate(path: &Path) -> Result<MemberCertificate> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read certificate {}", path.display()))?;
    MemberCertificate::parse(&bytes).with_context(|| format!("certificate {}", path.display()))
}

/// Writes `text` to a new file (never overwrites).
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn hex_key(xy: &[u8]) -> String {
    alloy::hex::encode(xy)
}

/// The member's record, refusing unknown or inactive members and a CSR whose key is not the registered one.
async fn check_csr_against_chain(gov: &Governance<AnyBackend>, csr: &Csr, member: Address) -> Result<()> {
    let csr_member = Address::from(csr.address);
    if csr_member != member {
        bail!("the CSR names member {csr_member}, not {member}");
    }
    let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: member }).await?;
    if m.status != ACTIVE {
        bail!("{member} is not an active member (status {})", variant("Consortium.MemberStatus", m.status));
    }
    if m.publicKey.as_ref() != csr.public_key.to_xy() {
        bail!(
            "the CSR's key {} is not the SM2 key registered on chain for {member} ({}): nothing was recorded",
            hex_key(&csr.public_key.to_xy()),
            hex_key(&m.publicKey)
        );
    }
    if csr.name != m.name {
        bail!("the CSR names {:?}, but {member} is registered on chain as {:?}", csr.name, m.name);
    }
    Ok(())
}

fn ca_init(global: &GlobalArgs, key_path: &Path, out: &Path, name: &str, days: u64) -> Result<Output> {
    if out.exists() {
        bail!("{} already exists: refusing to overwrite a certificate", out.display());
    }
    if days == 0 || days > 36_500 {
        bail!("--days must be between 1 and 36500");
    }
    let now = unix_now()?;
    let (key, created) = if key_path.exists() {
        (crate::keys::load_sm2_key(global, key_path)?, false)
    } else {
        (wefe_crypto::sm::Sm2KeyPair::generate()?, true)
    };
    // Everything that can fail on the inputs fails before any file is written.
    let root = cert::create_root(&key, name, now.saturating_sub(300), now + days * 86_400)?;
    let pem = root.to_pem()?;
    if created {
        let password = crate::keys::sm2_password(global, true)?;
        wefe_crypto::keyfile::write_sm2_key(key_path, &key, &password)?;
    }
    if let Err(e) = write_new(out, &pem) {
        if created {
            let _ = std::fs::remove_file(key_path);
        }
        return Err(e);
    }
    let hash = B256::from(root.hash());
    Ok(Output::new(
        format!(
            "root certificate {} written ({}key {}); publish it with: wefe cert publish-root --cert {}\n  SM3 hash {hash}, valid until {}",
            out.display(),
            if created { "new encrypted " } else { "" },
            key_path.display(),
            out.display(),
            root.not_after
        ),
        json!({
            "ok": true,
            "certificate": out.display().to_string(),
            "key": key_path.display().to_string(),
            "key_created": created,
            "hash": hash.to_string(),
            "public_key": hex_key(&root.public_key.to_xy()),
            "not_after": root.not_after,
        }),
    ))
}

async fn publish_root(global: &GlobalArgs, path: &Path) -> Result<Output> {
    let root = read_certificate(path)?;
    root.check_root().with_context(|| format!("certificate {}", path.display()))?;
    let now = unix_now()?;
    if now > root.not_after {
        bail!("root certificate {} expired at {}", path.display(), root.not_after);
    }
    let gov = context::connect(global, true).await?;
    let me = context::sender(&gov);
    let is_ca = gov.call(Target::Consortium, Consortium::isCertificateAuthorityCall(me)).await?;
    if !is_ca {
        bail!("{me} is not a certificate authority appointed on chain: nothing was published");
    }
    let hash = B256::from(root.hash());
    let call = CertificateRegistry::setAuthorityRootCall {
        certificateHash: hash,
        publicKey: Bytes::from(root.public_key.to_xy().to_vec()),
    };
    let outcome = gov.send(Target::CertificateRegistry, call).await?;
    Ok(Output::tx(
        format!("root certificate {} published for authority {me} (hash {hash})", path.display()),
        &outcome,
        json!({ "hash": hash.to_string(), "authority": me.to_checksum(None) }),
    ))
}

async fn make_csr(
    global: &GlobalArgs,
    key_path: &Path,
    out: &Path,
    name: Option<String>,
    address: Option<Address>,
) -> Result<Output> {
    if out.exists() {
        bail!("{} already exists: refusing to overwrite a CSR", out.display());
    }
    let key = crate::keys::load_sm2_key(global, key_path)?;
    let address = match address {
        Some(a) => a,
        None => crate::keys::load_signer(global, crate::keys::configured_suite(global))?
            .map(|s| s.address())
            .context("no member address: give --address or configure your wallet (--keystore)")?,
    };
    let name = match name {
        Some(n) => n,
        None => {
            let gov = context::connect(global, false).await?;
            let m = gov.call(Target::Consortium, Consortium::getMemberCall { account: address }).await?;
            if m.publicKey.as_ref() != key.public_key().to_xy() {
                bail!(
                    "{} holds key {}, but the key registered on chain for {address} is {}",
                    key_path.display(),
                    hex_key(&key.public_key().to_xy()),
                    hex_key(&m.publicKey)
                );
            }
            m.name
        }
    };
    let csr = cert::create_csr(&key, &name, &address.into_array())?;
    write_new(out, &csr.to_pem()?)?;
    let hash = B256::from(csr.hash());
    Ok(Output::new(
        format!(
            "CSR {} written for {name} ({address}); request it with: wefe cert request --csr {}",
            out.display(),
            out.display()
        ),
        json!({ "ok": true, "csr": out.display().to_string(), "hash": hash.to_string(), "name": name, "member": address.to_checksum(None) }),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn issue_x509(
    global: &GlobalArgs,
    id: u64,
    csr_path: &Path,
    ca_key_path: &Path,
    ca_cert_path: &Path,
    out: &Path,
    days: u64,
    uri: String,
) -> Result<Output> {
    if out.exists() {
        bail!("{} already exists: refusing to overwrite a certificate", out.display());
    }
    if days == 0 || days > 36_500 {
        bail!("--days must be between 1 and 36500");
    }
    let csr = read_csr(csr_path)?;
    let root = read_certificate(ca_cert_path)?;
    root.check_root().with_context(|| format!("CA certificate {}", ca_cert_path.display()))?;
    let gov = context::connect(global, true).await?;
    let me = context::sender(&gov);
    // Everything is checked before the key is unlocked and anything is signed or sent.
    let request = gov
        .call(Target::CertificateRegistry, CertificateRegistry::getCertificateCall { certificateId: U256::from(id) })
        .await?;
    if request.status != REQUESTED {
        bail!("certificate {id} is {}, not Requested", variant(STATUS, request.status));
    }
    if request.csrHash != B256::from(csr.hash()) {
        bail!(
            "{} is not the CSR of request {id}: its SM3 hash is {}, the request recorded {}",
            csr_path.display(),
            B256::from(csr.hash()),
            request.csrHash
        );
    }
    check_csr_against_chain(&gov, &csr, request.member).await?;
    if !gov.call(Target::Consortium, Consortium::isCertificateAuthorityCall(me)).await? {
        bail!("{me} is not a certificate authority appointed on chain");
    }
    let published =
        gov.call(Target::CertificateRegistry, CertificateRegistry::authorityRootCall { authority: me }).await?;
    if published.certificateHash != B256::from(root.hash()) {
        bail!(
            "{} is not the root {me} published on chain ({}): run wefe cert publish-root --cert {} first",
            ca_cert_path.display(),
            if published.certificateHash.is_zero() { "none".to_owned() } else { published.certificateHash.to_string() },
            ca_cert_path.display()
        );
    }
    let ca_key = crate::keys::load_sm2_key(global, ca_key_path)?;
    let now = unix_now()?;
    let not_after = (now + days * 86_400).min(root.not_after);
    let serial = cert::random_serial()?;
    let issued = cert::issue(&ca_key, &root, &csr, serial, now.saturating_sub(300).max(root.not_before), not_after)?;
    write_new(out, &issued.to_pem()?)?;
    let hash = B256::from(issued.hash());
    let call = CertificateRegistry::issueCall {
        certificateId: U256::from(id),
        certificateHash: hash,
        serial: U256::from(serial),
        notBefore: issued.not_before,
        notAfter: issued.not_after,
        uri,
    };
    let outcome = match gov.send(Target::CertificateRegistry, call).await {
        Ok(outcome) => outcome,
        // Sent, outcome unknown: the chain may record this very certificate,
        // which cannot be made again (random serial), so the file stays.
        Err(
            e @ (wefe_chain::ChainError::ReceiptTimeout { .. } | wefe_chain::ChainError::ReceiptUnavailable { .. }),
        ) => {
            return Err(anyhow::anyhow!(
                "{e}; {} is kept: if `wefe cert status {id}` shows it issued, it is the certificate",
                out.display()
            ));
        }
        Err(e) => {
            // Refused, so not a certificate: no file is left to mislead anyone.
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
    };
    Ok(Output::tx(
        format!(
            "certificate {id} issued to {} ({}): {} (SM3 {hash}, serial {serial:x}, valid until {})",
            csr.name,
            request.member,
            out.display(),
            issued.not_after
        ),
        &outcome,
        json!({
            "certificate_id": id,
            "certificate": out.display().to_string(),
            "hash": hash.to_string(),
            "serial": format!("{serial:x}"),
            "not_before": issued.not_before,
            "not_after": issued.not_after,
        }),
    ))
}

/// The checks a gateway makes, against the chain now.
async fn verify(global: &GlobalArgs, path: &Path) -> Result<Output> {
    let c = read_certificate(path)?;
    let gov = context::connect(global, false).await?;
    let hash = B256::from(c.hash());
    let refuse = |why: String| anyhow::anyhow!("certificate {} would be refused: {why}", path.display());
    let record = match gov
        .call(Target::CertificateRegistry, CertificateRegistry::getCertificateByHashCall { certificateHash: hash })
        .await
    {
        Ok(record) => record,
        Err(wefe_chain::ChainError::Reverted { error: Some(error), .. })
            if error.starts_with("UnknownCertificateHash") =>
        {
            return Err(refuse(format!("its SM3 hash {hash} is not recorded on chain")));
        }
        Err(e) => return Err(e.into()),
    };
    if record.status != ISSUED {
        return Err(refuse(format!("certificate {} is {} on chain", record.id, variant(STATUS, record.status))));
    }
    let validity =
        gov.call(Target::CertificateRegistry, CertificateRegistry::validityCall { certificateHash: hash }).await?;
    if variant("CertificateRegistry.Validity", validity) != "Valid" {
        return Err(refuse(format!("certificate {}: {}", record.id, validity_text(validity))));
    }
    let root = gov
        .call(Target::CertificateRegistry, CertificateRegistry::authorityRootCall { authority: record.issuer })
        .await?;
    let root_key = wefe_crypto::sm::Sm2PublicKey::from_xy(&root.publicKey)
        .map_err(|_| refuse(format!("its issuer {} has published no root key", record.issuer)))?;
    let member = gov.call(Target::Consortium, Consortium::getMemberCall { account: record.member }).await?;
    if member.status != ACTIVE {
        return Err(refuse(format!("{} is not an active member", record.member)));
    }
    let registered = wefe_crypto::sm::Sm2PublicKey::from_xy(&member.publicKey)
        .map_err(|_| refuse(format!("{}'s registered key is not an SM2 key", record.member)))?;
    c.check(&[root_key], unix_now()?, &record.member.into_array(), &registered)
        .map_err(|e| refuse(format!("the certificate {e}")))?;
    let text = fields(&[
        ("certificate", path.display().to_string()),
        ("valid", "yes: gateways accept it now".to_owned()),
        ("id", record.id.to_string()),
        ("member", format!("{} ({})", c.name, record.member.to_checksum(None))),
        ("issuer", format!("{} ({})", c.issuer(), record.issuer.to_checksum(None))),
        ("serial", alloy::hex::encode(&c.serial)),
        ("not before", c.not_before.to_string()),
        ("not after", c.not_after.to_string()),
        ("SM3 hash", hash.to_string()),
    ]);
    Ok(Output::new(
        text,
        json!({
            "ok": true,
            "valid": true,
            "certificate_id": num(record.id),
            "member": record.member.to_checksum(None),
            "issuer": record.issuer.to_checksum(None),
            "hash": hash.to_string(),
            "not_before": c.not_before,
            "not_after": c.not_after,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wefe_crypto::cert;
    use wefe_crypto::sm::Sm2KeyPair;

    #[test]
    fn a_recorded_certificate_is_known_by_the_sm3_of_its_der() {
        let (ca_key, member_key) = (Sm2KeyPair::generate().unwrap(), Sm2KeyPair::generate().unwrap());
        let root = cert::create_root(&ca_key, "Root", 1_000, 2_000_000_000).unwrap();
        let csr = cert::create_csr(&member_key, "Bank A", &[7; 20]).unwrap();
        let issued = cert::issue(&ca_key, &root, &csr, 0x0102_0304_0506_0708_090a, 2_000, 3_000_000).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.pem");
        std::fs::write(&path, issued.to_pem().unwrap()).unwrap();
        let recorded = recorded_certificate(&path).unwrap();
        // Not the SHA-256 of the file, which no gateway would ever look up.
        assert_eq!(recorded.hash, B256::from(wefe_crypto::sm::sm3(issued.der())));
        assert_eq!(recorded.serial, U256::from(0x0102_0304_0506_0708_090a_u128));
        assert_eq!((recorded.not_before, recorded.not_after), (issued.not_before, issued.not_after));
        std::fs::write(&path, b"not a certificate").unwrap();
        assert!(recorded_certificate(&path).is_err());
    }
}
