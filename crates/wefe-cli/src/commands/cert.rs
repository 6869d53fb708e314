use alloy::primitives::U256;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wefe_chain::Target;
use wefe_chain::bindings::CertificateRegistry;

use super::{hash_or_file, variant};
use crate::args::{CertCommand, GlobalArgs};
use crate::context;
use crate::output::{Output, fields, num};

const STATUS: &str = "CertificateRegistry.CertificateStatus";

pub async fn run(global: &GlobalArgs, cmd: CertCommand) -> Result<Output> {
    match cmd {
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
        CertCommand::Issue { id, cert_hash, cert, serial, not_before, not_after, days, uri } => {
            let cert_hash = hash_or_file(cert_hash, cert.as_deref())?;
            let not_before = match not_before {
                Some(t) => t,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .context("system clock before 1970")?
                    .as_secs(),
            };
            let not_after = match not_after {
                Some(t) => t,
                None => not_before
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
                serial: U256::from(serial),
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
            // Issued and not revoked; validity times are checked by gateways against their own clock.
            let valid = variant(STATUS, c.status) == "Issued";
            let text = fields(&[
                ("certificate", c.id.to_string()),
                ("status", variant(STATUS, c.status)),
                ("valid on chain", valid.to_string()),
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
                ("revoked/rejected block", c.closedBlock.to_string()),
                ("reason", c.reason.clone()),
            ]);
            Ok(Output::new(text, cert_json(&c, valid)))
        }
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
