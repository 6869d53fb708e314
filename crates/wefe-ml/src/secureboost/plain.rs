//! The centralised reference: the same histogram GBDT on the joined binned
//! table (every party's bins side by side), with the same quantised g and h,
//! the same candidate order and the same tie-breaking as the federated
//! protocol. With the same bins and parameters the federated trees equal
//! these, split for split and leaf value for leaf value.

use serde::{Deserialize, Serialize};

use super::{BoostParams, Gh, GhSum, base_score, best_plain_split, leaf_weight, log_loss, plain_histograms};
use crate::binning::Binned;
use crate::{Error, Result};

/// A node of a reference tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlainNode {
    /// A leaf and its weight.
    Leaf(f64),
    /// `party` (0 = guest), its feature and threshold bin, children, gain.
    Split {
        /// 0 = guest, 1.. = hosts.
        party: u32,
        /// Feature index in that party's table.
        feature: usize,
        /// Largest bin going left.
        threshold_bin: u8,
        /// Left child.
        left: u32,
        /// Right child.
        right: u32,
        /// Gain.
        gain: f64,
    },
}

/// A reference model: base score and trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainModel {
    /// Initial score.
    pub base_score: f64,
    /// Trees, nodes in creation order (node 0 the root).
    pub trees: Vec<Vec<PlainNode>>,
}

impl PlainModel {
    /// Scores (log-odds) of rows given every party's binned table.
    pub fn predict(&self, parties: &[&Binned]) -> Vec<f64> {
        let rows = parties.first().map_or(0, |b| b.rows());
        (0..rows)
            .map(|r| {
                let mut u = self.base_score;
                for tree in &self.trees {
                    let mut i = 0usize;
                    loop {
                        match &tree[i] {
                            PlainNode::Leaf(v) => {
                                u += v;
                                break;
                            }
                            PlainNode::Split { party, feature, threshold_bin, left, right, .. } => {
                                let bin = parties[*party as usize].feature(*feature)[r];
                                i = if bin <= *threshold_bin { *left as usize } else { *right as usize };
                            }
                        }
                    }
                }
                u
            })
            .collect()
    }
}

/// Rows of each node of a level, and a place for the tree's nodes.
pub(crate) struct Level {
    pub nodes: Vec<(u32, Vec<u32>)>,
}

/// Partitions `rows` by `bins[row] ≤ threshold`.
pub(crate) fn partition(rows: &[u32], bins: &[u8], threshold: u8) -> (Vec<u32>, Vec<u32>) {
    rows.iter().partition(|&&r| bins[r as usize] <= threshold)
}

/// Sums of `gh` over rows.
pub(crate) fn total(rows: &[u32], gh: &[Gh]) -> GhSum {
    let mut s = GhSum::default();
    rows.iter().for_each(|&r| s.add(gh[r as usize]));
    s
}

/// Trains the reference on every party's binned table (guest first).
pub fn train(params: &BoostParams, parties: &[&Binned], labels: &[f64]) -> Result<PlainModel> {
    params.validate()?;
    let rows = labels.len();
    crate::data::check_labels("labels", labels, rows)?;
    if parties.iter().any(|p| p.rows() != rows) {
        return Err(Error::Shape("every party needs one binned row per label".into()));
    }
    let base = base_score(labels);
    let mut scores = vec![base; rows];
    let mut trees = Vec::new();
    for t in 0..params.trees {
        let gh: Vec<Gh> = scores.iter().zip(labels).map(|(&u, &y)| Gh::logistic(u, y)).collect();
        let features: Vec<Vec<usize>> =
            parties.iter().enumerate().map(|(p, b)| params.tree_features(t, p as u32, b.features())).collect();
        let mut nodes = vec![PlainNode::Leaf(0.0)];
        let mut level = Level { nodes: vec![(0, params.tree_rows(t, rows))] };
        for depth in 0..=params.max_depth {
            let mut next = Vec::new();
            for (id, node_rows) in std::mem::take(&mut level.nodes) {
                let sum = total(&node_rows, &gh);
                let mut best: Option<(f64, u32, usize, u8)> = None;
                if depth < params.max_depth {
                    for (p, binned) in parties.iter().enumerate() {
                        let hist = plain_histograms(binned, &features[p], &node_rows, &gh);
                        if let Some((gain, f, b)) = best_plain_split(params, &sum, &hist, &features[p])
                            && best.is_none_or(|(g, ..)| gain > g)
                        {
                            best = Some((gain, p as u32, f, b));
                        }
                    }
                }
                match best {
                    None => nodes[id as usize] = PlainNode::Leaf(leaf_weight(params, &sum)),
                    Some((gain, party, feature, threshold_bin)) => {
                        let (l, r) = partition(&node_rows, parties[party as usize].feature(feature), threshold_bin);
                        let (left, right) = (nodes.len() as u32, nodes.len() as u32 + 1);
                        nodes.push(PlainNode::Leaf(0.0));
                        nodes.push(PlainNode::Leaf(0.0));
                        nodes[id as usize] = PlainNode::Split { party, feature, threshold_bin, left, right, gain };
                        next.push((left, l));
                        next.push((right, r));
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level.nodes = next;
        }
        let model = PlainModel { base_score: 0.0, trees: vec![nodes.clone()] };
        let delta = model.predict(parties);
        scores.iter_mut().zip(&delta).for_each(|(s, d)| *s += d);
        trees.push(nodes);
        let _ = log_loss(&scores, labels);
    }
    Ok(PlainModel { base_score: base, trees })
}
