//! The guest's side of SecureBoost training: labels, gradients, the key,
//! every split decision and the leaf weights.

use rayon::prelude::*;
use rug::Integer;
use wefe_core::{PeerId, Progress, Transport};
use wefe_crypto::{Ciphertext, PrivateKey};

use super::plain::total;
use super::wire::{
    Bits, Candidates, Decision, Gradients, Level, LevelNode, Partition, Routing, Setup, TAG_CANDIDATES, TAG_DECISION,
    TAG_GRADIENTS, TAG_LEVEL, TAG_PARTITION, TAG_ROUTING, TAG_SETUP, TAG_TREE_END, TreeEnd,
};
use super::{
    BoostModel, BoostParams, BoostReport, Gh, GhLayout, GhSum, Node, Tree, TreeStats, base_score, best_plain_split,
    leaf_weight, log_loss, plain_histograms, split_gain,
};
use crate::binning::{BinEdges, Binned};
use crate::vertical_lr::from_peer;
use crate::{Error, Result};

/// The guest's inputs: its binned training table, labels, optional
/// validation rows (binned with the same edges) and the edges.
#[derive(Debug, Clone)]
pub struct GuestData {
    /// Binned training features.
    pub train: Binned,
    /// Training labels (0/1).
    pub labels: Vec<f64>,
    /// Binned validation features and labels (early stopping, hold-out scores).
    pub validation: Option<(Binned, Vec<f64>)>,
    /// The edges `train` was binned with (kept in the model).
    pub edges: BinEdges,
}

/// How many candidates fit one plaintext.
pub(crate) fn slots_per_ciphertext(layout: &GhLayout, key_bits: u32) -> Result<usize> {
    let slots = (key_bits.saturating_sub(2) / layout.slot_bits()) as usize;
    if slots == 0 {
        return Err(Error::InvalidParams(format!(
            "a {key_bits}-bit key cannot hold one {}-bit gradient slot",
            layout.slot_bits()
        )));
    }
    Ok(slots)
}

/// Ciphertexts per gradient message under `max_bytes`.
pub(crate) fn chunk_len(max_bytes: usize, ct_len: usize) -> usize {
    ((max_bytes.saturating_sub(1024)) / (ct_len + 4)).clamp(1, 1 << 16)
}

/// A node of the level being grown: id, parent, all rows, sampled rows.
struct Grow {
    id: u32,
    parent: u32,
    rows: Vec<u32>,
    sampled: Vec<u32>,
}

/// A split chosen for a node.
enum Choice {
    Guest { feature: usize, bin: u8, gain: f64 },
    Host { host: usize, id: u64, gain: f64 },
}

