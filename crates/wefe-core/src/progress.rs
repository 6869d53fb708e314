//! How far a job's work has got.

use std::sync::atomic::{AtomicU64, Ordering};

/// How far a run has got, shared with whoever reports it (a node's job view,
/// a progress bar): `done` of `total` items processed. The one progress type
/// of every job kind: PSI counts ids (both parties' sets; a protocol adds to
/// `total` once it knows the peer's set size, so `total` may grow during the
/// first exchange), learning counts mini-batches.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    /// Nothing done, nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Announces `n` more items of work.
    pub fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    /// Records `n` more items processed.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// `(done, total)`; `done` never exceeds `total`.
    pub fn snapshot(&self) -> (u64, u64) {
        let total = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed).min(total), total)
    }
}
