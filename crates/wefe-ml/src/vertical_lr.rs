//! Vertical (hetero) logistic regression with Paillier encryption: the
//! FATE/WeFe protocol without an arbiter, after Hardy et al., "Private
//! federated learning on vertically partitioned data via entity resolution
//! and additively homomorphic encryption", arXiv:1711.10677 (2017), §3, with
//! the label holder also holding the key (as in WeFe and FATE's
//! arbiter-less hetero-LR).
//!
//! The **guest** holds the labels `y`, its features `X_g`, an intercept and the
//! Paillier key pair; each **host** `h` holds features `X_h`. Rows are aligned
//! by index (a PSI aligned them). The batch order of every epoch comes from
//! the shared seed ([`TrainParams::epoch_order`]), so no row ids travel.
//! `[[·]]` is encryption under the guest's public key; values are fixed-point
//! encoded with `f = frac_bits` fractional bits.
//!
//! ```text
//! guest                                             host h (each of them)
//!   Setup { params, rows, [[·]] public key }  ──►   checks params and row counts
//! per mini-batch B:
//!                                            ◄──   Forward { u_h = X_h[B]·w_h }
//!   u = X_g[B]·w_g + b + Σ_h u_h
//!   d = σ(u) − y  (or the Taylor form)
//!   updates w_g, b in the clear
//!   Residuals { [[d_i]] for i ∈ B }           ──►
//!                                            ◄──   MaskedGradient { [[Σ_i d_i·x_ij + r_j]] }
//!                                                  (multi-exponentiation, fresh mask r_j,
//!                                                   re-randomised)
//!   decrypts each: Σ_i d_i·x_ij + r_j (mod n)
//!   Unmasked { those values }                 ──►   g_j = (value − r_j)/|B|, updates w_h
//! per epoch, if there are validation rows:
//!                                            ◄──   ValidationScores { X_h^val·w_h }
//!   validation loss, stopping rule
//!   EpochEnd { improved, stop }               ──►   keeps w_h of the best epoch
//! ```
//!
//! The masks `r_j` are uniform in `[0, 2^(bits(n)−4))`, at least 2^900 times
//! larger than any gradient the encoding allows, so `g_j + r_j` is
//! statistically independent of `g_j` (distance below 2^-900 for 1024-bit
//! keys). Every ciphertext a host returns is re-randomised, so it carries
//! nothing about `X_h` beyond its plaintext.
//!
//! # What each party learns (semi-honest parties)
//!
//! - **The guest** learns, for every batch of every epoch, each host's
//!   per-row partial scores `u_h = X_h·w_h` on the training rows, and each
//!   epoch the partial scores on the validation rows: this is the published
//!   protocol's leakage (FATE sends the same host forward in the clear to the
//!   key holder). From the sequence over epochs it learns linear relations
//!   `X_h·Δw_h` between a host's rows, but not `X_h`, `w_h` or the host's
//!   gradients: those reach it only as `g_j + r_j`, statistically masked. It
//!   learns the number of host features (one masked value per feature).
//! - **A host** learns only ciphertexts from the guest: `[[d]]` under a key
//!   it cannot decrypt (semantic security of Paillier/DJN), and its own
//!   gradient `g_h = X_h[B]ᵀ·d/|B|` per batch, which it needs to update its
//!   weights. `g_h` is `m_h` linear combinations of the residuals `d` of the
//!   batch with coefficients the host knows; with `|B| > m_h` these do not
//!   determine `d` (and so neither the labels), but they are the known
//!   leakage of this family of protocols: a host with more features than
//!   rows per batch could solve for `d`, so the guest refuses a host with
//!   as many features as the smallest batch has rows (a remainder joins the
//!   last batch, see [`TrainParams::batch_count`]); keep `batch_size` well
//!   above the number of features of any host. A host also learns the early-stopping
//!   decisions (one bit per epoch) and the final epoch count; it never sees
//!   the labels, the guest's features or weights, other hosts' messages, or
//!   the scores of the joint model.
//! - Nobody learns another party's features or weights. The trained model
//!   stays split: each party keeps its own weights (and the guest the intercept).
//!
//! Against a malicious party this protocol gives no guarantee (a guest could
//! send crafted `[[d]]`, a host crafted scores); decoding only ensures that a
//! malformed message is an error, never a panic.
//!
//! The guest knows the total score `u` in the clear, so it can use the exact
//! residual `σ(u) − y` ([`Residual::Sigmoid`], the default); the Taylor form
//! of Hardy et al. is kept for parity with FATE ([`Residual::Taylor`]).
//! Either way the protocol computes the same steps as
//! [`train_plain`](crate::logistic::train_plain) on the joined table, up to
//! fixed-point rounding.
//!
//! [`guest`] and [`host`] are the sans-IO state machines;
//! [`run_guest`] / [`run_host`] drive them over a [`Transport`]:
//!
//! ```
//! use wefe_core::{MemoryNetwork, PeerId};
//! use wefe_crypto::{KeySize, Keypair};
//! use wefe_ml::Features;
//! use wefe_ml::logistic::TrainParams;
//! use wefe_ml::vertical_lr::{Guest, Host, run_guest, run_host};
//!
//! let params = TrainParams { epochs: 3, batch_size: 4, ..TrainParams::default() };
//! // Row i of the guest and of the host describe the same customer.
//! let guest_x = Features::new("guest", 4, 1, vec![-2.0, -1.0, 1.0, 2.0])?;
//! let labels = vec![0.0, 0.0, 1.0, 1.0];
//! let host_x = Features::new("host", 4, 2, vec![-1.0, 0.5, -0.5, 0.0, 0.5, 0.0, 1.0, -0.5])?;
//!
//! let key = Keypair::generate(KeySize::insecure(512))?.into_private(); // 2048 bits in production
//! let guest = Guest::new(params, key, guest_x, labels, None, 1)?;
//! let host = Host::new(params, host_x, None)?.with_insecure_keys();
//!
//! let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
//! let hosts = [h];
//! let net = MemoryNetwork::new(1 << 20);
//! let (g_net, h_net) = (net.endpoint(g), net.endpoint(h));
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let (guest_result, host_result) = rt.block_on(async {
//!     tokio::join!(run_guest(&g_net, &hosts, guest), run_host(&h_net, &g, host))
//! });
//! let ((guest_model, report), host_model) = (guest_result?, host_result?);
//! assert_eq!(report.history.len(), 3);
//! assert!(guest_model.weights[0] > 0.0);
//! assert_eq!(host_model.weights.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod guest;
pub mod host;
pub mod predict;

use rug::Integer;
use wefe_core::{PeerId, Transport};
use wefe_crypto::{Ciphertext, PublicKey};

pub use guest::{Guest, GuestStep};
pub use host::{Host, HostStep, HostTraining};

use crate::logistic::{EarlyStopping, LrSchedule, Residual, TrainParams};
use crate::wire::{Reader, ReaderExt, put_bytes, put_ciphertexts, put_f64, put_f64s, put_residues, put_u32, put_u64};
use crate::{Error, Result};

/// Wire version of every vertical-LR message.
pub const VERSION: u8 = 1;

/// Most feature columns one host may have (bounds a gradient message).
pub const MAX_HOST_FEATURES: usize = 1 << 16;
/// Most rows per party (bounds the row counts of [`Setup`]).
pub const MAX_ROWS: u64 = 1 << 32;
/// Longest serialized public key accepted.
const MAX_KEY_BYTES: usize = 4096;

/// Transport tags, one per message kind.
pub const TAG_SETUP: &str = "ml/vlr/v1/setup";
/// See [`TAG_SETUP`].
pub const TAG_FORWARD: &str = "ml/vlr/v1/forward";
/// See [`TAG_SETUP`].
pub const TAG_RESIDUALS: &str = "ml/vlr/v1/residuals";
/// See [`TAG_SETUP`].
pub const TAG_MASKED: &str = "ml/vlr/v1/masked-gradient";
/// See [`TAG_SETUP`].
pub const TAG_UNMASKED: &str = "ml/vlr/v1/unmasked-gradient";
/// See [`TAG_SETUP`].
pub const TAG_VALIDATION: &str = "ml/vlr/v1/validation-scores";
/// See [`TAG_SETUP`].
pub const TAG_EPOCH_END: &str = "ml/vlr/v1/epoch-end";

const KIND_SETUP: u8 = 1;
const KIND_FORWARD: u8 = 2;
const KIND_RESIDUALS: u8 = 3;
const KIND_MASKED: u8 = 4;
const KIND_UNMASKED: u8 = 5;
const KIND_VALIDATION: u8 = 6;
const KIND_EPOCH_END: u8 = 7;

/// Guest → hosts: the job's parameters, the row counts and the public key.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// Hyper-parameters (hosts check them against their own).
    pub params: TrainParams,
    /// Training rows.
    pub train_rows: u64,
    /// Validation rows (0: none).
    pub validation_rows: u64,
    /// The guest's Paillier public key.
    pub public_key: PublicKey,
}

/// Host → guest: partial scores of one batch, in batch order.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// 0-based epoch.
    pub epoch: u32,
    /// 0-based batch within the epoch.
    pub batch: u32,
    /// `X_h[B]·w_h`.
    pub scores: Vec<f64>,
}

