//! The gateway's view of the consortium, kept from the chain: every member's
//! status, registered SM2 key and endpoint, read from `Consortium` and
//! refreshed whenever the listener indexed a Consortium event (and on a
//! timer), so a suspension reaches the gateway within a block.

use std::sync::Arc;

use alloy::primitives::U256;
use anyhow::Result;
use wefe_chain::bindings::Consortium;
use wefe_chain::{ChainBackend, Governance, Target};
use wefe_core::PeerId;
use wefe_gateway::{PeerDirectory, PeerInfo, StaticPeerDirectory};

/// Members as the chain last said.
#[derive(Debug, Default, Clone)]
pub struct ChainDirectory {
    inner: Arc<StaticPeerDirectory>,
}

impl PeerDirectory for ChainDirectory {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        self.inner.peer(member)
    }
}

impl ChainDirectory {
    /// Reads every member from `Consortium`; returns how many were seen.
    pub async fn refresh<B: ChainBackend>(&self, gov: &Governance<B>) -> Result<usize> {
        let total: u64 = gov.call(Target::Consortium, Consortium::memberCountCall {}).await?.saturating_to();
        let mut offset = 0u64;
        while offset < total {
            let page = gov
                .call(
                    Target::Consortium,
                    Consortium::membersPageCall { offset: U256::from(offset), limit: U256::from(100u64) },
                )
                .await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            for m in page {
                let id = PeerId::from_bytes(m.account.into_array());
                let Ok(public_key) = <[u8; 64]>::try_from(m.publicKey.as_ref()) else {
                    // The contract enforces 64 bytes; anything else is never trusted.
                    self.inner.set_active(&id, false);
                    continue;
                };
                let info = PeerInfo {
                    // Consortium.MemberStatus: 2 = Active.
                    active: m.status == 2,
                    public_key,
                    endpoint: m.endpoint.clone(),
                };
                self.inner.insert(id, info);
            }
        }
        Ok(total as usize)
    }
}
