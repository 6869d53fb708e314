//! The `psi` runner: two-party ECDH, RSA blind-signature or KKRT PSI, or
//! multi-party ECDH with three or more participants (params:
//! [`wefe_core::job::PsiParams`]). The first participant is the ECDH
//! initiator / RSA client / KKRT receiver, the second the ECDH responder /
//! RSA server (it holds a fresh RSA key) / KKRT sender.

use anyhow::{Context, Result, bail};
use wefe_core::job::{PsiOutput as Output, PsiParams, PsiProtocol, PsiReveal};
use wefe_core::{PeerId, Transport};
use wefe_mpc::psi::PsiOutput;
use wefe_mpc::psi::ecdh::{self, EcdhParams, OutputKind, Reveal};
use wefe_mpc::psi::kkrt::{self, KkrtParams, KkrtReveal};
use wefe_mpc::psi::multi::{self, MultiParams};
use wefe_mpc::psi::rsa_blind::{self, BlindSigner, RsaParams, RsaReveal, ServerSetEncoding};

use super::{Artifact, JobContext};
use crate::disclosure::{self, FailureCategory, JobFailure};
use crate::scheduler::JobInputs;

/// Runs this member's side of a PSI job. The progress counts ids processed
/// (both sets, or every set this party handles).
pub(super) async fn run<I: JobInputs, T: Transport>(params: &PsiParams, cx: &JobContext<'_, I, T>) -> Result<Artifact> {
    let (job_id, me, transport, progress) = (cx.job.job.job_id, cx.me, cx.transport, cx.progress);
    let Some(position) = cx.participants.iter().position(|p| *p == me) else {
        let e = anyhow::anyhow!("{me} is not a participant of this job");
        return Err(JobFailure::wrap(FailureCategory::InvalidJob, e));
    };
    let ids = cx.inputs.ids(cx.job).await?;
    let peers: Vec<PeerId> = cx.participants.iter().map(|p| PeerId::from_bytes(p.into_array())).collect();
    // Each peer may bring no more ids than its registered dataset holds;
    // a peer with no dataset in the job cannot be checked, and is refused.
    let peer_limits: Vec<Option<u64>> = match cx.inputs.peer_rows(cx.job).await? {
        None => vec![None; peers.len()],
        Some(rows) => {
            let mut limits = Vec::with_capacity(peers.len());
            for (i, peer) in peers.iter().enumerate() {
                if i == position {
                    limits.push(None);
                    continue;
                }
                let Some(&n) = rows.get(peer) else {
                    let e =
                        anyhow::anyhow!("participant {peer} brings no dataset to this job: its set cannot be checked");
                    return Err(JobFailure::wrap(FailureCategory::InvalidJob, e));
                };
                limits.push(Some(n));
            }
            limits
        }
    };
    // Parties that learn the same result commit under one key they agree on
    // now (the contributions travel beside the protocol's messages).
    let holders: Vec<PeerId> = params.learners(peers.len()).into_iter().map(|i| peers[i]).collect();
    let agreement = disclosure::agree_key(transport, job_id, &holders).await?;
    let mut artifact = run_psi_protocol(params, &peers, position, ids, &peer_limits, transport, progress).await?;
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
    peer_limits: &[Option<u64>],
    transport: &impl Transport,
    progress: &wefe_core::Progress,
) -> Result<Artifact> {
    let output_kind = match params.output {
        Output::Intersection => OutputKind::Intersection,
        Output::Cardinality => OutputKind::Cardinality,
    };
    if peers.len() >= 3 {
        let multi_params =
            MultiParams { reveal_all: params.reveal == PsiReveal::All, output: output_kind, ..MultiParams::default() };
        let output = multi::run_with_limits(transport, peers, position, multi_params, ids, peer_limits, progress)
            .await
            .with_context(|| format!("multi-party psi between {} participants", peers.len()))?;
        return Ok(artifact(params, output));
    }
    if peers.len() != 2 {
        bail!("psi needs at least 2 participants, the job names {}", peers.len());
    }
    let first = position == 0;
    let peer = peers[1 - position];
    let peer_max_items = peer_limits[1 - position];
    let output = match params.protocol {
        PsiProtocol::Ecdh => {
            let ecdh_params = EcdhParams {
                reveal: match params.reveal {
                    PsiReveal::First => Reveal::Initiator,
                    PsiReveal::Second => Reveal::Responder,
                    PsiReveal::Both | PsiReveal::All => Reveal::Both,
                },
                output: output_kind,
                peer_max_items,
                ..EcdhParams::default()
            };
            if first {
                ecdh::run_initiator(transport, &peer, ecdh_params, ids, progress).await
            } else {
                ecdh::run_responder(transport, &peer, ecdh_params, ids, progress).await
            }
        }
        PsiProtocol::Kkrt => {
            let reveal = if params.reveal == PsiReveal::First { KkrtReveal::Receiver } else { KkrtReveal::Both };
            let kkrt_params = KkrtParams { reveal, peer_max_items, ..KkrtParams::default() };
            if first {
                kkrt::run_receiver(transport, &peer, kkrt_params, ids, progress).await
            } else {
                kkrt::run_sender(transport, &peer, kkrt_params, ids, progress).await
            }
        }
        PsiProtocol::Rsa => {
            let rsa_params = RsaParams {
                reveal: if params.reveal == PsiReveal::First { RsaReveal::Client } else { RsaReveal::Both },
                server_set: match params.bloom_fpr_log2 {
                    Some(fpr_log2) => ServerSetEncoding::Bloom { fpr_log2 },
                    None => ServerSetEncoding::HashList,
                },
                peer_max_items,
                ..RsaParams::default()
            };
            if first {
                rsa_blind::run_client(transport, &peer, rsa_params, ids, progress).await
            } else {
                // A fresh 2048-bit key per job: nothing links two jobs' signatures.
                // (The runner is on the compute pool: blocking here is fine.)
                let signer = BlindSigner::generate(&rsa_params)?;
                rsa_blind::run_server(transport, &peer, rsa_params, signer, ids, progress).await
            }
        }
    }
    .with_context(|| format!("psi ({}) with {peer}", params.protocol.name()))?;
    Ok(artifact(params, output))
}

