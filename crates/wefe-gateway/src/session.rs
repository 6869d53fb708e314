//! Sessions between two gateways: a signed handshake with ephemeral SM2 keys,
//! certificate checks against the chain, and SM4-GCM payload encryption.
//!
//! # Handshake
//!
//! The caller (C) sends a `Hello` to the callee (S); S answers with its own.
//! Each `Hello` is signed by the sender's registered member key over its
//! canonical encoding (integers big-endian, `len32(x)` = length as u32 then x):
//!
//! ```text
//! len32("wefe.gateway.v2.Hello")
//! role           u8 (0 = caller, 1 = callee)
//! version        u32
//! len32(from) len32(to) len32(certificate) len32(ephemeral) len32(nonce)
//! timestamp_ms   i64
//! len32(caller)  callee only: SM3(caller's encoding || caller's signature)
//! ```
//!
//! so the callee's signature also covers the caller's `Hello`. With `T` =
//! SM3(caller encoding || caller signature || callee encoding || callee
//! signature), both sides derive
//!
//! ```text
//! key     = KDF(x || y || "wefe.gateway.v2.session" || T, 16)   (GM/T 0003.4 KDF)
//! session = T[0..16]
//! ```
//!
//! where `(x, y)` is the ECDH point of the two ephemeral keys. Each session
//! key serves one direction (caller to callee) and is never stored on disk.
//!
//! # Certificates
//!
//! A `Hello` may carry the sender's X.509 certificate. It is accepted only when
//! the chain records it as issued to the sender ([`PeerDirectory::certificate`])
//! by an authority that is still appointed and whose published root key signed
//! it ([`PeerDirectory::authority_root`]), it is within its validity, and it
//! certifies the sender's registered key. With
//! [`GatewayConfig::require_peer_certificates`](crate::GatewayConfig::require_peer_certificates)
//! a `Hello` without one is refused. Every envelope of a session re-checks its
//! certificate against the directory, so a revocation the node has read from
//! the chain cuts the session's next message.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wefe_core::PeerId;
use wefe_crypto::cert::MemberCertificate;
use wefe_crypto::sm::{self, Sm2KeyPair, Sm2PublicKey, Sm4Gcm};

use crate::directory::{PeerDirectory, PeerInfo};
use crate::error::{GatewayError, Result};
use crate::proto::{Envelope, Hello};
use crate::signing::{self, MemberKey, WIRE_VERSION};

/// Domain separation of the `Hello` encoding.
pub const HELLO_DOMAIN: &[u8] = b"wefe.gateway.v2.Hello";
/// Label of the session key derivation.
pub const SESSION_LABEL: &[u8] = b"wefe.gateway.v2.session";
/// Length of a session id.
pub const SESSION_ID_BYTES: usize = 16;

/// A session id.
pub type SessionId = [u8; SESSION_ID_BYTES];

/// Which side of the handshake a `Hello` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The gateway that opens the session (and sends on it).
    Caller = 0,
    /// The gateway that answers (and receives on it).
    Callee = 1,
}