/// Guest → hosts: encrypted residuals of one batch, in batch order.
#[derive(Debug, Clone, PartialEq)]
pub struct Residuals {
    /// 0-based epoch.
    pub epoch: u32,
    /// 0-based batch.
    pub batch: u32,
    /// `[[d_i]]`.
    pub residuals: Vec<Ciphertext>,
}

/// Host → guest: masked encrypted gradient sums, one per host feature.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedGradient {
    /// 0-based epoch.
    pub epoch: u32,
    /// 0-based batch.
    pub batch: u32,
    /// `[[Σ_i d_i·x_ij + r_j]]` at scale `2^(2f)`.
    pub values: Vec<Ciphertext>,
}

/// Guest → host: the decrypted masked sums (plaintexts in `[0, n)`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnmaskedGradient {
    /// 0-based epoch.
    pub epoch: u32,
    /// 0-based batch.
    pub batch: u32,
    /// `Σ_i d_i·x_ij + r_j mod n`.
    pub values: Vec<Integer>,
}

/// Host → guest: partial scores of the validation rows after an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationScores {
    /// 0-based epoch.
    pub epoch: u32,
    /// `X_h^val·w_h`.
    pub scores: Vec<f64>,
}

/// Guest → hosts: the stopping rule's verdict after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEnd {
    /// 0-based epoch.
    pub epoch: u32,
    /// This epoch's weights are the best so far (keep them).
    pub improved: bool,
    /// Training ends after this epoch.
    pub stop: bool,
}

