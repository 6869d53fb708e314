//! Runners: one per job kind. A runner gets the job as recorded from the
//! chain, this member's role, its input ids and a [`Transport`] to the other
//! participants, and returns the result artifact it produced. It never touches
//! the chain or the store: the scheduler does.

use alloy::primitives::Address;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use wefe_core::{PeerId, Transport};
use wefe_mpc::psi::ecdh::{self, EcdhParams, OutputKind, Reveal};
use wefe_mpc::psi::kkrt::{self, KkrtParams, KkrtReveal};
use wefe_mpc::psi::multi::{self, MultiParams};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};
use wefe_mpc::psi::{Progress, PsiOutput};

use crate::disclosure::{self, FailureCategory, JobFailure};

/// The job kinds this node runs.
pub const KINDS: [&str; 3] = ["psi", "vertical-lr", "predict"];

/// `params` of a `psi` job, as proposed on chain.
///
/// ```json
/// {"protocol": "ecdh", "reveal": "both", "output": "intersection"}
/// {"protocol": "rsa", "reveal": "both", "bloom_fpr_log2": 40}
/// {"protocol": "kkrt", "reveal": "first"}
/// ```
///
/// Two participants — roles: the first is the ECDH initiator / RSA client /
/// KKRT receiver, the second the ECDH responder / RSA server (it holds the
/// RSA key) / KKRT sender. `reveal`: `both`, `first` or `second` (ECDH);
/// `both` or `first` (RSA and KKRT: the first always learns).
///
/// Three or more participants run multi-party ECDH-PSI ([`multi`]):
/// `reveal` is `all` (default for 3+) or `first`; `output` as for ECDH.
/// `publish` lists the summary fields that go on chain (see
/// [`crate::disclosure`]); unknown keys (e.g. `purpose`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PsiParams {
    /// `ecdh` (default), `rsa` or `kkrt`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Who learns the result (`both` by default with two participants, `all` with more).
    #[serde(default)]
    pub reveal: Option<String>,
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
fn default_output() -> String {
    "intersection".into()
}

impl PsiParams {
    /// Parses and checks a job's params JSON for a job with `parties` participants.
    pub fn parse(json: &str, parties: usize) -> Result<Self> {
        let mut params: PsiParams = serde_json::from_str(json).context("psi params are not the expected JSON")?;
        if params.reveal.is_none() {
            params.reveal = Some(if parties >= 3 { "all" } else { "both" }.into());
        }
        let reveal = params.reveal();
        if parties >= 3 {
            match (params.protocol.as_str(), reveal, params.output.as_str()) {
                ("ecdh", "all" | "first", "intersection" | "cardinality") => {}
                ("ecdh", _, _) => bail!(
                    "psi params: with {parties} participants reveal must be 'all' or 'first' and output \
                     'intersection' or 'cardinality' (got '{reveal}' / '{}')",
                    params.output
                ),
                (other, _, _) => {
                    bail!("psi params: protocol '{other}' runs between 2 participants; {parties} need 'ecdh'")
                }
            }
            return Ok(params);
        }
        match (params.protocol.as_str(), reveal, params.output.as_str()) {
            ("ecdh", "both" | "first" | "second", "intersection" | "cardinality") => {}
            ("rsa" | "kkrt", "both" | "first", "intersection") => {}
            ("ecdh" | "rsa" | "kkrt", _, _) => bail!(
                "psi params: reveal '{reveal}' / output '{}' not supported with protocol '{}'",
                params.output,
                params.protocol
            ),
            (other, _, _) => bail!("psi params: unknown protocol '{other}' (ecdh, rsa or kkrt)"),
        }
        if params.bloom_fpr_log2.is_some_and(|f| !(1..=64).contains(&f)) {
            bail!("psi params: bloom_fpr_log2 must be 1..=64");
        }
        // With both learning, the client sends back the tags its Bloom filter
        // matched: false positives would let the server test guessed ids.
        let minimum = u32::from(rsa_blind::MIN_FPR_LOG2_REVEAL_BOTH);
        if params.protocol == "rsa" && reveal == "both" && params.bloom_fpr_log2.is_some_and(|f| u32::from(f) < minimum)
        {
            bail!(
                "psi params: with rsa and reveal both, bloom_fpr_log2 must be at least {minimum} (or omit it for a hash list)"
            );
        }
        Ok(params)
    }

