//! Federated WOE/IV: each host learns the event counts of its own bins
//! without learning any label, by summing the guest's encrypted labels per
//! bin and having the guest decrypt the sums under a statistical mask.
//!
//! ```text
//! guest                                           host h (each of them)
//!   Setup { rows, [[·]] key, reveal, min_bin_rows } ──►
//!   [[y_i]] for every row (chunked)                 ──►
//!                                                        Σ [[y_i]] per (feature, bin) (histogram kernel),
//!                                                        packed several bins per ciphertext in slots of
//!                                                        c + 81 bits, + a random mask r per slot,
//!                                            ◄──         re-randomised: Masked { [[Σ_b (e_b + r_b)·2^(s·b)]] }
//!   decrypts                                       ──►   Unmasked { plaintexts }: e_b = slot − r_b,
//!                                                        WOE/IV of its own columns
//!                                            ◄──         (reveal = iv) Iv { IV per host column index }
//! ```
//!
//! # What each party learns (semi-honest parties)
//!
//! - **A host** learns, for each of its own bins with at least
//!   `min_bin_rows` rows, how many of those rows have label 1 — the
//!   aggregate WOE/IV needs and nothing finer: a bin smaller than
//!   `min_bin_rows` is not decrypted at all (its WOE is reported as
//!   suppressed). It learns nothing else about the labels: the ciphertexts
//!   are under the guest's key.
//! - **The guest** learns only masked sums: every slot carries a uniform
//!   mask 2^80 times wider than the count, so the decrypted values are
//!   statistically independent of the counts (distance below 2^-80 per
//!   slot). With `reveal = "iv"` it also learns each host column's IV by
//!   index (never the column's name or bins); with `reveal = "none"`
//!   nothing.
//!
//! A malicious host could bin its rows into tiny bins on purpose (its
//! binning is local and unverifiable): `min_bin_rows` protects against
//! accidents, not against a host that lies.

use rayon::prelude::*;
use rug::Integer;
use wefe_core::{PeerId, Progress, Transport};
use wefe_crypto::{Ciphertext, PrivateKey, PublicKey};

use super::{BinEdges, Binned, ColumnWoe, bin_counts, woe_iv, woe_iv_with_totals};
use crate::vertical_lr::from_peer;
use crate::wire::{Reader, ReaderExt, put_bytes, put_ciphertexts, put_count, put_f64, put_residues, put_u64};
use crate::{Error, Result};

const VERSION: u8 = 1;
const MAX_ROWS: usize = 1 << 31;
const MAX_SLOTS: usize = 1 << 24;
/// Statistical security of the masks, in bits.
pub const MASK_BITS: u32 = 80;

pub const TAG_SETUP: &str = "ml/woe/v1/setup";
pub const TAG_LABELS: &str = "ml/woe/v1/labels";
pub const TAG_MASKED: &str = "ml/woe/v1/masked";
pub const TAG_UNMASKED: &str = "ml/woe/v1/unmasked";
pub const TAG_IV: &str = "ml/woe/v1/iv";

/// What the guest may learn from a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    /// Nothing.
    None,
    /// Each host column's IV, by column index.
    Iv,
}

/// Parameters both sides must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WoeParams {
    /// What the guest learns.
    pub reveal: Reveal,
    /// Bins with fewer rows are not decrypted.
    pub min_bin_rows: u64,
}

fn slot_bits(rows: usize) -> u32 {
    (64 - (rows as u64).max(1).leading_zeros()) + MASK_BITS + 1
}

fn slots(rows: usize, pk: &PublicKey) -> Result<usize> {
    let s = (pk.bits().saturating_sub(2) / slot_bits(rows)) as usize;
    if s == 0 {
        return Err(Error::InvalidParams("the key is too short for one masked slot".into()));
    }
    Ok(s)
}

