//! Handshakes per member: a token bucket per (member named in the `Hello`,
//! source address) and one per source network (an IPv4 address, an IPv6 /64).
//!
//! It is consulted before the `Hello`'s signature is verified, so the member
//! is only claimed; keying by source address too keeps another party that
//! claims a member's name from using up that member's handshakes, the
//! per-network bucket stops one source from claiming many names. There is no
//! gateway-wide bucket: charged before the signature check, it would let
//! anyone with a few addresses lock every member out (member addresses are
//! public); signature checks are bounded per source network instead. The
//! tables are bounded: past [`MAX_BUCKETS`] the least recently used bucket
//! makes room.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wefe_core::PeerId;

/// Buckets kept per table.
const MAX_BUCKETS: usize = 4096;
/// A source network may claim this many members' worth of handshakes.
const PER_NETWORK: f64 = 4.0;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    burst: f64,
    /// Seconds per token.
    interval: f64,
}

impl Bucket {
    fn refill(&mut self, rate: Rate, now: Instant) {
        let earned =
            if rate.interval <= 0.0 { rate.burst } else { now.duration_since(self.at).as_secs_f64() / rate.interval };
        self.tokens = (self.tokens + earned).min(rate.burst);
        self.at = now;
    }
}

#[derive(Debug)]
struct Tables {
    members: HashMap<(PeerId, Option<IpAddr>), Bucket>,
    networks: HashMap<Option<IpAddr>, Bucket>,
}

#[derive(Debug)]
pub(crate) struct HandshakeThrottle {
    member: Rate,
    network: Rate,
    tables: Mutex<Tables>,
}

/// The bucket of `key`, made full when new; the least recently used one
/// makes room when the table is full.
fn bucket<K: Hash + Eq + Copy>(table: &mut HashMap<K, Bucket>, key: K, rate: Rate, now: Instant) -> Bucket {
    if let Some(bucket) = table.get(&key) {
        let mut bucket = *bucket;
        bucket.refill(rate, now);
        return bucket;
    }
    if table.len() >= MAX_BUCKETS
        && let Some(oldest) = table.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k)
    {
        table.remove(&oldest);
    }
    Bucket { tokens: rate.burst, at: now }
}

/// The source network of an address: IPv4 as is, IPv6 by its /64.
fn network(addr: Option<IpAddr>) -> Option<IpAddr> {
    match addr {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            Some(IpAddr::from(segments))
        }
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4),
        other => other,
    }
}

impl HandshakeThrottle {
    pub(crate) fn new(burst: u32, interval: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        let interval = interval.as_secs_f64();
        let member = Rate { burst, interval };
        let network = Rate { burst: burst * PER_NETWORK, interval: interval / PER_NETWORK };
        let tables = Tables { members: HashMap::new(), networks: HashMap::new() };
        Self { member, network, tables: Mutex::new(tables) }
    }

    /// Takes one handshake from `member`'s bucket for `addr` and from the
    /// address's network; false when either is empty (then neither is
    /// charged).
    pub(crate) fn allow(&self, member: PeerId, addr: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let net = network(addr);
        let mut by_member = bucket(&mut tables.members, (member, addr), self.member, now);
        let mut by_network = bucket(&mut tables.networks, net, self.network, now);
        let allowed = by_member.tokens >= 1.0 && by_network.tokens >= 1.0;
        if allowed {
            by_member.tokens -= 1.0;
            by_network.tokens -= 1.0;
        }
        tables.members.insert((member, addr), by_member);
        tables.networks.insert(net, by_network);
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval_per_member_and_address() {
        let throttle = HandshakeThrottle::new(3, Duration::from_millis(50));
        let (a, b) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        assert!((0..3).all(|_| throttle.allow(a, here)));
        assert!(!throttle.allow(a, here));
        // Another member, or the same name from elsewhere, has its own bucket.
        assert!(throttle.allow(b, here));
        assert!(throttle.allow(a, Some(IpAddr::from([127, 0, 0, 2]))));
        std::thread::sleep(Duration::from_millis(60));
        assert!(throttle.allow(a, here));
        assert!(!throttle.allow(a, here));
    }

    #[test]
    fn one_network_cannot_claim_many_members_nor_lock_others_out() {
        let throttle = HandshakeThrottle::new(2, Duration::from_secs(3600));
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        let member = |i: u8| PeerId::from_bytes([i; 20]);
        // 2 per member, 8 per network (4 members' worth).
        let granted = (0..20u8).map(|i| (0..2).filter(|_| throttle.allow(member(i), here)).count()).sum::<usize>();
        assert_eq!(granted, 8);
        // Addresses of one IPv6 /64 are one network.
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]));
        let granted = (0..20u16).filter(|&i| throttle.allow(member(1), v6(i))).count();
        assert_eq!(granted, 8);
        // Those floods leave a member on its own network its handshakes.
        let elsewhere = Some(IpAddr::from([192, 0, 2, 7]));
        assert!((0..2).all(|_| throttle.allow(member(1), elsewhere)));
    }

    #[test]
    fn the_tables_stay_bounded() {
        let throttle = HandshakeThrottle::new(1, Duration::ZERO);
        for i in 0..(MAX_BUCKETS as u32 + 100) {
            let addr = Some(IpAddr::from(i.to_be_bytes()));
            throttle.allow(PeerId::from_bytes([7; 20]), addr);
        }
        let tables = throttle.tables.lock().unwrap();
        assert!(tables.members.len() <= MAX_BUCKETS && tables.networks.len() <= MAX_BUCKETS);
    }
}
