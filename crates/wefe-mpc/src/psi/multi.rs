//! Multi-party ECDH-PSI (3 or more parties), semi-honest, non-colluding.
//!
//! Every party `P_i` has a secret ristretto255 key `k_i`; with
//! `K = k_0·k_1·…·k_{n-1}`, a set is *fully blinded* once every key has
//! been applied, `K·H(x)`, in any order. The *leader* `P_0` (the job's first
//! participant) learns the result; the *combiner* `P_{n-1}` (the last)
//! intersects the other parties' fully blinded sets without knowing any id.
//!
//! ```text
//! set of P_0:   P_0 (r·H(x), r one-time) → P_1 → … → P_{n-1} → P_0 (removes r, applies k_0)
//! set of P_i:   P_i (k_i, shuffled) → P_0 → the others in order → P_{n-1}
//!               (every hop applies its key and shuffles the whole set)
//! P_{n-1}:      J = Ŝ_1 ∩ … ∩ Ŝ_{n-1}, truncated and shuffled → P_0
//! P_0:          its ids whose K·H(x) is in J → the result → every party (reveal all)
//! ```
//!
//! What each party learns (beyond every party's set size, which all see):
//! - `P_0`: the intersection of all sets (or, with cardinality output, its
//!   size: then its own set is shuffled by the others too), and
//!   `|X_1 ∩ … ∩ X_{n-1}|`, the size of `J`.
//! - `P_{n-1}`: the sizes of the intersections of any of the sets
//!   `X_1 … X_{n-1}` (it holds them fully blinded), never which ids.
//! - Every other party: only blinded points it cannot link to ids, then the
//!   result if it is revealed to all.
//! - No party learns which ids two parties have in common unless they are in
//!   the intersection of all. Two colluding parties can learn more (e.g.
//!   `P_0` with `P_{n-1}` learns `X_0 ∩ X_i`); the model assumes they do not.
//!
//! Each set's points are held whole at each hop (a shuffle needs the whole
//! list); messages are batches of [`ecdh::BATCH_ITEMS`](super::ecdh::BATCH_ITEMS).

use std::collections::HashSet;

use wefe_core::wire::{put_bytes, put_u32};
use wefe_core::{PeerId, Transport};

use super::ecdh::{
    BATCH_ITEMS, Blinded, BlindingKey, Double, OutputKind, check_points, compared_bytes, from_truncated,
};
use super::wire::{Reader, put_count};
use super::{LowBits, Progress, PsiOutput, dedupe, random_permutation, truncated_len};
use crate::{Error, Result};

/// Wire version of the multi-party messages.
pub const VERSION: u8 = 1;
const KIND_HELLO: u8 = 1;
const KIND_RESULT: u8 = 2;
const KIND_COUNT: u8 = 3;
const KIND_IDS: u8 = 4;
/// Most parties in one run.
pub const MAX_PARTIES: usize = 32;

/// Parameters; every party must use the same (checked in the Hellos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiParams {
    /// Every party learns the result (else only the leader).
    pub reveal_all: bool,
    /// The ids, or only their number.
    pub output: OutputKind,
    /// Most ids accepted from any party.
    pub max_items: u32,
}

impl Default for MultiParams {
    fn default() -> Self {
        Self { reveal_all: true, output: OutputKind::Intersection, max_items: super::ecdh::DEFAULT_MAX_ITEMS }
    }
}

fn tag(kind: &str, origin: usize) -> String {
    format!("psi/mecdh/v1/{kind}/{origin}")
}
const TAG_HELLO: &str = "psi/mecdh/v1/hello";
const TAG_COMMON: &str = "psi/mecdh/v1/common";
const TAG_RESULT: &str = "psi/mecdh/v1/result";

/// The parties a set visits, by index: its owner first, its holder at the end.
///
/// A party that received two sets under the same keys could compare them, so
/// the middle parties `1..n-1` are visited in a rotation that starts after
/// the set's owner: at any party, the keys already applied to the sets it
/// receives are `{owner, 0}` plus a cyclic run of middle parties starting at
/// the owner, different for every owner (the leader's own set carries a
/// one-time key instead of `k_0`, the combiner's carries `k_{n-1}`).
fn path(origin: usize, parties: usize) -> Vec<usize> {
    let last = parties - 1;
    if origin == 0 {
        let mut p: Vec<usize> = (0..parties).collect();
        p.push(0);
        return p;
    }
    let middle = last - 1; // parties 1..=middle
    let mut p = vec![origin, 0];
    if origin == last {
        p.extend(1..last);
    } else {
        p.extend((1..middle).map(|step| (origin - 1 + step) % middle + 1));
    }
    p.push(last);
    p
}

