//! Commitments: what the chain records instead of a job's result, or instead
//! of the detail of a failure.
//!
//! Every member reads the chain, so a plain hash of a result would let anyone
//! test a guess: "is the intersection exactly these five phone numbers?".
//! A commitment here is HMAC-SHA-256 under a 32-byte [`CommitmentKey`] that
//! only the result's holders know:
//!
//! ```text
//! result  = HMAC-SHA-256(key, "wefe/result-commitment/v1" ‖ be64(job id) ‖ participant (20 bytes) ‖ artifact)
//! failure = HMAC-SHA-256(key, "wefe/failure-detail/v1"   ‖ be64(job id) ‖ participant (20 bytes) ‖ detail)
//! ```
//!
//! HMAC with a uniformly random key is a PRF (hiding: without the key the
//! value says nothing about the artifact) and collision resistant (binding: a
//! holder cannot later show a different artifact). Binding the job id and the
//! participant keeps one commitment from standing in for another. Whoever
//! holds the artifact and its key can hand both to an auditor, who checks them
//! against the chain with [`ResultCommitter`] or [`verify_result`].
//!
//! Parties that learn the same result (PSI revealed to both) agree on one key
//! with [`agreed_key`] from a random contribution each, so each can check the
//! other's commitment; a party that learns a result alone keeps a key of its
//! own, so no other participant can test guesses against it either.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::{Error, Result};

/// Domain of result commitments.
pub const RESULT_DOMAIN: &[u8] = b"wefe/result-commitment/v1";
/// Domain of failure-detail commitments.
pub const FAILURE_DOMAIN: &[u8] = b"wefe/failure-detail/v1";
/// Domain of keys agreed between co-holders of a result.
pub const AGREED_KEY_DOMAIN: &[u8] = b"wefe/commitment-key/v1";

/// A 32-byte commitment key; zeroized on drop, never printed.
#[derive(Clone)]
pub struct CommitmentKey([u8; 32]);

impl Drop for CommitmentKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl CommitmentKey {
    /// A fresh key from the operating system's generator.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex digits (an optional `0x` and surrounding whitespace allowed).
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| Error::Malformed { what: "commitment key", reason: "expected 64 hex digits (32 bytes)" })?;
        Ok(Self(bytes))
    }

    /// The key as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CommitmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitmentKey(<secret>)")
    }
}

/// Computes a commitment over data given in pieces (an artifact read from a
/// file chunk by chunk).
#[derive(Clone)]
pub struct ResultCommitter(Hmac<Sha256>);

impl std::fmt::Debug for ResultCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResultCommitter")
    }
}

impl ResultCommitter {
    /// Starts the commitment of `participant`'s result of job `job_id`.
    pub fn new(key: &CommitmentKey, job_id: u64, participant: [u8; 20]) -> Self {
        Self::with_domain(RESULT_DOMAIN, key, job_id, participant)
    }

    fn with_domain(domain: &[u8], key: &CommitmentKey, job_id: u64, participant: [u8; 20]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes keys of any length");
        mac.update(domain);
        mac.update(&job_id.to_be_bytes());
        mac.update(&participant);
        Self(mac)
    }

    /// Adds the next piece of the artifact.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The commitment.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into_bytes().into()
    }

    /// True when the data given equals what `expected` commits to (compared in constant time).
    pub fn matches(self, expected: &[u8; 32]) -> bool {
        Self::equal(&self.finish(), expected)
    }

    /// Constant-time equality of two commitments.
    pub fn equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
        a.ct_eq(b).into()
    }
}

/// The commitment to `participant`'s result artifact of job `job_id`.
pub fn result_commitment(key: &CommitmentKey, job_id: u64, participant: [u8; 20], artifact: &[u8]) -> [u8; 32] {
    let mut c = ResultCommitter::new(key, job_id, participant);
    c.update(artifact);
    c.finish()
}