    /// `reveal` (after [`parse`](Self::parse), never absent: it fills in the default).
    pub fn reveal(&self) -> &str {
        self.reveal.as_deref().unwrap_or("both")
    }

    /// The positions of the participants that learn the result (out of `parties`).
    pub fn learners(&self, parties: usize) -> Vec<usize> {
        match self.reveal() {
            "both" | "all" => (0..parties).collect(),
            "second" => vec![1],
            _ => vec![0],
        }
    }
}

/// What a runner hands back: the artifact's bytes, its file extension and a
/// JSON summary (kept here; only the fields the params publish go on chain).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The result file's content.
    pub bytes: Vec<u8>,
    /// `csv` or `json`.
    pub extension: &'static str,
    /// Reported on chain with the artifact's hash.
    pub summary: serde_json::Value,
    /// Companion files (e.g. `roc.png`), written as `job-<id>-<name>`;
    /// not covered by the reported commitment.
    pub extra: Vec<(&'static str, Vec<u8>)>,
    /// The commitment key agreed with the other holders of the same result;
    /// None: the scheduler draws a key of this node's own.
    pub commitment_key: Option<wefe_crypto::commitment::CommitmentKey>,
}

/// Runs this member's side of a PSI job: two-party ECDH, RSA or KKRT, or
/// multi-party ECDH with three or more participants. `progress` counts ids
/// processed (both sets, or every set this party handles).
pub async fn run_psi(
    job_id: u64,
    params_json: &str,
    participants: &[Address],
    me: Address,
    ids: Vec<Vec<u8>>,
    transport: &impl Transport,
    progress: &Progress,
) -> Result<Artifact> {
    let invalid = |e: anyhow::Error| JobFailure::wrap(FailureCategory::InvalidJob, e);
    let params = PsiParams::parse(params_json, participants.len()).map_err(invalid)?;
    let Some(position) = participants.iter().position(|p| *p == me) else {
        return Err(invalid(anyhow::anyhow!("{me} is not a participant of this job")));
    };
    let peers: Vec<PeerId> = participants.iter().map(|p| PeerId::from_bytes(p.into_array())).collect();
    if peers.iter().collect::<std::collections::HashSet<_>>().len() != peers.len() {
        return Err(invalid(anyhow::anyhow!("a participant appears twice in this job; psi needs distinct parties")));
    }
    // Parties that learn the same result commit under one key they agree on
    // now (the contributions travel beside the protocol's messages).
    let holders: Vec<PeerId> = params.learners(peers.len()).into_iter().map(|i| peers[i]).collect();
    let agreement = disclosure::agree_key(transport, job_id, &holders).await?;
    let mut artifact = run_psi_protocol(&params, &peers, position, ids, transport, progress).await?;
    if let Some(agreement) = agreement {
        artifact.commitment_key = Some(agreement.finish(transport).await?);
    }
    Ok(artifact)
}