fn shuffle(points: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
    random_permutation(points.len()).into_iter().map(|i| points[i]).collect()
}

async fn send_points(transport: &impl Transport, to: &PeerId, tag: &str, points: &[[u8; 32]]) -> Result<()> {
    for (index, chunk) in points.chunks(BATCH_ITEMS).enumerate() {
        transport.send(to, tag, Blinded { index: index as u32, points: chunk.to_vec() }.encode()).await?;
    }
    Ok(())
}

async fn recv_points(transport: &impl Transport, from: &PeerId, tag: &str, count: usize) -> Result<Vec<[u8; 32]>> {
    // Grown as batches arrive: an announced count reserves nothing.
    let mut points = Vec::with_capacity(count.min(BATCH_ITEMS));
    for index in 0..count.div_ceil(BATCH_ITEMS) {
        let batch = Blinded::decode(&transport.recv(from, tag).await?)?;
        let expected = (count - index * BATCH_ITEMS).min(BATCH_ITEMS);
        if batch.index as usize != index || batch.points.len() != expected {
            return Err(Error::Malformed {
                message: "multi-party PSI batch",
                reason: format!(
                    "batch {} of {} points arrived, expected batch {index} of {expected}",
                    batch.index,
                    batch.points.len()
                ),
            });
        }
        points.extend(batch.points);
    }
    Ok(points)
}

fn encode_hello(params: &MultiParams, parties: usize, items: usize) -> Vec<u8> {
    let output = matches!(params.output, OutputKind::Cardinality) as u8;
    let mut out = vec![VERSION, KIND_HELLO, params.reveal_all as u8, output, parties as u8];
    put_u32(&mut out, items as u32);
    out
}

/// Runs party `me` (an index into `parties`, the job's participants in
/// order) of a multi-party PSI. Progress counts the ids of every set this
/// party blinds or re-blinds.
pub async fn run<I>(
    transport: &impl Transport,
    parties: &[PeerId],
    me: usize,
    params: MultiParams,
    items: I,
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    run_with_limits(transport, parties, me, params, items, &[], progress).await
}