/// Guest's result: WOE/IV of its own columns, and host IVs if revealed.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestWoe {
    /// The guest's columns.
    pub columns: Vec<ColumnWoe>,
    /// Per host (job order): its columns' IVs by index, if revealed.
    pub host_ivs: Vec<Option<Vec<f64>>>,
}

/// The guest's table: its binned columns, their edges, the labels.
#[derive(Debug, Clone, Copy)]
pub struct GuestInput<'a> {
    /// Binned columns.
    pub binned: &'a Binned,
    /// Their edges.
    pub edges: &'a BinEdges,
    /// Labels (0/1), one per row.
    pub labels: &'a [f64],
}

/// Runs the guest: encrypts the labels once for every host, decrypts the
/// masked sums, and computes its own columns' WOE/IV in the clear.
pub async fn run_guest(
    transport: &impl Transport,
    hosts: &[PeerId],
    params: WoeParams,
    key: &PrivateKey,
    input: GuestInput<'_>,
    progress: &Progress,
) -> Result<GuestWoe> {
    let GuestInput { binned, edges, labels } = input;
    let rows = binned.rows();
    crate::data::check_labels("labels", labels, rows)?;
    let pk = key.public();
    progress.add_total(3);
    let events_total = labels.iter().filter(|&&y| y == 1.0).count() as u64;
    for h in hosts {
        let mut out = vec![VERSION, 1];
        put_u64(&mut out, rows as u64);
        out.push(match params.reveal {
            Reveal::None => 0,
            Reveal::Iv => 1,
        });
        put_u64(&mut out, params.min_bin_rows);
        put_u64(&mut out, events_total);
        put_bytes(&mut out, &pk.to_bytes());
        transport.send(h, TAG_SETUP, out).await?;
    }
    let plain: Vec<Integer> = labels.iter().map(|&y| Integer::from(u8::from(y == 1.0))).collect();
    // DJN encryption with the key holder's CRT noise (same distribution as
    // `pk.encrypt`, about half the cost).
    let crt = key.crt_noise();
    let cts = plain
        .par_iter()
        .map(|m| crt.noise().and_then(|r| pk.encrypt_with_noise(m, r)))
        .collect::<wefe_crypto::Result<Vec<_>>>()?;
    let chunk = crate::secureboost::guest::chunk_len(transport.max_message_bytes(), pk.ciphertext_len());
    for (i, part) in cts.chunks(chunk).enumerate() {
        let mut out = vec![VERSION, 2];
        put_u64(&mut out, (i * chunk) as u64);
        put_ciphertexts(&mut out, pk, part);
        for h in hosts {
            transport.send(h, TAG_LABELS, out.clone()).await?;
        }
    }
    progress.advance(1);
    let counts = bin_counts(binned, labels)?;
    let columns = edges.columns.iter().zip(&counts).map(|(spec, c)| woe_iv(spec, c)).collect::<Result<Vec<_>>>()?;
    let mut masked_all = Vec::with_capacity(hosts.len());
    for h in hosts {
        let bytes = transport.recv(h, TAG_MASKED).await?;
        let mut r = Reader::new("WOE masked sums", &bytes);
        let parsed = (|| -> Result<Vec<Ciphertext>> {
            r.header(VERSION, 3)?;
            let cts = r.ciphertexts(pk, MAX_SLOTS)?;
            Ok(cts)
        })();
        let cts = from_peer(h, parsed)?;
        from_peer(h, r.finish().map_err(Error::from))?;
        masked_all.push(cts);
    }
    for (h, cts) in hosts.iter().zip(&masked_all) {
        let plain = key.decrypt_batch(cts)?;
        let mut out = vec![VERSION, 4];
        put_residues(&mut out, &plain);
        transport.send(h, TAG_UNMASKED, out).await?;
    }
    progress.advance(1);
    let mut host_ivs = Vec::with_capacity(hosts.len());
    for h in hosts {
        if params.reveal == Reveal::None {
            host_ivs.push(None);
            continue;
        }
        let bytes = transport.recv(h, TAG_IV).await?;
        let mut r = Reader::new("WOE host IVs", &bytes);
        let ivs = from_peer(
            h,
            (|| -> Result<Vec<f64>> {
                r.header(VERSION, 5)?;
                let v = r.f64s(1 << 20)?;
                Ok(v)
            })(),
        )?;
        from_peer(h, r.finish().map_err(Error::from))?;
        host_ivs.push(Some(ivs));
    }
    progress.advance(1);
    Ok(GuestWoe { columns, host_ivs })
}