fn put_params(out: &mut Vec<u8>, p: &TrainParams) {
    put_u32(out, p.epochs);
    put_u32(out, p.batch_size);
    put_f64(out, p.learning_rate);
    match p.schedule {
        LrSchedule::Constant => {
            out.push(0);
            put_f64(out, 0.0);
        }
        LrSchedule::InverseDecay { decay } => {
            out.push(1);
            put_f64(out, decay);
        }
    }
    put_f64(out, p.l1);
    put_f64(out, p.l2);
    match p.early_stopping {
        None => {
            out.push(0);
            put_u32(out, 0);
            put_f64(out, 0.0);
        }
        Some(es) => {
            out.push(1);
            put_u32(out, es.patience);
            put_f64(out, es.min_delta);
        }
    }
    put_u64(out, p.seed);
    out.push(match p.residual {
        Residual::Sigmoid => 0,
        Residual::Taylor => 1,
    });
    put_u32(out, p.frac_bits);
}

fn read_params(r: &mut Reader<'_>) -> Result<TrainParams> {
    let epochs = r.u32()?;
    let batch_size = r.u32()?;
    let learning_rate = r.f64()?;
    let schedule = match (r.u8()?, r.f64()?) {
        (0, _) => LrSchedule::Constant,
        (1, decay) => LrSchedule::InverseDecay { decay },
        (t, _) => return Err(r.malformed(format!("unknown schedule {t}"))),
    };
    let l1 = r.f64()?;
    let l2 = r.f64()?;
    let early_stopping = match (r.u8()?, r.u32()?, r.f64()?) {
        (0, _, _) => None,
        (1, patience, min_delta) => Some(EarlyStopping { patience, min_delta }),
        (t, _, _) => return Err(r.malformed(format!("unknown early-stopping flag {t}"))),
    };
    let seed = r.u64()?;
    let residual = match r.u8()? {
        0 => Residual::Sigmoid,
        1 => Residual::Taylor,
        t => return Err(r.malformed(format!("unknown residual {t}"))),
    };
    let frac_bits = r.u32()?;
    let params =
        TrainParams { epochs, batch_size, learning_rate, schedule, l1, l2, early_stopping, seed, residual, frac_bits };
    params.validate().map_err(|e| r.malformed::<Error>(e.to_string()))?;
    Ok(params)
}

