//! Nonces seen within the clock window, so a captured envelope cannot be replayed.
//!
//! An envelope older than the window is refused for its timestamp, so a
//! nonce only has to be remembered until its envelope's timestamp leaves the
//! window; the cache holds at most `capacity` live nonces and refuses new
//! envelopes (rather than forgetting live nonces) when full.

use std::collections::{BTreeSet, HashSet};

type Key = ([u8; 20], [u8; 16]);

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayVerdict {
    Fresh,
    Replayed,
    Full,
}

#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    seen: HashSet<Key>,
    by_expiry: BTreeSet<(i64, Key)>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, seen: HashSet::new(), by_expiry: BTreeSet::new() }
    }

    /// Records `(from, nonce)` until `expires_ms` unless it is already live.
    pub(crate) fn check_and_insert(
        &mut self,
        from: [u8; 20],
        nonce: [u8; 16],
        expires_ms: i64,
        now_ms: i64,
    ) -> ReplayVerdict {
        while let Some(&(expiry, key)) = self.by_expiry.first() {
            if expiry >= now_ms {
                break;
            }
            self.by_expiry.pop_first();
            self.seen.remove(&key);
        }
        let key = (from, nonce);
        if self.seen.contains(&key) {
            return ReplayVerdict::Replayed;
        }
        if self.seen.len() >= self.capacity {
            return ReplayVerdict::Full;
        }
        self.seen.insert(key);
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
        let mut cache = ReplayCache::new(2);
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
}