/// [`run`], refusing party `j` when it announces more ids than
/// `peer_limits[j]` (the rows of its registered dataset; None or absent: no
/// limit beyond `max_items`).
pub async fn run_with_limits<I>(
    transport: &impl Transport,
    parties: &[PeerId],
    me: usize,
    params: MultiParams,
    items: I,
    peer_limits: &[Option<u64>],
    progress: &Progress,
) -> Result<PsiOutput>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let n = parties.len();
    if !(3..=MAX_PARTIES).contains(&n) || me >= n {
        return Err(Error::InvalidParams(format!("multi-party PSI needs 3..={MAX_PARTIES} parties, got {n}")));
    }
    if parties.iter().collect::<HashSet<_>>().len() != n {
        return Err(Error::InvalidParams("a party appears twice".into()));
    }
    let items = dedupe(items);
    if items.len() > params.max_items as usize {
        return Err(Error::InvalidParams(format!("{} items exceed max_items = {}", items.len(), params.max_items)));
    }
    let (last, cardinality) = (n - 1, params.output == OutputKind::Cardinality);

    // Hellos: every party tells every other its set size and parameters.
    let hello = encode_hello(&params, n, items.len());
    for (j, peer) in parties.iter().enumerate() {
        if j != me {
            transport.send(peer, TAG_HELLO, hello.clone()).await?;
        }
    }
    let mut sizes = vec![0usize; n];
    sizes[me] = items.len();
    for (j, peer) in parties.iter().enumerate() {
        if j == me {
            continue;
        }
        let bytes = transport.recv(peer, TAG_HELLO).await?;
        let mut r = Reader::new("multi-party PSI hello", &bytes);
        r.header(VERSION, KIND_HELLO)?;
        let theirs = [r.u8()?, r.u8()?, r.u8()?];
        sizes[j] = r.count(params.max_items as usize)?;
        r.finish()?;
        super::check_peer_items(sizes[j] as u64, peer_limits.get(j).copied().flatten())?;
        if theirs != [hello[2], hello[3], hello[4]] {
            return Err(Error::ParamsMismatch(format!(
                "party {j} ({peer}) runs with reveal_all/cardinality/parties {theirs:?}, this party with {:?}",
                &hello[2..5]
            )));
        }
    }
    let len = truncated_len(sizes[0], sizes[1..].iter().copied().max().unwrap_or(0), 16);
    // Each visit of a set's route is one pass over its ids.
    let work: usize = (0..n).map(|o| path(o, n).iter().filter(|&&p| p == me).count() * sizes[o]).sum();
    progress.add_total(work as u64);

    let key = BlindingKey::random()?;
    let mut own_order: Vec<Vec<u8>> = Vec::new();
    let mut leader_full: Vec<[u8; 32]> = Vec::new();
    // The combiner's running intersection of the other parties' sets, truncated.
    let mut combined: Option<HashSet<u128, std::hash::BuildHasherDefault<LowBits>>> = None;
    for (origin, &size) in sizes.iter().enumerate() {
        let route = path(origin, n);
        // A set's owner may also be its holder (the leader's and the combiner's own sets).
        let positions: Vec<usize> = route.iter().enumerate().filter(|(_, p)| **p == me).map(|(i, _)| i).collect();
        let mut one_time: Option<BlindingKey> = None;
        for position in positions {
            let tag = tag("hop", origin);
            let points = if position == 0 {
                // Start: shuffle our ids, hash and blind them.
                let mut slots: Vec<Option<Vec<u8>>> = items.iter().cloned().map(Some).collect();
                own_order = random_permutation(slots.len()).into_iter().filter_map(|i| slots[i].take()).collect();
                if origin == 0 {
                    one_time.insert(BlindingKey::random()?).blind_items(&own_order)
                } else {
                    key.blind_items(&own_order)
                }
            } else {
                let from = &parties[route[position - 1]];
                let received = recv_points(transport, from, &tag, size).await?;
                let is_end = position == route.len() - 1;
                const MESSAGE: &str = "multi-party PSI batch";
                let multiplied = match (origin, is_end) {
                    // Back at the leader: remove r, apply k_0.
                    (0, true) => {
                        let r = one_time
                            .take()
                            .ok_or_else(|| Error::InvalidParams("the leader's one-time key is missing".into()))?;
                        key.divided_by(&r).reblind(MESSAGE, 0, &received)?
                    }
                    // The combiner's own set comes back already carrying its key.
                    (o, true) if o == last => {
                        check_points(MESSAGE, &received)?;
                        received
                    }
                    _ => key.reblind(MESSAGE, 0, &received)?,
                };
                if is_end {
                    if origin == 0 {
                        leader_full = multiplied;
                    } else {
                        let values = multiplied.iter().map(|p| truncate(p, len));
                        combined = Some(match combined {
                            None => values.collect(),
                            Some(c) => values.filter(|v| c.contains(v)).collect(),
                        });
                    }
                    progress.advance(size as u64);
                    continue;
                }
                // Sets of other parties are always shuffled; the leader's only
                // in cardinality mode (so it cannot map its values back).
                if origin != 0 || cardinality { shuffle(multiplied) } else { multiplied }
            };
            let next = &parties[route[position + 1]];
            send_points(transport, next, &tag, &points).await?;
            progress.advance(size as u64);
        }
    }

    // The combiner intersects the other parties' fully blinded sets.
    if me == last {
        let common = shuffle_values(combined.take().unwrap_or_default().into_iter().collect());
        let mut header = vec![VERSION, KIND_COUNT];
        put_count(&mut header, common.len());
        transport.send(&parties[0], TAG_COMMON, header).await?;
        let mut values: Vec<u8> = Vec::with_capacity(common.len() * len);
        for v in common {
            values.extend_from_slice(&v.to_le_bytes()[..len]);
        }
        for (index, chunk) in values.chunks(BATCH_ITEMS * len).enumerate() {
            transport
                .send(&parties[0], TAG_COMMON, Double { index: index as u32, values: chunk.to_vec() }.encode())
                .await?;
        }
    }

    if me == 0 {
        // |J| first (at most the smallest of the other sets), then J in batches.
        let upper = sizes[1..].iter().copied().min().unwrap_or(0);
        let bytes = transport.recv(&parties[last], TAG_COMMON).await?;
        let mut r = Reader::new("multi-party PSI common set", &bytes);
        r.header(VERSION, KIND_COUNT)?;
        let count = r.count(upper)?;
        r.finish()?;
        let mut common = HashSet::<u128, std::hash::BuildHasherDefault<LowBits>>::default();
        for index in 0..count.div_ceil(BATCH_ITEMS) {
            let batch = Double::decode(&transport.recv(&parties[last], TAG_COMMON).await?)?;
            let expected = (count - index * BATCH_ITEMS).min(BATCH_ITEMS) * len;
            if batch.index as usize != index || batch.values.len() != expected {
                return Err(Error::Malformed {
                    message: "multi-party PSI common set",
                    reason: format!(
                        "batch {} of {} bytes, expected batch {index} of {expected}",
                        batch.index,
                        batch.values.len()
                    ),
                });
            }
            common.extend(batch.values.chunks_exact(len).map(from_truncated));
        }
        let matched: Vec<Vec<u8>> = own_order
            .iter()
            .zip(&leader_full)
            .filter(|(_, p)| common.contains(&truncate(p, len)))
            .map(|(id, _)| id.clone())
            .collect();
        let output = if cardinality {
            PsiOutput::Cardinality(matched.len())
        } else {
            let mut ids = matched;
            ids.sort();
            PsiOutput::Intersection(ids)
        };
        if params.reveal_all {
            let messages = encode_result(&output);
            for peer in &parties[1..] {
                for message in &messages {
                    transport.send(peer, TAG_RESULT, message.clone()).await?;
                }
            }
        }
        return Ok(output);
    }
    if !params.reveal_all {
        return Ok(PsiOutput::Nothing);
    }
    let mut result = ResultReader::new(cardinality, &items);
    while !result.complete() {
        result.on_message(&transport.recv(&parties[0], TAG_RESULT).await?)?;
    }
    result.finish()
}

