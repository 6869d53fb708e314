//! A host's side of SecureBoost training: encrypted histograms of its own
//! bins, candidate splits under opaque ids, and the splits it keeps.

use std::collections::HashMap;

use rayon::prelude::*;
use wefe_core::{PeerId, Progress, Transport};
use wefe_crypto::paillier::MontCiphertext;

use super::guest::slots_per_ciphertext;
use super::wire::{
    Bits, Candidates, Decision, Gradients, Level, NodeCandidates, Partition, Routing, Setup, TAG_CANDIDATES,
    TAG_DECISION, TAG_GRADIENTS, TAG_LEVEL, TAG_PARTITION, TAG_ROUTING, TAG_SETUP, TAG_TREE_END, TreeEnd,
};
use super::{BoostModel, BoostParams, GhLayout, HostSplit};
use crate::binning::{BinEdges, Binned};
use crate::data::SplitMix64;
use crate::vertical_lr::from_peer;
use crate::{Error, Result};

/// A host's inputs: its binned training table, optional validation rows
/// (binned with the same edges), and the edges.
#[derive(Debug, Clone)]
pub struct HostData {
    /// Binned training features (rows aligned with the guest's).
    pub train: Binned,
    /// Binned validation features (aligned with the guest's validation rows).
    pub validation: Option<Binned>,
    /// The edges `train` was binned with (kept in the model).
    pub edges: BinEdges,
}

fn random_u64() -> Result<u64> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(u64::from_le_bytes(b))
}

/// One node's encrypted histogram: `[feature][bin]`, and plaintext counts.
struct NodeHist {
    enc: Vec<Vec<MontCiphertext>>,
    counts: Vec<Vec<u64>>,
}

fn counts_of(train: &Binned, features: &[usize], rows: &[u32]) -> Vec<Vec<u64>> {
    features
        .iter()
        .map(|&f| {
            let col = train.feature(f);
            let mut c = vec![0u64; train.total_bins[f]];
            rows.iter().for_each(|&r| c[col[r as usize] as usize] += 1);
            c
        })
        .collect()
}

