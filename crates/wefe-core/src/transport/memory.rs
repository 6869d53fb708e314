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
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Vec<u8>>,
    waiting: Vec<Waker>,
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
        queue.waiting.drain(..).for_each(Waker::wake);
        Ok(())
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        check_tag(tag)?;
        let key = (*from, self.id, tag.to_owned());
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
            queue.waiting.push(cx.waker().clone());
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
                queue.waiting.drain(..).for_each(Waker::wake);
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