fn truncate(point: &[u8; 32], len: usize) -> u128 {
    from_truncated(compared_bytes(point, len))
}

fn shuffle_values(values: Vec<u128>) -> Vec<u128> {
    random_permutation(values.len()).into_iter().map(|i| values[i]).collect()
}

/// Ids per result message.
const RESULT_IDS_PER_MESSAGE: usize = 1 << 16;

/// The leader's result: a header (kind, count), then the ids in batches.
fn encode_result(output: &PsiOutput) -> Vec<Vec<u8>> {
    let mut header = vec![VERSION, KIND_RESULT];
    match output {
        PsiOutput::Intersection(ids) => {
            header.push(0);
            put_count(&mut header, ids.len());
            let mut messages = vec![header];
            for chunk in ids.chunks(RESULT_IDS_PER_MESSAGE) {
                let mut m = vec![VERSION, KIND_IDS];
                put_count(&mut m, chunk.len());
                chunk.iter().for_each(|id| put_bytes(&mut m, id));
                messages.push(m);
            }
            messages
        }
        PsiOutput::Cardinality(count) => {
            header.push(1);
            put_count(&mut header, *count);
            vec![header]
        }
        PsiOutput::Nothing => {
            header.push(2);
            vec![header]
        }
    }
}

/// Reads the leader's result, checked: ids in strictly increasing order
/// (sorted, no duplicates), each in this party's own set, no more than it holds.
struct ResultReader<'a> {
    cardinality: bool,
    own: HashSet<&'a [u8]>,
    expected: Option<usize>,
    ids: Vec<Vec<u8>>,
    count: Option<usize>,
}

impl<'a> ResultReader<'a> {
    fn new(cardinality: bool, own: &'a [Vec<u8>]) -> Self {
        let own = own.iter().map(Vec::as_slice).collect();
        Self { cardinality, own, expected: None, ids: Vec::new(), count: None }
    }

    fn complete(&self) -> bool {
        match self.expected {
            None => self.count.is_some(),
            Some(n) => self.ids.len() == n,
        }
    }

    fn on_message(&mut self, bytes: &[u8]) -> Result<()> {
        const MESSAGE: &str = "multi-party PSI result";
        let mut r = Reader::new(MESSAGE, bytes);
        if self.expected.is_none() && self.count.is_none() {
            r.header(VERSION, KIND_RESULT)?;
            match (r.u8()?, self.cardinality) {
                (0, false) => self.expected = Some(r.count(self.own.len())?),
                (1, true) => self.count = Some(r.count(self.own.len())?),
                (kind, _) => return Err(r.malformed(format!("result kind {kind} does not match the job's output"))),
            }
            r.finish()?;
            return Ok(());
        }
        let expected = self.expected.ok_or_else(|| r.malformed::<Error>("more messages than announced"))?;
        r.header(VERSION, KIND_IDS)?;
        let count = r.count(expected - self.ids.len())?;
        for _ in 0..count {
            let id = r.bytes(usize::MAX)?;
            if !self.own.contains(id) {
                return Err(r.malformed(format!("id {} of the result is not in this party's set", self.ids.len())));
            }
            if self.ids.last().is_some_and(|last| last.as_slice() >= id) {
                return Err(r.malformed(format!("id {} of the result is out of order or repeated", self.ids.len())));
            }
            self.ids.push(id.to_vec());
        }
        r.finish()?;
        Ok(())
    }