/// Runs a host: its columns' WOE/IV from the guest's encrypted labels.
/// `expected` are this host's own copy of the job's parameters.
pub async fn run_host(
    transport: &impl Transport,
    guest: &PeerId,
    expected: WoeParams,
    binned: &Binned,
    edges: &BinEdges,
    allow_insecure_keys: bool,
    progress: &Progress,
) -> Result<Vec<ColumnWoe>> {
    let rows = binned.rows();
    progress.add_total(3);
    let bytes = transport.recv(guest, TAG_SETUP).await?;
    let mut r = Reader::new("WOE setup", &bytes);
    let (guest_rows, reveal, min_bin_rows, events_total, pk) = from_peer(
        guest,
        (|| -> Result<(u64, Reveal, u64, u64, PublicKey)> {
            r.header(VERSION, 1)?;
            let rows = r.u64()?;
            let reveal = match r.u8()? {
                0 => Reveal::None,
                1 => Reveal::Iv,
                _ => return Err(r.malformed("unknown reveal")),
            };
            let min = r.u64()?;
            let events = r.u64()?;
            let key = r.bytes(4096)?;
            let pk = if allow_insecure_keys { PublicKey::from_bytes_insecure(key) } else { PublicKey::from_bytes(key) }
                .map_err(|e| r.malformed::<Error>(format!("public key: {e}")))?;
            Ok((rows, reveal, min, events, pk))
        })(),
    )?;
    from_peer(guest, r.finish().map_err(Error::from))?;
    if reveal != expected.reveal || min_bin_rows != expected.min_bin_rows {
        return Err(Error::ParamsMismatch("the guest's binning parameters differ from this job's".into()));
    }
    if guest_rows != rows as u64 || rows > MAX_ROWS || events_total > guest_rows {
        return Err(Error::Shape(format!("the guest has {guest_rows} rows, this host {rows}")));
    }
    let mut labels: Vec<Ciphertext> = Vec::with_capacity(rows);
    while labels.len() < rows {
        let bytes = transport.recv(guest, TAG_LABELS).await?;
        let mut r = Reader::new("WOE labels", &bytes);
        let part = from_peer(
            guest,
            (|| -> Result<Vec<Ciphertext>> {
                r.header(VERSION, 2)?;
                if r.u64()? != labels.len() as u64 {
                    return Err(r.malformed("chunk out of order"));
                }
                let cts = r.ciphertexts(&pk, rows - labels.len())?;
                if cts.is_empty() {
                    return Err(r.malformed("empty chunk"));
                }
                Ok(cts)
            })(),
        )?;
        from_peer(guest, r.finish().map_err(Error::from))?;
        labels.extend(part);
    }
    progress.advance(1);
    let mont: Vec<_> = labels.par_iter().map(|c| pk.to_montgomery(c)).collect();
    drop(labels);
    let all_rows: Vec<u32> = (0..rows as u32).collect();
    let slices = binned.feature_slices();
    let hist = pk.encrypted_histograms(&mont, &all_rows, &slices, binned.max_bins().max(1))?;
    drop(mont);
    let row_counts: Vec<Vec<u64>> = (0..binned.features())
        .map(|f| {
            let mut c = vec![0u64; binned.total_bins[f]];
            binned.feature(f).iter().for_each(|&b| c[b as usize] += 1);
            c
        })
        .collect();
    // The bins to decrypt, in (feature, bin) order.
    let asked: Vec<(usize, usize)> = (0..binned.features())
        .flat_map(|f| (0..binned.total_bins[f]).map(move |b| (f, b)))
        .filter(|&(f, b)| row_counts[f][b] >= min_bin_rows.max(1))
        .collect();
    let s = slots(rows, &pk)?;
    let sb = slot_bits(rows);
    let mask_bits = sb - 1;
    let mut masks: Vec<Integer> = Vec::with_capacity(asked.len());
    for _ in 0..asked.len() {
        masks.push(random_integer(mask_bits)?);
    }
    let packed = asked
        .par_chunks(s)
        .zip(masks.par_chunks(s))
        .map(|(group, ms)| {
            let parts: Vec<_> = group.iter().map(|&(f, b)| hist[f][b].clone()).collect();
            let c = pk.pack_shifted(&parts, sb)?;
            let mut m = Integer::new();
            for (i, r) in ms.iter().enumerate() {
                m += Integer::from(r << (sb * i as u32));
            }
            pk.rerandomize(&pk.add_plain(&c, &m)?)
        })
        .collect::<wefe_crypto::Result<Vec<Ciphertext>>>()?;
    let mut out = vec![VERSION, 3];
    put_ciphertexts(&mut out, &pk, &packed);
    transport.send(guest, TAG_MASKED, out).await?;
    progress.advance(1);
    let bytes = transport.recv(guest, TAG_UNMASKED).await?;
    let mut r = Reader::new("WOE unmasked sums", &bytes);
    let plain = from_peer(
        guest,
        (|| -> Result<Vec<Integer>> {
            r.header(VERSION, 4)?;
            let v = r.residues(pk.n(), MAX_SLOTS)?;
            if v.len() != packed.len() {
                return Err(r.malformed(format!("{} values for {} ciphertexts", v.len(), packed.len())));
            }
            Ok(v)
        })(),
    )?;
    from_peer(guest, r.finish().map_err(Error::from))?;
    let mut events: Vec<Vec<Option<u64>>> = row_counts.iter().map(|c| vec![None; c.len()]).collect();
    for (k, (&(f, b), mask)) in asked.iter().zip(&masks).enumerate() {
        let slots_of = wefe_crypto::paillier::unpack_slots(&plain[k / s], sb, s);
        let e = Integer::from(&slots_of[k % s] - mask);
        match e.to_u64() {
            Some(e) if e <= row_counts[f][b] => events[f][b] = Some(e),
            _ => {
                return Err(from_peer(
                    guest,
                    Err(Error::Malformed { message: "WOE unmasked sums", reason: "a count is out of range".into() }),
                )?);
            }
        }
    }
    let columns = edges
        .columns
        .iter()
        .enumerate()
        .map(|(f, spec)| {
            let counts: Vec<(u64, Option<u64>)> =
                row_counts[f].iter().copied().zip(events[f].iter().copied()).collect();
            woe_iv_with_totals(spec, &counts, events_total, rows as u64 - events_total)
        })
        .collect::<Result<Vec<_>>>()?;
    if reveal == Reveal::Iv {
        let mut out = vec![VERSION, 5];
        put_count(&mut out, columns.len());
        columns.iter().for_each(|c| put_f64(&mut out, c.iv));
        transport.send(guest, TAG_IV, out).await?;
    }
    progress.advance(1);
    Ok(columns)
}

/// Uniform in `[0, 2^bits)` from the OS generator.
fn random_integer(bits: u32) -> Result<Integer> {
    let mut buf = vec![0u8; bits.div_ceil(8) as usize];
    getrandom::fill(&mut buf).map_err(|e| Error::Random(e.to_string()))?;
    let mut v = Integer::from_digits(&buf, rug::integer::Order::Msf);
    v.keep_bits_mut(bits);
    Ok(v)
}
