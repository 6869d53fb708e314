//! Complete messages waiting for their job's transport to `recv` them.
//!
//! One FIFO queue per (job, sender, tag). A mailbox exists only while it
//! holds messages or a `recv` waits on it, so queues an attacker opens and
//! nobody reads go away with their messages (whose [`Charge`] bounds them).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use wefe_core::PeerId;

use crate::error::GatewayError;
use crate::ledger::Charge;

/// A reassembled message and what it holds against the budgets until received.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) bytes: Vec<u8>,
    pub(crate) _charge: Charge,
}

type MailboxKey = (u64, PeerId, String);

#[derive(Debug, Default)]
struct Signal {
    notify: Notify,
    closed: AtomicBool,
}

#[derive(Debug, Default)]
struct Mailbox {
    queue: VecDeque<Delivered>,
    waiters: usize,
    signal: Arc<Signal>,
}

/// The gateway's mailboxes.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    mailboxes: Mutex<HashMap<MailboxKey, Mailbox>>,
}

/// A `recv` registered as waiting on a mailbox; unregisters on drop (also
/// when the `recv` is cancelled by its timeout).
struct Waiting<'a> {
    inbox: &'a Inbox,
    key: &'a MailboxKey,
    signal: Arc<Signal>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut boxes = self.inbox.lock();
        if let Some(mailbox) = boxes.get_mut(self.key)
            && Arc::ptr_eq(&mailbox.signal, &self.signal)
        {
            mailbox.waiters = mailbox.waiters.saturating_sub(1);
            if mailbox.waiters == 0 && mailbox.queue.is_empty() {
                boxes.remove(self.key);
            }
        }
    }
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, HashMap<MailboxKey, Mailbox>> {
        self.mailboxes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `message` unless `refusal` (asked under the inbox lock, so a
    /// job that ends concurrently is seen) gives a reason not to.
    pub(crate) fn deliver(
        &self,
        job: u64,
        from: PeerId,
        tag: &str,
        message: Delivered,
        refusal: impl FnOnce() -> Option<GatewayError>,
    ) -> Result<(), GatewayError> {
        let mut boxes = self.lock();
        if let Some(reason) = refusal() {
            drop(boxes);
            drop(message);
            return Err(reason);
        }
        let mailbox = boxes.entry((job, from, tag.to_owned())).or_default();
        mailbox.queue.push_back(message);
        // Stores a permit when nobody waits yet: the next waiter takes it.
        mailbox.signal.notify.notify_one();
        Ok(())
    }

    /// The next message from `from` on `tag` for `job`; None once the job is
    /// forgotten (`ended` tells, under the inbox lock, whether it was already).
    pub(crate) async fn recv(&self, job: u64, from: PeerId, tag: &str, ended: impl Fn() -> bool) -> Option<Delivered> {
        let key = (job, from, tag.to_owned());
        loop {
            let signal = {
                let mut boxes = self.lock();
                if ended() {
                    return None;
                }
                let mailbox = boxes.entry(key.clone()).or_default();
                if let Some(message) = mailbox.queue.pop_front() {
                    if mailbox.queue.is_empty() && mailbox.waiters == 0 {
                        boxes.remove(&key);
                    }
                    return Some(message);
                }
                mailbox.waiters += 1;
                Arc::clone(&mailbox.signal)
            };
            let _waiting = Waiting { inbox: self, key: &key, signal: Arc::clone(&signal) };
            let notified = signal.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if signal.closed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
            if signal.closed.load(Ordering::Acquire) {
                return None;
            }
        }
    }

    /// Drops every queued message of `job` (its runner finished) and wakes
    /// its waiting `recv`s with nothing.
    pub(crate) fn forget_job(&self, job: u64) {
        let mut dropped = Vec::new();
        {
            let mut boxes = self.lock();
            let keys: Vec<MailboxKey> = boxes.keys().filter(|(j, _, _)| *j == job).cloned().collect();
            for key in keys {
                if let Some(mailbox) = boxes.remove(&key) {
                    mailbox.signal.closed.store(true, Ordering::Release);
                    mailbox.signal.notify.notify_waiters();
                    dropped.push(mailbox.queue);
                }
            }
        }
        // Releasing the charges takes the ledger's lock: not under ours.
        drop(dropped);
    }

    /// Drops the queued messages of `job` from senders `which` picks; waiting
    /// `recv`s keep waiting.
    pub(crate) fn drop_queued(&self, job: u64, which: impl Fn(&PeerId) -> bool) {
        let mut dropped = Vec::new();
        {
            let mut boxes = self.lock();
            boxes.retain(|(j, from, _), mailbox| {
                if *j != job || !which(from) {
                    return true;
                }
                dropped.push(std::mem::take(&mut mailbox.queue));
                mailbox.waiters > 0
            });
        }
        drop(dropped);
    }

    /// Mailboxes that exist now.
    pub(crate) fn mailboxes(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatewayConfig;
    use crate::ledger::Ledger;

    const A: PeerId = PeerId::from_bytes([1; 20]);

    #[tokio::test]
    async fn mailboxes_live_only_while_used_and_release_their_charges() {
        let ledger = Ledger::new(&GatewayConfig::default());
        let inbox = Inbox::default();
        let message = |bytes: &[u8]| Delivered { bytes: bytes.to_vec(), _charge: ledger.begin(A, 1, 1, 0).unwrap() };
        inbox.deliver(1, A, "t", message(b"one"), || None).unwrap();
        inbox.deliver(1, A, "t", message(b"two"), || None).unwrap();
        assert_eq!(inbox.mailboxes(), 1);
        assert_eq!(inbox.recv(1, A, "t", || false).await.unwrap().bytes, b"one");
        assert_eq!(inbox.recv(1, A, "t", || false).await.unwrap().bytes, b"two");
        assert_eq!((inbox.mailboxes(), ledger.usage()), (0, (0, 0)));

        // A cancelled wait leaves nothing behind.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), inbox.recv(1, A, "t", || false)).await;
        assert!(waited.is_err());
        assert_eq!(inbox.mailboxes(), 0);

        inbox.deliver(2, A, "t", message(b"x"), || None).unwrap();
        inbox.forget_job(2);
        assert_eq!((inbox.mailboxes(), ledger.usage()), (0, (0, 0)));
        let refused = inbox.deliver(2, A, "t", message(b"x"), || Some(GatewayError::JobEnded(2)));
        assert!(matches!(refused, Err(GatewayError::JobEnded(2))));
        assert_eq!((inbox.mailboxes(), ledger.usage()), (0, (0, 0)));
    }
}
