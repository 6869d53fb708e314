//! Shared helpers of this crate's protocol tests.

use std::sync::OnceLock;

use wefe_crypto::{KeySize, Keypair, PrivateKey};

/// One 512-bit key for fast protocol tests (generation is the slow part).
pub(crate) fn key512() -> PrivateKey {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = KEY.get_or_init(|| Keypair::generate(KeySize::insecure(512)).unwrap().private().to_bytes());
    PrivateKey::from_bytes_insecure(bytes).unwrap()
}

/// Joins a vector of futures on one task (no `futures` dependency).
pub(crate) async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (i, f) in futs.iter_mut().enumerate() {
            if done[i].is_none()
                && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
            {
                done[i] = Some(v);
            }
        }
        if done.iter().all(Option::is_some) { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    done.into_iter().flatten().collect()
}