impl Setup {
    /// `version ‖ kind ‖ params ‖ train_rows ‖ validation_rows ‖ key`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_SETUP];
        put_params(&mut out, &self.params);
        put_u64(&mut out, self.train_rows);
        put_u64(&mut out, self.validation_rows);
        put_bytes(&mut out, &self.public_key.to_bytes());
        out
    }

    /// Parses a Setup; keys below 2048 bits only with `allow_insecure_keys`.
    pub fn decode(bytes: &[u8], allow_insecure_keys: bool) -> Result<Self> {
        let mut r = Reader::new("vertical-LR setup", bytes);
        r.header(VERSION, KIND_SETUP)?;
        let params = read_params(&mut r)?;
        let train_rows = r.u64()?;
        let validation_rows = r.u64()?;
        if train_rows > MAX_ROWS || validation_rows > MAX_ROWS {
            return Err(r.malformed("row count above the limit"));
        }
        let key = r.bytes(MAX_KEY_BYTES)?;
        let public_key =
            if allow_insecure_keys { PublicKey::from_bytes_insecure(key) } else { PublicKey::from_bytes(key) }
                .map_err(|e| r.malformed::<Error>(format!("public key: {e}")))?;
        r.finish()?;
        Ok(Self { params, train_rows, validation_rows, public_key })
    }
}

impl Forward {
    /// `version ‖ kind ‖ epoch ‖ batch ‖ count ‖ f64s`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + 8 * self.scores.len());
        out.extend_from_slice(&[VERSION, KIND_FORWARD]);
        put_u32(&mut out, self.epoch);
        put_u32(&mut out, self.batch);
        put_f64s(&mut out, &self.scores);
        out
    }

    /// Parses a Forward of at most `max_rows` finite scores.
    pub fn decode(bytes: &[u8], max_rows: usize) -> Result<Self> {
        let mut r = Reader::new("vertical-LR forward", bytes);
        r.header(VERSION, KIND_FORWARD)?;
        let (epoch, batch) = (r.u32()?, r.u32()?);
        let scores = r.f64s(max_rows)?;
        r.finish()?;
        Ok(Self { epoch, batch, scores })
    }
}

impl Residuals {
    /// `version ‖ kind ‖ epoch ‖ batch ‖ count ‖ ciphertexts`.
    pub fn encode(&self, pk: &PublicKey) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_RESIDUALS];
        put_u32(&mut out, self.epoch);
        put_u32(&mut out, self.batch);
        put_ciphertexts(&mut out, pk, &self.residuals);
        out
    }

    /// Parses at most `max_rows` ciphertexts under `pk`.
    pub fn decode(bytes: &[u8], pk: &PublicKey, max_rows: usize) -> Result<Self> {
        let mut r = Reader::new("vertical-LR residuals", bytes);
        r.header(VERSION, KIND_RESIDUALS)?;
        let (epoch, batch) = (r.u32()?, r.u32()?);
        let residuals = r.ciphertexts(pk, max_rows)?;
        r.finish()?;
        Ok(Self { epoch, batch, residuals })
    }
}