/// The canonical encoding of `hello` without its signature.
pub fn hello_encoding(hello: &Hello, role: Role, caller_digest: Option<&[u8; 32]>) -> Vec<u8> {
    fn len32(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(256 + hello.certificate.len());
    len32(&mut out, HELLO_DOMAIN);
    out.push(role as u8);
    out.extend_from_slice(&hello.version.to_be_bytes());
    len32(&mut out, &hello.from);
    len32(&mut out, &hello.to);
    len32(&mut out, &hello.certificate);
    len32(&mut out, &hello.ephemeral);
    len32(&mut out, &hello.nonce);
    out.extend_from_slice(&hello.timestamp_ms.to_be_bytes());
    if let Some(digest) = caller_digest {
        len32(&mut out, digest);
    }
    out
}

/// What a side learns from the other's `Hello` once it checks out.
#[derive(Debug)]
pub(crate) struct CheckedHello {
    pub(crate) nonce: [u8; 16],
    pub(crate) ephemeral: Sm2PublicKey,
    pub(crate) certificate: Option<Arc<PeerCertificate>>,
}

/// A peer certificate that passed the checks, kept to re-check it later.
#[derive(Debug)]
pub(crate) struct PeerCertificate {
    pub(crate) hash: [u8; 32],
    pub(crate) not_after: u64,
    pub(crate) not_before: u64,
    /// The issuer's root key that signed it.
    pub(crate) root: [u8; 64],
    /// The member key it certifies.
    pub(crate) key: [u8; 64],
}

/// A fresh signed `Hello` from `local` to `to`, with a new ephemeral key
/// (returned: it derives the session key with [`derive`]).
pub fn new_hello(
    key: &MemberKey,
    local: PeerId,
    to: PeerId,
    certificate: Option<&[u8]>,
    role: Role,
    caller_digest: Option<&[u8; 32]>,
) -> Result<(Hello, Sm2KeyPair)> {
    let ephemeral = Sm2KeyPair::generate().map_err(|e| GatewayError::PrivateKey(e.to_string()))?;
    let mut nonce = vec![0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| GatewayError::PrivateKey(format!("no randomness for a nonce: {e}")))?;
    let mut hello = Hello {
        version: WIRE_VERSION,
        from: local.to_bytes().to_vec(),
        to: to.to_bytes().to_vec(),
        certificate: certificate.map(<[u8]>::to_vec).unwrap_or_default(),
        ephemeral: ephemeral.public_key().to_xy().to_vec(),
        nonce,
        timestamp_ms: crate::gateway::now_ms(),
        signature: Vec::new(),
    };
    hello.signature = key.sign_parts(&[&hello_encoding(&hello, role, caller_digest)])?;
    Ok((hello, ephemeral))
}

/// SM3 of a `Hello`'s encoding and signature.
pub fn hello_digest(hello: &Hello, role: Role, caller_digest: Option<&[u8; 32]>) -> [u8; 32] {
    sm::sm3_parts(&[&hello_encoding(hello, role, caller_digest), &hello.signature])
}

/// The rules a `Hello` is checked by.
pub(crate) struct HelloCheck<'a> {
    pub(crate) directory: &'a dyn PeerDirectory,
    pub(crate) local: PeerId,
    pub(crate) require_certificate: bool,
    pub(crate) clock_window: Duration,
}

impl HelloCheck<'_> {
    /// Checks `hello` from `from` (as named in it): the cheap checks
    /// ([`precheck`](Self::precheck)), then the costly ones ([`verify`](Self::verify)).
    pub(crate) fn check(
        &self,
        hello: &Hello,
        role: Role,
        caller_digest: Option<&[u8; 32]>,
    ) -> Result<(PeerId, CheckedHello)> {
        let (from, nonce, info) = self.precheck(hello)?;
        Ok((from, self.verify(hello, role, caller_digest, from, nonce, &info)?))
    }

    /// What costs no public-key operation: shape, addressee, membership,
    /// time. Returns the named sender, the nonce and the sender's record.
    pub(crate) fn precheck(&self, hello: &Hello) -> Result<(PeerId, [u8; 16], PeerInfo)> {
        if hello.version != WIRE_VERSION {
            return Err(GatewayError::UnsupportedVersion(hello.version));
        }
        let from = crate::gateway::peer_field(&hello.from, "hello from")?;
        let to = crate::gateway::peer_field(&hello.to, "hello to")?;
        if to != self.local {
            return Err(GatewayError::WrongRecipient { to, local: self.local });
        }
        let nonce: [u8; 16] =
            hello.nonce.as_slice().try_into().map_err(|_| {
                GatewayError::Malformed(format!("hello nonce must be 16 bytes, got {}", hello.nonce.len()))
            })?;
        let info = self.directory.peer(&from).ok_or(GatewayError::UnknownMember(from))?;
        if !info.active {
            return Err(GatewayError::InactiveMember(from));
        }
        crate::gateway::check_clock(from, hello.timestamp_ms, self.clock_window)?;
        if hello.signature.is_empty() {
            return Err(GatewayError::Unsigned(from));
        }
        if hello.certificate.is_empty() && self.require_certificate {
            return Err(GatewayError::CertificateRequired(from));
        }
        Ok((from, nonce, info))
    }

    /// The costly checks, last: ephemeral key, signature by the registered
    /// key, certificate.
    pub(crate) fn verify(
        &self,
        hello: &Hello,
        role: Role,
        caller_digest: Option<&[u8; 32]>,
        from: PeerId,
        nonce: [u8; 16],
        info: &PeerInfo,
    ) -> Result<CheckedHello> {
        let ephemeral = Sm2PublicKey::from_xy(&hello.ephemeral)
            .map_err(|e| GatewayError::Malformed(format!("hello from {from}: ephemeral key: {e}")))?;
        let key = signing::verifying_key(&info.public_key).map_err(|_| GatewayError::BadRegisteredKey(from))?;
        if !signing::verify_parts(&[&hello_encoding(hello, role, caller_digest)], &hello.signature, &key) {
            return Err(GatewayError::BadSignature(from));
        }
        let certificate = if hello.certificate.is_empty() {
            None
        } else {
            let registered =
                Sm2PublicKey::from_xy(&info.public_key).map_err(|_| GatewayError::BadRegisteredKey(from))?;
            Some(Arc::new(check_certificate(self.directory, from, &hello.certificate, &registered)?))
        };
        Ok(CheckedHello { nonce, ephemeral, certificate })
    }
}

