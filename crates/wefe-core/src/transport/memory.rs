//! An in-memory [`Transport`]: every endpoint of a [`MemoryNetwork`] lives in
//! the same process and messages are queued in shared memory. For tests and
//! benchmarks of protocol code; it needs no async runtime (any executor can
//! poll it).

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use super::{PeerId, Transport, TransportError, check_tag};

/// A set of connected in-memory endpoints with one message size limit.
///
/// ```
/// use wefe_core::{MemoryNetwork, PeerId};
/// let net = MemoryNetwork::new(1 << 20);
/// let alice = net.endpoint(PeerId::from_bytes([1; 20]));
/// let bob = net.endpoint(PeerId::from_bytes([2; 20]));
/// # let _ = (alice, bob);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryNetwork {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    max_message_bytes: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    members: HashSet<PeerId>,
    closed: HashSet<PeerId>,
    /// Keyed by (from, to, tag).
    queues: HashMap<(PeerId, PeerId, String), Queue>,
    /// Id of the next pending `recv`.
    next_waiter: u64,
}

type QueueKey = (PeerId, PeerId, String);

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Vec<u8>>,
    /// One waker per pending `recv` (by its id), the one it was last polled with.
    waiting: Vec<(u64, Waker)>,
}

impl Queue {
    fn wake_all(&mut self) {
        self.waiting.drain(..).for_each(|(_, waker)| waker.wake());
    }
}

/// Removes a `recv`'s waker when the call finishes or is dropped.
struct Waiter<'a> {
    shared: &'a Shared,
    key: &'a QueueKey,
    id: u64,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(queue) = self.shared.lock().queues.get_mut(self.key) {
            queue.waiting.retain(|(id, _)| *id != self.id);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the real failure behind poison errors.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryNetwork {
    /// A network whose endpoints refuse payloads over `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self { shared: Arc::new(Shared { max_message_bytes, state: Mutex::new(State::default()) }) }
    }

    /// Joins `id` to the network. When the returned endpoint is dropped, peers
    /// waiting on it get [`TransportError::Closed`] once its queued messages are read.
    pub fn endpoint(&self, id: PeerId) -> MemoryTransport {
        let mut state = self.shared.lock();
        state.members.insert(id);
        state.closed.remove(&id);
        MemoryTransport { id, shared: Arc::clone(&self.shared) }
    }
}

/// One party's endpoint on a [`MemoryNetwork`].
#[derive(Debug)]
pub struct MemoryTransport {
    id: PeerId,
    shared: Arc<Shared>,
}

impl Transport for MemoryTransport {
    fn local_peer(&self) -> PeerId {
        self.id
    }

