//! What a job puts on chain besides its status, and what stays here.
//!
//! Every member reads the chain, so a node publishes as little as it can:
//!
//! - **Results**: a commitment (HMAC-SHA-256, see
//!   [`wefe_crypto::commitment`]) under a key kept beside the artifact in
//!   `results/job-N.key`. Parties that learn the same PSI result agree on that
//!   key over the gateway ([`agree_key`]), so each can check the other's
//!   commitment; anyone else, including a participant that learned nothing,
//!   cannot test a guessed result against the chain.
//! - **Summaries**: only the fields the job's approved params list in
//!   `publish` (e.g. `{"publish": ["intersection_size"]}`); by default nothing.
//!   The full summary stays in this node's store.
//! - **Failures**: a [`FailureCategory`] and a commitment to the detail; the
//!   detail and its key stay in the store.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use wefe_core::{PeerId, Transport, TransportError};
use wefe_crypto::commitment::{self, CommitmentKey};

/// Why a job failed, as `JobRegistry.FailureCategory` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureCategory {
    /// Not said.
    Unspecified = 0,
    /// The node cannot run the job as approved (kind, params, role).
    InvalidJob = 1,
    /// This node's data: missing, different from the chain's description, bad values.
    Input = 2,
    /// A peer was unreachable, stopped answering or sent something malformed.
    Peer = 3,
    /// The protocol's own checks failed.
    Protocol = 4,
    /// The node's own time limit ran out, or the run deadline passed.
    Timeout = 5,
    /// Membership or certificates.
    Membership = 6,
    /// The node itself: restart, crash, storage.
    Internal = 7,
    /// The job was closed on chain or stopped by the operator.
    Cancelled = 8,
    /// The node stopped or restarted while running the job.
    Interrupted = 9,
}

impl FailureCategory {
    /// Every category, in the contract's order.
    pub const ALL: [FailureCategory; 10] = [
        Self::Unspecified,
        Self::InvalidJob,
        Self::Input,
        Self::Peer,
        Self::Protocol,
        Self::Timeout,
        Self::Membership,
        Self::Internal,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// The contract's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "Unspecified",
            Self::InvalidJob => "InvalidJob",
            Self::Input => "Input",
            Self::Peer => "Peer",
            Self::Protocol => "Protocol",
            Self::Timeout => "Timeout",
            Self::Membership => "Membership",
            Self::Internal => "Internal",
            Self::Cancelled => "Cancelled",
            Self::Interrupted => "Interrupted",
        }
    }

    /// The category with this name (Unspecified when unknown).
    pub fn from_name(name: &str) -> Self {
        Self::ALL.into_iter().find(|c| c.name() == name).unwrap_or(Self::Unspecified)
    }
}

/// An error of a known category; its text is the detail.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct JobFailure {
    /// The category.
    pub category: FailureCategory,
    /// What went wrong (stays on this node).
    pub detail: String,
}

impl JobFailure {
    /// A failure of `category`.
    pub fn new(category: FailureCategory, detail: impl Into<String>) -> Self {
        Self { category, detail: detail.into() }
    }

    /// Wraps an error as a failure of `category`, keeping its whole text.
    pub fn wrap(category: FailureCategory, error: anyhow::Error) -> anyhow::Error {
        anyhow::Error::new(Self::new(category, format!("{error:#}")))
    }
}

/// The category of an error: the first [`JobFailure`] in its chain, a peer
/// problem when the transport failed, else `default`.
pub fn categorize(error: &anyhow::Error, default: FailureCategory) -> FailureCategory {
    for cause in error.chain() {
        if let Some(f) = cause.downcast_ref::<JobFailure>() {
            return f.category;
        }
    }
    if error.chain().any(|c| c.downcast_ref::<TransportError>().is_some()) {
        return FailureCategory::Peer;
    }
    default
}

