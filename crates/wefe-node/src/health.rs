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
    /// `None` until the first round of checks ended.
    peers: Option<Vec<PeerHealth>>,
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
        s.peers = Some(peers);
    }

    /// The peers' last checks; `None` before the first round ended.
    pub fn peers(&self) -> Option<Vec<PeerHealth>> {
        let s = self.state();
        s.peers.clone()
    }
}

/// Text a member chose (its name, its endpoint, its gateway's error), made
/// safe to show: no control characters and no bidirectional overrides (which
/// could make one name read as another), at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    text.chars().filter(|c| !c.is_control() && !bidi(*c)).take(max).collect()
}

/// One check of one peer.
async fn check_one(gateway: &Gateway, member: PeerId, name: &str, endpoint: &str) -> PeerHealth {
    let result = gateway.probe(member).await;
    PeerHealth {
        member: alloy::primitives::Address::from(member.to_bytes()).to_checksum(None),
        name: clean(name, 100),
        endpoint: clean(endpoint, 200),
        reachable: result.is_ok(),
        round_trip_ms: result.as_ref().ok().map(|d| (d.as_secs_f64() * 1e4).round() / 10.0),
        checked_at: now(),
        error: result.err().map(|e| format!("the peer's gateway said: {}", clean(&e.to_string(), 300))),
    }
}

/// Checks every active member but `me` once, all at once (one handshake
/// each, each within the gateway's handshake deadline); sorted by account.
pub async fn check_peers(gateway: &Gateway, directory: &ChainDirectory, me: PeerId) -> Vec<PeerHealth> {
    let mut checks = tokio::task::JoinSet::new();
    for m in directory.members().into_iter().filter(|m| m.active && m.member != me) {
        let gateway = gateway.clone();
        checks.spawn(async move { check_one(&gateway, m.member, &m.name, &m.endpoint).await });
    }
    let mut peers = checks.join_all().await;
    peers.sort_by(|a, b| a.member.cmp(&b.member));
    peers
}

/// While a peer does not answer it is checked again after this, then twice
/// as long each time (up to the full period): a peer started after this node
/// shows up within seconds, and a dead one costs little.
pub const RETRY_UNREACHABLE: Duration = Duration::from_secs(10);

/// Checks every peer every `every`, and in between only the ones that did not
/// answer, with [`RETRY_UNREACHABLE`] backing off; forever (run it as a task).
pub async fn probe_peers(gateway: Gateway, directory: ChainDirectory, me: PeerId, health: NodeHealth, every: Duration) {
    loop {
        let round = tokio::time::Instant::now();
        let mut peers = check_peers(&gateway, &directory, me).await;
        health.set_peers(peers.clone());
        let mut retry = RETRY_UNREACHABLE;
        loop {
            let left = every.saturating_sub(round.elapsed());
            if left.is_zero() {
                break;
            }
            if !peers.iter().any(|p| !p.reachable) || retry >= left {
                tokio::time::sleep(left).await;
                break;
            }
            tokio::time::sleep(retry).await;
            retry = retry.saturating_mul(2);
            for p in peers.iter_mut().filter(|p| !p.reachable) {
                if let Ok(member) = PeerId::parse(&p.member) {
                    *p = check_one(&gateway, member, &p.name, &p.endpoint).await;
                }
            }
            let unreachable = peers.iter().filter(|p| !p.reachable).count();
            tracing::debug!(unreachable, of = peers.len(), "peers checked again");
            health.set_peers(peers.clone());
        }
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
    fn members_text_loses_controls_and_bidi_overrides() {
        assert_eq!(clean("Bank\u{202e}A\u{7}\n", 100), "BankA");
        assert_eq!(clean("\u{2066}x\u{2069}\u{200f}", 100), "x");
        assert_eq!(clean(&"é".repeat(50), 10).chars().count(), 10);
    }

    #[test]
    fn long_errors_are_cut() {
        let health = NodeHealth::new();
        health.chain_failed(&"x".repeat(10_000));
        assert_eq!(health.chain().error.map(|e| e.len()), Some(500));
    }
}