fn now_secs() -> u64 {
    u64::try_from(crate::gateway::now_ms()).unwrap_or(0) / 1000
}

/// Checks `der` as `member`'s certificate: recorded on chain as issued to it
/// by a still-appointed authority whose root key signed it, valid now,
/// certifying `registered`.
pub(crate) fn check_certificate(
    directory: &dyn PeerDirectory,
    member: PeerId,
    der: &[u8],
    registered: &Sm2PublicKey,
) -> Result<PeerCertificate> {
    let refuse = |reason: String| GatewayError::Certificate { peer: member, reason };
    let cert = MemberCertificate::from_der(der).map_err(|e| refuse(e.to_string()))?;
    let hash = cert.hash();
    let record = directory
        .certificate(&hash)
        .ok_or_else(|| refuse(format!("certificate {} is not recorded on chain", hex::encode(hash))))?;
    if !record.issued {
        return Err(refuse(format!("certificate {} is revoked on chain", hex::encode(hash))));
    }
    if record.member != member {
        return Err(refuse(format!("certificate {} was issued on chain to {}", hex::encode(hash), record.member)));
    }
    let root = directory.authority_root(&record.issuer).ok_or_else(|| {
        refuse(format!(
            "its issuer 0x{} is not an appointed certificate authority with a published root",
            hex::encode(record.issuer)
        ))
    })?;
    let root_key = Sm2PublicKey::from_xy(&root).map_err(|e| refuse(format!("the issuer's published root key: {e}")))?;
    cert.check(&[root_key], now_secs(), &member.to_bytes(), registered)
        .map_err(|e| refuse(format!("certificate {e}")))?;
    Ok(PeerCertificate { hash, not_after: cert.not_after, not_before: cert.not_before, root, key: registered.to_xy() })
}

/// Re-checks a session's certificate: still issued on chain, its authority
/// still appointed, still within its validity.
pub(crate) fn recheck_certificate(directory: &dyn PeerDirectory, member: PeerId, cert: &PeerCertificate) -> Result<()> {
    let refuse = |reason: String| GatewayError::Certificate { peer: member, reason };
    let record = directory
        .certificate(&cert.hash)
        .ok_or_else(|| refuse(format!("certificate {} is no longer recorded on chain", hex::encode(cert.hash))))?;
    if !record.issued {
        return Err(refuse(format!("certificate {} was revoked on chain", hex::encode(cert.hash))));
    }
    match directory.authority_root(&record.issuer) {
        None => {
            return Err(refuse(format!(
                "its issuer 0x{} is no longer an appointed authority",
                hex::encode(record.issuer)
            )));
        }
        Some(root) if root != cert.root => {
            return Err(refuse(format!(
                "its issuer 0x{} replaced the root that signed it",
                hex::encode(record.issuer)
            )));
        }
        Some(_) => {}
    }
    if directory.peer(&member).is_none_or(|info| info.public_key != cert.key) {
        return Err(refuse("the member's registered key changed since the handshake".to_owned()));
    }
    let now = now_secs();
    if now > cert.not_after {
        return Err(refuse(format!("certificate expired at {}, now {now} (Unix seconds)", cert.not_after)));
    }
    if now < cert.not_before {
        return Err(refuse(format!("certificate not valid before {}, now {now}", cert.not_before)));
    }
    Ok(())
}