    fn finish(self) -> Result<PsiOutput> {
        Ok(match self.count {
            Some(count) => PsiOutput::Cardinality(count),
            None => PsiOutput::Intersection(self.ids),
        })
    }
}

/// A whole result, as one party would read it (tests).
#[cfg(test)]
fn decode_result(messages: &[Vec<u8>], cardinality: bool, own: &[Vec<u8>]) -> Result<PsiOutput> {
    let mut reader = ResultReader::new(cardinality, own);
    for m in messages {
        reader.on_message(m)?;
    }
    if !reader.complete() {
        return Err(Error::Malformed { message: "multi-party PSI result", reason: "incomplete".into() });
    }
    reader.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_visits_every_party_and_ends_where_it_should() {
        for n in 3..12 {
            for origin in 0..n {
                let route = path(origin, n);
                let visited: HashSet<usize> = route.iter().copied().collect();
                assert_eq!(visited.len(), n, "{route:?}");
                // The leader's and the combiner's own sets come back to them.
                let returns = origin == 0 || origin == n - 1;
                assert_eq!(route.len(), if returns { n + 1 } else { n }, "{route:?}");
                assert_eq!(route[0], origin);
                assert_eq!(*route.last().unwrap(), if origin == 0 { 0 } else { n - 1 });
                if origin != 0 {
                    assert_eq!(route[1], 0, "the leader's key is applied before the combiner sees the set");
                }
            }
        }
    }

    /// No party other than the combiner receives two sets blinded under the
    /// same keys (it could compare them): the keys applied before a party are
    /// everything before it on the route; the leader's own set carries a
    /// one-time key (marked `usize::MAX`) instead of `k_0`.
    #[test]
    fn no_party_but_the_combiner_can_compare_two_sets() {
        for n in 3..12 {
            for party in 0..n - 1 {
                let mut seen: Vec<Vec<usize>> = Vec::new();
                for origin in 0..n {
                    let route = path(origin, n);
                    for (i, &p) in route.iter().enumerate().skip(1) {
                        if p != party {
                            continue;
                        }
                        let mut keys: Vec<usize> = route[..i].to_vec();
                        if origin == 0 {
                            keys[0] = usize::MAX;
                        }
                        keys.sort_unstable();
                        keys.dedup();
                        assert!(!seen.contains(&keys), "n={n}: party {party} gets two sets under {keys:?}");
                        seen.push(keys);
                    }
                }
            }
        }
    }

    #[test]
    fn results_round_trip_and_are_checked() {
        let own: Vec<Vec<u8>> = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
        let two = PsiOutput::Intersection(vec![b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(decode_result(&encode_result(&two), false, &own).unwrap(), two);
        let foreign = encode_result(&PsiOutput::Intersection(vec![b"z".to_vec()]));
        assert!(decode_result(&foreign, false, &own).unwrap_err().to_string().contains("not in this party's set"));
        for bad in [vec![b"c".to_vec(), b"a".to_vec()], vec![b"a".to_vec(), b"a".to_vec()]] {
            let message = decode_result(&encode_result(&PsiOutput::Intersection(bad)), false, &own).unwrap_err();
            assert!(message.to_string().contains("out of order or repeated"), "{message}");
        }
        assert!(decode_result(&encode_result(&two), true, &own).is_err(), "kind must match the output");
        let count = encode_result(&PsiOutput::Cardinality(2));
        assert_eq!(decode_result(&count, true, &own).unwrap(), PsiOutput::Cardinality(2));
        assert!(decode_result(&encode_result(&PsiOutput::Cardinality(4)), true, &own).is_err(), "more than own set");
        let good = encode_result(&two);
        assert!(decode_result(&good[..1], false, &own).is_err(), "ids missing");
        for len in 0..good[1].len() {
            assert!(decode_result(&[good[0].clone(), good[1][..len].to_vec()], false, &own).is_err());
        }
    }
}
