//! The compute pool: where job runners execute, apart from the runtime that
//! serves the gateway, the REST API and the chain listener.
//!
//! Protocol steps are CPU-bound (elliptic-curve and RSA operations, Paillier
//! arithmetic, rayon inside) and run between the awaits of a runner. On the
//! node's main runtime they would hold its workers, and a busy job would
//! delay the gateway's signature checks, the listener and the API. Runners
//! are spawned on this process-wide runtime instead; the main runtime never
//! runs a protocol step.
//!
//! Every job has one [`CancellationToken`]: a timeout, a closure on chain and
//! the node's shutdown all cancel it, and the runner stops at its next
//! message (batch) boundary: [`Cancellable`] fails every send and receive
//! once the token is cancelled, and the runner's future is dropped there.

use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};
use tokio_util::sync::CancellationToken;
use wefe_core::{PeerId, Transport, TransportError};

/// The compute runtime's handle (started on first use, never stopped: it
/// lives as long as the process, so connections made from it stay usable).
///
/// Its threads, and rayon's pool the protocols fan out to, run at a lower
/// scheduling priority (nice 10 on Linux) than the runtime serving the
/// gateway, the API and the listener: on a machine whose cores a job keeps
/// busy, a peer's message or an API request still gets a core first.
pub fn handle() -> Handle {
    static POOL: OnceLock<Runtime> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get).max(2);
        // Best effort: the pool may already be running (then it keeps its priority).
        let _ = rayon::ThreadPoolBuilder::new().start_handler(|_| lower_priority()).build_global();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("wefe-compute")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .expect("the compute runtime starts (threads and timers are available)")
    })
    .handle()
    .clone()
}

/// Lowers the calling thread's scheduling priority (Linux: nice is per
/// thread, and `setpriority(PRIO_PROCESS, 0)` means the calling thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 10) {
        tracing::debug!(error = %e, "cannot lower the compute thread's priority");
    }
}

/// Runs `future` on the compute pool until it ends or `cancel` fires; a
/// cancelled run ends with [`TransportError::Cancelled`] (its future is
/// dropped at its next await), a panicking one with an `Internal` failure.
pub async fn run<F>(cancel: CancellationToken, future: F) -> anyhow::Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = handle().spawn(async move {
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(TransportError::Cancelled),
            out = future => Ok(out),
        }
    });
    match task.await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(cancelled)) => Err(cancelled.into()),
        // A panic is the job's failure, not the caller's: the scheduler
        // still releases the job's slot, mailboxes and progress task.
        Err(e) if e.is_panic() => Err(anyhow::Error::new(crate::disclosure::JobFailure::new(
            crate::disclosure::FailureCategory::Internal,
            "the job's runner crashed (panic); see the node log",
        ))),
        Err(e) => Err(anyhow::anyhow!("the job's runner was stopped: {e}")),
    }
}

/// A job's transport that stops with the job: once `cancel` fires, every
/// pending and later send or receive fails with [`TransportError::Cancelled`].
#[derive(Debug, Clone)]
pub struct Cancellable<T> {
    inner: T,
    cancel: CancellationToken,
}

impl<T> Cancellable<T> {
    /// `inner`, stopped by `cancel`.
    pub fn new(inner: T, cancel: CancellationToken) -> Self {
        Self { inner, cancel }
    }
}

impl<T: Transport> Transport for Cancellable<T> {
    fn local_peer(&self) -> PeerId {
        self.inner.local_peer()
    }

    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, to: &PeerId, tag: &str, payload: Vec<u8>) -> Result<(), TransportError> {
        if self.cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(TransportError::Cancelled),
            sent = self.inner.send(to, tag, payload) => sent,
        }
    }

    async fn recv(&self, from: &PeerId, tag: &str) -> Result<Vec<u8>, TransportError> {
        if self.cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(TransportError::Cancelled),
            received = self.inner.recv(from, tag) => received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runners_run_on_the_compute_pool_and_stop_when_cancelled() {
        let name =
            run(CancellationToken::new(), async { std::thread::current().name().map(str::to_owned) }).await.unwrap();
        assert_eq!(name.as_deref(), Some("wefe-compute"));
        #[cfg(target_os = "linux")]
        {
            let nice = run(CancellationToken::new(), async { rustix::process::getpriority_process(None) }).await;
            assert_eq!(nice.unwrap().unwrap(), 10, "compute threads yield to the gateway's");
        }

        let net = wefe_core::MemoryNetwork::new(1 << 20);
        let (a, b) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let cancel = CancellationToken::new();
        let waiting = Cancellable::new(net.endpoint(a), cancel.clone());
        let _b = net.endpoint(b);
        let runner = tokio::spawn(run(cancel.clone(), async move { waiting.recv(&b, "never").await }));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        cancel.cancel();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), runner).await.unwrap().unwrap();
        let error = stopped.unwrap_err();
        assert_eq!(error.downcast_ref::<TransportError>(), Some(&TransportError::Cancelled));
        let after = Cancellable::new(net.endpoint(a), cancel);
        assert_eq!(after.send(&b, "x", vec![1]).await, Err(TransportError::Cancelled));

        // A panic is an error of the job, not of its caller.
        let crashed = run(CancellationToken::new(), async {
            if std::hint::black_box(true) {
                panic!("a runner bug");
            }
        })
        .await;
        assert!(format!("{:#}", crashed.unwrap_err()).contains("crashed (panic)"));
    }
}