/// Session id and SM4-GCM key from this side's ephemeral key, the peer's
/// ephemeral public key and the transcript.
pub fn derive(
    mine: &Sm2KeyPair,
    peer: &Sm2PublicKey,
    caller: &Hello,
    callee: &Hello,
    caller_digest: &[u8; 32],
) -> Result<(SessionId, Sm4Gcm)> {
    let transcript = sm::sm3_parts(&[
        &hello_encoding(caller, Role::Caller, None),
        &caller.signature,
        &hello_encoding(callee, Role::Callee, Some(caller_digest)),
        &callee.signature,
    ]);
    let mut info = Vec::with_capacity(SESSION_LABEL.len() + 32);
    info.extend_from_slice(SESSION_LABEL);
    info.extend_from_slice(&transcript);
    let key = sm::agree(mine, peer, &info, sm::SM4_KEY_LEN)
        .map_err(|e| GatewayError::Malformed(format!("key agreement: {e}")))?;
    let cipher = Sm4Gcm::new(&key).map_err(|e| GatewayError::PrivateKey(e.to_string()))?;
    let mut id = [0u8; SESSION_ID_BYTES];
    id.copy_from_slice(&transcript[..SESSION_ID_BYTES]);
    Ok((id, cipher))
}

/// One established session (either side).
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) peer: PeerId,
    pub(crate) cipher: Sm4Gcm,
    pub(crate) peer_certificate: Option<Arc<PeerCertificate>>,
    pub(crate) opened: Instant,
}

/// The GCM nonce of an envelope: the first 12 of its 16 random nonce bytes.
fn envelope_nonce(env: &Envelope) -> Result<[u8; sm::GCM_NONCE_LEN]> {
    env.nonce
        .get(..sm::GCM_NONCE_LEN)
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| GatewayError::Malformed(format!("nonce must be 16 bytes, got {}", env.nonce.len())))
}

/// Encrypts `plaintext` into `env.payload` under session `id` (set its
/// nonce first; sign it after). The ciphertext has no associated data: the
/// envelope's SM2 signature covers every field, the ciphertext included.
pub fn seal_envelope(env: &mut Envelope, id: &SessionId, cipher: &Sm4Gcm, plaintext: &[u8]) -> Result<()> {
    let nonce = envelope_nonce(env)?;
    env.session = id.to_vec();
    env.payload = bytes::Bytes::from(cipher.seal(&nonce, &[], plaintext));
    Ok(())
}

/// Decrypts an envelope's payload (None when it does not authenticate).
pub(crate) fn open_envelope(env: &Envelope, cipher: &Sm4Gcm) -> Option<Vec<u8>> {
    let nonce = envelope_nonce(env).ok()?;
    cipher.open(&nonce, &[], &env.payload).ok()
}

/// Sessions a gateway accepted as callee, by id; bounded, oldest evicted.
#[derive(Debug, Default)]
pub(crate) struct SessionTable {
    sessions: HashMap<SessionId, Arc<Session>>,
}

impl SessionTable {
    /// Sessions one peer may hold at once; its oldest goes first. Keeps a
    /// peer (or a replayed handshake) from pushing out everyone else's.
    pub(crate) const PER_PEER: usize = 8;

    pub(crate) fn insert(&mut self, session: Session, capacity: usize, lifetime: Duration) {
        let peer = session.peer;
        let mut own: Vec<(Instant, SessionId)> =
            self.sessions.values().filter(|s| s.peer == peer).map(|s| (s.opened, s.id)).collect();
        if own.len() >= Self::PER_PEER {
            own.sort();
            for (_, id) in &own[..=own.len() - Self::PER_PEER] {
                self.sessions.remove(id);
            }
        }
        if self.sessions.len() >= capacity {
            self.sessions.retain(|_, s| s.opened.elapsed() < lifetime);
        }
        if self.sessions.len() >= capacity
            && let Some(oldest) = self.sessions.values().min_by_key(|s| s.opened).map(|s| s.id)
        {
            self.sessions.remove(&oldest);
        }
        self.sessions.insert(session.id, Arc::new(session));
    }