/// True when `artifact` under `key` is what `expected` commits to (constant time).
pub fn verify_result(
    key: &CommitmentKey,
    job_id: u64,
    participant: [u8; 20],
    artifact: &[u8],
    expected: &[u8; 32],
) -> bool {
    let mut c = ResultCommitter::new(key, job_id, participant);
    c.update(artifact);
    c.matches(expected)
}

/// The commitment to the detail of `participant`'s failure of job `job_id`.
pub fn failure_commitment(key: &CommitmentKey, job_id: u64, participant: [u8; 20], detail: &str) -> [u8; 32] {
    let mut c = ResultCommitter::with_domain(FAILURE_DOMAIN, key, job_id, participant);
    c.update(detail.as_bytes());
    c.finish()
}

/// The key co-holders of a result agree on: SHA-256 over the domain, the job
/// id, the number of contributions and each party's 32-byte random
/// contribution in participant order. No party alone chooses it; without
/// every contribution it cannot be computed.
pub fn agreed_key(job_id: u64, contributions: &[[u8; 32]]) -> CommitmentKey {
    let mut h = Sha256::new();
    h.update(AGREED_KEY_DOMAIN);
    h.update(job_id.to_be_bytes());
    h.update((contributions.len() as u64).to_be_bytes());
    for c in contributions {
        h.update(c);
    }
    CommitmentKey(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2: HMAC-SHA-256 with key "Jefe".
    #[test]
    fn the_mac_is_hmac_sha256() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// The construction itself, pinned: other implementations (an auditor's
    /// script) can check theirs against this value. Recomputed independently
    /// with Python's hmac module:
    /// hmac.new(bytes(range(32)), b"wefe/result-commitment/v1" + (7).to_bytes(8,"big") + bytes([0xaa]*20) + b"id\n42\n", "sha256")
    #[test]
    fn result_commitment_known_answer() {
        let key = CommitmentKey::from_bytes(std::array::from_fn(|i| i as u8));
        let c = result_commitment(&key, 7, [0xaa; 20], b"id\n42\n");
        assert_eq!(hex::encode(c), "f61213d79bccf413b24169714ca19c38fa5b5e70ffa287eb83a1ee1a4afc827d");
    }

    #[test]
    fn commitments_bind_key_job_participant_and_content() {
        let key = CommitmentKey::random().unwrap();
        let other = CommitmentKey::random().unwrap();
        let c = result_commitment(&key, 1, [1; 20], b"abc");
        assert!(verify_result(&key, 1, [1; 20], b"abc", &c));
        assert!(!verify_result(&other, 1, [1; 20], b"abc", &c));
        assert!(!verify_result(&key, 2, [1; 20], b"abc", &c));
        assert!(!verify_result(&key, 1, [2; 20], b"abc", &c));
        assert!(!verify_result(&key, 1, [1; 20], b"abd", &c));
        // In pieces, the same value.
        let mut pieces = ResultCommitter::new(&key, 1, [1; 20]);
        pieces.update(b"a");
        pieces.update(b"bc");
        assert_eq!(pieces.finish(), c);
        // Failure details live in another domain.
        assert_ne!(failure_commitment(&key, 1, [1; 20], "abc"), c);
    }

    #[test]
    fn agreed_keys_need_every_contribution_in_order() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let k = agreed_key(9, &[a, b]);
        assert_eq!(k.as_bytes(), agreed_key(9, &[a, b]).as_bytes());
        assert_ne!(k.as_bytes(), agreed_key(9, &[b, a]).as_bytes());
        assert_ne!(k.as_bytes(), agreed_key(10, &[a, b]).as_bytes());
        assert_ne!(k.as_bytes(), agreed_key(9, &[a]).as_bytes());
    }

    #[test]
    fn keys_round_trip_as_hex_and_hide_in_debug() {
        let key = CommitmentKey::random().unwrap();
        assert_eq!(CommitmentKey::from_hex(&format!("0x{}\n", key.to_hex())).unwrap().as_bytes(), key.as_bytes());
        assert!(CommitmentKey::from_hex("abcd").is_err());
        assert!(CommitmentKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{key:?}"), "CommitmentKey(<secret>)");
    }
}
