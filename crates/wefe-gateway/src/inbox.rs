//! Complete messages waiting for their job's transport to `recv` them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use wefe_core::PeerId;

use crate::error::GatewayError;

/// Bytes held by the gateway for messages not yet received, across all jobs.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
}

/// Bytes counted against the [`Budget`] until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { used: AtomicUsize::new(0), limit })
    }

    pub(crate) fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, GatewayError> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let next = used.checked_add(bytes).filter(|n| *n <= self.limit);
            let Some(next) = next else {
                return Err(GatewayError::QueueFull { queued: used, limit: self.limit });
            };
            match self.used.compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(Reservation { budget: Arc::clone(self), bytes }),
                Err(actual) => used = actual,
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A reassembled message and the budget it holds until received.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) bytes: Vec<u8>,
    pub(crate) _reservation: Reservation,
}

type MailboxKey = (u64, PeerId, String);
type Receiver = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Delivered>>>;

#[derive(Debug)]
struct Mailbox {
    tx: mpsc::UnboundedSender<Delivered>,
    rx: Receiver,
}

impl Mailbox {
    fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self { tx, rx: Arc::new(tokio::sync::Mutex::new(rx)) }
    }
}

/// One FIFO queue per (job, sender, tag), created by whichever side comes first.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    mailboxes: Mutex<HashMap<MailboxKey, Mailbox>>,
}

impl Inbox {
    pub(crate) fn deliver(&self, job: u64, from: PeerId, tag: &str, message: Delivered) {
        let mut boxes = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
        let mailbox = boxes.entry((job, from, tag.to_owned())).or_insert_with(Mailbox::new);
        // The inbox holds the receiver too, so the channel is never closed here.
        let _ = mailbox.tx.send(message);
    }

    pub(crate) fn receiver(&self, job: u64, from: PeerId, tag: &str) -> Receiver {
        let mut boxes = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&boxes.entry((job, from, tag.to_owned())).or_insert_with(Mailbox::new).rx)
    }

    /// Drops every queued message of `job` (its runner finished).
    pub(crate) fn forget_job(&self, job: u64) {
        self.mailboxes.lock().unwrap_or_else(|p| p.into_inner()).retain(|(j, _, _), _| *j != job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_beyond_its_limit_and_frees_on_drop() {
        let budget = Budget::new(10);
        let a = budget.reserve(6).unwrap();
        assert!(matches!(budget.reserve(5), Err(GatewayError::QueueFull { queued: 6, limit: 10 })));
        drop(a);
        let _b = budget.reserve(10).unwrap();
    }
}
