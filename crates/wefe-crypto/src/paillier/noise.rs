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

use std::sync::Arc;

use super::{Ciphertext, FixedBaseTable, PrivateKey, PublicKey, garner, random_bits, wipe};
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

/// The key holder's noise generator: the same DJN noise `h_s^α mod n²` as
/// [`PublicKey::noise`] (same α distribution, same value for the same α),
/// computed as `h_s^α mod p²` and `mod q²` with fixed-base tables of half
/// the size and recombined by CRT — about twice as fast, since a product
/// mod p² costs about a third of one mod n².
///
/// Made by [`PrivateKey::crt_noise`]. It holds secrets (p², q² and powers
/// of `h_s` modulo them, from which p can be computed), so it is not
/// printed, is wiped on drop (when the last clone of its tables goes), and
/// must stay with the key holder. Like the public fixed-base evaluation,
/// the table lookups are indexed by digits of the secret α (not
/// constant-time; see the crate README).
#[derive(Clone)]
pub struct CrtNoise {
    public: PublicKey,
    p2: Integer,
    q2: Integer,
    q2_inv_p2: Integer,
    table_p: Arc<FixedBaseTable>,
    table_q: Arc<FixedBaseTable>,
}

impl fmt::Debug for CrtNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrtNoise").field("key", &self.public).finish_non_exhaustive()
    }
}

impl Drop for CrtNoise {
    fn drop(&mut self) {
        wipe(&mut self.p2);
        wipe(&mut self.q2);
        wipe(&mut self.q2_inv_p2);
    }
}

impl PrivateKey {
    /// A generator of encryption noise for this key that uses the primes
    /// (see [`CrtNoise`]); builds two tables of ~8k products each.
    pub fn crt_noise(&self) -> CrtNoise {
        let pk = &self.public;
        let hp = Integer::from(&pk.hs % &self.p2);
        let hq = Integer::from(&pk.hs % &self.q2);
        CrtNoise {
            public: pk.clone(),
            table_p: Arc::new(FixedBaseTable::new(&hp, &self.p2, pk.djn_bits)),
            table_q: Arc::new(FixedBaseTable::new(&hq, &self.q2, pk.djn_bits)),
            p2: self.p2.clone(),
            q2: self.q2.clone(),
            q2_inv_p2: self.q2_inv_p2.clone(),
        }
    }
}

impl CrtNoise {
    /// The public key the noise is for.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Fresh encryption noise, as [`PublicKey::noise`].
    pub fn noise(&self) -> Result<Noise> {
        let mut alpha = random_bits(self.public.djn_bits)?;
        let noise = self.power(&alpha);
        wipe(&mut alpha);
        Ok(noise)
    }

    /// `h_s^α mod n²` by CRT.
    fn power(&self, alpha: &Integer) -> Noise {
        let mut xp = self.table_p.pow(alpha, &self.p2);
        let mut xq = self.table_q.pow(alpha, &self.q2);
        let t = garner(&xp, &xq, &self.p2, &self.q2, &self.q2_inv_p2);
        wipe(&mut xp);
        wipe(&mut xq);
        Noise(t)
    }

    /// `count` fresh noises, computed on all rayon threads.
    pub fn noise_batch(&self, count: usize) -> Result<Vec<Noise>> {
        (0..count).into_par_iter().map(|_| self.noise()).collect()
    }
}

/// Where a [`NoisePool`] gets its noise.
#[derive(Clone)]
enum Source {
    Public(PublicKey),
    Crt(CrtNoise),
}

impl Source {
    fn noise(&self) -> Result<Noise> {
        match self {
            Source::Public(pk) => pk.noise(),
            Source::Crt(crt) => crt.noise(),
        }
    }

    fn public(&self) -> &PublicKey {
        match self {
            Source::Public(pk) => pk,
            Source::Crt(crt) => &crt.public,
        }
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
    source: Source,
    rx: Option<Mutex<Receiver<Noise>>>,
    producer: Option<JoinHandle<()>>,
}

impl fmt::Debug for NoisePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoisePool").field("key", self.source.public()).finish_non_exhaustive()
    }
}

impl NoisePool {
    /// Start a producer thread keeping up to `capacity` (at least 1) noises
    /// ready for `pk`.
    pub fn spawn(pk: PublicKey, capacity: usize) -> NoisePool {
        Self::start(Source::Public(pk), capacity)
    }

    /// The same with the key holder's faster generator ([`CrtNoise`]).
    pub fn spawn_crt(noise: CrtNoise, capacity: usize) -> NoisePool {
        Self::start(Source::Crt(noise), capacity)
    }

    fn start(source: Source, capacity: usize) -> NoisePool {
        let (tx, rx) = sync_channel(capacity.max(1));
        let producer_source = source.clone();
        let producer = std::thread::Builder::new()
            .name("paillier-noise".into())
            .spawn(move || produce(&producer_source, &tx))
            .ok();
        NoisePool { source, rx: Some(Mutex::new(rx)), producer }
    }

    /// A noise from the pool, or one computed now when the pool is empty
    /// (or the producer has stopped after a random-generator failure).
    pub fn take(&self) -> Result<Noise> {
        let waiting = self.rx.as_ref().and_then(|rx| rx.lock().ok()?.try_recv().ok());
        match waiting {
            Some(noise) => Ok(noise),
            None => self.source.noise(),
        }
    }
}

fn produce(source: &Source, tx: &SyncSender<Noise>) {
    // Stops when the pool is dropped (send fails) or randomness fails.
    while let Ok(noise) = source.noise() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paillier::{KeySize, Keypair};

    #[test]
    fn crt_noise_equals_the_public_fixed_base_power() {
        for keys in [Keypair::generate(KeySize::insecure(512)).unwrap(), Keypair::generate(KeySize::B2048).unwrap()] {
            let (pk, sk) = (keys.public(), keys.private());
            let crt = sk.crt_noise();
            assert_eq!(crt.public(), pk);
            let bits = pk.djn_bits;
            for alpha in
                [Integer::new(), Integer::from(1), (Integer::from(1) << bits) - 1u32, random_bits(bits).unwrap()]
            {
                assert_eq!(crt.power(&alpha).0, pk.table.pow(&alpha, &pk.n2), "alpha {alpha}");
            }
            // Encryptions with it decrypt, from the generator and from a pool.
            let c = pk.encrypt_with_noise(&Integer::from(42), crt.noise().unwrap()).unwrap();
            assert_eq!(sk.decrypt(&c).unwrap(), 42);
            let batch = crt.noise_batch(3).unwrap();
            assert_eq!(batch.len(), 3);
            assert_ne!(batch[0].0, batch[1].0, "fresh α each time");
            let pool = NoisePool::spawn_crt(crt.clone(), 4);
            let c = pk.encrypt_with_noise(&Integer::from(7), pool.take().unwrap()).unwrap();
            assert_eq!(sk.decrypt(&c).unwrap(), 7);
            assert!(!format!("{crt:?}{pool:?}").contains(&sk.p.to_string()), "no secrets printed");
        }
    }
}
