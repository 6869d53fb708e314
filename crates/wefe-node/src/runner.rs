//! Runners: one per job kind. A runner gets the job as recorded from the
//! chain, this member's role, its input ids and a [`Transport`] to the other
//! participants, and returns the result artifact it produced. It never touches
//! the chain or the store: the scheduler does.

use alloy::primitives::Address;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use wefe_core::{PeerId, Transport};
use wefe_mpc::psi::PsiOutput;
use wefe_mpc::psi::ecdh::{self, EcdhParams, OutputKind, Reveal};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};

/// The job kinds this node runs.
pub const KINDS: [&str; 3] = ["psi", "vertical-lr", "predict"];

/// `params` of a `psi` job, as proposed on chain.
///
/// ```json
/// {"protocol": "ecdh", "reveal": "both", "output": "intersection"}
/// {"protocol": "rsa", "reveal": "both", "bloom_fpr_log2": 40}
/// ```
///
/// Roles: the first participant is the ECDH initiator / RSA client, the
/// second the ECDH responder / RSA server (it holds the RSA key). `reveal`:
/// `both`, `first` or `second` (ECDH); `both` or `first` (RSA: the client
/// always learns). Unknown keys (e.g. `purpose`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PsiParams {
    /// `ecdh` (default) or `rsa`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Who learns the result.
    #[serde(default = "default_reveal")]
    pub reveal: String,
    /// `intersection` (default) or `cardinality` (ECDH only).
    #[serde(default = "default_output")]
    pub output: String,
    /// RSA: the server's set as a Bloom filter with this false-positive rate
    /// (2^-n); absent = exact hash list.
    #[serde(default)]
    pub bloom_fpr_log2: Option<u8>,
}

fn default_protocol() -> String {
    "ecdh".into()
}
fn default_reveal() -> String {
    "both".into()
}
fn default_output() -> String {
    "intersection".into()
}

impl PsiParams {
    /// Parses and checks a job's params JSON.
    pub fn parse(json: &str) -> Result<Self> {
        let params: PsiParams = serde_json::from_str(json).context("psi params are not the expected JSON")?;
        match (params.protocol.as_str(), params.reveal.as_str(), params.output.as_str()) {
            ("ecdh", "both" | "first" | "second", "intersection" | "cardinality") => {}
            ("rsa", "both" | "first", "intersection") => {}
            ("ecdh" | "rsa", _, _) => bail!(
                "psi params: reveal '{}' / output '{}' not supported with protocol '{}'",
                params.reveal,
                params.output,
                params.protocol
            ),
            (other, _, _) => bail!("psi params: unknown protocol '{other}' (ecdh or rsa)"),
        }
        if params.bloom_fpr_log2.is_some_and(|f| !(1..=64).contains(&f)) {
            bail!("psi params: bloom_fpr_log2 must be 1..=64");
        }
        // With both learning, the client sends back the tags its Bloom filter
        // matched: false positives would let the server test guessed ids.
        let minimum = u32::from(rsa_blind::MIN_FPR_LOG2_REVEAL_BOTH);
        if params.protocol == "rsa"
            && params.reveal == "both"
            && params.bloom_fpr_log2.is_some_and(|f| u32::from(f) < minimum)
        {
            bail!(
                "psi params: with rsa and reveal both, bloom_fpr_log2 must be at least {minimum} (or omit it for a hash list)"
            );
        }
        Ok(params)
    }
}

/// What a runner hands back: the artifact's bytes, its file extension and a
/// JSON summary for the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The result file's content.
    pub bytes: Vec<u8>,
    /// `csv` or `json`.
    pub extension: &'static str,
    /// Reported on chain with the artifact's hash.
    pub summary: serde_json::Value,
    /// Companion files (e.g. `roc.png`), written as `job-<id>-<name>`;
    /// not covered by the reported hash.
    pub extra: Vec<(&'static str, Vec<u8>)>,
}

/// Runs this member's side of a two-party PSI job.
pub async fn run_psi(
    params_json: &str,
    participants: &[Address],
    me: Address,
    ids: Vec<Vec<u8>>,
    transport: &impl Transport,
) -> Result<Artifact> {
    let params = PsiParams::parse(params_json)?;
    if participants.len() != 2 {
        bail!("psi runs between exactly 2 participants, the job names {}", participants.len());
    }
    let first = participants[0] == me;
    if !first && participants[1] != me {
        bail!("{me} is not a participant of this job");
    }
    let peer = PeerId::from_bytes(if first { participants[1] } else { participants[0] }.into_array());
    let output = match params.protocol.as_str() {
        "ecdh" => {
            let ecdh_params = EcdhParams {
                reveal: match params.reveal.as_str() {
                    "first" => Reveal::Initiator,
                    "second" => Reveal::Responder,
                    _ => Reveal::Both,
                },
                output: if params.output == "cardinality" { OutputKind::Cardinality } else { OutputKind::Intersection },
                ..EcdhParams::default()
            };
            if first {
                ecdh::run_initiator(transport, &peer, ecdh_params, ids).await
            } else {
                ecdh::run_responder(transport, &peer, ecdh_params, ids).await
            }
        }
        _ => {
            let rsa_params = RsaParams {
                reveal: if params.reveal == "first" { RsaReveal::Client } else { RsaReveal::Both },
                server_set: match params.bloom_fpr_log2 {
                    Some(fpr_log2) => ServerSetEncoding::Bloom { fpr_log2 },
                    None => ServerSetEncoding::HashList,
                },
                ..RsaParams::default()
            };
            if first {
                rsa_blind::run_client(transport, &peer, rsa_params, ids).await
            } else {
                // A fresh 2048-bit key per job: nothing links two jobs' signatures.
                let signer = tokio::task::block_in_place(|| BlindSigner::generate(&rsa_params))?;
                rsa_blind::run_server(transport, &peer, rsa_params, signer, ids).await
            }
        }
    }
    .with_context(|| format!("psi ({}) with {peer}", params.protocol))?;
    Ok(artifact(&params, output))
}

fn artifact(params: &PsiParams, output: PsiOutput) -> Artifact {
    let protocol = params.protocol.clone();
    match output {
        PsiOutput::Intersection(ids) => {
            let mut bytes = b"id\n".to_vec();
            for id in &ids {
                bytes.extend_from_slice(id);
                bytes.push(b'\n');
            }
            Artifact {
                bytes,
                extension: "csv",
                summary: serde_json::json!({ "protocol": protocol, "intersection_size": ids.len() }),
                extra: Vec::new(),
            }
        }
        PsiOutput::Cardinality(n) => {
            let summary = serde_json::json!({ "protocol": protocol, "intersection_size": n });
            Artifact { bytes: format!("{summary}\n").into_bytes(), extension: "json", summary, extra: Vec::new() }
        }
        PsiOutput::Nothing => {
            let summary = serde_json::json!({ "protocol": protocol, "learned": false });
            Artifact { bytes: format!("{summary}\n").into_bytes(), extension: "json", summary, extra: Vec::new() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked() {
        assert_eq!(PsiParams::parse("{}").unwrap().protocol, "ecdh");
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"both","purpose":"fraud"}"#).is_ok());
        assert!(PsiParams::parse(r#"{"protocol":"kkrt"}"#).unwrap_err().to_string().contains("unknown protocol"));
        assert!(PsiParams::parse(r#"{"protocol":"rsa","output":"cardinality"}"#).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","bloom_fpr_log2":0}"#).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"both","bloom_fpr_log2":20}"#).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"first","bloom_fpr_log2":20}"#).is_ok());
        assert!(PsiParams::parse("[1]").is_err());
    }
}
