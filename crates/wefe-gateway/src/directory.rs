//! Who the consortium's members are, as far as the gateway needs to know.

use std::collections::HashMap;
use std::sync::RwLock;

use wefe_core::PeerId;

use crate::signing::PublicKeyBytes;

/// What the gateway knows about one member.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Whether the member may exchange messages now (approved and not suspended or removed).
    pub active: bool,
    /// Its registered SM2 public key `x || y`.
    pub public_key: PublicKeyBytes,
    /// Its gateway address, e.g. `http://10.0.0.7:7443`.
    pub endpoint: String,
}

impl std::fmt::Debug for PeerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerInfo")
            .field("active", &self.active)
            .field("public_key", &hex::encode(self.public_key))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// Looks members up. The node implements it from the chain's `Consortium`
/// events; it is asked on every envelope, so a suspension takes effect on
/// the next chunk.
pub trait PeerDirectory: Send + Sync + 'static {
    /// The member's current record, `None` when it was never registered.
    fn peer(&self, member: &PeerId) -> Option<PeerInfo>;

    /// The on-chain record of the certificate whose DER encoding hashes (SM3)
    /// to `hash`; None when the chain has none.
    fn certificate(&self, hash: &[u8; 32]) -> Option<CertificateRecord> {
        let _ = hash;
        None
    }

    /// The root key that certificate authority `authority` published on
    /// chain, while it is an appointed authority; None otherwise.
    fn authority_root(&self, authority: &[u8; 20]) -> Option<PublicKeyBytes> {
        let _ = authority;
        None
    }
}

/// A directory held in memory: for tests and for static configurations.
#[derive(Debug, Default)]
pub struct StaticPeerDirectory {
    peers: RwLock<HashMap<PeerId, PeerInfo>>,
    certificates: RwLock<HashMap<[u8; 32], CertificateRecord>>,
    roots: RwLock<HashMap<[u8; 20], PublicKeyBytes>>,
}

/// What the chain records of one certificate (`CertificateRegistry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateRecord {
    /// The member it was issued to.
    pub member: PeerId,
    /// The certificate authority account that issued it.
    pub issuer: [u8; 20],
    /// True while the status is `Issued` (false once revoked).
    pub issued: bool,
}

impl StaticPeerDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a member.
    pub fn insert(&self, member: PeerId, info: PeerInfo) {
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(member, info);
    }

    /// Marks a member active or not (suspension); returns false when unknown.
    pub fn set_active(&self, member: &PeerId, active: bool) -> bool {
        match self.peers.write().unwrap_or_else(|p| p.into_inner()).get_mut(member) {
            Some(info) => {
                info.active = active;
                true
            }
            None => false,
        }
    }

    /// Every member it holds, in no particular order.
    pub fn members(&self) -> Vec<(PeerId, PeerInfo)> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(id, info)| (*id, info.clone())).collect()
    }

    /// Forgets a member.
    pub fn remove(&self, member: &PeerId) -> Option<PeerInfo> {
        self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(member)
    }
}

impl StaticPeerDirectory {
    /// Records (or replaces) what the chain says of a certificate.
    pub fn set_certificate(&self, hash: [u8; 32], record: CertificateRecord) {
        self.certificates.write().unwrap_or_else(|p| p.into_inner()).insert(hash, record);
    }

    /// Replaces every certificate record at once (a fresh read of the chain).
    pub fn replace_certificates(&self, records: HashMap<[u8; 32], CertificateRecord>) {
        *self.certificates.write().unwrap_or_else(|p| p.into_inner()) = records;
    }

    /// Sets (Some) or clears (None) the root key of an authority.
    pub fn set_authority_root(&self, authority: [u8; 20], key: Option<PublicKeyBytes>) {
        let mut roots = self.roots.write().unwrap_or_else(|p| p.into_inner());
        match key {
            Some(key) => roots.insert(authority, key),
            None => roots.remove(&authority),
        };
    }

    /// Replaces every authority root at once.
    pub fn replace_authority_roots(&self, roots: HashMap<[u8; 20], PublicKeyBytes>) {
        *self.roots.write().unwrap_or_else(|p| p.into_inner()) = roots;
    }
}

impl PeerDirectory for StaticPeerDirectory {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).get(member).cloned()
    }

    fn certificate(&self, hash: &[u8; 32]) -> Option<CertificateRecord> {
        self.certificates.read().unwrap_or_else(|p| p.into_inner()).get(hash).copied()
    }

    fn authority_root(&self, authority: &[u8; 20]) -> Option<PublicKeyBytes> {
        self.roots.read().unwrap_or_else(|p| p.into_inner()).get(authority).copied()
    }
}

impl<T: PeerDirectory> PeerDirectory for std::sync::Arc<T> {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        (**self).peer(member)
    }

    fn certificate(&self, hash: &[u8; 32]) -> Option<CertificateRecord> {
        (**self).certificate(hash)
    }

    fn authority_root(&self, authority: &[u8; 20]) -> Option<PublicKeyBytes> {
        (**self).authority_root(authority)
    }
}