    /// The live session with this id.
    pub(crate) fn get(&mut self, id: &SessionId, lifetime: Duration) -> Option<Arc<Session>> {
        let session = self.sessions.get(id)?;
        if session.opened.elapsed() >= lifetime {
            self.sessions.remove(id);
            return None;
        }
        Some(Arc::clone(session))
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            version: WIRE_VERSION,
            from: vec![1; 20],
            to: vec![2; 20],
            certificate: vec![9; 3],
            ephemeral: vec![7; 64],
            nonce: vec![5; 16],
            timestamp_ms: 42,
            signature: vec![0; 64],
        }
    }

    #[test]
    fn hello_encoding_covers_every_field_and_the_role() {
        let base = hello();
        let enc = hello_encoding(&base, Role::Caller, None);
        assert_ne!(enc, hello_encoding(&base, Role::Callee, None));
        assert_ne!(enc, hello_encoding(&base, Role::Caller, Some(&[0; 32])));
        type Change = Box<dyn Fn(&mut Hello)>;
        let changes: Vec<Change> = vec![
            Box::new(|h| h.version += 1),
            Box::new(|h| h.from[0] ^= 1),
            Box::new(|h| h.to[0] ^= 1),
            Box::new(|h| h.certificate.push(0)),
            Box::new(|h| h.ephemeral[0] ^= 1),
            Box::new(|h| h.nonce[0] ^= 1),
            Box::new(|h| h.timestamp_ms += 1),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut h = base.clone();
            change(&mut h);
            assert_ne!(hello_encoding(&h, Role::Caller, None), enc, "change {i} went unnoticed");
        }
        // The signature is not part of what it signs.
        let mut h = base.clone();
        h.signature[0] = 1;
        assert_eq!(hello_encoding(&h, Role::Caller, None), enc);
    }

    #[test]
    fn one_peer_cannot_push_out_the_others_sessions() {
        let session = |peer: u8, id: u8| Session {
            id: [id; SESSION_ID_BYTES],
            peer: PeerId::from_bytes([peer; 20]),
            cipher: Sm4Gcm::new(&[0; 16]).unwrap(),
            peer_certificate: None,
            opened: Instant::now(),
        };
        let mut table = SessionTable::default();
        let hour = Duration::from_secs(3600);
        table.insert(session(1, 0), 64, hour);
        for id in 1..=40 {
            table.insert(session(2, id), 64, hour);
        }
        assert!(table.get(&[0; SESSION_ID_BYTES], hour).is_some(), "peer 1's session was evicted");
        assert_eq!(table.len(), 1 + SessionTable::PER_PEER);
        assert!(table.get(&[40; SESSION_ID_BYTES], hour).is_some(), "the newest session is kept");
        assert!(table.get(&[1; SESSION_ID_BYTES], hour).is_none(), "the oldest of peer 2 goes first");
        assert!(table.get(&[0; SESSION_ID_BYTES], Duration::ZERO).is_none(), "expired sessions are dropped");
    }

    #[test]
    fn both_sides_derive_the_same_session() {
        let a = MemberKey::generate().unwrap();
        let b = MemberKey::generate().unwrap();
        let (pa, pb) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let (caller, eph_a) = new_hello(&a, pa, pb, None, Role::Caller, None).unwrap();
        let digest = hello_digest(&caller, Role::Caller, None);
        let (callee, eph_b) = new_hello(&b, pb, pa, None, Role::Callee, Some(&digest)).unwrap();
        let (id_a, key_a) = derive(&eph_a, &eph_b.public_key(), &caller, &callee, &digest).unwrap();
        let (id_b, key_b) = derive(&eph_b, &eph_a.public_key(), &caller, &callee, &digest).unwrap();
        assert_eq!(id_a, id_b);
        let sealed = key_a.seal(&[3; 12], b"aad", b"payload");
        assert_eq!(key_b.open(&[3; 12], b"aad", &sealed).unwrap(), b"payload");
        // Another handshake between the same members gives another session.
        let (caller2, eph_a2) = new_hello(&a, pa, pb, None, Role::Caller, None).unwrap();
        let digest2 = hello_digest(&caller2, Role::Caller, None);
        let (id2, key2) = derive(&eph_a2, &eph_b.public_key(), &caller2, &callee, &digest2).unwrap();
        assert_ne!(id2, id_a);
        assert!(key2.open(&[3; 12], b"aad", &sealed).is_err());
    }
}