/// Runs a host against the guest. `params` are the host's own copy of the
/// job's parameters (the guest's must match). Returns the host's model share.
pub async fn run_host(
    transport: &impl Transport,
    guest: &PeerId,
    params: BoostParams,
    data: HostData,
    allow_insecure_keys: bool,
    progress: &Progress,
) -> Result<BoostModel> {
    params.validate()?;
    let HostData { train, validation, edges } = data;
    let rows = train.rows();
    let setup = from_peer(guest, Setup::decode(&transport.recv(guest, TAG_SETUP).await?, allow_insecure_keys))?;
    if setup.params != params {
        return Err(Error::ParamsMismatch("the guest's SecureBoost parameters differ from this job's".into()));
    }
    let val_rows = validation.as_ref().map_or(0, Binned::rows);
    if setup.train_rows != rows as u64 || setup.validation_rows != val_rows as u64 {
        return Err(Error::Shape(format!(
            "the guest has {} training and {} validation rows, this host {rows} and {val_rows}",
            setup.train_rows, setup.validation_rows
        )));
    }
    let pk = setup.public_key;
    let layout = GhLayout::for_rows(rows as u64);
    let slots = slots_per_ciphertext(&layout, pk.bits())?;
    let party = setup.host_index + 1;
    progress.add_total(u64::from(params.trees) * u64::from(params.max_depth));
    let mut splits: Vec<HostSplit> = Vec::new();
    let mut shuffle = SplitMix64::new(random_u64()?);
    let mut trees_kept = params.trees;

    for t in 0..params.trees {
        let sampled = params.tree_rows(t, rows);
        let mut cts: Vec<MontCiphertext> = vec![pk.montgomery_zero(); rows];
        let mut received = 0usize;
        while received < sampled.len() {
            let g =
                from_peer(guest, Gradients::decode(&transport.recv(guest, TAG_GRADIENTS).await?, &pk, sampled.len()))?;
            if g.tree != t || g.offset != received as u64 || received + g.cts.len() > sampled.len() || g.cts.is_empty()
            {
                return Err(from_peer(
                    guest,
                    Err(Error::Malformed { message: "SecureBoost gradients", reason: "chunk out of order".into() }),
                )?);
            }
            let mont: Vec<MontCiphertext> = g.cts.par_iter().map(|c| pk.to_montgomery(c)).collect();
            for (k, m) in mont.into_iter().enumerate() {
                cts[sampled[received + k] as usize] = m;
            }
            received += g.cts.len();
        }
        let features = params.tree_features(t, party, train.features());
        let slices: Vec<&[u8]> = features.iter().map(|&f| train.feature(f)).collect();
        let bins = features.iter().map(|&f| train.total_bins[f]).max().unwrap_or(1);
        let mut parents: HashMap<u32, NodeHist> = HashMap::new();
        let mut tree_splits: Vec<HostSplit> = Vec::new();
        let mut levels = 0u64;
        loop {
            let level = from_peer(guest, Level::decode(&transport.recv(guest, TAG_LEVEL).await?, rows))?;
            if level.tree != t {
                return Err(from_peer(guest, Err(Error::UnexpectedMessage { got: "level", phase: "tree" }))?);
            }
            if level.nodes.is_empty() {
                break;
            }
            let sampled_rows: Vec<Vec<u32>> = level
                .nodes
                .iter()
                .map(|n| n.rows.iter().enumerate().filter(|(i, _)| n.sampled.get(*i)).map(|(_, &r)| r).collect())
                .collect();
            // Histograms: the smaller of two siblings directly, the other as parent − it.
            let mut hists: Vec<Option<NodeHist>> = (0..level.nodes.len()).map(|_| None).collect();
            for i in 0..level.nodes.len() {
                if hists[i].is_some() {
                    continue;
                }
                let node = &level.nodes[i];
                let sibling = level
                    .nodes
                    .iter()
                    .position(|m| m.id != node.id && m.parent == node.parent && node.parent != u32::MAX);
                let direct = |k: usize| -> Result<NodeHist> {
                    let enc = pk.encrypted_histograms(&cts, &sampled_rows[k], &slices, bins)?;
                    Ok(NodeHist { enc, counts: counts_of(&train, &features, &sampled_rows[k]) })
                };
                match (sibling, parents.get(&node.parent)) {
                    (Some(j), Some(parent)) => {
                        let (small, large) =
                            if sampled_rows[i].len() <= sampled_rows[j].len() { (i, j) } else { (j, i) };
                        let s = direct(small)?;
                        let enc = parent
                            .enc
                            .par_iter()
                            .zip(&s.enc)
                            .map(|(p, c)| {
                                p.iter()
                                    .zip(c)
                                    .map(|(a, b)| pk.montgomery_sub(a, b))
                                    .collect::<wefe_crypto::Result<Vec<_>>>()
                            })
                            .collect::<wefe_crypto::Result<Vec<_>>>()?;
                        let counts = parent
                            .counts
                            .iter()
                            .zip(&s.counts)
                            .map(|(p, c)| p.iter().zip(c).map(|(a, b)| a.saturating_sub(*b)).collect())
                            .collect();
                        hists[large] = Some(NodeHist { enc, counts });
                        hists[small] = Some(s);
                    }
                    _ => hists[i] = Some(direct(i)?),
                }
            }
            // Candidates: prefix sums = left side of "bin ≤ t"; thresholds whose
            // last bin is empty repeat the previous partition and are skipped.
            let min_rows = u64::from(params.min_child_rows);
            let mut offers = Vec::with_capacity(level.nodes.len());
            let mut lookup: HashMap<(u32, u64), (usize, u8)> = HashMap::new();
            for (k, node) in level.nodes.iter().enumerate() {
                let h = hists[k].as_ref().expect("every node has a histogram");
                let node_rows = sampled_rows[k].len() as u64;
                let mut cands: Vec<(usize, u8, MontCiphertext)> = Vec::new();
                for (fi, &f) in features.iter().enumerate() {
                    let mut left = pk.montgomery_zero();
                    let mut left_rows = 0u64;
                    let last = train.total_bins[f].saturating_sub(1);
                    for b in 0..last {
                        pk.montgomery_add_assign(&mut left, &h.enc[fi][b]);
                        left_rows += h.counts[fi][b];
                        if h.counts[fi][b] > 0 && left_rows >= min_rows && node_rows - left_rows >= min_rows {
                            cands.push((f, b as u8, left.clone()));
                        }
                    }
                }
                shuffle.shuffle(&mut cands);
                let mut ids = Vec::with_capacity(cands.len());
                for (f, b, _) in &cands {
                    let mut id = random_u64()?;
                    while lookup.contains_key(&(node.id, id)) {
                        id = random_u64()?;
                    }
                    lookup.insert((node.id, id), (*f, *b));
                    ids.push(id);
                }
                let parts: Vec<MontCiphertext> = cands.into_iter().map(|c| c.2).collect();
                let packed = parts
                    .par_chunks(slots)
                    .map(|group| pk.pack_shifted(group, layout.slot_bits()).and_then(|c| pk.rerandomize(&c)))
                    .collect::<wefe_crypto::Result<Vec<_>>>()?;
                offers.push(NodeCandidates { node: node.id, ids, packed });
            }
            let msg = Candidates { tree: t, depth: level.depth, nodes: offers }.encode(&pk);
            transport.send(guest, TAG_CANDIDATES, msg).await?;
            let decision = from_peer(guest, Decision::decode(&transport.recv(guest, TAG_DECISION).await?))?;
            if decision.tree != t || decision.depth != level.depth {
                return Err(from_peer(guest, Err(Error::UnexpectedMessage { got: "decision", phase: "level" }))?);
            }
            let mut parts = Vec::with_capacity(decision.chosen.len());
            for (node, id, gain) in decision.chosen {
                let Some(&(feature, threshold_bin)) = lookup.get(&(node, id)) else {
                    return Err(from_peer(
                        guest,
                        Err(Error::Malformed {
                            message: "SecureBoost decision",
                            reason: format!("no candidate {id:#x} for node {node}"),
                        }),
                    )?);
                };
                if tree_splits.iter().any(|s| s.node == node) || !gain.is_finite() {
                    return Err(from_peer(
                        guest,
                        Err(Error::Malformed {
                            message: "SecureBoost decision",
                            reason: format!("node {node} chosen twice"),
                        }),
                    )?);
                }
                let pos = level.nodes.iter().position(|n| n.id == node).expect("looked-up nodes are in the level");
                let col = train.feature(feature);
                let n = &level.nodes[pos];
                parts.push((node, Bits::from_fn(n.rows.len(), |i| col[n.rows[i] as usize] <= threshold_bin)));
                tree_splits.push(HostSplit { tree: t, node, feature, threshold_bin, gain });
            }
            transport
                .send(guest, TAG_PARTITION, Partition { tree: t, depth: level.depth, nodes: parts }.encode())
                .await?;
            parents = level.nodes.iter().map(|n| n.id).zip(hists.into_iter().map(|h| h.expect("built"))).collect();
            progress.advance(1);
            levels += 1;
        }
        progress.advance(u64::from(params.max_depth).saturating_sub(levels));
        if let Some(vb) = &validation {
            let routing = Routing {
                splits: tree_splits
                    .iter()
                    .map(|s| {
                        let col = vb.feature(s.feature);
                        (t, s.node, Bits::from_fn(val_rows, |r| col[r] <= s.threshold_bin))
                    })
                    .collect(),
                more: false,
            };
            transport.send(guest, TAG_ROUTING, routing.encode()).await?;
        }
        splits.extend(tree_splits);
        let end = from_peer(guest, TreeEnd::decode(&transport.recv(guest, TAG_TREE_END).await?))?;
        if end.tree != t || end.keep > t + 1 {
            return Err(from_peer(guest, Err(Error::UnexpectedMessage { got: "tree end", phase: "tree" }))?);
        }
        if end.stop {
            trees_kept = end.keep;
            break;
        }
    }
    splits.retain(|s| s.tree < trees_kept);
    Ok(BoostModel::Host { trees: trees_kept, splits, edges })
}