fn artifact(params: &PsiParams, output: PsiOutput) -> Artifact {
    let protocol = params.protocol.name();
    match output {
        PsiOutput::Intersection(ids) => {
            let mut bytes = b"id\n".to_vec();
            for id in &ids {
                super::write_csv_field(&mut bytes, id);
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
            super::json_artifact(serde_json::json!({ "protocol": protocol, "intersection_size": n }))
        }
        PsiOutput::Nothing => super::json_artifact(serde_json::json!({ "protocol": protocol, "learned": false })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rsa_minimum_is_the_protocols() {
        assert_eq!(wefe_core::job::RSA_MIN_FPR_LOG2_REVEAL_BOTH, rsa_blind::MIN_FPR_LOG2_REVEAL_BOTH);
    }

    #[test]
    fn intersections_are_csv_with_quoted_ids() {
        let params = match wefe_core::job::JobSpec::parse(
            "psi",
            "{}",
            &[PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20])],
        ) {
            Ok(wefe_core::job::JobSpec::Psi(p)) => p,
            other => panic!("{other:?}"),
        };
        let ids = vec![b"a,b".to_vec(), b"plain".to_vec(), b"say \"hi\"".to_vec()];
        let out = artifact(&params, PsiOutput::Intersection(ids.clone()));
        assert_eq!(out.bytes, b"id\n\"a,b\"\nplain\n\"say \"\"hi\"\"\"\n".to_vec());
        let mut reader = csv::ReaderBuilder::new().from_reader(out.bytes.as_slice());
        let read: Vec<Vec<u8>> = reader.byte_records().map(|r| r.unwrap()[0].to_vec()).collect();
        assert_eq!(read, ids);
    }
}