impl MaskedGradient {
    /// `version ‖ kind ‖ epoch ‖ batch ‖ count ‖ ciphertexts`.
    pub fn encode(&self, pk: &PublicKey) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_MASKED];
        put_u32(&mut out, self.epoch);
        put_u32(&mut out, self.batch);
        put_ciphertexts(&mut out, pk, &self.values);
        out
    }

    /// Parses at most [`MAX_HOST_FEATURES`] ciphertexts under `pk`.
    pub fn decode(bytes: &[u8], pk: &PublicKey) -> Result<Self> {
        let mut r = Reader::new("vertical-LR masked gradient", bytes);
        r.header(VERSION, KIND_MASKED)?;
        let (epoch, batch) = (r.u32()?, r.u32()?);
        let values = r.ciphertexts(pk, MAX_HOST_FEATURES)?;
        r.finish()?;
        Ok(Self { epoch, batch, values })
    }
}

impl UnmaskedGradient {
    /// `version ‖ kind ‖ epoch ‖ batch ‖ count ‖ (len ‖ magnitude)*`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_UNMASKED];
        put_u32(&mut out, self.epoch);
        put_u32(&mut out, self.batch);
        put_residues(&mut out, &self.values);
        out
    }

    /// Parses at most [`MAX_HOST_FEATURES`] values, each below `pk.n()`.
    pub fn decode(bytes: &[u8], pk: &PublicKey) -> Result<Self> {
        let mut r = Reader::new("vertical-LR unmasked gradient", bytes);
        r.header(VERSION, KIND_UNMASKED)?;
        let (epoch, batch) = (r.u32()?, r.u32()?);
        let values = r.residues(pk.n(), MAX_HOST_FEATURES)?;
        r.finish()?;
        Ok(Self { epoch, batch, values })
    }
}

impl ValidationScores {
    /// `version ‖ kind ‖ epoch ‖ count ‖ f64s`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + 8 * self.scores.len());
        out.extend_from_slice(&[VERSION, KIND_VALIDATION]);
        put_u32(&mut out, self.epoch);
        put_f64s(&mut out, &self.scores);
        out
    }

    /// Parses at most `max_rows` finite scores.
    pub fn decode(bytes: &[u8], max_rows: usize) -> Result<Self> {
        let mut r = Reader::new("vertical-LR validation scores", bytes);
        r.header(VERSION, KIND_VALIDATION)?;
        let epoch = r.u32()?;
        let scores = r.f64s(max_rows)?;
        r.finish()?;
        Ok(Self { epoch, scores })
    }
}

impl EpochEnd {
    /// `version ‖ kind ‖ epoch ‖ flags` (bit 0 improved, bit 1 stop).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, KIND_EPOCH_END];
        put_u32(&mut out, self.epoch);
        out.push(u8::from(self.improved) | (u8::from(self.stop) << 1));
        out
    }

    /// Parses an EpochEnd.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("vertical-LR epoch end", bytes);
        r.header(VERSION, KIND_EPOCH_END)?;
        let epoch = r.u32()?;
        let flags = r.u8()?;
        if flags > 3 {
            return Err(r.malformed(format!("unknown flags {flags:#x}")));
        }
        r.finish()?;
        Ok(Self { epoch, improved: flags & 1 != 0, stop: flags & 2 != 0 })
    }
}

/// Names the peer whose message (or the step it triggered) failed.
pub(crate) fn from_peer<T>(peer: &PeerId, result: Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        e @ (Error::Transport(_) | Error::FromPeer { .. }) => e,
        other => Error::FromPeer { peer: peer.to_string(), source: Box::new(other) },
    })
}

