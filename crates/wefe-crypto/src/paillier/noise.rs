//! Encryption noise computed ahead of time: the DJN factor `h_s^α mod n²`
//! does not depend on the message, so it can be produced in bulk or on a
//! background thread and consumed by [`PublicKey::encrypt_with_noise`]
//! (one multiplication mod n instead of a fixed-base exponentiation).

use std::fmt;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rayon::prelude::*;
use rug::Integer;

use super::{Ciphertext, PublicKey, wipe};
use crate::Result;

/// One encryption's worth of randomness, `h_s^α mod n²` for a fresh α.
///
/// Deliberately not `Clone`: [`PublicKey::encrypt_with_noise`] consumes it.
/// Two ciphertexts built with the same noise reveal the difference of their
/// plaintexts to anyone (`c₁·c₂^(−1) = (1+n)^(m₁−m₂)`), which breaks
/// semantic security. Noise is tied to the key that made it; using it with
/// another key gives a ciphertext that does not decrypt. Wiped on drop.
pub struct Noise(pub(super) Integer);

impl fmt::Debug for Noise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Noise(..)")
    }
}

impl Drop for Noise {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl PublicKey {
    /// Fresh encryption noise `h_s^α mod n²` (the cost of an
    /// [`encrypt`](Self::encrypt) minus one multiplication).
    pub fn noise(&self) -> Result<Noise> {
        Ok(Noise(self.djn_randomness()?))
    }

    /// `count` fresh noises, computed on all rayon threads.
    pub fn noise_batch(&self, count: usize) -> Result<Vec<Noise>> {
        (0..count).into_par_iter().map(|_| self.noise()).collect()
    }

    /// Encrypt `m ∈ [0, n)` with precomputed noise `r = h_s^α`:
    /// `c = (1 + m·n)·r = r + n·(m·r mod n) mod n²`, i.e. one multiplication
    /// and one reduction modulo n (not n²). Same distribution as
    /// [`encrypt`](Self::encrypt) provided each noise is used once (hence it
    /// is taken by value).
    pub fn encrypt_with_noise(&self, m: &Integer, noise: Noise) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        let r = &noise.0;
        // (1 + m·n)·r ≡ r + n·(m·r mod n) (mod n²) since n·(m·r) mod n² = n·((m·r) mod n).
        let mut t = Integer::from(m * r);
        t.modulo_mut(&self.n);
        t *= &self.n;
        t += r;
        if t >= self.n2 {
            t -= &self.n2;
        }
        Ok(Ciphertext(t))
    }
}

/// A bounded supply of [`Noise`] filled by a dedicated background thread.
///
/// [`NoisePool::spawn`] starts one thread that computes noise (one core at
/// full load) until `capacity` noises wait, then blocks until some are
/// taken. [`take`](Self::take) returns a waiting noise, or computes one on
/// the calling thread when the pool is empty, so encryption never waits for
/// the producer. `take` may be called from several threads (`NoisePool` is
/// `Sync`). Dropping the pool stops and joins the thread (after at most the
/// noise it is computing).
///
/// ```
/// use rug::Integer;
/// use wefe_crypto::paillier::{KeySize, Keypair, NoisePool};
///
/// let keys = Keypair::generate(KeySize::insecure(512))?;
/// let pool = NoisePool::spawn(keys.public().clone(), 64);
/// let c = keys.public().encrypt_with_noise(&Integer::from(7), pool.take()?)?;
/// assert_eq!(keys.private().decrypt(&c)?, 7);
/// # Ok::<(), wefe_crypto::Error>(())
/// ```
pub struct NoisePool {
    pk: PublicKey,
    rx: Option<Mutex<Receiver<Noise>>>,
    producer: Option<JoinHandle<()>>,
}

impl fmt::Debug for NoisePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoisePool").field("key", &self.pk).finish_non_exhaustive()
    }
}

impl NoisePool {
    /// Start a producer thread keeping up to `capacity` (at least 1) noises
    /// ready for `pk`.
    pub fn spawn(pk: PublicKey, capacity: usize) -> NoisePool {
        let (tx, rx) = sync_channel(capacity.max(1));
        let producer_key = pk.clone();
        let producer =
            std::thread::Builder::new().name("paillier-noise".into()).spawn(move || produce(&producer_key, &tx)).ok();
        NoisePool { pk, rx: Some(Mutex::new(rx)), producer }
    }

    /// A noise from the pool, or one computed now when the pool is empty
    /// (or the producer has stopped after a random-generator failure).
    pub fn take(&self) -> Result<Noise> {
        let waiting = self.rx.as_ref().and_then(|rx| rx.lock().ok()?.try_recv().ok());
        match waiting {
            Some(noise) => Ok(noise),
            None => self.pk.noise(),
        }
    }
}

fn produce(pk: &PublicKey, tx: &SyncSender<Noise>) {
    // Stops when the pool is dropped (send fails) or randomness fails.
    while let Ok(noise) = pk.noise() {
        if tx.send(noise).is_err() {
            return;
        }
    }
}

impl Drop for NoisePool {
    fn drop(&mut self) {
        // Dropping the receiver makes the producer's blocked `send` fail.
        drop(self.rx.take());
        if let Some(handle) = self.producer.take() {
            let _ = handle.join();
        }
    }
}