/// The part of `summary` the job's params declare public: the keys listed in
/// `publish` (a dotted key such as `metrics.auc` picks one field of an
/// object). Empty when nothing is published. A `publish` that is not a list of
/// keys is an error (the job cannot be reported as approved).
pub fn public_summary(params: &str, summary: &Value) -> Result<String> {
    let params: Value = serde_json::from_str(params).context("the job's params are not JSON")?;
    let keys = match params.get("publish") {
        None | Some(Value::Null) => return Ok(String::new()),
        Some(Value::Array(keys)) => keys,
        Some(_) => bail!("params: publish must be a list of summary keys, e.g. [\"intersection_size\"]"),
    };
    let mut out = Map::new();
    for key in keys {
        let Some(key) = key.as_str() else { bail!("params: publish must list keys as strings") };
        match key.split_once('.') {
            None => {
                if let Some(v) = summary.get(key) {
                    out.insert(key.to_owned(), v.clone());
                }
            }
            Some((outer, inner)) => {
                if let Some(v) = summary.get(outer).and_then(|o| o.get(inner)) {
                    let entry = out.entry(outer.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(map) = entry {
                        map.insert(inner.to_owned(), v.clone());
                    }
                }
            }
        }
    }
    Ok(if out.is_empty() { String::new() } else { Value::Object(out).to_string() })
}

/// The key file written beside a result: `results/job-N.key`.
pub fn key_path(artifact: &std::path::Path, job_id: u64) -> std::path::PathBuf {
    artifact.with_file_name(format!("job-{job_id}.key"))
}

/// A completed job's artifact, refused when it no longer opens the
/// commitment recorded (and reported on chain) when it was written: a model
/// file edited since, or a key file replaced.
pub fn read_committed(record: &wefe_store::JobRecord) -> Result<Vec<u8>> {
    let id = record.job.job_id;
    let (Some(path), Some(recorded)) = (&record.result_path, &record.result_commitment) else {
        bail!("job {id} has no stored result")
    };
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    let key_file = key_path(std::path::Path::new(path), id);
    let text = std::fs::read_to_string(&key_file).with_context(|| format!("cannot read {}", key_file.display()))?;
    let json: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", key_file.display()))?;
    let key = CommitmentKey::from_hex(json["key"].as_str().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", key_file.display()))?;
    let participant = PeerId::parse(json["participant"].as_str().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", key_file.display()))?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(recorded.trim_start_matches("0x"), &mut expected)
        .with_context(|| format!("stored commitment of job {id} is not 32 bytes of hex"))?;
    if !commitment::verify_result(&key, id, participant.to_bytes(), &bytes, &expected) {
        bail!("{path} changed since the job completed: it no longer opens the commitment {recorded}");
    }
    Ok(bytes)
}

/// The message tag of commitment-key contributions.
const KEY_TAG: &str = "wefe/commitment-key/v1";
/// The message tag of commitment-key confirmations.
const CONFIRM_TAG: &str = "wefe/commitment-key-confirm/v1";

/// A commitment key being agreed with the other holders of the same result.
#[derive(Debug)]
pub struct KeyAgreement {
    job_id: u64,
    /// Holders of the result, in participant order (this node among them).
    holders: Vec<PeerId>,
    mine: [u8; 32],
}

/// Starts agreeing on the commitment key of job `job_id` with the other
/// `holders` (the participants that learn the same result, this node
/// included, in participant order): sends each a random 32-byte
/// contribution. None when this node holds its result alone (it then uses a
/// key of its own).
pub async fn agree_key(transport: &impl Transport, job_id: u64, holders: &[PeerId]) -> Result<Option<KeyAgreement>> {
    let me = transport.local_peer();
    if holders.len() < 2 || !holders.contains(&me) {
        return Ok(None);
    }
    let mut mine = [0u8; 32];
    getrandom::fill(&mut mine).map_err(|e| anyhow::anyhow!("random number generator failed: {e}"))?;
    for peer in holders.iter().filter(|p| **p != me) {
        transport
            .send(peer, KEY_TAG, mine.to_vec())
            .await
            .with_context(|| format!("sending the commitment key contribution to {peer}"))?;
    }
    Ok(Some(KeyAgreement { job_id, holders: holders.to_vec(), mine }))
}

impl KeyAgreement {
    /// Receives the other holders' contributions and derives the key.
    pub async fn finish(self, transport: &impl Transport) -> Result<CommitmentKey> {
        let me = transport.local_peer();
        let mut contributions = Vec::with_capacity(self.holders.len());
        for peer in &self.holders {
            if *peer == me {
                contributions.push(self.mine);
                continue;
            }
            let bytes = transport
                .recv(peer, KEY_TAG)
                .await
                .with_context(|| format!("receiving the commitment key contribution of {peer}"))?;
            let contribution: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                JobFailure::new(
                    FailureCategory::Peer,
                    format!("{peer} sent a commitment key contribution of {} bytes (32 expected)", bytes.len()),
                )
            })?;
            contributions.push(contribution);
        }
        let key = commitment::agreed_key(self.job_id, &contributions);
        // Key confirmation: a holder that sent different contributions to
        // different holders would leave them with different keys, and each
        // would believe the others' commitments checkable.
        let confirmation = confirmation_of(&key);
        for peer in self.holders.iter().filter(|p| **p != me) {
            transport
                .send(peer, CONFIRM_TAG, confirmation.to_vec())
                .await
                .with_context(|| format!("sending the commitment key confirmation to {peer}"))?;
        }
        for peer in self.holders.iter().filter(|p| **p != me) {
            let theirs = transport
                .recv(peer, CONFIRM_TAG)
                .await
                .with_context(|| format!("receiving the commitment key confirmation of {peer}"))?;
            if theirs.len() != 32
                || !commitment::ResultCommitter::equal(&confirmation, theirs.as_slice().try_into().unwrap_or(&[0; 32]))
            {
                return Err(JobFailure::new(
                    FailureCategory::Peer,
                    format!("{peer} derived another commitment key: the holders' contributions disagree"),
                )
                .into());
            }
        }
        Ok(key)
    }
}

/// What holders send each other to confirm they derived the same key.
fn confirmation_of(key: &CommitmentKey) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"wefe/commitment-key-confirm/v1");
    h.update(key.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_published_fields_go_on_chain() {
        let summary = json!({"protocol": "ecdh", "intersection_size": 42, "metrics": {"auc": 0.9, "ks": 0.5}});
        assert_eq!(public_summary("{}", &summary).unwrap(), "");
        assert_eq!(public_summary(r#"{"publish":[]}"#, &summary).unwrap(), "");
        assert_eq!(
            public_summary(r#"{"publish":["intersection_size"]}"#, &summary).unwrap(),
            r#"{"intersection_size":42}"#
        );
        assert_eq!(
            public_summary(r#"{"publish":["metrics.auc","absent"]}"#, &summary).unwrap(),
            r#"{"metrics":{"auc":0.9}}"#
        );
        assert!(public_summary(r#"{"publish":"intersection_size"}"#, &summary).is_err());
        assert!(public_summary(r#"{"publish":[1]}"#, &summary).is_err());
    }

    #[test]
    fn categories_match_the_contract() {
        let names: Vec<&str> = FailureCategory::ALL.iter().map(|c| c.name()).collect();
        let contract: Vec<String> =
            (0..=u8::MAX).map_while(|i| wefe_chain::abi::enum_variant("JobRegistry.FailureCategory", i)).collect();
        assert_eq!(names, contract);
        for c in FailureCategory::ALL {
            assert_eq!(FailureCategory::from_name(c.name()), c);
            assert_eq!(FailureCategory::ALL[c as usize], c);
        }
    }

    #[test]
    fn errors_are_categorised_by_their_chain() {
        let input = JobFailure::wrap(FailureCategory::Input, anyhow::anyhow!("column x is missing"));
        let wrapped = input.context("loading the dataset");
        assert_eq!(categorize(&wrapped, FailureCategory::Protocol), FailureCategory::Input);
        let peer = anyhow::Error::new(TransportError::Closed(PeerId::from_bytes([1; 20]))).context("psi");
        assert_eq!(categorize(&peer, FailureCategory::Protocol), FailureCategory::Peer);
        assert_eq!(categorize(&anyhow::anyhow!("x"), FailureCategory::Protocol), FailureCategory::Protocol);
    }

    #[tokio::test]
    async fn holders_agree_on_one_key_and_others_keep_their_own() {
        let peers: Vec<PeerId> = (1..=3u8).map(|i| PeerId::from_bytes([i; 20])).collect();
        let network = wefe_core::MemoryNetwork::new(1 << 20);
        let transports: Vec<_> = peers.iter().map(|p| network.endpoint(*p)).collect();
        let holders = vec![peers[0], peers[2]];
        let a = agree_key(&transports[0], 5, &holders).await.unwrap().unwrap();
        let c = agree_key(&transports[2], 5, &holders).await.unwrap().unwrap();
        assert!(agree_key(&transports[1], 5, &holders).await.unwrap().is_none());
        let (ka, kc) = tokio::join!(a.finish(&transports[0]), c.finish(&transports[2]));
        assert_eq!(ka.unwrap().as_bytes(), kc.unwrap().as_bytes());
        // A holder that sends different contributions to different holders is caught.
        let holders3 = peers.clone();
        let a = agree_key(&transports[0], 7, &holders3).await.unwrap().unwrap();
        let b = agree_key(&transports[1], 7, &holders3).await.unwrap().unwrap();
        // Peer 3 equivocates: one contribution to peer 1, another to peer 2, and confirms what each would expect.
        transports[2].send(&peers[0], KEY_TAG, vec![1; 32]).await.unwrap();
        transports[2].send(&peers[1], KEY_TAG, vec![2; 32]).await.unwrap();
        let (ra, rb) = tokio::join!(a.finish(&transports[0]), b.finish(&transports[1]));
        let failed = [ra, rb].into_iter().filter_map(Result::err).collect::<Vec<_>>();
        assert!(!failed.is_empty(), "the equivocation went unnoticed");
        assert!(failed.iter().all(|e| categorize(e, FailureCategory::Protocol) == FailureCategory::Peer));
        // A malformed contribution is the peer's fault.
        let b = agree_key(&transports[1], 6, &peers[..2]).await.unwrap().unwrap();
        transports[0].send(&peers[1], KEY_TAG, vec![0; 5]).await.unwrap();
        let err = b.finish(&transports[1]).await.unwrap_err();
        assert_eq!(categorize(&err, FailureCategory::Protocol), FailureCategory::Peer);
    }
}
