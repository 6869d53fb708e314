//! The gateway's view of the consortium, kept from the chain: every member's
//! status, registered SM2 key and endpoint, read from `Consortium` and
//! refreshed whenever the listener indexed a Consortium event (and on a
//! timer), so a suspension reaches the gateway within a block.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::U256;
use anyhow::Result;
use wefe_chain::bindings::{CertificateRegistry, Consortium};
use wefe_chain::{ChainBackend, Governance, Target};
use wefe_core::PeerId;
use wefe_gateway::{CertificateRecord, PeerDirectory, PeerInfo, StaticPeerDirectory};

/// Members as the chain last said.
#[derive(Debug, Default, Clone)]
pub struct ChainDirectory {
    inner: Arc<StaticPeerDirectory>,
    /// Member names as registered (chosen by the members: shown, never trusted).
    names: Arc<std::sync::RwLock<HashMap<PeerId, String>>>,
}

/// One member as the directory last read it.
#[derive(Debug, Clone)]
pub struct DirectoryEntry {
    /// The member's account.
    pub member: PeerId,
    /// Its registered name.
    pub name: String,
    /// Its gateway endpoint.
    pub endpoint: String,
    /// Whether it is an active member.
    pub active: bool,
}

impl PeerDirectory for ChainDirectory {
    fn peer(&self, member: &PeerId) -> Option<PeerInfo> {
        self.inner.peer(member)
    }

    fn certificate(&self, hash: &[u8; 32]) -> Option<CertificateRecord> {
        self.inner.certificate(hash)
    }

    fn authority_root(&self, authority: &[u8; 20]) -> Option<[u8; 64]> {
        self.inner.authority_root(authority)
    }
}

impl ChainDirectory {
    /// Every member read so far, by account.
    pub fn members(&self) -> Vec<DirectoryEntry> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        let mut members: Vec<DirectoryEntry> = self
            .inner
            .members()
            .into_iter()
            .map(|(member, info)| DirectoryEntry {
                member,
                name: names.get(&member).cloned().unwrap_or_default(),
                endpoint: info.endpoint,
                active: info.active,
            })
            .collect();
        members.sort_by_key(|m| m.member.to_string());
        members
    }

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
                self.names.write().unwrap_or_else(|p| p.into_inner()).insert(id, m.name.clone());
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
        self.refresh_certificates(gov).await?;
        Ok(total as usize)
    }

    /// Reads the appointed certificate authorities' published roots and every
    /// issued (or revoked) certificate from `CertificateRegistry`.
    async fn refresh_certificates<B: ChainBackend>(&self, gov: &Governance<B>) -> Result<()> {
        let authorities = gov.call(Target::Consortium, Consortium::certificateAuthoritiesCall {}).await?;
        let mut roots = HashMap::new();
        for authority in authorities {
            let root =
                gov.call(Target::CertificateRegistry, CertificateRegistry::authorityRootCall { authority }).await?;
            // Anything but a 64-byte key is never trusted (the contract enforces it).
            if let Ok(key) = <[u8; 64]>::try_from(root.publicKey.as_ref()) {
                roots.insert(authority.into_array(), key);
            }
        }
        let count: u64 =
            gov.call(Target::CertificateRegistry, CertificateRegistry::certificateCountCall {}).await?.saturating_to();
        let mut certificates = HashMap::new();
        for id in 1..=count {
            let c = gov
                .call(
                    Target::CertificateRegistry,
                    CertificateRegistry::getCertificateCall { certificateId: U256::from(id) },
                )
                .await?;
            if c.certificateHash.is_zero() {
                continue; // requested, rejected or withdrawn: no certificate
            }
            // The chain's own verdict: issued and not revoked, its issuer still an
            // authority in the term it issued in with the same root, its member
            // active with the same key (the gateway checks signature, validity
            // times and key itself as well).
            let issued = c.status == 2
                && gov
                    .call(
                        Target::CertificateRegistry,
                        CertificateRegistry::validityCall { certificateHash: c.certificateHash },
                    )
                    .await?
                    == 0;
            let record = CertificateRecord {
                member: PeerId::from_bytes(c.member.into_array()),
                issuer: c.issuer.into_array(),
                issued,
            };
            certificates.insert(c.certificateHash.0, record);
        }
        // Replaced whole, after every read succeeded: a failed refresh keeps the last view.
        self.inner.replace_authority_roots(roots);
        self.inner.replace_certificates(certificates);
        Ok(())
    }
}
