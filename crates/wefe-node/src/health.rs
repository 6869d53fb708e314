//! What a node knows of its own health, for `GET /health` and the operator
//! page: the chain head it last read (and the error of its last failed
//! step), and whether each active member's gateway answered its last check.
//!
//! The listener records the head after every step ([`NodeHealth::chain_read`],
//! [`NodeHealth::chain_failed`]); [`probe_peers`] checks the peers on a timer
//! with one authenticated handshake each ([`wefe_gateway::Gateway::probe`]),
//! so "reachable" means the peer's gateway answered *and* proved it holds the
//! key the chain registered for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;
use wefe_core::PeerId;
use wefe_gateway::Gateway;

use crate::peers::ChainDirectory;

/// The node's health as last observed; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct NodeHealth {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    head: Option<u64>,
    head_at: Option<i64>,
    error: Option<String>,
    error_at: Option<i64>,
    failures: u32,
    peers: Vec<PeerHealth>,
    peers_checked: bool,
}

/// The chain as the node's listener last read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainHealth {
    /// The newest block the chain node reported.
    pub head: Option<u64>,
    /// When (Unix seconds).
    pub head_read_at: Option<i64>,
    /// The last failed read since the last good one (the node keeps retrying).
    pub error: Option<String>,
    /// When it failed (Unix seconds).
    pub error_at: Option<i64>,
    /// Failed reads in a row.
    pub failures: u32,
}

/// One peer's last check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeerHealth {
    /// The member's account (0x, checksummed).
    pub member: String,
    /// Its registered name (chosen by the member).
    pub name: String,
    /// Its gateway endpoint as registered on chain.
    pub endpoint: String,
    /// Whether its gateway answered and proved its registered key.
    pub reachable: bool,
    /// The handshake's round trip in milliseconds.
    pub round_trip_ms: Option<f64>,
    /// When it was checked (Unix seconds).
    pub checked_at: i64,
    /// Why it failed.
    pub error: Option<String>,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl NodeHealth {
    /// Nothing observed yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The listener read the chain: its head is `head`.
    pub fn chain_read(&self, head: u64) {
        let mut s = self.state();
        s.head = Some(head);
        s.head_at = Some(now());
        s.error = None;
        s.error_at = None;
        s.failures = 0;
    }

    /// A listener step failed with `error`.
    pub fn chain_failed(&self, error: &str) {
        let mut s = self.state();
        s.error = Some(error.chars().take(500).collect());
        s.error_at = Some(now());
        s.failures = s.failures.saturating_add(1);
    }

    /// The chain as last read.
    pub fn chain(&self) -> ChainHealth {
        let s = self.state();
        ChainHealth {
            head: s.head,
            head_read_at: s.head_at,
            error: s.error.clone(),
            error_at: s.error_at,
            failures: s.failures,
        }
    }

    /// Replaces the peers' results with a fresh round of checks.
    pub fn set_peers(&self, peers: Vec<PeerHealth>) {
        let mut s = self.state();
        s.peers = peers;
        s.peers_checked = true;
    }

    /// The peers' last checks; `None` before the first round ended.
    pub fn peers(&self) -> Option<Vec<PeerHealth>> {
        let s = self.state();
        s.peers_checked.then(|| s.peers.clone())
    }
}

/// Checks every active member but `me` once, all at once (one handshake
/// each, each within the gateway's handshake deadline); sorted by account.
pub async fn check_peers(gateway: &Gateway, directory: &ChainDirectory, me: PeerId) -> Vec<PeerHealth> {
    let mut checks = tokio::task::JoinSet::new();
    for m in directory.members().into_iter().filter(|m| m.active && m.member != me) {
        let gateway = gateway.clone();
        checks.spawn(async move {
            let result = gateway.probe(m.member).await;
            PeerHealth {
                member: alloy::primitives::Address::from(m.member.to_bytes()).to_checksum(None),
                name: m.name,
                endpoint: m.endpoint,
                reachable: result.is_ok(),
                round_trip_ms: result.as_ref().ok().map(|d| (d.as_secs_f64() * 1e4).round() / 10.0),
                checked_at: now(),
                error: result.err().map(|e| e.to_string().chars().take(300).collect()),
            }
        });
    }
    let mut peers = checks.join_all().await;
    peers.sort_by(|a, b| a.member.cmp(&b.member));
    peers
}

/// While a peer does not answer, the checks come at least this often (a
/// peer started after this node shows up within seconds, not a full period).
pub const RETRY_UNREACHABLE: Duration = Duration::from_secs(10);

/// Checks the peers every `every` (every [`RETRY_UNREACHABLE`] at most while
/// one does not answer), forever (run it as a task).
pub async fn probe_peers(gateway: Gateway, directory: ChainDirectory, me: PeerId, health: NodeHealth, every: Duration) {
    loop {
        let peers = check_peers(&gateway, &directory, me).await;
        let unreachable = peers.iter().filter(|p| !p.reachable).count();
        if unreachable > 0 {
            tracing::debug!(unreachable, of = peers.len(), "some peers' gateways did not answer");
        }
        health.set_peers(peers);
        tokio::time::sleep(if unreachable > 0 { every.min(RETRY_UNREACHABLE) } else { every }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_read_clears_the_last_error() {
        let health = NodeHealth::new();
        assert!(health.chain().head.is_none());
        health.chain_failed("connection refused");
        health.chain_failed("connection refused");
        let chain = health.chain();
        assert_eq!((chain.failures, chain.error.as_deref()), (2, Some("connection refused")));
        health.chain_read(42);
        let chain = health.chain();
        assert_eq!((chain.head, chain.failures, chain.error), (Some(42), 0, None));
        assert!(chain.head_read_at.is_some());
        assert!(health.peers().is_none(), "no round of peer checks yet");
        health.set_peers(Vec::new());
        assert_eq!(health.peers().map(|p| p.len()), Some(0));
    }

    #[test]
    fn long_errors_are_cut() {
        let health = NodeHealth::new();
        health.chain_failed(&"x".repeat(10_000));
        assert_eq!(health.chain().error.map(|e| e.len()), Some(500));
    }
}
