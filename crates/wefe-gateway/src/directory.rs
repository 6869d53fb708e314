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
}

/// A directory held in memory: for tests and for static configurations.
#[derive(Debug, Default)]
pub struct StaticPeerDirectory {
    peers: RwLock<HashMap<PeerId, PeerInfo>>,
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

    /// Forgets a member.
    pub fn remove(&self, member: &PeerId) -> Option<PeerInfo> {
        self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(member)
    }
}

impl PeerDirectory for StaticPeerDirectory {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).get(member).cloned()
    }
}

impl<T: PeerDirectory> PeerDirectory for std::sync::Arc<T> {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        (**self).peer(member)
    }
}