/// Trains with `hosts` (in order; host `i` gets index `i`). Returns the
/// guest's model share and the training report.
///
/// Encryption, decryption and histograms run on rayon's pool and block the
/// calling thread between messages; call it from a blocking-friendly task.
pub async fn run_guest(
    transport: &impl Transport,
    hosts: &[PeerId],
    params: BoostParams,
    key: PrivateKey,
    data: GuestData,
    progress: &Progress,
) -> Result<(BoostModel, BoostReport)> {
    params.validate()?;
    let GuestData { train, labels, validation, edges } = data;
    let rows = train.rows();
    crate::data::check_labels("training labels", &labels, rows)?;
    if rows < 2 * params.min_child_rows as usize {
        return Err(Error::InvalidParams(format!(
            "{rows} training rows cannot make two children of min_child_rows {}",
            params.min_child_rows
        )));
    }
    if let Some((vb, vy)) = &validation {
        crate::data::check_labels("validation labels", vy, vb.rows())?;
    }
    if params.early_stopping.is_some() && validation.as_ref().is_none_or(|(b, _)| b.rows() == 0) {
        return Err(Error::InvalidParams("early_stopping needs validation rows".into()));
    }
    let pk = key.public().clone();
    let layout = GhLayout::for_rows(rows as u64);
    let slots = slots_per_ciphertext(&layout, pk.bits())?;
    let val_rows = validation.as_ref().map_or(0, |(b, _)| b.rows());
    for (i, h) in hosts.iter().enumerate() {
        let setup = Setup {
            params,
            train_rows: rows as u64,
            validation_rows: val_rows as u64,
            host_index: i as u32,
            public_key: pk.clone(),
        };
        transport.send(h, TAG_SETUP, setup.encode()).await?;
    }
    progress.add_total(u64::from(params.trees) * u64::from(params.max_depth));

    let base = base_score(&labels);
    let mut scores = vec![base; rows];
    let mut val_scores = vec![base; val_rows];
    let mut trees: Vec<Tree> = Vec::new();
    let mut history = Vec::new();
    let (mut best_loss, mut best_trees, mut since_best) = (f64::INFINITY, 0u32, 0u32);
    let mut best_val_scores = val_scores.clone();
    let chunk = chunk_len(transport.max_message_bytes(), pk.ciphertext_len());
    // Encryption noise for the next tree, computed while the hosts build histograms.
    // The key holder's CRT generator: the same noise at about half the cost.
    let noise = wefe_crypto::paillier::NoisePool::spawn_crt(key.crt_noise(), rows.min(1 << 17));

    for t in 0..params.trees {
        let gh: Vec<Gh> = scores.iter().zip(&labels).map(|(&u, &y)| Gh::logistic(u, y)).collect();
        let sampled = params.tree_rows(t, rows);
        let plaintexts: Vec<Integer> = sampled.par_iter().map(|&r| layout.row_plaintext(gh[r as usize])).collect();
        let cts = plaintexts
            .par_iter()
            .map(|m| noise.take().and_then(|r| pk.encrypt_with_noise(m, r)))
            .collect::<wefe_crypto::Result<Vec<_>>>()?;
        drop(plaintexts);
        for part in cts.chunks(chunk).enumerate() {
            let (i, part) = part;
            let msg = Gradients { tree: t, offset: (i * chunk) as u64, cts: part.to_vec() }.encode(&pk);
            for h in hosts {
                transport.send(h, TAG_GRADIENTS, msg.clone()).await?;
            }
        }
        drop(cts);
        let features = params.tree_features(t, 0, train.features());

        let mut nodes = vec![Node::Leaf { value: 0.0 }];
        let mut level = vec![Grow { id: 0, parent: u32::MAX, rows: (0..rows as u32).collect(), sampled }];
        let mut leaves: Vec<(u32, Vec<u32>, GhSum)> = Vec::new();
        let mut host_split_nodes: Vec<(u32, usize)> = Vec::new();
        let mut levels_done = 0u64;
        for depth in 0..params.max_depth {
            let min_rows = 2 * params.min_child_rows as usize;
            let (expand, rest): (Vec<Grow>, Vec<Grow>) = level.into_iter().partition(|g| g.sampled.len() >= min_rows);
            for g in rest {
                let s = total(&g.sampled, &gh);
                leaves.push((g.id, g.rows, s));
            }
            if expand.is_empty() {
                level = Vec::new();
                break;
            }
            let msg = Level {
                tree: t,
                depth,
                nodes: expand
                    .iter()
                    .map(|g| LevelNode {
                        id: g.id,
                        parent: g.parent,
                        rows: g.rows.clone(),
                        sampled: {
                            let mut k = 0usize;
                            Bits::from_fn(g.rows.len(), |i| {
                                let hit = g.sampled.get(k) == Some(&g.rows[i]);
                                k += usize::from(hit);
                                hit
                            })
                        },
                    })
                    .collect(),
            }
            .encode();
            for h in hosts {
                transport.send(h, TAG_LEVEL, msg.clone()).await?;
            }
            // The guest's own best split per node, while the hosts work.
            let totals: Vec<GhSum> = expand.iter().map(|g| total(&g.sampled, &gh)).collect();
            let mut choices: Vec<Option<Choice>> = expand
                .iter()
                .zip(&totals)
                .map(|(g, sum)| {
                    let hist = plain_histograms(&train, &features, &g.sampled, &gh);
                    best_plain_split(&params, sum, &hist, &features).map(|(gain, feature, bin)| Choice::Guest {
                        feature,
                        bin,
                        gain,
                    })
                })
                .collect();
            // Every host's candidates: decrypt all at once, then compare.
            let mut offered = Vec::with_capacity(hosts.len());
            for h in hosts {
                let c = from_peer(h, Candidates::decode(&transport.recv(h, TAG_CANDIDATES).await?, &pk, slots))?;
                if c.tree != t || c.depth != depth {
                    return Err(from_peer(h, Err(Error::UnexpectedMessage { got: "candidates", phase: "level" }))?);
                }
                offered.push(c);
            }
            let packed: Vec<Ciphertext> =
                offered.iter().flat_map(|c| c.nodes.iter().flat_map(|n| n.packed.iter().cloned())).collect();
            let plain = key.decrypt_batch(&packed)?;
            let mut next_plain = plain.into_iter();
            for (hi, c) in offered.iter().enumerate() {
                for nc in &c.nodes {
                    let Some(pos) = expand.iter().position(|g| g.id == nc.node) else {
                        return Err(from_peer(
                            &hosts[hi],
                            Err(Error::Malformed {
                                message: "SecureBoost candidates",
                                reason: format!("unknown node {}", nc.node),
                            }),
                        )?);
                    };
                    let mut sums = Vec::with_capacity(nc.ids.len());
                    for m in next_plain.by_ref().take(nc.packed.len()) {
                        for v in wefe_crypto::paillier::unpack_slots(&m, layout.slot_bits(), slots) {
                            sums.push(v);
                        }
                    }
                    for (k, &id) in nc.ids.iter().enumerate() {
                        let left = from_peer(&hosts[hi], layout.decode(&sums[k]))?;
                        if let Some(gain) = split_gain(&params, &totals[pos], &left) {
                            let better = match &choices[pos] {
                                None => true,
                                Some(Choice::Guest { gain: g, .. } | Choice::Host { gain: g, .. }) => gain > *g,
                            };
                            if better {
                                choices[pos] = Some(Choice::Host { host: hi, id, gain });
                            }
                        }
                    }
                }
            }
            for (hi, h) in hosts.iter().enumerate() {
                let chosen: Vec<(u32, u64, f64)> = expand
                    .iter()
                    .zip(&choices)
                    .filter_map(|(g, c)| match c {
                        Some(Choice::Host { host, id, gain }) if *host == hi => Some((g.id, *id, *gain)),
                        _ => None,
                    })
                    .collect();
                transport.send(h, TAG_DECISION, Decision { tree: t, depth, chosen }.encode()).await?;
            }
            let mut lefts: Vec<Option<Bits>> = vec![None; expand.len()];
            for (hi, h) in hosts.iter().enumerate() {
                let p = from_peer(h, Partition::decode(&transport.recv(h, TAG_PARTITION).await?, rows))?;
                for (node, bits) in p.nodes {
                    let pos = expand.iter().position(|g| g.id == node);
                    match pos {
                        Some(pos)
                            if matches!(choices[pos], Some(Choice::Host { host, .. }) if host == hi)
                                && bits.len() == expand[pos].rows.len()
                                && lefts[pos].is_none() =>
                        {
                            lefts[pos] = Some(bits)
                        }
                        _ => {
                            return Err(from_peer(
                                h,
                                Err(Error::Malformed {
                                    message: "SecureBoost partition",
                                    reason: format!(
                                        "node {node} was not assigned to this host, or its bitset has the wrong length"
                                    ),
                                }),
                            )?);
                        }
                    }
                }
            }
            let mut next = Vec::new();
            for (pos, g) in expand.into_iter().enumerate() {
                let go_left: Box<dyn Fn(usize, u32) -> bool> = match &choices[pos] {
                    None => {
                        leaves.push((g.id, g.rows, totals[pos]));
                        continue;
                    }
                    Some(Choice::Guest { feature, bin, gain }) => {
                        let col = train.feature(*feature);
                        let bin = *bin;
                        nodes[g.id as usize] = Node::Guest {
                            feature: *feature,
                            threshold_bin: bin,
                            left: nodes.len() as u32,
                            right: nodes.len() as u32 + 1,
                            gain: *gain,
                        };
                        Box::new(move |_, r| col[r as usize] <= bin)
                    }
                    Some(Choice::Host { host, gain, .. }) => {
                        let Some(bits) = lefts[pos].take() else {
                            return Err(from_peer(
                                &hosts[*host],
                                Err(Error::Malformed {
                                    message: "SecureBoost partition",
                                    reason: format!("no partition for node {}", g.id),
                                }),
                            )?);
                        };
                        nodes[g.id as usize] = Node::Host {
                            host: *host as u32,
                            left: nodes.len() as u32,
                            right: nodes.len() as u32 + 1,
                            gain: *gain,
                        };
                        host_split_nodes.push((g.id, *host));
                        Box::new(move |i, _| bits.get(i))
                    }
                };
                let (mut l_rows, mut r_rows) = (Vec::new(), Vec::new());
                let mut is_left = std::collections::HashMap::new();
                for (i, &r) in g.rows.iter().enumerate() {
                    let left = go_left(i, r);
                    is_left.insert(r, left);
                    if left { l_rows.push(r) } else { r_rows.push(r) }
                }
                let (l_s, r_s): (Vec<u32>, Vec<u32>) = g.sampled.iter().partition(|r| is_left[r]);
                let (left, right) = (nodes.len() as u32, nodes.len() as u32 + 1);
                nodes.push(Node::Leaf { value: 0.0 });
                nodes.push(Node::Leaf { value: 0.0 });
                next.push(Grow { id: left, parent: g.id, rows: l_rows, sampled: l_s });
                next.push(Grow { id: right, parent: g.id, rows: r_rows, sampled: r_s });
            }
            progress.advance(1);
            levels_done += 1;
            level = next;
        }
        for g in level {
            let s = total(&g.sampled, &gh);
            leaves.push((g.id, g.rows, s));
        }
        let done = Level { tree: t, depth: params.max_depth, nodes: Vec::new() }.encode();
        for h in hosts {
            transport.send(h, TAG_LEVEL, done.clone()).await?;
        }
        let leaf_count = leaves.len() as u32;
        for (id, node_rows, sum) in leaves {
            let value = leaf_weight(&params, &sum);
            nodes[id as usize] = Node::Leaf { value };
            node_rows.iter().for_each(|&r| scores[r as usize] += value);
        }
        let tree = Tree { nodes };
        let validation_loss = if let Some((vb, vy)) = &validation {
            let mut routes = std::collections::HashMap::new();
            for (hi, h) in hosts.iter().enumerate() {
                let routing = from_peer(h, Routing::decode(&transport.recv(h, TAG_ROUTING).await?, val_rows))?;
                for (tree_i, node, bits) in routing.splits {
                    if tree_i != t || !host_split_nodes.contains(&(node, hi)) || routes.insert(node, bits).is_some() {
                        return Err(from_peer(
                            h,
                            Err(Error::Malformed {
                                message: "SecureBoost routing",
                                reason: format!("unexpected split {tree_i}/{node}"),
                            }),
                        )?);
                    }
                }
            }
            let delta = super::route(&tree, val_rows, |i, node, row| match node {
                Node::Guest { feature, threshold_bin, .. } => Ok(vb.feature(*feature)[row] <= *threshold_bin),
                _ => routes.get(&i).map(|b| b.get(row)).ok_or_else(|| Error::Malformed {
                    message: "SecureBoost routing",
                    reason: format!("no routing for node {i}"),
                }),
            })?;
            val_scores.iter_mut().zip(&delta).for_each(|(s, d)| *s += d);
            Some(log_loss(&val_scores, vy))
        } else {
            None
        };
        trees.push(tree);
        let train_loss = log_loss(&scores, &labels);
        history.push(TreeStats { tree: t, train_loss, validation_loss, leaves: leaf_count });
        let mut stop = t + 1 == params.trees;
        match (params.early_stopping, validation_loss) {
            (Some(es), Some(loss)) => {
                if loss < best_loss - es.min_delta {
                    (best_loss, best_trees, since_best) = (loss, t + 1, 0);
                    best_val_scores.clone_from(&val_scores);
                } else {
                    since_best += 1;
                    stop |= since_best >= es.patience;
                }
            }
            _ => {
                best_trees = t + 1;
                best_val_scores.clone_from(&val_scores);
            }
        }
        let end = TreeEnd { tree: t, stop, keep: best_trees };
        for h in hosts {
            transport.send(h, TAG_TREE_END, end.encode()).await?;
        }
        // Levels this tree did not need still count as done.
        progress.advance(u64::from(params.max_depth) - levels_done);
        if stop {
            break;
        }
    }
    trees.truncate(best_trees as usize);
    let validation_scores = best_val_scores;
    let model = BoostModel::Guest { base_score: base, trees, edges, hosts: hosts.len() as u32 };
    Ok((model, BoostReport { history, trees_kept: best_trees, validation_scores }))
}