    fn max_message_bytes(&self) -> usize {
        self.shared.max_message_bytes
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), TransportError> {
        check_tag(tag)?;
        let max = self.shared.max_message_bytes;
        if payload.len() > max {
            return Err(TransportError::TooLarge { size: payload.len(), max });
        }
        let mut state = self.shared.lock();
        if !state.members.contains(to) {
            return Err(TransportError::UnknownPeer(*to));
        }
        if state.closed.contains(to) {
            return Err(TransportError::Closed(*to));
        }
        let queue = state.queues.entry((self.id, *to, tag.to_owned())).or_default();
        queue.messages.push_back(payload);
        queue.wake_all();
        Ok(())
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        check_tag(tag)?;
        let key: QueueKey = (*from, self.id, tag.to_owned());
        let id = {
            let mut state = self.shared.lock();
            state.next_waiter += 1;
            state.next_waiter
        };
        let _waiter = Waiter { shared: &self.shared, key: &key, id };
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if !state.members.contains(from) {
                return Poll::Ready(Err(TransportError::UnknownPeer(*from)));
            }
            let closed = state.closed.contains(from);
            let queue = state.queues.entry(key.clone()).or_default();
            if let Some(message) = queue.messages.pop_front() {
                return Poll::Ready(Ok(message));
            }
            if closed {
                return Poll::Ready(Err(TransportError::Closed(*from)));
            }
            // Polled again (spuriously, or after a wake-up that found another
            // waiter's message gone): keep one waker, the latest.
            match queue.waiting.iter_mut().find(|(waiter, _)| *waiter == id) {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => queue.waiting.push((id, cx.waker().clone())),
            }
            Poll::Pending
        })
        .await
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed.insert(self.id);
        for ((from, _, _), queue) in state.queues.iter_mut() {
            if *from == self.id {
                queue.wake_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Wake};
    use std::thread::{self, Thread};

    /// A minimal executor so this crate needs no async runtime to test itself.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    fn peer(n: u8) -> PeerId {
        PeerId::from_bytes([n; 20])
    }

    #[test]
    fn messages_arrive_in_order_per_tag() {
        let net = MemoryNetwork::new(64);
        let (a, b) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
        block_on(async {
            a.send(&peer(2), "x", b"1".to_vec()).await.unwrap();
            a.send(&peer(2), "y", b"other".to_vec()).await.unwrap();
            a.send(&peer(2), "x", b"2".to_vec()).await.unwrap();
            assert_eq!(b.recv(&peer(1), "x").await.unwrap(), b"1");
            assert_eq!(b.recv(&peer(1), "x").await.unwrap(), b"2");
            assert_eq!(b.recv(&peer(1), "y").await.unwrap(), b"other");
        });
        assert_eq!(b.local_peer(), peer(2));
    }

    #[test]
    fn a_receiver_waits_for_a_message_sent_from_another_thread() {
        let net = MemoryNetwork::new(64);
        let (a, b) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
        let sender = thread::spawn(move || {
            thread::sleep(std::time::Duration::from_millis(20));
            block_on(a.send(&peer(2), "late", vec![7; 64])).unwrap();
        });
        assert_eq!(block_on(b.recv(&peer(1), "late")).unwrap(), vec![7; 64]);
        sender.join().unwrap();
    }

    #[test]
    fn limits_unknown_peers_and_closed_peers_are_errors() {
        let net = MemoryNetwork::new(8);
        let (a, b) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
        block_on(async {
            assert_eq!(a.send(&peer(2), "t", vec![0; 9]).await, Err(TransportError::TooLarge { size: 9, max: 8 }));
            assert_eq!(a.send(&peer(3), "t", vec![]).await, Err(TransportError::UnknownPeer(peer(3))));
            assert_eq!(b.recv(&peer(3), "t").await, Err(TransportError::UnknownPeer(peer(3))));
            assert!(matches!(a.send(&peer(2), "bad tag", vec![]).await, Err(TransportError::BadTag(_))));
            a.send(&peer(2), "t", vec![1]).await.unwrap();
        });
        drop(a);
        block_on(async {
            // What was sent before closing is still delivered, then the close is reported.
            assert_eq!(b.recv(&peer(1), "t").await.unwrap(), vec![1]);
            assert_eq!(b.recv(&peer(1), "t").await, Err(TransportError::Closed(peer(1))));
            assert_eq!(b.send(&peer(1), "t", vec![]).await, Err(TransportError::Closed(peer(1))));
        });
    }

    fn waiters(net: &MemoryNetwork, from: u8, to: u8, tag: &str) -> usize {
        net.shared.lock().queues.get(&(peer(from), peer(to), tag.to_owned())).map_or(0, |q| q.waiting.len())
    }

    /// Counts its wake-ups.
    struct Counter(std::sync::atomic::AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn repeated_polls_keep_one_waker_per_waiter() {
        let net = MemoryNetwork::new(8);
        let (a, b) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
        let alice = peer(1);
        let mut recv = pin!(b.recv(&alice, "t"));
        let mut noop = Context::from_waker(Waker::noop());
        for _ in 0..100 {
            assert!(recv.as_mut().poll(&mut noop).is_pending());
        }
        assert_eq!(waiters(&net, 1, 2, "t"), 1, "100 polls of one recv");

        // Polled with another waker: that one replaces the first and is the one woken.
        let counter = Arc::new(Counter(0.into()));
        let counting = Waker::from(Arc::clone(&counter));
        assert!(recv.as_mut().poll(&mut Context::from_waker(&counting)).is_pending());
        assert_eq!(waiters(&net, 1, 2, "t"), 1);

        // A second pending recv has its own waker, removed when it is dropped.
        {
            let mut other = pin!(b.recv(&alice, "t"));
            assert!(other.as_mut().poll(&mut noop).is_pending());
            assert!(other.as_mut().poll(&mut noop).is_pending());
            assert_eq!(waiters(&net, 1, 2, "t"), 2);
        }
        assert_eq!(waiters(&net, 1, 2, "t"), 1, "a dropped recv leaves no waker");

        block_on(a.send(&peer(2), "t", vec![1])).unwrap();
        assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(waiters(&net, 1, 2, "t"), 0);
        assert_eq!(recv.as_mut().poll(&mut noop), Poll::Ready(Ok(vec![1])));
        assert_eq!(waiters(&net, 1, 2, "t"), 0);
    }

    #[test]
    fn a_waiting_receiver_is_woken_when_the_sender_leaves() {
        let net = MemoryNetwork::new(8);
        let (a, b) = (net.endpoint(peer(1)), net.endpoint(peer(2)));
        let leaver = thread::spawn(move || {
            thread::sleep(std::time::Duration::from_millis(20));
            drop(a);
        });
        assert_eq!(block_on(b.recv(&peer(1), "t")), Err(TransportError::Closed(peer(1))));
        leaver.join().unwrap();
    }
}
