//! Nonces seen within the clock window, so a captured envelope cannot be replayed.
//!
//! An envelope older than the window is refused for its timestamp, so a
//! nonce only has to be remembered until its envelope's timestamp leaves the
//! window; the cache holds at most `capacity` live nonces and refuses new
//! envelopes (rather than forgetting live nonces) when full. One sender may
//! hold at most `per_sender` of them, so a member that floods the gateway
//! fills its own share, not everyone's.

use std::collections::{BTreeSet, HashMap, HashSet};

type Key = ([u8; 20], [u8; 16]);

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayVerdict {
    Fresh,
    Replayed,
    Full,
    SenderFull,
}

#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    per_sender: usize,
    seen: HashSet<Key>,
    by_expiry: BTreeSet<(i64, Key)>,
    live: HashMap<[u8; 20], usize>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize, per_sender: usize) -> Self {
        Self { capacity, per_sender, seen: HashSet::new(), by_expiry: BTreeSet::new(), live: HashMap::new() }
    }

    fn expire(&mut self, now_ms: i64) {
        while let Some(&(expiry, key)) = self.by_expiry.first() {
            if expiry >= now_ms {
                break;
            }
            self.by_expiry.pop_first();
            self.seen.remove(&key);
            if let Some(count) = self.live.get_mut(&key.0) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.live.remove(&key.0);
                }
            }
        }
    }

    /// Whether `(from, nonce)` is live, without recording it: a cheap
    /// refusal before the signature is checked (only a verified envelope
    /// may take a place in the sender's share).
    pub(crate) fn seen(&mut self, from: [u8; 20], nonce: [u8; 16], now_ms: i64) -> bool {
        self.expire(now_ms);
        self.seen.contains(&(from, nonce))
    }

    /// Records `(from, nonce)` until `expires_ms` unless it is already live.
    pub(crate) fn check_and_insert(
        &mut self,
        from: [u8; 20],
        nonce: [u8; 16],
        expires_ms: i64,
        now_ms: i64,
    ) -> ReplayVerdict {
        self.expire(now_ms);
        let key = (from, nonce);
        if self.seen.contains(&key) {
            return ReplayVerdict::Replayed;
        }
        let live = self.live.get(&from).copied().unwrap_or(0);
        if live >= self.per_sender {
            return ReplayVerdict::SenderFull;
        }
        if self.seen.len() >= self.capacity {
            return ReplayVerdict::Full;
        }
        self.seen.insert(key);
        *self.live.entry(from).or_default() += 1;
        self.by_expiry.insert((expires_ms, key));
        ReplayVerdict::Fresh
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_refused_while_live_and_forgotten_after() {
        let mut cache = ReplayCache::new(2, 2);
        let a = [1; 20];
        assert_eq!(cache.check_and_insert(a, [1; 16], 1_000, 0), ReplayVerdict::Fresh);
        assert_eq!(cache.check_and_insert(a, [1; 16], 1_000, 500), ReplayVerdict::Replayed);
        // Same nonce from another sender is a different envelope.
        assert_eq!(cache.check_and_insert([2; 20], [1; 16], 2_000, 500), ReplayVerdict::Fresh);
        assert_eq!(cache.check_and_insert(a, [3; 16], 2_000, 500), ReplayVerdict::Full);
        // After the first expires there is room again, and its nonce is forgotten.
        assert_eq!(cache.check_and_insert(a, [3; 16], 3_000, 1_001), ReplayVerdict::Fresh);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.check_and_insert(a, [3; 16], 3_000, 1_002), ReplayVerdict::Replayed);
    }

    #[test]
    fn one_sender_fills_only_its_share() {
        let mut cache = ReplayCache::new(100, 3);
        let (flooder, other) = ([1; 20], [2; 20]);
        for i in 0..3 {
            assert_eq!(cache.check_and_insert(flooder, [i; 16], 1_000, 0), ReplayVerdict::Fresh);
        }
        assert_eq!(cache.check_and_insert(flooder, [9; 16], 1_000, 0), ReplayVerdict::SenderFull);
        assert_eq!(cache.check_and_insert(other, [9; 16], 1_000, 0), ReplayVerdict::Fresh);
        assert!(cache.seen(flooder, [0; 16], 10) && !cache.seen(flooder, [9; 16], 10));
        // Expiry frees the share.
        assert_eq!(cache.check_and_insert(flooder, [9; 16], 3_000, 1_001), ReplayVerdict::Fresh);
    }
}