/// Runs the guest against `hosts` (in the order the guest was built for).
///
/// Encryption and decryption run on rayon's pool and block the calling
/// thread; a runner on an async executor should call this from a
/// blocking-friendly task.
pub async fn run_guest(
    transport: &impl Transport,
    hosts: &[PeerId],
    guest: Guest,
) -> Result<(crate::logistic::LinearModel, crate::logistic::TrainReport)> {
    if hosts.len() != guest.hosts() {
        return Err(Error::InvalidParams(format!(
            "{} peers for a guest built for {} hosts",
            hosts.len(),
            guest.hosts()
        )));
    }
    let (mut guest, setup) = guest.start()?;
    let setup = setup.encode();
    for h in hosts {
        transport.send(h, TAG_SETUP, setup.clone()).await?;
    }
    let batch_rows = guest.batch_rows();
    let val_rows = guest.validation_rows();
    loop {
        let mut forwards = Vec::with_capacity(hosts.len());
        for h in hosts {
            forwards.push(from_peer(h, Forward::decode(&transport.recv(h, TAG_FORWARD).await?, batch_rows))?);
        }
        let residuals = guest.on_forwards(forwards)?.encode(guest.public_key());
        for h in hosts {
            transport.send(h, TAG_RESIDUALS, residuals.clone()).await?;
        }
        let mut step = GuestStep::NextBatch;
        for (i, h) in hosts.iter().enumerate() {
            let masked =
                from_peer(h, MaskedGradient::decode(&transport.recv(h, TAG_MASKED).await?, guest.public_key()))?;
            let (unmasked, s) = from_peer(h, guest.on_masked_gradient(i, masked))?;
            transport.send(h, TAG_UNMASKED, unmasked.encode()).await?;
            step = s;
        }
        let end = match step {
            GuestStep::NextBatch => continue,
            GuestStep::AwaitMoreGradients => {
                return Err(Error::UnexpectedMessage { got: "end of gradients", phase: "awaiting more gradients" });
            }
            GuestStep::EpochEnd(end) => end,
            GuestStep::AwaitValidation => {
                let mut scores = Vec::with_capacity(hosts.len());
                for h in hosts {
                    scores.push(from_peer(
                        h,
                        ValidationScores::decode(&transport.recv(h, TAG_VALIDATION).await?, val_rows),
                    )?);
                }
                guest.on_validation(scores)?
            }
        };
        for h in hosts {
            transport.send(h, TAG_EPOCH_END, end.encode()).await?;
        }
        if end.stop {
            return guest.finish();
        }
    }
}

/// Runs a host against `guest`. Returns this host's weights (intercept 0).
pub async fn run_host(transport: &impl Transport, guest: &PeerId, host: Host) -> Result<crate::logistic::LinearModel> {
    let setup =
        from_peer(guest, Setup::decode(&transport.recv(guest, TAG_SETUP).await?, host.accepts_insecure_keys()))?;
    let (mut host, mut forward) = from_peer(guest, host.on_setup(setup))?;
    let pk = host.public_key().clone();
    let batch_rows = host.batch_rows();
    loop {
        transport.send(guest, TAG_FORWARD, forward.encode()).await?;
        let residuals =
            from_peer(guest, Residuals::decode(&transport.recv(guest, TAG_RESIDUALS).await?, &pk, batch_rows))?;
        let masked = from_peer(guest, host.on_residuals(residuals))?;
        transport.send(guest, TAG_MASKED, masked.encode(&pk)).await?;
        let unmasked = from_peer(guest, UnmaskedGradient::decode(&transport.recv(guest, TAG_UNMASKED).await?, &pk))?;
        match from_peer(guest, host.on_unmasked(unmasked))? {
            HostStep::Forward(next) => forward = next,
            HostStep::EpochDone(validation) => {
                if let Some(scores) = validation {
                    transport.send(guest, TAG_VALIDATION, scores.encode()).await?;
                }
                let end = from_peer(guest, EpochEnd::decode(&transport.recv(guest, TAG_EPOCH_END).await?))?;
                match from_peer(guest, host.on_epoch_end(end))? {
                    Some(next) => forward = next,
                    None => return host.finish(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