async fn run_psi_protocol(
    params: &PsiParams,
    peers: &[PeerId],
    position: usize,
    ids: Vec<Vec<u8>>,
    transport: &impl Transport,
    progress: &Progress,
) -> Result<Artifact> {
    let params = params.clone();
    let output_kind = if params.output == "cardinality" { OutputKind::Cardinality } else { OutputKind::Intersection };
    if peers.len() >= 3 {
        let multi_params =
            MultiParams { reveal_all: params.reveal() == "all", output: output_kind, ..MultiParams::default() };
        let output = multi::run(transport, peers, position, multi_params, ids, progress)
            .await
            .with_context(|| format!("multi-party psi between {} participants", peers.len()))?;
        return Ok(artifact(&params, output));
    }
    if peers.len() != 2 {
        bail!("psi needs at least 2 participants, the job names {}", peers.len());
    }
    let first = position == 0;
    let peer = peers[1 - position];
    let output = match params.protocol.as_str() {
        "ecdh" => {
            let ecdh_params = EcdhParams {
                reveal: match params.reveal() {
                    "first" => Reveal::Initiator,
                    "second" => Reveal::Responder,
                    _ => Reveal::Both,
                },
                output: output_kind,
                ..EcdhParams::default()
            };
            if first {
                ecdh::run_initiator(transport, &peer, ecdh_params, ids, progress).await
            } else {
                ecdh::run_responder(transport, &peer, ecdh_params, ids, progress).await
            }
        }
        "kkrt" => {
            let reveal = if params.reveal() == "first" { KkrtReveal::Receiver } else { KkrtReveal::Both };
            let kkrt_params = KkrtParams { reveal, ..KkrtParams::default() };
            if first {
                kkrt::run_receiver(transport, &peer, kkrt_params, ids, progress).await
            } else {
                kkrt::run_sender(transport, &peer, kkrt_params, ids, progress).await
            }
        }
        "rsa" => {
            let rsa_params = RsaParams {
                reveal: if params.reveal() == "first" { RsaReveal::Client } else { RsaReveal::Both },
                server_set: match params.bloom_fpr_log2 {
                    Some(fpr_log2) => ServerSetEncoding::Bloom { fpr_log2 },
                    None => ServerSetEncoding::HashList,
                },
                ..RsaParams::default()
            };
            if first {
                rsa_blind::run_client(transport, &peer, rsa_params, ids, progress).await
            } else {
                // A fresh 2048-bit key per job: nothing links two jobs' signatures.
                let signer = tokio::task::block_in_place(|| BlindSigner::generate(&rsa_params))?;
                rsa_blind::run_server(transport, &peer, rsa_params, signer, ids, progress).await
            }
        }
        // PsiParams::parse accepts no other protocol.
        other => bail!("psi params: unknown protocol '{other}'"),
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
                commitment_key: None,
            }
        }
        PsiOutput::Cardinality(n) => {
            let summary = serde_json::json!({ "protocol": protocol, "intersection_size": n });
            Artifact {
                bytes: format!("{summary}\n").into_bytes(),
                extension: "json",
                summary,
                extra: Vec::new(),
                commitment_key: None,
            }
        }
        PsiOutput::Nothing => {
            let summary = serde_json::json!({ "protocol": protocol, "learned": false });
            Artifact {
                bytes: format!("{summary}\n").into_bytes(),
                extension: "json",
                summary,
                extra: Vec::new(),
                commitment_key: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learners_follow_reveal() {
        assert_eq!(PsiParams::parse("{}", 2).unwrap().learners(2), vec![0, 1]);
        assert_eq!(PsiParams::parse(r#"{"reveal":"first"}"#, 2).unwrap().learners(2), vec![0]);
        assert_eq!(PsiParams::parse(r#"{"reveal":"second"}"#, 2).unwrap().learners(2), vec![1]);
        assert_eq!(PsiParams::parse("{}", 4).unwrap().learners(4), vec![0, 1, 2, 3]);
        assert_eq!(PsiParams::parse(r#"{"reveal":"first"}"#, 3).unwrap().learners(3), vec![0]);
    }

    #[test]
    fn params_are_checked() {
        assert_eq!(PsiParams::parse("{}", 2).unwrap().protocol, "ecdh");
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"both","purpose":"fraud"}"#, 2).is_ok());
        assert!(PsiParams::parse(r#"{"protocol":"kkrt","reveal":"first"}"#, 2).is_ok());
        assert!(PsiParams::parse(r#"{"protocol":"kkrt","output":"cardinality"}"#, 2).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"kkrt","reveal":"second"}"#, 2).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rr22"}"#, 2).unwrap_err().to_string().contains("unknown protocol"));
        assert!(PsiParams::parse(r#"{"protocol":"rsa","output":"cardinality"}"#, 2).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","bloom_fpr_log2":0}"#, 2).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"both","bloom_fpr_log2":20}"#, 2).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"rsa","reveal":"first","bloom_fpr_log2":20}"#, 2).is_ok());
        assert!(PsiParams::parse("[1]", 2).is_err());
        // Three or more: multi-party ECDH only, reveal all (default) or first.
        assert!(PsiParams::parse("{}", 3).is_ok());
        assert!(PsiParams::parse(r#"{"reveal":"all","output":"cardinality"}"#, 4).is_ok());
        assert!(PsiParams::parse(r#"{"reveal":"first"}"#, 3).is_ok());
        assert!(PsiParams::parse(r#"{"reveal":"second"}"#, 3).is_err());
        assert!(PsiParams::parse(r#"{"protocol":"kkrt"}"#, 3).unwrap_err().to_string().contains("2 participants"));
        assert!(PsiParams::parse(r#"{"reveal":"all"}"#, 2).is_err());
    }
}
